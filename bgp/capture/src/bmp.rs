//! BMP (RFC 7854, and the TLV-based version 4 draft) framing, and extraction
//! of the BGP PDUs embedded in BMP messages.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::bgp::{split_pdu, MARKER};
use crate::extract::{Flow, Output, PacketMeta};
use crate::reader::{be_u32_at, Reader};
use crate::reassembly::GapCause;
use crate::{BmpPeer, Carrier};

/// Common header: version (1), message length (4), message type (1).
pub(crate) const COMMON_HEADER_LEN: usize = 6;
/// Larger BMP messages are treated as a broken stream.
const MAX_MESSAGE_LEN: u32 = 16 << 20;
/// Highest message type defined by RFC 7854.
const MAX_MESSAGE_TYPE: u8 = 6;

mod msg_type {
    pub const ROUTE_MONITORING: u8 = 0;
    pub const STATISTICS_REPORT: u8 = 1;
    pub const PEER_DOWN: u8 = 2;
    pub const PEER_UP: u8 = 3;
    pub const INITIATION: u8 = 4;
    pub const TERMINATION: u8 = 5;
    pub const ROUTE_MIRRORING: u8 = 6;
}

/// A BMP common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CommonHeader {
    version: u8,
    length: u32,
    msg_type: u8,
}

impl CommonHeader {
    fn parse(data: &[u8]) -> Option<Self> {
        let mut r = Reader::new(data);
        Some(Self {
            version: r.u8()?,
            length: r.be_u32()?,
            msg_type: r.u8()?,
        })
    }

    /// Why this header cannot frame a BMP message, if it cannot.
    fn problem(&self) -> Option<String> {
        if !(3..=4).contains(&self.version) {
            Some(format!("unsupported BMP version {}", self.version))
        } else if (self.length as usize) < COMMON_HEADER_LEN || self.length > MAX_MESSAGE_LEN {
            Some(format!("bad BMP message length {}", self.length))
        } else {
            None
        }
    }
}

/// Whether a stream that starts with `data` looks like BMP: version 3 or 4,
/// a sane length and a defined message type. `None`: not enough bytes yet.
pub(crate) fn looks_like_bmp(data: &[u8]) -> Option<bool> {
    let header = CommonHeader::parse(data)?;
    Some(header.problem().is_none() && header.msg_type <= MAX_MESSAGE_TYPE)
}

/// Problems inside one BMP message (the stream itself stays in sync).
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyError {
    PerPeerHeader,
    Truncated(&'static str),
    Pdu(&'static str, crate::bgp::PduError),
    NoPdu,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PerPeerHeader => write!(f, "too short for the per-peer header"),
            Self::Truncated(what) => write!(f, "too short for the {what}"),
            Self::Pdu(what, e) => write!(f, "{what}: {e}"),
            Self::NoPdu => write!(f, "no BGP PDU found"),
        }
    }
}

/// Reads the 42-byte per-peer header: type, flags, distinguisher, address,
/// AS, BGP ID, timestamp.
fn parse_per_peer_header(r: &mut Reader<'_>) -> Option<BmpPeer> {
    let peer_type = r.u8()?;
    let flags = r.u8()?;
    r.skip(8)?; // peer distinguisher
    let address: [u8; 16] = r.array()?;
    let asn = r.be_u32()?;
    let bgp_id: [u8; 4] = r.array()?;
    r.skip(8)?; // timestamp (seconds, microseconds)
    let ipv6 = flags & 0x80 != 0;
    let address = if ipv6 {
        IpAddr::V6(Ipv6Addr::from(address))
    } else {
        let [.., a, b, c, d] = address;
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    };
    Some(BmpPeer {
        peer_type,
        flags,
        address,
        asn,
        bgp_id: Ipv4Addr::from(bgp_id),
        ipv6,
        post_policy: flags & 0x40 != 0,
        legacy_as_path: flags & 0x20 != 0,
    })
}

