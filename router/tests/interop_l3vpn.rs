//! perouterd's SRv6 L3VPN (OpenPERouter's `L3VPN`) against real peers: an L3VPN VRF with a
//! host session exports the host's routes as VPN-IPv4/VPN-IPv6 routes with the VRF's SRv6
//! SID, as FRR 8.4 (bgpd) decodes them (`show bgp ipv4|ipv6 vpn … json`); VPN routes of
//! another PE (with an SRv6 L3 Service TLV, sent by our own session library since neither
//! FRR without zebra nor GoBGP 3.10's CLI can originate them) are imported into the VRF and
//! reach the host with the router-side address as next hop; withdrawals both ways.
//!
//! The VRF here is a plain veth named `blue` (this kernel has no VRF device): the session's
//! sockets are bound to the device as they are to a VRF, which is all the BGP side needs.
//! The kernel objects (local SID routes, H.Encaps routes) are unit-tested in
//! `config_l3vpn.rs`.
//!
//! Needs root, iproute2, FRR (`apt-get install --no-install-recommends frr`) and GoBGP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lab;

use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp::session::{SessionCommand, SessionEvent};
use bgp::wire::{pack, AdminValue, AsPath, Context, Family, Origin, PathAttributes};
use evpn::l3vpn::{Export, Locator, VpnConfig, VpnSpec};
use evpn::rt::RtMatch;
use lab::{next, speaker_in, wait_for, Frr, Perouterd, Speaker};
use serde_json::Value;

/// FRR, the fabric PE we check our exports at: an IPv6 session to our VTEP (perouterd's
/// update-source for SRv6 VPN neighbours), both VPN families, extended next hop.
const TOR: &str = "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n\
    no bgp default ipv4-unicast\n neighbor fd00:65::1 remote-as 64514\n\
    neighbor fd00:65::1 disable-connected-check\n neighbor fd00:65::1 update-source fd00:11::2\n\
    neighbor fd00:65::1 capability extended-nexthop\n\
    address-family ipv4 vpn\n  neighbor fd00:65::1 activate\n exit-address-family\n\
    address-family ipv6 vpn\n  neighbor fd00:65::1 activate\n exit-address-family\n";

const NODE: &str = "\
routerID: 10.0.0.2
asn: 64514
nodeIndex: 1
tunnelEndpoint: { cidrs: ['fd00:65::/64'] }
srv6: { locator: { basePrefix: 'fd00:0:32::/48', format: usid-f3216 } }
neighbors:
  - address: 'fd00:11::2'
    asn: 64512
    addressFamilies: [{ type: ipv4vpn }, { type: ipv6vpn }]
  - address: 'fd00:12::2'
    asn: 64513
    passive: true
    addressFamilies: [{ type: ipv4vpn }, { type: ipv6vpn }]
l3vpns:
  - vrf: blue
    rdAssignedNumber: 200
    importRTs: ['64513:200']
    hostSession: { asn: 64514, hostASN: 64516, localCIDR: { ipv4: 192.169.20.0/24, ipv6: 'fd00:20::/64' } }
";

/// Our SID of VRF blue: node 1's locator fd00:0:33::/48 with FRR's first dynamic uSID
/// function 0xE000.
const OUR_SID: &str = "fd00:0:33:e000::";
/// The label carrying the transposed function: 0xE000 << 4 (FRR `label = func << (20 -
/// func_len)`).
const OUR_LABEL: u64 = 0xE000 << 4;

/// The other PE (AS 64513, RD 10.0.0.9:200, RT 64513:200, SID fd00:0:40:e000::): its VPN
/// route for `prefix`, built as FRR builds one.
fn remote_route(prefix: &str) -> Export {
    let cfg = VpnConfig::with_auto(
        "10.0.0.9".parse().unwrap(),
        64513,
        "fd00:12::2".parse().unwrap(),
        Locator::usid_f3216("fd00:0:40::/48".parse().unwrap()),
        &[VpnSpec {
            vrf: "x".into(),
            table: 0,
            rd_assigned_number: 200,
            export_rts: vec![AdminValue::As2 {
                asn: 64513,
                value: 200,
            }],
            import_rts: vec![RtMatch::AnyAdmin(200)],
        }],
        &BTreeMap::new(),
    )
    .unwrap();
    let base = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(vec![64513])),
        ..Default::default()
    };
    evpn::l3vpn::export(&cfg, &cfg.vpns[0], prefix.parse().unwrap(), &base).unwrap()
}

