//! UPDATE (RFC 4271 §4.3): model, decoder with RFC 7606 verdict, encoder, End-of-RIB.

use serde::{Serialize, Serializer};

use crate::attributes::{decode_attributes, PathAttributes};
use crate::context::Context;
use crate::evpn::EvpnRoute;
use crate::nlri::{decode_nlri, push_path_id, push_prefix, Ipv4Nlri, MpUnreach, NlriList};
use crate::notification::update_error as sub;
use crate::parse::u16_;
use crate::rfc7606::{Action, Finding, RouteFinding, Verdict};
use crate::types::{AfiSafi, Family, Mac};
use crate::{community::ExtCommunity, EncodeError};

/// Serializes bytes as a hex string.
pub(crate) fn hex_bytes<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(b.len().saturating_mul(2));
    for x in b {
        out.push_str(&format!("{x:02x}"));
    }
    s.serialize_str(&out)
}

/// An UPDATE message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Update {
    /// Withdrawn IPv4 unicast routes (the Withdrawn Routes field).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withdrawn: Vec<Ipv4Nlri>,
    /// Path attributes (MP_REACH / MP_UNREACH included).
    pub attributes: PathAttributes,
    /// Reachable IPv4 unicast routes (the NLRI field).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nlri: Vec<Ipv4Nlri>,
}

/// An UPDATE as decoded, with its RFC 7606 verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecodedUpdate {
    /// The UPDATE. When the verdict is treat-as-withdraw or worse, only the NLRI (the NLRI
    /// field, withdrawn routes, MP_REACH and MP_UNREACH) are kept.
    pub update: Update,
    /// What RFC 7606 says to do with it.
    pub verdict: Verdict,
}

