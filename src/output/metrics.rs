//! The study metrics of `summary.json` (`metrics`, overall and per fault): detection, tainting
//! and eviction times, evictions by zone, false evictions, pod-unavailability seconds, time to
//! full availability and peaks. Every field is defined in docs/outputs.md ("Study metrics").
//!
//! Invariant: a pure function of the event log, the fault windows and the event-exact
//! availability log of one run; every value is a number or null (sweeps flatten them into CSV
//! columns), and times are seconds measured from the window's start.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::observe::availability::{AvailabilityLog, Steps};
use crate::run::{FaultWindow, RunOutput};
use crate::scenario::Scenario;
use crate::sim::{Record, SimDuration, SimTime};

/// One window's metrics. Times are seconds from the window's start, `null` when it did not
/// happen in the window.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Metrics {
    pub time_to_detect_s: Option<f64>,
    pub time_to_first_taint_s: Option<f64>,
    pub time_to_last_taint_s: Option<f64>,
    pub time_to_first_eviction_s: Option<f64>,
    pub time_to_last_eviction_s: Option<f64>,
    pub pods_evicted: u64,
    pub pods_evicted_by_zone: BTreeMap<String, u64>,
    pub false_evictions: u64,
    pub unavailable_pod_seconds: f64,
    pub unavailable_pod_seconds_by_workload: BTreeMap<String, f64>,
    pub time_to_full_availability_s: Option<f64>,
    pub peak_pending_pods: u64,
    pub peak_noexecute_tainted_nodes: u64,
}

/// Where a metric window starts and ends, and which nodes it watches (None: every node).
pub struct Window<'a> {
    pub start: SimTime,
    pub end: SimTime,
    pub nodes: Option<BTreeSet<&'a str>>,
}

fn secs(from: SimTime, t: SimTime) -> f64 {
    t.saturating_since(from).as_nanos() as f64 / 1e9
}

fn field<'a>(r: &'a Record, key: &str) -> Option<&'a str> {
    r.fields
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
}

pub fn is_eviction(r: &Record) -> bool {
    r.reason == "TaintManagerEviction" && r.message.starts_with("Marking")
}

fn is_nlc_noexecute_taint(r: &Record) -> bool {
    r.reason == "TaintAdded" && r.source == "node-controller" && r.message.contains(":NoExecute")
}

/// The toleration of an eviction, from its `cause` (`taint … tolerated for <N>s`); 0 for an
/// untolerated taint.
fn tolerated_for(r: &Record) -> SimDuration {
    let n = field(r, "cause")
        .and_then(|c| c.rsplit_once("tolerated for "))
        .and_then(|(_, s)| s.strip_suffix('s'))
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    SimDuration::from_nanos(n.saturating_mul(1_000_000_000))
}

/// The node a record concerns: `Node/<name>` or its `node` field.
fn node_of(r: &Record) -> Option<&str> {
    r.object.strip_prefix("Node/").or_else(|| field(r, "node"))
}

/// The attribution windows of the faults: each from its start to the next later fault's start
/// (or the end of the run), over its nodes (every node for a fault that names none).
pub fn fault_windows<'a>(faults: &'a [FaultWindow], end: SimTime) -> Vec<Window<'a>> {
    faults
        .iter()
        .map(|f| Window {
            start: f.start,
            end: faults
                .iter()
                .map(|g| g.start)
                .filter(|s| *s > f.start)
                .min()
                .unwrap_or(end)
                .min(end),
            nodes: (!f.nodes.is_empty()).then(|| f.nodes.iter().map(|n| n.as_str()).collect()),
        })
        .collect()
}

/// The overall window: from the first fault's start (or 0 without faults) to the end, every
/// node.
pub fn overall_window<'a>(faults: &[FaultWindow], end: SimTime) -> Window<'a> {
    Window {
        start: faults
            .iter()
            .map(|f| f.start)
            .min()
            .unwrap_or(SimTime::ZERO),
        end,
        nodes: None,
    }
}

/// The metrics of one window.
pub fn compute(s: &Scenario, out: &RunOutput, w: &Window) -> Metrics {
    let zone_of: BTreeMap<&str, String> = s
        .nodes
        .iter()
        .map(|n| (n.meta.name.as_str(), n.zone_label()))
        .collect();
    let mine = |r: &Record| match (&w.nodes, node_of(r)) {
        (None, _) => true,
        (Some(set), Some(n)) => set.contains(n),
        (Some(_), None) => false,
    };
    let inside: Vec<&Record> = out
        .records
        .iter()
        .filter(|r| r.t >= w.start && r.t <= w.end && mine(r))
        .collect();
    let first =
        |p: &dyn Fn(&Record) -> bool| inside.iter().find(|r| p(r)).map(|r| secs(w.start, r.t));
    let last = |p: &dyn Fn(&Record) -> bool| {
        inside
            .iter()
            .rev()
            .find(|r| p(r))
            .map(|r| secs(w.start, r.t))
    };
    let detect = |r: &Record| r.reason == "NodeNotReady" && r.object.starts_with("Node/");
    let mut m = Metrics {
        time_to_detect_s: first(&detect),
        time_to_first_taint_s: first(&is_nlc_noexecute_taint),
        time_to_last_taint_s: last(&is_nlc_noexecute_taint),
        time_to_first_eviction_s: first(&is_eviction),
        time_to_last_eviction_s: last(&is_eviction),
        ..Metrics::default()
    };
    for r in inside.iter().filter(|r| is_eviction(r)) {
        m.pods_evicted += 1;
        let zone = node_of(r)
            .and_then(|n| zone_of.get(n))
            .filter(|z| !z.is_empty())
            .cloned()
            .unwrap_or_else(|| "none".to_string());
        *m.pods_evicted_by_zone.entry(zone).or_insert(0) += 1;
        if is_false_eviction(r, &out.records) {
            m.false_evictions += 1;
        }
    }
    availability(&out.availability, w, &mut m);
    m.peak_noexecute_tainted_nodes = peak_tainted(&out.records, w);
    m
}

