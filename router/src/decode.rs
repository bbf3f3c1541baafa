//! Decoding captured or hand-typed BGP messages into records, one per message.
//!
//! The decoder never guesses the session context. For TCP captures it learns it from the
//! OPENs it sees: once both OPENs of a connection are known, each direction is decoded with
//! the context the two speakers negotiated ([`bgp_wire::negotiate`]). For BMP it uses the
//! Peer Up OPENs, or the per-peer header's A flag (2-octet AS_PATH). Until then — or for
//! `--hex` input — it uses the base context given on the command line, and every record says
//! which context it was decoded with.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use bgp_capture::{CapturedMessage, Carrier};
use bgp_wire::{decode_message, negotiate, Context, Message, Open, PeerType, Verdict};
use serde::Serialize;

/// Where a context came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContextSource {
    /// The command line (or defaults).
    Given,
    /// Negotiated from the two OPENs seen on the connection.
    Negotiated,
    /// The BMP per-peer header flags.
    BmpFlags,
}

/// One decoded (or undecodable) message.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// 1-based packet index (captures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<u64>,
    /// Capture time, seconds.nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<SocketAddr>,
    /// Receiver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<SocketAddr>,
    /// BMP message type and peer, when the message came inside BMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bmp: Option<BmpInfo>,
    /// Message length in octets.
    pub length: usize,
    /// How the context was chosen.
    pub context_source: ContextSource,
    /// The context used.
    pub context: Context,
    /// The message, when it decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// The RFC 7606 verdict of an UPDATE that was not clean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Why the message could not be decoded at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The NOTIFICATION a receiver sends for this message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<String>,
    /// The OPEN's semantic problem (RFC 4271 §6.2), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_problem: Option<String>,
    /// The raw message, for anything not clean (RFC 7606 §6 asks to log it whole).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

/// BMP details of a record.
#[derive(Debug, Clone, Serialize)]
pub struct BmpInfo {
    /// BMP message type (0 route monitoring, 2 peer down, 3 peer up, 6 route mirroring).
    pub msg_type: u8,
    /// Monitored peer address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
    /// Monitored peer AS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_as: Option<u32>,
}

/// Counters over a decode run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Messages decoded.
    pub messages: usize,
    /// Messages that could not be decoded (header, OPEN, NOTIFICATION, ROUTE-REFRESH errors).
    pub errors: usize,
    /// UPDATEs whose verdict is not clean.
    pub malformed_updates: usize,
    /// UPDATEs whose verdict is a session reset.
    pub resets: usize,
    /// EVPN routes of unknown type skipped.
    pub skipped_routes: usize,
}

/// A monitored peer: BMP connection (src, dst) and peer address.
type BmpPeerKey = (SocketAddr, SocketAddr, IpAddr);
/// The OPENs of a BMP Peer Up: (sent by the monitored router, received from its peer).
type PeerUpOpens = (Option<Open>, Option<Open>);

/// Stateful decoder over a sequence of messages.
#[derive(Debug)]
pub struct Decoder {
    base: Context,
    peer_override: Option<PeerType>,
    /// OPEN sent on each TCP direction (src -> dst).
    opens: HashMap<(SocketAddr, SocketAddr), Open>,
    /// BMP Peer Up OPENs per monitored peer: (sent by the router, received from the peer).
    bmp_opens: HashMap<BmpPeerKey, PeerUpOpens>,
    /// Running totals.
    pub summary: Summary,
}

impl Decoder {
    /// A decoder whose fallback context is `base`; `peer_override` forces eBGP/iBGP.
    pub fn new(base: Context, peer_override: Option<PeerType>) -> Decoder {
        Decoder {
            base,
            peer_override,
            opens: HashMap::new(),
            bmp_opens: HashMap::new(),
            summary: Summary::default(),
        }
    }

    fn peer_type(&self, a: &Open, b: &Open) -> PeerType {
        self.peer_override.unwrap_or(if a.asn() == b.asn() {
            PeerType::Internal
        } else {
            PeerType::External
        })
    }

    /// The context before any OPEN is seen. Unless forced, the peer is taken as internal: an
    /// observer cannot know, and internal is the reading that discards nothing (LOCAL_PREF,
    /// ORIGINATOR_ID and CLUSTER_LIST are only discarded from external peers).
    fn base_ctx(&self) -> Context {
        Context {
            peer: self.peer_override.unwrap_or(PeerType::Internal),
            ..self.base
        }
    }

    /// The context for a message travelling src -> dst.
    fn tcp_context(&self, src: SocketAddr, dst: SocketAddr) -> (Context, ContextSource) {
        match (self.opens.get(&(src, dst)), self.opens.get(&(dst, src))) {
            (Some(sender), Some(receiver)) => {
                let peer = self.peer_type(sender, receiver);
                (
                    negotiate(receiver, sender, peer).rx,
                    ContextSource::Negotiated,
                )
            }
            _ => (self.base_ctx(), ContextSource::Given),
        }
    }

