//! perouterd's configuration: the examples load, defaults resolve as documented, every rule
//! refuses with a message naming the field and the value, and reload identity is as documented.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use bgp::policy::{Match, Policy, PrefixRange, SetAction, Verdict};
use bgp::wire::{AdminValue, Community, Family, FamilySet, LargeCommunity};
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
    assert_eq!(c.passthrough.as_ref().unwrap().host_as, RemoteAs::External);

    // Policies.
    assert_eq!(n.import_policy.as_deref(), Some("from-tor"));
    assert_eq!(n.export_policy.as_deref(), Some("to-tor"));
    assert_eq!(
        (v6.import_policy.as_ref(), v6.export_policy.as_ref()),
        (None, None)
    );
    assert_eq!(
        c.policies.keys().collect::<Vec<_>>(),
        vec!["from-tor", "to-tor"]
    );
    let from = c.policy("from-tor").unwrap();
    assert_eq!(from.name, "from-tor");
    assert_eq!(from.default, Verdict::Accept);
    let names: Vec<&str> = from.terms.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["no-default-route", "too-specific", "fabric-preferred"]
    );
    assert_eq!(
        from.terms[0].matches,
        vec![Match::Prefix(PrefixRange::exact(
            "0.0.0.0/0".parse().unwrap()
        ))]
    );
    assert_eq!(from.terms[0].verdict, Verdict::Reject);
    assert_eq!(
        from.terms[1].matches,
        vec![
            Match::Family([Family::Ipv4Unicast].into_iter().collect()),
            Match::Prefix(PrefixRange::new(
                "0.0.0.0/0".parse().unwrap(),
                Some(25),
                None
            )),
        ]
    );
    let preferred = &from.terms[2];
    assert_eq!(
        preferred.matches,
        vec![
            Match::NextHop("192.168.11.0/24".parse().unwrap()),
            Match::AnyCommunity(vec![Community(0xfc00_0064), Community(0xfc00_0065)]),
            Match::AsPathLength {
                min: Some(1),
                max: Some(2)
            },
        ]
    );
    assert_eq!(
        preferred.actions,
        vec![
            SetAction::RemoveLargeCommunity(vec![LargeCommunity {
                global: 64512,
                local1: 9,
                local2: 9
            }]),
            SetAction::AddLargeCommunity(vec![LargeCommunity {
                global: 64514,
                local1: 1,
                local2: 1
            }]),
            SetAction::LocalPref(200),
            SetAction::Weight(100),
        ]
    );
    let to = c.policy("to-tor").unwrap();
    assert_eq!(to.default, Verdict::Reject);
    assert_eq!(
        to.terms[0].matches,
        vec![
            Match::EvpnRouteType(5),
            Match::LargeCommunity(LargeCommunity {
                global: 64514,
                local1: 0,
                local2: 100
            }),
            Match::RouteTarget(AdminValue::As2 {
                asn: 64514,
                value: 100
            }),
        ]
    );
    assert_eq!(
        to.terms[0].actions,
        vec![
            SetAction::RemoveCommunity(vec![Community::NO_EXPORT]),
            SetAction::AddCommunity(vec![Community(0xfc02_0064)]),
            SetAction::RemoveRouteTarget(vec![AdminValue::Ipv4 {
                addr: Ipv4Addr::new(10, 0, 0, 1),
                value: 5
            }]),
            SetAction::AddRouteTarget(vec![AdminValue::As2 {
                asn: 64514,
                value: 200
            }]),
        ]
    );
    assert_eq!(
        to.terms[1].matches,
        vec![
            Match::PrefixList(vec![
                PrefixRange::new("192.169.10.0/24".parse().unwrap(), None, Some(32)),
                PrefixRange::new("2001:db8:1::/64".parse().unwrap(), Some(64), Some(128)),
            ]),
            Match::Community(Community(0xfc03_0001)),
            Match::OriginAs(64515),
        ]
    );
    assert_eq!(
        to.terms[1].actions,
        vec![
            SetAction::SetCommunities(vec![Community(0xfc02_0001)]),
            SetAction::PrependAs {
                asn: 64514,
                times: 2
            },
            SetAction::Med(10),
            SetAction::NextHop("10.0.0.1".parse().unwrap()),
        ]
    );
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

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

