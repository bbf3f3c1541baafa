//! Neighbour discovery for BGP unnumbered: IPv6 Router Advertisements on a link, as FRR does it.
//!
//! A neighbour given by interface (`neighbor eth1 interface remote-as external` in FRR) is
//! reached at the IPv6 link-local address of the other end of the link, and both ends learn
//! that address from the Router Advertisements (RAs) the other sends. [`run`] is one link's
//! speaker: it sends RAs to ff02::1 every [`RaConfig::interval`] (one at once, and a Router
//! Solicitation so that the peer answers at once), answers Router Solicitations, listens for
//! the peer's RAs and publishes the sender's link-local address on a watch channel.
//!
//! What FRR 8.4 does (read in its source; the speaker interoperates with it):
//!
//! * bgpd asks zebra to send RAs on every interface with an interface neighbour
//!   (`ZEBRA_INTERFACE_ENABLE_RADV`, `bgp_zebra_initiate_radv`, and
//!   `bgp_nht_register_enhe_capability_interfaces` for ENHE), with an interval of
//!   `BGP_UNNUM_DEFAULT_RA_INTERVAL` = 10 s; zebra lowers its interval (default 600 s) to that
//!   unless `ipv6 nd ra-interval` was configured.
//! * zebra's RA (`rtadv_send_packet`): to ff02::1 with hop limit 255 (unicast and multicast
//!   hops both set to 255), type 134 code 0, Cur Hop Limit 64, flags 0, Router Lifetime
//!   `AdvDefaultLifetime`, which by default is max(1 s, 3 × the interval) — 30 s for BGP's
//!   10 s — Reachable Time 0, Retrans Timer 0, and a Source Link-Layer Address option with
//!   the interface's MAC.
//! * zebra's receive path (`rtadv_process_packet`, `rtadv_process_advert`): only on interfaces
//!   where it sends RAs itself; it reads the hop limit from `IPV6_HOPLIMIT` ancillary data and
//!   drops anything but 255; an RA whose source is link-local adds that source to the
//!   interface's connected neighbours (`nbr_connected_add_ipv6`), which zebra hands to bgpd
//!   as the interface neighbour's address. The Router Lifetime is not looked at. zebra warns
//!   (at most every 6 h) when an RA's Cur Hop Limit, Reachable Time or Retrans Timer differ
//!   from its own (64, 0, 0), so ours are those. zebra answers a Router Solicitation with an
//!   RA, at most one per 3 s unless fast retransmits are on. `show interface IF json` lists
//!   what it learned as `neighborIpAddresses`.
//!
//! Our Router Lifetime defaults to 0 ("not a default router", RFC 4861 §4.2, §6.3.4): zebra
//! ignores the field, and a non-zero value makes a Linux host on the link with `accept_ra`
//! and forwarding off install a default route through us (FRR's 30 s does exactly that).
//! Set [`RaConfig::router_lifetime`] to 30 to send what FRR sends.
//!
//! The kernel computes the ICMPv6 checksum of a raw ICMPv6 socket's messages itself (Linux
//! sets the raw socket's checksum offset 2 for `IPPROTO_ICMPV6`, RFC 3542 §3.1) and drops
//! received ones whose checksum is wrong. The kernel's own RA handling (`accept_ra`,
//! forwarding) does not affect what a raw socket receives. Received RAs are filtered here,
//! not with `ICMP6_FILTER`, which neither socket2 nor nix exposes without unsafe code: the
//! socket also sees the link's other ICMPv6 messages (neighbour discovery, MLD), and drops
//! them.

use std::io::{self, IoSliceMut};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn6};
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, trace, warn};

/// All-nodes multicast: where RAs go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// All-routers multicast: where Router Solicitations go.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// ICMPv6 Router Solicitation.
pub const ND_ROUTER_SOLICIT: u8 = 133;
/// ICMPv6 Router Advertisement.
pub const ND_ROUTER_ADVERT: u8 = 134;
/// The hop limit every neighbour discovery message is sent and must be received with
/// (RFC 4861 §6.1): a message with 255 cannot have crossed a router.
pub const ND_HOP_LIMIT: u8 = 255;
/// The Cur Hop Limit our RAs carry: zebra's default (`RTADV_DEFAULT_HOPLIMIT`), so that zebra
/// does not warn about a mismatch.
pub const CUR_HOP_LIMIT: u8 = 64;

