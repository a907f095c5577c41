//! The directory of a sweep (`kubesim sweep --out DIR`): `cells/<key>.json` (one committed
//! record per finished cell), `sweep.json` (the plan: axes, seeds, every cell's key, the
//! shard), `cells.csv`, `aggregate.csv`, the plot `sweep.png` / `sweep.svg`, `report.html`
//! (`report_study.rs`), and with
//! `--keep-runs` every cell's full result under `runs/<key>/`.
//!
//! Invariant: a sweep writes only into a new or empty directory or a directory an earlier
//! sweep marked (the `.kubesim-result` marker of [`resultdir`], whose second line says
//! `kubesim sweep`); it never deletes a file it did not write; every file appears complete or
//! not at all (written under a temporary name in the same directory, fsynced, renamed), so a
//! sweep killed at any point keeps every cell it had committed.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::report_study::sweep_page;
use super::resultdir::{self, Occupant};
use super::sweepplot::{self, SweepPlot};
use super::{io, OutputError};
use crate::study::sweep::table::{self, Stats};
use crate::study::sweep::{CellRecord, Manifest};

/// The second line of a sweep directory's marker.
const SWEEP_MARK: &str = "kubesim sweep";

/// A sweep directory, checked and marked.
pub struct SweepDir {
    pub dir: PathBuf,
}

fn refuse(path: &Path, reason: impl Into<String>) -> OutputError {
    OutputError::Refused {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Whether `dir` carries a sweep's marker.
pub fn is_sweep(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(resultdir::MARKER)).is_ok_and(|t| {
        t.lines()
            .next()
            .is_some_and(|l| l.starts_with("kubesim-result "))
            && t.lines().nth(1).is_some_and(|l| l.starts_with(SWEEP_MARK))
    })
}

impl SweepDir {
    /// Checks `path` by the rules of `--out` ([`resultdir::check_target`]) and that an
    /// existing result is a sweep's; creates and marks a new one. Nothing is deleted.
    pub fn open(path: &Path) -> Result<SweepDir, OutputError> {
        let t = resultdir::check_target(path)?;
        match t.occupant {
            Occupant::Nothing | Occupant::EmptyDir => {
                std::fs::create_dir_all(&t.dir).map_err(io(&t.dir))?;
                let marker = format!(
                    "kubesim-result {}\n{SWEEP_MARK} directory written by kubesim {}; a rerun of \
                     the sweep reuses its cells\n",
                    resultdir::FORMAT_VERSION,
                    env!("CARGO_PKG_VERSION")
                );
                write_atomic(&t.dir, resultdir::MARKER, marker.as_bytes())?;
            }
            Occupant::Result if !is_sweep(&t.dir) => {
                return Err(refuse(
                    path,
                    "it is the result of a kubesim run, not of a sweep; choose a new or empty \
                     directory, or remove it yourself",
                ))
            }
            Occupant::Result => {}
        }
        let cells = t.dir.join("cells");
        std::fs::create_dir_all(&cells).map_err(io(&cells))?;
        Ok(SweepDir { dir: t.dir })
    }

    fn cell_path(&self, key: &str) -> PathBuf {
        self.dir.join("cells").join(format!("{key}.json"))
    }

    /// The committed record of `key`, if there is a readable one for that key.
    pub fn load_cell(&self, key: &str) -> Option<CellRecord> {
        read_cell(&self.cell_path(key), key)
    }

    /// Commits a finished cell: `cells/<key>.json`, complete or absent.
    pub fn commit_cell(&self, rec: &CellRecord) -> Result<(), OutputError> {
        let mut bytes = serde_json::to_vec_pretty(rec).unwrap_or_default();
        bytes.push(b'\n');
        write_atomic(
            &self.dir.join("cells"),
            &format!("{}.json", rec.key),
            &bytes,
        )
    }

    /// Writes `name` in the sweep directory, replacing an earlier one atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        write_atomic(&self.dir, name, bytes)
    }

    /// Removes a file of the sweep's own (a plot the new grid no longer draws).
    pub fn remove_own(&self, name: &str) {
        let _ = std::fs::remove_file(self.dir.join(name));
    }

    /// Where `--keep-runs` writes a cell's full result.
    pub fn run_dir(&self, key: &str) -> PathBuf {
        self.dir.join("runs").join(key)
    }
}

