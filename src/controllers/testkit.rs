//! Harness for the controller-manager reference tests (reference node-lifecycle §7): a real
//! [`ControllerManager`] (no leader election) over a real [`ApiServer`], fed by its watches
//! without delay. As upstream's tests call `monitorNodeHealth` and `doNoExecuteTaintingPass`
//! directly at a fake time, the periodic passes run here only when a test asks, at the time
//! it names; taint-eviction timers fire as the fake clock moves past them.

use std::sync::Arc;

use super::nodelifecycle::{NodeLifecycleConfig, ZoneState};
use super::{ControllerManager, KcmConfig};
use crate::api::{ApiServer, ApiServerConfig, Change, Watcher};
use crate::client::leader::LeaderElectionConfig;
use crate::controllers::Event;
use crate::model::*;
use crate::network::Caller;
use crate::sim::{Engine, Limits, SimDuration, SimTime};

/// "2012": when most upstream test nodes were created.
pub const Y2012: SimTime = SimTime::ZERO;
/// `t0` of the upstream tests (2015-01-01 12:00), three years after [`Y2012`].
pub const T0: SimTime = SimTime::from_secs(3 * 365 * 86_400);

pub fn at(base: SimTime, secs: u64) -> SimTime {
    base + SimDuration::from_secs(secs)
}

/// The upstream NLC test configuration (reference §7 preamble): grace 50 s, startup grace
/// 60 s, period 5 s, large-cluster threshold 20, unhealthy threshold 0.55, QPS 100000.
pub fn upstream_test_config() -> NodeLifecycleConfig {
    NodeLifecycleConfig {
        node_monitor_period: SimDuration::from_secs(5),
        node_monitor_grace_period: SimDuration::from_secs(50),
        node_startup_grace_period: SimDuration::from_secs(60),
        node_eviction_rate: 100_000.0,
        secondary_node_eviction_rate: 100_000.0,
        unhealthy_zone_threshold: 0.55,
        large_cluster_size_threshold: 20,
        taint_from_current_condition: true,
        lazy_monitor: true,
    }
}

pub struct Kit {
    pub eng: Engine<Event>,
    pub api: ApiServer,
    pub kcm: ControllerManager,
    /// Node and pod writes seen on the controller manager's watch since the last reset.
    pub node_writes: usize,
    pub pod_writes: usize,
}

pub fn cond(
    t: NodeConditionType,
    status: ConditionStatus,
    heartbeat: SimTime,
    transition: SimTime,
) -> NodeCondition {
    NodeCondition {
        type_: t,
        status,
        last_heartbeat_time: heartbeat,
        last_transition_time: transition,
        reason: String::new(),
        message: String::new(),
    }
}

/// A Ready condition with heartbeat and transition at `hb`.
pub fn ready(status: ConditionStatus, hb: SimTime) -> NodeCondition {
    cond(NodeConditionType::Ready, status, hb, hb)
}

pub fn zone_labels(region: &str, zone: &str) -> Vec<(&'static str, String)> {
    vec![
        (LABEL_REGION, region.to_string()),
        (LABEL_ZONE, zone.to_string()),
    ]
}

impl Kit {
    pub fn new(nlc: NodeLifecycleConfig) -> Kit {
        let mut eng = Engine::new(
            Limits {
                end: SimTime::from_secs(100 * 365 * 86_400),
                max_events: u64::MAX,
            },
            None,
        );
        let mut api = ApiServer::new(ApiServerConfig {
            default_not_ready_toleration: SimDuration::from_secs(300),
            default_unreachable_toleration: SimDuration::from_secs(300),
            inflight: Default::default(),
        });
        let mut kcm = ControllerManager::new(
            KcmConfig {
                node_lifecycle: nlc,
                leader_election: LeaderElectionConfig {
                    leader_elect: false,
                    ..LeaderElectionConfig::default()
                },
                terminated_pod_gc_threshold: 12500,
                // Upstream's tests run on a fake clientset without a rate limiter.
                client_limits: crate::controllers::clients::ClientLimits {
                    qps: -1.0,
                    burst: 0,
                },
                taint_eviction_own_client: true,
                endpoint_updates_batch_period: SimDuration::ZERO,
            },
            1,
        );
        kcm.start(&mut eng, &mut api);
        Kit {
            eng,
            api,
            kcm,
            node_writes: 0,
            pod_writes: 0,
        }
    }

