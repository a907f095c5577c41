//! `kubesim bench scheduler`: scheduler_perf-shaped workloads (test/integration/scheduler_perf),
//! kubesim's own `SchedulingReplicaSet`, or the user's node and pod templates under the user's
//! `KubeSchedulerConfiguration` (a [`Case`]), run through the same `Scheduler::decide` as
//! `kubesim run` — adaptive sampling, rotating start, seeded ties — with each pod assumed on its
//! node before the next, as scheduler_perf's scheduler does; and the virtual-time cost model
//! calibrated against scheduler_perf's published thresholds applied to a run (throughput and
//! per-pod latency percentiles; docs/scheduler-model.md).
//!
//! Architecture invariant: no wall clock and no file reading here; the CLI loads the inputs and
//! times `Prepared::measure` (or `run_case`), and a case's pods and nodes depend only on the case
//! and their index.

use std::sync::Arc;

use super::plugins::pod_topology_spread::SelectorSources;
use super::{has_required_node_affinity, CycleStats, Outcome, Scheduler, SchedulerConfig};
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
    /// kubesim's own (not a scheduler_perf workload): nodes over 3 zones; pods of one
    /// ReplicaSet (controller ownerReference, its labels), whose selector the scheduler's cache
    /// knows, so the system-default PodTopologySpread constraints apply as in a real cluster.
    SchedulingReplicaSet,
}

pub const WORKLOADS: &[&str] = &[
    "SchedulingBasic",
    "NodeAffinity",
    "TopologySpreading",
    "PodAntiAffinity",
    "PodAffinity",
    "SchedulingReplicaSet",
];

/// `SchedulingReplicaSet`'s ReplicaSet: namespace, name, and its selector's labels (those of a
/// Deployment's ReplicaSet: the app label and the pod-template-hash).
pub const RS_NAMESPACE: &str = "sched-test";
pub const RS_NAME: &str = "web-7c5ddbdf54";
pub const RS_LABELS: &[(&str, &str)] = &[("app", "web"), ("pod-template-hash", "7c5ddbdf54")];

