//! The artifact's quick-start cluster (`example/test-cluster`: two V100 nodes of 2 and 4 GPUs,
//! three pods) with the expected placements worked by hand from the FGD definitions, the
//! tuning rule and the artifact's binning.

use super::*;
use crate::model::Container;
use crate::scheduler::plugins::outoftree::{GPU_COUNT, GPU_MILLI, GPU_MODEL};

fn gpu_node(name: &str, gpus: i64) -> Node {
    let mut n = Node::default();
    n.meta.name = name.into();
    n.meta.labels.insert(GPU_MODEL.into(), "V100".into());
    n.status.capacity.cpu_milli = 64_000;
    n.status.capacity.memory = 256_000 << 20;
    n.status.capacity.pods = 110;
    n.status.capacity.scalar.insert(GPU_COUNT.into(), gpus);
    n.status
        .capacity
        .scalar
        .insert(GPU_MILLI.into(), gpus * 1000);
    n.status.allocatable = n.status.capacity.clone();
    n
}

fn gpu_pod(name: &str, cpu: i64, mem_mi: i64, gpu: Option<(i64, i64)>) -> Pod {
    let mut p = Pod::named("pai-gpu", name);
    let mut c = Container {
        name: "main".into(),
        has_cpu_request: true,
        has_memory_request: true,
        ..Container::default()
    };
    c.requests.cpu_milli = cpu;
    c.requests.memory = mem_mi << 20;
    p.spec.containers.push(c);
    if let Some((milli, count)) = gpu {
        p.meta
            .annotations
            .insert(GPU_MILLI.into(), milli.to_string());
        p.meta
            .annotations
            .insert(GPU_COUNT.into(), count.to_string());
    }
    p
}

fn example() -> (Vec<Node>, Vec<Pod>) {
    (
        vec![gpu_node("pai-node-00", 2), gpu_node("pai-node-01", 4)],
        vec![
            gpu_pod("gpu-pod-00", 4000, 9216, Some((500, 1))),
            gpu_pod("gpu-pod-01", 8000, 17408, None),
            gpu_pod("gpu-pod-02", 12000, 18432, Some((1000, 2))),
        ],
    )
}

fn unshuffled(policy: Policy) -> Options {
    Options {
        tune: 0.0,
        shuffle: false,
        ..Options::paper(policy, 233)
    }
}

#[test]
fn fgd_places_the_example_cluster_as_derived() {
    let (nodes, pods) = example();
    for seed in [1, 2, 3] {
        let r = run(
            &nodes,
            &pods,
            Options {
                seed,
                ..unshuffled(Policy::Fgd)
            },
        );
        assert_eq!((r.pods, r.failed, r.total_milli), (3, 0, 6000));
        // gpu-pod-00: 41 on the 2-GPU node, 50 on the 4-GPU node → pai-node-01, device 0.
        assert_eq!(
            r.placements[0],
            ("gpu-pod-00".into(), "pai-node-01".into(), vec![0])
        );
        // gpu-pod-01 (CPU only) scores 50 on both: either node.
        assert_eq!(r.placements[1].2, Vec::<usize>::new());
        // gpu-pod-02 (2 GPUs): 66 on pai-node-00 against 58 → devices 0 and 1.
        assert_eq!(
            r.placements[2],
            ("gpu-pod-02".into(), "pai-node-00".into(), vec![0, 1])
        );
        assert_eq!(
            r.samples.last(),
            Some(&Sample {
                arrived_milli: 2500,
                used_milli: 2500
            })
        );
    }
}

#[test]
fn gpu_packing_shares_then_fills_used_nodes() {
    let (nodes, pods) = example();
    let r = run(&nodes, &pods, unshuffled(Policy::GpuPacking));
    // gpu-pod-00 on free nodes: 33 − 2 = 31 against 33 − 4 = 29 → pai-node-00, device 0
    // (best fit); gpu-pod-02 then needs 2 free GPUs: pai-node-00 has one, pai-node-01 (free) → 29.
    assert_eq!(
        r.placements[0],
        ("gpu-pod-00".into(), "pai-node-00".into(), vec![0])
    );
    assert_eq!(
        r.placements[2],
        ("gpu-pod-02".into(), "pai-node-01".into(), vec![0, 1])
    );
}

#[test]
fn pods_that_fit_nowhere_fail_and_still_arrive() {
    let (nodes, mut pods) = example();
    pods.push(gpu_pod("gpu-pod-03", 1000, 1, Some((1000, 8))));
    let r = run(&nodes, &pods, unshuffled(Policy::BestFit));
    assert_eq!(r.failed, 1);
    assert_eq!(r.samples.last().map(|s| s.arrived_milli), Some(10_500));
}

#[test]
fn tuning_stops_at_the_target_share_of_gpus() {
    let (_, pods) = example();
    let mut rng = rng::stream(42, "fgd/workload");
    // 2.5 GPUs arrive; 1.3 × 6 GPUs = 7.8: copies are added while they fit.
    let out = tuned_pods(&pods, 6000, 1.3, true, &mut rng);
    let total: i64 = out
        .iter()
        .map(|p| PodGpu::of(p, PodRequest::of(p).non_zero_cpu_milli).total_milli())
        .sum();
    assert!(total <= 7800 && total > 7800 - 2000, "{total}");
    assert!(out[3..].iter().all(|p| p.meta.name.contains("-tuned-")));
    // Tuning down removes pods until the total is within the target.
    let out = tuned_pods(&pods, 6000, 0.2, false, &mut rng);
    let total: i64 = out
        .iter()
        .map(|p| PodGpu::of(p, PodRequest::of(p).non_zero_cpu_milli).total_milli())
        .sum();
    assert!(total <= 1200, "{total}");
}

#[test]
fn allocation_is_binned_as_the_artifact_does() {
    let s = |a, u| Sample {
        arrived_milli: a,
        used_milli: u,
    };
    let r = FgdRun {
        total_milli: 100_000,
        samples: vec![
            s(0, 0),
            s(50_000, 50_000),
            s(100_000, 90_000),
            s(100_400, 90_500),
            s(130_000, 95_000),
        ],
        ..FgdRun::default()
    };
    assert_eq!(
        r.alloc_at(100),
        Some(90.25),
        "100.0 and 100.4 both round to 100"
    );
    assert_eq!(r.alloc_at(130), Some(95.0));
    assert_eq!(
        r.alloc_at(51),
        Some(50.0),
        "none at 51: the neighbours within ±1"
    );
    assert_eq!(r.alloc_at(120), None);
}

#[test]
fn a_run_is_a_function_of_its_seed() {
    let (nodes, pods) = example();
    let o = Options::paper(Policy::Random, 7);
    assert_eq!(run(&nodes, &pods, o), run(&nodes, &pods, o));
}
