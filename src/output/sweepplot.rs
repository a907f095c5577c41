//! The plot of a sweep (`sweep.png` and `sweep.svg`), from the per-combination statistics of
//! one metric: with one swept flag, the mean against the flag's value with its 95 %
//! confidence band and the min–max range; with two, a heatmap of the mean.
//!
//! Invariant: pure rendering of computed statistics (same input, same bytes), with the
//! bundled font and the axis style of `plot.rs`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::{ensure_font, err_str, fmt_num, font, PlotError};
use crate::model::duration::parse_go_duration;
use crate::study::sweep::table::Stats;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 620;
const LINE: RGBColor = RGBColor(31, 119, 180);
const RANGE: RGBColor = RGBColor(150, 150, 150);

/// What to draw.
pub enum SweepPlot {
    /// One swept flag: per value (in grid order) the statistics of the metric.
    Line {
        title: String,
        flag: String,
        metric: String,
        points: Vec<(String, Option<Stats>)>,
    },
    /// Two swept flags: `cells[y][x]` is the mean for x = first flag's value, y = second's.
    Heatmap {
        title: String,
        x_flag: String,
        y_flag: String,
        metric: String,
        x_values: Vec<String>,
        y_values: Vec<String>,
        cells: Vec<Vec<Option<f64>>>,
    },
}

/// Writes `path.png` and `path.svg` (`path` without extension).
pub fn render(plot: &SweepPlot, stem: &Path) -> Result<(), PlotError> {
    ensure_font();
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    let fail = |p: &Path, message: String| PlotError::Draw {
        path: p.display().to_string(),
        message,
    };
    {
        let root = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, plot).map_err(|m| fail(&png, m))?;
        root.present().map_err(|e| fail(&png, e.to_string()))?;
    }
    let root = SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area();
    draw(&root, plot).map_err(|m| fail(&svg, m))?;
    root.present().map_err(|e| fail(&svg, e.to_string()))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plot: &SweepPlot) -> Result<(), String> {
    root.fill(&WHITE).map_err(err_str)?;
    match plot {
        SweepPlot::Line {
            title,
            flag,
            metric,
            points,
        } => draw_line(root, title, flag, metric, points),
        SweepPlot::Heatmap {
            title,
            x_flag,
            y_flag,
            metric: _,
            x_values,
            y_values,
            cells,
        } => draw_heatmap(root, title, (x_flag, x_values), (y_flag, y_values), cells),
    }
}

/// The x positions of flag values: numbers as written, Go durations in seconds, else the
/// value's position in the grid (then labelled by the value). Returns positions and the
/// axis label's unit suffix.
fn x_positions(values: &[String]) -> (Vec<f64>, &'static str, bool) {
    if let Some(v) = values
        .iter()
        .map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<Vec<f64>>>()
    {
        return (v, "", false);
    }
    if let Some(v) = values
        .iter()
        .map(|v| parse_go_duration(v).ok().map(|d| d.as_secs_f64()))
        .collect::<Option<Vec<f64>>>()
    {
        return (v, " (s)", false);
    }
    ((0..values.len()).map(|i| i as f64).collect(), "", true)
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let d = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            1.0
        };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * 0.08;
    (lo - d, hi + d)
}

fn draw_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    flag: &str,
    metric: &str,
    points: &[(String, Option<Stats>)],
) -> Result<(), String> {
    let values: Vec<String> = points.iter().map(|(v, _)| v.clone()).collect();
    let (xs, unit, categorical) = x_positions(&values);
    // (x, stats) in ascending x.
    let mut pts: Vec<(f64, Stats)> = xs
        .iter()
        .zip(points)
        .filter_map(|(x, (_, s))| s.map(|s| (*x, s)))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (x_lo, x_hi) = padded(
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let lows = pts
        .iter()
        .map(|(_, s)| s.min.min(s.ci95.map_or(s.mean, |c| c.0)));
    let highs = pts
        .iter()
        .map(|(_, s)| s.max.max(s.ci95.map_or(s.mean, |c| c.1)));
    let (y_lo, y_hi) = padded(
        lows.fold(f64::INFINITY, f64::min),
        highs.fold(f64::NEG_INFINITY, f64::max),
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(22.0))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(err_str)?;
    let label_of = |x: &f64| -> String {
        if categorical {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < values.len() {
                values[i as usize].clone()
            } else {
                String::new()
            }
        } else {
            fmt_num(x)
        }
    };
    chart
        .configure_mesh()
        .x_desc(format!("{flag}{unit}"))
        .y_desc(metric)
        .x_labels(if categorical { values.len() + 1 } else { 10 })
        .x_label_formatter(&label_of)
        .y_label_formatter(&fmt_num)
        .label_style(font(13.0))
        .axis_desc_style(font(15.0))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err_str)?;
    let band: Vec<(f64, f64)> = pts
        .iter()
        .filter_map(|(x, s)| s.ci95.map(|c| (*x, c.1)))
        .chain(
            pts.iter()
                .rev()
                .filter_map(|(x, s)| s.ci95.map(|c| (*x, c.0))),
        )
        .collect();
    if band.len() >= 2 {
        chart
            .draw_series(std::iter::once(Polygon::new(band, LINE.mix(0.22).filled())))
            .map_err(err_str)?
            .label("95 % confidence interval of the mean")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 6), (x + 22, y + 6)], LINE.mix(0.22).filled())
            });
    }
    chart
        .draw_series(
            pts.iter().map(|(x, s)| {
                PathElement::new(vec![(*x, s.min), (*x, s.max)], RANGE.stroke_width(2))
            }),
        )
        .map_err(err_str)?
        .label("min – max over the seeds")
        .legend(|(x, y)| {
            PathElement::new(
                vec![(x + 11, y - 7), (x + 11, y + 7)],
                RANGE.stroke_width(2),
            )
        });
    let n = pts.iter().map(|(_, s)| s.n).max().unwrap_or(0);
    chart
        .draw_series(LineSeries::new(
            pts.iter().map(|(x, s)| (*x, s.mean)),
            LINE.stroke_width(2),
        ))
        .map_err(err_str)?
        .label(format!("mean over {n} seeds"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], LINE.stroke_width(2)));
    chart
        .draw_series(
            pts.iter()
                .map(|(x, s)| Circle::new((*x, s.mean), 4, LINE.filled())),
        )
        .map_err(err_str)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(font(13.0))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(err_str)
}

