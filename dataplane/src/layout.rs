//! OpenPERouter's kernel layouts (reference §2.5, `internal/hostnetwork`) as [`DesiredState`]
//! fragments, with the address formulas of §2.2.
//!
//! Every function is pure: it only builds objects. A [`Fragment`] has two halves, because
//! OpenPERouter touches two namespaces: `router` (the `perouter` netns, where the router pod's
//! dataplane runs) and `host` (the objects §2.5 marks *(host)*: the host legs of the veths and
//! the managed `br-hs-<VNI>` bridges). A veth is created once, by whichever side applies first,
//! with its peer in [`Namespaces`]' other namespace; the other side adopts the leg by name and
//! sets its MTU, state, master and addresses (the peer of a created veth is left down and
//! unowned by the reconciler, see [`crate::netlink`]).
//!
//! What each layout produces:
//! - [`vtep`]: the VTEP address (`/32` or `/128`) on `lo`;
//! - [`l3vni`]: VRF `<vrf>` (table, up); bridge `br-pe-<VNI>` (master VRF, up); VXLAN
//!   `vni<VNI>` (id VNI, local VTEP, dev `lo`, dstport, nolearning, master the bridge, up);
//!   with a host session the veth `pe-e-<VNI>` (master VRF, up, router-side IPs, MTU
//!   underlay − 50 when above 1280) ↔ *(host)* `host-e-<VNI>` (up, host-side IPs, same MTU);
//! - [`l2vni`]: bridge `br-pe-<VNI>` (master the routing domain's VRF if any, up; with gateway
//!   IPs: those IPs, the anycast MAC `00:F3` + BE u32(VNI+1) and, per gateway family,
//!   `net/ipv{4,6}/neigh/br-pe-<VNI>/interval_probe_time_ms` =
//!   [`MANAGED_NEIGH_PROBE_INTERVAL_MS`]); VXLAN `vni<VNI>` as for the
//!   L3VNI; veth `pe-e-<VNI>` (master the bridge, up, no IPs, MTU − 50) ↔ *(host)*
//!   `host-e-<VNI>` (up, MTU − 50, master `br-hs-<VNI>` (created, up) / an external bridge /
//!   none, per [`HostMaster`]);
//! - [`passthrough`]: veth `pt-ns` (default VRF, up, router-side IPs) ↔ *(host)* `pt-host` (up,
//!   host-side IPs); no MTU change.
//!
//! - [`namespace`]: `lo` up and the namespace sysctls of §2.5.1 (forwarding, `arp_accept`,
//!   `accept_untracked_na`; with SRv6 `seg6_flowlabel` and `seg6_enabled`);
//! - [`l3vpn`]: VRF `<vrf>` (table, up, `net/ipv4/conf/<vrf>/rp_filter=0` and
//!   `net/vrf/strict_mode=1`); with a host session the veth `pe-s-<rd>` (master VRF) ↔ *(host)*
//!   `host-s-<rd>` with MTU underlay − 64.
//!
//! Bridge-port and link-local details follow §2.5.3/§2.5.4: `br-pe-<VNI>` of an L3VNI and
//! every `vni<VNI>` get `addrgenmode none` (set before they first go up); `vni<VNI>` gets
//! bridge-port `neigh_suppress on`; the bridge-port `learning` flag of `vni<VNI>` is left at
//! the kernel default, as OpenPERouter does; the L2VNI bridge keeps its link-local address
//! (OpenPERouter PR #351).
//!
//! No unreachable default route is part of any layout: OpenPERouter installs none (§2.5.8; PR
//! #242 added `unreachable default metric 4278198272` and was reverted because it broke SRv6,
//! issues #227/#516 are open). [`vrf_unreachable_default`] builds that route for callers that
//! opt in.
//!
//! Not built here (outside what a reconciler of one namespace does): OVS host masters, CNI
//! underlay devices and the L2VNI BridgeRefresher; moving the underlay NICs (group 4242) is
//! [`crate::underlay`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::model::{
    AddrGenMode, Address, BridgePort, DesiredState, Link, LinkKind, MacAddr, Route, RouteKind,
};
use crate::netlink::INTERVAL_PROBE_TIME_MS;

/// OpenPERouter's default `vxlanPort`.
pub const VXLAN_PORT: u16 = 4789;

/// VXLAN overhead OpenPERouter subtracts from the underlay MTU for the veth legs.
pub const VXLAN_OVERHEAD: u32 = 50;

/// SRv6 overhead OpenPERouter subtracts from the underlay MTU for the L3VPN veth legs.
pub const SRV6_OVERHEAD: u32 = 64;

