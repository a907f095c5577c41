//! The components' own metrics under their upstream Prometheus names (`metrics.om`), sampled at
//! the time series' sample times: the node lifecycle controller's `node_collector_*`, the taint
//! eviction controller's deletions, kube-scheduler's pending pods, attempts and attempt latency,
//! the controllers' `workqueue_*`, and `kubelet_running_pods`. [`FAMILIES`] lists each family
//! with its type, labels and upstream source; docs/outputs.md has the same table (tested).
//!
//! Per-node figures are aggregated over the kubelets (`kubelet_running_pods` is the sum that
//! `sum(kubelet_running_pods)` gives), so a 5,000-node run has the same few series as a 3-node
//! one. kube-controller-manager's series exist only while it leads (a scrape of the leader);
//! its counters restart with each leadership term, as a new process's do.
//!
//! kube-proxy's `kubeproxy_sync_proxy_rules_last_timestamp_seconds` is one series per proxy
//! (label `node`, standing for the `instance` a scrape adds), only in scenarios that run
//! proxies (`traffic:` or `kubeProxy:`); a proxy that is down or has not synced yet has no
//! point (nothing to scrape). Its value
//! is a point in simulated time; `metrics.om` maps it to the wall clock like the timestamps.
//!
//! Invariant: read-only — it reads the components' counters and the trace between events and
//! never feeds back into the run.

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::model::zone_key_display;
use crate::scheduler::metrics::Attempts;
use crate::sim::{Record, SimTime};

use super::timeseries::label_text;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// A metric family: its OpenMetrics name (a counter's without `_total`), type, labels, help
/// text and upstream source.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
    /// Upstream file and the versions that define the name, type and labels.
    pub source: &'static str,
}

impl Family {
    /// The name of its samples: `_total` for a counter (a histogram's get `_bucket`, `_count`,
    /// `_sum`).
    pub fn sample_name(&self) -> String {
        match self.kind {
            Kind::Counter => format!("{}_total", self.name),
            _ => self.name.to_string(),
        }
    }
}

const NLC: &str = "pkg/controller/nodelifecycle/metrics.go (v1.27–v1.34)";
const SCHED: &str = "pkg/scheduler/metrics/metrics.go (v1.27–v1.34)";
const WQ: &str = "staging/src/k8s.io/component-base/metrics/prometheus/workqueue/metrics.go \
                  (v1.27–v1.34)";

/// Every component family kubesim writes, in output order (indexes are used below).
pub const FAMILIES: &[Family] = &[
    Family {
        name: "node_collector_zone_health",
        kind: Kind::Gauge,
        labels: &["zone"],
        help: "Gauge measuring percentage of healthy nodes per zone.",
        source: NLC,
    },
    Family {
        name: "node_collector_zone_size",
        kind: Kind::Gauge,
        labels: &["zone"],
        help: "Gauge measuring number of registered Nodes per zones.",
        source: NLC,
    },
    Family {
        name: "node_collector_unhealthy_nodes_in_zone",
        kind: Kind::Gauge,
        labels: &["zone"],
        help: "Gauge measuring number of not Ready Nodes per zones.",
        source: NLC,
    },
    Family {
        name: "node_collector_evictions",
        kind: Kind::Counter,
        labels: &["zone"],
        help: "Number of Node evictions that happened since current instance of \
               NodeController started.",
        source: NLC,
    },
    Family {
        name: "taint_eviction_controller_pod_deletions",
        kind: Kind::Counter,
        labels: &[],
        help: "Total number of Pods deleted by TaintEvictionController since its start.",
        source: "pkg/controller/tainteviction/metrics/metrics.go (v1.29–v1.34; absent before)",
    },
    Family {
        name: "scheduler_pending_pods",
        kind: Kind::Gauge,
        labels: &["queue"],
        help: "Number of pending pods, by the queue type. 'active' means number of pods in \
               activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means \
               number of pods in unschedulablePods that the scheduler attempted to schedule \
               and failed; 'gated' is the number of unschedulable pods that the scheduler \
               never attempted to schedule because they are gated.",
        source: SCHED,
    },
    Family {
        name: "scheduler_schedule_attempts",
        kind: Kind::Counter,
        labels: &["result", "profile"],
        help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod \
               could not be scheduled, while 'error' means an internal scheduler problem.",
        source: SCHED,
    },
    Family {
        name: "scheduler_scheduling_attempt_duration_seconds",
        kind: Kind::Histogram,
        labels: &["result", "profile"],
        help: "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
        source: SCHED,
    },
    Family {
        name: "workqueue_depth",
        kind: Kind::Gauge,
        labels: &["name"],
        help: "Current depth of workqueue",
        source: WQ,
    },
    Family {
        name: "workqueue_adds",
        kind: Kind::Counter,
        labels: &["name"],
        help: "Total number of adds handled by workqueue",
        source: WQ,
    },
    Family {
        name: "kubelet_running_pods",
        kind: Kind::Gauge,
        labels: &[],
        help: "Number of pods that have a running pod sandbox",
        source: "pkg/kubelet/metrics/metrics.go (v1.27–v1.34); summed over the kubelets",
    },
    Family {
        name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
        kind: Kind::Gauge,
        labels: &["node"],
        help: "The last time proxy rules were successfully synced",
        source: "pkg/proxy/metrics/metrics.go (v1.27–v1.34); one series per proxy",
    },
];

