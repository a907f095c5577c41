//! `kubesim plan`: reads the scenario, hands the request to `study::plan`, draws a progress
//! line on a terminal, prints the table of candidates tried (or one JSON document with
//! `--output json`) and writes the result directory (`output::plan`).
//!
//! Invariant: standard output depends only on the scenario and the options, never on
//! `--jobs` or the wall clock (the wall time goes to standard error). Exit codes: 0 an answer
//! was found, 1 no candidate up to `--max-count` meets the goals, 2 usage or input error.

// The CLI is where wall-clock timing belongs (clippy.toml bans it everywhere else).
#![allow(clippy::disallowed_types)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::OutputFormat;
use crate::output::plan as out;
use crate::study::plan::{CaseKind, Plan, PlanReport, PlanRequest, DEFAULT_FAIL_AT, DEFAULT_GOAL};

#[derive(Args)]
pub struct PlanArgs {
    /// The scenario file (YAML) with `cluster.nodePools`.
    scenario: PathBuf,
    /// A node pool that may grow (repeatable; default: every pool). Counts are per zone.
    #[arg(long, value_name = "POOL")]
    grow: Vec<String>,
    /// A failure case (repeatable; default: `timeline`): `timeline` (the scenario's own),
    /// `failure-models` (the scenario's failureModels drawn at every seed of --seeds),
    /// `zone-down:ZONE[:DURATION]`, `each-zone-down[:DURATION]` (one case per zone) or
    /// `nodes-down:POOL:K[:DURATION]` (the pool's first K nodes in build order); no DURATION:
    /// for good.
    #[arg(long = "case", value_name = "CASE")]
    cases: Vec<String>,
    /// A goal (repeatable; default: `*:available>=100%:within=10m`):
    /// `WORKLOAD:available>=P%[:within=DURATION]` or `WORKLOAD:never-below=P%`; WORKLOAD is
    /// NAME, NAMESPACE/NAME or `*`.
    #[arg(long = "goal", value_name = "GOAL")]
    goals: Vec<String>,
    /// When a synthetic case's fault starts.
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_FAIL_AT)]
    fail_at: String,
    /// The largest count per zone the search tries.
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_count: u32,
    /// Runs at once (threads; 0: one per core). The result does not depend on it.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Seed of every run (overrides the scenario's `seed`).
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Run every case at each of these seeds, `N` (1 to N) or `A..B`; a candidate passes only
    /// if every seed passes (for `--case failure-models`: the faults drawn at each seed).
    #[arg(long, value_name = "N|A..B")]
    seeds: Option<String>,
    /// Override a component flag, as for `run`.
    #[arg(long = "set", value_name = "COMPONENT.FLAG=VALUE")]
    set: Vec<String>,
    /// Results directory (default: results/<scenario file stem>-plan/); new, empty or an
    /// earlier kubesim result (docs/outputs.md).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not render plan.png/plan.svg.
    #[arg(long)]
    no_plots: bool,
    /// Output format: the table (text) or one JSON document on standard output.
    #[arg(long, value_enum, default_value = "text")]
    output: OutputFormat,
    /// No progress line, only the answer.
    #[arg(long, short)]
    quiet: bool,
}

fn default_out(path: &std::path::Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "plan".into());
    PathBuf::from("results").join(format!("{stem}-plan"))
}

/// A spinner on stderr after one second: runs done and the round being run.
struct Spinner {
    started: Instant,
    bar: Mutex<Option<ProgressBar>>,
    on: bool,
}

impl Spinner {
    fn new(on: bool) -> Spinner {
        Spinner {
            started: Instant::now(),
            bar: Mutex::new(None),
            on: on && std::io::stderr().is_terminal(),
        }
    }

    fn tell(&self, runs: usize, what: &str) {
        if !self.on || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let b = bar.get_or_insert_with(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(s) = ProgressStyle::with_template("{spinner} {msg}") {
                b.set_style(s);
            }
            b
        });
        let mut msg = format!("plan: {runs} runs · {what}");
        msg.truncate(100);
        b.set_message(msg);
        b.tick();
    }

    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}

