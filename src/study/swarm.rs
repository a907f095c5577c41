//! The swarm (`kubesim swarm`; TigerBeetle's VOPR, adapted): random valid scenarios from seeds
//! (src/study/generate.rs), each run with the safety invariants checked after every event, then
//! a liveness phase, a rerun and a lazy-vs-eager heartbeat run whose event-log digests must all
//! be identical. A failing seed is shrunk (faults, then workloads, dropped one at a time while
//! it still fails the same way) into a reproducer scenario text.
//!
//! **The liveness bound.** The liveness phase starts when the last healing fault has ended
//! (`at + duration`, or `at` for an instantaneous one) and the scenario ends `bound` later,
//! when `observe::liveness::check` must pass. `bound` is the sum of what recovery may have to
//! wait for, each from the scenario's flags:
//! - leader election: `leader-elect-lease-duration + renew-deadline + 3 × retry-period` (the
//!   larger of kube-controller-manager's and kube-scheduler's): a new leader after an API-server
//!   outage or a controller-manager restart;
//! - node health: `node-monitor-grace-period + 2 × node-monitor-period +
//!   nodeStatusUpdateFrequency + nodeLeaseDurationSeconds / 4 × 1.04 + 7 s` (the lease
//!   retry backoff cap): the kubelet's first status and lease after the heal, seen by a pass;
//! - backoffs: 360 s, the largest of the CrashLoopBackOff and ImagePullBackOff caps (300 s) and
//!   the Job controller's pod-failure backoff cap (6 min), plus the scheduler's
//!   `podMaxBackoffSeconds`;
//! - pods: the largest `containerStartDelay` + `containerStopDelay` + 30 s (the default
//!   termination grace) + 80 s (pod GC's orphan quarantine of 40 s plus its 40 s period), and
//!   pulls: `defaultImageSize` at `nodeBandwidth` (≤ 2 s here) is inside the slack;
//! - 60 s of slack.
//!
//! Invariant: a pure function of the seed: no I/O, no wall clock. Seeds may be checked on
//! several threads (`rayon`, across runs only; a run itself stays on one thread) and the report
//! is ordered by seed, so it is identical for any number of threads.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use rayon::prelude::*;

use super::generate::{generate, Generated};
use crate::cluster::{Cluster, Event};
use crate::observe::liveness;
use crate::run::{self, RunOptions};
use crate::scenario::{self, FaultKind, Scenario, TimelineKind};
use crate::sim::{trace::digest_records, Engine, Limits, SimDuration, SimTime};

/// What went wrong with a seed; the first failure's kind decides what the shrinker preserves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureKind {
    /// The generated text did not load (a generator or validation bug).
    Invalid,
    /// A run panicked.
    Panic,
    /// The run stopped early (event limit).
    Stopped,
    /// A safety invariant broke.
    Safety,
    /// The cluster had not recovered at the end of the liveness phase.
    Liveness,
    /// Two runs of the same scenario gave different event logs.
    Digest,
    /// Lazy and eager heartbeats gave different event logs.
    LazyDigest,
}

impl FailureKind {
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Invalid => "invalid",
            FailureKind::Panic => "panic",
            FailureKind::Stopped => "stopped",
            FailureKind::Safety => "safety",
            FailureKind::Liveness => "liveness",
            FailureKind::Digest => "digest",
            FailureKind::LazyDigest => "lazy-digest",
        }
    }
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Invalid,
        FailureKind::Panic,
        FailureKind::Stopped,
        FailureKind::Safety,
        FailureKind::Liveness,
        FailureKind::Digest,
        FailureKind::LazyDigest,
    ];
}

/// The verdict on one scenario.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    pub failures: Vec<(FailureKind, String)>,
    pub runs: u32,
    pub engine_events: u64,
    pub simulated: SimDuration,
    pub digest: String,
}

impl Verdict {
    pub fn kind(&self) -> Option<FailureKind> {
        self.failures.iter().map(|(k, _)| *k).min()
    }
    fn fail(&mut self, kind: FailureKind, msg: String) {
        self.failures.push((kind, msg));
    }
}

/// The result of one seed: its verdict and the scenario text (shrunk if it failed).
#[derive(Clone, Debug)]
pub struct SeedResult {
    pub seed: u64,
    pub verdict: Verdict,
    pub scenario: String,
    /// Faults and workloads in the (shrunk) reproducer.
    pub faults: usize,
    pub workloads: usize,
}

