//! What a pod's running containers use, for the kubelet's eviction manager: memory, ephemeral
//! storage and processes at an instant (the pod stats the summary API gives
//! pkg/kubelet/eviction), whether they grow, the container over its request named in the
//! `Evicted` message, and the `memoryLeak` fault's added growth.
//!
//! Invariant: only running containers count, and every figure is read from their run plans
//! (the runtime's draws); the queries change nothing, and only `change_leak` rebases the plans.

use super::Worker;
use crate::sim::SimTime;

impl Worker {
    /// Memory in use by the running containers at `now`, in bytes.
    pub fn memory_at(&self, now: SimTime) -> i64 {
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| c.plan.as_ref().map(|p| p.memory_at(now)))
            .sum()
    }

    /// Ephemeral storage written by the running containers at `now`, in bytes.
    pub fn disk_at(&self, now: SimTime) -> i64 {
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| c.plan.as_ref().map(|p| p.disk_at(now)))
            .sum()
    }

    /// Processes of the running containers.
    pub fn pids(&self) -> i64 {
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| c.plan.as_ref().map(|p| p.pids))
            .sum()
    }

    /// Whether no running container's memory or ephemeral storage moves with time (every
    /// plan's growth is zero): `memory_at` and `disk_at` then give the same at every instant.
    pub fn usage_flat(&self) -> bool {
        self.ctrs.iter().filter(|c| c.state.is_running()).all(|c| {
            c.plan
                .as_ref()
                .is_none_or(|p| p.memory_growth_per_sec == 0 && p.disk_growth_per_sec == 0)
        })
    }

    /// Whether a running container's memory grows (the eviction manager must keep watching).
    pub fn memory_growing(&self) -> bool {
        self.ctrs.iter().any(|c| {
            c.state.is_running() && c.plan.as_ref().is_some_and(|p| p.memory_growth_per_sec > 0)
        })
    }

    /// Whether a running container's ephemeral storage grows.
    pub fn disk_growing(&self) -> bool {
        self.ctrs.iter().any(|c| {
            c.state.is_running() && c.plan.as_ref().is_some_and(|p| p.disk_growth_per_sec > 0)
        })
    }

    /// A `memoryLeak` fault starts (`rate` > 0) or ends (`rate` < 0) for the running containers.
    pub fn change_leak(&mut self, now: SimTime, rate: i64) {
        self.leak_rate += rate;
        for c in &mut self.ctrs {
            if c.state.is_running() {
                let limit = c.spec.limits.memory;
                if let Some(p) = c.plan.as_mut() {
                    p.rebase_growth(now, rate, limit);
                }
            }
        }
    }

    /// Whether the eviction manager may pick this pod (something runs and it is not failing).
    pub fn evictable(&self) -> bool {
        self.failed.is_none()
            && self.terminating.is_none()
            && self
                .ctrs
                .iter()
                .any(|c| c.state.is_running() && c.kill.is_none())
    }

    /// The running container using the most of `signal`'s resource above its request:
    /// (name, usage, request).
    pub fn top_container(
        &self,
        now: SimTime,
        signal: super::super::pressure::Signal,
    ) -> Option<(String, i64, i64)> {
        use super::super::pressure::Signal;
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| {
                let p = c.plan.as_ref()?;
                let (u, r) = match signal {
                    Signal::Memory => (p.memory_at(now), c.spec.requests.memory),
                    Signal::NodeFs => (p.disk_at(now), c.spec.requests.ephemeral_storage),
                    Signal::Pid => (p.pids, 0),
                };
                Some((c.spec.name.clone(), u, r))
            })
            .max_by_key(|(_, u, r)| u - r)
    }

    /// The running container using the most memory above its request: (name, usage, request).
    pub fn top_memory_container(&self, now: SimTime) -> Option<(String, i64, i64)> {
        self.ctrs
            .iter()
            .filter(|c| c.state.is_running())
            .filter_map(|c| {
                let usage = c.plan.as_ref()?.memory_at(now);
                Some((c.spec.name.clone(), usage, c.spec.requests.memory))
            })
            .max_by_key(|(_, u, r)| u - r)
    }
}
