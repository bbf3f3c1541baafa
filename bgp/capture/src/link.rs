//! Link layers: strip whatever precedes the IP header.

use crate::reader::{be_u16_at, Reader};

/// Link types (LINKTYPE_* values from tcpdump.org).
mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const PPP: u32 = 9;
    /// `DLT_RAW` on most systems (some BSDs number raw IP 12 or 14).
    pub const RAW_12: u32 = 12;
    pub const RAW_14: u32 = 14;
    pub const PPP_HDLC: u32 = 50;
    pub const RAW: u32 = 101;
    pub const C_HDLC: u32 = 104;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const JUNIPER_ETHER: u32 = 178;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const QINQ_OLD: u16 = 0x9100;
    pub const QINQ_OLD2: u16 = 0x9200;
    pub const MPLS: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;
}

/// More nested headers (VLAN tags, MPLS labels) than this is not a real packet.
const MAX_NESTED_HEADERS: usize = 16;

/// Result of removing the link-layer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link<'a> {
    /// An IPv4 or IPv6 packet (its version is checked by the IP parser).
    Ip(&'a [u8]),
    /// A valid frame that does not carry IP (ARP, LLDP, ...).
    NotIp,
    /// Too short or otherwise unusable.
    Malformed,
    /// A link type this crate does not understand.
    Unsupported,
}

/// Finds the IP packet inside a frame of the given link type.
pub(crate) fn ip_packet(linktype: u32, frame: &[u8]) -> Link<'_> {
    use linktype::*;
    let found = match linktype {
        ETHERNET => ethernet(frame),
        LINUX_SLL => linux_sll(frame),
        LINUX_SLL2 => linux_sll2(frame),
        NULL | LOOP => bsd_loopback(frame),
        RAW | RAW_12 | RAW_14 | IPV4 | IPV6 => Some(Link::Ip(frame)),
        PPP | PPP_HDLC => ppp(frame),
        C_HDLC => cisco_hdlc(frame),
        JUNIPER_ETHER => juniper_ether(frame),
        _ => return Link::Unsupported,
    };
    found.unwrap_or(Link::Malformed)
}

fn ethernet(frame: &[u8]) -> Option<Link<'_>> {
    let mut r = Reader::new(frame);
    r.skip(12)?; // destination and source MAC
    let ether_type = r.be_u16()?;
    by_ether_type(ether_type, r.rest())
}

/// Dispatches on an EtherType, looking through VLAN tags, MPLS label stacks
/// and PPPoE sessions.
fn by_ether_type(mut ether_type: u16, payload: &[u8]) -> Option<Link<'_>> {
    let mut r = Reader::new(payload);
    for _ in 0..MAX_NESTED_HEADERS {
        match ether_type {
            ethertype::IPV4 | ethertype::IPV6 => return Some(Link::Ip(r.rest())),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD | ethertype::QINQ_OLD2 => {
                r.skip(2)?; // tag control information
                ether_type = r.be_u16()?;
            }
            ethertype::MPLS | ethertype::MPLS_MULTICAST => return mpls(r),
            ethertype::PPPOE_SESSION => {
                r.skip(6)?; // version/type, code, session id, length
                return ppp_protocol(r);
            }
            _ => return Some(Link::NotIp),
        }
    }
    None
}

/// Pops an MPLS label stack and guesses the payload from the IP version nibble.
fn mpls(mut r: Reader<'_>) -> Option<Link<'_>> {
    for _ in 0..MAX_NESTED_HEADERS {
        let entry = r.be_u32()?;
        if entry & 0x100 != 0 {
            // bottom of stack
            return Some(match r.rest().first().map(|b| b >> 4) {
                Some(4 | 6) => Link::Ip(r.rest()),
                _ => Link::NotIp, // e.g. an Ethernet pseudowire
            });
        }
    }
    None
}

fn linux_sll(frame: &[u8]) -> Option<Link<'_>> {
    // packet type (2), ARPHRD type (2), address length (2), address (8), protocol (2)
    let protocol = be_u16_at(frame, 14)?;
    by_ether_type(protocol, frame.get(16..)?)
}

fn linux_sll2(frame: &[u8]) -> Option<Link<'_>> {
    // protocol (2), reserved (2), interface index (4), ARPHRD type (2),
    // packet type (1), address length (1), address (8)
    let protocol = be_u16_at(frame, 0)?;
    by_ether_type(protocol, frame.get(20..)?)
}

/// BSD loopback: a 4-byte address family, in the capturing host's byte
/// order (NULL) or network byte order (LOOP); both are accepted for both.
fn bsd_loopback(frame: &[u8]) -> Option<Link<'_>> {
    let mut r = Reader::new(frame);
    let raw: [u8; 4] = r.array()?;
    let little = u32::from_le_bytes(raw);
    let family = if little <= 0xffff {
        little
    } else {
        u32::from_be_bytes(raw)
    };
    Some(match family {
        // AF_INET everywhere; AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS.
        2 | 10 | 24 | 28 | 30 => Link::Ip(r.rest()),
        _ => Link::NotIp,
    })
}

