//! SRv6 L3VPN: VPN-IPv4 and VPN-IPv6 routes (RFC 4364, RFC 4659) whose service is an SRv6
//! SID carried in the BGP Prefix-SID attribute (RFC 9252), the counterpart of [`crate::type5`]
//! for OpenPERouter's `L3VPN` resources, with FRR 10's behaviour where the RFCs leave a choice.
//!
//! # SIDs ([`Locator`], [`vrf_sid`], [`allocate_functions`])
//!
//! OpenPERouter configures one locator, `MAIN`, `prefix <p> block-len 32 node-len 16`,
//! `behavior usid`, `format usid-f3216` ([`Locator::usid_f3216`]), and `sid vpn per-vrf export
//! auto` in every L3VPN VRF: one End.DT46 SID per VRF, shared by both families. A SID is the
//! locator prefix with the function written at bit offset block + node. FRR's zebra allocates
//! dynamic uSID f3216 functions from the LIB, `0xE000` upwards (`SRV6_SID_FORMAT_USID_F3216_LIB_START`
//! in FRR `zebra/zebra_srv6.h`); [`allocate_functions`] does the same, but keeps the functions
//! already in use so a SID survives restarts and reconfiguration.
//!
//! # Export ([`export`])
//!
//! As FRR's `vpn_leak_from_vrf_update` (`bgpd/bgp_mplsvpn.c`) originates it: RD = the VRF's RD
//! (`routerID:rdAssignedNumber`), prefix host bits cleared, and the **transposition scheme**
//! of RFC 9252 §4: the SID's function bits travel in the NLRI's label field and the SID in
//! the SRv6 SID Information sub-TLV has them zeroed (FRR copies the locator prefix). The label
//! is `function << (20 − function length)` as a 20-bit MPLS label with the bottom-of-stack bit
//! (FRR `bgp_zebra_srv6_sid_notify`: `label = sid_func << (20 - func_len)`), so for f3216 the
//! 16 function bits are the label's high 16 bits. The attribute is one SRv6 L3 Service TLV
//! (type 5) with one SID Information sub-TLV (flags 0, behaviour End.DT46 = 20, or uDT46 =
//! 0x0040 on a uSID locator) and a SID Structure sub-sub-TLV: block, node, function and
//! argument lengths of the locator, transposition length = function length, transposition
//! offset = block + node (for f3216: 32/16/16/0/16/48, as in the Cisco capture of
//! `bgp-evpn-wire.md` §1.13 E).
//!
//! The other attributes are the VRF route's (`base`), without MP_REACH/MP_UNREACH, NEXT_HOP,
//! PMSI tunnel, ORIGINATOR_ID and CLUSTER_LIST; ORIGIN defaults to IGP and AS_PATH to empty.
//! Route targets already on `base` are dropped and the VRF's export RTs added (FRR keeps the
//! foreign ones unless leaking VRF to VRF; we drop them so a host session cannot steer its
//! routes into other VRFs), sorted by wire octets as in [`crate::type5`]. The MP_REACH next
//! hop is our IPv6 address (the session's `update-source`) in the 24-octet VPN form (RD 0 +
//! IPv6), for VPN-IPv4 too: that needs RFC 8950 extended next hop on the session, which
//! OpenPERouter configures (`capability extended-nexthop` on IPv6 neighbours carrying
//! `ipv4 vpn`).
//!
//! # Import ([`import`])
//!
//! A route is imported into every VRF one of whose import rules matches one of its RTs
//! ([`crate::rt::imported`], exact or `*:N`; the RD plays no part and is only kept to tell
//! paths apart). Before that it is checked, in this order; the first failing check is
//! returned as [`Ignored`]:
//!
//! 1. the next hop is unspecified ([`Ignored::NoNextHop`]);
//! 2. the next hop is ours: our own routes reflected back ([`Ignored::OwnNextHop`]);
//! 3. no Prefix-SID attribute, or no SRv6 L3 Service TLV in it: an MPLS VPN route, which we
//!    cannot forward ([`Ignored::NoSrv6Service`]). Only the first L3 Service TLV counts (the
//!    receiver ignores the others, RFC 9252 §7 as noted in `bgp_wire::prefix_sid`);
//! 4. no SRv6 SID Information sub-TLV in it ([`Ignored::NoSidInformation`]); the first counts;
//! 5. a SID Structure whose lengths exceed 128 bits, or whose transposition does not fit the
//!    24-bit label field or the 128-bit SID ([`Ignored::BadSidStructure`]);
//! 6. a transposition but no label ([`Ignored::NoLabel`], cannot happen with decoded NLRI);
//! 7. the SID, transposition undone, is unspecified, multicast, loopback or IPv4-mapped
//!    ([`Ignored::BadSid`]);
//! 8. the SID is in our locator: one of our own routes under another next hop
//!    ([`Ignored::OwnSid`]).
//!
//! Undoing the transposition is FRR's `transpose_sid`: the top *transposition length* bits of
//! the label field replace the SID bits from *transposition offset* on. FRR reads them from
//! the 20-bit label value; we read the 24-bit field, which gives the same bits for lengths up
//! to 20 and also allows the up-to-24 bits RFC 9252 permits. The endpoint behaviour is not
//! checked (the remote decapsulates; End.DT4 with an IPv6 prefix is its business) and is kept
//! in [`Imported::behavior`]. AS-path loops are the session layer's job, as for type 5.
//!
//! FRR 8.4 as a PE (`vm/tests/l3vpn-fabric.sh`) has no per-VRF SID and no uSID: `sid vpn
//! export auto` per family gives an End.DT4 and an End.DT6 SID, advertised with behaviour
//! 0xFFFF and its constant structure 40/24/16/0, transposition 16 at 64, whatever the locator.
//! That describes a /64 locator only: with a /48 one its zebra installs the function at bit
//! 48 while the wire says 64, and every receiver (FRR 8.4's bgpd too) builds the wrong SID.
//!
//! # Kernel state ([`dataplane()`])
//!
//! * Our per-VRF SIDs, as zebra installs them (`zclient_send_localsid`): `SID/128` in the main
//!   table (254) via the VRF device, `encap seg6local action End.DT46 vrftable <table>`
//!   ([`local_sid_route`]). `dataplane::layout::l3vpn` does not create it.
//! * Per imported prefix, in the VRF's table: `encap seg6 mode encap segs <remote SID>`
//!   (H.Encaps) via the VRF device. The kernel looks the outer destination up again after
//!   encapsulating, so the device only has to exist (zebra resolves the BGP next hop through
//!   the underlay instead, which a sans-I/O module cannot). Checked on Linux 6.1 by
//!   `vm/tests/l3vpn-fabric.sh`: that lookup (`seg6_input` → `ip6_route_input`) runs with the
//!   VRF as input device, so it is made in the VRF's table first and falls through to the
//!   main table, where the remote locator is (an `unreachable default` in the VRF table would
//!   stop it, OpenPERouter's reverted PR #242). The outer source is `ip sr tunsrc` if set,
//!   else the kernel's pick among the VRF's addresses; `router::overlay` puts the IPv6 VTEP
//!   on the VRF device so that pick is the VTEP. The model carries one
//!   encapsulation per route, so paths with different SIDs cannot be ECMP'd: the numerically
//!   lowest SID wins, whatever the order the paths arrived in (the daemon should pass only
//!   best paths if BGP preference matters).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

use bgp_wire::community::ExtCommunity;
use bgp_wire::nlri::{NlriList, Vpnv4Nlri, Vpnv6Nlri};
use bgp_wire::prefix_sid::{
    PrefixSid, PrefixSidTlv, SidInformation, SidStructure, Srv6SubSubTlv, Srv6SubTlv,
};
use bgp_wire::types::{AdminValue, MplsLabel, RouteDistinguisher};
use bgp_wire::{Context, EncodeError, Origin, PathAttributes};
use dataplane::{DesiredState, Encap, Route, Seg6LocalAction};
use ipnet::{IpNet, Ipv6Net};

use crate::rt::{self, RtMatch};
use crate::type5::{route_targets, sorted_communities};

/// SRv6 endpoint behaviour code points (IANA "SRv6 Endpoint Behaviors", RFC 8986 §10.2; the
/// uSID (NEXT-CSID) ones as FRR's `lib/srv6.h` defines them).
pub mod behavior {
    /// End.DT6: decapsulate, IPv6 table lookup.
    pub const END_DT6: u16 = 18;
    /// End.DT4: decapsulate, IPv4 table lookup.
    pub const END_DT4: u16 = 19;
    /// End.DT46: decapsulate, IPv4 or IPv6 table lookup (FRR's per-VRF SID).
    pub const END_DT46: u16 = 20;
    /// uDT6: End.DT6 with the NEXT-CSID flavour.
    pub const END_DT6_USID: u16 = 0x003E;
    /// uDT4: End.DT4 with the NEXT-CSID flavour.
    pub const END_DT4_USID: u16 = 0x003F;
    /// uDT46: End.DT46 with the NEXT-CSID flavour (FRR's per-VRF SID on a uSID locator).
    pub const END_DT46_USID: u16 = 0x0040;
}

