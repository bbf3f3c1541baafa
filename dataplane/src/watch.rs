//! Watchers: kernel change notifications of one network namespace as typed events on a
//! bounded channel.
//!
//! A [`Watcher`] subscribes to the rtnetlink multicast groups for links (`RTNLGRP_LINK`),
//! IPv4/IPv6 addresses and routes, and neighbours (`RTNLGRP_NEIGH`, which carries both ARP/ND
//! entries and bridge/VXLAN FDB entries, `AF_BRIDGE`), and hands each change to the consumer as
//! a [`DataplaneEvent`]:
//! - bridge FDB entries ([`FdbEvent`]): MACs the bridge learned on a port of an L2VNI bridge
//!   ([`FdbEvent::is_local_learning`], the source of EVPN type-2 MAC routes), told apart from
//!   our own `extern_learn` entries, local (`permanent`) and `static` entries;
//! - neighbours ([`NeighEvent`]): the MAC+IP bindings of type-2 MAC/IP routes;
//! - links and addresses ([`LinkEvent`], [`DataplaneEvent::LinkRemoved`], [`AddressEvent`]);
//! - routes made by others ([`RouteEvent`]): by default routes carrying our protocol id
//!   ([`WatchConfig::protocol`]) are not reported, optionally only some tables are.
//!
//! # Design: a raw socket, not `rtnetlink::new_multicast_connection`
//!
//! rtnetlink's connection hands unsolicited messages to an *unbounded* channel: a slow
//! consumer makes it grow without limit, and the kernel never learns that nobody reads. This
//! module instead reads a raw `NETLINK_ROUTE` socket (through `nix`, as the batch socket of
//! [`crate::netlink`], registered with tokio's `AsyncFd`) whose receive buffer is sized
//! ([`WatchConfig::recv_buffer`], `SO_RCVBUFFORCE`). A single task reads one datagram,
//! decodes it and `send().await`s its events on a bounded tokio channel
//! ([`WatchConfig::capacity`]). When the channel is full the task waits, stops reading, the
//! kernel's socket buffer fills, and the kernel drops further notifications and reports
//! `ENOBUFS` on the next read. So the memory used is bounded (channel capacity + receive
//! buffer + one datagram), there is no internal queue that could overflow, and every loss is
//! known.
//!
//! # Contract: [`DataplaneEvent::Overrun`] means "re-read the full state"
//!
//! Events are delivered in kernel order and carry the whole state of their object (an added
//! event is the object as it is now, a removed event its identity). When notifications have
//! been lost the watcher emits [`DataplaneEvent::Overrun`]:
//! - `ENOBUFS` on a read ([`OverrunReason::KernelBuffer`]): the kernel dropped notifications
//!   because the consumer was too slow (or the receive buffer too small for a burst). The
//!   watcher then discards everything still queued in the socket (those notifications are
//!   older than the loss, replaying them after a re-read could resurrect a stale value),
//!   refreshes its interface name cache and only then emits `Overrun`;
//! - a datagram larger than the read buffer ([`OverrunReason::Truncated`], the buffer grows
//!   for the next time) or a notification that cannot be decoded
//!   ([`OverrunReason::Malformed`]). Only that one notification is lost, so nothing queued is
//!   discarded: everything after it follows the marker.
//!
//! The discard reads until the socket is empty. It cannot outrun a kernel that produces
//! notifications forever faster than one non-blocking read loop consumes them; such a storm
//! would keep the task discarding (everything it drops is covered by the re-read the marker
//! asks for, so nothing is silently lost, but no marker is sent until the storm ends).
//!
//! On `Overrun`, the consumer must re-read (dump) the full state it tracks, and keep applying
//! the events that follow the marker. Every change made after the discarded notifications is
//! delivered after the marker, and the re-read happens after the marker was received, so
//! applying the events after the marker on top of the re-read converges to the kernel's
//! state (an event may describe a change the re-read already shows; applying it again is
//! harmless because events carry full state and come in order). Events received *before* the
//! marker are valid too; only the lost ones are unknown. Several `Overrun`s in a row are
//! possible (the kernel may overflow again while the marker waits for room in the channel);
//! one re-read after the last one suffices.
//!
//! The re-read itself, for the bridge FDB and the neighbour tables, is [`snapshot`]: it dumps
//! them and returns their entries as the same [`DataplaneEvent::Fdb`] / [`DataplaneEvent::Neigh`]
//! events (`added: true`) a watcher produces, through the same conversion, so a consumer
//! classifies both alike (e.g. `evpn::type2::MacTable::resync` reconciles its local MACs with
//! one). The same snapshot taken right after the watcher is created gives the state the
//! watcher's events then change.
//!
//! Interface names are resolved from the index through a cache filled by a link dump at start
//! (and after every overrun) and kept up to date by link notifications; a [`LinkRef`] keeps
//! the index and has no name only if the link is unknown (already deleted).
//!
//! The socket keeps the network namespace it was opened in: [`Watcher::new`] watches the
//! namespace of the calling thread, whichever thread the reading task runs on later.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};

