//! The swarm's scenario generator: from a seed, a random *valid* scenario as YAML text (so the
//! generated scenario is its own reproducer file), loaded through `scenario::load_str` like any
//! file.
//!
//! What it draws: a Kubernetes version 1.27–1.34; one zoned node pool of 3–12 nodes (1–3 zones);
//! flags within their valid ranges (node monitor period and grace, toleration seconds, kubelet
//! status frequency, start/stop/watch delays, image sizes and registry latency); 1–5 workloads of
//! every kind the swarm checks (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job), some with a
//! Service and a PodDisruptionBudget; 1–6 possibly overlapping faults of every healing kind the
//! timeline supports, plus at most one permanent machine loss (`nodeCrash` without a duration or
//! `vmDeleted`, one node). Every pod requests 100m CPU and 64Mi, and one node holds every pod
//! the scenario can create, so capacity allows every workload as long as one node is up.
//!
//! Invariant: a pure function of the seed (its own `swarm/generate` ChaCha stream); the same
//! seed gives the same text on any thread.

use rand::{Rng, RngCore};

use crate::sim::rng;

/// One timeline entry: start, optional duration (seconds) and its fault body (one YAML line).
#[derive(Clone, Debug)]
pub struct Fault {
    pub at: u64,
    pub duration: Option<u64>,
    pub body: String,
}

/// A generated scenario in parts, so the shrinker can drop faults and workloads one at a time.
#[derive(Clone, Debug)]
pub struct Generated {
    pub seed: u64,
    /// Everything but `duration`, `workloads` and `timeline`.
    pub head: String,
    /// Each a YAML list item (`- apiVersion: …`, indented by two).
    pub workloads: Vec<String>,
    pub faults: Vec<Fault>,
}

impl Generated {
    /// The scenario text with the given `duration` (seconds).
    pub fn render(&self, duration_secs: u64) -> String {
        let mut s = self.head.clone();
        s.push_str(&format!("duration: {duration_secs}s\n"));
        if self.workloads.is_empty() {
            s.push_str("workloads: []\n");
        } else {
            s.push_str("workloads:\n");
            for w in &self.workloads {
                s.push_str(w);
            }
        }
        if self.faults.is_empty() {
            s.push_str("timeline: []\n");
        } else {
            s.push_str("timeline:\n");
            for f in &self.faults {
                match f.duration {
                    Some(d) => s.push_str(&format!(
                        "- {{at: {}s, duration: {d}s, {}}}\n",
                        f.at, f.body
                    )),
                    None => s.push_str(&format!("- {{at: {}s, {}}}\n", f.at, f.body)),
                }
            }
        }
        s
    }
}

/// A node set: one or two nodes by name, or (sometimes) a whole zone.
fn node_set(r: &mut impl RngCore, names: &[String], zones: usize, allow_zone: bool) -> String {
    if allow_zone && zones > 1 && r.random_bool(0.15) {
        return format!("zones: [z{}]", r.random_range(0..zones));
    }
    let a = r.random_range(0..names.len());
    let b = r.random_range(0..names.len());
    if a != b && r.random_bool(0.3) {
        format!("nodes: [{}, {}]", names[a], names[b])
    } else {
        format!("nodes: [{}]", names[a])
    }
}

