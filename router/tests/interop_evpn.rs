//! perouterd's EVPN routes as FRR 8.4 (bgpd) receives them over an `l2vpn evpn` session: the
//! type-5 route of an L3VNI host session's host address and of an L2VNI gateway subnet, and a
//! type-3 (IMET) route per L2VNI, with FRR's own view of RD, RT, ET:8, Router's MAC, VNI label
//! and VTEP next hop (`show bgp l2vpn evpn json`). A reload that drops the L2VNI withdraws its
//! routes.
//!
//! Needs root, iproute2 and FRR (`apt-get install --no-install-recommends frr`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lab;

use std::time::Duration;

use bgp::session::{SessionCommand, SessionEvent};
use bgp::wire::Family;
use lab::{next, speaker_in, wait_for, Frr, Perouterd, Speaker};
use serde_json::Value;

const TOR: &str = "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n\
    no bgp default ipv4-unicast\n neighbor 192.168.11.3 remote-as 64514\n\
    address-family l2vpn evpn\n  neighbor 192.168.11.3 activate\n exit-address-family\n";

fn node(with_l2vni: bool) -> String {
    let mut s = String::from(
        "routerID: 10.0.0.1\nasn: 64514\nnodeIndex: 0\n\
         tunnelEndpoint: { cidrs: [100.65.0.0/24] }\n\
         neighbors:\n  - address: 192.168.11.2\n    asn: 64512\n\
         \x20   addressFamilies: [{ type: evpn }]\n\
         l3vnis:\n  - vrf: red\n    vni: 100\n\
         \x20   hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.10.0/24 } }\n",
    );
    if with_l2vni {
        s.push_str(
            "l2vnis:\n  - vni: 110\n    routingDomain: { type: L3VNI, l3vni: { name: red } }\n\
             \x20   gatewayIPs: [192.171.24.1/24]\n",
        );
    }
    s
}

/// Every route of FRR's EVPN table as (route key, first path).
fn evpn_routes(tor: &Frr) -> Vec<(String, String, Value)> {
    let v = tor.json("show bgp l2vpn evpn json");
    let mut out = Vec::new();
    if let Value::Object(rds) = v {
        for (rd, routes) in rds {
            let Value::Object(routes) = routes else {
                continue;
            };
            for (key, r) in routes {
                if let Some(path) = r["paths"][0][0].as_object() {
                    out.push((rd.clone(), key, Value::Object(path.clone())));
                } else if let Some(path) = r["paths"][0].as_object() {
                    out.push((rd.clone(), key, Value::Object(path.clone())));
                }
            }
        }
    }
    out
}

#[test]
fn frr_receives_our_type5_and_type3_routes_with_rt_encap_rmac_and_vni() {
    let topo = lab::topo();
    let tor = Frr::start(&topo.tor, TOR);
    let r = Perouterd::start(&topo.router, &node(true));
    tor.wait_established("192.168.11.3", 30);

    let routes = wait_for(20, "our three EVPN routes at FRR", || {
        let routes = evpn_routes(&tor);
        (routes.len() >= 3).then_some(routes)
    });
    let find = |needle: &str| {
        routes
            .iter()
            .find(|(_, k, _)| k.contains(needle))
            .unwrap_or_else(|| panic!("no route with {needle} at FRR: {routes:#?}"))
    };

    // Type-5 for the host address of node 0 (Host(192.169.10.0/24, 2)).
    let (rd, key, path) = find("[192.169.10.2]");
    assert!(key.starts_with("[5]:[0]:[32]:"), "{key}");
    assert_eq!(rd, "10.0.0.1:100", "RD router-id:VNI&0xFFFF");
    let ecs = path["extendedCommunity"]["string"]
        .as_str()
        .unwrap_or_default();
    for part in ["RT:64514:100", "ET:8", "Rmac:02:00:64:41:00:00"] {
        assert!(ecs.contains(part), "{part} missing from {ecs:?}");
    }
    let nh = path["nexthops"][0]["ip"].as_str().unwrap_or_default();
    assert_eq!(
        nh, "100.65.0.0",
        "the VTEP, not the session address: {path}"
    );
    assert_eq!(path["path"], "64514", "{path}");

    // Type-5 for the L2VNI gateway subnet routed in red; type-3 for the L2VNI.
    let (_, key, gw) = find("[192.171.24.0]");
    assert!(key.starts_with("[5]:[0]:[24]:"), "{key}");
    let gw_ecs = gw["extendedCommunity"]["string"]
        .as_str()
        .unwrap_or_default();
    assert!(gw_ecs.contains("RT:64514:100"), "{gw_ecs}");
    let (rd3, key3, imet) = find("[3]:");
    assert_eq!(rd3, "10.0.0.1:110");
    assert!(
        key3.contains("[100.65.0.0]"),
        "originator is the VTEP: {key3}"
    );
    let imet_ecs = imet["extendedCommunity"]["string"]
        .as_str()
        .unwrap_or_default();
    assert!(
        imet_ecs.contains("RT:64514:110") && imet_ecs.contains("ET:8"),
        "{imet_ecs}"
    );

    // The VNI FRR reads from the label (its detail view prints it per route).
    let detail = tor.vtysh("show bgp l2vpn evpn route detail type prefix");
    for route in ["[5]:[0]:[32]:[192.169.10.2]", "[5]:[0]:[24]:[192.171.24.0]"] {
        assert!(
            detail.contains(&format!("Route {route} VNI 100")),
            "FRR does not read VNI 100 for {route}:\n{detail}"
        );
    }

    // Dropping the L2VNI withdraws its two routes and keeps the host route.
    r.write_config(&node(false));
    r.ctl(&["reload"]);
    wait_for(20, "the L2VNI's routes to be withdrawn at FRR", || {
        let routes = evpn_routes(&tor);
        (routes.len() == 1).then_some(())
    });
    let left = evpn_routes(&tor);
    assert!(left[0].1.contains("[192.169.10.2]"), "{left:?}");
}

