#!/usr/bin/env bash
# Runs INSIDE the VM (vm/run.sh vm/tests/l3vpn-fabric.sh PEROUTERD): an SRv6 L3VPN fabric end
# to end, with perouterd's BGP driving the kernel.
#
#   host-a ── node-a (perouterd, AS 64514) ──┐               ┌── node-b (perouterd) ── host-b
#   192.169.20.2     node 0, VTEP fd00:65::   └─ tor (FRR 8.4 ┘   node 1, VTEP fd00:65::1
#   fd00:20::2       locator fd00:0:32::/48      bgpd + zebra,    locator fd00:0:33::/48
#                                                AS 64512)                      192.169.20.3
#                                                                               fd00:20::3
#
# Each node runs perouterd with `--host-netns`: it builds its layout (VRF blue, the
# pe-s-200/host-s-200 veth, the IPv6 VTEP on lo, SRv6 sysctls), installs its End.DT46 SID
# (SID/128 in main, `encap seg6local action End.DT46 vrftable <blue>`), and has one session
# with the ToR (from its VTEP, perouterd's update-source for VPN neighbours) carrying IPv6
# unicast (its locator /48 and VTEP /128, which the ToR's zebra installs) and VPN-IPv4/IPv6
# (VRF blue's host-side addresses, RT 64514:200, the SID in a Prefix-SID attribute). The ToR
# passes the VPN routes between the nodes (eBGP; allowas-in on the nodes since both are AS
# 64514); each node imports the other's into VRF blue as `encap seg6 mode encap segs <SID>`
# (H.Encaps). The underlay route to the VTEPs (IS-IS in OpenPERouter) is a kernel route on
# the ToR. The hosts run no BGP: static /32, /128 routes to the other host via their node.
# Pings host-a -> host-b over IPv4 and IPv6; the ToR's counters show the packets crossing it,
# and ToR `ip rule`s refuse packets to a locator whose outer source is not the sender's VTEP
# (perouterd puts the VTEP /128 on the VRF device: without `ip sr tunsrc` the kernel takes
# the H.Encaps source from the VRF's addresses). Then IPv4 again with no IPv6 address on
# node-a's host leg.
# Prints "L3VPN FABRIC OK" as its last line on success.
set -euo pipefail

bin=${1:-target/debug/perouterd}
ctlbin=$(dirname "$bin")/perouterctl
TORDIR=/tmp/frr-tor
vtysh_tor() { vtysh --vty_socket "$TORDIR" -c "$1"; }
fail() { echo "L3VPN FABRIC FAIL: $*" >&2; dump; exit 1; }
dump() {
    for n in a b; do
        echo "--- perouterd node-$n log (last 30 lines)" >&2
        tail -30 "/tmp/node-$n/perouterd.log" >&2 || true
        echo "--- node-$n: ip -d route show vrf blue; ip -6 route show table all (no local/multicast)" >&2
        ip -n "node-$n" -d route show vrf blue >&2 || true
        ip -n "node-$n" -d -6 route show vrf blue >&2 || true
        ip -n "node-$n" -d -6 route show table all | grep -v "^local\|^multicast\|^fe80\|^ff00" >&2 || true
    done
    vtysh_tor "show bgp summary" >&2 || true
    vtysh_tor "show bgp ipv4 vpn" >&2 || true
    vtysh_tor "show bgp ipv6 vpn" >&2 || true
    ip -n tor -6 route >&2 || true
    ip -n tor -6 rule >&2 || true
}
[ -d /run/vm ] && [ -f /run/vm/guest.sh ] || { echo "not inside vm/run.sh's VM"; exit 1; }
[ -x "$bin" ] && [ -x "$ctlbin" ] || { echo "$bin or $ctlbin not found: cargo build -p router --bins"; exit 1; }
[ -x /usr/lib/frr/bgpd ] || { echo "FRR not installed on the host (apt-get install frr)"; exit 1; }
command -v ping >/dev/null || { echo "ping not found (apt-get install iputils-ping)"; exit 1; }

ip -batch - <<EOF
netns add tor
netns add node-a
netns add node-b
netns add host-a
netns add host-b
link add ta netns tor type veth peer name ul netns node-a
link add tb netns tor type veth peer name ul netns node-b
EOF
for ns in tor node-a node-b host-a host-b; do
    ip netns exec "$ns" sh -c 'ip link set lo up; echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad'
