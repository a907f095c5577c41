//! `kubesim sweep`: flag values × seeds (src/study/sweep), resumable in a sweep directory
//! (src/output/sweep.rs), sharded with `--shard I/N`, emitted as an Indexed Job with
//! `--emit-job`, and `kubesim sweep merge` of shard directories. See docs/sweep.md.
//!
//! Invariant: standard output depends only on the inputs and on which cells were already
//! committed (identical for any `--jobs`); wall time and cells/s go to standard error, the
//! progress bar only to a terminal and never under `-q`.

// The CLI is where wall-clock timing belongs (clippy.toml bans it everywhere else).
#![allow(clippy::disallowed_types)]

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::OutputFormat;
use crate::output::json::{sweep_summary, CommandJson};
use crate::output::sweep::{self as dir, Plotted, SweepDir};
use crate::output::{self, Perf};
use crate::scenario;
use crate::study::sweep::{self, job, CellRecord, Hooks, Plan, Shard};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    /// The scenario file (YAML).
    #[arg(required = true)]
    scenario: Option<PathBuf>,
    /// A flag and its values: `component.flag=V1,V2,…` (the names of `--set`). Repeatable:
    /// the sweep runs the cross product.
    #[arg(long = "set-grid", value_name = "COMPONENT.FLAG=V1,V2,…")]
    set_grid: Vec<String>,
    /// A flag fixed for every cell, as for `run`. Repeatable.
    #[arg(long = "set", value_name = "COMPONENT.FLAG=VALUE")]
    set: Vec<String>,
    /// Seeds of every flag combination: `N` (1 to N) or `A..B` (both included).
    #[arg(long, default_value = "10")]
    seeds: String,
    /// Cells run at once (threads; 0: one per core). The results do not depend on it.
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// The sweep directory (default: results/<scenario file stem>-sweep/). A rerun with the
    /// same directory reuses every finished cell.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The metric to plot: a column of cells.csv (default: the last-taint time if there is
    /// one, else evictions_total).
    #[arg(long)]
    metric: Option<String>,
    /// Also write every cell's full result (events.jsonl, …) under DIR/runs/<key>/.
    #[arg(long)]
    keep_runs: bool,
    /// Run only shard I of N: the cells whose index is I modulo N.
    #[arg(long, value_name = "I/N", conflicts_with = "emit_job")]
    shard: Option<String>,
    /// Print a ConfigMap and an Indexed Job that run the sweep in --shards pods (no run).
    #[arg(long, requires_all = ["image", "shards"])]
    emit_job: bool,
    /// With --emit-job: the container image (with kubesim as its entry point; see Dockerfile).
    #[arg(long, requires = "emit_job")]
    image: Option<String>,
    /// With --emit-job: the number of shards (pods).
    #[arg(long, requires = "emit_job")]
    shards: Option<usize>,
    /// With --emit-job: a PersistentVolumeClaim for the results (default: an emptyDir).
    #[arg(long, requires = "emit_job")]
    results_pvc: Option<String>,
    /// With --emit-job: where the results volume is mounted; shard I writes PATH/shard-I.
    #[arg(long, default_value = "/results")]
    results_path: String,
    /// With --emit-job: the Job's name (default: kubesim-sweep-<scenario name>).
    #[arg(long, requires = "emit_job")]
    job_name: Option<String>,
    /// Print only the final lines (and no progress bar).
    #[arg(long, short)]
    quiet: bool,
    /// Output format: text lines, or one JSON document on standard output (the directory,
    /// cells run and reused, the paths written and the aggregate per flag combination).
    #[arg(long, value_enum, default_value = "text", conflicts_with = "emit_job")]
    output: OutputFormat,
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Merge shard directories into the cells.csv / aggregate.csv a one-process sweep writes.
    #[command(after_help = "Examples:
  kubesim sweep merge results/shard-0 results/shard-1 --out results/sweep")]
    Merge(MergeArgs),
}

#[derive(Args)]
struct MergeArgs {
    /// The shard directories (`--out` of each `--shard` run).
    #[arg(required = true, num_args = 1..)]
    dirs: Vec<PathBuf>,
    /// The merged sweep directory.
    #[arg(long)]
    out: PathBuf,
    /// The metric to plot, as for `sweep`.
    #[arg(long)]
    metric: Option<String>,
}

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    2
}

pub fn sweep_command(a: &SweepArgs) -> i32 {
    if let Some(SweepCommand::Merge(m)) = &a.command {
        return merge(m);
    }
    let Some(path) = &a.scenario else {
        return fail("a scenario file is required");
    };
    let plan = match plan(a, path) {
        Ok(p) => p,
        Err(e) => {
            // Scenario errors carry their own `file: error:` prefix.
            eprintln!("{e}");
            return 2;
        }
    };
    if a.emit_job {
        return emit_job(a, path, &plan);
    }
    let shard = match a.shard.as_deref().map(Shard::parse).transpose() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let out = a.out.clone().unwrap_or_else(|| default_out(path));
    let d = match SweepDir::open(&out) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    run_sweep(a, &plan, shard, &d)
}

