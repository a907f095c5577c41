//! `kubesim bench scheduler`: loads the case (a workload, or the user's node and pod manifests
//! as templates, under a `KubeSchedulerConfiguration`), times `scheduler::bench::Prepared::measure`
//! (wall clock: the simulator's own speed), applies the cost model (virtual time: the modelled
//! kube-scheduler's throughput and per-pod latency), and prints text or one JSON document.
//!
//! Architecture invariant: the wall clock is read here only around whole runs; every figure
//! but the simulator throughput is a function of the case, the sizes and the seed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::{usage, OutputFormat};
use crate::model::*;
use crate::scenario;
use crate::scheduler::bench::{self, Case, Workload, COST_MODEL, WORKLOADS};
use crate::scheduler::plugins::pod_topology_spread::SelectorSources;
use crate::scheduler::CycleStats;

/// scheduler_perf's client rate limit (its harness sets QPS 5000, burst 5000).
const BENCH_QPS: f64 = 5000.0;
const BENCH_BURST: u32 = 5000;

#[derive(Args)]
pub(super) struct BenchSchedulerArgs {
    /// scheduler_perf's SchedulingBasic, NodeAffinity, TopologySpreading, PodAntiAffinity or
    /// PodAffinity, or kubesim's own SchedulingReplicaSet. Not needed when --nodes-from and
    /// --pods-from give both sides.
    #[arg(long)]
    workload: Option<String>,
    #[arg(long, default_value_t = 5000)]
    nodes: usize,
    /// Measured pods.
    #[arg(long, default_value_t = 10000)]
    pods: usize,
    /// Pods scheduled before measuring (default: scheduler_perf's count, scaled to --nodes;
    /// 0 with --pods-from).
    #[arg(long)]
    init_pods: Option<usize>,
    /// Timed runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Skip the check that placements equal the plain (uncached) evaluation.
    #[arg(long)]
    no_verify: bool,
    /// A KubeSchedulerConfiguration file (profiles, plugins, weights, plugin args,
    /// percentageOfNodesToScore); default: the default profile.
    #[arg(long, value_name = "FILE")]
    scheduler_config: Option<PathBuf>,
    /// Node manifests (one or more YAML documents) as templates: node i is template i mod
    /// their count, named NAME-i.
    #[arg(long, value_name = "FILE")]
    nodes_from: Option<PathBuf>,
    /// Pod manifests as templates (pod i is template i mod their count, named NAME-i); a
    /// ReplicaSet's pod template is one too, owned by it. ReplicaSets, StatefulSets and
    /// Services in either file feed PodTopologySpread's default constraints.
    #[arg(long, value_name = "FILE")]
    pods_from: Option<PathBuf>,
    /// Output format: text, or one JSON document on standard output.
    #[arg(long, value_enum, default_value = "text")]
    output: OutputFormat,
}

/// The `--output json` document (docs/scheduler-model.md lists the fields).
#[derive(Serialize)]
struct Report<'a> {
    workload: &'a str,
    nodes: usize,
    init_pods: usize,
    pods: usize,
    seed: u64,
    runs: usize,
    scheduler_config: Option<String>,
    nodes_from: Option<String>,
    pods_from: Option<String>,
    simulator_throughput: SimulatorThroughput,
    modelled_throughput: ModelledThroughput,
    modelled_latency_ms: LatencyMs,
    /// Measured pods placed on a node (the rest are unschedulable).
    scheduled: usize,
    unschedulable: usize,
    per_cycle: PerCycle,
    placements: &'static str,
}

#[derive(Serialize)]
struct SimulatorThroughput {
    what: &'static str,
    median_pods_per_second: f64,
    /// Each run's figure, in run order.
    runs_pods_per_second: Vec<f64>,
}

#[derive(Serialize)]
struct ModelledThroughput {
    what: &'static str,
    pods_per_second: f64,
    client_qps: f64,
    client_burst: u32,
    scheduler_perf_threshold_pods_per_second: Option<f64>,
}

