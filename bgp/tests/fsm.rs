//! The RFC 4271 FSM: scenarios and properties over random event sequences.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::fsm::{resolve_collision, Action, DownReason, Event, Fsm, FsmConfig, State, Timer};
use bgp::wire::{Capability, Notification, Open, PeerType};
use proptest::prelude::*;

fn open(asn: u32, hold: u16, id: [u8; 4]) -> Open {
    Open::new(
        asn,
        hold,
        Ipv4Addr::from(id),
        vec![Capability::FourOctetAs(asn), Capability::RouteRefresh],
    )
}

fn config(hold: u16) -> FsmConfig {
    FsmConfig {
        local_open: open(65001, hold, [10, 0, 0, 1]),
        peer_as: Some(65002),
        peer_type: None,
        min_hold_time: 3,
        keepalive: None,
        connect_retry: Duration::from_secs(5),
        idle_hold: Duration::from_secs(1),
        max_idle_hold: Duration::from_secs(60),
        open_hold: Duration::from_secs(240),
        policy: bgp::negotiation::SessionPolicy::default(),
    }
}

fn peer_open(hold: u16) -> Open {
    open(65002, hold, [10, 0, 0, 2])
}

/// Drives a session to Established and returns the actions of the last step.
fn establish(fsm: &mut Fsm, their_hold: u16) -> Vec<Action> {
    let a = fsm.handle(Event::Start { passive: false });
    assert!(a.contains(&Action::Connect));
    let a = fsm.handle(Event::TcpConnected);
    assert!(
        matches!(
            a.as_slice(),
            [
                Action::StopTimer(Timer::ConnectRetry),
                Action::SendOpen(_),
                Action::StartTimer(Timer::Hold, _)
            ]
        ),
        "{a:?}"
    );
    assert_eq!(fsm.state(), State::OpenSent);
    let a = fsm.handle(Event::OpenReceived(peer_open(their_hold)));
    assert_eq!(fsm.state(), State::OpenConfirm, "{a:?}");
    assert_eq!(a.first(), Some(&Action::SendKeepalive));
    fsm.handle(Event::KeepaliveReceived)
}

#[test]
fn active_open_reaches_established_with_negotiated_timers() {
    let mut fsm = Fsm::new(config(90));
    let a = establish(&mut fsm, 30);
    assert_eq!(fsm.state(), State::Established);
    // Hold = min(90, 30) = 30 s; keepalives every 10 s were armed in OpenConfirm.
    assert!(
        a.contains(&Action::StartTimer(Timer::Hold, Duration::from_secs(30))),
        "{a:?}"
    );
    let Some(Action::Established(n)) = a.iter().find(|x| matches!(x, Action::Established(_)))
    else {
        panic!("{a:?}")
    };
    assert!(n.contexts.rx.four_octet_as && n.contexts.tx.four_octet_as);
    assert_eq!(n.contexts.rx.peer, PeerType::External);
    assert!(n.route_refresh);
    let a = fsm.handle(Event::TimerExpired(Timer::Keepalive));
    assert_eq!(
        a,
        vec![
            Action::SendKeepalive,
            Action::StartTimer(Timer::Keepalive, Duration::from_secs(10))
        ]
    );
    let a = fsm.handle(Event::UpdateReceived { reset: None });
    assert_eq!(
        a,
        vec![
            Action::StartTimer(Timer::Hold, Duration::from_secs(30)),
            Action::Deliver
        ]
    );
}

#[test]
fn passive_open_listens() {
    let mut fsm = Fsm::new(config(90));
    let a = fsm.handle(Event::Start { passive: true });
    assert_eq!(
        a,
        vec![
            Action::StartTimer(Timer::ConnectRetry, Duration::from_secs(5)),
            Action::Listen
        ]
    );
    assert_eq!(fsm.state(), State::Active);
}

#[test]
fn hold_time_zero_disables_keepalives_and_hold_timer() {
    let mut fsm = Fsm::new(config(90));
    let a = establish(&mut fsm, 0);
    assert_eq!(fsm.state(), State::Established);
    assert!(a.contains(&Action::StopTimer(Timer::Hold)));
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::StartTimer(Timer::Hold | Timer::Keepalive, _))));
}

