//! An in-memory [`Dataplane`]: a fake kernel that executes the same plan as the netlink one.
//!
//! For unit tests of the layers above (evpn, router): they can assert on
//! [`MemoryDataplane::current`] and on the [`ApplyReport`] without root or a kernel.

use tracing::debug;

use crate::error::DataplaneError;
use crate::model::{
    Address, DesiredState, Fdb, FdbTable, Link, Neigh, ObservedLink, ObservedState,
};
use crate::plan::{plan, Op};
use crate::report::ApplyReport;
use crate::Dataplane;

/// A fake kernel namespace holding links, addresses and our routes.
#[derive(Debug, Clone)]
pub struct MemoryDataplane {
    state: ObservedState,
    next_index: u32,
    writes: usize,
}

impl Default for MemoryDataplane {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDataplane {
    /// An empty namespace with only `lo` (index 1, not ours).
    pub fn new() -> Self {
        let mut dp = MemoryDataplane {
            state: ObservedState::default(),
            next_index: 1,
            writes: 0,
        };
        dp.add_foreign_link(Link::new("lo", crate::model::LinkKind::Other(String::new())).up());
        dp
    }

    /// Adds a link someone else created (no ownership mark); returns its index.
    pub fn add_foreign_link(&mut self, link: Link) -> u32 {
        let index = self.alloc_index();
        self.state.links.insert(
            link.name.clone(),
            ObservedLink {
                link,
                index,
                owned: false,
            },
        );
        index
    }

    /// Adds an address someone else configured (no protocol mark).
    pub fn add_foreign_address(&mut self, address: Address) {
        self.state.addresses.insert(address, false);
    }

    /// Adds a neighbour entry someone else made (ARP-learned, static): not ours.
    pub fn add_foreign_neigh(&mut self, neigh: Neigh) {
        self.state.neighbours.insert(neigh.key(), (neigh, false));
    }

    /// Adds an FDB entry someone else made (`permanent` without `extern_learn`, or for a
    /// bridge entry learned from traffic): not ours, unless it is a flood-list entry on a
    /// VXLAN device we own (the kernel cannot tell).
    pub fn add_foreign_fdb(&mut self, fdb: Fdb) {
        let owned = fdb.is_flood() && self.state.links.get(&fdb.link).is_some_and(|l| l.owned);
        self.state.fdb.insert(fdb.key(), (fdb, owned));
    }

    /// Everything in the fake namespace, owned or not.
    pub fn all(&self) -> &ObservedState {
        &self.state
    }

    /// A sysctl's value as last written (`None` if never written).
    pub fn sysctl(&self, key: &str) -> Option<&str> {
        self.state.sysctls.get(key).map(String::as_str)
    }

    /// Total writes since creation.
    pub fn total_writes(&self) -> usize {
        self.writes
    }

    fn alloc_index(&mut self) -> u32 {
        self.next_index = self.next_index.saturating_add(1);
        self.next_index.saturating_sub(1)
    }

    fn require_link(&self, object: &str, link: &str) -> Result<(), DataplaneError> {
        if self.state.links.contains_key(link) {
            Ok(())
        } else {
            Err(DataplaneError::MissingLink {
                object: object.to_owned(),
                link: link.to_owned(),
            })
        }
    }

    fn master_of(&self, link: &str) -> Option<&str> {
        self.state.links.get(link)?.link.master.as_deref()
    }

    fn is_bridge_port(&self, link: &str) -> bool {
        self.master_of(link)
            .and_then(|m| self.state.links.get(m))
            .is_some_and(|b| matches!(b.link.kind, crate::model::LinkKind::Bridge))
    }

    /// Like the kernel: a port leaving its bridge (or the bridge being deleted) takes the
    /// bridge's entries for the port with it.
    fn drop_bridge_entries(&mut self, port: &str) {
        self.state
            .fdb
            .retain(|k, _| k.table != FdbTable::Bridge || k.link != port);
    }

