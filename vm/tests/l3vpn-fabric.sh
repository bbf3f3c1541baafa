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
# Then an FRR 8.4 PE (pe, AS 64530, bgpd + zebra, kernel VRF blue table 300, locator
# fd00:0:50::/64, host-c 192.169.30.2 / fd00:30::2 behind it, RT 64530:200 out, 64514:200 in):
# its End.DT4/End.DT6 SIDs, node-a's import of its routes (FRR 8.4's SID structure), H.Encaps
# both ways, host-a <-> host-c pings over IPv4 and IPv6 through the ToR.
# Prints "L3VPN FABRIC OK" as its last line on success.
set -euo pipefail

bin=${1:-target/debug/perouterd}
ctlbin=$(dirname "$bin")/perouterctl
TORDIR=/tmp/frr-tor
PEDIR=/tmp/frr-pe
vtysh_tor() { vtysh --vty_socket "$TORDIR" -c "$1"; }
vtysh_pe() { vtysh --vty_socket "$PEDIR" -c "$1"; }
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
    echo "--- FRR PE: bgp summary, VPN tables, VRF blue, SRv6 locator, kernel" >&2
    vtysh_pe "show bgp summary" >&2 || true
    vtysh_pe "show bgp ipv4 vpn" >&2 || true
    vtysh_pe "show bgp ipv6 vpn" >&2 || true
    vtysh_pe "show bgp vrf blue ipv4 unicast" >&2 || true
    vtysh_pe "show bgp vrf blue ipv6 unicast" >&2 || true
    vtysh_pe "show segment-routing srv6 locator" >&2 || true
    vtysh_pe "show bgp segment-routing srv6" >&2 || true
    ip -n pe -d route show vrf blue >&2 || true
    ip -n pe -d -6 route show vrf blue >&2 || true
    ip -n pe -d -6 route show table all | grep -v "^local\|^multicast\|^fe80\|^ff00" >&2 || true
    tail -n 20 "$PEDIR/zebra.log" "$PEDIR/bgpd.log" >&2 || true
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
netns add pe
netns add host-c
link add ta netns tor type veth peer name ul netns node-a
link add tb netns tor type veth peer name ul netns node-b
link add tc netns tor type veth peer name ul netns pe
link add hc netns pe type veth peer name eth0 netns host-c
EOF
for ns in tor node-a node-b host-a host-b pe host-c; do
    ip netns exec "$ns" sh -c 'ip link set lo up; echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad'
done
ip -n tor -batch - <<EOF
addr add fd00:11::2/64 dev ta
addr add fd00:12::2/64 dev tb
addr add fd00:13::2/64 dev tc
link set ta up
link set tb up
link set tc up
route add fd00:65::/128 via fd00:11::3
route add fd00:65::1/128 via fd00:12::3
EOF
ip netns exec tor sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'
ip -n node-a addr add fd00:11::3/64 dev ul; ip -n node-a link set ul up
ip -n node-b addr add fd00:12::3/64 dev ul; ip -n node-b link set ul up

