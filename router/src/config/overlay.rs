//! The overlay part of the configuration, in OpenPERouter's terms (reference §1.2
//! `tunnelEndpoint` and `srv6`, §1.5 L3VNI, §1.6 L2VNI, §1.7 L3VPN): the VTEP CIDRs, the
//! SRv6 locator, the L3VNIs (VRFs with an optional host session), the L2VNIs and the L3VPNs
//! (SRv6 VPN VRFs), plus perouterd's `evpn.routeTargetStyle`.
//!
//! ```yaml
//! tunnelEndpoint: { cidrs: [100.65.0.0/24] }   # the node's VTEP is Host(cidr, nodeIndex)
//! evpn: { routeTargetStyle: frr }              # frr (default) | rfc8365 | as4
//! l3vnis:
//!   - vrf: red
//!     vni: 100
//!     hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.10.0/24 } }
//!     exportRTs: ["64514:100"]                 # optional; default automatic
//!     importRTs: ["*:100"]                     # optional; default *:VNI
//! l2vnis:
//!   - vni: 110
//!     routingDomain: { type: L3VNI, l3vni: { name: red } }
//!     hostMaster: { type: LinuxBridge, linuxBridge: { lifecycle: Managed } }
//!     gatewayIPs: [192.171.24.1/24]
//! srv6: { locator: { basePrefix: "fd00:0:32::/48", format: usid-f3216 } }  # node i: fd00:0:32+i::/48
//! l3vpns:
//!   - vrf: blue                                # not an L3VNI's VRF (PR #608's rule)
//!     rdAssignedNumber: 200                    # RD routerID:200, default export RT ASN:200
//!     importRTs: ["64512:200"]                 # required, exact RTs
//!     exportRTs: ["64514:200"]                 # optional
//!     hostSession: { asn: 64514, hostASN: 64516, localCIDR: { ipv4: 192.169.20.0/24 } }
//! ```
//!
//! L3VNIs and L3VPNs coexist on a node when their VRFs differ (upstream PR #608 relaxed
//! OpenPERouter's node-wide exclusion to this); the `rdAssignedNumber`s share the VNI number
//! space (reference §1.11). L3VPNs need `srv6` and an IPv6 `tunnelEndpoint` CIDR (the VPN
//! next hop and the SRv6 source); `isis` is not required: perouterd advertises the locator
//! over BGP IPv6 unicast instead (`Config::originated`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use bgp_wire::types::AdminValue;
use evpn::rt::{parse_rt, RtMatch, RtStyle};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::{host_session, Errors, HostSession, RawHostSession};

/// OpenPERouter's default `vxlanPort`.
pub const DEFAULT_VXLAN_PORT: u16 = 4789;
/// Largest VNI (24 bits).
pub const MAX_VNI: i64 = 16_777_215;
/// At most this many route targets per list (the CRD's limit).
pub const MAX_RTS: usize = 100;

/// The overlay configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overlay {
    /// `tunnelEndpoint.cidrs`: at most one IPv4 and one IPv6 CIDR.
    pub tunnel_endpoint: TunnelEndpoint,
    /// `evpn.routeTargetStyle`.
    #[serde(serialize_with = "ser_style")]
    pub rt_style: RtStyle,
    /// L3VNIs, in file order.
    pub l3vnis: Vec<L3VniConfig>,
    /// L2VNIs, in file order.
    pub l2vnis: Vec<L2VniConfig>,
    /// `srv6` (the underlay's SRv6 settings), with this node's locator.
    pub srv6: Option<Srv6Config>,
    /// L3VPNs (SRv6 VPN VRFs), in file order.
    pub l3vpns: Vec<L3VpnConfig>,
}

impl Overlay {
    /// The VRF names of the L3VNIs and the L3VPNs (each VRF has one instance), file order.
    pub fn vrf_names(&self) -> Vec<&str> {
        self.l3vnis
            .iter()
            .map(|l| l.vrf.as_str())
            .chain(self.l3vpns.iter().map(|l| l.vrf.as_str()))
            .collect()
    }

