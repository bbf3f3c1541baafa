//! The dataplane in a kernel with VRF (the host's has none), through `vm/run.sh`:
//! - `openperouter_layouts_applied_and_checked_in_vm`: `dataplane/examples/apply_layout.rs`
//!   applies a sample node (VRF tables allocated lowest-free, namespace sysctls, IPv4 and IPv6 VTEPs, L3VNI with host session,
//!   L2VNI with routing domain + gateway, L3VNI over the IPv6 VTEP with the opt-in unreachable
//!   default, SRv6 L3VPN with its End.DT46 SID, L3Passthrough) twice into fresh namespaces;
//!   `vm/tests/layouts.sh` checks every object against the reference with `ip -d -j` (VRF
//!   tables, masters, VXLAN id/local/port/learning, addrgenmode, neigh_suppress, MTUs,
//!   addresses, anycast MAC, sysctls, routes, second apply = 0 writes);
//! - `evpn_type5_state_carries_ping_between_two_nodes_in_vm`:
//!   `dataplane/examples/evpn_pair.rs` programs two nodes' L3VNIs and the EVPN type-5 shaped
//!   state (onlink route via the remote VTEP + neighbour + FDB); `vm/tests/evpn-ping.sh`
//!   pings host to host over IPv4 and IPv6 through the VRFs and VXLAN, for an IPv4 and an IPv6
//!   VTEP, with negative controls before and after.
//!
//! - `evpn_fabric_frr_tor_two_perouterd_nodes_ping_in_vm`: `vm/tests/evpn-fabric.sh` runs
//!   an FRR 8.4 ToR (bgpd + zebra) and two perouterd nodes (`--host-netns`) with L3VNI red;
//!   perouterd's BGP drives the kernel: type-5 routes and VTEP /32s are exchanged through the
//!   ToR, each node programs the other's host route, and host-a pings host-b over IPv4 and
//!   IPv6 across VXLAN; the stretched L2VNI 110 carries a ping in one subnet through type-3
//!   flood lists and type-2 MACs; GoBGP behind the ToR injects a type-5 that node-a
//!   installs; a node's withdrawal removes the route.
//! - `l3vpn_srv6_fabric_two_perouterd_nodes_ping_in_vm`: `vm/tests/l3vpn-fabric.sh` runs an
//!   FRR 8.4 ToR (bgpd + zebra, IPv6 unicast + VPN-IPv4/IPv6) and two perouterd nodes with the
//!   SRv6 L3VPN blue: locators over BGP, End.DT46 SIDs, H.Encaps routes in VRF blue, and
//!   host-a pings host-b over IPv4 and IPv6 through SRv6 with the VTEPs as outer sources.
//!   Then an FRR 8.4 PE (bgpd + zebra, kernel VRF blue, locator fd00:0:50::/64, End.DT4 and
//!   End.DT6 SIDs): node-a imports its routes with its SIDs and installs H.Encaps to them,
//!   FRR installs ours, and host-a <-> host-c (behind FRR) ping both ways over IPv4 and IPv6.
//!
//! Needs qemu-system-x86, linux-image-amd64, busybox-static, cpio and jq: `vm/install.sh` (as
//! root), and FRR, GoBGP and ping for the fabric tests. Without them these tests fail (they
//! never skip). ~15–45 s each for the VM (the fabric labs 1–3 minutes) plus the build;
//! `VM_TIMEOUT` bounds the VM (600 s here unless set).

#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use conformance::vm;
use std::process::Command;
use std::time::Instant;

/// Printed by vm/tests/layouts.sh as its last line when every check passed.
const MARKER: &str = "LAYOUTS OK";

/// Builds a dataplane example with cargo and returns its path (from cargo's JSON messages, so
/// a custom `CARGO_TARGET_DIR` is honoured).
fn build_example(root: &Path, name: &str) -> PathBuf {
    build(root, &["-p", "dataplane", "--example", name], name)
}

/// Runs `cargo build ARGS` and returns the path of the executable target `name`.
fn build(root: &Path, args: &[&str], name: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let out = Command::new(cargo)
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "cargo build {name} took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no executable for {name}"));
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
    let exe = build_example(&root, "apply_layout");

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

#[test]
fn evpn_type5_state_carries_ping_between_two_nodes_in_vm() {
    vm::require_installed();
    let root = vm::repo_root();
    let exe = build_example(&root, "evpn_pair");

    let stdout = vm::run("vm/tests/evpn-ping.sh", &[exe.as_path()]);
    assert!(
        vm::printed(&stdout, "EVPN PING OK"),
        "the guest script exited 0 but did not print \"EVPN PING OK\"; output above"
    );
    for family in ["v4", "v6"] {
        assert!(
            stdout.contains(&format!("=== VTEP family {family}")),
            "the {family} VTEP round did not run; output above"
        );
    }
}

