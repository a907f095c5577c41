//! The kubelet's settings (reference §1.1): status and lease frequencies, image pulls, the
//! labels and taints every kubelet registers its Node with, and eviction thresholds.
//!
//! Invariant: validation as KubeletConfiguration's (e.g. `ParseThresholdConfig`: a soft
//! threshold without a grace period is an input error); every value read is echoed.

use super::{dur, intv, parse_taint_text, Resolver};
use crate::kubelet::client::KubeletClientLimits;
use crate::kubelet::pressure::EvictionConfig;
use crate::kubelet::KubeletConfig;
use crate::model::Taint;
use crate::scenario::flags::{self, ComponentFlags, FlagValue};
use crate::scenario::raw::RawSimulation;
use crate::scenario::InputError;
use crate::scenario::{bounds, names};
use crate::sim::SimDuration;

type KubeletFlags = ComponentFlags<flags::Kubelet>;

/// What every kubelet registers its Node with (`--node-labels`, `--register-with-taints`).
#[derive(Default)]
pub(super) struct Registration {
    pub labels: Vec<(String, String)>,
    pub taints: Vec<Taint>,
}

/// The kubelet configuration, the image-pull parallelism (for the runtime) and the Node
/// registration labels and taints.
pub(super) fn kubelet(
    r: &mut Resolver,
    kl: &KubeletFlags,
    sim: &RawSimulation,
) -> Result<(KubeletConfig, usize, Registration), InputError> {
    let (update, report, lease) = frequencies(r, kl)?;
    let max_parallel_pulls = image_pulls(r, kl)?;
    for (name, d) in [
        ("nodeStatusUpdateFrequency", update),
        ("nodeStatusReportFrequency", report),
    ] {
        if let Err(m) = bounds::check_period(d) {
            let f = format!("components.kubelet.{name}");
            return Err(InputError::at_path(r.file, f, m));
        }
    }
    let profile = r.profile.clone();
    let jitter = r.minor >= 34;
    r.setting(
        "kubelet",
        "(status report jitter ±50%)",
        jitter.to_string(),
        profile,
    );
    let registration = registration(r, kl)?;
    let eviction = eviction(r, kl)?;
    let client = kube_api_limits(r, kl)?;
    let kubelet = KubeletConfig {
        eviction,
        node_status_update_frequency: update,
        node_status_report_frequency: report,
        node_lease_duration_seconds: lease as u64,
        report_jitter: jitter,
        lazy_heartbeats: sim.lazy_heartbeats.unwrap_or(true),
        lazy_probes: sim.lazy_probes.unwrap_or(true),
        client,
    };
    for w in &kl.unmodelled {
        r.warnings.insert(format!(
            "kubelet setting `{w}` is not modelled by kubesim; it is ignored"
        ));
    }
    Ok((kubelet, max_parallel_pulls, registration))
}

/// `kubeAPIQPS` (default 50) / `kubeAPIBurst` (default 100, both since 1.27): the budget of the
/// kubelet's rate-limited client. Negative values are refused as by the kubelet's validation
/// (pkg/kubelet/apis/config/validation: "must not be a negative number"); 0 is kept (see
/// `KubeletClientLimits::bucket`).
fn kube_api_limits(r: &mut Resolver, kl: &KubeletFlags) -> Result<KubeletClientLimits, InputError> {
    let qps = intv(r.get(kl, "kubeAPIQPS", FlagValue::Int(50), "default"));
    let burst = intv(r.get(kl, "kubeAPIBurst", FlagValue::Int(100), "default"));
    let mut out = [0i32; 2];
    for (i, (name, v)) in [("kubeAPIQPS", qps), ("kubeAPIBurst", burst)]
        .into_iter()
        .enumerate()
    {
        if !(0..=i64::from(i32::MAX)).contains(&v) {
            return Err(InputError::at_path(
                r.file,
                format!("components.kubelet.{name}"),
                format!(
                    "must not be a negative number and at most {} (got {v})",
                    i32::MAX
                ),
            ));
        }
        out[i] = v as i32;
    }
    Ok(KubeletClientLimits {
        qps: out[0],
        burst: out[1],
    })
}

