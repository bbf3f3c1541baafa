//! L2VPN EVPN NLRI (RFC 7432 §7, RFC 9136 §3): route types 1–5 typed, others skipped.
//!
//! Each route type keeps its key fields (what identifies the destination; used to match
//! withdrawals) apart from its non-key fields (ESI, labels, gateway): see the `key()`
//! methods and [`EvpnKey`]. Labels are kept raw ([`Label24`]); whether they hold a VNI or an
//! MPLS label is decided by the Encapsulation extended community, not here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::Serialize;

use crate::nlri::EvpnNlri;
use crate::parse::{invalid, PResult};
use crate::types::{Esi, Label24, Mac, RouteDistinguisher};

/// EVPN route type codes.
pub mod route_type {
    /// Ethernet Auto-Discovery.
    pub const ETHERNET_AD: u8 = 1;
    /// MAC/IP Advertisement.
    pub const MAC_IP: u8 = 2;
    /// Inclusive Multicast Ethernet Tag.
    pub const INCLUSIVE_MULTICAST: u8 = 3;
    /// Ethernet Segment.
    pub const ETHERNET_SEGMENT: u8 = 4;
    /// IP Prefix.
    pub const IP_PREFIX: u8 = 5;
}

/// Type 1: Ethernet Auto-Discovery (RFC 7432 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct EthernetAd {
    /// Route distinguisher (key).
    pub rd: RouteDistinguisher,
    /// Ethernet segment (key).
    pub esi: Esi,
    /// Ethernet tag (key; 0xFFFFFFFF for the per-ES route).
    pub eth_tag: u32,
    /// MPLS label / VNI (not key).
    pub label: Label24,
}

/// Type 2: MAC/IP Advertisement (RFC 7432 §7.2, RFC 9135).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MacIpAdvertisement {
    /// Route distinguisher (key).
    pub rd: RouteDistinguisher,
    /// Ethernet segment (not key).
    pub esi: Esi,
    /// Ethernet tag (key).
    pub eth_tag: u32,
    /// MAC address (key).
    pub mac: Mac,
    /// IP address (key), if any.
    pub ip: Option<IpAddr>,
    /// Label 1: the L2VNI for VXLAN (not key).
    pub label1: Label24,
    /// Label 2: the L3VNI for symmetric IRB (not key).
    pub label2: Option<Label24>,
}

/// Type 3: Inclusive Multicast Ethernet Tag (RFC 7432 §7.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct InclusiveMulticast {
    /// Route distinguisher (key).
    pub rd: RouteDistinguisher,
    /// Ethernet tag (key).
    pub eth_tag: u32,
    /// Originating router's IP: the VTEP (key).
    pub originator: IpAddr,
}

/// Type 4: Ethernet Segment (RFC 7432 §7.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct EthernetSegment {
    /// Route distinguisher (key).
    pub rd: RouteDistinguisher,
    /// Ethernet segment (key).
    pub esi: Esi,
    /// Originating router's IP (key).
    pub originator: IpAddr,
}

/// Type 5: IP Prefix (RFC 9136 §3.1). The prefix and the gateway are of the same family.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct IpPrefixRoute {
    /// Route distinguisher (key).
    pub rd: RouteDistinguisher,
    /// Ethernet segment, an overlay index (not key).
    pub esi: Esi,
    /// Ethernet tag (key).
    pub eth_tag: u32,
    /// The prefix, host bits cleared (key).
    pub prefix: IpNet,
    /// Gateway IP, an overlay index; unspecified when unused (not key).
    pub gateway: IpAddr,
    /// MPLS label / L3VNI (not key).
    pub label: Label24,
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for IpPrefixRoute {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let v6: bool = u.arbitrary()?;
        let (prefix, gateway) = if v6 {
            let p = crate::nlri::arb_v6net(u)?;
            (
                IpNet::V6(p),
                IpAddr::V6(Ipv6Addr::from(u.arbitrary::<[u8; 16]>()?)),
            )
        } else {
            let p = crate::nlri::arb_v4net(u)?;
            (
                IpNet::V4(p),
                IpAddr::V4(Ipv4Addr::from(u.arbitrary::<[u8; 4]>()?)),
            )
        };
        Ok(IpPrefixRoute {
            rd: u.arbitrary()?,
            esi: u.arbitrary()?,
            eth_tag: u.arbitrary()?,
            prefix,
            gateway,
            label: u.arbitrary()?,
        })
    }
}

