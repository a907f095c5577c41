//! Scenario expectations: what a user asserts about a run, evaluated read-only against the API
//! server's objects, the node lifecycle controller's zone states and the trace.
//!
//! Invariant: evaluation mutates nothing; a state expectation at time t sees the state after
//! every event at or before t.

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::model::*;
use crate::sim::time::format_secs;
use crate::sim::{Record, SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountSpec {
    pub exact: Option<u64>,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

impl CountSpec {
    pub fn holds(&self, n: u64) -> bool {
        self.exact.is_none_or(|e| n == e)
            && self.min.is_none_or(|m| n >= m)
            && self.max.is_none_or(|m| n <= m)
    }
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if let Some(e) = self.exact {
            parts.push(format!("{e}"));
        }
        if let Some(m) = self.min {
            parts.push(format!(">= {m}"));
        }
        if let Some(m) = self.max {
            parts.push(format!("<= {m}"));
        }
        parts.join(" and ")
    }
}

/// A glob with `*` wildcards (only), for objects and messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob(pub String);

impl Glob {
    pub fn matches(&self, text: &str) -> bool {
        glob_match(self.0.as_bytes(), text.as_bytes())
    }
}

fn glob_match(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFilter {
    pub reason: String,
    pub object: Option<Glob>,
    pub message: Option<Glob>,
    /// The record's `zone` field (node events, taints, evictions carry one).
    pub zone: Option<String>,
}

impl EventFilter {
    pub fn matches(&self, r: &Record) -> bool {
        r.reason == self.reason
            && self.object.as_ref().is_none_or(|g| g.matches(&r.object))
            && self.message.as_ref().is_none_or(|g| g.matches(&r.message))
            && self
                .zone
                .as_ref()
                .is_none_or(|z| r.fields.iter().any(|(k, v)| *k == "zone" && v == z))
    }
    fn describe(&self) -> String {
        let mut s = self.reason.clone();
        if let Some(o) = &self.object {
            s.push_str(&format!(" on {}", o.0));
        }
        if let Some(m) = &self.message {
            s.push_str(&format!(" with message {:?}", m.0));
        }
        if let Some(z) = &self.zone {
            s.push_str(&format!(" in zone {z}"));
        }
        s
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    NodeCondition {
        node: String,
        type_: NodeConditionType,
        status: ConditionStatus,
    },
    NodeTaint {
        node: String,
        key: String,
        effect: TaintEffect,
        present: bool,
    },
    PodCount {
        phase: Option<PodPhase>,
        terminating: Option<bool>,
        ready: Option<bool>,
        namespace: Option<String>,
        node: Option<String>,
        labels: BTreeMap<String, String>,
        count: CountSpec,
    },
    /// Records matching `filter` from `from` (inclusive) to the expectation's time.
    EventCount {
        filter: EventFilter,
        count: CountSpec,
        from: Option<SimTime>,
    },
    EventTime {
        filter: EventFilter,
        nth: u64,
        window: TimeWindow,
    },
    /// `zone` is the zone label value (or `region/zone`); "" for unlabelled nodes.
    ZoneState { zone: String, state: String },
    /// A Deployment's status fields and conditions (each `None` is not checked).
    Deployment {
        key: String,
        replicas: Option<i32>,
        updated: Option<i32>,
        ready: Option<i32>,
        available_replicas: Option<i32>,
        /// Reason of the Progressing condition.
        progressing: Option<String>,
        /// Status of the Available condition.
        available: Option<ConditionStatus>,
    },
    /// A Service's endpoints, a PodDisruptionBudget's status, a Namespace's phase.
    Object(super::objects::ObjectExpectation),
    /// A Job's status counters and a True condition (each `None` is not checked).
    Job(JobExpect),
    /// A container's status in every selected pod.
    Container(super::pods::ContainerExpect),
    /// A pod condition of every selected pod.
    PodCondition(super::pods::PodConditionExpect),
    /// Some pod matches the selector (`present`), or none does.
    PodsExist {
        pods: super::pods::PodSelector,
        present: bool,
    },
}

/// When the n-th matching event must have been logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeWindow {
    /// |t − at| ≤ tolerance.
    At { at: SimTime, tolerance: SimDuration },
    /// min ≤ t ≤ max; a missing bound does not limit.
    Within {
        min: Option<SimTime>,
        max: Option<SimTime>,
    },
}

impl TimeWindow {
    fn holds(&self, t: SimTime) -> bool {
        match *self {
            TimeWindow::At { at, tolerance } => {
                t.as_nanos().abs_diff(at.as_nanos()) <= tolerance.as_nanos()
            }
            TimeWindow::Within { min, max } => {
                min.is_none_or(|m| t >= m) && max.is_none_or(|m| t <= m)
            }
        }
    }

    fn describe(&self) -> String {
        match *self {
            TimeWindow::At { at, tolerance } => {
                let mut s = format!("{}s", format_secs(at.as_nanos(), 3));
                if tolerance > SimDuration::ZERO {
                    s.push_str(&format!(" ± {tolerance}"));
                }
                s
            }
            TimeWindow::Within { min, max } => {
                let b = |t: Option<SimTime>| t.map_or("…".into(), precise);
                format!("within [{}, {}]", b(min), b(max))
            }
        }
    }
}

/// Seconds with 3 decimals, or 9 when the time is not a whole millisecond.
fn precise(t: SimTime) -> String {
    let ns = t.as_nanos();
    let places = if ns % 1_000_000 == 0 { 3 } else { 9 };
    format!("{}s", format_secs(ns, places))
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobExpect {
    pub key: String,
    pub active: Option<i32>,
    pub succeeded: Option<i32>,
    pub failed: Option<i32>,
    pub ready: Option<i32>,
    pub terminating: Option<i32>,
    /// `completedIndexes` as upstream compresses it (`"0-2,4"`).
    pub completed_indexes: Option<String>,
    pub condition: Option<JobConditionType>,
    pub reason: Option<String>,
    pub exists: bool,
}

impl JobExpect {
    /// (description, expected, observed, ok) against the API server's Job.
    fn evaluate(&self, job: Option<&Job>, when: &str) -> (String, String, String, bool) {
        let desc = format!("Job/{} status {when}", self.key);
        let Some(j) = job else {
            let ok = !self.exists;
            let exp = if self.exists { "exists" } else { "absent" };
            return (desc, exp.into(), "<no such job>".into(), ok);
        };
        if !self.exists {
            return (desc, "absent".into(), "exists".into(), false);
        }
        let (mut exp, mut obs, mut ok) = (Vec::new(), Vec::new(), true);
        let st = &j.status;
        for (name, want, got) in [
            ("active", self.active, st.active),
            ("succeeded", self.succeeded, st.succeeded),
            ("failed", self.failed, st.failed),
            ("ready", self.ready, st.ready),
            ("terminating", self.terminating, st.terminating),
        ] {
            if let Some(w) = want {
                exp.push(format!("{name}={w}"));
                obs.push(format!("{name}={got}"));
                ok &= got == w;
            }
        }
        if let Some(w) = &self.completed_indexes {
            exp.push(format!("completedIndexes={w:?}"));
            obs.push(format!("completedIndexes={:?}", st.completed_indexes));
            ok &= st.completed_indexes == *w;
        }
        if let Some(t) = self.condition {
            let c = j.condition(t).filter(|c| c.status == ConditionStatus::True);
            exp.push(format!("{}=True", t.as_str()));
            obs.push(format!(
                "{}={}",
                t.as_str(),
                j.condition(t).map_or("<absent>", |c| c.status.as_str())
            ));
            ok &= c.is_some();
            if let Some(r) = &self.reason {
                let got = c.map(|c| c.reason.clone()).unwrap_or_default();
                exp.push(format!("reason={r}"));
                obs.push(format!("reason={got}"));
                ok &= got == *r;
            }
        }
        (desc, exp.join(" "), obs.join(" "), ok)
    }
}

/// An expectation with when it is evaluated (`None` = at the end of the run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedExpectation {
    pub at: Option<SimTime>,
    pub expectation: Expectation,
    /// Where it was written (`expect[3]`), for messages.
    pub origin: String,
}

#[derive(Clone, Debug)]
pub struct ExpectationResult {
    pub origin: String,
    pub description: String,
    pub expected: String,
    pub observed: String,
    pub passed: bool,
}

impl TimedExpectation {
    /// Whether it depends on live state (must be evaluated exactly at `at`) rather than the trace.
    pub fn needs_state(&self) -> bool {
        !matches!(
            self.expectation,
            Expectation::EventCount { .. } | Expectation::EventTime { .. }
        )
    }

    pub fn evaluate(&self, cluster: &Cluster, trace: &[Record], now: SimTime) -> ExpectationResult {
        let when = match self.at {
            Some(t) => format!("at {}s", format_secs(t.as_nanos(), 3)),
            None => "at the end".to_string(),
        };
        let (description, expected, observed, passed) = match &self.expectation {
            Expectation::NodeCondition {
                node,
                type_,
                status,
            } => {
                let got = cluster
                    .api
                    .nodes()
                    .get(node)
                    .map(|n| {
                        n.condition(*type_)
                            .map(|c| c.status.as_str())
                            .unwrap_or("<absent>")
                    })
                    .unwrap_or("<no such node>");
                (
                    format!("Node/{node} {} {when}", type_.as_str()),
                    status.as_str().to_string(),
                    got.to_string(),
                    got == status.as_str(),
                )
            }
            Expectation::NodeTaint {
                node,
                key,
                effect,
                present,
            } => {
                let has = cluster
                    .api
                    .nodes()
                    .get(node)
                    .is_some_and(|n| n.has_taint(key, *effect));
                let word = |b: bool| if b { "present" } else { "absent" };
                (
                    format!("Node/{node} taint {key}:{} {when}", effect.as_str()),
                    word(*present).into(),
                    word(has).into(),
                    has == *present,
                )
            }
            Expectation::PodCount {
                phase,
                terminating,
                ready,
                namespace,
                node,
                labels,
                count,
            } => {
                let sel = PodSelection {
                    phase: *phase,
                    terminating: *terminating,
                    ready: *ready,
                    namespace: namespace.as_deref(),
                    node: node.as_deref(),
                    labels,
                };
                pod_count(cluster, &sel, count, &when)
            }
            Expectation::EventCount {
                filter,
                count,
                from,
            } => {
                let by = self.at.unwrap_or(now);
                let n = trace
                    .iter()
                    .take_while(|r| r.t <= by)
                    .filter(|r| from.is_none_or(|f| r.t >= f))
                    .filter(|r| filter.matches(r))
                    .count() as u64;
                let by_text = format!("{}s", format_secs(by.as_nanos(), 3));
                let when = match (from, self.at) {
                    (Some(f), _) => format!("from {} to {by_text}", precise(*f)),
                    (None, Some(_)) => format!("by {by_text}"),
                    (None, None) => "in the run".to_string(),
                };
                (
                    format!("events {} {when}", filter.describe()),
                    count.describe(),
                    n.to_string(),
                    count.holds(n),
                )
            }
            Expectation::EventTime {
                filter,
                nth,
                window,
            } => event_time(trace, filter, *nth, window),
            Expectation::Deployment {
                key,
                replicas,
                updated,
                ready,
                available_replicas,
                progressing,
                available,
            } => {
                let want = DeploymentWant {
                    replicas: *replicas,
                    updated: *updated,
                    ready: *ready,
                    available_replicas: *available_replicas,
                    progressing: progressing.as_deref(),
                    available: *available,
                };
                deployment(cluster, key, &want, &when)
            }
            Expectation::Object(o) => super::objects::evaluate(o, cluster, &when),
            Expectation::Job(j) => j.evaluate(cluster.api.jobs().get(&j.key).map(|x| &**x), &when),
            Expectation::Container(x) => x.evaluate(cluster, &when),
            Expectation::PodCondition(x) => x.evaluate(cluster, &when),
            Expectation::PodsExist { pods, present } => {
                super::pods::exists(pods, *present, cluster, &when)
            }
            Expectation::ZoneState { zone, state } => {
                let got = cluster
                    .kcm
                    .nlc
                    .zone_states()
                    .iter()
                    .find(|(k, _)| zone_key_display(k) == *zone)
                    .map(|(_, s)| s.as_str())
                    .unwrap_or("<unknown zone>");
                (
                    format!("zone {zone:?} state {when}"),
                    state.clone(),
                    got.to_string(),
                    got == state,
                )
            }
        };
        ExpectationResult {
            origin: self.origin.clone(),
            description,
            expected,
            observed,
            passed,
        }
    }
}

/// The filters of a `podCount` expectation.
struct PodSelection<'a> {
    phase: Option<PodPhase>,
    terminating: Option<bool>,
    ready: Option<bool>,
    namespace: Option<&'a str>,
    node: Option<&'a str>,
    labels: &'a BTreeMap<String, String>,
}

type Outcome = (String, String, String, bool);

fn pod_count(cluster: &Cluster, sel: &PodSelection, count: &CountSpec, when: &str) -> Outcome {
    let PodSelection {
        phase,
        terminating,
        ready,
        namespace,
        node,
        labels,
    } = *sel;
    let n = cluster
        .api
        .pods()
        .values()
        .filter(|p| phase.is_none_or(|ph| p.status.phase == ph))
        .filter(|p| terminating.is_none_or(|t| p.is_terminating() == t))
        .filter(|p| ready.is_none_or(|r| p.is_ready() == r))
        .filter(|p| namespace.is_none_or(|ns| p.meta.namespace == ns))
        .filter(|p| node.is_none_or(|nd| p.spec.node_name.as_deref() == Some(nd)))
        .filter(|p| labels.iter().all(|(k, v)| p.meta.labels.get(k) == Some(v)))
        .count() as u64;
    let mut what = String::from("pods");
    if let Some(ph) = phase {
        what.push_str(&format!(" phase={}", ph.as_str()));
    }
    if let Some(t) = terminating {
        what.push_str(&format!(" terminating={t}"));
    }
    if let Some(r) = ready {
        what.push_str(&format!(" ready={r}"));
    }
    if let Some(ns) = namespace {
        what.push_str(&format!(" namespace={ns}"));
    }
    if let Some(nd) = node {
        what.push_str(&format!(" node={nd}"));
    }
    for (k, v) in labels {
        what.push_str(&format!(" {k}={v}"));
    }
    (
        format!("{what} {when}"),
        count.describe(),
        n.to_string(),
        count.holds(n),
    )
}

fn event_time(trace: &[Record], filter: &EventFilter, nth: u64, window: &TimeWindow) -> Outcome {
    let hit = trace
        .iter()
        .filter(|r| filter.matches(r))
        .nth(nth.saturating_sub(1) as usize);
    let observed = match (hit, window) {
        (Some(r), TimeWindow::Within { .. }) => precise(r.t),
        (Some(r), TimeWindow::At { .. }) => format!("{}s", format_secs(r.t.as_nanos(), 3)),
        (None, _) => "never".to_string(),
    };
    let ok = hit.is_some_and(|r| window.holds(r.t));
    let expected = window.describe();
    let ord = if nth == 1 {
        "first".to_string()
    } else {
        format!("#{nth}")
    };
    (
        format!("time of {ord} event {}", filter.describe()),
        expected,
        observed,
        ok,
    )
}

/// The status fields a `deployment` expectation asserts (`None`: not asserted).
struct DeploymentWant<'a> {
    replicas: Option<i32>,
    updated: Option<i32>,
    ready: Option<i32>,
    available_replicas: Option<i32>,
    progressing: Option<&'a str>,
    available: Option<ConditionStatus>,
}

