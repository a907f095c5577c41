//! Result files of a run: `events.jsonl`, `timeseries.csv`, `metrics.csv` (and `metrics.om`
//! when asked, `openmetrics.rs`), `summary.json`, `perf.json`, the charts and `report.html`,
//! written into a run directory.
//!
//! Architecture invariant: the only writer of result files, and it writes atomically and only
//! over its own results: [`resultdir`] refuses any target that is not new, empty or a previous
//! kubesim result, and swaps the complete new directory in with one atomic rename, so a reader
//! sees the old results or the new ones, never a mix. Everything but `perf.json` is a
//! deterministic function of the run.

pub mod charts;
pub mod diff;
pub mod json;
pub mod metrics;
pub mod openmetrics;
pub mod plan;
pub mod plan_plot;
pub mod plot;
pub mod report;
pub mod report_study;
pub mod resultdir;
pub mod sweep;
pub mod sweepplot;
mod traffic;

use crate::observe::timeseries;

pub use resultdir::Stage;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::run::RunOutput;
use crate::scenario::Scenario;
use crate::sim::time::format_secs;
use crate::sim::SimTime;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write results to {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("refusing to write results to {path}: {reason}")]
    Refused { path: String, reason: String },
    #[error(transparent)]
    Plot(#[from] plot::PlotError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Wall-clock figures, measured by the CLI (the core has no clock).
#[derive(Clone, Debug, Serialize)]
pub struct Perf {
    pub wall_seconds: f64,
    pub engine_events: u64,
    pub events_per_second: f64,
    pub simulated_seconds_per_wall_second: f64,
    pub peak_memory_bytes: Option<u64>,
}

#[derive(Serialize)]
struct ExpectationSummary<'a> {
    origin: &'a str,
    description: &'a str,
    expected: &'a str,
    observed: &'a str,
    passed: bool,
}

#[derive(Serialize)]
struct Summary<'a> {
    scenario: &'a str,
    kubernetes_version: &'a str,
    seed: u64,
    digest: &'a str,
    simulated_seconds: String,
    stop_reason: &'static str,
    events_logged: usize,
    nodes: usize,
    pods_at_end: usize,
    evictions_total: u64,
    /// Pods evicted by the taint eviction controller, by the zone of their node.
    evictions_by_zone: BTreeMap<String, u64>,
    nodes_marked_not_ready: usize,
    failed_scheduling_events: usize,
    faults: Vec<FaultSummary>,
    /// The study metrics over the whole run from the first fault's start (docs/outputs.md).
    metrics: metrics::Metrics,
    expectations_passed: usize,
    expectations_failed: usize,
    expectations: Vec<ExpectationSummary<'a>>,
    /// Per kube-controller-manager client that had to wait for a token (docs/outputs.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    client_rate_limits: Vec<ClientWait>,
    /// Requests kube-apiserver answered 429 (its inflight limits), per component and request
    /// kind (docs/outputs.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    apiserver_rejections: Vec<Rejections>,
    /// Per Service with `traffic:` clients: requests over the run (docs/traffic.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    traffic: Option<BTreeMap<String, traffic::ServiceTraffic>>,
}

#[derive(Serialize)]
struct ClientWait {
    component: &'static str,
    controller: &'static str,
    requests: u64,
    waited_s: String,
    longest_wait_s: String,
}

#[derive(Serialize)]
struct Rejections {
    component: &'static str,
    request_kind: &'static str,
    requests: u64,
}

/// The clients whose requests waited, with their longest single wait.
fn client_waits(out: &RunOutput) -> Vec<ClientWait> {
    out.client_waits
        .iter()
        .filter(|(_, _, st)| st.longest > crate::sim::SimDuration::ZERO)
        .map(|(component, a, st)| ClientWait {
            component,
            controller: a,
            requests: st.requests,
            waited_s: format_secs(st.waited.as_nanos(), 3),
            longest_wait_s: format_secs(st.longest.as_nanos(), 3),
        })
        .collect()
}

