//! EVPN type-2 (MAC/IP Advertisement) routes: the MAC table of every L2VNI, sans I/O.
//!
//! [`MacTable`] holds, per L2VNI, the MACs the kernel bridge learned locally (and the IPs
//! bound to them by the neighbour table) and the MACs remote VTEPs advertise in type-2 routes.
//! The daemon feeds it:
//! - local events: [`MacTable::local_mac_learned`], [`MacTable::local_mac_gone`],
//!   [`MacTable::local_ip_learned`], [`MacTable::local_ip_gone`], or directly a
//!   [`dataplane::watch::DataplaneEvent`] through [`MacTable::handle_event`] (mapping:
//!   [`local_event`]); and the full local state, at start and after the watcher reported an
//!   overrun, through [`MacTable::resync`] (a [`dataplane::watch::snapshot`]);
//! - remote routes: [`MacTable::remote_route`] (the best path of each route key, as received)
//!   and [`MacTable::remote_withdraw`];
//! - configuration changes: [`MacTable::reconfigure`].
//!
//! and applies what it returns:
//! - [`MacTable::take_changes`]: type-2 routes to originate or withdraw ([`Change`]), and MACs
//!   whose local bridge entry should be flushed because they moved away;
//! - [`MacTable::dataplane`]: the kernel objects of the remote entries, a [`DesiredState`]
//!   fragment to merge with the others.
//!
//! Every method that can change what we advertise takes the [`EvpnConfig`]: the table keeps
//! no copy of it, so the routes always follow the configuration the daemon passes.
//!
//! # Originated routes (`bgp-evpn-wire.md` §1.10–1.12, §1.15; RFC 7432 §7.2, RFC 9135)
//!
//! `EvpnRoute::MacIp` with RD = the L2VNI's RD, ESI 0 (single-homed, pitfall 8), Ethernet
//! tag 0 (VLAN-based service, RFC 8365 §5.1.3), label 1 = the L2VNI (raw 24 bits, pitfall 3);
//! next hop = our VTEP; ORIGIN IGP and an empty AS_PATH (the session prepends). Extended
//! communities:
//! - MAC only: RT(L2VNI exports) + ET:8;
//! - MAC+IP in an L2VNI whose routing domain is a configured L3VNI (symmetric IRB, RFC 9135
//!   §5.1): label 2 = that L3VNI, RT(L2VNI) + RT(L3VNI) + ET:8 + Router's MAC (the VTEP's single
//!   router MAC, pitfall 12);
//! - MAC+IP without a routing domain (or one naming an unknown VRF): as MAC only, no label 2;
//! - MAC Mobility (RFC 7432 §7.7) when the sequence number is above 0 or the MAC is static
//!   (sticky flag);
//! - sorted by wire octets and deduplicated (the order FRR keeps, and the type-5 layer's).
//!
//! # Import of remote routes
//!
//! A route is ignored, with an [`Ignored`] reason, when its next hop is our VTEP, its ESI is
//! not zero (we take part in no multihoming and receive no type-1 routes: FRR does not install
//! such a route either, pitfall 8), its MAC is zero or multicast, or it carries an
//! Encapsulation community none of which is VXLAN (no Encapsulation at all is taken as VXLAN,
//! as FRR does, pitfall 2).
//!
//! **L2**: the route is imported into the L2VNIs whose import rules match one of its RTs
//! ([`crate::rt::imported`], wildcards included). When label 1 equals one of those VNIs, only
//! that VNI imports it: the label tells apart L2VNIs that share an RT (a common manual
//! configuration). When it equals none of them, every matching L2VNI imports it and the FDB
//! entry sends with the route's VNI (`Fdb::vni`): RFC 8365 §5.1.3 makes the label the VNI the
//! egress VTEP expects, so a downstream-assigned (translated) VNI still reaches the right
//! MAC-VRF. With FRR-style automatic RTs the two always agree.
//!
//! **L3** (symmetric IRB, RFC 9135 §5.2): a MAC+IP route with a label 2 and a unicast Router's
//! MAC is also imported as a host route into the VRFs of the routing domains of the L2VNIs that
//! imported it, and into every L3VNI whose import rules match its RTs (FRR imports type-2 host
//! routes into VRFs by RT, which also covers subnets not stretched to this node). The value of
//! label 2 is not compared with the local L3VNI (as FRR: the kernel sends with the local
//! L3VNI).
//!
//! # Kernel objects ([`MacTable::dataplane`])
//!
//! For a MAC owned by a remote VTEP in L2VNI `N`: `Fdb::unicast("vniN", mac, vtep)` (the VXLAN
//! device's entry, `MAC dev vniN dst VTEP self extern_learn`) and `Fdb::bridge("vniN", mac)`
//! (the bridge's entry, `MAC dev vniN master extern_learn`: the bridge forwards frames for the
//! MAC to the VXLAN port instead of flooding them to every port, and never ages the entry),
//! both as zebra installs a remote MAC (the bridge entry is left out for the L2VNI's anycast
//! gateway MAC, [`dataplane::layout::anycast_mac`]: every node's bridge owns it, and the kernel
//! lets an `extern_learn` entry take over even the bridge's local entry, which would send
//! frames for the gateway into the overlay); for each of that VTEP's MAC+IP routes, `Neigh::new("br-pe-N", ip, mac)` (the ARP/ND suppression
//! entry), unless the IP is bound locally (the kernel's own entry wins). For each host route of
//! an L3VNI `V` (table `T`): `ip route add IP/32|/128 vrf T via VTEP dev br-pe-V onlink`, the
//! neighbour `VTEP lladdr RMAC dev br-pe-V` and the FDB entry `RMAC dst VTEP dev vniV`, as
//! zebra programs them. An IPv6 host behind an IPv4 VTEP goes via the IPv4-mapped address
//! `::ffff:VTEP` (with its own neighbour entry), as zebra does. The same VTEP neighbour and
//! RMAC FDB entries are produced by the type-5 layer; they are identical, so merging is safe.
//!
//! # MAC mobility (RFC 7432 §15, as FRR's zebra does)
//!
//! - A MAC learned locally while a remote VTEP advertises it, or after it moved away from us,
//!   is advertised with the highest sequence number seen for it plus one (§15.1: "the PE MUST
//!   advertise ... with a sequence number ... one greater"). The table keeps the highest
//!   sequence seen per MAC for as long as anything (local or remote) is known about it.
//! - A remote route for a MAC we own locally wins when its sequence number is higher, or equal
//!   with a lower VTEP address (§15.1 tie-break). We then withdraw our routes, stop treating
//!   the local entry as ours ([`MacTable::is_local_active`] is false until the kernel reports
//!   it learned again), install the remote one, and emit [`Change::FlushLocal`]. The bridge
//!   entry of the remote MAC ([`MacTable::dataplane`]) replaces the bridge's learned entry on
//!   the old port as soon as it is applied (the kernel lets an `extern_learn` entry take over a
//!   learned one, as it does for zebra's), so the bridge stops forwarding to the old port
//!   without waiting for the entry to age out (300 s) and without a delete from the daemon:
//!   [`Change::FlushLocal`] is informational. The watcher reports the moved entry as
//!   `extern_learn`, not as local learning. A host that comes back sends from its local port:
//!   the kernel moves the entry back to that port and clears `extern_learn`, and the watcher
//!   reports a learned MAC again.
//! - Static MACs never move (§15.2): a local static MAC ignores every remote route for it; a
//!   remote route with the sticky flag beats any locally learned (non-static) MAC.
//! - Among remote VTEPs: sticky first, then the highest sequence, then the lowest VTEP.
//! - The sequence number saturates at `u32::MAX` (RFC 7432 defines no wrap-around).
//! - **Duplicate address detection is not done**: FRR freezes a MAC that moves N times
//!   (default 5) within M seconds (default 180); this table has no clock. A MAC flapping
//!   between two VTEPs makes both bump the sequence on every re-learn. The daemon can count
//!   [`Change::FlushLocal`] per MAC and stop feeding its re-learns.
//! - IP mobility beyond the MAC (RFC 9721: an IP moving to a different MAC) is only handled
//!   as local binding replaces local binding; remote MAC+IP routes of a winning VTEP are
//!   installed as they are.
//!
//! # Silent hosts
//!
//! A type-2 route exists while the kernel keeps the entry it comes from: a bridge FDB entry
//! learned on a port ages out after the bridge's `ageing_time` (300 s by default) without
//! traffic from the host, and an ARP/ND entry goes STALE after ~30 s and is garbage collected
//! later (`gc_stale_time`, only above `gc_thresh1`). `extern_learn` and `permanent` entries do
//! not age, but they are ours, not the host's. OpenPERouter therefore pings every STALE
//! neighbour of `br-pe-<VNI>` every 30 s (its BridgeRefresher; issues #211/#275). Options:
//! 1. **Managed neighbours** (`NTF_EXT_MANAGED` through `NDA_FLAGS_EXT`, kernel ≥ 5.16,
//!    backported to RHEL 9): the daemon converts each locally learned neighbour of an L2VNI
//!    bridge into a managed entry (`NLM_F_REPLACE`, no lladdr: the entry keeps its own,
//!    without `extern_learn` so the watcher still reports it as a local binding); the kernel
//!    itself then re-probes it whenever it is stale (checked every
//!    `neigh/<dev>/interval_probe_time_ms`, default 5000, settable per bridge since 6.0,
//!    e.g. 30000 to match today's load). Each unicast ARP/NS reply from the host
//!    crosses the bridge port, refreshing the bridge FDB entry too, so both the MAC and the
//!    MAC+IP routes stay; a host that is really gone fails the probes, its entry goes FAILED,
//!    the watcher reports it and the route is withdrawn within seconds instead of minutes.
//! 2. Raise `ageing_time` on the L2VNI bridges: MAC-only routes stay, but a departed host's
//!    routes then linger for that long, and nothing refreshes the neighbour entries (a STALE
//!    entry stays a valid binding, but GC can still drop it).
//! 3. `NTF_USE` "kicks" (`ip neigh replace … use`) of STALE entries from the daemon: the same
//!    kernel probe as (1), but on a daemon timer; the fallback for kernels < 5.16.
//!
//! **Implemented: (1)**; (3) is not (on kernels without managed neighbours nothing replaces
//! the pings: a silent host's routes age out as they do with FRR). No ICMP, no sockets bound in
//! the namespace: the kernel does the work and reports the result through the same watcher
//! events this module consumes.
//! - [`MacTable::dataplane`] asks for a managed neighbour ([`Neigh::managed`]) for every local
//!   IP binding of an L2VNI with a routing domain (the only L2VNIs whose bridge has gateway
//!   IPs to probe from; a bridge without an address learns no bindings), unless the binding's
//!   MAC is now owned by a remote VTEP (the remote host would answer the probes through the
//!   overlay and keep a stale local binding alive). No MAC is written: the kernel keeps the
//!   entry's MAC and state (`NUD_NONE` + `NTF_EXT_MANAGED`, as `ip neigh replace … managed`).
//! - Marking: `NTF_EXT_MANAGED` + `NDA_PROTOCOL` 250, without `extern_learn`. The reconciler
//!   counts it as ours (it converts the learned entry in place and removes it when the binding
//!   goes), while [`local_event`] still maps the kernel's reports of it as for any learned
//!   entry: REACHABLE/STALE/DELAY/PROBE are [`LocalEvent::IpLearned`], FAILED/INCOMPLETE and
//!   deletion [`LocalEvent::IpGone`] ([`dataplane::watch::NeighEvent::managed`] tells it apart).
//! - Removal: an entry without a MAC (failed) is deleted; one with a MAC is *released*
//!   (`nud stale`, same MAC, no managed flag: the kernel's learned entry again). So a restart,
//!   whose first apply precedes the resynchronisation, or a MAC moving away, never erases a
//!   binding the kernel learned.
//! - The L2VNI layout sets `net/ipv{4,6}/neigh/br-pe-<VNI>/interval_probe_time_ms` to 30000
//!   ([`dataplane::layout::MANAGED_NEIGH_PROBE_INTERVAL_MS`]) per gateway IP family.
//! - Timing with the kernel defaults: a managed entry is REACHABLE for 15–45 s
//!   (`base_reachable_time` 30 s), STALE until the next managed pass (≤ 30 s), DELAY 5 s, then
//!   one unicast probe: the host answers at least every ~80 s, well inside `ageing_time`
//!   (300 s), and a departed host's entry goes FAILED within about that time plus 3 probes.
//!   The kernel keeps a FAILED managed entry and re-probes it (INCOMPLETE ↔ FAILED, reported
//!   as [`LocalEvent::IpGone`]) until the reconciler deletes it.
//! - Kernel requirement: `NTF_EXT_MANAGED` (5.16) and `interval_probe_time_ms` (6.0). The
//!   netlink dataplane checks for the latter once
//!   ([`dataplane::netlink::managed_neighbours_supported`]) and otherwise leaves managed
//!   neighbours and that sysctl out of what it applies: an older kernel would ignore
//!   `NDA_FLAGS_EXT` and overwrite the learned entry with a `NUD_NONE` one.
//! - Verified on Linux 6.18 by `dataplane/tests/managed_neigh.rs` (a silent host stays fresh
//!   in the neighbour and bridge tables past `ageing_time`, a departed one is reported FAILED).
//!
//! In the daemon the managed entries reach the kernel with the other type-2 objects, when the
//! fabric imports are recomputed (a RIB change, e.g. the MAC+IP route the binding originates).
//! A pure L2VNI (no IP on the bridge) has no neighbour table to probe from: its silent hosts'
//! MAC routes age out as with FRR, and traffic to them is flooded (type-3 ingress
//! replication) until the reply re-learns them.
//!
//! After a restart the daemon must dump the bridges' FDB and neighbour tables, or MAC+IP routes
//! are lost (OpenPERouter #229 with FRR): [`MacTable::resync`] with a
//! [`dataplane::watch::snapshot`] taken once the watcher runs (and again after every
//! [`dataplane::watch::DataplaneEvent::Overrun`]).
//!
//! # Resynchronisation ([`MacTable::resync`])
//!
//! Mark and sweep against a snapshot of the kernel's tables, mapped with [`local_event`] like
//! watcher events: every local MAC and MAC+IP binding of the snapshot is learned (an
//! advertisement only if it is new or changed), every local one the table knows and the
//! snapshot lacks is forgotten (a withdrawal), remote routes are kept. Mobility stays as the
//! events would leave it, with one difference: a MAC that moved to a remote VTEP
//! ([`Change::FlushLocal`]) while its learned bridge entry is still in the snapshot stays
//! moved. The entry may predate the move (a snapshot taken before the remote MAC's bridge
//! entry was applied, which takes it over), and reclaiming
//! the MAC for it would bump the sequence and take a host that is no longer here back from its
//! new VTEP; a host that really comes back is re-learned by the bridge and reported by the
//! watcher. Resyncing twice with the same snapshot changes nothing the second time.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use bgp_wire::attributes::{AsPath, Origin, PathAttributes};
use bgp_wire::community::{tunnel_type, ExtCommunity};
use bgp_wire::evpn::{EvpnKey, EvpnRoute, MacIpAdvertisement};
use bgp_wire::nlri::NextHop as BgpNextHop;
use bgp_wire::types::{AdminValue, Esi, Label24, Mac};
use dataplane::layout::anycast_mac;
use dataplane::model::{DesiredState, Fdb, MacAddr, Neigh, NextHop, Route};
use dataplane::watch::{DataplaneEvent, FdbEvent, NeighEvent};
use ipnet::IpNet;

