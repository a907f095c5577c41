//! `timeseries.csv`: metrics sampled between events at a fixed interval, and the same values in
//! long format (`metrics.csv`), each column under a Prometheus metric name with labels. Every
//! column and metric is documented in docs/outputs.md.
//!
//! Invariant: sampling reads the API server's objects and the trace; it never changes the run.

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::Cluster;
use crate::controllers::nodelifecycle::ZoneState;
use crate::model::*;
use crate::sim::{Record, SimTime};

use super::capacity::{sanitize, Capacity};

#[derive(Clone, Debug, Default)]
pub struct TimeSeries {
    pub columns: Vec<String>,
    /// Per column: its Prometheus metric name and its label set as Prometheus writes it
    /// between the braces (`zone="a"`), empty for `time_s`.
    pub metrics: Vec<(String, String)>,
    /// One row per sample; the first value is the time in seconds.
    pub rows: Vec<Vec<f64>>,
}

/// A Prometheus label set, `k="v",…`, values escaped as the text format requires.
pub fn label_text(labels: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for ch in v.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

fn fmt_value(i: usize, v: f64) -> String {
    if i == 0 || v.fract() != 0.0 {
        format!("{v:.3}")
    } else {
        format!("{}", v as i64)
    }
}

impl TimeSeries {
    pub fn column(&self, name: &str) -> Option<Vec<(f64, f64)>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(
            self.rows
                .iter()
                .map(|r| (r[0], r.get(i).copied().unwrap_or(0.0)))
                .collect(),
        )
    }

    fn push_column(&mut self, column: String, metric: String, labels: &[(&str, String)]) {
        self.columns.push(column);
        self.metrics.push((metric, label_text(labels)));
    }

    /// `metrics.csv`: one line per sample and column, `timestamp_s,metric,labels,value`, in
    /// sample order then column order. `labels` is the Prometheus label set without braces, so
    /// `{metric}{{{labels}}} {value} {timestamp_s}` is an OpenMetrics sample line.
    pub fn to_metrics_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["timestamp_s", "metric", "labels", "value"])
            .expect("in-memory write");
        for row in &self.rows {
            let t = fmt_value(0, row[0]);
            for (i, (metric, labels)) in self.metrics.iter().enumerate().skip(1) {
                let v = fmt_value(i, row.get(i).copied().unwrap_or(0.0));
                w.write_record([t.as_str(), metric, labels, &v])
                    .expect("in-memory write");
            }
        }
        w.into_inner().expect("in-memory write")
    }

    /// CSV text: integers print without decimals, time with 3 decimals.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.columns).expect("in-memory write");
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, v)| fmt_value(i, *v))
                .collect();
            w.write_record(&cells).expect("in-memory write");
        }
        w.into_inner().expect("in-memory write")
    }
}

/// The zone name used in column names ("none" for unlabelled nodes).
pub fn zone_column_name(zone_key: &str) -> String {
    let z = zone_key_display(zone_key);
    if z.is_empty() {
        "none".into()
    } else {
        z
    }
}

/// What one node version adds to a sample.
#[derive(Clone, Copy)]
struct SampledNode {
    /// Its zone's column index (None: a zone without columns).
    zone: Option<usize>,
    /// 0 Ready True, 1 False, 2 Unknown or absent.
    ready: usize,
    /// It carries a NoExecute taint.
    tainted: bool,
}

pub struct Sampler {
    zones: Vec<String>,
    /// Per slot of the API server's node store: the object the row was last computed from,
    /// and that row.
    node_rows: Vec<Option<(std::sync::Arc<Node>, SampledNode)>>,
    series: TimeSeries,
    trace_pos: usize,
    evictions: u64,
    /// The scenario's Deployments, each with six columns.
    deployments: Vec<String>,
    /// The scenario's Services, each with a ready-endpoints column.
    services: Vec<String>,
    /// The Services with `traffic:` clients: two more columns each (`TRAFFIC_COLUMNS`).
    traffic: BTreeSet<String>,
    /// The scenario's StatefulSets and DaemonSets, with their status columns.
    statefulsets: Vec<String>,
    daemonsets: Vec<String>,
    capacity: Capacity,
    /// Columns before the pending-by-reason ones, which are added as reasons appear.
    fixed: usize,
    /// The rate-limited clients (component, user agent) that have waited for a token, in order
    /// of their first wait; their two columns each come last, after every pending-by-reason
    /// column.
    clients: Vec<(&'static str, &'static str)>,
    /// Per sample: the clients' values known then (two per client).
    client_rows: Vec<Vec<f64>>,
    /// The (component, request kind) pairs the API server has answered 429, in order of their
    /// first rejection; one column each, after the clients' columns.
    rejected: Vec<(&'static str, &'static str)>,
    /// Per sample: the rejections counted then (one per pair).
    rejected_rows: Vec<Vec<f64>>,
}

