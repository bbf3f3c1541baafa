//! Every capture of the shared conformance corpus decodes; its decode matches a golden JSON
//! file; and specific facts stated by the corpus's sources hold.
//!
//! Golden files live in `conformance/golden/` (one JSON record per message, as
//! `perouterctl decode` prints them). After a deliberate change of the output, regenerate them
//! with `PEROUTER_OVERWRITE=1 cargo test -p conformance --test corpus` and review the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use bgp_wire::nlri::{NextHop, NlriList};
use bgp_wire::{Action, Context, EvpnRoute, ExtCommunity, Family, FamilySet, Message, Update};
use conformance::corpus_dir;
use router::decode::{decode_capture, Decoder, Record};

/// The context for captures that carry no (or only one) OPEN, from what their sources say.
fn context_for(rel: &str) -> Context {
    let mut ctx = Context::default();
    match rel {
        // Old 2-octet-AS sessions captured without their OPENs.
        "tcpdump/bgp-aigp-2.pcap"
        | "tcpdump/bgp-rt-prefix.pcap"
        | "tcpdump/mpbgp-linklocal-nexthop.pcap" => {
            ctx.four_octet_as = false;
        }
        // ADD-PATH sessions captured without their OPENs.
        "tcpdump/bgp-addpath.pcap" => ctx.add_path = FamilySet::all(),
        "netgauze/bmp_vpnv4-stateless-with-withdraw_vpnv4-stateless-with-withdraw.pcap" => {
            ctx.add_path.insert(Family::Ipv4Vpn);
        }
        // Only the Cisco side's OPEN (which advertises RFC 8950 for VPNv4) is in the capture.
        "netgauze/pmacct-tests_300-BGP-IPv6-CISCO-extNH_enc_traffic-00.pcap" => {
            ctx.extended_next_hop.insert(Family::Ipv4Vpn);
        }
        _ => {}
    }
    ctx
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("pcaps")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir.join("pcaps"))
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

fn decode_file(rel_path: &str) -> Vec<Record> {
    let dir = corpus_dir();
    let data = std::fs::read(dir.join("pcaps").join(rel_path)).unwrap();
    decode_capture(&data, context_for(rel_path), None)
        .unwrap()
        .0
}

fn jsonl(records: &[Record]) -> String {
    let mut s = String::new();
    for r in records {
        s.push_str(&serde_json::to_string(r).unwrap());
        s.push('\n');
    }
    s
}