/// A typed EVPN route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum EvpnRoute {
    /// Type 1.
    EthernetAd(EthernetAd),
    /// Type 2.
    MacIp(MacIpAdvertisement),
    /// Type 3.
    InclusiveMulticast(InclusiveMulticast),
    /// Type 4.
    EthernetSegment(EthernetSegment),
    /// Type 5.
    IpPrefix(IpPrefixRoute),
}

/// The key of an EVPN route: what identifies its destination in the EVPN table. Withdrawals
/// match on this alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EvpnKey {
    /// Type 1: RD, ESI, Ethernet tag.
    EthernetAd {
        /// RD.
        rd: RouteDistinguisher,
        /// ESI.
        esi: Esi,
        /// Ethernet tag.
        eth_tag: u32,
    },
    /// Type 2: RD, Ethernet tag, MAC, IP.
    MacIp {
        /// RD.
        rd: RouteDistinguisher,
        /// Ethernet tag.
        eth_tag: u32,
        /// MAC.
        mac: Mac,
        /// IP.
        ip: Option<IpAddr>,
    },
    /// Type 3: RD, Ethernet tag, originator.
    InclusiveMulticast {
        /// RD.
        rd: RouteDistinguisher,
        /// Ethernet tag.
        eth_tag: u32,
        /// Originating router.
        originator: IpAddr,
    },
    /// Type 4: RD, ESI, originator.
    EthernetSegment {
        /// RD.
        rd: RouteDistinguisher,
        /// ESI.
        esi: Esi,
        /// Originating router.
        originator: IpAddr,
    },
    /// Type 5: RD, Ethernet tag, prefix.
    IpPrefix {
        /// RD.
        rd: RouteDistinguisher,
        /// Ethernet tag.
        eth_tag: u32,
        /// Prefix.
        prefix: IpNet,
    },
}

impl EvpnRoute {
    /// The route type code.
    pub fn route_type(&self) -> u8 {
        match self {
            EvpnRoute::EthernetAd(_) => route_type::ETHERNET_AD,
            EvpnRoute::MacIp(_) => route_type::MAC_IP,
            EvpnRoute::InclusiveMulticast(_) => route_type::INCLUSIVE_MULTICAST,
            EvpnRoute::EthernetSegment(_) => route_type::ETHERNET_SEGMENT,
            EvpnRoute::IpPrefix(_) => route_type::IP_PREFIX,
        }
    }

    /// The route distinguisher.
    pub fn rd(&self) -> RouteDistinguisher {
        match self {
            EvpnRoute::EthernetAd(r) => r.rd,
            EvpnRoute::MacIp(r) => r.rd,
            EvpnRoute::InclusiveMulticast(r) => r.rd,
            EvpnRoute::EthernetSegment(r) => r.rd,
            EvpnRoute::IpPrefix(r) => r.rd,
        }
    }

    /// The key fields.
    pub fn key(&self) -> EvpnKey {
        match self {
            EvpnRoute::EthernetAd(r) => EvpnKey::EthernetAd {
                rd: r.rd,
                esi: r.esi,
                eth_tag: r.eth_tag,
            },
            EvpnRoute::MacIp(r) => EvpnKey::MacIp {
                rd: r.rd,
                eth_tag: r.eth_tag,
                mac: r.mac,
                ip: r.ip,
            },
            EvpnRoute::InclusiveMulticast(r) => EvpnKey::InclusiveMulticast {
                rd: r.rd,
                eth_tag: r.eth_tag,
                originator: r.originator,
            },
            EvpnRoute::EthernetSegment(r) => EvpnKey::EthernetSegment {
                rd: r.rd,
                esi: r.esi,
                originator: r.originator,
            },
            EvpnRoute::IpPrefix(r) => EvpnKey::IpPrefix {
                rd: r.rd,
                eth_tag: r.eth_tag,
                prefix: r.prefix,
            },
        }
    }

