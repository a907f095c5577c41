//! `kubesim sweep`: cells equal single runs, an interrupted sweep resumes without recomputing
//! or losing a cell, shards merge into the one-process tables byte for byte, a changed grid
//! reruns only the changed cells, and the emitted Indexed Job runs in kubesim itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

const RATE: &str = "kube-controller-manager.node-eviction-rate";

fn kubesim(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubesim"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("runs")
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {out}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn zone_full() -> String {
    root()
        .join("scenarios/zone-full-one-of-two.yaml")
        .display()
        .to_string()
}

fn sweep(out: &Path, grid: &str, seeds: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let scenario = zone_full();
    let out = out.display().to_string();
    let mut args = vec![
        "sweep",
        &scenario,
        "--set-grid",
        grid,
        "--seeds",
        seeds,
        "--out",
        &out,
        "-q",
    ];
    args.extend_from_slice(extra);
    kubesim(&args, env)
}

fn read(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `cells.csv` rows as maps from column name to value.
fn rows(dir: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("cells.csv")).expect("cells.csv");
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    r.records()
        .map(|x| {
            let x = x.expect("row");
            header
                .iter()
                .cloned()
                .zip(x.iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn a_cell_is_byte_identical_to_the_single_run_with_the_same_set_and_seed() {
    let d = scratch("sweep-cell");
    ok(&sweep(
        &d.join("s"),
        &format!("{RATE}=0.05,0.2"),
        "2..3",
        &[],
        &[],
    ));
    let cells = rows(&d.join("s"));
    assert_eq!(cells.len(), 4);
    // Cell order: rate 0.05 with seeds 2, 3, then rate 0.2.
    let order: Vec<(&str, &str)> = cells
        .iter()
        .map(|c| (c[RATE].as_str(), c["seed"].as_str()))
        .collect();
    assert_eq!(
        order,
        [("0.05", "2"), ("0.05", "3"), ("0.2", "2"), ("0.2", "3")]
    );
    let c = &cells[3];
    let set = format!("{RATE}=0.2");
    let run = kubesim(
        &["run", &zone_full(), "--set", &set, "--seed", "3", "--out"]
            .into_iter()
            .map(String::from)
            .chain([d.join("run").display().to_string()])
            .collect::<Vec<_>>()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        &[],
    );
    let out = ok(&run);
    assert!(out.contains(&format!("digest: {}", c["digest"])), "{out}");
    let summary: serde_json::Value =
        serde_json::from_slice(&read(d.join("run/summary.json"))).expect("json");
    assert_eq!(c["evictions_total"], summary["evictions_total"].to_string());
    assert_eq!(c["events"], summary["events_logged"].to_string());
}

/// zone-full-one-of-two, run to 460 s: the four zone-a nodes are tainted NoExecute from
/// about 110 s (the first pass after NotReady; within 100 ms, the taint pass period) at the
/// eviction rate (a token bucket of burst 1: one node every 1/rate s, upstream
/// `NewRateLimitedTimedQueue`), and each one's pod is evicted 300 s (the default
/// `tolerationSeconds`) after its node's taint. Rate 0.05: taints 20 s apart → evictions at
/// about 410, 430 and 450 s, the fourth (about 470 s) after the end: 3. Rates 0.1 and 0.2:
/// the last taint by 140.1 s → all 4 evictions by 440.1 s.
#[test]
fn evictions_within_the_run_follow_the_eviction_rate() {
    let d = scratch("sweep-rate");
    let text = std::fs::read_to_string(zone_full())
        .expect("scenario")
        .replace("duration: 450s", "duration: 460s")
        .replace(
            "file: manifests/",
            &format!("file: {}/scenarios/manifests/", root().display()),
        );
    let cut = text.find("\nexpect:").expect("an expect block");
    let p = d.join("zone-full-460.yaml");
    std::fs::write(&p, &text[..cut + 1]).expect("write");
    let out = d.join("out").display().to_string();
    let grid = format!("{RATE}=0.05,0.1,0.2");
    let args = [
        "sweep",
        p.to_str().expect("utf8"),
        "--set-grid",
        &grid,
        "--seeds",
        "1..2",
        "--out",
        &out,
        "-q",
    ];
    ok(&kubesim(&args, &[]));
    let cells = rows(&d.join("out"));
    let evicted: Vec<(&str, &str)> = cells
        .iter()
        .map(|c| (c[RATE].as_str(), c["evictions_total"].as_str()))
        .collect();
    assert_eq!(
        evicted,
        [
            ("0.05", "3"),
            ("0.05", "3"),
            ("0.1", "4"),
            ("0.1", "4"),
            ("0.2", "4"),
            ("0.2", "4")
        ]
    );
    let agg = String::from_utf8(read(d.join("out/aggregate.csv"))).expect("utf8");
    assert!(
        agg.contains("\n0.05,evictions_total,2,3,0,3,3,3,3\n"),
        "{agg}"
    );
    for plot in ["sweep.png", "sweep.svg"] {
        assert!(d.join("out").join(plot).is_file(), "{plot}");
    }
}

fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).expect("exists").ino()
}

fn cell_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("cells"))
        .expect("cells dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn an_interrupted_sweep_resumes_and_shards_merge_into_the_same_tables() {
    let d = scratch("sweep-resume");
    let grid = format!("{RATE}=0.05,0.2");
    // The reference: one uninterrupted process.
    ok(&sweep(&d.join("whole"), &grid, "3", &["--jobs", "2"], &[]));
    let whole = |f: &str| read(d.join("whole").join(f));

    // Killed (as by SIGKILL) right after its third commit of six.
    let part = d.join("part");
    let killed = sweep(
        &part,
        &grid,
        "3",
        &["--jobs", "1"],
        &[("KUBESIM_TEST_SWEEP_ABORT_AFTER", "3")],
    );
    assert_eq!(killed.status.code(), Some(137));
    let done = cell_files(&part);
    assert_eq!(done.len(), 3);
    let inodes: Vec<u64> = done.iter().map(|p| inode(p)).collect();
    let again = ok(&sweep(&part, &grid, "3", &["--jobs", "2"], &[]));
    assert!(again.contains("3 reused from"), "{again}");
    assert!(again.contains(", 3 to run"), "{again}");
    // The finished cells were not rewritten, and none is lost.
    assert_eq!(done.iter().map(|p| inode(p)).collect::<Vec<_>>(), inodes);
    assert_eq!(cell_files(&part).len(), 6);
    for f in ["cells.csv", "aggregate.csv"] {
        assert_eq!(read(part.join(f)), whole(f), "{f} after resuming");
    }

    // Two shards and a merge write the one-process tables byte for byte.
    let mut shard_dirs = Vec::new();
    for i in 0..2 {
        let s = d.join(format!("shard-{i}"));
        let shard = format!("{i}/2");
        let out = ok(&sweep(&s, &grid, "3", &["--shard", &shard], &[]));
        assert!(out.contains(", shard 1/2: 3 cells") || i == 0, "{out}");
        shard_dirs.push(s.display().to_string());
    }
    let merged = d.join("merged").display().to_string();
    let mut args = vec!["sweep", "merge"];
    args.extend(shard_dirs.iter().map(|s| s.as_str()));
    args.extend(["--out", &merged]);
    ok(&kubesim(&args, &[]));
    for f in ["cells.csv", "aggregate.csv"] {
        assert_eq!(read(d.join("merged").join(f)), whole(f), "{f} merged");
    }
    // One shard alone is not the sweep.
    let lone = kubesim(
        &[
            "sweep",
            "merge",
            &shard_dirs[0],
            "--out",
            &d.join("lone").display().to_string(),
        ],
        &[],
    );
    assert_eq!(lone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&lone.stderr).contains("3 of 6 cells"));

    // A new value reruns only its own cells; a changed scenario (a fixed --set) all of them.
    let wider = ok(&sweep(&part, &format!("{grid},0.1"), "3", &[], &[]));
    assert!(
        wider.contains("6 reused from") && wider.contains(", 3 to run"),
        "{wider}"
    );
    let changed = ok(&sweep(
        &part,
        &grid,
        "3",
        &[
            "--set",
            "kube-controller-manager.node-monitor-grace-period=45s",
        ],
        &[],
    ));
    assert!(
        changed.contains("0 reused from") && changed.contains(", 6 to run"),
        "{changed}"
    );
}

#[test]
fn a_sweep_never_writes_into_a_directory_it_did_not_make() {
    let d = scratch("sweep-refuse");
    std::fs::write(d.join("notes.txt"), "mine").expect("write");
    let o = sweep(&d, &format!("{RATE}=0.1"), "1", &[], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing"));
    assert_eq!(std::fs::read_dir(&d).expect("dir").count(), 1);
}

/// The emitted Job is a valid kubesim workload: applied in a scenario whose containers of
/// that image exit 0 after 20 s, the Indexed Job completes every index (upstream: an
/// Indexed Job with completions N succeeds once each index 0..N-1 has a succeeded pod).
#[test]
fn the_emitted_indexed_job_runs_to_completion_in_kubesim() {
    let d = scratch("sweep-job");
    let grid = format!("{RATE}=0.05,0.1,0.2");
    let o = ok(&kubesim(
        &[
            "sweep",
            &zone_full(),
            "--set-grid",
            &grid,
            "--seeds",
            "4",
            "--emit-job",
            "--image",
            "example.com/kubesim:test",
            "--shards",
            "3",
        ],
        &[],
    ));
    let job = o
        .split("\n---\n")
        .find(|doc| doc.contains("kind: Job"))
        .expect("a Job document");
    std::fs::write(d.join("job.yaml"), job).expect("write");
    let scenario = "name: emitted-job
duration: 2m
cluster:
  nodePools:
  - {name: worker, count: 2, zones: [zone-a], capacity: {cpu: \"4\", memory: 16Gi}}
runtime:
  behaviors:
  - {name: shard, image: \"example.com/kubesim:*\", run: 20s, exitCode: 0}
workloads:
- file: job.yaml
expect:
- job: {name: kubesim-sweep-zone-full-one-of-two, succeeded: 3, active: 0, completedIndexes: \"0-2\"}
";
    let p = d.join("emitted-job.yaml");
    std::fs::write(&p, scenario).expect("write");
    ok(&kubesim(&["check", "-q", &p.display().to_string()], &[]));
}

/// `kubesim sweep --output json`: stdout is one JSON document (nothing else) with the
/// directory, the cells run and reused, every path written and the aggregate per flag
/// combination. On the quick start the crashed node holds exactly 2 pods, which the taint
/// eviction controller evicts 300 s after the taint whatever the grace period (the scenario's
/// header, from upstream): `metrics.pods_evicted` has mean 2 over both seeds of each
/// combination. A rerun reuses every cell.
#[test]
fn sweep_output_json_is_one_document_with_the_aggregate() {
    let dir = scratch("sweep-json").join("s");
    let scenario = root().join("scenarios/quick-start.yaml");
    let args = [
        "sweep",
        scenario.to_str().unwrap(),
        "--set-grid",
        "kube-controller-manager.node-monitor-grace-period=40s,50s",
        "--seeds",
        "2",
        "--output",
        "json",
        "--out",
        dir.to_str().unwrap(),
    ];
    for (run, reused) in [(4, 0), (0, 4)] {
        let out = kubesim(&args, &[]);
        let text = ok(&out);
        let doc: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(doc["command"], "sweep");
        assert_eq!(doc["exit_code"], 0);
        assert_eq!(doc["results_dir"], dir.display().to_string());
        let s = &doc["summary"];
        assert_eq!(
            (s["cells_run"].as_u64(), s["cells_reused"].as_u64()),
            (Some(run), Some(reused))
        );
        assert_eq!(s["cells"], 4);
        let paths: Vec<&str> = doc["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        for f in [
            "cells.csv",
            "aggregate.csv",
            "sweep.json",
            "report.html",
            "sweep.svg",
        ] {
            assert!(paths.iter().any(|p| p.ends_with(f)), "{f} in {paths:?}");
        }
        for p in &paths {
            assert!(Path::new(p).is_file(), "{p}");
        }
        let agg = s["aggregate"].as_array().unwrap();
        assert_eq!(agg.len(), 2);
        for (combo, grace) in agg.iter().zip(["40s", "50s"]) {
            assert_eq!(
                combo["assignment"]["kube-controller-manager.node-monitor-grace-period"],
                grace
            );
            let m = &combo["metrics"]["metrics.pods_evicted"];
            assert_eq!(
                (m["n"].as_u64(), m["mean"].as_f64()),
                (Some(2), Some(2.0)),
                "{m}"
            );
        }
    }
}
