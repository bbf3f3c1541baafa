//! Applies a sample OpenPERouter node layout with [`NetlinkDataplane`], twice.
//!
//! ```text
//! apply_layout ROUTER_NETNS HOST_NETNS     # names under /run/netns (or absolute paths)
//! ```
//!
//! VRF tables are allocated as OpenPERouter does (lowest free ≥ 1, existing VRFs keep theirs)
//! from the VRFs found in ROUTER_NETNS, in the order red, green, blue, and printed as
//! `TABLES red=N green=N blue=N`.
//!
//! The layout (node index 0, underlay MTU 1500):
//! - the namespace: `lo` up, the sysctls of §2.5.1 including the SRv6 ones;
//! - VTEPs 100.65.0.0/32 and fd00:65::/128 on `lo`;
//! - L3VNI `red`, VNI 100, host session localCIDR 192.169.10.0/24 + 2001:db8:1::/64;
//! - L2VNI 110, routing domain `red`, gateway 192.171.24.1/24, host master LinuxBridge Managed;
//! - L3VNI `green`, VNI 200, over the IPv6 VTEP, no host session, with the opt-in
//!   `unreachable default` (IPv4 and IPv6, metric 4278198272);
//! - L3VPN `blue`, rdAssignedNumber 200, host session localCIDR 192.169.20.0/24,
//!   and its SRv6 SID `fd00:0:32::100/128 encap seg6local action End.DT46 vrftable <blue's table>
//!   dev blue` (what FRR installs for a per-VRF SID);
//! - L3Passthrough, localCIDR 192.169.11.0/24.
//!
//! The router half is applied by a dataplane in ROUTER_NETNS (it creates the veths, with their
//! host legs in HOST_NETNS), then the host half by a dataplane in HOST_NETNS (it adopts the host
//! legs, sets them up with their MTU and addresses, and creates `br-hs-110`). Each dataplane runs
//! on its own thread, `setns`'d into its namespace, on a current-thread tokio runtime. Both
//! halves are then applied a second time, which must write nothing.
//!
//! Output: one `pass N router|host: <ApplyReport>` line per apply, then
//! `SECOND_APPLY_WRITES=<n>` (the total writes of the second pass). Exits 1 on any error.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::ExitCode;

use dataplane::layout::{self, Fragment, HostMaster, HostSession, Namespaces};
use dataplane::netlink::NetlinkDataplane;
use dataplane::netns::NetnsHandle;
use dataplane::{ApplyReport, Dataplane, DesiredState, Encap, NextHop, Route, Seg6LocalAction};
use ipnet::IpNet;

fn sample(
    router_ns: &str,
    host_ns: &str,
    tables: &BTreeMap<String, u32>,
) -> Result<Fragment, String> {
    let table = |vrf: &str| {
        tables
            .get(vrf)
            .copied()
            .ok_or_else(|| format!("no table for {vrf}"))
    };
    let ns = Namespaces {
        host: Some(host_ns.to_string()),
        router: Some(router_ns.to_string()),
    };
    let net = |s: &str| s.parse::<IpNet>().map_err(|e| format!("{s}: {e}"));
    let node_index = 0;
    let underlay_mtu = Some(1500);
    let vtep: IpAddr =
        layout::vtep_ip(net("100.65.0.0/24")?, node_index).map_err(|e| e.to_string())?;

    let vtep6: IpAddr =
        layout::vtep_ip(net("fd00:65::/64")?, node_index).map_err(|e| e.to_string())?;

    let mut f = layout::namespace(true);
    f.merge(layout::vtep(vtep));
    f.merge(layout::vtep(vtep6));
    let red = HostSession {
        local_cidrs: vec![net("192.169.10.0/24")?, net("2001:db8:1::/64")?],
        node_index,
    };
    f.merge(
        layout::l3vni(
            "red",
            100,
            table("red")?,
            vtep,
            Some(&red),
            underlay_mtu,
            &ns,
        )
        .map_err(|e| e.to_string())?,
    );
    f.merge(
        layout::l2vni(
            110,
            vtep,
            Some("red"),
            &[net("192.171.24.1/24")?],
            &HostMaster::LinuxBridgeManaged,
            underlay_mtu,
            &ns,
        )
        .map_err(|e| e.to_string())?,
    );
    f.merge(
        layout::l3vni(
            "green",
            200,
            table("green")?,
            vtep6,
            None,
            underlay_mtu,
            &ns,
        )
        .map_err(|e| e.to_string())?,
    );
    f.merge(layout::vrf_unreachable_default(table("green")?));
    let blue = HostSession {
        local_cidrs: vec![net("192.169.20.0/24")?],
        node_index,
    };
    f.merge(
        layout::l3vpn("blue", 200, table("blue")?, Some(&blue), underlay_mtu, &ns)
            .map_err(|e| e.to_string())?,
    );
    f.router.add_route(
        Route::unicast(254, net("fd00:0:32::100/128")?, vec![NextHop::dev("blue")]).with_encap(
            Encap::Seg6Local(Seg6LocalAction::EndDt46 {
                vrf_table: table("blue")?,
            }),
        ),
    );
    let pt = HostSession {
        local_cidrs: vec![net("192.169.11.0/24")?],
        node_index,
    };
    f.merge(layout::passthrough(&pt, &ns).map_err(|e| e.to_string())?);
    Ok(f)
}

/// The VRFs of netns `ns` with their tables.
fn vrf_tables_in(ns: &str) -> Result<BTreeMap<String, u32>, String> {
    let handle = NetnsHandle::open(ns).map_err(|e| e.to_string())?;
    handle
        .run_async(|| async {
            let mut dp = NetlinkDataplane::new().map_err(|e| e.to_string())?;
            dp.vrf_tables().await.map_err(|e| e.to_string())
        })
        .map_err(|e| e.to_string())?
}

/// Applies `desired` from a thread inside netns `ns` (a name under `/run/netns` or a path).
fn apply_in(ns: &str, desired: DesiredState) -> Result<ApplyReport, String> {
    let handle = NetnsHandle::open(ns).map_err(|e| e.to_string())?;
    handle
        .run_async(|| async move {
            let mut dp = NetlinkDataplane::new().map_err(|e| e.to_string())?;
            dp.apply(&desired)
                .await
                .map_err(|e| format!("apply in {ns}: {e}"))
        })
        .map_err(|e| e.to_string())?
}

fn run() -> Result<usize, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [router_ns, host_ns] = args.as_slice() else {
        return Err("usage: apply_layout ROUTER_NETNS HOST_NETNS".into());
    };
    let in_use = vrf_tables_in(router_ns)?;
    let tables = layout::allocate_vrf_tables(&in_use, ["red", "green", "blue"]);
    let shown: Vec<String> = ["red", "green", "blue"]
        .iter()
        .map(|v| format!("{v}={}", tables.get(*v).copied().unwrap_or(0)))
        .collect();
    println!("TABLES {}", shown.join(" "));
    let f = sample(router_ns, host_ns, &tables)?;
    let mut second = 0;
    for pass in 1..=2 {
        let r = apply_in(router_ns, f.router.clone())?;
        println!("pass {pass} router: {r:?}");
        let h = apply_in(host_ns, f.host.clone())?;
        println!("pass {pass} host: {h:?}");
        if pass == 2 {
            second = r.writes + h.writes;
        }
    }
    Ok(second)
}

fn main() -> ExitCode {
    match run() {
        Ok(writes) => {
            println!("SECOND_APPLY_WRITES={writes}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("apply_layout: {e}");
            ExitCode::FAILURE
        }
    }
}