    /// Moves the fake clock to `t`, firing the taint-eviction timers due by then (including
    /// those that handlers schedule for the current instant).
    pub fn advance(&mut self, t: SimTime) {
        for _ in 0..1000 {
            let before = self.eng.processed();
            let Kit {
                eng,
                api,
                kcm,
                node_writes,
                pod_writes,
            } = self;
            eng.run_until(t, |eng, ev| {
                api.set_now(eng.now());
                match ev {
                    Event::TaintEvictionFire { pod, timer, .. } => {
                        kcm.on_taint_fire(eng, api, &pod, timer);
                    }
                    Event::JobSync { key, .. } => kcm.on_job_sync(eng, api, &key),
                    Event::JobTtlExpired { key, .. } => kcm.on_job_ttl(eng, api, &key),
                    Event::CronJobSync { key, .. } => kcm.on_cronjob_sync(eng, api, &key),
                    _ => return,
                }
                deliver(eng, api, kcm, node_writes, pod_writes);
            });
            self.api.set_now(t);
            let writes = self.node_writes + self.pod_writes;
            self.deliver();
            if self.eng.processed() == before && self.node_writes + self.pod_writes == writes {
                return;
            }
        }
        panic!("the harness did not settle");
    }

    /// Hands every pending watch notification to the controller manager.
    pub fn deliver(&mut self) {
        deliver(
            &mut self.eng,
            &mut self.api,
            &mut self.kcm,
            &mut self.node_writes,
            &mut self.pod_writes,
        );
    }

    /// Delivers watches and fires whatever became due at the current instant (a zero-delay
    /// eviction happens "at once", as upstream's timed worker runs it without waiting).
    pub fn settle(&mut self) {
        let now = self.eng.now();
        self.advance(now);
    }

    pub fn reset_counts(&mut self) {
        self.node_writes = 0;
        self.pod_writes = 0;
    }

    /// One `monitorNodeHealth` call at `t`.
    pub fn pass(&mut self, t: SimTime) {
        self.advance(t);
        let Kit { eng, api, kcm, .. } = self;
        kcm.nlc
            .monitor_pass(eng, api, &kcm.cache, &mut kcm.clients, None);
        self.deliver();
    }

    /// One `doNoExecuteTaintingPass` at `t`.
    pub fn taint_pass(&mut self, t: SimTime) {
        self.advance(t);
        let Kit { eng, api, kcm, .. } = self;
        kcm.nlc
            .tainting_pass(eng, api, &kcm.cache, &mut kcm.clients);
        self.deliver();
    }

    pub fn add_node(
        &mut self,
        name: &str,
        created: SimTime,
        labels: &[(&str, String)],
        conditions: Vec<NodeCondition>,
    ) {
        let now = self.api.now();
        self.api.set_now(created);
        let mut node = Node::default();
        node.meta.name = name.to_string();
        for (k, v) in labels {
            node.meta.labels.insert(k.to_string(), v.clone());
        }
        node.status.conditions = conditions;
        self.api
            .create_node(Caller::Operator, node)
            .expect("test node");
        self.api.set_now(now);
        self.settle();
    }

    /// Replaces the node's conditions (a kubelet status write).
    pub fn set_conditions(&mut self, name: &str, conditions: Vec<NodeCondition>) {
        self.api
            .update_node(Caller::Operator, name, |n| n.status.conditions = conditions)
            .expect("test node");
        self.settle();
    }

    pub fn set_taints(&mut self, name: &str, taints: Vec<Taint>) {
        self.api
            .update_node(Caller::Operator, name, |n| n.spec.taints = taints)
            .expect("test node");
        self.settle();
    }

    pub fn renew_lease(&mut self, name: &str, renew: SimTime) {
        self.api
            .put_lease(
                Caller::Operator,
                Lease {
                    name: name.to_string(),
                    holder_identity: name.to_string(),
                    lease_duration_seconds: 40,
                    renew_time: renew,
                    resource_version: 0,
                },
            )
            .expect("lease");
        self.settle();
    }