/// A GoBGP EVPN peer (the ToR's role) that injects IMETs; perouterd imports them into its
/// L2VNI's flood list in the kernel (`--host-netns`; an L2VNI needs no VRF, so this runs on
/// the host kernel).
#[test]
fn a_remote_imet_from_gobgp_becomes_a_flood_entry_and_its_withdrawal_removes_it() {
    let topo = lab::topo();
    let gobgp = lab::Gobgp::start(
        &topo.tor,
        &[
            lab::gobgp_global(64512, "10.0.0.100"),
            lab::gobgp_neighbor(
                "192.168.11.3",
                64514,
                "192.168.11.2",
                &["l2vpn-evpn", "ipv4-unicast"],
                None,
            ),
        ]
        .concat(),
    );
    let host_path = format!("/run/netns/{}", topo.host.name);
    let r = Perouterd::start_with_args(
        &topo.router,
        "routerID: 10.0.0.1\nasn: 64514\nnodeIndex: 0\n\
         tunnelEndpoint: { cidrs: [100.65.0.0/24] }\n\
         neighbors:\n  - address: 192.168.11.2\n    asn: 64512\n\
         \x20   addressFamilies: [{ type: evpn }, { type: ipv4unicast }]\n\
         l2vnis:\n  - vni: 120\n",
        &["--host-netns", &host_path],
    );
    r.wait_established("192.168.11.2", 30);
    let flood = |ns: &lab::Netns| -> Vec<String> {
        let text = lab::sh(&[
            "bridge", "-n", &ns.name, "-j", "fdb", "show", "dev", "vni120",
        ]);
        serde_json::from_str::<Vec<Value>>(&text)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["mac"] == "00:00:00:00:00:00")
            .filter_map(|e| e["dst"].as_str().map(str::to_owned))
            .collect()
    };
    wait_for(20, "vni120 to exist", || {
        lab::sh(&["ip", "-n", &topo.router.name, "-j", "link", "show"])
            .contains("\"vni120\"")
            .then_some(())
    });
    assert!(flood(&topo.router).is_empty(), "no remote VTEP yet");

    // GoBGP's IMET for VNI 120 from VTEP 100.65.0.9, RT 64512:120 (imported by *:120).
    gobgp.cli(&[
        "global",
        "rib",
        "-a",
        "evpn",
        "add",
        "multicast",
        "100.65.0.9",
        "etag",
        "0",
        "rd",
        "10.0.0.9:120",
        "rt",
        "64512:120",
        "encap",
        "vxlan",
        "pmsi",
        "ingress-repl",
        "120",
        "100.65.0.9",
        "nexthop",
        "100.65.0.9",
    ]);
    let dsts = wait_for(20, "the flood entry for 100.65.0.9", || {
        let d = flood(&topo.router);
        (!d.is_empty()).then_some(d)
    });
    assert_eq!(dsts, ["100.65.0.9"]);
    // Ours: permanent on our VXLAN device.
    let text = lab::sh(&[
        "bridge",
        "-n",
        &topo.router.name,
        "-j",
        "-d",
        "fdb",
        "show",
        "dev",
        "vni120",
    ]);
    assert!(text.contains("permanent"), "{text}");

    // An IMET for another VNI (RT 64512:999) is not imported.
    gobgp.cli(&[
        "global",
        "rib",
        "-a",
        "evpn",
        "add",
        "multicast",
        "100.65.0.8",
        "etag",
        "0",
        "rd",
        "10.0.0.8:999",
        "rt",
        "64512:999",
        "encap",
        "vxlan",
        "pmsi",
        "ingress-repl",
        "999",
        "100.65.0.8",
        "nexthop",
        "100.65.0.8",
    ]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(flood(&topo.router), ["100.65.0.9"]);

    gobgp.cli(&[
        "global",
        "rib",
        "-a",
        "evpn",
        "del",
        "multicast",
        "100.65.0.9",
        "etag",
        "0",
        "rd",
        "10.0.0.9:120",
    ]);
    wait_for(20, "the flood entry to be removed", || {
        flood(&topo.router).is_empty().then_some(())
    });
    assert!(r.log().contains("fabric imports changed"), "{}", r.log());

    // The underlay: our VTEP /32 reaches GoBGP, and GoBGP's unicast route lands in our main
    // table (what zebra did for FRR), and leaves it with the withdrawal.
    wait_for(20, "our VTEP at GoBGP", || {
        gobgp
            .rib("ipv4")
            .contains_key("100.65.0.0/32")
            .then_some(())
    });
    gobgp.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv4",
        "10.77.0.0/24",
        "nexthop",
        "192.168.11.2",
    ]);
    let route = wait_for(20, "10.77.0.0/24 in perouterd's main table", || {
        let out = lab::sh(&[
            "ip",
            "-n",
            &topo.router.name,
            "route",
            "show",
            "10.77.0.0/24",
        ]);
        (!out.trim().is_empty()).then_some(out)
    });
    assert!(
        route.contains("via 192.168.11.2") && route.contains("proto 250"),
        "{route}"
    );
    gobgp.cli(&["global", "rib", "del", "-a", "ipv4", "10.77.0.0/24"]);
    wait_for(20, "10.77.0.0/24 to leave the main table", || {
        lab::sh(&[
            "ip",
            "-n",
            &topo.router.name,
            "route",
            "show",
            "10.77.0.0/24",
        ])
        .trim()
        .is_empty()
        .then_some(())
    });
}

