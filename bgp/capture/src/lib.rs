#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::panic
)]
#![forbid(unsafe_code)]
//! Extract BGP messages from packet captures.
//!
//! [`read_capture`] takes the bytes of a classic pcap or pcapng file and returns
//! every BGP message carried in it, either directly over TCP (usually port 179)
//! or wrapped in BMP (RFC 7854) messages. TCP streams are reassembled per
//! direction (out-of-order segments, retransmissions, sequence wrap-around,
//! captures starting mid-stream), and the BGP byte stream is split into
//! messages exactly as they were on the wire.
//!
//! The reader is built for untrusted input: it never panics, every loop makes
//! progress, and memory is bounded by the size of the input plus a fixed cap
//! per TCP flow. Problems inside the capture are reported as
//! [`Capture::warnings`]; only a file that is not a capture at all is an error.
//!
//! ```
//! # fn main() -> Result<(), bgp_capture::CaptureError> {
//! # let bytes = [0xd4u8, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
//! #              0xff, 0xff, 0, 0, 1, 0, 0, 0];
//! let capture = bgp_capture::read_capture(&bytes)?;
//! for msg in &capture.messages {
//!     println!("packet {} {} -> {}: type {:?}", msg.packet, msg.src, msg.dst, msg.msg_type());
//! }
//! for warning in &capture.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! # Ok(())
//! # }
//! ```

mod bgp;
mod bmp;
mod extract;
mod file;
mod link;
mod net;
mod reader;
mod reassembly;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::Serialize;

/// Length of the fixed BGP message header: 16-byte marker, 2-byte length, 1-byte type.
pub const BGP_HEADER_LEN: usize = 19;

/// Largest BGP message (RFC 8654 extended messages).
pub const BGP_MAX_MESSAGE_LEN: usize = 65535;

/// Everything extracted from one capture file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Capture {
    /// BGP messages, in the order in which they became complete (by packet
    /// index; messages completed by the same packet keep their stream order).
    pub messages: Vec<CapturedMessage>,
    /// Human-readable notes about anything unusual: damaged records,
    /// unsupported link types, gaps in TCP streams, broken framing, ...
    pub warnings: Vec<String>,
    /// Number of packet records in the file (including ones that were skipped).
    pub packets: u64,
}

impl Capture {
    /// Iterates over the messages whose BGP type (byte 18) is `msg_type`.
    pub fn messages_of_type(&self, msg_type: u8) -> impl Iterator<Item = &CapturedMessage> {
        self.messages
            .iter()
            .filter(move |m| m.msg_type() == Some(msg_type))
    }
}

/// One BGP message and where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapturedMessage {
    /// 1-based index of the packet in which the message's last byte arrived.
    ///
    /// When segments arrive out of order this is the packet that filled the
    /// last hole, i.e. the packet after which the whole message was available.
    pub packet: u64,
    /// Capture timestamp of that packet.
    pub timestamp: Timestamp,
    /// Sender of the TCP stream that carried the message.
    pub src: SocketAddr,
    /// Receiver of the TCP stream that carried the message.
    pub dst: SocketAddr,
    /// How the message was carried (plain BGP or inside BMP).
    pub carrier: Carrier,
    /// The whole BGP message including its 19-byte header (16×0xFF marker,
    /// u16 length, type), byte for byte as on the wire. Serialised as a hex
    /// string.
    #[serde(serialize_with = "serialize_hex")]
    pub bytes: Vec<u8>,
}

impl CapturedMessage {
    /// The BGP message type (byte 18 of the header: 1 OPEN, 2 UPDATE,
    /// 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH), or `None` if `bytes`
    /// is shorter than a BGP header (never the case for messages produced by
    /// [`read_capture`]).
    pub fn msg_type(&self) -> Option<u8> {
        self.bytes.get(18).copied()
    }
}

fn serialize_hex<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

