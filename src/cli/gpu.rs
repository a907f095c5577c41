//! GPU commands: `kubesim import alibaba-openb NODES.csv PODS.csv --out DIR` (the trace as
//! Kubernetes YAML plus a scenario) and `kubesim bench fgd` (the FGD paper's experiment: each
//! policy × seed, GPU allocation at chosen arrival points, the mean over seeds; docs/gpu.md).
//!
//! Architecture invariant: files are read and written here only; every figure is a function of
//! the inputs, the policies, the seeds and the tune ratio.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::OutputFormat;
use crate::model::{Node, Pod};
use crate::scenario::openb;
use crate::scheduler::fgd;
use crate::scheduler::plugins::outoftree::score::{Policy, POLICIES};
use crate::scheduler::plugins::outoftree::GpuSel;

#[derive(Args)]
pub(super) struct ImportOpenbArgs {
    /// `openb_node_list_*.csv` (sn,cpu_milli,memory_mib,gpu,model).
    nodes: PathBuf,
    /// `openb_pod_list_*.csv` (name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,…]).
    pods: PathBuf,
    /// Directory to write nodes.yaml, pods.yaml and scenario.yaml into (created if absent).
    #[arg(long)]
    out: PathBuf,
    /// The scenario's simulated duration.
    #[arg(long, default_value = "10m")]
    duration: String,
    /// Create the pods at their `creation_time` (an `arrivals:` trace, arrivals.csv), each
    /// running `deletion_time − creation_time`, instead of all at t = 0.
    #[arg(long)]
    replay_times: bool,
    /// The GPU score plugin `scheduler-config.yaml` enables (Random, DotProd, GpuClustering,
    /// GpuPacking, BestFit, FGD or the plugin names), or `none`: the default scheduler, whole
    /// GPUs only.
    #[arg(long, default_value = "FGD")]
    policy: String,
}

#[derive(Args)]
pub(super) struct BenchFgdArgs {
    /// The cluster: `openb_node_list_gpu_node.csv`.
    #[arg(long)]
    nodes: PathBuf,
    /// The workload: `openb_pod_list_*.csv`.
    #[arg(long)]
    pods: PathBuf,
    /// Policies, comma-separated: Random, DotProd, GpuClustering, GpuPacking, BestFit, FGD (or
    /// the plugin names, e.g. FGDScore), or `all`.
    #[arg(long, default_value = "all")]
    policy: String,
    /// A KubeSchedulerConfiguration enabling `Open-Gpu-Share` and one of the six score plugins
    /// (overrides --policy).
    #[arg(long, value_name = "FILE")]
    scheduler_config: Option<PathBuf>,
    /// Seeds: `42..51` (inclusive), `42,43` or `42`.
    #[arg(long, default_value = "42..51")]
    seeds: String,
    /// Workload tuning: total GPU request as a multiple of the cluster's GPUs (≤ 0: none).
    #[arg(long, default_value_t = 1.3)]
    tune: f64,
    /// Arrival points (% of cluster GPUs) to report.
    #[arg(long, default_value = "100,130")]
    at: String,
    /// Break score ties uniformly at random (upstream kube-scheduler) instead of by the
    /// artifact's seeded node-name order.
    #[arg(long)]
    uniform_ties: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

fn read(p: &Path) -> Result<String, i32> {
    std::fs::read_to_string(p).map_err(|e| {
        eprintln!("{}: error: cannot read: {e}", p.display());
        2
    })
}

fn load(nodes: &Path, pods: &Path) -> Result<(Vec<openb::OpenbNode>, Vec<openb::OpenbPod>), i32> {
    let err = |e: String| {
        eprintln!("error: {e}");
        2
    };
    let n = openb::parse_nodes(&read(nodes)?, &nodes.display().to_string()).map_err(err)?;
    let p = openb::parse_pods(&read(pods)?, &pods.display().to_string()).map_err(err)?;
    Ok((n, p))
}

pub(super) fn import_openb(a: &ImportOpenbArgs) -> i32 {
    let (nodes, pods) = match load(&a.nodes, &a.pods) {
        Ok(x) => x,
        Err(c) => return c,
    };
    if let Err(e) = std::fs::create_dir_all(&a.out) {
        eprintln!("{}: error: cannot create: {e}", a.out.display());
        return 2;
    }
    let policy = if a.policy.eq_ignore_ascii_case("none") {
        None
    } else {
        match parse_policies(&a.policy) {
            Ok(p) if p.len() == 1 => Some(p[0]),
            Ok(_) => return super::usage("--policy: name one policy (or none)"),
            Err(e) => return super::usage(&e),
        }
    };
    const SCHED: &str = "scheduler-config.yaml";
    let name = a
        .pods
        .file_stem()
        .map_or("openb".into(), |s| s.to_string_lossy().replace('_', "-"));
    let mut files = vec![
        ("nodes.yaml", openb::nodes_yaml(&nodes)),
        ("pods.yaml", openb::pods_yaml(&pods)),
    ];
    if a.replay_times {
        let (tail, csv) = match openb::arrivals(&pods, &a.pods.display().to_string()) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        files.push((
            "scenario.yaml",
            openb::scenario_yaml_with(
                &name,
                "nodes.yaml",
                &tail,
                &a.duration,
                policy.map(|_| SCHED),
            ),
        ));
        files.push(("arrivals.csv", csv));
    } else {
        files.push((
            "scenario.yaml",
            openb::scenario_yaml(
                &name,
                "nodes.yaml",
                "pods.yaml",
                &a.duration,
                policy.map(|_| SCHED),
            ),
        ));
    }
    if let Some(p) = policy {
        files.push((SCHED, openb::scheduler_config_yaml(p)));
    }
    for (f, text) in files {
        let p = a.out.join(f);
        if let Err(e) = std::fs::write(&p, text) {
            eprintln!("{}: error: cannot write: {e}", p.display());
            return 2;
        }
    }
    let timed = pods.iter().filter(|p| p.creation_time.is_some()).count();
    if a.replay_times {
        eprintln!(
            "wrote {} nodes and {} pods to {} (scenario.yaml: each pod arrives at its creation_time, arrivals.csv)",
            nodes.len(),
            pods.len(),
            a.out.display()
        );
        return 0;
    }
    eprintln!(
        "wrote {} nodes and {} pods to {} (scenario.yaml: every pod at t = 0; {timed} pods carry a creation time, not replayed)",
        nodes.len(),
        pods.len(),
        a.out.display()
    );
    0
}

/// `42..51`, `42,43`, `42`.
fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("--seeds: `{s}` is not a seed, a list or a range like 42..51");
    if let Some((a, b)) = s.split_once("..") {
        let (a, b): (u64, u64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if a > b || b - a >= 1000 {
            return Err(bad());
        }
        return Ok((a..=b).collect());
    }
    s.split(',')
        .map(|x| x.trim().parse().map_err(|_| bad()))
        .collect()
}

fn parse_policies(s: &str) -> Result<Vec<Policy>, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(POLICIES.to_vec());
    }
    s.split(',')
        .map(|x| {
            Policy::from_name(x.trim()).ok_or_else(|| {
                format!("--policy: unknown policy `{x}` (Random, DotProd, GpuClustering, GpuPacking, BestFit, FGD, all)")
            })
        })
        .collect()
}

