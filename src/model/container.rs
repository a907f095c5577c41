//! Container-level data of a Pod: probes, lifecycle hooks, image pull policy, and the
//! container statuses the kubelet reports (`v1.ContainerStatus`, `v1.ContainerState`).
//!
//! Architecture invariant: plain data with Kubernetes' field names and defaults; the kubelet
//! decides, this module only describes.

use crate::sim::SimTime;

/// `imagePullPolicy`. Defaulting (`SetDefaults_Container`, pkg/apis/core/v1/defaults.go):
/// `Always` when the image has the `:latest` tag or no tag (and no digest), else `IfNotPresent`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

impl PullPolicy {
    /// The default for an image reference, as the API server applies it.
    pub fn default_for(image: &str) -> PullPolicy {
        if image_tag(image).is_none_or(|t| t == "latest") && !image.contains('@') {
            PullPolicy::Always
        } else {
            PullPolicy::IfNotPresent
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// The tag of an image reference (`repo:tag`), if any: the part after the last ':' that
/// comes after the last '/' (so `host:5000/app` has no tag).
pub fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, t)| t)
}

/// The registry host of an image reference, as the container runtime resolves it: the first
/// path component if it looks like a host (has '.' or ':' or is `localhost`), else Docker Hub.
pub fn image_registry(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// `v1.Probe` timing fields (the handler itself is not simulated: its outcome comes from the
/// container's behaviour model). Defaults from the API: period 10 s, timeout 1 s, success
/// threshold 1, failure threshold 3, initial delay 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub initial_delay_seconds: u64,
    pub period_seconds: u64,
    pub timeout_seconds: u64,
    pub success_threshold: u32,
    pub failure_threshold: u32,
    /// `probe.terminationGracePeriodSeconds` (liveness and startup only): overrides the pod's
    /// grace period when the probe kills the container.
    pub termination_grace_period_seconds: Option<u64>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            initial_delay_seconds: 0,
            period_seconds: 10,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 3,
            termination_grace_period_seconds: None,
        }
    }
}

/// The probes of one container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probes {
    pub startup: Option<Probe>,
    pub readiness: Option<Probe>,
    pub liveness: Option<Probe>,
}

/// `v1.ContainerStateTerminated` as far as kubesim reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminated {
    pub exit_code: i32,
    /// `Completed` (exit 0), `Error`, `OOMKilled`, `ContainerCannotRun`, …
    pub reason: String,
    pub started_at: Option<SimTime>,
    pub finished_at: SimTime,
}

/// `v1.ContainerState`: exactly one of waiting, running, terminated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// `reason`: `ContainerCreating`, `PodInitializing`, `ErrImagePull`, `ImagePullBackOff`,
    /// `ErrImageNeverPull`, `CrashLoopBackOff`, …
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        started_at: SimTime,
    },
    Terminated(Terminated),
}

impl ContainerState {
    pub fn waiting(reason: &str) -> ContainerState {
        ContainerState::Waiting {
            reason: reason.to_string(),
            message: String::new(),
        }
    }
    pub fn is_running(&self) -> bool {
        matches!(self, ContainerState::Running { .. })
    }
    pub fn terminated(&self) -> Option<&Terminated> {
        match self {
            ContainerState::Terminated(t) => Some(t),
            _ => None,
        }
    }
    pub fn waiting_reason(&self) -> Option<&str> {
        match self {
            ContainerState::Waiting { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// `v1.ContainerStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerStatus {
    pub name: String,
    pub image: String,
    pub state: ContainerState,
    /// `lastState.terminated` of the previous run, if it ran before.
    pub last_state: Option<Terminated>,
    pub ready: bool,
    /// `started`: the startup probe passed (true at once without a startup probe).
    pub started: bool,
    pub restart_count: u32,
}

impl ContainerStatus {
    pub fn new(name: &str, image: &str, state: ContainerState) -> ContainerStatus {
        ContainerStatus {
            name: name.to_string(),
            image: image.to_string(),
            state,
            last_state: None,
            ready: false,
            started: false,
            restart_count: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pkg/apis/core/v1/defaults_test.go `TestSetDefaultContainer`-style cases for
    /// `imagePullPolicy` (`:latest` or no tag → Always; a tag or digest → IfNotPresent).
    #[test]
    fn pull_policy_defaulting_as_set_defaults_container() {
        assert_eq!(PullPolicy::default_for("nginx"), PullPolicy::Always);
        assert_eq!(PullPolicy::default_for("nginx:latest"), PullPolicy::Always);
        assert_eq!(
            PullPolicy::default_for("nginx:1.25"),
            PullPolicy::IfNotPresent
        );
        assert_eq!(
            PullPolicy::default_for("registry.k8s.io:5000/pause"),
            PullPolicy::Always
        );
        assert_eq!(
            PullPolicy::default_for("registry.k8s.io:5000/pause:3.9"),
            PullPolicy::IfNotPresent
        );
        assert_eq!(
            PullPolicy::default_for("nginx@sha256:0123456789abcdef"),
            PullPolicy::IfNotPresent
        );
    }

    #[test]
    fn registry_of_image_references() {
        assert_eq!(image_registry("nginx:1.25"), "docker.io");
        assert_eq!(image_registry("library/nginx"), "docker.io");
        assert_eq!(
            image_registry("registry.example.com/team/app:v1"),
            "registry.example.com"
        );
        assert_eq!(image_registry("localhost/app"), "localhost");
        assert_eq!(image_registry("host:5000/app"), "host:5000");
    }
}
