//! Path attributes: the model, the per-attribute RFC 7606 classification and the encoder.
//!
//! Decoding walks the attribute list once. Each attribute is checked for flags, length and
//! value; a problem becomes a [`Finding`] with the action RFC 7606 §7 (and the attribute's own
//! RFC) prescribes. Once the UPDATE is treat-as-withdraw, no further attribute is used: only
//! MP_REACH / MP_UNREACH are still decoded, because the NLRI must be found to be withdrawn.
//! The model keeps one slot per attribute, so duplicates keep the first (RFC 7606 §3.g) and
//! the encoder writes a canonical order: MP_REACH, MP_UNREACH, the modelled attributes by
//! ascending type code, then the attributes kept raw in the order received.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::community::{Community, ExtCommunity, LargeCommunity};
use crate::context::{Context, PeerType};
use crate::nlri::{decode_nlri, MpReach, MpUnreach, NextHop};
use crate::notification::update_error as sub;
use crate::parse::{split, u16_, u8_};
use crate::prefix_sid::PrefixSid;
use crate::rfc7606::{Action, Finding, SkippedRoute, Verdict};
use crate::types::{AfiSafi, Label24};
use crate::EncodeError;

/// Attribute type codes.
pub mod code {
    /// ORIGIN.
    pub const ORIGIN: u8 = 1;
    /// AS_PATH.
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP.
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC.
    pub const MED: u8 = 4;
    /// LOCAL_PREF.
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE.
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR.
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES.
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID.
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST.
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI.
    pub const MP_REACH: u8 = 14;
    /// MP_UNREACH_NLRI.
    pub const MP_UNREACH: u8 = 15;
    /// EXTENDED_COMMUNITIES.
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH.
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR.
    pub const AS4_AGGREGATOR: u8 = 18;
    /// PMSI_TUNNEL.
    pub const PMSI_TUNNEL: u8 = 22;
    /// TUNNEL_ENCAPSULATION (kept raw).
    pub const TUNNEL_ENCAPSULATION: u8 = 23;
    /// Traffic Engineering (kept raw).
    pub const TRAFFIC_ENGINEERING: u8 = 24;
    /// IPv6 Address Specific Extended Community (kept raw, length-checked).
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    /// AIGP (kept raw).
    pub const AIGP: u8 = 26;
    /// LARGE_COMMUNITY.
    pub const LARGE_COMMUNITY: u8 = 32;
    /// Only to Customer (RFC 9234).
    pub const OTC: u8 = 35;
    /// BGP Prefix-SID.
    pub const PREFIX_SID: u8 = 40;
    /// ATTR_SET (kept raw).
    pub const ATTR_SET: u8 = 128;
}

/// Attribute flag bits.
pub mod flag {
    /// Optional.
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended length.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// ORIGIN values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Origin {
    /// 0.
    Igp,
    /// 1.
    Egp,
    /// 2.
    Incomplete,
}

/// AS_PATH segment types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SegmentType {
    /// 1: AS_SET.
    Set,
    /// 2: AS_SEQUENCE.
    Sequence,
    /// 3: AS_CONFED_SEQUENCE.
    ConfedSequence,
    /// 4: AS_CONFED_SET.
    ConfedSet,
}

impl SegmentType {
    fn code(self) -> u8 {
        match self {
            SegmentType::Set => 1,
            SegmentType::Sequence => 2,
            SegmentType::ConfedSequence => 3,
            SegmentType::ConfedSet => 4,
        }
    }

    fn from_code(c: u8) -> Option<SegmentType> {
        match c {
            1 => Some(SegmentType::Set),
            2 => Some(SegmentType::Sequence),
            3 => Some(SegmentType::ConfedSequence),
            4 => Some(SegmentType::ConfedSet),
            _ => None,
        }
    }
}

/// An AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AsSegment {
    /// Segment type.
    #[serde(rename = "type")]
    pub kind: SegmentType,
    /// AS numbers (1 to 255 on the wire).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_asns))]
    pub asns: Vec<u32>,
}

