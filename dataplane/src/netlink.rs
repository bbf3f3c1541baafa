//! The kernel [`Dataplane`]: rtnetlink in the network namespace of the thread that created it.
//!
//! Each [`Dataplane::apply`] dumps links, addresses, routes, neighbours and FDB entries, computes the [`plan`] and sends
//! one netlink request per operation. Nothing that already matches is written, so applying the
//! same state twice, or from a fresh instance after a restart, makes zero writes.
//!
//! Link and address operations go one at a time through rtnetlink (each awaits its ACK: later
//! operations need the interface index it creates). Runs of consecutive route, neighbour and
//! FDB operations are batched on a second, raw `NETLINK_ROUTE` socket: up to
//! [`BATCH_BYTES`] of requests per `sendmsg`, `NLM_F_ACK` only on the last request of a batch.
//! The kernel handles the requests of one `sendmsg` in order and answers only failures (each
//! naming its request by sequence number) and then the final ACK, so one batch costs one
//! send and one or two receives, and the semantics are those of sending the requests one by
//! one. Batches are written from tokio's blocking pool one at a time, so the next batch is
//! encoded while the kernel works on the last. The first failure (in plan order) is reported
//! with its object and errno (benign errnos of deletes excepted), and no further batch is
//! sent; requests after it in the same batch have been handled by the kernel. Route adds keep
//! `NLM_F_EXCL` (a foreign route with the same key fails with `EEXIST` instead of being
//! overwritten); changed routes, neighbours and unicast FDB entries use
//! `NLM_F_CREATE|NLM_F_REPLACE`.
//!
//! Ownership marks (see the crate docs): links by `IFLA_GROUP`, addresses by `IFA_PROTO`,
//! routes by `rtm_protocol`, neighbours by `NTF_EXT_LEARNED` (or `NTF_EXT_MANAGED`) +
//! `NDA_PROTOCOL`, unicast FDB
//! entries (VXLAN devices' and bridges') by `NTF_EXT_LEARNED`, flood-list entries by being
//! `permanent` on an owned VXLAN device; only marked objects are ever deleted.
//!
//! Neighbours are written as zebra writes EVPN neighbours: `NUD_NOARP` + `NTF_EXT_LEARNED`
//! (never probed, never garbage-collected); managed ones ([`Neigh::managed`]) as
//! `ip neigh replace <ip> dev <link> managed` writes them: `NUD_NONE`, no MAC,
//! `NTF_EXT_MANAGED` in `NDA_FLAGS_EXT`, plus our `NDA_PROTOCOL` (their ownership mark, with
//! the managed flag instead of `NTF_EXT_LEARNED`). Deleting a managed entry of ours that has
//! a MAC releases it instead (`nud stale`, same MAC, no managed flag: the kernel's learned
//! entry again, no longer ours); one without (incomplete, failed) is deleted. On a kernel without the
//! `interval_probe_time_ms` neighbour sysctl (< 6.0, [`managed_neighbours_supported`]) they
//! and that sysctl are left out of the desired state ([`without_managed_neighbours`]). Unicast FDB entries as zebra writes remote MACs:
//! `NTF_SELF` + `NTF_EXT_LEARNED`, `NUD_REACHABLE` (ext-learned entries do not age), with
//! `NLM_F_REPLACE` so a changed VTEP is one write. Flood-list entries (zero MAC) are
//! `NTF_SELF`, `NUD_PERMANENT`, written with `NLM_F_APPEND` (one remote per write), as
//! `bridge fdb append` and zebra's type-3 handling do. Bridge entries (`Fdb::bridge`) are
//! written as zebra writes the bridge side of a remote MAC: `NTF_MASTER` + `NTF_EXT_LEARNED`,
//! `NUD_REACHABLE`, on the port, with `NLM_F_CREATE|NLM_F_REPLACE` like the others. The kernel
//! handles them on its external-learning path, which ignores those flags: the write takes over
//! the bridge's learned entry of the MAC on another port (even a create with `NLM_F_EXCL`, as
//! `bridge fdb add` sends, does). The bridge's dump reports them with `NDA_MASTER` = the bridge
//! and `NTF_EXT_LEARNED`, without `NTF_MASTER`; they are read back on ports of bridges, VLAN 0
//! only.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use futures_util::StreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressProtocol,
};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoBridgePort, InfoData, InfoKind, InfoPortData,
    InfoPortKind, InfoVeth, InfoVrf, InfoVxlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourExtFlags, NeighbourFlags, NeighbourMessage,
    NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteLwEnCapType, RouteLwTunnelEncap, RouteMessage,
    RouteNextHop, RouteNextHopFlags, RouteProtocol, RouteScope, RouteSeg6IpTunnel,
    RouteSeg6LocalTunnel, RouteType, RouteVia, Seg6Header, Seg6LocalAction as NlSeg6LocalAction,
    Seg6Mode,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::sys::socket::{
    bind, recv, sendto, setsockopt, socket, sockopt, AddressFamily as SockFamily, MsgFlags,
    NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REPLACE, NLM_F_REQUEST,
};
use rtnetlink::Handle;
use tokio::task::JoinHandle;
use tracing::{debug, info};

use crate::error::DataplaneError;
use crate::model::{
    AddrGenMode, Address, BridgePort, DesiredState, Encap, Fdb, FdbTable, Link, LinkKind, MacAddr,
    Neigh, NextHop, ObservedLink, ObservedState, Route, RouteKind, Seg6LocalAction,
};
use crate::netns::NetnsHandle;
use crate::nlattr::{address_net, gateway, neigh_dst, neigh_mac, neigh_managed, route_ip};
use crate::plan::{plan, LinkChange, Op};
use crate::report::ApplyReport;
use crate::{Dataplane, OWNED_LINK_GROUP, RTPROT_PEROUTERD};

/// Ownership marks used by a [`NetlinkDataplane`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetlinkConfig {
    /// `rtm_protocol` of our routes and `IFA_PROTO` of our addresses.
    pub protocol: u8,
    /// `IFLA_GROUP` of our links.
    pub link_group: u32,
}

impl Default for NetlinkConfig {
    fn default() -> Self {
        NetlinkConfig {
            protocol: RTPROT_PEROUTERD,
            link_group: OWNED_LINK_GROUP,
        }
    }
}

/// Reconciles links, addresses and routes of one network namespace over rtnetlink.
#[derive(Debug)]
pub struct NetlinkDataplane {
    handle: Handle,
    config: NetlinkConfig,
    connection: JoinHandle<()>,
    /// Interface indexes by name, refreshed by every dump and every create.
    indexes: BTreeMap<String, u32>,
    /// Raw socket for batched route/neighbour/FDB writes.
    batch: BatchSocket,
    /// The namespace the sockets were opened in (sysctls are read and written from a thread
    /// inside it: `/proc/sys/net` shows the reading thread's namespace).
    netns: NetnsHandle,
}

/// Bytes of requests per batched `sendmsg` (the kernel's cost per route dominates above a few
/// kB; 64 kB keeps the ACK/error backlog of one batch well inside the receive buffer).
pub const BATCH_BYTES: usize = 64 * 1024;
/// At most this many requests per batch.
pub const BATCH_MESSAGES: usize = 1024;
/// Receive buffer asked for the batch socket (error answers of one batch must fit).
const BATCH_RCVBUF: usize = 8 << 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_HDRLEN: usize = 16;

/// A raw `NETLINK_ROUTE` socket bound in the creating thread's namespace (a socket keeps the
/// namespace it was opened in, whichever thread uses it). Batches are written from tokio's
/// blocking pool, one at a time: the next batch is encoded while the kernel handles the last.
#[derive(Debug)]
struct BatchSocket {
    fd: Arc<OwnedFd>,
    seq: u32,
}

