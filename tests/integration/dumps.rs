//! Dumps and bundles as they come (issue 17 part 1): `kubectl get -o yaml` output with every
//! server-populated field, and Helm-rendered bundles with kinds kubesim does not model. The
//! shapes follow what the API server returns (ObjectMeta, `kind: List` with
//! `metadata.resourceVersion: ""`, `status` of each kind).

use std::path::{Path, PathBuf};
use std::process::Command;

use kubesim::scenario::{self, Workload};

use crate::support::*;

const HEAD: &str = "duration: 1m
cluster:
  nodePools:
  - {name: w, count: 1, capacity: {cpu: \"2\", memory: 4Gi}}
";

fn fixture(name: &str) -> PathBuf {
    root().join("tests/integration/dumps").join(name)
}

/// A scenario whose workloads are `files`, copied into a scratch directory.
fn scenario_with(files: &[(&str, &str)]) -> PathBuf {
    let dir = scratch("dumps");
    let mut text = format!("{HEAD}workloads:\n");
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
        text.push_str(&format!("- file: {name}\n"));
    }
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn names(ws: &[Workload]) -> Vec<String> {
    ws.iter()
        .map(|w| match w {
            Workload::Pod(p) => format!("Pod/{}", p.key()),
            Workload::Deployment(d) => format!("Deployment/{}", d.key()),
            Workload::Service(x) => format!("Service/{}", x.key()),
            other => format!("{other:?}").chars().take(20).collect(),
        })
        .collect()
}

/// A Pod as `kubectl get pod -o yaml` prints it, with `extra` (indented two spaces) added to
/// its metadata.
fn pod_dump(extra_meta: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: dumped\n  namespace: default\n{extra_meta}spec:\n  containers:\n  - name: c\n    image: nginx\n"
    )
}

fn only_warning_for(p: &Path, file: &str) -> Vec<String> {
    let s = scenario::load(p, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&s.workloads), ["Pod/default/dumped"]);
    s.warnings
        .iter()
        .filter(|w| w.contains(file))
        .cloned()
        .collect()
}

macro_rules! server_field_test {
    ($name:ident, $meta:expr, $field:expr) => {
        #[test]
        fn $name() {
            let p = scenario_with(&[("pod.yaml", &pod_dump($meta))]);
            let w = only_warning_for(&p, "pod.yaml");
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(
                w[0].contains(&format!("{} ×1", $field)) && w[0].contains("of 1 object"),
                "{w:?}"
            );
        }
    };
}

server_field_test!(
    dump_uid_is_ignored,
    "  uid: 9f8e7d6c-5b4a-4321-8fed-cba987654321\n",
    "metadata.uid"
);
server_field_test!(
    dump_resource_version_is_ignored,
    "  resourceVersion: \"1021\"\n",
    "metadata.resourceVersion"
);
server_field_test!(
    dump_generation_is_ignored,
    "  generation: 3\n",
    "metadata.generation"
);
server_field_test!(
    dump_creation_timestamp_is_ignored,
    "  creationTimestamp: \"2024-05-01T10:00:01Z\"\n",
    "metadata.creationTimestamp"
);
server_field_test!(
    dump_self_link_is_ignored,
    "  selfLink: /api/v1/namespaces/default/pods/dumped\n",
    "metadata.selfLink"
);
server_field_test!(
    dump_managed_fields_are_ignored,
    "  managedFields:\n  - apiVersion: v1\n    fieldsType: FieldsV1\n    fieldsV1: {f:spec: {f:containers: {}}}\n    manager: kubectl-client-side-apply\n    operation: Update\n    time: \"2024-05-01T10:00:01Z\"\n",
    "metadata.managedFields"
);
server_field_test!(
    dump_owner_references_to_absent_objects_are_ignored,
    "  ownerReferences:\n  - apiVersion: apps/v1\n    blockOwnerDeletion: true\n    controller: true\n    kind: ReplicaSet\n    name: gone-7d4b9c8f5\n    uid: 0b2d1f4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b\n",
    "metadata.ownerReferences"
);
server_field_test!(
    dump_last_applied_annotation_is_ignored,
    "  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"dumped\"}}\n",
    "metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]"
);

