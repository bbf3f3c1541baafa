#!/usr/bin/env bash
# Runs INSIDE the VM (vm/run.sh vm/tests/evpn-fabric.sh PEROUTERD): an OpenPERouter-like
# fabric end to end, with perouterd's BGP driving the kernel.
#
#   host-a ── node-a (perouterd, AS 64514) ──┐                ┌── node-b (perouterd) ── host-b
#   192.169.10.2 (node 0)   VTEP 100.65.0.0  └─ tor (FRR 8.4 ─┘   VTEP 100.65.0.1   192.169.10.3
#                                                 bgpd + zebra,                      (node 1)
#                                                 AS 64512)
#
# Each node runs perouterd with `--host-netns`: it builds its own layout (VRF red, br-pe-100,
# vni100, the pe-e-100/host-e-100 veth, the pt-ns/pt-host passthrough veth, VTEP on lo,
# sysctls), originates its VTEP /32 over IPv4 unicast, and runs the VRF red instance with the
# host session (OpenPERouter's `router bgp 64514 vrf red`):
#   - host-a runs FRR (bgpd + zebra, AS 64515), as frr-k8s would: a VRF session over IPv4 and
#     IPv6 (it announces its service address 10.201.0.1/32 and installs what it learns) and a
#     passthrough session in the default VRF (it learns the underlay);
#   - host-b runs GoBGP (AS 64516): it announces 10.202.0.1/32; it installs nothing, so it
#     has a default route via its router-side address.
# The nodes turn the host routes into type-5 routes through the ToR (allowas-in: both nodes
# share AS 64514), import the other node's into VRF red (onlink route via the remote VTEP,
# neighbour VTEP->router MAC, FDB router MAC->VTEP), advertise them to their host with the
# router-side address as next hop, and install the host-learned routes in the VRF table.
# The L2VNI 110 (no routing domain) is stretched between the nodes: type-3 flood lists and
# type-2 MACs learned from the hosts' managed bridges carry a ping in one subnet.
# GoBGP (AS 64999) behind the ToR injects type-5 routes, and also peers with node-a directly
# (multihop): a complete type-5 is installed in VRF red; its default shape (no router MAC,
# label 0) is not, by perouterd's own rule (the ToR drops it too).
# An FRR leaf (AS 64520, bgpd + zebra, kernel VRF red with br100/vni100, hostA_red behind
# it) is FRR's own EVPN: it installs our type-5 routes (router MAC, VNI, `show evpn rmac vni
# 100`), we install its type-5, and host-a pings hostA_red through both VXLAN dataplanes.
# Pings: host-a -> host-b service address (four translations), host-a -> host-b over IPv4
# and IPv6 with routes learned over BGP only, the L2VNI, and host-a's passthrough address ->
# GoBGP's underlay address. The end prints a summary of sessions, routes and pings, then
# withdrawals: node-b stops (Cease), node-a removes its routes.
# Prints "EVPN FABRIC OK" as its last line on success.
set -euo pipefail

bin=${1:-target/debug/perouterd}
ctlbin=$(dirname "$bin")/perouterctl
fail() { echo "EVPN FABRIC FAIL: $*" >&2; dump; exit 1; }
dump() {
    for n in a b; do
        echo "--- perouterd node-$n log (last 40 lines)" >&2
        tail -40 "/tmp/node-$n/perouterd.log" >&2 || true
        ip -n "node-$n" -d route show vrf red >&2 || true
        ip -n "node-$n" route show >&2 || true
    done
    vtysh_tor "show bgp summary" >&2 || true
    vtysh_tor "show bgp l2vpn evpn" >&2 || true
}
[ -d /run/vm ] && [ -f /run/vm/guest.sh ] || { echo "not inside vm/run.sh's VM"; exit 1; }
[ -x "$bin" ] && [ -x "$ctlbin" ] || { echo "$bin or $ctlbin not found: cargo build -p router --bins"; exit 1; }
[ -x /usr/lib/frr/bgpd ] || { echo "FRR not installed on the host (apt-get install frr)"; exit 1; }
command -v ping >/dev/null || { echo "ping not found (apt-get install iputils-ping)"; exit 1; }

TORDIR=/tmp/frr-tor
vtysh_tor() { vtysh --vty_socket "$TORDIR" -c "$1"; }
# One GoBGP neighbour in TOML: gob_neighbor ADDRESS PEER_AS LOCAL_ADDRESS FAMILY [MULTIHOP_TTL]
gob_neighbor() {
    cat <<EOF
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$1"
    peer-as = $2
  [neighbors.transport.config]
    local-address = "$3"
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "$4"
EOF
    [ -z "${5:-}" ] || printf '  [neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = %s\n' "$5"
}
gob_global() { printf '[global.config]\n  as = %s\n  router-id = "%s"\n  port = -1\n' "$1" "$2"; }

ip -batch - <<EOF
netns add tor
netns add node-a
netns add node-b
netns add host-a
netns add host-b
netns add gob
netns add leaf
netns add leafhost
netns add leafhost2
link add ta netns tor type veth peer name ul netns node-a
link add tb netns tor type veth peer name ul netns node-b
link add tg netns tor type veth peer name ul netns gob
link add tl netns tor type veth peer name ul netns leaf
link add lh netns leaf type veth peer name eth0 netns leafhost
link add lh2 netns leaf type veth peer name eth0 netns leafhost2
EOF
for ns in tor node-a node-b host-a host-b gob leaf leafhost leafhost2; do
    ip netns exec "$ns" sh -c 'ip link set lo up; echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad'
