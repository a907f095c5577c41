//! Objects over time: the `arrivals:` generators (Pods or Jobs created by the operator from
//! weighted shapes, by a Poisson process, at a fixed interval or at the times of a trace), the
//! timeline's `apply`, `addNodes` and `deleteNodes` actions, and `stopWhen: arrivalsFinished`.
//!
//! Invariant: each generator has at most one pending `Event::Arrival` (the next one is drawn
//! when the current one fires), and every draw comes from the generator's own named stream
//! `arrivals/<name>`, so a generator never shifts another component's draws.

use std::collections::BTreeSet;

use rand_chacha::ChaCha8Rng;

use super::{ActionKind, Cluster, Event, Workload};
use crate::api::{Change, Watcher};
use crate::model::*;
use crate::network::Caller;
use crate::sim::{rng, Engine, Record, SimDuration, SimTime};

/// When a generator creates its objects.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalProcess {
    /// Exponential inter-arrival times with `rate` arrivals per second.
    Poisson { rate: f64 },
    /// One arrival every `interval`.
    Interval(SimDuration),
    /// Arrivals at these offsets from `start`, each with its shape (an index into `shapes`).
    Trace(Vec<(SimDuration, usize)>),
}

/// One shape: an object template and its weight in the mix.
#[derive(Clone, Debug)]
pub struct Shape {
    pub name: String,
    pub weight: u64,
    /// A Pod or a Job; each arrival is a copy named `<generator>-<n>`.
    pub template: Workload,
}

/// A resolved `arrivals:` entry.
#[derive(Clone, Debug)]
pub struct ArrivalSpec {
    pub name: String,
    pub process: ArrivalProcess,
    /// How many objects it creates (a trace: its rows).
    pub count: u64,
    pub start: SimDuration,
    pub shapes: Vec<Shape>,
}

/// `stopWhen:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopWhen {
    /// Every generator has created all its objects and each of them has finished (a Pod
    /// Succeeded, Failed or deleted; a Job Complete, Failed or deleted).
    ArrivalsFinished,
}

/// The label every arrival carries: its generator's name.
pub const ARRIVALS_LABEL: &str = "kubesim.io/arrivals";
/// The label naming an arrival's shape.
pub const SHAPE_LABEL: &str = "kubesim.io/shape";

/// The generators' progress during a run.
pub(super) struct Arrivals {
    specs: Vec<ArrivalSpec>,
    rngs: Vec<ChaCha8Rng>,
    made: Vec<u64>,
    /// `Pod/ns/name` or `Job/ns/name` of every arrival not finished yet.
    unfinished: BTreeSet<String>,
    stop_when: Option<StopWhen>,
    stopped: bool,
}

impl Arrivals {
    pub(super) fn new(specs: &[ArrivalSpec], stop_when: Option<StopWhen>, seed: u64) -> Self {
        Arrivals {
            rngs: specs
                .iter()
                .map(|s| rng::stream(seed, &format!("arrivals/{}", s.name)))
                .collect(),
            made: vec![0; specs.len()],
            specs: specs.to_vec(),
            unfinished: BTreeSet::new(),
            stop_when,
            stopped: false,
        }
    }

    /// The time of generator `g`'s next arrival after `now` (its first: after its start).
    fn next_time(&mut self, g: usize, now: SimTime) -> Option<SimTime> {
        let s = &self.specs[g];
        let n = self.made[g];
        if n >= s.count {
            return None;
        }
        let start = SimTime::ZERO + s.start;
        Some(match &s.process {
            ArrivalProcess::Poisson { rate } => {
                let u = 1.0 - rng::unit_f64(&mut self.rngs[g]);
                let secs = -libm::log(u) / rate;
                let from = if n == 0 { start } else { now };
                from + SimDuration::from_nanos((secs * 1e9).round().min(1e18) as u64)
            }
            ArrivalProcess::Interval(d) => start + SimDuration::from_nanos(d.as_nanos() * n),
            ArrivalProcess::Trace(rows) => start + rows[n as usize].0,
        })
    }

    /// The shape of generator `g`'s arrival number `n`.
    fn shape(&mut self, g: usize, n: u64) -> usize {
        let s = &self.specs[g];
        if let ArrivalProcess::Trace(rows) = &s.process {
            return rows[n as usize].1;
        }
        if s.shapes.len() == 1 {
            return 0;
        }
        let total: u64 = s.shapes.iter().map(|x| x.weight).sum();
        let mut pick = rng::below(&mut self.rngs[g], total);
        for (i, x) in s.shapes.iter().enumerate() {
            if pick < x.weight {
                return i;
            }
            pick -= x.weight;
        }
        s.shapes.len() - 1
    }

    fn all_made(&self) -> bool {
        self.specs
            .iter()
            .zip(&self.made)
            .all(|(s, n)| *n >= s.count)
    }
}

impl Cluster {
    /// Schedules each generator's first arrival (at build).
    pub(super) fn start_arrivals(&mut self, ctx: &mut Engine<Event>) {
        let Some(a) = self.arrivals.as_mut() else {
            return;
        };
        for g in 0..a.specs.len() {
            if let Some(t) = a.next_time(g, SimTime::ZERO) {
                ctx.schedule_at(t, Event::Arrival { generator: g });
            }
        }
    }

