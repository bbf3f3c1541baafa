//! TCP reassembly for one direction of a connection.
//!
//! Sequence numbers are mapped onto a 64-bit stream offset (0 = first byte
//! after the SYN, or the first byte seen when the capture starts
//! mid-stream), which makes wrap-around a non-issue. Bytes that were already
//! delivered are dropped (retransmissions, overlaps, keep-alive probes);
//! segments from the future wait in a bounded buffer until the hole before
//! them is filled. A hole that is never filled is skipped when the buffer
//! overflows or at the end of the capture, and reported as a gap.

use std::collections::BTreeMap;

use crate::extract::PacketMeta;

/// Default cap on out-of-order bytes buffered per direction.
pub(crate) const DEFAULT_PENDING_CAP: usize = 16 << 20;

/// How many recently delivered bytes are remembered per direction.
const HISTORY_LEN: usize = 64 << 10;

/// Why the stream skipped bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GapCause {
    /// Too much out-of-order data was buffered behind the hole.
    BufferFull,
    /// The capture ended with the hole still open.
    EndOfCapture,
}

/// What the reassembler hands to the stream consumer, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEvent<'a> {
    /// Contiguous new bytes; `meta` is the packet that made them available.
    Data(&'a [u8], PacketMeta),
    /// `missing` bytes were never captured; data resumes after them.
    Gap {
        missing: u64,
        cause: GapCause,
        meta: PacketMeta,
    },
}

/// Where the next expected byte is.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    seq: u32,
    offset: u64,
}

#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    meta: PacketMeta,
}

/// Result of [`Reassembler::segment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The segment was delivered, buffered or dropped as a retransmission.
    Done,
    /// The segment re-sends already delivered bytes with different content.
    Conflict,
}

/// Outcome of a SYN on a direction that already has state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SynCheck {
    /// Consistent with the current stream (first SYN or a retransmission).
    SameConnection,
    /// A different initial sequence number: a new connection reusing the
    /// same addresses and ports.
    NewConnection,
}

/// Reassembly state of one direction (one 4-tuple).
#[derive(Debug)]
pub(crate) struct Reassembler {
    cursor: Option<Cursor>,
    syn_seq: Option<u32>,
    /// Out-of-order segments keyed by stream offset.
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    pending_cap: usize,
    /// The most recently delivered bytes (at most [`HISTORY_LEN`], kept to
    /// recognise retransmissions that carry different data).
    history: Vec<u8>,
    /// Sequence number right after the data of a SYN segment.
    syn_data_end: Option<u32>,
    /// Latest packet that delivered data (keeps delivery metadata monotonic
    /// when buffered segments are released after a gap).
    last_meta: Option<PacketMeta>,
}

impl Reassembler {
    pub(crate) fn new(pending_cap: usize) -> Self {
        Self {
            cursor: None,
            syn_seq: None,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            pending_cap,
            history: Vec::new(),
            syn_data_end: None,
            last_meta: None,
        }
    }

    /// Classifies a SYN with sequence number `seq`.
    pub(crate) fn check_syn(&self, seq: u32) -> SynCheck {
        match (self.syn_seq, self.cursor) {
            (Some(isn), _) if isn == seq => SynCheck::SameConnection,
            (Some(_), _) => SynCheck::NewConnection,
            // Nothing seen yet.
            (None, None) => SynCheck::SameConnection,
            (None, Some(c)) if c.offset == 0 && c.seq == seq.wrapping_add(1) => {
                SynCheck::SameConnection
            }
            (None, Some(_)) => SynCheck::NewConnection,
        }
    }

    /// Drops all buffered out-of-order data.
    pub(crate) fn discard(&mut self) {
        self.pending.clear();
        self.pending_bytes = 0;
    }

    /// Forgets everything (the stream is of no interest).
    pub(crate) fn discard_all(&mut self) {
        self.discard();
        self.history = Vec::new();
    }

