//! Routing policy: every matcher both ways, prefix length ranges, EVPN and VPN routes, every set
//! action, first-match order, default verdicts, copy-on-write, the text forms, and a property
//! test that `accept_all` accepts everything unchanged.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp::policy::{
    dest_prefix, evpn_route_type, next_hop_for, parse_community, parse_large_community,
    parse_route_target, same_route_target, Match, Outcome, Policy, PrefixRange, SetAction, Term,
    Verdict, ACCEPT_ALL,
};
use bgp::rib::Dest;
use bgp::wire::{
    AdminValue, AsPath, AsSegment, Community, EvpnKey, ExtCommunity, Family, FamilySet,
    LargeCommunity, Mac, NextHop, PathAttributes, RouteDistinguisher, SegmentType,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn v4(s: &str) -> Dest {
    Dest::Ipv4Unicast {
        prefix: s.parse().unwrap(),
    }
}

fn v6(s: &str) -> Dest {
    Dest::Ipv6Unicast {
        prefix: s.parse().unwrap(),
    }
}

fn rd(value: u32) -> RouteDistinguisher {
    RouteDistinguisher::new(AdminValue::As2 { asn: 65000, value })
}

fn type5(prefix: &str) -> Dest {
    Dest::L2vpnEvpn {
        key: EvpnKey::IpPrefix {
            rd: rd(1),
            eth_tag: 0,
            prefix: net(prefix),
        },
    }
}

fn type2(ip: Option<&str>) -> Dest {
    Dest::L2vpnEvpn {
        key: EvpnKey::MacIp {
            rd: rd(1),
            eth_tag: 0,
            mac: Mac([0x02, 0, 0, 0, 0, 1]),
            ip: ip.map(|s| s.parse().unwrap()),
        },
    }
}

fn type3() -> Dest {
    Dest::L2vpnEvpn {
        key: EvpnKey::InclusiveMulticast {
            rd: rd(1),
            eth_tag: 0,
            originator: "10.0.0.1".parse().unwrap(),
        },
    }
}

fn comm(s: &str) -> Community {
    parse_community(s).unwrap()
}

fn large(s: &str) -> LargeCommunity {
    parse_large_community(s).unwrap()
}

fn rt(s: &str) -> AdminValue {
    parse_route_target(s).unwrap()
}

fn nh(s: &str) -> NextHop {
    NextHop::Ipv4(s.parse().unwrap())
}

/// A typical route: path 65001 65002, communities, a large community, an RT, MED and
/// LOCAL_PREF.
fn attrs() -> PathAttributes {
    PathAttributes {
        as_path: Some(AsPath::sequence(vec![65001, 65002])),
        communities: vec![comm("65000:1"), comm("no-export")],
        large_communities: vec![large("65000:1:2")],
        ext_communities: vec![
            ExtCommunity::route_target_as2(65000, 100),
            ExtCommunity::VXLAN,
        ],
        local_pref: Some(100),
        med: Some(10),
        ..PathAttributes::default()
    }
}

/// Whether `m` holds for `dest` with [`attrs`] and next hop 192.0.2.1.
fn holds(m: Match, dest: &Dest) -> bool {
    holds_with(m, dest, &attrs())
}

fn holds_with(m: Match, dest: &Dest, a: &PathAttributes) -> bool {
    let direct = m.matches(dest, a, &nh("192.0.2.1"));
    // The same through a policy: one accepting term with this matcher, default reject.
    let policy = Policy {
        name: "p".into(),
        terms: vec![term(vec![m], vec![], Verdict::Accept)],
        default: Verdict::Reject,
    };
    assert_eq!(
        policy.apply(dest, a, &nh("192.0.2.1")).is_accept(),
        direct,
        "policy and matcher disagree"
    );
    direct
}

fn term(matches: Vec<Match>, actions: Vec<SetAction>, verdict: Verdict) -> Term {
    Term {
        name: "t".into(),
        matches,
        actions,
        verdict,
    }
}

/// A policy with one accepting term without matchers running `actions`.
fn setting(actions: Vec<SetAction>) -> Policy {
    Policy {
        name: "set".into(),
        terms: vec![term(vec![], actions, Verdict::Accept)],
        default: Verdict::Reject,
    }
}

/// Runs `actions` on [`attrs`] for 10.1.0.0/16; returns the outcome's parts.
fn run(actions: Vec<SetAction>) -> (Option<PathAttributes>, Option<NextHop>, Option<u32>) {
    run_on(actions, &v4("10.1.0.0/16"), &attrs())
}

fn run_on(
    actions: Vec<SetAction>,
    dest: &Dest,
    a: &PathAttributes,
) -> (Option<PathAttributes>, Option<NextHop>, Option<u32>) {
    let policy = setting(actions);
    let next_hop = nh("192.0.2.1");
    let out = policy.apply(dest, a, &next_hop);
    // The in-place variant agrees.
    let mut owned = a.clone();
    let mut owned_nh = next_hop;
    let in_place = policy.apply_in_place(dest, &mut owned, &mut owned_nh);
    match out {
        Outcome::Accept {
            attrs,
            next_hop: new_nh,
            weight,
        } => {
            let Outcome::Accept {
                attrs: None,
                next_hop: None,
                weight: w2,
            } = in_place
            else {
                panic!("in place: {in_place:?}");
            };
            assert_eq!(w2, weight);
            assert_eq!(&owned, attrs.as_deref().unwrap_or(a), "in-place attributes");
            assert_eq!(owned_nh, new_nh.unwrap_or(next_hop), "in-place next hop");
            (attrs.map(|b| *b), new_nh, weight)
        }
        Outcome::Reject => panic!("rejected"),
    }
}

// ---------------------------------------------------------------------------------------------
// Matchers
// ---------------------------------------------------------------------------------------------

#[test]
fn prefix_exact_by_default() {
    let m = || Match::Prefix(PrefixRange::exact(net("10.0.0.0/8")));
    assert!(holds(m(), &v4("10.0.0.0/8")));
    assert!(!holds(m(), &v4("10.1.0.0/16")), "longer: not exact");
    assert!(!holds(m(), &v4("0.0.0.0/0")), "shorter");
    assert!(!holds(m(), &v4("11.0.0.0/8")), "outside");
    assert!(!holds(m(), &v6("::/8")), "other family");
}

#[test]
fn prefix_ge_le_ranges() {
    // 10.0.0.0/8 ge 24 le 32
    let m = || Match::Prefix(PrefixRange::new(net("10.0.0.0/8"), Some(24), Some(32)));
    assert!(holds(m(), &v4("10.1.2.0/24")));
    assert!(holds(m(), &v4("10.1.2.3/32")));
    assert!(holds(m(), &v4("10.255.0.0/28")));
    assert!(!holds(m(), &v4("10.1.0.0/16")), "shorter than ge");
    assert!(!holds(m(), &v4("10.0.0.0/8")), "the prefix itself");
    assert!(!holds(m(), &v4("11.1.2.0/24")), "outside");

    // ge only: ge..=32
    let ge = || Match::Prefix(PrefixRange::new(net("10.0.0.0/8"), Some(16), None));
    assert!(holds(ge(), &v4("10.1.0.0/16")));
    assert!(holds(ge(), &v4("10.1.2.3/32")));
    assert!(!holds(ge(), &v4("10.0.0.0/12")));

    // le only: len..=le
    let le = || Match::Prefix(PrefixRange::new(net("10.0.0.0/8"), None, Some(16)));
    assert!(holds(le(), &v4("10.0.0.0/8")));
    assert!(holds(le(), &v4("10.1.0.0/16")));
    assert!(!holds(le(), &v4("10.1.2.0/24")));

    // or-longer, and the default route exactly.
    let any = || Match::Prefix(PrefixRange::or_longer(net("0.0.0.0/0")));
    assert!(holds(any(), &v4("0.0.0.0/0")));
    assert!(holds(any(), &v4("192.0.2.0/24")));
    assert!(!holds(any(), &v6("2001:db8::/32")));
    let default = || Match::Prefix(PrefixRange::exact(net("0.0.0.0/0")));
    assert!(holds(default(), &v4("0.0.0.0/0")));
    assert!(!holds(default(), &v4("192.0.2.0/24")));

    // IPv6.
    let m6 = || Match::Prefix(PrefixRange::new(net("2001:db8::/32"), Some(48), Some(64)));
    assert!(holds(m6(), &v6("2001:db8:1::/48")));
    assert!(holds(m6(), &v6("2001:db8:1:2::/64")));
    assert!(!holds(m6(), &v6("2001:db8:1:2::/65")));
    assert!(!holds(m6(), &v4("10.0.0.0/24")));
}

#[test]
fn prefix_range_bounds() {
    let r = |p: &str, ge, le| PrefixRange::new(net(p), ge, le);
    assert_eq!(r("10.0.0.0/8", None, None).lengths(), (8, 8));
    assert_eq!(r("10.0.0.0/8", Some(24), None).lengths(), (24, 32));
    assert_eq!(r("10.0.0.0/8", None, Some(24)).lengths(), (8, 24));
    assert_eq!(r("2001:db8::/32", Some(48), None).lengths(), (48, 128));
    assert!(r("10.0.0.0/8", Some(8), Some(32)).is_consistent());
    assert!(!r("10.0.0.0/8", Some(4), None).is_consistent(), "ge < len");
    assert!(
        !r("10.0.0.0/8", Some(24), Some(16)).is_consistent(),
        "le < ge"
    );
    assert!(!r("10.0.0.0/8", None, Some(33)).is_consistent(), "le > 32");
    assert!(!r("10.0.0.0/8", None, Some(4)).is_consistent(), "le < len");
    // Inconsistent ranges match nothing.
    let bad = Match::Prefix(r("10.0.0.0/8", Some(24), Some(16)));
    assert!(!holds(bad.clone(), &v4("10.1.2.0/24")));
    assert!(!holds(bad, &v4("10.1.0.0/16")));
}

#[test]
fn prefix_list_is_any_of() {
    let m = || {
        Match::PrefixList(vec![
            PrefixRange::exact(net("192.0.2.0/24")),
            PrefixRange::new(net("10.0.0.0/8"), Some(24), Some(32)),
            PrefixRange::or_longer(net("2001:db8::/32")),
        ])
    };
    assert!(holds(m(), &v4("192.0.2.0/24")));
    assert!(holds(m(), &v4("10.9.9.0/24")));
    assert!(holds(m(), &v6("2001:db8:5::/48")));
    assert!(!holds(m(), &v4("192.0.2.0/25")));
    assert!(!holds(m(), &v4("10.9.0.0/16")));
    assert!(!holds(Match::PrefixList(vec![]), &v4("10.9.9.0/24")));
}

#[test]
fn vpn_routes_match_on_their_prefix() {
    let d4 = Dest::Ipv4Vpn {
        rd: rd(7),
        prefix: "10.1.2.0/24".parse().unwrap(),
    };
    let d6 = Dest::Ipv6Vpn {
        rd: rd(7),
        prefix: "2001:db8:1::/48".parse().unwrap(),
    };
    assert!(holds(
        Match::Prefix(PrefixRange::or_longer(net("10.0.0.0/8"))),
        &d4
    ));
    assert!(!holds(
        Match::Prefix(PrefixRange::exact(net("10.0.0.0/8"))),
        &d4
    ));
    assert!(holds(
        Match::Prefix(PrefixRange::exact(net("2001:db8:1::/48"))),
        &d6
    ));
    assert_eq!(dest_prefix(&d4), Some(net("10.1.2.0/24")));
}

#[test]
fn evpn_type5_matches_on_its_prefix() {
    let d = type5("10.1.2.0/24");
    assert_eq!(dest_prefix(&d), Some(net("10.1.2.0/24")));
    assert!(holds(
        Match::Prefix(PrefixRange::new(net("10.0.0.0/8"), Some(24), Some(32))),
        &d
    ));
    assert!(!holds(
        Match::Prefix(PrefixRange::exact(net("10.0.0.0/8"))),
        &d
    ));
    assert!(holds(
        Match::Prefix(PrefixRange::exact(net("10.1.2.0/24"))),
        &d
    ));
    let d6 = type5("2001:db8:9::/64");
    assert!(holds(
        Match::Prefix(PrefixRange::or_longer(net("2001:db8::/32"))),
        &d6
    ));
    assert!(!holds(
        Match::Prefix(PrefixRange::or_longer(net("10.0.0.0/8"))),
        &d6
    ));
}

#[test]
fn evpn_type2_matches_on_its_ip_as_a_host_prefix() {
    let d = type2(Some("10.1.2.3"));
    assert_eq!(dest_prefix(&d), Some(net("10.1.2.3/32")));
    assert!(holds(
        Match::Prefix(PrefixRange::exact(net("10.1.2.3/32"))),
        &d
    ));
    assert!(holds(
        Match::Prefix(PrefixRange::new(net("10.0.0.0/8"), Some(32), None)),
        &d
    ));
    assert!(
        !holds(Match::Prefix(PrefixRange::exact(net("10.0.0.0/8"))), &d),
        "a /32 is not exactly /8"
    );
    assert!(!holds(
        Match::Prefix(PrefixRange::new(net("10.0.0.0/8"), Some(8), Some(24))),
        &d
    ));
    let d6 = type2(Some("2001:db8::5"));
    assert_eq!(dest_prefix(&d6), Some(net("2001:db8::5/128")));
    assert!(holds(
        Match::Prefix(PrefixRange::or_longer(net("2001:db8::/32"))),
        &d6
    ));
    // MAC-only type-2 and types 1, 3, 4 have no prefix: a prefix matcher never holds.
    let any = || Match::Prefix(PrefixRange::or_longer(net("0.0.0.0/0")));
    assert!(!holds(any(), &type2(None)));
    assert!(!holds(any(), &type3()));
    assert_eq!(dest_prefix(&type2(None)), None);
    assert_eq!(dest_prefix(&type3()), None);
}

#[test]
fn family_and_evpn_route_type() {
    let evpn: FamilySet = [Family::L2vpnEvpn].into_iter().collect();
    assert!(holds(Match::Family(evpn), &type5("10.0.0.0/24")));
    assert!(!holds(Match::Family(evpn), &v4("10.0.0.0/24")));
    let uni: FamilySet = [Family::Ipv4Unicast, Family::Ipv6Unicast]
        .into_iter()
        .collect();
    assert!(holds(Match::Family(uni), &v4("10.0.0.0/24")));
    assert!(holds(Match::Family(uni), &v6("2001:db8::/32")));
    assert!(!holds(Match::Family(uni), &type3()));

    assert!(holds(Match::EvpnRouteType(5), &type5("10.0.0.0/24")));
    assert!(holds(Match::EvpnRouteType(2), &type2(None)));
    assert!(holds(Match::EvpnRouteType(3), &type3()));
    assert!(!holds(Match::EvpnRouteType(2), &type5("10.0.0.0/24")));
    assert!(!holds(Match::EvpnRouteType(5), &v4("10.0.0.0/24")));
    assert_eq!(evpn_route_type(&type2(Some("10.0.0.1"))), Some(2));
    assert_eq!(evpn_route_type(&v6("::/0")), None);
}

#[test]
fn community_matchers() {
    let d = v4("10.0.0.0/24");
    assert!(holds(Match::Community(comm("65000:1")), &d));
    assert!(holds(Match::Community(Community::NO_EXPORT), &d));
    assert!(!holds(Match::Community(comm("65000:2")), &d));
    assert!(holds(
        Match::AnyCommunity(vec![comm("1:1"), comm("65000:1")]),
        &d
    ));
    assert!(!holds(
        Match::AnyCommunity(vec![comm("1:1"), comm("blackhole")]),
        &d
    ));
    assert!(!holds(Match::AnyCommunity(vec![]), &d));
    let none = PathAttributes::default();
    assert!(!holds_with(Match::Community(comm("65000:1")), &d, &none));

    assert!(holds(Match::LargeCommunity(large("65000:1:2")), &d));
    assert!(!holds(Match::LargeCommunity(large("65000:1:3")), &d));
    assert!(!holds_with(
        Match::LargeCommunity(large("65000:1:2")),
        &d,
        &none
    ));
}

#[test]
fn route_target_matcher() {
    let d = type5("10.0.0.0/24");
    assert!(holds(Match::RouteTarget(rt("65000:100")), &d));
    assert!(!holds(Match::RouteTarget(rt("65000:101")), &d));
    assert!(!holds(Match::RouteTarget(rt("10.0.0.1:100")), &d));
    // The same administrator and number in the 4-octet-AS encoding is the same RT.
    let as4 = AdminValue::As4 {
        asn: 65000,
        value: 100,
    };
    assert!(holds(Match::RouteTarget(as4), &d));
    assert!(same_route_target(as4, rt("65000:100")));
    let mut a = attrs();
    a.ext_communities = vec![ExtCommunity::RouteTarget(as4)];
    assert!(holds_with(Match::RouteTarget(rt("65000:100")), &d, &a));
    // IPv4-administered RTs.
    a.ext_communities = vec![ExtCommunity::RouteTarget(rt("192.0.2.1:7"))];
    assert!(holds_with(Match::RouteTarget(rt("192.0.2.1:7")), &d, &a));
    assert!(!holds_with(Match::RouteTarget(rt("192.0.2.2:7")), &d, &a));
    // A route origin with the same value is not a route target.
    a.ext_communities = vec![ExtCommunity::RouteOrigin(rt("65000:100"))];
    assert!(!holds_with(Match::RouteTarget(rt("65000:100")), &d, &a));
}

#[test]
fn as_path_matchers() {
    let d = v4("10.0.0.0/24");
    assert!(holds(Match::OriginAs(65002), &d));
    assert!(
        !holds(Match::OriginAs(65001), &d),
        "the first AS is not the origin"
    );
    let len = |min, max| Match::AsPathLength { min, max };
    assert!(holds(len(Some(2), Some(2)), &d));
    assert!(holds(len(None, Some(3)), &d));
    assert!(holds(len(Some(1), None), &d));
    assert!(!holds(len(Some(3), None), &d));
    assert!(!holds(len(None, Some(1)), &d));

    // Locally originated: no path (length 0, no origin AS).
    let local = PathAttributes::default();
    assert!(holds_with(len(None, Some(0)), &d, &local));
    assert!(!holds_with(Match::OriginAs(65002), &d, &local));
    // A trailing AS_SET has no origin AS and counts one.
    let set = PathAttributes {
        as_path: Some(AsPath {
            segments: vec![
                AsSegment {
                    kind: SegmentType::Sequence,
                    asns: vec![65001, 65002],
                },
                AsSegment {
                    kind: SegmentType::Set,
                    asns: vec![65003, 65004],
                },
            ],
        }),
        ..PathAttributes::default()
    };
    assert!(!holds_with(Match::OriginAs(65004), &d, &set));
    assert!(holds_with(len(Some(3), Some(3)), &d, &set));
}

#[test]
fn next_hop_matcher() {
    let d = v4("10.0.0.0/24");
    let a = attrs();
    let m = Match::NextHop(net("192.0.2.0/24"));
    assert!(m.matches(&d, &a, &nh("192.0.2.1")));
    assert!(!m.matches(&d, &a, &nh("198.51.100.1")));
    // IPv6 next hops match by their global address.
    let v6nh = NextHop::Ipv6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    };
    assert!(Match::NextHop(net("2001:db8::/64")).matches(&d, &a, &v6nh));
    assert!(!Match::NextHop(net("fe80::/10")).matches(&d, &a, &v6nh));
    assert!(!m.matches(&d, &a, &v6nh));
    // VPN next hops.
    let vpn = NextHop::VpnIpv4 {
        rd: RouteDistinguisher::ZERO,
        addr: "192.0.2.9".parse().unwrap(),
    };
    assert!(m.matches(&d, &a, &vpn));
    // No next hop given: the NEXT_HOP attribute.
    let mut with_attr = a.clone();
    with_attr.next_hop = Some("192.0.2.7".parse().unwrap());
    assert!(m.matches(&d, &with_attr, &NextHop::None));
    assert!(!m.matches(&d, &a, &NextHop::None));
}

