//! The per-session, per-direction decoding and encoding context (DESIGN invariant 2).
//!
//! How an UPDATE is laid out depends on what the two speakers negotiated in their OPENs:
//! 2- or 4-octet AS numbers, ADD-PATH path identifiers per family *and direction*, RFC 8950
//! IPv6 next hops for IPv4 families, RFC 8654 extended messages, the number of labels in
//! labeled-VPN NLRI. The codec never guesses any of these: every decoder and encoder takes a
//! [`Context`]. A session holds two: one for what it receives, one for what it sends.

use serde::Serialize;

use crate::open::{AddPathMode, Capability, Open};
use crate::types::{Family, FamilySet};

/// Whether the peer is in our AS. RFC 7606 handles some attributes differently for each
/// (LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are discarded when they come from eBGP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum PeerType {
    /// External BGP.
    #[default]
    External,
    /// Internal BGP.
    Internal,
}

/// Everything about one direction of one session that changes the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Context {
    /// AS numbers in AS_PATH and AGGREGATOR are 4 octets (RFC 6793, both sides advertised
    /// capability 65).
    pub four_octet_as: bool,
    /// Families whose NLRI carry a 4-octet path identifier in this direction (RFC 7911).
    pub add_path: FamilySet,
    /// Messages other than OPEN and KEEPALIVE may be up to 65535 octets (RFC 8654).
    pub extended_message: bool,
    /// Families whose MP_REACH next hop may be IPv6 although the NLRI is IPv4 (RFC 8950).
    pub extended_next_hop: FamilySet,
    /// External or internal peer.
    pub peer: PeerType,
    /// Labels per labeled-VPN NLRI (RFC 8277 multiple labels; 1 unless negotiated).
    pub vpn_labels: u8,
}

impl Default for Context {
    /// A modern peer: 4-octet AS, no ADD-PATH, no extended message or next hop, eBGP.
    fn default() -> Self {
        Context {
            four_octet_as: true,
            add_path: FamilySet::EMPTY,
            extended_message: false,
            extended_next_hop: FamilySet::EMPTY,
            peer: PeerType::External,
            vpn_labels: 1,
        }
    }
}

/// Message size limit without RFC 8654.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Message size limit with RFC 8654.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

impl Context {
    /// Largest UPDATE / NOTIFICATION / ROUTE-REFRESH this context allows.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// Whether `family` NLRI carry path identifiers.
    pub fn add_path(&self, family: Family) -> bool {
        self.add_path.contains(family)
    }

    /// Labels per VPN NLRI, at least one.
    pub fn vpn_labels(&self) -> usize {
        usize::from(self.vpn_labels.max(1))
    }
}

/// The two contexts of a session, computed from the OPEN we sent and the OPEN we received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Negotiated {
    /// For decoding what the peer sends us.
    pub rx: Context,
    /// For encoding what we send the peer.
    pub tx: Context,
}

/// Derives both directions' contexts from the OPEN each side sent (RFC 6793, 7911, 8654,
/// 8950). `local` is the OPEN we sent, `remote` the one we received.
pub fn negotiate(local: &Open, remote: &Open, peer: PeerType) -> Negotiated {
    let both_as4 = local.four_octet_as().is_some() && remote.four_octet_as().is_some();
    let ext_msg = has(local, |c| matches!(c, Capability::ExtendedMessage))
        && has(remote, |c| matches!(c, Capability::ExtendedMessage));

    let mut rx = Context {
        four_octet_as: both_as4,
        extended_message: ext_msg,
        peer,
        ..Context::default()
    };
    let mut tx = rx;

    for family in Family::ALL {
        // ADD-PATH: the sender must advertise send, the receiver receive, for the family.
        let l = local.add_path_mode(family);
        let r = remote.add_path_mode(family);
        if r.is_some_and(AddPathMode::sends) && l.is_some_and(AddPathMode::receives) {
            rx.add_path.insert(family);
        }
        if l.is_some_and(AddPathMode::sends) && r.is_some_and(AddPathMode::receives) {
            tx.add_path.insert(family);
        }
        // Extended next hop: the receiver of the route must have advertised it.
        if local.extended_next_hop(family) {
            rx.extended_next_hop.insert(family);
        }
        if remote.extended_next_hop(family) {
            tx.extended_next_hop.insert(family);
        }
    }
    Negotiated { rx, tx }
}

fn has(open: &Open, pred: impl Fn(&Capability) -> bool) -> bool {
    open.capabilities().any(pred)
}