/// The recovery bound of `s` (see the module header).
pub fn liveness_bound(s: &Scenario) -> SimDuration {
    let le = |c: &crate::client::leader::LeaderElectionConfig| {
        c.lease_duration + c.renew_deadline + c.retry_period.mul_f64(3.0)
    };
    let leader = le(&s.kcm.leader_election).max(le(&s.scheduler.leader_election));
    let nlc = &s.kcm.node_lifecycle;
    let lease_renew = SimDuration::from_millis(s.kubelet.node_lease_duration_seconds * 260);
    let node = nlc.node_monitor_grace_period
        + nlc.node_monitor_period.mul_f64(2.0)
        + s.kubelet.node_status_update_frequency
        + lease_renew
        + SimDuration::from_secs(7);
    let backoff = SimDuration::from_secs(360) + s.scheduler.pod_max_backoff;
    let pods =
        s.runtime.start_delay_max + s.runtime.stop_delay + SimDuration::from_secs(30 + 80 + 60);
    leader + node + backoff + pods
}

/// When the last healing fault ends (the liveness phase starts), and the machines that never
/// come back.
pub fn last_heal(s: &Scenario) -> (SimDuration, BTreeSet<String>) {
    let mut last = SimDuration::ZERO;
    let mut dead = BTreeSet::new();
    for f in &s.timeline {
        let permanent = match f.kind {
            TimelineKind::Fault(FaultKind::VmDeleted { .. }) => true,
            TimelineKind::Fault(FaultKind::NodeCrash { .. }) => f.duration.is_none(),
            _ => false,
        };
        if permanent {
            for m in f.kind.machines() {
                dead.insert(s.nodes[*m as usize].meta.name.clone());
            }
            last = last.max(f.at);
            continue;
        }
        last = last.max(f.at + f.duration.unwrap_or(SimDuration::ZERO));
    }
    (last, dead)
}

/// The generated scenario of `g` with its duration set to last heal + bound.
pub fn finalize(g: &Generated) -> Result<String, String> {
    let probe = g.render(360_000);
    let s = load(&probe, g.seed)?;
    let (heal, _) = last_heal(&s);
    let end = heal + liveness_bound(&s);
    Ok(g.render(end.as_nanos().div_ceil(1_000_000_000)))
}

fn load(text: &str, seed: u64) -> Result<Scenario, String> {
    let path = format!("swarm-{seed}.yaml");
    scenario::load_str(text, Path::new(&path), &[]).map_err(|e| e.to_string())
}