use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::neighbour::{
    NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAttribute, RouteFlags, RouteMessage, RouteNextHopFlags, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::sys::socket::{
    bind, recv, sendto, setsockopt, socket, sockopt, AddressFamily as SockFamily, MsgFlags,
    NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::model::{MacAddr, NextHop, RouteKind};
use crate::nlattr::{gateway, link_name, neigh_dst, neigh_managed, route_ip};
use crate::RTPROT_PEROUTERD;

/// Default capacity of the event channel.
pub const DEFAULT_CAPACITY: usize = 4096;
/// Default receive buffer of the notification socket (the kernel doubles it for overhead).
pub const DEFAULT_RECV_BUFFER: usize = 4 << 20;
/// Initial size of the buffer one datagram is read into (grown when a datagram is larger).
const READ_BUFFER: usize = 64 * 1024;
/// The read buffer never grows beyond this.
const MAX_READ_BUFFER: usize = 1 << 20;
const NLMSG_HDRLEN: usize = 16;

// rtnetlink message types this module decodes (linux/rtnetlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_NEWNEIGH: u16 = 28;
const RTM_DELNEIGH: u16 = 29;

/// The multicast groups, as the legacy bind(2) bitmask (`RTMGRP_*` = `1 << (RTNLGRP_* - 1)`).
const GROUPS: u32 = (libc::RTMGRP_LINK
    | libc::RTMGRP_NEIGH
    | libc::RTMGRP_IPV4_IFADDR
    | libc::RTMGRP_IPV4_ROUTE
    | libc::RTMGRP_IPV6_IFADDR
    | libc::RTMGRP_IPV6_ROUTE) as u32;

/// A watcher failure.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The kernel refused a dump (the link dump the name cache is filled from, or one of the
    /// [`snapshot`] dumps).
    #[error("{what} dump: kernel error {errno}")]
    Dump {
        /// Which dump.
        what: &'static str,
        /// Positive errno.
        errno: i32,
    },
    /// A [`snapshot`] dump answer could not be decoded (an entry would be missing).
    #[error("{what} dump: undecodable answer")]
    Malformed {
        /// Which dump.
        what: &'static str,
    },
    /// A [`snapshot`] dump was still marked interrupted (`NLM_F_DUMP_INTR`: the table changed
    /// while it was read) after several attempts.
    #[error("{what} dump: inconsistent after {attempts} attempts")]
    Inconsistent {
        /// Which dump.
        what: &'static str,
        /// How many times it was read.
        attempts: u32,
    },
    /// A dump answer was larger than the largest read buffer.
    #[error("{what} dump: a {size}-byte answer exceeds the read buffer")]
    TooLarge {
        /// Which dump.
        what: &'static str,
        /// The answer's size.
        size: usize,
    },
    /// [`Watcher::new`] or [`snapshot`] was called outside a tokio runtime.
    #[error("a watcher or snapshot must be created inside a tokio runtime")]
    NoRuntime,
    /// The reading task ended (after an error already returned, or it was cancelled).
    #[error("the watcher has stopped")]
    Stopped,
}

/// What a [`Watcher`] reports and how large its buffers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchConfig {
    /// Our `rtm_protocol` (see [`crate::netlink::NetlinkConfig::protocol`]).
    pub protocol: u8,
    /// Also report routes carrying [`WatchConfig::protocol`] (default: only others' routes).
    pub include_own_routes: bool,
    /// Report routes of these tables only (`None`: all tables).
    pub route_tables: Option<BTreeSet<u32>>,
    /// Capacity of the event channel (at least 1).
    pub capacity: usize,
    /// Receive buffer of the notification socket in bytes (`SO_RCVBUFFORCE`; without
    /// `CAP_NET_ADMIN`, `SO_RCVBUF` capped by `net.core.rmem_max`).
    pub recv_buffer: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            protocol: RTPROT_PEROUTERD,
            include_own_routes: false,
            route_tables: None,
            capacity: DEFAULT_CAPACITY,
            recv_buffer: DEFAULT_RECV_BUFFER,
        }
    }
}

/// A link by interface index, with its name when known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkRef {
    /// Interface index.
    pub index: u32,
    /// Interface name; `None` if the index is unknown to the name cache.
    pub name: Option<String>,
}

impl LinkRef {
    /// Whether this is the link named `name`.
    pub fn is(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
    }
}

impl fmt::Display for LinkRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => f.write_str(n),
            None => write!(f, "if#{}", self.index),
        }
    }
}

/// A change in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataplaneEvent {
    /// A link was created or changed (`RTM_NEWLINK`).
    Link(LinkEvent),
    /// A link was deleted (or moved to another namespace).
    LinkRemoved(LinkRef),
    /// An address was added or removed.
    Address(AddressEvent),
    /// A bridge or VXLAN FDB entry was added, changed or removed.
    Fdb(FdbEvent),
    /// An ARP/ND neighbour entry was added, changed or removed.
    Neigh(NeighEvent),
    /// A route (not ours, unless configured) was added, changed or removed.
    Route(RouteEvent),
    /// Notifications were lost: re-read the full state (see the module docs).
    Overrun(OverrunReason),
}

/// Why notifications were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrunReason {
    /// The socket's receive buffer overflowed (`ENOBUFS`): the consumer was too slow.
    KernelBuffer,
    /// A datagram was larger than the read buffer and was truncated.
    Truncated,
    /// A notification could not be decoded.
    Malformed,
}

/// A link as notified (`RTM_NEWLINK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEvent {
    /// The link.
    pub link: LinkRef,
    /// `IFLA_INFO_KIND` (`bridge`, `vxlan`, `veth`…), `None` for devices without one.
    pub kind: Option<String>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier up (`IFF_LOWER_UP`).
    pub lower_up: bool,
    /// MTU.
    pub mtu: Option<u32>,
    /// MAC address.
    pub mac: Option<MacAddr>,
    /// Master device (bridge, VRF).
    pub master: Option<LinkRef>,
}

/// An address added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressEvent {
    /// Added (`true`) or removed.
    pub added: bool,
    /// The link.
    pub link: LinkRef,
    /// The address with its prefix length (host bits kept).
    pub addr: IpNet,
    /// `IFA_PROTO`, when set (ours is [`WatchConfig::protocol`]).
    pub protocol: Option<u8>,
}

