//! The search of `kubesim plan` (the steps are in `plan.rs`'s header): rounds of candidates,
//! each round's candidates × cases run at once, every candidate run at most once.
//!
//! Invariant: which candidates a round tries depends only on earlier rounds' outcomes, never
//! on the thread count or on which run finished first.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;

use super::{run_pairs, Counter, Plan, PlanReport, Round, Trial};

/// The longest linear scan of one pool's bracket (counts).
const MAX_SCAN: u32 = 256;

pub(super) struct Search<'a> {
    plan: &'a Plan,
    pool: Option<rayon::ThreadPool>,
    progress: &'a (dyn Fn(usize, &str) + Sync),
    counter: Counter,
    trials: Vec<Trial>,
    index: BTreeMap<Vec<u32>, usize>,
    notes: Vec<String>,
}

impl<'a> Search<'a> {
    pub(super) fn new(
        plan: &'a Plan,
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
            counter: Counter(AtomicUsize::new(0)),
            trials: Vec::new(),
            index: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    fn label(&self, counts: &[u32]) -> String {
        self.plan
            .grow
            .iter()
            .map(|p| format!("{}={}", self.plan.pools[*p].name, counts[*p]))
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
        let ncases = self.plan.cases.len();
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
        let max = self.plan.max_count;
        let mut hi = self.plan.scenario_counts();
        for &p in &self.plan.grow {
            let lb = self.plan.lower_bound(&hi, p).min(max);
            lower.insert(self.plan.pools[p].name.clone(), lb);
            hi[p] = hi[p].max(lb).min(max);
        }
        let mut round = Round::Start;
        loop {
            if self.eval(std::slice::from_ref(&hi), round)[0] {
                return Some(hi);
            }
            if self.plan.grow.iter().all(|&p| hi[p] >= max) {
                return None;
            }
            for &p in &self.plan.grow {
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
                self.plan.max_count
            ));
            return self.report(None, lower, true);
        };
        let mut answer = top.clone();
        let mut lows = BTreeMap::new();
        for &p in &self.plan.grow.clone() {
            let lb = self.plan.lower_bound(&answer, p).clamp(1, answer[p]);
            let lo = lb - 1;
            lows.insert(p, lo);
            answer[p] = self.bisect(&answer, p, lo, answer[p]);
        }
        let monotone = self.verify(&answer);
        if !monotone {
            for &p in &self.plan.grow.clone() {
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
        let max = self.plan.max_count;
        let mut below = Vec::new();
        for &p in &self.plan.grow {
            if answer[p] > 1 {
                below.push(Self::with(answer, p, answer[p] - 1));
            }
        }
        let above: Vec<Vec<u32>> = [1, 2]
            .iter()
            .map(|d| {
                let mut c = answer.to_vec();
                for &p in &self.plan.grow {
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
                    "non-monotone: {} passes below the bisection's answer",
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
            .min(self.plan.max_count);
        let to = top.min(from.saturating_add(MAX_SCAN - 1));
        if to < top {
            self.notes.push(format!(
                "the linear scan of {} stopped at {to} (at most {MAX_SCAN} counts)",
                self.plan.pools[p].name
            ));
        }
        let counts: Vec<u32> = (from..=to).collect();
        let batch: Vec<Vec<u32>> = counts.iter().map(|c| Self::with(answer, p, *c)).collect();
        let passed = self.eval(&batch, Round::Scan);
        if passed.last() != Some(&true) {
            self.notes.push(format!(
                "{} = {to} fails: no count of the bracket is safe",
                self.plan.pools[p].name
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
