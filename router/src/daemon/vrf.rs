//! VRF instances: one RIB per L3VNI or L3VPN VRF (OpenPERouter's `router bgp <asn> vrf
//! <vrf>`), where the VRF's host session lives, and the translation between it and the EVPN
//! or VPN tables of the default RIB:
//!
//! ```text
//!  host session ──routes──> VRF RIB ──best paths not imported──> type-5 (L3VNI) or
//!                                                                VPN-IPv4/IPv6 (L3VPN) in the default RIB
//!  type-5 / VPN selected paths (RT match) ──insert_local(weight 0)──> VRF RIB ──> host (next hop self)
//!  VRF RIB best paths from the host ──> kernel: routes in the VRF table via the host
//! ```
//!
//! An L3VPN VRF exports as FRR's `export vpn` with `sid vpn per-vrf export auto` does
//! (`evpn::l3vpn::export`: RD `routerID:rdAssignedNumber`, the export RTs, the VRF's SRv6 SID
//! in a Prefix-SID attribute, our IPv6 VTEP as next hop) and imports as `import vpn`
//! (`evpn::l3vpn::import`: RT match, SRv6 service SID decoded). The per-VRF SID functions
//! are allocated by the actor and fed back on every reload, so SIDs stay put while the
//! daemon runs.
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
use bgp::wire::{Family, NextHop, PathAttributes, RouteDistinguisher};
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
    /// Type-5 and VPN routes imported now → local path id and attributes.
    imports: BTreeMap<ImportKey, (u32, PathAttributes)>,
    next_path_id: u32,
    /// Type-5 or VPN routes originated from this VRF's best paths, by prefix: the route in
    /// the default RIB (its label too: a VPN route's SID function travels there) and what it
    /// was originated with.
    exported: BTreeMap<IpNet, (rib::Nlri, PathAttributes, NextHop)>,
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

/// What tells one imported path of a VRF from another: a type-5 route per prefix and remote
/// VTEP; a VPN route per prefix, next hop and RD (a PE may announce a prefix under several
/// RDs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum ImportKey {
    /// An EVPN type-5 route.
    Type5 {
        /// The prefix.
        prefix: IpNet,
        /// The remote VTEP.
        vtep: IpAddr,
    },
    /// A VPN-IPv4/VPN-IPv6 route.
    Vpn {
        /// The prefix.
        prefix: IpNet,
        /// The remote PE (MP_REACH next hop).
        next_hop: IpAddr,
        /// The route distinguisher.
        rd: RouteDistinguisher,
    },
}

impl ImportKey {
    fn prefix(&self) -> IpNet {
        match self {
            ImportKey::Type5 { prefix, .. } | ImportKey::Vpn { prefix, .. } => *prefix,
        }
    }
}

/// A path to import into a VRF instance: the VRF, the path's key and the attributes of the
/// default-RIB path it comes from.
/// An import for a VRF instance: the VRF, the key, and the attributes already reduced to
/// what the VRF keeps ([`imported_attributes`]).
pub(super) type VrfImport = (String, ImportKey, PathAttributes);

