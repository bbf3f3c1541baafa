#!/usr/bin/env bash
# Runs INSIDE the VM (vm/run.sh vm/tests/layouts.sh [APPLY_LAYOUT_BINARY]): applies the sample
# OpenPERouter node layout of dataplane/examples/apply_layout.rs with NetlinkDataplane into a
# fresh router netns `perouter` (host legs in a fresh netns `host`), twice, then checks every
# object against the reference (/work/shared/reference/openperouter.md §2.2, §2.5) from
# `ip -d -j` output, and that the second apply wrote nothing.
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
ip -n perouter link set lo up

out=$("$bin" perouter host) || { echo "$out"; fail "apply_layout failed"; }
echo "$out"

rlinks=$(ip -n perouter -d -j link show)
raddrs=$(ip -n perouter -j addr show)
rroutes4=$(ip -n perouter -d -j -4 route show table all)
rroutes6=$(ip -n perouter -d -j -6 route show table 1001)
hlinks=$(ip -n host -d -j link show)
haddrs=$(ip -n host -j addr show)

# Each check is [description, result]; a result must be exactly `true`.
results=$(jq -n -r --arg out "$out" \
    --argjson rlinks "$rlinks" --argjson raddrs "$raddrs" --argjson rroutes4 "$rroutes4" \
    --argjson rroutes6 "$rroutes6" --argjson hlinks "$hlinks" --argjson haddrs "$haddrs" '
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
    ($rroutes4 | map(select((.table // "main" | tostring) == "1001"))) as $t1001
  | [
    ["second apply wrote nothing (SECOND_APPLY_WRITES=0)", ($out | test("(^|\n)SECOND_APPLY_WRITES=0($|\n)"))],
    ["first apply created links in both namespaces", ($out | test("pass 1 router: .*created: [1-9]")) and ($out | test("pass 1 host: .*created: [1-9]"))],
    ["VTEP 100.65.0.0/32 on lo", has_addr($raddrs; "lo"; "100.65.0.0"; 32)],
    ["lo is up", up($r.lo)],
    # L3VNI red / 100
    ["red is a vrf with table 1001, up, ours",
      $r.red.linkinfo.info_kind == "vrf" and $r.red.linkinfo.info_data.table == 1001 and up($r.red) and owned($r.red)],
    ["br-pe-100 is a bridge in red, up", $r["br-pe-100"].linkinfo.info_kind == "bridge" and $r["br-pe-100"].master == "red" and up($r["br-pe-100"])],
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
    ["table 1001 has the connected 192.169.10.0/24 dev pe-e-100",
      ([$t1001[] | select(.dst == "192.169.10.0/24" and .dev == "pe-e-100")] | length) == 1],
    ["table 1001 has no default route (OpenPERouter installs no unreachable default, ref 2.5.8)",
      ([$t1001[] | select(.dst == "default")] | length) == 0
      and ([$rroutes6[] | select(.dst == "default")] | length) == 0],
    # L2VNI 110 in red
    ["br-pe-110 is a bridge in red, up", $r["br-pe-110"].linkinfo.info_kind == "bridge" and $r["br-pe-110"].master == "red" and up($r["br-pe-110"])],
    ["br-pe-110 has the anycast MAC 00:f3:00:00:00:6f", $r["br-pe-110"].address == "00:f3:00:00:00:6f"],
    ["br-pe-110 has the gateway 192.171.24.1/24", has_addr($raddrs; "br-pe-110"; "192.171.24.1"; 24)],
    ["table 1001 has the connected 192.171.24.0/24 dev br-pe-110",
      ([$t1001[] | select(.dst == "192.171.24.0/24" and .dev == "br-pe-110")] | length) == 1],
    ["vni110: id 110, local 100.65.0.0, dev lo, dstport 4789, nolearning", vxlan_ok($r.vni110; 110)],
    ["vni110 is enslaved to br-pe-110, up", $r.vni110.master == "br-pe-110" and up($r.vni110)],
    ["pe-e-110 is a veth in br-pe-110, MTU 1450, up, no IPs",
      $r["pe-e-110"].linkinfo.info_kind == "veth" and $r["pe-e-110"].master == "br-pe-110" and $r["pe-e-110"].mtu == 1450 and up($r["pe-e-110"])
      and ([$raddrs[] | select(.ifname == "pe-e-110") | .addr_info[] | select(.family == "inet")] | length) == 0],
    ["br-hs-110 (host netns) is a bridge, up", $h["br-hs-110"].linkinfo.info_kind == "bridge" and up($h["br-hs-110"])],
    ["host-e-110 is in br-hs-110, MTU 1450, up",
      $h["host-e-110"].master == "br-hs-110" and $h["host-e-110"].mtu == 1450 and up($h["host-e-110"])],
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
        "table 1001 v6: $rroutes6" "host links: $hlinks" "host addrs: $haddrs" >&2
    fail "$(grep -c '^MISMATCH' <<<"$results") check(s) failed"
fi
echo "LAYOUTS OK"