#[derive(Serialize)]
struct LatencyMs {
    what: &'static str,
    p50: f64,
    p90: f64,
    p99: f64,
    mean: f64,
}

#[derive(Serialize)]
struct PerCycle {
    nodes_filtered: f64,
    nodes_scored: f64,
    spread_pods_walked: f64,
    affinity_pods_walked: f64,
}

const SIM_WHAT: &str = "simulator throughput (kubesim's own speed, wall clock)";
const MODEL_WHAT: &str = "modelled scheduler throughput (virtual time)";
const LATENCY_WHAT: &str = "modelled scheduling latency per pod (virtual time)";

pub(super) fn bench_scheduler(a: &BenchSchedulerArgs) -> i32 {
    if a.runs == 0 || a.pods == 0 || a.nodes == 0 {
        return usage("--runs, --pods and --nodes must be at least 1");
    }
    let case = match load_case(a) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let init = a.init_pods.unwrap_or(match (&a.pods_from, case.workload) {
        (None, Some(w)) => w.default_init_pods(a.nodes),
        _ => 0,
    });
    let mut runs = Vec::new();
    let mut last = None;
    for _ in 0..a.runs {
        // As scheduler_perf's SchedulingThroughput: the measured pods alone; the nodes, the
        // initial pods and the teardown are outside the timed op.
        let mut prepared = bench::Prepared::new(&case, a.nodes, init, a.seed, true);
        let t = Instant::now();
        let r = prepared.measure(&case, a.pods);
        let measured = t.elapsed().as_secs_f64();
        drop(prepared);
        runs.push(a.pods as f64 / measured.max(1e-12));
        last = Some(r);
    }
    let Some(r) = last else {
        return 2;
    };
    let mut sorted = runs.clone();
    sorted.sort_by(|x, y| x.total_cmp(y));
    let median = sorted[sorted.len() / 2];
    // The first measured pod placed differently by the plain evaluation, if any.
    let differs = (!a.no_verify).then(|| {
        let plain = bench::run_case(&case, a.nodes, init, a.pods, a.seed, false);
        let n = plain.placements.len().min(r.placements.len());
        (0..n)
            .find(|&i| plain.placements[i] != r.placements[i])
            .or((plain.placements.len() != r.placements.len()).then_some(n))
    });
    let placements = match differs {
        None => "not verified",
        Some(None) => "identical",
        Some(Some(_)) => "differ",
    };
    let threshold = case
        .workload
        .filter(|_| a.nodes_from.is_none() && a.pods_from.is_none())
        .and_then(Workload::threshold);
    let latency = COST_MODEL.latency(&r);
    let report = Report {
        workload: case.name(),
        nodes: a.nodes,
        init_pods: init,
        pods: a.pods,
        seed: a.seed,
        runs: a.runs,
        scheduler_config: a.scheduler_config.as_deref().map(shown),
        nodes_from: a.nodes_from.as_deref().map(shown),
        pods_from: a.pods_from.as_deref().map(shown),
        simulator_throughput: SimulatorThroughput {
            what: SIM_WHAT,
            median_pods_per_second: median,
            runs_pods_per_second: runs,
        },
        modelled_throughput: ModelledThroughput {
            what: MODEL_WHAT,
            pods_per_second: COST_MODEL.pods_per_second(&r, BENCH_QPS, BENCH_BURST),
            client_qps: BENCH_QPS,
            client_burst: BENCH_BURST,
            scheduler_perf_threshold_pods_per_second: threshold,
        },
        modelled_latency_ms: LatencyMs {
            what: LATENCY_WHAT,
            p50: latency.p50_ms,
            p90: latency.p90_ms,
            p99: latency.p99_ms,
            mean: latency.mean_ms,
        },
        scheduled: r.placements.len() - r.unschedulable,
        unschedulable: r.unschedulable,
        per_cycle: per_cycle(&r.stats),
        placements,
    };
    match a.output {
        OutputFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => return usage(&format!("cannot render JSON: {e}")),
        },
        OutputFormat::Text => print_text(&report, r.placements.len(), differs.flatten()),
    }
    i32::from(placements == "differ")
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