/// A capture timestamp (seconds and nanoseconds since the Unix epoch, as
/// recorded in the file; always normalised so that `nanos < 1_000_000_000`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Timestamp {
    /// Whole seconds.
    pub secs: u64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp from seconds and a (possibly out-of-range) number
    /// of nanoseconds, carrying whole seconds over; saturates on overflow.
    pub fn new(secs: u64, nanos: u64) -> Self {
        const NANOS_PER_SEC: u64 = 1_000_000_000;
        let carry = nanos.checked_div(NANOS_PER_SEC).unwrap_or(0);
        let nanos = nanos.checked_rem(NANOS_PER_SEC).unwrap_or(0);
        Self {
            secs: secs.saturating_add(carry),
            nanos: u32::try_from(nanos).unwrap_or(0),
        }
    }
}

/// How a BGP message was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Carrier {
    /// Plain BGP over TCP.
    Tcp,
    /// A BGP PDU found inside a BMP (RFC 7854) message.
    Bmp {
        /// BMP message type: 0 Route Monitoring, 2 Peer Down, 3 Peer Up,
        /// 6 Route Mirroring.
        msg_type: u8,
        /// The BMP per-peer header, when the message has one.
        peer: Option<BmpPeer>,
    },
}

/// The interesting parts of a BMP per-peer header (RFC 7854 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BmpPeer {
    /// Peer type: 0 global instance, 1 RD instance, 2 local instance,
    /// 3 Loc-RIB instance (RFC 9069).
    pub peer_type: u8,
    /// Raw peer flags.
    pub flags: u8,
    /// Peer address (IPv4 is taken from the last 4 of the 16 bytes unless the
    /// V flag is set).
    pub address: IpAddr,
    /// Peer AS number.
    pub asn: u32,
    /// Peer BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// V flag (0x80): the peer address is IPv6. (For Loc-RIB peers, RFC 9069
    /// reuses this bit as the F "filtered" flag.)
    pub ipv6: bool,
    /// L flag (0x40): post-policy Adj-RIB-In.
    pub post_policy: bool,
    /// A flag (0x20): the embedded messages use the legacy 2-byte AS_PATH
    /// format.
    pub legacy_as_path: bool,
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// Fewer bytes than any capture header.
    #[error("file too short to be a packet capture ({len} bytes)")]
    TooShort {
        /// Length of the input.
        len: usize,
    },
    /// The magic bytes are neither pcap nor pcapng.
    #[error("not a pcap or pcapng file (magic bytes {magic})")]
    UnknownFormat {
        /// The first four bytes, in hex.
        magic: String,
    },
    /// The file starts like a capture but its global header is unusable.
    #[error("broken {format} file header: {reason}")]
    BadHeader {
        /// "pcap" or "pcapng".
        format: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Reads a classic pcap or pcapng capture and returns the BGP messages in it.
///
/// The format is detected from the magic bytes. Link types understood:
/// Ethernet (with any number of 802.1Q/802.1ad tags, MPLS and PPPoE), Linux
/// cooked capture v1 and v2, BSD NULL/LOOP, raw IPv4/IPv6, PPP, Cisco HDLC
/// and Juniper Ethernet. Packets on other link types are skipped with a
/// warning.
///
/// A TCP stream is treated as BGP if either port is 179 or its first bytes
/// are a BGP marker, and as BMP (versions 3 and 4) if either port is 11019
/// or its first bytes are a valid BMP common header.
///
/// # Errors
///
/// Only if the input is not a pcap/pcapng file or its global header is
/// broken. Damage later in the file produces warnings and keeps whatever was
/// decoded before it.
pub fn read_capture(data: &[u8]) -> Result<Capture, CaptureError> {
    let mut extractor = extract::Extractor::new();
    let packets = file::read_packets(data, &mut extractor)?;
    let (messages, warnings) = extractor.finish();
    Ok(Capture {
        messages,
        warnings,
        packets,
    })
}
