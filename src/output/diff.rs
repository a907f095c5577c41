//! `kubesim diff`: two runs compared. Each side is a result's three files (`summary.json`,
//! `events.jsonl`, `timeseries.csv`), read from a results directory or produced by a run.
//! The comparison: every numeric summary field side by side with B − A, the first record at
//! which the event logs diverge, event counts per reason, `--fail-on` conditions, and an overlay
//! plot of the main time series (`diff.png`, `diff.svg`). See docs/diff.md.
//!
//! Invariant: a pure function of the two sides' bytes (the same inputs give the same report
//! and the same plot bytes); it writes only through the result-directory rules of
//! [`super::resultdir`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::{plot, resultdir, OutputError};

/// One run's result files, parsed.
pub struct Side {
    pub label: String,
    /// Every numeric leaf of summary.json by its dotted path (`metrics.pods_evicted`,
    /// `faults.0.metrics.time_to_detect_s`); numeric strings (`"52.000"`) count as numbers,
    /// `null` as `None`.
    pub metrics: BTreeMap<String, Option<f64>>,
    /// events.jsonl, one entry per line: (time in ns, reason, the line).
    pub events: Vec<(u64, String, String)>,
    /// timeseries.csv: the header and the rows.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
    /// Fault windows from the summary: (start s, end s, label).
    pub windows: Vec<(f64, f64, String)>,
}

