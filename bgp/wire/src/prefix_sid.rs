//! BGP Prefix-SID attribute (RFC 8669) with the SRv6 service TLVs of RFC 9252.

use std::net::Ipv6Addr;

use serde::Serialize;

use crate::parse::{array, invalid, ipv6, split, u16_, u32_, u8_, PResult};

/// The attribute: a list of TLVs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PrefixSid {
    /// TLVs in wire order. Duplicate SRv6 service TLVs are kept; RFC 9252 §7 says the
    /// receiver ignores all but the first, which is a consumer's job, not an error.
    pub tlvs: Vec<PrefixSidTlv>,
}

/// A Prefix-SID TLV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum PrefixSidTlv {
    /// Type 1: Label-Index.
    LabelIndex {
        /// Flags.
        flags: u16,
        /// Label index.
        label_index: u32,
    },
    /// Type 3: Originator SRGB.
    OriginatorSrgb {
        /// Flags.
        flags: u16,
        /// (base, range) pairs, 24 bits each.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_srgb))]
        ranges: Vec<(u32, u32)>,
    },
    /// Type 5: SRv6 L3 Service.
    Srv6L3Service(Vec<Srv6SubTlv>),
    /// Type 6: SRv6 L2 Service.
    Srv6L2Service(Vec<Srv6SubTlv>),
    /// Any other TLV.
    Unknown {
        /// TLV type.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_unknown_tlv))]
        tlv_type: u8,
        /// Value.
        value: Vec<u8>,
    },
}

#[cfg(feature = "arbitrary")]
fn arb_srgb(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<(u32, u32)>> {
    let n = u.int_in_range(0..=4usize)?;
    (0..n)
        .map(|_| {
            Ok((
                u.int_in_range(0..=0x00ff_ffff)?,
                u.int_in_range(0..=0x00ff_ffff)?,
            ))
        })
        .collect()
}

#[cfg(feature = "arbitrary")]
fn arb_unknown_tlv(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<u8> {
    Ok(match u.arbitrary::<u8>()? {
        1 | 3 | 5 | 6 => 2,
        t => t,
    })
}

/// An SRv6 service sub-TLV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Srv6SubTlv {
    /// Sub-TLV 1: SRv6 SID Information.
    SidInformation(SidInformation),
    /// Any other sub-TLV.
    Unknown {
        /// Sub-TLV type.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_not_one))]
        sub_type: u8,
        /// Value.
        value: Vec<u8>,
    },
}

#[cfg(feature = "arbitrary")]
fn arb_not_one(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<u8> {
    Ok(match u.arbitrary::<u8>()? {
        1 => 2,
        t => t,
    })
}

/// SRv6 SID Information (RFC 9252 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SidInformation {
    /// The SRv6 SID.
    pub sid: Ipv6Addr,
    /// SID flags.
    pub flags: u8,
    /// Endpoint behavior (RFC 8986 code point, e.g. 0x0013 End.DT4 uSID forms differ).
    pub endpoint_behavior: u16,
    /// Sub-sub-TLVs.
    pub sub_sub_tlvs: Vec<Srv6SubSubTlv>,
}

/// An SRv6 service data sub-sub-TLV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Srv6SubSubTlv {
    /// Type 1: SID Structure.
    SidStructure(SidStructure),
    /// Any other.
    Unknown {
        /// Type.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_not_one))]
        sub_sub_type: u8,
        /// Value.
        value: Vec<u8>,
    },
}

/// SRv6 SID Structure (RFC 9252 §3.2.1): bit lengths and the transposition of SID bits into
/// the NLRI label field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SidStructure {
    /// Locator block length.
    pub locator_block_len: u8,
    /// Locator node length.
    pub locator_node_len: u8,
    /// Function length.
    pub function_len: u8,
    /// Argument length.
    pub argument_len: u8,
    /// Transposition length.
    pub transposition_len: u8,
    /// Transposition offset.
    pub transposition_offset: u8,
}

fn tlv16(i: &[u8]) -> PResult<'_, (u8, &[u8])> {
    let (i, t) = u8_(i)?;
    let (i, len) = u16_(i)?;
    let (i, v) = split(i, usize::from(len), "prefix-sid tlv length")?;
    Ok((i, (t, v)))
}

