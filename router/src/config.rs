//! perouterd's configuration: YAML in, validated typed values out.
//!
//! The file is written per node by the controller from OpenPERouter's CRDs, so it speaks their
//! field names (camelCase: `holdTimeSeconds`, `addressFamilies`, `hostASN`…); `docs/config.md`
//! documents every key. This module is the only place that sees the YAML (DESIGN invariant 9):
//!
//! * private `Raw*` structs mirror the file exactly (`deny_unknown_fields` everywhere, every
//!   field optional so that a missing key is reported together with all other problems);
//! * [`parse`] / [`load`] check every rule — OpenPERouter's CEL and Go rules that apply to a
//!   single node, plus perouterd's own — and collect **all** violations into
//!   [`ConfigError::Invalid`], each naming the field path and the offending value;
//! * the result is the typed [`Config`], with defaults resolved, that the daemon uses.
//!
//! Reloading compares old and new values: [`Neighbor::identity_changed`] says whether a
//! neighbour's session must be reset, [`Config::instance_identity_changed`] whether every
//! session must be (router ID, ASN, graceful restart). Applying the same file twice yields
//! equal values, hence no change.
//!
//! Routing policies (`policies`, a perouterd extension) become [`bgp::policy::Policy`] values
//! in [`Config::policies`]; neighbours refer to them by name (`importPolicy`, `exportPolicy`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bgp::policy::{
    parse_community, parse_large_community, parse_route_target, Match, Policy, PrefixRange,
    SetAction, Term, Verdict,
};
use bgp::wire::{AdminValue, Community, Family, FamilySet, LargeCommunity};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

mod overlay;

pub use overlay::{
    node_locator, HostMasterConfig, L2VniConfig, L3VniConfig, L3VpnConfig, LocatorFormat, Overlay,
    Srv6Config, TunnelEndpoint, VtepFamily, DEFAULT_VXLAN_PORT, LOCATOR_LEN,
};

/// The BGP port, used for the listener and for neighbours without `port`.
pub const DEFAULT_PORT: u16 = 179;
/// Hold time when `holdTimeSeconds` is not set (FRR's default).
pub const DEFAULT_HOLD_TIME: u16 = 180;
/// Keepalive time when `keepaliveTimeSeconds` is not set (FRR's default).
pub const DEFAULT_KEEPALIVE: u16 = 60;
/// Connect-retry time when `connectTimeSeconds` is not set and graceful restart is off
/// (FRR's default).
pub const DEFAULT_CONNECT_TIME: u16 = 120;
/// Connect-retry time when `connectTimeSeconds` is not set and graceful restart is on
/// (OpenPERouter renders `timers connect 5` for every such neighbour).
pub const GR_CONNECT_TIME: u16 = 5;
/// `listenLimit` when not set (the controller's `--bgplistenlimit` default).
pub const DEFAULT_LISTEN_LIMIT: u32 = 65535;
/// `gracefulRestart.restartTimeSeconds` when not set.
pub const DEFAULT_RESTART_TIME: u16 = 120;
/// `gracefulRestart.stalePathTimeSeconds` when not set.
pub const DEFAULT_STALE_PATH_TIME: u16 = 360;
/// `routeReflector.clusterID` when `routeReflector` is present without it (the CRD default).
pub const DEFAULT_CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The `allowas-in` count OpenPERouter renders for eBGP neighbours (FRR's bare `allowas-in`).
pub const DEFAULT_ALLOWAS_IN: u8 = 3;
/// TTL of `ebgpMultiHop` without `ttl` (FRR's default).
pub const DEFAULT_EBGP_MULTIHOP_TTL: u8 = 255;
/// BFD receive and transmit interval (ms) when not set (FRR's default).
pub const DEFAULT_BFD_INTERVAL_MS: u32 = 300;
/// BFD detect multiplier when not set (FRR's default).
pub const DEFAULT_BFD_DETECT_MULTIPLIER: u8 = 3;
/// At most this many neighbours (the Underlay CRD's `MaxItems`).
pub const MAX_NEIGHBORS: usize = 128;
/// At most this many underlay NICs (`nics`). The CRD sets no bound; this one keeps a mistaken
/// list from moving a host's every interface.
pub const MAX_NICS: usize = 16;
/// Longest TCP-MD5 key the Linux kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_MD5_KEY_BYTES: usize = 80;
/// Longest policy or term name.
pub const MAX_POLICY_NAME: usize = 64;
/// Most times `asPathPrepend` may repeat an AS.
pub const MAX_AS_PATH_PREPEND: u8 = 10;

// ---------------------------------------------------------------------------------------------
// The typed model
// ---------------------------------------------------------------------------------------------

/// The validated configuration of one perouterd instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// BGP identifier (`routerID`).
    pub router_id: Ipv4Addr,
    /// The instance (underlay) AS number (`asn`).
    pub asn: u32,
    /// Where to accept BGP connections.
    pub listen: Listen,
    /// Maximum number of dynamic (listen-range) peers overall (`listenLimit`).
    pub listen_limit: u32,
    /// Graceful restart (RFC 4724); `None` = off.
    pub graceful_restart: Option<GracefulRestart>,
    /// Route reflector cluster ID (RFC 4456); `Some` when `routeReflector` is present.
    pub cluster_id: Option<Ipv4Addr>,
    /// The neighbours, in file order.
    pub neighbors: Vec<Neighbor>,
    /// The L3Passthrough host session in the default instance, if any. Its neighbours (one
    /// per address family of `localCIDR`) are part of `neighbors`, and the host addresses are
    /// originated (see [`Config::originated`]).
    pub passthrough: Option<HostSession>,
    /// This node's index (`nodeIndex`), as OpenPERouter's node marker assigns it: the host
    /// side of a host session is the `index + 2`-th address of its `localCIDR`.
    pub node_index: u32,
    /// Prefixes originated in the default instance (`networks`, perouterd extension; FRR's
    /// `network` statements).
    pub networks: Vec<IpNet>,
    /// Routing policies by name (`policies`). A neighbour without `importPolicy` /
    /// `exportPolicy` uses [`Policy::accept_all`] (OpenPERouter's `allowall`).
    #[serde(serialize_with = "serialize_policies")]
    pub policies: BTreeMap<String, Arc<Policy>>,
    /// The overlay: VTEP CIDRs, L3VNIs, L2VNIs, the SRv6 locator and the L3VPNs
    /// (`tunnelEndpoint`, `l3vnis`, `l2vnis`, `evpn`, `srv6`, `l3vpns`).
    pub overlay: Overlay,
    /// The underlay NICs (`nics`, OpenPERouter's `Underlay.spec.nics` of v0.1.0, later
    /// `interfaces[].networkDevice.interfaceName`), in file order, without duplicates. With
    /// `--host-netns` the kernel task moves each from the host namespace into the router
    /// namespace (with its addresses, link group 4242) before it applies the layout, and
    /// moves a NIC back when a new configuration no longer lists it.
    pub nics: Vec<String>,
}

/// The listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listen {
    /// TCP port; 0 = do not listen (active sessions only).
    pub port: u16,
    /// Local addresses to bind (default `0.0.0.0` and `::`).
    pub addresses: Vec<IpAddr>,
}

/// Graceful restart timers (seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GracefulRestart {
    /// Restart time advertised in the capability (1..=4095).
    pub restart_time: u16,
    /// How long stale routes of a restarting peer are kept (1..=4095).
    pub stale_path_time: u16,
}

/// One configured neighbour (or range of dynamic neighbours), defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbor {
    /// Who the neighbour is.
    pub target: NeighborTarget,
    /// The AS the neighbour must announce.
    pub remote_as: RemoteAs,
    /// The AS we announce to it: `localASN`, else the instance ASN.
    pub local_as: u32,
    /// TCP port to dial (default 179).
    pub port: u16,
    /// TCP-MD5 key (RFC 2385). Never serialized in clear.
    #[serde(serialize_with = "redact")]
    pub password: Option<Password>,
    /// Hold time we propose (0 = no keepalives/hold timer).
    pub hold_time: u16,
    /// Keepalive interval.
    pub keepalive: u16,
    /// Connect-retry interval: `connectTimeSeconds`, else 5 with graceful restart on, else 120.
    pub connect_time: u16,
    /// eBGP multihop TTL (`properties: [{type: ebgpMultiHop}]`).
    pub ebgp_multihop: Option<u8>,
    /// GTSM (RFC 5082) hop count (perouterd extension `ttlSecurityHops`).
    pub ttl_security: Option<u8>,
    /// Local address of the session (perouterd extension `updateSource`).
    pub update_source: Option<IpAddr>,
    /// Address families, sorted in registry order, without duplicates.
    pub families: Vec<Family>,
    /// Whether the neighbour is a route reflector client (any family carries the property).
    pub route_reflector_client: bool,
    /// Next-hop rewriting towards this neighbour.
    pub next_hop_self: NextHopSelf,
    /// Accept routes with our AS in the path this many times (`None` = never).
    pub allowas_in: Option<u8>,
    /// Prefix limit on routes received.
    pub max_prefix: Option<MaxPrefix>,
    /// Only accept connections, never dial (always true for listen ranges).
    pub passive: bool,
    /// BFD for this session; `None` = off.
    pub bfd: Option<Bfd>,
    /// Free text for operators.
    pub description: Option<String>,
    /// Name of the policy applied to routes received (`importPolicy`, a key of
    /// [`Config::policies`]); `None` = accept all.
    pub import_policy: Option<String>,
    /// Name of the policy applied to routes sent (`exportPolicy`); `None` = accept all.
    pub export_policy: Option<String>,
    /// ADD-PATH (RFC 7911) for every family of the neighbour (`addPath`, perouterd extension).
    pub add_path: AddPath,
    /// The VRF instance the session belongs to: `None` for the default instance (the
    /// underlay), the L3VNI's VRF for its host session. The session's sockets are bound to
    /// the VRF device and its routes live in the VRF's table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
}

/// ADD-PATH capability to advertise (`addPath`): what we offer; each direction is used when
/// the peer offers the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AddPath {
    /// No ADD-PATH (the default).
    #[default]
    Off,
    /// Receive several paths per prefix.
    Receive,
    /// Send every path, each with its path identifier (FRR `addpath-tx-all-paths`).
    Send,
    /// Both.
    Both,
}

/// Who a neighbour is: exactly one of `address`, `interface`, `listenRange`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NeighborTarget {
    /// A numbered neighbour.
    Address(IpAddr),
    /// BGP unnumbered over this interface (IPv6 link-local).
    Interface(String),
    /// Dynamic neighbours connecting from this range (network address normalised).
    ListenRange(IpNet),
}

impl fmt::Display for NeighborTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeighborTarget::Address(a) => write!(f, "{a}"),
            NeighborTarget::Interface(i) => write!(f, "{i}"),
            NeighborTarget::ListenRange(r) => write!(f, "{r}"),
        }
    }
}

/// What identifies a neighbour across reloads: its target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NeighborKey(pub NeighborTarget);