/// Type-2 both ways on an L2VNI (no VRF, host kernel): a MAC the kernel bridge learns from
/// the host side is advertised to GoBGP (RD 10.0.0.1:120, label 120), and GoBGP's MAC/IP
/// route becomes an FDB entry towards its VTEP plus an ARP suppression neighbour.
#[test]
fn type2_local_learning_is_advertised_and_remote_macs_are_programmed() {
    let topo = lab::topo();
    let gobgp = lab::Gobgp::start(
        &topo.tor,
        &[
            lab::gobgp_global(64512, "10.0.0.100"),
            lab::gobgp_neighbor("192.168.11.3", 64514, "192.168.11.2", &["l2vpn-evpn"], None),
        ]
        .concat(),
    );
    let host_path = format!("/run/netns/{}", topo.host.name);
    let r = Perouterd::start_with_args(
        &topo.router,
        "routerID: 10.0.0.1\nasn: 64514\nnodeIndex: 0\n\
         tunnelEndpoint: { cidrs: [100.65.0.0/24] }\n\
         neighbors:\n  - address: 192.168.11.2\n    asn: 64512\n\
         \x20   addressFamilies: [{ type: evpn }]\n\
         l2vnis:\n  - { vni: 120, hostMaster: { type: LinuxBridge, linuxBridge: { lifecycle: Managed } } }\n",
        &["--host-netns", &host_path],
    );
    r.wait_established("192.168.11.2", 30);
    wait_for(20, "br-hs-120 on the host", || {
        lab::sh(&["ip", "-n", &topo.host.name, "-j", "link", "show"])
            .contains("\"br-hs-120\"")
            .then_some(())
    });

    // Remote: GoBGP's MAC/IP route for VNI 120 (RT 64512:120, imported by *:120).
    gobgp.cli(&[
        "global",
        "rib",
        "-a",
        "evpn",
        "add",
        "macadv",
        "02:00:00:00:99:01",
        "10.120.0.9",
        "etag",
        "0",
        "label",
        "120",
        "rd",
        "10.0.0.9:120",
        "rt",
        "64512:120",
        "encap",
        "vxlan",
        "nexthop",
        "100.65.0.9",
    ]);
    let fdb = wait_for(20, "the remote MAC on vni120", || {
        let out = lab::sh(&[
            "bridge",
            "-n",
            &topo.router.name,
            "fdb",
            "show",
            "dev",
            "vni120",
        ]);
        let device = out
            .lines()
            .find(|l| l.starts_with("02:00:00:00:99:01") && l.contains(" dst "))?;
        // And the bridge's own entry on the VXLAN port, as zebra installs it.
        let bridge = out
            .lines()
            .find(|l| l.starts_with("02:00:00:00:99:01") && l.contains("master br-pe-120"))?;
        assert!(bridge.contains("extern_learn"), "{bridge}");
        Some(device.to_owned())
    });
    assert!(
        fdb.contains("dst 100.65.0.9") && fdb.contains("extern_learn"),
        "{fdb}"
    );
    let neigh = lab::sh(&[
        "ip",
        "-n",
        &topo.router.name,
        "neigh",
        "show",
        "dev",
        "br-pe-120",
    ]);
    assert!(
        neigh.contains("10.120.0.9 lladdr 02:00:00:00:99:01"),
        "ARP suppression entry: {neigh}"
    );

    // Local: traffic from the host side teaches br-pe-120 the host bridge's MAC on pe-e-120.
    let host_mac = lab::sh(&[
        "ip",
        "-n",
        &topo.host.name,
        "-j",
        "link",
        "show",
        "dev",
        "br-hs-120",
    ]);
    let host_mac: Vec<Value> = serde_json::from_str(&host_mac).unwrap();
    let host_mac = host_mac[0]["address"].as_str().unwrap().to_owned();
    lab::sh(&[
        "ip",
        "-n",
        &topo.host.name,
        "addr",
        "add",
        "10.120.0.2/24",
        "dev",
        "br-hs-120",
    ]);
    let _ = topo
        .host
        .command("ping")
        .args(["-c", "2", "-W", "1", "10.120.0.77"])
        .output();
    let learned = wait_for(20, "GoBGP to receive our type-2 for the host's MAC", || {
        let out = gobgp.cli(&["global", "rib", "-a", "evpn"]);
        out.contains(&host_mac).then_some(out)
    });
    let line = learned
        .lines()
        .find(|l| l.contains(&host_mac))
        .unwrap_or_default();
    assert!(line.contains("10.0.0.1:120"), "our RD: {line}");
    assert!(line.contains("100.65.0.0"), "our VTEP as next hop: {line}");
    let withdrawn = gobgp.cli(&[
        "global",
        "rib",
        "-a",
        "evpn",
        "del",
        "macadv",
        "02:00:00:00:99:01",
        "10.120.0.9",
        "etag",
        "0",
        "label",
        "120",
        "rd",
        "10.0.0.9:120",
    ]);
    let _ = withdrawn;
    wait_for(20, "the remote MAC to leave vni120", || {
        (!lab::sh(&[
            "bridge",
            "-n",
            &topo.router.name,
            "fdb",
            "show",
            "dev",
            "vni120",
        ])
        .contains("02:00:00:00:99:01"))
        .then_some(())
    });
}