#[test]
fn all_matchers_of_a_term_must_hold() {
    let d = v4("10.1.2.0/24");
    let t = term(
        vec![
            Match::Prefix(PrefixRange::or_longer(net("10.0.0.0/8"))),
            Match::Community(comm("65000:1")),
            Match::OriginAs(65002),
        ],
        vec![],
        Verdict::Accept,
    );
    assert!(t.matches(&d, &attrs(), &nh("192.0.2.1")));
    let mut a = attrs();
    a.communities.clear();
    assert!(!t.matches(&d, &a, &nh("192.0.2.1")), "one fails: no match");
    assert!(!t.matches(&v4("11.0.0.0/24"), &attrs(), &nh("192.0.2.1")));
    // No matchers: every route.
    let all = term(vec![], vec![], Verdict::Accept);
    assert!(all.matches(&type3(), &PathAttributes::default(), &NextHop::None));
}

// ---------------------------------------------------------------------------------------------
// Set actions
// ---------------------------------------------------------------------------------------------

#[test]
fn set_local_pref_and_med() {
    let (a, nh, w) = run(vec![SetAction::LocalPref(200)]);
    let a = a.expect("changed");
    assert_eq!(a.local_pref, Some(200));
    assert_eq!(
        PathAttributes {
            local_pref: Some(100),
            ..a
        },
        attrs(),
        "nothing else changed"
    );
    assert_eq!((nh, w), (None, None));

    let (a, _, _) = run(vec![SetAction::Med(0)]);
    assert_eq!(a.unwrap().med, Some(0));
    // Absent values are set.
    let (a, _, _) = run_on(
        vec![SetAction::Med(5), SetAction::LocalPref(50)],
        &v4("10.0.0.0/8"),
        &PathAttributes::default(),
    );
    let a = a.unwrap();
    assert_eq!((a.med, a.local_pref), (Some(5), Some(50)));
}

