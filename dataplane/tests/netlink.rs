//! NetlinkDataplane against the real kernel, each test in its own network namespaces.
//!
//! Needs root, `ip` (iproute2) and the bridge, vxlan and veth drivers; a missing prerequisite
//! fails the test with a message (it is never skipped silently).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

use dataplane::netlink::NetlinkDataplane;
use dataplane::{
    Address, ApplyReport, Dataplane, DesiredState, Link, LinkKind, NextHop, Route, RouteKind,
    RTPROT_PEROUTERD,
};
use serde_json::Value;

mod common;

use common::Netns;

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

fn desired(peer_ns: &str) -> DesiredState {
    let mut d = DesiredState::new();
    // Default bridge attributes, as OpenPERouter: a bridge's MTU follows its ports unless set.
    d.add_link(Link::new("br-pe-100", LinkKind::Bridge).up());
    d.add_link(
        Link::new(
            "vni100",
            LinkKind::Vxlan {
                vni: 100,
                local: Some("100.65.0.1".parse().unwrap()),
                dev: Some("lo".into()),
                dstport: 4789,
                learning: false,
            },
        )
        .with_master("br-pe-100")
        .with_mtu(1450)
        .up(),
    );
    d.add_link(
        Link::new(
            "pe-e-100",
            LinkKind::Veth {
                peer: "host-e-100".into(),
                peer_netns: Some(peer_ns.into()),
            },
        )
        .with_mtu(1450)
        .up(),
    );
    d.add_address(Address::new("lo", net("100.65.0.1/32")));
    d.add_address(Address::new("br-pe-100", net("10.100.0.1/24")));
    d.add_address(Address::new("pe-e-100", net("192.169.10.1/24")));
    d.add_address(Address::new("pe-e-100", net("2001:db8:1::1/64")));
    d.add_route(Route::unicast(
        100,
        net("10.1.0.0/24"),
        vec![NextHop::via(
            "192.169.10.2".parse().unwrap(),
            Some("pe-e-100".into()),
        )],
    ));
    d.add_route(Route::unicast(
        100,
        net("10.2.0.0/24"),
        vec![NextHop::dev("br-pe-100")],
    ));
    d.add_route(Route::new(100, net("10.3.0.0/24"), RouteKind::Blackhole));
    d.add_route(Route::unicast(
        100,
        net("10.4.0.0/24"),
        vec![NextHop {
            via: Some("100.65.0.2".parse().unwrap()),
            dev: Some("br-pe-100".into()),
            onlink: true,
        }],
    ));
    d.add_route(Route::unicast(
        100,
        net("2001:db8:9::/64"),
        vec![NextHop::via(
            "2001:db8:1::2".parse().unwrap(),
            Some("pe-e-100".into()),
        )],
    ));
    d
}

fn apply(ns: &Netns, d: &DesiredState) -> ApplyReport {
    let d = d.clone();
    ns.run(move || async move {
        let mut dp = NetlinkDataplane::new().unwrap();
        dp.apply(&d).await.unwrap()
    })
}

fn ifindex(ns: &Netns, name: &str) -> u64 {
    ns.link(name)["ifindex"].as_u64().unwrap()
}

