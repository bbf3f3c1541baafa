#!/usr/bin/env bash
# perouterd in OpenPERouter's place, in small: three network namespaces on this host.
#
#   plab-tor (FRR 8.4 bgpd, AS 64512)        "fabric": 10.200.0.0/24, fd00:200::/64
#      tor0 192.168.11.2/24  fd00:11::2/64
#        |  underlay veth, eBGP over IPv4 and IPv6
#      uplink 192.168.11.3/24 fd00:11::3/64
#   plab-router (perouterd, AS 64514)
#      host0 192.169.10.1/24 fd00:10::1/64
#        |  host veth (OpenPERouter's pt-ns/pt-host), eBGP over IPv4 and IPv6
#      eth0 192.169.10.2/24  fd00:10::2/64
#   plab-host (GoBGP 3.10, AS 64515)         "service" VIPs: 10.100.0.{1,2,3}/32, fd00:100::1/128
#
# Checks, each with a timeout: the four sessions reach Established; the host's /32s reach the
# ToR with AS path "64514 64515" and next hop 192.168.11.3 (and the IPv6 /128 via fd00:11::3);
# the ToR's prefixes reach the host via 192.169.10.1 (fd00:10::1); a configuration reload that
# adds a description is applied in place (no session reset); a route withdrawn at the host is
# withdrawn at the ToR.
#
# Usage (as root, from anywhere):   lab/host-tor.sh
#   PLAB_KEEP=1   keep the state directory (configs, logs) after the run; its path is printed
#   PLAB_NO_BUILD=1   do not run cargo (use the binaries in target/release as they are)
#
# On a fresh Debian machine with only the Rust toolchain it installs FRR, GoBGP, iproute2 and
# jq with apt-get when they are missing, and builds perouterd in release mode.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NS_TOR=plab-tor
NS_RTR=plab-router
NS_HOST=plab-host
ALL_NS=("$NS_TOR" "$NS_RTR" "$NS_HOST")
STATE_PREFIX=${TMPDIR:-/tmp}/plab-host-tor.
LOCK=$([ -d /run/lock ] && echo /run/lock || echo /tmp)/plab-host-tor.lock
TIMEOUT=${PLAB_TIMEOUT:-30}   # seconds for each wait

STATE=""
PIDS=()        # "pid name" of every daemon we start
RESULT=FAIL
STEP="start"

say() { printf '\n=== %s\n' "$*"; }
info() { printf -- '--- %s\n' "$*"; }
fail() {
    printf '\nFAILED: %s\n' "$*" >&2
    dump_logs >&2
    exit 1
}

dump_logs() {
    [ -n "$STATE" ] && [ -d "$STATE" ] || return 0
    local f
    if [ -S "$STATE/perouterd.sock" ]; then
        printf '\n--- perouterctl --json show bgp summary\n'
        "$PEROUTERCTL" --api-socket "$STATE/perouterd.sock" --json show bgp summary 2>&1 || true
    fi
    for f in "$STATE/perouterd.log" "$STATE/frr/bgpd.log" "$STATE/gobgp/gobgpd.log"; do
        [ -s "$f" ] || continue
        printf '\n--- last lines of %s\n' "$f"
        # bgpd -Z logs one zclient error per nexthop registration: noise here.
        grep -v 'sendmsg_nexthop: zclient_send_message() failed' "$f" | tail -n 25
    done
}

kill_ns_procs() { # kill whatever still runs inside one of *our* namespaces (leftovers)
    local ns=$1 pid
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill "$pid" 2>/dev/null || true
    done
    sleep 0.3
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill -9 "$pid" 2>/dev/null || true
    done
}

