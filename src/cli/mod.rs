//! The command line: `kubesim run`, `check` and `validate`. Wall-clock timing, environment and
//! terminal output (the progress line of long runs, `progress.rs`) live here and only here.
//!
//! Architecture invariant: the only module with `Instant`, environment access and threads; it
//! calls the library and maps outcomes to exit codes (0 ok, 1 expectation failed or invariant
//! violated, 2 usage or input error).

// The CLI is where wall-clock timing belongs (clippy.toml bans it everywhere else).
#![allow(clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

mod bench;
mod gpu;
mod progress;

use crate::output::{self, Perf};
use crate::run::{self, RunOptions, RunOutput};
use crate::scenario::{self, Scenario};
use crate::sim::time::format_secs;

mod diff;
mod plan;
mod swarm;
mod sweep;

const EXAMPLES_RUN: &str = "Examples:
  kubesim run scenarios/quick-start.yaml
  kubesim run scenarios/quick-start.yaml --seed 7 --out /tmp/qs
  kubesim run scenarios/quick-start.yaml --set kube-controller-manager.node-monitor-grace-period=40s";
const EXAMPLES_CHECK: &str = "Examples:
  kubesim check scenarios/quick-start.yaml
  kubesim check scenarios/apiserver-outage.yaml --invariants";
const EXAMPLES_VALIDATE: &str = "Examples:
  kubesim validate scenarios/quick-start.yaml";
const EXAMPLES_EXPLAIN: &str = "Examples:
  kubesim explain --cluster docs/examples/explain/cluster.yaml --pod docs/examples/explain/pod.yaml
  kubesim explain --cluster nodes.yaml pods.yaml --pod pod.yaml --scheduler-config sched.yaml --all-nodes --output json
  kubesim explain scenarios/quick-start.yaml --at 60s --pod default/web-abcde";

