//! `kubesim plan`: the fewest nodes per pool that keep the workloads available under a set of
//! failure cases (docs/plan.md).
//!
//! A *candidate* is a count per node pool (nodes per zone, as `cluster.nodePools[].count`);
//! the pools that may grow are searched, the others keep the scenario's count. A candidate is
//! run once per failure *case* (`eval.rs`: the scenario text with the counts and the case's
//! timeline, loaded as `kubesim check` loads a file) and passes if every *goal* holds in every
//! case. The search assumes monotonicity (more nodes never hurt) and checks it:
//! 1. **Upper bound.** Start at the larger of the scenario's count and the resource lower
//!    bound; double every grown pool until the candidate passes (at most `max_count`).
//! 2. **Bisection**, pool by pool in order: the others fixed (earlier pools at their answer,
//!    later ones at the upper bound), between the lower bound − 1 (taken as failing, not run)
//!    and the passing upper bound.
//! 3. **Verification**: the answer with each pool one lower must fail, and the answer with
//!    every grown pool one and two higher must pass; and no candidate tried may fail while a
//!    smaller-or-equal one passed. If any of this breaks, the result is flagged non-monotone
//!    and each pool falls back to a **linear scan** of its whole bracket (from 1 if the
//!    count below passed), where the answer is the smallest count from which every count
//!    tried up to the bracket's top passes.
//!
//! Invariant: a pure function of (scenario, options): no I/O, no wall clock; runs go on
//! `rayon` threads (candidates × cases of one round at once, a run itself on one thread), and
//! the candidates a round tries do not depend on the thread count, so the report does not
//! either.

mod eval;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

pub use eval::{judged, pool_node_names, Outcome};

use crate::model::duration::parse_go_duration;
use crate::model::LABEL_ZONE;
use crate::observe::workload_levels::LevelTracker;
use crate::scenario::Scenario;
use crate::sim::SimDuration;

/// A node pool of the scenario: its name, zones and count per zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    pub name: String,
    pub zones: Vec<String>,
    pub scenario_count: u32,
}

/// What a failure case does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseKind {
    /// The scenario's own timeline.
    Timeline,
    /// The scenario's `failureModels:`, drawn at every seed, its fixed timeline removed.
    FailureModels,
    /// Every node of the zone crashes at `fail_at` (for `duration`, or for good).
    ZoneDown {
        zone: String,
        duration: Option<SimDuration>,
    },
    /// The first `k` nodes of the pool in build order (zone by zone, index 0, 1, …) crash.
    NodesDown {
        pool: String,
        k: u32,
        duration: Option<SimDuration>,
    },
}

/// One failure case, with its name as written (`zone-down:a:10m`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub kind: CaseKind,
}

/// A goal: the workload's available replicas are at least `min_percent` of desired at every
/// judged time ([`judged`]: from the first fault on, except `within` after each fault start).
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    /// `*`, `NAME` (namespace `default`) or `NAMESPACE/NAME`.
    pub workload: String,
    pub min_percent: f64,
    pub within: SimDuration,
    /// As written.
    pub text: String,
}

/// The default goal: every workload fully available within 10 minutes of a failure.
pub const DEFAULT_GOAL: &str = "*:available>=100%:within=10m";
/// The default failure time of a synthetic case.
pub const DEFAULT_FAIL_AT: &str = "2m";

fn duration(text: &str, what: &str) -> Result<SimDuration, String> {
    parse_go_duration(text).map_err(|e| format!("{what} {text:?}: {e}"))
}

fn opt_duration(parts: &[&str], i: usize, what: &str) -> Result<Option<SimDuration>, String> {
    match parts.get(i) {
        None => Ok(None),
        Some(t) => duration(t, what).map(Some),
    }
}

