//! StatefulSet and DaemonSet template updates end to end (issue 6 items 4 and 5): rolling
//! updates, partitions, OnDelete, surge, and their input errors. Split from `workloads.rs`,
//! whose helpers it shares.

use kubesim::run::RunOutput;

use crate::support::*;
use crate::workloads::{column, load_err, messages, Stepper, CLUSTER};

// ----- StatefulSet and DaemonSet updates (issue 6 item 4 and 5) -----

/// A 3-replica StatefulSet `db` (pods start in exactly 3 s, stop at once) and a timeline.
fn sts_update_text(strategy: &str, timeline: &str) -> String {
    format!(
        "{CLUSTER}simulation: {{containerStartDelay: {{min: 3s, max: 3s}}}}
workloads:
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {{name: db}}
  spec:
    serviceName: db
    replicas: 3
    {strategy}
    selector: {{matchLabels: {{app: db}}}}
    template:
      metadata: {{labels: {{app: db}}}}
      spec: {{containers: [{{name: c, image: \"db:1\"}}]}}
timeline:
- {{at: 60s, setImage: {{kind: StatefulSet, name: db, container: c, image: \"db:2\"}}}}
{timeline}"
    )
}

fn image_of(c: &kubesim::cluster::Cluster, pod: &str) -> String {
    c.api.pods()[&format!("default/{pod}")].spec.containers[0]
        .image
        .clone()
}

// stateful_set_control.go updateStatefulSet (MaxUnavailableStatefulSet off): RollingUpdate
// deletes the highest ordinal not at the update revision, and the next only once every pod is
// Running and Available again. With 3 s starts and immediate stops: db-2 at 60 s (recreated
// at once, Ready at 63 s), db-1 at 63 s, db-0 at 66 s. completeRollingUpdate already holds at
// 66 s: computeReplicaStatus counts only created pods, and in the sync that recreates db-0
// its old object is gone and the new one not yet created (2 replicas, 2 updated, 2 ready).
#[test]
fn statefulset_rolling_update_replaces_the_highest_ordinal_first() {
    let text = sts_update_text("", "");
    let out = run_text("sts-roll", &text);
    let deletes = messages(&out, "SuccessfulDelete");
    let del = |n: &str| format!("delete Pod {n} in StatefulSet db successful");
    assert_eq!(
        deletes,
        vec![
            (60.0, del("db-2")),
            (63.0, del("db-1")),
            (66.0, del("db-0"))
        ]
    );
    let creates: Vec<(f64, String)> = messages(&out, "SuccessfulCreate")
        .into_iter()
        .filter(|(t, _)| *t >= 60.0)
        .collect();
    let cre = |n: &str| format!("create Pod {n} in StatefulSet db successful");
    assert_eq!(
        creates,
        vec![
            (60.0, cre("db-2")),
            (63.0, cre("db-1")),
            (66.0, cre("db-0"))
        ]
    );
    // The revisions: every pod recreated after 60 s carries the update revision; the
    // first three carry the initial one.
    let revs: Vec<String> = out
        .records
        .iter()
        .filter(|r| r.reason == "SuccessfulCreate")
        .map(|r| {
            r.fields
                .iter()
                .find(|f| f.0 == "revision")
                .unwrap()
                .1
                .clone()
        })
        .collect();
    assert_eq!(revs.len(), 6);
    assert!(revs[..3].iter().all(|r| *r == revs[0]) && revs[3..].iter().all(|r| *r == revs[3]));
    assert_ne!(revs[0], revs[3]);
    let mut s = Stepper::new("sts-roll-status", &text);
    let c = s.to(65);
    let st = &c.api.statefulsets()["default/db"].status;
    assert_eq!((st.updated_replicas, st.current_replicas), (2, 1), "{st:?}");
    assert_ne!(st.current_revision, st.update_revision);
    let c = s.to(68);
    let st = &c.api.statefulsets()["default/db"].status;
    assert_eq!(
        (st.updated_replicas, st.current_replicas, st.ready_replicas),
        (3, 3, 2),
        "{st:?}"
    );
    assert_eq!(st.current_revision, st.update_revision);
    let c = s.to(69);
    let st = &c.api.statefulsets()["default/db"].status;
    assert_eq!(st.ready_replicas, 3, "{st:?}");
    for p in ["db-0", "db-1", "db-2"] {
        assert_eq!(image_of(c, p), "db:2");
    }
    // Both revisions are kept (revisionHistoryLimit 10).
    assert_eq!(c.api.statefulsets()["default/db"].history.len(), 2);
}

// newVersionedStatefulSetPod: with partition 2 only db-2 is updated; db-0, deleted later (an
// eviction at 90 s), comes back from the *current* revision because its ordinal is below the
// partition; the update never completes (currentRevision stays the old one).
#[test]
fn statefulset_partition_keeps_lower_ordinals_at_the_current_revision() {
    let text = sts_update_text(
        "updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}",
        "- {at: 90s, evictPod: {name: db-0}}\n",
    );
    let out = run_text("sts-partition", &text);
    let deletes = messages(&out, "SuccessfulDelete");
    assert_eq!(
        deletes,
        vec![(
            60.0,
            "delete Pod db-2 in StatefulSet db successful".to_string()
        )]
    );
    let mut s = Stepper::new("sts-partition-status", &text);
    let c = s.to(91);
    assert_eq!(image_of(c, "db-2"), "db:2");
    assert_eq!(image_of(c, "db-1"), "db:1");
    assert_eq!(image_of(c, "db-0"), "db:1", "recreated below the partition");
    let st = &c.api.statefulsets()["default/db"].status;
    assert_eq!((st.updated_replicas, st.current_replicas), (1, 2), "{st:?}");
    assert_ne!(st.current_revision, st.update_revision);
}

// OnDelete: a template change replaces nothing by itself; a pod deleted later (db-1 at 90 s)
// is recreated from the update revision.
#[test]
fn statefulset_on_delete_replaces_only_deleted_pods() {
    let text = sts_update_text(
        "updateStrategy: {type: OnDelete}",
        "- {at: 90s, evictPod: {name: db-1}}\n",
    );
    let out = run_text("sts-ondelete", &text);
    assert!(messages(&out, "SuccessfulDelete").is_empty());
    let creates: Vec<(f64, String)> = messages(&out, "SuccessfulCreate")
        .into_iter()
        .filter(|(t, _)| *t >= 60.0)
        .collect();
    assert_eq!(
        creates,
        vec![(
            90.0,
            "create Pod db-1 in StatefulSet db successful".to_string()
        )]
    );
    let mut s = Stepper::new("sts-ondelete-status", &text);
    let c = s.to(95);
    assert_eq!(image_of(c, "db-1"), "db:2");
    assert_eq!(image_of(c, "db-0"), "db:1");
    let st = &c.api.statefulsets()["default/db"].status;
    assert_eq!((st.updated_replicas, st.current_replicas), (1, 2), "{st:?}");
}

#[test]
fn statefulset_update_strategy_errors_name_the_field() {
    let e = load_err(
        "sts-bad-type",
        &sts_update_text("updateStrategy: {type: RollingUpdates}", ""),
    );
    assert!(
        e.contains("spec.updateStrategy.type") && e.contains("RollingUpdate"),
        "{e}"
    );
    let e = load_err(
        "sts-bad-partition",
        &sts_update_text("updateStrategy: {rollingUpdate: {partition: -1}}", ""),
    );
    assert!(
        e.contains("partition") && e.contains("greater than or equal to 0"),
        "{e}"
    );
    let e = load_err(
        "sts-surge",
        &sts_update_text("updateStrategy: {rollingUpdate: {maxSurge: 1}}", ""),
    );
    assert!(e.contains("maxSurge"), "{e}");
    let e = load_err(
        "sts-ondelete-ru",
        &sts_update_text(
            "updateStrategy: {type: OnDelete, rollingUpdate: {partition: 1}}",
            "",
        ),
    );
    assert!(
        e.contains("only allowed for updateStrategy 'RollingUpdate'"),
        "{e}"
    );
}

/// A DaemonSet `agent` over 4 nodes (pods start in exactly 3 s, stop at once), updated at
/// 60 s.
fn ds_update_text(strategy: &str) -> String {
    format!(
        "name: ds
seed: 5
duration: 3m
cluster:
  nodePools:
  - name: w
    count: 4
    capacity: {{cpu: \"16\", memory: 64Gi, pods: \"110\"}}
simulation: {{containerStartDelay: {{min: 3s, max: 3s}}}}
output: {{sampleInterval: 1s}}
workloads:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {{name: agent}}
  spec:
    {strategy}
    selector: {{matchLabels: {{app: agent}}}}
    template:
      metadata: {{labels: {{app: agent}}}}
      spec: {{containers: [{{name: c, image: \"agent:1\"}}]}}
timeline:
- {{at: 60s, setImage: {{kind: DaemonSet, name: agent, container: c, image: \"agent:2\"}}}}
"
    )
}

/// (time, node) of the DaemonSet's creations after `from`, and the times of its deletions.
fn ds_activity(out: &RunOutput, from: f64) -> (Vec<(f64, String)>, Vec<f64>) {
    let creates = out
        .records
        .iter()
        .filter(|r| r.reason == "SuccessfulCreate" && r.t.as_nanos() >= (from * S as f64) as u64)
        .map(|r| {
            (
                r.t.as_nanos() as f64 / S as f64,
                r.fields.iter().find(|f| f.0 == "node").unwrap().1.clone(),
            )
        })
        .collect();
    let deletes = messages(out, "SuccessfulDelete")
        .into_iter()
        .map(|m| m.0)
        .collect();
    (creates, deletes)
}

// update.go rollingUpdate without surge, maxUnavailable 1 (the default): one old pod deleted
// at a time, its replacement created at once (manage), the next one when it is available —
// 60, 63, 66, 69 s, nodes taken by name. numberAvailable never drops below 4 − 1.
#[test]
fn daemonset_rolling_update_keeps_max_unavailable() {
    let out = run_text("ds-roll", &ds_update_text(""));
    let (creates, deletes) = ds_activity(&out, 60.0);
    assert_eq!(deletes, vec![60.0, 63.0, 66.0, 69.0]);
    let nodes = |v: &[(f64, String)]| v.iter().map(|x| (x.0, x.1.clone())).collect::<Vec<_>>();
    assert_eq!(
        nodes(&creates),
        vec![
            (60.0, "w-0".to_string()),
            (63.0, "w-1".to_string()),
            (66.0, "w-2".to_string()),
            (69.0, "w-3".to_string())
        ]
    );
    let avail = column(&out, "ds_agent_available");
    let during: Vec<f64> = avail
        .iter()
        .filter(|(t, _)| (60.0..=72.0).contains(t))
        .map(|x| x.1)
        .collect();
    assert_eq!(during.iter().cloned().fold(f64::MAX, f64::min), 3.0);
    let updated = column(&out, "ds_agent_updated");
    let at = |col: &[(f64, f64)], t: f64| col.iter().find(|x| x.0 == t).unwrap().1;
    assert_eq!(at(&updated, 71.0), 4.0);
    assert_eq!(at(&avail, 71.0), 3.0);
    assert_eq!(at(&avail, 72.0), 4.0);

    // maxUnavailable 50% of 4 nodes = 2 (rounded up): two at 60 s, two once those are
    // available. The second replacement binds one scheduling cycle after the first:
    // docs/scheduler-model.md's cost, 200 µs + 4 nodes × (1 µs + 5.5 µs node-affinity filter)
    // = 226 µs (one feasible node, so no scoring), so it is ready, and its successor deleted,
    // at 63.000226 s.
    let out = run_text(
        "ds-roll-50",
        &ds_update_text("updateStrategy: {rollingUpdate: {maxUnavailable: 50%}}"),
    );
    let (_, deletes) = ds_activity(&out, 60.0);
    assert_eq!(deletes, vec![60.0, 60.0, 63.0, 63.000226]);
}

// update.go rollingUpdate with maxSurge 1 (maxUnavailable 0): a new pod starts next to the old
// one on one node at a time; podsShouldBeOnNode deletes the old pod once the new one is
// available (3 s later), and the next node surges in the same sync: creations at 60, 63, 66,
// 69 s, deletions at 63, 66, 69, 72 s. Never fewer than 4 available.
#[test]
fn daemonset_surge_update_never_drops_availability() {
    let out = run_text(
        "ds-surge",
        &ds_update_text("updateStrategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"),
    );
    let (creates, deletes) = ds_activity(&out, 60.0);
    assert_eq!(
        creates.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![60.0, 63.0, 66.0, 69.0]
    );
    assert_eq!(deletes, vec![63.0, 66.0, 69.0, 72.0]);
    let avail = column(&out, "ds_agent_available");
    assert!(
        avail.iter().filter(|x| x.0 >= 10.0).all(|x| x.1 == 4.0),
        "{avail:?}"
    );
    // OnDelete: nothing is replaced.
    let out = run_text(
        "ds-ondelete",
        &ds_update_text("updateStrategy: {type: OnDelete}"),
    );
    let (creates, deletes) = ds_activity(&out, 60.0);
    assert!(creates.is_empty() && deletes.is_empty());
}

// ValidateRollingUpdateDaemonSet: exactly one of maxSurge and maxUnavailable is non-zero
// (maxUnavailable defaults to 1, so a surge needs an explicit maxUnavailable: 0).
#[test]
fn daemonset_update_strategy_errors_name_the_field() {
    let e = load_err(
        "ds-both",
        &ds_update_text("updateStrategy: {rollingUpdate: {maxSurge: 1}}"),
    );
    assert!(
        e.contains("rollingUpdate.maxSurge")
            && e.contains("may not be set when maxUnavailable is non-zero"),
        "{e}"
    );
    let e = load_err(
        "ds-none",
        &ds_update_text("updateStrategy: {rollingUpdate: {maxUnavailable: 0}}"),
    );
    assert!(e.contains("cannot be 0 when maxSurge is 0"), "{e}");
    let e = load_err(
        "ds-pct",
        &ds_update_text("updateStrategy: {rollingUpdate: {maxUnavailable: 150%}}"),
    );
    assert!(e.contains("must not be greater than 100%"), "{e}");
    let e = load_err(
        "ds-partition",
        &ds_update_text("updateStrategy: {rollingUpdate: {partition: 1}}"),
    );
    assert!(e.contains("partition"), "{e}");
}
