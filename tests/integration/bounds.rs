//! Input bounds (issue 13, classes 2–6): every value that would panic, hang or exhaust memory in
//! a run is rejected by `validate` with exit 2, the file, the field path (or line:col) and the
//! allowed range, in well under a second.

use std::path::{Path, PathBuf};
use std::process::Command;

use kubesim::scenario;

use crate::support::*;

const BASE: &str = "name: t
duration: 10m
cluster:
  nodePools:
  - name: w
    count: 1
    zones: [a]
    capacity: {cpu: \"4\", memory: 16Gi}
";

/// A Pod workload with `spec` lines (4 spaces deep) and `container` lines (6 spaces deep).
fn with_pod(spec: &str, container: &str) -> String {
    format!(
        "{BASE}workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p}}
  spec:
{spec}
    containers:
    - name: c
      image: nginx
{container}
"
    )
}

fn deployment(replicas: &str) -> String {
    format!(
        "{BASE}workloads:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: d}}
  spec:
    replicas: {replicas}
    selector: {{matchLabels: {{a: b}}}}
    template:
      metadata: {{labels: {{a: b}}}}
      spec:
        containers: [{{name: c, image: x}}]
"
    )
}

fn write(name: &str, text: &[u8]) -> PathBuf {
    let p = scratch("bounds").join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The error of loading `text`, with `set` overrides.
fn error_set(name: &str, text: &str, set: &[&str]) -> String {
    let p = write(name, text.as_bytes());
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    match scenario::load(&p, &set) {
        Ok(_) => panic!("{name}: must be rejected"),
        Err(e) => e.to_string(),
    }
}

fn error_of(name: &str, text: &str) -> String {
    error_set(name, text, &[])
}

fn assert_has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "expected {p:?} in: {msg}");
    }
}

/// `kubesim validate` exits 2 (it returns: no hang), without a panic, naming the file.
fn validate_exits_2(p: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("validate")
        .arg(p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(&p.display().to_string()), "{stderr}");
    stderr
}

const SECONDS_RANGE: &str = "must be between 0 and 9223372036";

#[test]
fn values_that_would_overflow_the_clock_or_int32_are_rejected() {
    let big = "9223372036854775807";
    let m = error_of(
        "lease.yaml",
        &format!("{BASE}components:\n  kubelet:\n    nodeLeaseDurationSeconds: {big}\n"),
    );
    assert_has(
        &m,
        &[
            "components.kubelet.nodeLeaseDurationSeconds",
            "between 1 and 31536000",
        ],
    );
    let m = error_set(
        "lease-set.yaml",
        BASE,
        &["kubelet.nodeLeaseDurationSeconds=9223372036854775807"],
    );
    assert_has(&m, &["nodeLeaseDurationSeconds", "31536000"]);
    let m = error_set(
        "tol-set.yaml",
        BASE,
        &["kube-apiserver.default-unreachable-toleration-seconds=9223372036854775807"],
    );
    assert_has(
        &m,
        &["default-unreachable-toleration-seconds", SECONDS_RANGE],
    );
    let tol = format!(
        "    tolerations: [{{key: k, operator: Exists, effect: NoExecute, tolerationSeconds: {big}}}]"
    );
    let m = error_of("tol.yaml", &with_pod(&tol, ""));
    assert_has(
        &m,
        &["spec.tolerations[0].tolerationSeconds", SECONDS_RANGE],
    );
    let grace = format!("    terminationGracePeriodSeconds: {big}");
    let m = error_of("grace.yaml", &with_pod(&grace, ""));
    assert_has(&m, &["spec.terminationGracePeriodSeconds", SECONDS_RANGE]);
    let probe = format!("      livenessProbe: {{exec: {{command: [x]}}, periodSeconds: {big}}}");
    let m = error_of("probe.yaml", &with_pod("", &probe));
    assert_has(
        &m,
        &["livenessProbe.periodSeconds", "between 1 and 2147483647"],
    );
    let cron = format!(
        "{BASE}workloads:
- apiVersion: batch/v1
  kind: CronJob
  metadata: {{name: c}}
  spec:
    schedule: \"* * * * *\"
    startingDeadlineSeconds: {big}
    jobTemplate:
      spec:
        template:
          spec:
            restartPolicy: OnFailure
            containers: [{{name: c, image: x}}]
"
    );
    let m = error_of("cron.yaml", &cron);
    assert_has(&m, &["spec.startingDeadlineSeconds", SECONDS_RANGE]);
    // Durations stop at Go's maximum time.Duration, so `at + duration` always fits the clock.
    let fault = format!(
        "{BASE}timeline:\n- at: 1m\n  duration: 2562048h\n  nodeCrash: {{nodes: [w-a-0]}}\n"
    );
    let m = error_of("fault.yaml", &fault);
    assert_has(&m, &[":11:", "too large", "2562047h47m16.854775807s"]);
    let m = error_of("deploy.yaml", &deployment("2147483647"));
    assert_has(&m, &["spec.replicas", "between 0 and 150000"]);
    let scale = format!(
        "{}timeline:\n- at: 1m\n  scaleDeployment: {{name: d, replicas: 2147483647}}\n",
        deployment("1")
    );
    let m = error_of("scale.yaml", &scale);
    assert_has(
        &m,
        &[
            "timeline[0].scaleDeployment.replicas",
            "between 0 and 150000",
        ],
    );
    let surge = deployment("3").replace(
        "    selector:",
        "    strategy: {rollingUpdate: {maxSurge: 2147483647}}\n    selector:",
    );
    let m = error_of("surge.yaml", &surge);
    assert_has(
        &m,
        &[
            "spec.strategy.rollingUpdate.maxSurge",
            "between 0 and 150000",
        ],
    );
    validate_exits_2(&write(
        "deploy-cli.yaml",
        deployment("2147483647").as_bytes(),
    ));
}