/// OpenPERouter's reverted `unreachable default` metric (PR #242): the highest a route can
/// have in practice, so any learned default wins.
pub const UNREACHABLE_DEFAULT_METRIC: u32 = 4_278_198_272;

/// The veth MTU is changed only when `underlay − 50` is above this.
pub const MIN_VETH_MTU: u32 = 1280;

/// A layout error: an address formula out of its CIDR, or an invalid combination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// `Host(cidr, index)` does not fit in the CIDR.
    #[error("host index {index} is outside {cidr}")]
    OutOfRange {
        /// The CIDR.
        cidr: IpNet,
        /// The requested host index.
        index: u128,
    },
    /// An interface name longer than 15 bytes.
    #[error("interface name {0:?} is longer than 15 bytes")]
    NameTooLong(String),
    /// L2VNI gateway IPs without a routing domain (rejected by OpenPERouter's CEL rules).
    #[error("L2VNI {0}: gatewayIPs require a routingDomain")]
    GatewayWithoutRoutingDomain(u32),
}

/// The two namespaces a layout spans, as names under `/run/netns` or absolute paths, each as
/// seen from the other side (`None` = the same namespace as the applier).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// Where the host legs go, seen from the router namespace.
    pub host: Option<String>,
    /// Where the router legs go, seen from the host namespace.
    pub router: Option<String>,
}

/// A host session's addressing: the `localCIDR`s (one IPv4 and/or one IPv6) and the node index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSession {
    /// `localCIDR.ipv4` / `localCIDR.ipv6`.
    pub local_cidrs: Vec<IpNet>,
    /// The node's index (§2.2).
    pub node_index: u32,
}

/// Where an L2VNI's host leg is attached (`hostMaster`; OVS is not supported here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HostMaster {
    /// Left unattached.
    #[default]
    None,
    /// `LinuxBridge` `Managed`: create `br-hs-<VNI>` on the host and enslave the leg.
    LinuxBridgeManaged,
    /// `LinuxBridge` `External`: enslave the leg to this existing bridge.
    LinuxBridgeExternal(String),
}

/// Objects of one layout, split by namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fragment {
    /// Objects in the router (`perouter`) namespace.
    pub router: DesiredState,
    /// Objects in the host namespace.
    pub host: DesiredState,
}

impl Fragment {
    /// Adds every object of `other` (an object with the same identity is replaced).
    pub fn merge(&mut self, other: Fragment) -> &mut Self {
        merge_state(&mut self.router, other.router);
        merge_state(&mut self.host, other.host);
        self
    }
}

fn merge_state(into: &mut DesiredState, from: DesiredState) {
    into.links.extend(from.links);
    into.addresses.extend(from.addresses);
    into.routes.extend(from.routes);
    into.neighbours.extend(from.neighbours);
    into.fdb.extend(from.fdb);
    into.sysctls.extend(from.sysctls);
}

// ---------------------------------------------------------------------------------------------
// §2.2 formulas

/// go-cidr's `Host(cidr, index)`: the `index`-th address of the CIDR (0 = network address).
pub fn host(cidr: IpNet, index: u128) -> Result<IpAddr, LayoutError> {
    let err = LayoutError::OutOfRange { cidr, index };
    match cidr.trunc() {
        IpNet::V4(n) => {
            let size = 1u128 << (32 - u32::from(n.prefix_len()));
            if index >= size {
                return Err(err);
            }
            let base = u128::from(u32::from(n.network()));
            let v = u32::try_from(base + index).map_err(|_| err)?;
            Ok(IpAddr::V4(Ipv4Addr::from(v)))
        }
        IpNet::V6(n) => {
            let bits = 128 - u32::from(n.prefix_len());
            if bits < 128 && index >= (1u128 << bits) {
                return Err(err);
            }
            let v = u128::from(n.network()).checked_add(index).ok_or(err)?;
            Ok(IpAddr::V6(Ipv6Addr::from(v)))
        }
    }
}

fn last_byte(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(a) => a.octets()[3],
        IpAddr::V6(a) => a.octets()[15],
    }
}

fn with_prefix(ip: IpAddr, prefix: u8) -> IpNet {
    match ip {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::new(a, prefix).unwrap_or_else(|_| Ipv4Net::from(a))),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::new(a, prefix).unwrap_or_else(|_| Ipv6Net::from(a))),
    }
}

