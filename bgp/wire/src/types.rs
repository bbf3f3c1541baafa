//! Small value types shared by every part of the model: address families, route
//! distinguishers, route-target values, MAC addresses, ESIs and the 3-octet label field.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Serialize, Serializer};

/// Address Family Identifiers used by this crate (IANA "Address Family Numbers").
pub mod afi {
    /// IPv4.
    pub const IPV4: u16 = 1;
    /// IPv6.
    pub const IPV6: u16 = 2;
    /// Layer-2 VPN.
    pub const L2VPN: u16 = 25;
}

/// Subsequent Address Family Identifiers used by this crate.
pub mod safi {
    /// Unicast.
    pub const UNICAST: u8 = 1;
    /// BGP EVPN (RFC 7432).
    pub const EVPN: u8 = 70;
    /// MPLS-labeled VPN (RFC 4364 / RFC 4659).
    pub const MPLS_VPN: u8 = 128;
}

/// A raw (AFI, SAFI) pair as it appears on the wire. It may name a family this crate does
/// not model; [`Family`] is the registry of the ones it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AfiSafi {
    /// Address Family Identifier.
    pub afi: u16,
    /// Subsequent Address Family Identifier.
    pub safi: u8,
}

impl AfiSafi {
    /// Builds a pair.
    pub const fn new(afi: u16, safi: u8) -> Self {
        Self { afi, safi }
    }

    /// The modelled family this pair names, if any.
    pub fn family(self) -> Option<Family> {
        Family::from_afi_safi(self)
    }
}

impl fmt::Display for AfiSafi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family() {
            Some(fam) => write!(f, "{fam}"),
            None => write!(f, "afi {}/safi {}", self.afi, self.safi),
        }
    }
}

/// The one registry of address families perouterd speaks. Every dispatch over families is an
/// exhaustive `match` on this enum (no wildcard arm), so adding a family is a compile error
/// everywhere it must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Family {
    /// IPv4 unicast (1/1).
    Ipv4Unicast,
    /// IPv6 unicast (2/1).
    Ipv6Unicast,
    /// VPN-IPv4 (1/128, RFC 4364).
    Ipv4Vpn,
    /// VPN-IPv6 (2/128, RFC 4659).
    Ipv6Vpn,
    /// L2VPN EVPN (25/70, RFC 7432).
    L2vpnEvpn,
}

impl Family {
    /// Every family, in registry order.
    pub const ALL: [Family; 5] = [
        Family::Ipv4Unicast,
        Family::Ipv6Unicast,
        Family::Ipv4Vpn,
        Family::Ipv6Vpn,
        Family::L2vpnEvpn,
    ];

    /// The wire (AFI, SAFI) of this family.
    pub const fn afi_safi(self) -> AfiSafi {
        match self {
            Family::Ipv4Unicast => AfiSafi::new(afi::IPV4, safi::UNICAST),
            Family::Ipv6Unicast => AfiSafi::new(afi::IPV6, safi::UNICAST),
            Family::Ipv4Vpn => AfiSafi::new(afi::IPV4, safi::MPLS_VPN),
            Family::Ipv6Vpn => AfiSafi::new(afi::IPV6, safi::MPLS_VPN),
            Family::L2vpnEvpn => AfiSafi::new(afi::L2VPN, safi::EVPN),
        }
    }

