//! Managed neighbours (`NTF_EXT_MANAGED`) against the real kernel: the silent-host keepalive
//! of EVPN type-2 routes (`evpn::type2`, "Silent hosts"). An L2VNI-shaped bridge with an
//! address in the host's subnet learns a host behind a veth; the reconciler converts the
//! learned neighbour entry into a managed one of ours; while the host stays silent the kernel
//! keeps re-probing it, which keeps both the neighbour entry and the bridge's FDB entry of
//! the host's MAC fresh (the FDB entry would otherwise age out after `ageing_time`); once the
//! host is gone the entry fails and the watcher reports it as no longer a local binding.
//!
//! Neighbour timers are shortened on the bridge (REACHABLE 1.5–4.5 s, DELAY 1 s, probe
//! interval 1 s, `ageing_time` 10 s) so that the whole cycle fits in seconds.
//!
//! Needs root, `ip`/`bridge` (iproute2 ≥ 5.16 for `managed` in its output), `ping`, the
//! bridge and veth drivers and a kernel with `interval_probe_time_ms` (≥ 6.0); a missing
//! prerequisite fails the test with a message (it is never skipped silently).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use dataplane::netlink::{managed_neighbours_supported, NetlinkDataplane};
use dataplane::watch::{DataplaneEvent, NeighEvent, NeighState, Watcher};
use dataplane::{Dataplane, DesiredState, MacAddr, Neigh, RTPROT_PEROUTERD};
use serde_json::Value;

mod common;

use common::Netns;

const HOST_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0xc9, 0x02]);
const HOST_MAC_STR: &str = "02:00:00:00:c9:02";
const HOST_IP: &str = "192.168.201.2";
const BRIDGE: &str = "br-pe-201";
/// The bridge's `ageing_time` in the test: 10 s (centiseconds for iproute2).
const AGEING_S: u64 = 10;
/// `interval_probe_time_ms` in the test.
const PROBE_MS: u64 = 1000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Runs `prog args…` inside namespace `ns`, panicking with its output on failure.
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

/// `ip -n <ns> args…`.
fn ipn(ns: &str, args: &[&str]) -> String {
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
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(text: &str) -> Vec<Value> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    serde_json::from_str(text).unwrap()
}

/// The kernel's entry for the host's IP on the bridge (`ip -d -s -j neigh show`).
fn host_neigh(ns: &str) -> Option<Value> {
    json(&ipn(
        ns,
        &["-d", "-s", "-j", "neigh", "show", HOST_IP, "dev", BRIDGE],
    ))
    .into_iter()
    .next()
}

/// Seconds since the bridge's FDB entry of the host's MAC on the port was refreshed, `None`
/// when there is no such entry.
fn fdb_age(ns: &str) -> Option<u64> {
    let out = Command::new("bridge")
        .args(["-n", ns, "-s", "-j", "fdb", "show", "br", BRIDGE])
        .output()
        .unwrap_or_else(|e| panic!("prerequisite: bridge (iproute2): {e}"));
    assert!(out.status.success(), "bridge fdb show");
    json(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .find(|e| e["mac"] == HOST_MAC_STR && e["ifname"] == "pe-port")
        .map(|e| e["updated"].as_u64().unwrap())
}

/// Namespace A: bridge `br-pe-201` (192.168.201.1/24, `ageing_time` [`AGEING_S`], neighbour
/// timers shortened so a probe cycle takes seconds) with port `pe-port`, a veth whose other
/// end `host-201` is in namespace B (the host: [`HOST_IP`], [`HOST_MAC`], IPv6 off so it
/// sends nothing on its own, still down).
fn l2vni(tag: &str) -> (Netns, Netns) {
    let a = Netns::new(&format!("{tag}-a"));
    let b = Netns::new(&format!("{tag}-b"));
    let ageing = (AGEING_S * 100).to_string();
    a.ip(&[
        "link",
        "add",
        BRIDGE,
        "type",
        "bridge",
        "ageing_time",
        &ageing,
    ]);
    a.ip(&["link", "set", BRIDGE, "up"]);
    a.ip(&["addr", "add", "192.168.201.1/24", "dev", BRIDGE]);
    // REACHABLE for 1.5–4.5 s, then STALE; DELAY 1 s before the unicast probe. REACHABLE
    // must outlast the DELAY time: otherwise the kernel's own last use of the entry (the
    // probe) sends it back to DELAY and it keeps probing without being managed.
    a.sysctl(&format!(
        "net.ipv4.neigh.{BRIDGE}.base_reachable_time_ms=3000"
    ));
    a.sysctl(&format!("net.ipv4.neigh.{BRIDGE}.delay_first_probe_time=1"));
    a.ip(&[
        "link", "add", "pe-port", "type", "veth", "peer", "name", "host-201", "netns", &b.0,
    ]);
    a.ip(&["link", "set", "pe-port", "master", BRIDGE, "up"]);
    b.sysctl("net.ipv6.conf.all.disable_ipv6=1");
    b.ip(&["link", "set", "host-201", "address", HOST_MAC_STR]);
    b.ip(&["addr", "add", &format!("{HOST_IP}/24"), "dev", "host-201"]);
    (a, b)
}

fn host_events(events: &[DataplaneEvent]) -> Vec<&NeighEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            DataplaneEvent::Neigh(n) if n.ip == ip(HOST_IP) => Some(n),
            _ => None,
        })
        .collect()
}