/// The base keys and one policy `p` (default accept) with one term given as flow-mapping fields.
fn term(fields: &str) -> String {
    format!("{BASE}policies:\n  - {{ name: p, default: accept, terms: [ {{ {fields} }} ] }}\n")
}

/// A term with this `match` mapping, accepting.
fn matching(m: &str) -> String {
    term(&format!("match: {{ {m} }}, action: accept"))
}

/// A term with this `set` mapping, accepting.
fn setting(set: &str) -> String {
    term(&format!("set: {{ {set} }}, action: accept"))
}

/// The single term of policy `p` in `text`.
fn the_term(text: &str) -> bgp::policy::Term {
    ok(text).policies["p"].terms[0].clone()
}

const T: &str = "policies[0].terms[0]";

#[test]
fn policy_defaults_and_lookup() {
    // No policies: empty map, neighbours accept all.
    let c = ok(&one("address: 10.0.0.2, asn: 1"));
    assert!(c.policies.is_empty());
    assert_eq!(c.neighbors[0].import_policy, None);
    assert_eq!(c.neighbors[0].export_policy, None);
    assert!(c.policy("allowall").is_none());
    assert!(Policy::accept_all().is_accept_all());

    // A policy without terms is its default; an unnamed term is named by its index; empty
    // match and set mappings are allowed (every route, no rewrite).
    let c = ok(&format!(
        "{BASE}policies:\n  - {{ name: deny-all, default: reject }}\n  - {{ name: p, default: accept, terms: [ {{ match: {{}}, set: {{}}, action: accept }}, {{ action: reject }} ] }}\nneighbors:\n  - {{ address: 10.0.0.2, asn: 1, importPolicy: deny-all, exportPolicy: p }}\n"
    ));
    let deny = c.policy("deny-all").unwrap();
    assert_eq!(deny.terms, vec![]);
    assert_eq!(deny.default, Verdict::Reject);
    let p = c.policy("p").unwrap();
    assert_eq!(p.terms[0].name, "term-0");
    assert_eq!(p.terms[1].name, "term-1");
    assert!(p.terms[0].matches.is_empty() && p.terms[0].actions.is_empty());
    assert_eq!(p.terms[1].verdict, Verdict::Reject);
    let n = &c.neighbors[0];
    assert_eq!(n.import_policy.as_deref(), Some("deny-all"));
    assert_eq!(n.export_policy.as_deref(), Some("p"));
    // One policy may serve several neighbours and both directions.
    ok(&format!(
        "{BASE}policies:\n  - {{ name: p, default: accept }}\nneighbors:\n  - {{ address: 10.0.0.2, asn: 1, importPolicy: p, exportPolicy: p }}\n  - {{ address: 10.0.0.3, asn: 1, importPolicy: p }}\n"
    ));
}

