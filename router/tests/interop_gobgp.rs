//! perouterd against GoBGP 3.10 in network namespaces: GoBGP as the host speaker (MetalLB's
//! and frr-k8s' role) with FRR as the ToR, and fifty GoBGP speakers accepted from a listen
//! range (dynamic host peers) with a limit. Assertions read GoBGP's and FRR's own JSON.
//!
//! Needs root, iproute2, GoBGP and FRR (`apt-get install --no-install-recommends gobgpd frr`);
//! `.ci/run` installs them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lab;

use lab::{veth, wait_for, Frr, Gobgp, Netns, Perouterd};

/// A GoBGP host speaker in AS `asn` at `local`, peering with perouterd at `peer` (IPv4
/// session; IPv6 too when `v6` gives (local, peer)).
fn gobgp_config(
    asn: u32,
    router_id: &str,
    local: &str,
    peer: &str,
    v6: Option<(&str, &str)>,
) -> String {
    let mut s = format!(
        "[global.config]\n  as = {asn}\n  router-id = \"{router_id}\"\n  port = -1\n\
         [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{peer}\"\n    peer-as = 64514\n\
         [neighbors.transport.config]\n    local-address = \"{local}\"\n\
         [neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n    connect-retry = 1\n\
         [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = \"ipv4-unicast\"\n"
    );
    if let Some((l6, p6)) = v6 {
        s.push_str(&format!(
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{p6}\"\n    peer-as = 64514\n\
             [neighbors.transport.config]\n    local-address = \"{l6}\"\n\
             [neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n    connect-retry = 1\n\
             [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = \"ipv6-unicast\"\n"
        ));
    }
    s
}

#[test]
fn gobgp_host_routes_reach_the_frr_tor_and_back_over_ipv4_and_ipv6() {
    let lab::Topo {
        tor: tor_ns,
        router,
        host: host_ns,
    } = lab::topo();
    let tor = Frr::start(
        &tor_ns,
        "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
         neighbor 192.168.11.3 remote-as 64514\n neighbor fd00:11::3 remote-as 64514\n\
         address-family ipv4 unicast\n  network 10.200.0.0/24\n  neighbor 192.168.11.3 activate\n exit-address-family\n\
         address-family ipv6 unicast\n  network fd00:200::/64\n  neighbor fd00:11::3 activate\n exit-address-family\n",
    );
    let host = Gobgp::start(
        &host_ns,
        &gobgp_config(
            64515,
            "10.0.0.200",
            "192.169.10.2",
            "192.169.10.1",
            Some(("fd00:10::2", "fd00:10::1")),
        ),
    );
    host.cli(&["global", "rib", "add", "-a", "ipv4", "10.100.0.10/32"]);
    host.cli(&["global", "rib", "add", "-a", "ipv4", "10.100.0.11/32"]);
    host.cli(&["global", "rib", "add", "-a", "ipv6", "fd00:100::10/128"]);
    let r = Perouterd::start(
        &router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  asn: 64512\n\
         - address: fd00:11::2\n  asn: 64512\n\
         - address: 192.169.10.2\n  asn: 64515\n  description: gobgp-v4\n\
         - address: fd00:10::2\n  asn: 64515\n  description: gobgp-v6\n",
    );
    for a in ["192.168.11.2", "fd00:11::2", "192.169.10.2", "fd00:10::2"] {
        r.wait_established(a, 30);
    }
    host.wait_established("192.169.10.1", 10);
    host.wait_established("fd00:10::1", 10);

    // GoBGP's routes at the FRR ToR, through us.
    let routes = wait_for(20, "GoBGP's routes at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        (v.get("10.100.0.10/32").is_some() && v.get("10.100.0.11/32").is_some()).then_some(v)
    });
    let p = &routes["10.100.0.10/32"][0];
    assert_eq!(p["path"], "64514 64515");
    assert_eq!(p["nexthops"][0]["ip"], "192.168.11.3");
    let v6 = wait_for(20, "GoBGP's IPv6 route at the ToR", || {
        let v = tor.routes("ipv6 unicast");
        v.get("fd00:100::10/128").is_some().then_some(v)
    });
    assert_eq!(v6["fd00:100::10/128"][0]["path"], "64514 64515");

    // The ToR's routes in GoBGP's RIB, with AS path and next hop as GoBGP decodes them.
    let rib = wait_for(20, "the ToR's route in GoBGP", || {
        let rib = host.rib("ipv4");
        rib.contains_key("10.200.0.0/24").then_some(rib)
    });
    let path = &rib["10.200.0.0/24"][0];
    let attrs = path["attrs"].as_array().unwrap();
    let as_path = attrs.iter().find(|a| a["type"] == 2).unwrap();
    assert_eq!(
        as_path["as_paths"][0]["asns"],
        serde_json::json!([64514, 64512]),
        "{path}"
    );
    let nh = attrs.iter().find(|a| a["type"] == 3).unwrap();
    assert_eq!(nh["nexthop"], "192.169.10.1", "{path}");
    wait_for(20, "the ToR's IPv6 route in GoBGP", || {
        host.rib("ipv6").contains_key("fd00:200::/64").then_some(())
    });

    // A withdrawal in GoBGP reaches the ToR.
    host.cli(&["global", "rib", "del", "-a", "ipv4", "10.100.0.11/32"]);
    wait_for(20, "the withdrawal at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        (v.get("10.100.0.11/32").is_none() && v.get("10.100.0.10/32").is_some()).then_some(())
    });
    let summary = r.json(&["show", "bgp", "summary"]);
    let ipv4 = summary["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["family"] == "ipv4-unicast")
        .unwrap()
        .clone();
    assert_eq!(ipv4["destinations"], 2, "{summary}");
}