#[derive(Serialize)]
struct FaultSummary {
    label: String,
    start_s: String,
    end_s: String,
    nodes: usize,
    /// Seconds from the fault's start to the first `NodeNotReady` of one of its nodes.
    time_to_detect_s: Option<String>,
    /// … to the first NoExecute taint added to one of its nodes.
    time_to_taint_s: Option<String>,
    /// … to the first taint-manager eviction of a pod on one of its nodes.
    time_to_first_eviction_s: Option<String>,
    /// Seconds from the fault's end until every one of its nodes that went not-Ready was
    /// Ready again (None if the fault does not end, or some node never recovered).
    time_to_recover_s: Option<String>,
    pods_evicted: u64,
    /// Per Deployment of the scenario, from the time series samples inside the fault window.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    workloads: Vec<WorkloadAvailability>,
    /// Per Service of the scenario: the fewest ready endpoints sampled in the window.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    services: Vec<ServiceAvailability>,
    /// The study metrics of the fault's attribution window (docs/outputs.md).
    metrics: metrics::Metrics,
    /// Per Service with `traffic:` clients: the requests of this fault's attribution window
    /// (docs/traffic.md).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    traffic: BTreeMap<String, traffic::ServiceTraffic>,
}

#[derive(Serialize)]
struct ServiceAvailability {
    service: String,
    min_ready_endpoints: u64,
}

/// The lowest sample of each `svc_…_ready_endpoints` column inside the fault window.
fn service_availability(
    f: &crate::run::FaultWindow,
    ts: &timeseries::TimeSeries,
) -> Vec<ServiceAvailability> {
    let (start, end) = (f.start.as_secs_f64(), f.end.as_secs_f64());
    let mut out = Vec::new();
    for (i, c) in ts.columns.iter().enumerate() {
        let Some(name) = c
            .strip_prefix("svc_")
            .and_then(|x| x.strip_suffix("_ready_endpoints"))
        else {
            continue;
        };
        let min = ts
            .rows
            .iter()
            .filter(|r| r[0] >= start && r[0] <= end)
            .map(|r| r[i])
            .fold(f64::INFINITY, f64::min);
        out.push(ServiceAvailability {
            service: name.to_string(),
            min_ready_endpoints: if min.is_finite() { min as u64 } else { 0 },
        });
    }
    out
}

/// How available a Deployment, StatefulSet or DaemonSet stayed during a fault (sampled at
/// `output.sampleInterval`). Exactly one of the three names is set.
#[derive(Serialize)]
struct WorkloadAvailability {
    #[serde(skip_serializing_if = "Option::is_none")]
    deployment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statefulset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    daemonset: Option<String>,
    /// The lowest `availableReplicas` sampled in the window.
    min_available: u64,
    /// Sampled time with fewer available replicas than desired: each sample below desired
    /// counts until the next sample.
    seconds_below_desired: String,
}

fn availability(
    f: &crate::run::FaultWindow,
    ts: &timeseries::TimeSeries,
) -> Vec<WorkloadAvailability> {
    let (start, end) = (f.start.as_secs_f64(), f.end.as_secs_f64());
    let mut out = Vec::new();
    for (i, c) in ts.columns.iter().enumerate() {
        let Some((kind, name)) = ["deploy", "sts", "ds"].into_iter().find_map(|k| {
            c.strip_prefix(k)
                .and_then(|x| x.strip_prefix('_'))
                .and_then(|x| x.strip_suffix("_desired"))
                .map(|n| (k, n))
        }) else {
            continue;
        };
        let Some(a) = ts
            .columns
            .iter()
            .position(|x| *x == format!("{kind}_{name}_available"))
        else {
            continue;
        };
        let rows: Vec<&Vec<f64>> = ts
            .rows
            .iter()
            .filter(|r| r[0] >= start && r[0] <= end)
            .collect();
        let min = rows.iter().map(|r| r[a]).fold(f64::INFINITY, f64::min);
        let mut below = 0.0;
        for w in rows.windows(2) {
            if w[0][a] < w[0][i] {
                below += w[1][0] - w[0][0];
            }
        }
        let named = |k: &str| (kind == k).then(|| name.to_string());
        out.push(WorkloadAvailability {
            deployment: named("deploy"),
            statefulset: named("sts"),
            daemonset: named("ds"),
            min_available: if min.is_finite() { min as u64 } else { 0 },
            seconds_below_desired: format!("{below:.3}"),
        });
    }
    out
}

