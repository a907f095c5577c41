//! `kubesim bench scheduler`: scheduler_perf-shaped workloads (test/integration/scheduler_perf)
//! run through the same `Scheduler::decide` as `kubesim run` — full default profile, adaptive
//! sampling, rotating start, seeded ties — with each pod assumed on its node before the next,
//! as scheduler_perf's scheduler does; and the virtual-time cost model calibrated against
//! scheduler_perf's published thresholds (docs/scheduler-model.md).
//!
//! Architecture invariant: no wall clock here; the CLI times `run`.

use std::sync::Arc;

use super::{CycleStats, Outcome, Scheduler, SchedulerConfig};
use crate::model::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// node-default (4 CPU / 32Gi / 110 pods), pod-default (100m / 500Mi).
    SchedulingBasic,
    /// All nodes in zone1; pods require zone In [zone1, zone2].
    NodeAffinity,
    /// Nodes over 3 zones; pods spread by zone, maxSkew 5, DoNotSchedule.
    TopologySpreading,
    /// Pods with required anti-affinity to each other per hostname.
    PodAntiAffinity,
    /// All nodes in zone1; pods with required affinity to each other per zone.
    PodAffinity,
}

pub const WORKLOADS: &[&str] = &[
    "SchedulingBasic",
    "NodeAffinity",
    "TopologySpreading",
    "PodAntiAffinity",
    "PodAffinity",
];

