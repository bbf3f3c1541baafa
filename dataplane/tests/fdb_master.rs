//! Bridge FDB entries (`Fdb::bridge`: `MAC dev vxlanN master extern_learn`) against the real
//! kernel: one namespace with a bridge, a VXLAN port and a veth port whose peer (a "local
//! host") lives in a second namespace. What zebra does for a remote MAC, and what MAC mobility
//! needs: the bridge entry on the VXLAN port replaces the entry the bridge learned on the
//! local port at once, frames for the MAC then go to the VXLAN port only, and the watcher does
//! not mistake the entry for local learning.
//!
//! Needs root, `ip`/`bridge` (iproute2), `ping` and the bridge, vxlan and veth drivers; a
//! missing prerequisite fails the test with a message (it is never skipped silently).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use dataplane::netlink::NetlinkDataplane;
use dataplane::watch::{snapshot, DataplaneEvent, FdbEvent, Watcher};
use dataplane::{
    Address, ApplyReport, Dataplane, DesiredState, Fdb, FdbTable, Link, LinkKind, MacAddr,
    ObservedState,
};
use serde_json::Value;

mod common;

use common::Netns;

/// The local host's MAC (the peer of `vport`, in the host namespace).
const HOST_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xaa, 1]);
const HOST_MAC_STR: &str = "02:00:00:00:aa:01";
/// A remote VTEP (not reachable: frames sent to it are counted by the VXLAN device).
const VTEP: &str = "10.0.0.2";