#[test]
fn dump_status_is_ignored() {
    let body = format!(
        "{}status:\n  conditions:\n  - lastProbeTime: null\n    lastTransitionTime: \"2024-05-01T10:00:01Z\"\n    status: \"True\"\n    type: PodScheduled\n  hostIP: 10.0.0.4\n  podIP: 10.244.1.7\n  qosClass: BestEffort\n  startTime: \"2024-05-01T10:00:01Z\"\n",
        pod_dump("")
    );
    let p = scenario_with(&[("pod.yaml", &body)]);
    let w = only_warning_for(&p, "pod.yaml");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("status ×1"), "{w:?}");
}

#[test]
fn deployment_status_with_its_own_fields_no_longer_fails() {
    // Issue 17: `status: unknown field 'updatedReplicas'`.
    let body = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {creationTimestamp: null, labels: {app: web}}\n    spec: {containers: [{name: c, image: nginx}]}\nstatus:\n  availableReplicas: 2\n  observedGeneration: 1\n  readyReplicas: 2\n  replicas: 2\n  updatedReplicas: 2\n";
    let p = scenario_with(&[("deploy.yaml", body)]);
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&s.workloads), ["Deployment/default/web"]);
    assert!(s
        .warnings
        .iter()
        .any(|w| w.contains("deploy.yaml") && w.contains("status ×1")));
}

#[test]
fn a_kubectl_list_dump_gives_one_warning_for_its_server_fields_and_one_per_skipped_kind() {
    let dir = scratch("dump-list");
    std::fs::copy(fixture("app.yaml"), dir.join("app.yaml")).unwrap();
    let p = dir.join("s.yaml");
    std::fs::write(&p, format!("{HEAD}workloads:\n- file: app.yaml\n")).unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        names(&s.workloads),
        ["Deployment/default/web", "Pod/default/web-7d4b9c8f5-abcde"]
    );
    let mine: Vec<&String> = s
        .warnings
        .iter()
        .filter(|w| w.contains("app.yaml"))
        .collect();
    let server: Vec<&&String> = mine
        .iter()
        .filter(|w| w.contains("server-populated"))
        .collect();
    assert_eq!(server.len(), 1, "{mine:#?}");
    // Deployment, Pod and the List itself carry server fields (the ConfigMap and the HPA are
    // skipped before they are looked at).
    assert!(server[0].contains("of 3 objects"), "{server:?}");
    for f in [
        "metadata.uid ×2",
        "metadata.resourceVersion ×3",
        "metadata.ownerReferences ×1",
        "status ×2",
        "metadata.annotations[deployment.kubernetes.io/revision] ×1",
    ] {
        assert!(server[0].contains(f), "{f}: {server:?}");
    }
    assert!(mine
        .iter()
        .any(|w| w.contains("skipped 1 ConfigMap object:")));
    assert!(mine
        .iter()
        .any(|w| w.contains("skipped 1 HorizontalPodAutoscaler object:")));
    // The annotations the server wrote are gone from the object.
    let Workload::Deployment(d) = &s.workloads[0] else {
        panic!()
    };
    assert!(d.meta.annotations.is_empty(), "{:?}", d.meta.annotations);
}

