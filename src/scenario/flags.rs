//! Component flags under their real names and syntax: kube-controller-manager and
//! kube-apiserver command-line flags, kubelet flags or `KubeletConfiguration` fields, and
//! kube-scheduler flags. Values are parsed while the YAML is read, so an unknown flag or a bad
//! value is reported at its line and column, with a suggestion for a misspelt name.
//!
//! Defaults live in `scenario::resolve`, not here: this table only says what each name is.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::suggest::closest;
use super::values::ScalarText;
use crate::model::duration::parse_go_duration;
use crate::sim::SimDuration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    Duration,
    Float32,
    Int,
    Bool,
    Str,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FlagValue {
    Duration(SimDuration),
    Float32(f32),
    Int(i64),
    Bool(bool),
    Str(String),
}

impl fmt::Display for FlagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagValue::Duration(d) => write!(f, "{d}"),
            FlagValue::Float32(x) => write!(f, "{x}"),
            FlagValue::Int(x) => write!(f, "{x}"),
            FlagValue::Bool(x) => write!(f, "{x}"),
            FlagValue::Str(x) => write!(f, "{x}"),
        }
    }
}

#[derive(Debug)]
pub struct FlagSpec {
    /// The name as written (a flag without dashes, or a config-file field).
    pub name: &'static str,
    /// The setting it sets (aliases share one).
    pub canonical: &'static str,
    pub kind: FlagKind,
}

const fn flag(name: &'static str, kind: FlagKind) -> FlagSpec {
    FlagSpec {
        name,
        canonical: name,
        kind,
    }
}
const fn alias(name: &'static str, canonical: &'static str, kind: FlagKind) -> FlagSpec {
    FlagSpec {
        name,
        canonical,
        kind,
    }
}

/// One component's table of names.
pub trait Component {
    const NAME: &'static str;
    const FLAGS: &'static [FlagSpec];
    /// Real names kubesim accepts but does not model (a warning).
    const UNMODELLED: &'static [&'static str];
    /// Names Kubernetes removed, with the explanation.
    const REMOVED: &'static [(&'static str, &'static str)];
}

use FlagKind::*;

#[derive(Debug)]
pub struct ControllerManager;
impl Component for ControllerManager {
    const NAME: &'static str = "kube-controller-manager";
    const FLAGS: &'static [FlagSpec] = &[
        flag("node-monitor-period", Duration),
        flag("node-monitor-grace-period", Duration),
        flag("node-startup-grace-period", Duration),
        flag("node-eviction-rate", Float32),
        flag("secondary-node-eviction-rate", Float32),
        flag("unhealthy-zone-threshold", Float32),
        flag("large-cluster-size-threshold", Int),
        flag("terminated-pod-gc-threshold", Int),
        flag("leader-elect", Bool),
        flag("leader-elect-lease-duration", Duration),
        flag("leader-elect-renew-deadline", Duration),
        flag("leader-elect-retry-period", Duration),
        flag("kube-api-qps", Float32),
        flag("kube-api-burst", Int),
        flag("endpointslice-updates-batch-period", Duration),
    ];
    const UNMODELLED: &'static [&'static str] = &[
        "concurrent-deployment-syncs",
        "concurrent-replicaset-syncs",
        "concurrent-statefulset-syncs",
        "concurrent-gc-syncs",
        "concurrent-endpoint-syncs",
        "controllers",
        "cluster-cidr",
        "allocate-node-cidrs",
        "cluster-name",
        "node-cidr-mask-size",
        "service-cluster-ip-range",
        "use-service-account-credentials",
        "v",
        "leader-elect-resource-lock",
        "leader-elect-resource-name",
        "leader-elect-resource-namespace",
        "bind-address",
        "secure-port",
        "kubeconfig",
        "authentication-kubeconfig",
        "authorization-kubeconfig",
        "root-ca-file",
        "service-account-private-key-file",
        "cluster-signing-cert-file",
        "cluster-signing-key-file",
        "feature-gates",
        "cloud-provider",
        "horizontal-pod-autoscaler-sync-period",
    ];
    const REMOVED: &'static [(&'static str, &'static str)] = &[
        ("pod-eviction-timeout", "was removed in Kubernetes v1.27 (#115840); pods are evicted by taint-based eviction, set the delay with kube-apiserver default-unreachable-toleration-seconds / default-not-ready-toleration-seconds"),
        ("enable-taint-manager", "was removed in Kubernetes v1.27 (#115840); taint-based eviction is always on"),
    ];
}