/// State of a neighbour or FDB entry (the kernel's `NUD_*`).
///
/// For bridge FDB entries: [`NeighState::Permanent`] is a local entry (the bridge's or a
/// port's own MAC, `bridge fdb` "permanent"), [`NeighState::Noarp`] a `static` entry, and
/// [`NeighState::Reachable`] / [`NeighState::Stale`] a dynamic (learned or `extern_learn`)
/// entry, stale when it has not been refreshed for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighState {
    /// `NUD_INCOMPLETE`: resolution in progress.
    Incomplete,
    /// `NUD_REACHABLE`.
    Reachable,
    /// `NUD_STALE`.
    Stale,
    /// `NUD_DELAY`.
    Delay,
    /// `NUD_PROBE`.
    Probe,
    /// `NUD_FAILED`.
    Failed,
    /// `NUD_NOARP` (FDB: `static`).
    Noarp,
    /// `NUD_PERMANENT` (FDB: local).
    Permanent,
    /// `NUD_NONE`.
    None,
    /// A value with none of the bits above.
    Other(u16),
}

impl From<NeighbourState> for NeighState {
    /// Several bits may be set (`bridge fdb add … permanent` sends `NUD_PERMANENT|NUD_NOARP`,
    /// printed "permanent" by iproute2): the strongest wins, permanent before static before
    /// the dynamic states.
    fn from(s: NeighbourState) -> Self {
        let bits = u16::from(s);
        const ORDER: [(u16, NeighState); 8] = [
            (0x80, NeighState::Permanent),
            (0x40, NeighState::Noarp),
            (0x02, NeighState::Reachable),
            (0x04, NeighState::Stale),
            (0x08, NeighState::Delay),
            (0x10, NeighState::Probe),
            (0x01, NeighState::Incomplete),
            (0x20, NeighState::Failed),
        ];
        if bits == 0 {
            return NeighState::None;
        }
        ORDER
            .iter()
            .find(|(bit, _)| bits & bit != 0)
            .map_or(NeighState::Other(bits), |(_, state)| *state)
    }
}

/// Flags of an FDB entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FdbFlags {
    /// An entry of the bridge's FDB (`master`: `NDA_MASTER` or `NTF_MASTER`).
    pub master: bool,
    /// An entry of the device's own FDB (`self`: `NTF_SELF`, e.g. a VXLAN device's remotes).
    pub self_: bool,
    /// Added by a control plane (`extern_learn`: `NTF_EXT_LEARNED`), e.g. by us.
    pub extern_learn: bool,
    /// `sticky`: never moves to another port.
    pub sticky: bool,
    /// Offloaded to hardware.
    pub offloaded: bool,
}

/// A bridge or VXLAN FDB entry added, changed or removed (`AF_BRIDGE` neighbour message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdbEvent {
    /// Added or changed (`true`), or removed.
    pub added: bool,
    /// The device the entry points to: the bridge port (or the bridge itself for its own
    /// MAC), or the VXLAN device for its `self` entries.
    pub dev: LinkRef,
    /// The bridge whose FDB holds the entry (`master` entries).
    pub bridge: Option<LinkRef>,
    /// MAC address.
    pub mac: MacAddr,
    /// VLAN (`None`: no VLAN, as on a bridge without VLAN filtering).
    pub vlan: Option<u16>,
    /// Remote VTEP of a VXLAN entry.
    pub dst: Option<IpAddr>,
    /// VNI of a VXLAN entry, when not the device's own.
    pub vni: Option<u32>,
    /// State (see [`NeighState`] for the FDB meaning).
    pub state: NeighState,
    /// Flags.
    pub flags: FdbFlags,
}

impl FdbEvent {
    /// Whether the bridge learned this MAC from traffic on a port: a dynamic (`Reachable` or
    /// `Stale`) `master` entry that is not `extern_learn` (ours) nor local or static. Added
    /// entries of this kind are the source of EVPN type-2 MAC routes, removed ones withdraw
    /// them (aged out or flushed).
    pub fn is_local_learning(&self) -> bool {
        self.flags.master
            && !self.flags.extern_learn
            && matches!(self.state, NeighState::Reachable | NeighState::Stale)
    }

    /// Whether this is a local entry (the bridge's or a port's own MAC, `permanent`).
    pub fn is_local(&self) -> bool {
        self.state == NeighState::Permanent
    }

    /// Whether this is a `static` entry.
    pub fn is_static(&self) -> bool {
        self.state == NeighState::Noarp
    }
}

/// A neighbour (ARP/ND) entry added, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighEvent {
    /// Added or changed (`true`), or removed.
    pub added: bool,
    /// The link (for EVPN: the bridge / SVI of the VNI).
    pub link: LinkRef,
    /// IP address.
    pub ip: IpAddr,
    /// MAC address (none while incomplete or failed).
    pub mac: Option<MacAddr>,
    /// State.
    pub state: NeighState,
    /// `extern_learn` (`NTF_EXT_LEARNED`): written by a control plane.
    pub extern_learn: bool,
    /// `managed` (`NTF_EXT_MANAGED` in `NDA_FLAGS_EXT`, kernel ≥ 5.16): the kernel keeps the
    /// entry and re-probes it periodically ([`crate::model::Neigh::managed`]). Not
    /// `extern_learn`: its state and MAC are the kernel's, so it is still a local binding.
    pub managed: bool,
    /// The neighbour is a router (`NTF_ROUTER`, IPv6).
    pub router: bool,
    /// `NDA_PROTOCOL`, when set.
    pub protocol: Option<u8>,
}

impl NeighEvent {
    /// Whether the entry carries our mark (`extern_learn` or `managed`, and `NDA_PROTOCOL` =
    /// `protocol`). Our managed entries are still local bindings ([`Self::is_local_binding`]).
    pub fn is_ours(&self, protocol: u8) -> bool {
        (self.extern_learn || self.managed) && self.protocol == Some(protocol)
    }

    /// Whether the entry is a usable MAC/IP binding learned locally: it has a MAC, is not
    /// a control plane's (`extern_learn`), and is not incomplete or failed. A managed entry
    /// (ours or not) counts: the kernel resolved it from the host's own replies.
    pub fn is_local_binding(&self) -> bool {
        self.mac.is_some()
            && !self.extern_learn
            && !matches!(
                self.state,
                NeighState::Incomplete | NeighState::Failed | NeighState::None
            )
    }
}