/// Receives events for `d`.
async fn collect(w: &mut Watcher, d: Duration) -> Vec<DataplaneEvent> {
    let deadline = Instant::now() + d;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, w.recv()).await {
            Ok(Ok(ev)) => seen.push(ev),
            Ok(Err(e)) => panic!("watcher failed: {e}; seen {seen:#?}"),
            Err(_) => return seen,
        }
    }
}

#[test]
fn a_managed_neighbour_keeps_a_silent_host_fresh_and_fails_when_it_leaves() {
    assert!(
        managed_neighbours_supported(),
        "prerequisite: this kernel has no net.ipv4.neigh.default.interval_probe_time_ms \
         (Linux >= 6.0): managed neighbours are left out of desired states here"
    );
    let (a, b) = l2vni("managed");
    let (a_name, b_name) = (a.0.clone(), b.0.clone());
    a.run(move || async move {
        let mut w = Watcher::new().unwrap();
        let mut dp = NetlinkDataplane::new().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        ipn(&b_name, &["link", "set", "host-201", "up"]);
        // The host speaks once (its own entry for the gateway is then confirmed for long).
        exec(&b_name, "ping", &["-c", "1", "-W", "2", "192.168.201.1"]);
        let learned = collect(&mut w, Duration::from_millis(500)).await;
        assert!(
            host_events(&learned)
                .iter()
                .any(|n| n.is_local_binding() && n.mac == Some(HOST_MAC) && !n.managed),
            "the kernel learned the host: {learned:#?}"
        );
        assert!(
            fdb_age(&a_name).is_some(),
            "the bridge learned the host's MAC"
        );

        // Control: a learned (unmanaged) entry of a silent host goes STALE and stays so,
        // nothing refreshes the bridge's FDB entry.
        let control = collect(&mut w, Duration::from_secs(7)).await;
        let k = host_neigh(&a_name).expect("the learned entry");
        assert_eq!(k["state"][0], "STALE", "unmanaged and silent: {k}");
        let age = fdb_age(&a_name).expect("not aged out yet");
        assert!(
            age >= 4,
            "nothing refreshed the FDB entry for {age}s: {:#?}",
            host_events(&control)
        );

        // The reconciler converts the learned entry into a managed one of ours.
        let mut d = DesiredState::new();
        d.add_neigh(Neigh::managed(BRIDGE, ip(HOST_IP), HOST_MAC));
        d.set_sysctl(
            &format!("net/ipv4/neigh/{BRIDGE}/interval_probe_time_ms"),
            PROBE_MS.to_string(),
        );
        let r = dp.apply(&d).await.unwrap();
        assert_eq!((r.neighbours.updated, r.writes), (1, 2), "{r:?}");
        let again = dp.apply(&d).await.unwrap();
        assert!(again.is_noop(), "read back as ours and managed: {again:?}");
        let cur = dp.current().await.unwrap();
        let ours: Vec<&Neigh> = cur.neighbours.values().map(|(n, _)| n).collect();
        assert!(
            matches!(ours.as_slice(), [n] if n.managed && n.ip == ip(HOST_IP) && n.mac == HOST_MAC),
            "{ours:?}"
        );
        let k = host_neigh(&a_name).expect("the entry exists");
        assert!(k.get("managed").is_some(), "`managed` in {k}");
        assert_eq!(k["protocol"], "250", "{k}");
        assert_eq!(k["lladdr"], HOST_MAC_STR, "kept its MAC: {k}");
        assert!(k.get("extern_learn").is_none(), "{k}");
        let probe = exec(
            &a_name,
            "sysctl",
            &[
                "-n",
                &format!("net.ipv4.neigh.{BRIDGE}.interval_probe_time_ms"),
            ],
        );
        assert_eq!(probe.trim(), PROBE_MS.to_string());

        // The host stays silent for longer than the bridge's ageing time: the kernel probes
        // the entry (states cycle back to REACHABLE) and each reply refreshes the FDB entry.
        let start = Instant::now();
        let mut events = Vec::new();
        let mut max_age = 0;
        while start.elapsed() < Duration::from_secs(AGEING_S + 4) {
            events.extend(collect(&mut w, Duration::from_millis(500)).await);
            let age = fdb_age(&a_name).unwrap_or_else(|| {
                panic!(
                    "the host's FDB entry aged out after {:?}; events {events:#?}",
                    start.elapsed()
                )
            });
            max_age = max_age.max(age);
        }
        let seen = host_events(&events);
        assert!(
            seen.iter().all(|n| n.added
                && n.is_local_binding()
                && n.managed
                && n.is_ours(RTPROT_PEROUTERD)
                && n.mac == Some(HOST_MAC)),
            "a managed entry of ours, a local binding all along: {seen:#?}"
        );
        let probes = seen.iter().filter(|n| n.state == NeighState::Probe).count();
        let confirmed = seen
            .windows(2)
            .filter(|p| p[0].state == NeighState::Probe && p[1].state == NeighState::Reachable)
            .count();
        assert!(
            probes >= 2 && confirmed >= 2,
            "the kernel re-probes the silent host (PROBE → REACHABLE at least twice in \
             {}s): {seen:#?}",
            AGEING_S + 4
        );
        assert!(
            max_age < AGEING_S,
            "FDB entry refreshed by the probe replies (oldest age {max_age}s, ageing {AGEING_S}s)"
        );
        eprintln!(
            "silent {}s: {probes} probes, {confirmed} confirmed, oldest FDB age {max_age}s",
            AGEING_S + 4
        );

        // No longer desired while the host is there (a restart's first apply, before the MAC
        // tables are resynchronised): released, not deleted; the binding survives.
        let mut without = DesiredState::new();
        without.set_sysctl(
            &format!("net/ipv4/neigh/{BRIDGE}/interval_probe_time_ms"),
            PROBE_MS.to_string(),
        );
        let r = dp.apply(&without).await.unwrap();
        assert_eq!((r.neighbours.deleted, r.writes), (1, 1), "{r:?}");
        let k = host_neigh(&a_name).expect("released, not deleted");
        assert!(k.get("managed").is_none(), "{k}");
        assert_eq!(k["lladdr"], HOST_MAC_STR, "{k}");
        assert!(
            dp.current().await.unwrap().neighbours.is_empty(),
            "not ours"
        );
        assert!(dp.apply(&without).await.unwrap().is_noop());
        let released = collect(&mut w, Duration::from_millis(300)).await;
        assert!(
            host_events(&released)
                .iter()
                .all(|n| n.added && n.is_local_binding() && !n.managed),
            "still a local binding: {released:#?}"
        );
        let r = dp.apply(&d).await.unwrap();
        assert_eq!(r.neighbours.updated, 1, "managed again: {r:?}");

        // The host leaves: the probes fail, the watcher reports the binding gone.
        ipn(&b_name, &["addr", "flush", "dev", "host-201"]);
        let gone = collect(&mut w, Duration::from_secs(8)).await;
        let seen = host_events(&gone);
        let failed = seen
            .iter()
            .find(|n| n.state == NeighState::Failed)
            .unwrap_or_else(|| panic!("no FAILED report: {seen:#?}"));
        assert!(
            !failed.is_local_binding() && failed.mac.is_none() && failed.managed,
            "{failed:?}"
        );
        let k = host_neigh(&a_name).expect("kept by the kernel until we delete it");
        let state = k["state"][0].as_str().unwrap_or_default().to_owned();
        assert!(
            state == "FAILED" || state == "INCOMPLETE",
            "managed and unanswered: {k}"
        );

        // The binding is gone, so is the desired entry: ours and without a MAC, deleted.
        let r = dp.apply(&without).await.unwrap();
        assert_eq!(r.neighbours.deleted, 1, "{r:?}");
        assert!(host_neigh(&a_name).is_none(), "deleted");
    });
}
