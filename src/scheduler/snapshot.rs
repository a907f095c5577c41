//! The scheduler's snapshot (upstream's `Snapshot` and `nodeTree`): the zone-interleaved node
//! order (reference scheduler §3.1), the [`Snapshot`] view of the scheduler's own cache, and
//! [`OwnedSnapshot`], the same built from plain objects (explain's `--cluster` files, the
//! plugin tests).
//!
//! Invariant: the order lists every live slot exactly once — zones in order of first
//! appearance, round-robin — and is rebuilt before a cycle whenever a node came or went.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::plugins::{pod_topology_spread, NodeInfo, PodTotals, Snapshot};
use super::Scheduler;
use crate::model::{Node, Pod};

/// The [`Snapshot`] of a scheduler's cache, borrowing its fields one by one (so the caller may
/// keep mutating the others): `cache_snapshot!(s)` without the kept indexes,
/// `cache_snapshot!(s, indexed)` with those the scheduler uses.
macro_rules! cache_snapshot {
    ($s:expr) => {
        cache_snapshot!($s, None, None, None)
    };
    ($s:expr, indexed) => {
        cache_snapshot!(
            $s,
            $s.use_spread_index.then_some(&$s.spread_index),
            $s.use_ipa_index.then_some(&$s.ipa_index),
            $s.use_hot.then_some(&$s.image_sizes)
        )
    };
    ($s:expr, $spread:expr, $ipa:expr, $sizes:expr) => {
        $crate::scheduler::plugins::Snapshot {
            slots: &$s.slots,
            order: &$s.order,
            image_nodes: &$s.image_nodes,
            image_sizes: $sizes,
            spread_selectors: &$s.spread_selectors,
            spread_index: $spread,
            ipa_index: $ipa,
            totals: $s.totals,
        }
    };
}
pub(super) use cache_snapshot;

impl Scheduler {
    pub(super) fn rebuild_order(&mut self) {
        if !self.order_dirty {
            return;
        }
        self.order = interleave(&self.zones);
        self.order_dirty = false;
    }
}

/// The snapshot's node order (reference scheduler §3.1): zones in order of first appearance,
/// interleaved round-robin (1st node of each zone, then the 2nd, …).
pub fn interleave(zones: &[(String, Vec<usize>)]) -> Vec<usize> {
    let mut order = Vec::new();
    let longest = zones.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    for i in 0..longest {
        for (_, list) in zones {
            if let Some(n) = list.get(i) {
                order.push(*n);
            }
        }
    }
    order
}

/// A snapshot built from plain objects (explain's `--cluster` files, the bench): node infos
/// in input order with their bound pods, the zone-interleaved order, image counts and the
/// Services and controllers default spreading reads.
pub struct OwnedSnapshot {
    pub slots: Vec<Option<NodeInfo>>,
    pub order: Vec<usize>,
    pub image_nodes: BTreeMap<String, usize>,
    pub spread_selectors: pod_topology_spread::SelectorSources,
}

impl OwnedSnapshot {
    pub fn build(
        nodes: &[Node],
        pods: &[Pod],
        spread_selectors: pod_topology_spread::SelectorSources,
    ) -> OwnedSnapshot {
        let mut slots: Vec<Option<NodeInfo>> = Vec::new();
        let mut slot_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut zones: Vec<(String, Vec<usize>)> = Vec::new();
        let mut image_nodes = BTreeMap::new();
        for n in nodes {
            let slot = slots.len();
            let zone = n.zone_key();
            match zones.iter_mut().find(|(z, _)| *z == zone) {
                Some((_, l)) => l.push(slot),
                None => zones.push((zone, vec![slot])),
            }
            slot_of.insert(n.meta.name.clone(), slot);
            let info = NodeInfo::new(Arc::new(n.clone()));
            count_images(&mut image_nodes, &info, 1);
            slots.push(Some(info));
        }
        for p in pods {
            let Some(n) = &p.spec.node_name else {
                continue;
            };
            if let Some(&s) = slot_of.get(n) {
                if let Some(info) = slots[s].as_mut() {
                    info.add_pod(Arc::new(p.clone()));
                }
            }
        }
        OwnedSnapshot {
            order: interleave(&zones),
            slots,
            image_nodes,
            spread_selectors,
        }
    }

    /// Nodes in the given order (no zone interleaving) and no default-spreading sources: the
    /// ported upstream plugin tests' snapshot, whose node lists are already in upstream's order.
    pub fn new(nodes: Vec<Node>, pods: Vec<Pod>) -> OwnedSnapshot {
        let mut s = OwnedSnapshot::build(&nodes, &pods, Default::default());
        s.order = (0..s.slots.len()).collect();
        s
    }

    pub fn view(&self) -> Snapshot<'_> {
        Snapshot {
            slots: &self.slots,
            order: &self.order,
            image_nodes: &self.image_nodes,
            image_sizes: None,
            spread_selectors: &self.spread_selectors,
            spread_index: None,
            ipa_index: None,
            totals: PodTotals::of(self.slots.iter().flatten()),
        }
    }
}

/// Adds (`sign` = 1) or removes (−1) a node's images from the image → node-count summary.
pub(super) fn count_images(summary: &mut BTreeMap<String, usize>, info: &NodeInfo, sign: i64) {
    for name in info.images.keys() {
        let e = summary.entry(name.clone()).or_insert(0);
        *e = (*e as i64 + sign).max(0) as usize;
        if *e == 0 {
            summary.remove(name);
        }
    }
}