fn deployment(cluster: &Cluster, key: &str, want: &DeploymentWant, when: &str) -> Outcome {
    let DeploymentWant {
        replicas,
        updated,
        ready,
        available_replicas,
        progressing,
        available,
    } = *want;
    let d = cluster.api.deployments().get(key);
    let mut exp = Vec::new();
    let mut obs = Vec::new();
    let mut ok = d.is_some();
    let mut num = |name: &str, want: Option<i32>, got: Option<i32>| {
        if let Some(w) = want {
            exp.push(format!("{name}={w}"));
            let g = got.map_or("<none>".to_string(), |g| g.to_string());
            obs.push(format!("{name}={g}"));
            ok &= got == Some(w);
        }
    };
    let st = d.map(|d| &d.status);
    num("replicas", replicas, st.map(|s| s.replicas));
    num("updatedReplicas", updated, st.map(|s| s.updated_replicas));
    num("readyReplicas", ready, st.map(|s| s.ready_replicas));
    num(
        "availableReplicas",
        available_replicas,
        st.map(|s| s.available_replicas),
    );
    let cond = |t: &str| {
        st.and_then(|s| s.conditions.iter().find(|c| c.type_ == t))
            .cloned()
    };
    if let Some(r) = progressing {
        let got = cond("Progressing").map(|c| c.reason);
        exp.push(format!("Progressing reason={r}"));
        obs.push(format!(
            "Progressing reason={}",
            got.clone().unwrap_or_else(|| "<absent>".into())
        ));
        ok &= got.as_deref() == Some(r);
    }
    if let Some(a) = available {
        let got = cond("Available").map(|c| c.status);
        exp.push(format!("Available={}", a.as_str()));
        obs.push(format!(
            "Available={}",
            got.map_or("<absent>", |g| g.as_str())
        ));
        ok &= got == Some(a);
    }
    (
        format!("Deployment/{key} status {when}"),
        exp.join(" "),
        if d.is_none() {
            "<no such deployment>".to_string()
        } else {
            obs.join(" ")
        },
        ok,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str| Glob(p.into());
        assert!(g("Pod/*").matches("Pod/default/web-x"));
        assert!(g("Marking*").matches("Marking for deletion Pod a/b"));
        assert!(g("*web*").matches("Pod/default/web-x"));
        assert!(!g("Pod/kube-system/*").matches("Pod/default/web-x"));
        assert!(g("exact").matches("exact"));
        assert!(!g("exact").matches("exactly"));
    }

    #[test]
    fn count_spec() {
        let c = CountSpec {
            exact: None,
            min: Some(2),
            max: Some(3),
        };
        assert!(!c.holds(1) && c.holds(2) && c.holds(3) && !c.holds(4));
    }
}