/// An EVPN route of a type perouterd does not know (type 8, from ExaBGP's `bgp-evpn-1`
/// vector: a real UPDATE withdrawing type-2 routes next to a type-8 one) is skipped and the
/// session stays up (RFC 7606 §5.4; GoBGP resets the session here, FRR does not).
#[test]
fn an_unknown_evpn_route_type_keeps_the_session_up() {
    let topo = lab::topo();
    let r = Perouterd::start(
        &topo.router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.169.10.2\n  asn: 64515\n  passive: true\n\
         \x20 addressFamilies: [{ type: evpn }]\n",
    );
    let hex = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/conformance/exabgp/bgp-evpn-1.hex"),
    )
    .expect("../shared/conformance/exabgp/bgp-evpn-1.hex (the shared conformance corpus)");
    let body = router::decode::parse_hex(&hex).unwrap();
    let update = router::decode::with_header(2, &body);
    let mut sp = Speaker::host();
    sp.families = vec![Family::L2vpnEvpn];
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
    let speaker = speaker_in(&topo.host.name, sp, move |cmd, mut ev| async move {
        next(&mut ev, |e| {
            matches!(e, SessionEvent::Established(_)).then_some(())
        })
        .await;
        cmd.try_send(SessionCommand::SendEncoded(vec![update]))
            .unwrap();
        // Whatever comes within 5 s: a Down would be the session reset.
        let outcome = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match ev.recv().await {
                    Some(SessionEvent::Down(reason)) => return format!("down: {reason:?}"),
                    Some(_) => continue,
                    None => return "closed".to_owned(),
                }
            }
        })
        .await
        .unwrap_or_else(|_| "still up".to_owned());
        tx.send(outcome).unwrap();
        // Keep the session open until perouterd's side has been checked.
        let _ =
            tokio::task::spawn_blocking(move || finish_rx.recv_timeout(Duration::from_secs(30)))
                .await;
        drop(cmd);
    });
    let outcome = rx.recv_timeout(Duration::from_secs(40)).unwrap();
    assert_eq!(
        outcome,
        "still up",
        "perouterd reset the session:\n{}",
        r.log()
    );
    let n = r.neighbor("192.169.10.2");
    assert_eq!(n["summary"]["state"], "Established", "{n}");
    assert_eq!(n["summary"]["updates_in"], 1, "the UPDATE was read: {n}");
    assert_eq!(n["flaps"], 0, "{n}");
    assert_eq!(n["rfc7606"]["session_reset"], 0, "{n}");
    finish_tx.send(()).unwrap();
    speaker.join().unwrap();
}

