//! The BGP TCP transport over loopback: TCP-MD5 (RFC 2385), TTL, GTSM (RFC 5082), update-source
//! and bind-to-device, checked against what the Linux kernel really does. Everything stays on
//! `lo` (127.0.0.0/8 and ::1).
//!
//! Where the kernel silently drops segments (MD5 and GTSM mismatches), the tests also check the
//! kernel's drop counters in /proc/net/netstat went up, so a test cannot pass because of some
//! unrelated failure to connect. (Counters are per network namespace and shared with tests
//! running in parallel; they only ever grow, so this can miss a bug but not fail spuriously.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp::transport::{
    apply_accepted, canonical, connect, Listener, SocketOptions, TransportError, MD5_MAX_KEY_LEN,
};
use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LO6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
/// How long a connection that should not happen is given (the SYN is retransmitted after 1 s).
const SHORT: Duration = Duration::from_secs(2);
const LONG: Duration = Duration::from_secs(10);

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn listen(ip: IpAddr) -> Listener {
    Listener::bind(SocketAddr::new(ip, 0)).expect("bind a listener on an ephemeral port")
}

/// `listener`'s port at `ip` (for a wildcard listener, the address to connect to).
fn at(listener: &Listener, ip: IpAddr) -> SocketAddr {
    SocketAddr::new(ip, listener.local_addr().port())
}

/// Connects with `opts` while accepting; both ends, and the peer address the listener saw.
async fn connect_pair(
    listener: &Listener,
    remote: SocketAddr,
    opts: &SocketOptions,
) -> (TcpStream, TcpStream, SocketAddr) {
    let (client, accepted) = tokio::join!(connect(remote, opts, LONG), async {
        timeout(LONG, listener.accept()).await
    });
    let client = client.unwrap_or_else(|e| panic!("connect to {remote} with {opts:?}: {e}"));
    let (server, peer) = accepted
        .unwrap_or_else(|_| panic!("the listener accepted nothing from {remote}"))
        .expect("accept");
    (client, server, peer)
}

/// Asserts that `a` → `b` and `b` → `a` carry bytes.
async fn assert_bytes_flow(a: &mut TcpStream, b: &mut TcpStream) {
    send_and_receive(a, b, b"ping").await;
    send_and_receive(b, a, b"pong").await;
}

