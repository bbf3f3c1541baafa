#!/usr/bin/env bash
# Install what vm/run.sh needs (idempotent: installs only what is missing, does nothing otherwise).
#   qemu-system-x86  the emulator (TCG; this host's KVM cannot boot a stock kernel)
#   linux-image-amd64  Debian's kernel + its /lib/modules (has vrf, dummy, vxlan, bridge, veth)
#   busybox-static, cpio  to build the tiny initramfs that mounts the host root over 9p
#   jq  guest scripts (vm/tests/*.sh) check `ip -j` output with it (the guest runs host binaries)
# Note: qemu-system-x86 pulls 50-190 packages (~1.5 min here) and removes a preinstalled backport qemu-utils.
set -euo pipefail
want=(qemu-system-x86 linux-image-amd64 busybox-static cpio jq)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "vm/install.sh: all present (${want[*]})"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "vm/install.sh: need root to install: ${missing[*]}" >&2
    exit 1
fi
echo "vm/install.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
