//! The EVPN data path objects (neighbour and VXLAN FDB entries) against the real kernel: two
//! VTEP namespaces joined by an underlay veth, each with a bridge + VXLAN (VNI 100,
//! nolearning); reachability between the bridges' addresses comes only from what the
//! dataplane programs.
//!
//! Needs root, `ip`/`bridge` (iproute2), `ping` and the bridge, vxlan and veth drivers; a
//! missing prerequisite fails the test with a message (it is never skipped silently).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::process::Command;

use dataplane::netlink::NetlinkDataplane;
use dataplane::{
    Address, ApplyReport, Dataplane, DesiredState, Fdb, Link, LinkKind, MacAddr, Neigh,
    ObservedState, RTPROT_PEROUTERD,
};
use serde_json::Value;

mod common;

use common::Netns;

impl Netns {
    fn cmd(&self, prog: &str, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, prog])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("prerequisite: {prog}: {e}"))
    }

    fn ping(&self, to: &str) -> bool {
        let out = self.cmd("ping", &["-c", "1", "-W", "2", to]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("exec of"),
            "prerequisite: `ping` (iputils-ping) must be installed: {err}"
        );
        out.status.success()
    }

    /// `bridge -j fdb show dev <dev>`.
    fn fdb(&self, dev: &str) -> Vec<Value> {
        let out = self.cmd("bridge", &["-j", "fdb", "show", "dev", dev]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `ip -j neigh show dev <dev>`.
    fn neighs(&self, dev: &str) -> Vec<Value> {
        self.json(&["neigh", "show", "dev", dev])
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(i: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0x64, i])
}

/// VTEP `i` (1 = node A, 2 = node B): underlay veth leg, bridge with a fixed MAC and
/// 192.168.100.i/24, VXLAN 100 from 10.0.0.i, nolearning.
fn vtep(i: u8, peer_ns: &str) -> DesiredState {
    let mut d = DesiredState::new();
    let (ul, other) = if i == 1 {
        ("ul-a", "ul-b")
    } else {
        ("ul-b", "ul-a")
    };
    d.add_link(
        Link::new(
            ul,
            LinkKind::Veth {
                peer: other.into(),
                peer_netns: Some(peer_ns.into()),
            },
        )
        .up(),
    );
    d.add_address(Address::new(ul, format!("10.0.0.{i}/24").parse().unwrap()));
    d.add_link(Link::new("br100", LinkKind::Bridge).with_mac(mac(i)).up());
    d.add_address(Address::new(
        "br100",
        format!("192.168.100.{i}/24").parse().unwrap(),
    ));
    d.add_link(
        Link::new(
            "vxlan100",
            LinkKind::Vxlan {
                vni: 100,
                local: Some(ip(&format!("10.0.0.{i}"))),
                dev: None,
                dstport: 4789,
                learning: false,
            },
        )
        .with_master("br100")
        .up(),
    );
    d
}

fn apply(ns: &Netns, d: &DesiredState) -> ApplyReport {
    let d = d.clone();
    ns.run(move || async move {
        let mut dp = NetlinkDataplane::new().unwrap();
        dp.apply(&d).await.unwrap()
    })
}

fn current(ns: &Netns) -> ObservedState {
    ns.run(|| async {
        let mut dp = NetlinkDataplane::new().unwrap();
        dp.current().await.unwrap()
    })
}

fn flags(v: &Value) -> Vec<String> {
    v["flags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn flood_list_then_unicast_fdb_and_neighbours_carry_ping() {
    let a = Netns::new("vtep-a");
    let b = Netns::new("vtep-b");
    let base_a = vtep(1, &b.0);
    let base_b = vtep(2, &a.0);
    apply(&a, &base_a);
    let r = apply(&b, &base_b);
    assert_eq!(r.links.updated, 1, "B adopts its underlay leg: {r:?}");
    assert!(
        !a.ping("192.168.100.2"),
        "negative control: no FDB entry, no reachability"
    );

    // (a) Type-3 shape: only the zero-MAC flood entry to the other VTEP.
    let mut flood_a = base_a.clone();
    flood_a.add_fdb(Fdb::flood("vxlan100", ip("10.0.0.2")));
    let mut flood_b = base_b.clone();
    flood_b.add_fdb(Fdb::flood("vxlan100", ip("10.0.0.1")));
    let r = apply(&a, &flood_a);
    assert_eq!((r.fdb.created, r.writes), (1, 1), "{r:?}");
    apply(&b, &flood_b);
    assert!(a.ping("192.168.100.2"), "ping over the flood list");
    assert!(apply(&a, &flood_a).is_noop());
    let zero: Vec<Value> = a
        .fdb("vxlan100")
        .into_iter()
        .filter(|e| e["mac"] == "00:00:00:00:00:00")
        .collect();
    assert_eq!(zero.len(), 1, "{zero:?}");
    assert_eq!(zero[0]["dst"], "10.0.0.2");
    assert_eq!(zero[0]["state"], "permanent");
    assert!(flags(&zero[0]).contains(&"self".to_owned()));

    // A second remote is appended, not replacing the first.
    let mut flood2 = flood_a.clone();
    flood2.add_fdb(Fdb::flood("vxlan100", ip("10.0.0.3")));
    let r = apply(&a, &flood2);
    assert_eq!((r.fdb.created, r.writes), (1, 1), "{r:?}");
    let dsts: Vec<Value> = a
        .fdb("vxlan100")
        .into_iter()
        .filter(|e| e["mac"] == "00:00:00:00:00:00")
        .map(|e| e["dst"].clone())
        .collect();
    assert_eq!(dsts.len(), 2, "{dsts:?}");
    let r = apply(&a, &flood_a);
    assert_eq!((r.fdb.deleted, r.writes), (1, 1), "{r:?}");
    assert!(a.ping("192.168.100.2"), "the other remote is still there");

    // (b) Type-2 shape: unicast FDB + neighbour, no flood entry. The ARP-learned neighbours
    // from (a) are taken over (replaced) by ours.
    let mut uni_a = base_a.clone();
    uni_a.add_fdb(Fdb::unicast("vxlan100", mac(2), ip("10.0.0.2")));
    uni_a.add_neigh(Neigh::new("br100", ip("192.168.100.2"), mac(2)));
    let mut uni_b = base_b.clone();
    uni_b.add_fdb(Fdb::unicast("vxlan100", mac(1), ip("10.0.0.1")));
    uni_b.add_neigh(Neigh::new("br100", ip("192.168.100.1"), mac(1)));
    let r = apply(&a, &uni_a);
    assert_eq!(r.fdb.deleted, 1, "flood entry removed: {r:?}");
    assert_eq!(r.fdb.created, 1, "{r:?}");
    assert_eq!(r.neighbours.created + r.neighbours.updated, 1, "{r:?}");
    apply(&b, &uni_b);
    assert!(a.ping("192.168.100.2"), "ping over unicast FDB + neighbour");
    let second = apply(&a, &uni_a);
    assert!(
        second.is_noop(),
        "same state again must write nothing: {second:?}"
    );

    let fdb = a.fdb("vxlan100");
    assert!(
        !fdb.iter().any(|e| e["mac"] == "00:00:00:00:00:00"),
        "{fdb:?}"
    );
    let ours = fdb
        .iter()
        .find(|e| e["mac"] == "02:00:00:00:64:02" && e.get("dst").is_some());
    let ours = ours.unwrap_or_else(|| panic!("{fdb:?}"));
    assert_eq!(ours["dst"], "10.0.0.2");
    let f = flags(ours);
    assert!(
        f.contains(&"self".to_owned()) && f.contains(&"extern_learn".to_owned()),
        "{ours}"
    );
    let neighs = a.neighs("br100");
    let n = neighs
        .iter()
        .find(|n| n["dst"] == "192.168.100.2")
        .unwrap_or_else(|| panic!("{neighs:?}"));
    assert_eq!(n["lladdr"], "02:00:00:00:64:02");
    assert!(n.get("extern_learn").is_some(), "{n}");
    assert_eq!(n["state"][0], "NOARP", "{n}");
    assert_eq!(n["protocol"], RTPROT_PEROUTERD.to_string(), "{n}");

    // Foreign entries: a static FDB entry and a permanent neighbour someone else added.
    let out = a.cmd(
        "bridge",
        &[
            "fdb",
            "add",
            "02:00:00:00:99:99",
            "dev",
            "vxlan100",
            "dst",
            "10.0.0.9",
            "self",
            "permanent",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    a.ip(&[
        "neigh",
        "add",
        "192.168.100.9",
        "lladdr",
        "02:00:00:00:99:99",
        "dev",
        "br100",
        "nud",
        "permanent",
    ]);
    let r = apply(&a, &uni_a);
    assert!(r.is_noop(), "foreign entries cause no writes: {r:?}");
    let cur = current(&a);
    assert_eq!(cur.fdb.len(), 1, "{:?}", cur.fdb);
    assert_eq!(cur.neighbours.len(), 1, "{:?}", cur.neighbours);

    // A changed VTEP for the MAC is one in-place replace.
    let mut moved = uni_a.clone();
    moved.add_fdb(Fdb::unicast("vxlan100", mac(2), ip("10.0.0.7")));
    let r = apply(&a, &moved);
    assert_eq!((r.fdb.updated, r.writes), (1, 1), "{r:?}");
    assert!(a
        .fdb("vxlan100")
        .iter()
        .any(|e| e["mac"] == "02:00:00:00:64:02" && e["dst"] == "10.0.0.7"));
    let r = apply(&a, &uni_a);
    assert_eq!((r.fdb.updated, r.writes), (1, 1), "{r:?}");

    // Removing them from the desired state deletes exactly them.
    let r = apply(&a, &base_a);
    assert_eq!(
        (r.fdb.deleted, r.neighbours.deleted, r.writes),
        (1, 1, 2),
        "{r:?}"
    );
    let fdb = a.fdb("vxlan100");
    assert!(
        !fdb.iter()
            .any(|e| e["mac"] == "02:00:00:00:64:02" && e.get("dst").is_some()),
        "{fdb:?}"
    );
    assert!(
        fdb.iter()
            .any(|e| e["mac"] == "02:00:00:00:99:99" && e["dst"] == "10.0.0.9"),
        "{fdb:?}"
    );
    let neighs = a.neighs("br100");
    assert!(
        !neighs.iter().any(|n| n["dst"] == "192.168.100.2"),
        "{neighs:?}"
    );
    assert!(
        neighs.iter().any(|n| n["dst"] == "192.168.100.9"),
        "{neighs:?}"
    );
    assert!(
        !a.ping("192.168.100.2"),
        "no entries, no flood list: ping must fail"
    );
    assert!(apply(&a, &base_a).is_noop());
}
