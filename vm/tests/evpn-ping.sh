#!/usr/bin/env bash
# Runs INSIDE the VM (vm/run.sh vm/tests/evpn-ping.sh [EVPN_PAIR_BINARY]): two OpenPERouter
# nodes (router netns node-a/node-b, each with a host netns host-a/host-b) joined by one
# underlay veth. dataplane/examples/evpn_pair.rs programs, with NetlinkDataplane, the L3VNI
# layout (VRF red, br-pe-100, vni100, host veth) and the EVPN type-5 shaped state zebra
# would install (route via the remote VTEP onlink on br-pe-100 + neighbour VTEP -> router
# MAC + FDB router MAC -> VTEP on vni100). Checks, for an IPv4 and then an IPv6 VTEP:
# - without the type-5 objects, host-a cannot reach host-b (negative control);
# - with them, host-a pings host-b over IPv4 and IPv6 through the VRFs and the VXLAN tunnel,
#   and the packets really are VXLAN (the vni100 counters move);
# - applying the same state again writes nothing; removing the objects stops the ping.
# The binary (default target/debug/examples/evpn_pair) must be built on the host first:
#   cargo build -p dataplane --example evpn_pair
# Prints "EVPN PING OK" as its last line on success; exits non-zero on any failure.
set -euo pipefail

bin=${1:-target/debug/examples/evpn_pair}
fail() { echo "EVPN PING FAIL: $*" >&2; exit 1; }
[ -d /run/vm ] && [ -f /run/vm/guest.sh ] || fail "not inside vm/run.sh's VM; run: vm/run.sh $0"
[ -x "$bin" ] || fail "$bin not found: cargo build -p dataplane --example evpn_pair"
command -v ping >/dev/null || fail "ping not found (install iputils-ping on the host)"

pair() { "$bin" node-a host-a node-b host-b "$1" "$2"; }

ping_ok() { # NS DST: true if one of three echo requests is answered
    ip netns exec "$1" ping -c 3 -i 0.3 -W 2 "$2" >/dev/null 2>&1
}

rx_packets() { ip -n "$1" -s -j link show dev vni100 | jq '.[0].stats64.rx.packets'; }

for family in v4 v6; do
    echo "=== VTEP family $family"
    ip -all netns delete 2>/dev/null || true
    ip -batch - <<EOF
netns add node-a
netns add node-b
netns add host-a
netns add host-b
link add ul netns node-a type veth peer name ul netns node-b
EOF
    for ns in node-a node-b host-a host-b; do
        ip netns exec "$ns" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad'
    done

    out=$(pair "$family" no-routes) || { echo "$out"; fail "evpn_pair $family no-routes"; }
    echo "$out" | tail -1
    # Host legs exist now; default routes towards the router side (.1 / ::1).
    for i in 1 2; do
        h=host-$( [ $i = 1 ] && echo a || echo b )
        ip -n "$h" -batch - <<EOF
link set lo up
route add default via 192.169.1$i.1
route add default via 2001:db8:1$i::1
EOF
    done
    ping_ok node-a "$( [ "$family" = v4 ] && echo 10.0.0.2 || echo fd00:ff::2 )" \
        || fail "$family: the underlay itself does not work"
    if ping_ok host-a 192.169.12.2; then
        fail "$family: negative control: host-b reachable without any type-5 state"
    fi
    echo "ok: no type-5 state, no reachability"

    out=$(pair "$family" routes) || { echo "$out"; fail "evpn_pair $family routes"; }
    echo "$out"
    grep -q '^SECOND_APPLY_WRITES=0$' <<<"$out" || fail "$family: second apply wrote something"
    before=$(rx_packets node-b)
    ping_ok host-a 192.169.12.2 || {
        ip -n node-a -d route show vrf red; ip -n node-a neigh show dev br-pe-100
        bridge -n node-a fdb show dev vni100
        fail "$family: host-a cannot ping host-b over IPv4"
    }
    echo "ok: host-a -> host-b IPv4 through VRF red and vni100"
    ping_ok host-a 2001:db8:12::2 || fail "$family: host-a cannot ping host-b over IPv6"
    echo "ok: host-a -> host-b IPv6 (IPv6 route via the $family VTEP)"
    after=$(rx_packets node-b)
    [ "$after" -ge $((before + 6)) ] || fail "$family: vni100 on node-b saw $((after - before)) packets, expected >= 6"
    echo "ok: node-b's vni100 received $((after - before)) packets (the traffic was VXLAN)"
    ip -n node-a -d route show vrf red | grep -Eq '192.169.12.0/24 via .* dev br-pe-100 proto 250 .*onlink' || fail "$family: our route is not onlink/proto 250"

    out=$(pair "$family" no-routes) || { echo "$out"; fail "evpn_pair $family no-routes (removal)"; }
    if ping_ok host-a 192.169.12.2; then
        fail "$family: host-b still reachable after the type-5 state was removed"
    fi
    echo "ok: removing the type-5 state stops the traffic"
done
ip -all netns delete 2>/dev/null || true
echo "EVPN PING OK"