#[cfg(feature = "arbitrary")]
fn arb_asns(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<u32>> {
    // AS 0 is not allowed in a path (RFC 7607).
    let n = u.int_in_range(1..=8usize)?;
    (0..n).map(|_| u.int_in_range(1..=u32::MAX)).collect()
}

/// AS_PATH or AS4_PATH.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AsPath {
    /// Segments in order.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: Vec<u32>) -> AsPath {
        if asns.is_empty() {
            AsPath::default()
        } else {
            AsPath {
                segments: vec![AsSegment {
                    kind: SegmentType::Sequence,
                    asns,
                }],
            }
        }
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2): each AS of a sequence counts
    /// one, a set counts one, confederation segments count zero.
    pub fn path_len(&self) -> usize {
        self.segments.iter().fold(0usize, |acc, s| {
            acc.saturating_add(match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
        })
    }

    /// Number of AS numbers, the count RFC 6793 §4.2.3 compares.
    fn as_count(&self) -> usize {
        self.path_len()
    }

    /// The first AS of the path (the neighbour's, for eBGP), if the path starts with a
    /// sequence.
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) => asns.first().copied(),
            _ => None,
        }
    }

    /// The originating AS: the last AS of a trailing sequence.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) => asns.last().copied(),
            _ => None,
        }
    }

    /// How many times `asn` appears (for loop detection with allowas-in).
    pub fn count(&self, asn: u32) -> usize {
        self.segments
            .iter()
            .flat_map(|s| s.asns.iter())
            .filter(|a| **a == asn)
            .count()
    }

    /// RFC 6793 §4.2.3: rebuilds the real path of a route from an OLD (2-octet) speaker out of
    /// its AS_PATH (with AS_TRANS) and AS4_PATH. If AS_PATH has fewer ASes than AS4_PATH,
    /// AS4_PATH is ignored; otherwise the leading ASes of AS_PATH are kept and the rest is
    /// replaced by AS4_PATH.
    pub fn reconcile_as4(&self, as4: &AsPath) -> AsPath {
        let n = self.as_count();
        let m = as4.as_count();
        if n < m {
            return self.clone();
        }
        let mut keep = n.saturating_sub(m);
        let mut segments: Vec<AsSegment> = Vec::new();
        for seg in &self.segments {
            match seg.kind {
                // "A valid AS_CONFED_SEQUENCE or AS_CONFED_SET path segment SHALL be prepended
                // if it is either the leading path segment or is adjacent to a path segment
                // that is prepended": it counts no AS, so it is kept until the first AS that
                // is not needed. (Fix: the loop stopped as soon as no AS was needed, dropping
                // a leading confederation segment when both paths have the same length.)
                SegmentType::ConfedSequence | SegmentType::ConfedSet => segments.push(seg.clone()),
                _ if keep == 0 => break,
                SegmentType::Sequence => {
                    let take = keep.min(seg.asns.len());
                    segments.push(AsSegment {
                        kind: SegmentType::Sequence,
                        asns: seg.asns.iter().take(take).copied().collect(),
                    });
                    keep = keep.saturating_sub(take);
                }
                SegmentType::Set => {
                    segments.push(seg.clone());
                    keep = keep.saturating_sub(1);
                }
            }
        }
        // The leading ASes are prepended to AS4_PATH: a sequence meeting a sequence is one
        // segment (as FRR normalises it), so the result equals the path a 4-octet speaker
        // would have sent.
        let mut rest = as4.segments.iter().cloned();
        if let (Some(last), Some(first)) = (segments.last_mut(), as4.segments.first()) {
            if last.kind == SegmentType::Sequence && first.kind == SegmentType::Sequence {
                last.asns.extend_from_slice(&first.asns);
                rest.next();
            }
        }
        segments.extend(rest);
        AsPath { segments }
    }

    fn encode(&self, four: bool, out: &mut Vec<u8>) {
        for seg in &self.segments {
            // Segments longer than 255 ASes are split into several of the same type.
            for chunk in seg.asns.chunks(255) {
                out.push(seg.kind.code());
                out.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
                for asn in chunk {
                    if four {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let two = u16::try_from(*asn).unwrap_or(crate::open::AS_TRANS);
                        out.extend_from_slice(&two.to_be_bytes());
                    }
                }
            }
        }
    }

    fn decode(mut v: &[u8], four: bool) -> Result<AsPath, &'static str> {
        let width = if four { 4 } else { 2 };
        let mut segments = Vec::new();
        while !v.is_empty() {
            let [t, n, rest @ ..] = v else {
                return Err("as_path segment header overrun");
            };
            let kind = SegmentType::from_code(*t).ok_or("unknown as_path segment type")?;
            if *n == 0 {
                return Err("as_path segment with zero ASes");
            }
            let len = usize::from(*n).saturating_mul(width);
            let (asns, rest) = (rest.get(..len), rest.get(len..));
            let (Some(asns), Some(rest)) = (asns, rest) else {
                return Err("as_path segment overrun");
            };
            let asns = if four {
                asns.chunks_exact(4)
                    .map(|c| {
                        u32::from_be_bytes([
                            c.first().copied().unwrap_or(0),
                            c.get(1).copied().unwrap_or(0),
                            c.get(2).copied().unwrap_or(0),
                            c.get(3).copied().unwrap_or(0),
                        ])
                    })
                    .collect()
            } else {
                asns.chunks_exact(2)
                    .map(|c| {
                        u32::from(u16::from_be_bytes([
                            c.first().copied().unwrap_or(0),
                            c.get(1).copied().unwrap_or(0),
                        ]))
                    })
                    .collect()
            };
            segments.push(AsSegment { kind, asns });
            v = rest;
        }
        Ok(AsPath { segments })
    }
}

/// AGGREGATOR / AS4_AGGREGATOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Aggregator {
    /// The aggregating AS.
    pub asn: u32,
    /// The aggregating speaker's address.
    pub addr: Ipv4Addr,
}

/// PMSI Tunnel attribute (RFC 6514 §5; for EVPN IMET routes, RFC 7432 §11.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PmsiTunnel {
    /// Flags (0x01: leaf information required).
    pub flags: u8,
    /// Tunnel type (6 = ingress replication).
    pub tunnel_type: u8,
    /// MPLS label or, for VXLAN, the VNI.
    pub label: Label24,
    /// Tunnel identifier (for ingress replication: the VTEP address, 4 or 16 octets).
    #[serde(serialize_with = "crate::update::hex_bytes")]
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_tunnel_id))]
    pub tunnel_id: Vec<u8>,
}

#[cfg(feature = "arbitrary")]
fn arb_tunnel_id(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let n = match u.choose_index(3)? {
        0 => 0usize,
        1 => 4,
        _ => 16,
    };
    (0..n).map(|_| u.arbitrary()).collect()
}

impl PmsiTunnel {
    /// Ingress replication.
    pub const INGRESS_REPLICATION: u8 = 6;

    /// An ingress-replication tunnel to `vtep` carrying `label`, as FRR sends for type-3.
    pub fn ingress_replication(label: Label24, vtep: IpAddr) -> PmsiTunnel {
        let tunnel_id = match vtep {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        PmsiTunnel {
            flags: 0,
            tunnel_type: Self::INGRESS_REPLICATION,
            label,
            tunnel_id,
        }
    }

    /// The tunnel endpoint address, when the identifier is one.
    pub fn endpoint(&self) -> Option<IpAddr> {
        match self.tunnel_id.len() {
            4 => <[u8; 4]>::try_from(self.tunnel_id.as_slice())
                .ok()
                .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            16 => <[u8; 16]>::try_from(self.tunnel_id.as_slice())
                .ok()
                .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            _ => None,
        }
    }
}

/// An attribute this crate keeps verbatim: unknown optional ones, and known ones it does not
/// model (AIGP, tunnel encapsulation, ATTR_SET, BGP-LS, BGPsec, IPv6 extended communities…).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RawAttribute {
    /// Flags as received, without the extended-length bit.
    pub flags: u8,
    /// Type code.
    pub code: u8,
    /// Value.
    #[serde(serialize_with = "crate::update::hex_bytes")]
    pub value: Vec<u8>,
}

impl RawAttribute {
    /// Whether a speaker passing this attribute on must set Partial (unknown optional
    /// transitive, RFC 4271 §5).
    pub fn transitive(&self) -> bool {
        self.flags & flag::OPTIONAL != 0 && self.flags & flag::TRANSITIVE != 0
    }

    /// The attribute as it must be propagated: Partial set if transitive, `None` if an
    /// optional non-transitive attribute that must not be passed on.
    pub fn for_propagation(&self) -> Option<RawAttribute> {
        if self.transitive() {
            Some(RawAttribute {
                flags: self.flags | flag::PARTIAL,
                ..self.clone()
            })
        } else {
            None
        }
    }
}

