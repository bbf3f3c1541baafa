//! What the EVPN layer needs to know about the node: its AS, router ID and VTEP, and its
//! L3VNIs (VRFs) and L2VNIs with their RDs and RTs. Built by the daemon from the configuration;
//! [`EvpnConfig::with_auto`] fills RDs and RTs the way FRR would.

use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::types::{AdminValue, RouteDistinguisher};
use dataplane::MacAddr;

use crate::rt::{auto_rd_numbers, auto_rt, rd_type1, RtMatch, RtStyle};

/// The local VTEP: one address and one router MAC for every L3VNI (FRR keeps one RMAC per
/// remote VTEP; different RMACs per VRF from one VTEP blackhole traffic, pitfall 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vtep {
    /// The VTEP address (on `lo`; the EVPN next hop, 4 or 16 octets).
    pub ip: IpAddr,
    /// The router MAC (Router's MAC extended community; the MAC of every `br-pe-<VNI>` of an
    /// L3VNI).
    pub router_mac: MacAddr,
}

/// An L3VNI: a VRF whose routes travel as EVPN type-5 routes with this VNI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L3Vni {
    /// VRF name (the kernel VRF device).
    pub vrf: String,
    /// The L3VNI.
    pub vni: u32,
    /// The VRF's routing table.
    pub table: u32,
    /// RD of the routes we originate for this VRF.
    pub rd: RouteDistinguisher,
    /// Route targets put on exported routes.
    pub export_rts: Vec<AdminValue>,
    /// Import rules: a route with any matching RT is imported into this VRF.
    pub import_rts: Vec<RtMatch>,
}

impl L3Vni {
    /// The L3VNI bridge, `br-pe-<VNI>` (OpenPERouter's name).
    pub fn bridge(&self) -> String {
        format!("br-pe-{}", self.vni)
    }

    /// The VXLAN device, `vni<VNI>`.
    pub fn vxlan(&self) -> String {
        format!("vni{}", self.vni)
    }
}

/// An L2VNI: a MAC-VRF stretched over VXLAN (type-2 and type-3 routes with this VNI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Vni {
    /// The VNI.
    pub vni: u32,
    /// RD of the routes we originate for this VNI.
    pub rd: RouteDistinguisher,
    /// Route targets put on exported routes.
    pub export_rts: Vec<AdminValue>,
    /// Import rules.
    pub import_rts: Vec<RtMatch>,
    /// The VRF (an [`L3Vni`]'s `vrf`) this L2VNI routes into (symmetric IRB: MAC+IP routes
    /// carry that L3VNI as label 2 and the router MAC), if any.
    pub routing_domain: Option<String>,
}

impl L2Vni {
    /// The bridge, `br-pe-<VNI>`.
    pub fn bridge(&self) -> String {
        format!("br-pe-{}", self.vni)
    }

    /// The VXLAN device, `vni<VNI>`.
    pub fn vxlan(&self) -> String {
        format!("vni{}", self.vni)
    }
}

/// The node's EVPN configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvpnConfig {
    /// Local AS (for automatic RTs).
    pub asn: u32,
    /// Router ID (for automatic RDs).
    pub router_id: Ipv4Addr,
    /// The VTEP.
    pub vtep: Vtep,
    /// L3VNIs.
    pub l3vnis: Vec<L3Vni>,
    /// L2VNIs.
    pub l2vnis: Vec<L2Vni>,
}

/// An L3VNI as configured, before RD/RT derivation: explicit RTs replace the automatic ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VniSpec {
    /// VRF name (L3VNI) or `None` (L2VNI).
    pub vrf: Option<String>,
    /// The VNI.
    pub vni: u32,
    /// Routing table (L3VNI).
    pub table: u32,
    /// Explicit export RTs (empty: automatic).
    pub export_rts: Vec<AdminValue>,
    /// Explicit import rules (empty: the automatic RT under any AS, `*:VNI`).
    pub import_rts: Vec<RtMatch>,
    /// Routing domain (L2VNI).
    pub routing_domain: Option<String>,
}

impl EvpnConfig {
    /// Builds the configuration with FRR-like automatic values where nothing is explicit:
    /// RD `router-id:N` with [`auto_rd_numbers`] over every VNI, export RT [`auto_rt`] in
    /// `style`, import `*:<that RT's number>` (FRR's wildcard, needed in eBGP fabrics where
    /// every leaf has its own AS).
    pub fn with_auto(
        asn: u32,
        router_id: Ipv4Addr,
        vtep: Vtep,
        vnis: &[VniSpec],
        style: RtStyle,
    ) -> EvpnConfig {
        let numbers = auto_rd_numbers(vnis.iter().map(|v| v.vni));
        let mut cfg = EvpnConfig {
            asn,
            router_id,
            vtep,
            l3vnis: Vec::new(),
            l2vnis: Vec::new(),
        };
        for spec in vnis {
            let rd = rd_type1(router_id, numbers.get(&spec.vni).copied().unwrap_or(1));
            let export_rts = if spec.export_rts.is_empty() {
                vec![auto_rt(asn, spec.vni, style)]
            } else {
                spec.export_rts.clone()
            };
            let import_rts = if spec.import_rts.is_empty() {
                vec![RtMatch::wildcard(spec.vni, style)]
            } else {
                spec.import_rts.clone()
            };
            match &spec.vrf {
                Some(vrf) => cfg.l3vnis.push(L3Vni {
                    vrf: vrf.clone(),
                    vni: spec.vni,
                    table: spec.table,
                    rd,
                    export_rts,
                    import_rts,
                }),
                None => cfg.l2vnis.push(L2Vni {
                    vni: spec.vni,
                    rd,
                    export_rts,
                    import_rts,
                    routing_domain: spec.routing_domain.clone(),
                }),
            }
        }
        cfg
    }

    /// The L3VNI of VRF `vrf`.
    pub fn l3vni(&self, vrf: &str) -> Option<&L3Vni> {
        self.l3vnis.iter().find(|l| l.vrf == vrf)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn automatic_rd_and_rt() {
        let vtep = Vtep {
            ip: "100.65.0.1".parse().unwrap(),
            router_mac: MacAddr([2, 0, 0, 0, 0, 1]),
        };
        let specs = [
            VniSpec {
                vrf: Some("red".into()),
                vni: 100,
                table: 1,
                ..VniSpec::default()
            },
            VniSpec {
                vni: 110,
                routing_domain: Some("red".into()),
                export_rts: vec![AdminValue::As2 { asn: 1, value: 2 }],
                ..VniSpec::default()
            },
        ];
        let c = EvpnConfig::with_auto(
            64514,
            Ipv4Addr::new(10, 0, 0, 2),
            vtep,
            &specs,
            RtStyle::Frr,
        );
        let red = c.l3vni("red").unwrap();
        assert_eq!(red.rd, rd_type1(Ipv4Addr::new(10, 0, 0, 2), 100));
        assert_eq!(
            red.export_rts,
            [AdminValue::As2 {
                asn: 64514,
                value: 100
            }]
        );
        assert_eq!(red.import_rts, [RtMatch::AnyAdmin(100)]);
        assert_eq!(
            (red.bridge(), red.vxlan()),
            ("br-pe-100".into(), "vni100".into())
        );
        let l2 = &c.l2vnis[0];
        assert_eq!(l2.export_rts, [AdminValue::As2 { asn: 1, value: 2 }]);
        assert_eq!(l2.import_rts, [RtMatch::AnyAdmin(110)]);
        assert_eq!(l2.routing_domain.as_deref(), Some("red"));
    }
}
