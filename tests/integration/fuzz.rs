//! Fuzzing on stable Rust (issue 13): scenario files, `explain` manifests and SimKube traces,
//! from a structure-aware generator (the swarm's `study::generate`, then field-level
//! mutations: extreme numbers, `null`, dropped and repeated lines) and byte-level mutations of
//! the bundled inputs. Each input is validated in-process (`scenario::load_str`,
//! `load_manifest_files`, `scenario::import` then `load_str` of what it wrote) under
//! `catch_unwind`; a valid scenario also runs, bounded to 30 simulated seconds and 5,000
//! engine events. A finding is a panic, an input taking more than 1 s of CPU, or a batch of
//! inputs whose peak resident set passes 200 MB (`VmHWM` of /proc/self/status, reset before
//! each batch by writing 5 to /proc/self/clear_refs: simpler and cheaper than a counting
//! global allocator, and it sees every allocation the input caused).
//!
//! `fuzz_smoke` (a few hundred inputs) runs in `cargo test`; the long run is
//! `KUBESIM_FUZZ_INPUTS=1000000 cargo test --release --test integration fuzz_long -- --ignored
//! --nocapture`, which prints inputs per second and the totals.

// The harness times inputs (a hang is > 1 s) and reports inputs per second; nothing it
// measures reaches a simulation run.
#![allow(clippy::disallowed_types)]

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use kubesim::run::{run, RunOptions};
use kubesim::scenario;
use kubesim::sim::SimDuration;
use kubesim::study::generate::generate;
use kubesim::study::swarm::finalize;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::support::{root, scratch};

/// CPU time above which an input counts as a hang.
const HANG_SECS: f64 = 1.0;
/// Peak resident set per batch above which a batch counts as a finding.
const MAX_RSS_KB: u64 = 200 * 1024;
const BATCH: usize = 1000;

/// Values that break parsers and arithmetic, spliced in by the structure-aware mutations.
const INTERESTING: &[&str] = &[
    "0",
    "-1",
    "1",
    "null",
    "~",
    "\"\"",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "18446744073709551615",
    "99999999999999999999999",
    "1e308",
    "-0.5",
    "NaN",
    ".inf",
    "1ns",
    "0s",
    "-5s",
    "292y",
    "106751d",
    "9223372036s",
    "{}",
    "[]",
    "\"=,=,=\"",
    "\"\\u0000\"",
    "&a [*a, *a]",
    "!!binary AAAA",
    "/dev/zero",
];

/// Tokens the byte mutator inserts.
const TOKENS: &[&str] = &[
    ": ", "- ", "{", "}", "[", "]", "&a ", "*a", "!!str ", "\t", "\u{feff}", "null", "~", "---\n",
    "\n", "  ", "#", "\"", "'", ",", "<<: *a", "?", "|", ">",
];

/// What an input is given to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Scenario,
    Explain,
    Import,
}

struct Corpus {
    scenarios: Vec<(PathBuf, String)>,
    generated: Vec<String>,
    manifests: Vec<String>,
    traces: Vec<String>,
}

