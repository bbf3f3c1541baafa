//! EVPN type-5 (IP Prefix) routes for L3VNIs: symmetric IRB, interface-less IP-VRF-to-IP-VRF
//! (RFC 9136 §4.4.1, RFC 9135), with FRR's behaviour where the RFCs leave a choice.
//!
//! # Export ([`export`])
//!
//! One route per VRF prefix, shaped as FRR originates it (`bgp-evpn-wire.md` §1.10, §1.15):
//! RD = the L3VNI's RD, ESI 0, Ethernet Tag 0, Gateway IP 0 of the prefix's family, label =
//! the L3VNI as a raw 24-bit VNI (RFC 8365 §5.1.3, §1.11: no MPLS shift), prefix host bits
//! cleared. Attributes: ORIGIN IGP, an empty AS_PATH (the session prepends), and the extended
//! communities every export RT, Encapsulation VXLAN (`ET:8`, RFC 9012 §4.1; pitfall 2: always
//! sent) and Router's MAC (RFC 9135 §8.1; pitfall 1: without it FRR drops the route), sorted
//! by their wire octets and deduplicated (the order FRR's `ecommunity_add_val` keeps them
//! in, so the encoding is deterministic). The MP_REACH next hop is the VTEP, 4 or 16 octets
//! (pitfall 5).
//!
//! # Import ([`import`])
//!
//! A route is imported into every L3VNI one of whose import rules matches one of its RTs
//! ([`crate::rt::imported`], exact or `*:N`, §1.15, pitfall 4). Before that it is checked, in
//! this order; the first failing check is returned as [`Ignored`]:
//!
//! 1. the next hop is unspecified ([`Ignored::NoNextHop`]);
//! 2. the next hop is our own VTEP: our routes reflected back ([`Ignored::OwnVtep`]);
//! 3. ESI and Gateway IP both non-zero: RFC 9136 §3.2 says treat-as-withdraw, as FRR does
//!    (pitfall 9; [`Ignored::EsiAndGateway`]);
//! 4. a non-zero Gateway IP: the gateway overlay index (RFC 9136 §4.2) needs recursive
//!    resolution through a type-2 route, which we do not implement
//!    ([`Ignored::GatewayOverlayIndex`]);
//! 5. a non-zero ESI: the ESI overlay index (RFC 9136 §4.3) needs EVPN multihoming (type-1
//!    routes), which we do not implement; single-homed VTEPs send ESI 0 (pitfall 8)
//!    ([`Ignored::EsiOverlayIndex`]);
//! 6. Encapsulation extended communities present, none of them VXLAN: the label is then not a
//!    VNI (pitfalls 2 and 3). Without any Encapsulation community VXLAN is assumed, as FRR
//!    does ([`Ignored::NotVxlan`]);
//! 7. no Router's MAC: zebra cannot build the VTEP neighbour and FRR drops the route; this is
//!    what a bare GoBGP type-5 (no router-mac, label 0) looks like (pitfall 1;
//!    [`Ignored::NoRouterMac`]);
//! 8. a zero, multicast or broadcast Router's MAC, which FRR treats as withdraw (pitfall 1;
//!    [`Ignored::BadRouterMac`]). With several Router's MAC communities the first is used.
//!
//! The Ethernet Tag is not checked: FRR ignores it on import (§1.11, pitfall 7). The VNI is
//! the label when non-zero, else the importing L3VNI's VNI.
//!
//! # Kernel state ([`dataplane()`])
//!
//! What zebra installs, and `dataplane/examples/evpn_pair.rs` verified with a ping: per VRF,
//! in the VRF's table, a route to the prefix via the VTEP `onlink` on the L3VNI bridge
//! (several VTEPs: one ECMP route, next hops sorted); an IPv6 prefix behind an IPv4 VTEP goes
//! via the VTEP's IPv4-mapped IPv6 address (the kernel has no IPv6 route via an IPv4
//! gateway), an IPv4 prefix behind an IPv6 VTEP via the IPv6 VTEP (`RTA_VIA`); neighbours
//! VTEP (and mapped address, when used) → router MAC on the bridge; an FDB entry router MAC →
//! VTEP on the L3VNI's VXLAN device.
//!
//! One router MAC per VTEP and VRF (pitfall 12): when one VTEP advertises several router MACs
//! into the same VRF, the numerically lowest is used for that VRF, whatever the order the
//! routes arrived in (zebra keeps the last one received, which depends on timing). Different
//! VRFs may use different router MACs of the same VTEP: the kernel keeps neighbours per bridge
//! and FDB entries per VXLAN device, so that works here even though it blackholes in zebra.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use bgp_wire::community::ExtCommunity;
use bgp_wire::evpn::{EvpnRoute, IpPrefixRoute};
use bgp_wire::nlri::{EvpnNlri, NlriList};
use bgp_wire::types::{Esi, Label24};
use bgp_wire::{AsPath, Context, EncodeError, Origin, PathAttributes};
use dataplane::{DesiredState, Fdb, MacAddr, Neigh, Route};
use ipnet::IpNet;

use crate::config::{EvpnConfig, L3Vni};
use crate::rt;