/// A route added, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEvent {
    /// Added or changed (`true`), or removed.
    pub added: bool,
    /// Routing table id.
    pub table: u32,
    /// Destination prefix.
    pub dst: IpNet,
    /// `rtm_protocol` (2 kernel, 3 boot, 4 static, 186–197 FRR…).
    pub protocol: u8,
    /// Route type, `None` for types the model has no name for (local, broadcast, prohibit…).
    pub kind: Option<RouteKind>,
    /// Metric (`RTA_PRIORITY`).
    pub metric: Option<u32>,
    /// Next hops (device names from the name cache, or the index as a string when unknown).
    pub next_hops: Vec<NextHop>,
}

/// Watches one network namespace; events are read with [`Watcher::recv`]. Dropping it stops
/// the reading task.
#[derive(Debug)]
pub struct Watcher {
    rx: mpsc::Receiver<DataplaneEvent>,
    task: Option<JoinHandle<Result<(), WatchError>>>,
}

impl Watcher {
    /// Watches the calling thread's network namespace with the default configuration. Must be
    /// called inside a tokio runtime with I/O enabled (the reading task is spawned on it).
    pub fn new() -> Result<Self, WatchError> {
        Self::with_config(WatchConfig::default())
    }

    /// Like [`Watcher::new`] with an explicit configuration.
    pub fn with_config(config: WatchConfig) -> Result<Self, WatchError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(WatchError::NoRuntime);
        }
        let events = open_socket(GROUPS, config.recv_buffer).map_err(|source| WatchError::Io {
            what: "open notification socket",
            source,
        })?;
        // A second socket for link dumps (name cache), opened here so it is in the same
        // namespace; a dump on the subscribed socket would interleave with notifications.
        let dump = open_socket(0, 0).map_err(|source| WatchError::Io {
            what: "open dump socket",
            source,
        })?;
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let reader = Reader {
            events,
            dump: Dumper::new(dump),
            config,
            names: BTreeMap::new(),
            buf: vec![0; READ_BUFFER],
        };
        let task = tokio::spawn(reader.run(tx));
        Ok(Watcher {
            rx,
            task: Some(task),
        })
    }

    /// The next event. An error means the watcher has stopped: the first call after that
    /// returns the error that stopped it, later calls [`WatchError::Stopped`]. Cancel-safe
    /// (usable in `tokio::select!`): no event is lost if the future is dropped.
    pub async fn recv(&mut self) -> Result<DataplaneEvent, WatchError> {
        if let Some(ev) = self.rx.recv().await {
            return Ok(ev);
        }
        let Some(task) = self.task.as_mut() else {
            return Err(WatchError::Stopped);
        };
        let result = task.await;
        self.task = None;
        match result {
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) | Err(_) => Err(WatchError::Stopped),
        }
    }

    /// An event if one is ready now, without waiting.
    pub fn try_recv(&mut self) -> Option<DataplaneEvent> {
        self.rx.try_recv().ok()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Opens a non-blocking `NETLINK_ROUTE` socket in the calling thread's namespace, bound to the
/// `groups` bitmask, with a receive buffer of `rcvbuf` bytes (0: the default).
fn open_socket(groups: u32, rcvbuf: usize) -> io::Result<AsyncFd<OwnedFd>> {
    let fd = socket(
        SockFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::NetlinkRoute,
    )?;
    if rcvbuf > 0 && setsockopt(&fd, sockopt::RcvBufForce, &rcvbuf).is_err() {
        // Without CAP_NET_ADMIN: as much as net.core.rmem_max allows.
        setsockopt(&fd, sockopt::RcvBuf, &rcvbuf)?;
    }
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
    // tokio 1.54 deprecates `AsyncFd::new` for inner types whose `as_raw_fd` could change or
    // close behind its back, in favour of the `unsafe` `register` (the workspace denies
    // `unsafe`). An `OwnedFd` upholds that contract: it owns the descriptor, keeps it open
    // and always returns the same one until the `AsyncFd` drops it.
    #[allow(deprecated)]
    AsyncFd::new(fd)
}

/// Reads one datagram into `buf`; returns its full length (larger than `buf` if truncated).
async fn recv_async(fd: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> io::Result<usize> {
    recv_async_with(fd, buf, MsgFlags::MSG_TRUNC).await
}

/// [`recv_async`] with explicit `recv(2)` flags (`MSG_PEEK` to size the buffer first).
async fn recv_async_with(
    fd: &AsyncFd<OwnedFd>,
    buf: &mut [u8],
    flags: MsgFlags,
) -> io::Result<usize> {
    loop {
        let mut guard = fd.readable().await?;
        match guard.try_io(|inner| recv(inner.as_raw_fd(), buf, flags).map_err(io::Error::from)) {
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

/// Splits a datagram into netlink messages (type and bytes of each).
fn split_messages(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while let Some(hdr) = data.get(..NLMSG_HDRLEN) {
        let (Some(len), Some(kind)) = (
            hdr.get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(|b| u32::from_ne_bytes(b) as usize),
            hdr.get(4..6)
                .and_then(|b| <[u8; 2]>::try_from(b).ok())
                .map(u16::from_ne_bytes),
        ) else {
            break;
        };
        let Some(msg) = data.get(..len).filter(|_| len >= NLMSG_HDRLEN) else {
            break;
        };
        out.push((kind, msg));
        data = data.get(len.saturating_add(3) & !3..).unwrap_or_default();
    }
    out
}

/// A link by index, named from `names`.
fn link_ref(names: &BTreeMap<u32, String>, index: u32) -> LinkRef {
    LinkRef {
        index,
        name: names.get(&index).cloned(),
    }
}

/// The answers of one dump.
#[derive(Debug)]
struct Dumped {
    messages: Vec<RouteNetlinkMessage>,
    /// No answer carried `NLM_F_DUMP_INTR` (the kernel's table did not change meanwhile).
    consistent: bool,
    /// Answers that could not be decoded (skipped).
    undecodable: usize,
}

/// A `NETLINK_ROUTE` socket for dump requests (bound to no group, so nothing but the answers
/// arrives on it), one dump at a time.
#[derive(Debug)]
struct Dumper {
    fd: AsyncFd<OwnedFd>,
    seq: u32,
    buf: Vec<u8>,
}

impl Dumper {
    fn new(fd: AsyncFd<OwnedFd>) -> Self {
        Dumper {
            fd,
            seq: 0,
            buf: vec![0; READ_BUFFER],
        }
    }

    /// Sends the dump request `req` and collects its answers until `NLMSG_DONE`.
    async fn dump(
        &mut self,
        req: RouteNetlinkMessage,
        what: &'static str,
    ) -> Result<Dumped, WatchError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut msg = NetlinkMessage::from(req);
        msg.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        msg.header.sequence_number = seq;
        msg.finalize();
        let mut out = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut out);
        sendto(
            self.fd.as_raw_fd(),
            &out,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .map_err(|e| WatchError::Io {
            what: "send dump request",
            source: io::Error::from(e),
        })?;
        let mut dumped = Dumped {
            messages: Vec::new(),
            consistent: true,
            undecodable: 0,
        };
        loop {
            let n = self.recv_whole(what).await?;
            for (_, bytes) in split_messages(self.buf.get(..n).unwrap_or_default()) {
                // The sequence number is read from the raw header, so that an undecodable
                // answer of an older request is not counted against this one.
                let msg_seq = bytes
                    .get(8..12)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_ne_bytes);
                if msg_seq != Some(seq) {
                    continue;
                }
                let msg = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes) {
                    Ok(m) => m,
                    Err(e) => {
                        warn!(dump = what, error = %e, "undecodable dump answer");
                        dumped.undecodable += 1;
                        continue;
                    }
                };
                dumped.consistent &= msg.header.flags & NLM_F_DUMP_INTR == 0;
                match msg.payload {
                    NetlinkPayload::Done(d) if d.code != 0 => {
                        return Err(WatchError::Dump {
                            what,
                            errno: d.code.saturating_abs(),
                        })
                    }
                    NetlinkPayload::Done(_) => return Ok(dumped),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            Some(code) => Err(WatchError::Dump {
                                what,
                                errno: code.get().saturating_abs(),
                            }),
                            None => Ok(dumped),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => dumped.messages.push(m),
                    _ => {}
                }
            }
        }
    }

    /// Reads one whole datagram into `self.buf`, growing it first when the datagram is larger
    /// (sized with `MSG_PEEK`, so nothing of a dump is lost to truncation); returns its length.
    async fn recv_whole(&mut self, what: &'static str) -> Result<usize, WatchError> {
        let io_err = |source| WatchError::Io {
            what: "read dump",
            source,
        };
        loop {
            let n = recv_async_with(
                &self.fd,
                &mut self.buf,
                MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
            )
            .await
            .map_err(io_err)?;
            if n > self.buf.len() {
                if n > MAX_READ_BUFFER {
                    return Err(WatchError::TooLarge { what, size: n });
                }
                self.buf.resize(n, 0);
                continue;
            }
            match recv(
                self.fd.as_raw_fd(),
                &mut self.buf,
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
            ) {
                Ok(m) if m <= self.buf.len() => return Ok(m),
                Ok(m) => return Err(WatchError::TooLarge { what, size: m }),
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(io_err(io::Error::from(e))),
            }
        }
    }

    /// Interface names by index, from a link dump (undecodable answers are skipped: a link
    /// without a name is reported by index).
    async fn link_names(&mut self) -> Result<BTreeMap<u32, String>, WatchError> {
        let dumped = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()), "link")
            .await?;
        let names: BTreeMap<u32, String> = dumped
            .messages
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => link_name(l).map(|n| (l.header.index, n)),
                _ => None,
            })
            .collect();
        debug!(
            links = names.len(),
            consistent = dumped.consistent,
            undecodable = dumped.undecodable,
            "link names refreshed"
        );
        Ok(names)
    }

    /// A dump that must be complete: retried while the kernel marks it interrupted, an
    /// undecodable answer is an error.
    async fn dump_complete(
        &mut self,
        req: RouteNetlinkMessage,
        what: &'static str,
    ) -> Result<Vec<RouteNetlinkMessage>, WatchError> {
        for attempt in 1..=DUMP_ATTEMPTS {
            let dumped = self.dump(req.clone(), what).await?;
            if dumped.undecodable > 0 {
                return Err(WatchError::Malformed { what });
            }
            if dumped.consistent {
                return Ok(dumped.messages);
            }
            debug!(
                dump = what,
                attempt, "dump interrupted by a change, read again"
            );
        }
        Err(WatchError::Inconsistent {
            what,
            attempts: DUMP_ATTEMPTS,
        })
    }
}