pub fn plan_command(a: &PlanArgs) -> i32 {
    let text = match crate::scenario::bounds::read_input(&a.scenario) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let seeds = match a.seeds.as_deref().map(crate::study::sweep::parse_seeds) {
        None => Vec::new(),
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let req = PlanRequest {
        text,
        path: a.scenario.clone(),
        overrides: a.set.clone(),
        seed: a.seed,
        seeds,
        grow: a.grow.clone(),
        cases: a.cases.clone(),
        goals: a.goals.clone(),
        fail_at: Some(a.fail_at.clone()),
        max_count: a.max_count,
    };
    let plan = match Plan::new(&req) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    let dir = a.out.clone().unwrap_or_else(|| default_out(&a.scenario));
    if let Err(e) = crate::output::resultdir::check_target(&dir) {
        eprintln!("error: {e}");
        return 2;
    }
    let json = a.output == OutputFormat::Json;
    if !json && !a.quiet {
        print_header(&plan);
    }
    let spinner = Spinner::new(!a.quiet && !json);
    let started = Instant::now();
    let report = plan.search(a.jobs, &|n, what| spinner.tell(n, what));
    spinner.finish();
    let wall = started.elapsed().as_secs_f64();
    if let Err(e) = out::write_plan(&dir, &plan, &report, !a.no_plots) {
        eprintln!("error: {e}");
        return 2;
    }
    let mut files = vec!["plan.csv", "plan.json"];
    if !a.no_plots {
        files.extend(["plan.png", "plan.svg"]);
    }
    files.push("report.html");
    if json {
        let mut doc = out::json(&plan, &report);
        doc["paths"] = serde_json::json!({
            "dir": dir.display().to_string(),
            "files": files.iter().map(|f| dir.join(f).display().to_string()).collect::<Vec<_>>(),
        });
        match serde_json::to_string_pretty(&doc) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("error: cannot render JSON: {e}");
                return 2;
            }
        }
    } else {
        if !a.quiet {
            print_table(&plan, &report);
        }
        print_answer(&plan, &report);
        println!("results: {}/ ({})", dir.display(), files.join(", "));
    }
    eprintln!(
        "wall: {wall:.1} s, {} runs, {} engine events ({} jobs)",
        report.runs, report.engine_events, a.jobs
    );
    i32::from(report.answer.is_none())
}

fn print_header(plan: &Plan) {
    let grown: Vec<String> = plan
        .grow
        .iter()
        .map(|p| {
            let pool = &plan.pools[*p];
            format!(
                "{} (count {} per zone, {} zones)",
                pool.name,
                pool.scenario_count,
                pool.zones.len().max(1)
            )
        })
        .collect();
    println!(
        "kubesim {} — plan for scenario {:?} ({})",
        env!("CARGO_PKG_VERSION"),
        plan.scenario_name,
        plan.path().display()
    );
    println!("grow: {}", grown.join(", "));
    let cases: Vec<&str> = plan.cases.iter().map(|c| c.name.as_str()).collect();
    if plan.cases.iter().any(|c| c.kind != CaseKind::Timeline) {
        println!(
            "cases: {} (synthetic faults at {})",
            cases.join(", "),
            plan.fail_at
        );
    } else {
        println!("cases: {}", cases.join(", "));
    }
    if let (Some(a), Some(b)) = (plan.seeds.first(), plan.seeds.last()) {
        println!(
            "seeds: {a}..{b} ({} runs per candidate and case; every seed must pass)",
            plan.seeds.len()
        );
    }
    let goals: Vec<&str> = plan.goals.iter().map(|g| g.text.as_str()).collect();
    println!(
        "goals: {}{}",
        goals.join(", "),
        if plan.goals.len() == 1 && plan.goals[0].text == DEFAULT_GOAL {
            " (default)"
        } else {
            ""
        }
    );
}

fn print_table(plan: &Plan, r: &PlanReport) {
    println!(
        "{:>3}  {:<7} {:<16} {:>5}  {:<24} {:<5} {:>8}  worst",
        "#", "round", "counts", "nodes", "case", "ok", "min avail"
    );
    for (i, t) in r.trials.iter().enumerate() {
        for (c, o) in plan.cases.iter().zip(&t.outcomes) {
            let worst = match (&o.error, plan.goals.len()) {
                (Some(e), _) => e.clone(),
                (None, 1) => o.worst.clone(),
                (None, _) => format!("{} ({})", o.worst, o.goal),
            };
            println!(
                "{:>3}  {:<7} {:<16} {:>5}  {:<24} {:<5} {:>8.1}%  {}",
                i + 1,
                t.round.name(),
                out::counts_label(plan, &t.counts),
                o.nodes,
                c.name,
                if o.passed { "PASS" } else { "FAIL" },
                o.min_available_percent,
                worst
            );
        }
    }
}

fn print_answer(plan: &Plan, r: &PlanReport) {
    let bounds: Vec<String> = r
        .lower_bounds
        .iter()
        .map(|(k, v)| format!("{k} ≥ {v}"))
        .collect();
    println!("resource lower bound: {}", bounds.join(", "));
    for n in &r.notes {
        println!("note: {n}");
    }
    println!(
        "answer: {}",
        crate::output::report_study::answer_line(plan, r)
    );
}
