//! Sweeps (`kubesim sweep`): the cross product of component-flag values × seeds, each cell one
//! run exactly as `kubesim run SCENARIO --set FLAG=VALUE … --seed S` would do it, run `jobs` at
//! a time, each finished cell handed to the caller to commit at once (the CLI writes it to the
//! sweep directory, so an interrupted sweep loses no finished cell).
//!
//! * **The grid.** `--set-grid FLAG=V1,V2,…` uses `--set`'s names and syntax (the scenario
//!   resolves every assignment, so a bad flag or value fails before any run). Cells are in a
//!   fixed order: flag combinations as an odometer (the first `--set-grid` turns slowest), the
//!   seeds innermost; cell `i` belongs to shard `I/N` when `i % N == I`.
//! * **The key** of a cell is FNV-1a 64 (the event-log digest's hash, `sim::trace`) of the
//!   kubesim version, the resolved scenario (every default and `--set` applied, manifests
//!   read; its file path and warnings left out), the flag assignment and the seed: changing
//!   the scenario, a manifest it reads, the grid or the seeds changes exactly the keys of the
//!   cells whose inputs changed.
//! * **A cell's record** keeps the digest, the number of logged events and every numeric leaf
//!   of the run's `summary.json` ([`flatten_metrics`]), as text exactly as the summary wrote
//!   it, so tables built from committed records are byte-identical to tables built from fresh
//!   ones. The tables are in `table.rs`, the Indexed Job that shards a sweep in `job.rs`.
//!
//! Invariant: no I/O and no wall clock here (the scenario loader, the summary and the commit
//! are the caller's); threads only across cells (`rayon`), and every result in cell order,
//! whatever the number of threads.

pub mod job;
pub mod table;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::run::{self, RunOptions, RunOutput};
use crate::scenario::Scenario;
use crate::sim::trace::{digest_string, fnv1a64};

/// One swept flag and its values, in the order given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    pub flag: String,
    pub values: Vec<String>,
}

/// Parses `--set-grid FLAG=V1,V2,…` arguments (values split at commas, so a value cannot hold
/// one). A flag given twice, in two `--set-grid`s or in `--set-grid` and `--set`, is an error.
pub fn parse_axes(grid: &[String], fixed: &[String]) -> Result<Vec<Axis>, String> {
    let mut axes: Vec<Axis> = Vec::new();
    for g in grid {
        let Some((flag, values)) = g.split_once('=') else {
            return Err(format!(
                "--set-grid {g:?}: expected COMPONENT.FLAG=V1,V2,… (the flag names of --set)"
            ));
        };
        let flag = flag.trim();
        if !flag.contains('.') {
            return Err(format!(
                "--set-grid {g:?}: expected COMPONENT.FLAG=V1,V2,… (the flag names of --set)"
            ));
        }
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if values.iter().any(|v| v.is_empty()) {
            return Err(format!("--set-grid {g:?}: an empty value"));
        }
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                return Err(format!("--set-grid {g:?}: the value {v:?} is listed twice"));
            }
        }
        if axes.iter().any(|a| a.flag == flag) {
            return Err(format!("--set-grid: {flag} is swept twice"));
        }
        if fixed
            .iter()
            .any(|s| s.split_once('=').is_some_and(|(f, _)| f.trim() == flag))
        {
            return Err(format!("{flag} is both set (--set) and swept (--set-grid)"));
        }
        axes.push(Axis {
            flag: flag.to_string(),
            values,
        });
    }
    Ok(axes)
}

/// `N` → seeds 1..=N; `A..B` → A..=B (both included).
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("--seeds {s:?}: expected N or A..B (unsigned integers, A ≤ B)");
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (
            a.trim().parse::<u64>().map_err(|_| bad())?,
            b.trim().parse::<u64>().map_err(|_| bad())?,
        ),
        None => (1, s.trim().parse::<u64>().map_err(|_| bad())?),
    };
    if a > b || b - a >= 10_000_000 {
        return Err(bad());
    }
    Ok((a..=b).collect())
}

/// A shard `I/N` of the cells: those whose index is `I` modulo `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: expected I/N with 0 ≤ I < N");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn holds(self, cell_index: usize) -> bool {
        cell_index % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One flag combination: its assignment (one value per axis, axis order) and the scenario
/// resolved with it.
pub struct Combo {
    pub assignment: Vec<(String, String)>,
    pub scenario: Scenario,
    /// [`fingerprint`] of the resolved scenario.
    pub fingerprint: String,
}

