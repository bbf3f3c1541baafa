//! The RIB: Adj-RIB-In, Loc-RIB and Adj-RIB-Out for every family, sans I/O.
//!
//! [`Rib`] is a plain value owned by one task (the daemon's RIB actor, ARCHITECTURE.md
//! invariant 5). Sessions hand it decoded UPDATEs ([`Rib::apply`]); it keeps every path per
//! destination (the Adj-RIBs-In, after import checks), selects the best path and the ECMP set
//! ([`decision`]), and remembers per peer what it advertised (the Adj-RIB-Out). Changes are
//! not pushed to peers: each peer has a queue of *destinations* to revisit, and
//! [`Rib::updates_for`] turns up to a budget of them into encoded UPDATEs when the peer's
//! session can take more. A slow peer therefore costs at most one queue entry per destination,
//! however many times a route flaps (backpressure without unbounded memory), and many changes
//! to one destination coalesce into one UPDATE.
//!
//! Attribute sets are interned ([`attrs`]): Adj-RIB-In, Loc-RIB and Adj-RIB-Out share them.

pub mod attrs;
pub mod decision;
pub mod route;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bgp_wire::{
    pack, AfiSafi, AsPath, AsSegment, Context, EncodeError, Family, FamilySet, Message, NextHop,
    PathAttributes, RouteDistinguisher, RouteRefresh, SegmentType, Update, Verdict,
};
use serde::Serialize;

use crate::policy::{Outcome, Policy};

pub use attrs::{AttrPool, Attrs};

/// Hash maps of the RIB: randomly seeded (keys come from peers) and fast.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
pub use route::{Dest, Nlri};

use route::{split_update, NlriBuilder};

/// A peer's handle in the RIB. [`LOCAL`] is the router itself (originated routes).
pub type PeerId = u32;

/// The router itself, as the source of originated routes.
pub const LOCAL: PeerId = 0;

/// Weight of locally originated routes (FRR's value): they win over learned ones.
pub const LOCAL_WEIGHT: u32 = 32768;

/// Where a path came from, as the decision process and export rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The peer.
    pub peer: PeerId,
    /// Its address (the session's remote address).
    pub addr: IpAddr,
    /// Its BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// External peer.
    pub ebgp: bool,
    /// Its AS.
    pub peer_as: u32,
    /// A route-reflector client of ours.
    pub rr_client: bool,
}

/// One path to a destination.
#[derive(Debug, Clone)]
pub struct Path {
    /// Where it came from.
    pub source: Arc<Source>,
    /// ADD-PATH identifier (0 without ADD-PATH).
    pub path_id: u32,
    /// The NLRI as received (labels, EVPN fields).
    pub nlri: Nlri,
    /// The attribute set, interned.
    pub attrs: Arc<Attrs>,
    /// Weight (local to this router).
    pub weight: u32,
    /// Kept across the peer's restart (graceful restart), to be swept if not refreshed.
    pub stale: bool,
    /// Unique per inserted path: tells a replaced path from the same one.
    seq: u64,
    /// Our path identifier for it toward ADD-PATH peers: stable while the path exists,
    /// unique among the destination's paths.
    pub tx_id: u32,
}

/// All paths to one destination, and which are selected.
#[derive(Debug, Clone, Default)]
pub struct DestEntry {
    /// Every path (one per peer and path id).
    pub paths: Vec<Path>,
    /// Indices into `paths`: the best first, then the other ECMP paths.
    pub selected: Vec<usize>,
}

impl DestEntry {
    /// The best path.
    pub fn best(&self) -> Option<&Path> {
        self.selected.first().and_then(|i| self.paths.get(*i))
    }

    fn signature(&self) -> Vec<u64> {
        self.selected
            .iter()
            .filter_map(|i| self.paths.get(*i))
            .map(|p| p.seq)
            .collect()
    }
}

/// Next-hop handling toward a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NextHopSelf {
    /// RFC 4271 defaults: self toward eBGP, unchanged toward iBGP.
    #[default]
    Off,
    /// Self toward iBGP too, for routes learned from eBGP (FRR `next-hop-self`).
    On,
    /// Self for every route, reflected ones included (FRR `next-hop-self force`).
    Force,
}

/// Per-peer configuration the RIB applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// The configured address.
    pub addr: IpAddr,
    /// Our AS on this session.
    pub local_as: u32,
    /// External peer.
    pub ebgp: bool,
    /// A route-reflector client.
    pub rr_client: bool,
    /// Next-hop rewriting toward the peer.
    pub next_hop_self: NextHopSelf,
    /// Accept paths with our AS up to this many times (FRR `allowas-in`).
    pub allowas_in: u8,
    /// Prefix limit per family.
    pub max_prefix: Option<MaxPrefix>,
    /// Import policy (accept-all by default, OpenPERouter's `allowall`).
    pub import: Arc<Policy>,
    /// Export policy.
    pub export: Arc<Policy>,
}

impl PeerConfig {
    /// A peer at `addr` with the defaults: no reflection, RFC 4271 next hops, no allowas-in,
    /// no prefix limit, accept-all policies.
    pub fn new(addr: IpAddr, local_as: u32, ebgp: bool) -> PeerConfig {
        PeerConfig {
            addr,
            local_as,
            ebgp,
            rr_client: false,
            next_hop_self: NextHopSelf::Off,
            allowas_in: 0,
            max_prefix: None,
            import: Arc::default(),
            export: Arc::default(),
        }
    }
}

/// A prefix limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxPrefix {
    /// Routes accepted per family.
    pub limit: u32,
    /// Only warn when exceeded; otherwise the session is torn down (Cease/1).
    pub warning_only: bool,
}

/// What an established session agreed, as the RIB needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The peer's BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// The peer's AS.
    pub peer_as: u32,
    /// Families exchanged.
    pub families: FamilySet,
    /// Encoding context toward the peer.
    pub tx: Context,
    /// Our address on the session: the next hop when we are "self".
    pub local_addr: IpAddr,
    /// Our link-local address on the session's interface, for IPv6 next hops.
    pub local_link_local: Option<Ipv6Addr>,
    /// The peer's address on the session.
    pub remote_addr: IpAddr,
}

impl SessionInfo {
    /// A session over `local` ↔ `remote` carrying `families`, with the default encoding
    /// context (4-octet AS, no ADD-PATH, no extended next hop).
    pub fn new(
        bgp_id: Ipv4Addr,
        peer_as: u32,
        families: FamilySet,
        local: IpAddr,
        remote: IpAddr,
    ) -> SessionInfo {
        SessionInfo {
            bgp_id,
            peer_as,
            families,
            tx: Context::default(),
            local_addr: local,
            local_link_local: None,
            remote_addr: remote,
        }
    }
}

