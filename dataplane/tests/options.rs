//! Link options (IPv6 address generation, bridge-port flags), external links (`lo`),
//! sysctls, route metrics and SRv6 routes (seg6 encap, seg6local) against the real kernel,
//! each test in its own network namespace.
//!
//! Needs root, `ip` (iproute2), `sysctl` (procps) and the bridge, vxlan and seg6 support of the
//! kernel; a missing prerequisite fails the test with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

use dataplane::netlink::NetlinkDataplane;
use dataplane::{
    AddrGenMode, ApplyReport, BridgePort, Dataplane, DataplaneError, DesiredState, Encap, Link,
    LinkKind, NextHop, Route, RouteKind, Seg6LocalAction,
};
use serde_json::Value;

mod common;

use common::Netns;

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

fn try_apply(ns: &Netns, d: &DesiredState) -> Result<ApplyReport, DataplaneError> {
    let d = d.clone();
    ns.run(move || async move {
        let mut dp = NetlinkDataplane::new().unwrap();
        dp.apply(&d).await
    })
}

fn apply(ns: &Netns, d: &DesiredState) -> ApplyReport {
    try_apply(ns, d).unwrap_or_else(|e| panic!("apply: {e}"))
}

fn sysctl(ns: &Netns, key: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "sysctl", "-n", key])
        .output()
        .expect("prerequisite: `sysctl` (procps) must be installed");
    assert!(out.status.success(), "sysctl -n {key}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn link_local_count(ns: &Netns, dev: &str) -> usize {
    ns.json(&["-6", "addr", "show", "dev", dev, "scope", "link"])
        .iter()
        .map(|l| l["addr_info"].as_array().map_or(0, Vec::len))
        .sum()
}

fn vxlan() -> LinkKind {
    LinkKind::Vxlan {
        vni: 300,
        local: Some("100.65.0.1".parse().unwrap()),
        dev: Some("lo".into()),
        dstport: 4789,
        learning: false,
    }
}

fn l3vni_like(neigh_suppress: bool) -> DesiredState {
    let mut d = DesiredState::new();
    d.add_link(Link::external("lo").up());
    d.add_link(
        Link::new("br-pe-300", LinkKind::Bridge)
            .with_addr_gen_mode(AddrGenMode::None)
            .up(),
    );
    d.add_link(
        Link::new("vni300", vxlan())
            .with_master("br-pe-300")
            .with_addr_gen_mode(AddrGenMode::None)
            .with_port(BridgePort {
                learning: Some(false),
                neigh_suppress: Some(neigh_suppress),
            })
            .up(),
    );
    d.set_sysctl("net/ipv4/conf/all/forwarding", "1");
    d.set_sysctl("net.ipv6.conf.all.forwarding", "1");
    // A per-device sysctl of a link created by the same apply.
    d.set_sysctl("net/ipv4/conf/br-pe-300/arp_accept", "1");
    d
}