#[derive(Debug)]
pub struct ApiServer;
impl Component for ApiServer {
    const NAME: &'static str = "kube-apiserver";
    const FLAGS: &'static [FlagSpec] = &[
        flag("default-not-ready-toleration-seconds", Int),
        flag("default-unreachable-toleration-seconds", Int),
        flag("max-requests-inflight", Int),
        flag("max-mutating-requests-inflight", Int),
        flag("kubesim-service-time", Str),
    ];
    const UNMODELLED: &'static [&'static str] = &[
        "enable-admission-plugins",
        "disable-admission-plugins",
        "etcd-servers",
        "service-cluster-ip-range",
        "authorization-mode",
        "v",
        "feature-gates",
        "advertise-address",
        "secure-port",
        "request-timeout",
        "watch-cache",
    ];
    const REMOVED: &'static [(&'static str, &'static str)] = &[];
}

#[derive(Debug)]
pub struct Kubelet;
impl Component for Kubelet {
    const NAME: &'static str = "kubelet";
    const FLAGS: &'static [FlagSpec] = &[
        alias(
            "node-status-update-frequency",
            "nodeStatusUpdateFrequency",
            Duration,
        ),
        flag("nodeStatusUpdateFrequency", Duration),
        flag("nodeStatusReportFrequency", Duration),
        flag("nodeLeaseDurationSeconds", Int),
        flag("node-labels", Str),
        flag("register-with-taints", Str),
        flag("serializeImagePulls", Bool),
        alias("serialize-image-pulls", "serializeImagePulls", Bool),
        flag("maxParallelImagePulls", Int),
        flag("evictionHard", Str),
        alias("eviction-hard", "evictionHard", Str),
        flag("evictionPressureTransitionPeriod", Duration),
        alias(
            "eviction-pressure-transition-period",
            "evictionPressureTransitionPeriod",
            Duration,
        ),
        flag("evictionSoft", Str),
        alias("eviction-soft", "evictionSoft", Str),
        flag("evictionSoftGracePeriod", Str),
        alias("eviction-soft-grace-period", "evictionSoftGracePeriod", Str),
        flag("kubeAPIQPS", Int),
        alias("kube-api-qps", "kubeAPIQPS", Int),
        flag("kubeAPIBurst", Int),
        alias("kube-api-burst", "kubeAPIBurst", Int),
        flag("evictionMaxPodGracePeriod", Int),
        alias(
            "eviction-max-pod-grace-period",
            "evictionMaxPodGracePeriod",
            Int,
        ),
    ];
    const UNMODELLED: &'static [&'static str] = &[
        "maxPods",
        "max-pods",
        "registryPullQPS",
        "registryBurst",
        "imageGCHighThresholdPercent",
        "imageGCLowThresholdPercent",
        "cgroupDriver",
        "containerRuntimeEndpoint",
        "kubeReserved",
        "systemReserved",
        "featureGates",
        "syncFrequency",
        "fileCheckFrequency",
        "httpCheckFrequency",
        "v",
        "registerWithTaints",
        "cpuManagerPolicy",
        "shutdownGracePeriod",
        "shutdownGracePeriodCriticalPods",
        "podPidsLimit",
        "clusterDNS",
        "clusterDomain",
        "staticPodPath",
        "authentication",
        "authorization",
        "rotateCertificates",
        "serverTLSBootstrap",
    ];
    const REMOVED: &'static [(&'static str, &'static str)] = &[];
}

#[derive(Debug)]
pub struct Scheduler;
impl Component for Scheduler {
    const NAME: &'static str = "kube-scheduler";
    const FLAGS: &'static [FlagSpec] = &[
        flag("config", Str),
        flag("leader-elect", Bool),
        flag("leader-elect-lease-duration", Duration),
        flag("leader-elect-renew-deadline", Duration),
        flag("leader-elect-retry-period", Duration),
    ];
    const UNMODELLED: &'static [&'static str] = &[
        "v",
        "kubeconfig",
        "bind-address",
        "secure-port",
        "feature-gates",
        "authentication-kubeconfig",
        "authorization-kubeconfig",
        "leader-elect-resource-lock",
        "leader-elect-resource-name",
        "leader-elect-resource-namespace",
    ];
    const REMOVED: &'static [(&'static str, &'static str)] = &[];
}

