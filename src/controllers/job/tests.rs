//! Cases of upstream `pkg/controller/job/job_controller_test.go` (`TestControllerSyncJob`,
//! `TestSyncJobPastDeadline`, `TestJobBackoff*`) and `backoff_utils_test.go`, driven
//! through a real controller manager; pod phases are set through the API as upstream's
//! tests set them in the informer.
use super::*;
use crate::controllers::testkit::Kit;
use crate::network::Caller;

fn kit() -> Kit {
    let mut k = Kit::new(crate::controllers::testkit::upstream_test_config());
    k.add_node("n1", SimTime::ZERO, &[], vec![]);
    k
}

fn new_job(parallelism: i32, completions: Option<i32>) -> Job {
    let mut j = Job {
        parallelism,
        completions,
        backoff_limit: 6,
        ..Job::default()
    };
    j.meta.name = "foobar".into();
    j.meta.namespace = "default".into();
    j.template.spec.restart_policy = RestartPolicy::Never;
    j.template.labels.insert("foo".into(), "bar".into());
    j
}

fn create(k: &mut Kit, j: Job) {
    k.api.create_job(Caller::Operator, j).expect("job");
    k.settle();
}

fn job(k: &Kit) -> Arc<Job> {
    k.api.jobs()["default/foobar"].clone()
}

/// The Job's pods, by name.
fn pods(k: &Kit) -> Vec<Arc<Pod>> {
    k.api
        .pods()
        .values()
        .filter(|p| job_of(p).as_deref() == Some("default/foobar"))
        .cloned()
        .collect()
}

fn active(k: &Kit) -> Vec<Arc<Pod>> {
    pods(k)
        .into_iter()
        .filter(|p| super::super::cache::is_active(p))
        .collect()
}

/// Binds and sets the phase of a pod (as the scheduler and kubelet would).
fn set_phase(k: &mut Kit, p: &Pod, phase: PodPhase) {
    let now = k.api.now();
    k.api
        .update_pod(Caller::Operator, &p.key(), |x| {
            x.spec.node_name = Some("n1".into());
            x.status.phase = phase;
            let ready = if phase == PodPhase::Running {
                ConditionStatus::True
            } else {
                ConditionStatus::False
            };
            x.set_condition(PodConditionType::Ready, ready, "", now);
        })
        .expect("pod");
    k.settle();
}

fn at(k: &mut Kit, secs: u64) {
    k.advance(SimTime::from_secs(secs));
}

#[test]
fn sync_job_job_start() {
    let mut k = kit();
    create(&mut k, new_job(2, Some(5)));
    assert_eq!(k.records("SuccessfulCreate"), 2);
    at(&mut k, 2);
    let st = &job(&k).status;
    assert_eq!((st.active, st.succeeded, st.failed), (2, 0, 0));
    assert_eq!(st.start_time, Some(SimTime::ZERO));
    for p in pods(&k) {
        assert!(p
            .meta
            .finalizers
            .iter()
            .any(|f| f == JOB_TRACKING_FINALIZER));
        assert_eq!(p.meta.labels[LABEL_JOB_NAME], "foobar");
        assert!(p.meta.name.starts_with("foobar-"));
    }
}

#[test]
fn sync_job_too_few_active_pods() {
    // parallelism 2, completions 5, one succeeded: one more pod, active 2, succeeded 1.
    let mut k = kit();
    create(&mut k, new_job(2, Some(5)));
    let p = pods(&k)[0].clone();
    at(&mut k, 5);
    set_phase(&mut k, &p, PodPhase::Succeeded);
    at(&mut k, 7);
    assert_eq!(k.records("SuccessfulCreate"), 3);
    let st = &job(&k).status;
    assert_eq!((st.active, st.succeeded, st.failed), (2, 1, 0));
    // Counted: the finalizer is gone and the pod is not listed as uncounted.
    assert!(k.pod(&p.meta.name).unwrap().meta.finalizers.is_empty());
    assert!(st.uncounted_succeeded.is_empty());
}

