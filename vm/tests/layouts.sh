#!/usr/bin/env bash
# Runs INSIDE the VM (vm/run.sh vm/tests/layouts.sh [APPLY_LAYOUT_BINARY]): applies the sample
# OpenPERouter node layout of dataplane/examples/apply_layout.rs with NetlinkDataplane into a
# fresh router netns `perouter` (host legs in a fresh netns `host`), twice, then checks every
# object against the reference (/work/shared/reference/openperouter.md §2.2, §2.5) from
# `ip -d -j` output, and that the second apply wrote nothing. A foreign VRF holding table 2
# checks the lowest-free table allocation; at the end pe-e-100 is released from its VRF by
# hand and one apply must put it back with its IPv6 address (which the kernel dropped).
# The binary (default target/debug/examples/apply_layout) must be built on the host first:
#   cargo build -p dataplane --example apply_layout
# Prints "LAYOUTS OK" as its last line on success; exits non-zero on any mismatch.
set -euo pipefail

bin=${1:-target/debug/examples/apply_layout}
fail() { echo "LAYOUTS FAIL: $*" >&2; exit 1; }
[ -d /run/vm ] && [ -f /run/vm/guest.sh ] || fail "not inside vm/run.sh's VM; run: vm/run.sh $0"
command -v jq >/dev/null || fail "jq not found (install it on the host: apt-get install jq)"
[ -x "$bin" ] || fail "$bin not found: cargo build -p dataplane --example apply_layout"

# Few process starts (each costs ~0.5-1 s under TCG).
ip -batch - <<EOF
netns add perouter
netns add host
EOF
# A VRF that is not ours holds table 2: allocation must go around it (red 1, green 3, blue 4).
ip -n perouter link add other type vrf table 2

out=$("$bin" perouter host) || { echo "$out"; fail "apply_layout failed"; }
echo "$out"
grep -qx 'TABLES red=1 green=3 blue=4' <<<"$out" || fail "VRF tables not allocated lowest-free around the foreign table 2"
echo "ok: VRF tables allocated lowest-free (red=1 green=3 blue=4; a foreign VRF holds 2)"

rlinks=$(ip -n perouter -d -j link show)
raddrs=$(ip -n perouter -j addr show)
rroutes4=$(ip -n perouter -d -j -4 route show table all)
rroutes6=$(ip -n perouter -d -j -6 route show table all)
# One process for every sysctl (process starts are slow under TCG); `read` is a builtin.
sysctls=$(ip netns exec perouter sh -c 'for k in net/ipv4/conf/all/forwarding \
    net/ipv6/conf/all/forwarding net/ipv4/conf/all/arp_accept net/ipv4/conf/default/arp_accept \
    net/ipv6/conf/all/accept_untracked_na net/ipv6/conf/default/accept_untracked_na \
    net/ipv6/seg6_flowlabel net/ipv6/conf/all/seg6_enabled net/vrf/strict_mode \
    net/ipv4/conf/blue/rp_filter; do read -r v < /proc/sys/$k; printf "%s=%s\n" "$k" "$v"; done' \
    | jq -R -s 'split("\n") | map(select(. != "") | split("=") | {(.[0]): .[1]}) | add')
hlinks=$(ip -n host -d -j link show)
haddrs=$(ip -n host -j addr show)