fn plan(a: &SweepArgs, path: &Path) -> Result<Plan, String> {
    let axes = sweep::parse_axes(&a.set_grid, &a.set).map_err(|e| format!("error: {e}"))?;
    let seeds = sweep::parse_seeds(&a.seeds).map_err(|e| format!("error: {e}"))?;
    let mut warned = false;
    let mut load = |sets: &[String]| {
        let s = scenario::load(path, sets).map_err(|e| e.to_string())?;
        if !warned {
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            warned = true;
        }
        Ok(s)
    };
    Plan::new(axes, seeds, a.set.clone(), &mut load).map_err(|e| {
        if e.contains("error:") {
            e
        } else {
            format!("error: {e}")
        }
    })
}

fn default_out(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "sweep".into());
    PathBuf::from("results").join(format!("{stem}-sweep"))
}

/// Test hook: `KUBESIM_TEST_SWEEP_ABORT_AFTER=N` ends the process (as SIGKILL would, exit
/// 137) right after it has committed its N-th cell.
fn abort_after() -> Result<Option<usize>, String> {
    match std::env::var("KUBESIM_TEST_SWEEP_ABORT_AFTER") {
        Ok(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("KUBESIM_TEST_SWEEP_ABORT_AFTER={v:?} is not a count")),
        Err(_) => Ok(None),
    }
}

fn progress_bar(quiet: bool, len: usize) -> ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() || len == 0 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    match ProgressStyle::with_template("[{bar:20}] {pos}/{len} cells · {per_sec} · ETA {eta}") {
        Ok(style) => bar.with_style(style.progress_chars("=> ")),
        Err(_) => bar,
    }
}

fn run_sweep(a: &SweepArgs, plan: &Plan, shard: Option<Shard>, d: &SweepDir) -> i32 {
    let abort_at = match abort_after() {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let cells = plan.shard(shard);
    let reused: Vec<Option<CellRecord>> = cells.iter().map(|c| d.load_cell(&c.key)).collect();
    let todo: Vec<&sweep::Cell> = cells
        .iter()
        .zip(&reused)
        .filter(|(_, r)| r.is_none())
        .map(|(c, _)| *c)
        .collect();
    let n_reused = cells.len() - todo.len();
    let json = a.output == OutputFormat::Json;
    let head = format!(
        "sweep of {}: {} × {} = {} cells{}; {n_reused} reused from {}, {} to run",
        plan.combos.first().map_or("", |c| c.scenario.name.as_str()),
        plural(plan.combos.len(), "flag combination"),
        plural(plan.seeds.len(), "seed"),
        plan.cells.len(),
        shard.map_or(String::new(), |s| format!(
            ", shard {s}: {} cells",
            cells.len()
        )),
        d.dir.join("cells").display(),
        todo.len()
    );
    // With --output json, stdout holds the document alone.
    if json {
        eprintln!("{head}");
    } else {
        println!("{head}");
    }
    let bar = progress_bar(a.quiet, todo.len());
    let committed = AtomicUsize::new(0);
    let commit = |rec: &CellRecord, s: &scenario::Scenario, out: &crate::run::RunOutput| {
        d.commit_cell(rec).map_err(|e| e.to_string())?;
        if a.keep_runs {
            let perf = Perf {
                wall_seconds: 0.0,
                engine_events: out.engine_events,
                events_per_second: 0.0,
                simulated_seconds_per_wall_second: 0.0,
                peak_memory_bytes: None,
            };
            output::write_results(&d.run_dir(&rec.key), s, out, &perf, false, &mut |_| {})
                .map_err(|e| e.to_string())?;
        }
        bar.inc(1);
        let n = committed.fetch_add(1, Ordering::SeqCst) + 1;
        if abort_at == Some(n) {
            std::process::exit(137);
        }
        Ok(())
    };
    let started = Instant::now();
    let fresh = sweep::execute(
        plan,
        &todo,
        a.jobs,
        &Hooks {
            summarize: &output::summary_json,
            commit: &commit,
        },
    );
    let wall = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let mut fresh = fresh.into_iter();
    let mut records = Vec::with_capacity(cells.len());
    for r in reused {
        match r.map(Ok).or_else(|| fresh.next()) {
            Some(Ok(rec)) => records.push(rec),
            Some(Err(e)) => return fail(e),
            None => return fail("a cell went missing"),
        }
    }
    eprintln!(
        "wall: {wall:.1} s, {:.2} cells/s ({} run, jobs {})",
        todo.len() as f64 / wall.max(1e-9),
        todo.len(),
        if a.jobs == 0 {
            "= cores".to_string()
        } else {
            a.jobs.to_string()
        }
    );
    let counts = json.then_some((todo.len(), n_reused));
    finish(
        d,
        &plan.manifest(shard),
        &records,
        a.metric.as_deref(),
        counts,
    )
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Writes the tables, plot and report; prints the results line, or with `json` (the cells
/// run and reused) the one JSON document.
fn finish(
    d: &SweepDir,
    m: &sweep::Manifest,
    records: &[CellRecord],
    metric: Option<&str>,
    json: Option<(usize, usize)>,
) -> i32 {
    let written = dir::write_tables(d, m, records, metric).map_err(|e| e.to_string());
    let Some((run, reused)) = json else {
        let results = |plot: &str| {
            println!(
                "results: {}/ (cells.csv, aggregate.csv, report.html{plot})",
                d.dir.display()
            );
        };
        return match written {
            Ok(Plotted::Metric(x)) => {
                results(&format!(", sweep.png and sweep.svg ({x})"));
                0
            }
            Ok(Plotted::Nothing(why)) => {
                results(&format!(" (no plot: {why})"));
                0
            }
            Ok(Plotted::UnknownMetric(msg)) => {
                results("");
                fail(msg)
            }
            Err(e) => fail(e),
        };
    };
    let mut files = vec!["sweep.json", "cells.csv", "aggregate.csv", "report.html"];
    let (code, plotted, error) = match written {
        Ok(Plotted::Metric(x)) => {
            files.extend(["sweep.png", "sweep.svg"]);
            (0, Some(x), None)
        }
        Ok(Plotted::Nothing(_)) => (0, None, None),
        Ok(Plotted::UnknownMetric(msg)) => (2, None, Some(msg)),
        Err(e) => (2, None, Some(e)),
    };
    let mut doc = CommandJson::of_study(
        "sweep",
        sweep_summary(m, records, run, reused, plotted.as_deref()),
    );
    doc.exit_code = code;
    doc.results_dir = Some(d.dir.display().to_string());
    doc.paths = files
        .iter()
        .map(|f| d.dir.join(f))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if code != 0 {
        if let Some(e) = &error {
            eprintln!("error: {e}");
            doc.errors.push(e.clone());
        }
    }
    print!("{}", doc.to_text());
    code
}

fn merge(m: &MergeArgs) -> i32 {
    let (manifest, records) = match dir::gather(&m.dirs) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let d = match SweepDir::open(&m.out) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    for r in &records {
        if let Err(e) = d.commit_cell(r) {
            return fail(e);
        }
    }
    println!(
        "merged {} directories: {} cells of {}",
        m.dirs.len(),
        records.len(),
        manifest.scenario
    );
    finish(&d, &manifest, &records, m.metric.as_deref(), None)
}

/// The files a scenario names with `file:` (relative, inside its directory), recursively.
fn named_files(v: &serde_yaml::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, x) in m {
                match (k.as_str(), x.as_str()) {
                    (Some("file"), Some(f)) => out.push(f.to_string()),
                    _ => named_files(x, out),
                }
            }
        }
        serde_yaml::Value::Sequence(s) => s.iter().for_each(|x| named_files(x, out)),
        _ => {}
    }
}