#[test]
fn policy_values_parse() {
    // Unquoted communities, large communities and RTs in block style are strings.
    let c = ok(&format!(
        "{BASE}policies:\n  - name: p\n    default: reject\n    terms:\n      - match:\n          community: 65000:1\n          largeCommunity: 65000:1:2\n          routeTarget: 65000:100\n        action: accept\n"
    ));
    assert_eq!(
        c.policies["p"].terms[0].matches,
        vec![
            Match::Community(Community(0xfde8_0001)),
            Match::LargeCommunity(LargeCommunity {
                global: 65000,
                local1: 1,
                local2: 2
            }),
            Match::RouteTarget(AdminValue::As2 {
                asn: 65000,
                value: 100
            }),
        ]
    );
    // Well-known community names.
    let t = the_term(&setting(
        "communities: [ no-export, no-advertise, no-export-subconfed, blackhole, '0:0', '65535:65535' ]",
    ));
    assert_eq!(
        t.actions,
        vec![SetAction::SetCommunities(vec![
            Community::NO_EXPORT,
            Community::NO_ADVERTISE,
            Community::NO_EXPORT_SUBCONFED,
            Community::BLACKHOLE,
            Community(0),
            Community(u32::MAX),
        ])]
    );
    // An empty replacement strips communities.
    assert_eq!(
        the_term(&setting("communities: []")).actions,
        vec![SetAction::SetCommunities(vec![])]
    );
    // Route targets: 2-octet AS, 4-octet AS, IPv4 administrators.
    let t = the_term(&setting(
        "addRouteTargets: [ '65000:4294967295', '4200000000:7', '192.0.2.1:7' ]",
    ));
    assert_eq!(
        t.actions,
        vec![SetAction::AddRouteTarget(vec![
            AdminValue::As2 {
                asn: 65000,
                value: u32::MAX
            },
            AdminValue::As4 {
                asn: 4_200_000_000,
                value: 7
            },
            AdminValue::Ipv4 {
                addr: Ipv4Addr::new(192, 0, 2, 1),
                value: 7
            },
        ])]
    );
    // Families, a bare next-hop address (a host prefix), IPv6 ranges, prepend once.
    let t = the_term(&matching(
        "families: [ evpn, ipv6unicast ], nextHop: '2001:db8::1', prefix: '2001:db8::/32', le: 64",
    ));
    let fams: FamilySet = [Family::Ipv6Unicast, Family::L2vpnEvpn]
        .into_iter()
        .collect();
    assert_eq!(
        t.matches,
        vec![
            Match::Family(fams),
            Match::Prefix(PrefixRange::new(
                "2001:db8::/32".parse().unwrap(),
                None,
                Some(64)
            )),
            Match::NextHop("2001:db8::1/128".parse().unwrap()),
        ]
    );
    assert_eq!(
        the_term(&setting("asPathPrepend: { asn: 65000 }")).actions,
        vec![SetAction::PrependAs {
            asn: 65000,
            times: 1
        }]
    );
    // ge and le at their bounds.
    ok(&matching("prefix: 10.0.0.0/8, ge: 8, le: 32"));
    ok(&matching("prefix: 10.0.0.0/8, ge: 24, le: 24"));
    ok(&matching("prefix: '::/0', ge: 128"));
}

#[test]
fn policy_rules() {
    let p = |fields: &str| format!("{BASE}policies:\n  - {{ {fields} }}\n");
    refused(&p("default: accept"), "policies[0].name", &["required"]);
    refused(
        &p("name: 'has space', default: accept"),
        "policies[0].name",
        &["\"has space\"", "letters, digits"],
    );
    refused(
        &p(&format!("name: {}, default: accept", "n".repeat(65))),
        "policies[0].name",
        &["1..=64"],
    );
    let errors = invalid(&p("name: ''"));
    assert_eq!(errors.len(), 2, "{errors:?}");
    refused(
        &p("name: p"),
        "policies[0].default",
        &["required", "accept or reject"],
    );
    refused(
        &format!("{BASE}policies:\n  - {{ name: p, default: accept }}\n  - {{ name: q, default: accept }}\n  - {{ name: p, default: reject }}\n"),
        "policies[2].name",
        &["\"p\" is already the name of policies[0]"],
    );
}

#[test]
fn term_rules() {
    refused(&term("match: {}"), &format!("{T}.action"), &["required"]);
    refused(
        &term("set: { localPref: 5 }, action: reject"),
        &format!("{T}.set"),
        &["no effect", "reject"],
    );
    refused(
        &term("name: 'a b', action: accept"),
        &format!("{T}.name"),
        &["\"a b\""],
    );
    refused(
        &format!("{BASE}policies:\n  - {{ name: p, default: accept, terms: [ {{ name: x, action: accept }}, {{ name: x, action: reject }} ] }}\n"),
        "policies[0].terms[1].name",
        &["\"x\" is already the name of terms[0]"],
    );
    // A default name taken explicitly by a later term.
    refused(
        &format!("{BASE}policies:\n  - {{ name: p, default: accept, terms: [ {{ action: accept }}, {{ name: term-0, action: reject }} ] }}\n"),
        "policies[0].terms[1].name",
        &["term-0"],
    );
}

