//! BGP message framing on a reassembled byte stream.

use crate::extract::{Flow, Output, PacketMeta};
use crate::reader::be_u16_at;
use crate::reassembly::GapCause;
use crate::{Carrier, BGP_HEADER_LEN};

/// The 16-byte all-ones marker that starts every BGP message.
pub(crate) const MARKER: [u8; 16] = [0xff; 16];

/// While resynchronising, a marker only counts if the header after it looks
/// like a real message: a sane length and a defined type (OPEN ..
/// ROUTE-REFRESH, plus 6 for dynamic capability). This picks the right
/// position inside a run of more than 16 0xFF bytes.
fn plausible_header(header: &[u8]) -> bool {
    let length = be_u16_at(header, 16).unwrap_or(0);
    let msg_type = header.get(18).copied().unwrap_or(0);
    usize::from(length) >= BGP_HEADER_LEN && (1..=6).contains(&msg_type)
}

/// Problems with a BGP PDU embedded in another message (BMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PduError {
    Short(usize),
    NoMarker,
    BadLength(u16),
    Truncated { length: u16, available: usize },
}

impl std::fmt::Display for PduError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Short(n) => write!(f, "only {n} bytes, shorter than a BGP header"),
            Self::NoMarker => write!(f, "no BGP marker"),
            Self::BadLength(l) => write!(f, "BGP length {l} is less than 19"),
            Self::Truncated { length, available } => {
                write!(
                    f,
                    "BGP length {length} but only {available} bytes available"
                )
            }
        }
    }
}

/// Splits one BGP PDU off the front of `data`: `(pdu, rest)`.
pub(crate) fn split_pdu(data: &[u8]) -> Result<(&[u8], &[u8]), PduError> {
    if data.len() < BGP_HEADER_LEN {
        return Err(PduError::Short(data.len()));
    }
    if !data.starts_with(&MARKER) {
        return Err(PduError::NoMarker);
    }
    let length = be_u16_at(data, 16).ok_or(PduError::Short(data.len()))?;
    if usize::from(length) < BGP_HEADER_LEN {
        return Err(PduError::BadLength(length));
    }
    data.split_at_checked(usize::from(length))
        .ok_or(PduError::Truncated {
            length,
            available: data.len(),
        })
}

/// Result of scanning for a marker while resynchronising.
enum Scan {
    /// A plausible message starts at this offset.
    Found(usize),
    /// Nothing yet; everything before this offset can be dropped.
    NeedMore(usize),
}

fn scan_for_marker(data: &[u8]) -> Scan {
    let mut from = 0;
    loop {
        let Some(window) = data.get(from..) else {
            return Scan::NeedMore(data.len());
        };
        let Some(pos) = window.windows(MARKER.len()).position(|w| w == MARKER) else {
            // A marker may still start in the last 15 bytes.
            return Scan::NeedMore(
                from.max(data.len().saturating_sub(MARKER.len().saturating_sub(1))),
            );
        };
        let candidate = from.saturating_add(pos);
        match data.get(candidate..).filter(|c| c.len() >= BGP_HEADER_LEN) {
            None => return Scan::NeedMore(candidate),
            Some(header) if plausible_header(header) => return Scan::Found(candidate),
            Some(_) => from = candidate.saturating_add(1),
        }
    }
}

/// Splits a BGP byte stream into messages.
#[derive(Debug, Default)]
pub(crate) struct BgpFramer {
    /// Bytes not yet consumed (at most one partial message, or the tail
    /// being scanned while resynchronising).
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// `Some(skipped)` while looking for the next marker.
    resync: Option<u64>,
}