    /// Appends type, length and value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.route_type());
        let len_at = out.len();
        out.push(0);
        match self {
            EvpnRoute::EthernetAd(r) => {
                out.extend_from_slice(&r.rd.to_bytes());
                out.extend_from_slice(&r.esi.0);
                out.extend_from_slice(&r.eth_tag.to_be_bytes());
                out.extend_from_slice(&r.label.to_bytes());
            }
            EvpnRoute::MacIp(r) => {
                out.extend_from_slice(&r.rd.to_bytes());
                out.extend_from_slice(&r.esi.0);
                out.extend_from_slice(&r.eth_tag.to_be_bytes());
                out.push(48);
                out.extend_from_slice(&r.mac.0);
                push_ip_with_len(out, r.ip);
                out.extend_from_slice(&r.label1.to_bytes());
                if let Some(l2) = r.label2 {
                    out.extend_from_slice(&l2.to_bytes());
                }
            }
            EvpnRoute::InclusiveMulticast(r) => {
                out.extend_from_slice(&r.rd.to_bytes());
                out.extend_from_slice(&r.eth_tag.to_be_bytes());
                push_ip_with_len(out, Some(r.originator));
            }
            EvpnRoute::EthernetSegment(r) => {
                out.extend_from_slice(&r.rd.to_bytes());
                out.extend_from_slice(&r.esi.0);
                push_ip_with_len(out, Some(r.originator));
            }
            EvpnRoute::IpPrefix(r) => {
                out.extend_from_slice(&r.rd.to_bytes());
                out.extend_from_slice(&r.esi.0);
                out.extend_from_slice(&r.eth_tag.to_be_bytes());
                out.push(r.prefix.prefix_len());
                match r.prefix {
                    IpNet::V4(p) => out.extend_from_slice(&p.addr().octets()),
                    IpNet::V6(p) => out.extend_from_slice(&p.addr().octets()),
                }
                // The gateway is always the prefix's family (RFC 9136 §3.1).
                match (r.prefix, r.gateway) {
                    (IpNet::V4(_), IpAddr::V4(g)) => out.extend_from_slice(&g.octets()),
                    (IpNet::V6(_), IpAddr::V6(g)) => out.extend_from_slice(&g.octets()),
                    (IpNet::V4(_), IpAddr::V6(_)) => out.extend_from_slice(&[0; 4]),
                    (IpNet::V6(_), IpAddr::V4(_)) => out.extend_from_slice(&[0; 16]),
                }
                out.extend_from_slice(&r.label.to_bytes());
            }
        }
        let len = out.len().saturating_sub(len_at).saturating_sub(1);
        crate::open::set_u8(out, len_at, u8::try_from(len).unwrap_or(u8::MAX));
    }
}

fn push_ip_with_len(out: &mut Vec<u8>, ip: Option<IpAddr>) {
    match ip {
        None => out.push(0),
        Some(IpAddr::V4(a)) => {
            out.push(32);
            out.extend_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            out.push(128);
            out.extend_from_slice(&a.octets());
        }
    }
}

/// What one EVPN NLRI decoded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvpnDecoded {
    /// A typed route.
    Route(EvpnRoute),
    /// A route type this crate does not model (6–11, …): skipped, not an error (RFC 7606
    /// §5.4).
    Skipped {
        /// The route type.
        route_type: u8,
        /// Its length.
        length: u8,
    },
}