#[test]
fn a_helm_bundle_skips_each_unmodelled_kind_once_per_file() {
    let dir = scratch("bundle");
    std::fs::copy(fixture("bundle.yaml"), dir.join("bundle.yaml")).unwrap();
    let p = dir.join("s.yaml");
    std::fs::write(&p, format!("{HEAD}workloads:\n- file: bundle.yaml\n")).unwrap();
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&s.workloads), ["Service/default/web"]);
    let mine: Vec<&String> = s
        .warnings
        .iter()
        .filter(|w| w.contains("bundle.yaml"))
        .collect();
    for (kind, n) in [
        ("ConfigMap", 2),
        ("Ingress", 1),
        ("NetworkPolicy", 1),
        ("ServiceMonitor", 1),
    ] {
        let hits: Vec<_> = mine
            .iter()
            .filter(|w| w.contains(&format!("skipped {n} {kind} object")))
            .collect();
        assert_eq!(hits.len(), 1, "{kind}: {mine:#?}");
    }
    assert_eq!(mine.len(), 4, "{mine:#?}");
}

#[test]
fn custom_resource_definitions_and_custom_resources_are_skipped() {
    let p = scenario_with(&[(
        "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true}]\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n",
    )]);
    let s = scenario::load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.workloads.is_empty());
    for k in [
        "skipped 1 CustomResourceDefinition object",
        "skipped 1 Widget object",
    ] {
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains(k) && w.contains("crd.yaml")),
            "{k}: {:?}",
            s.warnings
        );
    }
}

#[test]
fn a_misspelt_kind_is_still_an_error() {
    let p = scenario_with(&[(
        "bad.yaml",
        "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: web}\n",
    )]);
    let e = scenario::load(&p, &[]).unwrap_err().to_string();
    assert!(
        e.contains("unsupported kind") && e.contains("Deployment"),
        "{e}"
    );
}