/// (arrived %, allocation %) at each `--at` point.
type Points = Vec<(i64, Option<f64>)>;

#[derive(Serialize)]
struct Row {
    policy: &'static str,
    seed: u64,
    pods: usize,
    failed: usize,
    alloc: Points,
}

pub(super) fn bench_fgd(a: &BenchFgdArgs) -> i32 {
    let policies: Vec<(Policy, GpuSel)> = match &a.scheduler_config {
        Some(p) => match read(p).and_then(|t| {
            openb::policy_from_scheduler_config(&t, &p.display().to_string()).map_err(|e| {
                eprintln!("error: {e}");
                2
            })
        }) {
            Ok(pol) => vec![pol],
            Err(c) => return c,
        },
        None => match parse_policies(&a.policy) {
            Ok(p) => p.into_iter().map(|p| (p, p.gpu_sel())).collect(),
            Err(e) => return super::usage(&e),
        },
    };
    let seeds = match parse_seeds(&a.seeds) {
        Ok(s) => s,
        Err(e) => return super::usage(&e),
    };
    let at: Vec<i64> = match a.at.split(',').map(|x| x.trim().parse()).collect() {
        Ok(v) => v,
        Err(_) => return super::usage(&format!("--at: `{}` is not a list of percentages", a.at)),
    };
    let (nodes, pods) = match load(&a.nodes, &a.pods) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let nodes: Vec<Node> = nodes.iter().map(openb::node_object).collect();
    let pods: Vec<Pod> = pods.iter().map(openb::pod_object).collect();
    let mut rows = Vec::new();
    for &(policy, sel) in &policies {
        for &seed in &seeds {
            let o = fgd::Options {
                sel,
                tune: a.tune,
                ties: if a.uniform_ties {
                    fgd::Ties::Uniform
                } else {
                    fgd::Ties::SeededNodeOrder
                },
                ..fgd::Options::paper(policy, seed)
            };
            let r = fgd::run(&nodes, &pods, o);
            rows.push(Row {
                policy: policy.short_name(),
                seed,
                pods: r.pods,
                failed: r.failed,
                alloc: at.iter().map(|&p| (p, r.alloc_at(p))).collect(),
            });
            if a.output == OutputFormat::Text {
                let cells: Vec<String> = rows[rows.len() - 1]
                    .alloc
                    .iter()
                    .map(|(p, v)| format!("{p}%: {}", v.map_or("-".into(), |v| format!("{v:.2}"))))
                    .collect();
                println!(
                    "{:<14} seed {seed:<4} pods {:<6} failed {:<5} {}",
                    policy.short_name(),
                    r.pods,
                    r.failed,
                    cells.join("  ")
                );
            }
        }
    }
    let means: Vec<(&'static str, Points)> = policies
        .iter()
        .map(|(p, _)| {
            let mine: Vec<&Row> = rows.iter().filter(|r| r.policy == p.short_name()).collect();
            let m = at
                .iter()
                .enumerate()
                .map(|(k, &pct)| {
                    let v: Vec<f64> = mine.iter().filter_map(|r| r.alloc[k].1).collect();
                    (
                        pct,
                        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64),
                    )
                })
                .collect();
            (p.short_name(), m)
        })
        .collect();
    match a.output {
        OutputFormat::Text => {
            println!(
                "\nGPU allocation %, mean of {} seeds (tune {}):",
                seeds.len(),
                a.tune
            );
            for (p, m) in &means {
                let cells: Vec<String> = m
                    .iter()
                    .map(|(pct, v)| {
                        format!("{pct}%: {}", v.map_or("-".into(), |v| format!("{v:.2}")))
                    })
                    .collect();
                println!("{p:<14} {}", cells.join("  "));
            }
        }
        OutputFormat::Json => {
            let doc = serde_json::json!({"runs": rows, "means": means, "tune": a.tune});
            println!("{doc}");
        }
    }
    0
}