    /// The modelled family for a wire pair.
    pub fn from_afi_safi(pair: AfiSafi) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.afi_safi() == pair)
    }

    /// A dense index, for per-family arrays and bit sets.
    pub const fn index(self) -> usize {
        match self {
            Family::Ipv4Unicast => 0,
            Family::Ipv6Unicast => 1,
            Family::Ipv4Vpn => 2,
            Family::Ipv6Vpn => 3,
            Family::L2vpnEvpn => 4,
        }
    }

    /// Name as used in configuration and output.
    pub const fn name(self) -> &'static str {
        match self {
            Family::Ipv4Unicast => "ipv4-unicast",
            Family::Ipv6Unicast => "ipv6-unicast",
            Family::Ipv4Vpn => "ipv4-vpn",
            Family::Ipv6Vpn => "ipv6-vpn",
            Family::L2vpnEvpn => "l2vpn-evpn",
        }
    }

    /// Parses [`Family::name`].
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Family`] values (a bit set over the registry).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FamilySet(u8);

impl FamilySet {
    /// The empty set.
    pub const EMPTY: FamilySet = FamilySet(0);

    /// Every family.
    pub fn all() -> FamilySet {
        Family::ALL.into_iter().collect()
    }

    fn bit(family: Family) -> u8 {
        1u8.checked_shl(u32::try_from(family.index()).unwrap_or(0))
            .unwrap_or(0)
    }

    /// Whether `family` is in the set.
    pub fn contains(self, family: Family) -> bool {
        self.0 & Self::bit(family) != 0
    }

    /// Adds `family`.
    pub fn insert(&mut self, family: Family) {
        self.0 |= Self::bit(family);
    }

    /// Removes `family`.
    pub fn remove(&mut self, family: Family) {
        self.0 &= !Self::bit(family);
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 & FamilySet::all_bits() == 0
    }

    fn all_bits() -> u8 {
        Family::ALL.into_iter().fold(0, |acc, f| acc | Self::bit(f))
    }

    /// The members, in registry order.
    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Family> for FamilySet {
    fn from_iter<I: IntoIterator<Item = Family>>(iter: I) -> Self {
        let mut set = FamilySet::EMPTY;
        for f in iter {
            set.insert(f);
        }
        set
    }
}

impl fmt::Debug for FamilySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for FamilySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A 48-bit IEEE MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// The all-zero address.
    pub const ZERO: Mac = Mac([0; 6]);

    /// Group (multicast or broadcast) bit set.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// All ones.
    pub fn is_broadcast(self) -> bool {
        self.0 == [0xff; 6]
    }

    /// All zeros.
    pub fn is_zero(self) -> bool {
        self == Mac::ZERO
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A 10-octet Ethernet Segment Identifier (RFC 7432 §5): type octet plus 9 value octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Esi(pub [u8; 10]);

impl Esi {
    /// The zero ESI (single-homed).
    pub const ZERO: Esi = Esi([0; 10]);

    /// The ESI type (octet 0): 0 arbitrary, 1 LACP, 2 L2 bridge, 3 MAC, 4 router id, 5 AS.
    pub fn esi_type(self) -> u8 {
        self.0[0]
    }

    /// All zeros.
    pub fn is_zero(self) -> bool {
        self == Esi::ZERO
    }
}

impl fmt::Display for Esi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Esi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Esi {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A VXLAN Network Identifier: 24 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Vni(u32);

impl Vni {
    /// Largest VNI.
    pub const MAX: u32 = 0x00ff_ffff;

    /// A VNI, if `value` fits in 24 bits.
    pub const fn new(value: u32) -> Option<Vni> {
        if value <= Self::MAX {
            Some(Vni(value))
        } else {
            None
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Vni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An MPLS label stack entry as carried in BGP NLRI (RFC 8277): 20-bit label, 3-bit traffic
/// class, bottom-of-stack bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MplsLabel {
    /// Label value (20 bits).
    pub label: u32,
    /// Traffic class / EXP bits (3 bits).
    pub tc: u8,
    /// Bottom-of-stack bit.
    pub bos: bool,
}

impl MplsLabel {
    /// Decodes the 3-octet wire form.
    pub fn from_bytes(b: [u8; 3]) -> MplsLabel {
        let raw = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        MplsLabel {
            label: raw >> 4,
            tc: (b[2] >> 1) & 0x07,
            bos: b[2] & 0x01 != 0,
        }
    }

    /// The 3-octet wire form.
    pub fn to_bytes(self) -> [u8; 3] {
        let label = self.label & 0x000f_ffff;
        let raw = (label << 4) | (u32::from(self.tc & 0x07) << 1) | u32::from(self.bos);
        let [_, a, b, c] = raw.to_be_bytes();
        [a, b, c]
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for MplsLabel {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(MplsLabel::from_bytes(u.arbitrary()?))
    }
}

/// The 3-octet "MPLS Label" field of EVPN NLRI and the PMSI Tunnel attribute, kept raw.
///
/// Its meaning depends on the encapsulation (RFC 8365 §5.1.3): for VXLAN the whole 24 bits are
/// the VNI ([`Label24::vni`]); for MPLS they are a label stack entry ([`Label24::mpls`]). The
/// wire does not say which, so the model keeps the raw value and the EVPN layer interprets it
/// from the Encapsulation extended community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(transparent)]
pub struct Label24(u32);

impl Label24 {
    /// A raw value; only the low 24 bits are kept.
    pub const fn new(raw: u32) -> Label24 {
        Label24(raw & 0x00ff_ffff)
    }

    /// The field carrying a VNI (VXLAN / NVGRE: all 24 bits).
    pub const fn from_vni(vni: Vni) -> Label24 {
        Label24(vni.get())
    }

    /// The field carrying an MPLS label stack entry.
    pub fn from_mpls(label: MplsLabel) -> Label24 {
        Label24::from_bytes(label.to_bytes())
    }

    /// Decodes the wire form.
    #[inline]
    pub fn from_bytes(b: [u8; 3]) -> Label24 {
        Label24(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// The wire form.
    pub fn to_bytes(self) -> [u8; 3] {
        let [_, a, b, c] = self.0.to_be_bytes();
        [a, b, c]
    }

    /// The raw 24-bit value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Read as a VXLAN VNI.
    pub const fn vni(self) -> Vni {
        Vni(self.0)
    }

    /// Read as an MPLS label stack entry.
    pub fn mpls(self) -> MplsLabel {
        MplsLabel::from_bytes(self.to_bytes())
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Label24 {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Label24::from_bytes(u.arbitrary()?))
    }
}

/// The administrator/assigned-number pair shared by route distinguishers, route targets and
/// route origins (RFC 4364 §4.2, RFC 4360 §4, RFC 5668).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum AdminValue {
    /// Type 0: 2-octet AS administrator, 4-octet assigned number.
    As2 {
        /// AS number.
        asn: u16,
        /// Assigned number.
        value: u32,
    },
    /// Type 1: IPv4 administrator, 2-octet assigned number.
    Ipv4 {
        /// IPv4 address.
        addr: Ipv4Addr,
        /// Assigned number.
        value: u16,
    },
    /// Type 2: 4-octet AS administrator, 2-octet assigned number.
    As4 {
        /// AS number.
        asn: u32,
        /// Assigned number.
        value: u16,
    },
}

impl AdminValue {
    /// The type code (0, 1 or 2).
    pub fn type_code(self) -> u8 {
        match self {
            AdminValue::As2 { .. } => 0,
            AdminValue::Ipv4 { .. } => 1,
            AdminValue::As4 { .. } => 2,
        }
    }

    /// The 6 value octets.
    pub fn value_bytes(self) -> [u8; 6] {
        let mut out = [0u8; 6];
        let (head, tail) = out.split_at_mut(4);
        match self {
            AdminValue::As2 { asn, value } => {
                let v = value.to_be_bytes();
                let a = asn.to_be_bytes();
                return [a[0], a[1], v[0], v[1], v[2], v[3]];
            }
            AdminValue::Ipv4 { addr, value } => {
                head.copy_from_slice(&addr.octets());
                tail.copy_from_slice(&value.to_be_bytes());
            }
            AdminValue::As4 { asn, value } => {
                head.copy_from_slice(&asn.to_be_bytes());
                tail.copy_from_slice(&value.to_be_bytes());
            }
        }
        out
    }

    /// Decodes from a type code (0, 1, 2) and 6 value octets.
    #[inline]
    pub fn from_parts(type_code: u8, v: [u8; 6]) -> Option<AdminValue> {
        let [a, b, c, d, e, f] = v;
        match type_code {
            0 => Some(AdminValue::As2 {
                asn: u16::from_be_bytes([a, b]),
                value: u32::from_be_bytes([c, d, e, f]),
            }),
            1 => Some(AdminValue::Ipv4 {
                addr: Ipv4Addr::new(a, b, c, d),
                value: u16::from_be_bytes([e, f]),
            }),
            2 => Some(AdminValue::As4 {
                asn: u32::from_be_bytes([a, b, c, d]),
                value: u16::from_be_bytes([e, f]),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for AdminValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminValue::As2 { asn, value } => write!(f, "{asn}:{value}"),
            AdminValue::Ipv4 { addr, value } => write!(f, "{addr}:{value}"),
            AdminValue::As4 { asn, value } => write!(f, "{asn}:{value}"),
        }
    }
}

impl Serialize for AdminValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A Route Distinguisher (RFC 4364 §4.2): 2-octet type plus 6 octets, kept as its wire
/// octets (comparisons and hashing are on those; the administrator form is read on demand by
/// [`RouteDistinguisher::admin`]). Types other than 0, 1 and 2 are kept too: FRR logs and
/// still parses them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RouteDistinguisher([u8; 8]);

impl RouteDistinguisher {
    /// The all-zero RD (type 0, 0:0), used in VPN next hops.
    pub const ZERO: RouteDistinguisher = RouteDistinguisher([0; 8]);

    /// From the 8 wire octets.
    #[inline]
    pub const fn from_bytes(b: [u8; 8]) -> RouteDistinguisher {
        RouteDistinguisher(b)
    }

    /// The 8 wire octets.
    #[inline]
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// An RD of type 0, 1 or 2.
    pub fn new(admin: AdminValue) -> RouteDistinguisher {
        let [v0, v1, v2, v3, v4, v5] = admin.value_bytes();
        RouteDistinguisher([0, admin.type_code(), v0, v1, v2, v3, v4, v5])
    }

    /// The 2-octet type.
    pub fn rd_type(self) -> u16 {
        let [t0, t1, ..] = self.0;
        u16::from_be_bytes([t0, t1])
    }

    /// The administrator and assigned number, for types 0, 1 and 2.
    pub fn admin(self) -> Option<AdminValue> {
        let [_, _, v0, v1, v2, v3, v4, v5] = self.0;
        u8::try_from(self.rd_type())
            .ok()
            .and_then(|t| AdminValue::from_parts(t, [v0, v1, v2, v3, v4, v5]))
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for RouteDistinguisher {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        if u.ratio(1, 8)? {
            Ok(RouteDistinguisher(u.arbitrary()?))
        } else {
            Ok(RouteDistinguisher::new(u.arbitrary()?))
        }
    }
}

impl fmt::Display for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.admin() {
            Some(a) => write!(f, "{a}"),
            None => {
                write!(f, "type{}:", self.rd_type())?;
                for b in self.0.iter().skip(2) {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RD({self})")
    }
}

impl Serialize for RouteDistinguisher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Serializes an `f32` bit pattern (link bandwidth) as a number.
pub(crate) fn serialize_f32_bits<S: Serializer>(bits: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f32(f32::from_bits(*bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_registry_round_trips() {
        for f in Family::ALL {
            assert_eq!(Family::from_afi_safi(f.afi_safi()), Some(f));
            assert_eq!(Family::from_name(f.name()), Some(f));
        }
        assert_eq!(Family::from_afi_safi(AfiSafi::new(1, 133)), None);
    }

    #[test]
    fn family_set_ops() {
        let mut s = FamilySet::EMPTY;
        assert!(s.is_empty());
        s.insert(Family::L2vpnEvpn);
        s.insert(Family::Ipv4Unicast);
        assert!(s.contains(Family::L2vpnEvpn));
        assert!(!s.contains(Family::Ipv6Vpn));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Family::Ipv4Unicast, Family::L2vpnEvpn]
        );
        s.remove(Family::Ipv4Unicast);
        assert_eq!(s.iter().count(), 1);
        assert_eq!(FamilySet::all().iter().count(), 5);
    }

    #[test]
    fn label_views() {
        // VNI 101 as FRR and GoBGP encode it: raw 24 bits.
        let l = Label24::from_bytes([0x00, 0x00, 0x65]);
        assert_eq!(l.vni().get(), 101);
        // MPLS label 16 with bottom of stack: 0x000101.
        let m = Label24::from_bytes([0x00, 0x01, 0x01]).mpls();
        assert_eq!((m.label, m.tc, m.bos), (16, 0, true));
        assert_eq!(Label24::from_mpls(m).to_bytes(), [0x00, 0x01, 0x01]);
        assert_eq!(Vni::new(0x0100_0000), None);
    }

    #[test]
    fn rd_text_and_bytes() {
        let rd = RouteDistinguisher::from_bytes([0, 1, 4, 4, 4, 4, 0, 4]);
        assert_eq!(rd.to_string(), "4.4.4.4:4");
        let rd0 = RouteDistinguisher::from_bytes([0, 0, 0xfd, 0xe8, 0, 0, 0, 100]);
        assert_eq!(rd0.to_string(), "65000:100");
        let rd2 = RouteDistinguisher::from_bytes([0, 2, 0xfa, 0x56, 0xea, 0, 0, 5]);
        assert_eq!(rd2.to_string(), "4200000000:5");
        let odd = RouteDistinguisher::from_bytes([0, 9, 1, 2, 3, 4, 5, 6]);
        assert_eq!(odd.to_bytes(), [0, 9, 1, 2, 3, 4, 5, 6]);
        for r in [rd, rd0, rd2, odd] {
            assert_eq!(RouteDistinguisher::from_bytes(r.to_bytes()), r);
        }
    }

    #[test]
    fn mac_flags() {
        assert!(Mac([0x01, 0, 0x5e, 0, 0, 1]).is_multicast());
        assert!(Mac([0xff; 6]).is_broadcast());
        assert!(!Mac([0x02, 6, 0x0a, 0x0e, 0xfa, 0xf3]).is_multicast());
        assert_eq!(
            Mac([0x02, 6, 0x0a, 0x0e, 0xfa, 0xf3]).to_string(),
            "02:06:0a:0e:fa:f3"
        );
    }
}