fn per_cycle(stats: &[CycleStats]) -> PerCycle {
    let n = stats.len().max(1) as f64;
    let avg = |f: &dyn Fn(&CycleStats) -> usize| stats.iter().map(|s| f(s) as f64).sum::<f64>() / n;
    PerCycle {
        nodes_filtered: avg(&|s| s.filtered),
        nodes_scored: avg(&|s| s.scored),
        spread_pods_walked: avg(&|s| s.spread_pods_scanned),
        affinity_pods_walked: avg(&|s| s.affinity_pods_scanned),
    }
}

fn print_text(r: &Report, measured: usize, first_difference: Option<usize>) {
    let s = &r.simulator_throughput;
    println!(
        "{SIM_WHAT}: {:.0} pods/s (median of {} runs)",
        s.median_pods_per_second, r.runs
    );
    let m = &r.modelled_throughput;
    let threshold = m
        .scheduler_perf_threshold_pods_per_second
        .map(|t| format!("scheduler_perf threshold at 5,000 nodes: {t:.0} pods/s; "))
        .unwrap_or_default();
    println!(
        "{MODEL_WHAT}: {:.0} pods/s ({threshold}client QPS {}, burst {} as scheduler_perf)",
        m.pods_per_second, m.client_qps, m.client_burst
    );
    let l = &r.modelled_latency_ms;
    println!(
        "{LATENCY_WHAT}: p50 {:.3} ms · p90 {:.3} ms · p99 {:.3} ms",
        l.p50, l.p90, l.p99
    );
    let c = &r.per_cycle;
    println!(
        "workload {} · {} nodes · {} initial + {} measured pods · seed {} · unschedulable {} · per cycle: {:.0} nodes filtered, {:.0} scored, {:.0} + {:.0} pods upstream's PodTopologySpread + InterPodAffinity would walk",
        r.workload, r.nodes, r.init_pods, r.pods, r.seed, r.unschedulable,
        c.nodes_filtered, c.nodes_scored, c.spread_pods_walked, c.affinity_pods_walked
    );
    match r.placements {
        "identical" => println!(
            "placements: identical to the plain evaluation (spread-count cache, InterPodAffinity index, flat columns and score memo off) for all {measured} pods"
        ),
        "differ" => println!(
            "placements: DIFFER from the plain evaluation (first at measured pod {})",
            first_difference.unwrap_or(0)
        ),
        _ => {}
    }
}

/// The case the flags describe; `Err` carries the exit code after the message is printed.
fn load_case(a: &BenchSchedulerArgs) -> Result<Case, i32> {
    let workload = match &a.workload {
        Some(name) => Some(parse_workload(name)?),
        None => None,
    };
    match (workload, &a.nodes_from, &a.pods_from) {
        (None, None, _) | (None, _, None) => {
            return Err(usage(
                "give --workload NAME (a --nodes-from or --pods-from file then replaces that side of it), or both --nodes-from FILE and --pods-from FILE",
            ))
        }
        (Some(_), Some(_), Some(_)) => {
            return Err(usage(
                "--workload has nothing to set when --nodes-from and --pods-from give both nodes and pods; drop one",
            ))
        }
        _ => {}
    }
    let mut case = Case::of(workload.unwrap_or(Workload::SchedulingBasic));
    case.workload = workload;
    if let Some(p) = &a.scheduler_config {
        let (c, warnings) = scenario::load_scheduler_config_file(p).map_err(input_error)?;
        warn(&warnings);
        case.config = c;
    }
    if let Some(p) = &a.nodes_from {
        let objs = load_file(p, &mut case.selectors)?;
        if objs.nodes.is_empty() {
            return Err(file_error(
                p,
                "holds no Node (--nodes-from takes Node manifests)",
            ));
        }
        if !objs.pods.is_empty() || !objs.replica_sets.is_empty() {
            warn(&[format!(
                "{}: the Pods and ReplicaSets in --nodes-from are not scheduled (give them to --pods-from)",
                p.display()
            )]);
        }
        case.node_templates = objs.nodes;
    }
    if let Some(p) = &a.pods_from {
        let objs = load_file(p, &mut case.selectors)?;
        let mut pods = objs.pods;
        pods.extend(objs.replica_sets.iter().map(pod_of_replica_set));
        if pods.is_empty() {
            return Err(file_error(
                p,
                "holds no Pod or ReplicaSet (--pods-from takes Pod manifests, or ReplicaSets whose pod template is used)",
            ));
        }
        case.pod_templates = pods;
    }
    check_profiles(&case)?;
    Ok(case)
}

