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

use conformance::vm;
use std::process::Command;
use std::time::Instant;

/// Printed by vm/tests/layouts.sh as its last line when every check passed.
const MARKER: &str = "LAYOUTS OK";

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
    // The guest hides the host's /tmp, /run and /var/tmp, except the repository itself, which
    // vm/run.sh binds back at its path.
    if !exe.starts_with(root) {
        for hidden in ["/tmp", "/run", "/var/tmp"] {
            assert!(
                !exe.starts_with(hidden),
                "{} is under {hidden}, which the VM does not share: use a target dir elsewhere",
                exe.display()
            );
        }
    }
    exe
}

#[test]
fn openperouter_layouts_applied_and_checked_in_vm() {
    vm::require_installed();
    let root = vm::repo_root();
    let exe = build_apply_layout(&root);

    let stdout = vm::run("vm/tests/layouts.sh", &[exe.as_path()]);
    assert!(
        vm::printed(&stdout, MARKER),
        "the guest script exited 0 but did not print {MARKER:?}; output above"
    );
    assert!(
        vm::printed(&stdout, "SECOND_APPLY_WRITES=0"),
        "the second apply of the layout wrote to the kernel; output above"
    );
}
