//! The RIB: decision process, import checks, export rules, update generation, coalescing,
//! End-of-RIB, prefix limits, and order independence (property test).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::{IpAddr, Ipv4Addr};

use bgp::policy::{Match, Policy, PrefixRange, SetAction, Term, Verdict as PolicyVerdict};
use bgp::rib::{
    Dest, MaxPrefix, NextHopSelf, Nlri, PeerConfig, PeerId, Rib, RibConfig, SessionInfo, LOCAL,
};
use bgp::wire::{
    decode_message, AsPath, Context, Family, FamilySet, Ipv4Nlri, Message, NextHop, Origin,
    PathAttributes, PeerType, Update, Verdict,
};
use ipnet::Ipv4Net;
use proptest::prelude::*;

const LOCAL_AS: u32 = 65000;

fn rib() -> Rib {
    Rib::new(RibConfig {
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        cluster_id: None,
        max_paths: 4,
    })
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

/// Adds peer `id` at 192.0.2.`id`, eBGP when `peer_as` differs from ours, and brings its
/// session up for IPv4 unicast.
fn peer(rib: &mut Rib, id: PeerId, peer_as: u32, tweak: impl FnOnce(&mut PeerConfig)) {
    let addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, id as u8));
    let mut config = PeerConfig {
        addr,
        local_as: LOCAL_AS,
        ebgp: peer_as != LOCAL_AS,
        rr_client: false,
        next_hop_self: NextHopSelf::Off,
        allowas_in: 0,
        max_prefix: None,
        import: Default::default(),
        export: Default::default(),
    };
    tweak(&mut config);
    let ebgp = config.ebgp;
    rib.add_peer(id, config).unwrap();
    let mut families = FamilySet::EMPTY;
    families.insert(Family::Ipv4Unicast);
    let tx = Context {
        peer: if ebgp {
            PeerType::External
        } else {
            PeerType::Internal
        },
        ..Context::default()
    };
    rib.peer_up(
        id,
        SessionInfo {
            bgp_id: Ipv4Addr::new(10, 0, 1, id as u8),
            peer_as,
            families,
            tx,
            local_addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
            local_link_local: None,
            remote_addr: addr,
        },
    )
    .unwrap();
    // Drain the initial End-of-RIB so tests see only what they cause.
    rib.updates_for(id, 1000).unwrap();
}

fn attrs(path: &[u32], nh: &str) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(path.to_vec())),
        next_hop: Some(v4(nh)),
        ..PathAttributes::default()
    }
}

fn announce(rib: &mut Rib, id: PeerId, a: PathAttributes, prefixes: &[&str]) {
    let u = Update {
        withdrawn: vec![],
        attributes: a,
        nlri: prefixes
            .iter()
            .map(|p| Ipv4Nlri {
                path_id: None,
                prefix: net(p),
            })
            .collect(),
    };
    rib.apply(id, &u, &Verdict::default()).unwrap();
}

fn withdraw(rib: &mut Rib, id: PeerId, prefixes: &[&str]) {
    let u = Update {
        withdrawn: prefixes
            .iter()
            .map(|p| Ipv4Nlri {
                path_id: None,
                prefix: net(p),
            })
            .collect(),
        attributes: PathAttributes::default(),
        nlri: vec![],
    };
    rib.apply(id, &u, &Verdict::default()).unwrap();
}

fn dest(p: &str) -> Dest {
    Dest::Ipv4Unicast { prefix: net(p) }
}

fn best_peer(rib: &Rib, p: &str) -> Option<PeerId> {
    rib.get(&dest(p))
        .and_then(|e| e.best())
        .map(|b| b.source.peer)
}

/// Decodes what `rib` sends to `id` now (as an iBGP receiver, which keeps every attribute).
fn sent(rib: &mut Rib, id: PeerId) -> Vec<Update> {
    let ctx = Context {
        peer: PeerType::Internal,
        ..Context::default()
    };
    rib.updates_for(id, 10_000)
        .unwrap()
        .iter()
        .map(|m| match decode_message(m, &ctx).unwrap().message {
            Message::Update(u) => u,
            other => panic!("not an UPDATE: {other:?}"),
        })
        .collect()
}

