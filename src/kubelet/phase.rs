//! The kubelet's pod phase: `getPhase` of pkg/kubelet/kubelet_pods.go (current upstream: with
//! restartable init containers — sidecars — counted apart from regular init containers, and the
//! `podIsTerminal` argument), and the helpers
//! it leans on (`HasAnyRegularContainerStarted` of pkg/kubelet/container/helpers.go,
//! `IsStaticPod` of pkg/kubelet/types/pod_update.go).
//!
//! Architecture invariant: pure functions of the pod spec and the container statuses; the pod
//! workers own the statuses and call in here whenever they change. Containers are looked up by
//! name in the statuses, as `podutil.GetContainerStatus` does, so a container without a status
//! counts as "unknown" exactly as upstream.

use crate::model::RestartPolicy;
use crate::model::{Container, ContainerState, ContainerStatus, Pod, PodPhase, PodSpec, PodStatus};

/// The annotation the kubelet puts on pods from a config source (`ConfigSourceAnnotationKey`).
pub const CONFIG_SOURCE_ANNOTATION: &str = "kubernetes.io/config.source";
/// `ApiserverSource`: pods that came from the API server.
pub const API_SERVER_SOURCE: &str = "api";
/// `FileSource`: static pods read from the manifest directory.
pub const FILE_SOURCE: &str = "file";

/// The container statuses a kubelet function looks names up in. Upstream passes one list (the
/// init statuses and the regular ones appended); kubesim keeps them in two lists, so this view
/// searches both without copying. `nil` stands for Go's nil list, which some condition
/// generators treat apart from an empty one.
#[derive(Clone, Copy, Debug)]
pub struct Statuses<'a> {
    lists: Option<[&'a [ContainerStatus]; 2]>,
}

impl<'a> Statuses<'a> {
    /// The statuses a pod reports (never nil: the kubelet always builds a list).
    pub fn of(status: &'a PodStatus) -> Statuses<'a> {
        Statuses::two(&status.init_container_statuses, &status.container_statuses)
    }
    pub fn two(init: &'a [ContainerStatus], regular: &'a [ContainerStatus]) -> Statuses<'a> {
        Statuses {
            lists: Some([init, regular]),
        }
    }
    pub fn list(all: &'a [ContainerStatus]) -> Statuses<'a> {
        Statuses::two(all, &[])
    }
    /// Go's nil slice.
    pub fn nil() -> Statuses<'a> {
        Statuses { lists: None }
    }
    pub fn is_nil(&self) -> bool {
        self.lists.is_none()
    }
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
    pub fn iter(&self) -> impl Iterator<Item = &'a ContainerStatus> + 'a {
        self.lists.into_iter().flatten().flat_map(|l| l.iter())
    }
    /// `podutil.GetContainerStatus`: the first status with that name.
    pub fn get(&self, name: &str) -> Option<&'a ContainerStatus> {
        self.iter().find(|s| s.name == name)
    }
}

/// `IsRestartableInitContainer`: an init container with `restartPolicy: Always` (a sidecar).
pub fn is_restartable_init_container(c: &Container) -> bool {
    c.restart_policy == Some(RestartPolicy::Always)
}

/// `IsStaticPod`: the pod came from a config source other than the API server.
pub fn is_static_pod(pod: &Pod) -> bool {
    pod.meta
        .annotations
        .get(CONFIG_SOURCE_ANNOTATION)
        .is_some_and(|s| s != API_SERVER_SOURCE)
}

/// `HasAnyRegularContainerStarted`: some regular container is running or has terminated, which
/// means every init container has completed once.
pub fn has_any_regular_container_started(spec: &PodSpec, statuses: Statuses<'_>) -> bool {
    statuses.iter().any(|s| {
        spec.containers.iter().any(|c| c.name == s.name)
            && matches!(
                s.state,
                ContainerState::Running { .. } | ContainerState::Terminated(_)
            )
    })
}