#[test]
fn set_communities() {
    let (a, _, _) = run(vec![SetAction::AddCommunity(vec![
        comm("65000:9"),
        comm("65000:1"),
        comm("blackhole"),
    ])]);
    assert_eq!(
        a.unwrap().communities,
        vec![
            comm("65000:1"),
            comm("no-export"),
            comm("65000:9"),
            comm("blackhole")
        ],
        "appended, no duplicates"
    );

    let (a, _, _) = run(vec![SetAction::RemoveCommunity(vec![
        comm("no-export"),
        comm("1:1"),
    ])]);
    assert_eq!(a.unwrap().communities, vec![comm("65000:1")]);

    let (a, _, _) = run(vec![SetAction::SetCommunities(vec![comm("2:2")])]);
    assert_eq!(a.unwrap().communities, vec![comm("2:2")]);

    let (a, _, _) = run(vec![SetAction::SetCommunities(vec![])]);
    assert!(a.unwrap().communities.is_empty(), "empty strips them");

    // Replace, then add: in order.
    let (a, _, _) = run(vec![
        SetAction::SetCommunities(vec![comm("2:2")]),
        SetAction::AddCommunity(vec![comm("3:3")]),
        SetAction::RemoveCommunity(vec![comm("2:2")]),
    ]);
    assert_eq!(a.unwrap().communities, vec![comm("3:3")]);
}

