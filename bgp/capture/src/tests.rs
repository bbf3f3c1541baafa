//! Unit tests on small captures built in memory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::extract::Extractor;
use crate::testutil::*;
use crate::*;

fn client() -> SocketAddr {
    addr("10.0.0.1:40000")
}

fn server() -> SocketAddr {
    addr("10.0.0.2:179")
}

/// A client→server segment wrapped in Ethernet.
fn seg(seq: u32, payload: &[u8]) -> Vec<u8> {
    ethernet(&ip_tcp(client(), server(), seq, DATA, payload))
}

fn syn(seq: u32) -> Vec<u8> {
    ethernet(&ip_tcp(client(), server(), seq, SYN, &[]))
}

fn read(bytes: &[u8]) -> Capture {
    read_capture(bytes).expect("capture should be readable")
}

fn types(cap: &Capture) -> Vec<u8> {
    cap.messages.iter().map(|m| m.msg_type().unwrap()).collect()
}

fn has_warning(cap: &Capture, needle: &str) -> bool {
    cap.warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn keepalive_split_across_three_segments() {
    let ka = keepalive();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&syn(999))
        .packet(&seg(1000, &ka[..7]))
        .packet(&seg(1007, &ka[7..16]))
        .packet_at(1_800_000_000, 123_456, &seg(1016, &ka[16..]), 0);
    let cap = read(&p.bytes());
    assert_eq!(cap.packets, 4);
    assert_eq!(cap.messages.len(), 1, "{cap:?}");
    let m = &cap.messages[0];
    assert_eq!(m.bytes, ka);
    assert_eq!(m.packet, 4);
    assert_eq!(
        m.timestamp,
        Timestamp {
            secs: 1_800_000_000,
            nanos: 123_456_000
        }
    );
    assert_eq!((m.src, m.dst), (client(), server()));
    assert_eq!(m.carrier, Carrier::Tcp);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn segments_out_of_order() {
    let (open, ka) = (open(65001), keepalive());
    let stream: Vec<u8> = [open.clone(), ka.clone()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&syn(0))
        .packet(&seg(1 + 20, &stream[20..]))
        .packet(&seg(1 + 10, &stream[10..20]))
        .packet(&seg(1, &stream[..10]));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![1, 4]);
    assert_eq!(cap.messages[0].bytes, open);
    assert_eq!(cap.messages[1].bytes, ka);
    // Both became complete when the first segment finally arrived.
    assert_eq!(cap.messages[0].packet, 4);
    assert_eq!(cap.messages[1].packet, 4);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn retransmissions_are_dropped() {
    let (u, ka) = (update(), keepalive());
    let stream: Vec<u8> = [u.clone(), ka.clone()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(5000, &stream[..25]))
        .packet(&seg(5000, &stream[..25])) // exact retransmission
        .packet(&seg(5010, &stream[10..40])) // overlapping retransmission
        .packet(&seg(5000, &stream)) // repacketised retransmission
        .packet(&seg(5000, &stream));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![2, 4]);
    assert_eq!(cap.messages[0].bytes, u);
    assert_eq!(cap.messages[0].packet, 3);
    assert_eq!(cap.messages[1].packet, 4);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn two_messages_in_one_segment() {
    let stream = [open(1), keepalive(), keepalive()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &stream));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![1, 4, 4]);
    assert!(cap.messages.iter().all(|m| m.packet == 1));
}

#[test]
fn both_directions_are_separate_streams() {
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &open(1)))
        .packet(&ethernet(&ip_tcp(server(), client(), 77, DATA, &open(2))))
        .packet(&ethernet(&ip_tcp(
            server(),
            client(),
            77 + 29,
            DATA,
            &keepalive(),
        )));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![1, 1, 4]);
    assert_eq!(cap.messages[1].src, server());
    assert_eq!(cap.messages[2].dst, client());
}

#[test]
fn ipv6_stream() {
    let (c, s) = (addr("[2001:db8::1]:50000"), addr("[2001:db8::2]:179"));
    let u = update();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip_tcp(c, s, 10, SYN, &[])))
        .packet(&ethernet(&ip_tcp(c, s, 11, DATA, &u[..30])))
        .packet(&ethernet(&ip_tcp(c, s, 41, DATA, &u[30..])));
    let cap = read(&p.bytes());
    assert_eq!(cap.messages.len(), 1);
    assert_eq!(cap.messages[0].bytes, u);
    assert_eq!(cap.messages[0].src, c);
    assert!(cap.messages[0].src.is_ipv6());
}

