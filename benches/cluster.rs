//! Whole-cluster runs: the quick-start scenario scaled up (benches/scenarios/), reported as
//! engine events per second.
//!
//! The number of engine events is only known after a run, so each scenario is run once before
//! measuring to count them (the run is deterministic, so every iteration processes the same
//! events) and that count is the group's `Throughput::Elements`.
//!
//! - `cluster/quick-start-100`: 102 nodes, 1,000 pods, 15 min simulated. Always on.
//! - `cluster/quick-start-5000`: 5,001 nodes, 50,000 pods, 1 h simulated. OPT-IN: one run takes
//!   well over 20 s (more than 3 minutes when this bench was written), and criterion needs at
//!   least 10 samples plus the counting run, so it only runs with `KUBESIM_BENCH_LARGE=1`:
//!
//!   KUBESIM_BENCH_LARGE=1 cargo bench --bench cluster
//!
//! - `cluster/zone-partition-5000-nodes` and `cluster/zone-partition-5000` (also opt-in): the
//!   issue-3 scale target, 5,001 nodes in 3 zones with one zone partitioned for 15 minutes over
//!   one simulated hour, without pods (node health alone) and with 150,000 pods.
//!
//! `cargo bench --bench cluster`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use kubesim::run::{run, RunOptions};
use kubesim::scenario::{self, Scenario};

fn load(name: &str) -> Scenario {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "benches", "scenarios", name]
        .iter()
        .collect();
    scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn large_enabled() -> bool {
    std::env::var("KUBESIM_BENCH_LARGE").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn bench_scenario(c: &mut Criterion, file: &str, warm_up: Duration, measurement: Duration) {
    let s = load(file);
    let opts = RunOptions::default();
    // Counting run: also checks the scenario runs to completion.
    let first = run(&s, &opts);
    assert!(
        first.stop.completed(),
        "{file}: run stopped early at {:?}",
        first.end
    );
    let events = first.engine_events;
    let digest = first.digest.clone();
    drop(first);
    eprintln!("{file}: {events} engine events per run, digest {digest}");

    let name = file.trim_end_matches(".yaml");
    let mut g = c.benchmark_group("cluster");
    // Flat sampling: every sample runs the same number of iterations, which suits routines
    // that take a sizeable fraction of a second or more.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
        .throughput(Throughput::Elements(events));
    g.bench_function(name, |b| {
        b.iter(|| {
            let out = run(black_box(&s), &opts);
            assert_eq!(out.digest, digest, "{file}: run is not deterministic");
            black_box(out.engine_events)
        })
    });
    g.finish();
}

fn quick_start_100(c: &mut Criterion) {
    bench_scenario(
        c,
        "quick-start-100.yaml",
        Duration::from_secs(1),
        Duration::from_secs(5),
    );
}

fn quick_start_5000(c: &mut Criterion) {
    if !large_enabled() {
        eprintln!("cluster/quick-start-5000: skipped (set KUBESIM_BENCH_LARGE=1 to run it)");
        return;
    }
    // Criterion runs the routine at least once to warm up and then 10 samples of one
    // iteration each (flat sampling); it warns that the measurement time cannot be met, which
    // is expected.
    bench_scenario(
        c,
        "quick-start-5000.yaml",
        Duration::from_millis(1),
        Duration::from_secs(1),
    );
}

fn zone_partition_5000(c: &mut Criterion) {
    if !large_enabled() {
        eprintln!("cluster/zone-partition-5000*: skipped (set KUBESIM_BENCH_LARGE=1 to run them)");
        return;
    }
    for file in ["zone-partition-5000-nodes.yaml", "zone-partition-5000.yaml"] {
        bench_scenario(c, file, Duration::from_millis(1), Duration::from_secs(1));
    }
}

criterion_group!(
    benches,
    quick_start_100,
    quick_start_5000,
    zone_partition_5000
);
criterion_main!(benches);