    /// The host session of VRF `vrf` (an L3VNI's or an L3VPN's).
    pub fn vrf_host_session(&self, vrf: &str) -> Option<&HostSession> {
        self.l3vnis
            .iter()
            .find(|l| l.vrf == vrf)
            .and_then(|l| l.host_session.as_ref())
            .or_else(|| {
                self.l3vpns
                    .iter()
                    .find(|l| l.vrf == vrf)
                    .and_then(|l| l.host_session.as_ref())
            })
    }
}

/// The SRv6 locator formats (`srv6.locator.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LocatorFormat {
    /// `usid-f3216`: block 32 bits, node 16, function 16 (FRR `behavior usid`).
    UsidF3216,
}

/// `srv6`: the SRv6 locator of the node (OpenPERouter's `MAIN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Srv6Config {
    /// `locator.basePrefix` as written (host bits cleared).
    pub base_prefix: Ipv6Net,
    /// `locator.format`.
    pub format: LocatorFormat,
    /// This node's locator: `basePrefix` advanced `nodeIndex` times at length 48 (reference
    /// §2.2: fd00:0:32::/48 → fd00:0:33::/48 for node 1).
    pub locator: Ipv6Net,
}

impl Srv6Config {
    /// The node's locator as the evpn crate describes it.
    pub fn evpn_locator(&self) -> evpn::l3vpn::Locator {
        match self.format {
            LocatorFormat::UsidF3216 => evpn::l3vpn::Locator::usid_f3216(self.locator),
        }
    }
}

/// Length of a usid-f3216 locator (block 32 + node 16).
pub const LOCATOR_LEN: u8 = 48;

/// This node's locator: `base` (at length 48) advanced `node_index` /48s; `None` past the
/// end of the address space.
pub fn node_locator(base: Ipv6Net, node_index: u32) -> Option<Ipv6Net> {
    let start = u128::from(base.network()) & (u128::MAX << (128 - u32::from(LOCATOR_LEN)));
    let step = 1u128 << (128 - u32::from(LOCATOR_LEN));
    let addr = start.checked_add(u128::from(node_index).checked_mul(step)?)?;
    Ipv6Net::new(std::net::Ipv6Addr::from(addr), LOCATOR_LEN).ok()
}

/// An L3VPN (reference §1.7): a VRF whose routes travel as SRv6 VPN-IPv4/VPN-IPv6 routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct L3VpnConfig {
    /// `vrf`.
    pub vrf: String,
    /// `rdAssignedNumber`: RD `routerID:n`, default export RT `asn:n`, veth `pe-s-<n>`.
    pub rd_assigned_number: u16,
    /// `hostSession`.
    pub host_session: Option<HostSession>,
    /// `exportRTs` (empty: `asn:rdAssignedNumber`).
    #[serde(skip)]
    pub export_rts: Vec<AdminValue>,
    /// `importRTs` (at least one; exact route targets).
    #[serde(skip)]
    pub import_rts: Vec<RtMatch>,
}

fn ser_style<S: serde::Serializer>(s: &RtStyle, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(match s {
        RtStyle::Frr => "frr",
        RtStyle::Rfc8365 => "rfc8365",
        RtStyle::As4 => "as4",
    })
}

/// `tunnelEndpoint`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TunnelEndpoint {
    /// The IPv4 CIDR.
    pub v4: Option<Ipv4Net>,
    /// The IPv6 CIDR.
    pub v6: Option<Ipv6Net>,
}

impl TunnelEndpoint {
    /// The node's VTEP of the family: `Host(cidr, nodeIndex)` (reference §2.2).
    pub fn vtep(&self, v6: bool, node_index: u32) -> Option<IpAddr> {
        let cidr = if v6 {
            IpNet::V6(self.v6?)
        } else {
            IpNet::V4(self.v4?)
        };
        dataplane::layout::vtep_ip(cidr, node_index).ok()
    }
}

/// `underlayAddressFamily`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum VtepFamily {
    /// The IPv4 VTEP.
    IPv4,
    /// The IPv6 VTEP.
    IPv6,
}

/// An L3VNI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct L3VniConfig {
    /// `vrf`.
    pub vrf: String,
    /// `vni`.
    pub vni: u32,
    /// `vxlanPort`.
    pub vxlan_port: u16,
    /// `underlayAddressFamily`, resolved: whether the VTEP is the IPv6 one.
    pub vtep_v6: bool,
    /// `hostSession`.
    pub host_session: Option<HostSession>,
    /// `exportRTs` (empty: automatic).
    #[serde(skip)]
    pub export_rts: Vec<AdminValue>,
    /// `importRTs` (empty: `*:VNI`).
    #[serde(skip)]
    pub import_rts: Vec<RtMatch>,
}

