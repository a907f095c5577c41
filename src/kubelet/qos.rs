//! A pod's QoS class, `GetPodQOS` / `ComputePodQOS` of pkg/apis/core/v1/helper/qos/qos.go:
//! BestEffort when no container asks for or caps cpu or memory, Guaranteed when every
//! container caps both and the summed requests equal the summed limits, Burstable otherwise.
//!
//! Architecture invariant: a pure function of the pod spec (after API defaulting, which copies
//! limits into absent requests). Only cpu and memory count; a zero quantity counts as absent,
//! as upstream skips quantities that are not > 0. Pod-level resources (`spec.resources`) are
//! not in kubesim's model.

use crate::model::{Container, Pod};

/// `v1.PodQOSClass`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

/// Sums of the positive cpu and memory amounts (`None`: no container gave that resource).
#[derive(Default, PartialEq, Eq)]
struct CpuMem {
    cpu: Option<i64>,
    memory: Option<i64>,
}

impl CpuMem {
    fn add(&mut self, cpu_milli: i64, memory: i64) {
        if cpu_milli > 0 {
            *self.cpu.get_or_insert(0) += cpu_milli;
        }
        if memory > 0 {
            *self.memory.get_or_insert(0) += memory;
        }
    }
    fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none()
    }
}

/// A container that does not cap both cpu and memory keeps the pod from Guaranteed.
fn limits_both(c: &Container) -> bool {
    c.limits.cpu_milli > 0 && c.limits.memory > 0
}

/// `GetPodQOS`: init containers count like regular ones.
pub fn pod_qos(pod: &Pod) -> QosClass {
    let mut requests = CpuMem::default();
    let mut limits = CpuMem::default();
    let mut guaranteed = true;
    for c in pod.spec.containers.iter().chain(&pod.spec.init_containers) {
        requests.add(c.requests.cpu_milli, c.requests.memory);
        limits.add(c.limits.cpu_milli, c.limits.memory);
        guaranteed &= limits_both(c);
    }
    if requests.is_empty() && limits.is_empty() {
        return QosClass::BestEffort;
    }
    // Every requested resource must be limited by exactly the same amount, and nothing may be
    // limited without a request (len(requests) == len(limits)).
    if guaranteed && requests == limits {
        QosClass::Guaranteed
    } else {
        QosClass::Burstable
    }
}

#[cfg(test)]
mod tests {
    //! pkg/apis/core/v1/helper/qos/qos_test.go `TestComputePodQOS`, every case without
    //! pod-level resources, named after the upstream pod names.

    use super::*;
    use crate::model::quantity::Quantity;
    use crate::model::Resources;

    /// `getResourceList(cpu, memory)`: "" leaves the resource out.
    fn rl(cpu: &str, memory: &str) -> Resources {
        let q = |s: &str, milli: bool| match Quantity::parse(s) {
            Ok(q) if milli => q.milli_value(),
            Ok(q) => q.value(),
            Err(_) => 0,
        };
        Resources {
            cpu_milli: if cpu.is_empty() { 0 } else { q(cpu, true) },
            memory: if memory.is_empty() {
                0
            } else {
                q(memory, false)
            },
            ..Resources::default()
        }
    }
    fn c(requests: Resources, limits: Resources) -> Container {
        Container {
            requests,
            limits,
            ..Container::default()
        }
    }
    fn pod(containers: Vec<Container>, init: Vec<Container>) -> Pod {
        Pod::default().with_containers(init, containers)
    }

    #[test]
    fn test_compute_pod_qos() {
        use QosClass::*;
        let hugepages = || {
            let mut r = rl("0", "0");
            r.scalar.insert("hugepages-2Mi".into(), 1 << 30);
            r
        };
        let cases: Vec<(&str, Pod, QosClass)> = vec![
            (
                "guaranteed",
                pod(vec![c(rl("100m", "100Mi"), rl("100m", "100Mi"))], vec![]),
                Guaranteed,
            ),
            (
                "guaranteed-guaranteed",
                pod(
                    vec![
                        c(rl("100m", "100Mi"), rl("100m", "100Mi")),
                        c(rl("100m", "100Mi"), rl("100m", "100Mi")),
                    ],
                    vec![],
                ),
                Guaranteed,
            ),
            (
                "best-effort-best-effort",
                pod(
                    vec![c(rl("", ""), rl("", "")), c(rl("", ""), rl("", ""))],
                    vec![],
                ),
                BestEffort,
            ),
            (
                "best-effort",
                pod(vec![c(rl("", ""), rl("", ""))], vec![]),
                BestEffort,
            ),
            (
                "best-effort-burstable",
                pod(
                    vec![c(rl("", ""), rl("", "")), c(rl("1", ""), rl("2", ""))],
                    vec![],
                ),
                Burstable,
            ),
            (
                "best-effort-guaranteed",
                pod(
                    vec![
                        c(rl("", ""), rl("", "")),
                        c(rl("10m", "100Mi"), rl("10m", "100Mi")),
                    ],
                    vec![],
                ),
                Burstable,
            ),
            (
                "burstable-cpu-guaranteed-memory",
                pod(vec![c(rl("", "100Mi"), rl("", "100Mi"))], vec![]),
                Burstable,
            ),
            (
                "burstable-no-limits",
                pod(vec![c(rl("100m", "100Mi"), rl("", ""))], vec![]),
                Burstable,
            ),
            (
                "burstable-guaranteed",
                pod(
                    vec![
                        c(rl("1", "100Mi"), rl("2", "100Mi")),
                        c(rl("100m", "100Mi"), rl("100m", "100Mi")),
                    ],
                    vec![],
                ),
                Burstable,
            ),
            (
                "burstable-unbounded-but-requests-match-limits",
                pod(
                    vec![
                        c(rl("100m", "100Mi"), rl("200m", "200Mi")),
                        c(rl("100m", "100Mi"), rl("", "")),
                    ],
                    vec![],
                ),
                Burstable,
            ),
            (
                "burstable-1",
                pod(vec![c(rl("10m", "100Mi"), rl("100m", "200Mi"))], vec![]),
                Burstable,
            ),
            (
                "burstable-2",
                pod(vec![c(rl("0", "0"), rl("100m", "200Mi"))], vec![]),
                Burstable,
            ),
            (
                "best-effort-hugepages",
                pod(vec![c(hugepages(), hugepages())], vec![]),
                BestEffort,
            ),
            (
                "init-container",
                pod(
                    vec![c(rl("", ""), rl("", ""))],
                    vec![c(rl("10m", "100Mi"), rl("100m", "200Mi"))],
                ),
                Burstable,
            ),
        ];
        for (i, (name, p, want)) in cases.into_iter().enumerate() {
            assert_eq!(pod_qos(&p), want, "[{i}]: invalid qos pod {name}");
        }
    }
}
