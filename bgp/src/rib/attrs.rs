//! Interned attribute sets (ARCHITECTURE.md invariant 6).
//!
//! Every path in the RIB points at an `Arc<Attrs>`; equal attribute sets share one
//! allocation, so a full table from one peer (usually a handful of distinct sets for
//! thousands of prefixes) costs one pointer per route, equality is a pointer comparison, and
//! the decision fields are computed once per set rather than once per route.
//!
//! Sets are keyed by their canonical encoding (4-octet AS context) plus the next hop, which
//! is exact: two sets encode the same iff they are equal.

use std::net::Ipv4Addr;
use std::sync::{Arc, Weak};

use bgp_wire::{Context, NextHop, Origin, PathAttributes};

use super::HashMap;

/// One attribute set, as stored in the RIB: the attributes (without MP_REACH, MP_UNREACH
/// and NEXT_HOP, which are per-route or per-family), the next hop, and the fields the
/// decision process reads, cached.
#[derive(Debug, PartialEq, Eq)]
pub struct Attrs {
    /// The attributes.
    pub attrs: PathAttributes,
    /// The next hop.
    pub next_hop: NextHop,
    /// LOCAL_PREF, or 100 when absent (the default of FRR, GoBGP and BIRD).
    pub local_pref: u32,
    /// MULTI_EXIT_DISC, or 0 when absent (RFC 4271 §9.1.2.2 c).
    pub med: u32,
    /// AS path length for the decision (sets count one, confederation segments zero).
    pub as_path_len: usize,
    /// ORIGIN (IGP when absent; a missing mandatory ORIGIN is treat-as-withdraw upstream).
    pub origin: Origin,
    /// The first AS of the path: the neighbouring AS MEDs are compared within.
    pub neighbor_as: Option<u32>,
    /// ORIGINATOR_ID, if present.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST length.
    pub cluster_len: usize,
}

/// Default LOCAL_PREF.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

impl Attrs {
    /// Builds the set and its cached decision fields.
    pub fn new(mut attrs: PathAttributes, next_hop: NextHop) -> Attrs {
        attrs.mp_reach = None;
        attrs.mp_unreach = None;
        attrs.next_hop = None;
        let as_path = attrs.as_path.as_ref();
        Attrs {
            local_pref: attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
            med: attrs.med.unwrap_or(0),
            as_path_len: as_path.map(|p| p.path_len()).unwrap_or(0),
            origin: attrs.origin.unwrap_or(Origin::Igp),
            neighbor_as: as_path.and_then(|p| p.first_as()),
            originator_id: attrs.originator_id,
            cluster_len: attrs.cluster_list.len(),
            attrs,
            next_hop,
        }
    }
}

/// The intern pool.
#[derive(Debug)]
pub struct AttrPool {
    sets: HashMap<Box<[u8]>, Weak<Attrs>>,
    /// Size at which the next sweep of dead entries runs.
    sweep_at: usize,
    ctx: Context,
    scratch: Vec<u8>,
}

impl Default for AttrPool {
    fn default() -> Self {
        AttrPool {
            sets: HashMap::default(),
            sweep_at: 1024,
            ctx: Context::default(),
            scratch: Vec::with_capacity(256),
        }
    }
}

impl AttrPool {
    /// The shared set equal to `attrs` with `next_hop`, creating it if needed.
    pub fn intern(&mut self, attrs: PathAttributes, next_hop: NextHop) -> Arc<Attrs> {
        let set = Attrs::new(attrs, next_hop);
        self.scratch.clear();
        if set.attrs.encode(&self.ctx, &mut self.scratch).is_err() {
            // Not encodable (a value too long to re-send): keep it unshared rather than
            // collide with another set.
            return Arc::new(set);
        }
        self.scratch
            .push(u8::try_from(set.next_hop.len()).unwrap_or(u8::MAX));
        set.next_hop.encode(&mut self.scratch);
        if let Some(found) = self
            .sets
            .get(self.scratch.as_slice())
            .and_then(Weak::upgrade)
        {
            return found;
        }
        let arc = Arc::new(set);
        self.sets.insert(
            self.scratch.clone().into_boxed_slice(),
            Arc::downgrade(&arc),
        );
        if self.sets.len() >= self.sweep_at {
            self.sets.retain(|_, w| w.strong_count() > 0);
            self.sweep_at = self.sets.len().saturating_mul(2).max(1024);
        }
        arc
    }

    /// Number of live distinct sets.
    pub fn live(&self) -> usize {
        self.sets.values().filter(|w| w.strong_count() > 0).count()
    }
}
