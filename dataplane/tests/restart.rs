//! Restart adoption against the real kernel: the dataplane process is killed (SIGKILL) and
//! started again while a ping crosses a VXLAN tunnel between two VTEP namespaces; the new
//! process must adopt everything (no write at all, so no object recreated) and the ping must
//! not lose a single packet.
//!
//! The "dataplane process" is this test binary run again as a child
//! (`<exe> --exact restart_child --nocapture --test-threads=1`, with `DPT_RESTART_*` in its
//! environment): it enters one VTEP namespace, applies that side's desired state with a fresh
//! `NetlinkDataplane`, prints `APPLIED writes=N ...` and then stays alive until it is killed
//! (or its stdin closes, i.e. the parent test is gone). Without `DPT_RESTART_CHILD`,
//! `restart_child` is an ordinary test that passes at once, so normal runs (cargo test,
//! nextest) are unaffected.
//!
//! The two namespaces are joined by an underlay veth and each has a bridge + VXLAN (VNI 100,
//! nolearning) with 192.168.100.i on the bridge; reachability between the bridges comes only
//! from the unicast FDB and neighbour entries the child programs (the negative control at the
//! end removes them and the ping fails).
//!
//! Needs root, `ip`/`bridge` (iproute2), `ping` (iputils) and the bridge, vxlan and veth
//! drivers; a missing prerequisite fails the test with a message (it is never skipped).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use dataplane::netlink::NetlinkDataplane;
use dataplane::{Address, Dataplane, DesiredState, Fdb, Link, LinkKind, MacAddr, Neigh};
use nix::sched::{setns, CloneFlags};
use serde_json::Value;

mod common;

use common::Netns;

/// Child mode: the namespace to enter (absent: `restart_child` is a no-op test).
const ENV_NS: &str = "DPT_RESTART_CHILD";
/// Child mode: which VTEP (1 = A, 2 = B).
const ENV_SIDE: &str = "DPT_RESTART_SIDE";
/// Child mode: the other VTEP's namespace (where the underlay veth's peer lives).
const ENV_PEER: &str = "DPT_RESTART_PEER";

/// Upper bound for a child to start and print its `APPLIED` line.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// Continuous ping: 200 probes 50 ms apart (about 10 s).
const PING_COUNT: u32 = 200;
/// Hard deadline of the continuous ping (`ping -w`), and of our wait for it.
const PING_DEADLINE_S: u64 = 40;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(i: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0x64, i])
}

/// VTEP `i` (1 = node A, 2 = node B) without the EVPN entries: underlay veth leg
/// 10.0.0.i/24, bridge with a fixed MAC and 192.168.100.i/24, VXLAN 100 from 10.0.0.i,
/// nolearning.
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

/// The full EVPN path of VTEP `i`: [`vtep`] plus the unicast FDB entry and the neighbour of
/// the other VTEP's bridge (what a type-2 route would program). Parent and child both build
/// it from here, so they agree.
fn full_vtep(i: u8, peer_ns: &str) -> DesiredState {
    let other = 3 - i;
    let mut d = vtep(i, peer_ns);
    d.add_fdb(Fdb::unicast(
        "vxlan100",
        mac(other),
        ip(&format!("10.0.0.{other}")),
    ));
    d.add_neigh(Neigh::new(
        "br100",
        ip(&format!("192.168.100.{other}")),
        mac(other),
    ));
    d
}

/// Child mode entry point: a no-op test unless `DPT_RESTART_CHILD` is set (then it is the
/// "dataplane process" of one namespace; see the module doc).
#[test]
fn restart_child() {
    let Ok(ns) = std::env::var(ENV_NS) else {
        return;
    };
    let side: u8 = std::env::var(ENV_SIDE).unwrap().parse().unwrap();
    let peer = std::env::var(ENV_PEER).unwrap();
    let desired = full_vtep(side, &peer);
    let path = format!("/run/netns/{ns}");
    let report = std::thread::spawn(move || {
        let file = File::open(&path).unwrap();
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut dp = NetlinkDataplane::new().unwrap();
            dp.apply(&desired).await.unwrap()
        })
    })
    .join()
    .unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nAPPLIED writes={} links={:?} addresses={:?} fdb={:?} neighbours={:?}",
        report.writes, report.links, report.addresses, report.fdb, report.neighbours
    )
    .unwrap();
    out.flush().unwrap();
    drop(out);
    // Stay alive until killed. Reading stdin to EOF also ends us if the parent test dies
    // without killing us (its end of the pipe closes); the timeout caps our life anyway.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(Duration::from_secs(300));
}

/// A running child ("dataplane process"), killed and reaped on drop.
struct DataplaneProc {
    name: String,
    child: Child,
    _stdin: ChildStdin,
    lines: Receiver<String>,
}

