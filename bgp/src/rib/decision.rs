//! The RFC 4271 §9.1 decision process, with deterministic MED.
//!
//! Order of comparison (better first):
//! 1. higher weight (locally originated routes: 32768, like FRR; policy may set it);
//! 2. higher LOCAL_PREF;
//! 3. shorter AS_PATH;
//! 4. lower ORIGIN;
//! 5. lower MED, **only between paths from the same neighbouring AS**;
//! 6. eBGP over iBGP;
//! 7. (IGP cost to the next hop: every next hop counts the same today);
//! 8. lower router id (ORIGINATOR_ID when present, RFC 4456 §9);
//! 9. shorter CLUSTER_LIST;
//! 10. lower peer address;
//! 11. lower ADD-PATH identifier (paths from one peer).
//!
//! Because MED compares only within an AS, pairwise comparison is not transitive. As FRR's
//! `deterministic-med` does, paths are grouped by neighbouring AS, the best of each group is
//! found with MED, and the group winners are compared without it. Each comparison is a total
//! order on distinct paths (steps 10–11 always decide), so the result does not depend on
//! the order paths arrived in — `tests/rib.rs` checks that with a property test. RFC 5004's
//! "prefer the oldest eBGP path" is deliberately not used: it makes the result depend on
//! history.

use std::cmp::Ordering;

use super::Path;

/// Compares two paths for the same destination; `Less` means `a` is better.
fn compare(a: &Path, b: &Path, with_med: bool) -> Ordering {
    let (x, y) = (&*a.attrs, &*b.attrs);
    b.weight
        .cmp(&a.weight)
        .then(y.local_pref.cmp(&x.local_pref))
        .then(x.as_path_len.cmp(&y.as_path_len))
        .then(x.origin.cmp(&y.origin))
        .then(if with_med {
            x.med.cmp(&y.med)
        } else {
            Ordering::Equal
        })
        .then(b.source.ebgp.cmp(&a.source.ebgp))
        .then(
            x.originator_id
                .unwrap_or(a.source.bgp_id)
                .cmp(&y.originator_id.unwrap_or(b.source.bgp_id)),
        )
        .then(x.cluster_len.cmp(&y.cluster_len))
        .then(a.source.addr.cmp(&b.source.addr))
        .then(a.path_id.cmp(&b.path_id))
}

/// Whether `p` may share the forwarding of `best` (ECMP): equal through step 6, and for
/// eBGP the same AS_PATH (FRR's default without `as-path multipath-relax`).
fn multipath_with(best: &Path, p: &Path) -> bool {
    let (x, y) = (&*best.attrs, &*p.attrs);
    best.weight == p.weight
        && x.local_pref == y.local_pref
        && x.as_path_len == y.as_path_len
        && x.origin == y.origin
        && x.med == y.med
        && best.source.ebgp == p.source.ebgp
        && (!best.source.ebgp || x.attrs.as_path == y.attrs.as_path)
        && x.next_hop != y.next_hop
}

/// Selects among `paths`: the index of the best first, then up to `max_paths - 1` more
/// indices of paths to use for ECMP, in preference order. Empty when there is no path.
pub fn select(paths: &[Path], max_paths: usize) -> Vec<usize> {
    // Best of each neighbouring-AS group, compared with MED.
    let mut group_best: Vec<usize> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let asn = p.attrs.neighbor_as;
        match group_best
            .iter_mut()
            .find(|g| paths.get(**g).map(|q| q.attrs.neighbor_as) == Some(asn))
        {
            Some(g) => {
                if let Some(q) = paths.get(*g) {
                    if compare(p, q, true) == Ordering::Less {
                        *g = i;
                    }
                }
            }
            None => group_best.push(i),
        }
    }
    let best = group_best
        .iter()
        .copied()
        .min_by(|i, j| match (paths.get(*i), paths.get(*j)) {
            (Some(a), Some(b)) => compare(a, b, false),
            _ => Ordering::Equal,
        });
    let Some(best) = best else {
        return Vec::new();
    };
    let mut out = vec![best];
    if max_paths > 1 {
        if let Some(b) = paths.get(best) {
            let mut more: Vec<usize> = paths
                .iter()
                .enumerate()
                .filter(|(i, p)| *i != best && multipath_with(b, p))
                .map(|(i, _)| i)
                .collect();
            more.sort_by(|i, j| match (paths.get(*i), paths.get(*j)) {
                (Some(a), Some(b)) => compare(a, b, true),
                _ => Ordering::Equal,
            });
            // Next hops must differ from each other too.
            let mut seen = vec![b.attrs.next_hop];
            for i in more {
                if out.len() >= max_paths {
                    break;
                }
                if let Some(p) = paths.get(i) {
                    if !seen.contains(&p.attrs.next_hop) {
                        seen.push(p.attrs.next_hop);
                        out.push(i);
                    }
                }
            }
        }
    }
    out
}