/// Widest function that fits the label field of a VPN NLRI (FRR's
/// `BGP_PREFIX_SID_SRV6_MAX_FUNCTION_LENGTH`: the 20 bits of an MPLS label).
pub const MAX_FUNCTION_LEN: u8 = 20;

/// FRR zebra's dynamic function range of the uSID f3216 format: the LIB, from
/// `SRV6_SID_FORMAT_USID_F3216_LIB_START` up to the explicit LIB (`ELIB_START` 0xFE00).
pub const USID_F3216_LIB: RangeInclusive<u32> = 0xE000..=0xFDFF;

/// The main routing table, where local SIDs live.
const MAIN_TABLE: u32 = 254;

/// An SRv6 locator: the node's SID prefix and how its SIDs are structured (RFC 8986 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Locator {
    /// The locator prefix (its length is `block_len + node_len`).
    pub prefix: Ipv6Net,
    /// Locator block length in bits.
    pub block_len: u8,
    /// Locator node length in bits.
    pub node_len: u8,
    /// Function length in bits (1 to [`MAX_FUNCTION_LEN`]: it is transposed into the label).
    pub function_len: u8,
    /// Argument length in bits.
    pub argument_len: u8,
    /// A uSID (NEXT-CSID) locator (`behavior usid`): SIDs are advertised with the uSID
    /// behaviour code points and functions allocated from [`USID_F3216_LIB`] for f3216.
    pub usid: bool,
}

/// Why a locator, SID or function is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SidError {
    /// Block, node, function and argument lengths add up to more than 128 bits.
    #[error("locator block {block} + node {node} + function {function} + argument {argument} bits exceed 128")]
    BadLengths {
        /// Block length.
        block: u8,
        /// Node length.
        node: u8,
        /// Function length.
        function: u8,
        /// Argument length.
        argument: u8,
    },
    /// The locator prefix length is not block + node.
    #[error("locator prefix length /{prefix_len} is not block + node = {expected}")]
    PrefixLength {
        /// The prefix's length.
        prefix_len: u8,
        /// Block + node.
        expected: u8,
    },
    /// The function length is 0 or more than [`MAX_FUNCTION_LEN`].
    #[error("function length {0} is not 1..=20 (the function is transposed into the MPLS label)")]
    FunctionLength(u8),
    /// The function does not fit the function length.
    #[error("function {function:#x} does not fit {function_len} bits")]
    FunctionTooWide {
        /// The function.
        function: u32,
        /// The function length.
        function_len: u8,
    },
    /// Function 0: that SID is the locator address itself (the node's End / uN SID).
    #[error("function 0 is the locator's own address")]
    ZeroFunction,
    /// The SID is not inside the locator prefix.
    #[error("SID {0} is not in the locator")]
    NotInLocator(Ipv6Addr),
    /// No free function left: the locator's dynamic range is smaller than this many VRFs.
    #[error("no free SRv6 function left for {0} VRFs")]
    Exhausted(usize),
}

impl Locator {
    /// OpenPERouter's locator: `block-len 32 node-len 16`, `behavior usid`, `format
    /// usid-f3216` (16-bit functions, no argument).
    pub fn usid_f3216(prefix: Ipv6Net) -> Locator {
        Locator {
            prefix: prefix.trunc(),
            block_len: 32,
            node_len: 16,
            function_len: 16,
            argument_len: 0,
            usid: true,
        }
    }

    /// Checks the lengths: they fit 128 bits, the prefix is block + node long, and the
    /// function is 1 to [`MAX_FUNCTION_LEN`] bits.
    pub fn validate(&self) -> Result<(), SidError> {
        let total = u16::from(self.block_len)
            + u16::from(self.node_len)
            + u16::from(self.function_len)
            + u16::from(self.argument_len);
        if total > 128 {
            return Err(SidError::BadLengths {
                block: self.block_len,
                node: self.node_len,
                function: self.function_len,
                argument: self.argument_len,
            });
        }
        let expected = self.function_offset();
        if self.prefix.prefix_len() != expected {
            return Err(SidError::PrefixLength {
                prefix_len: self.prefix.prefix_len(),
                expected,
            });
        }
        if self.function_len == 0 || self.function_len > MAX_FUNCTION_LEN {
            return Err(SidError::FunctionLength(self.function_len));
        }
        Ok(())
    }

    /// Bit offset of the function in a SID: block + node (saturating; see
    /// [`Locator::validate`]).
    pub fn function_offset(&self) -> u8 {
        self.block_len.saturating_add(self.node_len)
    }

    /// The largest function that fits the function length.
    pub fn max_function(&self) -> u32 {
        low_mask(self.function_len)
    }

    /// The functions [`allocate_functions`] hands out: [`USID_F3216_LIB`] on a uSID locator
    /// with 16-bit functions (what FRR's zebra allocates from), else every non-zero function.
    pub fn dynamic_functions(&self) -> RangeInclusive<u32> {
        if self.usid && self.function_len == 16 {
            USID_F3216_LIB
        } else {
            1..=self.max_function()
        }
    }

    /// The endpoint behaviour advertised for a per-VRF SID: End.DT46, or uDT46 on a uSID
    /// locator (FRR `vpn_leak_from_vrf_update`).
    pub fn vrf_behavior(&self) -> u16 {
        if self.usid {
            behavior::END_DT46_USID
        } else {
            behavior::END_DT46
        }
    }

    /// The SID Structure sub-sub-TLV FRR advertises for this locator: its lengths, with the
    /// function transposed (length = function length, offset = block + node).
    pub fn structure(&self) -> SidStructure {
        SidStructure {
            locator_block_len: self.block_len,
            locator_node_len: self.node_len,
            function_len: self.function_len,
            argument_len: self.argument_len,
            transposition_len: self.function_len,
            transposition_offset: self.function_offset(),
        }
    }

    /// The function of `sid`, which must be inside the locator.
    pub fn function_of(&self, sid: Ipv6Addr) -> Result<u32, SidError> {
        self.validate()?;
        if !self.prefix.contains(&sid) {
            return Err(SidError::NotInLocator(sid));
        }
        Ok(get_bits(sid, self.function_offset(), self.function_len))
    }
}

/// The SID of `function` under `locator`: the locator prefix with the function written at
/// bit offset block + node (locator `fc00:0:1::/48` f3216, function `0x0040`:
/// `fc00:0:1:40::`).
pub fn vrf_sid(locator: &Locator, function: u32) -> Result<Ipv6Addr, SidError> {
    locator.validate()?;
    if function == 0 {
        return Err(SidError::ZeroFunction);
    }
    if function > locator.max_function() {
        return Err(SidError::FunctionTooWide {
            function,
            function_len: locator.function_len,
        });
    }
    Ok(set_bits(
        locator.prefix.network(),
        locator.function_offset(),
        locator.function_len,
        function,
    ))
}

/// Stable per-VRF functions: every VRF of `vrfs` keeps its function in `existing` when that
/// is still a valid, non-zero function of `locator` not taken by another VRF (VRFs in name
/// order); the others get the lowest free function of [`Locator::dynamic_functions`], in
/// name order. The result depends only on the set of VRFs and `existing`, so feeding the
/// previous result back keeps every SID (FRR numbers them in creation order instead).
pub fn allocate_functions<'a>(
    locator: &Locator,
    vrfs: impl IntoIterator<Item = &'a str>,
    existing: &BTreeMap<String, u32>,
) -> Result<BTreeMap<String, u32>, SidError> {
    locator.validate()?;
    let vrfs: BTreeSet<&str> = vrfs.into_iter().collect();
    let mut used = BTreeSet::new();
    let mut out = BTreeMap::new();
    let mut fresh = Vec::new();
    for vrf in &vrfs {
        match existing.get(*vrf) {
            Some(&f) if f != 0 && f <= locator.max_function() && used.insert(f) => {
                out.insert((*vrf).to_owned(), f);
            }
            _ => fresh.push(*vrf),
        }
    }
    let mut candidates = locator.dynamic_functions();
    for vrf in fresh {
        let f = candidates
            .find(|f| !used.contains(f))
            .ok_or(SidError::Exhausted(vrfs.len()))?;
        used.insert(f);
        out.insert(vrf.to_owned(), f);
    }
    Ok(out)
}

