//! Leader election as client-go runs it for kube-controller-manager and kube-scheduler
//! (`--leader-elect-lease-duration` 15 s, `--leader-elect-renew-deadline` 10 s,
//! `--leader-elect-retry-period` 2 s).
//!
//! Invariant: a candidate acquires only when the API server is reachable and the record it
//! observed has not changed for a whole lease duration *on its own clock* (client-go's
//! `observedTime`), or is its own. A leader that cannot renew within the renew deadline stops
//! leading; the component then restarts as a new candidate with a new identity.

use rand_chacha::ChaCha8Rng;

use crate::api::{ApiServer, LeaderRecord};
use crate::network::Caller;
use crate::sim::{rng, Record, SimDuration, SimTime};

#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    pub leader_elect: bool,
    pub lease_duration: SimDuration,
    pub renew_deadline: SimDuration,
    pub retry_period: SimDuration,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        LeaderElectionConfig {
            leader_elect: true,
            lease_duration: SimDuration::from_secs(15),
            renew_deadline: SimDuration::from_secs(10),
            retry_period: SimDuration::from_secs(2),
        }
    }
}

/// `wait.JitterUntil(..., RetryPeriod, JitterFactor=1.2, sliding)` in the acquire loop.
const ACQUIRE_JITTER: f64 = 1.2;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Nothing,
    Acquired,
    Lost,
}

enum State {
    Candidate {
        observed: Option<(LeaderRecord, SimTime)>,
    },
    /// `failing_since`: start of the current renew cycle if its first attempt failed.
    Leading { failing_since: Option<SimTime> },
}

pub struct LeaderElector {
    lock_name: &'static str,
    caller: Caller,
    config: LeaderElectionConfig,
    incarnation: u32,
    state: State,
    rng: ChaCha8Rng,
}

impl LeaderElector {
    pub fn new(
        lock_name: &'static str,
        caller: Caller,
        config: LeaderElectionConfig,
        rng: ChaCha8Rng,
    ) -> Self {
        LeaderElector {
            lock_name,
            caller,
            config,
            incarnation: 1,
            state: State::Candidate { observed: None },
            rng,
        }
    }

    pub fn identity(&self) -> String {
        format!("{}-{}", self.lock_name, self.incarnation)
    }

    pub fn lock_name(&self) -> &'static str {
        self.lock_name
    }

    /// The event for an outcome: Kubernetes' `LeaderElection` ("<id> became leader") on
    /// acquiring; kubesim's `LeaderElectionLost` on losing (Kubernetes only logs it and exits).
    pub fn record(&self, outcome: &Outcome, now: SimTime, source: &'static str) -> Option<Record> {
        let (reason, message) = match outcome {
            Outcome::Nothing => return None,
            Outcome::Acquired => (
                "LeaderElection",
                format!("{} became leader", self.identity()),
            ),
            Outcome::Lost => (
                "LeaderElectionLost",
                "failed to renew lease within the renew deadline; the process restarts".to_string(),
            ),
        };
        Some(Record {
            t: now,
            reason,
            source,
            object: format!("Lease/kube-system/{}", self.lock_name),
            message,
            fields: vec![],
        })
    }

    /// The process restarts (killed, or its pod restarted): no lease release, a new identity,
    /// and the acquire loop starts over.
    pub fn restart(&mut self) {
        self.incarnation += 1;
        self.state = State::Candidate { observed: None };
    }

    pub fn is_leading(&self) -> bool {
        matches!(self.state, State::Leading { .. })
    }

    pub fn enabled(&self) -> bool {
        self.config.leader_elect
    }

    /// One tick of whichever loop runs now; returns what happened and when to tick next.
    pub fn tick(&mut self, now: SimTime, api: &mut ApiServer) -> (Outcome, SimDuration) {
        let retry = self.config.retry_period;
        match self.state {
            State::Candidate { .. } => {
                if self.try_acquire_or_renew(now, api) {
                    self.state = State::Leading {
                        failing_since: None,
                    };
                    (Outcome::Acquired, retry)
                } else {
                    (
                        Outcome::Nothing,
                        rng::jitter(&mut self.rng, retry, ACQUIRE_JITTER),
                    )
                }
            }
            State::Leading { failing_since } => {
                if self.try_acquire_or_renew(now, api) {
                    self.state = State::Leading {
                        failing_since: None,
                    };
                    return (Outcome::Nothing, retry);
                }
                let cycle_start = failing_since.unwrap_or(now);
                let deadline = cycle_start + self.config.renew_deadline;
                // PollImmediateUntil(retry) under a RenewDeadline timeout: when the timeout
                // comes before the next attempt, leadership is lost at the timeout.
                if now >= deadline {
                    // A new process takes over with a fresh identity and starts acquiring.
                    self.incarnation += 1;
                    self.state = State::Candidate { observed: None };
                    return (Outcome::Lost, SimDuration::ZERO);
                }
                self.state = State::Leading {
                    failing_since: Some(cycle_start),
                };
                (Outcome::Nothing, retry.min(deadline.since(now)))
            }
        }
    }

    fn try_acquire_or_renew(&mut self, now: SimTime, api: &mut ApiServer) -> bool {
        let me = self.identity();
        let Ok(current) = api.get_leader_record(self.caller, self.lock_name) else {
            return false;
        };
        if let Some(rec) = &current {
            if rec.holder_identity != me {
                let observed_at = match &mut self.state {
                    State::Candidate { observed } => match observed {
                        Some((seen, at)) if seen == rec => *at,
                        _ => {
                            *observed = Some((rec.clone(), now));
                            now
                        }
                    },
                    State::Leading { .. } => return false,
                };
                if observed_at + self.config.lease_duration > now {
                    return false;
                }
            }
        }
        let record = LeaderRecord {
            holder_identity: me,
            lease_duration: self.config.lease_duration,
            renew_time: now,
            resource_version: 0,
        };
        api.put_leader_record(
            self.caller,
            self.lock_name,
            current.map(|c| c.resource_version),
            record,
        )
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiServerConfig;

    fn api() -> ApiServer {
        ApiServer::new(ApiServerConfig {
            default_not_ready_toleration: SimDuration::from_secs(300),
            default_unreachable_toleration: SimDuration::from_secs(300),
            inflight: Default::default(),
        })
    }

    #[test]
    fn loses_leadership_one_renew_deadline_after_the_first_failed_renewal() {
        let mut a = api();
        let mut le = LeaderElector::new(
            "kcm",
            Caller::ControllerManager,
            LeaderElectionConfig::default(),
            rng::stream(1, "le"),
        );
        assert_eq!(le.tick(SimTime::ZERO, &mut a).0, Outcome::Acquired);
        a.net.set_api_down(true);
        let mut t = SimTime::from_secs(2);
        loop {
            let (o, next) = le.tick(t, &mut a);
            if o == Outcome::Lost {
                // First failed cycle started at 2 s; renew deadline 10 s.
                assert_eq!(t, SimTime::from_secs(12));
                assert_eq!(next, SimDuration::ZERO);
                break;
            }
            t += next;
            assert!(t < SimTime::from_secs(20));
        }
        // The new incarnation waits a whole lease duration after it first sees the old record.
        a.net.set_api_down(false);
        let seen = SimTime::from_secs(30);
        assert_eq!(le.tick(seen, &mut a).0, Outcome::Nothing);
        assert_eq!(
            le.tick(seen + SimDuration::from_secs(14), &mut a).0,
            Outcome::Nothing
        );
        assert_eq!(
            le.tick(seen + SimDuration::from_secs(15), &mut a).0,
            Outcome::Acquired
        );
    }
}