const ZONE_HEALTH: usize = 0;
const ZONE_SIZE: usize = 1;
const ZONE_UNHEALTHY: usize = 2;
const NLC_EVICTIONS: usize = 3;
const TAINT_DELETIONS: usize = 4;
const PENDING: usize = 5;
const ATTEMPTS: usize = 6;
const ATTEMPT_DURATION: usize = 7;
const WQ_DEPTH: usize = 8;
const WQ_ADDS: usize = 9;
const RUNNING_PODS: usize = 10;
const PROXY_LAST_SYNC: usize = 11;

/// The sampled component series.
#[derive(Clone, Debug, Default)]
pub struct ComponentSeries {
    /// The sample times (the time series' rows, in order).
    pub times: Vec<SimTime>,
    /// Counter and gauge series by (family index, label text): (sample index, value), in
    /// sample order; a series has no point where it did not exist.
    pub values: BTreeMap<(usize, String), Vec<(usize, f64)>>,
    /// Histogram series by (family index, label text): (sample index, state).
    pub histograms: BTreeMap<(usize, String), Vec<(usize, Attempts)>>,
}

impl ComponentSeries {
    /// The value of a counter or gauge series at sample time `t`, if it existed then.
    pub fn value_at(&self, family: &str, labels: &str, t: SimTime) -> Option<f64> {
        let f = FAMILIES.iter().position(|f| f.name == family)?;
        let i = self.times.iter().position(|x| *x == t)?;
        let points = self.values.get(&(f, labels.to_string()))?;
        points.iter().find(|(j, _)| *j == i).map(|(_, v)| *v)
    }
}

pub struct ComponentSampler {
    series: ComponentSeries,
    /// The taint eviction controller's metric exists from v1.29 (KEP-3902).
    taint_metric: bool,
    trace_pos: usize,
    /// Deletions counted in the current leadership term, and that term.
    taint_deletions: u64,
    kcm_term: u32,
}

impl ComponentSampler {
    /// `kubernetes_version` is the scenario's ("1.34").
    pub fn new(kubernetes_version: &str) -> Self {
        let minor = kubernetes_version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0);
        ComponentSampler {
            series: ComponentSeries::default(),
            taint_metric: minor >= 29,
            trace_pos: 0,
            taint_deletions: 0,
            kcm_term: 0,
        }
    }

    fn push(&mut self, family: usize, labels: &[(&str, String)], v: f64) {
        let i = self.series.times.len() - 1;
        self.series
            .values
            .entry((family, label_text(labels)))
            .or_default()
            .push((i, v));
    }

    pub fn sample(&mut self, c: &Cluster, trace: &[Record], now: SimTime) {
        self.series.times.push(now);
        let term = c.kcm.gen();
        if term != self.kcm_term {
            self.kcm_term = term;
            self.taint_deletions = 0;
        }
        // One `TaintManagerEviction` record per successful DELETE, where upstream counts.
        self.taint_deletions += trace[self.trace_pos.min(trace.len())..]
            .iter()
            .filter(|r| r.reason == "TaintManagerEviction" && r.message.starts_with("Marking"))
            .count() as u64;
        self.trace_pos = trace.len();
        if c.kcm.is_leading() {
            self.sample_kcm(c);
        }
        for (queue, n) in c.scheduler.queue_sizes() {
            self.push(PENDING, &[("queue", queue.to_string())], n as f64);
        }
        let i = self.series.times.len() - 1;
        for ((result, profile), a) in c.scheduler.metrics().attempts() {
            let l = [("result", result.to_string()), ("profile", profile.clone())];
            self.push(ATTEMPTS, &l, a.count as f64);
            self.series
                .histograms
                .entry((ATTEMPT_DURATION, label_text(&l)))
                .or_default()
                .push((i, a.clone()));
        }
        let running = c.kubelets.running_pods();
        self.push(RUNNING_PODS, &[], running as f64);
        for p in c.proxies.iter().filter(|p| p.running) {
            if let Some(t) = p.last_sync() {
                let secs = t.as_nanos() as f64 / 1e9;
                self.push(PROXY_LAST_SYNC, &[("node", p.node_name.clone())], secs);
            }
        }
    }

    fn sample_kcm(&mut self, c: &Cluster) {
        for (zone, f) in c.kcm.nlc.zone_metrics().zones() {
            let l = [("zone", zone_key_display(zone))];
            self.push(ZONE_HEALTH, &l, f.health);
            self.push(ZONE_SIZE, &l, f.size as f64);
            self.push(ZONE_UNHEALTHY, &l, f.unhealthy as f64);
            self.push(NLC_EVICTIONS, &l, f.evictions_total as f64);
        }
        if self.taint_metric {
            self.push(TAINT_DELETIONS, &[], self.taint_deletions as f64);
        }
        for (name, q) in c.kcm.workqueues() {
            let l = [("name", name.to_string())];
            self.push(WQ_DEPTH, &l, q.depth() as f64);
            self.push(WQ_ADDS, &l, q.adds_total() as f64);
        }
    }

    pub fn finish(self) -> ComponentSeries {
        self.series
    }
}
