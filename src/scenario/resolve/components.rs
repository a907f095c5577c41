//! The control-plane components' flags: kube-apiserver, kube-controller-manager and
//! kube-scheduler (with its `KubeSchedulerConfiguration`), defaults per version profile.
//!
//! Invariant: every flag read goes through [`Resolver::get`], so each effective value is
//! echoed once as a setting, in flag-table order.

use super::{boolv, dur, f32v, intv, Resolver};
use crate::api::{ApiServerConfig, InflightConfig};
use crate::client::leader::LeaderElectionConfig;
use crate::controllers::clients::ClientLimits;
use crate::controllers::nodelifecycle::NodeLifecycleConfig;
use crate::controllers::KcmConfig;
use crate::scenario::bounds;
use crate::scenario::flags::{self, Component, ComponentFlags, FlagValue};
use crate::scenario::{relative, schedconfig, InputError};
use crate::scheduler::SchedulerConfig;
use crate::sim::SimDuration;

/// kube-apiserver (reference §2.1: DefaultTolerationSeconds 300/300).
pub(super) fn apiserver(
    r: &mut Resolver,
    a: &ComponentFlags<flags::ApiServer>,
) -> Result<ApiServerConfig, InputError> {
    let nr = intv(r.get(
        a,
        "default-not-ready-toleration-seconds",
        FlagValue::Int(300),
        "default",
    ));
    let ur = intv(r.get(
        a,
        "default-unreachable-toleration-seconds",
        FlagValue::Int(300),
        "default",
    ));
    for (n, v) in [
        ("default-not-ready-toleration-seconds", nr),
        ("default-unreachable-toleration-seconds", ur),
    ] {
        if v < 0 {
            return Err(InputError::at_path(
                r.file,
                format!("components.kube-apiserver.{n}"),
                "must be greater than or equal to 0",
            ));
        }
        if let Err(m) = bounds::check_seconds(v, 0) {
            let f = format!("components.kube-apiserver.{n}");
            return Err(InputError::at_path(r.file, f, m));
        }
    }
    for w in &a.unmodelled {
        r.warnings.insert(format!(
            "kube-apiserver flag `{w}` is not modelled by kubesim; it is ignored"
        ));
    }
    let inflight = inflight(r, a)?;
    Ok(ApiServerConfig {
        default_not_ready_toleration: SimDuration::from_secs(nr as u64),
        default_unreachable_toleration: SimDuration::from_secs(ur as u64),
        inflight,
    })
}

/// `max-requests-inflight` (400) / `max-mutating-requests-inflight` (200), 0 meaning no limit
/// (maxinflight.go), and kubesim's `kubesim-service-time` (`verb=duration,…`, default none).
fn inflight(
    r: &mut Resolver,
    a: &ComponentFlags<flags::ApiServer>,
) -> Result<InflightConfig, InputError> {
    let mut limits = [0u32; 2];
    for (i, (n, default)) in [
        ("max-requests-inflight", 400),
        ("max-mutating-requests-inflight", 200),
    ]
    .into_iter()
    .enumerate()
    {
        let v = intv(r.get(a, n, FlagValue::Int(default), "default"));
        limits[i] = u32::try_from(v).map_err(|_| {
            let f = format!("components.kube-apiserver.{n}");
            InputError::at_path(r.file, f, "must be between 0 and 4294967295")
        })?;
    }
    let text = match r.get(
        a,
        "kubesim-service-time",
        FlagValue::Str(String::new()),
        "default",
    ) {
        FlagValue::Str(t) => t,
        other => other.to_string(),
    };
    let service_time = InflightConfig::parse_service_times(&text).map_err(|m| {
        InputError::at_path(r.file, "components.kube-apiserver.kubesim-service-time", m)
    })?;
    Ok(InflightConfig {
        max_requests_inflight: limits[0],
        max_mutating_requests_inflight: limits[1],
        service_time,
    })
}

