//! Jobs and CronJobs from real manifests, the SimKube trace importer, and the
//! open-simulator example manifests loading unchanged.

use std::path::PathBuf;

use kubesim::scenario;

use crate::support::*;

/// Public data the tests replay, vendored from the project's shared data (tests/data/README.md
/// says where each set comes from), so a clean clone runs them anywhere.
fn shared(rel: &str) -> PathBuf {
    root().join("tests/data").join(rel)
}

/// The bundled replay is exactly what the importer makes of the trace (regenerate it with
/// `kubesim import simkube …/dsb-scaling.sktrace.yaml -o scenarios/simkube-dsb-scaling.yaml`).
#[test]
fn simkube_dsb_trace_imports_to_the_bundled_scenario() {
    let trace = shared("simkube-examples/dsb-scaling.sktrace.yaml");
    let text = std::fs::read_to_string(&trace).expect("trace");
    let out = scenario::simkube::import(&text, "dsb-scaling.sktrace.yaml", "simkube-dsb-scaling")
        .expect("import");
    let bundled =
        std::fs::read_to_string(root().join("scenarios/simkube-dsb-scaling.yaml")).unwrap();
    assert_eq!(out, bundled);
    // 27 Deployments, 19 recorded re-scales, one expectation per scale and per Deployment.
    let s = load(&root().join("scenarios/simkube-dsb-scaling.yaml"), &[]);
    assert_eq!(s.workloads.len(), 27);
    assert_eq!(s.timeline.len(), 19);
    assert_eq!(s.expectations.len(), 19 + 27);
}

#[test]
fn simkube_import_names_what_it_cannot_replay() {
    // The CronJob trace ends by deleting the CronJob, which is no scenario action.
    let text = std::fs::read_to_string(shared("simkube-examples/cronjob.sktrace.yaml")).unwrap();
    let err = scenario::simkube::import(&text, "cronjob.sktrace.yaml", "x").unwrap_err();
    assert!(
        err.contains("deleting a CronJob (default/hello-simkube)"),
        "{err}"
    );
    let err = scenario::simkube::import("events: 3", "t.yaml", "x").unwrap_err();
    assert!(err.contains("no `events` list"), "{err}");
}

const OS: &str = "open-simulator-examples/example";

/// A scenario over the demo_1 nodes (or the given ones) with `files` as workloads.
fn open_simulator_scenario(name: &str, nodes: &[&str], files: &[&str]) -> PathBuf {
    let dir = scratch(name);
    let mut text = String::from("name: os\nduration: 1m\ncluster:\n  nodes:\n");
    for n in nodes {
        text.push_str(&format!(
            "  - file: {}\n",
            shared(&format!("{OS}/{n}")).display()
        ));
    }
    text.push_str("workloads:\n");
    for f in files {
        text.push_str(&format!(
            "- file: {}\n",
            shared(&format!("{OS}/{f}")).display()
        ));
    }
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

const DEMO_NODES: &[&str] = &[
    "cluster/demo_1/nodes/master-1.yaml",
    "cluster/demo_1/nodes/master-2.yaml",
    "cluster/demo_1/nodes/master-3.yaml",
    "cluster/demo_1/nodes/worker-1.yaml",
];

#[test]
fn open_simulator_manifests_load_unchanged() {
    let apps = |dir: &str, names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|n| format!("application/{dir}/{n}"))
            .collect()
    };
    let sets: Vec<(&str, Vec<&str>, Vec<String>)> = vec![
        (
            "cluster",
            DEMO_NODES.to_vec(),
            [
                "manifests/etcd.yaml",
                "manifests/kube-apiserver.yaml",
                "manifests/kube-controller-manager.yaml",
                "manifests/kube-scheduler.yaml",
                "coredns.yaml",
                "kube-proxy-master.yaml",
                "kube-proxy-worker.yaml",
                "metrics-server.yaml",
            ]
            .iter()
            .map(|f| format!("cluster/demo_1/{f}"))
            .collect(),
        ),
        (
            "simple",
            DEMO_NODES.to_vec(),
            apps(
                "simple",
                &[
                    "pod.yaml",
                    "sts-busybox.yaml",
                    "ds-busybox.yaml",
                    "deploy-busybox.yaml",
                    "job.yaml",
                ],
            ),
        ),
        (
            "complicate",
            DEMO_NODES.to_vec(),
            apps(
                "complicate",
                &[
                    "pod.yaml",
                    "sts-busybox.yaml",
                    "sts-database.yaml",
                    "sts-nginx.yaml",
                    "deploy-webapp.yaml",
                    "deploy-nginx.yaml",
                    "deploy-busybox.yaml",
                ],
            ),
        ),
        (
            "more_pods",
            DEMO_NODES.to_vec(),
            apps(
                "more_pods",
                &[
                    "sts-busybox.yaml",
                    "sts-database.yaml",
                    "sts-nginx.yaml",
                    "deploy-webapp.yaml",
                    "deploy-nginx.yaml",
                    "deploy-busybox.yaml",
                ],
            ),
        ),
        (
            "open_local",
            DEMO_NODES.to_vec(),
            apps("open_local", &["sts-nginx.yaml"]),
        ),
        (
            "gpushare",
            vec![
                "cluster/gpushare/nodes/pai-node-00.yaml",
                "cluster/gpushare/nodes/pai-node-01.yaml",
            ],
            apps(
                "gpushare",
                &[
                    "gpu-pod-00.yaml",
                    "gpu-pod-01.yaml",
                    "gpu-pod-02.yaml",
                    "gpu-rs-03.yaml",
                ],
            ),
        ),
    ];
    for (name, nodes, files) in sets {
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let p = open_simulator_scenario(&format!("os-{name}"), &nodes, &files);
        let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Every file holds at least one object (some hold several documents).
        assert!(s.workloads.len() >= files.len(), "{name}");
    }
    // The node template used to grow the cluster loads as a Node.
    let p = open_simulator_scenario("os-newnode", &["newnode/demo_1/node-1.yaml"], &[]);
    scenario::load(&p, &[]).unwrap_or_else(|e| panic!("newnode: {e}"));
}

