//! `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1): the raw schema and its
//! resolution into scheduler profiles (reference scheduler §1 defaults).
//!
//! Plugin names are enum variants and `pluginConfig` entries an adjacently tagged enum, so a
//! misspelt plugin or arg is reported by the YAML parser at its line and column with a
//! did-you-mean; value checks that need the whole document report the field path.

use std::collections::BTreeSet;
use std::path::Path;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::convert::{node_affinity, spread_constraints, Ctx};
use super::error::InputError;
use super::manifest::{RawNodeAffinity, RawTopologySpreadConstraint};
use crate::scheduler::framework::{Plugin, Profile};
use crate::scheduler::plugins::node_resources_fit::ScoringStrategy;
use crate::scheduler::plugins::outoftree::GpuSel;
use crate::scheduler::preemption::{
    PreemptionArgs, MIN_CANDIDATE_NODES_ABSOLUTE, MIN_CANDIDATE_NODES_PERCENTAGE,
};
use crate::scheduler::SchedulerConfig;
use crate::sim::SimDuration;

macro_rules! plugin_names {
    ($($v:ident),* $(,)?) => {
        /// Every plugin name kube-scheduler knows in its default registry, then the
        /// out-of-tree GPU plugins kubesim registers (docs/gpu.md).
        #[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
        pub enum PluginName {
            $($v,)*
            #[serde(rename = "Open-Gpu-Share")]
            OpenGpuShare,
            RandomScore,
            DotProductScore,
            GpuClusteringScore,
            GpuPackingScore,
            BestFitScore,
            #[serde(rename = "FGDScore")]
            FgdScore,
            #[serde(rename = "*")]
            All,
        }
        impl PluginName {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(PluginName::$v => stringify!($v),)*
                    PluginName::OpenGpuShare => "Open-Gpu-Share",
                    PluginName::RandomScore => "RandomScore",
                    PluginName::DotProductScore => "DotProductScore",
                    PluginName::GpuClusteringScore => "GpuClusteringScore",
                    PluginName::GpuPackingScore => "GpuPackingScore",
                    PluginName::BestFitScore => "BestFitScore",
                    PluginName::FgdScore => "FGDScore",
                    PluginName::All => "*",
                }
            }
        }
    };
}