done
ip -n tor -batch - <<EOF
addr add 192.168.11.2/24 dev ta
addr add 192.168.12.2/24 dev tb
addr add 192.168.13.2/24 dev tg
addr add 192.168.14.2/24 dev tl
link set tl up
link set ta up
link set tb up
link set tg up
EOF
ip netns exec tor sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
ip -n node-a addr add 192.168.11.3/24 dev ul; ip -n node-a link set ul up
ip -n node-b addr add 192.168.12.3/24 dev ul; ip -n node-b link set ul up
ip -n gob addr add 192.168.13.3/24 dev ul; ip -n gob link set ul up
ip -n gob route add default via 192.168.13.2
# The leaf: FRR's own EVPN with a kernel VRF (OpenPERouter's e2e leaf): VRF red (table 1100),
# br100 (its MAC is the router MAC FRR advertises), vni100 from VTEP 100.64.0.20, and
# hostA_red (192.168.20.2) behind it in VRF red.
ip -n leaf -batch - <<EOF
addr add 192.168.14.3/24 dev ul
link set ul up
addr add 100.64.0.20/32 dev lo
link add red type vrf table 1100
link set red up
link add br100 type bridge
link set br100 address 02:00:00:00:20:20 master red addrgenmode none
link set br100 up
link add vni100 type vxlan id 100 local 100.64.0.20 dstport 4789 nolearning
link set vni100 master br100 addrgenmode none
link set vni100 type bridge_slave neigh_suppress on learning off
link set vni100 up
link set lh master red
addr add 192.168.20.1/24 dev lh
link set lh up
link add br110 type bridge
link set br110 addrgenmode none
link set br110 up
link add vni110 type vxlan id 110 local 100.64.0.20 dstport 4789 nolearning
link set vni110 master br110 addrgenmode none
link set vni110 type bridge_slave neigh_suppress on learning off
link set vni110 up
link set lh2 master br110
link set lh2 up
EOF
ip -n leafhost2 -batch - <<EOF
addr add 10.110.0.20/24 dev eth0
link set eth0 up
EOF
ip netns exec leaf sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
ip -n leafhost -batch - <<EOF
addr add 192.168.20.2/24 dev eth0
link set eth0 up
route add default via 192.168.20.1
EOF

# The ToR: FRR with zebra (it installs the VTEP routes it learns, and forwards VXLAN).
mkdir -p "$TORDIR"; chmod 777 "$TORDIR"
cat > "$TORDIR/bgpd.conf" <<EOF
frr defaults datacenter
hostname tor
log file $TORDIR/bgpd.log
router bgp 64512
 bgp router-id 10.0.0.100
 no bgp ebgp-requires-policy
 neighbor 192.168.11.3 remote-as 64514
 neighbor 192.168.12.3 remote-as 64514
 neighbor 192.168.13.3 remote-as 64999
 neighbor 192.168.14.3 remote-as 64520
 neighbor 192.168.14.3 timers 3 9
 neighbor 192.168.11.3 timers 3 9
 neighbor 192.168.12.3 timers 3 9
 neighbor 192.168.13.3 timers 3 9
 address-family ipv4 unicast
  redistribute connected
 exit-address-family
 address-family l2vpn evpn
  neighbor 192.168.11.3 activate
  neighbor 192.168.12.3 activate
  neighbor 192.168.13.3 activate
  neighbor 192.168.14.3 activate
 exit-address-family
EOF
echo "hostname zebra" > "$TORDIR/zebra.conf"
ip netns exec tor /usr/lib/frr/zebra -u frr -g frr -P 0 -f "$TORDIR/zebra.conf" \
    -i "$TORDIR/zebra.pid" -z "$TORDIR/zserv.api" --vty_socket "$TORDIR" \
    --log "file:$TORDIR/zebra.log" > "$TORDIR/zebra.out" 2>&1 &
for _ in $(seq 50); do [ -S "$TORDIR/zserv.api" ] && break; sleep 0.2; done
[ -S "$TORDIR/zserv.api" ] || fail "zebra did not start"
ip netns exec tor /usr/lib/frr/bgpd -S -P 0 -z "$TORDIR/zserv.api" --vty_socket "$TORDIR" \
    -i "$TORDIR/bgpd.pid" -f "$TORDIR/bgpd.conf" > "$TORDIR/bgpd.out" 2>&1 &

# The leaf's FRR (bgpd + zebra): L3VNI red with `advertise ipv4 unicast`, connected routes of
# VRF red redistributed, our RT imported (as OpenPERouter's e2e leaf template does).
LEAFDIR=/tmp/frr-leaf
vtysh_leaf() { vtysh --vty_socket "$LEAFDIR" -c "$1"; }
mkdir -p "$LEAFDIR"; chmod 777 "$LEAFDIR"
cat > "$LEAFDIR/bgpd.conf" <<EOF
frr defaults datacenter
hostname leaf
log file $LEAFDIR/bgpd.log
router bgp 64520
 bgp router-id 10.0.0.20
 no bgp ebgp-requires-policy
 neighbor 192.168.14.2 remote-as 64512
 neighbor 192.168.14.2 timers 3 9
 address-family ipv4 unicast
  network 100.64.0.20/32
 exit-address-family
 address-family l2vpn evpn
  neighbor 192.168.14.2 activate
  advertise-all-vni
  vni 110
   route-target import 64514:110
  exit-vni
 exit-address-family