#[test]
fn local_pref_then_path_length_then_origin() {
    let mut r = rib();
    peer(&mut r, 1, LOCAL_AS, |_| {});
    peer(&mut r, 2, LOCAL_AS, |_| {});
    let mut a = attrs(&[65001, 65002], "192.0.2.1");
    a.local_pref = Some(200);
    announce(&mut r, 1, a, &["10.1.0.0/16"]);
    announce(&mut r, 2, attrs(&[65001], "192.0.2.2"), &["10.1.0.0/16"]);
    assert_eq!(
        best_peer(&r, "10.1.0.0/16"),
        Some(1),
        "higher LOCAL_PREF wins"
    );

    announce(
        &mut r,
        1,
        attrs(&[65001, 65002], "192.0.2.1"),
        &["10.2.0.0/16"],
    );
    announce(&mut r, 2, attrs(&[65001], "192.0.2.2"), &["10.2.0.0/16"]);
    assert_eq!(
        best_peer(&r, "10.2.0.0/16"),
        Some(2),
        "shorter AS_PATH wins"
    );

    let mut a = attrs(&[65001], "192.0.2.1");
    a.origin = Some(Origin::Incomplete);
    announce(&mut r, 1, a, &["10.3.0.0/16"]);
    let mut b = attrs(&[65001], "192.0.2.2");
    b.origin = Some(Origin::Egp);
    announce(&mut r, 2, b, &["10.3.0.0/16"]);
    assert_eq!(best_peer(&r, "10.3.0.0/16"), Some(2), "lower ORIGIN wins");
}

#[test]
fn med_is_compared_within_one_neighbour_as_only() {
    let mut r = rib();
    for id in 1..=3 {
        peer(&mut r, id, 65001 + u32::from(id == 3), |_| {});
    }
    // Peers 1 and 2 are in AS 65001 (MED 50 and 10), peer 3 in AS 65002 (MED 0) with the
    // lowest router id. The AS 65001 group's best is peer 2 (MED 10); against peer 3, MED
    // is not compared and the router id decides... except eBGP ties: all eBGP, so router id:
    // peer 2 (10.0.1.2) beats peer 3 (10.0.1.3).
    let mut a = attrs(&[65001], "192.0.2.1");
    a.med = Some(50);
    let mut b = attrs(&[65001], "192.0.2.2");
    b.med = Some(10);
    let mut c = attrs(&[65002], "192.0.2.3");
    c.med = Some(0);
    for (id, x) in [(3, c.clone()), (1, a.clone()), (2, b.clone())] {
        announce(&mut r, id, x, &["10.9.0.0/16"]);
    }
    assert_eq!(best_peer(&r, "10.9.0.0/16"), Some(2));
    // Without peer 2, peer 1 (MED 50) still beats peer 3 on router id: MED 0 from another AS
    // does not count.
    withdraw(&mut r, 2, &["10.9.0.0/16"]);
    assert_eq!(best_peer(&r, "10.9.0.0/16"), Some(1));
}

#[test]
fn ebgp_over_ibgp_then_router_id_then_cluster_list_then_address() {
    let mut r = rib();
    peer(&mut r, 1, LOCAL_AS, |_| {});
    peer(&mut r, 2, 65001, |_| {});
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    announce(&mut r, 2, attrs(&[65001], "192.0.2.2"), &["10.1.0.0/16"]);
    assert_eq!(best_peer(&r, "10.1.0.0/16"), Some(2), "eBGP over iBGP");

    let mut r = rib();
    peer(&mut r, 1, LOCAL_AS, |_| {});
    peer(&mut r, 2, LOCAL_AS, |_| {});
    // Peer 2 reflects a route whose ORIGINATOR_ID is lower than peer 1's router id.
    let mut a = attrs(&[65001], "192.0.2.2");
    a.originator_id = Some(v4("10.0.0.9"));
    a.cluster_list = vec![v4("1.1.1.1"), v4("2.2.2.2")];
    announce(&mut r, 2, a, &["10.2.0.0/16"]);
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.2.0.0/16"]);
    assert_eq!(
        best_peer(&r, "10.2.0.0/16"),
        Some(2),
        "ORIGINATOR_ID replaces the router id"
    );
    // Same originator: the shorter cluster list wins.
    let mut b = attrs(&[65001], "192.0.2.1");
    b.originator_id = Some(v4("10.0.0.9"));
    b.cluster_list = vec![v4("1.1.1.1")];
    announce(&mut r, 1, b, &["10.2.0.0/16"]);
    assert_eq!(
        best_peer(&r, "10.2.0.0/16"),
        Some(1),
        "shorter CLUSTER_LIST"
    );
}

#[test]
fn ecmp_selects_equal_paths_with_distinct_next_hops() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, 65001, |_| {});
    peer(&mut r, 3, 65001, |_| {});
    announce(
        &mut r,
        1,
        attrs(&[65001, 65010], "192.0.2.1"),
        &["10.1.0.0/16"],
    );
    announce(
        &mut r,
        2,
        attrs(&[65001, 65010], "192.0.2.2"),
        &["10.1.0.0/16"],
    );
    // A different AS_PATH of the same length is not eBGP-multipath (no multipath-relax).
    announce(
        &mut r,
        3,
        attrs(&[65001, 65011], "192.0.2.3"),
        &["10.1.0.0/16"],
    );
    let e = r.get(&dest("10.1.0.0/16")).unwrap();
    let sel: Vec<PeerId> = e.selected.iter().map(|i| e.paths[*i].source.peer).collect();
    assert_eq!(sel, vec![1, 2]);
}