#[test]
fn every_capture_decodes_and_matches_its_golden_file() {
    let dir = corpus_dir();
    let files = captures(&dir);
    assert!(
        files.len() >= 70,
        "expected the whole corpus, found {} captures",
        files.len()
    );
    let golden_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden");
    let overwrite = std::env::var_os("PEROUTER_OVERWRITE").is_some();
    let mut mismatches = Vec::new();
    for f in &files {
        let r = rel(&dir, f);
        let data = std::fs::read(f).unwrap();
        let (records, _warnings, _) = decode_capture(&data, context_for(&r), None)
            .unwrap_or_else(|e| panic!("{r}: not readable as a capture: {e}"));
        let text = jsonl(&records);
        let golden = golden_dir.join(format!("{r}.jsonl"));
        if overwrite {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == text => {}
            Ok(_) => mismatches.push(format!("{r}: decode differs from {}", golden.display())),
            Err(_) => mismatches.push(format!("{r}: no golden file {}", golden.display())),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} captures differ from their golden files (regenerate with PEROUTER_OVERWRITE=1 after checking):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn updates(records: &[Record]) -> Vec<&Update> {
    records
        .iter()
        .filter_map(|r| match &r.message {
            Some(Message::Update(u)) => Some(u),
            _ => None,
        })
        .collect()
}

fn evpn_reach(u: &Update) -> Vec<&EvpnRoute> {
    match u.attributes.mp_reach.as_ref().map(|m| &m.nlri) {
        Some(NlriList::L2vpnEvpn(v)) => v.iter().map(|n| &n.route).collect(),
        _ => vec![],
    }
}

#[test]
fn tcpdump_bgp_encap_type2_with_vxlan() {
    // RD 4.4.4.4:4, MAC 02:06:0a:0e:fa:f3, VNI 101, RT 65000:101, encapsulation VXLAN.
    let recs = decode_file("tcpdump/bgp-encap.pcap");
    let ups = updates(&recs);
    assert_eq!(ups.len(), 1);
    let u = ups[0];
    let routes = evpn_reach(u);
    let [EvpnRoute::MacIp(r)] = routes.as_slice() else {
        panic!("{routes:?}")
    };
    assert_eq!(r.rd.to_string(), "4.4.4.4:4");
    assert_eq!(r.mac.to_string(), "02:06:0a:0e:fa:f3");
    assert_eq!(r.label1.vni().get(), 101);
    assert_eq!(r.ip, None);
    assert!(r.esi.is_zero());
    assert_eq!(
        u.attributes.ext_communities,
        vec![
            ExtCommunity::route_target_as2(65000, 101),
            ExtCommunity::VXLAN
        ]
    );
    assert_eq!(
        u.attributes.mp_reach.as_ref().unwrap().next_hop,
        NextHop::Ipv4("4.4.4.4".parse().unwrap())
    );
    assert_eq!(u.attributes.local_pref, Some(100));
}

#[test]
fn exabgp_withdrawal_with_unknown_type_8() {
    let dir = corpus_dir();
    let hex_text = std::fs::read_to_string(dir.join("exabgp/bgp-evpn-1.hex")).unwrap();
    let body = router::decode::parse_hex(&hex_text).unwrap();
    let mut d = Decoder::new(Context::default(), None);
    let rec = d.bytes(&router::decode::with_header(2, &body));
    let Some(Message::Update(u)) = &rec.message else {
        panic!("{rec:?}")
    };
    let v = rec.verdict.as_ref().expect("the skipped route is reported");
    assert_eq!(v.action, None, "an unknown route type is not an error");
    assert_eq!(v.skipped.len(), 1);
    assert_eq!(v.skipped[0].route_type, 8);
    let Some(NlriList::L2vpnEvpn(w)) = u.attributes.mp_unreach.as_ref().map(|m| &m.withdrawn)
    else {
        panic!()
    };
    let got: Vec<(String, u32, String, Option<String>)> = w
        .iter()
        .map(|n| match &n.route {
            EvpnRoute::MacIp(r) => (
                r.rd.to_string(),
                r.eth_tag,
                r.mac.to_string(),
                r.ip.map(|i| i.to_string()),
            ),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let want = [
        ("37.44.55.55:1", 1901, "fc:15:b4:78:7b:8f", None),
        (
            "37.44.55.46:1",
            1301,
            "e8:80:88:30:8b:e9",
            Some("10.34.16.10"),
        ),
        (
            "37.44.55.55:1",
            1901,
            "fc:15:b4:78:7b:8f",
            Some("10.40.136.208"),
        ),
        (
            "37.44.55.63:1",
            1301,
            "6c:24:08:30:ed:82",
            Some("10.34.88.8"),
        ),
        ("37.44.55.35:7", 662, "f4:a7:39:d1:f0:b0", None),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), *b, c.to_string(), d.map(str::to_string)))
        .collect();
    assert_eq!(got, want);
    for n in w {
        if let EvpnRoute::MacIp(r) = &n.route {
            assert_eq!(r.label1.raw(), 0);
            assert!(r.esi.is_zero());
        }
    }
}

#[test]
fn ryu_evpn_types_and_esi_types() {
    // One UPDATE each: route types 1-5; the synthetic UPDATEs lack ORIGIN and AS_PATH, which a
    // receiver must treat as withdraw (RFC 7606 §3.d) while still finding the NLRI.
    for (file, ty) in [
        ("ryu/evpn_nlri_eth_a-d.pcap", 1u8),
        ("ryu/evpn_nlri_mac_ip_ad.pcap", 2),
        ("ryu/evpn_nlri_inc_multi_eth_tag.pcap", 3),
        ("ryu/evpn_nlri_eth_seg.pcap", 4),
        ("ryu/evpn_nlri_ip_prefix.pcap", 5),
    ] {
        let recs = decode_file(file);
        let ups = updates(&recs);
        let routes = evpn_reach(ups[0]);
        assert_eq!(routes.len(), 1, "{file}");
        assert_eq!(routes[0].route_type(), ty, "{file}");
    }
    let recs = decode_file("ryu/evpn_nlri_eth_a-d.pcap");
    let v = recs[0].verdict.as_ref().unwrap();
    assert_eq!(v.action, Some(Action::TreatAsWithdraw));
    // Type-5: GW 20.20.20.20, label 0, prefix 10.10.10.10/24 masked to 10.10.10.0/24.
    let recs = decode_file("ryu/evpn_nlri_ip_prefix.pcap");
    let routes = evpn_reach(updates(&recs)[0]);
    let EvpnRoute::IpPrefix(p) = routes[0] else {
        panic!()
    };
    assert_eq!(p.gateway.to_string(), "20.20.20.20");
    assert_eq!(p.label.raw(), 0);
    assert_eq!(p.prefix.to_string(), "10.10.10.0/24");
    // All six ESI types.
    let mut types = Vec::new();
    for f in [
        "arbitrary",
        "lacp",
        "l2_bridge",
        "mac_base",
        "router_id",
        "as_based",
    ] {
        let recs = decode_file(&format!("ryu/evpn_esi_{f}.pcap"));
        let routes = evpn_reach(updates(&recs)[0]);
        let esi = match routes[0] {
            EvpnRoute::EthernetAd(r) => r.esi,
            EvpnRoute::MacIp(r) => r.esi,
            EvpnRoute::EthernetSegment(r) => r.esi,
            EvpnRoute::IpPrefix(r) => r.esi,
            EvpnRoute::InclusiveMulticast(_) => panic!("no ESI"),
        };
        types.push(esi.esi_type());
    }
    assert_eq!(types, vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn ryu_vpnv6_with_mapped_ipv4_next_hop() {
    let recs = decode_file("ryu/bgp4-update_vpnv6.pcap");
    let u = updates(&recs)[0];
    let reach = u.attributes.mp_reach.as_ref().unwrap();
    let NextHop::VpnIpv6 { global, .. } = reach.next_hop else {
        panic!("{:?}", reach.next_hop)
    };
    assert!(global.to_ipv4_mapped().is_some(), "{global}");
    assert!(matches!(reach.nlri, NlriList::Ipv6Vpn(ref v) if !v.is_empty()));
}

#[test]
fn cisco_vpnv4_with_rfc8950_next_hop_and_srv6_sid() {
    let recs = decode_file("netgauze/pmacct-tests_300-BGP-IPv6-CISCO-extNH_enc_traffic-00.pcap");
    let ups = updates(&recs);
    assert!(
        recs.iter().all(|r| r.verdict.is_none()),
        "every UPDATE is clean with the right context"
    );
    let with_sid = ups
        .iter()
        .filter(|u| u.attributes.prefix_sid.is_some())
        .count();
    assert!(with_sid > 0);
    let first_vpn = ups
        .iter()
        .find_map(|u| match u.attributes.mp_reach.as_ref() {
            Some(m) if matches!(m.nlri, NlriList::Ipv4Vpn(_)) => Some(m),
            _ => None,
        })
        .unwrap();
    assert_eq!(first_vpn.next_hop.len(), 24);
    // The worked example of bgp-evpn-wire.md §1.13 E is among them.
    let found = ups
        .iter()
        .any(|u| match u.attributes.mp_reach.as_ref().map(|m| &m.nlri) {
            Some(NlriList::Ipv4Vpn(v)) => v.iter().any(|n| {
                n.rd.to_string() == "10.215.182.46:3" && n.prefix.to_string() == "10.231.4.0/24"
            }),
            _ => false,
        });
    assert!(found);
    // Without RFC 8950 in the context the same UPDATEs are malformed: the codec never guesses.
    let dir = corpus_dir();
    let data = std::fs::read(
        dir.join("pcaps/netgauze/pmacct-tests_300-BGP-IPv6-CISCO-extNH_enc_traffic-00.pcap"),
    )
    .unwrap();
    let (_, _, summary) = decode_capture(&data, Context::default(), None).unwrap();
    assert!(summary.malformed_updates > 0);
}

#[test]
fn netgauze_multiple_sessions_counts() {
    let recs = decode_file("netgauze/bgp_multiple-sessions_traffic.pcap");
    let count = |f: fn(&Message) -> bool| {
        recs.iter()
            .filter(|r| r.message.as_ref().is_some_and(f))
            .count()
    };
    assert_eq!(count(|m| matches!(m, Message::Open(_))), 20);
    assert_eq!(count(|m| matches!(m, Message::Update(_))), 100);
    assert_eq!(count(|m| matches!(m, Message::Keepalive)), 171);
    assert!(recs
        .iter()
        .all(|r| r.error.is_none() && r.verdict.is_none()));
    // After both OPENs the contexts are negotiated, not given.
    assert!(recs
        .iter()
        .any(|r| r.context_source == router::decode::ContextSource::Negotiated));
}

#[test]
fn lab_gobgp_frr_evpn_types_and_vpnv4() {
    let recs = decode_file("lab/gobgp_frr_evpn.pcap");
    let ups = updates(&recs);
    let mut types: Vec<u8> = ups
        .iter()
        .flat_map(|u| evpn_reach(u))
        .map(EvpnRoute::route_type)
        .collect();
    types.sort_unstable();
    types.dedup();
    assert_eq!(types, vec![2, 3, 5]);
    assert!(ups.iter().any(|u| matches!(
        u.attributes.mp_reach.as_ref().map(|m| &m.nlri),
        Some(NlriList::Ipv4Vpn(_))
    )));
    assert!(recs
        .iter()
        .any(|r| matches!(&r.message, Some(Message::Notification(n)) if n.code == 6)));
}

#[test]
fn lab_frr_type5_origination_has_rmac_and_vxlan() {
    let recs = decode_file("lab/frr_type5_origination.pcap");
    let ups = updates(&recs);
    let t5 = ups
        .iter()
        .find(|u| {
            evpn_reach(u)
                .iter()
                .any(|r| matches!(r, EvpnRoute::IpPrefix(_)))
        })
        .expect("FRR sent a type-5");
    let ecs = &t5.attributes.ext_communities;
    assert!(ecs.contains(&ExtCommunity::VXLAN));
    assert!(ecs
        .iter()
        .any(|c| matches!(c, ExtCommunity::RouterMac(m) if !m.is_zero())));
    for r in evpn_reach(t5) {
        if let EvpnRoute::IpPrefix(p) = r {
            assert!(p.esi.is_zero() && p.gateway.is_unspecified() && p.eth_tag == 0);
            assert_ne!(p.label.raw(), 0, "the L3VNI");
        }
    }
}

#[test]
fn notifications_and_route_refresh_captures() {
    let n = |file: &str| -> Vec<bgp_wire::Notification> {
        decode_file(file)
            .into_iter()
            .filter_map(|r| match r.message {
                Some(Message::Notification(n)) => Some(n),
                _ => None,
            })
            .collect()
    };
    assert!(n("tcpdump/bgp-bfd-cease.pcap")
        .iter()
        .any(|x| (x.code, x.subcode) == (6, 10)));
    let hard = n("tcpdump/bgp-cease-hard-reset.pcap");
    let hr = hard.iter().find(|x| (x.code, x.subcode) == (6, 9)).unwrap();
    assert_eq!(hr.hard_reset_inner().unwrap().unwrap().subcode, 3);
    let shut = n("tcpdump/bgp-shutdown-communication.pcapng");
    assert!(shut
        .iter()
        .any(|x| matches!(x.shutdown_message(), Some(Ok(ref t)) if !t.is_empty())));
    let rr: Vec<u8> = decode_file("tcpdump/bgp-enhanced-route-refresh-subtype.pcapng")
        .into_iter()
        .filter_map(|r| match r.message {
            Some(Message::RouteRefresh(rr)) => Some(rr.subtype),
            _ => None,
        })
        .collect();
    assert!(rr.contains(&1) && rr.contains(&2), "BoRR and EoRR: {rr:?}");
}

#[test]
fn frr_opens_rfc9072_and_capabilities() {
    let recs = decode_file("tcpdump/bgp-extended-optional-parameters-length.pcapng");
    let Some(Message::Open(o)) = &recs[0].message else {
        panic!()
    };
    assert!(o.extended_params);
    assert!(o.four_octet_as().is_some());
    let recs = decode_file("tcpdump/bgp-role.pcapng");
    let Some(Message::Open(o)) = recs
        .iter()
        .find_map(|r| r.message.as_ref().filter(|m| matches!(m, Message::Open(_))))
    else {
        panic!()
    };
    let codes: Vec<u8> = o.capabilities().map(bgp_wire::Capability::code).collect();
    for c in [1, 128, 2, 70, 65, 6, 9, 69, 73, 64, 71] {
        assert!(codes.contains(&c), "capability {c} in {codes:?}");
    }
}

#[test]
fn malformed_captures_give_verdicts_not_panics() {
    for file in [
        "tcpdump/bgp-aigp-oobr.pcap",
        "tcpdump/bgp-as-path-oobr.pcap",
        "tcpdump/bgp_mp_reach_nlri-oobr.pcap",
        "tcpdump/bgp_mvpn_6_and_7_oobr.pcap",
        "tcpdump/bgp_vpn_rt-oobr.pcap",
        "tcpdump/bgp-infinite-loop.pcap",
        "tcpdump/bgp-ub.pcap",
        "tcpdump/bgp-addpath.pcap",
        "tcpdump/bgp-bgp_capabilities_print-oobr-1.pcap",
        "tcpdump/bgp-bgp_capabilities_print-oobr-2.pcap",
        "tcpdump/bgp_pmsi_tunnel-oobr.pcap",
    ] {
        let recs = decode_file(file);
        let flagged = recs
            .iter()
            .filter(|r| r.error.is_some() || r.verdict.as_ref().is_some_and(|v| v.action.is_some()))
            .count();
        assert!(
            flagged > 0,
            "{file}: a fuzzed capture should produce at least one verdict"
        );
        for r in &recs {
            if let Some(v) = &r.verdict {
                if v.is_reset() {
                    assert!(
                        v.notification.is_some(),
                        "{file}: a reset names its NOTIFICATION"
                    );
                }
            }
        }
    }
}

#[test]
fn lu_multiple_labels_and_unknown_families_are_kept_raw() {
    let recs = decode_file("tcpdump/bgp-lu-multiple-labels.pcap");
    assert!(recs.iter().all(|r| r.error.is_none()));
    assert!(updates(&recs).iter().any(|u| matches!(
        u.attributes.mp_reach.as_ref().map(|m| &m.nlri),
        Some(NlriList::Other { .. })
    )));
}