impl BatchSocket {
    fn open() -> io::Result<Self> {
        let fd = socket(
            SockFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        if setsockopt(&fd, sockopt::RcvBufForce, &BATCH_RCVBUF).is_err() {
            // Without CAP_NET_ADMIN: as much as net.core.rmem_max allows.
            setsockopt(&fd, sockopt::RcvBuf, &BATCH_RCVBUF)?;
        }
        Ok(BatchSocket {
            fd: Arc::new(fd),
            seq: 0,
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }
}

/// Sends one batch (blocking) and reads the answers up to the ACK of `last_seq`; returns the
/// failures as (sequence number, errno).
fn write_batch(fd: &OwnedFd, buf: &[u8], last_seq: u32) -> io::Result<Vec<(u32, i32)>> {
    let n = sendto(
        fd.as_raw_fd(),
        buf,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )?;
    if n != buf.len() {
        return Err(io::Error::other(format!(
            "short netlink send: {n} of {} bytes",
            buf.len()
        )));
    }
    let mut failures = Vec::new();
    let mut rbuf = vec![0u8; 64 * 1024];
    loop {
        let n = recv(fd.as_raw_fd(), &mut rbuf, MsgFlags::empty())?;
        let mut data = rbuf.get(..n).unwrap_or_default();
        while data.len() >= NLMSG_HDRLEN {
            let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
            let kind = u16::from_ne_bytes([data[4], data[5]]);
            if len < NLMSG_HDRLEN || len > data.len() {
                break;
            }
            // NLMSG_ERROR: i32 error, then the request's header (its seq at +8).
            if kind == NLMSG_ERROR && len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN {
                let code = i32::from_ne_bytes([data[16], data[17], data[18], data[19]]);
                let seq = u32::from_ne_bytes([data[28], data[29], data[30], data[31]]);
                if code != 0 {
                    failures.push((seq, code.saturating_abs()));
                }
                if seq == last_seq {
                    return Ok(failures);
                }
            }
            let step = (len + 3) & !3;
            data = data.get(step..).unwrap_or_default();
        }
    }
}

/// Sends a dump request (blocking) and hands every answer of sequence `seq` to `each` until
/// `NLMSG_DONE`. Returns whether the dump is consistent (no answer carried
/// `NLM_F_DUMP_INTR`); an `NLMSG_ERROR` answer is returned as its errno.
fn dump_blocking(
    fd: &OwnedFd,
    req: &[u8],
    seq: u32,
    mut each: impl FnMut(&[u8]),
) -> io::Result<bool> {
    const NLMSG_DONE: u16 = 3;
    const NLM_F_DUMP_INTR: u16 = 0x10;
    sendto(
        fd.as_raw_fd(),
        req,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )?;
    let mut consistent = true;
    let mut rbuf = vec![0u8; 256 * 1024];
    loop {
        let n = recv(fd.as_raw_fd(), &mut rbuf, MsgFlags::empty())?;
        let mut data = rbuf.get(..n).unwrap_or_default();
        while let Some(hdr) = data.get(..NLMSG_HDRLEN) {
            let word = |at: usize| {
                hdr.get(at..at + 4)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map_or(0, u32::from_ne_bytes)
            };
            let len = word(0) as usize;
            let kind = (word(4) & 0xffff) as u16;
            let flags = (word(4) >> 16) as u16;
            let Some(msg) = data.get(..len).filter(|_| len >= NLMSG_HDRLEN) else {
                break;
            };
            if word(8) == seq {
                consistent &= flags & NLM_F_DUMP_INTR == 0;
                match kind {
                    NLMSG_DONE => return Ok(consistent),
                    NLMSG_ERROR => {
                        let code = msg
                            .get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4)
                            .and_then(|b| <[u8; 4]>::try_from(b).ok())
                            .map_or(0, i32::from_ne_bytes);
                        if code != 0 {
                            return Err(io::Error::from_raw_os_error(code.saturating_abs()));
                        }
                        return Ok(consistent);
                    }
                    _ => each(msg),
                }
            }
            data = data.get((len + 3) & !3..).unwrap_or_default();
        }
    }
}

/// A batch handed to the blocking pool: its requests (sequence number, index in the op run).
#[derive(Debug)]
struct InFlight {
    task: JoinHandle<io::Result<Vec<(u32, i32)>>>,
    sent: Vec<(u32, usize)>,
}

/// Whether `op` is written through the batch socket.
fn batchable(op: &Op) -> bool {
    matches!(
        op,
        Op::DeleteRoute(_)
            | Op::AddRoute(_)
            | Op::ReplaceRoute(_)
            | Op::DeleteNeigh(_)
            | Op::AddNeigh(_)
            | Op::ReplaceNeigh(_)
            | Op::DeleteFdb(_)
            | Op::AddFdb(_)
            | Op::ReplaceFdb(_)
    )
}

/// Operation name, object and benign errnos of a batchable op (computed only when needed).
fn describe(op: &Op) -> (&'static str, String, &'static [i32]) {
    const GONE: &[i32] = &[libc::ENOENT, libc::ESRCH];
    const GONE_DEV: &[i32] = &[libc::ENOENT, libc::ENODEV];
    let route = |r: &Route| format!("route {} table {}", r.dst, r.table);
    let neigh = |n: &Neigh| format!("neighbour {} on {}", n.ip, n.link);
    match op {
        Op::DeleteRoute(r) => ("delete route", route(r), GONE),
        Op::AddRoute(r) => ("add route", route(r), &[]),
        Op::ReplaceRoute(r) => ("replace route", route(r), &[]),
        Op::DeleteNeigh(n) => ("delete neighbour", neigh(n), GONE_DEV),
        Op::AddNeigh(n) => ("add neighbour", neigh(n), &[]),
        Op::ReplaceNeigh(n) => ("replace neighbour", neigh(n), &[]),
        Op::DeleteFdb(f) => ("delete fdb", fdb_object(f), GONE_DEV),
        Op::AddFdb(f) if f.is_flood() => ("append fdb", fdb_object(f), &[]),
        Op::AddFdb(f) => ("add fdb", fdb_object(f), &[]),
        Op::ReplaceFdb(f) => ("replace fdb", fdb_object(f), &[]),
        _ => ("write", String::new(), &[]),
    }
}

/// One batch being filled: the encoded requests and, per request, the op index it came from.
#[derive(Debug, Default)]
struct Batch {
    buf: Vec<u8>,
    /// (sequence number, index into the op run)
    sent: Vec<(u32, usize)>,
    last_offset: usize,
}

impl Drop for NetlinkDataplane {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// `/proc/sys/<key>`; empty, `.` and `..` components are dropped, so a key cannot name a file
/// outside `/proc/sys`.
fn sysctl_path(key: &str) -> std::path::PathBuf {
    let mut p = std::path::PathBuf::from("/proc/sys");
    for part in key
        .split('/')
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
    {
        p.push(part);
    }
    p
}

impl NetlinkDataplane {
    /// Opens a netlink socket in the calling thread's network namespace with the default marks.
    /// Must be called inside a tokio runtime (the connection task is spawned on it).
    pub fn new() -> Result<Self, DataplaneError> {
        Self::with_config(NetlinkConfig::default())
    }

    /// Like [`NetlinkDataplane::new`] with explicit ownership marks.
    pub fn with_config(config: NetlinkConfig) -> Result<Self, DataplaneError> {
        let (conn, handle, _messages) =
            rtnetlink::new_connection().map_err(|source| DataplaneError::Io {
                what: "open rtnetlink socket".into(),
                source,
            })?;
        let batch = BatchSocket::open().map_err(|source| DataplaneError::Io {
            what: "open batch netlink socket".into(),
            source,
        })?;
        let netns = NetnsHandle::current()?;
        let connection = tokio::spawn(conn);
        Ok(NetlinkDataplane {
            handle,
            config,
            connection,
            indexes: BTreeMap::new(),
            batch,
            netns,
        })
    }

    /// Every VRF device of the namespace, ours or not, with its table (the input of
    /// [`crate::layout::allocate_vrf_tables`]).
    pub async fn vrf_tables(&mut self) -> Result<BTreeMap<String, u32>, DataplaneError> {
        Ok(self
            .observe_links()
            .await?
            .into_iter()
            .filter_map(|(name, l)| match l.link.kind {
                LinkKind::Vrf { table } => Some((name, table)),
                _ => None,
            })
            .collect())
    }

    /// The MTU of every link of the namespace, by name (one link dump): the underlay NICs'
    /// MTU sizes the host veths (reference §2.5).
    pub async fn link_mtus(&mut self) -> Result<BTreeMap<String, u32>, DataplaneError> {
        Ok(self
            .observe_links()
            .await?
            .into_iter()
            .filter_map(|(name, l)| l.link.mtu.map(|m| (name, m)))
            .collect())
    }

    /// Current values of `keys` (missing ones are left out: a per-device key whose device
    /// does not exist yet reads as absent, and is then written after the links).
    fn read_sysctls<'a>(
        &self,
        keys: impl Iterator<Item = &'a String> + Send,
    ) -> Result<BTreeMap<String, String>, DataplaneError> {
        let keys: Vec<&String> = keys.collect();
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let values = self.netns.run(|| {
            keys.iter()
                .filter_map(|k| {
                    let v = std::fs::read_to_string(sysctl_path(k)).ok()?;
                    // Multi-value sysctls read back tab-separated; desired values use spaces.
                    Some((
                        (*k).clone(),
                        v.split_whitespace().collect::<Vec<_>>().join(" "),
                    ))
                })
                .collect::<BTreeMap<_, _>>()
        })?;
        Ok(values)
    }

    fn write_sysctl(&self, key: &str, value: &str) -> Result<(), DataplaneError> {
        let path = sysctl_path(key);
        self.netns
            .run(|| std::fs::write(&path, value))?
            .map_err(|source| DataplaneError::Sysctl {
                key: key.to_owned(),
                source,
            })?;
        info!(key, value, "sysctl written");
        Ok(())
    }

    /// Sends one write request and waits for its ACK; errnos in `benign` count as success
    /// (deleting what is already gone).
    async fn write(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &'static str,
        object: &str,
        benign: &[i32],
    ) -> Result<(), DataplaneError> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let mut resp = self
            .handle
            .request(req)
            .map_err(|e| DataplaneError::Netlink {
                op,
                object: object.to_owned(),
                message: e.to_string(),
            })?;
        while let Some(m) = resp.next().await {
            if let NetlinkPayload::Error(e) = m.payload {
                if let Some(code) = e.code {
                    let errno = code.get().saturating_abs();
                    if benign.contains(&errno) {
                        debug!(op, object, errno, "already done");
                        return Ok(());
                    }
                    return Err(DataplaneError::Kernel {
                        op,
                        object: object.to_owned(),
                        errno,
                        source: io::Error::from_raw_os_error(errno),
                    });
                }
            }
        }
        info!(op, object, "netlink write");
        Ok(())
    }

    /// Sends a request (a dump if `dump`) and collects the answers.
    async fn read(
        &mut self,
        msg: RouteNetlinkMessage,
        dump: bool,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>, DataplaneError> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { 0 };
        let mut resp = self
            .handle
            .request(req)
            .map_err(|e| DataplaneError::Netlink {
                op: "read",
                object: what.to_owned(),
                message: e.to_string(),
            })?;
        let mut out = Vec::new();
        while let Some(m) = resp.next().await {
            match m.payload {
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                NetlinkPayload::Error(e) => {
                    if let Some(code) = e.code {
                        let errno = code.get().saturating_abs();
                        return Err(DataplaneError::Kernel {
                            op: "read",
                            object: what.to_owned(),
                            errno,
                            source: io::Error::from_raw_os_error(errno),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Our routes of one family, dumped on the raw socket from the blocking pool: the
    /// messages are parsed where they are received (no per-message channel), and routes of
    /// other protocols are skipped from their header byte without being parsed. A dump the
    /// kernel marks as interrupted (`NLM_F_DUMP_INTR`: the table changed meanwhile) is
    /// repeated, up to three times.
    async fn dump_routes(
        &mut self,
        family: AddressFamily,
        names: Arc<BTreeMap<u32, String>>,
    ) -> Result<Vec<Route>, DataplaneError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = RouteMessage::default();
            req.header.address_family = family;
            let mut msg = NetlinkMessage::from(RouteNetlinkMessage::GetRoute(req));
            msg.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
            let seq = self.batch.next_seq();
            msg.header.sequence_number = seq;
            msg.finalize();
            let mut buf = vec![0u8; msg.buffer_len()];
            msg.serialize(&mut buf);
            let fd = Arc::clone(&self.batch.fd);
            let names = Arc::clone(&names);
            let proto = self.config.protocol;
            let task = tokio::task::spawn_blocking(move || {
                let name_of = |i: u32| {
                    names
                        .get(&i)
                        .cloned()
                        .unwrap_or_else(|| format!("#ifindex{i}"))
                };
                let mut routes = Vec::new();
                let complete = dump_blocking(&fd, &buf, seq, |m| {
                    // rtmsg.rtm_protocol: byte 5 after the 16-byte netlink header.
                    if m.get(NLMSG_HDRLEN + 5) != Some(&proto) {
                        return;
                    }
                    if let Ok(NetlinkMessage {
                        payload: NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)),
                        ..
                    }) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(m)
                    {
                        routes.extend(parse_route(&r, &name_of));
                    }
                })?;
                Ok::<_, io::Error>((complete, routes))
            });
            let (complete, routes) = task
                .await
                .map_err(|e| DataplaneError::Netlink {
                    op: "read",
                    object: "routes".into(),
                    message: e.to_string(),
                })?
                .map_err(|source| match source.raw_os_error() {
                    Some(errno) => DataplaneError::Kernel {
                        op: "read",
                        object: "routes".into(),
                        errno,
                        source,
                    },
                    None => DataplaneError::Io {
                        what: "route dump".into(),
                        source,
                    },
                })?;
            if complete || attempt >= 3 {
                if !complete {
                    debug!(
                        attempt,
                        "route dump interrupted three times; using the last one"
                    );
                }
                return Ok(routes);
            }
            debug!(attempt, "route dump interrupted, repeating it");
        }
    }

    /// The interface index of `name`, from the cache or asked from the kernel.
    async fn index_of(&mut self, name: &str, object: &str) -> Result<u32, DataplaneError> {
        if let Some(i) = self.indexes.get(name) {
            return Ok(*i);
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        let found = match self
            .read(
                RouteNetlinkMessage::GetLink(msg),
                false,
                &format!("link {name}"),
            )
            .await
        {
            Ok(v) => v.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
                _ => None,
            }),
            Err(DataplaneError::Kernel { errno, .. }) if errno == libc::ENODEV => None,
            Err(e) => return Err(e),
        };
        let index = found.ok_or_else(|| DataplaneError::MissingLink {
            object: object.to_owned(),
            link: name.to_owned(),
        })?;
        self.indexes.insert(name.to_owned(), index);
        Ok(index)
    }

    /// [`Self::index_of`] that builds the object name only on a cache miss.
    async fn cached_index(
        &mut self,
        name: &str,
        object: impl FnOnce() -> String,
    ) -> Result<u32, DataplaneError> {
        match self.indexes.get(name) {
            Some(i) => Ok(*i),
            None => self.index_of(name, &object()).await,
        }
    }

    /// Reads everything the planner needs: all links, all addresses, routes with our protocol.
    /// Every link of the namespace (one link dump; also refreshes the name → ifindex map).
    async fn observe_links(&mut self) -> Result<BTreeMap<String, ObservedLink>, DataplaneError> {
        let links = self
            .read(
                RouteNetlinkMessage::GetLink(LinkMessage::default()),
                true,
                "links",
            )
            .await?;
        let links: Vec<LinkMessage> = links
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .collect();
        let names: BTreeMap<u32, String> = links
            .iter()
            .filter_map(|l| {
                l.attributes.iter().find_map(|a| match a {
                    LinkAttribute::IfName(n) => Some((l.header.index, n.clone())),
                    _ => None,
                })
            })
            .collect();
        let name_of = |i: u32| {
            names
                .get(&i)
                .cloned()
                .unwrap_or_else(|| format!("#ifindex{i}"))
        };
        self.indexes = names.iter().map(|(i, n)| (n.clone(), *i)).collect();
        let mut out = BTreeMap::new();
        for l in &links {
            let Some(name) = names.get(&l.header.index) else {
                continue;
            };
            out.insert(name.clone(), self.parse_link(l, name, &name_of));
        }
        Ok(out)
    }

    async fn observe(&mut self) -> Result<ObservedState, DataplaneError> {
        let mut state = ObservedState {
            links: self.observe_links().await?,
            ..ObservedState::default()
        };
        let names: BTreeMap<u32, String> = state
            .links
            .iter()
            .map(|(name, l)| (l.index, name.clone()))
            .collect();

        let addrs = self
            .read(
                RouteNetlinkMessage::GetAddress(AddressMessage::default()),
                true,
                "addresses",
            )
            .await?;
        for m in addrs {
            let RouteNetlinkMessage::NewAddress(a) = m else {
                continue;
            };
            let Some(link) = names.get(&a.header.index) else {
                continue;
            };
            let Some(net) = address_net(&a) else {
                continue;
            };
            let owned = a.attributes.iter().any(|x| {
                matches!(x, AddressAttribute::Protocol(p) if u8::from(*p) == self.config.protocol)
            });
            state
                .addresses
                .insert(Address::new(link.clone(), net), owned);
        }

        let names = Arc::new(names);
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            for route in self.dump_routes(family, Arc::clone(&names)).await? {
                state.routes.insert(route.key(), route);
            }
        }

        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut req = NeighbourMessage::default();
            req.header.family = family;
            let neighs = self
                .read(RouteNetlinkMessage::GetNeighbour(req), true, "neighbours")
                .await?;
            for m in neighs {
                let RouteNetlinkMessage::NewNeighbour(n) = m else {
                    continue;
                };
                let Some(link) = names.get(&n.header.ifindex) else {
                    continue;
                };
                let Some(ip) = neigh_dst(&n.attributes) else {
                    continue;
                };
                let managed = neigh_managed(&n.attributes);
                let owned = (managed || n.header.flags.contains(NeighbourFlags::ExtLearned))
                    && n.attributes.iter().any(|a| {
                        matches!(a, NeighbourAttribute::Protocol(p)
                            if u8::from(*p) == self.config.protocol)
                    });
                // An entry without a MAC (incomplete, failed) matters only when it is our
                // managed one: it must still be seen to be kept or deleted.
                let mac = match neigh_mac(&n.attributes) {
                    Some(mac) => mac,
                    None if owned && managed => MacAddr::ZERO,
                    None => continue,
                };
                let mut neigh = Neigh::new(link.clone(), ip, mac);
                neigh.managed = managed;
                state.neighbours.insert(neigh.key(), (neigh, owned));
            }
        }

        let mut req = NeighbourMessage::default();
        req.header.family = AddressFamily::Bridge;
        let fdbs = self
            .read(RouteNetlinkMessage::GetNeighbour(req), true, "fdb")
            .await?;
        for m in fdbs {
            let RouteNetlinkMessage::NewNeighbour(n) = m else {
                continue;
            };
            let Some(link) = names.get(&n.header.ifindex) else {
                continue;
            };
            let Some(obs) = state.links.get(link) else {
                continue;
            };
            let Some(mac) = neigh_mac(&n.attributes) else {
                continue;
            };
            let fdb = if n.header.flags.contains(NeighbourFlags::Own) {
                // The device's own table: only VXLAN devices' are ours to manage.
                if !matches!(obs.link.kind, LinkKind::Vxlan { .. }) {
                    continue;
                }
                Fdb {
                    link: link.clone(),
                    mac,
                    dst: neigh_dst(&n.attributes),
                    vni: n.attributes.iter().find_map(|a| match a {
                        NeighbourAttribute::Vni(v) => Some(*v),
                        _ => None,
                    }),
                    table: FdbTable::Device,
                }
            } else {
                // The bridge's table: entries pointing at a port (not the bridge's own MAC),
                // without a VLAN (our bridges do not filter VLANs).
                let port_of_bridge = obs.link.master.as_ref().is_some_and(|m| {
                    state
                        .links
                        .get(m)
                        .is_some_and(|b| matches!(b.link.kind, LinkKind::Bridge))
                });
                if !port_of_bridge || !fdb_is_master(&n) || fdb_vlan(&n).is_some() {
                    continue;
                }
                Fdb::bridge(link.clone(), mac)
            };
            let owned = if fdb.is_flood() {
                obs.owned && n.header.state == NeighbourState::Permanent
            } else {
                n.header.flags.contains(NeighbourFlags::ExtLearned)
            };
            state.fdb.entry(fdb.key()).or_insert((fdb, owned));
        }
        Ok(state)
    }

    fn neigh_message(&self, n: &Neigh, index: u32, full: bool) -> NeighbourMessage {
        let mut msg = NeighbourMessage::default();
        msg.header.family = family_of(n.ip);
        msg.header.ifindex = index;
        msg.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::from(
                n.ip,
            )));
        if full && n.managed {
            // As `ip neigh replace <ip> dev <link> managed` sends it: no state and no MAC (an
            // existing entry keeps both, a new one is resolved), the flag in NDA_FLAGS_EXT.
            msg.header.state = NeighbourState::None;
            msg.attributes
                .push(NeighbourAttribute::ExtFlags(NeighbourExtFlags::Managed));
            msg.attributes
                .push(NeighbourAttribute::Protocol(RouteProtocol::from(
                    self.config.protocol,
                )));
        } else if full {
            msg.header.state = NeighbourState::Noarp;
            msg.header.flags = NeighbourFlags::ExtLearned;
            msg.attributes
                .push(NeighbourAttribute::LinkLayerAddress(n.mac.0.to_vec()));
            msg.attributes
                .push(NeighbourAttribute::Protocol(RouteProtocol::from(
                    self.config.protocol,
                )));
        }
        msg
    }

    fn parse_link(
        &self,
        l: &LinkMessage,
        name: &str,
        name_of: &impl Fn(u32) -> String,
    ) -> ObservedLink {
        let mut link = Link::new(name, LinkKind::Other(String::new()));
        let mut owned = false;
        link.up = l.header.flags.contains(LinkFlags::Up);
        for a in &l.attributes {
            match a {
                LinkAttribute::Mtu(m) => link.mtu = Some(*m),
                LinkAttribute::Controller(i) if *i != 0 => link.master = Some(name_of(*i)),
                LinkAttribute::Group(g) => owned = *g == self.config.link_group,
                LinkAttribute::Address(mac) => link.mac = MacAddr::from_slice(mac),
                LinkAttribute::LinkInfo(infos) => {
                    link.kind = parse_kind(infos, name_of);
                    link.port = parse_port(infos);
                }
                LinkAttribute::AfSpecUnspec(specs) => link.addr_gen_mode = parse_gen_mode(specs),
                _ => {}
            }
        }
        ObservedLink {
            link,
            index: l.header.index,
            owned,
        }
    }

    async fn link_message(
        &mut self,
        link: &Link,
    ) -> Result<(LinkMessage, Option<File>), DataplaneError> {
        let object = format!("link {}", link.name);
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::IfName(link.name.clone()));
        msg.attributes
            .push(LinkAttribute::Group(self.config.link_group));
        if let Some(mtu) = link.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = link.mac {
            msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        if let Some(master) = &link.master {
            let idx = self.index_of(master, &object).await?;
            msg.attributes.push(LinkAttribute::Controller(idx));
        }
        set_up(&mut msg, link.up);
        let mut netns = None;
        let (kind, data) = match &link.kind {
            LinkKind::Bridge => (InfoKind::Bridge, None),
            LinkKind::Vrf { table } => (
                InfoKind::Vrf,
                Some(InfoData::Vrf(vec![InfoVrf::TableId(*table)])),
            ),
            LinkKind::Vxlan {
                vni,
                local,
                dev,
                dstport,
                learning,
            } => {
                let mut v = vec![InfoVxlan::Id(*vni)];
                match local {
                    Some(IpAddr::V4(a)) => v.push(InfoVxlan::Local(*a)),
                    Some(IpAddr::V6(a)) => v.push(InfoVxlan::Local6(*a)),
                    None => {}
                }
                if let Some(dev) = dev {
                    v.push(InfoVxlan::Link(self.index_of(dev, &object).await?));
                }
                v.push(InfoVxlan::Port(*dstport));
                v.push(InfoVxlan::Learning(*learning));
                (InfoKind::Vxlan, Some(InfoData::Vxlan(v)))
            }
            LinkKind::Veth { peer, peer_netns } => {
                let mut p = LinkMessage::default();
                p.attributes.push(LinkAttribute::IfName(peer.clone()));
                if let Some(mtu) = link.mtu {
                    p.attributes.push(LinkAttribute::Mtu(mtu));
                }
                if let Some(ns) = peer_netns {
                    let path = if ns.starts_with('/') {
                        ns.clone()
                    } else {
                        format!("/run/netns/{ns}")
                    };
                    let f = File::open(&path).map_err(|source| DataplaneError::Io {
                        what: format!("{object}: open peer netns {path}"),
                        source,
                    })?;
                    p.attributes.push(LinkAttribute::NetNsFd(f.as_raw_fd()));
                    netns = Some(f);
                }
                // The peer is left down: the kernel opens it before linking the pair (ENOTCONN),
                // and it may live in another namespace; its state and addresses belong to the
                // dataplane of that namespace, which adopts it by name.
                (InfoKind::Veth, Some(InfoData::Veth(InfoVeth::Peer(p))))
            }
            LinkKind::Other(k) => {
                return Err(DataplaneError::Netlink {
                    op: "create link",
                    object,
                    message: format!("kind {k:?} is not created by this dataplane"),
                })
            }
            LinkKind::External => {
                return Err(DataplaneError::MissingLink {
                    object: object.clone(),
                    link: link.name.clone(),
                })
            }
        };
        let mut info = vec![LinkInfo::Kind(kind)];
        info.extend(data.map(LinkInfo::Data));
        msg.attributes.push(LinkAttribute::LinkInfo(info));
        Ok((msg, netns))
    }

    async fn modify_message(&mut self, c: &LinkChange) -> Result<LinkMessage, DataplaneError> {
        let object = format!("link {}", c.name);
        let mut msg = LinkMessage::default();
        msg.header.index = c.index;
        if let Some(mtu) = c.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(master) = &c.master {
            let idx = match master {
                Some(m) => self.index_of(m, &object).await?,
                None => 0,
            };
            msg.attributes.push(LinkAttribute::Controller(idx));
        }
        if let Some(mac) = c.mac {
            msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        if c.mark_owned {
            msg.attributes
                .push(LinkAttribute::Group(self.config.link_group));
        }
        if let Some(mode) = c.addr_gen_mode {
            msg.attributes
                .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                    vec![AfSpecInet6::AddrGenMode(gen_mode_to_nl(mode))],
                )]));
        }
        if let Some(up) = c.up {
            set_up(&mut msg, up);
        }
        Ok(msg)
    }

    /// Writes a link change. The kernel applies a `RTM_NEWLINK` in a fixed order (bridge-port
    /// data, then flags, then master, then `IFLA_AF_SPEC`), so the change is split where that
    /// order is wrong for us: bridge-port options go after a master change (they need the
    /// port to exist), and "up" goes last when the address generation mode or port options
    /// change (a link-local address must not appear before `addrgenmode none`).
    async fn modify(&mut self, c: &LinkChange) -> Result<(), DataplaneError> {
        const ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;
        let object = format!("link {}", c.name);
        let late_up = c.up == Some(true) && (c.addr_gen_mode.is_some() || !c.port.is_empty());
        let mut first = c.clone();
        first.port = BridgePort::default();
        if late_up {
            first.up = None;
        }
        if !first.is_empty() {
            let msg = self.modify_message(&first).await?;
            self.write(
                RouteNetlinkMessage::NewLink(msg),
                ACK,
                "change link",
                &object,
                &[],
            )
            .await?;
        }
        if !c.port.is_empty() {
            let mut data = Vec::new();
            if let Some(v) = c.port.learning {
                data.push(InfoBridgePort::Learning(v));
            }
            if let Some(v) = c.port.neigh_suppress {
                data.push(InfoBridgePort::NeighSupress(v));
            }
            let mut msg = LinkMessage::default();
            msg.header.index = c.index;
            msg.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::PortKind(InfoPortKind::Bridge),
                LinkInfo::PortData(InfoPortData::BridgePort(data)),
            ]));
            self.write(
                RouteNetlinkMessage::NewLink(msg),
                ACK,
                "change bridge port",
                &object,
                &[],
            )
            .await?;
        }
        if late_up {
            let mut msg = LinkMessage::default();
            msg.header.index = c.index;
            set_up(&mut msg, true);
            self.write(
                RouteNetlinkMessage::NewLink(msg),
                ACK,
                "set link up",
                &object,
                &[],
            )
            .await?;
        }
        Ok(())
    }

    fn address_message(&self, a: &Address, index: u32) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = family_of(a.addr.addr());
        msg.header.prefix_len = a.addr.prefix_len();
        msg.header.index = index;
        msg.header.flags = AddressHeaderFlags::empty();
        if a.addr.addr().is_ipv4() {
            msg.attributes.push(AddressAttribute::Local(a.addr.addr()));
        }
        msg.attributes
            .push(AddressAttribute::Address(a.addr.addr()));
        msg
    }

    async fn route_message(
        &mut self,
        r: &Route,
        with_next_hops: bool,
    ) -> Result<RouteMessage, DataplaneError> {
        let object = || format!("route {} table {}", r.dst, r.table);
        let mut msg = RouteMessage::default();
        msg.header.address_family = family_of(r.dst.addr());
        msg.header.destination_prefix_length = r.dst.prefix_len();
        msg.header.table = u8::try_from(r.table).unwrap_or(252); // RT_TABLE_COMPAT
        msg.header.protocol = RouteProtocol::from(self.config.protocol);
        msg.header.kind = match r.kind {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
        };
        msg.attributes.push(RouteAttribute::Table(r.table));
        if let Some(metric) = r.metric {
            msg.attributes.push(RouteAttribute::Priority(metric));
        }
        if r.dst.prefix_len() > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(
                    r.dst.addr(),
                )));
        }
        if !with_next_hops {
            msg.header.scope = RouteScope::NoWhere;
            return Ok(msg);
        }
        let gatewayless = r.next_hops.iter().all(|nh| nh.via.is_none());
        msg.header.scope = if r.kind == RouteKind::Unicast && gatewayless {
            RouteScope::Link
        } else {
            RouteScope::Universe
        };
        let same_family = |ip: &IpAddr| ip.is_ipv4() == r.dst.addr().is_ipv4();
        let gw_attr = |ip: IpAddr| {
            if same_family(&ip) {
                RouteAttribute::Gateway(RouteAddress::from(ip))
            } else {
                RouteAttribute::Via(match ip {
                    IpAddr::V4(a) => RouteVia::Inet(a),
                    IpAddr::V6(a) => RouteVia::Inet6(a),
                })
            }
        };
        match r.next_hops.as_slice() {
            [] => {}
            [nh] => {
                if let Some(via) = nh.via {
                    msg.attributes.push(gw_attr(via));
                }
                if let Some(dev) = &nh.dev {
                    let idx = self.cached_index(dev, object).await?;
                    msg.attributes.push(RouteAttribute::Oif(idx));
                }
                if nh.onlink {
                    msg.header.flags |= RouteFlags::Onlink;
                }
                if let Some(e) = &r.encap {
                    msg.attributes.extend(encap_attributes(e));
                }
            }
            many => {
                let mut hops = Vec::with_capacity(many.len());
                for nh in many {
                    let mut hop = RouteNextHop::default();
                    if let Some(dev) = &nh.dev {
                        hop.interface_index = self.cached_index(dev, object).await?;
                    }
                    if nh.onlink {
                        hop.flags |= RouteNextHopFlags::Onlink;
                    }
                    if let Some(via) = nh.via {
                        hop.attributes.push(gw_attr(via));
                    }
                    if let Some(e) = &r.encap {
                        hop.attributes.extend(encap_attributes(e));
                    }
                    hops.push(hop);
                }
                msg.attributes.push(RouteAttribute::MultiPath(hops));
            }
        }
        Ok(msg)
    }

    /// The request for a batchable op and its flags (without `NLM_F_ACK`); `None` when there
    /// is nothing to send (deleting from a link that is gone).
    async fn batch_message(
        &mut self,
        op: &Op,
    ) -> Result<Option<(RouteNetlinkMessage, u16)>, DataplaneError> {
        const REQ: u16 = NLM_F_REQUEST;
        const REPLACE: u16 = REQ | NLM_F_CREATE | NLM_F_REPLACE;
        Ok(Some(match op {
            Op::DeleteRoute(r) => (
                RouteNetlinkMessage::DelRoute(self.route_message(r, false).await?),
                REQ,
            ),
            // Not NLM_F_REPLACE: a route of another protocol with the same key (the kernel's
            // own, an operator's) must fail loudly (EEXIST), not be overwritten.
            Op::AddRoute(r) => (
                RouteNetlinkMessage::NewRoute(self.route_message(r, true).await?),
                REQ | NLM_F_CREATE | NLM_F_EXCL,
            ),
            Op::ReplaceRoute(r) => (
                RouteNetlinkMessage::NewRoute(self.route_message(r, true).await?),
                REPLACE,
            ),
            Op::DeleteNeigh(n) => {
                let Some(index) = self.indexes.get(&n.link).copied() else {
                    return Ok(None); // the link is gone, and the entry with it
                };
                if releases(n) {
                    (
                        RouteNetlinkMessage::NewNeighbour(release_message(n, index)),
                        REPLACE,
                    )
                } else {
                    (
                        RouteNetlinkMessage::DelNeighbour(self.neigh_message(n, index, false)),
                        REQ,
                    )
                }
            }
            Op::AddNeigh(n) | Op::ReplaceNeigh(n) => {
                let object = format!("neighbour {} on {}", n.ip, n.link);
                let index = self.index_of(&n.link, &object).await?;
                // CREATE|REPLACE for adds too: an incomplete/failed entry the dump skipped may
                // hold the slot.
                (
                    RouteNetlinkMessage::NewNeighbour(self.neigh_message(n, index, true)),
                    REPLACE,
                )
            }
            Op::DeleteFdb(f) => {
                let Some(index) = self.indexes.get(&f.link).copied() else {
                    return Ok(None);
                };
                (
                    RouteNetlinkMessage::DelNeighbour(fdb_message(f, index, false)),
                    REQ,
                )
            }
            Op::AddFdb(f) | Op::ReplaceFdb(f) => {
                let index = match self.indexes.get(&f.link) {
                    Some(i) => *i,
                    None => self.index_of(&f.link, &fdb_object(f)).await?,
                };
                let flags = if f.is_flood() {
                    REQ | NLM_F_CREATE | NLM_F_APPEND
                } else {
                    REPLACE
                };
                (
                    RouteNetlinkMessage::NewNeighbour(fdb_message(f, index, true)),
                    flags,
                )
            }
            _ => return Ok(None),
        }))
    }

    /// Writes a run of batchable ops: many requests per `sendmsg`, one ACK per batch, the next
    /// batch encoded while the kernel handles the previous one.
    async fn execute_batched(&mut self, ops: &[Op]) -> Result<(), DataplaneError> {
        let mut in_flight = None;
        let result = self.execute_batched_inner(ops, &mut in_flight).await;
        match (result, in_flight.take()) {
            (Ok(()), Some(last)) => Self::finish(last, ops).await,
            (Ok(()), None) => Ok(()),
            (Err(e), Some(last)) => {
                // Let the batch the kernel is handling finish before reporting.
                let _ = Self::finish(last, ops).await;
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }

    async fn execute_batched_inner(
        &mut self,
        ops: &[Op],
        in_flight: &mut Option<InFlight>,
    ) -> Result<(), DataplaneError> {
        let mut batch = Batch {
            buf: Vec::with_capacity(BATCH_BYTES + 4096),
            ..Batch::default()
        };
        for (k, op) in ops.iter().enumerate() {
            let Some((msg, flags)) = self.batch_message(op).await? else {
                continue;
            };
            let mut req = NetlinkMessage::from(msg);
            req.header.flags = flags;
            let seq = self.batch.next_seq();
            req.header.sequence_number = seq;
            req.finalize();
            let off = batch.buf.len();
            batch.buf.resize(off + req.buffer_len(), 0);
            req.serialize(&mut batch.buf[off..]);
            batch.sent.push((seq, k));
            batch.last_offset = off;
            if batch.buf.len() >= BATCH_BYTES || batch.sent.len() >= BATCH_MESSAGES {
                self.launch(&mut batch, in_flight, ops).await?;
            }
        }
        self.launch(&mut batch, in_flight, ops).await
    }

    /// Waits for the batch in flight (reporting its first failure), then hands `batch` to the
    /// blocking pool with `NLM_F_ACK` on its last request. One batch at a time: the kernel
    /// sees the requests in plan order, and nothing is sent after a failed batch.
    async fn launch(
        &mut self,
        batch: &mut Batch,
        in_flight: &mut Option<InFlight>,
        ops: &[Op],
    ) -> Result<(), DataplaneError> {
        let Some(&(last_seq, _)) = batch.sent.last() else {
            return Ok(());
        };
        if let Some(prev) = in_flight.take() {
            Self::finish(prev, ops).await?;
        }
        // nlmsg_flags: bytes 6..8 of the last request's header.
        let at = batch.last_offset + 6;
        if let Some(f) = batch.buf.get_mut(at..at + 2) {
            let flags = u16::from_ne_bytes([f[0], f[1]]) | NLM_F_ACK;
            f.copy_from_slice(&flags.to_ne_bytes());
        }
        let buf = std::mem::replace(&mut batch.buf, Vec::with_capacity(BATCH_BYTES + 4096));
        let fd = Arc::clone(&self.batch.fd);
        let task = tokio::task::spawn_blocking(move || write_batch(&fd, &buf, last_seq));
        *in_flight = Some(InFlight {
            task,
            sent: std::mem::take(&mut batch.sent),
        });
        Ok(())
    }

    /// Waits for a batch and returns its first failure in plan order (benign errnos of deletes
    /// excepted).
    async fn finish(batch: InFlight, ops: &[Op]) -> Result<(), DataplaneError> {
        let object = || format!("{} batched requests", batch.sent.len());
        let failures = match batch.task.await {
            Ok(Ok(f)) => f,
            Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                return Err(DataplaneError::Netlink {
                    op: "batched write",
                    object: object(),
                    message: "receive buffer overrun: kernel answers were lost".into(),
                })
            }
            Ok(Err(source)) => {
                return Err(DataplaneError::Io {
                    what: format!("batched netlink write of {}", object()),
                    source,
                })
            }
            Err(e) => {
                return Err(DataplaneError::Netlink {
                    op: "batched write",
                    object: object(),
                    message: e.to_string(),
                })
            }
        };
        let first_seq = batch.sent.first().map_or(0, |s| s.0);
        let mut first: Option<(usize, i32)> = None;
        for (seq, errno) in failures {
            let pos = seq.wrapping_sub(first_seq) as usize;
            let Some(op) = batch.sent.get(pos).and_then(|s| ops.get(s.1)) else {
                continue;
            };
            if describe(op).2.contains(&errno) {
                continue;
            }
            if first.is_none_or(|(p, _)| pos < p) {
                first = Some((pos, errno));
            }
        }
        debug!(requests = batch.sent.len(), "netlink batch written");
        let Some((pos, errno)) = first else {
            return Ok(());
        };
        let op = batch.sent.get(pos).and_then(|s| ops.get(s.1));
        let (op, object, _) = op.map(describe).unwrap_or(("batched write", object(), &[]));
        Err(DataplaneError::Kernel {
            op,
            object,
            errno,
            source: io::Error::from_raw_os_error(errno),
        })
    }

    async fn execute(&mut self, op: &Op) -> Result<(), DataplaneError> {
        const ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;
        const CREATE: u16 = ACK | NLM_F_CREATE | NLM_F_EXCL;
        match op {
            Op::DeleteRoute(r) => {
                let object = format!("route {} table {}", r.dst, r.table);
                let msg = self.route_message(r, false).await?;
                self.write(
                    RouteNetlinkMessage::DelRoute(msg),
                    ACK,
                    "delete route",
                    &object,
                    &[libc::ENOENT, libc::ESRCH],
                )
                .await
            }
            Op::DeleteAddress(a) => {
                let object = format!("address {} on {}", a.addr, a.link);
                let Some(index) = self.indexes.get(&a.link).copied() else {
                    return Ok(()); // the link is gone, and the address with it
                };
                let msg = self.address_message(a, index);
                self.write(
                    RouteNetlinkMessage::DelAddress(msg),
                    ACK,
                    "delete address",
                    &object,
                    &[libc::EADDRNOTAVAIL, libc::ENODEV],
                )
                .await
            }
            Op::DeleteLink { name, index } => {
                let mut msg = LinkMessage::default();
                msg.header.index = *index;
                self.write(
                    RouteNetlinkMessage::DelLink(msg),
                    ACK,
                    "delete link",
                    &format!("link {name}"),
                    &[libc::ENODEV],
                )
                .await?;
                self.indexes.remove(name);
                Ok(())
            }
            Op::CreateLink(link) => {
                let object = format!("link {}", link.name);
                // Options the kernel takes only on an existing link are set right after the
                // create, before the link goes up.
                let post = link.addr_gen_mode.is_some() || !link.port.is_empty();
                let mut create = link.clone();
                if post {
                    create.up = false;
                }
                let (msg, _netns) = self.link_message(&create).await?;
                self.write(
                    RouteNetlinkMessage::NewLink(msg),
                    CREATE,
                    "create link",
                    &object,
                    &[],
                )
                .await?;
                self.indexes.remove(&link.name);
                let index = self.index_of(&link.name, &object).await?;
                if post {
                    let change = LinkChange {
                        name: link.name.clone(),
                        index,
                        mtu: None,
                        master: None,
                        up: link.up.then_some(true),
                        mac: None,
                        addr_gen_mode: link.addr_gen_mode,
                        port: link.port,
                        mark_owned: false,
                    };
                    self.modify(&change).await?;
                }
                Ok(())
            }
            Op::ModifyLink(c) => self.modify(c).await,
            Op::SetSysctl { key, value } => self.write_sysctl(key, value),
            Op::AddAddress(a) => {
                let object = format!("address {} on {}", a.addr, a.link);
                let index = self.index_of(&a.link, &object).await?;
                let mut msg = self.address_message(a, index);
                msg.attributes
                    .push(AddressAttribute::Protocol(AddressProtocol::from(
                        self.config.protocol,
                    )));
                // EEXIST: an IPv4 address that survived a master change (see `plan`).
                self.write(
                    RouteNetlinkMessage::NewAddress(msg),
                    CREATE,
                    "add address",
                    &object,
                    &[libc::EEXIST],
                )
                .await
            }
            Op::AddRoute(r) | Op::ReplaceRoute(r) => {
                let object = format!("route {} table {}", r.dst, r.table);
                let msg = self.route_message(r, true).await?;
                let (flags, what) = if matches!(op, Op::AddRoute(_)) {
                    (CREATE, "add route")
                } else {
                    (ACK | NLM_F_CREATE | NLM_F_REPLACE, "replace route")
                };
                self.write(
                    RouteNetlinkMessage::NewRoute(msg),
                    flags,
                    what,
                    &object,
                    &[],
                )
                .await
            }
            Op::DeleteNeigh(n) => {
                let object = format!("neighbour {} on {}", n.ip, n.link);
                let Some(index) = self.indexes.get(&n.link).copied() else {
                    return Ok(()); // the link is gone, and the entry with it
                };
                if releases(n) {
                    return self
                        .write(
                            RouteNetlinkMessage::NewNeighbour(release_message(n, index)),
                            ACK | NLM_F_CREATE | NLM_F_REPLACE,
                            "release neighbour",
                            &object,
                            &[libc::ENODEV],
                        )
                        .await;
                }
                let msg = self.neigh_message(n, index, false);
                self.write(
                    RouteNetlinkMessage::DelNeighbour(msg),
                    ACK,
                    "delete neighbour",
                    &object,
                    &[libc::ENOENT, libc::ENODEV],
                )
                .await
            }
            Op::AddNeigh(n) | Op::ReplaceNeigh(n) => {
                let object = format!("neighbour {} on {}", n.ip, n.link);
                let index = self.index_of(&n.link, &object).await?;
                let msg = self.neigh_message(n, index, true);
                // CREATE|REPLACE for adds too: an incomplete/failed entry the dump skipped may
                // hold the slot.
                self.write(
                    RouteNetlinkMessage::NewNeighbour(msg),
                    ACK | NLM_F_CREATE | NLM_F_REPLACE,
                    if matches!(op, Op::AddNeigh(_)) {
                        "add neighbour"
                    } else {
                        "replace neighbour"
                    },
                    &object,
                    &[],
                )
                .await
            }
            Op::DeleteFdb(f) => {
                let object = fdb_object(f);
                let Some(index) = self.indexes.get(&f.link).copied() else {
                    return Ok(());
                };
                self.write(
                    RouteNetlinkMessage::DelNeighbour(fdb_message(f, index, false)),
                    ACK,
                    "delete fdb",
                    &object,
                    &[libc::ENOENT, libc::ENODEV],
                )
                .await
            }
            Op::AddFdb(f) | Op::ReplaceFdb(f) => {
                let object = fdb_object(f);
                let index = self.index_of(&f.link, &object).await?;
                let (flags, what) = if f.is_flood() {
                    (ACK | NLM_F_CREATE | NLM_F_APPEND, "append fdb")
                } else if matches!(op, Op::AddFdb(_)) {
                    (ACK | NLM_F_CREATE | NLM_F_REPLACE, "add fdb")
                } else {
                    (ACK | NLM_F_CREATE | NLM_F_REPLACE, "replace fdb")
                };
                self.write(
                    RouteNetlinkMessage::NewNeighbour(fdb_message(f, index, true)),
                    flags,
                    what,
                    &object,
                    &[],
                )
                .await
            }
        }
    }
}