#[test]
fn open_simulator_manifests_kubesim_cannot_take_fail_clearly() {
    let err = |files: &[&str]| {
        let p = open_simulator_scenario("os-bad", DEMO_NODES, files);
        scenario::load(&p, &[]).unwrap_err().to_string()
    };
    // An apps/v1 ReplicaSet without a selector (the API server rejects it too).
    let e = err(&["application/simple/rs-calico.yaml"]);
    assert!(
        e.contains("rs-calico.yaml") && e.contains("spec.selector"),
        "{e}"
    );
    // A StorageClass: its top-level `provisioner` is named at its line.
    let e = err(&["cluster/demo_1/sc-lvm.yaml"]);
    assert!(
        e.contains("sc-lvm.yaml:5:1") && e.contains("provisioner"),
        "{e}"
    );
    // A Node among the workloads.
    let e = err(&["application/complicate/node.yaml"]);
    assert!(e.contains("belongs under cluster.nodes"), "{e}");
}

/// A Job whose pods run 20 s completes; a crashing one is replaced after 10 s and 20 s of
/// pod failure backoff and fails at its backoffLimit (behaviour models give the run times).
#[test]
fn job_manifests_complete_and_fail_with_backoff() {
    let dir = scratch("job-e2e");
    let p = dir.join("s.yaml");
    std::fs::write(
        &p,
        r#"name: job-e2e
duration: 5m
cluster:
  nodePools:
  - {name: worker, count: 2, capacity: {cpu: "4", memory: 16Gi}}
runtime:
  behaviors:
  - {name: crash, image: "example.com/crash:1", run: 5s, exitCode: 1}
workloads:
- apiVersion: batch/v1
  kind: Job
  metadata: {name: bad}
  spec:
    backoffLimit: 2
    template:
      spec:
        restartPolicy: Never
        containers: [{name: c, image: "example.com/crash:1"}]
"#,
    )
    .unwrap();
    let out = run_with(&p, &[], None);
    let creates = event_times(&out, "SuccessfulCreate", "Job/default/bad", "");
    let failed_at = event_times(&out, "BackoffLimitExceeded", "Job/default/bad", "");
    assert_eq!(creates.len(), 3, "{creates:?}");
    assert_eq!(failed_at.len(), 1);
    // Each replacement waits for the backoff counted from the previous failure, which is at
    // least 5 s after its creation: gaps of more than 15 s and 25 s.
    assert!(creates[1] - creates[0] > 15_000_000_000, "{creates:?}");
    assert!(creates[2] - creates[1] > 25_000_000_000, "{creates:?}");
}
