#!/usr/bin/env bash
# vm/run.sh SCRIPT [ARGS...] — run SCRIPT as root inside a throwaway VM whose kernel has VRF,
# dummy, VXLAN, bridge and veth (this host's kernel lacks VRF and dummy). See vm/README.md.
#
# The guest is Debian's linux-image-amd64 under qemu TCG. It mounts the host's / read-only over
# 9p and switch_roots into it, so every host binary (iproute2, FRR, target/debug/perouterd, ...)
# runs unchanged. Writable in the guest: /tmp, /run, /var/tmp, /var/log (tmpfs, empty at boot),
# /tmp/scratch (9p share of $VM_SCRATCH on the host). Output of SCRIPT is streamed to stdout;
# the exit status is SCRIPT's. 124 = timed out, 125 = the VM failed (no result line).
#
# Environment:
#   VM_TIMEOUT  seconds for the whole run, boot included (default 600)
#   VM_MEM      guest memory in MiB (default 1024)
#   VM_SMP      guest CPUs (default 2)
#   VM_WORK     state dir: cached initramfs, per-run control dirs (default /tmp/perouterd-vm)
#   VM_SCRATCH  host dir shared read-write at /tmp/scratch in the guest (default $VM_WORK/scratch)
#   VM_KERNEL   kernel version to boot (default: newest /boot/vmlinuz-* whose modules have vrf)
#   VM_CWD      guest working directory (default: the repository root)
#   VM_ENV      names of host environment variables to pass into the guest, e.g. "RUST_LOG"
#   VM_MODULES  modules to load before SCRIPT (default "vrf dummy vxlan bridge veth")
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
die() { echo "vm/run.sh: $*" >&2; exit 125; }