#[test]
fn as_loop_is_refused_unless_allowas_in() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, 65002, |c| c.allowas_in = 1);
    announce(
        &mut r,
        1,
        attrs(&[65001, LOCAL_AS], "192.0.2.1"),
        &["10.1.0.0/16"],
    );
    assert_eq!(best_peer(&r, "10.1.0.0/16"), None);
    assert_eq!(r.counters(1).unwrap().filtered, 1);
    announce(
        &mut r,
        2,
        attrs(&[65002, LOCAL_AS], "192.0.2.2"),
        &["10.1.0.0/16"],
    );
    assert_eq!(best_peer(&r, "10.1.0.0/16"), Some(2));
    announce(
        &mut r,
        2,
        attrs(&[65002, LOCAL_AS, LOCAL_AS], "192.0.2.2"),
        &["10.1.0.0/16"],
    );
    assert_eq!(
        best_peer(&r, "10.1.0.0/16"),
        None,
        "a looped re-announcement withdraws the old path"
    );
}

#[test]
fn reflected_loops_are_refused() {
    let mut r = rib();
    peer(&mut r, 1, LOCAL_AS, |_| {});
    let mut a = attrs(&[], "192.0.2.1");
    a.originator_id = Some(v4("10.0.0.1"));
    announce(&mut r, 1, a, &["10.1.0.0/16"]);
    let mut b = attrs(&[], "192.0.2.1");
    b.cluster_list = vec![v4("10.0.0.1")];
    announce(&mut r, 1, b, &["10.2.0.0/16"]);
    assert!(r.is_empty());
}

#[test]
fn ebgp_export_prepends_sets_next_hop_self_and_strips_ibgp_attributes() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, 65002, |_| {});
    let mut a = attrs(&[65001], "192.0.2.1");
    a.med = Some(7);
    announce(&mut r, 1, a, &["10.1.0.0/16", "10.2.0.0/16"]);
    let out = sent(&mut r, 2);
    assert_eq!(
        out.len(),
        1,
        "both prefixes share one attribute set: one UPDATE"
    );
    let u = &out[0];
    assert_eq!(u.nlri.len(), 2);
    assert_eq!(
        u.attributes.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, 65001]))
    );
    assert_eq!(u.attributes.next_hop, Some(v4("192.0.2.100")));
    assert_eq!(
        u.attributes.med, None,
        "a received MED is not passed to another AS"
    );
    assert_eq!(u.attributes.local_pref, None);
    // Nothing goes back to the peer it came from.
    assert!(sent(&mut r, 1).is_empty());
}

#[test]
fn ibgp_split_horizon_and_route_reflection() {
    let mut r = rib();
    peer(&mut r, 1, LOCAL_AS, |_| {});
    peer(&mut r, 2, LOCAL_AS, |_| {});
    peer(&mut r, 3, LOCAL_AS, |c| c.rr_client = true);
    announce(&mut r, 1, attrs(&[65001], "198.51.100.1"), &["10.1.0.0/16"]);
    assert!(sent(&mut r, 2).is_empty(), "iBGP to iBGP needs a reflector");
    let out = sent(&mut r, 3);
    assert_eq!(out.len(), 1, "reflected to the client");
    let a = &out[0].attributes;
    assert_eq!(
        a.originator_id,
        Some(v4("10.0.1.1")),
        "ORIGINATOR_ID = source"
    );
    assert_eq!(
        a.cluster_list,
        vec![v4("10.0.0.1")],
        "our cluster id prepended"
    );
    assert_eq!(a.next_hop, Some(v4("198.51.100.1")), "next hop unchanged");
    assert_eq!(a.local_pref, Some(100));
    // From the client, reflected to every iBGP peer.
    announce(&mut r, 3, attrs(&[65003], "198.51.100.3"), &["10.3.0.0/16"]);
    assert_eq!(sent(&mut r, 2).len(), 1);
    assert_eq!(sent(&mut r, 1).len(), 1);
}