#[test]
fn linux_cooked_captures() {
    let ip = ip_tcp(client(), server(), 1, DATA, &keepalive());
    let mut p = Pcap::new(LINKTYPE_LINUX_SLL);
    p.packet(&linux_sll(&ip));
    assert_eq!(types(&read(&p.bytes())), vec![4]);

    let mut p = Pcap::new(LINKTYPE_LINUX_SLL2);
    p.packet(&linux_sll2(&ip));
    assert_eq!(types(&read(&p.bytes())), vec![4]);
}

#[test]
fn vlan_and_qinq() {
    let ip = ip_tcp(client(), server(), 1, DATA, &keepalive());
    let ip2 = ip_tcp(client(), server(), 20, DATA, &keepalive());
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet_vlan(&ip, &[(0x8100, 100)]))
        .packet(&ethernet_vlan(&ip2, &[(0x88a8, 10), (0x8100, 200)]));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4, 4]);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn bsd_loopback_and_raw_ip() {
    let ip = ip_tcp(client(), server(), 1, DATA, &keepalive());
    let v6 = ip_tcp(addr("[::1]:1000"), addr("[::1]:179"), 1, DATA, &keepalive());
    for (linktype, frame) in [
        (LINKTYPE_NULL, loopback(&ip, 2, false)),
        (LINKTYPE_NULL, loopback(&v6, 30, false)),
        (LINKTYPE_LOOP, loopback(&ip, 2, true)),
        (LINKTYPE_LOOP, loopback(&v6, 24, true)),
        (LINKTYPE_RAW, ip.clone()),
        (12, ip.clone()),
        (14, v6.clone()),
        (228, ip.clone()),
        (229, v6.clone()),
    ] {
        let mut p = Pcap::new(linktype);
        p.packet(&frame);
        let cap = read(&p.bytes());
        assert_eq!(types(&cap), vec![4], "link type {linktype}: {cap:?}");
    }
}

#[test]
fn unknown_link_type_warns_once() {
    let mut p = Pcap::new(147);
    p.packet(&[1, 2, 3]).packet(&[4, 5, 6]);
    let cap = read(&p.bytes());
    assert_eq!(cap.packets, 2);
    assert!(cap.messages.is_empty());
    assert_eq!(cap.warnings.len(), 1, "{:?}", cap.warnings);
    assert!(has_warning(&cap, "unsupported link type 147"));
}

#[test]
fn pcap_big_endian_with_nanoseconds() {
    let mut p = Pcap::with_format(LINKTYPE_ETHERNET, true, true);
    p.packet_at(42, 999_999_999, &seg(1, &keepalive()), 0);
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
    assert_eq!(
        cap.messages[0].timestamp,
        Timestamp {
            secs: 42,
            nanos: 999_999_999
        }
    );
}

#[test]
fn pcapng_interfaces_with_different_link_types_in_both_byte_orders() {
    let ip = ip_tcp(client(), server(), 1, DATA, &open(7));
    let ip2 = ip_tcp(client(), server(), 30, DATA, &keepalive());
    let ip3 = ip_tcp(client(), server(), 49, DATA, &keepalive());
    for big_endian in [false, true] {
        let mut p = PcapNg::new(big_endian);
        p.interface(1, None) // Ethernet, microseconds
            .interface(101, Some(9)) // raw IP, nanoseconds
            .interface(113, Some(0x80 | 10)) // SLL, 2^-10 s
            .epb(0, 1_500_000_000_250_000, &ethernet(&ip))
            .epb(1, 1_500_000_001_000_000_007, &ip2)
            .epb(2, (5 << 10) | 512, &linux_sll(&ip3));
        let cap = read(&p.bytes());
        assert_eq!(cap.packets, 3);
        assert_eq!(
            types(&cap),
            vec![1, 4, 4],
            "big endian {big_endian}: {cap:?}"
        );
        let ts: Vec<Timestamp> = cap.messages.iter().map(|m| m.timestamp).collect();
        assert_eq!(
            ts,
            vec![
                Timestamp {
                    secs: 1_500_000_000,
                    nanos: 250_000_000
                },
                Timestamp {
                    secs: 1_500_000_001,
                    nanos: 7
                },
                Timestamp {
                    secs: 5,
                    nanos: 500_000_000
                },
            ]
        );
        assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
    }
}

