//! The TCP transport under BGP sessions: the listening socket, outgoing connections, and the
//! per-peer socket options a BGP speaker needs that plain `TcpStream::connect` cannot express.
//!
//! | option | socket option (Linux) | what it does |
//! |---|---|---|
//! | [`SocketOptions::md5_password`] | `TCP_MD5SIG` / `TCP_MD5SIG_EXT` | RFC 2385 TCP-MD5 signatures: every segment to and from the peer carries an MD5 digest keyed with a shared password; the kernel silently drops segments with a missing or wrong digest, so a session with mismatched keys never gets past the SYN. |
//! | [`SocketOptions::ttl`] | `IP_TTL` / `IPV6_UNICAST_HOPS` | the TTL (hop limit) of the packets we send. eBGP peers are one hop away unless configured for multihop (RFC 4271 §5.1.3 leaves this to configuration; speakers use TTL 1 by default); GTSM peers send 255. |
//! | [`SocketOptions::min_ttl`] | `IP_MINTTL` / `IPV6_MINHOPCOUNT` | RFC 5082 GTSM: the kernel drops received packets whose TTL is below this value. A peer `n` hops away that sends with TTL 255 arrives with `256 - n`; that is the value to pass (255 for a directly connected peer). |
//! | [`SocketOptions::local_addr`] | `bind(2)` before `connect(2)` | "update-source": the connection comes from this address (a loopback, for iBGP between loopbacks). |
//! | [`SocketOptions::device`] | `SO_BINDTODEVICE` | the socket only uses this interface: for link-local (unnumbered) peers and VRFs. |
//!
//! Outgoing connections: [`connect`] creates the socket, applies every option *before*
//! `connect(2)` (an MD5 key or a minimum TTL installed afterwards would miss the handshake),
//! binds the update-source, and connects without blocking under a timeout.
//!
//! Incoming connections: a [`Listener`] is shared by all peers, so its options are per peer
//! where the kernel allows it: [`Listener::set_md5`] installs one key per peer address (or per
//! prefix, for dynamic-neighbour listen ranges); the kernel copies the matching key into each
//! accepted socket. TTL and GTSM are socket-wide, so they are applied per accepted stream with
//! [`apply_accepted`] — the handshake of a GTSM peer is then accepted whatever its TTL, but the
//! kernel drops every later segment below the minimum, so no BGP message gets through. A
//! listener that serves only GTSM peers can drop the SYNs themselves with
//! [`Listener::set_min_ttl`], and [`Listener::set_ttl`] sets the TTL of the SYN-ACK (a peer
//! that enables GTSM before connecting drops a SYN-ACK that does not arrive with TTL 255).
//!
//! Addresses: a dual-stack listener (`[::]`) sees IPv4 peers as IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`). [`canonical`] unmaps them; [`Listener::accept`] reports peers in that
//! canonical form, and [`Listener::set_md5`] takes either form and installs the key the way the
//! kernel matches it (as an IPv4-mapped `sockaddr_in6` on an IPv6 socket).
//!
//! Errors name the option, the address and the kernel's error. Keys are never logged or shown by
//! `Debug`.
//!
//! Linux only: `TCP_MD5SIG`, `IP_MINTTL` and `SO_BINDTODEVICE` are Linux socket options.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// The longest TCP-MD5 key the kernel accepts, in bytes (`TCP_MD5SIG_MAXKEYLEN`).
pub const MD5_MAX_KEY_LEN: usize = 80;

/// Longest interface name `SO_BINDTODEVICE` takes (`IFNAMSIZ - 1`); the kernel silently
/// truncates longer ones, which could bind to the wrong interface, so they are refused.
const MAX_DEVICE_NAME_LEN: usize = 15;

/// Backlog of the listening socket.
const LISTEN_BACKLOG: i32 = 128;

