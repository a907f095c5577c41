//! Timeline chart rendering (PNG and SVG) with `plotters`.
//!
//! A [`Chart`] is a stack of [`Panel`]s sharing one x axis (simulated time).
//! Each panel draws one line per [`Series`] with a legend to the right of its
//! plot, and every fault [`Window`] is shaded across the full y range of every
//! panel (its label is written in the first panel only). Series that coincide
//! stay visible: series `i` has its own colour and line style (solid and wide,
//! then dashed, dotted, long-dashed, narrower each time), so a later line drawn
//! over an earlier one leaves the earlier one showing. A stacked panel fills
//! the band between consecutive (cumulative) series instead.
//!
//! Invariant: this module is pure rendering of already-computed series; it
//! holds no simulation state, reads no clock and uses no randomness, so the
//! same input always produces byte-identical output files.
//!
//! Text is drawn with a bundled DejaVu Sans font registered once through
//! plotters' `ab_glyph` feature, so rendering works on machines without any
//! system fonts.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

/// One line: `(time_s, value)` points in time order.
pub struct Series<'a> {
    pub name: &'a str,
    pub points: &'a [(f64, f64)],
}

/// One stacked sub-chart.
pub struct Panel<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    /// The series are cumulative tops (each at least the one before), drawn as filled bands
    /// between consecutive series (the first down to zero).
    pub stacked: bool,
    pub series: Vec<Series<'a>>,
}

/// A fault window to shade, in simulated seconds.
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
    pub label: String,
}

/// A whole timeline figure.
pub struct Chart<'a> {
    pub title: &'a str,
    pub duration_s: f64,
    pub panels: Vec<Panel<'a>>,
    pub windows: &'a [Window],
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("plot {path}: {message}")]
    Draw { path: String, message: String },
}

const WIDTH: u32 = 1200;
const PANEL_HEIGHT: u32 = 450;
const TITLE_HEIGHT: u32 = 54;
/// Extra height of the bottom panel, which carries the x-axis description.
const X_DESC_HEIGHT: u32 = 26;
const FONT: &str = "sans-serif";
const LEGEND_FONT_PX: f64 = 13.0;
const LEGEND_ROW_PX: i32 = 18;
const LEGEND_SWATCH_PX: i32 = 22;
/// Legend box padding, swatch gap and gap to the plot, besides text and swatch.
const LEGEND_CHROME_PX: i32 = 2 * 7 + 6 + 24 + 4;
/// Above this duration the x axis is labelled in minutes.
const MINUTES_THRESHOLD_S: f64 = 2.0 * 3600.0;

/// Fixed series palette; series `i` gets `PALETTE[i % PALETTE.len()]`.
const PALETTE: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(110, 110, 110),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(17, 70, 130),
    RGBColor(180, 80, 0),
    RGBColor(20, 100, 20),
    RGBColor(140, 20, 20),
    RGBColor(90, 50, 140),
    RGBColor(90, 60, 40),
    RGBColor(170, 50, 130),
    RGBColor(40, 40, 40),
    RGBColor(120, 120, 20),
    RGBColor(0, 120, 130),
];

const SHADE: RGBColor = RGBColor(230, 60, 50);
const SHADE_TEXT: RGBColor = RGBColor(150, 25, 20);

static FONT_BYTES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/DejaVuSans.ttf"
));
static FONT_INIT: Once = Once::new();

