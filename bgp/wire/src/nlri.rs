//! NLRI of every modelled family, MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) and next hops.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde::Serialize;

use crate::context::Context;
use crate::evpn::{decode_evpn_into, EvpnRoute};
use crate::parse::{array, invalid, prefix_octets, split, u32_, u8_, PResult};
use crate::types::{AfiSafi, Family, MplsLabel, RouteDistinguisher};

/// An IPv4 unicast NLRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Ipv4Nlri {
    /// ADD-PATH path identifier, when negotiated for the family and direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// The prefix (host bits cleared).
    pub prefix: Ipv4Net,
}

/// An IPv6 unicast NLRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Ipv6Nlri {
    /// ADD-PATH path identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// The prefix (host bits cleared).
    pub prefix: Ipv6Net,
}

/// A label stack: one label in place (the common case), more on the heap.
pub type LabelStack = smallvec::SmallVec<[MplsLabel; 1]>;

/// A labeled VPN NLRI (RFC 4364 / RFC 4659 / RFC 8277) for prefix type `P`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct VpnNlri<P> {
    /// ADD-PATH path identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// Label stack (one entry unless multiple labels are negotiated). In withdrawals the value
    /// is meaningless (often 0x800000). With an SRv6 Prefix-SID it may hold transposed SID bits.
    pub labels: LabelStack,
    /// Route distinguisher.
    pub rd: RouteDistinguisher,
    /// The prefix (host bits cleared).
    pub prefix: P,
}

/// A VPN-IPv4 NLRI.
pub type Vpnv4Nlri = VpnNlri<Ipv4Net>;
/// A VPN-IPv6 NLRI.
pub type Vpnv6Nlri = VpnNlri<Ipv6Net>;

/// An EVPN NLRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct EvpnNlri {
    /// ADD-PATH path identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// The route.
    #[serde(flatten)]
    pub route: EvpnRoute,
}

#[cfg(feature = "arbitrary")]
pub(crate) fn arb_v4net(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Ipv4Net> {
    let len = u.int_in_range(0..=32u8)?;
    let addr = Ipv4Addr::from(u.arbitrary::<[u8; 4]>()?);
    Ok(Ipv4Net::new(addr, len)
        .map(|n| n.trunc())
        .unwrap_or_default())
}

#[cfg(feature = "arbitrary")]
pub(crate) fn arb_v6net(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Ipv6Net> {
    let len = u.int_in_range(0..=128u8)?;
    let addr = Ipv6Addr::from(u.arbitrary::<[u8; 16]>()?);
    Ok(Ipv6Net::new(addr, len)
        .map(|n| n.trunc())
        .unwrap_or_default())
}

#[cfg(feature = "arbitrary")]
mod arb_impls {
    use super::*;
    use arbitrary::{Arbitrary, Result, Unstructured};

    impl<'a> Arbitrary<'a> for Ipv4Nlri {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(Ipv4Nlri {
                path_id: u.arbitrary()?,
                prefix: arb_v4net(u)?,
            })
        }
    }
    impl<'a> Arbitrary<'a> for Ipv6Nlri {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(Ipv6Nlri {
                path_id: u.arbitrary()?,
                prefix: arb_v6net(u)?,
            })
        }
    }
    impl<'a> Arbitrary<'a> for VpnNlri<Ipv4Net> {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(VpnNlri {
                path_id: u.arbitrary()?,
                labels: smallvec::smallvec![u.arbitrary()?],
                rd: u.arbitrary()?,
                prefix: arb_v4net(u)?,
            })
        }
    }
    impl<'a> Arbitrary<'a> for VpnNlri<Ipv6Net> {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(VpnNlri {
                path_id: u.arbitrary()?,
                labels: smallvec::smallvec![u.arbitrary()?],
                rd: u.arbitrary()?,
                prefix: arb_v6net(u)?,
            })
        }
    }
}

