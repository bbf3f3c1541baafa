//! Update packing: many NLRI of one family under one attribute set, in as few UPDATEs as the
//! negotiated message size allows (4096 octets, or 65535 with RFC 8654).
//!
//! The attribute set is encoded once; routes are encoded once into one run with their
//! boundaries recorded, and each UPDATE is that fixed part plus a slice of the run. MP_REACH /
//! MP_UNREACH come first (RFC 7606 §5.1). IPv4 unicast with an IPv4 next hop uses the NLRI and
//! Withdrawn Routes fields of RFC 4271; every other case uses the MP attributes.

use crate::attributes::{code, flag, PathAttributes};
use crate::context::Context;
use crate::message::{msg_type, HEADER_LEN};
use crate::nlri::{NextHop, NlriList};
use crate::open::set_u16;
use crate::types::Family;
use crate::EncodeError;

/// Packs announcements of `routes` with attributes `attrs` (whose `mp_reach`, `mp_unreach`
/// and `next_hop` are ignored) and next hop `next_hop` into encoded UPDATE messages.
pub fn announce(
    attrs: &PathAttributes,
    next_hop: NextHop,
    routes: &NlriList,
    ctx: &Context,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut base = PathAttributes {
        mp_reach: None,
        mp_unreach: None,
        next_hop: None,
        ..attrs.clone()
    };
    let legacy =
        routes.family() == Some(Family::Ipv4Unicast) && matches!(next_hop, NextHop::Ipv4(_));
    if let (true, NextHop::Ipv4(a)) = (legacy, next_hop) {
        base.next_hop = Some(a);
    }
    let mut tail = Vec::new();
    base.encode(ctx, &mut tail)?;

    let mut run = Vec::new();
    let mut ends = Vec::new();
    routes.encode_each(ctx, &mut run, &mut ends);

    let mut head = Vec::with_capacity(64);
    head.extend_from_slice(&[0xff; 16]);
    head.extend_from_slice(&[0, 0, msg_type::UPDATE, 0, 0, 0, 0]);
    if legacy {
        // header | 0000 | attr len | attributes | NLRI
        head.extend_from_slice(&tail);
        return split_run(&head, &[], &run, &ends, ctx, |msg, _| {
            let alen =
                u16::try_from(tail.len()).map_err(|_| EncodeError::TooLong("path attributes"))?;
            set_u16(msg, HEADER_LEN.saturating_add(2), alen);
            Ok(())
        });
    }
    // header | 0000 | attr len | 90 0e LL LL afi safi nhlen nh 00 | NLRI | other attributes
    let a = routes.afi_safi();
    let mp_at = head.len();
    head.extend_from_slice(&[flag::OPTIONAL | flag::EXTENDED_LENGTH, code::MP_REACH, 0, 0]);
    head.extend_from_slice(&a.afi.to_be_bytes());
    head.push(a.safi);
    head.push(u8::try_from(next_hop.len()).unwrap_or(0));
    next_hop.encode(&mut head);
    head.push(0);
    let mp_fixed = head.len().saturating_sub(mp_at).saturating_add(tail.len());
    split_run(&head, &tail, &run, &ends, ctx, |msg, nlri_len| {
        let mp_len = mp_fixed
            .saturating_sub(tail.len())
            .saturating_sub(4)
            .saturating_add(nlri_len);
        set_u16(
            msg,
            mp_at.saturating_add(2),
            u16::try_from(mp_len).map_err(|_| EncodeError::TooLong("MP_REACH_NLRI"))?,
        );
        let alen = mp_fixed.saturating_add(nlri_len);
        set_u16(
            msg,
            HEADER_LEN.saturating_add(2),
            u16::try_from(alen).map_err(|_| EncodeError::TooLong("path attributes"))?,
        );
        Ok(())
    })
}