/// Status update and report frequencies and the lease duration: the report frequency
/// follows an explicitly set update frequency.
fn frequencies(
    r: &mut Resolver,
    kl: &KubeletFlags,
) -> Result<(SimDuration, SimDuration, i64), InputError> {
    let update_set = kl.get("nodeStatusUpdateFrequency").is_some();
    let update = dur(r.get(
        kl,
        "nodeStatusUpdateFrequency",
        FlagValue::Duration(SimDuration::from_secs(10)),
        "default",
    ));
    let report_default = if update_set {
        update
    } else {
        SimDuration::from_mins(5)
    };
    let report_source = if update_set {
        "follows nodeStatusUpdateFrequency"
    } else {
        "default"
    };
    let report = dur(r.get(
        kl,
        "nodeStatusReportFrequency",
        FlagValue::Duration(report_default),
        report_source,
    ));
    let lease = intv(r.get(
        kl,
        "nodeLeaseDurationSeconds",
        FlagValue::Int(40),
        "default",
    ));
    if lease <= 0 {
        return Err(InputError::at_path(
            r.file,
            "components.kubelet.nodeLeaseDurationSeconds",
            "must be greater than 0",
        ));
    }
    if lease > bounds::MAX_NODE_LEASE_SECONDS {
        return Err(InputError::at_path(
            r.file,
            "components.kubelet.nodeLeaseDurationSeconds",
            format!(
                "must be between 1 and {} (one year: the kubelet plans 60 renewals ahead, \
                 which must fit the simulation clock), got {lease}",
                bounds::MAX_NODE_LEASE_SECONDS
            ),
        ));
    }
    Ok((update, report, lease))
}

/// Image pulls: one at a time unless `serializeImagePulls: false`; then at most
/// `maxParallelImagePulls` (unlimited when unset). Validation as KubeletConfiguration's.
fn image_pulls(r: &mut Resolver, kl: &KubeletFlags) -> Result<usize, InputError> {
    let serialize = matches!(
        r.get(kl, "serializeImagePulls", FlagValue::Bool(true), "default"),
        FlagValue::Bool(true)
    );
    let pulls_set = kl.get("maxParallelImagePulls").is_some();
    let max_parallel = intv(r.get(kl, "maxParallelImagePulls", FlagValue::Int(0), "default"));
    if max_parallel < 0 || (pulls_set && max_parallel < 1) {
        return Err(InputError::at_path(
            r.file,
            "components.kubelet.maxParallelImagePulls",
            "must be greater than 0",
        ));
    }
    if serialize && max_parallel > 1 {
        return Err(InputError::at_path(
            r.file,
            "components.kubelet.maxParallelImagePulls",
            "maxParallelImagePulls must be unset or 1 when serializeImagePulls is true",
        ));
    }
    Ok(match (serialize, max_parallel) {
        (true, _) => 1,
        (false, 0) => usize::MAX,
        (false, n) => n as usize,
    })
}

/// A string-valued kubelet setting (empty by default).
fn text(r: &mut Resolver, kl: &KubeletFlags, name: &str, default: &str) -> String {
    match r.get(kl, name, FlagValue::Str(default.into()), "default") {
        FlagValue::Str(s) => s,
        _ => String::new(),
    }
}

