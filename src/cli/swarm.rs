//! `kubesim swarm`: runs the swarm (src/study/swarm.rs) over a range of seeds, writes a
//! reproducer scenario for every failing seed and prints the command that replays it; `--replay`
//! checks one scenario file the same way.
//!
//! Invariant: standard output depends only on the seeds (identical for any `--jobs`); the wall
//! time and seeds/s go to standard error.

// The CLI is where wall-clock timing belongs (clippy.toml bans it everywhere else).
#![allow(clippy::disallowed_types)]

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::study::swarm::{self, FailureKind, SeedResult};

#[derive(Args)]
pub struct SwarmArgs {
    /// Seeds: `N` (1 to N) or `A..B` (A to B, both included).
    #[arg(long, default_value = "100")]
    seeds: String,
    /// Seeds checked at once (threads; 0: one per core). The output does not depend on it.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Where reproducers of failing seeds are written.
    #[arg(long, default_value = "swarm-failures")]
    out: PathBuf,
    /// Do not shrink failing scenarios (faster; the reproducer is the generated scenario).
    #[arg(long)]
    no_shrink: bool,
    /// Write every seed's scenario to `--out`, not only the failing ones.
    #[arg(long)]
    keep_all: bool,
    /// Check one scenario file (a reproducer) instead of generating any.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
}

/// `N` → 1..=N; `A..B` → A..=B.
fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("--seeds {s:?}: expected N or A..B (unsigned integers, A ≤ B)");
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (
            a.trim().parse::<u64>().map_err(|_| bad())?,
            b.trim().parse::<u64>().map_err(|_| bad())?,
        ),
        None => (1, s.trim().parse::<u64>().map_err(|_| bad())?),
    };
    if a > b || b - a >= 100_000_000 {
        return Err(bad());
    }
    Ok((a..=b).collect())
}

pub fn swarm_command(a: &SwarmArgs) -> i32 {
    // A panicking run is a finding, reported with its seed: one line on standard error here
    // instead of the default hook's backtrace.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("panic at {at}: {}", panic_message(info.payload()));
    }));
    if let Some(file) = &a.replay {
        return replay(file);
    }
    let seeds = match parse_seeds(&a.seeds) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let started = Instant::now();
    let results = swarm::swarm(&seeds, a.jobs, !a.no_shrink);
    let wall = started.elapsed().as_secs_f64();
    let mut code = 0;
    for r in &results {
        if r.verdict.kind().is_some() {
            code = 1;
            if report_failure(r, &a.out).is_err() {
                code = 2;
            }
        } else if a.keep_all && write_scenario(r, &a.out).is_err() {
            code = 2;
        }
    }
    print_totals(&results);
    eprintln!(
        "wall: {wall:.1} s, {:.2} seeds/s ({} jobs)",
        results.len() as f64 / wall.max(1e-9),
        a.jobs
    );
    code
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

fn report_failure(r: &SeedResult, out: &std::path::Path) -> Result<(), ()> {
    let kind = r.verdict.kind().map_or("?", FailureKind::name);
    println!("seed {}: FAIL ({kind})", r.seed);
    for (k, m) in r.verdict.failures.iter().take(10) {
        println!("  {}: {m}", k.name());
    }
    match write_scenario(r, out) {
        Ok(file) => {
            println!(
                "  reproducer: {} ({} faults, {} workload entries)",
                file.display(),
                r.faults,
                r.workloads
            );
            println!("  replay: kubesim swarm --replay {}", file.display());
            Ok(())
        }
        Err(()) => Err(()),
    }
}

fn write_scenario(r: &SeedResult, out: &std::path::Path) -> Result<PathBuf, ()> {
    let file = out.join(format!("seed-{}.yaml", r.seed));
    match std::fs::create_dir_all(out).and_then(|()| std::fs::write(&file, &r.scenario)) {
        Ok(()) => Ok(file),
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", file.display());
            Err(())
        }
    }
}

fn print_totals(results: &[SeedResult]) {
    let failed = results
        .iter()
        .filter(|r| r.verdict.kind().is_some())
        .count();
    let runs: u64 = results.iter().map(|r| u64::from(r.verdict.runs)).sum();
    let events: u64 = results.iter().map(|r| r.verdict.engine_events).sum();
    let simulated: f64 = results
        .iter()
        .map(|r| r.verdict.simulated.as_secs_f64() * f64::from(r.verdict.runs))
        .sum();
    let by_kind: Vec<String> = FailureKind::ALL
        .iter()
        .map(|k| {
            let n = results
                .iter()
                .filter(|r| r.verdict.kind() == Some(*k))
                .count();
            format!("{} {n}", k.name())
        })
        .collect();
    println!(
        "swarm: {} seeds, {} passed, {failed} failed ({}); {runs} runs, {events} engine events, {:.1} simulated hours",
        results.len(),
        results.len() - failed,
        by_kind.join(", "),
        simulated / 3600.0
    );
}

fn replay(file: &std::path::Path) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: error: cannot read: {e}", file.display());
            return 2;
        }
    };
    let v = swarm::check_text(&text, 0);
    if v.kind() == Some(FailureKind::Invalid) {
        for (_, m) in &v.failures {
            eprintln!("{m}");
        }
        return 2;
    }
    for (k, m) in &v.failures {
        println!("{}: {m}", k.name());
    }
    println!(
        "{}: {} ({} runs, {} engine events, digest {})",
        file.display(),
        if v.failures.is_empty() {
            "PASS"
        } else {
            "FAIL"
        },
        v.runs,
        v.engine_events,
        v.digest
    );
    i32::from(!v.failures.is_empty())
}
