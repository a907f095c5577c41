//! Expected values are worked by hand from the artifact's definitions
//! (`pkg/simulator/plugin/*.go`, `pkg/utils/frag.go`, `pkg/type/resource.go`), not from
//! kubesim's output.

use super::frag::*;
use super::score::*;
use super::*;
use rand::SeedableRng;

fn node(cpu_left: i64, left: &[i64]) -> NodeGpu {
    NodeGpu {
        cpu_left,
        cpu_capacity: 64_000,
        gpu_left: left.to_vec(),
        gpu_model: String::new(),
        affinity: BTreeMap::new(),
    }
}

fn pod(cpu: i64, milli: i64, count: i64) -> PodGpu {
    PodGpu {
        cpu_milli: cpu,
        gpu_milli: milli,
        gpu_count: count,
        gpu_model: String::new(),
    }
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(1)
}

#[test]
fn gpu_model_constraint_follows_is_node_accessible_to_pod_by_type() {
    assert!(accessible("V100M16", "V100M16|V100M32"));
    assert!(!accessible("T4", "V100M16|V100M32"));
    assert!(accessible("", ""));
    assert!(accessible("T4", ""));
    assert!(!accessible("", "T4"), "a CPU node never serves a typed pod");
    assert!(accessible("T4", "|"), "no real model listed: any node");
}

#[test]
fn open_gpu_share_filter() {
    let cpu_node = node(64_000, &[]);
    assert!(filter(&cpu_node, &pod(1000, 0, 0)).is_ok());
    assert!(filter(&cpu_node, &pod(1000, 500, 1)).is_err());
    let mut t4 = node(64_000, &[300, 200]);
    t4.gpu_model = "T4".into();
    assert!(filter(&t4, &pod(1000, 300, 1)).is_ok());
    assert!(
        filter(&t4, &pod(1000, 400, 1)).is_err(),
        "no device has 400 left"
    );
    let mut typed = pod(1000, 100, 1);
    typed.gpu_model = "V100M16|V100M32".into();
    assert!(filter(&t4, &typed).is_err());
    assert!(filter(&node(64_000, &[1000, 500, 1000]), &pod(1, 1000, 2)).is_ok());
    assert!(filter(&node(64_000, &[1000, 500, 900]), &pod(1, 1000, 2)).is_err());
}

#[test]
fn device_assignment_cases() {
    let n = node(64_000, &[300, 1000, 600]);
    let share = pod(1000, 500, 1);
    // AllocateGpuId (filter): tightest fit.
    assert_eq!(tightest_devices(&n, &share), Some(vec![2]));
    let t = TypicalPods::default();
    assert_eq!(
        assign_devices(&n, &share, GpuSel::Best, &t, &mut rng()),
        Some(vec![2])
    );
    assert_eq!(
        assign_devices(&n, &share, GpuSel::Worst, &t, &mut rng()),
        Some(vec![1])
    );
    let r = assign_devices(&n, &share, GpuSel::Random, &t, &mut rng());
    assert!(r == Some(vec![1]) || r == Some(vec![2]), "{r:?}");
    // Whole GPUs: the first fully free devices, whatever the method.
    let n = node(64_000, &[1000, 500, 1000, 1000]);
    for sel in [GpuSel::Best, GpuSel::Worst, GpuSel::Random, GpuSel::Fgd] {
        assert_eq!(
            assign_devices(&n, &pod(1, 1000, 2), sel, &t, &mut rng()),
            Some(vec![0, 2])
        );
    }
    assert_eq!(tightest_devices(&n, &pod(1, 1000, 2)), Some(vec![0, 2]));
    assert_eq!(
        assign_devices(&n, &pod(1, 1000, 4), GpuSel::Best, &t, &mut rng()),
        None
    );
    assert_eq!(
        assign_devices(&n, &pod(1, 0, 0), GpuSel::Best, &t, &mut rng()),
        Some(vec![])
    );
    assert_eq!(index_annotation(&[0, 1, 2, 3]), "0-1-2-3");
    let mut n2 = node(10_000, &[1000, 1000]);
    n2.add_pod(&share, 1000, &[1]);
    assert_eq!((n2.cpu_left, n2.gpu_left.clone()), (9000, vec![1000, 500]));
    assert_eq!(n2.affinity.get(&Affinity::Share), Some(&1));
}

