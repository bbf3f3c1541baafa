//! EVPN type-3 (Inclusive Multicast Ethernet Tag) routes for L2VNIs: the BUM flood list by
//! ingress replication (RFC 7432 §7.3 and §11, RFC 8365 §9), with FRR's behaviour.
//!
//! # Export ([`export`])
//!
//! One route per L2VNI, as FRR originates it (`bgp-evpn-wire.md` §1.10, §1.11, §1.15): RD =
//! the L2VNI's RD, Ethernet Tag 0 (VLAN-based service, RFC 8365 §5.1.3), originating router =
//! the VTEP. Attributes: ORIGIN IGP, an empty AS_PATH, the extended communities every export
//! RT and Encapsulation VXLAN (`ET:8`, pitfall 2), sorted by wire octets and deduplicated, and
//! the PMSI Tunnel attribute (RFC 6514 §5, required by RFC 7432 §11.2): flags 0, tunnel type
//! 6 (ingress replication), label = the VNI as a raw 24-bit value (RFC 8365 §5.1.3), tunnel
//! identifier = the VTEP (4 or 16 octets; 9- or 21-octet attribute). The MP_REACH next hop is
//! the VTEP, 4 or 16 octets (pitfall 5).
//!
//! # Import ([`import`])
//!
//! A route is imported into every L2VNI one of whose import rules matches one of its RTs
//! ([`crate::rt::imported`], exact or `*:N`, pitfall 4). Checked first, in this order:
//!
//! 1. the PMSI Tunnel attribute must be present with tunnel type 6, ingress replication
//!    ([`Ignored::NotIngressReplication`]). FRR logs other types and installs no flood entry
//!    for anything but ingress replication (its head-end replication flood control); a route
//!    without the attribute gets none either. We do the same by not importing the route;
//! 2. Encapsulation extended communities present, none of them VXLAN ([`Ignored::NotVxlan`];
//!    without any, VXLAN is assumed as FRR does; pitfalls 2 and 3);
//! 3. the remote VTEP is the PMSI tunnel identifier when it is an address (4 or 16 octets),
//!    else the MP_REACH next hop; unspecified: [`Ignored::NoVtep`]. (FRR uses the originating
//!    router's IP of the NLRI; FRR and OpenPERouter put the VTEP in all three.)
//! 4. that VTEP, or the originating router, is our own VTEP: our route reflected back
//!    ([`Ignored::OwnVtep`]).
//!
//! The Ethernet Tag is not checked (FRR ignores it on import, pitfall 7). The PMSI label is
//! not used: the flood entry uses the importing L2VNI's VXLAN device and VNI, which is what
//! FRR does (it maps routes to VNIs by RT).
//!
//! # Kernel state ([`dataplane()`])
//!
//! One flood-list entry (`bridge fdb append 00:00:00:00:00:00 dev vni<VNI> dst VTEP`) per
//! remote VTEP per L2VNI ([`Fdb::flood`]).

use std::net::IpAddr;

use bgp_wire::community::ExtCommunity;
use bgp_wire::evpn::{EvpnRoute, InclusiveMulticast};
use bgp_wire::types::Label24;
use bgp_wire::{AsPath, Origin, PathAttributes, PmsiTunnel};
use dataplane::{DesiredState, Fdb};

use crate::config::{EvpnConfig, L2Vni};
use crate::rt;
use crate::type5::{route_targets, sorted_communities, vtep_next_hop, vxlan_encapsulation};

/// A route to originate: the same shape as a type-5 export.
pub use crate::type5::Export;

/// The type-3 route (and attributes and next hop) of L2VNI `l2`.
///
/// The VNI is written as a raw 24-bit value; a VNI wider than 24 bits (which the
/// configuration layer rejects) keeps its low 24 bits.
pub fn export(cfg: &EvpnConfig, l2: &L2Vni) -> Export {
    let route = EvpnRoute::InclusiveMulticast(InclusiveMulticast {
        rd: l2.rd,
        eth_tag: 0,
        originator: cfg.vtep.ip,
    });
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::default()),
        ext_communities: sorted_communities(&l2.export_rts, &[ExtCommunity::VXLAN]),
        pmsi_tunnel: Some(PmsiTunnel::ingress_replication(
            Label24::new(l2.vni),
            cfg.vtep.ip,
        )),
        ..PathAttributes::default()
    };
    Export {
        route,
        attrs,
        next_hop: vtep_next_hop(cfg.vtep.ip),
    }
}

/// A type-3 route accepted into one L2VNI: `vtep` joins the VNI's flood list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImportedImet {
    /// The local L2VNI the route was imported into.
    pub vni: u32,
    /// The remote VTEP.
    pub vtep: IpAddr,
}

