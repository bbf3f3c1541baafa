#!/usr/bin/env bash
# The main lab: perouterd in OpenPERouter's place on two nodes of an EVPN fabric, end to end.
#
#   host-a (FRR+zebra, AS 64515) ── node-a (perouterd) ──┐             ┌── node-b (perouterd) ── host-b (GoBGP, AS 64516)
#     VRF red session v4+v6,        VTEP 100.65.0.0      └─ ToR (FRR ──┘   VTEP 100.65.0.1        VRF red session v4+v6
#     passthrough session                                  bgpd+zebra,
#                                   GoBGP (AS 64999) ───── AS 64512) + direct EVPN session with node-a
#                    leaf (FRR+zebra, AS 64520, kernel VRF red) ──┘── hostA_red 192.168.20.2
#
# It runs in a VM because this kernel has no VRF device: vm/run.sh boots Debian's kernel under
# qemu with the host's root over 9p, and vm/tests/evpn-fabric.sh builds the topology there with
# network namespaces. What it shows, each step checked with FRR's, GoBGP's and the kernel's own
# views: host routes become type-5 routes and back (L3VNI red, IPv4 and IPv6), the host-learned
# routes and the imported ones are in the VRF tables, pings cross between the hosts' service
# addresses and to a host behind an FRR leaf (FRR's own EVPN and VXLAN dataplane, with a real
# VRF); a stretched L2VNI (type-3 flood lists, type-2 MACs) carries a ping in one subnet;
# the L3Passthrough session reaches the underlay; GoBGP's label-0/no-router-MAC type-5 is
# treated as withdrawn as FRR does; a node leaving withdraws its routes. It ends with a summary
# of sessions, routes and pings, then PASS or FAIL.
#
# Usage (as root, from anywhere):  lab/fabric.sh
#   LAB_NO_BUILD=1   do not run cargo (use target/debug/perouterd and perouterctl as they are)
#   VM_TIMEOUT=N     seconds for the whole VM run (default 600)
#
# On a fresh Debian machine with only the Rust toolchain it installs what is missing with
# apt-get (FRR, GoBGP, jq, iproute2, ping; qemu, Debian's kernel, busybox through
# vm/install.sh). The first run spends most of its time there and in the build; the lab itself
# takes about two minutes under TCG emulation.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
[ "$(id -u)" = 0 ] || { echo "lab/fabric.sh: run as root (network namespaces, qemu)" >&2; exit 1; }

want=(frr gobgpd jq iproute2 iputils-ping)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "=== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
vm/install.sh

if [ -z "${LAB_NO_BUILD:-}" ]; then
    echo "=== building perouterd and perouterctl"
    cargo build -p router --bins
fi
bin=target/debug/perouterd

log=$(mktemp "${TMPDIR:-/tmp}/perouterd-fabric.XXXXXX")
echo "=== booting the VM and running the fabric (log: $log)"
started=$(date +%s)
set +e
vm/run.sh vm/tests/evpn-fabric.sh "$bin" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
took=$(( $(date +%s) - started ))
if [ "$status" = 0 ] && grep -q "^EVPN FABRIC OK" "$log"; then
    echo
    echo "PASS: lab/fabric.sh (${took} s in the VM; $(grep -c '^ok:' "$log") checks)"
    rm -f "$log"
else
    echo
    echo "FAIL: lab/fabric.sh (status $status after ${took} s; the log is $log)" >&2
    exit 1
fi
