//! `metrics.om` (`kubesim run --metrics openmetrics`): every series of `metrics.csv` (the
//! `kubesim_*` columns) and the components' own metrics under their upstream names
//! (`observe::components`), in the OpenMetrics text format
//! (https://prometheus.io/docs/specs/om/open_metrics_spec/), for
//! `promtool tsdb create-blocks-from openmetrics`.
//!
//! Timestamps are seconds since the Unix epoch: the simulated time plus the wall-clock start
//! (`--metrics-start`, default 2025-01-01T00:00:00Z, the CronJob clock's t = 0).
//!
//! Invariant: a pure function of the run and the start: each family's samples are contiguous
//! (`# TYPE`, `# HELP`, `# UNIT` first), each series' samples are in time order, a histogram's
//! buckets, `_count` and `_sum` of one time are together, and the text ends with `# EOF`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::controllers::cronjob::{Civil, EPOCH_UNIX_SECONDS};
use crate::observe::components::{ComponentSeries, Kind, FAMILIES};
use crate::observe::timeseries::TimeSeries;
use crate::scheduler::metrics::ATTEMPT_BUCKETS_NS;
use crate::sim::{SimDuration, SimTime};

/// The default start: the CronJob clock's t = 0, in nanoseconds since the epoch.
pub const DEFAULT_START_NS: i128 = EPOCH_UNIX_SECONDS as i128 * 1_000_000_000;

/// Parses an RFC 3339 instant, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, at or after
/// 1970-01-01T00:00:00Z, into nanoseconds since the epoch.
pub fn parse_start(text: &str) -> Result<i128, String> {
    let bad = |why: &str| format!("{why}; expected an RFC 3339 time such as 2025-01-01T00:00:00Z");
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let s = text.get(r).ok_or_else(|| bad("too short"))?;
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("not a number where one is expected"));
        }
        s.parse::<i64>().map_err(|_| bad("number out of range"))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err(bad("not of the form YYYY-MM-DDTHH:MM:SSZ"));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad("date and time must be separated by T"));
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return Err(bad("month out of range")),
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return Err(bad("date or time out of range"));
    }
    let mut rest = &text[19..];
    let mut frac_ns: i128 = 0;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return Err(bad("the fraction of a second needs 1 to 9 digits"));
        }
        frac_ns =
            f[..n].parse::<i128>().map_err(|_| bad("bad fraction"))? * 10i128.pow(9 - n as u32);
        rest = &f[n..];
    }
    let offset_s: i64 = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') => {
            let num = |r: std::ops::Range<usize>| {
                let s = rest.get(r)?;
                s.bytes()
                    .all(|c| c.is_ascii_digit())
                    .then(|| s.parse::<i64>())
            };
            let (h, m) = match (num(1..3), rest.as_bytes()[3], num(4..6)) {
                (Some(Ok(h)), b':', Some(Ok(m))) if h <= 23 && m <= 59 => (h, m),
                _ => return Err(bad("the offset must be ±HH:MM")),
            };
            let s = h * 3600 + m * 60;
            if rest.starts_with('-') {
                -s
            } else {
                s
            }
        }
        _ => return Err(bad("the time zone must be Z or ±HH:MM")),
    };
    let days = Civil::days(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    if secs < 0 {
        return Err(bad("before 1970-01-01T00:00:00Z"));
    }
    Ok(secs as i128 * 1_000_000_000 + frac_ns)
}

/// Seconds since the epoch of simulated time `t`, exactly (no trailing zeros).
fn timestamp(start_ns: i128, t: SimTime) -> String {
    let ns = start_ns + t.as_nanos() as i128;
    let (secs, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        return secs.to_string();
    }
    let f = format!("{frac:09}");
    format!("{secs}.{}", f.trim_end_matches('0'))
}

/// A sample value: integers without a fraction, others in the shortest exact form.
fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let unit = ["seconds", "bytes"]
        .into_iter()
        .find(|u| name.ends_with(&format!("_{u}")));
    if let Some(u) = unit {
        let _ = writeln!(out, "# UNIT {name} {u}");
    }
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
}