/// Router-side veth IP: `Host(localCIDR, 0)`, or `Host(localCIDR, 1)` when that ends in 0;
/// CIDR mask. Same on every node.
pub fn router_side_ip(local_cidr: IpNet) -> Result<IpNet, LayoutError> {
    let h0 = host(local_cidr, 0)?;
    let ip = if last_byte(h0) == 0 {
        host(local_cidr, 1)?
    } else {
        h0
    };
    Ok(with_prefix(ip, local_cidr.prefix_len()))
}

/// Host-side veth IP: `Host(localCIDR, idx + 2)` (`idx + 1` when the CIDR base does not end in
/// 0); CIDR mask.
pub fn host_side_ip(local_cidr: IpNet, node_index: u32) -> Result<IpNet, LayoutError> {
    let offset = if last_byte(host(local_cidr, 0)?) == 0 {
        2
    } else {
        1
    };
    let ip = host(local_cidr, u128::from(node_index) + offset)?;
    Ok(with_prefix(ip, local_cidr.prefix_len()))
}

/// The node's VTEP: `Host(tunnelCIDR, idx)` as `/32` or `/128` (index 0 gets the network
/// address).
pub fn vtep_ip(tunnel_cidr: IpNet, node_index: u32) -> Result<IpAddr, LayoutError> {
    host(tunnel_cidr, u128::from(node_index))
}

/// VRF routing tables as OpenPERouter allocates them (§2.2): a VRF that exists keeps its
/// table; a new one gets the lowest table ≥ 1 that no VRF of the namespace uses (`in_use`:
/// every VRF device there, ours or not, with its table), in the order given. The kernel's
/// reserved tables (253 default, 254 main, 255 local) are skipped. Not deterministic across
/// nodes, exactly like OpenPERouter: it depends on what each namespace already holds.
pub fn allocate_vrf_tables<'a>(
    in_use: &BTreeMap<String, u32>,
    vrfs: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, u32> {
    let mut used: BTreeSet<u32> = in_use.values().copied().collect();
    let mut out = BTreeMap::new();
    let mut next = 1u32;
    for vrf in vrfs {
        if let Some(t) = in_use.get(vrf) {
            out.insert(vrf.to_owned(), *t);
            continue;
        }
        if out.contains_key(vrf) {
            continue;
        }
        while used.contains(&next) || (253..=255).contains(&next) {
            next = next.saturating_add(1);
        }
        used.insert(next);
        out.insert(vrf.to_owned(), next);
    }
    out
}

/// The router ID: `Host(routerIDCIDR, idx + 1)`.
pub fn router_id(router_id_cidr: IpNet, node_index: u32) -> Result<IpAddr, LayoutError> {
    host(router_id_cidr, u128::from(node_index) + 1)
}

/// The L2VNI anycast gateway MAC: `00:F3` + big-endian u32(VNI + 1).
pub fn anycast_mac(vni: u32) -> MacAddr {
    let [a, b, c, d] = vni.wrapping_add(1).to_be_bytes();
    MacAddr([0x00, 0xf3, a, b, c, d])
}

/// The veth MTU: underlay − 50, only if that is above 1280 (otherwise left alone).
pub fn veth_mtu(underlay_mtu: Option<u32>) -> Option<u32> {
    underlay_mtu
        .and_then(|m| m.checked_sub(VXLAN_OVERHEAD))
        .filter(|m| *m > MIN_VETH_MTU)
}

fn host_prefix(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}

fn name(s: String) -> Result<String, LayoutError> {
    if s.len() > 15 {
        Err(LayoutError::NameTooLong(s))
    } else {
        Ok(s)
    }
}

// ---------------------------------------------------------------------------------------------
// §2.5 layouts

/// The namespace itself (§2.5.1): `lo` up and the sysctls OpenPERouter writes on every
/// configure; `srv6` adds the SRv6 ones.
pub fn namespace(srv6: bool) -> Fragment {
    let mut f = Fragment::default();
    f.router.add_link(Link::external("lo").up());
    let r = &mut f.router;
    r.set_sysctl("net/ipv4/conf/all/forwarding", "1");
    r.set_sysctl("net/ipv6/conf/all/forwarding", "1");
    for scope in ["all", "default"] {
        r.set_sysctl(&format!("net/ipv4/conf/{scope}/arp_accept"), "1");
        r.set_sysctl(&format!("net/ipv6/conf/{scope}/accept_untracked_na"), "1");
    }
    if srv6 {
        r.set_sysctl("net/ipv6/seg6_flowlabel", "1");
        r.set_sysctl("net/ipv6/conf/all/seg6_enabled", "1");
    }
    f
}