#[test]
fn sync_job_too_many_active_pods() {
    // Parallelism lowered from 3 to 2: one pod deleted (pending before running).
    let mut k = kit();
    create(&mut k, new_job(3, Some(5)));
    let ps = pods(&k);
    set_phase(&mut k, &ps[0], PodPhase::Running);
    set_phase(&mut k, &ps[1], PodPhase::Running);
    at(&mut k, 5);
    k.api
        .update_job(Caller::Operator, "default/foobar", |j| j.parallelism = 2)
        .unwrap();
    k.settle();
    assert_eq!(k.records("SuccessfulDelete"), 1);
    assert_eq!(active(&k).len(), 2);
    assert!(
        k.pod(&ps[2].meta.name).is_none(),
        "the pending pod goes first"
    );
    at(&mut k, 7);
    assert_eq!(job(&k).status.active, 2);
}

#[test]
fn sync_job_job_finish() {
    // completions 2: both pods succeed → SuccessCriteriaMet, then Complete, `Completed`.
    let mut k = kit();
    create(&mut k, new_job(2, Some(2)));
    at(&mut k, 5);
    for p in pods(&k) {
        set_phase(&mut k, &p, PodPhase::Succeeded);
    }
    at(&mut k, 7);
    let j = job(&k);
    assert_eq!((j.status.active, j.status.succeeded), (0, 2));
    let c = j.condition(JobConditionType::Complete).expect("Complete");
    assert_eq!(c.status, ConditionStatus::True);
    assert!(j.condition(JobConditionType::SuccessCriteriaMet).is_some());
    assert_eq!(j.status.completion_time, Some(SimTime::from_secs(6)));
    assert_eq!(k.records("Completed"), 1);
}

#[test]
fn sync_job_wq_job_all_finished_despite_one_failure() {
    // completions unset, parallelism 2: one succeeds, one fails → complete, failed 1.
    let mut k = kit();
    create(&mut k, new_job(2, None));
    at(&mut k, 5);
    let ps = pods(&k);
    set_phase(&mut k, &ps[0], PodPhase::Succeeded);
    set_phase(&mut k, &ps[1], PodPhase::Failed);
    at(&mut k, 7);
    let j = job(&k);
    assert_eq!(
        (j.status.active, j.status.succeeded, j.status.failed),
        (0, 1, 1)
    );
    assert!(j.is_finished());
    assert_eq!(k.records("Completed"), 1);
    assert_eq!(
        k.records("SuccessfulCreate"),
        2,
        "no replacement once one succeeded"
    );
}

#[test]
fn sync_job_past_deadline_active_deadline_seconds_less_than_single_pod_execution() {
    // activeDeadlineSeconds 10, one running pod: deleted at 10 s, DeadlineExceeded.
    let mut k = kit();
    let mut j = new_job(1, Some(1));
    j.active_deadline_seconds = Some(10);
    create(&mut k, j);
    let p = pods(&k)[0].clone();
    set_phase(&mut k, &p, PodPhase::Running);
    at(&mut k, 9);
    assert!(!job(&k).is_finished());
    at(&mut k, 10);
    assert_eq!(k.records("SuccessfulDelete"), 1);
    // The pod is Terminating (grace 30 s): FailureTarget now, Failed once it is gone.
    let j = job(&k);
    let t = j
        .condition(JobConditionType::FailureTarget)
        .expect("FailureTarget");
    assert_eq!(t.reason, "DeadlineExceeded");
    assert!(!j.is_finished());
    k.api
        .delete_pod(Caller::Operator, &p.key(), Some(0))
        .unwrap();
    k.settle();
    at(&mut k, 12);
    let j = job(&k);
    let f = j.finished_condition().expect("finished");
    assert_eq!(
        (f.type_, f.reason.as_str()),
        (JobConditionType::Failed, "DeadlineExceeded")
    );
    assert_eq!(f.message, "Job was active longer than specified deadline");
    assert_eq!((j.status.active, j.status.failed), (0, 1));
    assert_eq!(k.records("DeadlineExceeded"), 1);
}

#[test]
fn job_backoff_limit_exceeded() {
    // backoffLimit 1: the second failure fails the Job; replacements wait 10 s, then 20 s.
    let mut k = kit();
    let mut j = new_job(1, Some(1));
    j.backoff_limit = 1;
    create(&mut k, j);
    at(&mut k, 5);
    let p = pods(&k)[0].clone();
    set_phase(&mut k, &p, PodPhase::Failed); // finished at 5 s (Ready=False)
    at(&mut k, 14);
    assert_eq!(k.records("SuccessfulCreate"), 1, "backoff 10 s from 5 s");
    at(&mut k, 15);
    assert_eq!(k.records("SuccessfulCreate"), 2);
    let p2 = active(&k)[0].clone();
    at(&mut k, 20);
    set_phase(&mut k, &p2, PodPhase::Failed);
    at(&mut k, 22);
    let j = job(&k);
    let f = j.finished_condition().expect("failed");
    assert_eq!(f.reason, "BackoffLimitExceeded");
    assert_eq!(f.message, "Job has reached the specified backoff limit");
    assert_eq!(j.status.failed, 2);
    assert_eq!(k.records("BackoffLimitExceeded"), 1);
}