/// The scenario and the files it names, as (path relative to the scenario's directory, text).
fn job_files(path: &Path) -> Result<Vec<(String, String)>, String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))
    };
    let text = read(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or("the scenario path has no file name")?;
    let v: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| e.to_string())?;
    let mut named = Vec::new();
    named_files(&v, &mut named);
    named.sort();
    named.dedup();
    let mut files = vec![(name, text)];
    let base = path.parent().unwrap_or(Path::new("."));
    for f in named {
        let p = Path::new(&f);
        if !p.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(format!(
                "the scenario names {f:?}: --emit-job carries only files under the \
                 scenario's directory, named by a relative path without `..`"
            ));
        }
        files.push((f.clone(), read(&base.join(p))?));
    }
    Ok(files)
}

fn emit_job(a: &SweepArgs, path: &Path, plan: &Plan) -> i32 {
    let (Some(image), Some(shards)) = (&a.image, a.shards) else {
        return fail("--emit-job needs --image and --shards");
    };
    if shards == 0 || shards > plan.cells.len() {
        return fail(format!(
            "--shards {shards}: between 1 and the number of cells ({})",
            plan.cells.len()
        ));
    }
    let files = match job_files(path) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let scenario_name = plan.combos.first().map_or("", |c| c.scenario.name.as_str());
    let name = a
        .job_name
        .clone()
        .unwrap_or_else(|| job::job_name(scenario_name));
    let seeds = match (plan.seeds.first(), plan.seeds.last()) {
        (Some(x), Some(y)) => format!("{x}..{y}"),
        _ => return fail("no seeds"),
    };
    let req = job::JobRequest {
        name: &name,
        image,
        shards,
        files,
        grid: plan
            .axes
            .iter()
            .map(|ax| format!("{}={}", ax.flag, ax.values.join(",")))
            .collect(),
        fixed: plan.fixed.clone(),
        seeds,
        jobs: a.jobs.max(1),
        metric: a.metric.as_deref(),
        results_pvc: a.results_pvc.as_deref(),
        results_path: &a.results_path,
    };
    match job::render(&req) {
        Ok(yaml) => {
            print!("{yaml}");
            0
        }
        Err(e) => fail(e),
    }
}