/// A list of NLRI of one family, as carried in MP_REACH / MP_UNREACH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "family", content = "routes", rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum NlriList {
    /// IPv4 unicast.
    Ipv4Unicast(Vec<Ipv4Nlri>),
    /// IPv6 unicast.
    Ipv6Unicast(Vec<Ipv6Nlri>),
    /// VPN-IPv4.
    Ipv4Vpn(Vec<Vpnv4Nlri>),
    /// VPN-IPv6.
    Ipv6Vpn(Vec<Vpnv6Nlri>),
    /// L2VPN EVPN.
    L2vpnEvpn(Vec<EvpnNlri>),
    /// A family this crate does not model, kept raw.
    Other {
        /// AFI/SAFI.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_unmodelled_family))]
        afi_safi: AfiSafi,
        /// The NLRI bytes.
        #[serde(serialize_with = "crate::update::hex_bytes")]
        raw: Vec<u8>,
    },
}

#[cfg(feature = "arbitrary")]
fn arb_unmodelled_family(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<AfiSafi> {
    let a = AfiSafi::new(u.arbitrary()?, u.arbitrary()?);
    Ok(if a.family().is_some() {
        AfiSafi::new(1, 133)
    } else {
        a
    })
}

impl NlriList {
    /// An empty list for `family`.
    pub fn empty(family: Family) -> NlriList {
        match family {
            Family::Ipv4Unicast => NlriList::Ipv4Unicast(vec![]),
            Family::Ipv6Unicast => NlriList::Ipv6Unicast(vec![]),
            Family::Ipv4Vpn => NlriList::Ipv4Vpn(vec![]),
            Family::Ipv6Vpn => NlriList::Ipv6Vpn(vec![]),
            Family::L2vpnEvpn => NlriList::L2vpnEvpn(vec![]),
        }
    }

    /// The wire AFI/SAFI.
    pub fn afi_safi(&self) -> AfiSafi {
        match self {
            NlriList::Ipv4Unicast(_) => Family::Ipv4Unicast.afi_safi(),
            NlriList::Ipv6Unicast(_) => Family::Ipv6Unicast.afi_safi(),
            NlriList::Ipv4Vpn(_) => Family::Ipv4Vpn.afi_safi(),
            NlriList::Ipv6Vpn(_) => Family::Ipv6Vpn.afi_safi(),
            NlriList::L2vpnEvpn(_) => Family::L2vpnEvpn.afi_safi(),
            NlriList::Other { afi_safi, .. } => *afi_safi,
        }
    }

    /// The modelled family, if any.
    pub fn family(&self) -> Option<Family> {
        self.afi_safi().family()
    }

    /// Number of routes (0 for an unmodelled family).
    pub fn len(&self) -> usize {
        match self {
            NlriList::Ipv4Unicast(v) => v.len(),
            NlriList::Ipv6Unicast(v) => v.len(),
            NlriList::Ipv4Vpn(v) => v.len(),
            NlriList::Ipv6Vpn(v) => v.len(),
            NlriList::L2vpnEvpn(v) => v.len(),
            NlriList::Other { raw, .. } => usize::from(!raw.is_empty()),
        }
    }

    /// No routes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the NLRI encoding of every route.
    pub fn encode(&self, ctx: &Context, out: &mut Vec<u8>) {
        self.encode_each(ctx, out, &mut Vec::new());
    }

    /// Appends the NLRI encoding of every route, recording in `ends` the buffer length after
    /// each route (so a packer can split the run between routes).
    pub fn encode_each(&self, ctx: &Context, out: &mut Vec<u8>, ends: &mut Vec<usize>) {
        let ap = |f: Family| ctx.add_path(f);
        match self {
            NlriList::Ipv4Unicast(v) => {
                encode_run(v, ap(Family::Ipv4Unicast), out, ends, |n, o| {
                    push_prefix(o, n.prefix.prefix_len(), &n.prefix.addr().octets());
                    n.path_id
                })
            }
            NlriList::Ipv6Unicast(v) => {
                encode_run(v, ap(Family::Ipv6Unicast), out, ends, |n, o| {
                    push_prefix(o, n.prefix.prefix_len(), &n.prefix.addr().octets());
                    n.path_id
                })
            }
            NlriList::Ipv4Vpn(v) => encode_run(v, ap(Family::Ipv4Vpn), out, ends, |n, o| {
                push_vpn(o, ctx, n, n.prefix.prefix_len(), &n.prefix.addr().octets());
                n.path_id
            }),
            NlriList::Ipv6Vpn(v) => encode_run(v, ap(Family::Ipv6Vpn), out, ends, |n, o| {
                push_vpn(o, ctx, n, n.prefix.prefix_len(), &n.prefix.addr().octets());
                n.path_id
            }),
            NlriList::L2vpnEvpn(v) => encode_run(v, ap(Family::L2vpnEvpn), out, ends, |n, o| {
                n.route.encode(o);
                n.path_id
            }),
            NlriList::Other { raw, .. } => {
                out.extend_from_slice(raw);
                ends.push(out.len());
            }
        }
    }
}

/// Encodes each route of a run: its path identifier (when ADD-PATH applies) in front of
/// what `body` writes, recording where each route ends. `body` writes the route and returns
/// its path identifier.
fn encode_run<T>(
    items: &[T],
    add_path: bool,
    out: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    body: impl Fn(&T, &mut Vec<u8>) -> Option<u32>,
) {
    for n in items {
        let at = out.len();
        if add_path {
            out.extend_from_slice(&[0; 4]);
        }
        let id = body(n, out);
        if add_path {
            crate::open::set_u32(out, at, id.unwrap_or(0));
        }
        ends.push(out.len());
    }
}

pub(crate) fn push_path_id(out: &mut Vec<u8>, add_path: bool, id: Option<u32>) {
    if add_path {
        out.extend_from_slice(&id.unwrap_or(0).to_be_bytes());
    }
}

pub(crate) fn push_prefix(out: &mut Vec<u8>, len: u8, octets: &[u8]) {
    out.push(len);
    out.extend_from_slice(octets.get(..prefix_octets(len)).unwrap_or(octets));
}

fn push_vpn<P>(out: &mut Vec<u8>, ctx: &Context, n: &VpnNlri<P>, len: u8, octets: &[u8]) {
    let labels = ctx.vpn_labels();
    // Length in bits: 24 per label + 64 for the RD + the prefix.
    let bits = labels
        .saturating_mul(24)
        .saturating_add(64)
        .saturating_add(usize::from(len));
    out.push(u8::try_from(bits).unwrap_or(u8::MAX));
    for k in 0..labels {
        let l = n.labels.get(k).copied().unwrap_or(MplsLabel {
            label: 0,
            tc: 0,
            bos: true,
        });
        out.extend_from_slice(&l.to_bytes());
    }
    out.extend_from_slice(&n.rd.to_bytes());
    out.extend_from_slice(octets.get(..prefix_octets(len)).unwrap_or(octets));
}

/// Result of decoding a run of NLRI: the routes, plus EVPN routes of unknown type skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedNlri {
    /// The routes.
    pub list: NlriList,
    /// Skipped EVPN routes: (route type, length).
    pub skipped: Vec<(u8, u8)>,
}

