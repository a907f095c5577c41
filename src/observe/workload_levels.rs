//! Event-exact replica levels of the scenario's workloads, for `kubesim plan`'s goals: after
//! every engine event, each ReplicaSet's, Deployment's and StatefulSet's desired replicas
//! (`spec.replicas`) and available replicas (`status.availableReplicas`, what `kubectl get`
//! and the `deployment`/`replicaSet`/`statefulSet` expectations read), kept as step functions.
//!
//! Invariant: read-only, like every observer; an instant keeps only the state after its last
//! event, so a value that exists only between two events of the same instant is never seen
//! (the expectations see the same: they are evaluated after every event of their instant).

use super::availability::push;
use crate::cluster::spec::Workload;
use crate::cluster::Cluster;
use crate::sim::SimTime;

/// Desired and available replicas at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Level {
    pub desired: i64,
    pub available: i64,
}

impl Level {
    /// Available over desired, at most 1 (a workload that wants no replica is fully available).
    pub fn fraction(self) -> f64 {
        if self.desired <= 0 {
            1.0
        } else {
            (self.available as f64 / self.desired as f64).min(1.0)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadKind {
    ReplicaSet,
    Deployment,
    StatefulSet,
}

impl WorkloadKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
        }
    }
}

/// One workload's levels: `(time, level)` from each change on; a level holds until the next.
#[derive(Clone, Debug)]
pub struct WorkloadSteps {
    pub kind: WorkloadKind,
    /// `namespace/name`.
    pub key: String,
    pub steps: Vec<(SimTime, Level)>,
}

impl WorkloadSteps {
    /// The lowest availability fraction over `[from, to]` (both included; the level in force
    /// at `from` counts), or `None` if the workload had no level by `to`.
    pub fn min_fraction(&self, from: SimTime, to: SimTime) -> Option<(f64, SimTime)> {
        let mut best: Option<(f64, SimTime)> = None;
        let mut consider = |f: f64, t: SimTime| {
            if best.is_none_or(|(b, _)| f < b) {
                best = Some((f, t));
            }
        };
        let first_inside = self.steps.partition_point(|(t, _)| *t <= from);
        if first_inside > 0 {
            consider(self.steps[first_inside - 1].1.fraction(), from);
        }
        for (t, l) in &self.steps[first_inside..] {
            if *t > to {
                break;
            }
            consider(l.fraction(), *t);
        }
        best
    }
}

/// The scenario's workloads that have replicas (ReplicaSets and ReplicationControllers,
/// Deployments, StatefulSets), in the scenario's order, with their levels.
pub struct LevelTracker {
    tracked: Vec<WorkloadSteps>,
}

impl LevelTracker {
    pub fn new(workloads: &[Workload]) -> Self {
        let tracked = workloads
            .iter()
            .filter_map(|w| {
                let (kind, key) = match w {
                    Workload::ReplicaSet(r) => (WorkloadKind::ReplicaSet, r.key()),
                    Workload::Deployment(d) => (WorkloadKind::Deployment, d.key()),
                    Workload::StatefulSet(s) => (WorkloadKind::StatefulSet, s.key()),
                    _ => return None,
                };
                Some(WorkloadSteps {
                    kind,
                    key,
                    steps: Vec::new(),
                })
            })
            .collect();
        LevelTracker { tracked }
    }

    /// Reads the levels after an event at `now`.
    pub fn observe(&mut self, c: &Cluster, now: SimTime) {
        for w in &mut self.tracked {
            let level = match w.kind {
                WorkloadKind::ReplicaSet => c
                    .api
                    .replicasets()
                    .get(&w.key)
                    .map(|r| (r.replicas, r.status.available_replicas)),
                WorkloadKind::Deployment => c
                    .api
                    .deployments()
                    .get(&w.key)
                    .map(|d| (d.replicas, d.status.available_replicas)),
                WorkloadKind::StatefulSet => c
                    .api
                    .statefulsets()
                    .get(&w.key)
                    .map(|s| (s.replicas, s.status.available_replicas)),
            }
            .map_or(Level::default(), |(d, a)| Level {
                desired: i64::from(d),
                available: i64::from(a),
            });
            push(&mut w.steps, now, level);
        }
    }

    pub fn finish(self) -> Vec<WorkloadSteps> {
        self.tracked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimDuration;

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    fn level(desired: i64, available: i64) -> Level {
        Level { desired, available }
    }

    #[test]
    fn same_instant_keeps_the_last_state_and_unchanged_levels_are_not_repeated() {
        let mut steps = Vec::new();
        push(&mut steps, at(1), level(4, 4));
        push(&mut steps, at(2), level(4, 4));
        push(&mut steps, at(3), level(4, 2));
        push(&mut steps, at(3), level(4, 4));
        push(&mut steps, at(5), level(4, 3));
        assert_eq!(steps, vec![(at(1), level(4, 4)), (at(5), level(4, 3))]);
    }

    #[test]
    fn min_fraction_counts_the_level_in_force_at_the_start() {
        let w = WorkloadSteps {
            kind: WorkloadKind::Deployment,
            key: "default/web".into(),
            steps: vec![
                (at(0), level(4, 0)),
                (at(10), level(4, 2)),
                (at(20), level(4, 4)),
                (at(30), level(4, 1)),
            ],
        };
        assert_eq!(w.min_fraction(at(15), at(25)), Some((0.5, at(15))));
        assert_eq!(w.min_fraction(at(20), at(29)), Some((1.0, at(20))));
        assert_eq!(w.min_fraction(at(20), at(30)), Some((0.25, at(30))));
        assert_eq!(level(0, 0).fraction(), 1.0);
    }
}
