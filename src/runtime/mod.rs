//! The simulated container runtime of one machine: how long a pod's sandbox takes, which
//! behaviour model each container follows and what each run of it does ([`behavior`]), and
//! the machine's image store and puller ([`images`]).
//!
//! Architecture invariant: knows no API objects beyond reading a pod's annotations and its
//! containers' names and images; every draw comes from the machine's own `runtime/<node>`
//! stream.

pub mod behavior;
pub mod images;

use std::collections::BTreeMap;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::model::ContainerImage;
use crate::sim::{rng, SimDuration, SimTime};
use behavior::{image_matches, Behavior, RunPlan};
use images::{ImageCatalog, ImageStore};

/// Annotation choosing a behaviour for every container of a pod.
pub const BEHAVIOR_ANNOTATION: &str = "kubesim.io/behavior";

/// Runtime settings shared by every machine.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Pod sandbox creation (from admission to `PodReadyToStartContainers`), uniform in
    /// [min, max] per pod. The default 1–5 s is KWOK's general `pod-ready` stage (delay
    /// 1000 ms, jitter up to 5000 ms; shared/data/kwok-stages).
    pub start_delay_min: SimDuration,
    pub start_delay_max: SimDuration,
    /// Time a container takes to exit after SIGTERM unless its behaviour says otherwise.
    pub stop_delay: SimDuration,
    /// Behaviour models, in the scenario's order (the first image match wins).
    pub behaviors: Arc<Vec<Arc<Behavior>>>,
    pub catalog: Arc<ImageCatalog>,
    /// Pulls at once per machine (1 with `serializeImagePulls: true`, the default).
    pub max_parallel_pulls: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            start_delay_min: SimDuration::from_secs(1),
            start_delay_max: SimDuration::from_secs(5),
            stop_delay: SimDuration::ZERO,
            behaviors: Arc::new(Vec::new()),
            catalog: Arc::new(ImageCatalog::default()),
            max_parallel_pulls: 1,
        }
    }
}

pub struct ContainerRuntime {
    config: RuntimeConfig,
    rng: ChaCha8Rng,
    default_behavior: Arc<Behavior>,
    pub images: ImageStore,
}

impl ContainerRuntime {
    pub fn new(mut config: RuntimeConfig, rng: ChaCha8Rng, preloaded: &[ContainerImage]) -> Self {
        let default_behavior = Arc::new(Behavior {
            stop_time: Some(config.stop_delay),
            ..Behavior::default()
        });
        if config.behaviors.iter().any(|b| b.stop_time.is_none()) {
            let stop = config.stop_delay;
            config.behaviors = Arc::new(
                config
                    .behaviors
                    .iter()
                    .map(|b| {
                        let mut b = (**b).clone();
                        b.stop_time.get_or_insert(stop);
                        Arc::new(b)
                    })
                    .collect(),
            );
        }
        ContainerRuntime {
            images: ImageStore::new(preloaded, config.max_parallel_pulls),
            config,
            rng,
            default_behavior,
        }
    }

    pub fn catalog(&self) -> &ImageCatalog {
        &self.config.catalog
    }

    /// Time to create a pod's sandbox.
    pub fn start_delay(&mut self) -> SimDuration {
        rng::duration_between(
            &mut self.rng,
            self.config.start_delay_min,
            self.config.start_delay_max,
        )
    }

    /// `kubesim.io/behavior.<container>`, else `kubesim.io/behavior`, else the first
    /// behaviour whose image pattern matches, else the default (runs forever, answers every
    /// probe at once, exits on SIGTERM after `simulation.containerStopDelay`).
    pub fn behavior_for(
        &self,
        annotations: &BTreeMap<String, String>,
        container: &str,
        image: &str,
    ) -> Arc<Behavior> {
        let by_name = |n: &str| self.config.behaviors.iter().find(|b| b.name == n).cloned();
        let named = annotations
            .get(&format!("{BEHAVIOR_ANNOTATION}.{container}"))
            .or_else(|| annotations.get(BEHAVIOR_ANNOTATION));
        let chosen = match named {
            Some(n) => by_name(n),
            None => self
                .config
                .behaviors
                .iter()
                .find(|b| b.image.as_deref().is_some_and(|p| image_matches(p, image)))
                .cloned(),
        };
        chosen.unwrap_or_else(|| self.default_behavior.clone())
    }

    /// The plan of a container run starting at `now` (run number `run_index`).
    pub fn plan(
        &mut self,
        behavior: &Behavior,
        now: SimTime,
        run_index: u32,
        memory_request: i64,
        memory_limit: i64,
    ) -> RunPlan {
        behavior.plan(&mut self.rng, now, run_index, memory_request, memory_limit)
    }

    /// The random part of a probe period a new probe worker sleeps when the kubelet started
    /// less than a period ago (`prober/worker.go`).
    pub fn probe_start_jitter(&mut self, period: SimDuration) -> SimDuration {
        period.mul_f64(rng::unit_f64(&mut self.rng))
    }

    pub fn stop_delay(&self) -> SimDuration {
        self.config.stop_delay
    }
}
