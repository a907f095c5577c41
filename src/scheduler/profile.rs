//! Scheduler profiles (upstream's `profile.Map`): the plugins kubesim models with their
//! default order and weights, one resolved `KubeSchedulerConfiguration` profile per
//! `schedulerName` with its plugin args, and which profile a pod belongs to.
//!
//! The out-of-tree GPU-sharing plugins (`plugins/outoftree`, docs/gpu.md) are registered after
//! the upstream ones (`Plugin::OUT_OF_TREE`), outside `Plugin::ALL`, so no default profile
//! runs them: a configuration must enable them by name.
//!
//! Invariant: the modelled plugins are listed once (`modelled_plugins!`); a pod whose `schedulerName`
//! names no profile is not this scheduler's.

use super::plugins::balanced_allocation::{self as balanced, BalancedArgs};
use super::plugins::inter_pod_affinity::{self as ipa, IpaArgs};
use super::plugins::node_resources_fit::{self as fit, FitArgs};
use super::plugins::outoftree::{score::Policy, GpuSel, OPEN_GPU_SHARE};
use super::plugins::pod_topology_spread::{self as pts, SpreadArgs};
use super::plugins::{
    image_locality, node_affinity, node_name, node_ports, node_unschedulable, taint_toleration,
};
use super::Scheduler;
use crate::model::Pod;

/// Calls the macro `$m` with the names of the plugins kubesim models, in the default
/// `multiPoint` order, followed by `$extra`: the one list both [`Plugin`] and the configuration
/// schema's plugin names (`scenario::schedconfig::PluginName`) are declared from.
macro_rules! modelled_plugins {
    ($m:ident $(, $extra:ident)* $(,)?) => {
        $m!(
            NodeUnschedulable,
            NodeName,
            TaintToleration,
            NodeAffinity,
            NodePorts,
            NodeResourcesFit,
            PodTopologySpread,
            InterPodAffinity,
            NodeResourcesBalancedAllocation,
            ImageLocality,
            $($extra,)*
        );
    };
}
pub(crate) use modelled_plugins;

/// Declares [`Plugin`] and `Plugin::ALL` from the list.
macro_rules! plugins {
    ($($v:ident),* $(,)?) => {
        /// The plugins kubesim models, in the default `multiPoint` order, then the
        /// out-of-tree GPU plugins (never in a default profile).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Plugin {
            $($v,)*
            OpenGpuShare,
            RandomScore,
            DotProductScore,
            GpuClusteringScore,
            GpuPackingScore,
            BestFitScore,
            FgdScore,
        }

        impl Plugin {
            /// The upstream plugins (the default profile's).
            pub const ALL: [Plugin; [$(Plugin::$v),*].len()] = [$(Plugin::$v),*];
        }
    };
}

modelled_plugins!(plugins);

impl Plugin {
    pub fn name(self) -> &'static str {
        match self {
            Plugin::NodeUnschedulable => node_unschedulable::NAME,
            Plugin::NodeName => node_name::NAME,
            Plugin::TaintToleration => taint_toleration::NAME,
            Plugin::NodeAffinity => node_affinity::NAME,
            Plugin::NodePorts => node_ports::NAME,
            Plugin::NodeResourcesFit => fit::NAME,
            Plugin::PodTopologySpread => pts::NAME,
            Plugin::InterPodAffinity => ipa::NAME,
            Plugin::NodeResourcesBalancedAllocation => balanced::NAME,
            Plugin::ImageLocality => image_locality::NAME,
            Plugin::OpenGpuShare => OPEN_GPU_SHARE,
            p => match p.gpu_policy() {
                Some(policy) => policy.plugin_name(),
                None => unreachable!("every score plugin out of tree is a GPU policy"),
            },
        }
    }

    /// The out-of-tree GPU plugins (docs/gpu.md): the `Open-Gpu-Share` filter (and its
    /// Reserve) and the six FGD-study score plugins.
    pub const OUT_OF_TREE: [Plugin; 7] = [
        Plugin::OpenGpuShare,
        Plugin::RandomScore,
        Plugin::DotProductScore,
        Plugin::GpuClusteringScore,
        Plugin::GpuPackingScore,
        Plugin::BestFitScore,
        Plugin::FgdScore,
    ];

    /// Every plugin a configuration may name: upstream, then out of tree.
    pub fn registry() -> impl Iterator<Item = Plugin> {
        Plugin::ALL.into_iter().chain(Plugin::OUT_OF_TREE)
    }

    pub fn from_name(name: &str) -> Option<Plugin> {
        Plugin::registry().find(|p| p.name() == name)
    }

    /// The FGD-study policy of an out-of-tree score plugin.
    pub fn gpu_policy(self) -> Option<Policy> {
        Some(match self {
            Plugin::RandomScore => Policy::Random,
            Plugin::DotProductScore => Policy::DotProduct,
            Plugin::GpuClusteringScore => Policy::GpuClustering,
            Plugin::GpuPackingScore => Policy::GpuPacking,
            Plugin::BestFitScore => Policy::BestFit,
            Plugin::FgdScore => Policy::Fgd,
            _ => return None,
        })
    }

    pub fn is_out_of_tree(self) -> bool {
        Plugin::OUT_OF_TREE.contains(&self)
    }

    pub fn has_filter(self) -> bool {
        !matches!(
            self,
            Plugin::NodeResourcesBalancedAllocation | Plugin::ImageLocality
        ) && (self == Plugin::OpenGpuShare || !self.is_out_of_tree())
    }

    pub fn has_score(self) -> bool {
        matches!(
            self,
            Plugin::TaintToleration
                | Plugin::NodeAffinity
                | Plugin::NodeResourcesFit
                | Plugin::PodTopologySpread
                | Plugin::InterPodAffinity
                | Plugin::NodeResourcesBalancedAllocation
                | Plugin::ImageLocality
        ) || self.gpu_policy().is_some()
    }

    /// The default score weight (reference scheduler §1).
    pub fn default_weight(self) -> i64 {
        match self {
            Plugin::TaintToleration => 3,
            Plugin::NodeAffinity | Plugin::PodTopologySpread | Plugin::InterPodAffinity => 2,
            _ => 1,
        }
    }
}

