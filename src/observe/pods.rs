//! Expectations about selected pods: a container's status (`container:`) and a pod condition
//! (`podCondition:`), read from the pod status the kubelet last wrote to the API server.
//!
//! Invariant: read-only, like every expectation; every pod the selector matches must satisfy
//! every asserted field, and a selector that matches no pod fails (unless `exists: false`).

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::model::*;

/// Which pods an expectation reads: by `namespace/name`, or by labels (and namespace).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSelector {
    /// The pod's name (with `namespace` defaulted to `default`).
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl PodSelector {
    fn matches(&self, p: &Pod) -> bool {
        self.name.as_ref().is_none_or(|n| p.meta.name == *n)
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| p.meta.namespace == *ns)
            && self
                .labels
                .iter()
                .all(|(k, v)| p.meta.labels.get(k) == Some(v))
    }

    fn pods<'a>(&self, c: &'a Cluster) -> Vec<&'a Pod> {
        c.api
            .pods()
            .values()
            .map(|p| &**p)
            .filter(|p| self.matches(p))
            .collect()
    }

    /// `Pod/ns/name` or `pods ns=… k=v`, for descriptions.
    pub fn describe(&self) -> String {
        if let Some(n) = &self.name {
            let ns = self.namespace.as_deref().unwrap_or("default");
            return format!("Pod/{ns}/{n}");
        }
        let mut s = String::from("pods");
        if let Some(ns) = &self.namespace {
            s.push_str(&format!(" namespace={ns}"));
        }
        for (k, v) in &self.labels {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }
}

/// A container's status fields (each `None` is not checked).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerExpect {
    pub pods: PodSelector,
    pub container: String,
    /// `waiting`, `running` or `terminated`.
    pub state: Option<String>,
    pub waiting_reason: Option<String>,
    pub restart_count: Option<u32>,
    /// `lastState.terminated.exitCode`.
    pub last_exit_code: Option<i32>,
    pub started: Option<bool>,
    pub ready: Option<bool>,
}

/// A pod condition's status (and reason).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodConditionExpect {
    pub pods: PodSelector,
    pub type_: PodConditionType,
    pub status: ConditionStatus,
    pub reason: Option<String>,
}

type Outcome = (String, String, String, bool);

/// Whether some pod the selector matches exists, as `exists` asserts.
pub fn exists(sel: &PodSelector, present: bool, c: &Cluster, when: &str) -> Outcome {
    let n = sel.pods(c).len();
    let word = |b: bool| if b { "exists" } else { "absent" };
    (
        format!("{} {when}", sel.describe()),
        word(present).into(),
        if n == 0 {
            "absent".into()
        } else {
            format!("exists ({n} pods)")
        },
        (n > 0) == present,
    )
}

fn state_name(s: &ContainerState) -> &'static str {
    match s {
        ContainerState::Waiting { .. } => "waiting",
        ContainerState::Running { .. } => "running",
        ContainerState::Terminated(_) => "terminated",
    }
}

impl ContainerExpect {
    /// The asserted fields as (expected, observed) texts for one container status.
    fn check(&self, s: &ContainerStatus) -> (Vec<String>, Vec<String>, bool) {
        let (mut exp, mut obs, mut ok) = (Vec::new(), Vec::new(), true);
        let mut field = |name: &str, want: Option<String>, got: String| {
            if let Some(w) = want {
                ok &= w == got;
                exp.push(format!("{name}={w}"));
                obs.push(format!("{name}={got}"));
            }
        };
        field("state", self.state.clone(), state_name(&s.state).into());
        let reason = match &s.state {
            ContainerState::Waiting { reason, .. } => reason.clone(),
            _ => "<not waiting>".into(),
        };
        field("waitingReason", self.waiting_reason.clone(), reason);
        let restarts = s.restart_count.to_string();
        field(
            "restartCount",
            self.restart_count.map(|n| n.to_string()),
            restarts,
        );
        let last = s
            .last_state
            .as_ref()
            .map_or("<none>".into(), |t| t.exit_code.to_string());
        field(
            "lastExitCode",
            self.last_exit_code.map(|n| n.to_string()),
            last,
        );
        field(
            "started",
            self.started.map(|b| b.to_string()),
            s.started.to_string(),
        );
        field(
            "ready",
            self.ready.map(|b| b.to_string()),
            s.ready.to_string(),
        );
        (exp, obs, ok)
    }

    pub fn evaluate(&self, c: &Cluster, when: &str) -> Outcome {
        let desc = format!(
            "container {} of {} {when}",
            self.container,
            self.pods.describe()
        );
        let blank = ContainerStatus::new(&self.container, "", ContainerState::waiting(""));
        let (expected, _, _) = self.check(&blank);
        let expected = expected.join(" ");
        let pods = self.pods.pods(c);
        if pods.is_empty() {
            return (desc, expected, "<no matching pod>".into(), false);
        }
        let (mut observed, mut ok) = (Vec::new(), true);
        for p in &pods {
            let status = p
                .status
                .container_statuses
                .iter()
                .chain(&p.status.init_container_statuses)
                .find(|s| s.name == self.container);
            let text = match status {
                None => {
                    ok = false;
                    "<no status>".to_string()
                }
                Some(s) => {
                    let (_, obs, good) = self.check(s);
                    ok &= good;
                    obs.join(" ")
                }
            };
            observed.push(per_pod(&pods, p, text));
        }
        (desc, expected, observed.join("; "), ok)
    }
}

/// `text`, prefixed with the pod's name when several pods match.
fn per_pod(pods: &[&Pod], p: &Pod, text: String) -> String {
    if pods.len() == 1 {
        text
    } else {
        format!("{}: {text}", p.meta.name)
    }
}

impl PodConditionExpect {
    pub fn evaluate(&self, c: &Cluster, when: &str) -> Outcome {
        let t = self.type_.as_str();
        let desc = format!("{} condition {t} {when}", self.pods.describe());
        let mut expected = self.status.as_str().to_string();
        if let Some(r) = &self.reason {
            expected.push_str(&format!(" reason={r}"));
        }
        let pods = self.pods.pods(c);
        if pods.is_empty() {
            return (desc, expected, "<no matching pod>".into(), false);
        }
        let (mut observed, mut ok) = (Vec::new(), true);
        for p in &pods {
            let cond = p.condition(self.type_);
            let mut text = cond.map_or("<absent>", |c| c.status.as_str()).to_string();
            ok &= cond.is_some_and(|c| c.status == self.status);
            if let Some(r) = &self.reason {
                let got = cond.map_or("", |c| c.reason.as_str());
                text.push_str(&format!(" reason={got}"));
                ok &= got == r;
            }
            observed.push(per_pod(&pods, p, text));
        }
        (desc, expected, observed.join("; "), ok)
    }
}
