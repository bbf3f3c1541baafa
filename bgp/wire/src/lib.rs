//! # bgp-wire
//!
//! The BGP-4 wire layer of perouterd: a typed model of every message perouterd sends or
//! receives, `nom` decoders that never panic, byte-exact encoders, and RFC 7606 error
//! classification.
//!
//! * [`decode_message`] decodes one framed message under a per-session [`Context`] (4-octet
//!   AS, ADD-PATH per family and direction, extended message, RFC 8950 next hops, labels per
//!   VPN NLRI). UPDATEs come back with a [`Verdict`]: the strongest RFC 7606 action, every
//!   finding, and the NOTIFICATION to send when the session must be reset.
//! * [`Message::encode`] writes byte-exact messages; [`pack`] packs many NLRI under one
//!   attribute set into as few UPDATEs as the message size allows.
//! * [`Family`] is the single registry of address families.
//!
//! Families: IPv4/IPv6 unicast, VPN-IPv4/VPN-IPv6 (RFC 4364/4659), L2VPN EVPN (RFC 7432,
//! types 1–5 typed, others skipped and counted). Attributes: everything in RFC 4271, RFC 4456,
//! RFC 4760, RFC 4360 (typed EVPN/tunnel/bandwidth communities), RFC 6793, RFC 6514 PMSI,
//! RFC 8092, RFC 9234 OTC and the RFC 8669/9252 Prefix-SID; others are kept verbatim.
//!
//! This crate depends on no other crate of the workspace (ARCHITECTURE.md invariant 1).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::panic,
    missing_docs
)]
#![cfg_attr(
    test,
    allow(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

pub mod attributes;
pub mod community;
pub mod context;
pub mod evpn;
pub mod message;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod pack;
pub mod parse;
pub mod prefix_sid;
pub mod rfc7606;
pub mod route_refresh;
pub mod types;
pub mod update;

pub use attributes::{
    Aggregator, AsPath, AsSegment, Origin, PathAttributes, PmsiTunnel, RawAttribute, SegmentType,
};
pub use community::{Community, ExtCommunity, LargeCommunity};
pub use context::{negotiate, Context, Negotiated, PeerType};
pub use evpn::{EvpnKey, EvpnRoute};
pub use message::{decode_message, frame, Framer, Message, MessageError, Received};
pub use nlri::{EvpnNlri, Ipv4Nlri, Ipv6Nlri, MpReach, MpUnreach, NextHop, NlriList, VpnNlri};
pub use notification::Notification;
pub use open::{Capability, Open, OptParam};
pub use parse::{DecodeError, ErrorKind};
pub use rfc7606::{Action, Finding, Verdict};
pub use route_refresh::RouteRefresh;
pub use types::{
    AdminValue, AfiSafi, Esi, Family, FamilySet, Label24, Mac, MplsLabel, RouteDistinguisher, Vni,
};
pub use update::{DecodedUpdate, Update};

/// Why a model cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A length field would overflow.
    #[error("{0} too long for its length field")]
    TooLong(&'static str),
    /// The message exceeds the negotiated maximum size.
    #[error("message of {len} octets exceeds the maximum of {max}")]
    MessageTooLong {
        /// Encoded length.
        len: usize,
        /// Limit.
        max: usize,
    },
}