/// Why a type-3 route is not imported at all (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Ignored {
    /// No PMSI Tunnel attribute (`None`), or one whose tunnel type (`Some`) is not ingress
    /// replication (6): no flood-list entry, as in FRR.
    #[error("type-3 route whose PMSI tunnel type is {0:?}, not ingress replication (6)")]
    NotIngressReplication(Option<u8>),
    /// Encapsulation communities present and none is VXLAN; this one is the first.
    #[error("type-3 route with encapsulation {0}, not VXLAN (8)")]
    NotVxlan(u16),
    /// Neither the PMSI tunnel identifier nor the next hop names a VTEP.
    #[error("type-3 route without a usable VTEP address")]
    NoVtep,
    /// The VTEP (or the originating router) is ours: our own route reflected back.
    #[error("type-3 route from our own VTEP")]
    OwnVtep,
}

/// The L2VNIs whose flood list `route` (with attributes `attrs` and MP_REACH next hop
/// `next_hop`) adds a VTEP to, one [`ImportedImet`] per L2VNI whose import rules match one of
/// its route targets (none matching: an empty list). A route failing a check of the module
/// documentation is [`Ignored`] as a whole.
pub fn import(
    cfg: &EvpnConfig,
    route: &InclusiveMulticast,
    attrs: &PathAttributes,
    next_hop: IpAddr,
) -> Result<Vec<ImportedImet>, Ignored> {
    let pmsi = match &attrs.pmsi_tunnel {
        Some(p) if p.tunnel_type == PmsiTunnel::INGRESS_REPLICATION => p,
        other => {
            return Err(Ignored::NotIngressReplication(
                other.as_ref().map(|p| p.tunnel_type),
            ))
        }
    };
    vxlan_encapsulation(attrs).map_err(Ignored::NotVxlan)?;
    let vtep = pmsi
        .endpoint()
        .filter(|a| !a.is_unspecified())
        .unwrap_or(next_hop);
    if vtep.is_unspecified() {
        return Err(Ignored::NoVtep);
    }
    if vtep == cfg.vtep.ip || route.originator == cfg.vtep.ip {
        return Err(Ignored::OwnVtep);
    }
    let rts = route_targets(attrs);
    Ok(cfg
        .l2vnis
        .iter()
        .filter(|l2| rt::imported(&l2.import_rts, &rts))
        .map(|l2| ImportedImet { vni: l2.vni, vtep })
        .collect())
}