#[derive(Parser)]
#[command(
    name = "kubesim",
    version,
    about = "Deterministic discrete-event simulator of a whole Kubernetes cluster",
    long_about = "Replays a scenario (cluster, workloads, faults, expectations) on a virtual clock with \
Kubernetes' own control-plane logic. The same scenario and seed give a byte-identical event log.",
    after_help = "Examples:
  kubesim run scenarios/quick-start.yaml
  kubesim check scenarios/quick-start.yaml
  kubesim validate scenarios/quick-start.yaml"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its results (events.jsonl, timeseries.csv, summary.json, plots).
    #[command(after_help = EXAMPLES_RUN)]
    Run(RunArgs),
    /// Run a scenario and evaluate its `expect:` block; exit 1 if any expectation fails.
    #[command(after_help = EXAMPLES_CHECK)]
    Check(RunArgs),
    /// Parse and validate a scenario without running it.
    #[command(after_help = EXAMPLES_VALIDATE)]
    Validate(ValidateArgs),
    /// Show why the scheduler would put a pod where it does: every node's filter verdict and
    /// every score plugin's raw, normalised and weighted score (docs/explain.md).
    #[command(after_help = EXAMPLES_EXPLAIN)]
    Explain(ExplainArgs),
    /// Benchmarks (docs/scheduler-model.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Turn a trace from another tool into a scenario.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Random valid scenarios from seeds, checked for safety, liveness and determinism
    /// (src/study/swarm.rs); a failing seed writes a reproducer.
    #[command(after_help = "Examples:
  kubesim swarm --seeds 100 --jobs 2
  kubesim swarm --seeds 1..1000 --jobs 2
  kubesim swarm --replay swarm-failures/seed-17.yaml")]
    Swarm(swarm::SwarmArgs),
    /// The fewest nodes per pool that keep every workload available in every failure case:
    /// a search over node counts, verified for monotonicity (docs/plan.md).
    #[command(after_help = "Examples:
  kubesim plan scenarios/capacity-zone-loss.yaml
  kubesim plan scenarios/capacity-zone-loss.yaml --case each-zone-down --goal web:available>=100%:within=10m --jobs 2
  kubesim plan scenarios/capacity-zone-loss.yaml --case nodes-down:worker:2 --goal web:never-below=66% --output json")]
    Plan(plan::PlanArgs),
    /// Flag values × seeds: every cell a `kubesim run`, in parallel and resumable, with
    /// cells.csv, aggregate.csv (mean, std, 95 % CI) and a plot; `--shard`, `--emit-job`
    /// (a Kubernetes Indexed Job) and `merge` (docs/sweep.md).
    #[command(after_help = "Examples:
  kubesim sweep scenarios/zone-full-one-of-two.yaml --set-grid kube-controller-manager.node-eviction-rate=0.05,0.1,0.2 --seeds 1..20
  kubesim sweep scenarios/quick-start.yaml --set-grid kube-controller-manager.node-monitor-grace-period=20s,40s --set-grid kubelet.node-status-update-frequency=5s,10s --seeds 5
  kubesim sweep scenarios/quick-start.yaml --set-grid kube-controller-manager.node-monitor-grace-period=20s,40s --shard 0/2 --out results/shard-0
  kubesim sweep merge results/shard-0 results/shard-1 --out results/merged
  kubesim sweep scenarios/quick-start.yaml --set-grid kube-controller-manager.node-monitor-grace-period=20s,40s --emit-job --image ghcr.io/me/kubesim:dev --shards 4 > job.yaml")]
    Sweep(sweep::SweepArgs),
    /// Compare two runs (results directories, or scenarios it runs): summary metrics side by
    /// side, the first divergence of the event logs, events per reason; `--fail-on` for CI
    /// (docs/diff.md).
    #[command(after_help = "Examples:
  kubesim diff results/a results/b
  kubesim diff scenarios/quick-start.yaml scenarios/quick-start.yaml --set-b kube-controller-manager.node-monitor-grace-period=40s --out /tmp/grace-diff
  kubesim diff results/main results/pr --fail-on 'unavailable_pod_seconds>60'")]
    Diff(diff::DiffArgs),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A SimKube trace (YAML): applies at the first timestamp become workloads, later
    /// re-applies of a Deployment scaleDeployment actions, with expectations on replicas.
    #[command(after_help = "Examples:
  kubesim import simkube dsb-scaling.sktrace.yaml -o scenarios/simkube-dsb-scaling.yaml")]
    Simkube(ImportArgs),
    /// The Alibaba GPU trace "openb" (cluster-trace-gpu-v2023): node and pod CSVs written as
    /// Kubernetes YAML (GPU annotations as the FGD artifact has them) plus a scenario.
    #[command(after_help = "Examples:
  kubesim import alibaba-openb openb_node_list_gpu_node.csv openb_pod_list_default.csv --out openb/")]
    AlibabaOpenb(gpu::ImportOpenbArgs),
    /// The Kubernetriks generic trace (YAML events !CreateNode, !RemoveNode, !CreatePod,
    /// !RemovePod; cluster and workload traces may be separate files): a scenario.yaml with node
    /// pools, addNodes/deleteNodes and a trace-driven arrivals generator reading pods.csv.
    #[command(after_help = "Examples:
  kubesim import kubernetriks cluster_trace.yaml workload_trace.yaml --out kubernetriks/")]
    Kubernetriks(KubernetriksArgs),
}

