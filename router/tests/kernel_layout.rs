//! perouterd programs its own kernel layout (`--host-netns`): the passthrough veth and an L2VNI
//! (bridge, VXLAN, veth, managed host bridge), the VTEP on `lo` and the namespace sysctls, in
//! two network namespaces; a GoBGP host speaker then peers over the veth perouterd made. A
//! restart adopts everything (same ifindexes, nothing written); a reload that drops the L2VNI
//! removes exactly its objects, on both sides.
//!
//! (L3VNIs need VRFs, which this kernel lacks: `vm/tests/layouts.sh` covers them in the VM.)
//! Needs root, iproute2 and GoBGP (`apt-get install --no-install-recommends gobgpd`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lab;

use std::collections::BTreeMap;

use lab::{sh, wait_for, Gobgp, Netns, Perouterd};
use serde_json::Value;

const WITH_L2VNI: &str = "\
routerID: 10.0.0.1
asn: 64514
tunnelEndpoint: { cidrs: [100.65.0.0/24] }
passthrough:
  hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.11.0/24 } }
l2vnis:
  - { vni: 120, hostMaster: { type: LinuxBridge, linuxBridge: { lifecycle: Managed } } }
";

const WITHOUT_L2VNI: &str = "\
routerID: 10.0.0.1
asn: 64514
tunnelEndpoint: { cidrs: [100.65.0.0/24] }
passthrough:
  hostSession: { asn: 64514, hostASN: 64515, localCIDR: { ipv4: 192.169.11.0/24 } }
";

fn links(ns: &Netns) -> BTreeMap<String, Value> {
    let text = sh(&["ip", "-n", &ns.name, "-d", "-j", "link", "show"]);
    serde_json::from_str::<Vec<Value>>(&text)
        .unwrap()
        .into_iter()
        .map(|l| (l["ifname"].as_str().unwrap().to_owned(), l))
        .collect()
}

fn has_addr(ns: &Netns, dev: &str, local: &str) -> bool {
    let text = sh(&["ip", "-n", &ns.name, "-j", "addr", "show", "dev", dev]);
    serde_json::from_str::<Vec<Value>>(&text)
        .unwrap()
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .any(|a| a["local"] == local)
}

fn indexes(ns: &Netns) -> BTreeMap<String, u64> {
    links(ns)
        .into_iter()
        .map(|(n, l)| (n, l["ifindex"].as_u64().unwrap()))
        .collect()
}

#[test]
fn perouterd_programs_its_layout_adopts_it_after_a_restart_and_removes_a_dropped_vni() {
    let router = Netns::new("kr");
    let host = Netns::new("kh");
    let host_path = format!("/run/netns/{}", host.name);
    let mut r = Perouterd::start_with_args(&router, WITH_L2VNI, &["--host-netns", &host_path]);

    // The layout appears on both sides.
    wait_for(20, "perouterd's layout", || {
        let (rl, hl) = (links(&router), links(&host));
        (rl.contains_key("vni120") && hl.contains_key("host-e-120") && hl.contains_key("pt-host"))
            .then_some(())
    });
    wait_for(10, "the host-side addresses", || {
        has_addr(&host, "pt-host", "192.169.11.2").then_some(())
    });
    let rl = links(&router);
    let hl = links(&host);
    assert!(has_addr(&router, "lo", "100.65.0.0"), "VTEP on lo");
    assert!(has_addr(&router, "pt-ns", "192.169.11.1"));
    let vx = &rl["vni120"]["linkinfo"];
    assert_eq!(vx["info_data"]["id"], 120, "{vx}");
    assert_eq!(vx["info_data"]["local"], "100.65.0.0", "{vx}");
    assert_eq!(vx["info_data"]["learning"], false, "{vx}");
    assert_eq!(vx["info_slave_data"]["neigh_suppress"], true, "{vx}");
    assert_eq!(rl["vni120"]["inet6_addr_gen_mode"], "none");
    assert_eq!(rl["vni120"]["master"], "br-pe-120");
    assert_eq!(rl["pe-e-120"]["master"], "br-pe-120");
    assert_eq!(hl["host-e-120"]["master"], "br-hs-120");
    assert_eq!(
        rl["br-pe-120"]["group"], "4243",
        "ours: {}",
        rl["br-pe-120"]
    );
    let forwarding = sh(&[
        "ip",
        "netns",
        "exec",
        &router.name,
        "sysctl",
        "-n",
        "net.ipv4.conf.all.forwarding",
    ]);
    assert_eq!(forwarding.trim(), "1");

    // The host speaker peers over the veth perouterd created.
    let gobgp = Gobgp::start(
        &host,
        "[global.config]\n  as = 64515\n  router-id = \"10.0.0.200\"\n  port = -1\n\
         [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"192.169.11.1\"\n    peer-as = 64514\n\
         [neighbors.transport.config]\n    local-address = \"192.169.11.2\"\n\
         [neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n    connect-retry = 1\n\
         [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = \"ipv4-unicast\"\n",
    );
    r.wait_established("192.169.11.2", 30);
    gobgp.wait_established("192.169.11.1", 10);

    // A restart adopts everything: nothing recreated, nothing written.
    let (before_r, before_h) = (indexes(&router), indexes(&host));
    r.stop();
    r.start_again();
    wait_for(20, "the restarted daemon to check its layout", || {
        r.log()
            .contains("kernel layout already in place")
            .then_some(())
    });
    assert_eq!(indexes(&router), before_r, "router-side links recreated");
    assert_eq!(indexes(&host), before_h, "host-side links recreated");

    // Dropping the L2VNI removes exactly its objects, on both sides.
    r.write_config(WITHOUT_L2VNI);
    r.ctl(&["reload"]);
    wait_for(20, "the L2VNI to be removed", || {
        let (rl, hl) = (links(&router), links(&host));
        (!rl.contains_key("vni120")
            && !rl.contains_key("br-pe-120")
            && !hl.contains_key("br-hs-120"))
        .then_some(())
    });
    let (rl, hl) = (links(&router), links(&host));
    assert!(!rl.contains_key("pe-e-120") && !hl.contains_key("host-e-120"));
    assert!(
        rl.contains_key("pt-ns") && hl.contains_key("pt-host"),
        "passthrough kept"
    );
    assert_eq!(
        rl["pt-ns"]["ifindex"].as_u64(),
        before_r.get("pt-ns").copied(),
        "the passthrough veth was not touched"
    );
    // After the restart's Cease, GoBGP holds its side idle for a while before it accepts
    // perouterd's connections again (its idle hold time after a reset).
    r.wait_established("192.169.11.2", 90);
}
