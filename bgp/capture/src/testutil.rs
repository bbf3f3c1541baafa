//! Builders for small in-memory captures used by the unit tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

use std::net::{IpAddr, SocketAddr};

use etherparse::PacketBuilder;

pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LOOP: u32 = 108;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// Writes a classic pcap file.
pub struct Pcap {
    buf: Vec<u8>,
    big_endian: bool,
    next_ts: u32,
}

impl Pcap {
    /// Little-endian, microsecond timestamps.
    pub fn new(linktype: u32) -> Self {
        Self::with_format(linktype, false, false)
    }

    pub fn with_format(linktype: u32, big_endian: bool, nanos: bool) -> Self {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut p = Self {
            buf: Vec::new(),
            big_endian,
            next_ts: 1_700_000_000,
        };
        p.u32(magic);
        p.u16(2);
        p.u16(4);
        p.u32(0); // thiszone
        p.u32(0); // sigfigs
        p.u32(262_144); // snaplen
        p.u32(linktype);
        p
    }

    fn u16(&mut self, v: u16) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    fn u32(&mut self, v: u32) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    /// Adds a frame with an automatically increasing timestamp (one second apart).
    pub fn packet(&mut self, frame: &[u8]) -> &mut Self {
        let ts = self.next_ts;
        self.next_ts += 1;
        self.packet_at(ts, 500, frame, frame.len())
    }

    /// Adds a frame of which only `frame` was captured out of `orig_len` bytes.
    pub fn packet_at(&mut self, secs: u32, frac: u32, frame: &[u8], orig_len: usize) -> &mut Self {
        self.u32(secs);
        self.u32(frac);
        self.u32(frame.len() as u32);
        self.u32(orig_len as u32);
        self.buf.extend_from_slice(frame);
        self
    }

    /// Appends raw bytes (for damaged files).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.buf.clone()
    }
}

/// Writes a pcapng file (one section).
pub struct PcapNg {
    buf: Vec<u8>,
    big_endian: bool,
}

impl PcapNg {
    pub fn new(big_endian: bool) -> Self {
        let mut p = Self {
            buf: Vec::new(),
            big_endian,
        };
        let mut body = Vec::new();
        body.extend_from_slice(&p.u32b(0x1a2b_3c4d)); // byte-order magic
        body.extend_from_slice(&p.u16b(1));
        body.extend_from_slice(&p.u16b(0));
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length: unknown
        p.block(0x0a0d_0d0a, &body);
        p
    }

    fn u16b(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32b(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn block(&mut self, block_type: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = (body.len() + 12) as u32;
        let t = self.u32b(block_type);
        let l = self.u32b(len);
        self.buf.extend_from_slice(&t);
        self.buf.extend_from_slice(&l);
        self.buf.extend_from_slice(&body);
        self.buf.extend_from_slice(&l);
    }

    /// Adds an interface; `tsresol` is the raw `if_tsresol` option value.
    pub fn interface(&mut self, linktype: u16, tsresol: Option<u8>) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16b(linktype));
        body.extend_from_slice(&self.u16b(0));
        body.extend_from_slice(&self.u32b(0)); // snaplen: unlimited
        if let Some(res) = tsresol {
            body.extend_from_slice(&self.u16b(9)); // if_tsresol
            body.extend_from_slice(&self.u16b(1));
            body.extend_from_slice(&[res, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        }
        self.block(1, &body);
        self
    }

    /// Adds an enhanced packet block with a raw 64-bit timestamp.
    pub fn epb(&mut self, interface: u32, ticks: u64, frame: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(interface));
        body.extend_from_slice(&self.u32b((ticks >> 32) as u32));
        body.extend_from_slice(&self.u32b(ticks as u32));
        body.extend_from_slice(&self.u32b(frame.len() as u32));
        body.extend_from_slice(&self.u32b(frame.len() as u32));
        body.extend_from_slice(frame);
        self.block(6, &body);
        self
    }

    /// Adds a simple packet block (interface 0).
    pub fn spb(&mut self, frame: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(frame.len() as u32));
        body.extend_from_slice(frame);
        self.block(3, &body);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.buf.clone()
    }
}

/// Parses "a.b.c.d:port" / "[v6]:port".
pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// TCP flags for [`ip_tcp`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub syn: bool,
    pub rst: bool,
}

