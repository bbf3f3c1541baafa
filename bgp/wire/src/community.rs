//! Communities (RFC 1997), extended communities (RFC 4360 and the EVPN, tunnel and
//! bandwidth types) and large communities (RFC 8092).

use std::fmt;

use serde::{Serialize, Serializer};

use crate::types::{AdminValue, Label24, Mac};

/// A standard community: `AS:value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT.
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED.
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Community::NO_EXPORT => f.write_str("no-export"),
            Community::NO_ADVERTISE => f.write_str("no-advertise"),
            Community::NO_EXPORT_SUBCONFED => f.write_str("no-export-subconfed"),
            Community::GRACEFUL_SHUTDOWN => f.write_str("graceful-shutdown"),
            Community::BLACKHOLE => f.write_str("blackhole"),
            Community::LLGR_STALE => f.write_str("llgr-stale"),
            Community::NO_LLGR => f.write_str("no-llgr"),
            Community(v) => {
                let [a, b, c, d] = v.to_be_bytes();
                write!(
                    f,
                    "{}:{}",
                    u16::from_be_bytes([a, b]),
                    u16::from_be_bytes([c, d])
                )
            }
        }
    }
}

impl Serialize for Community {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A large community: `global:local1:local2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LargeCommunity {
    /// Global administrator (an AS).
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

impl Serialize for LargeCommunity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Tunnel types of the Encapsulation extended community (RFC 9012 §4.1 / IANA).
pub mod tunnel_type {
    /// VXLAN.
    pub const VXLAN: u16 = 8;
    /// NVGRE.
    pub const NVGRE: u16 = 9;
    /// MPLS.
    pub const MPLS: u16 = 10;
    /// MPLS in GRE.
    pub const MPLS_IN_GRE: u16 = 11;
    /// VXLAN-GPE.
    pub const VXLAN_GPE: u16 = 12;
    /// MPLS in UDP.
    pub const MPLS_IN_UDP: u16 = 13;
    /// Geneve.
    pub const GENEVE: u16 = 19;
}

/// An extended community (8 octets). Types this crate understands are decoded only when their
/// re-encoding is byte-identical (reserved fields zero); everything else stays [`Raw`].
///
/// [`Raw`]: ExtCommunity::Raw
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExtCommunity {
    /// Route Target (type 0x00/0x01/0x02, subtype 0x02).
    RouteTarget(AdminValue),
    /// Route Origin / Site of Origin (type 0x00/0x01/0x02, subtype 0x03).
    RouteOrigin(AdminValue),
    /// Encapsulation (0x03/0x0c, RFC 9012): tunnel type (8 = VXLAN).
    Encapsulation(u16),
    /// Default Gateway (0x03/0x0d, RFC 7432 §7.8).
    DefaultGateway,
    /// MAC Mobility (0x06/0x00, RFC 7432 §7.7).
    MacMobility {
        /// Sticky / static MAC (flag 0x01).
        sticky: bool,
        /// Sequence number.
        sequence: u32,
    },
    /// ESI Label (0x06/0x01, RFC 7432 §7.5).
    EsiLabel {
        /// Single-active (flag 0x01).
        single_active: bool,
        /// The label.
        label: Label24,
    },
    /// ES-Import Route Target (0x06/0x02, RFC 7432 §7.6).
    EsImport(Mac),
    /// Router's MAC (0x06/0x03, RFC 9135 §8.1).
    RouterMac(Mac),
    /// Link bandwidth (0x40/0x04, draft-ietf-idr-link-bandwidth): AS and IEEE float32 bytes/s.
    LinkBandwidth {
        /// AS.
        asn: u16,
        /// Bandwidth in bytes per second, as IEEE-754 single-precision bits.
        #[serde(serialize_with = "crate::types::serialize_f32_bits")]
        bandwidth_bits: u32,
    },
    /// Any other type, verbatim.
    Raw(#[serde(serialize_with = "serialize_hex8")] [u8; 8]),
}

fn serialize_hex8<S: Serializer>(b: &[u8; 8], s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(16);
    for x in b {
        out.push_str(&format!("{x:02x}"));
    }
    s.serialize_str(&out)
}

impl ExtCommunity {
    /// A 2-octet-AS route target, as FRR derives them (`AS:VNI`).
    pub fn route_target_as2(asn: u16, value: u32) -> ExtCommunity {
        ExtCommunity::RouteTarget(AdminValue::As2 { asn, value })
    }

    /// The VXLAN encapsulation community every EVPN route should carry.
    pub const VXLAN: ExtCommunity = ExtCommunity::Encapsulation(tunnel_type::VXLAN);

    /// Decodes 8 octets.
    pub fn from_bytes(b: [u8; 8]) -> ExtCommunity {
        let [t, st, v0, v1, v2, v3, v4, v5] = b;
        let v = [v0, v1, v2, v3, v4, v5];
        let mac = Mac(v);
        match (t, st) {
            (0x00..=0x02, 0x02) => AdminValue::from_parts(t, v).map(ExtCommunity::RouteTarget),
            (0x00..=0x02, 0x03) => AdminValue::from_parts(t, v).map(ExtCommunity::RouteOrigin),
            (0x03, 0x0c) if [v0, v1, v2, v3] == [0, 0, 0, 0] => {
                Some(ExtCommunity::Encapsulation(u16::from_be_bytes([v4, v5])))
            }
            (0x03, 0x0d) if v == [0; 6] => Some(ExtCommunity::DefaultGateway),
            (0x06, 0x00) if v0 & !0x01 == 0 && v1 == 0 => Some(ExtCommunity::MacMobility {
                sticky: v0 & 0x01 != 0,
                sequence: u32::from_be_bytes([v2, v3, v4, v5]),
            }),
            (0x06, 0x01) if v0 & !0x01 == 0 && v1 == 0 && v2 == 0 => Some(ExtCommunity::EsiLabel {
                single_active: v0 & 0x01 != 0,
                label: Label24::from_bytes([v3, v4, v5]),
            }),
            (0x06, 0x02) => Some(ExtCommunity::EsImport(mac)),
            (0x06, 0x03) => Some(ExtCommunity::RouterMac(mac)),
            (0x40, 0x04) => Some(ExtCommunity::LinkBandwidth {
                asn: u16::from_be_bytes([v0, v1]),
                bandwidth_bits: u32::from_be_bytes([v2, v3, v4, v5]),
            }),
            _ => None,
        }
        .unwrap_or(ExtCommunity::Raw(b))
    }

    /// The 8 wire octets.
    pub fn to_bytes(self) -> [u8; 8] {
        let (t, st, v): (u8, u8, [u8; 6]) = match self {
            ExtCommunity::RouteTarget(a) => (a.type_code(), 0x02, a.value_bytes()),
            ExtCommunity::RouteOrigin(a) => (a.type_code(), 0x03, a.value_bytes()),
            ExtCommunity::Encapsulation(tt) => {
                let [a, b] = tt.to_be_bytes();
                (0x03, 0x0c, [0, 0, 0, 0, a, b])
            }
            ExtCommunity::DefaultGateway => (0x03, 0x0d, [0; 6]),
            ExtCommunity::MacMobility { sticky, sequence } => {
                let [a, b, c, d] = sequence.to_be_bytes();
                (0x06, 0x00, [u8::from(sticky), 0, a, b, c, d])
            }
            ExtCommunity::EsiLabel {
                single_active,
                label,
            } => {
                let [a, b, c] = label.to_bytes();
                (0x06, 0x01, [u8::from(single_active), 0, 0, a, b, c])
            }
            ExtCommunity::EsImport(m) => (0x06, 0x02, m.0),
            ExtCommunity::RouterMac(m) => (0x06, 0x03, m.0),
            ExtCommunity::LinkBandwidth {
                asn,
                bandwidth_bits,
            } => {
                let [a, b] = asn.to_be_bytes();
                let [c, d, e, f] = bandwidth_bits.to_be_bytes();
                (0x40, 0x04, [a, b, c, d, e, f])
            }
            ExtCommunity::Raw(b) => return b,
        };
        let [v0, v1, v2, v3, v4, v5] = v;
        [t, st, v0, v1, v2, v3, v4, v5]
    }

    /// The route target, if this is one.
    pub fn route_target(self) -> Option<AdminValue> {
        match self {
            ExtCommunity::RouteTarget(a) => Some(a),
            _ => None,
        }
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for ExtCommunity {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        // Typed values half of the time; raw bytes (canonicalised through the decoder, so a
        // raw value never collides with a typed one) otherwise.
        Ok(match u.int_in_range(0..=10u8)? {
            0 => ExtCommunity::RouteTarget(u.arbitrary()?),
            1 => ExtCommunity::RouteOrigin(u.arbitrary()?),
            2 => ExtCommunity::Encapsulation(u.arbitrary()?),
            3 => ExtCommunity::DefaultGateway,
            4 => ExtCommunity::MacMobility {
                sticky: u.arbitrary()?,
                sequence: u.arbitrary()?,
            },
            5 => ExtCommunity::EsiLabel {
                single_active: u.arbitrary()?,
                label: u.arbitrary()?,
            },
            6 => ExtCommunity::EsImport(u.arbitrary()?),
            7 => ExtCommunity::RouterMac(u.arbitrary()?),
            8 => ExtCommunity::LinkBandwidth {
                asn: u.arbitrary()?,
                bandwidth_bits: u.arbitrary()?,
            },
            _ => ExtCommunity::from_bytes(u.arbitrary()?),
        })
    }
}

impl fmt::Display for ExtCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtCommunity::RouteTarget(a) => write!(f, "RT:{a}"),
            ExtCommunity::RouteOrigin(a) => write!(f, "SoO:{a}"),
            ExtCommunity::Encapsulation(t) => write!(f, "ET:{t}"),
            ExtCommunity::DefaultGateway => f.write_str("Default Gateway"),
            ExtCommunity::MacMobility { sticky, sequence } => {
                write!(
                    f,
                    "MM:{sequence}{}",
                    if *sticky { ", sticky MAC" } else { "" }
                )
            }
            ExtCommunity::EsiLabel {
                single_active,
                label,
            } => write!(
                f,
                "ESI-label-Rt:{}:{}",
                if *single_active { "SA" } else { "AA" },
                label.raw()
            ),
            ExtCommunity::EsImport(m) => write!(f, "ES-Import-Rt:{m}"),
            ExtCommunity::RouterMac(m) => write!(f, "Rmac:{m}"),
            ExtCommunity::LinkBandwidth {
                asn,
                bandwidth_bits,
            } => {
                write!(f, "LB:{asn}:{}", f32::from_bits(*bandwidth_bits))
            }
            ExtCommunity::Raw(b) => {
                f.write_str("raw:")?;
                for x in b {
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn rt(b: [u8; 8]) -> ExtCommunity {
        let ec = ExtCommunity::from_bytes(b);
        assert_eq!(ec.to_bytes(), b, "re-encode of {ec:?}");
        ec
    }

    #[test]
    fn typed_extended_communities() {
        assert_eq!(
            rt([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 0x65]),
            ExtCommunity::route_target_as2(65000, 101)
        );
        assert_eq!(
            rt([0x01, 0x02, 10, 0, 0, 1, 0, 5]),
            ExtCommunity::RouteTarget(AdminValue::Ipv4 {
                addr: Ipv4Addr::new(10, 0, 0, 1),
                value: 5
            })
        );
        assert_eq!(
            rt([0x02, 0x02, 0xfa, 0x56, 0xea, 0x00, 0x27, 0x26]),
            ExtCommunity::RouteTarget(AdminValue::As4 {
                asn: 4_200_000_000,
                value: 10022
            })
        );
        assert_eq!(
            rt([0x00, 0x03, 0xfd, 0xe8, 0, 0, 0, 1]),
            ExtCommunity::RouteOrigin(AdminValue::As2 {
                asn: 65000,
                value: 1
            })
        );
        assert_eq!(rt([0x03, 0x0c, 0, 0, 0, 0, 0, 8]), ExtCommunity::VXLAN);
        assert_eq!(
            rt([0x03, 0x0d, 0, 0, 0, 0, 0, 0]),
            ExtCommunity::DefaultGateway
        );
        assert_eq!(
            rt([0x06, 0x00, 0x01, 0, 0, 0, 0, 7]),
            ExtCommunity::MacMobility {
                sticky: true,
                sequence: 7
            }
        );
        assert_eq!(
            rt([0x06, 0x01, 0x01, 0, 0, 0, 0x03, 0xe8]),
            ExtCommunity::EsiLabel {
                single_active: true,
                label: Label24::new(1000)
            }
        );
        assert_eq!(
            rt([0x06, 0x02, 0, 0x11, 0x22, 0x33, 0x44, 0x55]),
            ExtCommunity::EsImport(Mac([0, 0x11, 0x22, 0x33, 0x44, 0x55]))
        );
        assert_eq!(
            rt([0x06, 0x03, 0x66, 0xaf, 0xcc, 0x19, 0x4b, 0xfb]),
            ExtCommunity::RouterMac(Mac([0x66, 0xaf, 0xcc, 0x19, 0x4b, 0xfb]))
        );
        // tcpdump bgp-link-bw-extcommunity: 4004 fde8 47f42400 = 125000 bytes/s.
        let lb = rt([0x40, 0x04, 0xfd, 0xe8, 0x47, 0xf4, 0x24, 0x00]);
        assert!(
            matches!(lb, ExtCommunity::LinkBandwidth { asn: 65000, bandwidth_bits } if f32::from_bits(bandwidth_bits) == 125000.0)
        );
    }

    #[test]
    fn odd_values_stay_raw() {
        // Encapsulation with non-zero reserved octets, unknown types, non-transitive RT.
        for b in [
            [0x03, 0x0c, 0, 0, 1, 0, 0, 8],
            [0x03, 0x0d, 0, 0, 0, 0, 0, 1],
            [0x80, 0x06, 0, 0, 0, 0, 0, 0],
            [0x42, 0x02, 0, 0, 0, 1, 0, 1],
            [0x06, 0x00, 0x02, 0, 0, 0, 0, 1],
        ] {
            assert_eq!(rt(b), ExtCommunity::Raw(b));
        }
    }

    #[test]
    fn display_forms() {
        assert_eq!(
            ExtCommunity::route_target_as2(65000, 101).to_string(),
            "RT:65000:101"
        );
        assert_eq!(ExtCommunity::VXLAN.to_string(), "ET:8");
        assert_eq!(Community(0xfde8_0064).to_string(), "65000:100");
        assert_eq!(Community::NO_EXPORT.to_string(), "no-export");
        let lc = LargeCommunity {
            global: 4_200_000_000,
            local1: 1,
            local2: 2,
        };
        assert_eq!(lc.to_string(), "4200000000:1:2");
    }
}