/// Where an L2VNI's host leg is attached (`hostMaster`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub enum HostMasterConfig {
    /// Absent: left unattached.
    #[default]
    None,
    /// `LinuxBridge`, `Managed`: `br-hs-<VNI>`.
    LinuxBridgeManaged,
    /// `LinuxBridge`, `External`: the named bridge.
    LinuxBridgeExternal(String),
}

/// An L2VNI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct L2VniConfig {
    /// `vni`.
    pub vni: u32,
    /// `vxlanPort`.
    pub vxlan_port: u16,
    /// `underlayAddressFamily`, resolved.
    pub vtep_v6: bool,
    /// `routingDomain.l3vni.name`: the VRF of an L3VNI.
    pub routing_domain: Option<String>,
    /// `hostMaster`.
    pub host_master: HostMasterConfig,
    /// `gatewayIPs`.
    pub gateway_ips: Vec<IpNet>,
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a tunnelEndpoint mapping (cidrs)")]
pub(super) struct RawTunnelEndpoint {
    cidrs: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "an evpn mapping (routeTargetStyle)"
)]
pub(super) struct RawEvpn {
    route_target_style: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "an L3VNI mapping (vrf, vni, vxlanPort, underlayAddressFamily, hostSession, exportRTs, importRTs)"
)]
pub(super) struct RawL3Vni {
    vrf: Option<String>,
    vni: Option<i64>,
    vxlan_port: Option<i64>,
    underlay_address_family: Option<VtepFamily>,
    host_session: Option<RawHostSession>,
    #[serde(rename = "exportRTs")]
    export_rts: Option<Vec<String>>,
    #[serde(rename = "importRTs")]
    import_rts: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "an L3VPN mapping (vrf, rdAssignedNumber, hostSession, exportRTs, importRTs)"
)]
pub(super) struct RawL3Vpn {
    vrf: Option<String>,
    rd_assigned_number: Option<i64>,
    host_session: Option<RawHostSession>,
    #[serde(rename = "exportRTs")]
    export_rts: Option<Vec<String>>,
    #[serde(rename = "importRTs")]
    import_rts: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "an srv6 mapping (locator, encapBehavior)"
)]
pub(super) struct RawSrv6 {
    locator: Option<RawLocator>,
    encap_behavior: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a locator mapping (basePrefix, format)"
)]
struct RawLocator {
    base_prefix: Option<String>,
    format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "an L2VNI mapping (vni, vxlanPort, underlayAddressFamily, routingDomain, hostMaster, gatewayIPs)"
)]
pub(super) struct RawL2Vni {
    vni: Option<i64>,
    vxlan_port: Option<i64>,
    underlay_address_family: Option<VtepFamily>,
    routing_domain: Option<RawRoutingDomain>,
    host_master: Option<RawHostMaster>,
    #[serde(rename = "gatewayIPs")]
    gateway_ips: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a routingDomain mapping (type, l3vni: {name})"
)]
struct RawRoutingDomain {
    #[serde(rename = "type")]
    kind: Option<String>,
    l3vni: Option<RawName>,
    l3vpn: Option<RawName>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with a name")]
struct RawName {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    expecting = "a hostMaster mapping (type, linuxBridge)"
)]
struct RawHostMaster {
    #[serde(rename = "type")]
    kind: Option<String>,
    linux_bridge: Option<RawBridge>,
    ovs_bridge: Option<RawBridge>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a bridge mapping (lifecycle, name)")]
struct RawBridge {
    lifecycle: Option<String>,
    name: Option<String>,
}

/// The raw overlay keys of the file.
#[derive(Debug, Default)]
pub(super) struct RawOverlay {
    pub(super) tunnel_endpoint: Option<RawTunnelEndpoint>,
    pub(super) evpn: Option<RawEvpn>,
    pub(super) l3vnis: Option<Vec<RawL3Vni>>,
    pub(super) l2vnis: Option<Vec<RawL2Vni>>,
    pub(super) srv6: Option<RawSrv6>,
    pub(super) l3vpns: Option<Vec<RawL3Vpn>>,
}

/// OpenPERouter's VRF name rule: `^[a-zA-Z][a-zA-Z0-9_-]*$`, 1..=15 bytes.
fn vrf_name(e: &mut Errors, field: &str, s: &str) -> Option<String> {
    let mut chars = s.chars();
    let ok = s.len() <= 15
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Some(s.to_owned())
    } else {
        e.push(
            field,
            format!("{s:?} must match ^[a-zA-Z][a-zA-Z0-9_-]*$ and be at most 15 bytes"),
        );
        None
    }
}