#[test]
fn open_errors_send_the_right_notification() {
    for (their, want) in [
        (open(65009, 90, [10, 0, 0, 2]), (2, 2)), // bad peer AS
        (peer_open(2), (2, 6)),                   // hold time 1 or 2
        (open(65002, 90, [0, 0, 0, 0]), (2, 3)),  // zero BGP identifier
    ] {
        let mut fsm = Fsm::new(config(90));
        fsm.handle(Event::Start { passive: false });
        fsm.handle(Event::TcpConnected);
        let a = fsm.handle(Event::OpenReceived(their));
        let Some(Action::SendNotification(n)) = a.first() else {
            panic!("{a:?}")
        };
        assert_eq!((n.code, n.subcode), want);
        assert_eq!(fsm.state(), State::Idle);
        // The driver sends the NOTIFICATION before it disconnects, and a restart is scheduled.
        let send = a
            .iter()
            .position(|x| matches!(x, Action::SendNotification(_)))
            .unwrap();
        let close = a.iter().position(|x| *x == Action::Disconnect).unwrap();
        assert!(send < close);
        assert!(a
            .iter()
            .any(|x| matches!(x, Action::StartTimer(Timer::IdleHold, _))));
    }
}

#[test]
fn role_mismatch_refuses_the_open() {
    use bgp::negotiation::{Role, SessionPolicy};
    let mut cfg = config(90);
    cfg.policy = SessionPolicy {
        role: Some(Role::Provider),
        ..SessionPolicy::default()
    };
    let mut fsm = Fsm::new(cfg);
    fsm.handle(Event::Start { passive: false });
    fsm.handle(Event::TcpConnected);
    let mut their = peer_open(90);
    their
        .params
        .push(bgp::wire::OptParam::Capabilities(vec![Capability::Role(4)]));
    let a = fsm.handle(Event::OpenReceived(their));
    assert_eq!(
        a.first(),
        Some(&Action::SendNotification(Notification::new(2, 11, vec![])))
    );
}

#[test]
fn hold_timer_expiry_and_reset_updates_tear_down_with_notification() {
    let mut fsm = Fsm::new(config(90));
    establish(&mut fsm, 90);
    let a = fsm.handle(Event::TimerExpired(Timer::Hold));
    assert_eq!(
        a.first(),
        Some(&Action::SendNotification(Notification::new(4, 0, vec![])))
    );
    assert!(
        a.contains(&Action::SessionDown(DownReason::Sent(Notification::new(
            4,
            0,
            vec![]
        ))))
    );

    let mut fsm = Fsm::new(config(90));
    establish(&mut fsm, 90);
    let n = Notification::new(3, 1, vec![]);
    let a = fsm.handle(Event::UpdateReceived {
        reset: Some(n.clone()),
    });
    assert_eq!(a.first(), Some(&Action::SendNotification(n)));
    assert!(!a.contains(&Action::Deliver));
}

#[test]
fn received_notification_is_not_answered() {
    let mut fsm = Fsm::new(config(90));
    establish(&mut fsm, 90);
    let n = Notification::new(6, 2, vec![]);
    let a = fsm.handle(Event::NotificationReceived(n.clone()));
    assert!(!a.iter().any(|x| matches!(x, Action::SendNotification(_))));
    assert!(a.contains(&Action::SessionDown(DownReason::Received(n))));
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    // A KEEPALIVE in OpenSent: FSM Error, subcode 1 (RFC 6608).
    let mut fsm = Fsm::new(config(90));
    fsm.handle(Event::Start { passive: false });
    fsm.handle(Event::TcpConnected);
    let a = fsm.handle(Event::KeepaliveReceived);
    assert_eq!(
        a.first(),
        Some(&Action::SendNotification(Notification::new(5, 1, vec![])))
    );
    // An OPEN in Established: subcode 3.
    let mut fsm = Fsm::new(config(90));
    establish(&mut fsm, 90);
    let a = fsm.handle(Event::OpenReceived(peer_open(90)));
    assert_eq!(
        a.first(),
        Some(&Action::SendNotification(Notification::new(5, 3, vec![])))
    );
}

