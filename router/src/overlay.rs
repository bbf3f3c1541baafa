//! From the configuration to this node's kernel layout (`dataplane::layout`) and EVPN
//! configuration (`evpn::config`): what OpenPERouter's controller derives from its CRDs.
//!
//! Pure: the caller supplies the VRF tables already in use in the router namespace (so that
//! existing VRFs keep their tables, reference §2.2) and applies the result.

use std::collections::BTreeMap;
use std::net::IpAddr;

use dataplane::layout::{self, Fragment, HostMaster, LayoutError, Namespaces};
use dataplane::{LinkKind, MacAddr};
use evpn::config::{EvpnConfig, VniSpec, Vtep};
use ipnet::IpNet;

use crate::config::{Config, HostMasterConfig, HostSession};

/// An EVPN route to originate (route, attributes, next hop).
pub use evpn::type5::Export as EvpnExport;

/// The node's kernel layout and EVPN configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLayout {
    /// Objects in the router namespace and in the host namespace.
    pub fragment: Fragment,
    /// VRF tables by VRF name.
    pub tables: BTreeMap<String, u32>,
    /// The EVPN view (RDs, RTs, VTEP, router MAC); `None` without a tunnel endpoint.
    pub evpn: Option<EvpnConfig>,
    /// The router side of each VRF's host-session veth (`pe-e-<VNI>` for an L3VNI,
    /// `pe-s-<rdAssignedNumber>` for an L3VPN), by VRF name: where host routes point.
    pub host_legs: BTreeMap<String, String>,
}

/// Why a layout cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    /// An address formula or a name is out of bounds.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A VNI needs a VTEP of a family the tunnel endpoint does not have (the configuration
    /// validation prevents this; kept as an error rather than a panic).
    #[error("VNI {vni}: no {family} VTEP for node index {node_index}")]
    NoVtep {
        /// The VNI.
        vni: u32,
        /// "IPv4" or "IPv6".
        family: &'static str,
        /// The node index.
        node_index: u32,
    },
}