/// The L3VNI's VRF instance with its host session (OpenPERouter's `router bgp 64514 vrf red`
/// with `neighbor <hostIP>`), both ways, over IPv4 and IPv6 sessions:
/// - the host's routes become type-5 routes at the EVPN peer (RT, Router's MAC, VNI label,
///   our VTEP as next hop, the host's AS path behind ours), and go when the host withdraws;
/// - a type-5 route from the EVPN peer (RT `64512:100`, imported by `*:100`) reaches the
///   host with the router-side address as next hop and the fabric's AS path, and goes with
///   the withdrawal; a type-5 of another VNI does not.
///
/// The VRF here is a plain veth named `red` (this kernel has no VRF device): the session's
/// sockets are bound to the device as they are to a VRF, which is all the BGP side needs.
/// The VM's fabric test runs the same with a real VRF and the kernel routes.
#[test]
fn a_vrf_host_session_exchanges_routes_with_the_evpn_fabric() {
    lab::require_root();
    let tor = lab::Netns::new("t");
    let router = lab::Netns::new("r");
    let host = lab::Netns::new("h");
    lab::veth(
        &tor,
        "tor0",
        &["192.168.11.2/24"],
        &router,
        "uplink",
        &["192.168.11.3/24"],
    );
    lab::veth(
        &router,
        "red",
        &["192.169.10.1/24", "fd00:10::1/64"],
        &host,
        "eth0",
        &["192.169.10.2/24", "fd00:10::2/64"],
    );
    let fabric = lab::Gobgp::start(
        &tor,
        &[
            lab::gobgp_global(64512, "10.0.0.100"),
            lab::gobgp_neighbor("192.168.11.3", 64514, "192.168.11.2", &["l2vpn-evpn"], None),
        ]
        .concat(),
    );
    let hostbgp = lab::Gobgp::start(
        &host,
        &[
            lab::gobgp_global(64515, "10.0.0.50"),
            lab::gobgp_neighbor(
                "192.169.10.1",
                64514,
                "192.169.10.2",
                &["ipv4-unicast"],
                None,
            ),
            lab::gobgp_neighbor("fd00:10::1", 64514, "fd00:10::2", &["ipv6-unicast"], None),
        ]
        .concat(),
    );
    let r = Perouterd::start(
        &router,
        "routerID: 10.0.0.1\nasn: 64514\nnodeIndex: 0\n\
         tunnelEndpoint: { cidrs: [100.65.0.0/24] }\n\
         neighbors:\n  - address: 192.168.11.2\n    asn: 64512\n\
         \x20   addressFamilies: [{ type: evpn }]\n\
         l3vnis:\n  - vrf: red\n    vni: 100\n\
         \x20   hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.10.0/24, ipv6: \"fd00:10::/64\" } }\n",
    );
    r.wait_established("192.168.11.2", 30);
    hostbgp.wait_established("192.169.10.1", 30);
    hostbgp.wait_established("fd00:10::1", 30);
    let summary = r.json(&["show", "bgp", "summary"]);
    assert!(
        summary.to_string().contains("host session of VRF red"),
        "{summary}"
    );

    // Host → fabric.
    hostbgp.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv4",
        "10.50.0.0/24",
        "nexthop",
        "192.169.10.2",
    ]);
    hostbgp.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv6",
        "2001:db8:50::/64",
        "nexthop",
        "fd00:10::2",
    ]);
    let evpn = |needle: &str| -> Option<String> {
        fabric
            .cli(&["global", "rib", "-a", "evpn"])
            .lines()
            .find(|l| l.contains(needle))
            .map(str::to_owned)
    };
    for prefix in ["10.50.0.0/24", "2001:db8:50::/64"] {
        let line = wait_for(20, &format!("the type-5 of {prefix} at the fabric"), || {
            evpn(prefix)
        });
        assert!(line.contains("[rd:10.0.0.1:100]"), "our RD: {line}");
        assert!(line.contains("100.65.0.0"), "our VTEP as next hop: {line}");
        assert!(
            line.contains("64514 64515"),
            "the host's AS path behind ours: {line}"
        );
        assert!(line.contains("64514:100"), "RT: {line}");
        assert!(line.contains("02:00:64:41:00:00"), "Router's MAC: {line}");
    }
    // The host-side addresses the VRF originates (`network <hostIP>/32`) are there too.
    let own = wait_for(20, "the host address's type-5", || evpn("192.169.10.2/32"));
    assert!(own.contains("100.65.0.0"), "{own}");
    let detail = fabric.json(&["global", "rib", "-a", "evpn"]).to_string();
    assert!(
        detail.contains("\"label\":100"),
        "VNI 100 in the label: {detail}"
    );

    // Fabric → host.
    for (prefix, rd, rt) in [
        ("10.60.0.0/24", "10.0.0.9:100", "64512:100"),
        ("10.61.0.0/24", "10.0.0.9:200", "64512:200"),
        ("2001:db8:60::/64", "10.0.0.9:100", "64512:100"),
    ] {
        fabric.cli(&[
            "global",
            "rib",
            "-a",
            "evpn",
            "add",
            "prefix",
            prefix,
            "etag",
            "0",
            "rd",
            rd,
            "rt",
            rt,
            "encap",
            "vxlan",
            "router-mac",
            "02:00:00:00:00:09",
            "label",
            "100",
            "nexthop",
            "100.65.0.9",
        ]);
    }
    let v4 = wait_for(20, "10.60.0.0/24 at the host", || {
        hostbgp
            .rib("ipv4")
            .get("10.60.0.0/24")
            .map(|v| v.to_string())
    });
    assert!(
        v4.contains("192.169.10.1"),
        "next hop = our side of the veth: {v4}"
    );
    assert!(
        v4.contains("64514") && v4.contains("64512"),
        "AS path 64514 64512: {v4}"
    );
    let v6 = wait_for(20, "2001:db8:60::/64 at the host", || {
        hostbgp
            .rib("ipv6")
            .get("2001:db8:60::/64")
            .map(|v| v.to_string())
    });
    assert!(
        v6.contains("fd00:10::1"),
        "next hop = our side of the veth: {v6}"
    );
    assert!(
        !hostbgp.rib("ipv4").contains_key("10.61.0.0/24"),
        "RT 64512:200 is not imported into red (VNI 100)"
    );
    // Our own type-5 routes do not come back into the VRF as imports.
    let routes = r
        .json(&["show", "bgp", "routes", "--vrf", "red"])
        .to_string();
    assert!(
        routes.contains("10.60.0.0/24") && routes.contains("\"evpn\""),
        "{routes}"
    );
    assert!(
        routes.contains("10.50.0.0/24") && routes.contains("192.169.10.2"),
        "{routes}"
    );

    // Withdrawals, both ways.
    fabric.cli(&[
        "global",
        "rib",
        "-a",
        "evpn",
        "del",
        "prefix",
        "10.60.0.0/24",
        "etag",
        "0",
        "rd",
        "10.0.0.9:100",
    ]);
    wait_for(20, "10.60.0.0/24 to leave the host", || {
        (!hostbgp.rib("ipv4").contains_key("10.60.0.0/24")).then_some(())
    });
    hostbgp.cli(&["global", "rib", "del", "-a", "ipv4", "10.50.0.0/24"]);
    wait_for(20, "the type-5 of 10.50.0.0/24 to leave the fabric", || {
        evpn("10.50.0.0/24").is_none().then_some(())
    });
    assert!(evpn("2001:db8:50::/64").is_some(), "the IPv6 route stays");
}

