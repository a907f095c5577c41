//! `--output json`: the one JSON document `run`, `check` and `sweep` print on stdout instead
//! of text (`plan` prints its own `plan.json` with the paths added): the command, its exit
//! code, the summary (a sweep's: the cells run and reused and the aggregate per flag
//! combination, [`sweep_summary`]), the expectation results and the paths written.
//!
//! Invariant: with `--output json` this document is the only thing on stdout; it is built from
//! the same values as the text output and `summary.json`.

use serde::Serialize;

use crate::run::RunOutput;
use crate::study::sweep::table::{self, Stats};
use crate::study::sweep::{CellRecord, Manifest};

/// One expectation's result.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectationJson {
    pub origin: String,
    pub description: String,
    pub expected: String,
    pub observed: String,
    pub passed: bool,
}

/// The document. `summary` is `summary.json`'s content for a run (any JSON for other
/// commands); `paths` the files written, each as a path the caller can open.
#[derive(Clone, Debug, Serialize)]
pub struct CommandJson {
    pub command: String,
    pub exit_code: i32,
    pub digest: Option<String>,
    pub summary: serde_json::Value,
    pub expectations_passed: usize,
    pub expectations_failed: usize,
    pub expectations: Vec<ExpectationJson>,
    pub invariant_violations: Vec<String>,
    pub results_dir: Option<String>,
    pub paths: Vec<String>,
    /// Errors that would have gone to stderr in text mode (they go there too).
    pub errors: Vec<String>,
}

impl CommandJson {
    /// The document of a `run` or `check`, before its exit code and paths are known.
    pub fn of_run(command: &str, out: &RunOutput, summary: serde_json::Value) -> Self {
        let expectations: Vec<ExpectationJson> = out
            .expectations
            .iter()
            .map(|e| ExpectationJson {
                origin: e.origin.clone(),
                description: e.description.clone(),
                expected: e.expected.clone(),
                observed: e.observed.clone(),
                passed: e.passed,
            })
            .collect();
        let passed = expectations.iter().filter(|e| e.passed).count();
        CommandJson {
            command: command.to_string(),
            exit_code: 0,
            digest: Some(out.digest.clone()),
            summary,
            expectations_passed: passed,
            expectations_failed: expectations.len() - passed,
            expectations,
            invariant_violations: out.invariant_violations.clone(),
            results_dir: None,
            paths: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The document of a study command (`sweep`): no run digest and no expectations.
    pub fn of_study(command: &str, summary: serde_json::Value) -> Self {
        CommandJson {
            command: command.to_string(),
            exit_code: 0,
            digest: None,
            summary,
            expectations_passed: 0,
            expectations_failed: 0,
            expectations: Vec::new(),
            invariant_violations: Vec::new(),
            results_dir: None,
            paths: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Pretty JSON with a final newline.
    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("serialisable");
        s.push('\n');
        s
    }
}

/// One metric's statistics over the seeds of one flag combination (`aggregate.csv`'s row).
#[derive(Clone, Debug, Serialize)]
pub struct StatsJson {
    pub n: usize,
    pub mean: f64,
    pub std: Option<f64>,
    pub min: f64,
    pub max: f64,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
}

impl From<&Stats> for StatsJson {
    fn from(s: &Stats) -> Self {
        StatsJson {
            n: s.n,
            mean: s.mean,
            std: s.std,
            min: s.min,
            max: s.max,
            ci95_low: s.ci95.map(|c| c.0),
            ci95_high: s.ci95.map(|c| c.1),
        }
    }
}

/// One flag combination of a sweep: its assignment (flag → value, grid order) and every
/// metric's statistics (`null` for a metric no seed measured).
#[derive(Clone, Debug, Serialize)]
pub struct CombinationJson {
    pub assignment: serde_json::Map<String, serde_json::Value>,
    pub metrics: serde_json::Map<String, serde_json::Value>,
}

/// The `summary` of `kubesim sweep --output json`: the scenario, the grid, how many cells
/// were run and reused, the plotted metric, and per flag combination the statistics that
/// `aggregate.csv` holds (as numbers, unrounded).
pub fn sweep_summary(
    m: &Manifest,
    records: &[CellRecord],
    run: usize,
    reused: usize,
    plotted: Option<&str>,
) -> serde_json::Value {
    let aggregate: Vec<CombinationJson> = table::groups(records)
        .iter()
        .map(|g| CombinationJson {
            assignment: g
                .assignment
                .iter()
                .map(|(f, v)| (f.clone(), serde_json::Value::String(v.clone())))
                .collect(),
            metrics: g
                .metrics
                .iter()
                .map(|(k, s)| {
                    let v = s
                        .as_ref()
                        .map(|s| serde_json::to_value(StatsJson::from(s)))
                        .transpose()
                        .ok()
                        .flatten()
                        .unwrap_or(serde_json::Value::Null);
                    (k.clone(), v)
                })
                .collect(),
        })
        .collect();
    serde_json::json!({
        "scenario": m.scenario,
        "axes": m.axes,
        "seeds": m.seeds,
        "fixed": m.fixed,
        "shard": m.shard,
        "cells": records.len(),
        "cells_run": run,
        "cells_reused": reused,
        "plotted_metric": plotted,
        "aggregate": aggregate,
    })
}