fn fdb_object(f: &Fdb) -> String {
    match (f.table, f.dst) {
        (FdbTable::Bridge, _) => format!("bridge fdb {} on {}", f.mac, f.link),
        (FdbTable::Device, Some(dst)) => format!("fdb {} dst {dst} on {}", f.mac, f.link),
        (FdbTable::Device, None) => format!("fdb {} on {}", f.mac, f.link),
    }
}

/// Whether an `AF_BRIDGE` neighbour message is an entry of a bridge's FDB: `NDA_MASTER` naming
/// the bridge (what the bridge's dump sets; it leaves `NTF_MASTER` out), or `NTF_MASTER`.
fn fdb_is_master(n: &NeighbourMessage) -> bool {
    n.header.flags.contains(NeighbourFlags::Controller)
        || n.attributes
            .iter()
            .any(|a| matches!(a, NeighbourAttribute::Controller(i) if *i != 0))
}

/// The VLAN of a bridge FDB entry (`NDA_VLAN`; `None` when absent or 0).
fn fdb_vlan(n: &NeighbourMessage) -> Option<u16> {
    n.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Vlan(v) if *v != 0 => Some(*v),
        _ => None,
    })
}

/// The request for an FDB entry: `full` for a write (state and `extern_learn`), the identity
/// only for a delete. A bridge entry is `NTF_MASTER` on the port (the kernel finds the bridge
/// from it), a VXLAN device's `NTF_SELF`.
fn fdb_message(f: &Fdb, index: u32, full: bool) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = AddressFamily::Bridge;
    msg.header.ifindex = index;
    msg.header.flags = match f.table {
        FdbTable::Device => NeighbourFlags::Own,
        FdbTable::Bridge => NeighbourFlags::Controller,
    };
    if full {
        if f.is_flood() {
            msg.header.state = NeighbourState::Permanent;
        } else {
            msg.header.state = NeighbourState::Reachable;
            msg.header.flags |= NeighbourFlags::ExtLearned;
        }
    }
    msg.attributes
        .push(NeighbourAttribute::LinkLayerAddress(f.mac.0.to_vec()));
    if f.table == FdbTable::Device {
        if let Some(dst) = f.dst {
            msg.attributes
                .push(NeighbourAttribute::Destination(NeighbourAddress::from(dst)));
        }
        if let Some(vni) = f.vni {
            msg.attributes.push(NeighbourAttribute::Vni(vni));
        }
    }
    msg
}

