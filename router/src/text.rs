//! The readable form of a decode record (`perouterctl decode --text`), in the spirit of
//! `tcpdump -v`, but complete for EVPN and VPN.

use std::fmt::Write;

use bgp_wire::nlri::{NextHop, NlriList};
use bgp_wire::{Capability, EvpnRoute, Message, OptParam, PathAttributes};

use crate::decode::Record;

/// Renders a record as indented lines.
pub fn render(r: &Record) -> String {
    let mut s = String::new();
    let mut head = String::new();
    if let Some(p) = r.packet {
        let _ = write!(head, "#{p} ");
    }
    if let Some(t) = &r.time {
        let _ = write!(head, "{t} ");
    }
    if let (Some(a), Some(b)) = (r.src, r.dst) {
        let _ = write!(head, "{a} > {b} ");
    }
    if let Some(b) = &r.bmp {
        let _ = write!(head, "[bmp type {}", b.msg_type);
        if let Some(p) = b.peer {
            let _ = write!(head, " peer {p}");
        }
        head.push_str("] ");
    }
    let name = r.message.as_ref().map_or("malformed", |m| match m {
        Message::Open(_) => "OPEN",
        Message::Update(_) => "UPDATE",
        Message::Notification(_) => "NOTIFICATION",
        Message::Keepalive => "KEEPALIVE",
        Message::RouteRefresh(_) => "ROUTE-REFRESH",
    });
    let _ = writeln!(s, "{head}BGP {name}, length {}", r.length);
    match &r.message {
        Some(Message::Open(o)) => {
            let _ = writeln!(
                s,
                "  My AS {}, Hold Time {}s, ID {}{}",
                o.my_as,
                o.hold_time,
                o.bgp_id,
                if o.extended_params {
                    ", RFC 9072 extended parameters"
                } else {
                    ""
                }
            );
            for p in &o.params {
                match p {
                    OptParam::Capabilities(caps) => {
                        for c in caps {
                            let _ = writeln!(s, "    Capability {}", capability(c));
                        }
                    }
                    OptParam::Unknown { param_type, value } => {
                        let _ = writeln!(
                            s,
                            "    Optional parameter {param_type}: {}",
                            hex::encode(value)
                        );
                    }
                }
            }
        }
        Some(Message::Update(u)) => {
            if let (Some(f), None) = (u.end_of_rib_family(), &r.verdict) {
                let _ = writeln!(s, "  End-of-RIB for {f}");
            }
            for w in &u.withdrawn {
                let _ = writeln!(s, "  Withdrawn {}{}", w.prefix, path_id(w.path_id));
            }
            attributes(&mut s, &u.attributes);
            for n in &u.nlri {
                let _ = writeln!(s, "  NLRI {}{}", n.prefix, path_id(n.path_id));
            }
        }
        Some(Message::Notification(n)) => {
            let _ = writeln!(s, "  {n}");
            if let Some(Ok(text)) = n.shutdown_message() {
                let _ = writeln!(s, "  Shutdown communication: {text:?}");
            }
            if let Some(Ok(inner)) = n.hard_reset_inner() {
                let _ = writeln!(s, "  Hard reset of {inner}");
            }
            if !n.data.is_empty() {
                let _ = writeln!(s, "  Data {}", hex::encode(&n.data));
            }
        }
        Some(Message::Keepalive) => {}
        Some(Message::RouteRefresh(rr)) => {
            let kind = match rr.subtype {
                0 => "request",
                1 => "BoRR",
                2 => "EoRR",
                _ => "reserved subtype",
            };
            let _ = writeln!(s, "  {} {kind}", rr.afi_safi);
        }
        None => {}
    }
    if let Some(v) = &r.verdict {
        if let Some(a) = v.action {
            let _ = writeln!(s, "  RFC 7606 verdict: {a:?}");
        }
        for f in &v.findings {
            let _ = writeln!(
                s,
                "    {:?} at offset {}: {}{}",
                f.action,
                f.offset,
                f.reason,
                f.attribute
                    .map(|a| format!(" (attribute {a})"))
                    .unwrap_or_default()
            );
        }
        for w in &v.withdrawn_routes {
            let _ = writeln!(
                s,
                "    route {} treated as withdrawn: {}",
                w.index, w.reason
            );
        }
        for k in &v.skipped {
            let _ = writeln!(
                s,
                "    skipped EVPN route type {} ({} octets)",
                k.route_type, k.length
            );
        }
    }
    if let Some(e) = &r.error {
        let _ = writeln!(s, "  Error: {e}");
    }
    if let Some(n) = &r.notification {
        let _ = writeln!(s, "  Receiver sends NOTIFICATION {n}");
    }
    if let Some(p) = &r.open_problem {
        let _ = writeln!(s, "  OPEN would be refused: {p}");
    }
    if let Some(h) = &r.hex {
        let _ = writeln!(s, "  Raw {h}");
    }
    s
}

