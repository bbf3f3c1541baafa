//! The diff between a desired and an observed state: a list of minimal, ordered operations.
//!
//! Both backends ([`crate::memory::MemoryDataplane`], [`crate::netlink::NetlinkDataplane`])
//! execute the same plan, so the diff rules are written (and unit-tested) once, here.
//!
//! Rules:
//! - a link whose kind and kind parameters match is never recreated; MTU, master, up and MAC
//!   are changed in place, in one write;
//! - a desired link that exists unmarked is adopted (marked) in place when its kind matches,
//!   and is a [`DataplaneError::Conflict`] otherwise: we never delete what we do not own;
//! - an owned link whose kind differs is deleted and recreated;
//! - only owned links, marked addresses and routes with our protocol, and neighbour / FDB
//!   entries we own are ever deleted;
//! - a desired neighbour or unicast FDB entry that exists but differs (other MAC, other VTEP,
//!   or not marked as ours) is replaced in one write, which also marks it (adoption); a
//!   VXLAN device's entry (`self`) and the bridge's entry for the same MAC on that device
//!   (`master`, [`Fdb::bridge`]) are distinct objects, diffed independently;
//! - a desired managed neighbour ([`Neigh::managed`]) is satisfied by any managed entry of
//!   ours at its key, whatever its MAC and state (the kernel resolves and probes it); the
//!   kernel's own entry at that key (learned, unmarked) is replaced, i.e. converted in place;
//!   deleting one of ours that has a MAC releases it in both backends (the plain learned entry
//!   again, unmarked: see [`crate::netlink`]);
//! - an [`LinkKind::External`] link (`lo`, an underlay NIC) is changed in place, never marked,
//!   created or deleted; a missing one is an error;
//! - a sysctl is written when its value differs; removing it from the desired state leaves
//!   the kernel's value alone (there is no "previous" value to restore);
//! - order: FDB and neighbour deletes, route deletes, address deletes, link deletes, link
//!   creates/changes (masters and VXLAN underlay devices first), sysctls, address adds, route
//!   adds/replaces, neighbour adds/replaces, FDB adds/replaces.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::DataplaneError;
use crate::model::{
    AddrGenMode, Address, BridgePort, DesiredState, Fdb, FdbKey, Link, LinkKind, MacAddr, Neigh,
    NeighKey, ObservedState, Route,
};

/// In-place changes to an existing link; `None` fields are left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkChange {
    /// Link name.
    pub name: String,
    /// Kernel interface index.
    pub index: u32,
    /// New MTU.
    pub mtu: Option<u32>,
    /// New master (`Some(None)` = release from its master).
    pub master: Option<Option<String>>,
    /// New administrative state.
    pub up: Option<bool>,
    /// New MAC address.
    pub mac: Option<MacAddr>,
    /// New IPv6 link-local generation mode.
    pub addr_gen_mode: Option<AddrGenMode>,
    /// Bridge-port options to set (only those that differ).
    pub port: BridgePort,
    /// Put our ownership mark on the link (adoption).
    pub mark_owned: bool,
}

impl LinkChange {
    /// Whether the change writes nothing.
    pub fn is_empty(&self) -> bool {
        self.mtu.is_none()
            && self.master.is_none()
            && self.up.is_none()
            && self.mac.is_none()
            && self.addr_gen_mode.is_none()
            && self.port.is_empty()
            && !self.mark_owned
    }
}