#[test]
fn set_large_communities() {
    let (a, _, _) = run(vec![SetAction::AddLargeCommunity(vec![
        large("65000:1:2"),
        large("4200000000:7:8"),
    ])]);
    assert_eq!(
        a.unwrap().large_communities,
        vec![large("65000:1:2"), large("4200000000:7:8")]
    );
    let (a, _, _) = run(vec![SetAction::RemoveLargeCommunity(vec![large(
        "65000:1:2",
    )])]);
    assert!(a.unwrap().large_communities.is_empty());
}

#[test]
fn set_route_targets() {
    let (a, _, _) = run(vec![SetAction::AddRouteTarget(vec![
        rt("65000:200"),
        rt("65000:100"),
    ])]);
    assert_eq!(
        a.unwrap().ext_communities,
        vec![
            ExtCommunity::route_target_as2(65000, 100),
            ExtCommunity::VXLAN,
            ExtCommunity::route_target_as2(65000, 200),
        ]
    );
    // Removal compares by value: a 4-octet-AS encoding of 65000:100 removes it too; other
    // extended communities stay.
    let (a, _, _) = run(vec![SetAction::RemoveRouteTarget(vec![AdminValue::As4 {
        asn: 65000,
        value: 100,
    }])]);
    assert_eq!(a.unwrap().ext_communities, vec![ExtCommunity::VXLAN]);
}