/// Per-peer options of a BGP transport connection. The default is a plain TCP connection.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// RFC 2385 TCP-MD5 password shared with the peer (`TCP_MD5SIG`, installed for the peer's
    /// address before connecting). At most [`MD5_MAX_KEY_LEN`] bytes; empty is an error (no key
    /// is `None`).
    pub md5_password: Option<String>,
    /// TTL / IPv6 hop limit of the packets we send (`IP_TTL`, `IPV6_UNICAST_HOPS`), 1 to 255.
    /// The caller decides: 1 for single-hop eBGP, the multihop count for eBGP multihop, 255 for
    /// GTSM; `None` keeps the system default.
    pub ttl: Option<u8>,
    /// RFC 5082 GTSM: the minimum TTL / hop limit of received packets (`IP_MINTTL`,
    /// `IPV6_MINHOPCOUNT`); below it the kernel drops them. For a peer `n` hops away that sends
    /// with 255, pass `256 - n` (255 for a directly connected peer). `None` or `Some(0)`: off.
    pub min_ttl: Option<u8>,
    /// Update-source: the local address to connect from (bound before `connect(2)`, any port).
    pub local_addr: Option<IpAddr>,
    /// `SO_BINDTODEVICE`: the interface the connection must use (link-local and unnumbered
    /// peers, VRF devices).
    pub device: Option<String>,
}

impl fmt::Debug for SocketOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketOptions")
            .field(
                "md5_password",
                &self.md5_password.as_ref().map(|_| "<redacted>"),
            )
            .field("ttl", &self.ttl)
            .field("min_ttl", &self.min_ttl)
            .field("local_addr", &self.local_addr)
            .field("device", &self.device)
            .finish()
    }
}

/// Why a transport operation failed. Each variant names the socket option or operation and the
/// address involved; the kernel's error, where there is one, is part of the message (and not
/// repeated as a `source`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// `socket(2)` failed.
    #[error("cannot create a TCP socket for {addr}: {error}")]
    Socket {
        /// The address the socket was for.
        addr: SocketAddr,
        /// The kernel's error.
        error: io::Error,
    },
    /// A socket option was refused.
    #[error("cannot set {option} on the socket for {addr}: {error}")]
    SetOption {
        /// The option (`IP_TTL`, `IP_MINTTL`, ...).
        option: &'static str,
        /// The socket's address: the remote for a connection, the bound address of a listener.
        addr: SocketAddr,
        /// The kernel's error.
        error: io::Error,
    },
    /// `SO_BINDTODEVICE` failed, or the name cannot be an interface name.
    #[error("cannot bind the socket to device {device:?}: {error}")]
    Device {
        /// The interface name.
        device: String,
        /// The kernel's error (`ENODEV` for an unknown device), or why the name was refused.
        error: io::Error,
    },
    /// The kernel refused a TCP-MD5 key.
    #[error("cannot {} the TCP-MD5 key ({option}) for {peer}{}: {error}",
        if *.removing { "remove" } else { "install" },
        .prefix_len.map(|l| format!("/{l}")).unwrap_or_default())]
    Md5 {
        /// `TCP_MD5SIG` or `TCP_MD5SIG_EXT`.
        option: &'static str,
        /// The peer (or prefix) address.
        peer: IpAddr,
        /// The prefix length, for a key covering a range.
        prefix_len: Option<u8>,
        /// Whether the key was being removed.
        removing: bool,
        /// The kernel's error.
        error: io::Error,
    },
    /// The TCP-MD5 key is longer than the kernel's limit.
    #[error("the TCP-MD5 key for {peer} is {len} bytes, over the kernel's limit of {MD5_MAX_KEY_LEN} bytes (TCP_MD5SIG_MAXKEYLEN)")]
    Md5KeyTooLong {
        /// The peer the key was for.
        peer: IpAddr,
        /// The key's length in bytes.
        len: usize,
    },
    /// An empty TCP-MD5 key (the kernel reads it as "remove the key").
    #[error("empty TCP-MD5 key for {peer}: give no password for no key")]
    Md5KeyEmpty {
        /// The peer the key was for.
        peer: IpAddr,
    },
    /// A prefix length longer than the address (32 for IPv4, 128 for IPv6).
    #[error("prefix length /{prefix_len} is out of range for {peer}")]
    PrefixLen {
        /// The prefix's address.
        peer: IpAddr,
        /// The prefix length.
        prefix_len: u8,
    },
    /// An address of the other family than the socket's (an IPv6 peer on an IPv4 listener, an
    /// IPv4 update-source for an IPv6 peer).
    #[error("{what} {addr} is not of the address family of the socket for {socket}")]
    AddressFamily {
        /// What the address is ("update-source", "TCP-MD5 peer").
        what: &'static str,
        /// The address.
        addr: IpAddr,
        /// The socket's address.
        socket: SocketAddr,
    },
    /// A TTL of 0: nothing could be sent.
    #[error("TTL 0 for {addr}: the TTL must be 1 to 255")]
    ZeroTtl {
        /// The socket's address.
        addr: SocketAddr,
    },
    /// `bind(2)` failed (the listening address, or the update-source of a connection).
    #[error("cannot bind to {addr}: {error}")]
    Bind {
        /// The local address.
        addr: SocketAddr,
        /// The kernel's error.
        error: io::Error,
    },
    /// `listen(2)` failed.
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        /// The listening address.
        addr: SocketAddr,
        /// The kernel's error.
        error: io::Error,
    },
    /// A listener was created outside a tokio runtime.
    #[error("cannot listen on {addr}: not inside a tokio runtime")]
    NoRuntime {
        /// The listening address.
        addr: SocketAddr,
    },
    /// `connect(2)` failed (refused, unreachable, ...).
    #[error("cannot connect to {remote}: {error}")]
    Connect {
        /// The peer.
        remote: SocketAddr,
        /// The kernel's error.
        error: io::Error,
    },
    /// The connection was not established within the timeout (no answer, or answers dropped:
    /// a TCP-MD5 key or GTSM mismatch looks like this).
    #[error("cannot connect to {remote}: no connection within {timeout:?}")]
    ConnectTimeout {
        /// The peer.
        remote: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
}