/// The per-fault figures of `summary.json`, read from the event log's study records
/// ([`metrics::is_study_record`], in time order: every record read here is one of them).
fn fault_summary(
    f: &crate::run::FaultWindow,
    records: &[&crate::sim::Record],
    ts: &timeseries::TimeSeries,
) -> FaultSummary {
    // O(log nodes) per record: a zone-wide fault names thousands of nodes.
    let names: BTreeSet<&str> = f.nodes.iter().map(|n| n.as_str()).collect();
    let mine = |r: &crate::sim::Record| -> bool {
        if let Some(n) = r.object.strip_prefix("Node/") {
            return names.contains(n);
        }
        r.fields
            .iter()
            .any(|(k, v)| *k == "node" && names.contains(v.as_str()))
    };
    // Records are in time order: those from the fault's start on are one slice.
    let records = &records[records.partition_point(|r| r.t < f.start)..];
    let secs = |t: SimTime| format_secs(t.saturating_since(f.start).as_nanos(), 3);
    let first = |pred: &dyn Fn(&crate::sim::Record) -> bool| {
        records
            .iter()
            .find(|r| pred(r) && mine(r))
            .map(|r| secs(r.t))
    };
    let detect = first(&|r| r.reason == "NodeNotReady" && r.object.starts_with("Node/"));
    let taint = first(&|r| {
        r.reason == "TaintAdded"
            && r.message.contains(":NoExecute")
            && r.source == "node-controller"
    });
    let is_eviction = |r: &crate::sim::Record| {
        r.reason == "TaintManagerEviction" && r.message.starts_with("Marking")
    };
    let eviction = first(&|r| is_eviction(r));
    let pods_evicted = records.iter().filter(|r| is_eviction(r) && mine(r)).count() as u64;
    // Recovery: every node that went NotReady during the fault is Ready again after its end.
    let went_down: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.t <= f.end && r.reason == "NodeNotReady")
        .filter_map(|r| r.object.strip_prefix("Node/"))
        .filter(|n| names.contains(n))
        .collect();
    let recover = if !f.ends || went_down.is_empty() {
        None
    } else {
        // The first NodeReady of each node after the end, in one scan.
        let mut back: BTreeMap<&str, SimTime> = BTreeMap::new();
        for r in records
            .iter()
            .filter(|r| r.t >= f.end && r.reason == "NodeReady")
        {
            if let Some(n) = r.object.strip_prefix("Node/") {
                back.entry(n).or_insert(r.t);
            }
        }
        let mut last = Some(f.end);
        for n in &went_down {
            last = match (last, back.get(n)) {
                (Some(l), Some(t)) => Some(l.max(*t)),
                _ => None,
            };
        }
        last.map(|t| format_secs(t.saturating_since(f.end).as_nanos(), 3))
    };
    FaultSummary {
        label: f.label.clone(),
        start_s: format_secs(f.start.as_nanos(), 3),
        end_s: format_secs(f.end.as_nanos(), 3),
        nodes: f.nodes.len(),
        time_to_detect_s: detect,
        time_to_taint_s: taint,
        time_to_first_eviction_s: eviction,
        time_to_recover_s: recover,
        pods_evicted,
        workloads: availability(f, ts),
        services: service_availability(f, ts),
        metrics: metrics::Metrics::default(),
        traffic: BTreeMap::new(),
    }
}