/// The VTEP (§2.5.2): `ip` as `/32` or `/128` on `lo`, and `lo` up.
pub fn vtep(ip: IpAddr) -> Fragment {
    let mut f = Fragment::default();
    f.router.add_link(Link::external("lo").up());
    f.router.add_address(Address::new("lo", host_prefix(ip)));
    f
}

fn vxlan(vni: u32, vtep: IpAddr, port: u16, bridge: &str) -> Result<Link, LayoutError> {
    Ok(Link::new(
        name(format!("vni{vni}"))?,
        LinkKind::Vxlan {
            vni,
            local: Some(vtep),
            dev: Some("lo".into()),
            dstport: port,
            learning: false,
        },
    )
    .with_master(bridge)
    .with_addr_gen_mode(AddrGenMode::None)
    .with_port(BridgePort {
        learning: None,
        neigh_suppress: Some(true),
    })
    .up())
}

/// A veth pair: `router_leg` in the router namespace, `host_leg` in the host namespace; both
/// up, with `mtu` when given.
fn veth(ns: &Namespaces, router_leg: &str, host_leg: &str, mtu: Option<u32>) -> (Link, Link) {
    let mut r = Link::new(
        router_leg,
        LinkKind::Veth {
            peer: host_leg.into(),
            peer_netns: ns.host.clone(),
        },
    )
    .up();
    let mut h = Link::new(
        host_leg,
        LinkKind::Veth {
            peer: router_leg.into(),
            peer_netns: ns.router.clone(),
        },
    )
    .up();
    r.mtu = mtu;
    h.mtu = mtu;
    (r, h)
}

fn session_addresses(
    f: &mut Fragment,
    session: &HostSession,
    router_leg: &str,
    host_leg: &str,
) -> Result<(), LayoutError> {
    for cidr in &session.local_cidrs {
        f.router
            .add_address(Address::new(router_leg, router_side_ip(*cidr)?));
        f.host.add_address(Address::new(
            host_leg,
            host_side_ip(*cidr, session.node_index)?,
        ));
    }
    Ok(())
}

/// An L3VNI (§2.5.3): VRF `vrf` with `table`, `br-pe-<vni>`, `vni<vni>` and, with a host
/// session, the `pe-e-<vni>` ↔ `host-e-<vni>` veth.
pub fn l3vni(
    vrf: &str,
    vni: u32,
    table: u32,
    vtep: IpAddr,
    host_session: Option<&HostSession>,
    underlay_mtu: Option<u32>,
    ns: &Namespaces,
) -> Result<Fragment, LayoutError> {
    let mut f = Fragment::default();
    let vrf = name(vrf.to_string())?;
    let bridge = name(format!("br-pe-{vni}"))?;
    f.router
        .add_link(Link::new(vrf.clone(), LinkKind::Vrf { table }).up());
    f.router.add_link(
        Link::new(bridge.clone(), LinkKind::Bridge)
            .with_master(&vrf)
            .with_addr_gen_mode(AddrGenMode::None)
            .up(),
    );
    f.router.add_link(vxlan(vni, vtep, VXLAN_PORT, &bridge)?);
    if let Some(session) = host_session {
        let pe = name(format!("pe-e-{vni}"))?;
        let he = name(format!("host-e-{vni}"))?;
        let (r, h) = veth(ns, &pe, &he, veth_mtu(underlay_mtu));
        f.router.add_link(r.with_master(&vrf));
        f.host.add_link(h);
        session_addresses(&mut f, session, &pe, &he)?;
    }
    Ok(f)
}

/// How often (ms) the kernel re-probes a stale managed neighbour of an L2VNI bridge with
/// gateway IPs (`net/ipv{4,6}/neigh/br-pe-<VNI>/interval_probe_time_ms`, kernel ≥ 6.0,
/// default 5000): 30 s, the period of OpenPERouter's pings of stale neighbours, which the
/// managed entries replace.
pub const MANAGED_NEIGH_PROBE_INTERVAL_MS: u32 = 30_000;

