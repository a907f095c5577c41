//! Event-exact availability: after every engine event, each scenario workload's desired and
//! available replicas and the cluster's Pending pods, kept as step functions (one entry per
//! simulated instant at which a value changed). `output::metrics` integrates them into the
//! pod-unavailability seconds, the time to full availability and the peak of pending pods.
//!
//! Invariant: read-only, like every observer: it reads the API server's objects after an event
//! and never feeds back; an instant keeps only the state after its last event, so values that
//! exist only between two events of the same instant are never seen.

use crate::cluster::spec::Workload;
use crate::cluster::Cluster;
use crate::model::PodPhase;
use crate::sim::SimTime;

/// One tracked workload: its column-style name and where to read it.
#[derive(Clone, Debug)]
struct Tracked {
    name: String,
    kind: Kind,
    key: String,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    ReplicaSet,
    Deployment,
    StatefulSet,
    DaemonSet,
}

/// A step function: `(time, value)` from each change on; the value holds until the next entry.
pub type Steps = Vec<(SimTime, i64)>;

/// What the tracker saw, per workload and for the whole cluster.
#[derive(Clone, Debug, Default)]
pub struct AvailabilityLog {
    /// Per workload (`rs_<name>`, `deploy_<name>`, `sts_<name>`, `ds_<name>`, with
    /// `<namespace>_<name>` outside `default`): desired and available replicas.
    pub workloads: Vec<WorkloadSteps>,
    /// Pod objects in phase `Pending`.
    pub pending: Steps,
}

#[derive(Clone, Debug, Default)]
pub struct WorkloadSteps {
    pub name: String,
    /// Desired and available replicas from each change on.
    pub steps: Vec<(SimTime, Level)>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Level {
    pub desired: i64,
    pub available: i64,
}

impl Level {
    /// Replicas short of desired (never negative).
    pub fn deficit(self) -> i64 {
        (self.desired - self.available).max(0)
    }
}

pub struct AvailabilityTracker {
    tracked: Vec<Tracked>,
    log: AvailabilityLog,
}

fn name(prefix: &str, key: &str) -> String {
    match key.split_once('/') {
        Some(("default", n)) => format!("{prefix}_{n}"),
        Some((ns, n)) => format!("{prefix}_{ns}_{n}"),
        None => format!("{prefix}_{key}"),
    }
}

/// Pushes `v` at `now`: replaces an entry of the same instant, skips an unchanged value.
pub(crate) fn push<T: PartialEq + Copy>(steps: &mut Vec<(SimTime, T)>, now: SimTime, v: T) {
    if let Some(last) = steps.last_mut() {
        if last.0 == now {
            last.1 = v;
            let n = steps.len();
            if n >= 2 && steps[n - 2].1 == v {
                steps.pop();
            }
            return;
        }
        if last.1 == v {
            return;
        }
    }
    steps.push((now, v));
}

impl AvailabilityTracker {
    /// Tracks the scenario's ReplicaSets (and ReplicationControllers), Deployments,
    /// StatefulSets and DaemonSets, in the scenario's order.
    pub fn new(workloads: &[Workload]) -> Self {
        let tracked: Vec<Tracked> = workloads
            .iter()
            .filter_map(|w| {
                let (prefix, kind, key) = match w {
                    Workload::ReplicaSet(r) => ("rs", Kind::ReplicaSet, r.key()),
                    Workload::Deployment(d) => ("deploy", Kind::Deployment, d.key()),
                    Workload::StatefulSet(s) => ("sts", Kind::StatefulSet, s.key()),
                    Workload::DaemonSet(d) => ("ds", Kind::DaemonSet, d.key()),
                    _ => return None,
                };
                Some(Tracked {
                    name: name(prefix, &key),
                    kind,
                    key,
                })
            })
            .collect();
        let log = AvailabilityLog {
            workloads: tracked
                .iter()
                .map(|t| WorkloadSteps {
                    name: t.name.clone(),
                    steps: Vec::new(),
                })
                .collect(),
            pending: Vec::new(),
        };
        AvailabilityTracker { tracked, log }
    }

    /// Reads the state after an event at `now`.
    pub fn observe(&mut self, c: &Cluster, now: SimTime) {
        let pending = c.api.pod_counts().phase[PodPhase::Pending as usize] as i64;
        push(&mut self.log.pending, now, pending);
        for (t, w) in self.tracked.iter().zip(self.log.workloads.iter_mut()) {
            let (desired, available) = match t.kind {
                Kind::ReplicaSet => c
                    .api
                    .replicasets()
                    .get(&t.key)
                    .map(|r| (r.replicas, r.status.available_replicas)),
                Kind::Deployment => c
                    .api
                    .deployments()
                    .get(&t.key)
                    .map(|d| (d.replicas, d.status.available_replicas)),
                Kind::StatefulSet => c
                    .api
                    .statefulsets()
                    .get(&t.key)
                    .map(|s| (s.replicas, s.status.available_replicas)),
                Kind::DaemonSet => c
                    .api
                    .daemonsets()
                    .get(&t.key)
                    .map(|d| (d.status.desired_number_scheduled, d.status.number_available)),
            }
            .unwrap_or((0, 0));
            let level = Level {
                desired: i64::from(desired),
                available: i64::from(available),
            };
            push(&mut w.steps, now, level);
        }
    }

    pub fn finish(self) -> AvailabilityLog {
        self.log
    }
}
