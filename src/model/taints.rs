//! Taints and tolerations: the well-known node taints, the toleration matching rules, and the
//! DefaultTolerationSeconds admission (`add_default_tolerations`).
//!
//! Invariant: plain data plus pure helpers; no I/O, no clocks.

use super::pod::PodSpec;
use crate::sim::{SimDuration, SimTime};

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
pub const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
    pub time_added: Option<SimTime>,
}

impl Taint {
    pub fn new(key: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.to_string(),
            value: String::new(),
            effect,
            time_added: None,
        }
    }
    /// `key=value:Effect` (or `key:Effect`), as kubectl prints taints.
    pub fn to_text(&self) -> String {
        if self.value.is_empty() {
            format!("{}:{}", self.key, self.effect.as_str())
        } else {
            format!("{}={}:{}", self.key, self.value, self.effect.as_str())
        }
    }
    /// Same key and effect (the identity Kubernetes uses for taints on one node).
    pub fn matches(&self, other: &Taint) -> bool {
        self.key == other.key && self.effect == other.effect
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    pub key: String,
    pub operator: TolerationOperator,
    pub value: String,
    /// `None` = empty effect, which matches every effect.
    pub effect: Option<TaintEffect>,
    /// `None` = tolerate forever.
    pub toleration_seconds: Option<i64>,
}

impl Toleration {
    /// `ToleratesTaint`: effect matches (or empty), key matches (or empty with Exists),
    /// and value matches for Equal.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if let Some(e) = self.effect {
            if e != taint.effect {
                return false;
            }
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator {
            TolerationOperator::Exists => true,
            TolerationOperator::Equal => self.value == taint.value && !self.key.is_empty(),
        }
    }
}

/// `DefaultTolerationSeconds` (reference §5.2): for each of not-ready and unreachable, add
/// `{key, Exists, NoExecute, seconds}` unless a toleration with that key (or an empty key) and
/// effect NoExecute (or empty) is already there. The operator is not inspected.
pub fn add_default_tolerations(
    spec: &mut PodSpec,
    not_ready: SimDuration,
    unreachable: SimDuration,
) {
    for (key, d) in [
        (TAINT_NOT_READY, not_ready),
        (TAINT_UNREACHABLE, unreachable),
    ] {
        let present = spec.tolerations.iter().any(|t| {
            (t.key == key || t.key.is_empty())
                && (t.effect.is_none() || t.effect == Some(TaintEffect::NoExecute))
        });
        if !present {
            spec.tolerations.push(Toleration {
                key: key.to_string(),
                operator: TolerationOperator::Exists,
                value: String::new(),
                effect: Some(TaintEffect::NoExecute),
                toleration_seconds: Some((d.as_nanos() / 1_000_000_000) as i64),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tol(
        key: &str,
        op: TolerationOperator,
        value: &str,
        effect: Option<TaintEffect>,
    ) -> Toleration {
        Toleration {
            key: key.into(),
            operator: op,
            value: value.into(),
            effect,
            toleration_seconds: None,
        }
    }

    #[test]
    fn toleration_matching_rules() {
        let t = Taint {
            key: "k".into(),
            value: "v".into(),
            effect: TaintEffect::NoExecute,
            time_added: None,
        };
        use TolerationOperator::*;
        assert!(tol("k", Equal, "v", Some(TaintEffect::NoExecute)).tolerates(&t));
        assert!(!tol("k", Equal, "w", Some(TaintEffect::NoExecute)).tolerates(&t));
        assert!(tol("k", Exists, "", None).tolerates(&t));
        assert!(tol("", Exists, "", None).tolerates(&t));
        assert!(!tol("k", Exists, "", Some(TaintEffect::NoSchedule)).tolerates(&t));
        assert!(!tol("other", Exists, "", None).tolerates(&t));
    }

    // Reference §5.2 (DefaultTolerationSeconds admission).
    #[test]
    fn default_toleration_seconds_admission() {
        let mut spec = PodSpec::default();
        add_default_tolerations(
            &mut spec,
            SimDuration::from_secs(300),
            SimDuration::from_secs(300),
        );
        assert_eq!(spec.tolerations.len(), 2);
        assert!(spec
            .tolerations
            .iter()
            .all(|t| t.toleration_seconds == Some(300)));
        // An existing NoExecute toleration for a key, whatever its operator, blocks the default.
        let mut spec = PodSpec::default();
        spec.tolerations.push(Toleration {
            key: TAINT_UNREACHABLE.into(),
            operator: TolerationOperator::Equal,
            value: String::new(),
            effect: Some(TaintEffect::NoExecute),
            toleration_seconds: Some(10),
        });
        add_default_tolerations(
            &mut spec,
            SimDuration::from_secs(300),
            SimDuration::from_secs(300),
        );
        assert_eq!(spec.tolerations.len(), 2);
        assert_eq!(spec.tolerations[0].toleration_seconds, Some(10));
        // An empty-key Exists toleration (tolerates everything) blocks both.
        let mut spec = PodSpec::default();
        spec.tolerations
            .push(tol("", TolerationOperator::Exists, "", None));
        add_default_tolerations(
            &mut spec,
            SimDuration::from_secs(300),
            SimDuration::from_secs(300),
        );
        assert_eq!(spec.tolerations.len(), 1);
    }
}