fn set_up(msg: &mut LinkMessage, up: bool) {
    if up {
        msg.header.flags |= LinkFlags::Up;
    } else {
        msg.header.flags.remove(LinkFlags::Up);
    }
    msg.header.change_mask |= LinkFlags::Up;
}

fn family_of(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn parse_kind(infos: &[LinkInfo], name_of: &impl Fn(u32) -> String) -> LinkKind {
    let kind = infos.iter().find_map(|i| match i {
        LinkInfo::Kind(k) => Some(k),
        _ => None,
    });
    let data = infos.iter().find_map(|i| match i {
        LinkInfo::Data(d) => Some(d),
        _ => None,
    });
    match (kind, data) {
        (Some(InfoKind::Bridge), _) => LinkKind::Bridge,
        (Some(InfoKind::Veth), _) => LinkKind::Veth {
            peer: String::new(),
            peer_netns: None,
        },
        (Some(InfoKind::Vrf), Some(InfoData::Vrf(v))) => LinkKind::Vrf {
            table: v
                .iter()
                .find_map(|x| match x {
                    InfoVrf::TableId(t) => Some(*t),
                    _ => None,
                })
                .unwrap_or(0),
        },
        (Some(InfoKind::Vxlan), Some(InfoData::Vxlan(v))) => {
            let mut vni = 0;
            let mut local = None;
            let mut dev = None;
            let mut dstport = 0;
            let mut learning = true;
            for x in v {
                match x {
                    InfoVxlan::Id(i) => vni = *i,
                    InfoVxlan::Local(a) => local = Some(IpAddr::V4(*a)),
                    InfoVxlan::Local6(a) => local = Some(IpAddr::V6(*a)),
                    InfoVxlan::Link(i) if *i != 0 => dev = Some(name_of(*i)),
                    InfoVxlan::Port(p) => dstport = *p,
                    InfoVxlan::Learning(l) => learning = *l,
                    _ => {}
                }
            }
            // The kernel reports unset local addresses as 0.0.0.0 / ::.
            local = local.filter(|a| !a.is_unspecified());
            LinkKind::Vxlan {
                vni,
                local,
                dev,
                dstport,
                learning,
            }
        }
        (Some(k), _) => LinkKind::Other(k.to_string()),
        (None, _) => LinkKind::Other(String::new()),
    }
}

/// Bridge-port options of a bridge port (`None`s for a link that is not one).
fn parse_port(infos: &[LinkInfo]) -> BridgePort {
    let mut port = BridgePort::default();
    for i in infos {
        if let LinkInfo::PortData(InfoPortData::BridgePort(attrs)) = i {
            for a in attrs {
                match a {
                    InfoBridgePort::Learning(v) => port.learning = Some(*v),
                    InfoBridgePort::NeighSupress(v) => port.neigh_suppress = Some(*v),
                    _ => {}
                }
            }
        }
    }
    port
}

fn parse_gen_mode(specs: &[AfSpecUnspec]) -> Option<AddrGenMode> {
    specs.iter().find_map(|s| match s {
        AfSpecUnspec::Inet6(v) => v.iter().find_map(|a| match a {
            AfSpecInet6::AddrGenMode(m) => match m {
                In6AddrGenMode::Eui64 => Some(AddrGenMode::Eui64),
                In6AddrGenMode::None => Some(AddrGenMode::None),
                In6AddrGenMode::StablePrivacy => Some(AddrGenMode::StablePrivacy),
                In6AddrGenMode::Random => Some(AddrGenMode::Random),
                _ => None,
            },
            _ => None,
        }),
        _ => None,
    })
}

fn gen_mode_to_nl(mode: AddrGenMode) -> In6AddrGenMode {
    match mode {
        AddrGenMode::Eui64 => In6AddrGenMode::Eui64,
        AddrGenMode::None => In6AddrGenMode::None,
        AddrGenMode::StablePrivacy => In6AddrGenMode::StablePrivacy,
        AddrGenMode::Random => In6AddrGenMode::Random,
    }
}

/// `RTA_ENCAP_TYPE` + `RTA_ENCAP` of an encapsulation, resolving seg6local devices.
fn encap_attributes(encap: &Encap) -> [RouteAttribute; 2] {
    match encap {
        Encap::Seg6 { segments } => {
            let mut header = Seg6Header::default();
            header.mode = Seg6Mode::Encap;
            header.segments.clone_from(segments);
            [
                RouteAttribute::EncapType(RouteLwEnCapType::Seg6),
                RouteAttribute::Encap(vec![RouteLwTunnelEncap::Seg6(RouteSeg6IpTunnel::Seg6(
                    header,
                ))]),
            ]
        }
        Encap::Seg6Local(action) => {
            let (a, table) = match *action {
                Seg6LocalAction::End => (NlSeg6LocalAction::End, None),
                Seg6LocalAction::EndDt4 { vrf_table } => (
                    NlSeg6LocalAction::EndDt4,
                    Some(RouteSeg6LocalTunnel::VrfTable(vrf_table)),
                ),
                Seg6LocalAction::EndDt6 { table } => (
                    NlSeg6LocalAction::EndDt6,
                    Some(RouteSeg6LocalTunnel::Table(table)),
                ),
                Seg6LocalAction::EndDt6Vrf { vrf_table } => (
                    NlSeg6LocalAction::EndDt6,
                    Some(RouteSeg6LocalTunnel::VrfTable(vrf_table)),
                ),
                Seg6LocalAction::EndDt46 { vrf_table } => (
                    NlSeg6LocalAction::EndDt46,
                    Some(RouteSeg6LocalTunnel::VrfTable(vrf_table)),
                ),
            };
            let mut attrs = vec![RouteLwTunnelEncap::Seg6Local(RouteSeg6LocalTunnel::Action(
                a,
            ))];
            attrs.extend(table.map(RouteLwTunnelEncap::Seg6Local));
            [
                RouteAttribute::EncapType(RouteLwEnCapType::Seg6Local),
                RouteAttribute::Encap(attrs),
            ]
        }
    }
}

/// The model's view of an `RTA_ENCAP`; `Err(())` for an encapsulation we never install (the
/// route is then not ours to reconcile).
fn parse_encap(attrs: &[RouteAttribute]) -> Result<Option<Encap>, ()> {
    let Some(encap) = attrs.iter().find_map(|a| match a {
        RouteAttribute::Encap(e) => Some(e),
        _ => None,
    }) else {
        return Ok(None);
    };
    let mut segments = None;
    let mut action = None;
    let mut table = None;
    let mut vrf_table = None;
    for e in encap {
        match e {
            RouteLwTunnelEncap::Seg6(RouteSeg6IpTunnel::Seg6(h)) if h.mode == Seg6Mode::Encap => {
                segments = Some(h.segments.clone());
            }
            RouteLwTunnelEncap::Seg6(RouteSeg6IpTunnel::Src(_) | RouteSeg6IpTunnel::Table(_)) => {}
            RouteLwTunnelEncap::Seg6Local(t) => match t {
                RouteSeg6LocalTunnel::Action(a) => action = Some(*a),
                RouteSeg6LocalTunnel::Table(t) => table = Some(*t),
                RouteSeg6LocalTunnel::VrfTable(t) => vrf_table = Some(*t),
                // The kernel reports these with zero values for every action.
                RouteSeg6LocalTunnel::Iif(0) | RouteSeg6LocalTunnel::Oif(0) => {}
                _ => return Err(()),
            },
            _ => return Err(()),
        }
    }
    if let Some(segments) = segments {
        return Ok(Some(Encap::Seg6 { segments }));
    }
    let local = match (action, table, vrf_table) {
        (Some(NlSeg6LocalAction::End), None, None) => Seg6LocalAction::End,
        (Some(NlSeg6LocalAction::EndDt4), None, Some(vrf_table)) => {
            Seg6LocalAction::EndDt4 { vrf_table }
        }
        (Some(NlSeg6LocalAction::EndDt6), Some(table), None) => Seg6LocalAction::EndDt6 { table },
        (Some(NlSeg6LocalAction::EndDt6), None, Some(vrf_table)) => {
            Seg6LocalAction::EndDt6Vrf { vrf_table }
        }
        (Some(NlSeg6LocalAction::EndDt46), None, Some(vrf_table)) => {
            Seg6LocalAction::EndDt46 { vrf_table }
        }
        _ => return Err(()),
    };
    Ok(Some(Encap::Seg6Local(local)))
}

/// Converts a kernel route to the model; `None` for types we never install.
fn parse_route(r: &RouteMessage, name_of: &impl Fn(u32) -> String) -> Option<Route> {
    let table = r
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(r.header.table));
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
    let metric = r
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0);
    let kind = match r.header.kind {
        RouteType::Unicast => RouteKind::Unicast,
        RouteType::BlackHole => {
            return Some(Route::new(table, dst, RouteKind::Blackhole).with_metric(metric))
        }
        RouteType::Unreachable => {
            return Some(Route::new(table, dst, RouteKind::Unreachable).with_metric(metric))
        }
        _ => return None,
    };
    let mut hops = Vec::new();
    let multipath = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::MultiPath(m) => Some(m),
        _ => None,
    });
    let mut encap = parse_encap(&r.attributes).ok()?;
    if let Some(m) = multipath {
        for h in m {
            hops.push(NextHop {
                via: gateway(&h.attributes),
                dev: (h.interface_index != 0).then(|| name_of(h.interface_index)),
                onlink: h.flags.contains(RouteNextHopFlags::Onlink),
            });
            // Every hop carries the same encapsulation when we install one.
            let hop_encap = parse_encap(&h.attributes).ok()?;
            if encap.is_none() {
                encap = hop_encap;
            }
        }
    } else {
        let oif = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Oif(i) => Some(*i),
            _ => None,
        });
        hops.push(NextHop {
            via: gateway(&r.attributes),
            dev: oif.map(name_of),
            onlink: r.header.flags.contains(RouteFlags::Onlink),
        });
    }
    debug_assert_eq!(kind, RouteKind::Unicast);
    let mut route = Route::unicast(table, dst, hops).with_metric(metric);
    route.encap = encap;
    Some(route)
}