/// Parses `--case`: `timeline`, `failure-models`, `zone-down:ZONE[:DURATION]`,
/// `each-zone-down[:DURATION]` (one case per zone of the cluster) or
/// `nodes-down:POOL:K[:DURATION]`; no duration: for good.
pub fn parse_case(text: &str, zones: &[String], pools: &[PoolInfo]) -> Result<Vec<Case>, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let bad = |why: &str| {
        format!(
            "--case {text:?}: {why} (expected timeline, failure-models, \
             zone-down:ZONE[:DURATION], each-zone-down[:DURATION] or \
             nodes-down:POOL:K[:DURATION])"
        )
    };
    let known_zone = |z: &str| -> Result<(), String> {
        if zones.iter().any(|x| x == z) {
            return Ok(());
        }
        let hint = crate::model::suggest::closest(z, zones.iter().map(String::as_str))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        Err(bad(&format!(
            "unknown zone {z:?} (zones: {}){hint}",
            zones.join(", ")
        )))
    };
    let one = |kind: CaseKind| {
        Ok(vec![Case {
            name: text.into(),
            kind,
        }])
    };
    match parts[0] {
        "timeline" if parts.len() == 1 => one(CaseKind::Timeline),
        "failure-models" if parts.len() == 1 => one(CaseKind::FailureModels),
        "zone-down" if (2..=3).contains(&parts.len()) => {
            known_zone(parts[1])?;
            one(CaseKind::ZoneDown {
                zone: parts[1].into(),
                duration: opt_duration(&parts, 2, "--case duration").map_err(|e| bad(&e))?,
            })
        }
        "each-zone-down" if parts.len() <= 2 => {
            let d = opt_duration(&parts, 1, "--case duration").map_err(|e| bad(&e))?;
            if zones.is_empty() {
                return Err(bad("the cluster's nodes have no zone label"));
            }
            Ok(zones
                .iter()
                .map(|z| Case {
                    name: match d {
                        Some(d) => format!("zone-down:{z}:{d}"),
                        None => format!("zone-down:{z}"),
                    },
                    kind: CaseKind::ZoneDown {
                        zone: z.clone(),
                        duration: d,
                    },
                })
                .collect())
        }
        "nodes-down" if (3..=4).contains(&parts.len()) => {
            if !pools.iter().any(|p| p.name == parts[1]) {
                let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
                return Err(bad(&format!(
                    "unknown node pool {:?} (pools: {})",
                    parts[1],
                    names.join(", ")
                )));
            }
            let k: u32 = parts[2]
                .parse()
                .ok()
                .filter(|k| *k >= 1)
                .ok_or_else(|| bad("K must be a whole number of nodes, at least 1"))?;
            one(CaseKind::NodesDown {
                pool: parts[1].into(),
                k,
                duration: opt_duration(&parts, 3, "--case duration").map_err(|e| bad(&e))?,
            })
        }
        _ => Err(bad("not a failure case")),
    }
}

/// Parses `--goal`: `WORKLOAD:available>=P%[:within=DURATION]` or `WORKLOAD:never-below=P%`
/// (the same as `available>=P%` with no grace).
pub fn parse_goal(text: &str) -> Result<Goal, String> {
    let bad = |why: &str| {
        format!(
            "--goal {text:?}: {why} (expected WORKLOAD:available>=P%[:within=DURATION] or \
             WORKLOAD:never-below=P%; WORKLOAD is NAME, NAMESPACE/NAME or *)"
        )
    };
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 || parts[0].is_empty() {
        return Err(bad("wrong number of fields"));
    }
    let percent = |p: &str| -> Result<f64, String> {
        let v: f64 = p
            .strip_suffix('%')
            .and_then(|x| x.trim().parse().ok())
            .ok_or_else(|| bad(&format!("{p:?} is not a percentage such as 100%")))?;
        if !(0.0..=100.0).contains(&v) {
            return Err(bad("the percentage must be between 0% and 100%"));
        }
        Ok(v)
    };
    let (min_percent, within) = if let Some(p) = parts[1].strip_prefix("available>=") {
        let within = match parts.get(2) {
            None => SimDuration::ZERO,
            Some(w) => {
                let w = w
                    .strip_prefix("within=")
                    .ok_or_else(|| bad(&format!("{w:?}: expected within=DURATION")))?;
                duration(w, "within").map_err(|e| bad(&e))?
            }
        };
        (percent(p)?, within)
    } else if let Some(p) = parts[1].strip_prefix("never-below=") {
        if parts.len() != 2 {
            return Err(bad("never-below takes no within"));
        }
        (percent(p)?, SimDuration::ZERO)
    } else {
        return Err(bad(&format!("unknown goal {:?}", parts[1])));
    };
    Ok(Goal {
        workload: parts[0].into(),
        min_percent,
        within,
        text: text.into(),
    })
}