#[test]
fn periods_that_would_stall_the_clock_are_rejected() {
    let kcm = |flags: &str| format!("{BASE}components:\n  kube-controller-manager:\n{flags}");
    let m = error_of("retry.yaml", &kcm("    leader-elect-retry-period: 0s\n"));
    assert_has(
        &m,
        &[
            "components.kube-controller-manager.leader-elect-retry-period",
            "greater than 0",
        ],
    );
    let m = error_of("nmp.yaml", &kcm("    node-monitor-period: 1ns\n"));
    assert_has(
        &m,
        &["node-monitor-period", "must be at least 1ms", "got 1ns"],
    );
    let m = error_of(
        "nsuf.yaml",
        &format!("{BASE}components:\n  kubelet:\n    nodeStatusUpdateFrequency: 1ns\n"),
    );
    assert_has(
        &m,
        &[
            "components.kubelet.nodeStatusUpdateFrequency",
            "at least 1ms",
        ],
    );
    let m = error_of(
        "sample.yaml",
        &format!("{BASE}output:\n  sampleInterval: 1ns\n"),
    );
    assert_has(&m, &["output.sampleInterval", "at least 1ms"]);
    let m = error_of(
        "samples.yaml",
        &format!("{BASE}output:\n  sampleInterval: 1ms\n").replace("10m", "24h"),
    );
    assert_has(&m, &["output.sampleInterval", "at most 1000000"]);
    // client-go: lease duration > renew deadline > retry period × 1.2.
    let m = error_of(
        "renew.yaml",
        &kcm("    leader-elect-renew-deadline: 2s\n    leader-elect-retry-period: 2s\n"),
    );
    assert_has(
        &m,
        &["leader-elect-renew-deadline", "× 1.2", "more than 2.4s"],
    );
    let m = error_of(
        "lease.yaml",
        &format!("{BASE}components:\n  kube-scheduler:\n    leader-elect-lease-duration: 10s\n"),
    );
    assert_has(
        &m,
        &[
            "components.kube-scheduler.leader-elect-lease-duration",
            "greater than",
        ],
    );
    validate_exits_2(&write(
        "retry-cli.yaml",
        kcm("    leader-elect-retry-period: 0s\n").as_bytes(),
    ));
}

#[test]
fn unbounded_inputs_are_rejected_before_anything_large_is_allocated() {
    let m = error_of("count.yaml", &BASE.replace("count: 1", "count: 1000000000"));
    assert_has(&m, &["cluster.nodePools[0].count", "at most 200000"]);
    let big = format!("{BASE}description: \"{}\"\n", "x".repeat(17 << 20));
    let p = write("big.yaml", big.as_bytes());
    assert_has(&validate_exits_2(&p), &["file too large", "16777216"]);
    let deep = format!(
        "{BASE}description: {}{}\n",
        "[".repeat(40_000),
        "]".repeat(40_000)
    );
    let p = write("deep.yaml", deep.as_bytes());
    assert_has(&validate_exits_2(&p), &[":9:", "nesting too deep", "64"]);
    for dev in ["/dev/zero", "/dev/urandom"] {
        let text = format!("{BASE}workloads:\n- file: {dev}\n");
        let m = error_of("dev.yaml", &text);
        assert_has(&m, &["workloads[0].file", dev, "not a regular file"]);
    }
    let mut aliases = format!("{BASE}x: &a 1\ny: [");
    aliases.push_str(&"*a, ".repeat(300));
    aliases.push_str("]\n");
    let m = error_of("aliases.yaml", &aliases);
    assert_has(&m, &[":10:", "too many YAML aliases", "256"]);
}

