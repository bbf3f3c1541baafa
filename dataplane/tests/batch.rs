//! Batched route, neighbour and FDB writes (issue 4) against the real kernel, in a fresh
//! network namespace: 20 000 routes in one table, an idempotent second apply, deleting half of
//! them, and error attribution inside a batch (routes; FDB entries and neighbours).
//!
//! Needs root, `ip` (iproute2) and the veth driver; a missing prerequisite fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use dataplane::netlink::NetlinkDataplane;
use dataplane::{
    ApplyReport, Dataplane, DataplaneError, DesiredState, Fdb, Link, LinkKind, MacAddr, Neigh,
    NextHop, Route,
};
use ipnet::{IpNet, Ipv4Net};
use serde_json::Value;

const TABLE: u32 = 100;
const N: u32 = 20_000;

mod common;

use common::Netns;

/// A namespace with an up veth pair (v0 198.18.0.1/30, v1) for next hops.
fn uplinked(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    ns.ip(&["link", "set", "v0", "up"]);
    ns.ip(&["link", "set", "v1", "up"]);
    ns.ip(&["addr", "add", "198.18.0.1/30", "dev", "v0"]);
    ns
}

impl Netns {
    /// Destinations of table `TABLE`, from `ip -j route show table`.
    fn table(&self) -> BTreeSet<String> {
        let text = self.ip(&["-j", "-4", "route", "show", "table", &TABLE.to_string()]);
        if text.trim().is_empty() {
            return BTreeSet::new();
        }
        serde_json::from_str::<Vec<Value>>(&text)
            .unwrap()
            .iter()
            .map(|r| {
                let dst = r["dst"].as_str().unwrap();
                if dst.contains('/') {
                    dst.to_owned()
                } else {
                    format!("{dst}/32")
                }
            })
            .collect()
    }

    fn apply(&self, d: &DesiredState) -> Result<ApplyReport, DataplaneError> {
        let d = d.clone();
        self.run(move || async move {
            let mut dp = NetlinkDataplane::new().unwrap();
            dp.apply(&d).await
        })
    }
}

/// Route `i`: 10.x.y.0/24 via 198.18.0.2 dev v0.
fn route(i: u32) -> Route {
    let dst = Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap();
    Route::unicast(
        TABLE,
        IpNet::V4(dst),
        vec![NextHop::via(
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)),
            Some("v0".into()),
        )],
    )
}

fn desired(range: impl Iterator<Item = u32>) -> DesiredState {
    let mut d = DesiredState::new();
    for i in range {
        d.add_route(route(i));
    }
    d
}

fn names(range: impl Iterator<Item = u32>) -> BTreeSet<String> {
    range.map(|i| route(i).dst.to_string()).collect()
}

#[test]
fn twenty_thousand_routes_batched_idempotent_and_half_deleted() {
    let ns = uplinked("routes");

    let all = desired(0..N);
    let r = ns.apply(&all).unwrap();
    assert_eq!(r.routes.created, N as usize);
    assert_eq!(r.writes, N as usize);
    assert_eq!(
        ns.table(),
        names(0..N),
        "kernel has exactly the 20 000 routes"
    );

    let again = ns.apply(&all).unwrap();
    assert!(again.is_noop(), "second apply writes nothing: {again:?}");

    // Keep the even ones.
    let half = desired((0..N).filter(|i| i % 2 == 0));
    let r = ns.apply(&half).unwrap();
    assert_eq!(r.routes.deleted, (N / 2) as usize);
    assert_eq!(r.routes.created + r.routes.updated, 0);
    assert_eq!(r.writes, (N / 2) as usize);
    assert_eq!(ns.table(), names((0..N).filter(|i| i % 2 == 0)));

    // Changing the next hop of every kept route is one replace each.
    let mut moved = DesiredState::new();
    for i in (0..N).filter(|i| i % 2 == 0) {
        let mut r = route(i);
        r.next_hops = vec![NextHop::dev("v0")];
        moved.add_route(r);
    }
    let r = ns.apply(&moved).unwrap();
    assert_eq!(r.routes.updated, (N / 2) as usize);
    assert_eq!(r.writes, (N / 2) as usize);
    assert!(ns.apply(&moved).unwrap().is_noop());
}

