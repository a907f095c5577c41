//! The pod conditions the kubelet owns, as pkg/kubelet/status/generate.go generates them:
//! `ContainersReady`, `Ready`, `Initialized` (sidecars count once started) and
//! `PodReadyToStartContainers`, with upstream's reasons and messages
//! ("containers with unready status: [a b]").
//!
//! Architecture invariant: pure functions of the pod spec, its container statuses and its
//! phase; the pod workers decide when to regenerate and write them. kubesim has no readiness
//! gates, so `Ready` is `ContainersReady` under another type, exactly what upstream yields for a
//! pod without gates.

use crate::model::{ConditionStatus, Pod, PodConditionType, PodPhase};
use crate::sim::SimTime;

use super::phase::{has_any_regular_container_started, is_restartable_init_container, Statuses};

/// `UnknownContainerStatuses`: the kubelet has no container statuses at all.
pub const UNKNOWN_CONTAINER_STATUSES: &str = "UnknownContainerStatuses";
/// `PodCompleted`: all containers succeeded.
pub const POD_COMPLETED: &str = "PodCompleted";
/// `PodFailed`: the pod failed, so its containers are (being) stopped.
pub const POD_FAILED: &str = "PodFailed";
/// `ContainersNotReady`: some container is not ready.
pub const CONTAINERS_NOT_READY: &str = "ContainersNotReady";
/// `ContainersNotInitialized`: some init container has not completed.
pub const CONTAINERS_NOT_INITIALIZED: &str = "ContainersNotInitialized";

/// A generated `v1.PodCondition` (times are the status manager's business, not the
/// generator's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedCondition {
    pub type_: PodConditionType,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
}

impl GeneratedCondition {
    fn new(type_: PodConditionType, status: ConditionStatus, reason: &str, message: &str) -> Self {
        GeneratedCondition {
            type_,
            status,
            reason: reason.to_string(),
            message: message.to_string(),
        }
    }
    /// Writes the condition on the pod, keeping `lastTransitionTime` when the status did not
    /// change (`PodCondition` carries no message in kubesim's model).
    pub fn apply_to(&self, pod: &mut Pod, now: SimTime) {
        pod.set_condition(self.type_, self.status, &self.reason, now);
    }
}

/// Go's `fmt.Sprintf("%s", []string{…})`: `[a b]`.
fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

/// "containers with unknown status: [..], containers with <what> status: [..]" (either part
/// only when non-empty; "" when both are empty).
fn unready_message(unknown: &[&str], what: &str, not_ok: &[&str]) -> String {
    let mut parts = Vec::new();
    if !unknown.is_empty() {
        parts.push(format!(
            "containers with unknown status: {}",
            go_list(unknown)
        ));
    }
    if !not_ok.is_empty() {
        parts.push(format!(
            "containers with {what} status: {}",
            go_list(not_ok)
        ));
    }
    parts.join(", ")
}

/// `generateContainersReadyConditionForTerminalPhase` (and its PodReady twin).
fn terminal_phase_condition(type_: PodConditionType, phase: PodPhase) -> GeneratedCondition {
    let reason = match phase {
        PodPhase::Failed => POD_FAILED,
        PodPhase::Succeeded => POD_COMPLETED,
        _ => "",
    };
    GeneratedCondition::new(type_, ConditionStatus::False, reason, "")
}

/// `GenerateContainersReadyCondition`: True when every sidecar and regular container is ready.
pub fn containers_ready_condition(
    pod: &Pod,
    statuses: Statuses<'_>,
    phase: PodPhase,
) -> GeneratedCondition {
    let t = PodConditionType::ContainersReady;
    if statuses.is_nil() {
        return GeneratedCondition::new(t, ConditionStatus::False, UNKNOWN_CONTAINER_STATUSES, "");
    }
    let mut unknown = Vec::new();
    let mut unready = Vec::new();
    let sidecars = pod
        .spec
        .init_containers
        .iter()
        .filter(|c| is_restartable_init_container(c));
    for c in sidecars.chain(&pod.spec.containers) {
        match statuses.get(&c.name) {
            Some(s) if !s.ready => unready.push(c.name.as_str()),
            Some(_) => {}
            None => unknown.push(c.name.as_str()),
        }
    }
    if (phase == PodPhase::Succeeded && unknown.is_empty()) || phase == PodPhase::Failed {
        return terminal_phase_condition(t, phase);
    }
    let message = unready_message(&unknown, "unready", &unready);
    if !message.is_empty() {
        return GeneratedCondition::new(t, ConditionStatus::False, CONTAINERS_NOT_READY, &message);
    }
    GeneratedCondition::new(t, ConditionStatus::True, "", "")
}