/// The 429 counts per (component, request kind): upstream's `request_kind` values
/// (k8s.io/apiserver endpoints/metrics `ReadOnlyKind`, `MutatingKind`).
pub fn rejections_by_kind(c: &Cluster) -> BTreeMap<(&'static str, &'static str), u64> {
    let mut out = BTreeMap::new();
    for ((who, verb), n) in c.api.inflight_rejections_by() {
        let kind = if verb.mutating() {
            "mutating"
        } else {
            "readOnly"
        };
        *out.entry((who, kind)).or_default() += n;
    }
    out
}

/// Per-Service column: `svc_<name>_ready_endpoints` (`svc_<namespace>_<name>_…` outside
/// `default`): endpoints whose `ready` condition is true, over the Service's EndpointSlices.
pub fn service_column(key: &str) -> String {
    match key.split_once('/') {
        Some(("default", name)) => format!("svc_{name}_ready_endpoints"),
        Some((ns, name)) => format!("svc_{ns}_{name}_ready_endpoints"),
        None => format!("svc_{key}_ready_endpoints"),
    }
}

/// Per-Service columns of a Service with `traffic:` clients, after its ready-endpoints column:
/// requests sent and failed before the sample instant, counters over the run
/// (docs/traffic.md; the requests of one interval are the difference of two rows).
pub const TRAFFIC_COLUMNS: &[(&str, &str)] = &[
    ("requests_total", "kubesim_service_requests_total"),
    (
        "requests_failed_total",
        "kubesim_service_requests_failed_total",
    ),
];

/// Per-Deployment columns: `deploy_<name>_<what>` (`<namespace>_<name>` outside `default`).
pub fn deployment_column_prefix(key: &str) -> String {
    column_prefix("deploy", key)
}

/// `<kind>_<name>` (`<kind>_<namespace>_<name>` outside `default`).
fn column_prefix(kind: &str, key: &str) -> String {
    match key.split_once('/') {
        Some(("default", name)) => format!("{kind}_{name}"),
        Some((ns, name)) => format!("{kind}_{ns}_{name}"),
        None => format!("{kind}_{key}"),
    }
}

/// Per-StatefulSet columns, `sts_<name>_<what>`: `spec.replicas`, then `status.replicas`,
/// `currentReplicas`, `updatedReplicas`, `readyReplicas`, `availableReplicas`.
pub const STATEFULSET_COLUMNS: &[&str] = &[
    "desired",
    "replicas",
    "current",
    "updated",
    "ready",
    "available",
];

/// Per-DaemonSet columns, `ds_<name>_<what>`: `status.desiredNumberScheduled`,
/// `currentNumberScheduled`, `updatedNumberScheduled`, `numberReady`, `numberAvailable`.
pub const DAEMONSET_COLUMNS: &[&str] = &["desired", "current", "updated", "ready", "available"];

pub const DEPLOYMENT_COLUMNS: &[&str] = &[
    "desired",
    "replicas",
    "updated",
    "ready",
    "available",
    "pods",
];

const POD_COLUMNS: &[&str] = &[
    "pods_pending",
    "pods_running",
    "pods_succeeded",
    "pods_failed",
    "pods_unknown",
    "pods_terminating",
    "pods_unscheduled",
    "pods_ready",
    "evictions_total",
    "nodes_noexecute_tainted",
    "nlc_queued_nodes",
];

/// `namespace` and `name` labels of a `namespace/name` key.
fn object_labels(kind: &'static str, key: &str) -> Vec<(&'static str, String)> {
    let (ns, name) = key.split_once('/').unwrap_or(("default", key));
    vec![
        ("kind", kind.to_string()),
        ("namespace", ns.to_string()),
        ("name", name.to_string()),
    ]
}