fn path_id(id: Option<u32>) -> String {
    id.map(|i| format!(" path-id {i}")).unwrap_or_default()
}

fn capability(c: &Capability) -> String {
    match c {
        Capability::Multiprotocol(a) => format!("multiprotocol {a}"),
        Capability::RouteRefresh => "route-refresh".into(),
        Capability::RouteRefreshCisco => "route-refresh (Cisco)".into(),
        Capability::EnhancedRouteRefresh => "enhanced route-refresh".into(),
        Capability::ExtendedMessage => "extended message".into(),
        Capability::ExtendedNextHop(e) => format!(
            "extended next hop {}",
            e.iter()
                .map(|x| format!("{}/{}->{}", x.afi, x.safi, x.next_hop_afi))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Capability::Role(r) => format!("role {r}"),
        Capability::GracefulRestart(g) => format!(
            "graceful restart R={} N={} time {}s families {}",
            u8::from(g.restarting()),
            u8::from(g.notification()),
            g.restart_time,
            g.families
                .iter()
                .map(|f| format!(
                    "{}{}",
                    f.afi_safi,
                    if f.forwarding_preserved() { "(F)" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Capability::FourOctetAs(a) => format!("4-octet AS {a}"),
        Capability::AddPath(e) => format!(
            "add-path {}",
            e.iter()
                .map(|x| format!(
                    "{}:{}",
                    x.afi_safi,
                    match x.mode.0 {
                        1 => "receive",
                        2 => "send",
                        3 => "both",
                        _ => "?",
                    }
                ))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Capability::LongLivedGr(e) => format!(
            "long-lived GR {}",
            e.iter()
                .map(|x| format!("{} stale {}s", x.afi_safi, x.stale_time))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Capability::Fqdn { hostname, domain } => format!("hostname {hostname:?} domain {domain:?}"),
        Capability::SoftwareVersion(v) => format!("software version {v:?}"),
        Capability::Unknown { code, value } => {
            format!("unknown code {code}: {}", hex::encode(value))
        }
    }
}

fn next_hop(nh: &NextHop) -> String {
    match nh {
        NextHop::None => "none".into(),
        NextHop::Ipv4(a) => a.to_string(),
        NextHop::Ipv6 { global, link_local } => match link_local {
            Some(ll) => format!("{global} {ll}"),
            None => global.to_string(),
        },
        NextHop::VpnIpv4 { rd, addr } => format!("RD {rd} {addr}"),
        NextHop::VpnIpv6 {
            rd,
            global,
            link_local,
        } => match link_local {
            Some((_, ll)) => format!("RD {rd} {global} {ll}"),
            None => format!("RD {rd} {global}"),
        },
    }
}

fn attributes(s: &mut String, a: &PathAttributes) {
    if let Some(o) = a.origin {
        let _ = writeln!(s, "  Origin {o:?}");
    }
    if let Some(p) = &a.as_path {
        let path: Vec<String> = p
            .segments
            .iter()
            .map(|seg| {
                let asns: Vec<String> = seg.asns.iter().map(u32::to_string).collect();
                match seg.kind {
                    bgp_wire::SegmentType::Sequence => asns.join(" "),
                    bgp_wire::SegmentType::Set => format!("{{{}}}", asns.join(",")),
                    bgp_wire::SegmentType::ConfedSequence => format!("({})", asns.join(" ")),
                    bgp_wire::SegmentType::ConfedSet => format!("[{}]", asns.join(",")),
                }
            })
            .collect();
        let _ = writeln!(s, "  AS Path [{}]", path.join(" "));
    }
    if let Some(nh) = a.next_hop {
        let _ = writeln!(s, "  Next Hop {nh}");
    }
    if let Some(m) = a.med {
        let _ = writeln!(s, "  MED {m}");
    }
    if let Some(l) = a.local_pref {
        let _ = writeln!(s, "  Local Preference {l}");
    }
    if a.atomic_aggregate {
        let _ = writeln!(s, "  Atomic Aggregate");
    }
    if let Some(g) = a.aggregator {
        let _ = writeln!(s, "  Aggregator AS {} {}", g.asn, g.addr);
    }
    if !a.communities.is_empty() {
        let c: Vec<String> = a.communities.iter().map(ToString::to_string).collect();
        let _ = writeln!(s, "  Communities {}", c.join(" "));
    }
    if let Some(o) = a.originator_id {
        let _ = writeln!(s, "  Originator {o}");
    }
    if !a.cluster_list.is_empty() {
        let c: Vec<String> = a.cluster_list.iter().map(ToString::to_string).collect();
        let _ = writeln!(s, "  Cluster List {}", c.join(" "));
    }
    if !a.ext_communities.is_empty() {
        let c: Vec<String> = a.ext_communities.iter().map(ToString::to_string).collect();
        let _ = writeln!(s, "  Extended Communities {}", c.join(" "));
    }
    if let Some(p) = &a.as4_path {
        let _ = writeln!(
            s,
            "  AS4 Path {:?}",
            p.segments.iter().map(|x| &x.asns).collect::<Vec<_>>()
        );
    }
    if let Some(g) = a.as4_aggregator {
        let _ = writeln!(s, "  AS4 Aggregator AS {} {}", g.asn, g.addr);
    }
    if let Some(p) = &a.pmsi_tunnel {
        let ep = p
            .endpoint()
            .map(|e| e.to_string())
            .unwrap_or_else(|| hex::encode(&p.tunnel_id));
        let _ = writeln!(
            s,
            "  PMSI Tunnel type {} flags {:#x} label {} endpoint {ep}",
            p.tunnel_type,
            p.flags,
            p.label.raw()
        );
    }
    if !a.large_communities.is_empty() {
        let c: Vec<String> = a
            .large_communities
            .iter()
            .map(ToString::to_string)
            .collect();
        let _ = writeln!(s, "  Large Communities {}", c.join(" "));
    }
    if let Some(o) = a.otc {
        let _ = writeln!(s, "  Only to Customer {o}");
    }
    if let Some(p) = &a.prefix_sid {
        let _ = writeln!(
            s,
            "  Prefix-SID {}",
            serde_json::to_string(p).unwrap_or_default()
        );
    }
    for r in &a.other {
        let _ = writeln!(
            s,
            "  Attribute {} flags {:#04x}: {}",
            r.code,
            r.flags,
            hex::encode(&r.value)
        );
    }
    if let Some(r) = &a.mp_reach {
        let _ = writeln!(
            s,
            "  MP_REACH_NLRI {} next hop {}",
            r.nlri.afi_safi(),
            next_hop(&r.next_hop)
        );
        routes(s, &r.nlri);
    }
    if let Some(u) = &a.mp_unreach {
        let _ = writeln!(s, "  MP_UNREACH_NLRI {}", u.withdrawn.afi_safi());
        routes(s, &u.withdrawn);
    }
}

fn routes(s: &mut String, list: &NlriList) {
    match list {
        NlriList::Ipv4Unicast(v) => v.iter().for_each(|n| {
            let _ = writeln!(s, "    {}{}", n.prefix, path_id(n.path_id));
        }),
        NlriList::Ipv6Unicast(v) => v.iter().for_each(|n| {
            let _ = writeln!(s, "    {}{}", n.prefix, path_id(n.path_id));
        }),
        NlriList::Ipv4Vpn(v) => v.iter().for_each(|n| vpn(s, n)),
        NlriList::Ipv6Vpn(v) => v.iter().for_each(|n| vpn(s, n)),
        NlriList::L2vpnEvpn(v) => v.iter().for_each(|n| {
            let _ = writeln!(s, "    {}{}", evpn(&n.route), path_id(n.path_id));
        }),
        NlriList::Other { afi_safi, raw } => {
            let _ = writeln!(s, "    {afi_safi} raw {}", hex::encode(raw));
        }
    }
}

fn vpn<P: std::fmt::Display>(s: &mut String, n: &bgp_wire::VpnNlri<P>) {
    let labels: Vec<u32> = n.labels.iter().map(|l| l.label).collect();
    let _ = writeln!(
        s,
        "    RD {} {} labels {labels:?}{}",
        n.rd,
        n.prefix,
        path_id(n.path_id)
    );
}

fn evpn(r: &EvpnRoute) -> String {
    match r {
        EvpnRoute::EthernetAd(x) => format!(
            "type-1 RD {} ESI {} ETag {} label {}",
            x.rd,
            x.esi,
            x.eth_tag,
            x.label.raw()
        ),
        EvpnRoute::MacIp(x) => format!(
            "type-2 RD {} ESI {} ETag {} MAC {} IP {} label1 {}{}",
            x.rd,
            x.esi,
            x.eth_tag,
            x.mac,
            x.ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
            x.label1.raw(),
            x.label2
                .map(|l| format!(" label2 {}", l.raw()))
                .unwrap_or_default()
        ),
        EvpnRoute::InclusiveMulticast(x) => format!(
            "type-3 RD {} ETag {} originator {}",
            x.rd, x.eth_tag, x.originator
        ),
        EvpnRoute::EthernetSegment(x) => format!(
            "type-4 RD {} ESI {} originator {}",
            x.rd, x.esi, x.originator
        ),
        EvpnRoute::IpPrefix(x) => format!(
            "type-5 RD {} ESI {} ETag {} prefix {} gateway {} label {}",
            x.rd,
            x.esi,
            x.eth_tag,
            x.prefix,
            x.gateway,
            x.label.raw()
        ),
    }
}