/// An L3VPN VRF: its routes travel as VPN-IPv4/VPN-IPv6 routes with this VRF's SID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L3Vpn {
    /// VRF name (the kernel VRF device).
    pub vrf: String,
    /// The VRF's routing table.
    pub table: u32,
    /// RD of the routes we originate (`routerID:rdAssignedNumber`).
    pub rd: RouteDistinguisher,
    /// Route targets put on exported routes.
    pub export_rts: Vec<AdminValue>,
    /// Import rules: a route with any matching RT is imported into this VRF.
    pub import_rts: Vec<RtMatch>,
    /// The VRF's End.DT46 SID (in the node's locator).
    pub sid: Ipv6Addr,
}

/// The node's L3VPN configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpnConfig {
    /// Router ID (for RDs).
    pub router_id: Ipv4Addr,
    /// Local (underlay) AS (for default export RTs).
    pub asn: u32,
    /// Our IPv6 address: the VPN next hop and the SRv6 source (`update-source`).
    pub next_hop: Ipv6Addr,
    /// The node's locator (OpenPERouter's `MAIN`).
    pub locator: Locator,
    /// The L3VPN VRFs.
    pub vpns: Vec<L3Vpn>,
}

/// An L3VPN as configured (OpenPERouter's `L3VPN` spec), before RD, RT and SID derivation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpnSpec {
    /// VRF name.
    pub vrf: String,
    /// Routing table.
    pub table: u32,
    /// `rdAssignedNumber`: RD `routerID:n`, default export RT `ASN:n`.
    pub rd_assigned_number: u16,
    /// Explicit export RTs (empty: `ASN:rdAssignedNumber`).
    pub export_rts: Vec<AdminValue>,
    /// Import rules (OpenPERouter requires at least one).
    pub import_rts: Vec<RtMatch>,
}

impl VpnConfig {
    /// Builds the configuration: RD `router_id:rdAssignedNumber` (type 1), export RTs
    /// `asn:rdAssignedNumber` unless explicit (type 0, or type 2 for a 4-octet AS), and SIDs
    /// from [`allocate_functions`] with `existing` functions kept.
    pub fn with_auto(
        router_id: Ipv4Addr,
        asn: u32,
        next_hop: Ipv6Addr,
        locator: Locator,
        specs: &[VpnSpec],
        existing: &BTreeMap<String, u32>,
    ) -> Result<VpnConfig, SidError> {
        let functions =
            allocate_functions(&locator, specs.iter().map(|s| s.vrf.as_str()), existing)?;
        let mut vpns = Vec::with_capacity(specs.len());
        for spec in specs {
            let function = functions
                .get(&spec.vrf)
                .copied()
                .ok_or(SidError::Exhausted(specs.len()))?;
            let n = spec.rd_assigned_number;
            let export_rts = if spec.export_rts.is_empty() {
                vec![match u16::try_from(asn) {
                    Ok(asn) => AdminValue::As2 {
                        asn,
                        value: u32::from(n),
                    },
                    Err(_) => AdminValue::As4 { asn, value: n },
                }]
            } else {
                spec.export_rts.clone()
            };
            vpns.push(L3Vpn {
                vrf: spec.vrf.clone(),
                table: spec.table,
                rd: rt::rd_type1(router_id, n),
                export_rts,
                import_rts: spec.import_rts.clone(),
                sid: vrf_sid(&locator, function)?,
            });
        }
        Ok(VpnConfig {
            router_id,
            asn,
            next_hop,
            locator,
            vpns,
        })
    }

    /// The L3VPN of VRF `vrf`.
    pub fn vpn(&self, vrf: &str) -> Option<&L3Vpn> {
        self.vpns.iter().find(|v| v.vrf == vrf)
    }

    /// The per-VRF functions in use (to feed back to [`VpnConfig::with_auto`] as `existing`);
    /// SIDs outside the locator are left out.
    pub fn functions(&self) -> BTreeMap<String, u32> {
        self.vpns
            .iter()
            .filter_map(|v| Some((v.vrf.clone(), self.locator.function_of(v.sid).ok()?)))
            .collect()
    }

    /// Whether `sid` is one of ours: in our locator, or a VRF's SID.
    fn own_sid(&self, sid: Ipv6Addr) -> bool {
        self.locator.prefix.contains(&sid) || self.vpns.iter().any(|v| v.sid == sid)
    }
}

/// A VPN-IPv4 or VPN-IPv6 route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VpnRoute {
    /// VPN-IPv4.
    V4(Vpnv4Nlri),
    /// VPN-IPv6.
    V6(Vpnv6Nlri),
}

impl VpnRoute {
    /// The route for `prefix` (host bits cleared) under `rd` with one label, no path id.
    pub fn new(rd: RouteDistinguisher, prefix: IpNet, label: MplsLabel) -> VpnRoute {
        let labels = std::iter::once(label).collect();
        match prefix.trunc() {
            IpNet::V4(prefix) => VpnRoute::V4(Vpnv4Nlri {
                path_id: None,
                labels,
                rd,
                prefix,
            }),
            IpNet::V6(prefix) => VpnRoute::V6(Vpnv6Nlri {
                path_id: None,
                labels,
                rd,
                prefix,
            }),
        }
    }

    /// The route distinguisher.
    pub fn rd(&self) -> RouteDistinguisher {
        match self {
            VpnRoute::V4(n) => n.rd,
            VpnRoute::V6(n) => n.rd,
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> IpNet {
        match self {
            VpnRoute::V4(n) => IpNet::V4(n.prefix),
            VpnRoute::V6(n) => IpNet::V6(n.prefix),
        }
    }

    /// The first label (where a transposed SID function is).
    pub fn label(&self) -> Option<MplsLabel> {
        match self {
            VpnRoute::V4(n) => n.labels.first().copied(),
            VpnRoute::V6(n) => n.labels.first().copied(),
        }
    }

    /// The route as a one-element NLRI list of its family.
    pub fn nlri(&self) -> NlriList {
        match self {
            VpnRoute::V4(n) => NlriList::Ipv4Vpn(vec![n.clone()]),
            VpnRoute::V6(n) => NlriList::Ipv6Vpn(vec![n.clone()]),
        }
    }

    /// The VPN routes of an NLRI list (empty for other families).
    pub fn from_list(list: &NlriList) -> Vec<VpnRoute> {
        match list {
            NlriList::Ipv4Vpn(v) => v.iter().cloned().map(VpnRoute::V4).collect(),
            NlriList::Ipv6Vpn(v) => v.iter().cloned().map(VpnRoute::V6).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for VpnRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.rd(), self.prefix())
    }
}

/// A VPN route to originate: NLRI, attributes and MP_REACH next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The route (its RD and prefix are what a withdrawal names).
    pub route: VpnRoute,
    /// The attributes (`mp_reach`, `mp_unreach` and `next_hop` unset).
    pub attrs: PathAttributes,
    /// The MP_REACH next hop: RD 0 + our IPv6 address (24 octets).
    pub next_hop: bgp_wire::NextHop,
}

impl Export {
    /// The route as a one-element NLRI list.
    pub fn nlri(&self) -> NlriList {
        self.route.nlri()
    }

