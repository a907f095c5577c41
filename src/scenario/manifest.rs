//! Raw Kubernetes manifests as they appear in YAML (`v1` Node and Pod, `apps/v1` ReplicaSet and
//! Deployment,
//! `v1` List), with Kubernetes' field names.
//!
//! One schema serves every kind: `spec` and `status` accept the union of the fields of the
//! kinds kubesim reads, so a misspelt field is caught at its line and column with a suggestion
//! (like `kubectl --validate=strict`); a field of another kind is rejected by `scenario::convert`
//! with its path. Kubernetes fields that kubesim does not model are accepted and listed by
//! `unmodelled()` so the loader can warn once.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::values::{QuantityValue, ScalarText};

macro_rules! k8s_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
        unmodelled { $( $ig:ident : $igname:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            $( $(#[$fmeta])* #[serde(default)] pub $field: $ty, )*
            $( #[serde(rename = $igname, default)] $ig: Option<serde::de::IgnoredAny>, )*
        }
        impl $name {
            /// Kubernetes fields present in the input that kubesim does not model.
            #[allow(unused_mut)]
            pub fn unmodelled(&self) -> Vec<&'static str> {
                let mut v = Vec::new();
                $( if self.$ig.is_some() { v.push($igname); } )*
                v
            }
        }
    };
}

k8s_struct! {
    /// Any manifest document: `apiVersion`, `kind`, `metadata`, `spec`, `status` (or `items`
    /// for a `List`).
    pub struct RawManifest {
        /// kubesim's own key, only in a scenario's lists: load manifests from this file
        /// (relative to the scenario file; multi-document YAML or a `List`).
        pub file: Option<String>,
        pub api_version: Option<String>,
        pub kind: Option<String>,
        pub metadata: Option<RawObjectMeta>,
        pub spec: Option<RawSpec>,
        pub status: Option<RawStatus>,
        pub items: Option<Vec<RawManifest>>,
        // Secret and ServiceAccount (top-level fields; accepted, they change nothing here)
        pub data: Option<serde_yaml::Value>,
        pub string_data: Option<serde_yaml::Value>,
        #[serde(rename = "type")]
        pub secret_type: Option<String>,
        pub immutable: Option<bool>,
        pub secrets: Option<serde_yaml::Value>,
        pub image_pull_secrets: Option<serde_yaml::Value>,
        pub automount_service_account_token: Option<bool>,
        // PriorityClass (top-level fields)
        pub value: Option<i64>,
        pub global_default: Option<bool>,
        pub preemption_policy: Option<String>,
    }
    unmodelled { description: "description" }
}

k8s_struct! {
    pub struct RawObjectMeta {
        pub name: Option<String>,
        pub generate_name: Option<String>,
        pub namespace: Option<String>,
        pub labels: BTreeMap<String, String>,
        pub annotations: BTreeMap<String, String>,
    }
    unmodelled {
        uid: "uid", resource_version: "resourceVersion", creation_timestamp: "creationTimestamp",
        managed_fields: "managedFields", owner_references: "ownerReferences", finalizers: "finalizers",
        generation: "generation", self_link: "selfLink", deletion_timestamp: "deletionTimestamp",
        deletion_grace_period_seconds: "deletionGracePeriodSeconds",
    }
}

k8s_struct! {
    /// The union of PodSpec, ReplicaSetSpec and NodeSpec.
    pub struct RawSpec {
        // PodSpec
        pub containers: Option<Vec<RawContainer>>,
        pub init_containers: Option<Vec<RawContainer>>,
        pub node_name: Option<String>,
        pub node_selector: Option<BTreeMap<String, String>>,
        pub tolerations: Option<Vec<RawToleration>>,
        pub priority: Option<i32>,
        pub priority_class_name: Option<String>,
        pub restart_policy: Option<String>,
        pub termination_grace_period_seconds: Option<i64>,
        pub overhead: Option<BTreeMap<String, QuantityValue>>,
        pub scheduler_name: Option<String>,
        pub affinity: Option<RawAffinity>,
        pub topology_spread_constraints: Option<Vec<RawTopologySpreadConstraint>>,
        pub preemption_policy: Option<String>,
        pub image_pull_secrets: Option<Vec<RawLocalObjectReference>>,
        /// PodSpec (and JobSpec) `activeDeadlineSeconds`.
        pub active_deadline_seconds: Option<i64>,
        // ReplicaSetSpec and DeploymentSpec
        pub replicas: Option<i32>,
        /// A `LabelSelector` (ReplicaSet, Deployment) or a plain label map
        /// (ReplicationController); which one is decided by the kind.
        pub selector: Option<serde_yaml::Value>,
        pub template: Option<RawPodTemplate>,
        pub min_ready_seconds: Option<i32>,
        pub strategy: Option<RawDeploymentStrategy>,
        pub revision_history_limit: Option<i32>,
        pub progress_deadline_seconds: Option<i32>,
        pub paused: Option<bool>,
        // StatefulSetSpec
        pub service_name: Option<String>,
        pub pod_management_policy: Option<String>,
        /// StatefulSet and DaemonSet `updateStrategy`.
        pub update_strategy: Option<RawUpdateStrategy>,
        // ServiceSpec (v1)
        pub ports: Option<Vec<RawServicePort>>,
        #[serde(rename = "type")]
        pub service_type: Option<String>,
        pub publish_not_ready_addresses: Option<bool>,
        // PodDisruptionBudgetSpec (policy/v1)
        pub min_available: Option<RawIntOrString>,
        pub max_unavailable: Option<RawIntOrString>,
        pub unhealthy_pod_eviction_policy: Option<String>,
        // JobSpec
        pub completions: Option<i32>,
        pub parallelism: Option<i32>,
        pub backoff_limit: Option<i32>,
        pub completion_mode: Option<String>,
        pub ttl_seconds_after_finished: Option<i32>,
        pub suspend: Option<bool>,
        pub manual_selector: Option<bool>,
        pub pod_failure_policy: Option<RawPodFailurePolicy>,
        pub pod_replacement_policy: Option<String>,
        // CronJobSpec
        pub schedule: Option<String>,
        pub time_zone: Option<String>,
        pub starting_deadline_seconds: Option<i64>,
        pub concurrency_policy: Option<String>,
        pub successful_jobs_history_limit: Option<i32>,
        pub failed_jobs_history_limit: Option<i32>,
        pub job_template: Option<RawJobTemplate>,
        // NodeSpec
        pub taints: Option<Vec<RawTaint>>,
        pub unschedulable: Option<bool>,
    }
    unmodelled {
        volumes: "volumes",
        security_context: "securityContext", service_account_name: "serviceAccountName",
        service_account: "serviceAccount", automount_service_account_token: "automountServiceAccountToken",
        dns_policy: "dnsPolicy", dns_config: "dnsConfig", host_network: "hostNetwork", host_pid: "hostPID",
        host_ipc: "hostIPC",
        enable_service_links: "enableServiceLinks",
        runtime_class_name: "runtimeClassName", hostname: "hostname", subdomain: "subdomain",
        host_aliases: "hostAliases", readiness_gates: "readinessGates", share_process_namespace: "shareProcessNamespace",
        ephemeral_containers: "ephemeralContainers", os: "os", scheduling_gates: "schedulingGates",
        resource_claims: "resourceClaims", resources: "resources", set_hostname_as_fqdn: "setHostnameAsFQDN",
        host_users: "hostUsers", deprecated_service_account: "deprecatedServiceAccount",
        volume_claim_templates: "volumeClaimTemplates",
        persistent_volume_claim_retention_policy: "persistentVolumeClaimRetentionPolicy",
        ordinals: "ordinals",
        pod_cidr: "podCIDR", pod_cidrs: "podCIDRs", provider_id: "providerID", config_source: "configSource",
        external_id: "externalID",
        cluster_ip: "clusterIP", cluster_ips: "clusterIPs", session_affinity: "sessionAffinity",
        session_affinity_config: "sessionAffinityConfig", external_traffic_policy: "externalTrafficPolicy",
        internal_traffic_policy: "internalTrafficPolicy", ip_families: "ipFamilies", ip_family_policy: "ipFamilyPolicy",
        load_balancer_ip: "loadBalancerIP", load_balancer_source_ranges: "loadBalancerSourceRanges",
        load_balancer_class: "loadBalancerClass", external_ips: "externalIPs", external_name: "externalName",
        health_check_node_port: "healthCheckNodePort",
        allocate_load_balancer_node_ports: "allocateLoadBalancerNodePorts",
        traffic_distribution: "trafficDistribution", finalizers: "finalizers",
        backoff_limit_per_index: "backoffLimitPerIndex", max_failed_indexes: "maxFailedIndexes",
        success_policy: "successPolicy", managed_by: "managedBy",
    }
}

/// The union of NodeStatus, PodStatus, ReplicaSetStatus, DeploymentStatus, …: only a Node's
/// `capacity`, `allocatable` and `images` and a Pod's `phase` are read. `status` is written by
/// the server, so any other field is accepted and dropped (`scenario::dump` counts it in the
/// file's one warning).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawStatus {
    #[serde(default)]
    pub capacity: Option<BTreeMap<String, QuantityValue>>,
    #[serde(default)]
    pub allocatable: Option<BTreeMap<String, QuantityValue>>,
    /// A Pod's phase (a dump of pods already Succeeded or Failed sets the starting state).
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub images: Option<Vec<RawContainerImage>>,
}