#[test]
fn pcapng_simple_packet_blocks_and_bad_interface() {
    let mut p = PcapNg::new(false);
    p.interface(1, None)
        .spb(&seg(1, &keepalive()))
        .epb(5, 0, &seg(20, &keepalive()))
        .spb(&seg(20, &keepalive()));
    let cap = read(&p.bytes());
    assert_eq!(cap.packets, 3);
    assert_eq!(
        cap.messages.iter().map(|m| m.packet).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(has_warning(
        &cap,
        "packet 2: refers to undeclared pcapng interface 5"
    ));
}

#[test]
fn pcapng_damaged_block_is_skipped() {
    let mut p = PcapNg::new(false);
    p.interface(1, None).epb(0, 0, &seg(1, &keepalive()));
    let mut bytes = p.bytes();
    let good_len = bytes.len();
    p.epb(0, 0, &seg(20, &keepalive()))
        .epb(0, 0, &seg(39, &keepalive()));
    bytes = p.bytes();
    // Break the trailing length of the second EPB.
    let second_len = u32::from_le_bytes(bytes[good_len + 4..good_len + 8].try_into().unwrap());
    let trailer = good_len + second_len as usize - 4;
    bytes[trailer] ^= 0x55;
    let cap = read(&bytes);
    assert_eq!(cap.packets, 3);
    assert_eq!(
        cap.messages.iter().map(|m| m.packet).collect::<Vec<_>>(),
        vec![1, 3]
    );
    // The stream has a 19-byte hole where packet 2 was.
    assert!(has_warning(&cap, "(packet 2)"), "{:?}", cap.warnings);
    assert!(has_warning(&cap, "19 bytes missing"), "{:?}", cap.warnings);
}

#[test]
fn bmp_route_monitoring_carries_update() {
    let (router, collector) = (addr("192.0.2.1:33000"), addr("198.51.100.1:11019"));
    let u = update();
    let flags = 0x40 | 0x20; // post-policy, legacy AS_PATH
    let rm = bmp_message(0, &[per_peer_header(flags), u.clone()].concat());
    let init = bmp_message(4, &[0, 1, 0, 4, b't', b'e', b's', b't']);
    let stats = bmp_message(1, &[per_peer_header(0), vec![0, 0, 0, 0]].concat());
    let stream = [init, rm.clone(), stats, rm].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip_tcp(
        router,
        collector,
        1,
        DATA,
        &stream[..50],
    )))
    .packet(&ethernet(&ip_tcp(
        router,
        collector,
        51,
        DATA,
        &stream[50..],
    )));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![2, 2], "{cap:?}");
    let m = &cap.messages[0];
    assert_eq!(m.bytes, u);
    assert_eq!((m.src, m.dst), (router, collector));
    let expected_peer = BmpPeer {
        peer_type: 0,
        flags,
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        asn: 65001,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        ipv6: false,
        post_policy: true,
        legacy_as_path: true,
    };
    assert_eq!(
        m.carrier,
        Carrier::Bmp {
            msg_type: 0,
            peer: Some(expected_peer)
        }
    );
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn bmp_peer_up_peer_down_and_route_mirroring() {
    let (router, collector) = (addr("192.0.2.1:33000"), addr("198.51.100.1:11019"));
    let mut peer_up = per_peer_header(0x80);
    peer_up.extend_from_slice(&[0; 16]); // local address
    peer_up.extend_from_slice(&[0, 179, 0xc0, 0x00]); // ports
    peer_up.extend_from_slice(&open(1));
    peer_up.extend_from_slice(&open(2));
    peer_up.extend_from_slice(&[0, 0, 0, 2, b'h', b'i']); // information TLV
    let mut down_notification = per_peer_header(0);
    down_notification.push(1);
    down_notification.extend_from_slice(&notification(6, 2));
    let mut down_fsm = per_peer_header(0);
    down_fsm.extend_from_slice(&[2, 0, 5]);
    let mut mirror = per_peer_header(0);
    mirror.extend_from_slice(&[0, 1, 0, 2, 0, 0]); // information TLV
    mirror.extend_from_slice(&[0, 0, 0, 19]);
    mirror.extend_from_slice(&keepalive());
    let stream = [
        bmp_message(3, &peer_up),
        bmp_message(2, &down_fsm),
        bmp_message(2, &down_notification),
        bmp_message(6, &mirror),
        bmp_message(5, &[]),
    ]
    .concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip_tcp(router, collector, 1, DATA, &stream)));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![1, 1, 3, 4], "{cap:?}");
    assert_eq!(cap.messages[0].bytes, open(1));
    assert_eq!(cap.messages[1].bytes, open(2));
    let bmp_types: Vec<u8> = cap
        .messages
        .iter()
        .map(|m| match m.carrier {
            Carrier::Bmp { msg_type, .. } => msg_type,
            Carrier::Tcp => 255,
        })
        .collect();
    assert_eq!(bmp_types, vec![3, 3, 2, 6]);
    let Carrier::Bmp {
        peer: Some(peer), ..
    } = cap.messages[0].carrier
    else {
        panic!("no peer")
    };
    assert!(peer.ipv6);
    assert_eq!(peer.address, "2001:db8::1".parse::<IpAddr>().unwrap());
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn bmp_v4_route_monitoring_with_tlvs() {
    let (router, collector) = (addr("192.0.2.1:33000"), addr("198.51.100.1:11019"));
    let u = update();
    let mut body = per_peer_header(0);
    body.extend_from_slice(&[0, 3, 0, 6, 0, 0]);
    body.extend_from_slice(b"global");
    body.extend_from_slice(&[0, 7]);
    body.extend_from_slice(&(u.len() as u16).to_be_bytes());
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&u);
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip_tcp(
        router,
        collector,
        1,
        DATA,
        &bmp_message_v(4, 0, &body),
    )));
    let cap = read(&p.bytes());
    assert_eq!(cap.messages.len(), 1, "{cap:?}");
    assert_eq!(cap.messages[0].bytes, u);
}