/// One kernel write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Delete one of our routes.
    DeleteRoute(Route),
    /// Delete one of our addresses.
    DeleteAddress(Address),
    /// Delete one of our links.
    DeleteLink {
        /// Link name.
        name: String,
        /// Kernel interface index.
        index: u32,
    },
    /// Create a link, marked as ours.
    CreateLink(Link),
    /// Change a link in place.
    ModifyLink(LinkChange),
    /// Add an address, marked as ours.
    AddAddress(Address),
    /// Add a route with our protocol.
    AddRoute(Route),
    /// Replace one of our routes whose next hops or type differ.
    ReplaceRoute(Route),
    /// Delete one of our neighbour entries.
    DeleteNeigh(Neigh),
    /// Add a neighbour entry, marked as ours.
    AddNeigh(Neigh),
    /// Overwrite a neighbour entry (other MAC, or not ours yet), marking it as ours.
    ReplaceNeigh(Neigh),
    /// Delete one of our FDB entries (for the flood list: that one remote only).
    DeleteFdb(Fdb),
    /// Add an FDB entry (flood-list entries are appended).
    AddFdb(Fdb),
    /// Overwrite a unicast FDB entry (other VTEP or VNI, or not ours yet), marking it as ours.
    ReplaceFdb(Fdb),
    /// Write a sysctl of the namespace (`key` relative to `/proc/sys`, `/`-separated).
    SetSysctl {
        /// E.g. `net/ipv4/conf/all/forwarding`.
        key: String,
        /// The value to write.
        value: String,
    },
}

