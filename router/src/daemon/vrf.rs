//! VRF instances: one RIB per L3VNI VRF (OpenPERouter's `router bgp <asn> vrf <vrf>`), where
//! the VRF's host session lives, and the translation between it and the EVPN table:
//!
//! ```text
//!  host session ──routes──> VRF RIB ──best paths not imported──> type-5 in the default RIB
//!  type-5 best paths (RT match) ──insert_local(weight 0)──> VRF RIB ──> host (next hop self)
//!  VRF RIB best paths from the host ──> kernel: routes in the VRF table via the host
//! ```
//!
//! The VRF originates its `network`s (host-side addresses, L2VNI gateway subnets) as path 0
//! of [`rib::LOCAL`]; imported type-5 routes are other [`rib::LOCAL`] paths (one per prefix and
//! remote VTEP) with weight 0, so an originated route wins over an imported one and several
//! VTEPs announcing a prefix make several paths. A best path that was imported is never
//! exported again (no VRF-to-EVPN loop), the rule FRR applies to routes it imported.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp::rib::{self, Dest, Rib, RibConfig};
use bgp::transport::Listener;
use bgp::wire::{NextHop, PathAttributes};
use ipnet::IpNet;
use tokio::sync::mpsc;

use super::{originated_nlri, Actor, Input};