#[test]
fn errors_found_before_parsing_have_a_position() {
    // A UTF-8 byte-order mark is accepted.
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend_from_slice(BASE.as_bytes());
    scenario::load(&write("bom.yaml", &bom), &[]).unwrap();
    let mut bad = BASE.as_bytes().to_vec();
    bad.extend_from_slice(b"description: \"caf\xe9\"\n");
    let p = write("utf8.yaml", &bad);
    let m = scenario::load(&p, &[]).unwrap_err().to_string();
    assert!(m.starts_with(&format!("{}:9:18:", p.display())), "{m}");
    assert_has(&m, &["invalid UTF-8"]);
    let p = write("two.yaml", format!("{BASE}---\nname: u\n").as_bytes());
    let m = scenario::load(&p, &[]).unwrap_err().to_string();
    assert!(m.starts_with(&format!("{}:9:1:", p.display())), "{m}");
    assert_has(&m, &["second YAML document"]);
    let p = write(
        "self.yaml",
        format!("{BASE}workloads:\n- file: self.yaml\n").as_bytes(),
    );
    let m = scenario::load(&p, &[]).unwrap_err().to_string();
    assert_has(&m, &["workloads[0].file", "the scenario file itself"]);
}

#[test]
fn nonsense_values_are_rejected_with_their_field_and_syntax() {
    let m = error_of("null.yaml", &BASE.replace("zones: [a]", "zones: [null]"));
    assert_has(
        &m,
        &[":7:", "cluster.nodePools[0].zones[0]", "found YAML null"],
    );
    let m = error_of(
        "nulllabel.yaml",
        &BASE.replace("zones: [a]", "zones: [a]\n    labels: {disk: null}"),
    );
    assert_has(
        &m,
        &[":8:", "cluster.nodePools[0].labels.disk", "found YAML null"],
    );
    // A quoted "null" is text.
    let p = write(
        "qnull.yaml",
        BASE.replace("zones: [a]", "zones: [\"null\"]").as_bytes(),
    );
    scenario::load(&p, &[]).unwrap();
    let kubelet = |s: &str| format!("{BASE}components:\n  kubelet:\n{s}");
    let m = error_of(
        "pulls.yaml",
        &kubelet("    serializeImagePulls: false\n    maxParallelImagePulls: 0\n"),
    );
    assert_has(
        &m,
        &["components.kubelet.maxParallelImagePulls", "greater than 0"],
    );
    let m = error_of(
        "evict.yaml",
        &kubelet("    evictionHard: \"memory.available<-100Mi\"\n"),
    );
    assert_has(
        &m,
        &["components.kubelet.evictionHard", "must not be negative"],
    );
    let m = error_of("nodelabels.yaml", &kubelet("    node-labels: \"=,=,=\"\n"));
    assert_has(
        &m,
        &["components.kubelet.node-labels", "invalid label key \"\""],
    );
    let behaviour = |code: &str| {
        format!("{BASE}runtime:\n  behaviors:\n  - name: b\n    image: x\n    run: 10s\n    exitCode: {code}\n")
    };
    for code in ["-1", "256"] {
        let m = error_of("exit.yaml", &behaviour(code));
        assert_has(&m, &["runtime.behaviors[0].exitCode", "between 0 and 255"]);
    }
    let m = error_of(
        "pods.yaml",
        &BASE.replace("memory: 16Gi}", "memory: 16Gi, pods: \"1.5\"}"),
    );
    assert_has(&m, &["cluster.nodePools[0].capacity.pods", "whole number"]);
    let m = error_of(
        "dist.yaml",
        &format!("{BASE}runtime:\n  behaviors:\n  - name: b\n    image: x\n    run: {{uniform: [20s, 10s]}}\n"),
    );
    assert_has(&m, &["runtime.behaviors[0].run", "min must not exceed max"]);
    let m = error_of("ver.yaml", &format!("{BASE}kubernetesVersion: \"1.034\"\n"));
    assert_has(
        &m,
        &[
            "kubernetesVersion",
            "unsupported Kubernetes version \"1.034\"",
        ],
    );
    let m = error_of(
        "list.yaml",
        &format!("{BASE}workloads:\n- apiVersion: v1\n  kind: List\n"),
    );
    assert_has(&m, &["workloads[0].items", "a List needs `items`"]);
    let ns = format!(
        "{BASE}workloads:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {{name: a.b}}\n"
    );
    assert_has(
        &error_of("ns.yaml", &ns),
        &["metadata.name", "RFC 1123 label"],
    );
    let m = error_of(
        "cname.yaml",
        &with_pod("", "").replace("name: c\n", "name: Bad_C\n"),
    );
    assert_has(&m, &["spec.containers[0].name", "RFC 1123 label"]);
    let m = error_of(
        "lkey.yaml",
        &with_pod("", "").replace("{name: p}", "{name: p, labels: {\"bad key!\": v}}"),
    );
    assert_has(&m, &["metadata.labels.bad key!", "invalid label key"]);
    let m = error_of(
        "lval.yaml",
        &with_pod("", "").replace("{name: p}", "{name: p, labels: {a: \"bad value!\"}}"),
    );
    assert_has(&m, &["metadata.labels.a", "invalid label value"]);
    validate_exits_2(&write("exit-cli.yaml", behaviour("256").as_bytes()));
}

