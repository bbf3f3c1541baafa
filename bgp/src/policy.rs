//! Routing policy: import and export filters that accept, reject and rewrite routes, sans I/O.
//!
//! A [`Policy`] is an ordered list of [`Term`]s and a default [`Verdict`]. The RIB evaluates it
//! once per (route, peer) on import and once per (route, export group) on export with
//! [`Policy::apply`]:
//!
//! * **First match decides.** Terms are tried in order; the first whose matchers all hold
//!   (AND within a term; a term without matchers matches every route) runs its set actions in
//!   order and returns its verdict. Later terms are not looked at.
//! * **Default.** When no term matches, the policy's `default` verdict applies, with no set
//!   action. [`Policy::accept_all`] (no terms, default accept) is OpenPERouter's
//!   `route-map allowall permit 1`, what a neighbour without a configured policy gets.
//! * **Rejecting terms** never rewrite: their actions are ignored (configuration refuses them).
//!
//! Matchers ([`Match`]):
//!
//! * **Prefixes** ([`PrefixRange`]) follow FRR prefix-lists: the route's prefix must lie inside
//!   `prefix` and its length must be in `[ge, le]`. Without `ge` and `le` the length must equal
//!   the length of `prefix` (an exact match); `ge` alone means `[ge, max]` and `le` alone
//!   `[len, le]`, where `max` is 32 or 128. A range whose bounds are inconsistent
//!   (`le < ge`, `ge < len`) matches nothing. IPv4 ranges never match IPv6 routes and vice
//!   versa.
//! * **Which prefix a route has**: unicast and VPN routes their prefix (the RD is ignored);
//!   EVPN type-5 (IP prefix) routes their IP prefix; EVPN type-2 (MAC/IP) routes their IP as
//!   a host prefix (/32 or /128), and none when they carry only a MAC; EVPN types 1, 3 and 4
//!   have no prefix and never match a prefix matcher.
//! * **Communities**, **large communities** and **route targets** match when the route carries
//!   the value. Route targets compare by administrator and assigned number, whatever the
//!   encoding: `65000:100` as a 2-octet-AS (type 0) or a 4-octet-AS (type 2) RT is the same.
//! * **AS path** matchers are regex-free: the origin AS (the last AS of a trailing
//!   AS_SEQUENCE; a path ending in an AS_SET or an empty path has none) and the path length
//!   as the decision process counts it (a set counts one, confederation segments zero; an
//!   absent path has length 0).
//! * **Next hop**: the address the route forwards to (the global one for IPv6) lies in a prefix.
//!
//! Set actions ([`SetAction`]) rewrite LOCAL_PREF, MED, communities, large communities, route
//! targets, the AS path (prepend), the next hop and the local weight.
//!
//! Performance: evaluation only reads the attributes. They are copied (once) only when the
//! matching term's actions actually change something — setting a LOCAL_PREF the route already
//! has, or adding a community it already carries, copies nothing — so an accepted route with
//! unchanged attributes keeps its shared interned set ([`Outcome::Accept`] with `attrs: None`).
//! Owners of a private copy can use [`Policy::apply_in_place`] instead. Matching needs the
//! destination but rewriting does not: [`Policy::select`] finds the term and
//! [`Policy::apply_selected`] computes its outcome from the attributes, next hop and family
//! alone, so exports cached per attribute set can be cached per selected term too.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::{
    AdminValue, AsPath, AsSegment, Community, EvpnKey, ExtCommunity, Family, FamilySet,
    LargeCommunity, NextHop, PathAttributes, RouteDistinguisher, SegmentType,
};
use ipnet::IpNet;
use serde::Serialize;

use crate::rib::route::next_hop_addr;
use crate::rib::Dest;

/// The name of [`Policy::accept_all`] (OpenPERouter's route-map name).
pub const ACCEPT_ALL: &str = "allowall";

/// Accept or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The route is used (import) or sent (export).
    Accept,
    /// The route is dropped (import) or not sent (export).
    Reject,
}