/// Registers the bundled font once per process (every chart of the crate draws with it).
pub(crate) fn ensure_font() {
    FONT_INIT.call_once(|| {
        // The bundled font is a valid TTF; should registration ever fail, text
        // drawing reports FontUnavailable, which surfaces as a PlotError.
        let _ = register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

/// Render `chart` as a PNG, 1200 px wide and ~450 px per panel.
pub fn render_png(chart: &Chart, path: &Path) -> Result<(), PlotError> {
    ensure_font();
    let root = BitMapBackend::new(path, canvas_size(chart)).into_drawing_area();
    draw_chart(&root, chart).map_err(|m| draw_error(path, m))?;
    root.present().map_err(|e| draw_error(path, e.to_string()))
}

/// Render `chart` as an SVG with the same layout as [`render_png`].
pub fn render_svg(chart: &Chart, path: &Path) -> Result<(), PlotError> {
    let text = svg_text(chart).map_err(|m| draw_error(path, m))?;
    std::fs::write(path, text).map_err(|e| draw_error(path, e.to_string()))
}

/// The SVG document of `chart` (what [`render_svg`] writes), for embedding.
pub fn svg_text(chart: &Chart) -> Result<String, String> {
    ensure_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, canvas_size(chart)).into_drawing_area();
        draw_chart(&root, chart)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// Line style of series `i`: (stroke width, dash length and gap in pixels; 0 = solid).
fn line_style(i: usize) -> (u32, i32, i32) {
    const STYLES: [(i32, i32); 4] = [(0, 0), (9, 5), (2, 4), (16, 6)];
    let (dash, gap) = STYLES[i % STYLES.len()];
    let width = [4, 3, 3, 2][i % STYLES.len()];
    (width, dash, gap)
}

fn draw_error(path: &Path, message: String) -> PlotError {
    PlotError::Draw {
        path: path.display().to_string(),
        message,
    }
}

fn canvas_size(chart: &Chart) -> (u32, u32) {
    let panels = chart.panels.len().max(1) as u32;
    (WIDTH, TITLE_HEIGHT + panels * PANEL_HEIGHT + X_DESC_HEIGHT)
}

/// Time axis: data seconds are multiplied by `scale` to get axis units.
struct TimeAxis {
    scale: f64,
    max: f64,
    desc: &'static str,
}

impl TimeAxis {
    fn new(chart: &Chart) -> Self {
        let mut duration = chart.duration_s;
        if !(duration.is_finite() && duration > 0.0) {
            // Fall back to the latest finite sample time.
            duration = chart
                .panels
                .iter()
                .flat_map(|p| p.series.iter())
                .flat_map(|s| s.points.iter())
                .filter(|(t, v)| t.is_finite() && v.is_finite())
                .fold(0.0_f64, |m, &(t, _)| m.max(t));
        }
        if !(duration.is_finite() && duration > 0.0) {
            duration = 1.0;
        }
        duration = duration.min(f64::MAX / 4.0);
        if duration > MINUTES_THRESHOLD_S {
            TimeAxis {
                scale: 1.0 / 60.0,
                max: duration / 60.0,
                desc: "simulated time (min)",
            }
        } else {
            TimeAxis {
                scale: 1.0,
                max: duration,
                desc: "simulated time (s)",
            }
        }
    }
}

/// A series after scaling, NaN removal and clipping to the x range:
/// one or more polylines (a line leaving and re-entering the range splits).
struct Prepared {
    lines: Vec<Vec<(f64, f64)>>,
}

fn prepare(points: &[(f64, f64)], axis: &TimeAxis) -> Prepared {
    let scaled = points.iter().map(|&(t, v)| (t * axis.scale, v));
    let (x0, x1) = (0.0, axis.max);
    let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut prev: Option<(f64, f64)> = None;
    for p in scaled {
        // A value that is not a number (a ratio over nothing) is a gap in the line.
        if !(p.0.is_finite() && p.1.is_finite()) {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            prev = None;
            continue;
        }
        match prev {
            None => {
                if p.0 >= x0 && p.0 <= x1 {
                    current.push(p);
                }
            }
            Some(q) => {
                if let Some((a, b)) = clip_segment(q, p, x0, x1) {
                    if current.last() != Some(&a) {
                        if !current.is_empty() {
                            lines.push(std::mem::take(&mut current));
                        }
                        current.push(a);
                    }
                    if current.last() != Some(&b) {
                        current.push(b);
                    }
                }
            }
        }
        prev = Some(p);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    Prepared { lines }
}

/// Clip segment `a`-`b` to `x0 <= x <= x1`, interpolating y at the edges.
fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    x0: f64,
    x1: f64,
) -> Option<((f64, f64), (f64, f64))> {
    let (lo, hi) = if a.0 <= b.0 { (a, b) } else { (b, a) };
    if hi.0 < x0 || lo.0 > x1 {
        return None;
    }
    let at = |x: f64| -> (f64, f64) {
        let dx = hi.0 - lo.0;
        if dx <= 0.0 {
            (x, lo.1)
        } else {
            (x, lo.1 + (hi.1 - lo.1) * ((x - lo.0) / dx))
        }
    };
    let c_lo = if lo.0 < x0 { at(x0) } else { lo };
    let c_hi = if hi.0 > x1 { at(x1) } else { hi };
    if a.0 <= b.0 {
        Some((c_lo, c_hi))
    } else {
        Some((c_hi, c_lo))
    }
}

/// Reduce a polyline to what is visible at `buckets` columns across the x
/// range: per column run keep first, min, max and last (in order), then drop
/// interior points of horizontal runs. Visually lossless, keeps files small.
fn decimate(line: &[(f64, f64)], x_max: f64, buckets: f64) -> Vec<(f64, f64)> {
    if line.len() <= 3 {
        return line.to_vec();
    }
    let col = |x: f64| -> i64 { ((x / x_max) * buckets).floor() as i64 };
    let mut kept: Vec<usize> = Vec::with_capacity(line.len().min(4 * buckets as usize + 8));
    let mut start = 0;
    while start < line.len() {
        let c = col(line[start].0);
        let mut end = start + 1;
        while end < line.len() && col(line[end].0) == c {
            end += 1;
        }
        let (mut imin, mut imax) = (start, start);
        for i in start..end {
            if line[i].1 < line[imin].1 {
                imin = i;
            }
            if line[i].1 > line[imax].1 {
                imax = i;
            }
        }
        let mut run = [start, imin, imax, end - 1];
        run.sort_unstable();
        for i in run {
            if kept.last() != Some(&i) {
                kept.push(i);
            }
        }
        start = end;
    }
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(kept.len());
    for (k, &i) in kept.iter().enumerate() {
        let p = line[i];
        if k > 0 && k + 1 < kept.len() {
            let (a, b) = (line[kept[k - 1]], line[kept[k + 1]]);
            if a.1 == p.1 && p.1 == b.1 && a.0 <= p.0 && p.0 <= b.0 {
                continue;
            }
        }
        out.push(p);
    }
    out
}

/// Y range of a panel: `min(0, lowest)*1.1 .. max(highest*1.1, 1)`.
fn y_range(prepared: &[Prepared]) -> (f64, f64) {
    let mut lo = 0.0_f64;
    let mut hi = 0.0_f64;
    for p in prepared
        .iter()
        .flat_map(|s| s.lines.iter())
        .flat_map(|l| l.iter())
    {
        lo = lo.min(p.1);
        hi = hi.max(p.1);
    }
    let cap = f64::MAX / 4.0;
    let hi = (hi * 1.1).clamp(1.0, cap);
    let lo = (lo * 1.1).clamp(-cap, 0.0);
    (lo, hi)
}

fn all_integral(panel: &Panel) -> bool {
    panel
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .all(|(_, v)| v.fract() == 0.0)
}

pub(super) fn fmt_num(v: &f64) -> String {
    let v = *v;
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    if (v - v.round()).abs() < 1e-9 * a.max(1.0) {
        return format!("{}", v.round() as i64);
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub(super) fn font(px: f64) -> TextStyle<'static> {
    (FONT, px).into_font().color(&BLACK)
}

pub(super) fn err_str<E: std::error::Error + Send + Sync>(
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> String {
    e.to_string()
}

/// Shorten `text` with an ellipsis until it fits in `max_w` pixels.
fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max_w: i32,
) -> String {
    let width = |s: &str| {
        area.estimate_text_size(s, style)
            .map(|(w, _)| w as i32)
            .unwrap_or(0)
    };
    if width(text) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    while n > 0 {
        n -= 1;
        let s: String = chars[..n].iter().collect::<String>() + "…";
        if width(&s) <= max_w {
            return s;
        }
    }
    String::new()
}

/// Width reserved to the right of every plot for the legend (same for all
/// panels so the shared x axes line up).
fn legend_width<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> i32 {
    let style = font(LEGEND_FONT_PX);
    let widest = chart
        .panels
        .iter()
        .flat_map(|p| p.series.iter())
        .map(|s| {
            root.estimate_text_size(s.name, &style)
                .map(|(w, _)| w as i32)
                .unwrap_or(0)
        })
        .max();
    match widest {
        None => 24,
        Some(w) => (w + LEGEND_SWATCH_PX + LEGEND_CHROME_PX).clamp(150, 320),
    }
}

fn draw_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(err_str)?;
    let (width, height) = root.dim_in_pixel();
    let (title_area, body) = root.split_vertically(TITLE_HEIGHT);
    title_area
        .draw(&Text::new(
            chart.title.to_string(),
            (width as i32 / 2, TITLE_HEIGHT as i32 / 2 + 2),
            font(24.0).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(err_str)?;

    if chart.panels.is_empty() {
        body.draw(&Text::new(
            "(no data)",
            (width as i32 / 2, (height - TITLE_HEIGHT) as i32 / 2),
            font(16.0)
                .color(&RGBColor(120, 120, 120))
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(err_str)?;
        return Ok(());
    }

    let axis = TimeAxis::new(chart);
    let legend_w = legend_width(root, chart);
    let n = chart.panels.len() as i32;
    let breaks: Vec<i32> = (1..n).map(|i| i * PANEL_HEIGHT as i32).collect();
    let areas = body.split_by_breakpoints::<i32, i32, _, _>(&[] as &[i32], &breaks);
    for (i, (panel, area)) in chart.panels.iter().zip(areas.iter()).enumerate() {
        draw_panel(
            root,
            area,
            chart,
            panel,
            &axis,
            legend_w,
            i == 0,
            i + 1 == chart.panels.len(),
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    panel: &Panel,
    axis: &TimeAxis,
    legend_w: i32,
    first: bool,
    last: bool,
) -> Result<(), String> {
    let prepared: Vec<Prepared> = panel
        .series
        .iter()
        .map(|s| prepare(s.points, axis))
        .collect();
    let (y_lo, y_hi) = y_range(&prepared);
    let (area_w, _) = area.dim_in_pixel();
    let (plot_area, _legend_area) = area.split_horizontally(area_w as i32 - legend_w);

    let mut cc = ChartBuilder::on(&plot_area)
        .caption(panel.title, font(19.0))
        .margin_top(6)
        .margin_left(10)
        .margin_right(14)
        .margin_bottom(4)
        .x_label_area_size(if last { 56 } else { 32 })
        .y_label_area_size(62)
        .build_cartesian_2d(0.0..axis.max, y_lo..y_hi)
        .map_err(err_str)?;

    // Fault windows first, so grid and data are drawn on top of the shading.
    let windows: Vec<(f64, f64, &str)> = chart
        .windows
        .iter()
        .filter(|w| !w.start_s.is_nan() && !w.end_s.is_nan())
        .map(|w| {
            (
                (w.start_s * axis.scale).max(0.0),
                (w.end_s * axis.scale).min(axis.max),
                w.label.as_str(),
            )
        })
        .filter(|(s, e, _)| s < e)
        .collect();
    cc.draw_series(
        windows
            .iter()
            .map(|&(s, e, _)| Rectangle::new([(s, y_lo), (e, y_hi)], SHADE.mix(0.13).filled())),
    )
    .map_err(err_str)?;
    cc.draw_series(windows.iter().flat_map(|&(s, e, _)| {
        [s, e]
            .map(|x| PathElement::new(vec![(x, y_lo), (x, y_hi)], SHADE.mix(0.45).stroke_width(1)))
    }))
    .map_err(err_str)?;

    let y_labels = if all_integral(panel) {
        ((y_hi.floor() as usize) + 1).clamp(2, 11)
    } else {
        8
    };
    let grid = RGBColor(0, 0, 0);
    cc.configure_mesh()
        .x_labels(12)
        .y_labels(y_labels)
        .x_desc(if last { axis.desc } else { "" })
        .y_desc(panel.y_label)
        .x_label_formatter(&fmt_num)
        .y_label_formatter(&fmt_num)
        .label_style(font(13.0))
        .axis_desc_style(font(14.0))
        .bold_line_style(grid.mix(0.10))
        .light_line_style(grid.mix(0.035))
        .axis_style(grid.mix(0.6))
        .draw()
        .map_err(err_str)?;

    let (px_range, py_range) = cc.plotting_area().get_pixel_range();
    let plot_w = (px_range.end - px_range.start).max(1) as f64;
    if panel.stacked {
        draw_bands(&mut cc, &prepared)?;
    }
    for (i, series) in prepared.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let (width, dash, gap) = if panel.stacked {
            (1, 0, 0)
        } else {
            line_style(i)
        };
        for line in &series.lines {
            let pts = decimate(line, axis.max, plot_w * 2.0);
            // Thick bitmap polylines get miter spikes on dense zigzags, so
            // dense lines are drawn one pixel wide.
            let width = if pts.len() as f64 > plot_w / 3.0 {
                1
            } else {
                width
            };
            if dash > 0 && pts.len() as f64 <= plot_w / 3.0 {
                cc.draw_series(std::iter::once(DashedPathElement::new(
                    pts,
                    dash,
                    gap,
                    color.stroke_width(width),
                )))
                .map_err(err_str)?;
            } else {
                cc.draw_series(std::iter::once(PathElement::new(
                    pts,
                    color.stroke_width(width),
                )))
                .map_err(err_str)?;
            }
        }
    }

    if first {
        draw_window_labels(root, &cc, &windows, y_hi, &px_range, py_range.start)?;
    }
    draw_legend(
        root,
        panel,
        px_range.end + 14,
        legend_w - 24,
        py_range.start,
        py_range.end,
    )?;
    Ok(())
}

type Coords =
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>;

/// A stacked panel's bands: between series `i - 1` and `i` (the first down to zero).
fn draw_bands<DB: DrawingBackend>(
    cc: &mut ChartContext<DB, Coords>,
    prepared: &[Prepared],
) -> Result<(), String> {
    let flat = |p: &Prepared| -> Vec<(f64, f64)> { p.lines.iter().flatten().copied().collect() };
    let mut below: Vec<(f64, f64)> = Vec::new();
    for (i, series) in prepared.iter().enumerate() {
        let top = flat(series);
        if top.is_empty() {
            continue;
        }
        let mut poly = top.clone();
        if below.is_empty() {
            poly.push((top[top.len() - 1].0, 0.0));
            poly.push((top[0].0, 0.0));
        } else {
            poly.extend(below.iter().rev().copied());
        }
        let color = PALETTE[i % PALETTE.len()];
        cc.draw_series(std::iter::once(Polygon::new(
            poly,
            color.mix(0.55).filled(),
        )))
        .map_err(err_str)?;
        below = top;
    }
    Ok(())
}

fn draw_window_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cc: &ChartContext<DB, Coords>,
    windows: &[(f64, f64, &str)],
    y_hi: f64,
    px_range: &std::ops::Range<i32>,
    top: i32,
) -> Result<(), String> {
    let style = font(13.0).color(&SHADE_TEXT);
    // Greedy rows so that labels of neighbouring windows do not overlap.
    let mut row_ends: Vec<i32> = Vec::new();
    for &(s, _, label) in windows {
        if label.is_empty() {
            continue;
        }
        let (x, _) = cc.backend_coord(&(s, y_hi));
        let w = root
            .estimate_text_size(label, &style)
            .map(|(w, _)| w as i32)
            .unwrap_or(0);
        let x = (x + 5).min(px_range.end - w - 5).max(px_range.start + 5);
        let row = match row_ends.iter().position(|&end| x > end + 8) {
            Some(r) => r,
            None => {
                row_ends.push(i32::MIN);
                row_ends.len() - 1
            }
        };
        if row >= 3 {
            continue;
        }
        row_ends[row] = x + w;
        let y = top + 4 + row as i32 * 18;
        root.draw(&Rectangle::new(
            [(x - 3, y - 1), (x + w + 3, y + 16)],
            WHITE.mix(0.7).filled(),
        ))
        .map_err(err_str)?;
        root.draw(&Text::new(
            label.to_string(),
            (x, y),
            style.pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(err_str)?;
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panel: &Panel,
    left: i32,
    width: i32,
    top: i32,
    bottom: i32,
) -> Result<(), String> {
    let count = panel.series.len() as i32;
    if count == 0 || width <= LEGEND_SWATCH_PX {
        return Ok(());
    }
    let pad = 7;
    let avail = (bottom - top - 2 * pad).max(LEGEND_ROW_PX);
    // Shrink rows to fit many series; beyond that, summarise the rest.
    let row_h = (avail / count).clamp(12, LEGEND_ROW_PX);
    let font_px = (row_h as f64 - 5.0).clamp(9.0, LEGEND_FONT_PX);
    let max_rows = (avail / row_h).max(1);
    let (shown, hidden) = if count <= max_rows {
        (count, 0)
    } else {
        (max_rows - 1, count - (max_rows - 1))
    };
    let rows = shown + i32::from(hidden > 0);
    let box_bottom = top + 2 * pad + rows * row_h;
    root.draw(&Rectangle::new(
        [(left, top), (left + width, box_bottom)],
        WHITE.mix(0.85).filled(),
    ))
    .map_err(err_str)?;
    root.draw(&Rectangle::new(
        [(left, top), (left + width, box_bottom)],
        RGBColor(0, 0, 0).mix(0.25),
    ))
    .map_err(err_str)?;
    let style = font(font_px);
    let text_left = left + pad + LEGEND_SWATCH_PX + 6;
    let text_w = left + width - pad - text_left;
    for (i, s) in panel.series.iter().take(shown as usize).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let cy = top + pad + i as i32 * row_h + row_h / 2;
        let swatch = vec![(left + pad, cy), (left + pad + LEGEND_SWATCH_PX, cy)];
        let (width, dash, gap) = line_style(i);
        if panel.stacked {
            root.draw(&Rectangle::new(
                [
                    (left + pad, cy - 5),
                    (left + pad + LEGEND_SWATCH_PX, cy + 5),
                ],
                color.mix(0.55).filled(),
            ))
        } else if dash > 0 {
            root.draw(&DashedPathElement::new(
                swatch,
                dash.min(8),
                gap.min(4),
                color.stroke_width(width),
            ))
        } else {
            root.draw(&PathElement::new(swatch, color.stroke_width(width)))
        }
        .map_err(err_str)?;
        let name = fit_text(root, s.name, &style, text_w);
        root.draw(&Text::new(
            name,
            (text_left, cy),
            style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err_str)?;
    }
    if hidden > 0 {
        let cy = top + pad + shown * row_h + row_h / 2;
        root.draw(&Text::new(
            format!("+{hidden} more"),
            (left + pad, cy),
            style
                .color(&RGBColor(90, 90, 90))
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err_str)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
