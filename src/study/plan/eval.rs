//! One candidate of `kubesim plan` under one failure case: the scenario text with the grown
//! pools' counts and the case's timeline ([`variant_text`]), one run observed after every
//! event ([`evaluate`]), the goals judged on the workloads' replica levels, and the resource
//! arithmetic that bounds a pool's count from below ([`lower_bound`]).
//!
//! Invariant: a pure function of (scenario text, counts, case, goals, seed); a variant is
//! resolved by `scenario::load_str` exactly as `kubesim check` resolves a file holding the same
//! text, so a candidate's outcome is reproducible with `kubesim check`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::{Case, CaseKind, Goal, PoolInfo};
use crate::cluster::{Cluster, Event};
use crate::model::Resources;
use crate::observe::workload_levels::{LevelTracker, WorkloadSteps};
use crate::scenario::{self, FaultKind, Scenario, TimelineKind, Workload};
use crate::sim::{Engine, Limits, SimDuration, SimTime};

/// What one run of a candidate under one case gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Every goal held.
    pub passed: bool,
    /// The deciding goal's lowest availability (percent of desired) over its judged times
    /// (the goal with the least margin above its threshold); 0 when the candidate could not
    /// be run.
    pub min_available_percent: f64,
    /// The deciding goal, as written.
    pub goal: String,
    /// The workload and time of that lowest point, e.g. `default/web 56/60 at 12m0s`.
    pub worst: String,
    /// Nodes in the candidate's cluster.
    pub nodes: usize,
    pub engine_events: u64,
    /// Why the candidate could not be run or judged (a variant that does not load, a run
    /// stopped by the event limit).
    pub error: Option<String>,
}

impl Outcome {
    pub(super) fn failed(error: String) -> Outcome {
        Outcome {
            passed: false,
            min_available_percent: 0.0,
            goal: String::new(),
            worst: String::new(),
            nodes: 0,
            engine_events: 0,
            error: Some(error),
        }
    }
}

fn key(k: &str) -> Value {
    Value::String(k.to_string())
}

fn mapping_mut<'a>(v: &'a mut Value, field: &str) -> Result<&'a mut Mapping, String> {
    v.as_mapping_mut()
        .ok_or_else(|| format!("`{field}` is not a mapping"))
}

/// The node names a pool builds at `count` per zone, in build order (zone by zone).
pub fn pool_node_names(pool: &PoolInfo, count: u32) -> Vec<String> {
    if pool.zones.is_empty() {
        return (0..count).map(|j| format!("{}-{j}", pool.name)).collect();
    }
    pool.zones
        .iter()
        .flat_map(|z| (0..count).map(move |j| format!("{}-{z}-{j}", pool.name)))
        .collect()
}

/// The scenario text for `counts` (one per pool of `pools`, all the scenario's pools in order) under `case`: the pools'
/// `count`s set, `expect:` removed (the plan's goals replace it); for a synthetic case the
/// timeline replaced by the one fault at `fail_at` and `failureModels:` removed; for the
/// failure-models case the timeline removed (the models' faults are drawn at load).
pub fn variant_text(
    base: &Value,
    pools: &[PoolInfo],
    counts: &[u32],
    case: &Case,
    fail_at: SimDuration,
) -> Result<String, String> {
    let mut v = base.clone();
    let root = mapping_mut(&mut v, "the scenario")?;
    root.remove(key("expect"));
    let cluster = root
        .get_mut(key("cluster"))
        .ok_or("the scenario has no `cluster`")?;
    let list = mapping_mut(cluster, "cluster")?
        .get_mut(key("nodePools"))
        .and_then(Value::as_sequence_mut)
        .ok_or("the scenario has no `cluster.nodePools` list")?;
    for (i, (pool, count)) in pools.iter().zip(counts).enumerate() {
        let entry = list
            .get_mut(i)
            .ok_or_else(|| format!("no node pool {}", pool.name))?;
        mapping_mut(entry, "cluster.nodePools[]")?
            .insert(key("count"), Value::Number((*count).into()));
    }
    match case_entry(&case.kind, pools, counts, fail_at) {
        Some(entry) => {
            root.insert(key("timeline"), Value::Sequence(vec![entry]));
            root.remove(key("failureModels"));
        }
        None if case.kind == CaseKind::FailureModels => {
            root.remove(key("timeline"));
        }
        None => {}
    }
    serde_yaml::to_string(&v).map_err(|e| format!("cannot render the variant: {e}"))
}