impl Workload {
    pub fn from_name(name: &str) -> Option<Workload> {
        Some(match name {
            "SchedulingBasic" => Workload::SchedulingBasic,
            "NodeAffinity" => Workload::NodeAffinity,
            "TopologySpreading" => Workload::TopologySpreading,
            "PodAntiAffinity" => Workload::PodAntiAffinity,
            "PodAffinity" => Workload::PodAffinity,
            "SchedulingReplicaSet" => Workload::SchedulingReplicaSet,
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
            Workload::SchedulingBasic
            | Workload::PodAntiAffinity
            | Workload::SchedulingReplicaSet => 1000,
            Workload::NodeAffinity | Workload::TopologySpreading | Workload::PodAffinity => 5000,
        };
        at_5000 * nodes / 5000
    }

    /// The published threshold (pods/s) at 5,000 nodes; none for kubesim's own workload.
    pub fn threshold(self) -> Option<f64> {
        Some(match self {
            Workload::SchedulingBasic => 680.0,
            Workload::NodeAffinity => 220.0,
            Workload::TopologySpreading => 460.0,
            Workload::PodAntiAffinity => 60.0,
            Workload::PodAffinity => 35.0,
            Workload::SchedulingReplicaSet => return None,
        })
    }

    /// The ReplicaSet the workload's pods belong to, as the scheduler's cache sees it.
    pub fn replica_set(self) -> Option<ReplicaSet> {
        (self == Workload::SchedulingReplicaSet).then(|| {
            let mut rs = ReplicaSet::default();
            rs.meta.namespace = RS_NAMESPACE.into();
            rs.meta.name = RS_NAME.into();
            rs.selector.match_labels = RS_LABELS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            rs.template.labels = rs.selector.match_labels.clone();
            rs
        })
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
            Workload::SchedulingReplicaSet => Some(format!("zone-{}", ["a", "b", "c"][i % 3])),
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
            Workload::SchedulingReplicaSet => {
                for (k, v) in RS_LABELS {
                    p.meta.labels.insert(k.to_string(), v.to_string());
                }
                p.meta.owner_references.push(OwnerRef {
                    kind: "ReplicaSet".into(),
                    name: RS_NAME.into(),
                    controller: true,
                });
            }
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

/// What a bench run schedules: each side (nodes, pods) from the user's templates when given,
/// else from the workload, under a scheduler configuration, with the selector sources
/// (ReplicaSets, StatefulSets, Services) PodTopologySpread's default constraints read.
#[derive(Clone, Debug)]
pub struct Case {
    /// The workload of the sides without templates (SchedulingBasic when none is named).
    pub workload: Option<Workload>,
    pub config: SchedulerConfig,
    /// Node `i` is template `i mod len`, renamed `NAME-i` (its hostname label too).
    pub node_templates: Vec<Node>,
    /// Pod `i` (initial pods first) is template `i mod len`, renamed `NAME-i`, unbound.
    pub pod_templates: Vec<Pod>,
    pub selectors: SelectorSources,
}

impl Case {
    /// A workload under the default configuration (scheduler_perf's set-up).
    pub fn of(w: Workload) -> Case {
        let mut selectors = SelectorSources::default();
        if let Some(rs) = w.replica_set() {
            selectors.set_controller(
                rs.kind.as_str(),
                &rs.meta.namespace,
                &rs.meta.name,
                &rs.selector,
            );
        }
        Case {
            workload: Some(w),
            config: SchedulerConfig::default(),
            node_templates: vec![],
            pod_templates: vec![],
            selectors,
        }
    }

    /// The workload's name, or `custom` when templates give both nodes and pods.
    pub fn name(&self) -> &'static str {
        match self.workload {
            Some(w) if self.node_templates.is_empty() || self.pod_templates.is_empty() => w.name(),
            _ if !self.node_templates.is_empty() && !self.pod_templates.is_empty() => "custom",
            _ => Workload::SchedulingBasic.name(),
        }
    }

    fn base(&self) -> Workload {
        self.workload.unwrap_or(Workload::SchedulingBasic)
    }

    pub fn node(&self, i: usize) -> Node {
        if self.node_templates.is_empty() {
            return self.base().node(i);
        }
        let mut n = self.node_templates[i % self.node_templates.len()].clone();
        n.meta.name = format!("{}-{i}", n.meta.name);
        // The kubelet labels every node with its hostname.
        n.meta
            .labels
            .insert(LABEL_HOSTNAME.into(), n.meta.name.clone());
        n
    }

    pub fn pod(&self, i: usize) -> Pod {
        if self.pod_templates.is_empty() {
            return self.base().pod(i);
        }
        let mut p = self.pod_templates[i % self.pod_templates.len()].clone();
        p.meta.name = format!("{}-{i}", p.meta.name);
        p.spec.node_name = None;
        p
    }

    /// The first pod template (or the workload's pod) whose `schedulerName` no profile serves.
    pub fn unserved_pod(&self) -> Option<Pod> {
        let served = |p: &Pod| {
            self.config
                .profiles
                .iter()
                .any(|x| x.scheduler_name == p.spec.scheduler_name)
        };
        if self.pod_templates.is_empty() {
            let p = self.base().pod(0);
            return (!served(&p)).then_some(p);
        }
        self.pod_templates.iter().find(|p| !served(p)).cloned()
    }
}

/// The outcome of one bench run.
#[derive(Clone, Debug, Default)]
pub struct BenchRun {
    /// Node chosen for each measured pod ("" when unschedulable).
    pub placements: Vec<String>,
    pub stats: Vec<CycleStats>,
    /// Whether each measured pod has required node affinity (the cost model's surcharge).
    pub node_affinity: Vec<bool>,
    pub unschedulable: usize,
}

/// A workload's run under the default configuration (scheduler_perf's set-up).
pub fn run(
    w: Workload,
    nodes: usize,
    init_pods: usize,
    pods: usize,
    seed: u64,
    optimised: bool,
) -> BenchRun {
    run_case(&Case::of(w), nodes, init_pods, pods, seed, optimised)
}

/// Builds the cluster, schedules the initial pods, then the measured ones; `optimised` false
/// turns the spread-count cache, the InterPodAffinity index and the flat columns off (the plain
/// evaluation the placements are checked against). A pod no profile serves is skipped.
pub fn run_case(
    case: &Case,
    nodes: usize,
    init_pods: usize,
    pods: usize,
    seed: u64,
    optimised: bool,
) -> BenchRun {
    let mut prepared = Prepared::new(case, nodes, init_pods, seed, optimised);
    prepared.measure(case, pods)
}

/// A scheduler with the case's nodes and its initial pods placed: scheduler_perf's
/// `createNodes` and unmeasured `createPods` ops, done before the measured op so that the
/// throughput covers the measured pods alone (its SchedulingThroughput collector runs only
/// during the op with `collectMetrics: true`).
pub struct Prepared {
    s: Scheduler,
    /// Index of the next pod the case creates.
    next: usize,
}

impl Prepared {
    pub fn new(case: &Case, nodes: usize, init_pods: usize, seed: u64, optimised: bool) -> Self {
        let mut s = Scheduler::new(case.config.clone(), seed);
        s.set_optimised(optimised);
        // As the informer's ReplicaSet/StatefulSet/Service handlers would (`cache.rs`).
        s.spread_selectors = case.selectors.clone();
        for i in 0..nodes {
            s.bench_add_node(Arc::new(case.node(i)));
        }
        let mut p = Prepared { s, next: 0 };
        p.schedule(case, init_pods, None);
        p
    }

    /// Schedules the case's next `pods` pods, recording them: the measured op.
    pub fn measure(&mut self, case: &Case, pods: usize) -> BenchRun {
        let mut out = BenchRun::default();
        self.schedule(case, pods, Some(&mut out));
        out
    }

    fn schedule(&mut self, case: &Case, pods: usize, mut out: Option<&mut BenchRun>) {
        let s = &mut self.s;
        for i in self.next..self.next + pods {
            let mut pod = Arc::new(case.pod(i));
            let key = pod.key();
            let Some((outcome, stats)) = s.decide(&key, &pod) else {
                continue;
            };
            match outcome {
                Outcome::Feasible { node } => {
                    // `decide` keeps no handle on the pod, so it is bound in place (no copy).
                    Arc::make_mut(&mut pod).spec.node_name = Some(node.clone());
                    s.bench_assume(&pod, &node);
                    if let Some(out) = out.as_deref_mut() {
                        out.placements.push(node);
                    }
                }
                Outcome::Infeasible { .. } => {
                    if let Some(out) = out.as_deref_mut() {
                        out.placements.push(String::new());
                        out.unschedulable += 1;
                    }
                }
            }
            if let Some(out) = out.as_deref_mut() {
                out.stats.push(stats);
                out.node_affinity.push(has_required_node_affinity(&pod));
            }
        }
        self.next += pods;
    }
}

pub use super::cost::{CostModel, COST_MODEL};

/// Per-pod scheduling latency in modelled time (ms): percentiles of the measured pods' cycle
/// costs, nearest rank.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

/// The nearest-rank percentile of sorted values: the ⌈p/100 · n⌉-th smallest (0 when empty).
pub fn percentile(sorted: &[f64], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len()).div_ceil(100);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The cost model applied to a bench run (here, so that `cost` does not depend on the bench).
impl CostModel {
    /// Each measured pod's cycle cost (ns), in scheduling order.
    pub fn cycle_costs_ns(&self, r: &BenchRun) -> Vec<f64> {
        r.stats
            .iter()
            .zip(&r.node_affinity)
            .map(|(s, &na)| self.cycle_cost_ns(s, na))
            .collect()
    }

    /// Modelled pods/s: scheduling time, and binds through the client rate limit (token
    /// bucket: `burst` at once, then `qps`), whichever is slower.
    pub fn pods_per_second(&self, r: &BenchRun, qps: f64, burst: u32) -> f64 {
        let sched_ns: f64 = self.cycle_costs_ns(r).iter().sum();
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

    /// The measured pods' scheduling latency: each pod's modelled cycle (its scheduling
    /// attempt, pop to assume), without queueing or binding.
    pub fn latency(&self, r: &BenchRun) -> Latency {
        let mut ms: Vec<f64> = self.cycle_costs_ns(r).iter().map(|ns| ns / 1e6).collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        let mean_ms = if ms.is_empty() {
            0.0
        } else {
            ms.iter().sum::<f64>() / ms.len() as f64
        };
        Latency {
            p50_ms: percentile(&ms, 50),
            p90_ms: percentile(&ms, 90),
            p99_ms: percentile(&ms, 99),
            mean_ms,
        }
    }
}

#[cfg(test)]
mod tests;
