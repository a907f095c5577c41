//! The expectation kinds of issue 20 end to end: `container`, `podCondition`, `replicaSet`,
//! `cronJob`, `exists`, `job` `completedIndexes`, `eventCount` `from`/`to`, `eventTime`
//! `within`. Each right value passes and the same value one unit off fails.
//!
//! Expected values follow from the scenario's own arithmetic and upstream rules (cited per
//! test); the only value read back from a run is when the kubelet admitted a pod (its
//! `Scheduled` record), from which the times of a second, identical run follow.

use kubesim::run::RunOutput;

use crate::support::*;

/// One node; pod sandboxes take exactly 2 s.
const CLUSTER: &str = "name: e
seed: 3
duration: 5m
cluster:
  nodePools:
  - name: w
    count: 1
    zones: [z]
    capacity: {cpu: \"8\", memory: 16Gi, pods: \"110\"}
simulation:
  containerStartDelay: {min: 2s, max: 2s}
";

/// Each expectation's (origin, passed).
fn verdicts(out: &RunOutput) -> Vec<bool> {
    out.expectations.iter().map(|e| e.passed).collect()
}

/// Runs `text` + `expect:` + each (line, should pass) and checks every verdict.
fn check(name: &str, text: &str, cases: &[(String, bool)]) {
    let mut t = format!("{text}expect:\n");
    for (line, _) in cases {
        t.push_str(&format!("- {line}\n"));
    }
    let out = run_text(name, &t);
    let want: Vec<bool> = cases.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        verdicts(&out),
        want,
        "{:#?}",
        out.expectations
            .iter()
            .map(|e| format!(
                "{} {}: {} / {}",
                e.origin, e.description, e.expected, e.observed
            ))
            .collect::<Vec<_>>()
    );
}

fn case(line: &str, pass: bool) -> (String, bool) {
    (line.to_string(), pass)
}

/// `ns` as an `at` value with nanosecond precision.
fn at(ns: u64) -> String {
    format!("{}.{:09}s", ns / S, ns % S)
}

fn admitted(out: &RunOutput) -> u64 {
    event_times(out, "Scheduled", "Pod/", "")[0]
}

