//! The study metrics of `summary.json` (`metrics`, overall and per fault): detection, tainting
//! and eviction times, evictions by zone, false evictions, pod-unavailability seconds, the
//! longest stretch below half of desired replicas, time to full availability and peaks. Every field is defined in docs/outputs.md ("Study metrics").
//!
//! Invariant: a pure function of the event log, the fault windows and the event-exact
//! availability log of one run; every value is a number or null (sweeps flatten them into CSV
//! columns), and times are seconds measured from the window's start.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::observe::availability::{AvailabilityLog, Level, Steps};
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
    /// Per workload: the longest stretch of the window with available < 50 % of desired, s.
    pub longest_below_half_available_s_by_workload: BTreeMap<String, f64>,
    /// Per workload: 1 if that stretch is longer than 5 minutes, else 0 (the mean over a
    /// sweep's seeds estimates the probability).
    pub below_half_over_5m_by_workload: BTreeMap<String, u64>,
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

/// What every window's metrics read, prepared once per run in one pass over the records: the
/// records any metric or fault summary reads ([`is_study_record`], in time order), the zone of
/// each node, the `NodeReady` times of each node, the NoExecute-tainted node count as a step
/// function, and the availability log. A window then reads a slice of the study records, never
/// the whole log.
pub struct Context<'a> {
    study: Vec<&'a Record>,
    log: &'a AvailabilityLog,
    zone_of: BTreeMap<&'a str, String>,
    ready_at: BTreeMap<&'a str, Vec<SimTime>>,
    tainted: Steps,
}

/// The reasons a metric (here or in `summary.json`'s per-fault figures) reads: node readiness,
/// taints, node removal and taint-manager evictions.
pub fn is_study_record(r: &Record) -> bool {
    matches!(
        r.reason,
        "NodeNotReady"
            | "NodeReady"
            | "TaintAdded"
            | "TaintRemoved"
            | "RemovingNode"
            | "DeletingNode"
            | "TaintManagerEviction"
    )
}

impl<'a> Context<'a> {
    pub fn new(s: &'a Scenario, out: &'a RunOutput) -> Self {
        let study: Vec<&Record> = out.records.iter().filter(|r| is_study_record(r)).collect();
        let mut ready_at: BTreeMap<&str, Vec<SimTime>> = BTreeMap::new();
        for r in study.iter().filter(|r| r.reason == "NodeReady") {
            if let Some(n) = r.object.strip_prefix("Node/") {
                ready_at.entry(n).or_default().push(r.t);
            }
        }
        let tainted = tainted_steps(study.iter().copied());
        Context {
            study,
            log: &out.availability,
            zone_of: s
                .nodes
                .iter()
                .map(|n| (n.meta.name.as_str(), n.zone_label()))
                .collect(),
            ready_at,
            tainted,
        }
    }

    /// The records of [`is_study_record`] reasons, in time order.
    pub fn study_records(&self) -> &[&'a Record] {
        &self.study
    }
}

/// The metrics of one window.
pub fn compute(c: &Context, w: &Window) -> Metrics {
    let mine = |r: &Record| match (&w.nodes, node_of(r)) {
        (None, _) => true,
        (Some(set), Some(n)) => set.contains(n),
        (Some(_), None) => false,
    };
    let detect = |r: &Record| r.reason == "NodeNotReady" && r.object.starts_with("Node/");
    // Records are in time order: the window is one slice of the study records; only the
    // records the metrics below read are kept (the cheap reason test before the node's).
    let from = c.study.partition_point(|r| r.t < w.start);
    let to = c.study.partition_point(|r| r.t <= w.end);
    let inside: Vec<&Record> = c.study[from..to.max(from)]
        .iter()
        .copied()
        .filter(|r| (detect(r) || is_nlc_noexecute_taint(r) || is_eviction(r)) && mine(r))
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
            .and_then(|n| c.zone_of.get(n))
            .filter(|z| !z.is_empty())
            .cloned()
            .unwrap_or_else(|| "none".to_string());
        *m.pods_evicted_by_zone.entry(zone).or_insert(0) += 1;
        if is_false_eviction(r, &c.ready_at) {
            m.false_evictions += 1;
        }
    }
    availability(c.log, w, &mut m);
    m.peak_noexecute_tainted_nodes = peak(&c.tainted, w.start, w.end).max(0) as u64;
    m
}