#[test]
fn next_hop_self_force_rewrites_reflected_routes() {
    let mut r = rib();
    peer(&mut r, 1, LOCAL_AS, |c| c.rr_client = true);
    peer(&mut r, 2, LOCAL_AS, |c| {
        c.rr_client = true;
        c.next_hop_self = NextHopSelf::Force;
    });
    peer(&mut r, 3, LOCAL_AS, |c| {
        c.rr_client = true;
        c.next_hop_self = NextHopSelf::On;
    });
    announce(&mut r, 1, attrs(&[65001], "198.51.100.1"), &["10.1.0.0/16"]);
    assert_eq!(
        sent(&mut r, 2)[0].attributes.next_hop,
        Some(v4("192.0.2.100"))
    );
    assert_eq!(
        sent(&mut r, 3)[0].attributes.next_hop,
        Some(v4("198.51.100.1")),
        "plain next-hop-self leaves reflected routes alone"
    );
}

#[test]
fn changes_coalesce_and_identical_announcements_send_nothing() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, 65002, |_| {});
    for i in 0..20u32 {
        let mut a = attrs(&[65001], "192.0.2.1");
        a.med = Some(i);
        a.communities = vec![bgp::wire::Community(i)];
        announce(&mut r, 1, a, &["10.1.0.0/16"]);
    }
    let out = sent(&mut r, 2);
    assert_eq!(out.len(), 1, "twenty changes to one prefix: one UPDATE");
    assert_eq!(
        out[0].attributes.communities,
        vec![bgp::wire::Community(19)]
    );
    let mut a = attrs(&[65001], "192.0.2.1");
    a.med = Some(19);
    a.communities = vec![bgp::wire::Community(19)];
    announce(&mut r, 1, a, &["10.1.0.0/16"]);
    assert!(
        sent(&mut r, 2).is_empty(),
        "the same route again sends nothing"
    );
    // Announce then withdraw before the peer is served: nothing at all.
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.5.0.0/16"]);
    withdraw(&mut r, 1, &["10.5.0.0/16"]);
    assert!(sent(&mut r, 2).is_empty());
}

#[test]
fn withdrawals_come_first_and_initial_dump_ends_with_eor() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    announce(
        &mut r,
        1,
        attrs(&[65001], "192.0.2.1"),
        &["10.1.0.0/16", "10.2.0.0/16"],
    );
    // A peer that comes up now gets the table, then End-of-RIB.
    r.add_peer(
        2,
        PeerConfig::new(IpAddr::V4(v4("192.0.2.2")), LOCAL_AS, true),
    )
    .unwrap();
    let mut families = FamilySet::EMPTY;
    families.insert(Family::Ipv4Unicast);
    r.peer_up(
        2,
        SessionInfo::new(
            v4("10.0.1.2"),
            65002,
            families,
            IpAddr::V4(v4("192.0.2.100")),
            IpAddr::V4(v4("192.0.2.2")),
        ),
    )
    .unwrap();
    // A budget of one destination at a time: no End-of-RIB until the dump is complete.
    let first = r.updates_for(2, 1).unwrap();
    assert_eq!(first.len(), 1);
    let second = r.updates_for(2, 1).unwrap();
    assert_eq!(second.len(), 2, "last route, then End-of-RIB");
    let eor = decode_message(&second[1], &Context::default()).unwrap();
    match eor.message {
        Message::Update(u) => {
            assert_eq!(u.end_of_rib_family(), Some(Family::Ipv4Unicast.afi_safi()))
        }
        other => panic!("{other:?}"),
    }
    assert!(!r.has_pending(2));
    // A withdrawal and an announcement together: the withdrawal is sent first.
    withdraw(&mut r, 1, &["10.1.0.0/16"]);
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.3.0.0/16"]);
    let out = sent(&mut r, 2);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].withdrawn.len(), 1);
    assert_eq!(out[1].nlri.len(), 1);
}

#[test]
fn peer_down_withdraws_its_routes_everywhere() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, 65002, |_| {});
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    assert_eq!(sent(&mut r, 2).len(), 1);
    r.peer_down(1).unwrap();
    assert!(r.is_empty());
    let out = sent(&mut r, 2);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].withdrawn[0].prefix, net("10.1.0.0/16"));
    assert_eq!(r.counters(2).unwrap().advertised[0], 0);
}

