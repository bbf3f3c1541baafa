//! The daemon's API: what `perouterd` serves on its unix socket (HTTP + JSON) and what
//! `perouterctl` reads. Both sides use these types, so the JSON is the contract.
//!
//! | method | path | body |
//! |---|---|---|
//! | GET | `/v1/bgp/summary` | [`Summary`] |
//! | GET | `/v1/bgp/neighbors` | `[`[`Neighbor`]`]` |
//! | GET | `/v1/bgp/neighbors/{addr}` | [`Neighbor`] |
//! | GET | `/v1/bgp/routes?family=F[&prefix=P]` | `[`[`Route`]`]` |
//! | POST | `/v1/reload` | [`ReloadReport`] |
//! | POST | `/v1/bgp/neighbors/{addr}/reset` | [`Ack`] |
//! | POST | `/v1/bgp/neighbors/{addr}/shutdown` | [`Ack`] |
//!
//! Errors come back with a 4xx/5xx status and an [`ApiError`] body.

use serde::{Deserialize, Serialize};

/// `show bgp summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Router id.
    pub router_id: String,
    /// Instance AS.
    pub asn: u32,
    /// Destinations and paths per family.
    pub tables: Vec<TableSize>,
    /// Distinct attribute sets in memory.
    pub attribute_sets: usize,
    /// One line per neighbour.
    pub neighbors: Vec<NeighborSummary>,
}

/// Size of one family's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSize {
    /// Family name (`ipv4-unicast`, …).
    pub family: String,
    /// Destinations.
    pub destinations: usize,
    /// Paths.
    pub paths: usize,
}

/// One neighbour in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborSummary {
    /// Address (or the listen range / interface it belongs to, when not connected).
    pub neighbor: String,
    /// The configured neighbour this session belongs to (differs for dynamic peers).
    pub config: String,
    /// The peer's AS once known, else the configured one.
    pub remote_as: String,
    /// FSM state (`Established`, `Active`, …) or `Shutdown`.
    pub state: String,
    /// Seconds in the current state, when established.
    pub uptime_secs: Option<u64>,
    /// Paths accepted from the peer.
    pub received: u64,
    /// Destinations advertised to the peer.
    pub advertised: u64,
    /// UPDATEs received.
    pub updates_in: u64,
    /// UPDATEs sent.
    pub updates_out: u64,
    /// Operator description.
    pub description: Option<String>,
}

/// `show bgp neighbors ADDR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbor {
    /// The summary line.
    pub summary: NeighborSummary,
    /// eBGP or iBGP.
    pub kind: String,
    /// Our address and port on the session.
    pub local: Option<String>,
    /// The peer's address and port.
    pub remote: Option<String>,
    /// The peer's router id.
    pub peer_router_id: Option<String>,
    /// Families exchanged.
    pub families: Vec<String>,
    /// Hold time proposed by the peer.
    pub peer_hold_time: Option<u16>,
    /// Route refresh negotiated.
    pub route_refresh: bool,
    /// Families received with ADD-PATH identifiers.
    pub add_path_rx: Vec<String>,
    /// Families sent with ADD-PATH identifiers.
    pub add_path_tx: Vec<String>,
    /// The peer advertised graceful restart (it keeps our routes across our restarts and we
    /// keep its routes across its restarts).
    pub graceful_restart: bool,
    /// Paths of the peer kept stale while it restarts.
    pub stale_paths: usize,
    /// Destinations waiting to be sent to the peer (its queue is full or it is slow).
    pub out_queue: usize,
    /// The peer's hostname (FQDN capability).
    pub peer_hostname: Option<String>,
    /// Times the session went down.
    pub flaps: u64,
    /// Why it last went down.
    pub last_error: Option<String>,
    /// Paths accepted, per family.
    pub received_per_family: Vec<(String, u32)>,
    /// RFC 7606 actions taken on its UPDATEs.
    pub rfc7606: Rfc7606Counts,
    /// Routes refused by loop checks.
    pub filtered: u64,
}

/// RFC 7606 actions on one peer's UPDATEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rfc7606Counts {
    /// Attribute discarded.
    pub attribute_discard: u64,
    /// Treat-as-withdraw.
    pub treat_as_withdraw: u64,
    /// AFI/SAFI disabled.
    pub afi_safi_disable: u64,
    /// Session reset.
    pub session_reset: u64,
}

/// One destination with its paths (`show bgp routes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The destination (`10.0.0.0/24`, `[5]:[rd]:[0]:[prefix]`, …).
    pub destination: String,
    /// Its family.
    pub family: String,
    /// Paths, the best first.
    pub paths: Vec<RoutePath>,
}

/// One path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePath {
    /// Selected as best.
    pub best: bool,
    /// Part of the ECMP set.
    pub multipath: bool,
    /// Learned from (peer address) or `local`.
    pub from: String,
    /// Next hop.
    pub next_hop: String,
    /// AS path, space separated, sets in braces.
    pub as_path: String,
    /// LOCAL_PREF used by the decision.
    pub local_pref: u32,
    /// MED.
    pub med: Option<u32>,
    /// ORIGIN.
    pub origin: String,
    /// Communities, standard, extended and large.
    pub communities: Vec<String>,
    /// Kept across the peer's restart.
    pub stale: bool,
    /// The whole attribute set and NLRI, as the codec models it.
    pub detail: serde_json::Value,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReloadReport {
    /// Neighbours added.
    pub added: Vec<String>,
    /// Neighbours removed.
    pub removed: Vec<String>,
    /// Neighbours whose session was reset (identity changed).
    pub reset: Vec<String>,
    /// Neighbours changed in place, without a reset.
    pub updated: Vec<String>,
    /// Nothing changed at all.
    pub unchanged: bool,
}

/// A plain acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// What was done.
    pub message: String,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong.
    pub error: String,
}