#[test]
fn typical_pods_cover_the_threshold_and_renormalise() {
    let (a, b, c) = (pod(4000, 500, 1), pod(8000, 0, 0), pod(12000, 1000, 2));
    let shapes = [
        a.clone(),
        a.clone(),
        a.clone(),
        b.clone(),
        b.clone(),
        c.clone(),
    ];
    // 95 % of 6 = 5.7: all three shapes (3 + 2 + 1), no renormalisation.
    let t = TypicalPods::of(&shapes, 95.0);
    assert_eq!(t.0.len(), 3);
    assert_eq!((t.0[0].0.clone(), t.0[0].1), (a.clone(), 0.5));
    assert_eq!(t.0[1].0, b);
    assert!((t.0[1].1 - 1.0 / 3.0).abs() < 1e-12);
    assert!((t.0[2].1 - 1.0 / 6.0).abs() < 1e-12);
    // 80 % = 4.8: A and B (5 pods), renormalised to 3/5 and 2/5.
    let t = TypicalPods::of(&shapes, 80.0);
    assert_eq!(t.0.len(), 2);
    assert!((t.0[0].1 - 0.6).abs() < 1e-12 && (t.0[1].1 - 0.4).abs() < 1e-12);
    // Equal counts: the larger shape first (sort.Reverse of PodResource.Less).
    let t = TypicalPods::of(&[a.clone(), c.clone()], 95.0);
    assert_eq!(t.0[0].0, c);
}

/// The artifact's quick-start workload: one each of A (4 CPU, 0.5 GPU), B (8 CPU) and C
/// (12 CPU, 2 GPUs), so each typical shape has frequency 1/3.
fn example_typical() -> TypicalPods {
    let shapes = [pod(4000, 500, 1), pod(8000, 0, 0), pod(12000, 1000, 2)];
    TypicalPods::of(&shapes, 95.0)
}

#[test]
fn fragmentation_of_a_small_node() {
    let t = example_typical();
    // Two free GPUs: C and A fit (Q3, no device too small); B is CPU-only, so all 2000 idle
    // milli-GPU count as fragment for it (XL): 2000/3.
    let n = node(64_000, &[1000, 1000]);
    assert_eq!(node_pod_frag(&n, &t.0[0].0), FragKind::Q3Satisfied);
    assert_eq!(node_pod_frag(&n, &t.0[1].0), FragKind::XlSatisfied);
    assert!((node_frag_score(&n, &t) - 2000.0 / 3.0).abs() < 1e-9);
    // A on device 0: C no longer fits (Q2: 1500/3), B still XL (1500/3), A Q3 with no device
    // under 500: 1000 in all.
    let n = node(60_000, &[500, 1000]);
    assert_eq!(node_pod_frag(&n, &t.0[0].0), FragKind::Q2LackGpu);
    assert!((node_frag_score(&n, &t) - 1000.0).abs() < 1e-9);
    // Short of CPU for C as well: Q1.
    assert_eq!(
        node_pod_frag(&node(1000, &[500]), &t.0[0].0),
        FragKind::Q1LackBoth
    );
    // Q3 with a device too small counts that device as lacking GPU.
    let d = node_frag_amount(&node(64_000, &[200, 1000, 1000]), &t);
    assert!((d[FragKind::Q2LackGpu as usize] - 2.0 * 200.0 / 3.0).abs() < 1e-9);
}

#[test]
fn fgd_score_is_sigmoid_of_the_fragmentation_drop() {
    let t = example_typical();
    let a = pod(4000, 500, 1);
    // 2-GPU node: frag 666.7 → 1000; 100 × sigmoid(−1/3) = 41.7 → 41, device 0 (first of equals).
    assert_eq!(
        fgd(&node(64_000, &[1000, 1000]), &a, &t),
        (41, Some(vec![0]))
    );
    // 4-GPU node: 1333.3 → 166.7 + 1166.7 = 1333.3: no change, sigmoid(0) = 0.5 → 50.
    assert_eq!(fgd(&node(64_000, &[1000; 4]), &a, &t), (50, Some(vec![0])));
    // C (2 whole GPUs) on the 2-GPU node: frag 666.7 → 0, sigmoid(2/3) = 0.66 → 66.
    let c = pod(12000, 1000, 2);
    assert_eq!(
        fgd(&node(64_000, &[1000, 1000]), &c, &t),
        (66, Some(vec![0, 1]))
    );
    // …and on the 4-GPU node holding A: 1333.3 → 1000 (Sub packs devices 1, 2), sigmoid(1/3) → 58.
    assert_eq!(
        fgd(&node(60_000, &[500, 1000, 1000, 1000]), &c, &t),
        (58, Some(vec![1, 2]))
    );
    // A sharing pod tries each device: on [500, 1000] either leaves 1500 → 1000 idle of which
    // 666.7 fragment (C cannot fit; B sees it all): both 58, the first device wins.
    assert_eq!(
        fgd(&node(60_000, &[500, 1000]), &a, &t),
        (58, Some(vec![0]))
    );
}