/// Counters of `getPhase`, named as upstream names them.
#[derive(Default)]
struct Counts {
    /// Regular init containers not yet done.
    pending_regular_init: u32,
    /// Sidecars not yet started.
    pending_restartable_init: u32,
    failed_initialization: u32,
    unknown: u32,
    running: u32,
    waiting: u32,
    stopped: u32,
    succeeded: u32,
}

/// A waiting container that ran before (upstream: `LastTerminationState.Terminated != nil`).
fn last_exit_code(s: &ContainerStatus) -> Option<i32> {
    s.last_state.as_ref().map(|t| t.exit_code)
}

/// Regular init containers: one not yet done keeps the pod initializing; one that exited
/// non-zero (now or in its last run) counts as a failed initialization.
fn count_regular_init(c: &Container, statuses: Statuses<'_>, n: &mut Counts) {
    let Some(s) = statuses.get(&c.name) else {
        n.pending_regular_init += 1;
        return;
    };
    match &s.state {
        ContainerState::Running { .. } => n.pending_regular_init += 1,
        ContainerState::Terminated(t) => {
            if t.exit_code != 0 {
                n.failed_initialization += 1;
            }
        }
        ContainerState::Waiting { .. } => match last_exit_code(s) {
            Some(code) if code != 0 => n.failed_initialization += 1,
            Some(_) => {}
            None => n.pending_regular_init += 1,
        },
    }
}

/// Sidecars: a running one counts as running (and keeps initialization pending until its
/// startup probe passed); terminated ones do not count toward the phase at all.
fn count_restartable_init(c: &Container, statuses: Statuses<'_>, n: &mut Counts) {
    let Some(s) = statuses.get(&c.name) else {
        n.unknown += 1;
        return;
    };
    match &s.state {
        ContainerState::Running { .. } => {
            if !s.started {
                n.pending_restartable_init += 1;
            }
            n.running += 1;
        }
        ContainerState::Terminated(_) => {}
        ContainerState::Waiting { .. } => {
            if s.last_state.is_none() {
                n.pending_restartable_init += 1;
                n.waiting += 1;
            }
        }
    }
}

fn count_regular(c: &Container, statuses: Statuses<'_>, n: &mut Counts) {
    let Some(s) = statuses.get(&c.name) else {
        n.unknown += 1;
        return;
    };
    match &s.state {
        ContainerState::Running { .. } => n.running += 1,
        ContainerState::Terminated(t) => {
            n.stopped += 1;
            if t.exit_code == 0 {
                n.succeeded += 1;
            }
        }
        // A container waiting to be restarted has stopped; one that never ran is waiting.
        ContainerState::Waiting { .. } => {
            if s.last_state.is_some() {
                n.stopped += 1;
            } else {
                n.waiting += 1;
            }
        }
    }
}

/// `getPhase(pod, info, podIsTerminal)`: the phase the kubelet reports for a pod, from its spec
/// and container statuses. `pod_is_terminal` is true once the pod worker has decided the pod
/// will run no more (deleted, evicted, past its deadline): then all-stopped containers make
/// the pod Succeeded or Failed whatever its restart policy (static pods excepted, upstream
/// TODO #116484).
pub fn get_phase(pod: &Pod, statuses: Statuses<'_>, pod_is_terminal: bool) -> PodPhase {
    let spec = &pod.spec;
    let mut n = Counts::default();
    for c in &spec.init_containers {
        if !is_restartable_init_container(c) {
            count_regular_init(c, statuses, &mut n);
        }
    }
    for c in &spec.init_containers {
        if is_restartable_init_container(c) {
            count_restartable_init(c, statuses, &mut n);
        }
    }
    for c in &spec.containers {
        count_regular(c, statuses, &mut n);
    }

    if n.failed_initialization > 0 && spec.restart_policy == RestartPolicy::Never {
        return PodPhase::Failed;
    }
    // A pod whose regular containers have run does not go back to Pending while its sidecars
    // restart; a regular init container still running always keeps it Pending. (Upstream now
    // passes `podHasInitialized` = `HasAnyActiveRegularContainerStarted` of the runtime status,
    // which without sandbox re-creation is the same as this test on the API statuses.)
    let initializing = n.pending_regular_init > 0
        || (n.pending_restartable_init > 0 && !has_any_regular_container_started(spec, statuses));
    if initializing || n.waiting > 0 {
        return PodPhase::Pending;
    }
    if n.running > 0 && n.unknown == 0 {
        return PodPhase::Running;
    }
    if n.running == 0 && n.stopped > 0 && n.unknown == 0 {
        return all_stopped_phase(pod, &n, pod_is_terminal);
    }
    PodPhase::Pending
}