/// The path attributes of an UPDATE, one slot each.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PathAttributes {
    /// ORIGIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// AS_PATH (None: absent; an empty path is present but empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_path: Option<AsPath>,
    /// NEXT_HOP.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_next_hop))]
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    /// LOCAL_PREF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub atomic_aggregate: bool,
    /// AGGREGATOR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES (empty: absent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    /// ORIGINATOR_ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (empty: absent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster_list: Vec<Ipv4Addr>,
    /// MP_REACH_NLRI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mp_unreach: Option<MpUnreach>,
    /// EXTENDED_COMMUNITIES (empty: absent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ext_communities: Vec<ExtCommunity>,
    /// AS4_PATH (only from a 2-octet-AS speaker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as4_path: Option<AsPath>,
    /// AS4_AGGREGATOR (only from a 2-octet-AS speaker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as4_aggregator: Option<Aggregator>,
    /// PMSI_TUNNEL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmsi_tunnel: Option<PmsiTunnel>,
    /// LARGE_COMMUNITY (empty: absent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub large_communities: Vec<LargeCommunity>,
    /// OTC (RFC 9234).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otc: Option<u32>,
    /// BGP Prefix-SID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_sid: Option<PrefixSid>,
    /// Attributes kept verbatim, in wire order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_raw_attrs))]
    pub other: Vec<RawAttribute>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(asn: u32) -> Option<Aggregator> {
        Some(Aggregator {
            asn,
            addr: Ipv4Addr::new(192, 0, 2, 1),
        })
    }

    #[test]
    fn as4_aggregator_reconciliation() {
        // AGGREGATOR with AS_TRANS: AS4_AGGREGATOR and AS4_PATH are used.
        let a = PathAttributes {
            as_path: Some(AsPath::sequence(vec![65001, 23456, 23456])),
            as4_path: Some(AsPath::sequence(vec![4_200_000_001, 4_200_000_002])),
            aggregator: agg(23456),
            as4_aggregator: agg(4_200_000_002),
            ..Default::default()
        };
        let (path, g) = a.reconciled_as4();
        assert_eq!(
            path,
            Some(AsPath::sequence(vec![65001, 4_200_000_001, 4_200_000_002]))
        );
        assert_eq!(g, agg(4_200_000_002));
        // AGGREGATOR with a real 2-octet AS: both AS4 attributes are ignored.
        let b = PathAttributes {
            aggregator: agg(65010),
            ..a.clone()
        };
        let (path, g) = b.reconciled_as4();
        assert_eq!(path, b.as_path);
        assert_eq!(g, agg(65010));
        // No AGGREGATOR at all: the path is still reconciled.
        let c = PathAttributes {
            aggregator: None,
            as4_aggregator: None,
            ..a
        };
        assert_eq!(
            c.reconciled_as4().0,
            Some(AsPath::sequence(vec![65001, 4_200_000_001, 4_200_000_002]))
        );
    }
}