/// An eviction at `te` of a pod tolerating its taint for `K` s is false when its node posts
/// `NodeReady` in `(te, te + K]`: a toleration twice as long would have kept the pod.
fn is_false_eviction(r: &Record, ready_at: &BTreeMap<&str, Vec<SimTime>>) -> bool {
    let Some(times) = field(r, "node").and_then(|n| ready_at.get(n)) else {
        return false;
    };
    let until = r.t.checked_add(tolerated_for(r)).unwrap_or(SimTime::MAX);
    let next = times.partition_point(|t| *t <= r.t);
    times.get(next).is_some_and(|t| *t <= until)
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
    let (i, j) = (
        steps.partition_point(|(t, _)| *t <= start),
        steps.partition_point(|(t, _)| *t <= end),
    );
    steps[i..j.max(i)]
        .iter()
        .map(|(_, v)| *v)
        .fold(from, i64::max)
}

/// The threshold of `below_half_over_5m_by_workload`: strictly longer than 5 minutes.
pub const BELOW_HALF_LIMIT_S: f64 = 300.0;

/// Fewer than half of the desired replicas available (`2 · available < desired`).
fn below_half(l: Level) -> bool {
    l.desired > 0 && 2 * l.available < l.desired
}

/// The longest stretch of `[from, end]` during which the workload is [`below_half`], in
/// seconds (a stretch still open at `end` is cut there).
fn longest_below_half(steps: &[(SimTime, Level)], from: SimTime, end: SimTime) -> f64 {
    if end <= from {
        return 0.0;
    }
    let mut since = below_half(at(steps, from)).then_some(from);
    let mut longest = 0.0_f64;
    let (i, j) = (
        steps.partition_point(|(t, _)| *t <= from),
        steps.partition_point(|(t, _)| *t <= end),
    );
    for (t, l) in &steps[i..j.max(i)] {
        match (since, below_half(*l)) {
            (None, true) => since = Some(*t),
            (Some(s), false) => {
                longest = longest.max(secs(s, *t));
                since = None;
            }
            _ => {}
        }
    }
    if let Some(s) = since {
        longest = longest.max(secs(s, end));
    }
    longest
}