# The FRR PE (AS 64530): a kernel VRF blue (table 300) with host-c behind hc, its locator
# fd00:0:50::/48 and loopback fd00:66:: (the H.Encaps source: `ip sr tunsrc`, FRR 8.4 has no
# `encapsulation source-address`), both advertised to the ToR over IPv6 unicast.
ip -n pe -batch - <<EOF
addr add fd00:13::3/64 dev ul
link set ul up
addr add fd00:66::/128 dev lo
link add blue type vrf table 300
link set blue up
link set hc master blue
addr add 192.169.30.1/24 dev hc
addr add fd00:30::1/64 dev hc
link set hc up
sr tunsrc set fd00:66::
EOF
ip netns exec pe sh -c 'for k in ipv4/ip_forward ipv6/conf/all/forwarding ipv6/conf/all/seg6_enabled ipv6/conf/default/seg6_enabled vrf/strict_mode; do echo 1 > /proc/sys/net/$k; done'
ip -n host-c -batch - <<EOF
addr add 192.169.30.2/24 dev eth0
addr add fd00:30::2/64 dev eth0
link set eth0 up
route add default via 192.169.30.1
route add ::/0 via fd00:30::1
EOF
mkdir -p "$PEDIR"; chmod 777 "$PEDIR"
cat > "$PEDIR/bgpd.conf" <<EOF
frr defaults datacenter
hostname pe
log file $PEDIR/bgpd.log
router bgp 64530
 bgp router-id 10.0.0.30
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor fd00:13::2 remote-as 64512
 neighbor fd00:13::2 capability extended-nexthop
 neighbor fd00:13::2 timers 3 9
 neighbor fd00:13::2 timers connect 2
 segment-routing srv6
  locator PE
 exit
 address-family ipv6 unicast
  network fd00:0:50::/64
  network fd00:66::/128
  neighbor fd00:13::2 activate
 exit-address-family
 address-family ipv4 vpn
  neighbor fd00:13::2 activate
 exit-address-family
 address-family ipv6 vpn
  neighbor fd00:13::2 activate
 exit-address-family
exit
router bgp 64530 vrf blue
 bgp router-id 10.0.0.30
 no bgp ebgp-requires-policy
 address-family ipv4 unicast
  redistribute connected
  sid vpn export auto
  rd vpn export 10.0.0.30:200
  rt vpn import 64514:200
  rt vpn export 64530:200
  export vpn
  import vpn
 exit-address-family
 address-family ipv6 unicast
  redistribute connected
  sid vpn export auto
  rd vpn export 10.0.0.30:200
  rt vpn import 64514:200
  rt vpn export 64530:200
  export vpn
  import vpn
 exit-address-family
exit
EOF
cat > "$PEDIR/zebra.conf" <<EOF
hostname pe-zebra
segment-routing
 srv6
  locators
   locator PE
    prefix fd00:0:50::/64 func-bits 16
   exit
  exit
 exit
exit
EOF
ip netns exec pe /usr/lib/frr/zebra -u frr -g frr -P 0 -f "$PEDIR/zebra.conf" \
    -i "$PEDIR/zebra.pid" -z "$PEDIR/zserv.api" --vty_socket "$PEDIR" \
    --log "file:$PEDIR/zebra.log" > "$PEDIR/zebra.out" 2>&1 &

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
    echo " neighbor fd00:13::3 remote-as 64530"
    echo " neighbor fd00:13::3 capability extended-nexthop"
    echo " neighbor fd00:13::3 timers 3 9"
    echo " neighbor fd00:13::3 timers connect 2"
    for af in "ipv6 unicast" "ipv4 vpn" "ipv6 vpn"; do
        echo " address-family $af"
        echo "  neighbor fd00:65:: activate"
        echo "  neighbor fd00:65::1 activate"
        echo "  neighbor fd00:13::3 activate"
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
[ -S "$PEDIR/zserv.api" ] || fail "the PE's zebra did not start"
ip netns exec pe /usr/lib/frr/bgpd -S -P 0 -z "$PEDIR/zserv.api" --vty_socket "$PEDIR" \
    -i "$PEDIR/bgpd.pid" -f "$PEDIR/bgpd.conf" > "$PEDIR/bgpd.out" 2>&1 &

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
    importRTs: ['64514:200', '64530:200']
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
rule add pref 14 iif ta from fd00:65::/128 to fd00:0:50::/64 lookup main
rule add pref 15 iif ta to fd00:0:50::/64 prohibit
rule add pref 16 iif tc from fd00:66::/128 to fd00:0:32::/48 lookup main
rule add pref 17 iif tc to fd00:0:32::/48 prohibit
EOF
stats() { ip -n tor -s -j link show | jq -r '[.[] | select(.ifname=="ta" or .ifname=="tb" or .ifname=="tc") | "\(.ifname)=\(.stats64.rx.packets),\(.stats64.tx.packets)"] | join(" ")'; }
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

