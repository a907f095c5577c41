//! kube-proxy's sync schedule and endpoint choice against upstream's rules (see the module
//! header for the sources).

use super::*;
use crate::model::EndpointConditions;
use crate::sim::{Engine, Limits};

fn ep(pod: &str, ready: bool, serving: bool, terminating: bool) -> Endpoint {
    Endpoint {
        pod: pod.into(),
        node_name: Some("n".into()),
        zone: None,
        conditions: EndpointConditions {
            ready,
            serving,
            terminating,
        },
    }
}

fn slice(name: &str, eps: Vec<Endpoint>) -> Arc<EndpointSlice> {
    let mut s = EndpointSlice::default();
    s.meta.namespace = "default".into();
    s.meta.name = name.into();
    s.meta.labels.insert(
        crate::model::LABEL_SERVICE_NAME.to_string(),
        "web".to_string(),
    );
    s.endpoints = eps;
    Arc::new(s)
}

fn secs(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

/// A running proxy with an empty cache, its first sync done at t = 0.
fn started() -> (KubeProxy, Engine<Event>, ApiServer) {
    let api = ApiServer::new(crate::api::ApiServerConfig {
        default_not_ready_toleration: SimDuration::from_secs(300),
        default_unreachable_toleration: SimDuration::from_secs(300),
        inflight: Default::default(),
    });
    let mut e: Engine<Event> = Engine::new(
        Limits {
            end: secs(100_000),
            max_events: 1_000_000,
        },
        None,
    );
    let mut p = KubeProxy::new(0, "n".into(), ProxyConfig::default());
    p.start(&mut e, &api);
    run(&mut p, &mut e, secs(0));
    (p, e, api)
}

/// Runs the proxy's syncs due until `t`; returns their times.
fn run(p: &mut KubeProxy, e: &mut Engine<Event>, t: SimTime) -> Vec<SimTime> {
    let mut times = Vec::new();
    e.run_until(t, |ctx, ev| {
        let (_, gen) = ev.target();
        if gen == p.gen() {
            times.push(ctx.now());
            p.sync(ctx);
        }
    });
    times
}

fn change(p: &mut KubeProxy, e: &mut Engine<Event>, at: SimTime, c: Change) -> Vec<SimTime> {
    let mut times = run(p, e, at);
    // The notification arrives at `at` (a marker event no proxy generation matches).
    let marker = u32::MAX;
    e.schedule_at(
        at,
        Event::Sync {
            machine: 0,
            gen: marker,
        },
    );
    e.run_until(at, |ctx, ev| {
        if ev.target().1 == marker {
            p.on_watch(ctx, &c);
        } else if ev.target().1 == p.gen() {
            times.push(ctx.now());
            p.sync(ctx);
        }
    });
    times
}

// CategorizeEndpoints: ready endpoints get traffic; with none ready, serving-terminating ones.
#[test]
fn ready_endpoints_else_serving_terminating_ones() {
    let p = Programmed::of(vec![
        ep("a", true, true, false),
        ep("b", false, true, true),
        ep("c", false, false, false),
    ]);
    assert_eq!(p.used().map(|e| e.pod.as_str()).collect::<Vec<_>>(), ["a"]);
    let p = Programmed::of(vec![
        ep("b", false, true, true),
        ep("c", false, false, false),
        ep("d", false, false, true),
    ]);
    assert_eq!(p.used().map(|e| e.pod.as_str()).collect::<Vec<_>>(), ["b"]);
    let p = Programmed::of(vec![ep("c", false, false, false)]);
    assert_eq!(p.used().count(), 0);
}

// BoundedFrequencyRunner: a Run() more than minInterval after the last run syncs at once; one
// within it waits for the interval's end; Run()s in between coalesce into that one run.
#[test]
fn syncs_respect_min_sync_period_and_coalesce() {
    let (mut p, mut e, _api) = started();
    assert_eq!(p.last_sync(), Some(secs(0)));
    let svc = Change::Service(service("default", "web"));
    assert_eq!(change(&mut p, &mut e, secs(10), svc), vec![secs(10)]);
    let s1 = Change::EndpointSlice(slice("web-1", vec![ep("a", true, true, false)]));
    let at = secs(10) + SimDuration::from_millis(300);
    assert!(change(&mut p, &mut e, at, s1).is_empty());
    let s2 = Change::EndpointSlice(slice("web-1", vec![ep("b", true, true, false)]));
    let at2 = secs(10) + SimDuration::from_millis(600);
    assert!(change(&mut p, &mut e, at2, s2).is_empty());
    assert_eq!(run(&mut p, &mut e, secs(12)), vec![secs(11)]);
    let prog = p.programmed("default/web").expect("programmed");
    assert_eq!(
        prog.used().map(|e| e.pod.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    assert_eq!(p.rules(), 1);
}

// The periodic run (FullSyncPeriod, 1 h after the last run) restarts the min-interval timer: a
// change 0.5 s after it waits until 1 s after it.
#[test]
fn the_hourly_periodic_run_counts_as_the_last_run() {
    let (mut p, mut e, _api) = started();
    let svc = Change::Service(service("default", "web"));
    assert_eq!(change(&mut p, &mut e, secs(5), svc), vec![secs(5)]);
    let s = Change::EndpointSlice(slice("web-1", vec![ep("a", true, true, false)]));
    let at = secs(5 + 3600) + SimDuration::from_millis(500);
    assert!(change(&mut p, &mut e, at, s).is_empty());
    assert_eq!(run(&mut p, &mut e, secs(5 + 3602)), vec![secs(5 + 3601)]);
}

// A crashed proxy's timers are void and it ignores notifications.
#[test]
fn a_crashed_proxy_syncs_nothing() {
    let (mut p, mut e, _api) = started();
    p.crash();
    let svc = Change::Service(service("default", "web"));
    assert!(change(&mut p, &mut e, secs(5), svc).is_empty());
    assert!(p.programmed("default/web").is_none());
}
