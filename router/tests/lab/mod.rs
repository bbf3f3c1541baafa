//! A small network-namespace lab for interop tests: namespaces joined by veths, and real
//! processes in them — FRR's bgpd, gobgpd and perouterd — each killed and cleaned up on drop.
//!
//! Needs root, iproute2, FRR (`/usr/lib/frr/bgpd`, `vtysh`) and GoBGP (`gobgpd`, `gobgp`);
//! `.ci/run` installs them. A missing prerequisite fails the test with what to install.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use std::net::{Ipv4Addr, SocketAddr};

use bgp::fsm::FsmConfig;
use bgp::negotiation::SessionPolicy;
use bgp::session::{SessionCommand, SessionConfig, SessionEvent};
use bgp::wire::{Capability, Family, Open};
use serde_json::Value;
use tokio::sync::mpsc;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs a command, panicking with its output when it fails.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fails the test with an install hint unless we are root and `ip` exists.
pub fn require_root() {
    let uid = sh(&["id", "-u"]);
    assert_eq!(
        uid.trim(),
        "0",
        "network-namespace tests need root (they create namespaces and veths)"
    );
    assert!(
        Command::new("ip").arg("-V").output().is_ok(),
        "`ip` not found: apt-get install --no-install-recommends iproute2"
    );
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `secs` with `what`.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < until,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("plab-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // FRR's vtysh and bgpd meet on a socket here.
        sh(&["chmod", "777", dir.to_str().unwrap()]);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("PLAB_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A network namespace, deleted (with every process in it) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        require_root();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("plab{}{tag}{n}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        sh(&["ip", "netns", "add", &name]);
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Netns { name }
    }

    /// `ip netns exec NS args…`, checked.
    pub fn exec(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// A command to run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Adds an address to an interface.
    pub fn addr(&self, ifname: &str, cidr: &str) {
        let mut args = vec!["ip", "-n", &self.name];
        if cidr.contains(':') {
            args.push("-6");
        }
        args.extend_from_slice(&["addr", "add", cidr, "dev", ifname]);
        if cidr.contains(':') {
            args.push("nodad");
        }
        sh(&args);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).output();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Joins `a` and `b` with a veth pair named `a_if` / `b_if`, both up, with addresses.
pub fn veth(a: &Netns, a_if: &str, a_addrs: &[&str], b: &Netns, b_if: &str, b_addrs: &[&str]) {
    sh(&[
        "ip", "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
        &b.name,
    ]);
    for (ns, ifname, addrs) in [(a, a_if, a_addrs), (b, b_if, b_addrs)] {
        for cidr in addrs {
            ns.addr(ifname, cidr);
        }
        sh(&["ip", "-n", &ns.name, "link", "set", ifname, "up"]);
    }
}

/// The usual topology: ToR ←veth→ router (perouterd) ←veth→ host, dual-stack:
/// 192.168.11.2/.3 and fd00:11::2/::3 on the ToR link, 192.169.10.1/.2 and fd00:10::1/::2 on
/// the host link.
pub struct Topo {
    pub tor: Netns,
    pub router: Netns,
    pub host: Netns,
}

pub fn topo() -> Topo {
    let tor = Netns::new("t");
    let router = Netns::new("r");
    let host = Netns::new("h");
    veth(
        &tor,
        "tor0",
        &["192.168.11.2/24", "fd00:11::2/64"],
        &router,
        "uplink",
        &["192.168.11.3/24", "fd00:11::3/64"],
    );
    veth(
        &router,
        "host0",
        &["192.169.10.1/24", "fd00:10::1/64"],
        &host,
        "eth0",
        &["192.169.10.2/24", "fd00:10::2/64"],
    );
    Topo { tor, router, host }
}

/// A background process, killed on drop.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn spawn(mut cmd: Command, name: &str, log: &Path) -> Proc {
        let file = std::fs::File::create(log).unwrap();
        let err = file.try_clone().unwrap();
        let child = cmd
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child,
            name: name.to_string(),
        }
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends a signal.
    pub fn signal(&self, sig: &str) {
        sh(&["kill", &format!("-{sig}"), &self.child.id().to_string()]);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const BGPD: &str = "/usr/lib/frr/bgpd";

/// FRR's bgpd (without zebra unless started with [`Frr::start_with_zebra`]) in a namespace.
pub struct Frr {
    pub proc: Proc,
    pub dir: Scratch,
    pub zebra: Option<Proc>,
}

pub const ZEBRA: &str = "/usr/lib/frr/zebra";

impl Frr {
    /// Starts bgpd in `ns` with `config` (a bgpd.conf body; logging and defaults are added).
    pub fn start(ns: &Netns, config: &str) -> Frr {
        Frr::launch(ns, config, false)
    }

    /// Starts zebra, then bgpd talking to it (needed for BGP unnumbered: zebra sends and
    /// hears the router advertisements).
    pub fn start_with_zebra(ns: &Netns, config: &str) -> Frr {
        Frr::launch(ns, config, true)
    }

    fn launch(ns: &Netns, config: &str, with_zebra: bool) -> Frr {
        assert!(
            Path::new(BGPD).exists(),
            "FRR's bgpd not found at {BGPD}: apt-get install --no-install-recommends frr"
        );
        let dir = Scratch::new("frr");
        let conf = dir.0.join("bgpd.conf");
        std::fs::write(
            &conf,
            format!(
                "frr defaults datacenter\nhostname tor\nlog file {}/bgpd.log\n!\n{config}\n",
                dir.0.display()
            ),
        )
        .unwrap();
        let d = dir.0.display().to_string();
        let zebra = with_zebra.then(|| {
            assert!(
                Path::new(ZEBRA).exists(),
                "FRR's zebra not found at {ZEBRA}: apt-get install --no-install-recommends frr"
            );
            let zconf = dir.0.join("zebra.conf");
            std::fs::write(&zconf, "hostname zebra\n").unwrap();
            let mut z = ns.command(ZEBRA);
            // zebra has no -S: it drops to the frr user, hence the 777 directory.
            z.args(["-u", "frr", "-g", "frr", "-P", "0"])
                .args(["-f", &zconf.display().to_string()])
                .args(["-i", &format!("{d}/zebra.pid")])
                .args(["-z", &format!("{d}/zserv.api")])
                .args(["--vty_socket", &d])
                .args(["--log", &format!("file:{d}/zebra.log")]);
            let p = Proc::spawn(z, "zebra", &dir.0.join("zebra.stdout"));
            wait_for(15, "zebra's API socket", || {
                dir.0.join("zserv.api").exists().then_some(())
            });
            p
        });
        let mut cmd = ns.command(BGPD);
        cmd.args(["-S", "-P", "0"]);
        if with_zebra {
            cmd.args(["-z", &format!("{d}/zserv.api")]);
        } else {
            cmd.arg("-Z");
        }
        cmd.arg("--vty_socket")
            .arg(&dir.0)
            .arg("-i")
            .arg(dir.0.join("bgpd.pid"))
            .arg("-f")
            .arg(&conf);
        let proc = Proc::spawn(cmd, "bgpd", &dir.0.join("stdout.log"));
        let frr = Frr { proc, dir, zebra };
        wait_for(10, "bgpd's vty", || {
            frr.try_vtysh("show version")
                .filter(|s| s.contains("FRR"))
                .map(|_| ())
        });
        frr
    }

    pub fn try_vtysh(&self, cmd: &str) -> Option<String> {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir.0)
            .arg("-c")
            .arg(cmd)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn vtysh(&self, cmd: &str) -> String {
        self.try_vtysh(cmd)
            .unwrap_or_else(|| panic!("vtysh -c {cmd:?} failed; bgpd log:\n{}", self.log()))
    }

    /// `cmd` (which must end in `json`) parsed.
    pub fn json(&self, cmd: &str) -> Value {
        serde_json::from_str(&self.vtysh(cmd)).unwrap_or(Value::Null)
    }

    /// Runs configuration commands.
    pub fn configure(&self, lines: &[&str]) {
        let mut c = Command::new("vtysh");
        c.arg("--vty_socket")
            .arg(&self.dir.0)
            .args(["-c", "configure terminal"]);
        for l in lines {
            c.args(["-c", l]);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "vtysh config {lines:?} failed");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("bgpd.log")).unwrap_or_default()
    }

    /// The state of `neighbor` as FRR reports it.
    pub fn neighbor_state(&self, neighbor: &str) -> String {
        let v = self.json(&format!("show bgp neighbors {neighbor} json"));
        v[neighbor]["bgpState"].as_str().unwrap_or("").to_string()
    }

    /// Waits until FRR reports `neighbor` Established.
    pub fn wait_established(&self, neighbor: &str, secs: u64) {
        wait_for(secs, &format!("FRR's session with {neighbor}"), || {
            (self.neighbor_state(neighbor) == "Established").then_some(())
        });
    }

    /// FRR's routes of one family (`ipv4 unicast`, `ipv6 unicast`), as JSON `routes`.
    pub fn routes(&self, afi: &str) -> Value {
        self.json(&format!("show bgp {afi} json"))["routes"].clone()
    }
}

/// gobgpd in a namespace.
pub struct Gobgp {
    pub proc: Proc,
    pub dir: Scratch,
    pub ns: String,
    pub api: u16,
}

impl Gobgp {
    /// Starts gobgpd in `ns` with a TOML configuration.
    pub fn start(ns: &Netns, toml: &str) -> Gobgp {
        Gobgp::start_with_api(ns, toml, 50051)
    }

    /// Starts gobgpd with its gRPC API on 127.0.0.1:`api` inside `ns` (several gobgpd in one
    /// namespace need distinct ports).
    pub fn start_with_api(ns: &Netns, toml: &str, api: u16) -> Gobgp {
        assert!(
            Command::new("gobgpd").arg("--version").output().is_ok(),
            "gobgpd not found: apt-get install --no-install-recommends gobgpd"
        );
        let dir = Scratch::new("gobgp");
        let conf = dir.0.join("gobgpd.toml");
        std::fs::write(&conf, toml).unwrap();
        let mut cmd = ns.command("gobgpd");
        cmd.arg("-f")
            .arg(&conf)
            .args(["-t", "toml", "--api-hosts", &format!("127.0.0.1:{api}")]);
        let proc = Proc::spawn(cmd, "gobgpd", &dir.0.join("gobgpd.log"));
        let g = Gobgp {
            proc,
            dir,
            ns: ns.name.clone(),
            api,
        };
        // Generous: under CI load (fifty gobgpd starting next to a TCG guest) 10 s was not enough.
        wait_for(30, "gobgpd's API", || g.try_cli(&["global"]).map(|_| ()));
        g
    }

    pub fn try_cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "gobgp", "-u", "127.0.0.1", "-p"])
            .arg(self.api.to_string())
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("gobgp {args:?} failed; log:\n{}", self.log()))
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut v: Vec<&str> = args.to_vec();
        v.push("-j");
        serde_json::from_str(&self.cli(&v)).unwrap_or(Value::Null)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("gobgpd.log")).unwrap_or_default()
    }

    /// Waits until GoBGP reports `neighbor` established.
    pub fn wait_established(&self, neighbor: &str, secs: u64) {
        wait_for(secs, &format!("GoBGP's session with {neighbor}"), || {
            let v = self.json(&["neighbor", neighbor]);
            (v["state"]["session_state"].as_i64() == Some(6)
                || v["state"]["session_state"].as_str() == Some("established"))
            .then_some(())
        });
    }

    /// Prefixes in GoBGP's global RIB of `family` (`ipv4`, `ipv6`), with their first path.
    pub fn rib(&self, family: &str) -> serde_json::Map<String, Value> {
        match self.json(&["global", "rib", "-a", family]) {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }
}