#[test]
fn simkube_traces_with_out_of_range_replicas_or_time_are_rejected() {
    let trace = |ts1: i64, replicas: &str| {
        format!(
            "version: 2
events:
- ts: 1000
  applied_objs:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: d, namespace: default}}
    spec:
      replicas: 1
      template: {{spec: {{containers: [{{name: c, image: x}}]}}}}
- ts: {ts1}
  applied_objs:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: d, namespace: default}}
    spec:
      replicas: {replicas}
      template: {{spec: {{containers: [{{name: c, image: x}}]}}}}
"
        )
    };
    let import = |t: &str| scenario::simkube::import(t, "t.sktrace.yaml", "t");
    import(&trace(1060, "3")).unwrap();
    let m = import(&trace(1060, "2147483648")).unwrap_err();
    assert_has(
        &m,
        &[
            "events[1].applied_objs[0]",
            "spec.replicas",
            "between 0 and 150000",
        ],
    );
    let m = import(&trace(900, "3")).unwrap_err();
    assert_has(&m, &["events[1].ts", "must not decrease"]);
    // Every import error reads like any input error: `FILE:LINE:COL: error:` for YAML syntax
    // (the unclosed flow sequence is found at the end of the input, line 3 column 1),
    // `FILE: error:` with the field path otherwise.
    assert!(m.starts_with("t.sktrace.yaml: error: events[1].ts"), "{m}");
    let m = import("version: 2\nevents: [\n").unwrap_err();
    assert!(m.starts_with("t.sktrace.yaml:3:1: error: "), "{m}");
}

#[test]
fn a_run_that_reaches_the_event_budget_says_why_and_exits_1() {
    let p = write("budget.yaml", BASE.as_bytes());
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["run", "--no-plots", "-q", "--max-events", "50", "--out"])
        .arg(scratch("bounds-budget").join("out"))
        .arg(&p)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("stopped early (stop reason: event-limit): the event limit (50)"),
        "{stdout}"
    );
}

