//! Text rendering of API answers for `perouterctl show …` (FRR-like tables).

use std::fmt::Write as _;

use crate::api::{Neighbor, Route, Summary};

fn uptime(secs: Option<u64>) -> String {
    match secs {
        None => "never".into(),
        Some(s) => format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60),
    }
}

/// `show bgp summary`.
pub fn summary(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "BGP router identifier {}, local AS number {}",
        s.router_id, s.asn
    );
    for t in s.tables.iter().filter(|t| t.destinations > 0) {
        let _ = writeln!(
            o,
            "{}: {} destinations, {} paths",
            t.family, t.destinations, t.paths
        );
    }
    let _ = writeln!(o, "Attribute sets: {}", s.attribute_sets);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<28} {:>10} {:>8} {:>8} {:>9} {:<12} {:>8} {:>8}  Desc",
        "Neighbor", "AS", "MsgRcvd", "MsgSent", "Up/Down", "State", "PfxRcd", "PfxSnt"
    );
    for n in &s.neighbors {
        let state = if n.state == "Established" {
            "Established".to_string()
        } else {
            n.state.clone()
        };
        let _ = writeln!(
            o,
            "{:<28} {:>10} {:>8} {:>8} {:>9} {:<12} {:>8} {:>8}  {}",
            n.neighbor,
            n.remote_as,
            n.updates_in,
            n.updates_out,
            uptime(n.uptime_secs),
            state,
            n.received,
            n.advertised,
            n.description.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(o, "\nTotal number of neighbors {}", s.neighbors.len());
    o
}

/// `show bgp neighbors`.
pub fn neighbors(list: &[Neighbor]) -> String {
    let mut o = String::new();
    for n in list {
        let s = &n.summary;
        let _ = writeln!(
            o,
            "BGP neighbor is {}, remote AS {}, {} link ({})",
            s.neighbor, s.remote_as, n.kind, s.config
        );
        if let Some(d) = &s.description {
            let _ = writeln!(o, "  Description: {d}");
        }
        let _ = writeln!(
            o,
            "  BGP state = {}, up for {}",
            s.state,
            uptime(s.uptime_secs)
        );
        if let Some(id) = &n.peer_router_id {
            let _ = writeln!(o, "  Remote router ID {id}");
        }
        if let (Some(l), Some(r)) = (&n.local, &n.remote) {
            let _ = writeln!(o, "  Local host: {l}, Foreign host: {r}");
        }
        if let Some(h) = &n.peer_hostname {
            let _ = writeln!(o, "  Hostname: {h}");
        }
        if let Some(h) = n.peer_hold_time {
            let _ = writeln!(o, "  Hold time proposed by the peer: {h}s");
        }
        let _ = writeln!(
            o,
            "  Families: {}; route refresh: {}",
            if n.families.is_empty() {
                "-".to_string()
            } else {
                n.families.join(", ")
            },
            if n.route_refresh { "yes" } else { "no" }
        );
        if !n.add_path_rx.is_empty() || !n.add_path_tx.is_empty() {
            let _ = writeln!(
                o,
                "  ADD-PATH: receive {}; send {}",
                n.add_path_rx.join(", "),
                n.add_path_tx.join(", ")
            );
        }
        if n.graceful_restart || n.stale_paths > 0 {
            let _ = writeln!(
                o,
                "  Graceful restart: peer capable; {} stale paths kept",
                n.stale_paths
            );
        }
        for (f, c) in n.received_per_family.iter().filter(|(_, c)| *c > 0) {
            let _ = writeln!(o, "  {f}: {c} accepted prefixes");
        }
        let _ = writeln!(
            o,
            "  Updates received {}, sent {}; prefixes advertised {}",
            s.updates_in, s.updates_out, s.advertised
        );
        let r = &n.rfc7606;
        let _ = writeln!(
            o,
            "  RFC 7606: {} attribute discards, {} treat-as-withdraw, {} AFI/SAFI disables, {} resets; {} routes filtered by loop checks",
            r.attribute_discard, r.treat_as_withdraw, r.afi_safi_disable, r.session_reset, n.filtered
        );
        if n.out_queue > 0 {
            let _ = writeln!(o, "  Destinations waiting to be sent: {}", n.out_queue);
        }
        let _ = writeln!(o, "  Connections dropped {}", n.flaps);
        if let Some(e) = &n.last_error {
            let _ = writeln!(o, "  Last reset: {e}");
        }
        let _ = writeln!(o);
    }
    o
}

/// `show bgp routes`.
pub fn routes(list: &[Route]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Status codes: * valid, > best, = multipath, S stale");
    let _ = writeln!(
        o,
        "   {:<40} {:<26} {:>6} {:>6}  {:<18} Path",
        "Network", "Next Hop", "Metric", "LocPrf", "From"
    );
    let mut paths = 0usize;
    for r in list {
        for (i, p) in r.paths.iter().enumerate() {
            let code = format!(
                "{}{}{}",
                if p.stale { "S" } else { "*" },
                if p.best {
                    ">"
                } else if p.multipath {
                    "="
                } else {
                    " "
                },
                " "
            );
            let net = if i == 0 { r.destination.as_str() } else { "" };
            let origin = match p.origin.as_str() {
                "igp" => "i",
                "egp" => "e",
                _ => "?",
            };
            let _ = writeln!(
                o,
                "{code}{:<40} {:<26} {:>6} {:>6}  {:<18} {} {origin}",
                net,
                p.next_hop,
                p.med.map(|m| m.to_string()).unwrap_or_default(),
                p.local_pref,
                p.from,
                p.as_path
            );
            paths = paths.saturating_add(1);
        }
    }
    let _ = writeln!(
        o,
        "\nDisplayed {} routes and {} total paths",
        list.len(),
        paths
    );
    o
}