#[test]
fn set_next_hop_per_family() {
    let addr = |s: &str| -> IpAddr { s.parse().unwrap() };
    let (a, n, _) = run(vec![SetAction::NextHop(addr("198.51.100.1"))]);
    assert!(a.is_none(), "the next hop is returned apart");
    assert_eq!(n, Some(nh("198.51.100.1")));
    // The same next hop as before: unchanged.
    let (_, n, _) = run(vec![SetAction::NextHop(addr("192.0.2.1"))]);
    assert_eq!(n, None);

    let g6: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let g4: Ipv4Addr = "198.51.100.1".parse().unwrap();
    let rd = RouteDistinguisher::ZERO;
    assert_eq!(
        next_hop_for(Family::Ipv4Unicast, g4.into()),
        NextHop::Ipv4(g4)
    );
    assert_eq!(
        next_hop_for(Family::Ipv4Unicast, g6.into()),
        NextHop::Ipv6 {
            global: g6,
            link_local: None
        },
        "RFC 8950"
    );
    assert_eq!(
        next_hop_for(Family::Ipv6Unicast, g4.into()),
        NextHop::Ipv6 {
            global: g4.to_ipv6_mapped(),
            link_local: None
        }
    );
    assert_eq!(
        next_hop_for(Family::Ipv4Vpn, g4.into()),
        NextHop::VpnIpv4 { rd, addr: g4 }
    );
    assert_eq!(
        next_hop_for(Family::Ipv6Vpn, g6.into()),
        NextHop::VpnIpv6 {
            rd,
            global: g6,
            link_local: None
        }
    );
    assert_eq!(
        next_hop_for(Family::L2vpnEvpn, g4.into()),
        NextHop::Ipv4(g4)
    );
    assert_eq!(
        next_hop_for(Family::L2vpnEvpn, g6.into()),
        NextHop::Ipv6 {
            global: g6,
            link_local: None
        }
    );
    // Through a policy on an EVPN route.
    let (_, n, _) = run_on(
        vec![SetAction::NextHop(g6.into())],
        &type5("10.0.0.0/24"),
        &attrs(),
    );
    assert_eq!(
        n,
        Some(NextHop::Ipv6 {
            global: g6,
            link_local: None
        })
    );
}

