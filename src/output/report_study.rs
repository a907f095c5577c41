//! The `report.html` of a sweep and of a plan, built with the section builder of
//! [`super::report`]: for a sweep, the grid and seeds, the aggregate table (per flag
//! combination, the mean and 95 % confidence interval of the main metrics, every metric in a
//! collapsed table) and the sweep plot; for a plan, the answer, the table of candidates tried
//! with their outcome per case, the headroom curve, and the cases and goals.
//!
//! Invariant: a pure function of what the tables and plots are made of (a sweep's manifest
//! and cell records, a plan and its report) and of the SVG text given, so the page is as
//! deterministic as they are; all text is escaped by the builder.

use std::fmt::Write;

use super::report::{escape, figure, render, table, Section};
use crate::study::plan::{CaseKind, Plan, PlanReport};
use crate::study::sweep::table::{self as st, Stats};
use crate::study::sweep::{CellRecord, Manifest};

/// Whether a `cells.csv` column is a *main* metric of the sweep report: `events`, a top-level
/// summary number (`evictions_total`) or an overall study metric (`metrics.pods_evicted`), and
/// the plotted one.
fn is_main(col: &str, plotted: Option<&str>) -> bool {
    Some(col) == plotted
        || !col.contains('.')
        || col
            .strip_prefix("metrics.")
            .is_some_and(|rest| !rest.contains('.'))
}