/// Decodes a whole NLRI field of `afi_safi`. Any overrun or invalid length fails the whole
/// field (RFC 7606 §5.3: the NLRI cannot be located).
pub fn decode_nlri<'a>(
    afi_safi: AfiSafi,
    ctx: &Context,
    input: &'a [u8],
) -> PResult<'a, DecodedNlri> {
    let Some(family) = afi_safi.family() else {
        return Ok((
            &[],
            DecodedNlri {
                list: NlriList::Other {
                    afi_safi,
                    raw: input.to_vec(),
                },
                skipped: vec![],
            },
        ));
    };
    let ap = ctx.add_path(family);
    let mut skipped = Vec::new();
    let mut i = input;
    let list = match family {
        Family::Ipv4Unicast => {
            let mut v = Vec::with_capacity(input.len() / 4);
            while !i.is_empty() {
                let (r, path_id) = path_id(i, ap)?;
                let (r, prefix) = ipv4_prefix(r)?;
                v.push(Ipv4Nlri { path_id, prefix });
                i = r;
            }
            NlriList::Ipv4Unicast(v)
        }
        Family::Ipv6Unicast => {
            let mut v = Vec::new();
            while !i.is_empty() {
                let (r, path_id) = path_id(i, ap)?;
                let (r, prefix) = ipv6_prefix(r)?;
                v.push(Ipv6Nlri { path_id, prefix });
                i = r;
            }
            NlriList::Ipv6Unicast(v)
        }
        Family::Ipv4Vpn => {
            let (r, v) = decode_vpn::<4, _>(i, ctx, ap, 32, crate::parse::v4net)?;
            i = r;
            NlriList::Ipv4Vpn(v)
        }
        Family::Ipv6Vpn => {
            let (r, v) = decode_vpn::<16, _>(i, ctx, ap, 128, crate::parse::v6net)?;
            i = r;
            NlriList::Ipv6Vpn(v)
        }
        Family::L2vpnEvpn => {
            // Type-5 IPv4 routes (36 octets with the envelope) are the common case.
            let mut v = Vec::with_capacity((input.len() / 36).saturating_add(1));
            while !i.is_empty() {
                let (r, path_id) = path_id(i, ap)?;
                let (r, ()) = decode_evpn_into(r, path_id, &mut v, &mut skipped)?;
                i = r;
            }
            NlriList::L2vpnEvpn(v)
        }
    };
    Ok((i, DecodedNlri { list, skipped }))
}