/// A list of at most [`MAX_RTS`] route targets or import rules, each parsed by `parse`
/// (errors name the list and the index).
fn rt_list<T>(
    e: &mut Errors,
    field: &str,
    list: Option<Vec<String>>,
    parse: impl Fn(&str) -> Result<T, evpn::rt::RtParseError>,
) -> Vec<T> {
    let list = list.unwrap_or_default();
    if list.len() > MAX_RTS {
        e.push(
            field,
            format!("{} route targets, at most {MAX_RTS}", list.len()),
        );
    }
    let mut out = Vec::new();
    for (i, s) in list.iter().enumerate() {
        match parse(s) {
            Ok(rt) => out.push(rt),
            Err(err) => e.push(format!("{field}[{i}]"), err.reason),
        }
    }
    out
}

fn port(e: &mut Errors, field: &str, v: Option<i64>) -> u16 {
    v.map_or(Some(DEFAULT_VXLAN_PORT), |p| e.int(field, p, 1, 65535))
        .unwrap_or(DEFAULT_VXLAN_PORT)
}

/// `underlayAddressFamily`: IPv4 when the tunnel endpoint has an IPv4 CIDR, else IPv6; an
/// explicit family must exist in `tunnelEndpoint`.
fn vtep_family(
    e: &mut Errors,
    field: &str,
    wanted: Option<VtepFamily>,
    te: &TunnelEndpoint,
) -> bool {
    match wanted {
        Some(VtepFamily::IPv4) if te.v4.is_none() => {
            e.push(field, "IPv4 needs an IPv4 CIDR in tunnelEndpoint.cidrs");
            false
        }
        Some(VtepFamily::IPv6) if te.v6.is_none() => {
            e.push(field, "IPv6 needs an IPv6 CIDR in tunnelEndpoint.cidrs");
            true
        }
        Some(f) => f == VtepFamily::IPv6,
        None => te.v4.is_none() && te.v6.is_some(),
    }
}