/// `GeneratePodReadyCondition` for a pod without readiness gates: the ContainersReady verdict
/// (status, reason and message) as the `Ready` condition.
pub fn pod_ready_condition(
    pod: &Pod,
    statuses: Statuses<'_>,
    phase: PodPhase,
) -> GeneratedCondition {
    GeneratedCondition {
        type_: PodConditionType::Ready,
        ..containers_ready_condition(pod, statuses, phase)
    }
}

/// `GeneratePodInitializedCondition`: True once every regular init container is ready
/// (completed) and every sidecar has started — or once any regular container has run, so
/// restarting sidecars do not un-initialize a pod.
pub fn pod_initialized_condition(
    pod: &Pod,
    statuses: Statuses<'_>,
    phase: PodPhase,
) -> GeneratedCondition {
    let t = PodConditionType::Initialized;
    if statuses.is_nil() && !pod.spec.init_containers.is_empty() {
        return GeneratedCondition::new(t, ConditionStatus::False, UNKNOWN_CONTAINER_STATUSES, "");
    }
    let mut unknown = Vec::new();
    let mut incomplete = Vec::new();
    for c in &pod.spec.init_containers {
        let Some(s) = statuses.get(&c.name) else {
            unknown.push(c.name.as_str());
            continue;
        };
        // `isInitContainerInitialized`: a sidecar counts once started, a regular init
        // container once ready (it reports ready when it exited 0).
        let done = if is_restartable_init_container(c) {
            s.started
        } else {
            s.ready
        };
        if !done {
            incomplete.push(c.name.as_str());
        }
    }
    if phase == PodPhase::Succeeded && unknown.is_empty() {
        return GeneratedCondition::new(t, ConditionStatus::True, POD_COMPLETED, "");
    }
    if has_any_regular_container_started(&pod.spec, statuses) {
        return GeneratedCondition::new(t, ConditionStatus::True, "", "");
    }
    let message = unready_message(&unknown, "incomplete", &incomplete);
    if !message.is_empty() {
        return GeneratedCondition::new(
            t,
            ConditionStatus::False,
            CONTAINERS_NOT_INITIALIZED,
            &message,
        );
    }
    GeneratedCondition::new(t, ConditionStatus::True, "", "")
}

/// The pod sandbox as `PodSandboxChanged` (pkg/kubelet/kuberuntime/util) judges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sandbox {
    /// No sandbox yet (or all were removed).
    Absent,
    /// The newest sandbox is not ready (e.g. its containers were killed).
    NotReady,
    /// More than one ready sandbox: the kubelet will tear them down and make a new one.
    MultipleReady,
    /// The pod's network namespace mode differs from the sandbox's (hostNetwork changed).
    NetworkNamespaceChanged,
    /// Ready, but the network plugin gave it no IP (and the pod is not hostNetwork).
    NoIp,
    /// One ready sandbox with networking configured.
    Ready,
}

