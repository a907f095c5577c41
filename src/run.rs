//! One run of a scenario: build the cluster, drive the engine from checkpoint to checkpoint
//! (samples and timed expectations), and collect what the outputs need.
//!
//! Architecture invariant: a pure function of (scenario, seed, options); no I/O, no wall clock.
//! Observers (sampling, expectations, invariant checks, the progress hook) read state between
//! events and never feed back into the run, so the event log does not depend on the sampling
//! interval or on whether anyone watches progress.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use crate::cluster::{Cluster, Event};
use crate::observe::availability::{AvailabilityLog, AvailabilityTracker};
use crate::observe::components::{ComponentSampler, ComponentSeries};
use crate::observe::expect::ExpectationResult;
use crate::observe::invariants;
use crate::observe::timeseries::{Sampler, TimeSeries};
use crate::scenario::Scenario;
use crate::sim::trace::{digest_records, render_jsonl};
use crate::sim::{rng, Engine, Limits, Record, SimTime, StopReason};

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Shuffle same-time events by seed (exposes hidden order dependence).
    pub perturb_ties: bool,
    /// Check the safety invariants after every event.
    pub check_invariants: bool,
    /// Told how far the run has got (the cli draws a progress line with it).
    pub progress: Option<ProgressHook>,
}

/// A progress callback: `(simulated time reached, engine events processed so far)`. [`run`]
/// calls it at every checkpoint and every [`PROGRESS_EVERY_EVENTS`] engine events in between.
/// It sees nothing else of the run, so it cannot change the event log; the wall clock, if any,
/// is the caller's.
#[derive(Clone)]
pub struct ProgressHook(Arc<dyn Fn(SimTime, u64) + Send + Sync>);

impl ProgressHook {
    pub fn new(f: impl Fn(SimTime, u64) + Send + Sync + 'static) -> Self {
        ProgressHook(Arc::new(f))
    }

    fn report(&self, now: SimTime, events: u64) {
        (self.0)(now, events)
    }
}

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook(..)")
    }
}

/// Between checkpoints, the progress hook is also called once every this many engine events
/// (a checkpoint can be many wall seconds apart on a large cluster).
pub const PROGRESS_EVERY_EVENTS: u64 = 4096;

/// A fault window for plots and summaries.
#[derive(Clone, Debug)]
pub struct FaultWindow {
    pub start: SimTime,
    pub end: SimTime,
    pub label: String,
    /// The fault ends within the run (a recovery can be measured).
    pub ends: bool,
    /// The nodes it hits (empty for cluster-wide faults).
    pub nodes: Vec<String>,
}

pub struct RunOutput {
    pub seed: u64,
    /// `fnv1a64` of `events.jsonl` (see [`RunOutput::events_jsonl`]).
    pub digest: String,
    pub records: Vec<Record>,
    pub stop: StopReason,
    pub end: SimTime,
    pub engine_events: u64,
    pub timeseries: TimeSeries,
    /// The components' own metrics under upstream names, at the same sample times (metrics.om).
    pub components: ComponentSeries,
    pub expectations: Vec<ExpectationResult>,
    pub invariant_violations: Vec<String>,
    pub faults: Vec<FaultWindow>,
    /// Desired and available replicas per workload and Pending pods, after every event.
    pub availability: AvailabilityLog,
    pub final_nodes: usize,
    pub final_pods: usize,
    /// Per kube-controller-manager client (user agent) that sent a request: its token-bucket
    /// statistics at the end (docs/client-rate-limits.md).
    pub client_waits: Vec<(
        &'static str,
        &'static str,
        crate::client::tokenbucket::ClientStats,
    )>,
    /// The synthetic traffic's counts (`traffic:`; docs/traffic.md).
    pub traffic: Option<crate::proxy::traffic::Report>,
    /// Requests the API server answered 429 (inflight limits), per (component, request kind).
    pub rejections: Vec<(&'static str, &'static str, u64)>,
}