/// The phase of a pod whose regular containers have all stopped.
fn all_stopped_phase(pod: &Pod, n: &Counts, pod_is_terminal: bool) -> PodPhase {
    let all_succeeded = n.stopped == n.succeeded;
    if pod_is_terminal && !is_static_pod(pod) {
        return if all_succeeded {
            PodPhase::Succeeded
        } else {
            PodPhase::Failed
        };
    }
    match pod.spec.restart_policy {
        // Every container is on its way to being restarted.
        RestartPolicy::Always => PodPhase::Running,
        _ if all_succeeded => PodPhase::Succeeded,
        RestartPolicy::Never => PodPhase::Failed,
        // OnFailure with a failure: the failed containers are being restarted.
        RestartPolicy::OnFailure => PodPhase::Running,
    }
}

/// The phase of a pod from the statuses it carries.
pub fn pod_phase(pod: &Pod, pod_is_terminal: bool) -> PodPhase {
    get_phase(pod, Statuses::of(&pod.status), pod_is_terminal)
}

/// The phase `generateAPIPodStatus` reports: the computed phase, except that a pod never
/// leaves a terminal phase — neither the one the status manager last recorded (`old`) nor
/// the one the API server shows (`api`).
pub fn api_pod_phase(computed: PodPhase, old: PodPhase, api: PodPhase) -> PodPhase {
    let mut phase = computed;
    if !phase.is_terminal() {
        if old.is_terminal() {
            phase = old;
        } else if api.is_terminal() {
            phase = api;
        }
    }
    // Pods are not allowed to transition out of terminal phases.
    if api.is_terminal() && phase != api {
        phase = api;
    }
    phase
}

/// The `reason` and `message` kept with the phase: while the phase is the one last recorded,
/// the recorded ones (falling back to the API server's when empty); cleared on a change.
pub fn preserved_reason_message(
    phase: PodPhase,
    old: &PodStatus,
    api: &PodStatus,
) -> (String, String) {
    if phase != old.phase {
        return (String::new(), String::new());
    }
    let pick = |o: &str, a: &str| if o.is_empty() { a } else { o }.to_string();
    (
        pick(&old.reason, &api.reason),
        pick(&old.message, &api.message),
    )
}

#[cfg(test)]
mod tests {
    //! Ports of pkg/kubelet/kubelet_pods_test.go `TestPodPhaseWithRestart*`: one assertion per
    //! upstream case, named after its `test` string, with upstream's expected phase.

    use super::*;
    use crate::model::{ContainerState, Terminated};
    use crate::sim::SimTime;

    // Status builders of kubelet_pods_test.go (waitingState, runningState, …).
    fn waiting(name: &str) -> ContainerStatus {
        ContainerStatus::new(name, "", ContainerState::waiting(""))
    }
    fn term(code: i32) -> Terminated {
        Terminated {
            exit_code: code,
            reason: String::new(),
            started_at: None,
            finished_at: SimTime::ZERO,
        }
    }
    fn waiting_with_last_termination(name: &str) -> ContainerStatus {
        let mut s = waiting(name);
        s.last_state = Some(term(0));
        s
    }
    fn waiting_with_non_zero_termination(name: &str) -> ContainerStatus {
        let mut s = waiting(name);
        s.last_state = Some(term(-1));
        s
    }
    fn running(name: &str) -> ContainerStatus {
        ContainerStatus::new(
            name,
            "",
            ContainerState::Running {
                started_at: SimTime::ZERO,
            },
        )
    }
    fn started(name: &str) -> ContainerStatus {
        let mut s = running(name);
        s.started = true;
        s
    }
    fn stopped(name: &str) -> ContainerStatus {
        ContainerStatus::new(name, "", ContainerState::Terminated(term(0)))
    }
    fn succeeded(name: &str) -> ContainerStatus {
        stopped(name)
    }
    fn failed(name: &str) -> ContainerStatus {
        ContainerStatus::new(name, "", ContainerState::Terminated(term(-1)))
    }