/// An L2VNI (§2.5.4): `br-pe-<vni>` (in `routing_domain`'s VRF, with `gateway_ips` and the
/// anycast MAC), `vni<vni>`, the `pe-e-<vni>` ↔ `host-e-<vni>` veth and the host master.
pub fn l2vni(
    vni: u32,
    vtep: IpAddr,
    routing_domain: Option<&str>,
    gateway_ips: &[IpNet],
    host_master: &HostMaster,
    underlay_mtu: Option<u32>,
    ns: &Namespaces,
) -> Result<Fragment, LayoutError> {
    if routing_domain.is_none() && !gateway_ips.is_empty() {
        return Err(LayoutError::GatewayWithoutRoutingDomain(vni));
    }
    let mut f = Fragment::default();
    let bridge = name(format!("br-pe-{vni}"))?;
    let mut br = Link::new(bridge.clone(), LinkKind::Bridge).up();
    if let Some(vrf) = routing_domain {
        br = br.with_master(vrf);
    }
    if !gateway_ips.is_empty() {
        br = br.with_mac(anycast_mac(vni));
        for ip in gateway_ips {
            f.router.add_address(Address::new(bridge.clone(), *ip));
            // Managed neighbours (silent hosts' bindings, `evpn::type2`) are re-probed at
            // this pace once stale; left out on kernels without the key.
            let family = if ip.addr().is_ipv4() { "ipv4" } else { "ipv6" };
            f.router.set_sysctl(
                &format!("net/{family}/neigh/{bridge}/{INTERVAL_PROBE_TIME_MS}"),
                MANAGED_NEIGH_PROBE_INTERVAL_MS.to_string(),
            );
        }
    }
    f.router.add_link(br);
    f.router.add_link(vxlan(vni, vtep, VXLAN_PORT, &bridge)?);
    let pe = name(format!("pe-e-{vni}"))?;
    let he = name(format!("host-e-{vni}"))?;
    let (r, mut h) = veth(ns, &pe, &he, veth_mtu(underlay_mtu));
    f.router.add_link(r.with_master(&bridge));
    match host_master {
        HostMaster::None => {}
        HostMaster::LinuxBridgeManaged => {
            let hs = name(format!("br-hs-{vni}"))?;
            f.host
                .add_link(Link::new(hs.clone(), LinkKind::Bridge).up());
            h = h.with_master(hs);
        }
        HostMaster::LinuxBridgeExternal(b) => h = h.with_master(b.clone()),
    }
    f.host.add_link(h);
    Ok(f)
}

/// The L3Passthrough (§2.5.6): `pt-ns` (router namespace, default VRF) ↔ `pt-host`, host
/// session addresses, no MTU change.
pub fn passthrough(session: &HostSession, ns: &Namespaces) -> Result<Fragment, LayoutError> {
    let mut f = Fragment::default();
    let (r, h) = veth(ns, "pt-ns", "pt-host", None);
    f.router.add_link(r);
    f.host.add_link(h);
    session_addresses(&mut f, session, "pt-ns", "pt-host")?;
    Ok(f)
}

/// An L3VPN (§2.5.5, SRv6): VRF `vrf` with `table` (`rp_filter=0`, VRF strict mode) and, with
/// a host session, the `pe-s-<rd>` ↔ `host-s-<rd>` veth (MTU underlay − 64). No bridge, no
/// VXLAN; the namespace's SRv6 sysctls come from [`namespace`]`(true)`.
pub fn l3vpn(
    vrf: &str,
    rd_assigned_number: u16,
    table: u32,
    host_session: Option<&HostSession>,
    underlay_mtu: Option<u32>,
    ns: &Namespaces,
) -> Result<Fragment, LayoutError> {
    let mut f = Fragment::default();
    let vrf = name(vrf.to_string())?;
    f.router
        .add_link(Link::new(vrf.clone(), LinkKind::Vrf { table }).up());
    f.router
        .set_sysctl(&format!("net/ipv4/conf/{vrf}/rp_filter"), "0");
    f.router.set_sysctl("net/vrf/strict_mode", "1");
    if let Some(session) = host_session {
        let pe = name(format!("pe-s-{rd_assigned_number}"))?;
        let hs = name(format!("host-s-{rd_assigned_number}"))?;
        let mtu = underlay_mtu
            .and_then(|m| m.checked_sub(SRV6_OVERHEAD))
            .filter(|m| *m > MIN_VETH_MTU);
        let (r, h) = veth(ns, &pe, &hs, mtu);
        f.router.add_link(r.with_master(&vrf));
        f.host.add_link(h);
        session_addresses(&mut f, session, &pe, &hs)?;
    }
    Ok(f)
}

