//! The tokio driver of one BGP session: it owns the transport and the timers, feeds the pure
//! [`Fsm`] events and carries out its actions.
//!
//! A session talks to its owner (the RIB actor, later) through two bounded channels: commands
//! in ([`SessionCommand`]), events out ([`SessionEvent`]). Received UPDATEs are decoded here, at
//! the edge, with the negotiated receive context, and handed over with their RFC 7606 verdict;
//! a full event channel stops the session from reading its socket (backpressure) rather than
//! buffering without bound.
//!
//! Outgoing connections are opened by the session; incoming ones are accepted by whoever owns
//! the listening socket and handed in with [`SessionCommand::Incoming`].

use std::net::SocketAddr;
use std::time::Duration;

use bgp_wire::{decode_message, frame, Context, Message, MessageError, Notification, Received};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::fsm::{Action, DownReason, Event, Fsm, FsmConfig, State, Timer};
use crate::negotiation::Negotiation;
use crate::transport::{self, SocketOptions};

/// How to reach the peer.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The state machine's configuration (our OPEN, timers, policy).
    pub fsm: FsmConfig,
    /// The peer's address and port.
    pub remote: SocketAddr,
    /// Wait for the peer to connect instead of connecting.
    pub passive: bool,
    /// How long an outgoing connection attempt may take.
    pub connect_timeout: Duration,
    /// Socket options of outgoing connections (TCP-MD5, TTL, GTSM, update-source, device).
    /// Accepted connections get theirs from the listener's owner.
    pub socket: SocketOptions,
}

/// What the owner asks of a session.
#[derive(Debug)]
pub enum SessionCommand {
    /// An accepted connection from the peer.
    Incoming(TcpStream),
    /// Send a message (UPDATE, ROUTE-REFRESH) on the established session.
    Send(Box<Message>),
    /// Send messages already encoded with the session's transmit context (the RIB packs
    /// UPDATEs itself); dropped unless the session is established.
    SendEncoded(Vec<Vec<u8>>),
    /// Stop the session (Cease / Administrative Shutdown).
    Stop,
    /// Drop the connection without a NOTIFICATION and end (a graceful restart: the peer
    /// keeps our routes for our restart time).
    Abort,
    /// Stop the session with this NOTIFICATION (Cease / Maximum Number of Prefixes Reached,
    /// Administrative Reset, …).
    Shutdown(Notification),
}

/// What a session reports.
#[derive(Debug)]
pub enum SessionEvent {
    /// The FSM changed state.
    State(State),
    /// A transport connection is up (before the OPEN exchange).
    Connected {
        /// Our address.
        local: SocketAddr,
        /// The peer's address.
        remote: SocketAddr,
    },
    /// The session is established on these terms.
    Established(Box<Negotiation>),
    /// A message from the established peer (UPDATE or ROUTE-REFRESH), with its verdict.
    Message(Box<Received>),
    /// The session went down.
    Down(DownReason),
}

