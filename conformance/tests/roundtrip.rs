//! Property tests of the codec: `decode(encode(x)) == x` for arbitrary well-formed messages,
//! decoding never panics, and real captured messages re-encode to a decode fixpoint.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use arbitrary::{Arbitrary, Unstructured};
use bgp_wire::nlri::NlriList;
use bgp_wire::open::AddPathMode;
use bgp_wire::{
    decode_message, AsPath, Capability, Context, Family, Message, MplsLabel, OptParam,
    PathAttributes, PeerType, SegmentType, Update,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const AS_TRANS: u32 = 23456;

/// Brings a context into the range the wire can express.
fn canonical_ctx(mut c: Context) -> Context {
    c.vpn_labels = 1 + c.vpn_labels % 2;
    c
}

fn fix_path_ids(list: &mut NlriList, ctx: &Context) {
    let fix = |id: &mut Option<u32>, f: Family| {
        *id = if ctx.add_path(f) {
            Some(id.unwrap_or(0))
        } else {
            None
        };
    };
    let labels = ctx.vpn_labels();
    let fix_labels = |l: &mut bgp_wire::nlri::LabelStack| {
        l.resize(
            labels,
            MplsLabel {
                label: 0,
                tc: 0,
                bos: true,
            },
        );
    };
    match list {
        NlriList::Ipv4Unicast(v) => v
            .iter_mut()
            .for_each(|n| fix(&mut n.path_id, Family::Ipv4Unicast)),
        NlriList::Ipv6Unicast(v) => v
            .iter_mut()
            .for_each(|n| fix(&mut n.path_id, Family::Ipv6Unicast)),
        NlriList::Ipv4Vpn(v) => v.iter_mut().for_each(|n| {
            fix(&mut n.path_id, Family::Ipv4Vpn);
            fix_labels(&mut n.labels);
        }),
        NlriList::Ipv6Vpn(v) => v.iter_mut().for_each(|n| {
            fix(&mut n.path_id, Family::Ipv6Vpn);
            fix_labels(&mut n.labels);
        }),
        NlriList::L2vpnEvpn(v) => v
            .iter_mut()
            .for_each(|n| fix(&mut n.path_id, Family::L2vpnEvpn)),
        NlriList::Other { .. } => {}
    }
}

fn as2_path(p: &mut AsPath) {
    for s in &mut p.segments {
        for a in &mut s.asns {
            if *a > 0xffff {
                *a = AS_TRANS;
            }
        }
    }
}

/// What a well-formed UPDATE for `ctx` looks like: the form the decoder gives back exactly.
fn canonical_update(u: &mut Update, ctx: &Context) {
    let mut v4 = NlriList::Ipv4Unicast(std::mem::take(&mut u.withdrawn));
    fix_path_ids(&mut v4, ctx);
    if let NlriList::Ipv4Unicast(v) = v4 {
        u.withdrawn = v;
    }
    let mut v4 = NlriList::Ipv4Unicast(std::mem::take(&mut u.nlri));
    fix_path_ids(&mut v4, ctx);
    if let NlriList::Ipv4Unicast(v) = v4 {
        u.nlri = v;
    }
    let a: &mut PathAttributes = &mut u.attributes;
    if let Some(r) = &mut a.mp_reach {
        fix_path_ids(&mut r.nlri, ctx);
    }
    if let Some(r) = &mut a.mp_unreach {
        fix_path_ids(&mut r.withdrawn, ctx);
    }
    // Attributes an eBGP peer may not send are discarded (RFC 7606 §7.5, §7.9, §7.10).
    if ctx.peer == PeerType::External {
        a.local_pref = None;
        a.originator_id = None;
        a.cluster_list.clear();
    }
    if ctx.four_octet_as {
        // RFC 6793 §4.1: a NEW speaker discards AS4_PATH and AS4_AGGREGATOR.
        a.as4_path = None;
        a.as4_aggregator = None;
    } else {
        if let Some(p) = &mut a.as_path {
            as2_path(p);
        }
        if let Some(g) = &mut a.aggregator {
            if g.asn > 0xffff {
                g.asn = AS_TRANS;
            }
        }
        // An empty AS4_PATH is zero-length (malformed); confederation segments are not
        // allowed in it. Both are discarded.
        if a.as4_path.as_ref().is_some_and(|p| {
            p.segments.is_empty()
                || p.segments
                    .iter()
                    .any(|s| matches!(s.kind, SegmentType::ConfedSequence | SegmentType::ConfedSet))
        }) {
            a.as4_path = None;
        }
    }
    if a.aggregator.is_some_and(|g| g.asn == 0) {
        a.aggregator = None; // RFC 7607
    }
    if a.as4_aggregator.is_some_and(|g| g.asn == 0) {
        a.as4_aggregator = None;
    }
    if a.otc == Some(0) {
        a.otc = None;
    }
    if a.prefix_sid.as_ref().is_some_and(|s| s.tlvs.is_empty()) {
        a.prefix_sid = None;
    }
    if a.pmsi_tunnel
        .as_ref()
        .is_some_and(|p| p.tunnel_type == 6 && p.tunnel_id.len() != 4 && p.tunnel_id.len() != 16)
    {
        a.pmsi_tunnel = None;
    }
    // Reachable NLRI need ORIGIN and AS_PATH, and NLRI-field routes a NEXT_HOP (RFC 7606 §3.d).
    let reach = !u.nlri.is_empty() || a.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
    if reach {
        a.origin.get_or_insert(bgp_wire::Origin::Igp);
        a.as_path.get_or_insert_with(AsPath::default);
    }
    if !u.nlri.is_empty() && a.next_hop.is_none() {
        a.next_hop = Some("192.0.2.1".parse().unwrap());
    }
}

fn canonical(msg: &mut Message, ctx: &Context) {
    match msg {
        Message::Open(o) => {
            for p in &mut o.params {
                if let OptParam::Capabilities(caps) = p {
                    for c in caps {
                        if let Capability::AddPath(entries) = c {
                            for e in entries {
                                e.mode = AddPathMode(1 + e.mode.0 % 3);
                            }
                        }
                    }
                }
            }
            o.extended_params |= o.needs_extended_params();
        }
        Message::Update(u) => canonical_update(u, ctx),
        // BoRR and EoRR carry no ORF entries (RFC 7313 §5: any other length is 7/1).
        Message::RouteRefresh(rr) if rr.subtype == 1 || rr.subtype == 2 => rr.orf.clear(),
        Message::Notification(_) | Message::Keepalive | Message::RouteRefresh(_) => {}
    }
}

/// Checks one generated case; returns the message when it was encodable and checked.
fn check_round_trip(data: &[u8]) -> Result<Option<Message>, TestCaseError> {
    let mut u = Unstructured::new(data);
    let Ok((ctx, mut msg)) = <(Context, Message)>::arbitrary(&mut u) else {
        return Ok(None);
    };
    let ctx = canonical_ctx(ctx);
    canonical(&mut msg, &ctx);
    let Ok(bytes) = msg.to_bytes(&ctx) else {
        // Too large for the context's message size, or a length field overflows.
        return Ok(None);
    };
    let got = decode_message(&bytes, &ctx)
        .map_err(|e| TestCaseError::fail(format!("{e:?} for {msg:?}")))?;
    prop_assert_eq!(
        got.verdict.action,
        None,
        "verdict for {:?}: {:?}",
        msg,
        got.verdict
    );
    prop_assert_eq!(&got.message, &msg);
    // And encoding the decoded message gives the same bytes.
    prop_assert_eq!(got.message.to_bytes(&ctx).unwrap(), bytes);
    Ok(Some(msg))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_identity(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let _ = check_round_trip(&data)?;
    }

    #[test]
    fn decode_never_panics(ctx_bytes in proptest::collection::vec(any::<u8>(), 16), body in proptest::collection::vec(any::<u8>(), 0..600), ty in 1u8..=5) {
        let ctx = Context::arbitrary(&mut Unstructured::new(&ctx_bytes)).unwrap_or_default();
        let mut msg = vec![0xff; 16];
        msg.extend_from_slice(&u16::try_from(body.len() + 19).unwrap().to_be_bytes());
        msg.push(ty);
        msg.extend_from_slice(&body);
        let r = decode_message(&msg, &ctx);
        if let Ok(rec) = r {
            if rec.verdict.is_reset() {
                prop_assert!(rec.verdict.notification.is_some());
            }
        }
        let _ = Update::decode(&body, &ctx);
    }
}

/// Most generated cases must be encodable, or the identity property above says little.
#[test]
fn round_trip_generator_mostly_produces_encodable_messages() {
    let mut rng = proptest::test_runner::TestRunner::deterministic();
    let strat = proptest::collection::vec(any::<u8>(), 200..3000);
    let mut checked = 0;
    let mut families = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for _ in 0..500 {
        let data = strat.new_tree(&mut rng).unwrap().current();
        if let Some(msg) = check_round_trip(&data).unwrap() {
            checked += 1;
            kinds.insert(msg.type_code());
            if let Message::Update(u) = &msg {
                if let Some(r) = &u.attributes.mp_reach {
                    families.insert(format!("{}", r.nlri.afi_safi()));
                }
            }
        }
    }
    assert!(
        checked > 300,
        "only {checked} of 500 generated messages were encodable"
    );
    assert_eq!(kinds.len(), 5, "message types covered: {kinds:?}");
    assert!(
        families.len() >= 5,
        "MP_REACH families covered: {families:?}"
    );
}

/// Every clean UPDATE of the corpus re-encodes to a message that decodes to the same model.
#[test]
fn corpus_messages_re_encode_to_a_fixpoint() {
    let dir = conformance::corpus_dir();
    let mut n = 0;
    for sub in ["lab", "ryu", "netgauze", "tcpdump"] {
        for e in std::fs::read_dir(dir.join("pcaps").join(sub)).unwrap() {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let Ok(cap) = bgp_capture::read_capture(&data) else {
                continue;
            };
            let mut d = router::decode::Decoder::new(Context::default(), None);
            for m in &cap.messages {
                let rec = d.captured(m);
                let (Some(msg), None) = (&rec.message, &rec.verdict) else {
                    continue;
                };
                let bytes = msg
                    .to_bytes(&Context {
                        extended_message: true,
                        ..rec.context
                    })
                    .unwrap();
                let again = decode_message(
                    &bytes,
                    &Context {
                        extended_message: true,
                        ..rec.context
                    },
                )
                .unwrap();
                assert_eq!(
                    &again.message,
                    msg,
                    "{}: packet {:?}",
                    path.display(),
                    rec.packet
                );
                n += 1;
            }
        }
    }
    assert!(n > 400, "only {n} messages checked");
}