/// A routing policy: terms tried in order, the first matching one decides; `default` when
/// none matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Name (as configured; for logs and views).
    pub name: String,
    /// Terms, in evaluation order.
    pub terms: Vec<Term>,
    /// Verdict when no term matches.
    pub default: Verdict,
}

/// One term: matchers (all must hold), set actions (run in order on acceptance), a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    /// Name (as configured; for logs and views).
    pub name: String,
    /// Matchers, all of which must hold (an empty list matches every route).
    pub matches: Vec<Match>,
    /// Actions run in order when the term matches and accepts.
    pub actions: Vec<SetAction>,
    /// The verdict when the term matches.
    pub verdict: Verdict,
}

/// A prefix with a length range, as in an FRR prefix-list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct PrefixRange {
    /// Routes must lie inside this prefix.
    pub prefix: IpNet,
    /// Shortest length matched (`None`: see [`PrefixRange::lengths`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ge: Option<u8>,
    /// Longest length matched (`None`: see [`PrefixRange::lengths`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub le: Option<u8>,
}

impl PrefixRange {
    /// Exactly `prefix`.
    pub fn exact(prefix: IpNet) -> PrefixRange {
        PrefixRange {
            prefix,
            ge: None,
            le: None,
        }
    }

    /// `prefix` with `ge` / `le` bounds.
    pub fn new(prefix: IpNet, ge: Option<u8>, le: Option<u8>) -> PrefixRange {
        PrefixRange { prefix, ge, le }
    }

    /// `prefix` and every more specific prefix inside it (`le` the maximum length).
    pub fn or_longer(prefix: IpNet) -> PrefixRange {
        PrefixRange {
            prefix,
            ge: None,
            le: Some(prefix.max_prefix_len()),
        }
    }

    /// The inclusive range of lengths matched: `(len, len)` without bounds, `(ge, max)` with
    /// `ge` only, `(len, le)` with `le` only, `(ge, le)` with both.
    pub fn lengths(&self) -> (u8, u8) {
        let len = self.prefix.prefix_len();
        let max = self.prefix.max_prefix_len();
        match (self.ge, self.le) {
            (None, None) => (len, len),
            (Some(ge), None) => (ge, max),
            (None, Some(le)) => (len, le),
            (Some(ge), Some(le)) => (ge, le),
        }
    }

    /// Whether the bounds can match anything: `len <= ge <= le <= max`.
    pub fn is_consistent(&self) -> bool {
        let (lo, hi) = self.lengths();
        self.prefix.prefix_len() <= lo && lo <= hi && hi <= self.prefix.max_prefix_len()
    }

    /// Whether `p` lies inside the prefix with a length in range.
    pub fn matches(&self, p: &IpNet) -> bool {
        let (lo, hi) = self.lengths();
        let len = p.prefix_len();
        lo <= len && len <= hi && self.prefix.contains(p)
    }
}

/// A condition on a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// The route's prefix is in the range (see the module docs for VPN and EVPN routes).
    Prefix(PrefixRange),
    /// The route's prefix is in any of the ranges.
    PrefixList(Vec<PrefixRange>),
    /// The route is of one of these families.
    Family(FamilySet),
    /// The route is an EVPN route of this type (1 to 5).
    EvpnRouteType(u8),
    /// The route carries this community.
    Community(Community),
    /// The route carries at least one of these communities.
    AnyCommunity(Vec<Community>),
    /// The route carries this large community.
    LargeCommunity(LargeCommunity),
    /// The route carries this route target (compared by administrator and number).
    RouteTarget(AdminValue),
    /// The route was originated by this AS (the last AS of a trailing AS_SEQUENCE).
    OriginAs(u32),
    /// The AS path length is within these inclusive bounds.
    AsPathLength {
        /// Shortest length (none: 0).
        min: Option<u32>,
        /// Longest length (none: unbounded).
        max: Option<u32>,
    },
    /// The next hop's address lies in this prefix.
    NextHop(IpNet),
}

