//! The search of `kubesim plan` (the steps are in `plan.rs`'s header): rounds of candidates,
//! each round's candidates × cases run at once, every candidate run at most once.
//!
//! Invariant: which candidates a round tries depends only on earlier rounds' outcomes, never
//! on the thread count or on which run finished first.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::{Outcome, PlanReport, Round, Trial};

/// What the search needs of a plan (`Plan` implements it; the tests use an oracle of their
/// own, to check the search itself).
pub(super) trait Oracle: Sync {
    /// Indices of the pools that may grow, in search order.
    fn grow(&self) -> &[usize];
    fn pool_name(&self, p: usize) -> &str;
    /// How many failure cases.
    fn cases(&self) -> usize;
    fn max_count(&self) -> u32;
    /// The scenario's counts (every pool).
    fn start(&self) -> Vec<u32>;
    fn lower_bound(&self, counts: &[u32], p: usize) -> u32;
    fn evaluate(&self, counts: &[u32], case: usize) -> Outcome;
}

/// Evaluates `(candidate, case)` pairs on `pool` (or on rayon's global pool), results in
/// input order.
fn run_pairs<O: Oracle + ?Sized>(
    oracle: &O,
    pool: Option<&rayon::ThreadPool>,
    pairs: &[(Vec<u32>, usize)],
    counter: &AtomicUsize,
    progress: &(dyn Fn(usize, &str) + Sync),
    label: &str,
) -> Vec<Outcome> {
    let work = || {
        pairs
            .par_iter()
            .map(|(counts, c)| {
                let o = oracle.evaluate(counts, *c);
                progress(counter.fetch_add(1, Ordering::Relaxed) + 1, label);
                o
            })
            .collect()
    };
    match pool {
        Some(p) => p.install(work),
        None => work(),
    }
}

/// The longest linear scan of one pool's bracket (counts).
const MAX_SCAN: u32 = 256;

pub(super) struct Search<'a, O: Oracle + ?Sized> {
    plan: &'a O,
    pool: Option<rayon::ThreadPool>,
    progress: &'a (dyn Fn(usize, &str) + Sync),
    counter: AtomicUsize,
    trials: Vec<Trial>,
    index: BTreeMap<Vec<u32>, usize>,
    notes: Vec<String>,
}