impl RunOutput {
    /// `events.jsonl`, rendered from the records (a run does not keep the bytes; the CLI
    /// streams them to the file).
    pub fn events_jsonl(&self) -> Vec<u8> {
        render_jsonl(&self.records)
    }

    pub fn expectations_passed(&self) -> bool {
        self.expectations.iter().all(|e| e.passed)
    }
}

const MAX_REPORTED_VIOLATIONS: usize = 100;

/// The cluster as it stands at `until` (at most the scenario's duration), for `kubesim explain
/// SCENARIO --at T`: the same build and event loop as [`run`], stopped early, nothing sampled.
pub fn state_at(s: &Scenario, until: SimTime) -> Cluster {
    let mut engine: Engine<Event> = Engine::new(
        Limits {
            end: until,
            max_events: s.max_events,
        },
        None,
    );
    let mut cluster = Cluster::build(s, &mut engine);
    engine.run_until(until, |ctx, ev| cluster.handle(ctx, ev));
    cluster.kubelets.settle();
    cluster
}

/// Where the run stops to observe: every sample time and every timed state expectation.
fn checkpoints(s: &Scenario, end: SimTime) -> BTreeSet<SimTime> {
    let mut checkpoints: BTreeSet<SimTime> = BTreeSet::new();
    let mut t = SimTime::ZERO;
    while t <= end {
        checkpoints.insert(t);
        t += s.sample_interval;
    }
    checkpoints.insert(end);
    for e in &s.expectations {
        if let (Some(at), true) = (e.at, e.needs_state()) {
            checkpoints.insert(at);
        }
    }
    checkpoints
}

pub fn run(s: &Scenario, opts: &RunOptions) -> RunOutput {
    run_keeping_cluster(s, opts).0
}