cleanup() {
    local rc=$? entry pid name
    trap - EXIT INT TERM
    set +e
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do   # perouterd first, then its peers
        entry=${PIDS[i]}; pid=${entry%% *}; name=${entry#* }
        kill "$pid" 2>/dev/null && info "stopped $name (pid $pid)"
        [ "$name" = perouterd ] && sleep 0.3   # let the peers log its NOTIFICATIONs
    done
    for entry in "${PIDS[@]}"; do
        pid=${entry%% *}
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    for ns in "${ALL_NS[@]}"; do
        if ip netns list | grep -qx "$ns\( .*\)\?"; then
            kill_ns_procs "$ns"
            ip netns del "$ns"
        fi
    done
    if [ -n "$STATE" ] && [ -d "$STATE" ]; then
        if [ -n "${PLAB_KEEP:-}" ]; then
            touch "$STATE/.keep"
            info "state kept in $STATE"
        else
            rm -rf "$STATE"
        fi
    fi
    if [ "$RESULT" = PASS ] && [ "$rc" -eq 0 ]; then
        printf '\nPASS: perouterd carried routes ToR<->host both ways, reloaded in place and propagated a withdrawal (%ss after the build)\n' "$((SECONDS - T0))"
    else
        printf '\nFAIL: %s (exit %s)\n' "$STEP" "$rc" >&2
        [ "$rc" -eq 0 ] && rc=1
    fi
    exit "$rc"
}

# wait_until SECONDS DESCRIPTION CMD... : polls CMD every 0.2 s; on timeout fails the run,
# quoting what CMD printed the last time (predicates print what they saw).
wait_until() {
    local t=$1 what=$2; shift 2
    local deadline=$((SECONDS + t)) last
    until last=$("$@" 2>&1); do
        [ "$SECONDS" -ge "$deadline" ] && fail "timed out after ${t}s waiting for $what${last:+ (last check: $last)}"
        sleep 0.2
    done
}

# ---------------------------------------------------------------- prerequisites
[ "$(id -u)" -eq 0 ] || { echo "FAIL: run as root (the lab creates network namespaces)" >&2; exit 1; }

need=()
command -v ip >/dev/null || need+=(iproute2)
{ [ -x /usr/lib/frr/bgpd ] && command -v vtysh >/dev/null; } || need+=(frr)
{ command -v gobgpd >/dev/null && command -v gobgp >/dev/null; } || need+=(gobgpd)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"; } ||
        { echo "FAIL: apt-get install ${need[*]} failed" >&2; exit 1; }
fi

if [ -z "${PLAB_NO_BUILD:-}" ]; then
    command -v cargo >/dev/null || { echo "FAIL: cargo not found in PATH (with sudo: sudo -E env PATH=\"\$PATH\" $0)" >&2; exit 1; }
    say "building perouterd (cargo build --release -p router --bins; a no-op when fresh)"
    (cd "$REPO" && cargo build --release -p router --bins) ||
        { echo "FAIL: cargo build --release -p router --bins failed" >&2; exit 1; }
fi
PEROUTERD=$REPO/target/release/perouterd
PEROUTERCTL=$REPO/target/release/perouterctl
[ -x "$PEROUTERD" ] && [ -x "$PEROUTERCTL" ] || { echo "FAIL: missing $PEROUTERD or $PEROUTERCTL" >&2; exit 1; }

T0=$SECONDS
# One run at a time; then leftovers of an earlier (interrupted) run are ours to remove. The
# daemons are started with fd 9 closed, so only this script holds the lock.
exec 9>"$LOCK"
flock -n 9 || { echo "FAIL: another lab/host-tor.sh run holds $LOCK" >&2; exit 1; }
trap cleanup EXIT
trap 'STEP="interrupted"; exit 130' INT TERM
for ns in "${ALL_NS[@]}"; do
    if ip netns list | grep -qx "$ns\( .*\)\?"; then
        info "removing leftover namespace $ns"
        kill_ns_procs "$ns"
        ip netns del "$ns"
    fi
done
for d in "$STATE_PREFIX"*; do
    [ -d "$d" ] && [ ! -e "$d/.keep" ] && { info "removing leftover $d"; rm -rf "$d"; }
done

STATE=$(mktemp -d "${STATE_PREFIX}XXXXXX")
mkdir -p "$STATE/frr" "$STATE/gobgp"
chmod 0755 "$STATE"; chmod 0777 "$STATE/frr"   # vtysh and bgpd meet on sockets in frr/
API=$STATE/perouterd.sock
CFG=$STATE/perouterd.yaml

T() { ip netns exec "$NS_TOR" vtysh --vty_socket "$STATE/frr" "$@"; }
G() { ip netns exec "$NS_HOST" gobgp -u 127.0.0.1 -p 50051 "$@"; }
P() { "$PEROUTERCTL" --api-socket "$API" "$@"; }

# ---------------------------------------------------------------- topology
STEP="topology"
say "topology: $NS_TOR <-> $NS_RTR <-> $NS_HOST (state in $STATE)"
for ns in "${ALL_NS[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
link() { # ns_a if_a v4_a v6_a ns_b if_b v4_b v6_b
    ip link add "$2" netns "$1" type veth peer name "$6" netns "$5"
    ip -n "$1" addr add "$3" dev "$2"; ip -n "$1" -6 addr add "$4" dev "$2" nodad
    ip -n "$5" addr add "$7" dev "$6"; ip -n "$5" -6 addr add "$8" dev "$6" nodad
    ip -n "$1" link set "$2" up; ip -n "$5" link set "$6" up
}
link "$NS_TOR" tor0 192.168.11.2/24 fd00:11::2/64 "$NS_RTR" uplink 192.168.11.3/24 fd00:11::3/64
link "$NS_RTR" host0 192.169.10.1/24 fd00:10::1/64 "$NS_HOST" eth0 192.169.10.2/24 fd00:10::2/64
link_up() { ip -n "$1" link show "$2" | grep -q LOWER_UP; }
for l in "$NS_TOR tor0" "$NS_RTR uplink" "$NS_RTR host0" "$NS_HOST eth0"; do
    set -- $l
    wait_until 5 "$2 in $1 to be up" link_up "$1" "$2"
done

# ---------------------------------------------------------------- the ToR: FRR bgpd
STEP="starting the ToR (FRR bgpd)"
cat > "$STATE/frr/bgpd.conf" <<'EOF'
hostname plab-tor
log timestamp precision 3
!
router bgp 64512
 bgp router-id 10.0.0.100
 bgp log-neighbor-changes
 no bgp ebgp-requires-policy
 ! -Z (no zebra): nothing would make the prefixes "exist" for the import check
 no bgp network import-check
 no bgp default ipv4-unicast
 neighbor 192.168.11.3 remote-as 64514
 neighbor 192.168.11.3 description perouterd-v4
 neighbor 192.168.11.3 timers 3 9
 neighbor 192.168.11.3 timers connect 5
 neighbor fd00:11::3 remote-as 64514
 neighbor fd00:11::3 description perouterd-v6
 neighbor fd00:11::3 timers 3 9
 neighbor fd00:11::3 timers connect 5
 address-family ipv4 unicast
  network 10.200.0.0/24
  neighbor 192.168.11.3 activate
 exit-address-family
 address-family ipv6 unicast
  network fd00:200::/64
  neighbor fd00:11::3 activate
 exit-address-family
!
EOF
ip netns exec "$NS_TOR" /usr/lib/frr/bgpd -S -Z -P 0 -f "$STATE/frr/bgpd.conf" -i "$STATE/frr/bgpd.pid" \
    --vty_socket "$STATE/frr" --log "file:$STATE/frr/bgpd.log" > "$STATE/frr/bgpd.out" 2>&1 9>&- &
PIDS+=("$! bgpd")
wait_until 10 "FRR bgpd to answer vtysh" T -c "show bgp summary"

# ---------------------------------------------------------------- the host: GoBGP
STEP="starting the host speaker (gobgpd)"
cat > "$STATE/gobgp/gobgpd.toml" <<'EOF'
[global.config]
  as = 64515
  router-id = "10.0.0.200"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "192.169.10.1"
    peer-as = 64514
    description = "perouterd-v4"
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 5
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "fd00:10::1"
    peer-as = 64514
    description = "perouterd-v6"
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 5
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
EOF
ip netns exec "$NS_HOST" gobgpd -f "$STATE/gobgp/gobgpd.toml" -p --api-hosts=127.0.0.1:50051 \
    --pprof-disable > "$STATE/gobgp/gobgpd.log" 2>&1 9>&- &
PIDS+=("$! gobgpd")
wait_until 10 "gobgpd to answer its API" G global
# The "service" VIPs (MetalLB-style /32s) and one IPv6 /128.
for p in 10.100.0.1/32 10.100.0.2/32 10.100.0.3/32; do G global rib -a ipv4 add "$p" origin igp; done
G global rib -a ipv6 add fd00:100::1/128 origin igp

# ---------------------------------------------------------------- the router: perouterd
STEP="starting perouterd"
write_config() { # $1: description of the host's IPv4 session (empty: none)
    {
        cat <<'EOF'
# perouterd in plab-router: eBGP to the ToR (AS 64512) and to the host speaker (AS 64515),
# over IPv4 and IPv6 each.
routerID: 10.0.0.1
asn: 64514
neighbors:
  - address: 192.168.11.2
    asn: 64512
    holdTimeSeconds: 9
    keepaliveTimeSeconds: 3
    connectTimeSeconds: 5
    description: tor-v4
  - address: fd00:11::2
    asn: 64512
    holdTimeSeconds: 9
    keepaliveTimeSeconds: 3
    connectTimeSeconds: 5
    description: tor-v6
  - address: 192.169.10.2
    asn: 64515
    holdTimeSeconds: 9
    keepaliveTimeSeconds: 3
    connectTimeSeconds: 5
EOF
        [ -n "${1:-}" ] && printf '    description: %s\n' "$1"
        cat <<'EOF'
  - address: fd00:10::2
    asn: 64515
    holdTimeSeconds: 9
    keepaliveTimeSeconds: 3
    connectTimeSeconds: 5
EOF
    } > "$CFG.tmp"
    mv "$CFG.tmp" "$CFG"
}
write_config ""
# --watch-seconds 0: reload only when asked (SIGHUP or `perouterctl reload`), so that the
# reload below is ours and its report is printed.
NO_COLOR=1 "$PEROUTERD" --config "$CFG" --api-socket "$API" --netns "$NS_RTR" --watch-seconds 0 \
    > "$STATE/perouterd.log" 2>&1 9>&- &
PIDS+=("$! perouterd")
PEROUTERD_PID=$!
wait_until 10 "perouterd's API socket" P show bgp summary
kill -0 "$PEROUTERD_PID" 2>/dev/null || fail "perouterd exited at start"

# ---------------------------------------------------------------- sessions
STEP="sessions"
say "waiting for the four sessions to be Established"
p_state() { P --json show bgp neighbors "$1" | jq -r .summary.state; }
p_established() { local s; s=$(p_state "$1"); echo "perouterd state $s"; [ "$s" = Established ]; }
tor_established() { local s; s=$(T -c "show bgp neighbors $1 json" | jq -r --arg n "$1" '.[$n].bgpState'); echo "FRR state $s"; [ "$s" = Established ]; }
# GoBGP's session_state 6 is ESTABLISHED.
host_established() { local s; s=$(G neighbor "$1" -j | jq -r '.state.session_state'); echo "GoBGP session_state $s"; [ "$s" = 6 ]; }
for n in 192.168.11.2 fd00:11::2 192.169.10.2 fd00:10::2; do
    wait_until "$TIMEOUT" "perouterd's session with $n to be Established" p_established "$n"
    info "perouterd <-> $n Established"
done
wait_until 10 "the ToR to see 192.168.11.3 Established" tor_established 192.168.11.3
wait_until 10 "the ToR to see fd00:11::3 Established" tor_established fd00:11::3
wait_until 10 "the host to see 192.169.10.1 Established" host_established 192.169.10.1
wait_until 10 "the host to see fd00:10::1 Established" host_established fd00:10::1
info "the ToR and the host agree"

# ---------------------------------------------------------------- routes
# tor_route AFI PREFIX FIELD: "path" or "nexthop" of the best path at the ToR (empty: none).
tor_route() {
    T -c "show bgp $1 unicast json" | jq -r --arg p "$2" --arg f "$3" '
        (.routes[$p] // []) | (map(select(.bestpath == true)) + .)[0] // empty
        | if $f == "path" then .path else ([.nexthops[]? | select(.scope != "link-local") | .ip][0] // "") end'
}
# host_route AFI PREFIX FIELD: "aspath" or "nexthop" of the best path at the host (empty: none).
host_route() {
    G global rib -a "$1" -j | jq -r --arg p "$2" --arg f "$3" '
        (.[$p] // []) | (map(select(.best == true)) + .)[0] // empty
        | if $f == "aspath" then
            ([.attrs[] | select(.type == 2) | .as_paths[]?.asns[]?] | map(tostring) | join(" "))
          else
            ([.attrs[] | select(.type == 3 or .type == 14) | (.nexthop // .nexthops[0]?)][0] // "")
          end'
}
expect_eq() { # what got want
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
    info "ok: $1 = $3"
}
tor_paths() { T -c "show bgp $1 unicast json" | jq --arg p "$2" '.routes[$p] // [] | length'; }
tor_has() { local n; n=$(tor_paths "$1" "$2"); echo "$n paths for $2 at the ToR"; [ "$n" -gt 0 ]; }
tor_lacks() { local n; n=$(tor_paths "$1" "$2"); echo "$n paths for $2 at the ToR"; [ "$n" -eq 0 ]; }
host_has() {
    local n; n=$(G global rib -a "$1" -j | jq --arg p "$2" '.[$p] // [] | length')
    echo "$n paths for $2 at the host"; [ "$n" -gt 0 ]
}

STEP="host routes at the ToR"
say "host -> perouterd -> ToR"
for p in 10.100.0.1/32 10.100.0.2/32 10.100.0.3/32; do
    wait_until "$TIMEOUT" "the host's $p at the ToR" tor_has ipv4 "$p"
    expect_eq "ToR: $p AS path" "$(tor_route ipv4 "$p" path)" "64514 64515"
    expect_eq "ToR: $p next hop" "$(tor_route ipv4 "$p" nexthop)" "192.168.11.3"
done
wait_until "$TIMEOUT" "the host's fd00:100::1/128 at the ToR" tor_has ipv6 fd00:100::1/128
expect_eq "ToR: fd00:100::1/128 AS path" "$(tor_route ipv6 fd00:100::1/128 path)" "64514 64515"
expect_eq "ToR: fd00:100::1/128 next hop" "$(tor_route ipv6 fd00:100::1/128 nexthop)" "fd00:11::3"

STEP="ToR routes at the host"
say "ToR -> perouterd -> host"
wait_until "$TIMEOUT" "the ToR's 10.200.0.0/24 at the host" host_has ipv4 10.200.0.0/24
expect_eq "host: 10.200.0.0/24 AS path" "$(host_route ipv4 10.200.0.0/24 aspath)" "64514 64512"
expect_eq "host: 10.200.0.0/24 next hop" "$(host_route ipv4 10.200.0.0/24 nexthop)" "192.169.10.1"
wait_until "$TIMEOUT" "the ToR's fd00:200::/64 at the host" host_has ipv6 fd00:200::/64
expect_eq "host: fd00:200::/64 AS path" "$(host_route ipv6 fd00:200::/64 aspath)" "64514 64512"
expect_eq "host: fd00:200::/64 next hop" "$(host_route ipv6 fd00:200::/64 nexthop)" "fd00:10::1"
# perouterd does not echo a peer's best routes back to it: the ToR gets only the host's three
# /32s, the host only the ToR's /24 (whatever the peer would do with them, its AS-path loop
# check would hide an echo from its own table).
advertised() { P --json show bgp summary | jq -r --arg n "$1" '.neighbors[] | select(.neighbor == $n) | .advertised'; }
advertised_is() { local a; a=$(advertised "$1"); echo "advertised $a"; [ "$a" = "$2" ]; }
wait_until 10 "perouterd to have advertised 3 destinations to the ToR" advertised_is 192.168.11.2 3
expect_eq "perouterd: destinations advertised to the ToR" "$(advertised 192.168.11.2)" 3
expect_eq "perouterd: destinations advertised to the host" "$(advertised 192.169.10.2)" 1
expect_eq "host: paths for its own 10.100.0.1/32 learned from perouterd" \
    "$(G global rib -a ipv4 -j | jq '[.["10.100.0.1/32"][]? | select(."neighbor-ip" != null)] | length')" 0

STEP="perouterd's own view"
expect_eq "perouterd: ipv4-unicast destinations" \
    "$(P --json show bgp routes --afi ipv4-unicast | jq -r '[.[].destination] | join(",")')" \
    "10.100.0.1/32,10.100.0.2/32,10.100.0.3/32,10.200.0.0/24"

say "perouterctl show bgp summary"
P show bgp summary
say "perouterctl show bgp neighbors"
P show bgp neighbors
say "perouterctl show bgp routes --afi ipv4-unicast"
P show bgp routes --afi ipv4-unicast
say "perouterctl show bgp routes --afi ipv6-unicast"
P show bgp routes --afi ipv6-unicast
say "ToR (FRR): show bgp summary"
T -c "show bgp summary"
say "ToR (FRR): show bgp ipv4 unicast"
T -c "show bgp ipv4 unicast"
say "ToR (FRR): show bgp ipv6 unicast"
T -c "show bgp ipv6 unicast"
say "host (GoBGP): gobgp neighbor"
G neighbor
say "host (GoBGP): gobgp global rib -a ipv4"
G global rib -a ipv4
say "host (GoBGP): gobgp global rib -a ipv6"
G global rib -a ipv6

# ---------------------------------------------------------------- reload in place
STEP="reload in place"
say "reload: add a description to the host's IPv4 session"
nb() { P --json show bgp neighbors "$1"; }
before=$(nb 192.169.10.2)
tor_before=$(nb 192.168.11.2)
frr_est_before=$(T -c "show bgp neighbors 192.168.11.3 json" | jq '.["192.168.11.3"].connectionsEstablished')
gobgp_est_before=$(G neighbor 192.169.10.1 -j | jq '.state.messages.received.open // 0')
sleep 1.1   # so that a continuing uptime is visibly longer
cp "$CFG" "$STATE/perouterd.yaml.before"
write_config "host speaker (GoBGP, MetalLB-style VIPs)"
info "diff of the configuration file:"
diff -u "$STATE/perouterd.yaml.before" "$CFG" || true
reload_out=$(P reload) || fail "perouterctl reload failed: $reload_out"
info "perouterctl reload:"
printf '%s\n' "$reload_out"
reload_json=$(P --json reload)
expect_eq "second reload of the same file" "$(jq -r .unchanged <<<"$reload_json")" "true"
grep -q '^updated in place: \["192.169.10.2"\]' <<<"$reload_out" || fail "reload did not report 192.169.10.2 as updated in place: $reload_out"
grep -q '^reset: \[\]' <<<"$reload_out" || fail "reload reset sessions: $reload_out"
after=$(nb 192.169.10.2)
tor_after=$(nb 192.168.11.2)
expect_eq "host session state after reload" "$(jq -r .summary.state <<<"$after")" Established
expect_eq "host session description" "$(jq -r .summary.description <<<"$after")" "host speaker (GoBGP, MetalLB-style VIPs)"
expect_eq "host session flaps unchanged" "$(jq .flaps <<<"$after")" "$(jq .flaps <<<"$before")"
expect_eq "ToR session flaps unchanged" "$(jq .flaps <<<"$tor_after")" "$(jq .flaps <<<"$tor_before")"
up0=$(jq .summary.uptime_secs <<<"$before"); up1=$(jq .summary.uptime_secs <<<"$after")
[ "$up1" -ge "$up0" ] && [ "$up1" -ge 1 ] || fail "host session uptime did not continue: $up0 s before, $up1 s after"
info "ok: host session uptime continued: ${up0}s before, ${up1}s after"
expect_eq "FRR: connections established with perouterd" \
    "$(T -c "show bgp neighbors 192.168.11.3 json" | jq '.["192.168.11.3"].connectionsEstablished')" "$frr_est_before"
expect_eq "GoBGP: OPENs received from perouterd" \
    "$(G neighbor 192.169.10.1 -j | jq '.state.messages.received.open // 0')" "$gobgp_est_before"
P show bgp summary

# ---------------------------------------------------------------- withdrawal
STEP="withdrawal"
say "withdraw 10.100.0.3/32 at the host"
G global rib -a ipv4 del 10.100.0.3/32
wait_until "$TIMEOUT" "the withdrawal of 10.100.0.3/32 at the ToR" tor_lacks ipv4 10.100.0.3/32
info "ok: 10.100.0.3/32 gone from the ToR"
tor_has ipv4 10.100.0.1/32 >/dev/null && tor_has ipv4 10.100.0.2/32 >/dev/null || fail "the ToR lost the host's other routes"
info "ok: 10.100.0.1/32 and 10.100.0.2/32 still at the ToR"
# perouterd's table follows: the host's path is gone, and so is the copy the ToR had echoed
# back (AS path 64512 64514 64515, accepted with eBGP's default allowas-in) once the ToR
# withdraws it in turn.
p_dests() { local d; d=$(P --json show bgp routes --afi "$1" | jq -r '[.[].destination] | join(",")'); echo "$d"; [ "$d" = "$2" ]; }
wait_until "$TIMEOUT" "perouterd's ipv4-unicast table to drop 10.100.0.3/32" \
    p_dests ipv4-unicast "10.100.0.1/32,10.100.0.2/32,10.200.0.0/24"
info "ok: perouterd: ipv4-unicast destinations after the withdrawal = 10.100.0.1/32,10.100.0.2/32,10.200.0.0/24"
say "ToR (FRR): show bgp ipv4 unicast, after the withdrawal"
T -c "show bgp ipv4 unicast"

STEP="final state"
for n in 192.168.11.2 fd00:11::2 192.169.10.2 fd00:10::2; do
    expect_eq "perouterd <-> $n still Established" "$(p_state "$n")" Established
done
kill -0 "$PEROUTERD_PID" 2>/dev/null || fail "perouterd is no longer running"
if grep -Eq '(ERROR|WARN) ' "$STATE/perouterd.log"; then
    say "perouterd logged warnings or errors:"
    grep -E '(ERROR|WARN) ' "$STATE/perouterd.log" | head -20
fi
RESULT=PASS
STEP="done"