    fn execute(&mut self, op: &Op) -> Result<(), DataplaneError> {
        match op {
            Op::DeleteRoute(r) => {
                self.state.routes.remove(&r.key());
            }
            Op::DeleteAddress(a) => {
                self.state.addresses.remove(a);
            }
            Op::DeleteLink { name, .. } => {
                self.state.links.remove(name);
                self.state.addresses.retain(|a, _| a.link != *name);
                self.state
                    .routes
                    .retain(|_, r| !r.devices().any(|d| d == name));
                self.state.neighbours.retain(|k, _| k.link != *name);
                self.state.fdb.retain(|k, _| k.link != *name);
                let mut ports = Vec::new();
                for l in self.state.links.values_mut() {
                    if l.link.master.as_deref() == Some(name) {
                        l.link.master = None;
                        ports.push(l.link.name.clone());
                    }
                }
                for port in ports {
                    self.drop_bridge_entries(&port);
                }
            }
            Op::CreateLink(link) => {
                let object = format!("link {}", link.name);
                for dep in link.dependencies() {
                    self.require_link(&object, dep)?;
                }
                let index = self.alloc_index();
                self.state.links.insert(
                    link.name.clone(),
                    ObservedLink {
                        link: link.clone(),
                        index,
                        owned: true,
                    },
                );
            }
            Op::ModifyLink(change) => {
                let object = format!("link {}", change.name);
                if let Some(Some(master)) = &change.master {
                    self.require_link(&object, master)?;
                }
                let old_master = self
                    .state
                    .links
                    .get(&change.name)
                    .and_then(|l| l.link.master.clone());
                let Some(l) = self.state.links.get_mut(&change.name) else {
                    return Err(DataplaneError::MissingLink {
                        object,
                        link: change.name.clone(),
                    });
                };
                if let Some(mtu) = change.mtu {
                    l.link.mtu = Some(mtu);
                }
                let master_changed = change.master.as_ref().is_some_and(|m| *m != l.link.master);
                if let Some(master) = &change.master {
                    l.link.master.clone_from(master);
                }
                let cycled = change.master.is_some();
                if let Some(up) = change.up {
                    l.link.up = up;
                }
                if let Some(mac) = change.mac {
                    l.link.mac = Some(mac);
                }
                if let Some(mode) = change.addr_gen_mode {
                    l.link.addr_gen_mode = Some(mode);
                }
                if let Some(v) = change.port.learning {
                    l.link.port.learning = Some(v);
                }
                if let Some(v) = change.port.neigh_suppress {
                    l.link.port.neigh_suppress = Some(v);
                }
                l.owned |= change.mark_owned;
                if master_changed {
                    self.drop_bridge_entries(&change.name);
                }
                // Like the kernel: a link entering or leaving a VRF is cycled and loses its
                // IPv6 addresses.
                let vrf_involved = |name: &Option<String>| {
                    name.as_ref()
                        .and_then(|n| self.state.links.get(n))
                        .is_some_and(|m| matches!(m.link.kind, crate::model::LinkKind::Vrf { .. }))
                };
                if cycled
                    && (vrf_involved(&change.master.clone().flatten()) || vrf_involved(&old_master))
                {
                    let name = change.name.clone();
                    self.state
                        .addresses
                        .retain(|a, _| a.link != name || a.addr.addr().is_ipv4());
                }
            }
            Op::AddAddress(a) => {
                self.require_link(&format!("address {} on {}", a.addr, a.link), &a.link)?;
                self.state.addresses.insert(a.clone(), true);
            }
            Op::AddRoute(r) | Op::ReplaceRoute(r) => {
                let object = format!("route {} table {}", r.dst, r.table);
                for dev in r.devices() {
                    self.require_link(&object, dev)?;
                }
                self.state.routes.insert(r.key(), r.clone());
            }
            Op::DeleteNeigh(n) => {
                self.state.neighbours.remove(&n.key());
                if n.managed && !n.mac.is_zero() {
                    // Released, as the kernel backend does: the plain learned entry, not ours.
                    let plain = Neigh::new(n.link.clone(), n.ip, n.mac);
                    self.state.neighbours.insert(plain.key(), (plain, false));
                }
            }
            Op::AddNeigh(n) | Op::ReplaceNeigh(n) => {
                self.require_link(&format!("neighbour {} on {}", n.ip, n.link), &n.link)?;
                self.state.neighbours.insert(n.key(), (n.clone(), true));
            }
            Op::DeleteFdb(f) => {
                self.state.fdb.remove(&f.key());
            }
            Op::AddFdb(f) | Op::ReplaceFdb(f) => {
                let object = format!("fdb {} on {}", f.mac, f.link);
                self.require_link(&object, &f.link)?;
                if f.is_bridge() && !self.is_bridge_port(&f.link) {
                    // The kernel: `NTF_MASTER` on a device that is not a bridge port.
                    return Err(DataplaneError::Kernel {
                        op: "add fdb",
                        object,
                        errno: libc::EOPNOTSUPP,
                        source: std::io::Error::from_raw_os_error(libc::EOPNOTSUPP),
                    });
                }
                if f.is_bridge() {
                    // One bridge entry per MAC: ours takes over a learned one on another port.
                    let master = self.master_of(&f.link);
                    let taken: Vec<_> = self
                        .state
                        .fdb
                        .keys()
                        .filter(|k| {
                            k.table == FdbTable::Bridge
                                && k.mac == f.mac
                                && k.link != f.link
                                && self.master_of(&k.link) == master
                        })
                        .cloned()
                        .collect();
                    for k in taken {
                        self.state.fdb.remove(&k);
                    }
                }
                self.state.fdb.insert(f.key(), (f.clone(), true));
            }
            Op::SetSysctl { key, value } => {
                self.state.sysctls.insert(key.clone(), value.clone());
            }
        }
        Ok(())
    }
}

impl Dataplane for MemoryDataplane {
    async fn apply(&mut self, desired: &DesiredState) -> Result<ApplyReport, DataplaneError> {
        let ops = plan(desired, &self.state)?;
        let mut report = ApplyReport::default();
        for op in &ops {
            debug!(?op, "memory dataplane write");
            self.execute(op)?;
            self.writes += 1;
            report.record(op);
        }
        Ok(report)
    }