#[test]
fn treat_as_withdraw_removes_the_routes() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    let u = Update {
        withdrawn: vec![],
        attributes: attrs(&[65001], "192.0.2.1"),
        nlri: vec![Ipv4Nlri {
            path_id: None,
            prefix: net("10.1.0.0/16"),
        }],
    };
    // The same UPDATE with an invalid ORIGIN value: RFC 7606 §7.1 treat-as-withdraw.
    let mut body = Vec::new();
    u.encode_body(&Context::default(), &mut body).unwrap();
    let at = body
        .windows(4)
        .position(|w| w == [0x40, 1, 1, 0])
        .expect("ORIGIN attribute");
    body[at + 3] = 7;
    let decoded = Update::decode(&body, &Context::default());
    assert_eq!(
        decoded.verdict.action,
        Some(bgp::wire::Action::TreatAsWithdraw)
    );
    let (u, verdict) = (decoded.update, decoded.verdict);
    let applied = r.apply(1, &u, &verdict).unwrap();
    assert_eq!(applied.withdrawn, 1);
    assert!(r.is_empty());
    assert_eq!(r.counters(1).unwrap().treat_as_withdraw, 1);
}

#[test]
fn max_prefix_is_reported_once_crossed() {
    let mut r = rib();
    let limit = MaxPrefix {
        limit: 2,
        warning_only: false,
    };
    peer(&mut r, 1, 65001, |c| c.max_prefix = Some(limit));
    let u = |p: &str| Update {
        withdrawn: vec![],
        attributes: attrs(&[65001], "192.0.2.1"),
        nlri: vec![Ipv4Nlri {
            path_id: None,
            prefix: net(p),
        }],
    };
    let v = Verdict::default();
    assert_eq!(r.apply(1, &u("10.1.0.0/16"), &v).unwrap().max_prefix, None);
    assert_eq!(r.apply(1, &u("10.2.0.0/16"), &v).unwrap().max_prefix, None);
    assert_eq!(
        r.apply(1, &u("10.3.0.0/16"), &v).unwrap().max_prefix,
        Some((Family::Ipv4Unicast, 3, limit))
    );
}

#[test]
fn originated_routes_win_and_go_out_with_next_hop_self() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, LOCAL_AS, |_| {});
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    r.originate(
        Nlri::Ipv4Unicast(net("10.1.0.0/16")),
        PathAttributes::default(),
        NextHop::None,
    );
    assert_eq!(best_peer(&r, "10.1.0.0/16"), Some(LOCAL));
    let ibgp = sent(&mut r, 2);
    assert_eq!(ibgp.len(), 1);
    assert_eq!(ibgp[0].attributes.next_hop, Some(v4("192.0.2.100")));
    assert_eq!(ibgp[0].attributes.as_path, Some(AsPath::default()));
    let ebgp = sent(&mut r, 1);
    assert_eq!(
        ebgp[0].attributes.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS]))
    );
}

#[test]
fn imported_local_paths_lose_to_the_originated_one_and_keep_their_as_path() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    let p = "10.9.0.0/16";
    let imported = |path: &[u32]| PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(path.to_vec())),
        ..PathAttributes::default()
    };
    assert!(!r.insert_local(
        0,
        0,
        Nlri::Ipv4Unicast(net(p)),
        imported(&[]),
        NextHop::None
    ));
    assert!(r.insert_local(
        1,
        0,
        Nlri::Ipv4Unicast(net(p)),
        imported(&[65010]),
        NextHop::None
    ));
    assert!(r.insert_local(
        2,
        0,
        Nlri::Ipv4Unicast(net(p)),
        imported(&[65011]),
        NextHop::None
    ));
    let e = r.get(&dest(p)).unwrap();
    assert_eq!(e.paths.len(), 2);
    assert_eq!(
        e.selected.len(),
        1,
        "different AS paths: no eBGP-style multipath"
    );
    // Sent to an eBGP peer: next hop self, our AS in front of the imported path.
    let out = sent(&mut r, 1);
    assert_eq!(out[0].attributes.next_hop, Some(v4("192.0.2.100")));
    let path = out[0].attributes.as_path.clone().unwrap();
    assert_eq!(path.segments[0].asns[0], LOCAL_AS);
    assert_eq!(path.segments[0].asns.len(), 2);
    // An originated path wins over the imports (weight 32768 against 0).
    r.originate(
        Nlri::Ipv4Unicast(net(p)),
        PathAttributes::default(),
        NextHop::None,
    );
    let best = r.get(&dest(p)).unwrap().best().unwrap();
    assert_eq!((best.source.peer, best.path_id), (LOCAL, 0));
    assert!(r.withdraw_local(dest(p)));
    assert!(r.remove_local(dest(p), 1));
    assert!(!r.remove_local(dest(p), 1), "already gone");
    let best = r.get(&dest(p)).unwrap().best().unwrap();
    assert_eq!(best.path_id, 2);
    assert!(r.remove_local(dest(p), 2));
    assert!(r.get(&dest(p)).is_none());
}

