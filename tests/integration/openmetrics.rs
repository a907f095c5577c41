//! The components' metrics under upstream names and `metrics.om` (docs/outputs.md, "metrics.om").
//!
//! The expected values come from the bundled scenarios' headers, which derive them from upstream
//! Kubernetes (not from kubesim's output). The promtool tests load `metrics.om` with
//! `promtool tsdb create-blocks-from openmetrics` and read it back with `promtool tsdb dump`;
//! without promtool they are skipped with a message, except under CI (`CI` set), where they
//! fail (.ci/run installs Debian's `prometheus` package).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use kubesim::observe::components::{ComponentSeries, FAMILIES};
use kubesim::output::openmetrics::{self, DEFAULT_START_NS};
use kubesim::sim::{SimDuration, SimTime};

use crate::support::{bundled_scenarios, root, run_with, scratch};

fn at(secs: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(secs)
}

fn value(c: &ComponentSeries, family: &str, labels: &str, secs: u64) -> f64 {
    c.value_at(family, labels, at(secs))
        .unwrap_or_else(|| panic!("{family}{{{labels}}} has no sample at {secs} s"))
}

/// network-partition-eviction.yaml's header: one of the 3 nodes of zone-a is cut off at 58 s;
/// Ready=Unknown at the 110 s pass, which counts it unhealthy; the unreachable NoExecute taint
/// at 110.0 s (the zone is Normal, its bucket full); the taint eviction controller deletes
/// `zero` at 110 s, `keeps-200` at 310 s and `default-300` at 410 s, and `infinite` never.
#[test]
fn node_collector_and_taint_eviction_follow_the_derived_partition() {
    let out = run_with(
        &root().join("scenarios/network-partition-eviction.yaml"),
        &[],
        None,
    );
    let c = &out.components;
    let zone = "zone=\"zone-a\"";
    for t in [0, 100, 110, 420] {
        assert_eq!(value(c, "node_collector_zone_size", zone, t), 3.0);
    }
    assert_eq!(
        value(c, "node_collector_unhealthy_nodes_in_zone", zone, 100),
        0.0
    );
    assert_eq!(
        value(c, "node_collector_unhealthy_nodes_in_zone", zone, 110),
        1.0
    );
    assert_eq!(value(c, "node_collector_zone_health", zone, 100), 100.0);
    assert_eq!(
        value(c, "node_collector_zone_health", zone, 110),
        200.0 / 3.0
    );
    assert_eq!(value(c, "node_collector_evictions", zone, 100), 0.0);
    assert_eq!(value(c, "node_collector_evictions", zone, 110), 1.0);
    assert_eq!(value(c, "node_collector_evictions", zone, 420), 1.0);
    let deletions = "taint_eviction_controller_pod_deletions";
    for (t, want) in [
        (100, 0.0),
        (110, 1.0),
        (300, 1.0),
        (310, 2.0),
        (400, 2.0),
        (410, 3.0),
    ] {
        assert_eq!(value(c, deletions, "", t), want, "deletions at {t} s");
    }
    assert_eq!(
        value(c, deletions, "", 420),
        3.0,
        "`infinite` is never deleted"
    );
}