/// Reads fixed-size fields off the front of a route's value. The route types have fixed
/// layouts, so after the envelope (parsed with `nom`) the fields are read with
/// `split_first_chunk`: the same checks, without a combinator call per field on the hottest
/// path (see docs/benchmarks.md).
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    #[inline(always)]
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = self.0.split_first_chunk::<N>()?;
        self.0 = tail;
        Some(*head)
    }

    #[inline(always)]
    fn u8(&mut self) -> Option<u8> {
        self.arr::<1>().map(|[b]| b)
    }

    #[inline(always)]
    fn u32(&mut self) -> Option<u32> {
        self.arr::<4>().map(u32::from_be_bytes)
    }

    #[inline(always)]
    fn rd(&mut self) -> Option<RouteDistinguisher> {
        self.arr::<8>().map(RouteDistinguisher::from_bytes)
    }

    #[inline(always)]
    fn label(&mut self) -> Option<Label24> {
        self.arr::<3>().map(Label24::from_bytes)
    }

    /// An IP address preceded by its length in bits: 0 (none, when allowed), 32 or 128.
    #[inline(always)]
    fn ip_with_len(&mut self, allow_none: bool) -> Option<Option<IpAddr>> {
        match self.u8()? {
            0 if allow_none => Some(None),
            32 => self.arr::<4>().map(|a| Some(IpAddr::V4(Ipv4Addr::from(a)))),
            128 => self
                .arr::<16>()
                .map(|a| Some(IpAddr::V6(Ipv6Addr::from(a)))),
            _ => None,
        }
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// Decodes one EVPN NLRI (type, length, value). Length errors of known types are NLRI
/// errors (RFC 7606 §5.3).
pub fn decode_evpn(i: &[u8]) -> PResult<'_, EvpnDecoded> {
    let mut routes = Vec::with_capacity(1);
    let mut skipped = Vec::new();
    let (rest, ()) = decode_evpn_into(i, None, &mut routes, &mut skipped)?;
    match (routes.pop(), skipped.pop()) {
        (Some(n), _) => Ok((rest, EvpnDecoded::Route(n.route))),
        (None, Some((route_type, length))) => {
            Ok((rest, EvpnDecoded::Skipped { route_type, length }))
        }
        (None, None) => invalid(i, "evpn route"),
    }
}

