//! API views and Prometheus metrics, built from the actor's state on request.

use std::fmt::Write as _;
use std::time::Instant;

use bgp::fsm::State;
use bgp::rib::{family_index, Attrs, DestEntry, PeerId, LOCAL};
use bgp::wire::{AsPath, Family, NextHop, Origin, SegmentType};

use super::{Actor, Peer};
use crate::api::{Neighbor, NeighborSummary, Rfc7606Counts, Route, RoutePath, Summary, TableSize};

/// An address as operators write it: IPv4 peers on a dual-stack socket without `::ffff:`.
fn canonical(a: std::net::SocketAddr) -> std::net::SocketAddr {
    std::net::SocketAddr::new(bgp::transport::canonical(a.ip()), a.port())
}

fn state_name(p: &Peer) -> String {
    if p.admin_down {
        "Shutdown".to_string()
    } else {
        format!("{:?}", p.state)
    }
}

fn neighbor_summary(a: &Actor, id: PeerId, p: &Peer) -> NeighborSummary {
    let c = a.rib_of(id).counters(id).unwrap_or_default();
    NeighborSummary {
        neighbor: p
            .addr
            .map(|x| x.to_string())
            .unwrap_or_else(|| p.key.to_string()),
        config: p.key.to_string(),
        remote_as: p
            .negotiation
            .as_ref()
            .map(|n| n.peer_as.to_string())
            .unwrap_or_else(|| p.neighbor.remote_as.to_string()),
        state: state_name(p),
        uptime_secs: (p.state == State::Established)
            .then(|| Instant::now().saturating_duration_since(p.since).as_secs()),
        received: c.accepted.iter().map(|x| u64::from(*x)).sum(),
        advertised: c.advertised.iter().map(|x| u64::from(*x)).sum(),
        updates_in: c.updates_in,
        updates_out: c.updates_out,
        description: p.neighbor.description.clone(),
    }
}

pub(super) fn summary(a: &Actor) -> Summary {
    Summary {
        router_id: a.config.router_id.to_string(),
        asn: a.config.asn,
        tables: Family::ALL
            .iter()
            .map(|f| TableSize {
                family: f.to_string(),
                destinations: a.rib.len(*f),
                paths: a.rib.table(*f).map(|(_, e)| e.paths.len()).sum(),
            })
            .collect(),
        attribute_sets: a.rib.attribute_sets(),
        neighbors: a
            .peers
            .iter()
            .map(|(id, p)| neighbor_summary(a, *id, p))
            .collect(),
    }
}

pub(super) fn neighbor(a: &Actor, id: PeerId) -> Option<Neighbor> {
    let p = a.peers.get(&id)?;
    let c = a.rib_of(id).counters(id).unwrap_or_default();
    let n = p.negotiation.as_deref();
    Some(Neighbor {
        summary: neighbor_summary(a, id, p),
        kind: if p.neighbor.is_external() {
            "external".into()
        } else {
            "internal".into()
        },
        local: p.conn.map(|(l, _)| canonical(l).to_string()),
        remote: p.conn.map(|(_, r)| canonical(r).to_string()),
        peer_router_id: n.map(|n| n.peer_bgp_id.to_string()),
        families: n
            .map(|n| n.families.iter().map(|f| f.to_string()).collect())
            .unwrap_or_default(),
        peer_hold_time: n.map(|n| n.peer_hold_time),
        route_refresh: n.is_some_and(|n| n.route_refresh),
        add_path_rx: n
            .map(|n| {
                n.contexts
                    .rx
                    .add_path
                    .iter()
                    .map(|f| f.to_string())
                    .collect()
            })
            .unwrap_or_default(),
        add_path_tx: n
            .map(|n| {
                n.contexts
                    .tx
                    .add_path
                    .iter()
                    .map(|f| f.to_string())
                    .collect()
            })
            .unwrap_or_default(),
        graceful_restart: p.peer_gr.is_some(),
        stale_paths: a.rib_of(id).stale_paths(id),
        out_queue: a.rib_of(id).pending_len(id),
        peer_hostname: n.and_then(|n| n.peer_hostname.clone()),
        flaps: p.flaps,
        last_error: p.last_error.clone(),
        received_per_family: Family::ALL
            .iter()
            .map(|f| {
                (
                    f.to_string(),
                    c.accepted.get(family_index(*f)).copied().unwrap_or(0),
                )
            })
            .collect(),
        rfc7606: Rfc7606Counts {
            attribute_discard: c.attribute_discard,
            treat_as_withdraw: c.treat_as_withdraw,
            afi_safi_disable: c.afi_safi_disable,
            session_reset: p.session_resets,
        },
        filtered: c.filtered,
    })
}