/// Decodes a run of labeled VPN NLRI whose prefixes have at most `N` octets (`max_bits`
/// bits); `net` builds the prefix with host bits cleared, or fails on a bad length.
fn decode_vpn<'a, const N: usize, P>(
    mut i: &'a [u8],
    ctx: &Context,
    add_path: bool,
    max_bits: u8,
    net: fn([u8; N], u8) -> Option<P>,
) -> PResult<'a, Vec<VpnNlri<P>>> {
    // 15 octets: the shortest common VPN-IPv4 NLRI (one label, RD, a /24 and its length).
    let mut v = Vec::with_capacity((i.len() / 15).saturating_add(1));
    while !i.is_empty() {
        let (r, path_id) = path_id(i, add_path)?;
        let (r, (labels, rd, bits, octets)) = vpn_head::<N>(r, ctx.vpn_labels(), max_bits)?;
        let Some(prefix) = net(octets, bits) else {
            return invalid(r, "vpn prefix length");
        };
        v.push(VpnNlri {
            path_id,
            labels,
            rd,
            prefix,
        });
        i = r;
    }
    Ok((i, v))
}

fn path_id(i: &[u8], add_path: bool) -> PResult<'_, Option<u32>> {
    if add_path {
        let (i, id) = crate::parse::field("path identifier", u32_)(i)?;
        Ok((i, Some(id)))
    } else {
        Ok((i, None))
    }
}

/// A length-in-bits prefix of at most `N` octets, zero-padded.
fn prefix_bytes<const N: usize>(i: &[u8], max_bits: u8) -> PResult<'_, (u8, [u8; N])> {
    let (r, bits) = u8_(i)?;
    if bits > max_bits {
        return invalid(i, "prefix length");
    }
    let (r, p) = split(r, prefix_octets(bits), "prefix")?;
    let mut out = [0u8; N];
    if let Some(dst) = out.get_mut(..p.len()) {
        dst.copy_from_slice(p);
    }
    Ok((r, (bits, out)))
}

