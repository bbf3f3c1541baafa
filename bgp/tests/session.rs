//! Two perouterd sessions over loopback, and a session against a scripted peer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp::fsm::{DownReason, State};
use bgp::session::{run, SessionCommand, SessionConfig, SessionEvent};
use bgp::wire::nlri::Ipv4Nlri;
use bgp::wire::{
    decode_message, AsPath, Capability, Context, Family, Message, Notification, Open, Origin,
    PathAttributes, Update,
};
use common::{fsm, next_matching};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_establish_exchange_an_update_and_stop() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_addr = listener.local_addr().unwrap();

    let (b_cmd, b_cmd_rx) = mpsc::channel(8);
    let (b_ev_tx, mut b_ev) = mpsc::channel(64);
    let b_cfg = SessionConfig {
        fsm: fsm(65002, [10, 0, 0, 2], 65001, 9),
        remote: SocketAddr::from(([127, 0, 0, 1], 179)),
        passive: true,
        connect_timeout: Duration::from_secs(2),
        socket: Default::default(),
    };
    tokio::spawn(run(b_cfg, b_cmd_rx, b_ev_tx));
    let b_cmd_accept = b_cmd.clone();
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            let _ = b_cmd_accept.send(SessionCommand::Incoming(stream)).await;
        }
    });

    let (a_cmd, a_cmd_rx) = mpsc::channel(8);
    let (a_ev_tx, mut a_ev) = mpsc::channel(64);
    let a_cfg = SessionConfig {
        fsm: fsm(65001, [10, 0, 0, 1], 65002, 9),
        remote: b_addr,
        passive: false,
        connect_timeout: Duration::from_secs(2),
        socket: Default::default(),
    };
    tokio::spawn(run(a_cfg, a_cmd_rx, a_ev_tx));

    for rx in [&mut a_ev, &mut b_ev] {
        let SessionEvent::Established(n) =
            next_matching(rx, |e| matches!(e, SessionEvent::Established(_))).await
        else {
            unreachable!()
        };
        assert!(n.families.contains(Family::L2vpnEvpn) && n.families.contains(Family::Ipv4Unicast));
        assert!(n.contexts.rx.four_octet_as);
        assert!(n.route_refresh);
    }

    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..Default::default()
        },
        nlri: vec![Ipv4Nlri {
            path_id: None,
            prefix: "198.51.100.0/24".parse().unwrap(),
        }],
        ..Default::default()
    };
    a_cmd
        .send(SessionCommand::Send(Box::new(Message::Update(
            update.clone(),
        ))))
        .await
        .unwrap();
    let SessionEvent::Message(received) =
        next_matching(&mut b_ev, |e| matches!(e, SessionEvent::Message(_))).await
    else {
        unreachable!()
    };
    assert!(received.verdict.is_clean());
    assert_eq!(received.message, Message::Update(update));

    a_cmd.send(SessionCommand::Stop).await.unwrap();
    let SessionEvent::Down(reason) =
        next_matching(&mut b_ev, |e| matches!(e, SessionEvent::Down(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        reason,
        DownReason::Received(Notification::new(6, 2, vec![]))
    );
    drop(b_cmd);
}

/// A peer that completes the OPEN exchange and then goes silent: our hold timer expires and
/// we send NOTIFICATION 4/0 (Hold Timer Expired).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_gets_hold_timer_expired() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (cmd, cmd_rx) = mpsc::channel(8);
    let (ev_tx, mut ev) = mpsc::channel(64);
    let cfg = SessionConfig {
        fsm: fsm(65001, [10, 0, 0, 1], 65002, 90),
        remote: addr,
        passive: false,
        connect_timeout: Duration::from_secs(2),
        socket: Default::default(),
    };
    tokio::spawn(run(cfg, cmd_rx, ev_tx));

    let (mut peer, _) = timeout(Duration::from_secs(10), listener.accept())
        .await
        .unwrap()
        .unwrap();
    let ctx = Context::default();
    // Our OPEN (hold 3 s) and a KEEPALIVE, then silence.
    let open = Open::new(
        65002,
        3,
        Ipv4Addr::new(10, 0, 0, 2),
        vec![Capability::FourOctetAs(65002)],
    );
    peer.write_all(&Message::Open(open).to_bytes(&ctx).unwrap())
        .await
        .unwrap();
    peer.write_all(&Message::Keepalive.to_bytes(&ctx).unwrap())
        .await
        .unwrap();

    next_matching(&mut ev, |e| {
        matches!(e, SessionEvent::State(State::Established))
    })
    .await;
    let started = tokio::time::Instant::now();
    // Read what the session sends until it closes: OPEN, KEEPALIVEs, then the NOTIFICATION.
    let mut got = Vec::new();
    let _ = timeout(Duration::from_secs(15), peer.read_to_end(&mut got)).await;
    let elapsed = started.elapsed();
    let mut msgs = Vec::new();
    let mut rest = got.as_slice();
    while rest.len() >= 19 {
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        msgs.push(decode_message(&rest[..len], &ctx).unwrap().message);
        rest = &rest[len..];
    }
    assert!(matches!(msgs.first(), Some(Message::Open(_))), "{msgs:?}");
    assert_eq!(
        msgs.last(),
        Some(&Message::Notification(Notification::new(4, 0, vec![]))),
        "{msgs:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(2),
        "hold timer fired after {elapsed:?}"
    );
    let SessionEvent::Down(reason) =
        next_matching(&mut ev, |e| matches!(e, SessionEvent::Down(_))).await
    else {
        unreachable!()
    };
    assert_eq!(reason, DownReason::Sent(Notification::new(4, 0, vec![])));
    drop(cmd);
}

