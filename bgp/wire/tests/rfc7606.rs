#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]
//! RFC 7606 error classification of `Update::decode` and `decode_message`, table-driven.
//!
//! Every case is a hand-made UPDATE body (after the 19-octet header) decoded under a named
//! context. A case states the strongest action, the attribute and UPDATE Message Error subcode
//! of the finding that decided it, the NOTIFICATION of a reset, and what is still usable. The
//! table follows `/work/shared/reference/bgp-evpn-wire.md` §3.1 and §3.2 row by row, then the
//! EVPN rules of §3.3 (RFC 7606 §5.4, RFC 9136). Every case is also decoded framed, through
//! `decode_message`, which must agree and shift finding offsets by 19.

use bgp_wire::nlri::NlriList;
use bgp_wire::{
    decode_message, Action, Context, DecodedUpdate, Family, Finding, Message, Origin,
    PathAttributes, PeerType, Update,
};

// ---------------------------------------------------------------------------------------
// Wire builders
// ---------------------------------------------------------------------------------------

/// Well-known (transitive).
const WK: u8 = 0x40;
/// Optional transitive.
const OT: u8 = 0xc0;
/// Optional non-transitive.
const ON: u8 = 0x80;
/// Partial.
const PA: u8 = 0x20;
/// Extended length.
const EXT: u8 = 0x10;

/// UPDATE Message Error subcodes.
const MAL_LIST: u8 = 1;
const UNREC_WK: u8 = 2;
const MISSING: u8 = 3;
const FLAGS: u8 = 4;
const LEN: u8 = 5;
const BAD_ORIGIN: u8 = 6;
const BAD_NH: u8 = 8;
const OPT: u8 = 9;
const NET: u8 = 10;
const BAD_PATH: u8 = 11;

/// One attribute: flags, code, length (two octets with `EXT`), value.
fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![flags, code];
    if flags & EXT != 0 {
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        out.push(value.len() as u8);
    }
    out.extend_from_slice(value);
    out
}

/// An UPDATE body from its three fields.
fn body(withdrawn: &[u8], attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.concat();
    let mut out = (withdrawn.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(withdrawn);
    out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&attrs);
    out.extend_from_slice(nlri);
    out
}

/// 10.0.0.0/24 in the NLRI field.
const NLRI: &[u8] = &[24, 10, 0, 0];

fn origin(v: u8) -> Vec<u8> {
    attr(WK, 1, &[v])
}

/// An AS_PATH of one AS_SEQUENCE, 2- or 4-octet as the peer's context says.
fn as_path(p: Peer, asns: &[u32]) -> Vec<u8> {
    attr(WK, 2, &segment(2, asns, p.four()))
}

fn segment(kind: u8, asns: &[u32], four: bool) -> Vec<u8> {
    let mut out = vec![kind, asns.len() as u8];
    for a in asns {
        if four {
            out.extend_from_slice(&a.to_be_bytes());
        } else {
            out.extend_from_slice(&(*a as u16).to_be_bytes());
        }
    }
    out
}

fn next_hop(a: [u8; 4]) -> Vec<u8> {
    attr(WK, 3, &a)
}

/// ORIGIN IGP, AS_PATH 65001, NEXT_HOP 192.0.2.1.
fn base(p: Peer) -> Vec<Vec<u8>> {
    vec![origin(0), as_path(p, &[65001]), next_hop([192, 0, 2, 1])]
}

/// The base attributes plus `extra`, announcing 10.0.0.0/24.
fn with(p: Peer, extra: Vec<Vec<u8>>) -> Vec<u8> {
    let mut a = base(p);
    a.extend(extra);
    body(&[], &a, NLRI)
}

/// The base attributes with the one of type `code` replaced (or dropped), announcing
/// 10.0.0.0/24.
fn but(p: Peer, code: u8, replacement: Option<Vec<u8>>) -> Vec<u8> {
    let a: Vec<Vec<u8>> = base(p)
        .into_iter()
        .filter_map(|a| {
            if a[1] == code {
                replacement.clone()
            } else {
                Some(a)
            }
        })
        .collect();
    body(&[], &a, NLRI)
}

/// RD 10.0.0.1:5 (type 1).
const RD: [u8; 8] = [0, 1, 10, 0, 0, 1, 0, 5];

/// An EVPN type-5 IPv4 route for 10.1.0.0/16 with ESI type octet `esi0`, gateway and label.
fn t5(esi0: u8, gw: [u8; 4], label: u32) -> Vec<u8> {
    let mut r = vec![5, 34];
    r.extend_from_slice(&RD);
    r.push(esi0);
    r.extend_from_slice(&[if esi0 == 0 { 0 } else { 1 }; 9]);
    r.extend_from_slice(&[0, 0, 0, 0, 16, 10, 1, 0, 0]);
    r.extend_from_slice(&gw);
    r.extend_from_slice(&label.to_be_bytes()[1..]);
    r
}

/// An EVPN type-2 MAC-only route (length 33), label 101.
fn t2(mac_last: u8) -> Vec<u8> {
    let mut r = vec![2, 33];
    r.extend_from_slice(&RD);
    r.extend_from_slice(&[0; 10]);
    r.extend_from_slice(&[0, 0, 0, 0, 48, 0x02, 0, 0, 0, 0, mac_last, 0, 0, 0, 0x65]);
    r
}

/// An EVPN route of type 8 (IGMP Leave Synch), which is not modelled.
fn t8() -> Vec<u8> {
    vec![8, 3, 1, 2, 3]
}

fn mp_reach(afi: u16, safi: u8, nh: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut v = afi.to_be_bytes().to_vec();
    v.push(safi);
    v.push(nh.len() as u8);
    v.extend_from_slice(nh);
    v.push(0);
    v.extend_from_slice(nlri);
    attr(ON | EXT, 14, &v)
}

fn mp_unreach(afi: u16, safi: u8, nlri: &[u8]) -> Vec<u8> {
    let mut v = afi.to_be_bytes().to_vec();
    v.push(safi);
    v.extend_from_slice(nlri);
    attr(ON | EXT, 15, &v)
}

fn evpn_reach(routes: &[Vec<u8>]) -> Vec<u8> {
    mp_reach(25, 70, &[192, 0, 2, 1], &routes.concat())
}

const ENCAP_VXLAN: [u8; 8] = [0x03, 0x0c, 0, 0, 0, 0, 0, 8];

fn rmac(mac: [u8; 6]) -> [u8; 8] {
    [0x06, 0x03, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]]
}

fn ext_comms(list: &[[u8; 8]]) -> Vec<u8> {
    attr(OT, 16, &list.concat())
}

/// An EVPN UPDATE as FRR sends it: ORIGIN, AS_PATH, extended communities (VXLAN + `ecs`)
/// and MP_REACH with `routes`; no NLRI field.
fn evpn(routes: &[Vec<u8>], ecs: &[[u8; 8]]) -> Vec<u8> {
    let mut list = vec![ENCAP_VXLAN];
    list.extend_from_slice(ecs);
    body(
        &[],
        &[
            origin(0),
            as_path(E, &[65001]),
            ext_comms(&list),
            evpn_reach(routes),
        ],
        &[],
    )
}

// ---------------------------------------------------------------------------------------
// Contexts
// ---------------------------------------------------------------------------------------

