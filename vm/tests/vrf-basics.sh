#!/usr/bin/env bash
# Runs INSIDE the VM (vm/run.sh vm/tests/vrf-basics.sh): a VRF with a table, a dummy enslaved to
# it with an address, a route in the VRF's table; every fact is checked from `ip -d -j` output.
# Prints "VRF-BASICS OK" as its last line on success; exits non-zero on any mismatch.
# Refuses to run outside the VM (it would change the host's links).
set -euo pipefail

table=1001
fail() { echo "VRF-BASICS FAIL: $*" >&2; exit 1; }
[ -d /run/vm ] && [ -f /run/vm/guest.sh ] || fail "not inside vm/run.sh's VM; run: vm/run.sh $0"
command -v jq >/dev/null || fail "jq not found (install it on the host: apt-get install jq)"

# Few process starts (each costs ~0.5-1 s under TCG): set up with one `ip -batch`, query with
# one ip per object, check everything with one jq.
ip -batch - <<EOF
link add vrf-red type vrf table $table
link set vrf-red up
link add d0 type dummy
link set d0 master vrf-red
link set d0 up
addr add 10.99.0.1/24 dev d0
route add 198.51.100.0/24 via 10.99.0.254 dev d0 table $table
EOF

links=$(ip -d -j link show)
addrs=$(ip -j addr show dev d0)
vrf_table=$(ip -d -j route show table "$table")
vrf_routes=$(ip -j route show vrf vrf-red)
main_routes=$(ip -j route show table main)
get=$(ip -j route get 198.51.100.7 vrf vrf-red)

# Each check is [description, result]; a result must be exactly `true`.
results=$(jq -n -r --argjson table "$table" \
    --argjson links "$links" --argjson addrs "$addrs" --argjson vrf_table "$vrf_table" \
    --argjson vrf_routes "$vrf_routes" --argjson main_routes "$main_routes" --argjson get "$get" '
  ($links | map({(.ifname): .}) | add) as $l
  | [
    ["vrf-red is a vrf", $l["vrf-red"].linkinfo.info_kind == "vrf"],
    ["vrf-red uses table \($table)", $l["vrf-red"].linkinfo.info_data.table == $table],
    ["vrf-red is up", ($l["vrf-red"].flags | index("UP")) != null],
    ["d0 is a dummy", $l.d0.linkinfo.info_kind == "dummy"],
    ["d0 is enslaved to vrf-red", $l.d0.master == "vrf-red"],
    ["d0 is a vrf slave", $l.d0.linkinfo.info_slave_kind == "vrf"],
    ["d0 has 10.99.0.1/24",
      ([$addrs[0].addr_info[] | select(.family == "inet" and .local == "10.99.0.1" and .prefixlen == 24)] | length) == 1],
    ["table \($table) has 198.51.100.0/24 via 10.99.0.254 dev d0",
      ([$vrf_table[] | select(.dst == "198.51.100.0/24" and .gateway == "10.99.0.254" and .dev == "d0")] | length) == 1],
    ["table \($table) has the connected 10.99.0.0/24",
      ([$vrf_table[] | select(.dst == "10.99.0.0/24" and .dev == "d0")] | length) == 1],
    ["ip route show vrf vrf-red has 198.51.100.0/24",
      ([$vrf_routes[] | select(.dst == "198.51.100.0/24")] | length) == 1],
    ["main table has neither 198.51.100.0/24 nor 10.99.0.0/24",
      ([$main_routes[] | select(.dst == "198.51.100.0/24" or .dst == "10.99.0.0/24")] | length) == 0],
    ["route get 198.51.100.7 vrf vrf-red: via 10.99.0.254 dev d0",
      $get[0].gateway == "10.99.0.254" and $get[0].dev == "d0"]
  ][] | (if .[1] == true then "ok: " else "MISMATCH: " end) + .[0]') || fail "jq failed"
echo "$results"
if grep -q '^MISMATCH' <<<"$results"; then
    printf '%s\n' "links: $links" "addrs: $addrs" "table $table: $vrf_table" \
        "vrf vrf-red: $vrf_routes" "main: $main_routes" "get: $get" >&2
    fail "$(grep -c '^MISMATCH' <<<"$results") check(s) failed"
fi
echo "VRF-BASICS OK"