    /// The encoded UPDATE message(s) announcing the route under `ctx`
    /// ([`bgp_wire::pack::announce`]); a VPN-IPv4 route needs RFC 8950 in `ctx`.
    pub fn updates(&self, ctx: &Context) -> Result<Vec<Vec<u8>>, EncodeError> {
        bgp_wire::pack::announce(&self.attrs, self.next_hop, &self.nlri(), ctx)
    }
}

/// The 24-octet VPN MP_REACH next hop of `addr`: RD 0 + IPv6.
pub fn vpn_next_hop(addr: Ipv6Addr) -> bgp_wire::NextHop {
    bgp_wire::NextHop::VpnIpv6 {
        rd: RouteDistinguisher::ZERO,
        global: addr,
        link_local: None,
    }
}

/// The address of an MP_REACH next hop (the global one; `None` for length 0).
pub fn next_hop_address(nh: &bgp_wire::NextHop) -> Option<IpAddr> {
    match *nh {
        bgp_wire::NextHop::None => None,
        bgp_wire::NextHop::Ipv4(a) | bgp_wire::NextHop::VpnIpv4 { addr: a, .. } => {
            Some(IpAddr::V4(a))
        }
        bgp_wire::NextHop::Ipv6 { global, .. } | bgp_wire::NextHop::VpnIpv6 { global, .. } => {
            Some(IpAddr::V6(global))
        }
    }
}

/// The VPN route (and attributes and next hop) announcing `prefix` of VRF `vpn`, with the
/// attributes of the VRF route `base` (see the module documentation). Fails when the
/// locator is invalid or the VRF's SID is not in it.
pub fn export(
    cfg: &VpnConfig,
    vpn: &L3Vpn,
    prefix: IpNet,
    base: &PathAttributes,
) -> Result<Export, SidError> {
    let loc = &cfg.locator;
    let function = loc.function_of(vpn.sid)?;
    let shift = MAX_FUNCTION_LEN.saturating_sub(loc.function_len);
    let label = MplsLabel {
        label: function.checked_shl(u32::from(shift)).unwrap_or(0),
        tc: 0,
        bos: true,
    };
    let route = VpnRoute::new(vpn.rd, prefix, label);
    let info = SidInformation {
        sid: set_bits(vpn.sid, loc.function_offset(), loc.function_len, 0),
        flags: 0,
        endpoint_behavior: loc.vrf_behavior(),
        sub_sub_tlvs: vec![Srv6SubSubTlv::SidStructure(loc.structure())],
    };
    let others: Vec<ExtCommunity> = base
        .ext_communities
        .iter()
        .filter(|c| c.route_target().is_none())
        .copied()
        .collect();
    let attrs = PathAttributes {
        origin: Some(base.origin.unwrap_or(Origin::Igp)),
        as_path: Some(base.as_path.clone().unwrap_or_default()),
        next_hop: None,
        mp_reach: None,
        mp_unreach: None,
        pmsi_tunnel: None,
        originator_id: None,
        cluster_list: Vec::new(),
        ext_communities: sorted_communities(&vpn.export_rts, &others),
        prefix_sid: Some(PrefixSid {
            tlvs: vec![PrefixSidTlv::Srv6L3Service(vec![
                Srv6SubTlv::SidInformation(info),
            ])],
        }),
        ..base.clone()
    };
    Ok(Export {
        route,
        attrs,
        next_hop: vpn_next_hop(cfg.next_hop),
    })
}

/// A VPN route accepted into one VRF.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Imported {
    /// The VRF (an [`L3Vpn`]'s `vrf`).
    pub vrf: String,
    /// The prefix (host bits cleared; the RD stripped).
    pub prefix: IpNet,
    /// The route's RD (tells apart paths of the same prefix).
    pub rd: RouteDistinguisher,
    /// The remote PE (the route's next hop).
    pub next_hop: IpAddr,
    /// The remote service SID, transposition undone: the segment to encapsulate towards.
    pub sid: Ipv6Addr,
    /// The advertised endpoint behaviour (informational, see [`behavior`]).
    pub behavior: u16,
}

/// Why a VPN route is not imported at all (see the module documentation for the order in
/// which these are checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    /// The next hop is the unspecified address.
    #[error("VPN route with an unspecified next hop")]
    NoNextHop,
    /// The next hop is our own address: one of our routes reflected back.
    #[error("VPN route with our own next hop")]
    OwnNextHop,
    /// No Prefix-SID attribute, or no SRv6 L3 Service TLV in it (an MPLS VPN route).
    #[error("VPN route without an SRv6 L3 Service TLV: MPLS VPNs are not supported")]
    NoSrv6Service,
    /// The SRv6 L3 Service TLV has no SRv6 SID Information sub-TLV.
    #[error("SRv6 L3 Service TLV without SID information")]
    NoSidInformation,
    /// The SID Structure's lengths or transposition do not fit.
    #[error("malformed SRv6 SID structure {0:?}")]
    BadSidStructure(SidStructure),
    /// A transposition and no label to take the bits from.
    #[error("transposed SRv6 SID without a label")]
    NoLabel,
    /// The SID cannot be a destination (unspecified, multicast, loopback, IPv4-mapped).
    #[error("unusable SRv6 SID {0}")]
    BadSid(Ipv6Addr),
    /// The SID is in our own locator.
    #[error("SRv6 SID {0} is ours")]
    OwnSid(Ipv6Addr),
}

/// The service SID of a VPN route and its endpoint behaviour: the first SID Information of
/// the first SRv6 L3 Service TLV, transposition undone with `route`'s label (module
/// documentation, checks 3 to 7).
pub fn service_sid(route: &VpnRoute, attrs: &PathAttributes) -> Result<(Ipv6Addr, u16), Ignored> {
    let subs = attrs
        .prefix_sid
        .as_ref()
        .and_then(|p| {
            p.tlvs.iter().find_map(|t| match t {
                PrefixSidTlv::Srv6L3Service(subs) => Some(subs),
                _ => None,
            })
        })
        .ok_or(Ignored::NoSrv6Service)?;
    let info = subs
        .iter()
        .find_map(|s| match s {
            Srv6SubTlv::SidInformation(i) => Some(i),
            Srv6SubTlv::Unknown { .. } => None,
        })
        .ok_or(Ignored::NoSidInformation)?;
    let structure = info.sub_sub_tlvs.iter().find_map(|s| match s {
        Srv6SubSubTlv::SidStructure(st) => Some(*st),
        Srv6SubSubTlv::Unknown { .. } => None,
    });
    let sid = match structure {
        None => info.sid,
        Some(st) => untranspose(info.sid, st, route.label())?,
    };
    let bad = sid.is_unspecified()
        || sid.is_multicast()
        || sid.is_loopback()
        || sid.to_ipv4_mapped().is_some();
    if bad {
        return Err(Ignored::BadSid(sid));
    }
    Ok((sid, info.endpoint_behavior))
}

/// `sid` with the transposed bits of `st` taken back from the top of `label`'s 24-bit field.
fn untranspose(
    sid: Ipv6Addr,
    st: SidStructure,
    label: Option<MplsLabel>,
) -> Result<Ipv6Addr, Ignored> {
    let total = u16::from(st.locator_block_len)
        + u16::from(st.locator_node_len)
        + u16::from(st.function_len)
        + u16::from(st.argument_len);
    let (len, offset) = (st.transposition_len, st.transposition_offset);
    if total > 128 || len > 24 || u16::from(offset) + u16::from(len) > 128 {
        return Err(Ignored::BadSidStructure(st));
    }
    if len == 0 {
        return Ok(sid);
    }
    let [a, b, c] = label.ok_or(Ignored::NoLabel)?.to_bytes();
    let field = u32::from_be_bytes([0, a, b, c]);
    let bits = field.checked_shr(u32::from(24 - len)).unwrap_or(0);
    Ok(set_bits(sid, offset, len, bits))
}

/// The VRFs `route` (with attributes `attrs` and MP_REACH next hop `next_hop`, see
/// [`next_hop_address`]) is imported into, one [`Imported`] per VRF whose import rules match
/// one of its route targets (none matching: an empty list). A route failing a check of the
/// module documentation is [`Ignored`] as a whole.
pub fn import(
    cfg: &VpnConfig,
    route: &VpnRoute,
    attrs: &PathAttributes,
    next_hop: IpAddr,
) -> Result<Vec<Imported>, Ignored> {
    if next_hop.is_unspecified() {
        return Err(Ignored::NoNextHop);
    }
    if next_hop == IpAddr::V6(cfg.next_hop) {
        return Err(Ignored::OwnNextHop);
    }
    let (sid, behavior) = service_sid(route, attrs)?;
    if cfg.own_sid(sid) {
        return Err(Ignored::OwnSid(sid));
    }
    let rts = route_targets(attrs);
    let prefix = route.prefix().trunc();
    Ok(cfg
        .vpns
        .iter()
        .filter(|v| rt::imported(&v.import_rts, &rts))
        .map(|v| Imported {
            vrf: v.vrf.clone(),
            prefix,
            rd: route.rd(),
            next_hop,
            sid,
            behavior,
        })
        .collect())
}

/// Our SID of `vpn`, as zebra installs it: `SID/128` in the main table via the VRF device,
/// `encap seg6local action End.DT46 vrftable <table>`.
pub fn local_sid_route(vpn: &L3Vpn) -> Route {
    Route::unicast(
        MAIN_TABLE,
        IpNet::V6(Ipv6Net::from(vpn.sid)),
        vec![dataplane::NextHop::dev(vpn.vrf.as_str())],
    )
    .with_encap(Encap::Seg6Local(Seg6LocalAction::EndDt46 {
        vrf_table: vpn.table,
    }))
}