/// How many times [`Dumper::dump_complete`] reads a dump the kernel marks interrupted.
const DUMP_ATTEMPTS: u32 = 4;

/// Reads the bridge FDB and the IPv4/IPv6 neighbour tables of the calling thread's network
/// namespace (the thread that first polls the future), as the "present" events ([`DataplaneEvent::Fdb`] and [`DataplaneEvent::Neigh`]
/// with `added: true`) a [`Watcher`] would have produced had it seen every entry being
/// created: the same conversion classifies them, so [`FdbEvent::is_local_learning`],
/// [`FdbEvent::is_static`], [`FdbEvent::is_local`], `extern_learn` and
/// [`NeighEvent::is_local_binding`] mean the same on both paths.
///
/// This is the re-read the [`DataplaneEvent::Overrun`] contract asks for (and the state to
/// start from): create the [`Watcher`] first, then take the snapshot, then apply the watcher's
/// events that follow (see the module docs for why that order converges).
///
/// `links`: when given, only entries concerning these interfaces are returned (FDB entries
/// whose bridge or device, neighbours whose link, is named in the set; e.g. the L2VNI
/// bridges). Entries whose link the namespace no longer knows by name are returned with a
/// [`LinkRef`] without a name (and are dropped by a `links` filter).
///
/// Four dumps on a socket of its own (bridge FDB, IPv4 and IPv6 neighbours, then the links
/// that name them), read asynchronously: the runtime is not blocked. A dump the kernel marks
/// interrupted (`NLM_F_DUMP_INTR`) is read again; a dump answer that cannot be decoded is an
/// error ([`WatchError::Malformed`]), never a silently missing entry. Must be called inside a
/// tokio runtime with I/O enabled.
pub async fn snapshot(links: Option<&BTreeSet<String>>) -> Result<Vec<DataplaneEvent>, WatchError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(WatchError::NoRuntime);
    }
    // Opened before the first await: the socket belongs to the namespace of the thread that
    // first polls this future, whichever thread polls the rest.
    let fd = open_socket(0, 0).map_err(|source| WatchError::Io {
        what: "open dump socket",
        source,
    })?;
    let mut dumper = Dumper::new(fd);
    let mut messages = Vec::new();
    for (family, what) in [
        (AddressFamily::Bridge, "bridge fdb"),
        (AddressFamily::Inet, "ipv4 neighbour"),
        (AddressFamily::Inet6, "ipv6 neighbour"),
    ] {
        let mut req = NeighbourMessage::default();
        req.header.family = family;
        messages.extend(
            dumper
                .dump_complete(RouteNetlinkMessage::GetNeighbour(req), what)
                .await?,
        );
    }
    // The links after the entries: every link an entry points to existed when the entry was
    // read, so only links deleted since then (whose removal the watcher reports) lack a name.
    let names = dumper.link_names().await?;
    let wanted =
        |l: &LinkRef| links.is_none_or(|set| l.name.as_ref().is_some_and(|n| set.contains(n)));
    let (mut fdb, mut neigh) = (0usize, 0usize);
    let mut out = Vec::with_capacity(messages.len());
    for m in &messages {
        let RouteNetlinkMessage::NewNeighbour(n) = m else {
            continue;
        };
        let Some(ev) = neigh_event(&names, n, true) else {
            continue;
        };
        let keep = match &ev {
            DataplaneEvent::Fdb(f) => {
                let keep = wanted(&f.dev) || f.bridge.as_ref().is_some_and(wanted);
                fdb += usize::from(keep);
                keep
            }
            DataplaneEvent::Neigh(e) => {
                let keep = wanted(&e.link);
                neigh += usize::from(keep);
                keep
            }
            _ => false,
        };
        if keep {
            out.push(ev);
        }
    }
    debug!(
        fdb,
        neighbours = neigh,
        answers = messages.len(),
        filtered = links.is_some(),
        "bridge FDB and neighbour tables read"
    );
    Ok(out)
}