/// One run of the sweep.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Position in the cell order.
    pub index: usize,
    /// Index into [`Plan::combos`].
    pub combo: usize,
    pub seed: u64,
    /// [`cell_key`]: the name of its committed record.
    pub key: String,
}

/// Every cell of a sweep, in order.
pub struct Plan {
    pub axes: Vec<Axis>,
    pub seeds: Vec<u64>,
    /// The `--set` overrides applied to every cell.
    pub fixed: Vec<String>,
    pub combos: Vec<Combo>,
    pub cells: Vec<Cell>,
}

/// Resolves the scenario with a list of `--set` overrides (the caller reads the file).
pub type Loader<'a> = dyn FnMut(&[String]) -> Result<Scenario, String> + 'a;

impl Plan {
    /// Resolves every flag combination with `load` (fixed overrides first, then the
    /// combination's, as `kubesim run --set … --set FLAG=V` does) and lists the cells.
    pub fn new(
        axes: Vec<Axis>,
        seeds: Vec<u64>,
        fixed: Vec<String>,
        load: &mut Loader,
    ) -> Result<Plan, String> {
        if seeds.is_empty() {
            return Err("no seeds".into());
        }
        let mut combos = Vec::new();
        for assignment in assignments(&axes) {
            let mut overrides = fixed.clone();
            overrides.extend(assignment.iter().map(|(f, v)| format!("{f}={v}")));
            let scenario = load(&overrides)?;
            let fingerprint = fingerprint(&scenario);
            combos.push(Combo {
                assignment,
                scenario,
                fingerprint,
            });
        }
        let mut cells = Vec::with_capacity(combos.len() * seeds.len());
        for (c, combo) in combos.iter().enumerate() {
            for &seed in &seeds {
                cells.push(Cell {
                    index: cells.len(),
                    combo: c,
                    seed,
                    key: cell_key(&combo.fingerprint, &combo.assignment, seed),
                });
            }
        }
        Ok(Plan {
            axes,
            seeds,
            fixed,
            combos,
            cells,
        })
    }

    /// The cells of a shard (all cells without one), in order.
    pub fn shard(&self, shard: Option<Shard>) -> Vec<&Cell> {
        self.cells
            .iter()
            .filter(|c| shard.is_none_or(|s| s.holds(c.index)))
            .collect()
    }

    /// What `sweep.json` records, for a merge to check that shards belong together.
    pub fn manifest(&self, shard: Option<Shard>) -> Manifest {
        Manifest {
            kubesim: env!("CARGO_PKG_VERSION").to_string(),
            scenario: self
                .combos
                .first()
                .map(|c| c.scenario.name.clone())
                .unwrap_or_default(),
            axes: self.axes.clone(),
            seeds: self.seeds.clone(),
            fixed: self.fixed.clone(),
            shard,
            cells: self.cells.iter().map(|c| c.key.clone()).collect(),
        }
    }
}

/// The plan of a sweep as written to `sweep.json`: enough to merge shards without the
/// scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub kubesim: String,
    pub scenario: String,
    pub axes: Vec<Axis>,
    pub seeds: Vec<u64>,
    pub fixed: Vec<String>,
    pub shard: Option<Shard>,
    /// Every cell's key, in cell order (all shards).
    pub cells: Vec<String>,
}

impl Manifest {
    /// Whether two manifests describe the same sweep (they may differ in the shard).
    pub fn same_sweep(&self, other: &Manifest) -> bool {
        self.axes == other.axes
            && self.seeds == other.seeds
            && self.cells == other.cells
            && self.fixed == other.fixed
    }
}