/// Source Link-Layer Address option.
const ND_OPT_SOURCE_LINKADDR: u8 = 1;
/// Type, code, checksum, Cur Hop Limit, flags, Router Lifetime, Reachable Time, Retrans Timer.
const RA_HEADER_LEN: usize = 16;
/// Type, code, checksum, reserved.
const RS_HEADER_LEN: usize = 8;
/// RFC 4861 §10: at most one solicited RA per 3 s (zebra: `MIN_DELAY_BETWEEN_RAS`).
const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// RFC 4861 §10: a host sends up to 3 solicitations, 4 s apart.
const MAX_RTR_SOLICITATIONS: u32 = 3;
const RTR_SOLICITATION_INTERVAL: Duration = Duration::from_secs(4);
/// After a failed send (typically: no usable link-local address yet while DAD runs, or the
/// link is down), try again this soon rather than a whole interval later.
const RETRY_AFTER_SEND_ERROR: Duration = Duration::from_secs(1);
/// Failed sends in a row before a warning: DAD makes the first second or two fail normally.
const FAILURES_BEFORE_WARNING: u32 = 5;
/// The shortest interval accepted; a shorter one (zero) would be a busy loop.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The receive buffer; FRR uses the same. A longer message is dropped.
const RECV_BUFFER: usize = 4096;

/// `IFA_F_*` flags of an address that cannot be used yet or at all.
const IFA_F_DADFAILED: u32 = 0x08;
const IFA_F_TENTATIVE: u32 = 0x40;
/// `RT_SCOPE_LINK` as /proc/net/if_inet6 shows it (`IPV6_ADDR_LINKLOCAL`).
const SCOPE_LINK: u32 = 0x20;

/// What our RAs say and how often they go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaConfig {
    /// The interval between unsolicited RAs. FRR's bgpd asks zebra for 10 s
    /// (`BGP_UNNUM_DEFAULT_RA_INTERVAL`); that is the default.
    pub interval: Duration,
    /// The Router Lifetime field, in seconds. 0 (the default) means "not a default router":
    /// hosts on the link do not route through us, and FRR does not read the field. FRR itself
    /// sends 3 × the interval (30 s for BGP unnumbered). RFC 4861 wants 0 or at least the
    /// interval (at most 9000 s).
    pub router_lifetime: u16,
}

impl Default for RaConfig {
    fn default() -> Self {
        RaConfig {
            interval: Duration::from_secs(10),
            router_lifetime: 0,
        }
    }
}

/// The peer found on a link: the link-local address its RAs come from, and our interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerLinkLocal {
    /// The peer's link-local address (fe80::/10), the address to open the BGP session to.
    pub addr: Ipv6Addr,
    /// Our interface's index: the scope id of `addr`.
    pub ifindex: u32,
}

impl PeerLinkLocal {
    /// The socket address of the peer's `port` (179 for BGP), scoped to the interface.
    pub fn socket_addr(&self, port: u16) -> SocketAddrV6 {
        SocketAddrV6::new(self.addr, port, 0, self.ifindex)
    }
}

/// A failure of the speaker, naming the interface and what was being done.
#[derive(Debug, thiserror::Error)]
pub enum UnnumberedError {
    /// A system call on the interface failed.
    #[error("interface {ifname}: {op}: {source}")]
    Io {
        /// The interface.
        ifname: String,
        /// What failed, e.g. "opening the raw ICMPv6 socket".
        op: &'static str,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The interface went away under the speaker (deleted, or re-created with a new index):
    /// start a new speaker when it is back.
    #[error("interface {ifname}: {why}; sending failed: {source}")]
    Gone {
        /// The interface.
        ifname: String,
        /// What happened to it.
        why: String,
        /// The failed send's error.
        #[source]
        source: io::Error,
    },
}

impl UnnumberedError {
    fn io<'a>(ifname: &'a str, op: &'static str) -> impl FnOnce(io::Error) -> UnnumberedError + 'a {
        move |source| UnnumberedError::Io {
            ifname: ifname.to_string(),
            op,
            source,
        }
    }
}

/// The index of interface `ifname` in the calling thread's network namespace.
pub fn ifindex(ifname: &str) -> Result<u32, UnnumberedError> {
    nix::net::if_::if_nametoindex(ifname)
        .map_err(io::Error::from)
        .map_err(UnnumberedError::io(
            ifname,
            "looking up the interface index",
        ))
}

/// Our usable link-local address on `ifname`: the first one that is neither tentative (DAD
/// still running) nor failed DAD, or `None` when there is none yet. An error when the
/// interface does not exist.
///
/// Read from `/proc/thread-self/net/if_inet6`, which shows the calling thread's network
/// namespace (`/proc/net` follows the process's main thread).
pub fn link_local_of(ifname: &str) -> Result<Option<Ipv6Addr>, UnnumberedError> {
    ifindex(ifname)?;
    let all =
        link_locals(ifname).map_err(UnnumberedError::io(ifname, "reading its IPv6 addresses"))?;
    Ok(all
        .into_iter()
        .find(|(_, flags)| flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) == 0)
        .map(|(addr, _)| addr))
}

