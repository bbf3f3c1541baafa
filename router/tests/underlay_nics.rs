//! The underlay NIC move (`nics`): perouterd with `--host-netns` moves the configured NICs from
//! the host namespace into its own (with their addresses, link group 4242, up) before the rest
//! of the layout, peers with the ToR over them, leaves them in place across a restart, and
//! moves a NIC back when the configuration no longer lists it. A NIC that exists nowhere is
//! an error retried every 5 s, and does not hold the rest of the layout back.
//!
//! The parsing tests need nothing; the others need root, iproute2 and GoBGP
//! (`apt-get install --no-install-recommends gobgpd`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lab;

use lab::{sh, veth, wait_for, Gobgp, Netns, Perouterd};
use serde_json::Value;

const BASE: &str = "\
routerID: 10.0.0.1
asn: 64514
neighbors:
  - { address: 192.168.50.2, asn: 64512, holdTimeSeconds: 9, keepaliveTimeSeconds: 3, connectTimeSeconds: 1 }
";

fn with_nics(nics: &str) -> String {
    format!("{BASE}nics: {nics}\n")
}

const TOR: &str = "[global.config]\n  as = 64512\n  router-id = \"10.0.0.100\"\n\
[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"192.168.50.3\"\n    peer-as = 64514\n\
[neighbors.transport.config]\n    local-address = \"192.168.50.2\"\n\
[neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n    connect-retry = 1\n\
[[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = \"ipv4-unicast\"\n";

/// `ip -j link show dev DEV` in `ns`, if the link exists there.
fn link(ns: &Netns, dev: &str) -> Option<Value> {
    let out = std::process::Command::new("ip")
        .args(["-n", &ns.name, "-j", "link", "show", "dev", dev])
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice::<Vec<Value>>(&out.stdout)
        .unwrap()
        .into_iter()
        .next()
}

/// The global addresses of `dev` in `ns`, as `addr/len`, sorted.
fn addresses(ns: &Netns, dev: &str) -> Vec<String> {
    let text = sh(&["ip", "-n", &ns.name, "-j", "addr", "show", "dev", dev]);
    let mut v: Vec<String> = serde_json::from_str::<Vec<Value>>(&text)
        .unwrap()
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    v.sort();
    v
}