/// A pod whose container runs 2 s and exits 1, 1, then 0 under `restartPolicy: OnFailure`.
fn flaky() -> String {
    format!(
        "{CLUSTER}runtime:
  behaviors:
  - {{name: flaky, image: \"app:flaky\", run: 2s, exitCodes: [1, 1, 0]}}
workloads:
- apiVersion: v1
  kind: Pod
  metadata: {{name: p, labels: {{app: flaky}}}}
  spec:
    restartPolicy: OnFailure
    containers:
    - {{name: c, image: \"app:flaky\"}}
"
    )
}

// kuberuntime_manager.go `doBackOff` with flowcontrol.Backoff(10 s, 300 s): the container
// starts at t0 = admission + 2 s, exits 1 at t0 + 2 and restarts at once (no backoff entry
// yet), exits 1 at t0 + 4 and waits 10 s in CrashLoopBackOff, then runs to exit 0 at t0 + 16.
// `restartCount` is the attempt number of the newest instance (0, 1, 2); `lastState` holds
// the previous instance's termination (exit 1).
#[test]
fn container_status_through_two_failures_under_on_failure() {
    let text = flaky();
    let t0 = admitted(&run_text("flaky0", &text)) + 2 * S;
    let sel = "pod: p, container: c";
    let first = at(t0 + S);
    let backoff = at(t0 + 9 * S);
    let cases = [
        case(&format!("container: {{at: {first}, {sel}, state: running, restartCount: 0, started: true, ready: true}}"), true),
        case(&format!("container: {{at: {first}, {sel}, restartCount: 1}}"), false),
        case(&format!("container: {{at: {first}, {sel}, ready: false}}"), false),
        case(&format!("container: {{at: {first}, {sel}, started: false}}"), false),
        case(&format!("container: {{at: {backoff}, labels: {{app: flaky}}, container: c, state: waiting, waitingReason: CrashLoopBackOff, restartCount: 1, lastExitCode: 1}}"), true),
        case(&format!("container: {{at: {backoff}, {sel}, restartCount: 2}}"), false),
        case(&format!("container: {{at: {backoff}, {sel}, restartCount: 0}}"), false),
        case(&format!("container: {{at: {backoff}, {sel}, lastExitCode: 2}}"), false),
        case(&format!("container: {{at: {backoff}, {sel}, lastExitCode: 0}}"), false),
        case(&format!("container: {{at: {backoff}, {sel}, waitingReason: ImagePullBackOff}}"), false),
        case(&format!("container: {{at: {backoff}, {sel}, state: running}}"), false),
        case(&format!("container: {{{sel}, state: terminated, restartCount: 2, lastExitCode: 1}}"), true),
        case(&format!("container: {{{sel}, restartCount: 3}}"), false),
        case(&format!("container: {{{sel}, restartCount: 1}}"), false),
        case("container: {pod: nobody, container: c, exists: false}", true),
        case("container: {pod: nobody, container: c, restartCount: 0}", false),
        case("container: {pod: p, container: c, exists: false}", false),
    ];
    check("flaky", &text, &cases);
}

// kuberuntime_container.go `killContainer`: a liveness failure kills the container with the
// pod's grace period (30 s); a process that needs 40 s to stop is SIGKILLed (exit 137 =
// 128 + 9), while one that stops at once on SIGTERM exits 143 (128 + 15). Every kill after
// the first leaves the same `lastState`, so the value at the end does not depend on timing.
#[test]
fn last_exit_code_is_137_after_sigkill_and_143_after_sigterm() {
    let pod = |name: &str, image: &str| {
        format!(
            "- apiVersion: v1
  kind: Pod
  metadata: {{name: {name}}}
  spec:
    containers:
    - name: c
      image: \"{image}\"
      livenessProbe: {{tcpSocket: {{port: 80}}, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3}}
"
        )
    };
    let text = format!(
        "{}runtime:
  behaviors:
  - {{name: stubborn, image: \"app:stubborn\", hangAfter: 33s, stopTime: 40s}}
  - {{name: polite, image: \"app:polite\", hangAfter: 33s}}
workloads:
{}{}",
        CLUSTER.replace("duration: 5m", "duration: 10m"),
        pod("stubborn", "app:stubborn"),
        pod("polite", "app:polite"),
    );
    let cases = [
        case(
            "container: {pod: stubborn, container: c, lastExitCode: 137}",
            true,
        ),
        case(
            "container: {pod: stubborn, container: c, lastExitCode: 136}",
            false,
        ),
        case(
            "container: {pod: stubborn, container: c, lastExitCode: 138}",
            false,
        ),
        case(
            "container: {pod: polite, container: c, lastExitCode: 143}",
            true,
        ),
        case(
            "container: {pod: polite, container: c, lastExitCode: 142}",
            false,
        ),
    ];
    check("sigkill", &text, &cases);
}

// status_manager.go `generatePodReadyCondition` / `generateContainersReadyCondition`: while
// the only container waits in CrashLoopBackOff, ContainersReady and Ready are False with
// reason ContainersNotReady; Initialized (no init containers) and PodReadyToStartContainers
// (the sandbox is up) stay True. While it runs (no readiness probe) Ready is True.
#[test]
fn pod_conditions_while_running_and_in_backoff() {
    let text = flaky();
    let t0 = admitted(&run_text("cond0", &text)) + 2 * S;
    let (run, wait) = (at(t0 + S), at(t0 + 9 * S));
    let cond = |when: &str, ty: &str, st: &str, extra: &str| {
        format!("podCondition: {{at: {when}, pod: p, type: {ty}, status: \"{st}\"{extra}}}")
    };
    let cases = [
        case(&cond(&run, "Ready", "True", ""), true),
        case(&cond(&run, "Ready", "False", ""), false),
        case(&cond(&run, "ContainersReady", "True", ""), true),
        case(
            &cond(&wait, "Ready", "False", ", reason: ContainersNotReady"),
            true,
        ),
        case(&cond(&wait, "Ready", "True", ""), false),
        case(
            &cond(&wait, "Ready", "False", ", reason: PodCompleted"),
            false,
        ),
        case(
            &cond(
                &wait,
                "ContainersReady",
                "False",
                ", reason: ContainersNotReady",
            ),
            true,
        ),
        case(&cond(&wait, "Initialized", "True", ""), true),
        case(&cond(&wait, "Initialized", "False", ""), false),
        case(&cond(&wait, "PodReadyToStartContainers", "True", ""), true),
        case(&cond(&wait, "PodScheduled", "True", ""), true),
        case(&cond(&wait, "DisruptionTarget", "True", ""), false),
    ];
    check("cond", &text, &cases);
}

// eviction.go `addConditionAndDeletePod`: the Eviction API sets DisruptionTarget=True
// (reason EvictionByEvictionAPI) at the eviction's instant (the action at 100 s) and deletes
// the pod gracefully: the object stays until the kubelet has stopped its container, which
// takes 20 s after SIGTERM (within the 30 s grace period), so it still exists at 110 s.
#[test]
fn disruption_target_from_the_eviction_api() {
    let text = format!(
        "{CLUSTER}runtime:
  behaviors:
  - {{name: slow, image: \"app:slow\", stopTime: 20s}}
workloads:
- {{apiVersion: v1, kind: Pod, metadata: {{name: p}}, spec: {{containers: [{{name: c, image: \"app:slow\"}}]}}}}
timeline:
- {{at: 100s, evictPod: {{name: p}}}}
"
    );
    let dt = |when: &str, extra: &str| {
        format!(
            "podCondition: {{at: {when}, pod: p, type: DisruptionTarget, status: \"True\"{extra}}}"
        )
    };
    let cases = [
        case(&dt("100s", ", reason: EvictionByEvictionAPI"), true),
        case(&dt("110s", ""), true),
        case(&dt("99.999999999s", ""), false),
        case(&dt("110s", ", reason: TerminationByKubelet"), false),
    ];
    check("disruption", &text, &cases);
}

// deployment_util.go `SetNewReplicaSetAnnotations`: the first ReplicaSet is revision 1; a
// template change (setImage at 60 s) creates revision 2, which the rolling update scales to
// 3 while revision 1 goes to 0 (kept: revisionHistoryLimit 10). Pods without probes are ready
// and (minReadySeconds 0) available once running. The bare ReplicaSet `rs` keeps 2.
#[test]
fn replica_sets_by_revision_and_by_name() {
    let text = format!(
        "{CLUSTER}workloads:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: web}}
  spec:
    replicas: 3
    selector: {{matchLabels: {{app: web}}}}
    template:
      metadata: {{labels: {{app: web}}}}
      spec: {{containers: [{{name: c, image: \"app:1\"}}]}}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {{name: rs}}
  spec:
    replicas: 2
    selector: {{matchLabels: {{app: rs}}}}
    template:
      metadata: {{labels: {{app: rs}}}}
      spec: {{containers: [{{name: c, image: \"app:1\"}}]}}
timeline:
- {{at: 60s, setImage: {{name: web, container: c, image: \"app:2\"}}}}
"
    );
    let rev =
        |n: u32, extra: &str| format!("replicaSet: {{deployment: web, revision: {n}, {extra}}}");
    let cases = [
        case(
            &rev(2, "replicas: 3, readyReplicas: 3, availableReplicas: 3"),
            true,
        ),
        case(&rev(2, "replicas: 4"), false),
        case(&rev(2, "readyReplicas: 2"), false),
        case(&rev(2, "availableReplicas: 4"), false),
        case(&rev(1, "replicas: 0"), true),
        case(&rev(1, "replicas: 1"), false),
        case(&rev(3, "exists: false"), true),
        case(&rev(3, "exists: true"), false),
        case(
            "replicaSet: {at: 59s, deployment: web, revision: 2, exists: false}",
            true,
        ),
        case(
            "replicaSet: {at: 59s, deployment: web, revision: 1, replicas: 3}",
            true,
        ),
        case(
            "replicaSet: {name: rs, replicas: 2, readyReplicas: 2}",
            true,
        ),
        case("replicaSet: {name: rs, replicas: 3}", false),
        case("replicaSet: {name: rs, exists: false}", false),
    ];
    check("rs", &text, &cases);
}

// `exists` for every kind that names an object. deleteObject (Background) removes a
// Deployment, Service, PodDisruptionBudget or Job at once (garbagecollector.go deletes the
// dependents afterwards); a Pod first terminates with its 30 s grace period; a Namespace
// without pods is gone once the namespace controller has emptied it.
#[test]
fn exists_for_every_kind_an_expectation_names() {
    let text = format!(
        "{CLUSTER}workloads:
- {{apiVersion: v1, kind: Namespace, metadata: {{name: team}}}}
- {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: web}}, spec: {{replicas: 1, selector: {{matchLabels: {{app: web}}}}, template: {{metadata: {{labels: {{app: web}}}}, spec: {{containers: [{{name: c, image: \"app:1\"}}]}}}}}}}}
- {{apiVersion: apps/v1, kind: StatefulSet, metadata: {{name: db}}, spec: {{serviceName: db, selector: {{matchLabels: {{app: db}}}}, template: {{metadata: {{labels: {{app: db}}}}, spec: {{containers: [{{name: c, image: \"app:1\"}}]}}}}}}}}
- {{apiVersion: apps/v1, kind: DaemonSet, metadata: {{name: ds}}, spec: {{selector: {{matchLabels: {{app: ds}}}}, template: {{metadata: {{labels: {{app: ds}}}}, spec: {{containers: [{{name: c, image: \"app:1\"}}]}}}}}}}}
- {{apiVersion: v1, kind: Service, metadata: {{name: svc}}, spec: {{selector: {{app: web}}}}}}
- {{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {{name: pdb}}, spec: {{minAvailable: 1, selector: {{matchLabels: {{app: web}}}}}}}}
- {{apiVersion: batch/v1, kind: Job, metadata: {{name: j}}, spec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: c, image: \"app:1\"}}]}}}}}}}}
- {{apiVersion: batch/v1, kind: CronJob, metadata: {{name: cj}}, spec: {{schedule: \"*/2 * * * *\", jobTemplate: {{spec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: c, image: \"app:1\"}}]}}}}}}}}}}}}
- {{apiVersion: v1, kind: Pod, metadata: {{name: p}}, spec: {{containers: [{{name: c, image: \"app:1\"}}]}}}}
timeline:
- {{at: 30s, deleteObject: {{kind: Deployment, name: web}}}}
- {{at: 30s, deleteObject: {{kind: Service, name: svc}}}}
- {{at: 30s, deleteObject: {{kind: PodDisruptionBudget, name: pdb}}}}
- {{at: 30s, deleteObject: {{kind: Job, name: j}}}}
- {{at: 30s, deleteObject: {{kind: Pod, name: p}}}}
- {{at: 30s, deleteObject: {{kind: Namespace, name: team}}}}
"
    );
    let mut cases = Vec::new();
    for (kind, body) in [
        ("deployment", "name: web"),
        ("endpoints", "service: svc"),
        ("pdb", "name: pdb"),
        ("job", "name: j"),
        ("namespace", "name: team"),
        ("container", "pod: p, container: c"),
        ("podCondition", "pod: p"),
    ] {
        cases.push(case(
            &format!("{kind}: {{at: 29s, {body}, exists: true}}"),
            true,
        ));
        cases.push(case(
            &format!("{kind}: {{at: 29s, {body}, exists: false}}"),
            false,
        ));
        cases.push(case(
            &format!("{kind}: {{at: 120s, {body}, exists: false}}"),
            true,
        ));
        cases.push(case(
            &format!("{kind}: {{at: 120s, {body}, exists: true}}"),
            false,
        ));
    }
    for (kind, body) in [
        ("statefulSet", "name: db"),
        ("daemonSet", "name: ds"),
        ("cronJob", "name: cj"),
        ("nodeCondition", "node: w-z-0"),
    ] {
        cases.push(case(&format!("{kind}: {{{body}, exists: true}}"), true));
        cases.push(case(&format!("{kind}: {{{body}, exists: false}}"), false));
    }
    check("exists", &text, &cases);
}

// job_controller.go: an Indexed Job's `completedIndexes` is `orderedIntervals.String()` of the
// succeeded indexes — 3 completions, all run at once (parallelism 3) and succeed: "0-2".
#[test]
fn indexed_job_completed_indexes() {
    let text = format!(
        "{CLUSTER}runtime:
  behaviors:
  - {{name: task, image: \"task:1\", run: 5s, exitCode: 0}}
workloads:
- apiVersion: batch/v1
  kind: Job
  metadata: {{name: ix}}
  spec:
    completions: 3
    parallelism: 3
    completionMode: Indexed
    template: {{spec: {{restartPolicy: Never, containers: [{{name: c, image: \"task:1\"}}]}}}}
"
    );
    let cases = [
        case(
            "job: {name: ix, completedIndexes: \"0-2\", succeeded: 3}",
            true,
        ),
        case("job: {name: ix, completedIndexes: \"0-1\"}", false),
        case("job: {name: ix, completedIndexes: \"0-3\"}", false),
        case("job: {at: 1s, name: ix, completedIndexes: \"\"}", true),
    ];
    check("indexed", &text, &cases);
}

// cronjob_controllerv2.go `syncCronJob`: `lastScheduleTime` is the scheduled time (not the
// Job's creation 100 ms later); "*/2 * * * *" from 2025-01-01T00:00:00Z fires at 120 s,
// 240 s. A Job whose pod runs 30 s is in `status.active` from its creation until it
// finishes (admission + 2 s start + 30 s < 60 s later).
#[test]
fn cron_job_last_schedule_time_and_active() {
    let text = format!(
        "{CLUSTER}runtime:
  behaviors:
  - {{name: report, image: \"report:1\", run: 30s, exitCode: 0}}
workloads:
- apiVersion: batch/v1
  kind: CronJob
  metadata: {{name: cj}}
  spec:
    schedule: \"*/2 * * * *\"
    jobTemplate: {{spec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: c, image: \"report:1\"}}]}}}}}}}}
"
    );
    let cases = [
        case(
            "cronJob: {at: 130s, name: cj, lastScheduleTime: 120s, active: 1}",
            true,
        ),
        case(
            "cronJob: {at: 130s, name: cj, lastScheduleTime: 121s}",
            false,
        ),
        case(
            "cronJob: {at: 130s, name: cj, lastScheduleTime: 119s}",
            false,
        ),
        case("cronJob: {at: 130s, name: cj, active: 0}", false),
        case("cronJob: {at: 130s, name: cj, active: 2}", false),
        case(
            "cronJob: {at: 200s, name: cj, lastScheduleTime: 120s, active: 0}",
            true,
        ),
        case("cronJob: {at: 200s, name: cj, active: 1}", false),
        case("cronJob: {name: cj, lastScheduleTime: 240s}", true),
    ];
    check("cron", &text, &cases);
}

/// Cordon at 10 s, uncordon at 20 s, cordon at 30 s: `Cordoned` records at exactly 10 s and
/// 30 s (actions are instantaneous at their `at`).
fn cordons() -> String {
    format!(
        "{CLUSTER}timeline:
- {{at: 10s, cordon: {{node: w-z-0}}}}
- {{at: 20s, uncordon: {{node: w-z-0}}}}
- {{at: 30s, cordon: {{node: w-z-0}}}}
"
    )
}

#[test]
fn event_count_between_two_times() {
    let cases = [
        case(
            "eventCount: {reason: Cordoned, from: 10s, to: 30s, count: 2}",
            true,
        ),
        case(
            "eventCount: {reason: Cordoned, from: 10s, to: 30s, count: 3}",
            false,
        ),
        case(
            "eventCount: {reason: Cordoned, from: 10.000000001s, to: 30s, count: 1}",
            true,
        ),
        case(
            "eventCount: {reason: Cordoned, from: 10s, to: 29.999999999s, count: 1}",
            true,
        ),
        case(
            "eventCount: {reason: Cordoned, from: 10s, to: 29.999999999s, count: 2}",
            false,
        ),
        case("eventCount: {reason: Cordoned, from: 11s, count: 1}", true),
        case(
            "eventCount: {reason: Uncordoned, from: 20s, to: 20s, count: 1}",
            true,
        ),
    ];
    check("window", &cordons(), &cases);
}

#[test]
fn event_time_within_a_one_sided_window() {
    let cases = [
        case(
            "eventTime: {reason: Cordoned, nth: 2, within: [30s, 30s]}",
            true,
        ),
        case(
            "eventTime: {reason: Cordoned, nth: 2, within: [25s, null]}",
            true,
        ),
        case(
            "eventTime: {reason: Cordoned, nth: 2, within: [null, 30s]}",
            true,
        ),
        case(
            "eventTime: {reason: Cordoned, nth: 2, within: [null, 29.999999999s]}",
            false,
        ),
        case(
            "eventTime: {reason: Cordoned, nth: 2, within: [30.000000001s, null]}",
            false,
        ),
        case("eventTime: {reason: Cordoned, within: [10s, 16s]}", true),
        case(
            "eventTime: {reason: Cordoned, nth: 3, within: [0s, null]}",
            false,
        ),
        case("eventTime: {reason: Cordoned, nth: 2, at: 30s}", true),
    ];
    check("within", &cordons(), &cases);
}

/// Bad input: a clear error at the field, with a suggestion where one fits.
#[test]
fn new_fields_are_checked_with_suggestions() {
    let err = |name: &str, line: &str| {
        let p = scratch(name).join("s.yaml");
        let text = format!("{}expect:\n- {line}\n", flaky());
        std::fs::write(&p, text).expect("write");
        kubesim::scenario::load(&p, &[])
            .expect_err("should fail")
            .to_string()
    };
    let e = err("e1", "container: {pod: p, container: cc, restartCount: 1}");
    assert!(
        e.contains("expect[0].container") && e.contains("`c`"),
        "{e}"
    );
    let e = err(
        "e2",
        "container: {pod: p, container: c, waitingReason: CrashLoopBackoff}",
    );
    assert!(
        e.contains("waitingReason") && e.contains("CrashLoopBackOff"),
        "{e}"
    );
    let e = err(
        "e3",
        "podCondition: {pod: p, type: Initialised, status: \"True\"}",
    );
    assert!(e.contains("Initialized"), "{e}");
    let e = err("e4", "job: {name: j, completedIndexes: \"0,1,2\"}");
    assert!(e.contains("\"0-2\""), "{e}");
    let e = err("e5", "eventTime: {reason: X, within: [null, null]}");
    assert!(e.contains("expect[0].within"), "{e}");
    let e = err("e6", "eventTime: {reason: X, within: [20s, 10s]}");
    assert!(e.contains("after max"), "{e}");
    let e = err("e7", "replicaSet: {deployment: web, revision: 1}");
    assert!(e.contains("no Deployment"), "{e}");
    let e = err(
        "e8",
        "container: {pod: p, container: c, exists: false, restartCount: 1}",
    );
    assert!(
        e.contains("expect[0].restartCount") && e.contains("exists: false"),
        "{e}"
    );
    let e = err(
        "e9",
        "eventCount: {reason: X, from: 20s, to: 10s, count: 1}",
    );
    assert!(e.contains("expect[0].from"), "{e}");
}