/// The MAC address of `ifname`, or `None` when it has no 6-byte link-layer address.
///
/// Read with `getifaddrs` (netlink), which answers for the calling thread's network
/// namespace; `/sys/class/net` shows the namespace sysfs was mounted in, which a thread that
/// entered another namespace with `setns` does not see.
pub fn mac_of(ifname: &str) -> Result<Option<[u8; 6]>, UnnumberedError> {
    let addrs = nix::ifaddrs::getifaddrs()
        .map_err(io::Error::from)
        .map_err(UnnumberedError::io(ifname, "listing interface addresses"))?;
    Ok(addrs
        .filter(|a| a.interface_name == ifname)
        .filter_map(|a| {
            let link = *a.address?.as_link_addr()?;
            (link.halen() == 6).then(|| link.addr()).flatten()
        })
        .find(|mac| *mac != [0; 6]))
}

/// Every link-local address of `ifname` with its `IFA_F_*` flags, tentative ones included.
fn link_locals(ifname: &str) -> io::Result<Vec<(Ipv6Addr, u32)>> {
    let text = match std::fs::read_to_string("/proc/thread-self/net/if_inet6") {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Linux before 3.17 has no /proc/thread-self.
            std::fs::read_to_string("/proc/self/net/if_inet6")
        }
        other => other,
    };
    let text = match text {
        Ok(t) => t,
        // No IPv6 at all (disabled): no addresses.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(parse_if_inet6(&text, ifname))
}

/// Link-scope addresses of `ifname` in the text of /proc/net/if_inet6 (lines of: address in
/// 32 hex digits, ifindex, prefix length, scope, flags, name).
fn parse_if_inet6(text: &str, ifname: &str) -> Vec<(Ipv6Addr, u32)> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (addr, _index, _plen, scope, flags, name) = (
                f.next()?,
                f.next()?,
                f.next()?,
                f.next()?,
                f.next()?,
                f.next()?,
            );
            if name != ifname || u32::from_str_radix(scope, 16).ok()? != SCOPE_LINK {
                return None;
            }
            let addr = Ipv6Addr::from(u128::from_str_radix(addr, 16).ok()?);
            is_link_local(&addr).then_some((addr, u32::from_str_radix(flags, 16).ok()?))
        })
        .collect()
}

/// Whether `addr` is in fe80::/10.
pub fn is_link_local(addr: &Ipv6Addr) -> bool {
    let [a, b, ..] = addr.octets();
    a == 0xfe && (b & 0xc0) == 0x80
}

/// A Router Advertisement: Cur Hop Limit 64, flags 0 (so Default Router Preference medium,
/// which RFC 4191 requires when the lifetime is 0), `router_lifetime`, Reachable Time and
/// Retrans Timer 0 (unspecified, as zebra sends them), and the Source Link-Layer Address
/// option when `mac` is known. The checksum is left 0 for the kernel to fill in.
pub fn router_advert(router_lifetime: u16, mac: Option<[u8; 6]>) -> Vec<u8> {
    let mut m = Vec::with_capacity(RA_HEADER_LEN + 8);
    m.extend_from_slice(&[ND_ROUTER_ADVERT, 0, 0, 0, CUR_HOP_LIMIT, 0]);
    m.extend_from_slice(&router_lifetime.to_be_bytes());
    m.extend_from_slice(&[0; 8]);
    push_source_lladdr(&mut m, mac);
    m
}

/// A Router Solicitation, with the Source Link-Layer Address option when `mac` is known.
pub fn router_solicit(mac: Option<[u8; 6]>) -> Vec<u8> {
    let mut m = Vec::with_capacity(RS_HEADER_LEN + 8);
    m.extend_from_slice(&[ND_ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0]);
    push_source_lladdr(&mut m, mac);
    m
}

fn push_source_lladdr(m: &mut Vec<u8>, mac: Option<[u8; 6]>) {
    if let Some(mac) = mac {
        // Type, length in units of 8 octets, the 6-byte address.
        m.extend_from_slice(&[ND_OPT_SOURCE_LINKADDR, 1]);
        m.extend_from_slice(&mac);
    }
}

