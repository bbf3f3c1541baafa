//! Routes as the RIB sees them: a destination key ([`Dest`]) and the NLRI that carries it
//! ([`Nlri`]), plus the split of a decoded UPDATE into withdrawals and announcements.

use std::fmt;
use std::net::IpAddr;

use bgp_wire::evpn::EvpnRoute;
use bgp_wire::{
    EvpnKey, EvpnNlri, Family, Ipv4Nlri, Ipv6Nlri, NextHop, NlriList, RouteDistinguisher, Update,
    VpnNlri,
};
use ipnet::{Ipv4Net, Ipv6Net};
use serde::Serialize;

use bgp_wire::nlri::{Vpnv4Nlri, Vpnv6Nlri};

/// A destination: what one best path is chosen for. Two NLRI with the same `Dest` compete;
/// non-key fields (labels, EVPN gateway, …) belong to the path, not the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum Dest {
    /// IPv4 unicast prefix.
    Ipv4Unicast {
        /// Prefix.
        prefix: Ipv4Net,
    },
    /// IPv6 unicast prefix.
    Ipv6Unicast {
        /// Prefix.
        prefix: Ipv6Net,
    },
    /// VPN-IPv4: RD and prefix.
    Ipv4Vpn {
        /// Route distinguisher.
        rd: RouteDistinguisher,
        /// Prefix.
        prefix: Ipv4Net,
    },
    /// VPN-IPv6: RD and prefix.
    Ipv6Vpn {
        /// Route distinguisher.
        rd: RouteDistinguisher,
        /// Prefix.
        prefix: Ipv6Net,
    },
    /// EVPN route key.
    L2vpnEvpn {
        /// Key.
        key: EvpnKey,
    },
}

impl Dest {
    /// The family of this destination.
    pub fn family(&self) -> Family {
        match self {
            Dest::Ipv4Unicast { .. } => Family::Ipv4Unicast,
            Dest::Ipv6Unicast { .. } => Family::Ipv6Unicast,
            Dest::Ipv4Vpn { .. } => Family::Ipv4Vpn,
            Dest::Ipv6Vpn { .. } => Family::Ipv6Vpn,
            Dest::L2vpnEvpn { .. } => Family::L2vpnEvpn,
        }
    }

    /// Whether this destination lies within `filter` (an IP prefix): unicast and VPN
    /// prefixes by containment, EVPN type-5 by its prefix, type-2 by its IP.
    pub fn within(&self, filter: &ipnet::IpNet) -> bool {
        use ipnet::IpNet;
        match (self, filter) {
            (Dest::Ipv4Unicast { prefix } | Dest::Ipv4Vpn { prefix, .. }, IpNet::V4(f)) => {
                f.contains(prefix)
            }
            (Dest::Ipv6Unicast { prefix } | Dest::Ipv6Vpn { prefix, .. }, IpNet::V6(f)) => {
                f.contains(prefix)
            }
            (Dest::L2vpnEvpn { key }, f) => match key {
                EvpnKey::IpPrefix { prefix, .. } => f.contains(prefix),
                EvpnKey::MacIp { ip: Some(ip), .. } => f.contains(ip),
                _ => false,
            },
            _ => false,
        }
    }
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Ipv4Unicast { prefix } => write!(f, "{prefix}"),
            Dest::Ipv6Unicast { prefix } => write!(f, "{prefix}"),
            Dest::Ipv4Vpn { rd, prefix } => write!(f, "{rd}:{prefix}"),
            Dest::Ipv6Vpn { rd, prefix } => write!(f, "{rd}:{prefix}"),
            Dest::L2vpnEvpn { key } => match key {
                EvpnKey::EthernetAd { rd, esi, eth_tag } => {
                    write!(f, "[1]:[{rd}]:[{esi}]:[{eth_tag}]")
                }
                EvpnKey::MacIp {
                    rd,
                    eth_tag,
                    mac,
                    ip,
                } => match ip {
                    Some(ip) => write!(f, "[2]:[{rd}]:[{eth_tag}]:[{mac}]:[{ip}]"),
                    None => write!(f, "[2]:[{rd}]:[{eth_tag}]:[{mac}]"),
                },
                EvpnKey::InclusiveMulticast {
                    rd,
                    eth_tag,
                    originator,
                } => {
                    write!(f, "[3]:[{rd}]:[{eth_tag}]:[{originator}]")
                }
                EvpnKey::EthernetSegment {
                    rd,
                    esi,
                    originator,
                } => {
                    write!(f, "[4]:[{rd}]:[{esi}]:[{originator}]")
                }
                EvpnKey::IpPrefix {
                    rd,
                    eth_tag,
                    prefix,
                } => {
                    write!(f, "[5]:[{rd}]:[{eth_tag}]:[{prefix}]")
                }
            },
        }
    }
}