#[cfg(feature = "arbitrary")]
fn arb_next_hop(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Option<Ipv4Addr>> {
    if u.arbitrary()? {
        Ok(Some(Ipv4Addr::new(
            u.int_in_range(1..=126)?,
            u.arbitrary()?,
            u.arbitrary()?,
            u.int_in_range(1..=254)?,
        )))
    } else {
        Ok(None)
    }
}

#[cfg(feature = "arbitrary")]
fn arb_raw_attrs(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<RawAttribute>> {
    // Distinct codes this crate keeps raw, with a flag pattern that is not an error.
    // (AIGP and ATTR_SET are kept raw too, but their values are checked, so arbitrary
    // bytes would not be well formed.)
    const CODES: [u8; 6] = [41, 99, 200, 201, 241, 250];
    let mut out = Vec::new();
    for c in CODES {
        if u.ratio(1, 4)? {
            let transitive: bool = u.arbitrary()?;
            let partial: bool = transitive && u.arbitrary()?;
            let mut flags = flag::OPTIONAL;
            if transitive {
                flags |= flag::TRANSITIVE;
            }
            if partial {
                flags |= flag::PARTIAL;
            }
            let n = u.int_in_range(1..=40usize)?;
            let value = (0..n)
                .map(|_| u.arbitrary())
                .collect::<arbitrary::Result<Vec<u8>>>()?;
            out.push(RawAttribute {
                flags,
                code: c,
                value,
            });
        }
    }
    Ok(out)
}

/// Which flags an attribute must carry, and what its malformation costs.
struct Rule {
    optional: bool,
    transitive: bool,
}

fn rule(code_: u8) -> Option<Rule> {
    let wk = Rule {
        optional: false,
        transitive: true,
    };
    let ot = Rule {
        optional: true,
        transitive: true,
    };
    let on = Rule {
        optional: true,
        transitive: false,
    };
    Some(match code_ {
        code::ORIGIN
        | code::AS_PATH
        | code::NEXT_HOP
        | code::LOCAL_PREF
        | code::ATOMIC_AGGREGATE => wk,
        code::MED
        | code::ORIGINATOR_ID
        | code::CLUSTER_LIST
        | code::MP_REACH
        | code::MP_UNREACH => on,
        code::AGGREGATOR
        | code::COMMUNITIES
        | code::EXTENDED_COMMUNITIES
        | code::AS4_PATH
        | code::AS4_AGGREGATOR
        | code::PMSI_TUNNEL
        | code::LARGE_COMMUNITY
        | code::OTC
        | code::PREFIX_SID
        | code::IPV6_EXTENDED_COMMUNITIES => ot,
        // Kept raw, but recognised: their flags are checked (RFC 7606 §3.c) rather than
        // taking a well-known-looking one for an unrecognised well-known attribute (a session
        // reset). RFC 9012 / RFC 6368: optional transitive; RFC 5543 / RFC 7311: optional
        // non-transitive.
        code::TUNNEL_ENCAPSULATION | code::ATTR_SET => ot,
        code::TRAFFIC_ENGINEERING | code::AIGP => on,
        _ => return None,
    })
}

/// The action for a malformed attribute of `code_` (RFC 7606 §7 and the attributes' RFCs).
fn malformed_action(code_: u8, peer: PeerType) -> Action {
    match code_ {
        code::ATOMIC_AGGREGATE
        | code::AGGREGATOR
        | code::AS4_PATH
        | code::AS4_AGGREGATOR
        | code::PREFIX_SID
        | code::AIGP => Action::Discard,
        code::LOCAL_PREF | code::ORIGINATOR_ID | code::CLUSTER_LIST
            if peer == PeerType::External =>
        {
            Action::Discard
        }
        code::MP_REACH | code::MP_UNREACH => Action::AfiSafiDisable,
        _ => Action::TreatAsWithdraw,
    }
}

/// The action for Attribute Flags that conflict with the attribute's definition.
///
/// RFC 7606 §3.c: an Optional or Transitive bit in conflict makes the attribute malformed and
/// the UPDATE treat-as-withdraw, "unless the specification for the attribute mandates
/// different handling for incorrect Attribute Flags": RFC 8669 §6 (Prefix-SID) and RFC 7311
/// §3.2 (AIGP) say attribute discard, RFC 7606 §5.3 says MP_REACH / MP_UNREACH reset. The
/// length rules of §7.6 / §7.7 (ATOMIC_AGGREGATE, AGGREGATOR discard) do not cover flags.
/// (Fix: those two and AS4_PATH / AS4_AGGREGATOR used their length action, discard.)
/// A Partial bit alone in conflict is not covered by §3.c; it falls under §3.e / §3.f, the
/// attribute's own action.
fn flags_action(code_: u8, ot_conflict: bool, malformed: Action) -> Action {
    match code_ {
        code::MP_REACH | code::MP_UNREACH => Action::SessionReset,
        code::PREFIX_SID | code::AIGP => Action::Discard,
        _ if ot_conflict => Action::TreatAsWithdraw,
        _ => malformed,
    }
}

fn subcode_for(code_: u8) -> u8 {
    match code_ {
        code::ORIGIN => sub::INVALID_ORIGIN,
        code::AS_PATH => sub::MALFORMED_AS_PATH,
        code::NEXT_HOP => sub::INVALID_NEXT_HOP,
        code::MP_REACH | code::MP_UNREACH => sub::OPTIONAL_ATTRIBUTE,
        c if rule(c).is_some_and(|r| r.optional) => sub::OPTIONAL_ATTRIBUTE,
        _ => sub::ATTRIBUTE_LENGTH,
    }
}

/// What the attribute walk saw besides the values, for RFC 7606 §5.2.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Seen {
    /// An MP_REACH_NLRI attribute was present, whether it could be decoded or not.
    pub(crate) mp_reach: bool,
    /// The attribute field held something other than MP_UNREACH_NLRI: another attribute,
    /// or bytes that could not be walked.
    pub(crate) other_than_mp_unreach: bool,
}

/// Walks the attribute list of an UPDATE body. `base` is the offset of `input` in the body.
/// `has_nlri_field` tells whether the UPDATE's NLRI field is non-empty (NEXT_HOP is then
/// mandatory).
pub(crate) fn decode_attributes(
    input: &[u8],
    base: usize,
    has_nlri_field: bool,
    ctx: &Context,
    verdict: &mut Verdict,
) -> (PathAttributes, Seen) {
    let mut attrs = PathAttributes::default();
    let mut seen = [false; 256];
    let mut walk = Seen::default();
    let mut i = input;
    while !i.is_empty() {
        let at = base.saturating_add(input.len().saturating_sub(i.len()));
        // RFC 7606 §4: a header or value that overruns the attribute field.
        let header: crate::parse::PResult<'_, (u8, u8, &[u8], usize)> = (|i| {
            let (r, flags) = u8_(i)?;
            let (r, code_) = u8_(r)?;
            let (r, len) = if flags & flag::EXTENDED_LENGTH != 0 {
                u16_(r)?
            } else {
                u8_(r).map(|(r, l)| (r, u16::from(l)))?
            };
            let hlen = if flags & flag::EXTENDED_LENGTH != 0 {
                4
            } else {
                3
            };
            let (r, value) = split(r, usize::from(len), "attribute length")?;
            Ok((r, (flags, code_, value, hlen)))
        })(i);
        let Ok((rest, (flags, code_, value, hlen))) = header else {
            let attr = i.get(1).copied();
            walk.other_than_mp_unreach = true;
            // RFC 7606 §4 makes an overrun treat-as-withdraw, but treat-as-withdraw needs the
            // MP_REACH / MP_UNREACH NLRI parsed (§5.3, §3.j): an overrunning MP attribute is a
            // session reset. (Fix: it was treat-as-withdraw, leaving its routes unknown.)
            let mp = matches!(attr, Some(code::MP_REACH | code::MP_UNREACH));
            verdict.add(
                Finding {
                    attribute: attr,
                    action: if mp {
                        Action::SessionReset
                    } else {
                        Action::TreatAsWithdraw
                    },
                    subcode: sub::ATTRIBUTE_LENGTH,
                    reason: if mp {
                        "MP attribute overruns the attribute field"
                    } else {
                        "attribute overruns the attribute field"
                    },
                    offset: at,
                },
                i,
            );
            break;
        };
        let raw = i.get(..i.len().saturating_sub(rest.len())).unwrap_or(i);
        let value_at = at.saturating_add(hlen);
        i = rest;

        let is_mp = code_ == code::MP_REACH || code_ == code::MP_UNREACH;
        walk.mp_reach |= code_ == code::MP_REACH;
        walk.other_than_mp_unreach |= code_ != code::MP_UNREACH;
        let slot = seen.get_mut(usize::from(code_));
        if let Some(s) = slot {
            if *s {
                if is_mp {
                    verdict.add(
                        Finding {
                            attribute: Some(code_),
                            action: Action::SessionReset,
                            subcode: sub::MALFORMED_ATTRIBUTE_LIST,
                            reason: "MP_REACH_NLRI or MP_UNREACH_NLRI repeated",
                            offset: at,
                        },
                        raw,
                    );
                } else {
                    verdict.add(
                        Finding {
                            attribute: Some(code_),
                            action: Action::Discard,
                            subcode: sub::MALFORMED_ATTRIBUTE_LIST,
                            reason: "attribute repeated; all but the first discarded",
                            offset: at,
                        },
                        raw,
                    );
                }
                continue;
            }
            *s = true;
        }
        let add = |action: Action, subcode: u8, reason: &'static str, verdict: &mut Verdict| {
            verdict.add(
                Finding {
                    attribute: Some(code_),
                    action,
                    subcode,
                    reason,
                    offset: at,
                },
                raw,
            );
        };
        let fail = |action: Action, reason: &'static str, verdict: &mut Verdict| {
            add(action, subcode_for(code_), reason, verdict);
        };
        // RFC 4271 §6.3: a length that conflicts with the type code is an Attribute Length
        // Error whatever the attribute. (Fix: length errors used the attribute's value
        // subcode, e.g. 3/6 for an ORIGIN of length 2, in an escalated NOTIFICATION.)
        let fail_len = |action: Action, reason: &'static str, verdict: &mut Verdict| {
            add(action, sub::ATTRIBUTE_LENGTH, reason, verdict);
        };

        let Some(r) = rule(code_) else {
            // Checked before the treat-as-withdraw short cut below: a session reset is
            // stronger and RFC 7606 §3.h wants the strongest action whatever the order of the
            // attributes. (Fix: an unrecognised well-known attribute after a treat-as-withdraw
            // error was skipped, so the verdict depended on attribute order.)
            if flags & flag::OPTIONAL == 0 {
                verdict.add(
                    Finding {
                        attribute: Some(code_),
                        action: Action::SessionReset,
                        subcode: sub::UNRECOGNIZED_WELL_KNOWN,
                        reason: "unrecognized well-known attribute",
                        offset: at,
                    },
                    raw,
                );
                continue;
            }
            if verdict.withdraw_all() {
                continue;
            }
            attrs.other.push(RawAttribute {
                flags: flags & (flag::OPTIONAL | flag::TRANSITIVE | flag::PARTIAL),
                code: code_,
                value: value.to_vec(),
            });
            continue;
        };

        // Once treat-as-withdraw, only the NLRI-carrying attributes matter.
        if verdict.withdraw_all() && !is_mp {
            continue;
        }
        let action = malformed_action(code_, ctx.peer);
        // Attributes that eBGP peers must not send are discarded whatever they hold, flags
        // included (checked first: a flags conflict on an attribute that is dropped anyway
        // must not withdraw the routes).
        if ctx.peer == PeerType::External
            && matches!(
                code_,
                code::LOCAL_PREF | code::ORIGINATOR_ID | code::CLUSTER_LIST
            )
        {
            fail(
                Action::Discard,
                "attribute not accepted from an external peer",
                verdict,
            );
            continue;
        }
        if ctx.four_octet_as && matches!(code_, code::AS4_PATH | code::AS4_AGGREGATOR) {
            fail(
                Action::Discard,
                "AS4 attribute from a 4-octet AS speaker (RFC 6793 §4.1)",
                verdict,
            );
            continue;
        }
        // Flags (RFC 7606 §3.c): Optional and Transitive must match the definition; Partial
        // only on optional transitive attributes.
        let o = flags & flag::OPTIONAL != 0;
        let t = flags & flag::TRANSITIVE != 0;
        let p = flags & flag::PARTIAL != 0;
        let ot_conflict = o != r.optional || t != r.transitive;
        if ot_conflict || (p && !(r.optional && r.transitive)) {
            add(
                flags_action(code_, ot_conflict, action),
                sub::ATTRIBUTE_FLAGS,
                "attribute flags conflict with the attribute's definition",
                verdict,
            );
            continue;
        }
        // RFC 7606 §4: zero length is malformed except for AS_PATH and ATOMIC_AGGREGATE.
        if value.is_empty() && code_ != code::AS_PATH && code_ != code::ATOMIC_AGGREGATE {
            if is_mp {
                fail(Action::SessionReset, "MP attribute too short", verdict);
            } else {
                fail_len(action, "zero-length attribute", verdict);
            }
            continue;
        }

        let u32v = |v: &[u8]| <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes);
        let v4 = |v: &[u8]| <[u8; 4]>::try_from(v).ok().map(Ipv4Addr::from);
        match code_ {
            code::ORIGIN => match value {
                [0] => attrs.origin = Some(Origin::Igp),
                [1] => attrs.origin = Some(Origin::Egp),
                [2] => attrs.origin = Some(Origin::Incomplete),
                [_] => fail(action, "undefined ORIGIN value", verdict),
                _ => fail_len(action, "ORIGIN length is not 1", verdict),
            },
            code::AS_PATH | code::AS4_PATH => {
                let four = code_ == code::AS4_PATH || ctx.four_octet_as;
                match AsPath::decode(value, four) {
                    // RFC 7607 §2: AS 0 in AS_PATH or AS4_PATH makes it malformed (AS_PATH:
                    // treat-as-withdraw; AS4_PATH: discard, its `action`). (Fix: only
                    // AGGREGATOR was checked.)
                    Ok(path) if path.segments.iter().any(|s| s.asns.contains(&0)) => {
                        fail(action, "AS 0 in the path (RFC 7607)", verdict)
                    }
                    Ok(path) if code_ == code::AS_PATH => attrs.as_path = Some(path),
                    Ok(path) => {
                        if path.segments.iter().any(|s| {
                            matches!(s.kind, SegmentType::ConfedSequence | SegmentType::ConfedSet)
                        }) {
                            fail(action, "AS4_PATH with confederation segments", verdict);
                        } else {
                            attrs.as4_path = Some(path);
                        }
                    }
                    Err(reason) => fail(action, reason, verdict),
                }
            }
            code::NEXT_HOP => match v4(value) {
                // RFC 4760 §3: without IPv4 NLRI in the NLRI field the NEXT_HOP is ignored, so
                // only a next hop that will be used is checked.
                Some(a) if has_nlri_field && martian_v4(a) => {
                    fail(action, "NEXT_HOP is not a usable unicast address", verdict)
                }
                Some(a) => attrs.next_hop = Some(a),
                None => fail_len(action, "NEXT_HOP length is not 4", verdict),
            },
            code::MED => match u32v(value) {
                Some(m) => attrs.med = Some(m),
                None => fail_len(action, "MULTI_EXIT_DISC length is not 4", verdict),
            },
            code::LOCAL_PREF => match u32v(value) {
                Some(m) => attrs.local_pref = Some(m),
                None => fail_len(action, "LOCAL_PREF length is not 4", verdict),
            },
            code::ATOMIC_AGGREGATE => {
                if value.is_empty() {
                    attrs.atomic_aggregate = true;
                } else {
                    fail_len(action, "ATOMIC_AGGREGATE length is not 0", verdict);
                }
            }
            code::AGGREGATOR | code::AS4_AGGREGATOR => {
                let four = code_ == code::AS4_AGGREGATOR || ctx.four_octet_as;
                let parsed = match (four, value) {
                    (true, [a, b, c, d, rest @ ..]) => v4(rest).map(|addr| Aggregator {
                        asn: u32::from_be_bytes([*a, *b, *c, *d]),
                        addr,
                    }),
                    (false, [a, b, rest @ ..]) => v4(rest).map(|addr| Aggregator {
                        asn: u32::from(u16::from_be_bytes([*a, *b])),
                        addr,
                    }),
                    _ => None,
                };
                match parsed {
                    Some(g) if g.asn == 0 => fail(action, "aggregator AS 0 (RFC 7607)", verdict),
                    Some(g) if code_ == code::AGGREGATOR => attrs.aggregator = Some(g),
                    Some(g) => attrs.as4_aggregator = Some(g),
                    None => fail_len(action, "aggregator length", verdict),
                }
            }
            code::COMMUNITIES => {
                if value.len() % 4 != 0 {
                    fail_len(action, "COMMUNITIES length not a multiple of 4", verdict);
                } else {
                    attrs.communities = value
                        .chunks_exact(4)
                        .filter_map(|c| u32v(c).map(Community))
                        .collect();
                }
            }
            code::ORIGINATOR_ID => match v4(value) {
                Some(a) => attrs.originator_id = Some(a),
                None => fail_len(action, "ORIGINATOR_ID length is not 4", verdict),
            },
            code::CLUSTER_LIST => {
                if value.len() % 4 != 0 {
                    fail_len(action, "CLUSTER_LIST length not a multiple of 4", verdict);
                } else {
                    attrs.cluster_list = value.chunks_exact(4).filter_map(v4).collect();
                }
            }
            code::EXTENDED_COMMUNITIES => {
                if value.len() % 8 != 0 {
                    fail_len(
                        action,
                        "EXTENDED_COMMUNITIES length not a multiple of 8",
                        verdict,
                    );
                } else {
                    attrs.ext_communities = value
                        .chunks_exact(8)
                        .filter_map(|c| <[u8; 8]>::try_from(c).ok().map(ExtCommunity::from_bytes))
                        .collect();
                }
            }
            code::LARGE_COMMUNITY => {
                if value.len() % 12 != 0 {
                    fail_len(
                        action,
                        "LARGE_COMMUNITY length not a multiple of 12",
                        verdict,
                    );
                } else {
                    attrs.large_communities = value
                        .chunks_exact(12)
                        .filter_map(|c| {
                            let (g, rest) = c.split_at(4);
                            let (l1, l2) = rest.split_at(4);
                            Some(LargeCommunity {
                                global: u32v(g)?,
                                local1: u32v(l1)?,
                                local2: u32v(l2)?,
                            })
                        })
                        .collect();
                }
            }
            code::OTC => match u32v(value) {
                Some(0) => fail(action, "OTC AS is 0", verdict),
                Some(a) => attrs.otc = Some(a),
                None => fail_len(action, "OTC length is not 4", verdict),
            },
            code::PMSI_TUNNEL => match value {
                [flags_, tt, l0, l1, l2, id @ ..] => {
                    if *tt == PmsiTunnel::INGRESS_REPLICATION && id.len() != 4 && id.len() != 16 {
                        fail_len(action, "PMSI ingress replication endpoint length", verdict);
                    } else {
                        attrs.pmsi_tunnel = Some(PmsiTunnel {
                            flags: *flags_,
                            tunnel_type: *tt,
                            label: Label24::from_bytes([*l0, *l1, *l2]),
                            tunnel_id: id.to_vec(),
                        });
                    }
                }
                _ => fail_len(action, "PMSI_TUNNEL shorter than 5 octets", verdict),
            },
            code::PREFIX_SID => {
                match crate::parse::parse_all(value, "prefix-sid", PrefixSid::decode) {
                    Ok(s) => attrs.prefix_sid = Some(s),
                    Err(_) => fail(action, "malformed Prefix-SID TLVs", verdict),
                }
            }
            code::MP_REACH => decode_mp_reach(value, value_at, raw, ctx, &mut attrs, verdict),
            code::MP_UNREACH => decode_mp_unreach(value, value_at, raw, ctx, &mut attrs, verdict),
            code::IPV6_EXTENDED_COMMUNITIES if value.len() % 20 != 0 => {
                fail_len(action, "length not a multiple of 20", verdict);
            }
            // Recognised attributes kept verbatim once their flags and length passed.
            _ => attrs.other.push(RawAttribute {
                flags: flags & (flag::OPTIONAL | flag::TRANSITIVE | flag::PARTIAL),
                code: code_,
                value: value.to_vec(),
            }),
        }
    }

    // RFC 7606 §3.d: missing well-known mandatory attributes.
    let has_reach = has_nlri_field || attrs.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
    if !verdict.withdraw_all() && has_reach {
        let end = base.saturating_add(input.len());
        for (missing, c, reason) in [
            (attrs.origin.is_none(), code::ORIGIN, "ORIGIN missing"),
            (attrs.as_path.is_none(), code::AS_PATH, "AS_PATH missing"),
            (
                has_nlri_field && attrs.next_hop.is_none(),
                code::NEXT_HOP,
                "NEXT_HOP missing",
            ),
        ] {
            if missing {
                verdict.add(
                    Finding {
                        attribute: Some(c),
                        action: Action::TreatAsWithdraw,
                        subcode: sub::MISSING_WELL_KNOWN,
                        reason,
                        offset: end,
                    },
                    &[c],
                );
            }
        }
    }
    if verdict.withdraw_all() {
        // Nothing but the NLRI of a treat-as-withdraw UPDATE may be used.
        attrs = PathAttributes {
            mp_reach: attrs.mp_reach,
            mp_unreach: attrs.mp_unreach,
            ..Default::default()
        };
    }
    (attrs, walk)
}

