//! The tables of a sweep, built from cell records in cell order: `cells.csv` (one row per
//! cell) and `aggregate.csv` (one row per flag combination and metric: n, mean, sample
//! standard deviation, min, max and a 95 % confidence interval of the mean over the seeds).
//!
//! Invariant: the bytes are a function of the records alone (metric text as committed,
//! columns in one canonical order, numbers formatted without locale or platform
//! dependence), so a resumed sweep, a one-process sweep and merged shards write the same
//! files.

use super::{Axis, CellRecord};

/// The metric columns of a set of records: every path any record has, ordered segment by
/// segment, numeric segments as numbers (`faults.2` before `faults.10`).
pub fn metric_columns(records: &[CellRecord]) -> Vec<String> {
    let mut cols: Vec<&str> = records
        .iter()
        .flat_map(|r| r.metrics.iter().map(|(k, _)| k.as_str()))
        .collect();
    cols.sort_by(|a, b| path_order(a, b));
    cols.dedup();
    cols.into_iter().map(str::to_string).collect()
}

fn path_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> Vec<(u8, u64, String)> {
        s.split('.')
            .map(|seg| match seg.parse::<u64>() {
                Ok(n) if !seg.starts_with('+') => (0, n, String::new()),
                _ => (1, 0, seg.to_string()),
            })
            .collect()
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

fn csv_bytes(rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for r in rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&r);
    }
    w.into_inner().unwrap_or_default()
}

/// `cells.csv`: the swept flags (one column each, named by the flag), `seed`, `digest`,
/// `events`, then every metric column; one row per record, in the order given.
pub fn cells_csv(axes: &[Axis], records: &[CellRecord]) -> Vec<u8> {
    let cols = metric_columns(records);
    let mut header: Vec<String> = axes.iter().map(|a| a.flag.clone()).collect();
    header.extend(["seed", "digest", "events"].map(String::from));
    header.extend(cols.iter().cloned());
    let mut rows = vec![header];
    for r in records {
        let mut row: Vec<String> = r.assignment.iter().map(|(_, v)| v.clone()).collect();
        row.push(r.seed.to_string());
        row.push(r.digest.clone());
        row.push(r.events.to_string());
        row.extend(cols.iter().map(|c| metric_text(r, c).unwrap_or_default()));
        rows.push(row);
    }
    csv_bytes(rows)
}

fn metric_text(r: &CellRecord, col: &str) -> Option<String> {
    r.metrics
        .iter()
        .find(|(k, _)| k == col)
        .and_then(|(_, v)| v.clone())
}

/// A metric's value in a record (`events` is one too); `None` when absent or null.
pub fn metric_value(r: &CellRecord, col: &str) -> Option<f64> {
    if col == "events" {
        return Some(r.events as f64);
    }
    metric_text(r, col).and_then(|t| t.parse::<f64>().ok())
}

/// The summary statistics of one metric over the seeds of one flag combination.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1); `None` for one value.
    pub std: Option<f64>,
    pub min: f64,
    pub max: f64,
    /// mean ± t(0.975, n − 1) · std / √n; `None` for one value.
    pub ci95: Option<(f64, f64)>,
}

/// [`Stats`] of `values`, summed in the order given; `None` if empty.
pub fn stats(values: &[f64]) -> Option<Stats> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (std, ci95) = if n >= 2 {
        let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        let std = (ss / (n - 1) as f64).sqrt();
        let half = t_975(n - 1) * std / (n as f64).sqrt();
        (Some(std), Some((mean - half, mean + half)))
    } else {
        (None, None)
    };
    Some(Stats {
        n,
        mean,
        std,
        min,
        max,
        ci95,
    })
}

