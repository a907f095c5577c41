//! The event queue: a binary heap ordered by (time, class, tie, seq).
//!
//! Invariant: two events of the same time and class pop in the order they were pushed (`seq`
//! is a global counter), unless the opt-in tie perturbation is on, in which case a seeded draw
//! (`tie`) decides among same-time timers — never anything else (no addresses, no hash order). Class
//! [`Class::Delivery`] (zero-latency message deliveries) pops before [`Class::Timer`] at the
//! same instant: a message sent at t with no latency is in its receiver's hands before any
//! timer due at t acts, so no loop ever acts on a cache that is stale by zero time.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap};

use rand::RngCore;
use rand_chacha::ChaCha8Rng;

use super::time::SimTime;

/// Handle of a scheduled event, usable for cancellation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventId(pub u64);

/// Ordering class of same-time events.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Message deliveries (watch notifications).
    Delivery = 0,
    /// Everything else: timers, periodic loops, faults.
    Timer = 1,
}

/// A heap entry: the ordering key and where the event waits. The events themselves stay put
/// in the slab, so the heap's sift moves 32-byte entries instead of whole events.
struct Entry {
    time: SimTime,
    class: Class,
    slot: u32,
    tie: u64,
    seq: u64,
}

impl Entry {
    fn key(&self) -> (SimTime, Class, u64, u64) {
        (self.time, self.class, self.tie, self.seq)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and we want the earliest key on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

pub struct EventQueue<E> {
    heap: BinaryHeap<Entry>,
    /// The events by slot (`Entry::slot`); a popped event's slot is reused.
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
    cancelled: BTreeSet<u64>,
    perturb: Option<ChaCha8Rng>,
}

impl<E> EventQueue<E> {
    pub fn new(perturb: Option<ChaCha8Rng>) -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
            cancelled: BTreeSet::new(),
            perturb,
        }
    }

    pub fn push(&mut self, time: SimTime, event: E) -> EventId {
        self.push_class(time, Class::Timer, event)
    }

    pub fn push_class(&mut self, time: SimTime, class: Class, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Deliveries are never shuffled: a watch stream is FIFO, and reordering two updates of
        // one object would leave a cache holding the older one.
        let tie = match (&mut self.perturb, class) {
            (Some(rng), Class::Timer) => rng.next_u64(),
            _ => 0,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot = u32::try_from(self.slab.len()).expect("fewer than 2^32 pending events");
                self.slab.push(Some(event));
                slot
            }
        };
        self.heap.push(Entry {
            time,
            class,
            slot,
            tie,
            seq,
        });
        EventId(seq)
    }

    /// Marks an event as cancelled (a tombstone); it is skipped when it reaches the top.
    pub fn cancel(&mut self, id: EventId) {
        self.cancelled.insert(id.0);
    }

    /// Time of the next live event.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.drop_cancelled_top();
        self.heap.peek().map(|e| e.time)
    }

    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.drop_cancelled_top();
        let e = self.heap.pop()?;
        Some((e.time, self.take(e.slot)))
    }

    fn take(&mut self, slot: u32) -> E {
        let event = self.slab[slot as usize]
            .take()
            .expect("a queued entry's slot holds its event");
        self.free.push(slot);
        event
    }

    fn drop_cancelled_top(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.cancelled.is_empty() || !self.cancelled.remove(&top.seq) {
                return;
            }
            if let Some(e) = self.heap.pop() {
                drop(self.take(e.slot));
            }
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn same_time_events_pop_in_push_order() {
        let mut q = EventQueue::new(None);
        q.push(SimTime(5), "b1");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "b2");
        q.push(SimTime(5), "b3");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, vec!["a", "b1", "b2", "b3"]);
    }

    #[test]
    fn deliveries_pop_before_timers_at_the_same_time() {
        let mut q = EventQueue::new(None);
        q.push(SimTime(5), "timer");
        q.push_class(SimTime(5), Class::Delivery, "delivery");
        q.push_class(SimTime(6), Class::Delivery, "later delivery");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, vec!["delivery", "timer", "later delivery"]);
    }

    #[test]
    fn cancelled_events_are_skipped() {
        let mut q = EventQueue::new(None);
        let a = q.push(SimTime(1), 1);
        q.push(SimTime(2), 2);
        q.cancel(a);
        assert_eq!(q.pop(), Some((SimTime(2), 2)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn perturbation_reorders_only_same_time_events() {
        let mut q = EventQueue::new(Some(ChaCha8Rng::seed_from_u64(7)));
        for i in 0..50u64 {
            q.push(SimTime(i / 10), i);
        }
        let popped: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        // Time never goes backwards …
        assert!(popped.windows(2).all(|w| w[0].0 <= w[1].0));
        // … every event of time bucket k comes from bucket k …
        assert!(popped.iter().all(|(t, e)| t.0 == e / 10));
        // … and within buckets the push order is no longer kept.
        let in_order = popped.windows(2).all(|w| w[0].1 < w[1].1);
        assert!(!in_order);
    }
}