/// `--node-labels` and `--register-with-taints`: what every kubelet registers its Node
/// with (a node pool's own labels and taints come on top).
fn registration(r: &mut Resolver, kl: &KubeletFlags) -> Result<Registration, InputError> {
    let node_labels_text = text(r, kl, "node-labels", "");
    let mut out = Registration::default();
    for pair in node_labels_text.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(InputError::at_path(
                r.file,
                "components.kubelet.node-labels",
                format!("expected `key=value[,key=value…]`; {pair:?} has no `=`"),
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if let Err(m) = names::label_key(k).and_then(|_| names::label_value(v)) {
            return Err(InputError::at_path(
                r.file,
                "components.kubelet.node-labels",
                m,
            ));
        }
        out.labels.push((k.to_string(), v.to_string()));
    }
    let taints_text = text(r, kl, "register-with-taints", "");
    for t in taints_text.split(',').filter(|p| !p.trim().is_empty()) {
        out.taints.push(parse_taint_text(t.trim()).map_err(|msg| {
            InputError::at_path(r.file, "components.kubelet.register-with-taints", msg)
        })?);
    }
    Ok(out)
}

/// `evictionHard`, `evictionPressureTransitionPeriod`, `evictionSoft` with
/// `evictionSoftGracePeriod` (ParseThresholdConfig: every soft threshold needs a grace
/// period) and `evictionMaxPodGracePeriod`.
fn eviction(r: &mut Resolver, kl: &KubeletFlags) -> Result<EvictionConfig, InputError> {
    let file = r.file;
    let eviction_hard = text(r, kl, "evictionHard", "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%,imagefs.inodesFree<5%");
    no_negative_threshold(file, "evictionHard", &eviction_hard)?;
    let (memory_available, nodefs_available, pid_available) =
        crate::kubelet::pressure::parse_eviction_hard(&eviction_hard)
            .map_err(|m| InputError::at_path(file, "components.kubelet.evictionHard", m))?;
    let transition = dur(r.get(
        kl,
        "evictionPressureTransitionPeriod",
        FlagValue::Duration(SimDuration::from_mins(5)),
        "default",
    ));
    let soft_text = text(r, kl, "evictionSoft", "");
    no_negative_threshold(file, "evictionSoft", &soft_text)?;
    let (soft_mem, soft_fs, soft_pid) =
        crate::kubelet::pressure::parse_eviction_hard(&soft_text)
            .map_err(|m| InputError::at_path(file, "components.kubelet.evictionSoft", m))?;
    let graces =
        crate::kubelet::pressure::parse_grace_periods(&text(r, kl, "evictionSoftGracePeriod", ""))
            .map_err(|m| {
                InputError::at_path(file, "components.kubelet.evictionSoftGracePeriod", m)
            })?;
    let mut soft = [None; 3];
    for (i, (t, name)) in [
        (soft_mem, "memory.available"),
        (soft_fs, "nodefs.available"),
        (soft_pid, "pid.available"),
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(t) = t {
            let Some(g) = graces[i] else {
                return Err(InputError::at_path(
                    file,
                    "components.kubelet.evictionSoftGracePeriod",
                    format!(
                        "grace period must be specified for the soft eviction threshold {name}"
                    ),
                ));
            };
            soft[i] = Some((t, g));
        }
    }
    let max_pod_grace = match r.get(
        kl,
        "evictionMaxPodGracePeriod",
        FlagValue::Int(0),
        "default",
    ) {
        FlagValue::Int(v) => v,
        _ => 0,
    };
    Ok(EvictionConfig {
        soft,
        max_pod_grace_period: max_pod_grace,
        memory_available,
        nodefs_available,
        pid_available,
        pressure_transition_period: transition,
    })
}

/// A threshold is a quantity or percentage of what is left: a negative one is never met.
fn no_negative_threshold(file: &std::path::Path, name: &str, text: &str) -> Result<(), InputError> {
    for part in text.split(',') {
        if let Some((signal, value)) = part.split_once('<') {
            if value.trim().starts_with('-') {
                return Err(InputError::at_path(
                    file,
                    format!("components.kubelet.{name}"),
                    format!(
                        "{}: threshold must not be negative, got {:?}",
                        signal.trim(),
                        value.trim()
                    ),
                ));
            }
        }
    }
    Ok(())
}
