//! The discrete-event engine: clock, event queue, limits and trace. Knows nothing of Kubernetes.
//!
//! Architecture invariant: a run is a pure function of its inputs and seed. The engine owns the
//! only clock and the only queue; handlers see time only through [`Engine::now`] and act only by
//! scheduling events and appending trace records.

pub mod lookup;
pub mod namemap;
pub mod queue;
pub mod rng;
pub mod time;
pub mod trace;

pub use queue::{Class, EventId, EventQueue};
pub use time::{SimDuration, SimTime};
pub use trace::{Record, Trace};

use rand_chacha::ChaCha8Rng;

/// What a component sees of the engine: the clock, timers of its own event type `C`, and the
/// trace. Components take `&mut dyn Ctx<TheirEvent>`; the engine of a whole cluster implements
/// it for every component event that converts into the cluster's event, so components never
/// name the layer that wires them (ARCHITECTURE.md "Layers").
pub trait Ctx<C> {
    fn now(&self) -> SimTime;
    /// Schedules `event` at absolute time `at` (never in the past).
    fn schedule_at(&mut self, at: SimTime, event: C) -> EventId;
    fn schedule_in(&mut self, delay: SimDuration, event: C) -> EventId;
    fn cancel(&mut self, id: EventId);
    fn record(&mut self, record: Record);
}

impl<E, C: Into<E>> Ctx<C> for Engine<E> {
    fn now(&self) -> SimTime {
        self.now
    }
    fn schedule_at(&mut self, at: SimTime, event: C) -> EventId {
        Engine::schedule_at(self, at, event.into())
    }
    fn schedule_in(&mut self, delay: SimDuration, event: C) -> EventId {
        Engine::schedule_in(self, delay, event.into())
    }
    fn cancel(&mut self, id: EventId) {
        Engine::cancel(self, id)
    }
    fn record(&mut self, record: Record) {
        Engine::record(self, record)
    }
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Simulated time reached the scenario's duration.
    DurationReached,
    /// No event was left before the end (nothing more can happen).
    QueueEmpty,
    /// The event limit was hit first; the run is incomplete.
    EventLimit(u64),
    /// The scenario's `stopWhen` condition held (`Engine::request_stop`); the run is complete.
    StopWhen,
}

impl StopReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            StopReason::DurationReached => "duration-reached",
            StopReason::QueueEmpty => "queue-empty",
            StopReason::EventLimit(_) => "event-limit",
            StopReason::StopWhen => "stop-when",
        }
    }
    /// Whether the run covered its whole duration.
    pub fn completed(&self) -> bool {
        !matches!(self, StopReason::EventLimit(_))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub end: SimTime,
    pub max_events: u64,
}

pub struct Engine<E> {
    now: SimTime,
    queue: EventQueue<E>,
    limits: Limits,
    processed: u64,
    pub trace: Trace,
    /// Set by [`Engine::request_stop`]: the run ends after the current event.
    stop_requested: bool,
}

impl<E> Engine<E> {
    pub fn new(limits: Limits, perturb: Option<ChaCha8Rng>) -> Self {
        Engine {
            now: SimTime::ZERO,
            queue: EventQueue::new(perturb),
            limits,
            processed: 0,
            trace: Trace::default(),
            stop_requested: false,
        }
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn end(&self) -> SimTime {
        self.limits.end
    }

    pub fn processed(&self) -> u64 {
        self.processed
    }

    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Schedules `event` at absolute time `at` (never in the past).
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> EventId {
        assert!(at >= self.now, "event scheduled in the past");
        self.queue.push(at, event)
    }

    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        let at = self.now + delay;
        self.queue.push(at, event)
    }

    /// Schedules a message delivery: at the same instant it pops before timers.
    pub fn deliver_in(&mut self, delay: SimDuration, event: E) -> EventId {
        let at = self.now + delay;
        self.queue.push_class(at, Class::Delivery, event)
    }

    pub fn cancel(&mut self, id: EventId) {
        self.queue.cancel(id);
    }

    pub fn record(&mut self, record: Record) {
        self.trace.push(record);
    }

    /// Ends the run after the current event (a scenario's `stopWhen` held): `run_until`
    /// returns [`StopReason::StopWhen`] and the run's end becomes now.
    pub fn request_stop(&mut self) {
        self.stop_requested = true;
    }

    /// Processes every event with time <= `until` (and <= the run's end), in (time, seq) order.
    /// Returns `Some(reason)` if the run is over.
    pub fn run_until<F>(&mut self, until: SimTime, mut handle: F) -> Option<StopReason>
    where
        F: FnMut(&mut Engine<E>, E),
    {
        let until = until.min(self.limits.end);
        loop {
            match self.queue.peek_time() {
                Some(t) if t <= until => {}
                Some(_) => break,
                None => {
                    self.now = until;
                    return Some(StopReason::QueueEmpty).filter(|_| until == self.limits.end);
                }
            }
            if self.processed >= self.limits.max_events {
                return Some(StopReason::EventLimit(self.limits.max_events));
            }
            let (t, ev) = self.queue.pop().expect("peeked");
            assert!(
                t >= self.now,
                "simulated time went backwards: {t} after {}",
                self.now
            );
            self.now = t;
            self.processed += 1;
            handle(self, ev);
            if self.stop_requested {
                self.limits.end = self.now;
                return Some(StopReason::StopWhen);
            }
        }
        self.now = until;
        if until == self.limits.end {
            Some(StopReason::DurationReached)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_limit_stops_the_run() {
        let mut e: Engine<u32> = Engine::new(
            Limits {
                end: SimTime::from_secs(100),
                max_events: 10,
            },
            None,
        );
        e.schedule_at(SimTime::ZERO, 0);
        // A self-perpetuating event at the same time would loop forever without the limit.
        let r = e.run_until(SimTime::from_secs(100), |e, n| {
            e.schedule_in(SimDuration::ZERO, n + 1);
        });
        assert_eq!(r, Some(StopReason::EventLimit(10)));
        assert_eq!(e.processed(), 10);
    }

    #[test]
    fn run_until_stops_at_checkpoints_and_end() {
        let mut e: Engine<u32> = Engine::new(
            Limits {
                end: SimTime::from_secs(10),
                max_events: 1000,
            },
            None,
        );
        e.schedule_at(SimTime::from_secs(1), 1);
        e.schedule_at(SimTime::from_secs(5), 5);
        e.schedule_at(SimTime::from_secs(50), 50);
        let mut seen = vec![];
        assert_eq!(
            e.run_until(SimTime::from_secs(5), |_, n| seen.push(n)),
            None
        );
        assert_eq!(seen, vec![1, 5]);
        assert_eq!(e.now(), SimTime::from_secs(5));
        let r = e.run_until(SimTime::from_secs(20), |_, n| seen.push(n));
        assert_eq!(r, Some(StopReason::DurationReached));
        assert_eq!(seen, vec![1, 5]);
    }
}