/// RIB-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibConfig {
    /// Our router id.
    pub router_id: Ipv4Addr,
    /// Route-reflector cluster id (the router id when unset).
    pub cluster_id: Option<Ipv4Addr>,
    /// ECMP width (1 disables multipath).
    pub max_paths: usize,
}

/// Counters of one peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PeerCounters {
    /// Paths accepted into the Adj-RIB-In, per family (registry order).
    pub accepted: [u32; 5],
    /// Destinations advertised, per family.
    pub advertised: [u32; 5],
    /// Routes refused by import checks (loops).
    pub filtered: u64,
    /// UPDATEs handled as treat-as-withdraw.
    pub treat_as_withdraw: u64,
    /// UPDATEs with a discarded attribute.
    pub attribute_discard: u64,
    /// Families disabled by RFC 7606.
    pub afi_safi_disable: u64,
    /// UPDATE messages received and sent.
    pub updates_in: u64,
    /// UPDATE messages sent.
    pub updates_out: u64,
}

/// Entries kept in the export cache before it is cleared (it only has to span one round
/// of updates to all peers to let an update group share its work).
const EXPORT_CACHE_MAX: usize = 1 << 16;

/// What makes two peers' exports identical: an update group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ExportGroup {
    ebgp: bool,
    local_as: u32,
    rr_client: bool,
    next_hop_self: NextHopSelf,
    four_octet_as: bool,
    extended_next_hop: FamilySet,
    local_addr: IpAddr,
    local_link_local: Option<Ipv6Addr>,
    export: PolicyRef,
}

/// A policy compared and hashed by identity (the cache holds the `Arc`, so the address
/// cannot be reused while the entry lives); every accept-all policy is the same.
#[derive(Debug, Clone)]
struct PolicyRef(Arc<Policy>);

impl PartialEq for PolicyRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.0.is_accept_all() && other.0.is_accept_all())
    }
}

impl Eq for PolicyRef {}

impl std::hash::Hash for PolicyRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if self.0.is_accept_all() {
            0usize.hash(state);
        } else {
            (Arc::as_ptr(&self.0) as usize).hash(state);
        }
    }
}

impl ExportGroup {
    fn of(config: &PeerConfig, session: &SessionInfo) -> ExportGroup {
        ExportGroup {
            ebgp: config.ebgp,
            local_as: config.local_as,
            rr_client: config.rr_client,
            next_hop_self: config.next_hop_self,
            four_octet_as: session.tx.four_octet_as,
            extended_next_hop: session.tx.extended_next_hop,
            local_addr: session.local_addr,
            local_link_local: session.local_link_local,
            export: PolicyRef(config.export.clone()),
        }
    }
}

/// One cached export within an update group: the source attribute set (by address; the
/// cache holds the `Arc` so the address cannot be reused), the source peer and the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ExportKey {
    attrs: usize,
    source: PeerId,
    family: Family,
    /// The export policy term that matched (`None`: its default).
    term: Option<usize>,
}

/// What was advertised for one destination: the NLRI and the exported attribute set.
type Advertised = (Nlri, Arc<Attrs>);

/// The exports computed for one update group: source set (kept alive) and result.
type GroupCache = HashMap<ExportKey, (Arc<Attrs>, Option<Arc<Attrs>>)>;

/// Update groups kept in the export cache before it is cleared (groups of peers that are
/// gone linger until then).
const EXPORT_GROUPS_MAX: usize = 1024;

/// What was advertised for one destination with ADD-PATH: every path under our identifier.
type AdvertisedPaths = Vec<(u32, Nlri, Arc<Attrs>)>;

#[derive(Debug)]
struct PeerState {
    config: PeerConfig,
    source: Option<Arc<Source>>,
    session: Option<SessionInfo>,
    /// Families disabled on this session by RFC 7606.
    disabled: FamilySet,
    out: HashMap<Dest, Advertised>,
    /// What was advertised with ADD-PATH (families sent with path identifiers): every path,
    /// by our path identifier.
    out_paths: HashMap<Dest, AdvertisedPaths>,
    pending: VecDeque<Dest>,
    pending_set: HashSet<Dest>,
    /// Families whose End-of-RIB follows the initial dump.
    eor_due: FamilySet,
    /// Families whose End-of-Route-Refresh (RFC 7313) follows a re-advertisement.
    eorr_due: FamilySet,
    counters: PeerCounters,
}

/// What [`Rib::apply`] did with one UPDATE.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Paths added or replaced.
    pub announced: usize,
    /// Paths removed.
    pub withdrawn: usize,
    /// Routes refused by loop checks.
    pub filtered: usize,
    /// The End-of-RIB of this family arrived.
    pub end_of_rib: Option<AfiSafi>,
    /// A prefix limit was crossed: (family, count, the limit).
    pub max_prefix: Option<(Family, u32, MaxPrefix)>,
}

/// Errors of RIB operations on peers.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RibError {
    /// The peer id is not known.
    #[error("unknown peer {0}")]
    UnknownPeer(PeerId),
    /// The peer id is already used.
    #[error("peer {0} already exists")]
    DuplicatePeer(PeerId),
    /// The peer has no established session.
    #[error("peer {0} is not established")]
    NotEstablished(PeerId),
    /// An UPDATE could not be encoded.
    #[error("cannot encode an UPDATE: {0}")]
    Encode(#[from] EncodeError),
}

/// Index of a family in per-family arrays.
pub fn family_index(f: Family) -> usize {
    match f {
        Family::Ipv4Unicast => 0,
        Family::Ipv6Unicast => 1,
        Family::Ipv4Vpn => 2,
        Family::Ipv6Vpn => 3,
        Family::L2vpnEvpn => 4,
    }
}

fn bump(counter: &mut u32, up: bool) {
    *counter = if up {
        counter.saturating_add(1)
    } else {
        counter.saturating_sub(1)
    };
}

/// The RIB.
#[derive(Debug)]
pub struct Rib {
    config: RibConfig,
    pool: AttrPool,
    tables: [HashMap<Dest, DestEntry>; 5],
    peers: HashMap<PeerId, PeerState>,
    local_source: Arc<Source>,
    seq: u64,
    /// Destinations whose selection changed, for consumers of the Loc-RIB (EVPN, kernel).
    changed: Vec<Dest>,
    track_changes: bool,
    /// Exports computed for one update group, reused by the group's other peers.
    export_cache: HashMap<ExportGroup, GroupCache>,
    /// Exports served from the cache (for metrics and tests).
    export_hits: u64,
    /// Restarting speaker (RFC 4724 §4.1): no UPDATE goes out until the peers' End-of-RIBs
    /// are in (or the deferral timer fires, see [`Rib::end_deferral`]).
    deferring: bool,
}

