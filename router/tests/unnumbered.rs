//! BGP unnumbered neighbour discovery (`router::unnumbered`) on real links: two of our RA
//! speakers in two network namespaces joined by a veth with only link-local addresses, and
//! our speaker against FRR 8.4's zebra.
//!
//! Needs root and iproute2; the zebra test needs FRR (`apt-get install --no-install-recommends
//! frr`). Each speaker runs in its own thread, which enters the namespace with `setns` before
//! it builds a current-thread tokio runtime.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lab;

use std::net::Ipv6Addr;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lab::{sh, veth, wait_for, Netns, Proc, Scratch};
use router::unnumbered::{self, PeerLinkLocal, RaConfig};
use serde_json::Value;
use tokio::sync::watch;

/// Speaker logs (RUST_LOG, default debug for the module) into the test's captured output.
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "router::unnumbered=debug".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Runs `f` in a thread that has entered `ns`'s network namespace.
fn in_ns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        enter(&path);
        f()
    })
    .join()
    .unwrap()
}

fn enter(netns_path: &str) {
    let file =
        std::fs::File::open(netns_path).unwrap_or_else(|e| panic!("cannot open {netns_path}: {e}"));
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("setns {netns_path}: {e}"));
}

/// One of our RA speakers, running in a thread inside a namespace.
struct Speaker {
    rx: Option<watch::Receiver<Option<PeerLinkLocal>>>,
    thread: Option<JoinHandle<Result<(), String>>>,
    what: String,
}

impl Speaker {
    fn start(ns: &Netns, ifname: &str, cfg: RaConfig) -> Speaker {
        init_logs();
        let (tx, rx) = watch::channel(None);
        let path = format!("/run/netns/{}", ns.name);
        let name = ifname.to_string();
        let thread = std::thread::spawn(move || {
            enter(&path);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(unnumbered::run(name, cfg, tx))
                .map_err(|e| e.to_string())
        });
        Speaker {
            rx: Some(rx),
            thread: Some(thread),
            what: format!("{ifname} in {}", ns.name),
        }
    }

    fn peer(&self) -> Option<PeerLinkLocal> {
        *self.rx.as_ref().unwrap().borrow()
    }

    /// Fails at once with the speaker's error if it stopped.
    fn check_running(&mut self) {
        if self.thread.as_ref().unwrap().is_finished() {
            let r = self.thread.take().unwrap().join().unwrap();
            panic!("the speaker on {} stopped: {r:?}", self.what);
        }
    }

    /// Waits for a peer that satisfies `want`.
    fn wait_peer(&mut self, secs: u64, want: impl Fn(&PeerLinkLocal) -> bool) -> PeerLinkLocal {
        let what = format!("the speaker on {} to find its peer", self.what);
        wait_for(secs, &what, || {
            self.check_running();
            self.peer().filter(|p| want(p))
        })
    }

    /// Drops the receiver, which stops the speaker, and returns what `run` returned.
    fn stop(mut self) -> Result<(), String> {
        self.rx.take();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.rx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The link-local addresses `ip` shows on `ifname`, with whether each is still tentative.
fn ip_link_locals(ns: &Netns, ifname: &str) -> Vec<(Ipv6Addr, bool)> {
    sh(&[
        "ip", "-n", &ns.name, "-6", "addr", "show", "dev", ifname, "scope", "link",
    ])
    .lines()
    .filter_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix("inet6 ")?;
        let addr = rest.split('/').next()?.parse().ok()?;
        Some((addr, l.contains("tentative")))
    })
    .collect()
}

/// The single, DAD-complete link-local address of `ifname`.
fn ip_link_local(ns: &Netns, ifname: &str) -> Ipv6Addr {
    wait_for(
        10,
        &format!("a usable link-local address on {ifname}"),
        || match ip_link_locals(ns, ifname).as_slice() {
            [(addr, false)] => Some(*addr),
            _ => None,
        },
    )
}

fn ip_ifindex(ns: &Netns, ifname: &str) -> u32 {
    let out = sh(&["ip", "-n", &ns.name, "-o", "link", "show", "dev", ifname]);
    out.split(':').next().unwrap().trim().parse().unwrap()
}