/// The metric of a per-workload column: `kubesim_workload_<what>_replicas` (`…_pods`).
fn workload_metric(what: &str) -> String {
    if what == "pods" {
        "kubesim_workload_pods".into()
    } else {
        format!("kubesim_workload_{what}_replicas")
    }
}

impl Sampler {
    pub fn new(c: &Cluster, node_pools: &[String]) -> Self {
        let traffic: BTreeSet<String> = c
            .traffic
            .as_ref()
            .map(|t| t.services().cloned().collect())
            .unwrap_or_default();
        let mut zones: Vec<String> = c.api.nodes().values().map(|n| n.zone_key()).collect();
        zones.sort();
        zones.dedup();
        let mut ts = TimeSeries::default();
        ts.push_column("time_s".into(), String::new(), &[]);
        for z in &zones {
            let name = zone_column_name(z);
            let zone = || vec![("zone", name.clone())];
            for s in ["ready", "not_ready", "unknown"] {
                let mut l = zone();
                l.push(("status", s.to_string()));
                ts.push_column(format!("nodes_{s}_{name}"), "kubesim_zone_nodes".into(), &l);
            }
            for (col, metric) in [
                ("zone_state", "kubesim_zone_state"),
                ("nlc_queue", "kubesim_zone_nlc_queue"),
                ("nlc_tokens", "kubesim_zone_nlc_tokens"),
            ] {
                ts.push_column(format!("{col}_{name}"), metric.into(), &zone());
            }
        }
        for p in POD_COLUMNS {
            ts.push_column(p.to_string(), format!("kubesim_{p}"), &[]);
        }
        let workloads = [
            (
                "deploy",
                "Deployment",
                &c.deployment_keys,
                DEPLOYMENT_COLUMNS,
            ),
            (
                "sts",
                "StatefulSet",
                &c.statefulset_keys,
                STATEFULSET_COLUMNS,
            ),
            ("ds", "DaemonSet", &c.daemonset_keys, DAEMONSET_COLUMNS),
        ];
        for (short, kind, keys, whats) in workloads {
            if short == "sts" {
                // Services come between Deployments and StatefulSets.
                for k in &c.service_keys {
                    let l = object_labels("Service", k);
                    ts.push_column(
                        service_column(k),
                        "kubesim_service_ready_endpoints".into(),
                        &l[1..],
                    );
                    if traffic.contains(k) {
                        for (what, metric) in TRAFFIC_COLUMNS {
                            let col = format!("{}_{what}", column_prefix("svc", k));
                            ts.push_column(col, metric.to_string(), &l[1..]);
                        }
                    }
                }
            }
            for k in keys {
                let prefix = column_prefix(short, k);
                for w in whats {
                    ts.push_column(
                        format!("{prefix}_{w}"),
                        workload_metric(w),
                        &object_labels(kind, k),
                    );
                }
            }
        }
        let capacity = Capacity::new(c, &zones, node_pools);
        for col in capacity.columns() {
            ts.push_column(col.column, col.metric, &col.labels);
        }
        let fixed = ts.columns.len();
        let mut sampler = Sampler {
            statefulsets: c.statefulset_keys.clone(),
            daemonsets: c.daemonset_keys.clone(),
            services: c.service_keys.clone(),
            traffic,
            deployments: c.deployment_keys.clone(),
            node_rows: Vec::new(),
            zones,
            series: ts,
            trace_pos: 0,
            evictions: 0,
            capacity,
            fixed,
            clients: Vec::new(),
            client_rows: Vec::new(),
            rejected: Vec::new(),
            rejected_rows: Vec::new(),
        };
        sampler.add_reason_column(0);
        sampler
    }

    /// The column of pending pods for reason `i` (named at its first appearance).
    fn add_reason_column(&mut self, i: usize) {
        let reason = self.capacity.reasons[i].clone();
        let mut col = format!("pending_{}", sanitize(&reason));
        if self.series.columns.contains(&col) {
            col = format!("{col}_{i}");
        }
        self.series.push_column(
            col,
            "kubesim_pods_pending_by_reason".into(),
            &[("reason", reason)],
        );
    }

