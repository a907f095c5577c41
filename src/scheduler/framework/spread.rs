//! Score and `selectHost` for a pod whose only normalising score is PodTopologySpread's (a
//! ReplicaSet pod under the system default constraints, or soft constraints of its own), in
//! two passes over the feasible slots: the rest of each node's total is computed by a
//! [`PlainScorer`] with `spread` set (during the filter walk, as plain pods are scored), then
//! `select` adds PodTopologySpread's normalised score in its slot form and runs the reservoir.
//!
//! Invariant: `select` returns what `score_nodes` (no rows kept) followed by
//! `Ties::select_host` over the same slots returns, with the same draws; it is None, and
//! nothing is drawn, where the slot form does not apply (the caller then takes that path).

use rand_chacha::ChaCha8Rng;

use super::{pts, Pod, Profile, ScoreTable, Snapshot};
use crate::scheduler::ties::{Reservoir, Ties};

/// The position in `slots` of the node `selectHost` picks. `bases[j]`: the j-th node's total
/// without PodTopologySpread (`PlainScorer::total`); `weight`: PodTopologySpread's.
#[allow(clippy::too_many_arguments)]
pub fn select(
    profile: &Profile,
    pod: &Pod,
    snap: &Snapshot,
    slots: &[usize],
    bases: &[i64],
    weight: i64,
    table: &mut ScoreTable,
    ties: &mut Ties,
    rng: &mut ChaCha8Rng,
) -> Option<usize> {
    debug_assert_eq!(slots.len(), bases.len());
    let st = pts::pre_score_slots(pod, snap, slots, &profile.spread)?;
    let (raw, ignored) = (&mut table.raw_buf, &mut table.ignored);
    let (min, max) = pts::score_slots(&st, slots, snap, raw, ignored)?;
    let mut reservoir = Reservoir::default();
    // The raw scores lie in [min, max], usually a narrow range: the weighted normalised score
    // of each value is computed once (a division per value, not per node).
    let norm = &mut table.norm_buf;
    norm.clear();
    if min <= max && ((max - min) as usize) < raw.len() {
        norm.extend((min..=max).map(|v| pts::normalized(v, min, max) * weight));
        for (j, ((&base, &v), &ig)) in bases.iter().zip(raw.iter()).zip(ignored.iter()).enumerate()
        {
            let total = if ig {
                base
            } else {
                base + norm[(v - min) as usize]
            };
            reservoir.offer(total, j, ties, rng);
        }
    } else {
        for (j, ((&base, &v), &ig)) in bases.iter().zip(raw.iter()).zip(ignored.iter()).enumerate()
        {
            let total = if ig {
                base
            } else {
                base + pts::normalized(v, min, max) * weight
            };
            reservoir.offer(total, j, ties, rng);
        }
    }
    reservoir.best.map(|(_, j)| j)
}
