//! Kernel programming rates through the dataplane (issue 4), against the raw-netlink floor of
//! `performance.md` §1.7 measured the same way in the same run.
//!
//! Every iteration runs in a fresh network namespace (`ip netns add`, veth `v0` 198.18.0.1/30
//! with peer `v1`, VXLAN `vx0` VNI 100), on a thread that `setns`es into it; only the write
//! itself is timed (namespace setup and teardown are not):
//! * `routes-100k/dataplane-add`: `NetlinkDataplane::apply` of 100 000 IPv4 /24 via
//!   198.18.0.2 dev v0 into table 100 (dump, plan, batched `RTM_NEWROUTE`);
//! * `routes-100k/dataplane-replace`: the same routes already installed, every next hop
//!   changed (100 000 `NLM_F_REPLACE`);
//! * `routes-100k/dataplane-observe` and `plan-replace`: the two non-write phases of the
//!   replace apply (dump + parse of the 100 000 installed routes; the plan against them);
//! * `routes-100k/raw-add` and `raw-replace`: the §1.7 floor — pre-encoded `RTM_NEWROUTE`
//!   in 64 kB `sendmsg` batches, no ACK but on the very last request;
//! * `fdb-100k/dataplane`: 100 000 VXLAN FDB entries (`NTF_SELF`, ext-learned, dst VTEP);
//! * `fdb-100k/bridge-batch`: the §1.7 FDB floor, `bridge -batch` of
//!   `fdb add MAC dev vx0 dst IP self permanent` (process start included, as in §1.7).
//!
//! With `NETLINK_BENCH_1M=1`, 1 000 000 routes are also applied once (dataplane and raw floor)
//! outside criterion and the rates printed.
//!
//! Needs root and iproute2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, SamplingMode, Throughput};
use dataplane::netlink::NetlinkDataplane;
use dataplane::{Dataplane, DesiredState, Fdb, MacAddr, NextHop, Route};
use ipnet::{IpNet, Ipv4Net};
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{
    bind, recv, send, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};

const TABLE: u32 = 100;
const N: u32 = 100_000;

static SERIAL: AtomicU32 = AtomicU32::new(0);

struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!(
            "nlbench-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("iproute2 is required");
        assert!(
            out.status.success(),
            "ip netns add (needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ns = Netns(name);
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
        ns.ip(&["link", "set", "v0", "up"]);
        ns.ip(&["link", "set", "v1", "up"]);
        ns.ip(&["addr", "add", "198.18.0.1/30", "dev", "v0"]);
        ns.ip(&[
            "link",
            "add",
            "vx0",
            "type",
            "vxlan",
            "id",
            "100",
            "local",
            "198.18.0.1",
            "dstport",
            "4789",
            "nolearning",
        ]);
        ns.ip(&["link", "set", "vx0", "up"]);
        ns
    }

    fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn ifindex(&self, dev: &str) -> u32 {
        let out = self.ip(&["-o", "link", "show", "dev", dev]);
        out.split(':').next().unwrap().trim().parse().unwrap()
    }

    fn count_routes(&self) -> usize {
        self.ip(&["-4", "route", "show", "table", &TABLE.to_string()])
            .lines()
            .count()
    }

    fn count_fdb(&self) -> usize {
        let out = Command::new("bridge")
            .args(["-n", &self.0, "fdb", "show", "dev", "vx0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(" dst 198.18."))
            .count()
    }

    fn run<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        let path = format!("/run/netns/{}", self.0);
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap();
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(f())
        })
        .join()
        .unwrap()
    }

    /// Runs a blocking `f` on a thread inside this namespace.
    fn run_blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.0);
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap();
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn dst(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 + (i << 8))
}

fn routes(n: u32, gw: Ipv4Addr) -> DesiredState {
    let mut d = DesiredState::new();
    for i in 0..n {
        d.add_route(Route::unicast(
            TABLE,
            IpNet::V4(Ipv4Net::new(dst(i), 24).unwrap()),
            vec![NextHop::via(IpAddr::V4(gw), Some("v0".into()))],
        ));
    }
    d
}

fn mac(i: u32) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x02, 0x42, b[0], b[1], b[2], b[3]])
}