/// An IPv4 prefix in NLRI encoding (host bits cleared).
pub fn ipv4_prefix(i: &[u8]) -> PResult<'_, Ipv4Net> {
    let (r, (bits, octets)) = prefix_bytes::<4>(i, 32)?;
    match crate::parse::v4net(octets, bits) {
        Some(n) => Ok((r, n)),
        None => invalid(i, "prefix length"),
    }
}

/// An IPv6 prefix in NLRI encoding (host bits cleared).
pub fn ipv6_prefix(i: &[u8]) -> PResult<'_, Ipv6Net> {
    let (r, (bits, octets)) = prefix_bytes::<16>(i, 128)?;
    match crate::parse::v6net(octets, bits) {
        Some(n) => Ok((r, n)),
        None => invalid(i, "prefix length"),
    }
}

type VpnHead<const N: usize> = (LabelStack, RouteDistinguisher, u8, [u8; N]);

fn vpn_head<const N: usize>(i: &[u8], labels: usize, max_bits: u8) -> PResult<'_, VpnHead<N>> {
    let (r, bits) = u8_(i)?;
    let fixed = labels.saturating_mul(24).saturating_add(64);
    let Some(plen) = usize::from(bits).checked_sub(fixed) else {
        return invalid(i, "vpn nlri length");
    };
    let plen = match u8::try_from(plen) {
        Ok(p) if p <= max_bits => p,
        _ => return invalid(i, "vpn prefix length"),
    };
    let mut stack = LabelStack::with_capacity(labels);
    let mut r = r;
    for _ in 0..labels {
        let (rr, l) = array::<3>(r)?;
        stack.push(MplsLabel::from_bytes(l));
        r = rr;
    }
    let (r, rd) = array::<8>(r)?;
    let (r, p) = split(r, prefix_octets(plen), "vpn prefix")?;
    let mut out = [0u8; N];
    if let Some(dst) = out.get_mut(..p.len()) {
        dst.copy_from_slice(p);
    }
    Ok((r, (stack, RouteDistinguisher::from_bytes(rd), plen, out)))
}

/// The next hop of an MP_REACH_NLRI, by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum NextHop {
    /// Length 0 (flow specification and other families without a next hop).
    None,
    /// 4 octets.
    Ipv4(Ipv4Addr),
    /// 16 octets, or 32 with a link-local address (RFC 2545).
    Ipv6 {
        /// Global address (or the link-local itself, as some speakers send).
        global: Ipv6Addr,
        /// Link-local address.
        #[serde(skip_serializing_if = "Option::is_none")]
        link_local: Option<Ipv6Addr>,
    },
    /// 12 octets: RD (zero) + IPv4, for VPN-IPv4.
    VpnIpv4 {
        /// The RD (must be zero).
        rd: RouteDistinguisher,
        /// Address.
        addr: Ipv4Addr,
    },
    /// 24 or 48 octets: RD + IPv6 (+ RD + link-local), for VPN-IPv6 or RFC 8950 VPN-IPv4.
    VpnIpv6 {
        /// The RD (must be zero).
        rd: RouteDistinguisher,
        /// Global address.
        global: Ipv6Addr,
        /// RD and link-local address.
        #[serde(skip_serializing_if = "Option::is_none")]
        link_local: Option<(RouteDistinguisher, Ipv6Addr)>,
    },
}

impl NextHop {
    /// The encoded length.
    pub fn len(&self) -> usize {
        match self {
            NextHop::None => 0,
            NextHop::Ipv4(_) => 4,
            NextHop::Ipv6 {
                link_local: None, ..
            } => 16,
            NextHop::Ipv6 {
                link_local: Some(_),
                ..
            } => 32,
            NextHop::VpnIpv4 { .. } => 12,
            NextHop::VpnIpv6 {
                link_local: None, ..
            } => 24,
            NextHop::VpnIpv6 {
                link_local: Some(_),
                ..
            } => 48,
        }
    }

    /// Length 0.
    pub fn is_empty(&self) -> bool {
        matches!(self, NextHop::None)
    }