/// Every flag combination, the first axis turning slowest; one empty assignment without axes.
fn assignments(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for a in axes {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                a.values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push((a.flag.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    out
}

/// A stable digest of what a resolved scenario makes a run do: its `Debug` rendering (every
/// type of the spec is ordered: no hash maps) without the file path and the load warnings,
/// which do not change a run.
pub fn fingerprint(s: &Scenario) -> String {
    let mut s = s.clone();
    s.spec.file = PathBuf::new();
    s.spec.warnings.clear();
    digest_string(format!("{s:?}").as_bytes())
}

/// The key of a cell: 16 hex digits of FNV-1a 64 over the kubesim version, the scenario's
/// [`fingerprint`], the assignment and the seed.
pub fn cell_key(fingerprint: &str, assignment: &[(String, String)], seed: u64) -> String {
    let mut text = format!(
        "kubesim-sweep-cell 1\nkubesim {}\nscenario {fingerprint}\n",
        env!("CARGO_PKG_VERSION")
    );
    for (f, v) in assignment {
        text.push_str(&format!("set {f}={v}\n"));
    }
    text.push_str(&format!("seed {seed}\n"));
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

/// What a finished cell keeps: committed as one file, read back on a rerun.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellRecord {
    pub key: String,
    pub assignment: Vec<(String, String)>,
    pub seed: u64,
    pub digest: String,
    /// Records of the event log (`events.jsonl` lines).
    pub events: u64,
    /// `summary.json`'s numeric leaves, dotted paths, text as written; `None` for a null.
    pub metrics: Vec<(String, Option<String>)>,
}

/// One cell's run: exactly `kubesim run` with the combination's `--set`s and `--seed`.
pub fn run_cell(plan: &Plan, cell: &Cell) -> RunOutput {
    let s = &plan.combos[cell.combo].scenario;
    run::run(
        s,
        &RunOptions {
            seed: Some(cell.seed),
            ..RunOptions::default()
        },
    )
}

/// The record of a finished cell, from its run and its `summary.json` bytes.
pub fn record(
    plan: &Plan,
    cell: &Cell,
    out: &RunOutput,
    summary: &[u8],
) -> Result<CellRecord, String> {
    let v: serde_json::Value = serde_json::from_slice(summary)
        .map_err(|e| format!("summary.json of cell {}: {e}", cell.key))?;
    Ok(CellRecord {
        key: cell.key.clone(),
        assignment: plan.combos[cell.combo].assignment.clone(),
        seed: cell.seed,
        digest: out.digest.clone(),
        events: out.records.len() as u64,
        metrics: flatten_metrics(&v),
    })
}

/// Every numeric leaf of a summary (JSON numbers, and strings holding a plain decimal number,
/// as `summary.json` writes seconds) and every null (an absent measurement), by dotted path:
/// object keys in order, array elements by index (`faults.0.time_to_taint_s`). Left out at the
/// top level: `seed` (a column of its own) and `expectations` (the text of the scenario's
/// `expect:` checks, not measurements). Text is kept as written.
pub fn flatten_metrics(v: &serde_json::Value) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    if let serde_json::Value::Object(m) = v {
        for (k, x) in m {
            if k != "seed" && k != "expectations" {
                walk(k.clone(), x, &mut out);
            }
        }
    }
    out
}

fn walk(path: String, v: &serde_json::Value, out: &mut Vec<(String, Option<String>)>) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                walk(format!("{path}.{k}"), x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(format!("{path}.{i}"), x, out);
            }
        }
        Value::Number(n) => out.push((path, Some(n.to_string()))),
        Value::String(s) if is_decimal(s) => out.push((path, Some(s.clone()))),
        Value::Null => out.push((path, None)),
        Value::String(_) | Value::Bool(_) => {}
    }
}

/// `-?digits(.digits)?`: what `summary.json` writes for seconds (no `NaN`, `inf` or `1e5`).
pub fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac)
}

/// What the caller does with each cell: `summarize` renders its `summary.json` (the output
/// layer's), `commit` stores its record (and may keep the run); both are called on the
/// cell's thread as soon as it finishes.
pub struct Hooks<'a> {
    pub summarize: &'a (dyn Fn(&Scenario, &RunOutput) -> Vec<u8> + Sync),
    pub commit: &'a (dyn Fn(&CellRecord, &Scenario, &RunOutput) -> Result<(), String> + Sync),
}

/// Runs `cells`, `jobs` at a time (0: one per core), committing each as it finishes; the
/// records in the order of `cells`, whatever the thread count.
pub fn execute(
    plan: &Plan,
    cells: &[&Cell],
    jobs: usize,
    hooks: &Hooks,
) -> Vec<Result<CellRecord, String>> {
    let one = |cell: &&Cell| -> Result<CellRecord, String> {
        let out = run_cell(plan, cell);
        let s = &plan.combos[cell.combo].scenario;
        let summary = (hooks.summarize)(s, &out);
        let rec = record(plan, cell, &out, &summary)?;
        (hooks.commit)(&rec, s, &out)?;
        Ok(rec)
    };
    match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool.install(|| cells.par_iter().map(one).collect()),
        Err(_) => cells.iter().map(one).collect(),
    }
}