#[test]
fn match_prefix_rules() {
    let m = format!("{T}.match");
    refused(
        &matching("prefix: 10.0.0.0/33"),
        &format!("{m}.prefix"),
        &["\"10.0.0.0/33\" is not a prefix"],
    );
    refused(
        &matching("prefix: 10.0.0.0"),
        &format!("{m}.prefix"),
        &["is not a prefix"],
    );
    refused(
        &matching("prefix: 10.0.0.1/8"),
        &format!("{m}.prefix"),
        &["10.0.0.1/8 has host bits set", "10.0.0.0/8"],
    );
    refused(
        &matching("prefix: 10.0.0.0/8, ge: 4"),
        &format!("{m}.ge"),
        &["4 is not in 8..=32"],
    );
    refused(
        &matching("prefix: 10.0.0.0/8, ge: 33"),
        &format!("{m}.ge"),
        &["33 is not in 8..=32"],
    );
    refused(
        &matching("prefix: 10.0.0.0/8, le: 7"),
        &format!("{m}.le"),
        &["7 is not in 8..=32"],
    );
    refused(
        &matching("prefix: 10.0.0.0/8, ge: 24, le: 16"),
        &format!("{m}.le"),
        &["16 is not in 24..=32", "ge 24"],
    );
    refused(
        &matching("prefix: '2001:db8::/32', le: 129"),
        &format!("{m}.le"),
        &["129 is not in 32..=128"],
    );
    refused(
        &matching("ge: 24"),
        &format!("{m}.ge"),
        &["24 is set without prefix"],
    );
    refused(&matching("le: 24"), &format!("{m}.le"), &["without prefix"]);
    refused(
        &matching("prefixList: []"),
        &format!("{m}.prefixList"),
        &["is empty"],
    );
    refused(
        &matching("prefixList: [ { prefix: 10.0.0.0/8 }, { le: 32 } ]"),
        &format!("{m}.prefixList[1].prefix"),
        &["required"],
    );
    refused(
        &matching("prefixList: [ { prefix: 10.0.0.0/8, ge: 40 } ]"),
        &format!("{m}.prefixList[0].ge"),
        &["40 is not in 8..=32"],
    );
    refused(
        &matching("prefixList: [ { prefix: 300.0.0.0/8 } ]"),
        &format!("{m}.prefixList[0].prefix"),
        &["\"300.0.0.0/8\" is not a prefix"],
    );
}

#[test]
fn match_value_rules() {
    let m = format!("{T}.match");
    refused(
        &matching("families: []"),
        &format!("{m}.families"),
        &["is empty"],
    );
    refused(
        &matching("families: [ evpn, ipv4unicast, evpn ]"),
        &format!("{m}.families[2]"),
        &["evpn is listed twice"],
    );
    refused(
        &matching("evpnRouteType: 6"),
        &format!("{m}.evpnRouteType"),
        &["6 is out of range (1..=5)"],
    );
    for bad in ["'65536:1'", "'1:65536'", "no-such", "'65000'", "'1:2:3'"] {
        refused(
            &matching(&format!("community: {bad}")),
            &format!("{m}.community"),
            &["is not a community", "no-export"],
        );
    }
    refused(
        &matching("anyCommunity: []"),
        &format!("{m}.anyCommunity"),
        &["is empty"],
    );
    refused(
        &matching("anyCommunity: [ '1:1', bad ]"),
        &format!("{m}.anyCommunity[1]"),
        &["\"bad\" is not a community"],
    );
    refused(
        &matching("anyCommunity: [ '1:1', '1:1' ]"),
        &format!("{m}.anyCommunity[1]"),
        &["1:1 is listed twice"],
    );
    for bad in ["'1:2'", "'1:2:3:4'", "'4294967296:1:1'", "'a:b:c'"] {
        refused(
            &matching(&format!("largeCommunity: {bad}")),
            &format!("{m}.largeCommunity"),
            &["is not a large community", "global:local1:local2"],
        );
    }
    for bad in [
        "'65000'",
        "'4200000000:65536'",
        "'192.0.2.1:65536'",
        "'192.0.2:1'",
        "'x:1'",
    ] {
        refused(
            &matching(&format!("routeTarget: {bad}")),
            &format!("{m}.routeTarget"),
            &["is not a route target", "ASN:NN", "IPv4:NN"],
        );
    }
    refused(
        &matching("originASN: 0"),
        &format!("{m}.originASN"),
        &["0 is out of range"],
    );
    refused(
        &matching("asPathLength: {}"),
        &format!("{m}.asPathLength"),
        &["at least one of min, max"],
    );
    refused(
        &matching("asPathLength: { min: 3, max: 2 }"),
        &format!("{m}.asPathLength.max"),
        &["2 is less than min 3"],
    );
    refused(
        &matching("asPathLength: { min: -1 }"),
        &format!("{m}.asPathLength.min"),
        &["-1 is out of range"],
    );
    refused(
        &matching("nextHop: nope"),
        &format!("{m}.nextHop"),
        &["\"nope\" is not a prefix"],
    );
    refused(
        &matching("nextHop: 192.0.2.1/24"),
        &format!("{m}.nextHop"),
        &["host bits"],
    );
}