    /// Appends the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            NextHop::None => {}
            NextHop::Ipv4(a) => out.extend_from_slice(&a.octets()),
            NextHop::Ipv6 { global, link_local } => {
                out.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.extend_from_slice(&ll.octets());
                }
            }
            NextHop::VpnIpv4 { rd, addr } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&addr.octets());
            }
            NextHop::VpnIpv6 {
                rd,
                global,
                link_local,
            } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&global.octets());
                if let Some((rd2, ll)) = link_local {
                    out.extend_from_slice(&rd2.to_bytes());
                    out.extend_from_slice(&ll.octets());
                }
            }
        }
    }

    /// Decodes a next hop of `bytes.len()` octets.
    pub fn decode(bytes: &[u8]) -> Option<NextHop> {
        let v6 = |b: &[u8]| <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from);
        let v4 = |b: &[u8]| <[u8; 4]>::try_from(b).ok().map(Ipv4Addr::from);
        let rd = |b: &[u8]| {
            <[u8; 8]>::try_from(b)
                .ok()
                .map(RouteDistinguisher::from_bytes)
        };
        match bytes.len() {
            0 => Some(NextHop::None),
            4 => v4(bytes).map(NextHop::Ipv4),
            16 => v6(bytes).map(|global| NextHop::Ipv6 {
                global,
                link_local: None,
            }),
            32 => {
                let (g, l) = bytes.split_at(16);
                Some(NextHop::Ipv6 {
                    global: v6(g)?,
                    link_local: Some(v6(l)?),
                })
            }
            12 => {
                let (r, a) = bytes.split_at(8);
                Some(NextHop::VpnIpv4 {
                    rd: rd(r)?,
                    addr: v4(a)?,
                })
            }
            24 => {
                let (r, a) = bytes.split_at(8);
                Some(NextHop::VpnIpv6 {
                    rd: rd(r)?,
                    global: v6(a)?,
                    link_local: None,
                })
            }
            48 => {
                let (first, second) = bytes.split_at(24);
                let (r1, a1) = first.split_at(8);
                let (r2, a2) = second.split_at(8);
                Some(NextHop::VpnIpv6 {
                    rd: rd(r1)?,
                    global: v6(a1)?,
                    link_local: Some((rd(r2)?, v6(a2)?)),
                })
            }
            _ => None,
        }
    }

    /// Whether a next hop of `len` octets is allowed for `family` in `ctx` (RFC 4760, 2545,
    /// 4364, 4659, 7432, 8950). Unmodelled families accept any length.
    pub fn length_allowed(family: Option<Family>, len: usize, ctx: &Context) -> bool {
        let Some(family) = family else { return true };
        let enhe = ctx.extended_next_hop.contains(family);
        match family {
            Family::Ipv4Unicast => len == 4 || (enhe && (len == 16 || len == 32)),
            Family::Ipv6Unicast => len == 16 || len == 32,
            Family::Ipv4Vpn => len == 12 || (enhe && (len == 24 || len == 48)),
            Family::Ipv6Vpn => len == 24 || len == 48,
            Family::L2vpnEvpn => len == 4 || len == 16 || len == 32,
        }
    }
}

/// MP_REACH_NLRI (attribute 14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MpReach {
    /// Next hop.
    pub next_hop: NextHop,
    /// Reachable NLRI (the family is the list's).
    pub nlri: NlriList,
}