/// Whether deleting our entry `n` releases it instead: a managed entry that has a MAC is
/// handed back to the kernel as the plain learned entry it was (see [`release_message`]).
fn releases(n: &Neigh) -> bool {
    n.managed && !n.mac.is_zero()
}

/// The request that releases our managed entry `n` (as read from the kernel, with its MAC):
/// `ip neigh replace <ip> dev <link> lladdr <mac> nud stale`, without `NDA_FLAGS_EXT`, which
/// clears the managed flag. The host's binding survives as an ordinary stale entry, not
/// ours (neither `extern_learn` nor managed; the kernel keeps its `NDA_PROTOCOL`), which
/// ages and is garbage-collected as usual. Deleting it instead would drop a binding the
/// kernel learned: after a restart, before the MAC tables are resynchronised, the first
/// apply would erase every silent host.
fn release_message(n: &Neigh, index: u32) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = family_of(n.ip);
    msg.header.ifindex = index;
    msg.header.state = NeighbourState::Stale;
    msg.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::from(
            n.ip,
        )));
    msg.attributes
        .push(NeighbourAttribute::LinkLayerAddress(n.mac.0.to_vec()));
    msg
}

/// The per-device neighbour sysctl that sets how often the kernel re-probes managed
/// neighbours (`net/ipv{4,6}/neigh/<dev>/interval_probe_time_ms`).
pub const INTERVAL_PROBE_TIME_MS: &str = "interval_probe_time_ms";