#[test]
fn prepend_as() {
    let (a, _, _) = run(vec![SetAction::PrependAs {
        asn: 65000,
        times: 3,
    }]);
    assert_eq!(
        a.unwrap().as_path,
        Some(AsPath::sequence(vec![65000, 65000, 65000, 65001, 65002]))
    );
    // No path yet: one is created.
    let (a, _, _) = run_on(
        vec![SetAction::PrependAs { asn: 7, times: 2 }],
        &v4("10.0.0.0/8"),
        &PathAttributes::default(),
    );
    assert_eq!(a.unwrap().as_path, Some(AsPath::sequence(vec![7, 7])));
    // A leading AS_SET gets a new sequence in front.
    let set = PathAttributes {
        as_path: Some(AsPath {
            segments: vec![AsSegment {
                kind: SegmentType::Set,
                asns: vec![1, 2],
            }],
        }),
        ..PathAttributes::default()
    };
    let (a, _, _) = run_on(
        vec![SetAction::PrependAs { asn: 9, times: 1 }],
        &v4("10.0.0.0/8"),
        &set,
    );
    let segs = a.unwrap().as_path.unwrap().segments;
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].asns, vec![9]);
    assert_eq!(segs[0].kind, SegmentType::Sequence);
    // A full leading sequence (255 ASes) gets a new segment.
    let full = PathAttributes {
        as_path: Some(AsPath::sequence(vec![1; 254])),
        ..PathAttributes::default()
    };
    let (a, _, _) = run_on(
        vec![SetAction::PrependAs { asn: 9, times: 2 }],
        &v4("10.0.0.0/8"),
        &full,
    );
    let path = a.unwrap().as_path.unwrap();
    assert_eq!(path.segments.len(), 2);
    assert_eq!(path.segments[0].asns, vec![9, 9]);
    assert_eq!(path.path_len(), 256);
    // Zero times: nothing.
    let (a, _, _) = run(vec![SetAction::PrependAs { asn: 9, times: 0 }]);
    assert!(a.is_none());
}

#[test]
fn set_weight() {
    let (a, n, w) = run(vec![SetAction::Weight(500)]);
    assert_eq!((a, n, w), (None, None, Some(500)));
    // The last one wins.
    let (_, _, w) = run(vec![SetAction::Weight(1), SetAction::Weight(2)]);
    assert_eq!(w, Some(2));
}

#[test]
fn unchanged_attributes_are_not_copied() {
    // Actions that change nothing: the same LOCAL_PREF and MED, communities already there,
    // removing absent ones, the same community list, an RT already carried.
    for action in [
        SetAction::LocalPref(100),
        SetAction::Med(10),
        SetAction::AddCommunity(vec![comm("65000:1")]),
        SetAction::RemoveCommunity(vec![comm("9:9")]),
        SetAction::SetCommunities(vec![comm("65000:1"), comm("no-export")]),
        SetAction::AddLargeCommunity(vec![large("65000:1:2")]),
        SetAction::RemoveLargeCommunity(vec![large("1:2:3")]),
        SetAction::AddRouteTarget(vec![rt("65000:100")]),
        SetAction::RemoveRouteTarget(vec![rt("65000:999")]),
        SetAction::Weight(3),
    ] {
        let (a, _, _) = run(vec![action.clone()]);
        assert!(a.is_none(), "{action:?} copied the attributes");
    }
    // A term without actions, and the default.
    let p = Policy {
        name: "p".into(),
        terms: vec![term(
            vec![Match::Community(comm("65000:1"))],
            vec![],
            Verdict::Accept,
        )],
        default: Verdict::Accept,
    };
    assert_eq!(
        p.apply(&v4("10.0.0.0/8"), &attrs(), &nh("192.0.2.1")),
        Outcome::UNCHANGED
    );
    assert_eq!(
        p.apply(
            &v4("10.0.0.0/8"),
            &PathAttributes::default(),
            &nh("192.0.2.1")
        ),
        Outcome::UNCHANGED
    );
}

// ---------------------------------------------------------------------------------------------
// Evaluation order and defaults
// ---------------------------------------------------------------------------------------------

fn ordered(default: Verdict) -> Policy {
    Policy {
        name: "ordered".into(),
        terms: vec![
            // Bogons out first.
            Term {
                name: "no-bogons".into(),
                matches: vec![Match::Prefix(PrefixRange::or_longer(net("192.168.0.0/16")))],
                actions: vec![SetAction::LocalPref(999)],
                verdict: Verdict::Reject,
            },
            Term {
                name: "prefer-customer".into(),
                matches: vec![Match::Community(comm("65000:1"))],
                actions: vec![SetAction::LocalPref(200)],
                verdict: Verdict::Accept,
            },
            // Never reached for routes with 65000:1.
            Term {
                name: "tenant".into(),
                matches: vec![Match::Prefix(PrefixRange::or_longer(net("10.0.0.0/8")))],
                actions: vec![SetAction::LocalPref(50)],
                verdict: Verdict::Accept,
            },
        ],
        default,
    }
}