fn head(r: &mut impl RngCore, seed: u64, zones: usize, per_zone: usize) -> String {
    let minor = r.random_range(27..=34);
    let zone_list: Vec<String> = (0..zones).map(|z| format!("z{z}")).collect();
    let period = r.random_range(1..=5);
    let grace = r.random_range(20..=60);
    let not_ready = r.random_range(10..=300);
    let unreachable = r.random_range(10..=300);
    let status = r.random_range(4..=10);
    let start_min = r.random_range(0..=2000);
    let start_max = start_min + r.random_range(0..=4000);
    let stop = r.random_range(0..=3000);
    let watch = if r.random_bool(0.5) {
        0
    } else {
        r.random_range(1..=100)
    };
    let image_mi = r.random_range(0..=200);
    let latency = r.random_range(0..=1000);
    format!(
        "# kubesim swarm: generated from seed {seed}.\n\
name: swarm-{seed}\n\
seed: {seed}\n\
kubernetesVersion: \"1.{minor}\"\n\
cluster:\n\
\x20 nodePools:\n\
\x20 - name: w\n\
\x20   count: {per_zone}\n\
\x20   zones: [{zones}]\n\
\x20   capacity: {{cpu: \"4\", memory: 8Gi, pods: \"110\"}}\n\
components:\n\
\x20 kube-apiserver: {{default-not-ready-toleration-seconds: {not_ready}, default-unreachable-toleration-seconds: {unreachable}}}\n\
\x20 kube-controller-manager: {{node-monitor-period: {period}s, node-monitor-grace-period: {grace}s}}\n\
\x20 kubelet: {{nodeStatusUpdateFrequency: {status}s}}\n\
simulation:\n\
\x20 containerStartDelay: {{min: {start_min}ms, max: {start_max}ms}}\n\
\x20 containerStopDelay: {stop}ms\n\
\x20 watchDelay: {watch}ms\n\
runtime:\n\
\x20 defaultImageSize: {image_mi}Mi\n\
\x20 nodeBandwidth: 100Mi\n\
\x20 defaultRegistryLatency: {latency}ms\n\
\x20 behaviors:\n\
\x20 - {{name: batch, image: \"batch:*\", run: {{uniform: [2s, 20s]}}, exitCode: 0}}\n",
        zones = zone_list.join(", ")
    )
}

const CONTAINER: &str =
    "{containers: [{name: c, image: \"app:1\", resources: {requests: {cpu: 100m, memory: 64Mi}}}]}";

/// One workload (and perhaps its Service and PDB); `name` is also its `app` label.
fn workload(r: &mut impl RngCore, i: usize, out: &mut Vec<String>) -> Option<String> {
    let kind = r.random_range(0..5);
    let replicas = r.random_range(1..=5);
    let (name, text) = match kind {
        0 | 1 => {
            let (k, n) = if kind == 0 {
                ("Deployment", format!("d{i}"))
            } else {
                ("ReplicaSet", format!("r{i}"))
            };
            let t = format!(
                "- apiVersion: apps/v1\n  kind: {k}\n  metadata: {{name: {n}}}\n  spec:\n    replicas: {replicas}\n    selector: {{matchLabels: {{app: {n}}}}}\n    template:\n      metadata: {{labels: {{app: {n}}}}}\n      spec: {CONTAINER}\n"
            );
            (n, t)
        }
        2 => {
            let n = format!("s{i}");
            let policy = if r.random_bool(0.5) {
                "OrderedReady"
            } else {
                "Parallel"
            };
            let t = format!(
                "- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata: {{name: {n}}}\n  spec:\n    serviceName: {n}\n    replicas: {replicas}\n    podManagementPolicy: {policy}\n    selector: {{matchLabels: {{app: {n}}}}}\n    template:\n      metadata: {{labels: {{app: {n}}}}}\n      spec: {CONTAINER}\n"
            );
            (n, t)
        }
        3 => {
            let n = format!("ds{i}");
            let t = format!(
                "- apiVersion: apps/v1\n  kind: DaemonSet\n  metadata: {{name: {n}}}\n  spec:\n    selector: {{matchLabels: {{app: {n}}}}}\n    template:\n      metadata: {{labels: {{app: {n}}}}}\n      spec: {CONTAINER}\n"
            );
            out.push(t);
            return None; // no Service or PDB, and no crash loops (a DaemonSet is not scaled)
        }
        _ => {
            let n = format!("j{i}");
            let completions = r.random_range(1..=4);
            let parallelism = r.random_range(1..=2);
            let restart = if r.random_bool(0.5) {
                "Never"
            } else {
                "OnFailure"
            };
            let t = format!(
                "- apiVersion: batch/v1\n  kind: Job\n  metadata: {{name: {n}}}\n  spec:\n    completions: {completions}\n    parallelism: {parallelism}\n    backoffLimit: 6\n    template:\n      metadata: {{labels: {{app: {n}}}}}\n      spec: {{restartPolicy: {restart}, containers: [{{name: c, image: \"batch:1\", resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}\n"
            );
            out.push(t);
            return None;
        }
    };
    out.push(text);
    if r.random_bool(0.4) {
        out.push(format!(
            "- apiVersion: v1\n  kind: Service\n  metadata: {{name: {name}-svc}}\n  spec: {{selector: {{app: {name}}}, ports: [{{port: 80}}]}}\n"
        ));
    }
    if r.random_bool(0.3) {
        let budget = if r.random_bool(0.5) {
            "maxUnavailable: 1"
        } else {
            "minAvailable: 1"
        };
        out.push(format!(
            "- apiVersion: policy/v1\n  kind: PodDisruptionBudget\n  metadata: {{name: {name}-pdb}}\n  spec: {{{budget}, selector: {{matchLabels: {{app: {name}}}}}}}\n"
        ));
    }
    Some(name)
}