/// MP_UNREACH_NLRI (attribute 15). An empty list is an End-of-RIB marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MpUnreach {
    /// Withdrawn NLRI (the family is the list's).
    pub withdrawn: NlriList,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::default()
    }

    #[test]
    fn ipv4_prefixes_and_add_path() {
        let b = [0x18, 10, 1, 1, 0x20, 5, 5, 5, 5, 0x00];
        let (r, d) = decode_nlri(Family::Ipv4Unicast.afi_safi(), &ctx(), &b)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(r.is_empty());
        let NlriList::Ipv4Unicast(v) = &d.list else {
            panic!()
        };
        let got: Vec<String> = v.iter().map(|n| n.prefix.to_string()).collect();
        assert_eq!(got, ["10.1.1.0/24", "5.5.5.5/32", "0.0.0.0/0"]);
        let mut out = Vec::new();
        d.list.encode(&ctx(), &mut out);
        assert_eq!(out, b);

        // bgp-rs bgp-add-path.cap: 00000001 20 05050505.
        let mut c = ctx();
        c.add_path.insert(Family::Ipv4Unicast);
        let b = [0, 0, 0, 1, 0x20, 5, 5, 5, 5];
        let (_, d) =
            decode_nlri(Family::Ipv4Unicast.afi_safi(), &c, &b).unwrap_or_else(|e| panic!("{e:?}"));
        let NlriList::Ipv4Unicast(v) = &d.list else {
            panic!()
        };
        assert_eq!(v.first().and_then(|n| n.path_id), Some(1));
        // Without the context the same bytes read as six other prefixes: the codec cannot
        // tell, which is why it never guesses and takes the context instead.
        let (_, d) = decode_nlri(Family::Ipv4Unicast.afi_safi(), &ctx(), &b)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(d.list.len(), 6);
    }

    #[test]
    fn prefix_errors() {
        for bad in [&[33u8, 1, 2, 3, 4, 5][..], &[24, 10, 1], &[8]] {
            assert!(
                decode_nlri(Family::Ipv4Unicast.afi_safi(), &ctx(), bad).is_err(),
                "{bad:?}"
            );
        }
        assert!(decode_nlri(Family::Ipv6Unicast.afi_safi(), &ctx(), &[129]).is_err());
    }

    #[test]
    fn vpnv4_gobgp_vector() {
        // GoBGP Test_MpReachNLRIWithVPNv4Prefix: 70 000101 0000fde800000064 0a0101.
        let b = hex::decode("700001010000fde8000000640a0101").unwrap_or_default();
        let (_, d) =
            decode_nlri(Family::Ipv4Vpn.afi_safi(), &ctx(), &b).unwrap_or_else(|e| panic!("{e:?}"));
        let NlriList::Ipv4Vpn(v) = &d.list else {
            panic!()
        };
        let n = v.first().cloned().unwrap_or_else(|| panic!("empty"));
        assert_eq!(
            n.labels.as_slice(),
            &[MplsLabel {
                label: 16,
                tc: 0,
                bos: true
            }]
        );
        assert_eq!(n.rd.to_string(), "65000:100");
        assert_eq!(n.prefix.to_string(), "10.1.1.0/24");
        let mut out = Vec::new();
        d.list.encode(&ctx(), &mut out);
        assert_eq!(out, b);
        // Bit length shorter than label + RD.
        assert!(decode_nlri(Family::Ipv4Vpn.afi_safi(), &ctx(), &[80, 0, 0, 1]).is_err());
    }

    #[test]
    fn next_hop_lengths() {
        for len in [0usize, 4, 12, 16, 24, 32, 48] {
            let nh = NextHop::decode(&vec![0u8; len]).unwrap_or_else(|| panic!("{len}"));
            assert_eq!(nh.len(), len);
            let mut out = Vec::new();
            nh.encode(&mut out);
            assert_eq!(out.len(), len);
        }
        for len in [1usize, 8, 20, 33, 64] {
            assert_eq!(NextHop::decode(&vec![0u8; len]), None);
        }
        let c = ctx();
        assert!(!NextHop::length_allowed(Some(Family::Ipv4Unicast), 16, &c));
        let mut e = ctx();
        e.extended_next_hop.insert(Family::Ipv4Unicast);
        assert!(NextHop::length_allowed(Some(Family::Ipv4Unicast), 16, &e));
        assert!(NextHop::length_allowed(Some(Family::L2vpnEvpn), 32, &c));
        assert!(!NextHop::length_allowed(Some(Family::L2vpnEvpn), 12, &c));
    }
}