#[test]
fn set_rules() {
    let s = format!("{T}.set");
    for key in ["localPref", "med", "weight"] {
        refused(
            &setting(&format!("{key}: -1")),
            &format!("{s}.{key}"),
            &["-1 is out of range (0..=4294967295)"],
        );
        refused(
            &setting(&format!("{key}: 4294967296")),
            &format!("{s}.{key}"),
            &["4294967296 is out of range"],
        );
    }
    refused(
        &setting("nextHop: 10.0.0.0/8"),
        &format!("{s}.nextHop"),
        &["is not an IP address"],
    );
    refused(
        &setting("nextHop: 224.0.0.1"),
        &format!("{s}.nextHop"),
        &["224.0.0.1 is not a unicast address"],
    );
    refused(
        &setting("nextHop: '::'"),
        &format!("{s}.nextHop"),
        &["is not a unicast address"],
    );
    refused(
        &setting("communities: [ '1:1', '1:x' ]"),
        &format!("{s}.communities[1]"),
        &["\"1:x\" is not a community"],
    );
    refused(
        &setting("communities: [ no-export, no-export ]"),
        &format!("{s}.communities[1]"),
        &["no-export is listed twice"],
    );
    for key in [
        "addCommunities",
        "removeCommunities",
        "addLargeCommunities",
        "removeLargeCommunities",
        "addRouteTargets",
        "removeRouteTargets",
    ] {
        refused(
            &setting(&format!("{key}: []")),
            &format!("{s}.{key}"),
            &["is empty"],
        );
    }
    refused(
        &setting("addCommunities: [ blackhole ], removeCommunities: [ '1:1', blackhole ]"),
        &format!("{s}.removeCommunities[1]"),
        &["blackhole is also in addCommunities"],
    );
    refused(
        &setting("addLargeCommunities: [ '1:2' ]"),
        &format!("{s}.addLargeCommunities[0]"),
        &["is not a large community"],
    );
    refused(
        &setting("addLargeCommunities: [ '1:2:3' ], removeLargeCommunities: [ '1:2:3' ]"),
        &format!("{s}.removeLargeCommunities[0]"),
        &["1:2:3 is also in addLargeCommunities"],
    );
    refused(
        &setting("removeRouteTargets: [ '65000:1', nope ]"),
        &format!("{s}.removeRouteTargets[1]"),
        &["\"nope\" is not a route target"],
    );
    refused(
        &setting("addRouteTargets: [ '65000:1' ], removeRouteTargets: [ '65000:1' ]"),
        &format!("{s}.removeRouteTargets[0]"),
        &["65000:1 is also in addRouteTargets"],
    );
    refused(
        &setting("asPathPrepend: { times: 2 }"),
        &format!("{s}.asPathPrepend.asn"),
        &["required"],
    );
    refused(
        &setting("asPathPrepend: { asn: 0 }"),
        &format!("{s}.asPathPrepend.asn"),
        &["0 is out of range"],
    );
    for times in ["0", "11"] {
        refused(
            &setting(&format!("asPathPrepend: {{ asn: 1, times: {times} }}")),
            &format!("{s}.asPathPrepend.times"),
            &[times, "1..=10"],
        );
    }
}

#[test]
fn neighbor_policy_references() {
    refused(
        &one("address: 10.0.0.2, asn: 1, importPolicy: nope"),
        "neighbors[0].importPolicy",
        &[
            "\"nope\" is not a defined policy",
            "no policies are defined",
        ],
    );
    refused(
        &format!(
            "{BASE}policies:\n  - {{ name: a, default: accept }}\n  - {{ name: b, default: reject }}\nneighbors:\n  - {{ address: 10.0.0.2, asn: 1, importPolicy: a, exportPolicy: c }}\n"
        ),
        "neighbors[0].exportPolicy",
        &["\"c\" is not a defined policy", "policies: a, b"],
    );
    // A reference to a declared but invalid policy reports the policy only.
    refused(
        &format!(
            "{BASE}policies:\n  - {{ name: a }}\nneighbors:\n  - {{ address: 10.0.0.2, asn: 1, importPolicy: a }}\n"
        ),
        "policies[0].default",
        &["required"],
    );
}

