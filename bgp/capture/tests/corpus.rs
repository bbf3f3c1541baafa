//! Runs `read_capture` over the shared conformance corpus
//! (`$PEROUTER_CORPUS`, default `../../../shared/conformance` relative to
//! this crate).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bgp_capture::{read_capture, Capture, Carrier};

fn corpus_dir() -> PathBuf {
    let dir = match std::env::var_os("PEROUTER_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
    };
    if !dir.join("pcaps").is_dir() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "conformance corpus not found at {} (CI=true): the corpus must be present in CI",
                dir.display()
            );
        }
        panic!(
            "conformance corpus not found at {}: set PEROUTER_CORPUS to the conformance directory \
             (the one containing pcaps/)",
            dir.display()
        );
    }
    dir
}

/// Every `*.pcap` / `*.pcapng` under `dir`, sorted.
fn captures_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn read(relative: &str) -> Capture {
    let path = corpus_dir().join("pcaps").join(relative);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_capture(&data).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Message counts by BGP type (byte 18).
fn counts(cap: &Capture) -> BTreeMap<u8, usize> {
    let mut c = BTreeMap::new();
    for m in &cap.messages {
        *c.entry(m.msg_type().unwrap()).or_default() += 1;
    }
    c
}

const OPEN: u8 = 1;
const UPDATE: u8 = 2;
const NOTIFICATION: u8 = 3;
const KEEPALIVE: u8 = 4;
const ROUTE_REFRESH: u8 = 5;

#[test]
fn every_corpus_capture_is_read_without_error() {
    let files = captures_under(&corpus_dir().join("pcaps"));
    assert!(files.len() >= 50, "only {} captures found", files.len());
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let cap = read_capture(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for m in &cap.messages {
            assert!(
                m.bytes.starts_with(&[0xff; 16]),
                "{}: {m:?}",
                path.display()
            );
            let len = usize::from(u16::from_be_bytes([m.bytes[16], m.bytes[17]]));
            assert_eq!(len, m.bytes.len(), "{}", path.display());
            assert!(
                m.packet >= 1 && m.packet <= cap.packets,
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn netgauze_multiple_sessions() {
    let cap = read("netgauze/bgp_multiple-sessions_traffic.pcap");
    assert_eq!(
        counts(&cap),
        BTreeMap::from([(OPEN, 20), (UPDATE, 100), (KEEPALIVE, 171)])
    );
    assert!(cap.messages.iter().all(|m| m.carrier == Carrier::Tcp));
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn tcpdump_bgp_encap_has_exactly_one_update() {
    let cap = read("tcpdump/bgp-encap.pcap");
    assert_eq!(counts(&cap), BTreeMap::from([(UPDATE, 1)]));
}

#[test]
fn ryu_bgp4_open() {
    let cap = read("ryu/bgp4-open.pcap");
    assert_eq!(counts(&cap), BTreeMap::from([(OPEN, 1)]));
}

#[test]
fn netgauze_bmp_captures_yield_bgp_via_bmp() {
    let files: Vec<PathBuf> = captures_under(&corpus_dir().join("pcaps/netgauze"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("bmp_"))
        })
        .collect();
    assert!(!files.is_empty());
    for path in &files {
        let cap = read_capture(&std::fs::read(path).unwrap()).unwrap();
        assert!(!cap.messages.is_empty(), "{}", path.display());
        for m in &cap.messages {
            assert!(
                matches!(m.carrier, Carrier::Bmp { peer: Some(_), .. }),
                "{}: {m:?}",
                path.display()
            );
        }
        assert!(
            cap.warnings.is_empty(),
            "{}: {:?}",
            path.display(),
            cap.warnings
        );
    }
    // BMP v3 on port 1790: Peer Up (OPENs), Route Monitoring, Peer Down.
    let evpn = read("netgauze/bmp_evpn_evpn.pcap");
    assert_eq!(
        counts(&evpn),
        BTreeMap::from([(OPEN, 8), (UPDATE, 143), (NOTIFICATION, 2)])
    );
    // BMP v4 (TLVs) on port 10000.
    let vpnv4 =
        read("netgauze/bmp_vpnv4-stateless-with-withdraw_vpnv4-stateless-with-withdraw.pcap");
    assert_eq!(counts(&vpnv4), BTreeMap::from([(UPDATE, 15)]));
}

/// Counts checked against an independent script (sort segments by sequence
/// number, concatenate, split at markers) and, for the tcpdump files, the
/// packets themselves.
#[test]
fn message_counts_of_other_captures() {
    let expected: &[(&str, &[(u8, usize)])] = &[
        (
            "lab/frr_type5_origination.pcap",
            &[(OPEN, 2), (UPDATE, 5), (KEEPALIVE, 2)],
        ),
        (
            "lab/gobgp_frr_evpn.pcap",
            &[(OPEN, 2), (UPDATE, 16), (NOTIFICATION, 1), (KEEPALIVE, 2)],
        ),
        ("lab/vxlan_ping.pcap", &[]),
        // The OPEN rides on the SYN at the SYN's own sequence number.
        (
            "netgauze/pmacct-tests_300-BGP-IPv6-CISCO-extNH_enc_traffic-00.pcap",
            &[(OPEN, 1), (UPDATE, 45), (KEEPALIVE, 1)],
        ),
        (
            "tcpdump/bgp-4byte-asn.pcap",
            &[(OPEN, 8), (UPDATE, 10), (NOTIFICATION, 1), (KEEPALIVE, 16)],
        ),
        (
            "tcpdump/bgp-bgpsec.pcap",
            &[(OPEN, 4), (UPDATE, 24), (KEEPALIVE, 4)],
        ),
        (
            "tcpdump/bgp-lu-multiple-labels.pcap",
            &[(OPEN, 4), (UPDATE, 7), (NOTIFICATION, 1), (KEEPALIVE, 8)],
        ),
        (
            "tcpdump/bgp-role.pcapng",
            &[(OPEN, 1), (UPDATE, 9), (KEEPALIVE, 2)],
        ),
        (
            "tcpdump/bgp-enhanced-route-refresh-subtype.pcapng",
            &[(UPDATE, 5), (ROUTE_REFRESH, 3)],
        ),
        // Juniper Ethernet link type.
        ("tcpdump/bgp-aigp.pcap", &[(UPDATE, 2)]),
        // PPP link type.
        ("tcpdump/bgp_vpn_attrset.pcap", &[(UPDATE, 1)]),
        // Raw IP link type.
        ("tcpdump/bgp-addpath.pcap", &[(UPDATE, 1)]),
        // Hand-edited captures: one packet's sequence number reused for
        // several variants of the message.
        (
            "tcpdump/bgp-shutdown-msg-variations.pcap",
            &[(NOTIFICATION, 3)],
        ),
        (
            "tcpdump/bgp-shutdown-communication.pcapng",
            &[(NOTIFICATION, 2)],
        ),
        // Fuzz reproducer: four 19-byte UPDATEs, each followed by junk.
        ("tcpdump/bgp-infinite-loop.pcap", &[(UPDATE, 4)]),
    ];
    for (file, want) in expected {
        let cap = read(file);
        assert_eq!(
            counts(&cap),
            want.iter().copied().collect(),
            "{file}: {:?}",
            cap.warnings
        );
    }
}

/// Small xorshift PRNG for the mutation test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Randomly damaged corpus files must never make the reader panic or hang.
#[test]
fn damaged_corpus_captures_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for path in captures_under(&corpus_dir().join("pcaps")) {
        let original = std::fs::read(&path).unwrap();
        for round in 0..40 {
            let mut data = original.clone();
            if round % 4 == 0 {
                data.truncate(rng.below(data.len()));
            }
            for _ in 0..1 + rng.below(6) {
                if data.is_empty() {
                    break;
                }
                let i = rng.below(data.len());
                data[i] = match rng.below(3) {
                    0 => rng.next() as u8,
                    1 => 0xff,
                    _ => 0,
                };
            }
            if let Ok(cap) = read_capture(&data) {
                assert!(cap.messages.iter().all(|m| m.bytes.len() >= 19));
            }
        }
    }
}