#[test]
fn reconcile_bridge_vxlan_veth_addresses_routes() {
    let ns = Netns::new("a");
    let peer = Netns::new("b");
    let d = desired(&peer.0);

    // One long-lived dataplane for the first steps.
    let (d2, ns_name) = (d.clone(), ns.0.clone());
    let reports = ns.run(move || async move {
        let mut dp = NetlinkDataplane::new().unwrap();
        let first = dp.apply(&d2).await.unwrap();
        let second = dp.apply(&d2).await.unwrap();
        // Someone else's route in our table: never ours, never touched.
        let out = Command::new("ip")
            .args([
                "-n",
                &ns_name,
                "route",
                "add",
                "10.9.0.0/24",
                "dev",
                "br-pe-100",
            ])
            .args(["table", "100", "proto", "static"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let third = dp.apply(&d2).await.unwrap();
        let current = dp.current().await.unwrap();
        (first, second, third, current)
    });
    let (first, second, third, current) = reports;
    assert_eq!(first.links.created, 3, "{first:?}");
    assert_eq!(first.addresses.created, 4, "{first:?}");
    assert_eq!(first.routes.created, 5, "{first:?}");
    assert_eq!(first.writes, 12, "{first:?}");
    assert!(
        second.is_noop(),
        "same state again must write nothing: {second:?}"
    );
    assert!(
        third.is_noop(),
        "a foreign route must not cause writes: {third:?}"
    );
    assert_eq!(current.links.len(), 3);
    assert_eq!(current.addresses.len(), 4);
    assert_eq!(current.routes.len(), 5);

    // Kernel view.
    let vx = ns.link("vni100");
    let info = &vx["linkinfo"]["info_data"];
    assert_eq!(vx["linkinfo"]["info_kind"], "vxlan");
    assert_eq!(info["id"], 100);
    assert_eq!(info["port"], 4789);
    assert_eq!(info["learning"], false);
    assert_eq!(info["local"], "100.65.0.1");
    assert_eq!(info["link"], "lo");
    assert_eq!(vx["master"], "br-pe-100");
    assert_eq!(vx["mtu"], 1450);
    assert_eq!(vx["group"], "4243");
    let br = ns.link("br-pe-100");
    assert_eq!(br["linkinfo"]["info_kind"], "bridge");
    assert!(br["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    let veth = ns.link("pe-e-100");
    assert_eq!(veth["linkinfo"]["info_kind"], "veth");
    assert_eq!(veth["mtu"], 1450);
    let host = peer.link("host-e-100");
    assert_eq!(host["mtu"], 1450);
    assert_eq!(host["linkinfo"]["info_kind"], "veth");
    let addrs = ns.json(&["addr", "show", "dev", "pe-e-100"]);
    let locals: Vec<String> = addrs[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    assert!(
        locals.contains(&"192.169.10.1/24".to_string()),
        "{locals:?}"
    );
    assert!(
        locals.contains(&"2001:db8:1::1/64".to_string()),
        "{locals:?}"
    );
    let routes = ns.routes("100");
    let proto = RTPROT_PEROUTERD.to_string();
    let ours: Vec<&Value> = routes
        .iter()
        .filter(|r| r["protocol"].as_str() == Some(proto.as_str()))
        .collect();
    assert_eq!(ours.len(), 5, "{routes:?}");
    let onlink = routes.iter().find(|r| r["dst"] == "10.4.0.0/24").unwrap();
    assert!(
        onlink["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "onlink"),
        "{onlink}"
    );
    assert!(routes
        .iter()
        .any(|r| r["dst"] == "10.3.0.0/24" && r["type"] == "blackhole"));

    // MTU change: one in-place write, same ifindex.
    let before = ifindex(&ns, "vni100");
    let mut d_mtu = d.clone();
    let vni = d_mtu.links["vni100"].clone().with_mtu(1400);
    d_mtu.add_link(vni);
    let r = apply(&ns, &d_mtu);
    assert_eq!((r.links.updated, r.writes), (1, 1), "{r:?}");
    assert_eq!(
        ifindex(&ns, "vni100"),
        before,
        "vni100 must not be recreated"
    );
    assert_eq!(ns.link("vni100")["mtu"], 1400);

    // Remove one route: only it goes; the foreign one stays.
    let mut d_less = d_mtu.clone();
    d_less.routes.retain(|k, _| k.dst != net("10.3.0.0/24"));
    let r = apply(&ns, &d_less);
    assert_eq!((r.routes.deleted, r.writes), (1, 1), "{r:?}");
    let routes = ns.routes("100");
    assert!(!routes.iter().any(|r| r["dst"] == "10.3.0.0/24"));
    assert!(routes
        .iter()
        .any(|r| r["dst"] == "10.9.0.0/24" && r["protocol"] == "static"));

    // Restart adoption: a fresh instance (new thread, runtime and socket) writes nothing.
    let r = apply(&ns, &d_less);
    assert!(r.is_noop(), "restart must adopt, not rewrite: {r:?}");

    // Empty desired state: only our objects go.
    let r = apply(&ns, &DesiredState::new());
    assert_eq!(r.links.deleted, 3, "{r:?}");
    let lo = ns.json(&["addr", "show", "dev", "lo"]);
    let lo_addrs: Vec<&str> = lo[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["local"].as_str())
        .collect();
    assert!(lo_addrs.contains(&"127.0.0.1"), "{lo_addrs:?}");
    assert!(!lo_addrs.contains(&"100.65.0.1"), "{lo_addrs:?}");
    assert!(apply(&ns, &DesiredState::new()).is_noop());
}

#[test]
fn foreign_link_is_adopted_in_place_and_conflicting_kind_is_refused() {
    let ns = Netns::new("c");
    ns.ip(&["link", "add", "br-pe-7", "type", "bridge"]);
    let before = ifindex(&ns, "br-pe-7");
    let mut d = DesiredState::new();
    d.add_link(Link::new("br-pe-7", LinkKind::Bridge).up());
    let r = apply(&ns, &d);
    assert_eq!((r.links.updated, r.writes), (1, 1), "{r:?}");
    assert_eq!(ifindex(&ns, "br-pe-7"), before);
    assert_eq!(ns.link("br-pe-7")["group"], "4243");

    ns.ip(&["link", "add", "vni7", "type", "bridge"]);
    let mut d = DesiredState::new();
    d.add_link(Link::new(
        "vni7",
        LinkKind::Vxlan {
            vni: 7,
            local: None,
            dev: None,
            dstport: 4789,
            learning: false,
        },
    ));
    let err = ns.run(move || async move {
        let mut dp = NetlinkDataplane::new().unwrap();
        dp.apply(&d).await.unwrap_err().to_string()
    });
    assert!(err.contains("vni7") && err.contains("not ours"), "{err}");
    assert_eq!(ns.link("vni7")["linkinfo"]["info_kind"], "bridge");
}