k8s_struct! {
    pub struct RawContainer {
        pub name: Option<String>,
        pub image: Option<String>,
        pub resources: Option<RawResources>,
        pub ports: Option<Vec<RawContainerPort>>,
        pub image_pull_policy: Option<String>,
        pub liveness_probe: Option<RawProbe>,
        pub readiness_probe: Option<RawProbe>,
        pub startup_probe: Option<RawProbe>,
        pub lifecycle: Option<RawLifecycle>,
        pub restart_policy: Option<String>,
    }
    unmodelled {
        command: "command", args: "args", env: "env", env_from: "envFrom",
        volume_mounts: "volumeMounts", volume_devices: "volumeDevices",
        security_context: "securityContext", working_dir: "workingDir",
        termination_message_path: "terminationMessagePath", termination_message_policy: "terminationMessagePolicy",
        stdin: "stdin", stdin_once: "stdinOnce", tty: "tty", resize_policy: "resizePolicy",
    }
}

k8s_struct! {
    /// `v1.Probe`: timing fields are read; the handler (exec, httpGet, tcpSocket, grpc) is
    /// accepted, its outcome comes from the container's behaviour model.
    pub struct RawProbe {
        pub initial_delay_seconds: Option<i64>,
        pub period_seconds: Option<i64>,
        pub timeout_seconds: Option<i64>,
        pub success_threshold: Option<i64>,
        pub failure_threshold: Option<i64>,
        pub termination_grace_period_seconds: Option<i64>,
        pub exec: Option<serde::de::IgnoredAny>,
        pub http_get: Option<serde::de::IgnoredAny>,
        pub tcp_socket: Option<serde::de::IgnoredAny>,
        pub grpc: Option<serde::de::IgnoredAny>,
    }
    unmodelled {}
}