[ $# -ge 1 ] || { echo "usage: vm/run.sh SCRIPT [ARGS...]" >&2; exit 2; }
script=$(realpath -e -- "$1" 2>/dev/null) || die "no such script: $1"
shift

timeout_s=${VM_TIMEOUT:-600}
work=${VM_WORK:-/tmp/perouterd-vm}
scratch=${VM_SCRATCH:-$work/scratch}
guest_cwd=${VM_CWD:-$repo}
modules=${VM_MODULES:-vrf dummy vxlan bridge veth}

need_install() { die "$* — run vm/install.sh (as root) first"; }
command -v qemu-system-x86_64 >/dev/null || need_install "qemu-system-x86_64 not found"
[ -x /bin/busybox ] || need_install "/bin/busybox (busybox-static) not found"
command -v cpio >/dev/null || need_install "cpio not found"

# The guest kernel: the newest installed /boot/vmlinuz-* with a /lib/modules tree that has vrf.
# (The host's running kernel usually has no /lib/modules here, so it is never picked.)
has_vrf() {
    [ -r "/boot/vmlinuz-$1" ] && [ -d "/lib/modules/$1" ] &&
        { grep -qs '^CONFIG_NET_VRF=y' "/boot/config-$1" ||
            modprobe -S "$1" --show-depends vrf >/dev/null 2>&1; }
}
kver=${VM_KERNEL:-}
if [ -z "$kver" ]; then
    for f in $(ls /boot/vmlinuz-* 2>/dev/null | sort -rV); do
        k=${f#/boot/vmlinuz-}
        if has_vrf "$k"; then kver=$k; break; fi
    done
    if [ -z "$kver" ]; then
        for f in /boot/vmlinuz-*; do
            [ -e "$f" ] && [ ! -r "$f" ] && die "$f is not readable: run as root (or chmod a+r it)"
        done
        need_install "no /boot/vmlinuz-* with matching /lib/modules and vrf (linux-image-amd64)"
    fi
else
    has_vrf "$kver" || die "VM_KERNEL=$kver: no readable /boot/vmlinuz-$kver with vrf in /lib/modules/$kver"
fi

mkdir -p "$work" "$scratch"

# ---- initramfs: busybox + the virtio/9p modules; cached per kernel version and init text ----
init_text=$(cat <<'INIT'
#!/bin/sh
# perouterd vm/run.sh initramfs: mount the host root over 9p and switch_root into it.
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod "/mods/$m" || echo "vm-init: insmod $m failed"; done
o=trans=virtio,version=9p2000.L,msize=262144
if ! mount -t 9p -o "$o,ro" hostroot /host; then
    echo "vm-init: mounting the host root failed"; echo "=== guest rc=125"; poweroff -f
fi
# Keep the host's /tmp reachable (read-only) before tmpfs hides it: a checkout under /tmp is
# bound back at its own path by guest.sh.
mkdir -p /hosttmp && mount -o bind /host/tmp /hosttmp
for d in tmp run var/tmp var/log; do mount -t tmpfs -o mode=1777 "t-${d#*/}" "/host/$d"; done
chmod 755 /host/run /host/var/log
mkdir -p /host/tmp/scratch /host/run/vm /host/run/netns /host/run/lock /host/run/hosttmp
mount -o move /hosttmp /host/run/hosttmp || echo "vm-init: the host's /tmp is not kept"
mount -t 9p -o "$o" scratch /host/tmp/scratch || echo "vm-init: scratch share not mounted"
mount -t 9p -o "$o,ro" ctl /host/run/vm || { echo "vm-init: control share not mounted"; echo "=== guest rc=125"; poweroff -f; }
for d in proc sys dev; do mount --move "/$d" "/host/$d"; done
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /host/dev/pts
mount -t tmpfs -o mode=1777 shm /host/dev/shm
# switch_root, not chroot: module autoloading then uses the host's /sbin/modprobe.
exec switch_root /host /bin/bash /run/vm/guest.sh
INIT
)
key=$(printf '%s' "$init_text" | sha256sum | cut -c1-12)
initrd=$work/initramfs-$kver-$key.cpio.gz
if [ ! -s "$initrd" ]; then
    echo "vm/run.sh: building $initrd" >&2
    root=$(mktemp -d "$work/initramfs-root.XXXXXX")
    mkdir -p "$root"/{bin,proc,sys,dev,host,mods}
    cp /bin/busybox "$root/bin/busybox"
    for a in sh mount insmod mkdir cat echo chmod poweroff switch_root; do ln -s busybox "$root/bin/$a"; done
    for m in virtio_pci 9pnet_virtio 9p; do
        modprobe -S "$kver" --show-depends "$m" || die "module $m not found for kernel $kver"
    done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
        cp "$ko" "$root/mods/"
        basename "$ko" >> "$root/mods/order"
    done
    printf '%s\n' "$init_text" > "$root/init"
    chmod +x "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp.$$"
    mv -f "$initrd.tmp.$$" "$initrd"   # atomic: concurrent runs may build at the same time
    rm -rf "$root"
fi

# ---- per-run control dir (read-only at /run/vm in the guest): the guest-side launcher ----
ctl=$(mktemp -d "$work/run.XXXXXX")
log=$ctl.log
cleanup() { rm -rf "$ctl" "$log"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
# /tmp, /run and /var/tmp of the host are hidden in the guest (tmpfs): copy such a script over.
case $script in
    /tmp/* | /run/* | /var/tmp/*) cp "$script" "$ctl/script"; guest_script=/run/vm/script ;;
    *) guest_script=$script ;;
esac
{
    echo '# generated by vm/run.sh'
    echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb'
    for v in ${VM_ENV:-}; do
        [ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    echo 'exec </dev/null 2>&1'
    echo 'echo "=== guest up: $(cut -d" " -f1 /proc/uptime)s"'
    echo 'mount --make-rprivate / 2>/dev/null'
    echo 'ip link set lo up'
    # one modprobe for all (each program start costs ~0.5 s under TCG); name the culprit on failure
    echo "modprobe -a $modules || for m in $modules; do modprobe \"\$m\" || echo \"=== guest: modprobe \$m failed\"; done"
    # A repository (or working directory) under the host's /tmp: bind it back at its path, so
    # its scripts and build outputs are where the host has them.
    case $guest_cwd in
        /tmp/*) printf 'mkdir -p %q && mount --bind %q %q\n' "$guest_cwd" "/run/hosttmp/${guest_cwd#/tmp/}" "$guest_cwd" ;;
    esac
    printf 'cd %q || { echo "=== guest rc=125"; /bin/busybox poweroff -f; }\n' "$guest_cwd"
    if [ -x "$script" ]; then printf '%q' "$guest_script"; else printf 'bash %q' "$guest_script"; fi
    for a in "$@"; do printf ' %q' "$a"; done
    echo
    echo 'rc=$?'
    echo 'sync'
    echo 'echo "=== guest rc=$rc uptime: $(cut -d" " -f1 /proc/uptime)s"'
    echo '/bin/busybox poweroff -f'
} > "$ctl/guest.sh"

share() { # tag path [readonly]
    echo "-fsdev local,id=$1,path=$2,security_model=none,multidevs=remap${3:+,readonly=on}"
    echo "-device virtio-9p-pci,fsdev=$1,mount_tag=$1"
}
set +e
# shellcheck disable=SC2046 # share's output is meant to be word-split
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu max -machine q35 -m "${VM_MEM:-1024}" -smp "${VM_SMP:-2}" \
    -display none -nodefaults -no-reboot -monitor none \
    -chardev stdio,id=con,signal=on -serial chardev:con \
    -kernel "/boot/vmlinuz-$kver" -initrd "$initrd" \
    -append "console=ttyS0 quiet loglevel=1 panic=-1" \
    $(share hostroot / ro) $(share scratch "$scratch") $(share ctl "$ctl" ro) \
    </dev/null 2>&1 | tr -d '\r' | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e

rc_line=$(grep -a '^=== guest rc=[0-9]' "$log" | tail -n1 || true)
if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
    echo "vm/run.sh: TIMEOUT: the VM did not finish within ${timeout_s}s (VM_TIMEOUT)" >&2
    exit 124
fi
if [ -z "$rc_line" ]; then
    echo "vm/run.sh: the VM failed: no '=== guest rc=' line (qemu exit $qemu_rc, kernel $kver)" >&2
    exit 125
fi
rc=${rc_line#=== guest rc=}
exit "${rc%% *}"