impl fmt::Display for NeighborKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The AS a peer must announce (`asn`, or `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteAs {
    /// Exactly this AS.
    Asn(u32),
    /// Any AS other than ours (`type: External`, FRR `remote-as external`).
    External,
    /// Our own AS (`type: Internal`, FRR `remote-as internal`).
    Internal,
}

impl RemoteAs {
    /// Whether a session with this remote AS is eBGP when our AS is `local_as`
    /// (OpenPERouter's `PeerASN.IsExternalTo`).
    pub fn is_external_to(self, local_as: u32) -> bool {
        match self {
            RemoteAs::Asn(asn) => asn != local_as,
            RemoteAs::External => true,
            RemoteAs::Internal => false,
        }
    }

    /// Whether a peer announcing `asn` is acceptable.
    pub fn accepts(self, asn: u32, local_as: u32) -> bool {
        match self {
            RemoteAs::Asn(expected) => asn == expected,
            RemoteAs::External => asn != local_as,
            RemoteAs::Internal => asn == local_as,
        }
    }
}

impl fmt::Display for RemoteAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteAs::Asn(a) => write!(f, "{a}"),
            RemoteAs::External => f.write_str("external"),
            RemoteAs::Internal => f.write_str("internal"),
        }
    }
}

/// Next-hop rewriting towards a neighbour (`nextHopSelf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NextHopSelf {
    /// Leave next hops as BGP rules say (eBGP: self; iBGP: unchanged).
    Off,
    /// Set ourselves as next hop, except on reflected routes (FRR `next-hop-self`).
    On,
    /// Set ourselves as next hop on every route, reflected ones too (FRR `next-hop-self force`).
    Force,
}

/// Prefix limit (`maxPrefix`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaxPrefix {
    /// Most prefixes accepted (per family) before acting.
    pub limit: u32,
    /// Only log when exceeded, keep the session.
    pub warning_only: bool,
    /// Re-establish this many seconds after a limit shutdown (`None` = stay down).
    pub restart: Option<u16>,
}

/// BFD settings (RFC 5880/5881); defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bfd {
    /// Required minimum receive interval, milliseconds (10..=60000, default 300).
    pub receive_interval_ms: u32,
    /// Desired minimum transmit interval, milliseconds (10..=60000, default 300).
    pub transmit_interval_ms: u32,
    /// Detection multiplier (2..=255, default 3).
    pub detect_multiplier: u8,
    /// Wait for the peer to start the BFD session (`sessionMode: Passive`).
    pub passive: bool,
    /// Minimum TTL accepted on multihop sessions.
    pub minimum_ttl: Option<u8>,
}

impl Default for Bfd {
    fn default() -> Self {
        Bfd {
            receive_interval_ms: DEFAULT_BFD_INTERVAL_MS,
            transmit_interval_ms: DEFAULT_BFD_INTERVAL_MS,
            detect_multiplier: DEFAULT_BFD_DETECT_MULTIPLIER,
            passive: false,
            minimum_ttl: None,
        }
    }
}

/// OpenPERouter's HostSession: the BGP session with the host over a veth pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostSession {
    /// `asn`. For the passthrough session OpenPERouter ignores it and uses the instance ASN.
    pub asn: u32,
    /// The AS of the host speaker (`hostASN` or `hostType`).
    pub host_as: RemoteAs,
    /// `localCIDR.ipv4`, as written (host bits kept: the addressing formulas use them).
    pub local_cidr_v4: Option<Ipv4Net>,
    /// `localCIDR.ipv6`, as written.
    pub local_cidr_v6: Option<Ipv6Net>,
}

impl Neighbor {
    /// What identifies this neighbour across reloads.
    pub fn key(&self) -> NeighborKey {
        NeighborKey(self.target.clone())
    }

    /// Whether a session with this neighbour is eBGP.
    pub fn is_external(&self) -> bool {
        self.remote_as.is_external_to(self.local_as)
    }

    /// Whether going from `self` to `other` needs the session reset: a field that is part of
    /// the OPEN or of the transport changed. Fields applied in place (description, prefix
    /// limit, next-hop-self, allowas-in, connect-retry time, BFD, import and export policies)
    /// do not count.
    /// `docs/config.md` lists the same split.
    pub fn identity_changed(&self, other: &Neighbor) -> bool {
        // Destructured without `..`: a new field is a compile error here until it is placed
        // on one side of the split.
        let Neighbor {
            target,
            remote_as,
            local_as,
            port,
            password,
            hold_time,
            keepalive,
            connect_time: _,
            ebgp_multihop,
            ttl_security,
            update_source,
            families,
            route_reflector_client,
            next_hop_self: _,
            allowas_in: _,
            max_prefix: _,
            passive,
            bfd: _,
            description: _,
            import_policy: _,
            export_policy: _,
            add_path,
            vrf,
        } = self;
        *target != other.target
            || *remote_as != other.remote_as
            || *local_as != other.local_as
            || *port != other.port
            || *password != other.password
            || *hold_time != other.hold_time
            || *keepalive != other.keepalive
            || *ebgp_multihop != other.ebgp_multihop
            || *ttl_security != other.ttl_security
            || *update_source != other.update_source
            || *families != other.families
            || *route_reflector_client != other.route_reflector_client
            || *passive != other.passive
            || *add_path != other.add_path
            || *vrf != other.vrf
    }
}

impl Config {
    /// The neighbour configured for a peer at `addr`: an exact `address` first, then the most
    /// specific `listenRange` containing it. IPv4-mapped IPv6 addresses (a v4 peer accepted
    /// on a `::` socket) are matched as IPv4. Interface (unnumbered) neighbours are not
    /// matched here: their peer is known by interface, not by address.
    pub fn neighbor_for(&self, addr: IpAddr) -> Option<&Neighbor> {
        let addr = addr.to_canonical();
        if let Some(n) = self
            .neighbors
            .iter()
            .find(|n| n.target == NeighborTarget::Address(addr))
        {
            return Some(n);
        }
        self.neighbors
            .iter()
            .filter_map(|n| match &n.target {
                NeighborTarget::ListenRange(r) if r.contains(&addr) => Some((r.prefix_len(), n)),
                NeighborTarget::ListenRange(_)
                | NeighborTarget::Address(_)
                | NeighborTarget::Interface(_) => None,
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, n)| n)
    }

    /// Prefixes this router originates in the default instance: `networks`, the host
    /// addresses of the passthrough session as /32 or /128 (OpenPERouter renders
    /// `network <hostIP>/32` for it), and the node's VTEPs when any VNI is configured
    /// (OpenPERouter renders `network <VTEP>/32` so the fabric can reach the tunnel endpoint).
    ///
    /// With L3VPNs, also the IPv6 VTEP (the VPN next hop) and the node's SRv6 locator:
    /// OpenPERouter has IS-IS advertise the locator (`segment-routing srv6 locator MAIN` in
    /// `router isis`); perouterd has no IS-IS and announces it over BGP IPv6 unicast instead,
    /// so the fabric routes the node's SIDs to it (the local SID routes take them from there).
    pub fn originated(&self) -> Vec<IpNet> {
        let mut out = self.networks.clone();
        if let Some(hs) = &self.passthrough {
            for (_, host) in passthrough_hosts(hs, self.node_index) {
                out.push(IpNet::from(host));
            }
        }
        let o = &self.overlay;
        if !o.l3vnis.is_empty() || !o.l2vnis.is_empty() || !o.l3vpns.is_empty() {
            for v6 in [false, true] {
                if let Some(vtep) = self.overlay.tunnel_endpoint.vtep(v6, self.node_index) {
                    out.push(IpNet::from(vtep));
                }
            }
        }
        if let (false, Some(srv6)) = (o.l3vpns.is_empty(), &o.srv6) {
            out.push(IpNet::V6(srv6.locator));
        }
        out.sort();
        out.dedup();
        out
    }

    /// Prefixes the VRF instance of L3VNI or L3VPN `vrf` originates (OpenPERouter's
    /// `network` lines in `router bgp … vrf <vrf>`): this node's host-side addresses of the
    /// host session as /32 and /128, and the gateway subnets of the L2VNIs routed into the
    /// VRF. Sorted.
    pub fn vrf_networks(&self, vrf: &str) -> Vec<IpNet> {
        let mut out = Vec::new();
        if let Some(hs) = self.overlay.vrf_host_session(vrf) {
            for (_, host) in passthrough_hosts(hs, self.node_index) {
                out.push(IpNet::from(host));
            }
        }
        for l2 in &self.overlay.l2vnis {
            if l2.routing_domain.as_deref() == Some(vrf) {
                out.extend(l2.gateway_ips.iter().map(IpNet::trunc));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The neighbour with this key.
    pub fn neighbor(&self, key: &NeighborKey) -> Option<&Neighbor> {
        self.neighbors.iter().find(|n| n.target == key.0)
    }

    /// The policy named `name` (a neighbour's `import_policy` / `export_policy`). A neighbour
    /// without a policy name uses [`Policy::accept_all`].
    pub fn policy(&self, name: &str) -> Option<&Arc<Policy>> {
        self.policies.get(name)
    }

    /// Whether going from `self` to `other` resets every session: the router ID, the instance
    /// ASN or graceful restart (all carried in every OPEN) changed.
    pub fn instance_identity_changed(&self, other: &Config) -> bool {
        self.router_id != other.router_id
            || self.asn != other.asn
            || self.graceful_restart != other.graceful_restart
    }
}

fn serialize_policies<S: Serializer>(
    policies: &BTreeMap<String, Arc<Policy>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(policies.iter().map(|(name, p)| (name, &**p)))
}

/// A TCP-MD5 password: shown as `<redacted>` by `Debug` and `Serialize`, so that neither
/// logs nor the API ever carry it; [`Password::expose`] (or `Deref`) gives the key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Password(String);

impl Password {
    /// The key itself, for the socket option.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Password {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn redact<S: Serializer>(password: &Option<Password>, s: S) -> Result<S::Ok, S::Error> {
    match password {
        Some(_) => s.serialize_some("<redacted>"),
        None => s.serialize_none(),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One violated rule: the field path (`neighbors[1].holdTimeSeconds`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field in the file, YAML names (`neighbors[0].bfd.detectMultiplier`).
    pub field: String,
    /// What is wrong, naming the value.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A position in the YAML text (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}", self.line, self.column)
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The reason.
        #[source]
        source: std::io::Error,
    },
    /// Not YAML, or not the shape of the file: bad syntax, an unknown key, a wrong type or an
    /// unknown enum value. The message names the field path (`neighbors[0]: unknown field…`).
    #[error("{}{message}", syntax_prefix(*location))]
    Syntax {
        /// Where, when the parser knows.
        location: Option<Location>,
        /// What, with the field path when there is one.
        message: String,
    },
    /// Well-formed but violates rules; every violation, one per line.
    #[error("{}", join_lines(.0))]
    Invalid(Vec<FieldError>),
}

impl ConfigError {
    /// The rule violations ([`ConfigError::Invalid`]); empty for other errors.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ConfigError::Invalid(errors) => errors,
            ConfigError::Io { .. } | ConfigError::Syntax { .. } => &[],
        }
    }
}

fn syntax_prefix(location: Option<Location>) -> String {
    location.map_or_else(String::new, |l| format!("{l}: "))
}

fn join_lines(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text)
}

/// Parses and validates a configuration from YAML text.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    // An empty document (or only comments) is an empty mapping: report the missing keys.
    let raw = if is_blank_yaml(text) {
        RawConfig::default()
    } else {
        RawConfig::deserialize(serde_norway::Deserializer::from_str(text)).map_err(syntax)?
    };
    validate(raw)
}

fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    })
}

fn syntax(e: serde_norway::Error) -> ConfigError {
    let location = e.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    let mut message = e.to_string();
    // serde_norway appends " at line L column C"; the location is shown in front instead.
    if let Some(l) = location {
        let suffix = format!(" at line {} column {}", l.line, l.column);
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    ConfigError::Syntax { location, message }
}

// ---------------------------------------------------------------------------------------------
// The file, as written
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a mapping of perouterd configuration keys (routerID, asn, neighbors, …)"
)]
struct RawConfig {
    #[serde(rename = "routerID")]
    router_id: Option<String>,
    asn: Option<i64>,
    listen: Option<RawListen>,
    listen_limit: Option<i64>,
    graceful_restart: Option<RawGracefulRestart>,
    route_reflector: Option<RawRouteReflector>,
    neighbors: Option<Vec<RawNeighbor>>,
    passthrough: Option<RawPassthrough>,
    policies: Option<Vec<RawPolicy>>,
    node_index: Option<i64>,
    networks: Option<Vec<String>>,
    tunnel_endpoint: Option<overlay::RawTunnelEndpoint>,
    evpn: Option<overlay::RawEvpn>,
    l3vnis: Option<Vec<overlay::RawL3Vni>>,
    l2vnis: Option<Vec<overlay::RawL2Vni>>,
    srv6: Option<overlay::RawSrv6>,
    l3vpns: Option<Vec<overlay::RawL3Vpn>>,
    nics: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a listen mapping (port, addresses)"
)]
struct RawListen {
    port: Option<i64>,
    addresses: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a gracefulRestart mapping (restartTimeSeconds, stalePathTimeSeconds)"
)]
struct RawGracefulRestart {
    restart_time_seconds: Option<i64>,
    stale_path_time_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a routeReflector mapping (clusterID)"
)]
struct RawRouteReflector {
    #[serde(rename = "clusterID")]
    cluster_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a neighbor mapping (address, asn, …)"
)]
struct RawNeighbor {
    address: Option<String>,
    interface: Option<String>,
    listen_range: Option<String>,
    asn: Option<i64>,
    #[serde(rename = "type")]
    kind: Option<AsType>,
    port: Option<i64>,
    password: Option<String>,
    hold_time_seconds: Option<i64>,
    keepalive_time_seconds: Option<i64>,
    connect_time_seconds: Option<i64>,
    properties: Option<Vec<RawProperty>>,
    bfd: Option<RawBfd>,
    address_families: Option<Vec<RawAddressFamily>>,
    // perouterd extensions
    passive: Option<bool>,
    #[serde(rename = "localASN")]
    local_asn: Option<i64>,
    update_source: Option<String>,
    ttl_security_hops: Option<i64>,
    next_hop_self: Option<RawNextHopSelf>,
    allowas_in: Option<i64>,
    max_prefix: Option<RawMaxPrefix>,
    description: Option<String>,
    import_policy: Option<String>,
    export_policy: Option<String>,
    add_path: Option<AddPath>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum AsType {
    External,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum PropertyType {
    #[serde(rename = "ebgpMultiHop")]
    EbgpMultiHop,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a neighbor property mapping (type, ebgpMultiHop)"
)]
struct RawProperty {
    #[serde(rename = "type")]
    kind: Option<PropertyType>,
    ebgp_multi_hop: Option<RawEbgpMultiHop>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an ebgpMultiHop mapping (ttl)")]
struct RawEbgpMultiHop {
    ttl: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum BfdSessionMode {
    Active,
    Passive,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a bfd mapping (receiveInterval, transmitInterval, …)"
)]
struct RawBfd {
    receive_interval: Option<i64>,
    transmit_interval: Option<i64>,
    detect_multiplier: Option<i64>,
    session_mode: Option<BfdSessionMode>,
    #[serde(rename = "minimumTTL")]
    minimum_ttl: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FamilyType {
    Ipv4unicast,
    Ipv6unicast,
    Evpn,
    Ipv4vpn,
    Ipv6vpn,
}

impl FamilyType {
    fn name(self) -> &'static str {
        match self {
            FamilyType::Ipv4unicast => "ipv4unicast",
            FamilyType::Ipv6unicast => "ipv6unicast",
            FamilyType::Evpn => "evpn",
            FamilyType::Ipv4vpn => "ipv4vpn",
            FamilyType::Ipv6vpn => "ipv6vpn",
        }
    }

    fn family(self) -> Family {
        match self {
            FamilyType::Ipv4unicast => Family::Ipv4Unicast,
            FamilyType::Ipv6unicast => Family::Ipv6Unicast,
            FamilyType::Evpn => Family::L2vpnEvpn,
            FamilyType::Ipv4vpn => Family::Ipv4Vpn,
            FamilyType::Ipv6vpn => Family::Ipv6Vpn,
        }
    }

    fn is_vpn(self) -> bool {
        matches!(self, FamilyType::Ipv4vpn | FamilyType::Ipv6vpn)
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an address family mapping (type, properties)"
)]
struct RawAddressFamily {
    #[serde(rename = "type")]
    kind: Option<FamilyType>,
    properties: Option<Vec<RawAfProperty>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum AfPropertyType {
    #[serde(rename = "routeReflectorClient")]
    RouteReflectorClient,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an address family property mapping (type)"
)]
struct RawAfProperty {
    #[serde(rename = "type")]
    kind: Option<AfPropertyType>,
}

/// `nextHopSelf`: `true`, `false` or `force` (also accepted quoted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RawNextHopSelf(NextHopSelf);

impl<'de> Deserialize<'de> for RawNextHopSelf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawNextHopSelf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or force")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(RawNextHopSelf(if v {
                    NextHopSelf::On
                } else {
                    NextHopSelf::Off
                }))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    "true" => Ok(RawNextHopSelf(NextHopSelf::On)),
                    "false" => Ok(RawNextHopSelf(NextHopSelf::Off)),
                    "force" => Ok(RawNextHopSelf(NextHopSelf::Force)),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a maxPrefix mapping (limit, warningOnly, restartSeconds)"
)]
struct RawMaxPrefix {
    limit: Option<i64>,
    warning_only: Option<bool>,
    restart_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a passthrough mapping (hostSession)"
)]
struct RawPassthrough {
    host_session: Option<RawHostSession>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a hostSession mapping (asn, hostASN or hostType, localCIDR)"
)]
struct RawHostSession {
    asn: Option<i64>,
    #[serde(rename = "hostASN")]
    host_asn: Option<i64>,
    host_type: Option<AsType>,
    #[serde(rename = "localCIDR")]
    local_cidr: Option<RawLocalCidr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a localCIDR mapping (ipv4, ipv6)")]
struct RawLocalCidr {
    ipv4: Option<String>,
    ipv6: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawVerdict {
    Accept,
    Reject,
}

impl RawVerdict {
    fn verdict(self) -> Verdict {
        match self {
            RawVerdict::Accept => Verdict::Accept,
            RawVerdict::Reject => Verdict::Reject,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a policy mapping (name, terms, default)"
)]
struct RawPolicy {
    name: Option<String>,
    terms: Option<Vec<RawTerm>>,
    default: Option<RawVerdict>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a policy term mapping (name, match, set, action)"
)]
struct RawTerm {
    name: Option<String>,
    #[serde(rename = "match")]
    matches: Option<RawMatch>,
    set: Option<RawSet>,
    action: Option<RawVerdict>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a match mapping (prefix, ge, le, prefixList, families, community, …)"
)]
struct RawMatch {
    prefix: Option<String>,
    ge: Option<i64>,
    le: Option<i64>,
    prefix_list: Option<Vec<RawPrefixEntry>>,
    families: Option<Vec<FamilyType>>,
    evpn_route_type: Option<i64>,
    community: Option<String>,
    any_community: Option<Vec<String>>,
    large_community: Option<String>,
    route_target: Option<String>,
    #[serde(rename = "originASN")]
    origin_asn: Option<i64>,
    as_path_length: Option<RawLengthRange>,
    next_hop: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a prefixList entry mapping (prefix, ge, le)"
)]
struct RawPrefixEntry {
    prefix: Option<String>,
    ge: Option<i64>,
    le: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an asPathLength mapping (min, max)")]
struct RawLengthRange {
    min: Option<i64>,
    max: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a set mapping (localPref, med, weight, nextHop, communities, …)"
)]
struct RawSet {
    local_pref: Option<i64>,
    med: Option<i64>,
    weight: Option<i64>,
    next_hop: Option<String>,
    communities: Option<Vec<String>>,
    add_communities: Option<Vec<String>>,
    remove_communities: Option<Vec<String>>,
    add_large_communities: Option<Vec<String>>,
    remove_large_communities: Option<Vec<String>>,
    add_route_targets: Option<Vec<String>>,
    remove_route_targets: Option<Vec<String>>,
    as_path_prepend: Option<RawPrepend>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an asPathPrepend mapping (asn, times)"
)]
struct RawPrepend {
    asn: Option<i64>,
    times: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const ASN_MAX: i64 = 4_294_967_295;

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `value` converted to `T` if it lies in `lo..=hi`; otherwise an error naming both.
    fn int<T: TryFrom<i64>>(&mut self, field: &str, value: i64, lo: i64, hi: i64) -> Option<T> {
        if value < lo || value > hi {
            self.push(field, format!("{value} is out of range ({lo}..={hi})"));
            return None;
        }
        match T::try_from(value) {
            Ok(v) => Some(v),
            Err(_) => {
                self.push(field, format!("{value} does not fit"));
                None
            }
        }
    }

    fn asn(&mut self, field: &str, value: i64) -> Option<u32> {
        self.int(field, value, 1, ASN_MAX)
    }

    fn required<T>(&mut self, field: &str, value: Option<T>, what: &str) -> Option<T> {
        if value.is_none() {
            self.push(field, format!("is required ({what})"));
        }
        value
    }
}

/// What neighbour validation needs from the rest of the file.
struct Instance {
    asn: Option<u32>,
    graceful_restart: bool,
    listen_port: u16,
    passthrough_v4: bool,
    passthrough_v6: bool,
    /// The file configures L3VPNs (IPv6 neighbours then default to the VPN families).
    l3vpns: bool,
    /// Names of the policies the file declares (valid or not), for `importPolicy` /
    /// `exportPolicy`.
    policies: Vec<String>,
}

fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let mut e = Errors::default();

    let router_id = e
        .required("routerID", raw.router_id, "the IPv4 BGP identifier")
        .and_then(|s| ipv4(&mut e, "routerID", &s));
    let asn = e
        .required("asn", raw.asn, "the instance AS number")
        .and_then(|a| e.asn("asn", a));

    let listen = listen(&mut e, raw.listen);
    let listen_limit = match raw.listen_limit {
        Some(v) => e.int("listenLimit", v, 1, 65535),
        None => Some(DEFAULT_LISTEN_LIMIT),
    };

    let graceful_restart = raw.graceful_restart.map(|gr| GracefulRestart {
        restart_time: gr
            .restart_time_seconds
            .map_or(Some(DEFAULT_RESTART_TIME), |v| {
                e.int("gracefulRestart.restartTimeSeconds", v, 1, 4095)
            })
            .unwrap_or(DEFAULT_RESTART_TIME),
        stale_path_time: gr
            .stale_path_time_seconds
            .map_or(Some(DEFAULT_STALE_PATH_TIME), |v| {
                e.int("gracefulRestart.stalePathTimeSeconds", v, 1, 4095)
            })
            .unwrap_or(DEFAULT_STALE_PATH_TIME),
    });

    let cluster_id = raw.route_reflector.map(|rr| match rr.cluster_id {
        Some(s) => ipv4(&mut e, "routeReflector.clusterID", &s).unwrap_or(DEFAULT_CLUSTER_ID),
        None => DEFAULT_CLUSTER_ID,
    });

    // Reported after the neighbours, in file order, though needed before them (default families).
    let mut pe = Errors::default();
    let passthrough = raw.passthrough.and_then(|p| {
        pe.required(
            "passthrough.hostSession",
            p.host_session,
            "the L3Passthrough host session",
        )
        .and_then(|hs| host_session(&mut pe, "passthrough.hostSession", hs))
    });

    // Policies: validated before the neighbours (which name them), reported after them.
    let declared: Vec<String> = raw
        .policies
        .iter()
        .flatten()
        .filter_map(|p| p.name.clone())
        .collect();
    let mut pol = Errors::default();
    let policies = policies(&mut pol, raw.policies.unwrap_or_default());

    let instance = Instance {
        asn,
        graceful_restart: graceful_restart.is_some(),
        listen_port: listen.as_ref().map_or(DEFAULT_PORT, |l| l.port),
        passthrough_v4: passthrough
            .as_ref()
            .is_some_and(|p| p.local_cidr_v4.is_some()),
        passthrough_v6: passthrough
            .as_ref()
            .is_some_and(|p| p.local_cidr_v6.is_some()),
        l3vpns: raw.l3vpns.as_ref().is_some_and(|l| !l.is_empty()),
        policies: declared,
    };

    let raw_neighbors = raw.neighbors.unwrap_or_default();
    if raw_neighbors.len() > MAX_NEIGHBORS {
        e.push(
            "neighbors",
            format!(
                "{} neighbours configured, at most {MAX_NEIGHBORS} are allowed",
                raw_neighbors.len()
            ),
        );
    }
    let mut targets = Vec::new();
    let mut neighbors = Vec::new();
    for (i, rn) in raw_neighbors.into_iter().enumerate() {
        let (target, neighbor) = neighbor(&mut e, i, rn, &instance);
        if let Some(t) = target {
            targets.push((i, t));
        }
        neighbors.extend(neighbor);
    }
    let node_index = match raw.node_index {
        None => Some(0u32),
        Some(v) => e.int("nodeIndex", v, 0, 65535),
    };
    let mut networks = Vec::new();
    for (i, n) in raw.networks.unwrap_or_default().iter().enumerate() {
        match n.parse::<IpNet>() {
            Ok(net) if net.trunc() == net => networks.push(net),
            Ok(net) => e.push(
                format!("networks[{i}]"),
                format!("{n:?} has host bits set (did you mean {}?)", net.trunc()),
            ),
            Err(_) => e.push(format!("networks[{i}]"), format!("{n:?} is not a prefix")),
        }
    }
    networks.sort();
    networks.dedup();
    let nics = nics(&mut e, raw.nics.unwrap_or_default());
    let overlay = overlay::overlay(
        &mut e,
        overlay::RawOverlay {
            tunnel_endpoint: raw.tunnel_endpoint,
            evpn: raw.evpn,
            l3vnis: raw.l3vnis,
            l2vnis: raw.l2vnis,
            srv6: raw.srv6,
            l3vpns: raw.l3vpns,
        },
        node_index.unwrap_or(0),
    );
    if let (Some(hs), Some(idx), Some(local)) = (&passthrough, node_index, asn) {
        for (family, host) in passthrough_hosts(hs, idx) {
            if let Some((i, _)) = targets
                .iter()
                .find(|(_, t)| *t == NeighborTarget::Address(host))
            {
                pe.push(
                    format!("neighbors[{i}].address"),
                    format!("{host} is the passthrough host session's address (node {idx}); remove one of them"),
                );
                continue;
            }
            neighbors.push(host_neighbor(hs, host, family, local, None));
        }
    }
    // The L3VNIs' and L3VPNs' host sessions, each in its VRF instance (`router bgp
    // <hostSession.asn> vrf <vrf>`: `neighbor <hostIP> remote-as <hostASN>`).
    if let Some(idx) = node_index {
        let sessions = overlay
            .l3vnis
            .iter()
            .map(|l| (format!("l3vnis[vrf={}]", l.vrf), &l.vrf, &l.host_session))
            .chain(
                overlay
                    .l3vpns
                    .iter()
                    .map(|l| (format!("l3vpns[vrf={}]", l.vrf), &l.vrf, &l.host_session)),
            );
        for (field, vrf, hs) in sessions {
            let Some(hs) = hs else {
                continue;
            };
            for (family, host) in passthrough_hosts(hs, idx) {
                let taken = targets
                    .iter()
                    .find(|(_, t)| *t == NeighborTarget::Address(host))
                    .map(|(i, _)| format!("neighbors[{i}]"))
                    .or_else(|| {
                        neighbors
                            .iter()
                            .find(|n| n.target == NeighborTarget::Address(host))
                            .map(|n| n.description.clone().unwrap_or_default())
                    });
                if let Some(other) = taken {
                    pe.push(
                        format!("{field}.hostSession"),
                        format!("{host} is this node's host-side address of the session, and also {other}; addresses must be unique on the node"),
                    );
                    continue;
                }
                neighbors.push(host_neighbor(hs, host, family, hs.asn, Some(vrf.clone())));
            }
        }
    }
    // FRR's `update-source <v6 VTEP>` on the neighbours carrying VPN families when SRv6 is
    // configured (reference §2.3): the session, and so the VPN next hop the peer checks,
    // comes from the node's IPv6 VTEP unless `updateSource` says otherwise.
    if let (Some(_), Some(vtep)) = (
        &overlay.srv6,
        overlay.tunnel_endpoint.vtep(true, node_index.unwrap_or(0)),
    ) {
        for n in neighbors.iter_mut().filter(|n| n.vrf.is_none()) {
            let vpn = n
                .families
                .iter()
                .any(|f| matches!(f, Family::Ipv4Vpn | Family::Ipv6Vpn));
            if vpn
                && n.update_source.is_none()
                && matches!(n.target, NeighborTarget::Address(IpAddr::V6(_)))
            {
                n.update_source = Some(vtep);
            }
        }
    }
    cross_neighbor_checks(&mut e, &targets);
    e.0.extend(pe.0);
    e.0.extend(pol.0);

    if !e.0.is_empty() {
        return Err(ConfigError::Invalid(e.0));
    }
    match (router_id, asn, listen, listen_limit, node_index) {
        (Some(router_id), Some(asn), Some(listen), Some(listen_limit), Some(node_index)) => {
            Ok(Config {
                router_id,
                asn,
                listen,
                listen_limit,
                graceful_restart,
                cluster_id,
                neighbors,
                passthrough,
                policies,
                node_index,
                networks,
                overlay,
                nics,
            })
        }
        // Every `None` above pushed an error, so this is unreachable; keep it an error anyway.
        _ => Err(ConfigError::Invalid(vec![FieldError {
            field: String::new(),
            message: "invalid configuration".to_string(),
        }])),
    }
}

/// The `i`-th address after `base` (go-cidr's `Host`), if it exists.
fn nth_address(base: IpAddr, i: u32) -> Option<IpAddr> {
    match base {
        IpAddr::V4(a) => u32::from(a)
            .checked_add(i)
            .map(|x| IpAddr::V4(Ipv4Addr::from(x))),
        IpAddr::V6(a) => u128::from(a)
            .checked_add(u128::from(i))
            .map(|x| IpAddr::V6(std::net::Ipv6Addr::from(x))),
    }
}

/// Whether an address ends in a zero byte (OpenPERouter's "normal CIDR" test).
fn ends_in_zero(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.octets()[3] == 0,
        IpAddr::V6(v) => v.octets()[15] == 0,
    }
}

/// OpenPERouter's address formulas for a host session (`internal/ipam`): the router side is
/// `Host(localCIDR, 1)` when the CIDR as written ends in .0 (else `Host(localCIDR, 0)`), the
/// host side `Host(localCIDR, index + 2)` (else `index + 1`).
pub fn host_session_addresses(local_cidr: IpNet, node_index: u32) -> Option<(IpAddr, IpAddr)> {
    let base = local_cidr.addr();
    let (router, host) = if ends_in_zero(base) {
        (
            nth_address(base, 1)?,
            nth_address(base, node_index.checked_add(2)?)?,
        )
    } else {
        (base, nth_address(base, node_index.checked_add(1)?)?)
    };
    (local_cidr.contains(&host) && local_cidr.contains(&router)).then_some((router, host))
}

/// The host addresses of a passthrough session, with their families.
fn passthrough_hosts(hs: &HostSession, idx: u32) -> Vec<(Family, IpAddr)> {
    let mut out = Vec::new();
    if let Some(v4) = hs.local_cidr_v4 {
        if let Some((_, host)) = host_session_addresses(IpNet::V4(v4), idx) {
            out.push((Family::Ipv4Unicast, host));
        }
    }
    if let Some(v6) = hs.local_cidr_v6 {
        if let Some((_, host)) = host_session_addresses(IpNet::V6(v6), idx) {
            out.push((Family::Ipv6Unicast, host));
        }
    }
    out
}

/// The neighbour OpenPERouter renders for a host session: `neighbor <hostIP> remote-as
/// <hostASN|type>`, `timers connect 5`, the matching unicast family, `next-hop-self force`
/// when internal, route-map allowall both ways. The passthrough session (`vrf` `None`) lives
/// in the default instance with its ASN (the session's `asn` is ignored); an L3VNI's lives in
/// the VRF instance with the session's `asn`.
///
/// OpenPERouter activates both unicast families on each host neighbour; perouterd carries
/// each family on the session of that family (IPv6 routes over an IPv4 session would need
/// an IPv6 next hop the host link may not have).
fn host_neighbor(
    hs: &HostSession,
    host: IpAddr,
    family: Family,
    local_as: u32,
    vrf: Option<String>,
) -> Neighbor {
    let external = hs.host_as.is_external_to(local_as);
    Neighbor {
        target: NeighborTarget::Address(host),
        remote_as: hs.host_as,
        local_as,
        port: DEFAULT_PORT,
        password: None,
        hold_time: DEFAULT_HOLD_TIME,
        keepalive: DEFAULT_KEEPALIVE,
        connect_time: GR_CONNECT_TIME,
        ebgp_multihop: None,
        ttl_security: None,
        update_source: None,
        families: vec![family],
        route_reflector_client: false,
        next_hop_self: if external {
            NextHopSelf::Off
        } else {
            NextHopSelf::Force
        },
        allowas_in: None,
        max_prefix: None,
        passive: false,
        bfd: None,
        description: Some(match &vrf {
            None => "passthrough host session".to_string(),
            Some(v) => format!("host session of VRF {v}"),
        }),
        import_policy: None,
        export_policy: None,
        add_path: AddPath::Off,
        vrf,
    }
}