fn corpus() -> Corpus {
    let dir = root().join("scenarios");
    let read_dir = |d: &Path| -> Vec<(PathBuf, String)> {
        let mut v: Vec<(PathBuf, String)> = std::fs::read_dir(d)
            .map(|r| {
                r.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
            .collect();
        v.sort();
        v
    };
    let scenarios = read_dir(&dir);
    let manifests = read_dir(&dir.join("manifests"))
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    let traces = read_dir(Path::new("/work/shared/data/simkube-examples"))
        .into_iter()
        .map(|(_, t)| t)
        .chain(std::iter::once(SMALL_TRACE.to_string()))
        .collect();
    let generated = (1..=48)
        .filter_map(|s| finalize(&generate(s)).ok())
        .collect();
    Corpus {
        scenarios,
        generated,
        manifests,
        traces,
    }
}

/// A SimKube trace small enough to be in the corpus when the examples directory is absent.
const SMALL_TRACE: &str = "version: 2\nconfig:\n  trackedObjects:\n    apps/v1.Deployment: {podSpecTemplatePaths: [/spec/template]}\nevents:\n- ts: 1700000000\n  appliedObjs:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web, namespace: default}\n    spec:\n      replicas: 2\n      selector: {matchLabels: {app: web}}\n      template:\n        metadata: {labels: {app: web}}\n        spec: {containers: [{name: c, image: nginx}]}\n  deletedObjs: []\n- ts: 1700000060\n  appliedObjs: []\n  deletedObjs: []\n";

/// Field-level mutations of a valid scenario: a scalar value replaced by an interesting one, a
/// line dropped or repeated.
fn mutate_structure(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..rng.random_range(1..=3) {
        if lines.is_empty() {
            break;
        }
        let i = rng.random_range(0..lines.len());
        match rng.random_range(0..4) {
            0 | 1 => {
                // `key: value` → `key: <interesting>`; `{a: 1, b: 2}` → one value replaced.
                let l = &lines[i];
                let colons: Vec<usize> = l.match_indices(": ").map(|(j, _)| j).collect();
                if colons.is_empty() {
                    continue;
                }
                let at = colons[rng.random_range(0..colons.len())] + 2;
                let end = l[at..].find([',', '}', ']']).map_or(l.len(), |e| at + e);
                let v = INTERESTING[rng.random_range(0..INTERESTING.len())];
                lines[i] = format!("{}{v}{}", &l[..at], &l[end..]);
            }
            2 => {
                lines.remove(i);
            }
            _ => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
        }
    }
    lines.join("\n") + "\n"
}

/// Byte-level mutations: flips, inserted bytes and tokens, deleted and repeated ranges, and a
/// splice with another input.
fn mutate_bytes(text: &str, other: &str, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let n = b.len().max(1);
        let i = rng.random_range(0..n).min(b.len());
        match rng.random_range(0..6) {
            0 if !b.is_empty() => {
                let j = i.min(b.len() - 1);
                b[j] ^= 1 << rng.random_range(0..8);
            }
            1 => b.insert(i, rng.random()),
            2 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                b.splice(i..i, t.bytes());
            }
            3 => {
                let end = (i + rng.random_range(1..64)).min(b.len());
                b.drain(i..end);
            }
            4 => {
                let end = (i + rng.random_range(1..256)).min(b.len());
                let chunk = b[i..end].to_vec();
                b.splice(i..i, chunk);
            }
            _ => {
                let o = other.as_bytes();
                let from = rng.random_range(0..o.len().max(1)).min(o.len());
                let end = (from + rng.random_range(1..512)).min(o.len());
                b.splice(i..i, o[from..end].iter().copied());
            }
        }
    }
    b
}

/// One input: its target, bytes and the path it pretends to come from.
fn make_input(c: &Corpus, rng: &mut ChaCha8Rng) -> (Target, Vec<u8>, PathBuf) {
    let pick = |v: &Vec<String>, rng: &mut ChaCha8Rng| v[rng.random_range(0..v.len())].clone();
    let base = root().join("scenarios").join("fuzz.yaml");
    match rng.random_range(0..100) {
        0..40 => {
            let g = pick(&c.generated, rng);
            (
                Target::Scenario,
                mutate_structure(&g, rng).into_bytes(),
                base,
            )
        }
        40..70 => {
            let (p, t) = &c.scenarios[rng.random_range(0..c.scenarios.len())];
            let o = pick(&c.generated, rng);
            (Target::Scenario, mutate_bytes(t, &o, rng), p.clone())
        }
        70..85 => {
            let t = pick(&c.manifests, rng);
            let o = pick(&c.manifests, rng);
            (Target::Explain, mutate_bytes(&t, &o, rng), base)
        }
        _ => {
            let t = pick(&c.traces, rng);
            let bytes = if rng.random_bool(0.5) {
                mutate_structure(&t, rng).into_bytes()
            } else {
                mutate_bytes(&t, &pick(&c.traces, rng), rng)
            };
            (Target::Import, bytes, base)
        }
    }
}

