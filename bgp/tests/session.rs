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