/// The flood-list entries of the imported routes: one per remote VTEP per L2VNI of `cfg`.
/// Imports for VNIs not in `cfg`, and of our own VTEP, are skipped.
pub fn dataplane(cfg: &EvpnConfig, imported: &[ImportedImet]) -> DesiredState {
    let mut d = DesiredState::new();
    for i in imported {
        if i.vtep == cfg.vtep.ip || i.vtep.is_unspecified() {
            continue;
        }
        if let Some(l2) = cfg.l2vnis.iter().find(|l2| l2.vni == i.vni) {
            d.add_fdb(Fdb::flood(l2.vxlan(), i.vtep));
        }
    }
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::Ipv4Addr;

    use bgp_wire::types::AdminValue;
    use bgp_wire::{decode_message, Context, Message, MpReach, NextHop};
    use dataplane::MacAddr;

    use super::*;
    use crate::config::Vtep;
    use crate::rt::{parse_rt, rd_type1};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn l2(vni: u32, import: &str) -> L2Vni {
        L2Vni {
            vni,
            rd: rd_type1(Ipv4Addr::new(10, 0, 0, 2), u16::try_from(vni).unwrap()),
            export_rts: vec![AdminValue::As2 {
                asn: 64514,
                value: vni,
            }],
            import_rts: vec![import.parse().unwrap()],
            routing_domain: None,
        }
    }

    /// Node 10.0.0.2, AS 64514; L2VNIs 110 (`*:110`) and 120 (exactly `64514:120`).
    fn cfg_with(vtep: &str) -> EvpnConfig {
        EvpnConfig {
            asn: 64514,
            router_id: Ipv4Addr::new(10, 0, 0, 2),
            vtep: Vtep {
                ip: ip(vtep),
                router_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            },
            l3vnis: vec![],
            l2vnis: vec![l2(110, "*:110"), l2(120, "64514:120")],
        }
    }

    fn cfg() -> EvpnConfig {
        cfg_with("100.65.0.2")
    }

    /// A remote FRR-style type-3 from VTEP `vtep`: RT `rt`, ET:8, PMSI IR.
    fn remote(vtep: &str, vni: u32, rt: &str) -> (InclusiveMulticast, PathAttributes) {
        let route = InclusiveMulticast {
            rd: rd_type1(Ipv4Addr::new(10, 0, 0, 1), 3),
            eth_tag: 0,
            originator: ip(vtep),
        };
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![64513])),
            ext_communities: vec![
                ExtCommunity::RouteTarget(parse_rt(rt).unwrap()),
                ExtCommunity::VXLAN,
            ],
            pmsi_tunnel: Some(PmsiTunnel::ingress_replication(Label24::new(vni), ip(vtep))),
            ..PathAttributes::default()
        };
        (route, attrs)
    }

    #[test]
    fn export_fields() {
        let c = cfg();
        let e = export(&c, &c.l2vnis[0]);
        let EvpnRoute::InclusiveMulticast(r) = &e.route else {
            panic!("not a type-3 route: {:?}", e.route)
        };
        assert_eq!(r.rd.to_string(), "10.0.0.2:110");
        assert_eq!(r.eth_tag, 0);
        assert_eq!(r.originator, ip("100.65.0.2"));
        assert_eq!(e.attrs.origin, Some(Origin::Igp));
        assert_eq!(e.attrs.as_path, Some(AsPath::default()));
        assert_eq!(
            e.attrs.ext_communities,
            [
                ExtCommunity::route_target_as2(64514, 110),
                ExtCommunity::VXLAN
            ]
        );
        assert_eq!(
            e.attrs.pmsi_tunnel,
            Some(PmsiTunnel {
                flags: 0,
                tunnel_type: 6,
                label: Label24::new(110),
                tunnel_id: vec![100, 65, 0, 2],
            })
        );
        assert_eq!(
            e.attrs.pmsi_tunnel.as_ref().map(|p| p.label.to_bytes()),
            Some([0, 0, 110])
        );
        assert_eq!(e.attrs.mp_reach, None);
        assert_eq!(e.next_hop, NextHop::Ipv4(Ipv4Addr::new(100, 65, 0, 2)));
        // IPv6 VTEP: 16-octet originator, tunnel id and next hop.
        let c6 = cfg_with("fd00:65::2");
        let e6 = export(&c6, &c6.l2vnis[1]);
        let EvpnRoute::InclusiveMulticast(r6) = &e6.route else {
            panic!("not a type-3 route")
        };
        assert_eq!(r6.originator, ip("fd00:65::2"));
        assert_eq!(
            e6.attrs.pmsi_tunnel.as_ref().map(|p| p.tunnel_id.len()),
            Some(16)
        );
        assert_eq!(e6.next_hop.len(), 16);
        assert_eq!(
            e6.attrs.pmsi_tunnel.as_ref().and_then(PmsiTunnel::endpoint),
            Some(ip("fd00:65::2"))
        );
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
        let e = export(&c, &c.l2vnis[0]);
        let msg = round_trip(&e);
        // NLRI by hand (RFC 7432 §7.3): type 3, length 17, RD 10.0.0.2:110, ETag 0, /32,
        // originator 100.65.0.2.
        let nlri = [
            3, 17, 0, 1, 10, 0, 0, 2, 0, 110, 0, 0, 0, 0, 32, 100, 65, 0, 2,
        ];
        let mut out = Vec::new();
        e.route.encode(&mut out);
        assert_eq!(out, nlri);
        assert!(msg.windows(nlri.len()).any(|w| w == nlri));
        // PMSI Tunnel: optional transitive, type 22, length 9, flags 0, IR, VNI 110, VTEP.
        let pmsi = [0xc0, 22, 9, 0, 6, 0, 0, 110, 100, 65, 0, 2];
        assert!(msg.windows(pmsi.len()).any(|w| w == pmsi));
        // IPv6 VTEP: 29-octet route, 21-octet PMSI attribute.
        let c6 = cfg_with("fd00:65::2");
        let msg6 = round_trip(&export(&c6, &c6.l2vnis[0]));
        let mut pmsi6 = vec![0xc0, 22, 21, 0, 6, 0, 0, 110];
        pmsi6.extend_from_slice(&[0xfd, 0, 0, 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert!(msg6.windows(pmsi6.len()).any(|w| w == pmsi6));
    }

    #[test]
    fn import_frr_route_and_wildcard() {
        let c = cfg();
        let (r, a) = remote("100.65.0.1", 110, "64513:110");
        assert_eq!(
            import(&c, &r, &a, ip("100.65.0.1")),
            Ok(vec![ImportedImet {
                vni: 110,
                vtep: ip("100.65.0.1")
            }])
        );
        let vnis = |rt: &str| -> Vec<u32> {
            let (r, a) = remote("100.65.0.1", 0, rt);
            import(&c, &r, &a, ip("100.65.0.1"))
                .unwrap()
                .into_iter()
                .map(|i| i.vni)
                .collect()
        };
        for rt in ["64513:110", "4200000001:110", "10.1.1.1:110"] {
            assert_eq!(vnis(rt), [110], "{rt}");
        }
        assert_eq!(vnis("64514:120"), [120]);
        assert!(vnis("64513:120").is_empty());
        assert!(vnis("64513:111").is_empty());
        // A non-zero Ethernet Tag is accepted (FRR ignores it).
        let (mut r, a) = remote("100.65.0.1", 110, "64513:110");
        r.eth_tag = 110;
        assert_eq!(import(&c, &r, &a, ip("100.65.0.1")).unwrap().len(), 1);
    }

    #[test]
    fn vtep_comes_from_the_tunnel_id_then_the_next_hop() {
        let c = cfg();
        // Tunnel id and next hop differ: the tunnel id wins.
        let (r, a) = remote("100.65.0.7", 110, "64513:110");
        let got = import(&c, &r, &a, ip("10.0.0.1")).unwrap();
        assert_eq!(got.first().map(|i| i.vtep), Some(ip("100.65.0.7")));
        // A tunnel id that is not an address (5-octet attribute): the next hop.
        let (r, mut a) = remote("100.65.0.7", 110, "64513:110");
        if let Some(p) = a.pmsi_tunnel.as_mut() {
            p.tunnel_id.clear();
        }
        let got = import(&c, &r, &a, ip("100.65.0.1")).unwrap();
        assert_eq!(got.first().map(|i| i.vtep), Some(ip("100.65.0.1")));
        assert_eq!(import(&c, &r, &a, ip("0.0.0.0")), Err(Ignored::NoVtep));
        // IPv6 VTEP.
        let (r, a) = remote("fd00:65::1", 110, "64513:110");
        let got = import(&c, &r, &a, ip("fd00:65::1")).unwrap();
        assert_eq!(got.first().map(|i| i.vtep), Some(ip("fd00:65::1")));
    }

    #[test]
    fn pmsi_encapsulation_and_own_vtep_rules() {
        let c = cfg();
        let (r, mut a) = remote("100.65.0.1", 110, "64513:110");
        let pmsi = a.pmsi_tunnel.take();
        assert_eq!(
            import(&c, &r, &a, ip("100.65.0.1")),
            Err(Ignored::NotIngressReplication(None))
        );
        a.pmsi_tunnel = pmsi.map(|p| PmsiTunnel {
            tunnel_type: 3,
            ..p
        });
        assert_eq!(
            import(&c, &r, &a, ip("100.65.0.1")),
            Err(Ignored::NotIngressReplication(Some(3)))
        );
        // MPLS only.
        let (r, mut a) = remote("100.65.0.1", 110, "64513:110");
        a.ext_communities = vec![
            ExtCommunity::route_target_as2(64513, 110),
            ExtCommunity::Encapsulation(10),
        ];
        assert_eq!(
            import(&c, &r, &a, ip("100.65.0.1")),
            Err(Ignored::NotVxlan(10))
        );
        // No encapsulation community: VXLAN assumed.
        a.ext_communities.pop();
        assert!(import(&c, &r, &a, ip("100.65.0.1")).is_ok());
        // Our own route reflected back.
        let e = export(&c, &c.l2vnis[0]);
        let EvpnRoute::InclusiveMulticast(own) = &e.route else {
            panic!("not type 3")
        };
        assert_eq!(import(&c, own, &e.attrs, c.vtep.ip), Err(Ignored::OwnVtep));
        // Our originator with someone else's tunnel id is still ours.
        let (mut r, a) = remote("100.65.0.1", 110, "64513:110");
        r.originator = c.vtep.ip;
        assert_eq!(import(&c, &r, &a, ip("100.65.0.1")), Err(Ignored::OwnVtep));
    }

    #[test]
    fn dataplane_flood_entries() {
        let c = cfg();
        let imp = |vni, vtep: &str| ImportedImet {
            vni,
            vtep: ip(vtep),
        };
        let d = dataplane(
            &c,
            &[
                imp(110, "100.65.0.1"),
                imp(110, "100.65.0.3"),
                imp(110, "100.65.0.1"),
                imp(120, "100.65.0.1"),
                imp(120, "fd00:65::1"),
                // Unknown VNI, our own VTEP: skipped.
                imp(130, "100.65.0.1"),
                imp(110, "100.65.0.2"),
            ],
        );
        let mut want = DesiredState::new();
        want.add_fdb(Fdb::flood("vni110", ip("100.65.0.1")));
        want.add_fdb(Fdb::flood("vni110", ip("100.65.0.3")));
        want.add_fdb(Fdb::flood("vni120", ip("100.65.0.1")));
        want.add_fdb(Fdb::flood("vni120", ip("fd00:65::1")));
        assert_eq!(d, want);
        assert!(d.fdb.values().all(Fdb::is_flood));
        assert_eq!(dataplane(&c, &[]), DesiredState::new());
    }
}
