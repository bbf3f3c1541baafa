//! perouterd's configuration: the examples load, defaults resolve as documented, every rule
//! refuses with a message naming the field and the value, and reload identity is as documented.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use bgp::wire::Family;
use router::config::{
    load, parse, Bfd, Config, ConfigError, FieldError, GracefulRestart, MaxPrefix, Neighbor,
    NeighborKey, NeighborTarget, NextHopSelf, RemoteAs,
};

const BASE: &str = "routerID: 10.0.0.1\nasn: 64514\n";

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn example(name: &str) -> Config {
    let path = examples_dir().join(name);
    load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A config with the base keys and one neighbour given as flow-mapping fields.
fn one(fields: &str) -> String {
    format!("{BASE}neighbors:\n  - {{ {fields} }}\n")
}

fn ok(text: &str) -> Config {
    parse(text).unwrap_or_else(|e| panic!("expected valid config, got:\n{e}\n--- text:\n{text}"))
}

fn neighbor(fields: &str) -> Neighbor {
    ok(&one(fields)).neighbors.into_iter().next().unwrap()
}

fn invalid(text: &str) -> Vec<FieldError> {
    match parse(text) {
        Ok(c) => panic!("expected an error, got {c:?}\n--- text:\n{text}"),
        Err(ConfigError::Invalid(errors)) => errors,
        Err(other) => panic!("expected validation errors, got: {other}\n--- text:\n{text}"),
    }
}

/// Asserts that `text` is refused with exactly one error, on `field`, whose message contains
/// every one of `parts`.
fn refused(text: &str, field: &str, parts: &[&str]) {
    let errors = invalid(text);
    assert_eq!(
        errors.len(),
        1,
        "expected one error on {field}, got: {errors:#?}"
    );
    let e = &errors[0];
    assert_eq!(e.field, field, "{e}");
    for p in parts {
        assert!(e.message.contains(p), "{e:?} does not contain {p:?}");
    }
}

fn syntax_error(text: &str) -> String {
    match parse(text) {
        Err(e @ ConfigError::Syntax { .. }) => e.to_string(),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

#[test]
fn every_example_loads() {
    let mut seen = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 5, "only {seen} examples found");
}

#[test]
fn example_tor_ebgp() {
    let c = example("tor-ebgp.yaml");
    assert_eq!(c.router_id, Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(c.asn, 64514);
    let n = &c.neighbors[0];
    assert_eq!(n.remote_as, RemoteAs::Asn(64512));
    assert!(n.is_external());
    // IPv4 neighbour: ipv4 unicast; the passthrough's IPv6 localCIDR adds ipv6 unicast.
    assert_eq!(n.families, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert_eq!(n.allowas_in, Some(3));
    assert_eq!(n.next_hop_self, NextHopSelf::Off);
    assert_eq!(n.bfd, Some(Bfd::default()));
    let p = c.passthrough.unwrap();
    assert_eq!(p.host_as, RemoteAs::Asn(64515));
    assert_eq!(p.local_cidr_v4, Some("192.169.10.0/24".parse().unwrap()));
    assert_eq!(p.local_cidr_v6, Some("2001:db8:1::/64".parse().unwrap()));
}

#[test]
fn example_unnumbered() {
    let c = example("unnumbered.yaml");
    assert_eq!(
        c.graceful_restart,
        Some(GracefulRestart {
            restart_time: 120,
            stale_path_time: 360
        })
    );
    assert_eq!(c.neighbors.len(), 2);
    for n in &c.neighbors {
        assert!(matches!(n.target, NeighborTarget::Interface(_)));
        assert_eq!(n.remote_as, RemoteAs::External);
        assert_eq!(n.connect_time, 5, "GR on: connect retry 5 s");
        assert_eq!(n.families, vec![Family::Ipv4Unicast, Family::L2vpnEvpn]);
        assert_eq!(n.bfd.as_ref().unwrap().receive_interval_ms, 100);
        assert_eq!(n.bfd.as_ref().unwrap().detect_multiplier, 3);
    }
}

#[test]
fn example_listen_range() {
    let c = example("listen-range.yaml");
    assert_eq!(c.listen_limit, 200);
    let ranges: Vec<&Neighbor> = c
        .neighbors
        .iter()
        .filter(|n| matches!(n.target, NeighborTarget::ListenRange(_)))
        .collect();
    assert_eq!(ranges.len(), 2);
    assert!(ranges.iter().all(|n| n.passive));
    assert_eq!(ranges[1].families, vec![Family::Ipv6Unicast]);
    assert_eq!(
        ranges[0].max_prefix,
        Some(MaxPrefix {
            limit: 1000,
            warning_only: true,
            restart: None
        })
    );
    assert_eq!((ranges[0].hold_time, ranges[0].keepalive), (90, 30));
}

#[test]
fn example_ibgp_rr() {
    let c = example("ibgp-rr.yaml");
    assert_eq!(c.cluster_id, Some(Ipv4Addr::new(192, 0, 2, 1)));
    let clients = &c.neighbors[0];
    assert!(clients.route_reflector_client);
    assert!(!clients.is_external());
    assert_eq!(clients.next_hop_self, NextHopSelf::Force);
    assert_eq!(clients.allowas_in, None);
    assert_eq!(
        clients.families,
        vec![Family::Ipv4Unicast, Family::L2vpnEvpn]
    );
    let peer = &c.neighbors[1];
    assert!(!peer.route_reflector_client);
    assert!(!peer.is_external(), "asn equal to ours is iBGP");
}

#[test]
fn example_full_sets_every_key() {
    let c = example("full.yaml");
    assert_eq!(c.listen_limit, 1000);
    assert_eq!(
        c.graceful_restart,
        Some(GracefulRestart {
            restart_time: 90,
            stale_path_time: 300
        })
    );
    let n = &c.neighbors[0];
    assert_eq!(n.password.as_deref(), Some("secret"));
    assert_eq!((n.hold_time, n.keepalive, n.connect_time), (9, 3, 10));
    assert_eq!(n.ebgp_multihop, Some(4));
    assert_eq!(n.update_source, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(n.next_hop_self, NextHopSelf::Off);
    assert_eq!(n.allowas_in, Some(2));
    assert_eq!(
        n.max_prefix,
        Some(MaxPrefix {
            limit: 100_000,
            warning_only: false,
            restart: Some(60)
        })
    );
    assert_eq!(n.bfd.as_ref().unwrap().minimum_ttl, Some(250));
    assert_eq!(n.description.as_deref(), Some("tor1 (multihop)"));
    let v6 = &c.neighbors[1];
    assert_eq!(v6.local_as, 4_200_000_001);
    assert_eq!(v6.ttl_security, Some(1));
    assert_eq!(v6.next_hop_self, NextHopSelf::Force);
    assert!(v6.bfd.as_ref().unwrap().passive);
    assert_eq!(
        v6.families,
        vec![Family::Ipv6Unicast, Family::Ipv4Vpn, Family::Ipv6Vpn]
    );
    assert!(c.neighbors[3].route_reflector_client);
    assert_eq!(c.passthrough.unwrap().host_as, RemoteAs::External);
}

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

#[test]
fn instance_defaults() {
    let c = ok(BASE);
    assert_eq!(c.listen.port, 179);
    assert_eq!(
        c.listen.addresses,
        vec![
            "0.0.0.0".parse::<IpAddr>().unwrap(),
            "::".parse::<IpAddr>().unwrap()
        ]
    );
    assert_eq!(c.listen_limit, 65535);
    assert_eq!(c.graceful_restart, None);
    assert_eq!(c.cluster_id, None);
    assert!(c.neighbors.is_empty());
    assert_eq!(c.passthrough, None);

    let c = ok(&format!(
        "{BASE}gracefulRestart: {{}}\nrouteReflector: {{}}\n"
    ));
    assert_eq!(
        c.graceful_restart,
        Some(GracefulRestart {
            restart_time: 120,
            stale_path_time: 360
        })
    );
    assert_eq!(c.cluster_id, Some(Ipv4Addr::new(192, 0, 2, 1)));

    let c = ok(&format!("{BASE}listen: {{ port: 0 }}\n"));
    assert_eq!(c.listen.port, 0);
    assert_eq!(c.listen.addresses.len(), 2);
}

#[test]
fn ebgp_neighbor_defaults() {
    let n = neighbor("address: 192.168.11.2, asn: 64512");
    assert_eq!(
        n.target,
        NeighborTarget::Address("192.168.11.2".parse().unwrap())
    );
    assert_eq!(n.local_as, 64514);
    assert_eq!(n.port, 179);
    assert_eq!(n.password, None);
    assert_eq!((n.hold_time, n.keepalive), (180, 60));
    assert_eq!(n.connect_time, 120, "FRR's default without GR");
    assert_eq!(n.ebgp_multihop, None);
    assert_eq!(n.ttl_security, None);
    assert_eq!(n.update_source, None);
    assert_eq!(n.families, vec![Family::Ipv4Unicast]);
    assert!(!n.route_reflector_client);
    assert_eq!(n.next_hop_self, NextHopSelf::Off);
    assert_eq!(n.allowas_in, Some(3));
    assert_eq!(n.max_prefix, None);
    assert!(!n.passive);
    assert_eq!(n.bfd, None);
    assert_eq!(n.description, None);
}

#[test]
fn ibgp_neighbor_defaults() {
    for fields in [
        "address: 10.1.0.2, type: Internal",
        "address: 10.1.0.2, asn: 64514",
        "address: 10.1.0.2, asn: 65000, localASN: 65000",
    ] {
        let n = neighbor(fields);
        assert!(!n.is_external(), "{fields}");
        assert_eq!(n.next_hop_self, NextHopSelf::Force, "{fields}");
        assert_eq!(n.allowas_in, None, "{fields}");
    }
    let n = neighbor("address: 10.1.0.2, type: External");
    assert!(n.is_external());
}

#[test]
fn default_families_follow_openperouter() {
    assert_eq!(
        neighbor("address: 2001:db8::2, asn: 1").families,
        vec![Family::Ipv6Unicast]
    );
    assert_eq!(
        neighbor("listenRange: 'fd00::/64', asn: 1").families,
        vec![Family::Ipv6Unicast]
    );
    assert_eq!(
        neighbor("listenRange: 10.9.0.0/16, asn: 1").families,
        vec![Family::Ipv4Unicast]
    );
    assert_eq!(
        neighbor("interface: eth0, type: External").families,
        vec![Family::Ipv4Unicast]
    );
    // The passthrough's localCIDR families are added (L3Passthrough row of the table).
    let text = format!(
        "{}passthrough: {{ hostSession: {{ asn: 64514, hostASN: 64515, localCIDR: {{ ipv4: 192.169.10.0/24 }} }} }}\n",
        one("address: 2001:db8::2, asn: 1")
    );
    assert_eq!(
        ok(&text).neighbors[0].families,
        vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
    );
}

#[test]
fn explicit_families_are_sorted() {
    let n = neighbor(
        "address: 2001:db8::2, type: Internal, addressFamilies: [ {type: ipv6vpn}, {type: ipv6unicast}, {type: ipv4vpn}, {type: ipv4unicast} ]",
    );
    assert_eq!(
        n.families,
        vec![
            Family::Ipv4Unicast,
            Family::Ipv6Unicast,
            Family::Ipv4Vpn,
            Family::Ipv6Vpn
        ]
    );
}

#[test]
fn neighbor_option_defaults() {
    let n = neighbor("address: 10.1.0.2, asn: 1, properties: [ {type: ebgpMultiHop} ]");
    assert_eq!(n.ebgp_multihop, Some(255));
    let n = neighbor("address: 10.1.0.2, asn: 1, bfd: { sessionMode: Passive }");
    assert_eq!(
        n.bfd,
        Some(Bfd {
            receive_interval_ms: 300,
            transmit_interval_ms: 300,
            detect_multiplier: 3,
            passive: true,
            minimum_ttl: None
        })
    );
    let n = neighbor("address: 10.1.0.2, asn: 1, allowasIn: 0");
    assert_eq!(n.allowas_in, None, "0 turns the eBGP default off");
    let n = neighbor("address: 10.1.0.2, asn: 1, nextHopSelf: true");
    assert_eq!(n.next_hop_self, NextHopSelf::On);
    let n = neighbor("address: 10.1.0.2, type: Internal, nextHopSelf: false");
    assert_eq!(n.next_hop_self, NextHopSelf::Off);
    let n = neighbor("address: 10.1.0.2, asn: 1, nextHopSelf: 'force'");
    assert_eq!(n.next_hop_self, NextHopSelf::Force);
    let n = neighbor("address: 10.1.0.2, asn: 1, maxPrefix: { limit: 10, restartSeconds: 0 }");
    assert_eq!(
        n.max_prefix,
        Some(MaxPrefix {
            limit: 10,
            warning_only: false,
            restart: None
        })
    );
    let n = neighbor("address: 10.1.0.2, asn: 1, holdTimeSeconds: 0, keepaliveTimeSeconds: 0");
    assert_eq!((n.hold_time, n.keepalive), (0, 0));
}

#[test]
fn listen_range_is_normalised_and_passive() {
    let n = neighbor("listenRange: 10.9.3.7/16, type: External, passive: false");
    assert_eq!(
        n.target,
        NeighborTarget::ListenRange("10.9.0.0/16".parse().unwrap())
    );
    assert!(n.passive);
}

// ---------------------------------------------------------------------------------------------
// Rules: each refuses with the field path and the value
// ---------------------------------------------------------------------------------------------

#[test]
fn router_id_and_asn() {
    refused("asn: 64514\n", "routerID", &["required"]);
    refused(
        "routerID: 10.0.0\nasn: 1\n",
        "routerID",
        &["\"10.0.0\"", "IPv4"],
    );
    refused(
        "routerID: '2001:db8::1'\nasn: 1\n",
        "routerID",
        &["2001:db8::1", "IPv4"],
    );
    refused("routerID: 10.0.0.1\n", "asn", &["required"]);
    refused(
        "routerID: 10.0.0.1\nasn: 0\n",
        "asn",
        &["0 is out of range (1..=4294967295)"],
    );
    refused(
        "routerID: 10.0.0.1\nasn: 4294967296\n",
        "asn",
        &["4294967296"],
    );
    refused("routerID: 10.0.0.1\nasn: -5\n", "asn", &["-5"]);
}

#[test]
fn listen_rules() {
    refused(
        &format!("{BASE}listen: {{ port: 70000 }}\n"),
        "listen.port",
        &["70000", "0..=65535"],
    );
    refused(
        &format!("{BASE}listen: {{ addresses: [] }}\n"),
        "listen.addresses",
        &["empty"],
    );
    refused(
        &format!("{BASE}listen: {{ addresses: [ '::', nope ] }}\n"),
        "listen.addresses[1]",
        &["\"nope\""],
    );
    refused(
        &format!("{BASE}listen: {{ addresses: [ '::', '::' ] }}\n"),
        "listen.addresses[1]",
        &["::", "twice"],
    );
    refused(
        &format!("{BASE}listenLimit: 0\n"),
        "listenLimit",
        &["0", "1..=65535"],
    );
    refused(
        &format!("{BASE}listenLimit: 65536\n"),
        "listenLimit",
        &["65536"],
    );
}

#[test]
fn graceful_restart_and_route_reflector_rules() {
    refused(
        &format!("{BASE}gracefulRestart: {{ restartTimeSeconds: 0 }}\n"),
        "gracefulRestart.restartTimeSeconds",
        &["0", "1..=4095"],
    );
    refused(
        &format!("{BASE}gracefulRestart: {{ stalePathTimeSeconds: 4096 }}\n"),
        "gracefulRestart.stalePathTimeSeconds",
        &["4096", "1..=4095"],
    );
    refused(
        &format!("{BASE}routeReflector: {{ clusterID: 'fd00::1' }}\n"),
        "routeReflector.clusterID",
        &["fd00::1", "IPv4"],
    );
}

#[test]
fn target_exactly_one() {
    refused(
        &one("asn: 1"),
        "neighbors[0]",
        &[
            "exactly one of address, interface, listenRange must be set",
            "none",
        ],
    );
    refused(
        &one("address: 10.0.0.2, interface: eth0, asn: 1"),
        "neighbors[0]",
        &[
            "exactly one of address, interface, listenRange",
            "address and interface",
        ],
    );
    refused(
        &one("address: 10.0.0.2, listenRange: 10.0.0.0/24, asn: 1"),
        "neighbors[0]",
        &["address and listenRange"],
    );
    refused(
        &one("interface: eth0, listenRange: 10.0.0.0/24, asn: 1"),
        "neighbors[0]",
        &["interface and listenRange"],
    );
}

#[test]
fn remote_as_exactly_one() {
    refused(
        &one("address: 10.0.0.2"),
        "neighbors[0]",
        &["exactly one of asn, type"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 5, type: External"),
        "neighbors[0]",
        &["exactly one of asn, type", "5", "External"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 0"),
        "neighbors[0].asn",
        &["0 is out of range"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, localASN: 4294967296"),
        "neighbors[0].localASN",
        &["4294967296"],
    );
}

#[test]
fn address_rules() {
    refused(
        &one("address: 300.1.1.1, asn: 1"),
        "neighbors[0].address",
        &["\"300.1.1.1\"", "not an IP address"],
    );
    refused(
        &one("address: 0.0.0.0, asn: 1"),
        "neighbors[0].address",
        &["0.0.0.0", "unicast"],
    );
    refused(
        &one("address: 'ff02::5', asn: 1"),
        "neighbors[0].address",
        &["ff02::5", "unicast"],
    );
    refused(
        &one("address: '::ffff:10.0.0.2', asn: 1"),
        "neighbors[0].address",
        &["::ffff:10.0.0.2", "IPv4-mapped"],
    );
}

#[test]
fn interface_rules() {
    for (name, why) in [
        ("eth0/1", "'/'"),
        ("'eth0:1'", "':'"),
        ("'eth 0'", "whitespace"),
        ("averyveryverylongname", "1..=15"),
        ("'.'", ". or .."),
        ("'..'", ". or .."),
        ("''", "1..=15"),
    ] {
        let errors = invalid(&one(&format!("interface: {name}, type: External")));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "neighbors[0].interface");
        assert!(errors[0].message.contains(why), "{name}: {}", errors[0]);
        assert!(
            errors[0].message.contains(name.trim_matches('\'')),
            "value named: {}",
            errors[0]
        );
    }
}

#[test]
fn listen_range_rules() {
    refused(
        &one("listenRange: 10.0.0.0/33, asn: 1"),
        "neighbors[0].listenRange",
        &["10.0.0.0/33", "not a CIDR"],
    );
    refused(
        &one("listenRange: 10.0.0.1, asn: 1"),
        "neighbors[0].listenRange",
        &["10.0.0.1", "not a CIDR"],
    );
    refused(
        &one("listenRange: 'fe80::/64', asn: 1"),
        "neighbors[0].listenRange",
        &["fe80::/64", "link-local"],
    );
}

#[test]
fn port_rules() {
    refused(
        &one("address: 10.0.0.2, asn: 1, port: 0"),
        "neighbors[0].port",
        &["0", "1..=16384"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, port: 16385"),
        "neighbors[0].port",
        &["16385", "1..=16384"],
    );
    assert_eq!(neighbor("address: 10.0.0.2, asn: 1, port: 1179").port, 1179);
}

#[test]
fn password_rules_never_echo_the_secret() {
    let long = "x".repeat(129);
    for (pw, why) in [
        ("'my secret'", "whitespace"),
        ("''", "empty"),
        (long.as_str(), "129 characters"),
        (&"y".repeat(81), "81 bytes"),
    ] {
        let errors = invalid(&one(&format!("address: 10.0.0.2, asn: 1, password: {pw}")));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "neighbors[0].password");
        assert!(errors[0].message.contains(why), "{}", errors[0]);
        let secret = pw.trim_matches('\'');
        if !secret.is_empty() {
            assert!(
                !errors[0].to_string().contains(secret),
                "secret echoed: {}",
                errors[0]
            );
        }
    }
    assert_eq!(
        neighbor(&format!(
            "address: 10.0.0.2, asn: 1, password: {}",
            "z".repeat(80)
        ))
        .password
        .map(|p| p.len()),
        Some(80)
    );
}

#[test]
fn timer_rules() {
    refused(
        &one("address: 10.0.0.2, asn: 1, holdTimeSeconds: 2, keepaliveTimeSeconds: 1"),
        "neighbors[0].holdTimeSeconds",
        &["2 is not allowed (0 or 3..=65535)"],
    );
    let errors = invalid(&format!(
        "{BASE}neighbors:\n  - {{ address: 10.0.0.2, asn: 1 }}\n  - {{ address: 10.0.0.3, asn: 1, holdTimeSeconds: 2, keepaliveTimeSeconds: 1 }}\n"
    ));
    assert_eq!(
        errors[0].to_string(),
        "neighbors[1].holdTimeSeconds: 2 is not allowed (0 or 3..=65535)"
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, holdTimeSeconds: 65536, keepaliveTimeSeconds: 1"),
        "neighbors[0].holdTimeSeconds",
        &["65536"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, holdTimeSeconds: 30"),
        "neighbors[0].holdTimeSeconds",
        &["30", "without keepaliveTimeSeconds"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, keepaliveTimeSeconds: 30"),
        "neighbors[0].keepaliveTimeSeconds",
        &["30", "without holdTimeSeconds"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, holdTimeSeconds: 9, keepaliveTimeSeconds: 10"),
        "neighbors[0].keepaliveTimeSeconds",
        &["10 is greater than holdTimeSeconds 9"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, holdTimeSeconds: 0, keepaliveTimeSeconds: 3"),
        "neighbors[0].keepaliveTimeSeconds",
        &["3 is greater than holdTimeSeconds 0"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, connectTimeSeconds: 0"),
        "neighbors[0].connectTimeSeconds",
        &["0", "1..=65535"],
    );
}

#[test]
fn property_rules() {
    refused(
        &one("address: 10.0.0.2, asn: 1, properties: [ {type: ebgpMultiHop, ebgpMultiHop: {ttl: 0}} ]"),
        "neighbors[0].properties[0].ebgpMultiHop.ttl",
        &["0", "1..=255"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, properties: [ {type: ebgpMultiHop, ebgpMultiHop: {ttl: 256}} ]"),
        "neighbors[0].properties[0].ebgpMultiHop.ttl",
        &["256"],
    );
    refused(
        &one(
            "address: 10.0.0.2, asn: 1, properties: [ {type: ebgpMultiHop}, {type: ebgpMultiHop} ]",
        ),
        "neighbors[0].properties",
        &["2 entries", "at most 1"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, properties: [ {ebgpMultiHop: {ttl: 3}} ]"),
        "neighbors[0].properties[0].type",
        &["required"],
    );
}

#[test]
fn ttl_security_rules() {
    refused(
        &one("address: 10.0.0.2, asn: 1, ttlSecurityHops: 0"),
        "neighbors[0].ttlSecurityHops",
        &["0", "1..=254"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, ttlSecurityHops: 255"),
        "neighbors[0].ttlSecurityHops",
        &["255"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, ttlSecurityHops: 2, properties: [ {type: ebgpMultiHop} ]"),
        "neighbors[0].ttlSecurityHops",
        &["2", "ebgpMultiHop"],
    );
}

#[test]
fn bfd_rules() {
    refused(
        &one("address: 10.0.0.2, asn: 1, bfd: { receiveInterval: 5 }"),
        "neighbors[0].bfd.receiveInterval",
        &["5", "10..=60000"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, bfd: { transmitInterval: 60001 }"),
        "neighbors[0].bfd.transmitInterval",
        &["60001", "10..=60000"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, bfd: { detectMultiplier: 1 }"),
        "neighbors[0].bfd.detectMultiplier",
        &["1", "2..=255"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, bfd: { minimumTTL: 255 }"),
        "neighbors[0].bfd.minimumTTL",
        &["255", "1..=254"],
    );
}

#[test]
fn address_family_rules() {
    refused(
        &one("address: 2001:db8::2, type: Internal, addressFamilies: [ {type: ipv4unicast}, {type: ipv4unicast} ]"),
        "neighbors[0].addressFamilies[1].type",
        &["ipv4unicast", "twice"],
    );
    refused(
        &one("address: 2001:db8::2, type: Internal, addressFamilies: [ {type: evpn}, {type: ipv4vpn} ]"),
        "neighbors[0].addressFamilies",
        &["evpn cannot be combined with ipv4vpn"],
    );
    refused(
        &one("interface: eth0, type: Internal, addressFamilies: [ {type: ipv6vpn} ]"),
        "neighbors[0].addressFamilies",
        &["ipv6vpn", "unnumbered", "eth0"],
    );
    refused(
        &one("address: 10.0.0.2, type: Internal, addressFamilies: [ {type: ipv4unicast}, {type: ipv4vpn} ]"),
        "neighbors[0].addressFamilies",
        &["ipv4vpn", "IPv6", "10.0.0.2"],
    );
    refused(
        &one("listenRange: 10.0.0.0/24, type: Internal, addressFamilies: [ {type: ipv6vpn} ]"),
        "neighbors[0].addressFamilies",
        &["ipv6vpn", "10.0.0.0/24"],
    );
    refused(
        &one("address: 2001:db8::2, type: Internal, addressFamilies: [ {properties: []} ]"),
        "neighbors[0].addressFamilies[0].type",
        &["required"],
    );
    let errors = invalid(&one(
        "address: 2001:db8::2, type: Internal, addressFamilies: [ {type: ipv4unicast}, {type: ipv6unicast}, {type: ipv4vpn}, {type: ipv6vpn}, {type: ipv4unicast} ]",
    ));
    assert!(
        errors
            .iter()
            .any(|e| e.field == "neighbors[0].addressFamilies" && e.message.contains("5 entries")),
        "{errors:?}"
    );
    refused(
        &one("address: 10.0.0.2, type: Internal, addressFamilies: [ {type: evpn, properties: [ {type: routeReflectorClient}, {type: routeReflectorClient} ]} ]"),
        "neighbors[0].addressFamilies[0].properties[1].type",
        &["twice"],
    );
}

#[test]
fn route_reflector_client_requires_internal() {
    refused(
        &one("address: 10.0.0.2, type: External, addressFamilies: [ {type: evpn, properties: [ {type: routeReflectorClient} ]} ]"),
        "neighbors[0].addressFamilies",
        &["routeReflectorClient requires an internal neighbour", "external"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 64512, addressFamilies: [ {type: evpn, properties: [ {type: routeReflectorClient} ]} ]"),
        "neighbors[0].addressFamilies",
        &["routeReflectorClient", "64512", "64514"],
    );
    // Judged even when the instance ASN is itself invalid.
    let errors = invalid("routerID: 10.0.0.1\nasn: 0\nneighbors:\n  - { listenRange: 10.0.0.0/24, type: External, addressFamilies: [ {type: evpn, properties: [ {type: routeReflectorClient} ]} ] }\n");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[1].field, "neighbors[0].addressFamilies");
    // Internal by type, by ASN, and by localASN.
    for fields in [
        "type: Internal",
        "asn: 64514",
        "asn: 64512, localASN: 64512",
    ] {
        let n = neighbor(&format!(
            "address: 10.0.0.2, {fields}, addressFamilies: [ {{type: evpn, properties: [ {{type: routeReflectorClient}} ]}} ]"
        ));
        assert!(n.route_reflector_client, "{fields}");
    }
}

#[test]
fn update_source_rules() {
    refused(
        &one("address: 10.0.0.2, asn: 1, updateSource: lo"),
        "neighbors[0].updateSource",
        &["\"lo\""],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, updateSource: 'fd00::1'"),
        "neighbors[0].updateSource",
        &["fd00::1", "10.0.0.2", "family"],
    );
    refused(
        &one("interface: eth0, asn: 1, updateSource: 10.0.0.1"),
        "neighbors[0].updateSource",
        &["10.0.0.1", "unnumbered"],
    );
}

#[test]
fn extension_rules() {
    refused(
        &one("address: 10.0.0.2, asn: 1, allowasIn: 11"),
        "neighbors[0].allowasIn",
        &["11", "1..=10"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, maxPrefix: { limit: 0 }"),
        "neighbors[0].maxPrefix.limit",
        &["0 is out of range"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, maxPrefix: { warningOnly: true }"),
        "neighbors[0].maxPrefix.limit",
        &["required"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, maxPrefix: { limit: 5, warningOnly: true, restartSeconds: 30 }"),
        "neighbors[0].maxPrefix.restartSeconds",
        &["30", "warningOnly"],
    );
    refused(
        &one("address: 10.0.0.2, asn: 1, maxPrefix: { limit: 5, restartSeconds: 70000 }"),
        "neighbors[0].maxPrefix.restartSeconds",
        &["70000"],
    );
    refused(
        &one(&format!(
            "address: 10.0.0.2, asn: 1, description: {}",
            "d".repeat(81)
        )),
        "neighbors[0].description",
        &["81 characters"],
    );
    refused(
        &format!(
            "{BASE}listen: {{ port: 0 }}\nneighbors:\n  - {{ address: 10.0.0.2, asn: 1, passive: true }}\n"
        ),
        "neighbors[0]",
        &["passive", "listen.port is 0"],
    );
    refused(
        &format!(
            "{BASE}listen: {{ port: 0 }}\nneighbors:\n  - {{ listenRange: 10.0.0.0/8, asn: 1 }}\n"
        ),
        "neighbors[0]",
        &["listenRange", "listen.port is 0"],
    );
}

#[test]
fn duplicates_and_overlaps() {
    let errors = invalid(&format!(
        "{BASE}neighbors:\n  - {{ address: 10.0.0.2, asn: 1 }}\n  - {{ address: 10.0.0.3, asn: 1 }}\n  - {{ address: 10.0.0.2, asn: 2 }}\n"
    ));
    assert_eq!(
        errors,
        vec![FieldError {
            field: "neighbors[2].address".into(),
            message: "10.0.0.2 is already the address of neighbors[0]".into()
        }]
    );
    // The same IPv6 address spelled twice differently.
    refused(
        &format!(
            "{BASE}neighbors:\n  - {{ address: '2001:db8::2', asn: 1 }}\n  - {{ address: '2001:DB8:0::2', asn: 1 }}\n"
        ),
        "neighbors[1].address",
        &["2001:db8::2", "neighbors[0]"],
    );
    refused(
        &format!(
            "{BASE}neighbors:\n  - {{ interface: eth0, type: External }}\n  - {{ interface: eth0, type: Internal }}\n"
        ),
        "neighbors[1].interface",
        &["eth0", "neighbors[0]"],
    );
    refused(
        &format!(
            "{BASE}neighbors:\n  - {{ listenRange: 192.168.10.0/24, asn: 1 }}\n  - {{ listenRange: 192.168.10.128/25, asn: 1 }}\n"
        ),
        "neighbors[1].listenRange",
        &["192.168.10.128/25 overlaps neighbors[0].listenRange 192.168.10.0/24"],
    );
    // Equal once normalised.
    refused(
        &format!(
            "{BASE}neighbors:\n  - {{ listenRange: 192.168.10.0/24, asn: 1 }}\n  - {{ listenRange: 192.168.10.7/24, asn: 1 }}\n"
        ),
        "neighbors[1].listenRange",
        &["overlaps"],
    );
    // Disjoint ranges, ranges of different families, and an address inside a range are fine.
    ok(&format!(
        "{BASE}neighbors:\n  - {{ listenRange: 192.168.10.0/25, asn: 1 }}\n  - {{ listenRange: 192.168.10.128/25, asn: 1 }}\n  - {{ listenRange: '::/0', asn: 1 }}\n  - {{ address: 192.168.10.5, asn: 1 }}\n"
    ));
}

#[test]
fn too_many_neighbors() {
    let mut text = format!("{BASE}neighbors:\n");
    for i in 0..129 {
        text.push_str(&format!(
            "  - {{ address: 10.0.{}.{}, asn: 1 }}\n",
            i / 200,
            i % 200 + 1
        ));
    }
    refused(&text, "neighbors", &["129", "at most 128"]);
}

#[test]
fn passthrough_rules() {
    let pt = |hs: &str| format!("{BASE}passthrough: {{ hostSession: {{ {hs} }} }}\n");
    refused(
        &format!("{BASE}passthrough: {{}}\n"),
        "passthrough.hostSession",
        &["required"],
    );
    refused(
        &pt("asn: 64514, hostASN: 1, hostType: External, localCIDR: { ipv4: 192.169.10.0/24 }"),
        "passthrough.hostSession",
        &["exactly one of hostASN, hostType"],
    );
    refused(
        &pt("asn: 64514, localCIDR: { ipv4: 192.169.10.0/24 }"),
        "passthrough.hostSession",
        &["exactly one of hostASN, hostType"],
    );
    refused(
        &pt("hostASN: 1, localCIDR: { ipv4: 192.169.10.0/24 }"),
        "passthrough.hostSession.asn",
        &["required"],
    );
    refused(
        &pt("asn: 64514, hostASN: 0, localCIDR: { ipv4: 192.169.10.0/24 }"),
        "passthrough.hostSession.hostASN",
        &["0 is out of range"],
    );
    refused(
        &pt("asn: 64514, hostASN: 1"),
        "passthrough.hostSession.localCIDR",
        &["required"],
    );
    refused(
        &pt("asn: 64514, hostASN: 1, localCIDR: {}"),
        "passthrough.hostSession.localCIDR",
        &["at least one of ipv4, ipv6"],
    );
    refused(
        &pt("asn: 64514, hostASN: 1, localCIDR: { ipv4: '2001:db8::/64' }"),
        "passthrough.hostSession.localCIDR.ipv4",
        &["2001:db8::/64", "IPv4 CIDR"],
    );
    refused(
        &pt("asn: 64514, hostASN: 1, localCIDR: { ipv6: 192.169.10.0/24 }"),
        "passthrough.hostSession.localCIDR.ipv6",
        &["192.169.10.0/24", "IPv6 CIDR"],
    );
    refused(
        &pt("asn: 64514, hostASN: 1, localCIDR: { ipv4: 192.169.10.0/31 }"),
        "passthrough.hostSession.localCIDR.ipv4",
        &["192.169.10.0/31"],
    );
    refused(
        &pt("asn: 64514, hostASN: 1, localCIDR: { ipv6: '2001:db8::/127' }"),
        "passthrough.hostSession.localCIDR.ipv6",
        &["2001:db8::/127"],
    );
    let c = ok(&pt(
        "asn: 64514, hostType: Internal, localCIDR: { ipv6: '2001:db8::/64' }",
    ));
    let p = c.passthrough.unwrap();
    assert_eq!(p.host_as, RemoteAs::Internal);
    assert_eq!(p.local_cidr_v4, None);
}

// ---------------------------------------------------------------------------------------------
// Shape errors (serde): unknown keys, types, enum values
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_keys_are_named() {
    let e = syntax_error(&format!("{BASE}vrfs: []\n"));
    assert!(e.contains("unknown field `vrfs`"), "{e}");
    assert!(e.starts_with("line 3:1: "), "{e}");

    let e = syntax_error(&one("address: 10.0.0.2, asn: 1, holdTime: 3"));
    assert!(e.contains("neighbors[0]: unknown field `holdTime`"), "{e}");

    let e = syntax_error(&one("address: 10.0.0.2, asn: 1, bfd: { echoMode: true }"));
    assert!(
        e.contains("neighbors[0].bfd: unknown field `echoMode`"),
        "{e}"
    );

    // OpenPERouter's passwordSecret is resolved by the controller, never passed through.
    let e = syntax_error(&one("address: 10.0.0.2, asn: 1, passwordSecret: s"));
    assert!(e.contains("unknown field `passwordSecret`"), "{e}");

    let e = syntax_error(&format!(
        "{BASE}passthrough: {{ hostSession: {{ asn: 1, hostASN: 2, localCIDR: {{ ipv4: 10.0.0.0/24, ipv5: x }} }} }}\n"
    ));
    assert!(
        e.contains("passthrough.hostSession.localCIDR: unknown field `ipv5`"),
        "{e}"
    );
}

#[test]
fn bad_types_and_enum_values_are_named() {
    let e = syntax_error(&one("address: 10.0.0.2, type: external"));
    assert!(
        e.contains("neighbors[0].type: unknown variant `external`"),
        "{e}"
    );
    let e = syntax_error(&one(
        "address: 10.0.0.2, asn: 1, addressFamilies: [ {type: ipv4multicast} ]",
    ));
    assert!(
        e.contains("neighbors[0].addressFamilies[0].type: unknown variant `ipv4multicast`"),
        "{e}"
    );
    let e = syntax_error(&one("address: 10.0.0.2, asn: 1, nextHopSelf: maybe"));
    assert!(e.contains("neighbors[0].nextHopSelf"), "{e}");
    assert!(e.contains("maybe"), "{e}");
    let e = syntax_error(&one(
        "address: 10.0.0.2, asn: 1, bfd: { sessionMode: Lazy }",
    ));
    assert!(
        e.contains("neighbors[0].bfd.sessionMode: unknown variant `Lazy`"),
        "{e}"
    );
    let e = syntax_error("routerID: 10.0.0.1\nasn: many\n");
    assert!(e.contains("asn: invalid type"), "{e}");
    let e = syntax_error(&format!("{BASE}neighbors: {{}}\n"));
    assert!(e.contains("neighbors"), "{e}");
    let e = syntax_error("routerID: 10.0.0.1\nasn: 1\nasn: 2\n");
    assert!(e.contains("duplicate field `asn`"), "{e}");
}

#[test]
fn syntax_errors_have_a_location() {
    match parse("routerID: 10.0.0.1\nasn: [1\n") {
        Err(ConfigError::Syntax { location, message }) => {
            assert!(location.is_some(), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match parse("- 1\n") {
        Err(e @ ConfigError::Syntax { .. }) => {
            assert!(e.to_string().contains("expected a mapping"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_file_reports_the_required_keys() {
    for text in ["", "# nothing\n", "---\n"] {
        let errors = invalid(text);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["routerID", "asn"], "{text:?}");
    }
}

#[test]
fn all_errors_are_collected() {
    let text = "routerID: nope\nasn: 0\nlistenLimit: 0\nneighbors:\n  - { address: 10.0.0.2, asn: 1, holdTimeSeconds: 2, keepaliveTimeSeconds: 1, port: 0 }\n  - { interface: 'a/b', type: External, bfd: { detectMultiplier: 1 } }\n  - { address: 10.0.0.2, asn: 1 }\n";
    let err = parse(text).unwrap_err();
    let fields: Vec<&str> = err
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(
        fields,
        vec![
            "routerID",
            "asn",
            "listenLimit",
            "neighbors[0].port",
            "neighbors[0].holdTimeSeconds",
            "neighbors[1].interface",
            "neighbors[1].bfd.detectMultiplier",
            "neighbors[2].address",
        ]
    );
    // Displayed one per line.
    let shown = err.to_string();
    assert_eq!(shown.lines().count(), fields.len(), "{shown}");
    assert!(shown.lines().all(|l| !l.is_empty()));
}

#[test]
fn io_error_names_the_path() {
    let path = Path::new("/nonexistent/perouterd.yaml");
    let e = load(path).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/perouterd.yaml"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Reload identity, lookups, serialization
// ---------------------------------------------------------------------------------------------

#[test]
fn same_text_same_config() {
    for name in [
        "tor-ebgp.yaml",
        "unnumbered.yaml",
        "listen-range.yaml",
        "ibgp-rr.yaml",
        "full.yaml",
    ] {
        let a = example(name);
        let b = example(name);
        assert_eq!(a, b);
        assert!(!a.instance_identity_changed(&b));
        for (x, y) in a.neighbors.iter().zip(&b.neighbors) {
            assert!(!x.identity_changed(y));
        }
    }
}

#[test]
fn identity_changes() {
    let base = "address: 10.0.0.2, asn: 64512";
    let n = neighbor(base);
    // In place: no reset.
    for extra in [
        "description: tor",
        "maxPrefix: { limit: 5 }",
        "nextHopSelf: force",
        "allowasIn: 1",
        "connectTimeSeconds: 9",
        "bfd: {}",
    ] {
        let m = neighbor(&format!("{base}, {extra}"));
        assert_ne!(n, m, "{extra}");
        assert!(!n.identity_changed(&m), "{extra} must not reset");
    }
    // Reset.
    for extra in [
        "port: 1179",
        "password: pw",
        "holdTimeSeconds: 9, keepaliveTimeSeconds: 3",
        "addressFamilies: [ {type: ipv4unicast}, {type: evpn} ]",
        "passive: true",
        "properties: [ {type: ebgpMultiHop} ]",
        "ttlSecurityHops: 1",
        "updateSource: 10.0.0.1",
        "localASN: 65001",
    ] {
        let m = neighbor(&format!("{base}, {extra}"));
        assert!(n.identity_changed(&m), "{extra} must reset");
    }
    let m = neighbor("address: 10.0.0.2, asn: 64513");
    assert!(n.identity_changed(&m), "remote AS");
    let m = neighbor("address: 10.0.0.3, asn: 64512");
    assert!(n.identity_changed(&m), "target");
    assert_ne!(n.key(), m.key());

    let rr = |p: &str| {
        neighbor(&format!(
            "address: 10.0.0.2, type: Internal, addressFamilies: [ {{type: evpn{p}}} ]"
        ))
    };
    assert!(rr("").identity_changed(&rr(", properties: [ {type: routeReflectorClient} ]")));

    // A new instance ASN changes every neighbour's local AS (and the instance identity).
    let a = ok(&one(base));
    let b = ok(&format!(
        "routerID: 10.0.0.1\nasn: 64999\nneighbors:\n  - {{ {base} }}\n"
    ));
    assert!(a.neighbors[0].identity_changed(&b.neighbors[0]));
    assert!(a.instance_identity_changed(&b));
    // GR and router ID are instance identity; listenLimit is not.
    let gr = ok(&format!("{}gracefulRestart: {{}}\n", one(base)));
    assert!(a.instance_identity_changed(&gr));
    let rid = ok(&one(base).replace("10.0.0.1\n", "10.0.0.9\n"));
    assert!(a.instance_identity_changed(&rid));
    let limit = ok(&format!("{}listenLimit: 10\n", one(base)));
    assert!(!a.instance_identity_changed(&limit));
}

#[test]
fn neighbor_lookup() {
    let c = ok(&format!(
        "{BASE}neighbors:\n  - {{ address: 10.0.0.5, asn: 1 }}\n  - {{ listenRange: 10.0.0.0/24, asn: 2 }}\n  - {{ listenRange: 10.1.0.0/16, asn: 3 }}\n  - {{ listenRange: 10.2.0.0/16, asn: 4 }}\n  - {{ listenRange: '2001:db8::/32', asn: 5 }}\n  - {{ interface: eth0, asn: 6 }}\n"
    ));
    let asn_of = |a: &str| {
        c.neighbor_for(a.parse().unwrap())
            .map(|n| match n.remote_as {
                RemoteAs::Asn(a) => a,
                RemoteAs::External | RemoteAs::Internal => 0,
            })
    };
    assert_eq!(asn_of("10.0.0.5"), Some(1), "exact address first");
    assert_eq!(asn_of("10.0.0.6"), Some(2));
    assert_eq!(asn_of("10.1.2.3"), Some(3));
    assert_eq!(asn_of("::ffff:10.2.0.1"), Some(4), "v4-mapped is v4");
    assert_eq!(asn_of("2001:db8::99"), Some(5));
    assert_eq!(asn_of("10.9.0.1"), None);
    assert_eq!(
        asn_of("fe80::1"),
        None,
        "unnumbered is not matched by address"
    );

    let key = NeighborKey(NeighborTarget::Interface("eth0".into()));
    assert_eq!(
        c.neighbor(&key).map(|n| n.remote_as),
        Some(RemoteAs::Asn(6))
    );
    assert_eq!(key.to_string(), "eth0");
    assert_eq!(c.neighbors[1].key().to_string(), "10.0.0.0/24");
}

#[test]
fn most_specific_range_wins() {
    // Overlapping ranges are refused, so build the config by hand.
    let mut c = ok(&one("listenRange: 10.0.0.0/8, asn: 1"));
    let mut narrow = c.neighbors[0].clone();
    narrow.target = NeighborTarget::ListenRange("10.1.0.0/16".parse().unwrap());
    narrow.remote_as = RemoteAs::Asn(2);
    c.neighbors.push(narrow);
    assert_eq!(
        c.neighbor_for("10.1.0.1".parse().unwrap())
            .map(|n| n.remote_as),
        Some(RemoteAs::Asn(2))
    );
    assert_eq!(
        c.neighbor_for("10.2.0.1".parse().unwrap())
            .map(|n| n.remote_as),
        Some(RemoteAs::Asn(1))
    );
}

#[test]
fn serialization_redacts_the_password() {
    let c = example("full.yaml");
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains("secret"), "{json}");
    assert!(json.contains("<redacted>"), "{json}");
    assert!(json.contains("\"router_id\":\"10.0.0.1\""), "{json}");
}