impl<'a, O: Oracle + ?Sized> Search<'a, O> {
    pub(super) fn new(
        plan: &'a O,
        jobs: usize,
        progress: &'a (dyn Fn(usize, &str) + Sync),
    ) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .ok();
        Search {
            plan,
            pool,
            progress,
            counter: AtomicUsize::new(0),
            trials: Vec::new(),
            index: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    fn label(&self, counts: &[u32]) -> String {
        self.plan
            .grow()
            .iter()
            .map(|p| format!("{}={}", self.plan.pool_name(*p), counts[*p]))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the candidates not tried yet (all cases of all of them at once); whether each
    /// candidate passes, in input order.
    fn eval(&mut self, batch: &[Vec<u32>], round: Round) -> Vec<bool> {
        let mut fresh: Vec<Vec<u32>> = Vec::new();
        for c in batch {
            if !self.index.contains_key(c) && !fresh.contains(c) {
                fresh.push(c.clone());
            }
        }
        let ncases = self.plan.cases();
        let pairs: Vec<(Vec<u32>, usize)> = fresh
            .iter()
            .flat_map(|c| (0..ncases).map(move |k| (c.clone(), k)))
            .collect();
        let label = format!(
            "{}: {}",
            round.name(),
            fresh
                .iter()
                .map(|c| self.label(c))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let outcomes = run_pairs(
            self.plan,
            self.pool.as_ref(),
            &pairs,
            &self.counter,
            self.progress,
            &label,
        );
        for (i, c) in fresh.into_iter().enumerate() {
            let o = outcomes[i * ncases..(i + 1) * ncases].to_vec();
            let passed = o.iter().all(|x| x.passed);
            self.index.insert(c.clone(), self.trials.len());
            self.trials.push(Trial {
                counts: c,
                round,
                outcomes: o,
                passed,
            });
        }
        batch
            .iter()
            .map(|c| self.index.get(c).is_some_and(|i| self.trials[*i].passed))
            .collect()
    }

    fn with(counts: &[u32], p: usize, v: u32) -> Vec<u32> {
        let mut c = counts.to_vec();
        c[p] = v;
        c
    }

    /// Step 1: the first passing candidate from the start, doubling; `None` if `max_count`
    /// fails.
    fn upper_bound(&mut self, lower: &mut BTreeMap<String, u32>) -> Option<Vec<u32>> {
        let max = self.plan.max_count();
        let mut hi = self.plan.start();
        for &p in self.plan.grow() {
            let lb = self.plan.lower_bound(&hi, p).min(max);
            lower.insert(self.plan.pool_name(p).to_string(), lb);
            hi[p] = hi[p].max(lb).min(max);
        }
        let mut round = Round::Start;
        loop {
            if self.eval(std::slice::from_ref(&hi), round)[0] {
                return Some(hi);
            }
            if self.plan.grow().iter().all(|&p| hi[p] >= max) {
                return None;
            }
            for &p in self.plan.grow() {
                hi[p] = hi[p].saturating_mul(2).min(max);
            }
            round = Round::Double;
        }
    }

    /// Step 2: bisection of pool `p` in `(lo, hi]`, `hi` passing; the smallest passing count.
    fn bisect(&mut self, answer: &[u32], p: usize, mut lo: u32, mut hi: u32) -> u32 {
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.eval(&[Self::with(answer, p, mid)], Round::Bisect)[0] {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    pub(super) fn run(mut self) -> PlanReport {
        let mut lower = BTreeMap::new();
        let Some(top) = self.upper_bound(&mut lower) else {
            self.notes.push(format!(
                "no candidate up to {} nodes per zone meets every goal in every case",
                self.plan.max_count()
            ));
            return self.report(None, lower, true);
        };
        let mut answer = top.clone();
        let mut lows = BTreeMap::new();
        for &p in &self.plan.grow().to_vec() {
            let lb = self.plan.lower_bound(&answer, p).clamp(1, answer[p]);
            let lo = lb - 1;
            lows.insert(p, lo);
            answer[p] = self.bisect(&answer, p, lo, answer[p]);
        }
        let monotone = self.verify(&answer);
        if !monotone {
            for &p in &self.plan.grow().to_vec() {
                match self.scan(&answer, p, lows[&p], top[p]) {
                    Some(c) => answer[p] = c,
                    None => return self.report(None, lower, monotone),
                }
            }
        }
        let found = self
            .index
            .get(&answer)
            .is_some_and(|i| self.trials[*i].passed);
        self.report(found.then_some(answer), lower, monotone)
    }

    /// Step 3: count − 1 fails per pool, +1 and +2 pass, and no tried candidate fails above a
    /// passing one. Notes what breaks.
    fn verify(&mut self, answer: &[u32]) -> bool {
        let max = self.plan.max_count();
        let mut below = Vec::new();
        for &p in self.plan.grow() {
            if answer[p] > 1 {
                below.push(Self::with(answer, p, answer[p] - 1));
            }
        }
        let above: Vec<Vec<u32>> = [1, 2]
            .iter()
            .map(|d| {
                let mut c = answer.to_vec();
                for &p in self.plan.grow() {
                    c[p] = c[p].saturating_add(*d).min(max);
                }
                c
            })
            .collect();
        let mut batch = below.clone();
        batch.extend(above.iter().cloned());
        let passed = self.eval(&batch, Round::Verify);
        let mut ok = true;
        for (c, pass) in below.iter().zip(&passed) {
            if *pass {
                ok = false;
                self.notes.push(format!(
                    "non-monotone or a lower bound that is not one: {} passes below the \
                     bisection's answer",
                    self.label(c)
                ));
            }
        }
        for (c, pass) in above.iter().zip(&passed[below.len()..]) {
            if !pass {
                ok = false;
                self.notes.push(format!(
                    "non-monotone: {} fails above the bisection's answer",
                    self.label(c)
                ));
            }
        }
        for a in self.trials.iter().filter(|t| t.passed) {
            for b in self.trials.iter().filter(|t| !t.passed) {
                if a.counts.iter().zip(&b.counts).all(|(x, y)| x <= y) {
                    ok = false;
                    self.notes.push(format!(
                        "non-monotone: {} passes but {} fails",
                        self.label(&a.counts),
                        self.label(&b.counts)
                    ));
                }
            }
        }
        ok
    }

    /// The fallback: every count of pool `p` in its bracket (from 1 if the count below the
    /// answer passed), the others at `answer`; the smallest count from which every count
    /// tried up to the top passes (`None` if the top fails).
    fn scan(&mut self, answer: &[u32], p: usize, lo: u32, top: u32) -> Option<u32> {
        let below_passed = answer[p] > 1
            && self
                .index
                .get(&Self::with(answer, p, answer[p] - 1))
                .is_some_and(|i| self.trials[*i].passed);
        let from = if below_passed { 1 } else { lo.max(1) };
        let top = top
            .max(answer[p].saturating_add(2))
            .min(self.plan.max_count());
        let to = top.min(from.saturating_add(MAX_SCAN - 1));
        if to < top {
            self.notes.push(format!(
                "the linear scan of {} stopped at {to} (at most {MAX_SCAN} counts)",
                self.plan.pool_name(p)
            ));
        }
        let counts: Vec<u32> = (from..=to).collect();
        let batch: Vec<Vec<u32>> = counts.iter().map(|c| Self::with(answer, p, *c)).collect();
        let passed = self.eval(&batch, Round::Scan);
        if passed.last() != Some(&true) {
            self.notes.push(format!(
                "{} = {to} fails: no count of the bracket is safe",
                self.plan.pool_name(p)
            ));
            return None;
        }
        let mut best = to;
        for (c, ok) in counts.iter().zip(&passed).rev() {
            if !ok {
                break;
            }
            best = *c;
        }
        Some(best)
    }

    fn report(
        self,
        answer: Option<Vec<u32>>,
        lower_bounds: BTreeMap<String, u32>,
        monotone: bool,
    ) -> PlanReport {
        let runs = self.trials.iter().map(|t| t.outcomes.len()).sum();
        let engine_events = self
            .trials
            .iter()
            .flat_map(|t| &t.outcomes)
            .map(|o| o.engine_events)
            .sum();
        PlanReport {
            answer,
            lower_bounds,
            trials: self.trials,
            monotone,
            notes: self.notes,
            runs,
            engine_events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One pool, one case; a candidate passes iff `pass(count)`; runs are recorded.
    struct Fake {
        start: u32,
        lower: u32,
        max: u32,
        pass: fn(u32) -> bool,
    }

    impl Oracle for Fake {
        fn grow(&self) -> &[usize] {
            &[0]
        }
        fn pool_name(&self, _: usize) -> &str {
            "worker"
        }
        fn cases(&self) -> usize {
            1
        }
        fn max_count(&self) -> u32 {
            self.max
        }
        fn start(&self) -> Vec<u32> {
            vec![self.start]
        }
        fn lower_bound(&self, _: &[u32], _: usize) -> u32 {
            self.lower
        }
        fn evaluate(&self, counts: &[u32], _: usize) -> Outcome {
            let passed = (self.pass)(counts[0]);
            Outcome {
                passed,
                min_available_percent: if passed { 100.0 } else { 50.0 },
                goal: String::new(),
                worst: String::new(),
                nodes: counts[0] as usize,
                engine_events: 1,
                error: None,
            }
        }
    }

    fn search(f: &Fake, jobs: usize) -> PlanReport {
        Search::new(f, jobs, &|_, _| {}).run()
    }

    fn tried(r: &PlanReport) -> Vec<(u32, &'static str, bool)> {
        r.trials
            .iter()
            .map(|t| (t.counts[0], t.round.name(), t.passed))
            .collect()
    }

    #[test]
    fn monotone_threshold_is_found_by_doubling_and_bisection_then_verified() {
        let f = Fake {
            start: 2,
            lower: 2,
            max: 100,
            pass: |c| c >= 11,
        };
        let r = search(&f, 1);
        assert_eq!(r.answer, Some(vec![11]));
        assert!(r.monotone, "{:?}", r.notes);
        // 2, 4, 8 fail and 16 passes; bisection of (1, 16]: 8 is known, then 12, 10, 11;
        // verification: 10 (known) fails, 12 (known) and 13 pass.
        assert_eq!(
            tried(&r),
            [
                (2, "start", false),
                (4, "double", false),
                (8, "double", false),
                (16, "double", true),
                (12, "bisect", true),
                (10, "bisect", false),
                (11, "bisect", true),
                (13, "verify", true),
            ]
        );
        // The same trials on three threads.
        assert_eq!(tried(&search(&f, 3)), tried(&r));
    }

    #[test]
    fn a_lower_bound_that_is_too_high_is_caught_and_scanned_below() {
        // The bound claims 10, but 6 is enough: verification finds 9 passing.
        let f = Fake {
            start: 5,
            lower: 10,
            max: 100,
            pass: |c| c >= 6,
        };
        let r = search(&f, 1);
        assert!(!r.monotone);
        assert_eq!(r.answer, Some(vec![6]));
        assert!(
            r.notes.iter().any(|n| n.contains("worker=9 passes")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn a_non_monotone_outcome_falls_back_to_the_smallest_count_safe_above() {
        // 9 fails although 8 passes: the answer is 10, from which every count tried passes.
        let f = Fake {
            start: 5,
            lower: 3,
            max: 100,
            pass: |c| c >= 8 && c != 9,
        };
        let r = search(&f, 1);
        assert!(!r.monotone);
        assert_eq!(r.answer, Some(vec![10]));
        assert!(
            r.notes.iter().any(|n| n.contains("worker=9 fails")),
            "{:?}",
            r.notes
        );
        assert!(tried(&r).iter().any(|t| t.1 == "scan"));
    }

    #[test]
    fn no_answer_when_the_largest_count_fails() {
        let f = Fake {
            start: 3,
            lower: 1,
            max: 20,
            pass: |_| false,
        };
        let r = search(&f, 1);
        assert_eq!(r.answer, None);
        let counts: Vec<u32> = tried(&r).iter().map(|t| t.0).collect();
        assert_eq!(counts, [3, 6, 12, 20]);
    }
}