#[test]
fn a_listen_range_accepts_fifty_dynamic_peers_and_refuses_the_fifty_first() {
    let router = Netns::new("r");
    let hosts = Netns::new("h");
    let mut addrs: Vec<String> = (0..51)
        .map(|i| format!("192.169.10.{}/24", 10 + i))
        .collect();
    addrs.push("192.169.10.2/24".into());
    let refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
    veth(
        &router,
        "hosts0",
        &["192.169.10.1/24"],
        &hosts,
        "eth0",
        &refs,
    );
    let r = Perouterd::start(
        &router,
        "routerID: 10.0.0.1\nasn: 64514\nlistenLimit: 50\nneighbors:\n\
         - listenRange: 192.169.10.0/24\n  type: External\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n",
    );
    // Fifty speakers, each its own AS and one /32.
    let mut speakers = Vec::new();
    for i in 0..50u32 {
        let local = format!("192.169.10.{}", 10 + i);
        let g = Gobgp::start_with_api(
            &hosts,
            &gobgp_config(65001 + i, &local, &local, "192.169.10.1", None),
            50100 + u16::try_from(i).unwrap(),
        );
        g.cli(&[
            "global",
            "rib",
            "add",
            "-a",
            "ipv4",
            &format!("10.101.0.{i}/32"),
        ]);
        speakers.push(g);
    }
    let summary = wait_for(60, "fifty established dynamic peers", || {
        let s = r.json(&["show", "bgp", "summary"]);
        let up = s["neighbors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["state"] == "Established" && n["config"] == "192.169.10.0/24")
            .count();
        (up == 50).then_some(s)
    });
    assert_eq!(summary["neighbors"].as_array().unwrap().len(), 50);
    // Every speaker learns the other 49 routes through us.
    for g in [&speakers[0], &speakers[49]] {
        wait_for(60, "49 routes at a dynamic peer", || {
            (g.rib("ipv4").len() == 50).then_some(())
        });
    }
    // The fifty-first is refused: the limit holds.
    let extra = Gobgp::start_with_api(
        &hosts,
        &gobgp_config(
            65100,
            "192.169.10.60",
            "192.169.10.60",
            "192.169.10.1",
            None,
        ),
        50200,
    );
    std::thread::sleep(std::time::Duration::from_secs(5));
    let v = extra.json(&["neighbor", "192.169.10.1"]);
    assert_ne!(v["state"]["session_state"], 6, "{v}");
    assert_ne!(v["state"]["session_state"], "established", "{v}");
    let s = r.json(&["show", "bgp", "summary"]);
    assert_eq!(s["neighbors"].as_array().unwrap().len(), 50);
    // A dynamic peer that goes away is removed, which frees a slot for the refused one.
    drop(speakers.pop());
    extra.wait_established("192.169.10.1", 60);
}

#[test]
fn gobgp_as_an_ibgp_host_gets_local_pref_and_next_hop_self() {
    let lab::Topo {
        tor: tor_ns,
        router,
        host: host_ns,
    } = lab::topo();
    let tor = Frr::start(
        &tor_ns,
        "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
         neighbor 192.168.11.3 remote-as 64514\n\
         address-family ipv4 unicast\n  network 10.200.0.0/24\n  neighbor 192.168.11.3 activate\n exit-address-family\n",
    );
    // GoBGP in our own AS: an iBGP host session (OpenPERouter's hostType: Internal).
    let host = Gobgp::start(
        &host_ns,
        &gobgp_config(64514, "10.0.0.200", "192.169.10.2", "192.169.10.1", None),
    );
    host.cli(&["global", "rib", "add", "-a", "ipv4", "10.100.0.10/32"]);
    let r = Perouterd::start(
        &router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  asn: 64512\n\
         - address: 192.169.10.2\n  type: Internal\n",
    );
    r.wait_established("192.169.10.2", 30);
    host.wait_established("192.169.10.1", 10);
    assert_eq!(r.neighbor("192.169.10.2")["kind"], "internal");
    // The ToR's route in GoBGP: LOCAL_PREF 100, next hop us (next-hop-self force), AS path
    // the ToR's only.
    let rib = wait_for(20, "the ToR's route in GoBGP", || {
        let rib = host.rib("ipv4");
        rib.contains_key("10.200.0.0/24").then_some(rib)
    });
    let attrs = rib["10.200.0.0/24"][0]["attrs"].as_array().unwrap().clone();
    let find = |t: i64| {
        attrs
            .iter()
            .find(|a| a["type"] == t)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(find(5)["value"], 100, "LOCAL_PREF: {attrs:?}");
    assert_eq!(find(3)["nexthop"], "192.169.10.1", "{attrs:?}");
    assert_eq!(
        find(2)["as_paths"][0]["asns"],
        serde_json::json!([64512]),
        "{attrs:?}"
    );
    // GoBGP's route at the ToR: our AS only (the host is inside it).
    let v = wait_for(20, "GoBGP's route at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        v.get("10.100.0.10/32").is_some().then_some(v)
    });
    assert_eq!(v["10.100.0.10/32"][0]["path"], "64514");
}