/// A rewrite, run when an accepting term matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetAction {
    /// Sets LOCAL_PREF.
    LocalPref(u32),
    /// Sets MULTI_EXIT_DISC.
    Med(u32),
    /// Adds these communities (those already present are not repeated).
    AddCommunity(Vec<Community>),
    /// Removes these communities.
    RemoveCommunity(Vec<Community>),
    /// Replaces every community with these (empty: strips them all).
    SetCommunities(Vec<Community>),
    /// Adds these large communities (those already present are not repeated).
    AddLargeCommunity(Vec<LargeCommunity>),
    /// Removes these large communities.
    RemoveLargeCommunity(Vec<LargeCommunity>),
    /// Adds these route targets (those already present are not repeated).
    AddRouteTarget(Vec<AdminValue>),
    /// Removes these route targets (compared by administrator and number).
    RemoveRouteTarget(Vec<AdminValue>),
    /// Sets the next hop to this address, in the form the route's family uses.
    NextHop(IpAddr),
    /// Prepends `asn` `times` times to the AS path.
    PrependAs {
        /// The AS.
        asn: u32,
        /// How many times.
        times: u8,
    },
    /// Sets the local weight of the path (import; FRR `set weight`).
    Weight(u32),
}

/// What a policy did with a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The route is accepted.
    Accept {
        /// The rewritten attributes; `None` when unchanged (keep the shared set).
        attrs: Option<Box<PathAttributes>>,
        /// The rewritten next hop; `None` when unchanged.
        next_hop: Option<NextHop>,
        /// The weight set by the policy; `None` when not set.
        weight: Option<u32>,
    },
    /// The route is rejected.
    Reject,
}

impl Outcome {
    /// Accepted with nothing changed.
    pub const UNCHANGED: Outcome = Outcome::Accept {
        attrs: None,
        next_hop: None,
        weight: None,
    };

    /// Whether the route is accepted.
    pub fn is_accept(&self) -> bool {
        matches!(self, Outcome::Accept { .. })
    }
}

impl Policy {
    /// Accepts every route unchanged (OpenPERouter's `route-map allowall permit 1`).
    pub fn accept_all() -> Policy {
        Policy {
            name: ACCEPT_ALL.to_string(),
            terms: Vec::new(),
            default: Verdict::Accept,
        }
    }

    /// Whether the policy accepts every route unchanged (no terms, default accept), so callers
    /// may skip it.
    pub fn is_accept_all(&self) -> bool {
        self.terms.is_empty() && self.default == Verdict::Accept
    }

    /// The first term matching the route, if any.
    pub fn matching_term(
        &self,
        dest: &Dest,
        attrs: &PathAttributes,
        next_hop: &NextHop,
    ) -> Option<&Term> {
        self.select(dest, attrs, next_hop)
            .and_then(|i| self.terms.get(i))
    }

    /// The index of the first term matching the route; `None` when the default applies.
    ///
    /// With [`Policy::apply_selected`] this splits [`Policy::apply`] in two: matching needs
    /// the destination, but the outcome of a term depends on the route only through its
    /// attributes, next hop and family. A caller that caches exports per attribute set (update
    /// groups) can key its cache on the selected index and compute each outcome once.
    pub fn select(&self, dest: &Dest, attrs: &PathAttributes, next_hop: &NextHop) -> Option<usize> {
        let route = Route {
            dest,
            attrs,
            next_hop,
        };
        self.terms.iter().position(|t| t.matches_route(&route))
    }

    /// Evaluates the policy on one route (its destination, attributes and next hop) without
    /// copying anything unless an accepting term's actions change the attributes.
    pub fn apply(&self, dest: &Dest, attrs: &PathAttributes, next_hop: &NextHop) -> Outcome {
        if self.terms.is_empty() {
            return self.default_outcome();
        }
        let selected = self.select(dest, attrs, next_hop);
        self.apply_selected(selected, dest.family(), attrs, next_hop)
    }