/// One NLRI without its ADD-PATH identifier: the destination plus the fields that travel
/// with it (labels, the whole EVPN route).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Nlri {
    /// IPv4 unicast.
    Ipv4Unicast(Ipv4Net),
    /// IPv6 unicast.
    Ipv6Unicast(Ipv6Net),
    /// VPN-IPv4 (path id cleared).
    Ipv4Vpn(Vpnv4Nlri),
    /// VPN-IPv6 (path id cleared).
    Ipv6Vpn(Vpnv6Nlri),
    /// EVPN.
    L2vpnEvpn(EvpnRoute),
}

impl Nlri {
    /// Its destination.
    pub fn dest(&self) -> Dest {
        match self {
            Nlri::Ipv4Unicast(p) => Dest::Ipv4Unicast { prefix: *p },
            Nlri::Ipv6Unicast(p) => Dest::Ipv6Unicast { prefix: *p },
            Nlri::Ipv4Vpn(n) => Dest::Ipv4Vpn {
                rd: n.rd,
                prefix: n.prefix,
            },
            Nlri::Ipv6Vpn(n) => Dest::Ipv6Vpn {
                rd: n.rd,
                prefix: n.prefix,
            },
            Nlri::L2vpnEvpn(r) => Dest::L2vpnEvpn { key: r.key() },
        }
    }

    /// Its family.
    pub fn family(&self) -> Family {
        self.dest().family()
    }
}

/// A list of NLRI of one family being built for encoding, with ADD-PATH identifiers.
#[derive(Debug)]
pub struct NlriBuilder(NlriList);

impl NlriBuilder {
    /// An empty list for `family`.
    pub fn new(family: Family) -> NlriBuilder {
        NlriBuilder(NlriList::empty(family))
    }

    /// Appends `nlri` (which must be of the builder's family; others are ignored).
    pub fn push(&mut self, nlri: &Nlri, path_id: Option<u32>) {
        match (&mut self.0, nlri) {
            (NlriList::Ipv4Unicast(v), Nlri::Ipv4Unicast(p)) => v.push(Ipv4Nlri {
                path_id,
                prefix: *p,
            }),
            (NlriList::Ipv6Unicast(v), Nlri::Ipv6Unicast(p)) => v.push(Ipv6Nlri {
                path_id,
                prefix: *p,
            }),
            (NlriList::Ipv4Vpn(v), Nlri::Ipv4Vpn(n)) => v.push(VpnNlri {
                path_id,
                ..n.clone()
            }),
            (NlriList::Ipv6Vpn(v), Nlri::Ipv6Vpn(n)) => v.push(VpnNlri {
                path_id,
                ..n.clone()
            }),
            (NlriList::L2vpnEvpn(v), Nlri::L2vpnEvpn(r)) => v.push(EvpnNlri {
                path_id,
                route: r.clone(),
            }),
            _ => {}
        }
    }