fn local_pref_of(o: Outcome) -> Option<u32> {
    match o {
        Outcome::Accept { attrs, .. } => attrs.and_then(|a| a.local_pref),
        Outcome::Reject => panic!("rejected"),
    }
}

#[test]
fn first_matching_term_decides() {
    let p = ordered(Verdict::Reject);
    let hop = nh("192.0.2.1");
    // Matches terms 2 and 3: term 2 wins.
    assert_eq!(
        local_pref_of(p.apply(&v4("10.1.0.0/16"), &attrs(), &hop)),
        Some(200)
    );
    // Matches term 3 only.
    let mut plain = attrs();
    plain.communities.clear();
    assert_eq!(
        local_pref_of(p.apply(&v4("10.1.0.0/16"), &plain, &hop)),
        Some(50)
    );
    // Matches terms 1 and 2: the reject wins, and its actions are not run.
    assert_eq!(
        p.apply(&v4("192.168.1.0/24"), &attrs(), &hop),
        Outcome::Reject
    );
    let mut owned = attrs();
    let mut owned_nh = hop;
    assert_eq!(
        p.apply_in_place(&v4("192.168.1.0/24"), &mut owned, &mut owned_nh),
        Outcome::Reject
    );
    assert_eq!(owned, attrs(), "a rejected route is not rewritten");
    assert_eq!(
        p.matching_term(&v4("10.1.0.0/16"), &attrs(), &hop)
            .map(|t| t.name.as_str()),
        Some("prefer-customer")
    );
    // Split evaluation: select the term, then compute its outcome from attributes, next hop
    // and family alone.
    let d = v4("10.1.0.0/16");
    assert_eq!(p.select(&d, &attrs(), &hop), Some(1));
    assert_eq!(p.select(&v4("172.16.0.0/12"), &plain, &hop), None);
    assert_eq!(
        p.apply_selected(Some(1), Family::Ipv4Unicast, &attrs(), &hop),
        p.apply(&d, &attrs(), &hop)
    );
    assert_eq!(
        p.apply_selected(Some(0), Family::Ipv4Unicast, &attrs(), &hop),
        Outcome::Reject
    );
    for default in [None, Some(99)] {
        assert_eq!(
            p.apply_selected(default, Family::Ipv4Unicast, &attrs(), &hop),
            Outcome::Reject,
            "the default"
        );
    }
    // Reordered: term 3 first wins.
    let mut r = p.clone();
    r.terms.swap(1, 2);
    assert_eq!(
        local_pref_of(r.apply(&v4("10.1.0.0/16"), &attrs(), &hop)),
        Some(50)
    );
}

#[test]
fn default_verdicts() {
    let hop = nh("192.0.2.1");
    let mut plain = attrs();
    plain.communities.clear();
    let unmatched = v4("172.16.0.0/12");
    assert_eq!(
        ordered(Verdict::Reject).apply(&unmatched, &plain, &hop),
        Outcome::Reject
    );
    assert_eq!(
        ordered(Verdict::Accept).apply(&unmatched, &plain, &hop),
        Outcome::UNCHANGED
    );
    // A policy with no terms is its default.
    let deny_all = Policy {
        name: "deny".into(),
        terms: vec![],
        default: Verdict::Reject,
    };
    assert_eq!(deny_all.apply(&unmatched, &plain, &hop), Outcome::Reject);
    assert!(!deny_all.is_accept_all());
    let mut owned = plain.clone();
    let mut owned_nh = hop;
    assert_eq!(
        deny_all.apply_in_place(&unmatched, &mut owned, &mut owned_nh),
        Outcome::Reject
    );
}

#[test]
fn accept_all_is_allowall() {
    let p = Policy::accept_all();
    assert_eq!(p.name, ACCEPT_ALL);
    assert!(p.is_accept_all());
    assert_eq!(Policy::default(), p);
    assert!(!ordered(Verdict::Accept).is_accept_all());
    assert_eq!(
        p.apply(&type3(), &attrs(), &NextHop::None),
        Outcome::UNCHANGED
    );
}

// ---------------------------------------------------------------------------------------------
// Text forms
// ---------------------------------------------------------------------------------------------

#[test]
fn community_text_forms() {
    assert_eq!(parse_community("65000:1"), Some(Community(0xfde8_0001)));
    assert_eq!(parse_community("0:0"), Some(Community(0)));
    assert_eq!(parse_community("65535:65535"), Some(Community(u32::MAX)));
    assert_eq!(parse_community("no-export"), Some(Community::NO_EXPORT));
    assert_eq!(
        parse_community("no-advertise"),
        Some(Community::NO_ADVERTISE)
    );
    assert_eq!(
        parse_community("no-export-subconfed"),
        Some(Community::NO_EXPORT_SUBCONFED)
    );
    assert_eq!(parse_community("blackhole"), Some(Community::BLACKHOLE));
    for bad in [
        "",
        "65536:1",
        "1:65536",
        "1",
        "1:2:3",
        "-1:2",
        "+1:2",
        "a:b",
        " 1:2",
        "NO-EXPORT",
    ] {
        assert_eq!(parse_community(bad), None, "{bad:?}");
    }
    // Display round trip.
    for c in [
        comm("65000:1"),
        Community::NO_LLGR,
        Community::GRACEFUL_SHUTDOWN,
    ] {
        assert_eq!(parse_community(&c.to_string()), Some(c));
    }
}