/// A received router discovery message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdMessage {
    /// A Router Advertisement (type 134).
    RouterAdvert {
        /// Cur Hop Limit.
        cur_hop_limit: u8,
        /// The M, O, H, preference, … bits.
        flags: u8,
        /// Router Lifetime, seconds.
        router_lifetime: u16,
        /// The Source Link-Layer Address option, when present with a 6-byte address.
        source_lladdr: Option<[u8; 6]>,
    },
    /// A Router Solicitation (type 133).
    RouterSolicit {
        /// The Source Link-Layer Address option, when present with a 6-byte address.
        source_lladdr: Option<[u8; 6]>,
    },
}

/// Parses and validates an ICMPv6 message (without the IPv6 header, as a raw socket delivers
/// it) as a Router Advertisement or Solicitation, with the checks of RFC 4861 §6.1 that the
/// message itself allows: code 0, length, every option's length non-zero and inside the
/// message. The hop limit and source address are the caller's to check. Never panics.
pub fn parse_nd(msg: &[u8]) -> Result<NdMessage, &'static str> {
    let kind = *msg.first().ok_or("empty message")?;
    if msg.get(1) != Some(&0) {
        return Err("code is not 0");
    }
    match kind {
        ND_ROUTER_ADVERT => {
            let header = msg
                .get(..RA_HEADER_LEN)
                .ok_or("router advertisement too short")?;
            let (cur_hop_limit, flags, lifetime) = match header {
                [_, _, _, _, hl, fl, l0, l1, ..] => (*hl, *fl, u16::from_be_bytes([*l0, *l1])),
                _ => return Err("router advertisement too short"),
            };
            let source_lladdr = source_lladdr(msg.get(RA_HEADER_LEN..).unwrap_or(&[]))?;
            Ok(NdMessage::RouterAdvert {
                cur_hop_limit,
                flags,
                router_lifetime: lifetime,
                source_lladdr,
            })
        }
        ND_ROUTER_SOLICIT => {
            if msg.len() < RS_HEADER_LEN {
                return Err("router solicitation too short");
            }
            let source_lladdr = source_lladdr(msg.get(RS_HEADER_LEN..).unwrap_or(&[]))?;
            Ok(NdMessage::RouterSolicit { source_lladdr })
        }
        _ => Err("not a router advertisement or solicitation"),
    }
}

/// Walks the options, checking their lengths, and returns the Source Link-Layer Address.
fn source_lladdr(mut opts: &[u8]) -> Result<Option<[u8; 6]>, &'static str> {
    let mut found = None;
    while !opts.is_empty() {
        let (kind, units) = match opts {
            [kind, units, ..] => (*kind, usize::from(*units)),
            _ => return Err("truncated option"),
        };
        if units == 0 {
            return Err("option of length 0");
        }
        let (opt, rest) = opts
            .split_at_checked(units * 8)
            .ok_or("option runs past the message")?;
        if kind == ND_OPT_SOURCE_LINKADDR {
            if let [_, 1, a, b, c, d, e, f] = opt {
                found = Some([*a, *b, *c, *d, *e, *f]);
            }
        }
        opts = rest;
    }
    Ok(found)
}

/// One received message with what recvmsg told about it.
struct Received {
    len: usize,
    from: Option<SocketAddrV6>,
    hop_limit: Option<i32>,
    truncated: bool,
}

/// The raw ICMPv6 socket of one interface.
///
/// Held as a tokio `UdpSocket` only for its readiness machinery (`async_io`): every I/O on it
/// goes through socket2 / nix calls that suit any datagram socket. tokio's `AsyncFd` would be
/// the natural home, but registering a descriptor with it is now an `unsafe fn`.
struct RaSocket {
    ifname: String,
    ifindex: u32,
    sock: UdpSocket,
}

