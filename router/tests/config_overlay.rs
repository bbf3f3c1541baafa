//! The overlay part of perouterd's configuration (issue 5): `tunnelEndpoint`, `evpn`,
//! `l3vnis`, `l2vnis` in OpenPERouter's terms; every rule refuses with the field and the value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use bgp::wire::AdminValue;
use evpn::rt::{RtMatch, RtStyle};
use router::config::{parse, Config, ConfigError, FieldError, HostMasterConfig, RemoteAs};

const BASE: &str = "routerID: 10.0.0.2\nasn: 64514\nnodeIndex: 1\n";

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

/// `text` (after BASE) is refused with exactly one error on `field` containing `part`.
fn refused(text: &str, field: &str, part: &str) {
    let errs = errors(&format!("{BASE}{text}"));
    assert_eq!(
        errs.len(),
        1,
        "expected one error on {field}, got: {errs:#?}"
    );
    assert_eq!(errs[0].field, field, "{:?}", errs[0]);
    assert!(
        errs[0].message.contains(part),
        "{:?} does not contain {part:?}",
        errs[0]
    );
}

const FULL: &str = "\
tunnelEndpoint: { cidrs: [100.65.0.0/24, 'fd00:65::/64'] }
evpn: { routeTargetStyle: rfc8365 }
l3vnis:
  - vrf: red
    vni: 100
    hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.10.0/24, ipv6: '2001:db8:1::/64' } }
    exportRTs: ['64514:100', '4200000001:7', '10.0.0.2:9']
    importRTs: ['*:100', '64512:100']
  - vrf: green
    vni: 200
    underlayAddressFamily: IPv6
    vxlanPort: 4790
l2vnis:
  - vni: 110
    routingDomain: { type: L3VNI, l3vni: { name: red } }
    hostMaster: { type: LinuxBridge, linuxBridge: { lifecycle: Managed } }
    gatewayIPs: [192.171.24.1/24, '2001:db8:24::1/64']
  - vni: 120
    hostMaster: { type: LinuxBridge, linuxBridge: { lifecycle: External, name: br-ext } }
";

#[test]
fn a_full_overlay_is_read_with_defaults_resolved() {
    let c = ok(&format!("{BASE}{FULL}"));
    let o = &c.overlay;
    assert_eq!(o.rt_style, RtStyle::Rfc8365);
    assert_eq!(
        o.tunnel_endpoint.vtep(false, c.node_index),
        Some("100.65.0.1".parse::<IpAddr>().unwrap())
    );
    assert_eq!(
        o.tunnel_endpoint.vtep(true, c.node_index),
        Some("fd00:65::1".parse::<IpAddr>().unwrap())
    );
    let red = &o.l3vnis[0];
    assert_eq!(
        (red.vrf.as_str(), red.vni, red.vxlan_port, red.vtep_v6),
        ("red", 100, 4789, false)
    );
    let hs = red.host_session.as_ref().unwrap();
    assert_eq!((hs.asn, hs.host_as), (64514, RemoteAs::Asn(64515)));
    assert_eq!(
        red.export_rts,
        [
            AdminValue::As2 {
                asn: 64514,
                value: 100
            },
            AdminValue::As4 {
                asn: 4_200_000_001,
                value: 7
            },
            AdminValue::Ipv4 {
                addr: "10.0.0.2".parse().unwrap(),
                value: 9
            },
        ]
    );
    assert_eq!(
        red.import_rts,
        [
            RtMatch::AnyAdmin(100),
            RtMatch::Exact(AdminValue::As2 {
                asn: 64512,
                value: 100
            })
        ]
    );
    let green = &o.l3vnis[1];
    assert_eq!(
        (green.vni, green.vxlan_port, green.vtep_v6),
        (200, 4790, true)
    );
    assert!(green.host_session.is_none() && green.export_rts.is_empty());
    let l2 = &o.l2vnis[0];
    assert_eq!(l2.routing_domain.as_deref(), Some("red"));
    assert_eq!(l2.host_master, HostMasterConfig::LinuxBridgeManaged);
    assert_eq!(l2.gateway_ips.len(), 2);
    assert_eq!(
        o.l2vnis[1].host_master,
        HostMasterConfig::LinuxBridgeExternal("br-ext".into())
    );
    // Without any overlay key there is no overlay.
    let plain = ok(BASE);
    assert!(plain.overlay.l3vnis.is_empty() && plain.overlay.l2vnis.is_empty());
    assert_eq!(plain.overlay.rt_style, RtStyle::Frr);
}