/// The canonical form of a peer address: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a
/// dual-stack socket shows an IPv4 peer) becomes the IPv4 address; everything else is kept.
/// (IPv4-compatible addresses, `::a.b.c.d`, are deprecated and not unmapped.)
#[must_use]
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// [`canonical`] for a socket address (the port is kept).
fn canonical_socket(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(canonical(addr.ip()), addr.port())
}

/// Opens a TCP connection to a BGP peer with `opts` applied before the handshake: the device,
/// TTL, minimum TTL and MD5 key are set, the update-source is bound, then the socket connects
/// without blocking. Fails with [`TransportError::ConnectTimeout`] if the connection is not up
/// within `timeout` (which is what a TCP-MD5 or GTSM mismatch looks like: the peer's kernel
/// drops our SYN, or ours drops its SYN-ACK). The stream has `TCP_NODELAY` set.
///
/// An IPv4-mapped `remote` is connected to over IPv4.
///
/// # Panics
///
/// Like [`tokio::time::timeout`] and [`tokio::net::TcpSocket::connect`]: outside a tokio
/// runtime with I/O and time enabled.
pub async fn connect(
    remote: SocketAddr,
    opts: &SocketOptions,
    timeout: Duration,
) -> Result<TcpStream, TransportError> {
    let remote = match remote {
        SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_some() => canonical_socket(remote),
        _ => remote,
    };
    let socket = connecting_socket(remote, opts)?;
    let socket = TcpSocket::from_std_stream(socket.into());
    let stream = match tokio::time::timeout(timeout, socket.connect(remote)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => return Err(TransportError::Connect { remote, error }),
        Err(_) => return Err(TransportError::ConnectTimeout { remote, timeout }),
    };
    stream
        .set_nodelay(true)
        .map_err(|error| TransportError::SetOption {
            option: "TCP_NODELAY",
            addr: remote,
            error,
        })?;
    tracing::debug!(
        %remote,
        local = ?stream.local_addr().ok(),
        md5 = opts.md5_password.is_some(),
        ttl = ?opts.ttl,
        min_ttl = ?opts.min_ttl,
        device = ?opts.device,
        "bgp transport connected"
    );
    Ok(stream)
}