/// quick-start.yaml's header: 12 pods scheduled two per node before the crash at 58 s; the
/// crashed machine's kubelet (and its 2 pods) is down from 58 s; the 2 evicted pods are
/// replaced and scheduled after 410 s; every pod runs again by 590 s.
#[test]
fn scheduler_and_kubelet_figures_follow_quick_start() {
    let out = run_with(&crate::support::quick_start(), &[], None);
    let c = &out.components;
    let scheduled = "result=\"scheduled\",profile=\"default-scheduler\"";
    assert_eq!(value(c, "scheduler_schedule_attempts", scheduled, 50), 12.0);
    assert_eq!(
        value(c, "scheduler_schedule_attempts", scheduled, 420),
        14.0
    );
    let unsched = "result=\"unschedulable\",profile=\"default-scheduler\"";
    assert_eq!(
        c.value_at("scheduler_schedule_attempts", unsched, at(900)),
        None
    );
    for q in ["active", "backoff", "unschedulable", "gated"] {
        let l = format!("queue=\"{q}\"");
        assert_eq!(value(c, "scheduler_pending_pods", &l, 50), 0.0, "{q}");
    }
    assert_eq!(value(c, "kubelet_running_pods", "", 50), 12.0);
    assert_eq!(value(c, "kubelet_running_pods", "", 60), 10.0);
    assert_eq!(value(c, "kubelet_running_pods", "", 590), 12.0);
    // The histogram counts every attempt; +Inf holds them all.
    let h = &c
        .histograms
        .iter()
        .find(|(k, _)| k.1 == scheduled)
        .unwrap()
        .1;
    let (_, last) = h.last().unwrap();
    assert_eq!(last.count, 14);
    assert!(last.le.windows(2).all(|w| w[0] <= w[1]) && last.le[14] <= last.count);
    // A settled cluster's work queues are empty; the ReplicaSet's has been used.
    let rs = "name=\"replicaset\"";
    assert_eq!(value(c, "workqueue_depth", rs, 900), 0.0);
    assert!(value(c, "workqueue_adds", rs, 900) >= 1.0);
}

