//! RFC 7606 end to end: a scripted BGP speaker (our own session library, run inside the host
//! namespace) sends perouterd well-formed and malformed UPDATEs; the FRR ToR behind perouterd
//! shows the effect of each action, and perouterd counts it.
//!
//! * treat-as-withdraw (ORIGIN with an undefined value): the route is withdrawn at the ToR,
//!   the session stays up;
//! * attribute discard (ATOMIC_AGGREGATE with a length of 1): the route is accepted without
//!   the attribute;
//! * session reset (an NLRI prefix length of 33): perouterd sends an UPDATE Message Error
//!   NOTIFICATION, and the peer's routes are withdrawn at the ToR.
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
use bgp::wire::{AsPath, Context, Ipv4Nlri, Message, Origin, PathAttributes, Update};
use lab::{next, speaker_in, step, wait_for, Frr, Perouterd, Speaker};

fn update(prefix: &str, atomic: bool) -> Vec<u8> {
    let u = Update {
        withdrawn: vec![],
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![64515])),
            next_hop: Some(Ipv4Addr::new(192, 169, 10, 2)),
            atomic_aggregate: atomic,
            ..PathAttributes::default()
        },
        nlri: vec![Ipv4Nlri {
            path_id: None,
            prefix: prefix.parse().unwrap(),
        }],
    };
    Message::Update(u).to_bytes(&Context::default()).unwrap()
}

/// Replaces the first occurrence of `from` with `to` (same length) in an encoded message.
fn patch(mut msg: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = msg
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{from:02x?} not in {msg:02x?}"));
    msg[at..at + to.len()].copy_from_slice(to);
    msg
}

#[test]
fn rfc7606_actions_reach_the_fabric_as_they_should() {
    let lab::Topo {
        tor: tor_ns,
        router,
        host,
    } = lab::topo();
    let tor = Frr::start(
        &tor_ns,
        "router bgp 64512\n bgp router-id 10.0.0.100\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n\
         neighbor 192.168.11.3 remote-as 64514\n\
         address-family ipv4 unicast\n  neighbor 192.168.11.3 activate\n exit-address-family\n",
    );
    let r = Perouterd::start(
        &router,
        "routerID: 10.0.0.1\nasn: 64514\nneighbors:\n\
         - address: 192.168.11.2\n  asn: 64512\n\
         - address: 192.169.10.2\n  asn: 64515\n  passive: true\n",
    );
    r.wait_established("192.168.11.2", 30);
    let at_tor = |p: &str| tor.routes("ipv4 unicast").get(p).map(|_| ());

    let (step_tx, step_rx) = std::sync::mpsc::channel::<&'static str>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<String>();
    let speaker = speaker_in(&host.name, Speaker::host(), move |cmd, mut ev| async move {
        next(&mut ev, |e| {
            matches!(e, SessionEvent::Established(_)).then_some(())
        })
        .await;
        let send = |m: Vec<u8>| cmd.try_send(SessionCommand::SendEncoded(vec![m])).unwrap();
        // 1. Two good routes.
        send(update("10.100.0.1/32", false));
        send(update("10.100.0.2/32", false));
        done_tx.send("announced".into()).unwrap();
        // 2. ORIGIN 7 on 10.100.0.1/32: treat-as-withdraw.
        assert_eq!(step(&step_rx).await, "origin");
        send(patch(
            update("10.100.0.1/32", false),
            &[0x40, 1, 1, 0],
            &[0x40, 1, 1, 7],
        ));
        done_tx.send("sent".into()).unwrap();
        // 3. ATOMIC_AGGREGATE of length 1 on 10.100.0.3/32: the attribute is discarded.
        assert_eq!(step(&step_rx).await, "atomic");
        let good = update("10.100.0.3/32", true);
        // ATOMIC_AGGREGATE is 40 06 00: make it 40 06 01 00, and fix the lengths.
        let at = good.windows(3).position(|w| w == [0x40, 6, 0]).unwrap();
        let mut bad = good.clone();
        bad[at + 2] = 1;
        bad.insert(at + 3, 0);
        // Fix the message length and the total path attribute length.
        let len = u16::try_from(bad.len()).unwrap();
        bad[16..18].copy_from_slice(&len.to_be_bytes());
        let withdrawn_len = usize::from(u16::from_be_bytes([bad[19], bad[20]]));
        let attr_len_at = 21 + withdrawn_len;
        let attr_len = u16::from_be_bytes([bad[attr_len_at], bad[attr_len_at + 1]]) + 1;
        bad[attr_len_at..attr_len_at + 2].copy_from_slice(&attr_len.to_be_bytes());
        send(bad);
        done_tx.send("sent".into()).unwrap();
        // 4. An NLRI prefix length of 33: session reset.
        assert_eq!(step(&step_rx).await, "reset");
        let bad = patch(
            update("10.100.0.4/32", false),
            &[32, 10, 100, 0, 4],
            &[33, 10, 100, 0, 4],
        );
        send(bad);
        let reason = next(&mut ev, |e| match e {
            SessionEvent::Down(r) => Some(format!("{r:?}")),
            _ => None,
        })
        .await;
        done_tx.send(reason).unwrap();
        drop(cmd);
    });

    assert_eq!(
        done_rx.recv_timeout(Duration::from_secs(40)).unwrap(),
        "announced"
    );
    wait_for(20, "both routes at the ToR", || {
        at_tor("10.100.0.1/32").and(at_tor("10.100.0.2/32"))
    });

    step_tx.send("origin").unwrap();
    done_rx.recv().unwrap();
    wait_for(
        20,
        "10.100.0.1/32 withdrawn at the ToR (treat-as-withdraw)",
        || at_tor("10.100.0.1/32").is_none().then_some(()),
    );
    assert!(at_tor("10.100.0.2/32").is_some());
    let n = r.neighbor("192.169.10.2");
    assert_eq!(n["rfc7606"]["treat_as_withdraw"], 1, "{n}");
    assert_eq!(n["summary"]["state"], "Established");
    assert!(
        r.log().contains("RFC 7606"),
        "the malformed UPDATE is logged"
    );

    step_tx.send("atomic").unwrap();
    done_rx.recv().unwrap();
    let routes = wait_for(20, "10.100.0.3/32 at the ToR (attribute discarded)", || {
        let v = tor.routes("ipv4 unicast");
        v.get("10.100.0.3/32").is_some().then_some(v)
    });
    assert!(
        routes["10.100.0.3/32"][0]["atomic"].is_null(),
        "{}",
        routes["10.100.0.3/32"]
    );
    assert_eq!(
        r.neighbor("192.169.10.2")["rfc7606"]["attribute_discard"],
        1
    );

    step_tx.send("reset").unwrap();
    let reason = done_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(
        reason.contains("Received") && reason.contains("code: 3"),
        "{reason}"
    );
    wait_for(20, "the reset peer's routes withdrawn at the ToR", || {
        at_tor("10.100.0.2/32").is_none().then_some(())
    });
    let n = r.neighbor("192.169.10.2");
    assert_eq!(n["rfc7606"]["session_reset"], 1, "{n}");
    speaker.join().unwrap();
    drop(tor);
}