/// The socket of [`connect`], configured, bound and non-blocking, not yet connected.
fn connecting_socket(remote: SocketAddr, opts: &SocketOptions) -> Result<Socket, TransportError> {
    let local = match opts.local_addr.map(canonical) {
        Some(local) if local.is_ipv4() != remote.is_ipv4() => {
            return Err(TransportError::AddressFamily {
                what: "update-source",
                addr: local,
                socket: remote,
            })
        }
        local => local,
    };
    let socket = Socket::new(
        Domain::for_address(remote),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|error| TransportError::Socket {
        addr: remote,
        error,
    })?;
    let v6 = remote.is_ipv6();
    if let Some(device) = &opts.device {
        bind_device(&socket, device)?;
    }
    if let Some(ttl) = opts.ttl {
        set_ttl(&socket, v6, ttl, remote)?;
    }
    if let Some(min_ttl) = opts.min_ttl {
        set_min_ttl(&socket, v6, min_ttl, remote)?;
    }
    if let Some(password) = &opts.md5_password {
        set_md5(
            &socket,
            remote,
            v6,
            remote.ip(),
            None,
            Some(password.as_bytes()),
        )?;
    }
    if let Some(local) = local {
        let addr = match (local, remote) {
            // A link-local update-source takes the peer's scope (the device, if bound, does too).
            (IpAddr::V6(ip), SocketAddr::V6(r)) => {
                SocketAddr::V6(SocketAddrV6::new(ip, 0, 0, r.scope_id()))
            }
            _ => SocketAddr::new(local, 0),
        };
        socket
            .bind(&SockAddr::from(addr))
            .map_err(|error| TransportError::Bind { addr, error })?;
    }
    socket
        .set_nonblocking(true)
        .map_err(|error| TransportError::SetOption {
            option: "O_NONBLOCK",
            addr: remote,
            error,
        })?;
    Ok(socket)
}

/// Applies the per-peer TTL options of `opts` to an accepted connection: [`SocketOptions::ttl`]
/// (our TTL from now on) and [`SocketOptions::min_ttl`] (GTSM: the kernel drops the peer's
/// segments below it from now on, so a peer too far away or spoofed gets no message through).
///
/// The other options must be in place before the handshake and are ignored here: MD5 keys are
/// installed on the listener ([`Listener::set_md5`]) and copied by the kernel into the accepted
/// socket; the local address and device are the listener's.
pub fn apply_accepted(stream: &TcpStream, opts: &SocketOptions) -> Result<(), TransportError> {
    let peer = stream.peer_addr().map_or_else(
        |_| SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        canonical_socket,
    );
    let v6 = stream
        .local_addr()
        .map_err(|error| TransportError::SetOption {
            option: "getsockname",
            addr: peer,
            error,
        })?
        .is_ipv6();
    let socket = SockRef::from(stream);
    if let Some(ttl) = opts.ttl {
        set_ttl(&socket, v6, ttl, peer)?;
    }
    if let Some(min_ttl) = opts.min_ttl {
        set_min_ttl(&socket, v6, min_ttl, peer)?;
    }
    tracing::debug!(%peer, ttl = ?opts.ttl, min_ttl = ?opts.min_ttl, "bgp transport: accepted socket options set");
    Ok(())
}

/// The listening socket of a BGP speaker, shared by all its peers.
#[derive(Debug)]
pub struct Listener {
    inner: TcpListener,
    local: SocketAddr,
}

impl Listener {
    /// Binds and listens on `addr` with `SO_REUSEADDR`. The unspecified IPv6 address (`[::]`)
    /// makes a dual-stack listener (`IPV6_V6ONLY` off) that also accepts IPv4 peers; any other
    /// IPv6 address listens for IPv6 only. An IPv4-mapped address is bound as IPv4.
    ///
    /// # Panics
    ///
    /// If the current tokio runtime has I/O disabled (outside any runtime is an error).
    pub fn bind(addr: SocketAddr) -> Result<Listener, TransportError> {
        Listener::bind_on(addr, None)
    }