#[test]
fn policy_errors_are_all_collected() {
    let errors = invalid(&format!(
        "{BASE}policies:\n  - {{ name: p, default: accept, terms: [ {{ match: {{ prefix: 10.0.0.0/33, community: x, originASN: 0 }}, set: {{ med: -1 }}, action: accept }}, {{ set: {{ localPref: 1 }} }} ] }}\nneighbors:\n  - {{ address: 10.0.0.2, asn: 1, importPolicy: q }}\n"
    ));
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "neighbors[0].importPolicy",
            "policies[0].terms[0].match.prefix",
            "policies[0].terms[0].match.community",
            "policies[0].terms[0].match.originASN",
            "policies[0].terms[0].set.med",
            "policies[0].terms[1].action",
        ],
        "{errors:#?}"
    );
}

#[test]
fn policy_shape_errors_are_named() {
    let e = syntax_error(&term("match: { bogus: 1 }, action: accept"));
    assert!(
        e.contains("policies[0].terms[0].match: unknown field `bogus`"),
        "{e}"
    );
    let e = syntax_error(&term("set: { localPreference: 1 }, action: accept"));
    assert!(
        e.contains("policies[0].terms[0].set: unknown field `localPreference`"),
        "{e}"
    );
    let e = syntax_error(&term("action: permit"));
    assert!(e.contains("unknown variant `permit`"), "{e}");
    let e = syntax_error(&format!(
        "{BASE}policies:\n  - {{ name: p, default: deny }}\n"
    ));
    assert!(
        e.contains("policies[0].default: unknown variant `deny`"),
        "{e}"
    );
    let e = syntax_error(&matching("families: [ l2vpn ]"));
    assert!(e.contains("unknown variant `l2vpn`"), "{e}");
}

#[test]
fn policy_changes_apply_in_place() {
    let text = |import: &str, p_default: &str| {
        format!(
            "{BASE}policies:\n  - {{ name: p, default: {p_default} }}\n  - {{ name: q, default: accept }}\nneighbors:\n  - {{ address: 10.0.0.2, asn: 1{import} }}\n"
        )
    };
    let a = ok(&text("", "accept"));
    for other in [
        text(", importPolicy: p", "accept"),
        text(", exportPolicy: q", "accept"),
        text(", importPolicy: p, exportPolicy: p", "accept"),
    ] {
        let b = ok(&other);
        assert_ne!(a.neighbors[0], b.neighbors[0]);
        assert!(!a.neighbors[0].identity_changed(&b.neighbors[0]), "{other}");
        assert!(!a.instance_identity_changed(&b));
    }
    // A policy's content changes the config, not any identity.
    let b = ok(&text("", "reject"));
    assert_ne!(a, b);
    assert_ne!(a.policies["p"], b.policies["p"]);
    assert!(!a.instance_identity_changed(&b));
    assert!(!a.neighbors[0].identity_changed(&b.neighbors[0]));
    // The same text twice: equal policies.
    assert_eq!(
        ok(&text(", importPolicy: p", "accept")),
        ok(&text(", importPolicy: p", "accept"))
    );
}

#[test]
fn policies_serialize() {
    let c = example("full.yaml");
    let json = serde_json::to_string(&c).unwrap();
    assert!(
        json.contains("\"policies\":{\"from-tor\":{\"name\":\"from-tor\""),
        "{json}"
    );
    assert!(json.contains("\"import_policy\":\"from-tor\""), "{json}");
    assert!(json.contains("\"64514:100\""), "{json}");
}

#[test]
fn docs_policy_example_loads() {
    let docs = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md"),
    )
    .unwrap();
    let section = docs.split("\n## Policies\n").nth(1).unwrap();
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .unwrap();
    let c = ok(&format!("{BASE}{yaml}"));
    assert_eq!(c.policies["from-tor"].terms.len(), 3);
    assert_eq!(c.neighbors[0].import_policy.as_deref(), Some("from-tor"));
}

// ---------------------------------------------------------------------------------------------
// Passthrough host sessions, node index, originated networks
// ---------------------------------------------------------------------------------------------