impl Rib {
    /// An empty RIB.
    pub fn new(config: RibConfig) -> Rib {
        let local_source = Arc::new(Source {
            peer: LOCAL,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            bgp_id: config.router_id,
            ebgp: false,
            peer_as: 0,
            rr_client: false,
        });
        Rib {
            config,
            pool: AttrPool::default(),
            tables: Default::default(),
            peers: HashMap::default(),
            local_source,
            seq: 0,
            changed: Vec::new(),
            track_changes: false,
            deferring: false,
            export_cache: HashMap::default(),
            export_hits: 0,
        }
    }

    /// Exports served from the update-group cache so far.
    pub fn export_cache_hits(&self) -> u64 {
        self.export_hits
    }

    /// Starts deferring best-path advertisement, as a restarting speaker does until its
    /// peers have sent End-of-RIB (RFC 4724 §4.1).
    pub fn defer(&mut self) {
        self.deferring = true;
    }

    /// Whether advertisement is deferred.
    pub fn deferring(&self) -> bool {
        self.deferring
    }

    /// Ends the deferral: queued destinations go out on the next [`Rib::updates_for`].
    pub fn end_deferral(&mut self) {
        self.deferring = false;
    }

    /// Marks every path of `id` in `families` stale and keeps it (graceful restart helper,
    /// RFC 4724 §4.2); its paths in other families are removed, and its session state is
    /// cleared as by [`Rib::peer_down`]. Returns the number of stale paths kept.
    pub fn peer_down_graceful(
        &mut self,
        id: PeerId,
        families: FamilySet,
    ) -> Result<usize, RibError> {
        let p = self.peers.get_mut(&id).ok_or(RibError::UnknownPeer(id))?;
        p.session = None;
        p.source = None;
        p.out.clear();
        p.out_paths.clear();
        p.pending.clear();
        p.pending_set.clear();
        p.eor_due = FamilySet::EMPTY;
        p.counters.advertised = [0; 5];
        let mut kept = 0usize;
        for f in Family::ALL {
            if !families.contains(f) {
                self.drop_family(id, f);
                continue;
            }
            if let Some(table) = self.tables.get_mut(family_index(f)) {
                for entry in table.values_mut() {
                    for path in entry.paths.iter_mut().filter(|x| x.source.peer == id) {
                        path.stale = true;
                        kept = kept.saturating_add(1);
                    }
                }
            }
        }
        Ok(kept)
    }

    /// Marks every path of `id` in `family` stale: the peer began an enhanced route refresh
    /// (BoRR, RFC 7313 §4); what it does not send again before its EoRR is swept then.
    pub fn mark_stale(&mut self, id: PeerId, family: Family) -> usize {
        let mut n = 0usize;
        if let Some(table) = self.tables.get_mut(family_index(family)) {
            for entry in table.values_mut() {
                for path in entry.paths.iter_mut().filter(|x| x.source.peer == id) {
                    path.stale = true;
                    n = n.saturating_add(1);
                }
            }
        }
        n
    }

    /// Removes the stale paths of `id` in `family`: its End-of-RIB arrived after a restart,
    /// the stale timer fired, or the restarted session did not preserve forwarding for the
    /// family. Returns the number removed.
    pub fn sweep_stale(&mut self, id: PeerId, family: Family) -> usize {
        let mut touched = Vec::new();
        if let Some(table) = self.tables.get(family_index(family)) {
            for (dest, entry) in table {
                if entry.paths.iter().any(|p| p.source.peer == id && p.stale) {
                    touched.push(*dest);
                }
            }
        }
        let mut removed = 0usize;
        for dest in touched {
            self.modify(dest, |paths| {
                let before = paths.len();
                paths.retain(|p| !(p.source.peer == id && p.stale));
                removed = removed.saturating_add(before.saturating_sub(paths.len()));
                before != paths.len()
            });
        }
        self.count_accepted(id, family, removed, false);
        removed
    }

    /// Number of stale paths of `id`.
    pub fn stale_paths(&self, id: PeerId) -> usize {
        self.tables
            .iter()
            .flat_map(|t| t.values())
            .flat_map(|e| e.paths.iter())
            .filter(|p| p.source.peer == id && p.stale)
            .count()
    }

    /// The RIB-wide settings.
    pub fn config(&self) -> &RibConfig {
        &self.config
    }

    /// Record destinations whose selection changes, for [`Rib::take_changes`].
    pub fn track_changes(&mut self, on: bool) {
        self.track_changes = on;
    }

    /// Destinations whose best path or ECMP set changed since the last call.
    pub fn take_changes(&mut self) -> Vec<Dest> {
        std::mem::take(&mut self.changed)
    }

    /// Adds a peer (no session yet).
    pub fn add_peer(&mut self, id: PeerId, config: PeerConfig) -> Result<(), RibError> {
        if id == LOCAL || self.peers.contains_key(&id) {
            return Err(RibError::DuplicatePeer(id));
        }
        self.peers.insert(
            id,
            PeerState {
                config,
                source: None,
                session: None,
                disabled: FamilySet::EMPTY,
                out: HashMap::default(),
                out_paths: HashMap::default(),
                pending: VecDeque::new(),
                pending_set: HashSet::default(),
                eor_due: FamilySet::EMPTY,
                eorr_due: FamilySet::EMPTY,
                counters: PeerCounters::default(),
            },
        );
        Ok(())
    }

    /// Changes a peer's policy settings in place (no session reset): what it was sent is
    /// recomputed and only the differences go out.
    pub fn set_peer_config(&mut self, id: PeerId, config: PeerConfig) -> Result<(), RibError> {
        let p = self.peers.get_mut(&id).ok_or(RibError::UnknownPeer(id))?;
        if p.config == config {
            return Ok(());
        }
        p.config = config;
        if let Some(s) = &p.session {
            let families = s.families;
            self.requeue_all(id, families);
        }
        Ok(())
    }

    /// Removes a peer and its routes.
    pub fn remove_peer(&mut self, id: PeerId) -> Result<(), RibError> {
        self.peer_down(id)?;
        self.peers.remove(&id);
        Ok(())
    }

    /// The peer's session is established: queue the initial dump of every family it
    /// carries, each followed by End-of-RIB.
    pub fn peer_up(&mut self, id: PeerId, session: SessionInfo) -> Result<(), RibError> {
        let p = self.peers.get_mut(&id).ok_or(RibError::UnknownPeer(id))?;
        p.source = Some(Arc::new(Source {
            peer: id,
            addr: session.remote_addr,
            bgp_id: session.bgp_id,
            ebgp: p.config.ebgp,
            peer_as: session.peer_as,
            rr_client: p.config.rr_client,
        }));
        let families = session.families;
        p.session = Some(session);
        p.disabled = FamilySet::EMPTY;
        p.out.clear();
        p.out_paths.clear();
        p.pending.clear();
        p.pending_set.clear();
        p.eor_due = families;
        p.eorr_due = FamilySet::EMPTY;
        self.requeue_all(id, families);
        Ok(())
    }