use crate::config::{EvpnConfig, L2Vni};
use crate::rt::imported;

/// A type-2 route we originate, ready for the BGP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originated {
    /// The route (`EvpnRoute::MacIp`).
    pub route: EvpnRoute,
    /// Its attributes: ORIGIN, empty AS_PATH, extended communities (no MP_REACH).
    pub attributes: PathAttributes,
    /// The next hop: our VTEP.
    pub next_hop: IpAddr,
}

impl Originated {
    /// The next hop in the MP_REACH form (4 octets for an IPv4 VTEP, 16 for IPv6; pitfall 5).
    pub fn bgp_next_hop(&self) -> BgpNextHop {
        match self.next_hop {
            IpAddr::V4(a) => BgpNextHop::Ipv4(a),
            IpAddr::V6(global) => BgpNextHop::Ipv6 {
                global,
                link_local: None,
            },
        }
    }

    /// The route's key (what a withdrawal matches).
    pub fn key(&self) -> EvpnKey {
        self.route.key()
    }
}

/// One change for the daemon to apply, in the order produced.
// Changes are short-lived and moved once into the BGP layer: boxing the large variant would
// only add an allocation per route.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Announce this route (new, or replacing the route with the same key).
    Advertise(Originated),
    /// Withdraw this route (only its key fields matter).
    Withdraw(EvpnRoute),
    /// The MAC moved to a remote VTEP. Nothing to delete: the remote MAC's bridge entry
    /// ([`MacTable::dataplane`], `MAC dev vniN master extern_learn`) takes over the bridge's
    /// dynamically learned entry on the old port when applied, and the kernel reports the MAC
    /// again (learned) if the host comes back. For logging, and duplicate detection.
    FlushLocal {
        /// The L2VNI.
        vni: u32,
        /// The MAC.
        mac: MacAddr,
    },
}

/// Why a remote type-2 route was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    /// Its next hop is our own VTEP (our route, reflected back).
    #[error("next hop is our own VTEP")]
    OwnVtep,
    /// It names an Ethernet segment; without type-1 routes FRR does not install it either
    /// (pitfall 8).
    #[error("non-zero ESI {0} (multihoming is not supported)")]
    NonZeroEsi(Esi),
    /// Its MAC is zero, multicast or broadcast.
    #[error("MAC {0} is not a unicast address")]
    InvalidMac(Mac),
    /// It carries Encapsulation communities, none of them VXLAN.
    #[error("encapsulation {0} is not VXLAN")]
    NotVxlan(u16),
    /// No L2VNI or L3VNI imports any of its route targets.
    #[error("no L2VNI or L3VNI imports its route targets")]
    NotImported,
}

/// A local event for an unknown L2VNI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("VNI {0} is not a configured L2VNI")]
pub struct UnknownVni(pub u32);

/// Where a remote route was imported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// L2VNIs (MAC-VRFs) that imported it.
    pub l2vnis: BTreeSet<u32>,
    /// VRFs that import it as a host route (symmetric IRB).
    pub vrfs: BTreeSet<String>,
}

/// A local kernel event that matters to the MAC table (see [`local_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalEvent {
    /// The bridge learned `mac` on a local port (`sticky`: a static or sticky entry).
    MacLearned {
        /// The L2VNI.
        vni: u32,
        /// The MAC.
        mac: MacAddr,
        /// A static (`NUD_NOARP`) or `sticky` entry: advertised with the sticky flag.
        sticky: bool,
    },
    /// The learned entry aged out, was flushed, or moved behind the VXLAN port.
    MacGone {
        /// The L2VNI.
        vni: u32,
        /// The MAC.
        mac: MacAddr,
    },
    /// The neighbour table bound `ip` to `mac` on the L2VNI bridge.
    IpLearned {
        /// The L2VNI.
        vni: u32,
        /// The IP.
        ip: IpAddr,
        /// The MAC.
        mac: MacAddr,
    },
    /// The binding went away (deleted, failed or incomplete).
    IpGone {
        /// The L2VNI.
        vni: u32,
        /// The IP.
        ip: IpAddr,
    },
}

/// Maps a watcher event to a [`LocalEvent`], or `None` when it does not concern local
/// learning on an L2VNI bridge (`br-pe-<VNI>` of a configured L2VNI).
///
/// FDB events: entries the bridge learned on one of its ports ([`FdbEvent::is_local_learning`])
/// and `static` master entries (sticky); an entry that appears behind the L2VNI's VXLAN device
/// means the MAC is now remote ([`LocalEvent::MacGone`]). Ignored: `extern_learn` entries (ours),
/// `permanent` (local) entries, the bridge's own entries, `self` entries, zero and multicast
/// MACs, other bridges. Neighbour events on the bridge: a usable binding
/// ([`NeighEvent::is_local_binding`]) is [`LocalEvent::IpLearned`]; a removal or an entry that
/// became incomplete or failed is [`LocalEvent::IpGone`]; `extern_learn` entries (ours) and
/// link-local, multicast or unspecified addresses are ignored. Our managed entries (see
/// "Silent hosts") are not: their MAC and state are the kernel's, like any learned entry's.
pub fn local_event(cfg: &EvpnConfig, event: &DataplaneEvent) -> Option<LocalEvent> {
    match event {
        DataplaneEvent::Fdb(e) => fdb_event(cfg, e),
        DataplaneEvent::Neigh(e) => neigh_event(cfg, e),
        _ => None,
    }
}

fn fdb_event(cfg: &EvpnConfig, e: &FdbEvent) -> Option<LocalEvent> {
    if !e.flags.master || e.flags.extern_learn || e.is_local() || !unicast_mac(e.mac) {
        return None;
    }
    let bridge = e.bridge.as_ref()?;
    let l2 = cfg.l2vnis.iter().find(|l| bridge.is(&l.bridge()))?;
    let (vni, mac) = (l2.vni, e.mac);
    if e.dev.is(&l2.bridge()) {
        return None;
    }
    let learned = e.is_local_learning();
    let sticky = e.is_static() || (learned && e.flags.sticky);
    if !learned && !sticky {
        return None;
    }
    if e.dev.is(&l2.vxlan()) {
        // Learned from the overlay: the MAC is behind a remote VTEP now (zebra treats it as
        // remote too); our route for it must go.
        return e.added.then_some(LocalEvent::MacGone { vni, mac });
    }
    Some(if e.added {
        LocalEvent::MacLearned { vni, mac, sticky }
    } else {
        LocalEvent::MacGone { vni, mac }
    })
}

fn neigh_event(cfg: &EvpnConfig, e: &NeighEvent) -> Option<LocalEvent> {
    if e.extern_learn || !advertisable_ip(e.ip) {
        return None;
    }
    let l2 = cfg.l2vnis.iter().find(|l| e.link.is(&l.bridge()))?;
    let (vni, ip) = (l2.vni, e.ip);
    match (e.added && e.is_local_binding(), e.mac) {
        (true, Some(mac)) if unicast_mac(mac) => Some(LocalEvent::IpLearned { vni, ip, mac }),
        _ => Some(LocalEvent::IpGone { vni, ip }),
    }
}

fn unicast_mac(mac: MacAddr) -> bool {
    let [first, ..] = mac.0;
    !mac.is_zero() && first & 0x01 == 0
}

fn advertisable_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !a.is_unspecified() && !a.is_multicast() && !a.is_broadcast(),
        IpAddr::V6(a) => {
            let [s0, ..] = a.segments();
            !a.is_unspecified() && !a.is_multicast() && (s0 & 0xffc0) != 0xfe80
        }
    }
}

/// What a [`MacTable::resync`] found and did (for logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResyncReport {
    /// Local MACs in the snapshot (configured L2VNIs only).
    pub macs: usize,
    /// Local MAC+IP bindings in the snapshot.
    pub ips: usize,
    /// MACs of the snapshot the table did not know locally (learned now).
    pub macs_learned: usize,
    /// Bindings of the snapshot the table did not have (or had with another MAC).
    pub ips_learned: usize,
    /// Local MACs the snapshot lacks (forgotten: their routes are withdrawn).
    pub macs_forgotten: usize,
    /// Bindings the snapshot lacks (forgotten).
    pub ips_forgotten: usize,
}

/// A locally learned MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LocalMac {
    /// Static: never moves, advertised sticky.
    sticky: bool,
    /// The sequence number we advertise.
    seq: u32,
    /// Whether we own it (false once a remote route beat it, until re-learned).
    active: bool,
}

/// Everything known about one MAC in one L2VNI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MacState {
    local: Option<LocalMac>,
    /// Keys of the remote routes for this MAC imported into this L2VNI.
    remotes: BTreeSet<EvpnKey>,
    /// Highest sequence number seen (ours or remote).
    max_seq: u32,
}

/// One L2VNI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct VniState {
    macs: BTreeMap<MacAddr, MacState>,
    /// Local IP → MAC bindings (neighbour table of the bridge).
    ips: BTreeMap<IpAddr, MacAddr>,
}

/// A remote route as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RemoteRoute {
    mac: MacAddr,
    ip: Option<IpAddr>,
    vtep: IpAddr,
    seq: u32,
    sticky: bool,
    label1: u32,
    label2: Option<u32>,
    rmac: Option<MacAddr>,
    rts: Vec<AdminValue>,
    imported: Imported,
}

/// Preference of a remote claim or route: sticky, then higher sequence, then lower VTEP.
type Rank = (bool, u32, Reverse<IpAddr>);

/// What a remote VTEP claims about a MAC (over all its routes for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Claim {
    vtep: IpAddr,
    seq: u32,
    sticky: bool,
}

impl Claim {
    /// Preference order: sticky, then higher sequence, then lower VTEP.
    fn rank(&self) -> Rank {
        (self.sticky, self.seq, Reverse(self.vtep))
    }

    /// Whether this remote claim takes the MAC from our local entry (RFC 7432 §15).
    fn beats(&self, local: &LocalMac, our_vtep: IpAddr) -> bool {
        if local.sticky {
            return false;
        }
        self.sticky || self.seq > local.seq || (self.seq == local.seq && self.vtep < our_vtep)
    }
}

/// Who owns a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Local,
    Remote(Claim),
}