/// GoBGP's `[global.config]`: AS `asn`, router ID `router_id`, not listening (it dials).
pub fn gobgp_global(asn: u32, router_id: &str) -> String {
    format!("[global.config]\n  as = {asn}\n  router-id = \"{router_id}\"\n  port = -1\n")
}

/// One GoBGP neighbour: `addr` in AS `peer_as`, dialled from `local`, hold time 9 s,
/// keepalive 3 s, connect-retry 1 s, carrying `families` (GoBGP's names, `l2vpn-evpn`,
/// `ipv4-unicast`, `l3vpn-ipv4-unicast`…); eBGP multihop with TTL `multihop` when set.
pub fn gobgp_neighbor(
    addr: &str,
    peer_as: u32,
    local: &str,
    families: &[&str],
    multihop: Option<u8>,
) -> String {
    let mut s = format!(
        "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{addr}\"\n    peer-as = {peer_as}\n\
         [neighbors.transport.config]\n    local-address = \"{local}\"\n\
         [neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n    connect-retry = 1\n"
    );
    if let Some(ttl) = multihop {
        s.push_str(&format!(
            "[neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = {ttl}\n"
        ));
    }
    for f in families {
        s.push_str(&format!(
            "[[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = \"{f}\"\n"
        ));
    }
    s
}