/// 0.0.0.0/8, 127/8, multicast and class E are never a usable next hop.
fn martian_v4(a: Ipv4Addr) -> bool {
    let [o, ..] = a.octets();
    o == 0 || o == 127 || o >= 224
}

fn mp_fail(
    verdict: &mut Verdict,
    attribute: u8,
    afi_safi: Option<AfiSafi>,
    reason: &'static str,
    offset: usize,
    raw: &[u8],
) {
    // Framing we cannot get past, or a family we cannot name: reset. Otherwise disable the
    // family (the session may choose to reset instead; the NOTIFICATION is in the verdict).
    let action = match afi_safi {
        Some(a) if a.family().is_some() => {
            if !verdict.disable.contains(&a) {
                verdict.disable.push(a);
            }
            Action::AfiSafiDisable
        }
        _ => Action::SessionReset,
    };
    verdict.add(
        Finding {
            attribute: Some(attribute),
            action,
            subcode: sub::OPTIONAL_ATTRIBUTE,
            reason,
            offset,
        },
        raw,
    );
}

fn decode_mp_reach(
    v: &[u8],
    at: usize,
    raw: &[u8],
    ctx: &Context,
    attrs: &mut PathAttributes,
    verdict: &mut Verdict,
) {
    let [a0, a1, safi, nh_len, rest @ ..] = v else {
        return mp_fail(
            verdict,
            code::MP_REACH,
            None,
            "MP_REACH_NLRI shorter than 5 octets",
            at,
            raw,
        );
    };
    let afi_safi = AfiSafi::new(u16::from_be_bytes([*a0, *a1]), *safi);
    let nh_len = usize::from(*nh_len);
    let (Some(nh), Some(after)) = (rest.get(..nh_len), rest.get(nh_len..)) else {
        return mp_fail(
            verdict,
            code::MP_REACH,
            None,
            "MP_REACH_NLRI next hop overruns the attribute",
            at,
            raw,
        );
    };
    let Some((_reserved, nlri)) = after.split_first() else {
        return mp_fail(
            verdict,
            code::MP_REACH,
            None,
            "MP_REACH_NLRI reserved octet missing",
            at,
            raw,
        );
    };
    if !NextHop::length_allowed(afi_safi.family(), nh_len, ctx) {
        return mp_fail(
            verdict,
            code::MP_REACH,
            Some(afi_safi),
            "MP_REACH_NLRI next-hop length not valid for the family",
            at,
            raw,
        );
    }
    let Some(next_hop) = NextHop::decode(nh) else {
        return mp_fail(
            verdict,
            code::MP_REACH,
            Some(afi_safi),
            "MP_REACH_NLRI next-hop length",
            at,
            raw,
        );
    };
    match decode_nlri(afi_safi, ctx, nlri) {
        Ok((_, d)) => {
            verdict
                .skipped
                .extend(d.skipped.iter().map(|(t, l)| SkippedRoute {
                    route_type: *t,
                    length: *l,
                    reach: true,
                }));
            attrs.mp_reach = Some(MpReach {
                next_hop,
                nlri: d.list,
            });
        }
        Err(_) => mp_fail(
            verdict,
            code::MP_REACH,
            Some(afi_safi),
            "MP_REACH_NLRI NLRI cannot be parsed",
            at,
            raw,
        ),
    }
}