router bgp 64520 vrf red
 bgp router-id 10.0.0.20
 no bgp ebgp-requires-policy
 address-family ipv4 unicast
  redistribute connected
 exit-address-family
 address-family l2vpn evpn
  advertise ipv4 unicast
  route-target import 64514:100
 exit-address-family
EOF
# The VRF <-> L3VNI binding is zebra's (in an integrated frr.conf it lands there too).
printf 'hostname zebra\nvrf red\n vni 100\nexit-vrf\n' > "$LEAFDIR/zebra.conf"
ip netns exec leaf /usr/lib/frr/zebra -u frr -g frr -P 0 -f "$LEAFDIR/zebra.conf" \
    -i "$LEAFDIR/zebra.pid" -z "$LEAFDIR/zserv.api" --vty_socket "$LEAFDIR" \
    --log "file:$LEAFDIR/zebra.log" > "$LEAFDIR/zebra.out" 2>&1 &
for _ in $(seq 50); do [ -S "$LEAFDIR/zserv.api" ] && break; sleep 0.2; done
[ -S "$LEAFDIR/zserv.api" ] || fail "the leaf's zebra did not start"
ip netns exec leaf /usr/lib/frr/bgpd -S -P 0 -z "$LEAFDIR/zserv.api" --vty_socket "$LEAFDIR" \
    -i "$LEAFDIR/bgpd.pid" -f "$LEAFDIR/bgpd.conf" > "$LEAFDIR/bgpd.out" 2>&1 &

node_config() { # INDEX ROUTER_ID PEER HOST_ASN
    cat <<EOF
routerID: $2
asn: 64514
nodeIndex: $1
tunnelEndpoint: { cidrs: [100.65.0.0/24] }
neighbors:
  - address: $3
    asn: 64512
    holdTimeSeconds: 9
    keepaliveTimeSeconds: 3
    connectTimeSeconds: 2
    addressFamilies: [{ type: ipv4unicast }, { type: evpn }]
EOF
    if [ "$1" = 0 ]; then
        # node-a: GoBGP as a direct EVPN peer (multihop through the ToR), and the passthrough
        # host session.
        cat <<EOF
  - address: 192.168.13.3
    asn: 64999
    holdTimeSeconds: 9
    keepaliveTimeSeconds: 3
    connectTimeSeconds: 2
    properties: [{ type: ebgpMultiHop }]
    addressFamilies: [{ type: evpn }]
passthrough:
  hostSession: { asn: 64514, hostASN: $4, localCIDR: { ipv4: 192.170.0.0/24 } }
EOF
    fi
    cat <<EOF
l3vnis:
  - vrf: red
    vni: 100
    hostSession:
      asn: 64514
      hostASN: $4
      localCIDR: { ipv4: 192.169.10.0/24, ipv6: "2001:db8:1::/64" }
l2vnis:
  - vni: 110
    hostMaster: { type: LinuxBridge, linuxBridge: { lifecycle: Managed } }
EOF
}
start_node() { # NAME INDEX ROUTER_ID PEER HOST_ASN
    mkdir -p "/tmp/node-$1"
    node_config "$2" "$3" "$4" "$5" > "/tmp/node-$1/perouterd.yaml"
    ip netns exec "node-$1" "$bin" --config "/tmp/node-$1/perouterd.yaml" \
        --api-socket "/tmp/node-$1/api.sock" --state-dir "/tmp/node-$1" --watch-seconds 0 \
        --host-netns "/run/netns/host-$1" --log-level info >> "/tmp/node-$1/perouterd.log" 2>&1 &
    echo $! > "/tmp/node-$1/pid"
}
start_node a 0 10.0.0.1 192.168.11.2 64515
start_node b 1 10.0.0.2 192.168.12.2 64516
ctl() { "$ctlbin" --api-socket "/tmp/node-$1/api.sock" "${@:2}"; }

# host-a: FRR (bgpd + zebra) as the host speaker, a VRF session per family and the
# passthrough session. Its service address 10.201.0.1 lives on lo.
HADIR=/tmp/frr-host-a
vtysh_ha() { vtysh --vty_socket "$HADIR" -c "$1"; }
mkdir -p "$HADIR"; chmod 777 "$HADIR"
ip -n host-a addr add 10.201.0.1/32 dev lo
cat > "$HADIR/bgpd.conf" <<EOF
frr defaults datacenter
hostname host-a
log file $HADIR/bgpd.log
router bgp 64515
 bgp router-id 10.0.0.51
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 192.169.10.1 remote-as 64514
 neighbor 2001:db8:1::1 remote-as 64514
 neighbor 192.170.0.1 remote-as 64514
 neighbor 192.169.10.1 timers 3 9
 neighbor 2001:db8:1::1 timers 3 9
 neighbor 192.170.0.1 timers 3 9
 neighbor 192.169.10.1 timers connect 2
 neighbor 2001:db8:1::1 timers connect 2
 neighbor 192.170.0.1 timers connect 2
 address-family ipv4 unicast
  network 10.201.0.1/32
  neighbor 192.169.10.1 activate
  neighbor 192.170.0.1 activate
  neighbor 192.170.0.1 route-map NOTHING out
 exit-address-family
 address-family ipv6 unicast
  neighbor 2001:db8:1::1 activate
 exit-address-family