/// The reading task's state.
struct Reader {
    events: AsyncFd<OwnedFd>,
    /// The link dumps of the name cache.
    dump: Dumper,
    config: WatchConfig,
    /// Interface names by index.
    names: BTreeMap<u32, String>,
    buf: Vec<u8>,
}

impl Reader {
    async fn run(mut self, tx: mpsc::Sender<DataplaneEvent>) -> Result<(), WatchError> {
        self.refresh_names().await?;
        loop {
            let n = match recv_async(&self.events, &mut self.buf).await {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    let discarded = self.discard_queued()?;
                    warn!(
                        reason = "kernel buffer",
                        discarded, "netlink notifications lost, consumer must resync"
                    );
                    self.refresh_names().await?;
                    if tx
                        .send(DataplaneEvent::Overrun(OverrunReason::KernelBuffer))
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                    continue;
                }
                Err(source) => {
                    return Err(WatchError::Io {
                        what: "read notifications",
                        source,
                    })
                }
            };
            let events = if n > self.buf.len() {
                warn!(
                    reason = "truncated",
                    size = n,
                    "netlink notification larger than the read buffer, consumer must resync"
                );
                let size = n.min(MAX_READ_BUFFER).max(self.buf.len());
                self.buf.resize(size, 0);
                self.refresh_names().await?;
                vec![DataplaneEvent::Overrun(OverrunReason::Truncated)]
            } else {
                let buf = std::mem::take(&mut self.buf);
                let events = self.decode(buf.get(..n).unwrap_or_default());
                self.buf = buf;
                events
            };
            for ev in events {
                debug!(event = ?ev, "dataplane event");
                if tx.send(ev).await.is_err() {
                    debug!("event receiver dropped, watcher stops");
                    return Ok(());
                }
            }
        }
    }

    /// Reads and drops everything queued in the notification socket (all of it is older than
    /// the loss just reported); returns how many datagrams were dropped.
    fn discard_queued(&mut self) -> Result<u64, WatchError> {
        let mut discarded = 0u64;
        loop {
            match recv(
                self.events.as_raw_fd(),
                &mut self.buf,
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
            ) {
                Ok(_) => discarded += 1,
                Err(nix::errno::Errno::EAGAIN) => return Ok(discarded),
                Err(nix::errno::Errno::ENOBUFS | nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    return Err(WatchError::Io {
                        what: "discard notifications",
                        source: io::Error::from(e),
                    })
                }
            }
        }
    }

    /// Refills the name cache from a link dump.
    async fn refresh_names(&mut self) -> Result<(), WatchError> {
        self.names = self.dump.link_names().await?;
        Ok(())
    }

    fn link_ref(&self, index: u32) -> LinkRef {
        link_ref(&self.names, index)
    }

    /// Events of one datagram.
    fn decode(&mut self, data: &[u8]) -> Vec<DataplaneEvent> {
        let mut out = Vec::new();
        let mut malformed = false;
        for (kind, bytes) in split_messages(data) {
            if !matches!(
                kind,
                RTM_NEWLINK
                    | RTM_DELLINK
                    | RTM_NEWADDR
                    | RTM_DELADDR
                    | RTM_NEWROUTE
                    | RTM_DELROUTE
                    | RTM_NEWNEIGH
                    | RTM_DELNEIGH
            ) {
                debug!(kind, "ignored netlink message");
                continue;
            }
            let msg = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes) {
                Ok(m) => m,
                Err(e) => {
                    warn!(kind, error = %e, "undecodable netlink notification, consumer must resync");
                    malformed = true;
                    continue;
                }
            };
            let NetlinkPayload::InnerMessage(msg) = msg.payload else {
                continue;
            };
            if let Some(ev) = self.event(msg) {
                out.push(ev);
            }
        }
        if malformed {
            out.push(DataplaneEvent::Overrun(OverrunReason::Malformed));
        }
        out
    }

    /// The event of one notification, if it is reported.
    fn event(&mut self, msg: RouteNetlinkMessage) -> Option<DataplaneEvent> {
        match msg {
            RouteNetlinkMessage::NewLink(l) => self.link_event(&l),
            RouteNetlinkMessage::DelLink(l) => {
                // AF_BRIDGE RTM_DELLINK means "port left the bridge", not "link deleted".
                if l.header.interface_family != AddressFamily::Unspec {
                    return None;
                }
                let name = link_name(&l).or_else(|| self.names.get(&l.header.index).cloned());
                self.names.remove(&l.header.index);
                Some(DataplaneEvent::LinkRemoved(LinkRef {
                    index: l.header.index,
                    name,
                }))
            }
            RouteNetlinkMessage::NewAddress(a) => self.address_event(&a, true),
            RouteNetlinkMessage::DelAddress(a) => self.address_event(&a, false),
            RouteNetlinkMessage::NewRoute(r) => self.route_event(&r, true),
            RouteNetlinkMessage::DelRoute(r) => self.route_event(&r, false),
            RouteNetlinkMessage::NewNeighbour(n) => neigh_event(&self.names, &n, true),
            RouteNetlinkMessage::DelNeighbour(n) => neigh_event(&self.names, &n, false),
            _ => None,
        }
    }

    fn link_event(&mut self, l: &LinkMessage) -> Option<DataplaneEvent> {
        // AF_BRIDGE RTM_NEWLINK are bridge port state notifications, not link changes.
        if l.header.interface_family != AddressFamily::Unspec {
            return None;
        }
        let index = l.header.index;
        if let Some(name) = link_name(l) {
            self.names.insert(index, name);
        }
        let mut ev = LinkEvent {
            link: self.link_ref(index),
            kind: None,
            up: l.header.flags.contains(LinkFlags::Up),
            lower_up: l.header.flags.contains(LinkFlags::LowerUp),
            mtu: None,
            mac: None,
            master: None,
        };
        for a in &l.attributes {
            match a {
                LinkAttribute::Mtu(m) => ev.mtu = Some(*m),
                LinkAttribute::Address(mac) => ev.mac = MacAddr::from_slice(mac),
                LinkAttribute::Controller(i) if *i != 0 => ev.master = Some(self.link_ref(*i)),
                LinkAttribute::LinkInfo(infos) => {
                    ev.kind = infos.iter().find_map(|i| match i {
                        LinkInfo::Kind(k) => Some(k.to_string()),
                        _ => None,
                    });
                }
                _ => {}
            }
        }
        Some(DataplaneEvent::Link(ev))
    }

    fn address_event(&self, a: &AddressMessage, added: bool) -> Option<DataplaneEvent> {
        let mut local = None;
        let mut address = None;
        let mut protocol = None;
        for attr in &a.attributes {
            match attr {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                AddressAttribute::Protocol(p) => protocol = Some(u8::from(*p)),
                _ => {}
            }
        }
        // IFA_LOCAL is the interface's address; IFA_ADDRESS the peer on point-to-point links.
        let ip = local.or(address)?;
        let addr = IpNet::new(ip, a.header.prefix_len).ok()?;
        Some(DataplaneEvent::Address(AddressEvent {
            added,
            link: self.link_ref(a.header.index),
            addr,
            protocol,
        }))
    }

    fn route_event(&self, r: &RouteMessage, added: bool) -> Option<DataplaneEvent> {
        if r.header.flags.contains(RouteFlags::Cloned) {
            return None; // route cache clones (IPv6 exceptions), not routes
        }
        let protocol = u8::from(r.header.protocol);
        if protocol == self.config.protocol && !self.config.include_own_routes {
            return None;
        }
        let table = r
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(r.header.table));
        if let Some(tables) = &self.config.route_tables {
            if !tables.contains(&table) {
                return None;
            }
        }
        let zero = match r.header.address_family {
            AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => return None,
        };
        let dst_ip = r
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Destination(d) => route_ip(d),
                _ => None,
            })
            .unwrap_or(zero);
        let dst = IpNet::new(dst_ip, r.header.destination_prefix_length).ok()?;
        let kind = match r.header.kind {
            RouteType::Unicast => Some(RouteKind::Unicast),
            RouteType::BlackHole => Some(RouteKind::Blackhole),
            RouteType::Unreachable => Some(RouteKind::Unreachable),
            _ => None,
        };
        let name = |i: u32| self.link_ref(i).to_string();
        let mut next_hops = Vec::new();
        let multipath = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::MultiPath(m) => Some(m),
            _ => None,
        });
        if let Some(m) = multipath {
            for h in m {
                next_hops.push(NextHop {
                    via: gateway(&h.attributes),
                    dev: (h.interface_index != 0).then(|| name(h.interface_index)),
                    onlink: h.flags.contains(RouteNextHopFlags::Onlink),
                });
            }
        } else {
            let oif = r.attributes.iter().find_map(|a| match a {
                RouteAttribute::Oif(i) => Some(*i),
                _ => None,
            });
            let via = gateway(&r.attributes);
            if via.is_some() || oif.is_some() {
                next_hops.push(NextHop {
                    via,
                    dev: oif.map(name),
                    onlink: r.header.flags.contains(RouteFlags::Onlink),
                });
            }
        }
        let metric = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        });
        Some(DataplaneEvent::Route(RouteEvent {
            added,
            table,
            dst,
            protocol,
            kind,
            metric,
            next_hops,
        }))
    }
}