#[derive(Args)]
struct KubernetriksArgs {
    /// The trace file(s); their events are merged by timestamp.
    #[arg(required = true)]
    traces: Vec<PathBuf>,
    /// Directory to write scenario.yaml and pods.csv into (created if absent).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ImportArgs {
    /// The trace file.
    trace: PathBuf,
    /// Where to write the scenario (default: standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// scheduler_perf-shaped workloads, or your nodes and pods under your scheduler
    /// configuration, through the scheduler's own decision path: the simulator's wall-clock
    /// pods/s, the modelled scheduler's virtual-time pods/s and per-pod latency.
    #[command(after_help = "Examples:
  kubesim bench scheduler --workload SchedulingBasic --nodes 5000 --pods 10000
  kubesim bench scheduler --workload SchedulingReplicaSet --nodes 5000 --pods 10000 --runs 3
  kubesim bench scheduler --workload PodAntiAffinity --nodes 5000 --pods 2000 --runs 1
  kubesim bench scheduler --nodes-from nodes.yaml --pods-from pods.yaml --scheduler-config sched.yaml --output json")]
    Scheduler(bench::BenchSchedulerArgs),
    /// The FGD paper's experiment (USENIX ATC'23): GPU-sharing pods shuffled, tuned to a share
    /// of the cluster's GPUs and scheduled one by one under each GPU score plugin; GPU
    /// allocation at given arrival points (docs/gpu.md).
    #[command(after_help = "Examples:
  kubesim bench fgd --nodes openb_node_list_gpu_node.csv --pods openb_pod_list_default.csv --policy FGD --seeds 42..51 --tune 1.3")]
    Fgd(gpu::BenchFgdArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Args)]
struct ExplainArgs {
    /// A scenario to run up to `--at` and explain a pod of (the second form).
    scenario: Option<PathBuf>,
    /// With a scenario: the simulated time to stop at (a Go duration such as 90s or 5m).
    #[arg(long)]
    at: Option<String>,
    /// Files of Node objects (status.allocatable/capacity, status.images) and existing Pods
    /// bound by spec.nodeName (and ReplicaSets, for default spreading).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    cluster: Vec<PathBuf>,
    /// The incoming Pod: a manifest file, or `NAMESPACE/NAME` with a scenario.
    #[arg(long)]
    pod: Option<String>,
    /// A KubeSchedulerConfiguration file (profiles, plugins, weights, args).
    #[arg(long)]
    scheduler_config: Option<PathBuf>,
    /// Score the nodes that fail a filter too (marked infeasible; never chosen).
    #[arg(long)]
    all_nodes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    output: OutputFormat,
    /// Seed of the draw among equal top scores (and of the scenario run).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a component flag of the scenario, as for `run`.
    #[arg(long = "set", value_name = "COMPONENT.FLAG=VALUE")]
    set: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    /// The scenario file (YAML).
    scenario: PathBuf,
    /// Seed for every random stream (overrides the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a component flag: `component.flag=value`, e.g.
    /// `kube-controller-manager.node-monitor-grace-period=40s`. Repeatable.
    #[arg(long = "set", value_name = "COMPONENT.FLAG=VALUE")]
    set: Vec<String>,
    /// Results directory (default for `run`: results/<scenario file stem>/; `check` writes
    /// results only when given). It must be new, empty or an earlier kubesim result, which is
    /// replaced atomically; anything else is refused (docs/outputs.md).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not render the charts (timeline, capacity, pending, availability, evictions as PNG and
    /// SVG); report.html then has none.
    #[arg(long)]
    no_plots: bool,
    /// Shuffle same-time events by seed, to expose hidden order dependence.
    #[arg(long)]
    perturb_ties: bool,
    /// Check safety invariants after every event (slower); a violation exits 1.
    #[arg(long)]
    invariants: bool,
    /// The simulation budget: stop after this many engine events (overrides the scenario's
    /// `simulation.maxEvents`; a run stopped by it exits 1 with stop reason `event-limit`).
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
    /// Print only the final lines (and no progress line on a terminal).
    #[arg(long, short)]
    quiet: bool,
    /// `json`: print one JSON document (summary, expectations, paths written) and nothing
    /// else on stdout.
    #[arg(long, value_enum, default_value = "text")]
    output: OutputFormat,
    /// `openmetrics`: also write `metrics.om`, every series of metrics.csv and the components'
    /// own metrics under their upstream names, in the OpenMetrics text format that `promtool
    /// tsdb create-blocks-from openmetrics` loads (docs/outputs.md).
    #[arg(long, value_enum, value_name = "FORMAT")]
    metrics: Option<MetricsFormat>,
    /// The wall-clock instant of simulated t = 0 in metrics.om (RFC 3339; the CronJob clock's).
    #[arg(long, value_name = "TIME", default_value = "2025-01-01T00:00:00Z",
          value_parser = output::openmetrics::parse_start, requires = "metrics")]
    metrics_start: i128,
    /// Input warnings are errors: server-populated fields of dumps, skipped kinds and
    /// unmodelled fields make the scenario invalid (exit 2) instead of being ignored.
    #[arg(long)]
    strict: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum MetricsFormat {
    Openmetrics,
}

