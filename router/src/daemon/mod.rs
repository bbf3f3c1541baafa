//! The perouterd daemon: one actor owns the configuration, the RIB and the peer table
//! (ARCHITECTURE.md invariant 5); sessions, listeners, the API and the reload triggers talk
//! to it over one bounded channel of [`Input`]s.
//!
//! ```text
//!  listener tasks ──Incoming──┐
//!  session tasks ──(forwarder)─Session──┐
//!  API server ──Api──────────────────────┼──> actor (Rib, peers, config) ──SendEncoded/Stop──> sessions
//!  SIGHUP / file watcher ──Reload────────┘
//! ```
//!
//! The actor never waits on a session: commands go out with `try_send`/`try_reserve`, and a
//! peer whose command queue is full keeps its pending destinations in the RIB until there is
//! room (backpressure without unbounded memory).

mod http;
pub mod kernel;
mod views;
mod vrf;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use bgp::fsm::{DownReason, FsmConfig, State};
use bgp::negotiation::{Negotiation, SessionPolicy};
use bgp::rib::{self, PeerConfig, PeerId, Rib, RibConfig, SessionInfo};
use bgp::session::{self, SessionCommand, SessionConfig, SessionEvent};
use bgp::transport::{self, Listener, SocketOptions};
use bgp::wire::notification::{cease, code};
use bgp::wire::open::{
    AddPathEntry, AddPathMode, ExtendedNextHopEntry, GrFamily, GracefulRestart as GrCap,
};
use bgp::wire::{Capability, Family, FamilySet, Message, Notification, Open, PeerType};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::api::{Ack, ReloadReport};
use crate::config::{self, Config, Neighbor, NeighborKey, NeighborTarget, RemoteAs};
use crate::unnumbered::{self, PeerLinkLocal, RaConfig};

pub use http::serve_api;

/// How the daemon is started.
#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration file.
    pub config_path: PathBuf,
    /// Unix socket of the API (`None`: no API).
    pub api_socket: Option<PathBuf>,
    /// TCP address of the Prometheus `/metrics` endpoint (`None`: none).
    pub metrics: Option<SocketAddr>,
    /// How often the configuration file is checked for changes (`None`: never).
    pub watch_interval: Option<Duration>,
    /// Where the graceful-restart marker lives: written when the daemon stops with graceful
    /// restart on, read at start to know it is restarting (R bit, deferred advertisement).
    pub state_dir: PathBuf,
    /// Program the node's kernel layout (`None`: perouterd leaves the kernel alone).
    pub kernel: Option<kernel::KernelOptions>,
}

/// What the actor is told.
#[derive(Debug)]
pub enum Input {
    /// A session event, tagged with the peer and the session generation.
    Session {
        /// The peer.
        peer: PeerId,
        /// The session generation (events of a stopped session are ignored).
        generation: u64,
        /// The event.
        event: SessionEvent,
    },
    /// A connection accepted by a listener.
    Incoming {
        /// The stream.
        stream: TcpStream,
        /// The peer's address.
        remote: SocketAddr,
    },
    /// An API request.
    Api(Request, oneshot::Sender<Reply>),
    /// Stop the daemon; the reply is sent once sessions are closed as they should be.
    Terminate(oneshot::Sender<()>),
    /// The router advertisements on an unnumbered neighbour's link revealed its address.
    LinkLocal {
        /// The peer.
        peer: PeerId,
        /// Its link-local address and interface index.
        found: PeerLinkLocal,
    },
    /// A bridge FDB or neighbour change in the router namespace (kernel watcher).
    Kernel(dataplane::watch::DataplaneEvent),
    /// The bridge FDB and neighbour tables as read at start and after an overrun.
    KernelSnapshot(Vec<dataplane::watch::DataplaneEvent>),
}

/// API requests the actor answers.
#[derive(Debug)]
pub enum Request {
    /// `show bgp summary`.
    Summary,
    /// `show bgp neighbors [ADDR]`.
    Neighbors(Option<String>),
    /// `show bgp routes`.
    Routes {
        /// Family.
        family: Family,
        /// Only destinations inside this prefix.
        prefix: Option<ipnet::IpNet>,
        /// The VRF instance (`None`: the default one).
        vrf: Option<String>,
    },
    /// Reload the configuration file (or use this configuration).
    Reload(Option<Box<Config>>),
    /// Reset a neighbour's session (and re-enable it after a shutdown).
    Reset(String),
    /// Shut a neighbour's session down until reset.
    Shutdown(String),
    /// Prometheus text.
    Metrics,
}

/// An answer: JSON, text, or an error with an HTTP status.
#[derive(Debug)]
pub enum Reply {
    /// A JSON document.
    Json(serde_json::Value),
    /// Plain text (metrics).
    Text(String),
    /// A failure.
    Error(u16, String),
}

/// Runs the daemon until the process is told to stop.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let config = config::load(&opts.config_path)
        .with_context(|| format!("loading {}", opts.config_path.display()))?;
    let (tx, rx) = mpsc::channel::<Input>(4096);

    let mut listeners = Vec::new();
    if config.listen.port != 0 {
        // A dual-stack `::` socket also takes IPv4 connections: a separate 0.0.0.0 socket on
        // the same port would conflict with it.
        let dual = config
            .listen
            .addresses
            .contains(&IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
        for addr in &config.listen.addresses {
            if dual && *addr == IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED) {
                continue;
            }
            let sa = SocketAddr::new(*addr, config.listen.port);
            let l = Arc::new(Listener::bind(sa).with_context(|| format!("listening on {sa}"))?);
            tracing::info!(address = %sa, "bgp listening");
            let tx = tx.clone();
            let accept = l.clone();
            tokio::spawn(async move {
                loop {
                    match accept.accept().await {
                        Ok((stream, remote)) => {
                            if tx.send(Input::Incoming { stream, remote }).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            });
            listeners.push(l);
        }
    }
    if let Some(path) = &opts.api_socket {
        let listener = http::bind_unix(path)?;
        tracing::info!(path = %path.display(), "api listening");
        tokio::spawn(serve_api(listener, tx.clone()));
    }
    if let Some(addr) = opts.metrics {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("metrics on {addr}"))?;
        tracing::info!(address = %addr, "metrics listening");
        tokio::spawn(http::serve_metrics(l, tx.clone()));
    }
    spawn_reload_triggers(&opts, tx.clone())?;
    let t = tx.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot install the SIGTERM handler");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: stopping"),
        }
        let (reply, _) = oneshot::channel();
        let _ = t.send(Input::Terminate(reply)).await;
    });

    let kernel = opts
        .kernel
        .clone()
        .map(|k| kernel::spawn(k, Arc::new(config.clone())));
    if kernel.is_some() {
        kernel::spawn_watcher(tx.clone());
    } else if !config.nics.is_empty() {
        tracing::warn!(nics = ?config.nics, "nics ignored: without --host-netns perouterd moves no underlay NIC");
    }
    let restarting = restart_marker(&opts.state_dir, &config);
    let mut actor = Actor::new(config, opts.config_path.clone(), listeners, tx);
    actor.state_dir = opts.state_dir.clone();
    actor.kernel = kernel;
    actor.rib.track_changes(actor.wants_changes());
    if restarting {
        tracing::info!("graceful restart: restarting speaker (R bit set, advertisement deferred until End-of-RIB)");
        actor.restarting = true;
        actor.rib.defer();
        let defer_for = actor
            .config
            .graceful_restart
            .as_ref()
            .map(|g| u64::from(g.restart_time))
            .unwrap_or(120);
        actor.arm(Duration::from_secs(defer_for), Timer::Deferral);
    }
    actor.apply_initial();
    actor.run(rx).await;
    // Let the session tasks write their NOTIFICATIONs before the runtime goes away.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tracing::info!("stopped");
    Ok(())
}

const RESTART_MARKER: &str = "graceful-restart";

