//! The property checks behind every fuzz target of perouterd.
//!
//! Each `fuzz_targets/<name>.rs` is one line: `perouterd_fuzz::<name>(data)`. This file holds
//! the whole logic, byte-input parsing included, so that a crash file found by libFuzzer
//! replays exactly the same way elsewhere. `conformance/tests/fuzz_regressions.rs` compiles
//! this very file (`#[path = "../../fuzz/src/lib.rs"]`) and runs every file under
//! `fuzz/regressions/<target>/` and `fuzz/seeds/<target>/` through [`run`].
//!
//! It depends on `bgp-wire` (feature `arbitrary`), `bgp-capture` and `arbitrary` only, never
//! on libfuzzer-sys. Checks fail with `assert!`/`panic!`, which libFuzzer reports as a crash.
//!
//! Input layout: most targets start with an arbitrary [`Context`] (9 octets: four_octet_as,
//! add_path, extended_message, extended_next_hop, peer as a little-endian u32 choice,
//! vpn_labels; `01 00 00 00 00000000 01` is `Context::default()`), followed by the bytes to
//! decode. See `fuzz/seeds/README.md`.

#![forbid(unsafe_code)]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use arbitrary::{Arbitrary, Unstructured};
use bgp_wire::evpn::{decode_evpn, EvpnDecoded, EvpnRoute};
use bgp_wire::message::HEADER_LEN;
use bgp_wire::nlri::decode_nlri;
use bgp_wire::open::Open;
use bgp_wire::update::Update;
use bgp_wire::{
    decode_message, frame, Action, Context, Family, Framer, Message, PathAttributes, Received,
    Verdict,
};

/// Every fuzz target, by name (the names of `fuzz_targets/*.rs` and of the seed directories).
pub const TARGETS: [&str; 8] = [
    "message",
    "update",
    "nlri",
    "attributes",
    "open",
    "roundtrip",
    "encode_model",
    "capture",
];

/// Runs target `name` on `data`. Returns false for an unknown target name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "message" => message(data),
        "update" => update(data),
        "nlri" => nlri(data),
        "attributes" => attributes(data),
        "open" => open(data),
        "roundtrip" => roundtrip(data),
        "encode_model" => encode_model(data),
        "capture" => capture(data),
        _ => return false,
    }
    true
}

/// An arbitrary [`Context`] from the front of `data`, and the bytes after it.
pub fn ctx_and_rest(data: &[u8]) -> Option<(Context, &[u8])> {
    <(Context, &[u8])>::arbitrary_take_rest(Unstructured::new(data)).ok()
}

// ---------------------------------------------------------------------------------------------
// 1. message: decode_message, frame and Framer never panic, and agree with each other.

/// `(Context, bytes)`: `decode_message`, `frame` and `Framer` over the bytes.
pub fn message(data: &[u8]) {
    let Some((ctx, bytes)) = ctx_and_rest(data) else {
        return;
    };
    let decoded = decode_message(bytes, &ctx);
    let framed = frame(bytes, &ctx);
    match &framed {
        Ok(Some(len)) => {
            assert!(
                (HEADER_LEN..=ctx.max_message_len().max(4096)).contains(len),
                "frame length {len} out of range"
            );
        }
        Ok(None) => assert!(bytes.len() < HEADER_LEN, "header present but not framed"),
        Err(e) => {
            // A header error is a header error whichever function finds it.
            assert_eq!(
                decoded.as_ref().err(),
                Some(e),
                "frame and decode_message disagree"
            );
        }
    }
    if let Ok(r) = &decoded {
        // Only a whole message decodes.
        assert_eq!(
            framed,
            Ok(Some(bytes.len())),
            "decoded a message frame rejects"
        );
        check_received(r, bytes.len());
    }

    let mut framer = Framer::new(bytes, ctx);
    let mut consumed = 0usize;
    let mut failed = false;
    for item in &mut framer {
        match item {
            Ok(msg) => {
                assert!(
                    msg.len() >= HEADER_LEN,
                    "framed a message shorter than a header"
                );
                consumed += msg.len();
                if let Ok(r) = decode_message(msg, &ctx) {
                    check_received(&r, msg.len());
                }
            }
            Err(_) => failed = true,
        }
    }
    if failed {
        assert!(
            framer.remainder().is_empty(),
            "framer kept bytes after a header error"
        );
    } else {
        assert_eq!(
            consumed + framer.remainder().len(),
            bytes.len(),
            "framer lost or duplicated bytes"
        );
        // The framer stops at a tail without a whole header, or whose message is not all there.
        let tail = framer.remainder();
        match frame(tail, &ctx) {
            Ok(None) => {}
            Ok(Some(len)) => assert!(len > tail.len(), "framer stopped before a complete message"),
            Err(e) => panic!("framer stopped before a header error it did not report: {e:?}"),
        }
    }
}

