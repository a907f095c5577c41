//! The scenario file as written: serde structs with `deny_unknown_fields`, so every misspelt
//! field is an error at its line and column. Nothing here has defaults resolved; that happens
//! in one place, `scenario::resolve`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::flags::{self, ComponentFlags};
use super::manifest::{RawManifest, RawTaint};
use super::values::{DurationValue, QuantityValue, ScalarText};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub duration: DurationValue,
    pub kubernetes_version: Option<VersionText>,
    pub cluster: RawCluster,
    #[serde(default)]
    pub components: RawComponents,
    #[serde(default)]
    pub simulation: RawSimulation,
    /// Behaviour models, images and registries.
    #[serde(default)]
    pub runtime: super::behaviors::RawRuntime,
    #[serde(default)]
    pub output: RawOutput,
    #[serde(default)]
    pub workloads: Vec<RawManifestEntry>,
    #[serde(default)]
    pub timeline: Vec<RawTimelineEntry>,
    /// Random faults next to the timeline (`scenario::failures`).
    #[serde(default)]
    pub failure_models: Vec<super::failures::RawFailureModel>,
    /// kube-proxy's sync periods (`scenario::traffic`).
    pub kube_proxy: Option<super::traffic::RawKubeProxy>,
    /// Synthetic Service clients (`scenario::traffic`).
    #[serde(default)]
    pub traffic: Vec<super::traffic::RawTrafficClient>,
    #[serde(default)]
    pub expect: Vec<RawExpectEntry>,
    /// Pods or Jobs created over time (`scenario::arrivals`).
    #[serde(default)]
    pub arrivals: Vec<super::arrivals::RawArrivals>,
    /// End the run early when this holds (`arrivalsFinished`).
    pub stop_when: Option<String>,
}

/// A version must be a string: `1.30` as a YAML number would read as 1.3.
#[derive(Debug)]
pub struct VersionText(pub String);