/// Runs a session until it is stopped or its owner goes away.
pub async fn run(
    config: SessionConfig,
    mut commands: mpsc::Receiver<SessionCommand>,
    events: mpsc::Sender<SessionEvent>,
) {
    let mut s = Driver {
        fsm: Fsm::new(config.fsm.clone()),
        config,
        stream: None,
        connecting: false,
        timers: Timers::default(),
        rx_ctx: Context::default(),
        tx_ctx: Context::default(),
        buf: Vec::with_capacity(8192),
        events,
        last_state: State::Idle,
        write_failed: false,
        outbound: false,
        pending: None,
    };
    let passive = s.config.passive;
    s.handle(Event::Start { passive }).await;
    loop {
        if std::mem::take(&mut s.write_failed) {
            // A send failed inside an action: tell the FSM the transport is gone.
            s.handle(Event::TcpFailed).await;
        }
        let deadline = s.timers.next();
        let connect_to = s.connecting.then_some(s.config.remote);
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None => {
                    s.handle(Event::Stop).await;
                    return;
                }
                Some(SessionCommand::Stop) => {
                    s.handle(Event::Stop).await;
                    return;
                }
                Some(SessionCommand::Abort) => {
                    if let Some(mut stream) = s.stream.take() {
                        let _ = stream.shutdown().await;
                    }
                    return;
                }
                Some(SessionCommand::Shutdown(n)) => {
                    // Our NOTIFICATION instead of the FSM's Administrative Shutdown: send it,
                    // close, then stop the FSM with no transport left to write to.
                    s.send(&Message::Notification(n)).await;
                    if let Some(mut stream) = s.stream.take() {
                        let _ = stream.shutdown().await;
                    }
                    s.handle(Event::Stop).await;
                    return;
                }
                Some(SessionCommand::Incoming(stream)) => s.incoming(stream).await,
                Some(SessionCommand::Send(msg)) => {
                    if s.fsm.state() == State::Established {
                        s.send(&msg).await;
                    }
                }
                Some(SessionCommand::SendEncoded(msgs)) => {
                    if s.fsm.state() == State::Established {
                        s.send_encoded(&msgs).await;
                    }
                }
            },
            res = connect(connect_to, &s.config.socket, s.config.connect_timeout) => {
                s.connecting = false;
                match res {
                    Ok(stream) => {
                        s.stream = Some(stream);
                        s.outbound = true;
                        s.handle(Event::TcpConnected).await;
                    }
                    Err(()) => {
                        s.handle(Event::TcpFailed).await;
                        s.adopt_pending().await;
                    }
                }
            }
            read = read_some(s.stream.as_mut(), &mut s.buf) => {
                match read {
                    Ok(()) => s.drain().await,
                    Err(()) => {
                        s.stream = None;
                        s.handle(Event::TcpFailed).await;
                    }
                }
            }
            () = sleep_until(deadline.map(|(at, _)| at)) => {
                if let Some((_, timer)) = deadline {
                    s.timers.stop(timer);
                    s.handle(Event::TimerExpired(timer)).await;
                }
            }
        }
    }
}

/// Connects when `to` is set; never completes otherwise.
async fn connect(
    to: Option<SocketAddr>,
    opts: &SocketOptions,
    timeout: Duration,
) -> Result<TcpStream, ()> {
    match to {
        Some(addr) => match transport::connect(addr, opts, timeout).await {
            Ok(stream) => Ok(stream),
            Err(e) => {
                tracing::debug!(peer = %addr, error = %e, "bgp connect failed");
                Err(())
            }
        },
        None => std::future::pending().await,
    }
}