fn decode_mp_unreach(
    v: &[u8],
    at: usize,
    raw: &[u8],
    ctx: &Context,
    attrs: &mut PathAttributes,
    verdict: &mut Verdict,
) {
    let [a0, a1, safi, nlri @ ..] = v else {
        return mp_fail(
            verdict,
            code::MP_UNREACH,
            None,
            "MP_UNREACH_NLRI shorter than 3 octets",
            at,
            raw,
        );
    };
    let afi_safi = AfiSafi::new(u16::from_be_bytes([*a0, *a1]), *safi);
    match decode_nlri(afi_safi, ctx, nlri) {
        Ok((_, d)) => {
            verdict
                .skipped
                .extend(d.skipped.iter().map(|(t, l)| SkippedRoute {
                    route_type: *t,
                    length: *l,
                    reach: false,
                }));
            attrs.mp_unreach = Some(MpUnreach { withdrawn: d.list });
        }
        Err(_) => mp_fail(
            verdict,
            code::MP_UNREACH,
            Some(afi_safi),
            "MP_UNREACH_NLRI NLRI cannot be parsed",
            at,
            raw,
        ),
    }
}

/// Writes one attribute: flags (extended length when needed, or when `force_ext`), code,
/// length, value.
fn put(
    out: &mut Vec<u8>,
    flags: u8,
    code_: u8,
    force_ext: bool,
    value: impl FnOnce(&mut Vec<u8>),
) -> Result<(), EncodeError> {
    let start = out.len();
    out.extend_from_slice(&[flags | flag::EXTENDED_LENGTH, code_, 0, 0]);
    value(out);
    let len = out.len().saturating_sub(start).saturating_sub(4);
    if len <= 255 && !force_ext {
        // Short form: drop the second length octet and the extended-length flag.
        out.remove(start.saturating_add(3));
        crate::open::set_u8(out, start, flags & !flag::EXTENDED_LENGTH);
        crate::open::set_u8(out, start.saturating_add(2), u8::try_from(len).unwrap_or(0));
    } else {
        let l = u16::try_from(len).map_err(|_| EncodeError::TooLong("attribute"))?;
        crate::open::set_u16(out, start.saturating_add(2), l);
    }
    Ok(())
}

