//! The operator's `kubectl` requests against the API server: `kubectl apply` of the
//! scenario's workloads at t = 0, and the timeline's workload actions (`kubectl scale`,
//! `set image`, `rollout undo`, `delete`); cordon, drain and eviction live in `drain.rs`.
//!
//! Invariant: kubectl is a client: every effect is an API request with `Caller::Operator`
//! (failing, and recorded as failed, while the API server is unreachable), and every request
//! leaves one trace record with source `kubectl`.

use std::sync::Arc;

use super::{pod_key_of, ActionKind, Cluster, Event, Workload};
use crate::api::{ApiError, Deletion};
use crate::controllers::deployment_util::{revision, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};
use crate::model::{Deployment, PodTemplate, PropagationPolicy};
use crate::network::Caller;
use crate::sim::{Engine, Record};

/// What one workload action asked for: the object key, the command line, the outcome.
type Request = (String, String, Result<(), ApiError>);

impl Cluster {
    /// `kubectl apply` of the scenario's workloads, Namespaces first as `kubectl apply` of a
    /// directory orders them; a failed create is recorded as `FailedCreate`.
    pub(super) fn apply_workloads(&mut self, ctx: &mut Engine<Event>) {
        let mut ws = std::mem::take(&mut self.workloads);
        ws.sort_by_key(|w| !matches!(w, Workload::Namespace(_)));
        for w in ws {
            let (kind, key, res) = self.create_workload(w);
            if let Err(e) = res {
                ctx.record(Record {
                    t: ctx.now(),
                    reason: "FailedCreate",
                    source: "kubectl",
                    object: format!("{kind}/{key}"),
                    message: e.to_string(),
                    fields: vec![],
                });
            }
        }
    }

    /// One workload's create request: its kind, its key and the outcome.
    pub(super) fn create_workload(
        &mut self,
        w: Workload,
    ) -> (&'static str, String, Result<(), ApiError>) {
        let api = &mut self.api;
        let op = Caller::Operator;
        match w {
            Workload::Pod(p) => ("Pod", p.key(), api.create_pod(op, p).map(|_| ())),
            Workload::ReplicaSet(rs) => (
                rs.kind.as_str(),
                pod_key_of(&rs.meta.namespace, &rs.meta.name),
                api.create_replicaset(op, rs).map(|_| ()),
            ),
            Workload::Deployment(d) => (
                "Deployment",
                d.key(),
                api.create_deployment(op, d).map(|_| ()),
            ),
            Workload::DaemonSet(d) => (
                "DaemonSet",
                d.key(),
                api.create_daemonset(op, d).map(|_| ()),
            ),
            Workload::StatefulSet(d) => (
                "StatefulSet",
                d.key(),
                api.create_statefulset(op, d).map(|_| ()),
            ),
            Workload::PodDisruptionBudget(b) => (
                "PodDisruptionBudget",
                b.key(),
                api.create_pdb(op, b).map(|_| ()),
            ),
            Workload::Service(x) => ("Service", x.key(), api.create_service(op, x).map(|_| ())),
            Workload::Namespace(x) => (
                "Namespace",
                x.meta.name.clone(),
                api.create_namespace(op, x).map(|_| ()),
            ),
            Workload::NamespacedObject(x) => (
                if x.kind == "Secret" {
                    "Secret"
                } else {
                    "ServiceAccount"
                },
                pod_key_of(&x.meta.namespace, &x.meta.name),
                api.create_namespaced_object(op, x).map(|_| ()),
            ),
            Workload::Job(j) => ("Job", j.key(), api.create_job(op, j).map(|_| ())),
            Workload::CronJob(c) => ("CronJob", c.key(), api.create_cronjob(op, c).map(|_| ())),
        }
    }

