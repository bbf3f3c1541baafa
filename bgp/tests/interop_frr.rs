//! Interop with FRR 8.4's bgpd over loopback: our session (AS 65001) and bgpd (AS 65002,
//! passive, listening on 127.0.0.2 on a free port, no zebra) establish with IPv4 unicast and
//! L2VPN EVPN, exchange IPv4 routes both ways, FRR accepts our EVPN type-5/2/3 routes with the
//! VNIs, RTs, Router's MAC and PMSI we encode, and the session ends with a Cease.
//!
//! Needs FRR (`apt-get install --no-install-recommends frr`; `.ci/run` installs it) and root
//! (bgpd -S). Without them the test fails and says what is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bgp::fsm::State;
use bgp::session::{SessionCommand, SessionEvent};
use bgp::wire::nlri::Ipv4Nlri;
use bgp::wire::{AsPath, Family, Message, Origin, PathAttributes, Update};
use common::{connect_to, free_port, next_matching, Ours};
use tokio::sync::mpsc;

const BGPD: &str = "/usr/lib/frr/bgpd";

/// bgpd, killed when dropped.
struct Frr {
    child: Child,
    dir: PathBuf,
}

impl Drop for Frr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Frr {
    fn vtysh(&self, cmd: &str) -> String {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .arg("-c")
            .arg(cmd)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn start_frr(port: u16) -> Frr {
    assert!(
        Path::new(BGPD).exists(),
        "FRR's bgpd not found at {BGPD}: install it with `apt-get install --no-install-recommends frr`"
    );
    let dir = std::env::temp_dir().join(format!("perouterd-frr-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // vtysh and bgpd meet on a socket in this directory.
    Command::new("chmod").arg("777").arg(&dir).status().unwrap();
    let conf = dir.join("bgpd.conf");
    std::fs::write(
        &conf,
        format!(
            "frr defaults datacenter\nhostname frr-interop\nlog file {}/bgpd.log\n!\n\
             router bgp 65002\n bgp router-id 10.0.0.2\n no bgp ebgp-requires-policy\n no bgp network import-check\n\
             neighbor 127.0.0.1 remote-as 65001\n neighbor 127.0.0.1 passive\n neighbor 127.0.0.1 timers 3 9\n !\n\
             address-family ipv4 unicast\n  network 203.0.113.0/24\n  neighbor 127.0.0.1 route-map NH out\n exit-address-family\n!\n\
             address-family l2vpn evpn\n  neighbor 127.0.0.1 activate\n exit-address-family\n!\n\
             route-map NH permit 10\n set ip next-hop 192.0.2.1\n!\n",
            dir.display()
        ),
    )
    .unwrap();
    let child = Command::new(BGPD)
        .args([
            "-S",
            "-Z",
            "-p",
            &port.to_string(),
            "-l",
            "127.0.0.2",
            "--vty_socket",
        ])
        .arg(&dir)
        .arg("-i")
        .arg(dir.join("bgpd.pid"))
        .arg("-f")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bgpd (needs root for -S)");
    let frr = Frr { child, dir };
    // Wait until it listens.
    for _ in 0..50 {
        if std::net::TcpStream::connect((Ipv4Addr::new(127, 0, 0, 2), port)).is_ok() {
            return frr;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("bgpd did not start listening on 127.0.0.2:{port} (run the tests as root)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_with_frr_and_exchanges_ipv4_routes() {
    let port = free_port(Ipv4Addr::new(127, 0, 0, 2));
    let frr = start_frr(port);

    let Ours { cmd, mut ev } = connect_to(SocketAddr::from(([127, 0, 0, 2], port)), 65002);

    let SessionEvent::Established(n) =
        next_matching(&mut ev, |e| matches!(e, SessionEvent::Established(_))).await
    else {
        unreachable!()
    };
    assert!(n.families.contains(Family::Ipv4Unicast) && n.families.contains(Family::L2vpnEvpn));
    assert!(n.contexts.rx.four_octet_as, "FRR advertises 4-octet AS");
    assert_eq!(
        n.peer_hostname.as_deref(),
        Some("frr-interop"),
        "FRR's hostname capability"
    );

    // FRR's network statement reaches us, from AS 65002.
    let got = next_matching(&mut ev, |e| match e {
        SessionEvent::Message(r) => matches!(&r.message, Message::Update(u) if !u.nlri.is_empty()),
        _ => false,
    })
    .await;
    let SessionEvent::Message(r) = got else {
        unreachable!()
    };
    let Message::Update(u) = &r.message else {
        unreachable!()
    };
    assert!(r.verdict.is_clean(), "{:?}", r.verdict);
    assert_eq!(
        u.nlri
            .iter()
            .map(|n| n.prefix.to_string())
            .collect::<Vec<_>>(),
        vec!["203.0.113.0/24"]
    );
    assert_eq!(
        u.attributes.as_path.as_ref().and_then(AsPath::first_as),
        Some(65002)
    );

    // FRR's next hop would be its loopback address, which a receiver rightly refuses (RFC 7606
    // §7.3): its export route-map sets a documentation address instead (a value on the wire;
    // nothing is sent there).
    assert_eq!(u.attributes.next_hop, Some(Ipv4Addr::new(192, 0, 2, 1)));

    // Our route reaches FRR.
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..Default::default()
        },
        nlri: vec![Ipv4Nlri {
            path_id: None,
            prefix: "198.51.100.0/24".parse().unwrap(),
        }],
        ..Default::default()
    };
    cmd.send(SessionCommand::Send(Box::new(Message::Update(update))))
        .await
        .unwrap();
    let mut learned = String::new();
    for _ in 0..50 {
        learned = frr.vtysh("show bgp ipv4 unicast 198.51.100.0/24 json");
        if learned.contains("\"paths\"") && learned.contains("65001") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        learned.contains("65001"),
        "FRR did not learn our route: {learned}"
    );

    // EVPN type-5, type-2 (MAC+IP, two labels) and type-3 (with PMSI) as perouterd will
    // originate them: FRR must accept and show all three with our RD, VNIs and Router's MAC.
    send_evpn(&cmd).await;
    let mut evpn = String::new();
    for _ in 0..50 {
        evpn = frr.vtysh("show bgp l2vpn evpn json");
        if evpn.contains("10.10.10.0")
            && evpn.contains("02:00:00:00:aa:01")
            && evpn.contains("[3]:")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        evpn.contains("\"rd\":\"10.0.0.1:5\"") || evpn.contains("10.0.0.1:5"),
        "RD: {evpn}"
    );
    assert!(evpn.contains("10.10.10.0"), "type-5 prefix: {evpn}");
    assert!(evpn.contains("02:00:00:00:aa:01"), "type-2 MAC: {evpn}");
    let detail = frr.vtysh("show bgp l2vpn evpn route detail");
    assert!(
        detail.contains("RT:65001:5000") && detail.contains("ET:8"),
        "communities: {detail}"
    );
    assert!(
        detail.contains("Rmac:02:00:00:00:01:01"),
        "router MAC: {detail}"
    );
    // FRR reads the label fields as raw 24-bit VNIs, as we encode them.
    assert!(
        detail.contains("[24]:[10.10.10.0] VNI 5000"),
        "type-5 VNI: {detail}"
    );
    assert!(
        detail.contains("[32]:[10.20.0.11] VNI 10100/5000"),
        "type-2 L2/L3 VNIs: {detail}"
    );
    assert!(
        detail.contains("PMSI Tunnel Type: Ingress Replication, label: 10100"),
        "type-3 PMSI: {detail}"
    );

    // Keepalives keep the session up past FRR's 9 s hold time... checked briefly: 4 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(frr
        .vtysh("show bgp summary json")
        .contains("\"state\":\"Established\""));

    cmd.send(SessionCommand::Stop).await.unwrap();
    next_matching(&mut ev, |e| matches!(e, SessionEvent::State(State::Idle))).await;
    let mut summary = String::new();
    for _ in 0..25 {
        summary = frr.vtysh("show bgp neighbors 127.0.0.1 json");
        if summary.contains("Administrative Shutdown") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        summary.contains("Administrative Shutdown"),
        "FRR's view of our Cease: {summary}"
    );
}

async fn send_evpn(cmd: &mpsc::Sender<SessionCommand>) {
    use bgp::wire::evpn::{InclusiveMulticast, IpPrefixRoute, MacIpAdvertisement};
    use bgp::wire::nlri::{EvpnNlri, MpReach, NextHop, NlriList};
    use bgp::wire::{
        AdminValue, Esi, EvpnRoute, ExtCommunity, Label24, Mac, PmsiTunnel, RouteDistinguisher,
    };
    use std::net::IpAddr;

    let vtep = Ipv4Addr::new(192, 0, 2, 1);
    let rd5 = RouteDistinguisher::new(AdminValue::Ipv4 {
        addr: Ipv4Addr::new(10, 0, 0, 1),
        value: 5,
    });
    let rd2 = RouteDistinguisher::new(AdminValue::Ipv4 {
        addr: Ipv4Addr::new(10, 0, 0, 1),
        value: 100,
    });
    let base = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(vec![65001])),
        ..Default::default()
    };
    let rmac = ExtCommunity::RouterMac(Mac([0x02, 0, 0, 0, 0x01, 0x01]));
    let prefix = "10.10.10.0/24".parse().unwrap();
    let routes = [
        (
            EvpnRoute::IpPrefix(IpPrefixRoute {
                rd: rd5,
                esi: Esi::ZERO,
                eth_tag: 0,
                prefix,
                gateway: IpPrefixRoute::no_gateway(prefix),
                label: Label24::new(5000),
            }),
            vec![
                ExtCommunity::route_target_as2(65001, 5000),
                ExtCommunity::VXLAN,
                rmac,
            ],
            None,
        ),
        (
            EvpnRoute::MacIp(MacIpAdvertisement {
                rd: rd2,
                esi: Esi::ZERO,
                eth_tag: 0,
                mac: Mac([0x02, 0, 0, 0, 0xaa, 0x01]),
                ip: Some(IpAddr::V4(Ipv4Addr::new(10, 20, 0, 11))),
                label1: Label24::new(10100),
                label2: Some(Label24::new(5000)),
            }),
            vec![
                ExtCommunity::route_target_as2(65001, 10100),
                ExtCommunity::route_target_as2(65001, 5000),
                ExtCommunity::VXLAN,
                rmac,
            ],
            None,
        ),
        (
            EvpnRoute::InclusiveMulticast(InclusiveMulticast {
                rd: rd2,
                eth_tag: 0,
                originator: IpAddr::V4(vtep),
            }),
            vec![
                ExtCommunity::route_target_as2(65001, 10100),
                ExtCommunity::VXLAN,
            ],
            Some(PmsiTunnel::ingress_replication(
                Label24::new(10100),
                IpAddr::V4(vtep),
            )),
        ),
    ];
    for (route, ecs, pmsi) in routes {
        let update = Update {
            attributes: PathAttributes {
                ext_communities: ecs,
                pmsi_tunnel: pmsi,
                mp_reach: Some(MpReach {
                    next_hop: NextHop::Ipv4(vtep),
                    nlri: NlriList::L2vpnEvpn(vec![EvpnNlri {
                        path_id: None,
                        route,
                    }]),
                }),
                ..base.clone()
            },
            ..Default::default()
        };
        cmd.send(SessionCommand::Send(Box::new(Message::Update(update))))
            .await
            .unwrap();
    }
}