/// Decodes one EVPN NLRI and pushes it onto `out` (or its type and length onto `skipped`).
///
/// The route is built directly in the vector from scalar locals: returning the ~80-octet
/// route by value through `Result`/`Option` layers cost three copies per route, with
/// store-forwarding stalls, and dominated the type-5 decode time (docs/benchmarks.md).
pub(crate) fn decode_evpn_into<'a>(
    i: &'a [u8],
    path_id: Option<u32>,
    out: &mut Vec<EvpnNlri>,
    skipped: &mut Vec<(u8, u8)>,
) -> PResult<'a, ()> {
    let Some((&[ty, len], after_header)) = i.split_first_chunk::<2>() else {
        return crate::parse::truncated(i, "evpn route header");
    };
    let (Some(v), Some(rest)) = (
        after_header.get(..usize::from(len)),
        after_header.get(usize::from(len)..),
    ) else {
        return crate::parse::truncated(after_header, "evpn route length");
    };
    let bad = |what: &'static str| invalid(after_header, what);
    let mut f = Fields(v);
    match ty {
        route_type::ETHERNET_AD => {
            let (Some(rd), Some(esi), Some(eth_tag), Some(label), true) =
                (f.rd(), f.arr(), f.u32(), f.label(), len == 25)
            else {
                return bad("evpn type-1 length");
            };
            out.push(EvpnNlri {
                path_id,
                route: EvpnRoute::EthernetAd(EthernetAd {
                    rd,
                    esi: Esi(esi),
                    eth_tag,
                    label,
                }),
            });
        }
        route_type::MAC_IP => {
            // FRR accepts exactly these lengths: MAC only, +IPv4, +IPv6, each with 1 or 2 labels.
            if ![33u8, 36, 37, 40, 49, 52].contains(&len) {
                return bad("evpn type-2 length");
            }
            let (Some(rd), Some(esi), Some(eth_tag), Some(48), Some(mac), Some(ip), Some(label1)) = (
                f.rd(),
                f.arr(),
                f.u32(),
                f.u8(),
                f.arr(),
                f.ip_with_len(true),
                f.label(),
            ) else {
                return bad("evpn type-2 fields");
            };
            let label2 = if f.done() { None } else { f.label() };
            if !f.done() {
                return bad("evpn type-2 length");
            }
            out.push(EvpnNlri {
                path_id,
                route: EvpnRoute::MacIp(MacIpAdvertisement {
                    rd,
                    esi: Esi(esi),
                    eth_tag,
                    mac: Mac(mac),
                    ip,
                    label1,
                    label2,
                }),
            });
        }
        route_type::INCLUSIVE_MULTICAST => {
            let (Some(rd), Some(eth_tag), Some(Some(originator)), true, true) = (
                f.rd(),
                f.u32(),
                f.ip_with_len(false),
                f.done(),
                len == 17 || len == 29,
            ) else {
                return bad("evpn type-3 length or originator");
            };
            out.push(EvpnNlri {
                path_id,
                route: EvpnRoute::InclusiveMulticast(InclusiveMulticast {
                    rd,
                    eth_tag,
                    originator,
                }),
            });
        }
        route_type::ETHERNET_SEGMENT => {
            let (Some(rd), Some(esi), Some(Some(originator)), true, true) = (
                f.rd(),
                f.arr(),
                f.ip_with_len(false),
                f.done(),
                len == 23 || len == 35,
            ) else {
                return bad("evpn type-4 length or originator");
            };
            out.push(EvpnNlri {
                path_id,
                route: EvpnRoute::EthernetSegment(EthernetSegment {
                    rd,
                    esi: Esi(esi),
                    originator,
                }),
            });
        }
        route_type::IP_PREFIX => {
            let (Some(rd), Some(esi), Some(eth_tag), Some(plen)) =
                (f.rd(), f.arr(), f.u32(), f.u8())
            else {
                return bad("evpn type-5 length");
            };
            // 34 octets for IPv4, 58 for IPv6; the prefix and the gateway share the family.
            let (prefix, gateway) = match len {
                34 => {
                    let (Some(p), Some(g)) = (f.arr::<4>(), f.arr::<4>()) else {
                        return bad("evpn type-5 length");
                    };
                    match crate::parse::v4net(p, plen) {
                        Some(net) => (IpNet::V4(net), IpAddr::V4(Ipv4Addr::from(g))),
                        None => return bad("evpn type-5 prefix length"),
                    }
                }
                58 => {
                    let (Some(p), Some(g)) = (f.arr::<16>(), f.arr::<16>()) else {
                        return bad("evpn type-5 length");
                    };
                    match crate::parse::v6net(p, plen) {
                        Some(net) => (IpNet::V6(net), IpAddr::V6(Ipv6Addr::from(g))),
                        None => return bad("evpn type-5 prefix length"),
                    }
                }
                _ => return bad("evpn type-5 length"),
            };
            let Some(label) = f.label() else {
                return bad("evpn type-5 length");
            };
            out.push(EvpnNlri {
                path_id,
                route: EvpnRoute::IpPrefix(IpPrefixRoute {
                    rd,
                    esi: Esi(esi),
                    eth_tag,
                    prefix,
                    gateway,
                    label,
                }),
            });
        }
        other => skipped.push((other, len)),
    }
    Ok((rest, ()))
}