/// PPP (RFC 1661), optionally in HDLC-like framing (RFC 1662).
fn ppp(frame: &[u8]) -> Option<Link<'_>> {
    let mut r = Reader::new(frame);
    if frame.starts_with(&[0xff, 0x03]) {
        r.skip(2)?; // address and control
    }
    ppp_protocol(r)
}

/// Reads a PPP protocol field (1 byte if compressed, i.e. odd) and dispatches.
fn ppp_protocol(mut r: Reader<'_>) -> Option<Link<'_>> {
    let first = r.u8()?;
    let protocol = if first & 1 == 1 {
        u16::from(first)
    } else {
        u16::from_be_bytes([first, r.u8()?])
    };
    Some(match protocol {
        0x0021 | 0x0057 => Link::Ip(r.rest()),
        _ => Link::NotIp,
    })
}

/// Cisco HDLC: address, control, then an EtherType.
fn cisco_hdlc(frame: &[u8]) -> Option<Link<'_>> {
    let protocol = be_u16_at(frame, 2)?;
    by_ether_type(protocol, frame.get(4..)?)
}

/// Juniper "MGC" pseudo-header followed by an Ethernet frame.
fn juniper_ether(frame: &[u8]) -> Option<Link<'_>> {
    const EXTENSIONS_PRESENT: u8 = 0x80;
    const NO_L2_HEADER: u8 = 0x02;
    let mut r = Reader::new(frame);
    if r.take(3)? != b"MGC" {
        return None;
    }
    let flags = r.u8()?;
    if flags & EXTENSIONS_PRESENT != 0 {
        let ext_len = r.be_u16()?;
        r.skip(usize::from(ext_len))?;
    }
    if flags & NO_L2_HEADER != 0 {
        r.skip(4)?;
        return Some(Link::Ip(r.rest()));
    }
    ethernet(r.rest())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn ethernet_with_qinq() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00, 0x45]);
        assert_eq!(ip_packet(linktype::ETHERNET, &frame), Link::Ip(&[0x45]));
    }

    #[test]
    fn ethernet_arp_is_not_ip() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(ip_packet(linktype::ETHERNET, &frame), Link::NotIp);
    }

    #[test]
    fn endless_vlan_tags_are_malformed() {
        let mut frame = vec![0u8; 12];
        for _ in 0..40 {
            frame.extend_from_slice(&[0x81, 0x00, 0, 1]);
        }
        assert_eq!(ip_packet(linktype::ETHERNET, &frame), Link::Malformed);
    }

    #[test]
    fn mpls_stack() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x88, 0x47, 0, 0x01, 0x00, 0x40, 0, 0x02, 0x01, 0x40, 0x60]);
        assert_eq!(ip_packet(linktype::ETHERNET, &frame), Link::Ip(&[0x60]));
    }

    #[test]
    fn loopback_both_byte_orders() {
        assert_eq!(
            ip_packet(linktype::NULL, &[2, 0, 0, 0, 0x45]),
            Link::Ip(&[0x45])
        );
        assert_eq!(
            ip_packet(linktype::LOOP, &[0, 0, 0, 2, 0x45]),
            Link::Ip(&[0x45])
        );
        assert_eq!(
            ip_packet(linktype::NULL, &[0, 0, 0, 30, 0x60]),
            Link::Ip(&[0x60])
        );
        assert_eq!(ip_packet(linktype::LOOP, &[7, 0, 0, 0]), Link::NotIp);
    }

    #[test]
    fn ppp_variants() {
        assert_eq!(
            ip_packet(linktype::PPP, &[0xff, 0x03, 0x00, 0x21, 0x45]),
            Link::Ip(&[0x45])
        );
        assert_eq!(ip_packet(linktype::PPP, &[0x21, 0x45]), Link::Ip(&[0x45]));
        assert_eq!(ip_packet(linktype::PPP, &[0xc0, 0x21, 0x01]), Link::NotIp);
    }

    #[test]
    fn juniper_ether_with_extensions() {
        let mut frame = b"MGC".to_vec();
        frame.extend_from_slice(&[0x80, 0x00, 0x02, 0xaa, 0xbb]);
        frame.extend_from_slice(&[0u8; 12]);
        frame.extend_from_slice(&[0x08, 0x00, 0x45]);
        assert_eq!(
            ip_packet(linktype::JUNIPER_ETHER, &frame),
            Link::Ip(&[0x45])
        );
        assert_eq!(
            ip_packet(linktype::JUNIPER_ETHER, b"XYZ\x00"),
            Link::Malformed
        );
    }

    #[test]
    fn short_frames_are_malformed() {
        for lt in [
            linktype::ETHERNET,
            linktype::LINUX_SLL,
            linktype::LINUX_SLL2,
            linktype::NULL,
        ] {
            assert_eq!(ip_packet(lt, &[0x08]), Link::Malformed, "linktype {lt}");
        }
        assert_eq!(ip_packet(147, &[0x45]), Link::Unsupported);
    }
}