/// One `KubeSchedulerConfiguration` profile, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub scheduler_name: String,
    /// Filter plugins in order.
    pub filters: Vec<Plugin>,
    /// Score plugins in order, with weights.
    pub scores: Vec<(Plugin, i64)>,
    pub fit: FitArgs,
    pub balanced: BalancedArgs,
    pub spread: SpreadArgs,
    pub ipa: IpaArgs,
    /// `NodeAffinityArgs` (`addedAffinity`).
    pub node_affinity: node_affinity::NodeAffinityArgs,
    /// The profile's `percentageOfNodesToScore`, overriding the global one.
    pub percentage_of_nodes_to_score: Option<u32>,
    /// DefaultPreemption as PostFilter (on by default).
    pub preemption: bool,
    /// `DefaultPreemptionArgs`.
    pub preemption_args: super::preemption::PreemptionArgs,
    /// `Open-Gpu-Share`'s `gpuSelMethod` (None: the artifact's choice for the profile's GPU
    /// score plugin, [`Profile::gpu_sel`]).
    pub gpu_sel: Option<GpuSel>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            scheduler_name: "default-scheduler".into(),
            filters: Plugin::ALL.into_iter().filter(|p| p.has_filter()).collect(),
            scores: Plugin::ALL
                .into_iter()
                .filter(|p| p.has_score())
                .map(|p| (p, p.default_weight()))
                .collect(),
            fit: FitArgs::default(),
            balanced: BalancedArgs::default(),
            spread: SpreadArgs::default(),
            ipa: IpaArgs::default(),
            node_affinity: Default::default(),
            percentage_of_nodes_to_score: None,
            preemption: true,
            preemption_args: Default::default(),
            gpu_sel: None,
        }
    }
}

impl Profile {
    /// Whether the profile runs `p` at Filter or Score.
    pub fn uses(&self, p: Plugin) -> bool {
        self.filters.contains(&p) || self.scores.iter().any(|(q, _)| *q == p)
    }

    /// Whether the profile runs any out-of-tree GPU plugin.
    pub fn uses_gpu(&self) -> bool {
        Plugin::OUT_OF_TREE.into_iter().any(|p| self.uses(p))
    }

    /// The device choice of `Open-Gpu-Share`'s Reserve: the configured `gpuSelMethod`, else
    /// the one the artifact's scripts pair with the heaviest GPU score plugin (`best` without
    /// one).
    pub fn gpu_sel(&self) -> GpuSel {
        if let Some(s) = self.gpu_sel {
            return s;
        }
        let mut best: Option<(Policy, i64)> = None;
        for &(p, w) in &self.scores {
            if let Some(policy) = p.gpu_policy() {
                if best.is_none_or(|(_, bw)| w > bw) {
                    best = Some((policy, w));
                }
            }
        }
        best.map_or(GpuSel::Best, |(p, _)| p.gpu_sel())
    }
}

impl Scheduler {
    pub(super) fn profile_index(&self, pod: &Pod) -> Option<usize> {
        self.config
            .profiles
            .iter()
            .position(|p| p.scheduler_name == pod.spec.scheduler_name)
    }
}
