//! The VM harness works: `vm/run.sh vm/tests/vrf-basics.sh` boots Debian's kernel under qemu
//! (this host's kernel has no VRF and no dummy device), builds a VRF with a table, a dummy
//! enslaved to it, an address and a route in the VRF's table, and checks them with `ip -d -j`.
//!
//! Needs qemu-system-x86, linux-image-amd64, busybox-static and cpio: `vm/install.sh` (as root).
//! Without them this test fails (it never skips). It takes ~15–20 s (one TCG boot), longer on a
//! loaded machine; `VM_TIMEOUT` bounds the VM (240 s here unless set).

#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Printed by vm/tests/vrf-basics.sh as its last line when every check passed.
const MARKER: &str = "VRF-BASICS OK";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("conformance/ has a parent")
        .to_path_buf()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[test]
fn vrf_dummy_and_vrf_table_route_in_vm() {
    let root = repo_root();
    assert!(
        on_path("qemu-system-x86_64"),
        "qemu-system-x86_64 is not installed: run vm/install.sh (as root) to install the VM harness's packages"
    );
    let has_kernel = std::fs::read_dir("/boot")
        .map(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
        })
        .unwrap_or(false);
    assert!(
        has_kernel,
        "no /boot/vmlinuz-* (linux-image-amd64): run vm/install.sh (as root) to install the VM harness's packages"
    );

    let started = Instant::now();
    let mut cmd = Command::new(root.join("vm/run.sh"));
    cmd.arg(root.join("vm/tests/vrf-basics.sh"))
        .current_dir(&root);
    if std::env::var_os("VM_TIMEOUT").is_none() {
        // Below nextest's 300 s kill, so a hung VM reports a timeout rather than being killed.
        cmd.env("VM_TIMEOUT", "240");
    }
    let out = cmd.output().expect("run vm/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    eprintln!("vm/run.sh took {:.1} s", started.elapsed().as_secs_f64());

    let hint = if stderr.contains("vm/install.sh") {
        " (the VM harness is not installed: run vm/install.sh as root)"
    } else {
        ""
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "vm/run.sh vm/tests/vrf-basics.sh failed{hint}; output above"
    );
    assert!(
        stdout.lines().any(|l| l.trim_end() == MARKER),
        "the guest script exited 0 but did not print {MARKER:?}; output above"
    );
}