#[test]
fn backoff_remaining_time_doubles_and_caps() {
    // getRemainingTimeForFailuresCount: 10 s · 2^(n-1), capped at MaxJobPodFailureBackOff.
    let r = |n, last: u64, now: u64| {
        BackoffRecord {
            failures_after_last_success: n,
            last_failure_time: Some(SimTime::from_secs(last)),
        }
        .remaining(SimTime::from_secs(now))
    };
    assert_eq!(r(0, 0, 0), SimDuration::ZERO);
    assert_eq!(r(1, 0, 0), SimDuration::from_secs(10));
    assert_eq!(r(1, 0, 4), SimDuration::from_secs(6));
    assert_eq!(r(3, 0, 0), SimDuration::from_secs(40));
    assert_eq!(r(7, 0, 0), SimDuration::from_secs(600));
    assert_eq!(r(20, 100, 200), SimDuration::from_secs(500));
    assert_eq!(r(2, 0, 30), SimDuration::ZERO);
}

#[test]
fn indexed_job_start_and_completed_indexes() {
    // "indexed job start": parallelism 2, completions 3 → indexes 0 and 1; then 2.
    let mut k = kit();
    let mut j = new_job(2, Some(3));
    j.indexed = true;
    create(&mut k, j);
    let mut ix: Vec<i32> = pods(&k)
        .iter()
        .filter_map(|p| completion_index(p))
        .collect();
    ix.sort();
    assert_eq!(ix, vec![0, 1]);
    for p in pods(&k) {
        let i = completion_index(&p).unwrap();
        assert_eq!(p.meta.labels[JOB_COMPLETION_INDEX], i.to_string());
        assert!(p.meta.name.starts_with(&format!("foobar-{i}-")));
    }
    at(&mut k, 5);
    let zero = pods(&k)
        .into_iter()
        .find(|p| completion_index(p) == Some(0))
        .unwrap();
    set_phase(&mut k, &zero, PodPhase::Succeeded);
    at(&mut k, 7);
    let two = active(&k)
        .into_iter()
        .find(|p| completion_index(p) == Some(2));
    assert!(two.is_some(), "index 2 created next");
    assert_eq!(job(&k).status.completed_indexes, "0");
    for p in active(&k) {
        set_phase(&mut k, &p, PodPhase::Succeeded);
    }
    at(&mut k, 9);
    let j = job(&k);
    assert_eq!(j.status.completed_indexes, "0-2");
    assert_eq!(j.status.succeeded, 3);
    assert!(j.condition(JobConditionType::Complete).is_some());
}

#[test]
fn ttl_after_finished_deletes_the_job() {
    let mut k = kit();
    let mut j = new_job(1, Some(1));
    j.ttl_seconds_after_finished = Some(100);
    create(&mut k, j);
    at(&mut k, 5);
    let p = pods(&k)[0].clone();
    set_phase(&mut k, &p, PodPhase::Succeeded);
    at(&mut k, 7);
    let done = job(&k).finished_condition().unwrap().last_transition_time;
    assert_eq!(done, SimTime::from_secs(6));
    at(&mut k, 105);
    assert!(k.api.jobs().contains_key("default/foobar"));
    at(&mut k, 106);
    // Foreground: the garbage collector removes the pod, then the Job goes.
    assert!(!k.api.jobs().contains_key("default/foobar"));
    assert!(pods(&k).is_empty());
}

#[test]
fn indexes_round_trip_as_intervals() {
    let s: BTreeSet<i32> = [0, 1, 2, 5, 7, 8].into();
    assert_eq!(format_indexes(&s), "0-2,5,7-8");
    assert_eq!(parse_indexes("0-2,5,7-8", 100), s);
    assert_eq!(parse_indexes("0-2,5,7-8", 6), [0, 1, 2, 5].into());
}