/// The one timeline entry of a synthetic case (`None`: the scenario's own timeline).
fn case_entry(
    kind: &CaseKind,
    pools: &[PoolInfo],
    counts: &[u32],
    fail_at: SimDuration,
) -> Option<Value> {
    let (set, duration) = match kind {
        CaseKind::Timeline | CaseKind::FailureModels => return None,
        CaseKind::ZoneDown { zone, duration } => {
            let mut m = Mapping::new();
            m.insert(key("zones"), Value::Sequence(vec![key(zone)]));
            (m, duration)
        }
        CaseKind::NodesDown { pool, k, duration } => {
            let i = pools.iter().position(|p| p.name == *pool)?;
            let names = pool_node_names(&pools[i], counts[i]);
            let mut m = Mapping::new();
            let first: Vec<Value> = names.iter().take(*k as usize).map(|n| key(n)).collect();
            m.insert(key("nodes"), Value::Sequence(first));
            (m, duration)
        }
    };
    let mut e = Mapping::new();
    e.insert(key("at"), key(&fail_at.to_string()));
    if let Some(d) = duration {
        e.insert(key("duration"), key(&d.to_string()));
    }
    e.insert(key("nodeCrash"), Value::Mapping(set));
    Some(Value::Mapping(e))
}

/// Loads a variant text as `kubesim check` would load a file holding it.
pub fn load_variant(text: &str, path: &Path, overrides: &[String]) -> Result<Scenario, String> {
    scenario::load_str(text, path, overrides).map_err(|e| e.to_string())
}

/// The times a fault of the scenario's timeline starts (actions are not failures).
pub fn fault_starts(s: &Scenario) -> Vec<SimTime> {
    let mut v: Vec<SimTime> = s
        .timeline
        .iter()
        .filter(|f| !f.kind.is_action())
        .map(|f| SimTime::ZERO + f.at)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The judged times of a goal with grace `within`: from the first fault to the end, except
/// `[start, start + within)` after every fault start; closed intervals.
pub fn judged(starts: &[SimTime], within: SimDuration, end: SimTime) -> Vec<(SimTime, SimTime)> {
    let Some(first) = starts.first() else {
        return Vec::new();
    };
    if within == SimDuration::ZERO {
        return vec![(*first, end)];
    }
    let mut out = Vec::new();
    let mut from = *first;
    for s in starts {
        let grace_end = s.checked_add(within).unwrap_or(SimTime::MAX);
        if *s > from {
            out.push((from, SimTime(s.as_nanos() - 1)));
        }
        from = from.max(grace_end);
    }
    if from <= end {
        out.push((from, end));
    }
    out
}

/// Whether a goal names this workload (`*`, `NAME` in `default`, or `NAMESPACE/NAME`).
pub fn goal_matches(goal: &Goal, key: &str) -> bool {
    goal.workload == "*"
        || goal.workload == key
        || key.strip_prefix("default/") == Some(goal.workload.as_str())
}

/// The verdict of the goals on one run: whether all held, and the deciding goal (the one
/// with the least margin above its threshold, the first on a tie) with its lowest point.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub passed: bool,
    /// The deciding goal's lowest availability, percent of desired.
    pub percent: f64,
    pub goal: String,
    /// Its workload and time, e.g. `default/web 56/60 at 12m0s`.
    pub worst: String,
}