#[derive(Args)]
struct ValidateArgs {
    /// The scenario file (YAML).
    scenario: PathBuf,
    /// Override a component flag, as for `run`.
    #[arg(long = "set", value_name = "COMPONENT.FLAG=VALUE")]
    set: Vec<String>,
    /// Input warnings are errors: server-populated fields of dumps, skipped kinds and
    /// unmodelled fields make the scenario invalid (exit 2) instead of being ignored.
    #[arg(long)]
    strict: bool,
}

/// Entry point of the binary; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Run(a) => run_command(&a, false),
        Command::Check(a) => run_command(&a, true),
        Command::Validate(a) => validate(&a),
        Command::Explain(a) => explain(&a),
        Command::Bench(BenchCommand::Scheduler(a)) => bench::bench_scheduler(&a),
        Command::Bench(BenchCommand::Fgd(a)) => gpu::bench_fgd(&a),
        Command::Import(ImportCommand::Simkube(a)) => import_simkube(&a),
        Command::Import(ImportCommand::AlibabaOpenb(a)) => gpu::import_openb(&a),
        Command::Import(ImportCommand::Kubernetriks(a)) => import_kubernetriks(&a),
        Command::Swarm(a) => swarm::swarm_command(&a),
        Command::Plan(a) => plan::plan_command(&a),
        Command::Sweep(a) => sweep::sweep_command(&a),
        Command::Diff(a) => diff::diff_command(&a),
    }
}

fn import_simkube(a: &ImportArgs) -> i32 {
    // A regular UTF-8 file of bounded size, as every input (`/dev/zero` is an error).
    let text = match crate::scenario::bounds::read_input(&a.trace) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let name = a
        .output
        .as_ref()
        .unwrap_or(&a.trace)
        .file_stem()
        .map_or("simkube".into(), |s| {
            s.to_string_lossy().trim_end_matches(".sktrace").to_string()
        });
    let source = a
        .trace
        .file_name()
        .map_or(a.trace.display().to_string(), |f| {
            f.to_string_lossy().into_owned()
        });
    match crate::scenario::simkube::import(&text, &source, &name) {
        Ok(out) => match &a.output {
            Some(p) => match std::fs::write(p, out) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("{}: error: cannot write: {e}", p.display());
                    2
                }
            },
            None => {
                print!("{out}");
                0
            }
        },
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}

fn import_kubernetriks(a: &KubernetriksArgs) -> i32 {
    let mut files = Vec::new();
    for p in &a.traces {
        match crate::scenario::bounds::read_input(p) {
            Ok(t) => files.push((p.display().to_string(), t)),
            Err(e) => {
                eprintln!("{e}");
                return 2;
            }
        }
    }
    let name = a
        .out
        .file_name()
        .map_or("kubernetriks".into(), |s| s.to_string_lossy().into_owned());
    let r = match crate::scenario::kubernetriks::import(&files, &name) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&a.out) {
        eprintln!("{}: error: cannot create: {e}", a.out.display());
        return 2;
    }
    for (f, text) in [("scenario.yaml", &r.scenario), ("pods.csv", &r.pods_csv)] {
        let p = a.out.join(f);
        if let Err(e) = std::fs::write(&p, text) {
            eprintln!("{}: error: cannot write: {e}", p.display());
            return 2;
        }
    }
    eprintln!(
        "wrote {} nodes and {} pods to {}",
        r.nodes,
        r.pods,
        a.out.display()
    );
    0
}