#[test]
fn evpn_fabric_frr_tor_two_perouterd_nodes_ping_in_vm() {
    vm::require_installed();
    let root = vm::repo_root();
    // Both binaries: the script drives perouterctl next to perouterd.
    let exe = build(&root, &["-p", "router", "--bins"], "perouterd");

    let stdout = vm::run("vm/tests/evpn-fabric.sh", &[exe.as_path()]);
    assert!(
        vm::printed(&stdout, "EVPN FABRIC OK"),
        "the guest script exited 0 but did not print \"EVPN FABRIC OK\"; output above"
    );
    for step in [
        "ok: FRR has both nodes' type-5 routes",
        "ok: host sessions established",
        "ok: the hosts' service routes are type-5 routes at the ToR",
        "ok: 10.202.0.1: node-b VRF red via host-b (host session)",
        "ok: host-a (FRR/zebra) installed",
        "ok: host-a 10.201.0.1 -> host-b 10.202.0.1",
        "ok: L3Passthrough: host-a 192.170.0.2 -> 192.168.13.3",
        "ok: GoBGP's default type-5 (no router MAC, label 0), received directly by node-a, is treated as withdrawn",
        "ok: the FRR leaf (zebra, kernel VRF red) imported our type-5 routes",
        "ok: node-a installed the FRR leaf's type-5 192.168.20.0/24",
        "ok: host-a 10.201.0.1 -> hostA_red 192.168.20.2 behind the FRR leaf",
        "ok: the FRR leaf took our type-3 routes",
        "ok: host-a -> host-b over IPv4",
        "ok: host-a -> host-b over IPv6",
        "ok: type-3 routes built each node's flood list for VNI 110",
        "ok: host-a -> host-b over the stretched L2VNI 110",
        "ok: host-b's MAC learned on node-b, advertised as type-2",
        "ok: GoBGP's type-5 (router MAC, label 100) installed in VRF red",
        "ok: node-b's withdrawal removed the route",
    ] {
        assert!(stdout.contains(step), "missing {step:?}; output above");
    }
}

#[test]
fn l3vpn_srv6_fabric_two_perouterd_nodes_ping_in_vm() {
    vm::require_installed();
    let root = vm::repo_root();
    // Both binaries: the script drives perouterctl next to perouterd.
    let exe = build(&root, &["-p", "router", "--bins"], "perouterd");

    let stdout = vm::run("vm/tests/l3vpn-fabric.sh", &[exe.as_path()]);
    assert!(
        vm::printed(&stdout, "L3VPN FABRIC OK"),
        "the guest script exited 0 but did not print \"L3VPN FABRIC OK\"; output above"
    );
    for step in [
        "ok: FRR has both nodes' VPN-IPv4 and VPN-IPv6 host routes",
        "ok: locators over BGP IPv6 unicast",
        "ok: local SIDs: node-a fd00:0:32:e000::/128 and node-b fd00:0:33:e000::/128, seg6local End.DT46",
        "ok: node-a VRF blue: unicast 192.169.20.3  encap seg6 mode encap segs 1 [ fd00:0:33:e000:: ] dev blue",
        "ok: node-a VRF blue: unicast fd00:20::3  encap seg6 mode encap segs 1 [ fd00:0:33:e000:: ] dev blue",
        "ok: node-b VRF blue: 192.169.20.2 and fd00:20::2 with H.Encaps",
        "ok: host-a 192.169.20.2 -> host-b 192.169.20.3 over IPv4 through VRF blue and SRv6",
        "ok: host-a fd00:20::2 -> host-b fd00:20::3 over IPv6 through VRF blue and SRv6",
        "ok: outer sources were the VTEPs",
        "ok: the ToR forwarded the pings",
        "ok: the FRR PE's SIDs (zebra): End.DT4 fd00:0:50:0:100:: vrftable 300, End.DT6 fd00:0:50:0:200:: table 300",
        "ok: node-a has FRR's VPN routes 10.0.0.30:200:192.169.30.0/24 (label, SID, behaviour, structure: 4096 fd00:0:50:: 65535 40/24/16/0 transposition 16 at 64) and 10.0.0.30:200:fd00:30::/64 (8192 fd00:0:50:: 65535 40/24/16/0 transposition 16 at 64)",
        "ok: node-a imported FRR's VPN routes with FRR's SIDs (transposition undone): 192.169.30.0/24 -> fd00:0:50:0:100:: (End.DT4), fd00:30::/64 -> fd00:0:50:0:200:: (End.DT6)",
        "ok: node-a H.Encaps to FRR's host subnet: unicast 192.169.30.0/24  encap seg6 mode encap segs 1 [ fd00:0:50:0:100:: ] dev blue",
        "ok: node-a H.Encaps to FRR's host subnet: unicast fd00:30::/64  encap seg6 mode encap segs 1 [ fd00:0:50:0:200:: ] dev blue",
        "ok: the FRR PE (zebra) installed our host routes in its kernel VRF blue: unicast 192.169.20.2 nhid",
        "ok: the FRR PE (zebra) installed our host routes in its kernel VRF blue: unicast fd00:20::2 nhid",
        "ok: host-a 192.169.20.2 <-> host-c 192.169.30.2 (behind the FRR PE) over IPv4 and SRv6 both ways",
        "ok: host-a fd00:20::2 <-> host-c fd00:30::2 (behind the FRR PE) over IPv6 and SRv6 both ways",
        "ok: the ToR forwarded the FRR PE pings",
        "ok: IPv4 over SRv6 without an IPv6 address on node-a's host leg",
    ] {
        assert!(stdout.contains(step), "missing {step:?}; output above");
    }
}
