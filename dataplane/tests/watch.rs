//! The watchers against the real kernel, each test in its own network namespaces: MAC and
//! MAC/IP learning on an L2VNI bridge, link/address/route changes, route filtering, and the
//! overrun contract (a slow consumer gets an `Overrun` marker, never a silent loss).
//!
//! Needs root, `ip`/`bridge` (iproute2), `ping` and the bridge, vxlan and veth drivers; a
//! missing prerequisite fails the test with a message (it is never skipped silently).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dataplane::watch::{
    snapshot, DataplaneEvent, FdbEvent, NeighEvent, NeighState, OverrunReason, WatchConfig, Watcher,
};
use dataplane::{MacAddr, RouteKind, RTPROT_PEROUTERD};

mod common;

use common::Netns;

/// B's MAC address.
const HOST_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0xc8, 0x02]);
const HOST_MAC_STR: &str = "02:00:00:00:c8:02";
/// How long any expected event may take.
const WAIT: Duration = Duration::from_secs(10);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

/// Runs `prog args…` inside namespace `ns`, panicking with stderr on failure.
fn exec(ns: &str, prog: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, prog])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("prerequisite: {prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip -n <ns> args…` (usable from any thread).
fn ipn(ns: &str, args: &[&str]) {
    let out = Command::new("ip")
        .arg("-n")
        .arg(ns)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip -n {ns} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ip -n <ns> -batch -` with `lines` on stdin.
fn ip_batch(ns: &str, lines: &str) {
    let mut child = Command::new("ip")
        .args(["-n", ns, "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ip -batch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `count` blackhole routes `10.50.x.y/32` in table 100, `proto static`.
fn route_batch(count: u32) -> String {
    (0..count)
        .map(|i| {
            format!(
                "route add blackhole 10.50.{}.{}/32 table 100 proto static\n",
                i / 256,
                i % 256
            )
        })
        .collect()
}

/// Receives events until one matches `pred`; panics (listing what was seen) when none does
/// within [`WAIT`] or the watcher fails. Returns the match and the events before it.
async fn expect(
    w: &mut Watcher,
    what: &str,
    mut pred: impl FnMut(&DataplaneEvent) -> bool,
) -> (DataplaneEvent, Vec<DataplaneEvent>) {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, w.recv()).await {
            Ok(Ok(ev)) if pred(&ev) => return (ev, seen),
            Ok(Ok(ev)) => seen.push(ev),
            Ok(Err(e)) => panic!("watcher failed while waiting for {what}: {e}; seen {seen:#?}"),
            Err(_) => panic!("no {what} within {WAIT:?}; seen {seen:#?}"),
        }
    }
}

/// Receives everything that arrives until nothing comes for `quiet`.
async fn drain(w: &mut Watcher, quiet: Duration) -> Vec<DataplaneEvent> {
    let mut seen = Vec::new();
    while let Ok(ev) = tokio::time::timeout(quiet, w.recv()).await {
        seen.push(ev.unwrap());
    }
    seen
}

fn is_route(ev: &DataplaneEvent, added: bool, table: u32, dst: &str) -> bool {
    matches!(ev, DataplaneEvent::Route(r) if r.added == added && r.table == table && r.dst == net(dst))
}

/// Namespace A: bridge `br-pe-200` (192.168.200.1/24) with port `pe-port`, a veth whose
/// other end `host-200` is in namespace B (192.168.200.2/24, [`HOST_MAC`], still down).
fn l2vni(tag: &str) -> (Netns, Netns) {
    let a = Netns::new(&format!("{tag}-a"));
    let b = Netns::new(&format!("{tag}-b"));
    a.ip(&["link", "add", "br-pe-200", "type", "bridge"]);
    a.ip(&["link", "set", "br-pe-200", "up"]);
    a.ip(&["addr", "add", "192.168.200.1/24", "dev", "br-pe-200"]);
    a.ip(&[
        "link", "add", "pe-port", "type", "veth", "peer", "name", "host-200", "netns", &b.0,
    ]);
    a.ip(&["link", "set", "pe-port", "master", "br-pe-200", "up"]);
    b.ip(&["link", "set", "host-200", "address", HOST_MAC_STR]);
    b.ip(&["addr", "add", "192.168.200.2/24", "dev", "host-200"]);
    (a, b)
}

#[test]
fn learning_a_mac_ip_on_an_l2vni_bridge_yields_fdb_and_neighbour_events() {
    let (a, b) = l2vni("learn");
    let (a_name, b_name) = (a.0.clone(), b.0.clone());
    a.run(move || async move {
        let mut w = Watcher::new().unwrap();
        // Let the watcher fill its name cache before the traffic starts.
        tokio::time::sleep(Duration::from_millis(100)).await;
        ipn(&b_name, &["link", "set", "host-200", "up"]);
        exec(&b_name, "ping", &["-c", "2", "-W", "1", "192.168.200.1"]);

        // The bridge learned B's MAC on its port: an EVPN type-2 MAC source.
        let (ev, _) = expect(
            &mut w,
            "FDB learned event for B's MAC",
            |ev| matches!(ev, DataplaneEvent::Fdb(f) if f.mac == HOST_MAC && f.added),
        )
        .await;
        let DataplaneEvent::Fdb(fdb) = ev else {
            unreachable!()
        };
        assert!(fdb.dev.is("pe-port"), "{fdb:?}");
        assert!(
            fdb.bridge.as_ref().is_some_and(|br| br.is("br-pe-200")),
            "{fdb:?}"
        );
        assert!(fdb.flags.master && !fdb.flags.extern_learn, "{fdb:?}");
        assert!(fdb.is_local_learning(), "{fdb:?}");
        assert_eq!(fdb.vlan, None);
        assert_eq!(fdb.dst, None);

        // The bridge's SVI resolved B's IP to B's MAC: the MAC/IP binding of type-2 MAC/IP.
        let (ev, _) = expect(&mut w, "neighbour event for 192.168.200.2", |ev| {
            matches!(ev, DataplaneEvent::Neigh(n) if n.ip == ip("192.168.200.2") && n.added
                && n.mac.is_some())
        })
        .await;
        let DataplaneEvent::Neigh(n) = ev else {
            unreachable!()
        };
        assert!(n.link.is("br-pe-200"), "{n:?}");
        assert_eq!(n.mac, Some(HOST_MAC));
        assert!(!n.extern_learn && !n.is_ours(RTPROT_PEROUTERD), "{n:?}");
        assert!(n.is_local_binding(), "{n:?}");
        assert!(
            matches!(
                n.state,
                NeighState::Reachable | NeighState::Stale | NeighState::Delay | NeighState::Probe
            ),
            "{n:?}"
        );

        // Our own entries are told apart: extern_learn and static bridge entries, and a
        // VXLAN device's `self` flood entry with its remote VTEP.
        exec(
            &a_name,
            "bridge",
            &[
                "fdb",
                "add",
                "02:00:00:00:00:aa",
                "dev",
                "pe-port",
                "master",
                "extern_learn",
            ],
        );
        exec(
            &a_name,
            "bridge",
            &[
                "fdb",
                "add",
                "02:00:00:00:00:bb",
                "dev",
                "pe-port",
                "master",
                "static",
            ],
        );
        ipn(
            &a_name,
            &[
                "link",
                "add",
                "vni200",
                "type",
                "vxlan",
                "id",
                "200",
                "local",
                "100.65.0.1",
                "dstport",
                "4789",
                "nolearning",
            ],
        );
        exec(
            &a_name,
            "bridge",
            &[
                "fdb",
                "append",
                "00:00:00:00:00:00",
                "dev",
                "vni200",
                "dst",
                "100.65.0.2",
                "self",
                "permanent",
            ],
        );
        let mac = |s: &str| -> MacAddr {
            let b: Vec<u8> = s
                .split(':')
                .map(|x| u8::from_str_radix(x, 16).unwrap())
                .collect();
            MacAddr::from_slice(&b).unwrap()
        };
        let fdb_of = |ev: &DataplaneEvent, m: MacAddr| -> Option<FdbEvent> {
            match ev {
                DataplaneEvent::Fdb(f) if f.mac == m && f.added => Some(f.clone()),
                _ => None,
            }
        };
        let ext = mac("02:00:00:00:00:aa");
        let (ev, _) = expect(&mut w, "extern_learn FDB event", |ev| {
            fdb_of(ev, ext).is_some()
        })
        .await;
        let f = fdb_of(&ev, ext).unwrap();
        assert!(f.flags.extern_learn && !f.is_local_learning(), "{f:?}");
        let st = mac("02:00:00:00:00:bb");
        let (ev, _) = expect(&mut w, "static FDB event", |ev| fdb_of(ev, st).is_some()).await;
        let f = fdb_of(&ev, st).unwrap();
        assert!(f.is_static() && !f.is_local_learning(), "{f:?}");
        let (ev, _) = expect(&mut w, "VXLAN flood FDB event", |ev| {
            fdb_of(ev, MacAddr::ZERO).is_some_and(|f| f.dev.is("vni200"))
        })
        .await;
        let f = fdb_of(&ev, MacAddr::ZERO).unwrap();
        assert!(f.flags.self_ && !f.flags.master && f.is_local(), "{f:?}");
        assert_eq!(f.dst, Some(ip("100.65.0.2")));
        assert!(!f.is_local_learning());

        // Flushing the port's learned entries withdraws the MAC.
        exec(
            &a_name,
            "bridge",
            &["fdb", "del", HOST_MAC_STR, "dev", "pe-port", "master"],
        );
        let (ev, _) = expect(
            &mut w,
            "FDB removed event for B's MAC",
            |ev| matches!(ev, DataplaneEvent::Fdb(f) if f.mac == HOST_MAC && !f.added),
        )
        .await;
        let DataplaneEvent::Fdb(f) = ev else {
            unreachable!()
        };
        assert!(f.dev.is("pe-port") && f.flags.master, "{f:?}");
    });
}

#[test]
fn link_address_and_route_changes_yield_events_and_our_routes_are_filtered() {
    let (a, _b) = l2vni("lar");
    let a_name = a.0.clone();
    a.run(move || async move {
        let mut w = Watcher::new().unwrap();
        // A second watcher reporting our routes too, of table 100 only.
        let mut ours = Watcher::with_config(WatchConfig {
            include_own_routes: true,
            route_tables: Some(BTreeSet::from([100])),
            ..WatchConfig::default()
        })
        .unwrap();

        ipn(&a_name, &["link", "set", "pe-port", "down"]);
        let (ev, _) = expect(
            &mut w,
            "link down event",
            |ev| matches!(ev, DataplaneEvent::Link(l) if l.link.is("pe-port") && !l.up),
        )
        .await;
        let DataplaneEvent::Link(l) = ev else {
            unreachable!()
        };
        assert_eq!(l.kind.as_deref(), Some("veth"));
        assert!(
            l.master.as_ref().is_some_and(|m| m.is("br-pe-200")),
            "{l:?}"
        );
        assert!(l.mac.is_some() && l.mtu == Some(1500), "{l:?}");
        ipn(&a_name, &["link", "set", "pe-port", "up"]);
        expect(
            &mut w,
            "link up event",
            |ev| matches!(ev, DataplaneEvent::Link(l) if l.link.is("pe-port") && l.up),
        )
        .await;

        ipn(
            &a_name,
            &["addr", "add", "192.168.201.1/24", "dev", "br-pe-200"],
        );
        expect(&mut w, "address added event", |ev| {
            matches!(ev, DataplaneEvent::Address(a) if a.added && a.link.is("br-pe-200")
                && a.addr == net("192.168.201.1/24"))
        })
        .await;
        ipn(
            &a_name,
            &["addr", "del", "192.168.201.1/24", "dev", "br-pe-200"],
        );
        expect(&mut w, "address removed event", |ev| {
            matches!(ev, DataplaneEvent::Address(a) if !a.added && a.link.is("br-pe-200")
                && a.addr == net("192.168.201.1/24"))
        })
        .await;
        ipn(
            &a_name,
            &[
                "addr",
                "add",
                "2001:db8:200::1/64",
                "dev",
                "br-pe-200",
                "nodad",
            ],
        );
        expect(&mut w, "IPv6 address added event", |ev| {
            matches!(ev, DataplaneEvent::Address(a) if a.added && a.link.is("br-pe-200")
                && a.addr == net("2001:db8:200::1/64"))
        })
        .await;

        // Ours (proto 250) first, then someone else's: the default watcher reports only the
        // second, and since events come in order, having seen it proves the first was dropped.
        let p = RTPROT_PEROUTERD.to_string();
        ipn(
            &a_name,
            &[
                "route",
                "add",
                "10.8.8.0/24",
                "dev",
                "br-pe-200",
                "table",
                "100",
                "proto",
                &p,
            ],
        );
        ipn(
            &a_name,
            &[
                "route",
                "add",
                "10.9.9.0/24",
                "dev",
                "br-pe-200",
                "table",
                "100",
                "proto",
                "static",
            ],
        );
        ipn(
            &a_name,
            &[
                "route",
                "add",
                "10.7.7.0/24",
                "dev",
                "br-pe-200",
                "table",
                "101",
                "proto",
                "static",
            ],
        );
        ipn(
            &a_name,
            &[
                "-6",
                "route",
                "add",
                "2001:db8:99::/64",
                "via",
                "2001:db8:200::2",
                "table",
                "100",
                "proto",
                "static",
            ],
        );
        let (ev, before) = expect(&mut w, "route event for 10.9.9.0/24", |ev| {
            is_route(ev, true, 100, "10.9.9.0/24")
        })
        .await;
        assert!(
            !before
                .iter()
                .any(|e| matches!(e, DataplaneEvent::Route(r) if r.protocol == RTPROT_PEROUTERD)),
            "our route was reported: {before:#?}"
        );
        let DataplaneEvent::Route(r) = ev else {
            unreachable!()
        };
        assert_eq!(r.protocol, 4, "proto static");
        assert_eq!(r.kind, Some(RouteKind::Unicast));
        assert_eq!(r.next_hops.len(), 1);
        assert_eq!(r.next_hops[0].dev.as_deref(), Some("br-pe-200"));
        expect(&mut w, "route event for table 101", |ev| {
            is_route(ev, true, 101, "10.7.7.0/24")
        })
        .await;
        let (ev, _) = expect(&mut w, "IPv6 route event", |ev| {
            is_route(ev, true, 100, "2001:db8:99::/64")
        })
        .await;
        let DataplaneEvent::Route(r) = ev else {
            unreachable!()
        };
        assert_eq!(r.next_hops[0].via, Some(ip("2001:db8:200::2")));
        ipn(&a_name, &["route", "del", "10.9.9.0/24", "table", "100"]);
        expect(&mut w, "route removed event", |ev| {
            is_route(ev, false, 100, "10.9.9.0/24")
        })
        .await;

        // The second watcher: our route in table 100 is reported, table 101 is not.
        let (_, before) = expect(&mut ours, "our route event", |ev| {
            is_route(ev, true, 100, "10.8.8.0/24")
        })
        .await;
        assert!(
            !before
                .iter()
                .any(|e| matches!(e, DataplaneEvent::Route(r) if r.table != 100)),
            "{before:#?}"
        );
        let (_, before) = expect(&mut ours, "route removed event (table 100 watcher)", |ev| {
            is_route(ev, false, 100, "10.9.9.0/24")
        })
        .await;
        assert!(
            !before
                .iter()
                .any(|e| matches!(e, DataplaneEvent::Route(r) if r.table != 100)),
            "{before:#?}"
        );

        // Link creation and removal, with the name of the removed link.
        ipn(&a_name, &["link", "add", "tmp-br", "type", "bridge"]);
        let (ev, _) = expect(
            &mut w,
            "new link event",
            |ev| matches!(ev, DataplaneEvent::Link(l) if l.link.is("tmp-br")),
        )
        .await;
        let DataplaneEvent::Link(l) = ev else {
            unreachable!()
        };
        assert_eq!(l.kind.as_deref(), Some("bridge"));
        ipn(&a_name, &["link", "del", "tmp-br"]);
        let (ev, _) = expect(
            &mut w,
            "link removed event",
            |ev| matches!(ev, DataplaneEvent::LinkRemoved(l) if l.is("tmp-br")),
        )
        .await;
        let DataplaneEvent::LinkRemoved(gone) = ev else {
            unreachable!()
        };
        assert_eq!(gone.index, l.link.index);

        // A port leaving its bridge is not a link removal.
        ipn(&a_name, &["link", "set", "pe-port", "nomaster"]);
        let (_, before) = expect(&mut w, "link event without master", |ev| {
            matches!(ev, DataplaneEvent::Link(l) if l.link.is("pe-port") && l.master.is_none())
        })
        .await;
        let rest = drain(&mut w, Duration::from_millis(300)).await;
        assert!(
            !before
                .iter()
                .chain(&rest)
                .any(|e| matches!(e, DataplaneEvent::LinkRemoved(_))),
            "{before:#?} {rest:#?}"
        );
        assert!(
            !before
                .iter()
                .chain(&rest)
                .any(|e| matches!(e, DataplaneEvent::Overrun(_))),
            "no overrun expected"
        );
    });
}

#[test]
fn a_burst_within_the_buffers_loses_nothing() {
    let (a, _b) = l2vni("burst");
    let a_name = a.0.clone();
    a.run(move || async move {
        let mut w = Watcher::with_config(WatchConfig {
            route_tables: Some(BTreeSet::from([100])),
            ..WatchConfig::default()
        })
        .unwrap();
        ip_batch(&a_name, &route_batch(3000));
        ipn(
            &a_name,
            &[
                "route",
                "add",
                "blackhole",
                "10.99.0.0/24",
                "table",
                "100",
                "proto",
                "static",
            ],
        );
        let (_, before) = expect(&mut w, "the route after the burst", |ev| {
            is_route(ev, true, 100, "10.99.0.0/24")
        })
        .await;
        let routes: BTreeSet<_> = before
            .iter()
            .filter_map(|e| match e {
                DataplaneEvent::Route(r) if r.added => {
                    assert_eq!(r.kind, Some(RouteKind::Blackhole));
                    Some(r.dst)
                }
                _ => None,
            })
            .collect();
        assert!(
            !before
                .iter()
                .any(|e| matches!(e, DataplaneEvent::Overrun(_))),
            "unexpected overrun"
        );
        assert_eq!(routes.len(), 3000);
    });
}

#[test]
fn a_slow_consumer_gets_an_overrun_and_the_watcher_keeps_working() {
    let (a, _b) = l2vni("overrun");
    let a_name = a.0.clone();
    a.run(move || async move {
        let mut w = Watcher::with_config(WatchConfig {
            route_tables: Some(BTreeSet::from([100])),
            capacity: 2,
            recv_buffer: 16 * 1024,
            ..WatchConfig::default()
        })
        .unwrap();
        // The burst runs on another thread while this one does not consume: the reading task
        // fills the channel, stops reading, and the kernel's socket buffer overflows.
        let burst = {
            let a_name = a_name.clone();
            std::thread::spawn(move || ip_batch(&a_name, &route_batch(3000)))
        };
        while !burst.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        burst.join().unwrap();
        assert!(
            w.try_recv().is_some(),
            "the reading task should have filled the channel during the burst"
        );

        let (ev, before) = expect(&mut w, "overrun", |ev| {
            matches!(ev, DataplaneEvent::Overrun(_))
        })
        .await;
        assert_eq!(ev, DataplaneEvent::Overrun(OverrunReason::KernelBuffer));
        let delivered = before
            .iter()
            .filter(|e| matches!(e, DataplaneEvent::Route(_)))
            .count();
        assert!(
            delivered < 3000,
            "{delivered} route events before the overrun"
        );

        // Everything queued before the loss was discarded: the first route event after the
        // marker is a change made after it, and the watcher goes on working.
        ipn(
            &a_name,
            &[
                "route",
                "add",
                "blackhole",
                "10.99.0.0/24",
                "table",
                "100",
                "proto",
                "static",
            ],
        );
        let (_, after) = expect(&mut w, "the route added after the overrun", |ev| {
            is_route(ev, true, 100, "10.99.0.0/24")
        })
        .await;
        assert!(
            !after
                .iter()
                .any(|e| matches!(e, DataplaneEvent::Route(_) | DataplaneEvent::Overrun(_))),
            "stale events after the overrun marker: {after:#?}"
        );
        ipn(&a_name, &["link", "set", "pe-port", "down"]);
        expect(
            &mut w,
            "link event after the overrun",
            |ev| matches!(ev, DataplaneEvent::Link(l) if l.link.is("pe-port") && !l.up),
        )
        .await;
    });
}

/// What decides how a consumer treats an FDB entry (everything but its ageing state).
fn fdb_class(f: &FdbEvent) -> impl PartialEq + std::fmt::Debug {
    (
        (
            f.added,
            f.dev.clone(),
            f.bridge.clone(),
            f.mac,
            f.vlan,
            f.dst,
            f.vni,
        ),
        f.flags,
        (f.is_local_learning(), f.is_static(), f.is_local()),
    )
}

/// What decides how a consumer treats a neighbour entry (everything but its NUD state).
fn neigh_class(n: &NeighEvent) -> impl PartialEq + std::fmt::Debug {
    (
        (n.added, n.link.clone(), n.ip, n.mac),
        (n.extern_learn, n.router, n.protocol, n.is_local_binding()),
    )
}

#[test]
fn a_snapshot_reads_the_fdb_and_neighbours_classified_as_the_watcher_does() {
    let (a, b) = l2vni("snap");
    let (a_name, b_name) = (a.0.clone(), b.0.clone());
    // An L2VNI's VXLAN port on the bridge (down: it needs no underlay), with a flood entry.
    a.ip(&[
        "link",
        "add",
        "vni200",
        "type",
        "vxlan",
        "id",
        "200",
        "local",
        "100.65.0.1",
        "dstport",
        "4789",
        "nolearning",
    ]);
    a.ip(&["link", "set", "vni200", "master", "br-pe-200"]);
    a.ip(&[
        "addr",
        "add",
        "2001:db8:200::1/64",
        "dev",
        "br-pe-200",
        "nodad",
    ]);
    b.ip(&[
        "addr",
        "add",
        "2001:db8:200::2/64",
        "dev",
        "host-200",
        "nodad",
    ]);
    a.run(move || async move {
        let mut w = Watcher::new().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        ipn(&b_name, &["link", "set", "host-200", "up"]);
        exec(&b_name, "ping", &["-c", "2", "-W", "1", "192.168.200.1"]);
        exec(
            &b_name,
            "ping",
            &["-6", "-c", "2", "-W", "1", "2001:db8:200::1"],
        );
        let bridge = |args: &[&str]| exec(&a_name, "bridge", args);
        bridge(&[
            "fdb",
            "add",
            "02:00:00:00:00:aa",
            "dev",
            "pe-port",
            "master",
            "extern_learn",
        ]);
        bridge(&[
            "fdb",
            "add",
            "02:00:00:00:00:bb",
            "dev",
            "pe-port",
            "master",
            "static",
        ]);
        bridge(&[
            "fdb",
            "add",
            "02:00:00:00:00:cc",
            "dev",
            "vni200",
            "master",
            "extern_learn",
        ]);
        bridge(&[
            "fdb",
            "append",
            "00:00:00:00:00:00",
            "dev",
            "vni200",
            "dst",
            "100.65.0.2",
            "self",
            "permanent",
        ]);
        let ext = MacAddr([2, 0, 0, 0, 0, 0xaa]);
        let st = MacAddr([2, 0, 0, 0, 0, 0xbb]);
        let remote = MacAddr([2, 0, 0, 0, 0, 0xcc]);
        let v4 = ip("192.168.200.2");
        let v6 = ip("2001:db8:200::2");

        // What the watcher reports for each of them (the last event of each entry).
        let mut watched_fdb: Vec<FdbEvent> = Vec::new();
        let mut watched_neigh: Vec<NeighEvent> = Vec::new();
        let mut record = |evs: Vec<DataplaneEvent>| {
            for ev in evs {
                match ev {
                    DataplaneEvent::Fdb(f) => watched_fdb.push(f),
                    DataplaneEvent::Neigh(n) => watched_neigh.push(n),
                    DataplaneEvent::Overrun(r) => panic!("unexpected overrun {r:?}"),
                    _ => {}
                }
            }
        };
        let (last, mut seen) = expect(&mut w, "the VXLAN flood entry", |ev| {
            matches!(ev, DataplaneEvent::Fdb(f) if f.mac == MacAddr::ZERO && f.dev.is("vni200"))
        })
        .await;
        seen.push(last);
        seen.extend(drain(&mut w, Duration::from_millis(300)).await);
        record(seen);
        let last_fdb = |mac: MacAddr, dev: &str| {
            watched_fdb
                .iter()
                .rev()
                .find(|f| f.mac == mac && f.dev.is(dev) && f.added)
                .cloned()
                .unwrap_or_else(|| panic!("no watcher event for {mac} on {dev}: {watched_fdb:#?}"))
        };
        let last_neigh = |addr: IpAddr| {
            watched_neigh
                .iter()
                .rev()
                .find(|n| n.ip == addr && n.added && n.mac.is_some())
                .cloned()
                .unwrap_or_else(|| panic!("no watcher event for {addr}: {watched_neigh:#?}"))
        };

        let snap = snapshot(None).await.unwrap();
        let snap_fdb = |mac: MacAddr, dev: &str| -> FdbEvent {
            let found: Vec<&FdbEvent> = snap
                .iter()
                .filter_map(|e| match e {
                    DataplaneEvent::Fdb(f) if f.mac == mac && f.dev.is(dev) => Some(f),
                    _ => None,
                })
                .collect();
            assert_eq!(found.len(), 1, "{mac} on {dev} in {snap:#?}");
            found[0].clone()
        };
        let snap_neigh = |addr: IpAddr| -> NeighEvent {
            snap.iter()
                .find_map(|e| match e {
                    DataplaneEvent::Neigh(n) if n.ip == addr => Some(n.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no neighbour {addr} in {snap:#?}"))
        };
        assert!(
            snap.iter()
                .all(|e| matches!(e, DataplaneEvent::Fdb(f) if f.added)
                    || matches!(e, DataplaneEvent::Neigh(n) if n.added)),
            "a snapshot holds present FDB and neighbour entries only: {snap:#?}"
        );

        // B's MAC, learned on the port: local learning (the type-2 MAC source).
        let learned = snap_fdb(HOST_MAC, "pe-port");
        assert!(learned.is_local_learning(), "{learned:?}");
        assert!(learned.bridge.as_ref().is_some_and(|b| b.is("br-pe-200")));
        assert!(learned.flags.master && !learned.flags.extern_learn);
        assert_eq!(
            fdb_class(&learned),
            fdb_class(&last_fdb(HOST_MAC, "pe-port"))
        );
        // Ours, static, ours behind the VXLAN port, the flood list: never local learning.
        let f = snap_fdb(ext, "pe-port");
        assert!(f.flags.extern_learn && !f.is_local_learning(), "{f:?}");
        assert_eq!(fdb_class(&f), fdb_class(&last_fdb(ext, "pe-port")));
        let f = snap_fdb(st, "pe-port");
        assert!(f.is_static() && !f.is_local_learning(), "{f:?}");
        assert_eq!(fdb_class(&f), fdb_class(&last_fdb(st, "pe-port")));
        let f = snap_fdb(remote, "vni200");
        assert!(f.flags.extern_learn && f.flags.master && !f.is_local_learning());
        assert_eq!(fdb_class(&f), fdb_class(&last_fdb(remote, "vni200")));
        let flood: Vec<&FdbEvent> = snap
            .iter()
            .filter_map(|e| match e {
                DataplaneEvent::Fdb(f) if f.mac == MacAddr::ZERO && f.dev.is("vni200") => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(flood.len(), 1, "{flood:#?}");
        let f = flood[0];
        assert!(f.flags.self_ && !f.flags.master && f.is_local(), "{f:?}");
        assert_eq!(f.dst, Some(ip("100.65.0.2")));
        assert_eq!(fdb_class(f), fdb_class(&last_fdb(MacAddr::ZERO, "vni200")));
        // The port's own MAC: a local (permanent) master entry.
        let own = snap
            .iter()
            .find_map(|e| match e {
                DataplaneEvent::Fdb(f) if f.dev.is("pe-port") && f.flags.master && f.is_local() => {
                    Some(f)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no entry for the port's own MAC: {snap:#?}"));
        assert!(own.is_local() && !own.is_local_learning(), "{own:?}");

        // B's IPv4 and IPv6 addresses, resolved by the bridge's SVI: local bindings.
        for addr in [v4, v6] {
            let n = snap_neigh(addr);
            assert!(n.link.is("br-pe-200"), "{n:?}");
            assert_eq!(n.mac, Some(HOST_MAC));
            assert!(
                n.is_local_binding() && !n.is_ours(RTPROT_PEROUTERD),
                "{n:?}"
            );
            assert_eq!(neigh_class(&n), neigh_class(&last_neigh(addr)));
        }

        // Filtered on the bridge: its entries (by bridge or device), nothing else.
        let only = BTreeSet::from(["br-pe-200".to_owned()]);
        let filtered = snapshot(Some(&only)).await.unwrap();
        // (The entry's ageing state may have changed in between; the rest is equal.)
        let same_as_learned = |f: &FdbEvent| fdb_class(f) == fdb_class(&learned);
        assert!(
            filtered
                .iter()
                .any(|e| matches!(e, DataplaneEvent::Fdb(f) if same_as_learned(f))),
            "{filtered:#?}"
        );
        assert!(filtered
            .iter()
            .any(|e| matches!(e, DataplaneEvent::Neigh(n) if n.ip == v4)));
        for e in &filtered {
            match e {
                DataplaneEvent::Fdb(f) => assert!(
                    f.dev.is("br-pe-200") || f.bridge.as_ref().is_some_and(|b| b.is("br-pe-200")),
                    "{f:?}"
                ),
                DataplaneEvent::Neigh(n) => assert!(n.link.is("br-pe-200"), "{n:?}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(
            !filtered
                .iter()
                .any(|e| matches!(e, DataplaneEvent::Fdb(f) if f.mac == MacAddr::ZERO)),
            "the VXLAN device's own entries are not the bridge's"
        );

        // B leaves (its port loses carrier, the bridge flushes what it learned there) and its
        // bindings are deleted: a new snapshot no longer has them, the rest stays.
        ipn(&b_name, &["link", "set", "host-200", "down"]);
        ipn(
            &a_name,
            &["neigh", "del", "192.168.200.2", "dev", "br-pe-200"],
        );
        ipn(
            &a_name,
            &["-6", "neigh", "del", "2001:db8:200::2", "dev", "br-pe-200"],
        );
        let deadline = Instant::now() + WAIT;
        let after = loop {
            let s = snapshot(None).await.unwrap();
            let gone = !s.iter().any(|e| match e {
                DataplaneEvent::Fdb(f) => f.mac == HOST_MAC && f.is_local_learning(),
                DataplaneEvent::Neigh(n) => (n.ip == v4 || n.ip == v6) && n.is_local_binding(),
                _ => false,
            });
            if gone {
                break s;
            }
            assert!(Instant::now() < deadline, "B's entries stay: {s:#?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        for m in [ext, st] {
            assert!(
                after
                    .iter()
                    .any(|e| matches!(e, DataplaneEvent::Fdb(f) if f.mac == m)),
                "{m} lost: {after:#?}"
            );
        }
    });
}