/// Runs `s` to its end; the liveness violations at the end and the digest.
fn liveness_run(s: &Scenario, dead: &BTreeSet<String>) -> (Vec<String>, String, u64, bool) {
    let end = SimTime::ZERO + s.duration;
    let mut engine: Engine<Event> = Engine::new(
        Limits {
            end,
            max_events: s.max_events,
        },
        None,
    );
    let mut cluster = Cluster::build(s, &mut engine);
    let stop = engine.run_until(end, |ctx, ev| cluster.handle(ctx, ev));
    let completed = stop.is_none_or(|r| r.completed());
    let digest = digest_records(engine.trace.records());
    (
        liveness::check(&cluster, dead),
        digest,
        engine.processed(),
        completed,
    )
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Every check on one scenario text (the one a reproducer file holds).
pub fn check_text(text: &str, seed: u64) -> Verdict {
    let mut v = Verdict::default();
    let s = match load(text, seed) {
        Ok(s) => s,
        Err(e) => {
            v.fail(FailureKind::Invalid, e);
            return v;
        }
    };
    let (_, dead) = last_heal(&s);
    v.simulated = s.duration;
    // 1. The liveness run (safety invariants are in run 2).
    let a = catch_unwind(AssertUnwindSafe(|| liveness_run(&s, &dead)));
    v.runs += 1;
    let digest_a = match a {
        Err(e) => {
            v.fail(FailureKind::Panic, panic_text(&*e));
            return v;
        }
        Ok((violations, digest, events, completed)) => {
            v.engine_events += events;
            if !completed {
                v.fail(FailureKind::Stopped, "the event limit was reached".into());
            }
            for x in violations.into_iter().take(20) {
                v.fail(FailureKind::Liveness, format!("at {}: {x}", s.duration));
            }
            digest
        }
    };
    // 2. The same scenario with the invariant checkers on: same digest, no violation.
    let opts = RunOptions {
        check_invariants: true,
        ..Default::default()
    };
    let b = catch_unwind(AssertUnwindSafe(|| run::run(&s, &opts)));
    v.runs += 1;
    let digest_b = match b {
        Err(e) => {
            v.fail(FailureKind::Panic, panic_text(&*e));
            return v;
        }
        Ok(out) => {
            v.engine_events += out.engine_events;
            for x in out.invariant_violations.iter().take(20) {
                v.fail(FailureKind::Safety, x.clone());
            }
            out.digest
        }
    };
    if digest_a != digest_b {
        v.fail(
            FailureKind::Digest,
            format!("two runs gave digests {digest_a} and {digest_b}"),
        );
    }
    // 3. Heartbeats the other way (lazy ↔ eager): the same event log.
    let mut flipped = s.clone();
    flipped.kubelet.lazy_heartbeats = !s.kubelet.lazy_heartbeats;
    let c = catch_unwind(AssertUnwindSafe(|| {
        run::run(&flipped, &RunOptions::default())
    }));
    v.runs += 1;
    match c {
        Err(e) => v.fail(FailureKind::Panic, panic_text(&*e)),
        Ok(out) => {
            v.engine_events += out.engine_events;
            if out.digest != digest_b {
                v.fail(
                    FailureKind::LazyDigest,
                    format!(
                        "lazy heartbeats {}: digest {digest_b}, the other way {}",
                        s.kubelet.lazy_heartbeats, out.digest
                    ),
                );
            }
        }
    }
    v.digest = digest_b;
    v
}

fn check_generated(g: &Generated) -> (Verdict, String) {
    match finalize(g) {
        Ok(text) => (check_text(&text, g.seed), text),
        Err(e) => {
            let mut v = Verdict::default();
            v.fail(FailureKind::Invalid, e);
            (v, g.render(360_000))
        }
    }
}

/// Drops faults, then workloads, one at a time while the scenario still fails the same way.
fn shrink(g: &Generated, kind: FailureKind, verdict: Verdict, text: String) -> SeedResult {
    let mut cur = (g.clone(), verdict, text);
    let still = |c: &Generated| {
        let (v, t) = check_generated(c);
        (v.kind() == Some(kind)).then_some((v, t))
    };
    let mut i = cur.0.faults.len();
    while i > 0 {
        i -= 1;
        let mut t = cur.0.clone();
        t.faults.remove(i);
        if let Some((v, text)) = still(&t) {
            cur = (t, v, text);
        }
    }
    let mut i = cur.0.workloads.len();
    while i > 0 {
        i -= 1;
        let mut t = cur.0.clone();
        t.workloads.remove(i);
        if let Some((v, text)) = still(&t) {
            cur = (t, v, text);
        }
    }
    SeedResult {
        seed: g.seed,
        faults: cur.0.faults.len(),
        workloads: cur.0.workloads.len(),
        verdict: cur.1,
        scenario: cur.2,
    }
}

/// Generates and checks one seed; a failure is shrunk (`shrink`) into its reproducer.
pub fn check_seed(seed: u64, shrink_failures: bool) -> SeedResult {
    let g = generate(seed);
    let (verdict, text) = check_generated(&g);
    match verdict.kind() {
        Some(kind) if shrink_failures && kind != FailureKind::Invalid => {
            shrink(&g, kind, verdict, text)
        }
        _ => SeedResult {
            seed,
            faults: g.faults.len(),
            workloads: g.workloads.len(),
            verdict,
            scenario: text,
        },
    }
}

/// Checks every seed, `jobs` at a time (0: rayon's default); results in seed order.
pub fn swarm(seeds: &[u64], jobs: usize, shrink_failures: bool) -> Vec<SeedResult> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build();
    let work = || {
        seeds
            .par_iter()
            .map(|s| check_seed(*s, shrink_failures))
            .collect()
    };
    match pool {
        Ok(p) => p.install(work),
        Err(_) => seeds
            .iter()
            .map(|s| check_seed(*s, shrink_failures))
            .collect(),
    }
}