fn ipv4(e: &mut Errors, field: &str, s: &str) -> Option<Ipv4Addr> {
    match s.parse::<Ipv4Addr>() {
        Ok(a) => Some(a),
        Err(_) => {
            e.push(field, format!("{s:?} is not an IPv4 address"));
            None
        }
    }
}

fn ip(e: &mut Errors, field: &str, s: &str) -> Option<IpAddr> {
    match s.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            e.push(field, format!("{s:?} is not an IP address"));
            None
        }
    }
}

fn listen(e: &mut Errors, raw: Option<RawListen>) -> Option<Listen> {
    let default_addresses = vec![
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    ];
    let Some(raw) = raw else {
        return Some(Listen {
            port: DEFAULT_PORT,
            addresses: default_addresses,
        });
    };
    let port = raw
        .port
        .map_or(Some(DEFAULT_PORT), |p| e.int("listen.port", p, 0, 65535));
    let addresses = match raw.addresses {
        None => Some(default_addresses),
        Some(list) if list.is_empty() => {
            e.push(
                "listen.addresses",
                "is empty; omit it to listen on all addresses, or set listen.port to 0 not to listen",
            );
            None
        }
        Some(list) => {
            let mut out: Vec<IpAddr> = Vec::new();
            let mut ok = true;
            for (i, s) in list.iter().enumerate() {
                let field = format!("listen.addresses[{i}]");
                match ip(e, &field, s) {
                    Some(a) if out.contains(&a) => {
                        e.push(field, format!("{a} is listed twice"));
                        ok = false;
                    }
                    Some(a) => out.push(a),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
    };
    Some(Listen {
        port: port?,
        addresses: addresses?,
    })
}

fn as_type(t: AsType) -> RemoteAs {
    match t {
        AsType::External => RemoteAs::External,
        AsType::Internal => RemoteAs::Internal,
    }
}

fn host_session(e: &mut Errors, path: &str, raw: RawHostSession) -> Option<HostSession> {
    let asn = e
        .required(
            &format!("{path}.asn"),
            raw.asn,
            "the local AS of the session",
        )
        .and_then(|a| e.asn(&format!("{path}.asn"), a));
    let host_as = match (raw.host_asn, raw.host_type) {
        (Some(a), None) => e.asn(&format!("{path}.hostASN"), a).map(RemoteAs::Asn),
        (None, Some(t)) => Some(as_type(t)),
        (Some(_), Some(_)) | (None, None) => {
            e.push(path, "exactly one of hostASN, hostType must be set");
            None
        }
    };
    let (v4, v6) = match raw.local_cidr {
        None => {
            e.push(
                format!("{path}.localCIDR"),
                "is required (at least one of ipv4, ipv6)",
            );
            (None, None)
        }
        Some(RawLocalCidr {
            ipv4: None,
            ipv6: None,
        }) => {
            e.push(
                format!("{path}.localCIDR"),
                "at least one of ipv4, ipv6 must be set",
            );
            (None, None)
        }
        Some(c) => {
            let v4 = c.ipv4.and_then(|s| {
                let field = format!("{path}.localCIDR.ipv4");
                match s.parse::<Ipv4Net>() {
                    Ok(n) if n.prefix_len() > 30 => {
                        e.push(field, format!("{s} leaves no room for the router-side and host-side addresses (at most /30)"));
                        None
                    }
                    Ok(n) => Some(n),
                    Err(_) => {
                        e.push(field, format!("{s:?} is not an IPv4 CIDR"));
                        None
                    }
                }
            });
            let v6 = c.ipv6.and_then(|s| {
                let field = format!("{path}.localCIDR.ipv6");
                match s.parse::<Ipv6Net>() {
                    Ok(n) if n.prefix_len() > 126 => {
                        e.push(field, format!("{s} leaves no room for the router-side and host-side addresses (at most /126)"));
                        None
                    }
                    Ok(n) => Some(n),
                    Err(_) => {
                        e.push(field, format!("{s:?} is not an IPv6 CIDR"));
                        None
                    }
                }
            });
            (v4, v6)
        }
    };
    Some(HostSession {
        asn: asn?,
        host_as: host_as?,
        local_cidr_v4: v4,
        local_cidr_v6: v6,
    })
}

/// `nics`: at most [`MAX_NICS`] names, each matching the CRD's
/// `^[a-zA-Z][a-zA-Z0-9._-]*$` in 1..=15 bytes (which the kernel also accepts), no duplicates.
fn nics(e: &mut Errors, raw: Vec<String>) -> Vec<String> {
    if raw.len() > MAX_NICS {
        e.push(
            "nics",
            format!(
                "{} NICs configured, at most {MAX_NICS} are allowed",
                raw.len()
            ),
        );
    }
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for (i, name) in raw.into_iter().enumerate() {
        let field = format!("nics[{i}]");
        let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        let rest_ok = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if name.is_empty() || name.len() > 15 || !first_ok || !rest_ok {
            e.push(
                field,
                format!(
                    "{name:?} is not an interface name: must match ^[a-zA-Z][a-zA-Z0-9._-]*$ and be 1..=15 bytes long"
                ),
            );
            continue;
        }
        if name == "lo" {
            e.push(
                field,
                "\"lo\" is the loopback device, which cannot leave its namespace",
            );
            continue;
        }
        if is_layout_name(&name) {
            e.push(
                field,
                format!("{name:?} is a name perouterd gives to the links it creates (pt-ns, pt-host, pe-e-N, host-e-N, pe-s-N, host-s-N, br-pe-N, br-hs-N, vniN): rename the NIC"),
            );
            continue;
        }
        if let Some(n) = unique_name(e, &field, name, i, &mut seen, "nics") {
            out.push(n);
        }
    }
    out
}

/// Whether `name` is one of the link names OpenPERouter's layout creates (reference §1.1):
/// an underlay NIC with such a name would collide with them.
fn is_layout_name(name: &str) -> bool {
    const PREFIXES: [&str; 6] = ["pe-e-", "host-e-", "pe-s-", "host-s-", "br-pe-", "br-hs-"];
    name == "pt-ns"
        || name == "pt-host"
        || PREFIXES.iter().any(|p| name.starts_with(p))
        || name
            .strip_prefix("vni")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Interface names as the kernel and the CRD allow them.
fn interface_name(e: &mut Errors, field: &str, s: &str) -> Option<String> {
    let bad = if s.is_empty() || s.len() > 15 {
        Some("must be 1..=15 bytes long")
    } else if s.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) {
        Some("must not contain '/', ':' or whitespace")
    } else if s == "." || s == ".." {
        Some("cannot be . or ..")
    } else {
        None
    };
    match bad {
        Some(why) => {
            e.push(field, format!("{s:?} is not an interface name: {why}"));
            None
        }
        None => Some(s.to_string()),
    }
}

fn neighbor_address(e: &mut Errors, field: &str, s: &str) -> Option<IpAddr> {
    if s.len() > 39 {
        e.push(field, format!("{s:?} is longer than 39 characters"));
        return None;
    }
    let a = ip(e, field, s)?;
    let why = match a {
        IpAddr::V4(v4) if v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() => {
            Some("is not a unicast address")
        }
        IpAddr::V6(v6) if v6.is_unspecified() || v6.is_multicast() => {
            Some("is not a unicast address")
        }
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
            Some("is IPv4-mapped; write the IPv4 address")
        }
        IpAddr::V4(_) | IpAddr::V6(_) => None,
    };
    match why {
        Some(why) => {
            e.push(field, format!("{a} {why}"));
            None
        }
        None => Some(a),
    }
}

fn listen_range(e: &mut Errors, field: &str, s: &str) -> Option<IpNet> {
    if s.len() > 43 {
        e.push(field, format!("{s:?} is longer than 43 characters"));
        return None;
    }
    let Ok(net) = s.parse::<IpNet>() else {
        e.push(field, format!("{s:?} is not a CIDR"));
        return None;
    };
    if let IpNet::V6(v6) = net {
        if v6.addr().is_unicast_link_local() {
            e.push(field, format!("{s} is an IPv6 link-local range"));
            return None;
        }
    }
    // As OpenPERouter (netip.Prefix.Masked) and FRR do: 10.0.0.1/24 is 10.0.0.0/24.
    Some(net.trunc())
}

fn target(e: &mut Errors, p: &str, rn: &RawNeighbor) -> Option<NeighborTarget> {
    match (&rn.address, &rn.interface, &rn.listen_range) {
        (Some(a), None, None) => {
            neighbor_address(e, &format!("{p}.address"), a).map(NeighborTarget::Address)
        }
        (None, Some(i), None) => {
            interface_name(e, &format!("{p}.interface"), i).map(NeighborTarget::Interface)
        }
        (None, None, Some(r)) => {
            listen_range(e, &format!("{p}.listenRange"), r).map(NeighborTarget::ListenRange)
        }
        (a, i, r) => {
            let set: Vec<&str> = [
                a.as_ref().map(|_| "address"),
                i.as_ref().map(|_| "interface"),
                r.as_ref().map(|_| "listenRange"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let found = if set.is_empty() {
                "none is set".to_string()
            } else {
                format!("{} are set", set.join(" and "))
            };
            e.push(
                p,
                format!("exactly one of address, interface, listenRange must be set ({found})"),
            );
            None
        }
    }
}

/// Whether the target's session runs over IPv6 (`None` for interfaces).
fn target_is_v6(t: &NeighborTarget) -> Option<bool> {
    match t {
        NeighborTarget::Address(a) => Some(a.is_ipv6()),
        NeighborTarget::ListenRange(r) => Some(matches!(r, IpNet::V6(_))),
        NeighborTarget::Interface(_) => None,
    }
}

fn password(e: &mut Errors, field: &str, s: String) -> Option<Password> {
    // The value is never echoed: it is a secret.
    let chars = s.chars().count();
    if s.is_empty() {
        e.push(field, "is empty; omit it for no TCP-MD5");
        None
    } else if chars > 128 {
        e.push(field, format!("is {chars} characters long, at most 128"));
        None
    } else if s.chars().any(char::is_whitespace) {
        e.push(field, "must not contain whitespace");
        None
    } else if s.len() > MAX_MD5_KEY_BYTES {
        e.push(
            field,
            format!(
                "is {} bytes long; the kernel's TCP-MD5 keys are at most {MAX_MD5_KEY_BYTES} bytes",
                s.len()
            ),
        );
        None
    } else {
        Some(Password(s))
    }
}

fn description(e: &mut Errors, field: &str, s: String) -> Option<String> {
    let chars = s.chars().count();
    if chars > 80 {
        e.push(
            field,
            format!("{s:?} is {chars} characters long, at most 80"),
        );
        None
    } else if s.chars().any(char::is_control) {
        e.push(field, format!("{s:?} contains control characters"));
        None
    } else {
        Some(s)
    }
}

fn bfd(e: &mut Errors, p: &str, raw: RawBfd) -> Option<Bfd> {
    let mut ok = true;
    let mut interval = |name: &str, v: Option<i64>| -> u32 {
        match v {
            None => DEFAULT_BFD_INTERVAL_MS,
            Some(v) => e
                .int(&format!("{p}.{name}"), v, 10, 60000)
                .unwrap_or_else(|| {
                    ok = false;
                    DEFAULT_BFD_INTERVAL_MS
                }),
        }
    };
    let receive_interval_ms = interval("receiveInterval", raw.receive_interval);
    let transmit_interval_ms = interval("transmitInterval", raw.transmit_interval);
    let detect_multiplier = match raw.detect_multiplier {
        None => Some(DEFAULT_BFD_DETECT_MULTIPLIER),
        Some(v) => e.int(&format!("{p}.detectMultiplier"), v, 2, 255),
    };
    let minimum_ttl = match raw.minimum_ttl {
        None => Some(None),
        Some(v) => e.int(&format!("{p}.minimumTTL"), v, 1, 254).map(Some),
    };
    if !ok {
        return None;
    }
    Some(Bfd {
        receive_interval_ms,
        transmit_interval_ms,
        detect_multiplier: detect_multiplier?,
        passive: raw.session_mode == Some(BfdSessionMode::Passive),
        minimum_ttl: minimum_ttl?,
    })
}

/// Families, sorted and checked (`None` after an error). `rr` is set when any family carries
/// `routeReflectorClient`.
fn families(
    e: &mut Errors,
    p: &str,
    raw: Option<Vec<RawAddressFamily>>,
    target: Option<&NeighborTarget>,
    inst: &Instance,
) -> (Option<Vec<Family>>, bool) {
    let raw = raw.unwrap_or_default();
    let field = format!("{p}.addressFamilies");
    if raw.is_empty() {
        // OpenPERouter's defaultNLPsForNeighbor, restricted to what this file describes.
        let Some(t) = target else {
            return (None, false);
        };
        let mut out = Vec::new();
        if target_is_v6(t) == Some(true) {
            out.push(Family::Ipv6Unicast);
        } else {
            out.push(Family::Ipv4Unicast);
        }
        if inst.passthrough_v4 {
            out.push(Family::Ipv4Unicast);
        }
        if inst.passthrough_v6 {
            out.push(Family::Ipv6Unicast);
        }
        if inst.l3vpns && target_is_v6(t) == Some(true) {
            out.push(Family::Ipv4Vpn);
            out.push(Family::Ipv6Vpn);
        }
        out.sort();
        out.dedup();
        return (Some(out), false);
    }
    let mut ok = true;
    if raw.len() > 4 {
        e.push(
            &field,
            format!("{} entries, at most 4 are allowed", raw.len()),
        );
        ok = false;
    }
    let mut types: Vec<FamilyType> = Vec::new();
    let mut rr = false;
    for (j, af) in raw.into_iter().enumerate() {
        let fp = format!("{field}[{j}]");
        match af.kind {
            None => {
                e.push(
                    format!("{fp}.type"),
                    "is required (ipv4unicast, ipv6unicast, evpn, ipv4vpn or ipv6vpn)",
                );
                ok = false;
            }
            Some(k) if types.contains(&k) => {
                e.push(
                    format!("{fp}.type"),
                    format!("{} is listed twice", k.name()),
                );
                ok = false;
            }
            Some(k) => types.push(k),
        }
        let props = af.properties.unwrap_or_default();
        if props.len() > 8 {
            e.push(
                format!("{fp}.properties"),
                format!("{} entries, at most 8 are allowed", props.len()),
            );
            ok = false;
        }
        let mut seen = Vec::new();
        for (k, prop) in props.into_iter().enumerate() {
            match prop.kind {
                None => {
                    e.push(
                        format!("{fp}.properties[{k}].type"),
                        "is required (routeReflectorClient)",
                    );
                    ok = false;
                }
                Some(t) if seen.contains(&t) => {
                    e.push(
                        format!("{fp}.properties[{k}].type"),
                        "routeReflectorClient is listed twice",
                    );
                    ok = false;
                }
                Some(t) => {
                    seen.push(t);
                    match t {
                        AfPropertyType::RouteReflectorClient => rr = true,
                    }
                }
            }
        }
    }
    let vpn: Vec<&str> = types
        .iter()
        .filter(|t| t.is_vpn())
        .map(|t| t.name())
        .collect();
    if !vpn.is_empty() {
        let vpn = vpn.join(", ");
        if types.contains(&FamilyType::Evpn) {
            e.push(
                &field,
                format!("evpn cannot be combined with {vpn} (EVPN and IPv4VPN/IPv6VPN are mutually exclusive)"),
            );
            ok = false;
        }
        match target {
            Some(NeighborTarget::Interface(i)) => {
                e.push(
                    &field,
                    format!("{vpn} is not supported on unnumbered (interface {i}) neighbours"),
                );
                ok = false;
            }
            Some(t @ (NeighborTarget::Address(_) | NeighborTarget::ListenRange(_)))
                if target_is_v6(t) == Some(false) =>
            {
                e.push(
                    &field,
                    format!("{vpn} needs an IPv6 neighbour address or listenRange, not {t}"),
                );
                ok = false;
            }
            Some(NeighborTarget::Address(_) | NeighborTarget::ListenRange(_)) | None => {}
        }
    }
    if !ok {
        return (None, rr);
    }
    let mut out: Vec<Family> = types.into_iter().map(FamilyType::family).collect();
    out.sort();
    out.dedup();
    (Some(out), rr)
}

fn ebgp_multihop(e: &mut Errors, p: &str, raw: Option<Vec<RawProperty>>) -> Option<Option<u8>> {
    let props = raw.unwrap_or_default();
    let field = format!("{p}.properties");
    if props.len() > 1 {
        e.push(
            &field,
            format!("{} entries, at most 1 is allowed", props.len()),
        );
        return None;
    }
    let Some(prop) = props.into_iter().next() else {
        return Some(None);
    };
    match prop.kind {
        None => {
            e.push(format!("{field}[0].type"), "is required (ebgpMultiHop)");
            None
        }
        Some(PropertyType::EbgpMultiHop) => match prop.ebgp_multi_hop.and_then(|m| m.ttl) {
            None => Some(Some(DEFAULT_EBGP_MULTIHOP_TTL)),
            Some(ttl) => e
                .int(&format!("{field}[0].ebgpMultiHop.ttl"), ttl, 1, 255)
                .map(Some),
        },
    }
}

fn max_prefix(e: &mut Errors, p: &str, raw: RawMaxPrefix) -> Option<MaxPrefix> {
    let limit = e
        .required(&format!("{p}.limit"), raw.limit, "the prefix count")
        .and_then(|l| e.int(&format!("{p}.limit"), l, 1, ASN_MAX));
    let warning_only = raw.warning_only.unwrap_or(false);
    let restart = match raw.restart_seconds {
        None | Some(0) => Some(None),
        Some(s) => {
            let r = e.int(&format!("{p}.restartSeconds"), s, 0, 65535);
            if warning_only && r.is_some() {
                e.push(
                    format!("{p}.restartSeconds"),
                    format!("{s} cannot be combined with warningOnly: true (a warning never shuts the session down)"),
                );
                None
            } else {
                r.map(Some)
            }
        }
    };
    Some(MaxPrefix {
        limit: limit?,
        warning_only,
        restart: restart?,
    })
}

/// Validates one neighbour. Returns its target (for the cross-neighbour checks, even if the
/// rest is invalid) and the neighbour if all of it is valid.
fn neighbor(
    e: &mut Errors,
    i: usize,
    rn: RawNeighbor,
    inst: &Instance,
) -> (Option<NeighborTarget>, Option<Neighbor>) {
    let p = format!("neighbors[{i}]");
    let before = e.0.len();
    let target = target(e, &p, &rn);

    let remote_as = match (rn.asn, rn.kind) {
        (Some(a), None) => e.asn(&format!("{p}.asn"), a).map(RemoteAs::Asn),
        (None, Some(t)) => Some(as_type(t)),
        (Some(a), Some(t)) => {
            e.push(
                &p,
                format!("exactly one of asn, type must be set (asn is {a}, type is {t:?})"),
            );
            None
        }
        (None, None) => {
            e.push(&p, "exactly one of asn, type must be set (none is set)");
            None
        }
    };
    let local_as = match rn.local_asn {
        Some(a) => e.asn(&format!("{p}.localASN"), a),
        None => inst.asn,
    };

    let port = match rn.port {
        None => Some(DEFAULT_PORT),
        Some(0) => {
            e.push(
                format!("{p}.port"),
                "0 is not a port to dial (allowed 1..=16384, the CRD's upper bound)",
            );
            None
        }
        Some(v) => e.int(&format!("{p}.port"), v, 1, 16384),
    };
    let password = match rn.password {
        None => Some(None),
        Some(s) => password(e, &format!("{p}.password"), s).map(Some),
    };

    let (hold_time, keepalive) = match (rn.hold_time_seconds, rn.keepalive_time_seconds) {
        (None, None) => (Some(DEFAULT_HOLD_TIME), Some(DEFAULT_KEEPALIVE)),
        (Some(h), Some(k)) => {
            let hold = if h == 0 || (3..=65535).contains(&h) {
                u16::try_from(h).ok()
            } else {
                e.push(
                    format!("{p}.holdTimeSeconds"),
                    format!("{h} is not allowed (0 or 3..=65535)"),
                );
                None
            };
            let keep = e.int::<u16>(&format!("{p}.keepaliveTimeSeconds"), k, 0, 65535);
            match (hold, keep) {
                (Some(h), Some(k)) if k > h => {
                    e.push(
                        format!("{p}.keepaliveTimeSeconds"),
                        format!("{k} is greater than holdTimeSeconds {h}"),
                    );
                    (None, None)
                }
                (h, k) => (h, k),
            }
        }
        (Some(h), None) => {
            e.push(
                format!("{p}.holdTimeSeconds"),
                format!("{h} is set without keepaliveTimeSeconds (set both or neither)"),
            );
            (None, None)
        }
        (None, Some(k)) => {
            e.push(
                format!("{p}.keepaliveTimeSeconds"),
                format!("{k} is set without holdTimeSeconds (set both or neither)"),
            );
            (None, None)
        }
    };
    let connect_time = match rn.connect_time_seconds {
        Some(v) => e.int(&format!("{p}.connectTimeSeconds"), v, 1, 65535),
        None if inst.graceful_restart => Some(GR_CONNECT_TIME),
        None => Some(DEFAULT_CONNECT_TIME),
    };

    let ebgp_multihop = ebgp_multihop(e, &p, rn.properties);
    let ttl_security = match rn.ttl_security_hops {
        None => Some(None),
        Some(v) => e.int(&format!("{p}.ttlSecurityHops"), v, 1, 254).map(Some),
    };
    if let (Some(Some(_)), Some(Some(hops))) = (ebgp_multihop, ttl_security) {
        e.push(
            format!("{p}.ttlSecurityHops"),
            format!("{hops} cannot be combined with the ebgpMultiHop property (GTSM fixes the TTL at 255)"),
        );
    }

    let update_source = match rn.update_source {
        None => Some(None),
        Some(s) => {
            let field = format!("{p}.updateSource");
            match (ip(e, &field, &s), &target) {
                (Some(_), Some(NeighborTarget::Interface(i))) => {
                    e.push(field, format!("{s} cannot be used with an unnumbered neighbour (interface {i}): its session runs between link-local addresses"));
                    None
                }
                (Some(a), Some(t)) if target_is_v6(t) != Some(a.is_ipv6()) => {
                    e.push(
                        field,
                        format!("{a} is not of the same address family as {t}"),
                    );
                    None
                }
                (a, _) => a.map(Some),
            }
        }
    };

    let (families, rr_client) = families(e, &p, rn.address_families, target.as_ref(), inst);
    if rr_client {
        // OpenPERouter requires `type: Internal`; an explicit ASN equal to ours is as internal.
        let local = local_as.map_or_else(|| "ours".to_string(), |l| l.to_string());
        match (remote_as, local_as) {
            (Some(RemoteAs::Internal), _) | (None, _) => {}
            (Some(RemoteAs::Asn(a)), Some(l)) if a == l => {}
            // The instance ASN is invalid (reported already): nothing to compare with.
            (Some(RemoteAs::Asn(_)), None) => {}
            (Some(r @ (RemoteAs::Asn(_) | RemoteAs::External)), _) => e.push(
                format!("{p}.addressFamilies"),
                format!("routeReflectorClient requires an internal neighbour (type: Internal or asn {local}), but the remote AS is {r}"),
            ),
        }
    }

    let next_hop_self = rn.next_hop_self.map(|n| n.0);
    let allowas_in = match rn.allowas_in {
        None => None,
        Some(0) => Some(None),
        Some(v) => e.int(&format!("{p}.allowasIn"), v, 1, 10).map(Some),
    };
    let max_prefix = match rn.max_prefix {
        None => Some(None),
        Some(m) => max_prefix(e, &format!("{p}.maxPrefix"), m).map(Some),
    };
    let bfd = match rn.bfd {
        None => Some(None),
        Some(b) => bfd(e, &format!("{p}.bfd"), b).map(Some),
    };
    let description = match rn.description {
        None => Some(None),
        Some(s) => description(e, &format!("{p}.description"), s).map(Some),
    };
    let import_policy = policy_ref(e, &format!("{p}.importPolicy"), rn.import_policy, inst);
    let export_policy = policy_ref(e, &format!("{p}.exportPolicy"), rn.export_policy, inst);

    let is_range = matches!(target, Some(NeighborTarget::ListenRange(_)));
    let passive = rn.passive.unwrap_or(false) || is_range;
    if passive && inst.listen_port == 0 {
        let why = if is_range {
            "a listenRange only accepts connections"
        } else {
            "passive: true only accepts connections"
        };
        e.push(
            p.clone(),
            format!("{why}, but listen.port is 0 (not listening)"),
        );
    }

    if e.0.len() != before {
        return (target, None);
    }
    let (Some(t), Some(remote_as), Some(local_as)) = (target.clone(), remote_as, local_as) else {
        return (target, None);
    };
    let external = remote_as.is_external_to(local_as);
    let built = (|| {
        Some(Neighbor {
            target: t,
            remote_as,
            local_as,
            port: port?,
            password: password?,
            hold_time: hold_time?,
            keepalive: keepalive?,
            connect_time: connect_time?,
            ebgp_multihop: ebgp_multihop?,
            ttl_security: ttl_security?,
            update_source: update_source?,
            families: families?,
            route_reflector_client: rr_client,
            // OpenPERouter renders `next-hop-self force` for iBGP, nothing for eBGP.
            next_hop_self: next_hop_self.unwrap_or(if external {
                NextHopSelf::Off
            } else {
                NextHopSelf::Force
            }),
            // ... and a bare `allowas-in` (count 3) for eBGP: all PEs share one ASN.
            allowas_in: allowas_in.unwrap_or(if external {
                Some(DEFAULT_ALLOWAS_IN)
            } else {
                None
            }),
            max_prefix: max_prefix?,
            passive,
            bfd: bfd?,
            description: description?,
            import_policy: import_policy?,
            export_policy: export_policy?,
            add_path: rn.add_path.unwrap_or_default(),
            vrf: None,
        })
    })();
    (target, built)
}

/// Duplicate addresses, duplicate interfaces, overlapping listen ranges.
fn cross_neighbor_checks(e: &mut Errors, targets: &[(usize, NeighborTarget)]) {
    for (n, (i, a)) in targets.iter().enumerate() {
        for (j, b) in targets.iter().take(n) {
            match (a, b) {
                (NeighborTarget::Address(x), NeighborTarget::Address(y)) if x == y => e.push(
                    format!("neighbors[{i}].address"),
                    format!("{x} is already the address of neighbors[{j}]"),
                ),
                (NeighborTarget::Interface(x), NeighborTarget::Interface(y)) if x == y => e.push(
                    format!("neighbors[{i}].interface"),
                    format!(
                        "{x} is already the interface of neighbors[{j}] (one peer per interface)"
                    ),
                ),
                (NeighborTarget::ListenRange(x), NeighborTarget::ListenRange(y))
                    if x.contains(&y.network()) || y.contains(&x.network()) =>
                {
                    e.push(
                        format!("neighbors[{i}].listenRange"),
                        format!("{x} overlaps neighbors[{j}].listenRange {y}"),
                    );
                }
                _ => {}
            }
        }
    }
}

/// A neighbour's `importPolicy` / `exportPolicy`: a declared policy name.
fn policy_ref(
    e: &mut Errors,
    field: &str,
    name: Option<String>,
    inst: &Instance,
) -> Option<Option<String>> {
    match name {
        None => Some(None),
        Some(n) if inst.policies.contains(&n) => Some(Some(n)),
        Some(n) => {
            let known = if inst.policies.is_empty() {
                "no policies are defined".to_string()
            } else {
                format!("policies: {}", inst.policies.join(", "))
            };
            e.push(field, format!("{n:?} is not a defined policy ({known})"));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

/// Validates `policies`; only fully valid ones are returned.
fn policies(e: &mut Errors, raw: Vec<RawPolicy>) -> BTreeMap<String, Arc<Policy>> {
    let mut out = BTreeMap::new();
    let mut names: Vec<(String, usize)> = Vec::new();
    for (i, rp) in raw.into_iter().enumerate() {
        let p = format!("policies[{i}]");
        let before = e.0.len();
        let name = e
            .required(
                &format!("{p}.name"),
                rp.name,
                "neighbours refer to it by name",
            )
            .and_then(|n| policy_name(e, &format!("{p}.name"), n))
            .and_then(|n| unique_name(e, &format!("{p}.name"), n, i, &mut names, "policies"));
        let default = e
            .required(
                &format!("{p}.default"),
                rp.default,
                "accept or reject: the verdict when no term matches",
            )
            .map(RawVerdict::verdict);
        let mut terms = Vec::new();
        let mut term_names = Vec::new();
        for (j, rt) in rp.terms.unwrap_or_default().into_iter().enumerate() {
            terms.extend(term(e, &format!("{p}.terms[{j}]"), j, rt, &mut term_names));
        }
        if e.0.len() != before {
            continue;
        }
        if let (Some(name), Some(default)) = (name, default) {
            let policy = Policy {
                name: name.clone(),
                terms,
                default,
            };
            out.insert(name, Arc::new(policy));
        }
    }
    out
}

/// Policy and term names: 1..=64 letters, digits, `-`, `_` or `.`.
fn policy_name(e: &mut Errors, field: &str, s: String) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= MAX_POLICY_NAME
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Some(s)
    } else {
        e.push(
            field,
            format!("{s:?} is not a name: 1..={MAX_POLICY_NAME} letters, digits, '-', '_' or '.'"),
        );
        None
    }
}

/// `name` if no earlier entry (`seen`, with their indices) has it.
fn unique_name(
    e: &mut Errors,
    field: &str,
    name: String,
    index: usize,
    seen: &mut Vec<(String, usize)>,
    list: &str,
) -> Option<String> {
    if let Some((_, j)) = seen.iter().find(|(n, _)| *n == name) {
        e.push(
            field,
            format!("{name:?} is already the name of {list}[{j}]"),
        );
        return None;
    }
    seen.push((name.clone(), index));
    Some(name)
}

fn term(
    e: &mut Errors,
    p: &str,
    j: usize,
    raw: RawTerm,
    seen: &mut Vec<(String, usize)>,
) -> Option<Term> {
    let before = e.0.len();
    let field = format!("{p}.name");
    let name = match raw.name {
        None => Some(format!("term-{j}")),
        Some(n) => policy_name(e, &field, n),
    }
    .and_then(|n| unique_name(e, &field, n, j, seen, "terms"));
    let verdict = e
        .required(&format!("{p}.action"), raw.action, "accept or reject")
        .map(RawVerdict::verdict);
    let matches = matches(e, &format!("{p}.match"), raw.matches.unwrap_or_default());
    let actions = match raw.set {
        None => Vec::new(),
        Some(set) => {
            if verdict == Some(Verdict::Reject) {
                e.push(
                    format!("{p}.set"),
                    "has no effect: the term's action is reject (a rejected route is not rewritten)",
                );
            }
            set_actions(e, &format!("{p}.set"), set)
        }
    };
    if e.0.len() != before {
        return None;
    }
    Some(Term {
        name: name?,
        matches,
        actions,
        verdict: verdict?,
    })
}

/// The matchers of a term, cheapest first.
fn matches(e: &mut Errors, p: &str, m: RawMatch) -> Vec<Match> {
    let mut out = Vec::new();
    if let Some(families) = m.families {
        let field = format!("{p}.families");
        if families.is_empty() {
            e.push(
                &field,
                "is empty (it would match nothing); omit it to match every family",
            );
        }
        let mut set = FamilySet::EMPTY;
        let mut seen = Vec::new();
        for (k, f) in families.into_iter().enumerate() {
            if seen.contains(&f) {
                e.push(
                    format!("{field}[{k}]"),
                    format!("{} is listed twice", f.name()),
                );
            } else {
                seen.push(f);
                set.insert(f.family());
            }
        }
        out.push(Match::Family(set));
    }
    if let Some(t) = m.evpn_route_type {
        out.extend(
            e.int(&format!("{p}.evpnRouteType"), t, 1, 5)
                .map(Match::EvpnRouteType),
        );
    }
    match m.prefix {
        Some(s) => out.extend(prefix_range(e, p, &s, m.ge, m.le).map(Match::Prefix)),
        None => {
            for (key, v) in [("ge", m.ge), ("le", m.le)] {
                if let Some(v) = v {
                    e.push(format!("{p}.{key}"), format!("{v} is set without prefix"));
                }
            }
        }
    }
    if let Some(list) = m.prefix_list {
        let field = format!("{p}.prefixList");
        if list.is_empty() {
            e.push(&field, "is empty (it would match nothing)");
        }
        let mut ranges = Vec::new();
        for (k, entry) in list.into_iter().enumerate() {
            let ep = format!("{field}[{k}]");
            match entry.prefix {
                None => e.push(format!("{ep}.prefix"), "is required (a CIDR)"),
                Some(s) => ranges.extend(prefix_range(e, &ep, &s, entry.ge, entry.le)),
            }
        }
        out.push(Match::PrefixList(ranges));
    }
    if let Some(s) = m.next_hop {
        let field = format!("{p}.nextHop");
        let net = match s.parse::<IpAddr>() {
            Ok(a) => Some(IpNet::from(a)),
            Err(_) => cidr(e, &field, &s),
        };
        out.extend(net.map(Match::NextHop));
    }
    if let Some(s) = m.community {
        out.extend(community(e, &format!("{p}.community"), &s).map(Match::Community));
    }
    if let Some(list) = m.any_community {
        let field = format!("{p}.anyCommunity");
        if list.is_empty() {
            e.push(&field, "is empty (it would match nothing)");
        }
        out.push(Match::AnyCommunity(values(e, &field, &list, community)));
    }
    if let Some(s) = m.large_community {
        out.extend(
            large_community(e, &format!("{p}.largeCommunity"), &s).map(Match::LargeCommunity),
        );
    }
    if let Some(s) = m.route_target {
        out.extend(route_target(e, &format!("{p}.routeTarget"), &s).map(Match::RouteTarget));
    }
    if let Some(a) = m.origin_asn {
        out.extend(e.asn(&format!("{p}.originASN"), a).map(Match::OriginAs));
    }
    if let Some(r) = m.as_path_length {
        let field = format!("{p}.asPathLength");
        let min = r
            .min
            .and_then(|v| e.int::<u32>(&format!("{field}.min"), v, 0, ASN_MAX));
        let max = r
            .max
            .and_then(|v| e.int::<u32>(&format!("{field}.max"), v, 0, ASN_MAX));
        match (r.min, r.max, min, max) {
            (None, None, _, _) => e.push(&field, "at least one of min, max must be set"),
            (_, _, Some(lo), Some(hi)) if hi < lo => {
                e.push(
                    format!("{field}.max"),
                    format!("{hi} is less than min {lo}"),
                );
            }
            _ => out.push(Match::AsPathLength { min, max }),
        }
    }
    out
}

/// A prefix and its `ge` / `le` bounds (`p` is the mapping holding them):
/// prefix length <= ge <= le <= 32 (128 for IPv6).
fn prefix_range(
    e: &mut Errors,
    p: &str,
    s: &str,
    ge: Option<i64>,
    le: Option<i64>,
) -> Option<PrefixRange> {
    let prefix = cidr(e, &format!("{p}.prefix"), s)?;
    let len = i64::from(prefix.prefix_len());
    let max = i64::from(prefix.max_prefix_len());
    let mut ok = true;
    let mut bound = |key: &str, v: i64, min: i64, why: String| {
        if v < min || v > max {
            e.push(
                format!("{p}.{key}"),
                format!("{v} is not in {min}..={max} ({why})"),
            );
            ok = false;
            None
        } else {
            u8::try_from(v).ok()
        }
    };
    let ge = ge.and_then(|v| {
        bound(
            "ge",
            v,
            len,
            format!("from the length of {prefix} to /{max}"),
        )
    });
    let le = le.and_then(|v| match ge {
        Some(g) => bound("le", v, i64::from(g), format!("from ge {g} to /{max}")),
        None => bound(
            "le",
            v,
            len,
            format!("from the length of {prefix} to /{max}"),
        ),
    });
    ok.then(|| PrefixRange::new(prefix, ge, le))
}

/// A CIDR without host bits.
fn cidr(e: &mut Errors, field: &str, s: &str) -> Option<IpNet> {
    let Ok(net) = s.parse::<IpNet>() else {
        e.push(field, format!("{s:?} is not a prefix"));
        return None;
    };
    if net.trunc() != net {
        e.push(
            field,
            format!("{s} has host bits set (the prefix is {})", net.trunc()),
        );
        return None;
    }
    Some(net)
}

fn community(e: &mut Errors, field: &str, s: &str) -> Option<Community> {
    let c = parse_community(s);
    if c.is_none() {
        e.push(
            field,
            format!("{s:?} is not a community (AS:value, both 0..=65535, or one of no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown, llgr-stale, no-llgr)"),
        );
    }
    c
}

fn large_community(e: &mut Errors, field: &str, s: &str) -> Option<LargeCommunity> {
    let c = parse_large_community(s);
    if c.is_none() {
        e.push(
            field,
            format!("{s:?} is not a large community (global:local1:local2, each 0..=4294967295)"),
        );
    }
    c
}

fn route_target(e: &mut Errors, field: &str, s: &str) -> Option<AdminValue> {
    let rt = parse_route_target(s);
    if rt.is_none() {
        e.push(
            field,
            format!("{s:?} is not a route target (ASN:NN — NN up to 4294967295 for a 2-octet ASN, up to 65535 for a 4-octet one — or IPv4:NN with NN up to 65535)"),
        );
    }
    rt
}

/// Parses every entry of a list (`field[k]` paths); duplicates are refused.
fn values<T: PartialEq>(
    e: &mut Errors,
    field: &str,
    list: &[String],
    parse: fn(&mut Errors, &str, &str) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (k, s) in list.iter().enumerate() {
        let f = format!("{field}[{k}]");
        if let Some(v) = parse(e, &f, s) {
            if out.contains(&v) {
                e.push(f, format!("{s} is listed twice"));
            } else {
                out.push(v);
            }
        }
    }
    out
}

/// An add/remove pair of lists: each parsed, neither empty, no value in both.
fn add_remove<T: PartialEq + fmt::Display>(
    e: &mut Errors,
    p: &str,
    (add_key, add): (&str, Option<Vec<String>>),
    (remove_key, remove): (&str, Option<Vec<String>>),
    parse: fn(&mut Errors, &str, &str) -> Option<T>,
) -> (Option<Vec<T>>, Option<Vec<T>>) {
    let mut list = |key: &str, raw: Option<Vec<String>>| {
        raw.map(|raw| {
            let field = format!("{p}.{key}");
            if raw.is_empty() {
                e.push(&field, "is empty; omit it");
            }
            values(e, &field, &raw, parse)
        })
    };
    let add = list(add_key, add);
    let remove = list(remove_key, remove);
    if let (Some(a), Some(r)) = (&add, &remove) {
        for (k, v) in r.iter().enumerate() {
            if a.contains(v) {
                e.push(
                    format!("{p}.{remove_key}[{k}]"),
                    format!("{v} is also in {add_key}"),
                );
            }
        }
    }
    (add, remove)
}

/// The set actions of a term, in the order they run: communities replaced, removed, added
/// (then large communities and route targets likewise), AS path prepend, the scalars.
fn set_actions(e: &mut Errors, p: &str, raw: RawSet) -> Vec<SetAction> {
    let mut out = Vec::new();
    if let Some(list) = raw.communities {
        out.push(SetAction::SetCommunities(values(
            e,
            &format!("{p}.communities"),
            &list,
            community,
        )));
    }
    let (add, remove) = add_remove(
        e,
        p,
        ("addCommunities", raw.add_communities),
        ("removeCommunities", raw.remove_communities),
        community,
    );
    out.extend(remove.map(SetAction::RemoveCommunity));
    out.extend(add.map(SetAction::AddCommunity));
    let (add, remove) = add_remove(
        e,
        p,
        ("addLargeCommunities", raw.add_large_communities),
        ("removeLargeCommunities", raw.remove_large_communities),
        large_community,
    );
    out.extend(remove.map(SetAction::RemoveLargeCommunity));
    out.extend(add.map(SetAction::AddLargeCommunity));
    let (add, remove) = add_remove(
        e,
        p,
        ("addRouteTargets", raw.add_route_targets),
        ("removeRouteTargets", raw.remove_route_targets),
        route_target,
    );
    out.extend(remove.map(SetAction::RemoveRouteTarget));
    out.extend(add.map(SetAction::AddRouteTarget));
    if let Some(pp) = raw.as_path_prepend {
        let field = format!("{p}.asPathPrepend");
        let asn = e
            .required(&format!("{field}.asn"), pp.asn, "the AS to prepend")
            .and_then(|a| e.asn(&format!("{field}.asn"), a));
        let times = match pp.times {
            None => Some(1),
            Some(t) => e.int::<u8>(
                &format!("{field}.times"),
                t,
                1,
                i64::from(MAX_AS_PATH_PREPEND),
            ),
        };
        if let (Some(asn), Some(times)) = (asn, times) {
            out.push(SetAction::PrependAs { asn, times });
        }
    }
    let mut scalar = |key: &str, v: Option<i64>, make: fn(u32) -> SetAction| {
        if let Some(v) = v.and_then(|v| e.int::<u32>(&format!("{p}.{key}"), v, 0, ASN_MAX)) {
            out.push(make(v));
        }
    };
    scalar("localPref", raw.local_pref, SetAction::LocalPref);
    scalar("med", raw.med, SetAction::Med);
    scalar("weight", raw.weight, SetAction::Weight);
    if let Some(s) = raw.next_hop {
        let field = format!("{p}.nextHop");
        match ip(e, &field, &s) {
            Some(a) if a.is_unspecified() || a.is_multicast() => {
                e.push(field, format!("{a} is not a unicast address"));
            }
            Some(a) => out.push(SetAction::NextHop(a)),
            None => {}
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn remote_as_sorts_sessions() {
        assert!(RemoteAs::Asn(1).is_external_to(2));
        assert!(!RemoteAs::Asn(2).is_external_to(2));
        assert!(RemoteAs::External.is_external_to(2));
        assert!(!RemoteAs::Internal.is_external_to(2));
        assert!(RemoteAs::Asn(7).accepts(7, 2));
        assert!(!RemoteAs::Asn(7).accepts(8, 2));
        assert!(RemoteAs::External.accepts(8, 2));
        assert!(!RemoteAs::External.accepts(2, 2));
        assert!(RemoteAs::Internal.accepts(2, 2));
        assert!(!RemoteAs::Internal.accepts(3, 2));
    }

    #[test]
    fn family_names_map_to_the_registry() {
        for (t, f) in [
            (FamilyType::Ipv4unicast, Family::Ipv4Unicast),
            (FamilyType::Ipv6unicast, Family::Ipv6Unicast),
            (FamilyType::Evpn, Family::L2vpnEvpn),
            (FamilyType::Ipv4vpn, Family::Ipv4Vpn),
            (FamilyType::Ipv6vpn, Family::Ipv6Vpn),
        ] {
            assert_eq!(t.family(), f);
            let parsed: FamilyType = serde_norway::from_str(t.name()).unwrap();
            assert_eq!(parsed, t);
        }
    }

    #[test]
    fn next_hop_self_spellings() {
        for (text, want) in [
            ("true", NextHopSelf::On),
            ("false", NextHopSelf::Off),
            ("force", NextHopSelf::Force),
            ("'true'", NextHopSelf::On),
            ("\"false\"", NextHopSelf::Off),
        ] {
            let got: RawNextHopSelf = serde_norway::from_str(text).unwrap();
            assert_eq!(got.0, want, "{text}");
        }
        assert!(serde_norway::from_str::<RawNextHopSelf>("1").is_err());
        assert!(serde_norway::from_str::<RawNextHopSelf>("Force").is_err());
    }

    #[test]
    fn blank_documents() {
        assert!(is_blank_yaml(""));
        assert!(is_blank_yaml("  \n# c\n---\n"));
        assert!(!is_blank_yaml("asn: 1\n"));
    }
}
