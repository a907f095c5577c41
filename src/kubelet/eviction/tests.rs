//! Ports of pkg/kubelet/eviction/helpers_test.go, case by case (case names as upstream's map
//! keys or test functions), with upstream's expected values.

use super::*;
use crate::model::{Container, Resources};

const GI: i64 = 1 << 30;
const MI: i64 = 1 << 20;

fn q(s: &str) -> Qty {
    match parse_quantity(s) {
        Ok(q) => q,
        Err(e) => panic!("{s}: {e}"),
    }
}
fn qv(s: &str) -> ThresholdValue {
    ThresholdValue::Quantity(q(s))
}
fn pct(p: f32) -> ThresholdValue {
    ThresholdValue::Percentage(p)
}
fn th(signal: Signal, value: ThresholdValue, grace: u64, min: Option<ThresholdValue>) -> Threshold {
    Threshold {
        signal,
        value,
        grace_period: SimDuration::from_secs(grace),
        min_reclaim: min,
    }
}
fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
/// `thresholdList.Equal`: same thresholds, any order.
fn same_thresholds(a: &[Threshold], b: &[Threshold]) -> bool {
    a.len() == b.len() && a.iter().all(|t| b.contains(t))
}

type ConfigCase = (
    &'static str,
    Vec<&'static str>,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    Option<Vec<Threshold>>,
);

