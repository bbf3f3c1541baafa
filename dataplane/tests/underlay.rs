//! Underlay NIC moves against the real kernel: three namespaces per test, H (host), R (router)
//! and T (plays the ToR), a veth `toswitch1` in H with its peer in T.
//!
//! Needs root, `ip` (iproute2), `ping` and the veth driver; a missing prerequisite fails the
//! test with a message (it is never skipped silently).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;
use std::time::{Duration, Instant};

use dataplane::netns::NetnsHandle;
use dataplane::underlay::{
    move_in, move_out, move_out_all, MoveOutcome, UnderlayError, UNDERLAY_LINK_GROUP,
};
use serde_json::Value;

mod common;

use common::Netns;

struct Lab {
    h: Netns,
    r: Netns,
    t: Netns,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        Lab {
            h: Netns::new(&format!("{tag}-h")),
            r: Netns::new(&format!("{tag}-r")),
            t: Netns::new(&format!("{tag}-t")),
        }
    }

    fn handles(&self) -> (NetnsHandle, NetnsHandle) {
        (
            NetnsHandle::open(&self.h.0).unwrap(),
            NetnsHandle::open(&self.r.0).unwrap(),
        )
    }

    /// A veth `nic` in H (with `v4`/`v6` .4 addresses) whose peer `tor<n>` in T has the .2
    /// addresses of the same subnets; both up.
    fn uplink(&self, nic: &str, n: u8) {
        let peer = format!("tor{n}");
        self.h.ip(&[
            "link", "add", nic, "mtu", "1450", "type", "veth", "peer", "name", &peer, "netns",
            &self.t.0,
        ]);
        for (ns, dev, host) in [(&self.h, nic, "4"), (&self.t, peer.as_str(), "2")] {
            ns.ip(&[
                "addr",
                "add",
                &format!("192.168.1{n}.{host}/24"),
                "dev",
                dev,
            ]);
            ns.ip(&[
                "addr",
                "add",
                &format!("2001:db8:1{n}::{host}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            ns.ip(&["link", "set", dev, "mtu", "1450", "up"]);
        }
    }
}

/// The link `name` in `ns`, if it is there.
fn find(ns: &Netns, name: &str) -> Option<Value> {
    ns.json(&["link", "show"])
        .into_iter()
        .find(|l| l["ifname"] == name)
}

fn present(ns: &Netns, name: &str) -> Value {
    find(ns, name).unwrap_or_else(|| panic!("{name} should be in {}", ns.0))
}

fn is_up(link: &Value) -> bool {
    link["flags"].as_array().unwrap().iter().any(|f| f == "UP")
}

/// The global-scope addresses of `dev` in `ns`, as "addr/len", sorted.
fn addresses(ns: &Netns, dev: &str) -> Vec<String> {
    let mut out: Vec<String> = ns
        .json(&["addr", "show", "dev", dev])
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    out.sort();
    out
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Pings `dst` from `ns`: up to 5 tries of `ping -c 1 -W 2` (neighbour resolution on a
/// freshly moved link may lose the first probe); false if none answered.
fn pings(ns: &Netns, dst: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    for _ in 0..5 {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns.0, "ping", "-c", "1", "-W", "2", dst])
            .output()
            .expect("prerequisite: `ping` (iputils) must be installed");
        if out.status.success() {
            return true;
        }
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn assert_reaches_tor(ns: &Netns, n: u8) {
    for dst in [format!("192.168.1{n}.2"), format!("2001:db8:1{n}::2")] {
        assert!(pings(ns, &dst), "{} cannot ping {dst}", ns.0);
    }
}

/// The NIC's state in the host namespace: addresses, default group, up.
fn assert_at_home(lab: &Lab, nic: &str, n: u8, mac: &Value, mtu: &Value) {
    assert!(find(&lab.r, nic).is_none(), "{nic} still in R");
    let link = present(&lab.h, nic);
    assert_eq!(link["group"], "default", "{link}");
    assert!(is_up(&link), "{link}");
    assert_eq!(&link["address"], mac);
    assert_eq!(&link["mtu"], mtu);
    assert_eq!(
        addresses(&lab.h, nic),
        sorted(&[
            &format!("192.168.1{n}.4/24"),
            &format!("2001:db8:1{n}::4/64")
        ])
    );
    assert_reaches_tor(&lab.h, n);
}

#[tokio::test]
async fn move_in_and_out_carries_addresses_and_keeps_the_tor_reachable() {
    let lab = Lab::new("uin");
    lab.uplink("toswitch1", 1);
    // An address with noprefixroute: re-added without the flag, so R gets its connected route.
    lab.h.ip(&[
        "addr",
        "add",
        "10.11.0.4/24",
        "dev",
        "toswitch1",
        "noprefixroute",
    ]);
    assert_reaches_tor(&lab.h, 1);
    let before = present(&lab.h, "toswitch1");
    let (mac, mtu) = (before["address"].clone(), before["mtu"].clone());
    let (host, router) = lab.handles();

    let report = move_in("toswitch1", &host, &router, UNDERLAY_LINK_GROUP)
        .await
        .unwrap();
    assert_eq!(report.outcome, MoveOutcome::Moved);
    assert!(!report.is_noop());
    assert_eq!(report.addresses.len(), 3, "{report:?}");

    assert!(find(&lab.h, "toswitch1").is_none(), "toswitch1 still in H");
    let link = present(&lab.r, "toswitch1");
    assert_eq!(link["group"], UNDERLAY_LINK_GROUP.to_string(), "{link}");
    assert!(is_up(&link), "{link}");
    assert_eq!(link["address"], mac, "MAC changed");
    assert_eq!(link["mtu"], mtu, "MTU changed");
    assert_eq!(link["ifindex"].as_u64(), Some(u64::from(report.ifindex)));
    assert_eq!(
        report.mac.map(|m| m.to_string()).as_deref(),
        mac.as_str(),
        "{report:?}"
    );
    assert_eq!(
        addresses(&lab.r, "toswitch1"),
        sorted(&["192.168.11.4/24", "2001:db8:11::4/64", "10.11.0.4/24"])
    );
    let noprefix = lab.r.json(&["addr", "show", "dev", "toswitch1"]);
    assert!(
        !noprefix
            .to_vec()
            .iter()
            .any(|l| l.to_string().contains("noprefixroute")),
        "noprefixroute kept: {noprefix:?}"
    );
    let routes = lab.r.routes("main");
    assert!(
        routes
            .iter()
            .any(|r| r["dst"] == "10.11.0.0/24" && r["dev"] == "toswitch1"),
        "no connected route for the noprefixroute address: {routes:?}"
    );
    assert_reaches_tor(&lab.r, 1);

    // Second move: nothing written, same link.
    let again = move_in("toswitch1", &host, &router, UNDERLAY_LINK_GROUP)
        .await
        .unwrap();
    assert_eq!(again.outcome, MoveOutcome::AlreadyThere);
    assert!(again.is_noop(), "{again:?}");
    assert_eq!(again.ifindex, report.ifindex);
    assert_eq!(
        present(&lab.r, "toswitch1")["ifindex"].as_u64(),
        Some(u64::from(report.ifindex))
    );

    // Back to the host.
    let out = move_out("toswitch1", &router, &host).await.unwrap();
    assert_eq!(out.outcome, MoveOutcome::Moved);
    assert_eq!(out.addresses.len(), 3, "{out:?}");
    lab.h
        .ip(&["addr", "del", "10.11.0.4/24", "dev", "toswitch1"]);
    assert_at_home(&lab, "toswitch1", 1, &mac, &mtu);

    let out_again = move_out("toswitch1", &router, &host).await.unwrap();
    assert_eq!(out_again.outcome, MoveOutcome::AlreadyThere);
    assert!(out_again.is_noop(), "{out_again:?}");
    // T is untouched throughout.
    assert!(is_up(&present(&lab.t, "tor1")));
}

#[tokio::test]
async fn move_out_all_returns_every_nic_of_the_group() {
    let lab = Lab::new("uall");
    lab.uplink("toswitch1", 1);
    lab.uplink("toswitch2", 2);
    // A link of R that is not in the group stays.
    lab.r.ip(&[
        "link", "add", "keep0", "type", "veth", "peer", "name", "keep1",
    ]);
    let macs: Vec<(Value, Value)> = ["toswitch1", "toswitch2"]
        .iter()
        .map(|n| {
            let l = present(&lab.h, n);
            (l["address"].clone(), l["mtu"].clone())
        })
        .collect();
    let (host, router) = lab.handles();
    for nic in ["toswitch1", "toswitch2"] {
        move_in(nic, &host, &router, UNDERLAY_LINK_GROUP)
            .await
            .unwrap();
    }
    assert_reaches_tor(&lab.r, 1);
    assert_reaches_tor(&lab.r, 2);

    let reports = move_out_all(&router, &host, UNDERLAY_LINK_GROUP)
        .await
        .unwrap();
    let mut names: Vec<&str> = reports.iter().map(|r| r.nic.as_str()).collect();
    names.sort();
    assert_eq!(names, ["toswitch1", "toswitch2"]);
    assert!(reports.iter().all(|r| r.outcome == MoveOutcome::Moved));
    assert_at_home(&lab, "toswitch1", 1, &macs[0].0, &macs[0].1);
    assert_at_home(&lab, "toswitch2", 2, &macs[1].0, &macs[1].1);
    assert!(find(&lab.r, "keep0").is_some() && find(&lab.r, "keep1").is_some());
    // (`ip -j link show group N` prints `{}` for filtered links: filter here.)
    let left: Vec<Value> = lab
        .r
        .json(&["link", "show"])
        .into_iter()
        .filter(|l| l["group"].as_str() == Some(&*UNDERLAY_LINK_GROUP.to_string()))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Nothing left: nothing to do.
    let none = move_out_all(&router, &host, UNDERLAY_LINK_GROUP)
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn an_unknown_nic_is_an_error_naming_it() {
    let lab = Lab::new("unk");
    let (host, router) = lab.handles();
    let err = move_in("nosuch0", &host, &router, UNDERLAY_LINK_GROUP)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UnderlayError::NotFound { nic, .. } if nic == "nosuch0"),
        "{err:?}"
    );
    assert!(err.to_string().contains("nosuch0"), "{err}");
    let err = move_out("nosuch0", &router, &host).await.unwrap_err();
    assert!(
        matches!(&err, UnderlayError::NotFound { nic, .. } if nic == "nosuch0"),
        "{err:?}"
    );
    let err = move_in("bad/name", &host, &router, UNDERLAY_LINK_GROUP)
        .await
        .unwrap_err();
    assert!(matches!(err, UnderlayError::InvalidName { .. }), "{err:?}");
    let err = move_in("toswitch1", &host, &host, UNDERLAY_LINK_GROUP)
        .await
        .unwrap_err();
    assert!(
        matches!(err, UnderlayError::SameNamespace { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_nic_moved_by_hand_is_repaired_and_a_name_clash_is_refused() {
    let lab = Lab::new("urep");
    lab.uplink("toswitch1", 1);
    let (host, router) = lab.handles();
    // Moved without group (e.g. a crash before the group was set, or by hand): down, no group.
    lab.h.ip(&["link", "set", "toswitch1", "netns", &lab.r.0]);
    let link = present(&lab.r, "toswitch1");
    assert!(!is_up(&link) && link["group"] == "default", "{link}");
    let report = move_in("toswitch1", &host, &router, UNDERLAY_LINK_GROUP)
        .await
        .unwrap();
    assert_eq!(report.outcome, MoveOutcome::Repaired);
    assert_eq!(report.writes, 1);
    let link = present(&lab.r, "toswitch1");
    assert!(is_up(&link), "{link}");
    assert_eq!(link["group"], UNDERLAY_LINK_GROUP.to_string());

    // Another link named toswitch2 in R, not in the group: the move is refused, nothing moves.
    lab.uplink("toswitch2", 2);
    lab.r.ip(&[
        "link",
        "add",
        "toswitch2",
        "type",
        "veth",
        "peer",
        "name",
        "x2",
    ]);
    let err = move_in("toswitch2", &host, &router, UNDERLAY_LINK_GROUP)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UnderlayError::NameConflict { nic, .. } if nic == "toswitch2"),
        "{err:?}"
    );
    assert_eq!(
        addresses(&lab.h, "toswitch2"),
        sorted(&["192.168.12.4/24", "2001:db8:12::4/64"])
    );
    assert_reaches_tor(&lab.h, 2);
}

#[test]
fn netns_handle_runs_code_inside_the_namespace() {
    let lab = Lab::new("nsh");
    let here = NetnsHandle::current().unwrap();
    let by_name = NetnsHandle::open(&lab.r.0).unwrap();
    let by_path = NetnsHandle::open(&format!("/run/netns/{}", lab.r.0)).unwrap();
    assert!(by_name.same_as(&by_path));
    assert!(!by_name.same_as(&here));
    assert!(!by_name.same_as(&NetnsHandle::open(&lab.h.0).unwrap()));
    let inside = by_name.run(NetnsHandle::current).unwrap().unwrap();
    assert!(inside.same_as(&by_name));
    let inside = by_name
        .run_async(|| async { NetnsHandle::current() })
        .unwrap()
        .unwrap();
    assert!(inside.same_as(&by_name));
    // The calling thread never moved.
    assert!(NetnsHandle::current().unwrap().same_as(&here));
}