fn assignment_text(a: &[(String, String)]) -> String {
    if a.is_empty() {
        return "(no swept flag)".into();
    }
    a.iter()
        .map(|(f, v)| format!("{f}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn ci_text(s: &Stats) -> String {
    match s.ci95 {
        Some((lo, hi)) => format!("[{}, {}]", st::num(lo), st::num(hi)),
        None => "—".into(),
    }
}

fn grid_section(m: &Manifest, records: &[CellRecord]) -> Section {
    let mut rows: Vec<(Option<&str>, Vec<String>)> = vec![
        (None, vec!["scenario".into(), m.scenario.clone()]),
        (None, vec!["kubesim".into(), m.kubesim.clone()]),
    ];
    for a in &m.axes {
        rows.push((None, vec![a.flag.clone(), a.values.join(", ")]));
    }
    let seeds = match (m.seeds.first(), m.seeds.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}..{b} ({} seeds)", m.seeds.len()),
        (Some(a), _) => a.to_string(),
        _ => "—".into(),
    };
    rows.push((None, vec!["seeds".into(), seeds]));
    if !m.fixed.is_empty() {
        rows.push((None, vec!["--set".into(), m.fixed.join(" ")]));
    }
    if let Some(s) = m.shard {
        rows.push((None, vec!["shard".into(), s.to_string()]));
    }
    rows.push((
        None,
        vec![
            "cells".into(),
            format!(
                "{} in this report, {} in the sweep",
                records.len(),
                m.cells.len()
            ),
        ],
    ));
    Section::new("grid", "Grid and seeds", table(&["", ""], &rows))
}

fn aggregate_section(records: &[CellRecord], plotted: Option<&str>) -> Section {
    let groups = st::groups(records);
    let cols: Vec<&String> = groups
        .first()
        .map(|g| g.metrics.iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    let main: Vec<&&String> = cols.iter().filter(|c| is_main(c, plotted)).collect();
    let mut html = String::from(
        "<p>Per flag combination (a column), over its seeds: the mean of each main metric and \
         the 95 % confidence interval of the mean in brackets (Student's t; — for one seed). \
         Every metric, with n, std, min and max, is in <code>aggregate.csv</code> and in the \
         folded table below.</p>",
    );
    // One row per main metric, one column per flag combination (a sweep has few).
    let mut headers: Vec<String> = vec!["metric".into()];
    headers.extend(groups.iter().map(|g| assignment_text(&g.assignment)));
    let rows: Vec<(Option<&str>, Vec<String>)> = main
        .iter()
        .map(|c| {
            let mut row = vec![c.to_string()];
            for g in &groups {
                let cell = match g.metrics.iter().find(|(k, _)| k == **c) {
                    Some((_, Some(s))) => format!("{} {}", st::num(s.mean), ci_text(s)),
                    _ => "—".into(),
                };
                row.push(cell);
            }
            (None, row)
        })
        .collect();
    let hdr: Vec<&str> = headers.iter().map(String::as_str).collect();
    html.push_str(&table(&hdr, &rows));
    let mut all: Vec<(Option<&str>, Vec<String>)> = Vec::new();
    for g in &groups {
        for (k, s) in &g.metrics {
            let mut row = vec![assignment_text(&g.assignment), k.clone()];
            match s {
                Some(s) => row.extend([
                    s.n.to_string(),
                    st::num(s.mean),
                    s.std.map(st::num).unwrap_or_else(|| "—".into()),
                    st::num(s.min),
                    st::num(s.max),
                    ci_text(s),
                ]),
                None => row.extend(["0", "—", "—", "—", "—", "—"].map(String::from)),
            }
            all.push((None, row));
        }
    }
    let _ = write!(
        html,
        "<details><summary>every metric ({} rows)</summary>{}</details>",
        all.len(),
        table(
            &[
                "combination",
                "metric",
                "n",
                "mean",
                "std",
                "min",
                "max",
                "95 % CI"
            ],
            &all
        )
    );
    Section::new("aggregate", "Aggregate over seeds", html)
}

/// The report of a sweep: `plot` is the plotted metric and `sweep.svg`'s text, if drawn.
pub fn sweep_page(m: &Manifest, records: &[CellRecord], plot: Option<(&str, &str)>) -> String {
    let plot_html = match plot {
        Some((metric, svg)) => figure(
            "plot-sweep",
            &format!("{metric} by flag value (sweep.svg)"),
            svg,
        ),
        None => "<p>No plot: a sweep plots one swept flag as a line and two as a heatmap \
                 (see <code>--metric</code>).</p>"
            .into(),
    };
    let sections = vec![
        grid_section(m, records),
        aggregate_section(records, plot.map(|p| p.0)),
        Section::new("plots", "Plot", plot_html),
    ];
    render(&format!("kubesim sweep: {}", m.scenario), &sections)
}

/// The answer as one line: `worker=8 nodes per zone (…; N runs)` or why there is none.
pub fn answer_line(plan: &Plan, r: &PlanReport) -> String {
    match &r.answer {
        Some(a) => format!(
            "{} nodes per zone ({}; {} runs)",
            super::plan::counts_label(plan, a),
            if r.monotone && plan.grow.iter().all(|p| a[*p] <= 1) {
                "the smallest count; + 1 and + 2 pass: monotone"
            } else if r.monotone {
                "count − 1 fails, + 1 and + 2 pass: monotone"
            } else {
                "NOT monotone: linear scan, see the notes"
            },
            r.runs
        ),
        None => format!(
            "none — no candidate up to {} per zone meets every goal in every case",
            plan.max_count
        ),
    }
}

fn answer_section(plan: &Plan, r: &PlanReport) -> Section {
    let mut html = format!(
        "<p class=\"answer\"><strong>answer: {}</strong></p>",
        escape(&answer_line(plan, r))
    );
    let mut rows: Vec<(Option<&str>, Vec<String>)> = r
        .lower_bounds
        .iter()
        .map(|(k, v)| {
            (
                None,
                vec![format!("resource lower bound of {k}"), v.to_string()],
            )
        })
        .collect();
    rows.push((None, vec!["monotone".into(), r.monotone.to_string()]));
    rows.push((None, vec!["runs".into(), r.runs.to_string()]));
    for n in &r.notes {
        rows.push((None, vec!["note".into(), n.clone()]));
    }
    html.push_str(&table(&["", ""], &rows));
    Section::new("answer", "Answer", html)
}

fn candidates_section(plan: &Plan, r: &PlanReport) -> Section {
    let mut rows = Vec::new();
    for (i, t) in r.trials.iter().enumerate() {
        for (c, o) in plan.cases.iter().zip(&t.outcomes) {
            rows.push((
                Some(if o.passed { "pass" } else { "fail" }),
                vec![
                    if o.passed { "PASS" } else { "FAIL" }.to_string(),
                    (i + 1).to_string(),
                    t.round.name().to_string(),
                    super::plan::counts_label(plan, &t.counts),
                    o.nodes.to_string(),
                    c.name.clone(),
                    format!("{:.1} %", o.min_available_percent),
                    o.error.clone().unwrap_or_else(|| o.worst.clone()),
                ],
            ));
        }
    }
    let html = format!(
        "<p>Every candidate tried, per failure case, in the order run (also \
         <code>plan.csv</code>); the goal metric is the lowest available replicas, in percent \
         of desired, of the deciding goal.</p>{}",
        table(
            &[
                "result",
                "#",
                "round",
                "counts",
                "nodes",
                "case",
                "min available",
                "worst"
            ],
            &rows
        )
    );
    Section::new("candidates", "Candidates tried", html)
}

fn case_text(plan: &Plan, kind: &CaseKind) -> String {
    let how_long = |d: &Option<crate::sim::SimDuration>| match d {
        Some(d) => format!("for {d}"),
        None => "for good".into(),
    };
    match kind {
        CaseKind::Timeline => "the scenario's own timeline".into(),
        CaseKind::FailureModels => {
            "the scenario's failureModels, drawn at every seed (its fixed timeline removed)".into()
        }
        CaseKind::ZoneDown { zone, duration } => format!(
            "every node of zone {zone} crashes at {} {}",
            plan.fail_at,
            how_long(duration)
        ),
        CaseKind::NodesDown { pool, k, duration } => format!(
            "the first {k} nodes of pool {pool} crash at {} {}",
            plan.fail_at,
            how_long(duration)
        ),
    }
}

fn cases_section(plan: &Plan) -> Section {
    let cases: Vec<(Option<&str>, Vec<String>)> = plan
        .cases
        .iter()
        .map(|c| (None, vec![c.name.clone(), case_text(plan, &c.kind)]))
        .collect();
    let goals: Vec<(Option<&str>, Vec<String>)> = plan
        .goals
        .iter()
        .map(|g| {
            (
                None,
                vec![
                    g.text.clone(),
                    format!(
                        "{} keeps ≥ {} % of desired replicas available, judged from the first \
                         fault on{}",
                        g.workload,
                        g.min_percent,
                        if g.within == crate::sim::SimDuration::ZERO {
                            String::new()
                        } else {
                            format!(" except {} after each fault start", g.within)
                        }
                    ),
                ],
            )
        })
        .collect();
    let grown: Vec<String> = plan
        .grow
        .iter()
        .map(|p| plan.pools[*p].name.clone())
        .collect();
    let seeds: Vec<String> = plan.seeds.iter().map(u64::to_string).collect();
    let html = format!(
        "<p>Scenario <code>{}</code>; grown pools: {}; seeds: {}.</p><h3>Failure cases</h3>{}\
         <h3>Goals</h3>{}",
        escape(&plan.scenario_name),
        escape(&grown.join(", ")),
        escape(&if seeds.is_empty() {
            "one run per case (--seed or the scenario's)".to_string()
        } else {
            format!(
                "{} (a case passes only if every seed passes)",
                seeds.join(", ")
            )
        }),
        table(&["case", "what happens"], &cases),
        table(&["goal", "holds when"], &goals)
    );
    Section::new("cases", "Cases and goals", html)
}

/// The report of a plan; `svg` is the headroom curve's `plan.svg` text (None with
/// `--no-plots`).
pub fn plan_page(plan: &Plan, r: &PlanReport, svg: Option<&str>) -> String {
    let plot = match svg {
        Some(svg) => figure(
            "plot-headroom",
            "headroom curve: the goal metric against the node count, one line per case",
            svg,
        ),
        None => "<p>Plots were not rendered (<code>--no-plots</code>).</p>".into(),
    };
    let sections = vec![
        answer_section(plan, r),
        candidates_section(plan, r),
        Section::new("plots", "Headroom curve", plot),
        cases_section(plan),
    ];
    render(&format!("kubesim plan: {}", plan.scenario_name), &sections)
}