/// Computes the minimal ordered operations that turn `observed` into `desired`.
pub fn plan(desired: &DesiredState, observed: &ObservedState) -> Result<Vec<Op>, DataplaneError> {
    let mut link_deletes = Vec::new();
    let mut gone: BTreeSet<&str> = BTreeSet::new();
    for (name, obs) in &observed.links {
        let recreate = match desired.links.get(name) {
            None => obs.owned,
            Some(want) if !want.kind.matches(&obs.link.kind) => {
                if !obs.owned {
                    return Err(DataplaneError::Conflict {
                        link: name.clone(),
                        found: obs.link.kind.name(),
                        wanted: want.kind.name(),
                    });
                }
                true
            }
            Some(_) => false,
        };
        if recreate {
            link_deletes.push(Op::DeleteLink {
                name: name.clone(),
                index: obs.index,
            });
            gone.insert(name.as_str());
        }
    }

    let mut link_ops = Vec::new();
    for link in order_links(desired)? {
        let external = link.kind == LinkKind::External;
        match observed.links.get(&link.name) {
            Some(obs) if !gone.contains(link.name.as_str()) => {
                let have = &obs.link;
                let change = LinkChange {
                    name: link.name.clone(),
                    index: obs.index,
                    mtu: link.mtu.filter(|m| have.mtu != Some(*m)),
                    master: (link.master != have.master).then(|| link.master.clone()),
                    up: (link.up != have.up).then_some(link.up),
                    mac: link.mac.filter(|m| have.mac != Some(*m)),
                    addr_gen_mode: link
                        .addr_gen_mode
                        .filter(|m| have.addr_gen_mode != Some(*m)),
                    port: link.port.missing_from(&have.port),
                    mark_owned: !obs.owned && !external,
                };
                if !change.is_empty() {
                    link_ops.push(Op::ModifyLink(change));
                }
            }
            _ if external => {
                return Err(DataplaneError::MissingLink {
                    object: format!("link {}", link.name),
                    link: link.name.clone(),
                })
            }
            _ => link_ops.push(Op::CreateLink(link.clone())),
        }
    }

    // Sysctls (per-device ones need their device): after the links, before anything else.
    let sysctl_ops = desired
        .sysctls
        .iter()
        .filter(|(k, v)| observed.sysctls.get(*k) != Some(*v))
        .map(|(k, v)| Op::SetSysctl {
            key: k.clone(),
            value: v.clone(),
        });

    // Addresses on a deleted link disappear with it.
    let existing: BTreeMap<&Address, bool> = observed
        .addresses
        .iter()
        .filter(|(a, _)| !gone.contains(a.link.as_str()))
        .map(|(a, owned)| (a, *owned))
        .collect();
    let addr_deletes = existing
        .iter()
        .filter(|(a, owned)| **owned && !desired.addresses.contains(**a))
        .map(|(a, _)| Op::DeleteAddress((*a).clone()));
    // Enslaving a link to a VRF (or releasing it) makes the kernel cycle it and drop its IPv6
    // addresses: those of a link whose master changes are added again after the change
    // (IPv4 ones survive; an address that did survive answers EEXIST, which is benign).
    let remastered: BTreeSet<String> = link_ops
        .iter()
        .filter_map(|op| match op {
            Op::ModifyLink(c) if c.master.is_some() => Some(c.name.clone()),
            _ => None,
        })
        .collect();
    let addr_adds = desired
        .addresses
        .iter()
        .filter(|a| {
            !existing.contains_key(a) || (a.addr.addr().is_ipv6() && remastered.contains(&a.link))
        })
        .map(|a| Op::AddAddress(a.clone()));

    // Routes through a deleted link disappear with it. (Looked up in place: no copy of the
    // observed table, which may hold a million routes.)
    let alive = |r: &&Route| !r.devices().any(|d| gone.contains(d));
    let route_deletes = observed
        .routes
        .iter()
        .filter(|(k, r)| alive(r) && !desired.routes.contains_key(k))
        .map(|(_, r)| Op::DeleteRoute(r.clone()));
    let route_adds =
        desired
            .routes
            .iter()
            .filter_map(|(k, want)| match observed.routes.get(k).filter(alive) {
                None => Some(Op::AddRoute(want.clone())),
                Some(have) if !want.satisfied_by(have) => Some(Op::ReplaceRoute(want.clone())),
                Some(_) => None,
            });

    // Neighbours on a deleted link disappear with it.
    let neighs: BTreeMap<&NeighKey, &(Neigh, bool)> = observed
        .neighbours
        .iter()
        .filter(|(k, _)| !gone.contains(k.link.as_str()))
        .collect();
    let neigh_deletes = neighs
        .iter()
        .filter(|(k, (_, owned))| *owned && !desired.neighbours.contains_key(**k))
        .map(|(_, (n, _))| Op::DeleteNeigh(n.clone()));
    let neigh_adds = desired
        .neighbours
        .iter()
        .filter_map(|(k, want)| match neighs.get(k) {
            None => Some(Op::AddNeigh(want.clone())),
            Some((have, owned)) if !*owned || !want.satisfied_by(have) => {
                Some(Op::ReplaceNeigh(want.clone()))
            }
            Some(_) => None,
        });

    // FDB entries of a deleted link disappear with it.
    let fdbs: BTreeMap<&FdbKey, &(Fdb, bool)> = observed
        .fdb
        .iter()
        .filter(|(k, _)| !gone.contains(k.link.as_str()))
        .collect();
    let fdb_deletes = fdbs
        .iter()
        .filter(|(k, (_, owned))| *owned && !desired.fdb.contains_key(**k))
        .map(|(_, (f, _))| Op::DeleteFdb(f.clone()));
    let fdb_adds = desired.fdb.iter().filter_map(|(k, want)| {
        let want = normalize_fdb(want, desired);
        match fdbs.get(k) {
            None => Some(Op::AddFdb(want)),
            // A flood-list entry is identified by its key entirely: present is enough.
            Some(_) if want.is_flood() => None,
            Some((have, owned)) if !*owned || *have != want => Some(Op::ReplaceFdb(want)),
            Some(_) => None,
        }
    });

    let mut ops: Vec<Op> = fdb_deletes.collect();
    ops.extend(neigh_deletes);
    ops.extend(route_deletes);
    ops.extend(addr_deletes);
    ops.extend(link_deletes);
    ops.extend(link_ops);
    ops.extend(sysctl_ops);
    ops.extend(addr_adds);
    ops.extend(route_adds);
    ops.extend(neigh_adds);
    ops.extend(fdb_adds);
    Ok(ops)
}

/// `vni: Some(the device's own VNI)` is written as `None`: the kernel reports `NDA_VNI` only
/// when it differs from the device's VNI. A bridge entry has neither VTEP nor VNI (they are
/// not written, and read back as `None`).
fn normalize_fdb(fdb: &Fdb, desired: &DesiredState) -> Fdb {
    let mut f = fdb.clone();
    if f.is_bridge() {
        f.dst = None;
        f.vni = None;
    }
    if let (Some(v), Some(link)) = (f.vni, desired.links.get(&f.link)) {
        if matches!(link.kind, LinkKind::Vxlan { vni, .. } if vni == v) {
            f.vni = None;
        }
    }
    f
}