#[test]
fn streams_recognised_by_content_on_other_ports() {
    // BMP towards port 10000, BGP on port 1179, and an unrelated stream.
    let (a, b) = (addr("10.1.1.1:40000"), addr("10.1.1.2:10000"));
    let (c, d) = (addr("10.1.1.3:40001"), addr("10.1.1.4:1179"));
    let (e, f) = (addr("10.1.1.5:40002"), addr("10.1.1.6:80"));
    let rm = bmp_message(0, &[per_peer_header(0), update()].concat());
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip_tcp(a, b, 1, DATA, &rm[..3])))
        .packet(&ethernet(&ip_tcp(a, b, 4, DATA, &rm[3..])))
        .packet(&ethernet(&ip_tcp(c, d, 1, DATA, &keepalive()[..10])))
        .packet(&ethernet(&ip_tcp(c, d, 11, DATA, &keepalive()[10..])))
        .packet(&ethernet(&ip_tcp(e, f, 1, DATA, b"GET / HTTP/1.1\r\n\r\n")))
        .packet(&ethernet(&ip_tcp(e, f, 200, DATA, &keepalive())));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![2, 4], "{cap:?}");
    assert!(matches!(
        cap.messages[0].carrier,
        Carrier::Bmp { msg_type: 0, .. }
    ));
    assert_eq!(cap.messages[1].carrier, Carrier::Tcp);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn bmp_bad_length_stops_stream() {
    let (router, collector) = (addr("192.0.2.1:33000"), addr("198.51.100.1:11019"));
    let rm = bmp_message(0, &[per_peer_header(0), update()].concat());
    let mut broken = bmp_message(0, &[]);
    broken[1..5].copy_from_slice(&3u32.to_be_bytes());
    let stream = [rm.clone(), broken, rm].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip_tcp(router, collector, 1, DATA, &stream)));
    let cap = read(&p.bytes());
    assert_eq!(cap.messages.len(), 1);
    assert!(
        has_warning(&cap, "bad BMP message length 3"),
        "{:?}",
        cap.warnings
    );
}