/// Packs withdrawals of `routes` into encoded UPDATE messages.
pub fn withdraw(routes: &NlriList, ctx: &Context) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut run = Vec::new();
    let mut ends = Vec::new();
    routes.encode_each(ctx, &mut run, &mut ends);
    let mut head = Vec::with_capacity(32);
    head.extend_from_slice(&[0xff; 16]);
    head.extend_from_slice(&[0, 0, msg_type::UPDATE, 0, 0]);
    if routes.family() == Some(Family::Ipv4Unicast) {
        // header | withdrawn len | withdrawn | 0000
        return split_run(&head, &[0, 0], &run, &ends, ctx, |msg, nlri_len| {
            set_u16(
                msg,
                HEADER_LEN,
                u16::try_from(nlri_len).map_err(|_| EncodeError::TooLong("withdrawn routes"))?,
            );
            Ok(())
        });
    }
    let a = routes.afi_safi();
    head.extend_from_slice(&[
        0,
        0,
        flag::OPTIONAL | flag::EXTENDED_LENGTH,
        code::MP_UNREACH,
        0,
        0,
    ]);
    head.extend_from_slice(&a.afi.to_be_bytes());
    head.push(a.safi);
    split_run(&head, &[], &run, &ends, ctx, |msg, nlri_len| {
        let mp_len = nlri_len.saturating_add(3);
        set_u16(
            msg,
            HEADER_LEN.saturating_add(6),
            u16::try_from(mp_len).map_err(|_| EncodeError::TooLong("MP_UNREACH_NLRI"))?,
        );
        set_u16(
            msg,
            HEADER_LEN.saturating_add(2),
            u16::try_from(mp_len.saturating_add(4))
                .map_err(|_| EncodeError::TooLong("path attributes"))?,
        );
        Ok(())
    })
}

/// Emits `head | run[a..b] | tail` messages, each as large as allowed, and patches lengths.
fn split_run(
    head: &[u8],
    tail: &[u8],
    run: &[u8],
    ends: &[usize],
    ctx: &Context,
    patch: impl Fn(&mut Vec<u8>, usize) -> Result<(), EncodeError>,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let max = ctx.max_message_len();
    let fixed = head.len().saturating_add(tail.len());
    let room = max
        .checked_sub(fixed)
        .ok_or(EncodeError::MessageTooLong { len: fixed, max })?;
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut k = 0usize;
    while k < ends.len() {
        // Take as many routes as fit.
        let mut end = start;
        while let Some(&e) = ends.get(k) {
            if e.saturating_sub(start) > room {
                break;
            }
            end = e;
            k = k.saturating_add(1);
        }
        if end == start {
            let len = ends
                .get(k)
                .map_or(0, |e| e.saturating_sub(start))
                .saturating_add(fixed);
            return Err(EncodeError::MessageTooLong { len, max });
        }
        let chunk = run.get(start..end).unwrap_or(&[]);
        let mut msg = Vec::with_capacity(fixed.saturating_add(chunk.len()));
        msg.extend_from_slice(head);
        msg.extend_from_slice(chunk);
        msg.extend_from_slice(tail);
        patch(&mut msg, chunk.len())?;
        let len = u16::try_from(msg.len()).map_err(|_| EncodeError::TooLong("message"))?;
        set_u16(&mut msg, 16, len);
        out.push(msg);
        start = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::{AsPath, Origin};
    use crate::message::{decode_message, Message};
    use crate::nlri::Ipv4Nlri;
    use std::net::Ipv4Addr;

    fn routes(n: u32) -> NlriList {
        NlriList::Ipv4Unicast(
            (0..n)
                .map(|i| {
                    let [_, a, b, _] = i.to_be_bytes();
                    Ipv4Nlri {
                        path_id: None,
                        prefix: format!("10.{a}.{b}.0/24").parse().unwrap(),
                    }
                })
                .collect(),
        )
    }

    #[test]
    fn packs_under_4096_and_decodes_back() {
        let ctx = Context::default();
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001, 65002])),
            med: Some(0),
            ..Default::default()
        };
        let msgs = announce(
            &attrs,
            NextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1)),
            &routes(3000),
            &ctx,
        )
        .unwrap();
        assert!(msgs.len() >= 3);
        let mut total = 0;
        for m in &msgs {
            assert!(m.len() <= 4096);
            let r = decode_message(m, &ctx).unwrap();
            assert!(r.verdict.is_clean(), "{:?}", r.verdict);
            let Message::Update(u) = r.message else {
                panic!()
            };
            assert_eq!(u.attributes.next_hop, Some(Ipv4Addr::new(192, 0, 2, 1)));
            total += u.nlri.len();
        }
        assert_eq!(total, 3000);
        // About 1009 /24s per 4096-octet UPDATE (performance.md §4.1).
        assert!(msgs.first().map_or(0, |m| m.len()) > 4000);

        let ext = Context {
            extended_message: true,
            ..ctx
        };
        let big = announce(
            &attrs,
            NextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1)),
            &routes(3000),
            &ext,
        )
        .unwrap();
        assert_eq!(big.len(), 1);

        let w = withdraw(&routes(3000), &ctx).unwrap();
        let n: usize = w
            .iter()
            .map(|m| match decode_message(m, &ctx).unwrap().message {
                Message::Update(u) => u.withdrawn.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(n, 3000);
    }
}
