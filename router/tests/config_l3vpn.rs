//! L3VPN (SRv6 VPN) configuration: `srv6` and `l3vpns` in OpenPERouter's terms (reference
//! §1.2, §1.7, §1.11), the VRF host sessions they make, what the node originates for them,
//! the L3VPN view (RDs, RTs, per-VRF SIDs kept across reloads) and the kernel objects of the
//! VPN imports (`overlay::import_objects`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};

use bgp::wire::{AdminValue, Family};
use dataplane::layout::Namespaces;
use dataplane::{Encap, Seg6LocalAction};
use evpn::rt::RtMatch;
use ipnet::{IpNet, Ipv6Net};
use router::config::{
    node_locator, parse, Config, ConfigError, FieldError, NeighborTarget, RemoteAs,
};
use router::overlay::{import_objects, node_layout, vpn_view, FabricImports};

const BASE: &str = "routerID: 10.0.0.2\nasn: 64514\nnodeIndex: 1\n";

const SRV6: &str = "\
tunnelEndpoint: { cidrs: [100.65.0.0/24, 'fd00:65::/64'] }
srv6: { locator: { basePrefix: 'fd00:0:32::/48', format: usid-f3216 } }
";

const FULL: &str = "\
neighbors:
  - { address: 'fd00:1::1', asn: 64512, addressFamilies: [{ type: ipv4vpn }, { type: ipv6vpn }] }
  - { address: 'fd00:2::1', asn: 64512, updateSource: 'fd00:2::2', addressFamilies: [{ type: ipv6vpn }] }
  - { address: 192.168.11.2, asn: 64512 }
l3vnis:
  - { vrf: red, vni: 100 }
l3vpns:
  - vrf: blue
    rdAssignedNumber: 200
    importRTs: ['64512:200']
    hostSession: { asn: 64514, hostASN: 64516, localCIDR: { ipv4: 192.169.20.0/24, ipv6: '2001:db8:20::/64' } }
  - vrf: green
    rdAssignedNumber: 300
    exportRTs: ['64514:301', '10.0.0.2:7']
    importRTs: ['64512:300', '64512:301']
";

fn ok(text: &str) -> Config {
    parse(text).unwrap_or_else(|e| panic!("expected valid config, got:\n{e}\n--- text:\n{text}"))
}

fn errors(text: &str) -> Vec<FieldError> {
    match parse(text) {
        Ok(c) => panic!("expected an error, got {c:?}\n--- text:\n{text}"),
        Err(ConfigError::Invalid(errors)) => errors,
        Err(other) => panic!("expected validation errors, got: {other}\n--- text:\n{text}"),
    }
}