#[test]
fn bmp_malformed_body_skips_only_that_message() {
    let (router, collector) = (addr("192.0.2.1:33000"), addr("198.51.100.1:11019"));
    let good = bmp_message(0, &[per_peer_header(0), update()].concat());
    let short = bmp_message(0, &[1, 2, 3]);
    let mut bad_pdu = update();
    bad_pdu[17] = 200; // BGP length beyond the BMP message
    let bad = bmp_message(0, &[per_peer_header(0), bad_pdu].concat());
    let stream = [short, bad, good].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip_tcp(router, collector, 1, DATA, &stream)));
    let cap = read(&p.bytes());
    assert_eq!(cap.messages.len(), 1);
    assert_eq!(cap.warnings.len(), 2, "{:?}", cap.warnings);
    assert!(has_warning(&cap, "per-peer header"));
    assert!(has_warning(&cap, "only"));
}

#[test]
fn not_a_capture_is_an_error() {
    assert_eq!(read_capture(b"abc"), Err(CaptureError::TooShort { len: 3 }));
    assert!(matches!(
        read_capture(b"GIF89a........................"),
        Err(CaptureError::UnknownFormat { .. })
    ));
    // pcap magic with a truncated global header
    assert!(matches!(
        read_capture(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]),
        Err(CaptureError::BadHeader { format: "pcap", .. })
    ));
    // pcapng magic with a broken byte-order magic
    let mut ng = PcapNg::new(false).bytes();
    ng[8] = 0;
    assert!(matches!(
        read_capture(&ng),
        Err(CaptureError::BadHeader {
            format: "pcapng",
            ..
        })
    ));
}

#[test]
fn garbage_after_the_file_header() {
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &keepalive())).raw(&[
        0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 9, 9,
    ]);
    let cap = read(&p.bytes());
    assert_eq!(cap.packets, 1);
    assert_eq!(types(&cap), vec![4]);
    assert!(has_warning(&cap, "packet record 2"), "{:?}", cap.warnings);

    // Only garbage after the header: no packets, still not an error.
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.raw(b"garbage");
    let cap = read(&p.bytes());
    assert_eq!(cap.packets, 0);
    assert_eq!(cap.warnings.len(), 1);
}

#[test]
fn garbage_in_the_stream_is_skipped() {
    let stream = [keepalive(), b"junk junk".to_vec(), vec![0xff; 5], update()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &stream));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4, 2]);
    assert_eq!(cap.messages[1].bytes, update());
    assert!(
        has_warning(&cap, "no BGP marker at stream offset 19"),
        "{:?}",
        cap.warnings
    );
    assert!(
        has_warning(&cap, "after skipping 14 bytes"),
        "{:?}",
        cap.warnings
    );
}

#[test]
fn truncated_packet() {
    // The snap length cut the packet in the middle of the second message.
    let stream = [update(), open(1)].concat();
    let full = seg(1, &stream);
    let cut = &full[..full.len() - 10];
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet_at(1, 0, cut, full.len())
        .packet(&seg(1 + stream.len() as u32, &keepalive()));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![2, 4], "{cap:?}");
    assert!(has_warning(
        &cap,
        "packet 1: 10.0.0.1:40000 -> 10.0.0.2:179: packet cut short"
    ));
    assert!(has_warning(&cap, "10 bytes missing"), "{:?}", cap.warnings);

    // A record cut off by the end of the file.
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &keepalive()))
        .packet(&seg(20, &keepalive()));
    let bytes = p.bytes();
    let cap = read(&bytes[..bytes.len() - 5]);
    assert_eq!(cap.packets, 1);
    assert_eq!(types(&cap), vec![4]);
    assert!(has_warning(&cap, "truncated"), "{:?}", cap.warnings);
}

#[test]
fn gap_followed_by_resync() {
    let stream = [keepalive(), update(), open(3), keepalive()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    // The segment with bytes 19..40 (the UPDATE's header and part of its
    // body) was never captured.
    p.packet(&syn(0))
        .packet(&seg(1, &stream[..19]))
        .packet(&seg(1 + 40, &stream[40..]));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4, 1, 4], "{cap:?}");
    assert_eq!(cap.messages[1].bytes, open(3));
    assert_eq!(cap.messages[1].packet, 3);
    assert!(has_warning(
        &cap,
        "21 bytes missing from the TCP stream (never captured)"
    ));
    assert!(has_warning(&cap, "resynchronised"), "{:?}", cap.warnings);
}