fn usage(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    2
}

fn explain(a: &ExplainArgs) -> i32 {
    use crate::scheduler::explain as ex;
    let Some(pod_arg) = &a.pod else {
        return usage("--pod is required (a Pod manifest file, or NAMESPACE/NAME with a scenario)");
    };
    let sched_cfg = match &a.scheduler_config {
        Some(p) => match scenario::load_scheduler_config_file(p) {
            Ok((c, w)) => {
                for x in w {
                    eprintln!("warning: {x}");
                }
                Some(c)
            }
            Err(e) => {
                eprintln!("{e}");
                return 2;
            }
        },
        None => None,
    };
    let explanation = match &a.scenario {
        Some(path) => explain_scenario(a, path, pod_arg, sched_cfg),
        None => explain_manifests(a, pod_arg, sched_cfg),
    };
    let explanation = match explanation {
        Ok(e) => e,
        Err(code) => return code,
    };
    match a.output {
        OutputFormat::Json => match serde_json::to_string_pretty(&explanation) {
            Ok(j) => println!("{j}"),
            Err(e) => return usage(&format!("cannot render JSON: {e}")),
        },
        OutputFormat::Text => print!("{}", ex::render_text(&explanation)),
    }
    0
}

type SchedulerConfig = crate::scheduler::SchedulerConfig;

/// `kubesim explain SCENARIO --at T --pod NS/NAME`: run to `--at`, explain the pod.
fn explain_scenario(
    a: &ExplainArgs,
    path: &Path,
    pod_arg: &str,
    sched_cfg: Option<SchedulerConfig>,
) -> Result<crate::scheduler::explain::Explanation, i32> {
    if !a.cluster.is_empty() {
        return Err(usage(
            "--cluster and a scenario are two different forms; give one",
        ));
    }
    let Some(at) = &a.at else {
        return Err(usage(
            "with a scenario, --at DURATION says when to explain the pod",
        ));
    };
    let at = match crate::model::duration::parse_go_duration(at) {
        Ok(d) => d,
        Err(e) => return Err(usage(&format!("--at {at:?}: {e}"))),
    };
    let mut s = load(path, &a.set, false)?;
    if let Some(c) = sched_cfg {
        s.scheduler = crate::scheduler::SchedulerConfig {
            leader_election: s.scheduler.leader_election.clone(),
            ..c
        };
    }
    if let Some(seed) = a.seed {
        if let Err(m) = s.reseed(seed) {
            eprintln!("{}: error: {m}", path.display());
            return Err(2);
        }
    }
    if at > s.duration {
        return Err(usage(&format!(
            "--at {at} is after the scenario's duration ({})",
            s.duration
        )));
    }
    let until = crate::sim::SimTime::ZERO + at;
    let mut cluster = crate::run::state_at(&s, until);
    let Some(pod) = cluster.api.pods().get(pod_arg).cloned() else {
        let known: Vec<&str> = cluster.api.pods().keys().map(|k| k.as_str()).collect();
        let hint = crate::scenario::suggest::closest(pod_arg, known.iter().copied())
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        return Err(usage(&format!(
            "no pod {pod_arg:?} at {at} ({} pods exist){hint}",
            known.len()
        )));
    };
    match cluster.scheduler.explain_pod(&pod, a.all_nodes, s.seed) {
        Some(e) => Ok(e),
        None => Err(usage(&format!(
            "pod {pod_arg} names scheduler {:?}, which no profile serves",
            pod.spec.scheduler_name
        ))),
    }
}