/// Unavailability (integral of desired − available, counted from the workload's first full
/// availability), the longest stretch below half of desired, the time until every workload
/// is fully available again, and peak pending.
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
            m.longest_below_half_available_s_by_workload
                .insert(ws.name.clone(), 0.0);
            m.below_half_over_5m_by_workload.insert(ws.name.clone(), 0);
            continue;
        };
        let from = w.start.max(settled);
        let longest = longest_below_half(&ws.steps, from, w.end);
        m.longest_below_half_available_s_by_workload
            .insert(ws.name.clone(), longest);
        m.below_half_over_5m_by_workload
            .insert(ws.name.clone(), u64::from(longest > BELOW_HALF_LIMIT_S));
        let mut total = 0.0;
        let mut cur = at(&ws.steps, from).deficit();
        let mut since = from;
        let mut back = (cur == 0).then_some(from);
        let (i, j) = (
            ws.steps.partition_point(|(t, _)| *t <= from),
            ws.steps.partition_point(|(t, _)| *t <= w.end),
        );
        for (t, l) in &ws.steps[i..j.max(i)] {
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

/// How many nodes carry at least one NoExecute taint, as a step function (the state after
/// each instant's last record), from the `TaintAdded` / `TaintRemoved` records (any writer);
/// a deleted Node (`RemovingNode`, `DeletingNode`) carries none.
fn tainted_steps<'a>(records: impl IntoIterator<Item = &'a Record>) -> Steps {
    let mut taints: BTreeMap<&str, i64> = BTreeMap::new();
    let mut tainted = 0i64;
    let mut steps: Steps = Vec::new();
    for r in records {
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
        match steps.last_mut() {
            Some(last) if last.0 == r.t => last.1 = tainted,
            _ => steps.push((r.t, tainted)),
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::availability::{Level, WorkloadSteps};

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    /// 3 desired: the rollout reaches 3 at 10 s (not counted), 2 short from 100 s, 1 short
    /// from 150 s, whole again at 200 s. Over [50 s, 300 s]: 2·50 + 1·50 = 150 replica·s, back
    /// 150 s after the window's start; Pending peaks at 4 inside, 9 before it does not count.
    #[test]
    fn unavailability_is_the_exact_integral_after_first_full_availability() {
        let lv = |available| Level {
            desired: 3,
            available,
        };
        let log = AvailabilityLog {
            workloads: vec![WorkloadSteps {
                name: "deploy_web".into(),
                steps: vec![
                    (t(0), lv(0)),
                    (t(10), lv(3)),
                    (t(100), lv(1)),
                    (t(150), lv(2)),
                    (t(200), lv(3)),
                ],
            }],
            pending: vec![(t(0), 9), (t(20), 0), (t(120), 4), (t(130), 1)],
        };
        let w = Window {
            start: t(50),
            end: t(300),
            nodes: None,
        };
        let mut m = Metrics::default();
        availability(&log, &w, &mut m);
        assert_eq!(m.unavailable_pod_seconds, 150.0);
        assert_eq!(m.unavailable_pod_seconds_by_workload["deploy_web"], 150.0);
        assert_eq!(m.time_to_full_availability_s, Some(150.0));
        assert_eq!(m.peak_pending_pods, 4);
        // Still short at the window's end: no restore time.
        let short = Window {
            start: t(50),
            end: t(180),
            nodes: None,
        };
        let mut m = Metrics::default();
        availability(&log, &short, &mut m);
        assert_eq!(m.time_to_full_availability_s, None);
        assert_eq!(m.unavailable_pod_seconds, 2.0 * 50.0 + 30.0);
    }

    /// 4 desired, fully available at 10 s (the rollout before does not count). Below half
    /// means fewer than 2 available: 1 from 100 s, 3 (not below) from 160 s, 0 from 200 s to
    /// 560 s, 2 (exactly half: not below) from 560 s, 1 again from 900 s to the end at 1000 s.
    /// Stretches below: 60 s, 360 s, 100 s (cut at the end): the longest is 360 s > 300 s.
    /// A window from 300 s sees 260 s of the middle stretch: not over 5 minutes.
    #[test]
    fn longest_below_half_is_the_longest_exact_stretch() {
        let lv = |available| Level {
            desired: 4,
            available,
        };
        let log = AvailabilityLog {
            workloads: vec![WorkloadSteps {
                name: "deploy_web".into(),
                steps: vec![
                    (t(0), lv(0)),
                    (t(10), lv(4)),
                    (t(100), lv(1)),
                    (t(160), lv(3)),
                    (t(200), lv(0)),
                    (t(560), lv(2)),
                    (t(900), lv(1)),
                ],
            }],
            pending: Vec::new(),
        };
        let whole = Window {
            start: t(0),
            end: t(1000),
            nodes: None,
        };
        let mut m = Metrics::default();
        availability(&log, &whole, &mut m);
        assert_eq!(
            m.longest_below_half_available_s_by_workload["deploy_web"],
            360.0
        );
        assert_eq!(m.below_half_over_5m_by_workload["deploy_web"], 1);
        let late = Window {
            start: t(300),
            end: t(1000),
            nodes: None,
        };
        let mut m = Metrics::default();
        availability(&log, &late, &mut m);
        assert_eq!(
            m.longest_below_half_available_s_by_workload["deploy_web"],
            260.0
        );
        assert_eq!(m.below_half_over_5m_by_workload["deploy_web"], 0);
    }
}