    /// The peer's session went down: its paths are removed and the best paths recomputed.
    pub fn peer_down(&mut self, id: PeerId) -> Result<(), RibError> {
        let p = self.peers.get_mut(&id).ok_or(RibError::UnknownPeer(id))?;
        p.session = None;
        p.source = None;
        p.out.clear();
        p.out_paths.clear();
        p.pending.clear();
        p.pending_set.clear();
        p.eor_due = FamilySet::EMPTY;
        p.counters.accepted = [0; 5];
        p.counters.advertised = [0; 5];
        for f in Family::ALL {
            self.drop_family(id, f);
        }
        Ok(())
    }

    /// Removes every path of `id` in family `f`.
    fn drop_family(&mut self, id: PeerId, f: Family) {
        let mut touched = Vec::new();
        if let Some(table) = self.tables.get_mut(family_index(f)) {
            for (dest, entry) in table.iter_mut() {
                if entry.paths.iter().any(|p| p.source.peer == id) {
                    touched.push(*dest);
                }
            }
        }
        for dest in touched {
            self.modify(dest, |paths| {
                let before = paths.len();
                paths.retain(|p| p.source.peer != id);
                before != paths.len()
            });
        }
        if let Some(p) = self.peers.get_mut(&id) {
            if let Some(c) = p.counters.accepted.get_mut(family_index(f)) {
                *c = 0;
            }
        }
    }