#[test]
fn dot_product_score() {
    // (64/128, 2/8)·(4/128, 0.5/8) = 0.03125; 100 × (1 − 0.03125/2) = 98.4 → 98.
    assert_eq!(
        dot_product(&node(64_000, &[1000, 1000]), &pod(4000, 500, 1)),
        98
    );
    // Full node (128 CPUs, 8 GPUs) and a pod asking for all of it: 100 × (1 − 2/2) = 0.
    assert_eq!(
        dot_product(&node(128_000, &[1000; 8]), &pod(128_000, 1000, 8)),
        0
    );
    assert_eq!(
        dot_product(&node(8000, &[1000]), &pod(12_000, 0, 0)),
        0,
        "CPU short"
    );
}

#[test]
fn gpu_clustering_score_bands() {
    let share = pod(1000, 300, 1);
    assert_eq!(
        gpu_clustering(&node(64_000, &[1000; 8]), &share),
        25,
        "idle node"
    );
    let mut n = node(64_000, &[0, 0, 1000, 1000, 1000, 1000, 1000, 1000]);
    n.affinity.insert(Affinity::Share, 3);
    // 25 × 2000 / 8000 = 6, + 75.
    assert_eq!(gpu_clustering(&n, &share), 81);
    n.affinity.insert(Affinity::Whole(1), 1);
    assert_eq!(gpu_clustering(&n, &share), 56, "mixed node with its tag");
    n.affinity.remove(&Affinity::Share);
    assert_eq!(gpu_clustering(&n, &share), 6, "other tags only");
    assert_eq!(gpu_clustering(&n, &pod(1000, 0, 0)), 0, "CPU-only pod");
}

#[test]
fn gpu_packing_score_cases() {
    let share = pod(1000, 300, 1);
    assert_eq!(gpu_packing(&node(64_000, &[1000; 8]), &share), 25, "33 − 8");
    assert_eq!(gpu_packing(&node(64_000, &[1000; 2]), &share), 31, "33 − 2");
    // Shares a used GPU with 500 left: 100 − (50 / 10) = 95.
    assert_eq!(gpu_packing(&node(64_000, &[500, 1000]), &share), 95);
    // The used GPU is too small: one free GPU on a used node, 50 − 1.
    assert_eq!(gpu_packing(&node(64_000, &[200, 1000]), &share), 49);
    assert_eq!(
        gpu_packing(&node(64_000, &[500, 1000, 1000]), &pod(1, 1000, 2)),
        48
    );
    assert_eq!(
        gpu_packing(&node(64_000, &[1000]), &pod(1, 0, 0)),
        0,
        "CPU-only pod"
    );
}

#[test]
fn best_fit_score_and_normalisation() {
    // ½·60000/128000 + ½·1500/8000 = 0.328125 → 100 × 0.671875 = 67.
    assert_eq!(
        best_fit(&node(64_000, &[1000, 1000]), &pod(4000, 500, 1)),
        67
    );
    assert_eq!(best_fit(&node(1000, &[1000]), &pod(4000, 0, 0)), -1);
    let mut s = [67, 50, 84];
    normalize(&mut s);
    assert_eq!(s, [50, 0, 100]);
    let mut s = [7, 7];
    normalize(&mut s);
    assert_eq!(s, [0, 0]);
}

#[test]
fn sub_packs_the_least_free_devices() {
    let out = sub(&node(64_000, &[500, 1000, 1000]), &pod(2000, 1000, 2));
    assert_eq!((out.cpu_left, out.gpu_left), (62_000, vec![500, 0, 0]));
    let out = sub(&node(64_000, &[1000, 300, 600]), &pod(1000, 300, 1));
    assert_eq!(out.gpu_left, vec![1000, 0, 600]);
}

