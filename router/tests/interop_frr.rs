//! perouterd against FRR 8.4's bgpd in network namespaces, the OpenPERouter way round: an FRR
//! "ToR" on one veth, perouterd in the middle, an FRR "host speaker" on another veth. Routes
//! cross perouterd in both directions, and every assertion reads what FRR itself reports
//! (`vtysh ... json`).
//!
//! Needs root, iproute2 and FRR (`apt-get install --no-install-recommends frr`); `.ci/run`
//! installs them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lab;

use lab::{topo, veth, wait_for, Frr, Netns, Perouterd};
use serde_json::Value;

/// FRR ToR, AS `asn`, peering with perouterd over IPv4 and IPv6, announcing 10.200.0.0/24
/// and fd00:200::/64.
fn tor_config(asn: u32, peer_as: &str, extra: &str) -> String {
    format!(
        "router bgp {asn}\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
         neighbor 192.168.11.3 remote-as {peer_as}\n neighbor 192.168.11.3 timers 3 9\n\
         neighbor fd00:11::3 remote-as {peer_as}\n neighbor fd00:11::3 timers 3 9\n{extra}\
         address-family ipv4 unicast\n  network 10.200.0.0/24\n  neighbor 192.168.11.3 activate\n exit-address-family\n\
         address-family ipv6 unicast\n  network fd00:200::/64\n  neighbor fd00:11::3 activate\n exit-address-family\n"
    )
}

/// FRR host speaker, AS `asn`, announcing `v4` and `v6` prefixes to perouterd.
fn host_config(asn: u32, v4: &[&str], v6: &[&str], extra: &str) -> String {
    let n4: String = v4.iter().map(|p| format!("  network {p}\n")).collect();
    let n6: String = v6.iter().map(|p| format!("  network {p}\n")).collect();
    format!(
        "router bgp {asn}\n bgp router-id 10.0.0.200\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
         neighbor 192.169.10.1 remote-as 64514\n neighbor 192.169.10.1 timers 3 9\n\
         neighbor fd00:10::1 remote-as 64514\n neighbor fd00:10::1 timers 3 9\n{extra}\
         address-family ipv4 unicast\n{n4}  neighbor 192.169.10.1 activate\n exit-address-family\n\
         address-family ipv6 unicast\n{n6}  neighbor fd00:10::1 activate\n exit-address-family\n"
    )
}

/// perouterd, AS 64514, with the ToR and the host over IPv4 and IPv6.
fn router_config(tor_as: &str, host_as: &str, host_extra: &str) -> String {
    format!(
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  {tor_as}\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n  description: tor-v4\n\
         - address: fd00:11::2\n  {tor_as}\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n  description: tor-v6\n\
         - address: 192.169.10.2\n  {host_as}\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n{host_extra}\
         - address: fd00:10::2\n  {host_as}\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n"
    )
}

fn frr_route<'a>(routes: &'a Value, prefix: &str) -> Option<&'a Value> {
    routes.get(prefix).and_then(|paths| paths.get(0))
}

fn as_path(route: &Value) -> String {
    route["path"].as_str().unwrap_or("").to_string()
}