/// Reads one whole BGP message from `s`.
async fn read_message(s: &mut tokio::net::TcpStream) -> Message {
    let mut head = [0u8; 19];
    timeout(Duration::from_secs(10), s.read_exact(&mut head))
        .await
        .expect("timed out reading a message")
        .expect("connection closed");
    let len = usize::from(u16::from_be_bytes([head[16], head[17]]));
    let mut msg = head.to_vec();
    msg.resize(len, 0);
    timeout(Duration::from_secs(10), s.read_exact(&mut msg[19..]))
        .await
        .unwrap()
        .unwrap();
    decode_message(&msg, &Context::default()).unwrap().message
}

/// Our session (router id `local_id`) connects to a scripted peer (router id 10.0.0.5) and
/// reaches OpenConfirm; then the peer's own connection arrives. Returns the connection we
/// initiated and the peer's end of its connection.
async fn collide(local_id: [u8; 4], early: bool) -> (tokio::net::TcpStream, tokio::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (cmd, cmd_rx) = mpsc::channel(8);
    let (ev_tx, mut ev) = mpsc::channel(64);
    let cfg = SessionConfig {
        fsm: fsm(65001, local_id, 65002, 9),
        remote: listener.local_addr().unwrap(),
        passive: false,
        connect_timeout: Duration::from_secs(2),
        socket: Default::default(),
    };
    tokio::spawn(run(cfg, cmd_rx, ev_tx));
    let (mut out, _) = listener.accept().await.unwrap();
    assert!(matches!(read_message(&mut out).await, Message::Open(_)));
    // The peer's own connection, before (OpenSent) or after (OpenConfirm) its OPEN on ours.
    let other = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = tokio::net::TcpStream::connect(other.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = other.accept().await.unwrap();
    let mut server = Some(server);
    if early {
        cmd.send(SessionCommand::Incoming(server.take().unwrap()))
            .await
            .unwrap();
    }
    let open = Open::new(
        65002,
        9,
        Ipv4Addr::new(10, 0, 0, 5),
        vec![
            Capability::Multiprotocol(Family::Ipv4Unicast.afi_safi()),
            Capability::FourOctetAs(65002),
        ],
    );
    out.write_all(&Message::Open(open).to_bytes(&Context::default()).unwrap())
        .await
        .unwrap();
    // Its OPEN accepted, the session answers with a KEEPALIVE (OpenConfirm).
    assert!(matches!(read_message(&mut out).await, Message::Keepalive));
    if !early {
        next_matching(&mut ev, |e| {
            matches!(e, SessionEvent::State(State::OpenConfirm))
        })
        .await;
    }
    if let Some(server) = server {
        cmd.send(SessionCommand::Incoming(server)).await.unwrap();
    }
    // Keep the session alive after we return.
    tokio::spawn(async move {
        while ev.recv().await.is_some() {}
        drop(cmd);
    });
    (out, client)
}

fn is_collision(m: &Message) -> bool {
    matches!(m, Message::Notification(n) if n.code == 6 && n.subcode == 7)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collision_keeps_our_connection_when_our_id_is_higher() {
    let (mut out, mut theirs) = collide([10, 0, 0, 9], false).await;
    // The peer's connection is closed with Cease/7; ours lives on.
    let m = read_message(&mut theirs).await;
    assert!(is_collision(&m), "{m:?}");
    out.write_all(&Message::Keepalive.to_bytes(&Context::default()).unwrap())
        .await
        .unwrap();
    // Established on ours: keepalives keep coming (hold 9 s -> every 3 s).
    assert!(matches!(read_message(&mut out).await, Message::Keepalive));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collision_moves_to_the_peer_connection_when_its_id_is_higher() {
    let (mut out, mut theirs) = collide([10, 0, 0, 1], false).await;
    // Ours is closed with Cease/7, and the session starts over on the peer's connection.
    let m = read_message(&mut out).await;
    assert!(is_collision(&m), "{m:?}");
    let m = read_message(&mut theirs).await;
    assert!(matches!(m, Message::Open(_)), "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collision_in_open_sent_waits_for_the_peer_open() {
    // The peer's connection arrives before its OPEN on ours: held, then resolved.
    let (mut out, mut theirs) = collide([10, 0, 0, 1], true).await;
    let m = read_message(&mut out).await;
    assert!(is_collision(&m), "{m:?}");
    assert!(matches!(read_message(&mut theirs).await, Message::Open(_)));
}