#[test]
fn large_community_text_forms() {
    assert_eq!(
        parse_large_community("4294967295:0:1"),
        Some(LargeCommunity {
            global: u32::MAX,
            local1: 0,
            local2: 1
        })
    );
    for bad in ["1:2", "1:2:3:4", "4294967296:1:1", "a:1:1", "1::1", ""] {
        assert_eq!(parse_large_community(bad), None, "{bad:?}");
    }
}

#[test]
fn route_target_text_forms() {
    assert_eq!(
        parse_route_target("65000:100"),
        Some(AdminValue::As2 {
            asn: 65000,
            value: 100
        })
    );
    assert_eq!(
        parse_route_target("65000:4294967295"),
        Some(AdminValue::As2 {
            asn: 65000,
            value: u32::MAX
        })
    );
    assert_eq!(
        parse_route_target("4200000000:7"),
        Some(AdminValue::As4 {
            asn: 4_200_000_000,
            value: 7
        })
    );
    assert_eq!(
        parse_route_target("192.0.2.1:7"),
        Some(AdminValue::Ipv4 {
            addr: "192.0.2.1".parse().unwrap(),
            value: 7
        })
    );
    for bad in [
        "",
        "65000",
        "4200000000:65536",
        "192.0.2.1:65536",
        "192.0.2:1",
        "65000:-1",
        "x:1",
        "4294967296:1",
        "2001:db8::1:5",
    ] {
        assert_eq!(parse_route_target(bad), None, "{bad:?}");
    }
    // Display round trip (without the "RT:" prefix of ExtCommunity's display).
    for v in [rt("65000:100"), rt("4200000000:7"), rt("192.0.2.1:7")] {
        assert_eq!(parse_route_target(&v.to_string()), Some(v));
    }
}

// ---------------------------------------------------------------------------------------------
// Property: accept_all accepts everything unchanged
// ---------------------------------------------------------------------------------------------

fn arb_dest() -> impl Strategy<Value = Dest> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Dest::Ipv4Unicast {
            prefix: Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc()
        }),
        (any::<u128>(), 0u8..=128).prop_map(|(a, l)| Dest::Ipv6Unicast {
            prefix: Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc()
        }),
        (any::<u32>(), any::<u32>(), 0u8..=32).prop_map(|(v, a, l)| Dest::Ipv4Vpn {
            rd: rd(v),
            prefix: Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc()
        }),
        (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Dest::L2vpnEvpn {
            key: EvpnKey::IpPrefix {
                rd: rd(1),
                eth_tag: 0,
                prefix: IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc()),
            }
        }),
        (any::<[u8; 6]>(), proptest::option::of(any::<u32>())).prop_map(|(m, ip)| {
            Dest::L2vpnEvpn {
                key: EvpnKey::MacIp {
                    rd: rd(2),
                    eth_tag: 0,
                    mac: Mac(m),
                    ip: ip.map(|a| IpAddr::V4(Ipv4Addr::from(a))),
                },
            }
        }),
        Just(type3()),
    ]
}

fn arb_attrs() -> impl Strategy<Value = PathAttributes> {
    (
        proptest::option::of(proptest::collection::vec(1u32..u32::MAX, 0..6)),
        proptest::collection::vec(any::<u32>(), 0..5),
        proptest::collection::vec(any::<(u32, u32, u32)>(), 0..3),
        proptest::collection::vec(any::<[u8; 8]>(), 0..3),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(path, comms, larges, ecs, lp, med, nh)| PathAttributes {
            as_path: path.map(AsPath::sequence),
            communities: comms.into_iter().map(Community).collect(),
            large_communities: larges
                .into_iter()
                .map(|(global, local1, local2)| LargeCommunity {
                    global,
                    local1,
                    local2,
                })
                .collect(),
            ext_communities: ecs.into_iter().map(ExtCommunity::from_bytes).collect(),
            local_pref: lp,
            med,
            next_hop: nh.map(Ipv4Addr::from),
            ..PathAttributes::default()
        })
}

proptest! {
    #[test]
    fn accept_all_accepts_everything_unchanged(
        dest in arb_dest(),
        a in arb_attrs(),
        hop in proptest::option::of(any::<u32>()),
    ) {
        let hop = hop.map_or(NextHop::None, |h| NextHop::Ipv4(Ipv4Addr::from(h)));
        let p = Policy::accept_all();
        prop_assert_eq!(p.apply(&dest, &a, &hop), Outcome::UNCHANGED);
        let mut owned = a.clone();
        let mut owned_hop = hop;
        prop_assert_eq!(p.apply_in_place(&dest, &mut owned, &mut owned_hop), Outcome::UNCHANGED);
        prop_assert_eq!(owned, a);
        prop_assert_eq!(owned_hop, hop);
    }

    /// A policy whose only term sets values the route already has never copies.
    #[test]
    fn idempotent_actions_never_copy(a in arb_attrs(), dest in arb_dest()) {
        let mut actions = vec![SetAction::SetCommunities(a.communities.clone())];
        if let Some(lp) = a.local_pref {
            actions.push(SetAction::LocalPref(lp));
        }
        if let Some(med) = a.med {
            actions.push(SetAction::Med(med));
        }
        actions.push(SetAction::AddLargeCommunity(a.large_communities.clone()));
        let p = setting(actions);
        let out = p.apply(&dest, &a, &NextHop::None);
        prop_assert_eq!(out, Outcome::UNCHANGED);
    }
}