#[test]
fn out_of_order_buffer_is_bounded() {
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &keepalive()));
    // A hole at 20..120, then more than the cap of data behind it.
    let mut seq = 120;
    for _ in 0..4 {
        p.packet(&seg(seq, &keepalive()));
        seq += 19;
    }
    let mut extractor = Extractor::with_pending_cap(50);
    let packets = crate::file::read_packets(&p.bytes(), &mut extractor).unwrap();
    let (messages, warnings) = extractor.finish();
    assert_eq!(packets, 5);
    assert_eq!(messages.len(), 5);
    assert_eq!(
        messages.iter().map(|m| m.packet).collect::<Vec<_>>(),
        vec![1, 4, 4, 4, 5]
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("100 bytes missing") && w.contains("buffer full")),
        "{warnings:?}"
    );
}

#[test]
fn length_below_19_resynchronises() {
    let mut bad = keepalive();
    bad[17] = 3;
    let stream = [bad, keepalive()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &stream));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
    assert_eq!(cap.messages[0].bytes, keepalive());
    assert!(has_warning(&cap, "length 3 < 19"), "{:?}", cap.warnings);
}

#[test]
fn run_of_ff_before_a_marker() {
    // Resynchronisation must pick the marker just before the header, not
    // the first 16 0xFF bytes of a longer run.
    let stream = [vec![0x00], vec![0xff; 7], keepalive()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &stream));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
    assert_eq!(cap.messages[0].bytes, keepalive());
}

#[test]
fn extended_message() {
    let big = bgp_message(2, &vec![0u8; 60_000]);
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    let mut seq = 1u32;
    for chunk in big.chunks(1400) {
        p.packet(&seg(seq, chunk));
        seq += chunk.len() as u32;
    }
    let cap = read(&p.bytes());
    assert_eq!(cap.messages.len(), 1);
    assert_eq!(cap.messages[0].bytes.len(), 60_019);
    assert_eq!(cap.messages[0].packet, cap.packets);
}

#[test]
fn incomplete_trailing_message_warns() {
    let stream = [keepalive(), update()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &stream[..40]));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
    assert!(
        has_warning(&cap, "end of capture: 10.0.0.1:40000 -> 10.0.0.2:179: capture ends inside a BGP message (21 of 30 bytes)"),
        "{:?}",
        cap.warnings
    );
}

#[test]
fn sequence_number_wraparound() {
    let stream = [open(1), keepalive(), update()].concat();
    let isn = u32::MAX - 20;
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&syn(isn));
    let mut seq = isn.wrapping_add(1);
    for chunk in stream.chunks(13) {
        p.packet(&seg(seq, chunk));
        seq = seq.wrapping_add(chunk.len() as u32);
    }
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![1, 4, 2]);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn capture_starting_mid_stream() {
    let stream = [update(), keepalive()].concat();
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    // The capture starts 5 bytes into the UPDATE.
    p.packet(&seg(1005, &stream[5..]));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
    assert!(has_warning(&cap, "no BGP marker at stream offset 0"));
}

#[test]
fn reused_ports_start_a_new_stream() {
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&syn(100))
        .packet(&seg(101, &keepalive()[..10]))
        .packet(&syn(900_000))
        .packet(&seg(900_001, &keepalive()));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
    assert_eq!(cap.messages[0].packet, 4);
    assert!(has_warning(
        &cap,
        "capture ends inside a BGP message (10 of at least 19 bytes)"
    ));
}

#[test]
fn reset_payload_is_ignored() {
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &keepalive())).packet(&ethernet(&ip_tcp(
        client(),
        server(),
        20,
        Flags {
            syn: false,
            rst: true,
        },
        b"connection reset",
    )));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn syn_carrying_data_at_its_own_sequence_number() {
    // Some generated captures put the SYN's data at the SYN's sequence
    // number; the next segment then starts one byte before where TCP would
    // put it.
    let o = open(5);
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip_tcp(client(), server(), 1, SYN, &o)))
        .packet(&seg(1 + o.len() as u32, &keepalive()));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![1, 4]);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn edited_capture_reusing_sequence_numbers() {
    // Hand-made test captures reuse one packet's sequence number for several
    // variants of a message; each variant is decoded.
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &notification(6, 2)))
        .packet(&seg(1, &notification(6, 4)))
        .packet(&seg(1, &notification(6, 4))) // a true retransmission
        .packet(&seg(1, &keepalive()));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![3, 3, 4]);
    assert_eq!(cap.messages[1].bytes, notification(6, 4));
    assert_eq!(cap.warnings.len(), 2, "{:?}", cap.warnings);
    assert!(has_warning(
        &cap,
        "packet 2: 10.0.0.1:40000 -> 10.0.0.2:179: segment re-sends"
    ));

    // A keep-alive probe (one stale byte) is not a new message.
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&seg(1, &keepalive())).packet(&seg(19, &[0]));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn first_ipv4_fragment_is_decoded_as_a_cut_short_segment() {
    let mut ip = ip_tcp(client(), server(), 1, DATA, &keepalive());
    ip[6] |= 0x20; // more fragments, offset 0
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip));
    let cap = read(&p.bytes());
    assert_eq!(types(&cap), vec![4]);
}

