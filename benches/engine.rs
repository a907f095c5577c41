//! Event-queue throughput: `kubesim::sim::EventQueue` next to a bare
//! `BinaryHeap<Reverse<(time, seq)>>`, on the same deterministic workloads.
//!
//! - `fill_drain`: push 100,000 events at pseudo-random times, then pop them all.
//! - `hold`: the classic hold model — a queue of 10,000 pending events; 100,000 times, pop the
//!   earliest and push one a pseudo-random increment later (the steady state of a simulator).
//!
//! Throughput is in events (push+pop pairs). Times come from a tiny inline LCG with a constant
//! seed and are generated before timing starts, so only queue work is measured.
//!
//! `cargo bench --bench engine`

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use kubesim::sim::{rng, EventQueue, SimTime};

const FILL_EVENTS: usize = 100_000;
const HOLD_SIZE: usize = 10_000;
const HOLD_OPS: usize = 100_000;
/// Event times spread over one simulated hour, in ns.
const TIME_SPAN_NS: u64 = 3_600_000_000_000;
/// Hold increments are uniform in [0, 10 s), in ns.
const HOLD_INCREMENT_NS: u64 = 10_000_000_000;

/// Knuth's MMIX LCG; the high bits are good enough for benchmark inputs.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_times(n: usize, span: u64, seed: u64) -> Vec<u64> {
    let mut g = Lcg(seed);
    (0..n).map(|_| g.below(span)).collect()
}

/// The queue as the simulator builds it: with or without the seeded tie perturbation.
fn new_queue(perturb: bool) -> EventQueue<u64> {
    EventQueue::new(perturb.then(|| rng::stream(42, "bench-ties")))
}

/// Small samples: the machine is shared and noisy; throughput in events.
fn configure(g: &mut BenchmarkGroup<'_, WallTime>, events: usize) {
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(events as u64));
}

fn fill_drain(c: &mut Criterion) {
    let times = random_times(FILL_EVENTS, TIME_SPAN_NS, 0x5eed);
    let mut g = c.benchmark_group("queue/fill_drain");
    configure(&mut g, FILL_EVENTS);

    g.bench_function(BenchmarkId::new("BinaryHeap", FILL_EVENTS), |b| {
        b.iter(|| {
            let mut h = BinaryHeap::new();
            for (seq, &t) in times.iter().enumerate() {
                h.push(Reverse((t, seq as u64)));
            }
            let mut acc = 0u64;
            while let Some(Reverse((t, seq))) = h.pop() {
                acc = acc.wrapping_add(t ^ seq);
            }
            black_box(acc)
        })
    });

    for (name, perturb) in [("EventQueue", false), ("EventQueue+perturb", true)] {
        g.bench_function(BenchmarkId::new(name, FILL_EVENTS), |b| {
            b.iter(|| {
                let mut q = new_queue(perturb);
                for (seq, &t) in times.iter().enumerate() {
                    q.push(SimTime(t), seq as u64);
                }
                let mut acc = 0u64;
                while let Some((t, seq)) = q.pop() {
                    acc = acc.wrapping_add(t.0 ^ seq);
                }
                black_box(acc)
            })
        });
    }
    g.finish();
}

fn hold(c: &mut Criterion) {
    let initial = random_times(HOLD_SIZE, HOLD_INCREMENT_NS, 0x40_1d);
    let increments = random_times(HOLD_OPS, HOLD_INCREMENT_NS, 0x1c4e);
    let mut g = c.benchmark_group("queue/hold");
    configure(&mut g, HOLD_OPS);

    g.bench_function(BenchmarkId::new("BinaryHeap", HOLD_SIZE), |b| {
        b.iter_batched(
            || {
                let mut h = BinaryHeap::new();
                for (seq, &t) in initial.iter().enumerate() {
                    h.push(Reverse((t, seq as u64)));
                }
                h
            },
            |mut h| {
                for (seq, &dt) in (HOLD_SIZE as u64..).zip(&increments) {
                    let Reverse((t, _)) = h.pop().expect("hold queue never empties");
                    h.push(Reverse((t + dt, seq)));
                }
                h
            },
            BatchSize::LargeInput,
        )
    });

    for (name, perturb) in [("EventQueue", false), ("EventQueue+perturb", true)] {
        g.bench_function(BenchmarkId::new(name, HOLD_SIZE), |b| {
            b.iter_batched(
                || {
                    let mut q = new_queue(perturb);
                    for (seq, &t) in initial.iter().enumerate() {
                        q.push(SimTime(t), seq as u64);
                    }
                    q
                },
                |mut q| {
                    for (seq, &dt) in (HOLD_SIZE as u64..).zip(&increments) {
                        let (t, _) = q.pop().expect("hold queue never empties");
                        q.push(SimTime(t.0 + dt), seq);
                    }
                    q
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, fill_drain, hold);
criterion_main!(benches);