# The FRR PE (FRR 8.4 bgpd + zebra, kernel VRF blue): FRR 8.4 has no per-VRF SID (`sid vpn
# per-vrf export` came later) nor uSID behaviours: `sid vpn export auto` per family gives one
# End.DT4 and one End.DT6 SID in its locator, which zebra installs as seg6local routes.
for _ in $(seq 60); do
    psid=$(ip -n pe -6 route show table all 2>/dev/null | grep "encap seg6local" || true)
    a4=$(ip -n node-a -d route show vrf blue 192.169.30.0/24 2>/dev/null || true)
    a6=$(ip -n node-a -d -6 route show vrf blue fd00:30::/64 2>/dev/null || true)
    p4=$(ip -n pe -d route show table 300 192.169.20.2 2>/dev/null || true)
    p6=$(ip -n pe -d -6 route show table 300 fd00:20::2 2>/dev/null || true)
    [ -n "$a4" ] && [ -n "$a6" ] && [ -n "$p4" ] && [ -n "$p6" ] && grep -q End.DT4 <<<"$psid" && grep -q End.DT6 <<<"$psid" && break
    sleep 1
done
sid4=$(sed -n 's/^\([0-9a-f:]*\) .*encap seg6local action End.DT4 vrftable 300 .*/\1/p' <<<"$psid" | head -1)
sid6=$(sed -n 's/^\([0-9a-f:]*\) .*encap seg6local action End.DT6 \(vrf\)\{0,1\}table 300 .*/\1/p' <<<"$psid" | head -1)
[ -n "$sid4" ] && [ -n "$sid6" ] || fail "the FRR PE installed no End.DT4 and End.DT6 SIDs vrftable 300: '$psid'"
echo "ok: the FRR PE's SIDs (zebra): End.DT4 $sid4 vrftable 300, End.DT6 $sid6 table 300 (VRF blue's table)"
v4=$(ctl a --json show bgp routes --afi ipv4-vpn 192.169.30.0/24)
v6=$(ctl a --json show bgp routes --afi ipv6-vpn fd00:30::/64)
# What FRR 8.4 sends: the SID with the function transposed into the label, behaviour 0xFFFF
# (opaque) and the structure 40/24/16/0, transposition 16 at 64 whatever the locator (its
# constants: a /64 locator is the only one it describes right; with a /48 its SIDs have the
# function at bit 48 and every receiver, FRR 8.4 included, rebuilds a wrong SID).
sidinfo='.[0] | select(.destination | startswith("10.0.0.30:200:")) | .paths[] | select(.best and (.communities | index("RT:64530:200")))
    | [.detail.nlri.labels[0].label, (.detail.attributes.prefix_sid.tlvs[0]["srv6-l3-service"][0]["sid-information"]
       | .sid, .endpoint_behavior, (.sub_sub_tlvs[0]["sid-structure"] | "\(.locator_block_len)/\(.locator_node_len)/\(.function_len)/\(.argument_len) transposition \(.transposition_len) at \(.transposition_offset)"))] | map(tostring) | join(" ")'