    /// Queues every destination of `families` for peer `id`.
    fn requeue_all(&mut self, id: PeerId, families: FamilySet) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        for f in families.iter() {
            if let Some(table) = self.tables.get(family_index(f)) {
                let mut dests: Vec<Dest> = table.keys().copied().collect();
                dests.sort_unstable();
                for d in dests {
                    if p.pending_set.insert(d) {
                        p.pending.push_back(d);
                    }
                }
            }
            // Routes advertised earlier but gone now must be withdrawn too.
            let gone: Vec<Dest> = p.out.keys().filter(|d| d.family() == f).copied().collect();
            for d in gone {
                if p.pending_set.insert(d) {
                    p.pending.push_back(d);
                }
            }
        }
    }

    /// Sends peer `id` everything of `family` again (a ROUTE-REFRESH request, RFC 2918):
    /// its Adj-RIB-Out for the family is forgotten and rebuilt, followed by End-of-RIB, or
    /// with `enhanced` (RFC 7313 negotiated) by End-of-Route-Refresh — the caller sends the
    /// Beginning-of-Route-Refresh first.
    pub fn resend(&mut self, id: PeerId, family: Family, enhanced: bool) -> Result<(), RibError> {
        let p = self.peers.get_mut(&id).ok_or(RibError::UnknownPeer(id))?;
        let Some(s) = &p.session else {
            return Err(RibError::NotEstablished(id));
        };
        if !s.families.contains(family) {
            return Ok(());
        }
        p.out.retain(|d, _| d.family() != family);
        p.out_paths.retain(|d, _| d.family() != family);
        if let Some(c) = p.counters.advertised.get_mut(family_index(family)) {
            *c = 0;
        }
        if enhanced {
            p.eorr_due.insert(family);
        } else {
            p.eor_due.insert(family);
        }
        let mut one = FamilySet::EMPTY;
        one.insert(family);
        self.requeue_all(id, one);
        Ok(())
    }

    /// Applies one decoded UPDATE from peer `id` with its RFC 7606 verdict.
    pub fn apply(
        &mut self,
        id: PeerId,
        update: &Update,
        verdict: &Verdict,
    ) -> Result<Applied, RibError> {
        let mut out = Applied::default();
        let p = self.peers.get_mut(&id).ok_or(RibError::UnknownPeer(id))?;
        let (Some(source), Some(session)) = (p.source.clone(), p.session.as_ref()) else {
            return Err(RibError::NotEstablished(id));
        };
        let families = session.families;
        p.counters.updates_in = p.counters.updates_in.saturating_add(1);
        if let Some(a) = update.end_of_rib_family() {
            out.end_of_rib = Some(a);
            return Ok(out);
        }
        let action = verdict.action;
        let treat_as_withdraw = matches!(
            action,
            Some(bgp_wire::Action::TreatAsWithdraw | bgp_wire::Action::SessionReset)
        );
        match action {
            Some(bgp_wire::Action::Discard) => {
                p.counters.attribute_discard = p.counters.attribute_discard.saturating_add(1)
            }
            Some(bgp_wire::Action::TreatAsWithdraw) => {
                p.counters.treat_as_withdraw = p.counters.treat_as_withdraw.saturating_add(1)
            }
            Some(bgp_wire::Action::AfiSafiDisable) => {
                p.counters.afi_safi_disable = p.counters.afi_safi_disable.saturating_add(1)
            }
            Some(bgp_wire::Action::SessionReset) | None => {}
        }
        if action.is_none() && !verdict.withdrawn_routes.is_empty() {
            // Routes of an otherwise valid UPDATE handled as withdrawn one by one (EVPN type-5
            // validity, RFC 9136 §3.1/3.2): counted as treat-as-withdraw, once per route.
            let n = u64::try_from(verdict.withdrawn_routes.len()).unwrap_or(u64::MAX);
            p.counters.treat_as_withdraw = p.counters.treat_as_withdraw.saturating_add(n);
        }
        let config = p.config.clone();
        let mut disable = FamilySet::EMPTY;
        for a in &verdict.disable {
            if let Some(f) = a.family() {
                disable.insert(f);
                p.disabled.insert(f);
            }
        }
        let disabled = p.disabled;
        for f in disable.iter() {
            self.drop_family(id, f);
        }
        let withdraw_mp: Vec<usize> = verdict.withdrawn_routes.iter().map(|r| r.index).collect();
        let changes = split_update(update, treat_as_withdraw, &withdraw_mp);
        let usable = |f: Family| families.contains(f) && !disabled.contains(f);

        for (dest, path_id) in changes.withdrawn {
            if !usable(dest.family()) {
                continue;
            }
            if self.remove_path(dest, id, path_id) {
                out.withdrawn = out.withdrawn.saturating_add(1);
            }
        }
        if changes.announced.is_empty() {
            return Ok(out);
        }
        // Import: loop checks on the attribute set, shared by every route of the UPDATE.
        let attrs = &update.attributes;
        let looped = self.looped(&config, attrs);
        let mut base = attrs.clone();
        if config.ebgp {
            // RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored.
            base.local_pref = None;
        }
        // One import result per (policy term, next hop, family): every route of the UPDATE
        // shares the attributes, so the outcome of a term is the same for all of them.
        let import = config.import.clone();
        let trivial = import.is_accept_all();
        type Imported = Option<(Arc<Attrs>, u32)>;
        type ImportKey = (Option<usize>, NextHop, Family);
        let mut interned: Vec<(ImportKey, Imported)> = Vec::new();
        for (nlri, path_id, nh) in changes.announced {
            let dest = nlri.dest();
            let f = dest.family();
            if !usable(f) {
                continue;
            }
            if looped {
                out.filtered = out.filtered.saturating_add(1);
                if self.remove_path(dest, id, path_id) {
                    out.withdrawn = out.withdrawn.saturating_add(1);
                }
                continue;
            }
            let term = if trivial {
                None
            } else {
                import.select(&dest, &base, &nh)
            };
            let key = (term, nh, f);
            let imported = match interned.iter().find(|(k, _)| *k == key) {
                Some((_, v)) => v.clone(),
                None => {
                    let v = if trivial {
                        Some((self.pool.intern(base.clone(), nh), 0))
                    } else {
                        match import.apply_selected(term, f, &base, &nh) {
                            Outcome::Reject => None,
                            Outcome::Accept {
                                attrs,
                                next_hop,
                                weight,
                            } => Some((
                                self.pool.intern(
                                    attrs.map(|b| *b).unwrap_or_else(|| base.clone()),
                                    next_hop.unwrap_or(nh),
                                ),
                                weight.unwrap_or(0),
                            )),
                        }
                    };
                    interned.push((key, v.clone()));
                    v
                }
            };
            let Some((set, weight)) = imported else {
                // Refused by the import policy: as if withdrawn.
                out.filtered = out.filtered.saturating_add(1);
                if self.remove_path(dest, id, path_id) {
                    out.withdrawn = out.withdrawn.saturating_add(1);
                }
                continue;
            };
            let added = self.insert_path(dest, source.clone(), path_id, nlri, set, weight);
            out.announced = out.announced.saturating_add(1);
            if added {
                if let (Some(p), Some(limit)) = (self.peers.get(&id), config.max_prefix) {
                    let count = p
                        .counters
                        .accepted
                        .get(family_index(f))
                        .copied()
                        .unwrap_or(0);
                    if count > limit.limit && out.max_prefix.is_none() {
                        out.max_prefix = Some((f, count, limit));
                    }
                }
            }
        }
        if let Some(p) = self.peers.get_mut(&id) {
            p.counters.filtered = p
                .counters
                .filtered
                .saturating_add(u64::try_from(out.filtered).unwrap_or(u64::MAX));
        }
        Ok(out)
    }

    /// AS path, ORIGINATOR_ID and CLUSTER_LIST loop checks (RFC 4271 §9.1.2, RFC 4456 §8).
    fn looped(&self, config: &PeerConfig, attrs: &PathAttributes) -> bool {
        let as_loop = attrs
            .as_path
            .as_ref()
            .map(|p| p.count(config.local_as) > usize::from(config.allowas_in))
            .unwrap_or(false);
        let cluster = self.config.cluster_id.unwrap_or(self.config.router_id);
        as_loop
            || attrs.originator_id == Some(self.config.router_id)
            || attrs.cluster_list.contains(&cluster)
    }

    /// Originates a route from this router (weight 32768). `attrs.next_hop` and MP
    /// attributes are ignored; `next_hop` `None` means "self" toward every peer.
    pub fn originate(&mut self, nlri: Nlri, attrs: PathAttributes, next_hop: NextHop) {
        let set = self.pool.intern(attrs, next_hop);
        let source = self.local_source.clone();
        self.insert_path(nlri.dest(), source, 0, nlri, set, LOCAL_WEIGHT);
    }

    /// Withdraws a route this router originated.
    pub fn withdraw_local(&mut self, dest: Dest) -> bool {
        self.remove_path(dest, LOCAL, 0)
    }

    /// Adds or replaces a local path other than the originated one: path `path_id` (≥ 1) of
    /// [`LOCAL`] with `weight`. A VRF instance imports routes from the EVPN or VPN tables
    /// this way, with weight 0 as FRR gives imported routes, so a route the VRF originates
    /// (weight 32768, path id 0) is preferred and several imported paths can share a
    /// destination (ECMP). Path id 0 is refused (it is [`Rib::originate`]'s): returns false.
    pub fn insert_local(
        &mut self,
        path_id: u32,
        weight: u32,
        nlri: Nlri,
        attrs: PathAttributes,
        next_hop: NextHop,
    ) -> bool {
        if path_id == 0 {
            return false;
        }
        let set = self.pool.intern(attrs, next_hop);
        let source = self.local_source.clone();
        self.insert_path(nlri.dest(), source, path_id, nlri, set, weight);
        true
    }

    /// Removes local path `path_id` of `dest` ([`Rib::insert_local`]). Returns whether there
    /// was one.
    pub fn remove_local(&mut self, dest: Dest, path_id: u32) -> bool {
        path_id != 0 && self.remove_path(dest, LOCAL, path_id)
    }

    /// Inserts or replaces the path of (peer, path id). Returns whether it is new.
    fn insert_path(
        &mut self,
        dest: Dest,
        source: Arc<Source>,
        path_id: u32,
        nlri: Nlri,
        attrs: Arc<Attrs>,
        weight: u32,
    ) -> bool {
        self.seq = self.seq.saturating_add(1);
        let peer = source.peer;
        let mut path = Path {
            source,
            path_id,
            nlri,
            attrs,
            weight,
            stale: false,
            seq: self.seq,
            tx_id: 0,
        };
        let mut added = false;
        self.modify(dest, |paths| {
            match paths
                .iter_mut()
                .find(|p| p.source.peer == peer && p.path_id == path_id)
            {
                Some(p) => {
                    if Arc::ptr_eq(&p.attrs, &path.attrs)
                        && p.nlri == path.nlri
                        && p.weight == path.weight
                    {
                        // The same path again (a refresh, or the peer back from a restart):
                        // fresh, and nothing to tell anyone.
                        p.stale = false;
                        return false;
                    }
                    path.tx_id = p.tx_id;
                    *p = path;
                }
                None => {
                    added = true;
                    path.tx_id = paths
                        .iter()
                        .map(|p| p.tx_id)
                        .max()
                        .unwrap_or(0)
                        .saturating_add(1);
                    paths.push(path);
                }
            }
            true
        });
        if added {
            self.count_accepted(peer, dest.family(), 1, true);
        }
        added
    }

    /// Moves the count of paths accepted from `peer` in `family` by `n`.
    fn count_accepted(&mut self, peer: PeerId, family: Family, n: usize, up: bool) {
        if let Some(c) = self
            .peers
            .get_mut(&peer)
            .and_then(|p| p.counters.accepted.get_mut(family_index(family)))
        {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            *c = if up {
                c.saturating_add(n)
            } else {
                c.saturating_sub(n)
            };
        }
    }

    /// Removes the path of (peer, path id). Returns whether there was one.
    fn remove_path(&mut self, dest: Dest, peer: PeerId, path_id: u32) -> bool {
        let mut removed = false;
        self.modify(dest, |paths| {
            let before = paths.len();
            paths.retain(|p| !(p.source.peer == peer && p.path_id == path_id));
            removed = before != paths.len();
            removed
        });
        if removed {
            self.count_accepted(peer, dest.family(), 1, false);
        }
        removed
    }

    /// Edits the paths of `dest` with `f` (which returns whether it changed anything), then
    /// reselects and queues the destination for the peers when the selection changed.
    fn modify(&mut self, dest: Dest, f: impl FnOnce(&mut Vec<Path>) -> bool) {
        let Some(table) = self.tables.get_mut(family_index(dest.family())) else {
            return;
        };
        let entry = table.entry(dest).or_default();
        let before = entry.signature();
        if !f(&mut entry.paths) {
            if entry.paths.is_empty() {
                table.remove(&dest);
            }
            return;
        }
        entry.selected = decision::select(&entry.paths, self.config.max_paths.max(1));
        let changed = entry.signature() != before;
        if entry.paths.is_empty() {
            table.remove(&dest);
        }
        if !changed {
            self.queue_add_path(dest);
            return;
        }
        if self.track_changes {
            self.changed.push(dest);
        }
        let family = dest.family();
        for p in self.peers.values_mut() {
            let carries = p
                .session
                .as_ref()
                .is_some_and(|s| s.families.contains(family));
            if carries && p.pending_set.insert(dest) {
                p.pending.push_back(dest);
            }
        }
    }

    /// Queues `dest` for the ADD-PATH peers only (a path changed but the selection did not:
    /// peers that get every path still need to hear of it).
    fn queue_add_path(&mut self, dest: Dest) {
        let family = dest.family();
        for p in self.peers.values_mut() {
            let all_paths = p
                .session
                .as_ref()
                .is_some_and(|s| s.families.contains(family) && s.tx.add_path.contains(family));
            if all_paths && p.pending_set.insert(dest) {
                p.pending.push_back(dest);
            }
        }
    }

    /// Whether peer `id` has UPDATEs to send (queued destinations or End-of-RIB).
    pub fn has_pending(&self, id: PeerId) -> bool {
        !self.deferring
            && self.peers.get(&id).is_some_and(|p| {
                p.session.is_some() && (!p.pending.is_empty() || !p.eor_due.is_empty())
            })
    }

    /// Encodes UPDATEs for peer `id` from up to `budget` queued destinations: withdrawals
    /// first, announcements packed per attribute set, then End-of-RIB for families whose
    /// initial dump is complete.
    pub fn updates_for(&mut self, id: PeerId, budget: usize) -> Result<Vec<Vec<u8>>, RibError> {
        if self.deferring {
            return Ok(Vec::new());
        }
        let p = self.peers.get_mut(&id).ok_or(RibError::UnknownPeer(id))?;
        let Some(session) = p.session.clone() else {
            return Err(RibError::NotEstablished(id));
        };
        let config = p.config.clone();
        let mut batch = Vec::with_capacity(budget.min(p.pending.len()));
        while batch.len() < budget {
            let Some(d) = p.pending.pop_front() else {
                break;
            };
            p.pending_set.remove(&d);
            batch.push(d);
        }
        // Per family: withdrawals, and announcements grouped by exported attribute set.
        let mut withdrawals: Vec<NlriBuilder> = Vec::new();
        let mut announcements: Vec<(Arc<Attrs>, NlriBuilder)> = Vec::new();
        let group = ExportGroup::of(&config, &session);
        if !self.export_cache.contains_key(&group) && self.export_cache.len() >= EXPORT_GROUPS_MAX {
            self.export_cache.clear();
        }
        // One lookup of the group per call; each destination then looks up its export only.
        let group_cache = self.export_cache.entry(group).or_default();
        let mut sent: Vec<(Dest, Option<Advertised>)> = Vec::new();
        let mut sent_paths: Vec<(Dest, AdvertisedPaths)> = Vec::new();
        for dest in batch {
            let family = dest.family();
            let entry = self
                .tables
                .get(family_index(family))
                .and_then(|t| t.get(&dest));
            if session.tx.add_path.contains(family) {
                // ADD-PATH: every path that may go to this peer, each under its identifier.
                let mut desired: AdvertisedPaths = Vec::new();
                if let Some(e) = entry {
                    let order = e
                        .selected
                        .iter()
                        .copied()
                        .chain((0..e.paths.len()).filter(|i| !e.selected.contains(i)));
                    for path in order.filter_map(|i| e.paths.get(i)) {
                        if path.source.peer == id {
                            continue;
                        }
                        if let Some(a) = exported(
                            &mut self.pool,
                            group_cache,
                            &mut self.export_hits,
                            &self.config,
                            &config,
                            &session,
                            &dest,
                            path,
                        ) {
                            desired.push((path.tx_id, path.nlri.clone(), a));
                        }
                    }
                }
                let Some(p) = self.peers.get(&id) else {
                    break;
                };
                let current = p.out_paths.get(&dest).map(Vec::as_slice).unwrap_or(&[]);
                for (cid, cn, _) in current {
                    if !desired.iter().any(|(d, _, _)| d == cid) {
                        push_withdrawal(&mut withdrawals, family, cn, Some(*cid));
                    }
                }
                for (did, dn, da) in &desired {
                    let unchanged = current
                        .iter()
                        .any(|(c, cn, ca)| c == did && cn == dn && Arc::ptr_eq(ca, da));
                    if !unchanged {
                        push_announcement(&mut announcements, family, da, dn, Some(*did));
                    }
                }
                sent_paths.push((dest, desired));
                continue;
            }
            let best = entry.and_then(|e| e.best());
            let desired = match best {
                Some(path) if path.source.peer != id => exported(
                    &mut self.pool,
                    group_cache,
                    &mut self.export_hits,
                    &self.config,
                    &config,
                    &session,
                    &dest,
                    path,
                )
                .map(|a| (path.nlri.clone(), a)),
                _ => None,
            };
            let Some(p) = self.peers.get(&id) else {
                break;
            };
            let current = p.out.get(&dest);
            let same = match (&desired, current) {
                (Some((n, a)), Some((cn, ca))) => n == cn && Arc::ptr_eq(a, ca),
                (None, None) => true,
                _ => false,
            };
            if same {
                continue;
            }
            match &desired {
                Some((nlri, attrs)) => {
                    push_announcement(&mut announcements, family, attrs, nlri, None)
                }
                None => {
                    if let Some((nlri, _)) = current {
                        push_withdrawal(&mut withdrawals, family, nlri, None);
                    }
                }
            }
            sent.push((dest, desired));
        }
        let mut msgs = Vec::new();
        for b in withdrawals {
            msgs.extend(pack::withdraw(&b.finish(), &session.tx)?);
        }
        for (attrs, b) in announcements {
            msgs.extend(pack::announce(
                &attrs.attrs,
                attrs.next_hop,
                &b.finish(),
                &session.tx,
            )?);
        }
        let p = self.peers.get_mut(&id).ok_or(RibError::UnknownPeer(id))?;
        for (dest, desired) in sent_paths {
            let idx = family_index(dest.family());
            let had = p.out_paths.contains_key(&dest);
            if desired.is_empty() {
                p.out_paths.remove(&dest);
            } else {
                p.out_paths.insert(dest, desired);
            }
            let has = p.out_paths.contains_key(&dest);
            if had != has {
                if let Some(c) = p.counters.advertised.get_mut(idx) {
                    bump(c, has);
                }
            }
        }
        for (dest, desired) in sent {
            let idx = family_index(dest.family());
            match desired {
                Some(v) => {
                    if p.out.insert(dest, v).is_none() {
                        if let Some(c) = p.counters.advertised.get_mut(idx) {
                            bump(c, true);
                        }
                    }
                }
                None => {
                    if p.out.remove(&dest).is_some() {
                        if let Some(c) = p.counters.advertised.get_mut(idx) {
                            bump(c, false);
                        }
                    }
                }
            }
        }
        if p.pending.is_empty() && !p.eor_due.is_empty() {
            for f in p.eor_due.iter() {
                let eor = Message::Update(Update::end_of_rib(f.afi_safi()));
                msgs.push(eor.to_bytes(&session.tx)?);
            }
            p.eor_due = FamilySet::EMPTY;
        }
        if p.pending.is_empty() && !p.eorr_due.is_empty() {
            for f in p.eorr_due.iter() {
                let eorr = Message::RouteRefresh(RouteRefresh {
                    afi_safi: f.afi_safi(),
                    subtype: bgp_wire::route_refresh::subtype::EORR,
                    orf: vec![],
                });
                msgs.push(eorr.to_bytes(&session.tx)?);
            }
            p.eorr_due = FamilySet::EMPTY;
        }
        p.counters.updates_out = p
            .counters
            .updates_out
            .saturating_add(u64::try_from(msgs.len()).unwrap_or(u64::MAX));
        Ok(msgs)
    }

    /// The table of `family`.
    pub fn table(&self, family: Family) -> impl Iterator<Item = (&Dest, &DestEntry)> {
        self.tables
            .get(family_index(family))
            .into_iter()
            .flat_map(|t| t.iter())
    }

    /// One destination.
    pub fn get(&self, dest: &Dest) -> Option<&DestEntry> {
        self.tables
            .get(family_index(dest.family()))
            .and_then(|t| t.get(dest))
    }

    /// Number of destinations in `family`.
    pub fn len(&self, family: Family) -> usize {
        self.tables
            .get(family_index(family))
            .map(|t| t.len())
            .unwrap_or(0)
    }

    /// Whether every table is empty.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|t| t.is_empty())
    }

    /// Number of distinct live attribute sets.
    pub fn attribute_sets(&self) -> usize {
        self.pool.live()
    }

    /// Destinations queued for peer `id` (its outbound backlog; at most one entry per
    /// destination however often it changed).
    pub fn pending_len(&self, id: PeerId) -> usize {
        self.peers.get(&id).map(|p| p.pending.len()).unwrap_or(0)
    }

    /// A peer's configuration as the RIB applies it.
    pub fn peer_config(&self, id: PeerId) -> Option<&PeerConfig> {
        self.peers.get(&id).map(|p| &p.config)
    }

    /// A peer's counters.
    pub fn counters(&self, id: PeerId) -> Option<PeerCounters> {
        self.peers.get(&id).map(|p| p.counters)
    }

    /// What was advertised to peer `id` (its Adj-RIB-Out).
    pub fn advertised(&self, id: PeerId) -> impl Iterator<Item = (&Dest, &Nlri, &Arc<Attrs>)> {
        self.peers
            .get(&id)
            .into_iter()
            .flat_map(|p| p.out.iter().map(|(d, (n, a))| (d, n, a)))
    }
}