fn ctx() -> Context {
    let mut c = Context::default();
    c.extended_next_hop.insert(Family::Ipv4Vpn);
    c
}

/// FRR's paths of `prefix` under RD `rd` in `afi` (`ipv4` / `ipv6`), detailed (FRR 8.4
/// keys the answer by RD: `{"<rd>": {"prefix": …, "paths": [...]}}`).
fn frr_paths(frr: &Frr, afi: &str, rd: &str, prefix: &str) -> Option<Value> {
    let v = frr.json(&format!("show bgp {afi} vpn rd {rd} {prefix} json"));
    let paths = v.get(rd)?.get("paths")?;
    (paths.as_array().is_some_and(|a| !a.is_empty())).then(|| paths.clone())
}

/// The SID FRR would program for a path: its `remoteSid` with the function bits taken back
/// from `remoteLabel` (FRR 8.4 shows the SID as received, transposed bits zero, and undoes
/// the transposition only towards zebra: `transpose_sid`). f3216: 16 bits at offset 48, the
/// label's top 16 of 20 bits.
fn frr_sid(path: &Value) -> Ipv6Addr {
    let sid: Ipv6Addr = path["remoteSid"].as_str().unwrap().parse().unwrap();
    let label = path["remoteLabel"].as_u64().unwrap();
    Ipv6Addr::from(u128::from(sid) | (u128::from(label >> 4) << 64))
}