/// The kernel objects of the L3VPNs (see the module documentation): our SIDs, and one H.Encaps
/// route per imported prefix and VRF. Imports into VRFs not in `cfg`, from our own next hop or
/// towards our own SIDs are skipped.
pub fn dataplane(cfg: &VpnConfig, imported: &[Imported]) -> DesiredState {
    let mut d = DesiredState::new();
    for vpn in &cfg.vpns {
        d.add_route(local_sid_route(vpn));
    }
    let mut best: BTreeMap<(&str, IpNet), Ipv6Addr> = BTreeMap::new();
    for i in imported {
        if i.next_hop == IpAddr::V6(cfg.next_hop) || cfg.own_sid(i.sid) || cfg.vpn(&i.vrf).is_none()
        {
            continue;
        }
        best.entry((i.vrf.as_str(), i.prefix.trunc()))
            .and_modify(|s| *s = (*s).min(i.sid))
            .or_insert(i.sid);
    }
    for ((vrf, prefix), sid) in best {
        let Some(vpn) = cfg.vpn(vrf) else { continue };
        d.add_route(
            Route::unicast(vpn.table, prefix, vec![dataplane::NextHop::dev(vrf)])
                .with_encap(Encap::Seg6 {
                    segments: vec![sid],
                })
                .with_metric(dataplane::ROUTE_METRIC),
        );
    }
    d
}

/// The low `len` bits set (`len` ≤ 32).
fn low_mask(len: u8) -> u32 {
    1u32.checked_shl(u32::from(len))
        .map_or(u32::MAX, |b| b.wrapping_sub(1))
}

/// The `len` bits (≤ 32) of `addr` from bit `offset` (0 = most significant); bits past 128
/// read as 0.
fn get_bits(addr: Ipv6Addr, offset: u8, len: u8) -> u32 {
    let end = u32::from(offset) + u32::from(len);
    let v = u128::from(addr);
    let shifted = match 128u32.checked_sub(end) {
        Some(s) => v.checked_shr(s).unwrap_or(0),
        None => 0,
    };
    (shifted as u32) & low_mask(len)
}

