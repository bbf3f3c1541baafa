//! What two OPENs agree on (RFC 4760, 5492, 9234, 4724, 7313), and the OPEN errors that
//! follow from disagreement.
//!
//! [`negotiate_session`] is called by the FSM when the peer's OPEN arrives. It returns the
//! session's [`Negotiation`] — the families both sides enabled, the refresh and restart
//! capabilities, the per-direction codec contexts — or the NOTIFICATION that refuses the OPEN.

use bgp_wire::notification::{code, open_error};
use bgp_wire::open::GracefulRestart;
use bgp_wire::{
    negotiate, AfiSafi, Capability, Family, FamilySet, Negotiated, Notification, Open, PeerType,
};

/// BGP roles (RFC 9234 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 0: Provider.
    Provider,
    /// 1: Route Server.
    RouteServer,
    /// 2: Route Server Client.
    RouteServerClient,
    /// 3: Customer.
    Customer,
    /// 4: Peer.
    Peer,
}

impl Role {
    /// The capability value.
    pub fn code(self) -> u8 {
        match self {
            Role::Provider => 0,
            Role::RouteServer => 1,
            Role::RouteServerClient => 2,
            Role::Customer => 3,
            Role::Peer => 4,
        }
    }

    /// From the capability value.
    pub fn from_code(c: u8) -> Option<Role> {
        match c {
            0 => Some(Role::Provider),
            1 => Some(Role::RouteServer),
            2 => Some(Role::RouteServerClient),
            3 => Some(Role::Customer),
            4 => Some(Role::Peer),
            _ => None,
        }
    }

    /// The role the peer must have when we have this one (RFC 9234 Table 2).
    pub fn counterpart(self) -> Role {
        match self {
            Role::Provider => Role::Customer,
            Role::Customer => Role::Provider,
            Role::RouteServer => Role::RouteServerClient,
            Role::RouteServerClient => Role::RouteServer,
            Role::Peer => Role::Peer,
        }
    }
}

/// Local requirements on the peer's OPEN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionPolicy {
    /// Our BGP role, when configured.
    pub role: Option<Role>,
    /// RFC 9234 strict mode: refuse a peer that does not announce a role.
    pub strict_role: bool,
    /// Refuse the session when no family is enabled on both sides.
    pub require_common_family: bool,
}

/// What the session runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiation {
    /// Families enabled on both sides (modelled ones).
    pub families: FamilySet,
    /// Route refresh (RFC 2918, or Cisco's pre-standard code) on both sides.
    pub route_refresh: bool,
    /// Enhanced route refresh (RFC 7313) on both sides.
    pub enhanced_route_refresh: bool,
    /// The peer's graceful restart capability, if it sent one.
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// Codec contexts for each direction.
    pub contexts: Negotiated,
    /// The peer's hostname (FRR's capability 73), for display.
    pub peer_hostname: Option<String>,
    /// The peer's BGP Identifier (router id), for the decision process.
    pub peer_bgp_id: std::net::Ipv4Addr,
    /// The peer's AS (4-octet when it sent capability 65).
    pub peer_as: u32,
    /// The hold time the peer proposed.
    pub peer_hold_time: u16,
}

/// Families a speaker enables: its multiprotocol capabilities, or IPv4 unicast when it sends
/// none (RFC 4760 §8).
fn families(open: &Open) -> (FamilySet, bool) {
    let mut set = FamilySet::EMPTY;
    let mut any = false;
    for a in open.multiprotocol() {
        any = true;
        if let Some(f) = a.family() {
            set.insert(f);
        }
    }
    if !any {
        set.insert(Family::Ipv4Unicast);
    }
    (set, any)
}

fn has(open: &Open, pred: impl Fn(&Capability) -> bool) -> bool {
    open.capabilities().any(pred)
}