/// Upper 2.5 % critical values of Student's t, t(0.975, df), from the NIST/SEMATECH
/// e-Handbook of Statistical Methods, table 1.3.6.7.2 ("Critical values of the Student's t
/// distribution", column 0.975), and t(0.975, 200/500/1000) from the same distribution.
const T_975: [(usize, f64); 38] = [
    (1, 12.706),
    (2, 4.303),
    (3, 3.182),
    (4, 2.776),
    (5, 2.571),
    (6, 2.447),
    (7, 2.365),
    (8, 2.306),
    (9, 2.262),
    (10, 2.228),
    (11, 2.201),
    (12, 2.179),
    (13, 2.160),
    (14, 2.145),
    (15, 2.131),
    (16, 2.120),
    (17, 2.110),
    (18, 2.101),
    (19, 2.093),
    (20, 2.086),
    (21, 2.080),
    (22, 2.074),
    (23, 2.069),
    (24, 2.064),
    (25, 2.060),
    (26, 2.056),
    (27, 2.052),
    (28, 2.048),
    (29, 2.045),
    (30, 2.042),
    (40, 2.021),
    (50, 2.009),
    (60, 2.000),
    (80, 1.990),
    (100, 1.984),
    (200, 1.972),
    (500, 1.965),
    (1000, 1.962),
];

/// t(0.975, df); between two rows of the table the smaller df's value (a slightly wider,
/// conservative interval); beyond 1000, 1.962 (the limit is 1.960).
pub fn t_975(df: usize) -> f64 {
    T_975
        .iter()
        .rev()
        .find(|(d, _)| *d <= df.max(1))
        .map_or(T_975[0].1, |(_, t)| *t)
}

/// One flag combination's statistics, metric by metric (`events` first, then the metric
/// columns).
pub struct Group {
    pub assignment: Vec<(String, String)>,
    pub metrics: Vec<(String, Option<Stats>)>,
}

/// Groups consecutive records with the same assignment (cell order keeps each combination's
/// seeds together) and computes each metric's [`Stats`].
pub fn groups(records: &[CellRecord]) -> Vec<Group> {
    let mut cols = vec!["events".to_string()];
    cols.extend(metric_columns(records));
    let mut out: Vec<Group> = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let a = &records[start].assignment;
        let end = records[start..]
            .iter()
            .position(|r| &r.assignment != a)
            .map_or(records.len(), |p| start + p);
        let members = &records[start..end];
        let metrics = cols
            .iter()
            .map(|c| {
                let vals: Vec<f64> = members.iter().filter_map(|r| metric_value(r, c)).collect();
                (c.clone(), stats(&vals))
            })
            .collect();
        out.push(Group {
            assignment: a.clone(),
            metrics,
        });
        start = end;
    }
    out
}

/// `aggregate.csv`: one row per flag combination and metric: the flags, `metric`, `n`,
/// `mean`, `std`, `min`, `max`, `ci95_low`, `ci95_high` (empty where undefined).
pub fn aggregate_csv(axes: &[Axis], records: &[CellRecord]) -> Vec<u8> {
    let mut header: Vec<String> = axes.iter().map(|a| a.flag.clone()).collect();
    header.extend(
        [
            "metric",
            "n",
            "mean",
            "std",
            "min",
            "max",
            "ci95_low",
            "ci95_high",
        ]
        .map(String::from),
    );
    let mut rows = vec![header];
    for g in groups(records) {
        for (metric, st) in &g.metrics {
            let mut row: Vec<String> = g.assignment.iter().map(|(_, v)| v.clone()).collect();
            row.push(metric.clone());
            match st {
                None => row.extend(["0", "", "", "", "", "", ""].map(String::from)),
                Some(s) => {
                    row.push(s.n.to_string());
                    row.push(num(s.mean));
                    row.push(s.std.map(num).unwrap_or_default());
                    row.push(num(s.min));
                    row.push(num(s.max));
                    row.push(s.ci95.map(|c| num(c.0)).unwrap_or_default());
                    row.push(s.ci95.map(|c| num(c.1)).unwrap_or_default());
                }
            }
            rows.push(row);
        }
    }
    csv_bytes(rows)
}

/// A number with at most 6 decimals, trailing zeros dropped (`2`, `0.5`, `12.706`).
pub fn num(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// The metric a sweep plots when none is named: the first column whose name mentions the
/// last taint, else `evictions_total`, else the first column with a value.
pub fn default_metric(records: &[CellRecord]) -> Option<String> {
    let cols = metric_columns(records);
    let has_value = |c: &String| records.iter().any(|r| metric_value(r, c).is_some());
    cols.iter()
        .find(|c| c.contains("last_taint") && has_value(c))
        .or_else(|| cols.iter().find(|c| *c == "evictions_total"))
        .or_else(|| cols.iter().find(|c| has_value(c)))
        .cloned()
}