/// The MAC tables of all L2VNIs (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct MacTable {
    vnis: BTreeMap<u32, VniState>,
    remote: BTreeMap<EvpnKey, RemoteRoute>,
    advertised: BTreeMap<(u32, MacAddr, Option<IpAddr>), Originated>,
    changes: Vec<Change>,
    /// MACs whose remote routes changed, to sync.
    pending: BTreeSet<(u32, MacAddr)>,
}

impl MacTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The changes produced since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// Every route we currently originate (to announce on a new session), in key order.
    pub fn originated(&self) -> impl Iterator<Item = &Originated> {
        self.advertised.values()
    }

    /// Whether `mac` is learned locally in `vni` and owned by us (not moved away).
    pub fn is_local_active(&self, vni: u32, mac: MacAddr) -> bool {
        self.mac_state(vni, mac)
            .and_then(|m| m.local)
            .is_some_and(|l| l.active)
    }

    /// The sequence number we advertise for local `mac` in `vni`.
    pub fn local_sequence(&self, vni: u32, mac: MacAddr) -> Option<u32> {
        self.mac_state(vni, mac)
            .and_then(|m| m.local)
            .map(|l| l.seq)
    }

    fn mac_state(&self, vni: u32, mac: MacAddr) -> Option<&MacState> {
        self.vnis.get(&vni).and_then(|v| v.macs.get(&mac))
    }

    fn vni_mut(&mut self, cfg: &EvpnConfig, vni: u32) -> Result<&mut VniState, UnknownVni> {
        if !cfg.l2vnis.iter().any(|l| l.vni == vni) {
            return Err(UnknownVni(vni));
        }
        Ok(self.vnis.entry(vni).or_default())
    }

    /// Applies a [`LocalEvent`].
    pub fn apply(&mut self, cfg: &EvpnConfig, event: LocalEvent) -> Result<(), UnknownVni> {
        match event {
            LocalEvent::MacLearned { vni, mac, sticky } => {
                self.local_mac_learned(cfg, vni, mac, sticky)
            }
            LocalEvent::MacGone { vni, mac } => self.local_mac_gone(cfg, vni, mac),
            LocalEvent::IpLearned { vni, ip, mac } => self.local_ip_learned(cfg, vni, ip, mac),
            LocalEvent::IpGone { vni, ip } => self.local_ip_gone(cfg, vni, ip),
        }
    }

    /// Maps a watcher event with [`local_event`] and applies it; `false` when the event does
    /// not concern the MAC table.
    pub fn handle_event(&mut self, cfg: &EvpnConfig, event: &DataplaneEvent) -> bool {
        match local_event(cfg, event) {
            Some(e) => self.apply(cfg, e).is_ok(),
            None => false,
        }
    }

    /// Reconciles the local entries with a snapshot of the kernel's bridge FDB and neighbour
    /// tables (the `added` FDB and neighbour events of [`dataplane::watch::snapshot`]; other
    /// events are ignored): mark and sweep, see the module docs. The snapshot must cover the
    /// bridges of every configured L2VNI: a local entry of an L2VNI it does not mention is
    /// forgotten. Entries of L2VNIs that `cfg` does not configure are ignored, remote routes
    /// are not touched. The changes are queued for [`MacTable::take_changes`], withdrawals
    /// first. Idempotent.
    pub fn resync(&mut self, cfg: &EvpnConfig, snapshot: &[DataplaneEvent]) -> ResyncReport {
        let mut report = ResyncReport::default();
        // Mark: the local MACs (sticky if any of their entries is) and bindings present.
        let mut macs: BTreeMap<(u32, MacAddr), bool> = BTreeMap::new();
        let mut ips: BTreeMap<(u32, IpAddr), MacAddr> = BTreeMap::new();
        for event in snapshot {
            let added = match event {
                DataplaneEvent::Fdb(e) => e.added,
                DataplaneEvent::Neigh(e) => e.added,
                _ => false,
            };
            if !added {
                continue;
            }
            match local_event(cfg, event) {
                Some(LocalEvent::MacLearned { vni, mac, sticky }) => {
                    *macs.entry((vni, mac)).or_default() |= sticky;
                }
                Some(LocalEvent::IpLearned { vni, ip, mac }) => {
                    ips.insert((vni, ip), mac);
                }
                // Learned behind the VXLAN port, incomplete or failed: not a local entry, so
                // absent (swept below if the table has it).
                Some(LocalEvent::MacGone { .. } | LocalEvent::IpGone { .. }) | None => {}
            }
        }
        report.macs = macs.len();
        report.ips = ips.len();
        let configured = |vni: &u32| cfg.l2vnis.iter().any(|l| l.vni == *vni);

        // Sweep: bindings, then MACs, the table has and the snapshot lacks.
        let stale_ips: Vec<(u32, IpAddr)> = self
            .vnis
            .iter()
            .filter(|(vni, _)| configured(vni))
            .flat_map(|(vni, v)| {
                v.ips
                    .keys()
                    .filter(|ip| !ips.contains_key(&(*vni, **ip)))
                    .map(|ip| (*vni, *ip))
            })
            .collect();
        report.ips_forgotten = stale_ips.len();
        for (vni, ip) in stale_ips {
            // Cannot fail: the VNI is configured.
            let _ = self.local_ip_gone(cfg, vni, ip);
        }
        let stale_macs: Vec<(u32, MacAddr)> = self
            .vnis
            .iter()
            .filter(|(vni, _)| configured(vni))
            .flat_map(|(vni, v)| {
                v.macs
                    .iter()
                    .filter(|(mac, ms)| ms.local.is_some() && !macs.contains_key(&(*vni, **mac)))
                    .map(|(mac, _)| (*vni, *mac))
            })
            .collect();
        report.macs_forgotten = stale_macs.len();
        for (vni, mac) in stale_macs {
            let _ = self.local_mac_gone(cfg, vni, mac);
        }

        // Learn what is present and new or changed.
        for ((vni, mac), sticky) in macs {
            match self.mac_state(vni, mac).and_then(|ms| ms.local) {
                // Known as it is: nothing to do.
                Some(l) if l.active && l.sticky == sticky => continue,
                // Moved away and not made static since: stays moved (see the module docs).
                Some(l) if !l.active && (l.sticky || !sticky) => continue,
                Some(_) => {}
                None => report.macs_learned += 1,
            }
            let _ = self.local_mac_learned(cfg, vni, mac, sticky);
        }
        for ((vni, ip), mac) in ips {
            if self.vnis.get(&vni).and_then(|v| v.ips.get(&ip)) != Some(&mac) {
                report.ips_learned += 1;
                let _ = self.local_ip_learned(cfg, vni, ip, mac);
            }
        }
        report
    }

    /// The bridge of `vni` learned `mac` on a local port (`sticky`: a static MAC). A MAC that
    /// a remote VTEP advertises, or that moved away from us before, gets the highest sequence
    /// number seen plus one (RFC 7432 §15.1). Repeated events for an owned MAC change nothing
    /// but the sticky flag.
    pub fn local_mac_learned(
        &mut self,
        cfg: &EvpnConfig,
        vni: u32,
        mac: MacAddr,
        sticky: bool,
    ) -> Result<(), UnknownVni> {
        let ms = self.vni_mut(cfg, vni)?.macs.entry(mac).or_default();
        match ms.local.as_mut() {
            Some(l) if l.active => l.sticky = sticky,
            _ => {
                let moved = !ms.remotes.is_empty() || ms.local.is_some();
                let seq = if moved {
                    ms.max_seq.saturating_add(1)
                } else {
                    ms.max_seq
                };
                ms.max_seq = seq;
                ms.local = Some(LocalMac {
                    sticky,
                    seq,
                    active: true,
                });
            }
        }
        self.sync_mac(cfg, vni, mac);
        Ok(())
    }

    /// The bridge's learned entry for `mac` is gone (aged out, flushed, moved to the overlay).
    pub fn local_mac_gone(
        &mut self,
        cfg: &EvpnConfig,
        vni: u32,
        mac: MacAddr,
    ) -> Result<(), UnknownVni> {
        if let Some(ms) = self.vni_mut(cfg, vni)?.macs.get_mut(&mac) {
            ms.local = None;
        }
        self.sync_mac(cfg, vni, mac);
        Ok(())
    }

    /// The neighbour table of the bridge of `vni` bound `ip` to `mac`. The MAC+IP route is
    /// advertised while `mac` is owned locally (FRR does not advertise a binding whose MAC is
    /// not local).
    pub fn local_ip_learned(
        &mut self,
        cfg: &EvpnConfig,
        vni: u32,
        ip: IpAddr,
        mac: MacAddr,
    ) -> Result<(), UnknownVni> {
        let old = self.vni_mut(cfg, vni)?.ips.insert(ip, mac);
        if let Some(old) = old.filter(|o| *o != mac) {
            self.sync_mac(cfg, vni, old);
        }
        self.sync_mac(cfg, vni, mac);
        Ok(())
    }

    /// The binding of `ip` on the bridge of `vni` is gone.
    pub fn local_ip_gone(
        &mut self,
        cfg: &EvpnConfig,
        vni: u32,
        ip: IpAddr,
    ) -> Result<(), UnknownVni> {
        if let Some(old) = self.vni_mut(cfg, vni)?.ips.remove(&ip) {
            self.sync_mac(cfg, vni, old);
        }
        Ok(())
    }

    /// A remote type-2 route (the best path of its key, received with `attrs` and MP_REACH
    /// next hop `next_hop`), replacing any earlier version of the same key. See the module
    /// docs for the import rules. When ignored, an earlier version is withdrawn.
    pub fn remote_route(
        &mut self,
        cfg: &EvpnConfig,
        route: &MacIpAdvertisement,
        attrs: &PathAttributes,
        next_hop: IpAddr,
    ) -> Result<Imported, Ignored> {
        let key = EvpnKey::MacIp {
            rd: route.rd,
            eth_tag: route.eth_tag,
            mac: route.mac,
            ip: route.ip,
        };
        let parsed = parse_remote(route, attrs, next_hop, cfg);
        self.remove_remote(&key);
        let mut remote = match parsed {
            Ok(r) => r,
            Err(e) => {
                self.sync_pending(cfg);
                return Err(e);
            }
        };
        remote.imported = imports(cfg, &remote);
        if remote.imported.l2vnis.is_empty() && remote.imported.vrfs.is_empty() {
            self.sync_pending(cfg);
            return Err(Ignored::NotImported);
        }
        let imported = remote.imported.clone();
        self.index_remote(key, remote);
        self.sync_pending(cfg);
        Ok(imported)
    }

    /// Withdrawal of the remote route with `key`; `false` if it was not stored.
    pub fn remote_withdraw(&mut self, cfg: &EvpnConfig, key: &EvpnKey) -> bool {
        let found = self.remove_remote(key);
        self.sync_pending(cfg);
        found
    }

    /// Re-evaluates everything under a new configuration: local entries of removed L2VNIs
    /// are dropped, stored remote routes are imported again (those no longer imported are
    /// dropped: the daemon re-feeds its received routes if it wants routes that were ignored
    /// before to be reconsidered), and every originated route is recomputed (RD, RT, routing
    /// domain changes become withdrawals and announcements).
    pub fn reconfigure(&mut self, cfg: &EvpnConfig) {
        self.vnis
            .retain(|vni, _| cfg.l2vnis.iter().any(|l| l.vni == *vni));
        for v in self.vnis.values_mut() {
            for ms in v.macs.values_mut() {
                ms.remotes.clear();
            }
        }
        let routes = std::mem::take(&mut self.remote);
        for (key, mut r) in routes {
            r.imported = imports(cfg, &r);
            if !r.imported.l2vnis.is_empty() || !r.imported.vrfs.is_empty() {
                self.index_remote(key, r);
            }
        }
        let mut all: BTreeSet<(u32, MacAddr)> = self
            .advertised
            .keys()
            .map(|(vni, mac, _)| (*vni, *mac))
            .collect();
        for (vni, v) in &self.vnis {
            all.extend(v.macs.keys().map(|mac| (*vni, *mac)));
        }
        for (vni, mac) in all {
            self.sync_mac(cfg, vni, mac);
        }
    }

    /// Stores `r` and indexes it under each L2VNI that imports it.
    fn index_remote(&mut self, key: EvpnKey, r: RemoteRoute) {
        for vni in &r.imported.l2vnis {
            let ms = self
                .vnis
                .entry(*vni)
                .or_default()
                .macs
                .entry(r.mac)
                .or_default();
            ms.remotes.insert(key);
            ms.max_seq = ms.max_seq.max(r.seq);
            self.pending.insert((*vni, r.mac));
        }
        self.remote.insert(key, r);
    }

    /// Removes a stored remote route, marking its MACs for a sync.
    fn remove_remote(&mut self, key: &EvpnKey) -> bool {
        let Some(old) = self.remote.remove(key) else {
            return false;
        };
        for vni in &old.imported.l2vnis {
            if let Some(ms) = self
                .vnis
                .get_mut(vni)
                .and_then(|v| v.macs.get_mut(&old.mac))
            {
                ms.remotes.remove(key);
            }
            self.pending.insert((*vni, old.mac));
        }
        true
    }

    fn sync_pending(&mut self, cfg: &EvpnConfig) {
        for (vni, mac) in std::mem::take(&mut self.pending) {
            self.sync_mac(cfg, vni, mac);
        }
    }

    /// The claims of remote VTEPs for a MAC, best first.
    fn claims(&self, ms: &MacState) -> Vec<Claim> {
        let mut by_vtep: BTreeMap<IpAddr, Claim> = BTreeMap::new();
        for r in ms.remotes.iter().filter_map(|k| self.remote.get(k)) {
            let c = by_vtep.entry(r.vtep).or_insert(Claim {
                vtep: r.vtep,
                seq: r.seq,
                sticky: r.sticky,
            });
            c.seq = c.seq.max(r.seq);
            c.sticky |= r.sticky;
        }
        let mut claims: Vec<Claim> = by_vtep.into_values().collect();
        claims.sort_by_key(|c| Reverse(c.rank()));
        claims
    }

    fn owner(&self, ms: &MacState) -> Option<Owner> {
        if ms.local.is_some_and(|l| l.active) {
            return Some(Owner::Local);
        }
        self.claims(ms).first().copied().map(Owner::Remote)
    }

    /// Applies mobility to one MAC, then makes what we advertise for it match what we should.
    fn sync_mac(&mut self, cfg: &EvpnConfig, vni: u32, mac: MacAddr) {
        let best = self
            .mac_state(vni, mac)
            .and_then(|ms| self.claims(ms).first().copied());
        let mut flush = false;
        if let Some(ms) = self.vnis.get_mut(&vni).and_then(|v| v.macs.get_mut(&mac)) {
            if let (Some(local), Some(best)) = (ms.local.as_mut(), best) {
                if local.active && best.beats(local, cfg.vtep.ip) {
                    local.active = false;
                    flush = true;
                }
            }
        }
        if flush {
            self.changes.push(Change::FlushLocal { vni, mac });
        }
        let desired = self.desired(cfg, vni, mac);
        let last = Some(IpAddr::V6(std::net::Ipv6Addr::from(u128::MAX)));
        let current: Vec<(u32, MacAddr, Option<IpAddr>)> = self
            .advertised
            .range((vni, mac, None)..=(vni, mac, last))
            .map(|(k, _)| *k)
            .collect();
        for k in current {
            if !desired.contains_key(&k) {
                if let Some(old) = self.advertised.remove(&k) {
                    self.changes.push(Change::Withdraw(old.route));
                }
            }
        }
        for (k, new) in desired {
            match self.advertised.get(&k) {
                Some(old) if *old == new => {}
                Some(old) => {
                    if old.key() != new.key() {
                        self.changes.push(Change::Withdraw(old.route.clone()));
                    }
                    self.changes.push(Change::Advertise(new.clone()));
                    self.advertised.insert(k, new);
                }
                None => {
                    self.changes.push(Change::Advertise(new.clone()));
                    self.advertised.insert(k, new);
                }
            }
        }
        // Forget MACs nothing refers to any more.
        if let Some(v) = self.vnis.get_mut(&vni) {
            if v.macs
                .get(&mac)
                .is_some_and(|ms| ms.local.is_none() && ms.remotes.is_empty())
            {
                v.macs.remove(&mac);
            }
        }
    }

    /// What we should advertise for `mac` in `vni`.
    fn desired(
        &self,
        cfg: &EvpnConfig,
        vni: u32,
        mac: MacAddr,
    ) -> BTreeMap<(u32, MacAddr, Option<IpAddr>), Originated> {
        let mut out = BTreeMap::new();
        let (Some(l2), Some(v)) = (
            cfg.l2vnis.iter().find(|l| l.vni == vni),
            self.vnis.get(&vni),
        ) else {
            return out;
        };
        let Some(local) = v
            .macs
            .get(&mac)
            .and_then(|ms| ms.local)
            .filter(|l| l.active)
        else {
            return out;
        };
        out.insert((vni, mac, None), originate(cfg, l2, mac, None, local));
        for (ip, _) in v.ips.iter().filter(|(_, m)| **m == mac) {
            out.insert(
                (vni, mac, Some(*ip)),
                originate(cfg, l2, mac, Some(*ip), local),
            );
        }
        out
    }

    /// The kernel objects of the remote entries (see the module docs), and a managed
    /// neighbour ([`Neigh::managed`]) for each local IP binding of an L2VNI with a routing
    /// domain whose MAC is not owned by a remote VTEP (see "Silent hosts" in the module docs).
    pub fn dataplane(&self, cfg: &EvpnConfig) -> DesiredState {
        let mut out = DesiredState::new();
        // (vrf, ip) → the best route for the host route, with its rank.
        let mut hosts: BTreeMap<(String, IpAddr), (&RemoteRoute, Rank)> = BTreeMap::new();
        let mut taken: BTreeSet<EvpnKey> = BTreeSet::new();
        for l2 in &cfg.l2vnis {
            let Some(v) = self.vnis.get(&l2.vni) else {
                continue;
            };
            for (mac, ms) in &v.macs {
                let Some(Owner::Remote(claim)) = self.owner(ms) else {
                    // Owned locally (or nothing): remote routes for it are not installed.
                    taken.extend(ms.remotes.iter().copied());
                    continue;
                };
                let winners: Vec<&RemoteRoute> = ms
                    .remotes
                    .iter()
                    .filter_map(|k| self.remote.get(k))
                    .filter(|r| r.vtep == claim.vtep)
                    .collect();
                for k in &ms.remotes {
                    if self.remote.get(k).is_none_or(|r| r.vtep != claim.vtep) {
                        taken.insert(*k);
                    }
                }
                let label1 = winners
                    .iter()
                    .find(|r| r.ip.is_none())
                    .or(winners.first())
                    .map_or(l2.vni, |r| r.label1);
                let mut fdb = Fdb::unicast(l2.vxlan(), *mac, claim.vtep);
                fdb.vni = (label1 != l2.vni).then_some(label1);
                out.add_fdb(fdb);
                // The bridge's side: the MAC is behind the VXLAN port (no flooding to the
                // local ports; takes over an entry the bridge learned before the MAC moved).
                // Never for the bridge's own (anycast gateway) MAC: the kernel would move its
                // local entry to the VXLAN port too.
                if *mac != anycast_mac(l2.vni) {
                    out.add_fdb(Fdb::bridge(l2.vxlan(), *mac));
                }
                for r in &winners {
                    if let Some(ip) = r.ip.filter(|ip| !v.ips.contains_key(ip)) {
                        out.add_neigh(Neigh::new(l2.bridge(), ip, *mac));
                    }
                }
            }
            // Silent hosts: the kernel keeps probing the local bindings of a routed L2VNI
            // (the bridge has the gateway IPs to probe from), unless the MAC moved away.
            if l2.routing_domain.is_some() {
                for (ip, mac) in &v.ips {
                    let remote = v
                        .macs
                        .get(mac)
                        .and_then(|ms| self.owner(ms))
                        .is_some_and(|o| matches!(o, Owner::Remote(_)));
                    if !remote {
                        out.add_neigh(Neigh::managed(l2.bridge(), *ip, *mac));
                    }
                }
            }
        }
        for (key, r) in &self.remote {
            let Some(ip) = r.ip.filter(|_| !taken.contains(key)) else {
                continue;
            };
            let rank = (r.sticky, r.seq, Reverse(r.vtep));
            for vrf in &r.imported.vrfs {
                let slot = hosts.entry((vrf.clone(), ip)).or_insert((r, rank));
                if rank > slot.1 {
                    *slot = (r, rank);
                }
            }
        }
        for ((vrf, ip), (r, _)) in hosts {
            let (Some(l3), Some(rmac)) = (cfg.l3vni(&vrf), r.rmac) else {
                continue;
            };
            if self.bound_locally_in_vrf(cfg, &vrf, ip) {
                continue;
            }
            let gw = match (ip, r.vtep) {
                (IpAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
                (_, vtep) => vtep,
            };
            out.add_route(
                Route::unicast(
                    l3.table,
                    IpNet::from(ip),
                    vec![NextHop {
                        via: Some(gw),
                        dev: Some(l3.bridge()),
                        onlink: true,
                    }],
                )
                .with_metric(dataplane::ROUTE_METRIC),
            );
            out.add_neigh(Neigh::new(l3.bridge(), gw, rmac));
            out.add_fdb(Fdb::unicast(l3.vxlan(), rmac, r.vtep));
        }
        out
    }

    /// Whether `ip` is bound to a locally owned MAC in an L2VNI routed into `vrf`.
    fn bound_locally_in_vrf(&self, cfg: &EvpnConfig, vrf: &str, ip: IpAddr) -> bool {
        cfg.l2vnis
            .iter()
            .filter(|l| l.routing_domain.as_deref() == Some(vrf))
            .any(|l| {
                self.vnis.get(&l.vni).is_some_and(|v| {
                    v.ips
                        .get(&ip)
                        .is_some_and(|mac| self.is_local_active(l.vni, *mac))
                })
            })
    }
}