fn vtep(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 1 + (i % 200) as u8, 1)
}

fn fdbs(n: u32) -> DesiredState {
    let mut d = DesiredState::new();
    for i in 0..n {
        d.add_fdb(Fdb::unicast("vx0", mac(i), IpAddr::V4(vtep(i))));
    }
    d
}

/// Applies `d` through the dataplane in `ns`, timing only `apply`.
fn apply(ns: &Netns, d: DesiredState) -> (Duration, dataplane::ApplyReport) {
    ns.run(move || async move {
        let mut dp = NetlinkDataplane::new().unwrap();
        let start = Instant::now();
        let r = dp.apply(&d).await.unwrap();
        (start.elapsed(), r)
    })
}

/// Encodes `n` `RTM_NEWROUTE` requests (10.x.y.0/24 via `gw` dev `oif`, table 100) and sends
/// them in 64 kB batches, ACK only on the last request; the §1.7 method.
fn raw_routes(ns: &Netns, n: u32, gw: Ipv4Addr, replace: bool) -> Duration {
    let oif = ns.ifindex("v0");
    ns.run_blocking(move || {
        const NLM_F_REQUEST: u16 = 1;
        const NLM_F_ACK: u16 = 4;
        const NLM_F_REPLACE: u16 = 0x100;
        const NLM_F_EXCL: u16 = 0x200;
        const NLM_F_CREATE: u16 = 0x400;
        let flags = NLM_F_REQUEST | NLM_F_CREATE | if replace { NLM_F_REPLACE } else { NLM_F_EXCL };
        let mut msgs: Vec<Vec<u8>> = Vec::new();
        let mut buf = Vec::with_capacity(64 * 1024 + 64);
        for i in 0..n {
            let mut m = Vec::with_capacity(60);
            m.extend_from_slice(&60u32.to_ne_bytes());
            m.extend_from_slice(&24u16.to_ne_bytes()); // RTM_NEWROUTE
            let f = if i + 1 == n { flags | NLM_F_ACK } else { flags };
            m.extend_from_slice(&f.to_ne_bytes());
            m.extend_from_slice(&(i + 1).to_ne_bytes());
            m.extend_from_slice(&0u32.to_ne_bytes());
            // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
            m.extend_from_slice(&[2, 24, 0, 0, TABLE as u8, 251, 0, 1]);
            m.extend_from_slice(&0u32.to_ne_bytes());
            let attr = |m: &mut Vec<u8>, kind: u16, v: [u8; 4]| {
                m.extend_from_slice(&8u16.to_ne_bytes());
                m.extend_from_slice(&kind.to_ne_bytes());
                m.extend_from_slice(&v);
            };
            attr(&mut m, 1, dst(i).octets()); // RTA_DST
            attr(&mut m, 5, gw.octets()); // RTA_GATEWAY
            attr(&mut m, 4, oif.to_ne_bytes()); // RTA_OIF
            attr(&mut m, 15, TABLE.to_ne_bytes()); // RTA_TABLE
            if buf.len() + m.len() > 64 * 1024 {
                msgs.push(std::mem::take(&mut buf));
            }
            buf.extend_from_slice(&m);
        }
        msgs.push(buf);
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .unwrap();
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).unwrap();
        let start = Instant::now();
        for m in &msgs {
            assert_eq!(send(fd.as_raw_fd(), m, MsgFlags::empty()).unwrap(), m.len());
        }
        // Errors (none expected) and the final ACK.
        let mut rbuf = vec![0u8; 65536];
        loop {
            let k = recv(fd.as_raw_fd(), &mut rbuf, MsgFlags::empty()).unwrap();
            assert!(k >= 36);
            let code = i32::from_ne_bytes(rbuf[16..20].try_into().unwrap());
            let seq = u32::from_ne_bytes(rbuf[28..32].try_into().unwrap());
            assert_eq!(code, 0, "raw route {seq} failed");
            if seq == n {
                break;
            }
        }
        start.elapsed()
    })
}