done
ip -n tor -batch - <<EOF
addr add fd00:11::2/64 dev ta
addr add fd00:12::2/64 dev tb
link set ta up
link set tb up
route add fd00:65::/128 via fd00:11::3
route add fd00:65::1/128 via fd00:12::3
EOF
ip netns exec tor sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'
ip -n node-a addr add fd00:11::3/64 dev ul; ip -n node-a link set ul up
ip -n node-b addr add fd00:12::3/64 dev ul; ip -n node-b link set ul up

# The ToR: FRR with zebra (it installs the locators it learns and forwards SRv6). Its
# sessions go to the nodes' VTEPs (not connected: the kernel routes above).
mkdir -p "$TORDIR"; chmod 777 "$TORDIR"
{
    cat <<EOF
frr defaults datacenter
hostname tor
log file $TORDIR/bgpd.log
router bgp 64512
 bgp router-id 10.0.0.100
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
EOF
    for nb in fd00:65:: fd00:65::1; do
        echo " neighbor $nb remote-as 64514"
        echo " neighbor $nb disable-connected-check"
        echo " neighbor $nb capability extended-nexthop"
        echo " neighbor $nb timers 3 9"
        echo " neighbor $nb timers connect 2"
    done
    for af in "ipv6 unicast" "ipv4 vpn" "ipv6 vpn"; do
        echo " address-family $af"
        echo "  neighbor fd00:65:: activate"
        echo "  neighbor fd00:65::1 activate"
        echo " exit-address-family"
    done
} > "$TORDIR/bgpd.conf"
echo "hostname zebra" > "$TORDIR/zebra.conf"
ip netns exec tor /usr/lib/frr/zebra -u frr -g frr -P 0 -f "$TORDIR/zebra.conf" \
    -i "$TORDIR/zebra.pid" -z "$TORDIR/zserv.api" --vty_socket "$TORDIR" \
    --log "file:$TORDIR/zebra.log" > "$TORDIR/zebra.out" 2>&1 &
for _ in $(seq 50); do [ -S "$TORDIR/zserv.api" ] && break; sleep 0.2; done
[ -S "$TORDIR/zserv.api" ] || fail "zebra did not start"
ip netns exec tor /usr/lib/frr/bgpd -S -P 0 -z "$TORDIR/zserv.api" --vty_socket "$TORDIR" \
    -i "$TORDIR/bgpd.pid" -f "$TORDIR/bgpd.conf" > "$TORDIR/bgpd.out" 2>&1 &

node_config() { # INDEX ROUTER_ID PEER
    cat <<EOF
routerID: $2
asn: 64514
nodeIndex: $1
tunnelEndpoint: { cidrs: ['fd00:65::/64'] }
srv6: { locator: { basePrefix: 'fd00:0:32::/48', format: usid-f3216 } }
neighbors:
  - address: '$3'
    asn: 64512
    holdTimeSeconds: 9
    keepaliveTimeSeconds: 3
    connectTimeSeconds: 2
    addressFamilies: [{ type: ipv6unicast }, { type: ipv4vpn }, { type: ipv6vpn }]
l3vpns:
  - vrf: blue
    rdAssignedNumber: 200
    importRTs: ['64514:200']
    hostSession: { asn: 64514, hostASN: 64516, localCIDR: { ipv4: 192.169.20.0/24, ipv6: 'fd00:20::/64' } }
EOF
}
start_node() { # NAME INDEX ROUTER_ID PEER
    mkdir -p "/tmp/node-$1"
    node_config "$2" "$3" "$4" > "/tmp/node-$1/perouterd.yaml"
    ip netns exec "node-$1" "$bin" --config "/tmp/node-$1/perouterd.yaml" \
        --api-socket "/tmp/node-$1/api.sock" --state-dir "/tmp/node-$1" --watch-seconds 0 \
        --host-netns "/run/netns/host-$1" --log-level info >> "/tmp/node-$1/perouterd.log" 2>&1 &
    echo $! > "/tmp/node-$1/pid"
}
start_node a 0 10.0.0.1 fd00:11::2
start_node b 1 10.0.0.2 fd00:12::2
ctl() { "$ctlbin" --api-socket "/tmp/node-$1/api.sock" "${@:2}"; }

# Both sessions up and both nodes' VPN routes at the ToR.
for _ in $(seq 60); do
    v4=$(vtysh_tor "show bgp ipv4 vpn" 2>/dev/null || true)
    v6=$(vtysh_tor "show bgp ipv6 vpn" 2>/dev/null || true)
    grep -q "192.169.20.2/32" <<<"$v4" && grep -q "192.169.20.3/32" <<<"$v4" \
        && grep -q "fd00:20::2/128" <<<"$v6" && grep -q "fd00:20::3/128" <<<"$v6" && break
    sleep 1