    pub fn sample(&mut self, c: &Cluster, trace: &[Record], now: SimTime) {
        for r in &trace[self.trace_pos..] {
            if r.reason == "TaintManagerEviction" && r.message.starts_with("Marking") {
                self.evictions += 1;
            }
        }
        for i in self.capacity.observe(&trace[self.trace_pos..]) {
            self.add_reason_column(i);
        }
        self.trace_pos = trace.len();
        let mut per_zone: Vec<[u64; 3]> = vec![[0; 3]; self.zones.len()];
        let mut tainted = 0;
        // What a node version contributes is kept with it, by its slot in the API server's
        // store: most nodes are the same object (the same `Arc`) in the same slot from one
        // sample to the next, so neither the node nor a map is read for them. The walk is in
        // slot order (contiguous memory, no name index), which only counts, so the order cannot
        // show; a reused slot holds another `Arc`, so its entry is refreshed.
        let nodes = c.api.nodes();
        self.node_rows.resize(nodes.slot_count(), None);
        for (k, n) in nodes.slots() {
            let kept = &mut self.node_rows[k];
            let row = match kept {
                Some((seen, row)) if std::sync::Arc::ptr_eq(seen, n) => *row,
                _ => {
                    let parts = n.zone_parts();
                    let row = SampledNode {
                        zone: self.zones.iter().position(|x| zone_key_is(x, parts)),
                        ready: match n.ready_status() {
                            Some(ConditionStatus::True) => 0,
                            Some(ConditionStatus::False) => 1,
                            _ => 2,
                        },
                        tainted: n
                            .spec
                            .taints
                            .iter()
                            .any(|t| t.effect == TaintEffect::NoExecute),
                    };
                    *kept = Some((n.clone(), row));
                    row
                }
            };
            if let Some(z) = row.zone {
                per_zone[z][row.ready] += 1;
            }
            if row.tainted {
                tainted += 1;
            }
        }
        let counts = c.api.pod_counts();
        let (phases, terminating, unscheduled) =
            (counts.phase, counts.terminating, counts.unscheduled);
        let mut row = vec![now.as_secs_f64()];
        for (i, z) in self.zones.iter().enumerate() {
            row.extend(per_zone[i].iter().map(|v| *v as f64));
            let state = match c.kcm.nlc.zone_state(z) {
                None | Some(ZoneState::Initial) => 0.0,
                Some(ZoneState::Normal) => 1.0,
                Some(ZoneState::PartialDisruption) => 2.0,
                Some(ZoneState::FullDisruption) => 3.0,
            };
            let (queue, tokens) = c.kcm.nlc.zone_queue(z, now).unwrap_or((0, 0.0));
            row.push(state);
            row.push(queue as f64);
            row.push(tokens);
        }
        row.extend(phases.iter().map(|v| *v as f64));
        row.extend(
            [
                terminating,
                unscheduled,
                counts.ready,
                self.evictions,
                tainted,
                c.kcm.nlc.queued_nodes() as u64,
            ]
            .iter()
            .map(|v| *v as f64),
        );
        if !self.deployments.is_empty() {
            self.sample_deployments(c, &mut row);
        }
        let requests: BTreeMap<String, crate::proxy::traffic::Outcome> = if self.traffic.is_empty()
        {
            BTreeMap::new()
        } else {
            c.traffic_totals(now).into_iter().collect()
        };
        for k in &self.services {
            row.push(c.api.ready_endpoints(k) as f64);
            if self.traffic.contains(k) {
                let o = requests.get(k).cloned().unwrap_or_default();
                row.extend([o.sent as f64, o.failed as f64]);
            }
        }
        for k in &self.statefulsets {
            match c.api.statefulsets().get(k) {
                Some(s) => row.extend(
                    [
                        s.replicas,
                        s.status.replicas,
                        s.status.current_replicas,
                        s.status.updated_replicas,
                        s.status.ready_replicas,
                        s.status.available_replicas,
                    ]
                    .map(|v| v as f64),
                ),
                None => row.extend([0.0; 6]),
            }
        }
        for k in &self.daemonsets {
            match c.api.daemonsets().get(k) {
                Some(d) => row.extend(
                    [
                        d.status.desired_number_scheduled,
                        d.status.current_number_scheduled,
                        d.status.updated_number_scheduled,
                        d.status.number_ready,
                        d.status.number_available,
                    ]
                    .map(|v| v as f64),
                ),
                None => row.extend([0.0; 5]),
            }
        }
        let pending = self.capacity.sample(c, &mut row);
        debug_assert_eq!(row.len(), self.fixed);
        row.extend(pending.iter().map(|v| *v as f64));
        self.series.rows.push(row);
        self.sample_clients(c);
    }

