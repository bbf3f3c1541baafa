//! OpenPERouter's layouts (`dataplane::layout`: VTEP, L3VNI, L2VNI, L3Passthrough) applied by
//! `NetlinkDataplane` in a kernel with VRF: builds `dataplane/examples/apply_layout.rs`, then
//! `vm/run.sh vm/tests/layouts.sh <binary>` applies the sample node layout twice into fresh
//! `perouter`/`host` namespaces and checks every object against the reference with `ip -d -j`
//! (VRF table, masters, VXLAN id/local/port/learning, MTUs, addresses, anycast MAC, no VRF
//! default route, second apply = 0 writes).
//!
//! Needs qemu-system-x86, linux-image-amd64, busybox-static, cpio and jq: `vm/install.sh` (as
//! root). Without them this test fails (it never skips). ~15–20 s for the VM plus the example's
//! build (a few seconds when the crate is already built); `VM_TIMEOUT` bounds the VM (240 s here
//! unless set).

#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Printed by vm/tests/layouts.sh as its last line when every check passed.
const MARKER: &str = "LAYOUTS OK";

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

/// Builds the example with cargo and returns its path (from cargo's JSON messages, so a custom
/// `CARGO_TARGET_DIR` is honoured).
fn build_apply_layout(root: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let out = Command::new(cargo)
        .args([
            "build",
            "-p",
            "dataplane",
            "--example",
            "apply_layout",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p dataplane --example apply_layout failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "cargo build --example apply_layout took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "apply_layout")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no executable for the apply_layout example");
    for hidden in ["/tmp", "/run", "/var/tmp"] {
        assert!(
            !exe.starts_with(hidden),
            "{} is under {hidden}, which the VM does not share: use a target dir elsewhere",
            exe.display()
        );
    }
    exe
}

#[test]
fn openperouter_layouts_applied_and_checked_in_vm() {
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
    assert!(
        on_path("jq"),
        "jq is not installed: run vm/install.sh (as root) to install the VM harness's packages"
    );

    let exe = build_apply_layout(&root);

    let started = Instant::now();
    let mut cmd = Command::new(root.join("vm/run.sh"));
    cmd.arg(root.join("vm/tests/layouts.sh"))
        .arg(&exe)
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
        "vm/run.sh vm/tests/layouts.sh failed{hint}; output above"
    );
    assert!(
        stdout.lines().any(|l| l.trim_end() == MARKER),
        "the guest script exited 0 but did not print {MARKER:?}; output above"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_end() == "SECOND_APPLY_WRITES=0"),
        "the second apply of the layout wrote to the kernel; output above"
    );
}