#[test]
fn a_failure_inside_a_batch_names_its_route_and_does_not_hang() {
    let ns = uplinked("error");
    // 10 000 good routes and, sorted between the 5000th and the 5001st (in the fifth batch of
    // ten), one whose gateway is not reachable (10.0.0.0/8 is not connected here: ENETUNREACH).
    let mut d = desired(0..10_000);
    d.add_route(Route::unicast(
        TABLE,
        "10.19.135.128/25".parse().unwrap(),
        vec![NextHop::via("10.255.255.1".parse().unwrap(), None)],
    ));
    let err = ns.apply(&d).unwrap_err();
    match &err {
        DataplaneError::Kernel {
            op, object, errno, ..
        } => {
            assert_eq!(*op, "add route");
            assert_eq!(object, "route 10.19.135.128/25 table 100");
            assert_eq!(*errno, libc_enetunreach(), "{err}");
        }
        other => panic!("expected a kernel error, got {other}"),
    }
    // Dropping the bad route makes the rest converge.
    let good = desired(0..10_000);
    ns.apply(&good).unwrap();
    assert_eq!(ns.table(), names(0..10_000));
    assert!(ns.apply(&good).unwrap().is_noop());
}

fn libc_enetunreach() -> i32 {
    101
}

/// A VXLAN device (IPv4 VTEP) on a bridge, 3000 remote MACs with their neighbours.
fn evpn_entries(bad: bool) -> DesiredState {
    let mut d = DesiredState::new();
    d.add_link(Link::new("br0", LinkKind::Bridge).up());
    d.add_link(
        Link::new(
            "vx0",
            LinkKind::Vxlan {
                vni: 100,
                local: Some("198.18.0.1".parse().unwrap()),
                dev: None,
                dstport: 4789,
                learning: false,
            },
        )
        .with_master("br0")
        .up(),
    );
    for i in 0..3000u32 {
        let [_, _, hi, lo] = i.to_be_bytes();
        let mac = MacAddr([2, 0, 0, 1, hi, lo]);
        let vtep = IpAddr::V4(Ipv4Addr::new(198, 19, hi, lo));
        d.add_fdb(Fdb::unicast("vx0", mac, vtep));
        d.add_neigh(Neigh::new(
            "br0",
            IpAddr::V4(Ipv4Addr::from(0xc000_0001 + i)), // 192.0.0.1 + i
            mac,
        ));
    }
    if bad {
        // An IPv6 VTEP on an IPv4 VXLAN device: the kernel answers EAFNOSUPPORT. Its MAC sorts
        // in the middle of the FDB run, so it fails inside a batch, after other requests.
        d.add_fdb(Fdb::unicast(
            "vx0",
            MacAddr([2, 0, 0, 1, 5, 0x80]),
            "2001:db8::1".parse().unwrap(),
        ));
    }
    d
}

#[test]
fn a_failure_inside_an_fdb_batch_names_its_entry_and_the_rest_converges() {
    let ns = uplinked("fdb-error");
    let err = ns.apply(&evpn_entries(true)).unwrap_err();
    match &err {
        DataplaneError::Kernel {
            op, object, errno, ..
        } => {
            assert_eq!(*op, "add fdb", "{err}");
            assert_eq!(
                object, "fdb 02:00:00:01:05:80 dst 2001:db8::1 on vx0",
                "{err}"
            );
            assert_eq!(*errno, 97, "EAFNOSUPPORT expected: {err}");
        }
        other => panic!("expected a kernel error, got {other}"),
    }
    // The neighbours (written before the FDB run) and the FDB entries sent with the failing
    // one are in; the good state converges and then stays put.
    let good = evpn_entries(false);
    let r = ns.apply(&good).unwrap();
    assert!(
        r.fdb.created < 3000,
        "entries before the failure were kept: {r:?}"
    );
    let cur = ns.run(|| async { NetlinkDataplane::new().unwrap().current().await.unwrap() });
    assert_eq!(cur.fdb.len(), 3000);
    assert_eq!(cur.neighbours.len(), 3000);
    assert!(ns.apply(&good).unwrap().is_noop());
}