fn next_hop(route: &Value) -> String {
    route["nexthops"][0]["ip"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn ebgp_ipv4_and_ipv6_cross_perouterd_both_ways_and_withdrawals_follow() {
    let t = topo();
    let tor = Frr::start(&t.tor, &tor_config(64512, "64514", ""));
    let host = Frr::start(
        &t.host,
        &host_config(
            64515,
            &["10.100.0.1/32", "10.100.0.2/32"],
            &["fd00:100::1/128"],
            "",
        ),
    );
    let r = Perouterd::start(&t.router, &router_config("asn: 64512", "asn: 64515", ""));
    for a in ["192.168.11.2", "fd00:11::2", "192.169.10.2", "fd00:10::2"] {
        r.wait_established(a, 30);
    }
    tor.wait_established("192.168.11.3", 10);
    host.wait_established("192.169.10.1", 10);

    // Host → ToR: the ToR sees the host's /32s through us, AS path 64514 64515, next hop us.
    let v4 = wait_for(20, "the host's IPv4 routes at the ToR", || {
        let routes = tor.routes("ipv4 unicast");
        (frr_route(&routes, "10.100.0.1/32").is_some()
            && frr_route(&routes, "10.100.0.2/32").is_some())
        .then_some(routes)
    });
    let route = frr_route(&v4, "10.100.0.1/32").unwrap();
    assert_eq!(as_path(route), "64514 64515");
    assert_eq!(next_hop(route), "192.168.11.3");
    let v6 = wait_for(20, "the host's IPv6 route at the ToR", || {
        let routes = tor.routes("ipv6 unicast");
        frr_route(&routes, "fd00:100::1/128")
            .is_some()
            .then_some(routes)
    });
    let route = frr_route(&v6, "fd00:100::1/128").unwrap();
    assert_eq!(as_path(route), "64514 64515");
    assert_eq!(next_hop(route), "fd00:11::3");

    // ToR → host.
    let v4 = wait_for(20, "the ToR's IPv4 route at the host", || {
        let routes = host.routes("ipv4 unicast");
        frr_route(&routes, "10.200.0.0/24")
            .is_some()
            .then_some(routes)
    });
    let route = frr_route(&v4, "10.200.0.0/24").unwrap();
    assert_eq!(as_path(route), "64514 64512");
    assert_eq!(next_hop(route), "192.169.10.1");
    wait_for(20, "the ToR's IPv6 route at the host", || {
        frr_route(&host.routes("ipv6 unicast"), "fd00:200::/64").map(|_| ())
    });
    // The host's own routes do not come back to it.
    assert!(frr_route(&host.routes("ipv4 unicast"), "10.100.0.1/32")
        .map(|r| as_path(r).is_empty())
        .unwrap_or(true));

    // Our own view agrees.
    let ours = r.routes("ipv4-unicast");
    let dests: Vec<&str> = ours
        .iter()
        .filter_map(|x| x["destination"].as_str())
        .collect();
    assert_eq!(
        dests,
        vec!["10.100.0.1/32", "10.100.0.2/32", "10.200.0.0/24"]
    );

    // A withdrawal at the host reaches the ToR.
    host.configure(&[
        "router bgp 64515",
        "address-family ipv4 unicast",
        "no network 10.100.0.2/32",
    ]);
    wait_for(20, "the withdrawal at the ToR", || {
        let routes = tor.routes("ipv4 unicast");
        (frr_route(&routes, "10.100.0.2/32").is_none()
            && frr_route(&routes, "10.100.0.1/32").is_some())
        .then_some(())
    });
}

#[test]
fn ibgp_tor_with_four_octet_as_host() {
    let t = topo();
    // The ToR is iBGP (same AS); the host has a 4-octet AS.
    let tor = Frr::start(&t.tor, &tor_config(64514, "internal", ""));
    let host = Frr::start(
        &t.host,
        &host_config(4_200_000_001, &["10.100.0.1/32"], &["fd00:100::1/128"], ""),
    );
    let r = Perouterd::start(
        &t.router,
        &router_config("type: Internal", "asn: 4200000001", ""),
    );
    for a in ["192.168.11.2", "fd00:11::2", "192.169.10.2", "fd00:10::2"] {
        r.wait_established(a, 30);
    }
    assert_eq!(r.neighbor("192.168.11.2")["kind"], "internal");
    assert_eq!(
        r.neighbor("192.169.10.2")["summary"]["remote_as"],
        "4200000001"
    );
    // To the iBGP ToR: AS path is the host's only, LOCAL_PREF 100, next hop self (OpenPERouter
    // renders next-hop-self force for iBGP neighbours).
    let v4 = wait_for(20, "the host's route at the iBGP ToR", || {
        let routes = tor.routes("ipv4 unicast");
        frr_route(&routes, "10.100.0.1/32")
            .is_some()
            .then_some(routes)
    });
    let route = frr_route(&v4, "10.100.0.1/32").unwrap();
    assert_eq!(as_path(route), "4200000001");
    assert_eq!(next_hop(route), "192.168.11.3");
    assert_eq!(route["locPrf"], 100);
    let v6 = wait_for(20, "the host's IPv6 route at the iBGP ToR", || {
        let routes = tor.routes("ipv6 unicast");
        frr_route(&routes, "fd00:100::1/128")
            .is_some()
            .then_some(routes)
    });
    assert_eq!(
        as_path(frr_route(&v6, "fd00:100::1/128").unwrap()),
        "4200000001"
    );
    // From the iBGP ToR to the eBGP host: our AS prepended.
    let h = wait_for(20, "the ToR's route at the host", || {
        let routes = host.routes("ipv4 unicast");
        frr_route(&routes, "10.200.0.0/24")
            .is_some()
            .then_some(routes)
    });
    assert_eq!(as_path(frr_route(&h, "10.200.0.0/24").unwrap()), "64514");
}

#[test]
fn ipv4_routes_over_an_ipv6_session_use_rfc8950_next_hops() {
    let t = topo();
    // Only IPv6 sessions; IPv4 unicast rides on them with IPv6 next hops.
    let tor = Frr::start(
        &t.tor,
        "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
         neighbor fd00:11::3 remote-as 64514\n neighbor fd00:11::3 timers 3 9\n neighbor fd00:11::3 capability extended-nexthop\n\
         address-family ipv4 unicast\n  network 10.200.0.0/24\n  neighbor fd00:11::3 activate\n exit-address-family\n\
         address-family ipv6 unicast\n  neighbor fd00:11::3 activate\n exit-address-family\n",
    );
    let host = Frr::start(&t.host, &host_config(64515, &["10.100.0.1/32"], &[], ""));
    let r = Perouterd::start(
        &t.router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: fd00:11::2\n  asn: 64512\n  addressFamilies: [{type: ipv4unicast}, {type: ipv6unicast}]\n\
         - address: 192.169.10.2\n  asn: 64515\n",
    );
    r.wait_established("fd00:11::2", 30);
    r.wait_established("192.169.10.2", 30);
    let n = r.neighbor("fd00:11::2");
    assert_eq!(
        n["families"],
        serde_json::json!(["ipv4-unicast", "ipv6-unicast"])
    );
    // The ToR's IPv4 route reaches us with an IPv6 next hop, and goes on to the host.
    let ours = wait_for(20, "10.200.0.0/24 from the IPv6 session", || {
        r.routes("ipv4-unicast")
            .into_iter()
            .find(|x| x["destination"] == "10.200.0.0/24")
    });
    assert!(
        ours["paths"][0]["next_hop"]
            .as_str()
            .unwrap()
            .starts_with("fd00:11::2"),
        "{ours}"
    );
    wait_for(20, "the ToR's route at the host", || {
        frr_route(&host.routes("ipv4 unicast"), "10.200.0.0/24").map(|_| ())
    });
    // The host's IPv4 route reaches the ToR over the IPv6 session, next hop our IPv6 address.
    let v4 = wait_for(20, "the host's route at the ToR", || {
        let routes = tor.routes("ipv4 unicast");
        frr_route(&routes, "10.100.0.1/32")
            .is_some()
            .then_some(routes)
    });
    let route = frr_route(&v4, "10.100.0.1/32").unwrap();
    assert_eq!(next_hop(route), "fd00:11::3", "{route}");
    assert_eq!(as_path(route), "64514 64515");
}

fn md5_router(password: &str) -> String {
    format!(
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  asn: 64512\n  password: {password}\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n"
    )
}

#[test]
fn tcp_md5_match_establishes_and_mismatch_does_not() {
    let t = topo();
    let tor = Frr::start(
        &t.tor,
        &tor_config(
            64512,
            "64514",
            " neighbor 192.168.11.3 password s3cret-key\n",
        ),
    );
    // Wrong key first: no session, on either side.
    let r = Perouterd::start(&t.router, &md5_router("wrong-key"));
    std::thread::sleep(std::time::Duration::from_secs(6));
    assert_ne!(tor.neighbor_state("192.168.11.3"), "Established");
    assert_ne!(
        r.neighbor("192.168.11.2")["summary"]["state"],
        "Established"
    );
    drop(r);
    // The right key.
    let r = Perouterd::start(&t.router, &md5_router("s3cret-key"));
    r.wait_established("192.168.11.2", 30);
    tor.wait_established("192.168.11.3", 10);
}

#[test]
fn max_prefix_tears_the_session_down_with_cease_1() {
    let t = topo();
    let host = Frr::start(
        &t.host,
        &host_config(
            64515,
            &["10.100.0.1/32", "10.100.0.2/32", "10.100.0.3/32"],
            &[],
            "",
        ),
    );
    let r = Perouterd::start(
        &t.router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.169.10.2\n  asn: 64515\n  maxPrefix: {limit: 2}\n",
    );
    // FRR reports our NOTIFICATION: Cease / Maximum Number of Prefixes Reached.
    let reason = wait_for(30, "FRR to hear our Cease/1", || {
        let v = host.json("show bgp neighbors 192.169.10.1 json");
        let n = &v["192.169.10.1"];
        let text = format!(
            "{} {}",
            n["lastNotificationReason"].as_str().unwrap_or(""),
            n["lastResetDueTo"].as_str().unwrap_or("")
        );
        text.contains("Maximum Number of Prefixes").then_some(text)
    });
    assert!(reason.contains("Cease"), "{reason}");
    let ours = r.neighbor("192.169.10.2");
    assert!(
        ours["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("prefix limit 2"),
        "{ours}"
    );
    assert_ne!(ours["summary"]["state"], "Established");
}

#[test]
fn hold_timer_expiry_and_notifications_are_reported_both_sides() {
    let t = topo();
    let tor = Frr::start(&t.tor, &tor_config(64512, "64514", ""));
    let r = Perouterd::start(
        &t.router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  asn: 64512\n  holdTimeSeconds: 3\n  keepaliveTimeSeconds: 1\n",
    );
    r.wait_established("192.168.11.2", 30);
    // Freeze bgpd: it stops sending keepalives, our hold timer (3 s) expires.
    tor.proc.signal("STOP");
    let err = wait_for(15, "our hold timer to expire", || {
        let n = r.neighbor("192.168.11.2");
        let e = n["last_error"].as_str().unwrap_or("").to_string();
        (e.contains("HoldTimerExpired") || e.contains("code: 4")).then_some(e)
    });
    tor.proc.signal("CONT");
    // FRR reads our NOTIFICATION (Hold Timer Expired) and both come back.
    wait_for(30, "FRR to report our hold timer NOTIFICATION", || {
        let v = tor.json("show bgp neighbors 192.168.11.3 json");
        let n = &v["192.168.11.3"];
        let text = format!(
            "{} {}",
            n["lastNotificationReason"].as_str().unwrap_or(""),
            n["lastResetDueTo"].as_str().unwrap_or("")
        );
        text.contains("Hold Timer Expired").then_some(())
    });
    r.wait_established("192.168.11.2", 40);
    tor.wait_established("192.168.11.3", 10);
    assert!(!err.is_empty());

    // An administrative shutdown from our CLI: FRR hears Cease / Administrative Shutdown.
    r.ctl(&["neighbor", "192.168.11.2", "shutdown"]);
    wait_for(20, "FRR to hear our shutdown", || {
        let v = tor.json("show bgp neighbors 192.168.11.3 json");
        let n = &v["192.168.11.3"];
        let text = format!(
            "{} {}",
            n["lastNotificationReason"].as_str().unwrap_or(""),
            n["lastResetDueTo"].as_str().unwrap_or("")
        );
        text.contains("Administrative Shutdown").then_some(())
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(r.neighbor("192.168.11.2")["summary"]["state"], "Shutdown");
    assert_ne!(tor.neighbor_state("192.168.11.3"), "Established");
    r.ctl(&["neighbor", "192.168.11.2", "reset"]);
    r.wait_established("192.168.11.2", 40);
}

#[test]
fn route_refresh_from_frr_gets_the_table_again() {
    let t = topo();
    let tor = Frr::start(&t.tor, &tor_config(64512, "64514", ""));
    let _host = Frr::start(&t.host, &host_config(64515, &["10.100.0.1/32"], &[], ""));
    let r = Perouterd::start(&t.router, &router_config("asn: 64512", "asn: 64515", ""));
    r.wait_established("192.168.11.2", 30);
    r.wait_established("192.169.10.2", 30);
    wait_for(20, "the host's route at the ToR", || {
        frr_route(&tor.routes("ipv4 unicast"), "10.100.0.1/32").map(|_| ())
    });
    assert_eq!(r.neighbor("192.168.11.2")["route_refresh"], true);
    let before = r.neighbor("192.168.11.2")["summary"]["updates_out"]
        .as_u64()
        .unwrap();
    tor.vtysh("clear bgp ipv4 unicast 192.168.11.3 soft in");
    // We answer the ROUTE-REFRESH with the route and an End-of-RIB: two more UPDATEs.
    wait_for(20, "our answer to the route refresh", || {
        let now = r.neighbor("192.168.11.2")["summary"]["updates_out"]
            .as_u64()
            .unwrap();
        (now >= before + 2).then_some(())
    });
    let v = tor.json("show bgp neighbors 192.168.11.3 json");
    assert!(
        v["192.168.11.3"]["messageStats"]["routeRefreshSent"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(frr_route(&tor.routes("ipv4 unicast"), "10.100.0.1/32").is_some());
    assert_eq!(
        r.neighbor("192.168.11.2")["summary"]["state"],
        "Established"
    );
}

fn frr_updates_received(frr: &Frr, neighbor: &str) -> u64 {
    frr.json(&format!("show bgp neighbors {neighbor} json"))[neighbor]["messageStats"]
        ["updatesRecv"]
        .as_u64()
        .unwrap()
}

#[test]
fn reload_resets_only_neighbours_whose_identity_changed_and_the_same_file_sends_nothing() {
    let t = topo();
    let tor = Frr::start(&t.tor, &tor_config(64512, "64514", ""));
    let host = Frr::start(
        &t.host,
        &host_config(64515, &["10.100.0.1/32"], &["fd00:100::1/128"], ""),
    );
    let config = router_config("asn: 64512", "asn: 64515", "");
    let r = Perouterd::start(&t.router, &config);
    for a in ["192.168.11.2", "fd00:11::2", "192.169.10.2", "fd00:10::2"] {
        r.wait_established(a, 30);
    }
    wait_for(20, "routes at the ToR", || {
        frr_route(&tor.routes("ipv4 unicast"), "10.100.0.1/32").map(|_| ())
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let tor_updates = frr_updates_received(&tor, "192.168.11.3");
    let host_updates = frr_updates_received(&host, "192.169.10.1");
    let flaps = |addr: &str| r.neighbor(addr)["flaps"].as_u64().unwrap();

    // The same file twice: nothing changes, nothing is sent.
    for _ in 0..2 {
        let report = r.json(&["reload"]);
        assert_eq!(report["unchanged"], true, "{report}");
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(frr_updates_received(&tor, "192.168.11.3"), tor_updates);
    assert_eq!(frr_updates_received(&host, "192.169.10.1"), host_updates);

    // A description changes in place.
    r.write_config(&config.replace("description: tor-v4", "description: tor-v4-renamed"));
    let report = r.json(&["reload"]);
    assert_eq!(
        report["updated"],
        serde_json::json!(["192.168.11.2"]),
        "{report}"
    );
    assert_eq!(report["reset"], serde_json::json!([]), "{report}");
    assert_eq!(
        r.neighbor("192.168.11.2")["summary"]["description"],
        "tor-v4-renamed"
    );
    assert_eq!(
        r.neighbor("192.168.11.2")["summary"]["state"],
        "Established"
    );
    assert_eq!(flaps("192.168.11.2"), 0);

    // A hold time change is part of the OPEN: only that neighbour is reset.
    let changed = config.replace(
        "- address: 192.169.10.2\n  asn: 64515\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n",
        "- address: 192.169.10.2\n  asn: 64515\n  holdTimeSeconds: 30\n  keepaliveTimeSeconds: 10\n",
    );
    assert_ne!(changed, config);
    r.write_config(&changed);
    let report = r.json(&["reload"]);
    assert_eq!(
        report["reset"],
        serde_json::json!(["192.169.10.2"]),
        "{report}"
    );
    r.wait_established("192.169.10.2", 30);
    for a in ["192.168.11.2", "fd00:11::2", "fd00:10::2"] {
        assert_eq!(flaps(a), 0, "{a} must not have been reset");
    }
    // The host's routes came back to the ToR after the host session's reset.
    wait_for(20, "routes at the ToR after the reset", || {
        frr_route(&tor.routes("ipv4 unicast"), "10.100.0.1/32").map(|_| ())
    });

    // An invalid file is refused and changes nothing.
    r.write_config("routerID: nonsense\n");
    let out = r.try_ctl(&["reload"]);
    assert!(out.is_none(), "an invalid configuration must be refused");
    assert_eq!(
        r.neighbor("192.168.11.2")["summary"]["state"],
        "Established"
    );
}

const GR: &str = " bgp graceful-restart\n bgp graceful-restart preserve-fw-state\n";

fn with_gr(config: String) -> String {
    config.replacen(" bgp router-id", &format!("{GR} bgp router-id"), 1)
}

fn is_stale(route: &Value) -> bool {
    route["stale"].as_bool().unwrap_or(false)
}

#[test]
fn graceful_restart_of_perouterd_keeps_its_routes_at_frr_then_sweeps_what_is_gone() {
    let t = topo();
    let tor = Frr::start(&t.tor, &with_gr(tor_config(64512, "64514", "")));
    let host = Frr::start(
        &t.host,
        &with_gr(host_config(
            64515,
            &["10.100.0.1/32", "10.100.0.2/32"],
            &[],
            "",
        )),
    );
    let config = format!(
        "gracefulRestart: {{restartTimeSeconds: 60, stalePathTimeSeconds: 60}}\n{}",
        router_config("asn: 64512", "asn: 64515", "")
    );
    let mut r = Perouterd::start(&t.router, &config);
    r.wait_established("192.168.11.2", 30);
    r.wait_established("192.169.10.2", 30);
    wait_for(20, "the host's routes at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        (frr_route(&v, "10.100.0.1/32").is_some() && frr_route(&v, "10.100.0.2/32").is_some())
            .then_some(())
    });

    // perouterd stops with graceful restart on: no NOTIFICATION, FRR keeps our routes stale.
    r.stop();
    let v = wait_for(15, "FRR to mark our routes stale", || {
        let v = tor.routes("ipv4 unicast");
        frr_route(&v, "10.100.0.1/32")
            .filter(|x| is_stale(x))
            .map(|_| v.clone())
    });
    assert!(frr_route(&v, "10.100.0.2/32").is_some());
    assert_ne!(tor.neighbor_state("192.168.11.3"), "Established");
    // While we are down, the host drops one of its routes.
    host.configure(&[
        "router bgp 64515",
        "address-family ipv4 unicast",
        "no network 10.100.0.2/32",
    ]);

    // We come back (R bit set, advertisement deferred until the peers' End-of-RIBs); FRR
    // refreshes what we still have and sweeps the rest at our End-of-RIB.
    r.start_again();
    assert!(r.log().contains("restarting speaker"), "{}", r.log());
    r.wait_established("192.168.11.2", 60);
    r.wait_established("192.169.10.2", 60);
    wait_for(
        30,
        "FRR to sweep the stale route and refresh the other",
        || {
            let v = tor.routes("ipv4 unicast");
            let kept = frr_route(&v, "10.100.0.1/32").is_some_and(|x| !is_stale(x));
            (kept && frr_route(&v, "10.100.0.2/32").is_none()).then_some(())
        },
    );
    let n = tor.json("show bgp neighbors 192.168.11.3 json");
    let gr = &n["192.168.11.3"]["gracefulRestartInfo"];
    assert!(!gr.is_null(), "{n}");
}

#[test]
fn graceful_restart_helper_keeps_frr_routes_while_it_restarts() {
    let t = topo();
    let tor_conf = |nets: &str| {
        with_gr(tor_config(64512, "64514", "")).replace("  network 10.200.0.0/24\n", nets)
    };
    let tor = Frr::start(
        &t.tor,
        &tor_conf("  network 10.200.0.0/24\n  network 10.200.1.0/24\n"),
    );
    let host = Frr::start(&t.host, &host_config(64515, &["10.100.0.1/32"], &[], ""));
    let r = Perouterd::start(&t.router, &router_config("asn: 64512", "asn: 64515", ""));
    r.wait_established("192.168.11.2", 30);
    wait_for(20, "the ToR's routes at the host", || {
        let v = host.routes("ipv4 unicast");
        (frr_route(&v, "10.200.0.0/24").is_some() && frr_route(&v, "10.200.1.0/24").is_some())
            .then_some(())
    });
    let peer_gr = r.neighbor("192.168.11.2");
    assert_eq!(peer_gr["summary"]["state"], "Established", "{peer_gr}");

    // bgpd dies without a NOTIFICATION: we keep its routes, stale, and the host keeps them.
    drop(tor);
    let ours = wait_for(15, "our paths from the ToR to turn stale", || {
        let v = r.routes("ipv4-unicast");
        v.iter()
            .find(|x| x["destination"] == "10.200.0.0/24")
            .filter(|x| x["paths"][0]["stale"] == true)
            .cloned()
    });
    assert_eq!(ours["paths"][0]["stale"], true);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let v = host.routes("ipv4 unicast");
    assert!(
        frr_route(&v, "10.200.0.0/24").is_some(),
        "the host lost the route during the restart"
    );
    assert!(frr_route(&v, "10.200.1.0/24").is_some());

    // bgpd comes back without 10.200.1.0/24: after its End-of-RIB we sweep that one only.
    let tor = Frr::start(&t.tor, &tor_conf("  network 10.200.0.0/24\n"));
    tor.wait_established("192.168.11.3", 60);
    wait_for(30, "the stale route swept at the host", || {
        let v = host.routes("ipv4 unicast");
        (frr_route(&v, "10.200.1.0/24").is_none() && frr_route(&v, "10.200.0.0/24").is_some())
            .then_some(())
    });
    let ours = r.routes("ipv4-unicast");
    let route = ours
        .iter()
        .find(|x| x["destination"] == "10.200.0.0/24")
        .unwrap();
    assert_eq!(route["paths"][0]["stale"], false, "{route}");
}

/// A GoBGP speaker in the router's namespace at `local`, AS `asn`, peering with the FRR ToR
/// and announcing `prefix`.
fn gobgp_speaker(ns: &Netns, local: &str, asn: u32, api: u16, prefix: &str) -> lab::Gobgp {
    let g = lab::Gobgp::start_with_api(
        ns,
        &format!(
            "[global.config]\n  as = {asn}\n  router-id = \"{local}\"\n  port = -1\n\
             [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"192.168.11.2\"\n    peer-as = 64512\n\
             [neighbors.transport.config]\n    local-address = \"{local}\"\n\
             [neighbors.timers.config]\n    connect-retry = 1\n\
             [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = \"ipv4-unicast\"\n"
        ),
        api,
    );
    g.cli(&["global", "rib", "add", "-a", "ipv4", prefix]);
    g
}

#[test]
fn add_path_receives_every_frr_path_and_sends_path_identifiers() {
    let t = topo();
    // Two more speakers on the ToR's link give the ToR two paths to 10.50.0.0/24.
    t.router.addr("uplink", "192.168.11.4/24");
    t.router.addr("uplink", "192.168.11.5/24");
    let tor = Frr::start(
        &t.tor,
        "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
         bgp bestpath as-path multipath-relax\n\
         neighbor 192.168.11.3 remote-as 64514\n neighbor 192.168.11.4 remote-as 65001\n neighbor 192.168.11.5 remote-as 65002\n\
         address-family ipv4 unicast\n  neighbor 192.168.11.3 activate\n  neighbor 192.168.11.3 addpath-tx-all-paths\n\
           neighbor 192.168.11.4 activate\n  neighbor 192.168.11.5 activate\n exit-address-family\n",
    );
    let _a = gobgp_speaker(&t.router, "192.168.11.4", 65001, 50061, "10.50.0.0/24");
    let _b = gobgp_speaker(&t.router, "192.168.11.5", 65002, 50062, "10.50.0.0/24");
    let host = Frr::start(&t.host, &host_config(64515, &["10.100.0.1/32"], &[], ""));
    let r = Perouterd::start(
        &t.router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  asn: 64512\n  addPath: both\n\
         - address: 192.169.10.2\n  asn: 64515\n  addPath: send\n",
    );
    r.wait_established("192.168.11.2", 30);
    r.wait_established("192.169.10.2", 30);
    let n = r.neighbor("192.168.11.2");
    assert_eq!(n["add_path_rx"], serde_json::json!(["ipv4-unicast"]), "{n}");
    assert_eq!(n["add_path_tx"], serde_json::json!(["ipv4-unicast"]), "{n}");
    // Both of the ToR's paths arrive, each with its own path identifier.
    let route = wait_for(30, "two paths to 10.50.0.0/24 from the ToR", || {
        r.routes("ipv4-unicast")
            .into_iter()
            .find(|x| x["destination"] == "10.50.0.0/24")
            .filter(|x| {
                x["paths"]
                    .as_array()
                    .is_some_and(|p| p.iter().filter(|p| p["from"] == "192.168.11.2").count() == 2)
            })
    });
    // (The host sends the route back too, through allowas-in: only the ToR's paths count.)
    let paths: Vec<&Value> = route["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["from"] == "192.168.11.2")
        .collect();
    let ids: Vec<u64> = paths
        .iter()
        .map(|p| p["detail"]["path_id"].as_u64().unwrap())
        .collect();
    assert_ne!(ids[0], ids[1], "{route}");
    let as_paths: Vec<&str> = paths
        .iter()
        .map(|p| p["as_path"].as_str().unwrap())
        .collect();
    assert!(
        as_paths.contains(&"64512 65001") && as_paths.contains(&"64512 65002"),
        "{as_paths:?}"
    );
    // What we send carries path identifiers, and FRR decodes it.
    wait_for(20, "the host's route at the ToR over ADD-PATH", || {
        frr_route(&tor.routes("ipv4 unicast"), "10.100.0.1/32").map(|_| ())
    });
    let v = tor.json("show bgp neighbors 192.168.11.3 json");
    let caps = &v["192.168.11.3"]["neighborCapabilities"]["addPath"]["ipv4Unicast"];
    assert_eq!(caps["rxAdvertisedAndReceived"], true, "{v}");
    assert_eq!(caps["txAdvertisedAndReceived"], true, "{v}");
    // We send every path too: the host (ADD-PATH send toward it) gets both of the ToR's paths.
    let detail = wait_for(30, "both paths at the host", || {
        let d = host.json("show bgp ipv4 unicast 10.50.0.0/24 json");
        (d["paths"].as_array().map_or(0, Vec::len) == 2).then_some(d)
    });
    let mut host_paths: Vec<String> = detail["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["aspath"]["string"].as_str().unwrap_or("").to_string())
        .collect();
    host_paths.sort();
    assert_eq!(
        host_paths,
        vec!["64514 64512 65001", "64514 64512 65002"],
        "{detail}"
    );
}

#[test]
fn an_import_policy_change_applies_in_place_through_route_refresh() {
    let t = topo();
    let tor = Frr::start(&t.tor, &tor_config(64512, "64514", ""));
    let host = Frr::start(
        &t.host,
        &host_config(64515, &["10.100.0.1/32", "10.100.0.2/32"], &[], ""),
    );
    let base = "routerID: 10.0.0.1\nasn: 64514\n\
         policies:\n- name: hide-two\n  default: accept\n  terms:\n  - name: two\n    match: {prefix: 10.100.0.2/32}\n    action: reject\n\
         neighbors:\n- address: 192.168.11.2\n  asn: 64512\n- address: 192.169.10.2\n  asn: 64515\n";
    let r = Perouterd::start(&t.router, base);
    r.wait_established("192.168.11.2", 30);
    r.wait_established("192.169.10.2", 30);
    wait_for(20, "both host routes at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        (frr_route(&v, "10.100.0.1/32").is_some() && frr_route(&v, "10.100.0.2/32").is_some())
            .then_some(())
    });
    // Attach the policy: the host is asked for its routes again, 10.100.0.2/32 is refused and
    // withdrawn from the ToR; no session resets.
    r.write_config(&format!("{base}  importPolicy: hide-two\n"));
    let report = r.json(&["reload"]);
    assert_eq!(
        report["updated"],
        serde_json::json!(["192.169.10.2"]),
        "{report}"
    );
    wait_for(20, "10.100.0.2/32 withdrawn at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        (frr_route(&v, "10.100.0.2/32").is_none() && frr_route(&v, "10.100.0.1/32").is_some())
            .then_some(())
    });
    let v = host.json("show bgp neighbors 192.169.10.1 json");
    assert!(
        v["192.169.10.1"]["messageStats"]["routeRefreshRecv"]
            .as_u64()
            .unwrap()
            >= 1,
        "{v}"
    );
    // Detach it: the route comes back.
    r.write_config(base);
    r.json(&["reload"]);
    wait_for(20, "10.100.0.2/32 back at the ToR", || {
        frr_route(&tor.routes("ipv4 unicast"), "10.100.0.2/32").map(|_| ())
    });
    assert_eq!(r.neighbor("192.169.10.2")["flaps"], 0);
}

#[test]
fn passthrough_host_session_peers_with_the_host_and_originates_its_address() {
    let t = topo();
    let tor = Frr::start(&t.tor, &tor_config(64512, "64514", ""));
    let host = Frr::start(
        &t.host,
        &host_config(64515, &["10.100.0.1/32"], &["fd00:100::1/128"], ""),
    );
    // The host sessions come from OpenPERouter's L3Passthrough: node 0's host side of
    // 192.169.10.0/24 is .2 (and fd00:10::2), exactly where the host speaker is.
    let r = Perouterd::start(
        &t.router,
        "routerID: 10.0.0.1\nasn: 64514\nnodeIndex: 0\n\
         neighbors:\n- address: 192.168.11.2\n  asn: 64512\n- address: fd00:11::2\n  asn: 64512\n\
         passthrough:\n  hostSession:\n    asn: 64514\n    hostASN: 64515\n    localCIDR: {ipv4: 192.169.10.0/24, ipv6: \"fd00:10::/64\"}\n",
    );
    r.wait_established("192.169.10.2", 30);
    r.wait_established("fd00:10::2", 30);
    assert_eq!(
        r.neighbor("192.169.10.2")["summary"]["description"],
        "passthrough host session"
    );
    // The ToR learns the host's routes and the host's own address, originated by us.
    let v4 = wait_for(20, "the host's address and routes at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        (frr_route(&v, "10.100.0.1/32").is_some() && frr_route(&v, "192.169.10.2/32").is_some())
            .then_some(v)
    });
    let own = frr_route(&v4, "192.169.10.2/32").unwrap();
    assert_eq!(as_path(own), "64514");
    assert_eq!(own["origin"], "IGP");
    wait_for(20, "the host's IPv6 address at the ToR", || {
        frr_route(&tor.routes("ipv6 unicast"), "fd00:10::2/128").map(|_| ())
    });
    wait_for(20, "the ToR's route at the host", || {
        frr_route(&host.routes("ipv4 unicast"), "10.200.0.0/24").map(|_| ())
    });
}

#[test]
fn metrics_and_cli_text_reflect_the_sessions() {
    let t = topo();
    let _tor = Frr::start(&t.tor, &tor_config(64512, "64514", ""));
    let _host = Frr::start(&t.host, &host_config(64515, &["10.100.0.1/32"], &[], ""));
    let r = Perouterd::start(&t.router, &router_config("asn: 64512", "asn: 64515", ""));
    for a in ["192.168.11.2", "fd00:11::2", "192.169.10.2", "fd00:10::2"] {
        r.wait_established(a, 30);
    }
    wait_for(20, "routes from both sides", || {
        let d: Vec<String> = r
            .routes("ipv4-unicast")
            .iter()
            .filter_map(|x| x["destination"].as_str().map(String::from))
            .collect();
        (d.contains(&"10.100.0.1/32".to_string()) && d.contains(&"10.200.0.0/24".to_string()))
            .then_some(())
    });
    let m = router::client::request(&r.socket, "GET", "/metrics").unwrap();
    assert_eq!(m.status, 200);
    let value = |name: &str| -> u64 {
        m.body
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no {name} in:\n{}", m.body))
    };
    // The host's route, and maybe the ToR's echoed back by the host (allowas-in).
    assert!(
        value("perouterd_bgp_prefixes_received{neighbor=\"192.169.10.2\",family=\"ipv4-unicast\"}")
            >= 1
    );
    assert!(value("perouterd_bgp_updates_sent_total{neighbor=\"192.168.11.2\"}") >= 1);
    for line in [
        "perouterd_bgp_sessions{state=\"Established\"} 4",
        "perouterd_rib_destinations{family=\"ipv4-unicast\"} 2",
        "perouterd_bgp_rfc7606_total{neighbor=\"192.168.11.2\",action=\"treat-as-withdraw\"} 0",
    ] {
        assert!(
            m.body.lines().any(|l| l == line),
            "missing {line:?} in:\n{}",
            m.body
        );
    }
    assert!(m.body.contains("perouterd_resident_memory_bytes "));
    // The text views.
    let summary = r.ctl(&["show", "bgp", "summary"]);
    assert!(
        summary.contains("BGP router identifier 10.0.0.1, local AS number 64514"),
        "{summary}"
    );
    assert!(
        summary.lines().any(|l| l.starts_with("192.168.11.2")
            && l.contains("Established")
            && l.contains("tor-v4")),
        "{summary}"
    );
    let routes = r.ctl(&[
        "show",
        "bgp",
        "routes",
        "--afi",
        "ipv4-unicast",
        "10.100.0.0/16",
    ]);
    assert!(routes.contains("*> 10.100.0.1/32"), "{routes}");
    assert!(
        !routes.contains("10.200.0.0/24"),
        "the prefix filter: {routes}"
    );
    let neighbor = r.ctl(&["show", "bgp", "neighbors", "192.168.11.2"]);
    assert!(
        neighbor.contains("BGP neighbor is 192.168.11.2, remote AS 64512, external link"),
        "{neighbor}"
    );
    // Errors: an unknown neighbour and an unknown family, with exit status 2.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_perouterctl"))
        .arg("--api-socket")
        .arg(&r.socket)
        .args(["show", "bgp", "neighbors", "192.0.2.99"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no neighbour 192.0.2.99"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_perouterctl"))
        .args([
            "--api-socket",
            "/nonexistent/api.sock",
            "show",
            "bgp",
            "summary",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach perouterd"));
}

#[test]
fn unnumbered_with_frr_over_link_local_addresses_and_rfc8950() {
    // Only link-local addresses on the ToR link: the peers find each other through IPv6
    // router advertisements (FRR's zebra sends them for `neighbor IF interface`; we send ours).
    let tor_ns = Netns::new("t");
    let router = Netns::new("r");
    let host_ns = Netns::new("h");
    veth(&tor_ns, "tor0", &[], &router, "uplink", &[]);
    veth(
        &router,
        "host0",
        &["192.169.10.1/24"],
        &host_ns,
        "eth0",
        &["192.169.10.2/24"],
    );
    // Forwarding on, as in a router: the kernel then ignores RAs for its own configuration.
    router.exec(&["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    let tor = Frr::start_with_zebra(
        &tor_ns,
        "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
         neighbor tor0 interface remote-as external\n neighbor tor0 timers 3 9\n\
         address-family ipv4 unicast\n  network 10.200.0.0/24\n  neighbor tor0 activate\n exit-address-family\n",
    );
    let host = Frr::start(&host_ns, &host_config(64515, &["10.100.0.1/32"], &[], ""));
    let r = Perouterd::start(
        &router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - interface: uplink\n  type: External\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n\
         - address: 192.169.10.2\n  asn: 64515\n",
    );
    r.wait_established("uplink", 60);
    let n = r.neighbor("uplink");
    assert!(
        n["summary"]["neighbor"]
            .as_str()
            .unwrap()
            .starts_with("fe80::"),
        "{n}"
    );
    assert_eq!(n["families"], serde_json::json!(["ipv4-unicast"]));
    // IPv4 routes both ways over the IPv6 link-local session.
    let ours = wait_for(30, "the ToR's route at perouterd", || {
        r.routes("ipv4-unicast")
            .into_iter()
            .find(|x| x["destination"] == "10.200.0.0/24")
    });
    assert!(
        ours["paths"][0]["next_hop"]
            .as_str()
            .unwrap()
            .starts_with("fe80::"),
        "{ours}"
    );
    wait_for(30, "the ToR's route at the host", || {
        frr_route(&host.routes("ipv4 unicast"), "10.200.0.0/24").map(|_| ())
    });
    let v = wait_for(30, "the host's route at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        frr_route(&v, "10.100.0.1/32").is_some().then_some(v)
    });
    let route = frr_route(&v, "10.100.0.1/32").unwrap();
    assert_eq!(as_path(route), "64514 64515");
    assert_eq!(route["valid"], true, "{route}");
    let nh = &route["nexthops"][0];
    assert!(
        nh["ip"].as_str().unwrap_or("").starts_with("fe80::") || nh["scope"] == "link-local",
        "{route}"
    );
}

#[test]
fn gtsm_and_a_per_neighbour_local_as() {
    let t = topo();
    // FRR expects us as AS 64600 (our localASN for this neighbour) and checks TTL 255 (GTSM).
    let tor = Frr::start(
        &t.tor,
        "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
         neighbor 192.168.11.3 remote-as 64600\n neighbor 192.168.11.3 ttl-security hops 1\n neighbor 192.168.11.3 timers 3 9\n\
         address-family ipv4 unicast\n  network 10.200.0.0/24\n  neighbor 192.168.11.3 activate\n exit-address-family\n",
    );
    let host = Frr::start(&t.host, &host_config(64515, &["10.100.0.1/32"], &[], ""));
    let r = Perouterd::start(
        &t.router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  asn: 64512\n  localASN: 64600\n  ttlSecurityHops: 1\n  holdTimeSeconds: 9\n  keepaliveTimeSeconds: 3\n\
         - address: 192.169.10.2\n  asn: 64515\n",
    );
    r.wait_established("192.168.11.2", 40);
    tor.wait_established("192.168.11.3", 10);
    let v = tor.json("show bgp neighbors 192.168.11.3 json");
    assert_eq!(v["192.168.11.3"]["remoteAs"], 64600, "{v}");
    // The host's route reaches the ToR with the per-neighbour AS prepended.
    let routes = wait_for(20, "the host's route at the ToR", || {
        let v = tor.routes("ipv4 unicast");
        frr_route(&v, "10.100.0.1/32").is_some().then_some(v)
    });
    assert_eq!(
        as_path(frr_route(&routes, "10.100.0.1/32").unwrap()),
        "64600 64515"
    );
    drop(host);
}

#[test]
fn max_prefix_restart_brings_the_session_back_after_the_delay() {
    let t = topo();
    let host = Frr::start(
        &t.host,
        &host_config(64515, &["10.100.0.1/32", "10.100.0.2/32"], &[], ""),
    );
    let r = Perouterd::start(
        &t.router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.169.10.2\n  asn: 64515\n  maxPrefix: {limit: 1, restartSeconds: 2}\n",
    );
    // Over the limit at once, torn down, back after 2 s, torn down again: FRR counts the
    // connections.
    wait_for(30, "a second connection after the restart delay", || {
        let v = host.json("show bgp neighbors 192.169.10.1 json");
        let n = v["192.169.10.1"]["connectionsEstablished"]
            .as_u64()
            .unwrap_or(0);
        (n >= 2).then_some(())
    });
    assert!(r.neighbor("192.169.10.2")["flaps"].as_u64().unwrap() >= 1);
}

#[test]
fn sighup_and_a_file_change_reload_the_configuration() {
    let t = topo();
    let _tor = Frr::start(&t.tor, &tor_config(64512, "64514", ""));
    let config = router_config("asn: 64512", "asn: 64515", "");
    // This daemon checks its file every second (the others in these tests do not).
    std::env::set_var("PLAB_WATCH_SECONDS", "1");
    let r = Perouterd::start(&t.router, &config);
    std::env::remove_var("PLAB_WATCH_SECONDS");
    r.wait_established("192.168.11.2", 30);
    let description = |r: &Perouterd| {
        r.neighbor("192.168.11.2")["summary"]["description"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    // A file change alone is noticed and applied in place.
    r.write_config(&config.replace("description: tor-v4", "description: from-the-watcher"));
    wait_for(10, "the watcher to reload", || {
        (description(&r) == "from-the-watcher").then_some(())
    });
    // SIGHUP reloads too (the watcher sees no further change after it).
    r.write_config(&config.replace("description: tor-v4", "description: from-sighup"));
    r.proc.signal("HUP");
    wait_for(10, "SIGHUP to reload", || {
        (description(&r) == "from-sighup").then_some(())
    });
    assert_eq!(r.neighbor("192.168.11.2")["flaps"], 0);
    assert!(r.log().contains("SIGHUP: reloading"), "{}", r.log());
}

#[test]
fn route_reflector_reflects_between_ibgp_clients() {
    let t = topo();
    let client = |id: &str, peer: &str, nets: &str| {
        format!(
            "router bgp 64514\n bgp router-id {id}\n no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n\
             neighbor {peer} remote-as internal\n neighbor {peer} timers 3 9\n\
             address-family ipv4 unicast\n{nets}  neighbor {peer} activate\n exit-address-family\n"
        )
    };
    let a = Frr::start(
        &t.tor,
        &client("10.0.0.100", "192.168.11.3", "  network 10.200.0.0/24\n"),
    );
    let b = Frr::start(
        &t.host,
        &client("10.0.0.200", "192.169.10.1", "  network 10.100.0.0/24\n"),
    );
    let r = Perouterd::start(
        &t.router,
        "routerID: 10.0.0.1\nasn: 64514\nrouteReflector: {clusterID: 10.255.0.1}\nneighbors:\n\
         - address: 192.168.11.2\n  type: Internal\n  addressFamilies: [{type: ipv4unicast, properties: [{type: routeReflectorClient}]}]\n\
         - address: 192.169.10.2\n  type: Internal\n  addressFamilies: [{type: ipv4unicast, properties: [{type: routeReflectorClient}]}]\n",
    );
    r.wait_established("192.168.11.2", 30);
    r.wait_established("192.169.10.2", 30);
    // B's route reflected to A: ORIGINATOR_ID is B, CLUSTER_LIST our cluster id.
    wait_for(20, "the reflected route at A", || {
        frr_route(&a.routes("ipv4 unicast"), "10.100.0.0/24").map(|_| ())
    });
    let detail = a.json("show bgp ipv4 unicast 10.100.0.0/24 json");
    let path = &detail["paths"][0];
    assert_eq!(path["originatorId"], "10.0.0.200", "{detail}");
    let clusters = path["clusterList"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(clusters, vec![serde_json::json!("10.255.0.1")], "{detail}");
    // And the other way.
    wait_for(20, "the reflected route at B", || {
        frr_route(&b.routes("ipv4 unicast"), "10.200.0.0/24").map(|_| ())
    });
}