/// Issue 13, class 6: every independent error of a file at once, each with its position,
/// sorted by position, and a count (docs/input-errors.md).
#[test]
fn every_independent_error_of_a_file_is_reported_with_its_position() {
    let text = "name: t
duration: 10m
cluster:
  nodePools:
  - name: u
    count: 1
    zones: [a]
    capacity: {cpu: \"4\", memory: 16Gi}
  - name: w
    count: 1000000000
    zones: [a]
    capacity: {cpu: \"4\", memory: 16Gi}
  - name: v
    count: 1
    zones: [null]
    capacity: {cpu: \"4\", memory: 16Gi}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers:
    - name: c
      image: nginx
      imagePullPolicyy: Always
- apiVersion: v1
  kind: Pod
  metadata: {name: q}
  spec:
    containers:
    - name: Bad_C
      image: nginx
";
    let p = write("three.yaml", text.as_bytes());
    let m = validate_exits_2(&p);
    let f = p.display().to_string();
    let lines: Vec<&str> = m.lines().filter(|l| l.starts_with(&f)).collect();
    assert_eq!(lines.len(), 4, "{m}");
    // Kubernetes' limits and schema, one per item, in file order.
    assert!(lines[0].starts_with(&format!("{f}:10:")), "{m}");
    assert_has(lines[0], &["cluster.nodePools[1].count", "at most 20000"]);
    assert!(lines[1].starts_with(&format!("{f}:15:")), "{m}");
    assert_has(
        lines[1],
        &["cluster.nodePools[2].zones[0]", "found YAML null"],
    );
    assert!(lines[2].starts_with(&format!("{f}:25:")), "{m}");
    assert_has(lines[2], &["unknown field `imagePullPolicyy`"]);
    assert!(lines[3].starts_with(&format!("{f}:31:")), "{m}");
    assert_has(
        lines[3],
        &["workloads[1].spec.containers[0].name", "RFC 1123 label"],
    );
    assert_has(&m, &["did you mean `imagePullPolicy`?", "\n4 errors"]);
    // One error: as before, no count.
    let one = BASE.replace("count: 1", "count: 1000000000");
    let m = error_of("one.yaml", &one);
    assert!(!m.contains("errors"), "{m}");
}

/// Issue 13, class 5: YAML null is never text, in a scenario's sections and in the manifests
/// `kubesim explain` reads; null for an optional field is as if it were left out (as in
/// Kubernetes' API).
#[test]
fn yaml_null_is_an_error_where_a_value_is_required() {
    let cases = [
        (
            "timeline",
            format!("{BASE}timeline:\n- at: 1m\n  nodeCrash: {{nodes: [~]}}\n  duration: 1m\n"),
            ":11:",
            "timeline[0]",
        ),
        (
            "label",
            with_pod("", "").replace("{name: p}", "{name: p, labels: {app: ~}}"),
            ":12:",
            "workloads[0].metadata.labels.app",
        ),
        (
            "selector",
            with_pod("    nodeSelector: {disk: }\n", ""),
            ":14:",
            "nodeSelector.disk",
        ),
        (
            "expect",
            format!(
                "{BASE}expect:\n- nodeCondition: {{node: null, type: Ready, status: \"True\"}}\n"
            ),
            ":10:",
            "expect[0]",
        ),
        (
            "runtime",
            format!("{BASE}runtime:\n  images:\n  - name: Null\n    size: 10Mi\n"),
            ":11:",
            "runtime.images[0].name",
        ),
    ];
    for (name, text, at, path) in cases {
        let m = error_of(&format!("{name}.yaml"), &text);
        assert_has(&m, &[at, path, "found YAML null"]);
    }
    // Optional fields: null is unset, and a required one then missing (Kubernetes:
    // `spec.containers[0].image: Required value`).
    let m = error_of(
        "image-null.yaml",
        &with_pod("", "").replace("image: nginx", "image: null"),
    );
    assert_has(
        &m,
        &[":17:", "containers[0].image", "a container needs an image"],
    );
    let p = write(
        "optional.yaml",
        with_pod("    priorityClassName: null\n", "      command: ~\n").as_bytes(),
    );
    scenario::load(&p, &[]).unwrap();
    // Manifests read by `kubesim explain`.
    let dir = scratch("bounds-explain");
    let nodes = dir.join("nodes.yaml");
    std::fs::write(
        &nodes,
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {zone: null}\n",
    )
    .unwrap();
    let e = scenario::load_manifest_files(std::slice::from_ref(&nodes)).unwrap_err();
    assert_has(
        &e.to_string(),
        &[":5:", "metadata.labels.zone", "found YAML null"],
    );
}

/// Issue 13, class 5: `explain` with the same cluster file twice is the API server's
/// AlreadyExists (exit 2), not every node listed twice.
#[test]
fn explain_with_an_object_twice_is_an_error() {
    let dir = scratch("bounds-twice");
    let nodes = dir.join("nodes.yaml");
    std::fs::write(
        &nodes,
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {capacity: {cpu: \"4\", memory: 8Gi, pods: \"10\"}}\n",
    )
    .unwrap();
    let pod = dir.join("pod.yaml");
    std::fs::write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("explain")
        .arg("--cluster")
        .arg(&nodes)
        .arg(&nodes)
        .arg("--pod")
        .arg(&pod)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_has(&stderr, &["Node \"n1\" already exists"]);
}