#[test]
fn interned_sets_are_shared_and_freed() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    let prefixes: Vec<String> = (0..100).map(|i| format!("10.{i}.0.0/16")).collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    for chunk in refs.chunks(10) {
        announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), chunk);
    }
    assert_eq!(r.len(Family::Ipv4Unicast), 100);
    assert_eq!(r.attribute_sets(), 1, "100 routes, one attribute set");
    r.peer_down(1).unwrap();
    assert_eq!(r.attribute_sets(), 0);
}

/// A random path: peer, AS path, local pref, MED, origin.
type ArbPath = (u8, Vec<u32>, Option<u32>, Option<u32>, u8);

fn arb_path() -> impl Strategy<Value = ArbPath> {
    (
        1u8..=6,
        prop::collection::vec(65001u32..65004, 0..4),
        prop::option::of(prop::sample::select(vec![100u32, 200])),
        prop::option::of(0u32..3),
        0u8..3,
    )
}

fn build(order: &[ArbPath]) -> Vec<(u32, u32)> {
    let mut r = rib();
    for id in 1..=6u32 {
        // Peers 1-3 iBGP, 4-6 eBGP in two neighbour ASes.
        let asn = if id <= 3 { LOCAL_AS } else { 65001 + id % 2 };
        peer(&mut r, id, asn, |_| {});
    }
    for (peer_id, path, lp, med, origin) in order {
        let mut a = attrs(path, &format!("192.0.2.{peer_id}"));
        a.local_pref = *lp;
        a.med = *med;
        a.origin = Some(match origin {
            0 => Origin::Igp,
            1 => Origin::Egp,
            _ => Origin::Incomplete,
        });
        announce(&mut r, u32::from(*peer_id), a, &["10.1.0.0/16"]);
    }
    let e = r.get(&dest("10.1.0.0/16")).unwrap();
    e.selected
        .iter()
        .map(|i| (e.paths[*i].source.peer, e.paths[*i].path_id))
        .collect()
}

proptest! {
    /// Best path and ECMP set depend only on the set of paths, not their arrival order.
    #[test]
    fn selection_is_independent_of_arrival_order(
        paths in prop::collection::vec(arb_path(), 1..12),
        seed in any::<u64>(),
    ) {
        // Keep the last announcement per peer: that is the set of paths either way.
        let mut last = std::collections::BTreeMap::new();
        for p in &paths {
            last.insert(p.0, p.clone());
        }
        let set: Vec<_> = last.into_values().collect();
        let mut shuffled = set.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (s >> 33) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        let mut reversed = set.clone();
        reversed.reverse();
        // With history: the full sequence (re-announcements included) ends in `set` too.
        let a = build(&set);
        prop_assert_eq!(&a, &build(&shuffled));
        prop_assert_eq!(&a, &build(&reversed));
        prop_assert_eq!(&a, &build(&paths));
    }
}

#[test]
fn peers_with_identical_export_share_one_computation() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    for id in 2..=5 {
        peer(&mut r, id, 65002, |_| {});
    }
    let prefixes: Vec<String> = (0..10).map(|i| format!("10.{i}.0.0/16")).collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &refs);
    let before = r.export_cache_hits();
    let first = sent(&mut r, 2);
    for id in 3..=5 {
        assert_eq!(sent(&mut r, id), first, "same group, same UPDATEs");
    }
    // One attribute set, one source: computed once for peer 2, reused by 3, 4 and 5 for
    // each of the ten routes.
    assert_eq!(r.export_cache_hits() - before, 3 * 10 + 9);
}

#[test]
fn graceful_restart_keeps_stale_paths_until_end_of_rib() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, 65002, |_| {});
    announce(
        &mut r,
        1,
        attrs(&[65001], "192.0.2.1"),
        &["10.1.0.0/16", "10.2.0.0/16"],
    );
    assert_eq!(sent(&mut r, 2).len(), 1);
    let mut keep = FamilySet::EMPTY;
    keep.insert(Family::Ipv4Unicast);
    assert_eq!(r.peer_down_graceful(1, keep).unwrap(), 2);
    // Still best, still advertised: nothing is withdrawn from peer 2.
    assert_eq!(best_peer(&r, "10.1.0.0/16"), Some(1));
    assert!(r.get(&dest("10.1.0.0/16")).unwrap().best().unwrap().stale);
    assert!(sent(&mut r, 2).is_empty());
    // The peer comes back and re-announces one route: it is fresh again, the other stays
    // stale until End-of-RIB sweeps it.
    let mut families = FamilySet::EMPTY;
    families.insert(Family::Ipv4Unicast);
    r.peer_up(
        1,
        SessionInfo::new(
            v4("10.0.1.1"),
            65001,
            families,
            IpAddr::V4(v4("192.0.2.100")),
            IpAddr::V4(v4("192.0.2.1")),
        ),
    )
    .unwrap();
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    assert!(!r.get(&dest("10.1.0.0/16")).unwrap().best().unwrap().stale);
    assert_eq!(r.stale_paths(1), 1);
    assert!(
        sent(&mut r, 2).is_empty(),
        "the same route again: nothing to send"
    );
    assert_eq!(r.sweep_stale(1, Family::Ipv4Unicast), 1);
    assert_eq!(best_peer(&r, "10.2.0.0/16"), None);
    let out = sent(&mut r, 2);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].withdrawn[0].prefix, net("10.2.0.0/16"));
}