/// Judges the goals on the observed levels.
pub fn judge(
    goals: &[Goal],
    levels: &[WorkloadSteps],
    starts: &[SimTime],
    end: SimTime,
) -> Judgement {
    let mut passed = true;
    // (margin, percent, goal, worst)
    let mut deciding: Option<(f64, f64, String, String)> = None;
    for g in goals {
        for w in levels.iter().filter(|w| goal_matches(g, &w.key)) {
            for (from, to) in judged(starts, g.within, end) {
                let Some((f, t)) = w.min_fraction(from, to) else {
                    continue;
                };
                let margin = f * 100.0 - g.min_percent;
                if margin < -1e-9 {
                    passed = false;
                }
                if deciding.as_ref().is_none_or(|(m, ..)| margin < *m - 1e-9) {
                    let i = w.steps.partition_point(|(x, _)| *x <= t);
                    let l = w.steps[i.saturating_sub(1)].1;
                    let at = t.since(SimTime::ZERO);
                    let text = format!("{} {}/{} at {at}", w.key, l.available, l.desired);
                    deciding = Some((margin, f * 100.0, g.text.clone(), text));
                }
            }
        }
    }
    let (_, percent, goal, worst) =
        deciding.unwrap_or((0.0, 100.0, String::new(), "no judged workload".into()));
    Judgement {
        passed,
        percent,
        goal,
        worst,
    }
}

/// Runs a loaded variant to its end, observing the levels after every event, and judges it.
pub fn evaluate(s: &Scenario, goals: &[Goal]) -> Outcome {
    let end = SimTime::ZERO + s.duration;
    let mut engine: Engine<Event> = Engine::new(
        Limits {
            end,
            max_events: s.max_events,
        },
        None,
    );
    let mut cluster = Cluster::build(s, &mut engine);
    let mut tracker = LevelTracker::new(&s.workloads);
    tracker.observe(&cluster, SimTime::ZERO);
    let stop = engine.run_until(end, |ctx, ev| {
        cluster.handle(ctx, ev);
        tracker.observe(&cluster, ctx.now());
    });
    let levels = tracker.finish();
    let starts = fault_starts(s);
    let j = judge(goals, &levels, &starts, end);
    let stopped = stop.is_some_and(|r| !r.completed());
    Outcome {
        passed: j.passed && !stopped,
        min_available_percent: j.percent,
        goal: j.goal,
        worst: j.worst,
        nodes: s.nodes.len(),
        engine_events: engine.processed(),
        error: stopped.then(|| "the event limit was reached; raise simulation.maxEvents".into()),
    }
}

/// One case's outcome over several seeds `(seed, outcome)`: passed only if every seed
/// passed; the goal metric, goal and worst point of the seed with the lowest metric (the
/// first on a tie), its worst point prefixed `seed N:`; the first error, prefixed the same
/// way; the engine events summed.
pub fn combine_seeds(outcomes: Vec<(u64, Outcome)>) -> Outcome {
    let passed = outcomes.iter().all(|(_, o)| o.passed);
    let engine_events = outcomes.iter().map(|(_, o)| o.engine_events).sum();
    let error = outcomes
        .iter()
        .find_map(|(seed, o)| o.error.as_ref().map(|e| format!("seed {seed}: {e}")));
    let worst = outcomes.into_iter().reduce(|a, b| {
        if b.1.min_available_percent < a.1.min_available_percent - 1e-9 {
            b
        } else {
            a
        }
    });
    match worst {
        None => Outcome::failed("no seed to run".into()),
        Some((seed, o)) => Outcome {
            passed,
            worst: format!("seed {seed}: {}", o.worst),
            engine_events,
            error,
            ..o
        },
    }
}

/// The machines a fault takes away until the end of the run (crash, VM deletion, stopped
/// kubelet, partition), by index.
fn lost_for_good(s: &Scenario) -> BTreeSet<usize> {
    let mut dead = BTreeSet::new();
    for f in &s.timeline {
        let TimelineKind::Fault(k) = &f.kind else {
            continue;
        };
        let capacity_loss = matches!(
            k,
            FaultKind::NodeCrash { .. }
                | FaultKind::VmDeleted { .. }
                | FaultKind::KubeletStop { .. }
                | FaultKind::NetworkPartition { .. }
        );
        let to_end = f.duration.is_none_or(|d| f.at + d >= s.duration);
        if capacity_loss && to_end {
            dead.extend(k.machines().iter().map(|m| *m as usize));
        }
    }
    dead
}