/// `kubesim explain --cluster FILE… --pod FILE`: explain a pod against manifests.
fn explain_manifests(
    a: &ExplainArgs,
    pod_arg: &str,
    sched_cfg: Option<SchedulerConfig>,
) -> Result<crate::scheduler::explain::Explanation, i32> {
    use crate::scheduler::{explain as ex, OwnedSnapshot};
    if a.cluster.is_empty() {
        return Err(usage(
            "give --cluster FILE… with --pod FILE, or a scenario with --at and --pod NS/NAME",
        ));
    }
    if a.at.is_some() {
        return Err(usage("--at applies to the scenario form only"));
    }
    let (nodes, pods, sources, mut warnings) = match scenario::load_manifest_files(&a.cluster) {
        Ok(x) => {
            let mut s = crate::scheduler::plugins::pod_topology_spread::SelectorSources::default();
            for r in &x.replica_sets {
                s.set_controller(
                    r.kind.as_str(),
                    &r.meta.namespace,
                    &r.meta.name,
                    &r.selector,
                );
            }
            for ss in &x.stateful_sets {
                s.set_controller(
                    "StatefulSet",
                    &ss.meta.namespace,
                    &ss.meta.name,
                    &ss.selector,
                );
            }
            for svc in &x.services {
                s.set_service(&svc.meta.namespace, &svc.meta.name, svc.selector.as_ref());
            }
            (x.nodes, x.pods, s, x.warnings)
        }
        Err(e) => {
            eprintln!("{e}");
            return Err(2);
        }
    };
    let pod_file = PathBuf::from(pod_arg);
    let incoming = match scenario::load_manifest_files(std::slice::from_ref(&pod_file)) {
        Ok(scenario::ManifestObjects {
            nodes: n,
            pods: p,
            replica_sets: r,
            warnings: w,
            ..
        }) => {
            warnings.extend(w);
            if !n.is_empty() || !r.is_empty() || p.len() != 1 {
                eprintln!(
                        "{}: error: the --pod file must hold exactly one Pod (found {} Pods, {} Nodes, {} ReplicaSets)",
                        pod_file.display(),
                        p.len(),
                        n.len(),
                        r.len()
                    );
                return Err(2);
            }
            p.into_iter().next()
        }
        Err(e) => {
            eprintln!("{e}");
            return Err(2);
        }
    };
    let Some(mut incoming) = incoming else {
        return Err(2);
    };
    incoming.spec.node_name = None;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    if nodes.is_empty() {
        return Err(usage("the --cluster files hold no Node"));
    }
    let cfg = sched_cfg.unwrap_or_default();
    let Some(profile) = cfg
        .profiles
        .iter()
        .find(|p| p.scheduler_name == incoming.spec.scheduler_name)
    else {
        return Err(usage(&format!(
            "the pod names scheduler {:?}, which no profile serves",
            incoming.spec.scheduler_name
        )));
    };
    let snap = OwnedSnapshot::build(&nodes, &pods, sources);
    let mut r = crate::sim::rng::stream(a.seed.unwrap_or(0), "kubesim-explain/select-host");
    Ok(ex::explain(
        profile,
        &incoming,
        &snap.view(),
        a.all_nodes,
        &mut r,
    ))
}

fn load(path: &Path, set: &[String], strict: bool) -> Result<Scenario, i32> {
    match scenario::load(path, set) {
        Ok(s) if strict && !s.warnings.is_empty() => {
            for w in &s.warnings {
                eprintln!("error: {w}");
            }
            eprintln!(
                "{}: error: {} input warning(s) with --strict",
                path.display(),
                s.warnings.len()
            );
            Err(2)
        }
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            Ok(s)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(2)
        }
    }
}

fn validate(a: &ValidateArgs) -> i32 {
    match load(&a.scenario, &a.set, a.strict) {
        Ok(s) => {
            println!(
                "{}: valid — {} nodes, {} workloads, {} timeline entries, {} expectations, Kubernetes {}",
                a.scenario.display(),
                s.nodes.len(),
                s.workloads.len(),
                s.timeline.len(),
                s.expectations.len(),
                s.kubernetes_version
            );
            for line in scenario::dump::cluster_summary(&s) {
                println!("  {line}");
            }
            0
        }
        Err(code) => code,
    }
}