#[test]
fn a_restarting_speaker_defers_advertisement() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, 65002, |_| {});
    r.defer();
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    assert!(!r.has_pending(2));
    assert!(r.updates_for(2, 100).unwrap().is_empty());
    r.end_deferral();
    assert!(r.has_pending(2));
    assert_eq!(sent(&mut r, 2).len(), 1);
}

fn policy(terms: Vec<Term>, default: PolicyVerdict) -> std::sync::Arc<Policy> {
    std::sync::Arc::new(Policy {
        name: "test".into(),
        terms,
        default,
    })
}

#[test]
fn import_policy_filters_and_rewrites() {
    let mut r = rib();
    let import = policy(
        vec![
            Term {
                name: "deny-long".into(),
                matches: vec![Match::Prefix(PrefixRange::new(
                    "10.0.0.0/8".parse().unwrap(),
                    Some(25),
                    Some(32),
                ))],
                actions: vec![],
                verdict: PolicyVerdict::Reject,
            },
            Term {
                name: "prefer".into(),
                matches: vec![Match::OriginAs(65010)],
                actions: vec![SetAction::LocalPref(300), SetAction::Weight(7)],
                verdict: PolicyVerdict::Accept,
            },
        ],
        PolicyVerdict::Accept,
    );
    peer(&mut r, 1, 65001, |c| c.import = import.clone());
    announce(
        &mut r,
        1,
        attrs(&[65001, 65010], "192.0.2.1"),
        &["10.1.0.0/16", "10.2.3.0/28"],
    );
    assert_eq!(
        best_peer(&r, "10.2.3.0/28"),
        None,
        "longer than /24: refused"
    );
    let best = r.get(&dest("10.1.0.0/16")).unwrap().best().unwrap().clone();
    assert_eq!(
        best.attrs.local_pref, 300,
        "set on an eBGP route after LOCAL_PREF is cleared"
    );
    assert_eq!(best.weight, 7);
    assert_eq!(r.counters(1).unwrap().filtered, 1);
}

#[test]
fn export_policy_prepends_after_matching_and_can_refuse() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    let export = policy(
        vec![
            Term {
                name: "hide".into(),
                matches: vec![Match::Prefix(PrefixRange::exact(
                    "10.9.0.0/16".parse().unwrap(),
                ))],
                actions: vec![],
                verdict: PolicyVerdict::Reject,
            },
            Term {
                name: "prepend".into(),
                matches: vec![],
                actions: vec![SetAction::PrependAs {
                    asn: LOCAL_AS,
                    times: 2,
                }],
                verdict: PolicyVerdict::Accept,
            },
        ],
        PolicyVerdict::Reject,
    );
    peer(&mut r, 2, 65002, |c| c.export = export.clone());
    peer(&mut r, 3, 65003, |_| {});
    announce(
        &mut r,
        1,
        attrs(&[65001], "192.0.2.1"),
        &["10.1.0.0/16", "10.9.0.0/16"],
    );
    let out = sent(&mut r, 2);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].nlri.len(), 1, "10.9.0.0/16 is refused by the policy");
    assert_eq!(
        out[0].attributes.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, LOCAL_AS, LOCAL_AS, 65001]))
    );
    // Peer 3 (no policy) gets both, with one prepend only.
    let plain = sent(&mut r, 3);
    assert_eq!(plain[0].nlri.len(), 2);
    assert_eq!(
        plain[0].attributes.as_path,
        Some(AsPath::sequence(vec![LOCAL_AS, 65001]))
    );
    // Changing the policy in place re-exports only the differences.
    let mut config = PeerConfig {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        local_as: LOCAL_AS,
        ebgp: true,
        rr_client: false,
        next_hop_self: NextHopSelf::Off,
        allowas_in: 0,
        max_prefix: None,
        import: Default::default(),
        export: Default::default(),
    };
    config.export = Default::default();
    r.set_peer_config(2, config).unwrap();
    let out = sent(&mut r, 2);
    assert_eq!(
        out.len(),
        1,
        "one UPDATE with the new attributes for both prefixes"
    );
    assert_eq!(out[0].nlri.len(), 2);
}