# Each check is [description, result]; a result must be exactly `true`.
results=$(jq -n -r --arg out "$out" \
    --argjson rlinks "$rlinks" --argjson raddrs "$raddrs" --argjson rroutes4 "$rroutes4" \
    --argjson rroutes6 "$rroutes6" --argjson hlinks "$hlinks" --argjson haddrs "$haddrs" \
    --argjson sysctls "$sysctls" '
  ($rlinks | map({(.ifname): .}) | add) as $r
  | ($hlinks | map({(.ifname): .}) | add) as $h
  | def up($l): ($l.flags | index("UP")) != null;
    def owned($l): ($l.group | tostring) == "4243";
    def has_addr($addrs; $dev; $a; $p):
      ([$addrs[] | select(.ifname == $dev) | .addr_info[] | select(.local == $a and .prefixlen == $p)] | length) == 1;
    def vxlan_ok($l; $vni):
      $l.linkinfo.info_kind == "vxlan" and $l.linkinfo.info_data.id == $vni
      and $l.linkinfo.info_data.local == "100.65.0.0" and $l.linkinfo.info_data.port == 4789
      and $l.linkinfo.info_data.learning == false and $l.linkinfo.info_data.link == "lo";
    def table($routes; $t): $routes | map(select((.table // "main" | tostring) == $t));
    table($rroutes4; "1") as $t1
  | table($rroutes6; "1") as $t1v6
  | [
    ["second apply wrote nothing (SECOND_APPLY_WRITES=0)", ($out | test("(^|\n)SECOND_APPLY_WRITES=0($|\n)"))],
    ["first apply created links in both namespaces", ($out | test("pass 1 router: .*created: [1-9]")) and ($out | test("pass 1 host: .*created: [1-9]"))],
    ["VTEP 100.65.0.0/32 on lo", has_addr($raddrs; "lo"; "100.65.0.0"; 32)],
    ["lo is up", up($r.lo)],
    ["lo is not marked as ours (external)", (owned($r.lo) | not)],
    # Namespace sysctls (ref 2.5.1), SRv6 ones included
    ["forwarding=1 (IPv4 and IPv6)", $sysctls["net/ipv4/conf/all/forwarding"] == "1" and $sysctls["net/ipv6/conf/all/forwarding"] == "1"],
    ["arp_accept=1 (all, default)", $sysctls["net/ipv4/conf/all/arp_accept"] == "1" and $sysctls["net/ipv4/conf/default/arp_accept"] == "1"],
    ["accept_untracked_na=1 (all, default)", $sysctls["net/ipv6/conf/all/accept_untracked_na"] == "1" and $sysctls["net/ipv6/conf/default/accept_untracked_na"] == "1"],
    ["seg6_flowlabel=1, conf/all/seg6_enabled=1", $sysctls["net/ipv6/seg6_flowlabel"] == "1" and $sysctls["net/ipv6/conf/all/seg6_enabled"] == "1"],
    ["vrf strict_mode=1 and blue rp_filter=0 (L3VPN)", $sysctls["net/vrf/strict_mode"] == "1" and $sysctls["net/ipv4/conf/blue/rp_filter"] == "0"],
    # L3VNI red / 100
    ["red is a vrf with table 1, up, ours",
      $r.red.linkinfo.info_kind == "vrf" and $r.red.linkinfo.info_data.table == 1 and up($r.red) and owned($r.red)],
    ["br-pe-100 is a bridge in red, up", $r["br-pe-100"].linkinfo.info_kind == "bridge" and $r["br-pe-100"].master == "red" and up($r["br-pe-100"])],
    ["br-pe-100 and vni100 have addr_gen_mode none and no link-local address",
      $r["br-pe-100"].inet6_addr_gen_mode == "none" and $r.vni100.inet6_addr_gen_mode == "none"
      and ([$raddrs[] | select(.ifname == "br-pe-100" or .ifname == "vni100") | .addr_info[] | select(.scope == "link")] | length) == 0],
    ["vni100 bridge port: neigh_suppress on, learning left at the default (on)",
      $r.vni100.linkinfo.info_slave_data.neigh_suppress == true and $r.vni100.linkinfo.info_slave_data.learning == true],
    ["vni100: id 100, local 100.65.0.0, dev lo, dstport 4789, nolearning", vxlan_ok($r.vni100; 100)],
    ["vni100 is enslaved to br-pe-100, up", $r.vni100.master == "br-pe-100" and up($r.vni100)],
    ["pe-e-100 is a veth in red, MTU 1450, up",
      $r["pe-e-100"].linkinfo.info_kind == "veth" and $r["pe-e-100"].master == "red" and $r["pe-e-100"].mtu == 1450 and up($r["pe-e-100"])],
    ["pe-e-100 has 192.169.10.1/24", has_addr($raddrs; "pe-e-100"; "192.169.10.1"; 24)],
    ["pe-e-100 has 2001:db8:1::1/64", has_addr($raddrs; "pe-e-100"; "2001:db8:1::1"; 64)],
    ["host-e-100 (host netns) is a veth, MTU 1450, up, no master",
      $h["host-e-100"].linkinfo.info_kind == "veth" and $h["host-e-100"].mtu == 1450 and up($h["host-e-100"]) and ($h["host-e-100"].master == null)],
    ["host-e-100 has 192.169.10.2/24", has_addr($haddrs; "host-e-100"; "192.169.10.2"; 24)],
    ["host-e-100 has 2001:db8:1::2/64", has_addr($haddrs; "host-e-100"; "2001:db8:1::2"; 64)],
    ["table 1 has the connected 192.169.10.0/24 dev pe-e-100",
      ([$t1[] | select(.dst == "192.169.10.0/24" and .dev == "pe-e-100")] | length) == 1],
    ["table 1 has no default route (OpenPERouter installs no unreachable default, ref 2.5.8)",
      ([$t1[] | select(.dst == "default")] | length) == 0
      and ([$t1v6[] | select(.dst == "default")] | length) == 0],
    # L2VNI 110 in red
    ["br-pe-110 is a bridge in red, up", $r["br-pe-110"].linkinfo.info_kind == "bridge" and $r["br-pe-110"].master == "red" and up($r["br-pe-110"])],
    ["br-pe-110 has the anycast MAC 00:f3:00:00:00:6f", $r["br-pe-110"].address == "00:f3:00:00:00:6f"],
    ["br-pe-110 has the gateway 192.171.24.1/24", has_addr($raddrs; "br-pe-110"; "192.171.24.1"; 24)],
    ["table 1 has the connected 192.171.24.0/24 dev br-pe-110",
      ([$t1[] | select(.dst == "192.171.24.0/24" and .dev == "br-pe-110")] | length) == 1],
    ["vni110: id 110, local 100.65.0.0, dev lo, dstport 4789, nolearning", vxlan_ok($r.vni110; 110)],
    ["vni110 is enslaved to br-pe-110, up", $r.vni110.master == "br-pe-110" and up($r.vni110)],
    ["vni110: addr_gen_mode none, neigh_suppress on; br-pe-110 keeps eui64 (PR #351)",
      $r.vni110.inet6_addr_gen_mode == "none" and $r.vni110.linkinfo.info_slave_data.neigh_suppress == true
      and $r["br-pe-110"].inet6_addr_gen_mode != "none"],
    ["pe-e-110 is a veth in br-pe-110, MTU 1450, up, no IPs",
      $r["pe-e-110"].linkinfo.info_kind == "veth" and $r["pe-e-110"].master == "br-pe-110" and $r["pe-e-110"].mtu == 1450 and up($r["pe-e-110"])
      and ([$raddrs[] | select(.ifname == "pe-e-110") | .addr_info[] | select(.family == "inet")] | length) == 0],
    ["br-hs-110 (host netns) is a bridge, up", $h["br-hs-110"].linkinfo.info_kind == "bridge" and up($h["br-hs-110"])],
    ["host-e-110 is in br-hs-110, MTU 1450, up",
      $h["host-e-110"].master == "br-hs-110" and $h["host-e-110"].mtu == 1450 and up($h["host-e-110"])],
    # L3VNI green / 200 over the IPv6 VTEP, with the opt-in unreachable default
    ["IPv6 VTEP fd00:65::/128 on lo", has_addr($raddrs; "lo"; "fd00:65::"; 128)],
    ["green is a vrf with table 3", $r.green.linkinfo.info_kind == "vrf" and $r.green.linkinfo.info_data.table == 3],
    ["vni200: id 200, local fd00:65::, dev lo, dstport 4789, nolearning, in br-pe-200",
      $r.vni200.linkinfo.info_data.id == 200 and ($r.vni200.linkinfo.info_data.local6 // $r.vni200.linkinfo.info_data.local) == "fd00:65::"
      and $r.vni200.linkinfo.info_data.link == "lo" and $r.vni200.linkinfo.info_data.port == 4789
      and $r.vni200.linkinfo.info_data.learning == false and $r.vni200.master == "br-pe-200"],
    ["table 3: unreachable default at metric 4278198272 (IPv4 and IPv6)",
      ([table($rroutes4; "3")[] | select(.dst == "default" and .type == "unreachable" and .metric == 4278198272)] | length) == 1
      and ([table($rroutes6; "3")[] | select(.dst == "default" and .type == "unreachable" and .metric == 4278198272)] | length) == 1],
    # L3VPN blue / rd 200 (SRv6)
    ["blue is a vrf with table 4, up", $r.blue.linkinfo.info_kind == "vrf" and $r.blue.linkinfo.info_data.table == 4 and up($r.blue)],
    ["pe-s-200 is a veth in blue, MTU 1436 (underlay - 64), with 192.169.20.1/24",
      $r["pe-s-200"].master == "blue" and $r["pe-s-200"].mtu == 1436 and has_addr($raddrs; "pe-s-200"; "192.169.20.1"; 24)],
    ["host-s-200 (host netns): MTU 1436, up, 192.169.20.2/24",
      $h["host-s-200"].mtu == 1436 and up($h["host-s-200"]) and has_addr($haddrs; "host-s-200"; "192.169.20.2"; 24)],
    ["SID fd00:0:32::100: seg6local End.DT46 vrftable 4 dev blue",
      ([table($rroutes6; "main")[] | select(.dst == "fd00:0:32::100" and .encap == "seg6local" and .action == "End.DT46"
        and (.vrftable | tostring) == "4" and .dev == "blue")] | length) == 1],
    # L3Passthrough
    ["pt-ns is a veth in the default VRF, MTU 1500 (unchanged), up",
      $r["pt-ns"].linkinfo.info_kind == "veth" and ($r["pt-ns"].master == null) and $r["pt-ns"].mtu == 1500 and up($r["pt-ns"])],
    ["pt-ns has 192.169.11.1/24", has_addr($raddrs; "pt-ns"; "192.169.11.1"; 24)],
    ["main table has 192.169.11.0/24 dev pt-ns",
      ([$rroutes4[] | select((.table // "main") == "main" and .dst == "192.169.11.0/24" and .dev == "pt-ns")] | length) == 1],
    ["pt-host (host netns) is up with 192.169.11.2/24, MTU 1500",
      up($h["pt-host"]) and $h["pt-host"].mtu == 1500 and has_addr($haddrs; "pt-host"; "192.169.11.2"; 24)]
  ][] | (if .[1] == true then "ok: " else "MISMATCH: " end) + .[0]') || fail "jq failed"
echo "$results"
if grep -q '^MISMATCH' <<<"$results"; then
    printf '%s\n' "router links: $rlinks" "router addrs: $raddrs" "router routes v4: $rroutes4" \
        "router routes v6: $rroutes6" "sysctls: $sysctls" "host links: $hlinks" "host addrs: $haddrs" >&2
    fail "$(grep -c '^MISMATCH' <<<"$results") check(s) failed"
fi

# Someone releases pe-e-100 from its VRF (the kernel drops its IPv6 address) and adds the
# address back. The next apply puts the link back in red, which drops the address again, and
# must re-add it in the same apply (the second pass writes nothing).
ip -n perouter link set pe-e-100 nomaster
v6_on_pe() { ip -n perouter -j -6 addr show dev pe-e-100 scope global | jq '[.[].addr_info[] | select(.local == "2001:db8:1::1")] | length'; }
[ "$(v6_on_pe)" = 0 ] || fail "test premise: leaving the VRF should have dropped 2001:db8:1::1"
# Put it back by hand: the apply sees it present, and entering the VRF drops it again
# *during* the apply; the plan must re-add it in the same apply.
ip -n perouter addr add 2001:db8:1::1/64 dev pe-e-100 nodad
out=$("$bin" perouter host) || { echo "$out"; fail "apply_layout (after nomaster) failed"; }
grep -qx 'TABLES red=1 green=3 blue=4' <<<"$out" || fail "tables changed on a re-apply: $out"
grep -q '^SECOND_APPLY_WRITES=0$' <<<"$out" || fail "the state did not settle after one apply: $out"
[ "$(ip -n perouter -j link show dev pe-e-100 | jq -r '.[0].master')" = red ] || fail "pe-e-100 not back in red"
[ "$(v6_on_pe)" = 1 ] || fail "2001:db8:1::1 was not added again after pe-e-100 re-entered red"
echo "ok: pe-e-100 re-enslaved to red with its IPv6 address re-added, in one apply"
echo "LAYOUTS OK"
