//! The VM harness works: `vm/run.sh vm/tests/vrf-basics.sh` boots Debian's kernel under qemu
//! (this host's kernel has no VRF and no dummy device), builds a VRF with a table, a dummy
//! enslaved to it, an address and a route in the VRF's table, and checks them with `ip -d -j`.
//!
//! Needs qemu-system-x86, linux-image-amd64, busybox-static and cpio: `vm/install.sh` (as root).
//! Without them this test fails (it never skips). It takes ~15–20 s (one TCG boot), longer on a
//! loaded machine; `VM_TIMEOUT` bounds the VM (600 s here unless set).

#![allow(clippy::expect_used, clippy::panic)]

use conformance::vm;

/// Printed by vm/tests/vrf-basics.sh as its last line when every check passed.
const MARKER: &str = "VRF-BASICS OK";

#[test]
fn vrf_dummy_and_vrf_table_route_in_vm() {
    let stdout = vm::run("vm/tests/vrf-basics.sh", &[]);
    assert!(
        vm::printed(&stdout, MARKER),
        "the guest script exited 0 but did not print {MARKER:?}; output above"
    );
}