/// This node's router MAC: `02:00` + the last four octets of the VTEP address. Stable across
/// restarts and distinct per node (the VTEPs are), locally administered, unicast; the same
/// for every L3VNI, because peers keep one router MAC per VTEP (`bgp-evpn-wire.md` pitfall 12).
pub fn router_mac(vtep: IpAddr) -> MacAddr {
    let [a, b, c, d] = match vtep {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    MacAddr([0x02, 0x00, a, b, c, d])
}

fn session(hs: &HostSession, node_index: u32) -> layout::HostSession {
    layout::HostSession {
        local_cidrs: hs
            .local_cidr_v4
            .map(IpNet::V4)
            .into_iter()
            .chain(hs.local_cidr_v6.map(IpNet::V6))
            .collect(),
        node_index,
    }
}

/// Sets the UDP port of VXLAN device `vni<vni>` in `f` (the layouts use the default 4789).
fn set_port(f: &mut Fragment, vni: u32, port: u16) {
    if let Some(link) = f.router.links.get_mut(&format!("vni{vni}")) {
        if let LinkKind::Vxlan { dstport, .. } = &mut link.kind {
            *dstport = port;
        }
    }
}

/// The node layout of `config`: the namespace (sysctls, `lo` up), the VTEPs, the
/// passthrough veth, every L3VNI (VRF with a table allocated lowest-free around `in_use`,
/// `br-pe-<VNI>` with the router MAC, `vni<VNI>`, host veth) and every L2VNI.
/// `ns.host` is where the host legs go, as seen from the router namespace.
pub fn node_layout(
    config: &Config,
    in_use: &BTreeMap<String, u32>,
    ns: &Namespaces,
    underlay_mtu: Option<u32>,
) -> Result<NodeLayout, OverlayError> {
    let o = &config.overlay;
    let idx = config.node_index;
    let vtep_of = |v6: bool, vni: u32| {
        o.tunnel_endpoint.vtep(v6, idx).ok_or(OverlayError::NoVtep {
            vni,
            family: if v6 { "IPv6" } else { "IPv4" },
            node_index: idx,
        })
    };
    let mut f = layout::namespace(o.srv6.is_some());
    let mut primary = None;
    for v6 in [false, true] {
        if let Some(ip) = o.tunnel_endpoint.vtep(v6, idx) {
            f.merge(layout::vtep(ip));
            primary.get_or_insert(ip);
        }
    }
    if let Some(hs) = &config.passthrough {
        f.merge(layout::passthrough(&session(hs, idx), ns)?);
    }
    let tables = layout::allocate_vrf_tables(in_use, o.vrf_names());
    let mut host_legs = BTreeMap::new();
    let mac = primary.map(router_mac);
    let mut specs = Vec::new();
    for l3 in &o.l3vnis {
        let vtep = vtep_of(l3.vtep_v6, l3.vni)?;
        let table = tables.get(&l3.vrf).copied().unwrap_or(0);
        let hs = l3.host_session.as_ref().map(|h| session(h, idx));
        if hs.is_some() {
            host_legs.insert(l3.vrf.clone(), format!("pe-e-{}", l3.vni));
        }
        let mut frag = layout::l3vni(&l3.vrf, l3.vni, table, vtep, hs.as_ref(), underlay_mtu, ns)?;
        if let (Some(mac), Some(br)) =
            (mac, frag.router.links.get_mut(&format!("br-pe-{}", l3.vni)))
        {
            br.mac = Some(mac);
        }
        set_port(&mut frag, l3.vni, l3.vxlan_port);
        f.merge(frag);
        specs.push(VniSpec {
            vrf: Some(l3.vrf.clone()),
            vni: l3.vni,
            table,
            export_rts: l3.export_rts.clone(),
            import_rts: l3.import_rts.clone(),
            routing_domain: None,
        });
    }
    for l2 in &o.l2vnis {
        let vtep = vtep_of(l2.vtep_v6, l2.vni)?;
        let master = match &l2.host_master {
            HostMasterConfig::None => HostMaster::None,
            HostMasterConfig::LinuxBridgeManaged => HostMaster::LinuxBridgeManaged,
            HostMasterConfig::LinuxBridgeExternal(b) => HostMaster::LinuxBridgeExternal(b.clone()),
        };
        let mut frag = layout::l2vni(
            l2.vni,
            vtep,
            l2.routing_domain.as_deref(),
            &l2.gateway_ips,
            &master,
            underlay_mtu,
            ns,
        )?;
        set_port(&mut frag, l2.vni, l2.vxlan_port);
        f.merge(frag);
        specs.push(VniSpec {
            vrf: None,
            vni: l2.vni,
            table: 0,
            export_rts: Vec::new(),
            import_rts: Vec::new(),
            routing_domain: l2.routing_domain.clone(),
        });
    }
    for vpn in &o.l3vpns {
        let table = tables.get(&vpn.vrf).copied().unwrap_or(0);
        let hs = vpn.host_session.as_ref().map(|h| session(h, idx));
        if hs.is_some() {
            host_legs.insert(vpn.vrf.clone(), format!("pe-s-{}", vpn.rd_assigned_number));
        }
        f.merge(layout::l3vpn(
            &vpn.vrf,
            vpn.rd_assigned_number,
            table,
            hs.as_ref(),
            underlay_mtu,
            ns,
        )?);
        // The SRv6 outer source. `ip sr tunsrc` is unset (as in OpenPERouter, whose FRR
        // `source-address` is commented out), so H.Encaps takes the source the kernel selects
        // for the route's device, the VRF (`set_tun_src` → `ipv6_dev_get_saddr`): an address
        // of the VRF's L3 domain, i.e. the host leg's fd00:20::1-like address shared by
        // every node, and none at all in an IPv4-only VRF, where the kernel drops the
        // packets (seen in vm/tests/l3vpn-fabric.sh). The IPv6 VTEP as a /128 on the VRF
        // device wins the selection (rule 5, the outgoing interface), so the outer source is
        // the node's own routable VTEP; VRF devices are NOARP, so there is no DAD.
        if let Some(vtep @ IpAddr::V6(_)) = o.tunnel_endpoint.vtep(true, idx) {
            f.router
                .add_address(dataplane::Address::new(vpn.vrf.as_str(), IpNet::from(vtep)));
        }
    }
    let evpn = match (primary, mac) {
        (Some(ip), Some(router_mac)) => Some(EvpnConfig::with_auto(
            config.asn,
            config.router_id,
            Vtep { ip, router_mac },
            &specs,
            o.rt_style,
        )),
        _ => None,
    };
    Ok(NodeLayout {
        fragment: f,
        tables,
        evpn,
        host_legs,
    })
}

/// The node's L3VPN view for `config` (RDs, RTs, per-VRF SIDs, VPN next hop) with VRF tables
/// unresolved (0): `Ok(None)` without L3VPNs, `srv6` or an IPv6 VTEP. `existing` are the
/// per-VRF SID functions in use, kept so SIDs survive reloads
/// ([`evpn::l3vpn::VpnConfig::functions`] of the previous view).
pub fn vpn_view(
    config: &Config,
    existing: &BTreeMap<String, u32>,
) -> Result<Option<evpn::l3vpn::VpnConfig>, evpn::l3vpn::SidError> {
    let o = &config.overlay;
    let (Some(srv6), Some(IpAddr::V6(next_hop))) =
        (&o.srv6, o.tunnel_endpoint.vtep(true, config.node_index))
    else {
        return Ok(None);
    };
    if o.l3vpns.is_empty() {
        return Ok(None);
    }
    let specs: Vec<evpn::l3vpn::VpnSpec> = o
        .l3vpns
        .iter()
        .map(|v| evpn::l3vpn::VpnSpec {
            vrf: v.vrf.clone(),
            table: 0,
            rd_assigned_number: v.rd_assigned_number,
            export_rts: v.export_rts.clone(),
            import_rts: v.import_rts.clone(),
        })
        .collect();
    evpn::l3vpn::VpnConfig::with_auto(
        config.router_id,
        config.asn,
        next_hop,
        srv6.evpn_locator(),
        &specs,
        existing,
    )
    .map(Some)
}

/// What the fabric's routes put into this node's kernel, as the kernel task needs it: EVPN
/// imports (VRF names and VNIs, no tables: the kernel task resolves those against the
/// namespace) and the default VRF's unicast routes (the underlay: how VTEPs are reached).
#[derive(Debug, Clone, Default)]
pub struct FabricImports {
    /// Type-5 routes imported into VRFs (ECMP paths included).
    pub type5: Vec<evpn::type5::Imported>,
    /// Type-3 routes imported into L2VNIs.
    pub type3: Vec<evpn::type3::ImportedImet>,
    /// IPv4/IPv6 unicast routes learned from peers: prefix → next-hop addresses of the
    /// selected paths (ECMP), for the main table.
    pub unicast: BTreeMap<IpNet, Vec<IpAddr>>,
    /// Per VRF (L3VNI name), the unicast routes its host session learned: prefix → next hops
    /// of the selected paths, for the VRF's table (zebra installs these for FRR).
    pub vrf_unicast: BTreeMap<String, BTreeMap<IpNet, Vec<IpAddr>>>,
    /// The L2VNI MAC tables (remote MACs become FDB entries, ARP/ND suppression neighbours and
    /// symmetric host routes; the kernel task resolves VRF tables).
    pub macs: evpn::type2::MacTable,
    /// What `macs` puts in the kernel, as seen with the actor's view (no tables): compared to
    /// tell whether the kernel task needs the new table.
    pub macs_signature: dataplane::DesiredState,
    /// The actor's L3VPN view ([`vpn_view`], tables unresolved): the per-VRF SIDs are
    /// allocated by the actor and kept across reloads, so the kernel task takes them from
    /// here rather than from the configuration.
    pub vpn: Option<evpn::l3vpn::VpnConfig>,
    /// VPN-IPv4/VPN-IPv6 routes imported into L3VPN VRFs (best paths only).
    pub l3vpn: Vec<evpn::l3vpn::Imported>,
}

impl PartialEq for FabricImports {
    fn eq(&self, other: &Self) -> bool {
        self.type5 == other.type5
            && self.type3 == other.type3
            && self.unicast == other.unicast
            && self.vrf_unicast == other.vrf_unicast
            && self.macs_signature == other.macs_signature
            && self.vpn == other.vpn
            && self.l3vpn == other.l3vpn
    }
}

/// The main-table route of a learned unicast prefix (`proto 250`, ECMP over the next hops).
/// IPv6 link-local next hops (unnumbered sessions) are not installed: they need the
/// session's interface, which the RIB does not record yet.
pub fn unicast_route(prefix: IpNet, next_hops: &[IpAddr]) -> Option<dataplane::Route> {
    let hops: Vec<dataplane::NextHop> = next_hops
        .iter()
        .filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local()))
        .map(|ip| dataplane::NextHop::via(*ip, None))
        .collect();
    (!hops.is_empty())
        .then(|| dataplane::Route::unicast(254, prefix, hops).with_metric(dataplane::ROUTE_METRIC))
}