/// A route to originate: the EVPN NLRI, its attributes and its MP_REACH next hop. Type-3
/// routes ([`crate::type3::export`]) use the same shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The route (its [`EvpnRoute::key`] is what a withdrawal names).
    pub route: EvpnRoute,
    /// The attributes to originate with (`mp_reach`, `mp_unreach` and `next_hop` unset: the
    /// packer builds MP_REACH from [`Export::next_hop`]).
    pub attrs: PathAttributes,
    /// The MP_REACH next hop: the VTEP, 4 or 16 octets.
    pub next_hop: bgp_wire::NextHop,
}

impl Export {
    /// The route as a one-element L2VPN EVPN NLRI list (no ADD-PATH identifier).
    pub fn nlri(&self) -> NlriList {
        NlriList::L2vpnEvpn(vec![EvpnNlri {
            path_id: None,
            route: self.route.clone(),
        }])
    }

    /// The encoded UPDATE message(s) announcing the route under `ctx`
    /// ([`bgp_wire::pack::announce`]).
    pub fn updates(&self, ctx: &Context) -> Result<Vec<Vec<u8>>, EncodeError> {
        bgp_wire::pack::announce(&self.attrs, self.next_hop, &self.nlri(), ctx)
    }
}

/// The EVPN MP_REACH next hop of VTEP `ip`: 4 octets for IPv4, 16 for IPv6 (pitfall 5).
pub(crate) fn vtep_next_hop(ip: IpAddr) -> bgp_wire::NextHop {
    match ip {
        IpAddr::V4(a) => bgp_wire::NextHop::Ipv4(a),
        IpAddr::V6(a) => bgp_wire::NextHop::Ipv6 {
            global: a,
            link_local: None,
        },
    }
}

/// The extended communities of an originated EVPN route: `rts`, then `extra`, sorted by wire
/// octets and deduplicated (FRR's `ecommunity_add_val` keeps the same order).
pub(crate) fn sorted_communities(
    rts: &[bgp_wire::AdminValue],
    extra: &[ExtCommunity],
) -> Vec<ExtCommunity> {
    let mut all: Vec<ExtCommunity> = rts
        .iter()
        .map(|a| ExtCommunity::RouteTarget(*a))
        .chain(extra.iter().copied())
        .collect();
    all.sort_by_key(|c| c.to_bytes());
    all.dedup_by_key(|c| c.to_bytes());
    all
}

/// The route targets among `attrs`' extended communities.
pub(crate) fn route_targets(attrs: &PathAttributes) -> Vec<bgp_wire::AdminValue> {
    attrs
        .ext_communities
        .iter()
        .filter_map(|c| c.route_target())
        .collect()
}

/// Whether `attrs` say VXLAN: no Encapsulation community at all (FRR assumes VXLAN), or one
/// of them is tunnel type 8. Returns the first non-VXLAN tunnel type otherwise.
pub(crate) fn vxlan_encapsulation(attrs: &PathAttributes) -> Result<(), u16> {
    let mut other = None;
    for c in &attrs.ext_communities {
        if let ExtCommunity::Encapsulation(t) = c {
            if *c == ExtCommunity::VXLAN {
                return Ok(());
            }
            other = other.or(Some(*t));
        }
    }
    match other {
        None => Ok(()),
        Some(t) => Err(t),
    }
}

/// The type-5 route (and attributes and next hop) announcing `prefix` of L3VNI `l3`.
///
/// The L3VNI is written as a raw 24-bit VNI; a VNI wider than 24 bits (which the
/// configuration layer rejects) keeps its low 24 bits.
pub fn export(cfg: &EvpnConfig, l3: &L3Vni, prefix: IpNet) -> Export {
    let prefix = prefix.trunc();
    let route = EvpnRoute::IpPrefix(IpPrefixRoute {
        rd: l3.rd,
        esi: Esi::ZERO,
        eth_tag: 0,
        prefix,
        gateway: IpPrefixRoute::no_gateway(prefix),
        label: Label24::new(l3.vni),
    });
    let rmac = ExtCommunity::RouterMac(bgp_wire::Mac(cfg.vtep.router_mac.0));
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::default()),
        ext_communities: sorted_communities(&l3.export_rts, &[ExtCommunity::VXLAN, rmac]),
        ..PathAttributes::default()
    };
    Export {
        route,
        attrs,
        next_hop: vtep_next_hop(cfg.vtep.ip),
    }
}

/// A type-5 route accepted into one VRF.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Imported {
    /// The VRF (an [`L3Vni`]'s `vrf`).
    pub vrf: String,
    /// The prefix (host bits cleared).
    pub prefix: IpNet,
    /// The remote VTEP (the route's next hop).
    pub vtep: IpAddr,
    /// The remote router MAC (Router's MAC extended community).
    pub rmac: MacAddr,
    /// The VNI to send with: the route's label, or the VRF's L3VNI when the label is 0.
    pub vni: u32,
}