impl DataplaneProc {
    /// Starts the child for VTEP `side` in `ns` and waits (bounded) for its `APPLIED` line;
    /// returns it with the line's `writes` count.
    fn start(name: &str, side: u8, ns: &Netns, peer: &Netns) -> (DataplaneProc, usize) {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe)
            .args([
                "--exact",
                "restart_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_NS, &ns.0)
            .env(ENV_SIDE, side.to_string())
            .env(ENV_PEER, &peer.0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut proc = DataplaneProc {
            name: name.to_owned(),
            child,
            _stdin: stdin,
            lines,
        };
        let writes = proc.wait_applied();
        (proc, writes)
    }

    fn wait_applied(&mut self) -> usize {
        let deadline = Instant::now() + APPLY_TIMEOUT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    // libtest may have printed `test restart_child ... ` without a newline.
                    if let Some((_, rest)) = line.split_once("APPLIED ") {
                        eprintln!("{}: {line}", self.name);
                        let writes = rest
                            .split_whitespace()
                            .find_map(|w| w.strip_prefix("writes="))
                            .unwrap_or_else(|| panic!("{}: bad line {line:?}", self.name));
                        return writes.parse().unwrap();
                    }
                    seen.push(line);
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no APPLIED line within {APPLY_TIMEOUT:?}; output: {seen:?}",
                    self.name
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: exited before applying ({:?}); output: {seen:?}",
                    self.name,
                    self.child.try_wait()
                ),
            }
        }
    }

    /// SIGKILL, then reap; asserts it was still running and died of the signal.
    fn kill(mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "{} exited on its own",
            self.name
        );
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "{}: {status:?}", self.name);
    }
}