/// The address of a 4- or 16-octet next hop (EVPN and unicast paths; `None` otherwise).
pub fn next_hop_ip(nh: &bgp_wire::NextHop) -> Option<IpAddr> {
    match nh {
        bgp_wire::NextHop::Ipv4(a) => Some(IpAddr::V4(*a)),
        bgp_wire::NextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
        _ => None,
    }
}

/// What the selected EVPN paths of the underlay RIB import into this node's VRFs and L2VNIs
/// (`paths`: every selected path, best first, with its NLRI, attributes and next hop).
/// Routes the evpn crate ignores (no Router's MAC, own VTEP, …) are left out and counted.
/// The type-5 imports are also returned with the attributes of their path, for the VRF
/// instances.
#[allow(clippy::type_complexity)]
pub fn evpn_imports<'a>(
    evpn: &EvpnConfig,
    paths: impl IntoIterator<
        Item = (
            &'a bgp_wire::evpn::EvpnRoute,
            &'a bgp_wire::PathAttributes,
            &'a bgp_wire::NextHop,
        ),
    >,
) -> (
    FabricImports,
    Vec<(evpn::type5::Imported, &'a bgp_wire::PathAttributes)>,
    usize,
) {
    let mut out = FabricImports::default();
    let mut with_attrs = Vec::new();
    let mut ignored = 0;
    for (route, attrs, nh) in paths {
        let Some(nh) = next_hop_ip(nh) else {
            ignored += 1;
            continue;
        };
        match route {
            bgp_wire::evpn::EvpnRoute::IpPrefix(r) => {
                match evpn::type5::import(evpn, r, attrs, nh) {
                    Ok(v) => {
                        with_attrs.extend(v.iter().map(|i| (i.clone(), attrs)));
                        out.type5.extend(v);
                    }
                    Err(_) => ignored += 1,
                }
            }
            bgp_wire::evpn::EvpnRoute::InclusiveMulticast(r) => {
                match evpn::type3::import(evpn, r, attrs, nh) {
                    Ok(v) => out.type3.extend(v),
                    Err(_) => ignored += 1,
                }
            }
            _ => {}
        }
    }
    out.type5.sort();
    out.type5.dedup();
    out.type3.sort();
    out.type3.dedup();
    (out, with_attrs, ignored)
}

/// The kernel objects of `imports` for the node layout `layout` (its EVPN view carries the
/// VRF tables the layout allocated): EVPN imports, main-table unicast routes, host routes
/// in the VRF tables, and for L3VPNs the local SID routes (End.DT46/uDT46 per VRF) and the
/// H.Encaps routes of the imported VPN prefixes.
pub fn import_objects(layout: &NodeLayout, imports: &FabricImports) -> dataplane::DesiredState {
    let mut f = Fragment {
        router: unicast_objects(imports),
        host: dataplane::DesiredState::new(),
    };
    if let Some(evpn) = &layout.evpn {
        for router in [
            evpn::type5::dataplane(evpn, &imports.type5),
            evpn::type3::dataplane(evpn, &imports.type3),
            imports.macs.dataplane(evpn),
        ] {
            f.merge(Fragment {
                router,
                host: dataplane::DesiredState::new(),
            });
        }
    }
    if let Some(vpn) = &imports.vpn {
        let mut vpn = vpn.clone();
        for v in &mut vpn.vpns {
            v.table = layout.tables.get(&v.vrf).copied().unwrap_or(0);
        }
        // A VRF without a table (not in the layout) gets no routes.
        vpn.vpns.retain(|v| v.table != 0);
        f.merge(Fragment {
            router: evpn::l3vpn::dataplane(&vpn, &imports.l3vpn),
            host: dataplane::DesiredState::new(),
        });
    }
    for (vrf, routes) in &imports.vrf_unicast {
        let (Some(table), Some(leg)) = (layout.tables.get(vrf), layout.host_legs.get(vrf)) else {
            continue;
        };
        for (prefix, hops) in routes {
            // Host sessions are single hop: the next hop is the host side of the session's
            // veth, `pe-e-<VNI>` / `pe-s-<n>` on our side.
            let hops: Vec<dataplane::NextHop> = hops
                .iter()
                .filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local()))
                .map(|ip| dataplane::NextHop::via(*ip, Some(leg.clone())))
                .collect();
            if !hops.is_empty() {
                f.router.add_route(
                    dataplane::Route::unicast(*table, *prefix, hops)
                        .with_metric(dataplane::ROUTE_METRIC),
                );
            }
        }
    }
    f.router
}