/// Opt-in, not part of OpenPERouter's layout (§2.5.8): `unreachable default` (IPv4 and IPv6)
/// at metric [`UNREACHABLE_DEFAULT_METRIC`] in a VRF's table, so lookups do not fall through
/// to the main table while any learned default still wins.
pub fn vrf_unreachable_default(table: u32) -> Fragment {
    let mut f = Fragment::default();
    for dst in ["0.0.0.0/0", "::/0"] {
        if let Ok(dst) = dst.parse::<IpNet>() {
            f.router.add_route(
                Route::new(table, dst, RouteKind::Unreachable)
                    .with_metric(UNREACHABLE_DEFAULT_METRIC),
            );
        }
    }
    f
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn no_ns() -> Namespaces {
        Namespaces {
            host: Some("host".into()),
            router: Some("perouter".into()),
        }
    }
    fn names(d: &DesiredState) -> Vec<&str> {
        d.links.keys().map(String::as_str).collect()
    }
    fn addrs(d: &DesiredState) -> Vec<String> {
        d.addresses
            .iter()
            .map(|a| format!("{} {}", a.link, a.addr))
            .collect()
    }

    #[test]
    fn anycast_mac_is_00f3_and_be_vni_plus_one() {
        assert_eq!(anycast_mac(110).to_string(), "00:f3:00:00:00:6f");
        assert_eq!(anycast_mac(0x00ab_cdef).to_string(), "00:f3:00:ab:cd:f0");
    }

    #[test]
    fn node_index_formulas_match_the_reference_examples() {
        let v4 = net("192.169.10.0/24");
        let v6 = net("2001:db8:1::/64");
        assert_eq!(router_side_ip(v4).unwrap(), net("192.169.10.1/24"));
        assert_eq!(router_side_ip(v6).unwrap(), net("2001:db8:1::1/64"));
        assert_eq!(host_side_ip(v4, 0).unwrap(), net("192.169.10.2/24"));
        assert_eq!(host_side_ip(v4, 1).unwrap(), net("192.169.10.3/24"));
        assert_eq!(host_side_ip(v6, 0).unwrap(), net("2001:db8:1::2/64"));
        assert_eq!(host_side_ip(v6, 1).unwrap(), net("2001:db8:1::3/64"));
        // A CIDR whose base does not end in 0: router gets Host(0), host gets Host(idx+1).
        let odd = net("10.0.0.4/30");
        assert_eq!(router_side_ip(odd).unwrap(), net("10.0.0.4/30"));
        assert_eq!(host_side_ip(odd, 0).unwrap(), net("10.0.0.5/30"));
        assert_eq!(
            host_side_ip(odd, 3),
            Err(LayoutError::OutOfRange {
                cidr: odd,
                index: 4
            })
        );
        let tunnel = net("100.65.0.0/24");
        assert_eq!(vtep_ip(tunnel, 0).unwrap(), ip("100.65.0.0"));
        assert_eq!(vtep_ip(tunnel, 1).unwrap(), ip("100.65.0.1"));
        assert_eq!(router_id(net("10.0.0.0/24"), 0).unwrap(), ip("10.0.0.1"));
        assert_eq!(router_id(net("10.0.0.0/24"), 1).unwrap(), ip("10.0.0.2"));
        assert!(host(net("10.0.0.0/24"), 256).is_err());
        assert_eq!(host(net("::/0"), 5).unwrap(), ip("::5"));
    }

    #[test]
    fn vrf_tables_lowest_free_existing_kept() {
        let none = BTreeMap::new();
        let t = allocate_vrf_tables(&none, ["red", "green", "blue"]);
        assert_eq!((t["red"], t["green"], t["blue"]), (1, 2, 3));
        // A foreign VRF holds 2; red already exists with 5.
        let in_use = BTreeMap::from([("other".to_owned(), 2), ("red".to_owned(), 5)]);
        let t = allocate_vrf_tables(&in_use, ["red", "green", "blue", "green"]);
        assert_eq!((t["red"], t["green"], t["blue"]), (5, 1, 3));
        assert_eq!(t.len(), 3);
        // The reserved tables are skipped.
        let full: BTreeMap<String, u32> = (1..=252).map(|i| (format!("v{i}"), i)).collect();
        assert_eq!(allocate_vrf_tables(&full, ["x"])["x"], 256);
    }

    #[test]
    fn veth_mtu_is_underlay_minus_50_above_1280() {
        assert_eq!(veth_mtu(Some(1500)), Some(1450));
        assert_eq!(veth_mtu(Some(1330)), None);
        assert_eq!(veth_mtu(Some(1331)), Some(1281));
        assert_eq!(veth_mtu(None), None);
    }

    #[test]
    fn vtep_is_a_host_prefix_on_lo() {
        assert_eq!(addrs(&vtep(ip("100.65.0.0")).router), ["lo 100.65.0.0/32"]);
        assert_eq!(addrs(&vtep(ip("fd00::1")).router), ["lo fd00::1/128"]);
        let lo = &vtep(ip("fd00::1")).router.links["lo"];
        assert!(lo.up && lo.kind == LinkKind::External, "{lo:?}");
    }

    #[test]
    fn namespace_sysctls_and_lo() {
        let f = namespace(false);
        assert_eq!(f.router.links["lo"], Link::external("lo").up());
        let keys: Vec<&str> = f.router.sysctls.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "net/ipv4/conf/all/arp_accept",
                "net/ipv4/conf/all/forwarding",
                "net/ipv4/conf/default/arp_accept",
                "net/ipv6/conf/all/accept_untracked_na",
                "net/ipv6/conf/all/forwarding",
                "net/ipv6/conf/default/accept_untracked_na",
            ]
        );
        assert!(f.router.sysctls.values().all(|v| v == "1"));
        let srv6 = namespace(true);
        assert_eq!(srv6.router.sysctls.len(), 8);
        assert_eq!(srv6.router.sysctls["net/ipv6/seg6_flowlabel"], "1");
        assert_eq!(srv6.router.sysctls["net/ipv6/conf/all/seg6_enabled"], "1");
    }

    #[test]
    fn l3vpn_objects() {
        let s = HostSession {
            local_cidrs: vec![net("192.169.20.0/24")],
            node_index: 1,
        };
        let f = l3vpn("red", 100, 5, Some(&s), Some(1500), &no_ns()).unwrap();
        assert_eq!(names(&f.router), ["pe-s-100", "red"]);
        assert_eq!(names(&f.host), ["host-s-100"]);
        assert_eq!(f.router.links["pe-s-100"].mtu, Some(1436));
        assert_eq!(f.router.links["pe-s-100"].master.as_deref(), Some("red"));
        assert_eq!(f.router.sysctls["net/ipv4/conf/red/rp_filter"], "0");
        assert_eq!(f.router.sysctls["net/vrf/strict_mode"], "1");
        assert_eq!(addrs(&f.host), ["host-s-100 192.169.20.3/24"]);
    }

    #[test]
    fn l3vni_objects() {
        let s = HostSession {
            local_cidrs: vec![net("192.169.10.0/24"), net("2001:db8:1::/64")],
            node_index: 1,
        };
        let f = l3vni(
            "red",
            100,
            1,
            ip("100.65.0.1"),
            Some(&s),
            Some(1500),
            &no_ns(),
        )
        .unwrap();
        assert_eq!(names(&f.router), ["br-pe-100", "pe-e-100", "red", "vni100"]);
        assert_eq!(names(&f.host), ["host-e-100"]);
        let l = &f.router.links;
        assert_eq!(l["red"].kind, LinkKind::Vrf { table: 1 });
        assert!(l["red"].up && l["red"].master.is_none());
        assert_eq!(l["br-pe-100"].kind, LinkKind::Bridge);
        assert_eq!(l["br-pe-100"].master.as_deref(), Some("red"));
        assert_eq!(l["br-pe-100"].addr_gen_mode, Some(AddrGenMode::None));
        assert_eq!(l["vni100"].addr_gen_mode, Some(AddrGenMode::None));
        assert_eq!(
            l["vni100"].port,
            BridgePort {
                learning: None,
                neigh_suppress: Some(true)
            }
        );
        assert!(l["pe-e-100"].addr_gen_mode.is_none() && l["pe-e-100"].port.is_empty());
        assert_eq!(
            l["vni100"].kind,
            LinkKind::Vxlan {
                vni: 100,
                local: Some(ip("100.65.0.1")),
                dev: Some("lo".into()),
                dstport: 4789,
                learning: false
            }
        );
        assert_eq!(l["vni100"].master.as_deref(), Some("br-pe-100"));
        assert_eq!(l["vni100"].mtu, None);
        assert_eq!(l["pe-e-100"].master.as_deref(), Some("red"));
        assert_eq!(l["pe-e-100"].mtu, Some(1450));
        assert_eq!(
            l["pe-e-100"].kind,
            LinkKind::Veth {
                peer: "host-e-100".into(),
                peer_netns: Some("host".into())
            }
        );
        let h = &f.host.links["host-e-100"];
        assert_eq!(h.mtu, Some(1450));
        assert!(h.up && h.master.is_none());
        assert_eq!(
            addrs(&f.router),
            ["pe-e-100 192.169.10.1/24", "pe-e-100 2001:db8:1::1/64"]
        );
        assert_eq!(
            addrs(&f.host),
            ["host-e-100 192.169.10.3/24", "host-e-100 2001:db8:1::3/64"]
        );
        assert!(
            f.router.routes.is_empty(),
            "OpenPERouter installs no VRF default"
        );

        let bare = l3vni("blue", 200, 2, ip("100.65.0.1"), None, Some(1500), &no_ns()).unwrap();
        assert_eq!(names(&bare.router), ["blue", "br-pe-200", "vni200"]);
        assert!(bare.host.links.is_empty() && bare.router.addresses.is_empty());
    }

    #[test]
    fn l2vni_objects() {
        let f = l2vni(
            110,
            ip("100.65.0.0"),
            Some("red"),
            &[net("192.171.24.1/24")],
            &HostMaster::LinuxBridgeManaged,
            Some(1500),
            &no_ns(),
        )
        .unwrap();
        assert_eq!(names(&f.router), ["br-pe-110", "pe-e-110", "vni110"]);
        assert_eq!(names(&f.host), ["br-hs-110", "host-e-110"]);
        let br = &f.router.links["br-pe-110"];
        assert_eq!(br.master.as_deref(), Some("red"));
        assert_eq!(br.mac.unwrap().to_string(), "00:f3:00:00:00:6f");
        assert_eq!(
            br.addr_gen_mode, None,
            "the L2VNI bridge keeps its link-local (PR #351)"
        );
        assert_eq!(
            f.router.links["vni110"].addr_gen_mode,
            Some(AddrGenMode::None)
        );
        assert_eq!(f.router.links["vni110"].port.neigh_suppress, Some(true));
        assert_eq!(addrs(&f.router), ["br-pe-110 192.171.24.1/24"]);
        assert_eq!(
            f.router.sysctls.iter().collect::<Vec<_>>(),
            [(
                &"net/ipv4/neigh/br-pe-110/interval_probe_time_ms".to_owned(),
                &"30000".to_owned()
            )],
            "managed neighbours' probe interval, IPv4 gateway only"
        );
        assert_eq!(
            f.router.links["pe-e-110"].master.as_deref(),
            Some("br-pe-110")
        );
        assert_eq!(f.router.links["pe-e-110"].mtu, Some(1450));
        assert_eq!(
            f.router.links["vni110"].master.as_deref(),
            Some("br-pe-110")
        );
        assert_eq!(
            f.host.links["host-e-110"].master.as_deref(),
            Some("br-hs-110")
        );
        assert_eq!(f.host.links["host-e-110"].mtu, Some(1450));
        assert!(f.host.addresses.is_empty());

        let plain = l2vni(
            120,
            ip("100.65.0.0"),
            None,
            &[],
            &HostMaster::None,
            None,
            &no_ns(),
        )
        .unwrap();
        assert!(plain.router.links["br-pe-120"].master.is_none());
        assert!(plain.router.links["br-pe-120"].mac.is_none());
        assert!(
            plain.router.sysctls.is_empty(),
            "no gateway IP, nothing probes"
        );
        assert_eq!(names(&plain.host), ["host-e-120"]);
        assert!(plain.host.links["host-e-120"].master.is_none());
        assert_eq!(
            l2vni(
                130,
                ip("100.65.0.0"),
                None,
                &[net("10.0.0.1/24")],
                &HostMaster::None,
                None,
                &no_ns()
            ),
            Err(LayoutError::GatewayWithoutRoutingDomain(130))
        );
    }

    #[test]
    fn passthrough_objects() {
        let s = HostSession {
            local_cidrs: vec![net("192.169.11.0/24")],
            node_index: 0,
        };
        let f = passthrough(&s, &no_ns()).unwrap();
        assert_eq!(names(&f.router), ["pt-ns"]);
        assert_eq!(names(&f.host), ["pt-host"]);
        assert!(f.router.links["pt-ns"].master.is_none());
        assert_eq!(f.router.links["pt-ns"].mtu, None);
        assert_eq!(addrs(&f.router), ["pt-ns 192.169.11.1/24"]);
        assert_eq!(addrs(&f.host), ["pt-host 192.169.11.2/24"]);
    }

    #[test]
    fn opt_in_unreachable_default_and_merge() {
        let mut f = vtep(ip("100.65.0.0"));
        f.merge(vrf_unreachable_default(1001));
        assert_eq!(f.router.routes.len(), 2);
        assert!(f.router.routes.values().all(|r| r.table == 1001
            && r.kind == RouteKind::Unreachable
            && r.metric == Some(UNREACHABLE_DEFAULT_METRIC)
            && r.dst.prefix_len() == 0));
        assert_eq!(f.router.addresses.len(), 1);
    }
}