#[test]
fn strict_turns_the_dump_warnings_into_errors() {
    let dir = scratch("strict");
    std::fs::copy(fixture("bundle.yaml"), dir.join("bundle.yaml")).unwrap();
    let p = dir.join("s.yaml");
    std::fs::write(&p, format!("{HEAD}workloads:\n- file: bundle.yaml\n")).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .args(args)
            .output()
            .expect("runs")
    };
    let ok = run(&["validate", p.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
    let err = String::from_utf8_lossy(&ok.stderr).to_string();
    assert!(
        err.contains("warning:") && err.contains("bundle.yaml"),
        "{err}"
    );
    for cmd in ["validate", "check", "run"] {
        let bad = run(&[cmd, "--strict", p.to_str().unwrap()]);
        assert_eq!(bad.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(
            err.contains("error:") && err.contains("skipped 2 ConfigMap objects"),
            "{err}"
        );
    }
}

/// `cluster: {fromDump: …}` of `tests/integration/dumps/cluster.yaml`, a
/// `kubectl get nodes,pods,deploy,rs,pdb,svc,priorityclass -A -o yaml` of a 3-zone cluster.
fn from_dump_scenario(extra: &str) -> PathBuf {
    let dir = scratch("from-dump");
    std::fs::copy(fixture("cluster.yaml"), dir.join("cluster.yaml")).unwrap();
    let p = dir.join("s.yaml");
    std::fs::write(
        &p,
        format!("duration: 10m\ncluster:\n  fromDump: cluster.yaml\n{extra}"),
    )
    .unwrap();
    p
}

#[test]
fn from_dump_builds_the_nodes_of_the_dump() {
    let s = load(&from_dump_scenario(""), &[]);
    assert_eq!(s.nodes.len(), 7);
    let zones: std::collections::BTreeSet<String> =
        s.nodes.iter().map(|n| n.zone_label()).collect();
    assert_eq!(
        zones.into_iter().collect::<Vec<_>>(),
        [
            "eu-west-1/eu-west-1a",
            "eu-west-1/eu-west-1b",
            "eu-west-1/eu-west-1c"
        ]
    );
    let n = |name: &str| {
        s.nodes
            .iter()
            .find(|n| n.meta.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let general = n("ip-10-0-0-10.eu-west-1.compute.internal");
    assert_eq!(general.status.capacity.cpu_milli, 4000);
    assert_eq!(general.status.allocatable.cpu_milli, 3910);
    assert_eq!(general.status.allocatable.pods, 58);
    assert!(
        n("ip-10-0-2-11.eu-west-1.compute.internal")
            .spec
            .unschedulable
    );
    let batch = n("ip-10-0-0-99.eu-west-1.compute.internal");
    assert_eq!(batch.spec.taints[0].to_text(), "dedicated=batch:NoSchedule");
    // The pool comes from the EKS node-group label.
    let i = s
        .nodes
        .iter()
        .position(|x| x.meta.name == batch.meta.name)
        .unwrap();
    assert_eq!(s.node_pools[i], "batch");
}

#[test]
fn from_dump_pods_at_t0_are_the_dumps_pods_on_their_nodes_and_a_zone_failure_replaces_them() {
    let p =
        from_dump_scenario("timeline:\n- at: 2m\n  nodeCrash: {zones: [eu-west-1/eu-west-1b]}\n");
    let s = load(&p, &[]);
    let dumped: Vec<(String, Option<String>)> = vec![
        (
            "default/report".into(),
            Some("ip-10-0-0-99.eu-west-1.compute.internal".into()),
        ),
        ("default/waiting".into(), None),
        (
            "shop/web-5d8f7c9b6-m9q4r".into(),
            Some("ip-10-0-1-10.eu-west-1.compute.internal".into()),
        ),
        (
            "shop/web-5d8f7c9b6-t3v8w".into(),
            Some("ip-10-0-2-10.eu-west-1.compute.internal".into()),
        ),
        (
            "shop/web-5d8f7c9b6-x7k2p".into(),
            Some("ip-10-0-0-10.eu-west-1.compute.internal".into()),
        ),
    ];
    let c = kubesim::run::state_at(&s, kubesim::sim::SimTime::ZERO);
    let at0: Vec<(String, Option<String>)> = c
        .api
        .pods()
        .iter()
        .filter(|(k, _)| *k != "default/waiting")
        .map(|(k, p)| (k.clone(), p.spec.node_name.clone()))
        .collect();
    let bound: Vec<_> = dumped
        .iter()
        .filter(|(_, n)| n.is_some())
        .cloned()
        .collect();
    assert_eq!(
        at0, bound,
        "the bound pods at t = 0 are exactly the dump's, on their nodes"
    );
    assert!(
        c.api.pods().contains_key("default/waiting"),
        "the pending pod is there too"
    );
    // The dump's ReplicaSet adopts its pods and the Deployment its ReplicaSet: nothing is
    // created before the failure.
    let out = kubesim::run::run(&s, &kubesim::run::RunOptions::default());
    let created: Vec<f64> = out
        .records
        .iter()
        .filter(|r| r.reason == "SuccessfulCreate" || r.reason == "ScalingReplicaSet")
        .map(|r| r.t.as_secs_f64())
        .collect();
    assert!(
        !created.is_empty() && created.iter().all(|t| *t > 120.0),
        "{created:?}"
    );
    // Zone b's web pod is evicted after the default 300 s unreachable toleration
    // (NotReady at 120 s + 50 s grace) and replaced.
    let evicted = out
        .records
        .iter()
        .find(|r| r.reason == "TaintManagerEviction")
        .expect("an eviction");
    assert_eq!(evicted.object, "Pod/shop/web-5d8f7c9b6-m9q4r");
    assert_eq!(evicted.t.as_secs_f64(), 470.0);
}

#[test]
fn validate_prints_the_cluster_it_built() {
    let p = from_dump_scenario("");
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["validate", p.to_str().unwrap()])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nodes per zone: eu-west-1/eu-west-1a: 3, eu-west-1/eu-west-1b: 2, eu-west-1/eu-west-1c: 2"), "{text}");
    assert!(
        text.contains("pool general: 6 nodes, 3 bound pods, cpu 1500m of 23460m"),
        "{text}"
    );
    assert!(
        text.contains("pool batch: 1 nodes, 1 bound pods, cpu 2000m of 7910m"),
        "{text}"
    );
    assert!(text.contains("pods to schedule: 1"), "{text}");
}