    /// Adds one segment. `syn` segments start the stream at `seq + 1`;
    /// otherwise the first segment with data defines the stream start.
    ///
    /// Bytes that were already delivered are dropped. If they differ from
    /// what was delivered before and `stop_on_conflict` is set, nothing is
    /// delivered and [`Delivery::Conflict`] lets the caller decide (see
    /// [`Self::restart`]).
    pub(crate) fn segment(
        &mut self,
        seq: u32,
        syn: bool,
        payload: &[u8],
        stop_on_conflict: bool,
        meta: PacketMeta,
        sink: &mut impl FnMut(StreamEvent<'_>),
    ) -> Delivery {
        let mut seq = seq;
        if syn {
            if self.syn_seq.is_none() && self.cursor.is_none() {
                self.cursor = Some(Cursor {
                    seq: seq.wrapping_add(1),
                    offset: 0,
                });
            }
            self.syn_seq = Some(seq);
            seq = seq.wrapping_add(1);
        }
        if payload.is_empty() {
            return Delivery::Done;
        }
        self.realign_after_syn_data(seq);
        let cursor = *self.cursor.get_or_insert(Cursor { seq, offset: 0 });

        // Signed distance from the next expected byte (wrap-around safe).
        let delta = i64::from(seq.wrapping_sub(cursor.seq) as i32);
        let Some(start) = cursor.offset.checked_add_signed(delta) else {
            // Starts before the beginning of the stream: keep only the part
            // from offset 0 on.
            let before = delta.unsigned_abs().saturating_sub(cursor.offset);
            let Some(rest) = usize::try_from(before).ok().and_then(|n| payload.get(n..)) else {
                return Delivery::Done;
            };
            self.segment_at(0, rest, meta, sink);
            return Delivery::Done;
        };
        if stop_on_conflict && start < cursor.offset && self.differs_from_history(start, payload) {
            return Delivery::Conflict;
        }
        let syn_data = syn && start == 0 && cursor.offset == 0;
        self.segment_at(start, payload, meta, sink);
        if syn_data {
            self.syn_data_end = self.cursor.map(|c| c.seq);
        }
        Delivery::Done
    }

    /// Some hand-made captures put the data of a SYN segment at the SYN's
    /// own sequence number instead of the next one, so the following segment
    /// starts one byte "early". Accept that once, right after SYN data.
    fn realign_after_syn_data(&mut self, seq: u32) {
        let Some(end) = self.syn_data_end.take() else {
            return;
        };
        if let Some(cursor) = self.cursor.as_mut() {
            if cursor.seq == end && seq == end.wrapping_sub(1) {
                cursor.seq = seq;
            }
        }
    }

    /// Whether `data`, starting at stream offset `start` (before the
    /// cursor), disagrees with the bytes delivered there earlier (as far as
    /// they are still remembered).
    fn differs_from_history(&self, start: u64, data: &[u8]) -> bool {
        let Some(cursor) = self.cursor else {
            return false;
        };
        let history_start = cursor.offset.saturating_sub(self.history.len() as u64);
        let from = start.max(history_start);
        let to = cursor.offset.min(start.saturating_add(data.len() as u64));
        let (Ok(from_data), Ok(to_data), Ok(from_hist), Ok(to_hist)) = (
            usize::try_from(from.saturating_sub(start)),
            usize::try_from(to.saturating_sub(start)),
            usize::try_from(from.saturating_sub(history_start)),
            usize::try_from(to.saturating_sub(history_start)),
        ) else {
            return false;
        };
        match (
            data.get(from_data..to_data),
            self.history.get(from_hist..to_hist),
        ) {
            (Some(new), Some(old)) => new != old,
            _ => false,
        }
    }

    /// Starts the stream afresh with this segment, forgetting everything
    /// buffered (used after [`Delivery::Conflict`] when the segment starts a
    /// new message: hand-edited captures reuse sequence numbers).
    pub(crate) fn restart(
        &mut self,
        seq: u32,
        syn: bool,
        payload: &[u8],
        meta: PacketMeta,
        sink: &mut impl FnMut(StreamEvent<'_>),
    ) {
        let seq = if syn { seq.wrapping_add(1) } else { seq };
        self.cursor = Some(Cursor { seq, offset: 0 });
        self.discard();
        self.history.clear();
        self.syn_data_end = None;
        self.segment_at(0, payload, meta, sink);
    }

    /// Adds data that starts at stream offset `start`.
    fn segment_at(
        &mut self,
        start: u64,
        data: &[u8],
        meta: PacketMeta,
        sink: &mut impl FnMut(StreamEvent<'_>),
    ) {
        let Some(cursor) = self.cursor else { return };
        if data.is_empty() {
            return;
        }
        if start <= cursor.offset {
            let already = cursor.offset.saturating_sub(start);
            let Some(fresh) = usize::try_from(already).ok().and_then(|n| data.get(n..)) else {
                return; // entirely old data: a retransmission
            };
            if fresh.is_empty() {
                return;
            }
            self.deliver(fresh, meta, sink);
            self.drain_pending(Some(meta), sink);
        } else {
            self.buffer(start, data, meta, sink);
        }
    }

    fn buffer(
        &mut self,
        start: u64,
        data: &[u8],
        meta: PacketMeta,
        sink: &mut impl FnMut(StreamEvent<'_>),
    ) {
        match self.pending.get_mut(&start) {
            Some(existing) if existing.data.len() >= data.len() => return, // duplicate
            Some(existing) => {
                self.pending_bytes = self
                    .pending_bytes
                    .saturating_sub(existing.data.len())
                    .saturating_add(data.len());
                existing.data = data.to_vec();
                existing.meta = meta;
            }
            None => {
                self.pending_bytes = self.pending_bytes.saturating_add(data.len());
                self.pending.insert(
                    start,
                    Pending {
                        data: data.to_vec(),
                        meta,
                    },
                );
            }
        }
        if self.pending_bytes > self.pending_cap {
            self.skip_gap(GapCause::BufferFull, Some(meta), sink);
        }
    }

    /// Delivers `data`, which starts exactly at the cursor.
    fn deliver(&mut self, data: &[u8], meta: PacketMeta, sink: &mut impl FnMut(StreamEvent<'_>)) {
        let Some(cursor) = self.cursor.as_mut() else {
            return;
        };
        let len = data.len() as u64;
        cursor.offset = cursor.offset.saturating_add(len);
        cursor.seq = cursor.seq.wrapping_add(len as u32);
        let meta = self.monotonic(meta);
        self.history.extend_from_slice(data);
        if self.history.len() > HISTORY_LEN.saturating_mul(2) {
            let excess = self.history.len().saturating_sub(HISTORY_LEN);
            self.history.drain(..excess);
        }
        sink(StreamEvent::Data(data, meta));
    }

    /// Never report an earlier packet than one already used for delivery.
    fn monotonic(&mut self, meta: PacketMeta) -> PacketMeta {
        let meta = match self.last_meta {
            Some(last) if last.index > meta.index => last,
            _ => meta,
        };
        self.last_meta = Some(meta);
        meta
    }

    /// Releases buffered segments that are now contiguous with the cursor.
    /// `filler` is the packet that filled the hole (None: use each
    /// segment's own packet).
    fn drain_pending(
        &mut self,
        filler: Option<PacketMeta>,
        sink: &mut impl FnMut(StreamEvent<'_>),
    ) {
        loop {
            let Some(cursor) = self.cursor else { return };
            let Some(entry) = self.pending.first_entry() else {
                return;
            };
            if *entry.key() > cursor.offset {
                return;
            }
            let start = *entry.key();
            let pending = entry.remove();
            self.pending_bytes = self.pending_bytes.saturating_sub(pending.data.len());
            let already = cursor.offset.saturating_sub(start);
            if let Some(fresh) = usize::try_from(already)
                .ok()
                .and_then(|n| pending.data.get(n..))
                .filter(|f| !f.is_empty())
            {
                self.deliver(fresh, filler.unwrap_or(pending.meta), sink);
            }
        }
    }

    /// Gives up on the hole before the first buffered segment: reports the
    /// gap, moves the cursor past it and releases what is contiguous.
    fn skip_gap(
        &mut self,
        cause: GapCause,
        filler: Option<PacketMeta>,
        sink: &mut impl FnMut(StreamEvent<'_>),
    ) {
        let (Some(cursor), Some((&start, first))) =
            (self.cursor.as_mut(), self.pending.first_key_value())
        else {
            return;
        };
        if start > cursor.offset {
            let missing = start.saturating_sub(cursor.offset);
            cursor.offset = start;
            cursor.seq = cursor.seq.wrapping_add(missing as u32);
            let meta = filler.unwrap_or(first.meta);
            let meta = self.monotonic(meta);
            sink(StreamEvent::Gap {
                missing,
                cause,
                meta,
            });
        }
        self.drain_pending(filler, sink);
    }

    /// End of capture: releases everything still buffered, skipping holes.
    pub(crate) fn flush(&mut self, sink: &mut impl FnMut(StreamEvent<'_>)) {
        // Every round removes at least one buffered segment.
        while !self.pending.is_empty() {
            let before = self.pending.len();
            self.skip_gap(GapCause::EndOfCapture, None, sink);
            if self.pending.len() >= before {
                // No cursor (cannot happen once data was buffered); give up.
                self.discard();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    use super::*;
    use crate::Timestamp;

    fn meta(index: u64) -> PacketMeta {
        PacketMeta {
            index,
            timestamp: Timestamp::default(),
        }
    }

    /// Feeds (seq, syn, payload) segments and returns the delivered stream
    /// with gaps shown as `None`.
    fn run(segments: &[(u32, bool, &[u8])], cap: usize) -> Vec<(Option<Vec<u8>>, u64)> {
        let mut r = Reassembler::new(cap);
        let mut out = Vec::new();
        let mut sink = |ev: StreamEvent<'_>| match ev {
            StreamEvent::Data(d, m) => out.push((Some(d.to_vec()), m.index)),
            StreamEvent::Gap { meta, .. } => out.push((None, meta.index)),
        };
        for (i, (seq, syn, data)) in segments.iter().enumerate() {
            r.segment(*seq, *syn, data, false, meta(i as u64 + 1), &mut sink);
        }
        r.flush(&mut sink);
        out
    }

    fn bytes(events: &[(Option<Vec<u8>>, u64)]) -> Vec<u8> {
        events
            .iter()
            .filter_map(|(d, _)| d.clone())
            .flatten()
            .collect()
    }

    #[test]
    fn in_order() {
        let ev = run(
            &[(100, true, b""), (101, false, b"ab"), (103, false, b"cd")],
            1 << 20,
        );
        assert_eq!(bytes(&ev), b"abcd");
    }

    #[test]
    fn out_of_order_attributed_to_filling_packet() {
        let ev = run(
            &[(1, false, b"ab"), (5, false, b"ef"), (3, false, b"cd")],
            1 << 20,
        );
        assert_eq!(
            ev,
            vec![
                (Some(b"ab".to_vec()), 1),
                (Some(b"cd".to_vec()), 3),
                (Some(b"ef".to_vec()), 3)
            ]
        );
    }

    #[test]
    fn overlaps_and_retransmissions() {
        let ev = run(
            &[
                (1, false, b"abcd"),
                (3, false, b"cdef"),
                (1, false, b"abcdefgh"),
                (2, false, b"b"),
            ],
            1 << 20,
        );
        assert_eq!(bytes(&ev), b"abcdefgh");
    }

    #[test]
    fn wrap_around() {
        let ev = run(
            &[
                (u32::MAX - 2, true, b""),
                (u32::MAX - 1, false, b"ab"),
                (2, false, b"ef"),
                (0, false, b"cd"),
            ],
            1 << 20,
        );
        assert_eq!(bytes(&ev), b"abcdef");
    }

    #[test]
    fn data_before_stream_start_is_trimmed() {
        let ev = run(&[(10, false, b"cd"), (8, false, b"abcdef")], 1 << 20);
        assert_eq!(bytes(&ev), b"cdef");
    }

    #[test]
    fn gap_skipped_at_end() {
        let ev = run(&[(1, false, b"ab"), (10, false, b"xy")], 1 << 20);
        assert_eq!(
            ev,
            vec![
                (Some(b"ab".to_vec()), 1),
                (None, 2),
                (Some(b"xy".to_vec()), 2)
            ]
        );
    }

    #[test]
    fn buffer_cap_forces_gap() {
        let ev = run(
            &[
                (1, false, b"ab"),
                (10, false, b"0123"),
                (14, false, b"4567"),
            ],
            6,
        );
        assert_eq!(bytes(&ev), b"ab01234567");
        assert_eq!(ev[1], (None, 3));
    }

    #[test]
    fn syn_checks() {
        let mut r = Reassembler::new(100);
        assert_eq!(r.check_syn(5), SynCheck::SameConnection);
        r.segment(5, true, b"", false, meta(1), &mut |_| {});
        assert_eq!(r.check_syn(5), SynCheck::SameConnection);
        assert_eq!(r.check_syn(77), SynCheck::NewConnection);
        let mut r = Reassembler::new(100);
        r.segment(6, false, b"x", false, meta(1), &mut |_| {});
        assert_eq!(r.check_syn(5), SynCheck::NewConnection);
    }
}
