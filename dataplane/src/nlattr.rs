//! Reading netlink attributes into our types: shared by the reconciler ([`crate::netlink`]),
//! the watchers ([`crate::watch`]) and the NIC moves ([`crate::underlay`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourExtFlags};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteVia};

use crate::model::MacAddr;

/// The `IFLA_IFNAME` of a link message.
pub(crate) fn link_name(l: &LinkMessage) -> Option<String> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })
}

/// The address with its prefix length (`IFA_LOCAL`, or `IFA_ADDRESS` when there is none, as
/// for IPv6).
pub(crate) fn address_net(a: &AddressMessage) -> Option<IpNet> {
    let local = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let address = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Address(ip) => Some(*ip),
        _ => None,
    });
    IpNet::new(local.or(address)?, a.header.prefix_len).ok()
}

/// An IPv4 or IPv6 route address.
pub(crate) fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// `RTA_GATEWAY`, or `RTA_VIA` (a gateway of the other family).
pub(crate) fn gateway(attrs: &[RouteAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => route_ip(g),
        RouteAttribute::Via(RouteVia::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Via(RouteVia::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })
}

/// `NDA_LLADDR` as a MAC.
pub(crate) fn neigh_mac(attrs: &[NeighbourAttribute]) -> Option<MacAddr> {
    attrs.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(m) => MacAddr::from_slice(m),
        _ => None,
    })
}

/// Whether `NDA_FLAGS_EXT` carries `NTF_EXT_MANAGED` (a managed neighbour, kernel ≥ 5.16).
pub(crate) fn neigh_managed(attrs: &[NeighbourAttribute]) -> bool {
    attrs.iter().any(
        |a| matches!(a, NeighbourAttribute::ExtFlags(f) if f.contains(NeighbourExtFlags::Managed)),
    )
}

/// `NDA_DST`; in `AF_BRIDGE` messages it is a raw 4- or 16-byte address.
pub(crate) fn neigh_dst(attrs: &[NeighbourAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        NeighbourAttribute::Destination(NeighbourAddress::Other(raw)) => {
            if let Ok(b) = <[u8; 4]>::try_from(raw.as_slice()) {
                Some(IpAddr::V4(Ipv4Addr::from(b)))
            } else {
                <[u8; 16]>::try_from(raw.as_slice())
                    .ok()
                    .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
            }
        }
        _ => None,
    })
}