fn parse_workload(name: &str) -> Result<Workload, i32> {
    Workload::from_name(name).ok_or_else(|| {
        let hint = scenario::suggest::closest(name, WORKLOADS.iter().copied())
            .map(|s| format!("\n  help: did you mean `{s}`?"))
            .unwrap_or_default();
        eprintln!(
            "error: unknown workload {name:?} (one of {}){hint}",
            WORKLOADS.join(", ")
        );
        2
    })
}

/// Every pod must name a scheduler some profile serves, or no cycle would run for it.
fn check_profiles(case: &Case) -> Result<(), i32> {
    let Some(p) = case.unserved_pod() else {
        return Ok(());
    };
    let names: Vec<&str> = case
        .config
        .profiles
        .iter()
        .map(|x| x.scheduler_name.as_str())
        .collect();
    let hint = scenario::suggest::closest(&p.spec.scheduler_name, names.iter().copied())
        .map(|s| format!("\n  help: did you mean `{s}`?"))
        .unwrap_or_default();
    eprintln!(
        "error: pod {} names scheduler {:?}, which no profile of the scheduler configuration serves (profiles: {}){hint}",
        p.key(),
        p.spec.scheduler_name,
        names.join(", ")
    );
    Err(2)
}

/// A manifest file's objects; its ReplicaSets, StatefulSets and Services become selector
/// sources (helper.DefaultSelector), as the scheduler's informers would see them.
fn load_file(p: &Path, sources: &mut SelectorSources) -> Result<scenario::ManifestObjects, i32> {
    let objs = scenario::load_manifest_files(&[p.to_path_buf()]).map_err(input_error)?;
    warn(&objs.warnings);
    for r in &objs.replica_sets {
        sources.set_controller(
            r.kind.as_str(),
            &r.meta.namespace,
            &r.meta.name,
            &r.selector,
        );
    }
    for ss in &objs.stateful_sets {
        sources.set_controller(
            "StatefulSet",
            &ss.meta.namespace,
            &ss.meta.name,
            &ss.selector,
        );
    }
    for svc in &objs.services {
        sources.set_service(&svc.meta.namespace, &svc.meta.name, svc.selector.as_ref());
    }
    Ok(objs)
}

/// The pod a ReplicaSet's controller would create: its template, owned by it.
fn pod_of_replica_set(rs: &ReplicaSet) -> Pod {
    let mut p = Pod::named(&rs.meta.namespace, &rs.meta.name);
    p.meta.labels = rs.template.labels.clone();
    p.meta.annotations = rs.template.annotations.clone();
    p.meta.owner_references.push(OwnerRef {
        kind: rs.kind.as_str().into(),
        name: rs.meta.name.clone(),
        controller: true,
    });
    p.spec = rs.template.spec.clone();
    p
}

fn input_error(e: scenario::InputError) -> i32 {
    eprintln!("{e}");
    2
}

fn file_error(p: &Path, msg: &str) -> i32 {
    eprintln!("{}: error: {msg}", p.display());
    2
}

fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

#[cfg(test)]
mod tests;