/// Splits a BMP byte stream into messages and emits their BGP PDUs.
#[derive(Debug, Default)]
pub(crate) struct BmpFramer {
    buf: Vec<u8>,
    /// Set once the stream is broken; later data is ignored.
    stopped: bool,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// Unknown message types already warned about.
    warned_types: Vec<u8>,
}

impl BmpFramer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds contiguous stream bytes and handles every complete BMP message.
    pub(crate) fn push(&mut self, data: &[u8], meta: PacketMeta, flow: &Flow, out: &mut Output) {
        if self.stopped {
            return;
        }
        self.buf.extend_from_slice(data);
        let mut pos = 0usize;
        // Every iteration consumes a whole message (at least 6 bytes) or breaks.
        while let Some(avail) = self.buf.get(pos..) {
            let Some(header) = CommonHeader::parse(avail) else {
                break;
            };
            if let Some(problem) = header.problem() {
                out.warn_flow(
                    flow,
                    Some(meta),
                    format_args!(
                        "{problem} at stream offset {}; ignoring the rest of this BMP stream",
                        self.offset.saturating_add(pos as u64)
                    ),
                );
                self.stop();
                return;
            }
            let Some(message) = avail.get(..header.length as usize) else {
                break;
            };
            let body = message.get(COMMON_HEADER_LEN..).unwrap_or_default();
            if let Err(e) = handle_message(header, body, meta, flow, out, &mut self.warned_types) {
                out.warn_flow(
                    flow,
                    Some(meta),
                    format_args!(
                        "BMP message type {} at stream offset {}: {e}; skipped",
                        header.msg_type,
                        self.offset.saturating_add(pos as u64)
                    ),
                );
            }
            pos = pos.saturating_add(message.len());
        }
        let pos = pos.min(self.buf.len());
        self.buf.drain(..pos);
        self.offset = self.offset.saturating_add(pos as u64);
    }

    fn stop(&mut self) {
        self.stopped = true;
        self.buf = Vec::new();
    }

    /// Bytes are missing from the stream: BMP has no marker to resynchronise
    /// on, so the rest of the stream is ignored.
    pub(crate) fn gap(
        &mut self,
        missing: u64,
        cause: GapCause,
        meta: PacketMeta,
        flow: &Flow,
        out: &mut Output,
    ) {
        if self.stopped {
            return;
        }
        let why = match cause {
            GapCause::BufferFull => "out-of-order buffer full",
            GapCause::EndOfCapture => "never captured",
        };
        out.warn_flow(
            flow,
            Some(meta),
            format_args!(
                "{missing} bytes missing from the TCP stream ({why}); ignoring the rest of this BMP stream"
            ),
        );
        self.stop();
    }

    /// End of the capture: report a partial message.
    pub(crate) fn finish(&mut self, flow: &Flow, out: &mut Output) {
        if !self.stopped && !self.buf.is_empty() {
            let expected = match be_u32_at(&self.buf, 1) {
                Some(l) => format!("{l}"),
                None => "at least 6".to_owned(),
            };
            out.warn_flow(
                flow,
                None,
                format_args!(
                    "capture ends inside a BMP message ({} of {expected} bytes)",
                    self.buf.len()
                ),
            );
        }
        self.stop();
    }
}