/// Checks the peer's OPEN against ours and the policy, and computes the session's terms.
pub fn negotiate_session(
    local: &Open,
    remote: &Open,
    peer: PeerType,
    policy: &SessionPolicy,
) -> Result<Negotiation, Notification> {
    // RFC 9234 §4.2: role correctness.
    if let Some(ours) = policy.role {
        let theirs: Vec<u8> = remote
            .capabilities()
            .filter_map(|c| match c {
                Capability::Role(r) => Some(*r),
                _ => None,
            })
            .collect();
        let mismatch = match theirs.as_slice() {
            [] => policy.strict_role,
            [r] => Role::from_code(*r) != Some(ours.counterpart()),
            // Several role capabilities with different values are a mismatch.
            [first, rest @ ..] => {
                rest.iter().any(|r| r != first)
                    || Role::from_code(*first) != Some(ours.counterpart())
            }
        };
        if mismatch {
            return Err(Notification::new(
                code::OPEN,
                open_error::ROLE_MISMATCH,
                vec![],
            ));
        }
    }
    let (ours, _) = families(local);
    let (theirs, _) = families(remote);
    let common: FamilySet = ours.iter().filter(|f| theirs.contains(*f)).collect();
    if policy.require_common_family && common.is_empty() {
        // RFC 5492 §3: the data is the capabilities we need that the peer lacks.
        let mut data = Vec::new();
        for f in ours.iter() {
            let AfiSafi { afi, safi } = f.afi_safi();
            let [a0, a1] = afi.to_be_bytes();
            data.extend_from_slice(&[1, 4, a0, a1, 0, safi]);
        }
        return Err(Notification::new(
            code::OPEN,
            open_error::UNSUPPORTED_CAPABILITY,
            data,
        ));
    }
    let rr = |o: &Open| {
        has(o, |c| {
            matches!(c, Capability::RouteRefresh | Capability::RouteRefreshCisco)
        })
    };
    let err = |o: &Open| has(o, |c| matches!(c, Capability::EnhancedRouteRefresh));
    let mut contexts = negotiate(local, remote, peer);
    // ADD-PATH and extended next hop only matter for families the session carries.
    for f in Family::ALL {
        if !common.contains(f) {
            contexts.rx.add_path.remove(f);
            contexts.tx.add_path.remove(f);
        }
    }
    Ok(Negotiation {
        families: common,
        route_refresh: rr(local) && rr(remote),
        enhanced_route_refresh: err(local) && err(remote),
        peer_graceful_restart: remote.capabilities().find_map(|c| match c {
            Capability::GracefulRestart(g) => Some(g.clone()),
            _ => None,
        }),
        contexts,
        peer_hostname: remote.capabilities().find_map(|c| match c {
            Capability::Fqdn { hostname, .. } => Some(hostname.clone()),
            _ => None,
        }),
        peer_bgp_id: remote.bgp_id,
        peer_as: remote.asn(),
        peer_hold_time: remote.hold_time,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use bgp_wire::open::{AddPathEntry, AddPathMode};
    use std::net::Ipv4Addr;

    fn open(caps: Vec<Capability>) -> Open {
        Open::new(65001, 90, Ipv4Addr::new(10, 0, 0, 1), caps)
    }

    fn mp(f: Family) -> Capability {
        Capability::Multiprotocol(f.afi_safi())
    }

    #[test]
    fn families_are_the_intersection_and_default_to_ipv4() {
        let a = open(vec![
            mp(Family::Ipv4Unicast),
            mp(Family::L2vpnEvpn),
            Capability::RouteRefresh,
        ]);
        let b = open(vec![
            mp(Family::L2vpnEvpn),
            mp(Family::Ipv6Unicast),
            Capability::RouteRefreshCisco,
        ]);
        let n = negotiate_session(&a, &b, PeerType::External, &SessionPolicy::default()).unwrap();
        assert_eq!(
            n.families.iter().collect::<Vec<_>>(),
            vec![Family::L2vpnEvpn]
        );
        assert!(n.route_refresh);
        assert!(!n.enhanced_route_refresh);
        // No multiprotocol capability at all: IPv4 unicast (RFC 4760 §8).
        let c = open(vec![]);
        let n = negotiate_session(&a, &c, PeerType::External, &SessionPolicy::default()).unwrap();
        assert_eq!(
            n.families.iter().collect::<Vec<_>>(),
            vec![Family::Ipv4Unicast]
        );
    }

    #[test]
    fn no_common_family_is_unsupported_capability_when_required() {
        let a = open(vec![mp(Family::L2vpnEvpn)]);
        let b = open(vec![mp(Family::Ipv6Unicast)]);
        let policy = SessionPolicy {
            require_common_family: true,
            ..Default::default()
        };
        let e = negotiate_session(&a, &b, PeerType::External, &policy).unwrap_err();
        assert_eq!((e.code, e.subcode), (2, 7));
        assert_eq!(e.data, vec![1, 4, 0, 25, 0, 70]);
        assert!(negotiate_session(&a, &b, PeerType::External, &SessionPolicy::default()).is_ok());
    }

    #[test]
    fn roles_must_match() {
        let policy = SessionPolicy {
            role: Some(Role::Provider),
            ..Default::default()
        };
        let ok = open(vec![Capability::Role(3)]);
        assert!(negotiate_session(&open(vec![]), &ok, PeerType::External, &policy).is_ok());
        let bad = open(vec![Capability::Role(4)]);
        let e = negotiate_session(&open(vec![]), &bad, PeerType::External, &policy).unwrap_err();
        assert_eq!((e.code, e.subcode), (2, 11));
        let twice = open(vec![Capability::Role(3), Capability::Role(4)]);
        assert!(negotiate_session(&open(vec![]), &twice, PeerType::External, &policy).is_err());
        // No role from the peer: fine unless strict.
        assert!(
            negotiate_session(&open(vec![]), &open(vec![]), PeerType::External, &policy).is_ok()
        );
        let strict = SessionPolicy {
            strict_role: true,
            ..policy
        };
        assert!(
            negotiate_session(&open(vec![]), &open(vec![]), PeerType::External, &strict).is_err()
        );
        for r in [
            Role::Provider,
            Role::RouteServer,
            Role::RouteServerClient,
            Role::Customer,
            Role::Peer,
        ] {
            assert_eq!(Role::from_code(r.code()), Some(r));
            assert_eq!(r.counterpart().counterpart(), r);
        }
    }

    #[test]
    fn add_path_only_for_common_families() {
        let ap = |m| {
            Capability::AddPath(vec![
                AddPathEntry {
                    afi_safi: Family::Ipv4Unicast.afi_safi(),
                    mode: m,
                },
                AddPathEntry {
                    afi_safi: Family::L2vpnEvpn.afi_safi(),
                    mode: m,
                },
            ])
        };
        let a = open(vec![mp(Family::Ipv4Unicast), ap(AddPathMode::BOTH)]);
        let b = open(vec![
            mp(Family::Ipv4Unicast),
            mp(Family::L2vpnEvpn),
            ap(AddPathMode::BOTH),
        ]);
        let n = negotiate_session(&a, &b, PeerType::Internal, &SessionPolicy::default()).unwrap();
        assert!(n.contexts.rx.add_path.contains(Family::Ipv4Unicast));
        assert!(!n.contexts.rx.add_path.contains(Family::L2vpnEvpn));
        assert_eq!(n.contexts.rx.peer, PeerType::Internal);
    }
}
