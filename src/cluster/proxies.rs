//! The cluster's kube-proxies and synthetic traffic: built only when the scenario asks for
//! them (`kubeProxy:` or `traffic:`), so no other scenario's event log changes. Watch
//! notifications reach a proxy only while its machine reaches the API server; after every
//! fault edge each proxy follows its machine (down: stopped; booted: started, re-listing) and
//! its link (back: re-list). The traffic is counted before every event, with the state the
//! previous events left.
//!
//! Invariant: with no proxies, nothing here schedules an event or records anything.

use super::spec::{ClusterSpec, TimelineKind};
use super::{Cluster, Event};
use crate::api::Change;
use crate::network::Caller;
use crate::proxy::traffic::{Outcome, Report, Traffic, View};
use crate::proxy::{self, KubeProxy};
use crate::sim::{Engine, SimTime};

/// The proxies and traffic of a spec (empty / None without `kubeProxy:` and `traffic:`).
pub(super) fn build(s: &ClusterSpec) -> (Vec<KubeProxy>, Option<Traffic>) {
    let Some(config) = &s.kube_proxy else {
        return (Vec::new(), None);
    };
    let proxies = s
        .nodes
        .iter()
        .enumerate()
        .map(|(m, n)| KubeProxy::new(m as u32, n.meta.name.clone(), config.clone()))
        .collect();
    let traffic = (!s.traffic.is_empty()).then(|| Traffic::new(s.traffic.clone()));
    (proxies, traffic)
}

impl Cluster {
    /// Every proxy starts at t = 0 (its first sync lists the empty cluster).
    pub(super) fn start_proxies(&mut self, ctx: &mut Engine<Event>) {
        for p in &mut self.proxies {
            p.start(ctx, &self.api);
        }
    }

    /// A proxy timer of a live process.
    pub(super) fn on_proxy_event(&mut self, ctx: &mut Engine<Event>, ev: proxy::Event) {
        let (machine, gen) = ev.target();
        if let Some(p) = self.proxies.get_mut(machine as usize) {
            if p.running && p.gen() == gen {
                match ev {
                    proxy::Event::Sync { .. } => p.sync(ctx),
                }
            }
        }
    }

    /// A Service or EndpointSlice notification: to each running proxy whose machine reaches
    /// the API server now.
    pub(super) fn on_proxy_watch(&mut self, ctx: &mut Engine<Event>, change: Change) {
        for p in &mut self.proxies {
            if p.running && self.api.net.reachable(Caller::Kubelet(p.machine)) {
                p.on_watch(ctx, &change);
            }
        }
    }

    /// After a fault starts or ends: proxies follow their machines and links; a fault's start
    /// opens its traffic attribution window.
    pub(super) fn proxies_after_fault(
        &mut self,
        ctx: &mut Engine<Event>,
        index: usize,
        start: bool,
    ) {
        if start {
            if let Some(t) = &mut self.traffic {
                let ordinal = self.timeline[..index]
                    .iter()
                    .filter(|k| matches!(k, TimelineKind::Fault(_)))
                    .count();
                t.fault_started(ordinal);
            }
        }
        for m in 0..self.proxies.len() {
            let up = self.machine_running(m as u32);
            let p = &mut self.proxies[m];
            if p.running && !up {
                p.crash();
            } else if !p.running && up {
                p.start(ctx, &self.api);
            } else {
                p.check_connection(ctx, &self.api);
            }
        }
    }

    /// Counts the traffic before `now` (called before each event changes anything).
    pub(super) fn advance_traffic(&mut self, now: SimTime) {
        let Some(mut t) = self.traffic.take() else {
            return;
        };
        t.advance(now, &self.traffic_view());
        self.traffic = Some(t);
    }

    fn traffic_view(&self) -> View<'_> {
        View {
            api: &self.api,
            proxies: &self.proxies,
            down: &self.down,
            machine_by_name: &self.machine_by_name,
        }
    }

    /// The traffic counts of the run, every request before `end` counted (None without
    /// `traffic:`).
    pub fn traffic_report(&mut self, end: SimTime) -> Option<Report> {
        self.advance_traffic(end);
        self.traffic.as_ref().map(|t| t.report())
    }

    /// Per Service with traffic: requests before `t` (for the sampler; changes nothing).
    pub fn traffic_totals(&self, t: SimTime) -> Vec<(String, Outcome)> {
        match &self.traffic {
            Some(tr) => tr
                .totals_until(t, &self.traffic_view())
                .into_iter()
                .collect(),
            None => Vec::new(),
        }
    }
}
