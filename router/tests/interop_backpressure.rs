//! Backpressure end to end: a scripted host speaker floods perouterd with 100 000 routes
//! while the FRR ToR is frozen (SIGSTOP). perouterd takes them all, keeps at most one queued
//! entry per destination for the stuck ToR (no copy per change, no unbounded buffer), stays
//! responsive, and once the ToR runs again delivers the whole table to it.
//!
//! Needs root, iproute2 and FRR; `.ci/run` installs them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lab;

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::session::{SessionCommand, SessionEvent};
use bgp::wire::{pack, AsPath, Context, Ipv4Nlri, NextHop, NlriList, Origin, PathAttributes};
use ipnet::Ipv4Net;
use lab::{next, speaker_in, step, wait_for, Frr, Perouterd, Speaker};

const ROUTES: u32 = 100_000;

/// Routes 10.0.0.0/32 onwards, `count` of them, packed into UPDATEs with `path`.
fn flood(from: u32, count: u32, path: &[u32]) -> Vec<Vec<u8>> {
    let routes: Vec<Ipv4Nlri> = (from..from + count)
        .map(|i| Ipv4Nlri {
            path_id: None,
            prefix: Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap(),
        })
        .collect();
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(path.to_vec())),
        ..PathAttributes::default()
    };
    pack::announce(
        &attrs,
        NextHop::Ipv4(Ipv4Addr::new(192, 169, 10, 2)),
        &NlriList::Ipv4Unicast(routes),
        &Context::default(),
    )
    .unwrap()
}

fn summary_destinations(r: &Perouterd) -> u64 {
    let s = r.json(&["show", "bgp", "summary"]);
    s["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["family"] == "ipv4-unicast")
        .and_then(|t| t["destinations"].as_u64())
        .unwrap_or(0)
}

#[test]
fn a_frozen_peer_holds_one_queue_entry_per_destination_and_gets_everything_later() {
    let lab::Topo {
        tor: tor_ns,
        router,
        host,
    } = lab::topo();
    // Small TCP buffers toward the ToR (per namespace), so that what the kernel can absorb
    // is far below the table: the backlog must live in perouterd.
    for ns in [&tor_ns, &router] {
        ns.exec(&["sysctl", "-qw", "net.ipv4.tcp_rmem=4096 16384 16384"]);
        ns.exec(&["sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 16384"]);
    }
    let tor = Frr::start(
        &tor_ns,
        "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n\
         neighbor 192.168.11.3 remote-as 64514\n neighbor 192.168.11.3 timers 60 180\n\
         address-family ipv4 unicast\n  neighbor 192.168.11.3 activate\n exit-address-family\n",
    );
    let r = Perouterd::start(
        &router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  asn: 64512\n  holdTimeSeconds: 180\n  keepaliveTimeSeconds: 60\n\
         - address: 192.169.10.2\n  asn: 64515\n  passive: true\n",
    );
    r.wait_established("192.168.11.2", 30);
    tor.wait_established("192.168.11.3", 10);
    // Freeze the ToR: its socket stops draining.
    tor.proc.signal("STOP");

    let (step_tx, step_rx) = std::sync::mpsc::channel::<&'static str>();
    let speaker = speaker_in(&host.name, Speaker::host(), move |cmd, mut ev| async move {
        next(&mut ev, |e| {
            matches!(e, SessionEvent::Established(_)).then_some(())
        })
        .await;
        // The whole table, then the same table again with another AS path: every destination
        // changes twice while the ToR cannot take anything.
        for path in [vec![64515], vec![64515, 64515]] {
            for msg in flood(0, ROUTES, &path) {
                cmd.send(SessionCommand::SendEncoded(vec![msg]))
                    .await
                    .unwrap();
            }
        }
        assert_eq!(step(&step_rx).await, "done");
        drop(cmd);
    });

    wait_for(120, "perouterd to hold the whole table", || {
        (summary_destinations(&r) == u64::from(ROUTES)).then_some(())
    });
    // Let the last changes settle, then look at the ToR's queue while it is frozen.
    std::thread::sleep(Duration::from_secs(2));
    let n = r.neighbor("192.168.11.2");
    let queued = n["out_queue"].as_u64().unwrap();
    let advertised = n["summary"]["advertised"].as_u64().unwrap();
    eprintln!("frozen ToR: {queued} destinations queued, {advertised} advertised");
    assert!(queued > 0, "the frozen ToR must have a backlog: {n}");
    assert!(
        queued <= u64::from(ROUTES),
        "at most one queue entry per destination, got {queued}"
    );
    assert!(advertised < u64::from(ROUTES), "{n}");
    // perouterd answers while the ToR is stuck.
    assert_eq!(
        r.neighbor("192.169.10.2")["summary"]["state"],
        "Established"
    );

    // Thaw the ToR: it receives the whole table, with the final AS path.
    tor.proc.signal("CONT");
    wait_for(180, "the ToR to receive every route", || {
        let v = tor.json("show bgp neighbors 192.168.11.3 json");
        let n = v["192.168.11.3"]["addressFamilyInfo"]["ipv4Unicast"]["acceptedPrefixCounter"]
            .as_u64()
            .unwrap_or(0);
        (n == u64::from(ROUTES)).then_some(())
    });
    let one = tor.json("show bgp ipv4 unicast 10.0.0.7/32 json");
    assert_eq!(
        one["paths"][0]["aspath"]["string"], "64514 64515 64515",
        "{one}"
    );
    let n = r.neighbor("192.168.11.2");
    assert_eq!(n["out_queue"], 0, "{n}");
    assert_eq!(n["summary"]["advertised"], u64::from(ROUTES));
    step_tx.send("done").unwrap();
    speaker.join().unwrap();
}