route-map NOTHING deny 10
EOF
echo "hostname zebra" > "$HADIR/zebra.conf"
ip netns exec host-a /usr/lib/frr/zebra -u frr -g frr -P 0 -f "$HADIR/zebra.conf" \
    -i "$HADIR/zebra.pid" -z "$HADIR/zserv.api" --vty_socket "$HADIR" \
    --log "file:$HADIR/zebra.log" > "$HADIR/zebra.out" 2>&1 &
for _ in $(seq 50); do [ -S "$HADIR/zserv.api" ] && break; sleep 0.2; done
[ -S "$HADIR/zserv.api" ] || fail "host-a's zebra did not start"
ip netns exec host-a /usr/lib/frr/bgpd -S -P 0 -z "$HADIR/zserv.api" --vty_socket "$HADIR" \
    -i "$HADIR/bgpd.pid" -f "$HADIR/bgpd.conf" > "$HADIR/bgpd.out" 2>&1 &

# host-b: GoBGP as the host speaker; it installs nothing, so a default route to its node.
command -v gobgpd >/dev/null || fail "gobgpd not found on the host (apt-get install gobgpd)"
mkdir -p /tmp/gob-host-b
{
    gob_global 64516 10.0.0.52
    gob_neighbor 192.169.10.1 64514 192.169.10.3 ipv4-unicast
    gob_neighbor 2001:db8:1::1 64514 2001:db8:1::3 ipv6-unicast
} > /tmp/gob-host-b/gobgpd.toml
ip netns exec host-b gobgpd -f /tmp/gob-host-b/gobgpd.toml -t toml --api-hosts 127.0.0.1:50051 \
    > /tmp/gob-host-b/gobgpd.log 2>&1 &
hb() { ip netns exec host-b gobgp -u 127.0.0.1 -p 50051 "$@"; }

# Both sessions up, both type-5 host routes at the ToR.
for _ in $(seq 60); do
    n=$(vtysh_tor "show bgp l2vpn evpn json" 2>/dev/null | grep -o '"\[5\]:\[0\]:\[32\]:\[192.169.10.[23]\]"' | sort -u | wc -l || true)
    [ "$n" = 2 ] && break
    sleep 1
done
[ "$n" = 2 ] || fail "the ToR did not get both nodes' type-5 routes"
evpn=$(vtysh_tor "show bgp l2vpn evpn route detail type prefix")
for want in "Route [5]:[0]:[32]:[192.169.10.2] VNI 100" "Route [5]:[0]:[32]:[192.169.10.3] VNI 100" \
            "RT:64514:100 ET:8 Rmac:02:00:64:41:00:00" "RT:64514:100 ET:8 Rmac:02:00:64:41:00:01"; do
    grep -qF "$want" <<<"$evpn" || fail "FRR's EVPN table lacks: $want"
done
echo "ok: FRR has both nodes' type-5 routes (VNI 100, RT 64514:100, ET:8, each node's router MAC)"

# Each node programs the other's host route into VRF red, and the other VTEP in main.
for _ in $(seq 30); do
    a=$(ip -n node-a route show vrf red 192.169.10.3 2>/dev/null || true)
    b=$(ip -n node-b route show vrf red 192.169.10.2 2>/dev/null || true)
    [ -n "$a" ] && [ -n "$b" ] && break
    sleep 1
done
grep -q "via 100.65.0.1 dev br-pe-100 proto 250 .*onlink" <<<"$a" || fail "node-a VRF red route to host-b: '$a'"
grep -q "via 100.65.0.0 dev br-pe-100 proto 250 .*onlink" <<<"$b" || fail "node-b VRF red route to host-a: '$b'"
ip -n node-a route show 100.65.0.1 | grep -q "via 192.168.11.2 .*proto 250" || fail "node-a has no route to VTEP 100.65.0.1"
echo "ok: node-a: 192.169.10.3 via VTEP 100.65.0.1 onlink in VRF red; VTEP route via the ToR"

# The host sessions: host-a's three (FRR) and host-b's two (GoBGP).
for _ in $(seq 60); do
    ok=1
    for nb in 192.169.10.1 2001:db8:1::1 192.170.0.1; do
        vtysh_ha "show bgp neighbors $nb json" 2>/dev/null \
            | jq -e --arg n "$nb" '.[$n].bgpState == "Established"' >/dev/null 2>&1 || ok=0
    done
    [ "$(hb neighbor 2>/dev/null | grep -c Establ || true)" = 2 ] || ok=0
    [ "$ok" = 1 ] && break
    sleep 1
done
if [ "$ok" != 1 ]; then
    vtysh_ha "show bgp summary" >&2 || true
    hb neighbor >&2 || true
    fail "host sessions not all established"