fn b_family(b: &NlriBuilder) -> Option<Family> {
    b.family()
}

/// Adds a withdrawal of `nlri` to the builder of its family.
fn push_withdrawal(out: &mut Vec<NlriBuilder>, family: Family, nlri: &Nlri, id: Option<u32>) {
    match out.iter_mut().find(|b| b_family(b) == Some(family)) {
        Some(b) => b.push(nlri, id),
        None => {
            let mut b = NlriBuilder::new(family);
            b.push(nlri, id);
            out.push(b);
        }
    }
}

/// Adds an announcement of `nlri` to the builder of its family and attribute set.
fn push_announcement(
    out: &mut Vec<(Arc<Attrs>, NlriBuilder)>,
    family: Family,
    attrs: &Arc<Attrs>,
    nlri: &Nlri,
    id: Option<u32>,
) {
    match out
        .iter_mut()
        .find(|(a, b)| Arc::ptr_eq(a, attrs) && b_family(b) == Some(family))
    {
        Some((_, b)) => b.push(nlri, id),
        None => {
            let mut b = NlriBuilder::new(family);
            b.push(nlri, id);
            out.push((attrs.clone(), b));
        }
    }
}

/// The attributes `path` is sent with to a peer, through its update group's cache:
/// peers whose export is computed the same way share one result per (attribute set, source,
/// family, export policy term).
#[allow(clippy::too_many_arguments)]
fn exported(
    pool: &mut AttrPool,
    cache: &mut GroupCache,
    hits: &mut u64,
    rib: &RibConfig,
    config: &PeerConfig,
    session: &SessionInfo,
    dest: &Dest,
    path: &Path,
) -> Option<Arc<Attrs>> {
    let family = dest.family();
    let term = if config.export.is_accept_all() {
        None
    } else {
        config
            .export
            .select(dest, &path.attrs.attrs, &path.attrs.next_hop)
    };
    let key = ExportKey {
        attrs: Arc::as_ptr(&path.attrs) as usize,
        source: path.source.peer,
        family,
        term,
    };
    if let Some((_, e)) = cache
        .get(&key)
        .filter(|(src, _)| Arc::ptr_eq(src, &path.attrs))
    {
        *hits = hits.saturating_add(1);
        return e.clone();
    }
    let e = export(pool, rib, config, session, path, family, term);
    if cache.len() >= EXPORT_CACHE_MAX {
        cache.clear();
    }
    cache.insert(key, (path.attrs.clone(), e.clone()));
    e
}