/// Parses one value for `spec`.
pub fn parse_value(spec: &FlagSpec, text: &str) -> Result<FlagValue, String> {
    let bad = |what: &str| format!("invalid value {text:?} for {}: expected {what}", spec.name);
    match spec.kind {
        Duration => parse_go_duration(text)
            .map(FlagValue::Duration)
            .map_err(|e| format!("{}: {e}", spec.name)),
        Float32 => text
            .trim()
            .parse::<f32>()
            .ok()
            .filter(|f| f.is_finite())
            .map(FlagValue::Float32)
            .ok_or_else(|| bad("a number such as 0.1")),
        Int => text
            .trim()
            .parse::<i64>()
            .map(FlagValue::Int)
            .map_err(|_| bad("an integer")),
        Bool => match text.trim() {
            "true" => Ok(FlagValue::Bool(true)),
            "false" => Ok(FlagValue::Bool(false)),
            _ => Err(bad("true or false")),
        },
        Str => Ok(FlagValue::Str(text.to_string())),
    }
}

pub enum Lookup<'a> {
    Known(&'a FlagSpec),
    Unmodelled,
    Removed(&'static str),
    Unknown(Option<&'static str>),
}

pub fn lookup<C: Component>(name: &str) -> Lookup<'static> {
    let name = name.trim_start_matches('-');
    if let Some(s) = C::FLAGS.iter().find(|f| f.name == name) {
        return Lookup::Known(s);
    }
    if C::UNMODELLED.contains(&name) {
        return Lookup::Unmodelled;
    }
    if let Some((_, why)) = C::REMOVED.iter().find(|(n, _)| *n == name) {
        return Lookup::Removed(why);
    }
    let all = C::FLAGS
        .iter()
        .map(|f| f.name)
        .chain(C::UNMODELLED.iter().copied());
    Lookup::Unknown(closest(name, all))
}

/// The flags given for one component, in input order.
#[derive(Debug)]
pub struct ComponentFlags<C> {
    pub values: Vec<(&'static FlagSpec, FlagValue)>,
    pub unmodelled: Vec<String>,
    _c: PhantomData<C>,
}

impl<C> Default for ComponentFlags<C> {
    fn default() -> Self {
        ComponentFlags {
            values: Vec::new(),
            unmodelled: Vec::new(),
            _c: PhantomData,
        }
    }
}

impl<C: Component> ComponentFlags<C> {
    pub fn set(&mut self, name: &str, text: &str) -> Result<(), String> {
        match lookup::<C>(name) {
            Lookup::Known(spec) => {
                let v = parse_value(spec, text)?;
                self.values.retain(|(s, _)| s.canonical != spec.canonical);
                self.values.push((spec, v));
                Ok(())
            }
            Lookup::Unmodelled => {
                self.unmodelled.push(name.to_string());
                Ok(())
            }
            Lookup::Removed(why) => Err(format!("{} flag `{name}` {why}", C::NAME)),
            Lookup::Unknown(s) => Err(match s {
                Some(s) => format!("unknown {} flag `{name}`; did you mean `{s}`?", C::NAME),
                None => format!("unknown {} flag `{name}`", C::NAME),
            }),
        }
    }

    pub fn get(&self, canonical: &str) -> Option<&FlagValue> {
        self.values
            .iter()
            .find(|(s, _)| s.canonical == canonical)
            .map(|(_, v)| v)
    }
}

impl<'de, C: Component> Deserialize<'de> for ComponentFlags<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<C>(PhantomData<C>);
        impl<'de, C: Component> Visitor<'de> for V<C> {
            type Value = ComponentFlags<C>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a map of {} flags (name: value)", C::NAME)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ComponentFlags::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = ComponentFlags::<C>::default();
                while let Some(name) = map.next_key::<String>()? {
                    // Check the name before reading the value, so the error points at it.
                    if let Lookup::Unknown(_) | Lookup::Removed(_) = lookup::<C>(&name) {
                        return Err(de::Error::custom(out.set(&name, "").unwrap_err()));
                    }
                    let value: ScalarText = map.next_value()?;
                    out.set(&name, &value.0).map_err(de::Error::custom)?;
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}
