//! `timeseries.csv`: metrics sampled between events at a fixed interval. Every column is
//! documented in docs/outputs.md.
//!
//! Invariant: sampling reads the API server's objects and the trace; it never changes the run.

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::controllers::nodelifecycle::ZoneState;
use crate::model::*;
use crate::sim::{Record, SimTime};

#[derive(Clone, Debug, Default)]
pub struct TimeSeries {
    pub columns: Vec<String>,
    /// One row per sample; the first value is the time in seconds.
    pub rows: Vec<Vec<f64>>,
}

impl TimeSeries {
    pub fn column(&self, name: &str) -> Option<Vec<(f64, f64)>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| (r[0], r[i])).collect())
    }

    /// CSV text: integers print without decimals, time with 3 decimals.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.columns).expect("in-memory write");
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if i == 0 || v.fract() != 0.0 {
                        format!("{v:.3}")
                    } else {
                        format!("{}", *v as i64)
                    }
                })
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

pub struct Sampler {
    zones: Vec<String>,
    /// Per node uid: the object its zone index was computed from, and that index (None: a
    /// zone without columns).
    zone_of: BTreeMap<u64, (std::sync::Arc<Node>, Option<usize>)>,
    series: TimeSeries,
    trace_pos: usize,
    evictions: u64,
    /// The scenario's Deployments, each with six columns.
    deployments: Vec<String>,
    /// The scenario's Services, each with a ready-endpoints column.
    services: Vec<String>,
    /// The scenario's StatefulSets and DaemonSets, with their status columns.
    statefulsets: Vec<String>,
    daemonsets: Vec<String>,
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

impl Sampler {
    pub fn new(c: &Cluster) -> Self {
        let mut zones: Vec<String> = c.api.nodes().values().map(|n| n.zone_key()).collect();
        zones.sort();
        zones.dedup();
        let mut columns = vec!["time_s".to_string()];
        for z in &zones {
            let name = zone_column_name(z);
            for s in ["ready", "not_ready", "unknown"] {
                columns.push(format!("nodes_{s}_{name}"));
            }
            columns.push(format!("zone_state_{name}"));
            columns.push(format!("nlc_queue_{name}"));
            columns.push(format!("nlc_tokens_{name}"));
        }
        columns.extend(POD_COLUMNS.iter().map(|s| s.to_string()));
        for d in &c.deployment_keys {
            let prefix = deployment_column_prefix(d);
            columns.extend(DEPLOYMENT_COLUMNS.iter().map(|w| format!("{prefix}_{w}")));
        }
        columns.extend(c.service_keys.iter().map(|k| service_column(k)));
        for k in &c.statefulset_keys {
            let prefix = column_prefix("sts", k);
            columns.extend(STATEFULSET_COLUMNS.iter().map(|w| format!("{prefix}_{w}")));
        }
        for k in &c.daemonset_keys {
            let prefix = column_prefix("ds", k);
            columns.extend(DAEMONSET_COLUMNS.iter().map(|w| format!("{prefix}_{w}")));
        }
        Sampler {
            statefulsets: c.statefulset_keys.clone(),
            daemonsets: c.daemonset_keys.clone(),
            services: c.service_keys.clone(),
            deployments: c.deployment_keys.clone(),
            zone_of: BTreeMap::new(),
            zones,
            series: TimeSeries {
                columns,
                rows: Vec::new(),
            },
            trace_pos: 0,
            evictions: 0,
        }
    }

    pub fn sample(&mut self, c: &Cluster, trace: &[Record], now: SimTime) {
        for r in &trace[self.trace_pos..] {
            if r.reason == "TaintManagerEviction" && r.message.starts_with("Marking") {
                self.evictions += 1;
            }
        }
        self.trace_pos = trace.len();
        let mut per_zone: Vec<[u64; 3]> = vec![[0; 3]; self.zones.len()];
        let mut tainted = 0;
        for n in c.api.nodes().values() {
            let idx = match n.ready_status() {
                Some(ConditionStatus::True) => 0,
                Some(ConditionStatus::False) => 1,
                _ => 2,
            };
            let zone = match self.zone_of.get(&n.meta.uid) {
                Some((seen, z)) if std::sync::Arc::ptr_eq(seen, n) => *z,
                _ => {
                    let key = n.zone_key();
                    let z = self.zones.iter().position(|x| *x == key);
                    self.zone_of.insert(n.meta.uid, (n.clone(), z));
                    z
                }
            };
            if let Some(z) = zone {
                per_zone[z][idx] += 1;
            }
            if n.spec
                .taints
                .iter()
                .any(|t| t.effect == TaintEffect::NoExecute)
            {
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
        for k in &self.services {
            row.push(c.api.ready_endpoints(k) as f64);
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
        self.series.rows.push(row);
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

    pub fn finish(self) -> TimeSeries {
        self.series
    }
}