/// Whether this kernel has managed neighbours with a settable probe interval: the
/// `interval_probe_time_ms` neighbour sysctl exists (Linux ≥ 6.0; `NTF_EXT_MANAGED` itself is
/// 5.16). Checked once per process, in the calling thread's namespace (`/proc/sys/net` of any
/// namespace shows the same set of keys).
pub fn managed_neighbours_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        sysctl_path(&format!("net/ipv4/neigh/default/{INTERVAL_PROBE_TIME_MS}")).exists()
    })
}

/// `desired` without what a kernel lacking managed neighbours cannot take: managed
/// neighbours (an older kernel would ignore `NDA_FLAGS_EXT` and write a plain `NUD_NONE`
/// entry over the learned one) and the `interval_probe_time_ms` sysctls. Nothing replaces
/// them: silent hosts' entries age out as they always did.
pub fn without_managed_neighbours(desired: &DesiredState) -> DesiredState {
    let mut d = desired.clone();
    d.neighbours.retain(|_, n| !n.managed);
    d.sysctls
        .retain(|k, _| !k.ends_with(&format!("/{INTERVAL_PROBE_TIME_MS}")));
    d
}

impl Dataplane for NetlinkDataplane {
    async fn apply(&mut self, desired: &DesiredState) -> Result<ApplyReport, DataplaneError> {
        let supported;
        let desired = if managed_neighbours_supported() {
            desired
        } else {
            supported = without_managed_neighbours(desired);
            &supported
        };
        let mut observed = self.observe().await?;
        observed.sysctls = self.read_sysctls(desired.sysctls.keys())?;
        let ops = plan(desired, &observed)?;
        let mut report = ApplyReport::default();
        let mut rest = ops.as_slice();
        while let Some(op) = rest.first() {
            if batchable(op) {
                let run = rest.iter().take_while(|o| batchable(o)).count();
                let (now, later) = rest.split_at(run);
                self.execute_batched(now).await?;
                for op in now {
                    report.record(op);
                }
                rest = later;
            } else {
                debug!(?op, "netlink dataplane operation");
                self.execute(op).await?;
                report.record(op);
                rest = rest.get(1..).unwrap_or_default();
            }
        }
        if !report.is_noop() {
            info!(
                writes = report.writes,
                links = ?report.links,
                addresses = ?report.addresses,
                routes = ?report.routes,
                neighbours = ?report.neighbours,
                fdb = ?report.fdb,
                "dataplane applied"
            );
        }
        Ok(report)
    }