fi
echo "ok: host sessions established: host-a (FRR) VRF red over IPv4 and IPv6 plus passthrough; host-b (GoBGP) VRF red over IPv4 and IPv6"
PINGS=()

# host-b announces its service address; it routes everything through its node.
ip -n host-b addr add 10.202.0.1/32 dev lo
ip -n host-b route add default via 192.169.10.1
ip -n host-b -6 route add default via 2001:db8:1::1
# Every node's host session shares localCIDR (OpenPERouter's addressing), so host-a's address
# is inside host-b's connected subnet: FRR on host-a installs the /32 it learns, GoBGP on
# host-b installs nothing, so host-b gets the /32s by hand.
ip -n host-b route add 192.169.10.2/32 via 192.169.10.1
ip -n host-b -6 route add 2001:db8:1::2/128 via 2001:db8:1::1
for _ in 1 2 3; do hb global rib add -a ipv4 10.202.0.1/32 nexthop 192.169.10.3 >/dev/null && break; sleep 1; done

# Host routes -> type-5 at the ToR, with the host's AS behind the node's.
for _ in $(seq 30); do
    evpn=$(vtysh_tor "show bgp l2vpn evpn route detail type prefix")
    grep -qF "[5]:[0]:[32]:[10.201.0.1]" <<<"$evpn" && grep -qF "[5]:[0]:[32]:[10.202.0.1]" <<<"$evpn" && break
    sleep 1
done
for want in "Route [5]:[0]:[32]:[10.201.0.1] VNI 100" "Route [5]:[0]:[32]:[10.202.0.1] VNI 100"; do
    grep -qF "$want" <<<"$evpn" || fail "FRR's EVPN table lacks the host route: $want"
done
grep -q "^ *64514 64515" <<<"$evpn" && grep -q "^ *64514 64516" <<<"$evpn" \
    || fail "the type-5 routes of host routes do not carry the hosts' AS paths (64514 64515, 64514 64516)"
echo "ok: the hosts' service routes are type-5 routes at the ToR (VNI 100, AS paths 64514 64515 and 64514 64516)"

# node-b installs host-b's route in VRF red via host-b; node-a via node-b's VTEP.
for _ in $(seq 30); do
    rb=$(ip -n node-b route show vrf red 10.202.0.1 2>/dev/null || true)
    ra=$(ip -n node-a route show vrf red 10.202.0.1 2>/dev/null || true)
    [ -n "$rb" ] && [ -n "$ra" ] && break
    sleep 1
done
grep -q "via 192.169.10.3 dev pe-e-100 proto 250" <<<"$rb" || fail "node-b: host-b's route not in VRF red via host-b: '$rb'"
grep -q "via 100.65.0.1 dev br-pe-100 proto 250 .*onlink" <<<"$ra" || fail "node-a: host-b's route not in VRF red via VTEP 100.65.0.1: '$ra'"
echo "ok: 10.202.0.1: node-b VRF red via host-b (host session), node-a VRF red via VTEP 100.65.0.1 (type-5)"

# The hosts learn the other side over their VRF sessions (next hop: the router side).
for _ in $(seq 30); do
    ha=$(ip -n host-a route show 10.202.0.1 2>/dev/null || true)
    ha3=$(ip -n host-a route show 192.169.10.3 2>/dev/null || true)
    ha6=$(ip -n host-a -6 route show 2001:db8:1::3 2>/dev/null || true)
    hbr=$(hb global rib -a ipv4 10.201.0.1/32 2>/dev/null || true)
    [ -n "$ha" ] && [ -n "$ha3" ] && [ -n "$ha6" ] && grep -q 10.201.0.1 <<<"$hbr" && break
    sleep 1
done
grep -q "via 192.169.10.1 .*proto bgp" <<<"$ha" || fail "host-a did not install 10.202.0.1 via 192.169.10.1: '$ha'"
grep -q "via 192.169.10.1 .*proto bgp" <<<"$ha3" || fail "host-a did not install host-b's 192.169.10.3 via 192.169.10.1: '$ha3'"
grep -q "proto bgp" <<<"$ha6" || fail "host-a did not install host-b's 2001:db8:1::3: '$ha6'"
grep -q "192.169.10.1" <<<"$hbr" || fail "GoBGP on host-b lacks 10.201.0.1/32 via 192.169.10.1: '$hbr'"
echo "ok: host-a (FRR/zebra) installed 10.202.0.1, 192.169.10.3 and 2001:db8:1::3 via node-a; host-b (GoBGP) has 10.201.0.1/32 via 192.169.10.1"

before=$(ip -n node-b -s -j link show dev vni100 | jq '.[0].stats64.rx.packets')
ip netns exec host-a ping -c 3 -i 0.3 -W 2 -I 10.201.0.1 10.202.0.1 >/dev/null \
    || fail "host-a 10.201.0.1 cannot ping host-b 10.202.0.1"
