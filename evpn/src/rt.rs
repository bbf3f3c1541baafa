//! Route distinguishers and route targets: FRR-compatible automatic values, RFC 8365 and AS4
//! alternatives, explicit lists, and import matching with the `*:N` wildcard
//! (`bgp-evpn-wire.md` §1.12, §1.15 and pitfall 4).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use bgp_wire::types::{AdminValue, RouteDistinguisher};

/// RFC 8365 §5.1.2.1 local administrator for VXLAN: `A=0 | Type=1 (VXLAN) | D-ID=0 | VNI`.
pub const RFC8365_VXLAN: u32 = 0x1000_0000;

/// How automatic route targets are derived from the AS and the VNI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RtStyle {
    /// FRR's default: `(AS & 0xFFFF):VNI`, type 0x00 (2-octet AS; a 4-octet AS is truncated,
    /// as FRR and Cumulus do). OpenPERouter's e2e tests read the VNI from this form.
    #[default]
    Frr,
    /// RFC 8365 §5.1.2.1 (Junos): `(AS & 0xFFFF):(0x10000000 | VNI)`.
    Rfc8365,
    /// 4-octet AS form, type 0x02: `AS:VNI` with the VNI's low 16 bits (Arista with a 4-byte
    /// ASN). Two VNIs equal modulo 2^16 collide; the config layer rejects that.
    As4,
}

/// The automatic route target of `vni` under `asn`.
pub fn auto_rt(asn: u32, vni: u32, style: RtStyle) -> AdminValue {
    let as2 = (asn & 0xFFFF) as u16;
    match style {
        RtStyle::Frr => AdminValue::As2 {
            asn: as2,
            value: vni,
        },
        RtStyle::Rfc8365 => AdminValue::As2 {
            asn: as2,
            value: RFC8365_VXLAN | (vni & 0x00FF_FFFF),
        },
        RtStyle::As4 => AdminValue::As4 {
            asn,
            value: (vni & 0xFFFF) as u16,
        },
    }
}

/// RD type 1 `router-id:n` (FRR's auto RD, OpenPERouter's L3VPN RD `routerID:rdAssignedNumber`).
pub fn rd_type1(router_id: Ipv4Addr, n: u16) -> RouteDistinguisher {
    RouteDistinguisher::new(AdminValue::Ipv4 {
        addr: router_id,
        value: n,
    })
}

/// Stable automatic RD numbers for a set of VNIs: each VNI gets `VNI & 0xFFFF` (0 is avoided),
/// or, on a collision, the lowest free number ≥ 1, VNIs taken in ascending order. The result
/// depends only on the set of VNIs, so it survives restarts and does not depend on the order
/// the configuration lists them in (FRR's numbers depend on creation order).
pub fn auto_rd_numbers(vnis: impl IntoIterator<Item = u32>) -> BTreeMap<u32, u16> {
    let vnis: BTreeSet<u32> = vnis.into_iter().collect();
    let mut used = BTreeSet::new();
    let mut out = BTreeMap::new();
    let mut clashed = Vec::new();
    for vni in &vnis {
        let n = (vni & 0xFFFF) as u16;
        if n != 0 && used.insert(n) {
            out.insert(*vni, n);
        } else {
            clashed.push(*vni);
        }
    }
    let mut next = 1u16;
    for vni in clashed {
        while used.contains(&next) {
            next = next.wrapping_add(1).max(1);
        }
        used.insert(next);
        out.insert(vni, next);
    }
    out
}

/// One import rule: an exact route target, or any global administrator with a given local
/// administrator (`*:N`, FRR's wildcard for eBGP fabrics where every leaf has its own AS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RtMatch {
    /// Exactly this route target (type, administrator and value compared byte-exactly).
    Exact(AdminValue),
    /// Any type and administrator whose assigned number is this value.
    AnyAdmin(u32),
}

impl RtMatch {
    /// Whether route target `rt` is imported by this rule.
    pub fn matches(&self, rt: &AdminValue) -> bool {
        match self {
            RtMatch::Exact(want) => want == rt,
            RtMatch::AnyAdmin(value) => assigned(rt) == *value,
        }
    }

    /// The wildcard that matches the automatic RTs of `vni` under any AS, in `style`.
    pub fn wildcard(vni: u32, style: RtStyle) -> RtMatch {
        match auto_rt(0, vni, style) {
            AdminValue::As2 { value, .. } => RtMatch::AnyAdmin(value),
            AdminValue::As4 { value, .. } | AdminValue::Ipv4 { value, .. } => {
                RtMatch::AnyAdmin(u32::from(value))
            }
        }
    }
}

fn assigned(rt: &AdminValue) -> u32 {
    match *rt {
        AdminValue::As2 { value, .. } => value,
        AdminValue::Ipv4 { value, .. } | AdminValue::As4 { value, .. } => u32::from(value),
    }
}

/// Whether any of `rts` is imported by any rule of `rules`.
pub fn imported<'a>(rules: &[RtMatch], rts: impl IntoIterator<Item = &'a AdminValue>) -> bool {
    rts.into_iter()
        .any(|rt| rules.iter().any(|rule| rule.matches(rt)))
}

