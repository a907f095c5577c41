//! The result files of `kubesim plan`: `plan.csv` (one row per candidate × case),
//! `plan.json` (answer, bounds, notes, every trial), the headroom curve `plan.png` /
//! `plan.svg` (`plan_plot.rs`) and `report.html` (`report_study.rs`), written by the rules of [`super::resultdir`].
//!
//! Invariant: every file is a deterministic function of the plan's report (no wall time in
//! them), and the directory appears complete or not at all, only over a new or empty path or
//! a previous kubesim result.

use std::path::Path;

use serde_json::{json, Value};

use super::{plan_plot, resultdir, OutputError};
use crate::study::plan::{Plan, PlanReport};

/// `pool=count` of the grown pools, e.g. `worker=8`.
pub fn counts_label(plan: &Plan, counts: &[u32]) -> String {
    plan.grow
        .iter()
        .map(|p| format!("{}={}", plan.pools[*p].name, counts[*p]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `plan.csv`: `trial,round,<one column per grown pool>,nodes,case,passed,
/// min_available_percent,goal,worst,error` (the deciding goal: least margin above its
/// threshold).
pub fn csv(plan: &Plan, r: &PlanReport) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["trial".to_string(), "round".to_string()];
    header.extend(plan.grow.iter().map(|p| plan.pools[*p].name.clone()));
    header.extend(
        [
            "nodes",
            "case",
            "passed",
            "min_available_percent",
            "goal",
            "worst",
            "error",
        ]
        .map(String::from),
    );
    let _ = w.write_record(&header);
    for (i, t) in r.trials.iter().enumerate() {
        for (case, o) in plan.cases.iter().zip(&t.outcomes) {
            let mut row = vec![(i + 1).to_string(), t.round.name().to_string()];
            row.extend(plan.grow.iter().map(|p| t.counts[*p].to_string()));
            row.push(o.nodes.to_string());
            row.push(case.name.clone());
            row.push(o.passed.to_string());
            row.push(format!("{:.2}", o.min_available_percent));
            row.push(o.goal.clone());
            row.push(o.worst.clone());
            row.push(o.error.clone().unwrap_or_default());
            let _ = w.write_record(&row);
        }
    }
    w.into_inner().unwrap_or_default()
}

/// The plan as one JSON document (`plan.json`, and `--output json` with the paths added).
pub fn json(plan: &Plan, r: &PlanReport) -> Value {
    let named = |counts: &[u32]| -> Value {
        plan.grow
            .iter()
            .map(|p| (plan.pools[*p].name.clone(), json!(counts[*p])))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let trials: Vec<Value> = r
        .trials
        .iter()
        .map(|t| {
            json!({
                "counts": named(&t.counts),
                "round": t.round.name(),
                "passed": t.passed,
                "cases": plan.cases.iter().zip(&t.outcomes).map(|(c, o)| json!({
                    "case": c.name,
                    "passed": o.passed,
                    "nodes": o.nodes,
                    "min_available_percent": o.min_available_percent,
                    "goal": o.goal,
                    "worst": o.worst,
                    "error": o.error,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "scenario": plan.scenario_name,
        "file": plan.path().display().to_string(),
        "answer": r.answer.as_deref().map(named),
        "answer_per_zone": true,
        "pools": plan.pools.iter().map(|p| json!({
            "name": p.name,
            "zones": p.zones,
            "scenario_count": p.scenario_count,
            "grown": plan.grow.iter().any(|g| plan.pools[*g].name == p.name),
        })).collect::<Vec<_>>(),
        "cases": plan.cases.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "goals": plan.goals.iter().map(|g| g.text.clone()).collect::<Vec<_>>(),
        "fail_at": plan.fail_at.to_string(),
        "seeds": plan.seeds,
        "lower_bounds": r.lower_bounds,
        "monotone": r.monotone,
        "notes": r.notes,
        "runs": r.runs,
        "trials": trials,
    })
}

/// Writes `plan.csv`, `plan.json`, `report.html` and (with `plots`) `plan.png` / `plan.svg`
/// into `dir`.
pub fn write_plan(dir: &Path, plan: &Plan, r: &PlanReport, plots: bool) -> Result<(), OutputError> {
    let target = resultdir::check_target(dir)?;
    std::fs::create_dir_all(&target.parent).map_err(super::io(&target.parent))?;
    resultdir::clean_leftovers(&target.parent, &target.name)?;
    let staging = target.parent.join(resultdir::staging_name(&target.name));
    std::fs::create_dir(&staging).map_err(super::io(&staging))?;
    let result = stage(&staging, plan, r, plots)
        .and_then(|()| resultdir::install(&staging, &target, &mut |_| {}));
    if result.is_err()
        && (resultdir::is_result(&staging)
            || staging.read_dir().is_ok_and(|mut d| d.next().is_none()))
    {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn stage(staging: &Path, plan: &Plan, r: &PlanReport, plots: bool) -> Result<(), OutputError> {
    let write = |file: &str, bytes: &[u8]| resultdir::write_new(staging, file, bytes);
    write(resultdir::MARKER, resultdir::marker_text().as_bytes())?;
    write("plan.csv", &csv(plan, r))?;
    let mut j = serde_json::to_vec_pretty(&json(plan, r)).unwrap_or_default();
    j.push(b'\n');
    write("plan.json", &j)?;
    let svg = if plots {
        let curve = plan_plot::curve(plan, r);
        plan_plot::render_png(&curve, &staging.join("plan.png"))?;
        let svg_path = staging.join("plan.svg");
        plan_plot::render_svg(&curve, &svg_path)?;
        Some(std::fs::read_to_string(&svg_path).map_err(super::io(&svg_path))?)
    } else {
        None
    };
    write(
        "report.html",
        super::report_study::plan_page(plan, r, svg.as_deref()).as_bytes(),
    )?;
    resultdir::sync_tree(staging)
}