PINGS+=("L3VNI red  IPv4  host-a 10.201.0.1 -> host-b 10.202.0.1   (service addresses, BGP on both hosts)  ok")
echo "ok: host-a 10.201.0.1 -> host-b 10.202.0.1 through VRF red, VXLAN and the FRR ToR"
ip netns exec host-a ping -c 3 -i 0.3 -W 2 192.169.10.3 >/dev/null || fail "host-a cannot ping host-b (IPv4)"
PINGS+=("L3VNI red  IPv4  host-a 192.169.10.2 -> host-b 192.169.10.3                                      ok")
echo "ok: host-a -> host-b over IPv4 (a route learned over BGP)"
ip netns exec host-a ping -c 3 -i 0.3 -W 2 2001:db8:1::3 >/dev/null || fail "host-a cannot ping host-b (IPv6)"
PINGS+=("L3VNI red  IPv6  host-a 2001:db8:1::2 -> host-b 2001:db8:1::3 (IPv6 over the IPv4 VTEP)          ok")
echo "ok: host-a -> host-b over IPv6 (IPv6 route via the IPv4 VTEP, mapped next hop)"
after=$(ip -n node-b -s -j link show dev vni100 | jq '.[0].stats64.rx.packets')
[ "$after" -ge $((before + 9)) ] || fail "node-b's vni100 received $((after - before)) packets, expected >= 9"
echo "ok: node-b's vni100 received $((after - before)) packets"

# L3Passthrough: host-a's default-VRF session takes part in the underlay. It learns the
# ToR's networks; the ToR learns host-a's passthrough address from node-a.
for _ in $(seq 30); do
    pt=$(ip -n host-a route show 192.168.13.0/24 2>/dev/null || true)
    [ -n "$pt" ] && break
    sleep 1
done
grep -q "via 192.170.0.1 .*proto bgp" <<<"$pt" || fail "host-a did not learn 192.168.13.0/24 over the passthrough session: '$pt'"
ip netns exec host-a ping -c 3 -i 0.3 -W 2 -I 192.170.0.2 192.168.13.3 >/dev/null \
    || fail "host-a's passthrough address cannot reach GoBGP's underlay address 192.168.13.3"
PINGS+=("passthrough IPv4 host-a 192.170.0.2 -> 192.168.13.3 (underlay, via node-a's default VRF)          ok")
echo "ok: L3Passthrough: host-a 192.170.0.2 -> 192.168.13.3 through node-a's default VRF and the ToR"

# The stretched L2VNI 110: the hosts' managed bridges br-hs-110 share 10.110.0.0/24 across
# the two nodes. ARP floods over the type-3 flood lists; the bridges learn the MACs, which
# the nodes advertise as type-2 routes and program on the other side.
for _ in $(seq 30); do
    fa=$(bridge -n node-a fdb show dev vni110 | grep -c '^00:00:00:00:00:00 dst 100.65.0.1' || true)
    fb=$(bridge -n node-b fdb show dev vni110 | grep -c '^00:00:00:00:00:00 dst 100.65.0.0' || true)
    [ "$fa" = 1 ] && [ "$fb" = 1 ] && break
    sleep 1
done
[ "$fa" = 1 ] && [ "$fb" = 1 ] || fail "no type-3 flood entries on vni110 (node-a $fa, node-b $fb)"
echo "ok: type-3 routes built each node's flood list for VNI 110"
ip -n host-a addr add 10.110.0.2/24 dev br-hs-110
ip -n host-b addr add 10.110.0.3/24 dev br-hs-110
ip netns exec host-a ping -c 3 -i 0.3 -W 2 10.110.0.3 >/dev/null || fail "host-a cannot ping host-b over the stretched L2VNI"
PINGS+=("L2VNI 110  IPv4  host-a 10.110.0.2 -> host-b 10.110.0.3 (stretched L2, type-2/type-3)         ok")
echo "ok: host-a -> host-b over the stretched L2VNI 110"
mac_b=$(ip -n host-b -j link show dev br-hs-110 | jq -r '.[0].address')
for _ in $(seq 30); do
    t2=$(bridge -n node-a fdb show dev vni110 | grep "^$mac_b dst 100.65.0.1" || true)
    [ -n "$t2" ] && break
    sleep 1
done
grep -q extern_learn <<<"$t2" || fail "node-a has no type-2 FDB entry for host-b's MAC $mac_b: '$t2'"
m2=$(bridge -n node-a fdb show dev vni110 | grep "^$mac_b .*master br-pe-110" || true)
grep -q extern_learn <<<"$m2" || fail "node-a's bridge has no extern_learn entry for host-b's MAC on vni110: '$m2'"
echo "ok: host-b's MAC learned on node-b, advertised as type-2, programmed on node-a ($t2; bridge: $m2)"

# The FRR leaf also has L2VNI 110 (br110, vni110, leafhost2 10.110.0.20): FRR takes our
# type-3 routes as its remote VTEPs and our type-2 MACs, and a ping crosses between
# leafhost2 and host-a in one subnet (FRR's VXLAN dataplane and ours).
ip netns exec leafhost2 ping -c 3 -i 0.3 -W 2 10.110.0.2 >/dev/null \
    || fail "leafhost2 10.110.0.20 cannot ping host-a 10.110.0.2 over L2VNI 110"