    /// [`Listener::bind`], with the socket bound to `device` first (`SO_BINDTODEVICE`): bound
    /// to a VRF device, the listener takes the connections that arrive on that VRF's
    /// interfaces (a socket of the default VRF does not, with `tcp_l3mdev_accept` off).
    /// An unknown device is [`TransportError::Device`] (`ENODEV`).
    ///
    /// # Panics
    ///
    /// As [`Listener::bind`].
    pub fn bind_on(addr: SocketAddr, device: Option<&str>) -> Result<Listener, TransportError> {
        let addr = canonical_socket(addr);
        // `TcpListener::from_std` panics outside a runtime: refuse before creating anything.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TransportError::NoRuntime { addr });
        }
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(|error| TransportError::Socket { addr, error })?;
        let option = |option| {
            move |error| TransportError::SetOption {
                option,
                addr,
                error,
            }
        };
        socket
            .set_reuse_address(true)
            .map_err(option("SO_REUSEADDR"))?;
        if let IpAddr::V6(ip) = addr.ip() {
            socket
                .set_only_v6(!ip.is_unspecified())
                .map_err(option("IPV6_V6ONLY"))?;
        }
        if let Some(device) = device {
            bind_device(&socket, device)?;
        }
        socket
            .bind(&SockAddr::from(addr))
            .map_err(|error| TransportError::Bind { addr, error })?;
        socket
            .listen(LISTEN_BACKLOG)
            .map_err(|error| TransportError::Listen { addr, error })?;
        socket.set_nonblocking(true).map_err(option("O_NONBLOCK"))?;
        let inner = TcpListener::from_std(socket.into())
            .map_err(|error| TransportError::Listen { addr, error })?;
        let local = inner
            .local_addr()
            .map_err(|error| TransportError::Listen { addr, error })?;
        tracing::debug!(%local, "bgp transport listening");
        Ok(Listener { inner, local })
    }

    /// Installs (`Some(password)`) or removes (`None`) the TCP-MD5 key for connections from
    /// `peer`, or, with `prefix_len`, from every address in `peer/prefix_len` (a listen range:
    /// `TCP_MD5SIG_EXT` with `TCP_MD5SIG_FLAG_PREFIX`; host bits are cleared). The most specific
    /// key matches. Once any key is installed, the kernel drops SYNs from addresses without one
    /// if they carry an MD5 option, and SYNs without the option from addresses with one.
    ///
    /// `peer` may be IPv4 or IPv4-mapped; on a dual-stack listener IPv4 keys are installed as
    /// IPv4-mapped addresses (the prefix length then counts IPv4 bits, at most 32), which is how
    /// the kernel matches them. Removing a key that is not installed succeeds.
    pub fn set_md5(
        &self,
        peer: IpAddr,
        prefix_len: Option<u8>,
        password: Option<&str>,
    ) -> Result<(), TransportError> {
        set_md5(
            &SockRef::from(&self.inner),
            self.local,
            self.local.is_ipv6(),
            peer,
            prefix_len,
            password.map(str::as_bytes),
        )
    }

    /// Sets the TTL / hop limit of what the listening socket sends — the SYN-ACK — and the
    /// initial TTL of accepted sockets (which [`apply_accepted`] can change per peer). A peer
    /// that enables GTSM before connecting (as [`connect`] does) drops a SYN-ACK that does not
    /// arrive with TTL 255, so a listener serving GTSM peers must send 255.
    pub fn set_ttl(&self, ttl: u8) -> Result<(), TransportError> {
        set_ttl(
            &SockRef::from(&self.inner),
            self.local.is_ipv6(),
            ttl,
            self.local,
        )
    }

    /// Sets GTSM on the listening socket itself (`IP_MINTTL` / `IPV6_MINHOPCOUNT`; `0` turns it
    /// off): SYNs arriving with a lower TTL are dropped, so no connection is even accepted, and
    /// accepted sockets inherit the minimum. It applies to every peer of this listener; for a
    /// per-peer minimum use [`apply_accepted`].
    pub fn set_min_ttl(&self, min_ttl: u8) -> Result<(), TransportError> {
        set_min_ttl(
            &SockRef::from(&self.inner),
            self.local.is_ipv6(),
            min_ttl,
            self.local,
        )
    }

    /// Accepts a connection. The peer address is in [`canonical`] form (an IPv4 peer of a
    /// dual-stack listener is reported as IPv4). The stream has `TCP_NODELAY` set.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, canonical_socket(peer)))
    }

    /// The address the listener is bound to (with the port the kernel chose for port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// `SO_BINDTODEVICE`, refusing names the kernel would truncate or misread.