/// docs/outputs.md lists every component family with its type and upstream source.
#[test]
fn every_component_family_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/outputs.md")).unwrap();
    for f in FAMILIES {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{}`", f.sample_name())))
            .unwrap_or_else(|| panic!("docs/outputs.md has no row for {}", f.sample_name()));
        assert!(row.contains(f.kind.as_str()), "{row}");
        for l in f.labels {
            assert!(row.contains(&format!("`{l}`")), "{row}: label {l}");
        }
    }
}

/// A bad `--metrics-start` is a usage error (exit 2, the reason on stderr) before anything
/// runs, and `--metrics-start` alone (without `--metrics`) is refused too.
#[test]
fn bad_metrics_start_is_a_clear_usage_error() {
    let dir = scratch("openmetrics-bad-start");
    for args in [
        &[
            "--metrics",
            "openmetrics",
            "--metrics-start",
            "2025-02-29T00:00:00Z",
        ][..],
        &["--metrics", "openmetrics", "--metrics-start", "yesterday"][..],
        &["--metrics-start", "2025-01-01T00:00:00Z"][..],
        &["--metrics", "prometheus"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .args(["run", "scenarios/quick-start.yaml", "-q", "--out"])
            .arg(dir.join("r"))
            .args(args)
            .current_dir(root())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--metrics"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!dir.join("r").exists(), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// promtool on PATH, or None (skip) locally; under CI its absence fails the test.
fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("promtool");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but promtool is missing (.ci/run installs Debian's prometheus package)"
    );
    eprintln!("skipped: promtool not found (apt-get install prometheus)");
    None
}

/// Loads `om` into a new TSDB under `dir` (panics with promtool's output if it refuses).
fn load(promtool: &str, om: &Path, dir: &Path) {
    let db = dir.join("tsdb");
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(om)
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}{}",
        om.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // `tsdb dump` opens the directory as a database, which has a WAL.
    std::fs::create_dir_all(db.join("wal")).unwrap();
}

/// `promtool tsdb dump --match SELECTOR`: (timestamp in ms, value) of the one matching series.
fn dump(promtool: &str, dir: &Path, selector: &str) -> Vec<(i64, f64)> {
    let out = Command::new(promtool)
        .args(["tsdb", "dump", &format!("--match={selector}")])
        .arg(dir.join("tsdb"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|l| {
            let (_, rest) = l.rsplit_once("} ").unwrap();
            let (v, t) = rest.split_once(' ').unwrap();
            (t.parse().unwrap(), v.parse().unwrap())
        })
        .collect()
}

/// `kubesim run --metrics openmetrics` writes metrics.om; Prometheus's own loader takes it, and
/// what it stored equals metrics.csv at every timestamp (simulated t + 2025-01-01T00:00:00Z) and
/// the header's derived deletion count.
#[test]
fn metrics_om_loads_with_promtool_and_reads_back_the_csv() {
    let Some(promtool) = promtool() else {
        return;
    };
    let dir = scratch("openmetrics-cli");
    let res = dir.join("result");
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args([
            "run",
            "scenarios/network-partition-eviction.yaml",
            "--no-plots",
            "-q",
        ])
        .args(["--metrics", "openmetrics", "--out"])
        .arg(&res)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    load(promtool, &res.join("metrics.om"), &dir);
    let start_ms = 1_735_689_600_000i64;
    let csv = std::fs::read_to_string(res.join("metrics.csv")).unwrap();
    let mut want: BTreeMap<i64, f64> = BTreeMap::new();
    for line in csv
        .lines()
        .filter(|l| l.contains(",kubesim_pods_terminating,"))
    {
        let f: Vec<&str> = line.split(',').collect();
        let ms = (f[0].parse::<f64>().unwrap() * 1000.0).round() as i64;
        want.insert(start_ms + ms, f[3].parse().unwrap());
    }
    let got: BTreeMap<i64, f64> = dump(promtool, &dir, "kubesim_pods_terminating")
        .into_iter()
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        got[&(start_ms + 110_000)],
        1.0,
        "`zero` Terminating from 110 s"
    );
    let deletions = dump(
        promtool,
        &dir,
        "taint_eviction_controller_pod_deletions_total",
    );
    assert!(
        deletions.contains(&(start_ms + 410_000, 3.0)),
        "{deletions:?}"
    );
    assert!(
        deletions.contains(&(start_ms + 400_000, 2.0)),
        "{deletions:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every bundled scenario's metrics.om loads with `promtool tsdb create-blocks-from`.
#[test]
fn every_bundled_scenarios_metrics_om_loads_with_promtool() {
    let Some(promtool) = promtool() else {
        return;
    };
    for path in bundled_scenarios() {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let out = run_with(&path, &[], None);
        let dir = scratch(&format!("openmetrics-{name}"));
        let om = dir.join("metrics.om");
        std::fs::write(
            &om,
            openmetrics::render(&out.timeseries, &out.components, DEFAULT_START_NS),
        )
        .unwrap();
        load(promtool, &om, &dir);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// service-node-crash-traffic.yaml's header: the crashed node's proxy stops at 58 s (nothing to
/// scrape); the two surviving proxies get the rewritten slice at 111.2 s and sync at once (their
/// last sync, at start-up, is more than minSyncPeriod ago). Nothing else changes before 240 s.
#[test]
fn kube_proxy_last_sync_follows_the_derived_crash() {
    let out = run_with(
        &root().join("scenarios/service-node-crash-traffic.yaml"),
        &[],
        None,
    );
    let c = &out.components;
    let f = FAMILIES
        .iter()
        .position(|f| f.name == "kubeproxy_sync_proxy_rules_last_timestamp_seconds")
        .expect("family");
    let at_time = |secs: u64| -> Vec<f64> {
        let i = c.times.iter().position(|t| *t == at(secs)).expect("sample");
        let mut v: Vec<f64> = c
            .values
            .range((f, String::new())..(f + 1, String::new()))
            .filter_map(|(_, points)| points.iter().find(|(j, _)| *j == i).map(|p| p.1))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let before = at_time(50);
    assert_eq!(before.len(), 3, "{before:?}");
    assert!(before.iter().all(|t| *t < 10.0), "{before:?}");
    assert_eq!(at_time(110).len(), 2);
    assert!(at_time(110).iter().all(|t| *t < 10.0));
    for secs in [120, 240] {
        let after = at_time(secs);
        assert_eq!(after.len(), 2, "{after:?}");
        for t in after {
            assert!((t - 111.2).abs() < 1e-9, "{t}");
        }
    }
}