pub(super) fn neighbors(a: &Actor) -> Vec<Neighbor> {
    a.peers.keys().filter_map(|id| neighbor(a, *id)).collect()
}

fn as_path_text(p: Option<&AsPath>) -> String {
    let Some(p) = p else {
        return String::new();
    };
    let mut parts = Vec::new();
    for s in &p.segments {
        let asns: Vec<String> = s.asns.iter().map(|x| x.to_string()).collect();
        parts.push(match s.kind {
            SegmentType::Sequence => asns.join(" "),
            SegmentType::Set => format!("{{{}}}", asns.join(",")),
            SegmentType::ConfedSequence => format!("({})", asns.join(" ")),
            SegmentType::ConfedSet => format!("[{}]", asns.join(",")),
        });
    }
    parts.join(" ")
}

fn next_hop_text(nh: &NextHop) -> String {
    match nh {
        NextHop::None => "self".into(),
        NextHop::Ipv4(a) => a.to_string(),
        NextHop::Ipv6 { global, link_local } => match link_local {
            Some(ll) => format!("{global} ({ll})"),
            None => global.to_string(),
        },
        NextHop::VpnIpv4 { addr, .. } => addr.to_string(),
        NextHop::VpnIpv6 { global, .. } => global.to_string(),
    }
}

fn communities(a: &Attrs) -> Vec<String> {
    let x = &a.attrs;
    x.communities
        .iter()
        .map(|c| c.to_string())
        .chain(x.ext_communities.iter().map(|c| c.to_string()))
        .chain(x.large_communities.iter().map(|c| c.to_string()))
        .collect()
}

fn route(a: &Actor, family: Family, dest: &bgp::rib::Dest, e: &DestEntry) -> Route {
    let mut order: Vec<usize> = e.selected.clone();
    for i in 0..e.paths.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    let paths = order
        .iter()
        .filter_map(|i| e.paths.get(*i).map(|p| (*i, p)))
        .map(|(i, p)| {
            let from = if p.source.peer == LOCAL && p.path_id != 0 {
                // A VRF instance's import from the EVPN table (`daemon::vrf`).
                "evpn".to_string()
            } else if p.source.peer == LOCAL {
                "local".to_string()
            } else {
                a.peers
                    .get(&p.source.peer)
                    .and_then(|x| x.addr)
                    .map(|x| x.to_string())
                    .unwrap_or_else(|| p.source.addr.to_string())
            };
            RoutePath {
                best: e.selected.first() == Some(&i),
                multipath: e.selected.contains(&i),
                from,
                next_hop: next_hop_text(&p.attrs.next_hop),
                as_path: as_path_text(p.attrs.attrs.as_path.as_ref()),
                local_pref: p.attrs.local_pref,
                med: p.attrs.attrs.med,
                origin: match p.attrs.origin {
                    Origin::Igp => "igp",
                    Origin::Egp => "egp",
                    Origin::Incomplete => "incomplete",
                }
                .to_string(),
                communities: communities(&p.attrs),
                stale: p.stale,
                detail: serde_json::json!({
                    "nlri": p.nlri,
                    "path_id": p.path_id,
                    "attributes": p.attrs.attrs,
                }),
            }
        })
        .collect();
    Route {
        destination: dest.to_string(),
        family: family.to_string(),
        paths,
    }
}

pub(super) fn routes(
    a: &Actor,
    rib: &bgp::rib::Rib,
    family: Family,
    prefix: Option<ipnet::IpNet>,
) -> Vec<Route> {
    let mut dests: Vec<_> = rib
        .table(family)
        .filter(|(d, _)| prefix.is_none_or(|p| d.within(&p)))
        .collect();
    dests.sort_by(|x, y| x.0.cmp(y.0));
    dests
        .into_iter()
        .map(|(d, e)| route(a, family, d, e))
        .collect()
}

/// Resident memory from `/proc/self/statm` (pages × 4096), when readable.
fn resident_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    pages.checked_mul(4096)
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