impl BgpFramer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds contiguous stream bytes and emits every message they complete.
    pub(crate) fn push(&mut self, data: &[u8], meta: PacketMeta, flow: &Flow, out: &mut Output) {
        self.buf.extend_from_slice(data);
        let mut pos = 0usize;
        // Every iteration either consumes at least one byte, leaves resync
        // mode at a plausible header (which the next iteration emits), or
        // breaks.
        while let Some(avail) = self.buf.get(pos..) {
            if let Some(skipped) = self.resync {
                match scan_for_marker(avail) {
                    Scan::Found(at) => {
                        let skipped = skipped.saturating_add(at as u64);
                        pos = pos.saturating_add(at);
                        self.resync = None;
                        if skipped > 0 {
                            out.warn_flow(
                                flow,
                                Some(meta),
                                format_args!(
                                    "resynchronised at the next BGP marker after skipping {skipped} bytes"
                                ),
                            );
                        }
                        continue;
                    }
                    Scan::NeedMore(drop) => {
                        self.resync = Some(skipped.saturating_add(drop as u64));
                        pos = pos.saturating_add(drop);
                        break;
                    }
                }
            }
            let stream_offset = self.offset.saturating_add(pos as u64);
            let marker_part = avail.get(..MARKER.len()).unwrap_or(avail);
            if marker_part.iter().any(|&b| b != 0xff) {
                out.warn_flow(
                    flow,
                    Some(meta),
                    format_args!("no BGP marker at stream offset {stream_offset}; resynchronising"),
                );
                self.resync = Some(1);
                pos = pos.saturating_add(1);
                continue;
            }
            let Some(length) = be_u16_at(avail, 16) else {
                break; // header incomplete
            };
            let length = usize::from(length);
            if length < BGP_HEADER_LEN {
                out.warn_flow(
                    flow,
                    Some(meta),
                    format_args!(
                        "BGP message length {length} < 19 at stream offset {stream_offset}; resynchronising"
                    ),
                );
                self.resync = Some(1);
                pos = pos.saturating_add(1);
                continue;
            }
            let Some(message) = avail.get(..length) else {
                break; // message incomplete
            };
            out.emit(flow, meta, Carrier::Tcp, message.to_vec());
            pos = pos.saturating_add(length);
        }
        let pos = pos.min(self.buf.len());
        self.buf.drain(..pos);
        self.offset = self.offset.saturating_add(pos as u64);
    }

    /// Bytes are missing from the stream: drop the partial message and look
    /// for the next marker.
    pub(crate) fn gap(
        &mut self,
        missing: u64,
        cause: GapCause,
        meta: PacketMeta,
        flow: &Flow,
        out: &mut Output,
    ) {
        let partial = self.buf.len();
        let why = match cause {
            GapCause::BufferFull => "out-of-order buffer full",
            GapCause::EndOfCapture => "never captured",
        };
        let dropped = if partial > 0 {
            format!("; dropping {partial} bytes of an incomplete message")
        } else {
            String::new()
        };
        out.warn_flow(
            flow,
            Some(meta),
            format_args!(
                "{missing} bytes missing from the TCP stream ({why}){dropped}; resynchronising"
            ),
        );
        self.offset = self
            .offset
            .saturating_add(partial as u64)
            .saturating_add(missing);
        self.buf.clear();
        self.resync = Some(0);
    }

    /// End of the capture: report anything left over.
    pub(crate) fn finish(&mut self, flow: &Flow, out: &mut Output) {
        let left = self.buf.len();
        match self.resync {
            Some(skipped) => {
                let total = skipped.saturating_add(left as u64);
                if total > 0 {
                    out.warn_flow(
                        flow,
                        None,
                        format_args!(
                            "capture ends while resynchronising ({total} bytes without a BGP marker)"
                        ),
                    );
                }
            }
            None if left > 0 => {
                let expected = match be_u16_at(&self.buf, 16) {
                    Some(l) => format!("{l}"),
                    None => "at least 19".to_owned(),
                };
                out.warn_flow(
                    flow,
                    None,
                    format_args!("capture ends inside a BGP message ({left} of {expected} bytes)"),
                );
            }
            None => {}
        }
        self.buf.clear();
    }
}