pub fn summary_json(s: &Scenario, out: &RunOutput) -> Vec<u8> {
    let ctx = metrics::Context::new(s, out);
    // Node readiness and evictions are study records: counted over those, not the whole log.
    let study = ctx.study_records();
    let evictions = study.iter().filter(|r| metrics::is_eviction(r)).count() as u64;
    let summary = Summary {
        scenario: &s.name,
        kubernetes_version: &s.kubernetes_version,
        seed: out.seed,
        digest: &out.digest,
        simulated_seconds: format_secs(out.end.as_nanos(), 3),
        stop_reason: out.stop.as_str(),
        events_logged: out.records.len(),
        nodes: out.final_nodes,
        pods_at_end: out.final_pods,
        evictions_total: evictions,
        evictions_by_zone: {
            let zone_of: BTreeMap<&str, String> = s
                .nodes
                .iter()
                .map(|n| (n.meta.name.as_str(), n.zone_label()))
                .collect();
            let mut m = BTreeMap::new();
            for r in study.iter().filter(|r| metrics::is_eviction(r)) {
                let node = r
                    .fields
                    .iter()
                    .find(|(k, _)| *k == "node")
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("");
                let zone = zone_of.get(node).cloned().unwrap_or_default();
                *m.entry(if zone.is_empty() {
                    "none".to_string()
                } else {
                    zone
                })
                .or_insert(0) += 1;
            }
            m
        },
        nodes_marked_not_ready: study
            .iter()
            .filter(|r| r.reason == "NodeNotReady" && r.object.starts_with("Node/"))
            .count(),
        failed_scheduling_events: out
            .records
            .iter()
            .filter(|r| r.reason == "FailedScheduling")
            .count(),
        faults: out
            .faults
            .iter()
            .zip(metrics::fault_windows(&out.faults, out.end))
            .enumerate()
            .map(|(i, (f, w))| FaultSummary {
                metrics: metrics::compute(&ctx, &w),
                traffic: traffic::of_fault(out, i),
                ..fault_summary(f, study, &out.timeseries)
            })
            .collect(),
        metrics: metrics::compute(&ctx, &metrics::overall_window(&out.faults, out.end)),
        expectations_passed: out.expectations.iter().filter(|e| e.passed).count(),
        expectations_failed: out.expectations.iter().filter(|e| !e.passed).count(),
        expectations: out
            .expectations
            .iter()
            .map(|e| ExpectationSummary {
                origin: &e.origin,
                description: &e.description,
                expected: &e.expected,
                observed: &e.observed,
                passed: e.passed,
            })
            .collect(),
        client_rate_limits: client_waits(out),
        apiserver_rejections: out
            .rejections
            .iter()
            .map(|&(component, request_kind, requests)| Rejections {
                component,
                request_kind,
                requests,
            })
            .collect(),
        traffic: traffic::totals(out),
    };
    let mut v = serde_json::to_vec_pretty(&summary).expect("serialisable");
    v.push(b'\n');
    v
}

/// The `report.html` of a run with these rendered charts.
pub fn report_page(s: &Scenario, out: &RunOutput, charts: &[charts::Rendered]) -> String {
    report_page_with(s, out, &summary_json(s, out), charts)
}

/// [`report_page`] from the run's `summary.json` bytes, already rendered.
pub fn report_page_with(
    s: &Scenario,
    out: &RunOutput,
    summary_json: &[u8],
    charts: &[charts::Rendered],
) -> String {
    let summary: serde_json::Value = serde_json::from_slice(summary_json).expect("our own JSON");
    let title = format!("kubesim report: {}", s.name);
    report::render(&title, &report::run_sections(s, out, &summary, charts))
}

/// What a run's result holds besides the default files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// Render the charts (PNG and SVG).
    pub plots: bool,
    /// Write `metrics.om` with timestamps from this wall-clock start (ns since the epoch).
    pub openmetrics_start_ns: Option<i128>,
}

/// The files [`write_results_with`] writes (besides the marker), in order.
pub fn result_files_with(opts: &WriteOptions) -> Vec<String> {
    let mut v = result_files(opts.plots);
    if opts.openmetrics_start_ns.is_some() {
        let at = v
            .iter()
            .position(|f| f == "metrics.csv")
            .map_or(0, |i| i + 1);
        v.insert(at, "metrics.om".into());
    }
    v
}

