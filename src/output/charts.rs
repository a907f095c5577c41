//! The charts of a run, built from its time series: `timeline` (nodes by Ready status, pods by
//! phase), `capacity` (utilisation and headroom per zone, and per pool when there are several),
//! `pending` (pending pods by reason, stacked), `availability` (available replicas per
//! workload) and `evictions`. Each is written as PNG and SVG; the SVG text is kept for the
//! HTML report.
//!
//! Invariant: a pure function of the run's time series and fault windows; every chart has a
//! title, axis labels with units and a legend, and the fault windows shaded.

use std::path::Path;

use super::plot;
use crate::observe::capacity::AWAITING;
use crate::observe::timeseries::TimeSeries;
use crate::run::RunOutput;
use crate::scenario::Scenario;

/// The charts' file stems, in the order they are written.
pub const STEMS: [&str; 5] = [
    "timeline",
    "capacity",
    "pending",
    "availability",
    "evictions",
];

/// Named series for one chart panel.
pub(crate) type NamedSeries = Vec<(String, Vec<(f64, f64)>)>;

/// A chart with owned data; [`OwnedChart::view`] lends it to the renderer.
pub struct OwnedChart {
    /// File name without extension (`capacity` → `capacity.png`, `capacity.svg`).
    pub stem: &'static str,
    pub title: String,
    pub panels: Vec<OwnedPanel>,
}

pub struct OwnedPanel {
    pub title: String,
    pub y_label: &'static str,
    pub stacked: bool,
    pub series: NamedSeries,
}

impl OwnedChart {
    pub fn view<'a>(&'a self, duration_s: f64, windows: &'a [plot::Window]) -> plot::Chart<'a> {
        plot::Chart {
            title: &self.title,
            duration_s,
            panels: self
                .panels
                .iter()
                .map(|p| plot::Panel {
                    title: &p.title,
                    y_label: p.y_label,
                    stacked: p.stacked,
                    series: p
                        .series
                        .iter()
                        .map(|(n, pts)| plot::Series {
                            name: n,
                            points: pts,
                        })
                        .collect(),
                })
                .collect(),
            windows,
        }
    }
}

/// A rendered chart: its stem, title and SVG text.
pub struct Rendered {
    pub stem: &'static str,
    pub title: String,
    pub svg: String,
}

fn panel(title: impl Into<String>, y_label: &'static str, series: NamedSeries) -> OwnedPanel {
    OwnedPanel {
        title: title.into(),
        y_label,
        stacked: false,
        series,
    }
}

fn timeline(ts: &TimeSeries) -> (NamedSeries, NamedSeries) {
    let mut nodes = Vec::new();
    let mut pods = Vec::new();
    for c in ts.columns.iter().skip(1) {
        let points = ts.column(c).unwrap_or_default();
        if let Some(rest) = c.strip_prefix("nodes_") {
            let (status, zone) = if let Some(z) = rest.strip_prefix("not_ready_") {
                ("NotReady", z)
            } else if let Some(z) = rest.strip_prefix("ready_") {
                ("Ready", z)
            } else if let Some(z) = rest.strip_prefix("unknown_") {
                ("Unknown", z)
            } else {
                continue;
            };
            nodes.push((format!("{zone} {status}"), points));
        } else if let Some(p) = c.strip_prefix("pods_") {
            let name = match p {
                // Running pods on crashed machines still say Running: the planner's view is
                // the pods that really run.
                "running_on_up_nodes" => "running on up machines",
                other => other,
            };
            pods.push((name.to_string(), points));
        }
    }
    (nodes, pods)
}

/// `a / b * 100` per sample (NaN, a gap, where `b` is zero).
fn percent(a: &[(f64, f64)], b: &[(f64, f64)]) -> Vec<(f64, f64)> {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            (
                x.0,
                if y.1 > 0.0 {
                    100.0 * x.1 / y.1
                } else {
                    f64::NAN
                },
            )
        })
        .collect()
}

fn minus(a: &[(f64, f64)], b: &[(f64, f64)], scale: f64) -> Vec<(f64, f64)> {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x.0, (x.1 - y.1) * scale))
        .collect()
}