    async fn current(&mut self) -> Result<ObservedState, DataplaneError> {
        Ok(self.state.clone().owned_only())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{LinkKind, NextHop, Route};
    use crate::report::Counts;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn l3vni() -> DesiredState {
        let mut d = DesiredState::new();
        d.add_link(Link::new("red", LinkKind::Vrf { table: 1 }).up());
        d.add_link(
            Link::new("br-pe-100", LinkKind::Bridge)
                .with_master("red")
                .up(),
        );
        d.add_link(
            Link::new(
                "vni100",
                LinkKind::Vxlan {
                    vni: 100,
                    local: Some("100.65.0.1".parse().unwrap()),
                    dev: Some("lo".into()),
                    dstport: 4789,
                    learning: false,
                },
            )
            .with_master("br-pe-100")
            .up(),
        );
        d.add_link(
            Link::new(
                "pe-e-100",
                LinkKind::Veth {
                    peer: "host-e-100".into(),
                    peer_netns: None,
                },
            )
            .with_master("red")
            .with_mtu(1450)
            .up(),
        );
        d.add_address(Address::new("pe-e-100", "192.169.10.1/24".parse().unwrap()));
        d.add_address(Address::new("lo", "100.65.0.1/32".parse().unwrap()));
        d.add_route(Route::unicast(
            1,
            "10.1.0.0/24".parse().unwrap(),
            vec![NextHop {
                via: Some("100.65.0.2".parse().unwrap()),
                dev: Some("br-pe-100".into()),
                onlink: true,
            }],
        ));
        d
    }

    #[test]
    fn apply_is_idempotent() {
        block_on(async {
            let mut dp = MemoryDataplane::new();
            let d = l3vni();
            let r = dp.apply(&d).await.unwrap();
            assert_eq!(
                r.links,
                Counts {
                    created: 4,
                    ..Counts::default()
                }
            );
            assert_eq!(r.addresses.created, 2);
            assert_eq!(r.routes.created, 1);
            assert_eq!(r.writes, 7);
            let r = dp.apply(&d).await.unwrap();
            assert!(r.is_noop(), "{r:?}");
            let cur = dp.current().await.unwrap();
            assert_eq!(cur.links.len(), 4);
            assert!(!cur.links.contains_key("lo"));
            assert_eq!(cur.addresses.len(), 2);
        });
    }

    #[test]
    fn mtu_change_updates_in_place() {
        block_on(async {
            let mut dp = MemoryDataplane::new();
            let mut d = l3vni();
            dp.apply(&d).await.unwrap();
            let before = dp.all().links.get("pe-e-100").unwrap().index;
            d.add_link(d.links.get("pe-e-100").unwrap().clone().with_mtu(1400));
            let r = dp.apply(&d).await.unwrap();
            assert_eq!(r.links.updated, 1);
            assert_eq!(r.writes, 1);
            let after = dp.all().links.get("pe-e-100").unwrap();
            assert_eq!(after.index, before);
            assert_eq!(after.link.mtu, Some(1400));
        });
    }

    #[test]
    fn empty_state_removes_only_ours() {
        block_on(async {
            let mut dp = MemoryDataplane::new();
            dp.add_foreign_address(Address::new("lo", "127.0.0.1/8".parse().unwrap()));
            dp.add_foreign_link(Link::new("eth0", LinkKind::Bridge).up());
            dp.apply(&l3vni()).await.unwrap();
            let r = dp.apply(&DesiredState::new()).await.unwrap();
            assert_eq!(r.links.deleted, 4);
            // The VTEP on lo is ours (marked) and deleted; the route went with its link.
            assert_eq!(r.addresses.deleted, 1);
            assert_eq!(r.routes.deleted, 0);
            let all = dp.all();
            assert!(all.links.contains_key("eth0") && all.links.contains_key("lo"));
            assert_eq!(all.addresses.len(), 1);
            assert!(all.routes.is_empty());
            assert!(dp.current().await.unwrap().links.is_empty());
        });
    }

    #[test]
    fn missing_master_is_reported() {
        block_on(async {
            let mut dp = MemoryDataplane::new();
            let mut d = DesiredState::new();
            d.add_link(Link::new("br", LinkKind::Bridge).with_master("nosuchvrf"));
            let err = dp.apply(&d).await.unwrap_err();
            assert!(
                matches!(&err, DataplaneError::MissingLink { link, .. } if link == "nosuchvrf"),
                "{err}"
            );
        });
    }

    #[test]
    fn adopts_foreign_link_with_matching_kind() {
        block_on(async {
            let mut dp = MemoryDataplane::new();
            let idx = dp.add_foreign_link(Link::new("br-pe-7", LinkKind::Bridge).up());
            let mut d = DesiredState::new();
            d.add_link(Link::new("br-pe-7", LinkKind::Bridge).up());
            let r = dp.apply(&d).await.unwrap();
            assert_eq!((r.links.updated, r.writes), (1, 1));
            let l = dp.all().links.get("br-pe-7").unwrap();
            assert!(l.owned);
            assert_eq!(l.index, idx);
            assert!(dp.apply(&d).await.unwrap().is_noop());
        });
    }

    #[test]
    fn fdb_and_neighbours_reconcile() {
        use crate::model::{Fdb, MacAddr, Neigh};
        block_on(async {
            let mut dp = MemoryDataplane::new();
            let mut d = l3vni();
            let mac = MacAddr([2, 0, 0, 0, 0, 2]);
            let vtep = "100.65.0.2".parse().unwrap();
            d.add_fdb(Fdb::unicast("vni100", mac, vtep));
            d.add_fdb(Fdb::flood("vni100", vtep));
            d.add_neigh(Neigh::new("br-pe-100", vtep, mac));
            let r = dp.apply(&d).await.unwrap();
            assert_eq!((r.fdb.created, r.neighbours.created), (2, 1));
            assert!(dp.apply(&d).await.unwrap().is_noop());
            dp.add_foreign_fdb(Fdb::unicast("vni100", MacAddr([2, 0, 0, 0, 0, 9]), vtep));
            dp.add_foreign_neigh(Neigh::new("br-pe-100", "10.0.0.9".parse().unwrap(), mac));
            let mut less = l3vni();
            less.add_fdb(Fdb::flood("vni100", vtep));
            let r = dp.apply(&less).await.unwrap();
            assert_eq!((r.fdb.deleted, r.neighbours.deleted, r.writes), (1, 1, 2));
            assert_eq!(dp.all().fdb.len(), 2);
            assert_eq!(dp.all().neighbours.len(), 1);
            let cur = dp.current().await.unwrap();
            assert_eq!((cur.fdb.len(), cur.neighbours.len()), (1, 0));
            // Deleting the link takes its entries along.
            dp.apply(&DesiredState::new()).await.unwrap();
            assert!(dp.all().fdb.is_empty() && dp.all().neighbours.is_empty());
        });
    }

    #[test]
    fn managed_neighbours_adopt_learned_entries_and_are_deleted_when_undesired() {
        use crate::model::{MacAddr, Neigh};
        block_on(async {
            let mut dp = MemoryDataplane::new();
            let ip = "10.0.0.9".parse().unwrap();
            let mac = MacAddr([2, 0, 0, 0, 0, 9]);
            let base = l3vni();
            dp.apply(&base).await.unwrap();
            // The kernel learned the host; the desired state converts it in place.
            dp.add_foreign_neigh(Neigh::new("br-pe-100", ip, mac));
            let mut d = base.clone();
            d.add_neigh(Neigh::managed("br-pe-100", ip, mac));
            let r = dp.apply(&d).await.unwrap();
            assert_eq!((r.neighbours.updated, r.writes), (1, 1), "{r:?}");
            assert!(dp.apply(&d).await.unwrap().is_noop());
            let cur = dp.current().await.unwrap();
            let kept: Vec<&Neigh> = cur.neighbours.values().map(|(n, _)| n).collect();
            assert_eq!(kept, [&Neigh::managed("br-pe-100", ip, mac)]);
            // No longer desired: released (the learned entry again, not ours).
            let r = dp.apply(&base).await.unwrap();
            assert_eq!(r.neighbours.deleted, 1, "{r:?}");
            let all: Vec<&(Neigh, bool)> = dp.all().neighbours.values().collect();
            assert_eq!(all, [&(Neigh::new("br-pe-100", ip, mac), false)]);
            assert!(dp.apply(&base).await.unwrap().is_noop());
            // Without a MAC (failed), it is deleted.
            dp.apply(&d).await.unwrap();
            let failed = Neigh::managed("br-pe-100", ip, MacAddr::ZERO);
            dp.state.neighbours.insert(failed.key(), (failed, true));
            dp.apply(&base).await.unwrap();
            assert!(dp.all().neighbours.is_empty());
        });
    }

    #[test]
    fn bridge_fdb_entries_take_over_learned_ones_and_leave_with_the_port() {
        use crate::model::{Fdb, MacAddr};
        block_on(async {
            let mut dp = MemoryDataplane::new();
            dp.add_foreign_link(Link::new("veth0", LinkKind::Other("veth".into())));
            let mut d = l3vni();
            let mac = MacAddr([2, 0, 0, 0, 0, 2]);
            let vtep = "100.65.0.2".parse().unwrap();
            // Created first, then made a port of the bridge: the learned entry of a local host.
            let r = dp.apply(&d).await.unwrap();
            assert!(r.writes > 0);
            let mut veth = dp.all().links["veth0"].link.clone();
            veth.master = Some("br-pe-100".into());
            dp.add_foreign_link(veth);
            dp.add_foreign_fdb(Fdb::bridge("veth0", mac));

            d.add_fdb(Fdb::unicast("vni100", mac, vtep));
            d.add_fdb(Fdb::bridge("vni100", mac));
            let r = dp.apply(&d).await.unwrap();
            assert_eq!((r.fdb.created, r.writes), (2, 2), "{r:?}");
            let bridge: Vec<_> = dp
                .all()
                .fdb
                .keys()
                .filter(|k| k.table == FdbTable::Bridge)
                .collect();
            assert_eq!(bridge.len(), 1, "the learned entry moved: {bridge:?}");
            assert_eq!(bridge[0].link, "vni100");
            assert!(dp.apply(&d).await.unwrap().is_noop());

            // Not a bridge port: refused, as the kernel does (EOPNOTSUPP).
            let mut bad = d.clone();
            bad.add_link(Link::new("lonely", LinkKind::Bridge));
            bad.add_fdb(Fdb::bridge("lonely", mac));
            let err = dp.apply(&bad).await.unwrap_err();
            assert!(
                matches!(&err, DataplaneError::Kernel { errno, .. } if *errno == libc::EOPNOTSUPP),
                "{err}"
            );

            // The port leaving the bridge takes the bridge's entry along, not the device's.
            let mut detached = d.clone();
            if let Some(l) = detached.links.get_mut("vni100") {
                l.master = None;
            }
            detached.fdb.retain(|_, f| !f.is_bridge());
            dp.apply(&detached).await.unwrap();
            assert!(dp.all().fdb.keys().all(|k| k.table == FdbTable::Device));
            assert_eq!(dp.all().fdb.len(), 1);
        });
    }
}