fn check_received(r: &Received, msg_len: usize) {
    if let Message::Update(u) = &r.message {
        // Offsets are shifted by the header in decode_message.
        check_verdict(&r.verdict, &u.attributes, msg_len, u);
    } else {
        assert_eq!(r.verdict, Verdict::default(), "verdict on a non-UPDATE");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. update: the RFC 7606 verdict invariants.

/// `(Context, body)`: `Update::decode` and the verdict invariants.
pub fn update(data: &[u8]) {
    let Some((ctx, body)) = ctx_and_rest(data) else {
        return;
    };
    let d = Update::decode(body, &ctx);
    check_verdict(&d.verdict, &d.update.attributes, body.len(), &d.update);
}

/// Invariants of a verdict over a body (or message) of `len` octets.
pub fn check_verdict(v: &Verdict, attrs: &PathAttributes, len: usize, update: &Update) {
    if v.is_reset() {
        assert!(
            v.notification.is_some(),
            "session reset without a NOTIFICATION: {v:?}"
        );
    }
    if v.action >= Some(Action::AfiSafiDisable) {
        assert!(
            v.notification.is_some(),
            "AFI/SAFI disable without a NOTIFICATION: {v:?}"
        );
    }
    if v.withdraw_all() {
        let only_mp = PathAttributes {
            mp_reach: attrs.mp_reach.clone(),
            mp_unreach: attrs.mp_unreach.clone(),
            ..Default::default()
        };
        assert_eq!(attrs, &only_mp, "treat-as-withdraw kept attributes: {v:?}");
    }
    for f in &v.findings {
        assert!(
            f.offset <= len,
            "finding offset {} beyond {len}: {f:?}",
            f.offset
        );
    }
    // The action is the strongest finding's.
    assert_eq!(
        v.action,
        v.findings.iter().map(|f| f.action).max(),
        "action is not the strongest finding: {v:?}"
    );
    if v.action == Some(Action::AfiSafiDisable) {
        assert!(
            !v.disable.is_empty(),
            "AFI/SAFI disable names no family: {v:?}"
        );
    }
    let reach = update
        .attributes
        .mp_reach
        .as_ref()
        .map_or(0, |m| m.nlri.len());
    for r in &v.withdrawn_routes {
        assert!(
            r.index < reach,
            "withdrawn route index {} of {reach}",
            r.index
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. nlri: decode_nlri for every modelled family, decode_evpn; re-encoding is a fixpoint.

/// `(family byte, Context, bytes)`: `decode_nlri` and `decode_evpn`.
pub fn nlri(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (Ok(pick), Ok(ctx)) = (u.arbitrary::<u8>(), u.arbitrary::<Context>()) else {
        return;
    };
    let bytes = u.take_rest();
    let family = Family::ALL[usize::from(pick) % Family::ALL.len()];
    let afi_safi = family.afi_safi();
    if let Ok((rest, d)) = decode_nlri(afi_safi, &ctx, bytes) {
        assert!(rest.is_empty(), "decode_nlri left {} octets", rest.len());
        assert_eq!(
            d.list.afi_safi(),
            afi_safi,
            "decoded list of another family"
        );
        // Re-encoding what was decoded decodes to the same routes (skipped EVPN route types are
        // not in the list, and host bits were cleared by the first decode).
        let mut out = Vec::new();
        d.list.encode(&ctx, &mut out);
        match decode_nlri(afi_safi, &ctx, &out) {
            Ok((_, again)) => assert_eq!(again.list, d.list, "NLRI re-encode is not a fixpoint"),
            Err(e) => panic!("re-encoded NLRI does not decode: {e:?} {out:02x?}"),
        }
    }
    if let Ok((rest, EvpnDecoded::Route(route))) = decode_evpn(bytes) {
        let consumed = bytes.len() - rest.len();
        let mut out = Vec::new();
        route.encode(&mut out);
        assert_eq!(
            out.len(),
            consumed,
            "EVPN route re-encodes to another length"
        );
        match decode_evpn(&out) {
            Ok((r, EvpnDecoded::Route(again))) => {
                assert!(r.is_empty());
                assert_eq!(again, route, "EVPN route re-encode is not a fixpoint");
            }
            other => panic!("re-encoded EVPN route does not decode: {other:?}"),
        }
        check_evpn_route(&route);
    }
}

fn check_evpn_route(route: &EvpnRoute) {
    if let EvpnRoute::IpPrefix(r) = route {
        // RFC 9136 §3.1: the gateway is of the prefix's family.
        assert_eq!(
            r.prefix.addr().is_ipv4(),
            r.gateway.is_ipv4(),
            "type-5 prefix and gateway of different families"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4. attributes: an UPDATE whose attribute field is the input.

/// `(Context, attribute field)`: an UPDATE body `0000 LLLL <attributes>`, decoded, with the
/// verdict invariants, and when clean the encode/decode fixpoint.
pub fn attributes(data: &[u8]) {
    let Some((ctx, attrs)) = ctx_and_rest(data) else {
        return;
    };
    let attrs = &attrs[..attrs.len().min(usize::from(u16::MAX) - 4)];
    let mut body = Vec::with_capacity(attrs.len() + 4);
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&u16::try_from(attrs.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(attrs);
    let d = Update::decode(&body, &ctx);
    check_verdict(&d.verdict, &d.update.attributes, body.len(), &d.update);
    assert!(d.update.withdrawn.is_empty() && d.update.nlri.is_empty());
    if stable_candidate(&d.verdict) {
        let mut again = Vec::new();
        if d.update.encode_body(&ctx, &mut again).is_ok() {
            let d2 = Update::decode(&again, &ctx);
            assert_eq!(
                d2.update, d.update,
                "attributes: decode/encode/decode changed the model"
            );
            assert_eq!(
                comparable(&d2.verdict),
                comparable(&d.verdict),
                "attributes: decode/encode/decode changed the verdict"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. open: decode, validate, re-encode, decode again.

/// OPEN body: decode; when it decodes, `validate`, `needs_extended_params`, `encode_body` and a
/// second decode that must give the same OPEN (unless encoding fails with an EncodeError).
pub fn open(data: &[u8]) {
    let Ok(o) = Open::decode(data) else {
        return;
    };
    let _ = o.validate();
    let _ = o.needs_extended_params();
    let mut out = Vec::new();
    if o.encode_body(&mut out).is_err() {
        return;
    }
    match Open::decode(&out) {
        Ok(again) => assert_eq!(again, o, "OPEN decode/encode/decode changed it: {out:02x?}"),
        Err(e) => panic!("re-encoded OPEN does not decode: {e:?} {out:02x?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 6. roundtrip: decode -> encode -> decode is stable.

/// Whether a verdict is clean enough that re-encoding must reproduce it: no finding at all.
/// (EVPN routes of unmodelled types are skipped, not modelled, so they cannot survive a
/// re-encode: [`comparable`] leaves them out of the comparison.)
pub fn stable_candidate(v: &Verdict) -> bool {
    v.is_clean()
}

/// The part of a verdict that must survive decode -> encode -> decode.
pub fn comparable(v: &Verdict) -> Verdict {
    let mut c = v.clone();
    c.skipped.clear();
    c
}

/// `(Context, message)`: when it decodes (an UPDATE with a clean verdict), encoding it with the
/// same context and decoding again gives the same message and verdict.
pub fn roundtrip(data: &[u8]) {
    let Some((ctx, bytes)) = ctx_and_rest(data) else {
        return;
    };
    let Ok(first) = decode_message(bytes, &ctx) else {
        return;
    };
    assert_fixpoint(&first, &ctx);
}

/// `first` (a decode result): re-encoding it under `ctx` and decoding again gives it back.
/// Encoding may fail with an EncodeError (the canonical form can be longer); then nothing is
/// checked.
pub fn assert_fixpoint(first: &Received, ctx: &Context) {
    if !stable_candidate(&first.verdict) {
        return;
    }
    let Ok(bytes) = first.message.to_bytes(ctx) else {
        return;
    };
    match decode_message(&bytes, ctx) {
        Ok(second) => {
            assert_eq!(
                second.message, first.message,
                "decode/encode/decode changed the message: {bytes:02x?}"
            );
            assert_eq!(
                comparable(&second.verdict),
                comparable(&first.verdict),
                "decode/encode/decode changed the verdict: {bytes:02x?}"
            );
        }
        Err(e) => panic!("re-encoded message does not decode: {e:?} {bytes:02x?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 7. encode_model: arbitrary models encode to well-framed messages.

/// Arbitrary `(Context, Message)`: when it encodes, the bytes frame to their own length and
/// decode without a Message Header Error; a clean decode is a fixpoint of encode/decode.
pub fn encode_model(data: &[u8]) {
    let Ok((ctx, msg)) = <(Context, Message)>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let Ok(bytes) = msg.to_bytes(&ctx) else {
        return;
    };
    assert_eq!(
        frame(&bytes, &ctx),
        Ok(Some(bytes.len())),
        "encoded message does not frame to its length"
    );
    assert_eq!(bytes.get(18), Some(&msg.type_code()));
    match decode_message(&bytes, &ctx) {
        Ok(first) => {
            assert_eq!(first.message.type_code(), msg.type_code());
            // Not `first.message == msg`: the model can hold values the context cannot carry
            // (4-octet ASNs in a 2-octet session, path ids without ADD-PATH, ...).
            assert_fixpoint(&first, &ctx);
        }
        Err(e) => {
            let header = e.notification.as_ref().is_some_and(|n| n.code == 1);
            assert!(
                !header,
                "encoded message has a header error: {e:?} {bytes:02x?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 8. capture: read_capture never panics or hangs.

/// Capture file bytes: `bgp_capture::read_capture`. Every extracted message is at least a
/// header long, as documented.
pub fn capture(data: &[u8]) {
    if let Ok(c) = bgp_capture::read_capture(data) {
        for m in &c.messages {
            assert!(
                m.bytes.len() >= HEADER_LEN,
                "captured message shorter than a header"
            );
            assert!(m.msg_type().is_some());
        }
    }
}