#[test]
fn an_l3vpn_vrf_exchanges_srv6_vpn_routes_with_frr_and_a_remote_pe() {
    lab::require_root();
    let tor = lab::Netns::new("t");
    let router = lab::Netns::new("r");
    let host = lab::Netns::new("h");
    let pe2 = lab::Netns::new("p");
    lab::veth(
        &tor,
        "tor0",
        &["fd00:11::2/64"],
        &router,
        "uplink",
        &["fd00:11::3/64"],
    );
    lab::veth(
        &pe2,
        "pe0",
        &["fd00:12::2/64"],
        &router,
        "pe2",
        &["fd00:12::3/64"],
    );
    lab::veth(
        &router,
        "blue",
        &["192.169.20.1/24", "fd00:20::1/64"],
        &host,
        "eth0",
        &["192.169.20.3/24", "fd00:20::3/64"],
    );
    // Node 1's IPv6 VTEP (the kernel task would put it on lo), reachable from the ToR.
    router.addr("lo", "fd00:65::1/128");
    tor.exec(&[
        "ip",
        "-6",
        "route",
        "add",
        "fd00:65::/64",
        "via",
        "fd00:11::3",
    ]);

    let frr = Frr::start(&tor, TOR);
    let hostbgp = lab::Gobgp::start(
        &host,
        &[
            lab::gobgp_global(64516, "10.0.0.50"),
            lab::gobgp_neighbor(
                "192.169.20.1",
                64514,
                "192.169.20.3",
                &["ipv4-unicast"],
                None,
            ),
            lab::gobgp_neighbor("fd00:20::1", 64514, "fd00:20::3", &["ipv6-unicast"], None),
        ]
        .concat(),
    );
    let mut r = Perouterd::start(&router, NODE);
    frr.wait_established("fd00:65::1", 30);
    hostbgp.wait_established("192.169.20.1", 30);
    hostbgp.wait_established("fd00:20::1", 30);
    // The OPEN carried both VPN families and RFC 8950 for VPN-IPv4 over IPv6.
    let n = frr.json("show bgp neighbors fd00:65::1 json")["fd00:65::1"].clone();
    let caps = n["neighborCapabilities"].to_string();
    assert!(
        caps.contains("ipv4Vpn") && caps.contains("ipv6Vpn"),
        "{caps}"
    );
    assert!(caps.contains("extendedNexthop"), "{caps}");
    let afs = n["addressFamilyInfo"].to_string();
    assert!(afs.contains("ipv4Vpn") && afs.contains("ipv6Vpn"), "{afs}");

    // Host → VPN.
    hostbgp.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv4",
        "10.50.0.0/24",
        "nexthop",
        "192.169.20.3",
    ]);
    hostbgp.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv6",
        "2001:db8:50::/64",
        "nexthop",
        "fd00:20::3",
    ]);
    for (afi, prefix) in [
        ("ipv4", "10.50.0.0/24"),
        ("ipv6", "2001:db8:50::/64"),
        ("ipv4", "192.169.20.3/32"),
        ("ipv6", "fd00:20::3/128"),
    ] {
        let v = wait_for(
            20,
            &format!("{prefix} at FRR under RD 10.0.0.2:200"),
            || frr_paths(&frr, afi, "10.0.0.2:200", prefix),
        );
        let p = &v[0];
        let text = p.to_string();
        assert_eq!(p["extendedCommunity"]["string"], "RT:64514:200", "{text}");
        assert_eq!(p["remoteLabel"].as_u64(), Some(OUR_LABEL), "{text}");
        assert_eq!(
            p["remoteSid"], "fd00:0:33::",
            "the SID with the function transposed out: {text}"
        );
        assert_eq!(
            frr_sid(p),
            OUR_SID.parse::<Ipv6Addr>().unwrap(),
            "FRR's SID is our per-VRF SID: {text}"
        );
        assert_eq!(p["valid"], true, "{text}");
        let want_path = if prefix.starts_with("10.50") || prefix.starts_with("2001") {
            "64514 64516"
        } else {
            "64514"
        };
        assert_eq!(p["aspath"]["string"], want_path, "{text}");
        // The table view shows the MP_REACH next hop (our IPv6 VTEP) and the SID structure.
        let table = frr.vtysh(&format!("show bgp {afi} vpn"));
        let at = table.find(prefix).unwrap();
        let entry: String = table[at..].lines().take(2).collect::<Vec<_>>().join(" ");
        assert!(
            entry.contains("fd00:65::1"),
            "our VTEP as next hop: {entry}"
        );
        assert!(
            entry.contains("sid_structure=[32,16,16,0]"),
            "usid-f3216 structure: {entry}"
        );
    }

    // Remote PE → VPN → VRF → host.
    let v4 = remote_route("10.70.0.0/24");
    let v6 = remote_route("2001:db8:70::/64");
    let other_rt = {
        let mut e = remote_route("10.71.0.0/24");
        e.attrs.ext_communities = vec![bgp::wire::ExtCommunity::route_target_as2(64513, 999)];
        e
    };
    let mut announce = Vec::new();
    for e in [&v4, &v6, &other_rt] {
        announce.extend(e.updates(&ctx()).unwrap());
    }
    let mut withdraw = Vec::new();
    for e in [&v4, &v6, &other_rt] {
        withdraw.extend(pack::withdraw(&e.nlri(), &ctx()).unwrap());
    }
    let sp = Speaker {
        asn: 64513,
        router_id: "10.0.0.9".parse().unwrap(),
        peer: SocketAddr::from(("fd00:12::3".parse::<Ipv6Addr>().unwrap(), 179)),
        peer_as: 64514,
        hold: 30,
        families: vec![Family::Ipv4Vpn, Family::Ipv6Vpn],
    };
    let (step_tx, step_rx) = std::sync::mpsc::channel::<()>();
    let speaker = speaker_in(&pe2.name, sp, move |cmd, mut ev| async move {
        next(&mut ev, |e| {
            matches!(e, SessionEvent::Established(_)).then_some(())
        })
        .await;
        tokio::spawn(async move { while ev.recv().await.is_some() {} });
        cmd.send(SessionCommand::SendEncoded(announce))
            .await
            .unwrap();
        let step = std::sync::Arc::new(std::sync::Mutex::new(step_rx));
        let wait = |s: std::sync::Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>| {
            tokio::task::spawn_blocking(move || {
                s.lock().unwrap().recv_timeout(Duration::from_secs(90))
            })
        };
        let _ = wait(step.clone()).await;
        cmd.send(SessionCommand::SendEncoded(withdraw))
            .await
            .unwrap();
        let _ = wait(step).await;
        drop(cmd);
    });
    let got4 = wait_for(20, "10.70.0.0/24 at the host", || {
        hostbgp
            .rib("ipv4")
            .get("10.70.0.0/24")
            .map(|v| v.to_string())
    });
    assert!(
        got4.contains("192.169.20.1"),
        "next hop = our side of the veth: {got4}"
    );
    assert!(
        got4.contains("64514") && got4.contains("64513"),
        "AS path 64514 64513: {got4}"
    );
    let got6 = wait_for(20, "2001:db8:70::/64 at the host", || {
        hostbgp
            .rib("ipv6")
            .get("2001:db8:70::/64")
            .map(|v| v.to_string())
    });
    assert!(
        got6.contains("fd00:20::1"),
        "next hop = our side of the veth: {got6}"
    );
    // In the VRF instance, as an import; not exported again under our RD.
    let vrf = r.json(&["show", "bgp", "routes", "--vrf", "blue"]);
    assert!(vrf.to_string().contains("10.70.0.0/24"), "{vrf}");
    assert!(
        !hostbgp.rib("ipv4").contains_key("10.71.0.0/24"),
        "a route without a matching RT is not imported"
    );
    assert!(frr_paths(&frr, "ipv4", "10.0.0.2:200", "10.70.0.0/24").is_none());

    // Withdrawals: the remote PE's, then the host's.
    step_tx.send(()).unwrap();
    wait_for(20, "10.70.0.0/24 to leave the host", || {
        (!hostbgp.rib("ipv4").contains_key("10.70.0.0/24")).then_some(())
    });
    wait_for(20, "2001:db8:70::/64 to leave the host", || {
        (!hostbgp.rib("ipv6").contains_key("2001:db8:70::/64")).then_some(())
    });
    hostbgp.cli(&["global", "rib", "del", "-a", "ipv4", "10.50.0.0/24"]);
    wait_for(20, "10.50.0.0/24 to leave FRR", || {
        frr_paths(&frr, "ipv4", "10.0.0.2:200", "10.50.0.0/24")
            .is_none()
            .then_some(())
    });
    assert!(
        frr_paths(&frr, "ipv6", "10.0.0.2:200", "2001:db8:50::/64").is_some(),
        "the other family stays"
    );
    step_tx.send(()).unwrap();
    speaker.join().unwrap();

    // A reload adding an L3VPN whose VRF sorts first: blue keeps its SID (the actor feeds
    // the functions in use back), so FRR's label does not move.
    r.write_config(&format!(
        "{NODE}  - {{ vrf: aaa, rdAssignedNumber: 100, importRTs: ['64513:100'] }}\n"
    ));
    r.ctl(&["reload"]);
    std::thread::sleep(Duration::from_secs(2));
    let p = frr_paths(&frr, "ipv6", "10.0.0.2:200", "2001:db8:50::/64").unwrap();
    assert_eq!(p[0]["remoteLabel"].as_u64(), Some(OUR_LABEL), "{p}");
    assert_eq!(frr_sid(&p[0]), OUR_SID.parse::<Ipv6Addr>().unwrap());
    // A restart with both VRFs configured: allocated afresh in name order, aaa would take
    // blue's function; the functions saved in the state directory keep blue's SID.
    r.stop();
    r.start_again();
    frr.wait_established("fd00:65::1", 30);
    let p = wait_for(30, "blue's host address at FRR after the restart", || {
        frr_paths(&frr, "ipv4", "10.0.0.2:200", "192.169.20.3/32")
    });
    assert_eq!(p[0]["remoteLabel"].as_u64(), Some(OUR_LABEL), "{p}");
    assert!(
        r.log().contains("srv6 sid functions restored"),
        "{}",
        r.log()
    );
    // A reload without blue withdraws its VPN routes.
    let without_blue = NODE.split("  - vrf: blue").next().unwrap().to_owned()
        + "  - { vrf: aaa, rdAssignedNumber: 100, importRTs: ['64513:100'] }\n";
    r.write_config(&without_blue);
    r.ctl(&["reload"]);
    for (afi, prefix) in [("ipv6", "2001:db8:50::/64"), ("ipv4", "192.169.20.3/32")] {
        wait_for(20, &format!("{prefix} to leave FRR"), || {
            frr_paths(&frr, afi, "10.0.0.2:200", prefix)
                .is_none()
                .then_some(())
        });
    }
}