/// The files [`write_results`] writes (besides the marker), in order.
pub fn result_files(plots: bool) -> Vec<String> {
    let mut v: Vec<String> = [
        "events.jsonl",
        "timeseries.csv",
        "metrics.csv",
        "summary.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("perf.json".into());
    if plots {
        for stem in charts::STEMS {
            v.push(format!("{stem}.png"));
            v.push(format!("{stem}.svg"));
        }
    }
    v.push("report.html".into());
    v
}

/// Writes every result file into `dir` by the rules of [`resultdir`]: only a new path, an empty
/// directory or a previous kubesim result is written (anything else is
/// [`OutputError::Refused`] with nothing on disk changed), and the result appears complete or
/// not at all. `hook` is called at every [`Stage`] (fault injection for tests).
pub fn write_results(
    dir: &Path,
    s: &Scenario,
    out: &RunOutput,
    perf: &Perf,
    plots: bool,
    hook: &mut dyn FnMut(Stage),
) -> Result<(), OutputError> {
    let opts = WriteOptions {
        plots,
        openmetrics_start_ns: None,
    };
    write_results_with(dir, s, out, perf, &opts, hook)
}

/// [`write_results`] with the optional files of `opts` (`metrics.om`).
pub fn write_results_with(
    dir: &Path,
    s: &Scenario,
    out: &RunOutput,
    perf: &Perf,
    opts: &WriteOptions,
    hook: &mut dyn FnMut(Stage),
) -> Result<(), OutputError> {
    let target = resultdir::check_target(dir)?;
    std::fs::create_dir_all(&target.parent).map_err(io(&target.parent))?;
    resultdir::clean_leftovers(&target.parent, &target.name)?;
    let staging = target.parent.join(resultdir::staging_name(&target.name));
    std::fs::create_dir(&staging).map_err(io(&staging))?;
    hook(Stage::StagingCreated);
    let result = stage(&staging, s, out, perf, opts, hook)
        .and_then(|()| resultdir::install(&staging, &target, hook));
    if result.is_err() {
        // Only our own staging directory (with the new files, or the old result it was
        // swapped with and found to be a result): never the target.
        if resultdir::is_result(&staging)
            || staging.read_dir().is_ok_and(|mut d| d.next().is_none())
        {
            let _ = std::fs::remove_dir_all(&staging);
        }
        return result;
    }
    hook(Stage::Done);
    Ok(())
}

fn stage(
    staging: &Path,
    s: &Scenario,
    out: &RunOutput,
    perf: &Perf,
    opts: &WriteOptions,
    hook: &mut dyn FnMut(Stage),
) -> Result<(), OutputError> {
    let plots = opts.plots;
    let write = |file: &str, bytes: &[u8]| resultdir::write_new(staging, file, bytes);
    write(resultdir::MARKER, resultdir::marker_text().as_bytes())?;
    hook(Stage::MarkerWritten);
    resultdir::write_new_with(staging, "events.jsonl", |w| {
        crate::sim::trace::write_jsonl(&out.records, w)
    })?;
    hook(Stage::EventsWritten);
    write("timeseries.csv", &out.timeseries.to_csv())?;
    write("metrics.csv", &out.timeseries.to_metrics_csv())?;
    if let Some(start) = opts.openmetrics_start_ns {
        let om = openmetrics::render(&out.timeseries, &out.components, start);
        write("metrics.om", &om)?;
    }
    let summary = summary_json(s, out);
    write("summary.json", &summary)?;
    let mut perf_json = serde_json::to_vec_pretty(perf).expect("serialisable");
    perf_json.push(b'\n');
    write("perf.json", &perf_json)?;
    let rendered = if plots {
        charts::render_all(staging, s, out)?
    } else {
        Vec::new()
    };
    write(
        "report.html",
        report_page_with(s, out, &summary, &rendered).as_bytes(),
    )?;
    hook(Stage::FilesWritten);
    resultdir::sync_tree(staging)?;
    hook(Stage::Synced);
    Ok(())
}