/// The resources a resource list holds, as `(name, amount)`.
fn amounts(r: &Resources) -> Vec<(String, i64)> {
    let mut v = vec![
        ("cpu".to_string(), r.cpu_milli),
        ("memory".to_string(), r.memory),
        ("ephemeral-storage".to_string(), r.ephemeral_storage),
        ("pods".to_string(), r.pods),
    ];
    v.extend(r.scalar.iter().map(|(k, x)| (k.clone(), *x)));
    v
}

/// What the goals need placed: for every workload a goal names, the highest goal percentage
/// of its replicas (rounded up) times its pod's request; and what one DaemonSet pod per node
/// takes.
fn demand(s: &Scenario, goals: &[Goal]) -> (Resources, Resources) {
    let mut need = Resources::default();
    let mut per_node = Resources::default();
    for w in &s.workloads {
        let (key, replicas, template) = match w {
            Workload::ReplicaSet(r) => (r.key(), r.replicas, &r.template),
            Workload::Deployment(d) => (d.key(), d.replicas, &d.template),
            Workload::StatefulSet(x) => (x.key(), x.replicas, &x.template),
            Workload::DaemonSet(d) => {
                per_node.add(&d.template.spec.effective_request());
                continue;
            }
            _ => continue,
        };
        let pct = goals
            .iter()
            .filter(|g| goal_matches(g, &key))
            .map(|g| g.min_percent)
            .fold(0.0_f64, f64::max);
        let pods = libm::ceil(f64::from(replicas.max(0)) * pct / 100.0 - 1e-9) as i64;
        let req = template.spec.effective_request();
        for _ in 0..pods.max(0) {
            need.add(&req);
        }
    }
    (need, per_node)
}

/// The smallest count of `pools[p]` (per zone) whose allocatable, with every other pool at
/// its count in `counts` (`s` is the variant at `counts`), can hold what the goals need after the nodes the case takes away for good:
/// `ceil((need − other pools' surviving allocatable + lost pool nodes × per-node) / (surviving
/// zones × per-node))` for each resource, the largest of them, at least 1. DaemonSet pods
/// are taken off every node's allocatable. A bound, not the answer: spreading, taints,
/// affinity and timing can only ask for more, and the search verifies it (count − 1 fails).
pub fn lower_bound(
    s: &Scenario,
    pools: &[PoolInfo],
    counts: &[u32],
    p: usize,
    goals: &[Goal],
) -> u32 {
    let (need, per_ds) = demand(s, goals);
    let dead = lost_for_good(s);
    // The pool's node range: pools are built in order, `count × zones` nodes each.
    let start: usize = pools
        .iter()
        .zip(counts)
        .take(p)
        .map(|(pool, c)| *c as usize * pool.zones.len().max(1))
        .sum();
    let zones = pools[p].zones.len().max(1);
    let n = counts[p] as usize;
    let range = start..(start + n * zones).min(s.nodes.len());
    let Some(first) = s.nodes.get(range.start) else {
        return 1;
    };
    let mut per_node = first.status.allocatable.clone();
    per_node.sub(&per_ds);
    let mut other = Resources::default();
    for (i, node) in s.nodes.iter().enumerate() {
        if !range.contains(&i) && !dead.contains(&i) {
            let mut a = node.status.allocatable.clone();
            a.sub(&per_ds);
            other.add(&a);
        }
    }
    let dead_zones = (0..zones)
        .filter(|z| (0..n).all(|j| dead.contains(&(range.start + z * n + j))))
        .count();
    let stray = range.clone().filter(|i| dead.contains(i)).count() - dead_zones * n;
    let alive_zones = (zones - dead_zones) as i64;
    let need = amounts(&need);
    let other = amounts(&other);
    let per = amounts(&per_node);
    let mut bound: i64 = 1;
    for (name, amount) in &need {
        let have = other.iter().find(|(n, _)| n == name).map_or(0, |x| x.1);
        let each = per.iter().find(|(n, _)| n == name).map_or(0, |x| x.1);
        let short = amount - have;
        if short <= 0 || each <= 0 || alive_zones <= 0 {
            continue;
        }
        let nodes = (short + each - 1) / each + stray as i64;
        bound = bound.max((nodes + alive_zones - 1) / alive_zones);
    }
    u32::try_from(bound).unwrap_or(u32::MAX)
}