pub(super) fn metrics(a: &Actor) -> String {
    let mut o = String::new();
    let states = [
        State::Idle,
        State::Connect,
        State::Active,
        State::OpenSent,
        State::OpenConfirm,
        State::Established,
    ];
    let _ = writeln!(
        o,
        "# HELP perouterd_bgp_sessions BGP sessions by FSM state."
    );
    let _ = writeln!(o, "# TYPE perouterd_bgp_sessions gauge");
    for s in states {
        let n = a.peers.values().filter(|p| p.state == s).count();
        let _ = writeln!(o, "perouterd_bgp_sessions{{state=\"{s:?}\"}} {n}");
    }
    let _ = writeln!(
        o,
        "# HELP perouterd_bgp_prefixes_received Paths accepted from a peer."
    );
    let _ = writeln!(o, "# TYPE perouterd_bgp_prefixes_received gauge");
    let _ = writeln!(
        o,
        "# HELP perouterd_bgp_prefixes_advertised Destinations advertised to a peer."
    );
    let _ = writeln!(o, "# TYPE perouterd_bgp_prefixes_advertised gauge");
    let _ = writeln!(
        o,
        "# HELP perouterd_bgp_updates_received_total UPDATE messages received."
    );
    let _ = writeln!(o, "# TYPE perouterd_bgp_updates_received_total counter");
    let _ = writeln!(
        o,
        "# HELP perouterd_bgp_updates_sent_total UPDATE messages sent."
    );
    let _ = writeln!(o, "# TYPE perouterd_bgp_updates_sent_total counter");
    let _ = writeln!(
        o,
        "# HELP perouterd_bgp_rfc7606_total RFC 7606 actions taken on received UPDATEs."
    );
    let _ = writeln!(o, "# TYPE perouterd_bgp_rfc7606_total counter");
    let _ = writeln!(
        o,
        "# HELP perouterd_bgp_out_queue Destinations waiting to be sent to a peer."
    );
    let _ = writeln!(o, "# TYPE perouterd_bgp_out_queue gauge");
    for (id, p) in &a.peers {
        let c = a.rib_of(*id).counters(*id).unwrap_or_default();
        let peer = label(
            &p.addr
                .map(|x| x.to_string())
                .unwrap_or_else(|| p.key.to_string()),
        );
        for f in Family::ALL {
            let i = family_index(f);
            let rx = c.accepted.get(i).copied().unwrap_or(0);
            let tx = c.advertised.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                o,
                "perouterd_bgp_prefixes_received{{neighbor=\"{peer}\",family=\"{f}\"}} {rx}"
            );
            let _ = writeln!(
                o,
                "perouterd_bgp_prefixes_advertised{{neighbor=\"{peer}\",family=\"{f}\"}} {tx}"
            );
        }
        let _ = writeln!(
            o,
            "perouterd_bgp_out_queue{{neighbor=\"{peer}\"}} {}",
            a.rib_of(*id).pending_len(*id)
        );
        let _ = writeln!(
            o,
            "perouterd_bgp_updates_received_total{{neighbor=\"{peer}\"}} {}",
            c.updates_in
        );
        let _ = writeln!(
            o,
            "perouterd_bgp_updates_sent_total{{neighbor=\"{peer}\"}} {}",
            c.updates_out
        );
        for (action, n) in [
            ("attribute-discard", c.attribute_discard),
            ("treat-as-withdraw", c.treat_as_withdraw),
            ("afi-safi-disable", c.afi_safi_disable),
            ("session-reset", p.session_resets),
        ] {
            let _ = writeln!(
                o,
                "perouterd_bgp_rfc7606_total{{neighbor=\"{peer}\",action=\"{action}\"}} {n}"
            );
        }
    }
    let _ = writeln!(
        o,
        "# HELP perouterd_rib_destinations Destinations in the Loc-RIB."
    );
    let _ = writeln!(o, "# TYPE perouterd_rib_destinations gauge");
    let _ = writeln!(o, "# HELP perouterd_rib_paths Paths in the RIB.");
    let _ = writeln!(o, "# TYPE perouterd_rib_paths gauge");
    for f in Family::ALL {
        let paths: usize = a.rib.table(f).map(|(_, e)| e.paths.len()).sum();
        let _ = writeln!(
            o,
            "perouterd_rib_destinations{{family=\"{f}\"}} {}",
            a.rib.len(f)
        );
        let _ = writeln!(o, "perouterd_rib_paths{{family=\"{f}\"}} {paths}");
    }
    let _ = writeln!(
        o,
        "# HELP perouterd_rib_attribute_sets Distinct interned attribute sets."
    );
    let _ = writeln!(o, "# TYPE perouterd_rib_attribute_sets gauge");
    let _ = writeln!(o, "perouterd_rib_attribute_sets {}", a.rib.attribute_sets());
    if let Some(b) = resident_bytes() {
        let _ = writeln!(
            o,
            "# HELP perouterd_resident_memory_bytes Resident memory of the daemon."
        );
        let _ = writeln!(o, "# TYPE perouterd_resident_memory_bytes gauge");
        let _ = writeln!(o, "perouterd_resident_memory_bytes {b}");
    }
    let _ = writeln!(
        o,
        "# HELP perouterd_uptime_seconds Seconds since the daemon started."
    );
    let _ = writeln!(o, "# TYPE perouterd_uptime_seconds gauge");
    let _ = writeln!(
        o,
        "perouterd_uptime_seconds {}",
        a.started.elapsed().as_secs()
    );
    o
}
