//! Codec throughput on realistic UPDATEs (issue 2): decode and encode of
//! * 1000 IPv4 /24 under one attribute set (ORIGIN, AS_PATH of two ASes, NEXT_HOP, MED),
//! * 1000 EVPN type-5 IPv4 routes with RT + encapsulation + Router's MAC,
//! * 1000 EVPN type-2 MAC+IP routes with two labels,
//! * 1000 VPN-IPv4 /24 routes with an RT.
//!
//! Each benchmark processes all 1000 routes (as many UPDATEs of at most 4096 octets as that
//! takes); criterion reports time per iteration, so ns/route = time / 1000. Throughput is
//! reported in bytes so MB/s is read off directly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::evpn::{IpPrefixRoute, MacIpAdvertisement};
use bgp_wire::nlri::{EvpnNlri, Ipv4Nlri, NextHop, NlriList, VpnNlri};
use bgp_wire::{
    decode_message, pack, AdminValue, AsPath, Context, Esi, EvpnRoute, ExtCommunity, Label24, Mac,
    Message, MplsLabel, Origin, PathAttributes, RouteDistinguisher,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const N: u32 = 1000;

fn base_attrs() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(vec![65001, 65002])),
        med: Some(0),
        ..Default::default()
    }
}

fn rd() -> RouteDistinguisher {
    RouteDistinguisher::new(AdminValue::Ipv4 {
        addr: Ipv4Addr::new(10, 0, 0, 1),
        value: 2,
    })
}

fn ipv4_routes() -> NlriList {
    NlriList::Ipv4Unicast(
        (0..N)
            .map(|i| {
                let [_, _, a, b] = i.to_be_bytes();
                Ipv4Nlri {
                    path_id: None,
                    prefix: format!("10.{a}.{b}.0/24").parse().unwrap(),
                }
            })
            .collect(),
    )
}

fn type5_routes() -> NlriList {
    NlriList::L2vpnEvpn(
        (0..N)
            .map(|i| {
                let [_, _, a, b] = i.to_be_bytes();
                let prefix = format!("10.{a}.{b}.0/24").parse().unwrap();
                EvpnNlri {
                    path_id: None,
                    route: EvpnRoute::IpPrefix(IpPrefixRoute {
                        rd: rd(),
                        esi: Esi::ZERO,
                        eth_tag: 0,
                        prefix,
                        gateway: IpPrefixRoute::no_gateway(prefix),
                        label: Label24::new(100),
                    }),
                }
            })
            .collect(),
    )
}

fn type2_routes() -> NlriList {
    NlriList::L2vpnEvpn(
        (0..N)
            .map(|i| {
                let [_, _, a, b] = i.to_be_bytes();
                EvpnNlri {
                    path_id: None,
                    route: EvpnRoute::MacIp(MacIpAdvertisement {
                        rd: rd(),
                        esi: Esi::ZERO,
                        eth_tag: 0,
                        mac: Mac([0x02, 0, 0, 0, a, b]),
                        ip: Some(IpAddr::V4(Ipv4Addr::new(10, 1, a, b))),
                        label1: Label24::new(10100),
                        label2: Some(Label24::new(100)),
                    }),
                }
            })
            .collect(),
    )
}

fn vpnv4_routes() -> NlriList {
    NlriList::Ipv4Vpn(
        (0..N)
            .map(|i| {
                let [_, _, a, b] = i.to_be_bytes();
                VpnNlri {
                    path_id: None,
                    labels: [MplsLabel {
                        label: 16 + i,
                        tc: 0,
                        bos: true,
                    }]
                    .into_iter()
                    .collect(),
                    rd: RouteDistinguisher::new(AdminValue::As2 {
                        asn: 65000,
                        value: 100,
                    }),
                    prefix: format!("10.{a}.{b}.0/24").parse().unwrap(),
                }
            })
            .collect(),
    )
}

struct Workload {
    name: &'static str,
    attrs: PathAttributes,
    next_hop: NextHop,
    routes: NlriList,
}

fn workloads() -> Vec<Workload> {
    let vtep = NextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1));
    let evpn_attrs = PathAttributes {
        ext_communities: vec![
            ExtCommunity::route_target_as2(65000, 100),
            ExtCommunity::VXLAN,
            ExtCommunity::RouterMac(Mac([0x66, 0xaf, 0xcc, 0x19, 0x4b, 0xfb])),
        ],
        ..base_attrs()
    };
    let vpn_attrs = PathAttributes {
        ext_communities: vec![ExtCommunity::route_target_as2(65000, 100)],
        ..base_attrs()
    };
    vec![
        Workload {
            name: "ipv4-24",
            attrs: base_attrs(),
            next_hop: vtep,
            routes: ipv4_routes(),
        },
        Workload {
            name: "evpn-type5",
            attrs: evpn_attrs.clone(),
            next_hop: vtep,
            routes: type5_routes(),
        },
        Workload {
            name: "evpn-type2",
            attrs: evpn_attrs,
            next_hop: vtep,
            routes: type2_routes(),
        },
        Workload {
            name: "vpnv4",
            attrs: vpn_attrs,
            next_hop: NextHop::VpnIpv4 {
                rd: RouteDistinguisher::ZERO,
                addr: Ipv4Addr::new(192, 0, 2, 1),
            },
            routes: vpnv4_routes(),
        },
    ]
}

fn routes_in(msg: &Message) -> usize {
    match msg {
        Message::Update(u) => {
            u.nlri.len() + u.attributes.mp_reach.as_ref().map_or(0, |m| m.nlri.len())
        }
        _ => 0,
    }
}

fn codec(c: &mut Criterion) {
    let ctx = Context::default();
    for w in workloads() {
        let msgs = pack::announce(&w.attrs, w.next_hop, &w.routes, &ctx).unwrap();
        let bytes: usize = msgs.iter().map(Vec::len).sum();
        // Sanity: the packed messages decode cleanly back to every route.
        let total: usize = msgs
            .iter()
            .map(|m| {
                let r = decode_message(m, &ctx).unwrap();
                assert!(r.verdict.is_clean(), "{}: {:?}", w.name, r.verdict);
                routes_in(&r.message)
            })
            .sum();
        assert_eq!(total, N as usize, "{}", w.name);
        eprintln!(
            "{}: {} UPDATEs, {} octets, {:.2} octets/route",
            w.name,
            msgs.len(),
            bytes,
            bytes as f64 / f64::from(N)
        );

        let mut g = c.benchmark_group(format!("decode/{}", w.name));
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("1000 routes", |b| {
            b.iter(|| {
                let mut n = 0;
                for m in &msgs {
                    let r = decode_message(black_box(m), &ctx).unwrap();
                    n += routes_in(&r.message);
                }
                black_box(n)
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("encode/{}", w.name));
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("1000 routes", |b| {
            b.iter(|| {
                black_box(pack::announce(&w.attrs, w.next_hop, black_box(&w.routes), &ctx).unwrap())
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = codec
}
criterion_main!(benches);