/// A viridis-like colour for `t` in [0, 1].
fn colour(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] = [
        (68, 1, 84),
        (59, 82, 139),
        (33, 145, 140),
        (94, 201, 98),
        (253, 231, 37),
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    (x_flag, xs): (&str, &[String]),
    (y_flag, ys): (&str, &[String]),
    cells: &[Vec<Option<f64>>],
) -> Result<(), String> {
    let (plot_area, bar_area) = root.split_horizontally(WIDTH - 130);
    let all: Vec<f64> = cells.iter().flatten().filter_map(|v| *v).collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let scale = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    let (nx, ny) = (xs.len() as i32, ys.len() as i32);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, font(22.0))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(90)
        // `(0..n - 1).into_segmented()` has the n segments 0, …, n − 1.
        .build_cartesian_2d(
            (0..(nx - 1).max(0)).into_segmented(),
            (0..(ny - 1).max(0)).into_segmented(),
        )
        .map_err(err_str)?;
    let name = |vals: &[String], v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => vals.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_flag)
        .y_desc(y_flag)
        .x_label_formatter(&|v| name(xs, v))
        .y_label_formatter(&|v| name(ys, v))
        .label_style(font(13.0))
        .axis_desc_style(font(15.0))
        .draw()
        .map_err(err_str)?;
    for (j, row) in cells.iter().enumerate() {
        for (i, v) in row.iter().enumerate() {
            let (i, j) = (i as i32, j as i32);
            let fill = v.map_or(RGBColor(220, 220, 220), |v| colour(scale(v)));
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(i), SegmentValue::Exact(j)),
                        (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1)),
                    ],
                    fill.filled(),
                )))
                .map_err(err_str)?;
            let text = v.map_or("–".to_string(), |v| fmt_num(&v));
            let ink = if v.is_some_and(|v| scale(v) > 0.6) {
                BLACK
            } else {
                WHITE
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    text,
                    (SegmentValue::CenterOf(i), SegmentValue::CenterOf(j)),
                    font(14.0)
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                )))
                .map_err(err_str)?;
        }
    }
    draw_colour_bar(&bar_area, lo, hi)
}

fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lo: f64,
    hi: f64,
) -> Result<(), String> {
    let (top, bottom, x0, x1) = (80, HEIGHT as i32 - 90, 10, 34);
    let steps = 100;
    for k in 0..steps {
        let y0 = bottom - (bottom - top) * (k + 1) / steps;
        let y1 = bottom - (bottom - top) * k / steps;
        area.draw(&Rectangle::new(
            [(x0, y0), (x1, y1)],
            colour(k as f64 / (steps - 1) as f64).filled(),
        ))
        .map_err(err_str)?;
    }
    let label = |v: f64| {
        if v.is_finite() {
            fmt_num(&v)
        } else {
            "–".into()
        }
    };
    let style = font(13.0).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(label(hi), (x1 + 6, top), style.clone()))
        .map_err(err_str)?;
    area.draw(&Text::new(label(lo), (x1 + 6, bottom), style))
        .map_err(err_str)?;
    area.draw(&Text::new(
        "mean",
        (x0, top - 24),
        font(12.0).pos(Pos::new(HPos::Left, VPos::Center)),
    ))
    .map_err(err_str)
}