/// kube-controller-manager (reference §2.1; grace 40 s up to 1.31, 50 s from 1.32).
pub(super) fn controller_manager(
    r: &mut Resolver,
    k: &ComponentFlags<flags::ControllerManager>,
) -> Result<KcmConfig, InputError> {
    let node_lifecycle = node_lifecycle(r, k);
    if let Err(m) = bounds::check_period(node_lifecycle.node_monitor_period) {
        let f = "components.kube-controller-manager.node-monitor-period";
        return Err(InputError::at_path(r.file, f, m));
    }
    let value = if r.minor >= 34 {
        "current Ready condition".into()
    } else {
        "observed Ready condition (one pass later)".into()
    };
    let profile = r.profile.clone();
    r.setting(
        "kube-controller-manager",
        "(NoExecute taint decided from)",
        value,
        profile,
    );
    let kcm_le = leader_election(r, k);
    check_leader_election(r, &kcm_le, "kube-controller-manager")?;
    let terminated_pod_gc_threshold = intv(r.get(
        k,
        "terminated-pod-gc-threshold",
        FlagValue::Int(12500),
        "default",
    )) as i32;
    for w in &k.unmodelled {
        r.warnings.insert(format!(
            "kube-controller-manager flag `{w}` is not modelled by kubesim; it is ignored"
        ));
    }
    let client_limits = kube_api_limits(r, k)?;
    let endpoint_updates_batch_period = dur(r.get(
        k,
        "endpointslice-updates-batch-period",
        FlagValue::Duration(SimDuration::ZERO),
        "default",
    ));
    Ok(KcmConfig {
        endpoint_updates_batch_period,
        node_lifecycle,
        leader_election: kcm_le,
        terminated_pod_gc_threshold,
        client_limits,
        // 1.29 moved taint-based eviction out of the node lifecycle controller into its own
        // controller with its own client (cmd/kube-controller-manager/app/core.go
        // `startTaintEvictionController`: `ClientOrDie("taint-eviction-controller")`).
        taint_eviction_own_client: r.minor >= 29,
    })
}

/// `--kube-api-qps` (default 20) / `--kube-api-burst` (default 30): each controller's client.
/// 0 follows client-go (5 qps / burst 10), a negative qps disables the limiter; a negative burst
/// is refused (client-go's limiter would then refuse every request).
fn kube_api_limits(
    r: &mut Resolver,
    k: &ComponentFlags<flags::ControllerManager>,
) -> Result<ClientLimits, InputError> {
    let qps = f32v(r.get(k, "kube-api-qps", FlagValue::Float32(20.0), "default"));
    let burst = intv(r.get(k, "kube-api-burst", FlagValue::Int(30), "default"));
    if !qps.is_finite() {
        let f = "components.kube-controller-manager.kube-api-qps";
        return Err(InputError::at_path(r.file, f, "must be a finite number"));
    }
    if !(0..=i64::from(i32::MAX)).contains(&burst) {
        let f = "components.kube-controller-manager.kube-api-burst";
        return Err(InputError::at_path(
            r.file,
            f,
            format!("must be between 0 and {} (got {burst})", i32::MAX),
        ));
    }
    Ok(ClientLimits {
        qps,
        burst: burst as i32,
    })
}

fn node_lifecycle(
    r: &mut Resolver,
    k: &ComponentFlags<flags::ControllerManager>,
) -> NodeLifecycleConfig {
    let grace_default = if r.minor <= 31 { 40 } else { 50 };
    let profile = r.profile.clone();
    NodeLifecycleConfig {
        node_monitor_period: dur(r.get(
            k,
            "node-monitor-period",
            FlagValue::Duration(SimDuration::from_secs(5)),
            "default",
        )),
        node_monitor_grace_period: dur(r.get(
            k,
            "node-monitor-grace-period",
            FlagValue::Duration(SimDuration::from_secs(grace_default)),
            &profile,
        )),
        node_startup_grace_period: dur(r.get(
            k,
            "node-startup-grace-period",
            FlagValue::Duration(SimDuration::from_secs(60)),
            "default",
        )),
        node_eviction_rate: f32v(r.get(
            k,
            "node-eviction-rate",
            FlagValue::Float32(0.1),
            "default",
        )),
        secondary_node_eviction_rate: f32v(r.get(
            k,
            "secondary-node-eviction-rate",
            FlagValue::Float32(0.01),
            "default",
        )),
        unhealthy_zone_threshold: f32v(r.get(
            k,
            "unhealthy-zone-threshold",
            FlagValue::Float32(0.55),
            "default",
        )),
        large_cluster_size_threshold: intv(r.get(
            k,
            "large-cluster-size-threshold",
            FlagValue::Int(50),
            "default",
        )) as i32,
        taint_from_current_condition: r.minor >= 34,
        lazy_monitor: true,
    }
}