/// Why a type-5 route is not imported at all (see the module documentation for the order in
/// which these are checked and their sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Ignored {
    /// The next hop is the unspecified address: there is no VTEP to send to.
    #[error("type-5 route with an unspecified next hop")]
    NoNextHop,
    /// The next hop is our own VTEP: one of our routes reflected back.
    #[error("type-5 route from our own VTEP")]
    OwnVtep,
    /// Both the ESI and the Gateway IP are non-zero (RFC 9136 §3.2: treat as withdraw).
    #[error("type-5 route with both ESI and gateway overlay index (RFC 9136 §3.2)")]
    EsiAndGateway,
    /// A non-zero Gateway IP: the gateway overlay index (RFC 9136 §4.2) is not supported.
    #[error("type-5 route with gateway overlay index {0}: not supported")]
    GatewayOverlayIndex(IpAddr),
    /// A non-zero ESI: the ESI overlay index (RFC 9136 §4.3, multihoming) is not supported.
    #[error("type-5 route with ESI overlay index {0}: not supported")]
    EsiOverlayIndex(Esi),
    /// Encapsulation communities present and none is VXLAN; this one is the first.
    #[error("type-5 route with encapsulation {0}, not VXLAN (8)")]
    NotVxlan(u16),
    /// No Router's MAC extended community (FRR drops these; GoBGP's default type-5).
    #[error("type-5 route without a Router's MAC extended community")]
    NoRouterMac,
    /// The Router's MAC is zero, multicast or broadcast.
    #[error("type-5 route with an unusable Router's MAC {0}")]
    BadRouterMac(bgp_wire::Mac),
}

/// The VRFs `route` (with attributes `attrs` and MP_REACH next hop `next_hop`) is imported
/// into, one [`Imported`] per L3VNI whose import rules match one of its route targets (none
/// matching: an empty list). A route failing a check of the module documentation is
/// [`Ignored`] as a whole.
pub fn import(
    cfg: &EvpnConfig,
    route: &IpPrefixRoute,
    attrs: &PathAttributes,
    next_hop: IpAddr,
) -> Result<Vec<Imported>, Ignored> {
    if next_hop.is_unspecified() {
        return Err(Ignored::NoNextHop);
    }
    if next_hop == cfg.vtep.ip {
        return Err(Ignored::OwnVtep);
    }
    let gw_zero = route.gateway.is_unspecified();
    if !route.esi.is_zero() && !gw_zero {
        return Err(Ignored::EsiAndGateway);
    }
    if !gw_zero {
        return Err(Ignored::GatewayOverlayIndex(route.gateway));
    }
    if !route.esi.is_zero() {
        return Err(Ignored::EsiOverlayIndex(route.esi));
    }
    vxlan_encapsulation(attrs).map_err(Ignored::NotVxlan)?;
    let rmac = attrs
        .ext_communities
        .iter()
        .find_map(|c| match c {
            ExtCommunity::RouterMac(m) => Some(*m),
            _ => None,
        })
        .ok_or(Ignored::NoRouterMac)?;
    if rmac.is_zero() || rmac.is_multicast() || rmac.is_broadcast() {
        return Err(Ignored::BadRouterMac(rmac));
    }
    let rts = route_targets(attrs);
    let prefix = route.prefix.trunc();
    Ok(cfg
        .l3vnis
        .iter()
        .filter(|l3| rt::imported(&l3.import_rts, &rts))
        .map(|l3| Imported {
            vrf: l3.vrf.clone(),
            prefix,
            vtep: next_hop,
            rmac: MacAddr(rmac.0),
            vni: match route.label.raw() {
                0 => l3.vni,
                label => label,
            },
        })
        .collect())
}

