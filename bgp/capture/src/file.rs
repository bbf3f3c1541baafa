//! Capture file formats: classic pcap and pcapng, parsed with `pcap-parser`.
//!
//! This layer turns a file into a sequence of [`RawPacket`]s (link type,
//! timestamp, captured bytes). Damage after the global header becomes a
//! warning: the reader skips the damaged pcapng block when its length is
//! usable and stops otherwise.

use pcap_parser::pcapng::{Block, EnhancedPacketBlock, InterfaceDescriptionBlock};
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{nom, PcapError};

use crate::reader::Reader;
use crate::{CaptureError, Timestamp};

/// One captured frame, as handed to the packet decoder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawPacket<'a> {
    /// 1-based index of the packet record in the file.
    pub index: u64,
    pub timestamp: Timestamp,
    /// Link type (LINKTYPE_* value) of the interface the frame was captured on.
    pub linktype: u32,
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: &'a [u8],
}

/// Receiver of the packets and of the problems found in the file.
pub(crate) trait PacketSink {
    fn packet(&mut self, packet: RawPacket<'_>);
    fn warn(&mut self, warning: String);
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const PCAP_MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1], // little-endian, microseconds
    [0xa1, 0xb2, 0xc3, 0xd4], // big-endian, microseconds
    [0x4d, 0x3c, 0xb2, 0xa1], // little-endian, nanoseconds
    [0xa1, 0xb2, 0x3c, 0x4d], // big-endian, nanoseconds
    [0x34, 0xcd, 0xb2, 0xa1], // "modified" (Kuznetzov) pcap, little-endian
];
/// Big-endian "modified" pcap: recognised, but `pcap-parser` cannot read it.
const PCAP_MODIFIED_BE_MAGIC: [u8; 4] = [0xa1, 0xb2, 0xcd, 0x34];

/// pcapng block types that carry packets (EPB, SPB, obsolete PB).
const PACKET_BLOCK_TYPES: [u32; 3] = [6, 3, 2];

/// The link-type field of a classic pcap header also carries FCS
/// information in its upper bits (LT_LINKTYPE in libpcap).
const LINKTYPE_MASK: u32 = 0x03ff_ffff;

/// Reads every packet of a pcap or pcapng file into `sink`; returns the
/// number of packet records.
pub(crate) fn read_packets(data: &[u8], sink: &mut impl PacketSink) -> Result<u64, CaptureError> {
    let magic: [u8; 4] = data
        .get(..4)
        .and_then(|m| m.try_into().ok())
        .ok_or(CaptureError::TooShort { len: data.len() })?;
    if magic == PCAPNG_MAGIC {
        read_pcapng(data, sink)
    } else if PCAP_MAGICS.contains(&magic) {
        read_pcap(data, sink)
    } else if magic == PCAP_MODIFIED_BE_MAGIC {
        Err(CaptureError::BadHeader {
            format: "pcap",
            reason: "big-endian \"modified\" pcap is not supported".to_owned(),
        })
    } else {
        Err(CaptureError::UnknownFormat {
            magic: hex::encode(magic),
        })
    }
}

fn read_pcap(data: &[u8], sink: &mut impl PacketSink) -> Result<u64, CaptureError> {
    let bad_header = |reason: String| CaptureError::BadHeader {
        format: "pcap",
        reason,
    };
    let (mut rest, header) =
        pcap_parser::parse_pcap_header(data).map_err(|e| bad_header(describe_nom_error(&e)))?;
    if header.version_major < 2 {
        return Err(bad_header(format!(
            "unsupported version {}.{}",
            header.version_major, header.version_minor
        )));
    }
    let linktype = u32::try_from(header.network.0).unwrap_or(u32::MAX) & LINKTYPE_MASK;
    let nanosecond = header.is_nanosecond_precision();
    let mut count: u64 = 0;
    while !rest.is_empty() {
        let parsed = if header.is_modified_format() {
            pcap_parser::parse_pcap_frame_modified(rest)
        } else if header.is_bigendian() {
            pcap_parser::parse_pcap_frame_be(rest)
        } else {
            pcap_parser::parse_pcap_frame(rest)
        };
        let offset = data.len().saturating_sub(rest.len());
        let (remaining, frame) = match parsed {
            Ok(ok) => ok,
            Err(e) => {
                sink.warn(format!(
                    "packet record {} at file offset {offset}: {}; ignoring the rest of the file",
                    count.saturating_add(1),
                    describe_nom_error(&e)
                ));
                break;
            }
        };
        if remaining.len() >= rest.len() {
            // Cannot happen (a record header is 16 bytes), but never loop forever.
            break;
        }
        rest = remaining;
        count = count.saturating_add(1);
        let frac = u64::from(frame.ts_usec);
        let nanos = if nanosecond {
            frac
        } else {
            frac.saturating_mul(1000)
        };
        sink.packet(RawPacket {
            index: count,
            timestamp: Timestamp::new(u64::from(frame.ts_sec), nanos),
            linktype,
            data: frame.data,
        });
    }
    Ok(count)
}