w4=$(jq -r "$sidinfo" <<<"$v4" 2>/dev/null || true)
w6=$(jq -r "$sidinfo" <<<"$v6" 2>/dev/null || true)
[ "$w4" = "4096 fd00:0:50:: 65535 40/24/16/0 transposition 16 at 64" ] || fail "node-a's best VPN-IPv4 path for FRR's 10.0.0.30:200:192.169.30.0/24 (label, SID, behaviour, structure): '$w4' in $v4"
[ "$w6" = "8192 fd00:0:50:: 65535 40/24/16/0 transposition 16 at 64" ] || fail "node-a's best VPN-IPv6 path for FRR's 10.0.0.30:200:fd00:30::/64: '$w6' in $v6"
echo "ok: node-a has FRR's VPN routes 10.0.0.30:200:192.169.30.0/24 (label, SID, behaviour, structure: $w4) and 10.0.0.30:200:fd00:30::/64 ($w6)"
grep -q "encap seg6 mode encap segs 1 \[ $sid4 \]" <<<"$a4" || fail "node-a VRF blue route to FRR's 192.169.30.0/24 (FRR's End.DT4 SID $sid4): '$a4'"
grep -q "encap seg6 mode encap segs 1 \[ $sid6 \]" <<<"$a6" || fail "node-a VRF blue route to FRR's fd00:30::/64 (FRR's End.DT6 SID $sid6): '$a6'"
echo "ok: node-a imported FRR's VPN routes with FRR's SIDs (transposition undone): 192.169.30.0/24 -> $sid4 (End.DT4), fd00:30::/64 -> $sid6 (End.DT6)"
grep -q "encap seg6 mode encap segs 1 \[ $sid4 \]" <<<"$a4" || fail "node-a VRF blue route to FRR's 192.169.30.0/24: '$a4'"
grep -q "encap seg6 mode encap segs 1 \[ $sid6 \]" <<<"$a6" || fail "node-a VRF blue route to FRR's fd00:30::/64: '$a6'"
echo "ok: node-a H.Encaps to FRR's host subnet: $a4"
echo "ok: node-a H.Encaps to FRR's host subnet: $a6"
grep -q "encap seg6 mode encap segs 1 \[ fd00:0:32:e000:: \]" <<<"$p4" || fail "the FRR PE's VRF blue (table 300) route to 192.169.20.2: '$p4'"
grep -q "encap seg6 mode encap segs 1 \[ fd00:0:32:e000:: \]" <<<"$p6" || fail "the FRR PE's VRF blue (table 300) route to fd00:20::2: '$p6'"
echo "ok: the FRR PE (zebra) installed our host routes in its kernel VRF blue: $p4"
echo "ok: the FRR PE (zebra) installed our host routes in its kernel VRF blue: $p6"
ip -n host-a route add 192.169.30.0/24 via 192.169.20.1
ip -n host-a -6 route add fd00:30::/64 via fd00:20::1
before=$(stats)
ip netns exec host-a ping -c 3 -i 0.3 -W 2 192.169.30.2 >/dev/null || fail "host-a 192.169.20.2 cannot ping host-c 192.169.30.2 behind the FRR PE (SRv6)"
ip netns exec host-c ping -c 3 -i 0.3 -W 2 192.169.20.2 >/dev/null || fail "host-c 192.169.30.2 behind the FRR PE cannot ping host-a 192.169.20.2 (SRv6)"
echo "ok: host-a 192.169.20.2 <-> host-c 192.169.30.2 (behind the FRR PE) over IPv4 and SRv6 both ways"
ip netns exec host-a ping -c 3 -i 0.3 -W 2 fd00:30::2 >/dev/null || fail "host-a fd00:20::2 cannot ping host-c fd00:30::2 behind the FRR PE (SRv6)"
ip netns exec host-c ping -c 3 -i 0.3 -W 2 fd00:20::2 >/dev/null || fail "host-c fd00:30::2 behind the FRR PE cannot ping host-a fd00:20::2 (SRv6)"
echo "ok: host-a fd00:20::2 <-> host-c fd00:30::2 (behind the FRR PE) over IPv6 and SRv6 both ways"
after=$(stats)
rx_ta=$(delta ta 1); tx_ta=$(delta ta 2); rx_tc=$(delta tc 1); tx_tc=$(delta tc 2)
[ "$rx_ta" -ge 12 ] && [ "$tx_ta" -ge 12 ] && [ "$rx_tc" -ge 12 ] && [ "$tx_tc" -ge 12 ] \
    || fail "ToR counters for the FRR PE pings: ta rx $rx_ta tx $tx_ta, tc rx $rx_tc tx $tx_tc (expected >= 12 each)"
echo "ok: the ToR forwarded the FRR PE pings (ta rx $rx_ta tx $tx_ta, tc rx $rx_tc tx $tx_tc); outer sources node-a's VTEP and the PE's fd00:66:: (ToR rules refuse others)"

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