const WK: u8 = flag::TRANSITIVE;
const OT: u8 = flag::OPTIONAL | flag::TRANSITIVE;
const ON: u8 = flag::OPTIONAL;

impl PathAttributes {
    /// The real AS_PATH and AGGREGATOR of a route received from a 2-octet-AS (OLD) speaker,
    /// per RFC 6793 §4.2.3: if AGGREGATOR names an AS other than AS_TRANS, AS4_AGGREGATOR and
    /// AS4_PATH are ignored; otherwise AS4_AGGREGATOR replaces AGGREGATOR and AS4_PATH is
    /// merged into AS_PATH ([`AsPath::reconcile_as4`]). From a 4-octet speaker the attributes
    /// are returned as they are (its AS4 attributes were already discarded on decode).
    pub fn reconciled_as4(&self) -> (Option<AsPath>, Option<Aggregator>) {
        let trans = u32::from(crate::open::AS_TRANS);
        if self.aggregator.is_some_and(|g| g.asn != trans) {
            return (self.as_path.clone(), self.aggregator);
        }
        let aggregator = self.as4_aggregator.or(self.aggregator);
        let path = match (&self.as_path, &self.as4_path) {
            (Some(p), Some(p4)) => Some(p.reconcile_as4(p4)),
            (p, _) => p.clone(),
        };
        (path, aggregator)
    }