PINGS+=("L2VNI 110  IPv4  leafhost2 10.110.0.20 (FRR leaf) -> host-a 10.110.0.2                       ok")
mac_a=$(ip -n host-a -j link show dev br-hs-110 | jq -r '.[0].address')
for _ in $(seq 20); do
    vteps=$(vtysh_leaf "show evpn vni 110 json")
    macs=$(vtysh_leaf "show evpn mac vni 110 json")
    jq -e --arg m "$mac_a" '.macs[$m].remoteVtep == "100.65.0.0"' <<<"$macs" >/dev/null 2>&1 && break
    sleep 1
done
# (FRR 8.4 prints the list under "numRemoteVteps".)
jq -e '[(.remoteVteps // .numRemoteVteps // [])[] | if type == "object" then .ip else . end] | index("100.65.0.0") != null and index("100.65.0.1") != null' <<<"$vteps" >/dev/null \
    || fail "the FRR leaf's VNI 110 does not list both our VTEPs (from our type-3 routes): $vteps"
jq -e --arg m "$mac_a" '.macs[$m].type == "remote" and .macs[$m].remoteVtep == "100.65.0.0"' <<<"$macs" >/dev/null \
    || fail "the FRR leaf has no remote MAC $mac_a via 100.65.0.0 (our type-2): $macs"
echo "ok: the FRR leaf took our type-3 routes (remote VTEPs 100.65.0.0, 100.65.0.1 in VNI 110) and our type-2 ($mac_a via 100.65.0.0); leafhost2 -> host-a over L2VNI 110"

# GoBGP as a second EVPN speaker (AS 64999, behind the ToR; its VTEP is its underlay address,
# which the ToR redistributes; it also peers with node-a directly) injects two type-5 routes
# for VRF red (RT 64999:100, imported by *:100): one complete (router MAC, label 100), and one
# as GoBGP sends it by default (no router MAC, label 0), which FRR's rule (RFC 9136 §3.1)
# treats as withdrawn: the ToR does, and so does node-a on the direct session.
if command -v gobgpd >/dev/null; then
    mkdir -p /tmp/gob
    {
        gob_global 64999 10.0.0.99
        gob_neighbor 192.168.13.2 64512 192.168.13.3 l2vpn-evpn
        gob_neighbor 192.168.11.3 64514 192.168.13.3 l2vpn-evpn 8
    } > /tmp/gob/gobgpd.toml
    ip netns exec gob gobgpd -f /tmp/gob/gobgpd.toml -t toml --api-hosts 127.0.0.1:50051 > /tmp/gob/gobgpd.log 2>&1 &
    gob() { ip netns exec gob gobgp -u 127.0.0.1 -p 50051 "$@"; }
    # A CLI call can hit gobgp's gRPC deadline when the host is busy: try a few times.
    gob_add() { for _ in 1 2 3; do gob global rib -a evpn add "$@" && return 0; sleep 1; done; fail "gobgp: evpn add $*"; }
    for _ in $(seq 30); do
        [ "$(gob neighbor 2>/dev/null | grep -c Establ || true)" = 2 ] && break
        sleep 1
    done
    [ "$(gob neighbor | grep -c Establ || true)" = 2 ] || { gob neighbor >&2; fail "GoBGP's sessions with the ToR and node-a did not come up"; }
    gob_add prefix 10.99.0.0/24 etag 0 rd 10.0.0.99:1 rt 64999:100 \
        encap vxlan router-mac 02:00:00:00:00:99 label 100 nexthop 192.168.13.3
    gob_add prefix 10.98.0.0/24 etag 0 rd 10.0.0.99:2 rt 64999:100 \
        nexthop 192.168.13.3
    for _ in $(seq 30); do
        g=$(ip -n node-a route show vrf red 10.99.0.0/24 2>/dev/null || true)
        [ -n "$g" ] && break
        sleep 1
    done
    if ! grep -q "via 192.168.13.3 dev br-pe-100 proto 250 .*onlink" <<<"$g"; then
        gob global rib -a evpn >&2 || true
        vtysh_tor "show bgp l2vpn evpn route detail type prefix" >&2 || true
        grep -i "type-5\|ignored\|imports" /tmp/node-a/perouterd.log | tail -20 >&2 || true
        fail "node-a did not install GoBGP's type-5: '$g'"
    fi
    n=$(ip -n node-a neigh show dev br-pe-100 192.168.13.3)
    grep -q "lladdr 02:00:00:00:00:99" <<<"$n" || fail "no VTEP -> router MAC neighbour for GoBGP's route: '$n'"
    echo "ok: GoBGP's type-5 (router MAC, label 100) installed in VRF red via its VTEP 192.168.13.3"
    # Received directly from GoBGP (the ToR drops it too): treated as withdrawn, as FRR does
    # (RFC 9136 §3.1: label 0 and no overlay index), counted, and not installed.
    for _ in $(seq 20); do
        taw=$(ctl a --json show bgp neighbors 192.168.13.3 | jq '.rfc7606.treat_as_withdraw')
        [ "${taw:-0}" -ge 1 ] && break
        sleep 1
    done
    [ "${taw:-0}" -ge 1 ] || fail "node-a did not treat GoBGP's default type-5 as withdrawn (treat_as_withdraw=$taw)"
    ctl a --json show bgp routes --afi l2vpn-evpn | grep -q "10.98.0.0" && fail "GoBGP's default type-5 is in node-a's RIB"
    [ -z "$(ip -n node-a route show vrf red 10.98.0.0/24)" ] || fail "GoBGP's type-5 without router MAC was installed"
    echo "ok: GoBGP's default type-5 (no router MAC, label 0), received directly by node-a, is treated as withdrawn (RFC 9136 §3.1, as FRR does) and not installed"