/// Unused-address helpers for builders.
impl IpPrefixRoute {
    /// The unspecified gateway of the prefix's family (no gateway overlay index).
    pub fn no_gateway(prefix: IpNet) -> IpAddr {
        match prefix {
            IpNet::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpNet::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(hex_str: &str) -> EvpnDecoded {
        let b = hex::decode(hex_str.replace(' ', "")).unwrap_or_default();
        match decode_evpn(&b) {
            Ok((rest, d)) => {
                assert!(rest.is_empty());
                if let EvpnDecoded::Route(r) = &d {
                    let mut out = Vec::new();
                    r.encode(&mut out);
                    // Re-encoding is byte-exact except for host bits of a type-5 prefix.
                    if !matches!(r, EvpnRoute::IpPrefix(_)) {
                        assert_eq!(out, b);
                    }
                }
                d
            }
            Err(e) => panic!("decode failed: {e:?}"),
        }
    }

    #[test]
    fn type2_from_tcpdump_bgp_encap() {
        let d =
            decode("0221 0001040404040004 00000000000000000000 00000000 30 02060a0efaf3 00 000065");
        let EvpnDecoded::Route(EvpnRoute::MacIp(r)) = d else {
            panic!("not type 2")
        };
        assert_eq!(r.rd.to_string(), "4.4.4.4:4");
        assert_eq!(r.mac.to_string(), "02:06:0a:0e:fa:f3");
        assert_eq!(r.ip, None);
        assert_eq!(r.label1.vni().get(), 101);
        assert_eq!(r.label2, None);
    }

    #[test]
    fn type5_netgauze_vector() {
        let d = decode(
            "0522 00010a000a010002 00000000000000000000 00000000 18 0a000a00 00000000 000064",
        );
        let EvpnDecoded::Route(EvpnRoute::IpPrefix(r)) = d else {
            panic!("not type 5")
        };
        assert_eq!(r.rd.to_string(), "10.0.10.1:2");
        assert_eq!(r.prefix.to_string(), "10.0.10.0/24");
        assert_eq!(r.label.vni().get(), 100);
        assert!(r.gateway.is_unspecified());
    }

    #[test]
    fn type5_ryu_unmasked_prefix_is_masked() {
        let d = decode(
            "0522 0000fde80000000a 00000000000000000000 0000000a 18 0a0a0a0a 14141414 000000",
        );
        let EvpnDecoded::Route(EvpnRoute::IpPrefix(r)) = d else {
            panic!("not type 5")
        };
        assert_eq!(r.prefix.to_string(), "10.10.10.0/24");
        assert_eq!(r.gateway.to_string(), "20.20.20.20");
        assert_eq!(r.eth_tag, 10);
    }

    #[test]
    fn type3_and_key() {
        let d = decode("0311 0001ac1000c80004 00000000 20 ac1000c8");
        let EvpnDecoded::Route(r) = d else {
            panic!("skipped")
        };
        assert_eq!(
            r.key(),
            EvpnKey::InclusiveMulticast {
                rd: RouteDistinguisher::from_bytes([0, 1, 172, 16, 0, 200, 0, 4]),
                eth_tag: 0,
                originator: "172.16.0.200"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            }
        );
    }

    #[test]
    fn unknown_type_is_skipped_and_bad_lengths_fail() {
        assert_eq!(
            decode("0803 010203"),
            EvpnDecoded::Skipped {
                route_type: 8,
                length: 3
            }
        );
        // Type 5 of 46 octets (IPv4 prefix with IPv6 gateway) is malformed.
        let mut bad = vec![5u8, 46];
        bad.extend_from_slice(&[0; 46]);
        assert!(decode_evpn(&bad).is_err());
        // /33 in a 34-octet type-5.
        let mut bad =
            hex::decode("05220000fde80000000a000000000000000000000000000a210a0a0a0a14141414000000")
                .unwrap_or_default();
        assert!(decode_evpn(&bad).is_err());
        bad.truncate(10);
        assert!(decode_evpn(&bad).is_err());
        // Type 2 with a MAC length of 47.
        let b =
            hex::decode("02210001040404040004000000000000000000000000000002f02060a0efaf300000065")
                .unwrap_or_default();
        assert!(decode_evpn(&b).is_err());
    }
}