/// An eviction at `te` of a pod tolerating its taint for `K` s is false when its node posts
/// `NodeReady` in `(te, te + K]`: a toleration twice as long would have kept the pod.
fn is_false_eviction(r: &Record, records: &[Record]) -> bool {
    let Some(node) = field(r, "node") else {
        return false;
    };
    let until = r.t.checked_add(tolerated_for(r)).unwrap_or(SimTime::MAX);
    records
        .iter()
        .skip_while(|x| x.t <= r.t)
        .take_while(|x| x.t <= until)
        .any(|x| x.reason == "NodeReady" && x.object.strip_prefix("Node/") == Some(node))
}

/// The value of a step function at `t` (0 before its first entry).
fn at<T: Copy + Default>(steps: &[(SimTime, T)], t: SimTime) -> T {
    let i = steps.partition_point(|(x, _)| *x <= t);
    if i == 0 {
        T::default()
    } else {
        steps[i - 1].1
    }
}

/// The highest value of a step function over `[start, end]`.
fn peak(steps: &Steps, start: SimTime, end: SimTime) -> i64 {
    let from = at(steps, start);
    steps
        .iter()
        .filter(|(t, _)| *t > start && *t <= end)
        .map(|(_, v)| *v)
        .fold(from, i64::max)
}

/// Unavailability (integral of desired − available, counted from the workload's first full
/// availability), the time until every workload is fully available again, and peak pending.
fn availability(log: &AvailabilityLog, w: &Window, m: &mut Metrics) {
    let mut restored: Option<SimTime> = Some(w.start);
    for ws in &log.workloads {
        // Counted only once the workload has first been fully available: the initial rollout
        // is not an outage.
        let Some(settled) = ws
            .steps
            .iter()
            .find(|(_, l)| l.desired > 0 && l.available >= l.desired)
            .map(|(t, _)| *t)
        else {
            m.unavailable_pod_seconds_by_workload
                .insert(ws.name.clone(), 0.0);
            continue;
        };
        let from = w.start.max(settled);
        let mut total = 0.0;
        let mut cur = at(&ws.steps, from).deficit();
        let mut since = from;
        let mut back = (cur == 0).then_some(from);
        for (t, l) in ws.steps.iter().filter(|(t, _)| *t > from && *t <= w.end) {
            total += cur as f64 * secs(since, *t);
            cur = l.deficit();
            since = *t;
            back = match (cur, back) {
                (0, None) => Some(*t),
                (0, b) => b,
                _ => None,
            };
        }
        if w.end > since {
            total += cur as f64 * secs(since, w.end);
        }
        m.unavailable_pod_seconds_by_workload
            .insert(ws.name.clone(), total);
        m.unavailable_pod_seconds += total;
        restored = match (restored, back) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    m.time_to_full_availability_s = restored.map(|t| secs(w.start, t));
    m.peak_pending_pods = peak(&log.pending, w.start, w.end).max(0) as u64;
}

/// The most nodes carrying at least one NoExecute taint at once during `[start, end]`, from
/// the `TaintAdded` / `TaintRemoved` records (any writer); a deleted Node (`RemovingNode`,
/// `DeletingNode`) carries none.
fn peak_tainted(records: &[Record], w: &Window) -> u64 {
    let mut taints: BTreeMap<&str, i64> = BTreeMap::new();
    let mut tainted = 0i64;
    let mut best = 0i64;
    let mut i = 0;
    while i < records.len() && records[i].t <= w.end {
        let t = records[i].t;
        // One instant at a time: only the state after its last record counts.
        while i < records.len() && records[i].t == t {
            let r = &records[i];
            i += 1;
            let Some(node) = r.object.strip_prefix("Node/") else {
                continue;
            };
            let noexec = field(r, "taint").is_some_and(|x| x.ends_with(":NoExecute"));
            let before = taints.get(node).copied().unwrap_or(0) > 0;
            match r.reason {
                "TaintAdded" if noexec => *taints.entry(node).or_insert(0) += 1,
                "TaintRemoved" if noexec => *taints.entry(node).or_insert(0) -= 1,
                "RemovingNode" | "DeletingNode" => {
                    taints.remove(node);
                }
                _ => continue,
            }
            let after = taints.get(node).copied().unwrap_or(0) > 0;
            tainted += i64::from(after) - i64::from(before);
        }
        if t >= w.start || i == records.len() || records[i].t > w.start {
            best = best.max(tainted);
        }
    }
    best.max(0) as u64
}