const PASSTHROUGH: &str = "passthrough:\n  hostSession:\n    asn: 64514\n    hostASN: 64515\n    localCIDR: { ipv4: 192.169.10.0/24, ipv6: \"fd00:10::/64\" }\n";

#[test]
fn passthrough_host_session_becomes_neighbours_per_family_and_originates_the_host_addresses() {
    let c = ok(&format!("{BASE}{PASSTHROUGH}"));
    let hosts: Vec<(String, Vec<Family>)> = c
        .neighbors
        .iter()
        .map(|n| (n.target.to_string(), n.families.clone()))
        .collect();
    assert_eq!(
        hosts,
        vec![
            ("192.169.10.2".to_string(), vec![Family::Ipv4Unicast]),
            ("fd00:10::2".to_string(), vec![Family::Ipv6Unicast]),
        ]
    );
    let n = &c.neighbors[0];
    assert_eq!(n.remote_as, RemoteAs::Asn(64515));
    assert_eq!(
        n.local_as, c.asn,
        "the instance ASN, as OpenPERouter renders it"
    );
    assert_eq!(n.connect_time, 5);
    assert_eq!(n.next_hop_self, NextHopSelf::Off);
    let originated: Vec<String> = c.originated().iter().map(|p| p.to_string()).collect();
    assert_eq!(originated, vec!["192.169.10.2/32", "fd00:10::2/128"]);
}

#[test]
fn passthrough_addresses_follow_openperouter_formulas() {
    use router::config::host_session_addresses;
    let a = |cidr: &str, idx: u32| {
        host_session_addresses(cidr.parse().unwrap(), idx)
            .map(|(r, h)| (r.to_string(), h.to_string()))
    };
    assert_eq!(
        a("192.169.10.0/24", 0),
        Some(("192.169.10.1".into(), "192.169.10.2".into()))
    );
    assert_eq!(
        a("192.169.10.0/24", 1),
        Some(("192.169.10.1".into(), "192.169.10.3".into()))
    );
    // A CIDR written with host bits that do not end in .0: the router takes it, hosts follow.
    assert_eq!(
        a("192.169.10.5/24", 0),
        Some(("192.169.10.5".into(), "192.169.10.6".into()))
    );
    assert_eq!(
        a("2001:db8:1::/64", 1),
        Some(("2001:db8:1::1".into(), "2001:db8:1::3".into()))
    );
    // Past the end of the CIDR: none.
    assert_eq!(a("192.169.10.0/30", 5), None);
    // nodeIndex picks the host address.
    let c = ok(&format!("{BASE}nodeIndex: 3\n{PASSTHROUGH}"));
    assert_eq!(c.node_index, 3);
    assert_eq!(c.neighbors[0].target.to_string(), "192.169.10.5");
}

#[test]
fn passthrough_host_address_conflicts_with_a_neighbour() {
    let text =
        format!("{BASE}neighbors:\n  - {{ address: 192.169.10.2, asn: 64515 }}\n{PASSTHROUGH}");
    refused(
        &text,
        "neighbors[0].address",
        &["192.169.10.2", "passthrough"],
    );
}

#[test]
fn networks_are_prefixes_without_host_bits() {
    let c = ok(&format!(
        "{BASE}networks: [10.0.0.0/24, \"fd00::/64\", 10.0.0.0/24]\n"
    ));
    let originated: Vec<String> = c.originated().iter().map(|p| p.to_string()).collect();
    assert_eq!(originated, vec!["10.0.0.0/24", "fd00::/64"]);
    refused(
        &format!("{BASE}networks: [10.0.0.1/24]\n"),
        "networks[0]",
        &["host bits", "10.0.0.0/24"],
    );
    refused(
        &format!("{BASE}networks: [banana]\n"),
        "networks[0]",
        &["not a prefix"],
    );
    refused(&format!("{BASE}nodeIndex: -1\n"), "nodeIndex", &["-1"]);
}

#[test]
fn the_password_never_shows_in_debug_or_json() {
    let n = neighbor("address: 10.0.0.2, asn: 1, password: hunter2hunter2");
    assert_eq!(n.password.as_deref(), Some("hunter2hunter2"));
    assert!(!format!("{n:?}").contains("hunter2"));
    assert!(!serde_json::to_string(&n).unwrap().contains("hunter2"));
}