#[test]
fn enhanced_route_refresh_sweeps_what_the_peer_did_not_send_again() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    announce(
        &mut r,
        1,
        attrs(&[65001], "192.0.2.1"),
        &["10.1.0.0/16", "10.2.0.0/16"],
    );
    // BoRR: everything of the family is stale; the peer sends 10.1/16 again; EoRR sweeps.
    assert_eq!(r.mark_stale(1, Family::Ipv4Unicast), 2);
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    assert_eq!(r.sweep_stale(1, Family::Ipv4Unicast), 1);
    assert_eq!(best_peer(&r, "10.1.0.0/16"), Some(1));
    assert_eq!(best_peer(&r, "10.2.0.0/16"), None);
}

#[test]
fn a_refresh_request_resends_the_family_and_ends_with_eorr_when_enhanced() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 2, 65002, |_| {});
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    assert_eq!(sent(&mut r, 2).len(), 1);
    r.resend(2, Family::Ipv4Unicast, true).unwrap();
    let msgs = r.updates_for(2, 100).unwrap();
    assert_eq!(msgs.len(), 2);
    match decode_message(&msgs[1], &Context::default())
        .unwrap()
        .message
    {
        Message::RouteRefresh(rr) => assert_eq!(rr.subtype, 2, "EoRR"),
        other => panic!("{other:?}"),
    }
    r.resend(2, Family::Ipv4Unicast, false).unwrap();
    let msgs = r.updates_for(2, 100).unwrap();
    match decode_message(&msgs[1], &Context::default())
        .unwrap()
        .message
    {
        Message::Update(u) => assert!(u.end_of_rib_family().is_some(), "End-of-RIB"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn add_path_peers_get_every_path_with_stable_identifiers() {
    let mut r = rib();
    peer(&mut r, 1, 65001, |_| {});
    peer(&mut r, 3, 65003, |_| {});
    peer(&mut r, 4, 65004, |_| {});
    // Peer 2 receives ADD-PATH.
    r.add_peer(
        2,
        PeerConfig::new(IpAddr::V4(v4("192.0.2.2")), LOCAL_AS, true),
    )
    .unwrap();
    let mut families = FamilySet::EMPTY;
    families.insert(Family::Ipv4Unicast);
    r.peer_up(
        2,
        SessionInfo {
            bgp_id: v4("10.0.1.2"),
            peer_as: 65002,
            families,
            tx: Context {
                add_path: families,
                ..Context::default()
            },
            local_addr: IpAddr::V4(v4("192.0.2.100")),
            local_link_local: None,
            remote_addr: IpAddr::V4(v4("192.0.2.2")),
        },
    )
    .unwrap();
    r.updates_for(2, 100).unwrap();
    let rx = Context {
        add_path: families,
        ..Context::default()
    };
    let decode = |msgs: Vec<Vec<u8>>| -> Vec<Update> {
        msgs.iter()
            .map(|m| match decode_message(m, &rx).unwrap().message {
                Message::Update(u) => u,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    announce(&mut r, 1, attrs(&[65001], "192.0.2.1"), &["10.1.0.0/16"]);
    announce(
        &mut r,
        3,
        attrs(&[65003, 65010], "192.0.2.3"),
        &["10.1.0.0/16"],
    );
    let out = decode(r.updates_for(2, 100).unwrap());
    let ids: Vec<Option<u32>> = out
        .iter()
        .flat_map(|u| u.nlri.iter().map(|n| n.path_id))
        .collect();
    assert_eq!(ids.len(), 2, "both paths: {out:?}");
    assert_ne!(ids[0], ids[1]);
    assert!(ids.iter().all(Option::is_some));
    // Peer 4 (no ADD-PATH) got the best only.
    assert_eq!(sent(&mut r, 4)[0].nlri.len(), 1);
    // A change of the non-best path: the ADD-PATH peer hears of it, peer 4 does not.
    announce(
        &mut r,
        3,
        attrs(&[65003, 65011], "192.0.2.3"),
        &["10.1.0.0/16"],
    );
    let out = decode(r.updates_for(2, 100).unwrap());
    assert_eq!(out.len(), 1);
    assert!(sent(&mut r, 4).is_empty());
    // Peer 3 withdraws: one withdrawal, with that path's identifier.
    let id3 = out[0].nlri[0].path_id;
    withdraw(&mut r, 3, &["10.1.0.0/16"]);
    let out = decode(r.updates_for(2, 100).unwrap());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].withdrawn.len(), 1);
    assert_eq!(out[0].withdrawn[0].path_id, id3);
    assert_eq!(r.counters(2).unwrap().advertised[0], 1);
}
