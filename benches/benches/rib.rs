//! RIB throughput (issue 3), 100 000 IPv4 /32 routes:
//! * `ingest`: one eBGP peer announces them in UPDATEs of ~800 routes under one attribute set
//!   (the common full-table shape): decision process and interning included;
//! * `ingest, 4 peers`: four peers announce the same table (best path among 4 paths, ECMP);
//! * `export`: the initial dump of that table to one new eBGP peer (export rules, next hop
//!   self, AS prepend, packing into UPDATEs);
//! * `export, 10 peers same group`: the dump to ten peers of one update group (the export is
//!   computed once and shared);
//! * `churn`: one peer withdraws and re-announces 10 000 routes with 10 other peers attached,
//!   then the changes are sent to all of them.
//!
//! Time per iteration / 100 000 = ns per route.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use bgp::rib::{PeerConfig, PeerId, Rib, RibConfig, SessionInfo};
use bgp::wire::{AsPath, Family, FamilySet, Ipv4Nlri, Origin, PathAttributes, Update, Verdict};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ipnet::Ipv4Net;

const N: u32 = 100_000;
const PER_UPDATE: u32 = 800;

fn updates(path: &[u32], nh: Ipv4Addr, from: u32, count: u32) -> Vec<Update> {
    (from..from + count)
        .collect::<Vec<_>>()
        .chunks(PER_UPDATE as usize)
        .map(|c| Update {
            withdrawn: vec![],
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(path.to_vec())),
                next_hop: Some(nh),
                med: Some(0),
                ..Default::default()
            },
            nlri: c
                .iter()
                .map(|i| Ipv4Nlri {
                    path_id: None,
                    prefix: Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap(),
                })
                .collect(),
        })
        .collect()
}

fn withdrawals(from: u32, count: u32) -> Vec<Update> {
    (from..from + count)
        .collect::<Vec<_>>()
        .chunks(PER_UPDATE as usize)
        .map(|c| Update {
            withdrawn: c
                .iter()
                .map(|i| Ipv4Nlri {
                    path_id: None,
                    prefix: Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap(),
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}

fn add_peer(r: &mut Rib, id: PeerId, asn: u32) {
    add_peer_no_drain(r, id, asn);
    // The empty initial dump's End-of-RIB.
    while r.has_pending(id) {
        r.updates_for(id, 100_000).unwrap();
    }
}

fn rib() -> Rib {
    Rib::new(RibConfig {
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        cluster_id: None,
        max_paths: 4,
    })
}

fn ingest(r: &mut Rib, id: PeerId, us: &[Update]) {
    let v = Verdict::default();
    for u in us {
        r.apply(id, u, &v).unwrap();
    }
}

fn drain(r: &mut Rib, id: PeerId) -> usize {
    let mut n = 0;
    while r.has_pending(id) {
        n += r.updates_for(id, 4096).unwrap().len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let table = updates(&[65001, 65100], Ipv4Addr::new(192, 0, 0, 1), 0, N);
    let mut g = c.benchmark_group("rib 100k IPv4 routes");
    g.throughput(Throughput::Elements(u64::from(N)));

    g.bench_function("ingest", |b| {
        b.iter_batched(
            || {
                let mut r = rib();
                add_peer(&mut r, 1, 65001);
                r
            },
            |mut r| {
                ingest(&mut r, 1, black_box(&table));
                r
            },
            BatchSize::PerIteration,
        )
    });

    let tables: Vec<Vec<Update>> = (1..=4u32)
        .map(|p| updates(&[65001, 65100], Ipv4Addr::new(192, 0, 0, p as u8), 0, N))
        .collect();
    g.bench_function("ingest, 4 peers", |b| {
        b.iter_batched(
            || {
                let mut r = rib();
                for p in 1..=4 {
                    add_peer(&mut r, p, 65001);
                }
                r
            },
            |mut r| {
                for (i, t) in tables.iter().enumerate() {
                    ingest(&mut r, i as u32 + 1, black_box(t));
                }
                r
            },
            BatchSize::PerIteration,
        )
    });

    g.bench_function("export", |b| {
        b.iter_batched(
            || {
                let mut r = rib();
                add_peer(&mut r, 1, 65001);
                ingest(&mut r, 1, &table);
                add_peer_no_drain(&mut r, 2, 65002);
                r
            },
            |mut r| {
                let n = drain(&mut r, 2);
                black_box(n);
                r
            },
            BatchSize::PerIteration,
        )
    });

    g.bench_function("export, 10 peers same group", |b| {
        b.iter_batched(
            || {
                let mut r = rib();
                add_peer(&mut r, 1, 65001);
                ingest(&mut r, 1, &table);
                for p in 2..=11 {
                    add_peer_no_drain(&mut r, p, 65002);
                }
                r
            },
            |mut r| {
                for p in 2..=11 {
                    black_box(drain(&mut r, p));
                }
                r
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("rib churn");
    g.throughput(Throughput::Elements(20_000));
    let w = withdrawals(0, 10_000);
    let back = updates(&[65001, 65100], Ipv4Addr::new(192, 0, 0, 1), 0, 10_000);
    g.bench_function("withdraw + re-announce 10k, 10 peers", |b| {
        b.iter_batched(
            || {
                let mut r = rib();
                add_peer(&mut r, 1, 65001);
                ingest(&mut r, 1, &table);
                for p in 2..=11 {
                    add_peer(&mut r, p, 65002);
                }
                r
            },
            |mut r| {
                ingest(&mut r, 1, black_box(&w));
                for p in 2..=11 {
                    black_box(drain(&mut r, p));
                }
                ingest(&mut r, 1, black_box(&back));
                for p in 2..=11 {
                    black_box(drain(&mut r, p));
                }
                r
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Adds a peer whose initial dump is left queued.
fn add_peer_no_drain(r: &mut Rib, id: PeerId, asn: u32) {
    let id4 = Ipv4Addr::new(192, 0, (id >> 8) as u8, id as u8);
    let addr = IpAddr::V4(id4);
    r.add_peer(id, PeerConfig::new(addr, 65000, true)).unwrap();
    let mut families = FamilySet::EMPTY;
    families.insert(Family::Ipv4Unicast);
    let local = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254));
    r.peer_up(id, SessionInfo::new(id4, asn, families, local, addr))
        .unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
