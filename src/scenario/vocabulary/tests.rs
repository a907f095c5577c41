use super::*;
use crate::scenario::load_str;
use std::collections::BTreeSet;
use std::path::Path;

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn src_files() -> Vec<(String, Vec<scan::Tok>)> {
    scan::sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn lists_are_unique() {
    for list in [
        MANIFEST_KINDS,
        FAULTS,
        ACTIONS,
        EXPECTATIONS,
        EVENT_REASONS,
        ADMISSION_REASONS,
    ] {
        assert_eq!(set(list).len(), list.len(), "duplicate in {list:?}");
    }
    let mut sorted = EVENT_REASONS.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, EVENT_REASONS, "EVENT_REASONS is kept sorted");
}

/// The reasons found where `src/**/*.rs` builds trace records are exactly `EVENT_REASONS`.
#[test]
fn event_reasons_match_the_source() {
    let found = scan::scan(&src_files());
    let listed = set(EVENT_REASONS);
    let missing: Vec<_> = found.reasons.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&found.reasons).collect();
    assert!(
        missing.is_empty(),
        "reasons the code logs but EVENT_REASONS lacks: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "EVENT_REASONS entries the code never logs: {stale:?}"
    );
    // The one run-time reason: the kubelet's admission rejection (ADMISSION_REASONS).
    assert_eq!(
        found.interned, 1,
        "a new run-time (interned) reason: list it in vocabulary.rs"
    );
}

/// The kubelet's admission reasons: the predicate names `general_filter` can fail with, and
/// `OutOf<resource>` for every insufficient resource.
#[test]
fn admission_reasons_match_the_source() {
    let files = src_files();
    let admission: Vec<_> = files
        .into_iter()
        .filter(|(p, _)| p.ends_with("kubelet/admission.rs"))
        .collect();
    let names = scan::first_args(&src_files(), &admission, "predicate");
    let mut want = set(ADMISSION_REASONS);
    assert!(want.remove("OutOf<resource>"));
    assert_eq!(names, want);
    use crate::kubelet::admission::*;
    assert_eq!(INSUFFICIENT_RESOURCE_PREFIX, "OutOf");
    for r in [
        OUT_OF_CPU,
        OUT_OF_MEMORY,
        OUT_OF_EPHEMERAL_STORAGE,
        OUT_OF_PODS,
    ] {
        assert!(r.starts_with(INSUFFICIENT_RESOURCE_PREFIX), "{r}");
    }
}

/// The scan reads code: literals in comments, prose strings and match patterns are not reasons.
#[test]
fn scan_reads_record_positions_only() {
    let src = r#"
        // reason: "Commented",
        fn log(ctx: &mut E, reason: &'static str, m: String) {}
        fn f(ctx: &mut E) {
            log(ctx, "ViaHelper", "NotAReason".into());
            let (reason, message) = match x { "Pattern" => ("ViaLet", m), _ => ("Other", m) };
            ctx.record(Record { t, reason, message, object: "Pod/x".into() });
            ctx.record(Record { reason: CONSTANT, message: "Prose here".into() });
            let status = "Unrelated";
        }
        const CONSTANT: &str = "ViaConst";
        #[cfg(test)]
        mod tests { fn g() { log(ctx, "InTests", m); } }
    "#;
    let files = vec![("x.rs".to_string(), scan::strip_tests(scan::lex(src)))];
    let got = scan::scan(&files).reasons;
    assert_eq!(got, set(&["Other", "ViaConst", "ViaHelper", "ViaLet"]));
}

/// A scenario with one node `n-0` and one object of every kind an expectation or action names.
const BASE: &str = r#"
duration: 60s
cluster:
  nodePools: [{name: n, count: 1, zones: [z], capacity: {cpu: "4", memory: 8Gi}}]
workloads:
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web},
   spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}},
          spec: {containers: [{name: c, image: nginx}]}}}}
- {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db},
   spec: {selector: {matchLabels: {app: db}}, serviceName: db,
          template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c, image: nginx}]}}}}
- {apiVersion: apps/v1, kind: DaemonSet, metadata: {name: ds},
   spec: {selector: {matchLabels: {app: ds}}, template: {metadata: {labels: {app: ds}},
          spec: {containers: [{name: c, image: nginx}]}}}}
- {apiVersion: v1, kind: Service, metadata: {name: svc}, spec: {selector: {app: web}}}
- {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: pdb},
   spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}}
- {apiVersion: batch/v1, kind: CronJob, metadata: {name: cj}, spec: {schedule: "*/5 * * * *",
   jobTemplate: {spec: {template: {spec: {restartPolicy: Never,
                                          containers: [{name: c, image: busybox}]}}}}}}