/// Reads what is available into `buf`; never completes without a stream.
async fn read_some(stream: Option<&mut TcpStream>, buf: &mut Vec<u8>) -> Result<(), ()> {
    match stream {
        Some(stream) => {
            let mut chunk = [0u8; 16384];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => Err(()),
                Ok(n) => {
                    buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                    Ok(())
                }
            }
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Deadlines of the FSM's timers.
#[derive(Debug, Default)]
struct Timers {
    running: Vec<(Timer, Instant)>,
}

impl Timers {
    fn start(&mut self, t: Timer, after: Duration) {
        self.stop(t);
        // A duration too large to add is as good as never.
        if let Some(at) = Instant::now().checked_add(after) {
            self.running.push((t, at));
        }
    }

    fn stop(&mut self, t: Timer) {
        self.running.retain(|(x, _)| *x != t);
    }

    /// The earliest deadline.
    fn next(&self) -> Option<(Instant, Timer)> {
        self.running
            .iter()
            .map(|(t, at)| (*at, *t))
            .min_by_key(|(at, _)| *at)
    }
}

struct Driver {
    config: SessionConfig,
    fsm: Fsm,
    stream: Option<TcpStream>,
    connecting: bool,
    timers: Timers,
    rx_ctx: Context,
    tx_ctx: Context,
    buf: Vec<u8>,
    events: mpsc::Sender<SessionEvent>,
    last_state: State,
    /// A write failed; the FSM hears of it before the next event.
    write_failed: bool,
    /// The current connection was initiated by us.
    outbound: bool,
    /// A connection from the peer that collided with ours while its OPEN was unknown
    /// (OpenSent): resolved when the peer's OPEN arrives on ours, adopted if ours fails.
    pending: Option<TcpStream>,
}

impl Driver {
    /// A connection accepted from the peer (RFC 4271 §6.8 collision handling).
    async fn incoming(&mut self, new: TcpStream) {
        match self.fsm.state() {
            // Refusing connections (stopped, or damping a flapping peer).
            State::Idle => {}
            _ if self.stream.is_none() => {
                self.stream = Some(new);
                self.outbound = false;
                self.connecting = false;
                self.handle(Event::TcpConnected).await;
            }
            State::Connect | State::Active => {}
            // The peer's identifier is not known yet: decide when its OPEN arrives.
            State::OpenSent => self.pending = Some(new),
            State::OpenConfirm => self.resolve_collision(new).await,
            State::Established => {
                let restarting_peer = self
                    .fsm
                    .negotiation()
                    .is_some_and(|n| n.peer_graceful_restart.is_some());
                if restarting_peer {
                    // RFC 4724 §4.2: a new connection from an established peer that does
                    // graceful restart means it restarted: the old session is over (its
                    // routes are kept stale by the owner) and the new one takes over.
                    tracing::info!(peer = %self.config.remote, "graceful restart: the peer reconnected, replacing the old session");
                    if let Some(mut old) = self.stream.take() {
                        let _ = old.shutdown().await;
                    }
                    let _ = self
                        .events
                        .send(SessionEvent::Down(DownReason::TransportFailed))
                        .await;
                    self.adopt_fresh(new).await;
                }
                // Otherwise the established session stays and the new connection is closed
                // (RFC 4271 §6.8).
            }
        }
    }

    /// OpenConfirm and a second connection: keep the one initiated by the speaker with the
    /// higher BGP Identifier, close the other with Cease / Connection Collision Resolution.
    async fn resolve_collision(&mut self, new: TcpStream) {
        let Some(remote_id) = self.fsm.remote_open().map(|o| o.bgp_id) else {
            return;
        };
        let local_id = self.config.fsm.local_open.bgp_id;
        let ours_wins = crate::fsm::resolve_collision(local_id, remote_id);
        let notification = Message::Notification(crate::fsm::collision_notification());
        let bytes = notification
            .to_bytes(&Context::default())
            .unwrap_or_default();
        if !self.outbound || ours_wins {
            // Keep the current connection.
            tracing::info!(peer = %self.config.remote, %local_id, %remote_id, "connection collision: keeping the established connection");
            let mut new = new;
            let _ = new.write_all(&bytes).await;
            let _ = new.shutdown().await;
            return;
        }
        tracing::info!(peer = %self.config.remote, %local_id, %remote_id, "connection collision: the peer's connection wins");
        if let Some(mut old) = self.stream.take() {
            let _ = old.write_all(&bytes).await;
            let _ = old.shutdown().await;
        }
        self.adopt_fresh(new).await;
    }

    /// Resolves a pending collision once the FSM knows the peer's identifier.
    async fn resolve_pending(&mut self) {
        if self.fsm.state() == State::OpenConfirm {
            if let Some(p) = self.pending.take() {
                self.resolve_collision(p).await;
            }
        }
    }

    /// Our connection failed while the peer's was waiting: use the peer's.
    async fn adopt_pending(&mut self) {
        if self.stream.is_none() {
            if let Some(p) = self.pending.take() {
                self.adopt_fresh(p).await;
            }
        }
    }

    /// Restarts the FSM on `stream`, a connection from the peer.
    async fn adopt_fresh(&mut self, stream: TcpStream) {
        self.fsm = Fsm::new(self.config.fsm.clone());
        self.timers = Timers::default();
        self.buf.clear();
        self.rx_ctx = Context::default();
        self.tx_ctx = Context::default();
        let passive = self.config.passive;
        self.handle(Event::Start { passive }).await;
        self.stream = Some(stream);
        self.outbound = false;
        self.handle(Event::TcpConnected).await;
        self.connecting = false;
    }

    /// Feeds one event to the FSM and performs its actions.
    async fn handle(&mut self, event: Event) {
        if event == Event::TcpConnected {
            if let Some(stream) = &self.stream {
                if let (Ok(local), Ok(remote)) = (stream.local_addr(), stream.peer_addr()) {
                    let _ = self
                        .events
                        .send(SessionEvent::Connected { local, remote })
                        .await;
                }
            }
        }
        let actions = self.fsm.handle(event);
        for a in actions {
            self.perform(a).await;
        }
        let state = self.fsm.state();
        if state == State::OpenConfirm && self.pending.is_some() {
            Box::pin(self.resolve_pending()).await;
        }
        let state = self.fsm.state();
        if state != self.last_state {
            self.last_state = state;
            tracing::debug!(peer = %self.config.remote, ?state, "bgp session state");
            let _ = self.events.send(SessionEvent::State(state)).await;
        }
    }

    async fn perform(&mut self, action: Action) {
        match action {
            Action::Connect => self.connecting = true,
            Action::Listen => {}
            Action::Disconnect => {
                if let Some(mut s) = self.stream.take() {
                    let _ = s.shutdown().await;
                }
                self.connecting = false;
                self.buf.clear();
            }
            Action::SendOpen(open) => self.send(&Message::Open(open)).await,
            Action::SendKeepalive => self.send(&Message::Keepalive).await,
            Action::SendNotification(n) => self.send(&Message::Notification(n)).await,
            Action::StartTimer(t, d) => self.timers.start(t, d),
            Action::StopTimer(t) => self.timers.stop(t),
            Action::Established(n) => {
                self.rx_ctx = n.contexts.rx;
                self.tx_ctx = n.contexts.tx;
                tracing::info!(peer = %self.config.remote, families = ?n.families, "bgp session established");
                let _ = self.events.send(SessionEvent::Established(n)).await;
            }
            Action::SessionDown(reason) => {
                tracing::info!(peer = %self.config.remote, ?reason, "bgp session down");
                self.rx_ctx = Context::default();
                self.tx_ctx = Context::default();
                let _ = self.events.send(SessionEvent::Down(reason)).await;
            }
            // Delivery happens in `drain`, which holds the decoded message.
            Action::Deliver => {}
        }
    }

    async fn send(&mut self, msg: &Message) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        match msg.to_bytes(&self.tx_ctx) {
            Ok(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    self.stream = None;
                    self.write_failed = true;
                }
            }
            Err(e) => {
                tracing::warn!(peer = %self.config.remote, error = %e, "message not sent: cannot be encoded")
            }
        }
    }

    async fn send_encoded(&mut self, msgs: &[Vec<u8>]) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        for m in msgs {
            if stream.write_all(m).await.is_err() {
                self.stream = None;
                self.write_failed = true;
                return;
            }
        }
    }

    /// Decodes every complete message in the buffer and feeds it to the FSM.
    async fn drain(&mut self) {
        loop {
            let len = match frame(&self.buf, &self.rx_ctx) {
                Ok(Some(len)) if len <= self.buf.len() => len,
                Ok(_) => return,
                Err(e) => {
                    self.buf.clear();
                    self.message_error(e).await;
                    return;
                }
            };
            let bytes: Vec<u8> = self.buf.drain(..len).collect();
            let event = match decode_message(&bytes, &self.rx_ctx) {
                Err(e) => {
                    self.message_error(e).await;
                    return;
                }
                Ok(received) => match &received.message {
                    Message::Open(o) => Event::OpenReceived(o.clone()),
                    Message::Keepalive => Event::KeepaliveReceived,
                    Message::Notification(n) => Event::NotificationReceived(n.clone()),
                    Message::Update(_) | Message::RouteRefresh(_) => {
                        let reset = received
                            .verdict
                            .is_reset()
                            .then(|| received.verdict.notification.clone())
                            .flatten();
                        if !received.verdict.is_clean() {
                            tracing::warn!(peer = %self.config.remote, verdict = ?received.verdict.action, withdrawn_routes = ?received.verdict.withdrawn_routes, update = ?bytes, "malformed UPDATE (RFC 7606)");
                        }
                        let deliver = reset.is_none() && self.fsm.state() == State::Established;
                        self.handle(Event::UpdateReceived { reset }).await;
                        if deliver {
                            // A full channel pauses reading here: backpressure, not buffering.
                            let _ = self
                                .events
                                .send(SessionEvent::Message(Box::new(received)))
                                .await;
                        }
                        continue;
                    }
                },
            };
            self.handle(event).await;
            if self.stream.is_none() {
                return;
            }
        }
    }

    async fn message_error(&mut self, e: MessageError) {
        match e.notification {
            Some(n) => self.handle(Event::MessageError(n)).await,
            // A malformed NOTIFICATION: the peer is closing anyway.
            None => {
                self.handle(Event::NotificationReceived(Notification::new(0, 0, vec![])))
                    .await
            }
        }
    }
}