fn print_header(s: &Scenario, path: &Path, seed: u64) {
    println!(
        "kubesim {} — scenario {:?} ({})",
        env!("CARGO_PKG_VERSION"),
        s.name,
        path.display()
    );
    println!(
        "seed {seed} · Kubernetes {} · duration {} · {} nodes · {} workloads · {} faults · {} expectations",
        s.kubernetes_version,
        s.duration,
        s.nodes.len(),
        s.workloads.len(),
        s.timeline.len(),
        s.expectations.len()
    );
    if let Some(d) = &s.description {
        println!("{d}");
    }
    println!("effective settings:");
    let width = s
        .settings
        .iter()
        .map(|x| x.component.len() + x.name.len() + 1)
        .max()
        .unwrap_or(0);
    for x in &s.settings {
        let key = format!("{}.{}", x.component, x.name);
        println!("  {key:<width$} = {:<12} ({})", x.value, x.source);
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), if known.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The exit status of a write stopped by `KUBESIM_TEST_ABORT_AT` (as a shell reports SIGKILL).
const ABORT_STATUS: i32 = 137;

/// Fault injection for tests: `KUBESIM_TEST_ABORT_AT=<stage>` ends the process at that stage of
/// the results write (src/output/resultdir.rs) without any cleanup, as a SIGKILL would.
fn abort_hook() -> Result<Box<dyn FnMut(output::Stage)>, String> {
    let Some(v) = std::env::var_os("KUBESIM_TEST_ABORT_AT") else {
        return Ok(Box::new(|_| {}));
    };
    let name = v.to_string_lossy();
    let Some(at) = output::Stage::from_name(&name) else {
        let all: Vec<&str> = output::Stage::ALL.iter().map(|s| s.name()).collect();
        return Err(format!(
            "KUBESIM_TEST_ABORT_AT={name:?} names no stage (one of {})",
            all.join(", ")
        ));
    };
    Ok(Box::new(move |stage| {
        if stage == at {
            std::process::exit(ABORT_STATUS);
        }
    }))
}

fn default_out(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("results").join(stem)
}

fn run_command(a: &RunArgs, check: bool) -> i32 {
    let mut s = match load(&a.scenario, &a.set, a.strict) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(seed) = a.seed {
        // The failure models' faults for this seed (an error if one draws too many).
        s = match s.with_seed(seed) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return 2;
            }
        };
    }
    if let Some(n) = a.max_events {
        s.max_events = n;
        for st in s.settings.iter_mut().filter(|st| st.name == "maxEvents") {
            st.value = n.to_string();
            st.source = "--max-events".into();
        }
    }
    let out_dir = match (&a.out, check) {
        (Some(d), _) => Some(d.clone()),
        (None, false) => Some(default_out(&a.scenario)),
        (None, true) => None,
    };
    // Refuse an unusable --out before the run, not after it.
    if let Some(dir) = &out_dir {
        if let Err(e) = output::resultdir::check_target(dir) {
            eprintln!("error: {e}");
            return 2;
        }
    }
    let mut hook = match abort_hook() {
        Ok(h) => h,
        Err(msg) => return usage(&msg),
    };
    let seed = a.seed.unwrap_or(s.seed);
    let json = a.output == OutputFormat::Json;
    let quiet = a.quiet || json;
    if !quiet {
        print_header(&s, &a.scenario, seed);
    }
    let bar = progress::Progress::for_terminal(quiet, crate::sim::SimTime::ZERO + s.duration);
    let opts = RunOptions {
        seed: a.seed,
        perturb_ties: a.perturb_ties,
        check_invariants: a.invariants,
        progress: bar.as_ref().map(progress::Progress::hook),
    };
    let started = Instant::now();
    let (out, cluster) = run::run_keeping_cluster(&s, &opts);
    // The process exits after this command (`main` calls `process::exit`), so the end state is
    // not dropped piece by piece: a few percent of a large run's wall time.
    std::mem::forget(cluster);
    let wall = started.elapsed().as_secs_f64();
    if let Some(b) = &bar {
        b.finish();
    }
    let perf = Perf {
        wall_seconds: wall,
        engine_events: out.engine_events,
        events_per_second: out.engine_events as f64 / wall.max(1e-9),
        simulated_seconds_per_wall_second: out.end.as_secs_f64() / wall.max(1e-9),
        peak_memory_bytes: peak_memory_bytes(),
    };
    let mut doc = json.then(|| {
        let summary = serde_json::from_slice(&output::summary_json(&s, &out))
            .unwrap_or(serde_json::Value::Null);
        output::json::CommandJson::of_run(if check { "check" } else { "run" }, &out, summary)
    });
    let mut code = 0;
    if !out.stop.completed() {
        let msg = format!(
            "stopped early (stop reason: {}): the event limit ({}) was reached at {}s; raise \
             simulation.maxEvents or --max-events",
            out.stop.as_str(),
            s.max_events,
            format_secs(out.end.as_nanos(), 3)
        );
        match &mut doc {
            Some(d) => d.errors.push(msg),
            None => println!("{msg}"),
        }
        code = 1;
    }
    if !quiet {
        print_summary(&out, &perf);
    }
    if !json && (check || !out.expectations.is_empty() && !a.quiet) {
        print_expectations(&out);
    }
    if check && !out.expectations_passed() {
        code = 1;
    }
    if !out.invariant_violations.is_empty() {
        if !json {
            println!(
                "invariant violations ({} shown):",
                out.invariant_violations.len()
            );
            for v in &out.invariant_violations {
                println!("  {v}");
            }
        }
        code = 1;
    }
    if let Some(dir) = out_dir {
        let wopts = output::WriteOptions {
            plots: !a.no_plots,
            openmetrics_start_ns: a.metrics.map(|_| a.metrics_start),
        };
        match output::write_results_with(&dir, &s, &out, &perf, &wopts, &mut hook) {
            Ok(()) if json => {
                if let Some(d) = &mut doc {
                    d.results_dir = Some(dir.display().to_string());
                    d.paths = output::result_files_with(&wopts)
                        .iter()
                        .map(|f| dir.join(f).display().to_string())
                        .collect();
                }
            }
            Ok(()) => println!(
                "results: {}/ ({})",
                dir.display(),
                output::result_files_with(&wopts).join(", ")
            ),
            Err(e) => {
                eprintln!("error: {e}");
                code = 2;
                match &mut doc {
                    Some(d) => d.errors.push(e.to_string()),
                    None => return code,
                }
            }
        }
    }
    match &mut doc {
        Some(d) => {
            d.exit_code = code;
            print!("{}", d.to_text());
        }
        None => println!("digest: {}", out.digest),
    }
    // Like the cluster above: the records and series go with the process.
    std::mem::forget(out);
    code
}

fn print_summary(out: &RunOutput, perf: &Perf) {
    println!(
        "stopped: {} at {}s after {} engine events ({:.2} s wall, {:.0} events/s)",
        out.stop.as_str(),
        format_secs(out.end.as_nanos(), 3),
        out.engine_events,
        perf.wall_seconds,
        perf.events_per_second
    );
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for r in &out.records {
        *counts.entry(r.reason).or_insert(0) += 1;
    }
    let list: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("events logged: {} — {}", out.records.len(), list.join(", "));
}

fn print_expectations(out: &RunOutput) {
    if out.expectations.is_empty() {
        println!("no expectations");
        return;
    }
    for e in &out.expectations {
        println!(
            "{} {:<10} {}: expected {}, observed {}",
            if e.passed { "PASS" } else { "FAIL" },
            e.origin,
            e.description,
            e.expected,
            e.observed
        );
    }
    let passed = out.expectations.iter().filter(|e| e.passed).count();
    println!(
        "expectations: {passed} passed, {} failed",
        out.expectations.len() - passed
    );
}
