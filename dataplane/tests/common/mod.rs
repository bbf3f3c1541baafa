//! Shared by the netlink tests: a network namespace of our own, `ip` helpers that read its
//! state as JSON, and a runner that executes a future inside it.

#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::process::Command;

use nix::sched::{setns, CloneFlags};
use serde_json::Value;

/// A named network namespace, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("dpt-{}-{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("prerequisite: the `ip` command (iproute2) must be installed");
        assert!(
            out.status.success(),
            "prerequisite: `ip netns add {name}` failed (tests need root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ns = Netns(name);
        ns.ip(&["link", "set", "lo", "up"]);
        ns.sysctl("net.ipv6.conf.default.accept_dad=0");
        ns.sysctl("net.ipv6.conf.all.accept_dad=0");
        ns
    }

    pub fn sysctl(&self, kv: &str) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, "sysctl", "-qw", kv])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sysctl {kv}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `ip -n <ns> <args>`, panicking with stderr on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip -n {} {}: {}",
            self.0,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> Vec<Value> {
        let mut full = vec!["-d", "-j"];
        full.extend_from_slice(args);
        let text = self.ip(&full);
        if text.trim().is_empty() {
            return Vec::new();
        }
        serde_json::from_str::<Vec<Value>>(&text).unwrap()
    }

    pub fn link(&self, name: &str) -> Value {
        self.json(&["link", "show", "dev", name])
            .into_iter()
            .next()
            .unwrap()
    }

    pub fn routes(&self, table: &str) -> Vec<Value> {
        let mut v = self.json(&["-4", "route", "show", "table", table]);
        v.extend(self.json(&["-6", "route", "show", "table", table]));
        v
    }

    /// Runs `f` on a thread inside this namespace, on a current-thread tokio runtime.
    pub fn run<F, Fut, T>(&self, f: F) -> T
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
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}