    /// The family being built.
    pub fn family(&self) -> Option<Family> {
        self.0.family()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The list.
    pub fn finish(self) -> NlriList {
        self.0
    }
}

/// Calls `f` with each modelled NLRI of `list` and its path identifier.
fn each_nlri(list: &NlriList, mut f: impl FnMut(Nlri, Option<u32>)) {
    match list {
        NlriList::Ipv4Unicast(v) => v
            .iter()
            .for_each(|n| f(Nlri::Ipv4Unicast(n.prefix), n.path_id)),
        NlriList::Ipv6Unicast(v) => v
            .iter()
            .for_each(|n| f(Nlri::Ipv6Unicast(n.prefix), n.path_id)),
        NlriList::Ipv4Vpn(v) => v.iter().for_each(|n| {
            f(
                Nlri::Ipv4Vpn(VpnNlri {
                    path_id: None,
                    ..n.clone()
                }),
                n.path_id,
            )
        }),
        NlriList::Ipv6Vpn(v) => v.iter().for_each(|n| {
            f(
                Nlri::Ipv6Vpn(VpnNlri {
                    path_id: None,
                    ..n.clone()
                }),
                n.path_id,
            )
        }),
        NlriList::L2vpnEvpn(v) => v
            .iter()
            .for_each(|n| f(Nlri::L2vpnEvpn(n.route.clone()), n.path_id)),
        // Families we do not model were refused at negotiation; nothing to route.
        NlriList::Other { .. } => {}
    }
}

/// The routes of one UPDATE, split for the RIB.
#[derive(Debug, Default)]
pub struct Changes {
    /// Withdrawn destinations with their path ids.
    pub withdrawn: Vec<(Dest, u32)>,
    /// Announced NLRI with their path ids and next hops.
    pub announced: Vec<(Nlri, u32, NextHop)>,
}

/// Splits `update` into withdrawals and announcements. With `treat_as_withdraw`, every
/// announced route is withdrawn instead (RFC 7606 §2); `withdraw_mp` lists the indices of
/// MP_REACH routes the codec found invalid one by one (RFC 9136 type-5 checks).
pub fn split_update(update: &Update, treat_as_withdraw: bool, withdraw_mp: &[usize]) -> Changes {
    let mut out = Changes::default();
    let a = &update.attributes;
    for n in &update.withdrawn {
        out.withdrawn.push((
            Dest::Ipv4Unicast { prefix: n.prefix },
            n.path_id.unwrap_or(0),
        ));
    }
    if let Some(u) = &a.mp_unreach {
        each_nlri(&u.withdrawn, |n, id| {
            out.withdrawn.push((n.dest(), id.unwrap_or(0)))
        });
    }
    let legacy_nh = a.next_hop.map(NextHop::Ipv4).unwrap_or(NextHop::None);
    for n in &update.nlri {
        let nlri = Nlri::Ipv4Unicast(n.prefix);
        let id = n.path_id.unwrap_or(0);
        if treat_as_withdraw {
            out.withdrawn.push((nlri.dest(), id));
        } else {
            out.announced.push((nlri, id, legacy_nh));
        }
    }
    if let Some(r) = &a.mp_reach {
        let nh = r.next_hop;
        let mut index = 0usize;
        each_nlri(&r.nlri, |n, id| {
            let id = id.unwrap_or(0);
            let this = index;
            index = index.saturating_add(1);
            if treat_as_withdraw || withdraw_mp.contains(&this) {
                out.withdrawn.push((n.dest(), id));
            } else {
                out.announced.push((n, id, nh));
            }
        });
    }
    out
}

/// The address a next hop forwards to (the global one for IPv6), if any.
pub fn next_hop_addr(nh: &NextHop) -> Option<IpAddr> {
    match nh {
        NextHop::None => None,
        NextHop::Ipv4(a) => Some(IpAddr::V4(*a)),
        NextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
        NextHop::VpnIpv4 { addr, .. } => Some(IpAddr::V4(*addr)),
        NextHop::VpnIpv6 { global, .. } => Some(IpAddr::V6(*global)),
    }
}