/// Handles one complete BMP message.
fn handle_message(
    header: CommonHeader,
    body: &[u8],
    meta: PacketMeta,
    flow: &Flow,
    out: &mut Output,
    warned_types: &mut Vec<u8>,
) -> Result<(), BodyError> {
    use msg_type::*;
    let mut r = Reader::new(body);
    let peer = match header.msg_type {
        ROUTE_MONITORING | PEER_DOWN | PEER_UP | ROUTE_MIRRORING => {
            parse_per_peer_header(&mut r).ok_or(BodyError::PerPeerHeader)?
        }
        STATISTICS_REPORT | INITIATION | TERMINATION => return Ok(()),
        other => {
            if !warned_types.contains(&other) {
                warned_types.push(other);
                out.warn_flow(
                    flow,
                    Some(meta),
                    format_args!("unknown BMP message type {other}; skipped"),
                );
            }
            return Ok(());
        }
    };
    let carrier = Carrier::Bmp {
        msg_type: header.msg_type,
        peer: Some(peer),
    };
    let mut emit = |pdu: &[u8]| out.emit(flow, meta, carrier, pdu.to_vec());
    let rest = r.rest();
    match header.msg_type {
        ROUTE_MONITORING => emit(route_monitoring_pdu(rest)?),
        PEER_DOWN => {
            let reason = r.u8().ok_or(BodyError::Truncated("peer down reason"))?;
            // Reasons 1 and 3 carry the NOTIFICATION that was sent / received.
            if reason == 1 || reason == 3 {
                let (pdu, _) =
                    split_pdu(r.rest()).map_err(|e| BodyError::Pdu("NOTIFICATION", e))?;
                emit(pdu);
            }
        }
        PEER_UP => {
            // local address (16), local port (2), remote port (2)
            r.skip(20)
                .ok_or(BodyError::Truncated("peer up addresses"))?;
            let (sent, rest) = split_pdu(r.rest()).map_err(|e| BodyError::Pdu("sent OPEN", e))?;
            emit(sent);
            let (received, _info_tlvs) =
                split_pdu(rest).map_err(|e| BodyError::Pdu("received OPEN", e))?;
            emit(received);
        }
        ROUTE_MIRRORING => {
            for_each_tlv(rest, |tlv_type, value| {
                // TLV type 0: BGP message; 1: information.
                if tlv_type == 0 {
                    let (pdu, _) =
                        split_pdu(value).map_err(|e| BodyError::Pdu("mirrored BGP message", e))?;
                    emit(pdu);
                }
                Ok(())
            })?;
        }
        _ => {}
    }
    Ok(())
}

/// The BGP UPDATE of a Route Monitoring message. In BMP v3 it follows the
/// per-peer header directly; in BMP v4 (draft-ietf-grow-bmp-tlv) it sits in
/// one of the TLVs (type(2) length(2) index(2) value), whose type code has
/// changed between draft revisions, so the TLV whose value is exactly one
/// BGP PDU is taken.
fn route_monitoring_pdu(rest: &[u8]) -> Result<&[u8], BodyError> {
    if rest.starts_with(&MARKER) {
        let (pdu, _) = split_pdu(rest).map_err(|e| BodyError::Pdu("UPDATE", e))?;
        return Ok(pdu);
    }
    let mut r = Reader::new(rest);
    while !r.is_empty() {
        let mut tlv = || -> Option<&[u8]> {
            r.skip(2)?; // type
            let length = r.be_u16()?;
            r.skip(2)?; // index
            r.take(usize::from(length))
        };
        let Some(value) = tlv() else {
            return Err(BodyError::Truncated("route monitoring TLV"));
        };
        if let Ok((pdu, [])) = split_pdu(value) {
            return Ok(pdu);
        }
    }
    Err(BodyError::NoPdu)
}

/// Walks RFC 7854 information TLVs: type(2) length(2) value.
fn for_each_tlv(
    data: &[u8],
    mut f: impl FnMut(u16, &[u8]) -> Result<(), BodyError>,
) -> Result<(), BodyError> {
    let mut r = Reader::new(data);
    while !r.is_empty() {
        let mut tlv = || -> Option<(u16, &[u8])> {
            let tlv_type = r.be_u16()?;
            let length = r.be_u16()?;
            Some((tlv_type, r.take(usize::from(length))?))
        };
        let (tlv_type, value) = tlv().ok_or(BodyError::Truncated("TLV"))?;
        f(tlv_type, value)?;
    }
    Ok(())
}
