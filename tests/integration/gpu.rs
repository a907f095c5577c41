//! GPUs as a user meets them: `kubesim import alibaba-openb` on CSVs in the trace's exact
//! schema (the written scenario validates and runs), and `kubesim bench fgd` on the FGD
//! artifact's quick-start cluster (two V100 nodes of 2 and 4 GPUs; pods of 0.5 GPU, CPU only
//! and 2 GPUs), through its text, JSON and scheduler-configuration paths, with bad input.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

const NODES_CSV: &str = "sn,cpu_milli,memory_mib,gpu,model\n\
pai-node-00,64000,256000,2,V100\n\
pai-node-01,64000,256000,4,V100\n";

const PODS_CSV: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
gpu-pod-00,4000,9216,1,500,,LS,Running,0,100,0\n\
gpu-pod-01,8000,17408,0,0,,BE,Running,10,200,10\n\
gpu-pod-02,12000,18432,2,1000,V100|V100M32,LS,Running,20,300,20\n";

fn kubesim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn inputs(dir: &Path) -> (String, String) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let (n, p) = (dir.join("nodes.csv"), dir.join("pods.csv"));
    std::fs::write(&n, NODES_CSV).expect("write");
    std::fs::write(&p, PODS_CSV).expect("write");
    (n.display().to_string(), p.display().to_string())
}

#[test]
fn imported_openb_trace_validates_and_runs() {
    let dir = scratch("gpu-import");
    let (n, p) = inputs(&dir);
    let out = dir.join("out");
    let (code, _, err) = kubesim(&[
        "import",
        "alibaba-openb",
        &n,
        &p,
        "--out",
        &out.display().to_string(),
        "--duration",
        "2m",
    ]);
    assert_eq!(code, 0, "{err}");
    let pods = std::fs::read_to_string(out.join("pods.yaml")).expect("pods.yaml");
    // The artifact's annotations; whole GPUs also as the upstream extended resource.
    assert!(
        pods.contains("alibabacloud.com/gpu-milli: \"500\""),
        "{pods}"
    );
    assert!(
        pods.contains("alibabacloud.com/gpu-card-model: \"V100|V100M32\""),
        "{pods}"
    );
    assert!(pods.contains("nvidia.com/gpu: \"2\""), "{pods}");
    let nodes = std::fs::read_to_string(out.join("nodes.yaml")).expect("nodes.yaml");
    assert!(
        nodes.contains("alibabacloud.com/gpu-count: \"4\"") && nodes.contains("pods: \"1001\"")
    );
    let scenario = out.join("scenario.yaml").display().to_string();
    let (code, _, err) = kubesim(&["validate", &scenario]);
    assert_eq!(code, 0, "{err}");
    let run = run_with(Path::new(&scenario), &[], None);
    // All three fit: 2 GPUs + 1 of 6 as nvidia.com/gpu, CPU and memory ample.
    assert_eq!(event_times(&run, "Scheduled", "Pod/openb/", "").len(), 3);
}