/// perouterd in a namespace, with its API socket.
pub struct Perouterd {
    pub proc: Proc,
    pub dir: Scratch,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub ns: String,
    /// Extra command-line arguments (kept for `start_again`).
    pub extra: Vec<String>,
}

impl Perouterd {
    pub fn start(ns: &Netns, yaml: &str) -> Perouterd {
        Perouterd::start_with_args(ns, yaml, &[])
    }

    /// Starts perouterd with extra command-line arguments.
    pub fn start_with_args(ns: &Netns, yaml: &str, extra: &[&str]) -> Perouterd {
        let dir = Scratch::new("perouterd");
        let config = dir.0.join("perouterd.yaml");
        std::fs::write(&config, yaml).unwrap();
        let socket = dir.0.join("api.sock");
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let proc = Perouterd::spawn(&ns.name, &dir.0, &config, &socket, &extra);
        let mut p = Perouterd {
            proc,
            dir,
            config,
            socket,
            ns: ns.name.clone(),
            extra,
        };
        p.wait_api();
        p
    }

    fn spawn(ns: &str, dir: &Path, config: &Path, socket: &Path, extra: &[String]) -> Proc {
        // Tests reload explicitly unless they ask for the file watcher (PLAB_WATCH_SECONDS).
        fn watch_seconds() -> u64 {
            std::env::var("PLAB_WATCH_SECONDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        }
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_perouterd")])
            .arg("--config")
            .arg(config)
            .arg("--api-socket")
            .arg(socket)
            .arg("--state-dir")
            .arg(dir)
            .args(["--watch-seconds", &watch_seconds().to_string()])
            .args(["--log-level", "debug"])
            .args(extra);
        // Append: a restarted daemon keeps the earlier log.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("perouterd.log"))
            .unwrap();
        let err = log.try_clone().unwrap();
        let child = cmd
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start perouterd: {e}"));
        Proc {
            child,
            name: "perouterd".into(),
        }
    }

    fn wait_api(&mut self) {
        for _ in 0..100 {
            if self.try_ctl(&["show", "bgp", "summary"]).is_some() {
                return;
            }
            assert!(self.proc.running(), "perouterd exited:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("perouterd's API did not come up in 10 s:\n{}", self.log());
    }

    /// SIGTERM, then waits for the process to exit.
    pub fn stop(&mut self) {
        self.proc.signal("TERM");
        wait_for(10, "perouterd to exit", || {
            (!self.proc.running()).then_some(())
        });
    }

    /// Starts the daemon again with the same files (configuration, state directory).
    pub fn start_again(&mut self) {
        self.proc = Perouterd::spawn(
            &self.ns,
            &self.dir.0,
            &self.config,
            &self.socket,
            &self.extra,
        );
        self.wait_api();
    }

    pub fn try_ctl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new(env!("CARGO_BIN_EXE_perouterctl"))
            .arg("--api-socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn ctl(&self, args: &[&str]) -> String {
        self.try_ctl(args)
            .unwrap_or_else(|| panic!("perouterctl {args:?} failed; log:\n{}", self.log()))
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut v = vec!["--json"];
        v.extend_from_slice(args);
        serde_json::from_str(&self.ctl(&v)).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("perouterd.log")).unwrap_or_default()
    }

    /// Our view of one neighbour.
    pub fn neighbor(&self, addr: &str) -> Value {
        self.json(&["show", "bgp", "neighbors", addr])
    }

    /// Waits until we report `addr` Established.
    pub fn wait_established(&self, addr: &str, secs: u64) {
        wait_for(secs, &format!("perouterd's session with {addr}"), || {
            (self.neighbor(addr)["summary"]["state"] == "Established").then_some(())
        });
    }

    /// Our routes of `family`.
    pub fn routes(&self, family: &str) -> Vec<Value> {
        match self.json(&["show", "bgp", "routes", "--afi", family]) {
            Value::Array(v) => v,
            _ => vec![],
        }
    }

    /// Rewrites the configuration file.
    pub fn write_config(&self, yaml: &str) {
        std::fs::write(&self.config, yaml).unwrap();
    }
}

/// A scripted BGP speaker (our own session library) run from inside a namespace.
#[derive(Debug, Clone)]
pub struct Speaker {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub peer: SocketAddr,
    pub peer_as: u32,
    pub hold: u16,
    /// Families announced in the OPEN (multiprotocol capabilities).
    pub families: Vec<Family>,
}

impl Speaker {
    /// The host speaker of the usual topology: AS 64515 towards perouterd at 192.169.10.1.
    pub fn host() -> Speaker {
        Speaker {
            asn: 64515,
            router_id: Ipv4Addr::new(10, 0, 0, 200),
            peer: SocketAddr::from((Ipv4Addr::new(192, 169, 10, 1), 179)),
            peer_as: 64514,
            hold: 30,
            families: vec![Family::Ipv4Unicast],
        }
    }
}

/// Runs `script` with a session to `sp.peer` from inside `ns`, on a thread of its own
/// (setns applies to the calling thread) with a current-thread runtime.
pub fn speaker_in<F, Fut>(ns: &str, sp: Speaker, script: F) -> std::thread::JoinHandle<()>
where
    F: FnOnce(mpsc::Sender<SessionCommand>, mpsc::Receiver<SessionEvent>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let cfg = SessionConfig {
                fsm: FsmConfig {
                    local_open: Open::new(
                        sp.asn,
                        sp.hold,
                        sp.router_id,
                        sp.families
                            .iter()
                            .map(|f| Capability::Multiprotocol(f.afi_safi()))
                            .chain([Capability::FourOctetAs(sp.asn)])
                            .collect(),
                    ),
                    peer_as: Some(sp.peer_as),
                    peer_type: None,
                    min_hold_time: 3,
                    keepalive: None,
                    connect_retry: Duration::from_secs(1),
                    idle_hold: Duration::from_secs(1),
                    max_idle_hold: Duration::from_secs(2),
                    open_hold: Duration::from_secs(30),
                    policy: SessionPolicy::default(),
                },
                remote: sp.peer,
                passive: false,
                connect_timeout: Duration::from_secs(2),
                socket: Default::default(),
            };
            let (cmd, cmd_rx) = mpsc::channel(8);
            let (ev_tx, ev) = mpsc::channel(64);
            tokio::spawn(bgp::session::run(cfg, cmd_rx, ev_tx));
            script(cmd, ev).await;
        });
    })
}

/// The next step the test thread asks for, without blocking the runtime's only thread (the
/// session task must keep running meanwhile).
pub async fn step(rx: &std::sync::mpsc::Receiver<&'static str>) -> &'static str {
    loop {
        match rx.try_recv() {
            Ok(s) => return s,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => panic!("the test went away"),
        }
    }
}

pub async fn next<T>(
    ev: &mut mpsc::Receiver<SessionEvent>,
    mut f: impl FnMut(&SessionEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let e = ev.recv().await.expect("session ended");
            if let Some(v) = f(&e) {
                return v;
            }
        }
    })
    .await
    .expect("timed out waiting for a session event")
}