// The plugins kubesim models (the scheduler's list), then the upstream ones a configuration
// may name that have nothing to do here (queue sort, binding, volumes, DRA, gates) or are
// handled outside the framework (DefaultPreemption).
crate::scheduler::profile::modelled_plugins!(
    plugin_names,
    SchedulingGates,
    PrioritySort,
    VolumeRestrictions,
    NodeVolumeLimits,
    VolumeBinding,
    VolumeZone,
    DynamicResources,
    DefaultPreemption,
    DefaultBinder,
);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawConfig {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub percentage_of_nodes_to_score: Option<i64>,
    pub pod_initial_backoff_seconds: Option<i64>,
    pub pod_max_backoff_seconds: Option<i64>,
    pub profiles: Option<Vec<RawProfile>>,
    pub client_connection: Option<RawClientConnection>,
    pub parallelism: Option<IgnoredAny>,
    pub leader_election: Option<IgnoredAny>,
    pub extenders: Option<IgnoredAny>,
    pub delay_cache_until_active: Option<IgnoredAny>,
    pub enable_profiling: Option<IgnoredAny>,
    pub enable_contention_profiling: Option<IgnoredAny>,
    pub feature_gates: Option<IgnoredAny>,
    pub metadata: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawClientConnection {
    pub qps: Option<f64>,
    pub burst: Option<i64>,
    pub kubeconfig: Option<IgnoredAny>,
    pub accept_content_types: Option<IgnoredAny>,
    pub content_type: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawProfile {
    pub scheduler_name: Option<String>,
    pub percentage_of_nodes_to_score: Option<i64>,
    pub plugins: Option<RawPlugins>,
    #[serde(default)]
    pub plugin_config: Vec<RawPluginConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPlugins {
    pub multi_point: Option<RawPluginSet>,
    pub filter: Option<RawPluginSet>,
    pub score: Option<RawPluginSet>,
    pub pre_enqueue: Option<RawPluginSet>,
    pub queue_sort: Option<RawPluginSet>,
    pub pre_filter: Option<RawPluginSet>,
    pub post_filter: Option<RawPluginSet>,
    pub pre_score: Option<RawPluginSet>,
    pub reserve: Option<RawPluginSet>,
    pub permit: Option<RawPluginSet>,
    pub pre_bind: Option<RawPluginSet>,
    pub bind: Option<RawPluginSet>,
    pub post_bind: Option<RawPluginSet>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPluginSet {
    #[serde(default)]
    pub enabled: Vec<RawPlugin>,
    #[serde(default)]
    pub disabled: Vec<RawPlugin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPlugin {
    pub name: PluginName,
    pub weight: Option<i64>,
}

/// `pluginConfig[]`: `{name, args}`, the args' schema chosen by the name.
#[derive(Debug, Deserialize)]
#[serde(tag = "name", content = "args")]
pub enum RawPluginConfig {
    NodeResourcesFit(RawFitArgs),
    NodeResourcesBalancedAllocation(RawBalancedArgs),
    PodTopologySpread(RawSpreadArgs),
    InterPodAffinity(RawIpaArgs),
    DefaultPreemption(RawPreemptionArgs),
    NodeAffinity(RawNodeAffinityArgs),
    VolumeBinding(IgnoredAny),
    DynamicResources(IgnoredAny),
    #[serde(rename = "Open-Gpu-Share")]
    OpenGpuShare(RawGpuArgs),
    RandomScore(RawGpuArgs),
    DotProductScore(RawGpuArgs),
    GpuClusteringScore(RawGpuArgs),
    GpuPackingScore(RawGpuArgs),
    BestFitScore(RawGpuArgs),
    #[serde(rename = "FGDScore")]
    FgdScore(RawGpuArgs),
}

/// The out-of-tree GPU plugins' args (the FGD artifact's): `gpuSelMethod` of Open-Gpu-Share
/// is read; `dimExtMethod` and `normMethod` are accepted and ignored (kubesim models the
/// artifact's experiment settings, docs/gpu.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawGpuArgs {
    pub gpu_sel_method: Option<String>,
    pub dim_ext_method: Option<String>,
    pub norm_method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawFitArgs {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub ignored_resources: Vec<String>,
    #[serde(default)]
    pub ignored_resource_groups: Vec<String>,
    pub scoring_strategy: Option<RawScoringStrategy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawScoringStrategy {
    #[serde(rename = "type")]
    pub type_: Option<StrategyType>,
    pub resources: Option<Vec<RawResourceSpec>>,
    pub requested_to_capacity_ratio: Option<RawRtcr>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum StrategyType {
    LeastAllocated,
    MostAllocated,
    RequestedToCapacityRatio,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawResourceSpec {
    pub name: String,
    pub weight: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRtcr {
    #[serde(default)]
    pub shape: Vec<RawShapePoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawShapePoint {
    pub utilization: i64,
    pub score: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBalancedArgs {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub resources: Option<Vec<RawResourceSpec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSpreadArgs {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub default_constraints: Option<Vec<RawTopologySpreadConstraint>>,
    pub defaulting_type: Option<DefaultingType>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum DefaultingType {
    System,
    List,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawIpaArgs {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub hard_pod_affinity_weight: Option<i64>,
    pub ignore_preferred_terms_of_existing_pods: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPreemptionArgs {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub min_candidate_nodes_percentage: Option<i64>,
    pub min_candidate_nodes_absolute: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNodeAffinityArgs {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub added_affinity: Option<RawNodeAffinity>,
}

/// Reads a KubeSchedulerConfiguration file into `cfg` (profiles, percentage, backoff, client
/// rate limit). Unmodelled fields become warnings.
pub fn load(
    p: &Path,
    cfg: &mut SchedulerConfig,
    warnings: &mut BTreeSet<String>,
) -> Result<(), InputError> {
    let text = super::bounds::read_input(p)?;
    let raw: RawConfig =
        super::strict::from_str(&text).map_err(|e| InputError::from_yaml(p, &e))?;
    resolve(raw, p, cfg, warnings)
}

fn resolve(
    raw: RawConfig,
    p: &Path,
    cfg: &mut SchedulerConfig,
    warnings: &mut BTreeSet<String>,
) -> Result<(), InputError> {
    if raw.kind.as_deref() != Some("KubeSchedulerConfiguration") {
        return Err(InputError::at_path(
            p,
            "kind",
            "expected KubeSchedulerConfiguration",
        ));
    }
    if raw.api_version.as_deref() != Some("kubescheduler.config.k8s.io/v1") {
        return Err(InputError::at_path(
            p,
            "apiVersion",
            "expected kubescheduler.config.k8s.io/v1",
        ));
    }
    let unmodelled = [
        ("parallelism", raw.parallelism.is_some()),
        ("leaderElection", raw.leader_election.is_some()),
        ("extenders", raw.extenders.is_some()),
        (
            "delayCacheUntilActive",
            raw.delay_cache_until_active.is_some(),
        ),
        ("enableProfiling", raw.enable_profiling.is_some()),
        (
            "enableContentionProfiling",
            raw.enable_contention_profiling.is_some(),
        ),
        ("featureGates", raw.feature_gates.is_some()),
    ];
    for (f, set) in unmodelled {
        if set {
            warnings.insert(format!(
                "KubeSchedulerConfiguration field `{f}` is not modelled by kubesim; it is ignored"
            ));
        }
    }
    let pct = |v: Option<i64>, path: &str| -> Result<Option<u32>, InputError> {
        match v {
            None => Ok(None),
            Some(x) if (0..=100).contains(&x) => Ok(Some(x as u32)),
            Some(_) => Err(InputError::at_path(
                p,
                path,
                "must be in the range [0, 100]",
            )),
        }
    };
    if let Some(v) = pct(raw.percentage_of_nodes_to_score, "percentageOfNodesToScore")? {
        cfg.percentage_of_nodes_to_score = v;
    }
    if let Some(s) = raw.pod_initial_backoff_seconds {
        if s <= 0 {
            return Err(InputError::at_path(
                p,
                "podInitialBackoffSeconds",
                "must be greater than 0",
            ));
        }
        cfg.pod_initial_backoff = SimDuration::checked_from_secs(s as u64).ok_or_else(|| {
            let m = super::bounds::check_seconds(s, 1).err().unwrap_or_default();
            InputError::at_path(p, "podInitialBackoffSeconds", m)
        })?;
    }
    if let Some(s) = raw.pod_max_backoff_seconds {
        if s <= 0 {
            return Err(InputError::at_path(
                p,
                "podMaxBackoffSeconds",
                "must be greater than 0",
            ));
        }
        cfg.pod_max_backoff = SimDuration::checked_from_secs(s as u64).ok_or_else(|| {
            let m = super::bounds::check_seconds(s, 1).err().unwrap_or_default();
            InputError::at_path(p, "podMaxBackoffSeconds", m)
        })?;
    }
    if cfg.pod_initial_backoff > cfg.pod_max_backoff {
        return Err(InputError::at_path(
            p,
            "podMaxBackoffSeconds",
            "must be greater than or equal to podInitialBackoffSeconds",
        ));
    }
    if let Some(cc) = &raw.client_connection {
        if let Some(q) = cc.qps {
            if q < 0.0 {
                return Err(InputError::at_path(
                    p,
                    "clientConnection.qps",
                    "must not be negative",
                ));
            }
            cfg.client_qps = q;
        }
        if let Some(b) = cc.burst {
            if b < 0 {
                return Err(InputError::at_path(
                    p,
                    "clientConnection.burst",
                    "must not be negative",
                ));
            }
            cfg.client_burst = b as u32;
        }
    }
    if let Some(profiles) = raw.profiles {
        let mut out: Vec<Profile> = Vec::new();
        for (i, rp) in profiles.into_iter().enumerate() {
            let path = format!("profiles[{i}]");
            let prof = profile(rp, p, &path, warnings)?;
            if out.iter().any(|o| o.scheduler_name == prof.scheduler_name) {
                return Err(InputError::at_path(
                    p,
                    format!("{path}.schedulerName"),
                    format!("duplicate profile for scheduler {:?}", prof.scheduler_name),
                ));
            }
            out.push(prof);
        }
        if !out.is_empty() {
            cfg.profiles = out;
        }
    }
    Ok(())
}

fn modelled(n: PluginName) -> Option<Plugin> {
    Plugin::from_name(n.as_str())
}

fn profile(
    rp: RawProfile,
    p: &Path,
    path: &str,
    warnings: &mut BTreeSet<String>,
) -> Result<Profile, InputError> {
    let mut prof = Profile {
        scheduler_name: rp
            .scheduler_name
            .unwrap_or_else(|| "default-scheduler".into()),
        ..Profile::default()
    };
    if let Some(v) = rp.percentage_of_nodes_to_score {
        if !(0..=100).contains(&v) {
            return Err(InputError::at_path(
                p,
                format!("{path}.percentageOfNodesToScore"),
                "must be in the range [0, 100]",
            ));
        }
        prof.percentage_of_nodes_to_score = Some(v as u32);
    }
    if let Some(pl) = rp.plugins {
        apply_plugins(&mut prof, pl, p, &format!("{path}.plugins"), warnings)?;
    }
    let mut seen = BTreeSet::new();
    for (j, pc) in rp.plugin_config.into_iter().enumerate() {
        let cpath = format!("{path}.pluginConfig[{j}]");
        let name = plugin_config_name(&pc);
        if !seen.insert(name) {
            return Err(InputError::at_path(
                p,
                format!("{cpath}.name"),
                format!("duplicate pluginConfig for plugin {name}"),
            ));
        }
        apply_args(&mut prof, pc, p, &format!("{cpath}.args"), warnings)?;
    }
    Ok(prof)
}

fn plugin_config_name(pc: &RawPluginConfig) -> &'static str {
    match pc {
        RawPluginConfig::NodeResourcesFit(_) => "NodeResourcesFit",
        RawPluginConfig::NodeResourcesBalancedAllocation(_) => "NodeResourcesBalancedAllocation",
        RawPluginConfig::PodTopologySpread(_) => "PodTopologySpread",
        RawPluginConfig::InterPodAffinity(_) => "InterPodAffinity",
        RawPluginConfig::DefaultPreemption(_) => "DefaultPreemption",
        RawPluginConfig::NodeAffinity(_) => "NodeAffinity",
        RawPluginConfig::VolumeBinding(_) => "VolumeBinding",
        RawPluginConfig::DynamicResources(_) => "DynamicResources",
        RawPluginConfig::OpenGpuShare(_) => "Open-Gpu-Share",
        RawPluginConfig::RandomScore(_) => "RandomScore",
        RawPluginConfig::DotProductScore(_) => "DotProductScore",
        RawPluginConfig::GpuClusteringScore(_) => "GpuClusteringScore",
        RawPluginConfig::GpuPackingScore(_) => "GpuPackingScore",
        RawPluginConfig::BestFitScore(_) => "BestFitScore",
        RawPluginConfig::FgdScore(_) => "FGDScore",
    }
}

/// The plugin sets, applied as upstream merges them with the defaults: `disabled` (or `*`)
/// removes default plugins; `enabled` adds plugins or overrides a score weight.
fn apply_plugins(
    prof: &mut Profile,
    pl: RawPlugins,
    p: &Path,
    path: &str,
    warnings: &mut BTreeSet<String>,
) -> Result<(), InputError> {
    let weight = |w: Option<i64>, at: &str| -> Result<Option<i64>, InputError> {
        match w {
            None | Some(0) => Ok(None),
            Some(x) if (1..=100).contains(&x) => Ok(Some(x)),
            Some(_) => Err(InputError::at_path(
                p,
                at,
                "score plugin weight must be in the range [1, 100]",
            )),
        }
    };
    let disable = |prof: &mut Profile, set: &RawPluginSet, filters: bool, scores: bool| {
        for d in &set.disabled {
            let all = d.name == PluginName::All;
            if all || d.name == PluginName::DefaultPreemption {
                prof.preemption = false;
            }
            let target = modelled(d.name);
            if filters {
                prof.filters.retain(|x| !(all || Some(*x) == target));
            }
            if scores {
                prof.scores.retain(|(x, _)| !(all || Some(*x) == target));
            }
        }
    };
    // Disabling first, then enabling, in the order multiPoint, filter, score.
    if let Some(mp) = &pl.multi_point {
        disable(prof, mp, true, true);
    }
    if let Some(f) = &pl.filter {
        disable(prof, f, true, false);
    }
    if let Some(s) = &pl.score {
        disable(prof, s, false, true);
    }
    for set in [&pl.multi_point, &pl.post_filter].into_iter().flatten() {
        if set
            .enabled
            .iter()
            .any(|e| e.name == PluginName::DefaultPreemption)
        {
            prof.preemption = true;
        }
    }
    if let Some(pf) = &pl.post_filter {
        if pf
            .disabled
            .iter()
            .any(|d| d.name == PluginName::DefaultPreemption || d.name == PluginName::All)
            && !pf
                .enabled
                .iter()
                .any(|e| e.name == PluginName::DefaultPreemption)
        {
            prof.preemption = false;
        }
    }
    if let Some(mp) = &pl.multi_point {
        for (k, e) in mp.enabled.iter().enumerate() {
            let at = format!("{path}.multiPoint.enabled[{k}]");
            let w = weight(e.weight, &format!("{at}.weight"))?;
            let Some(pg) = modelled(e.name) else {
                continue;
            };
            if pg.has_filter() && !prof.filters.contains(&pg) {
                prof.filters.push(pg);
            }
            if pg.has_score() {
                set_score(prof, pg, w);
            }
        }
    }
    if let Some(f) = &pl.filter {
        for (k, e) in f.enabled.iter().enumerate() {
            let at = format!("{path}.filter.enabled[{k}]");
            let Some(pg) = modelled(e.name) else {
                continue;
            };
            if !pg.has_filter() {
                return Err(InputError::at_path(
                    p,
                    format!("{at}.name"),
                    format!(
                        "plugin {} does not implement the filter extension point",
                        pg.name()
                    ),
                ));
            }
            if !prof.filters.contains(&pg) {
                prof.filters.push(pg);
            }
        }
    }
    if let Some(s) = &pl.score {
        for (k, e) in s.enabled.iter().enumerate() {
            let at = format!("{path}.score.enabled[{k}]");
            let w = weight(e.weight, &format!("{at}.weight"))?;
            let Some(pg) = modelled(e.name) else {
                continue;
            };
            if !pg.has_score() {
                return Err(InputError::at_path(
                    p,
                    format!("{at}.name"),
                    format!(
                        "plugin {} does not implement the score extension point",
                        pg.name()
                    ),
                ));
            }
            set_score(prof, pg, w);
        }
    }
    let others = [
        ("preEnqueue", &pl.pre_enqueue),
        ("queueSort", &pl.queue_sort),
        ("preFilter", &pl.pre_filter),
        ("preScore", &pl.pre_score),
        ("reserve", &pl.reserve),
        ("permit", &pl.permit),
        ("preBind", &pl.pre_bind),
        ("bind", &pl.bind),
        ("postBind", &pl.post_bind),
    ];
    for (name, set) in others {
        if set.is_some() {
            warnings.insert(format!(
                "KubeSchedulerConfiguration plugins.{name} is not modelled separately by kubesim (a plugin's PreFilter/PreScore follow its Filter/Score); it is ignored"
            ));
        }
    }
    // Keep upstream's plugin order whatever order the configuration enabled them in.
    prof.filters.sort();
    prof.scores.sort_by_key(|(pg, _)| *pg);
    Ok(())
}

fn set_score(prof: &mut Profile, pg: Plugin, w: Option<i64>) {
    match prof.scores.iter_mut().find(|(x, _)| *x == pg) {
        Some(entry) => {
            if let Some(w) = w {
                entry.1 = w;
            }
        }
        None => prof
            .scores
            .push((pg, w.unwrap_or_else(|| pg.default_weight()))),
    }
}

fn resources(
    list: &[RawResourceSpec],
    p: &Path,
    path: &str,
) -> Result<Vec<(String, i64)>, InputError> {
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let w = r.weight.unwrap_or(1);
        // Upstream validation: resource weights are 1..100 (0 defaults to 1 in v1).
        let w = if r.weight == Some(0) { 1 } else { w };
        if !(1..=100).contains(&w) {
            return Err(InputError::at_path(
                p,
                format!("{path}[{i}].weight"),
                "resource weight must be in the range [1, 100]",
            ));
        }
        if r.name.is_empty() {
            return Err(InputError::at_path(
                p,
                format!("{path}[{i}].name"),
                "must not be empty",
            ));
        }
        out.push((r.name.clone(), w));
    }
    Ok(out)
}

fn apply_args(
    prof: &mut Profile,
    pc: RawPluginConfig,
    p: &Path,
    path: &str,
    warnings: &mut BTreeSet<String>,
) -> Result<(), InputError> {
    match pc {
        RawPluginConfig::NodeResourcesFit(a) => {
            fit_args(prof, a, p, path)?;
        }
        RawPluginConfig::NodeResourcesBalancedAllocation(a) => {
            if let Some(res) = &a.resources {
                prof.balanced.resources = resources(res, p, &format!("{path}.resources"))?
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect();
            }
        }
        RawPluginConfig::PodTopologySpread(a) => {
            spread_args(prof, a, p, path, warnings)?;
        }
        RawPluginConfig::InterPodAffinity(a) => {
            if let Some(w) = a.hard_pod_affinity_weight {
                if !(0..=100).contains(&w) {
                    return Err(InputError::at_path(
                        p,
                        format!("{path}.hardPodAffinityWeight"),
                        "not in valid range [0, 100]",
                    ));
                }
                prof.ipa.hard_pod_affinity_weight = w;
            }
            if let Some(b) = a.ignore_preferred_terms_of_existing_pods {
                prof.ipa.ignore_preferred_terms_of_existing_pods = b;
            }
        }
        RawPluginConfig::DefaultPreemption(a) => {
            prof.preemption_args = preemption_args(a, p, path)?;
        }
        RawPluginConfig::NodeAffinity(a) => {
            // ValidateNodeAffinityArgs: the terms must parse (operators, values).
            if let Some(na) = &a.added_affinity {
                let ctx = Ctx {
                    file: p,
                    path: path.to_string(),
                    warnings,
                };
                let na = node_affinity(na, &ctx, "addedAffinity")?;
                prof.node_affinity = crate::scheduler::plugins::node_affinity::NodeAffinityArgs {
                    added_required: na.required,
                    added_preferred: na.preferred,
                };
            }
        }
        RawPluginConfig::OpenGpuShare(a) => {
            if let Some(m) = &a.gpu_sel_method {
                prof.gpu_sel = Some(GpuSel::from_name(m).ok_or_else(|| {
                    InputError::at_path(
                        p,
                        format!("{path}.gpuSelMethod"),
                        format!("`{m}` is not best, worst, random or FGDScore"),
                    )
                })?);
            }
        }
        RawPluginConfig::RandomScore(_)
        | RawPluginConfig::DotProductScore(_)
        | RawPluginConfig::GpuClusteringScore(_)
        | RawPluginConfig::GpuPackingScore(_)
        | RawPluginConfig::BestFitScore(_)
        | RawPluginConfig::FgdScore(_) => {}
        RawPluginConfig::VolumeBinding(_) | RawPluginConfig::DynamicResources(_) => {
            warnings.insert(format!(
                "pluginConfig for {} is not modelled by kubesim; it is ignored",
                path.trim_end_matches(".args")
            ));
        }
    }
    Ok(())
}

/// `NodeResourcesFitArgs`: ignored resources and the scoring strategy.
fn fit_args(prof: &mut Profile, a: RawFitArgs, p: &Path, path: &str) -> Result<(), InputError> {
    prof.fit.ignored_resources = a.ignored_resources;
    prof.fit.ignored_resource_groups = a.ignored_resource_groups;
    if let Some(ss) = a.scoring_strategy {
        let sp = format!("{path}.scoringStrategy");
        if let Some(res) = &ss.resources {
            prof.fit.resources = resources(res, p, &format!("{sp}.resources"))?;
        }
        match ss.type_.unwrap_or(StrategyType::LeastAllocated) {
            StrategyType::LeastAllocated => prof.fit.strategy = ScoringStrategy::LeastAllocated,
            StrategyType::MostAllocated => prof.fit.strategy = ScoringStrategy::MostAllocated,
            StrategyType::RequestedToCapacityRatio => {
                let pts = shape_points(ss.requested_to_capacity_ratio, p, &sp)?;
                prof.fit.strategy = ScoringStrategy::RequestedToCapacityRatio(pts);
            }
        }
    }
    Ok(())
}

/// The `requestedToCapacityRatio.shape` points, validated as `ValidateNodeResourcesFitArgs`.
fn shape_points(ratio: Option<RawRtcr>, p: &Path, sp: &str) -> Result<Vec<(i64, i64)>, InputError> {
    let shape = ratio.map(|r| r.shape).unwrap_or_default();
    let shp = format!("{sp}.requestedToCapacityRatio.shape");
    if shape.is_empty() {
        return Err(InputError::at_path(
            p,
            shp,
            "at least one point is required",
        ));
    }
    let mut pts = Vec::new();
    for (i, pt) in shape.iter().enumerate() {
        if !(0..=100).contains(&pt.utilization) {
            return Err(InputError::at_path(
                p,
                format!("{shp}[{i}].utilization"),
                "must be in the range [0, 100]",
            ));
        }
        if !(0..=10).contains(&pt.score) {
            return Err(InputError::at_path(
                p,
                format!("{shp}[{i}].score"),
                "must be in the range [0, 10]",
            ));
        }
        if i > 0 && pt.utilization <= shape[i - 1].utilization {
            return Err(InputError::at_path(
                p,
                format!("{shp}[{i}].utilization"),
                "utilization values must be sorted in increasing order",
            ));
        }
        pts.push((pt.utilization, pt.score));
    }

    Ok(pts)
}

/// `PodTopologySpreadArgs`: System defaulting, or a List of default constraints.
fn spread_args(
    prof: &mut Profile,
    a: RawSpreadArgs,
    p: &Path,
    path: &str,
    warnings: &mut BTreeSet<String>,
) -> Result<(), InputError> {
    let ty = a.defaulting_type.unwrap_or(DefaultingType::System);
    match ty {
        DefaultingType::System => {
            if a.default_constraints
                .as_ref()
                .is_some_and(|c| !c.is_empty())
            {
                return Err(InputError::at_path(
                    p,
                    format!("{path}.defaultConstraints"),
                    "when .defaultingType is \"System\", .defaultConstraints must be empty",
                ));
            }
        }
        DefaultingType::List => {
            let ctx = Ctx {
                file: p,
                path: path.to_string(),
                warnings,
            };
            let list = a.default_constraints.unwrap_or_default();
            let cs = spread_constraints(&list, &ctx, "defaultConstraints")?;
            if let Some((i, _)) = cs
                .iter()
                .enumerate()
                .find(|(_, c)| c.label_selector.is_some())
            {
                return Err(InputError::at_path(
                    p,
                    format!("{path}.defaultConstraints[{i}].labelSelector"),
                    "constraint must not define a selector, as they deduced for each pod",
                ));
            }
            prof.spread.default_constraints = cs;
            prof.spread.system_defaulted = false;
        }
    }
    Ok(())
}

/// `DefaultPreemptionArgs`.
fn preemption_args(
    a: RawPreemptionArgs,
    p: &Path,
    path: &str,
) -> Result<PreemptionArgs, InputError> {
    // SetDefaults_DefaultPreemptionArgs, then ValidateDefaultPreemptionArgs
    // (validation_pluginargs.go).
    let pct = a
        .min_candidate_nodes_percentage
        .unwrap_or(MIN_CANDIDATE_NODES_PERCENTAGE as i64);
    let abs = a
        .min_candidate_nodes_absolute
        .unwrap_or(MIN_CANDIDATE_NODES_ABSOLUTE as i64);
    if !(0..=100).contains(&pct) {
        return Err(InputError::at_path(
            p,
            format!("{path}.minCandidateNodesPercentage"),
            "not in valid range [0, 100]",
        ));
    }
    if abs < 0 {
        return Err(InputError::at_path(
            p,
            format!("{path}.minCandidateNodesAbsolute"),
            "not in valid range [0, inf)",
        ));
    }
    if pct == 0 && abs == 0 {
        return Err(InputError::at_path(
            p,
            format!("{path}.minCandidateNodesPercentage"),
            "cannot be zero at the same time as minCandidateNodesAbsolute",
        ));
    }
    Ok(PreemptionArgs {
        min_candidate_nodes_percentage: pct as usize,
        min_candidate_nodes_absolute: abs as usize,
    })
}