/// GoBGP 3.10 as the VPN peer: it receives our VPN-IPv4/VPN-IPv6 routes with RD, RT, label
/// and the SRv6 L3 service SID (checked on `gobgp global rib -a vpnv4|vpnv6 -j`); a VPN route
/// it originates from its CLI (an MPLS label, no Prefix-SID: GoBGP's CLI cannot attach one)
/// is received but not imported into the VRF: perouterd forwards VPN routes over SRv6 only.
#[test]
fn gobgp_receives_our_srv6_vpn_routes_and_its_mpls_only_route_is_not_imported() {
    lab::require_root();
    let tor = lab::Netns::new("t");
    let router = lab::Netns::new("r");
    let host = lab::Netns::new("h");
    lab::veth(
        &tor,
        "tor0",
        &["fd00:11::2/64"],
        &router,
        "uplink",
        &["fd00:11::3/64"],
    );
    lab::veth(
        &router,
        "blue",
        &["192.169.20.1/24", "fd00:20::1/64"],
        &host,
        "eth0",
        &["192.169.20.3/24", "fd00:20::3/64"],
    );
    router.addr("lo", "fd00:65::1/128");
    tor.exec(&[
        "ip",
        "-6",
        "route",
        "add",
        "fd00:65::/64",
        "via",
        "fd00:11::3",
    ]);
    let gobgp = lab::Gobgp::start(
        &tor,
        &[
            lab::gobgp_global(64512, "10.0.0.100"),
            lab::gobgp_neighbor(
                "fd00:65::1",
                64514,
                "fd00:11::2",
                &["l3vpn-ipv4-unicast", "l3vpn-ipv6-unicast"],
                Some(8),
            ),
        ]
        .concat(),
    );
    let hostbgp = lab::Gobgp::start_with_api(
        &host,
        &[
            lab::gobgp_global(64516, "10.0.0.50"),
            lab::gobgp_neighbor("fd00:20::1", 64514, "fd00:20::3", &["ipv6-unicast"], None),
        ]
        .concat(),
        50052,
    );
    let node = NODE.replace(
        "  - address: 'fd00:12::2'\n    asn: 64513\n    passive: true\n    addressFamilies: [{ type: ipv4vpn }, { type: ipv6vpn }]\n",
        "",
    );
    let node = node.replace("importRTs: ['64513:200']", "importRTs: ['64512:200']");
    let r = Perouterd::start(&router, &node);
    gobgp.wait_established("fd00:65::1", 30);
    hostbgp.wait_established("fd00:20::1", 30);

    // Ours at GoBGP: the host-side address of VRF blue (originated) as VPN-IPv4 and VPN-IPv6.
    for (family, prefix) in [("vpnv4", "192.169.20.3/32"), ("vpnv6", "fd00:20::3/128")] {
        let rib = wait_for(20, &format!("{prefix} at GoBGP ({family})"), || {
            let v = gobgp.json(&["global", "rib", "-a", family]);
            let text = v.to_string();
            text.contains(prefix).then_some(text)
        });
        assert!(rib.contains("10.0.0.2:200"), "our RD: {rib}");
        assert!(rib.contains("64514:200"), "our RT: {rib}");
        assert!(
            rib.contains(&OUR_LABEL.to_string()),
            "the label {OUR_LABEL}: {rib}"
        );
        // GoBGP prints the SID base64-encoded: "/QAAAAAzAAAAAAAAAAAAAA==" is fd00:0:33::, our
        // per-VRF SID with its function transposed into the label; behaviour 64 is uDT46.
        for part in [
            "\"sid\":\"/QAAAAAzAAAAAAAAAAAAAA==\"",
            "\"endpoint_behavior\":64",
            "\"transposition_length\":16",
            "\"transposition_offset\":48",
            "\"nexthop\":\"fd00:65::1\"",
        ] {
            assert!(rib.contains(part), "{part} missing: {rib}");
        }
    }

    // GoBGP's own VPN-IPv6 route (RT 64512:200 matches blue's import): an MPLS label, no SID.
    gobgp.cli(&[
        "global",
        "rib",
        "-a",
        "vpnv6",
        "add",
        "2001:db8:70::/64",
        "label",
        "100",
        "rd",
        "10.0.0.100:200",
        "rt",
        "64512:200",
    ]);
    wait_for(20, "GoBGP's VPN route in perouterd's RIB", || {
        r.json(&["show", "bgp", "routes", "--afi", "ipv6-vpn"])
            .to_string()
            .contains("2001:db8:70::/64")
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !hostbgp.rib("ipv6").contains_key("2001:db8:70::/64"),
        "a VPN route without an SRv6 SID is not imported (no MPLS dataplane)"
    );
    let vrf = r.json(&[
        "show",
        "bgp",
        "routes",
        "--vrf",
        "blue",
        "--afi",
        "ipv6-unicast",
    ]);
    assert!(!vrf.to_string().contains("2001:db8:70::"), "{vrf}");
}