    /// Decodes one captured message.
    pub fn captured(&mut self, m: &CapturedMessage) -> Record {
        let (ctx, source, bmp) = match m.carrier {
            Carrier::Tcp => {
                let (c, s) = self.tcp_context(m.src, m.dst);
                (c, s, None)
            }
            Carrier::Bmp { msg_type, peer } => {
                let info = BmpInfo {
                    msg_type,
                    peer: peer.map(|p| p.address),
                    peer_as: peer.map(|p| p.asn),
                };
                let key = peer.map(|p| (m.src, m.dst, p.address));
                let negotiated = key.and_then(|k| match self.bmp_opens.get(&k) {
                    Some((Some(sent), Some(recv))) => {
                        Some(negotiate(sent, recv, self.peer_type(sent, recv)).rx)
                    }
                    _ => None,
                });
                match (negotiated, peer) {
                    (Some(c), _) if msg_type == 0 => (c, ContextSource::Negotiated, Some(info)),
                    (_, Some(p)) => {
                        let c = Context {
                            four_octet_as: !p.legacy_as_path,
                            ..self.base_ctx()
                        };
                        (c, ContextSource::BmpFlags, Some(info))
                    }
                    (_, None) => (self.base_ctx(), ContextSource::Given, Some(info)),
                }
            }
        };
        let mut rec = self.decode_with(&m.bytes, ctx, source);
        rec.packet = Some(m.packet);
        rec.time = Some(format!("{}.{:09}", m.timestamp.secs, m.timestamp.nanos));
        rec.src = Some(m.src);
        rec.dst = Some(m.dst);
        // Learn OPENs for the contexts of later messages.
        if let Some(Message::Open(open)) = &rec.message {
            match m.carrier {
                Carrier::Tcp => {
                    self.opens.insert((m.src, m.dst), open.clone());
                }
                Carrier::Bmp {
                    msg_type: 3,
                    peer: Some(p),
                } => {
                    let slot = self.bmp_opens.entry((m.src, m.dst, p.address)).or_default();
                    // Peer Up carries the OPEN the router sent, then the one it received.
                    match slot {
                        (None, _) => slot.0 = Some(open.clone()),
                        (Some(_), None) => slot.1 = Some(open.clone()),
                        (Some(_), Some(_)) => *slot = (Some(open.clone()), None),
                    }
                }
                Carrier::Bmp { .. } => {}
            }
        }
        rec.bmp = bmp;
        rec
    }

    /// Decodes one message (header included) with the base context.
    pub fn bytes(&mut self, msg: &[u8]) -> Record {
        self.decode_with(msg, self.base_ctx(), ContextSource::Given)
    }

    fn decode_with(&mut self, msg: &[u8], ctx: Context, source: ContextSource) -> Record {
        let mut rec = Record {
            packet: None,
            time: None,
            src: None,
            dst: None,
            bmp: None,
            length: msg.len(),
            context_source: source,
            context: ctx,
            message: None,
            verdict: None,
            error: None,
            notification: None,
            open_problem: None,
            hex: None,
        };
        match decode_message(msg, &ctx) {
            Ok(received) => {
                self.summary.messages = self.summary.messages.saturating_add(1);
                if let Message::Open(o) = &received.message {
                    if let Err(n) = o.validate() {
                        rec.open_problem = Some(n.to_string());
                    }
                }
                let v = received.verdict;
                self.summary.skipped_routes =
                    self.summary.skipped_routes.saturating_add(v.skipped.len());
                if !v.is_clean() {
                    self.summary.malformed_updates =
                        self.summary.malformed_updates.saturating_add(1);
                    if v.is_reset() {
                        self.summary.resets = self.summary.resets.saturating_add(1);
                    }
                    rec.notification = v.notification.as_ref().map(|n| n.to_string());
                    rec.hex = Some(hex::encode(msg));
                }
                if !v.is_clean() || !v.skipped.is_empty() {
                    rec.verdict = Some(v);
                }
                rec.message = Some(received.message);
            }
            Err(e) => {
                self.summary.errors = self.summary.errors.saturating_add(1);
                rec.error = Some(e.error.to_string());
                rec.notification = e
                    .notification
                    .map(|n| format!("{n} data {}", hex::encode(&n.data)));
                rec.hex = Some(hex::encode(msg));
            }
        }
        rec
    }
}

/// Splits a hex string (whitespace, colons and a leading 0x ignored) into bytes.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, hex::FromHexError> {
    let cleaned: String = s
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    hex::decode(cleaned)
}

/// Wraps a message body in a header of type `msg_type`.
pub fn with_header(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xff; 16];
    let len = u16::try_from(body.len().saturating_add(19)).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(msg_type);
    out.extend_from_slice(body);
    out
}

/// Decodes a whole capture file's bytes: its records, and the capture warnings.
pub fn decode_capture(
    data: &[u8],
    base: Context,
    peer: Option<PeerType>,
) -> Result<(Vec<Record>, Vec<String>, Summary), bgp_capture::CaptureError> {
    let cap = bgp_capture::read_capture(data)?;
    let mut d = Decoder::new(base, peer);
    let records = cap.messages.iter().map(|m| d.captured(m)).collect();
    Ok((records, cap.warnings, d.summary))
}