/// The OpenMetrics text of a run: the `kubesim_*` families of `ts` (in column order of first
/// appearance), then the component families in [`FAMILIES`] order.
pub fn render(ts: &TimeSeries, comp: &ComponentSeries, start_ns: i128) -> Vec<u8> {
    let mut out = String::new();
    let times: Vec<String> = comp.times.iter().map(|t| timestamp(start_ns, *t)).collect();
    if times.len() == ts.rows.len() {
        render_kubesim(&mut out, ts, &times);
    } else {
        // Not sampled together (a series built by hand): the rows' own times, in ms.
        let own: Vec<String> = ts
            .rows
            .iter()
            .map(|r| {
                let ms = (r[0] * 1000.0).round().max(0.0) as u64;
                timestamp(start_ns, SimTime::ZERO + SimDuration::from_millis(ms))
            })
            .collect();
        render_kubesim(&mut out, ts, &own);
    }
    for (f, fam) in FAMILIES.iter().enumerate() {
        let values: Vec<_> = comp
            .values
            .range((f, String::new())..(f + 1, String::new()))
            .collect();
        let hists: Vec<_> = comp
            .histograms
            .range((f, String::new())..(f + 1, String::new()))
            .collect();
        if values.is_empty() && hists.is_empty() {
            continue;
        }
        header(&mut out, fam.name, fam.kind.as_str(), fam.help);
        let sample = fam.sample_name();
        // A `_timestamp_seconds` gauge holds a point in simulated time: mapped like the
        // sample timestamps, so `time() - x` is the age.
        let offset = if fam.name.ends_with("_timestamp_seconds") {
            start_ns as f64 / 1e9
        } else {
            0.0
        };
        for ((_, labels), points) in values {
            for (i, v) in points {
                let _ = writeln!(
                    out,
                    "{sample}{} {} {}",
                    braces(labels),
                    value(*v + offset),
                    times[*i]
                );
            }
        }
        debug_assert!(fam.kind == Kind::Histogram || comp.histograms.keys().all(|k| k.0 != f));
        for ((_, labels), points) in hists {
            let sep = if labels.is_empty() { "" } else { "," };
            for (i, a) in points {
                let t = &times[*i];
                for (b, n) in ATTEMPT_BUCKETS_NS.iter().zip(a.le) {
                    let le = value(*b as f64 / 1e9);
                    let _ = writeln!(out, "{sample}_bucket{{{labels}{sep}le=\"{le}\"}} {n} {t}");
                }
                let _ = writeln!(
                    out,
                    "{sample}_bucket{{{labels}{sep}le=\"+Inf\"}} {} {t}",
                    a.count
                );
                let _ = writeln!(out, "{sample}_count{} {} {t}", braces(labels), a.count);
                let sum = value(a.sum_ns as f64 / 1e9);
                let _ = writeln!(out, "{sample}_sum{} {sum} {t}", braces(labels));
            }
        }
    }
    out.push_str("# EOF\n");
    out.into_bytes()
}

/// kubesim's own series: one family per metric name, a counter if it ends in `_total`.
fn render_kubesim(out: &mut String, ts: &TimeSeries, times: &[String]) {
    let mut order: Vec<&str> = Vec::new();
    let mut columns: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut seen: BTreeMap<(&str, &str), ()> = BTreeMap::new();
    for (c, (metric, labels)) in ts.metrics.iter().enumerate().skip(1) {
        if seen.insert((metric, labels), ()).is_some() {
            continue;
        }
        if !columns.contains_key(metric.as_str()) {
            order.push(metric);
        }
        columns.entry(metric).or_default().push(c);
    }
    for metric in order {
        let (family, kind) = match metric.strip_suffix("_total") {
            Some(f) => (f, "counter"),
            None => (metric, "gauge"),
        };
        let cols = &columns[metric];
        let names: Vec<&str> = cols.iter().map(|c| ts.columns[*c].as_str()).collect();
        let help = format!(
            "kubesim's own series: timeseries.csv column(s) {} (docs/outputs.md)",
            names.join(", ")
        );
        header(out, family, kind, &help);
        for c in cols {
            let labels = braces(&ts.metrics[*c].1);
            for (row, t) in ts.rows.iter().zip(times) {
                let v = row.get(*c).copied().unwrap_or(0.0);
                let _ = writeln!(out, "{metric}{labels} {} {t}", value(v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_parses_rfc3339_like_the_cronjob_clock() {
        assert_eq!(parse_start("2025-01-01T00:00:00Z"), Ok(DEFAULT_START_NS));
        assert_eq!(
            parse_start("2025-01-01T01:00:00.5+01:00"),
            Ok(DEFAULT_START_NS + 500_000_000)
        );
        assert_eq!(parse_start("1970-01-01T00:00:00Z"), Ok(0));
        // 2024 is a leap year: 2024-02-29 exists, 2025-02-29 does not.
        assert_eq!(
            parse_start("2024-03-01T00:00:00Z"),
            Ok((DEFAULT_START_NS / 1_000_000_000 - 306 * 86_400) * 1_000_000_000)
        );
        for bad in [
            "2025-02-29T00:00:00Z",
            "2025-01-01",
            "2025-01-01T00:00:00",
            "2025-13-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2025-01-01T00:00:00+0100",
            "2025-01-01T24:00:00Z",
            "２０２５-01-01T00:00:00Z",
            "2025-01-01T00:00:00+0é:0",
        ] {
            assert!(parse_start(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_exact_seconds() {
        let t = SimTime::ZERO + SimDuration::from_millis(12_500);
        assert_eq!(timestamp(DEFAULT_START_NS, t), "1735689612.5");
        assert_eq!(timestamp(DEFAULT_START_NS, SimTime::ZERO), "1735689600");
    }
}