/// The address a route to `prefix` behind `vtep` goes via: the VTEP itself, or, for an IPv6
/// prefix behind an IPv4 VTEP, its IPv4-mapped IPv6 address (as zebra does).
fn gateway(prefix: IpNet, vtep: IpAddr) -> IpAddr {
    match (prefix, vtep) {
        (IpNet::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
        _ => vtep,
    }
}

/// The kernel objects carrying the imported routes (see the module documentation): routes,
/// neighbours and FDB entries. Imports into VRFs not in `cfg`, and from our own VTEP, are
/// skipped.
pub fn dataplane(cfg: &EvpnConfig, imported: &[Imported]) -> DesiredState {
    let mut d = DesiredState::new();
    // Per VRF: prefix → VTEPs, and VTEP → (router MAC → VNIs).
    let mut prefixes: BTreeMap<(&str, IpNet), BTreeSet<IpAddr>> = BTreeMap::new();
    type Macs = BTreeMap<MacAddr, BTreeSet<u32>>;
    let mut vteps: BTreeMap<(&str, IpAddr), Macs> = BTreeMap::new();
    for i in imported {
        if i.vtep == cfg.vtep.ip || cfg.l3vni(&i.vrf).is_none() {
            continue;
        }
        let prefix = i.prefix.trunc();
        prefixes
            .entry((i.vrf.as_str(), prefix))
            .or_default()
            .insert(i.vtep);
        vteps
            .entry((i.vrf.as_str(), i.vtep))
            .or_default()
            .entry(i.rmac)
            .or_default()
            .insert(i.vni);
    }
    // Pitfall 12: one router MAC per VTEP and VRF, the lowest.
    let mut chosen: BTreeMap<(&str, IpAddr), MacAddr> = BTreeMap::new();
    for ((vrf, vtep), macs) in &vteps {
        let Some(l3) = cfg.l3vni(vrf) else { continue };
        let Some((rmac, vnis)) = macs.iter().next() else {
            continue;
        };
        chosen.insert((*vrf, *vtep), *rmac);
        // Send with the VRF's L3VNI when a route asked for it, else the lowest label.
        let vni = if vnis.contains(&l3.vni) {
            l3.vni
        } else {
            vnis.iter().next().copied().unwrap_or(l3.vni)
        };
        let mut fdb = Fdb::unicast(l3.vxlan(), *rmac, *vtep);
        fdb.vni = (vni != l3.vni).then_some(vni);
        d.add_fdb(fdb);
        d.add_neigh(Neigh::new(l3.bridge(), *vtep, *rmac));
    }
    for ((vrf, prefix), set) in &prefixes {
        let Some(l3) = cfg.l3vni(vrf) else { continue };
        let mut hops = Vec::with_capacity(set.len());
        for vtep in set {
            let Some(rmac) = chosen.get(&(*vrf, *vtep)) else {
                continue;
            };
            let via = gateway(*prefix, *vtep);
            if via != *vtep {
                d.add_neigh(Neigh::new(l3.bridge(), via, *rmac));
            }
            hops.push(dataplane::NextHop {
                via: Some(via),
                dev: Some(l3.bridge()),
                onlink: true,
            });
        }
        if !hops.is_empty() {
            d.add_route(
                Route::unicast(l3.table, *prefix, hops).with_metric(dataplane::ROUTE_METRIC),
            );
        }
    }
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use bgp_wire::types::{AdminValue, Mac};
    use bgp_wire::{decode_message, Message, MpReach};

    use super::*;
    use crate::config::Vtep;
    use crate::rt::{parse_rt, rd_type1};

    const RMAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn l3(vrf: &str, vni: u32, table: u32, import: &str) -> L3Vni {
        L3Vni {
            vrf: vrf.into(),
            vni,
            table,
            rd: rd_type1(Ipv4Addr::new(10, 0, 0, 2), u16::try_from(vni).unwrap()),
            export_rts: vec![AdminValue::As2 {
                asn: 64514,
                value: vni,
            }],
            import_rts: vec![import.parse().unwrap()],
        }
    }

    /// Node 10.0.0.2, AS 64514, VTEP 100.65.0.2; VRFs red (100, `*:100`) and blue (200,
    /// exactly `64514:200`).
    fn cfg_with(vtep: &str) -> EvpnConfig {
        EvpnConfig {
            asn: 64514,
            router_id: Ipv4Addr::new(10, 0, 0, 2),
            vtep: Vtep {
                ip: ip(vtep),
                router_mac: RMAC,
            },
            l3vnis: vec![
                l3("red", 100, 1001, "*:100"),
                l3("blue", 200, 1002, "64514:200"),
            ],
            l2vnis: vec![],
        }
    }

    fn cfg() -> EvpnConfig {
        cfg_with("100.65.0.2")
    }

    /// A remote FRR-style type-5: RT `rt`, ET:8, router MAC `rmac`, label `label`.
    fn remote(
        prefix: &str,
        label: u32,
        rt: &str,
        rmac: [u8; 6],
    ) -> (IpPrefixRoute, PathAttributes) {
        let prefix = net(prefix);
        let route = IpPrefixRoute {
            rd: rd_type1(Ipv4Addr::new(10, 0, 0, 1), 7),
            esi: Esi::ZERO,
            eth_tag: 0,
            prefix,
            gateway: IpPrefixRoute::no_gateway(prefix),
            label: Label24::new(label),
        };
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![64513])),
            ext_communities: vec![
                ExtCommunity::RouteTarget(parse_rt(rt).unwrap()),
                ExtCommunity::VXLAN,
                ExtCommunity::RouterMac(Mac(rmac)),
            ],
            ..PathAttributes::default()
        };
        (route, attrs)
    }

    const REMOTE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    #[test]
    fn export_fields() {
        let c = cfg();
        let red = c.l3vni("red").unwrap();
        // Host bits are cleared.
        let e = export(&c, red, net("192.169.10.7/24"));
        let EvpnRoute::IpPrefix(r) = &e.route else {
            panic!("not a type-5 route: {:?}", e.route)
        };
        assert_eq!(r.rd, rd_type1(Ipv4Addr::new(10, 0, 0, 2), 100));
        assert_eq!(r.rd.to_string(), "10.0.0.2:100");
        assert_eq!(r.esi, Esi::ZERO);
        assert_eq!(r.eth_tag, 0);
        assert_eq!(r.prefix, net("192.169.10.0/24"));
        assert_eq!(r.gateway, ip("0.0.0.0"));
        assert_eq!(r.label.raw(), 100);
        assert_eq!(r.label.to_bytes(), [0, 0, 100]);
        assert_eq!(e.attrs.origin, Some(Origin::Igp));
        assert_eq!(e.attrs.as_path, Some(AsPath::default()));
        assert_eq!(
            e.attrs.ext_communities,
            [
                ExtCommunity::route_target_as2(64514, 100),
                ExtCommunity::VXLAN,
                ExtCommunity::RouterMac(Mac(RMAC.0)),
            ]
        );
        assert_eq!(e.attrs.pmsi_tunnel, None);
        assert_eq!(e.attrs.mp_reach, None);
        assert_eq!(e.attrs.next_hop, None);
        assert_eq!(e.attrs.local_pref, None);
        assert_eq!(
            e.next_hop,
            bgp_wire::NextHop::Ipv4(Ipv4Addr::new(100, 65, 0, 2))
        );
        assert_eq!(e.next_hop.len(), 4);
        let texts: Vec<String> = e
            .attrs
            .ext_communities
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(texts, ["RT:64514:100", "ET:8", "Rmac:02:00:00:00:00:02"]);
    }

    #[test]
    fn export_communities_are_sorted_and_unique() {
        let c = cfg();
        let mut red = c.l3vni("red").unwrap().clone();
        red.export_rts = vec![
            parse_rt("4200000001:5").unwrap(),
            parse_rt("10.0.0.1:5").unwrap(),
            parse_rt("65000:5").unwrap(),
            parse_rt("65000:5").unwrap(),
        ];
        let e = export(&c, &red, net("10.0.0.0/8"));
        let bytes: Vec<[u8; 8]> = e
            .attrs
            .ext_communities
            .iter()
            .map(|x| x.to_bytes())
            .collect();
        let mut sorted = bytes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(bytes, sorted);
        assert_eq!(bytes.len(), 5);
        assert_eq!(export(&c, &red, net("10.0.0.0/8")), e);
    }

    #[test]
    fn export_ipv6_prefix_and_ipv6_vtep() {
        let c = cfg_with("fd00:65::2");
        let e = export(&c, c.l3vni("blue").unwrap(), net("2001:db8:12::5/64"));
        let EvpnRoute::IpPrefix(r) = &e.route else {
            panic!("not a type-5 route")
        };
        assert_eq!(r.prefix, net("2001:db8:12::/64"));
        assert_eq!(r.gateway, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(r.label.raw(), 200);
        assert_eq!(
            e.next_hop,
            bgp_wire::NextHop::Ipv6 {
                global: "fd00:65::2".parse().unwrap(),
                link_local: None
            }
        );
        assert_eq!(e.next_hop.len(), 16);
        let mut nlri = Vec::new();
        e.route.encode(&mut nlri);
        assert_eq!(nlri.get(..2), Some(&[5u8, 58][..]));
    }

    /// RD type 1 10.0.0.2:100, 192.169.10.0/24, label 100, computed by hand from RFC 9136
    /// §3.1 (`bgp-evpn-wire.md` §1.10).
    const TYPE5_VECTOR: [u8; 36] = [
        0x05, 0x22, // type 5, length 34
        0x00, 0x01, 10, 0, 0, 2, 0x00, 0x64, // RD type 1, 10.0.0.2:100
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ESI 0
        0, 0, 0, 0,  // Ethernet Tag 0
        24, // prefix length
        192, 169, 10, 0, // prefix
        0, 0, 0, 0, // gateway 0
        0x00, 0x00, 0x64, // label: VNI 100, raw 24 bits
    ];

    #[test]
    fn type5_nlri_bytes_match_hand_vector() {
        let c = cfg();
        let e = export(&c, c.l3vni("red").unwrap(), net("192.169.10.0/24"));
        let mut out = Vec::new();
        e.route.encode(&mut out);
        assert_eq!(out, TYPE5_VECTOR);
        let (rest, decoded) = bgp_wire::evpn::decode_evpn(&TYPE5_VECTOR).unwrap();
        assert!(rest.is_empty());
        assert_eq!(decoded, bgp_wire::evpn::EvpnDecoded::Route(e.route));
    }

    /// Encodes `e` as UPDATE(s), decodes them back and checks they are identical.
    fn round_trip(e: &Export) -> Vec<u8> {
        let ctx = Context::default();
        let msgs = e.updates(&ctx).unwrap();
        assert_eq!(msgs.len(), 1);
        let msg = msgs.into_iter().next().unwrap();
        let received = decode_message(&msg, &ctx).unwrap();
        assert!(received.verdict.is_clean(), "{:?}", received.verdict);
        let Message::Update(u) = received.message else {
            panic!("not an UPDATE")
        };
        let mut attrs = u.attributes.clone();
        let reach = attrs.mp_reach.take();
        assert_eq!(attrs, e.attrs);
        assert_eq!(
            reach,
            Some(MpReach {
                next_hop: e.next_hop,
                nlri: e.nlri()
            })
        );
        msg
    }

    #[test]
    fn export_round_trips_through_an_update() {
        let c = cfg();
        let e = export(&c, c.l3vni("red").unwrap(), net("192.169.10.0/24"));
        let msg = round_trip(&e);
        // The NLRI bytes sit in the UPDATE as computed by hand.
        assert!(msg.windows(TYPE5_VECTOR.len()).any(|w| w == TYPE5_VECTOR));
        // ET:8 and the router MAC as on the wire (§1.12).
        for ec in [
            [0x03, 0x0c, 0, 0, 0, 0, 0, 8],
            [0x06, 0x03, 2, 0, 0, 0, 0, 2],
            [0x00, 0x02, 0xfc, 0x02, 0, 0, 0, 100],
        ] {
            assert!(msg.windows(8).any(|w| w == ec), "{ec:02x?}");
        }
        // IPv6 prefix behind an IPv6 VTEP: 16-octet next hop, 58-octet route.
        let c6 = cfg_with("fd00:65::2");
        round_trip(&export(
            &c6,
            c6.l3vni("red").unwrap(),
            net("2001:db8:12::/64"),
        ));
        // IPv6 prefix behind an IPv4 VTEP: the next hop stays 4 octets.
        round_trip(&export(
            &c,
            c.l3vni("red").unwrap(),
            net("2001:db8:12::/64"),
        ));
    }

    #[test]
    fn import_frr_route() {
        let c = cfg();
        let (r, a) = remote("192.169.11.0/24", 100, "64513:100", REMOTE_MAC);
        let got = import(&c, &r, &a, ip("100.65.0.1")).unwrap();
        assert_eq!(
            got,
            [Imported {
                vrf: "red".into(),
                prefix: net("192.169.11.0/24"),
                vtep: ip("100.65.0.1"),
                rmac: MacAddr(REMOTE_MAC),
                vni: 100,
            }]
        );
    }

    #[test]
    fn wildcard_import_across_ases_and_exact_import() {
        let c = cfg();
        let vrfs = |rt: &str| -> Vec<String> {
            let (r, a) = remote("10.1.0.0/16", 100, rt, REMOTE_MAC);
            import(&c, &r, &a, ip("100.65.0.1"))
                .unwrap()
                .into_iter()
                .map(|i| i.vrf)
                .collect()
        };
        // red imports *:100: any AS, 2- or 4-octet, or an IPv4 administrator.
        for rt in ["64513:100", "65000:100", "4200000001:100", "10.9.9.9:100"] {
            assert_eq!(vrfs(rt), ["red"], "{rt}");
        }
        // blue imports exactly 64514:200.
        assert_eq!(vrfs("64514:200"), ["blue"]);
        assert!(vrfs("64513:200").is_empty());
        assert!(vrfs("64513:101").is_empty());
        // A route carrying both VRFs' RTs goes to both.
        let (r, mut a) = remote("10.1.0.0/16", 100, "64513:100", REMOTE_MAC);
        a.ext_communities
            .push(ExtCommunity::route_target_as2(64514, 200));
        let both: Vec<String> = import(&c, &r, &a, ip("100.65.0.1"))
            .unwrap()
            .into_iter()
            .map(|i| i.vrf)
            .collect();
        assert_eq!(both, ["red", "blue"]);
        // No RT at all: nothing.
        let (r, mut a) = remote("10.1.0.0/16", 100, "64513:100", REMOTE_MAC);
        a.ext_communities.retain(|x| x.route_target().is_none());
        assert_eq!(import(&c, &r, &a, ip("100.65.0.1")), Ok(vec![]));
    }

    #[test]
    fn gobgp_default_route_is_ignored() {
        // `gobgp global rib -a evpn add prefix 10.1.0.0/16 etag 0 rd 1.1.1.1:1 rt 64513:100`:
        // no router MAC, no encapsulation, label 0.
        let c = cfg();
        let (r, mut a) = remote("10.1.0.0/16", 0, "64513:100", REMOTE_MAC);
        a.ext_communities = vec![ExtCommunity::route_target_as2(64513, 100)];
        assert_eq!(
            import(&c, &r, &a, ip("100.65.0.1")),
            Err(Ignored::NoRouterMac)
        );
        // bgp-wire's RFC 7606 check flags the same UPDATE treat-as-withdraw for the route.
        let e = Export {
            route: EvpnRoute::IpPrefix(r),
            attrs: a,
            next_hop: bgp_wire::NextHop::Ipv4(Ipv4Addr::new(100, 65, 0, 1)),
        };
        let ctx = Context::default();
        let msg = e.updates(&ctx).unwrap().into_iter().next().unwrap();
        let v = decode_message(&msg, &ctx).unwrap().verdict;
        assert_eq!(v.withdrawn_routes.len(), 1);
        // With a router MAC but label 0 (GoBGP `router-mac` without `label`): imported with
        // the VRF's L3VNI.
        let (r, a) = remote("10.1.0.0/16", 0, "64513:100", REMOTE_MAC);
        let got = import(&c, &r, &a, ip("100.65.0.1")).unwrap();
        assert_eq!(got.first().map(|i| i.vni), Some(100));
        // A non-zero label is the VNI, even if it differs from the VRF's.
        let (r, a) = remote("10.1.0.0/16", 5000, "64513:100", REMOTE_MAC);
        let got = import(&c, &r, &a, ip("100.65.0.1")).unwrap();
        assert_eq!(got.first().map(|i| i.vni), Some(5000));
    }

    #[test]
    fn bad_router_macs_are_ignored() {
        let c = cfg();
        for mac in [
            [0; 6],
            [0xff; 6],
            [0x01, 0, 0x5e, 0, 0, 1],
            [0x33, 0x33, 0, 0, 0, 1],
        ] {
            let (r, a) = remote("10.1.0.0/16", 100, "64513:100", mac);
            assert_eq!(
                import(&c, &r, &a, ip("100.65.0.1")),
                Err(Ignored::BadRouterMac(Mac(mac)))
            );
        }
        // The first router MAC counts.
        let (r, mut a) = remote("10.1.0.0/16", 100, "64513:100", REMOTE_MAC);
        a.ext_communities
            .push(ExtCommunity::RouterMac(Mac([0xff; 6])));
        assert!(import(&c, &r, &a, ip("100.65.0.1")).is_ok());
    }

    #[test]
    fn overlay_indexes_are_ignored() {
        let c = cfg();
        let esi = Esi([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let (mut r, a) = remote("10.1.0.0/16", 100, "64513:100", REMOTE_MAC);
        r.gateway = ip("10.1.0.1");
        assert_eq!(
            import(&c, &r, &a, ip("100.65.0.1")),
            Err(Ignored::GatewayOverlayIndex(ip("10.1.0.1")))
        );
        r.esi = esi;
        assert_eq!(
            import(&c, &r, &a, ip("100.65.0.1")),
            Err(Ignored::EsiAndGateway)
        );
        r.gateway = ip("0.0.0.0");
        assert_eq!(
            import(&c, &r, &a, ip("100.65.0.1")),
            Err(Ignored::EsiOverlayIndex(esi))
        );
        // The error messages say what is not supported.
        assert!(Ignored::GatewayOverlayIndex(ip("10.1.0.1"))
            .to_string()
            .contains("not supported"));
    }

    #[test]
    fn next_hop_own_vtep_encapsulation_and_etag() {
        let c = cfg();
        let (r, a) = remote("10.1.0.0/16", 100, "64513:100", REMOTE_MAC);
        assert_eq!(import(&c, &r, &a, ip("0.0.0.0")), Err(Ignored::NoNextHop));
        assert_eq!(import(&c, &r, &a, ip("::")), Err(Ignored::NoNextHop));
        // Our own route reflected back (e.g. by a route reflector or allowas-in).
        assert_eq!(import(&c, &r, &a, ip("100.65.0.2")), Err(Ignored::OwnVtep));
        // Our own exported route, seen again with our VTEP as next hop.
        let e = export(&c, c.l3vni("red").unwrap(), net("192.169.10.0/24"));
        let EvpnRoute::IpPrefix(own) = &e.route else {
            panic!("not type 5")
        };
        let ours = import(&c, own, &e.attrs, c.vtep.ip);
        assert_eq!(ours, Err(Ignored::OwnVtep));
        // MPLS encapsulation only: the label is not a VNI.
        let (r, mut m) = remote("10.1.0.0/16", 100, "64513:100", REMOTE_MAC);
        m.ext_communities
            .retain(|x| !matches!(x, ExtCommunity::Encapsulation(_)));
        m.ext_communities.push(ExtCommunity::Encapsulation(10));
        assert_eq!(
            import(&c, &r, &m, ip("100.65.0.1")),
            Err(Ignored::NotVxlan(10))
        );
        // MPLS and VXLAN both offered: VXLAN is usable.
        m.ext_communities.push(ExtCommunity::VXLAN);
        assert!(import(&c, &r, &m, ip("100.65.0.1")).is_ok());
        // A non-zero Ethernet Tag (Junos' VLAN-aware bundle) is accepted, as FRR does.
        let (mut r, a) = remote("10.1.0.0/16", 100, "64513:100", REMOTE_MAC);
        r.eth_tag = 100;
        assert_eq!(import(&c, &r, &a, ip("100.65.0.1")).unwrap().len(), 1);
        // An IPv6 VTEP next hop.
        let got = import(&c, &r, &a, ip("fd00:65::1")).unwrap();
        assert_eq!(got.first().map(|i| i.vtep), Some(ip("fd00:65::1")));
    }

    fn imp(vrf: &str, prefix: &str, vtep: &str, rmac: u8, vni: u32) -> Imported {
        Imported {
            vrf: vrf.into(),
            prefix: net(prefix),
            vtep: ip(vtep),
            rmac: MacAddr([2, 0, 0, 0, 0, rmac]),
            vni,
        }
    }

    fn onlink(via: &str, dev: &str) -> dataplane::NextHop {
        dataplane::NextHop {
            via: Some(ip(via)),
            dev: Some(dev.into()),
            onlink: true,
        }
    }

    #[test]
    fn dataplane_single_vtep_both_families() {
        // What dataplane/examples/evpn_pair.rs installs on node 2 (IPv4 VTEPs).
        let c = cfg();
        let d = dataplane(
            &c,
            &[
                imp("red", "192.169.11.0/24", "100.65.0.1", 1, 100),
                imp("red", "2001:db8:11::/64", "100.65.0.1", 1, 100),
            ],
        );
        let mut want = DesiredState::new();
        want.add_route(
            Route::unicast(
                1001,
                net("192.169.11.0/24"),
                vec![onlink("100.65.0.1", "br-pe-100")],
            )
            .with_metric(dataplane::ROUTE_METRIC),
        );
        want.add_route(
            Route::unicast(
                1001,
                net("2001:db8:11::/64"),
                vec![onlink("::ffff:100.65.0.1", "br-pe-100")],
            )
            .with_metric(dataplane::ROUTE_METRIC),
        );
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        want.add_neigh(Neigh::new("br-pe-100", ip("100.65.0.1"), mac));
        want.add_neigh(Neigh::new("br-pe-100", ip("::ffff:100.65.0.1"), mac));
        want.add_fdb(Fdb::unicast("vni100", mac, ip("100.65.0.1")));
        assert_eq!(d, want);
    }

    #[test]
    fn dataplane_ecmp() {
        let c = cfg();
        let d = dataplane(
            &c,
            &[
                imp("red", "10.1.0.0/16", "100.65.0.9", 9, 100),
                imp("red", "10.1.0.0/16", "100.65.0.1", 1, 100),
                imp("red", "10.1.0.0/16", "100.65.0.5", 5, 100),
            ],
        );
        assert_eq!(d.routes.len(), 1);
        let r = d.routes.values().next().unwrap();
        assert_eq!(r.table, 1001);
        assert_eq!(
            r.next_hops,
            [
                onlink("100.65.0.1", "br-pe-100"),
                onlink("100.65.0.5", "br-pe-100"),
                onlink("100.65.0.9", "br-pe-100"),
            ]
        );
        assert_eq!(d.neighbours.len(), 3);
        assert_eq!(d.fdb.len(), 3);
        // Order of the imports does not matter.
        let mut rev = vec![
            imp("red", "10.1.0.0/16", "100.65.0.5", 5, 100),
            imp("red", "10.1.0.0/16", "100.65.0.1", 1, 100),
            imp("red", "10.1.0.0/16", "100.65.0.9", 9, 100),
        ];
        assert_eq!(dataplane(&c, &rev), d);
        rev.reverse();
        assert_eq!(dataplane(&c, &rev), d);
    }

    #[test]
    fn dataplane_ipv6_vtep() {
        let c = cfg_with("fd00:65::2");
        let d = dataplane(
            &c,
            &[
                imp("blue", "2001:db8:11::/64", "fd00:65::1", 1, 200),
                imp("blue", "192.169.11.0/24", "fd00:65::1", 1, 200),
            ],
        );
        let mut want = DesiredState::new();
        want.add_route(
            Route::unicast(
                1002,
                net("2001:db8:11::/64"),
                vec![onlink("fd00:65::1", "br-pe-200")],
            )
            .with_metric(dataplane::ROUTE_METRIC),
        );
        // IPv4 via an IPv6 gateway (RTA_VIA), no mapped address needed.
        want.add_route(
            Route::unicast(
                1002,
                net("192.169.11.0/24"),
                vec![onlink("fd00:65::1", "br-pe-200")],
            )
            .with_metric(dataplane::ROUTE_METRIC),
        );
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        want.add_neigh(Neigh::new("br-pe-200", ip("fd00:65::1"), mac));
        want.add_fdb(Fdb::unicast("vni200", mac, ip("fd00:65::1")));
        assert_eq!(d, want);
    }

    #[test]
    fn dataplane_router_mac_conflict_vni_and_unknown_vrf() {
        let c = cfg();
        // One VTEP, two router MACs in red: the lowest wins, for every route of that VTEP.
        let d = dataplane(
            &c,
            &[
                imp("red", "10.1.0.0/16", "100.65.0.1", 7, 100),
                imp("red", "10.2.0.0/16", "100.65.0.1", 3, 100),
                imp("red", "2001:db8::/32", "100.65.0.1", 7, 100),
                // Unknown VRF and our own VTEP: skipped.
                imp("green", "10.3.0.0/16", "100.65.0.1", 1, 300),
                imp("red", "10.4.0.0/16", "100.65.0.2", 2, 100),
            ],
        );
        let low = MacAddr([2, 0, 0, 0, 0, 3]);
        assert_eq!(d.routes.len(), 3);
        assert!(d.neighbours.values().all(|n| n.mac == low));
        assert_eq!(d.neighbours.len(), 2);
        assert_eq!(
            d.fdb.values().cloned().collect::<Vec<_>>(),
            [Fdb::unicast("vni100", low, ip("100.65.0.1"))]
        );
        // Blue gets its own router MAC from the same VTEP; a label VNI other than the
        // L3VNI is what the FDB entry sends with.
        let d = dataplane(
            &c,
            &[
                imp("red", "10.1.0.0/16", "100.65.0.1", 7, 100),
                imp("blue", "10.1.0.0/16", "100.65.0.1", 8, 5000),
            ],
        );
        let fdb: Vec<Fdb> = d.fdb.values().cloned().collect();
        let mut blue = Fdb::unicast("vni200", MacAddr([2, 0, 0, 0, 0, 8]), ip("100.65.0.1"));
        blue.vni = Some(5000);
        assert_eq!(
            fdb,
            [
                Fdb::unicast("vni100", MacAddr([2, 0, 0, 0, 0, 7]), ip("100.65.0.1")),
                blue
            ]
        );
        assert!(d.routes.keys().any(|k| k.table == 1002));
        assert_eq!(dataplane(&c, &[]), DesiredState::new());
    }
}