fn bind_device(socket: &Socket, device: &str) -> Result<(), TransportError> {
    let invalid = |why: &str| TransportError::Device {
        device: device.to_owned(),
        error: io::Error::new(io::ErrorKind::InvalidInput, why.to_owned()),
    };
    if device.is_empty() {
        return Err(invalid("empty interface name"));
    }
    if device.len() > MAX_DEVICE_NAME_LEN {
        return Err(invalid("interface names are at most 15 bytes"));
    }
    if device
        .bytes()
        .any(|b| b == 0 || b == b'/' || b.is_ascii_whitespace())
    {
        return Err(invalid("not an interface name"));
    }
    socket
        .bind_device(Some(device.as_bytes()))
        .map_err(|error| TransportError::Device {
            device: device.to_owned(),
            error,
        })
}

/// `IP_TTL`, and on an IPv6 socket also `IPV6_UNICAST_HOPS` (the IPv4 option covers
/// IPv4-mapped traffic of a dual-stack socket).
fn set_ttl(socket: &Socket, v6: bool, ttl: u8, addr: SocketAddr) -> Result<(), TransportError> {
    if ttl == 0 {
        return Err(TransportError::ZeroTtl { addr });
    }
    let option = |option| {
        move |error| TransportError::SetOption {
            option,
            addr,
            error,
        }
    };
    if v6 {
        socket
            .set_unicast_hops_v6(u32::from(ttl))
            .map_err(option("IPV6_UNICAST_HOPS"))?;
    }
    socket.set_ttl_v4(u32::from(ttl)).map_err(option("IP_TTL"))
}

/// `IP_MINTTL`, and on an IPv6 socket also `IPV6_MINHOPCOUNT` (the IPv4 option covers
/// IPv4-mapped traffic of a dual-stack socket).
fn set_min_ttl(
    socket: &Socket,
    v6: bool,
    min_ttl: u8,
    addr: SocketAddr,
) -> Result<(), TransportError> {
    let value = libc::c_int::from(min_ttl).to_ne_bytes();
    let option = |option| {
        move |error| TransportError::SetOption {
            option,
            addr,
            error,
        }
    };
    if v6 {
        setsockopt(
            socket.as_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MINHOPCOUNT,
            &value,
        )
        .map_err(option("IPV6_MINHOPCOUNT"))?;
    }
    setsockopt(socket.as_fd(), libc::IPPROTO_IP, libc::IP_MINTTL, &value)
        .map_err(option("IP_MINTTL"))
}

/// Installs or removes a TCP-MD5 key on `socket` (whose address, for errors, is `addr`).
fn set_md5(
    socket: &Socket,
    addr: SocketAddr,
    v6_socket: bool,
    peer: IpAddr,
    prefix_len: Option<u8>,
    key: Option<&[u8]>,
) -> Result<(), TransportError> {
    let peer = canonical(peer);
    let key = match key {
        Some([]) => return Err(TransportError::Md5KeyEmpty { peer }),
        Some(key) if key.len() > MD5_MAX_KEY_LEN => {
            return Err(TransportError::Md5KeyTooLong {
                peer,
                len: key.len(),
            })
        }
        key => key,
    };
    if peer.is_ipv6() && !v6_socket {
        return Err(TransportError::AddressFamily {
            what: "TCP-MD5 peer",
            addr: peer,
            socket: addr,
        });
    }
    let peer = match prefix_len {
        Some(len) => mask(peer, len).ok_or(TransportError::PrefixLen {
            peer,
            prefix_len: len,
        })?,
        None => peer,
    };
    let sig = Md5Sig {
        peer,
        v6_socket,
        prefix_len,
        key: key.unwrap_or_default(),
    }
    .to_bytes();
    let (name, option) = match prefix_len {
        Some(_) => (libc::TCP_MD5SIG_EXT, "TCP_MD5SIG_EXT"),
        None => (libc::TCP_MD5SIG, "TCP_MD5SIG"),
    };
    match setsockopt(socket.as_fd(), libc::IPPROTO_TCP, name, &sig) {
        Ok(()) => {}
        // Removing a key that is not there: already done.
        Err(e) if key.is_none() && e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(error) => {
            return Err(TransportError::Md5 {
                option,
                peer,
                prefix_len,
                removing: key.is_none(),
                error,
            })
        }
    }
    tracing::debug!(
        socket = %addr,
        %peer,
        prefix_len = ?prefix_len,
        installed = key.is_some(),
        "bgp transport: TCP-MD5 key"
    );
    Ok(())
}

