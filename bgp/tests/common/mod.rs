//! Helpers shared by the session tests (loopback, FRR and GoBGP interop).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::fsm::FsmConfig;
use bgp::negotiation::SessionPolicy;
use bgp::session::SessionEvent;
use bgp::wire::{Capability, Family, Open};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// An FSM configuration for AS `asn` with identifier `id`, expecting `peer_as`, proposing
/// `hold` seconds, announcing IPv4 unicast and L2VPN EVPN, route refresh and 4-octet AS.
pub fn fsm(asn: u32, id: [u8; 4], peer_as: u32, hold: u16) -> FsmConfig {
    let caps = vec![
        Capability::Multiprotocol(Family::Ipv4Unicast.afi_safi()),
        Capability::Multiprotocol(Family::L2vpnEvpn.afi_safi()),
        Capability::RouteRefresh,
        Capability::FourOctetAs(asn),
    ];
    FsmConfig {
        local_open: Open::new(asn, hold, Ipv4Addr::from(id), caps),
        peer_as: Some(peer_as),
        peer_type: None,
        min_hold_time: 3,
        keepalive: None,
        connect_retry: Duration::from_secs(1),
        idle_hold: Duration::from_millis(200),
        max_idle_hold: Duration::from_secs(5),
        open_hold: Duration::from_secs(30),
        policy: SessionPolicy::default(),
    }
}

/// A free TCP port on `ip` (bound, then released).
pub fn free_port(ip: Ipv4Addr) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The next session event matching `pred`, within 20 s.
pub async fn next_matching(
    rx: &mut mpsc::Receiver<SessionEvent>,
    pred: impl Fn(&SessionEvent) -> bool,
) -> SessionEvent {
    timeout(Duration::from_secs(20), async {
        loop {
            let ev = rx.recv().await.expect("session ended");
            if pred(&ev) {
                return ev;
            }
        }
    })
    .await
    .expect("timed out waiting for a session event")
}

/// A running session of ours.
pub struct Ours {
    /// Its command channel.
    pub cmd: mpsc::Sender<bgp::session::SessionCommand>,
    /// Its events.
    pub ev: mpsc::Receiver<SessionEvent>,
}

/// Starts our session (AS 65001, 10.0.0.1, hold 9 s, at least one common family required)
/// connecting to `remote`, which expects peer AS `peer_as`.
pub fn connect_to(remote: std::net::SocketAddr, peer_as: u32) -> Ours {
    let cfg = bgp::session::SessionConfig {
        fsm: FsmConfig {
            policy: SessionPolicy {
                require_common_family: true,
                ..SessionPolicy::default()
            },
            ..fsm(65001, [10, 0, 0, 1], peer_as, 9)
        },
        remote,
        passive: false,
        connect_timeout: Duration::from_secs(2),
        socket: Default::default(),
    };
    let (cmd, cmd_rx) = mpsc::channel(8);
    let (ev_tx, ev) = mpsc::channel(64);
    tokio::spawn(bgp::session::run(cfg, cmd_rx, ev_tx));
    Ours { cmd, ev }
}