/// A route target or import rule that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route target {text:?}: {reason}")]
pub struct RtParseError {
    /// The text.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Parses `ASN:N` (type 0 when ASN < 65536 and N fits 32 bits, else type 2 with N < 65536),
/// `A.B.C.D:N` (type 1), or, for [`RtMatch`], `*:N`.
pub fn parse_rt(text: &str) -> Result<AdminValue, RtParseError> {
    let err = |reason| RtParseError {
        text: text.to_owned(),
        reason,
    };
    let (admin, value) = text
        .rsplit_once(':')
        .ok_or_else(|| err("expected ADMIN:NUMBER"))?;
    if let Ok(addr) = Ipv4Addr::from_str(admin) {
        let value = value
            .parse::<u16>()
            .map_err(|_| err("the number after an IPv4 administrator must fit 16 bits"))?;
        return Ok(AdminValue::Ipv4 { addr, value });
    }
    let asn = admin
        .parse::<u32>()
        .map_err(|_| err("the administrator must be an AS number or an IPv4 address"))?;
    let value = value
        .parse::<u32>()
        .map_err(|_| err("the assigned number must be an unsigned integer"))?;
    match (u16::try_from(asn), u16::try_from(value)) {
        (Ok(asn), _) => Ok(AdminValue::As2 { asn, value }),
        (Err(_), Ok(value)) => Ok(AdminValue::As4 { asn, value }),
        (Err(_), Err(_)) => Err(err(
            "with a 4-octet AS the assigned number must fit 16 bits",
        )),
    }
}

impl FromStr for RtMatch {
    type Err = RtParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix("*:") {
            Some(n) => n
                .parse::<u32>()
                .map(RtMatch::AnyAdmin)
                .map_err(|_| RtParseError {
                    text: text.to_owned(),
                    reason: "the number after *: must be an unsigned integer",
                }),
            None => parse_rt(text).map(RtMatch::Exact),
        }
    }
}

impl fmt::Display for RtMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtMatch::Exact(AdminValue::As2 { asn, value }) => write!(f, "{asn}:{value}"),
            RtMatch::Exact(AdminValue::Ipv4 { addr, value }) => write!(f, "{addr}:{value}"),
            RtMatch::Exact(AdminValue::As4 { asn, value }) => write!(f, "{asn}:{value}"),
            RtMatch::AnyAdmin(v) => write!(f, "*:{v}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn automatic_route_targets() {
        assert_eq!(
            auto_rt(64514, 100, RtStyle::Frr),
            AdminValue::As2 {
                asn: 64514,
                value: 100
            }
        );
        // FRR#7862: a 4-byte AS is truncated.
        assert_eq!(
            auto_rt(4_212_779_810, 10022, RtStyle::Frr),
            AdminValue::As2 {
                asn: 60194,
                value: 10022
            }
        );
        // FRR#10027: Junos' RT:65000:268535469 for VNI 100013.
        assert_eq!(
            auto_rt(65000, 100_013, RtStyle::Rfc8365),
            AdminValue::As2 {
                asn: 65000,
                value: 268_535_469
            }
        );
        assert_eq!(
            auto_rt(4_200_000_001, 70_000, RtStyle::As4),
            AdminValue::As4 {
                asn: 4_200_000_001,
                value: 4464
            }
        );
    }

    #[test]
    fn rd_numbers_are_stable_and_unique() {
        let a = auto_rd_numbers([100, 200, 65636, 65536]);
        // 65636 & 0xFFFF = 100 collides with VNI 100; 65536 & 0xFFFF = 0 is avoided.
        assert_eq!(a[&100], 100);
        assert_eq!(a[&200], 200);
        assert_eq!(a[&65536], 1);
        assert_eq!(a[&65636], 2);
        assert_eq!(a, auto_rd_numbers([65536, 65636, 200, 100]));
        assert_eq!(
            rd_type1(Ipv4Addr::new(10, 0, 0, 2), 100).to_bytes(),
            [0, 1, 10, 0, 0, 2, 0, 100]
        );
    }

    #[test]
    fn import_rules() {
        let rt = |s: &str| parse_rt(s).unwrap();
        let exact: RtMatch = "64512:100".parse().unwrap();
        assert!(exact.matches(&rt("64512:100")));
        assert!(!exact.matches(&rt("64513:100")));
        let any: RtMatch = "*:100".parse().unwrap();
        assert!(any.matches(&rt("64513:100")));
        assert!(any.matches(&rt("4200000001:100")));
        assert!(any.matches(&rt("10.0.0.1:100")));
        assert!(!any.matches(&rt("64513:101")));
        assert_eq!(RtMatch::wildcard(100, RtStyle::Frr), any);
        assert_eq!(
            RtMatch::wildcard(100, RtStyle::Rfc8365),
            RtMatch::AnyAdmin(0x1000_0064)
        );
        assert!(imported(&[exact, any], [&rt("1:2"), &rt("65000:100")]));
        assert!(!imported(&[exact], [&rt("1:2")]));
        assert_eq!(any.to_string(), "*:100");
        assert_eq!(exact.to_string(), "64512:100");
    }

    #[test]
    fn parse_errors_name_the_text() {
        for bad in [
            "100",
            "x:1",
            "4200000001:70000",
            "1.2.3.4:70000",
            "*:x",
            "1:-1",
        ] {
            let e = bad.parse::<RtMatch>().unwrap_err();
            assert_eq!(e.text, bad);
        }
        assert_eq!(
            parse_rt("4200000001:7").unwrap(),
            AdminValue::As4 {
                asn: 4_200_000_001,
                value: 7
            }
        );
    }
}
