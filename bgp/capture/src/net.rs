//! IPv4/IPv6 and TCP headers, parsed with `etherparse`.

use std::net::SocketAddr;

use etherparse::{IpNumber, LaxIpSlice, TcpSlice};

/// The parts of a TCP segment that reassembly needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub syn: bool,
    pub rst: bool,
    pub payload: &'a [u8],
    /// The capture cut the packet short: `payload` is only a prefix of what
    /// was sent.
    pub truncated: bool,
}

/// What an IP packet turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    Tcp(Segment<'a>),
    /// Not TCP (UDP, ICMP, ...): nothing to do.
    NotTcp,
    /// A fragment of a fragmented TCP packet (not reassembled).
    TcpFragment {
        src: SocketAddr,
        dst: SocketAddr,
    },
    /// A broken IP or TCP header.
    Malformed(String),
}

/// Parses an IPv4/IPv6 packet and, if it is TCP, its TCP header.
///
/// Truncated packets (shorter than their IP length says) are accepted: the
/// segment is flagged as `truncated` and carries whatever payload was
/// captured.
pub(crate) fn parse_ip(packet: &[u8]) -> Parsed<'_> {
    let ip = match LaxIpSlice::from_slice(packet) {
        Ok((ip, _extension_error)) => ip,
        Err(e) => return Parsed::Malformed(format!("IP header: {e}")),
    };
    let payload = ip.payload();
    if payload.ip_number != IpNumber::TCP {
        return Parsed::NotTcp;
    }
    let src_ip = ip.source_addr();
    let dst_ip = ip.destination_addr();
    // Fragments are not reassembled. The first fragment of an IPv4 packet still starts with
    // the TCP header, so it is decoded as a segment cut short (as tcpdump prints it); later
    // fragments, and IPv6 fragments, are skipped.
    let first_v4_fragment = match &ip {
        LaxIpSlice::Ipv4(v4) => v4.header().fragments_offset().value() == 0,
        LaxIpSlice::Ipv6(_) => false,
    };
    if payload.fragmented && !first_v4_fragment {
        return Parsed::TcpFragment {
            src: SocketAddr::new(src_ip, 0),
            dst: SocketAddr::new(dst_ip, 0),
        };
    }
    let tcp = match TcpSlice::from_slice(payload.payload) {
        Ok(tcp) => tcp,
        Err(e) if payload.incomplete => {
            return Parsed::Malformed(format!("TCP header cut short by the capture: {e}"))
        }
        Err(e) => return Parsed::Malformed(format!("TCP header: {e}")),
    };
    Parsed::Tcp(Segment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        rst: tcp.rst(),
        payload: tcp.payload(),
        truncated: payload.incomplete || payload.fragmented,
    })
}