    /// A pod bound to `node` (or unscheduled), Ready, with the given tolerations (admission
    /// adds the default not-ready/unreachable ones as kube-apiserver does).
    pub fn add_pod(&mut self, name: &str, node: Option<&str>, tolerations: Vec<Toleration>) {
        let mut pod = Pod::default();
        pod.meta.name = name.to_string();
        pod.meta.namespace = "default".into();
        pod.spec.node_name = node.map(str::to_string);
        pod.spec.tolerations = tolerations;
        pod.status.phase = PodPhase::Running;
        let now = self.api.now();
        pod.set_condition(PodConditionType::Ready, ConditionStatus::True, "", now);
        self.api.create_pod(Caller::Operator, pod).expect("pod");
        self.settle();
    }

    pub fn bind(&mut self, pod: &str, node: &str) {
        self.api
            .bind_pod(Caller::Operator, &pod_key("default", pod), node)
            .expect("bind");
        self.settle();
    }

    pub fn set_tolerations(&mut self, pod: &str, tolerations: Vec<Toleration>) {
        self.api
            .update_pod(Caller::Operator, &pod_key("default", pod), |p| {
                p.spec.tolerations = tolerations
            })
            .expect("pod");
        self.settle();
    }

    pub fn node(&self, name: &str) -> Arc<Node> {
        self.api.nodes()[name].clone()
    }

    pub fn pod(&self, name: &str) -> Option<Arc<Pod>> {
        self.api.pods().get(&pod_key("default", name)).cloned()
    }

    /// The pod was marked for deletion (or is gone).
    pub fn deleted(&self, name: &str) -> bool {
        self.pod(name).is_none_or(|p| p.is_terminating())
    }

    pub fn pod_ready(&self, name: &str) -> Option<ConditionStatus> {
        self.pod(name)
            .and_then(|p| p.condition(PodConditionType::Ready).map(|c| c.status))
    }

    /// The node's NoExecute taint keys, sorted.
    pub fn noexecute(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .node(name)
            .spec
            .taints
            .iter()
            .filter(|t| t.effect == TaintEffect::NoExecute)
            .map(|t| t.key.clone())
            .collect();
        v.sort();
        v
    }

    pub fn noschedule(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .node(name)
            .spec
            .taints
            .iter()
            .filter(|t| t.effect == TaintEffect::NoSchedule)
            .map(|t| t.key.clone())
            .collect();
        v.sort();
        v
    }

    pub fn zone_state(&self, node: &str) -> Option<ZoneState> {
        self.kcm.nlc.zone_state(&self.node(node).zone_key())
    }

    /// The zone queue's eviction rate; 0 when paused.
    pub fn zone_qps(&self, node: &str) -> Option<f32> {
        self.kcm.nlc.zone_eviction_qps(&self.node(node).zone_key())
    }

    /// How many trace records with this reason.
    pub fn records(&self, reason: &str) -> usize {
        self.eng
            .trace
            .records()
            .iter()
            .filter(|r| r.reason == reason)
            .count()
    }
}

fn deliver(
    eng: &mut Engine<Event>,
    api: &mut ApiServer,
    kcm: &mut ControllerManager,
    node_writes: &mut usize,
    pod_writes: &mut usize,
) {
    // Handlers write too; keep going until quiet (bounded, as every loop here).
    for _ in 0..1000 {
        let batch: Vec<(Watcher, Change)> = api.outbox.drain(..).collect();
        for r in api.records.drain(..) {
            eng.record(r);
        }
        if batch.is_empty() {
            return;
        }
        for (w, change) in batch {
            if w != Watcher::ControllerManager {
                continue;
            }
            match &change {
                Change::Node(_) => *node_writes += 1,
                Change::Pod(_) | Change::PodDeleted(_) => *pod_writes += 1,
                // Other kinds may schedule work at the current instant too: keep settling.
                Change::Job(_) | Change::JobDeleted(_) | Change::CronJob(_) => *pod_writes += 1,
                _ => {}
            }
            kcm.on_watch(eng, api, change);
        }
    }
    panic!("watch handlers did not quiesce");
}