/// `text` (after BASE) is refused with an error on `field` containing `part`.
fn refused(text: &str, field: &str, part: &str) {
    let errs = errors(&format!("{BASE}{text}"));
    assert!(
        errs.iter()
            .any(|e| e.field == field && e.message.contains(part)),
        "expected an error on {field} containing {part:?}, got: {errs:#?}"
    );
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn l3vpns_and_the_node_locator_are_read() {
    let c = ok(&format!("{BASE}{SRV6}{FULL}"));
    let srv6 = c.overlay.srv6.unwrap();
    // Reference §2.2: fd00:0:32::/48 advanced once for node 1.
    assert_eq!(srv6.locator.to_string(), "fd00:0:33::/48");
    assert_eq!(c.overlay.l3vpns.len(), 2);
    let blue = &c.overlay.l3vpns[0];
    assert_eq!(blue.vrf, "blue");
    assert_eq!(blue.rd_assigned_number, 200);
    assert!(blue.export_rts.is_empty(), "default export RT is automatic");
    assert_eq!(
        blue.import_rts,
        [RtMatch::Exact(AdminValue::As2 {
            asn: 64512,
            value: 200
        })]
    );
    let green = &c.overlay.l3vpns[1];
    assert_eq!(green.export_rts.len(), 2);
    assert_eq!(green.import_rts.len(), 2);
    assert!(green.host_session.is_none());
    assert_eq!(c.overlay.vrf_names(), ["red", "blue", "green"]);

    // The L3VPN host session: one neighbour per family in VRF blue, with the session's AS.
    let hosts: Vec<_> = c
        .neighbors
        .iter()
        .filter(|n| n.vrf.as_deref() == Some("blue"))
        .collect();
    assert_eq!(hosts.len(), 2, "{hosts:#?}");
    assert_eq!(
        hosts[0].target,
        NeighborTarget::Address("192.169.20.3".parse().unwrap())
    );
    assert_eq!(hosts[0].families, [Family::Ipv4Unicast]);
    assert_eq!(hosts[0].remote_as, RemoteAs::Asn(64516));
    assert_eq!(hosts[0].local_as, 64514);
    assert_eq!(hosts[1].families, [Family::Ipv6Unicast]);
    assert_eq!(
        c.vrf_networks("blue"),
        [net("192.169.20.3/32"), net("2001:db8:20::3/128")]
    );
    assert!(c.vrf_networks("green").is_empty());

    // FRR's `update-source <v6 VTEP>` on SRv6 VPN neighbours, unless set.
    let by = |a: &str| {
        c.neighbors
            .iter()
            .find(|n| n.target == NeighborTarget::Address(a.parse().unwrap()))
            .unwrap()
    };
    let vtep6: IpAddr = "fd00:65::1".parse().unwrap();
    assert_eq!(by("fd00:1::1").update_source, Some(vtep6));
    assert_eq!(
        by("fd00:2::1").update_source,
        Some("fd00:2::2".parse().unwrap())
    );
    assert_eq!(by("192.168.11.2").update_source, None);

    // OpenPERouter's default families: IPv6 neighbours get both VPN families when L3VPNs
    // exist (and then the VTEP as update source); IPv4 ones do not.
    let d = ok(&format!(
        "{BASE}{SRV6}neighbors:\n  - {{ address: 'fd00:3::1', asn: 64512 }}\n  \
         - {{ address: 192.168.12.2, asn: 64512 }}\n\
         l3vpns: [{{ vrf: blue, rdAssignedNumber: 200, importRTs: ['1:1'] }}]\n"
    ));
    assert_eq!(
        d.neighbors[0].families,
        [Family::Ipv6Unicast, Family::Ipv4Vpn, Family::Ipv6Vpn]
    );
    assert_eq!(d.neighbors[0].update_source, Some(vtep6));
    assert_eq!(d.neighbors[1].families, [Family::Ipv4Unicast]);
    let no_vpn = ok(&format!(
        "{BASE}{SRV6}neighbors:\n  - {{ address: 'fd00:3::1', asn: 64512 }}\n"
    ));
    assert_eq!(no_vpn.neighbors[0].families, [Family::Ipv6Unicast]);
    assert_eq!(no_vpn.neighbors[0].update_source, None);

    // Originated in the default instance: both VTEPs and the locator (instead of IS-IS).
    let orig = c.originated();
    assert!(orig.contains(&net("fd00:0:33::/48")), "{orig:?}");
    assert!(orig.contains(&net("fd00:65::1/128")), "{orig:?}");
    assert!(orig.contains(&net("100.65.0.1/32")), "{orig:?}");
}

#[test]
fn the_locator_moves_one_48_per_node() {
    let base: Ipv6Net = "fd00:0:32::/48".parse().unwrap();
    assert_eq!(node_locator(base, 0).unwrap().to_string(), "fd00:0:32::/48");
    assert_eq!(node_locator(base, 5).unwrap().to_string(), "fd00:0:37::/48");
    // A shorter base prefix is taken at /48 from its network address.
    let short: Ipv6Net = "fd00:0:30::/44".parse().unwrap();
    assert_eq!(
        node_locator(short, 3).unwrap().to_string(),
        "fd00:0:33::/48"
    );
    let top: Ipv6Net = "ffff:ffff:ffff::/48".parse().unwrap();
    assert!(node_locator(top, 1).is_none());
    // Without an srv6 section, no locator is originated.
    let c = ok(&format!(
        "{BASE}tunnelEndpoint: {{ cidrs: ['fd00:65::/64'] }}\nl3vnis: [{{ vrf: red, vni: 100 }}]\n"
    ));
    assert!(c.overlay.srv6.is_none());
    assert_eq!(c.originated(), [net("fd00:65::1/128")]);
}

#[test]
fn l3vpn_rules_are_enforced_with_field_paths() {
    let one = "l3vpns: [{ vrf: blue, rdAssignedNumber: 200, importRTs: ['64512:200'] }]\n";
    refused(one, "srv6", "is required when L3VPNs");
    refused(
        &format!(
            "tunnelEndpoint: {{ cidrs: [100.65.0.0/24] }}\n\
             srv6: {{ locator: {{ basePrefix: 'fd00:0:32::/48', format: usid-f3216 }} }}\n{one}"
        ),
        "tunnelEndpoint.cidrs",
        "needs an IPv6 CIDR",
    );
    refused(
        &format!("{SRV6}l3vpns: [{{ vrf: blue, rdAssignedNumber: 200 }}]\n"),
        "l3vpns[0].importRTs",
        "at least one",
    );
    refused(
        &format!("{SRV6}l3vpns: [{{ vrf: blue, rdAssignedNumber: 200, importRTs: ['*:200'] }}]\n"),
        "l3vpns[0].importRTs[0]",
        "",
    );
    refused(
        &format!("{SRV6}l3vpns: [{{ vrf: blue, importRTs: ['1:1'] }}]\n"),
        "l3vpns[0].rdAssignedNumber",
        "",
    );
    refused(
        &format!("{SRV6}l3vpns: [{{ vrf: blue, rdAssignedNumber: 70000, importRTs: ['1:1'] }}]\n"),
        "l3vpns[0].rdAssignedNumber",
        "",
    );
    refused(
        &format!(
            "{SRV6}l3vpns:\n  - {{ vrf: blue, rdAssignedNumber: 200, importRTs: ['1:1'] }}\n  \
             - {{ vrf: blue, rdAssignedNumber: 201, importRTs: ['1:1'] }}\n"
        ),
        "l3vpns[1].vrf",
        "configured twice",
    );
    // PR #608: L3VNIs and L3VPNs coexist in different VRFs only.
    refused(
        &format!(
            "{SRV6}l3vnis: [{{ vrf: blue, vni: 100 }}]\n\
             l3vpns: [{{ vrf: blue, rdAssignedNumber: 200, importRTs: ['1:1'] }}]\n"
        ),
        "l3vpns[0].vrf",
        "L3VNI's VRF",
    );
    // rdAssignedNumber shares the VNI number space.
    refused(
        &format!(
            "{SRV6}l3vnis: [{{ vrf: red, vni: 200 }}]\n\
             l3vpns: [{{ vrf: blue, rdAssignedNumber: 200, importRTs: ['1:1'] }}]\n"
        ),
        "l3vpns[0].rdAssignedNumber",
        "VNI 200 is already used by l3vnis[0].vni",
    );
    refused(
        &format!(
            "{SRV6}l3vpns: [{{ vrf: blue, rdAssignedNumber: 200, importRTs: ['1:1'], \
             hostSession: {{ asn: 64516, hostASN: 64516, localCIDR: {{ ipv4: 192.169.20.0/24 }} }} }}]\n"
        ),
        "l3vpns[0].hostSession.hostASN",
        "must differ",
    );
    refused(
        "tunnelEndpoint: { cidrs: ['fd00:65::/64'] }\n\
         srv6: { locator: { basePrefix: 'fd00:0:32::/56', format: usid-f3216 } }\n",
        "srv6.locator.basePrefix",
        "longer than /48",
    );
    refused(
        "tunnelEndpoint: { cidrs: ['fd00:65::/64'] }\n\
         srv6: { locator: { basePrefix: 10.0.0.0/8, format: usid-f3216 } }\n",
        "srv6.locator.basePrefix",
        "not an IPv6 prefix",
    );
    refused(
        "tunnelEndpoint: { cidrs: ['fd00:65::/64'] }\n\
         srv6: { locator: { basePrefix: 'fd00:0:32::/48', format: f4024 } }\n",
        "srv6.locator.format",
        "not a supported format",
    );
    refused(
        "tunnelEndpoint: { cidrs: ['fd00:65::/64'] }\n\
         srv6: { encapBehavior: H.Encaps.Red, locator: { basePrefix: 'fd00:0:32::/48', format: usid-f3216 } }\n",
        "srv6.encapBehavior",
        "not supported",
    );
    refused(
        "srv6: { locator: { basePrefix: 'fd00:0:32::/48', format: usid-f3216 } }\n",
        "tunnelEndpoint.cidrs",
        "needs an IPv6 CIDR",
    );
    // An L2VNI in an L3VPN routing domain stays refused.
    refused(
        &format!(
            "{SRV6}l3vpns: [{{ vrf: blue, rdAssignedNumber: 200, importRTs: ['1:1'] }}]\n\
             l2vnis: [{{ vni: 110, routingDomain: {{ type: L3VPN, l3vpn: {{ name: blue }} }} }}]\n"
        ),
        "l2vnis[0].routingDomain.type",
        "not supported",
    );
    // The host-session address must be unique on the node.
    refused(
        &format!(
            "{SRV6}neighbors: [{{ address: 192.169.20.3, asn: 64516 }}]\n\
             l3vpns: [{{ vrf: blue, rdAssignedNumber: 200, importRTs: ['1:1'], \
             hostSession: {{ asn: 64514, hostASN: 64516, localCIDR: {{ ipv4: 192.169.20.0/24 }} }} }}]\n"
        ),
        "l3vpns[vrf=blue].hostSession",
        "192.169.20.3",
    );
}

#[test]
fn the_vpn_view_keeps_sids_across_reloads() {
    let c = ok(&format!("{BASE}{SRV6}{FULL}"));
    let v = vpn_view(&c, &BTreeMap::new()).unwrap().unwrap();
    assert_eq!(v.next_hop, "fd00:65::1".parse::<Ipv6Addr>().unwrap());
    let blue = v.vpn("blue").unwrap();
    assert_eq!(blue.rd.to_string(), "10.0.0.2:200");
    assert_eq!(
        blue.export_rts,
        [AdminValue::As2 {
            asn: 64514,
            value: 200
        }]
    );
    // FRR's first dynamic uSID function, in VRF name order: blue, then green.
    assert_eq!(blue.sid, "fd00:0:33:e000::".parse::<Ipv6Addr>().unwrap());
    assert_eq!(
        v.vpn("green").unwrap().sid,
        "fd00:0:33:e001::".parse::<Ipv6Addr>().unwrap()
    );
    assert!(v.vpn("red").is_none(), "an L3VNI is not a VPN");

    // A VRF sorting first arrives: with the functions fed back, nobody's SID moves.
    let more = format!(
        "{BASE}{SRV6}{FULL}  - {{ vrf: aaa, rdAssignedNumber: 400, importRTs: ['64512:400'] }}\n"
    );
    let c2 = ok(&more);
    let v2 = vpn_view(&c2, &v.functions()).unwrap().unwrap();
    assert_eq!(v2.vpn("blue").unwrap().sid, blue.sid);
    assert_eq!(v2.vpn("green").unwrap().sid, v.vpn("green").unwrap().sid);
    assert_eq!(
        v2.vpn("aaa").unwrap().sid,
        "fd00:0:33:e002::".parse::<Ipv6Addr>().unwrap()
    );
    // Without them, allocation is by name and blue would move.
    let fresh = vpn_view(&c2, &BTreeMap::new()).unwrap().unwrap();
    assert_ne!(fresh.vpn("blue").unwrap().sid, blue.sid);

    // No L3VPNs, no view.
    let plain = ok(&format!("{BASE}{SRV6}"));
    assert!(vpn_view(&plain, &BTreeMap::new()).unwrap().is_none());
}

#[test]
fn l3vpn_kernel_objects_are_sid_routes_and_h_encaps_routes() {
    let c = ok(&format!("{BASE}{SRV6}{FULL}"));
    let in_use = BTreeMap::from([("red".to_owned(), 1)]);
    let layout = node_layout(&c, &in_use, &Namespaces::default(), Some(1500)).unwrap();
    let blue_table = layout.tables["blue"];
    let green_table = layout.tables["green"];
    assert!(blue_table > 1 && green_table > 1 && blue_table != green_table);
    let r = &layout.fragment.router;
    assert!(r.links.contains_key("pe-s-200"), "blue's host leg");
    assert!(
        !r.links.contains_key("pe-s-300"),
        "green has no host session"
    );
    assert_eq!(r.links["pe-s-200"].master.as_deref(), Some("blue"));
    assert_eq!(r.sysctls["net/ipv6/conf/all/seg6_enabled"], "1");
    assert_eq!(layout.host_legs["blue"], "pe-s-200");

    let vpn = vpn_view(&c, &BTreeMap::new()).unwrap().unwrap();
    let remote: Ipv6Addr = "fd00:0:40:e005::".parse().unwrap();
    let imported = evpn::l3vpn::Imported {
        vrf: "blue".into(),
        prefix: net("10.70.0.0/24"),
        rd: evpn::rt::rd_type1("10.0.0.9".parse().unwrap(), 200),
        next_hop: "fd00:65::9".parse().unwrap(),
        sid: remote,
        behavior: evpn::l3vpn::behavior::END_DT46_USID,
    };
    let imports = FabricImports {
        vpn: Some(vpn.clone()),
        l3vpn: vec![imported],
        vrf_unicast: BTreeMap::from([(
            "blue".to_owned(),
            BTreeMap::from([(
                net("10.50.0.0/24"),
                vec!["192.169.20.3".parse::<IpAddr>().unwrap()],
            )]),
        )]),
        ..FabricImports::default()
    };
    let objects = import_objects(&layout, &imports);
    let routes: Vec<_> = objects.routes.values().collect();
    // Our SIDs: End.DT46 into each VRF's table, in main via the VRF device.
    for (vrf, table) in [("blue", blue_table), ("green", green_table)] {
        let sid = vpn.vpn(vrf).unwrap().sid;
        let route = routes
            .iter()
            .find(|r| r.dst == IpNet::V6(Ipv6Net::from(sid)))
            .unwrap_or_else(|| panic!("no local SID route for {vrf}: {routes:#?}"));
        assert_eq!(route.table, 254);
        assert_eq!(
            route.encap,
            Some(Encap::Seg6Local(Seg6LocalAction::EndDt46 {
                vrf_table: table
            }))
        );
    }
    // The imported prefix: H.Encaps to the remote SID in blue's table.
    let encap = routes
        .iter()
        .find(|r| r.dst == net("10.70.0.0/24"))
        .unwrap();
    assert_eq!(encap.table, blue_table);
    assert_eq!(
        encap.encap,
        Some(Encap::Seg6 {
            segments: vec![remote]
        })
    );
    // A host route of the L3VPN's session goes via pe-s-200 in blue's table.
    let host = routes
        .iter()
        .find(|r| r.dst == net("10.50.0.0/24"))
        .unwrap();
    assert_eq!(host.table, blue_table);
    assert_eq!(
        host.next_hops[0].dev.as_deref(),
        Some("pe-s-200"),
        "{host:?}"
    );
    assert_eq!(routes.len(), 4, "{routes:#?}");

    // The imports compare unequal when only the VPN imports change (the kernel task must
    // hear about it).
    let mut other = imports.clone();
    other.l3vpn.clear();
    assert!(other != imports);
}