/// `GeneratePodReadyToStartContainersCondition`: True iff no new sandbox is needed, i.e. a
/// sandbox with networking exists.
pub fn pod_ready_to_start_containers_condition(sandbox: Sandbox) -> GeneratedCondition {
    let status = if sandbox == Sandbox::Ready {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    GeneratedCondition::new(PodConditionType::PodReadyToStartContainers, status, "", "")
}

/// The kubelet-owned conditions in the order `generateAPIPodStatus` appends them:
/// PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled (always True).
pub fn kubelet_conditions(
    pod: &Pod,
    statuses: Statuses<'_>,
    phase: PodPhase,
    sandbox: Sandbox,
) -> Vec<GeneratedCondition> {
    vec![
        pod_ready_to_start_containers_condition(sandbox),
        pod_initialized_condition(pod, statuses, phase),
        pod_ready_condition(pod, statuses, phase),
        containers_ready_condition(pod, statuses, phase),
        GeneratedCondition::new(
            PodConditionType::PodScheduled,
            ConditionStatus::True,
            "",
            "",
        ),
    ]
}

#[cfg(test)]
mod tests {
    //! Ports of pkg/kubelet/status/generate_test.go, case by case in upstream's order.

    use super::*;
    use crate::model::{Container, ContainerState, ContainerStatus, RestartPolicy};

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
    fn pod(init: Vec<Container>, regular: Vec<Container>) -> Pod {
        Pod::default().with_containers(init, regular)
    }
    /// `getReadyStatus` / `getNotReadyStatus`: a status with only a name and Ready (Go's zero
    /// state has no running/terminated part, which a waiting state stands in for here).
    fn status(name: &str, ready: bool) -> ContainerStatus {
        let mut s = ContainerStatus::new(name, "", ContainerState::waiting(""));
        s.ready = ready;
        s
    }
    fn ready(name: &str) -> ContainerStatus {
        status(name, true)
    }
    fn not_ready(name: &str) -> ContainerStatus {
        status(name, false)
    }
    /// `getStartedStatus` / `getNotStartedStatus`.
    fn started(name: &str, started: bool) -> ContainerStatus {
        let mut s = status(name, false);
        s.started = started;
        s
    }
    fn cond(
        t: PodConditionType,
        s: ConditionStatus,
        reason: &str,
        message: &str,
    ) -> GeneratedCondition {
        GeneratedCondition::new(t, s, reason, message)
    }

    /// One table row: spec (init, regular), statuses (None = nil), phase, expected
    /// (status, reason, message).
    type Row = (
        Vec<Container>,
        Vec<Container>,
        Option<Vec<ContainerStatus>>,
        PodPhase,
        (ConditionStatus, &'static str, &'static str),
    );

    fn container_rows() -> Vec<Row> {
        use ConditionStatus::*;
        let c = |n: &str| container(n);
        vec![
            (
                vec![],
                vec![],
                None,
                PodPhase::Running,
                (False, UNKNOWN_CONTAINER_STATUSES, ""),
            ),
            (
                vec![],
                vec![],
                Some(vec![]),
                PodPhase::Running,
                (True, "", ""),
            ),
            (
                vec![],
                vec![c("1234")],
                Some(vec![]),
                PodPhase::Running,
                (
                    False,
                    CONTAINERS_NOT_READY,
                    "containers with unknown status: [1234]",
                ),
            ),
            (
                vec![],
                vec![c("1234"), c("5678")],
                Some(vec![ready("1234"), ready("5678")]),
                PodPhase::Running,
                (True, "", ""),
            ),
            (
                vec![],
                vec![c("1234"), c("5678")],
                Some(vec![ready("1234")]),
                PodPhase::Running,
                (
                    False,
                    CONTAINERS_NOT_READY,
                    "containers with unknown status: [5678]",
                ),
            ),
            (
                vec![],
                vec![c("1234"), c("5678")],
                Some(vec![ready("1234"), not_ready("5678")]),
                PodPhase::Running,
                (
                    False,
                    CONTAINERS_NOT_READY,
                    "containers with unready status: [5678]",
                ),
            ),
            (
                vec![],
                vec![c("1234")],
                Some(vec![not_ready("1234")]),
                PodPhase::Succeeded,
                (False, POD_COMPLETED, ""),
            ),
        ]
    }

    fn run(
        rows: Vec<Row>,
        t: PodConditionType,
        f: fn(&Pod, Statuses<'_>, PodPhase) -> GeneratedCondition,
    ) {
        for (i, (init, regular, sts, phase, (s, reason, message))) in rows.into_iter().enumerate() {
            let p = pod(init, regular);
            let got = match &sts {
                Some(v) => f(&p, Statuses::list(v), phase),
                None => f(&p, Statuses::nil(), phase),
            };
            assert_eq!(got, cond(t, s, reason, message), "On test case {i}");
        }
    }

    /// `TestGenerateContainersReadyCondition`.
    #[test]
    fn test_generate_containers_ready_condition() {
        use ConditionStatus::*;
        let mut rows = container_rows();
        rows.extend(vec![
            (
                vec![sidecar("restartable-init-1")],
                vec![container("regular-1")],
                Some(vec![ready("regular-1")]),
                PodPhase::Running,
                (
                    False,
                    CONTAINERS_NOT_READY,
                    "containers with unknown status: [restartable-init-1]",
                ),
            ),
            (
                vec![sidecar("restartable-init-1"), sidecar("restartable-init-2")],
                vec![container("regular-1")],
                Some(vec![
                    ready("restartable-init-1"),
                    ready("restartable-init-2"),
                    ready("regular-1"),
                ]),
                PodPhase::Running,
                (True, "", ""),
            ),
            (
                vec![sidecar("restartable-init-1"), sidecar("restartable-init-2")],
                vec![container("regular-1")],
                Some(vec![ready("restartable-init-1"), ready("regular-1")]),
                PodPhase::Running,
                (
                    False,
                    CONTAINERS_NOT_READY,
                    "containers with unknown status: [restartable-init-2]",
                ),
            ),
            (
                vec![sidecar("restartable-init-1"), sidecar("restartable-init-2")],
                vec![container("regular-1")],
                Some(vec![
                    ready("restartable-init-1"),
                    not_ready("restartable-init-2"),
                    ready("regular-1"),
                ]),
                PodPhase::Running,
                (
                    False,
                    CONTAINERS_NOT_READY,
                    "containers with unready status: [restartable-init-2]",
                ),
            ),
        ]);
        run(
            rows,
            PodConditionType::ContainersReady,
            containers_ready_condition,
        );
    }

    /// `TestGeneratePodReadyCondition`: the cases without readiness gates (kubesim has none),
    /// plus the last upstream case, whose one gate is True and so does not decide it.
    #[test]
    fn test_generate_pod_ready_condition() {
        use ConditionStatus::*;
        let mut rows = container_rows();
        rows.push((
            vec![],
            vec![container("1234")],
            Some(vec![not_ready("1234")]),
            PodPhase::Running,
            (
                False,
                CONTAINERS_NOT_READY,
                "containers with unready status: [1234]",
            ),
        ));
        run(rows, PodConditionType::Ready, pod_ready_condition);
    }

    /// Init containers, statuses (None = nil), phase, expected status and reason.
    type InitRow = (
        Vec<Container>,
        Option<Vec<ContainerStatus>>,
        PodPhase,
        ConditionStatus,
        &'static str,
    );

    /// `TestGeneratePodInitializedCondition` (upstream compares type, status and reason).
    #[test]
    fn test_generate_pod_initialized_condition() {
        use ConditionStatus::*;
        let one = || vec![container("1234")];
        let two = || vec![container("1234"), container("5678")];
        let regular = || vec![container("regular")];
        let mut running_regular = ContainerStatus::new(
            "regular",
            "",
            ContainerState::Running {
                started_at: SimTime::ZERO,
            },
        );
        running_regular.ready = false;
        let mut terminated_regular = ContainerStatus::new(
            "regular",
            "",
            ContainerState::Terminated(crate::model::Terminated {
                exit_code: 0,
                reason: String::new(),
                started_at: None,
                finished_at: SimTime::ZERO,
            }),
        );
        terminated_regular.ready = false;
        let rows: Vec<InitRow> = vec![
            (
                two(),
                None,
                PodPhase::Running,
                False,
                UNKNOWN_CONTAINER_STATUSES,
            ),
            (vec![], Some(vec![]), PodPhase::Running, True, ""),
            (
                one(),
                Some(vec![]),
                PodPhase::Running,
                False,
                CONTAINERS_NOT_INITIALIZED,
            ),
            (
                two(),
                Some(vec![ready("1234"), ready("5678")]),
                PodPhase::Running,
                True,
                "",
            ),
            (
                two(),
                Some(vec![ready("1234")]),
                PodPhase::Running,
                False,
                CONTAINERS_NOT_INITIALIZED,
            ),
            (
                two(),
                Some(vec![ready("1234"), not_ready("5678")]),
                PodPhase::Running,
                False,
                CONTAINERS_NOT_INITIALIZED,
            ),
            (
                one(),
                Some(vec![ready("1234")]),
                PodPhase::Succeeded,
                True,
                POD_COMPLETED,
            ),
            (
                vec![sidecar("1234")],
                Some(vec![started("1234", false)]),
                PodPhase::Pending,
                False,
                CONTAINERS_NOT_INITIALIZED,
            ),
            (
                vec![sidecar("1234")],
                Some(vec![started("1234", true)]),
                PodPhase::Running,
                True,
                "",
            ),
            (
                vec![sidecar("1234")],
                Some(vec![started("1234", false), running_regular]),
                PodPhase::Running,
                True,
                "",
            ),
            (
                one(),
                Some(vec![status("1234", false), terminated_regular]),
                PodPhase::Running,
                True,
                "",
            ),
        ];
        for (i, (init, sts, phase, want_status, want_reason)) in rows.into_iter().enumerate() {
            let p = pod(init, regular());
            let got = match &sts {
                Some(v) => pod_initialized_condition(&p, Statuses::list(v), phase),
                None => pod_initialized_condition(&p, Statuses::nil(), phase),
            };
            assert_eq!(got.type_, PodConditionType::Initialized, "case {i}");
            assert_eq!(got.status, want_status, "case {i}");
            assert_eq!(got.reason, want_reason, "case {i}");
        }
    }

    /// `TestGeneratePodReadyToStartContainersCondition` (statuses; the newest upstream adds a
    /// `PodSandboxNotReady` reason whose strings kubesim does not have yet).
    #[test]
    fn test_generate_pod_ready_to_start_containers_condition() {
        use ConditionStatus::*;
        let cases = [
            ("Empty pod status", Sandbox::Absent, False),
            ("Pod sandbox status not ready", Sandbox::NotReady, False),
            (
                "Pod with multiple ready sandboxes",
                Sandbox::MultipleReady,
                False,
            ),
            (
                "Pod sandbox status ready but network namespace mode changed",
                Sandbox::NetworkNamespaceChanged,
                False,
            ),
            (
                "Pod sandbox status ready but no IP configured",
                Sandbox::NoIp,
                False,
            ),
            (
                "Pod sandbox status ready and IP configured",
                Sandbox::Ready,
                True,
            ),
        ];
        for (desc, sandbox, want) in cases {
            let got = pod_ready_to_start_containers_condition(sandbox);
            assert_eq!(
                got.type_,
                PodConditionType::PodReadyToStartContainers,
                "{desc}"
            );
            assert_eq!(got.status, want, "{desc}");
        }
    }

    /// The order and the terminal-phase reasons of `generateAPIPodStatus`'s conditions, from
    /// kubelet_pods_test.go `Test_generateAPIPodStatus` ("terminal phase cannot be changed
    /// (apiserver previous is succeeded)": Initialized True/PodCompleted, Ready and
    /// ContainersReady False/PodCompleted, PodScheduled True, ReadyToStart False).
    #[test]
    fn generate_api_pod_status_terminal_succeeded_conditions() {
        use ConditionStatus::*;
        use PodConditionType::*;
        let p = pod(
            vec![],
            vec![container("containerA"), container("containerB")],
        );
        let mut a = ContainerStatus::new(
            "containerA",
            "",
            ContainerState::waiting("ContainerCreating"),
        );
        a.ready = true;
        let mut b = a.clone();
        b.name = "containerB".into();
        let sts = [a, b];
        let got = kubelet_conditions(
            &p,
            Statuses::list(&sts),
            PodPhase::Succeeded,
            Sandbox::Absent,
        );
        assert_eq!(
            got,
            vec![
                cond(PodReadyToStartContainers, False, "", ""),
                cond(Initialized, True, POD_COMPLETED, ""),
                cond(Ready, False, POD_COMPLETED, ""),
                cond(ContainersReady, False, POD_COMPLETED, ""),
                cond(PodScheduled, True, "", ""),
            ]
        );
        // "pod disruption condition is copied over and the phase is set to failed when
        // deleted": Ready and ContainersReady False/PodFailed, Initialized True.
        let got = kubelet_conditions(&p, Statuses::list(&sts), PodPhase::Failed, Sandbox::Ready);
        assert_eq!(got[1], cond(Initialized, True, "", ""));
        assert_eq!(got[2], cond(Ready, False, POD_FAILED, ""));
        assert_eq!(got[3], cond(ContainersReady, False, POD_FAILED, ""));
    }
}