/// The node's EVPN view for `config` with VRF tables unresolved (0): what the BGP side needs
/// (names, VNIs, RDs, RTs, VTEP, router MAC).
pub fn evpn_view(config: &Config) -> Option<EvpnConfig> {
    node_layout(config, &BTreeMap::new(), &Namespaces::default(), None)
        .ok()
        .and_then(|l| l.evpn)
}

/// The main-table routes of `imports.unicast`.
pub fn unicast_objects(imports: &FabricImports) -> dataplane::DesiredState {
    let mut d = dataplane::DesiredState::new();
    for (prefix, hops) in &imports.unicast {
        if let Some(r) = unicast_route(*prefix, hops) {
            d.add_route(r);
        }
    }
    d
}

/// The type-5 route announcing `prefix` of L3VNI `l3` with the attributes of the VRF path
/// it comes from (`attrs`: origin, AS path, MED, communities, as FRR's `advertise ipv4
/// unicast` carries them; `None` for a route the VRF originates): what goes into the EVPN
/// table for each best path of a VRF instance that was not itself imported from EVPN.
pub fn vrf_type5(
    evpn: &EvpnConfig,
    l3: &evpn::config::L3Vni,
    prefix: IpNet,
    attrs: Option<&bgp_wire::PathAttributes>,
) -> evpn::type5::Export {
    let mut e = evpn::type5::export(evpn, l3, prefix);
    if let Some(a) = attrs {
        e.attrs.origin = a.origin.or(e.attrs.origin);
        if let Some(path) = &a.as_path {
            e.attrs.as_path = Some(path.clone());
        }
        e.attrs.med = a.med;
        e.attrs.communities = a.communities.clone();
        e.attrs.large_communities = a.large_communities.clone();
    }
    e
}

