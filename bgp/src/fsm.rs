//! The BGP finite state machine of RFC 4271 §8, sans I/O.
//!
//! [`Fsm::handle`] takes one [`Event`] and returns the [`Action`]s the driver must perform:
//! open or close the transport, send a message, start or stop a timer, report the session up
//! or down. It owns no socket, clock or task; the tokio session driver (issue 3) feeds it
//! events and carries out its actions. That makes every transition testable with plain values
//! and property tests (`tests/fsm_props.rs`).
//!
//! Covered: manual start/stop (active and passive), connect-retry, OPEN validation and hold
//! time negotiation (hold 0 disables keepalives and the hold timer), keepalive and hold timers,
//! a NOTIFICATION on every error path (RFC 4271 §6, RFC 6608 FSM errors), and an idle-hold
//! timer that grows exponentially for a flapping peer (RFC 4271 §8.1.1 "DampPeerOscillations").
//! Connection collisions involve two connections and are resolved by the session manager with
//! [`resolve_collision`], which applies §6.8.

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp_wire::notification::{cease, code, open_error};
use bgp_wire::{Notification, Open, PeerType};

use crate::negotiation::{negotiate_session, Negotiation, SessionPolicy};

/// RFC 4271 §8.2.2 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Refusing connections.
    Idle,
    /// Waiting for an outgoing connection to complete.
    Connect,
    /// Listening for an incoming connection.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for a KEEPALIVE.
    OpenConfirm,
    /// Exchanging UPDATEs.
    Established,
}

/// The timers the FSM asks its driver to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// ConnectRetryTimer.
    ConnectRetry,
    /// HoldTimer.
    Hold,
    /// KeepaliveTimer.
    Keepalive,
    /// IdleHoldTimer (automatic restart after a failure, with damping).
    IdleHold,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// ManualStart (event 1) or, with `passive`, ManualStart_with_PassiveTcpEstablishment (4).
    Start {
        /// Wait for the peer to connect instead of connecting.
        passive: bool,
    },
    /// ManualStop (event 2).
    Stop,
    /// A timer the FSM started has expired (events 9, 10, 11, 13).
    TimerExpired(Timer),
    /// The transport is connected, either way (events 16/17).
    TcpConnected,
    /// The transport failed or closed (event 18).
    TcpFailed,
    /// An OPEN arrived (event 19).
    OpenReceived(Open),
    /// A message could not be accepted; the codec's NOTIFICATION (events 21/22).
    MessageError(Notification),
    /// A NOTIFICATION arrived (events 24/25).
    NotificationReceived(Notification),
    /// A KEEPALIVE arrived (event 26).
    KeepaliveReceived,
    /// An UPDATE or ROUTE-REFRESH arrived (events 27/28). `reset` carries the NOTIFICATION
    /// when its RFC 7606 verdict is a session reset.
    UpdateReceived {
        /// The NOTIFICATION to send when the UPDATE resets the session.
        reset: Option<Notification>,
    },
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a transport connection to the peer.
    Connect,
    /// Accept a connection from the peer.
    Listen,
    /// Close the transport (after sending whatever preceded this action).
    Disconnect,
    /// Send our OPEN.
    SendOpen(Open),
    /// Send a KEEPALIVE.
    SendKeepalive,
    /// Send a NOTIFICATION.
    SendNotification(Notification),
    /// (Re)start a timer.
    StartTimer(Timer, Duration),
    /// Stop a timer.
    StopTimer(Timer),
    /// The session is up, on these terms.
    Established(Box<Negotiation>),
    /// The session went down (it was Established); drop or mark stale its routes.
    SessionDown(DownReason),
    /// Hand the received UPDATE or ROUTE-REFRESH to the RIB.
    Deliver,
}

/// Why a session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// We stopped it.
    Stopped,
    /// We sent this NOTIFICATION.
    Sent(Notification),
    /// The peer sent this NOTIFICATION.
    Received(Notification),
    /// The transport failed.
    TransportFailed,
}