#[test]
fn manual_stop_sends_cease_and_does_not_restart() {
    let mut fsm = Fsm::new(config(90));
    establish(&mut fsm, 90);
    let a = fsm.handle(Event::Stop);
    assert_eq!(
        a.first(),
        Some(&Action::SendNotification(Notification::new(6, 2, vec![])))
    );
    assert!(a.contains(&Action::SessionDown(DownReason::Stopped)));
    assert!(!a.iter().any(|x| matches!(x, Action::StartTimer(..))));
    assert!(fsm.handle(Event::TimerExpired(Timer::IdleHold)).is_empty());
}

#[test]
fn flapping_peer_is_damped() {
    let mut fsm = Fsm::new(config(90));
    fsm.handle(Event::Start { passive: false });
    let mut delays = Vec::new();
    for _ in 0..10 {
        fsm.handle(Event::TcpConnected);
        let a = fsm.handle(Event::TcpFailed);
        let d = a.iter().find_map(|x| match x {
            Action::StartTimer(Timer::IdleHold, d) => Some(*d),
            _ => None,
        });
        delays.push(d.unwrap().as_secs());
        fsm.handle(Event::TimerExpired(Timer::IdleHold));
    }
    assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
    // Reaching Established resets the damping.
    establish_from_connect(&mut fsm);
    assert_eq!(fsm.failures(), 0);
}

fn establish_from_connect(fsm: &mut Fsm) {
    fsm.handle(Event::TcpConnected);
    fsm.handle(Event::OpenReceived(peer_open(90)));
    fsm.handle(Event::KeepaliveReceived);
    assert_eq!(fsm.state(), State::Established);
}

#[test]
fn collision_keeps_the_higher_identifier() {
    assert!(resolve_collision(
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(10, 0, 0, 1)
    ));
    assert!(!resolve_collision(
        Ipv4Addr::new(9, 255, 255, 255),
        Ipv4Addr::new(10, 0, 0, 1)
    ));
    assert_eq!(
        bgp::fsm::collision_notification(),
        Notification::new(6, 7, vec![])
    );
}

fn event() -> impl Strategy<Value = Event> {
    // Weighted towards the events that move a session forward, so that random sequences
    // reach OpenConfirm and Established often (checked by `random_sequences_reach_established`).
    prop_oneof![
        3 => any::<bool>().prop_map(|passive| Event::Start { passive }),
        1 => Just(Event::Stop),
        2 => prop_oneof![Just(Timer::ConnectRetry), Just(Timer::Hold), Just(Timer::Keepalive), Just(Timer::IdleHold)]
            .prop_map(Event::TimerExpired),
        4 => Just(Event::TcpConnected),
        1 => Just(Event::TcpFailed),
        4 => (prop_oneof![Just(0u16), 0u16..200], prop::bool::weighted(0.9))
            .prop_map(|(hold, good_as)| Event::OpenReceived(open(if good_as { 65002 } else { 65003 }, hold, [10, 0, 0, 2]))),
        1 => Just(Event::MessageError(Notification::new(1, 2, vec![0, 5]))),
        1 => Just(Event::NotificationReceived(Notification::new(6, 4, vec![]))),
        5 => Just(Event::KeepaliveReceived),
        3 => prop::bool::weighted(0.2).prop_map(|r| Event::UpdateReceived { reset: r.then(|| Notification::new(3, 1, vec![])) }),
    ]
}