/// Reads a side from the bytes of its three files; `label` names it in messages.
pub fn side(label: &str, summary: &[u8], events: &[u8], timeseries: &[u8]) -> Result<Side, String> {
    let v: Value = serde_json::from_slice(summary)
        .map_err(|e| format!("{label}: summary.json is not JSON: {e}"))?;
    let mut metrics = BTreeMap::new();
    flatten("", &v, &mut metrics);
    let windows = v["faults"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(|f| {
                    let n = |k: &str| f[k].as_str().and_then(|s| s.parse::<f64>().ok());
                    Some((n("start_s")?, n("end_s")?, f["label"].as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let text =
        std::str::from_utf8(events).map_err(|_| format!("{label}: events.jsonl is not UTF-8"))?;
    let mut ev = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let r: Value = serde_json::from_str(line)
            .map_err(|e| format!("{label}: events.jsonl line {}: {e}", i + 1))?;
        let t = r["t_ns"]
            .as_u64()
            .ok_or_else(|| format!("{label}: events.jsonl line {}: no integer t_ns", i + 1))?;
        let reason = r["reason"].as_str().unwrap_or("").to_string();
        ev.push((t, reason, line.to_string()));
    }
    let mut rd = csv::Reader::from_reader(timeseries);
    let columns: Vec<String> = rd
        .headers()
        .map_err(|e| format!("{label}: timeseries.csv: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| format!("{label}: timeseries.csv: {e}"))?;
        rows.push(
            rec.iter()
                .map(|x| x.parse::<f64>().unwrap_or(0.0))
                .collect(),
        );
    }
    Ok(Side {
        label: label.to_string(),
        metrics,
        events: ev,
        columns,
        rows,
        windows,
    })
}

/// Reads a side from a results directory written by `kubesim run --out`.
pub fn read_dir(label: &str, dir: &Path) -> Result<Side, String> {
    let read = |f: &str| {
        std::fs::read(dir.join(f)).map_err(|e| format!("{}: cannot read {f}: {e}", dir.display()))
    };
    side(
        label,
        &read("summary.json")?,
        &read("events.jsonl")?,
        &read("timeseries.csv")?,
    )
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Option<f64>>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                // Expectations are pass/fail text, not metrics; the seed is an input.
                if prefix.is_empty() && (k == "expectations" || k == "seed") {
                    continue;
                }
                flatten(&key(k), x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&key(&i.to_string()), x, out);
            }
        }
        Value::Number(n) => {
            out.insert(prefix.to_string(), n.as_f64());
        }
        Value::String(s) => {
            if let Ok(x) = s.parse::<f64>() {
                out.insert(prefix.to_string(), Some(x));
            }
        }
        Value::Null => {
            out.insert(prefix.to_string(), None);
        }
        Value::Bool(_) => {}
    }
}

/// Where the event logs first differ: the index, the earlier of the two records' times, and
/// each side's record there (`None`: its log ended).
#[derive(Debug, PartialEq)]
pub struct Divergence {
    pub index: usize,
    pub t_ns: u64,
    pub a: Option<String>,
    pub b: Option<String>,
}

pub fn first_divergence(a: &Side, b: &Side) -> Option<Divergence> {
    let n = a.events.len().max(b.events.len());
    (0..n).find_map(|i| {
        let (x, y) = (a.events.get(i), b.events.get(i));
        if x.map(|e| &e.2) == y.map(|e| &e.2) {
            return None;
        }
        let t = match (x, y) {
            (Some(x), Some(y)) => x.0.min(y.0),
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (None, None) => 0,
        };
        Some(Divergence {
            index: i,
            t_ns: t,
            a: x.map(|e| e.2.clone()),
            b: y.map(|e| e.2.clone()),
        })
    })
}

/// Records per reason on each side, by reason.
pub fn reason_counts(a: &Side, b: &Side) -> BTreeMap<String, (u64, u64)> {
    let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for e in &a.events {
        m.entry(e.1.clone()).or_default().0 += 1;
    }
    for e in &b.events {
        m.entry(e.1.clone()).or_default().1 += 1;
    }
    m
}

/// A `--fail-on` condition: `NAME>X` or `NAME<X` on B − A, or `A:NAME…` / `B:NAME…` on one
/// side's value. `NAME` is a dotted summary path; a name not found is looked up under
/// `metrics.` (the overall study metrics).
#[derive(Clone, Debug, PartialEq)]
pub struct FailOn {
    pub text: String,
    pub side: Option<char>,
    pub name: String,
    pub greater: bool,
    pub threshold: f64,
}

pub fn parse_fail_on(text: &str) -> Result<FailOn, String> {
    let (at, greater) = match (text.find('>'), text.find('<')) {
        (Some(i), None) => (i, true),
        (None, Some(i)) => (i, false),
        _ => {
            return Err(format!(
                "--fail-on {text:?}: expected METRIC>THRESHOLD or METRIC<THRESHOLD"
            ))
        }
    };
    let (lhs, rhs) = (text[..at].trim(), text[at + 1..].trim());
    let threshold: f64 = rhs
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite())
        .ok_or_else(|| format!("--fail-on {text:?}: {rhs:?} is not a number"))?;
    let (side, name) = match lhs.split_once(':') {
        Some((s, n)) if s.eq_ignore_ascii_case("a") => (Some('A'), n),
        Some((s, n)) if s.eq_ignore_ascii_case("b") => (Some('B'), n),
        Some((s, _)) => return Err(format!("--fail-on {text:?}: side {s:?} is neither A nor B")),
        None => (None, lhs),
    };
    if name.is_empty() {
        return Err(format!("--fail-on {text:?}: no metric named"));
    }
    Ok(FailOn {
        text: text.to_string(),
        side,
        name: name.to_string(),
        greater,
        threshold,
    })
}

/// The summary path a `--fail-on` name means, or an error with a suggestion.
fn resolve_name(name: &str, a: &Side, b: &Side) -> Result<String, String> {
    let known = |n: &str| a.metrics.contains_key(n) || b.metrics.contains_key(n);
    if known(name) {
        return Ok(name.to_string());
    }
    let m = format!("metrics.{name}");
    if known(&m) {
        return Ok(m);
    }
    // Overall metrics may be named without their `metrics.` prefix.
    let all = a
        .metrics
        .keys()
        .chain(b.metrics.keys())
        .map(|k| k.strip_prefix("metrics.").unwrap_or(k));
    let hint = crate::model::suggest::closest(name, all)
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    Err(format!(
        "--fail-on: no metric {name:?} in either summary{hint}"
    ))
}

/// Each condition's verdict: `Ok(message)` when it holds (not violated), `Err(message)` when
/// violated (a null or missing operand violates it: nothing to compare is not a pass).
pub fn check_fail_on(
    conds: &[FailOn],
    a: &Side,
    b: &Side,
) -> Result<Vec<Result<String, String>>, String> {
    let mut out = Vec::new();
    for c in conds {
        let name = resolve_name(&c.name, a, b)?;
        let get = |s: &Side| s.metrics.get(&name).copied().flatten();
        let value = match c.side {
            Some('A') => get(a),
            Some(_) => get(b),
            None => get(a).zip(get(b)).map(|(x, y)| y - x),
        };
        let what = match c.side {
            Some(s) => format!("{s}:{name}"),
            None => format!("B − A of {name}"),
        };
        out.push(match value {
            None => Err(format!("{}: {what} is null or missing", c.text)),
            Some(v) if (c.greater && v > c.threshold) || (!c.greater && v < c.threshold) => {
                Err(format!("{}: violated ({what} = {})", c.text, num(v)))
            }
            Some(v) => Ok(format!("{}: holds ({what} = {})", c.text, num(v))),
        });
    }
    Ok(out)
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("null".into(), num)
}

/// The text report: metrics side by side, the first divergence, event counts per reason.
/// `all` lists unchanged metrics too.
pub fn report(a: &Side, b: &Side, all: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "A: {}\nB: {}\n", a.label, b.label);
    let mut names: Vec<&String> = a.metrics.keys().chain(b.metrics.keys()).collect();
    names.sort();
    names.dedup();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(6).max(6);
    let _ = writeln!(
        s,
        "{:width$}  {:>14}  {:>14}  {:>14}",
        "metric", "A", "B", "B − A"
    );
    let mut same = 0;
    for n in names {
        let (x, y) = (
            a.metrics.get(n).copied().flatten(),
            b.metrics.get(n).copied().flatten(),
        );
        if x == y && !all {
            same += 1;
            continue;
        }
        let d = x
            .zip(y)
            .map(|(x, y)| num(y - x))
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(s, "{n:width$}  {:>14}  {:>14}  {:>14}", opt(x), opt(y), d);
    }
    if same > 0 {
        let _ = writeln!(s, "({same} equal metrics not shown; --all lists them)");
    }
    let _ = writeln!(s);
    match first_divergence(a, b) {
        None => {
            let _ = writeln!(s, "event logs: identical ({} records)", a.events.len());
        }
        Some(d) => {
            let _ = writeln!(
                s,
                "event logs diverge at record {} (t = {}s):",
                d.index + 1,
                crate::sim::time::format_secs(d.t_ns, 3)
            );
            let _ = writeln!(s, "  A: {}", d.a.as_deref().unwrap_or("<end of log>"));
            let _ = writeln!(s, "  B: {}", d.b.as_deref().unwrap_or("<end of log>"));
        }
    }
    let _ = writeln!(
        s,
        "\n{:32}  {:>8}  {:>8}  {:>8}",
        "events by reason", "A", "B", "B − A"
    );
    for (r, (x, y)) in reason_counts(a, b) {
        let _ = writeln!(s, "{r:32}  {x:>8}  {y:>8}  {:>8}", y as i64 - x as i64);
    }
    s
}