    /// The outcome of the term at `selected` ([`Policy::select`]; `None`, or an index past the
    /// last term, is the default) on a route of `family` with these attributes and next hop.
    pub fn apply_selected(
        &self,
        selected: Option<usize>,
        family: Family,
        attrs: &PathAttributes,
        next_hop: &NextHop,
    ) -> Outcome {
        let Some(term) = selected.and_then(|i| self.terms.get(i)) else {
            return self.default_outcome();
        };
        if term.verdict == Verdict::Reject {
            return Outcome::Reject;
        }
        if term.actions.is_empty() {
            return Outcome::UNCHANGED;
        }
        let mut target = Cow::Borrowed(attrs);
        let fx = run_actions(&term.actions, family, &mut target);
        Outcome::Accept {
            attrs: match target {
                Cow::Owned(a) => Some(Box::new(a)),
                Cow::Borrowed(_) => None,
            },
            next_hop: fx.next_hop.filter(|n| n != next_hop),
            weight: fx.weight,
        }
    }

    /// Evaluates the policy on a route whose attributes and next hop the caller owns, rewriting
    /// them in place. Returns [`Outcome::Reject`], or [`Outcome::Accept`] with `attrs` and
    /// `next_hop` always `None` (the changes are in `attrs` and `next_hop`) and the weight set,
    /// if any. On rejection nothing is changed.
    pub fn apply_in_place(
        &self,
        dest: &Dest,
        attrs: &mut PathAttributes,
        next_hop: &mut NextHop,
    ) -> Outcome {
        let Some(term) = self.matching_term(dest, attrs, next_hop) else {
            return self.default_outcome();
        };
        if term.verdict == Verdict::Reject {
            return Outcome::Reject;
        }
        let mut target = attrs;
        let fx = run_actions(&term.actions, dest.family(), &mut target);
        if let Some(nh) = fx.next_hop {
            *next_hop = nh;
        }
        Outcome::Accept {
            attrs: None,
            next_hop: None,
            weight: fx.weight,
        }
    }

    fn default_outcome(&self) -> Outcome {
        match self.default {
            Verdict::Accept => Outcome::UNCHANGED,
            Verdict::Reject => Outcome::Reject,
        }
    }
}

impl Default for Policy {
    /// [`Policy::accept_all`].
    fn default() -> Self {
        Policy::accept_all()
    }
}

/// The route being evaluated.
struct Route<'a> {
    dest: &'a Dest,
    attrs: &'a PathAttributes,
    next_hop: &'a NextHop,
}

impl Term {
    /// Whether every matcher holds for the route.
    pub fn matches(&self, dest: &Dest, attrs: &PathAttributes, next_hop: &NextHop) -> bool {
        self.matches_route(&Route {
            dest,
            attrs,
            next_hop,
        })
    }

    fn matches_route(&self, r: &Route<'_>) -> bool {
        self.matches.iter().all(|m| m.holds(r))
    }
}

impl Match {
    /// Whether the matcher holds for the route.
    pub fn matches(&self, dest: &Dest, attrs: &PathAttributes, next_hop: &NextHop) -> bool {
        self.holds(&Route {
            dest,
            attrs,
            next_hop,
        })
    }

    fn holds(&self, r: &Route<'_>) -> bool {
        let a = r.attrs;
        match self {
            Match::Prefix(range) => dest_prefix(r.dest).is_some_and(|p| range.matches(&p)),
            Match::PrefixList(ranges) => {
                dest_prefix(r.dest).is_some_and(|p| ranges.iter().any(|range| range.matches(&p)))
            }
            Match::Family(set) => set.contains(r.dest.family()),
            Match::EvpnRouteType(t) => evpn_route_type(r.dest) == Some(*t),
            Match::Community(c) => a.communities.contains(c),
            Match::AnyCommunity(cs) => a.communities.iter().any(|c| cs.contains(c)),
            Match::LargeCommunity(c) => a.large_communities.contains(c),
            Match::RouteTarget(rt) => has_route_target(a, *rt),
            Match::OriginAs(asn) => a.as_path.as_ref().and_then(AsPath::origin_as) == Some(*asn),
            Match::AsPathLength { min, max } => {
                let len = a.as_path.as_ref().map_or(0, AsPath::path_len);
                let len = u32::try_from(len).unwrap_or(u32::MAX);
                min.is_none_or(|m| len >= m) && max.is_none_or(|m| len <= m)
            }
            Match::NextHop(net) => route_next_hop(r).is_some_and(|addr| net.contains(&addr)),
        }
    }
}

