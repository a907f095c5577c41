//! The scheduler's virtual-time cost model (docs/scheduler-model.md): how long kube-scheduler
//! would take for a scheduling cycle, from what the cycle did. `kubesim run` advances the
//! scheduler's clock by it between cycles; `kubesim bench scheduler` reports the modelled
//! throughput (`bench.rs` applies the model to a bench run).
//!
//! Invariant: a cycle's cost depends only on its `CycleStats` and whether the pod has required
//! node affinity; this module knows nothing of the bench.

use super::CycleStats;
use crate::sim::SimDuration;

/// The per-cycle virtual-time costs (ns), calibrated against scheduler_perf's 5,000-node
/// thresholds (docs/scheduler-model.md has the derivation and the table).
#[derive(Clone, Copy, Debug)]
pub struct CostModel {
    pub cycle_ns: f64,
    pub per_filtered_node_ns: f64,
    pub per_node_affinity_filter_ns: f64,
    pub per_scored_node_ns: f64,
    pub per_spread_pod_ns: f64,
    pub per_affinity_pod_ns: f64,
}

pub const COST_MODEL: CostModel = CostModel {
    cycle_ns: 200_000.0,
    per_filtered_node_ns: 1_000.0,
    per_node_affinity_filter_ns: 5_500.0,
    per_scored_node_ns: 1_400.0,
    per_spread_pod_ns: 120.0,
    per_affinity_pod_ns: 2_100.0,
};

impl CostModel {
    pub fn cycle_cost_ns(&self, st: &CycleStats, node_affinity: bool) -> f64 {
        self.cycle_ns
            + st.filtered as f64
                * (self.per_filtered_node_ns
                    + if node_affinity {
                        self.per_node_affinity_filter_ns
                    } else {
                        0.0
                    })
            + st.scored as f64 * self.per_scored_node_ns
            + st.spread_pods_scanned as f64 * self.per_spread_pod_ns
            + st.affinity_pods_scanned as f64 * self.per_affinity_pod_ns
    }
}

/// The virtual time one cycle occupies the scheduler.
pub fn cycle_cost(stats: &CycleStats, node_affinity: bool) -> SimDuration {
    SimDuration::from_nanos(COST_MODEL.cycle_cost_ns(stats, node_affinity).round() as u64)
}