#[test]
fn addr_gen_mode_bridge_port_flags_external_lo_and_sysctls() {
    let ns = Netns::new("opts");
    ns.ip(&["link", "set", "lo", "down"]);
    assert_eq!(sysctl(&ns, "net.ipv4.conf.all.forwarding"), "0");

    let d = l3vni_like(true);
    let r = apply(&ns, &d);
    assert_eq!(r.links.created, 2, "{r:?}");
    assert_eq!(r.links.updated, 1, "lo brought up in place: {r:?}");
    assert_eq!(r.sysctls, 3, "{r:?}");

    let lo = ns.link("lo");
    assert!(
        lo["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
        "{lo}"
    );
    assert_ne!(
        lo["group"], "4243",
        "an external link is never marked: {lo}"
    );
    let vx = ns.link("vni300");
    assert_eq!(vx["linkinfo"]["info_slave_kind"], "bridge", "{vx}");
    let port = &vx["linkinfo"]["info_slave_data"];
    assert_eq!(port["neigh_suppress"], true, "{port}");
    assert_eq!(port["learning"], false, "{port}");
    assert_eq!(vx["inet6_addr_gen_mode"], "none", "{vx}");
    assert_eq!(ns.link("br-pe-300")["inet6_addr_gen_mode"], "none");
    // Set before the links first went up: no link-local address ever appeared.
    assert_eq!(link_local_count(&ns, "br-pe-300"), 0);
    assert_eq!(link_local_count(&ns, "vni300"), 0);
    assert_eq!(sysctl(&ns, "net.ipv4.conf.all.forwarding"), "1");
    assert_eq!(sysctl(&ns, "net.ipv6.conf.all.forwarding"), "1");
    assert_eq!(sysctl(&ns, "net.ipv4.conf.br-pe-300.arp_accept"), "1");

    let again = apply(&ns, &d);
    assert!(
        again.is_noop(),
        "second apply must write nothing: {again:?}"
    );

    // One flag flipped: one in-place change, no recreate.
    let index = ns.link("vni300")["ifindex"].clone();
    let r = apply(&ns, &l3vni_like(false));
    assert_eq!((r.links.updated, r.links.created), (1, 0), "{r:?}");
    let vx = ns.link("vni300");
    assert_eq!(vx["ifindex"], index);
    assert_eq!(vx["linkinfo"]["info_slave_data"]["neigh_suppress"], false);
    assert!(apply(&ns, &l3vni_like(false)).is_noop());

    // Someone changes a sysctl behind our back: it is written again, and only it.
    ns.sysctl("net.ipv4.conf.all.forwarding=0");
    let r = apply(&ns, &l3vni_like(false));
    assert_eq!((r.sysctls, r.writes), (1, 1), "{r:?}");

    // Removing everything deletes our links and leaves lo (external) and sysctls alone.
    let r = apply(&ns, &DesiredState::new());
    assert_eq!(r.links.deleted, 2, "{r:?}");
    assert!(ns.json(&["link", "show", "dev", "lo"]).len() == 1);
    assert_eq!(sysctl(&ns, "net.ipv4.conf.all.forwarding"), "1");

    // An external link that does not exist is an error naming it, and nothing is created.
    let mut missing = DesiredState::new();
    missing.add_link(Link::external("eth-ul").up());
    match try_apply(&ns, &missing) {
        Err(DataplaneError::MissingLink { link, .. }) => assert_eq!(link, "eth-ul"),
        other => panic!("expected MissingLink, got {other:?}"),
    }
}

fn routes(ns: &Netns, family: &str, table: &str) -> Vec<Value> {
    ns.json(&[family, "route", "show", "table", table])
}

fn srv6_state() -> DesiredState {
    let mut d = DesiredState::new();
    d.add_link(Link::new("br-sr", LinkKind::Bridge).up());
    // Two routes to one prefix, told apart by metric; an IPv6 route at the default metric.
    d.add_route(
        Route::unicast(100, net("10.1.0.0/24"), vec![NextHop::dev("br-sr")]).with_metric(10),
    );
    d.add_route(
        Route::unicast(100, net("10.1.0.0/24"), vec![NextHop::dev("br-sr")]).with_metric(20),
    );
    d.add_route(
        Route::unicast(100, net("2001:db8:5::/64"), vec![NextHop::dev("br-sr")]).with_metric(1024),
    );
    d.add_route(
        Route::new(100, net("0.0.0.0/0"), RouteKind::Unreachable)
            .with_metric(dataplane::layout::UNREACHABLE_DEFAULT_METRIC),
    );
    // H.Encaps towards a remote SID (IPv4 and IPv6 payloads), and two local SIDs.
    d.add_route(
        Route::unicast(100, net("10.2.0.0/24"), vec![NextHop::dev("br-sr")]).with_encap(
            Encap::Seg6 {
                segments: vec![
                    "fd00:0:20::1".parse().unwrap(),
                    "fd00:0:30::1".parse().unwrap(),
                ],
            },
        ),
    );
    d.add_route(
        Route::unicast(100, net("2001:db8:6::/64"), vec![NextHop::dev("br-sr")]).with_encap(
            Encap::Seg6 {
                segments: vec!["fd00:0:20::2".parse().unwrap()],
            },
        ),
    );
    d.add_route(
        Route::unicast(254, net("fd00:0:10::100/128"), vec![NextHop::dev("br-sr")])
            .with_encap(Encap::Seg6Local(Seg6LocalAction::EndDt6 { table: 100 })),
    );
    d.add_route(
        Route::unicast(254, net("fd00:0:10::1/128"), vec![NextHop::dev("br-sr")])
            .with_encap(Encap::Seg6Local(Seg6LocalAction::End)),
    );
    d
}

#[test]
fn route_metrics_and_srv6_encap_and_seg6local() {
    let ns = Netns::new("srv6");
    let d = srv6_state();
    let r = apply(&ns, &d);
    assert_eq!(r.routes.created, 8, "{r:?}");

    let v4 = routes(&ns, "-4", "100");
    let metrics: Vec<u64> = v4
        .iter()
        .filter(|r| r["dst"] == "10.1.0.0/24")
        .map(|r| r["metric"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(metrics, [10, 20], "{v4:?}");
    let unreachable = v4.iter().find(|r| r["dst"] == "default").unwrap();
    assert_eq!(unreachable["type"], "unreachable");
    assert_eq!(unreachable["metric"], 4_278_198_272u64);

    let enc = v4.iter().find(|r| r["dst"] == "10.2.0.0/24").unwrap();
    assert_eq!(enc["encap"], "seg6", "{enc}");
    assert_eq!(enc["mode"], "encap", "{enc}");
    assert_eq!(
        enc["segs"],
        serde_json::json!(["fd00:0:20::1", "fd00:0:30::1"]),
        "segments in travel order: {enc}"
    );
    let v6 = routes(&ns, "-6", "100");
    let enc6 = v6.iter().find(|r| r["dst"] == "2001:db8:6::/64").unwrap();
    assert_eq!(enc6["encap"], "seg6", "{enc6}");
    let plain6 = v6.iter().find(|r| r["dst"] == "2001:db8:5::/64").unwrap();
    assert_eq!(plain6["metric"], 1024);

    let main6 = routes(&ns, "-6", "main");
    let dt6 = main6.iter().find(|r| r["dst"] == "fd00:0:10::100").unwrap();
    assert_eq!(dt6["encap"], "seg6local", "{dt6}");
    assert_eq!(dt6["action"], "End.DT6", "{dt6}");
    assert_eq!(dt6["table"], "100", "{dt6}");
    let end = main6.iter().find(|r| r["dst"] == "fd00:0:10::1").unwrap();
    assert_eq!(end["action"], "End", "{end}");

    let again = apply(&ns, &d);
    assert!(
        again.is_noop(),
        "metrics, segments and seg6local read back equal: {again:?}"
    );

    // A changed segment list is one replace; dropping one metric deletes just that route.
    let mut changed = d.clone();
    changed.add_route(
        Route::unicast(100, net("10.2.0.0/24"), vec![NextHop::dev("br-sr")]).with_encap(
            Encap::Seg6 {
                segments: vec!["fd00:0:40::1".parse().unwrap()],
            },
        ),
    );
    changed
        .routes
        .retain(|k, _| !(k.dst == net("10.1.0.0/24") && k.metric == Some(20)));
    let r = apply(&ns, &changed);
    assert_eq!(
        (r.routes.updated, r.routes.deleted, r.writes),
        (1, 1, 2),
        "{r:?}"
    );
    let v4 = routes(&ns, "-4", "100");
    let metrics: Vec<u64> = v4
        .iter()
        .filter(|r| r["dst"] == "10.1.0.0/24")
        .map(|r| r["metric"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(metrics, [10], "{v4:?}");
    let enc = v4.iter().find(|r| r["dst"] == "10.2.0.0/24").unwrap();
    assert_eq!(enc["segs"], serde_json::json!(["fd00:0:40::1"]), "{enc}");
    assert!(apply(&ns, &changed).is_noop());

    let r = apply(&ns, &DesiredState::new());
    assert_eq!(r.links.deleted, 1, "{r:?}");
    assert!(
        routes(&ns, "-4", "100").is_empty(),
        "{:?}",
        routes(&ns, "-4", "100")
    );
    assert!(routes(&ns, "-6", "100").is_empty());
}