#[test]
fn the_vtep_family_defaults_to_ipv4_else_ipv6() {
    let v6only = ok(&format!(
        "{BASE}tunnelEndpoint: {{ cidrs: ['fd00:65::/64'] }}\nl3vnis: [{{ vrf: red, vni: 100 }}]\n"
    ));
    assert!(v6only.overlay.l3vnis[0].vtep_v6);
    refused(
        "tunnelEndpoint: { cidrs: [100.65.0.0/24] }\nl3vnis: [{ vrf: red, vni: 100, underlayAddressFamily: IPv6 }]\n",
        "l3vnis[0].underlayAddressFamily",
        "IPv6 CIDR",
    );
}

#[test]
fn overlay_rules_name_the_field() {
    let te = "tunnelEndpoint: { cidrs: [100.65.0.0/24] }\n";
    refused(
        "l3vnis: [{ vrf: red, vni: 100 }]\n",
        "tunnelEndpoint",
        "is required when L3VNIs or L2VNIs",
    );
    refused(
        &format!("{te}l3vnis: [{{ vrf: 1red, vni: 100 }}]\n"),
        "l3vnis[0].vrf",
        "^[a-zA-Z]",
    );
    refused(
        &format!("{te}l3vnis: [{{ vrf: averyveryverylongname, vni: 100 }}]\n"),
        "l3vnis[0].vrf",
        "15 bytes",
    );
    refused(
        &format!("{te}l3vnis: [{{ vrf: red, vni: 16777216 }}]\n"),
        "l3vnis[0].vni",
        "out of range",
    );
    refused(
        &format!("{te}l3vnis: [{{ vrf: red, vni: 100 }}]\nl2vnis: [{{ vni: 100 }}]\n"),
        "l2vnis[0].vni",
        "already used by l3vnis[0].vni",
    );
    refused(
        &format!("{te}l3vnis: [{{ vrf: red, vni: 100 }}, {{ vrf: red, vni: 101 }}]\n"),
        "l3vnis[1].vrf",
        "twice",
    );
    refused(
        &format!("{te}l3vnis: [{{ vrf: red, vni: 100, exportRTs: ['4200000001:70000'] }}]\n"),
        "l3vnis[0].exportRTs[0]",
        "16 bits",
    );
    refused(
        &format!("{te}l3vnis: [{{ vrf: red, vni: 100, importRTs: ['*:x'] }}]\n"),
        "l3vnis[0].importRTs[0]",
        "after *:",
    );
    refused(
        &format!("{te}l3vnis: [{{ vrf: red, vni: 100, hostSession: {{ asn: 64514, hostASN: 64514, localCIDR: {{ ipv4: 192.169.10.0/24 }} }} }}]\n"),
        "l3vnis[0].hostSession.hostASN",
        "must differ",
    );
    refused(
        &format!("{te}l2vnis: [{{ vni: 110, routingDomain: {{ type: L3VNI, l3vni: {{ name: blue }} }} }}]\n"),
        "l2vnis[0].routingDomain.l3vni.name",
        "no L3VNI has vrf \"blue\"",
    );
    refused(
        &format!("{te}l2vnis: [{{ vni: 110, gatewayIPs: [192.171.24.1/24] }}]\n"),
        "l2vnis[0].gatewayIPs",
        "require a routingDomain",
    );
    refused(
        &format!("{te}l2vnis: [{{ vni: 110, hostMaster: {{ type: OVSBridge, ovsBridge: {{ lifecycle: Managed }} }} }}]\n"),
        "l2vnis[0].hostMaster.type",
        "OVSBridge is not supported",
    );
    refused(
        "tunnelEndpoint: { cidrs: [100.65.0.0/24, 100.66.0.0/24] }\n",
        "tunnelEndpoint.cidrs[1]",
        "at most one IPv4",
    );
    refused(
        "evpn: { routeTargetStyle: junos }\n",
        "evpn.routeTargetStyle",
        "frr, rfc8365, as4",
    );
}

#[test]
fn the_vteps_are_originated_when_a_vni_exists() {
    let te = "tunnelEndpoint: { cidrs: [100.65.0.0/24, 'fd00:65::/64'] }\n";
    let with = ok(&format!("{BASE}{te}l2vnis: [{{ vni: 110 }}]\n"));
    let o: Vec<String> = with.originated().iter().map(ToString::to_string).collect();
    assert_eq!(o, ["100.65.0.1/32", "fd00:65::1/128"]);
    // A tunnel endpoint alone (no VNI) originates nothing.
    assert!(ok(&format!("{BASE}{te}")).originated().is_empty());
}