    fn container(name: &str) -> Container {
        Container {
            name: name.into(),
            ..Container::default()
        }
    }
    fn sidecar(name: &str) -> Container {
        Container {
            restart_policy: Some(RestartPolicy::Always),
            ..container(name)
        }
    }
    fn pod(policy: RestartPolicy, init: Vec<Container>) -> Pod {
        let mut p = Pod::default();
        p.spec.node_name = Some("machine".into());
        p.spec.init_containers = init;
        p.spec.containers = vec![container("containerA"), container("containerB")];
        p.spec.restart_policy = policy;
        p
    }

    type Case = (
        &'static str,
        Vec<ContainerStatus>,
        Vec<ContainerStatus>,
        bool,
        PodPhase,
    );

    fn check(p: &Pod, cases: Vec<Case>) {
        for (name, init, regular, terminal, want) in cases {
            let got = get_phase(p, Statuses::two(&init, &regular), terminal);
            assert_eq!(got, want, "[test {name}]");
        }
    }

    #[test]
    fn test_pod_phase_with_restart_always() {
        use PodPhase::*;
        let p = pod(RestartPolicy::Always, vec![]);
        let a = "containerA";
        let b = "containerB";
        check(
            &p,
            vec![
                ("waiting", vec![], vec![], false, Pending),
                (
                    "all running",
                    vec![],
                    vec![running(a), running(b)],
                    false,
                    Running,
                ),
                (
                    "all stopped with restart always",
                    vec![],
                    vec![stopped(a), stopped(b)],
                    false,
                    Running,
                ),
                (
                    "all succeeded with restart always, but the pod is terminal",
                    vec![],
                    vec![succeeded(a), succeeded(b)],
                    true,
                    Succeeded,
                ),
                (
                    "all stopped with restart always, but the pod is terminal",
                    vec![],
                    vec![succeeded(a), failed(b)],
                    true,
                    Failed,
                ),
                (
                    "mixed state #1 with restart always",
                    vec![],
                    vec![running(a), stopped(b)],
                    false,
                    Running,
                ),
                (
                    "mixed state #2 with restart always",
                    vec![],
                    vec![running(a)],
                    false,
                    Pending,
                ),
                (
                    "mixed state #3 with restart always",
                    vec![],
                    vec![running(a), waiting(b)],
                    false,
                    Pending,
                ),
                (
                    "backoff crashloop container with restart always",
                    vec![],
                    vec![running(a), waiting_with_last_termination(b)],
                    false,
                    Running,
                ),
            ],
        );
    }