impl<'de> Deserialize<'de> for VersionText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = VersionText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a quoted version string such as \"1.34\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<VersionText, E> {
                Ok(VersionText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<VersionText, E> {
                Err(E::custom(format!("must be a quoted string such as \"1.34\", not the number {v} (as a YAML number, 1.30 reads as 1.3)")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<VersionText, E> {
                Err(E::custom(format!(
                    "kubernetesVersion must be a quoted string such as \"1.34\", not {v}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A manifest inline, or `{file: path}` (relative to the scenario file).
pub type RawManifestEntry = RawManifest;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCluster {
    #[serde(default)]
    pub node_pools: Vec<RawNodePool>,
    #[serde(default)]
    pub nodes: Vec<RawManifestEntry>,
    /// `kubectl get nodes,pods,… -o yaml` dumps: Nodes become the cluster, the rest workloads
    /// (`scenario::dump`).
    #[serde(default, deserialize_with = "super::values::one_or_many")]
    pub from_dump: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNodePool {
    #[serde(deserialize_with = "super::values::required")]
    pub name: String,
    /// Nodes per zone (or in total when no zones are given).
    pub count: u32,
    #[serde(default, deserialize_with = "super::values::required_list")]
    pub zones: Vec<String>,
    #[serde(default, deserialize_with = "super::values::required_opt")]
    pub region: Option<String>,
    pub capacity: BTreeMap<String, QuantityValue>,
    pub allocatable: Option<BTreeMap<String, QuantityValue>>,
    #[serde(default, deserialize_with = "super::values::required_map")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<RawTaint>,
    /// Images present on every node of the pool at boot (pre-pulled), by name.
    #[serde(default)]
    pub images: Vec<String>,
    /// Static pods: Pod manifests in every node's `staticPodPath`, run by the kubelet itself.
    #[serde(default)]
    pub static_pods: Vec<RawManifestEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComponents {
    #[serde(rename = "kube-apiserver", default)]
    pub apiserver: ComponentFlags<flags::ApiServer>,
    #[serde(rename = "kube-controller-manager", default)]
    pub controller_manager: ComponentFlags<flags::ControllerManager>,
    #[serde(rename = "kube-scheduler", default)]
    pub scheduler: ComponentFlags<flags::Scheduler>,
    #[serde(rename = "kubelet", default)]
    pub kubelet: ComponentFlags<flags::Kubelet>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSimulation {
    /// Watch propagation delay from the API server to every informer cache.
    pub watch_delay: Option<DurationValue>,
    pub container_start_delay: Option<RawRange>,
    pub container_stop_delay: Option<DurationValue>,
    pub max_events: Option<u64>,
    /// Evaluate steady-state lease renewals lazily (default true; same event log either way).
    pub lazy_heartbeats: Option<bool>,
    /// Skip steady-state probe successes that change nothing (default true; same event log).
    pub lazy_probes: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRange {
    pub min: DurationValue,
    pub max: DurationValue,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawOutput {
    pub sample_interval: Option<DurationValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTimelineEntry {
    pub at: DurationValue,
    /// How long the fault lasts; absent = until the end of the run.
    pub duration: Option<DurationValue>,
    pub node_crash: Option<RawNodeSet>,
    pub kubelet_stop: Option<RawNodeSet>,
    pub vm_deleted: Option<RawNodeSet>,
    pub network_partition: Option<RawNodeSet>,
    pub slow_lease_renewals: Option<RawSlowLease>,
    pub taint_nodes: Option<RawTaintNodes>,
    pub api_server_unavailable: Option<RawEmpty>,
    pub controller_manager_restart: Option<RawEmpty>,
    /// Container runtime and registry faults (the kubelet layer).
    pub registry_outage: Option<RawRegistryFault>,
    pub registry_slow: Option<RawRegistryFault>,
    pub runtime_hang: Option<RawNodeSet>,
    pub crash_loop: Option<RawCrashLoop>,
    pub memory_leak: Option<RawMemoryLeak>,
    /// Actions (instantaneous, as an operator's kubectl command).
    pub scale_deployment: Option<RawScaleDeployment>,
    pub set_image: Option<RawSetImage>,
    pub delete_object: Option<RawDeleteObject>,
    pub rollback_deployment: Option<RawRollbackDeployment>,
    pub cordon: Option<super::actions::RawCordon>,
    pub uncordon: Option<super::actions::RawCordon>,
    pub drain: Option<super::actions::RawDrain>,
    pub evict_pod: Option<super::actions::RawEvictPod>,
    /// `kubectl apply` of a manifest (inline or `file:`) at `at`.
    pub apply: Option<Box<RawManifestEntry>>,
    pub add_nodes: Option<super::arrivals::RawAddNodes>,
    pub delete_nodes: Option<super::arrivals::RawDeleteNodes>,
}

/// `registryOutage` / `registrySlow`: a registry host (`*`: every registry) refuses pulls, or
/// serves them `factor` times slower.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRegistryFault {
    pub registry: String,
    pub factor: Option<u32>,
}

/// `crashLoop`: the containers of pods matching `labels` exit with `exitCode` now, and every
/// run of theirs that starts during the fault exits `after` its start.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCrashLoop {
    pub labels: BTreeMap<String, String>,
    pub exit_code: Option<i32>,
    pub after: Option<DurationValue>,
}

/// `memoryLeak`: the running containers of pods matching `labels` use `rate` more memory
/// every second while the fault lasts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMemoryLeak {
    pub labels: BTreeMap<String, String>,
    pub rate: QuantityValue,
}

/// `kubectl rollout undo deployment/NAME [--to-revision=N]` (0: the previous revision).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRollbackDeployment {
    pub name: String,
    pub namespace: Option<String>,
    #[serde(default)]
    pub to_revision: i64,
}

/// `kubectl delete <kind>/<name> --cascade=<background|foreground|orphan>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDeleteObject {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub propagation_policy: Option<String>,
}

/// `kubectl scale deployment/NAME --replicas=N` (or `statefulset/NAME` with `kind`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawScaleDeployment {
    /// `Deployment` (default) or `StatefulSet`.
    pub kind: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
    pub replicas: i32,
}

/// `kubectl set image deployment/NAME CONTAINER=IMAGE` (or a StatefulSet or DaemonSet with
/// `kind`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSetImage {
    /// `Deployment` (default), `StatefulSet` or `DaemonSet`.
    pub kind: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
    pub container: String,
    pub image: String,
}

/// Which machines a fault hits: named nodes, every node of the named zones, and every node
/// whose labels match `selector` (matchLabels: all pairs equal).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNodeSet {
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
}

/// `slowLeaseRenewals`: the machines' lease renewals take `latency` to reach the API server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSlowLease {
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    pub latency: DurationValue,
}

/// `taintNodes`: an operator adds `taint` (`key[=value]:Effect`) to the nodes, and removes it
/// when the entry's `duration` ends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTaintNodes {
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    pub taint: String,
}

impl RawSlowLease {
    pub fn set(&self) -> RawNodeSet {
        RawNodeSet {
            nodes: self.nodes.clone(),
            zones: self.zones.clone(),
            selector: self.selector.clone(),
        }
    }
}

impl RawTaintNodes {
    pub fn set(&self) -> RawNodeSet {
        RawNodeSet {
            nodes: self.nodes.clone(),
            zones: self.zones.clone(),
            selector: self.selector.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmpty {}

/// One expectation: exactly one of the fields is set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawExpectEntry {
    pub node_condition: Option<RawNodeConditionExpect>,
    pub node_taint: Option<RawNodeTaintExpect>,
    pub pod_count: Option<RawPodCountExpect>,
    pub event_count: Option<RawEventCountExpect>,
    pub event_time: Option<RawEventTimeExpect>,
    pub zone_state: Option<RawZoneStateExpect>,
    pub deployment: Option<RawDeploymentExpect>,
    pub endpoints: Option<RawEndpointsExpect>,
    pub pdb: Option<RawPdbExpect>,
    pub namespace: Option<RawNamespaceExpect>,
    pub job: Option<RawJobExpect>,
    pub stateful_set: Option<RawStatefulSetExpect>,
    pub daemon_set: Option<RawDaemonSetExpect>,
    pub container: Option<RawContainerExpect>,
    pub pod_condition: Option<RawPodConditionExpect>,
    pub replica_set: Option<RawReplicaSetExpect>,
    pub cron_job: Option<RawCronJobExpect>,
}

pub enum RawExpect<'a> {
    NodeCondition(&'a RawNodeConditionExpect),
    NodeTaint(&'a RawNodeTaintExpect),
    PodCount(&'a RawPodCountExpect),
    EventCount(&'a RawEventCountExpect),
    EventTime(&'a RawEventTimeExpect),
    ZoneState(&'a RawZoneStateExpect),
    Deployment(&'a RawDeploymentExpect),
    Endpoints(&'a RawEndpointsExpect),
    Pdb(&'a RawPdbExpect),
    Namespace(&'a RawNamespaceExpect),
    Job(&'a RawJobExpect),
    StatefulSet(&'a RawStatefulSetExpect),
    DaemonSet(&'a RawDaemonSetExpect),
    Container(&'a RawContainerExpect),
    PodCondition(&'a RawPodConditionExpect),
    ReplicaSet(&'a RawReplicaSetExpect),
    CronJob(&'a RawCronJobExpect),
}

impl RawExpectEntry {
    /// The one expectation of this entry, or None if there are zero or several.
    pub fn only(&self) -> Option<RawExpect<'_>> {
        let mut all = Vec::new();
        if let Some(x) = &self.node_condition {
            all.push(RawExpect::NodeCondition(x));
        }
        if let Some(x) = &self.node_taint {
            all.push(RawExpect::NodeTaint(x));
        }
        if let Some(x) = &self.pod_count {
            all.push(RawExpect::PodCount(x));
        }
        if let Some(x) = &self.event_count {
            all.push(RawExpect::EventCount(x));
        }
        if let Some(x) = &self.event_time {
            all.push(RawExpect::EventTime(x));
        }
        if let Some(x) = &self.zone_state {
            all.push(RawExpect::ZoneState(x));
        }
        if let Some(x) = &self.deployment {
            all.push(RawExpect::Deployment(x));
        }
        if let Some(x) = &self.endpoints {
            all.push(RawExpect::Endpoints(x));
        }
        if let Some(x) = &self.pdb {
            all.push(RawExpect::Pdb(x));
        }
        if let Some(x) = &self.namespace {
            all.push(RawExpect::Namespace(x));
        }
        if let Some(x) = &self.job {
            all.push(RawExpect::Job(x));
        }
        if let Some(x) = &self.stateful_set {
            all.push(RawExpect::StatefulSet(x));
        }
        if let Some(x) = &self.daemon_set {
            all.push(RawExpect::DaemonSet(x));
        }
        if let Some(x) = &self.container {
            all.push(RawExpect::Container(x));
        }
        if let Some(x) = &self.pod_condition {
            all.push(RawExpect::PodCondition(x));
        }
        if let Some(x) = &self.replica_set {
            all.push(RawExpect::ReplicaSet(x));
        }
        if let Some(x) = &self.cron_job {
            all.push(RawExpect::CronJob(x));
        }
        if all.len() == 1 {
            all.pop()
        } else {
            None
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNodeConditionExpect {
    pub at: Option<DurationValue>,
    pub node: String,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Required unless `exists: false`.
    pub status: Option<ScalarText>,
    /// `false`: the Node object must not exist (e.g. deleted with its VM).
    pub exists: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNodeTaintExpect {
    pub at: Option<DurationValue>,
    pub node: String,
    /// `key:Effect`.
    pub taint: String,
    #[serde(default = "yes")]
    pub present: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCount {
    pub count: Option<u64>,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPodCountExpect {
    pub at: Option<DurationValue>,
    pub phase: Option<String>,
    pub terminating: Option<bool>,
    /// Pods whose `Ready` condition is (or is not) True.
    pub ready: Option<bool>,
    pub namespace: Option<String>,
    pub node: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub count: Option<u64>,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEventCountExpect {
    pub at: Option<DurationValue>,
    pub reason: String,
    pub object: Option<String>,
    pub message: Option<String>,
    pub zone: Option<String>,
    pub count: Option<u64>,
    pub min: Option<u64>,
    pub max: Option<u64>,
    /// Count only records at or after `from` …
    pub from: Option<DurationValue>,
    /// … and at or before `to` (the same as `at`).
    pub to: Option<DurationValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEventTimeExpect {
    pub reason: String,
    pub object: Option<String>,
    pub message: Option<String>,
    pub zone: Option<String>,
    /// 1 = the first matching event (default).
    pub nth: Option<u64>,
    /// The expected time (with `tolerance`); exactly one of `at` and `within`.
    pub at: Option<DurationValue>,
    pub tolerance: Option<DurationValue>,
    /// `[min, max]`, either bound `null`: min ≤ t ≤ max.
    pub within: Option<Vec<Option<DurationValue>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawZoneStateExpect {
    pub at: Option<DurationValue>,
    pub zone: String,
    pub state: String,
}

/// A Deployment's status as `kubectl get deployment` shows it: every given field must match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDeploymentExpect {
    pub at: Option<DurationValue>,
    pub name: String,
    pub namespace: Option<String>,
    pub replicas: Option<i32>,
    pub updated_replicas: Option<i32>,
    pub ready_replicas: Option<i32>,
    pub available_replicas: Option<i32>,
    /// The reason of the Progressing condition (e.g. `NewReplicaSetAvailable`).
    pub progressing: Option<String>,
    /// The status of the Available condition ("True" or "False").
    pub available: Option<ScalarText>,
    /// `false`: the object must not exist.
    pub exists: Option<bool>,
}

/// Ready endpoints of a Service (`namespace/name`, or `name` in `default`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEndpointsExpect {
    pub at: Option<DurationValue>,
    pub service: String,
    /// Required unless `exists` is given.
    pub ready: Option<u64>,
    /// `false`: the Service must not exist.
    pub exists: Option<bool>,
}

/// A PodDisruptionBudget's status: every given field must match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPdbExpect {
    pub at: Option<DurationValue>,
    pub name: String,
    pub namespace: Option<String>,
    pub disruptions_allowed: Option<i32>,
    pub current_healthy: Option<i32>,
    pub desired_healthy: Option<i32>,
    pub expected_pods: Option<i32>,
    /// `false`: the object must not exist.
    pub exists: Option<bool>,
}

/// A StatefulSet's status: every given field must match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStatefulSetExpect {
    pub at: Option<DurationValue>,
    pub name: String,
    pub namespace: Option<String>,
    pub replicas: Option<i32>,
    pub ready_replicas: Option<i32>,
    pub available_replicas: Option<i32>,
    pub current_replicas: Option<i32>,
    pub updated_replicas: Option<i32>,
    /// `false`: the object must not exist.
    pub exists: Option<bool>,
}

/// A DaemonSet's status: every given field must match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDaemonSetExpect {
    pub at: Option<DurationValue>,
    pub name: String,
    pub namespace: Option<String>,
    pub desired_number_scheduled: Option<i32>,
    pub current_number_scheduled: Option<i32>,
    pub updated_number_scheduled: Option<i32>,
    pub number_ready: Option<i32>,
    pub number_available: Option<i32>,
    pub number_unavailable: Option<i32>,
    pub number_misscheduled: Option<i32>,
    /// `false`: the object must not exist.
    pub exists: Option<bool>,
}

/// A Namespace's phase: `Active`, `Terminating` or `Absent`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNamespaceExpect {
    pub at: Option<DurationValue>,
    pub name: String,
    /// Required unless `exists` is given.
    pub phase: Option<String>,
    /// `false`: the Namespace must not exist (as `phase: Absent`).
    pub exists: Option<bool>,
}

/// A Job's status as `kubectl get job -o yaml` shows it: every given field must match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawJobExpect {
    pub at: Option<DurationValue>,
    pub name: String,
    pub namespace: Option<String>,
    pub active: Option<i32>,
    pub succeeded: Option<i32>,
    pub failed: Option<i32>,
    pub ready: Option<i32>,
    pub terminating: Option<i32>,
    /// `completedIndexes` of an Indexed Job, as upstream compresses it (`"0-2,4"`).
    pub completed_indexes: Option<String>,
    /// A condition type that must be present with status True (`Complete`, `Failed`, …).
    pub condition: Option<String>,
    /// The reason of that condition (`BackoffLimitExceeded`, `DeadlineExceeded`, …).
    pub reason: Option<String>,
    /// `false`: the Job object must not exist (e.g. deleted by its TTL).
    pub exists: Option<bool>,
}

/// The pods a `container` or `podCondition` expectation reads: `pod` (a name, or
/// `namespace/name`) and/or `labels`, optionally in `namespace`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawContainerExpect {
    pub at: Option<DurationValue>,
    pub pod: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub container: String,
    /// `waiting`, `running` or `terminated`.
    pub state: Option<String>,
    pub waiting_reason: Option<String>,
    pub restart_count: Option<u32>,
    /// `lastState.terminated.exitCode`.
    pub last_exit_code: Option<i32>,
    pub started: Option<bool>,
    pub ready: Option<bool>,
    /// `false`: no selected pod exists.
    pub exists: Option<bool>,
}

/// A pod condition of the selected pods (as for `container`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPodConditionExpect {
    pub at: Option<DurationValue>,
    pub pod: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Required unless `exists` is given.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub status: Option<ScalarText>,
    pub reason: Option<String>,
    pub exists: Option<bool>,
}

/// A ReplicaSet by `name`, or by its owner `deployment` and `revision`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawReplicaSetExpect {
    pub at: Option<DurationValue>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub deployment: Option<String>,
    pub revision: Option<i64>,
    pub replicas: Option<i32>,
    pub ready_replicas: Option<i32>,
    pub available_replicas: Option<i32>,
    pub exists: Option<bool>,
}

/// A CronJob's status: every given field must match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCronJobExpect {
    pub at: Option<DurationValue>,
    pub name: String,
    pub namespace: Option<String>,
    /// The time of the last schedule (from the start of the run).
    pub last_schedule_time: Option<DurationValue>,
    pub last_successful_time: Option<DurationValue>,
    /// How many Jobs `status.active` lists.
    pub active: Option<u64>,
    pub exists: Option<bool>,
}