/// `addr` with its `len` bits (≤ 32) from bit `offset` replaced by the low `len` bits of
/// `value` (callers keep `offset + len` ≤ 128).
fn set_bits(addr: Ipv6Addr, offset: u8, len: u8, value: u32) -> Ipv6Addr {
    let end = u32::from(offset) + u32::from(len);
    let Some(shift) = 128u32.checked_sub(end) else {
        return addr;
    };
    let mask = u128::from(low_mask(len)).checked_shl(shift).unwrap_or(0);
    let bits = u128::from(value & low_mask(len))
        .checked_shl(shift)
        .unwrap_or(0);
    Ipv6Addr::from((u128::from(addr) & !mask) | bits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bgp_wire::types::Family;
    use bgp_wire::{decode_message, AsPath, Message, MpReach};

    use super::*;
    use crate::rt::{parse_rt, rd_type1};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ip6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn loc(s: &str) -> Locator {
        Locator::usid_f3216(s.parse().unwrap())
    }

    fn spec(vrf: &str, table: u32, n: u16, import: &str) -> VpnSpec {
        VpnSpec {
            vrf: vrf.into(),
            table,
            rd_assigned_number: n,
            export_rts: vec![],
            import_rts: vec![import.parse().unwrap()],
        }
    }

    /// Node `k` (router 10.0.0.k, next hop fd00:65::k, locator fd00:0:3k::/48, AS 64514):
    /// red (table 5, n 100, imports `*:100`) and blue (table 6, n 200, imports exactly
    /// `64514:200`).
    fn node(k: u8) -> VpnConfig {
        VpnConfig::with_auto(
            Ipv4Addr::new(10, 0, 0, k),
            64514,
            ip6(&format!("fd00:65::{k}")),
            loc(&format!("fd00:0:3{k}::/48")),
            &[
                spec("red", 5, 100, "*:100"),
                spec("blue", 6, 200, "64514:200"),
            ],
            &BTreeMap::new(),
        )
        .unwrap()
    }

    fn base() -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![64515])),
            med: Some(7),
            ..PathAttributes::default()
        }
    }

    fn ctx() -> Context {
        let mut c = Context::default();
        c.extended_next_hop.insert(Family::Ipv4Vpn);
        c
    }

    /// Encodes `e`, decodes it back, checks it is identical and returns what a receiver
    /// sees: the route(s), the attributes without MP_REACH and the next hop address.
    fn round_trip(e: &Export) -> (Vec<VpnRoute>, PathAttributes, IpAddr) {
        let ctx = ctx();
        let msgs = e.updates(&ctx).unwrap();
        assert_eq!(msgs.len(), 1);
        let received = decode_message(msgs.first().unwrap(), &ctx).unwrap();
        assert!(received.verdict.is_clean(), "{:?}", received.verdict);
        let Message::Update(u) = received.message else {
            panic!("not an UPDATE")
        };
        let mut attrs = u.attributes;
        let reach = attrs.mp_reach.take().unwrap();
        assert_eq!(attrs, e.attrs);
        assert_eq!(
            reach,
            MpReach {
                next_hop: e.next_hop,
                nlri: e.nlri()
            }
        );
        let nh = next_hop_address(&reach.next_hop).unwrap();
        (VpnRoute::from_list(&reach.nlri), attrs, nh)
    }

    #[test]
    fn sid_arithmetic_f3216() {
        let l = loc("fc00:0:1::/48");
        assert_eq!(l.validate(), Ok(()));
        assert_eq!(vrf_sid(&l, 0x0040), Ok(ip6("fc00:0:1:40::")));
        assert_eq!(vrf_sid(&l, 0xe000), Ok(ip6("fc00:0:1:e000::")));
        assert_eq!(vrf_sid(&l, 0xffff), Ok(ip6("fc00:0:1:ffff::")));
        assert_eq!(l.function_of(ip6("fc00:0:1:e001::")), Ok(0xe001));
        assert_eq!(
            l.function_of(ip6("fc00:0:2:e001::")),
            Err(SidError::NotInLocator(ip6("fc00:0:2:e001::")))
        );
        assert_eq!(
            vrf_sid(&l, 0x1_0000),
            Err(SidError::FunctionTooWide {
                function: 0x1_0000,
                function_len: 16
            })
        );
        assert_eq!(vrf_sid(&l, 0), Err(SidError::ZeroFunction));
        // Host bits of the configured prefix are cleared.
        assert_eq!(
            loc("fc00:0:1:5::/48").prefix,
            "fc00:0:1::/48".parse().unwrap()
        );
        // Uncompressed f4024 with an 8-bit argument: the function sits at bit 64.
        let f4024 = Locator {
            prefix: "2001:db8:1:1::/64".parse().unwrap(),
            block_len: 40,
            node_len: 24,
            function_len: 16,
            argument_len: 8,
            usid: false,
        };
        assert_eq!(vrf_sid(&f4024, 0x100), Ok(ip6("2001:db8:1:1:100::")));
        assert_eq!(f4024.vrf_behavior(), behavior::END_DT46);
        assert_eq!(f4024.dynamic_functions(), 1..=0xffff);
        assert_eq!(l.vrf_behavior(), behavior::END_DT46_USID);
        // Bad lengths.
        let bad = |f: &dyn Fn(&mut Locator)| {
            let mut x = l;
            f(&mut x);
            vrf_sid(&x, 1).unwrap_err()
        };
        assert_eq!(
            bad(&|x| x.prefix = "fc00:0:1::/64".parse().unwrap()),
            SidError::PrefixLength {
                prefix_len: 64,
                expected: 48
            }
        );
        assert_eq!(bad(&|x| x.function_len = 21), SidError::FunctionLength(21));
        assert_eq!(bad(&|x| x.function_len = 0), SidError::FunctionLength(0));
        assert!(matches!(
            bad(&|x| x.argument_len = 70),
            SidError::BadLengths { argument: 70, .. }
        ));
        assert!(matches!(
            bad(&|x| {
                x.block_len = 200;
                x.node_len = 100;
            }),
            SidError::BadLengths { .. }
        ));
        assert!(SidError::FunctionLength(21).to_string().contains("1..=20"));
    }

    #[test]
    fn functions_are_stable() {
        let l = loc("fd00:0:32::/48");
        let none = BTreeMap::new();
        let a = allocate_functions(&l, ["red", "blue"], &none).unwrap();
        // FRR's first dynamic uSID function is 0xE000; names in order.
        assert_eq!(a["blue"], 0xe000);
        assert_eq!(a["red"], 0xe001);
        assert_eq!(a, allocate_functions(&l, ["blue", "red"], &none).unwrap());
        // Adding a VRF keeps the others; removing one keeps the rest.
        let b = allocate_functions(&l, ["red", "blue", "apple"], &a).unwrap();
        assert_eq!((b["blue"], b["red"], b["apple"]), (0xe000, 0xe001, 0xe002));
        let c = allocate_functions(&l, ["red", "apple"], &b).unwrap();
        assert_eq!((c["red"], c["apple"]), (0xe001, 0xe002));
        // A freed function is reused, lowest first.
        let d = allocate_functions(&l, ["red", "apple", "zebra"], &c).unwrap();
        assert_eq!(d["zebra"], 0xe000);
        // Invalid or duplicate existing functions are reallocated.
        let mut broken = BTreeMap::new();
        broken.insert("blue".to_owned(), 0xe005);
        broken.insert("red".to_owned(), 0xe005);
        broken.insert("green".to_owned(), 0x1_0000);
        let e = allocate_functions(&l, ["red", "blue", "green"], &broken).unwrap();
        assert_eq!((e["blue"], e["green"], e["red"]), (0xe005, 0xe000, 0xe001));
        // Explicit functions outside the LIB are kept.
        let mut explicit = BTreeMap::new();
        explicit.insert("red".to_owned(), 0x40);
        assert_eq!(
            allocate_functions(&l, ["red"], &explicit).unwrap()["red"],
            0x40
        );
        // A 2-bit function space holds three VRFs.
        let tiny = Locator {
            function_len: 2,
            usid: false,
            ..l
        };
        assert!(allocate_functions(&tiny, ["a", "b", "c"], &none).is_ok());
        assert_eq!(
            allocate_functions(&tiny, ["a", "b", "c", "d"], &none),
            Err(SidError::Exhausted(4))
        );
        // The configuration reports its functions back.
        let n = node(2);
        assert_eq!(n.functions(), a);
        assert_eq!(n.vpn("blue").unwrap().sid, ip6("fd00:0:32:e000::"));
    }

    #[test]
    fn export_fields_match_frr() {
        let c = node(2);
        let red = c.vpn("red").unwrap();
        assert_eq!(red.rd, rd_type1(Ipv4Addr::new(10, 0, 0, 2), 100));
        assert_eq!(red.export_rts, [parse_rt("64514:100").unwrap()]);
        assert_eq!(red.sid, ip6("fd00:0:32:e001::"));
        let mut b = base();
        b.ext_communities = vec![
            ExtCommunity::route_target_as2(1, 1),
            ExtCommunity::Encapsulation(10),
        ];
        b.originator_id = Some(Ipv4Addr::new(1, 1, 1, 1));
        let e = export(&c, red, net("192.169.20.7/24"), &b).unwrap();
        let VpnRoute::V4(r) = &e.route else {
            panic!("not VPN-IPv4: {:?}", e.route)
        };
        assert_eq!(r.prefix, "192.169.20.0/24".parse().unwrap());
        assert_eq!(r.rd.to_string(), "10.0.0.2:100");
        assert_eq!(r.path_id, None);
        // The function in the high 16 bits of the 20-bit label, bottom of stack.
        let label = MplsLabel {
            label: 0xe0010,
            tc: 0,
            bos: true,
        };
        assert_eq!(r.labels.as_slice(), [label]);
        assert_eq!(label.to_bytes(), [0xe0, 0x01, 0x01]);
        assert_eq!(e.route.to_string(), "10.0.0.2:100:192.169.20.0/24");
        // Base attributes kept, foreign RTs replaced, reflection attributes dropped.
        assert_eq!(e.attrs.origin, Some(Origin::Igp));
        assert_eq!(e.attrs.as_path, Some(AsPath::sequence(vec![64515])));
        assert_eq!(e.attrs.med, Some(7));
        assert_eq!(e.attrs.originator_id, None);
        assert_eq!(
            e.attrs.ext_communities,
            [
                ExtCommunity::route_target_as2(64514, 100),
                ExtCommunity::Encapsulation(10),
            ]
        );
        assert_eq!((e.attrs.mp_reach.as_ref(), e.attrs.next_hop), (None, None));
        // One SRv6 L3 Service TLV, locator-only SID, uDT46, f3216 with transposition 16 @ 48.
        let want = PrefixSid {
            tlvs: vec![PrefixSidTlv::Srv6L3Service(vec![
                Srv6SubTlv::SidInformation(SidInformation {
                    sid: ip6("fd00:0:32::"),
                    flags: 0,
                    endpoint_behavior: 0x0040,
                    sub_sub_tlvs: vec![Srv6SubSubTlv::SidStructure(SidStructure {
                        locator_block_len: 32,
                        locator_node_len: 16,
                        function_len: 16,
                        argument_len: 0,
                        transposition_len: 16,
                        transposition_offset: 48,
                    })],
                }),
            ])],
        };
        assert_eq!(e.attrs.prefix_sid, Some(want));
        assert_eq!(
            e.next_hop,
            bgp_wire::NextHop::VpnIpv6 {
                rd: RouteDistinguisher::ZERO,
                global: ip6("fd00:65::2"),
                link_local: None
            }
        );
        assert_eq!(e.next_hop.len(), 24);
        // Empty base: ORIGIN IGP and an empty AS_PATH; IPv6 prefixes are VPN-IPv6.
        let e6 = export(
            &c,
            red,
            net("2001:db8:20::1/64"),
            &PathAttributes::default(),
        )
        .unwrap();
        assert_eq!(e6.attrs.as_path, Some(AsPath::default()));
        assert_eq!(e6.attrs.origin, Some(Origin::Igp));
        assert_eq!(e6.route.prefix(), net("2001:db8:20::/64"));
        assert!(matches!(e6.nlri(), NlriList::Ipv6Vpn(_)));
        // A SID outside the locator cannot be exported.
        let mut stray = red.clone();
        stray.sid = ip6("fd00:0:99:e000::");
        assert_eq!(
            export(&c, &stray, net("10.0.0.0/8"), &b),
            Err(SidError::NotInLocator(stray.sid))
        );
    }

    #[test]
    fn export_import_round_trip() {
        let (n1, n2) = (node(1), node(2));
        for prefix in ["192.169.20.0/24", "2001:db8:20::/64"] {
            let e = export(&n1, n1.vpn("red").unwrap(), net(prefix), &base()).unwrap();
            let (routes, attrs, nh) = round_trip(&e);
            assert_eq!(nh, ip("fd00:65::1"));
            let [route] = routes.as_slice() else {
                panic!("{routes:?}")
            };
            let got = import(&n2, route, &attrs, nh).unwrap();
            assert_eq!(
                got,
                [Imported {
                    vrf: "red".into(),
                    prefix: net(prefix),
                    rd: rd_type1(Ipv4Addr::new(10, 0, 0, 1), 100),
                    next_hop: ip("fd00:65::1"),
                    // Transposition undone: node 1's red SID.
                    sid: ip6("fd00:0:31:e001::"),
                    behavior: behavior::END_DT46_USID,
                }]
            );
            // Node 1 ignores its own route, by next hop or by SID.
            assert_eq!(import(&n1, route, &attrs, nh), Err(Ignored::OwnNextHop));
            assert_eq!(
                import(&n1, route, &attrs, ip("fd00:65::9")),
                Err(Ignored::OwnSid(ip6("fd00:0:31:e001::")))
            );
        }
        // Blue's exact RT 64514:200.
        let e = export(&n1, n1.vpn("blue").unwrap(), net("10.2.0.0/16"), &base()).unwrap();
        let (routes, attrs, nh) = round_trip(&e);
        let got = import(&n2, routes.first().unwrap(), &attrs, nh).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got.first().map(|i| (i.vrf.as_str(), i.sid)),
            Some(("blue", ip6("fd00:0:31:e000::")))
        );
    }

    /// A remote SRv6 VPN route: RT `rt`, SID `sid` transposed like FRR (f3216).
    fn remote(prefix: &str, rd: u16, rt: &str, sid: &str) -> (VpnRoute, PathAttributes) {
        let mut c = node(7);
        let red = c.vpns.first_mut().unwrap();
        red.rd = rd_type1(Ipv4Addr::new(10, 0, 0, 7), rd);
        red.export_rts = vec![parse_rt(rt).unwrap()];
        red.sid = ip6(sid);
        c.locator = loc(&format!("{}/48", ip6(sid)));
        let e = export(&c, &c.vpns[0], net(prefix), &base()).unwrap();
        (e.route, e.attrs)
    }

    fn vrfs(c: &VpnConfig, rt: &str) -> Vec<String> {
        let (r, a) = remote("10.1.0.0/16", 7, rt, "fd00:0:37:e000::");
        import(c, &r, &a, ip("fd00:65::7"))
            .unwrap()
            .into_iter()
            .map(|i| i.vrf)
            .collect()
    }

    #[test]
    fn route_targets_select_vrfs() {
        let c = node(2);
        // red imports *:100, under any administrator.
        for rt in ["64513:100", "65000:100", "4200000001:100", "10.9.9.9:100"] {
            assert_eq!(vrfs(&c, rt), ["red"], "{rt}");
        }
        // blue imports exactly 64514:200.
        assert_eq!(vrfs(&c, "64514:200"), ["blue"]);
        assert!(vrfs(&c, "64513:200").is_empty());
        assert!(vrfs(&c, "64514:101").is_empty());
        // Both RTs: both VRFs, same SID.
        let (r, mut a) = remote("10.1.0.0/16", 7, "64513:100", "fd00:0:37:e000::");
        a.ext_communities
            .push(ExtCommunity::route_target_as2(64514, 200));
        let got = import(&c, &r, &a, ip("fd00:65::7")).unwrap();
        let names: Vec<&str> = got.iter().map(|i| i.vrf.as_str()).collect();
        assert_eq!(names, ["red", "blue"]);
        assert!(got.iter().all(|i| i.sid == ip6("fd00:0:37:e000::")));
        // No RT: nothing.
        a.ext_communities.clear();
        assert_eq!(import(&c, &r, &a, ip("fd00:65::7")), Ok(vec![]));
    }

    #[test]
    fn same_prefix_under_two_rds() {
        let c = node(2);
        let (r1, a1) = remote("10.1.0.0/16", 7, "64513:100", "fd00:0:37:e000::");
        let (r2, a2) = remote("10.1.0.0/16", 8, "64513:100", "fd00:0:38:e004::");
        let mut all = import(&c, &r1, &a1, ip("fd00:65::7")).unwrap();
        all.extend(import(&c, &r2, &a2, ip("fd00:65::8")).unwrap());
        assert_eq!(all.len(), 2);
        assert!(all
            .iter()
            .all(|i| i.prefix == net("10.1.0.0/16") && i.vrf == "red"));
        assert_ne!(all[0].rd, all[1].rd);
        // One kernel route: the lowest SID, whatever the order.
        let d = dataplane(&c, &all);
        all.reverse();
        assert_eq!(dataplane(&c, &all), d);
        let r = d.routes.values().find(|r| r.table == 5).unwrap();
        assert_eq!(
            r.encap,
            Some(Encap::Seg6 {
                segments: vec![ip6("fd00:0:37:e000::")]
            })
        );
    }

    #[test]
    fn ignored_routes() {
        let c = node(2);
        let (r, a) = remote("10.1.0.0/16", 7, "64513:100", "fd00:0:37:e000::");
        let nh = ip("fd00:65::7");
        assert_eq!(import(&c, &r, &a, ip("::")), Err(Ignored::NoNextHop));
        assert_eq!(
            import(&c, &r, &a, ip("fd00:65::2")),
            Err(Ignored::OwnNextHop)
        );
        // An MPLS VPN route: no Prefix-SID, or only other TLVs.
        let mut m = a.clone();
        m.prefix_sid = None;
        assert_eq!(import(&c, &r, &m, nh), Err(Ignored::NoSrv6Service));
        m.prefix_sid = Some(PrefixSid {
            tlvs: vec![
                PrefixSidTlv::LabelIndex {
                    flags: 0,
                    label_index: 5,
                },
                PrefixSidTlv::Srv6L2Service(vec![]),
            ],
        });
        assert_eq!(import(&c, &r, &m, nh), Err(Ignored::NoSrv6Service));
        m.prefix_sid = Some(PrefixSid {
            tlvs: vec![PrefixSidTlv::Srv6L3Service(vec![Srv6SubTlv::Unknown {
                sub_type: 9,
                value: vec![],
            }])],
        });
        assert_eq!(import(&c, &r, &m, nh), Err(Ignored::NoSidInformation));
        assert!(Ignored::NoSrv6Service.to_string().contains("not supported"));
        // Malformed SID structures.
        let with = |f: &dyn Fn(&mut SidStructure)| {
            let mut m = a.clone();
            let Some(PrefixSid { tlvs }) = &mut m.prefix_sid else {
                panic!()
            };
            let Some(PrefixSidTlv::Srv6L3Service(subs)) = tlvs.first_mut() else {
                panic!()
            };
            let Some(Srv6SubTlv::SidInformation(info)) = subs.first_mut() else {
                panic!()
            };
            let Some(Srv6SubSubTlv::SidStructure(st)) = info.sub_sub_tlvs.first_mut() else {
                panic!()
            };
            f(st);
            import(&c, &r, &m, nh)
        };
        for f in [
            &(|s: &mut SidStructure| s.transposition_len = 25) as &dyn Fn(&mut SidStructure),
            &|s| s.transposition_offset = 120,
            &|s| s.argument_len = 100,
        ] {
            assert!(matches!(with(f), Err(Ignored::BadSidStructure(_))));
        }
        // SIDs that cannot be a destination.
        for bad in ["::", "::1", "ff02::1", "::ffff:10.0.0.1"] {
            let mut m = a.clone();
            m.prefix_sid = Some(PrefixSid {
                tlvs: vec![PrefixSidTlv::Srv6L3Service(vec![
                    Srv6SubTlv::SidInformation(SidInformation {
                        sid: ip6(bad),
                        flags: 0,
                        endpoint_behavior: behavior::END_DT46,
                        sub_sub_tlvs: vec![],
                    }),
                ])],
            });
            assert_eq!(
                import(&c, &r, &m, nh),
                Err(Ignored::BadSid(ip6(bad))),
                "{bad}"
            );
        }
        // A route towards one of our SIDs under a foreign next hop.
        let (r2, a2) = remote("10.1.0.0/16", 7, "64513:100", "fd00:0:32:e001::");
        assert_eq!(
            import(&c, &r2, &a2, nh),
            Err(Ignored::OwnSid(ip6("fd00:0:32:e001::")))
        );
    }

    #[test]
    fn untransposed_and_unstructured_sids() {
        let c = node(2);
        let (r, mut a) = remote("10.1.0.0/16", 7, "64513:100", "fd00:0:37:e000::");
        let full = |st: Vec<Srv6SubSubTlv>| {
            Some(PrefixSid {
                tlvs: vec![PrefixSidTlv::Srv6L3Service(vec![
                    Srv6SubTlv::SidInformation(SidInformation {
                        sid: ip6("fd00:0:37:e00a::"),
                        flags: 0,
                        endpoint_behavior: behavior::END_DT4,
                        sub_sub_tlvs: st,
                    }),
                ])],
            })
        };
        // Full SID in the TLV (GoBGP style, transposition 0): the label is ignored.
        let mut st = loc("fd00:0:37::/48").structure();
        st.transposition_len = 0;
        st.transposition_offset = 0;
        a.prefix_sid = full(vec![Srv6SubSubTlv::SidStructure(st)]);
        let got = import(&c, &r, &a, ip("fd00:65::7")).unwrap();
        assert_eq!(
            got.first().map(|i| (i.sid, i.behavior)),
            Some((ip6("fd00:0:37:e00a::"), behavior::END_DT4))
        );
        // No SID structure at all: the SID as is.
        a.prefix_sid = full(vec![]);
        let got = import(&c, &r, &a, ip("fd00:65::7")).unwrap();
        assert_eq!(got.first().map(|i| i.sid), Some(ip6("fd00:0:37:e00a::")));
        // A 24-bit transposition uses the whole label field (TC and S bits too).
        let mut st = loc("fd00:0:37::/48").structure();
        st.transposition_len = 24;
        a.prefix_sid = full(vec![Srv6SubSubTlv::SidStructure(st)]);
        let got = import(&c, &r, &a, ip("fd00:65::7")).unwrap();
        assert_eq!(
            got.first().map(|i| i.sid),
            Some(ip6("fd00:0:37:e000:100::"))
        );
    }

    /// What FRR 8.4 (`sid vpn export auto` per family, locator `prefix fd00:0:50::/64
    /// func-bits 16`) sends, as `vm/tests/l3vpn-fabric.sh` decodes it: the locator prefix as
    /// SID, behaviour 0xFFFF, its constant structure 40/24/16/0 with transposition 16 at 64,
    /// and the function (zebra's index << 8) in the label: 4096 for End.DT4, 8192 for End.DT6,
    /// TC bit 1. Its zebra installs fd00:0:50:0:100:: and fd00:0:50:0:200::.
    #[test]
    fn frr_8_4_per_family_sids_import() {
        let c = node(2);
        let (r, mut a) = remote("192.169.30.0/24", 200, "64513:100", "fd00:0:37:e000::");
        a.prefix_sid = Some(PrefixSid {
            tlvs: vec![PrefixSidTlv::Srv6L3Service(vec![
                Srv6SubTlv::SidInformation(SidInformation {
                    sid: ip6("fd00:0:50::"),
                    flags: 0,
                    endpoint_behavior: 0xFFFF,
                    sub_sub_tlvs: vec![Srv6SubSubTlv::SidStructure(SidStructure {
                        locator_block_len: 40,
                        locator_node_len: 24,
                        function_len: 16,
                        argument_len: 0,
                        transposition_len: 16,
                        transposition_offset: 64,
                    })],
                }),
            ])],
        });
        let v4 = VpnRoute::new(
            r.rd(),
            r.prefix(),
            MplsLabel::from_bytes([0x01, 0x00, 0x03]),
        );
        assert_eq!(v4.label().map(|l| (l.label, l.tc)), Some((4096, 1)));
        let got = import(&c, &v4, &a, ip("fd00:11::2")).unwrap();
        assert_eq!(
            got.iter()
                .map(|i| (i.vrf.as_str(), i.sid, i.behavior))
                .collect::<Vec<_>>(),
            [("red", ip6("fd00:0:50:0:100::"), 0xFFFF)]
        );
        let d = dataplane(&c, &got);
        let route = d
            .routes
            .values()
            .find(|x| x.dst == net("192.169.30.0/24"))
            .unwrap();
        assert_eq!(
            route.encap,
            Some(Encap::Seg6 {
                segments: vec![ip6("fd00:0:50:0:100::")]
            })
        );
        let v6 = VpnRoute::new(
            r.rd(),
            net("fd00:30::/64"),
            MplsLabel::from_bytes([0x02, 0x00, 0x03]),
        );
        let got = import(&c, &v6, &a, ip("fd00:11::2")).unwrap();
        assert_eq!(
            got.first().map(|i| (i.prefix, i.sid)),
            Some((net("fd00:30::/64"), ip6("fd00:0:50:0:200::")))
        );
        // The structure is FRR 8.4's constant: from a /48 locator its zebra installs
        // fd00:0:50:100:: while the wire (SID fd00:0:50::, transposition at 64) says
        // fd00:0:50:0:100::, which is what a receiver must build (FRR 8.4's own bgpd too).
        // Such a PE needs a /64 locator; nothing on the wire tells the two apart.
    }

    /// The first UPDATE of NetGauze's `pmacct-tests/300-BGP-IPv6-CISCO-extNH_enc` capture
    /// (`/work/shared/conformance/pcaps/netgauze/`, packet 3): a Cisco iBGP VPN-IPv4 UPDATE
    /// with an RFC 8950 next hop, two /28s under RD 10.215.182.150:0 with label 0xE0060, RT
    /// 64969:4008, and an SRv6 L3 Service TLV: SID fd7c:3f00:301::, uDT4 (0x3F), f3216
    /// structure with transposition 16 at 48.
    const CISCO_UPDATE: &str = "\
        ffffffffffffffffffffffffffffffff009c0200000085900e003d0001801800\
        00000000000000fd7c3f000301000000000000000000010074e0060100010ad7\
        b6960000c1876e4074e0060100010ad7b6960000c1876e504001010240020a02\
        020000fdc900031568c010080002fdc900000fa8c028250500220001001e00fd\
        7c3f0003010000000000000000000000003f00010006201010001030";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn cisco_capture_imports() {
        let mut c = node(2);
        c.vpns[0].import_rts = vec!["64969:4008".parse().unwrap()];
        let mut rx = ctx();
        rx.peer = bgp_wire::PeerType::Internal;
        let msg = unhex(CISCO_UPDATE);
        assert_eq!(msg.len(), 156);
        let received = decode_message(&msg, &rx).unwrap();
        assert!(received.verdict.is_clean(), "{:?}", received.verdict);
        let Message::Update(u) = received.message else {
            panic!("not an UPDATE")
        };
        let reach = u.attributes.mp_reach.clone().unwrap();
        let nh = next_hop_address(&reach.next_hop).unwrap();
        assert_eq!(nh, ip("fd7c:3f00:301::1"));
        let routes = VpnRoute::from_list(&reach.nlri);
        assert_eq!(routes.len(), 2);
        let mut got = Vec::new();
        for r in &routes {
            got.extend(import(&c, r, &u.attributes, nh).unwrap());
        }
        let prefixes: Vec<IpNet> = got.iter().map(|i| i.prefix).collect();
        assert_eq!(
            prefixes,
            [net("193.135.110.64/28"), net("193.135.110.80/28")]
        );
        for i in &got {
            assert_eq!(i.vrf, "red");
            assert_eq!(i.rd.to_string(), "10.215.182.150:0");
            assert_eq!(i.sid, ip6("fd7c:3f00:301:e006::"));
            assert_eq!(i.behavior, behavior::END_DT4_USID);
        }
        let d = dataplane(&c, &got);
        let r = d
            .routes
            .values()
            .find(|r| r.dst == net("193.135.110.64/28"))
            .unwrap();
        assert_eq!(r.table, 5);
        assert_eq!(
            r.encap,
            Some(Encap::Seg6 {
                segments: vec![ip6("fd7c:3f00:301:e006::")]
            })
        );
        // Re-exporting the same shape from our side gives the same Prefix-SID layout.
        let mut cisco = c.clone();
        cisco.locator = loc("fd7c:3f00:301::/48");
        cisco.vpns[0].sid = ip6("fd7c:3f00:301:e006::");
        let e = export(&cisco, &cisco.vpns[0], net("193.135.110.64/28"), &base()).unwrap();
        let mut ours = Vec::new();
        e.attrs.prefix_sid.as_ref().unwrap().encode(&mut ours);
        let mut theirs = Vec::new();
        u.attributes
            .prefix_sid
            .as_ref()
            .unwrap()
            .encode(&mut theirs);
        // Identical but for the behaviour (uDT46 = 0x40 here, uDT4 = 0x3F there).
        let diff: Vec<usize> = (0..ours.len()).filter(|&k| ours[k] != theirs[k]).collect();
        assert_eq!(ours.len(), theirs.len());
        assert_eq!(diff.len(), 1);
        assert_eq!(e.route.label(), routes[0].label());
    }

    #[test]
    fn dataplane_routes() {
        let c = node(2);
        let imp = |vrf: &str, prefix: &str, nh: &str, sid: &str| Imported {
            vrf: vrf.into(),
            prefix: net(prefix),
            rd: rd_type1(Ipv4Addr::new(10, 0, 0, 1), 1),
            next_hop: ip(nh),
            sid: ip6(sid),
            behavior: behavior::END_DT46_USID,
        };
        let d = dataplane(
            &c,
            &[
                imp("red", "192.169.21.0/24", "fd00:65::1", "fd00:0:31:e001::"),
                imp("red", "2001:db8:21::/64", "fd00:65::1", "fd00:0:31:e001::"),
                imp("blue", "192.169.21.0/24", "fd00:65::1", "fd00:0:31:e000::"),
                // Unknown VRF, our own next hop, our own SID: skipped.
                imp("green", "10.3.0.0/16", "fd00:65::1", "fd00:0:31:e002::"),
                imp("red", "10.4.0.0/16", "fd00:65::2", "fd00:0:31:e001::"),
                imp("red", "10.5.0.0/16", "fd00:65::1", "fd00:0:32:e001::"),
            ],
        );
        let mut want = DesiredState::new();
        // Our SIDs, as zebra installs them.
        for (sid, vrf, table) in [
            ("fd00:0:32:e000::", "blue", 6),
            ("fd00:0:32:e001::", "red", 5),
        ] {
            want.add_route(
                Route::unicast(
                    254,
                    net(&format!("{sid}/128")),
                    vec![dataplane::NextHop::dev(vrf)],
                )
                .with_encap(Encap::Seg6Local(Seg6LocalAction::EndDt46 {
                    vrf_table: table,
                })),
            );
        }
        for (table, prefix, vrf, sid) in [
            (5, "192.169.21.0/24", "red", "fd00:0:31:e001::"),
            (5, "2001:db8:21::/64", "red", "fd00:0:31:e001::"),
            (6, "192.169.21.0/24", "blue", "fd00:0:31:e000::"),
        ] {
            want.add_route(
                Route::unicast(table, net(prefix), vec![dataplane::NextHop::dev(vrf)])
                    .with_encap(Encap::Seg6 {
                        segments: vec![ip6(sid)],
                    })
                    .with_metric(dataplane::ROUTE_METRIC),
            );
        }
        assert_eq!(d, want);
        let red = local_sid_route(c.vpn("red").unwrap());
        assert_eq!(want.routes.get(&red.key()), Some(&red));
    }
}