/// How often a VRF listener tries to bind again while its VRF device does not exist yet (the
/// kernel task creates it).
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// One VRF instance.
#[derive(Debug)]
pub(super) struct VrfInstance {
    /// The VRF's RIB (IPv4 and IPv6 unicast).
    pub(super) rib: Rib,
    /// The prefixes originated now (`Config::vrf_networks`).
    networks: Vec<IpNet>,
    /// Type-5 routes imported now: (prefix, remote VTEP) → local path id and attributes.
    imports: BTreeMap<(IpNet, IpAddr), (u32, PathAttributes)>,
    next_path_id: u32,
    /// Type-5 routes originated from this VRF's best paths, by prefix: the EVPN destination
    /// and what it was originated with.
    exported: BTreeMap<IpNet, (Dest, PathAttributes, NextHop)>,
    /// Routes for the VRF's kernel table: host-learned best paths, prefix → next hops.
    pub(super) kernel: BTreeMap<IpNet, Vec<IpAddr>>,
    /// The listener task bound to the VRF device.
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for VrfInstance {
    fn drop(&mut self) {
        if let Some(l) = &self.listener {
            l.abort();
        }
    }
}

impl VrfInstance {
    fn new(config: RibConfig) -> VrfInstance {
        let mut rib = Rib::new(config);
        rib.track_changes(true);
        VrfInstance {
            rib,
            networks: Vec::new(),
            imports: BTreeMap::new(),
            next_path_id: 1,
            exported: BTreeMap::new(),
            kernel: BTreeMap::new(),
            listener: None,
        }
    }
}

/// The attributes a type-5 route keeps when it is imported into a VRF: what a host needs to
/// see (origin, AS path, MED, communities); the EVPN extended communities stay behind.
pub(super) fn imported_attributes(a: &PathAttributes) -> PathAttributes {
    PathAttributes {
        origin: a.origin,
        as_path: a.as_path.clone(),
        med: a.med,
        communities: a.communities.clone(),
        large_communities: a.large_communities.clone(),
        ..PathAttributes::default()
    }
}

/// Accepts connections on `port` of VRF `vrf` (a dual-stack socket bound to the VRF device)
/// and hands them to the actor. Binding is retried until the device exists.
async fn listen(vrf: String, port: u16, tx: mpsc::Sender<Input>) {
    let addr = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    let listener = loop {
        match Listener::bind_on(addr, Some(&vrf)) {
            Ok(l) => break l,
            Err(e) => {
                tracing::debug!(vrf = %vrf, error = %e, "vrf listener not bound yet; retrying");
                tokio::time::sleep(LISTEN_RETRY).await;
            }
        }
    };
    tracing::info!(vrf = %vrf, address = %addr, "bgp listening in vrf");
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                if tx.send(Input::Incoming { stream, remote }).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(vrf = %vrf, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

impl Actor {
    /// Whether the default RIB must record changed destinations: the kernel task or a VRF
    /// instance follows them.
    pub(super) fn wants_changes(&self) -> bool {
        self.kernel.is_some() || !self.config.overlay.l3vnis.is_empty()
    }

    /// Creates the VRF instances of the configuration's L3VNIs that do not exist yet (with
    /// their listeners).
    pub(super) fn ensure_vrfs(&mut self) {
        let names: Vec<String> = self
            .config
            .overlay
            .l3vnis
            .iter()
            .map(|l| l.vrf.clone())
            .collect();
        for name in names {
            if self.vrfs.contains_key(&name) {
                continue;
            }
            let mut inst = VrfInstance::new(super::rib_config(&self.config));
            if self.config.listen.port != 0 {
                inst.listener = Some(tokio::spawn(listen(
                    name.clone(),
                    self.config.listen.port,
                    self.tx.clone(),
                )));
            }
            tracing::info!(vrf = %name, "vrf instance created");
            self.vrfs.insert(name, inst);
        }
    }

    /// Removes the VRF instances whose L3VNI left the configuration, withdrawing the type-5
    /// routes they exported. Their peers are gone already (the neighbour diff runs first).
    pub(super) fn prune_vrfs(&mut self) {
        let wanted: BTreeSet<&str> = self
            .config
            .overlay
            .l3vnis
            .iter()
            .map(|l| l.vrf.as_str())
            .collect();
        let gone: Vec<String> = self
            .vrfs
            .keys()
            .filter(|k| !wanted.contains(k.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(inst) = self.vrfs.remove(&name) {
                for (dest, _, _) in inst.exported.values() {
                    self.rib.withdraw_local(*dest);
                }
                tracing::info!(vrf = %name, "vrf instance removed");
            }
        }
    }

    /// Originates each VRF's `network`s and withdraws those no longer configured; with
    /// `reexport`, every destination is exported again (the EVPN view, RDs or RTs changed).
    pub(super) fn sync_vrf_networks(&mut self, reexport: bool) {
        let names: Vec<String> = self.vrfs.keys().cloned().collect();
        for name in names {
            let wanted = self.config.vrf_networks(&name);
            let Some(inst) = self.vrfs.get_mut(&name) else {
                continue;
            };
            for gone in inst.networks.iter().filter(|p| !wanted.contains(p)) {
                inst.rib.withdraw_local(originated_nlri(*gone).dest());
            }
            for new in wanted.iter().filter(|p| !inst.networks.contains(p)) {
                let attrs = PathAttributes {
                    origin: Some(bgp::wire::Origin::Igp),
                    ..Default::default()
                };
                inst.rib
                    .originate(originated_nlri(*new), attrs, NextHop::None);
            }
            inst.networks = wanted;
            if reexport {
                let mut dests: Vec<Dest> = Vec::new();
                for f in [
                    bgp::wire::Family::Ipv4Unicast,
                    bgp::wire::Family::Ipv6Unicast,
                ] {
                    dests.extend(inst.rib.table(f).map(|(d, _)| *d));
                }
                dests.extend(inst.exported.keys().map(|p| originated_nlri(*p).dest()));
                self.vrf_exports(&name, dests);
            }
        }
    }

    /// Puts the type-5 routes the default RIB selected into the VRF instances: `paths` are
    /// the imports with the attributes of their EVPN path. Only differences touch the VRF
    /// RIBs.
    pub(super) fn sync_vrf_imports(&mut self, paths: &[(evpn::type5::Imported, PathAttributes)]) {
        let mut wanted: BTreeMap<&str, BTreeMap<(IpNet, IpAddr), PathAttributes>> = BTreeMap::new();
        for (imp, attrs) in paths {
            wanted
                .entry(imp.vrf.as_str())
                .or_default()
                .insert((imp.prefix, imp.vtep), imported_attributes(attrs));
        }
        let empty = BTreeMap::new();
        for (name, inst) in &mut self.vrfs {
            let want = wanted.get(name.as_str()).unwrap_or(&empty);
            let gone: Vec<(IpNet, IpAddr)> = inst
                .imports
                .keys()
                .filter(|k| !want.contains_key(k))
                .copied()
                .collect();
            for key in gone {
                if let Some((id, _)) = inst.imports.remove(&key) {
                    inst.rib.remove_local(originated_nlri(key.0).dest(), id);
                }
            }
            for (key, attrs) in want {
                let id = match inst.imports.get(key) {
                    Some((_, a)) if a == attrs => continue,
                    Some((id, _)) => *id,
                    None => {
                        let id = inst.next_path_id;
                        inst.next_path_id = inst.next_path_id.saturating_add(1);
                        id
                    }
                };
                inst.rib
                    .insert_local(id, 0, originated_nlri(key.0), attrs.clone(), NextHop::None);
                inst.imports.insert(*key, (id, attrs.clone()));
            }
        }
    }

    /// Follows the VRF RIBs' changed destinations: exports and withdraws type-5 routes, and
    /// updates the routes for the VRF tables. Returns whether a VRF's kernel routes changed.
    pub(super) fn sync_vrf_changes(&mut self) -> bool {
        let mut kernel_changed = false;
        let names: Vec<String> = self.vrfs.keys().cloned().collect();
        for name in names {
            let changed = match self.vrfs.get_mut(&name) {
                Some(inst) => inst.rib.take_changes(),
                None => continue,
            };
            if changed.is_empty() {
                continue;
            }
            kernel_changed |= self.vrf_kernel_routes(&name, &changed);
            self.vrf_exports(&name, changed);
        }
        kernel_changed
    }

    /// Updates the kernel routes of VRF `name` for `dests`: a destination whose best path was
    /// learned from a host session goes to the VRF table via the selected host paths' next
    /// hops; anything else (originated, imported from EVPN, gone) is not a host route.
    fn vrf_kernel_routes(&mut self, name: &str, dests: &[Dest]) -> bool {
        let Some(inst) = self.vrfs.get_mut(name) else {
            return false;
        };
        let mut changed = false;
        for dest in dests {
            let prefix = match dest {
                Dest::Ipv4Unicast { prefix } => IpNet::V4(*prefix),
                Dest::Ipv6Unicast { prefix } => IpNet::V6(*prefix),
                _ => continue,
            };
            let hops: Vec<IpAddr> = match inst.rib.get(dest) {
                Some(e) if e.best().is_some_and(|b| b.source.peer != rib::LOCAL) => {
                    let mut h: Vec<IpAddr> = e
                        .selected
                        .iter()
                        .filter_map(|i| e.paths.get(*i))
                        .filter(|p| p.source.peer != rib::LOCAL)
                        .filter_map(|p| crate::overlay::next_hop_ip(&p.attrs.next_hop))
                        .collect();
                    h.sort();
                    h.dedup();
                    h
                }
                _ => Vec::new(),
            };
            let before = inst.kernel.get(&prefix);
            if hops.is_empty() {
                changed |= inst.kernel.remove(&prefix).is_some();
            } else if before != Some(&hops) {
                inst.kernel.insert(prefix, hops);
                changed = true;
            }
        }
        changed
    }

    /// Exports the best paths of `dests` in VRF `name` as type-5 routes into the default RIB
    /// (or withdraws them): a best path originated by the VRF or learned from its host session
    /// is exported; an imported one, or none, is not.
    fn vrf_exports(&mut self, name: &str, dests: Vec<Dest>) {
        let Some(evpn) = self.evpn.as_ref() else {
            return;
        };
        let Some(l3) = evpn.l3vnis.iter().find(|l| l.vrf == name) else {
            return;
        };
        let Some(inst) = self.vrfs.get_mut(name) else {
            return;
        };
        for dest in dests {
            let prefix = match dest {
                Dest::Ipv4Unicast { prefix } => IpNet::V4(prefix),
                Dest::Ipv6Unicast { prefix } => IpNet::V6(prefix),
                _ => continue,
            };
            let wanted = inst.rib.get(&dest).and_then(|e| e.best()).and_then(|b| {
                match (b.source.peer, b.path_id) {
                    (rib::LOCAL, 0) => Some(crate::overlay::vrf_type5(evpn, l3, prefix, None)),
                    (rib::LOCAL, _) => None,
                    _ => Some(crate::overlay::vrf_type5(
                        evpn,
                        l3,
                        prefix,
                        Some(&b.attrs.attrs),
                    )),
                }
            });
            match wanted {
                Some(e) => {
                    let route = rib::Nlri::L2vpnEvpn(e.route);
                    let evpn_dest = route.dest();
                    let now = (evpn_dest, e.attrs.clone(), e.next_hop);
                    if inst.exported.get(&prefix) == Some(&now) {
                        continue;
                    }
                    if let Some((old, _, _)) = inst.exported.get(&prefix) {
                        if *old != evpn_dest {
                            self.rib.withdraw_local(*old);
                        }
                    }
                    self.rib.originate(route, e.attrs, e.next_hop);
                    inst.exported.insert(prefix, now);
                }
                None => {
                    if let Some((old, _, _)) = inst.exported.remove(&prefix) {
                        self.rib.withdraw_local(old);
                    }
                }
            }
        }
    }

    /// The routes of every VRF's kernel table, by VRF name.
    pub(super) fn vrf_kernel(&self) -> BTreeMap<String, BTreeMap<IpNet, Vec<IpAddr>>> {
        self.vrfs
            .iter()
            .filter(|(_, i)| !i.kernel.is_empty())
            .map(|(n, i)| (n.clone(), i.kernel.clone()))
            .collect()
    }

    /// The RIB of peer `id`'s instance (its VRF's, or the default one).
    pub(super) fn rib_mut(&mut self, id: rib::PeerId) -> &mut Rib {
        let vrf = self.peers.get(&id).and_then(|p| p.neighbor.vrf.as_deref());
        if let Some(inst) = vrf.and_then(|v| self.vrfs.get_mut(v)) {
            return &mut inst.rib;
        }
        &mut self.rib
    }

    /// [`Actor::rib_mut`], shared.
    pub(super) fn rib_of(&self, id: rib::PeerId) -> &Rib {
        self.peers
            .get(&id)
            .and_then(|p| p.neighbor.vrf.as_deref())
            .and_then(|v| self.vrfs.get(v))
            .map_or(&self.rib, |i| &i.rib)
    }

    /// The RIB of instance `vrf` (`None`: the default one); `None` when the VRF has no
    /// instance.
    pub(super) fn instance_rib(&mut self, vrf: Option<&str>) -> Option<&mut Rib> {
        match vrf {
            None => Some(&mut self.rib),
            Some(v) => self.vrfs.get_mut(v).map(|i| &mut i.rib),
        }
    }
}