    async fn current(&mut self) -> Result<ObservedState, DataplaneError> {
        Ok(self.observe().await?.owned_only())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn older_kernels_get_no_managed_neighbours_nor_their_probe_interval() {
        let mac = MacAddr([2, 0, 0, 0, 0, 5]);
        let mut d = DesiredState::new();
        d.add_neigh(Neigh::managed(
            "br-pe-110",
            "10.0.0.5".parse().unwrap(),
            mac,
        ));
        d.add_neigh(Neigh::new("br-pe-110", "10.0.0.6".parse().unwrap(), mac));
        d.set_sysctl("net/ipv4/neigh/br-pe-110/interval_probe_time_ms", "30000");
        d.set_sysctl("net/ipv4/conf/all/forwarding", "1");
        let old = without_managed_neighbours(&d);
        let neighs: Vec<&Neigh> = old.neighbours.values().collect();
        assert_eq!(
            neighs,
            [&Neigh::new("br-pe-110", "10.0.0.6".parse().unwrap(), mac)]
        );
        let keys: Vec<&String> = old.sysctls.keys().collect();
        assert_eq!(keys, ["net/ipv4/conf/all/forwarding"]);
    }

    #[test]
    fn only_managed_entries_with_a_mac_are_released() {
        let ip = "10.0.0.5".parse().unwrap();
        let mac = MacAddr([2, 0, 0, 0, 0, 5]);
        assert!(releases(&Neigh::managed("br", ip, mac)));
        assert!(!releases(&Neigh::managed("br", ip, MacAddr::ZERO)));
        assert!(!releases(&Neigh::new("br", ip, mac)));
        let m = release_message(&Neigh::managed("br", ip, mac), 7);
        assert_eq!(
            (m.header.ifindex, m.header.state, m.header.flags),
            (7, NeighbourState::Stale, NeighbourFlags::empty())
        );
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, NeighbourAttribute::ExtFlags(_))),
            "no NDA_FLAGS_EXT: clears the managed flag"
        );
        assert_eq!(neigh_mac(&m.attributes), Some(mac));
    }
}
