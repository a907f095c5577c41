//! The simulated container runtime of one machine: how long containers take to start and to
//! stop. Today a single behaviour model for every container; image pulls, crashes and probes
//! come with the kubelet lifecycle work.
//!
//! Architecture invariant: knows no API objects beyond reading a pod's containers; every draw
//! comes from the machine's own `runtime/<node>` stream.

use rand_chacha::ChaCha8Rng;

use crate::model::Pod;
use crate::sim::{rng, SimDuration};

/// Container start-up time is uniform in [min, max] per pod. The default 1–5 s is KWOK's
/// general `pod-ready` stage (delay 1000 ms, jitter up to 5000 ms; shared/data/kwok-stages).
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    pub start_delay_min: SimDuration,
    pub start_delay_max: SimDuration,
    /// Time a container takes to exit after SIGTERM (capped by the grace period).
    pub stop_delay: SimDuration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            start_delay_min: SimDuration::from_secs(1),
            start_delay_max: SimDuration::from_secs(5),
            stop_delay: SimDuration::ZERO,
        }
    }
}

pub struct ContainerRuntime {
    config: RuntimeConfig,
    rng: ChaCha8Rng,
}

impl ContainerRuntime {
    pub fn new(config: RuntimeConfig, rng: ChaCha8Rng) -> Self {
        ContainerRuntime { config, rng }
    }

    pub fn start_delay(&mut self, _pod: &Pod) -> SimDuration {
        rng::duration_between(
            &mut self.rng,
            self.config.start_delay_min,
            self.config.start_delay_max,
        )
    }

    pub fn stop_delay(&self) -> SimDuration {
        self.config.stop_delay
    }
}