/// The four `leader-elect*` flags shared by kube-controller-manager and kube-scheduler.
fn leader_election<C: Component>(r: &mut Resolver, f: &ComponentFlags<C>) -> LeaderElectionConfig {
    LeaderElectionConfig {
        leader_elect: boolv(r.get(f, "leader-elect", FlagValue::Bool(true), "default")),
        lease_duration: dur(r.get(
            f,
            "leader-elect-lease-duration",
            FlagValue::Duration(SimDuration::from_secs(15)),
            "default",
        )),
        renew_deadline: dur(r.get(
            f,
            "leader-elect-renew-deadline",
            FlagValue::Duration(SimDuration::from_secs(10)),
            "default",
        )),
        retry_period: dur(r.get(
            f,
            "leader-elect-retry-period",
            FlagValue::Duration(SimDuration::from_secs(2)),
            "default",
        )),
    }
}

/// client-go's `NewLeaderElector` rules: lease duration > renew deadline > retry period ×
/// `JitterFactor` (1.2), all > 0; the retry period also has kubesim's shortest period.
fn check_leader_election(
    r: &Resolver,
    le: &LeaderElectionConfig,
    component: &str,
) -> Result<(), InputError> {
    let err = |flag: &str, m: String| {
        let f = format!("components.{component}.{flag}");
        Err(InputError::at_path(r.file, f, m))
    };
    let (lease, renew, retry) = (le.lease_duration, le.renew_deadline, le.retry_period);
    if let Err(m) = bounds::check_period(retry) {
        return err("leader-elect-retry-period", m);
    }
    if renew == SimDuration::ZERO {
        return err(
            "leader-elect-renew-deadline",
            "must be greater than 0".into(),
        );
    }
    if lease <= renew {
        return err(
            "leader-elect-lease-duration",
            format!("must be greater than leader-elect-renew-deadline ({renew}), got {lease}"),
        );
    }
    let min_renew = retry.mul_f64(1.2);
    if renew <= min_renew {
        return err(
            "leader-elect-renew-deadline",
            format!(
                "must be greater than leader-elect-retry-period × 1.2 (client-go's JitterFactor): \
                 more than {min_renew}, got {renew}"
            ),
        );
    }
    Ok(())
}

/// kube-scheduler: its leader election, its `config` file and the version profile.
pub(super) fn scheduler(
    r: &mut Resolver,
    s: &ComponentFlags<flags::Scheduler>,
) -> Result<SchedulerConfig, InputError> {
    let sched_le = leader_election(r, s);
    check_leader_election(r, &sched_le, "kube-scheduler")?;
    let mut scheduler = SchedulerConfig {
        leader_election: sched_le,
        ..SchedulerConfig::default()
    };
    if let Some(FlagValue::Str(cfg)) = s.get("config") {
        let p = relative(r.file, cfg);
        schedconfig::load(&p, &mut scheduler, &mut r.warnings)?;
        r.setting("kube-scheduler", "config", cfg.clone(), "scenario".into());
    }
    // Version profile: NodeResourcesBalancedAllocation skips best-effort pods from v1.33
    // (PR #130260).
    for prof in scheduler.profiles.iter_mut() {
        prof.balanced.skip_best_effort = r.minor >= 33;
    }
    let value = if scheduler.percentage_of_nodes_to_score == 0 {
        "0 (adaptive)".into()
    } else {
        scheduler.percentage_of_nodes_to_score.to_string()
    };
    r.setting(
        "kube-scheduler",
        "percentageOfNodesToScore",
        value,
        "KubeSchedulerConfiguration".into(),
    );
    for w in &s.unmodelled {
        r.warnings.insert(format!(
            "kube-scheduler flag `{w}` is not modelled by kubesim; it is ignored"
        ));
    }
    Ok(scheduler)
}