/// Desired links ordered so that a link's master and VXLAN underlay device come before it.
fn order_links(desired: &DesiredState) -> Result<Vec<&Link>, DataplaneError> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::with_capacity(desired.links.len());
    let mut pending: Vec<&Link> = desired.links.values().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|link| {
            let ready = link
                .dependencies()
                .all(|d| done.contains(d) || !desired.links.contains_key(d));
            if ready {
                done.insert(link.name.as_str());
                out.push(*link);
            }
            !ready
        });
        if pending.len() == before {
            let names = pending.iter().map(|l| l.name.as_str()).collect::<Vec<_>>();
            return Err(DataplaneError::Cycle(names.join(", ")));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{LinkKind, NextHop, ObservedLink};
    use std::net::IpAddr;

    fn vx(vni: u32) -> LinkKind {
        LinkKind::Vxlan {
            vni,
            local: Some("100.65.0.1".parse().unwrap()),
            dev: Some("lo".into()),
            dstport: 4789,
            learning: false,
        }
    }

    fn observed(links: &[(&Link, u32, bool)]) -> ObservedState {
        let mut o = ObservedState::default();
        for (l, index, owned) in links {
            o.links.insert(
                l.name.clone(),
                ObservedLink {
                    link: (*l).clone(),
                    index: *index,
                    owned: *owned,
                },
            );
        }
        o
    }

    #[test]
    fn a_route_via_an_address_is_not_rewritten_for_the_device_the_kernel_chose() {
        let via =
            |ip: &str, dev: Option<&str>| NextHop::via(ip.parse().unwrap(), dev.map(String::from));
        let want = Route::unicast(
            254,
            "10.0.0.0/24".parse().unwrap(),
            vec![via("192.0.2.1", None)],
        )
        .with_metric(20);
        let mut o = ObservedState::default();
        let have = Route::unicast(
            254,
            "10.0.0.0/24".parse().unwrap(),
            vec![via("192.0.2.1", Some("ul"))],
        )
        .with_metric(20);
        o.routes.insert(have.key(), have);
        let mut d = DesiredState::new();
        d.add_route(want.clone());
        assert!(
            plan(&d, &o).unwrap().is_empty(),
            "the kernel's dev is not a difference"
        );
        // A different gateway, or a device the route names, still is.
        let mut d2 = DesiredState::new();
        d2.add_route(
            Route::unicast(
                254,
                "10.0.0.0/24".parse().unwrap(),
                vec![via("192.0.2.9", None)],
            )
            .with_metric(20),
        );
        assert_eq!(plan(&d2, &o).unwrap().len(), 1);
        let mut d3 = DesiredState::new();
        d3.add_route(
            Route::unicast(
                254,
                "10.0.0.0/24".parse().unwrap(),
                vec![via("192.0.2.1", Some("other"))],
            )
            .with_metric(20),
        );
        assert_eq!(plan(&d3, &o).unwrap().len(), 1);
    }

    #[test]
    fn creates_in_dependency_order() {
        let mut d = DesiredState::new();
        d.add_link(Link::new("vni100", vx(100)).with_master("br-pe-100").up());
        d.add_link(
            Link::new("br-pe-100", LinkKind::Bridge)
                .with_master("red")
                .up(),
        );
        d.add_link(Link::new("red", LinkKind::Vrf { table: 1 }).up());
        let ops = plan(&d, &ObservedState::default()).unwrap();
        let names: Vec<_> = ops
            .iter()
            .filter_map(|op| match op {
                Op::CreateLink(l) => Some(l.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["red", "br-pe-100", "vni100"]);
    }

    #[test]
    fn cycle_is_an_error() {
        let mut d = DesiredState::new();
        d.add_link(Link::new("a", LinkKind::Bridge).with_master("b"));
        d.add_link(Link::new("b", LinkKind::Bridge).with_master("a"));
        assert!(matches!(
            plan(&d, &ObservedState::default()),
            Err(DataplaneError::Cycle(_))
        ));
    }

    #[test]
    fn identical_state_is_a_noop() {
        let br = Link::new("br", LinkKind::Bridge).with_mtu(1450).up();
        let mut d = DesiredState::new();
        d.add_link(br.clone());
        let o = observed(&[(&br, 7, true)]);
        assert_eq!(plan(&d, &o).ok(), Some(vec![]));
    }

    #[test]
    fn mtu_change_is_in_place() {
        let br = Link::new("br", LinkKind::Bridge).with_mtu(1450).up();
        let mut d = DesiredState::new();
        d.add_link(br.clone().with_mtu(1400));
        let o = observed(&[(&br, 7, true)]);
        let ops = plan(&d, &o).unwrap();
        assert_eq!(
            ops,
            vec![Op::ModifyLink(LinkChange {
                name: "br".into(),
                index: 7,
                mtu: Some(1400),
                master: None,
                up: None,
                mac: None,
                addr_gen_mode: None,
                port: BridgePort::default(),
                mark_owned: false,
            })]
        );
    }

    #[test]
    fn foreign_link_with_other_kind_is_a_conflict() {
        let mut d = DesiredState::new();
        d.add_link(Link::new("x", LinkKind::Bridge));
        let foreign = Link::new("x", vx(5));
        assert!(matches!(
            plan(&d, &observed(&[(&foreign, 3, false)])),
            Err(DataplaneError::Conflict { .. })
        ));
        // Owned: recreated.
        let ops = plan(&d, &observed(&[(&foreign, 3, true)])).unwrap();
        assert_eq!(ops.len(), 2);
        assert!(matches!(ops.first(), Some(Op::DeleteLink { index: 3, .. })));
        assert!(matches!(ops.get(1), Some(Op::CreateLink(_))));
    }

    #[test]
    fn foreign_links_are_never_deleted_and_are_adopted_when_desired() {
        let foreign = Link::new("eth0", LinkKind::Bridge);
        let o = observed(&[(&foreign, 2, false)]);
        assert_eq!(plan(&DesiredState::new(), &o).ok(), Some(vec![]));
        let mut d = DesiredState::new();
        d.add_link(foreign.clone());
        let ops = plan(&d, &o).unwrap();
        assert!(matches!(ops.as_slice(), [Op::ModifyLink(c)] if c.mark_owned));
    }

    #[test]
    fn vxlan_parameter_change_recreates() {
        let old = Link::new("vni1", vx(1));
        let mut d = DesiredState::new();
        d.add_link(Link::new("vni1", vx(2)));
        let ops = plan(&d, &observed(&[(&old, 9, true)])).unwrap();
        assert!(matches!(
            ops.as_slice(),
            [Op::DeleteLink { .. }, Op::CreateLink(_)]
        ));
    }

    #[test]
    fn unmarked_addresses_and_routes_of_deleted_links_are_left_alone() {
        let br = Link::new("br", LinkKind::Bridge);
        let mut o = observed(&[(&br, 4, true)]);
        let ours = Address::new("br", "192.0.2.1/24".parse().unwrap());
        let theirs = Address::new("br", "192.0.2.2/24".parse().unwrap());
        o.addresses.insert(ours.clone(), true);
        o.addresses.insert(theirs, false);
        let r = Route::unicast(
            100,
            "198.51.100.0/24".parse().unwrap(),
            vec![NextHop::dev("br")],
        );
        o.routes.insert(r.key(), r);
        let mut d = DesiredState::new();
        d.add_link(br.clone());
        let ops = plan(&d, &o).unwrap();
        assert_eq!(ops.len(), 2);
        assert!(matches!(ops.first(), Some(Op::DeleteRoute(_))));
        assert_eq!(ops.get(1), Some(&Op::DeleteAddress(ours)));
        // Link deleted: its addresses and routes go with it, no explicit deletes.
        let ops = plan(&DesiredState::new(), &o).unwrap();
        assert!(matches!(ops.as_slice(), [Op::DeleteLink { .. }]));
    }

    #[test]
    fn route_change_is_a_replace() {
        let dst = "198.51.100.0/24".parse().unwrap();
        let a = Route::unicast(100, dst, vec![NextHop::dev("a")]);
        let b = Route::unicast(100, dst, vec![NextHop::dev("b")]);
        let mut o = ObservedState::default();
        o.routes.insert(a.key(), a);
        let mut d = DesiredState::new();
        d.add_route(b.clone());
        assert_eq!(plan(&d, &o).ok(), Some(vec![Op::ReplaceRoute(b)]));
    }

    #[test]
    fn managed_neighbours_convert_learned_entries_and_ignore_the_kernels_mac() {
        let br = Link::new("br", LinkKind::Bridge);
        let ip: IpAddr = "192.0.2.5".parse().unwrap();
        let mac = MacAddr([2, 0, 0, 0, 0, 5]);
        let want = Neigh::managed("br", ip, mac);
        let mut d = DesiredState::new();
        d.add_link(br.clone());
        d.add_neigh(want.clone());

        // The kernel learned the host (not ours): converted in place.
        let mut o = observed(&[(&br, 3, true)]);
        let learned = Neigh::new("br", ip, mac);
        o.neighbours.insert(learned.key(), (learned, false));
        assert_eq!(
            plan(&d, &o).ok(),
            Some(vec![Op::ReplaceNeigh(want.clone())])
        );

        // Ours and managed, whatever MAC the kernel holds now (even none): nothing to do.
        for kernel_mac in [mac, MacAddr::ZERO, MacAddr([2, 0, 0, 0, 0, 6])] {
            let mut o = observed(&[(&br, 3, true)]);
            let have = Neigh::managed("br", ip, kernel_mac);
            o.neighbours.insert(have.key(), (have, true));
            assert_eq!(plan(&d, &o).ok(), Some(vec![]), "kernel MAC {kernel_mac:?}");
            // Gone from the desired state: deleted (it is ours).
            let mut d2 = DesiredState::new();
            d2.add_link(br.clone());
            let ops = plan(&d2, &o).unwrap();
            assert!(
                matches!(ops.as_slice(), [Op::DeleteNeigh(n)] if n.ip == ip),
                "{ops:?}"
            );
        }

        // Ours but static (a remote host's entry): replaced by the managed one, and back.
        let mut o = observed(&[(&br, 3, true)]);
        let stat = Neigh::new("br", ip, mac);
        o.neighbours.insert(stat.key(), (stat.clone(), true));
        assert_eq!(
            plan(&d, &o).ok(),
            Some(vec![Op::ReplaceNeigh(want.clone())])
        );
        let mut o = observed(&[(&br, 3, true)]);
        o.neighbours.insert(want.key(), (want, true));
        let mut d3 = DesiredState::new();
        d3.add_link(br);
        d3.add_neigh(stat.clone());
        assert_eq!(plan(&d3, &o).ok(), Some(vec![Op::ReplaceNeigh(stat)]));
    }

    #[test]
    fn fdb_and_neighbours_create_replace_delete_only_ours() {
        let vtep = "10.0.0.2".parse().unwrap();
        let vx = Link::new("vx", vx(100));
        let mut o = observed(&[(&vx, 5, true)]);
        let mac = MacAddr([2, 0, 0, 0, 0, 2]);
        // Ours (ext_learned) at another VTEP, a foreign one, a foreign neighbour, our flood.
        let ours = Fdb::unicast("vx", mac, "10.0.0.9".parse().unwrap());
        o.fdb.insert(ours.key(), (ours, true));
        let theirs = Fdb::unicast("vx", MacAddr([2, 0, 0, 0, 0, 9]), vtep);
        o.fdb.insert(theirs.key(), (theirs, false));
        let flood_old = Fdb::flood("vx", "10.0.0.3".parse().unwrap());
        o.fdb.insert(flood_old.key(), (flood_old.clone(), true));
        let n_theirs = Neigh::new("vx", "192.0.2.9".parse().unwrap(), mac);
        o.neighbours.insert(n_theirs.key(), (n_theirs, false));

        let mut d = DesiredState::new();
        d.add_link(vx.clone());
        let want = Fdb::unicast("vx", mac, vtep);
        d.add_fdb(want.clone());
        // Own VNI is the same as no VNI: no diff once written.
        let mut flood = Fdb::flood("vx", vtep);
        flood.vni = Some(100);
        d.add_fdb(flood);
        let n = Neigh::new("vx", "192.0.2.2".parse().unwrap(), mac);
        d.add_neigh(n.clone());
        let ops = plan(&d, &o).unwrap();
        assert_eq!(
            ops,
            vec![
                Op::DeleteFdb(flood_old),
                Op::AddNeigh(n.clone()),
                Op::AddFdb(Fdb::flood("vx", vtep)), // the zero MAC sorts first
                Op::ReplaceFdb(want.clone()),
            ]
        );

        // A foreign entry at a desired key is replaced (adopted); an equal owned one is kept.
        let mut o2 = observed(&[(&vx, 5, true)]);
        o2.fdb.insert(want.key(), (want.clone(), false));
        o2.neighbours.insert(n.key(), (n.clone(), true));
        let mut d2 = DesiredState::new();
        d2.add_link(vx.clone());
        d2.add_fdb(want.clone());
        d2.add_neigh(n);
        assert_eq!(plan(&d2, &o2).ok(), Some(vec![Op::ReplaceFdb(want)]));

        // Entries of a deleted link go with it: no explicit deletes.
        let ops = plan(&DesiredState::new(), &o).unwrap();
        assert!(matches!(ops.as_slice(), [Op::DeleteLink { .. }]), "{ops:?}");
    }

    #[test]
    fn bridge_fdb_entries_are_distinct_from_the_devices_and_owned_by_extern_learn() {
        let br = Link::new("br", LinkKind::Bridge);
        let vx = Link::new("vx", vx(100)).with_master("br");
        let mut o = observed(&[(&br, 4, true), (&vx, 5, true)]);
        let mac = MacAddr([2, 0, 0, 0, 0, 2]);
        let vtep = "10.0.0.2".parse().unwrap();
        let device = Fdb::unicast("vx", mac, vtep);
        let bridge = Fdb::bridge("vx", mac);
        assert_ne!(device.key(), bridge.key());
        assert!(bridge.is_bridge() && !bridge.is_flood());
        assert!(!Fdb::bridge("vx", MacAddr::ZERO).is_flood());
        o.fdb.insert(device.key(), (device.clone(), true));
        o.fdb.insert(bridge.key(), (bridge.clone(), true));

        // A VTEP or VNI given to a bridge entry is meaningless: not a difference.
        let mut d = DesiredState::new();
        d.add_link(br.clone()).add_link(vx.clone());
        let mut odd = bridge.clone();
        odd.dst = Some(vtep);
        odd.vni = Some(5000);
        d.add_fdb(device.clone()).add_fdb(odd);
        assert_eq!(plan(&d, &o).ok(), Some(vec![]));
        o.fdb.remove(&bridge.key());

        // The device's entry exists: only the bridge's is added.
        let mut d = DesiredState::new();
        d.add_link(br.clone()).add_link(vx.clone());
        d.add_fdb(device.clone()).add_fdb(bridge.clone());
        assert_eq!(plan(&d, &o).ok(), Some(vec![Op::AddFdb(bridge.clone())]));

        // A learned (not extern_learn) bridge entry on the port is adopted in one write.
        o.fdb.insert(bridge.key(), (bridge.clone(), false));
        assert_eq!(
            plan(&d, &o).ok(),
            Some(vec![Op::ReplaceFdb(bridge.clone())])
        );
        o.fdb.insert(bridge.key(), (bridge.clone(), true));
        assert_eq!(plan(&d, &o).ok(), Some(vec![]));

        // Dropped from the desired state: deleted, the device's entry stays; a learned entry
        // on another port (not ours) is never touched.
        let other = Fdb::bridge("veth0", MacAddr([2, 0, 0, 0, 0, 3]));
        o.fdb.insert(other.key(), (other, false));
        let mut d2 = DesiredState::new();
        d2.add_link(br).add_link(vx).add_fdb(device);
        assert_eq!(plan(&d2, &o).ok(), Some(vec![Op::DeleteFdb(bridge)]));
    }

    #[test]
    fn external_links_are_changed_never_marked_created_or_deleted() {
        let lo = Link::new("lo", LinkKind::Other(String::new()));
        let o = observed(&[(&lo, 1, false)]);
        let mut d = DesiredState::new();
        d.add_link(Link::external("lo").up());
        let ops = plan(&d, &o).unwrap();
        assert!(
            matches!(ops.as_slice(), [Op::ModifyLink(c)] if c.up == Some(true) && !c.mark_owned),
            "{ops:?}"
        );
        let mut up = lo.clone();
        up.up = true;
        assert_eq!(plan(&d, &observed(&[(&up, 1, false)])).ok(), Some(vec![]));
        let mut missing = DesiredState::new();
        missing.add_link(Link::external("eth9"));
        assert!(matches!(
            plan(&missing, &o),
            Err(DataplaneError::MissingLink { .. })
        ));
    }

    #[test]
    fn port_flags_and_gen_mode_change_only_what_differs() {
        let mut have = Link::new("vx", vx(1)).with_master("br");
        have.port = BridgePort {
            learning: Some(true),
            neigh_suppress: Some(false),
        };
        have.addr_gen_mode = Some(AddrGenMode::Eui64);
        let br = Link::new("br", LinkKind::Bridge);
        let o = observed(&[(&have, 5, true), (&br, 4, true)]);
        let mut d = DesiredState::new();
        d.add_link(br.clone());
        d.add_link(
            Link::new("vx", vx(1))
                .with_master("br")
                .with_addr_gen_mode(AddrGenMode::None)
                .with_port(BridgePort {
                    learning: None,
                    neigh_suppress: Some(true),
                }),
        );
        let ops = plan(&d, &o).unwrap();
        let [Op::ModifyLink(c)] = ops.as_slice() else {
            panic!("{ops:?}")
        };
        assert_eq!(c.addr_gen_mode, Some(AddrGenMode::None));
        assert_eq!(
            c.port,
            BridgePort {
                learning: None,
                neigh_suppress: Some(true)
            }
        );
        assert!(c.mtu.is_none() && c.master.is_none() && c.up.is_none());
    }

    #[test]
    fn ipv6_addresses_of_a_remastered_link_are_added_again() {
        let vrf = Link::new("red", LinkKind::Vrf { table: 1 });
        let veth = Link::new("pe", LinkKind::Bridge);
        let mut o = observed(&[(&vrf, 2, true), (&veth, 3, true)]);
        let v4 = Address::new("pe", "192.0.2.1/24".parse().unwrap());
        let v6 = Address::new("pe", "2001:db8::1/64".parse().unwrap());
        o.addresses.insert(v4.clone(), true);
        o.addresses.insert(v6.clone(), true);
        let mut d = DesiredState::new();
        d.add_link(vrf.clone());
        d.add_link(veth.clone().with_master("red"));
        d.add_address(v4.clone());
        d.add_address(v6.clone());
        let ops = plan(&d, &o).unwrap();
        assert!(
            matches!(ops.as_slice(), [Op::ModifyLink(c), Op::AddAddress(a)] if c.name == "pe" && *a == v6),
            "{ops:?}"
        );
        // Without a master change nothing is added.
        let mut same = d.clone();
        same.add_link(veth.clone());
        assert_eq!(plan(&same, &o).ok(), Some(vec![]));
    }

    #[test]
    fn sysctls_written_when_different_after_links() {
        let mut d = DesiredState::new();
        d.add_link(Link::new("br", LinkKind::Bridge));
        d.set_sysctl("net.ipv4.conf.br.arp_accept", "1");
        d.set_sysctl("net/ipv4/conf/all/forwarding", "1");
        let mut o = ObservedState::default();
        o.sysctls
            .insert("net/ipv4/conf/all/forwarding".into(), "1".into());
        let ops = plan(&d, &o).unwrap();
        assert!(matches!(ops.first(), Some(Op::CreateLink(_))), "{ops:?}");
        assert_eq!(
            ops.get(1),
            Some(&Op::SetSysctl {
                key: "net/ipv4/conf/br/arp_accept".into(),
                value: "1".into()
            })
        );
        assert_eq!(ops.len(), 2);
    }
}