    /// A timeline action: the operator's kubectl request (which fails, and is recorded as
    /// failed, while the API server is unreachable).
    pub(super) fn action(&mut self, ctx: &mut Engine<Event>, kind: &ActionKind) {
        let (key, command, res) = match kind {
            ActionKind::ScaleDeployment {
                kind,
                deployment,
                replicas,
            } => self.scale(kind, deployment, *replicas),
            ActionKind::SetImage {
                kind,
                deployment,
                container,
                image,
            } => self.set_image(kind, deployment, container, image),
            ActionKind::RollbackDeployment {
                deployment,
                to_revision,
            } => self.rollout_undo(deployment, *to_revision),
            ActionKind::Cordon {
                node,
                unschedulable,
            } => {
                self.cordon(ctx, node, *unschedulable);
                return;
            }
            ActionKind::Drain { node, opts } => return self.drain(ctx, node, opts),
            ActionKind::EvictPod {
                namespace,
                name,
                labels,
                grace,
            } => return self.evict(ctx, namespace, name.as_deref(), labels, *grace),
            ActionKind::DeleteObject { kind, key, policy } => {
                return self.delete_object(ctx, kind, key, *policy)
            }
            ActionKind::Apply { .. }
            | ActionKind::AddNodes { .. }
            | ActionKind::DeleteNodes { .. } => return self.lifecycle_action(ctx, kind),
        };
        let (reason, message) = match res {
            Ok(_) => ("ActionApplied", command),
            Err(e) => ("ActionFailed", format!("{command}: {e}")),
        };
        ctx.record(Record {
            t: ctx.now(),
            reason,
            source: "kubectl",
            object: format!("{}/{key}", action_kind(kind)),
            message,
            fields: vec![("action", kind.name().to_string())],
        });
    }

    /// `kubectl scale deployment|statefulset/NAME --replicas=N`.
    fn scale(&mut self, kind: &str, key: &str, n: i32) -> Request {
        let res = match kind {
            "StatefulSet" => self
                .api
                .update_statefulset(Caller::Operator, key, |d| d.replicas = n)
                .map(|_| ()),
            _ => self
                .api
                .update_deployment(Caller::Operator, key, |d| d.replicas = n)
                .map(|_| ()),
        };
        let name = key.split_once('/').map_or("", |x| x.1);
        (
            key.to_string(),
            format!(
                "kubectl scale {}/{name} --replicas={n}",
                kind.to_lowercase()
            ),
            res,
        )
    }

    /// `kubectl set image KIND/NAME CONTAINER=IMAGE`.
    fn set_image(&mut self, kind: &str, key: &str, container: &str, image: &str) -> Request {
        let set = |t: &mut PodTemplate| {
            for c in &mut t.spec.containers {
                if c.name == *container {
                    c.image = image.to_string();
                }
            }
        };
        let op = Caller::Operator;
        let res = match kind {
            "StatefulSet" => self
                .api
                .update_statefulset(op, key, |d| set(&mut d.template))
                .map(|_| ()),
            "DaemonSet" => self
                .api
                .update_daemonset(op, key, |d| set(&mut d.template))
                .map(|_| ()),
            _ => self
                .api
                .update_deployment(op, key, |d| set(&mut d.template))
                .map(|_| ()),
        };
        let name = key.split_once('/').map_or("", |x| x.1);
        (
            key.to_string(),
            format!(
                "kubectl set image {}/{name} {container}={image}",
                kind.to_lowercase()
            ),
            res,
        )
    }

    /// `kubectl rollout undo deployment/NAME [--to-revision=N]`.
    fn rollout_undo(&mut self, key: &str, to_revision: i64) -> Request {
        let name = key.split_once('/').map_or("", |x| x.1);
        let mut command = format!("kubectl rollout undo deployment/{name}");
        if to_revision > 0 {
            command.push_str(&format!(" --to-revision={to_revision}"));
        }
        let res = self.rollback(key, to_revision).map(|_| ());
        (key.to_string(), command, res)
    }

