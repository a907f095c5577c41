//! kube-scheduler's own timers. The cluster wraps them in its event and hands them back only
//! while `gen` is the scheduler's current generation (the leader tick always).

#[derive(Clone, Debug)]
pub enum Event {
    SchedulerLeaderTick {
        gen: u32,
    },
    SchedulerCycle {
        gen: u32,
    },
    /// Backoff of some unschedulable pod expired: move due pods back to the active queue.
    SchedulerFlush {
        gen: u32,
    },
}

impl Event {
    /// The scheduler generation the timer was scheduled under.
    pub fn gen(&self) -> u32 {
        match *self {
            Event::SchedulerLeaderTick { gen }
            | Event::SchedulerCycle { gen }
            | Event::SchedulerFlush { gen } => gen,
        }
    }
}