/// The EVPN routes this node originates for `config` besides its VRFs' type-5 routes (those
/// follow the VRF instances' best paths: [`vrf_type5`]): one type-3 (IMET) route per L2VNI.
/// `evpn` is the node's view ([`evpn_view`]).
pub fn evpn_exports(evpn: &EvpnConfig) -> Vec<evpn::type5::Export> {
    evpn.l2vnis
        .iter()
        .map(|l2| evpn::type3::export(evpn, l2))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use dataplane::AddrGenMode;

    fn cfg(text: &str) -> Config {
        crate::config::parse(text).unwrap()
    }

    const NODE: &str = "\
routerID: 10.0.0.2
asn: 64514
nodeIndex: 1
tunnelEndpoint: { cidrs: [100.65.0.0/24] }
passthrough: { hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.11.0/24 } } }
l3vnis:
  - { vrf: red, vni: 100, hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.10.0/24 } } }
l2vnis:
  - { vni: 110, routingDomain: { type: L3VNI, l3vni: { name: red } }, gatewayIPs: [192.171.24.1/24] }
  - { vni: 120, vxlanPort: 4790, hostMaster: { type: LinuxBridge, linuxBridge: { lifecycle: Managed } } }
";

    #[test]
    fn the_reference_worked_example_node_1() {
        let ns = Namespaces {
            host: Some("/proc/1/ns/net".into()),
            router: None,
        };
        let n = node_layout(&cfg(NODE), &BTreeMap::new(), &ns, Some(1500)).unwrap();
        let r = &n.fragment.router;
        // Reference §2.5.8's worked example: lo has 100.65.0.1/32, VRF red is table 1.
        assert!(r
            .addresses
            .iter()
            .any(|a| a.link == "lo" && a.addr.to_string() == "100.65.0.1/32"));
        assert_eq!(n.tables["red"], 1);
        assert_eq!(r.links["red"].kind, LinkKind::Vrf { table: 1 });
        let br = &r.links["br-pe-100"];
        assert_eq!(br.mac, Some(MacAddr([2, 0, 100, 65, 0, 1])));
        assert_eq!(br.addr_gen_mode, Some(AddrGenMode::None));
        assert!(r
            .addresses
            .iter()
            .any(|a| a.link == "pe-e-100" && a.addr.to_string() == "192.169.10.1/24"));
        assert!(n
            .fragment
            .host
            .addresses
            .iter()
            .any(|a| a.link == "host-e-100" && a.addr.to_string() == "192.169.10.3/24"));
        assert!(r.links.contains_key("pt-ns"));
        assert!(n.fragment.host.links.contains_key("pt-host"));
        assert!(matches!(
            r.links["vni120"].kind,
            LinkKind::Vxlan { dstport: 4790, .. }
        ));
        assert!(matches!(
            r.links["vni110"].kind,
            LinkKind::Vxlan { dstport: 4789, .. }
        ));
        assert_eq!(r.links["br-pe-110"].master.as_deref(), Some("red"));
        assert!(n.fragment.host.links.contains_key("br-hs-120"));
        assert_eq!(r.sysctls["net/ipv4/conf/all/forwarding"], "1");

        let e = n.evpn.unwrap();
        assert_eq!(e.vtep.ip, "100.65.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(e.l3vnis[0].table, 1);
        assert_eq!(e.l2vnis.len(), 2);
        assert_eq!(e.l2vnis[0].routing_domain.as_deref(), Some("red"));
    }

    #[test]
    fn existing_vrfs_keep_their_tables_and_no_overlay_means_no_evpn() {
        let in_use = BTreeMap::from([("red".to_owned(), 7), ("other".to_owned(), 1)]);
        let n = node_layout(&cfg(NODE), &in_use, &Namespaces::default(), None).unwrap();
        assert_eq!(n.tables["red"], 7);
        let plain = node_layout(
            &cfg("routerID: 10.0.0.2\nasn: 64514\n"),
            &BTreeMap::new(),
            &Namespaces::default(),
            None,
        )
        .unwrap();
        assert!(plain.evpn.is_none());
        assert!(plain.fragment.host.links.is_empty());
        assert_eq!(plain.fragment.router.links.len(), 1, "only lo");
    }

    #[test]
    fn the_node_originates_host_addresses_gateway_subnets_and_imets() {
        use bgp_wire::evpn::EvpnRoute;
        let node = cfg(NODE);
        let evpn = evpn_view(&node).unwrap();
        // Node 1's host side of 192.169.10.0/24 is .3 (reference worked example); the
        // L2VNI 110 gateway subnet is routed in red.
        let nets: Vec<String> = node
            .vrf_networks("red")
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["192.169.10.3/32", "192.171.24.0/24"]);
        assert!(node.vrf_networks("blue").is_empty());
        let exports = evpn_exports(&evpn);
        assert_eq!(exports.len(), 2, "one IMET per L2VNI");
        assert!(exports
            .iter()
            .all(|e| matches!(e.route, EvpnRoute::InclusiveMulticast(_))));
        // A host route keeps its AS path and origin, and gets the VRF's RT, RMAC and VNI.
        let host = bgp_wire::PathAttributes {
            origin: Some(bgp_wire::Origin::Incomplete),
            as_path: Some(bgp_wire::AsPath::sequence(vec![64515])),
            med: Some(7),
            ..Default::default()
        };
        let e = vrf_type5(
            &evpn,
            &evpn.l3vnis[0],
            "10.5.0.0/24".parse().unwrap(),
            Some(&host),
        );
        assert_eq!(e.attrs.as_path, host.as_path);
        assert_eq!(e.attrs.origin, Some(bgp_wire::Origin::Incomplete));
        assert_eq!(e.attrs.med, Some(7));
        assert!(e
            .attrs
            .ext_communities
            .iter()
            .any(|c| c.route_target().is_some()));
        let EvpnRoute::IpPrefix(r) = &e.route else {
            panic!("not a type-5: {:?}", e.route)
        };
        assert_eq!(r.label.raw(), 100);
        assert!(evpn_view(&cfg("routerID: 10.0.0.2\nasn: 64514\n")).is_none());
    }

    #[test]
    fn router_mac_is_stable_per_vtep() {
        assert_eq!(
            router_mac("100.65.0.1".parse().unwrap()).to_string(),
            "02:00:64:41:00:01"
        );
        assert_eq!(
            router_mac("fd00:65::1:2".parse().unwrap()).to_string(),
            "02:00:00:01:00:02"
        );
    }
}