/// `addr` with the bits past `len` cleared, or `None` if `len` is longer than the address.
fn mask(addr: IpAddr, len: u8) -> Option<IpAddr> {
    match addr {
        IpAddr::V4(v4) => {
            let host_bits = 32u32.checked_sub(u32::from(len))?;
            let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask)))
        }
        IpAddr::V6(v6) => {
            let host_bits = 128u32.checked_sub(u32::from(len))?;
            let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
            Some(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)))
        }
    }
}

/// A `struct tcp_md5sig` (include/uapi/linux/tcp.h) as the bytes `setsockopt(2)` reads:
///
/// ```text
/// offset   0  struct __kernel_sockaddr_storage tcpm_addr   (128 bytes)
/// offset 128  __u8  tcpm_flags       TCP_MD5SIG_FLAG_PREFIX with TCP_MD5SIG_EXT
/// offset 129  __u8  tcpm_prefixlen
/// offset 130  __u16 tcpm_keylen      0 removes the key
/// offset 132  int   tcpm_ifindex     (unused: no TCP_MD5SIG_FLAG_IFINDEX)
/// offset 136  __u8  tcpm_key[80]
/// size   216
/// ```
///
/// The `libc` crate does not define the struct for Linux; building the bytes keeps the layout
/// explicit (and free of padding) and needs no `unsafe`.
struct Md5Sig<'a> {
    /// Canonical peer (or masked prefix) address.
    peer: IpAddr,
    /// Whether the socket is `AF_INET6`: IPv4 peers are then given as IPv4-mapped
    /// `sockaddr_in6` (the kernel refuses a `sockaddr_in` on an IPv6 socket).
    v6_socket: bool,
    prefix_len: Option<u8>,
    /// Empty: remove the key.
    key: &'a [u8],
}

const MD5SIG_SIZE: usize = 216;
const MD5SIG_FLAGS: usize = 128;
const MD5SIG_PREFIXLEN: usize = 129;
const MD5SIG_KEYLEN: usize = 130;
const MD5SIG_KEY: usize = 136;
/// `TCP_MD5SIG_FLAG_PREFIX`.
const MD5SIG_FLAG_PREFIX: u8 = 1;

impl Md5Sig<'_> {
    fn to_bytes(&self) -> [u8; MD5SIG_SIZE] {
        let mut buf = [0u8; MD5SIG_SIZE];
        match (self.peer, self.v6_socket) {
            // sockaddr_in: family, port (0), address (network order), zero padding.
            (IpAddr::V4(v4), false) => {
                write_at(&mut buf, 0, &af(libc::AF_INET));
                write_at(&mut buf, 4, &v4.octets());
            }
            // sockaddr_in6: family, port (0), flowinfo (0), address, scope id (0).
            (ip, _) => {
                let v6 = match ip {
                    IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    IpAddr::V6(v6) => v6,
                };
                write_at(&mut buf, 0, &af(libc::AF_INET6));
                write_at(&mut buf, 8, &v6.octets());
            }
        }
        if let Some(len) = self.prefix_len {
            write_at(&mut buf, MD5SIG_FLAGS, &[MD5SIG_FLAG_PREFIX]);
            write_at(&mut buf, MD5SIG_PREFIXLEN, &[len]);
        }
        // The caller bounds the key to MD5_MAX_KEY_LEN (80), which fits.
        let keylen = u16::try_from(self.key.len()).unwrap_or(0);
        write_at(&mut buf, MD5SIG_KEYLEN, &keylen.to_ne_bytes());
        write_at(&mut buf, MD5SIG_KEY, self.key);
        buf
    }
}