pub const DATA: Flags = Flags {
    syn: false,
    rst: false,
};
pub const SYN: Flags = Flags {
    syn: true,
    rst: false,
};

/// An IPv4 or IPv6 packet carrying one TCP segment.
pub fn ip_tcp(src: SocketAddr, dst: SocketAddr, seq: u32, flags: Flags, payload: &[u8]) -> Vec<u8> {
    let ip = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed address families"),
    };
    let mut tcp = ip.tcp(src.port(), dst.port(), seq, 65535);
    if flags.syn {
        tcp = tcp.syn();
    } else {
        tcp = tcp.ack(1).psh();
    }
    if flags.rst {
        tcp = tcp.rst();
    }
    let mut out = Vec::new();
    tcp.write(&mut out, payload).unwrap();
    out
}

fn ether_type_of(ip: &[u8]) -> [u8; 2] {
    if ip[0] >> 4 == 6 {
        [0x86, 0xdd]
    } else {
        [0x08, 0x00]
    }
}

/// Wraps an IP packet in Ethernet, with the given 802.1Q/802.1ad tags
/// (outermost first: (TPID, VLAN id)).
pub fn ethernet_vlan(ip: &[u8], tags: &[(u16, u16)]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for (tpid, vid) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&ether_type_of(ip));
    f.extend_from_slice(ip);
    f
}

pub fn ethernet(ip: &[u8]) -> Vec<u8> {
    ethernet_vlan(ip, &[])
}

pub fn linux_sll(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 1, 0, 0];
    f.extend_from_slice(&ether_type_of(ip));
    f.extend_from_slice(ip);
    f
}

pub fn linux_sll2(ip: &[u8]) -> Vec<u8> {
    let mut f = ether_type_of(ip).to_vec();
    f.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 1, 0, 0]);
    f.extend_from_slice(ip);
    f
}

/// BSD loopback header with the family in the given byte order.
pub fn loopback(ip: &[u8], family: u32, big_endian: bool) -> Vec<u8> {
    let mut f = if big_endian {
        family.to_be_bytes()
    } else {
        family.to_le_bytes()
    }
    .to_vec();
    f.extend_from_slice(ip);
    f
}

/// A BGP message of the given type with `body` after the header.
pub fn bgp_message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(msg_type);
    m.extend_from_slice(body);
    m
}

pub fn keepalive() -> Vec<u8> {
    bgp_message(4, &[])
}

/// A minimal OPEN (version 4, AS, hold time, BGP ID, no parameters).
pub fn open(asn: u16) -> Vec<u8> {
    let mut body = vec![4];
    body.extend_from_slice(&asn.to_be_bytes());
    body.extend_from_slice(&[0, 90, 10, 0, 0, 1, 0]);
    bgp_message(1, &body)
}

/// An UPDATE announcing 10.1.0.0/16 with ORIGIN only.
pub fn update() -> Vec<u8> {
    bgp_message(2, &[0, 0, 0, 4, 0x40, 1, 1, 0, 16, 10, 1])
}

pub fn notification(code: u8, subcode: u8) -> Vec<u8> {
    bgp_message(3, &[code, subcode])
}

/// A BMP message: common header (version 3) + body.
pub fn bmp_message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    bmp_message_v(3, msg_type, body)
}

pub fn bmp_message_v(version: u8, msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![version];
    m.extend_from_slice(&((6 + body.len()) as u32).to_be_bytes());
    m.push(msg_type);
    m.extend_from_slice(body);
    m
}

/// A BMP per-peer header for an IPv4 peer 192.0.2.1, AS 65001, ID 192.0.2.1.
pub fn per_peer_header(flags: u8) -> Vec<u8> {
    let mut h = vec![0, flags];
    h.extend_from_slice(&[0; 8]);
    if flags & 0x80 != 0 {
        h.extend_from_slice(
            &"2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
    } else {
        h.extend_from_slice(&[0; 12]);
        h.extend_from_slice(&[192, 0, 2, 1]);
    }
    h.extend_from_slice(&65001u32.to_be_bytes());
    h.extend_from_slice(&[192, 0, 2, 1]);
    h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
    h
}

/// Tiny deterministic PRNG (xorshift64*) for mutation tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