impl RaSocket {
    /// Opens and configures the socket; needs CAP_NET_RAW and a tokio runtime.
    fn open(ifname: &str) -> Result<RaSocket, UnnumberedError> {
        let ifindex = ifindex(ifname)?;
        let err = |op| UnnumberedError::io(ifname, op);
        let sock = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
            .map_err(err("opening the raw ICMPv6 socket (needs CAP_NET_RAW)"))?;
        // Receive only what arrives on this interface, send only out of it.
        sock.bind_device(Some(ifname.as_bytes()))
            .map_err(err("binding the socket to the interface (SO_BINDTODEVICE)"))?;
        sock.set_multicast_if_v6(ifindex)
            .map_err(err("setting IPV6_MULTICAST_IF"))?;
        sock.set_multicast_hops_v6(u32::from(ND_HOP_LIMIT))
            .map_err(err("setting IPV6_MULTICAST_HOPS to 255"))?;
        sock.set_unicast_hops_v6(u32::from(ND_HOP_LIMIT))
            .map_err(err("setting IPV6_UNICAST_HOPS to 255"))?;
        // Our own RAs are not news.
        sock.set_multicast_loop_v6(false)
            .map_err(err("clearing IPV6_MULTICAST_LOOP"))?;
        sock.set_recv_hoplimit_v6(true)
            .map_err(err("setting IPV6_RECVHOPLIMIT"))?;
        // Solicitations go to ff02::2, which the interface only listens to by itself when
        // forwarding is on.
        match sock.join_multicast_v6(&ALL_ROUTERS, ifindex) {
            Err(e) if e.raw_os_error() != Some(nix::libc::EADDRINUSE) => {
                return Err(err("joining ff02::2 (all routers)")(e));
            }
            _ => {}
        }
        sock.set_nonblocking(true)
            .map_err(err("making the socket non-blocking"))?;
        let sock = UdpSocket::from_std(std::net::UdpSocket::from(sock))
            .map_err(err("registering the socket with tokio"))?;
        Ok(RaSocket {
            ifname: ifname.to_string(),
            ifindex,
            sock,
        })
    }

    async fn send(&self, msg: &[u8], dst: Ipv6Addr) -> io::Result<()> {
        let to = SockAddr::from(SocketAddrV6::new(dst, 0, 0, self.ifindex));
        let sock = SockRef::from(&self.sock);
        self.sock
            .async_io(Interest::WRITABLE, || sock.send_to(msg, &to))
            .await
            .map(|_| ())
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        self.sock
            .async_io(Interest::READABLE, || recv_once(&self.sock, buf))
            .await
    }
}

fn recv_once(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
    let mut cmsg = nix::cmsg_space!(nix::libc::c_int);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn6>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let hop_limit = msg.cmsgs().ok().and_then(|mut cmsgs| {
        cmsgs.find_map(|c| match c {
            ControlMessageOwned::Ipv6HopLimit(h) => Some(h),
            _ => None,
        })
    });
    Ok(Received {
        len: msg.bytes,
        from: msg.address.map(SocketAddrV6::from),
        hop_limit,
        truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
    })
}

/// Whether a send error itself says the interface is gone.
fn interface_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::ENODEV) | Some(nix::libc::ENXIO)
    )
}

/// Runs the RA speaker of interface `ifname` until every receiver of `found` is dropped
/// (then `Ok`), or until the interface disappears or is re-created (noticed at the next send,
/// which then fails), or the socket fails (then `Err`); the caller starts it again when the
/// interface is back.
///
/// Sends an RA and a Router Solicitation at once, then an RA every `cfg.interval` (a failed
/// send is retried after 1 s), answers solicitations (at most one answer per 3 s), and
/// publishes on `found` the link-local source of every valid RA from someone else: hop limit
/// 255, source in fe80::/10 and not one of our addresses, type 134 code 0, well-formed
/// options. When a different address sends RAs, the latest one is published (a BGP
/// unnumbered link has one peer); a peer that goes quiet is not withdrawn, as in zebra,
/// which forgets learned neighbours only when the interface goes down.
///
/// Needs CAP_NET_RAW; the socket is opened in the calling thread's network namespace.
/// Cancel-safe: dropping the future closes the socket.
pub async fn run(
    ifname: String,
    cfg: RaConfig,
    found: watch::Sender<Option<PeerLinkLocal>>,
) -> Result<(), UnnumberedError> {
    let sock = RaSocket::open(&ifname)?;
    let interval = if cfg.interval < MIN_INTERVAL {
        warn!(interface = %ifname, interval = ?cfg.interval, min = ?MIN_INTERVAL,
            "router advertisement interval too short; using the minimum");
        MIN_INTERVAL
    } else {
        cfg.interval
    };
    if cfg.router_lifetime != 0 && Duration::from_secs(cfg.router_lifetime.into()) < interval {
        warn!(interface = %ifname, router_lifetime = cfg.router_lifetime, interval = ?interval,
            "router lifetime shorter than the advertisement interval (RFC 4861 wants 0 or at least the interval)");
    }
    info!(interface = %ifname, ifindex = sock.ifindex, interval = ?interval,
        router_lifetime = cfg.router_lifetime, "BGP unnumbered neighbour discovery started");

    let mut speaker = Speaker {
        sock,
        router_lifetime: cfg.router_lifetime,
        interval,
        found,
        next_ra: Instant::now(),
        last_ra: None,
        next_rs: Some(Instant::now()),
        solicitations_left: MAX_RTR_SOLICITATIONS,
        failures: 0,
    };
    speaker.run().await
}