fn each<'a, T>(
    mut i: &'a [u8],
    mut f: impl FnMut(u8, &'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    let mut out = Vec::new();
    while !i.is_empty() {
        let (rest, (t, v)) = tlv16(i)?;
        let (_, item) = f(t, v)?;
        out.push(item);
        i = rest;
    }
    Ok((i, out))
}

impl PrefixSid {
    /// Decodes the attribute value. Any error makes the attribute malformed (RFC 8669 §6:
    /// attribute discard).
    pub fn decode(v: &[u8]) -> PResult<'_, PrefixSid> {
        let (i, tlvs) = each(v, |t, val| match t {
            1 => {
                if val.len() != 7 {
                    return invalid(val, "label-index tlv length");
                }
                let (r, _reserved) = u8_(val)?;
                let (r, flags) = u16_(r)?;
                let (r, label_index) = u32_(r)?;
                Ok((r, PrefixSidTlv::LabelIndex { flags, label_index }))
            }
            3 => {
                let (r, flags) = u16_(val)?;
                if r.len() % 6 != 0 {
                    return invalid(r, "originator srgb tlv length");
                }
                let mut ranges = Vec::new();
                let mut r = r;
                while !r.is_empty() {
                    let (rr, [a, b, c, d, e, f]) = array::<6>(r)?;
                    ranges.push((
                        u32::from_be_bytes([0, a, b, c]),
                        u32::from_be_bytes([0, d, e, f]),
                    ));
                    r = rr;
                }
                Ok((r, PrefixSidTlv::OriginatorSrgb { flags, ranges }))
            }
            5 | 6 => {
                let (r, _reserved) = u8_(val)?;
                let (r, subs) = each(r, |st, sv| {
                    if st != 1 {
                        return Ok((
                            &[][..],
                            Srv6SubTlv::Unknown {
                                sub_type: st,
                                value: sv.to_vec(),
                            },
                        ));
                    }
                    let (s, _r1) = u8_(sv)?;
                    let (s, sid) = ipv6(s)?;
                    let (s, flags) = u8_(s)?;
                    let (s, endpoint_behavior) = u16_(s)?;
                    let (s, _r2) = u8_(s)?;
                    let (s, sub_sub_tlvs) = each(s, |sst, ssv| {
                        if sst == 1 {
                            let (x, [a, b, c, d, e, f]) = array::<6>(ssv)?;
                            if !x.is_empty() {
                                return invalid(x, "sid structure length");
                            }
                            Ok((
                                x,
                                Srv6SubSubTlv::SidStructure(SidStructure {
                                    locator_block_len: a,
                                    locator_node_len: b,
                                    function_len: c,
                                    argument_len: d,
                                    transposition_len: e,
                                    transposition_offset: f,
                                }),
                            ))
                        } else {
                            Ok((
                                &[][..],
                                Srv6SubSubTlv::Unknown {
                                    sub_sub_type: sst,
                                    value: ssv.to_vec(),
                                },
                            ))
                        }
                    })?;
                    Ok((
                        s,
                        Srv6SubTlv::SidInformation(SidInformation {
                            sid,
                            flags,
                            endpoint_behavior,
                            sub_sub_tlvs,
                        }),
                    ))
                })?;
                Ok((
                    r,
                    if t == 5 {
                        PrefixSidTlv::Srv6L3Service(subs)
                    } else {
                        PrefixSidTlv::Srv6L2Service(subs)
                    },
                ))
            }
            other => Ok((
                &[][..],
                PrefixSidTlv::Unknown {
                    tlv_type: other,
                    value: val.to_vec(),
                },
            )),
        })?;
        Ok((i, PrefixSid { tlvs }))
    }

    /// Appends the attribute value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for tlv in &self.tlvs {
            let (t, start) = match tlv {
                PrefixSidTlv::LabelIndex { .. } => (1u8, out.len()),
                PrefixSidTlv::OriginatorSrgb { .. } => (3, out.len()),
                PrefixSidTlv::Srv6L3Service(_) => (5, out.len()),
                PrefixSidTlv::Srv6L2Service(_) => (6, out.len()),
                PrefixSidTlv::Unknown { tlv_type, .. } => (*tlv_type, out.len()),
            };
            out.extend_from_slice(&[t, 0, 0]);
            match tlv {
                PrefixSidTlv::LabelIndex { flags, label_index } => {
                    out.push(0);
                    out.extend_from_slice(&flags.to_be_bytes());
                    out.extend_from_slice(&label_index.to_be_bytes());
                }
                PrefixSidTlv::OriginatorSrgb { flags, ranges } => {
                    out.extend_from_slice(&flags.to_be_bytes());
                    for (base, range) in ranges {
                        let [_, a, b, c] = base.to_be_bytes();
                        let [_, d, e, f] = range.to_be_bytes();
                        out.extend_from_slice(&[a, b, c, d, e, f]);
                    }
                }
                PrefixSidTlv::Srv6L3Service(subs) | PrefixSidTlv::Srv6L2Service(subs) => {
                    out.push(0);
                    for s in subs {
                        encode_sub(s, out);
                    }
                }
                PrefixSidTlv::Unknown { value, .. } => out.extend_from_slice(value),
            }
            patch_len16(out, start);
        }
    }
}