/// Names of a group (`zone` or `pool`) as they appear in its CPU columns.
fn group_names(ts: &TimeSeries, kind: &str) -> Vec<String> {
    let prefix = format!("{kind}_cpu_allocatable_cores_");
    ts.columns
        .iter()
        .filter_map(|c| c.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

/// Utilisation (%) and headroom panels of one resource over the groups of `kind`.
fn capacity_panels(ts: &TimeSeries, kind: &str, out: &mut Vec<OwnedPanel>) {
    let names = group_names(ts, kind);
    let resources: [(&str, &str, &str, f64, &'static str); 2] = [
        ("CPU", "cpu", "_cores", 1.0, "headroom (cores)"),
        (
            "Memory",
            "memory",
            "_bytes",
            1.0 / 1024f64.powi(3),
            "headroom (GiB)",
        ),
    ];
    for (title, res, unit, scale, y) in resources {
        let mut util = Vec::new();
        let mut room = Vec::new();
        for n in &names {
            let col = |what: &str| {
                ts.column(&format!("{kind}_{res}_{what}{unit}_{n}"))
                    .unwrap_or_default()
            };
            let (alloc, req) = (col("allocatable"), col("requested"));
            util.push((format!("{kind} {n}"), percent(&req, &alloc)));
            room.push((format!("{kind} {n}"), minus(&alloc, &req, scale)));
        }
        out.push(panel(
            format!("{title} requested / allocatable per {kind} (running machines)"),
            "utilisation (%)",
            util,
        ));
        out.push(panel(
            format!("{title} headroom per {kind}: allocatable − requested"),
            y,
            room,
        ));
    }
}

fn capacity(ts: &TimeSeries) -> Vec<OwnedPanel> {
    let mut panels = Vec::new();
    capacity_panels(ts, "zone", &mut panels);
    if group_names(ts, "pool").len() > 1 {
        capacity_panels(ts, "pool", &mut panels);
    }
    panels
}

/// Pending pods by reason, stacked (each series the running total of the ones before).
fn pending(ts: &TimeSeries) -> OwnedPanel {
    let mut series: NamedSeries = Vec::new();
    let mut total: Vec<(f64, f64)> = ts.rows.iter().map(|r| (r[0], 0.0)).collect();
    for (i, c) in ts.columns.iter().enumerate() {
        if !c.starts_with("pending_") {
            continue;
        }
        let reason = ts.metrics[i]
            .1
            .strip_prefix("reason=\"")
            .and_then(|x| x.strip_suffix('"'))
            .unwrap_or(AWAITING)
            .replace("\\\"", "\"")
            .replace("\\\\", "\\");
        let pts = ts.column(c).unwrap_or_default();
        if pts.iter().all(|(_, y)| *y == 0.0) {
            continue;
        }
        for (t, p) in total.iter_mut().zip(&pts) {
            t.1 += p.1;
        }
        series.push((reason, total.clone()));
    }
    OwnedPanel {
        title: "Pending pods by the scheduler's reason (stacked)".into(),
        y_label: "pods",
        stacked: true,
        series,
    }
}

/// Available replicas per workload, in % of desired.
fn availability(ts: &TimeSeries) -> OwnedPanel {
    let mut series = Vec::new();
    for c in &ts.columns {
        for kind in ["deploy", "sts", "ds"] {
            let Some(name) = c
                .strip_prefix(kind)
                .and_then(|x| x.strip_prefix('_'))
                .and_then(|x| x.strip_suffix("_desired"))
            else {
                continue;
            };
            let desired = ts.column(c).unwrap_or_default();
            let available = ts
                .column(&format!("{kind}_{name}_available"))
                .unwrap_or_default();
            series.push((format!("{kind} {name}"), percent(&available, &desired)));
        }
    }
    panel(
        "Available replicas per workload, % of desired",
        "available (%)",
        series,
    )
}

fn evictions(ts: &TimeSeries) -> Vec<OwnedPanel> {
    let total = ts.column("evictions_total").unwrap_or_default();
    let mut per = Vec::with_capacity(total.len());
    for (i, p) in total.iter().enumerate() {
        let before = if i == 0 { 0.0 } else { total[i - 1].1 };
        per.push((p.0, p.1 - before));
    }
    vec![
        panel(
            "Taint-manager evictions, cumulative",
            "pods evicted",
            vec![("evictions (total)".into(), total)],
        ),
        panel(
            "Taint-manager evictions per sample interval",
            "pods evicted",
            vec![("evictions in interval".into(), per)],
        ),
    ]
}

pub(crate) fn to_steps(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(pts.len() * 2);
    for (i, p) in pts.iter().enumerate() {
        if i > 0 && pts[i - 1].1 != p.1 && !(pts[i - 1].1.is_nan() && p.1.is_nan()) {
            out.push((p.0, pts[i - 1].1));
        }
        out.push(*p);
    }
    out
}

/// Every chart of a run, with step series (a sample holds until the next one).
pub fn charts(s: &Scenario, out: &RunOutput) -> Vec<OwnedChart> {
    let ts = &out.timeseries;
    let (mut nodes, mut pods) = timeline(ts);
    // Series that stay at zero only clutter the legend.
    let nonzero = |v: &mut NamedSeries| v.retain(|(_, pts)| pts.iter().any(|(_, y)| *y != 0.0));
    nonzero(&mut nodes);
    nonzero(&mut pods);
    let head = format!(
        "{} (seed {}, Kubernetes {})",
        s.name, out.seed, s.kubernetes_version
    );
    let mut all = vec![
        OwnedChart {
            stem: "timeline",
            title: head.clone(),
            panels: vec![
                panel("Nodes by Ready status, per zone", "nodes", nodes),
                panel("Pods by phase", "pods", pods),
            ],
        },
        OwnedChart {
            stem: "capacity",
            title: format!("Capacity: {head}"),
            panels: capacity(ts),
        },
        OwnedChart {
            stem: "pending",
            title: format!("Pending pods: {head}"),
            panels: vec![pending(ts)],
        },
        OwnedChart {
            stem: "availability",
            title: format!("Availability: {head}"),
            panels: vec![availability(ts)],
        },
        OwnedChart {
            stem: "evictions",
            title: format!("Evictions: {head}"),
            panels: evictions(ts),
        },
    ];
    for c in &mut all {
        for p in &mut c.panels {
            for (_, pts) in &mut p.series {
                *pts = to_steps(pts);
            }
        }
    }
    all
}

/// The fault windows to shade.
pub fn windows(out: &RunOutput) -> Vec<plot::Window> {
    out.faults
        .iter()
        .map(|f| plot::Window {
            start_s: f.start.as_secs_f64(),
            end_s: f.end.as_secs_f64(),
            label: f.label.clone(),
        })
        .collect()
}

/// Every chart as SVG text only (for a report without image files).
pub fn svg_all(s: &Scenario, out: &RunOutput) -> Result<Vec<Rendered>, String> {
    let windows = windows(out);
    charts(s, out)
        .into_iter()
        .map(|c| {
            let svg = plot::svg_text(&c.view(s.duration.as_secs_f64(), &windows))?;
            Ok(Rendered {
                stem: c.stem,
                title: c.title,
                svg,
            })
        })
        .collect()
}

/// Writes every chart as `<stem>.png` and `<stem>.svg` into `dir`; returns their SVG text.
pub fn render_all(
    dir: &Path,
    s: &Scenario,
    out: &RunOutput,
) -> Result<Vec<Rendered>, plot::PlotError> {
    let windows = windows(out);
    let mut done = Vec::new();
    for c in charts(s, out) {
        let chart = c.view(s.duration.as_secs_f64(), &windows);
        plot::render_png(&chart, &dir.join(format!("{}.png", c.stem)))?;
        let svg_path = dir.join(format!("{}.svg", c.stem));
        let svg = plot::svg_text(&chart).map_err(|message| plot::PlotError::Draw {
            path: svg_path.display().to_string(),
            message,
        })?;
        std::fs::write(&svg_path, &svg).map_err(|e| plot::PlotError::Draw {
            path: svg_path.display().to_string(),
            message: e.to_string(),
        })?;
        done.push(Rendered {
            stem: c.stem,
            title: c.title,
            svg,
        });
    }
    Ok(done)
}