async fn send_and_receive(from: &mut TcpStream, to: &mut TcpStream, what: &[u8; 4]) {
    let name = String::from_utf8_lossy(what);
    from.write_all(what).await.unwrap();
    let mut buf = [0u8; 4];
    timeout(LONG, to.read_exact(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("{name}: nothing arrived"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(&buf, what);
}

/// Asserts that connecting with `opts` does not establish a connection (the attempt times out
/// or fails) and that the listener accepts nothing.
async fn assert_no_connection(listener: &Listener, remote: SocketAddr, opts: &SocketOptions) {
    let (client, accepted) = tokio::join!(connect(remote, opts, SHORT), async {
        timeout(SHORT + Duration::from_millis(500), listener.accept()).await
    });
    match client {
        Err(TransportError::ConnectTimeout { .. } | TransportError::Connect { .. }) => {}
        Err(e) => panic!("connect to {remote} with {opts:?}: unexpected error {e}"),
        Ok(s) => panic!(
            "connect to {remote} with {opts:?} succeeded from {:?}",
            s.local_addr()
        ),
    }
    if let Ok(accepted) = accepted {
        panic!("the listener accepted {:?}", accepted.map(|(_, peer)| peer));
    }
}

/// A `TcpExt` counter of /proc/net/netstat (the kernel's SNMP MIB), e.g. `TCPMD5NotFound`.
fn tcp_ext(name: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/net/netstat").expect("read /proc/net/netstat");
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if !names.starts_with("TcpExt:") {
            continue;
        }
        let names = names.split_whitespace();
        let values = values.split_whitespace();
        if let Some((_, v)) = names.zip(values).find(|(n, _)| *n == name) {
            return v.parse().expect("a counter");
        }
    }
    panic!("no TcpExt counter {name} in /proc/net/netstat");
}

fn md5(password: &str) -> SocketOptions {
    SocketOptions {
        md5_password: Some(password.to_owned()),
        ..SocketOptions::default()
    }
}

fn ttl(ttl: u8) -> SocketOptions {
    SocketOptions {
        ttl: Some(ttl),
        ..SocketOptions::default()
    }
}

// ---------------------------------------------------------------------------------- addresses

#[test]
fn canonical_unmaps_ipv4_mapped_peers() {
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
    assert_eq!(canonical(mapped), v4(192, 0, 2, 7));
    assert_eq!(canonical(v4(192, 0, 2, 7)), v4(192, 0, 2, 7));
    assert_eq!(canonical(LO6), LO6);
}

#[test]
fn binding_outside_a_runtime_is_an_error_not_a_panic() {
    let err = Listener::bind(SocketAddr::new(LO, 0)).unwrap_err();
    assert!(matches!(err, TransportError::NoRuntime { .. }), "{err}");
}

#[tokio::test]
async fn dual_stack_listener_reports_ipv4_peers_as_ipv4() {
    let listener = listen(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    let (mut c, mut s, peer) =
        connect_pair(&listener, at(&listener, LO), &SocketOptions::default()).await;
    assert_eq!(peer.ip(), LO, "an IPv4 peer of [::] is reported unmapped");
    assert_eq!(peer, c.local_addr().unwrap());
    assert_bytes_flow(&mut c, &mut s).await;

    let (_c, _s, peer) =
        connect_pair(&listener, at(&listener, LO6), &SocketOptions::default()).await;
    assert_eq!(peer.ip(), LO6);
}

#[tokio::test]
async fn connecting_to_an_ipv4_mapped_address_uses_ipv4() {
    let listener = listen(LO);
    let mapped = SocketAddr::new(
        IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()),
        listener.local_addr().port(),
    );
    let (c, _s, peer) = connect_pair(&listener, mapped, &SocketOptions::default()).await;
    assert_eq!(peer.ip(), LO);
    assert!(c.peer_addr().unwrap().is_ipv4());
}

#[tokio::test]
async fn a_refused_connection_names_the_peer() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = listen(LO).local_addr().port();
    let remote = SocketAddr::new(LO, port);
    let err = connect(remote, &SocketOptions::default(), LONG)
        .await
        .unwrap_err();
    match &err {
        TransportError::Connect { remote: r, error } => {
            assert_eq!(*r, remote);
            assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
        }
        e => panic!("expected a refused connection, got {e}"),
    }
    assert!(err.to_string().contains(&remote.to_string()), "{err}");
}

// ------------------------------------------------------------------------------------ TCP-MD5

#[tokio::test]
async fn md5_matching_keys_connect_and_carry_bytes_both_ways() {
    let listener = listen(LO);
    listener.set_md5(LO, None, Some("s3cret")).unwrap();
    let before = tcp_ext("TCPMD5Failure");
    let (mut c, mut s, peer) = connect_pair(&listener, at(&listener, LO), &md5("s3cret")).await;
    assert_eq!(peer.ip(), LO);
    assert_bytes_flow(&mut c, &mut s).await;
    // Both sockets sign: a digest failure would have been counted (and the bytes dropped).
    assert_eq!(tcp_ext("TCPMD5Failure"), before, "no MD5 digest failures");
}

#[tokio::test]
async fn md5_wrong_key_never_connects() {
    let listener = listen(LO);
    listener.set_md5(LO, None, Some("right")).unwrap();
    let before = tcp_ext("TCPMD5Failure");
    assert_no_connection(&listener, at(&listener, LO), &md5("wrong")).await;
    assert!(
        tcp_ext("TCPMD5Failure") > before,
        "the kernel dropped the SYN for its bad digest"
    );
}

#[tokio::test]
async fn md5_key_on_the_listener_only_never_connects() {
    let listener = listen(LO);
    listener.set_md5(LO, None, Some("s3cret")).unwrap();
    let before = tcp_ext("TCPMD5NotFound");
    assert_no_connection(&listener, at(&listener, LO), &SocketOptions::default()).await;
    assert!(
        tcp_ext("TCPMD5NotFound") > before,
        "the kernel dropped the unsigned SYN"
    );
}

#[tokio::test]
async fn md5_key_on_the_client_only_never_connects() {
    let listener = listen(LO);
    let before = tcp_ext("TCPMD5Unexpected");
    assert_no_connection(&listener, at(&listener, LO), &md5("s3cret")).await;
    assert!(
        tcp_ext("TCPMD5Unexpected") > before,
        "the kernel dropped the signed SYN it had no key for"
    );
}

#[tokio::test]
async fn md5_over_ipv6() {
    let listener = listen(LO6);
    listener.set_md5(LO6, None, Some("six")).unwrap();
    let (mut c, mut s, peer) = connect_pair(&listener, at(&listener, LO6), &md5("six")).await;
    assert_eq!(peer.ip(), LO6);
    assert_bytes_flow(&mut c, &mut s).await;
    assert_no_connection(&listener, at(&listener, LO6), &md5("seven")).await;
}

#[tokio::test]
async fn md5_ipv4_peer_of_a_dual_stack_listener() {
    // The key is given as a plain IPv4 address; on the AF_INET6 listener it must be installed
    // as ::ffff:127.0.0.1 for the kernel to match the IPv4 SYN.
    let listener = listen(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    listener.set_md5(LO, None, Some("mapped")).unwrap();
    let (mut c, mut s, peer) = connect_pair(&listener, at(&listener, LO), &md5("mapped")).await;
    assert_eq!(peer.ip(), LO);
    assert_bytes_flow(&mut c, &mut s).await;
    assert_no_connection(&listener, at(&listener, LO), &md5("other")).await;
    assert_no_connection(&listener, at(&listener, LO), &SocketOptions::default()).await;
    // The IPv4 key does not cover IPv6 peers of the same listener.
    let (_c, _s, peer) =
        connect_pair(&listener, at(&listener, LO6), &SocketOptions::default()).await;
    assert_eq!(peer.ip(), LO6);

    // The mapped form of the address names the same key: removing it that way lets
    // unsigned IPv4 connections in again.
    let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
    listener.set_md5(mapped, None, None).unwrap();
    connect_pair(&listener, at(&listener, LO), &SocketOptions::default()).await;
}

#[tokio::test]
async fn md5_prefix_key_covers_a_listen_range() {
    let listener = listen(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    // Host bits are cleared: 127.1.2.3/8 is 127.0.0.0/8.
    listener
        .set_md5(v4(127, 1, 2, 3), Some(8), Some("range"))
        .unwrap();
    let from_9 = SocketOptions {
        local_addr: Some(v4(127, 0, 0, 9)),
        ..md5("range")
    };
    let (mut c, mut s, peer) = connect_pair(&listener, at(&listener, LO), &from_9).await;
    assert_eq!(peer.ip(), v4(127, 0, 0, 9));
    assert_bytes_flow(&mut c, &mut s).await;
    let unsigned_from_9 = SocketOptions {
        local_addr: Some(v4(127, 0, 0, 9)),
        ..SocketOptions::default()
    };
    assert_no_connection(&listener, at(&listener, LO), &unsigned_from_9).await;

    // A more specific key wins over the range.
    listener
        .set_md5(v4(127, 0, 0, 9), None, Some("host"))
        .unwrap();
    assert_no_connection(&listener, at(&listener, LO), &from_9).await;
    let host_from_9 = SocketOptions {
        local_addr: Some(v4(127, 0, 0, 9)),
        ..md5("host")
    };
    connect_pair(&listener, at(&listener, LO), &host_from_9).await;

    // Removing both keys (twice: removal is idempotent) opens the listener to unsigned peers.
    for _ in 0..2 {
        listener.set_md5(v4(127, 0, 0, 0), Some(8), None).unwrap();
        listener.set_md5(v4(127, 0, 0, 9), None, None).unwrap();
    }
    connect_pair(&listener, at(&listener, LO), &unsigned_from_9).await;
}

#[tokio::test]
async fn md5_prefix_key_for_ipv4_peers_of_a_dual_stack_listener() {
    let listener = listen(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    listener
        .set_md5(v4(127, 0, 0, 0), Some(8), Some("range"))
        .unwrap();
    let from_9 = SocketOptions {
        local_addr: Some(v4(127, 0, 0, 9)),
        ..md5("range")
    };
    let (_c, _s, peer) = connect_pair(&listener, at(&listener, LO), &from_9).await;
    assert_eq!(peer.ip(), v4(127, 0, 0, 9));
    assert_no_connection(&listener, at(&listener, LO), &md5("other")).await;
}

#[tokio::test]
async fn md5_key_limits() {
    let listener = listen(LO);
    let longest = "k".repeat(MD5_MAX_KEY_LEN);
    listener.set_md5(LO, None, Some(&longest)).unwrap();
    let (mut c, mut s, _) = connect_pair(&listener, at(&listener, LO), &md5(&longest)).await;
    assert_bytes_flow(&mut c, &mut s).await;

    let too_long = "k".repeat(MD5_MAX_KEY_LEN + 1);
    let err = listener.set_md5(LO, None, Some(&too_long)).unwrap_err();
    assert!(
        matches!(err, TransportError::Md5KeyTooLong { len: 81, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("80") && msg.contains("127.0.0.1"), "{msg}");
    let err = connect(at(&listener, LO), &md5(&too_long), LONG)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("limit of 80 bytes"), "{err}");

    let err = listener.set_md5(LO, None, Some("")).unwrap_err();
    assert!(matches!(err, TransportError::Md5KeyEmpty { .. }), "{err:?}");
    let err = listener.set_md5(LO, Some(33), Some("k")).unwrap_err();
    assert!(
        matches!(err, TransportError::PrefixLen { prefix_len: 33, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("/33"), "{err}");
    let err = listener.set_md5(LO6, None, Some("k")).unwrap_err();
    assert!(
        matches!(err, TransportError::AddressFamily { .. }),
        "an IPv6 key on an IPv4 listener: {err:?}"
    );
}

#[test]
fn md5_password_is_not_in_debug_output() {
    let shown = format!("{:?}", md5("hunter2"));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

// ---------------------------------------------------------------------------------- TTL, GTSM

#[tokio::test]
async fn ttl_is_set_before_connecting() {
    let listener = listen(LO);
    let (mut c, mut s, _) = connect_pair(&listener, at(&listener, LO), &ttl(1)).await;
    assert_eq!(SockRef::from(&c).ttl_v4().unwrap(), 1);
    // TTL 1 is enough on a directly connected link (here: loopback).
    assert_bytes_flow(&mut c, &mut s).await;

    let listener = listen(LO6);
    let (c, _s, _) = connect_pair(&listener, at(&listener, LO6), &ttl(7)).await;
    assert_eq!(SockRef::from(&c).unicast_hops_v6().unwrap(), 7);

    let err = connect(at(&listener, LO6), &ttl(0), LONG)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::ZeroTtl { .. }), "{err:?}");
}

#[tokio::test]
async fn apply_accepted_sets_the_ttl_of_an_accepted_stream() {
    let listener = listen(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    let (_c, s, _) = connect_pair(&listener, at(&listener, LO), &SocketOptions::default()).await;
    apply_accepted(&s, &ttl(1)).unwrap();
    // An IPv4 peer on the IPv6 socket: the IPv4 TTL is the one used.
    assert_eq!(SockRef::from(&s).ttl_v4().unwrap(), 1);
    assert_eq!(SockRef::from(&s).unicast_hops_v6().unwrap(), 1);
}

/// GTSM applied to the accepted stream: the handshake is not affected (the socket did not
/// exist yet), but from then on the kernel drops the peer's segments below the minimum TTL, so
/// its BGP messages never arrive; ours still reach it.
async fn gtsm_on_the_accepted_stream(listen_on: IpAddr, connect_to: IpAddr) {
    let gtsm = SocketOptions {
        ttl: Some(255),
        min_ttl: Some(255),
        ..SocketOptions::default()
    };
    let listener = listen(listen_on);

    let (mut c, mut s, _) = connect_pair(&listener, at(&listener, connect_to), &ttl(255)).await;
    apply_accepted(&s, &gtsm).unwrap();
    assert_bytes_flow(&mut c, &mut s).await;

    let before = tcp_ext("TCPMinTTLDrop");
    let (mut c, mut s, _) = connect_pair(&listener, at(&listener, connect_to), &ttl(1)).await;
    apply_accepted(&s, &gtsm).unwrap();
    c.write_all(b"OPEN").await.unwrap();
    let mut buf = [0u8; 4];
    assert!(
        timeout(SHORT, s.read_exact(&mut buf)).await.is_err(),
        "data sent with TTL 1 was delivered despite a minimum TTL of 255"
    );
    assert!(
        tcp_ext("TCPMinTTLDrop") > before,
        "the kernel counted the dropped segments"
    );
    s.write_all(b"back").await.unwrap();
    timeout(LONG, c.read_exact(&mut buf))
        .await
        .expect("the other direction is not filtered")
        .unwrap();
    assert_eq!(&buf, b"back");
}

#[tokio::test]
async fn gtsm_on_an_accepted_ipv4_stream_drops_low_ttl_data() {
    gtsm_on_the_accepted_stream(LO, LO).await;
}

#[tokio::test]
async fn gtsm_on_an_accepted_ipv6_stream_drops_low_hop_limit_data() {
    gtsm_on_the_accepted_stream(LO6, LO6).await;
}

#[tokio::test]
async fn gtsm_on_an_ipv4_peer_of_a_dual_stack_listener_drops_low_ttl_data() {
    gtsm_on_the_accepted_stream(IpAddr::V6(Ipv6Addr::UNSPECIFIED), LO).await;
}

/// GTSM on the listening socket: SYNs below the minimum are dropped, nothing is accepted.
async fn gtsm_on_the_listener(ip: IpAddr) {
    let listener = listen(ip);
    listener.set_min_ttl(255).unwrap();
    let before = tcp_ext("TCPMinTTLDrop");
    assert_no_connection(&listener, at(&listener, ip), &ttl(254)).await;
    assert!(
        tcp_ext("TCPMinTTLDrop") > before,
        "the kernel dropped the SYN"
    );
    let (mut c, mut s, _) = connect_pair(&listener, at(&listener, ip), &ttl(255)).await;
    assert_bytes_flow(&mut c, &mut s).await;
    // 0 turns it off.
    listener.set_min_ttl(0).unwrap();
    connect_pair(&listener, at(&listener, ip), &ttl(1)).await;
}

#[tokio::test]
async fn gtsm_on_an_ipv4_listener_drops_low_ttl_syns() {
    gtsm_on_the_listener(LO).await;
}

#[tokio::test]
async fn gtsm_on_an_ipv6_listener_drops_low_hop_limit_syns() {
    gtsm_on_the_listener(LO6).await;
}

#[tokio::test]
async fn gtsm_on_the_connecting_side_needs_a_syn_ack_with_ttl_255() {
    let gtsm = SocketOptions {
        ttl: Some(255),
        min_ttl: Some(255),
        ..SocketOptions::default()
    };
    // The listener answers with the system default TTL (64): the connecting socket, which has
    // its minimum TTL before the handshake, drops the SYN-ACK.
    let listener = listen(LO);
    let before = tcp_ext("TCPMinTTLDrop");
    let err = connect(at(&listener, LO), &gtsm, SHORT).await.unwrap_err();
    assert!(
        matches!(err, TransportError::ConnectTimeout { .. }),
        "{err:?}"
    );
    assert!(tcp_ext("TCPMinTTLDrop") > before, "the SYN-ACK was dropped");
    // Whatever the listener's kernel queued from that attempt is not our concern here; a
    // listener sending 255 completes the handshake.
    let listener = listen(LO);
    listener.set_ttl(255).unwrap();
    let (mut c, mut s, _) = connect_pair(&listener, at(&listener, LO), &gtsm).await;
    apply_accepted(&s, &gtsm).unwrap();
    assert_bytes_flow(&mut c, &mut s).await;
}

// ------------------------------------------------------------------ update-source, device

#[tokio::test]
async fn update_source_is_the_address_the_listener_sees() {
    let from_7 = SocketOptions {
        local_addr: Some(v4(127, 0, 0, 7)),
        ..SocketOptions::default()
    };
    for listen_on in [
        LO,
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    ] {
        let listener = listen(listen_on);
        let (c, _s, peer) = connect_pair(&listener, at(&listener, LO), &from_7).await;
        assert_eq!(peer.ip(), v4(127, 0, 0, 7), "listening on {listen_on}");
        assert_eq!(c.local_addr().unwrap().ip(), v4(127, 0, 0, 7));
    }
    // The IPv4-mapped form of an update-source is the IPv4 address.
    let mapped_7 = SocketOptions {
        local_addr: Some(IpAddr::V6(Ipv4Addr::new(127, 0, 0, 7).to_ipv6_mapped())),
        ..SocketOptions::default()
    };
    let listener = listen(LO);
    let (_c, _s, peer) = connect_pair(&listener, at(&listener, LO), &mapped_7).await;
    assert_eq!(peer.ip(), v4(127, 0, 0, 7));
}

#[tokio::test]
async fn update_source_of_the_other_family_is_refused() {
    let listener = listen(LO6);
    let err = connect(
        at(&listener, LO6),
        &SocketOptions {
            local_addr: Some(LO),
            ..SocketOptions::default()
        },
        LONG,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TransportError::AddressFamily { .. }), "{err}");
    assert!(err.to_string().contains("update-source 127.0.0.1"), "{err}");
}

#[tokio::test]
async fn update_source_not_on_this_host_is_a_bind_error() {
    let listener = listen(LO);
    let err = connect(
        at(&listener, LO),
        &SocketOptions {
            local_addr: Some(v4(192, 0, 2, 1)),
            ..SocketOptions::default()
        },
        LONG,
    )
    .await
    .unwrap_err();
    match &err {
        TransportError::Bind { addr, error } => {
            assert_eq!(addr.ip(), v4(192, 0, 2, 1));
            assert_eq!(error.kind(), io::ErrorKind::AddrNotAvailable);
        }
        e => panic!("expected a bind error, got {e}"),
    }
}

fn device(name: &str) -> SocketOptions {
    SocketOptions {
        device: Some(name.to_owned()),
        ..SocketOptions::default()
    }
}

/// Fails clearly when binding to a device is refused for lack of privilege (`CAP_NET_RAW` is
/// needed on kernels before 5.7, and always to re-bind).
fn check_privilege<T>(result: Result<T, TransportError>) -> Result<T, TransportError> {
    if let Err(TransportError::Device { error, .. }) = &result {
        assert_ne!(
            error.kind(),
            io::ErrorKind::PermissionDenied,
            "SO_BINDTODEVICE needs CAP_NET_RAW here: run the transport tests as root"
        );
    }
    result
}

#[tokio::test]
async fn bind_to_device_lo() {
    let listener = listen(LO);
    let (client, accepted) = tokio::join!(
        async { check_privilege(connect(at(&listener, LO), &device("lo"), LONG).await) },
        timeout(LONG, listener.accept())
    );
    let mut c = client.expect("connect bound to lo");
    let (mut s, _) = accepted.expect("accepted").expect("accept");
    assert_eq!(
        SockRef::from(&c).device().unwrap().as_deref(),
        Some(&b"lo"[..])
    );
    assert_bytes_flow(&mut c, &mut s).await;

    // IPv6 too.
    let listener = listen(LO6);
    let (client, _accepted) = tokio::join!(
        async { check_privilege(connect(at(&listener, LO6), &device("lo"), LONG).await) },
        timeout(LONG, listener.accept())
    );
    client.expect("connect over IPv6 bound to lo");
}

#[tokio::test]
async fn unknown_device_is_an_error_naming_it() {
    let listener = listen(LO);
    let err =
        check_privilege(connect(at(&listener, LO), &device("nosuchdev0"), LONG).await).unwrap_err();
    match &err {
        TransportError::Device { device, error } => {
            assert_eq!(device, "nosuchdev0");
            assert_eq!(error.raw_os_error(), Some(19), "ENODEV: {error}");
        }
        e => panic!("expected a device error, got {e}"),
    }
    assert!(err.to_string().contains("\"nosuchdev0\""), "{err}");

    // A name the kernel would silently truncate to 15 bytes is refused.
    let err = connect(at(&listener, LO), &device("lo-with-a-long-name"), LONG)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TransportError::Device { device, .. } if device == "lo-with-a-long-name"),
        "{err}"
    );
}
