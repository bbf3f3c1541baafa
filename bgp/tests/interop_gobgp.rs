//! Interop with GoBGP 3.10 over loopback: gobgpd (AS 65003, passive, on 127.0.0.3 and a free
//! port) and our session establish with IPv4 unicast and L2VPN EVPN; routes GoBGP originates
//! (IPv4, EVPN type-5 with RT, encapsulation, Router's MAC) decode as GoBGP's CLI describes
//! them, and GoBGP accepts the EVPN routes we send.
//!
//! Needs GoBGP (`apt-get install --no-install-recommends gobgpd`; `.ci/run` installs it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bgp::session::{SessionCommand, SessionEvent};
use bgp::wire::evpn::IpPrefixRoute;
use bgp::wire::nlri::{EvpnNlri, MpReach, NextHop, NlriList};
use bgp::wire::{
    AdminValue, AsPath, Esi, EvpnRoute, ExtCommunity, Family, Label24, Mac, Message, Origin,
    PathAttributes, RouteDistinguisher, Update,
};
use common::{connect_to, free_port, next_matching, Ours};

struct GoBgp {
    child: Child,
    dir: PathBuf,
    api: u16,
}

impl Drop for GoBgp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl GoBgp {
    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("gobgp")
            .args(["-u", "127.0.0.1", "-p", &self.api.to_string()])
            .args(args)
            .output()
            .expect("run the gobgp CLI");
        assert!(
            out.status.success(),
            "gobgp {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn start_gobgp(port: u16) -> GoBgp {
    let found = Command::new("gobgpd")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "gobgpd not found: install it with `apt-get install --no-install-recommends gobgpd`"
    );
    let api = free_port(Ipv4Addr::LOCALHOST);
    let dir = std::env::temp_dir().join(format!("perouterd-gobgp-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("gobgpd.toml");
    std::fs::write(
        &conf,
        format!(
            "[global.config]\n  as = 65003\n  router-id = \"10.0.0.3\"\n  port = {port}\n  local-address-list = [\"127.0.0.3\"]\n\
             [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"127.0.0.1\"\n    peer-as = 65001\n\
             \x20 [neighbors.transport.config]\n    passive-mode = true\n\
             \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n\
             \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"l2vpn-evpn\"\n"
        ),
    )
    .unwrap();
    let child = Command::new("gobgpd")
        .arg("-f")
        .arg(&conf)
        .args(["-p", "--pprof-disable", "--api-hosts"])
        .arg(format!("127.0.0.1:{api}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gobgpd");
    let g = GoBgp { child, dir, api };
    for _ in 0..50 {
        if std::net::TcpStream::connect((Ipv4Addr::new(127, 0, 0, 3), port)).is_ok()
            && std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, api)).is_ok()
        {
            return g;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("gobgpd did not start listening on 127.0.0.3:{port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_with_gobgp_and_exchanges_evpn() {
    let port = free_port(Ipv4Addr::new(127, 0, 0, 3));
    let g = start_gobgp(port);

    let Ours { cmd, mut ev } = connect_to(SocketAddr::from(([127, 0, 0, 3], port)), 65003);
    let SessionEvent::Established(n) =
        next_matching(&mut ev, |e| matches!(e, SessionEvent::Established(_))).await
    else {
        unreachable!()
    };
    assert!(n.families.contains(Family::L2vpnEvpn));

    // GoBGP originates a type-5 the way OpenPERouter-style fabrics need it.
    g.cli(&[
        "global",
        "rib",
        "-a",
        "evpn",
        "add",
        "prefix",
        "10.99.0.0/24",
        "etag",
        "0",
        "rd",
        "10.0.0.3:5",
        "rt",
        "65003:5000",
        "encap",
        "vxlan",
        "router-mac",
        "02:00:00:00:03:03",
        "label",
        "5000",
        "nexthop",
        "192.0.2.3",
    ]);
    let got = next_matching(&mut ev, |e| match e {
        SessionEvent::Message(r) => {
            matches!(&r.message, Message::Update(u) if u.attributes.mp_reach.is_some())
        }
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
    let reach = u.attributes.mp_reach.as_ref().unwrap();
    assert_eq!(reach.next_hop, NextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 3)));
    let NlriList::L2vpnEvpn(routes) = &reach.nlri else {
        panic!("{reach:?}")
    };
    let [EvpnNlri {
        route: EvpnRoute::IpPrefix(p),
        ..
    }] = routes.as_slice()
    else {
        panic!("{routes:?}")
    };
    assert_eq!(p.rd.to_string(), "10.0.0.3:5");
    assert_eq!(p.prefix.to_string(), "10.99.0.0/24");
    assert_eq!(
        p.label.vni().get(),
        5000,
        "GoBGP encodes the VNI as the raw 24-bit label"
    );
    let ecs = &u.attributes.ext_communities;
    assert!(
        ecs.contains(&ExtCommunity::route_target_as2(65003, 5000)),
        "{ecs:?}"
    );
    assert!(ecs.contains(&ExtCommunity::VXLAN), "{ecs:?}");
    assert!(
        ecs.contains(&ExtCommunity::RouterMac(Mac([2, 0, 0, 0, 3, 3]))),
        "{ecs:?}"
    );

    // Our type-5 reaches GoBGP intact.
    let prefix = "10.10.10.0/24".parse().unwrap();
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001])),
            ext_communities: vec![
                ExtCommunity::route_target_as2(65001, 5000),
                ExtCommunity::VXLAN,
                ExtCommunity::RouterMac(Mac([0x02, 0, 0, 0, 0x01, 0x01])),
            ],
            mp_reach: Some(MpReach {
                next_hop: NextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1)),
                nlri: NlriList::L2vpnEvpn(vec![EvpnNlri {
                    path_id: None,
                    route: EvpnRoute::IpPrefix(IpPrefixRoute {
                        rd: RouteDistinguisher::new(AdminValue::Ipv4 {
                            addr: Ipv4Addr::new(10, 0, 0, 1),
                            value: 5,
                        }),
                        esi: Esi::ZERO,
                        eth_tag: 0,
                        prefix,
                        gateway: IpPrefixRoute::no_gateway(prefix),
                        label: Label24::new(5000),
                    }),
                }]),
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    cmd.send(SessionCommand::Send(Box::new(Message::Update(update))))
        .await
        .unwrap();
    let mut rib = String::new();
    for _ in 0..50 {
        rib = g.cli(&["neighbor", "127.0.0.1", "adj-in", "-a", "evpn"]);
        if rib.contains("10.10.10.0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        rib.contains("[type:Prefix][rd:10.0.0.1:5][etag:0][prefix:10.10.10.0/24]"),
        "GoBGP adj-in: {rib}"
    );
    assert!(rib.contains("[5000]"), "label column: {rib}");
    assert!(
        rib.contains("[65001:5000], [VXLAN], [router's mac: 02:00:00:00:01:01]"),
        "communities: {rib}"
    );
    assert!(rib.contains("[ESI: single-homed] [GW: 0.0.0.0]"), "{rib}");

    cmd.send(SessionCommand::Stop).await.unwrap();
    next_matching(&mut ev, |e| {
        matches!(e, SessionEvent::State(bgp::fsm::State::Idle))
    })
    .await;
}