/// Random events, half of the time after the four events that establish a session.
fn events() -> impl Strategy<Value = Vec<Event>> {
    (any::<bool>(), proptest::collection::vec(event(), 0..60)).prop_map(|(prefix, rest)| {
        let mut v = Vec::new();
        if prefix {
            v.extend([
                Event::Start { passive: false },
                Event::TcpConnected,
                Event::OpenReceived(peer_open(90)),
                Event::KeepaliveReceived,
            ]);
        }
        v.extend(rest);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Over any event sequence: no panic; Established is entered only from OpenConfirm on a
    /// KEEPALIVE, with an `Established` action; leaving Established reports `SessionDown`;
    /// a NOTIFICATION we send always precedes the disconnect; after a stop nothing restarts;
    /// a zero hold time never arms the hold or keepalive timer in Established.
    #[test]
    fn fsm_invariants(hold in prop_oneof![Just(0u16), 3u16..300], events in events()) {
        let mut fsm = Fsm::new(config(hold));
        let mut stopped = true;
        for ev in events {
            let before = fsm.state();
            let is_keepalive = ev == Event::KeepaliveReceived;
            let is_stop = ev == Event::Stop;
            let is_start = matches!(ev, Event::Start { .. });
            let actions = fsm.handle(ev);
            let after = fsm.state();
            let established_action = actions.iter().any(|a| matches!(a, Action::Established(_)));
            prop_assert_eq!(established_action, before != State::Established && after == State::Established);
            if after == State::Established && before != State::Established {
                prop_assert!(before == State::OpenConfirm && is_keepalive);
            }
            let down = actions.iter().any(|a| matches!(a, Action::SessionDown(_)));
            prop_assert_eq!(down, before == State::Established && after != State::Established);
            if let Some(send) = actions.iter().position(|a| matches!(a, Action::SendNotification(_))) {
                let close = actions.iter().position(|a| *a == Action::Disconnect);
                prop_assert!(close.is_some_and(|c| send < c), "{:?}", actions);
            }
            if is_stop {
                stopped = true;
                prop_assert_eq!(after, State::Idle);
            }
            if is_start && before == State::Idle {
                stopped = false;
            }
            if stopped {
                prop_assert!(!actions.iter().any(|a| matches!(a, Action::StartTimer(Timer::IdleHold, _))), "{:?}", actions);
                prop_assert!(after == State::Idle);
            }
            if hold == 0 && after == State::Established {
                prop_assert!(!actions.iter().any(|a| matches!(a, Action::StartTimer(Timer::Hold | Timer::Keepalive, _))), "{:?}", actions);
            }
            prop_assert!(fsm.idle_hold_delay() <= Duration::from_secs(60));
        }
    }
}

/// The random sequences above must actually reach Established often enough to mean something:
/// most with the scripted prefix, and some from random events alone.
#[test]
fn random_sequences_reach_established() {
    use proptest::strategy::ValueTree;
    fn count(strat: impl Strategy<Value = Vec<Event>>) -> usize {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut reached = 0;
        for _ in 0..500 {
            let events = strat.new_tree(&mut runner).unwrap().current();
            let mut fsm = Fsm::new(config(90));
            let mut seen = false;
            for ev in events {
                fsm.handle(ev);
                seen |= fsm.state() == State::Established;
            }
            reached += usize::from(seen);
        }
        reached
    }
    let with_prefix = count(events());
    assert!(
        with_prefix > 200,
        "only {with_prefix} of 500 sequences reached Established"
    );
    let random_only = count(proptest::collection::vec(event(), 0..60));
    assert!(
        random_only >= 10,
        "only {random_only} of 500 random sequences reached Established"
    );
}

#[test]
fn a_configured_keepalive_shorter_than_a_third_of_the_hold_time_is_used() {
    let mut fsm = Fsm::new(FsmConfig {
        keepalive: Some(Duration::from_secs(2)),
        ..config(90)
    });
    establish(&mut fsm, 30);
    let a = fsm.handle(Event::TimerExpired(Timer::Keepalive));
    assert!(
        a.contains(&Action::StartTimer(
            Timer::Keepalive,
            Duration::from_secs(2)
        )),
        "{a:?}"
    );
    // A configured keepalive longer than a third of the negotiated hold time is capped.
    let mut fsm = Fsm::new(FsmConfig {
        keepalive: Some(Duration::from_secs(60)),
        ..config(90)
    });
    establish(&mut fsm, 30);
    let a = fsm.handle(Event::TimerExpired(Timer::Keepalive));
    assert!(
        a.contains(&Action::StartTimer(
            Timer::Keepalive,
            Duration::from_secs(10)
        )),
        "{a:?}"
    );
}