/// Builds the route we originate for local `mac` (and `ip`) in `l2`.
fn originate(
    cfg: &EvpnConfig,
    l2: &L2Vni,
    mac: MacAddr,
    ip: Option<IpAddr>,
    local: LocalMac,
) -> Originated {
    let l3 = ip
        .and(l2.routing_domain.as_deref())
        .and_then(|vrf| cfg.l3vni(vrf));
    let rts = l2
        .export_rts
        .iter()
        .chain(l3.iter().flat_map(|l3| l3.export_rts.iter()));
    let mut ecs: Vec<ExtCommunity> = rts.map(|rt| ExtCommunity::RouteTarget(*rt)).collect();
    ecs.push(ExtCommunity::VXLAN);
    if l3.is_some() {
        ecs.push(ExtCommunity::RouterMac(Mac(cfg.vtep.router_mac.0)));
    }
    if local.seq > 0 || local.sticky {
        ecs.push(ExtCommunity::MacMobility {
            sticky: local.sticky,
            sequence: local.seq,
        });
    }
    // Sorted by wire octets and deduplicated, the order FRR's `ecommunity_add_val` keeps.
    ecs.sort_by_key(|c| c.to_bytes());
    ecs.dedup_by_key(|c| c.to_bytes());
    Originated {
        route: EvpnRoute::MacIp(MacIpAdvertisement {
            rd: l2.rd,
            esi: Esi::ZERO,
            eth_tag: 0,
            mac: Mac(mac.0),
            ip,
            label1: Label24::new(l2.vni),
            label2: l3.map(|l3| Label24::new(l3.vni)),
        }),
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            ext_communities: ecs,
            ..PathAttributes::default()
        },
        next_hop: cfg.vtep.ip,
    }
}

/// Validates a remote route and reads what the table needs from it.
fn parse_remote(
    route: &MacIpAdvertisement,
    attrs: &PathAttributes,
    next_hop: IpAddr,
    cfg: &EvpnConfig,
) -> Result<RemoteRoute, Ignored> {
    if next_hop == cfg.vtep.ip {
        return Err(Ignored::OwnVtep);
    }
    if !route.esi.is_zero() {
        return Err(Ignored::NonZeroEsi(route.esi));
    }
    if route.mac.is_zero() || route.mac.is_multicast() {
        return Err(Ignored::InvalidMac(route.mac));
    }
    let mut encaps = attrs.ext_communities.iter().filter_map(|c| match c {
        ExtCommunity::Encapsulation(t) => Some(*t),
        _ => None,
    });
    if let Some(first) = encaps.next() {
        if first != tunnel_type::VXLAN && !encaps.any(|t| t == tunnel_type::VXLAN) {
            return Err(Ignored::NotVxlan(first));
        }
    }
    let mut seq = 0u32;
    let mut sticky = false;
    let mut rmac = None;
    let mut rts = Vec::new();
    for c in &attrs.ext_communities {
        match *c {
            ExtCommunity::MacMobility {
                sticky: s,
                sequence,
            } => {
                // RFC 7432 §7.7: one is expected; with several, the highest wins.
                seq = seq.max(sequence);
                sticky |= s;
            }
            ExtCommunity::RouterMac(m) if rmac.is_none() => rmac = Some(MacAddr(m.0)),
            ExtCommunity::RouteTarget(rt) => rts.push(rt),
            _ => {}
        }
    }
    Ok(RemoteRoute {
        mac: MacAddr(route.mac.0),
        ip: route.ip,
        vtep: next_hop,
        seq,
        sticky,
        label1: route.label1.raw(),
        label2: route.label2.map(Label24::raw),
        rmac: rmac.filter(|m| unicast_mac(*m)),
        rts,
        imported: Imported::default(),
    })
}