#[test]
fn policies_by_name() {
    assert_eq!(Policy::from_name("FGD"), Some(Policy::Fgd));
    assert_eq!(Policy::from_name("FGDScore"), Some(Policy::Fgd));
    assert_eq!(Policy::from_name("dotprod"), Some(Policy::DotProduct));
    assert_eq!(Policy::from_name("Nope"), None);
    assert_eq!(Policy::Random.gpu_sel(), GpuSel::Random);
    assert_eq!(Policy::BestFit.gpu_sel(), GpuSel::Best);
}

fn gpu_pod(name: &str, cpu: i64, milli: i64, count: i64, index: Option<&str>) -> Pod {
    let mut p = Pod::named("gpu", name);
    let mut c = crate::model::Container::default();
    c.requests.cpu_milli = cpu;
    c.has_cpu_request = true;
    p.spec.containers.push(c);
    if count > 0 {
        let a = &mut p.meta.annotations;
        a.insert(GPU_MILLI.into(), milli.to_string());
        a.insert(GPU_COUNT.into(), count.to_string());
    }
    if let Some(i) = index {
        p.meta.annotations.insert(GPU_INDEX.into(), i.into());
    }
    p
}

// A node's devices in `kubesim run` are its capacity less what the pods in its info hold by
// their `gpu-index`; a deleted pod's devices are free again.
#[test]
fn node_devices_follow_the_pods_gpu_index() {
    use crate::scheduler::plugins::NodeInfo;
    use std::sync::Arc;
    let mut n = Node::default();
    n.meta.name = "g".into();
    n.status.allocatable.cpu_milli = 64_000;
    n.status.allocatable.pods = 110;
    n.status.allocatable.scalar.insert(GPU_COUNT.into(), 4);
    n.status.capacity = n.status.allocatable.clone();
    let mut info = NodeInfo::new(Arc::new(n));
    info.add_pod(Arc::new(gpu_pod("a", 4000, 500, 1, Some("2"))));
    info.add_pod(Arc::new(gpu_pod("b", 2000, 1000, 2, Some("0-1"))));
    info.add_pod(Arc::new(gpu_pod("c", 1000, 0, 0, None)));
    let g = NodeGpu::of_info(&info);
    assert_eq!(g.gpu_left, vec![0, 0, 500, 1000]);
    assert_eq!(g.cpu_left, 64_000 - 7000);
    let tags: Vec<(Affinity, usize)> = g.affinity.into_iter().collect();
    assert_eq!(tags, vec![(Affinity::Share, 1), (Affinity::Whole(2), 1)]);
    info.remove_pod("gpu/a");
    let g = NodeGpu::of_info(&info);
    assert_eq!(g.gpu_left, vec![0, 0, 1000, 1000]);
    assert_eq!(g.affinity.get(&Affinity::Share), None);
    // A malformed or absent index holds no device.
    assert!(state::devices_of(&gpu_pod("x", 1, 500, 1, Some("1-x"))).is_empty());
}

// The GPU plugins are registered under the artifact's names, never in the default profile,
// and Open-Gpu-Share's device choice defaults to the one the artifact pairs with the score.
#[test]
fn gpu_plugins_are_registered_but_off_by_default() {
    use crate::scheduler::framework::{Plugin, Profile};
    let d = Profile::default();
    assert!(!d.uses_gpu());
    assert_eq!(
        Plugin::from_name("Open-Gpu-Share"),
        Some(Plugin::OpenGpuShare)
    );
    assert_eq!(Plugin::from_name("FGDScore"), Some(Plugin::FgdScore));
    assert!(Plugin::OpenGpuShare.has_filter() && !Plugin::OpenGpuShare.has_score());
    assert!(Plugin::FgdScore.has_score() && !Plugin::FgdScore.has_filter());
    let with = |p: Plugin| Profile {
        scores: vec![(p, 1)],
        ..Profile::default()
    };
    assert_eq!(with(Plugin::FgdScore).gpu_sel(), GpuSel::Fgd);
    assert_eq!(with(Plugin::RandomScore).gpu_sel(), GpuSel::Random);
    assert_eq!(with(Plugin::BestFitScore).gpu_sel(), GpuSel::Best);
    let set = Profile {
        gpu_sel: Some(GpuSel::Worst),
        ..with(Plugin::FgdScore)
    };
    assert_eq!(set.gpu_sel(), GpuSel::Worst);
}