    /// `TestPodPhaseWithRestartAlwaysInitContainers` (upstream calls getPhase with
    /// podIsTerminal=false throughout).
    #[test]
    fn test_pod_phase_with_restart_always_init_containers() {
        use PodPhase::*;
        let p = pod(RestartPolicy::Always, vec![container("containerX")]);
        let x = "containerX";
        let ab = || vec![running("containerA"), running("containerB")];
        check(
            &p,
            vec![
                ("empty, waiting", vec![], vec![], false, Pending),
                (
                    "init container running",
                    vec![running(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "init container terminated non-zero",
                    vec![failed(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "init container waiting, terminated zero",
                    vec![waiting_with_last_termination(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "init container waiting, terminated non-zero",
                    vec![waiting_with_non_zero_termination(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "init container waiting, not terminated",
                    vec![waiting(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "init container succeeded",
                    vec![succeeded(x)],
                    ab(),
                    false,
                    Running,
                ),
            ],
        );
    }

    #[test]
    fn test_pod_phase_with_restart_always_restartable_init_containers() {
        use PodPhase::*;
        let p = pod(RestartPolicy::Always, vec![sidecar("containerX")]);
        let x = "containerX";
        let ab = || vec![running("containerA"), running("containerB")];
        let ab_ok = || vec![succeeded("containerA"), succeeded("containerB")];
        check(
            &p,
            vec![
                ("empty, waiting", vec![], vec![], false, Pending),
                (
                    "restartable init container running",
                    vec![running(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container stopped",
                    vec![stopped(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container waiting, terminated zero",
                    vec![waiting_with_last_termination(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container waiting, terminated non-zero",
                    vec![waiting_with_non_zero_termination(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container waiting, not terminated",
                    vec![waiting(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container started, 1/2 regular container running",
                    vec![started(x)],
                    vec![running("containerA")],
                    false,
                    Pending,
                ),
                (
                    "restartable init container started, all regular containers running",
                    vec![started(x)],
                    ab(),
                    false,
                    Running,
                ),
                (
                    "restartable init container running, all regular containers running",
                    vec![running(x)],
                    ab(),
                    false,
                    Running,
                ),
                (
                    "restartable init container stopped, all regular containers running",
                    vec![stopped(x)],
                    ab(),
                    false,
                    Running,
                ),
                (
                    "backoff crashloop restartable init container, all regular containers running",
                    vec![waiting_with_last_termination(x)],
                    ab(),
                    false,
                    Running,
                ),
                (
                    "all regular containers succeeded and restartable init container failed with restart always, but the pod is terminal",
                    vec![failed(x)],
                    ab_ok(),
                    true,
                    Succeeded,
                ),
                (
                    "all regular containers succeeded and restartable init container succeeded with restart always, but the pod is terminal",
                    vec![succeeded(x)],
                    ab_ok(),
                    true,
                    Succeeded,
                ),
            ],
        );
    }

    #[test]
    fn test_pod_phase_with_restart_always_and_pod_has_run() {
        use PodPhase::*;
        let mut p = pod(
            RestartPolicy::Always,
            vec![container("containerX"), sidecar("containerY")],
        );
        p.spec.containers = vec![container("containerA")];
        let (x, y, a) = ("containerX", "containerY", "containerA");
        check(
            &p,
            vec![
                (
                    "regular init containers, restartable init container and regular container are all running",
                    vec![running(x), running(y)],
                    vec![running(a)],
                    false,
                    Pending,
                ),
                (
                    "regular containers is stopped, restartable init container and regular int container are both running",
                    vec![running(x), running(y)],
                    vec![stopped(a)],
                    false,
                    Pending,
                ),
                (
                    "regular init container is succeeded, restartable init container is running, regular containers is stopped",
                    vec![succeeded(x), running(y)],
                    vec![stopped(a)],
                    false,
                    Running,
                ),
                (
                    "regular init container is succeeded, restartable init container and regular containers are both running",
                    vec![succeeded(x), running(y)],
                    vec![running(a)],
                    false,
                    Running,
                ),
            ],
        );
    }

    #[test]
    fn test_pod_phase_with_restart_never() {
        use PodPhase::*;
        let p = pod(RestartPolicy::Never, vec![]);
        let (a, b) = ("containerA", "containerB");
        check(
            &p,
            vec![
                ("waiting", vec![], vec![], false, Pending),
                (
                    "all running with restart never",
                    vec![],
                    vec![running(a), running(b)],
                    false,
                    Running,
                ),
                (
                    "all succeeded with restart never",
                    vec![],
                    vec![succeeded(a), succeeded(b)],
                    false,
                    Succeeded,
                ),
                (
                    "all failed with restart never",
                    vec![],
                    vec![failed(a), failed(b)],
                    false,
                    Failed,
                ),
                (
                    "mixed state #1 with restart never",
                    vec![],
                    vec![running(a), succeeded(b)],
                    false,
                    Running,
                ),
                (
                    "mixed state #2 with restart never",
                    vec![],
                    vec![running(a)],
                    false,
                    Pending,
                ),
                (
                    "mixed state #3 with restart never",
                    vec![],
                    vec![running(a), waiting(b)],
                    false,
                    Pending,
                ),
            ],
        );
    }

    #[test]
    fn test_pod_phase_with_restart_never_init_containers() {
        use PodPhase::*;
        let p = pod(RestartPolicy::Never, vec![container("containerX")]);
        let x = "containerX";
        let ab = || vec![running("containerA"), running("containerB")];
        check(
            &p,
            vec![
                ("empty, waiting", vec![], vec![], false, Pending),
                (
                    "init container running",
                    vec![running(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "init container terminated non-zero",
                    vec![failed(x)],
                    vec![],
                    false,
                    Failed,
                ),
                (
                    "init container waiting, terminated zero",
                    vec![waiting_with_last_termination(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "init container waiting, terminated non-zero",
                    vec![waiting_with_non_zero_termination(x)],
                    vec![],
                    false,
                    Failed,
                ),
                (
                    "init container waiting, not terminated",
                    vec![waiting(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "init container succeeded",
                    vec![succeeded(x)],
                    ab(),
                    false,
                    Running,
                ),
            ],
        );
    }

    #[test]
    fn test_pod_phase_with_restart_never_restartable_init_containers() {
        use PodPhase::*;
        let p = pod(RestartPolicy::Never, vec![sidecar("containerX")]);
        let x = "containerX";
        let ab_ok = || vec![succeeded("containerA"), succeeded("containerB")];
        check(
            &p,
            vec![
                ("empty, waiting", vec![], vec![], false, Pending),
                (
                    "restartable init container running",
                    vec![running(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container stopped",
                    vec![stopped(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container waiting, terminated zero",
                    vec![waiting_with_last_termination(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container waiting, terminated non-zero",
                    vec![waiting_with_non_zero_termination(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container waiting, not terminated",
                    vec![waiting(x)],
                    vec![],
                    false,
                    Pending,
                ),
                (
                    "restartable init container started, one main container running",
                    vec![started(x)],
                    vec![running("containerA")],
                    false,
                    Pending,
                ),
                (
                    "restartable init container started, main containers succeeded",
                    vec![started(x)],
                    ab_ok(),
                    false,
                    Running,
                ),
                (
                    "restartable init container running, main containers succeeded",
                    vec![running(x)],
                    ab_ok(),
                    false,
                    Running,
                ),
                ("all containers succeeded", vec![succeeded(x)], ab_ok(), false, Succeeded),
                (
                    "restartable init container terminated non-zero, main containers succeeded",
                    vec![failed(x)],
                    ab_ok(),
                    false,
                    Succeeded,
                ),
                (
                    "backoff crashloop restartable init container, main containers succeeded",
                    vec![waiting_with_last_termination(x)],
                    ab_ok(),
                    false,
                    Succeeded,
                ),
                (
                    "backoff crashloop with non-zero restartable init container, main containers succeeded",
                    vec![waiting_with_non_zero_termination(x)],
                    ab_ok(),
                    false,
                    Succeeded,
                ),
            ],
        );
    }

    #[test]
    fn test_pod_phase_with_restart_on_failure() {
        use PodPhase::*;
        let p = pod(RestartPolicy::OnFailure, vec![]);
        let (a, b) = ("containerA", "containerB");
        check(
            &p,
            vec![
                ("waiting", vec![], vec![], false, Pending),
                (
                    "all running with restart onfailure",
                    vec![],
                    vec![running(a), running(b)],
                    false,
                    Running,
                ),
                (
                    "all succeeded with restart onfailure",
                    vec![],
                    vec![succeeded(a), succeeded(b)],
                    false,
                    Succeeded,
                ),
                (
                    "all failed with restart never",
                    vec![],
                    vec![failed(a), failed(b)],
                    false,
                    Running,
                ),
                (
                    "mixed state #1 with restart onfailure",
                    vec![],
                    vec![running(a), succeeded(b)],
                    false,
                    Running,
                ),
                (
                    "mixed state #2 with restart onfailure",
                    vec![],
                    vec![running(a)],
                    false,
                    Pending,
                ),
                (
                    "mixed state #3 with restart onfailure",
                    vec![],
                    vec![running(a), waiting(b)],
                    false,
                    Pending,
                ),
                (
                    "backoff crashloop container with restart onfailure",
                    vec![],
                    vec![running(a), waiting_with_last_termination(b)],
                    false,
                    Running,
                ),
            ],
        );
    }

    /// kubelet_pods_test.go `Test_generateAPIPodStatus`, the phase of each case: the
    /// computed phase (getPhase on the statuses the case converts to) merged with the status
    /// manager's and the API server's phases; reason and message kept or cleared.
    #[test]
    fn test_generate_api_pod_status_phases() {
        use PodPhase::*;
        let p = pod(RestartPolicy::Always, vec![]);
        // `waitingWithLastTerminationUnknown`: waiting, last terminated (exit 137).
        let unknown = |n: &str| {
            let mut s = waiting(n);
            s.last_state = Some(term(137));
            s
        };
        let restarting = [unknown("containerA"), unknown("containerB")];
        let computed = get_phase(&p, Statuses::two(&[], &restarting), false);
        assert_eq!(computed, Running);
        // "terminal phase cannot be changed (apiserver previous is succeeded)"
        assert_eq!(api_pod_phase(computed, Pending, Succeeded), Succeeded);
        // "terminal phase from previous status must remain terminal, restartAlways"
        assert_eq!(api_pod_phase(computed, Succeeded, Running), Succeeded);
        // "pod disruption condition is copied over and the phase is set to failed when
        // deleted": isPodTerminal with running containers that are now gone.
        assert_eq!(get_phase(&p, Statuses::two(&[], &restarting), true), Failed);
        // "running can revert to pending": ContainerCreating without a last run.
        let creating = [waiting("containerA"), waiting("containerB")];
        let computed = get_phase(&p, Statuses::two(&[], &creating), false);
        assert_eq!(api_pod_phase(computed, Pending, Running), Pending);

        let status = |phase, reason: &str, message: &str| PodStatus {
            phase,
            reason: reason.into(),
            message: message.into(),
            ..PodStatus::default()
        };
        // "terminal phase from previous status must remain terminal, restartAlways":
        // "Reason and message should be preserved".
        assert_eq!(
            preserved_reason_message(
                Succeeded,
                &status(Succeeded, "Test", "test"),
                &status(Running, "", "")
            ),
            ("Test".to_string(), "test".to_string())
        );
        // "reason and message are preserved when phase doesn't change"
        assert_eq!(
            preserved_reason_message(
                Pending,
                &status(Pending, "Test", "test"),
                &status(Running, "", "")
            ),
            ("Test".to_string(), "test".to_string())
        );
        // "reason and message are cleared when phase changes"
        assert_eq!(
            preserved_reason_message(
                Running,
                &status(Pending, "Test", "test"),
                &status(Pending, "", "")
            ),
            (String::new(), String::new())
        );
    }

    /// The `podIsTerminal` exception for static pods (`TODO(#116484)` in getPhase): a terminal
    /// static pod under restartPolicy Always stays Running. Not an upstream table case; it pins
    /// the branch the tables above do not reach.
    #[test]
    fn terminal_static_pod_keeps_restart_policy_phase() {
        let mut p = pod(RestartPolicy::Always, vec![]);
        p.meta
            .annotations
            .insert(CONFIG_SOURCE_ANNOTATION.into(), FILE_SOURCE.into());
        let regular = vec![succeeded("containerA"), succeeded("containerB")];
        assert_eq!(
            get_phase(&p, Statuses::two(&[], &regular), true),
            PodPhase::Running
        );
    }
}