fn read_cell(p: &Path, key: &str) -> Option<CellRecord> {
    if !std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.len() < (64 << 20)) {
        return None;
    }
    let bytes = std::fs::read(p).ok()?;
    let rec: CellRecord = serde_json::from_slice(&bytes).ok()?;
    (rec.key == key).then_some(rec)
}

/// `dir/name` via `dir/.name.tmp-PID`: written, fsynced, renamed over.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let dest = dir.join(name);
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &dest).map_err(io(&dest))
}

/// Reads a sweep directory's `sweep.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, OutputError> {
    let p = dir.join("sweep.json");
    if !is_sweep(dir) {
        return Err(refuse(dir, "it is not a kubesim sweep directory"));
    }
    let bytes = std::fs::read(&p).map_err(io(&p))?;
    serde_json::from_slice(&bytes).map_err(|e| refuse(&p, format!("unreadable: {e}")))
}

/// The manifest of a sweep as `sweep.json` bytes.
pub fn manifest_json(m: &Manifest) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(m).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Gathers the records of every cell of the sweep the shard directories `dirs` belong to:
/// all must hold the same plan, and together every cell. Returns the plan (without a shard)
/// and the records in cell order.
pub fn gather(dirs: &[PathBuf]) -> Result<(Manifest, Vec<CellRecord>), OutputError> {
    let Some(first) = dirs.first() else {
        return Err(refuse(Path::new(""), "no shard directories given"));
    };
    let mut plan = read_manifest(first)?;
    let mut sources = Vec::new();
    for d in dirs {
        let m = read_manifest(d)?;
        if !m.same_sweep(&plan) {
            return Err(refuse(
                d,
                format!(
                    "its sweep.json describes another sweep than {} (other grid, seeds, \
                     scenario or kubesim version)",
                    first.display()
                ),
            ));
        }
        sources.push(SweepDir { dir: d.clone() });
    }
    plan.shard = None;
    let mut records = Vec::with_capacity(plan.cells.len());
    let mut missing = Vec::new();
    for (i, key) in plan.cells.iter().enumerate() {
        match sources.iter().find_map(|s| s.load_cell(key)) {
            Some(r) => records.push(r),
            None => missing.push(i),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(|i| i.to_string()).collect();
        return Err(refuse(
            first,
            format!(
                "{} of {} cells are in none of the directories (cell indexes {}{}); merge \
                 every shard's directory, or rerun the missing shards",
                missing.len(),
                plan.cells.len(),
                shown.join(", "),
                if missing.len() > 10 { ", …" } else { "" }
            ),
        ));
    }
    Ok((plan, records))
}

/// What [`write_tables`] wrote besides the tables: the plotted metric, or why none.
pub enum Plotted {
    Metric(String),
    Nothing(String),
    /// `--metric` names no column (the message suggests the closest); tables are written.
    UnknownMetric(String),
}

/// Writes `sweep.json`, `cells.csv`, `aggregate.csv`, `report.html` and (one or two swept
/// flags) the plot
/// of `metric` (default: [`table::default_metric`]) for `records` in cell order. An unknown
/// metric is reported (naming the closest column) after the tables are written.
pub fn write_tables(
    d: &SweepDir,
    m: &Manifest,
    records: &[CellRecord],
    metric: Option<&str>,
) -> Result<Plotted, OutputError> {
    d.write("sweep.json", &manifest_json(m))?;
    d.write("cells.csv", &table::cells_csv(&m.axes, records))?;
    d.write("aggregate.csv", &table::aggregate_csv(&m.axes, records))?;
    let cols = table::metric_columns(records);
    let metric = match metric {
        Some(x) if x == "events" || cols.iter().any(|c| c == x) => x.to_string(),
        Some(x) => {
            let hint = crate::model::suggest::closest(x, cols.iter().map(|c| c.as_str()))
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            d.write("report.html", sweep_page(m, records, None).as_bytes())?;
            return Ok(Plotted::UnknownMetric(format!(
                "--metric {x:?} is no column of cells.csv{hint}"
            )));
        }
        None => match table::default_metric(records) {
            Some(x) => x,
            None => {
                d.write("report.html", sweep_page(m, records, None).as_bytes())?;
                return Ok(Plotted::Nothing("no numeric metric to plot".into()));
            }
        },
    };
    let Some(plot) = plot_of(m, records, &metric) else {
        d.remove_own("sweep.png");
        d.remove_own("sweep.svg");
        d.write("report.html", sweep_page(m, records, None).as_bytes())?;
        return Ok(Plotted::Nothing(format!(
            "no plot for {} swept flags with several values (one: a line, two: a heatmap)",
            m.axes.iter().filter(|a| a.values.len() > 1).count()
        )));
    };
    // Rendered beside the target and renamed in, like every other file.
    let tmp = d.dir.join(format!(".sweep.tmp-{}", std::process::id()));
    sweepplot::render(&plot, &tmp)?;
    let svg_path = tmp.with_extension("svg");
    let svg = std::fs::read_to_string(&svg_path).map_err(io(&svg_path))?;
    for ext in ["png", "svg"] {
        let from = tmp.with_extension(ext);
        let to = d.dir.join(format!("sweep.{ext}"));
        std::fs::rename(&from, &to).map_err(io(&to))?;
    }
    d.write(
        "report.html",
        sweep_page(m, records, Some((&metric, &svg))).as_bytes(),
    )?;
    Ok(Plotted::Metric(metric))
}

/// The plot of `metric`: flags swept over one value only are held at it, so one flag with
/// several values gives a line and two give a heatmap (a lone single-valued flag: a line of
/// one point); no plot without flags or with three or more varying ones.
fn plot_of(m: &Manifest, records: &[CellRecord], metric: &str) -> Option<SweepPlot> {
    let groups = table::groups(records);
    let varying: Vec<usize> = (0..m.axes.len())
        .filter(|i| m.axes[*i].values.len() > 1)
        .collect();
    // The statistics where the varying flags take `values` and the others their one value.
    let stats_of = |values: &[&String]| -> Option<Stats> {
        let mut want: Vec<&String> = m.axes.iter().map(|a| &a.values[0]).collect();
        for (i, v) in varying.iter().zip(values) {
            want[*i] = v;
        }
        groups
            .iter()
            .find(|g| {
                g.assignment.len() == want.len()
                    && g.assignment.iter().zip(&want).all(|((_, v), w)| v == *w)
            })
            .and_then(|g| g.metrics.iter().find(|(k, _)| k == metric))
            .and_then(|(_, s)| *s)
    };
    let axis = |k: usize| &m.axes[varying[k]];
    match (varying.len(), m.axes.len()) {
        (_, 0) => None,
        (0, _) | (1, _) => {
            let a = if varying.is_empty() {
                &m.axes[0]
            } else {
                axis(0)
            };
            Some(SweepPlot::Line {
                title: format!("{}: {metric} by {}", m.scenario, a.flag),
                flag: a.flag.clone(),
                metric: metric.to_string(),
                points: a
                    .values
                    .iter()
                    .map(|v| (v.clone(), stats_of(&[v])))
                    .collect(),
            })
        }
        (2, _) => {
            let (x, y) = (axis(0), axis(1));
            Some(SweepPlot::Heatmap {
                title: format!("{}: mean {metric}", m.scenario),
                x_flag: x.flag.clone(),
                y_flag: y.flag.clone(),
                metric: metric.to_string(),
                x_values: x.values.clone(),
                y_values: y.values.clone(),
                cells: y
                    .values
                    .iter()
                    .map(|yv| {
                        x.values
                            .iter()
                            .map(|xv| stats_of(&[xv, yv]).map(|s| s.mean))
                            .collect()
                    })
                    .collect(),
            })
        }
        _ => None,
    }
}