/// What we need to know about a pcapng interface.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds to add to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

impl Interface {
    fn new(idb: &InterfaceDescriptionBlock<'_>, sink: &mut impl PacketSink) -> Self {
        let units_per_sec = ts_units_per_sec(idb.if_tsresol).unwrap_or_else(|| {
            sink.warn(format!(
                "pcapng interface with invalid timestamp resolution {:#04x}; assuming microseconds",
                idb.if_tsresol
            ));
            1_000_000
        });
        Self {
            linktype: u32::from(u16::try_from(idb.linktype.0).unwrap_or(u16::MAX)),
            snaplen: idb.snaplen,
            units_per_sec: units_per_sec.max(1),
            offset_secs: idb.if_tsoffset,
        }
    }

    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let ticks = (u64::from(high) << 32) | u64::from(low);
        let secs = ticks.checked_div(self.units_per_sec).unwrap_or(0);
        let frac = ticks.checked_rem(self.units_per_sec).unwrap_or(0);
        let nanos = u128::from(frac)
            .saturating_mul(1_000_000_000)
            .checked_div(u128::from(self.units_per_sec))
            .unwrap_or(0);
        let secs = secs
            .checked_add_signed(self.offset_secs)
            .unwrap_or(if self.offset_secs < 0 { 0 } else { u64::MAX });
        Timestamp::new(secs, u64::try_from(nanos).unwrap_or(0))
    }
}

/// Decodes `if_tsresol`: bit 7 clear means 10^-n seconds, set means
/// 2^-n seconds. (`pcap-parser`'s own helper rejects every power of two.)
fn ts_units_per_sec(tsresol: u8) -> Option<u64> {
    let exponent = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exponent)
    } else {
        2u64.checked_pow(exponent)
    }
}

fn read_pcapng(data: &[u8], sink: &mut impl PacketSink) -> Result<u64, CaptureError> {
    let (mut rest, shb) =
        pcap_parser::parse_sectionheaderblock(data).map_err(|e| CaptureError::BadHeader {
            format: "pcapng",
            reason: describe_nom_error(&e),
        })?;
    let mut big_endian = shb.big_endian();
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut count: u64 = 0;
    while !rest.is_empty() {
        let offset = data.len().saturating_sub(rest.len());
        // Fuzz fix (fuzz/regressions/capture/crash-3b8dcab1...): pcap-parser 0.17 checks a
        // Process Information Block's length against 4 and then subtracts 12 from it, so a
        // length of 4..=11 overflows (a panic wherever overflow checks are on: debug builds,
        // tests, the fuzzer). No pcapng block is shorter than 12 octets (type, length,
        // trailing length), so such a length is rejected before the parser sees it, exactly
        // as a damaged block whose length cannot be used to skip it.
        if let Some(len) = block_total_len(rest, big_endian).filter(|len| *len < 12) {
            sink.warn(format!(
                "pcapng block at file offset {offset}: block length {len} is shorter than 12; ignoring the rest of the file"
            ));
            break;
        }
        let parsed = if big_endian {
            pcap_parser::parse_block_be(rest)
        } else {
            pcap_parser::parse_block_le(rest)
        };
        let block = match parsed {
            Ok((remaining, block)) if remaining.len() < rest.len() => {
                rest = remaining;
                block
            }
            Ok(_) => break, // no progress; cannot happen for a valid block
            Err(e) => {
                // Try to step over the damaged block using its length field.
                let Some((block_type, skip)) = damaged_block_extent(rest, big_endian) else {
                    sink.warn(format!(
                        "pcapng block at file offset {offset}: {}; ignoring the rest of the file",
                        describe_nom_error(&e)
                    ));
                    break;
                };
                let packet_note = if PACKET_BLOCK_TYPES.contains(&block_type) {
                    count = count.saturating_add(1);
                    format!(" (packet {count})")
                } else {
                    String::new()
                };
                sink.warn(format!(
                    "pcapng block of type {block_type:#x} at file offset {offset}{packet_note}: {}; skipped",
                    describe_nom_error(&e)
                ));
                rest = rest.get(skip..).unwrap_or_default();
                continue;
            }
        };
        match block {
            Block::SectionHeader(shb) => {
                big_endian = shb.big_endian();
                interfaces.clear();
            }
            Block::InterfaceDescription(idb) => interfaces.push(Interface::new(&idb, sink)),
            Block::EnhancedPacket(epb) => {
                count = count.saturating_add(1);
                enhanced_packet(&epb, count, &interfaces, sink);
            }
            Block::SimplePacket(spb) => {
                count = count.saturating_add(1);
                let Some(iface) = interfaces.first() else {
                    sink.warn(format!(
                        "packet {count}: simple packet block before any interface description; skipped"
                    ));
                    continue;
                };
                // The block data is padded; the captured length is the
                // original length limited by the interface's snap length.
                let mut len = usize::try_from(spb.origlen).unwrap_or(usize::MAX);
                if iface.snaplen != 0 {
                    len = len.min(usize::try_from(iface.snaplen).unwrap_or(usize::MAX));
                }
                let data = spb.data.get(..len).unwrap_or(spb.data);
                sink.packet(RawPacket {
                    index: count,
                    timestamp: Timestamp::default(),
                    linktype: iface.linktype,
                    data,
                });
            }
            Block::Unknown(ub) if ub.block_type == 2 || ub.block_type.swap_bytes() == 2 => {
                count = count.saturating_add(1);
                sink.warn(format!(
                    "packet {count}: obsolete pcapng Packet Block is not supported; skipped"
                ));
            }
            _ => {}
        }
    }
    Ok(count)
}

