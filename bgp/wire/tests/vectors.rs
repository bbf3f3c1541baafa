#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]
//! Byte vectors in both directions: decode and compare every field with a hand-built model,
//! then encode the model and compare the bytes.
//!
//! Sources of the bytes: `/work/shared/reference/bgp-evpn-wire.md` §1 (the real FRR OPEN of
//! §1.3, the NOTIFICATION / ROUTE-REFRESH / End-of-RIB captures of §1.7–1.8, the worked
//! examples A–F of §1.13) and hand-made vectors following the RFC layouts quoted there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_wire::attributes::{code, AsSegment, SegmentType};
use bgp_wire::evpn::{
    EthernetAd, EthernetSegment, InclusiveMulticast, IpPrefixRoute, MacIpAdvertisement,
};
use bgp_wire::nlri::{EvpnNlri, Ipv4Nlri, Ipv6Nlri, MpReach, MpUnreach, NextHop, VpnNlri};
use bgp_wire::open::{
    AddPathEntry, AddPathMode, ExtendedNextHopEntry, GrFamily, GracefulRestart, LlgrFamily,
};
use bgp_wire::prefix_sid::{PrefixSidTlv, Srv6SubSubTlv, Srv6SubTlv};
use bgp_wire::{
    decode_message, negotiate, Action, AdminValue, AfiSafi, Aggregator, AsPath, Capability,
    Community, Context, Esi, EvpnRoute, ExtCommunity, Family, FamilySet, Label24, LargeCommunity,
    Mac, Message, MplsLabel, NlriList, Notification, Open, OptParam, Origin, PathAttributes,
    PeerType, PmsiTunnel, RawAttribute, RouteDistinguisher, RouteRefresh, Update,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Hex with spaces, newlines and `|` separators allowed.
fn h(s: &str) -> Vec<u8> {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '|')
        .collect();
    hex::decode(&clean).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// A whole message: marker, length, type, body.
fn msg(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    m.push(ty);
    m.extend_from_slice(body);
    m
}

fn ebgp() -> Context {
    Context::default()
}

fn ibgp() -> Context {
    Context {
        peer: PeerType::Internal,
        ..Default::default()
    }
}

fn ebgp2() -> Context {
    Context {
        four_octet_as: false,
        ..Default::default()
    }
}

fn with_add_path(f: Family) -> Context {
    let mut c = ebgp();
    c.add_path.insert(f);
    c
}

fn with_enhe(f: Family) -> Context {
    let mut c = ebgp();
    c.extended_next_hop.insert(f);
    c
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn net4(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn net6(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

// RDs are built from their wire octets, and their text form is checked once in
// `route_distinguisher_types`.
fn rd0(asn: u16, value: u32) -> RouteDistinguisher {
    let [a, b] = asn.to_be_bytes();
    let [c, d, e, f] = value.to_be_bytes();
    RouteDistinguisher::from_bytes([0, 0, a, b, c, d, e, f])
}

fn rd1(addr: &str, value: u16) -> RouteDistinguisher {
    let [a, b, c, d] = v4(addr).octets();
    let [e, f] = value.to_be_bytes();
    RouteDistinguisher::from_bytes([0, 1, a, b, c, d, e, f])
}

fn rd2(asn: u32, value: u16) -> RouteDistinguisher {
    let [a, b, c, d] = asn.to_be_bytes();
    let [e, f] = value.to_be_bytes();
    RouteDistinguisher::from_bytes([0, 2, a, b, c, d, e, f])
}

#[test]
fn route_distinguisher_types() {
    for (rd, text, bytes) in [
        (rd0(65000, 100), "65000:100", "0000 fde8 00000064"),
        (rd1("10.0.0.1", 5), "10.0.0.1:5", "0001 0a000001 0005"),
        (rd2(4_200_000_000, 7), "4200000000:7", "0002 fa56ea00 0007"),
    ] {
        assert_eq!(rd.to_string(), text);
        assert_eq!(rd.to_bytes().to_vec(), h(bytes));
    }
    assert_eq!(RouteDistinguisher::ZERO.to_bytes(), [0; 8]);
}

fn mpls(label: u32) -> MplsLabel {
    MplsLabel {
        label,
        tc: 0,
        bos: true,
    }
}

/// Path attributes built from the default.
fn pa(f: impl FnOnce(&mut PathAttributes)) -> PathAttributes {
    let mut a = PathAttributes::default();
    f(&mut a);
    a
}

fn seq(asns: &[u32]) -> AsSegment {
    AsSegment {
        kind: SegmentType::Sequence,
        asns: asns.to_vec(),
    }
}

fn set(asns: &[u32]) -> AsSegment {
    AsSegment {
        kind: SegmentType::Set,
        asns: asns.to_vec(),
    }
}

fn confed(asns: &[u32]) -> AsSegment {
    AsSegment {
        kind: SegmentType::ConfedSequence,
        asns: asns.to_vec(),
    }
}

fn path(segments: Vec<AsSegment>) -> AsPath {
    AsPath { segments }
}

fn encode_attrs(a: &PathAttributes, ctx: &Context) -> Vec<u8> {
    let mut out = Vec::new();
    a.encode(ctx, &mut out).unwrap();
    out
}

/// An UPDATE body carrying only `attrs` (no withdrawn routes, no NLRI field).
fn attrs_body(attrs: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b
}

// ---------------------------------------------------------------------------------------
// KEEPALIVE, NOTIFICATION, ROUTE-REFRESH, End-of-RIB
// ---------------------------------------------------------------------------------------

#[test]
fn keepalive() {
    let bytes = h("ffffffffffffffffffffffffffffffff 0013 04");
    let r = decode_message(&bytes, &ebgp()).unwrap();
    assert_eq!(r.message, Message::Keepalive);
    assert!(r.verdict.is_clean());
    assert_eq!(Message::Keepalive.to_bytes(&ebgp()).unwrap(), bytes);
}

#[test]
fn notifications() {
    let marker = "ffffffffffffffffffffffffffffffff";
    struct N {
        name: &'static str,
        bytes: String,
        model: Notification,
        text: &'static str,
    }
    let cases = [
        N {
            // RFC 9003 shutdown communication: length octet + UTF-8.
            name: "Cease/2 with shutdown text",
            bytes: format!("{marker} 0021 03 06 02 0b 6d61696e74656e616e6365"),
            model: Notification::shutdown(2, "maintenance"),
            text: "6/2 (Cease: Administrative Shutdown)",
        },
        N {
            name: "Cease/4 with an empty shutdown text",
            bytes: format!("{marker} 0016 03 06 04 00"),
            model: Notification::shutdown(4, ""),
            text: "6/4 (Cease: Administrative Reset)",
        },
        N {
            // tcpdump bgp-cease-hard-reset.pcap: Hard Reset wrapping Cease/3.
            name: "Cease/9 hard reset",
            bytes: format!("{marker} 0017 03 06 09 06 03"),
            model: Notification::hard_reset(&Notification::new(6, 3, vec![])),
            text: "6/9 (Cease: Hard Reset)",
        },
        N {
            // tcpdump bgp-bfd-cease.pcap.
            name: "Cease/10 BFD down",
            bytes: format!("{marker} 0015 03 06 0a"),
            model: Notification::new(6, 10, vec![]),
            text: "6/10 (Cease: BFD Down)",
        },
        N {
            name: "UPDATE error 3/2 with the attribute",
            bytes: format!("{marker} 0019 03 03 02 40 fa 01 09"),
            model: Notification::new(3, 2, vec![0x40, 0xfa, 1, 9]),
            text: "3/2 (UPDATE Message Error: Unrecognized Well-known Attribute)",
        },
        N {
            name: "OPEN error 2/1 with the supported version",
            bytes: format!("{marker} 0017 03 02 01 0004"),
            model: Notification::new(2, 1, vec![0, 4]),
            text: "2/1 (OPEN Message Error: Unsupported Version Number)",
        },
        N {
            name: "Hold timer expired",
            bytes: format!("{marker} 0015 03 04 00"),
            model: Notification::new(4, 0, vec![]),
            text: "4/0 (Hold Timer Expired)",
        },
        N {
            name: "Send hold timer expired (RFC 9687)",
            bytes: format!("{marker} 0015 03 08 00"),
            model: Notification::new(8, 0, vec![]),
            text: "8/0 (Send Hold Timer Expired)",
        },
    ];
    for c in cases {
        let bytes = h(&c.bytes);
        let r = decode_message(&bytes, &ebgp()).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(
            r.message,
            Message::Notification(c.model.clone()),
            "{}",
            c.name
        );
        assert_eq!(
            Message::Notification(c.model.clone())
                .to_bytes(&ebgp())
                .unwrap(),
            bytes,
            "{}",
            c.name
        );
        assert_eq!(c.model.to_string(), c.text, "{}", c.name);
    }
    let n = Notification::shutdown(2, "maintenance");
    assert_eq!(n.shutdown_message(), Some(Ok("maintenance".to_string())));
    assert_eq!(
        Notification::new(6, 9, vec![6, 3]).hard_reset_inner(),
        Some(Ok(Notification::new(6, 3, vec![])))
    );
    assert_eq!(Notification::new(6, 10, vec![]).shutdown_message(), None);
    assert_eq!(Notification::new(6, 10, vec![]).hard_reset_inner(), None);
}

#[test]
fn route_refresh() {
    // bgp-rs BGP_soft_reset.cap (normal) and bgp-add-path.cap (BoRR, EoRR).
    let cases = [
        ("normal request", "0001 00 01", 0u8, AfiSafi::new(1, 1)),
        ("BoRR", "0001 01 01", 1, AfiSafi::new(1, 1)),
        ("EoRR", "0001 02 01", 2, AfiSafi::new(1, 1)),
        ("EVPN normal", "0019 00 46", 0, Family::L2vpnEvpn.afi_safi()),
    ];
    for (name, body, subtype, afi_safi) in cases {
        let bytes = msg(5, &h(body));
        assert_eq!(bytes.len(), 23);
        let model = RouteRefresh {
            afi_safi,
            subtype,
            orf: vec![],
        };
        let r = decode_message(&bytes, &ebgp()).unwrap();
        assert_eq!(r.message, Message::RouteRefresh(model.clone()), "{name}");
        assert_eq!(
            Message::RouteRefresh(model).to_bytes(&ebgp()).unwrap(),
            bytes,
            "{name}"
        );
    }
    assert_eq!(RouteRefresh::request(AfiSafi::new(2, 1)).subtype, 0);
    // A normal request may carry ORF entries (RFC 5291), kept raw.
    let orf = msg(5, &h("0001 00 01 01 0007"));
    let r = decode_message(&orf, &ebgp()).unwrap();
    assert!(
        matches!(r.message, Message::RouteRefresh(RouteRefresh { ref orf, .. }) if orf == &[1, 0, 7])
    );
    // RFC 7313 §5: a BoRR / EoRR longer than 4 octets is 7/1 with the message as data.
    for body in ["0001 01 01 00", "0001 02 01 0000"] {
        let bad = msg(5, &h(body));
        let e = decode_message(&bad, &ebgp()).unwrap_err();
        assert_eq!(
            e.notification,
            Some(Notification::new(7, 1, bad.clone())),
            "{body}"
        );
    }
}

#[test]
fn end_of_rib_both_encodings() {
    // IPv4: ff×16 0017 02 0000 0000; EVPN (FRR's form): 001d 02 0000 0006 80 0f 03 0019 46;
    // extended-length form 001e 02 0000 0007 90 0f 0003 0019 46.
    let v4 = h("ffffffffffffffffffffffffffffffff 0017 02 0000 0000");
    let evpn = h("ffffffffffffffffffffffffffffffff 001d 02 0000 0006 80 0f 03 0019 46");
    let evpn_ext = h("ffffffffffffffffffffffffffffffff 001e 02 0000 0007 90 0f 0003 0019 46");
    for (bytes, fam, encodes) in [
        (&v4, Family::Ipv4Unicast, true),
        (&evpn, Family::L2vpnEvpn, true),
        (&evpn_ext, Family::L2vpnEvpn, false),
    ] {
        let r = decode_message(bytes, &ebgp()).unwrap();
        assert!(r.verdict.is_clean());
        let Message::Update(u) = &r.message else {
            panic!()
        };
        assert_eq!(u.end_of_rib_family(), Some(fam.afi_safi()));
        if encodes {
            let eor = Message::Update(Update::end_of_rib(fam.afi_safi()));
            assert_eq!(&eor.to_bytes(&ebgp()).unwrap(), bytes);
        }
    }
}

#[test]
fn header_errors() {
    let ok = h("ffffffffffffffffffffffffffffffff 0013 04");
    // (message bytes, expected NOTIFICATION (code, subcode, data)).
    type HeaderCase = (Vec<u8>, (u8, u8, Vec<u8>));
    let cases: [HeaderCase; 5] = [
        ([&[0u8][..], &ok[1..]].concat(), (1, 1, vec![])),
        (
            h("ffffffffffffffffffffffffffffffff 0012 04"),
            (1, 2, vec![0, 0x12]),
        ),
        (
            h("ffffffffffffffffffffffffffffffff 0014 04 00"),
            (1, 2, vec![0, 0x14]),
        ),
        (
            h("ffffffffffffffffffffffffffffffff 0013 06"),
            (1, 3, vec![6]),
        ),
        (
            h("ffffffffffffffffffffffffffffffff 0016 02 000000"),
            (1, 2, vec![0, 0x16]),
        ),
    ];
    for (bytes, (c, s, data)) in cases {
        let e = decode_message(&bytes, &ebgp()).unwrap_err();
        assert_eq!(
            e.notification,
            Some(Notification::new(c, s, data)),
            "{bytes:02x?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// OPEN
// ---------------------------------------------------------------------------------------

fn caps() -> Vec<(&'static str, &'static str, Capability)> {
    let v4u = AfiSafi::new(1, 1);
    let evpn = Family::L2vpnEvpn.afi_safi();
    vec![
        (
            "1 multiprotocol IPv4",
            "01 04 0001 00 01",
            Capability::Multiprotocol(v4u),
        ),
        (
            "1 multiprotocol EVPN",
            "01 04 0019 00 46",
            Capability::Multiprotocol(evpn),
        ),
        ("2 route refresh", "02 00", Capability::RouteRefresh),
        (
            // Cisco: (1,1,v6) (1,2,v6) (1,128,v6).
            "5 extended next hop",
            "05 12 0001 0001 0002 0001 0002 0002 0001 0080 0002",
            Capability::ExtendedNextHop(vec![
                ExtendedNextHopEntry {
                    afi: 1,
                    safi: 1,
                    next_hop_afi: 2,
                },
                ExtendedNextHopEntry {
                    afi: 1,
                    safi: 2,
                    next_hop_afi: 2,
                },
                ExtendedNextHopEntry {
                    afi: 1,
                    safi: 128,
                    next_hop_afi: 2,
                },
            ]),
        ),
        ("6 extended message", "06 00", Capability::ExtendedMessage),
        ("9 role customer", "09 01 03", Capability::Role(3)),
        (
            "64 graceful restart N-bit, 120 s",
            "40 02 4078",
            Capability::GracefulRestart(GracefulRestart {
                flags: 4,
                restart_time: 120,
                families: vec![],
            }),
        ),
        (
            "64 graceful restart R-bit, families",
            "40 0a 8fff 0001 01 80 0019 46 00",
            Capability::GracefulRestart(GracefulRestart {
                flags: 8,
                restart_time: 4095,
                families: vec![
                    GrFamily {
                        afi_safi: v4u,
                        flags: 0x80,
                    },
                    GrFamily {
                        afi_safi: evpn,
                        flags: 0,
                    },
                ],
            }),
        ),
        (
            "65 four-octet AS",
            "41 04 0000fdea",
            Capability::FourOctetAs(65002),
        ),
        (
            "65 four-octet AS > 65535",
            "41 04 fa56ea00",
            Capability::FourOctetAs(4_200_000_000),
        ),
        (
            "69 add-path",
            "45 08 0001 01 03 0019 46 02",
            Capability::AddPath(vec![
                AddPathEntry {
                    afi_safi: v4u,
                    mode: AddPathMode::BOTH,
                },
                AddPathEntry {
                    afi_safi: evpn,
                    mode: AddPathMode::SEND,
                },
            ]),
        ),
        (
            "70 enhanced route refresh",
            "46 00",
            Capability::EnhancedRouteRefresh,
        ),
        (
            "71 long-lived GR",
            "47 0e 0001 01 80 000000 0019 46 00 000e10",
            Capability::LongLivedGr(vec![
                LlgrFamily {
                    afi_safi: v4u,
                    flags: 0x80,
                    stale_time: 0,
                },
                LlgrFamily {
                    afi_safi: evpn,
                    flags: 0,
                    stale_time: 3600,
                },
            ]),
        ),
        (
            "73 FQDN",
            "49 11 0a 646f6e617461732d7063 05 6c6f63616c",
            Capability::Fqdn {
                hostname: "donatas-pc".into(),
                domain: "local".into(),
            },
        ),
        (
            "75 software version",
            "4b 09 08 4652522f31302e31",
            Capability::SoftwareVersion("FRR/10.1".into()),
        ),
        (
            "128 Cisco route refresh",
            "80 00",
            Capability::RouteRefreshCisco,
        ),
        (
            "67 dynamic (unknown, kept)",
            "43 00",
            Capability::Unknown {
                code: 67,
                value: vec![],
            },
        ),
        (
            "99 unknown with a value",
            "63 03 010203",
            Capability::Unknown {
                code: 99,
                value: vec![1, 2, 3],
            },
        ),
    ]
}

#[test]
fn open_each_capability() {
    let head = h("04 fde9 00b4 0a000001");
    let mut codes = Vec::new();
    for (name, hex_cap, cap) in caps() {
        codes.push(cap.code());
        let cap_bytes = h(hex_cap);
        assert_eq!(cap_bytes[0], cap.code(), "{name}");
        let mut body = head.clone();
        body.extend_from_slice(&[cap_bytes.len() as u8 + 2, 2, cap_bytes.len() as u8]);
        body.extend_from_slice(&cap_bytes);
        let bytes = msg(1, &body);
        let model = Open::new(65001, 180, v4("10.0.0.1"), vec![cap.clone()]);
        let r = decode_message(&bytes, &ebgp()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.message, Message::Open(model.clone()), "{name}");
        assert_eq!(
            Message::Open(model).to_bytes(&ebgp()).unwrap(),
            bytes,
            "{name}"
        );
    }
    for c in [1, 2, 5, 6, 9, 64, 65, 69, 70, 71, 73, 75, 128] {
        assert!(codes.contains(&c), "capability {c} covered");
    }
}

#[test]
fn open_malformed_known_capabilities_are_open_errors() {
    for cap in [
        "01 03 000100",
        "41 02 0001",
        "45 03 000101",
        "45 04 0001 01 04",
        "02 01 00",
        "47 06 0001 01 80 0000",
    ] {
        let cap = h(cap);
        let mut body = h("04 fde9 00b4 0a000001");
        body.extend_from_slice(&[cap.len() as u8 + 2, 2, cap.len() as u8]);
        body.extend_from_slice(&cap);
        let e = decode_message(&msg(1, &body), &ebgp()).unwrap_err();
        assert_eq!(e.notification.map(|n| n.code), Some(2), "{cap:02x?}");
    }
    // Wrong version: 2/1 with the version we support.
    let e = decode_message(&msg(1, &h("03 fde9 00b4 0a000001 00")), &ebgp()).unwrap_err();
    assert_eq!(e.notification, Some(Notification::new(2, 1, vec![0, 4])));
    // Opt Parm Len disagreeing with the message: 2/0.
    let e =
        decode_message(&msg(1, &h("04 fde9 00b4 0a000001 05 02 02 02 00")), &ebgp()).unwrap_err();
    assert_eq!(e.notification, Some(Notification::new(2, 0, vec![])));
}

/// The FRR OPEN of bgp-evpn-wire.md §1.3 (tcpdump tests/bgp-role.pcapng).
const FRR_OPEN: &str = "ffffffffffffffffffffffffffffffff 006b 01 04 fdea 00b4 c0a80a11 4e
    02 06 01 04 0001 00 01
    02 02 80 00
    02 02 02 00
    02 02 46 00
    02 06 41 04 0000fdea
    02 02 06 00
    02 03 09 01 03
    02 06 45 04 0001 01 01
    02 0e 49 0c 0a 646f6e617461732d7063 00
    02 04 40 02 4078
    02 09 47 07 0001 01 80 000000";

#[test]
fn frr_open_real_bytes() {
    let bytes = h(FRR_OPEN);
    let r = decode_message(&bytes, &ebgp()).unwrap();
    let Message::Open(o) = &r.message else {
        panic!("{:?}", r.message)
    };
    let v4u = AfiSafi::new(1, 1);
    let model = Open::new(
        65002,
        180,
        v4("192.168.10.17"),
        vec![
            Capability::Multiprotocol(v4u),
            Capability::RouteRefreshCisco,
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(65002),
            Capability::ExtendedMessage,
            Capability::Role(3),
            Capability::AddPath(vec![AddPathEntry {
                afi_safi: v4u,
                mode: AddPathMode::RECEIVE,
            }]),
            Capability::Fqdn {
                hostname: "donatas-pc".into(),
                domain: String::new(),
            },
            Capability::GracefulRestart(GracefulRestart {
                flags: 4,
                restart_time: 120,
                families: vec![],
            }),
            Capability::LongLivedGr(vec![LlgrFamily {
                afi_safi: v4u,
                flags: 0x80,
                stale_time: 0,
            }]),
        ],
    );
    assert_eq!(o, &model);
    assert_eq!(o.asn(), 65002);
    assert_eq!(
        o.add_path_mode(Family::Ipv4Unicast),
        Some(AddPathMode::RECEIVE)
    );
    assert_eq!(o.add_path_mode(Family::L2vpnEvpn), None);
    assert_eq!(o.multiprotocol().collect::<Vec<_>>(), [v4u]);
    assert!(o.validate().is_ok());
    assert!(!o.needs_extended_params());
    assert_eq!(Message::Open(model).to_bytes(&ebgp()).unwrap(), bytes);
}

#[test]
fn open_rfc9072_extended_parameters() {
    // Opt Parm Len 255, Type 255, Extended Opt Parm Len 0x0012, then 2-octet lengths.
    let body = h("04 fde9 005a 0a000001 ff ff 0012
                  02 0006 01 04 0001 00 01
                  02 0006 41 04 0000fde9");
    let bytes = msg(1, &body);
    let model = Open {
        my_as: 65001,
        hold_time: 90,
        bgp_id: v4("10.0.0.1"),
        params: vec![
            OptParam::Capabilities(vec![Capability::Multiprotocol(AfiSafi::new(1, 1))]),
            OptParam::Capabilities(vec![Capability::FourOctetAs(65001)]),
        ],
        extended_params: true,
    };
    assert_eq!(
        decode_message(&bytes, &ebgp()).unwrap().message,
        Message::Open(model.clone())
    );
    assert_eq!(Message::Open(model).to_bytes(&ebgp()).unwrap(), bytes);

    // Several capabilities in one parameter (accepted as well as one per parameter).
    let body = h("04 fde9 005a 0a000001 0a 02 08 01 04 0001 00 01 02 00");
    let r = decode_message(&msg(1, &body), &ebgp()).unwrap();
    let Message::Open(o) = r.message else {
        panic!()
    };
    assert_eq!(
        o.params,
        [OptParam::Capabilities(vec![
            Capability::Multiprotocol(AfiSafi::new(1, 1)),
            Capability::RouteRefresh
        ])]
    );

    // Parameters over 255 octets switch to the RFC 9072 form by themselves.
    // (Each capability keeps its 1-octet length; only the parameters get 2-octet ones.)
    let long = Capability::Fqdn {
        hostname: "h".repeat(200),
        domain: "d".repeat(40),
    };
    let version = Capability::SoftwareVersion("v".repeat(100));
    let big = Open::new(
        4_200_000_000,
        90,
        v4("10.0.0.1"),
        vec![long, version, Capability::FourOctetAs(4_200_000_000)],
    );
    assert!(big.needs_extended_params());
    let bytes = Message::Open(big.clone()).to_bytes(&ebgp()).unwrap();
    assert_eq!(&bytes[19..22], &[4, 0x5b, 0xa0]); // version, AS_TRANS 23456
    assert_eq!(&bytes[28..30], &[0xff, 0xff]);
    let ext_len = u16::from_be_bytes([bytes[30], bytes[31]]) as usize;
    assert_eq!(ext_len, bytes.len() - 32);
    let Message::Open(back) = decode_message(&bytes, &ebgp()).unwrap().message else {
        panic!()
    };
    assert!(back.extended_params);
    assert_eq!(back.params, big.params);
    assert_eq!(back.asn(), 4_200_000_000);
}

#[test]
fn open_validate() {
    let id = v4("10.0.0.1");
    // (hold time, BGP identifier, expected NOTIFICATION (code, subcode)).
    type ValidateCase = (u16, Ipv4Addr, Option<(u8, u8)>);
    let cases: [ValidateCase; 7] = [
        (0, id, None),
        (1, id, Some((2, 6))),
        (2, id, Some((2, 6))),
        (3, id, None),
        (180, id, None),
        (65535, id, None),
        (180, Ipv4Addr::UNSPECIFIED, Some((2, 3))),
    ];
    for (hold, bgp_id, want) in cases {
        let o = Open::new(65001, hold, bgp_id, vec![]);
        let got = o.validate().err().map(|n| (n.code, n.subcode));
        assert_eq!(got, want, "hold {hold}, id {bgp_id}");
    }
    // An unknown optional parameter (type 1, deprecated authentication): 2/4 with it as data.
    let mut o = Open::new(65001, 90, id, vec![]);
    o.params.push(OptParam::Unknown {
        param_type: 1,
        value: vec![7, 8],
    });
    assert_eq!(o.validate(), Err(Notification::new(2, 4, vec![1, 7, 8])));
}

#[test]
fn negotiate_contexts() {
    let v4u = Family::Ipv4Unicast;
    let ap = |entries: &[(Family, AddPathMode)]| {
        Capability::AddPath(
            entries
                .iter()
                .map(|(f, m)| AddPathEntry {
                    afi_safi: f.afi_safi(),
                    mode: *m,
                })
                .collect(),
        )
    };
    let enhe_v4 = Capability::ExtendedNextHop(vec![ExtendedNextHopEntry {
        afi: 1,
        safi: 1,
        next_hop_afi: 2,
    }]);
    let local = Open::new(
        65001,
        90,
        v4("10.0.0.1"),
        vec![
            Capability::FourOctetAs(65001),
            Capability::ExtendedMessage,
            ap(&[
                (v4u, AddPathMode::BOTH),
                (Family::L2vpnEvpn, AddPathMode::RECEIVE),
            ]),
            enhe_v4,
        ],
    );
    let remote = Open::new(
        65002,
        90,
        v4("10.0.0.2"),
        vec![
            Capability::FourOctetAs(65002),
            ap(&[
                (v4u, AddPathMode::SEND),
                (Family::L2vpnEvpn, AddPathMode::SEND),
                (Family::Ipv6Unicast, AddPathMode::BOTH),
            ]),
        ],
    );
    let n = negotiate(&local, &remote, PeerType::External);
    // The peer sends path ids where it sends and we receive: IPv4 and EVPN.
    assert_eq!(
        n.rx.add_path,
        [v4u, Family::L2vpnEvpn].into_iter().collect::<FamilySet>()
    );
    // We send where we send and the peer receives: nowhere (it only sends).
    assert_eq!(n.tx.add_path, FamilySet::EMPTY);
    assert!(n.rx.four_octet_as && n.tx.four_octet_as);
    // Extended message needs both sides.
    assert!(!n.rx.extended_message && !n.tx.extended_message);
    assert_eq!(n.rx.max_message_len(), 4096);
    // RFC 8950: we receive IPv6 next hops for IPv4 because we advertised it; we may not send
    // them, the peer did not.
    assert!(n.rx.extended_next_hop.contains(v4u));
    assert!(n.tx.extended_next_hop.is_empty());
    assert_eq!(
        (n.rx.peer, n.tx.peer),
        (PeerType::External, PeerType::External)
    );

    // The other way round, ADD-PATH flips.
    let n = negotiate(&remote, &local, PeerType::Internal);
    assert_eq!(
        n.tx.add_path,
        [v4u, Family::L2vpnEvpn].into_iter().collect::<FamilySet>()
    );
    assert_eq!(n.rx.add_path, FamilySet::EMPTY);
    assert_eq!(n.rx.peer, PeerType::Internal);

    // 4-octet AS only when both advertise it; extended message when both do.
    let old = Open::new(65003, 90, v4("10.0.0.3"), vec![Capability::ExtendedMessage]);
    let n = negotiate(&local, &old, PeerType::External);
    assert!(!n.rx.four_octet_as && !n.tx.four_octet_as);
    assert!(n.rx.extended_message && n.tx.extended_message);
    assert_eq!(n.tx.max_message_len(), 65535);
    assert_eq!(n.rx.add_path, FamilySet::EMPTY);
}

// ---------------------------------------------------------------------------------------
// Path attributes
// ---------------------------------------------------------------------------------------

fn attribute_cases() -> Vec<(&'static str, Context, &'static str, PathAttributes)> {
    let sid_tlvs = vec![
        PrefixSidTlv::LabelIndex {
            flags: 0,
            label_index: 9,
        },
        PrefixSidTlv::OriginatorSrgb {
            flags: 0,
            ranges: vec![(16000, 8000)],
        },
    ];
    vec![
        (
            "ORIGIN IGP",
            ebgp(),
            "40 01 01 00",
            pa(|a| a.origin = Some(Origin::Igp)),
        ),
        (
            "ORIGIN EGP",
            ebgp(),
            "40 01 01 01",
            pa(|a| a.origin = Some(Origin::Egp)),
        ),
        (
            "ORIGIN INCOMPLETE",
            ebgp(),
            "40 01 01 02",
            pa(|a| a.origin = Some(Origin::Incomplete)),
        ),
        (
            "AS_PATH 4-octet sequence + set",
            ebgp(),
            "40 02 10 02 02 0000fde9 0000fdea 01 01 00010000",
            pa(|a| a.as_path = Some(path(vec![seq(&[65001, 65002]), set(&[65536])]))),
        ),
        (
            "AS_PATH 2-octet",
            ebgp2(),
            "40 02 06 02 02 fde9 fdea",
            pa(|a| a.as_path = Some(path(vec![seq(&[65001, 65002])]))),
        ),
        (
            "AS_PATH with a confederation sequence",
            ibgp(),
            "40 02 0c 03 01 0000fdf2 02 01 0000fde9",
            pa(|a| a.as_path = Some(path(vec![confed(&[65010]), seq(&[65001])]))),
        ),
        (
            "AS_PATH empty",
            ibgp(),
            "40 02 00",
            pa(|a| a.as_path = Some(AsPath::default())),
        ),
        (
            "NEXT_HOP",
            ebgp(),
            "40 03 04 c0000201",
            pa(|a| a.next_hop = Some(v4("192.0.2.1"))),
        ),
        (
            "MULTI_EXIT_DISC",
            ebgp(),
            "80 04 04 00000064",
            pa(|a| a.med = Some(100)),
        ),
        (
            "LOCAL_PREF (iBGP)",
            ibgp(),
            "40 05 04 000000c8",
            pa(|a| a.local_pref = Some(200)),
        ),
        (
            "ATOMIC_AGGREGATE",
            ebgp(),
            "40 06 00",
            pa(|a| a.atomic_aggregate = true),
        ),
        (
            "AGGREGATOR 4-octet",
            ebgp(),
            "c0 07 08 fa56ea00 0a000001",
            pa(|a| {
                a.aggregator = Some(Aggregator {
                    asn: 4_200_000_000,
                    addr: v4("10.0.0.1"),
                })
            }),
        ),
        (
            "AGGREGATOR 2-octet",
            ebgp2(),
            "c0 07 06 fde9 0a000001",
            pa(|a| {
                a.aggregator = Some(Aggregator {
                    asn: 65001,
                    addr: v4("10.0.0.1"),
                })
            }),
        ),
        (
            "COMMUNITIES incl. well-known",
            ebgp(),
            "c0 08 10 fde80064 ffffff01 ffff029a ffff0000",
            pa(|a| {
                a.communities = vec![
                    Community(0xfde8_0064),
                    Community::NO_EXPORT,
                    Community::BLACKHOLE,
                    Community::GRACEFUL_SHUTDOWN,
                ]
            }),
        ),
        (
            "ORIGINATOR_ID (iBGP)",
            ibgp(),
            "80 09 04 0a000009",
            pa(|a| a.originator_id = Some(v4("10.0.0.9"))),
        ),
        (
            "CLUSTER_LIST (iBGP)",
            ibgp(),
            "80 0a 08 0a000009 0a000008",
            pa(|a| a.cluster_list = vec![v4("10.0.0.9"), v4("10.0.0.8")]),
        ),
        (
            "EXTENDED_COMMUNITIES, every typed kind and a raw one",
            ebgp(),
            "c0 10 70
             0002 fde8 00000065
             0102 0a000001 0005
             0202 fa56ea00 2726
             0003 fde8 00000001
             030c 0000 0000 0008
             030d 0000 0000 0000
             0600 01 00 00000007
             0601 01 0000 0003e8
             0602 001122334455
             0603 66afcc194bfb
             4004 fde8 47f42400
             4f77 010203040506
             0002 fde8 100186ad
             030c 0000 0000 000a",
            pa(|a| {
                a.ext_communities = vec![
                    ExtCommunity::route_target_as2(65000, 101),
                    ExtCommunity::RouteTarget(AdminValue::Ipv4 {
                        addr: v4("10.0.0.1"),
                        value: 5,
                    }),
                    ExtCommunity::RouteTarget(AdminValue::As4 {
                        asn: 4_200_000_000,
                        value: 10022,
                    }),
                    ExtCommunity::RouteOrigin(AdminValue::As2 {
                        asn: 65000,
                        value: 1,
                    }),
                    ExtCommunity::VXLAN,
                    ExtCommunity::DefaultGateway,
                    ExtCommunity::MacMobility {
                        sticky: true,
                        sequence: 7,
                    },
                    ExtCommunity::EsiLabel {
                        single_active: true,
                        label: Label24::new(1000),
                    },
                    ExtCommunity::EsImport(Mac([0, 0x11, 0x22, 0x33, 0x44, 0x55])),
                    ExtCommunity::RouterMac(Mac([0x66, 0xaf, 0xcc, 0x19, 0x4b, 0xfb])),
                    ExtCommunity::LinkBandwidth {
                        asn: 65000,
                        bandwidth_bits: 125_000f32.to_bits(),
                    },
                    ExtCommunity::Raw([0x4f, 0x77, 1, 2, 3, 4, 5, 6]),
                    // RFC 8365 auto-RT for VXLAN: 0x10000000 | VNI 100013 (Junos, FRR#10027).
                    ExtCommunity::route_target_as2(65000, 0x1000_0000 | 100_013),
                    ExtCommunity::Encapsulation(10),
                ]
            }),
        ),
        (
            "AS4_PATH from an OLD speaker",
            ebgp2(),
            "c0 11 0a 02 02 00011170 fa56ea00",
            pa(|a| a.as4_path = Some(path(vec![seq(&[70000, 4_200_000_000])]))),
        ),
        (
            "AS4_AGGREGATOR from an OLD speaker",
            ebgp2(),
            "c0 12 08 00011170 0a000001",
            pa(|a| {
                a.as4_aggregator = Some(Aggregator {
                    asn: 70000,
                    addr: v4("10.0.0.1"),
                })
            }),
        ),
        (
            "PMSI_TUNNEL ingress replication, IPv4 VTEP, VNI 101",
            ebgp(),
            "c0 16 09 00 06 000065 0a000001",
            pa(|a| {
                a.pmsi_tunnel = Some(PmsiTunnel::ingress_replication(
                    Label24::new(101),
                    IpAddr::V4(v4("10.0.0.1")),
                ))
            }),
        ),
        (
            "PMSI_TUNNEL ingress replication, IPv6 VTEP",
            ebgp(),
            "c0 16 15 00 06 0003e8 20010db8000000000000000000000001",
            pa(|a| {
                a.pmsi_tunnel = Some(PmsiTunnel::ingress_replication(
                    Label24::new(1000),
                    IpAddr::V6(v6("2001:db8::1")),
                ))
            }),
        ),
        (
            "PMSI_TUNNEL label only, leaf info required",
            ebgp(),
            "c0 16 05 01 00 000000",
            pa(|a| {
                a.pmsi_tunnel = Some(PmsiTunnel {
                    flags: 1,
                    tunnel_type: 0,
                    label: Label24::new(0),
                    tunnel_id: vec![],
                })
            }),
        ),
        (
            "LARGE_COMMUNITY",
            ebgp(),
            "c0 20 18 fa56ea00 00000001 00000002 0000fde9 00000000 ffffffff",
            pa(|a| {
                a.large_communities = vec![
                    LargeCommunity {
                        global: 4_200_000_000,
                        local1: 1,
                        local2: 2,
                    },
                    LargeCommunity {
                        global: 65001,
                        local1: 0,
                        local2: u32::MAX,
                    },
                ]
            }),
        ),
        (
            "OTC",
            ebgp(),
            "c0 23 04 0000fde9",
            pa(|a| a.otc = Some(65001)),
        ),
        (
            "Prefix-SID label index + originator SRGB",
            ebgp(),
            "c0 28 15 01 0007 00 0000 00000009 03 0008 0000 003e80 001f40",
            pa(|a| a.prefix_sid = Some(bgp_wire::prefix_sid::PrefixSid { tlvs: sid_tlvs })),
        ),
        (
            "unknown optional transitive, kept raw",
            ebgp(),
            "c0 f0 03 010203",
            pa(|a| {
                a.other = vec![RawAttribute {
                    flags: 0xc0,
                    code: 240,
                    value: vec![1, 2, 3],
                }]
            }),
        ),
        (
            "AIGP, kept raw",
            ebgp(),
            "80 1a 0b 01 000b 0000000000000005",
            pa(|a| {
                a.other = vec![RawAttribute {
                    flags: 0x80,
                    code: code::AIGP,
                    value: h("01 000b 0000000000000005"),
                }]
            }),
        ),
        (
            "all of RFC 4271 in canonical order",
            ebgp(),
            "40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 c0000201  80 04 04 00000000
             40 06 00  c0 07 08 0000fde9 c0000201  c0 08 04 fde80064",
            pa(|a| {
                a.origin = Some(Origin::Igp);
                a.as_path = Some(AsPath::sequence(vec![65001]));
                a.next_hop = Some(v4("192.0.2.1"));
                a.med = Some(0);
                a.atomic_aggregate = true;
                a.aggregator = Some(Aggregator {
                    asn: 65001,
                    addr: v4("192.0.2.1"),
                });
                a.communities = vec![Community(0xfde8_0064)];
            }),
        ),
    ]
}

#[test]
fn attributes_both_ways() {
    for (name, ctx, hex_attr, model) in attribute_cases() {
        let bytes = h(hex_attr);
        let d = Update::decode(&attrs_body(&bytes), &ctx);
        assert!(d.verdict.is_clean(), "{name}: {:?}", d.verdict);
        assert_eq!(d.update.attributes, model, "{name}");
        assert_eq!(encode_attrs(&model, &ctx), bytes, "{name}");
    }
}

#[test]
fn srv6_prefix_sid_from_the_cisco_capture() {
    // SRv6 L3 Service TLV, SID fd7c:3f00:401::, End.DT4 (0x13), SID structure 40/24/16/0,
    // transposition 16 bits at offset 48 (NetGauze pmacct 300-BGP-IPv6-CISCO-extNH_enc).
    let bytes = h(
        "c0 28 25 05 0022 00 01 001e 00 fd7c3f00040100000000000000000000 00 0013 00
                   01 0006 28 18 10 00 10 30",
    );
    let d = Update::decode(&attrs_body(&bytes), &ebgp());
    assert!(d.verdict.is_clean());
    let sid = d.update.attributes.prefix_sid.clone().unwrap();
    let [PrefixSidTlv::Srv6L3Service(subs)] = sid.tlvs.as_slice() else {
        panic!("{sid:?}")
    };
    let [Srv6SubTlv::SidInformation(info)] = subs.as_slice() else {
        panic!("{subs:?}")
    };
    assert_eq!(info.sid, v6("fd7c:3f00:401::"));
    assert_eq!(info.endpoint_behavior, 0x13);
    let [Srv6SubSubTlv::SidStructure(st)] = info.sub_sub_tlvs.as_slice() else {
        panic!()
    };
    assert_eq!(
        (
            st.locator_block_len,
            st.locator_node_len,
            st.function_len,
            st.argument_len
        ),
        (40, 24, 16, 0)
    );
    assert_eq!((st.transposition_len, st.transposition_offset), (16, 48));
    assert_eq!(encode_attrs(&d.update.attributes, &ebgp()), bytes);
}

#[test]
fn long_attributes_use_extended_length() {
    // 70 communities = 280 octets: flags 0xD0 and a 2-octet length.
    let comms: Vec<Community> = (0..70u32).map(|i| Community(0xfde8_0000 | i)).collect();
    let model = pa(|a| a.communities = comms.clone());
    let bytes = encode_attrs(&model, &ebgp());
    assert_eq!(&bytes[..4], &[0xd0, 8, 0x01, 0x18]);
    assert_eq!(bytes.len(), 4 + 280);
    let d = Update::decode(&attrs_body(&bytes), &ebgp());
    assert!(d.verdict.is_clean());
    assert_eq!(d.update.attributes.communities, comms);
    // A short attribute sent with the extended-length flag anyway is accepted.
    let d = Update::decode(&attrs_body(&h("50 01 0001 02")), &ebgp());
    assert_eq!(d.update.attributes.origin, Some(Origin::Incomplete));
}

// ---------------------------------------------------------------------------------------
// NLRI: MP_REACH / MP_UNREACH of every family, next hops of every length
// ---------------------------------------------------------------------------------------

const RD1: &str = "0001 0a000001 0005"; // 10.0.0.1:5
const NH4: &str = "04 c0000201";
const G6: &str = "20010db8000000000000000000000001"; // 2001:db8::1
const LL6: &str = "fe800000000000000000000000000001"; // fe80::1

fn evpn_route(route: EvpnRoute) -> NlriList {
    NlriList::L2vpnEvpn(vec![EvpnNlri {
        path_id: None,
        route,
    }])
}

fn nh4() -> NextHop {
    NextHop::Ipv4(v4("192.0.2.1"))
}

fn nh6() -> NextHop {
    NextHop::Ipv6 {
        global: v6("2001:db8::1"),
        link_local: None,
    }
}

fn mac(last: u8) -> Mac {
    Mac([0x02, 0, 0, 0, 0, last])
}

fn t2(ip: Option<IpAddr>, label2: Option<u32>) -> EvpnRoute {
    EvpnRoute::MacIp(MacIpAdvertisement {
        rd: rd1("10.0.0.1", 5),
        esi: Esi::ZERO,
        eth_tag: 0,
        mac: mac(1),
        ip,
        label1: Label24::new(101),
        label2: label2.map(Label24::new),
    })
}

fn reach_cases() -> Vec<(&'static str, Context, String, MpReach)> {
    let v4u = |p: &[(&str, Option<u32>)]| {
        NlriList::Ipv4Unicast(
            p.iter()
                .map(|(s, id)| Ipv4Nlri {
                    path_id: *id,
                    prefix: net4(s),
                })
                .collect(),
        )
    };
    let vpn4 = |labels: u32, rd: RouteDistinguisher, p: &str| {
        NlriList::Ipv4Vpn(vec![VpnNlri {
            path_id: None,
            labels: [mpls(labels)].into_iter().collect(),
            rd,
            prefix: net4(p),
        }])
    };
    let esi1 = Esi([0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]);
    vec![
        (
            "IPv4 unicast, next hop 4",
            ebgp(),
            format!("0001 01 {NH4} 00 18 0a0000 20 0a000001 00"),
            MpReach { next_hop: nh4(), nlri: v4u(&[("10.0.0.0/24", None), ("10.0.0.1/32", None), ("0.0.0.0/0", None)]) },
        ),
        (
            "IPv4 unicast with ADD-PATH",
            with_add_path(Family::Ipv4Unicast),
            format!("0001 01 {NH4} 00 00000001 18 0a0000 00000002 18 0a0000"),
            MpReach { next_hop: nh4(), nlri: v4u(&[("10.0.0.0/24", Some(1)), ("10.0.0.0/24", Some(2))]) },
        ),
        (
            "IPv4 unicast, RFC 8950 next hop 16",
            with_enhe(Family::Ipv4Unicast),
            format!("0001 01 10 {G6} 00 18 0a0000"),
            MpReach { next_hop: nh6(), nlri: v4u(&[("10.0.0.0/24", None)]) },
        ),
        (
            "IPv6 unicast, next hop 16",
            ebgp(),
            format!("0002 01 10 {G6} 00 40 20010db800000001 80 {G6}"),
            MpReach {
                next_hop: nh6(),
                nlri: NlriList::Ipv6Unicast(vec![
                    Ipv6Nlri { path_id: None, prefix: net6("2001:db8:0:1::/64") },
                    Ipv6Nlri { path_id: None, prefix: net6("2001:db8::1/128") },
                ]),
            },
        ),
        (
            "IPv6 unicast, global + link-local next hop 32, ADD-PATH",
            with_add_path(Family::Ipv6Unicast),
            format!("0002 01 20 {G6} {LL6} 00 00000009 30 20010db80001"),
            MpReach {
                next_hop: NextHop::Ipv6 { global: v6("2001:db8::1"), link_local: Some(v6("fe80::1")) },
                nlri: NlriList::Ipv6Unicast(vec![Ipv6Nlri { path_id: Some(9), prefix: net6("2001:db8:1::/48") }]),
            },
        ),
        (
            // GoBGP Test_MpReachNLRIWithVPNv4Prefix: label 16, RD 65000:100, 10.1.1.0/24.
            "VPNv4, RD type 0, next hop 12",
            ebgp(),
            "0001 80 0c 0000000000000000 c0000201 00 70 000101 0000fde800000064 0a0101".into(),
            MpReach {
                next_hop: NextHop::VpnIpv4 { rd: RouteDistinguisher::ZERO, addr: v4("192.0.2.1") },
                nlri: vpn4(16, rd0(65000, 100), "10.1.1.0/24"),
            },
        ),
        (
            "VPNv4, RD type 1",
            ebgp(),
            format!("0001 80 0c 0000000000000000 c0000201 00 70 000c81 {RD1} 0a0a0a"),
            MpReach {
                next_hop: NextHop::VpnIpv4 { rd: RouteDistinguisher::ZERO, addr: v4("192.0.2.1") },
                nlri: vpn4(200, rd1("10.0.0.1", 5), "10.10.10.0/24"),
            },
        ),
        (
            "VPNv4, RD type 2",
            ebgp(),
            "0001 80 0c 0000000000000000 c0000201 00 70 003e81 0002fa56ea000007 0a1414".into(),
            MpReach {
                next_hop: NextHop::VpnIpv4 { rd: RouteDistinguisher::ZERO, addr: v4("192.0.2.1") },
                nlri: vpn4(1000, rd2(4_200_000_000, 7), "10.20.20.0/24"),
            },
        ),
        (
            "VPNv4, RFC 8950 next hop 48 (RD+global+RD+link-local)",
            with_enhe(Family::Ipv4Vpn),
            format!("0001 80 30 0000000000000000 {G6} 0000000000000000 {LL6} 00 70 000101 0000fde800000064 0a0101"),
            MpReach {
                next_hop: NextHop::VpnIpv6 {
                    rd: RouteDistinguisher::ZERO,
                    global: v6("2001:db8::1"),
                    link_local: Some((RouteDistinguisher::ZERO, v6("fe80::1"))),
                },
                nlri: vpn4(16, rd0(65000, 100), "10.1.1.0/24"),
            },
        ),
        (
            // Over an IPv4 core: ::ffff:192.0.2.1 in the 24-octet form (Ryu vpnv6 capture).
            "VPNv6, next hop 24 (IPv4-mapped)",
            ebgp(),
            "0002 80 18 0000000000000000 00000000000000000000ffffc0000201 00 98 000101 0000fde800000064 20010db800000000".into(),
            MpReach {
                next_hop: NextHop::VpnIpv6 { rd: RouteDistinguisher::ZERO, global: v6("::ffff:192.0.2.1"), link_local: None },
                nlri: NlriList::Ipv6Vpn(vec![VpnNlri {
                    path_id: None,
                    labels: [mpls(16)].into_iter().collect(),
                    rd: rd0(65000, 100),
                    prefix: net6("2001:db8::/64"),
                }]),
            },
        ),
        (
            "EVPN type 1 (per-ES A-D), ESI type 0",
            ebgp(),
            format!("0019 46 {NH4} 00 01 19 {RD1} 00112233445566778899 ffffffff 000065"),
            MpReach {
                next_hop: nh4(),
                nlri: evpn_route(EvpnRoute::EthernetAd(EthernetAd {
                    rd: rd1("10.0.0.1", 5),
                    esi: esi1,
                    eth_tag: u32::MAX,
                    label: Label24::new(101),
                })),
            },
        ),
        (
            "EVPN type 2 MAC only (33)",
            ebgp(),
            format!("0019 46 {NH4} 00 02 21 {RD1} 00000000000000000000 00000000 30 020000000001 00 000065"),
            MpReach { next_hop: nh4(), nlri: evpn_route(t2(None, None)) },
        ),
        (
            "EVPN type 2 MAC only, two labels (36)",
            ebgp(),
            format!("0019 46 {NH4} 00 02 24 {RD1} 00000000000000000000 00000000 30 020000000001 00 000065 001388"),
            MpReach { next_hop: nh4(), nlri: evpn_route(t2(None, Some(5000))) },
        ),
        (
            "EVPN type 2 MAC+IPv4 (37)",
            ebgp(),
            format!("0019 46 {NH4} 00 02 25 {RD1} 00000000000000000000 00000000 30 020000000001 20 0a000101 000065"),
            MpReach { next_hop: nh4(), nlri: evpn_route(t2(Some(IpAddr::V4(v4("10.0.1.1"))), None)) },
        ),
        (
            "EVPN type 2 MAC+IPv4, two labels L2VNI/L3VNI (40)",
            ebgp(),
            format!("0019 46 {NH4} 00 02 28 {RD1} 00000000000000000000 00000000 30 020000000001 20 0a000101 000065 001388"),
            MpReach { next_hop: nh4(), nlri: evpn_route(t2(Some(IpAddr::V4(v4("10.0.1.1"))), Some(5000))) },
        ),
        (
            "EVPN type 2 MAC+IPv6 (49), IPv6 VTEP next hop 16",
            ebgp(),
            format!("0019 46 10 {G6} 00 02 31 {RD1} 00000000000000000000 00000000 30 020000000001 80 {G6} 000065"),
            MpReach { next_hop: nh6(), nlri: evpn_route(t2(Some(IpAddr::V6(v6("2001:db8::1"))), None)) },
        ),
        (
            "EVPN type 2 MAC+IPv6, two labels (52)",
            ebgp(),
            format!("0019 46 {NH4} 00 02 34 {RD1} 00000000000000000000 00000000 30 020000000001 80 {G6} 000065 001388"),
            MpReach { next_hop: nh4(), nlri: evpn_route(t2(Some(IpAddr::V6(v6("2001:db8::1"))), Some(5000))) },
        ),
        (
            "EVPN type 3 IPv4 originator (17)",
            ebgp(),
            format!("0019 46 {NH4} 00 03 11 {RD1} 00000000 20 0a000001"),
            MpReach {
                next_hop: nh4(),
                nlri: evpn_route(EvpnRoute::InclusiveMulticast(InclusiveMulticast {
                    rd: rd1("10.0.0.1", 5),
                    eth_tag: 0,
                    originator: IpAddr::V4(v4("10.0.0.1")),
                })),
            },
        ),
        (
            "EVPN type 3 IPv6 originator (29), next hop 32",
            ebgp(),
            format!("0019 46 20 {G6} {LL6} 00 03 1d {RD1} 00000064 80 {G6}"),
            MpReach {
                next_hop: NextHop::Ipv6 { global: v6("2001:db8::1"), link_local: Some(v6("fe80::1")) },
                nlri: evpn_route(EvpnRoute::InclusiveMulticast(InclusiveMulticast {
                    rd: rd1("10.0.0.1", 5),
                    eth_tag: 100,
                    originator: IpAddr::V6(v6("2001:db8::1")),
                })),
            },
        ),
        (
            "EVPN type 4 IPv4 (23)",
            ebgp(),
            format!("0019 46 {NH4} 00 04 17 {RD1} 00112233445566778899 20 0a000001"),
            MpReach {
                next_hop: nh4(),
                nlri: evpn_route(EvpnRoute::EthernetSegment(EthernetSegment {
                    rd: rd1("10.0.0.1", 5),
                    esi: esi1,
                    originator: IpAddr::V4(v4("10.0.0.1")),
                })),
            },
        ),
        (
            "EVPN type 4 IPv6 (35)",
            ebgp(),
            format!("0019 46 10 {G6} 00 04 23 {RD1} 00112233445566778899 80 {G6}"),
            MpReach {
                next_hop: nh6(),
                nlri: evpn_route(EvpnRoute::EthernetSegment(EthernetSegment {
                    rd: rd1("10.0.0.1", 5),
                    esi: esi1,
                    originator: IpAddr::V6(v6("2001:db8::1")),
                })),
            },
        ),
        (
            "EVPN type 5 IPv4 (34)",
            ebgp(),
            format!("0019 46 {NH4} 00 05 22 {RD1} 00000000000000000000 00000000 10 0a010000 00000000 001388"),
            MpReach {
                next_hop: nh4(),
                nlri: evpn_route(EvpnRoute::IpPrefix(IpPrefixRoute {
                    rd: rd1("10.0.0.1", 5),
                    esi: Esi::ZERO,
                    eth_tag: 0,
                    prefix: IpNet::V4(net4("10.1.0.0/16")),
                    gateway: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    label: Label24::new(5000),
                })),
            },
        ),
        (
            "EVPN type 5 IPv6 (58) with a gateway",
            ebgp(),
            format!("0019 46 10 {G6} 00 05 3a {RD1} 00000000000000000000 00000000 40 20010db8000100000000000000000000 {G6} 001388"),
            MpReach {
                next_hop: nh6(),
                nlri: evpn_route(EvpnRoute::IpPrefix(IpPrefixRoute {
                    rd: rd1("10.0.0.1", 5),
                    esi: Esi::ZERO,
                    eth_tag: 0,
                    prefix: IpNet::V6(net6("2001:db8:1::/64")),
                    gateway: IpAddr::V6(v6("2001:db8::1")),
                    label: Label24::new(5000),
                })),
            },
        ),
        (
            "EVPN with ADD-PATH",
            with_add_path(Family::L2vpnEvpn),
            format!("0019 46 {NH4} 00 00000007 02 21 {RD1} 00000000000000000000 00000000 30 020000000001 00 000065"),
            MpReach {
                next_hop: nh4(),
                nlri: NlriList::L2vpnEvpn(vec![EvpnNlri { path_id: Some(7), route: t2(None, None) }]),
            },
        ),
        (
            "unmodelled family (IPv4 flowspec), next hop 0, kept raw",
            ebgp(),
            "0001 85 00 00 05 01 18 0a0000".into(),
            MpReach { next_hop: NextHop::None, nlri: NlriList::Other { afi_safi: AfiSafi::new(1, 133), raw: h("05 01 18 0a0000") } },
        ),
    ]
}

/// ORIGIN IGP and an empty AS_PATH (valid in either AS width) around an MP attribute.
fn mp_update(mp_attr: &[u8]) -> Vec<u8> {
    attrs_body(&[h("40 01 01 00 40 02 00"), mp_attr.to_vec()].concat())
}

#[test]
fn mp_reach_every_family_both_ways() {
    let mut lens = Vec::new();
    for (name, ctx, value, model) in reach_cases() {
        let value = h(&value);
        let mut attr = vec![0x90, 14];
        attr.extend_from_slice(&(value.len() as u16).to_be_bytes());
        attr.extend_from_slice(&value);
        let d = Update::decode(&mp_update(&attr), &ctx);
        assert!(d.verdict.is_clean(), "{name}: {:?}", d.verdict);
        assert_eq!(
            d.update.attributes.mp_reach.as_ref(),
            Some(&model),
            "{name}"
        );
        let encoded = encode_attrs(&pa(|a| a.mp_reach = Some(model.clone())), &ctx);
        assert_eq!(encoded, attr, "{name}");
        lens.push(model.next_hop.len());
    }
    for l in [0, 4, 12, 16, 24, 32, 48] {
        assert!(lens.contains(&l), "next-hop length {l} covered");
    }
}

#[test]
fn mp_unreach_both_ways() {
    let cases: Vec<(&str, Context, String, NlriList)> = vec![
        (
            "IPv4 unicast with ADD-PATH",
            with_add_path(Family::Ipv4Unicast),
            "0001 01 00000001 18 0a0000".into(),
            NlriList::Ipv4Unicast(vec![Ipv4Nlri {
                path_id: Some(1),
                prefix: net4("10.0.0.0/24"),
            }]),
        ),
        (
            "IPv6 unicast",
            ebgp(),
            "0002 01 40 20010db800000001".into(),
            NlriList::Ipv6Unicast(vec![Ipv6Nlri {
                path_id: None,
                prefix: net6("2001:db8:0:1::/64"),
            }]),
        ),
        (
            // RFC 8277 compatibility label 0x800000 in a withdrawal.
            "VPNv4 with the 0x800000 label",
            ebgp(),
            "0001 80 70 800000 0000fde800000064 0a0101".into(),
            NlriList::Ipv4Vpn(vec![VpnNlri {
                path_id: None,
                labels: [MplsLabel {
                    label: 0x80000,
                    tc: 0,
                    bos: false,
                }]
                .into_iter()
                .collect(),
                rd: rd0(65000, 100),
                prefix: net4("10.1.1.0/24"),
            }]),
        ),
        (
            "EVPN type 2",
            ebgp(),
            format!("0019 46 02 21 {RD1} 00000000000000000000 00000000 30 020000000001 00 000065"),
            NlriList::L2vpnEvpn(vec![EvpnNlri {
                path_id: None,
                route: t2(None, None),
            }]),
        ),
    ];
    for (name, ctx, value, list) in cases {
        let value = h(&value);
        let mut attr = vec![0x90, 15];
        attr.extend_from_slice(&(value.len() as u16).to_be_bytes());
        attr.extend_from_slice(&value);
        let d = Update::decode(&attrs_body(&attr), &ctx);
        assert!(d.verdict.is_clean(), "{name}: {:?}", d.verdict);
        let model = MpUnreach { withdrawn: list };
        assert_eq!(
            d.update.attributes.mp_unreach.as_ref(),
            Some(&model),
            "{name}"
        );
        assert_eq!(
            encode_attrs(&pa(|a| a.mp_unreach = Some(model.clone())), &ctx),
            attr,
            "{name}"
        );
    }
}

#[test]
fn ipv4_nlri_field_with_and_without_add_path() {
    // Withdrawn and NLRI fields with 4-octet path identifiers (RFC 7911).
    let body = h(
        "0006 00000001 08 0a | 000e 40 01 01 00 40 02 00 40 03 04 c0000201 | 00000002 18 0a0000",
    );
    let ap = with_add_path(Family::Ipv4Unicast);
    let d = Update::decode(&body, &ap);
    assert!(d.verdict.is_clean(), "{:?}", d.verdict);
    assert_eq!(
        d.update.withdrawn,
        [Ipv4Nlri {
            path_id: Some(1),
            prefix: net4("10.0.0.0/8")
        }]
    );
    assert_eq!(
        d.update.nlri,
        [Ipv4Nlri {
            path_id: Some(2),
            prefix: net4("10.0.0.0/24")
        }]
    );
    assert_eq!(d.update.attributes.next_hop, Some(v4("192.0.2.1")));
    let mut out = Vec::new();
    d.update.encode_body(&ap, &mut out).unwrap();
    assert_eq!(out, body);
    // Read without the ADD-PATH context the withdrawn bytes are 0/0, 0/0, 0/0, a /1 and a
    // /10 missing its octets: unparseable, a session reset 3/10 (RFC 7606 §3.j). The codec
    // cannot guess the context, which is why it is given the negotiated one.
    let d = Update::decode(&body, &ebgp());
    assert!(d.verdict.is_reset());
    assert_eq!(
        d.verdict.notification,
        Some(Notification::new(3, 10, vec![]))
    );
    // Without ADD-PATH.
    let plain =
        h("0004 18 0a0000 | 000e 40 01 01 00 40 02 00 40 03 04 c0000201 | 18 0a0000 20 0a000001");
    let d = Update::decode(&plain, &ebgp());
    assert!(d.verdict.is_clean());
    assert_eq!(
        d.update.withdrawn,
        [Ipv4Nlri {
            path_id: None,
            prefix: net4("10.0.0.0/24")
        }]
    );
    assert_eq!(
        d.update.nlri,
        [
            Ipv4Nlri {
                path_id: None,
                prefix: net4("10.0.0.0/24")
            },
            Ipv4Nlri {
                path_id: None,
                prefix: net4("10.0.0.1/32")
            }
        ]
    );
    let mut out = Vec::new();
    d.update.encode_body(&ebgp(), &mut out).unwrap();
    assert_eq!(out, plain);
    // Host bits of a received prefix are cleared.
    let d = Update::decode(
        &h("0000 000e 40 01 01 00 40 02 00 40 03 04 c0000201 1a 0a0101ff"),
        &ebgp(),
    );
    assert_eq!(
        d.update.nlri,
        [Ipv4Nlri {
            path_id: None,
            prefix: net4("10.1.1.192/26")
        }]
    );
}

// ---------------------------------------------------------------------------------------
// Worked examples A–F (bgp-evpn-wire.md §1.13)
// ---------------------------------------------------------------------------------------

#[test]
fn example_a_real_evpn_type2_with_vxlan() {
    // tcpdump tests/bgp-encap.pcap.
    let bytes = h("ffffffffffffffffffffffffffffffff 0068 02 0000 0051
        40 01 01 00
        40 02 00
        40 05 04 00000064
        c0 10 10 0002fde800000065 030c000000000008
        90 0e 002c 0019 46 04 04040404 00
          02 21 0001 04040404 0004 00000000000000000000 00000000 30 02060a0efaf3 00 000065");
    let ctx = ibgp();
    let r = decode_message(&bytes, &ctx).unwrap();
    assert!(r.verdict.is_clean(), "{:?}", r.verdict);
    let route = EvpnRoute::MacIp(MacIpAdvertisement {
        rd: rd1("4.4.4.4", 4),
        esi: Esi::ZERO,
        eth_tag: 0,
        mac: Mac([0x02, 0x06, 0x0a, 0x0e, 0xfa, 0xf3]),
        ip: None,
        label1: Label24::new(101),
        label2: None,
    });
    let model = Update {
        withdrawn: vec![],
        attributes: pa(|a| {
            a.origin = Some(Origin::Igp);
            a.as_path = Some(AsPath::default());
            a.local_pref = Some(100);
            a.ext_communities = vec![
                ExtCommunity::route_target_as2(65000, 101),
                ExtCommunity::VXLAN,
            ];
            a.mp_reach = Some(MpReach {
                next_hop: NextHop::Ipv4(v4("4.4.4.4")),
                nlri: evpn_route(route),
            });
        }),
        nlri: vec![],
    };
    assert_eq!(r.message, Message::Update(model.clone()));
    // The VNI is the raw 24 bits of Label1, and matches the RT's local administrator.
    let Some(MpReach {
        nlri: NlriList::L2vpnEvpn(v),
        ..
    }) = &model.attributes.mp_reach
    else {
        panic!()
    };
    let EvpnRoute::MacIp(m) = &v[0].route else {
        panic!()
    };
    assert_eq!(m.label1.vni().get(), 101);
    // Encoding writes MP_REACH first (RFC 7606 §5.1), then by type code: same bytes reordered.
    let canonical = h("ffffffffffffffffffffffffffffffff 0068 02 0000 0051
        90 0e 002c 0019 46 04 04040404 00
          02 21 0001 04040404 0004 00000000000000000000 00000000 30 02060a0efaf3 00 000065
        40 01 01 00
        40 02 00
        40 05 04 00000064
        c0 10 10 0002fde800000065 030c000000000008");
    assert_eq!(Message::Update(model).to_bytes(&ctx).unwrap(), canonical);
    // From an eBGP peer the same UPDATE loses LOCAL_PREF only (attribute discard).
    let r = decode_message(&bytes, &ebgp()).unwrap();
    assert_eq!(r.verdict.action, Some(Action::Discard));
    let Message::Update(u) = r.message else {
        panic!()
    };
    assert_eq!(u.attributes.local_pref, None);
    assert!(u.attributes.mp_reach.is_some());
}

#[test]
fn examples_b_c_d_evpn_nlri() {
    struct Ex {
        name: &'static str,
        nlri: &'static str,
        route: EvpnRoute,
        /// What re-encoding gives (host bits of a type-5 prefix are cleared).
        reencoded: &'static str,
    }
    let cases = [
        Ex {
            name: "B: NetGauze type-5, VNI 100",
            nlri: "05 22 | 0001 0a000a01 0002 | 00000000000000000000 | 00000000 | 18 | 0a000a00 | 00000000 | 000064",
            route: EvpnRoute::IpPrefix(IpPrefixRoute {
                rd: rd1("10.0.10.1", 2),
                esi: Esi::ZERO,
                eth_tag: 0,
                prefix: IpNet::V4(net4("10.0.10.0/24")),
                gateway: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                label: Label24::new(100),
            }),
            reencoded: "05 22 0001 0a000a01 0002 00000000000000000000 00000000 18 0a000a00 00000000 000064",
        },
        Ex {
            name: "C: Ryu type-5 with GW overlay index, label 0, host bits set",
            nlri: "05 22 0000fde80000000a 00000000000000000000 0000000a 18 0a0a0a0a 14141414 000000",
            route: EvpnRoute::IpPrefix(IpPrefixRoute {
                rd: rd0(65000, 10),
                esi: Esi::ZERO,
                eth_tag: 10,
                prefix: IpNet::V4(net4("10.10.10.0/24")),
                gateway: IpAddr::V4(v4("20.20.20.20")),
                label: Label24::new(0),
            }),
            reencoded: "05 22 0000fde80000000a 00000000000000000000 0000000a 18 0a0a0a00 14141414 000000",
        },
        Ex {
            name: "D: NetGauze type-3",
            nlri: "03 11 | 0001 ac1000c8 0004 | 00000000 | 20 | ac1000c8",
            route: EvpnRoute::InclusiveMulticast(InclusiveMulticast {
                rd: rd1("172.16.0.200", 4),
                eth_tag: 0,
                originator: IpAddr::V4(v4("172.16.0.200")),
            }),
            reencoded: "03 11 0001 ac1000c8 0004 00000000 20 ac1000c8",
        },
    ];
    for c in cases {
        let nlri = h(c.nlri);
        let (rest, d) =
            bgp_wire::nlri::decode_nlri(Family::L2vpnEvpn.afi_safi(), &ebgp(), &nlri).unwrap();
        assert!(rest.is_empty(), "{}", c.name);
        assert_eq!(d.list, evpn_route(c.route.clone()), "{}", c.name);
        let mut out = Vec::new();
        c.route.encode(&mut out);
        assert_eq!(out, h(c.reencoded), "{}", c.name);
        // In an UPDATE without a Router's MAC the RFC 9136 checks accept all three: B has a
        // label, C a gateway overlay index, D is no type-5.
        let value = [h("0019 46 04 0a000001 00"), h(c.nlri)].concat();
        let mut attr = vec![0x90, 14, 0, value.len() as u8];
        attr.extend_from_slice(&value);
        let u = Update::decode(&mp_update(&attr), &ebgp());
        assert!(u.verdict.is_clean(), "{}: {:?}", c.name, u.verdict);
    }
}

#[test]
fn example_e_cisco_vpnv4_with_rfc8950_next_hop() {
    // NetGauze pmacct 300-BGP-IPv6-CISCO-extNH_enc: 24-octet next hop (RD 0 + IPv6); the
    // "label" e00a01 holds transposed SRv6 SID bits.
    let attr = h(
        "90 0e 002c 0001 80 18 0000000000000000 fd7c3f00040100000000000000000001 00
                  70 e00a01 0001 0ad7b62e 0003 0ae704",
    );
    let model = MpReach {
        next_hop: NextHop::VpnIpv6 {
            rd: RouteDistinguisher::ZERO,
            global: v6("fd7c:3f00:401::1"),
            link_local: None,
        },
        nlri: NlriList::Ipv4Vpn(vec![VpnNlri {
            path_id: None,
            labels: [MplsLabel {
                label: 0xe00a0,
                tc: 0,
                bos: true,
            }]
            .into_iter()
            .collect(),
            rd: rd1("10.215.182.46", 3),
            prefix: net4("10.231.4.0/24"),
        }]),
    };
    let ctx = with_enhe(Family::Ipv4Vpn);
    let d = Update::decode(&mp_update(&attr), &ctx);
    assert!(d.verdict.is_clean(), "{:?}", d.verdict);
    assert_eq!(d.update.attributes.mp_reach.as_ref(), Some(&model));
    assert_eq!(encode_attrs(&pa(|a| a.mp_reach = Some(model)), &ctx), attr);
    // Without RFC 8950 negotiated for VPNv4 the 24-octet next hop is not valid: AFI/SAFI
    // disable of VPNv4 (RFC 7606 §7.11), NOTIFICATION 3/9 ready for a speaker that resets.
    let d = Update::decode(&mp_update(&attr), &ebgp());
    assert_eq!(d.verdict.action, Some(Action::AfiSafiDisable));
    assert_eq!(d.verdict.disable, [Family::Ipv4Vpn.afi_safi()]);
    assert_eq!(d.verdict.notification, Some(Notification::new(3, 9, attr)));
}

#[test]
fn example_f_ipv6_global_and_link_local_next_hop() {
    // bgp-rs BGP_MP_NLRI.cap #14 (Cisco), cut after its first NLRI (the attribute length
    // adjusted from 0x40 to 0x2e accordingly).
    let attr = h(
        "80 0e 2e 0002 01 20 20010db8000000000000000000000002 fe80000000000000c0020bfffe7e0000 00
                  40 20010db800020002",
    );
    let model = MpReach {
        next_hop: NextHop::Ipv6 {
            global: v6("2001:db8::2"),
            link_local: Some(v6("fe80::c002:bff:fe7e:0")),
        },
        nlri: NlriList::Ipv6Unicast(vec![Ipv6Nlri {
            path_id: None,
            prefix: net6("2001:db8:2:2::/64"),
        }]),
    };
    let d = Update::decode(&mp_update(&attr), &ebgp());
    assert!(d.verdict.is_clean(), "{:?}", d.verdict);
    assert_eq!(d.update.attributes.mp_reach.as_ref(), Some(&model));
    // The encoder uses the extended-length form for MP_REACH, as FRR does.
    let mut canonical = vec![0x90, 0x0e, 0x00];
    canonical.extend_from_slice(&attr[2..]);
    assert_eq!(
        encode_attrs(&pa(|a| a.mp_reach = Some(model)), &ebgp()),
        canonical
    );
}

// ---------------------------------------------------------------------------------------
// AS4 reconciliation (RFC 6793 §4.2.3)
// ---------------------------------------------------------------------------------------

#[test]
fn as4_path_reconciliation() {
    const T: u32 = 23456; // AS_TRANS
    struct R {
        name: &'static str,
        as_path: AsPath,
        as4_path: AsPath,
        want: AsPath,
    }
    let cases = [
        R {
            name: "leading ASes of AS_PATH prepended to AS4_PATH",
            as_path: path(vec![seq(&[65001, T, T, 65002])]),
            as4_path: path(vec![seq(&[4_200_000_001, 4_200_000_002, 65002])]),
            want: path(vec![seq(&[65001, 4_200_000_001, 4_200_000_002, 65002])]),
        },
        R {
            name: "AS_PATH shorter than AS4_PATH: AS4_PATH ignored",
            as_path: path(vec![seq(&[T, 65002])]),
            as4_path: path(vec![seq(&[65001, 4_200_000_001, 65002])]),
            want: path(vec![seq(&[T, 65002])]),
        },
        R {
            name: "same length: AS4_PATH as is",
            as_path: path(vec![seq(&[T, 65002])]),
            as4_path: path(vec![seq(&[4_200_000_001, 65002])]),
            want: path(vec![seq(&[4_200_000_001, 65002])]),
        },
        R {
            name: "an AS_SET counts one",
            as_path: path(vec![seq(&[65001, T]), set(&[65010, T])]),
            as4_path: path(vec![seq(&[4_200_000_001]), set(&[65010, 4_200_000_002])]),
            want: path(vec![
                seq(&[65001, 4_200_000_001]),
                set(&[65010, 4_200_000_002]),
            ]),
        },
        R {
            name: "a whole AS_SET taken from AS_PATH",
            as_path: path(vec![set(&[65010, 65011]), seq(&[T])]),
            as4_path: path(vec![seq(&[4_200_000_001])]),
            want: path(vec![set(&[65010, 65011]), seq(&[4_200_000_001])]),
        },
        R {
            name: "a leading confederation segment is kept",
            as_path: path(vec![confed(&[65100]), seq(&[T, 65002])]),
            as4_path: path(vec![seq(&[4_200_000_001, 65002])]),
            want: path(vec![confed(&[65100]), seq(&[4_200_000_001, 65002])]),
        },
        R {
            name: "empty AS4_PATH: AS_PATH as is",
            as_path: path(vec![seq(&[65001, 65002])]),
            as4_path: AsPath::default(),
            want: path(vec![seq(&[65001, 65002])]),
        },
    ];
    for c in cases {
        let got = c.as_path.reconcile_as4(&c.as4_path);
        assert_eq!(got, c.want, "{}", c.name);
        // The reconciled path has as many ASes as AS_PATH (RFC 6793 §4.2.3).
        assert_eq!(got.path_len(), c.as_path.path_len(), "{}: length", c.name);
    }
    // From the wire: a 2-octet speaker's UPDATE with AS_PATH (AS_TRANS) and AS4_PATH.
    let body = h("0000 001a 40 01 01 00 40 02 06 02 02 5ba0 fdea c0 11 0a 02 02 fa56ea01 0000fdea");
    let d = Update::decode(&body, &ebgp2());
    assert!(d.verdict.is_clean(), "{:?}", d.verdict);
    let a = &d.update.attributes;
    let real = a
        .as_path
        .as_ref()
        .unwrap()
        .reconcile_as4(a.as4_path.as_ref().unwrap());
    assert_eq!(real, path(vec![seq(&[4_200_000_001, 65002])]));
    assert_eq!(real.first_as(), Some(4_200_000_001));
    assert_eq!(real.origin_as(), Some(65002));
}