/// Validates a scenario text and, when valid, runs it bounded. Returns whether it was valid.
fn scenario_input(text: &str, path: &Path) -> bool {
    let Ok(mut s) = scenario::load_str(text, path, &[]) else {
        return false;
    };
    s.duration = s.duration.min(SimDuration::from_secs(30));
    s.max_events = s.max_events.min(5_000);
    let _ = run(&s, &RunOptions::default());
    true
}

/// Runs one input to completion (or panic). Returns whether it was valid.
fn exercise(target: Target, bytes: &[u8], path: &Path, tmp: &Path) -> bool {
    match target {
        Target::Scenario => match std::str::from_utf8(bytes) {
            Ok(t) => scenario_input(t, path),
            Err(_) => {
                // Invalid UTF-8 goes through the file reader, as `kubesim validate` reads it.
                let p = tmp.join("s.yaml");
                std::fs::write(&p, bytes).is_ok() && scenario::load(&p, &[]).is_ok()
            }
        },
        Target::Explain => {
            let p = tmp.join("m.yaml");
            std::fs::write(&p, bytes).is_ok() && scenario::load_manifest_files(&[p]).is_ok()
        }
        Target::Import => {
            let text = String::from_utf8_lossy(bytes);
            match scenario::simkube::import(&text, "fuzz.sktrace.yaml", "fuzz") {
                Ok(out) => scenario_input(&out, &tmp.join("imported.yaml")),
                Err(_) => false,
            }
        }
    }
}

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static QUIET: RefCell<bool> = const { RefCell::new(false) };
}

/// A panic hook that keeps the message of a fuzzing thread's panic (instead of printing it)
/// and leaves every other thread's panics to the previous hook.
fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| *q.borrow()) {
                let msg = format!("{info}");
                PANIC.with(|p| *p.borrow_mut() = Some(msg));
            } else {
                prev(info);
            }
        }));
    });
}

/// This thread's CPU time in seconds (utime + stime of /proc/thread-self/stat, in ticks of
/// 10 ms), or None off Linux.
fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// `VmHWM` of /proc/self/status in kB, and a reset of it.
fn peak_rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[derive(Default, Debug)]
struct Totals {
    inputs: u64,
    valid: u64,
    findings: Vec<String>,
    max_batch_rss_kb: u64,
    slowest_cpu: f64,
}