/// The IP prefix a destination is matched by, if it has one: unicast and VPN prefixes, EVPN
/// type-5 prefixes, EVPN type-2 IPs as host prefixes.
pub fn dest_prefix(dest: &Dest) -> Option<IpNet> {
    match dest {
        Dest::Ipv4Unicast { prefix } | Dest::Ipv4Vpn { prefix, .. } => Some(IpNet::V4(*prefix)),
        Dest::Ipv6Unicast { prefix } | Dest::Ipv6Vpn { prefix, .. } => Some(IpNet::V6(*prefix)),
        Dest::L2vpnEvpn { key } => match key {
            EvpnKey::IpPrefix { prefix, .. } => Some(*prefix),
            EvpnKey::MacIp { ip: Some(ip), .. } => Some(IpNet::from(*ip)),
            EvpnKey::MacIp { ip: None, .. }
            | EvpnKey::EthernetAd { .. }
            | EvpnKey::InclusiveMulticast { .. }
            | EvpnKey::EthernetSegment { .. } => None,
        },
    }
}

/// The EVPN route type (1 to 5) of a destination, `None` for other families.
pub fn evpn_route_type(dest: &Dest) -> Option<u8> {
    use bgp_wire::evpn::route_type;
    match dest {
        Dest::L2vpnEvpn { key } => Some(match key {
            EvpnKey::EthernetAd { .. } => route_type::ETHERNET_AD,
            EvpnKey::MacIp { .. } => route_type::MAC_IP,
            EvpnKey::InclusiveMulticast { .. } => route_type::INCLUSIVE_MULTICAST,
            EvpnKey::EthernetSegment { .. } => route_type::ETHERNET_SEGMENT,
            EvpnKey::IpPrefix { .. } => route_type::IP_PREFIX,
        }),
        Dest::Ipv4Unicast { .. }
        | Dest::Ipv6Unicast { .. }
        | Dest::Ipv4Vpn { .. }
        | Dest::Ipv6Vpn { .. } => None,
    }
}

/// The next-hop address of the route: the next hop given, else the NEXT_HOP attribute.
fn route_next_hop(r: &Route<'_>) -> Option<IpAddr> {
    next_hop_addr(r.next_hop).or_else(|| r.attrs.next_hop.map(IpAddr::V4))
}

/// An administrator/number pair, independent of the RT encoding.
#[derive(PartialEq, Eq)]
enum RtKey {
    As(u32, u32),
    Ip(Ipv4Addr, u32),
}

fn rt_key(a: AdminValue) -> RtKey {
    match a {
        AdminValue::As2 { asn, value } => RtKey::As(u32::from(asn), value),
        AdminValue::As4 { asn, value } => RtKey::As(asn, u32::from(value)),
        AdminValue::Ipv4 { addr, value } => RtKey::Ip(addr, u32::from(value)),
    }
}

/// Whether two route targets name the same administrator and number, whatever their type.
pub fn same_route_target(a: AdminValue, b: AdminValue) -> bool {
    rt_key(a) == rt_key(b)
}

fn is_route_target(ec: &ExtCommunity, rt: AdminValue) -> bool {
    ec.route_target().is_some_and(|r| same_route_target(r, rt))
}

fn has_route_target(a: &PathAttributes, rt: AdminValue) -> bool {
    a.ext_communities.iter().any(|ec| is_route_target(ec, rt))
}

/// Read access to the attributes, and write access that copies them first when borrowed.
trait Target {
    fn read(&self) -> &PathAttributes;
    fn write(&mut self) -> &mut PathAttributes;
}

impl Target for Cow<'_, PathAttributes> {
    fn read(&self) -> &PathAttributes {
        self
    }
    fn write(&mut self) -> &mut PathAttributes {
        self.to_mut()
    }
}

impl Target for &mut PathAttributes {
    fn read(&self) -> &PathAttributes {
        self
    }
    fn write(&mut self) -> &mut PathAttributes {
        self
    }
}

/// What actions produce besides the attributes.
#[derive(Default)]
struct Effects {
    next_hop: Option<NextHop>,
    weight: Option<u32>,
}