impl Workload {
    pub fn from_name(name: &str) -> Option<Workload> {
        Some(match name {
            "SchedulingBasic" => Workload::SchedulingBasic,
            "NodeAffinity" => Workload::NodeAffinity,
            "TopologySpreading" => Workload::TopologySpreading,
            "PodAntiAffinity" => Workload::PodAntiAffinity,
            "PodAffinity" => Workload::PodAffinity,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        WORKLOADS[self as usize]
    }

    /// scheduler_perf's initial pods at 5,000 nodes (scheduler_perf_thresholds.csv, reference
    /// scheduler §7), scaled with the node count.
    pub fn default_init_pods(self, nodes: usize) -> usize {
        let at_5000 = match self {
            Workload::SchedulingBasic | Workload::PodAntiAffinity => 1000,
            Workload::NodeAffinity | Workload::TopologySpreading | Workload::PodAffinity => 5000,
        };
        at_5000 * nodes / 5000
    }

    /// The published threshold (pods/s) at 5,000 nodes.
    pub fn threshold(self) -> f64 {
        match self {
            Workload::SchedulingBasic => 680.0,
            Workload::NodeAffinity => 220.0,
            Workload::TopologySpreading => 460.0,
            Workload::PodAntiAffinity => 60.0,
            Workload::PodAffinity => 35.0,
        }
    }

    pub fn node(self, i: usize) -> Node {
        let mut n = Node::default();
        n.meta.name = format!("scheduler-perf-{i}");
        n.meta
            .labels
            .insert(LABEL_HOSTNAME.into(), n.meta.name.clone());
        let zone = match self {
            Workload::NodeAffinity | Workload::PodAffinity => Some("zone1".to_string()),
            Workload::TopologySpreading => Some(format!("moon-{}", i % 3 + 1)),
            _ => None,
        };
        if let Some(z) = zone {
            n.meta.labels.insert(LABEL_ZONE.into(), z);
        }
        let r = Resources {
            cpu_milli: 4000,
            memory: 32 << 30,
            pods: 110,
            ..Resources::default()
        };
        n.status.capacity = r.clone();
        n.status.allocatable = r;
        n
    }

    pub fn pod(self, i: usize) -> Pod {
        let mut p = Pod::named("sched-test", &format!("pod-{i}"));
        let mut c = Container {
            name: "pause".into(),
            image: "registry.k8s.io/pause:3.10".into(),
            ..Container::default()
        };
        c.requests.cpu_milli = 100;
        c.requests.memory = 500 << 20;
        c.has_cpu_request = true;
        c.has_memory_request = true;
        p.spec.containers.push(c);
        let term = |k: &str, v: &str, key: &str| PodAffinityTerm {
            label_selector: Some(LabelSelector {
                match_labels: [(k.to_string(), v.to_string())].into_iter().collect(),
                match_expressions: vec![],
            }),
            namespaces: vec![],
            namespace_selector: None,
            topology_key: key.into(),
        };
        match self {
            Workload::SchedulingBasic => {}
            Workload::NodeAffinity => {
                p.spec.affinity = Some(Affinity {
                    node_affinity: Some(crate::model::NodeAffinity {
                        required: Some(vec![NodeSelectorTerm {
                            match_expressions: vec![NodeSelectorRequirement {
                                key: LABEL_ZONE.into(),
                                operator: NodeSelectorOperator::In,
                                values: vec!["zone1".into(), "zone2".into()],
                            }],
                            match_fields: vec![],
                        }]),
                        preferred: vec![],
                    }),
                    ..Affinity::default()
                })
            }
            Workload::TopologySpreading => {
                p.meta.labels.insert("color".into(), "blue".into());
                p.spec.topology_spread_constraints = vec![TopologySpreadConstraint {
                    max_skew: 5,
                    topology_key: LABEL_ZONE.into(),
                    when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
                    label_selector: Some(LabelSelector {
                        match_labels: [("color".to_string(), "blue".to_string())]
                            .into_iter()
                            .collect(),
                        match_expressions: vec![],
                    }),
                    min_domains: None,
                    node_affinity_honor: true,
                    node_taints_honor: false,
                    match_label_keys: vec![],
                }];
            }
            Workload::PodAntiAffinity => {
                p.meta.labels.insert("color".into(), "green".into());
                p.spec.affinity = Some(Affinity {
                    pod_anti_affinity: Some(PodAffinity {
                        required: vec![term("color", "green", LABEL_HOSTNAME)],
                        preferred: vec![],
                    }),
                    ..Affinity::default()
                });
            }
            Workload::PodAffinity => {
                p.meta.labels.insert("foo".into(), "bar".into());
                p.spec.affinity = Some(Affinity {
                    pod_affinity: Some(PodAffinity {
                        required: vec![term("foo", "bar", LABEL_ZONE)],
                        preferred: vec![],
                    }),
                    ..Affinity::default()
                });
            }
        }
        p
    }
}

/// The outcome of one bench run.
#[derive(Clone, Debug, Default)]
pub struct BenchRun {
    /// Node chosen for each measured pod ("" when unschedulable).
    pub placements: Vec<String>,
    pub stats: Vec<CycleStats>,
    pub unschedulable: usize,
}

/// Builds the cluster, schedules the initial pods, then the measured ones; `optimised` false
/// turns the spread-count cache, the InterPodAffinity index and the flat columns off (the plain evaluation the placements
/// are checked against).
pub fn run(
    w: Workload,
    nodes: usize,
    init_pods: usize,
    pods: usize,
    seed: u64,
    optimised: bool,
) -> BenchRun {
    let mut s = Scheduler::new(SchedulerConfig::default(), seed);
    s.set_optimised(optimised);
    for i in 0..nodes {
        s.bench_add_node(Arc::new(w.node(i)));
    }
    let mut out = BenchRun::default();
    for i in 0..init_pods + pods {
        let pod = Arc::new(w.pod(i));
        let key = pod.key();
        let Some((outcome, stats)) = s.decide(&key, &pod) else {
            continue;
        };
        let measured = i >= init_pods;
        match outcome {
            Outcome::Feasible { node } => {
                let mut bound = (*pod).clone();
                bound.spec.node_name = Some(node.clone());
                s.bench_assume(&Arc::new(bound), &node);
                if measured {
                    out.placements.push(node);
                }
            }
            Outcome::Infeasible { .. } => {
                if measured {
                    out.placements.push(String::new());
                    out.unschedulable += 1;
                }
            }
        }
        if measured {
            out.stats.push(stats);
        }
    }
    out
}

pub use super::cost::{CostModel, COST_MODEL};

/// The cost model applied to a bench run (here, so that `cost` does not depend on the bench).
impl CostModel {
    /// Modelled pods/s: scheduling time, and binds through the client rate limit (token
    /// bucket: `burst` at once, then `qps`), whichever is slower.
    pub fn pods_per_second(&self, w: Workload, r: &BenchRun, qps: f64, burst: u32) -> f64 {
        let na = w == Workload::NodeAffinity;
        let sched_ns: f64 = r.stats.iter().map(|s| self.cycle_cost_ns(s, na)).sum();
        let binds = (r.placements.len() - r.unschedulable) as f64;
        let bind_s = if qps > 0.0 {
            ((binds - burst as f64).max(0.0)) / qps
        } else {
            0.0
        };
        let secs = (sched_ns / 1e9).max(bind_s);
        if secs <= 0.0 {
            return 0.0;
        }
        r.placements.len() as f64 / secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The bench's placements equal the plain evaluation's (spread cache, affinity index and
    // columns off), and are reproducible from the seed.
    #[test]
    fn optimised_placements_equal_plain_evaluation() {
        for w in [
            Workload::SchedulingBasic,
            Workload::TopologySpreading,
            Workload::PodAntiAffinity,
            Workload::PodAffinity,
        ] {
            let a = run(w, 300, 40, 200, 7, true);
            let b = run(w, 300, 40, 200, 7, false);
            assert_eq!(a.placements, b.placements, "{}", w.name());
            assert_eq!(a.unschedulable, 0, "{}", w.name());
        }
        // Anti-affinity per hostname: every pod on its own node.
        let r = run(Workload::PodAntiAffinity, 300, 0, 250, 1, true);
        let mut nodes = r.placements.clone();
        nodes.sort();
        nodes.dedup();
        assert_eq!(nodes.len(), 250);
    }
}