/// The attributes of `path` as sent to a peer, or `None` when it must not be sent there
/// (RFC 4271 §9.2, RFC 4456 §8).
#[allow(clippy::too_many_arguments)]
fn export(
    pool: &mut AttrPool,
    rib: &RibConfig,
    peer: &PeerConfig,
    session: &SessionInfo,
    path: &Path,
    family: Family,
    term: Option<usize>,
) -> Option<Arc<Attrs>> {
    let from = &path.source;
    let local = from.peer == LOCAL;
    let reflected = !local && !from.ebgp && !peer.ebgp;
    if reflected && !(from.rr_client || peer.rr_client) {
        // iBGP split horizon: only a route reflector passes iBGP routes to iBGP peers.
        return None;
    }
    // The export policy sees the route as we hold it, before our own AS is prepended (as
    // FRR's outbound route-maps do); a next hop it sets wins over next-hop-self.
    let (mut a, policy_next_hop) = if peer.export.is_accept_all() {
        (path.attrs.attrs.clone(), None)
    } else {
        match peer
            .export
            .apply_selected(term, family, &path.attrs.attrs, &path.attrs.next_hop)
        {
            Outcome::Reject => return None,
            Outcome::Accept {
                attrs, next_hop, ..
            } => (
                attrs
                    .map(|b| *b)
                    .unwrap_or_else(|| path.attrs.attrs.clone()),
                next_hop,
            ),
        }
    };
    let mut next_hop = path.attrs.next_hop;
    let self_nh = match peer.next_hop_self {
        _ if peer.ebgp => family != Family::L2vpnEvpn,
        NextHopSelf::Off => false,
        NextHopSelf::On => !reflected,
        NextHopSelf::Force => true,
    };
    if self_nh || next_hop == NextHop::None {
        next_hop = self_next_hop(session, family)?;
    }
    if peer.ebgp {
        let mut path_asns = vec![peer.local_as];
        let mut segments = a.as_path.take().unwrap_or_default().segments;
        match segments.first_mut() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) if asns.len() < 255 => {
                path_asns.append(asns);
                *asns = path_asns;
            }
            _ => segments.insert(
                0,
                AsSegment {
                    kind: SegmentType::Sequence,
                    asns: path_asns,
                },
            ),
        }
        a.as_path = Some(AsPath { segments });
        a.local_pref = None;
        if !local {
            // RFC 4271 §5.1.4: a received MED is not passed to other ASes.
            a.med = None;
        }
        a.originator_id = None;
        a.cluster_list.clear();
    } else {
        if a.as_path.is_none() {
            a.as_path = Some(AsPath::default());
        }
        a.local_pref = Some(path.attrs.local_pref);
        if reflected {
            a.originator_id = Some(a.originator_id.unwrap_or(from.bgp_id));
            let cluster = rib.cluster_id.unwrap_or(rib.router_id);
            a.cluster_list.insert(0, cluster);
        }
    }
    if !session.tx.four_octet_as {
        // RFC 6793 §4.2.2: a 2-octet peer gets AS_TRANS in AS_PATH and the real path in
        // AS4_PATH when some AS does not fit.
        let big = a
            .as_path
            .as_ref()
            .is_some_and(|p| p.segments.iter().flat_map(|s| &s.asns).any(|x| *x > 0xffff));
        a.as4_path = big.then(|| a.as_path.clone()).flatten();
    } else {
        a.as4_path = None;
        a.as4_aggregator = None;
    }
    if a.origin.is_none() {
        a.origin = Some(bgp_wire::Origin::Igp);
    }
    if let Some(nh) = policy_next_hop {
        next_hop = nh;
    }
    Some(pool.intern(a, next_hop))
}