/// What the FSM needs to know about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsmConfig {
    /// The OPEN we send (its hold time is the one we propose).
    pub local_open: Open,
    /// The peer AS we expect, if configured (a 4-octet AS is compared with capability 65).
    pub peer_as: Option<u32>,
    /// Without `peer_as`: whether the peer must be external (another AS, FRR `remote-as
    /// external`) or internal (our AS); `None` accepts any AS.
    pub peer_type: Option<PeerType>,
    /// Smallest hold time we accept from the peer, other than 0 (RFC 4271 allows 3).
    pub min_hold_time: u16,
    /// Configured keepalive interval: used when shorter than a third of the negotiated hold
    /// time (FRR's `timers KEEPALIVE HOLD`); `None` means a third of the hold time.
    pub keepalive: Option<Duration>,
    /// ConnectRetryTime.
    pub connect_retry: Duration,
    /// First automatic restart delay after a failure; doubled per consecutive failure.
    pub idle_hold: Duration,
    /// Upper bound of the damped restart delay.
    pub max_idle_hold: Duration,
    /// Hold time used in OpenSent while waiting for the peer's OPEN (RFC 4271: 4 minutes).
    pub open_hold: Duration,
    /// Role and family requirements on the peer's OPEN.
    pub policy: SessionPolicy,
}

/// The state machine of one session.
#[derive(Debug, Clone)]
pub struct Fsm {
    config: FsmConfig,
    state: State,
    passive: bool,
    /// Manual start happened and no manual stop since: failures restart automatically.
    enabled: bool,
    /// Consecutive failures, for damping.
    failures: u32,
    /// Negotiated hold time once the peer's OPEN is accepted.
    hold: Option<Duration>,
    remote_open: Option<Open>,
    negotiation: Option<Negotiation>,
}