/// Where `r` is imported under `cfg` (see the module docs).
fn imports(cfg: &EvpnConfig, r: &RemoteRoute) -> Imported {
    let matching: Vec<&L2Vni> = cfg
        .l2vnis
        .iter()
        .filter(|l| imported(&l.import_rts, &r.rts))
        .collect();
    let chosen: Vec<&L2Vni> = match matching.iter().find(|l| l.vni == r.label1) {
        Some(l) => vec![*l],
        None => matching,
    };
    let mut out = Imported {
        l2vnis: chosen.iter().map(|l| l.vni).collect(),
        vrfs: BTreeSet::new(),
    };
    if r.ip.is_some() && r.label2.is_some() && r.rmac.is_some() {
        for vrf in chosen.iter().filter_map(|l| l.routing_domain.as_deref()) {
            if cfg.l3vni(vrf).is_some() {
                out.vrfs.insert(vrf.to_owned());
            }
        }
        for l3 in cfg
            .l3vnis
            .iter()
            .filter(|l| imported(&l.import_rts, &r.rts))
        {
            out.vrfs.insert(l3.vrf.clone());
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::net::Ipv4Addr;

    use bgp_wire::context::{Context, PeerType};
    use bgp_wire::message::{decode_message, Message};
    use bgp_wire::nlri::{EvpnNlri, NlriList};
    use bgp_wire::types::RouteDistinguisher;
    use dataplane::watch::{FdbFlags, LinkRef, NeighState};

    use super::*;
    use crate::config::{VniSpec, Vtep};
    use crate::rt::{parse_rt, RtStyle};

    const M: MacAddr = MacAddr([0x02, 0, 0, 0, 0x11, 0x01]);
    const N: MacAddr = MacAddr([0x02, 0, 0, 0, 0x11, 0x02]);
    const RMAC_A: MacAddr = MacAddr([0x02, 0xaa, 0, 0, 0, 0x02]);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Our VTEP 100.65.0.1; remote A = 100.65.0.2 (higher), B = 100.65.0.0 (lower).
    fn our() -> IpAddr {
        ip("100.65.0.1")
    }
    fn vtep_a() -> IpAddr {
        ip("100.65.0.2")
    }
    fn vtep_b() -> IpAddr {
        ip("100.65.0.0")
    }

    /// L3VNI red (100, table 1001), L2VNI 110 routed into red, L2VNI 120 not routed.
    fn cfg() -> EvpnConfig {
        EvpnConfig::with_auto(
            64514,
            Ipv4Addr::new(10, 0, 0, 2),
            Vtep {
                ip: our(),
                router_mac: MacAddr([0x02, 0, 0, 0, 0, 0x01]),
            },
            &[
                VniSpec {
                    vrf: Some("red".into()),
                    vni: 100,
                    table: 1001,
                    ..VniSpec::default()
                },
                VniSpec {
                    vni: 110,
                    routing_domain: Some("red".into()),
                    ..VniSpec::default()
                },
                VniSpec {
                    vni: 120,
                    ..VniSpec::default()
                },
            ],
            RtStyle::Frr,
        )
    }

    fn l2(c: &EvpnConfig, vni: u32) -> L2Vni {
        c.l2vnis.iter().find(|l| l.vni == vni).cloned().unwrap()
    }

    fn rt(s: &str) -> ExtCommunity {
        ExtCommunity::RouteTarget(parse_rt(s).unwrap())
    }

    /// A remote route as FRR would send it from a VTEP with RD `rd_n`.
    struct Remote {
        rd_n: u16,
        mac: MacAddr,
        ip: Option<IpAddr>,
        label1: u32,
        label2: Option<u32>,
        ecs: Vec<ExtCommunity>,
        esi: Esi,
    }

    impl Remote {
        fn mac_only(vni: u32, mac: MacAddr) -> Remote {
            Remote {
                rd_n: 1,
                mac,
                ip: None,
                label1: vni,
                label2: None,
                ecs: vec![rt(&format!("65001:{vni}")), ExtCommunity::VXLAN],
                esi: Esi::ZERO,
            }
        }

        fn symmetric(mac: MacAddr, host: &str) -> Remote {
            Remote {
                rd_n: 1,
                mac,
                ip: Some(ip(host)),
                label1: 110,
                label2: Some(100),
                ecs: vec![
                    rt("65001:110"),
                    rt("65001:100"),
                    ExtCommunity::VXLAN,
                    ExtCommunity::RouterMac(Mac(RMAC_A.0)),
                ],
                esi: Esi::ZERO,
            }
        }

        fn seq(mut self, sequence: u32, sticky: bool) -> Remote {
            self.ecs
                .push(ExtCommunity::MacMobility { sticky, sequence });
            self
        }

        fn route(&self, vtep: IpAddr) -> MacIpAdvertisement {
            let IpAddr::V4(v4) = vtep else { panic!() };
            MacIpAdvertisement {
                rd: crate::rt::rd_type1(v4, self.rd_n),
                esi: self.esi,
                eth_tag: 0,
                mac: Mac(self.mac.0),
                ip: self.ip,
                label1: Label24::new(self.label1),
                label2: self.label2.map(Label24::new),
            }
        }

        fn attrs(&self) -> PathAttributes {
            PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(vec![65001])),
                ext_communities: self.ecs.clone(),
                ..PathAttributes::default()
            }
        }

        fn send(
            &self,
            t: &mut MacTable,
            c: &EvpnConfig,
            vtep: IpAddr,
        ) -> Result<Imported, Ignored> {
            t.remote_route(c, &self.route(vtep), &self.attrs(), vtep)
        }

        fn key(&self, vtep: IpAddr) -> EvpnKey {
            EvpnRoute::MacIp(self.route(vtep)).key()
        }
    }

    fn advertised(changes: &[Change]) -> Vec<&Originated> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Advertise(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    fn mac_ip(route: &EvpnRoute) -> &MacIpAdvertisement {
        match route {
            EvpnRoute::MacIp(r) => r,
            other => panic!("not type 2: {other:?}"),
        }
    }

    fn mobility(o: &Originated) -> Option<(bool, u32)> {
        o.attributes.ext_communities.iter().find_map(|c| match c {
            ExtCommunity::MacMobility { sticky, sequence } => Some((*sticky, *sequence)),
            _ => None,
        })
    }

    #[test]
    fn local_mac_gives_mac_only_route() {
        let c = cfg();
        let mut t = MacTable::new();
        t.local_mac_learned(&c, 110, M, false).unwrap();
        let ch = t.take_changes();
        assert_eq!(ch.len(), 1);
        let o = advertised(&ch)[0];
        let r = mac_ip(&o.route);
        assert_eq!(r.rd, l2(&c, 110).rd);
        assert_eq!(
            (r.esi, r.eth_tag, r.mac, r.ip),
            (Esi::ZERO, 0, Mac(M.0), None)
        );
        assert_eq!((r.label1.raw(), r.label2), (110, None));
        assert_eq!(
            o.attributes.ext_communities,
            [rt("64514:110"), ExtCommunity::VXLAN]
        );
        assert_eq!(o.attributes.origin, Some(Origin::Igp));
        assert_eq!(o.next_hop, our());
        assert_eq!(
            o.bgp_next_hop(),
            BgpNextHop::Ipv4(Ipv4Addr::new(100, 65, 0, 1))
        );
        // A repeated event changes nothing; an unknown VNI is an error.
        t.local_mac_learned(&c, 110, M, false).unwrap();
        assert!(t.take_changes().is_empty());
        assert_eq!(t.local_mac_learned(&c, 999, M, false), Err(UnknownVni(999)));
        assert_eq!(t.originated().count(), 1);
    }

    #[test]
    fn local_ip_gives_symmetric_route_when_routed() {
        let c = cfg();
        let mut t = MacTable::new();
        // The binding may come before the MAC: nothing until the MAC is local.
        t.local_ip_learned(&c, 110, ip("10.1.1.5"), M).unwrap();
        assert!(t.take_changes().is_empty());
        t.local_mac_learned(&c, 110, M, false).unwrap();
        let ch = t.take_changes();
        let ads = advertised(&ch);
        assert_eq!(ads.len(), 2);
        let o = ads.iter().find(|o| mac_ip(&o.route).ip.is_some()).unwrap();
        let r = mac_ip(&o.route);
        assert_eq!(r.ip, Some(ip("10.1.1.5")));
        assert_eq!(r.label1.raw(), 110);
        assert_eq!(r.label2.map(Label24::raw), Some(100));
        assert_eq!(
            o.attributes.ext_communities,
            [
                rt("64514:100"),
                rt("64514:110"),
                ExtCommunity::VXLAN,
                ExtCommunity::RouterMac(Mac([2, 0, 0, 0, 0, 1]))
            ]
        );
        // The MAC-only route of a routed L2VNI carries neither label 2 nor the RMAC.
        let mac_only = ads.iter().find(|o| mac_ip(&o.route).ip.is_none()).unwrap();
        assert_eq!(mac_ip(&mac_only.route).label2, None);
        assert_eq!(mac_only.attributes.ext_communities.len(), 2);
    }

    #[test]
    fn local_ip_without_routing_domain_has_no_label2() {
        let c = cfg();
        let mut t = MacTable::new();
        t.local_mac_learned(&c, 120, M, false).unwrap();
        t.local_ip_learned(&c, 120, ip("2001:db8::5"), M).unwrap();
        let ch = t.take_changes();
        let o = advertised(&ch)
            .into_iter()
            .find(|o| mac_ip(&o.route).ip.is_some())
            .unwrap();
        assert_eq!(mac_ip(&o.route).label2, None);
        assert_eq!(mac_ip(&o.route).label1.raw(), 120);
        assert_eq!(
            o.attributes.ext_communities,
            [rt("64514:120"), ExtCommunity::VXLAN]
        );
    }

    #[test]
    fn withdrawals_when_local_entries_go() {
        let c = cfg();
        let mut t = MacTable::new();
        t.local_mac_learned(&c, 110, M, false).unwrap();
        t.local_ip_learned(&c, 110, ip("10.1.1.5"), M).unwrap();
        t.local_ip_learned(&c, 110, ip("10.1.1.6"), M).unwrap();
        t.take_changes();
        t.local_ip_gone(&c, 110, ip("10.1.1.5")).unwrap();
        let ch = t.take_changes();
        assert!(matches!(&ch[..], [Change::Withdraw(r)] if mac_ip(r).ip == Some(ip("10.1.1.5"))));
        // The IP moves to another (local) MAC: withdrawn for M, advertised for N.
        t.local_mac_learned(&c, 110, N, false).unwrap();
        t.take_changes();
        t.local_ip_learned(&c, 110, ip("10.1.1.6"), N).unwrap();
        let ch = t.take_changes();
        assert!(matches!(&ch[0], Change::Withdraw(r) if mac_ip(r).mac == Mac(M.0)));
        assert!(matches!(&ch[1], Change::Advertise(o) if mac_ip(&o.route).mac == Mac(N.0)));
        // The MAC goes: every route of it is withdrawn.
        t.local_ip_learned(&c, 110, ip("10.1.1.7"), M).unwrap();
        t.take_changes();
        t.local_mac_gone(&c, 110, M).unwrap();
        let ch = t.take_changes();
        assert_eq!(ch.len(), 2);
        assert!(ch
            .iter()
            .all(|c| matches!(c, Change::Withdraw(r) if mac_ip(r).mac == Mac(M.0))));
        assert_eq!(t.originated().count(), 2); // N and N+10.1.1.6
    }

    #[test]
    fn remote_route_installs_fdb_neigh_and_host_route() {
        let c = cfg();
        let mut t = MacTable::new();
        let r4 = Remote::symmetric(M, "10.1.1.9");
        let mut r6 = Remote::symmetric(M, "2001:db8::9");
        r6.rd_n = 1;
        let imported = r4.send(&mut t, &c, vtep_a()).unwrap();
        assert_eq!(imported.l2vnis, BTreeSet::from([110]));
        assert_eq!(imported.vrfs, BTreeSet::from(["red".to_owned()]));
        r6.send(&mut t, &c, vtep_a()).unwrap();
        Remote::mac_only(110, M).send(&mut t, &c, vtep_a()).unwrap();
        assert!(t.take_changes().is_empty());

        let d = t.dataplane(&c);
        let fdb: Vec<&Fdb> = d.fdb.values().collect();
        assert_eq!(
            fdb,
            [
                &Fdb::unicast("vni100", RMAC_A, vtep_a()),
                &Fdb::unicast("vni110", M, vtep_a()),
                &Fdb::bridge("vni110", M),
            ]
        );
        let neighs: BTreeSet<&Neigh> = d.neighbours.values().collect();
        let mapped = IpAddr::V6(Ipv4Addr::new(100, 65, 0, 2).to_ipv6_mapped());
        assert_eq!(
            neighs,
            BTreeSet::from([
                &Neigh::new("br-pe-100", vtep_a(), RMAC_A),
                &Neigh::new("br-pe-100", mapped, RMAC_A),
                &Neigh::new("br-pe-110", ip("10.1.1.9"), M),
                &Neigh::new("br-pe-110", ip("2001:db8::9"), M),
            ])
        );
        let routes: Vec<&Route> = d.routes.values().collect();
        assert_eq!(
            routes,
            [
                &Route::unicast(
                    1001,
                    "10.1.1.9/32".parse().unwrap(),
                    vec![NextHop {
                        via: Some(vtep_a()),
                        dev: Some("br-pe-100".into()),
                        onlink: true
                    }]
                )
                .with_metric(dataplane::ROUTE_METRIC),
                &Route::unicast(
                    1001,
                    "2001:db8::9/128".parse().unwrap(),
                    vec![NextHop {
                        via: Some(mapped),
                        dev: Some("br-pe-100".into()),
                        onlink: true
                    }]
                )
                .with_metric(dataplane::ROUTE_METRIC),
            ]
        );

        // Not routed: FDB and neighbour only.
        let mut t2 = MacTable::new();
        let mut r = Remote::mac_only(120, N);
        r.ip = Some(ip("10.2.0.4"));
        r.send(&mut t2, &c, vtep_a()).unwrap();
        let d = t2.dataplane(&c);
        assert_eq!(
            d.fdb.values().collect::<Vec<_>>(),
            [
                &Fdb::unicast("vni120", N, vtep_a()),
                &Fdb::bridge("vni120", N)
            ]
        );
        assert_eq!(d.neighbours.len(), 1);
        assert!(d.routes.is_empty());

        // Withdrawals empty the state.
        assert!(t.remote_withdraw(&c, &r4.key(vtep_a())));
        assert!(t.remote_withdraw(&c, &r6.key(vtep_a())));
        assert!(t.remote_withdraw(&c, &Remote::mac_only(110, M).key(vtep_a())));
        assert!(!t.remote_withdraw(&c, &r4.key(vtep_a())));
        assert_eq!(t.dataplane(&c), DesiredState::new());
        assert!(t.vnis.values().all(|v| v.macs.is_empty()));
    }

    #[test]
    fn wildcard_rt_import_and_label_mismatch() {
        let c = cfg();
        let mut t = MacTable::new();
        // Any AS with the VNI's number is imported (`*:120`).
        let mut r = Remote::mac_only(120, M);
        r.ecs = vec![rt("4200000001:120"), ExtCommunity::VXLAN];
        assert_eq!(
            r.send(&mut t, &c, vtep_a()).unwrap().l2vnis,
            BTreeSet::from([120])
        );
        let mut other = Remote::mac_only(120, N);
        other.ecs = vec![rt("65001:999")];
        assert_eq!(other.send(&mut t, &c, vtep_a()), Err(Ignored::NotImported));
        // RTs of 120 but label 5000: imported into 120, sent with VNI 5000.
        let mut x = Remote::mac_only(120, N);
        x.label1 = 5000;
        x.send(&mut t, &c, vtep_a()).unwrap();
        let d = t.dataplane(&c);
        let key = Fdb::unicast("vni120", N, vtep_a()).key();
        assert_eq!(d.fdb[&key].vni, Some(5000));
        assert_eq!(d.fdb[&Fdb::unicast("vni120", M, vtep_a()).key()].vni, None);
        // An RT shared by both L2VNIs: label 1 picks the VNI.
        let mut shared = Remote::mac_only(110, MacAddr([2, 0, 0, 0, 0x22, 1]));
        shared.ecs = vec![rt("65001:110")];
        let mut c2 = c.clone();
        for l in &mut c2.l2vnis {
            l.import_rts.push("65001:110".parse().unwrap());
        }
        let mut t2 = MacTable::new();
        assert_eq!(
            shared.send(&mut t2, &c2, vtep_a()).unwrap().l2vnis,
            BTreeSet::from([110])
        );
        // A non-VXLAN encapsulation is not ours.
        let mut mpls = Remote::mac_only(110, M);
        mpls.ecs = vec![rt("65001:110"), ExtCommunity::Encapsulation(10)];
        assert_eq!(mpls.send(&mut t2, &c, vtep_a()), Err(Ignored::NotVxlan(10)));
    }

    #[test]
    fn non_zero_esi_and_own_vtep_are_ignored() {
        let c = cfg();
        let mut t = MacTable::new();
        let mut r = Remote::mac_only(110, M);
        r.send(&mut t, &c, vtep_a()).unwrap();
        // The same key comes back with an ESI: the earlier version is withdrawn.
        r.esi = Esi([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(
            r.send(&mut t, &c, vtep_a()),
            Err(Ignored::NonZeroEsi(r.esi))
        );
        assert_eq!(t.dataplane(&c), DesiredState::new());
        let own = Remote::mac_only(110, M);
        assert_eq!(own.send(&mut t, &c, our()), Err(Ignored::OwnVtep));
        let mut mcast = Remote::mac_only(110, MacAddr([1, 0, 0x5e, 0, 0, 1]));
        mcast.rd_n = 2;
        assert!(matches!(
            mcast.send(&mut t, &c, vtep_a()),
            Err(Ignored::InvalidMac(_))
        ));
        assert_eq!(t.dataplane(&c), DesiredState::new());
        assert!(t.take_changes().is_empty());
    }

    #[test]
    fn local_after_remote_seq3_is_advertised_with_seq4() {
        let c = cfg();
        let mut t = MacTable::new();
        Remote::mac_only(110, M)
            .seq(3, false)
            .send(&mut t, &c, vtep_a())
            .unwrap();
        t.local_mac_learned(&c, 110, M, false).unwrap();
        let ch = t.take_changes();
        assert_eq!(mobility(advertised(&ch)[0]), Some((false, 4)));
        assert_eq!(t.local_sequence(110, M), Some(4));
        // We own it: the stale remote entry is not installed.
        assert!(t.dataplane(&c).fdb.is_empty());
        // MAC+IP routes carry the same sequence.
        t.local_ip_learned(&c, 110, ip("10.1.1.5"), M).unwrap();
        assert_eq!(mobility(advertised(&t.take_changes())[0]), Some((false, 4)));
    }

    #[test]
    fn local_bindings_of_routed_l2vnis_become_managed_neighbours() {
        let c = cfg();
        let mut t = MacTable::new();
        let managed = |t: &MacTable| -> Vec<Neigh> {
            t.dataplane(&c)
                .neighbours
                .into_values()
                .filter(|n| n.managed)
                .collect()
        };
        t.local_mac_learned(&c, 110, M, false).unwrap();
        t.local_ip_learned(&c, 110, ip("10.1.1.5"), M).unwrap();
        // N's bridge entry aged out (or was never seen): still probed, the reply re-learns it.
        t.local_ip_learned(&c, 110, ip("2001:db8::6"), N).unwrap();
        // VNI 120 has no routing domain (no gateway IPs to probe from): nothing.
        t.local_mac_learned(&c, 120, M, false).unwrap();
        t.local_ip_learned(&c, 120, ip("10.2.0.5"), M).unwrap();
        assert_eq!(
            managed(&t),
            [
                Neigh::managed("br-pe-110", ip("10.1.1.5"), M),
                Neigh::managed("br-pe-110", ip("2001:db8::6"), N),
            ]
        );
        assert!(
            t.dataplane(&c).neighbours.values().all(|n| n.managed),
            "no static entry for a local binding"
        );

        // The binding goes (entry failed or deleted): the managed entry goes with it.
        t.local_ip_gone(&c, 110, ip("2001:db8::6")).unwrap();
        assert_eq!(
            managed(&t),
            [Neigh::managed("br-pe-110", ip("10.1.1.5"), M)]
        );

        // M moves to a remote VTEP: its binding is no longer probed from here (the remote
        // host would answer through the overlay and keep a stale local binding alive).
        let mut moved = Remote::mac_only(110, M).seq(5, false);
        moved.rd_n = 7;
        moved.send(&mut t, &c, vtep_a()).unwrap();
        assert!(!t.is_local_active(110, M));
        assert_eq!(managed(&t), Vec::<Neigh>::new());
        // It comes back: probed again.
        t.local_mac_learned(&c, 110, M, false).unwrap();
        assert_eq!(
            managed(&t),
            [Neigh::managed("br-pe-110", ip("10.1.1.5"), M)]
        );
    }

    #[test]
    fn remote_seq5_beats_our_seq4() {
        let c = cfg();
        let mut t = MacTable::new();
        Remote::mac_only(110, M)
            .seq(3, false)
            .send(&mut t, &c, vtep_a())
            .unwrap();
        t.local_mac_learned(&c, 110, M, false).unwrap();
        t.take_changes();
        let mut moved = Remote::mac_only(110, M).seq(5, false);
        moved.rd_n = 7;
        moved.send(&mut t, &c, vtep_a()).unwrap();
        let ch = t.take_changes();
        assert_eq!(ch[0], Change::FlushLocal { vni: 110, mac: M });
        assert!(matches!(&ch[1], Change::Withdraw(r) if mac_ip(r).mac == Mac(M.0)));
        assert_eq!(ch.len(), 2);
        assert!(!t.is_local_active(110, M));
        assert_eq!(t.originated().count(), 0);
        let d = t.dataplane(&c);
        // Both tables: the bridge's entry takes over the one it learned on the local port.
        assert_eq!(
            d.fdb.values().collect::<Vec<_>>(),
            [
                &Fdb::unicast("vni110", M, vtep_a()),
                &Fdb::bridge("vni110", M)
            ]
        );
        // The host comes back: the highest sequence seen plus one.
        t.local_mac_learned(&c, 110, M, false).unwrap();
        assert_eq!(mobility(advertised(&t.take_changes())[0]), Some((false, 6)));
        assert!(t.dataplane(&c).fdb.is_empty());
    }

    #[test]
    fn a_moved_mac_is_installed_in_both_tables_and_the_takeover_is_not_local_learning() {
        let c = cfg();
        let mut t = MacTable::new();
        let master = FdbFlags {
            master: true,
            ..FdbFlags::default()
        };
        // Learned on the local port, then claimed by a remote VTEP with a higher sequence.
        assert!(t.handle_event(&c, &fdb_ev("pe-e-110", NeighState::Reachable, master, true)));
        t.take_changes();
        Remote::mac_only(110, M)
            .seq(1, false)
            .send(&mut t, &c, vtep_a())
            .unwrap();
        assert_eq!(t.take_changes()[0], Change::FlushLocal { vni: 110, mac: M });
        let both = [
            Fdb::unicast("vni110", M, vtep_a()),
            Fdb::bridge("vni110", M),
        ];
        assert_eq!(t.dataplane(&c).fdb.into_values().collect::<Vec<_>>(), both);
        // Applying the bridge entry moves the kernel's entry to the VXLAN port, as ours: the
        // notification changes nothing, and neither does a snapshot holding it.
        let takeover = fdb_ev(
            "vni110",
            NeighState::Reachable,
            FdbFlags {
                extern_learn: true,
                ..master
            },
            true,
        );
        assert!(!t.handle_event(&c, &takeover));
        assert!(t.take_changes().is_empty());
        t.resync(&c, std::slice::from_ref(&takeover));
        assert!(t.take_changes().is_empty());
        assert_eq!(t.dataplane(&c).fdb.into_values().collect::<Vec<_>>(), both);
        // The host comes back: the kernel moves the entry to the local port, learned again.
        assert!(t.handle_event(&c, &fdb_ev("pe-e-110", NeighState::Reachable, master, true)));
        assert_eq!(mobility(advertised(&t.take_changes())[0]), Some((false, 2)));
        assert!(t.dataplane(&c).fdb.is_empty());
    }

    #[test]
    fn the_anycast_gateway_mac_gets_no_bridge_entry() {
        let c = cfg();
        let mut t = MacTable::new();
        let gw = dataplane::layout::anycast_mac(110);
        Remote::mac_only(110, gw)
            .send(&mut t, &c, vtep_a())
            .unwrap();
        Remote::mac_only(110, M).send(&mut t, &c, vtep_a()).unwrap();
        assert_eq!(
            t.dataplane(&c).fdb.into_values().collect::<Vec<_>>(),
            [
                Fdb::unicast("vni110", gw, vtep_a()),
                Fdb::unicast("vni110", M, vtep_a()),
                Fdb::bridge("vni110", M),
            ]
        );
    }

    #[test]
    fn equal_sequence_lowest_vtep_wins() {
        let c = cfg();
        let mut t = MacTable::new();
        t.local_mac_learned(&c, 110, M, false).unwrap();
        assert_eq!(mobility(advertised(&t.take_changes())[0]), None);
        // Seq 0 from a higher address: ours stays.
        Remote::mac_only(110, M).send(&mut t, &c, vtep_a()).unwrap();
        assert!(t.take_changes().is_empty());
        assert!(t.is_local_active(110, M));
        assert!(t.dataplane(&c).fdb.is_empty());
        // Seq 0 from a lower address: it wins.
        Remote::mac_only(110, M).send(&mut t, &c, vtep_b()).unwrap();
        let ch = t.take_changes();
        assert_eq!(ch[0], Change::FlushLocal { vni: 110, mac: M });
        assert!(matches!(&ch[1], Change::Withdraw(_)));
        assert_eq!(
            t.dataplane(&c).fdb.values().next(),
            Some(&Fdb::unicast("vni110", M, vtep_b()))
        );
        // Between remotes too: the lower VTEP at equal sequence.
        t.local_mac_gone(&c, 110, M).unwrap();
        assert_eq!(
            t.dataplane(&c).fdb.values().next(),
            Some(&Fdb::unicast("vni110", M, vtep_b()))
        );
    }

    #[test]
    fn sticky_macs_never_move() {
        let c = cfg();
        let mut t = MacTable::new();
        // A local static MAC is advertised sticky and ignores any remote sequence.
        t.local_mac_learned(&c, 110, M, true).unwrap();
        assert_eq!(mobility(advertised(&t.take_changes())[0]), Some((true, 0)));
        Remote::mac_only(110, M)
            .seq(10, false)
            .send(&mut t, &c, vtep_b())
            .unwrap();
        Remote::mac_only(110, M)
            .seq(11, true)
            .send(&mut t, &c, vtep_a())
            .unwrap();
        assert!(t.take_changes().is_empty());
        assert!(t.is_local_active(110, M));
        assert!(t.dataplane(&c).fdb.is_empty());
        // A remote sticky MAC beats local learning, whatever the sequence.
        t.local_mac_learned(&c, 110, N, false).unwrap();
        t.local_ip_learned(&c, 110, ip("10.1.1.8"), N).unwrap();
        assert_eq!(advertised(&t.take_changes()).len(), 2);
        Remote::mac_only(110, N)
            .seq(0, true)
            .send(&mut t, &c, vtep_a())
            .unwrap();
        let ch = t.take_changes();
        assert_eq!(ch[0], Change::FlushLocal { vni: 110, mac: N });
        assert_eq!(
            ch.iter()
                .filter(|c| matches!(c, Change::Withdraw(_)))
                .count(),
            2
        );
        // Re-learning it does not take it back (seq 1 < sticky).
        t.local_mac_learned(&c, 110, N, false).unwrap();
        let ch = t.take_changes();
        assert_eq!(ch, [Change::FlushLocal { vni: 110, mac: N }]);
        assert_eq!(
            t.dataplane(&c).fdb[&Fdb::unicast("vni110", N, vtep_a()).key()].dst,
            Some(vtep_a())
        );
    }

    #[test]
    fn originated_route_encodes_and_decodes_back() {
        let c = cfg();
        let mut t = MacTable::new();
        Remote::mac_only(110, M)
            .seq(41, false)
            .send(&mut t, &c, vtep_a())
            .unwrap();
        t.local_mac_learned(&c, 110, M, false).unwrap();
        t.local_ip_learned(&c, 110, ip("10.1.1.5"), M).unwrap();
        t.local_ip_learned(&c, 110, ip("2001:db8::5"), M).unwrap();
        t.take_changes();
        let ctx = Context {
            peer: PeerType::Internal,
            ..Context::default()
        };
        assert_eq!(t.originated().count(), 3);
        for o in t.originated() {
            let msgs = bgp_wire::pack::announce(
                &o.attributes,
                o.bgp_next_hop(),
                &NlriList::L2vpnEvpn(vec![EvpnNlri {
                    path_id: None,
                    route: o.route.clone(),
                }]),
                &ctx,
            )
            .unwrap();
            assert_eq!(msgs.len(), 1);
            let got = decode_message(&msgs[0], &ctx).unwrap();
            assert!(got.verdict.is_clean(), "{:?}", got.verdict);
            let Message::Update(u) = got.message else {
                panic!("not an UPDATE")
            };
            let reach = u.attributes.mp_reach.clone().unwrap();
            assert_eq!(reach.next_hop, o.bgp_next_hop());
            let NlriList::L2vpnEvpn(routes) = reach.nlri else {
                panic!("not EVPN")
            };
            assert_eq!(routes.len(), 1);
            assert_eq!(routes[0].route, o.route);
            assert_eq!(u.attributes.ext_communities, o.attributes.ext_communities);
            assert_eq!(u.attributes.origin, Some(Origin::Igp));
            assert_eq!(mobility(o), Some((false, 42)));

            // And another node imports it as we produced it.
            let mut peer_cfg = c.clone();
            peer_cfg.vtep.ip = vtep_a();
            let mut peer = MacTable::new();
            let EvpnRoute::MacIp(r) = &routes[0].route else {
                panic!()
            };
            let imp = peer
                .remote_route(&peer_cfg, r, &u.attributes, our())
                .unwrap();
            assert_eq!(imp.l2vnis, BTreeSet::from([110]));
            assert_eq!(imp.vrfs.len(), usize::from(r.ip.is_some()));
        }
    }

    fn link(name: &str) -> LinkRef {
        LinkRef {
            index: 7,
            name: Some(name.into()),
        }
    }

    fn fdb_ev(dev: &str, state: NeighState, flags: FdbFlags, added: bool) -> DataplaneEvent {
        DataplaneEvent::Fdb(FdbEvent {
            added,
            dev: link(dev),
            bridge: Some(link("br-pe-110")),
            mac: M,
            vlan: None,
            dst: None,
            vni: None,
            state,
            flags,
        })
    }

    fn neigh_ev(
        dev: &str,
        addr: &str,
        state: NeighState,
        extern_learn: bool,
        added: bool,
    ) -> DataplaneEvent {
        DataplaneEvent::Neigh(NeighEvent {
            added,
            link: link(dev),
            ip: ip(addr),
            mac: Some(M),
            state,
            extern_learn,
            managed: false,
            router: false,
            protocol: None,
        })
    }

    #[test]
    fn our_managed_entries_are_still_local_bindings() {
        let c = cfg();
        let managed = |state: NeighState, mac: Option<MacAddr>, added: bool| {
            DataplaneEvent::Neigh(NeighEvent {
                added,
                link: link("br-pe-110"),
                ip: ip("10.1.1.5"),
                mac,
                state,
                extern_learn: false,
                managed: true,
                router: false,
                protocol: Some(dataplane::RTPROT_PEROUTERD),
            })
        };
        for state in [
            NeighState::Reachable,
            NeighState::Stale,
            NeighState::Delay,
            NeighState::Probe,
        ] {
            let ev = managed(state, Some(M), true);
            let DataplaneEvent::Neigh(n) = &ev else {
                unreachable!()
            };
            assert!(n.is_ours(dataplane::RTPROT_PEROUTERD));
            assert_eq!(
                local_event(&c, &ev),
                Some(LocalEvent::IpLearned {
                    vni: 110,
                    ip: ip("10.1.1.5"),
                    mac: M
                }),
                "{state:?}"
            );
        }
        for ev in [
            managed(NeighState::Failed, None, true),
            managed(NeighState::Incomplete, None, true),
            managed(NeighState::Reachable, Some(M), false),
        ] {
            assert_eq!(
                local_event(&c, &ev),
                Some(LocalEvent::IpGone {
                    vni: 110,
                    ip: ip("10.1.1.5")
                }),
                "{ev:?}"
            );
        }
    }

    #[test]
    fn watch_events_map_to_local_events() {
        let c = cfg();
        let master = FdbFlags {
            master: true,
            ..FdbFlags::default()
        };
        let ours = FdbFlags {
            extern_learn: true,
            ..master
        };
        let learned = |vni| LocalEvent::MacLearned {
            vni,
            mac: M,
            sticky: false,
        };
        let cases = [
            (
                fdb_ev("pe-e-110", NeighState::Reachable, master, true),
                Some(learned(110)),
            ),
            (
                fdb_ev("pe-e-110", NeighState::Stale, master, true),
                Some(learned(110)),
            ),
            (
                fdb_ev("pe-e-110", NeighState::Reachable, master, false),
                Some(LocalEvent::MacGone { vni: 110, mac: M }),
            ),
            (
                fdb_ev("pe-e-110", NeighState::Noarp, master, true),
                Some(LocalEvent::MacLearned {
                    vni: 110,
                    mac: M,
                    sticky: true,
                }),
            ),
            // Learned from the overlay: moved away.
            (
                fdb_ev("vni110", NeighState::Reachable, master, true),
                Some(LocalEvent::MacGone { vni: 110, mac: M }),
            ),
            (fdb_ev("vni110", NeighState::Reachable, ours, true), None),
            (fdb_ev("pe-e-110", NeighState::Reachable, ours, true), None),
            (
                fdb_ev("pe-e-110", NeighState::Permanent, master, true),
                None,
            ),
            (
                fdb_ev("br-pe-110", NeighState::Reachable, master, true),
                None,
            ),
            (
                fdb_ev("pe-e-110", NeighState::Reachable, FdbFlags::default(), true),
                None,
            ),
            (
                neigh_ev("br-pe-110", "10.1.1.5", NeighState::Reachable, false, true),
                Some(LocalEvent::IpLearned {
                    vni: 110,
                    ip: ip("10.1.1.5"),
                    mac: M,
                }),
            ),
            (
                neigh_ev("br-pe-110", "10.1.1.5", NeighState::Failed, false, true),
                Some(LocalEvent::IpGone {
                    vni: 110,
                    ip: ip("10.1.1.5"),
                }),
            ),
            (
                neigh_ev("br-pe-110", "10.1.1.5", NeighState::Stale, false, false),
                Some(LocalEvent::IpGone {
                    vni: 110,
                    ip: ip("10.1.1.5"),
                }),
            ),
            (
                neigh_ev("br-pe-110", "10.1.1.5", NeighState::Noarp, true, true),
                None,
            ),
            (
                neigh_ev("br-pe-110", "fe80::1", NeighState::Reachable, false, true),
                None,
            ),
            (
                neigh_ev("br-pe-100", "10.1.1.5", NeighState::Reachable, false, true),
                None,
            ),
            (
                neigh_ev("eth0", "10.1.1.5", NeighState::Reachable, false, true),
                None,
            ),
            // Our bridge entry of a remote MAC, deleted (withdrawn): not a local MAC gone.
            (fdb_ev("vni110", NeighState::Reachable, ours, false), None),
        ];
        for (i, (event, want)) in cases.iter().enumerate() {
            assert_eq!(local_event(&c, event), *want, "case {i}");
        }
        // Another bridge.
        let DataplaneEvent::Fdb(mut e) = fdb_ev("pe-e-999", NeighState::Reachable, master, true)
        else {
            panic!()
        };
        e.bridge = Some(link("br-pe-999"));
        assert_eq!(local_event(&c, &DataplaneEvent::Fdb(e)), None);
        assert_eq!(
            local_event(&c, &DataplaneEvent::LinkRemoved(link("x"))),
            None
        );

        // Through the table.
        let mut t = MacTable::new();
        assert!(t.handle_event(&c, &cases[0].0));
        assert!(t.handle_event(&c, &cases[10].0));
        assert_eq!(t.originated().count(), 2);
        assert!(!t.handle_event(&c, &cases[5].0));
        assert!(t.handle_event(&c, &cases[2].0));
        assert_eq!(t.originated().count(), 0);
    }

    /// A MAC the bridge of L2VNI 110 learned on its port (as a snapshot reports it).
    fn learned_on_port(mac: MacAddr, state: NeighState) -> DataplaneEvent {
        DataplaneEvent::Fdb(FdbEvent {
            added: true,
            dev: link("pe-e-110"),
            bridge: Some(link("br-pe-110")),
            mac,
            vlan: None,
            dst: None,
            vni: None,
            state,
            flags: FdbFlags {
                master: true,
                ..FdbFlags::default()
            },
        })
    }

    /// A neighbour of the bridge of L2VNI 110 (`mac: None`: incomplete).
    fn bound(addr: &str, mac: Option<MacAddr>) -> DataplaneEvent {
        DataplaneEvent::Neigh(NeighEvent {
            added: true,
            link: link("br-pe-110"),
            ip: ip(addr),
            mac,
            state: if mac.is_some() {
                NeighState::Reachable
            } else {
                NeighState::Incomplete
            },
            extern_learn: false,
            managed: false,
            router: false,
            protocol: None,
        })
    }

    /// (MAC, IP) of routes.
    type Keys = BTreeSet<(Mac, Option<IpAddr>)>;

    /// The (MAC, IP) of the advertisements and of the withdrawals.
    fn summary(changes: &[Change]) -> (Keys, Keys) {
        let (mut ads, mut wds) = (BTreeSet::new(), BTreeSet::new());
        for c in changes {
            match c {
                Change::Advertise(o) => {
                    ads.insert((mac_ip(&o.route).mac, mac_ip(&o.route).ip));
                }
                Change::Withdraw(r) => {
                    wds.insert((mac_ip(r).mac, mac_ip(r).ip));
                }
                Change::FlushLocal { .. } => {}
            }
        }
        (ads, wds)
    }

    #[test]
    fn resync_of_an_empty_table_advertises_the_snapshot() {
        let c = cfg();
        let mut t = MacTable::new();
        let ours = MacAddr([2, 0, 0, 0, 0x11, 0xaa]);
        let mut snapshot = vec![
            learned_on_port(M, NeighState::Stale),
            learned_on_port(N, NeighState::Noarp),
            bound("10.1.1.5", Some(M)),
            bound("2001:db8::6", Some(N)),
            // Not local entries: ours, the port's own MAC, behind the VXLAN port, incomplete,
            // another bridge, a removal.
            bound("10.1.1.9", None),
            neigh_ev("br-pe-999", "10.9.9.9", NeighState::Reachable, false, true),
            neigh_ev("br-pe-110", "10.1.1.8", NeighState::Reachable, false, false),
        ];
        let mut extra = |dev: &str, mac: MacAddr, state: NeighState, extern_learn: bool| {
            let DataplaneEvent::Fdb(mut e) = learned_on_port(mac, state) else {
                unreachable!()
            };
            e.dev = link(dev);
            e.flags.extern_learn = extern_learn;
            snapshot.push(DataplaneEvent::Fdb(e));
        };
        extra("pe-e-110", ours, NeighState::Reachable, true);
        extra(
            "pe-e-110",
            MacAddr([2, 0, 0, 0, 0x11, 0xbb]),
            NeighState::Permanent,
            false,
        );
        extra(
            "vni110",
            MacAddr([2, 0, 0, 0, 0x11, 0xcc]),
            NeighState::Reachable,
            false,
        );

        let report = t.resync(&c, &snapshot);
        assert_eq!(
            report,
            ResyncReport {
                macs: 2,
                ips: 2,
                macs_learned: 2,
                ips_learned: 2,
                macs_forgotten: 0,
                ips_forgotten: 0,
            }
        );
        let ch = t.take_changes();
        let (ads, wds) = summary(&ch);
        assert!(wds.is_empty(), "{ch:?}");
        assert_eq!(
            ads,
            BTreeSet::from([
                (Mac(M.0), None),
                (Mac(M.0), Some(ip("10.1.1.5"))),
                (Mac(N.0), None),
                (Mac(N.0), Some(ip("2001:db8::6"))),
            ])
        );
        assert_eq!(ch.len(), 4);
        // The static entry is advertised sticky; the table ends as the events would leave it.
        let n_route = advertised(&ch)
            .into_iter()
            .find(|o| mac_ip(&o.route).mac == Mac(N.0) && mac_ip(&o.route).ip.is_none())
            .unwrap();
        assert_eq!(mobility(n_route), Some((true, 0)));
        let mut by_events = MacTable::new();
        for e in &snapshot {
            by_events.handle_event(&c, e);
        }
        assert_eq!(
            by_events.originated().collect::<Vec<_>>(),
            t.originated().collect::<Vec<_>>()
        );
    }

    #[test]
    fn resync_after_an_overrun_withdraws_what_left_and_advertises_what_arrived() {
        let c = cfg();
        let mut t = MacTable::new();
        // Before the overrun: M with a binding.
        assert!(t.handle_event(&c, &learned_on_port(M, NeighState::Reachable)));
        assert!(t.handle_event(&c, &bound("10.1.1.5", Some(M))));
        t.take_changes();
        // During it M aged out (with its binding) and N arrived.
        let snapshot = [
            learned_on_port(N, NeighState::Reachable),
            bound("10.1.1.7", Some(N)),
        ];
        let report = t.resync(&c, &snapshot);
        assert_eq!(
            (report.macs_forgotten, report.ips_forgotten),
            (1, 1),
            "{report:?}"
        );
        assert_eq!(
            (report.macs_learned, report.ips_learned),
            (1, 1),
            "{report:?}"
        );
        let ch = t.take_changes();
        let (ads, wds) = summary(&ch);
        assert_eq!(
            wds,
            BTreeSet::from([(Mac(M.0), None), (Mac(M.0), Some(ip("10.1.1.5")))])
        );
        assert_eq!(
            ads,
            BTreeSet::from([(Mac(N.0), None), (Mac(N.0), Some(ip("10.1.1.7")))])
        );
        // Withdrawals first.
        assert!(
            matches!(ch[..2], [Change::Withdraw(_), Change::Withdraw(_)]),
            "{ch:?}"
        );
        assert_eq!(ch.len(), 4);
        assert!(!t.is_local_active(110, M));
        assert_eq!(t.local_sequence(110, M), None);
        assert!(t.is_local_active(110, N));
    }

    #[test]
    fn resync_is_idempotent() {
        let c = cfg();
        let mut t = MacTable::new();
        let snapshot = [
            learned_on_port(M, NeighState::Reachable),
            learned_on_port(N, NeighState::Noarp),
            bound("10.1.1.5", Some(M)),
            bound("10.1.1.6", Some(N)),
            bound("10.1.1.9", None),
        ];
        t.resync(&c, &snapshot);
        assert_eq!(t.take_changes().len(), 4);
        let originated: Vec<Originated> = t.originated().cloned().collect();
        for _ in 0..2 {
            let report = t.resync(&c, &snapshot);
            assert!(t.take_changes().is_empty());
            assert_eq!(
                report,
                ResyncReport {
                    macs: 2,
                    ips: 2,
                    ..ResyncReport::default()
                }
            );
        }
        // Watcher events repeating the snapshot change nothing either (and the reverse).
        for e in &snapshot {
            t.handle_event(&c, e);
        }
        assert!(t.take_changes().is_empty());
        t.resync(&c, &snapshot);
        assert!(t.take_changes().is_empty());
        assert_eq!(t.originated().cloned().collect::<Vec<_>>(), originated);
        // An empty snapshot withdraws everything, once.
        t.resync(&c, &[]);
        assert_eq!(summary(&t.take_changes()).1.len(), 4);
        t.resync(&c, &[]);
        assert!(t.take_changes().is_empty());
        assert_eq!(t.originated().count(), 0);
    }

    #[test]
    fn resync_withdraws_a_removed_or_rebound_binding() {
        let c = cfg();
        let mut t = MacTable::new();
        t.local_mac_learned(&c, 110, M, false).unwrap();
        t.local_ip_learned(&c, 110, ip("10.1.1.5"), M).unwrap();
        t.local_ip_learned(&c, 110, ip("10.1.1.6"), M).unwrap();
        t.local_ip_learned(&c, 110, ip("2001:db8::5"), M).unwrap();
        t.take_changes();
        // M stays with 10.1.1.5; 10.1.1.6 is N's now; 2001:db8::5 went incomplete.
        let snapshot = [
            learned_on_port(M, NeighState::Stale),
            learned_on_port(N, NeighState::Reachable),
            bound("10.1.1.5", Some(M)),
            bound("10.1.1.6", Some(N)),
            bound("2001:db8::5", None),
        ];
        let report = t.resync(&c, &snapshot);
        assert_eq!(
            (
                report.ips_forgotten,
                report.ips_learned,
                report.macs_learned
            ),
            (1, 1, 1),
            "{report:?}"
        );
        let (ads, wds) = summary(&t.take_changes());
        assert_eq!(
            wds,
            BTreeSet::from([
                (Mac(M.0), Some(ip("10.1.1.6"))),
                (Mac(M.0), Some(ip("2001:db8::5"))),
            ])
        );
        assert_eq!(
            ads,
            BTreeSet::from([(Mac(N.0), None), (Mac(N.0), Some(ip("10.1.1.6")))])
        );
        assert!(t.is_local_active(110, M));
        assert_eq!(t.originated().count(), 4);
    }

    #[test]
    fn resync_keeps_remote_routes_and_mobility() {
        let c = cfg();
        let mut t = MacTable::new();
        // A remote VTEP advertises M (seq 3) and N; the bridge here learned M meanwhile.
        Remote::mac_only(110, M)
            .seq(3, false)
            .send(&mut t, &c, vtep_a())
            .unwrap();
        Remote::mac_only(110, N).send(&mut t, &c, vtep_a()).unwrap();
        let with_m = [learned_on_port(M, NeighState::Reachable)];
        t.resync(&c, &with_m);
        // As a watcher event would: the highest sequence seen plus one.
        let ch = t.take_changes();
        assert_eq!(ch.len(), 1);
        assert_eq!(mobility(advertised(&ch)[0]), Some((false, 4)));
        let remote_n = Fdb::unicast("vni110", N, vtep_a());
        // The VXLAN devices' entries (each has its bridge entry, checked elsewhere).
        let fdb = |t: &MacTable| {
            t.dataplane(&c)
                .fdb
                .into_values()
                .filter(|f| !f.is_bridge())
                .collect::<Vec<_>>()
        };
        assert_eq!(fdb(&t), vec![remote_n.clone()]);

        // The host moves to the remote VTEP (seq 5): ours is withdrawn, its entry flushed.
        let mut moved = Remote::mac_only(110, M).seq(5, false);
        moved.rd_n = 7;
        moved.send(&mut t, &c, vtep_a()).unwrap();
        assert_eq!(t.take_changes()[0], Change::FlushLocal { vni: 110, mac: M });
        assert!(!t.is_local_active(110, M));
        // The bridge still has its old entry: a resync does not take the MAC back.
        t.resync(&c, &with_m);
        assert!(t.take_changes().is_empty());
        assert!(!t.is_local_active(110, M));
        let remote_m = Fdb::unicast("vni110", M, vtep_a());
        assert_eq!(fdb(&t), [remote_m.clone(), remote_n.clone()]);
        // The entry is gone: the local state is forgotten, the remote one stays installed.
        t.resync(&c, &[]);
        assert!(t.take_changes().is_empty());
        assert_eq!(t.local_sequence(110, M), None);
        assert_eq!(fdb(&t), [remote_m.clone(), remote_n.clone()]);
        // The host comes back after that: the highest sequence seen plus one.
        t.resync(&c, &with_m);
        let ch = t.take_changes();
        assert_eq!(mobility(advertised(&ch)[0]), Some((false, 6)));
        assert_eq!(fdb(&t), vec![remote_n.clone()]);
        // A remote sticky claim wins over the re-learned MAC and stays won across resyncs.
        Remote::mac_only(110, M)
            .seq(0, true)
            .send(&mut t, &c, vtep_b())
            .unwrap();
        assert_eq!(t.take_changes()[0], Change::FlushLocal { vni: 110, mac: M });
        t.resync(&c, &with_m);
        assert!(t.take_changes().is_empty());
        // ... unless the MAC is made static here (static MACs never move).
        t.resync(&c, &[learned_on_port(M, NeighState::Noarp)]);
        let ch = t.take_changes();
        assert_eq!(advertised(&ch).len(), 1, "{ch:?}");
        assert!(t.is_local_active(110, M));
        assert_eq!(mobility(advertised(&ch)[0]), Some((true, 7)));
        t.resync(&c, &[learned_on_port(M, NeighState::Noarp)]);
        assert!(t.take_changes().is_empty());
        // The remote routes were never touched by the resyncs.
        assert_eq!(t.remote.len(), 4);
    }

    #[test]
    fn reconfigure_reoriginates_and_drops() {
        let c = cfg();
        let mut t = MacTable::new();
        t.local_mac_learned(&c, 120, M, false).unwrap();
        Remote::mac_only(120, N).send(&mut t, &c, vtep_a()).unwrap();
        t.take_changes();
        // New RD for 120: withdraw under the old key, announce under the new.
        let mut c2 = c.clone();
        for l in &mut c2.l2vnis {
            if l.vni == 120 {
                l.rd = RouteDistinguisher::new(AdminValue::As2 {
                    asn: 64514,
                    value: 120,
                });
            }
        }
        t.reconfigure(&c2);
        let ch = t.take_changes();
        assert!(matches!(&ch[0], Change::Withdraw(r) if r.rd() == l2(&c, 120).rd));
        assert!(matches!(&ch[1], Change::Advertise(o) if o.route.rd() == l2(&c2, 120).rd));
        assert_eq!(t.dataplane(&c2).fdb.len(), 2);
        // L2VNI 120 removed: its route is withdrawn and its remote entries dropped.
        let mut c3 = c2.clone();
        c3.l2vnis.retain(|l| l.vni != 120);
        t.reconfigure(&c3);
        assert!(matches!(&t.take_changes()[..], [Change::Withdraw(_)]));
        assert_eq!(t.dataplane(&c3), DesiredState::new());
        assert_eq!(t.originated().count(), 0);
    }
}