/// Validates the overlay keys; `node_index` places the VTEP.
pub(super) fn overlay(e: &mut Errors, raw: RawOverlay, node_index: u32) -> Overlay {
    let mut te = TunnelEndpoint::default();
    if let Some(t) = raw.tunnel_endpoint {
        let cidrs = e
            .required("tunnelEndpoint.cidrs", t.cidrs, "1 or 2 CIDRs")
            .unwrap_or_default();
        if cidrs.is_empty() || cidrs.len() > 2 {
            e.push("tunnelEndpoint.cidrs", "must hold 1 or 2 CIDRs");
        }
        for (i, s) in cidrs.iter().enumerate() {
            let field = format!("tunnelEndpoint.cidrs[{i}]");
            match s.parse::<IpNet>() {
                Ok(IpNet::V4(n)) if te.v4.is_none() => te.v4 = Some(n),
                Ok(IpNet::V6(n)) if te.v6.is_none() => te.v6 = Some(n),
                Ok(_) => e.push(field, "at most one IPv4 and one IPv6 CIDR"),
                Err(_) => e.push(field, format!("{s:?} is not a CIDR")),
            }
        }
        for (v6, present) in [(false, te.v4.is_some()), (true, te.v6.is_some())] {
            if present && te.vtep(v6, node_index).is_none() {
                e.push(
                    "tunnelEndpoint.cidrs",
                    format!("node index {node_index} is outside the CIDR"),
                );
            }
        }
    }

    let rt_style = match raw.evpn.and_then(|v| v.route_target_style).as_deref() {
        None | Some("frr") => RtStyle::Frr,
        Some("rfc8365") => RtStyle::Rfc8365,
        Some("as4") => RtStyle::As4,
        Some(other) => {
            e.push(
                "evpn.routeTargetStyle",
                format!("{other:?} is not one of frr, rfc8365, as4"),
            );
            RtStyle::Frr
        }
    };

    let mut vnis: BTreeMap<u32, String> = BTreeMap::new();
    let mut claim = |e: &mut Errors, field: &str, vni: u32| {
        if let Some(first) = vnis.get(&vni) {
            e.push(field, format!("VNI {vni} is already used by {first}"));
        } else {
            vnis.insert(vni, field.to_owned());
        }
    };

    let mut l3vnis = Vec::new();
    let mut vrfs = BTreeSet::new();
    for (i, r) in raw.l3vnis.unwrap_or_default().into_iter().enumerate() {
        let p = format!("l3vnis[{i}]");
        let vrf = e
            .required(&format!("{p}.vrf"), r.vrf, "the VRF name")
            .and_then(|s| vrf_name(e, &format!("{p}.vrf"), &s));
        if let Some(v) = &vrf {
            if !vrfs.insert(v.clone()) {
                e.push(format!("{p}.vrf"), format!("VRF {v:?} is configured twice"));
            }
        }
        let vni = e
            .required(&format!("{p}.vni"), r.vni, "1..=16777215")
            .and_then(|v| e.int::<u32>(&format!("{p}.vni"), v, 1, MAX_VNI));
        if let Some(v) = vni {
            claim(e, &format!("{p}.vni"), v);
        }
        let vxlan_port = port(e, &format!("{p}.vxlanPort"), r.vxlan_port);
        let vtep_v6 = vtep_family(
            e,
            &format!("{p}.underlayAddressFamily"),
            r.underlay_address_family,
            &te,
        );
        let host_session = r
            .host_session
            .and_then(|hs| host_session(e, &format!("{p}.hostSession"), hs));
        if let Some(hs) = &host_session {
            if hs.host_as == super::RemoteAs::Asn(hs.asn) {
                e.push(
                    format!("{p}.hostSession.hostASN"),
                    "must differ from asn (the VRF instance's AS)",
                );
            }
        }
        let export_rts = rt_list(e, &format!("{p}.exportRTs"), r.export_rts, parse_rt);
        let import_rts = rt_list(e, &format!("{p}.importRTs"), r.import_rts, str::parse);
        if let (Some(vrf), Some(vni)) = (vrf, vni) {
            l3vnis.push(L3VniConfig {
                vrf,
                vni,
                vxlan_port,
                vtep_v6,
                host_session,
                export_rts,
                import_rts,
            });
        }
    }

    let mut l2vnis = Vec::new();
    for (i, r) in raw.l2vnis.unwrap_or_default().into_iter().enumerate() {
        let p = format!("l2vnis[{i}]");
        let vni = e
            .required(&format!("{p}.vni"), r.vni, "1..=16777215")
            .and_then(|v| e.int::<u32>(&format!("{p}.vni"), v, 1, MAX_VNI));
        if let Some(v) = vni {
            claim(e, &format!("{p}.vni"), v);
        }
        let vxlan_port = port(e, &format!("{p}.vxlanPort"), r.vxlan_port);
        let vtep_v6 = vtep_family(
            e,
            &format!("{p}.underlayAddressFamily"),
            r.underlay_address_family,
            &te,
        );
        let routing_domain = r.routing_domain.and_then(|rd| {
            let f = format!("{p}.routingDomain");
            match (rd.kind.as_deref(), rd.l3vni, rd.l3vpn) {
                (Some("L3VNI"), Some(RawName { name: Some(n) }), None) => {
                    if l3vnis.iter().any(|l| l.vrf == n) {
                        Some(n)
                    } else {
                        e.push(format!("{f}.l3vni.name"), format!("no L3VNI has vrf {n:?}"));
                        None
                    }
                }
                (Some("L3VPN"), _, _) => {
                    e.push(
                        format!("{f}.type"),
                        "L2VNIs in an L3VPN routing domain are not supported yet (issue 5)",
                    );
                    None
                }
                _ => {
                    e.push(f, "must be {type: L3VNI, l3vni: {name: <vrf>}}");
                    None
                }
            }
        });
        let host_master = match r.host_master {
            None => HostMasterConfig::None,
            Some(hm) => {
                let f = format!("{p}.hostMaster");
                match (hm.kind.as_deref(), hm.linux_bridge, hm.ovs_bridge) {
                    (Some("LinuxBridge"), Some(b), None) => {
                        match (b.lifecycle.as_deref(), b.name) {
                            (Some("Managed"), None) => HostMasterConfig::LinuxBridgeManaged,
                            (Some("External"), Some(n)) => {
                                match super::interface_name(e, &format!("{f}.linuxBridge.name"), &n)
                                {
                                    Some(n) => HostMasterConfig::LinuxBridgeExternal(n),
                                    None => HostMasterConfig::None,
                                }
                            }
                            _ => {
                                e.push(
                                    format!("{f}.linuxBridge"),
                                    "lifecycle Managed (no name) or External with a name",
                                );
                                HostMasterConfig::None
                            }
                        }
                    }
                    (Some("OVSBridge"), _, _) => {
                        e.push(format!("{f}.type"), "OVSBridge is not supported");
                        HostMasterConfig::None
                    }
                    _ => {
                        e.push(f, "must be {type: LinuxBridge, linuxBridge: {…}}");
                        HostMasterConfig::None
                    }
                }
            }
        };
        let mut gateway_ips = Vec::new();
        let gws = r.gateway_ips.unwrap_or_default();
        if !gws.is_empty() && routing_domain.is_none() {
            e.push(format!("{p}.gatewayIPs"), "require a routingDomain");
        }
        let (mut v4, mut v6) = (0, 0);
        for (j, s) in gws.iter().enumerate() {
            match s.parse::<IpNet>() {
                Ok(n) => {
                    if n.addr().is_ipv4() {
                        v4 += 1;
                    } else {
                        v6 += 1;
                    }
                    gateway_ips.push(n);
                }
                Err(_) => e.push(
                    format!("{p}.gatewayIPs[{j}]"),
                    format!("{s:?} is not an address with a prefix length (192.171.24.1/24)"),
                ),
            }
        }
        if v4 > 1 || v6 > 1 {
            e.push(
                format!("{p}.gatewayIPs"),
                "at most one IPv4 and one IPv6 gateway",
            );
        }
        if let Some(vni) = vni {
            l2vnis.push(L2VniConfig {
                vni,
                vxlan_port,
                vtep_v6,
                routing_domain,
                host_master,
                gateway_ips,
            });
        }
    }

    let mut l3vpns = Vec::new();
    let mut vpn_vrfs = BTreeSet::new();
    for (i, r) in raw.l3vpns.unwrap_or_default().into_iter().enumerate() {
        let p = format!("l3vpns[{i}]");
        let vrf = e
            .required(&format!("{p}.vrf"), r.vrf, "the VRF name")
            .and_then(|s| vrf_name(e, &format!("{p}.vrf"), &s));
        if let Some(v) = &vrf {
            if vrfs.contains(v) {
                e.push(
                    format!("{p}.vrf"),
                    format!("VRF {v:?} is an L3VNI's VRF; L3VNIs and L3VPNs need different VRFs"),
                );
            } else if !vpn_vrfs.insert(v.clone()) {
                e.push(format!("{p}.vrf"), format!("VRF {v:?} is configured twice"));
            }
        }
        let rd = e
            .required(
                &format!("{p}.rdAssignedNumber"),
                r.rd_assigned_number,
                "1..=65535",
            )
            .and_then(|v| e.int::<u16>(&format!("{p}.rdAssignedNumber"), v, 1, 65535));
        if let Some(n) = rd {
            // OpenPERouter: unique across L3VNI, L2VNI and L3VPN numbers (the veth name).
            claim(e, &format!("{p}.rdAssignedNumber"), u32::from(n));
        }
        let host_session = r
            .host_session
            .and_then(|hs| host_session(e, &format!("{p}.hostSession"), hs));
        if let Some(hs) = &host_session {
            if hs.host_as == super::RemoteAs::Asn(hs.asn) {
                e.push(
                    format!("{p}.hostSession.hostASN"),
                    "must differ from asn (the VRF instance's AS)",
                );
            }
        }
        let export_rts = rt_list(e, &format!("{p}.exportRTs"), r.export_rts, parse_rt);
        let import_rts = rt_list(e, &format!("{p}.importRTs"), r.import_rts, |s| {
            parse_rt(s).map(RtMatch::Exact)
        });
        if import_rts.is_empty()
            && !e
                .0
                .iter()
                .any(|f| f.field.starts_with(&format!("{p}.importRTs")))
        {
            e.push(
                format!("{p}.importRTs"),
                "at least one route target is required (FRR's rt vpn import has no default)",
            );
        }
        if let (Some(vrf), Some(rd_assigned_number)) = (vrf, rd) {
            l3vpns.push(L3VpnConfig {
                vrf,
                rd_assigned_number,
                host_session,
                export_rts,
                import_rts,
            });
        }
    }

    let srv6 = raw.srv6.and_then(|s| srv6(e, s, node_index));
    if !l3vpns.is_empty() && srv6.is_none() && !e.0.iter().any(|f| f.field.starts_with("srv6")) {
        e.push(
            "srv6",
            "is required when L3VPNs are configured (the node's SRv6 locator)",
        );
    }
    if (srv6.is_some() || !l3vpns.is_empty()) && te.v6.is_none() {
        e.push(
            "tunnelEndpoint.cidrs",
            "needs an IPv6 CIDR with srv6 or L3VPNs (the VPN next hop and SRv6 source address)",
        );
    }
    if (!l3vnis.is_empty() || !l2vnis.is_empty()) && te.v4.is_none() && te.v6.is_none() {
        e.push(
            "tunnelEndpoint",
            "is required when L3VNIs or L2VNIs are configured",
        );
    }
    Overlay {
        tunnel_endpoint: te,
        rt_style,
        l3vnis,
        l2vnis,
        srv6,
        l3vpns,
    }
}