    /// Generator `g`'s arrival: the operator creates the object, and the next one is drawn.
    pub(super) fn on_arrival(&mut self, ctx: &mut Engine<Event>, g: usize) {
        let Some(a) = self.arrivals.as_mut() else {
            return;
        };
        let n = a.made[g];
        let shape = a.shape(g, n);
        a.made[g] += 1;
        let spec = &a.specs[g];
        let name = format!("{}-{n}", spec.name);
        let s = &spec.shapes[shape];
        let mut w = s.template.clone();
        let labels = [
            (ARRIVALS_LABEL.to_string(), spec.name.clone()),
            (SHAPE_LABEL.to_string(), s.name.clone()),
        ];
        let key = match &mut w {
            Workload::Pod(p) => {
                p.meta.name = name;
                p.meta.labels.extend(labels);
                format!("Pod/{}", p.key())
            }
            Workload::Job(j) => {
                j.meta.name = name;
                j.meta.labels.extend(labels);
                format!("Job/{}", j.key())
            }
            _ => String::new(),
        };
        a.unfinished.insert(key.clone());
        if let Some(t) = a.next_time(g, ctx.now()) {
            ctx.schedule_at(t, Event::Arrival { generator: g });
        }
        let (_, _, res) = self.create_workload(w);
        if let Err(e) = res {
            if let Some(a) = self.arrivals.as_mut() {
                a.unfinished.remove(&key);
            }
            ctx.record(Record {
                t: ctx.now(),
                reason: "FailedCreate",
                source: "kubectl",
                object: key,
                message: e.to_string(),
                fields: vec![],
            });
        }
        self.check_stop(ctx);
    }

    /// Arrivals that finished, seen in the API server's notifications (before delivery).
    pub(super) fn note_arrival_changes(&mut self, ctx: &mut Engine<Event>) {
        let Some(a) = self.arrivals.as_mut() else {
            return;
        };
        if a.stop_when.is_none() || a.stopped {
            return;
        }
        for (w, change) in &self.api.outbox {
            if *w != Watcher::ControllerManager {
                continue;
            }
            let done = match change {
                Change::Pod(p)
                    if matches!(p.status.phase, PodPhase::Succeeded | PodPhase::Failed) =>
                {
                    format!("Pod/{}", p.key())
                }
                Change::PodDeleted(p) => format!("Pod/{}", p.key()),
                Change::Job(j) if j.is_finished() => format!("Job/{}", j.key()),
                Change::JobDeleted(j) => format!("Job/{}", j.key()),
                _ => continue,
            };
            a.unfinished.remove(&done);
        }
        self.check_stop(ctx);
    }

    fn check_stop(&mut self, ctx: &mut Engine<Event>) {
        let Some(a) = self.arrivals.as_mut() else {
            return;
        };
        if a.stop_when == Some(StopWhen::ArrivalsFinished)
            && !a.stopped
            && a.all_made()
            && a.unfinished.is_empty()
        {
            a.stopped = true;
            let made: u64 = a.made.iter().sum();
            ctx.record(Record {
                t: ctx.now(),
                reason: "StopWhen",
                source: "kubesim",
                object: "Scenario".into(),
                message: format!("all {made} arrivals finished (stopWhen: arrivalsFinished)"),
                fields: vec![],
            });
            ctx.request_stop();
        }
    }

    /// `apply`, `addNodes` and `deleteNodes`: the operator's request(s), one record.
    pub(super) fn lifecycle_action(&mut self, ctx: &mut Engine<Event>, kind: &ActionKind) {
        let (object, message) = match kind {
            ActionKind::Apply { index } => {
                let ws = self.applies.get(*index).cloned().unwrap_or_default();
                let mut created = Vec::new();
                for w in ws {
                    let (k, key, res) = self.create_workload(w);
                    match res {
                        Ok(()) => created.push(format!("{}/{key}", k.to_lowercase())),
                        Err(e) => ctx.record(Record {
                            t: ctx.now(),
                            reason: "FailedCreate",
                            source: "kubectl",
                            object: format!("{k}/{key}"),
                            message: e.to_string(),
                            fields: vec![],
                        }),
                    }
                }
                (
                    "Apply".to_string(),
                    format!("kubectl apply: {} created", created.join(", ")),
                )
            }
            ActionKind::AddNodes { machines } => {
                let mut names = Vec::new();
                for &m in machines {
                    let i = m as usize;
                    self.down[i] = self.down[i].saturating_sub(1);
                    names.push(self.kubelets[i].node_name.clone());
                    if self.down[i] == 0 && self.stopped[i] == 0 && !self.kubelets[i].running {
                        ctx.schedule_at(ctx.now(), Event::KubeletStart { machine: m });
                    }
                }
                (
                    "Node".to_string(),
                    format!("{} machines boot: {}", names.len(), names.join(", ")),
                )
            }
            ActionKind::DeleteNodes { nodes } => {
                let mut gone = Vec::new();
                for n in nodes {
                    match self.api.delete_node(Caller::Operator, n) {
                        Ok(()) => gone.push(n.clone()),
                        Err(e) => ctx.record(Record {
                            t: ctx.now(),
                            reason: "ActionFailed",
                            source: "kubectl",
                            object: format!("Node/{n}"),
                            message: format!("kubectl delete node {n}: {e}"),
                            fields: vec![("action", kind.name().to_string())],
                        }),
                    }
                }
                (
                    "Node".to_string(),
                    format!("kubectl delete node {}", gone.join(" ")),
                )
            }
            _ => return,
        };
        ctx.record(Record {
            t: ctx.now(),
            reason: "ActionApplied",
            source: "kubectl",
            object,
            message,
            fields: vec![("action", kind.name().to_string())],
        });
    }
}