/// [`run`], handing back the cluster as it stands at the end instead of dropping it: a caller
/// about to exit (the CLI) can skip the drop, a few percent of a large run.
pub fn run_keeping_cluster(s: &Scenario, opts: &RunOptions) -> (RunOutput, Cluster) {
    let seed = opts.seed.unwrap_or(s.seed);
    let end = SimTime::ZERO + s.duration;
    let perturb = opts
        .perturb_ties
        .then(|| rng::stream(seed, "engine/perturb-ties"));
    let mut engine: Engine<Event> = Engine::new(
        Limits {
            end,
            max_events: s.max_events,
        },
        perturb,
    );
    let mut scenario = s.clone();
    if seed != s.seed {
        // The failure models' faults for this seed. More than a model's `maxFaults` is
        // reported by `Scenario::with_seed`, which the CLI calls first; a library caller
        // that skips it runs each model's first `maxFaults` faults.
        let _ = scenario.reseed(seed);
    }
    scenario.seed = seed;
    let s = &scenario;
    let mut cluster = Cluster::build(s, &mut engine);
    let mut sampler = Sampler::new(&cluster, &s.node_pools);
    let mut components = ComponentSampler::new(&s.kubernetes_version);
    let mut tracker = AvailabilityTracker::new(&s.workloads);

    let mut results: Vec<(usize, ExpectationResult)> = Vec::new();
    let mut violations = Vec::new();
    let mut stop = None;
    for cp in checkpoints(s, end) {
        let r = engine.run_until(cp, |ctx, ev| {
            cluster.handle(ctx, ev);
            tracker.observe(&cluster, ctx.now());
            if opts.check_invariants && violations.len() < MAX_REPORTED_VIOLATIONS {
                cluster.kubelets.settle();
                for v in invariants::check(&cluster) {
                    violations.push(format!("t={}: {v}", ctx.now()));
                }
            }
            if let Some(p) = &opts.progress {
                if ctx.processed() % PROGRESS_EVERY_EVENTS == 0 {
                    p.report(ctx.now(), ctx.processed());
                }
            }
        });
        let now = engine.now();
        // The kubelets' kept totals, before anything observes them.
        cluster.kubelets.settle();
        if let Some(p) = &opts.progress {
            p.report(now, engine.processed());
        }
        if r.is_some_and(|r| !r.completed()) {
            stop = r;
            break;
        }
        let stopped_early = r == Some(StopReason::StopWhen);
        if (now.as_nanos() % s.sample_interval.as_nanos() == 0) || now == end || stopped_early {
            sampler.sample(&cluster, engine.trace.records(), now);
            components.sample(&cluster, engine.trace.records(), now);
        }
        for (i, e) in s.expectations.iter().enumerate() {
            if e.at == Some(now) && e.needs_state() {
                results.push((i, e.evaluate(&cluster, engine.trace.records(), now)));
            }
        }
        if r.is_some() {
            stop = r;
            break;
        }
    }
    let stop = stop.unwrap_or(StopReason::DurationReached);
    let now = engine.now();
    let engine_events = engine.processed();
    // The records leave the trace uncopied, and the engine's queue goes before the log is
    // rendered: at this point the run's memory peaks (the log is held twice, as records and
    // as bytes).
    let records = std::mem::take(&mut engine.trace).into_records();
    drop(engine);
    for (i, e) in s.expectations.iter().enumerate() {
        let done = results.iter().any(|(j, _)| *j == i);
        if done {
            continue;
        }
        let mut res = e.evaluate(&cluster, &records, now);
        if !stop.completed() && (e.at.is_none() || e.at > Some(now)) {
            res.passed = false;
            res.observed = format!("run stopped early ({})", stop.as_str());
        }
        results.push((i, res));
    }
    results.sort_by_key(|(i, _)| *i);

    // The log is digested (and later written) record by record, never held as bytes.
    let digest = digest_records(&records);
    let faults = s
        .timeline
        .iter()
        .filter(|f| !f.kind.is_action())
        .map(|f| {
            let start = SimTime::ZERO + f.at;
            let end_t = match f.kind {
                crate::scenario::TimelineKind::Fault(
                    crate::scenario::FaultKind::ControllerManagerRestart,
                ) => start,
                _ => f.duration.map(|d| (start + d).min(end)).unwrap_or(end),
            };
            FaultWindow {
                start,
                end: end_t,
                label: f.label.clone(),
                ends: f.duration.is_some_and(|d| start + d <= end),
                nodes: f
                    .kind
                    .machines()
                    .iter()
                    .map(|m| s.nodes[*m as usize].meta.name.clone())
                    .collect(),
            }
        })
        .collect();
    let traffic = cluster.traffic_report(now);
    let out = RunOutput {
        traffic,
        seed,
        digest,
        records,
        stop,
        end: now,
        engine_events,
        timeseries: sampler.finish(),
        components: components.finish(),
        expectations: results.into_iter().map(|(_, r)| r).collect(),
        invariant_violations: violations,
        faults,
        availability: tracker.finish(),
        final_nodes: cluster.api.nodes().len(),
        final_pods: cluster.api.pods().len(),
        client_waits: cluster.client_stats(),
        rejections: crate::observe::timeseries::rejections_by_kind(&cluster)
            .into_iter()
            .map(|((c, k), n)| (c, k, n))
            .collect(),
    };
    (out, cluster)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Watching a run changes nothing in it: same digest, and the hook sees time and events
    /// only grow, ending where the run ends.
    #[test]
    fn the_progress_hook_sees_the_run_without_changing_it() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quick-start.yaml");
        let s = crate::scenario::load(&path, &[]).expect("bundled scenario loads");
        let plain = run(&s, &RunOptions::default());
        let seen: Arc<Mutex<Vec<(SimTime, u64)>>> = Arc::default();
        let log = Arc::clone(&seen);
        let watched = run(
            &s,
            &RunOptions {
                progress: Some(ProgressHook::new(move |t, n| {
                    log.lock().expect("not poisoned").push((t, n))
                })),
                ..Default::default()
            },
        );
        assert_eq!(plain.digest, watched.digest);
        let seen = seen.lock().expect("not poisoned");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&(watched.end, watched.engine_events)));
        let between = seen
            .iter()
            .filter(|(_, n)| n % PROGRESS_EVERY_EVENTS == 0)
            .count();
        assert!(between > 0 || watched.engine_events < PROGRESS_EVERY_EVENTS);
    }
}