fn ip_mac(ns: &Netns, ifname: &str) -> [u8; 6] {
    let out = sh(&["ip", "-n", &ns.name, "-o", "link", "show", "dev", ifname]);
    let mac = out
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap();
    let v: Vec<u8> = mac
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn sysctl(ns: &Netns, key_value: &str) {
    ns.exec(&["sysctl", "-qw", key_value]);
}

fn fast() -> RaConfig {
    RaConfig {
        interval: Duration::from_secs(1),
        ..RaConfig::default()
    }
}

#[test]
fn two_speakers_find_each_other_and_follow_an_address_change() {
    let a = Netns::new("ua");
    let b = Netns::new("ub");
    veth(&a, "un0", &[], &b, "un1", &[]);
    // The kernel ignores RAs when forwarding is on (accept_ra 1): a raw socket still gets them.
    sysctl(&a, "net.ipv6.conf.all.forwarding=1");

    // Started while DAD still runs: the first sends fail and are retried.
    let mut sa = Speaker::start(&a, "un0", fast());
    let mut sb = Speaker::start(&b, "un1", fast());

    let a_ll = ip_link_local(&a, "un0");
    let b_ll = ip_link_local(&b, "un1");
    let pa = sa.wait_peer(10, |_| true);
    let pb = sb.wait_peer(10, |_| true);
    assert_eq!(
        pa,
        PeerLinkLocal {
            addr: b_ll,
            ifindex: ip_ifindex(&a, "un0")
        }
    );
    assert_eq!(
        pb,
        PeerLinkLocal {
            addr: a_ll,
            ifindex: ip_ifindex(&b, "un1")
        }
    );
    assert_eq!(
        pa.socket_addr(179).to_string(),
        format!("[{b_ll}%{}]:179", pa.ifindex)
    );

    // The Linux kernel of b (forwarding off) took our RA as a router's: checksum and hop limit
    // are right. Router Lifetime 0: no default route through us.
    wait_for(
        5,
        "a's link-local as a router in b's neighbour table",
        || {
            let n = sh(&["ip", "-n", &b.name, "-6", "neigh", "show", "dev", "un1"]);
            n.lines()
                .any(|l| l.starts_with(&format!("{a_ll} ")) && l.contains(" router"))
                .then_some(())
        },
    );
    let routes = sh(&["ip", "-n", &b.name, "-6", "route", "show", "default"]);
    assert!(
        routes.trim().is_empty(),
        "default route from our RA: {routes}"
    );

    // The helpers agree with iproute2, from a thread inside the namespace.
    let mac = ip_mac(&a, "un0");
    let idx = ip_ifindex(&a, "un0");
    let (ll, index, m) = in_ns(&a, || {
        (
            unnumbered::link_local_of("un0").unwrap(),
            unnumbered::ifindex("un0").unwrap(),
            unnumbered::mac_of("un0").unwrap(),
        )
    });
    assert_eq!((ll, index, m), (Some(a_ll), idx, Some(mac)));
    let err = in_ns(&a, || {
        unnumbered::link_local_of("nope0").unwrap_err().to_string()
    });
    assert!(err.contains("nope0"), "{err}");

    // b's address changes: a publishes the new one.
    let new_ll: Ipv6Addr = "fe80::beef".parse().unwrap();
    sh(&[
        "ip",
        "-n",
        &b.name,
        "-6",
        "addr",
        "add",
        "fe80::beef/64",
        "dev",
        "un1",
        "nodad",
    ]);
    sh(&[
        "ip",
        "-n",
        &b.name,
        "-6",
        "addr",
        "del",
        &format!("{b_ll}/64"),
        "dev",
        "un1",
    ]);
    let moved = sa.wait_peer(10, |p| p.addr == new_ll);
    assert_eq!(moved.ifindex, idx);

    assert_eq!(sa.stop(), Ok(()));
    assert_eq!(sb.stop(), Ok(()));
}

#[test]
fn a_solicitation_is_answered_at_once() {
    let a = Netns::new("sa");
    let b = Netns::new("sb");
    veth(&a, "so0", &[], &b, "so1", &[]);
    let a_ll = ip_link_local(&a, "so0");
    ip_link_local(&b, "so1");
    let slow = RaConfig {
        interval: Duration::from_secs(60),
        ..RaConfig::default()
    };
    let mut sa = Speaker::start(&a, "so0", slow);
    // Past a's first RA (nobody listened) and the 3 s rate limit on solicited RAs.
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(sa.peer(), None);
    let started = Instant::now();
    let mut sb = Speaker::start(&b, "so1", slow);
    // b's solicitation makes a answer long before its next unsolicited RA (60 s).
    let pb = sb.wait_peer(5, |_| true);
    assert_eq!(pb.addr, a_ll);
    assert!(started.elapsed() < Duration::from_secs(5));
    // And b's first RA reached a.
    let pa = sa.wait_peer(5, |_| true);
    assert_eq!(pa.addr, ip_link_local(&b, "so1"));
}

#[test]
fn a_missing_interface_is_an_error_naming_it() {
    let (tx, _rx) = watch::channel(None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(unnumbered::run("nosuchif0".into(), RaConfig::default(), tx))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nosuchif0"), "{err}");
    assert!(err.contains("interface index"), "{err}");
}

const ZEBRA: &str = "/usr/lib/frr/zebra";

/// FRR's zebra in a namespace, sending RAs on `ifname` every 3 s.
struct Zebra {
    _proc: Proc,
    dir: Scratch,
}

impl Zebra {
    fn start(ns: &Netns, ifname: &str) -> Zebra {
        assert!(
            Path::new(ZEBRA).exists(),
            "FRR's zebra not found at {ZEBRA}: apt-get install --no-install-recommends frr"
        );
        let dir = Scratch::new("zebra");
        let conf = dir.0.join("zebra.conf");
        std::fs::write(
            &conf,
            format!(
                "hostname zebra\n!\ninterface {ifname}\n ipv6 nd ra-interval 3\n no ipv6 nd suppress-ra\n!\n"
            ),
        )
        .unwrap();
        let d = dir.0.display().to_string();
        let mut cmd = ns.command(ZEBRA);
        // zebra has no -S: it drops to the frr user, so its directory is mode 777 (Scratch).
        cmd.args(["-u", "frr", "-g", "frr", "-P", "0"])
            .args(["-f", &conf.display().to_string()])
            .args(["-i", &format!("{d}/zebra.pid")])
            .args(["-z", &format!("{d}/zserv.api")])
            .args(["--vty_socket", &d])
            .args(["--log", &format!("file:{d}/zebra.log")]);
        let proc = Proc::spawn(cmd, "zebra", &dir.0.join("stdout.log"));
        let z = Zebra { _proc: proc, dir };
        wait_for(15, "zebra's vty", || {
            z.try_vtysh(&format!("show interface {ifname} json"))
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                .filter(|v| v.get(ifname).is_some())
                .map(|_| ())
        });
        z
    }

    fn try_vtysh(&self, cmd: &str) -> Option<String> {
        let out = std::process::Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir.0)
            .args(["-c", cmd])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn log(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.0.join("zebra.log")).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(self.dir.0.join("stdout.log")).unwrap_or_default());
        s
    }

    /// The neighbours zebra learned on `ifname` from RAs: what it hands bgpd for
    /// `neighbor IF interface`.
    fn learned(&self, ifname: &str) -> Vec<String> {
        self.try_vtysh(&format!("show interface {ifname} json"))
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| v[ifname]["neighborIpAddresses"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    }
}

#[test]
fn zebra_and_our_speaker_learn_each_other() {
    let z = Netns::new("uz");
    let p = Netns::new("up");
    veth(&z, "zr0", &[], &p, "pr0", &[]);
    let zebra = Zebra::start(&z, "zr0");
    let zebra_ll = ip_link_local(&z, "zr0");

    // FRR's own defaults (10 s interval); our first RA and solicitation go out at once.
    let mut us = Speaker::start(&p, "pr0", RaConfig::default());
    let our_ll = ip_link_local(&p, "pr0");

    let found = us.wait_peer(15, |_| true);
    assert_eq!(
        found,
        PeerLinkLocal {
            addr: zebra_ll,
            ifindex: ip_ifindex(&p, "pr0")
        }
    );

    let want = format!("{our_ll}/128");
    let learned = wait_for(15, "zebra to learn our link-local address", || {
        let l = zebra.learned("zr0");
        l.contains(&want).then_some(l)
    });
    assert_eq!(learned, vec![want], "zebra log:\n{}", zebra.log());

    // Our Cur Hop Limit, Reachable Time and Retrans Timer are zebra's: no mismatch warning.
    let log = zebra.log();
    assert!(
        !log.contains("doesn't agree") && !log.contains("Invalid hoplimit"),
        "zebra complained about our RAs:\n{log}"
    );
    assert_eq!(us.stop(), Ok(()));
}

/// Sends `msg` to ff02::1 on `ifname` from a raw ICMPv6 socket in `ns`, with `hops` as the
/// hop limit and, when given, `source` as the source address.
fn send_raw(ns: &Netns, ifname: &str, msg: Vec<u8>, hops: u32, source: Option<Ipv6Addr>) {
    let ifname = ifname.to_string();
    in_ns(ns, move || {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        let index = unnumbered::ifindex(&ifname).unwrap();
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)).unwrap();
        s.bind_device(Some(ifname.as_bytes())).unwrap();
        s.set_multicast_if_v6(index).unwrap();
        s.set_multicast_hops_v6(hops).unwrap();
        if let Some(src) = source {
            s.bind(&SockAddr::from(std::net::SocketAddrV6::new(src, 0, 0, 0)))
                .unwrap();
        }
        let to = std::net::SocketAddrV6::new(unnumbered::ALL_NODES, 0, 0, index);
        s.send_to(&msg, &SockAddr::from(to)).unwrap();
    });
}