else
    fail "gobgpd not found on the host (apt-get install gobgpd)"
fi

# The FRR leaf (real VRF, its own zebra EVPN): it installs our type-5 routes with our router
# MAC and VNI, we install its type-5 (its VRF's connected subnet), and hostA_red behind it
# talks to host-a's service address.
for _ in $(seq 40); do
    lr=$(vtysh_leaf "show bgp vrf red ipv4 json" 2>/dev/null || true)
    na=$(ip -n node-a route show vrf red 192.168.20.0/24 2>/dev/null || true)
    jq -e '.routes["10.201.0.1/32"] and .routes["192.169.10.2/32"]' <<<"$lr" >/dev/null 2>&1 && [ -n "$na" ] && break
    sleep 1
done
jq -e '.routes["10.201.0.1/32"]' <<<"$lr" >/dev/null 2>&1 || { vtysh_leaf "show bgp l2vpn evpn" >&2 || true; fail "the FRR leaf did not import host-a's 10.201.0.1/32 into VRF red"; }
rmacs=$(vtysh_leaf "show evpn rmac vni 100 json")
jq -e '.[] | objects | select(.routerMac == "02:00:64:41:00:00" and .vtepIp == "100.65.0.0")' <<<"$rmacs" >/dev/null \
    || fail "the FRR leaf has no router MAC 02:00:64:41:00:00 for VTEP 100.65.0.0 in VNI 100: $rmacs"
vni=$(vtysh_leaf "show evpn vni 100 json")
jq -e '.type == "L3" and ((.vrf // .tenantVrf) == "red")' <<<"$vni" >/dev/null || fail "the leaf's VNI 100 is not the L3VNI of red: $vni"
lk=$(ip -n leaf route show vrf red 10.201.0.1)
grep -q "via 100.65.0.0 dev br100 .*onlink" <<<"$lk" || fail "the leaf's zebra did not install 10.201.0.1 via our VTEP: '$lk'"
echo "ok: the FRR leaf (zebra, kernel VRF red) imported our type-5 routes: router MAC 02:00:64:41:00:00 for VTEP 100.65.0.0 in L3VNI 100, 10.201.0.1 via 100.65.0.0 onlink"
grep -q "via 100.64.0.20 dev br-pe-100 proto 250 .*onlink" <<<"$na" || fail "node-a did not install the leaf's 192.168.20.0/24: '$na'"
ln=$(ip -n node-a neigh show dev br-pe-100 100.64.0.20)
grep -q "lladdr 02:00:00:00:20:20" <<<"$ln" || fail "node-a has no VTEP -> router MAC neighbour for the leaf: '$ln'"
echo "ok: node-a installed the FRR leaf's type-5 192.168.20.0/24 via VTEP 100.64.0.20 (router MAC 02:00:00:00:20:20)"
for _ in $(seq 20); do
    ip -n host-a route show 192.168.20.0/24 | grep -q "proto bgp" && break
    sleep 1
done
ip netns exec host-a ping -c 3 -i 0.3 -W 2 -I 10.201.0.1 192.168.20.2 >/dev/null \
    || fail "host-a 10.201.0.1 cannot ping hostA_red 192.168.20.2 behind the FRR leaf"
PINGS+=("L3VNI red  IPv4  host-a 10.201.0.1 -> hostA_red 192.168.20.2 behind the FRR leaf (zebra VRF) ok")
echo "ok: host-a 10.201.0.1 -> hostA_red 192.168.20.2 behind the FRR leaf (FRR's VXLAN dataplane both ways)"

# The summary: sessions, routes, pings.
echo
echo "=================================== summary ==================================="
for n in a b; do
    echo "--- node-$n: perouterctl show bgp summary"
    ctl "$n" show bgp summary || true
done
echo "--- node-a: perouterctl show bgp routes --vrf red (ipv4)"
ctl a show bgp routes --vrf red --afi ipv4-unicast || true
echo "--- node-a: kernel VRF red (ip route show vrf red)"
ip -n node-a route show vrf red | grep -v "^local\|^broadcast" || true
echo "--- ToR (FRR): type-5 routes"
vtysh_tor "show bgp l2vpn evpn route type prefix" || true
echo "--- pings"
for p in "${PINGS[@]}"; do echo "  $p"; done
echo "================================================================================"
echo

# Withdrawal: node-b stops (Cease); the ToR withdraws its routes; node-a removes the route.
kill -TERM "$(cat /tmp/node-b/pid)"
for _ in $(seq 30); do
    a=$(ip -n node-a route show vrf red 192.169.10.3 2>/dev/null || true)
    [ -z "$a" ] && break
    sleep 1
done
[ -z "$a" ] || fail "node-a kept the route to host-b after node-b left: '$a'"
echo "ok: node-b's withdrawal removed the route from node-a's VRF"
kill -TERM "$(cat /tmp/node-a/pid)" 2>/dev/null || true
echo "EVPN FABRIC OK"
