#!/usr/bin/env bash
# Regenerates fuzz/seeds/<target>/: a few small valid inputs per fuzz target.
# Usage: fuzz/make-seeds.sh   (from anywhere; needs perl, and for `capture` the shared corpus)
# Input layouts are described in fuzz/seeds/README.md and fuzz/src/lib.rs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seeds="$here/seeds"
pcaps=${PEROUTER_PCAPS:-/work/shared/conformance/pcaps}

# put TARGET NAME HEX...: writes the concatenated hex (spaces ignored) as seeds/TARGET/NAME.
put() {
    local target=$1 name=$2
    shift 2
    mkdir -p "$seeds/$target"
    perl -e 'my $h = join("", @ARGV); $h =~ s/\s+//g; binmode STDOUT; print pack("H*", $h)' "$@" \
        > "$seeds/$target/$name"
}

# Arbitrary `Context` prefixes (9 octets: four_octet_as, add_path, extended_message,
# extended_next_hop, peer as a little-endian u32 choice, vpn_labels).
EBGP="01 00 00 00 00000000 01"        # Context::default(): 4-octet AS, eBGP
IBGP="01 00 00 00 ffffffff 01"        # the same, iBGP (LOCAL_PREF accepted)
ADDPATH="01 1f 00 00 ffffffff 01"     # iBGP, ADD-PATH for every family
AS2="00 00 00 00 00000000 01"         # 2-octet AS session
MARKER="ffffffffffffffffffffffffffffffff"

# Message bodies.
OPEN_BODY="04 fde9 00b4 01010101 2b
  0206 0104 0001 0001    0206 0104 0019 0046    0206 4104 0000fde9
  0202 0200              0206 4504 0001 0103    0205 4903 0172 00"
OPEN_EXT_BODY="04 fde9 00b4 01010101 ff ff 0009 02 0006 0104 00010001"   # RFC 9072 lengths
# tcpdump bgp-encap.pcap, bgp-evpn-wire.md §1.13 A: EVPN type-2 with VXLAN (iBGP).
EVPN2_ATTRS="40010100 400200 40050400000064
  c01010 0002fde800000065 030c000000000008
  900e002c 0019 46 04 04040404 00
    0221 0001040404040004 00000000000000000000 00000000 30 02060a0efaf3 00 000065"
EVPN2_BODY="0000 0051 $EVPN2_ATTRS"
EOR_EVPN_BODY="0000 0006 800f03 001946"
V4_ATTRS="40010100 40020602010000fde9 400304c0000201 80040400000000"
V4_BODY="0000 001b $V4_ATTRS 180a0101 20c6336401"
V4_WITHDRAW_BODY="0004 180a0101 0000"
V6_ATTRS="40010100 400200 800e1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001"
V6_BODY="0000 0026 $V6_ATTRS"

KEEPALIVE="$MARKER 0013 04"
OPEN="$MARKER 0048 01 $OPEN_BODY"
EVPN2="$MARKER 0068 02 $EVPN2_BODY"
EOR_EVPN="$MARKER 001d 02 $EOR_EVPN_BODY"
EOR_V4="$MARKER 0017 02 00000000"
V4="$MARKER 003b 02 $V4_BODY"
V4_WITHDRAW="$MARKER 001b 02 $V4_WITHDRAW_BODY"
V6="$MARKER 003d 02 $V6_BODY"
NOTIFICATION="$MARKER 0015 03 0602"
ROUTE_REFRESH="$MARKER 0017 05 0001 00 01"

for t in message update nlri attributes open roundtrip encode_model capture; do
    rm -rf "${seeds:?}/$t"
done

for t in message roundtrip; do
    put $t keepalive "$EBGP $KEEPALIVE"
    put $t open "$EBGP $OPEN"
    put $t evpn-type2-update "$IBGP $EVPN2"
    put $t eor-evpn "$EBGP $EOR_EVPN"
    put $t eor-ipv4 "$EBGP $EOR_V4"
    put $t ipv4-update "$EBGP $V4"
    put $t ipv4-withdraw "$EBGP $V4_WITHDRAW"
    put $t ipv6-update "$IBGP $V6"
    put $t notification "$EBGP $NOTIFICATION"
    put $t route-refresh "$EBGP $ROUTE_REFRESH"
done
put message keepalive-stream "$EBGP $KEEPALIVE $KEEPALIVE $EOR_V4 ffffffff"

put update evpn-type2 "$IBGP $EVPN2_BODY"
put update eor-evpn "$EBGP $EOR_EVPN_BODY"
put update ipv4 "$EBGP $V4_BODY"
put update ipv4-as2 "$AS2 0000 0017 40010100 4002040201fde9 400304c0000201 80040400000000 180a0101"
put update ipv4-withdraw "$EBGP $V4_WITHDRAW_BODY"
put update ipv6 "$IBGP $V6_BODY"

# nlri: family byte (index into Family::ALL), Context, NLRI bytes.
put nlri ipv4 "00 $EBGP 180a0101 20c6336401 00"
put nlri ipv6 "01 $EBGP 30 20010db80001 80 20010db8000000000000000000000001"
put nlri vpnv4 "02 $EBGP 70 000101 0000fde800000064 0a0101"
put nlri vpnv6 "03 $EBGP 98 000101 0000fde800000064 20010db800000001"
put nlri evpn "04 $EBGP
  0221 0001040404040004 00000000000000000000 00000000 30 02060a0efaf3 00 000065
  0522 00010a000a010002 00000000000000000000 00000000 18 0a000a00 00000000 000064
  0311 0001ac1000c80004 00000000 20 ac1000c8"
put nlri evpn-addpath "04 $ADDPATH 00000001 0311 0001ac1000c80004 00000000 20 ac1000c8"

put attributes evpn-type2 "$IBGP $EVPN2_ATTRS"
put attributes eor-evpn "$EBGP 800f03 001946"
put attributes ipv6 "$IBGP $V6_ATTRS"
put attributes ipv4-no-nlri "$EBGP $V4_ATTRS"

put open frr-like "$OPEN_BODY"
put open rfc9072 "$OPEN_EXT_BODY"

put encode_model zeros "0000000000000000000000000000000000000000000000000000000000000000"
put encode_model pattern "0100000000000000010102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
put encode_model evpn-bytes "$IBGP $EVPN2"

# capture: small real captures (ryu: Apache-2.0; tcpdump tests: BSD-3). See seeds/README.md.
mkdir -p "$seeds/capture"
for f in ryu/bgp4-update.pcap ryu/evpn_nlri_mac_ip_ad.pcap tcpdump/bgp-evpn.pcap \
         tcpdump/bgp-extended-msg.pcapng; do
    cp "$pcaps/$f" "$seeds/capture/$(echo "$f" | tr / -)"
    chmod 644 "$seeds/capture/$(echo "$f" | tr / -)"
done

du -sh "$seeds"