/// The command line's request.
#[derive(Clone, Debug, Default)]
pub struct PlanRequest {
    /// The scenario file's text and path (paths inside it are relative to the file).
    pub text: String,
    pub path: PathBuf,
    /// `--set` overrides.
    pub overrides: Vec<String>,
    pub seed: Option<u64>,
    /// `--seeds`: every case of a candidate runs at each; it passes only if every seed
    /// passes (empty: the one seed above, or the scenario's).
    pub seeds: Vec<u64>,
    /// Pools that may grow (empty: all).
    pub grow: Vec<String>,
    /// `--case` texts (empty: `timeline`).
    pub cases: Vec<String>,
    /// `--goal` texts (empty: [`DEFAULT_GOAL`]).
    pub goals: Vec<String>,
    /// When a synthetic case's fault starts (default [`DEFAULT_FAIL_AT`]).
    pub fail_at: Option<String>,
    /// The largest count per zone the search tries.
    pub max_count: u32,
}

/// A validated plan, ready to search.
pub struct Plan {
    pub scenario_name: String,
    pub pools: Vec<PoolInfo>,
    /// Indices into `pools` of the pools that may grow, in search order.
    pub grow: Vec<usize>,
    pub cases: Vec<Case>,
    pub goals: Vec<Goal>,
    pub fail_at: SimDuration,
    pub max_count: u32,
    /// The seeds every case runs at (empty: one run at `--seed` or the scenario's seed).
    pub seeds: Vec<u64>,
    /// The scenario's warnings (unmodelled fields), as `kubesim check` prints them.
    pub warnings: Vec<String>,
    base: Value,
    path: PathBuf,
    overrides: Vec<String>,
    seed: Option<u64>,
}

