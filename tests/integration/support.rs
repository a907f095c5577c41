//! Shared helpers: locating bundled scenarios, loading and running them in-process.

use std::path::{Path, PathBuf};

use kubesim::run::{run, RunOptions, RunOutput};
use kubesim::scenario::{self, Scenario};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every bundled scenario file (scenarios/*.yaml), sorted.
pub fn bundled_scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

pub fn load(path: &Path, set: &[&str]) -> Scenario {
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    scenario::load(path, &set).unwrap_or_else(|e| panic!("{e}"))
}

pub fn quick_start() -> PathBuf {
    root().join("scenarios/quick-start.yaml")
}

pub fn run_with(path: &Path, set: &[&str], seed: Option<u64>) -> RunOutput {
    let s = load(path, set);
    run(
        &s,
        &RunOptions {
            seed,
            ..Default::default()
        },
    )
}

/// Writes `text` as `s.yaml` in a fresh scratch directory (so relative manifest paths resolve
/// there) and loads it; an input error fails the test with its message.
pub fn from_yaml(name: &str, text: &str) -> Scenario {
    let p = scratch(name).join("s.yaml");
    std::fs::write(&p, text).expect("write scenario");
    load(&p, &[])
}

/// Runs a scenario text with the invariant checkers on, at the scenario's own seed.
pub fn run_text(name: &str, text: &str) -> RunOutput {
    run_opts(&from_yaml(name, text), None)
}

/// Runs a scenario text with the invariant checkers on at `seed`.
pub fn run_seed(name: &str, text: &str, seed: u64) -> RunOutput {
    run_text_seeded(name, text, seed, true)
}

/// As [`run_seed`], with lazy (`true`) or eager heartbeats.
pub fn run_text_seeded(name: &str, text: &str, seed: u64, lazy: bool) -> RunOutput {
    let mut s = from_yaml(name, text);
    s.kubelet.lazy_heartbeats = lazy;
    run_opts(&s, Some(seed))
}

fn run_opts(s: &Scenario, seed: Option<u64>) -> RunOutput {
    run(
        s,
        &RunOptions {
            seed,
            check_invariants: true,
            ..Default::default()
        },
    )
}

/// A fresh scratch directory, unique to this test process and call (tests run in parallel, and
/// several may use the same name).
pub fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("kubesim-test-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Times (in ns) of the events matching `reason` and an object prefix.
pub fn event_times(
    out: &RunOutput,
    reason: &str,
    object_prefix: &str,
    message_prefix: &str,
) -> Vec<u64> {
    out.records
        .iter()
        .filter(|r| {
            r.reason == reason
                && r.object.starts_with(object_prefix)
                && r.message.starts_with(message_prefix)
        })
        .map(|r| r.t.as_nanos())
        .collect()
}

pub const S: u64 = 1_000_000_000;