impl Drop for DataplaneProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Any background command (the continuous ping), killed and reaped on drop.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ip -n <ns> monitor link address` in the background.
fn monitor(ns: &Netns) -> Background {
    let child = Command::new("ip")
        .args(["-n", &ns.0, "monitor", "link", "address"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Background(child)
}

/// Kills a background command and returns what it printed (stdout, then stderr).
fn stop_and_read(bg: &mut Background) -> String {
    let _ = bg.0.kill();
    let _ = bg.0.wait();
    let mut out = String::new();
    if let Some(mut s) = bg.0.stdout.take() {
        s.read_to_string(&mut out).unwrap();
    }
    if let Some(mut s) = bg.0.stderr.take() {
        s.read_to_string(&mut out).unwrap();
    }
    out
}

fn exec(ns: &Netns, prog: &str, args: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", &ns.0, prog])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("prerequisite: {prog}: {e}"))
}

fn ping_once(ns: &Netns, to: &str) -> bool {
    let out = exec(ns, "ping", &["-n", "-c", "1", "-W", "2", to]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("exec of"),
        "prerequisite: `ping` (iputils-ping) must be installed: {err}"
    );
    out.status.success()
}

/// name → ifindex of every link in `ns`.
fn ifindexes(ns: &Netns) -> BTreeMap<String, u64> {
    ns.json(&["link", "show"])
        .iter()
        .map(|l| {
            (
                l["ifname"].as_str().unwrap().to_owned(),
                l["ifindex"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `bridge -j fdb show dev vxlan100`.
fn vxlan_fdb(ns: &Netns) -> Vec<Value> {
    let out = exec(ns, "bridge", &["-j", "fdb", "show", "dev", "vxlan100"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
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

/// Asserts VTEP `ns` has our unicast FDB entry and neighbour for the other VTEP `other`.
fn assert_evpn_entries(ns: &Netns, other: u8) {
    let m = format!("02:00:00:00:64:{other:02x}");
    let fdb = vxlan_fdb(ns);
    let e = fdb
        .iter()
        .find(|e| e["mac"] == m.as_str() && e.get("dst").is_some())
        .unwrap_or_else(|| panic!("{}: no FDB entry for {m}: {fdb:?}", ns.0));
    assert_eq!(e["dst"], format!("10.0.0.{other}"), "{e}");
    assert!(flags(e).contains(&"extern_learn".to_owned()), "{e}");
    let neighs = ns.json(&["neigh", "show", "dev", "br100"]);
    let n = neighs
        .iter()
        .find(|n| n["dst"] == format!("192.168.100.{other}"))
        .unwrap_or_else(|| panic!("{}: no neighbour: {neighs:?}", ns.0));
    assert_eq!(n["lladdr"], m.as_str(), "{n}");
    assert!(n.get("extern_learn").is_some(), "{n}");
}

/// `(transmitted, received)` from ping's summary line.
fn ping_summary(out: &str) -> (u32, u32) {
    let line = out
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no ping summary in {out:?}"));
    let mut nums = line
        .split(", ")
        .map(|p| p.split_whitespace().next().unwrap().parse::<u32>());
    let tx = nums.next().unwrap().unwrap();
    let rx = nums.next().unwrap().unwrap();
    (tx, rx)
}

#[test]
fn killing_and_restarting_the_dataplane_adopts_everything_and_traffic_keeps_flowing() {
    let t0 = Instant::now();
    let a = Netns::new("rst-a");
    let b = Netns::new("rst-b");
    assert!(
        !ping_once(&a, "192.168.100.2"),
        "negative control: nothing programmed yet"
    );

    // First start: A creates everything (and the underlay veth's peer in B); B then adopts
    // its leg and creates the rest.
    let (proc_a, w) = DataplaneProc::start("A#1", 1, &a, &b);
    assert!(w > 0, "first start creates the objects");
    let (proc_b, w) = DataplaneProc::start("B#1", 2, &b, &a);
    assert!(w > 0, "first start creates the objects");
    assert!(
        ping_once(&a, "192.168.100.2"),
        "ping over the tunnel programmed by the children"
    );
    assert_evpn_entries(&a, 2);
    assert_evpn_entries(&b, 1);
    let links_a = ifindexes(&a);
    let links_b = ifindexes(&b);
    for name in ["ul-a", "br100", "vxlan100"] {
        assert!(links_a.contains_key(name), "{links_a:?}");
    }
    for name in ["ul-b", "br100", "vxlan100"] {
        assert!(links_b.contains_key(name), "{links_b:?}");
    }
    eprintln!("setup done after {:?}", t0.elapsed());

    // Kernel-side witness, independent of the reports: link and address notifications in
    // either namespace while the processes restart (there must be none).
    let mut mon_a = monitor(&a);
    let mut mon_b = monitor(&b);

    // Continuous ping across the tunnel while both processes are killed and restarted.
    let count = PING_COUNT.to_string();
    let deadline = PING_DEADLINE_S.to_string();
    let ping = Command::new("ip")
        .args(["netns", "exec", &a.0, "ping", "-n", "-q", "-i", "0.05"])
        .args(["-c", &count, "-W", "1", "-w", &deadline, "192.168.100.2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ping = Background(ping);
    let t_ping = Instant::now();

    std::thread::sleep(Duration::from_secs(1));
    proc_a.kill();
    std::thread::sleep(Duration::from_millis(500));
    let (proc_a, w) = DataplaneProc::start("A#2", 1, &a, &b);
    assert_eq!(w, 0, "restarted A must adopt everything, writing nothing");
    std::thread::sleep(Duration::from_secs(1));
    proc_b.kill();
    std::thread::sleep(Duration::from_millis(500));
    let (proc_b, w) = DataplaneProc::start("B#2", 2, &b, &a);
    assert_eq!(w, 0, "restarted B must adopt everything, writing nothing");
    let restarts_done = t_ping.elapsed();
    assert!(
        ping.0.try_wait().unwrap().is_none(),
        "the ping must still be running after both restarts ({restarts_done:?})"
    );

    // Bounded wait for the ping to finish.
    let wait_until = Instant::now() + Duration::from_secs(PING_DEADLINE_S + 10);
    let status = loop {
        if let Some(s) = ping.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < wait_until, "ping did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    ping.0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    ping.0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    eprintln!(
        "ping took {:?} (restarts done at {restarts_done:?}): {}",
        t_ping.elapsed(),
        out.trim()
    );
    assert_eq!(
        ping_summary(&out),
        (PING_COUNT, PING_COUNT),
        "no packet may be lost across the restarts: {out} {err}"
    );
    assert!(status.success(), "{status:?}: {out} {err}");

    // Nothing recreated: no link/address notification, every link kept its ifindex, the EVPN
    // entries are still there.
    let events_a = stop_and_read(&mut mon_a);
    let events_b = stop_and_read(&mut mon_b);
    assert!(
        events_a.trim().is_empty(),
        "link/address events in A: {events_a}"
    );
    assert!(
        events_b.trim().is_empty(),
        "link/address events in B: {events_b}"
    );
    assert_eq!(ifindexes(&a), links_a, "links of A recreated or changed");
    assert_eq!(ifindexes(&b), links_b, "links of B recreated or changed");
    assert_evpn_entries(&a, 2);
    assert_evpn_entries(&b, 1);

    proc_a.kill();
    proc_b.kill();

    // Negative control: the ping really rides on what the children programmed. Reconciling
    // A to the state without the FDB entry and neighbour deletes exactly them, and the ping
    // then fails.
    let base_a = vtep(1, &b.0);
    let r = a.run(move || async move {
        let mut dp = NetlinkDataplane::new().unwrap();
        dp.apply(&base_a).await.unwrap()
    });
    assert_eq!(
        (r.fdb.deleted, r.neighbours.deleted, r.writes),
        (1, 1, 2),
        "{r:?}"
    );
    assert!(
        !ping_once(&a, "192.168.100.2"),
        "negative control: without the EVPN entries the ping must fail"
    );
    eprintln!("total {:?}", t0.elapsed());
}
