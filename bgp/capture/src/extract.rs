//! Packet decoding, flow tracking and dispatch of TCP streams to the BGP or
//! BMP framer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;

use crate::bgp::{BgpFramer, MARKER};
use crate::bmp::{looks_like_bmp, BmpFramer, COMMON_HEADER_LEN};
use crate::file::{PacketSink, RawPacket};
use crate::link::{ip_packet, Link};
use crate::net::{parse_ip, Parsed, Segment};
use crate::reassembly::{Delivery, Reassembler, StreamEvent, SynCheck, DEFAULT_PENDING_CAP};
use crate::{CapturedMessage, Carrier, Timestamp};

/// Well-known BGP port.
const BGP_PORT: u16 = 179;
/// IANA port for BMP.
const BMP_PORT: u16 = 11019;
/// At most this many warnings are kept; the rest are only counted.
const MAX_WARNINGS: usize = 1000;

/// The packet a piece of stream data arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketMeta {
    pub index: u64,
    pub timestamp: Timestamp,
}

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flow {
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.src, self.dst)
    }
}

/// Collected messages and warnings.
#[derive(Debug, Default)]
pub(crate) struct Output {
    messages: Vec<CapturedMessage>,
    warnings: Vec<String>,
    suppressed: u64,
}

impl Output {
    pub(crate) fn emit(&mut self, flow: &Flow, meta: PacketMeta, carrier: Carrier, bytes: Vec<u8>) {
        self.messages.push(CapturedMessage {
            packet: meta.index,
            timestamp: meta.timestamp,
            src: flow.src,
            dst: flow.dst,
            carrier,
            bytes,
        });
    }

    pub(crate) fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
        }
    }

    /// A warning about one flow; `meta` is the current packet (None at the
    /// end of the capture).
    pub(crate) fn warn_flow(
        &mut self,
        flow: &Flow,
        meta: Option<PacketMeta>,
        message: fmt::Arguments<'_>,
    ) {
        if self.warnings.len() >= MAX_WARNINGS {
            self.suppressed = self.suppressed.saturating_add(1);
            return;
        }
        let warning = match meta {
            Some(m) => format!("packet {}: {flow}: {message}", m.index),
            None => format!("end of capture: {flow}: {message}"),
        };
        self.warnings.push(warning);
    }
}

/// What a stream direction carries.
#[derive(Debug)]
enum Protocol {
    /// Not decided yet: the first bytes of the stream, kept until they show
    /// a BGP marker or a BMP header.
    Undecided(Vec<u8>),
    Bgp(BgpFramer),
    Bmp(BmpFramer),
    /// Not BGP or BMP; later segments are ignored.
    Ignored,
}

impl Protocol {
    /// Decides from the ports alone, if they are conclusive.
    fn from_ports(flow: &Flow) -> Self {
        let ports = [flow.src.port(), flow.dst.port()];
        if ports.contains(&BGP_PORT) {
            Self::Bgp(BgpFramer::new())
        } else if ports.contains(&BMP_PORT) {
            Self::Bmp(BmpFramer::new())
        } else {
            Self::Undecided(Vec::new())
        }
    }

    /// Decides from the first bytes of the stream; `None` if more are needed.
    fn from_content(start: &[u8]) -> Option<Self> {
        match start.first()? {
            0xff => {
                let marker = start.get(..MARKER.len())?;
                Some(if marker == MARKER {
                    Self::Bgp(BgpFramer::new())
                } else {
                    Self::Ignored
                })
            }
            3 | 4 => Some(if looks_like_bmp(start.get(..COMMON_HEADER_LEN)?)? {
                Self::Bmp(BmpFramer::new())
            } else {
                Self::Ignored
            }),
            _ => Some(Self::Ignored),
        }
    }

    fn on_event(&mut self, event: StreamEvent<'_>, flow: &Flow, out: &mut Output) {
        match event {
            StreamEvent::Data(data, meta) => match self {
                Self::Undecided(start) => {
                    start.extend_from_slice(data);
                    if let Some(mut decided) = Self::from_content(start) {
                        let start = std::mem::take(start);
                        decided.on_event(StreamEvent::Data(&start, meta), flow, out);
                        *self = decided;
                    }
                }
                Self::Bgp(framer) => framer.push(data, meta, flow, out),
                Self::Bmp(framer) => framer.push(data, meta, flow, out),
                Self::Ignored => {}
            },
            StreamEvent::Gap {
                missing,
                cause,
                meta,
            } => match self {
                // The stream start is incomplete: cannot tell what it is.
                Self::Undecided(_) => *self = Self::Ignored,
                Self::Bgp(framer) => framer.gap(missing, cause, meta, flow, out),
                Self::Bmp(framer) => framer.gap(missing, cause, meta, flow, out),
                Self::Ignored => {}
            },
        }
    }

    /// Whether `payload` begins like a message of this stream's protocol.
    fn starts_message(&self, payload: &[u8]) -> bool {
        match self {
            Self::Bgp(_) => payload.starts_with(&MARKER),
            Self::Bmp(_) => looks_like_bmp(payload) == Some(true),
            Self::Undecided(_) | Self::Ignored => false,
        }
    }

    fn finish(&mut self, flow: &Flow, out: &mut Output) {
        match self {
            Self::Bgp(framer) => framer.finish(flow, out),
            Self::Bmp(framer) => framer.finish(flow, out),
            Self::Undecided(_) | Self::Ignored => {}
        }
    }
}

/// State of one direction of one TCP connection.
#[derive(Debug)]
struct Direction {
    flow: Flow,
    reassembler: Reassembler,
    protocol: Protocol,
}

