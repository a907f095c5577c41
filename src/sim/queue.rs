//! The event queue: a binary heap ordered by (time, class, tie, seq), beside a FIFO for
//! message deliveries.
//!
//! Invariant: two events of the same time and class pop in the order they were pushed (`seq`
//! is a global counter), unless the opt-in tie perturbation is on, in which case a seeded draw
//! (`tie`) decides among same-time timers — never anything else (no addresses, no hash order). Class
//! [`Class::Delivery`] (zero-latency message deliveries) pops before [`Class::Timer`] at the
//! same instant: a message sent at t with no latency is in its receiver's hands before any
//! timer due at t acts, so no loop ever acts on a cache that is stale by zero time.
//!
//! Deliveries are pushed with one fixed latency, so they arrive in key order; they wait in a
//! FIFO instead of the heap (most events of a cluster run are watch deliveries), and `pop`
//! takes the smaller of the two fronts. A delivery that would not keep the FIFO in key order
//! goes to the heap, so the pop order is the same as one heap's whatever the pushes.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};

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
    /// Deliveries in key order: (time, seq, event); their class is `Delivery`, their tie 0.
    fifo: VecDeque<(SimTime, u64, E)>,
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
            fifo: VecDeque::new(),
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
        if class == Class::Delivery && self.fifo.back().is_none_or(|b| b.0 <= time) {
            // After the FIFO's last entry: its time is not earlier and its seq is larger.
            self.fifo.push_back((time, seq, event));
            return EventId(seq);
        }
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
        self.drop_cancelled_fronts();
        match (self.heap.peek(), self.fifo.front()) {
            (Some(h), Some(f)) => Some(h.time.min(f.0)),
            (Some(h), None) => Some(h.time),
            (None, Some(f)) => Some(f.0),
            (None, None) => None,
        }
    }

    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.drop_cancelled_fronts();
        if self.fifo_first() {
            return self.fifo.pop_front().map(|(t, _, e)| (t, e));
        }
        let e = self.heap.pop()?;
        Some((e.time, self.take(e.slot)))
    }

    /// Whether the FIFO's front comes before the heap's top (both fronts live).
    fn fifo_first(&self) -> bool {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(&(time, seq, _)), Some(h)) => (time, Class::Delivery, 0, seq) < h.key(),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    fn take(&mut self, slot: u32) -> E {
        let event = self.slab[slot as usize]
            .take()
            .expect("a queued entry's slot holds its event");
        self.free.push(slot);
        event
    }

    fn drop_cancelled_fronts(&mut self) {
        if self.cancelled.is_empty() {
            return;
        }
        while let Some(top) = self.heap.peek() {
            if !self.cancelled.remove(&top.seq) {
                break;
            }
            if let Some(e) = self.heap.pop() {
                drop(self.take(e.slot));
            }
        }
        while let Some(front) = self.fifo.front() {
            if !self.cancelled.remove(&front.1) {
                break;
            }
            self.fifo.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.fifo.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.fifo.is_empty()
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

    /// The FIFO of deliveries changes no pop order: random pushes of timers and deliveries
    /// (most in time order as the cluster makes them, some out of order), cancellations and
    /// pops interleaved, against the order of the (time, class, seq) keys.
    #[test]
    fn delivery_fifo_pops_as_one_ordered_queue() {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut q = EventQueue::new(None);
        // The live events: key → payload (the payload is the seq).
        let mut live: std::collections::BTreeMap<(SimTime, Class, u64), u64> =
            std::collections::BTreeMap::new();
        let mut now = 0u64;
        // Each push's payload is its sequence number (pushes are counted from 0, as seq is).
        let mut pushed = 0u64;
        for _ in 0..20_000 {
            match rng.random_range(0..10) {
                0..=3 => {
                    let delay = if rng.random_range(0..20) == 0 { 0 } else { 5 };
                    let t = SimTime(now + delay);
                    let id = q.push_class(t, Class::Delivery, pushed);
                    assert_eq!(id.0, pushed);
                    pushed += 1;
                    live.insert((t, Class::Delivery, id.0), id.0);
                }
                4..=6 => {
                    let t = SimTime(now + rng.random_range(0..8));
                    let id = q.push(t, pushed);
                    assert_eq!(id.0, pushed);
                    pushed += 1;
                    live.insert((t, Class::Timer, id.0), id.0);
                }
                7 => {
                    if let Some(&key) = live.keys().nth(rng.random_range(0..live.len().max(1))) {
                        q.cancel(EventId(key.2));
                        live.remove(&key);
                    }
                }
                _ => {
                    let want = live.pop_first();
                    assert_eq!(q.pop(), want.map(|(k, seq)| (k.0, seq)));
                    if let Some((k, _)) = want {
                        now = k.0 .0;
                    }
                    assert!(q.len() >= live.len());
                }
            }
        }
        while let Some((k, seq)) = live.pop_first() {
            assert_eq!(q.peek_time(), Some(k.0));
            assert_eq!(q.pop(), Some((k.0, seq)));
        }
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