"#;

/// A valid body for each fault, action and expectation kind.
fn example(name: &str) -> &'static str {
    match name {
        "nodeCrash" | "kubeletStop" | "vmDeleted" | "networkPartition" | "runtimeHang" => {
            "{nodes: [n-z-0]}"
        }
        "slowLeaseRenewals" => "{nodes: [n-z-0], latency: 5s}",
        "taintNodes" => "{nodes: [n-z-0], taint: \"k:NoSchedule\"}",
        "apiServerUnavailable" | "controllerManagerRestart" => "{}",
        "registryOutage" => "{registry: \"*\"}",
        "registrySlow" => "{registry: \"*\", factor: 2}",
        "crashLoop" => "{labels: {app: web}}",
        "memoryLeak" => "{labels: {app: web}, rate: 1Mi}",
        "scaleDeployment" => "{name: web, replicas: 2}",
        "setImage" => "{name: web, container: c, image: nginx:2}",
        "deleteObject" => "{kind: Deployment, name: web}",
        "rollbackDeployment" => "{name: web}",
        "cordon" | "uncordon" | "drain" => "{node: n-z-0}",
        "evictPod" => "{name: web-x}",
        "apply" => "{apiVersion: v1, kind: Pod, metadata: {name: late}, spec: {containers: [{name: c, image: nginx}]}}",
        "addNodes" => "{pool: n, count: 2}",
        "deleteNodes" => "{names: [n-z-0]}",
        "nodeCondition" => "{node: n-z-0, status: \"True\"}",
        "nodeTaint" => "{node: n-z-0, taint: \"k:NoSchedule\", present: false}",
        "podCount" => "{count: 0}",
        "eventCount" => "{count: 0, reason: X}",
        "eventTime" => "{reason: X, at: 1s}",
        "zoneState" => "{zone: z, state: Normal}",
        "deployment" => "{name: web, replicas: 1}",
        "statefulSet" => "{name: db, replicas: 1}",
        "daemonSet" => "{name: ds, numberReady: 1}",
        "endpoints" => "{service: svc, ready: 1}",
        "pdb" => "{name: pdb, disruptionsAllowed: 0}",
        "namespace" => "{name: default, phase: Active}",
        "job" => "{name: j, exists: false}",
        "container" => "{labels: {app: web}, container: c, restartCount: 0}",
        "podCondition" => "{labels: {app: web}, type: Ready, status: \"True\"}",
        "replicaSet" => "{deployment: web, revision: 1, replicas: 1}",
        "cronJob" => "{name: cj, active: 0}",
        other => panic!("no example for `{other}`: add one here"),
    }
}

fn load(extra: &str) -> Result<crate::scenario::Scenario, String> {
    load_str(&format!("{BASE}{extra}"), Path::new("v.yaml"), &[]).map_err(|e| e.to_string())
}

/// The names serde's unknown-field error lists for `section` (`timeline` or `expect`).
fn accepted_keys(section: &str) -> Vec<String> {
    let err = load(&format!("{section}:\n- {{bogusName: {{}}}}\n")).expect_err("bogus key");
    let list = err
        .split("expected one of")
        .nth(1)
        .unwrap_or_else(|| panic!("{err}"));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn timeline_kinds_match_the_parser() {
    let mut want = vec!["at".to_string(), "duration".to_string()];
    want.extend(FAULTS.iter().chain(ACTIONS).map(|s| s.to_string()));
    assert_eq!(accepted_keys("timeline"), want);
    for name in FAULTS.iter().chain(ACTIONS) {
        let s = load(&format!(
            "timeline:\n- {{at: 10s, {name}: {}}}\n",
            example(name)
        ))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let kind = &s.timeline[0].kind;
        assert_eq!(kind.name(), *name);
        assert_eq!(kind.is_action(), ACTIONS.contains(name), "{name}");
    }
}

#[test]
fn expectation_kinds_match_the_parser() {
    let keys = accepted_keys("expect");
    assert_eq!(keys, EXPECTATIONS);
    for name in EXPECTATIONS {
        let text = example(name);
        load(&format!("expect:\n- {{{name}: {text}}}\n")).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn manifest_kinds_match_the_converter() {
    let text = BASE.replace("workloads:", "workloads:\n- {apiVersion: v1, kind: Bogus}");
    let err = load_str(&text, Path::new("v.yaml"), &[])
        .expect_err("bogus kind")
        .to_string();
    for kind in MANIFEST_KINDS {
        assert!(err.contains(kind), "`{kind}` missing from: {err}");
    }
}