/// The receiving context.
#[derive(Debug, Clone, Copy)]
enum Peer {
    /// eBGP, 4-octet AS negotiated.
    Ebgp,
    /// iBGP, 4-octet AS negotiated.
    Ibgp,
    /// eBGP with a 2-octet-AS (OLD) speaker.
    Ebgp2,
    /// iBGP with a 2-octet-AS (OLD) speaker.
    Ibgp2,
}
use Peer::{Ebgp as E, Ebgp2 as E2, Ibgp as I, Ibgp2 as I2};

impl Peer {
    fn four(self) -> bool {
        matches!(self, E | I)
    }

    fn ctx(self) -> Context {
        Context {
            four_octet_as: self.four(),
            peer: match self {
                E | E2 => PeerType::External,
                I | I2 => PeerType::Internal,
            },
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

/// What must still be usable (or must be gone) after the verdict.
#[derive(Debug, Clone)]
enum U {
    /// The attribute of this type code is in `update.attributes`.
    Has(u8),
    /// It is not.
    Lacks(u8),
    /// Routes in the NLRI field.
    Nlri(usize),
    /// Routes in the Withdrawn Routes field.
    Withdrawn(usize),
    /// Routes in MP_REACH_NLRI.
    Reach(usize),
    /// Routes in MP_UNREACH_NLRI.
    Unreach(usize),
    /// EVPN routes skipped (route type, in MP_REACH).
    Skipped(Vec<(u8, bool)>),
    /// MP_REACH routes withdrawn on their own (RFC 9136 checks), by index.
    RoutesWithdrawn(Vec<usize>),
    /// The family to disable.
    Disable(Family),
    /// ORIGIN value kept.
    OriginIs(Origin),
    /// A raw attribute kept with these flags.
    Raw(u8, u8),
    /// The NOTIFICATION data.
    Data(Vec<u8>),
}

struct Case {
    name: &'static str,
    peer: Peer,
    body: Vec<u8>,
    /// Strongest action.
    action: Option<Action>,
    /// Attribute type code of the deciding finding.
    attr: Option<u8>,
    /// Its subcode (when checked).
    sub: Option<u8>,
    /// NOTIFICATION (code, subcode) for a reset / AFI-SAFI disable.
    notif: Option<(u8, u8)>,
    usable: Vec<U>,
}

fn case(name: &'static str, peer: Peer, body: Vec<u8>) -> Case {
    Case {
        name,
        peer,
        body,
        action: None,
        attr: None,
        sub: None,
        notif: None,
        usable: vec![],
    }
}

impl Case {
    fn finding(mut self, action: Action, attr: Option<u8>, sub: Option<u8>) -> Case {
        self.action = Some(action);
        self.attr = attr;
        self.sub = sub;
        self
    }
    fn discard(self, attr: u8, sub: Option<u8>) -> Case {
        self.finding(Action::Discard, Some(attr), sub)
    }
    fn withdraw(self, attr: u8, sub: u8) -> Case {
        self.finding(Action::TreatAsWithdraw, Some(attr), Some(sub))
    }
    fn disable(mut self, attr: u8, family: Family) -> Case {
        self.notif = Some((3, OPT));
        self.usable.push(U::Disable(family));
        self.finding(Action::AfiSafiDisable, Some(attr), Some(OPT))
    }
    /// A reset; `sub` is the NOTIFICATION subcode and the deciding finding's.
    fn reset(mut self, attr: Option<u8>, sub: u8) -> Case {
        self.notif = Some((3, sub));
        self.finding(Action::SessionReset, attr, Some(sub))
    }
    fn then(mut self, usable: Vec<U>) -> Case {
        self.usable.extend(usable);
        self
    }
}

use U::*;

// One line per case: name, context, UPDATE body, expected verdict, what stays usable.
#[rustfmt::skip]
#[allow(clippy::vec_init_then_push)]
fn cases() -> Vec<Case> {
    let mut c = Vec::new();

    // ---- §3.1: message and structure ------------------------------------------------
    c.push(case("clean eBGP UPDATE", E, with(E, vec![])).then(vec![Nlri(1), Has(1), Has(2), Has(3)]));
    c.push(case("clean iBGP 2-octet UPDATE", I2, with(I2, vec![attr(WK, 5, &[0, 0, 0, 100])])).then(vec![Has(5), Nlri(1)]));
    c.push(case("withdrawn and NLRI in one UPDATE", E, body(&[16, 172, 16], &base(E), NLRI)).then(vec![Withdrawn(1), Nlri(1)]));
    c.push(case("End-of-RIB IPv4 (empty UPDATE)", E, body(&[], &[], &[])));
    c.push(case("End-of-RIB EVPN (empty MP_UNREACH)", E, body(&[], &[attr(ON, 15, &[0, 25, 70])], &[])).then(vec![Has(15), Unreach(0)]));
    c.push(case("pure IPv4 withdrawal", E, body(&[24, 10, 0, 0, 8, 11], &[], &[])).then(vec![Withdrawn(2)]));
    c.push(case("pure MP_UNREACH with no ORIGIN is clean", E, body(&[], &[mp_unreach(25, 70, &t2(1))], &[])).then(vec![Unreach(1), Lacks(1)]));
    c.push(case("UPDATE shorter than 4 octets", E, vec![0, 0, 0]).reset(None, MAL_LIST));
    c.push(case("withdrawn length overruns the message", E, vec![0, 10, 24, 10, 0, 0]).reset(None, MAL_LIST));
    c.push(case("total attribute length overruns the message", E, vec![0, 0, 0, 100, 0x40, 1, 1, 0]).reset(None, MAL_LIST));
    c.push(case("NLRI prefix length 33", E, body(&[], &base(E), &[33, 10, 0, 0, 0, 0])).reset(None, NET));
    c.push(case("NLRI last prefix overruns the field", E, body(&[], &base(E), &[24, 10, 0])).reset(None, NET));
    c.push(case("withdrawn prefix length 33", E, body(&[33, 1, 2, 3, 4, 5], &base(E), NLRI)).reset(None, NET));
    c.push(case("duplicate MP_REACH", E, body(&[], &[origin(0), as_path(E, &[65001]), evpn_reach(&[t2(1)]), evpn_reach(&[t2(2)])], &[])).reset(Some(14), MAL_LIST).then(vec![Data(evpn_reach(&[t2(2)]))]));
    c.push(case("duplicate MP_UNREACH", E, body(&[], &[mp_unreach(25, 70, &t2(1)), mp_unreach(25, 70, &t2(2))], &[])).reset(Some(15), MAL_LIST));
    c.push(case("repeated ORIGIN: first kept, rest discarded", E, with(E, vec![origin(2)])).discard(1, Some(MAL_LIST)).then(vec![OriginIs(Origin::Igp), Nlri(1)]));
    c.push(case("repeated COMMUNITIES: first kept", E, with(E, vec![attr(OT, 8, &[0, 1, 0, 1]), attr(OT, 8, &[0, 2, 0, 2, 9])])).discard(8, Some(MAL_LIST)).then(vec![Has(8), Nlri(1)]));
    c.push(case("missing ORIGIN with NLRI", E, but(E, 1, None)).withdraw(1, MISSING).then(vec![Nlri(1)]));
    c.push(case("missing AS_PATH with NLRI", E, but(E, 2, None)).withdraw(2, MISSING).then(vec![Nlri(1)]));
    c.push(case("missing NEXT_HOP with NLRI field", E, but(E, 3, None)).withdraw(3, MISSING).then(vec![Nlri(1)]));
    c.push(case("MP_REACH needs no NEXT_HOP", E, body(&[], &[origin(0), as_path(E, &[65001]), evpn_reach(&[t2(1)])], &[])).then(vec![Reach(1)]));
    c.push(case("missing ORIGIN with MP_REACH: routes still found", E, body(&[], &[as_path(E, &[65001]), evpn_reach(&[t2(1), t2(2)])], &[])).withdraw(1, MISSING).then(vec![Reach(2)]));
    c.push(case("attribute value overruns the attribute field", E, body(&[], &[base(E).concat(), vec![OT, 8, 10, 0, 0, 0, 1]], NLRI)).withdraw(8, LEN).then(vec![Nlri(1)]));
    c.push(case("two octets left at an attribute header", E, body(&[], &[base(E).concat(), vec![ON, 4]], NLRI)).withdraw(4, LEN).then(vec![Nlri(1)]));
    c.push(case("one octet left at an attribute header", E, body(&[], &[base(E).concat(), vec![WK]], NLRI)).finding(Action::TreatAsWithdraw, None, Some(LEN)).then(vec![Nlri(1)]));
    c.push(case("extended-length header cut short", E, body(&[], &[base(E).concat(), vec![OT | EXT, 16, 0]], NLRI)).withdraw(16, LEN).then(vec![Nlri(1)]));
    c.push(case("MP_REACH overrunning the attribute field resets (NLRI unknown)", E, body(&[], &[base(E).concat(), vec![ON | EXT, 14, 0, 50, 0, 25, 70]], NLRI)).reset(Some(14), LEN));
    c.push(case("unknown well-known attribute (0x40, 250)", E, with(E, vec![attr(WK, 250, &[1])])).reset(Some(250), UNREC_WK).then(vec![Data(vec![WK, 250, 1, 1])]));
    c.push(case("unknown well-known after a treat-as-withdraw error still resets", E, body(&[], &[origin(3), as_path(E, &[65001]), next_hop([192, 0, 2, 1]), attr(WK, 250, &[1])], NLRI)).reset(Some(250), UNREC_WK));
    c.push(case("unknown optional transitive kept with its flags", E, with(E, vec![attr(OT, 200, &[1, 2, 3])])).then(vec![Raw(200, OT), Nlri(1)]));
    c.push(case("unknown optional transitive partial kept", E, with(E, vec![attr(OT | PA, 201, &[1])])).then(vec![Raw(201, OT | PA)]));
    c.push(case("unknown optional non-transitive kept", E, with(E, vec![attr(ON, 202, &[1, 2])])).then(vec![Raw(202, ON)]));
    c.push(case("unknown optional, extended length: flag not kept", E, with(E, vec![attr(OT | EXT, 203, &[7])])).then(vec![Raw(203, OT)]));

    // RFC 7606 §5.2: no reachable NLRI.
    c.push(case("§5.2 bad ORIGIN value, withdrawals only: reset with the attribute", E, body(&[24, 10, 0, 0], &[origin(3), as_path(E, &[65001]), next_hop([192, 0, 2, 1])], &[])).reset(Some(1), BAD_ORIGIN).then(vec![Data(vec![WK, 1, 1, 3]), Withdrawn(1)]));
    c.push(case("§5.2 ORIGIN length 2, no NLRI: 3/5", E, body(&[], &[attr(WK, 1, &[0, 0]), as_path(E, &[65001])], &[])).reset(Some(1), LEN).then(vec![Data(vec![WK, 1, 2, 0, 0])]));
    c.push(case("§5.2 MED length 3, no NLRI", E, body(&[], &[origin(0), attr(ON, 4, &[0, 0, 1])], &[])).reset(Some(4), LEN));
    c.push(case("§5.2 attribute overrun, no NLRI", E, body(&[], &[origin(0), vec![OT, 8, 9, 1]], &[])).reset(Some(8), LEN).then(vec![Data(vec![OT, 8, 9, 1])]));
    c.push(case("§5.2 does not escalate attribute discard", E, body(&[], &[origin(0), attr(WK, 6, &[1])], &[])).discard(6, Some(LEN)).then(vec![Has(1), Lacks(6)]));
    c.push(case("§5.2 MP_REACH with no routes + bad MED", E, body(&[], &[origin(0), as_path(E, &[1]), attr(ON, 4, &[1]), evpn_reach(&[])], &[])).reset(Some(4), LEN));
    c.push(case("§5.2 MP_UNREACH + bad COMMUNITIES", E, body(&[], &[mp_unreach(25, 70, &t2(1)), origin(0), attr(OT, 8, &[1, 2, 3, 4, 5])], &[])).reset(Some(8), LEN));
    c.push(case("§5.2 MP_REACH of only unknown EVPN types still encodes NLRI", E, body(&[], &[origin(0), as_path(E, &[1]), attr(ON, 4, &[1]), evpn_reach(&[t8()])], &[])).withdraw(4, LEN).then(vec![Skipped(vec![(8, true)]), Reach(0)]));

    // ---- §3.2: per attribute --------------------------------------------------------
    // ORIGIN
    c.push(case("ORIGIN length 0", E, but(E, 1, Some(attr(WK, 1, &[])))).withdraw(1, LEN).then(vec![Nlri(1)]));
    c.push(case("ORIGIN length 2", E, but(E, 1, Some(attr(WK, 1, &[0, 0])))).withdraw(1, LEN).then(vec![Nlri(1)]));
    c.push(case("ORIGIN value 3", E, but(E, 1, Some(origin(3)))).withdraw(1, BAD_ORIGIN).then(vec![Nlri(1)]));
    c.push(case("ORIGIN value 255", E, but(E, 1, Some(origin(255)))).withdraw(1, BAD_ORIGIN));
    c.push(case("ORIGIN flags 0xC0", E, but(E, 1, Some(attr(OT, 1, &[0])))).withdraw(1, FLAGS).then(vec![Nlri(1)]));
    c.push(case("ORIGIN flags 0x60 (Partial)", E, but(E, 1, Some(attr(WK | PA, 1, &[0])))).withdraw(1, FLAGS));
    c.push(case("ORIGIN flags 0x00", E, but(E, 1, Some(attr(0, 1, &[0])))).withdraw(1, FLAGS));
    c.push(case("ORIGIN with extended length is fine", E, but(E, 1, Some(attr(WK | EXT, 1, &[2])))).then(vec![OriginIs(Origin::Incomplete)]));
    // AS_PATH
    c.push(case("AS_PATH unknown segment type 5", E, but(E, 2, Some(attr(WK, 2, &segment(5, &[65001], true))))).withdraw(2, BAD_PATH).then(vec![Nlri(1)]));
    c.push(case("AS_PATH segment overrun", E, but(E, 2, Some(attr(WK, 2, &[2, 3, 0, 0, 0xfd, 0xe9])))).withdraw(2, BAD_PATH));
    c.push(case("AS_PATH one octet left over", E, but(E, 2, Some(attr(WK, 2, &[2, 1, 0, 0, 0xfd, 0xe9, 2])))).withdraw(2, BAD_PATH));
    c.push(case("AS_PATH segment count 0", E, but(E, 2, Some(attr(WK, 2, &[2, 0])))).withdraw(2, BAD_PATH));
    c.push(case("AS_PATH with AS 0 (RFC 7607)", E, but(E, 2, Some(as_path(E, &[65001, 0])))).withdraw(2, BAD_PATH));
    c.push(case("AS_PATH 2-octet bytes on a 4-octet session", E, but(E, 2, Some(as_path(E2, &[65001, 65002])))).withdraw(2, BAD_PATH));
    c.push(case("AS_PATH AS_SET + AS_SEQUENCE", E, but(E, 2, Some(attr(WK, 2, &[segment(2, &[1, 2], true), segment(1, &[3, 4], true)].concat())))).then(vec![Has(2)]));
    c.push(case("AS_PATH empty from iBGP", I, but(I, 2, Some(attr(WK, 2, &[])))).then(vec![Has(2)]));
    c.push(case("AS_PATH flags 0x80", E, but(E, 2, Some(attr(ON, 2, &segment(2, &[1], true))))).withdraw(2, FLAGS));
    // AS4_PATH / AS4_AGGREGATOR
    let as4 = |asns: &[u32], kind: u8| attr(OT, 17, &segment(kind, asns, true));
    c.push(case("AS4_PATH with AS_CONFED_SEQUENCE from an OLD speaker", E2, with(E2, vec![as4(&[65010], 3)])).discard(17, Some(OPT)).then(vec![Lacks(17), Has(2), Nlri(1)]));
    c.push(case("AS4_PATH with AS_CONFED_SET from an OLD speaker", E2, with(E2, vec![as4(&[65010], 4)])).discard(17, Some(OPT)));
    c.push(case("AS4_PATH with AS 0 from an OLD speaker", E2, with(E2, vec![as4(&[70000, 0], 2)])).discard(17, Some(OPT)).then(vec![Lacks(17)]));
    c.push(case("AS4_PATH overrun from an OLD speaker", E2, with(E2, vec![attr(OT, 17, &[2, 2, 0, 1, 0x11, 0x70])])).discard(17, Some(OPT)));
    c.push(case("AS4_PATH from an OLD speaker kept", E2, with(E2, vec![as4(&[70000], 2)])).then(vec![Has(17)]));
    c.push(case("AS4_PATH from a NEW speaker discarded", E, with(E, vec![as4(&[70000], 2)])).discard(17, None).then(vec![Lacks(17), Nlri(1)]));
    c.push(case("AS4_PATH flags 0x80 from an OLD speaker", E2, with(E2, vec![attr(ON, 17, &segment(2, &[70000], true))])).withdraw(17, FLAGS));
    c.push(case("AS4_PATH flags 0x80 from a NEW speaker: dropped anyway", E, with(E, vec![attr(ON, 17, &segment(2, &[70000], true))])).discard(17, None));
    c.push(case("AS4_AGGREGATOR from a NEW speaker discarded", E, with(E, vec![attr(OT, 18, &[0, 1, 0x11, 0x70, 10, 0, 0, 1])])).discard(18, None).then(vec![Lacks(18)]));
    c.push(case("AS4_AGGREGATOR length 6 from an OLD speaker", E2, with(E2, vec![attr(OT, 18, &[0x11, 0x70, 10, 0, 0, 1])])).discard(18, Some(LEN)));
    c.push(case("AS4_AGGREGATOR from an OLD speaker kept", E2, with(E2, vec![attr(OT, 18, &[0, 1, 0x11, 0x70, 10, 0, 0, 1])])).then(vec![Has(18)]));
    // NEXT_HOP
    c.push(case("NEXT_HOP length 3", E, but(E, 3, Some(attr(WK, 3, &[192, 0, 2])))).withdraw(3, LEN).then(vec![Nlri(1)]));
    c.push(case("NEXT_HOP length 5", E, but(E, 3, Some(attr(WK, 3, &[192, 0, 2, 1, 0])))).withdraw(3, LEN));
    c.push(case("NEXT_HOP 0.0.0.0", E, but(E, 3, Some(next_hop([0, 0, 0, 0])))).withdraw(3, BAD_NH).then(vec![Nlri(1)]));
    c.push(case("NEXT_HOP 127.0.0.1", E, but(E, 3, Some(next_hop([127, 0, 0, 1])))).withdraw(3, BAD_NH));
    c.push(case("NEXT_HOP 224.0.0.1", E, but(E, 3, Some(next_hop([224, 0, 0, 1])))).withdraw(3, BAD_NH));
    c.push(case("NEXT_HOP 255.255.255.255", E, but(E, 3, Some(next_hop([255; 4])))).withdraw(3, BAD_NH));
    c.push(case("NEXT_HOP flags 0xC0", E, but(E, 3, Some(attr(OT, 3, &[192, 0, 2, 1])))).withdraw(3, FLAGS));
    c.push(case("martian NEXT_HOP ignored without IPv4 NLRI (RFC 4760 §3)", E, body(&[], &[origin(0), as_path(E, &[1]), next_hop([0, 0, 0, 0]), evpn_reach(&[t2(1)])], &[])).then(vec![Reach(1)]));
    // MED
    c.push(case("MED length 3", E, with(E, vec![attr(ON, 4, &[0, 0, 1])])).withdraw(4, LEN).then(vec![Nlri(1)]));
    c.push(case("MED length 0", E, with(E, vec![attr(ON, 4, &[])])).withdraw(4, LEN));
    c.push(case("MED flags 0x40", E, with(E, vec![attr(WK, 4, &[0, 0, 0, 1])])).withdraw(4, FLAGS));
    c.push(case("MED flags 0xA0 (Partial)", E, with(E, vec![attr(ON | PA, 4, &[0, 0, 0, 1])])).withdraw(4, FLAGS));
    c.push(case("MED well-formed", E, with(E, vec![attr(ON, 4, &[0, 0, 0, 1])])).then(vec![Has(4)]));
    // LOCAL_PREF
    c.push(case("LOCAL_PREF from eBGP, well-formed: discard", E, with(E, vec![attr(WK, 5, &[0, 0, 0, 100])])).discard(5, None).then(vec![Lacks(5), Has(1), Has(2), Has(3), Nlri(1)]));
    c.push(case("LOCAL_PREF from eBGP, length 3: discard", E, with(E, vec![attr(WK, 5, &[0, 0, 100])])).discard(5, None).then(vec![Lacks(5), Nlri(1)]));
    c.push(case("LOCAL_PREF from eBGP, flags 0xC0: discard", E, with(E, vec![attr(OT, 5, &[0, 0, 0, 100])])).discard(5, None));
    c.push(case("LOCAL_PREF from iBGP, length 3", I, with(I, vec![attr(WK, 5, &[0, 0, 100])])).withdraw(5, LEN).then(vec![Nlri(1)]));
    c.push(case("LOCAL_PREF from iBGP, length 0", I, with(I, vec![attr(WK, 5, &[])])).withdraw(5, LEN));
    c.push(case("LOCAL_PREF from iBGP, flags 0xC0", I, with(I, vec![attr(OT, 5, &[0, 0, 0, 100])])).withdraw(5, FLAGS));
    c.push(case("LOCAL_PREF from iBGP kept", I, with(I, vec![attr(WK, 5, &[0, 0, 0, 100])])).then(vec![Has(5)]));
    // ATOMIC_AGGREGATE
    c.push(case("ATOMIC_AGGREGATE length 1", E, with(E, vec![attr(WK, 6, &[0])])).discard(6, Some(LEN)).then(vec![Lacks(6), Has(1), Has(2), Has(3), Nlri(1)]));
    c.push(case("ATOMIC_AGGREGATE length 0 kept", E, with(E, vec![attr(WK, 6, &[])])).then(vec![Has(6)]));
    c.push(case("ATOMIC_AGGREGATE flags 0xC0 (RFC 7606 §3.c)", E, with(E, vec![attr(OT, 6, &[])])).withdraw(6, FLAGS));
    c.push(case("ATOMIC_AGGREGATE flags 0x60 (Partial only, §3.f)", E, with(E, vec![attr(WK | PA, 6, &[])])).discard(6, Some(FLAGS)));
    // AGGREGATOR
    c.push(case("AGGREGATOR length 6 on a 4-octet session", E, with(E, vec![attr(OT, 7, &[0xfd, 0xe9, 10, 0, 0, 1])])).discard(7, Some(LEN)).then(vec![Lacks(7), Nlri(1)]));
    c.push(case("AGGREGATOR length 8 on a 2-octet session", E2, with(E2, vec![attr(OT, 7, &[0, 0, 0xfd, 0xe9, 10, 0, 0, 1])])).discard(7, Some(LEN)).then(vec![Lacks(7)]));
    c.push(case("AGGREGATOR length 6 on a 2-octet session kept", E2, with(E2, vec![attr(OT, 7, &[0xfd, 0xe9, 10, 0, 0, 1])])).then(vec![Has(7)]));
    c.push(case("AGGREGATOR length 8 on a 4-octet session kept", E, with(E, vec![attr(OT, 7, &[0, 0, 0xfd, 0xe9, 10, 0, 0, 1])])).then(vec![Has(7)]));
    c.push(case("AGGREGATOR AS 0 (RFC 7607)", E, with(E, vec![attr(OT, 7, &[0, 0, 0, 0, 10, 0, 0, 1])])).discard(7, Some(OPT)).then(vec![Lacks(7)]));
    c.push(case("AGGREGATOR length 0", E, with(E, vec![attr(OT, 7, &[])])).discard(7, Some(LEN)));
    c.push(case("AGGREGATOR flags 0x40 (RFC 7606 §3.c)", E, with(E, vec![attr(WK, 7, &[0, 0, 0xfd, 0xe9, 10, 0, 0, 1])])).withdraw(7, FLAGS));
    // COMMUNITIES
    c.push(case("COMMUNITIES length 0", E, with(E, vec![attr(OT, 8, &[])])).withdraw(8, LEN).then(vec![Nlri(1)]));
    c.push(case("COMMUNITIES length 5", E, with(E, vec![attr(OT, 8, &[0, 1, 0, 1, 0])])).withdraw(8, LEN));
    c.push(case("COMMUNITIES flags 0x40", E, with(E, vec![attr(WK, 8, &[0, 1, 0, 1])])).withdraw(8, FLAGS));
    c.push(case("COMMUNITIES kept", E, with(E, vec![attr(OT, 8, &[0xff, 0xff, 0xff, 0x01])])).then(vec![Has(8)]));
    // ORIGINATOR_ID / CLUSTER_LIST
    c.push(case("ORIGINATOR_ID from eBGP: discard", E, with(E, vec![attr(ON, 9, &[10, 0, 0, 9])])).discard(9, None).then(vec![Lacks(9), Nlri(1)]));
    c.push(case("ORIGINATOR_ID from iBGP, length 3", I, with(I, vec![attr(ON, 9, &[10, 0, 0])])).withdraw(9, LEN).then(vec![Nlri(1)]));
    c.push(case("ORIGINATOR_ID from iBGP kept", I, with(I, vec![attr(ON, 9, &[10, 0, 0, 9])])).then(vec![Has(9)]));
    c.push(case("CLUSTER_LIST from eBGP: discard", E, with(E, vec![attr(ON, 10, &[10, 0, 0, 9])])).discard(10, None).then(vec![Lacks(10), Nlri(1)]));
    c.push(case("CLUSTER_LIST from iBGP, length 0", I, with(I, vec![attr(ON, 10, &[])])).withdraw(10, LEN));
    c.push(case("CLUSTER_LIST from iBGP, length 6", I, with(I, vec![attr(ON, 10, &[10, 0, 0, 9, 0, 0])])).withdraw(10, LEN).then(vec![Nlri(1)]));
    c.push(case("CLUSTER_LIST from iBGP kept", I, with(I, vec![attr(ON, 10, &[10, 0, 0, 9, 10, 0, 0, 8])])).then(vec![Has(10)]));
    // MP_REACH_NLRI
    let with_reach = |reach: Vec<u8>| body(&[], &[origin(0), as_path(E, &[65001]), reach], &[]);
    c.push(case("MP_REACH shorter than 5 octets", E, with_reach(attr(ON, 14, &[0, 25, 70]))).reset(Some(14), OPT));
    c.push(case("MP_REACH length 0", E, with_reach(attr(ON, 14, &[]))).reset(Some(14), OPT));
    c.push(case("MP_REACH next hop overruns the attribute", E, with_reach(attr(ON, 14, &[0, 25, 70, 40, 1, 2, 3, 4, 0]))).reset(Some(14), OPT));
    c.push(case("MP_REACH EVPN next-hop length 12", E, with_reach(mp_reach(25, 70, &[0; 12], &t2(1)))).disable(14, Family::L2vpnEvpn).then(vec![Lacks(14)]));
    c.push(case("MP_REACH IPv4 next-hop length 16 without RFC 8950", E, with_reach(mp_reach(1, 1, &[0x20; 16], &[24, 10, 0, 0]))).disable(14, Family::Ipv4Unicast));
    c.push(case("MP_REACH IPv6 next-hop length 4", E, with_reach(mp_reach(2, 1, &[10, 0, 0, 1], &[32, 0x20, 1, 0xd, 0xb8]))).disable(14, Family::Ipv6Unicast));
    c.push(case("MP_REACH EVPN NLRI overrun", E, with_reach(evpn_reach(&[t2(1)[..20].to_vec()]))).disable(14, Family::L2vpnEvpn));
    c.push(case("MP_REACH IPv6 prefix length 129", E, with_reach(mp_reach(2, 1, &[0x20; 16], &[129, 0x20, 1]))).disable(14, Family::Ipv6Unicast));
    c.push(case("MP_REACH flags 0xC0", E, with_reach(attr(OT | EXT, 14, &evpn_reach(&[t2(1)])[4..]))).reset(Some(14), FLAGS));
    c.push(case("MP_REACH of an unmodelled family (flowspec) kept raw", E, with_reach(mp_reach(1, 133, &[], &[5, 1, 2, 3, 4, 5]))).then(vec![Reach(1)]));
    c.push(case("MP_REACH IPv6 with global + link-local", E, with_reach(mp_reach(2, 1, &[0xfe; 32], &[32, 0x20, 1, 0xd, 0xb8]))).then(vec![Reach(1)]));
    // MP_UNREACH_NLRI
    c.push(case("MP_UNREACH shorter than 3 octets", E, body(&[], &[attr(ON, 15, &[0, 25])], &[])).reset(Some(15), OPT));
    c.push(case("MP_UNREACH NLRI overrun alone: AFI/SAFI disable, not escalated", E, body(&[], &[mp_unreach(25, 70, &t2(1)[..9])], &[])).disable(15, Family::L2vpnEvpn));
    c.push(case("MP_UNREACH NLRI overrun with other attributes: §5.2 reset", E, body(&[], &[origin(0), as_path(E, &[1]), mp_unreach(25, 70, &t2(1)[..9])], &[])).reset(Some(15), OPT).then(vec![Data(mp_unreach(25, 70, &t2(1)[..9])), Disable(Family::L2vpnEvpn)]));
    // EXTENDED_COMMUNITIES
    c.push(case("EXT_COMMUNITIES length 7", E, with(E, vec![attr(OT, 16, &[0, 2, 0xfd, 0xe8, 0, 0, 0])])).withdraw(16, LEN).then(vec![Nlri(1)]));
    c.push(case("EXT_COMMUNITIES length 0", E, with(E, vec![attr(OT, 16, &[])])).withdraw(16, LEN));
    c.push(case("EXT_COMMUNITIES flags 0x80", E, with(E, vec![attr(ON, 16, &ENCAP_VXLAN)])).withdraw(16, FLAGS));
    c.push(case("EXT_COMMUNITIES unknown type is not an error", E, with(E, vec![ext_comms(&[[0x4f, 0x77, 1, 2, 3, 4, 5, 6]])])).then(vec![Has(16)]));
    // PMSI_TUNNEL
    c.push(case("PMSI_TUNNEL length 4", E, with(E, vec![attr(OT, 22, &[0, 6, 0, 0])])).withdraw(22, LEN));
    c.push(case("PMSI_TUNNEL ingress replication with a 6-octet endpoint", E, with(E, vec![attr(OT, 22, &[0, 6, 0, 0, 100, 10, 0, 0, 1, 0, 0])])).withdraw(22, LEN).then(vec![Nlri(1)]));
    c.push(case("PMSI_TUNNEL ingress replication kept", E, with(E, vec![attr(OT, 22, &[0, 6, 0, 0, 100, 10, 0, 0, 1])])).then(vec![Has(22)]));
    c.push(case("PMSI_TUNNEL label only (length 5) kept", E, with(E, vec![attr(OT, 22, &[0, 0, 0, 0, 100])])).then(vec![Has(22)]));
    // LARGE_COMMUNITY
    c.push(case("LARGE_COMMUNITY length 11", E, with(E, vec![attr(OT, 32, &[0; 11])])).withdraw(32, LEN).then(vec![Nlri(1)]));
    c.push(case("LARGE_COMMUNITY length 0", E, with(E, vec![attr(OT, 32, &[])])).withdraw(32, LEN));
    c.push(case("LARGE_COMMUNITY kept", E, with(E, vec![attr(OT, 32, &[1; 12])])).then(vec![Has(32)]));
    // OTC
    c.push(case("OTC value 0", E, with(E, vec![attr(OT, 35, &[0, 0, 0, 0])])).withdraw(35, OPT).then(vec![Nlri(1)]));
    c.push(case("OTC length 3", E, with(E, vec![attr(OT, 35, &[0, 0, 1])])).withdraw(35, LEN));
    c.push(case("OTC kept", E, with(E, vec![attr(OT, 35, &[0, 0, 0xfd, 0xe9])])).then(vec![Has(35)]));
    // Prefix-SID
    c.push(case("Prefix-SID malformed TLV: discard", E, with(E, vec![attr(OT, 40, &[1, 0, 6, 0, 0, 0, 0, 0, 0])])).discard(40, Some(OPT)).then(vec![Lacks(40), Has(1), Has(2), Has(3), Nlri(1)]));
    c.push(case("Prefix-SID flags 0x80: discard (RFC 8669)", E, with(E, vec![attr(ON, 40, &[1, 0, 7, 0, 0, 0, 0, 0, 0, 9])])).discard(40, Some(FLAGS)).then(vec![Lacks(40), Nlri(1)]));
    c.push(case("Prefix-SID label index kept", E, with(E, vec![attr(OT, 40, &[1, 0, 7, 0, 0, 0, 0, 0, 0, 9])])).then(vec![Has(40)]));
    // Other recognised attributes kept raw
    c.push(case("IPv6 address-specific EC length 19", E, with(E, vec![attr(OT, 25, &[0; 19])])).withdraw(25, LEN));
    c.push(case("IPv6 address-specific EC kept", E, with(E, vec![attr(OT, 25, &[0; 20])])).then(vec![Raw(25, OT)]));
    c.push(case("AIGP flags 0x40: discard, not 3/2", E, with(E, vec![attr(WK, 26, &[1, 0, 11, 0, 0, 0, 0, 0, 0, 0, 5])])).discard(26, Some(FLAGS)).then(vec![Lacks(26), Nlri(1)]));
    c.push(case("AIGP kept", E, with(E, vec![attr(ON, 26, &[1, 0, 11, 0, 0, 0, 0, 0, 0, 0, 5])])).then(vec![Raw(26, ON)]));
    c.push(case("TUNNEL_ENCAPSULATION flags 0x40", E, with(E, vec![attr(WK, 23, &[0, 8, 0, 0])])).withdraw(23, FLAGS));
    c.push(case("TUNNEL_ENCAPSULATION kept", E, with(E, vec![attr(OT, 23, &[0, 8, 0, 0])])).then(vec![Raw(23, OT)]));
    c.push(case("Traffic Engineering (24) kept", E, with(E, vec![attr(ON, 24, &[1, 2, 3])])).then(vec![Raw(24, ON)]));
    c.push(case("ATTR_SET length 0", E, with(E, vec![attr(OT, 128, &[])])).withdraw(128, LEN));

    // ---- §3.3: EVPN -----------------------------------------------------------------
    let good5 = || t5(0, [0; 4], 5000);
    let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    c.push(case("EVPN type-5 with VXLAN, clean", E, evpn(&[good5()], &[])).then(vec![Reach(1)]));
    c.push(case("EVPN unknown type 8 in MP_REACH: skipped", E, evpn(&[t8(), good5(), t8()], &[])).then(vec![Reach(1), Skipped(vec![(8, true), (8, true)])]));
    c.push(case("EVPN unknown type 8 in MP_UNREACH: skipped", E, body(&[], &[mp_unreach(25, 70, &[t2(1), t8()].concat())], &[])).then(vec![Unreach(1), Skipped(vec![(8, false)])]));
    c.push(case("EVPN type-5 of length 46", E, evpn(&[[vec![5, 46], vec![0; 46]].concat()], &[])).disable(14, Family::L2vpnEvpn).then(vec![Data(evpn_reach(&[[vec![5, 46], vec![0; 46]].concat()]))]));
    let mut t5_33 = good5();
    t5_33[24] = 33;
    c.push(case("EVPN type-5 prefix length 33", E, evpn(&[t5_33], &[])).disable(14, Family::L2vpnEvpn));
    c.push(case("EVPN type-2 of length 34", E, evpn(&[[vec![2, 34], vec![0; 34]].concat()], &[])).disable(14, Family::L2vpnEvpn));
    c.push(case("EVPN type-5 with ESI and gateway: that route withdrawn", E, evpn(&[good5(), t5(1, [10, 0, 0, 1], 5000)], &[])).then(vec![RoutesWithdrawn(vec![1]), Reach(2), Has(1), Has(16)]));
    c.push(case("EVPN type-5 ESI 0, GW 0, label 0, no Router's MAC", E, evpn(&[t5(0, [0; 4], 0), good5()], &[])).then(vec![RoutesWithdrawn(vec![0]), Reach(2)]));
    c.push(case("EVPN type-5 ESI 0, GW 0, label 0, zero Router's MAC", E, evpn(&[t5(0, [0; 4], 0)], &[rmac([0; 6])])).then(vec![RoutesWithdrawn(vec![0])]));
    c.push(case("EVPN type-5 label 0 with a Router's MAC accepted", E, evpn(&[t5(0, [0; 4], 0)], &[rmac(mac)])).then(vec![Reach(1), Has(16)]));
    c.push(case("EVPN type-5 label 0 with a gateway accepted (Ryu)", E, evpn(&[t5(0, [20, 20, 20, 20], 0)], &[])).then(vec![Reach(1)]));
    c.push(case("EVPN multicast Router's MAC: every type-5 withdrawn", E, evpn(&[good5(), t2(1), good5()], &[rmac([0x01, 0, 0x5e, 0, 0, 1])])).then(vec![RoutesWithdrawn(vec![0, 2]), Reach(3)]));
    c.push(case("EVPN broadcast Router's MAC", E, evpn(&[good5()], &[rmac([0xff; 6])])).then(vec![RoutesWithdrawn(vec![0])]));
    c
}

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

/// Whether the attribute of type `code` is in the model.
fn present(a: &PathAttributes, code: u8) -> bool {
    match code {
        1 => a.origin.is_some(),
        2 => a.as_path.is_some(),
        3 => a.next_hop.is_some(),
        4 => a.med.is_some(),
        5 => a.local_pref.is_some(),
        6 => a.atomic_aggregate,
        7 => a.aggregator.is_some(),
        8 => !a.communities.is_empty(),
        9 => a.originator_id.is_some(),
        10 => !a.cluster_list.is_empty(),
        14 => a.mp_reach.is_some(),
        15 => a.mp_unreach.is_some(),
        16 => !a.ext_communities.is_empty(),
        17 => a.as4_path.is_some(),
        18 => a.as4_aggregator.is_some(),
        22 => a.pmsi_tunnel.is_some(),
        32 => !a.large_communities.is_empty(),
        35 => a.otc.is_some(),
        40 => a.prefix_sid.is_some(),
        c => a.other.iter().any(|r| r.code == c),
    }
}

/// The finding that decided the verdict: the first attributed finding of the strongest
/// action among attributed findings (for a §5.2 escalation, the attribute error escalated),
/// else the first finding.
fn deciding(findings: &[Finding]) -> Option<&Finding> {
    let top = findings
        .iter()
        .filter(|f| f.attribute.is_some())
        .map(|f| f.action)
        .max();
    match top {
        Some(top) => findings
            .iter()
            .find(|f| f.attribute.is_some() && f.action == top),
        None => findings.first(),
    }
}

fn check(c: &Case, d: &DecodedUpdate) {
    let v = &d.verdict;
    let a = &d.update.attributes;
    let n = c.name;
    assert_eq!(v.action, c.action, "{n}: action; findings {:?}", v.findings);
    assert_eq!(v.is_reset(), c.action == Some(Action::SessionReset), "{n}");
    assert_eq!(
        v.withdraw_all(),
        c.action >= Some(Action::TreatAsWithdraw),
        "{n}"
    );
    match c.action {
        None => assert!(v.findings.is_empty(), "{n}: {:?}", v.findings),
        Some(_) => {
            let f = deciding(&v.findings).unwrap_or_else(|| panic!("{n}: no finding"));
            assert_eq!(
                f.attribute, c.attr,
                "{n}: deciding attribute of {:?}",
                v.findings
            );
            if let Some(sub) = c.sub {
                assert_eq!(f.subcode, sub, "{n}: deciding subcode of {:?}", v.findings);
            }
        }
    }
    let notif = v.notification.as_ref().map(|x| (x.code, x.subcode));
    assert_eq!(notif, c.notif, "{n}: NOTIFICATION");
    if c.action >= Some(Action::TreatAsWithdraw) {
        // Nothing but MP_REACH / MP_UNREACH survives a treat-as-withdraw (or worse).
        let only_mp = PathAttributes {
            mp_reach: a.mp_reach.clone(),
            mp_unreach: a.mp_unreach.clone(),
            ..Default::default()
        };
        assert_eq!(*a, only_mp, "{n}: attributes used after treat-as-withdraw");
    }
    let expect_disable: Vec<Family> = c
        .usable
        .iter()
        .filter_map(|u| if let Disable(f) = u { Some(*f) } else { None })
        .collect();
    let got_disable: Vec<Family> = v.disable.iter().filter_map(|x| x.family()).collect();
    assert_eq!(got_disable, expect_disable, "{n}: families to disable");
    if !c.usable.iter().any(|u| matches!(u, RoutesWithdrawn(_))) {
        assert!(
            v.withdrawn_routes.is_empty(),
            "{n}: {:?}",
            v.withdrawn_routes
        );
    }
    if !c.usable.iter().any(|u| matches!(u, Skipped(_))) {
        assert!(v.skipped.is_empty(), "{n}: {:?}", v.skipped);
    }
    for u in &c.usable {
        match u {
            Has(code) => assert!(present(a, *code), "{n}: attribute {code} missing"),
            Lacks(code) => assert!(!present(a, *code), "{n}: attribute {code} still used"),
            Nlri(k) => assert_eq!(d.update.nlri.len(), *k, "{n}: NLRI field"),
            Withdrawn(k) => assert_eq!(d.update.withdrawn.len(), *k, "{n}: withdrawn"),
            Reach(k) => {
                let m = a
                    .mp_reach
                    .as_ref()
                    .unwrap_or_else(|| panic!("{n}: no MP_REACH"));
                assert_eq!(m.nlri.len(), *k, "{n}: MP_REACH routes");
            }
            Unreach(k) => {
                let m = a
                    .mp_unreach
                    .as_ref()
                    .unwrap_or_else(|| panic!("{n}: no MP_UNREACH"));
                assert_eq!(m.withdrawn.len(), *k, "{n}: MP_UNREACH routes");
            }
            Skipped(s) => {
                let got: Vec<(u8, bool)> =
                    v.skipped.iter().map(|r| (r.route_type, r.reach)).collect();
                assert_eq!(&got, s, "{n}: skipped");
            }
            RoutesWithdrawn(idx) => {
                let got: Vec<usize> = v.withdrawn_routes.iter().map(|r| r.index).collect();
                assert_eq!(&got, idx, "{n}: routes withdrawn alone");
                let routes = a.mp_reach.as_ref().map_or(0, |m| m.nlri.len());
                for i in 0..routes {
                    assert_eq!(v.route_withdrawn(i), idx.contains(&i), "{n}: route {i}");
                }
                assert!(!v.is_clean(), "{n}");
            }
            Disable(_) => {}
            OriginIs(o) => assert_eq!(a.origin, Some(*o), "{n}: ORIGIN"),
            Raw(code, flags) => {
                let r = a
                    .other
                    .iter()
                    .find(|r| r.code == *code)
                    .unwrap_or_else(|| panic!("{n}: raw {code}"));
                assert_eq!(r.flags, *flags, "{n}: raw flags");
            }
            Data(data) => {
                let got = v.notification.as_ref().map(|x| x.data.clone());
                assert_eq!(got.as_ref(), Some(data), "{n}: NOTIFICATION data");
            }
        }
    }
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(body);
    m
}

/// Runs one case: the verdict, then the same body framed through `decode_message`, which must
/// agree and shift finding offsets by 19.
fn run(c: &Case) {
    let ctx = c.peer.ctx();
    let d = Update::decode(&c.body, &ctx);
    check(c, &d);
    if c.body.len() >= 4 {
        let r =
            decode_message(&framed(&c.body), &ctx).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(r.message, Message::Update(d.update.clone()), "{}", c.name);
        assert_eq!(r.verdict.action, d.verdict.action, "{}", c.name);
        assert_eq!(r.verdict.notification, d.verdict.notification, "{}", c.name);
        assert_eq!(
            r.verdict.withdrawn_routes, d.verdict.withdrawn_routes,
            "{}",
            c.name
        );
        assert_eq!(r.verdict.skipped, d.verdict.skipped, "{}", c.name);
        let shifted: Vec<Finding> = d
            .verdict
            .findings
            .iter()
            .map(|f| Finding {
                offset: f.offset + 19,
                ..f.clone()
            })
            .collect();
        assert_eq!(r.verdict.findings, shifted, "{}", c.name);
    }
}

#[test]
fn rfc7606_table() {
    let cases = cases();
    let mut names = std::collections::HashSet::new();
    let mut failed = Vec::new();
    for c in &cases {
        assert!(names.insert(c.name), "duplicate case name {}", c.name);
        // Every case runs; the failures are listed together at the end.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(c))).is_err() {
            failed.push(c.name);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed: {failed:#?}",
        failed.len(),
        cases.len()
    );
    assert_eq!(cases.len(), 163);
}

// ---------------------------------------------------------------------------------------
// Beyond the table
// ---------------------------------------------------------------------------------------

#[test]
fn strongest_action_whatever_the_attribute_order() {
    // Discard (ATOMIC_AGGREGATE length 1), treat-as-withdraw (MED length 3) and session reset
    // (unrecognised well-known) in every order: always the reset, 3/2, with that attribute.
    let bad = [
        attr(WK, 6, &[0]),
        attr(ON, 4, &[0, 0, 1]),
        attr(WK, 251, &[9]),
    ];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for o in orders {
        let mut attrs = base(E);
        attrs.extend(o.iter().map(|i| bad[*i].clone()));
        let d = Update::decode(&body(&[], &attrs, NLRI), &E.ctx());
        assert_eq!(d.verdict.action, Some(Action::SessionReset), "{o:?}");
        let n = d.verdict.notification.unwrap();
        assert_eq!(
            (n.code, n.subcode, n.data),
            (3, UNREC_WK, vec![WK, 251, 1, 9]),
            "{o:?}"
        );
    }
}

#[test]
fn finding_offsets_point_at_the_attribute() {
    // ORIGIN, AS_PATH, NEXT_HOP (4 + 9 + 7 octets) then a bad MED at body offset 4 + 20.
    let b = with(E, vec![attr(ON, 4, &[0, 1])]);
    let d = Update::decode(&b, &E.ctx());
    let f = &d.verdict.findings[0];
    assert_eq!((f.attribute, f.offset), (Some(4), 24));
    assert_eq!(&b[f.offset..f.offset + 2], &[ON, 4]);
    let r = decode_message(&framed(&b), &E.ctx()).unwrap();
    assert_eq!(r.verdict.findings[0].offset, 24 + 19);
    // A missing attribute is reported at the end of the attribute field.
    let b = but(E, 1, None);
    let d = Update::decode(&b, &E.ctx());
    assert_eq!(d.verdict.findings[0].offset, b.len() - NLRI.len());
    assert_eq!(d.verdict.findings[0].reason, "ORIGIN missing");
}

#[test]
fn unknown_optional_attributes_propagate_with_partial() {
    let b = with(
        E,
        vec![
            attr(OT, 200, &[1, 2, 3]),
            attr(ON, 201, &[4]),
            attr(OT | PA, 202, &[5]),
        ],
    );
    let d = Update::decode(&b, &E.ctx());
    assert!(d.verdict.is_clean());
    let other = &d.update.attributes.other;
    assert_eq!(
        other.iter().map(|r| (r.code, r.flags)).collect::<Vec<_>>(),
        [(200, OT), (201, ON), (202, OT | PA)]
    );
    // Transitive: passed on with Partial set; non-transitive: not passed on.
    let p = other[0].for_propagation().unwrap();
    assert_eq!(
        (p.flags, p.code, p.value.as_slice()),
        (OT | PA, 200, &[1u8, 2, 3][..])
    );
    assert!(other[0].transitive());
    assert_eq!(other[1].for_propagation(), None);
    assert!(!other[1].transitive());
    assert_eq!(other[2].for_propagation().map(|r| r.flags), Some(OT | PA));
    // Re-encoding keeps them, after the typed attributes, in wire order and with their flags.
    let mut out = Vec::new();
    d.update.encode_body(&E.ctx(), &mut out).unwrap();
    let tail = [
        attr(OT, 200, &[1, 2, 3]),
        attr(ON, 201, &[4]),
        attr(OT | PA, 202, &[5]),
    ]
    .concat();
    assert_eq!(
        &out[out.len() - NLRI.len() - tail.len()..out.len() - NLRI.len()],
        &tail[..]
    );
}

#[test]
fn treat_as_withdraw_still_reports_every_nlri() {
    // A bad COMMUNITIES in an UPDATE carrying the NLRI field, MP_REACH and MP_UNREACH: all
    // three sets of routes are reported so they can be withdrawn.
    let b = body(
        &[8, 11],
        &[
            mp_unreach(25, 70, &t2(9)),
            origin(0),
            as_path(E, &[65001]),
            next_hop([192, 0, 2, 1]),
            attr(OT, 8, &[1, 2, 3]),
            evpn_reach(&[t2(1), t2(2)]),
        ],
        &[24, 10, 0, 0, 16, 172, 16],
    );
    let d = Update::decode(&b, &E.ctx());
    assert_eq!(d.verdict.action, Some(Action::TreatAsWithdraw));
    assert_eq!(d.update.nlri.len(), 2);
    assert_eq!(d.update.withdrawn.len(), 1);
    let a = &d.update.attributes;
    assert!(matches!(&a.mp_reach.as_ref().unwrap().nlri, NlriList::L2vpnEvpn(v) if v.len() == 2));
    assert_eq!(a.mp_unreach.as_ref().unwrap().withdrawn.len(), 1);
    assert_eq!(a.origin, None);
    assert_eq!(a.next_hop, None);
}

#[test]
fn verdict_serialises_without_internal_state() {
    let d = Update::decode(&body(&[24, 10, 0, 0], &[origin(3)], &[]), &E.ctx());
    let json = serde_json::to_value(&d.verdict).unwrap();
    assert_eq!(json["action"], "session-reset");
    assert_eq!(
        json["notification"],
        "3/6 (UPDATE Message Error: Invalid ORIGIN Attribute) data 40010103"
    );
    assert!(json.get("deciding").is_none());
}