/// Our next hop on `session` for routes of `family`.
fn self_next_hop(session: &SessionInfo, family: Family) -> Option<NextHop> {
    let rd = RouteDistinguisher::default();
    let v6 = |global: Ipv6Addr| {
        let global_is_ll = global.is_unicast_link_local();
        NextHop::Ipv6 {
            global,
            link_local: session
                .local_link_local
                .filter(|l| !global_is_ll && *l != global),
        }
    };
    let ext = session.tx.extended_next_hop.contains(family);
    match (family, session.local_addr) {
        (Family::Ipv4Unicast, IpAddr::V4(a)) => Some(NextHop::Ipv4(a)),
        (Family::Ipv4Unicast, IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(v4) => Some(NextHop::Ipv4(v4)),
            None if ext => Some(v6(a)),
            None => None,
        },
        (Family::Ipv6Unicast, IpAddr::V6(a)) => Some(match a.to_ipv4_mapped() {
            Some(_) => NextHop::Ipv6 {
                global: a,
                link_local: None,
            },
            None => v6(a),
        }),
        (Family::Ipv6Unicast, IpAddr::V4(a)) => Some(NextHop::Ipv6 {
            global: a.to_ipv6_mapped(),
            link_local: None,
        }),
        (Family::Ipv4Vpn, IpAddr::V4(addr)) => Some(NextHop::VpnIpv4 { rd, addr }),
        (Family::Ipv4Vpn, IpAddr::V6(global)) => match global.to_ipv4_mapped() {
            Some(addr) => Some(NextHop::VpnIpv4 { rd, addr }),
            None if ext => Some(NextHop::VpnIpv6 {
                rd,
                global,
                link_local: None,
            }),
            None => None,
        },
        (Family::Ipv6Vpn, IpAddr::V6(global)) => Some(NextHop::VpnIpv6 {
            rd,
            global,
            link_local: None,
        }),
        (Family::Ipv6Vpn, IpAddr::V4(a)) => Some(NextHop::VpnIpv6 {
            rd,
            global: a.to_ipv6_mapped(),
            link_local: None,
        }),
        (Family::L2vpnEvpn, IpAddr::V4(a)) => Some(NextHop::Ipv4(a)),
        (Family::L2vpnEvpn, IpAddr::V6(a)) => Some(match a.to_ipv4_mapped() {
            Some(v4) => NextHop::Ipv4(v4),
            None => NextHop::Ipv6 {
                global: a,
                link_local: None,
            },
        }),
    }
}