impl Update {
    /// An End-of-RIB marker for `afi_safi` (RFC 4724 §2): an empty UPDATE for IPv4 unicast,
    /// otherwise an UPDATE whose only attribute is an empty MP_UNREACH_NLRI.
    pub fn end_of_rib(afi_safi: AfiSafi) -> Update {
        if afi_safi == Family::Ipv4Unicast.afi_safi() {
            return Update::default();
        }
        let withdrawn = match afi_safi.family() {
            Some(f) => NlriList::empty(f),
            None => NlriList::Other {
                afi_safi,
                raw: vec![],
            },
        };
        Update {
            attributes: PathAttributes {
                mp_unreach: Some(MpUnreach { withdrawn }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// The family this UPDATE marks End-of-RIB for, if it is such a marker (either encoding).
    pub fn end_of_rib_family(&self) -> Option<AfiSafi> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        let a = &self.attributes;
        if *a == PathAttributes::default() {
            return Some(Family::Ipv4Unicast.afi_safi());
        }
        match &a.mp_unreach {
            Some(u)
                if u.withdrawn.is_empty()
                    && *a
                        == (PathAttributes {
                            mp_unreach: a.mp_unreach.clone(),
                            ..Default::default()
                        }) =>
            {
                Some(u.withdrawn.afi_safi())
            }
            _ => None,
        }
    }

    /// Decodes an UPDATE body (after the 19-byte header). Never fails: structural errors
    /// that prevent finding the NLRI are a session-reset verdict.
    pub fn decode(body: &[u8], ctx: &Context) -> DecodedUpdate {
        let mut verdict = Verdict::default();
        let mut update = Update::default();
        let reset = |verdict: &mut Verdict, subcode: u8, reason: &'static str, offset: usize| {
            verdict.add(
                Finding {
                    attribute: None,
                    action: Action::SessionReset,
                    subcode,
                    reason,
                    offset,
                },
                &[],
            );
        };
        // RFC 7606 §3.b: the two length fields must fit the message.
        let Ok((rest, wlen)) = u16_(body) else {
            reset(
                &mut verdict,
                sub::MALFORMED_ATTRIBUTE_LIST,
                "UPDATE shorter than 4 octets",
                0,
            );
            return DecodedUpdate { update, verdict };
        };
        let wlen = usize::from(wlen);
        let (Some(withdrawn), Some(rest)) = (rest.get(..wlen), rest.get(wlen..)) else {
            reset(
                &mut verdict,
                sub::MALFORMED_ATTRIBUTE_LIST,
                "withdrawn routes length overruns the message",
                0,
            );
            return DecodedUpdate { update, verdict };
        };
        let Ok((rest, alen)) = u16_(rest) else {
            reset(
                &mut verdict,
                sub::MALFORMED_ATTRIBUTE_LIST,
                "total path attribute length missing",
                wlen.saturating_add(2),
            );
            return DecodedUpdate { update, verdict };
        };
        let alen = usize::from(alen);
        let attr_base = wlen.saturating_add(4);
        let (Some(attr_bytes), Some(nlri_bytes)) = (rest.get(..alen), rest.get(alen..)) else {
            reset(
                &mut verdict,
                sub::MALFORMED_ATTRIBUTE_LIST,
                "total path attribute length overruns the message",
                attr_base.saturating_sub(2),
            );
            return DecodedUpdate { update, verdict };
        };
        let nlri_base = attr_base.saturating_add(alen);
        let v4 = Family::Ipv4Unicast.afi_safi();

        // RFC 7606 §3.i / §3.j: both prefix fields must parse, or the session resets.
        match decode_nlri(v4, ctx, withdrawn) {
            Ok((_, d)) => {
                if let NlriList::Ipv4Unicast(v) = d.list {
                    update.withdrawn = v;
                }
            }
            Err(_) => reset(
                &mut verdict,
                sub::INVALID_NETWORK_FIELD,
                "withdrawn routes cannot be parsed",
                2,
            ),
        }
        match decode_nlri(v4, ctx, nlri_bytes) {
            Ok((_, d)) => {
                if let NlriList::Ipv4Unicast(v) = d.list {
                    update.nlri = v;
                }
            }
            Err(_) => reset(
                &mut verdict,
                sub::INVALID_NETWORK_FIELD,
                "NLRI field cannot be parsed",
                nlri_base,
            ),
        }

        let (attributes, seen) = decode_attributes(
            attr_bytes,
            attr_base,
            !nlri_bytes.is_empty(),
            ctx,
            &mut verdict,
        );
        update.attributes = attributes;

        // RFC 9136 §3.1/§3.2 checks on type-5 routes: each failing route is withdrawn alone.
        if !verdict.withdraw_all() {
            check_type5(&update.attributes, &mut verdict);
        }

        // RFC 7606 §5.2: "if an UPDATE message is encountered that does contain path
        // attributes other than MP_UNREACH_NLRI and doesn't encode any reachable NLRI", any
        // error beyond attribute discard is a session reset. An MP_REACH_NLRI that could not
        // be decoded does encode reachable NLRI: its own rule (AFI/SAFI disable, §5.3)
        // applies and is not escalated. An AFI/SAFI disable of a malformed MP_UNREACH_NLRI
        // *is* escalated when other attributes came with it; alone (no attribute but
        // MP_UNREACH_NLRI, the End-of-RIB shape) it is not. (Fix: the previous test counted
        // only decoded routes, escalated no AFI/SAFI disable at all, and ignored the
        // "other than MP_UNREACH_NLRI" condition.)
        let reachable = !nlri_bytes.is_empty()
            || (seen.mp_reach
                && update
                    .attributes
                    .mp_reach
                    .as_ref()
                    .is_none_or(|m| !m.nlri.is_empty()))
            || verdict.skipped.iter().any(|r| r.reach);
        let beyond_discard = matches!(
            verdict.action,
            Some(Action::TreatAsWithdraw | Action::AfiSafiDisable)
        );
        if !reachable && beyond_discard && seen.other_than_mp_unreach {
            verdict.escalate(
                "malformed attribute in an UPDATE without reachable NLRI (RFC 7606 §5.2)",
                attr_base,
            );
        }
        DecodedUpdate { update, verdict }
    }

    /// Appends the UPDATE body.
    pub fn encode_body(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let ap = ctx.add_path(Family::Ipv4Unicast);
        let wl_at = out.len();
        out.extend_from_slice(&[0, 0]);
        for n in &self.withdrawn {
            push_path_id(out, ap, n.path_id);
            push_prefix(out, n.prefix.prefix_len(), &n.prefix.addr().octets());
        }
        let wl = u16::try_from(out.len().saturating_sub(wl_at).saturating_sub(2))
            .map_err(|_| EncodeError::TooLong("withdrawn routes"))?;
        crate::open::set_u16(out, wl_at, wl);
        let al_at = out.len();
        out.extend_from_slice(&[0, 0]);
        self.attributes.encode(ctx, out)?;
        let al = u16::try_from(out.len().saturating_sub(al_at).saturating_sub(2))
            .map_err(|_| EncodeError::TooLong("path attributes"))?;
        crate::open::set_u16(out, al_at, al);
        for n in &self.nlri {
            push_path_id(out, ap, n.path_id);
            push_prefix(out, n.prefix.prefix_len(), &n.prefix.addr().octets());
        }
        Ok(())
    }
}

fn check_type5(attrs: &PathAttributes, verdict: &mut Verdict) {
    let Some(reach) = &attrs.mp_reach else { return };
    let NlriList::L2vpnEvpn(routes) = &reach.nlri else {
        return;
    };
    let rmac: Option<Mac> = attrs.ext_communities.iter().find_map(|c| match c {
        ExtCommunity::RouterMac(m) => Some(*m),
        _ => None,
    });
    for (index, n) in routes.iter().enumerate() {
        let EvpnRoute::IpPrefix(r) = &n.route else {
            continue;
        };
        let gw_zero = r.gateway.is_unspecified();
        let reason = if !r.esi.is_zero() && !gw_zero {
            Some("type-5 with both ESI and gateway overlay index (RFC 9136 §3.2)")
        } else if rmac.is_some_and(|m| m.is_multicast()) {
            Some("type-5 with a multicast or broadcast Router's MAC")
        } else if r.esi.is_zero()
            && gw_zero
            && rmac.is_none_or(|m| m.is_zero())
            && r.label.raw() == 0
        {
            Some("type-5 with no overlay index, no Router's MAC and label 0 (RFC 9136 §3.1)")
        } else {
            None
        };
        if let Some(reason) = reason {
            verdict
                .withdrawn_routes
                .push(RouteFinding { index, reason });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_rib_both_forms() {
        let ctx = Context::default();
        // IPv4: 0000 0000.
        let d = Update::decode(&[0, 0, 0, 0], &ctx);
        assert!(d.verdict.is_clean());
        assert_eq!(
            d.update.end_of_rib_family(),
            Some(Family::Ipv4Unicast.afi_safi())
        );
        // EVPN, FRR's short form: 0000 0006 800f03 0019 46.
        let short = hex::decode("00000006800f03001946").unwrap_or_default();
        let d = Update::decode(&short, &ctx);
        assert!(d.verdict.is_clean(), "{:?}", d.verdict);
        assert_eq!(
            d.update.end_of_rib_family(),
            Some(Family::L2vpnEvpn.afi_safi())
        );
        let mut out = Vec::new();
        Update::end_of_rib(Family::L2vpnEvpn.afi_safi())
            .encode_body(&ctx, &mut out)
            .unwrap_or_default();
        assert_eq!(out, short);
        // Extended-length form: 0000 0007 900f 0003 0019 46.
        let long = hex::decode("00000007900f0003001946").unwrap_or_default();
        let d = Update::decode(&long, &ctx);
        assert_eq!(
            d.update.end_of_rib_family(),
            Some(Family::L2vpnEvpn.afi_safi())
        );
        // Labeled unicast (1/4), a family we do not model: still recognised.
        let lu = hex::decode("00000007900f0003000104").unwrap_or_default();
        assert_eq!(
            Update::decode(&lu, &ctx).update.end_of_rib_family(),
            Some(AfiSafi::new(1, 4))
        );
    }
}