impl Direction {
    fn new(flow: Flow, pending_cap: usize) -> Self {
        Self {
            flow,
            reassembler: Reassembler::new(pending_cap),
            protocol: Protocol::from_ports(&flow),
        }
    }

    fn segment(&mut self, seg: &Segment<'_>, meta: PacketMeta, out: &mut Output) {
        if matches!(self.protocol, Protocol::Ignored) {
            return;
        }
        if seg.truncated {
            out.warn_flow(
                &self.flow,
                Some(meta),
                format_args!(
                    "packet cut short by the capture (snap length); part of the TCP payload is missing"
                ),
            );
        }
        // The payload of a reset is not stream data.
        let payload = if seg.rst { &[][..] } else { seg.payload };
        let Self {
            flow,
            reassembler,
            protocol,
        } = self;
        let message_start = protocol.starts_message(payload);
        let delivery = reassembler.segment(
            seg.seq,
            seg.syn,
            payload,
            message_start,
            meta,
            &mut |event| protocol.on_event(event, flow, out),
        );
        if delivery == Delivery::Conflict {
            // Real retransmissions repeat the original bytes. Test captures
            // are often edited by hand, reusing one packet's sequence number
            // for several variants of a message: decode each variant.
            out.warn_flow(
                flow,
                Some(meta),
                format_args!(
                    "segment re-sends stream bytes with different content (edited capture?); decoding it as a new stream"
                ),
            );
            protocol.finish(flow, out);
            *protocol = Protocol::from_ports(flow);
            reassembler.restart(seg.seq, seg.syn, payload, meta, &mut |event| {
                protocol.on_event(event, flow, out)
            });
        }
        if matches!(self.protocol, Protocol::Ignored) {
            self.reassembler.discard_all();
        }
    }

    fn finish(&mut self, out: &mut Output) {
        let Self {
            flow,
            reassembler,
            protocol,
        } = self;
        reassembler.flush(&mut |event| protocol.on_event(event, flow, out));
        protocol.finish(flow, out);
    }
}

/// Turns packets into BGP messages.
#[derive(Debug)]
pub(crate) struct Extractor {
    directions: BTreeMap<(SocketAddr, SocketAddr), Direction>,
    out: Output,
    pending_cap: usize,
    unsupported_linktypes: BTreeSet<u32>,
}

impl Extractor {
    pub(crate) fn new() -> Self {
        Self::with_pending_cap(DEFAULT_PENDING_CAP)
    }

    /// An extractor buffering at most `pending_cap` out-of-order bytes per
    /// direction.
    pub(crate) fn with_pending_cap(pending_cap: usize) -> Self {
        Self {
            directions: BTreeMap::new(),
            out: Output::default(),
            pending_cap,
            unsupported_linktypes: BTreeSet::new(),
        }
    }

    /// Flushes all streams and returns the messages (ordered by packet) and
    /// warnings.
    pub(crate) fn finish(mut self) -> (Vec<CapturedMessage>, Vec<String>) {
        for direction in self.directions.values_mut() {
            direction.finish(&mut self.out);
        }
        let mut out = self.out;
        // Messages released at the end of the capture (after a gap) belong
        // with the packets they arrived in. The sort is stable, so each
        // stream keeps its order.
        out.messages.sort_by_key(|m| m.packet);
        if out.suppressed > 0 {
            out.warnings
                .push(format!("{} more warnings suppressed", out.suppressed));
        }
        (out.messages, out.warnings)
    }

    fn tcp_segment(&mut self, seg: &Segment<'_>, meta: PacketMeta) {
        let flow = Flow {
            src: seg.src,
            dst: seg.dst,
        };
        let pending_cap = self.pending_cap;
        let direction = self
            .directions
            .entry((seg.src, seg.dst))
            .or_insert_with(|| Direction::new(flow, pending_cap));
        if seg.syn && direction.reassembler.check_syn(seg.seq) == SynCheck::NewConnection {
            // Same addresses and ports, new connection: close the old stream.
            direction.finish(&mut self.out);
            *direction = Direction::new(flow, pending_cap);
        }
        direction.segment(seg, meta, &mut self.out);
    }
}

impl PacketSink for Extractor {
    fn packet(&mut self, packet: RawPacket<'_>) {
        let meta = PacketMeta {
            index: packet.index,
            timestamp: packet.timestamp,
        };
        let ip = match ip_packet(packet.linktype, packet.data) {
            Link::Ip(ip) => ip,
            Link::NotIp => return,
            Link::Malformed => {
                self.out.warn(format!(
                    "packet {}: link-layer header (link type {}) is malformed or cut short; skipped",
                    packet.index, packet.linktype
                ));
                return;
            }
            Link::Unsupported => {
                if self.unsupported_linktypes.insert(packet.linktype) {
                    self.out.warn(format!(
                        "packet {}: unsupported link type {}; packets of this type are skipped",
                        packet.index, packet.linktype
                    ));
                }
                return;
            }
        };
        match parse_ip(ip) {
            Parsed::Tcp(seg) => self.tcp_segment(&seg, meta),
            Parsed::NotTcp => {}
            Parsed::TcpFragment { src, dst } => self.out.warn(format!(
                "packet {}: fragmented IP packet {} -> {} carrying TCP is not reassembled; skipped",
                packet.index,
                src.ip(),
                dst.ip()
            )),
            Parsed::Malformed(why) => self
                .out
                .warn(format!("packet {}: {why}; skipped", packet.index)),
        }
    }

    fn warn(&mut self, warning: String) {
        self.out.warn(warning);
    }
}