/// Runs `actions` in order; writes only where a value changes.
fn run_actions(actions: &[SetAction], family: Family, t: &mut impl Target) -> Effects {
    let mut fx = Effects::default();
    for action in actions {
        match action {
            SetAction::LocalPref(v) => {
                if t.read().local_pref != Some(*v) {
                    t.write().local_pref = Some(*v);
                }
            }
            SetAction::Med(v) => {
                if t.read().med != Some(*v) {
                    t.write().med = Some(*v);
                }
            }
            SetAction::AddCommunity(cs) => {
                if cs.iter().any(|c| !t.read().communities.contains(c)) {
                    add_missing(&mut t.write().communities, cs);
                }
            }
            SetAction::RemoveCommunity(cs) => {
                if t.read().communities.iter().any(|c| cs.contains(c)) {
                    t.write().communities.retain(|c| !cs.contains(c));
                }
            }
            SetAction::SetCommunities(cs) => {
                if t.read().communities != *cs {
                    t.write().communities.clone_from(cs);
                }
            }
            SetAction::AddLargeCommunity(cs) => {
                if cs.iter().any(|c| !t.read().large_communities.contains(c)) {
                    add_missing(&mut t.write().large_communities, cs);
                }
            }
            SetAction::RemoveLargeCommunity(cs) => {
                if t.read().large_communities.iter().any(|c| cs.contains(c)) {
                    t.write().large_communities.retain(|c| !cs.contains(c));
                }
            }
            SetAction::AddRouteTarget(rts) => {
                if rts.iter().any(|rt| !has_route_target(t.read(), *rt)) {
                    let ecs = &mut t.write().ext_communities;
                    for rt in rts {
                        if !ecs.iter().any(|ec| is_route_target(ec, *rt)) {
                            ecs.push(ExtCommunity::RouteTarget(*rt));
                        }
                    }
                }
            }
            SetAction::RemoveRouteTarget(rts) => {
                let gone = |ec: &ExtCommunity| rts.iter().any(|rt| is_route_target(ec, *rt));
                if t.read().ext_communities.iter().any(gone) {
                    t.write().ext_communities.retain(|ec| !gone(ec));
                }
            }
            SetAction::NextHop(addr) => {
                fx.next_hop = Some(next_hop_for(family, *addr));
            }
            SetAction::PrependAs { asn, times } => {
                if *times > 0 {
                    prepend(&mut t.write().as_path, *asn, *times);
                }
            }
            SetAction::Weight(w) => fx.weight = Some(*w),
        }
    }
    fx
}

/// Appends each of `add` not yet in `list`, keeping the order of both.
fn add_missing<T: Copy + PartialEq>(list: &mut Vec<T>, add: &[T]) {
    for x in add {
        if !list.contains(x) {
            list.push(*x);
        }
    }
}

/// Most ASes in one AS_PATH segment.
const MAX_SEGMENT_LEN: usize = 255;

/// Prepends `asn` `times` times to `path` (creating it when absent): into the leading
/// AS_SEQUENCE when it has room, else as a new leading segment.
fn prepend(path: &mut Option<AsPath>, asn: u32, times: u8) {
    let n = usize::from(times);
    let segments = &mut path.get_or_insert_with(AsPath::default).segments;
    match segments.first_mut() {
        Some(AsSegment {
            kind: SegmentType::Sequence,
            asns,
        }) if asns.len().saturating_add(n) <= MAX_SEGMENT_LEN => {
            asns.splice(0..0, std::iter::repeat_n(asn, n));
        }
        _ => segments.insert(
            0,
            AsSegment {
                kind: SegmentType::Sequence,
                asns: vec![asn; n],
            },
        ),
    }
}

