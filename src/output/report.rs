//! `report.html`: one self-contained page (inline CSS, inline SVG, no script, nothing fetched)
//! built from titled sections. [`render`] takes any list of [`Section`]s, so `run`, `sweep` and
//! `plan` share it; [`run_sections`] makes the sections of one run: the run header (effective
//! settings), the summary, the expectations with pass/fail, every chart, the fault timeline and
//! the first events of each reason with their cause.
//!
//! Invariant: every text that comes from the scenario or the run is HTML-escaped ([`escape`]);
//! only the SVG from our own renderer (which escapes its text) is inserted as markup.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::charts::Rendered;
use crate::run::RunOutput;
use crate::scenario::Scenario;
use crate::sim::time::format_secs;

/// How many events of each reason the report lists.
pub const EVENTS_PER_REASON: usize = 5;

/// One part of a report: an anchor id, a heading and its HTML body (already escaped).
pub struct Section {
    pub id: String,
    pub title: String,
    pub html: String,
}

impl Section {
    pub fn new(id: &str, title: &str, html: String) -> Self {
        Section {
            id: id.to_string(),
            title: title.to_string(),
            html,
        }
    }
}

/// `&`, `<`, `>`, `"` and `'` as character references.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table of escaped text cells; a row's optional class (e.g. `pass`, `fail`) styles it.
pub fn table(headers: &[&str], rows: &[(Option<&str>, Vec<String>)]) -> String {
    let mut h = String::from("<table><thead><tr>");
    for c in headers {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr></thead><tbody>");
    for (class, cells) in rows {
        match class {
            Some(c) => {
                let _ = write!(h, "<tr class=\"{}\">", escape(c));
            }
            None => h.push_str("<tr>"),
        }
        for c in cells {
            let _ = write!(h, "<td>{}</td>", escape(c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

/// An SVG document from our renderer as inline markup in a figure (its XML prolog dropped).
pub fn figure(id: &str, caption: &str, svg: &str) -> String {
    let body = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    };
    format!(
        "<figure id=\"{}\" class=\"plot\">{body}<figcaption>{}</figcaption></figure>",
        escape(id),
        escape(caption)
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em auto;max-width:1250px;color:#222}\
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}\
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}\
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#f4f4f4}tr.pass td:first-child{color:#176b1a;font-weight:bold}\
tr.fail td:first-child{color:#b3261e;font-weight:bold}tr.fail{background:#fdecea}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}\
nav a{margin-right:1em}code{background:#f4f4f4;padding:0 .2em}";

/// The whole page: title, a table of contents, then each section under its `<h2>`.
pub fn render(title: &str, sections: &[Section]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1><nav>",
        t = escape(title)
    );
    for s in sections {
        let _ = write!(h, "<a href=\"#{}\">{}</a>", escape(&s.id), escape(&s.title));
    }
    h.push_str("</nav>");
    for s in sections {
        let _ = write!(
            h,
            "<section id=\"{}\"><h2>{}</h2>{}</section>",
            escape(&s.id),
            escape(&s.title),
            s.html
        );
    }
    h.push_str("</body></html>\n");
    h
}

/// The scalar fields of a JSON object as rows (nested objects and arrays are left out).
fn scalar_rows(v: &serde_json::Value) -> Vec<(Option<&'static str>, Vec<String>)> {
    let Some(obj) = v.as_object() else {
        return Vec::new();
    };
    obj.iter()
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => "—".into(),
                _ => return None,
            };
            Some((None, vec![k.clone(), text]))
        })
        .collect()
}

fn settings_section(s: &Scenario, seed: u64) -> Section {
    let head = vec![
        (None, vec!["scenario".into(), s.name.clone()]),
        (None, vec!["file".into(), s.file.display().to_string()]),
        (None, vec!["seed".into(), seed.to_string()]),
        (
            None,
            vec!["Kubernetes".into(), s.kubernetes_version.clone()],
        ),
        (
            None,
            vec![
                "duration".into(),
                format!("{}s", format_secs(s.duration.as_nanos(), 3)),
            ],
        ),
    ];
    let mut rows = Vec::new();
    for x in &s.settings {
        rows.push((
            None,
            vec![
                format!("{}.{}", x.component, x.name),
                x.value.clone(),
                x.source.clone(),
            ],
        ));
    }
    let mut html = String::new();
    if let Some(d) = &s.description {
        let _ = write!(html, "<p>{}</p>", escape(d));
    }
    html.push_str(&table(&["run", ""], &head));
    let _ = write!(
        html,
        "<details><summary>{} effective settings and where each came from</summary>{}</details>",
        rows.len(),
        table(&["setting", "value", "source"], &rows)
    );
    Section::new("settings", "Run settings", html)
}

fn expectations_section(out: &RunOutput) -> Section {
    let passed = out.expectations.iter().filter(|e| e.passed).count();
    let rows: Vec<_> = out
        .expectations
        .iter()
        .map(|e| {
            (
                Some(if e.passed { "pass" } else { "fail" }),
                vec![
                    if e.passed { "PASS" } else { "FAIL" }.to_string(),
                    e.origin.clone(),
                    e.description.clone(),
                    e.expected.clone(),
                    e.observed.clone(),
                ],
            )
        })
        .collect();
    let html = if rows.is_empty() {
        "<p>The scenario has no expectations.</p>".to_string()
    } else {
        format!(
            "<p>{passed} passed, {} failed.</p>{}",
            out.expectations.len() - passed,
            table(
                &["result", "origin", "expectation", "expected", "observed"],
                &rows
            )
        )
    };
    Section::new("expectations", "Expectations", html)
}

fn timeline_section(s: &Scenario, out: &RunOutput) -> Section {
    let rows: Vec<_> = s
        .timeline
        .iter()
        .map(|f| {
            (
                None,
                vec![
                    format!("{}s", format_secs(f.at.as_nanos(), 3)),
                    match f.duration {
                        Some(d) => format!("{}s", format_secs((f.at + d).as_nanos(), 3)),
                        None => "—".into(),
                    },
                    if f.kind.is_action() {
                        "action"
                    } else {
                        "fault"
                    }
                    .to_string(),
                    f.label.clone(),
                ],
            )
        })
        .collect();
    let mut html = if rows.is_empty() {
        "<p>The scenario's timeline is empty.</p>".to_string()
    } else {
        table(&["start", "end", "kind", "entry"], &rows)
    };
    let marks: Vec<_> = out
        .records
        .iter()
        .filter(|r| r.reason == "FaultStarted" || r.reason == "FaultEnded")
        .map(|r| {
            (
                None,
                vec![
                    format!("{}s", format_secs(r.t.as_nanos(), 3)),
                    r.reason.to_string(),
                    r.message.clone(),
                ],
            )
        })
        .collect();
    if !marks.is_empty() {
        html.push_str(&table(&["time", "event", "message"], &marks));
    }
    Section::new("faults", "Fault timeline", html)
}

fn events_section(out: &RunOutput, per_reason: usize) -> Section {
    let mut by_reason: BTreeMap<&str, (usize, Vec<&crate::sim::Record>)> = BTreeMap::new();
    for r in &out.records {
        let e = by_reason.entry(r.reason).or_default();
        e.0 += 1;
        if e.1.len() < per_reason {
            e.1.push(r);
        }
    }
    let mut html = format!(
        "<p>The first {per_reason} events of each reason (of {} in <code>events.jsonl</code>), \
         with their extra fields (the cause, where one is recorded).</p>",
        out.records.len()
    );
    for (reason, (count, recs)) in &by_reason {
        let rows: Vec<_> = recs
            .iter()
            .map(|r| {
                let extra: Vec<String> = r.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                (
                    None,
                    vec![
                        format!("{}s", format_secs(r.t.as_nanos(), 3)),
                        r.source.to_string(),
                        r.object.clone(),
                        r.message.clone(),
                        extra.join("; "),
                    ],
                )
            })
            .collect();
        let _ = write!(
            html,
            "<h3 id=\"events-{}\">{} ({count})</h3>{}",
            escape(reason),
            escape(reason),
            table(
                &["time", "source", "object", "message", "cause / fields"],
                &rows
            )
        );
    }
    Section::new("events", "Events by reason", html)
}

/// The sections of one run's report. `summary` is the run's `summary.json` document;
/// `charts` the rendered charts (empty with `--no-plots`).
pub fn run_sections(
    s: &Scenario,
    out: &RunOutput,
    summary: &serde_json::Value,
    charts: &[Rendered],
) -> Vec<Section> {
    let mut summary_html = table(&["metric", "value"], &scalar_rows(summary));
    if let Some(faults) = summary.get("faults").and_then(|f| f.as_array()) {
        for f in faults {
            let label = f.get("label").and_then(|l| l.as_str()).unwrap_or("fault");
            let _ = write!(
                summary_html,
                "<h3>{}</h3>{}",
                escape(label),
                table(&["metric", "value"], &scalar_rows(f))
            );
        }
    }
    let plots = if charts.is_empty() {
        "<p>Plots were not rendered (<code>--no-plots</code>).</p>".to_string()
    } else {
        charts
            .iter()
            .map(|c| figure(&format!("plot-{}", c.stem), &c.title, &c.svg))
            .collect()
    };
    vec![
        settings_section(s, out.seed),
        Section::new("summary", "Summary", summary_html),
        expectations_section(out),
        Section::new("plots", "Plots", plots),
        timeline_section(s, out),
        events_section(out, EVENTS_PER_REASON),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_every_text() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        let page = render(
            "a <b> title",
            &[Section::new(
                "s\"1",
                "x<y",
                table(&["<h>"], &[(Some("fail"), vec!["<td>".into()])]),
            )],
        );
        assert!(page.contains("<title>a &lt;b&gt; title</title>"));
        assert!(page.contains("<section id=\"s&quot;1\"><h2>x&lt;y</h2>"));
        assert!(page.contains("<th>&lt;h&gt;</th>"));
        assert!(page.contains("<tr class=\"fail\"><td>&lt;td&gt;</td></tr>"));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn figure_drops_the_xml_prolog() {
        let f = figure(
            "plot-x",
            "X",
            "<?xml version=\"1.0\"?>\n<svg width=\"1\"></svg>",
        );
        assert!(f.starts_with("<figure id=\"plot-x\" class=\"plot\"><svg width"));
    }
}
