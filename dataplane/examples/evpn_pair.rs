//! Two OpenPERouter nodes joined by EVPN type-5 shaped kernel state, applied with
//! [`NetlinkDataplane`] (used by `vm/tests/evpn-ping.sh`, which needs VRFs).
//!
//! ```text
//! evpn_pair NODE_A HOST_A NODE_B HOST_B v4|v6 routes|no-routes
//! ```
//!
//! Each node namespace (NODE_x, names under `/run/netns`) must already hold `ul`, one leg of
//! the underlay veth between the two nodes; HOST_x is where its host leg goes. Per node `i`
//! (A = 1, B = 2) it applies:
//! - [`layout::namespace`], the VTEP (`100.65.0.i/32`, or `fd00:65::i/128` with `v6`) and
//!   `ul` up with `10.0.0.i/30` (or `fd00:ff::i/64`), the other VTEP routed over `ul`;
//! - L3VNI `red`, VNI 100, table 1001, with a host session on `192.169.1i.0/24` and
//!   `2001:db8:1i::/64` (node index 0: router side `.1`, host side `.2`), and the router MAC
//!   `02:00:00:00:00:0i` on `br-pe-100`;
//! - with `routes`, what zebra installs for the other node's type-5 routes: in table 1001 the
//!   other host CIDRs (IPv4 and IPv6) via the other VTEP, `onlink` on `br-pe-100` (an IPv6
//!   prefix behind an IPv4 VTEP via the VTEP's IPv4-mapped IPv6 address, as zebra does: the
//!   kernel has no IPv6 route via an IPv4 gateway); the neighbour other VTEP (and its mapped
//!   address) → other router MAC on `br-pe-100`; the FDB entry other router MAC → other VTEP
//!   on `vni100`.
//!
//! The host legs' half of the layout is applied in HOST_x. Everything is applied twice; output is one `NODE pass N: <ApplyReport>` line per apply and
//! `SECOND_APPLY_WRITES=<n>`. Exits 1 on any error.
#![allow(clippy::print_stdout)]

use std::net::IpAddr;
use std::process::ExitCode;

use dataplane::layout::{self, Fragment, HostSession, Namespaces};
use dataplane::netlink::NetlinkDataplane;
use dataplane::netns::NetnsHandle;
use dataplane::{
    Address, ApplyReport, Dataplane, DesiredState, Fdb, Link, MacAddr, Neigh, NextHop, Route,
};
use ipnet::IpNet;

struct Node {
    index: u8,
    vtep: IpAddr,
    underlay: IpNet,
    rmac: MacAddr,
}

fn node(index: u8, v6: bool) -> Result<Node, String> {
    let parse = |s: String| s.parse::<IpNet>().map_err(|e| format!("{s}: {e}"));
    let (vtep, underlay) = if v6 {
        (
            parse(format!("fd00:65::{index}/128"))?,
            parse(format!("fd00:ff::{index}/64"))?,
        )
    } else {
        (
            parse(format!("100.65.0.{index}/32"))?,
            parse(format!("10.0.0.{index}/30"))?,
        )
    };
    Ok(Node {
        index,
        vtep: vtep.addr(),
        underlay,
        rmac: MacAddr([2, 0, 0, 0, 0, index]),
    })
}

fn host_cidrs(n: &Node) -> Result<Vec<IpNet>, String> {
    [
        format!("192.169.1{}.0/24", n.index),
        format!("2001:db8:1{}::/64", n.index),
    ]
    .into_iter()
    .map(|s| s.parse::<IpNet>().map_err(|e| format!("{s}: {e}")))
    .collect()
}

/// The router and host namespace states of node `me`.
fn desired(
    me: &Node,
    other: &Node,
    host_ns: &str,
    routes: bool,
) -> Result<(DesiredState, DesiredState), String> {
    let ns = Namespaces {
        host: Some(host_ns.to_owned()),
        router: None,
    };
    let mut f = Fragment::default();
    f.merge(layout::namespace(false));
    f.merge(layout::vtep(me.vtep));
    let session = HostSession {
        local_cidrs: host_cidrs(me)?,
        node_index: 0,
    };
    f.merge(
        layout::l3vni("red", 100, 1001, me.vtep, Some(&session), Some(1500), &ns)
            .map_err(|e| e.to_string())?,
    );
    let mut d = f.router;
    if let Some(br) = d.links.get_mut("br-pe-100") {
        br.mac = Some(me.rmac);
    }
    d.add_link(Link::external("ul").up());
    d.add_address(Address::new("ul", me.underlay));
    d.add_route(Route::unicast(
        254,
        IpNet::from(other.vtep),
        vec![NextHop::via(other.underlay.addr(), Some("ul".into()))],
    ));
    if routes {
        for cidr in host_cidrs(other)? {
            // The kernel has no IPv6 route via an IPv4 gateway: like zebra, an IPv6 prefix
            // behind an IPv4 VTEP goes via the VTEP's IPv4-mapped address, with a neighbour.
            let via = match (cidr, other.vtep) {
                (IpNet::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
                _ => other.vtep,
            };
            d.add_route(Route::unicast(
                1001,
                cidr,
                vec![NextHop {
                    via: Some(via),
                    dev: Some("br-pe-100".into()),
                    onlink: true,
                }],
            ));
            d.add_neigh(Neigh::new("br-pe-100", via, other.rmac));
        }
        d.add_fdb(Fdb::unicast("vni100", other.rmac, other.vtep));
    }
    Ok((d, f.host))
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
    let [node_a, host_a, node_b, host_b, family, mode] = args.as_slice() else {
        return Err("usage: evpn_pair NODE_A HOST_A NODE_B HOST_B v4|v6 routes|no-routes".into());
    };
    let v6 = match family.as_str() {
        "v4" => false,
        "v6" => true,
        f => return Err(format!("family {f:?}: expected v4 or v6")),
    };
    let routes = match mode.as_str() {
        "routes" => true,
        "no-routes" => false,
        m => return Err(format!("mode {m:?}: expected routes or no-routes")),
    };
    let a = node(1, v6)?;
    let b = node(2, v6)?;
    let (ra, ha) = desired(&a, &b, host_a, routes)?;
    let (rb, hb) = desired(&b, &a, host_b, routes)?;
    let plan = [(node_a, ra), (host_a, ha), (node_b, rb), (host_b, hb)];
    let mut second = 0;
    for pass in 1..=2 {
        for (ns, d) in &plan {
            let r = apply_in(ns, d.clone())?;
            println!("{ns} pass {pass}: {r:?}");
            if pass == 2 {
                second += r.writes;
            }
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
            eprintln!("evpn_pair: {e}");
            ExitCode::FAILURE
        }
    }
}