/// MACs the bridge learned while perouterd was not running are advertised when it starts:
/// the daemon reads the FDB and neighbour tables at start (and after a watcher overrun)
/// instead of waiting for the kernel to report them again, which for an idle host would be
/// never (the entry just sits there until it ages out).
#[test]
fn macs_learned_while_perouterd_was_down_are_advertised_at_start() {
    let topo = lab::topo();
    let gobgp = lab::Gobgp::start(
        &topo.tor,
        &[
            lab::gobgp_global(64512, "10.0.0.100"),
            lab::gobgp_neighbor("192.168.11.3", 64514, "192.168.11.2", &["l2vpn-evpn"], None),
        ]
        .concat(),
    );
    let host_path = format!("/run/netns/{}", topo.host.name);
    let mut r = Perouterd::start_with_args(
        &topo.router,
        "routerID: 10.0.0.1\nasn: 64514\nnodeIndex: 0\n\
         tunnelEndpoint: { cidrs: [100.65.0.0/24] }\n\
         neighbors:\n  - address: 192.168.11.2\n    asn: 64512\n\
         \x20   addressFamilies: [{ type: evpn }]\n\
         l2vnis:\n  - { vni: 120, hostMaster: { type: LinuxBridge, linuxBridge: { lifecycle: Managed } } }\n",
        &["--host-netns", &host_path],
    );
    r.wait_established("192.168.11.2", 30);
    wait_for(20, "br-hs-120 on the host", || {
        lab::sh(&["ip", "-n", &topo.host.name, "-j", "link", "show"])
            .contains("\"br-hs-120\"")
            .then_some(())
    });
    // perouterd stops; then the host talks, and br-pe-120 learns its MAC.
    r.stop();
    let host_mac: Vec<Value> = serde_json::from_str(&lab::sh(&[
        "ip",
        "-n",
        &topo.host.name,
        "-j",
        "link",
        "show",
        "dev",
        "br-hs-120",
    ]))
    .unwrap();
    let host_mac = host_mac[0]["address"].as_str().unwrap().to_owned();
    lab::sh(&[
        "ip",
        "-n",
        &topo.host.name,
        "addr",
        "add",
        "10.120.0.2/24",
        "dev",
        "br-hs-120",
    ]);
    let _ = topo
        .host
        .command("ping")
        .args(["-c", "1", "-W", "1", "10.120.0.77"])
        .output();
    let fdb = lab::sh(&[
        "bridge",
        "-n",
        &topo.router.name,
        "fdb",
        "show",
        "br",
        "br-pe-120",
    ]);
    assert!(
        fdb.contains(&host_mac),
        "the bridge learned {host_mac}: {fdb}"
    );
    assert!(
        !gobgp
            .cli(&["global", "rib", "-a", "evpn"])
            .contains(&host_mac),
        "nobody advertised it yet"
    );

    // No traffic from now on; the start alone must advertise it.
    r.start_again();
    let rib = wait_for(
        30,
        "GoBGP to receive the type-2 of the MAC learned meanwhile",
        || {
            let out = gobgp.cli(&["global", "rib", "-a", "evpn"]);
            out.contains(&host_mac).then_some(out)
        },
    );
    let line = rib
        .lines()
        .find(|l| l.contains(&host_mac))
        .unwrap_or_default();
    assert!(line.contains("10.0.0.1:120"), "our RD: {line}");
    assert!(
        r.log()
            .contains("local MACs resynchronised with the kernel"),
        "{}",
        r.log()
    );
}