fn is_up(l: &Value) -> bool {
    l["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "UP"))
}

fn pings(ns: &Netns, addr: &str) -> bool {
    std::process::Command::new("ip")
        .args([
            "netns", "exec", &ns.name, "ping", "-c", "1", "-W", "1", addr,
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

const ETH1_ADDRS: [&str; 2] = ["192.168.50.3/24", "fd00:50::3/64"];

fn expected_addrs() -> Vec<String> {
    let mut v: Vec<String> = ETH1_ADDRS.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn nic_is_moved_in_kept_across_a_restart_and_moved_back_when_unlisted() {
    let host = Netns::new("uh");
    let tor = Netns::new("ut");
    let router = Netns::new("ur");
    veth(
        &host,
        "eth1",
        &ETH1_ADDRS,
        &tor,
        "tor0",
        &["192.168.50.2/24", "fd00:50::2/64"],
    );
    let host_mac = link(&host, "eth1").unwrap()["address"].clone();
    let gobgp = Gobgp::start(&tor, TOR);
    let host_path = format!("/run/netns/{}", host.name);
    let mut r =
        Perouterd::start_with_args(&router, &with_nics("[eth1]"), &["--host-netns", &host_path]);

    // Moved: in the router namespace, group 4242, up, with both addresses; gone from the host.
    let l = wait_for(20, "eth1 in the router namespace", || link(&router, "eth1"));
    assert_eq!(l["group"], "4242", "underlay marker group: {l}");
    assert!(is_up(&l), "eth1 is not up: {l}");
    assert_eq!(l["address"], host_mac, "MAC changed by the move");
    wait_for(10, "eth1's addresses in the router namespace", || {
        (addresses(&router, "eth1") == expected_addrs()).then_some(())
    });
    assert!(
        link(&host, "eth1").is_none(),
        "eth1 still in the host namespace"
    );
    assert!(
        r.log()
            .contains("underlay NIC moved into the router namespace"),
        "no move logged:\n{}",
        r.log()
    );

    // The underlay works over it: BGP to the ToR and pings, IPv4 and IPv6.
    r.wait_established("192.168.50.2", 30);
    gobgp.wait_established("192.168.50.3", 10);
    wait_for(10, "a ping from the router namespace to the ToR", || {
        pings(&router, "192.168.50.2").then_some(())
    });
    wait_for(10, "an IPv6 ping to the ToR", || {
        pings(&router, "fd00:50::2").then_some(())
    });

    // A restart finds eth1 in place: same ifindex, same addresses, nothing written.
    let ifindex = l["ifindex"].clone();
    let in_place = |log: &str| {
        log.lines()
            .filter(|x| x.contains("already there") && x.contains("eth1"))
            .count()
    };
    let before = in_place(&r.log());
    r.stop();
    assert!(
        link(&router, "eth1").is_some(),
        "stopping perouterd moved eth1 out"
    );
    r.start_again();
    wait_for(20, "the restarted daemon to find eth1 in place", || {
        (in_place(&r.log()) > before).then_some(())
    });
    let l = link(&router, "eth1").unwrap();
    assert_eq!(l["ifindex"], ifindex, "eth1 was moved again: {l}");
    assert_eq!(l["group"], "4242");
    assert_eq!(addresses(&router, "eth1"), expected_addrs());
    // GoBGP holds its side idle for a while after the restart's Cease.
    r.wait_established("192.168.50.2", 90);

    // Unlisted: eth1 goes back to the host namespace with its addresses, in the default group.
    r.write_config(&with_nics("[]"));
    r.ctl(&["reload"]);
    let l = wait_for(20, "eth1 back in the host namespace", || {
        link(&host, "eth1")
    });
    assert!(
        link(&router, "eth1").is_none(),
        "eth1 still in the router namespace"
    );
    assert_eq!(l["group"], "default", "group not reset: {l}");
    assert!(is_up(&l), "eth1 is not up in the host: {l}");
    assert_eq!(l["address"], host_mac);
    wait_for(10, "eth1's addresses in the host namespace", || {
        (addresses(&host, "eth1") == expected_addrs()).then_some(())
    });
    wait_for(10, "a ping from the host namespace to the ToR", || {
        pings(&host, "192.168.50.2").then_some(())
    });
    assert!(
        r.log()
            .contains("underlay NIC moved back to the host namespace"),
        "no move back logged"
    );
}

#[test]
fn a_missing_nic_is_an_error_retried_and_the_rest_of_the_layout_applies() {
    let host = Netns::new("mh");
    let router = Netns::new("mr");
    let host_path = format!("/run/netns/{}", host.name);
    let yaml = "\
routerID: 10.0.0.1
asn: 64514
nics: [nosuch0]
passthrough:
  hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.11.0/24 } }
";
    let r = Perouterd::start_with_args(&router, yaml, &["--host-netns", &host_path]);
    let errors = |log: &str| {
        log.lines()
            .filter(|x| {
                x.contains("ERROR")
                    && x.contains("underlay NIC not moved into the router namespace")
                    && x.contains("nosuch0")
            })
            .count()
    };
    wait_for(20, "the missing NIC's error", || {
        (errors(&r.log()) >= 1).then_some(())
    });
    assert!(r.log().contains("not found"), "{}", r.log());
    // The rest of the layout is applied regardless.
    wait_for(20, "the passthrough veth", || {
        (link(&router, "pt-ns").is_some() && link(&host, "pt-host").is_some()).then_some(())
    });
    // Retried every 5 s; once the NIC appears in the host namespace it is moved in.
    wait_for(15, "a retry", || (errors(&r.log()) >= 2).then_some(()));
    sh(&[
        "ip", "-n", &host.name, "link", "add", "nosuch0", "type", "veth", "peer", "name",
        "nosuch0p",
    ]);
    host.addr("nosuch0", "192.168.60.3/24");
    let l = wait_for(15, "nosuch0 moved in by a retry", || {
        link(&router, "nosuch0")
    });
    assert_eq!(l["group"], "4242");
    assert_eq!(addresses(&router, "nosuch0"), vec!["192.168.60.3/24"]);
}

#[test]
fn without_host_netns_nics_are_ignored_with_a_warning() {
    let host = Netns::new("wh");
    let router = Netns::new("wr");
    sh(&[
        "ip", "-n", &host.name, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
    ]);
    let r = Perouterd::start(&router, &with_nics("[eth1]"));
    wait_for(10, "the warning", || {
        r.log().contains("nics ignored").then_some(())
    });
    assert!(link(&host, "eth1").is_some(), "eth1 was moved");
    assert!(link(&router, "eth1").is_none());
}

#[test]
fn nics_are_validated() {
    let ok = router::config::parse(&with_nics("[eth1, ens3f0.100, toswitch_1]")).unwrap();
    assert_eq!(ok.nics, ["eth1", "ens3f0.100", "toswitch_1"]);
    assert!(router::config::parse(BASE).unwrap().nics.is_empty());
    for example in ["full.yaml", "evpn-node.yaml"] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/").to_owned() + example;
        assert_eq!(
            router::config::load(std::path::Path::new(&path))
                .unwrap()
                .nics,
            ["toswitch1"],
            "{example}"
        );
    }

    let err = |nics: &str| {
        router::config::parse(&with_nics(nics))
            .expect_err(nics)
            .to_string()
    };
    let e = err("[eth1, eth1]");
    assert!(e.contains("nics[1]") && e.contains("nics[0]"), "{e}");
    // As YAML list items.
    for bad in [
        "1eth",
        "a23456789012345x",
        "'eth 1'",
        "eth/1",
        "'eth:1'",
        "''",
    ] {
        let e = err(&format!("[{bad}]"));
        assert!(
            e.contains("nics[0]") && e.contains("not an interface name"),
            "{bad}: {e}"
        );
    }
    assert!(err("[lo]").contains("loopback"));
    for ours in [
        "pt-ns",
        "pt-host",
        "pe-e-100",
        "host-s-200",
        "br-hs-110",
        "vni100",
    ] {
        let e = err(&format!("[{ours}]"));
        assert!(e.contains("links it creates"), "{ours}: {e}");
    }
    // Only the exact shapes: a NIC may be called vnic0 or pe-e.
    router::config::parse(&with_nics("[vnic0, pe-e, vni]")).unwrap();
    let many: Vec<String> = (0..17).map(|i| format!("eth{i}")).collect();
    assert!(err(&format!("[{}]", many.join(", "))).contains("at most 16"));
}

/// Without `--underlay-mtu`, the smallest MTU of the moved NICs sizes the host veths (that −
/// 50 for the VXLAN overhead), as OpenPERouter derives it from the underlay interface.
#[test]
fn the_smallest_nic_mtu_sizes_the_host_veths() {
    let host = Netns::new("mh");
    let tor = Netns::new("mt");
    let router = Netns::new("mr");
    veth(
        &host,
        "eth1",
        &["192.168.50.3/24"],
        &tor,
        "tor0",
        &["192.168.50.2/24"],
    );
    veth(
        &host,
        "eth2",
        &["192.168.51.3/24"],
        &tor,
        "tor1",
        &["192.168.51.2/24"],
    );
    for (ns, dev, mtu) in [
        (&host, "eth1", "9000"),
        (&tor, "tor0", "9000"),
        (&host, "eth2", "1600"),
        (&tor, "tor1", "1600"),
    ] {
        sh(&["ip", "-n", &ns.name, "link", "set", dev, "mtu", mtu]);
    }
    let host_path = format!("/run/netns/{}", host.name);
    let config = format!(
        "{BASE}nics: [eth1, eth2]\ntunnelEndpoint: {{ cidrs: [100.65.0.0/24] }}\nl2vnis:\n  - {{ vni: 120 }}\n"
    );
    let _r = Perouterd::start_with_args(&router, &config, &["--host-netns", &host_path]);
    let pe = wait_for(20, "pe-e-120 in the router namespace", || {
        link(&router, "pe-e-120")
    });
    assert_eq!(pe["mtu"], 1550, "1600 (eth2, the smaller) − 50: {pe}");
    let he = wait_for(10, "host-e-120 in the host namespace", || {
        link(&host, "host-e-120")
    });
    assert_eq!(he["mtu"], 1550, "{he}");
    assert_eq!(
        link(&router, "eth1").unwrap()["mtu"],
        9000,
        "the NICs keep their MTU"
    );
}