k8s_struct! {
    /// `v1.Lifecycle`: only `preStop` matters to the simulated kubelet.
    pub struct RawLifecycle {
        pub pre_stop: Option<RawLifecycleHandler>,
    }
    unmodelled { post_start: "postStart", stop_signal: "stopSignal" }
}

k8s_struct! {
    pub struct RawLifecycleHandler {
        pub sleep: Option<RawSleepAction>,
        pub exec: Option<serde::de::IgnoredAny>,
        pub http_get: Option<serde::de::IgnoredAny>,
        pub tcp_socket: Option<serde::de::IgnoredAny>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawSleepAction {
        pub seconds: Option<i64>,
    }
    unmodelled {}
}

k8s_struct! {
    /// `v1.LocalObjectReference` (`imagePullSecrets[]`).
    pub struct RawLocalObjectReference {
        pub name: Option<String>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawResources {
        pub requests: Option<BTreeMap<String, QuantityValue>>,
        pub limits: Option<BTreeMap<String, QuantityValue>>,
    }
    unmodelled { claims: "claims" }
}

k8s_struct! {
    pub struct RawToleration {
        pub key: Option<String>,
        pub operator: Option<String>,
        pub value: Option<String>,
        pub effect: Option<String>,
        pub toleration_seconds: Option<i64>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawTaint {
        pub key: Option<String>,
        pub value: Option<String>,
        pub effect: Option<String>,
    }
    unmodelled { time_added: "timeAdded" }
}

k8s_struct! {
    pub struct RawLabelSelector {
        pub match_labels: BTreeMap<String, String>,
        pub match_expressions: Vec<RawSelectorRequirement>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawSelectorRequirement {
        pub key: String,
        pub operator: String,
        pub values: Vec<ScalarText>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawPodTemplate {
        pub metadata: Option<RawObjectMeta>,
        pub spec: Option<Box<RawSpec>>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawContainerPort {
        pub container_port: Option<i32>,
        pub host_port: Option<i32>,
        pub protocol: Option<String>,
        #[serde(rename = "hostIP")]
        pub host_ip: Option<String>,
    }
    unmodelled { name: "name" }
}

k8s_struct! {
    pub struct RawContainerImage {
        pub names: Vec<String>,
        pub size_bytes: Option<i64>,
    }
    unmodelled {}
}

k8s_struct! {
    /// `DeploymentStrategy`.
    pub struct RawDeploymentStrategy {
        #[serde(rename = "type")]
        pub type_: Option<String>,
        pub rolling_update: Option<RawRollingUpdate>,
    }
    unmodelled {}
}

k8s_struct! {
    /// The union of `StatefulSetUpdateStrategy` and `DaemonSetUpdateStrategy`.
    pub struct RawUpdateStrategy {
        #[serde(rename = "type")]
        pub type_: Option<String>,
        pub rolling_update: Option<RawSetRollingUpdate>,
    }
    unmodelled {}
}

k8s_struct! {
    /// The union of `RollingUpdateStatefulSetStrategy` (partition, maxUnavailable) and
    /// `RollingUpdateDaemonSet` (maxUnavailable, maxSurge).
    pub struct RawSetRollingUpdate {
        pub partition: Option<i32>,
        pub max_unavailable: Option<RawIntOrString>,
        pub max_surge: Option<RawIntOrString>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawAffinity {
        pub node_affinity: Option<RawNodeAffinity>,
        pub pod_affinity: Option<RawPodAffinity>,
        pub pod_anti_affinity: Option<RawPodAffinity>,
    }
    unmodelled {}
}

k8s_struct! {
    /// `RollingUpdateDeployment`.
    pub struct RawRollingUpdate {
        pub max_surge: Option<RawIntOrString>,
        pub max_unavailable: Option<RawIntOrString>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawNodeAffinity {
        pub required_during_scheduling_ignored_during_execution: Option<RawNodeSelector>,
        pub preferred_during_scheduling_ignored_during_execution: Vec<RawPreferredSchedulingTerm>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawNodeSelector {
        pub node_selector_terms: Vec<RawNodeSelectorTerm>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawNodeSelectorTerm {
        pub match_expressions: Vec<RawSelectorRequirement>,
        pub match_fields: Vec<RawSelectorRequirement>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawPreferredSchedulingTerm {
        pub weight: i32,
        pub preference: RawNodeSelectorTerm,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawPodAffinity {
        pub required_during_scheduling_ignored_during_execution: Vec<RawPodAffinityTerm>,
        pub preferred_during_scheduling_ignored_during_execution: Vec<RawWeightedPodAffinityTerm>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawPodAffinityTerm {
        pub label_selector: Option<RawLabelSelector>,
        pub namespaces: Vec<String>,
        pub namespace_selector: Option<RawLabelSelector>,
        pub topology_key: String,
    }
    unmodelled { match_label_keys: "matchLabelKeys", mismatch_label_keys: "mismatchLabelKeys" }
}

k8s_struct! {
    pub struct RawWeightedPodAffinityTerm {
        pub weight: i32,
        pub pod_affinity_term: RawPodAffinityTerm,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawTopologySpreadConstraint {
        pub max_skew: Option<i32>,
        pub topology_key: Option<String>,
        pub when_unsatisfiable: Option<String>,
        pub label_selector: Option<RawLabelSelector>,
        pub min_domains: Option<i32>,
        pub node_affinity_policy: Option<String>,
        pub node_taints_policy: Option<String>,
        pub match_label_keys: Vec<String>,
    }
    unmodelled {}
}

/// `intstr.IntOrString`: a YAML integer or string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawIntOrString {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for RawIntOrString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawIntOrString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or a percentage such as \"25%\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawIntOrString, E> {
                Ok(RawIntOrString::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawIntOrString, E> {
                Ok(RawIntOrString::Int(v.min(i64::MAX as u64) as i64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawIntOrString, E> {
                Ok(RawIntOrString::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

k8s_struct! {
    /// A `v1.ServicePort`.
    pub struct RawServicePort {
        pub name: Option<String>,
        pub protocol: Option<String>,
        pub port: Option<i32>,
        pub target_port: Option<RawIntOrString>,
    }
    unmodelled { node_port: "nodePort", app_protocol: "appProtocol" }
}

k8s_struct! {
    /// `JobTemplateSpec` of a CronJob.
    pub struct RawJobTemplate {
        pub metadata: Option<RawObjectMeta>,
        pub spec: Option<Box<RawSpec>>,
    }
    unmodelled {}
}

k8s_struct! {
    /// `PodFailurePolicy`.
    pub struct RawPodFailurePolicy {
        pub rules: Vec<RawPodFailurePolicyRule>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawPodFailurePolicyRule {
        pub action: String,
        pub on_exit_codes: Option<RawOnExitCodes>,
        pub on_pod_conditions: Option<Vec<RawOnPodCondition>>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawOnExitCodes {
        pub container_name: Option<String>,
        pub operator: String,
        pub values: Vec<i32>,
    }
    unmodelled {}
}

k8s_struct! {
    pub struct RawOnPodCondition {
        #[serde(rename = "type")]
        pub type_: String,
        pub status: Option<String>,
    }
    unmodelled {}
}