/// The next hop a route of `family` carries for `addr`: IPv4 or IPv6 (an IPv4 address
/// IPv4-mapped for IPv6 families, an IPv6 one for IPv4 families as RFC 8950 does), with the
/// zero RD for VPN families. Link-local addresses are not kept.
pub fn next_hop_for(family: Family, addr: IpAddr) -> NextHop {
    let rd = RouteDistinguisher::ZERO;
    let v6 = |global| NextHop::Ipv6 {
        global,
        link_local: None,
    };
    match (family, addr) {
        (Family::Ipv4Unicast | Family::L2vpnEvpn, IpAddr::V4(a)) => NextHop::Ipv4(a),
        (Family::Ipv4Unicast | Family::L2vpnEvpn, IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(v4) => NextHop::Ipv4(v4),
            None => v6(a),
        },
        (Family::Ipv6Unicast, IpAddr::V6(a)) => v6(a),
        (Family::Ipv6Unicast, IpAddr::V4(a)) => v6(a.to_ipv6_mapped()),
        (Family::Ipv4Vpn, IpAddr::V4(addr)) => NextHop::VpnIpv4 { rd, addr },
        (Family::Ipv4Vpn, IpAddr::V6(global)) => match global.to_ipv4_mapped() {
            Some(addr) => NextHop::VpnIpv4 { rd, addr },
            None => NextHop::VpnIpv6 {
                rd,
                global,
                link_local: None,
            },
        },
        (Family::Ipv6Vpn, IpAddr::V6(global)) => NextHop::VpnIpv6 {
            rd,
            global,
            link_local: None,
        },
        (Family::Ipv6Vpn, IpAddr::V4(a)) => NextHop::VpnIpv6 {
            rd,
            global: a.to_ipv6_mapped(),
            link_local: None,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Text forms (configuration, CLI)
// ---------------------------------------------------------------------------------------------

/// Well-known community names accepted by [`parse_community`], as [`Community`]'s `Display`
/// writes them.
pub const WELL_KNOWN_COMMUNITIES: [(&str, Community); 7] = [
    ("no-export", Community::NO_EXPORT),
    ("no-advertise", Community::NO_ADVERTISE),
    ("no-export-subconfed", Community::NO_EXPORT_SUBCONFED),
    ("blackhole", Community::BLACKHOLE),
    ("graceful-shutdown", Community::GRACEFUL_SHUTDOWN),
    ("llgr-stale", Community::LLGR_STALE),
    ("no-llgr", Community::NO_LLGR),
];

/// Parses a community: `AS:value` (both 0..=65535) or a well-known name (`no-export`,
/// `no-advertise`, `no-export-subconfed`, `blackhole`, `graceful-shutdown`, `llgr-stale`,
/// `no-llgr`).
pub fn parse_community(s: &str) -> Option<Community> {
    if let Some((_, c)) = WELL_KNOWN_COMMUNITIES.iter().find(|(n, _)| *n == s) {
        return Some(*c);
    }
    let (hi, lo) = s.split_once(':')?;
    let [a, b] = number::<u16>(hi)?.to_be_bytes();
    let [c, d] = number::<u16>(lo)?.to_be_bytes();
    Some(Community(u32::from_be_bytes([a, b, c, d])))
}

/// Parses a large community `global:local1:local2` (each 0..=4294967295).
pub fn parse_large_community(s: &str) -> Option<LargeCommunity> {
    let mut parts = s.split(':');
    let (Some(global), Some(local1), Some(local2), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(LargeCommunity {
        global: number(global)?,
        local1: number(local1)?,
        local2: number(local2)?,
    })
}

/// Parses a route target `ASN:NN` or `IPv4:NN`: a 2-octet AS with a 4-octet number (type 0),
/// a 4-octet AS (above 65535) with a 2-octet number (type 2), or an IPv4 address with a
/// 2-octet number (type 1).
pub fn parse_route_target(s: &str) -> Option<AdminValue> {
    let (admin, value) = s.rsplit_once(':')?;
    if admin.contains('.') {
        return Some(AdminValue::Ipv4 {
            addr: admin.parse().ok()?,
            value: number(value)?,
        });
    }
    let asn: u32 = number(admin)?;
    match u16::try_from(asn) {
        Ok(asn) => Some(AdminValue::As2 {
            asn,
            value: number(value)?,
        }),
        Err(_) => Some(AdminValue::As4 {
            asn,
            value: number(value)?,
        }),
    }
}

/// A decimal number without sign or spaces.
fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