/// One link's speaker state.
struct Speaker {
    sock: RaSocket,
    router_lifetime: u16,
    interval: Duration,
    found: watch::Sender<Option<PeerLinkLocal>>,
    /// When the next RA is due.
    next_ra: Instant,
    /// When the last RA went out.
    last_ra: Option<Instant>,
    /// When the next solicitation is due, while we have solicitations left and no peer.
    next_rs: Option<Instant>,
    solicitations_left: u32,
    /// Sends failed in a row.
    failures: u32,
}

impl Speaker {
    async fn run(&mut self) -> Result<(), UnnumberedError> {
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            let deadline = match self.next_rs {
                Some(rs) => rs.min(self.next_ra),
                None => self.next_ra,
            };
            tokio::select! {
                () = self.found.closed() => {
                    info!(interface = %self.sock.ifname, "BGP unnumbered neighbour discovery stopped");
                    return Ok(());
                }
                () = tokio::time::sleep_until(deadline) => self.on_timer().await?,
                got = self.sock.recv(&mut buf) => {
                    let got = got.map_err(UnnumberedError::io(&self.sock.ifname, "receiving"))?;
                    let msg = buf.get(..got.len).unwrap_or(&[]);
                    self.on_message(&got, msg);
                }
            }
        }
    }

    async fn on_timer(&mut self) -> Result<(), UnnumberedError> {
        let now = Instant::now();
        if now >= self.next_ra {
            let ra = router_advert(self.router_lifetime, self.mac());
            match self.sock.send(&ra, ALL_NODES).await {
                Ok(()) => {
                    trace!(interface = %self.sock.ifname, "sent router advertisement");
                    self.sent_ok();
                    self.last_ra = Some(now);
                    self.next_ra = now + self.interval;
                }
                Err(e) => {
                    self.send_failed("router advertisement", e)?;
                    self.next_ra = now + RETRY_AFTER_SEND_ERROR;
                }
            }
        }
        if let Some(due) = self.next_rs {
            if self.found.borrow().is_some() || self.solicitations_left == 0 {
                self.next_rs = None;
            } else if now >= due {
                let rs = router_solicit(self.mac());
                match self.sock.send(&rs, ALL_ROUTERS).await {
                    Ok(()) => {
                        debug!(interface = %self.sock.ifname, "sent router solicitation");
                        self.sent_ok();
                        self.solicitations_left = self.solicitations_left.saturating_sub(1);
                        self.next_rs = (self.solicitations_left > 0)
                            .then_some(now + RTR_SOLICITATION_INTERVAL);
                    }
                    Err(e) => {
                        self.send_failed("router solicitation", e)?;
                        self.next_rs = Some(now + RETRY_AFTER_SEND_ERROR);
                    }
                }
            }
        }
        Ok(())
    }

    /// Our MAC for the Source Link-Layer Address option, looked up per message so that a
    /// changed MAC is followed; without one the option is left out (it is optional).
    fn mac(&self) -> Option<[u8; 6]> {
        match mac_of(&self.sock.ifname) {
            Ok(mac) => mac,
            Err(e) => {
                debug!(interface = %self.sock.ifname, error = %e, "no MAC address for the source link-layer address option");
                None
            }
        }
    }

    fn sent_ok(&mut self) {
        if self.failures >= FAILURES_BEFORE_WARNING {
            info!(interface = %self.sock.ifname, failures = self.failures, "sending router discovery messages works again");
        }
        self.failures = 0;
    }

    /// Logs a failed send (debug, and one warning when a run of failures lasts), and turns a
    /// vanished interface into the speaker's end.
    fn send_failed(&mut self, what: &'static str, e: io::Error) -> Result<(), UnnumberedError> {
        let ifname = self.sock.ifname.as_str();
        // A deleted interface shows as ENETUNREACH on the bound socket: look it up again.
        let gone = match nix::net::if_::if_nametoindex(ifname) {
            _ if interface_gone(&e) => Some("deleted".to_string()),
            Ok(index) if index == self.sock.ifindex => None,
            Ok(index) => Some(format!(
                "re-created with index {index}, was {}",
                self.sock.ifindex
            )),
            Err(errno) => Some(format!("deleted: {}", errno.desc())),
        };
        if let Some(why) = gone {
            return Err(UnnumberedError::Gone {
                ifname: ifname.to_string(),
                why,
                source: e,
            });
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures == FAILURES_BEFORE_WARNING {
            warn!(interface = %ifname, error = %e, failures = self.failures,
                "cannot send {what} (no usable link-local address, or the link is down?); retrying every second");
        } else {
            debug!(interface = %ifname, error = %e, "cannot send {what}; retrying");
        }
        Ok(())
    }

    fn on_message(&mut self, got: &Received, msg: &[u8]) {
        let ifname = self.sock.ifname.as_str();
        let Some(from) = got.from else {
            debug!(interface = %ifname, "ICMPv6 message without a source address; ignored");
            return;
        };
        let src = *from.ip();
        // Cheap first: the socket also sees the link's neighbour solicitations and MLD.
        match msg.first() {
            Some(&ND_ROUTER_ADVERT) | Some(&ND_ROUTER_SOLICIT) => {}
            _ => return,
        }
        if got.truncated {
            debug!(interface = %ifname, from = %src, "router discovery message longer than {RECV_BUFFER} bytes; ignored");
            return;
        }
        match got.hop_limit {
            Some(255) => {}
            Some(h) => {
                debug!(interface = %ifname, from = %src, hop_limit = h, "router discovery message with hop limit other than 255; ignored");
                return;
            }
            // Asked for with IPV6_RECVHOPLIMIT, so always there on Linux; zebra too accepts
            // a message whose hop limit it could not learn.
            None => debug!(interface = %ifname, from = %src, "no hop limit in the ancillary data"),
        }
        let parsed = match parse_nd(msg) {
            Ok(m) => m,
            Err(why) => {
                debug!(interface = %ifname, from = %src, reason = why, "invalid router discovery message; ignored");
                return;
            }
        };
        match parsed {
            NdMessage::RouterSolicit { source_lladdr } => self.on_solicit(src, source_lladdr),
            NdMessage::RouterAdvert {
                router_lifetime, ..
            } => self.on_advert(src, router_lifetime),
        }
    }

    /// Answers a solicitation with a multicast RA: at once when the last one went out at
    /// least 3 s ago, otherwise 3 s after it (RFC 4861 §6.2.6, as zebra does).
    fn on_solicit(&mut self, src: Ipv6Addr, source_lladdr: Option<[u8; 6]>) {
        if src.is_unspecified() && source_lladdr.is_some() {
            // RFC 4861 §6.1.1.
            debug!(interface = %self.sock.ifname, "router solicitation from :: with a link-layer address; ignored");
            return;
        }
        if self.is_ours(src) {
            return;
        }
        let now = Instant::now();
        let due = match self.last_ra {
            Some(last) if now < last + MIN_DELAY_BETWEEN_RAS => last + MIN_DELAY_BETWEEN_RAS,
            _ => now,
        };
        debug!(interface = %self.sock.ifname, from = %src, "router solicitation; answering");
        self.next_ra = self.next_ra.min(due);
    }

    fn on_advert(&mut self, src: Ipv6Addr, router_lifetime: u16) {
        let ifname = self.sock.ifname.as_str();
        if !is_link_local(&src) {
            debug!(interface = %ifname, from = %src, "router advertisement from a non-link-local address; ignored");
            return;
        }
        if self.is_ours(src) {
            return;
        }
        let peer = PeerLinkLocal {
            addr: src,
            ifindex: self.sock.ifindex,
        };
        trace!(interface = %ifname, from = %src, router_lifetime, "router advertisement");
        let mut previous = None;
        let changed = self.found.send_if_modified(|cur| {
            if *cur == Some(peer) {
                return false;
            }
            previous = cur.replace(peer);
            true
        });
        if changed {
            match previous {
                None => info!(interface = %ifname, peer = %src, "BGP unnumbered peer found"),
                Some(old) => {
                    info!(interface = %ifname, peer = %src, previous = %old.addr, "BGP unnumbered peer changed")
                }
            }
        }
    }

    /// Whether `addr` is one of our own addresses on the link (tentative ones included).
    fn is_ours(&self, addr: Ipv6Addr) -> bool {
        match link_locals(&self.sock.ifname) {
            Ok(ours) => ours.iter().any(|(a, _)| *a == addr),
            Err(e) => {
                debug!(interface = %self.sock.ifname, error = %e, "cannot read our link-local addresses");
                false
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

    #[test]
    fn router_advert_layout() {
        let ra = router_advert(30, Some(MAC));
        assert_eq!(
            ra,
            [
                134, 0, 0, 0, 64, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0, // header
                1, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, // source link-layer address
            ]
        );
        assert_eq!(router_advert(0, None).len(), 16);
        assert_eq!(
            parse_nd(&ra),
            Ok(NdMessage::RouterAdvert {
                cur_hop_limit: 64,
                flags: 0,
                router_lifetime: 30,
                source_lladdr: Some(MAC)
            })
        );
    }

    #[test]
    fn router_solicit_layout() {
        let rs = router_solicit(Some(MAC));
        assert_eq!(
            rs,
            [133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55]
        );
        assert_eq!(
            parse_nd(&rs),
            Ok(NdMessage::RouterSolicit {
                source_lladdr: Some(MAC)
            })
        );
        assert_eq!(
            parse_nd(&router_solicit(None)),
            Ok(NdMessage::RouterSolicit {
                source_lladdr: None
            })
        );
    }

    #[test]
    fn parses_zebra_style_advert_with_mtu_option() {
        // FRR with `ipv6 nd mtu 1500`: SLLA then MTU (type 5, length 1).
        let mut ra = vec![
            134, 0, 0x12, 0x34, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        ra.extend_from_slice(&[1, 1, 0xc6, 0xdf, 0xf0, 0xa7, 0xf3, 0x2f]);
        ra.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0xdc]);
        assert_eq!(
            parse_nd(&ra),
            Ok(NdMessage::RouterAdvert {
                cur_hop_limit: 64,
                flags: 0,
                router_lifetime: 1800,
                source_lladdr: Some([0xc6, 0xdf, 0xf0, 0xa7, 0xf3, 0x2f])
            })
        );
    }

    #[test]
    fn rejects_malformed_messages_without_panicking() {
        assert!(parse_nd(&[]).is_err());
        assert!(parse_nd(&[134]).is_err());
        assert!(parse_nd(&[134, 1, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err()); // code 1
        assert!(parse_nd(&[134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err()); // 15 bytes
        assert!(parse_nd(&[133, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(parse_nd(&[135, 0, 0, 0, 0, 0, 0, 0]).is_err()); // neighbour solicitation
        let base = router_advert(0, None);
        for opts in [
            &[1u8][..],                // truncated option header
            &[1, 0, 0, 0, 0, 0, 0, 0], // zero length
            &[1, 2, 1, 2, 3, 4, 5, 6], // runs past the end
            &[1, 1, 1, 2, 3, 4, 5],    // 7 bytes
        ] {
            let mut m = base.clone();
            m.extend_from_slice(opts);
            assert!(parse_nd(&m).is_err(), "{opts:?}");
        }
        // Every prefix of a valid message and some noise: no panic.
        let mut ra = router_advert(0, Some(MAC));
        ra.extend_from_slice(&[5, 1, 0, 0, 0, 0, 5, 220]);
        for n in 0..=ra.len() {
            let _ = parse_nd(ra.get(..n).unwrap());
        }
        for seed in 0u32..2000 {
            let bytes: Vec<u8> = (0..(seed % 40))
                .map(|i| (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 97) >> 7) as u8)
                .collect();
            let mut m = vec![134, 0];
            m.extend_from_slice(&bytes);
            let _ = parse_nd(&m);
        }
    }

    #[test]
    fn unknown_options_and_wider_link_layer_addresses_are_skipped() {
        let mut ra = router_advert(0, None);
        ra.extend_from_slice(&[1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0]); // 8-byte lladdr
        ra.extend_from_slice(&[200, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            parse_nd(&ra),
            Ok(NdMessage::RouterAdvert {
                cur_hop_limit: 64,
                flags: 0,
                router_lifetime: 0,
                source_lladdr: None
            })
        );
    }

    #[test]
    fn link_local_test() {
        assert!(is_link_local(&"fe80::1".parse().unwrap()));
        assert!(is_link_local(&"febf::1".parse().unwrap()));
        assert!(!is_link_local(&"fec0::1".parse().unwrap()));
        assert!(!is_link_local(&"fd00::1".parse().unwrap()));
        assert!(!is_link_local(&"::".parse().unwrap()));
    }

    #[test]
    fn parses_proc_if_inet6() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\n\
                    fe80000000000000c4dff0fffea7f32f 02 40 20 c0    veth0\n\
                    fe800000000000000000000000000002 02 40 20 80    veth0\n\
                    fd000000000000000000000000000001 02 40 00 80    veth0\n\
                    fe800000000000000000000000000009 03 40 20 80    veth10\n\
                    garbage\n";
        assert_eq!(
            parse_if_inet6(text, "veth0"),
            vec![
                ("fe80::c4df:f0ff:fea7:f32f".parse().unwrap(), 0xc0),
                ("fe80::2".parse().unwrap(), 0x80)
            ]
        );
    }

    #[test]
    fn run_is_spawnable() {
        fn send<T: Send + 'static>(_: &T) {}
        let (tx, _rx) = watch::channel(None);
        let fut = run("lo".into(), RaConfig::default(), tx);
        send(&fut);
    }
}
