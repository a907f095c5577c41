//! `kubesim diff A B`: two results directories, or two scenario files it runs itself (with
//! `--set`, `--set-a`, `--set-b`, `--seed`), compared by `output::diff`. Exit 0, or 1 when a
//! `--fail-on` condition is violated, 2 on a usage or input error.
//!
//! Invariant: thin: it reads arguments, runs or reads the two sides, prints the library's
//! report and maps verdicts to the exit code.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::output::diff::{self, Side};
use crate::run::{self, RunOptions};
use crate::scenario;

#[derive(Args)]
pub struct DiffArgs {
    /// Side A: a results directory (`kubesim run --out`) or a scenario file.
    a: PathBuf,
    /// Side B: the same kinds.
    b: PathBuf,
    /// A flag override for both scenarios (`component.flag=value`). Repeatable.
    #[arg(long = "set", value_name = "COMPONENT.FLAG=VALUE")]
    set: Vec<String>,
    /// A flag override for scenario A only, after `--set`. Repeatable.
    #[arg(long = "set-a", value_name = "COMPONENT.FLAG=VALUE")]
    set_a: Vec<String>,
    /// A flag override for scenario B only, after `--set`. Repeatable.
    #[arg(long = "set-b", value_name = "COMPONENT.FLAG=VALUE")]
    set_b: Vec<String>,
    /// The seed of both scenario runs (default: each scenario's own).
    #[arg(long)]
    seed: Option<u64>,
    /// Write diff.txt and the overlay plot (diff.png, diff.svg) here (the rules of `run --out`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Exit 1 if violated: `METRIC>X` or `METRIC<X` on B − A, `A:METRIC…` / `B:METRIC…` on one
    /// side (METRIC: a summary.json path, or a name under `metrics.`). Repeatable.
    #[arg(long = "fail-on", value_name = "METRIC>THRESHOLD")]
    fail_on: Vec<String>,
    /// List unchanged metrics too.
    #[arg(long)]
    all: bool,
    /// Print only the --fail-on verdicts.
    #[arg(long, short)]
    quiet: bool,
}

fn load_side(label: &str, path: &Path, a: &DiffArgs, own: &[String]) -> Result<Side, String> {
    if path.is_dir() {
        if !own.is_empty() || !a.set.is_empty() || a.seed.is_some() {
            return Err(format!(
                "{}: a results directory is compared as it is; --set, --set-{} and --seed apply to scenario files",
                path.display(),
                label.to_lowercase()
            ));
        }
        return diff::read_dir(&path.display().to_string(), path);
    }
    let sets: Vec<String> = a.set.iter().chain(own).cloned().collect();
    let mut s = scenario::load(path, &sets).map_err(|e| e.to_string())?;
    if let Some(seed) = a.seed {
        s = s.with_seed(seed).map_err(|e| e.to_string())?;
    }
    let out = run::run(&s, &RunOptions::default());
    let mut name = format!("{} (seed {})", path.display(), out.seed);
    for x in &sets {
        name.push_str(&format!(" --set {x}"));
    }
    diff::side(
        &name,
        &crate::output::summary_json(&s, &out),
        &out.events_jsonl(),
        &out.timeseries.to_csv(),
    )
}

pub fn diff_command(a: &DiffArgs) -> i32 {
    let conds: Vec<diff::FailOn> = match a.fail_on.iter().map(|t| diff::parse_fail_on(t)).collect()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(dir) = &a.out {
        if let Err(e) = crate::output::resultdir::check_target(dir) {
            eprintln!("error: {e}");
            return 2;
        }
    }
    let (sa, sb) = match (
        load_side("A", &a.a, a, &a.set_a),
        load_side("B", &a.b, a, &a.set_b),
    ) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let text = diff::report(&sa, &sb, a.all);
    if !a.quiet {
        print!("{text}");
    }
    if let Some(dir) = &a.out {
        if let Err(e) = diff::write(dir, &sa, &sb, &text) {
            eprintln!("error: {e}");
            return 2;
        }
        if !a.quiet {
            println!("\ndiff: {}/ (diff.txt, diff.png, diff.svg)", dir.display());
        }
    }
    let verdicts = match diff::check_fail_on(&conds, &sa, &sb) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut code = 0;
    for v in verdicts {
        match v {
            Ok(m) => println!("fail-on {m}"),
            Err(m) => {
                println!("fail-on {m}");
                code = 1;
            }
        }
    }
    code
}