/// A `sa_family_t` in native byte order.
fn af(family: libc::c_int) -> [u8; 2] {
    libc::sa_family_t::try_from(family)
        .unwrap_or(0)
        .to_ne_bytes()
}

/// Copies `bytes` into `buf` at `offset` (the offsets above are constants within the buffer).
fn write_at(buf: &mut [u8], offset: usize, bytes: &[u8]) {
    for (dst, src) in buf.iter_mut().skip(offset).zip(bytes) {
        *dst = *src;
    }
}

/// `setsockopt(2)` with `value` as the option's bytes. The only `unsafe` of the project.
fn setsockopt(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &[u8],
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is a `BorrowedFd`, so the descriptor is open and owned by its socket for the
    // whole call. `value` is a live, fully initialised `&[u8]`: its pointer is valid for reads
    // of `len` (= `value.len()`) bytes, and alignment does not matter because the kernel copies
    // the option bytes (`copy_from_sockptr`). `setsockopt` only reads through the pointer and
    // does not keep it after returning. No Rust memory is written.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, value.as_ptr().cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_unmaps_only_ipv4_mapped_addresses() {
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(canonical(mapped), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        for kept in ["::192.0.2.1", "2001:db8::1", "::1", "::", "192.0.2.1"] {
            let ip: IpAddr = kept.parse().unwrap();
            assert_eq!(canonical(ip), ip, "{kept}");
        }
    }

    #[test]
    fn mask_clears_host_bits_and_rejects_long_prefixes() {
        let v4 = IpAddr::V4(Ipv4Addr::new(127, 1, 2, 3));
        assert_eq!(mask(v4, 8), Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0))));
        assert_eq!(mask(v4, 0), Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        assert_eq!(mask(v4, 32), Some(v4));
        assert_eq!(mask(v4, 33), None);
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6));
        assert_eq!(
            mask(v6, 32),
            Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0)))
        );
        assert_eq!(mask(v6, 128), Some(v6));
        assert_eq!(mask(v6, 129), None);
    }

    #[test]
    fn md5sig_layout_matches_struct_tcp_md5sig() {
        let sig = Md5Sig {
            peer: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            v6_socket: false,
            prefix_len: Some(24),
            key: b"secret",
        }
        .to_bytes();
        assert_eq!(sig.len(), 216);
        assert_eq!(
            u16::from_ne_bytes([sig[0], sig[1]]),
            libc::AF_INET as u16,
            "sin_family"
        );
        assert_eq!(&sig[2..4], &[0, 0], "sin_port");
        assert_eq!(&sig[4..8], &[10, 0, 0, 1], "sin_addr");
        assert_eq!(sig[128], 1, "tcpm_flags = TCP_MD5SIG_FLAG_PREFIX");
        assert_eq!(sig[129], 24, "tcpm_prefixlen");
        assert_eq!(u16::from_ne_bytes([sig[130], sig[131]]), 6, "tcpm_keylen");
        assert_eq!(&sig[132..136], &[0; 4], "tcpm_ifindex");
        assert_eq!(&sig[136..142], b"secret", "tcpm_key");
        assert!(sig[142..].iter().all(|&b| b == 0));

        // An IPv4 peer on an IPv6 socket: IPv4-mapped sockaddr_in6.
        let sig = Md5Sig {
            peer: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            v6_socket: true,
            prefix_len: None,
            key: b"k",
        }
        .to_bytes();
        assert_eq!(
            u16::from_ne_bytes([sig[0], sig[1]]),
            libc::AF_INET6 as u16,
            "sin6_family"
        );
        assert_eq!(&sig[4..8], &[0; 4], "sin6_flowinfo");
        assert_eq!(
            &sig[8..24],
            &Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().octets(),
            "sin6_addr"
        );
        assert_eq!(&sig[24..28], &[0; 4], "sin6_scope_id");
        assert_eq!(sig[128], 0, "no flags without a prefix");
        assert_eq!(u16::from_ne_bytes([sig[130], sig[131]]), 1, "tcpm_keylen");
    }
}