/// The series the overlay plot draws, per panel: (panel title, y label, columns summed).
const PANELS: &[(&str, &str, &[&str])] = &[
    ("Ready nodes", "nodes", &["nodes_ready_"]),
    ("Ready pods", "pods", &["pods_ready"]),
    ("Pending pods", "pods", &["pods_pending"]),
    (
        "NoExecute-tainted nodes",
        "nodes",
        &["nodes_noexecute_tainted"],
    ),
    ("Pods evicted (cumulative)", "pods", &["evictions_total"]),
];

/// The sum of the columns starting with one of `prefixes` (exact names match themselves),
/// as `(time, value)` steps.
fn series(s: &Side, prefixes: &[&str]) -> Vec<(f64, f64)> {
    let cols: Vec<usize> = s
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            prefixes.iter().any(|p| {
                if p.ends_with('_') {
                    c.starts_with(p)
                } else {
                    *c == p
                }
            })
        })
        .map(|(i, _)| i)
        .collect();
    let pts: Vec<(f64, f64)> = s
        .rows
        .iter()
        .map(|r| (r[0], cols.iter().map(|i| r[*i]).sum()))
        .collect();
    super::charts::to_steps(&pts)
}

/// Writes `diff.txt`, `diff.png` and `diff.svg` into `dir` by the result-directory rules:
/// only a new or empty directory or an earlier kubesim result, complete or not at all.
pub fn write(dir: &Path, a: &Side, b: &Side, text: &str) -> Result<(), OutputError> {
    let target = resultdir::check_target(dir)?;
    std::fs::create_dir_all(&target.parent).map_err(super::io(&target.parent))?;
    resultdir::clean_leftovers(&target.parent, &target.name)?;
    let staging = target.parent.join(resultdir::staging_name(&target.name));
    std::fs::create_dir(&staging).map_err(super::io(&staging))?;
    let result = stage(&staging, a, b, text)
        .and_then(|()| resultdir::install(&staging, &target, &mut |_| {}));
    if result.is_err() && resultdir::is_result(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn stage(staging: &Path, a: &Side, b: &Side, text: &str) -> Result<(), OutputError> {
    resultdir::write_new(
        staging,
        resultdir::MARKER,
        resultdir::marker_text().as_bytes(),
    )?;
    resultdir::write_new(staging, "diff.txt", text.as_bytes())?;
    let data: Vec<super::charts::NamedSeries> = PANELS
        .iter()
        .map(|(_, _, cols)| {
            vec![
                ("A".to_string(), series(a, cols)),
                ("B".to_string(), series(b, cols)),
            ]
        })
        .collect();
    let mut windows: Vec<plot::Window> = Vec::new();
    for (side, w) in [("A", &a.windows), ("B", &b.windows)] {
        for (start_s, end_s, label) in w.iter() {
            if !windows
                .iter()
                .any(|x| x.start_s == *start_s && x.end_s == *end_s)
            {
                windows.push(plot::Window {
                    start_s: *start_s,
                    end_s: *end_s,
                    label: format!("{side}: {label}"),
                });
            }
        }
    }
    let duration = a
        .rows
        .iter()
        .chain(b.rows.iter())
        .map(|r| r[0])
        .fold(0.0, f64::max);
    let title = "kubesim diff: A (blue) against B (orange); diff.txt names them";
    let chart = plot::Chart {
        title,
        duration_s: duration,
        panels: PANELS
            .iter()
            .zip(&data)
            .map(|((t, y, _), series)| plot::Panel {
                title: t,
                y_label: y,
                stacked: false,
                series: series
                    .iter()
                    .map(|(n, p)| plot::Series { name: n, points: p })
                    .collect(),
            })
            .collect(),
        windows: &windows,
    };
    plot::render_png(&chart, &staging.join("diff.png"))?;
    plot::render_svg(&chart, &staging.join("diff.svg"))?;
    resultdir::sync_tree(staging)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side_of(events: &str, summary: &str) -> Side {
        side(
            "x",
            summary.as_bytes(),
            events.as_bytes(),
            b"time_s,pods_ready\n0.000,1\n",
        )
        .expect("valid")
    }

    #[test]
    fn divergence_is_the_first_differing_line_at_the_earlier_time() {
        let a = side_of(
            "{\"t_ns\":5,\"reason\":\"X\"}\n{\"t_ns\":9,\"reason\":\"Y\"}\n",
            "{}",
        );
        let b = side_of(
            "{\"t_ns\":5,\"reason\":\"X\"}\n{\"t_ns\":7,\"reason\":\"Z\"}\n{\"t_ns\":9,\"reason\":\"Y\"}\n",
            "{}",
        );
        let d = first_divergence(&a, &b).expect("they differ");
        assert_eq!((d.index, d.t_ns), (1, 7));
        assert!(first_divergence(&a, &a).is_none());
        let c = reason_counts(&a, &b);
        assert_eq!(c["Z"], (0, 1));
        assert_eq!(c["Y"], (1, 1));
    }

    #[test]
    fn fail_on_compares_the_difference_or_one_side() {
        let a = side_of(
            "",
            "{\"metrics\":{\"pods_evicted\":2,\"t\":null},\"x\":\"1.500\"}",
        );
        let b = side_of("", "{\"metrics\":{\"pods_evicted\":5,\"t\":3}}");
        let conds: Vec<FailOn> = [
            "pods_evicted>2",
            "pods_evicted>3",
            "B:metrics.pods_evicted<5",
            "a:x<2",
            "t>0",
        ]
        .iter()
        .map(|t| parse_fail_on(t).expect("parses"))
        .collect();
        let v = check_fail_on(&conds, &a, &b).expect("known names");
        assert!(v[0].is_err(), "{v:?}");
        assert!(v[1].is_ok(), "{v:?}");
        assert!(v[2].is_ok(), "{v:?}");
        assert!(v[3].is_err(), "{v:?}");
        assert!(v[4].is_err(), "null operand: {v:?}");
        assert!(parse_fail_on("pods_evicted=2").is_err());
        assert!(parse_fail_on("pods_evicted>x").is_err());
        let e = check_fail_on(&[parse_fail_on("pods_evictd>1").expect("parses")], &a, &b)
            .expect_err("unknown");
        assert!(e.contains("pods_evicted"), "{e}");
    }
}