#[test]
fn later_ip_fragments_are_skipped_with_a_warning() {
    let mut ip = ip_tcp(client(), server(), 1, DATA, &keepalive());
    ip[6] |= 0x20; // more fragments
    ip[7] = 0x10; // offset 16 * 8 octets
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&ethernet(&ip));
    let cap = read(&p.bytes());
    assert!(cap.messages.is_empty());
    assert!(
        has_warning(&cap, "fragmented IP packet 10.0.0.1 -> 10.0.0.2"),
        "{:?}",
        cap.warnings
    );
}

#[test]
fn warnings_are_capped() {
    // 1500 streams of one stray byte each: one warning when the byte
    // arrives, one at the end of the capture.
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    for i in 0..1500u16 {
        let c = SocketAddr::new(client().ip(), 1000 + i);
        p.packet(&ethernet(&ip_tcp(c, server(), 1, DATA, b"x")));
    }
    let cap = read(&p.bytes());
    assert_eq!(cap.warnings.len(), 1001);
    assert_eq!(
        cap.warnings.last().unwrap(),
        "2000 more warnings suppressed"
    );
}

/// Mutated and truncated captures must never panic or hang, and must keep
/// the invariants of the output.
#[test]
fn mutated_captures_never_panic() {
    let bgp_stream = [open(1), keepalive(), update(), notification(6, 4)].concat();
    let rm = bmp_message(0, &[per_peer_header(0), update()].concat());
    let (router, collector) = (addr("192.0.2.1:33000"), addr("198.51.100.1:11019"));
    let mut p = Pcap::new(LINKTYPE_ETHERNET);
    p.packet(&syn(0));
    for (i, chunk) in bgp_stream.chunks(17).enumerate() {
        p.packet(&seg(1 + 17 * i as u32, chunk));
    }
    p.packet(&ethernet(&ip_tcp(
        router,
        collector,
        1,
        DATA,
        &[rm.clone(), rm].concat(),
    )));
    let mut ng = PcapNg::new(true);
    ng.interface(113, Some(9)).interface(1, None);
    for (i, chunk) in bgp_stream.chunks(23).enumerate() {
        let ip = ip_tcp(client(), server(), 1 + 23 * i as u32, DATA, chunk);
        ng.epb(
            (i % 2) as u32,
            i as u64,
            &if i % 2 == 0 {
                linux_sll(&ip)
            } else {
                ethernet(&ip)
            },
        );
    }
    let seeds = [p.bytes(), ng.bytes()];
    let mut rng = Rng::new(0x5eed);
    for seed in &seeds {
        for cut in 0..seed.len() {
            if let Ok(cap) = read_capture(&seed[..cut]) {
                assert!(cap.messages.iter().all(|m| m.bytes.len() >= 19));
            }
        }
        for _ in 0..10_000 {
            let mut data = seed.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(data.len());
                match rng.below(4) {
                    0 => data[i] = rng.next() as u8,
                    1 => data[i] = 0xff,
                    2 => data[i] = 0,
                    _ => data[i] ^= 1 << rng.below(8),
                }
            }
            if let Ok(cap) = read_capture(&data) {
                for m in &cap.messages {
                    assert!(m.bytes.len() >= 19 && m.bytes.starts_with(&[0xff; 16]));
                    let len = u16::from_be_bytes([m.bytes[16], m.bytes[17]]) as usize;
                    assert_eq!(len, m.bytes.len());
                    assert!(m.packet >= 1 && m.packet <= cap.packets);
                }
            }
        }
    }
}