fn enhanced_packet(
    epb: &EnhancedPacketBlock<'_>,
    index: u64,
    interfaces: &[Interface],
    sink: &mut impl PacketSink,
) {
    let iface = usize::try_from(epb.if_id)
        .ok()
        .and_then(|i| interfaces.get(i));
    let Some(iface) = iface else {
        sink.warn(format!(
            "packet {index}: refers to undeclared pcapng interface {}; skipped",
            epb.if_id
        ));
        return;
    };
    sink.packet(RawPacket {
        index,
        timestamp: iface.timestamp(epb.ts_high, epb.ts_low),
        linktype: iface.linktype,
        data: epb.packet_data(),
    });
}

/// The Block Total Length field of the pcapng block at the start of `rest`, if present.
fn block_total_len(rest: &[u8], big_endian: bool) -> Option<u32> {
    let len_bytes: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(len_bytes)
    } else {
        u32::from_le_bytes(len_bytes)
    })
}

/// For a pcapng block that failed to parse: its type and total length, if
/// the length is sane enough to skip it (at least 12, a multiple of 4, and
/// within the file).
fn damaged_block_extent(rest: &[u8], big_endian: bool) -> Option<(u32, usize)> {
    let mut r = Reader::new(rest);
    let type_bytes: [u8; 4] = r.array()?;
    let len_bytes: [u8; 4] = r.array()?;
    let (block_type, len) = if big_endian {
        (
            u32::from_be_bytes(type_bytes),
            u32::from_be_bytes(len_bytes),
        )
    } else {
        (
            u32::from_le_bytes(type_bytes),
            u32::from_le_bytes(len_bytes),
        )
    };
    let len = usize::try_from(len).ok()?;
    (len >= 12 && len.is_multiple_of(4) && len <= rest.len()).then_some((block_type, len))
}

/// A short description of a `pcap-parser` error (its `Display` would dump
/// the remaining input).
fn describe_nom_error(e: &nom::Err<PcapError<&[u8]>>) -> String {
    match e {
        nom::Err::Incomplete(nom::Needed::Size(n)) => {
            format!("truncated ({n} more bytes needed)")
        }
        nom::Err::Incomplete(nom::Needed::Unknown) => "truncated".to_owned(),
        nom::Err::Error(e) | nom::Err::Failure(e) => match e {
            PcapError::NomError(_, kind) => format!("malformed ({kind:?})"),
            PcapError::OwnedNomError(_, kind) => format!("malformed ({kind:?})"),
            PcapError::HeaderNotRecognized => "header not recognised".to_owned(),
            PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                "truncated".to_owned()
            }
            other => format!("{other}"),
        },
    }
}