impl Fsm {
    /// A session in Idle.
    pub fn new(config: FsmConfig) -> Fsm {
        Fsm {
            config,
            state: State::Idle,
            passive: false,
            enabled: false,
            failures: 0,
            hold: None,
            remote_open: None,
            negotiation: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The peer's OPEN, once accepted.
    pub fn remote_open(&self) -> Option<&Open> {
        self.remote_open.as_ref()
    }

    /// What the session agreed, once the peer's OPEN is accepted.
    pub fn negotiation(&self) -> Option<&Negotiation> {
        self.negotiation.as_ref()
    }

    /// Consecutive failures since the last Established.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Handles one event.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match (self.state, event) {
            (_, Event::Stop) => {
                self.enabled = false;
                if matches!(
                    self.state,
                    State::OpenSent | State::OpenConfirm | State::Established
                ) {
                    let n = Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN, vec![]);
                    out.push(Action::SendNotification(n));
                }
                self.enter_idle(&mut out, Some(DownReason::Stopped), false);
            }
            (State::Idle, Event::Start { passive }) => {
                self.enabled = true;
                self.passive = passive;
                self.failures = 0;
                self.start_connecting(&mut out);
            }
            (State::Idle, Event::TimerExpired(Timer::IdleHold)) if self.enabled => {
                self.start_connecting(&mut out);
            }
            // Idle ignores everything else (RFC 4271 §8.2.2, Idle state).
            (State::Idle, _) => {}
            (State::Connect | State::Active, Event::Start { .. }) => {}
            (State::Connect | State::Active, Event::TimerExpired(Timer::ConnectRetry)) => {
                out.push(Action::Disconnect);
                out.push(Action::StartTimer(
                    Timer::ConnectRetry,
                    self.config.connect_retry,
                ));
                self.state = if self.passive {
                    State::Active
                } else {
                    State::Connect
                };
                out.push(if self.passive {
                    Action::Listen
                } else {
                    Action::Connect
                });
            }
            (State::Connect | State::Active, Event::TcpConnected) => {
                out.push(Action::StopTimer(Timer::ConnectRetry));
                out.push(Action::SendOpen(self.config.local_open.clone()));
                out.push(Action::StartTimer(Timer::Hold, self.config.open_hold));
                self.state = State::OpenSent;
            }
            // A timer the FSM no longer runs (the driver raced its cancellation): ignore.
            (State::Connect | State::Active, Event::TimerExpired(_)) => {}
            (State::Connect | State::Active, Event::TcpFailed) => {
                // Keep trying: the connect-retry timer brings the next attempt.
                out.push(Action::Disconnect);
                self.state = State::Active;
                out.push(Action::Listen);
            }
            (State::Connect | State::Active, _) => {
                // Anything else here is an FSM error: drop the connection attempt.
                self.enter_idle(&mut out, None, true);
            }
            (State::OpenSent, Event::OpenReceived(open)) => match self.accept_open(&open) {
                Ok((hold, negotiation)) => {
                    self.hold = Some(hold);
                    self.remote_open = Some(open);
                    self.negotiation = Some(negotiation);
                    out.push(Action::SendKeepalive);
                    self.arm_session_timers(&mut out, hold);
                    self.state = State::OpenConfirm;
                }
                Err(n) => self.fail(&mut out, n),
            },
            (State::OpenConfirm, Event::KeepaliveReceived) => {
                if let Some(hold) = self.hold {
                    self.arm_hold(&mut out, hold);
                }
                self.failures = 0;
                self.state = State::Established;
                if let Some(n) = &self.negotiation {
                    out.push(Action::Established(Box::new(n.clone())));
                }
            }
            (State::Established, Event::KeepaliveReceived) => {
                if let Some(hold) = self.hold {
                    self.arm_hold(&mut out, hold);
                }
            }
            (State::Established, Event::UpdateReceived { reset }) => match reset {
                Some(n) => self.fail(&mut out, n),
                None => {
                    if let Some(hold) = self.hold {
                        self.arm_hold(&mut out, hold);
                    }
                    out.push(Action::Deliver);
                }
            },
            (State::OpenConfirm | State::Established, Event::TimerExpired(Timer::Keepalive)) => {
                out.push(Action::SendKeepalive);
                if let Some(k) = self.hold.and_then(|h| self.keepalive_for(h)) {
                    out.push(Action::StartTimer(Timer::Keepalive, k));
                }
            }
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::TimerExpired(Timer::ConnectRetry | Timer::IdleHold),
            )
            | (State::OpenSent, Event::TimerExpired(Timer::Keepalive)) => {}
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::TimerExpired(Timer::Hold),
            ) => {
                self.fail(
                    &mut out,
                    Notification::new(code::HOLD_TIMER_EXPIRED, 0, vec![]),
                );
            }
            (State::OpenSent | State::OpenConfirm | State::Established, Event::MessageError(n)) => {
                self.fail(&mut out, n);
            }
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::NotificationReceived(n),
            ) => {
                // No NOTIFICATION in reply to a NOTIFICATION.
                self.enter_idle(&mut out, Some(DownReason::Received(n)), true);
            }
            (State::OpenSent | State::OpenConfirm | State::Established, Event::TcpFailed) => {
                self.enter_idle(&mut out, Some(DownReason::TransportFailed), true);
            }
            // A second start, a stray connection event: nothing to do.
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::Start { .. } | Event::TcpConnected,
            ) => {}
            (state @ (State::OpenSent | State::OpenConfirm | State::Established), _) => {
                // An event the state does not expect: FSM Error (RFC 6608).
                let n = Notification::new(code::FSM, state_code(state), vec![]);
                self.fail(&mut out, n);
            }
        }
        out
    }

    fn start_connecting(&mut self, out: &mut Vec<Action>) {
        out.push(Action::StartTimer(
            Timer::ConnectRetry,
            self.config.connect_retry,
        ));
        if self.passive {
            self.state = State::Active;
            out.push(Action::Listen);
        } else {
            self.state = State::Connect;
            out.push(Action::Connect);
        }
    }

    fn arm_session_timers(&self, out: &mut Vec<Action>, hold: Duration) {
        self.arm_hold(out, hold);
        if let Some(k) = self.keepalive_for(hold) {
            out.push(Action::StartTimer(Timer::Keepalive, k));
        }
    }

    /// The keepalive interval for a negotiated hold time: a third of it, or the configured
    /// interval when shorter (never below one second; none with hold time 0).
    fn keepalive_for(&self, hold: Duration) -> Option<Duration> {
        let third = keepalive_interval(hold)?;
        Some(match self.config.keepalive {
            Some(k) if !k.is_zero() => k.min(third).max(Duration::from_secs(1)),
            _ => third,
        })
    }

    fn arm_hold(&self, out: &mut Vec<Action>, hold: Duration) {
        if hold.is_zero() {
            out.push(Action::StopTimer(Timer::Hold));
        } else {
            out.push(Action::StartTimer(Timer::Hold, hold));
        }
    }

    /// Checks the peer's OPEN (RFC 4271 §6.2, RFC 5492, RFC 9234) and returns the negotiated
    /// hold time and session terms.
    fn accept_open(&self, open: &Open) -> Result<(Duration, Negotiation), Notification> {
        open.validate()?;
        let local = &self.config.local_open;
        let acceptable = match (self.config.peer_as, self.config.peer_type) {
            (Some(want), _) => open.asn() == want,
            (None, Some(PeerType::External)) => open.asn() != local.asn(),
            (None, Some(PeerType::Internal)) => open.asn() == local.asn(),
            (None, None) => true,
        };
        {
            if !acceptable {
                let [a, b] = open.my_as.to_be_bytes();
                return Err(Notification::new(
                    code::OPEN,
                    open_error::BAD_PEER_AS,
                    vec![a, b],
                ));
            }
        }
        if open.bgp_id == local.bgp_id && open.asn() == local.asn() {
            // RFC 6286: an internal peer with our own identifier.
            return Err(Notification::new(
                code::OPEN,
                open_error::BAD_BGP_IDENTIFIER,
                vec![],
            ));
        }
        let theirs = open.hold_time;
        if theirs != 0 && theirs < self.config.min_hold_time {
            return Err(Notification::new(
                code::OPEN,
                open_error::UNACCEPTABLE_HOLD_TIME,
                vec![],
            ));
        }
        let peer = if open.asn() == local.asn() {
            PeerType::Internal
        } else {
            PeerType::External
        };
        let negotiation = negotiate_session(local, open, peer, &self.config.policy)?;
        let hold = theirs.min(local.hold_time);
        Ok((Duration::from_secs(u64::from(hold)), negotiation))
    }

    /// An error: send `n`, close, go to Idle and schedule a damped restart.
    fn fail(&mut self, out: &mut Vec<Action>, n: Notification) {
        out.push(Action::SendNotification(n.clone()));
        self.enter_idle(out, Some(DownReason::Sent(n)), true);
    }

    fn enter_idle(&mut self, out: &mut Vec<Action>, reason: Option<DownReason>, failure: bool) {
        let was_established = self.state == State::Established;
        for t in [
            Timer::ConnectRetry,
            Timer::Hold,
            Timer::Keepalive,
            Timer::IdleHold,
        ] {
            out.push(Action::StopTimer(t));
        }
        if self.state != State::Idle {
            out.push(Action::Disconnect);
        }
        if was_established {
            out.push(Action::SessionDown(
                reason.unwrap_or(DownReason::TransportFailed),
            ));
        }
        self.state = State::Idle;
        self.hold = None;
        self.remote_open = None;
        self.negotiation = None;
        if failure && self.enabled {
            self.failures = self.failures.saturating_add(1);
            out.push(Action::StartTimer(Timer::IdleHold, self.idle_hold_delay()));
        }
    }

    /// The damped restart delay: `idle_hold × 2^(failures-1)`, capped.
    pub fn idle_hold_delay(&self) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(16);
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.config
            .idle_hold
            .saturating_mul(factor)
            .min(self.config.max_idle_hold)
    }
}

/// KeepaliveTime: a third of the hold time (none when the hold time is 0).
fn keepalive_interval(hold: Duration) -> Option<Duration> {
    if hold.is_zero() {
        None
    } else {
        Some(
            hold.checked_div(3)
                .unwrap_or_default()
                .max(Duration::from_secs(1)),
        )
    }
}

fn state_code(s: State) -> u8 {
    match s {
        State::OpenSent => 1,
        State::OpenConfirm => 2,
        State::Established => 3,
        State::Idle | State::Connect | State::Active => 0,
    }
}

/// Which connection survives a collision (RFC 4271 §6.8): the one initiated by the speaker
/// with the higher BGP Identifier (compared as unsigned 32-bit integers). Returns true when
/// the connection *we* initiated survives; the other is closed with Cease/7.
pub fn resolve_collision(local_id: Ipv4Addr, remote_id: Ipv4Addr) -> bool {
    u32::from(local_id) > u32::from(remote_id)
}

/// The NOTIFICATION that closes the losing connection of a collision.
pub fn collision_notification() -> Notification {
    Notification::new(code::CEASE, cease::COLLISION, vec![])
}