/// The event of a neighbour message (a notification, or an answer of a [`snapshot`] dump, so
/// that both classify an entry identically): [`DataplaneEvent::Fdb`] for `AF_BRIDGE`,
/// [`DataplaneEvent::Neigh`] for IPv4/IPv6; `None` for other families or an entry without the
/// MAC (FDB) or address (ARP/ND) that identifies it.
fn neigh_event(
    names: &BTreeMap<u32, String>,
    n: &NeighbourMessage,
    added: bool,
) -> Option<DataplaneEvent> {
    let mac = n.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(m) => MacAddr::from_slice(m),
        _ => None,
    });
    let dst = neigh_dst(&n.attributes);
    let protocol = n.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Protocol(p) => Some(u8::from(*p)),
        _ => None,
    });
    let flags = n.header.flags;
    match n.header.family {
        AddressFamily::Bridge => {
            let bridge = n.attributes.iter().find_map(|a| match a {
                NeighbourAttribute::Controller(i) if *i != 0 => Some(link_ref(names, *i)),
                _ => None,
            });
            let mut ev = FdbEvent {
                added,
                dev: link_ref(names, n.header.ifindex),
                flags: FdbFlags {
                    master: bridge.is_some() || flags.contains(NeighbourFlags::Controller),
                    self_: flags.contains(NeighbourFlags::Own),
                    extern_learn: flags.contains(NeighbourFlags::ExtLearned),
                    sticky: flags.contains(NeighbourFlags::Sticky),
                    offloaded: flags.contains(NeighbourFlags::Offloaded),
                },
                bridge,
                mac: mac?,
                vlan: None,
                dst,
                vni: None,
                state: n.header.state.into(),
            };
            for a in &n.attributes {
                match a {
                    NeighbourAttribute::Vlan(v) if *v != 0 => ev.vlan = Some(*v),
                    NeighbourAttribute::Vni(v) => ev.vni = Some(*v),
                    _ => {}
                }
            }
            Some(DataplaneEvent::Fdb(ev))
        }
        AddressFamily::Inet | AddressFamily::Inet6 => Some(DataplaneEvent::Neigh(NeighEvent {
            added,
            link: link_ref(names, n.header.ifindex),
            ip: dst?,
            mac,
            state: n.header.state.into(),
            extern_learn: flags.contains(NeighbourFlags::ExtLearned),
            managed: neigh_managed(&n.attributes),
            router: flags.contains(NeighbourFlags::Router),
            protocol,
        })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, kind: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&len.to_ne_bytes());
        h.extend_from_slice(&kind.to_ne_bytes());
        h.extend_from_slice(&[0; 10]);
        h
    }

    #[test]
    fn splits_aligned_messages_and_stops_at_garbage() {
        let mut data = header(18, RTM_NEWLINK);
        data.extend_from_slice(&[1, 2, 0, 0]); // 2 payload bytes + 2 padding
        data.extend(header(16, RTM_DELLINK));
        data.extend(header(400, RTM_NEWADDR)); // claims more than there is
        let msgs = split_messages(&data);
        let kinds: Vec<u16> = msgs.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec![RTM_NEWLINK, RTM_DELLINK]);
        assert_eq!(msgs.first().map(|(_, b)| b.len()), Some(18));
        assert!(split_messages(&header(3, RTM_NEWLINK)).is_empty());
    }

    #[test]
    fn a_watcher_needs_a_runtime() {
        assert!(matches!(Watcher::new(), Err(WatchError::NoRuntime)));
    }

    #[test]
    fn combined_states_map_to_the_strongest() {
        assert_eq!(
            NeighState::from(NeighbourState::Other(0xc0)),
            NeighState::Permanent
        );
        assert_eq!(NeighState::from(NeighbourState::Noarp), NeighState::Noarp);
        assert_eq!(NeighState::from(NeighbourState::Stale), NeighState::Stale);
        assert_eq!(NeighState::from(NeighbourState::None), NeighState::None);
        assert_eq!(
            NeighState::from(NeighbourState::Other(0x100)),
            NeighState::Other(0x100)
        );
    }

    #[test]
    fn local_learning_excludes_ours_local_and_static() {
        let mut ev = FdbEvent {
            added: true,
            dev: LinkRef {
                index: 3,
                name: Some("pe-port".into()),
            },
            bridge: Some(LinkRef {
                index: 2,
                name: Some("br-pe-200".into()),
            }),
            mac: MacAddr([2, 0, 0, 0, 0xc8, 2]),
            vlan: None,
            dst: None,
            vni: None,
            state: NeighState::Reachable,
            flags: FdbFlags {
                master: true,
                ..FdbFlags::default()
            },
        };
        assert!(ev.is_local_learning());
        ev.state = NeighState::Stale;
        assert!(ev.is_local_learning());
        ev.flags.extern_learn = true;
        assert!(!ev.is_local_learning());
        ev.flags.extern_learn = false;
        ev.state = NeighState::Permanent;
        assert!(!ev.is_local_learning() && ev.is_local());
        ev.state = NeighState::Noarp;
        assert!(!ev.is_local_learning() && ev.is_static());
        ev.state = NeighState::Reachable;
        ev.flags.master = false;
        ev.flags.self_ = true;
        assert!(!ev.is_local_learning());
    }
}