/// Fuzzes `n` inputs from `seed`; every finding is described with its input.
fn fuzz(n: u64, seed: u64, verbose: bool) -> Totals {
    install_hook();
    let c = corpus();
    let tmp = scratch("fuzz");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = Totals::default();
    let mut reported = 0;
    let start = Instant::now();
    reset_peak_rss();
    QUIET.with(|q| *q.borrow_mut() = true);
    while t.inputs < n {
        let (target, bytes, path) = make_input(&c, &mut rng);
        let (wall, cpu0) = (Instant::now(), thread_cpu_secs());
        let r = panic::catch_unwind(AssertUnwindSafe(|| exercise(target, &bytes, &path, &tmp)));
        let show = || {
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(4000)
                .collect::<String>()
        };
        match r {
            Ok(valid) => t.valid += u64::from(valid),
            Err(_) => {
                let msg = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
                t.findings
                    .push(format!("panic ({target:?}): {msg}\n{}", show()));
            }
        }
        if wall.elapsed().as_secs_f64() > HANG_SECS {
            let cpu = match (cpu0, thread_cpu_secs()) {
                (Some(a), Some(b)) => b - a,
                _ => wall.elapsed().as_secs_f64(),
            };
            t.slowest_cpu = t.slowest_cpu.max(cpu);
            if cpu > HANG_SECS {
                t.findings
                    .push(format!("hang ({target:?}): {cpu:.2} s CPU\n{}", show()));
            }
        }
        t.inputs += 1;
        if verbose && t.findings.len() > reported {
            for f in &t.findings[reported..] {
                eprintln!("FINDING at input {}: {f}\n", t.inputs);
            }
            reported = t.findings.len();
        }
        if t.inputs % BATCH as u64 == 0 || t.inputs == n {
            let kb = peak_rss_kb().unwrap_or(0);
            t.max_batch_rss_kb = t.max_batch_rss_kb.max(kb);
            if kb > MAX_RSS_KB {
                t.findings.push(format!(
                    "batch ending at input {}: peak RSS {kb} kB",
                    t.inputs
                ));
            }
            reset_peak_rss();
            if verbose && t.inputs % 10_000 == 0 {
                let secs = start.elapsed().as_secs_f64();
                eprintln!(
                    "fuzz: {} inputs, {} valid, {} findings, {:.0} inputs/s",
                    t.inputs,
                    t.valid,
                    t.findings.len(),
                    t.inputs as f64 / secs
                );
            }
        }
    }
    QUIET.with(|q| *q.borrow_mut() = false);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz: {} inputs ({} valid), {} findings, {:.1} s, {:.0} inputs/s, max batch peak RSS {} MB, slowest input {:.2} s CPU",
        t.inputs,
        t.valid,
        t.findings.len(),
        secs,
        t.inputs as f64 / secs,
        t.max_batch_rss_kb / 1024,
        t.slowest_cpu
    );
    t
}

/// A few hundred inputs in every `cargo test` (no panic, no hang; memory is left to the long
/// run, as tests running in parallel share the process's resident set).
#[test]
fn fuzz_smoke() {
    let t = fuzz(300, 1, false);
    let panics: Vec<&String> = t
        .findings
        .iter()
        .filter(|f| !f.starts_with("batch"))
        .collect();
    assert!(
        panics.is_empty(),
        "{}",
        panics.first().map_or("", |s| s.as_str())
    );
    assert!(
        t.valid > 0,
        "the generator's scenarios stay valid often enough"
    );
}

/// The long run: `KUBESIM_FUZZ_INPUTS` inputs (default 1,000,000) from `KUBESIM_FUZZ_SEED`.
#[test]
#[ignore]
fn fuzz_long() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let t = fuzz(
        env("KUBESIM_FUZZ_INPUTS", 1_000_000),
        env("KUBESIM_FUZZ_SEED", 7),
        true,
    );
    assert!(t.findings.is_empty(), "{} findings", t.findings.len());
}

/// Fuzz finding 148474 (seed 7): the longest valid `node-monitor-period` (9,223,372,036 s, the
/// clock's limit) overflowed the lazy monitor pass's parking cap. The run must reach its
/// duration with its 4 nodes (2 per zone).
#[test]
fn fuzz_finding_148474_longest_node_monitor_period_runs() {
    let text = "name: longest-monitor-period\nseed: 48\ncluster:\n  nodePools:\n  - name: w\n    count: 2\n    zones: [z0, z1]\n    capacity: {cpu: \"4\", memory: 8Gi, pods: \"110\"}\ncomponents:\n  kube-controller-manager: {node-monitor-period: 9223372036s, node-monitor-grace-period: 29s}\nduration: 120s\n";
    let s = scenario::load_str(text, Path::new("longest.yaml"), &[]).expect("valid scenario");
    let out = run(&s, &RunOptions::default());
    assert_eq!(out.stop, kubesim::sim::StopReason::DurationReached);
    assert_eq!(
        out.end,
        kubesim::sim::SimTime::ZERO + SimDuration::from_secs(120)
    );
    assert_eq!(out.final_nodes, 4);
}