    /// Per kube-controller-manager client that has had to wait for a token: the seconds its
    /// requests have waited so far and the requests waiting now.
    fn sample_clients(&mut self, c: &Cluster) {
        let stats = c.client_stats();
        for (component, agent, st) in &stats {
            let id = (*component, *agent);
            if st.waited > crate::sim::SimDuration::ZERO && !self.clients.contains(&id) {
                self.clients.push(id);
            }
        }
        let row = self
            .clients
            .iter()
            .flat_map(|id| {
                let st = stats
                    .iter()
                    .find(|(c, a, _)| (*c, *a) == *id)
                    .map(|(_, _, st)| st.clone())
                    .unwrap_or_default();
                [st.waited.as_secs_f64(), st.waiting as f64]
            })
            .collect();
        self.client_rows.push(row);
        let counts = rejections_by_kind(c);
        for id in counts.keys() {
            if !self.rejected.contains(id) {
                self.rejected.push(*id);
            }
        }
        let row = self
            .rejected
            .iter()
            .map(|id| counts.get(id).copied().unwrap_or(0) as f64)
            .collect();
        self.rejected_rows.push(row);
    }

    /// Status as `kubectl get deployment` shows it, and `pods`: pods of its ReplicaSets that
    /// exist and are neither terminal nor terminating (what a rollout's surge bounds).
    fn sample_deployments(&self, c: &Cluster, row: &mut Vec<f64>) {
        let mut rs_owner: BTreeMap<&str, usize> = BTreeMap::new();
        for (k, rs) in c.api.replicasets() {
            if let Some(o) = rs.meta.controller_ref().filter(|o| o.kind == "Deployment") {
                let dk = pod_key(&rs.meta.namespace, &o.name);
                if let Some(i) = self.deployments.iter().position(|d| *d == dk) {
                    rs_owner.insert(k.as_str(), i);
                }
            }
        }
        let mut pods = vec![0u64; self.deployments.len()];
        if !rs_owner.is_empty() {
            for p in c.api.pods().values() {
                if p.is_terminating() || p.status.phase.is_terminal() {
                    continue;
                }
                let Some(o) = crate::controllers::cache::owner_key(p) else {
                    continue;
                };
                if let Some(i) = rs_owner.get(o.as_str()) {
                    pods[*i] += 1;
                }
            }
        }
        for (i, key) in self.deployments.iter().enumerate() {
            match c.api.deployments().get(key) {
                Some(d) => row.extend([
                    d.replicas as f64,
                    d.status.replicas as f64,
                    d.status.updated_replicas as f64,
                    d.status.ready_replicas as f64,
                    d.status.available_replicas as f64,
                    pods[i] as f64,
                ]),
                None => row.extend([0.0; 6]),
            }
        }
    }

    /// The series, every row padded with zeros to the columns of reasons that appeared after it.
    pub fn finish(mut self) -> TimeSeries {
        let n = self.series.columns.len();
        let m = 2 * self.clients.len();
        let k = self.rejected.len();
        let rows = self.client_rows.iter().zip(&self.rejected_rows);
        for (r, (cr, rr)) in self.series.rows.iter_mut().zip(rows) {
            r.resize(n, 0.0);
            r.extend(cr);
            r.resize(n + m, 0.0);
            r.extend(rr);
            r.resize(n + m + k, 0.0);
        }
        for (component, a) in &self.clients {
            let labels = [
                ("component", component.to_string()),
                ("controller", a.to_string()),
            ];
            let name = sanitize(a);
            self.series.push_column(
                format!("client_wait_seconds_{name}"),
                "kubesim_client_wait_seconds_total".into(),
                &labels,
            );
            self.series.push_column(
                format!("client_requests_waiting_{name}"),
                "kubesim_client_requests_waiting".into(),
                &labels,
            );
        }
        for (component, kind) in &self.rejected {
            let labels = [
                ("code", "429".to_string()),
                ("client", component.to_string()),
                ("request_kind", kind.to_string()),
            ];
            self.series.push_column(
                format!(
                    "apiserver_rejected_{}_{}",
                    sanitize(component),
                    sanitize(kind)
                ),
                "apiserver_request_total".into(),
                &labels,
            );
        }
        self.series
    }
}