fn encode_sub(s: &Srv6SubTlv, out: &mut Vec<u8>) {
    let start = out.len();
    match s {
        Srv6SubTlv::SidInformation(info) => {
            out.extend_from_slice(&[1, 0, 0, 0]);
            out.extend_from_slice(&info.sid.octets());
            out.push(info.flags);
            out.extend_from_slice(&info.endpoint_behavior.to_be_bytes());
            out.push(0);
            for ss in &info.sub_sub_tlvs {
                let at = out.len();
                match ss {
                    Srv6SubSubTlv::SidStructure(st) => {
                        out.extend_from_slice(&[1, 0, 0]);
                        out.extend_from_slice(&[
                            st.locator_block_len,
                            st.locator_node_len,
                            st.function_len,
                            st.argument_len,
                            st.transposition_len,
                            st.transposition_offset,
                        ]);
                    }
                    Srv6SubSubTlv::Unknown {
                        sub_sub_type,
                        value,
                    } => {
                        out.extend_from_slice(&[*sub_sub_type, 0, 0]);
                        out.extend_from_slice(value);
                    }
                }
                patch_len16(out, at);
            }
        }
        Srv6SubTlv::Unknown { sub_type, value } => {
            out.extend_from_slice(&[*sub_type, 0, 0]);
            out.extend_from_slice(value);
        }
    }
    patch_len16(out, start);
}

/// Sets the 2-octet length of the TLV whose type octet is at `start`.
fn patch_len16(out: &mut [u8], start: usize) {
    let len = out.len().saturating_sub(start).saturating_sub(3);
    crate::open::set_u16(
        out,
        start.saturating_add(1),
        u16::try_from(len).unwrap_or(u16::MAX),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srv6_l3_service_round_trip() {
        // SRv6 L3 service TLV with one SID information sub-TLV and a SID structure
        // (transposition 16 bits at offset 48), as in the Cisco capture.
        let hex_str = "05 0022 00 01 001e 00 fd7c3f00040100000000000000000000 00 0013 00 01 0006 28 18 10 00 10 30";
        let b = hex::decode(hex_str.replace(' ', "")).unwrap_or_default();
        let (rest, sid) = PrefixSid::decode(&b).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(rest.is_empty());
        let Some(PrefixSidTlv::Srv6L3Service(subs)) = sid.tlvs.first() else {
            panic!("{sid:?}")
        };
        let Some(Srv6SubTlv::SidInformation(info)) = subs.first() else {
            panic!()
        };
        assert_eq!(info.endpoint_behavior, 0x13);
        assert_eq!(
            info.sub_sub_tlvs.first(),
            Some(&Srv6SubSubTlv::SidStructure(SidStructure {
                locator_block_len: 40,
                locator_node_len: 24,
                function_len: 16,
                argument_len: 0,
                transposition_len: 16,
                transposition_offset: 48,
            }))
        );
        let mut out = Vec::new();
        sid.encode(&mut out);
        assert_eq!(out, b);
    }

    #[test]
    fn malformed_tlvs() {
        assert!(PrefixSid::decode(&[1, 0, 6, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(PrefixSid::decode(&[5, 0, 10, 0]).is_err());
        assert!(PrefixSid::decode(&[3, 0, 3, 0, 0, 1]).is_err());
    }
}