#[test]
fn test_parse_threshold_config() {
    let cases: Vec<ConfigCase> = [
        threshold_config_memory_cases(),
        threshold_config_disk_cases(),
        threshold_config_invalid_cases(),
    ]
    .concat();
    for (name, alloc, hard, soft, grace, reclaim, want) in cases {
        let got = parse_threshold_config(&alloc, &hard, &soft, &grace, &reclaim);
        match (got, want) {
            (Ok(got), Some(want)) => {
                assert!(same_thresholds(&got, &want), "{name}: {got:?} != {want:?}")
            }
            (Err(_), None) => {}
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

/// `TestParseThresholdConfig` cases: no values and memory thresholds.
fn threshold_config_memory_cases() -> Vec<ConfigCase> {
    use Signal::*;
    let g = 30;
    let none = BTreeMap::new;
    vec![
        (
            "no values",
            vec![],
            none(),
            none(),
            none(),
            none(),
            Some(vec![]),
        ),
        (
            "all memory eviction values",
            vec!["pods"],
            map(&[("memory.available", "150Mi")]),
            map(&[("memory.available", "300Mi")]),
            map(&[("memory.available", "30s")]),
            map(&[("memory.available", "0")]),
            Some(vec![
                th(AllocatableMemoryAvailable, qv("150Mi"), 0, Some(qv("0"))),
                th(MemoryAvailable, qv("150Mi"), 0, Some(qv("0"))),
                th(MemoryAvailable, qv("300Mi"), g, Some(qv("0"))),
            ]),
        ),
        (
            "all memory eviction values in percentages",
            vec![],
            map(&[("memory.available", "10%")]),
            map(&[("memory.available", "30%")]),
            map(&[("memory.available", "30s")]),
            map(&[("memory.available", "5%")]),
            Some(vec![
                th(MemoryAvailable, pct(0.1), 0, Some(pct(0.05))),
                th(MemoryAvailable, pct(0.3), g, Some(pct(0.05))),
            ]),
        ),
    ]
}

/// `TestParseThresholdConfig` cases: disk and inode thresholds, disabling via 0 % and 100 %.
fn threshold_config_disk_cases() -> Vec<ConfigCase> {
    use Signal::*;
    let g = 30;
    let none = BTreeMap::new;
    vec![
        (
            "disk eviction values",
            vec![],
            map(&[
                ("imagefs.available", "150Mi"),
                ("nodefs.available", "100Mi"),
            ]),
            map(&[
                ("imagefs.available", "300Mi"),
                ("nodefs.available", "200Mi"),
            ]),
            map(&[("imagefs.available", "30s"), ("nodefs.available", "30s")]),
            map(&[("imagefs.available", "2Gi"), ("nodefs.available", "1Gi")]),
            Some(vec![
                th(ImageFsAvailable, qv("150Mi"), 0, Some(qv("2Gi"))),
                th(NodeFsAvailable, qv("100Mi"), 0, Some(qv("1Gi"))),
                th(ImageFsAvailable, qv("300Mi"), g, Some(qv("2Gi"))),
                th(NodeFsAvailable, qv("200Mi"), g, Some(qv("1Gi"))),
            ]),
        ),
        (
            "disk eviction values in percentages",
            vec![],
            map(&[("imagefs.available", "15%"), ("nodefs.available", "10.5%")]),
            map(&[("imagefs.available", "30%"), ("nodefs.available", "20.5%")]),
            map(&[("imagefs.available", "30s"), ("nodefs.available", "30s")]),
            map(&[("imagefs.available", "10%"), ("nodefs.available", "5%")]),
            Some(vec![
                th(ImageFsAvailable, pct(0.15), 0, Some(pct(0.1))),
                th(NodeFsAvailable, pct(0.105), 0, Some(pct(0.05))),
                th(ImageFsAvailable, pct(0.3), g, Some(pct(0.1))),
                th(NodeFsAvailable, pct(0.205), g, Some(pct(0.05))),
            ]),
        ),
        (
            "inode eviction values",
            vec![],
            map(&[
                ("imagefs.inodesFree", "150Mi"),
                ("nodefs.inodesFree", "100Mi"),
            ]),
            map(&[
                ("imagefs.inodesFree", "300Mi"),
                ("nodefs.inodesFree", "200Mi"),
            ]),
            map(&[("imagefs.inodesFree", "30s"), ("nodefs.inodesFree", "30s")]),
            map(&[("imagefs.inodesFree", "2Gi"), ("nodefs.inodesFree", "1Gi")]),
            Some(vec![
                th(ImageFsInodesFree, qv("150Mi"), 0, Some(qv("2Gi"))),
                th(NodeFsInodesFree, qv("100Mi"), 0, Some(qv("1Gi"))),
                th(ImageFsInodesFree, qv("300Mi"), g, Some(qv("2Gi"))),
                th(NodeFsInodesFree, qv("200Mi"), g, Some(qv("1Gi"))),
            ]),
        ),
        (
            "disable via 0%",
            vec![],
            map(&[("memory.available", "0%")]),
            map(&[("memory.available", "0%")]),
            none(),
            none(),
            Some(vec![]),
        ),
        (
            "disable via 100%",
            vec![],
            map(&[("memory.available", "100%")]),
            map(&[("memory.available", "100%")]),
            none(),
            none(),
            Some(vec![]),
        ),
    ]
}

/// `TestParseThresholdConfig` cases: invalid signals, values and grace periods.
fn threshold_config_invalid_cases() -> Vec<ConfigCase> {
    let none = BTreeMap::new;
    vec![
        (
            "invalid-signal",
            vec![],
            map(&[("mem.available", "150Mi")]),
            none(),
            none(),
            none(),
            None,
        ),
        (
            "hard-signal-negative",
            vec![],
            map(&[("memory.available", "-150Mi")]),
            none(),
            none(),
            none(),
            None,
        ),
        (
            "hard-signal-negative-percentage",
            vec![],
            map(&[("memory.available", "-15%")]),
            none(),
            none(),
            none(),
            None,
        ),
        (
            "hard-signal-percentage-greater-than-100%",
            vec![],
            map(&[("memory.available", "150%")]),
            none(),
            none(),
            none(),
            None,
        ),
        (
            "soft-signal-negative",
            vec![],
            none(),
            map(&[("memory.available", "-150Mi")]),
            none(),
            none(),
            None,
        ),
        (
            "valid-and-invalid-signal",
            vec![],
            map(&[("memory.available", "150Mi"), ("invalid.foo", "150Mi")]),
            none(),
            none(),
            none(),
            None,
        ),
        (
            "soft-no-grace-period",
            vec![],
            none(),
            map(&[("memory.available", "150Mi")]),
            none(),
            none(),
            None,
        ),
        (
            "soft-negative-grace-period",
            vec![],
            none(),
            map(&[("memory.available", "150Mi")]),
            map(&[("memory.available", "-30s")]),
            none(),
            None,
        ),
        (
            "negative-reclaim",
            vec![],
            none(),
            none(),
            none(),
            map(&[("memory.available", "-300Mi")]),
            None,
        ),
    ]
}

/// `DefaultEvictionHard` (defaults_linux.go) as the kubelet parses it, with the
/// allocatable copy of `memory.available` that the default `enforceNodeAllocatable: [pods]`
/// adds.
#[test]
fn default_eviction_hard_thresholds() {
    use Signal::*;
    let want = vec![
        th(MemoryAvailable, qv("100Mi"), 0, None),
        th(NodeFsAvailable, pct(0.1), 0, None),
        th(NodeFsInodesFree, pct(0.05), 0, None),
        th(ImageFsAvailable, pct(0.15), 0, None),
        th(AllocatableMemoryAvailable, qv("100Mi"), 0, None),
    ];
    assert!(same_thresholds(&default_thresholds(), &want));
    assert_eq!(
        node_conditions(&default_thresholds()),
        vec![
            NodeConditionType::DiskPressure,
            NodeConditionType::MemoryPressure
        ]
    );
}

// --- ranking -----------------------------------------------------------------------------

const LOW: i32 = -1;
const DEFAULT: i32 = 0;
const HIGH: i32 = 1;

/// `newPod(name, priority, containers)` with one container `newContainer(name, requests)`.
fn pod(name: &str, priority: i32, memory: &str, disk: &str) -> Pod {
    let mut p = Pod::named("", name);
    p.spec.priority = priority;
    p.spec.containers = vec![Container {
        name: name.into(),
        requests: Resources {
            memory: if memory.is_empty() {
                0
            } else {
                q(memory).value
            },
            ephemeral_storage: if disk.is_empty() { 0 } else { q(disk).value },
            ..Resources::default()
        },
        ..Container::default()
    }];
    p
}
fn mem_stats(pods: &[(&Pod, &str)]) -> PodStats {
    pods.iter()
        .map(|(p, m)| {
            (
                p.key(),
                PodUsage {
                    memory: q(m).value,
                    ..PodUsage::default()
                },
            )
        })
        .collect()
}
/// `newPodDiskStats(pod, rootFs, logs, perLocalVolume)`: one container, one local volume.
fn disk_stats(pods: &[(&Pod, [&str; 3])]) -> PodStats {
    pods.iter()
        .map(|(p, parts)| {
            let total = parts.iter().map(|s| q(s).value).sum();
            (
                p.key(),
                PodUsage {
                    disk: total,
                    inodes: total,
                    ..PodUsage::default()
                },
            )
        })
        .collect()
}
fn names(pods: &[&Pod]) -> Vec<String> {
    pods.iter().map(|p| p.meta.name.clone()).collect()
}
fn expect(got: &[&Pod], want: &[&Pod]) {
    assert_eq!(names(got), names(want));
}

#[test]
fn test_ordered_by_exceeds_request_memory() {
    let below = pod("below-requests", -1, "200Mi", "");
    let exceeds = pod("exceeds-requests", 1, "100Mi", "");
    let stats = mem_stats(&[(&below, "199Mi"), (&exceeds, "101Mi")]);
    let mut pods = vec![&below, &exceeds];
    ordered_by(
        &mut pods,
        &[&|a, b| cmp_exceed_memory_requests(&stats, a, b)],
    );
    expect(&pods, &[&exceeds, &below]);
}

#[test]
fn test_ordered_by_exceeds_request_disk() {
    let below = pod("below-requests", -1, "", "200Mi");
    let exceeds = pod("exceeds-requests", 1, "", "100Mi");
    let stats = disk_stats(&[
        (&below, ["100Mi", "99Mi", "0Mi"]),
        (&exceeds, ["90Mi", "11Mi", "0Mi"]),
    ]);
    let r = ReclaimResource::EphemeralStorage;
    let mut pods = vec![&below, &exceeds];
    ordered_by(
        &mut pods,
        &[&|a, b| cmp_exceed_disk_requests(&stats, r, a, b)],
    );
    expect(&pods, &[&exceeds, &below]);
}

#[test]
fn test_ordered_by_priority() {
    let low = pod("low-priority", -134, "", "");
    let medium = pod("medium-priority", 1, "100Mi", "");
    let high = pod("high-priority", 12534, "200Mi", "");
    let mut pods = vec![&high, &medium, &low];
    ordered_by(&mut pods, &[&cmp_priority]);
    expect(&pods, &[&low, &medium, &high]);
}

#[test]
fn test_ordered_by_disk() {
    let p1 = pod("best-effort-high", DEFAULT, "", "");
    let p2 = pod("best-effort-low", DEFAULT, "", "");
    let p3 = pod("burstable-high", DEFAULT, "", "100Mi");
    let p4 = pod("burstable-low", DEFAULT, "", "100Mi");
    let p5 = pod("guaranteed-high", DEFAULT, "", "400Mi");
    let p6 = pod("guaranteed-low", DEFAULT, "", "400Mi");
    let stats = disk_stats(&[
        (&p1, ["50Mi", "100Mi", "150Mi"]),
        (&p2, ["25Mi", "25Mi", "50Mi"]),
        (&p3, ["150Mi", "150Mi", "50Mi"]),
        (&p4, ["25Mi", "35Mi", "50Mi"]),
        (&p5, ["225Mi", "100Mi", "50Mi"]),
        (&p6, ["25Mi", "45Mi", "50Mi"]),
    ]);
    let r = ReclaimResource::EphemeralStorage;
    let mut pods = vec![&p1, &p2, &p3, &p4, &p5, &p6];
    ordered_by(&mut pods, &[&|a, b| cmp_disk(&stats, r, a, b)]);
    expect(&pods, &[&p1, &p3, &p2, &p4, &p5, &p6]);
}

#[test]
fn test_ordered_by_inodes() {
    let low = pod("low", DEFAULT, "", "");
    let medium = pod("medium", DEFAULT, "", "");
    let high = pod("high", DEFAULT, "", "");
    let stats = disk_stats(&[
        (&low, ["50000", "100000", "50000"]),
        (&medium, ["100000", "150000", "50000"]),
        (&high, ["200000", "150000", "50000"]),
    ]);
    let r = ReclaimResource::Inodes;
    let mut pods = vec![&low, &medium, &high];
    ordered_by(&mut pods, &[&|a, b| cmp_disk(&stats, r, a, b)]);
    expect(&pods, &[&high, &medium, &low]);
}

#[test]
fn test_ordered_by_priority_disk() {
    let p1 = pod("above-requests-low-priority-high-usage", LOW, "", "");
    let p2 = pod("above-requests-low-priority-low-usage", LOW, "", "");
    let p3 = pod("above-requests-high-priority-high-usage", HIGH, "", "100Mi");
    let p4 = pod("above-requests-high-priority-low-usage", HIGH, "", "100Mi");
    let p5 = pod("below-requests-low-priority-high-usage", LOW, "", "1Gi");
    let p6 = pod("below-requests-low-priority-low-usage", LOW, "", "1Gi");
    let p7 = pod("below-requests-high-priority-high-usage", HIGH, "", "1Gi");
    let p8 = pod("below-requests-high-priority-low-usage", HIGH, "", "1Gi");
    let stats = disk_stats(&[
        (&p1, ["200Mi", "100Mi", "200Mi"]),
        (&p2, ["10Mi", "10Mi", "30Mi"]),
        (&p3, ["200Mi", "150Mi", "250Mi"]),
        (&p4, ["90Mi", "50Mi", "10Mi"]),
        (&p5, ["500Mi", "200Mi", "100Mi"]),
        (&p6, ["50Mi", "100Mi", "50Mi"]),
        (&p7, ["250Mi", "500Mi", "50Mi"]),
        (&p8, ["100Mi", "60Mi", "40Mi"]),
    ]);
    let mut pods = vec![&p8, &p7, &p6, &p5, &p4, &p3, &p2, &p1];
    rank_disk_pressure(&mut pods, &stats, ReclaimResource::EphemeralStorage);
    expect(&pods, &[&p1, &p2, &p3, &p4, &p5, &p6, &p7, &p8]);
}

#[test]
fn test_ordered_by_priority_inodes() {
    let p1 = pod("low-priority-high-usage", LOW, "", "");
    let p2 = pod("low-priority-low-usage", LOW, "", "");
    let p3 = pod("high-priority-high-usage", HIGH, "", "");
    let p4 = pod("high-priority-low-usage", HIGH, "", "");
    let stats = disk_stats(&[
        (&p1, ["50000", "100000", "250000"]),
        (&p2, ["60000", "30000", "10000"]),
        (&p3, ["150000", "150000", "50000"]),
        (&p4, ["10000", "40000", "100000"]),
    ]);
    let r = ReclaimResource::Inodes;
    let mut pods = vec![&p4, &p3, &p2, &p1];
    ordered_by(
        &mut pods,
        &[&cmp_priority, &|a, b| cmp_disk(&stats, r, a, b)],
    );
    expect(&pods, &[&p1, &p2, &p3, &p4]);
}

#[test]
fn test_ordered_by_memory() {
    let p1 = pod("best-effort-high", DEFAULT, "", "");
    let p2 = pod("best-effort-low", DEFAULT, "", "");
    let p3 = pod("burstable-high", DEFAULT, "100Mi", "");
    let p4 = pod("burstable-low", DEFAULT, "100Mi", "");
    let p5 = pod("guaranteed-high", DEFAULT, "1Gi", "");
    let p6 = pod("guaranteed-low", DEFAULT, "1Gi", "");
    let stats = mem_stats(&[
        (&p1, "500Mi"),
        (&p2, "300Mi"),
        (&p3, "800Mi"),
        (&p4, "300Mi"),
        (&p5, "800Mi"),
        (&p6, "200Mi"),
    ]);
    let mut pods = vec![&p1, &p2, &p3, &p4, &p5, &p6];
    ordered_by(&mut pods, &[&|a, b| cmp_memory(&stats, a, b)]);
    expect(&pods, &[&p3, &p1, &p2, &p4, &p5, &p6]);
}

#[test]
fn test_ordered_by_priority_memory() {
    let p1 = pod("above-requests-low-priority-high-usage", LOW, "", "");
    let p2 = pod("above-requests-low-priority-low-usage", LOW, "", "");
    let p3 = pod("above-requests-high-priority-high-usage", HIGH, "100Mi", "");
    let p4 = pod("above-requests-high-priority-low-usage", HIGH, "100Mi", "");
    let p5 = pod("below-requests-low-priority-high-usage", LOW, "1Gi", "");
    let p6 = pod("below-requests-low-priority-low-usage", LOW, "1Gi", "");
    let p7 = pod("below-requests-high-priority-high-usage", HIGH, "1Gi", "");
    let p8 = pod("below-requests-high-priority-low-usage", HIGH, "1Gi", "");
    let stats = mem_stats(&[
        (&p1, "500Mi"),
        (&p2, "50Mi"),
        (&p3, "600Mi"),
        (&p4, "150Mi"),
        (&p5, "800Mi"),
        (&p6, "200Mi"),
        (&p7, "800Mi"),
        (&p8, "200Mi"),
    ]);
    let mut pods = vec![&p8, &p7, &p6, &p5, &p4, &p3, &p2, &p1];
    rank_memory_pressure(&mut pods, &stats);
    expect(&pods, &[&p1, &p2, &p3, &p4, &p5, &p6, &p7, &p8]);
}

#[test]
fn test_ordered_by_priority_process() {
    let p1 = pod("low-priority-high-usage", LOW, "", "");
    let p2 = pod("low-priority-low-usage", LOW, "", "");
    let p3 = pod("high-priority-high-usage", HIGH, "", "");
    let p4 = pod("high-priority-low-usage", HIGH, "", "");
    let stats: PodStats = [(&p1, 20), (&p2, 6), (&p3, 20), (&p4, 5)]
        .iter()
        .map(|(p, n)| {
            (
                p.key(),
                PodUsage {
                    processes: *n,
                    ..PodUsage::default()
                },
            )
        })
        .collect();
    let mut pods = vec![&p4, &p3, &p2, &p1];
    rank_pid_pressure(&mut pods, &stats);
    expect(&pods, &[&p1, &p2, &p3, &p4]);
}

/// Pods without stats are evicted first (`exceedMemoryRequests`: "prioritize evicting the
/// pod for which no stats were found").
#[test]
fn pods_without_stats_rank_first() {
    let with = pod("with-stats", LOW, "", "");
    let without = pod("without-stats", HIGH, "", "");
    let stats = mem_stats(&[(&with, "500Mi")]);
    let mut pods = vec![&with, &without];
    rank_memory_pressure(&mut pods, &stats);
    expect(&pods, &[&without, &with]);
}

#[test]
fn test_sort_by_eviction_priority() {
    use Signal::*;
    let t = |s| th(s, qv("1"), 0, None);
    let cases = [
        ("empty threshold list", vec![], vec![]),
        (
            "memory first",
            vec![NodeFsAvailable, PidAvailable, MemoryAvailable],
            vec![MemoryAvailable, NodeFsAvailable, PidAvailable],
        ),
        (
            "allocatable memory first",
            vec![NodeFsAvailable, PidAvailable, AllocatableMemoryAvailable],
            vec![AllocatableMemoryAvailable, NodeFsAvailable, PidAvailable],
        ),
    ];
    for (name, input, want) in cases {
        let mut ts: Vec<Threshold> = input.into_iter().map(t).collect();
        sort_by_eviction_priority(&mut ts);
        let got: Vec<Signal> = ts.iter().map(|t| t.signal).collect();
        assert_eq!(got, want, "{name}");
    }
}

// --- thresholds met ----------------------------------------------------------------------

fn obs(entries: &[(Signal, &str, &str)]) -> Observations {
    entries
        .iter()
        .map(|(s, a, c)| {
            let v = |x: &str| if x.is_empty() { 0 } else { q(x).value };
            (
                *s,
                SignalObservation {
                    available: v(a),
                    capacity: v(c),
                },
            )
        })
        .collect()
}

#[test]
fn test_thresholds_met() {
    use Signal::MemoryAvailable as M;
    let hard = th(M, qv("1Gi"), 0, Some(qv("500Mi")));
    let cases = [
        ("empty", false, vec![], obs(&[]), vec![]),
        (
            "threshold-met-memory",
            false,
            vec![hard.clone()],
            obs(&[(M, "500Mi", "")]),
            vec![hard.clone()],
        ),
        (
            "threshold-not-met",
            false,
            vec![hard.clone()],
            obs(&[(M, "2Gi", "")]),
            vec![],
        ),
        (
            "threshold-met-with-min-reclaim",
            true,
            vec![hard.clone()],
            obs(&[(M, "1.05Gi", "")]),
            vec![hard.clone()],
        ),
        (
            "threshold-not-met-with-min-reclaim",
            true,
            vec![hard.clone()],
            obs(&[(M, "2Gi", "")]),
            vec![],
        ),
    ];
    for (name, enforce, thresholds, observations, want) in cases {
        let got = thresholds_met(&thresholds, &observations, enforce);
        assert!(same_thresholds(&got, &want), "Test case: {name}");
    }
}

#[test]
fn test_percentage_thresholds_met() {
    use Signal::{MemoryAvailable as M, NodeFsAvailable as N};
    let specific = vec![
        th(M, pct(0.2), 0, Some(pct(0.05))),
        th(N, pct(0.3), 0, None),
    ];
    let cases = [
        (
            "BothMet",
            false,
            obs(&[(M, "100Mi", "1000Mi"), (N, "100Gi", "1000Gi")]),
            specific.clone(),
        ),
        (
            "NoneMet",
            false,
            obs(&[(M, "300Mi", "1000Mi"), (N, "400Gi", "1000Gi")]),
            vec![],
        ),
        (
            "DiskMet",
            false,
            obs(&[(M, "300Mi", "1000Mi"), (N, "100Gi", "1000Gi")]),
            vec![specific[1].clone()],
        ),
        (
            "MemoryMet",
            false,
            obs(&[(M, "100Mi", "1000Mi"), (N, "400Gi", "1000Gi")]),
            vec![specific[0].clone()],
        ),
        (
            "MemoryMetWithMinReclaim",
            true,
            obs(&[(M, "225Mi", "1000Mi")]),
            vec![specific[0].clone()],
        ),
        (
            "MemoryNotMetWithMinReclaim",
            true,
            obs(&[(M, "300Mi", "1000Mi")]),
            vec![],
        ),
    ];
    for (name, enforce, observations, want) in cases {
        let got = thresholds_met(&specific, &observations, enforce);
        assert!(same_thresholds(&got, &want), "Test case: {name}");
    }
}

#[test]
fn test_thresholds_first_observed_at() {
    let hard = th(Signal::MemoryAvailable, qv("1Gi"), 0, None);
    let now = SimTime::from_secs(1000);
    let old = SimTime::from_secs(940);
    assert_eq!(thresholds_first_observed_at(&[], &[], now), vec![], "empty");
    assert_eq!(
        thresholds_first_observed_at(std::slice::from_ref(&hard), &[], now),
        vec![(hard.clone(), now)],
        "no-previous-observation"
    );
    assert_eq!(
        thresholds_first_observed_at(std::slice::from_ref(&hard), &[(hard.clone(), old)], now),
        vec![(hard.clone(), old)],
        "previous-observation"
    );
}

#[test]
fn test_thresholds_met_grace_period() {
    let now = SimTime::from_secs(1000);
    let hard = th(Signal::MemoryAvailable, qv("1Gi"), 0, None);
    let soft = th(Signal::MemoryAvailable, qv("2Gi"), 60, None);
    let old = SimTime::from_secs(880);
    let cases = [
        ("empty", vec![], vec![]),
        (
            "hard-threshold-met",
            vec![(hard.clone(), now)],
            vec![hard.clone()],
        ),
        ("soft-threshold-not-met", vec![(soft.clone(), now)], vec![]),
        (
            "soft-threshold-met",
            vec![(soft.clone(), old)],
            vec![soft.clone()],
        ),
    ];
    for (name, observed, want) in cases {
        assert!(
            same_thresholds(&thresholds_met_grace_period(&observed, now), &want),
            "Test case: {name}"
        );
    }
}

#[test]
fn test_node_conditions() {
    assert_eq!(node_conditions(&[]), vec![], "empty-list");
    assert_eq!(
        node_conditions(&[th(Signal::MemoryAvailable, qv("1"), 0, None)]),
        vec![NodeConditionType::MemoryPressure],
        "memory.available"
    );
}

#[test]
fn test_node_conditions_last_observed_at() {
    use NodeConditionType::MemoryPressure as MP;
    let now = SimTime::from_secs(1000);
    let old = SimTime::from_secs(940);
    let m = |t| BTreeMap::from([(MP, t)]);
    assert_eq!(
        node_conditions_last_observed_at(&[MP], &BTreeMap::new(), now),
        m(now),
        "no-previous-observation"
    );
    assert_eq!(
        node_conditions_last_observed_at(&[MP], &m(old), now),
        m(now),
        "previous-observation"
    );
    assert_eq!(
        node_conditions_last_observed_at(&[], &m(old), now),
        m(old),
        "old-observation"
    );
}

#[test]
fn test_node_conditions_observed_since() {
    use NodeConditionType::MemoryPressure as MP;
    let now = SimTime::from_secs(1000);
    let observed = BTreeMap::from([(MP, SimTime::from_secs(940))]);
    assert_eq!(
        node_conditions_observed_since(&observed, SimDuration::from_mins(2), now),
        vec![MP],
        "in-period"
    );
    assert_eq!(
        node_conditions_observed_since(&observed, SimDuration::from_secs(30), now),
        vec![],
        "out-of-period"
    );
}

#[test]
fn test_parse_percentage() {
    assert!(parse_percentage("blah").is_err(), "blah");
    assert_eq!(parse_percentage("25.5%"), Ok(0.255), "25.5%");
}

// --- eviction message --------------------------------------------------------------------

/// `TestEvictonMessageWithResourceResize`: a container using 150Mi against a 100Mi request is
/// named in the message.
#[test]
fn test_eviction_message_names_container_over_request() {
    let p = {
        let mut p = pod("testpod", 1, "100Mi", "");
        p.spec.containers[0].name = "testcontainer".into();
        p
    };
    let stats: PodStats = BTreeMap::from([(
        p.key(),
        PodUsage {
            memory: 150 * MI,
            containers: vec![ContainerUsage {
                name: "testcontainer".into(),
                memory: Some(150 * MI),
                ephemeral_storage: None,
            }],
            ..PodUsage::default()
        },
    )]);
    let (msg, ann) = eviction_message(
        ReclaimResource::Memory,
        &p,
        &stats,
        &[],
        &Observations::new(),
    );
    assert!(
        msg.contains("testcontainer was using 150Mi, request is 100Mi"),
        "{msg}"
    );
    // The full text from helpers.go's formats (nodeLowMessageFmt, containerMessageFmt).
    assert_eq!(
        msg,
        "The node was low on resource: memory. Container testcontainer was using 150Mi, request is 100Mi, has larger consumption of memory. "
    );
    assert_eq!(
        ann.get(OFFENDING_CONTAINERS_KEY).map(String::as_str),
        Some("testcontainer")
    );
    assert_eq!(
        ann.get(OFFENDING_CONTAINERS_USAGE_KEY).map(String::as_str),
        Some("150Mi")
    );
    assert_eq!(
        ann.get(STARVED_RESOURCE_KEY).map(String::as_str),
        Some("memory")
    );
}

/// With the default hard threshold met, the message carries `thresholdMetMessageFmt`
/// ("Threshold quantity: %v, available: %v. ") with Quantity strings; a container without a
/// request prints "request is 0".
#[test]
fn eviction_message_with_threshold_and_no_request() {
    let mut p = pod("hog", DEFAULT, "", "");
    p.spec.containers[0].name = "c0".into();
    let stats: PodStats = BTreeMap::from([(
        p.key(),
        PodUsage {
            memory: 2 * GI,
            containers: vec![ContainerUsage {
                name: "c0".into(),
                memory: Some(2 * GI),
                ephemeral_storage: None,
            }],
            ..PodUsage::default()
        },
    )]);
    let thresholds = default_thresholds();
    let observations = obs(&[(Signal::MemoryAvailable, "50Mi", "8Gi")]);
    let (msg, _) = eviction_message(
        ReclaimResource::Memory,
        &p,
        &stats,
        &thresholds,
        &observations,
    );
    assert_eq!(
        msg,
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container c0 was using 2Gi, request is 0, has larger consumption of memory. "
    );
}

// --- the eviction manager's decisions (eviction_manager_test.go) ---------------------------

/// `makeContainersByQOS`: requests/limits cpu 100m, memory 1Gi.
fn pod_of_qos(name: &str, qos: crate::kubelet::qos::QosClass) -> Pod {
    use crate::kubelet::qos::QosClass::*;
    let r = Resources {
        cpu_milli: 100,
        memory: GI,
        ..Resources::default()
    };
    let mut p = pod(name, 0, "", "");
    let c = &mut p.spec.containers[0];
    match qos {
        Guaranteed => {
            c.requests = r.clone();
            c.limits = r;
        }
        Burstable => c.requests = r,
        BestEffort => {}
    }
    p
}

#[test]
fn test_admit_under_node_conditions() {
    use crate::kubelet::qos::QosClass::*;
    use NodeConditionType::*;
    let pods = [
        pod_of_qos("guaranteed-pod", Guaranteed),
        pod_of_qos("burstable-pod", Burstable),
        pod_of_qos("best-effort-pod", BestEffort),
    ];
    let mut state = EvictionState::default();
    let admits = |s: &EvictionState| pods.iter().map(|p| s.admit(p).admit).collect::<Vec<_>>();
    assert_eq!(admits(&state), vec![true, true, true]);
    state.node_conditions = vec![MemoryPressure];
    assert_eq!(admits(&state), vec![true, true, false]);
    state.node_conditions = vec![MemoryPressure, DiskPressure];
    assert_eq!(admits(&state), vec![false, false, false]);
    let r = state.admit(&pods[0]);
    assert_eq!(r.reason, "Evicted");
    assert_eq!(
        r.message,
        "The node had condition: [MemoryPressure DiskPressure]. "
    );
}

/// One synchronize pass: the node conditions it leaves and the pod (and grace period) it
/// would evict from `pods`.
fn pass(
    state: &mut EvictionState,
    config: &EvictionConfig,
    observations: &Observations,
    now: SimTime,
    pods: &[&Pod],
    stats: &PodStats,
) -> Option<(String, i64)> {
    let t = state.synchronize(config, observations, now)?;
    let mut ranked = pods.to_vec();
    rank_for_signal(t.signal, &mut ranked, stats);
    let victim = ranked.into_iter().find(|p| !is_critical_pod(p))?;
    Some((
        victim.meta.name.clone(),
        grace_period_override(&t, config.max_pod_grace_period_seconds),
    ))
}

/// `TestMinReclaim`: after a hard memory eviction, pressure is not resolved until available
/// memory is back above threshold + min reclaim (1Gi + 500Mi); the condition then stays for
/// the 5-minute transition period.
#[test]
fn test_min_reclaim() {
    use Signal::MemoryAvailable as M;
    let pods = [
        pod("guaranteed-low-priority-high-usage", LOW, "1Gi", ""),
        pod("burstable-below-requests", DEFAULT, "100Mi", ""),
        pod("burstable-above-requests", DEFAULT, "100Mi", ""),
        pod("best-effort-high-priority-high-usage", HIGH, "", ""),
        pod("best-effort-low-priority-low-usage", LOW, "", ""),
    ];
    let stats = mem_stats(&[
        (&pods[0], "900Mi"),
        (&pods[1], "50Mi"),
        (&pods[2], "400Mi"),
        (&pods[3], "400Mi"),
        (&pods[4], "100Mi"),
    ]);
    let refs: Vec<&Pod> = pods.iter().collect();
    let config = EvictionConfig {
        thresholds: vec![th(M, qv("1Gi"), 0, Some(qv("500Mi")))],
        pressure_transition_period: SimDuration::from_mins(5),
        max_pod_grace_period_seconds: 5,
    };
    let mut st = EvictionState::default();
    let at = |m: u64| SimTime::from_secs(60 * m);
    let victim = Some(("best-effort-low-priority-low-usage".to_string(), 1));
    let mp = NodeConditionType::MemoryPressure;

    assert_eq!(
        pass(
            &mut st,
            &config,
            &obs(&[(M, "2Gi", "")]),
            at(0),
            &refs,
            &stats
        ),
        None
    );
    assert!(!st.has_condition(mp), "should not report memory pressure");
    // induce memory pressure
    assert_eq!(
        pass(
            &mut st,
            &config,
            &obs(&[(M, "500Mi", "")]),
            at(1),
            &refs,
            &stats
        ),
        victim
    );
    assert!(st.has_condition(mp));
    // reduce memory pressure, but not below the min-reclaim amount
    assert_eq!(
        pass(
            &mut st,
            &config,
            &obs(&[(M, "1.2Gi", "")]),
            at(2),
            &refs,
            &stats
        ),
        victim
    );
    assert!(st.has_condition(mp));
    // reduce memory pressure and ensure the min-reclaim amount
    assert_eq!(
        pass(
            &mut st,
            &config,
            &obs(&[(M, "2Gi", "")]),
            at(3),
            &refs,
            &stats
        ),
        None
    );
    assert!(st.has_condition(mp), "transition period not yet met");
    // past the transition period
    assert_eq!(
        pass(
            &mut st,
            &config,
            &obs(&[(M, "2Gi", "")]),
            at(8),
            &refs,
            &stats
        ),
        None
    );
    assert!(!st.has_condition(mp));
}

/// `TestDiskPressureNodeFs` "eviction due to disk pressure; no image fs": a soft nodefs
/// threshold (2Gi, 2m grace) evicts with `evictionMaxPodGracePeriod` (5) once its grace
/// period passed, a hard one (1Gi) at once with 1 s; a BestEffort pod is refused while the
/// node reports DiskPressure, through the transition period.
#[test]
fn test_disk_pressure_node_fs_no_image_fs() {
    use Signal::NodeFsAvailable as N;
    let pods = [
        pod("low-priority-high-usage", LOW, "1Gi", ""),
        pod("below-requests", DEFAULT, "100Mi", ""),
        pod("above-requests", DEFAULT, "100Mi", ""),
        pod("high-priority-high-usage", HIGH, "", ""),
        pod("low-priority-low-usage", LOW, "", ""),
    ];
    let stats = disk_stats(&[
        (&pods[0], ["900Mi", "0", "0"]),
        (&pods[1], ["0", "50Mi", "0"]),
        (&pods[2], ["400Mi", "0", "0"]),
        (&pods[3], ["0", "0", "400Mi"]),
        (&pods[4], ["100Mi", "0", "0"]),
    ]);
    let refs: Vec<&Pod> = pods.iter().collect();
    let to_admit = pod("pod-to-admit", DEFAULT, "", "");
    let config = EvictionConfig {
        thresholds: vec![th(N, qv("1Gi"), 0, None), th(N, qv("2Gi"), 120, None)],
        pressure_transition_period: SimDuration::from_mins(5),
        max_pod_grace_period_seconds: 5,
    };
    let mut st = EvictionState::default();
    let at = |m: u64| SimTime::from_secs(60 * m);
    let dp = NodeConditionType::DiskPressure;
    let fs = |avail: &str| obs(&[(N, avail, "")]);

    assert_eq!(
        pass(&mut st, &config, &fs("16Gi"), at(0), &refs, &stats),
        None
    );
    assert!(!st.has_condition(dp));
    assert!(st.admit(&to_admit).admit);
    // induce soft threshold
    assert_eq!(
        pass(&mut st, &config, &fs("1.5Gi"), at(1), &refs, &stats),
        None
    );
    assert!(st.has_condition(dp), "soft threshold was met");
    // step forward in time pass the grace period
    assert_eq!(
        pass(&mut st, &config, &fs("1.5Gi"), at(4), &refs, &stats),
        Some(("low-priority-high-usage".to_string(), 5))
    );
    assert!(st.has_condition(dp));
    // remove disk pressure
    assert_eq!(
        pass(&mut st, &config, &fs("16Gi"), at(24), &refs, &stats),
        None
    );
    assert!(!st.has_condition(dp));
    // induce disk pressure!
    assert_eq!(
        pass(&mut st, &config, &fs("750Mi"), at(25), &refs, &stats),
        Some(("low-priority-high-usage".to_string(), 1))
    );
    assert!(st.has_condition(dp));
    assert!(!st.admit(&to_admit).admit);
    // reduce disk pressure: still reported (transition period not yet met)
    assert_eq!(
        pass(&mut st, &config, &fs("16Gi"), at(26), &refs, &stats),
        None
    );
    assert!(st.has_condition(dp));
    assert!(!st.admit(&to_admit).admit);
    // move the clock past transition period
    assert_eq!(
        pass(&mut st, &config, &fs("16Gi"), at(31), &refs, &stats),
        None
    );
    assert!(!st.has_condition(dp));
    assert!(st.admit(&to_admit).admit);
}
