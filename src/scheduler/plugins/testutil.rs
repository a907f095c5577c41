//! Builders for the ported upstream plugin tests: the same shapes as kube-scheduler's
//! `st.MakeNode()` / `st.MakePod()` helpers; the snapshot built from nodes and pods is the
//! scheduler's own [`OwnedSnapshot`] (`OwnedSnapshot::new`: nodes in the given order).

use std::collections::BTreeMap;

use crate::model::*;
pub use crate::scheduler::snapshot::OwnedSnapshot;

/// A node whose capacity and allocatable are both `res` (cpu in millicores).
pub fn node(name: &str, cpu_milli: i64, memory: i64, scalar: &[(&str, i64)]) -> Node {
    let mut r = Resources {
        cpu_milli,
        memory,
        pods: 110,
        ..Resources::default()
    };
    for (k, v) in scalar {
        r.scalar.insert(k.to_string(), *v);
    }
    let mut n = Node::default();
    n.meta.name = name.into();
    n.meta.labels.insert(LABEL_HOSTNAME.into(), name.into());
    n.status.capacity = r.clone();
    n.status.allocatable = r;
    n
}

pub fn label(mut n: Node, k: &str, v: &str) -> Node {
    n.meta.labels.insert(k.into(), v.into());
    n
}

/// A container requesting exactly the given resources (a key listed with 0 counts as given).
pub fn container(req: &[(&str, i64)]) -> Container {
    let mut c = Container {
        name: "c".into(),
        image: "pause".into(),
        ..Container::default()
    };
    for (k, v) in req {
        match *k {
            "cpu" => {
                c.requests.cpu_milli = *v;
                c.has_cpu_request = true;
            }
            "memory" => {
                c.requests.memory = *v;
                c.has_memory_request = true;
            }
            "ephemeral-storage" => c.requests.ephemeral_storage = *v,
            other => {
                c.requests.scalar.insert(other.into(), *v);
            }
        }
    }
    c
}

/// A pod in namespace `default` with one container per request list (none = no containers).
pub fn pod(name: &str, containers: &[&[(&str, i64)]]) -> Pod {
    Pod::named("default", name)
        .with_containers(vec![], containers.iter().map(|r| container(r)).collect())
}

pub fn on(mut p: Pod, node: &str) -> Pod {
    p.spec.node_name = Some(node.into());
    p
}

pub fn labels(mut p: Pod, kv: &[(&str, &str)]) -> Pod {
    for (k, v) in kv {
        p.meta.labels.insert(k.to_string(), v.to_string());
    }
    p
}

pub fn selector(kv: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: kv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        match_expressions: vec![],
    }
}

pub fn exists_selector(key: &str) -> LabelSelector {
    LabelSelector {
        match_labels: BTreeMap::new(),
        match_expressions: vec![SelectorRequirement {
            key: key.into(),
            operator: SelectorOperator::Exists,
            values: vec![],
        }],
    }
}

/// Default-selector sources holding one Service `svc` in `namespace` selecting `kv`.
pub fn service_selecting(
    namespace: &str,
    kv: &[(&str, &str)],
) -> super::pod_topology_spread::SelectorSources {
    let mut s = super::pod_topology_spread::SelectorSources::default();
    let sel: BTreeMap<String, String> = kv
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    s.set_service(namespace, "svc", Some(&sel));
    s
}
