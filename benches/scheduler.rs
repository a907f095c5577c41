//! The scheduler alone: scheduler_perf-shaped workloads and kubesim's own SchedulingReplicaSet
//! (pods of one ReplicaSet, so the system-default PodTopologySpread constraints apply) through
//! `Scheduler::decide` (the same path as `kubesim run`), reported as pods per second. Sizes are
//! small so the bench stays quick; `kubesim bench scheduler --nodes 5000` is the full-size
//! measurement (docs/scheduler-model.md).
//!
//! `cargo bench --bench scheduler`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use kubesim::scheduler::bench::{run, Workload};

const NODES: usize = 500;
const PODS: usize = 1000;

fn scheduler(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(PODS as u64));
    for w in [
        Workload::SchedulingBasic,
        Workload::NodeAffinity,
        Workload::TopologySpreading,
        Workload::PodAntiAffinity,
        Workload::PodAffinity,
        Workload::SchedulingReplicaSet,
    ] {
        let init = w.default_init_pods(NODES);
        g.bench_function(format!("{}/{NODES}nodes/{PODS}pods", w.name()), |b| {
            b.iter(|| black_box(run(w, NODES, init, PODS, 1, true)))
        });
    }
    g.finish();
}

criterion_group!(benches, scheduler);
criterion_main!(benches);