/// One fault. `permanent` says whether a permanent machine loss may still be drawn.
fn fault(
    r: &mut impl RngCore,
    names: &[String],
    zones: usize,
    apps: &[String],
    permanent: &mut bool,
) -> Fault {
    let at = r.random_range(10..=400);
    let duration = Some(r.random_range(5..=300));
    let kind = r.random_range(0..13);
    let (duration, body) = match kind {
        1 | 2 if *permanent && names.len() >= 3 => {
            *permanent = false;
            let one = &names[r.random_range(0..names.len())];
            let k = if kind == 1 { "nodeCrash" } else { "vmDeleted" };
            (None, format!("{k}: {{nodes: [{one}]}}"))
        }
        0..=2 => (
            duration,
            format!("nodeCrash: {{{}}}", node_set(r, names, zones, true)),
        ),
        3 => (
            duration,
            format!("kubeletStop: {{{}}}", node_set(r, names, zones, true)),
        ),
        4 => (
            duration,
            format!("networkPartition: {{{}}}", node_set(r, names, zones, true)),
        ),
        5 => {
            let latency = r.random_range(100..=5000);
            let s = node_set(r, names, zones, true);
            (
                duration,
                format!("slowLeaseRenewals: {{{s}, latency: {latency}ms}}"),
            )
        }
        6 => {
            let effect = ["NoExecute", "NoSchedule"][r.random_range(0..2)];
            let s = node_set(r, names, zones, true);
            (
                duration,
                format!("taintNodes: {{{s}, taint: \"swarm/fault=x:{effect}\"}}"),
            )
        }
        7 => (duration, "apiServerUnavailable: {}".to_string()),
        8 => (None, "controllerManagerRestart: {}".to_string()),
        9 => (duration, "registryOutage: {registry: \"*\"}".to_string()),
        10 => {
            let factor = r.random_range(2..=5);
            (
                duration,
                format!("registrySlow: {{registry: \"*\", factor: {factor}}}"),
            )
        }
        11 => (
            duration,
            format!("runtimeHang: {{{}}}", node_set(r, names, zones, true)),
        ),
        _ if !apps.is_empty() => {
            let app = &apps[r.random_range(0..apps.len())];
            let code = r.random_range(1..=2);
            (
                duration,
                format!("crashLoop: {{labels: {{app: {app}}}, exitCode: {code}, after: 2s}}"),
            )
        }
        _ => (duration, "apiServerUnavailable: {}".to_string()),
    };
    Fault { at, duration, body }
}

/// The scenario of `seed`.
pub fn generate(seed: u64) -> Generated {
    let mut r = rng::stream(seed, "swarm/generate");
    let zones = r.random_range(1..=3);
    let per_zone = r.random_range(3usize.div_ceil(zones)..=12 / zones);
    let names: Vec<String> = (0..zones)
        .flat_map(|z| (0..per_zone).map(move |i| format!("w-z{z}-{i}")))
        .collect();
    let head = head(&mut r, seed, zones, per_zone);
    let mut workloads = Vec::new();
    let mut apps = Vec::new();
    for i in 0..r.random_range(1..=5) {
        apps.extend(workload(&mut r, i, &mut workloads));
    }
    let mut permanent = true;
    let faults = (0..r.random_range(1..=6))
        .map(|_| fault(&mut r, &names, zones, &apps, &mut permanent))
        .collect();
    Generated {
        seed,
        head,
        workloads,
        faults,
    }
}