    /// Appends every present attribute: MP_REACH first, MP_UNREACH next, then by type code.
    /// MP attributes carrying routes use the extended-length form, as FRR does; an empty
    /// MP_UNREACH (End-of-RIB) uses the short form.
    pub fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(r) = &self.mp_reach {
            put(out, ON, code::MP_REACH, true, |o| {
                let a = r.nlri.afi_safi();
                o.extend_from_slice(&a.afi.to_be_bytes());
                o.push(a.safi);
                o.push(u8::try_from(r.next_hop.len()).unwrap_or(0));
                r.next_hop.encode(o);
                o.push(0);
                r.nlri.encode(ctx, o);
            })?;
        }
        if let Some(u) = &self.mp_unreach {
            put(out, ON, code::MP_UNREACH, !u.withdrawn.is_empty(), |o| {
                let a = u.withdrawn.afi_safi();
                o.extend_from_slice(&a.afi.to_be_bytes());
                o.push(a.safi);
                u.withdrawn.encode(ctx, o);
            })?;
        }
        if let Some(origin) = self.origin {
            put(out, WK, code::ORIGIN, false, |o| {
                o.push(match origin {
                    Origin::Igp => 0,
                    Origin::Egp => 1,
                    Origin::Incomplete => 2,
                })
            })?;
        }
        if let Some(p) = &self.as_path {
            put(out, WK, code::AS_PATH, false, |o| {
                p.encode(ctx.four_octet_as, o)
            })?;
        }
        if let Some(nh) = self.next_hop {
            put(out, WK, code::NEXT_HOP, false, |o| {
                o.extend_from_slice(&nh.octets())
            })?;
        }
        if let Some(m) = self.med {
            put(out, ON, code::MED, false, |o| {
                o.extend_from_slice(&m.to_be_bytes())
            })?;
        }
        if let Some(lp) = self.local_pref {
            put(out, WK, code::LOCAL_PREF, false, |o| {
                o.extend_from_slice(&lp.to_be_bytes())
            })?;
        }
        if self.atomic_aggregate {
            put(out, WK, code::ATOMIC_AGGREGATE, false, |_| {})?;
        }
        if let Some(g) = self.aggregator {
            put(out, OT, code::AGGREGATOR, false, |o| {
                encode_aggregator(g, ctx.four_octet_as, o)
            })?;
        }
        if !self.communities.is_empty() {
            put(out, OT, code::COMMUNITIES, false, |o| {
                for c in &self.communities {
                    o.extend_from_slice(&c.0.to_be_bytes());
                }
            })?;
        }
        if let Some(id) = self.originator_id {
            put(out, ON, code::ORIGINATOR_ID, false, |o| {
                o.extend_from_slice(&id.octets())
            })?;
        }
        if !self.cluster_list.is_empty() {
            put(out, ON, code::CLUSTER_LIST, false, |o| {
                for c in &self.cluster_list {
                    o.extend_from_slice(&c.octets());
                }
            })?;
        }
        if !self.ext_communities.is_empty() {
            put(out, OT, code::EXTENDED_COMMUNITIES, false, |o| {
                for c in &self.ext_communities {
                    o.extend_from_slice(&c.to_bytes());
                }
            })?;
        }
        if let Some(p) = &self.as4_path {
            put(out, OT, code::AS4_PATH, false, |o| p.encode(true, o))?;
        }
        if let Some(g) = self.as4_aggregator {
            put(out, OT, code::AS4_AGGREGATOR, false, |o| {
                encode_aggregator(g, true, o)
            })?;
        }
        if let Some(p) = &self.pmsi_tunnel {
            put(out, OT, code::PMSI_TUNNEL, false, |o| {
                o.push(p.flags);
                o.push(p.tunnel_type);
                o.extend_from_slice(&p.label.to_bytes());
                o.extend_from_slice(&p.tunnel_id);
            })?;
        }
        if !self.large_communities.is_empty() {
            put(out, OT, code::LARGE_COMMUNITY, false, |o| {
                for c in &self.large_communities {
                    o.extend_from_slice(&c.global.to_be_bytes());
                    o.extend_from_slice(&c.local1.to_be_bytes());
                    o.extend_from_slice(&c.local2.to_be_bytes());
                }
            })?;
        }
        if let Some(a) = self.otc {
            put(out, OT, code::OTC, false, |o| {
                o.extend_from_slice(&a.to_be_bytes())
            })?;
        }
        if let Some(s) = &self.prefix_sid {
            put(out, OT, code::PREFIX_SID, false, |o| s.encode(o))?;
        }
        for r in &self.other {
            put(out, r.flags & !flag::EXTENDED_LENGTH, r.code, false, |o| {
                o.extend_from_slice(&r.value)
            })?;
        }
        Ok(())
    }
}

fn encode_aggregator(g: Aggregator, four: bool, o: &mut Vec<u8>) {
    if four {
        o.extend_from_slice(&g.asn.to_be_bytes());
    } else {
        o.extend_from_slice(
            &u16::try_from(g.asn)
                .unwrap_or(crate::open::AS_TRANS)
                .to_be_bytes(),
        );
    }
    o.extend_from_slice(&g.addr.octets());
}

/// Builds an [`NlriList`]-carrying MP_REACH with a next hop valid for its family.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for MpReach {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        use crate::types::{Family, RouteDistinguisher};
        let nlri: crate::nlri::NlriList = u.arbitrary()?;
        let v6 = |u: &mut arbitrary::Unstructured<'a>| -> arbitrary::Result<Ipv6Addr> {
            Ok(Ipv6Addr::from(u.arbitrary::<[u8; 16]>()?))
        };
        let next_hop = match nlri.family() {
            Some(Family::Ipv4Unicast) => NextHop::Ipv4(Ipv4Addr::new(
                u.int_in_range(1..=126)?,
                u.arbitrary()?,
                u.arbitrary()?,
                1,
            )),
            Some(Family::Ipv6Unicast) => {
                let global = v6(u)?;
                let link_local = if u.arbitrary()? { Some(v6(u)?) } else { None };
                NextHop::Ipv6 { global, link_local }
            }
            Some(Family::Ipv4Vpn) => NextHop::VpnIpv4 {
                rd: RouteDistinguisher::ZERO,
                addr: Ipv4Addr::from(u.arbitrary::<[u8; 4]>()?),
            },
            Some(Family::Ipv6Vpn) => NextHop::VpnIpv6 {
                rd: RouteDistinguisher::ZERO,
                global: v6(u)?,
                link_local: None,
            },
            Some(Family::L2vpnEvpn) => {
                if u.arbitrary()? {
                    NextHop::Ipv4(Ipv4Addr::from(u.arbitrary::<[u8; 4]>()?))
                } else {
                    NextHop::Ipv6 {
                        global: v6(u)?,
                        link_local: None,
                    }
                }
            }
            None => NextHop::Ipv4(Ipv4Addr::from(u.arbitrary::<[u8; 4]>()?)),
        };
        Ok(MpReach { next_hop, nlri })
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for RawAttribute {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(RawAttribute {
            flags: flag::OPTIONAL | flag::TRANSITIVE,
            code: 241,
            value: u.arbitrary()?,
        })
    }
}