/// Validates `srv6`: `locator.basePrefix` (an IPv6 prefix of length 48 at most), `format`
/// `usid-f3216`, `encapBehavior` `H.Encaps` (the default; `H.Encaps.Red` is refused: the
/// kernel's `seg6 mode encap.red` is not modelled).
fn srv6(e: &mut Errors, raw: RawSrv6, node_index: u32) -> Option<Srv6Config> {
    match raw.encap_behavior.as_deref() {
        None | Some("H.Encaps") => {}
        Some("H.Encaps.Red") => e.push("srv6.encapBehavior", "H.Encaps.Red is not supported"),
        Some(other) => e.push(
            "srv6.encapBehavior",
            format!("{other:?} is not one of H.Encaps, H.Encaps.Red"),
        ),
    }
    let loc = e.required("srv6.locator", raw.locator, "{basePrefix, format}")?;
    let format = match e
        .required("srv6.locator.format", loc.format, "usid-f3216")?
        .as_str()
    {
        "usid-f3216" => LocatorFormat::UsidF3216,
        other => {
            e.push(
                "srv6.locator.format",
                format!("{other:?} is not a supported format (usid-f3216)"),
            );
            return None;
        }
    };
    let text = e.required("srv6.locator.basePrefix", loc.base_prefix, "an IPv6 prefix")?;
    let base = match text.parse::<IpNet>() {
        Ok(IpNet::V6(n)) if n.prefix_len() <= LOCATOR_LEN => n.trunc(),
        Ok(IpNet::V6(_)) => {
            e.push(
                "srv6.locator.basePrefix",
                format!("{text:?} is longer than /{LOCATOR_LEN} (block 32 + node 16)"),
            );
            return None;
        }
        _ => {
            e.push(
                "srv6.locator.basePrefix",
                format!("{text:?} is not an IPv6 prefix"),
            );
            return None;
        }
    };
    let Some(locator) = node_locator(base, node_index) else {
        e.push(
            "srv6.locator.basePrefix",
            format!("node index {node_index} runs past the end of the IPv6 space"),
        );
        return None;
    };
    let cfg = Srv6Config {
        base_prefix: base,
        format,
        locator,
    };
    if let Err(err) = cfg.evpn_locator().validate() {
        e.push("srv6.locator", err.to_string());
        return None;
    }
    Some(cfg)
}