/// The attributes a type-5 or VPN route keeps when it is imported into a VRF: what a host needs to
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
        self.kernel.is_some()
            || !self.config.overlay.l3vnis.is_empty()
            || !self.config.overlay.l3vpns.is_empty()
    }

    /// Creates the VRF instances of the configuration's L3VNIs and L3VPNs that do not exist
    /// yet (with their listeners).
    pub(super) fn ensure_vrfs(&mut self) {
        let names: Vec<String> = self
            .config
            .overlay
            .vrf_names()
            .into_iter()
            .map(String::from)
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

    /// Removes the VRF instances whose L3VNI or L3VPN left the configuration, withdrawing the
    /// type-5 or VPN routes they exported. Their peers are gone already (the neighbour diff
    /// runs first).
    pub(super) fn prune_vrfs(&mut self) {
        let wanted: BTreeSet<&str> = self.config.overlay.vrf_names().into_iter().collect();
        let gone: Vec<String> = self
            .vrfs
            .keys()
            .filter(|k| !wanted.contains(k.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(inst) = self.vrfs.remove(&name) {
                for (route, _, _) in inst.exported.values() {
                    self.rib.withdraw_local(route.dest());
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

    /// Puts the type-5 and VPN routes the default RIB selected into the VRF instances:
    /// `paths` are the imports with the attributes of their default-RIB path. Only
    /// differences touch the VRF RIBs.
    pub(super) fn sync_vrf_imports(&mut self, paths: Vec<VrfImport>) {
        let mut wanted: BTreeMap<String, BTreeMap<ImportKey, PathAttributes>> = BTreeMap::new();
        for (vrf, key, attrs) in paths {
            wanted.entry(vrf).or_default().insert(key, attrs);
        }
        let empty = BTreeMap::new();
        for (name, inst) in &mut self.vrfs {
            let want = wanted.get(name).unwrap_or(&empty);
            let gone: Vec<ImportKey> = inst
                .imports
                .keys()
                .filter(|k| !want.contains_key(k))
                .copied()
                .collect();
            for key in gone {
                if let Some((id, _)) = inst.imports.remove(&key) {
                    inst.rib
                        .remove_local(originated_nlri(key.prefix()).dest(), id);
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
                inst.rib.insert_local(
                    id,
                    0,
                    originated_nlri(key.prefix()),
                    attrs.clone(),
                    NextHop::None,
                );
                inst.imports.insert(*key, (id, attrs.clone()));
            }
        }
    }

    /// Recomputes the L3VPN view ([`crate::overlay::vpn_view`]) with the per-VRF SID
    /// functions in use kept, and remembers the functions for the next time, in memory and in
    /// the state directory ([`SID_FUNCTIONS`]): a restarted perouterd gives each VRF the SID
    /// it had, so the fabric's routes and forwarding entries for it stay valid.
    pub(super) fn update_vpn_view(&mut self) {
        if self.vpn_functions.is_empty() && !self.config.overlay.l3vpns.is_empty() {
            self.vpn_functions = load_functions(&self.state_dir);
        }
        match crate::overlay::vpn_view(&self.config, &self.vpn_functions) {
            Ok(v) => {
                if let Some(v) = &v {
                    let functions = v.functions();
                    if functions != self.vpn_functions
                        || !self.state_dir.join(SID_FUNCTIONS).exists()
                    {
                        save_functions(&self.state_dir, &functions);
                    }
                    self.vpn_functions = functions;
                    for vpn in &v.vpns {
                        tracing::debug!(vrf = %vpn.vrf, sid = %vpn.sid, rd = %vpn.rd, "l3vpn sid");
                    }
                }
                self.vpn = v;
            }
            Err(e) => {
                tracing::error!(error = %e, "no SRv6 SIDs for the L3VPNs: their routes are not exported");
                self.vpn = None;
            }
        }
    }

    /// The VPN paths the default RIB selected, imported into the L3VPN VRFs: every selected
    /// path for the VRF instances (ECMP), and the best paths' imports for the kernel. Our own
    /// routes and routes failing `evpn::l3vpn::import`'s checks are left out (counted in the
    /// third value).
    pub(super) fn vpn_imports(&self) -> (Vec<VrfImport>, Vec<evpn::l3vpn::Imported>, usize) {
        let mut paths = Vec::new();
        let mut best = Vec::new();
        let mut ignored = 0usize;
        let Some(vpn) = &self.vpn else {
            return (paths, best, ignored);
        };
        for family in [Family::Ipv4Vpn, Family::Ipv6Vpn] {
            for (_, e) in self.rib.table(family) {
                for (n, i) in e.selected.iter().enumerate() {
                    let Some(p) = e.paths.get(*i) else {
                        continue;
                    };
                    if p.source.peer == rib::LOCAL {
                        continue;
                    }
                    let route = match &p.nlri {
                        rib::Nlri::Ipv4Vpn(r) => evpn::l3vpn::VpnRoute::V4(r.clone()),
                        rib::Nlri::Ipv6Vpn(r) => evpn::l3vpn::VpnRoute::V6(r.clone()),
                        _ => continue,
                    };
                    let Some(nh) = evpn::l3vpn::next_hop_address(&p.attrs.next_hop) else {
                        ignored = ignored.saturating_add(1);
                        continue;
                    };
                    match evpn::l3vpn::import(vpn, &route, &p.attrs.attrs, nh) {
                        Ok(v) => {
                            for imp in v {
                                let key = ImportKey::Vpn {
                                    prefix: imp.prefix,
                                    next_hop: imp.next_hop,
                                    rd: imp.rd,
                                };
                                paths.push((
                                    imp.vrf.clone(),
                                    key,
                                    imported_attributes(&p.attrs.attrs),
                                ));
                                if n == 0 {
                                    best.push(imp);
                                }
                            }
                        }
                        Err(why) => {
                            tracing::debug!(route = %route, reason = ?why, "vpn route not imported");
                            ignored = ignored.saturating_add(1);
                        }
                    }
                }
            }
        }
        best.sort();
        best.dedup();
        (paths, best, ignored)
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

    /// Exports the best paths of `dests` in VRF `name` into the default RIB (or withdraws
    /// them): as type-5 routes for an L3VNI, as VPN-IPv4/VPN-IPv6 routes for an L3VPN. A best
    /// path originated by the VRF or learned from its host session is exported; an imported
    /// one, or none, is not.
    fn vrf_exports(&mut self, name: &str, dests: Vec<Dest>) {
        let l3vni = self
            .evpn
            .as_ref()
            .and_then(|e| Some((e, e.l3vnis.iter().find(|l| l.vrf == name)?)));
        let l3vpn = self.vpn.as_ref().and_then(|v| Some((v, v.vpn(name)?)));
        if l3vni.is_none() && l3vpn.is_none() {
            return;
        }
        let Some(inst) = self.vrfs.get_mut(name) else {
            return;
        };
        for dest in dests {
            let prefix = match dest {
                Dest::Ipv4Unicast { prefix } => IpNet::V4(prefix),
                Dest::Ipv6Unicast { prefix } => IpNet::V6(prefix),
                _ => continue,
            };
            // `Some(None)`: the VRF's own route; `Some(Some(attrs))`: learned from the host.
            let source = inst.rib.get(&dest).and_then(|e| e.best()).and_then(|b| {
                match (b.source.peer, b.path_id) {
                    (rib::LOCAL, 0) => Some(None),
                    (rib::LOCAL, _) => None,
                    _ => Some(Some(&b.attrs.attrs)),
                }
            });
            let wanted: Option<(rib::Nlri, PathAttributes, NextHop)> = match source {
                None => None,
                Some(base) => {
                    if let Some((evpn, l3)) = l3vni {
                        let e = crate::overlay::vrf_type5(evpn, l3, prefix, base);
                        Some((rib::Nlri::L2vpnEvpn(e.route), e.attrs, e.next_hop))
                    } else if let Some((cfg, vpn)) = l3vpn {
                        let base = base.map(imported_attributes).unwrap_or_default();
                        match evpn::l3vpn::export(cfg, vpn, prefix, &base) {
                            Ok(e) => {
                                let nlri = match e.route {
                                    evpn::l3vpn::VpnRoute::V4(n) => rib::Nlri::Ipv4Vpn(n),
                                    evpn::l3vpn::VpnRoute::V6(n) => rib::Nlri::Ipv6Vpn(n),
                                };
                                Some((nlri, e.attrs, e.next_hop))
                            }
                            Err(err) => {
                                tracing::warn!(vrf = %name, %prefix, error = %err, "vpn route not exported");
                                None
                            }
                        }
                    } else {
                        None
                    }
                }
            };
            match wanted {
                Some((route, attrs, next_hop)) => {
                    let out_dest = route.dest();
                    let now = (route.clone(), attrs.clone(), next_hop);
                    if inst.exported.get(&prefix) == Some(&now) {
                        continue;
                    }
                    if let Some((old, _, _)) = inst.exported.get(&prefix) {
                        if old.dest() != out_dest {
                            self.rib.withdraw_local(old.dest());
                        }
                    }
                    self.rib.originate(route, attrs, next_hop);
                    inst.exported.insert(prefix, now);
                }
                None => {
                    if let Some((old, _, _)) = inst.exported.remove(&prefix) {
                        self.rib.withdraw_local(old.dest());
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

/// The file in the state directory that keeps the per-VRF SRv6 SID functions across restarts
/// (JSON: VRF name → function).
pub(super) const SID_FUNCTIONS: &str = "srv6-functions.json";

/// The SID functions saved by a previous run (empty when there are none or the file cannot be
/// read: SIDs are then allocated afresh, which is logged).
fn load_functions(dir: &std::path::Path) -> BTreeMap<String, u32> {
    let path = dir.join(SID_FUNCTIONS);
    match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<BTreeMap<String, u32>>(&bytes) {
            Ok(m) => {
                tracing::info!(path = %path.display(), vrfs = m.len(), "srv6 sid functions restored");
                m
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "srv6 sid functions unreadable: allocating afresh");
                BTreeMap::new()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "srv6 sid functions unreadable: allocating afresh");
            BTreeMap::new()
        }
    }
}

/// Saves the SID functions (written to a temporary file, then renamed: a crash leaves the old
/// file or the new one, never half of one).
fn save_functions(dir: &std::path::Path, functions: &BTreeMap<String, u32>) {
    let path = dir.join(SID_FUNCTIONS);
    let tmp = dir.join(format!("{SID_FUNCTIONS}.tmp"));
    let result = serde_json::to_vec_pretty(functions)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            std::fs::create_dir_all(dir)?;
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)
        });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "srv6 sid functions not saved: a restart may move the SIDs");
    }
}
