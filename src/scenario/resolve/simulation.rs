//! kubesim's own knobs: `simulation` (container start/stop delays, watch delay, event cap),
//! `runtime` (behaviours and the image catalog) and `output` (sample interval).
//!
//! Invariant: every knob is echoed as a `kubesim` setting, in one fixed order.

use std::sync::Arc;

use super::Resolver;
use crate::kubelet::KubeletConfig;
use crate::runtime::RuntimeConfig;
use crate::scenario::bounds;
use crate::scenario::raw::RawScenario;
use crate::scenario::{behaviors, InputError};
use crate::sim::SimDuration;

/// The resolved knobs.
pub(super) struct Simulation {
    pub runtime: RuntimeConfig,
    pub watch_delay: SimDuration,
    pub max_events: u64,
    pub sample_interval: SimDuration,
}

pub(super) fn resolve(
    r: &mut Resolver,
    raw: &RawScenario,
    max_parallel_pulls: usize,
    kubelet: &KubeletConfig,
    duration: SimDuration,
) -> Result<Simulation, InputError> {
    let file = r.file;
    let sim = &raw.simulation;
    let mut runtime = RuntimeConfig::default();
    if let Some(rg) = &sim.container_start_delay {
        if rg.min.0 > rg.max.0 {
            return Err(InputError::at_path(
                file,
                "simulation.containerStartDelay",
                "min must not exceed max",
            ));
        }
        runtime.start_delay_min = rg.min.0;
        runtime.start_delay_max = rg.max.0;
    }
    if let Some(d) = sim.container_stop_delay {
        runtime.stop_delay = d.0;
    }
    runtime.max_parallel_pulls = max_parallel_pulls;
    let (behaviors, catalog) = behaviors::resolve(&raw.runtime, file)?;
    runtime.behaviors = Arc::new(behaviors);
    runtime.catalog = Arc::new(catalog);
    let watch_delay = sim.watch_delay.map(|d| d.0).unwrap_or(SimDuration::ZERO);
    let max_events = sim.max_events.unwrap_or(2_000_000_000);
    let sample_interval = raw
        .output
        .sample_interval
        .map(|d| d.0)
        .unwrap_or(SimDuration::from_secs(10));
    if let Err(m) = bounds::check_period(sample_interval) {
        return Err(InputError::at_path(file, "output.sampleInterval", m));
    }
    let samples = duration.as_nanos() / sample_interval.as_nanos();
    if samples > bounds::MAX_SAMPLES {
        return Err(InputError::at_path(
            file,
            "output.sampleInterval",
            format!(
                "{sample_interval} gives {samples} samples in {duration}; at most {} \
                 (kubesim's limit on timeseries.csv rows): use a longer interval",
                bounds::MAX_SAMPLES
            ),
        ));
    }
    for (n, v) in [
        (
            "watchDelay",
            crate::sim::time::format_go_duration(watch_delay),
        ),
        (
            "containerStartDelay",
            format!("{}..{}", runtime.start_delay_min, runtime.start_delay_max),
        ),
        ("containerStopDelay", runtime.stop_delay.to_string()),
        ("maxEvents", max_events.to_string()),
        ("sampleInterval", sample_interval.to_string()),
        ("lazyHeartbeats", kubelet.lazy_heartbeats.to_string()),
        ("lazyProbes", kubelet.lazy_probes.to_string()),
    ] {
        r.setting("kubesim", n, v, "scenario or default".into());
    }
    Ok(Simulation {
        runtime,
        watch_delay,
        max_events,
        sample_interval,
    })
}
