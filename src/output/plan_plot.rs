//! The headroom curve of `kubesim plan` (PNG and SVG, `plotters`): the goal metric — the
//! lowest available replicas over the judged times, in percent of desired, of the deciding
//! goal (the least margin above its threshold) — against the node count, one line per failure
//! case (drawn widest first, so coinciding lines show as nested bands); filled markers pass,
//! hollow ones fail; the goals' thresholds are dashed horizontal lines and the answer a vertical one.
//!
//! Invariant: pure rendering of the plan's report with the bundled DejaVu Sans font (the same
//! file as `plot.rs`), so the same report gives byte-identical files on any machine.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::plot::{ensure_font, PlotError};
use crate::study::plan::{Plan, PlanReport};

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 620;
const FONT: &str = "sans-serif";

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// One case's points: `(x, percent, passed)`, by x.
pub struct Line {
    pub case: String,
    pub points: Vec<(f64, f64, bool)>,
}

/// What the curve shows.
pub struct Curve {
    pub title: String,
    pub x_label: String,
    pub lines: Vec<Line>,
    pub thresholds: Vec<f64>,
    pub answer_x: Option<f64>,
}

/// The curve of a report: x is the grown pool's count per zone when one pool grows, else the
/// cluster's node count.
pub fn curve(plan: &Plan, r: &PlanReport) -> Curve {
    let one = (plan.grow.len() == 1).then(|| plan.grow[0]);
    let x_of = |counts: &[u32], nodes: usize| match one {
        Some(p) => f64::from(counts[p]),
        None => nodes as f64,
    };
    let lines = plan
        .cases
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let mut points: Vec<(f64, f64, bool)> = r
                .trials
                .iter()
                .map(|t| {
                    let o = &t.outcomes[k];
                    (x_of(&t.counts, o.nodes), o.min_available_percent, o.passed)
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            points.dedup_by(|a, b| a.0 == b.0);
            Line {
                case: c.name.clone(),
                points,
            }
        })
        .collect();
    let mut thresholds: Vec<f64> = plan.goals.iter().map(|g| g.min_percent).collect();
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    let answer_x = r.answer.as_ref().map(|a| match one {
        Some(p) => f64::from(a[p]),
        None => r
            .trials
            .iter()
            .find(|t| t.counts == *a)
            .and_then(|t| t.outcomes.first())
            .map_or(0.0, |o| o.nodes as f64),
    });
    let x_label = match one {
        Some(p) => {
            let pool = &plan.pools[p];
            if pool.zones.is_empty() {
                format!("nodes in pool {}", pool.name)
            } else {
                format!(
                    "nodes per zone in pool {} ({} zones)",
                    pool.name,
                    pool.zones.len()
                )
            }
        }
        None => "nodes in the cluster".into(),
    };
    Curve {
        title: format!(
            "Headroom of {}: goal metric vs node count",
            plan.scenario_name
        ),
        x_label,
        lines,
        thresholds,
        answer_x,
    }
}

fn draw_error(path: &Path, message: String) -> PlotError {
    PlotError::Draw {
        path: path.display().to_string(),
        message,
    }
}

pub fn render_png(c: &Curve, path: &Path) -> Result<(), PlotError> {
    ensure_font();
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    draw(&root, c).map_err(|m| draw_error(path, m))?;
    root.present().map_err(|e| draw_error(path, e.to_string()))
}

pub fn render_svg(c: &Curve, path: &Path) -> Result<(), PlotError> {
    ensure_font();
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    draw(&root, c).map_err(|m| draw_error(path, m))?;
    root.present().map_err(|e| draw_error(path, e.to_string()))
}

fn font(px: f64) -> TextStyle<'static> {
    (FONT, px).into_font().color(&BLACK)
}

/// A dashed horizontal or vertical line as short segments.
fn dashes(from: (f64, f64), to: (f64, f64), n: usize) -> Vec<Vec<(f64, f64)>> {
    (0..n)
        .map(|i| {
            let a = i as f64 / n as f64;
            let b = (i as f64 + 0.5) / n as f64;
            let at = |t: f64| (from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t);
            vec![at(a), at(b)]
        })
        .collect()
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Curve) -> Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let xs = c.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (lo, hi) = if lo > hi { (0.0, 1.0) } else { (lo, hi) };
    let (x0, x1) = (lo - 0.5, hi + 0.5);
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, font(22.0))
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..105.0)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc("lowest available replicas, % of desired (deciding goal)")
        .label_style(font(13.0))
        .axis_desc_style(font(15.0))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(e)?;
    let grey = RGBColor(120, 120, 120);
    for t in &c.thresholds {
        for seg in dashes((x0, *t), (x1, *t), 40) {
            chart
                .draw_series(LineSeries::new(seg, grey.stroke_width(2)))
                .map_err(e)?;
        }
    }
    if let Some(a) = c.answer_x {
        for seg in dashes((a, 0.0), (a, 105.0), 30) {
            chart
                .draw_series(LineSeries::new(seg, BLACK.stroke_width(1)))
                .map_err(e)?;
        }
    }
    // Lines that coincide stay visible: the first case is drawn widest, each later one
    // narrower on top of it, so equal values show as nested bands.
    let n = c.lines.len();
    for (i, l) in c.lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let width = 2 + 3 * (n - 1 - i).min(4) as u32;
        let radius = 4 + 3 * (n - 1 - i).min(4) as i32;
        let pts: Vec<(f64, f64)> = l.points.iter().map(|p| (p.0, p.1)).collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(width)))
            .map_err(e)?
            .label(l.case.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
            });
        chart
            .draw_series(l.points.iter().map(|p| {
                let style = if p.2 { color.filled() } else { WHITE.filled() };
                Circle::new((p.0, p.1), radius, style)
            }))
            .map_err(e)?;
        chart
            .draw_series(
                l.points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), radius, color.stroke_width(2))),
            )
            .map_err(e)?;
    }
    if let Some(t) = c.thresholds.first() {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x0, *t), (x0, *t)],
                grey.stroke_width(2),
            )))
            .map_err(e)?
            .label(goal_label(&c.thresholds))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(2))
            });
    }
    if let Some(a) = c.answer_x {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(a, 0.0), (a, 0.0)],
                BLACK.stroke_width(1),
            )))
            .map_err(e)?
            .label(format!("answer: {a:.0} (filled: passes, hollow: fails)"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(font(13.0))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    Ok(())
}

fn goal_label(t: &[f64]) -> String {
    let v: Vec<String> = t.iter().map(|x| format!("{x}%")).collect();
    format!("goal threshold ({})", v.join(", "))
}