#[test]
fn invalid_advertisements_are_ignored() {
    let a = Netns::new("ia");
    let b = Netns::new("ib");
    veth(&a, "iv0", &[], &b, "iv1", &["fd00:99::2/64"]);
    ip_link_local(&a, "iv0");
    let b_ll = ip_link_local(&b, "iv1");
    let global: Ipv6Addr = "fd00:99::2".parse().unwrap();
    let mut sa = Speaker::start(&a, "iv0", fast());
    // The speaker's socket is open long before this.
    std::thread::sleep(Duration::from_millis(500));

    let ra = unnumbered::router_advert(0, None);
    let mut code_1 = ra.clone();
    code_1[1] = 1;
    let mut zero_length_option = ra.clone();
    zero_length_option.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    for _ in 0..3 {
        // Hop limit 64: could have crossed a router.
        send_raw(&b, "iv1", ra.clone(), 64, None);
        // Not from a link-local address.
        send_raw(&b, "iv1", ra.clone(), 255, Some(global));
        // Malformed.
        send_raw(&b, "iv1", code_1.clone(), 255, None);
        send_raw(&b, "iv1", zero_length_option.clone(), 255, None);
        std::thread::sleep(Duration::from_millis(300));
    }
    sa.check_running();
    assert_eq!(sa.peer(), None, "an invalid RA was taken");

    // A valid one, hand-made the same way, is taken.
    send_raw(&b, "iv1", ra, 255, None);
    let p = sa.wait_peer(5, |_| true);
    assert_eq!(p.addr, b_ll);
}

#[test]
fn a_deleted_interface_ends_the_speaker_with_an_error() {
    let a = Netns::new("da");
    let b = Netns::new("db");
    veth(&a, "dl0", &[], &b, "dl1", &[]);
    ip_link_local(&a, "dl0");
    let mut sa = Speaker::start(&a, "dl0", fast());
    // Deleting dl0 deletes its veth peer dl1 too, which ends b's speaker as well.
    let _sb = Speaker::start(&b, "dl1", fast());
    sa.wait_peer(10, |_| true);
    sh(&["ip", "-n", &a.name, "link", "del", "dl0"]);
    let thread = sa.thread.take().unwrap();
    wait_for(5, "the speaker to stop", || {
        thread.is_finished().then_some(())
    });
    let err = thread.join().unwrap().unwrap_err();
    assert!(err.contains("dl0") && err.contains("deleted"), "{err}");
}
