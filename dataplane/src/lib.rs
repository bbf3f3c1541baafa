//! Netlink programming of the router namespace: desired-state model, reconciler, watchers.
//!
//! The kernel is touched only through the [`Dataplane`] trait, only by reconciling a
//! [`DesiredState`] (DESIGN.md invariant 8): applying the same state twice makes no write,
//! a change makes the minimal set of writes, and a restart adopts what is already there
//! instead of flushing it.
//!
//! Ownership marks (what a reconciler may delete):
//! - links: `IFLA_GROUP` = [`OWNED_LINK_GROUP`] (configurable). Not 4242: OpenPERouter uses
//!   group 4242 for the underlay NICs it moves into the namespace, which must be moved back,
//!   never deleted;
//! - addresses: `IFA_PROTO` = the protocol id (kernel ≥ 5.18), so our VTEP on `lo` is told
//!   apart from the loopback's own addresses;
//! - routes: `rtm_protocol` = [`RTPROT_PEROUTERD`] (configurable);
//! - neighbours: `NTF_EXT_LEARNED` and `NDA_PROTOCOL` = the protocol id (`extern_learn`);
//! - unicast FDB entries, of VXLAN devices (`self`) and of bridges (`master`):
//!   `NTF_EXT_LEARNED` (`extern_learn`, as zebra writes them);
//! - zero-MAC (flood list) VXLAN FDB entries: `permanent` on a VXLAN device we own (the kernel
//!   keeps one flag set for the whole flood list, so no per-remote mark is possible).
//!
//! What is reconciled: links (veth, bridge, VXLAN, VRF; MTU, master, MAC, state, IPv6
//! address generation, bridge-port `learning`/`neigh_suppress`), external links we configure
//! but never own (`lo`, an underlay NIC), addresses, sysctls, routes (ECMP, onlink, metric,
//! blackhole/unreachable, SRv6 `seg6` encap and `seg6local` End/End.DT4/DT6/DT46), neighbours
//! and FDB entries (VXLAN devices' and bridges'); routes, neighbours and FDB entries are written in batches (many
//! requests per `sendmsg`, one ACK per batch). Around the reconciler: [`layout`] builds
//! OpenPERouter's objects (namespace, VTEP, L3VNI, L2VNI, L3VPN, passthrough), [`underlay`]
//! moves NICs in and out of the namespace, [`watch`] turns kernel notifications into typed
//! events, [`netns`] runs code inside a namespace.

pub mod error;
pub mod layout;
pub mod memory;
pub mod model;
pub mod netlink;
pub mod netns;
mod nlattr;
pub mod plan;
pub mod report;
pub mod underlay;
pub mod watch;

pub use error::DataplaneError;
pub use model::{
    AddrGenMode, Address, BridgePort, DesiredState, Encap, Fdb, FdbKey, FdbTable, Link, LinkKind,
    MacAddr, Neigh, NeighKey, NextHop, ObservedLink, ObservedState, Route, RouteKey, RouteKind,
    Seg6LocalAction,
};
pub use report::{ApplyReport, Counts};

/// Default `rtm_protocol` (and `IFA_PROTO`) of our routes and addresses (`proto 250`).
///
/// Not 196: FRR's `rt_protos.d/frr.conf` names 186–197 after its daemons and 196 is
/// staticd's `static`, so FRR routes left from before the migration would look like ours.
/// 250 is outside the kernel's, iproute2's and FRR's assigned ids.
pub const RTPROT_PEROUTERD: u8 = 250;

/// Metric of the routes BGP installs (IPv4 and IPv6): 20, what zebra writes for BGP routes
/// (its administrative distance), so a connected route for the same prefix (metric 0 for
/// IPv4, 256 for IPv6) stays in place and wins, as it does with FRR. Without it an IPv4
/// route learned for a connected subnet (a ToR redistributing its connected networks, an
/// anycast gateway subnet imported from another node) collides with the kernel's route.
pub const ROUTE_METRIC: u32 = 20;

/// Default `IFLA_GROUP` of the links we create (`ip link show group 4243`).
pub const OWNED_LINK_GROUP: u32 = 4243;

/// A reconciler of kernel networking state.
#[allow(async_fn_in_trait)]
pub trait Dataplane {
    /// Makes the kernel match `desired` with the minimal set of writes; deletes only objects
    /// we own that are not desired.
    async fn apply(&mut self, desired: &DesiredState) -> Result<ApplyReport, DataplaneError>;

    /// The objects we own that exist now.
    async fn current(&mut self) -> Result<ObservedState, DataplaneError>;
}