    /// `kubectl delete KIND/NAME --cascade=POLICY`, recorded with the object's own kind.
    fn delete_object(
        &mut self,
        ctx: &mut Engine<Event>,
        kind: &str,
        key: &str,
        policy: PropagationPolicy,
    ) {
        let op = Caller::Operator;
        let api = &mut self.api;
        let res = match kind {
            "Deployment" => api.delete_deployment(op, key, policy),
            "Pod" => api.delete_pod(op, key, None),
            "PodDisruptionBudget" => api.delete_pdb(op, key).map(|_| Deletion::Removed),
            "Service" => api.delete_service(op, key).map(|_| Deletion::Removed),
            "Namespace" => api.delete_namespace(op, key),
            "ServiceAccount" | "Secret" => api
                .delete_namespaced_object(op, key)
                .map(|_| Deletion::Removed),
            "Job" => api.delete_job(op, key, policy),
            _ => api.delete_replicaset(op, key, policy),
        };
        // Keys: `ns/name`, `rc:ns/name`, `Kind:ns/name`, or a Namespace's bare name.
        let plain = key.split_once(':').map_or(key, |x| x.1).to_string();
        let name = plain
            .split_once('/')
            .map_or(plain.as_str(), |x| x.1)
            .to_string();
        let command = format!(
            "kubectl delete {}/{name} --cascade={}",
            kind.to_lowercase(),
            policy.as_str().to_lowercase()
        );
        let (reason, message) = match res {
            Ok(_) => ("ActionApplied", command),
            Err(e) => ("ActionFailed", format!("{command}: {e}")),
        };
        ctx.record(Record {
            t: ctx.now(),
            reason,
            source: "kubectl",
            object: format!("{kind}/{plain}"),
            message,
            fields: vec![("action", "deleteObject".to_string())],
        });
    }

    /// `kubectl rollout undo` (kubectl's DeploymentRollbacker): the template of the
    /// ReplicaSet with the requested revision (0: the highest below the current one), without
    /// its pod-template-hash label, becomes the Deployment's template.
    fn rollback(&mut self, key: &str, to_revision: i64) -> Result<Arc<Deployment>, ApiError> {
        let d = self
            .api
            .deployments()
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("Deployment/{key}")))?;
        if d.paused {
            return Err(ApiError::Invalid("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".into()));
        }
        let name = d.meta.name.clone();
        let mut history: Vec<(i64, PodTemplate)> = self
            .api
            .replicasets()
            .values()
            .filter(|r| {
                r.meta.namespace == d.meta.namespace
                    && r.meta
                        .controller_ref()
                        .is_some_and(|o| o.kind == "Deployment" && o.name == name)
            })
            .map(|r| (revision(r), r.template.clone()))
            .collect();
        history.sort_by_key(|(r, _)| *r);
        let current: i64 = d
            .meta
            .annotations
            .get(REVISION_ANNOTATION)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let target = if to_revision == 0 {
            history.iter().rev().find(|(r, _)| *r < current)
        } else {
            history.iter().find(|(r, _)| *r == to_revision)
        };
        let Some((rev, template)) = target.cloned() else {
            return Err(ApiError::Invalid(if to_revision == 0 {
                format!("no rollout history found for deployment {name:?}")
            } else {
                format!("unable to find specified revision {to_revision} in history")
            }));
        };
        let mut template = template;
        template.labels.remove(POD_TEMPLATE_HASH_LABEL);
        if template == d.template {
            return Err(ApiError::Invalid(format!(
                "skipped rollback (current template already matches revision {rev})"
            )));
        }
        self.api
            .update_deployment(Caller::Operator, key, |x| x.template = template)
    }
}

/// The kind of object a workload action addresses.
fn action_kind(kind: &ActionKind) -> &str {
    match kind {
        ActionKind::ScaleDeployment { kind, .. } | ActionKind::SetImage { kind, .. } => kind,
        _ => "Deployment",
    }
}