done
for want in "Route Distinguisher: 10.0.0.1:200" "Route Distinguisher: 10.0.0.2:200" "192.169.20.2/32" "192.169.20.3/32"; do
    grep -qF "$want" <<<"$v4" || fail "FRR's VPN-IPv4 table lacks: $want"
done
for want in "fd00:20::2/128" "fd00:20::3/128"; do
    grep -qF "$want" <<<"$v6" || fail "FRR's VPN-IPv6 table lacks: $want"
done
echo "ok: FRR has both nodes' VPN-IPv4 and VPN-IPv6 host routes (RD 10.0.0.1:200 and 10.0.0.2:200)"

# The underlay: the ToR installed both locators; each node has the other's.
for _ in $(seq 30); do
    la=$(ip -n node-a -6 route show fd00:0:33::/48 2>/dev/null || true)
    lb=$(ip -n node-b -6 route show fd00:0:32::/48 2>/dev/null || true)
    [ -n "$la" ] && [ -n "$lb" ] && break
    sleep 1
done
lt=$(ip -n tor -6 route show proto bgp)
grep -q "^fd00:0:32::/48 .*dev ta" <<<"$lt" && grep -q "^fd00:0:33::/48 .*dev tb" <<<"$lt" \
    || fail "the ToR did not install both locators: '$lt'"
grep -q "proto 250 metric 20" <<<"$la" || fail "node-a has no route to node-b's locator: '$la'"
grep -q "proto 250 metric 20" <<<"$lb" || fail "node-b has no route to node-a's locator: '$lb'"
echo "ok: locators over BGP IPv6 unicast: ToR (zebra) fd00:0:32::/48 via ta, fd00:0:33::/48 via tb; node-a: $la"

# The local SIDs: End.DT46 into VRF blue's table.
for n in a b; do
    table=$(ip -n "node-$n" -j -d link show dev blue | jq '.[0].linkinfo.info_data.table')
    sid=$([ "$n" = a ] && echo fd00:0:32:e000:: || echo fd00:0:33:e000::)
    s=$(ip -n "node-$n" -6 route show table all "$sid/128" 2>/dev/null || true)
    grep -q "encap seg6local action End.DT46 vrftable $table .*dev blue" <<<"$s" \
        || fail "node-$n: no End.DT46 SID $sid vrftable $table: '$s'"
    vtep=$([ "$n" = a ] && echo fd00:65:: || echo fd00:65::1)
    ip -n "node-$n" -6 addr show dev blue | grep -q "inet6 $vtep/128" \
        || fail "node-$n: VRF blue lacks the H.Encaps source $vtep/128"
done
echo "ok: local SIDs: node-a fd00:0:32:e000::/128 and node-b fd00:0:33:e000::/128, seg6local End.DT46 vrftable <blue> dev blue; the VTEP /128 on VRF blue"

# Each node imports the other's host routes into VRF blue with H.Encaps to the other's SID.
for _ in $(seq 30); do
    a4=$(ip -n node-a -d route show vrf blue 192.169.20.3 2>/dev/null || true)
    a6=$(ip -n node-a -d -6 route show vrf blue fd00:20::3 2>/dev/null || true)
    b4=$(ip -n node-b -d route show vrf blue 192.169.20.2 2>/dev/null || true)
    b6=$(ip -n node-b -d -6 route show vrf blue fd00:20::2 2>/dev/null || true)
    [ -n "$a4" ] && [ -n "$a6" ] && [ -n "$b4" ] && [ -n "$b6" ] && break
    sleep 1
done
grep -q "encap seg6 mode encap segs 1 \[ fd00:0:33:e000:: \]" <<<"$a4" || fail "node-a VRF blue route to 192.169.20.3: '$a4'"
grep -q "encap seg6 mode encap segs 1 \[ fd00:0:33:e000:: \]" <<<"$a6" || fail "node-a VRF blue route to fd00:20::3: '$a6'"
grep -q "encap seg6 mode encap segs 1 \[ fd00:0:32:e000:: \]" <<<"$b4" || fail "node-b VRF blue route to 192.169.20.2: '$b4'"
grep -q "encap seg6 mode encap segs 1 \[ fd00:0:32:e000:: \]" <<<"$b6" || fail "node-b VRF blue route to fd00:20::2: '$b6'"
echo "ok: node-a VRF blue: $a4"
echo "ok: node-a VRF blue: $a6"
echo "ok: node-b VRF blue: 192.169.20.2 and fd00:20::2 with H.Encaps segs [ fd00:0:32:e000:: ]"