fn bench_json(args: &[&str]) -> Value {
    let dir = scratch(&format!(
        "gpu-bench-{}",
        args.join("-").replace(['/', '.'], "_")
    ));
    let (n, p) = inputs(&dir);
    let mut all = vec![
        "bench", "fgd", "--nodes", &n, "--pods", &p, "--output", "json",
    ];
    all.extend_from_slice(args);
    let (code, out, err) = kubesim(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

// Everything fits, in any order: 2.5 of 6 GPUs arrive and are allocated, 41.67 % (the last
// samples' arrived share rounds to 42 %).
#[test]
fn bench_fgd_reports_allocation_at_the_arrival_points() {
    let v = bench_json(&[
        "--policy", "all", "--seeds", "1..3", "--tune", "0", "--at", "42",
    ]);
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 18);
    for r in runs {
        assert_eq!(r["failed"], 0, "{r}");
        assert_eq!(r["alloc"][0][1].as_f64(), Some(41.67), "{r}");
    }
    assert_eq!(v["means"].as_array().map(Vec::len), Some(6));
}

// Tuned to 130 % of the 6 GPUs, copies of the pods are appended.
#[test]
fn bench_fgd_tunes_the_workload_up() {
    let v = bench_json(&["--policy", "FGD", "--seeds", "42", "--tune", "1.3"]);
    let r = &v["runs"][0];
    assert!(r["pods"].as_u64() > Some(3), "{r}");
}

#[test]
fn bench_fgd_takes_the_artifacts_scheduler_configuration() {
    let dir = scratch("gpu-schedconfig");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cfg = dir.join("sched.yaml");
    let text = r#"apiVersion: kubescheduler.config.k8s.io/v1beta1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 100
profiles:
- schedulerName: simon-scheduler
  plugins:
    filter:
      enabled:
      - name: Open-Gpu-Share
    score:
      enabled:
      - name: GpuPackingScore
        weight: 1000
  pluginConfig:
  - name: Open-Gpu-Share
    args:
      gpuSelMethod: worst
"#;
    std::fs::write(&cfg, text).expect("write");
    let v = bench_json(&[
        "--scheduler-config",
        &cfg.display().to_string(),
        "--seeds",
        "1",
        "--tune",
        "0",
    ]);
    assert_eq!(v["runs"][0]["policy"], "GpuPacking");
    std::fs::write(&cfg, "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    score:\n      enabled:\n      - name: FGDScore\n").expect("write");
    let (n, p) = inputs(&dir);
    let (code, _, err) = kubesim(&[
        "bench",
        "fgd",
        "--nodes",
        &n,
        "--pods",
        &p,
        "--scheduler-config",
        &cfg.display().to_string(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("Open-Gpu-Share") && err.contains("must be enabled"),
        "{err}"
    );
}

#[test]
fn bad_csv_names_the_file_line_and_column() {
    let dir = scratch("gpu-bad-csv");
    let (n, _) = inputs(&dir);
    let p = dir.join("bad.csv");
    std::fs::write(
        &p,
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli\nx,4000,1,1,500\ny,lots,1,0,0\n",
    )
    .expect("write");
    let (code, _, err) = kubesim(&[
        "bench",
        "fgd",
        "--nodes",
        &n,
        "--pods",
        &p.display().to_string(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.csv:3") && err.contains("cpu_milli") && err.contains("lots"),
        "{err}"
    );
    std::fs::write(&p, "name,cpu_milli,memory_mib,num_gpu\nx,1,1,1\n").expect("write");
    let (code, _, err) = kubesim(&[
        "import",
        "alibaba-openb",
        &n,
        &p.display().to_string(),
        "--out",
        &dir.join("o").display().to_string(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("missing column `gpu_milli`"), "{err}");
    let (code, _, err) = kubesim(&[
        "bench", "fgd", "--nodes", &n, "--pods", &n, "--seeds", "9..1",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn replayed_openb_pods_arrive_at_their_creation_times_and_run_until_deletion() {
    let dir = scratch("gpu-replay");
    let (n, p) = inputs(&dir);
    let out = dir.join("out");
    let (code, _, err) = kubesim(&[
        "import",
        "alibaba-openb",
        &n,
        &p,
        "--out",
        &out.display().to_string(),
        "--replay-times",
    ]);
    assert_eq!(code, 0, "{err}");
    let scenario = out.join("scenario.yaml");
    let (code, _, err) = kubesim(&["validate", &scenario.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    let s = load(&scenario, &[]);
    let c = kubesim::run::state_at(&s, kubesim::sim::SimTime::from_secs(150));
    // creation_time 0, 10, 20 s; deletion_time 100, 200, 300 s: runs of 100, 190, 280 s.
    let pod = |i: usize| &c.api.pods()[&format!("openb/openb-{i}")];
    for (i, t) in [0u64, 10, 20].iter().enumerate() {
        assert_eq!(
            pod(i).meta.creation_timestamp,
            kubesim::sim::SimTime::from_secs(*t)
        );
    }
    assert_eq!(pod(0).status.phase, kubesim::model::PodPhase::Succeeded);
    assert_eq!(pod(1).status.phase, kubesim::model::PodPhase::Running);
    assert_eq!(pod(2).status.phase, kubesim::model::PodPhase::Running);
}

// A contended little cluster for the run-vs-bench comparison: 4.75 of 6 GPUs asked for, in
// shares that make the policies differ (names sort in file order).
const SHARE_PODS_CSV: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n\
share-00,4000,9216,1,500\n\
share-01,8000,17408,0,0\n\
share-02,12000,18432,2,1000\n\
share-03,2000,4096,1,300\n\
share-04,6000,8192,1,700\n\
share-05,1000,2048,1,250\n\
share-06,4000,4096,1,600\n\
share-07,2000,4096,1,400\n";

/// (pod, node, gpu-index) of every `Scheduled` record, in order.
fn run_placements(out: &kubesim::run::RunOutput) -> Vec<(String, String, String)> {
    out.records
        .iter()
        .filter(|r| r.reason == "Scheduled" && r.object.starts_with("Pod/openb/"))
        .map(|r| {
            let field = |k: &str| {
                r.fields
                    .iter()
                    .find(|(f, _)| *f == k)
                    .map_or(String::new(), |(_, v)| v.clone())
            };
            let pod = r.object.trim_start_matches("Pod/openb/").to_string();
            (pod, field("node"), field("gpu-index"))
        })
        .collect()
}

// `kubesim run` of an imported scenario places the sharing pods on devices through the GPU
// plugins its scheduler configuration enables: with the run's scheduling order (creation order,
// here name order) equal to the bench's unshuffled, untuned order, and upstream's uniform
// selectHost tie-break drawn from the same seeded stream, every pod lands on the same node and
// devices as `kubesim bench fgd` puts it — and no device is ever given more than 1000 milli-GPU.
#[test]
fn imported_scenario_runs_the_gpu_plugins_as_the_bench_does() {
    use kubesim::scenario::openb;
    use kubesim::scheduler::fgd;
    use kubesim::scheduler::plugins::outoftree::score::Policy;

    let nodes = openb::parse_nodes(NODES_CSV, "nodes.csv").expect("nodes");
    let pods = openb::parse_pods(SHARE_PODS_CSV, "pods.csv").expect("pods");
    let node_objs: Vec<_> = nodes.iter().map(openb::node_object).collect();
    let pod_objs: Vec<_> = pods.iter().map(openb::pod_object).collect();
    for policy in [
        Policy::Fgd,
        Policy::BestFit,
        Policy::GpuPacking,
        Policy::GpuClustering,
        Policy::DotProduct,
    ] {
        let dir = scratch(&format!("gpu-run-{}", policy.short_name()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let (n, p) = (dir.join("nodes.csv"), dir.join("pods.csv"));
        std::fs::write(&n, NODES_CSV).expect("write");
        std::fs::write(&p, SHARE_PODS_CSV).expect("write");
        let out = dir.join("out");
        let (code, _, err) = kubesim(&[
            "import",
            "alibaba-openb",
            &n.display().to_string(),
            &p.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--duration",
            "2m",
            "--policy",
            policy.short_name(),
        ]);
        assert_eq!(code, 0, "{err}");
        let run = run_with(&out.join("scenario.yaml"), &[], Some(42));
        let got = run_placements(&run);
        let bench = fgd::run(
            &node_objs,
            &pod_objs,
            fgd::Options {
                tune: 0.0,
                shuffle: false,
                ties: fgd::Ties::Uniform,
                ..fgd::Options::paper(policy, 42)
            },
        );
        assert_eq!(bench.failed, 0, "{policy:?}");
        let want: Vec<(String, String, String)> = bench
            .placements
            .iter()
            .map(|(pod, node, d)| {
                let d: Vec<String> = d.iter().map(|x| x.to_string()).collect();
                (pod.clone(), node.clone(), d.join("-"))
            })
            .collect();
        assert_eq!(got, want, "{policy:?}");
        // Per (node, device), the milli-GPU handed out never exceeds one device.
        let mut used: std::collections::BTreeMap<(String, String), i64> = Default::default();
        for (pod, node, devices) in &got {
            let row = pods.iter().find(|p| p.name == *pod).expect("pod");
            for d in devices.split('-').filter(|d| !d.is_empty()) {
                *used.entry((node.clone(), d.to_string())).or_insert(0) += row.gpu_milli;
            }
        }
        assert!(used.values().all(|&m| m <= 1000), "{policy:?} {used:?}");
        assert!(
            got.iter().filter(|g| !g.2.is_empty()).count() == 7,
            "{got:?}"
        );
    }
}

// The GPU plugins are names a scenario's configuration may use; a bad `gpuSelMethod` is an
// input error at its field, and `--policy` takes only the six policies or `none`.
#[test]
fn scheduler_config_names_gpu_plugins_and_rejects_bad_args() {
    let dir = scratch("gpu-config-args");
    let (n, p) = inputs(&dir);
    let out = dir.join("out");
    let import = |policy: &str| {
        kubesim(&[
            "import",
            "alibaba-openb",
            &n,
            &p,
            "--out",
            &out.display().to_string(),
            "--policy",
            policy,
        ])
    };
    let (code, _, err) = import("GpuPacking");
    assert_eq!(code, 0, "{err}");
    let cfg = std::fs::read_to_string(out.join("scheduler-config.yaml")).expect("config");
    assert!(
        cfg.contains("- name: GpuPackingScore") && cfg.contains("gpuSelMethod: best"),
        "{cfg}"
    );
    let scenario = out.join("scenario.yaml").display().to_string();
    let (code, _, err) = kubesim(&["validate", &scenario]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        out.join("scheduler-config.yaml"),
        cfg.replace("gpuSelMethod: best", "gpuSelMethod: tightest"),
    )
    .expect("write");
    let (code, _, err) = kubesim(&["validate", &scenario]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("gpuSelMethod") && err.contains("tightest"),
        "{err}"
    );
    let (code, _, err) = import("Tetris");
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = import("none");
    assert_eq!(code, 0, "{err}");
    assert!(!std::fs::read_to_string(out.join("scenario.yaml"))
        .expect("scenario")
        .contains("kube-scheduler"));
}