impl Netns {
    fn cmd(&self, prog: &str, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, prog])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("prerequisite: {prog}: {e}"))
    }

    fn ping(&self, to: &str, count: u32) -> bool {
        let count = count.to_string();
        let out = self.cmd("ping", &["-c", &count, "-i", "0.2", "-W", "1", to]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("exec of"),
            "prerequisite: `ping` (iputils-ping) must be installed: {err}"
        );
        out.status.success()
    }

    /// `bridge -j fdb show` (every entry of the namespace).
    fn fdb(&self) -> Vec<Value> {
        let out = self.cmd("bridge", &["-j", "fdb", "show"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The entries for `mac` in `bridge -j fdb show`.
    fn fdb_of(&self, mac: &str) -> Vec<Value> {
        self.fdb().into_iter().filter(|e| e["mac"] == mac).collect()
    }

    /// ICMP echo requests this namespace's IP stack received (`Icmp: InEchos` of
    /// `/proc/net/snmp`).
    fn in_echos(&self) -> u64 {
        let out = self.cmd("cat", &["/proc/net/snmp"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let mut icmp = text.lines().filter(|l| l.starts_with("Icmp:"));
        let (names, values) = (icmp.next().unwrap(), icmp.next().unwrap());
        let col = names
            .split_whitespace()
            .position(|n| n == "InEchos")
            .unwrap();
        values.split_whitespace().nth(col).unwrap().parse().unwrap()
    }

    /// A counter of `ip -s link` (`stats64.<dir>.<what>`).
    fn counter(&self, dev: &str, dir: &str, what: &str) -> u64 {
        let l = self.json(&["-s", "link", "show", "dev", dev]);
        l[0]["stats64"][dir][what].as_u64().unwrap_or(0)
    }
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

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The bridge `br100` (192.168.100.1/24), the VXLAN port `vxlan100` and the veth port
/// `vport` whose peer `eth0` is in `host_ns`. IPv6 is off in both namespaces (no
/// unsolicited frames: the host's counters move only with the test's traffic).
fn setup(tag: &str) -> (Netns, Netns, DesiredState) {
    let pe = Netns::new(&format!("{tag}-pe"));
    let host = Netns::new(&format!("{tag}-h"));
    for ns in [&pe, &host] {
        ns.sysctl("net.ipv6.conf.all.disable_ipv6=1");
        ns.sysctl("net.ipv6.conf.default.disable_ipv6=1");
    }
    let mut d = DesiredState::new();
    d.add_link(Link::new("br100", LinkKind::Bridge).up());
    d.add_address(Address::new("br100", "192.168.100.1/24".parse().unwrap()));
    d.add_link(
        Link::new(
            "vxlan100",
            LinkKind::Vxlan {
                vni: 100,
                local: Some(ip("10.0.0.1")),
                dev: None,
                dstport: 4789,
                learning: false,
            },
        )
        .with_master("br100")
        .up(),
    );
    d.add_link(
        Link::new(
            "vport",
            LinkKind::Veth {
                peer: "eth0".into(),
                peer_netns: Some(host.0.clone()),
            },
        )
        .with_master("br100")
        .up(),
    );
    apply(&pe, &d);
    host.ip(&["link", "set", "eth0", "address", HOST_MAC_STR]);
    host.ip(&["addr", "add", "192.168.100.2/24", "dev", "eth0"]);
    host.ip(&["link", "set", "eth0", "up"]);
    (pe, host, d)
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

/// The snapshot's event for the bridge's FDB entry of `mac` on port `dev`.
fn snapshot_entry(ns: &Netns, mac: MacAddr, dev: &'static str) -> Option<FdbEvent> {
    ns.run(move || async move {
        snapshot(None)
            .await
            .unwrap()
            .into_iter()
            .find_map(|ev| match ev {
                DataplaneEvent::Fdb(f) if f.mac == mac && f.dev.is(dev) && f.flags.master => {
                    Some(f)
                }
                _ => None,
            })
    })
}

/// A remote MAC in the shape `evpn::type2` produces: the VXLAN device's entry and the
/// bridge's.
fn remote(base: &DesiredState, mac: MacAddr) -> DesiredState {
    let mut d = base.clone();
    d.add_fdb(Fdb::unicast("vxlan100", mac, ip(VTEP)));
    d.add_fdb(Fdb::bridge("vxlan100", mac));
    d
}

#[test]
fn a_bridge_entry_is_written_read_back_and_deleted_and_a_second_apply_writes_nothing() {
    let (pe, _host, base) = setup("fdbm-rw");
    let mac = MacAddr([2, 0, 0, 0, 0x99, 1]);
    let want = remote(&base, mac);
    let r = apply(&pe, &want);
    assert_eq!((r.fdb.created, r.writes), (2, 2), "{r:?}");

    let entries = pe.fdb_of("02:00:00:00:99:01");
    let master = entries
        .iter()
        .find(|e| e.get("master").is_some())
        .unwrap_or_else(|| panic!("no bridge entry: {entries:?}"));
    assert_eq!(master["ifname"], "vxlan100", "{master}");
    assert_eq!(master["master"], "br100", "{master}");
    assert!(master.get("dst").is_none(), "{master}");
    let f = flags(master);
    assert!(f.contains(&"extern_learn".to_owned()), "{master}");
    assert!(!f.contains(&"self".to_owned()), "{master}");
    let device = entries
        .iter()
        .find(|e| e.get("dst").is_some())
        .unwrap_or_else(|| panic!("no VXLAN entry: {entries:?}"));
    assert_eq!(device["dst"], VTEP, "{device}");
    let f = flags(device);
    assert!(
        f.contains(&"self".to_owned()) && f.contains(&"extern_learn".to_owned()),
        "{device}"
    );

    // Read back with the same identity, as ours: the second apply writes nothing.
    let cur = current(&pe);
    let key = Fdb::bridge("vxlan100", mac).key();
    assert_eq!(key.table, FdbTable::Bridge);
    assert_eq!(
        cur.fdb.get(&key),
        Some(&(Fdb::bridge("vxlan100", mac), true))
    );
    assert_eq!(cur.fdb.len(), 2, "{:?}", cur.fdb);
    let second = apply(&pe, &want);
    assert!(second.is_noop(), "{second:?}");

    // A foreign bridge entry (static, not extern_learn) is left alone and not counted.
    let out = pe.cmd(
        "bridge",
        &[
            "fdb",
            "add",
            "02:00:00:00:99:02",
            "dev",
            "vxlan100",
            "master",
            "static",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(apply(&pe, &want).is_noop());
    assert_eq!(current(&pe).fdb.len(), 2);

    // Only the bridge entry dropped from the desired state: one delete, the VXLAN device's
    // entry stays.
    let mut device_only = base.clone();
    device_only.add_fdb(Fdb::unicast("vxlan100", mac, ip(VTEP)));
    let r = apply(&pe, &device_only);
    assert_eq!((r.fdb.deleted, r.writes), (1, 1), "{r:?}");
    let entries = pe.fdb_of("02:00:00:00:99:01");
    assert!(
        entries.iter().all(|e| e.get("master").is_none()),
        "{entries:?}"
    );
    assert_eq!(entries.len(), 1, "{entries:?}");
    let r = apply(&pe, &base);
    assert_eq!((r.fdb.deleted, r.writes), (1, 1), "{r:?}");
    assert!(pe.fdb_of("02:00:00:00:99:01").is_empty());
    assert_eq!(
        pe.fdb_of("02:00:00:00:99:02").len(),
        1,
        "the foreign one stays"
    );
    assert!(apply(&pe, &base).is_noop());
}

#[test]
fn a_bridge_entry_takes_over_a_learned_mac_and_is_not_local_learning() {
    let (pe, host, base) = setup("fdbm-mob");

    // The local host talks: the bridge learns its MAC on the veth port.
    assert!(
        host.ping("192.168.100.1", 1),
        "the local host reaches the bridge"
    );
    let learned = pe.fdb_of(HOST_MAC_STR);
    assert!(
        learned
            .iter()
            .any(|e| e["ifname"] == "vport" && e["master"] == "br100"),
        "{learned:?}"
    );
    let ev = snapshot_entry(&pe, HOST_MAC, "vport").expect("the learned entry in the snapshot");
    assert!(ev.is_local_learning(), "control: {ev:?}");

    // The MAC moves to a remote VTEP (e.g. a live migration): our entries for it. The watcher
    // sees the bridge entry change port, as extern_learn.
    let moved = remote(&base, HOST_MAC);
    let d = moved.clone();
    let (r, ev) = pe.run(move || async move {
        let mut w = Watcher::new().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut dp = NetlinkDataplane::new().unwrap();
        let r = dp.apply(&d).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = tokio::time::timeout(left, w.recv())
                .await
                .expect("a notification for the moved MAC")
                .unwrap();
            if let DataplaneEvent::Fdb(f) = ev {
                if f.mac == HOST_MAC && f.added && f.flags.master {
                    break (r, f);
                }
            }
        }
    });
    assert_eq!((r.fdb.created, r.writes), (2, 2), "{r:?}");
    assert!(ev.dev.is("vxlan100"), "{ev:?}");
    assert!(ev.flags.extern_learn && !ev.flags.self_, "{ev:?}");
    assert!(!ev.is_local_learning(), "ours, not a local MAC: {ev:?}");

    // One bridge entry for the MAC, on the VXLAN port now.
    let entries = pe.fdb_of(HOST_MAC_STR);
    let bridge: Vec<&Value> = entries
        .iter()
        .filter(|e| e.get("master").is_some())
        .collect();
    assert_eq!(bridge.len(), 1, "{entries:?}");
    assert_eq!(bridge[0]["ifname"], "vxlan100", "{entries:?}");
    assert!(flags(bridge[0]).contains(&"extern_learn".to_owned()));
    let ev = snapshot_entry(&pe, HOST_MAC, "vxlan100").expect("our entry in the snapshot");
    assert!(ev.flags.master && ev.flags.extern_learn, "{ev:?}");
    assert!(!ev.is_local_learning(), "{ev:?}");
    assert!(snapshot_entry(&pe, HOST_MAC, "vport").is_none());
    assert!(apply(&pe, &moved).is_noop());

    // Frames for the MAC now go to the VXLAN port, not to the old port. (A permanent
    // neighbour: no ARP broadcast reaches the host.)
    pe.ip(&[
        "neigh",
        "replace",
        "192.168.100.2",
        "lladdr",
        HOST_MAC_STR,
        "dev",
        "br100",
        "nud",
        "permanent",
    ]);
    let vx_tx = |ns: &Netns| {
        ["packets", "dropped", "errors"]
            .iter()
            .map(|w| ns.counter("vxlan100", "tx", w))
            .sum::<u64>()
    };
    let (host_echos, vx_before) = (host.in_echos(), vx_tx(&pe));
    assert!(!pe.ping("192.168.100.2", 3), "the host is not behind vport");
    assert_eq!(
        host.in_echos(),
        host_echos,
        "no echo request on the old port"
    );
    assert!(
        vx_tx(&pe) >= vx_before + 3,
        "the echo requests went to the VXLAN port: {} -> {}",
        vx_before,
        vx_tx(&pe)
    );

    // Withdrawn: both entries go; unknown unicast is flooded again, reaches the host, and the
    // bridge learns it on the veth port.
    let r = apply(&pe, &base);
    assert_eq!((r.fdb.deleted, r.writes), (2, 2), "{r:?}");
    assert!(
        pe.fdb_of(HOST_MAC_STR)
            .iter()
            .all(|e| e["ifname"] != "vxlan100"),
        "{:?}",
        pe.fdb_of(HOST_MAC_STR)
    );
    assert!(pe.ping("192.168.100.2", 1), "flooded, then learned again");
    assert!(
        host.in_echos() > host_echos,
        "control: the host counts echo requests"
    );
    let ev = snapshot_entry(&pe, HOST_MAC, "vport").expect("learned again on vport");
    assert!(ev.is_local_learning(), "{ev:?}");
}

#[test]
fn a_frame_from_the_mac_on_a_local_port_moves_the_entry_back_and_it_is_no_longer_ours() {
    let (pe, host, base) = setup("fdbm-back");
    let moved = remote(&base, HOST_MAC);
    assert_eq!(apply(&pe, &moved).fdb.created, 2);
    let ev = snapshot_entry(&pe, HOST_MAC, "vxlan100").expect("our entry");
    assert!(ev.flags.extern_learn, "{ev:?}");

    // The host comes back (sends from the local port): the kernel moves the entry to the port
    // and clears extern_learn, a learned entry again (a local MAC for the watcher).
    assert!(host.ping("192.168.100.1", 1), "the host reaches the bridge");
    let ev = snapshot_entry(&pe, HOST_MAC, "vport").expect("the entry on the local port");
    assert!(!ev.flags.extern_learn && ev.is_local_learning(), "{ev:?}");
    assert!(snapshot_entry(&pe, HOST_MAC, "vxlan100").is_none());
    // Not ours any more: the desired state without it deletes only the VXLAN device's entry.
    let r = apply(&pe, &base);
    assert_eq!((r.fdb.deleted, r.writes), (1, 1), "{r:?}");
    assert!(pe
        .fdb_of(HOST_MAC_STR)
        .iter()
        .any(|e| e["ifname"] == "vport"));
}

/// Why `evpn::type2` never installs a bridge entry for the L2VNI's anycast gateway MAC: the
/// kernel lets an `extern_learn` entry take over even the bridge's own (local, `permanent`)
/// entry, moving the bridge's MAC to the VXLAN port.
#[test]
fn the_kernel_lets_a_bridge_entry_take_over_the_bridges_own_mac() {
    let (pe, _host, mut base) = setup("fdbm-own");
    let own = MacAddr([0, 0xf3, 0, 0, 0, 0x65]);
    if let Some(br) = base.links.get_mut("br100") {
        br.mac = Some(own);
    }
    apply(&pe, &base);
    let local = pe.fdb_of("00:f3:00:00:00:65");
    assert!(
        local
            .iter()
            .any(|e| e["ifname"] == "br100" && e["state"] == "permanent"),
        "control: the bridge's local entry: {local:?}"
    );
    let mut d = base.clone();
    d.add_fdb(Fdb::bridge("vxlan100", own));
    assert_eq!(apply(&pe, &d).fdb.created, 1);
    let moved = pe.fdb_of("00:f3:00:00:00:65");
    assert!(
        moved.iter().any(|e| e["ifname"] == "vxlan100"
            && e["state"] == "permanent"
            && flags(e).contains(&"extern_learn".to_owned())),
        "{moved:?}"
    );
    assert!(moved.iter().all(|e| e["ifname"] != "br100"), "{moved:?}");
}