# The hosts: no BGP; the other host's address is inside the shared localCIDR, so /32 and
# /128 routes via the router side.
ip -n host-a route add 192.169.20.3/32 via 192.169.20.1
ip -n host-a -6 route add fd00:20::3/128 via fd00:20::1
ip -n host-b route add 192.169.20.2/32 via 192.169.20.1
ip -n host-b -6 route add fd00:20::2/128 via fd00:20::1

# The outer source must be the sending node's VTEP: the ToR refuses packets to a locator from
# any other source (the kernel's own choice, without `ip sr tunsrc`, would be the VRF's
# fd00:20::1, the same on both nodes; in an IPv4-only VRF there would be none).
ip -n tor -6 -batch - <<EOF
rule add pref 10 iif ta from fd00:65::/128 to fd00:0:33::/48 lookup main
rule add pref 11 iif ta to fd00:0:33::/48 prohibit
rule add pref 12 iif tb from fd00:65::1/128 to fd00:0:32::/48 lookup main
rule add pref 13 iif tb to fd00:0:32::/48 prohibit
EOF
stats() { ip -n tor -s -j link show | jq -r '[.[] | select(.ifname=="ta" or .ifname=="tb") | "\(.ifname)=\(.stats64.rx.packets),\(.stats64.tx.packets)"] | join(" ")'; }
before=$(stats)
ip netns exec host-a ping -c 3 -i 0.3 -W 2 192.169.20.3 >/dev/null || fail "host-a cannot ping host-b over IPv4 (SRv6)"
echo "ok: host-a 192.169.20.2 -> host-b 192.169.20.3 over IPv4 through VRF blue and SRv6 (H.Encaps / End.DT46)"
ip netns exec host-a ping -c 3 -i 0.3 -W 2 fd00:20::3 >/dev/null || fail "host-a cannot ping host-b over IPv6 (SRv6)"
echo "ok: host-a fd00:20::2 -> host-b fd00:20::3 over IPv6 through VRF blue and SRv6"
echo "ok: outer sources were the VTEPs (ToR rules refuse other sources towards the locators)"
after=$(stats)
# rx on ta (from node-a) and tx on tb (to node-b): the requests crossed the ToR, which only
# has the locators and VTEPs: they were SRv6 packets.
delta() { # IFNAME FIELD(1=rx 2=tx)
    local b a
    b=$(grep -o "$1=[0-9]*,[0-9]*" <<<"$before" | cut -d= -f2 | cut -d, -f"$2")
    a=$(grep -o "$1=[0-9]*,[0-9]*" <<<"$after" | cut -d= -f2 | cut -d, -f"$2")
    echo $((a - b))
}
rx_ta=$(delta ta 1); tx_tb=$(delta tb 2); rx_tb=$(delta tb 1); tx_ta=$(delta ta 2)
[ "$rx_ta" -ge 6 ] && [ "$tx_tb" -ge 6 ] && [ "$rx_tb" -ge 6 ] && [ "$tx_ta" -ge 6 ] \
    || fail "ToR counters: ta rx $rx_ta tx $tx_ta, tb rx $rx_tb tx $tx_tb (expected >= 6 each)"
echo "ok: the ToR forwarded the pings: ta rx $rx_ta tx $tx_ta, tb rx $rx_tb tx $tx_tb packets"

# Without an IPv6 address in the VRF (as with an IPv4-only localCIDR) H.Encaps still has its
# source: the VTEP on the VRF device.
ip -n node-a addr del fd00:20::1/64 dev pe-s-200
ip netns exec host-a ping -c 2 -i 0.3 -W 2 192.169.20.3 >/dev/null \
    || fail "host-a cannot ping host-b over IPv4 once node-a's VRF has no IPv6 host-leg address"
echo "ok: IPv4 over SRv6 without an IPv6 address on node-a's host leg (outer source: the VTEP on VRF blue)"

echo
echo "=================================== summary ==================================="
echo "--- node-a: perouterctl show bgp summary"
ctl a show bgp summary || true
echo "--- node-a: ip -d route show vrf blue"
ip -n node-a -d route show vrf blue | grep -v "^local\|^broadcast" || true
ip -n node-a -d -6 route show vrf blue | grep -v "^local\|^multicast\|^fe80\|^anycast" || true
echo "--- ToR (FRR): VPN routes"
vtysh_tor "show bgp ipv4 vpn" || true
echo "================================================================================"
kill -TERM "$(cat /tmp/node-a/pid)" "$(cat /tmp/node-b/pid)" 2>/dev/null || true
echo "L3VPN FABRIC OK"