/// `bridge -batch` of `fdb add … self permanent`, the §1.7 FDB floor.
fn bridge_batch(ns: &Netns, n: u32) -> Duration {
    let mut text = String::with_capacity(n as usize * 64);
    for i in 0..n {
        let m = mac(i).0;
        text.push_str(&format!(
            "fdb add {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} dev vx0 dst {} self permanent\n",
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            vtep(i)
        ));
    }
    let start = Instant::now();
    let mut child = Command::new("bridge")
        .args(["-n", &ns.0, "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    start.elapsed()
}

const GW: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("routes-100k");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(u64::from(N)));
    let desired = routes(N, GW);
    g.bench_function("dataplane-add", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let ns = Netns::new();
                let (t, r) = apply(&ns, desired.clone());
                assert_eq!(r.routes.created, N as usize);
                assert_eq!(ns.count_routes(), N as usize);
                total += t;
            }
            total
        })
    });
    let mut moved = DesiredState::new();
    for r in desired.routes.values() {
        let mut r = r.clone();
        r.next_hops = vec![NextHop::dev("v0")];
        moved.add_route(r);
    }
    g.bench_function("dataplane-replace", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let ns = Netns::new();
                apply(&ns, desired.clone());
                let (t, r) = apply(&ns, moved.clone());
                assert_eq!(r.routes.updated, N as usize);
                total += t;
            }
            total
        })
    });
    // The two phases of an apply that are not writes, with the 100 000 routes installed.
    g.bench_function("dataplane-observe", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let ns = Netns::new();
                apply(&ns, desired.clone());
                total += ns.run(|| async {
                    let mut dp = NetlinkDataplane::new().unwrap();
                    let start = Instant::now();
                    let o = dp.current().await.unwrap();
                    assert_eq!(o.routes.len(), N as usize);
                    start.elapsed()
                });
            }
            total
        })
    });
    let observed = {
        let ns = Netns::new();
        apply(&ns, desired.clone());
        ns.run(|| async { NetlinkDataplane::new().unwrap().current().await.unwrap() })
    };
    g.bench_function("plan-replace", |b| {
        b.iter(|| dataplane::plan::plan(&moved, &observed).unwrap())
    });
    g.bench_function("raw-add", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let ns = Netns::new();
                total += raw_routes(&ns, N, GW, false);
                assert_eq!(ns.count_routes(), N as usize);
            }
            total
        })
    });
    g.bench_function("raw-replace", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let ns = Netns::new();
                raw_routes(&ns, N, GW, false);
                ns.ip(&["addr", "add", "198.18.0.5/30", "dev", "v0"]);
                total += raw_routes(&ns, N, Ipv4Addr::new(198, 18, 0, 6), true);
            }
            total
        })
    });
    g.finish();

    let mut g = c.benchmark_group("fdb-100k");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(u64::from(N)));
    let desired = fdbs(N);
    g.bench_function("dataplane", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let ns = Netns::new();
                let (t, r) = apply(&ns, desired.clone());
                assert_eq!(r.fdb.created, N as usize);
                assert_eq!(ns.count_fdb(), N as usize);
                total += t;
            }
            total
        })
    });
    g.bench_function("bridge-batch", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let ns = Netns::new();
                total += bridge_batch(&ns, N);
            }
            total
        })
    });
    g.finish();
}

/// 1M routes once (dataplane, then raw floor), each in a fresh namespace; prints the rates.
fn million() {
    const M: u32 = 1_000_000;
    let rate = |t: Duration| f64::from(M) / t.as_secs_f64();
    let ns = Netns::new();
    let (t, r) = apply(&ns, routes(M, GW));
    assert_eq!(r.routes.created, M as usize);
    assert_eq!(ns.count_routes(), M as usize);
    println!(
        "routes-1M/dataplane-add: {:.2} s, {:.0} routes/s",
        t.as_secs_f64(),
        rate(t)
    );
    let ns = Netns::new();
    let t = raw_routes(&ns, M, GW, false);
    println!(
        "routes-1M/raw-add: {:.2} s, {:.0} routes/s",
        t.as_secs_f64(),
        rate(t)
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    if std::env::var_os("NETLINK_BENCH_1M").is_some() {
        million();
    }
    Criterion::default().configure_from_args().final_summary();
}