/// Whether a graceful-restart marker left by the previous run is younger than the restart
/// time: then this start is a graceful restart. The marker is consumed.
fn restart_marker(dir: &std::path::Path, config: &Config) -> bool {
    let path = dir.join(RESTART_MARKER);
    let age = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    let _ = std::fs::remove_file(&path);
    match (age, &config.graceful_restart) {
        (Some(age), Some(gr)) => age < Duration::from_secs(u64::from(gr.restart_time)),
        _ => false,
    }
}

/// SIGHUP and (optionally) a file watcher, both asking the actor to reload.
fn spawn_reload_triggers(opts: &Options, tx: mpsc::Sender<Input>) -> anyhow::Result<()> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("installing the SIGHUP handler")?;
    let t = tx.clone();
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            let (reply, _) = oneshot::channel();
            if t.send(Input::Api(Request::Reload(None), reply))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    if let Some(every) = opts.watch_interval {
        let path = opts.config_path.clone();
        tokio::spawn(async move {
            let stamp = |p: &PathBuf| {
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .ok()
                    .zip(std::fs::read(p).ok())
            };
            let mut last: Option<(SystemTime, Vec<u8>)> = stamp(&path);
            loop {
                tokio::time::sleep(every).await;
                let now = stamp(&path);
                let changed = match (&last, &now) {
                    (Some((_, a)), Some((_, b))) => a != b,
                    (None, Some(_)) => true,
                    _ => false,
                };
                if changed {
                    tracing::info!(path = %path.display(), "configuration file changed: reloading");
                    last = now;
                    let (reply, _) = oneshot::channel();
                    if tx
                        .send(Input::Api(Request::Reload(None), reply))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
    }
    Ok(())
}

/// One peer: a configured neighbour, or a dynamic peer accepted from a listen range.
#[derive(Debug)]
struct Peer {
    /// Its configuration (for a dynamic peer, its range's).
    neighbor: Neighbor,
    /// The configured neighbour it belongs to.
    key: NeighborKey,
    /// The peer's address, when known.
    addr: Option<IpAddr>,
    /// Accepted from a listen range; removed when its session ends.
    dynamic: bool,
    /// Generation of the running session.
    generation: u64,
    /// Commands to the running session.
    cmd: Option<mpsc::Sender<SessionCommand>>,
    state: State,
    since: Instant,
    negotiation: Option<Box<Negotiation>>,
    conn: Option<(SocketAddr, SocketAddr)>,
    flaps: u64,
    last_error: Option<String>,
    admin_down: bool,
    session_resets: u64,
    /// The peer's graceful restart capability in its last OPEN.
    peer_gr: Option<GrCap>,
    /// End-of-RIB received per family on the current session.
    eor_received: FamilySet,
    /// Stale paths are kept for a restarting peer (graceful restart helper).
    helping: bool,
    /// BGP unnumbered: the interface, its index once known, and the RA tasks.
    link: Option<Link>,
}

impl Peer {
    /// A peer of neighbour `n`, with no session yet.
    fn new(n: &Neighbor, addr: Option<IpAddr>, dynamic: bool) -> Peer {
        Peer {
            neighbor: n.clone(),
            key: n.key(),
            addr,
            dynamic,
            generation: 0,
            cmd: None,
            state: State::Idle,
            since: Instant::now(),
            negotiation: None,
            conn: None,
            flaps: 0,
            last_error: None,
            admin_down: false,
            session_resets: 0,
            peer_gr: None,
            eor_received: FamilySet::EMPTY,
            helping: false,
            link: None,
        }
    }
}

/// The link of an unnumbered neighbour.
#[derive(Debug)]
struct Link {
    ifname: String,
    ifindex: Option<u32>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Link {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Timers the actor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// The peer did not come back within its restart time: drop its stale paths.
    Restart { peer: PeerId, generation: u64 },
    /// The restarted peer did not send End-of-RIB within the stale-path time.
    Stale { peer: PeerId, generation: u64 },
    /// Restarting speaker: stop waiting for End-of-RIBs.
    Deferral,
    /// A session torn down by its prefix limit comes back (`maxPrefix.restartSeconds`).
    MaxPrefixRestart { peer: PeerId },
}

struct Actor {
    config: Config,
    config_path: PathBuf,
    rib: Rib,
    peers: BTreeMap<PeerId, Peer>,
    next_id: PeerId,
    next_generation: u64,
    tx: mpsc::Sender<Input>,
    listeners: Vec<Arc<Listener>>,
    started: Instant,
    timers: Vec<(Instant, Timer)>,
    /// This run is a graceful restart (R bit in OPENs until the deferral ends).
    restarting: bool,
    state_dir: PathBuf,
    terminated: bool,
    /// Prefixes originated now (`Config::originated`).
    originated: Vec<ipnet::IpNet>,
    /// The kernel task's channels, when it runs.
    kernel: Option<kernel::KernelHandle>,
    /// The EVPN imports last sent to the kernel task.
    fabric_imports: Arc<crate::overlay::FabricImports>,
    /// The L2VNI MAC tables: local learning → type-2 routes, remote type-2 → kernel.
    macs: evpn::type2::MacTable,
    /// The node's EVPN view of the current configuration (`overlay::evpn_view`), computed
    /// once per configuration.
    evpn: Option<evpn::config::EvpnConfig>,
    /// EVPN routes originated now (`overlay::evpn_exports`), by destination.
    evpn_originated: BTreeMap<rib::Dest, (bgp::wire::PathAttributes, bgp::wire::NextHop)>,
    /// The VRF instances of the L3VNIs and L3VPNs, by VRF name.
    vrfs: BTreeMap<String, vrf::VrfInstance>,
    /// The node's L3VPN view (`overlay::vpn_view`), computed once per configuration.
    vpn: Option<evpn::l3vpn::VpnConfig>,
    /// The per-VRF SRv6 SID functions in use, fed back to `overlay::vpn_view` so SIDs stay
    /// stable across reloads.
    vpn_functions: BTreeMap<String, u32>,
    /// A kernel snapshot waiting for the EVPN view (`resync_macs`).
    kernel_snapshot: Option<Vec<dataplane::watch::DataplaneEvent>>,
}

fn rib_config(c: &Config) -> RibConfig {
    RibConfig {
        router_id: c.router_id,
        cluster_id: c.cluster_id,
        max_paths: 64,
    }
}

fn peer_config(c: &Config, n: &Neighbor, addr: IpAddr) -> PeerConfig {
    // Names were checked at load: a missing policy cannot happen; accept-all stands in.
    let policy = |name: &Option<String>| {
        name.as_deref()
            .and_then(|x| c.policy(x))
            .cloned()
            .unwrap_or_default()
    };
    PeerConfig {
        import: policy(&n.import_policy),
        export: policy(&n.export_policy),
        addr,
        local_as: n.local_as,
        ebgp: n.is_external(),
        rr_client: n.route_reflector_client,
        next_hop_self: match n.next_hop_self {
            config::NextHopSelf::Off => rib::NextHopSelf::Off,
            config::NextHopSelf::On => rib::NextHopSelf::On,
            config::NextHopSelf::Force => rib::NextHopSelf::Force,
        },
        allowas_in: n.allowas_in.unwrap_or(0),
        max_prefix: n.max_prefix.as_ref().map(|m| rib::MaxPrefix {
            limit: m.limit,
            warning_only: m.warning_only,
        }),
    }
}

/// The OPEN we send to `n`.
fn local_open(c: &Config, n: &Neighbor, remote: IpAddr, restarting: bool) -> Open {
    let mut caps: Vec<Capability> = n
        .families
        .iter()
        .map(|f| Capability::Multiprotocol(f.afi_safi()))
        .collect();
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::EnhancedRouteRefresh);
    let mode = match n.add_path {
        config::AddPath::Off => None,
        config::AddPath::Receive => Some(AddPathMode::RECEIVE),
        config::AddPath::Send => Some(AddPathMode::SEND),
        config::AddPath::Both => Some(AddPathMode::BOTH),
    };
    if let Some(mode) = mode {
        caps.push(Capability::AddPath(
            n.families
                .iter()
                .map(|f| AddPathEntry {
                    afi_safi: f.afi_safi(),
                    mode,
                })
                .collect(),
        ));
    }
    caps.push(Capability::FourOctetAs(n.local_as));
    if remote.to_canonical().is_ipv6() {
        // RFC 8950: IPv4 routes with IPv6 next hops on an IPv6 session, as FRR's
        // `capability extended-nexthop` on IPv6 neighbours.
        let entries: Vec<ExtendedNextHopEntry> = n
            .families
            .iter()
            .filter(|f| matches!(f, Family::Ipv4Unicast | Family::Ipv4Vpn))
            .map(|f| {
                let a = f.afi_safi();
                ExtendedNextHopEntry {
                    afi: a.afi,
                    safi: u16::from(a.safi),
                    next_hop_afi: 2,
                }
            })
            .collect();
        if !entries.is_empty() {
            caps.push(Capability::ExtendedNextHop(entries));
        }
    }
    match &c.graceful_restart {
        // RFC 4724: R while restarting; F for every family, as FRR's `preserve-fw-state`
        // (OpenPERouter's rendering) claims.
        Some(gr) => caps.push(Capability::GracefulRestart(GrCap {
            flags: if restarting { GrCap::RESTART } else { 0 },
            restart_time: gr.restart_time.min(0x0fff),
            families: n
                .families
                .iter()
                .map(|f| GrFamily {
                    afi_safi: f.afi_safi(),
                    flags: 0x80,
                })
                .collect(),
        })),
        // Helper only (FRR's default mode): the capability without families tells the peer
        // we keep its routes across its restarts, and makes it send End-of-RIB.
        None => caps.push(Capability::GracefulRestart(GrCap {
            flags: 0,
            restart_time: 120,
            families: vec![],
        })),
    }
    Open::new(n.local_as, n.hold_time, c.router_id, caps)
}

/// Socket options toward `n`: MD5, TTL (1 for single-hop eBGP, the multihop TTL, or 255
/// with GTSM), the GTSM minimum, update-source.
fn socket_options(n: &Neighbor) -> SocketOptions {
    let (ttl, min_ttl) = match (n.ttl_security, n.ebgp_multihop) {
        (Some(hops), _) => (
            Some(255),
            Some(255u8.saturating_sub(hops).saturating_add(1)),
        ),
        (None, Some(ttl)) => (Some(ttl), None),
        (None, None) if n.is_external() => (Some(1), None),
        (None, None) => (None, None),
    };
    SocketOptions {
        md5_password: n.password.as_deref().map(String::from),
        ttl,
        min_ttl,
        local_addr: n.update_source,
        // A VRF's session: its sockets only see the VRF.
        device: n.vrf.clone(),
    }
}

fn session_config(
    c: &Config,
    n: &Neighbor,
    addr: IpAddr,
    passive: bool,
    restarting: bool,
) -> SessionConfig {
    let (peer_as, peer_type) = match n.remote_as {
        RemoteAs::Asn(a) => (Some(a), None),
        RemoteAs::External => (None, Some(PeerType::External)),
        RemoteAs::Internal => (None, Some(PeerType::Internal)),
    };
    SessionConfig {
        fsm: FsmConfig {
            local_open: local_open(c, n, addr, restarting),
            peer_as,
            peer_type,
            min_hold_time: 3,
            keepalive: Some(Duration::from_secs(u64::from(n.keepalive))),
            connect_retry: Duration::from_secs(u64::from(n.connect_time.max(1))),
            idle_hold: Duration::from_secs(1),
            max_idle_hold: Duration::from_secs(60),
            open_hold: Duration::from_secs(240),
            policy: SessionPolicy::default(),
        },
        remote: SocketAddr::new(addr, n.port),
        passive,
        connect_timeout: Duration::from_secs(u64::from(n.connect_time.clamp(1, 30))),
        socket: socket_options(n),
    }
}

fn reason_text(r: &DownReason) -> String {
    format!("{r:?}")
}

impl Actor {
    fn new(
        config: Config,
        config_path: PathBuf,
        listeners: Vec<Arc<Listener>>,
        tx: mpsc::Sender<Input>,
    ) -> Actor {
        Actor {
            rib: Rib::new(rib_config(&config)),
            config,
            config_path,
            peers: BTreeMap::new(),
            next_id: 1,
            next_generation: 1,
            tx,
            listeners,
            started: Instant::now(),
            timers: Vec::new(),
            restarting: false,
            state_dir: PathBuf::from("/run/perouterd"),
            terminated: false,
            originated: Vec::new(),
            kernel: None,
            fabric_imports: Arc::default(),
            macs: evpn::type2::MacTable::new(),
            evpn: None,
            evpn_originated: BTreeMap::new(),
            vrfs: BTreeMap::new(),
            vpn: None,
            vpn_functions: BTreeMap::new(),
            kernel_snapshot: None,
        }
    }

    /// Originates what the configuration asks for and withdraws what it no longer does
    /// (FRR's `network` statements: ORIGIN IGP, next hop self).
    fn sync_originated(&mut self) {
        let wanted = self.config.originated();
        for gone in self.originated.iter().filter(|p| !wanted.contains(p)) {
            self.rib.withdraw_local(originated_nlri(*gone).dest());
        }
        for new in wanted.iter().filter(|p| !self.originated.contains(p)) {
            let attrs = bgp::wire::PathAttributes {
                origin: Some(bgp::wire::Origin::Igp),
                ..Default::default()
            };
            self.rib
                .originate(originated_nlri(*new), attrs, bgp::wire::NextHop::None);
        }
        self.originated = wanted;
        self.sync_evpn();
        self.sync_vrf_networks(true);
    }

    /// Originates the node's EVPN routes (type-5 for host-session addresses and gateway
    /// subnets, type-3 per L2VNI) and withdraws those the configuration no longer asks for.
    fn sync_evpn(&mut self) {
        self.evpn = crate::overlay::evpn_view(&self.config);
        self.update_vpn_view();
        let exports = match &self.evpn {
            Some(evpn) => crate::overlay::evpn_exports(evpn),
            None => Vec::new(),
        };
        let wanted: BTreeMap<rib::Dest, crate::overlay::EvpnExport> = exports
            .into_iter()
            .map(|e| (rib::Nlri::L2vpnEvpn(e.route.clone()).dest(), e))
            .collect();
        let gone: Vec<rib::Dest> = self
            .evpn_originated
            .keys()
            .filter(|d| !wanted.contains_key(d))
            .copied()
            .collect();
        for dest in gone {
            self.rib.withdraw_local(dest);
            self.evpn_originated.remove(&dest);
        }
        for (dest, e) in wanted {
            let now = (e.attrs.clone(), e.next_hop);
            if self.evpn_originated.get(&dest) == Some(&now) {
                continue;
            }
            self.rib
                .originate(rib::Nlri::L2vpnEvpn(e.route), e.attrs, e.next_hop);
            self.evpn_originated.insert(dest, now);
        }
        self.resync_macs();
    }

    fn arm(&mut self, after: Duration, t: Timer) {
        self.timers.retain(|(_, x)| *x != t);
        self.timers.push((Instant::now() + after, t));
    }

    fn next_timer(&self) -> Option<Instant> {
        self.timers.iter().map(|(at, _)| *at).min()
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        let due: Vec<Timer> = self
            .timers
            .iter()
            .filter(|(at, _)| *at <= now)
            .map(|(_, t)| *t)
            .collect();
        self.timers.retain(|(at, _)| *at > now);
        for t in due {
            match t {
                Timer::Restart { peer, generation } | Timer::Stale { peer, generation } => {
                    let Some(p) = self.peers.get_mut(&peer) else {
                        continue;
                    };
                    // A newer session of the peer owns its paths now, unless it is the one
                    // the stale timer was armed for.
                    let current = match t {
                        Timer::Restart { .. } => p.helping && p.state != State::Established,
                        _ => p.helping && p.generation == generation,
                    };
                    if !current {
                        continue;
                    }
                    p.helping = false;
                    let mut swept = 0usize;
                    for f in Family::ALL {
                        swept = swept.saturating_add(self.rib_mut(peer).sweep_stale(peer, f));
                    }
                    tracing::info!(peer = %peer, swept, timer = ?t, "graceful restart: stale paths removed on timer");
                }
                Timer::Deferral => self.end_deferral("deferral timer"),
                Timer::MaxPrefixRestart { peer } => {
                    let down = self
                        .peers
                        .get(&peer)
                        .is_some_and(|p| p.cmd.is_none() && !p.admin_down);
                    if down {
                        tracing::info!(peer = %peer, "prefix limit restart timer: starting the session again");
                        self.reset(peer);
                    }
                }
            }
        }
    }

    fn end_deferral(&mut self, why: &str) {
        if self.rib.deferring() {
            tracing::info!(
                reason = why,
                "graceful restart: best paths are advertised now"
            );
            self.rib.end_deferral();
        }
        self.restarting = false;
        self.timers.retain(|(_, t)| *t != Timer::Deferral);
    }

    /// Restarting speaker: every configured peer is up and has sent End-of-RIB for each
    /// family it carries.
    fn check_deferral(&mut self) {
        if !self.rib.deferring() {
            return;
        }
        let all = self
            .peers
            .values()
            .filter(|p| !p.dynamic && !p.admin_down && p.addr.is_some())
            .all(|p| {
                p.state == State::Established
                    && p.negotiation
                        .as_ref()
                        .is_some_and(|n| n.families.iter().all(|f| p.eor_received.contains(f)))
            });
        if all {
            self.end_deferral("End-of-RIB from every peer");
        }
    }

    fn apply_initial(&mut self) {
        self.ensure_vrfs();
        let neighbors = self.config.neighbors.clone();
        for n in &neighbors {
            self.add_neighbor(n);
        }
        self.install_md5();
        self.sync_originated();
    }

    async fn run(&mut self, mut rx: mpsc::Receiver<Input>) {
        let mut blocked = false;
        loop {
            let retry = blocked.then(|| Instant::now() + Duration::from_millis(5));
            let wake = match (retry, self.next_timer()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let input = tokio::select! {
                i = rx.recv() => i,
                () = sleep_until(wake) => {
                    self.fire_timers();
                    blocked = self.pump();
                    continue;
                }
            };
            let Some(input) = input else {
                return;
            };
            self.handle(input);
            if self.terminated {
                return;
            }
            // Take what is already queued before sending: changes coalesce per destination.
            for _ in 0..1024 {
                match rx.try_recv() {
                    Ok(i) => self.handle(i),
                    Err(_) => break,
                }
            }
            blocked = self.pump();
        }
    }

    /// A local MAC or MAC/IP change on an L2VNI bridge: the MAC table decides which type-2
    /// routes to originate or withdraw.
    fn kernel_event(&mut self, event: &dataplane::watch::DataplaneEvent) {
        if let dataplane::watch::DataplaneEvent::Overrun(reason) = event {
            tracing::warn!(
                ?reason,
                "kernel watcher lost notifications; the tables are read again"
            );
            return;
        }
        let Some(cfg) = &self.evpn else {
            return;
        };
        if self.macs.handle_event(cfg, event) {
            self.apply_mac_changes();
        }
    }

    /// Resynchronises the MAC tables with the last kernel snapshot (local MACs that appeared
    /// or left while nobody listened), once the EVPN view exists.
    fn resync_macs(&mut self) {
        let Some(cfg) = &self.evpn else {
            return;
        };
        let Some(events) = self.kernel_snapshot.take() else {
            return;
        };
        let report = self.macs.resync(cfg, &events);
        tracing::info!(
            macs = report.macs,
            ips = report.ips,
            macs_learned = report.macs_learned,
            ips_learned = report.ips_learned,
            macs_forgotten = report.macs_forgotten,
            ips_forgotten = report.ips_forgotten,
            "local MACs resynchronised with the kernel"
        );
        self.apply_mac_changes();
    }

    /// Originates and withdraws the type-2 routes the MAC table asks for.
    fn apply_mac_changes(&mut self) {
        for change in self.macs.take_changes() {
            match change {
                evpn::type2::Change::Advertise(o) => {
                    let nh = o.bgp_next_hop();
                    tracing::info!(route = ?o.key(), "type-2 originated");
                    self.rib
                        .originate(rib::Nlri::L2vpnEvpn(o.route), o.attributes, nh);
                }
                evpn::type2::Change::Withdraw(route) => {
                    self.rib.withdraw_local(rib::Nlri::L2vpnEvpn(route).dest());
                }
                evpn::type2::Change::FlushLocal { vni, mac } => {
                    tracing::info!(vni, %mac, "MAC moved to a remote VTEP (its bridge entry now points at the VXLAN port)");
                }
            }
        }
    }

    /// Follows the default RIB's changed destinations (or everything, with `force`): what
    /// the fabric's EVPN routes import into the VRF instances, the L2VNIs and the kernel; then
    /// the VRF instances' own changes (type-5 exports, host routes for the VRF tables). The
    /// kernel task gets the result when it differs from what it has.
    fn sync_fabric_imports(&mut self, force: bool) {
        if !self.wants_changes() {
            return;
        }
        let changed = self.rib.take_changes();
        let mut imports = None;
        if force || !changed.is_empty() {
            imports = Some(self.fabric_imports(&changed));
        }
        let vrf_kernel_changed = self.sync_vrf_changes();
        if self.kernel.is_none() || (imports.is_none() && !vrf_kernel_changed) {
            return;
        }
        let mut imports = imports.unwrap_or_else(|| (*self.fabric_imports).clone());
        imports.vrf_unicast = self.vrf_kernel();
        if *self.fabric_imports != imports {
            tracing::info!(
                type2 = imports.macs_signature.fdb.len(),
                type5 = imports.type5.len(),
                type3 = imports.type3.len(),
                l3vpn = imports.l3vpn.len(),
                unicast = imports.unicast.len(),
                vrf_unicast = imports
                    .vrf_unicast
                    .values()
                    .map(BTreeMap::len)
                    .sum::<usize>(),
                "fabric imports changed"
            );
            let imports = Arc::new(imports);
            if let Some(k) = &self.kernel {
                k.imports.send_replace(Arc::clone(&imports));
            }
            self.fabric_imports = imports;
        }
    }

    /// What the default RIB's selected paths import now: EVPN type-5 and SRv6 VPN routes
    /// into the VRF instances (and their kernel routes), type-3 flood lists, type-2 MACs
    /// (following `changed`), and the unicast routes of the main table.
    fn fabric_imports(&mut self, changed: &[rib::Dest]) -> crate::overlay::FabricImports {
        let mut imports = crate::overlay::FabricImports::default();
        let mut ignored = 0;
        let mut vrf_paths: Vec<vrf::VrfImport> = Vec::new();
        // Taken out for the duration: the MAC table below is changed while it is read.
        if let Some(cfg) = self.evpn.take() {
            let paths = self
                .rib
                .table(Family::L2vpnEvpn)
                .flat_map(|(_, e)| e.selected.iter().filter_map(|i| e.paths.get(*i)))
                .filter_map(|p| match &p.nlri {
                    rib::Nlri::L2vpnEvpn(r) => Some((r, &p.attrs.attrs, &p.attrs.next_hop)),
                    _ => None,
                });
            let type5_paths;
            (imports, type5_paths, ignored) = crate::overlay::evpn_imports(&cfg, paths);
            vrf_paths.extend(type5_paths.into_iter().map(|(i, a)| {
                let key = vrf::ImportKey::Type5 {
                    prefix: i.prefix,
                    vtep: i.vtep,
                };
                (i.vrf, key, vrf::imported_attributes(a))
            }));
            // Type-2: the MAC table follows the changed destinations (best path or gone).
            for dest in changed.iter().filter(|d| d.family() == Family::L2vpnEvpn) {
                let rib::Dest::L2vpnEvpn {
                    key: key @ bgp::wire::EvpnKey::MacIp { .. },
                } = dest
                else {
                    continue;
                };
                match self.rib.get(dest).and_then(|e| e.best()) {
                    Some(p) if p.source.peer != rib::LOCAL => {
                        if let (rib::Nlri::L2vpnEvpn(bgp::wire::EvpnRoute::MacIp(r)), Some(nh)) =
                            (&p.nlri, crate::overlay::next_hop_ip(&p.attrs.next_hop))
                        {
                            if let Err(why) = self.macs.remote_route(&cfg, r, &p.attrs.attrs, nh) {
                                tracing::debug!(reason = %why, "type-2 route not imported");
                            }
                        }
                    }
                    _ => {
                        self.macs.remote_withdraw(&cfg, key);
                    }
                }
            }
            if self.kernel.is_some() {
                imports.macs_signature = self.macs.dataplane(&cfg);
                imports.macs = self.macs.clone();
            }
            self.evpn = Some(cfg);
        }
        let (vpn_paths, vpn_best, vpn_ignored) = self.vpn_imports();
        vrf_paths.extend(vpn_paths);
        ignored = ignored.saturating_add(vpn_ignored);
        imports.vpn = self.vpn.clone();
        imports.l3vpn = vpn_best;
        self.sync_vrf_imports(vrf_paths);
        if self.kernel.is_some() {
            for family in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
                for (dest, e) in self.rib.table(family) {
                    let prefix = match dest {
                        rib::Dest::Ipv4Unicast { prefix } => ipnet::IpNet::V4(*prefix),
                        rib::Dest::Ipv6Unicast { prefix } => ipnet::IpNet::V6(*prefix),
                        _ => continue,
                    };
                    let mut hops: Vec<IpAddr> = e
                        .selected
                        .iter()
                        .filter_map(|i| e.paths.get(*i))
                        .filter(|p| p.source.peer != rib::LOCAL)
                        .filter_map(|p| crate::overlay::next_hop_ip(&p.attrs.next_hop))
                        .collect();
                    hops.sort();
                    hops.dedup();
                    if !hops.is_empty() {
                        imports.unicast.insert(prefix, hops);
                    }
                }
            }
        }
        if ignored > 0 {
            tracing::debug!(ignored, "EVPN routes not imported");
        }
        // Mobility decisions made while importing (our routes withdrawn, re-advertised).
        self.apply_mac_changes();
        imports
    }

    /// Sends what the RIB has for each established peer, as far as their queues allow.
    /// Returns whether some peer still has output waiting for room.
    fn pump(&mut self) -> bool {
        self.sync_fabric_imports(false);
        let mut blocked = false;
        for (id, p) in &self.peers {
            let Some(cmd) = &p.cmd else {
                continue;
            };
            if p.state != State::Established {
                continue;
            }
            let rib = match p.neighbor.vrf.as_deref().and_then(|v| self.vrfs.get_mut(v)) {
                Some(inst) => &mut inst.rib,
                None => &mut self.rib,
            };
            // Bounded work per peer per round keeps the actor responsive.
            for _ in 0..16 {
                if !rib.has_pending(*id) {
                    break;
                }
                let Ok(permit) = cmd.try_reserve() else {
                    blocked = true;
                    break;
                };
                match rib.updates_for(*id, 512) {
                    Ok(msgs) if msgs.is_empty() => {}
                    Ok(msgs) => permit.send(SessionCommand::SendEncoded(msgs)),
                    Err(e) => {
                        tracing::warn!(peer = %id, error = %e, "cannot build updates");
                        break;
                    }
                }
            }
            if rib.has_pending(*id) {
                blocked = true;
            }
        }
        blocked
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Session {
                peer,
                generation,
                event,
            } => self.session_event(peer, generation, event),
            Input::Incoming { stream, remote } => self.incoming(stream, remote),
            Input::Kernel(event) => self.kernel_event(&event),
            Input::KernelSnapshot(events) => {
                self.kernel_snapshot = Some(events);
                self.resync_macs();
            }
            Input::Api(req, reply) => {
                let answer = self.request(req);
                let _ = reply.send(answer);
            }
            Input::Terminate(reply) => {
                self.terminate();
                let _ = reply.send(());
            }
            Input::LinkLocal { peer, found } => self.link_local(peer, found),
        }
    }

    /// Starts the router-advertisement speaker of an unnumbered neighbour's interface, and a
    /// task that reports the peer's link-local address to the actor.
    fn start_link(&self, id: PeerId, ifname: &str) -> Link {
        let (found_tx, mut found_rx) = tokio::sync::watch::channel(None);
        let name = ifname.to_string();
        let speaker = tokio::spawn(async move {
            loop {
                match unnumbered::run(name.clone(), RaConfig::default(), found_tx.clone()).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(interface = %name, error = %e, "router advertisements stopped; retrying in 5 s");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                }
            }
        });
        let tx = self.tx.clone();
        let watcher = tokio::spawn(async move {
            while found_rx.changed().await.is_ok() {
                let found = *found_rx.borrow_and_update();
                if let Some(found) = found {
                    if tx.send(Input::LinkLocal { peer: id, found }).await.is_err() {
                        return;
                    }
                }
            }
        });
        Link {
            ifname: ifname.to_string(),
            ifindex: unnumbered::ifindex(ifname).ok(),
            tasks: vec![speaker, watcher],
        }
    }

    /// An unnumbered neighbour's address is known (or changed): (re)start its session there.
    fn link_local(&mut self, id: PeerId, found: PeerLinkLocal) {
        let Some(mut p) = self.peers.remove(&id) else {
            return;
        };
        let addr = IpAddr::V6(found.addr);
        if let Some(link) = p.link.as_mut() {
            link.ifindex = Some(found.ifindex);
        }
        if p.addr != Some(addr) {
            tracing::info!(peer = %found.addr, ifindex = found.ifindex, "unnumbered neighbour found");
            if p.addr.is_some() {
                self.peers.insert(id, p);
                self.stop_session(id, None);
                let Some(q) = self.peers.remove(&id) else {
                    return;
                };
                p = q;
            }
            p.addr = Some(addr);
            if !p.admin_down {
                let passive = p.neighbor.passive;
                self.start_session(id, &mut p, addr, passive);
            }
        }
        self.peers.insert(id, p);
    }

    /// Stops the daemon. With graceful restart on, sessions are dropped without a
    /// NOTIFICATION and a marker is left so the next start is a graceful restart: peers keep
    /// our routes meanwhile (RFC 4724). Otherwise every session gets Cease / Administrative
    /// Shutdown.
    fn terminate(&mut self) {
        self.terminated = true;
        if self.config.graceful_restart.is_some() {
            let _ = std::fs::create_dir_all(&self.state_dir);
            match std::fs::write(self.state_dir.join(RESTART_MARKER), b"") {
                Ok(()) => {
                    tracing::info!(dir = %self.state_dir.display(), "graceful restart: marker written, sessions dropped without NOTIFICATION")
                }
                Err(e) => tracing::warn!(error = %e, "graceful restart marker not written"),
            }
            for p in self.peers.values_mut() {
                if let Some(cmd) = p.cmd.take() {
                    let _ = cmd.try_send(SessionCommand::Abort);
                }
            }
        } else {
            let ids: Vec<PeerId> = self.peers.keys().copied().collect();
            for id in ids {
                let n = Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN, vec![]);
                self.stop_session(id, Some(n));
            }
        }
    }

    fn alloc_id(&mut self) -> PeerId {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    /// Adds a configured neighbour and starts its session (listen ranges wait for
    /// connections; interface neighbours are not supported yet and are only listed).
    fn add_neighbor(&mut self, n: &Neighbor) {
        let addr = match &n.target {
            NeighborTarget::Address(a) => Some(*a),
            NeighborTarget::ListenRange(_) => return,
            NeighborTarget::Interface(_) => None,
        };
        let id = self.alloc_id();
        let mut peer = Peer::new(n, addr, false);
        if let NeighborTarget::Interface(ifname) = &n.target {
            // BGP unnumbered: the RIB knows the peer now, its session starts once RAs reveal
            // the peer's link-local address (or the peer connects first).
            if let Err(e) = self.rib.add_peer(
                id,
                peer_config(&self.config, n, IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)),
            ) {
                tracing::error!(error = %e, "rib refused a peer");
                return;
            }
            peer.link = Some(self.start_link(id, ifname));
        }
        if let Some(a) = addr {
            let config = peer_config(&self.config, n, a);
            let Some(rib) = self.instance_rib(n.vrf.as_deref()) else {
                tracing::error!(vrf = ?n.vrf, "neighbour of a VRF without an instance: not added");
                return;
            };
            if let Err(e) = rib.add_peer(id, config) {
                tracing::error!(error = %e, "rib refused a peer");
                return;
            }
            self.start_session(id, &mut peer, a, n.passive);
        }
        self.peers.insert(id, peer);
    }

    fn start_session(&mut self, id: PeerId, peer: &mut Peer, addr: IpAddr, passive: bool) {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.saturating_add(1);
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ev_tx, mut ev_rx) = mpsc::channel(64);
        let mut cfg = session_config(&self.config, &peer.neighbor, addr, passive, self.restarting);
        if let (Some(link), IpAddr::V6(ll)) = (&peer.link, addr) {
            // A link-local peer is reached through its interface.
            cfg.remote = SocketAddr::V6(std::net::SocketAddrV6::new(
                ll,
                peer.neighbor.port,
                0,
                link.ifindex.unwrap_or(0),
            ));
            cfg.socket.device = Some(link.ifname.clone());
        }
        tokio::spawn(session::run(cfg, cmd_rx, ev_tx));
        let tx = self.tx.clone();
        tokio::spawn(async move {
            while let Some(event) = ev_rx.recv().await {
                let input = Input::Session {
                    peer: id,
                    generation,
                    event,
                };
                if tx.send(input).await.is_err() {
                    return;
                }
            }
        });
        peer.generation = generation;
        peer.cmd = Some(cmd_tx);
        peer.state = State::Idle;
        peer.since = Instant::now();
    }

    /// Stops a peer's session (dropping the command channel stops it if it is full).
    fn stop_session(&mut self, id: PeerId, notification: Option<Notification>) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        if let Some(cmd) = p.cmd.take() {
            let c = match notification {
                Some(n) => SessionCommand::Shutdown(n),
                None => SessionCommand::Stop,
            };
            let _ = cmd.try_send(c);
        }
        p.generation = 0;
        p.state = State::Idle;
        p.since = Instant::now();
        p.negotiation = None;
        p.conn = None;
        let _ = self.rib_mut(id).peer_down(id);
    }

    fn remove_peer(&mut self, id: PeerId) {
        self.stop_session(id, None);
        let _ = self.rib_mut(id).remove_peer(id);
        self.peers.remove(&id);
    }

    fn peer_by_addr(&self, addr: IpAddr) -> Option<PeerId> {
        self.peers
            .iter()
            .find(|(_, p)| p.addr == Some(addr))
            .map(|(id, _)| *id)
    }

    fn incoming(&mut self, stream: TcpStream, remote: SocketAddr) {
        let addr = transport::canonical(remote.ip());
        // An unnumbered peer may connect before its router advertisements are seen: the
        // interface (scope) of its link-local address tells which neighbour it is.
        if let SocketAddr::V6(v6) = remote {
            if unnumbered::is_link_local(v6.ip()) && self.peer_by_addr(addr).is_none() {
                let by_link = self.peers.iter().find_map(|(id, p)| {
                    p.link
                        .as_ref()
                        .filter(|l| l.ifindex == Some(v6.scope_id()))
                        .map(|_| *id)
                });
                if let Some(id) = by_link {
                    self.link_local(
                        id,
                        PeerLinkLocal {
                            addr: *v6.ip(),
                            ifindex: v6.scope_id(),
                        },
                    );
                }
            }
        }
        let id = match self.peer_by_addr(addr) {
            Some(id) => id,
            None => match self.config.neighbor_for(addr).cloned() {
                Some(n) if matches!(n.target, NeighborTarget::ListenRange(_)) => {
                    let dynamic = self.peers.values().filter(|p| p.dynamic).count();
                    if u32::try_from(dynamic).unwrap_or(u32::MAX) >= self.config.listen_limit {
                        tracing::warn!(peer = %addr, limit = self.config.listen_limit, "listen limit reached: connection refused");
                        return;
                    }
                    let id = self.alloc_id();
                    if self
                        .rib
                        .add_peer(id, peer_config(&self.config, &n, addr))
                        .is_err()
                    {
                        return;
                    }
                    let mut peer = Peer::new(&n, Some(addr), true);
                    self.start_session(id, &mut peer, addr, true);
                    tracing::info!(peer = %addr, range = %n.target, "dynamic peer accepted");
                    self.peers.insert(id, peer);
                    id
                }
                _ => {
                    tracing::info!(peer = %remote, "connection from an unconfigured address refused");
                    return;
                }
            },
        };
        let Some(p) = self.peers.get(&id) else {
            return;
        };
        if p.admin_down {
            return;
        }
        if let Err(e) = transport::apply_accepted(&stream, &socket_options(&p.neighbor)) {
            tracing::warn!(peer = %remote, error = %e, "socket options on an accepted connection");
            return;
        }
        if let Some(cmd) = &p.cmd {
            let _ = cmd.try_send(SessionCommand::Incoming(stream));
        }
    }

    fn session_event(&mut self, id: PeerId, generation: u64, event: SessionEvent) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        if p.generation != generation {
            return;
        }
        match event {
            SessionEvent::State(s) => {
                if s != p.state {
                    p.state = s;
                    p.since = Instant::now();
                }
            }
            SessionEvent::Connected { local, remote } => p.conn = Some((local, remote)),
            SessionEvent::Established(n) => {
                let Some((local, remote)) = p.conn else {
                    return;
                };
                let info = SessionInfo {
                    bgp_id: n.peer_bgp_id,
                    peer_as: n.peer_as,
                    families: n.families,
                    tx: n.contexts.tx,
                    local_addr: transport::canonical(local.ip()),
                    local_link_local: match local.ip() {
                        IpAddr::V6(l) if unnumbered::is_link_local(&l) => Some(l),
                        _ => None,
                    },
                    remote_addr: transport::canonical(remote.ip()),
                };
                tracing::info!(peer = %remote, asn = n.peer_as, "peer established");
                let gr = n.peer_graceful_restart.clone();
                p.peer_gr = gr.clone();
                p.eor_received = FamilySet::EMPTY;
                p.negotiation = Some(n);
                p.state = State::Established;
                p.since = Instant::now();
                let helping = p.helping;
                if let Err(e) = self.rib_mut(id).peer_up(id, info) {
                    tracing::error!(peer = %id, error = %e, "rib peer up");
                }
                if helping {
                    // RFC 4724 §4.2: families the restarted peer no longer preserves
                    // forwarding for lose their stale paths now; the others wait for its
                    // End-of-RIB or the stale-path timer.
                    for f in Family::ALL {
                        let kept = gr.as_ref().is_some_and(|g| {
                            g.families
                                .iter()
                                .any(|x| x.afi_safi == f.afi_safi() && x.forwarding_preserved())
                        });
                        if !kept {
                            self.rib_mut(id).sweep_stale(id, f);
                        }
                    }
                    let stale = self
                        .config
                        .graceful_restart
                        .as_ref()
                        .map(|g| g.stale_path_time)
                        .unwrap_or(360);
                    self.arm(
                        Duration::from_secs(u64::from(stale)),
                        Timer::Stale {
                            peer: id,
                            generation,
                        },
                    );
                }
                self.check_deferral();
            }
            SessionEvent::Message(received) => self.message(id, *received),
            SessionEvent::Down(reason) => {
                p.flaps = p.flaps.saturating_add(1);
                if matches!(&reason, DownReason::Sent(n) if n.code == code::UPDATE) {
                    p.session_resets = p.session_resets.saturating_add(1);
                }
                p.last_error = Some(reason_text(&reason));
                let families = p
                    .negotiation
                    .as_ref()
                    .map(|n| n.families)
                    .unwrap_or_default();
                p.negotiation = None;
                let dynamic = p.dynamic;
                // Graceful restart helper (RFC 4724 §4.2): the transport failed (no
                // NOTIFICATION) and the peer advertised graceful restart: keep its paths of
                // the families it listed, stale, for its restart time.
                let gr = match (&reason, &p.peer_gr) {
                    (DownReason::TransportFailed, Some(g)) if !dynamic => Some(g.clone()),
                    _ => None,
                };
                match gr {
                    Some(g) => {
                        let mut keep = FamilySet::EMPTY;
                        for f in g.families.iter().filter_map(|x| x.afi_safi.family()) {
                            if families.contains(f) {
                                keep.insert(f);
                            }
                        }
                        p.helping = true;
                        let kept = self.rib_mut(id).peer_down_graceful(id, keep).unwrap_or(0);
                        tracing::info!(peer = %id, kept, restart_time = g.restart_time, "graceful restart helper: keeping stale paths");
                        self.arm(
                            Duration::from_secs(u64::from(g.restart_time)),
                            Timer::Restart {
                                peer: id,
                                generation,
                            },
                        );
                    }
                    None => {
                        if let Some(p) = self.peers.get_mut(&id) {
                            p.helping = false;
                        }
                        let _ = self.rib_mut(id).peer_down(id);
                    }
                }
                if dynamic {
                    self.remove_peer(id);
                }
            }
        }
    }

    fn message(&mut self, id: PeerId, received: bgp::wire::Received) {
        match received.message {
            Message::Update(u) => {
                if !received.verdict.is_clean() {
                    tracing::warn!(peer = %id, action = ?received.verdict.action, findings = ?received.verdict.findings, "RFC 7606 action on an UPDATE");
                }
                match self.rib_mut(id).apply(id, &u, &received.verdict) {
                    Ok(applied) => {
                        if let Some(f) = applied.end_of_rib.and_then(|a| a.family()) {
                            self.end_of_rib(id, f);
                        }
                        if let Some((family, count, limit)) = applied.max_prefix {
                            tracing::warn!(peer = %id, %family, count, limit = limit.limit, "prefix limit exceeded");
                            if !limit.warning_only {
                                let n = Notification::new(code::CEASE, cease::MAX_PREFIXES, vec![]);
                                self.stop_session(id, Some(n));
                                let mut restart = None;
                                if let Some(p) = self.peers.get_mut(&id) {
                                    p.last_error = Some(format!(
                                        "prefix limit {} exceeded in {family}",
                                        limit.limit
                                    ));
                                    p.flaps = p.flaps.saturating_add(1);
                                    restart =
                                        p.neighbor.max_prefix.as_ref().and_then(|m| m.restart);
                                }
                                // Down until `restartSeconds`, or until an operator reset.
                                if let Some(secs) = restart {
                                    self.arm(
                                        Duration::from_secs(u64::from(secs)),
                                        Timer::MaxPrefixRestart { peer: id },
                                    );
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(peer = %id, error = %e, "update not applied"),
                }
            }
            Message::RouteRefresh(r) => self.route_refresh(id, &r),
            Message::Open(_) | Message::Keepalive | Message::Notification(_) => {}
        }
    }

    /// A ROUTE-REFRESH from peer `id`: a request (we send the family again, between BoRR
    /// and EoRR when enhanced route refresh is negotiated), or the peer's own BoRR/EoRR
    /// around its re-advertisement (RFC 7313 §4: its paths turn stale at BoRR, and those not
    /// refreshed by EoRR are removed).
    fn route_refresh(&mut self, id: PeerId, r: &bgp::wire::RouteRefresh) {
        use bgp::wire::route_refresh::subtype;
        let Some(f) = r.afi_safi.family() else {
            return;
        };
        let enhanced = self
            .peers
            .get(&id)
            .and_then(|p| p.negotiation.as_ref())
            .is_some_and(|n| n.enhanced_route_refresh);
        match r.subtype {
            subtype::NORMAL => {
                if enhanced {
                    if let Some(cmd) = self.peers.get(&id).and_then(|p| p.cmd.as_ref()) {
                        let borr = bgp::wire::RouteRefresh {
                            afi_safi: f.afi_safi(),
                            subtype: subtype::BORR,
                            orf: vec![],
                        };
                        let _ = cmd
                            .try_send(SessionCommand::Send(Box::new(Message::RouteRefresh(borr))));
                    }
                }
                let _ = self.rib_mut(id).resend(id, f, enhanced);
            }
            subtype::BORR => {
                let n = self.rib_mut(id).mark_stale(id, f);
                tracing::debug!(peer = %id, family = %f, paths = n, "enhanced route refresh begins");
            }
            subtype::EORR => {
                let n = self.rib_mut(id).sweep_stale(id, f);
                tracing::debug!(peer = %id, family = %f, swept = n, "enhanced route refresh ends");
            }
            other => {
                tracing::debug!(peer = %id, subtype = other, "ROUTE-REFRESH subtype ignored");
            }
        }
    }

    /// End-of-RIB from peer `id` for `family`: sweep what stayed stale, and maybe end our
    /// own deferral.
    fn end_of_rib(&mut self, id: PeerId, family: Family) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        p.eor_received.insert(family);
        if p.helping {
            let swept = self.rib_mut(id).sweep_stale(id, family);
            tracing::info!(peer = %id, %family, swept, "graceful restart: End-of-RIB, stale paths swept");
            if let Some(p) = self.peers.get_mut(&id) {
                let done = p
                    .negotiation
                    .as_ref()
                    .is_some_and(|n| n.families.iter().all(|f| p.eor_received.contains(f)));
                if done {
                    p.helping = false;
                }
            }
        }
        self.check_deferral();
    }

    /// Installs TCP-MD5 keys for every neighbour with a password on every listener.
    fn install_md5(&self) {
        for l in &self.listeners {
            for n in &self.config.neighbors {
                let (addr, len) = match &n.target {
                    NeighborTarget::Address(a) => (*a, None),
                    NeighborTarget::ListenRange(r) => (r.network(), Some(r.prefix_len())),
                    NeighborTarget::Interface(_) => continue,
                };
                if let Err(e) = l.set_md5(addr, len, n.password.as_deref()) {
                    tracing::warn!(peer = %addr, error = %e, "tcp-md5 key not installed");
                }
            }
        }
    }

    fn request(&mut self, req: Request) -> Reply {
        match req {
            Request::Summary => json(&views::summary(self)),
            Request::Neighbors(None) => json(&views::neighbors(self)),
            Request::Neighbors(Some(addr)) => match self.find(&addr) {
                Some(id) => match views::neighbor(self, id) {
                    Some(v) => json(&v),
                    None => Reply::Error(404, format!("no neighbour {addr}")),
                },
                None => Reply::Error(404, format!("no neighbour {addr}")),
            },
            Request::Routes {
                family,
                prefix,
                vrf,
            } => match vrf {
                None => json(&views::routes(self, &self.rib, family, prefix)),
                Some(v) => match self.vrfs.get(&v) {
                    Some(inst) => json(&views::routes(self, &inst.rib, family, prefix)),
                    None => Reply::Error(404, format!("no VRF instance {v:?}")),
                },
            },
            Request::Reload(config) => {
                let new = match config {
                    Some(c) => *c,
                    None => match config::load(&self.config_path) {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::error!(error = %e, "reload refused: the configuration is invalid");
                            return Reply::Error(400, e.to_string());
                        }
                    },
                };
                let report = self.reload(new);
                if let Some(k) = &self.kernel {
                    if !report.unchanged {
                        k.config.send_replace(Arc::new(self.config.clone()));
                    }
                } else if !report.unchanged && !self.config.nics.is_empty() {
                    tracing::warn!(nics = ?self.config.nics, "nics ignored: without --host-netns perouterd moves no underlay NIC");
                }
                self.rib.track_changes(self.wants_changes());
                if let Some(cfg) = &self.evpn {
                    self.macs.reconfigure(cfg);
                    self.apply_mac_changes();
                }
                self.sync_fabric_imports(true);
                json(&report)
            }
            Request::Reset(addr) => match self.find(&addr) {
                Some(id) => {
                    self.reset(id);
                    json(&Ack {
                        message: format!("neighbour {addr} reset"),
                    })
                }
                None => Reply::Error(404, format!("no neighbour {addr}")),
            },
            Request::Shutdown(addr) => match self.find(&addr) {
                Some(id) => {
                    let n = Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN, vec![]);
                    self.stop_session(id, Some(n));
                    if let Some(p) = self.peers.get_mut(&id) {
                        p.admin_down = true;
                    }
                    json(&Ack {
                        message: format!("neighbour {addr} shut down"),
                    })
                }
                None => Reply::Error(404, format!("no neighbour {addr}")),
            },
            Request::Metrics => Reply::Text(views::metrics(self)),
        }
    }

    /// The peer named by `s`: its address, or its configured key.
    fn find(&self, s: &str) -> Option<PeerId> {
        let ip: Option<IpAddr> = s.parse().ok();
        self.peers
            .iter()
            .find(|(_, p)| {
                ip.is_some_and(|ip| p.addr == Some(transport::canonical(ip)))
                    || p.key.to_string() == s
            })
            .map(|(id, _)| *id)
    }

    /// Restarts a session (a hard reset: Cease/4 Administrative Reset).
    fn reset(&mut self, id: PeerId) {
        let n = Notification::new(code::CEASE, cease::ADMIN_RESET, vec![]);
        self.stop_session(id, Some(n));
        let Some(mut p) = self.peers.remove(&id) else {
            return;
        };
        p.admin_down = false;
        if p.dynamic {
            let _ = self.rib.remove_peer(id);
            return;
        }
        if let Some(a) = p.addr {
            let passive = p.neighbor.passive;
            self.start_session(id, &mut p, a, passive);
        }
        self.peers.insert(id, p);
    }

    /// Applies a new configuration in place: only neighbours whose identity changed are
    /// reset; the same configuration changes nothing.
    fn reload(&mut self, new: Config) -> ReloadReport {
        let mut report = ReloadReport::default();
        if new == self.config {
            report.unchanged = true;
            tracing::info!("reload: configuration unchanged");
            return report;
        }
        if self.config.instance_identity_changed(&new) {
            // Router id, AS or graceful restart: every OPEN changes.
            let ids: Vec<PeerId> = self.peers.keys().copied().collect();
            for id in ids {
                if let Some(p) = self.peers.get(&id) {
                    report.reset.push(p.key.to_string());
                }
                self.remove_peer(id);
            }
            self.rib = Rib::new(rib_config(&new));
            self.vrfs.clear();
            self.originated.clear();
            self.evpn_originated.clear();
            self.config = new;
            self.apply_initial();
            report.reset.sort();
            report.reset.dedup();
            return report;
        }
        if self.config.cluster_id != new.cluster_id {
            tracing::warn!("reload: a cluster id change applies to routes learned from now on");
        }
        let old: HashMap<NeighborKey, Neighbor> = self
            .config
            .neighbors
            .iter()
            .map(|n| (n.key(), n.clone()))
            .collect();
        let fresh: HashMap<NeighborKey, Neighbor> =
            new.neighbors.iter().map(|n| (n.key(), n.clone())).collect();
        self.config = new;
        self.ensure_vrfs();
        for (key, n) in &old {
            match fresh.get(key) {
                None => {
                    report.removed.push(key.to_string());
                    for id in self.peers_of(key) {
                        self.remove_peer(id);
                    }
                }
                Some(m) if n.identity_changed(m) => {
                    report.reset.push(key.to_string());
                    for id in self.peers_of(key) {
                        self.remove_peer(id);
                    }
                    self.add_neighbor(m);
                }
                Some(m) if n != m => {
                    report.updated.push(key.to_string());
                    for id in self.peers_of(key) {
                        // The RIB side follows in the sweep below (`apply_peer_config`).
                        if let Some(p) = self.peers.get_mut(&id) {
                            p.neighbor = m.clone();
                        }
                    }
                }
                Some(_) => {}
            }
        }
        for (key, m) in &fresh {
            if !old.contains_key(key) {
                report.added.push(key.to_string());
                self.add_neighbor(m);
            }
        }
        // A policy's body may change under the same name: re-export where it matters.
        let ids: Vec<PeerId> = self.peers.keys().copied().collect();
        for id in ids {
            let Some(p) = self.peers.get(&id) else {
                continue;
            };
            let Some(a) = p.addr else {
                continue;
            };
            let wanted = peer_config(&self.config, &p.neighbor, a);
            if self
                .rib_of(id)
                .peer_config(id)
                .is_some_and(|c| *c != wanted)
            {
                let key = p.key.to_string();
                self.apply_peer_config(id, wanted);
                if !report.updated.contains(&key)
                    && !report.added.contains(&key)
                    && !report.reset.contains(&key)
                {
                    report.updated.push(key);
                }
            }
        }
        self.prune_vrfs();
        self.install_md5();
        self.sync_originated();
        report.added.sort();
        report.removed.sort();
        report.reset.sort();
        report.updated.sort();
        tracing::info!(added = ?report.added, removed = ?report.removed, reset = ?report.reset, updated = ?report.updated, "configuration reloaded");
        report
    }

    /// Applies a peer's new policy settings in place. Outbound changes are re-exported by the
    /// RIB; inbound ones (import policy, allowas-in) need the routes again: we ask the peer
    /// with a ROUTE-REFRESH per family (no Adj-RIB-In copy is kept before policy).
    fn apply_peer_config(&mut self, id: PeerId, wanted: PeerConfig) {
        let inbound = self
            .rib_of(id)
            .peer_config(id)
            .is_some_and(|c| c.import != wanted.import || c.allowas_in != wanted.allowas_in);
        let _ = self.rib_mut(id).set_peer_config(id, wanted);
        let Some(p) = self.peers.get(&id) else {
            return;
        };
        let (Some(cmd), Some(n)) = (&p.cmd, &p.negotiation) else {
            return;
        };
        if !inbound {
            return;
        }
        if !n.route_refresh {
            tracing::warn!(peer = %id, "import settings changed but the peer cannot refresh: they apply to routes it sends from now on");
            return;
        }
        for f in n.families.iter() {
            let rr = bgp::wire::RouteRefresh::request(f.afi_safi());
            if cmd
                .try_send(SessionCommand::Send(Box::new(Message::RouteRefresh(rr))))
                .is_err()
            {
                tracing::warn!(peer = %id, family = %f, "route refresh not sent: session queue full");
            }
        }
        tracing::info!(peer = %id, "import settings changed: route refresh requested");
    }

    fn peers_of(&self, key: &NeighborKey) -> Vec<PeerId> {
        self.peers
            .iter()
            .filter(|(_, p)| &p.key == key)
            .map(|(id, _)| *id)
            .collect()
    }
}

fn originated_nlri(p: ipnet::IpNet) -> rib::Nlri {
    match p {
        ipnet::IpNet::V4(v4) => rib::Nlri::Ipv4Unicast(v4),
        ipnet::IpNet::V6(v6) => rib::Nlri::Ipv6Unicast(v6),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn json<T: serde::Serialize>(v: &T) -> Reply {
    match serde_json::to_value(v) {
        Ok(v) => Reply::Json(v),
        Err(e) => Reply::Error(500, e.to_string()),
    }
}
