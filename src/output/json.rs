//! `--output json`: the one JSON document `run` and `check` print on stdout instead of text
//! (and that `sweep` and `plan` can print too): the command, its exit code, the summary, the
//! expectation results and the paths written.
//!
//! Invariant: with `--output json` this document is the only thing on stdout; it is built from
//! the same values as the text output and `summary.json`.

use serde::Serialize;

use crate::run::RunOutput;

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

    /// Pretty JSON with a final newline.
    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("serialisable");
        s.push('\n');
        s
    }
}