/// The pools as the YAML declares them.
fn yaml_pools(base: &Value) -> Result<Vec<PoolInfo>, String> {
    let list = base
        .get("cluster")
        .and_then(|c| c.get("nodePools"))
        .and_then(Value::as_sequence)
        .ok_or("the scenario has no cluster.nodePools: `kubesim plan` grows node pools")?;
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let name = p.get("name").and_then(Value::as_str);
            let count = p.get("count").and_then(Value::as_u64);
            let (Some(name), Some(count)) = (name, count) else {
                return Err(format!("cluster.nodePools[{i}]: no name or count"));
            };
            let zones = p
                .get("zones")
                .and_then(Value::as_sequence)
                .map(|z| {
                    z.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            Ok(PoolInfo {
                name: name.into(),
                zones,
                scenario_count: u32::try_from(count).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

impl Plan {
    /// Validates the request against the scenario (which must load as it is).
    pub fn new(req: &PlanRequest) -> Result<Plan, String> {
        let s = eval::load_variant(&req.text, &req.path, &req.overrides)?;
        let base: Value = serde_yaml::from_str(req.text.trim_start_matches('\u{feff}'))
            .map_err(|e| format!("{}: {e}", req.path.display()))?;
        let pools = yaml_pools(&base)?;
        let grow = grow_indices(&req.grow, &pools)?;
        let zones: Vec<String> = s
            .nodes
            .iter()
            .filter_map(|n| n.meta.labels.get(LABEL_ZONE).cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut cases = Vec::new();
        let texts = if req.cases.is_empty() {
            vec!["timeline".to_string()]
        } else {
            req.cases.clone()
        };
        for t in &texts {
            for c in parse_case(t, &zones, &pools)? {
                if !cases.contains(&c) {
                    cases.push(c);
                }
            }
        }
        if cases.iter().any(|c| c.kind == CaseKind::FailureModels) && s.failure_models.is_empty() {
            return Err(
                "--case failure-models: the scenario declares no failureModels \
                 (docs/failure-models.md)"
                    .into(),
            );
        }
        if req.seed.is_some() && !req.seeds.is_empty() {
            return Err("give --seed or --seeds, not both".into());
        }
        if cases.iter().any(|c| c.kind == CaseKind::Timeline) && eval::fault_starts(&s).is_empty() {
            return Err(
                "--case timeline: the scenario's timeline has no fault; give a --case \
                 such as each-zone-down:10m"
                    .into(),
            );
        }
        let goal_texts = if req.goals.is_empty() {
            vec![DEFAULT_GOAL.to_string()]
        } else {
            req.goals.clone()
        };
        let goals = goal_texts
            .iter()
            .map(|g| parse_goal(g))
            .collect::<Result<Vec<_>, _>>()?;
        check_goals(&goals, &s)?;
        let fail_at = duration(
            req.fail_at.as_deref().unwrap_or(DEFAULT_FAIL_AT),
            "--fail-at",
        )?;
        let longest = goals.iter().map(|g| g.within).max().unwrap_or_default();
        if fail_at + longest >= s.duration {
            return Err(format!(
                "--fail-at {fail_at} plus the longest within ({longest}) is not before the \
                 scenario's end ({}): no time would be judged",
                s.duration
            ));
        }
        if req.max_count == 0 {
            return Err("--max-count must be at least 1".into());
        }
        Ok(Plan {
            scenario_name: s.name.clone(),
            pools,
            grow,
            cases,
            goals,
            fail_at,
            max_count: req.max_count,
            seeds: req.seeds.clone(),
            warnings: s.warnings.clone(),
            base,
            path: req.path.clone(),
            overrides: req.overrides.clone(),
            seed: req.seed,
        })
    }

    /// The scenario text of a candidate under a case (what a `kubesim check` reproducer holds).
    pub fn variant(&self, counts: &[u32], case: &Case) -> Result<String, String> {
        eval::variant_text(&self.base, &self.pools, counts, case, self.fail_at)
    }

    /// The variant at the first seed to run (`--seeds`' first, `--seed`, or the file's), its
    /// failure models' faults drawn for it.
    fn load(&self, counts: &[u32], case: &Case) -> Result<Scenario, String> {
        let text = self.variant(counts, case)?;
        let mut s = eval::load_variant(&text, &self.path, &self.overrides)?;
        if let Some(seed) = self.seeds.first().copied().or(self.seed) {
            s.reseed(seed)?;
        }
        Ok(s)
    }

    /// Runs one candidate under one case, at every seed of `--seeds` (one after the other):
    /// it passes only if every seed passes, and reports the seed with the lowest goal metric.
    pub fn evaluate(&self, counts: &[u32], case: &Case) -> Outcome {
        let s = match self.load(counts, case) {
            Ok(s) => s,
            Err(e) => return Outcome::failed(e),
        };
        if self.seeds.len() <= 1 {
            return eval::evaluate(&s, &self.goals);
        }
        let outcomes: Vec<(u64, Outcome)> = self
            .seeds
            .iter()
            .map(|&seed| {
                let mut s = s.clone();
                let o = match s.reseed(seed) {
                    Ok(()) => eval::evaluate(&s, &self.goals),
                    Err(e) => Outcome::failed(e),
                };
                (seed, o)
            })
            .collect();
        eval::combine_seeds(outcomes)
    }

    /// The resource lower bound of grown pool `p` with the others at `counts` (the largest
    /// over the cases).
    fn lower_bound(&self, counts: &[u32], p: usize) -> u32 {
        let mut lb = 1;
        for c in &self.cases {
            if let Ok(s) = self.load(counts, c) {
                lb = lb.max(eval::lower_bound(&s, &self.pools, counts, p, &self.goals));
            }
        }
        lb
    }

    /// The counts of the scenario.
    pub fn scenario_counts(&self) -> Vec<u32> {
        self.pools.iter().map(|p| p.scenario_count).collect()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn grow_indices(grow: &[String], pools: &[PoolInfo]) -> Result<Vec<usize>, String> {
    if grow.is_empty() {
        return Ok((0..pools.len()).collect());
    }
    let mut out = Vec::new();
    for g in grow {
        let Some(i) = pools.iter().position(|p| p.name == *g) else {
            let hint = crate::model::suggest::closest(g, pools.iter().map(|p| p.name.as_str()))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(format!("--grow {g:?}: no such node pool{hint}"));
        };
        if !out.contains(&i) {
            out.push(i);
        }
    }
    Ok(out)
}

/// Every goal names a workload with replicas that the scenario declares.
fn check_goals(goals: &[Goal], s: &Scenario) -> Result<(), String> {
    let keys: Vec<String> = LevelTracker::new(&s.workloads)
        .finish()
        .into_iter()
        .map(|w| w.key)
        .collect();
    if keys.is_empty() {
        return Err(
            "the scenario has no Deployment, ReplicaSet or StatefulSet to keep available".into(),
        );
    }
    for g in goals {
        if !keys.iter().any(|k| eval::goal_matches(g, k)) {
            let hint = crate::model::suggest::closest(&g.workload, keys.iter().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(format!(
                "--goal {:?}: no Deployment, ReplicaSet or StatefulSet {:?} (workloads: {}){hint}",
                g.text,
                g.workload,
                keys.join(", ")
            ));
        }
    }
    Ok(())
}

/// Why a candidate was tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    Start,
    Double,
    Bisect,
    Verify,
    Scan,
}

impl Round {
    pub fn name(self) -> &'static str {
        match self {
            Round::Start => "start",
            Round::Double => "double",
            Round::Bisect => "bisect",
            Round::Verify => "verify",
            Round::Scan => "scan",
        }
    }
}

/// One candidate tried: its counts (every pool), why, and its outcome per case.
#[derive(Clone, Debug)]
pub struct Trial {
    pub counts: Vec<u32>,
    pub round: Round,
    pub outcomes: Vec<Outcome>,
    pub passed: bool,
}

/// The result of a plan.
#[derive(Clone, Debug)]
pub struct PlanReport {
    /// The fewest nodes per zone of every pool (grown pools searched, others as given), or
    /// `None` if no candidate up to `max_count` met the goals.
    pub answer: Option<Vec<u32>>,
    /// Per grown pool: the resource lower bound the bisection started from.
    pub lower_bounds: BTreeMap<String, u32>,
    /// The trials in the order they were run.
    pub trials: Vec<Trial>,
    /// Verification found no contradiction to monotonicity.
    pub monotone: bool,
    pub notes: Vec<String>,
    pub runs: usize,
    pub engine_events: u64,
}

mod search;

impl Plan {
    /// Searches (module header); `jobs` threads (0: one per core); `progress` is told the
    /// runs done so far and what the round tries.
    pub fn search(&self, jobs: usize, progress: &(dyn Fn(usize, &str) + Sync)) -> PlanReport {
        let mut r = search::Search::new(self, jobs, progress).run();
        // Each evaluation ran once per seed.
        r.runs *= self.seeds.len().max(1);
        r
    }
}

impl search::Oracle for Plan {
    fn grow(&self) -> &[usize] {
        &self.grow
    }
    fn pool_name(&self, p: usize) -> &str {
        &self.pools[p].name
    }
    fn cases(&self) -> usize {
        self.cases.len()
    }
    fn max_count(&self) -> u32 {
        self.max_count
    }
    fn start(&self) -> Vec<u32> {
        self.scenario_counts()
    }
    fn lower_bound(&self, counts: &[u32], p: usize) -> u32 {
        Plan::lower_bound(self, counts, p)
    }
    fn evaluate(&self, counts: &[u32], case: usize) -> Outcome {
        Plan::evaluate(self, counts, &self.cases[case])
    }
}
