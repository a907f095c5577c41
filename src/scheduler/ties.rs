//! `selectHost`'s draws without 64-bit division: the reservoir draw among k equal top scores
//! is `rng::below(k)`, which divides twice (`u64::MAX % k` for its rejection zone and
//! `v % k`). x86-64's 64-bit `div` costs 40–90 cycles and a 5,000-node cycle may see hundreds of
//! ties, so the scheduler keeps, per k, the rejection zone and Lemire's 128-bit reciprocal
//! (`fastmod_u64`, "Faster Remainder by Direct Computation", 2019), computed once. The
//! `Reservoir` runs `selectHost` one node at a time, for cycles that find their totals in
//! passes of their own.
//!
//! Architecture invariant: `Ties::below(rng, k)` returns exactly `rng::below(rng, k)` and
//! consumes the same draws; only the arithmetic differs.

use rand::RngCore;
use rand_chacha::ChaCha8Rng;

/// Per divisor k (index k − 1): the largest accepted draw and ⌈2^128 / k⌉ (wrapping to 0 for
/// k = 1, where every remainder is 0).
#[derive(Clone, Debug, Default)]
pub struct Ties {
    table: Vec<(u64, u128)>,
}

impl Ties {
    /// The (zone, multiplier) of `k`: a table read on the hot path (every draw of a cycle's
    /// reservoir), the table grown out of line the first time a `k` is seen.
    #[inline(always)]
    fn entry(&mut self, k: u64) -> (u64, u128) {
        if (self.table.len() as u64) < k {
            self.grow(k);
        }
        self.table[(k - 1) as usize]
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, k: u64) {
        while (self.table.len() as u64) < k {
            let n = self.table.len() as u64 + 1;
            let zone = u64::MAX - (u64::MAX % n) - 1;
            let m = (u128::MAX / u128::from(n)).wrapping_add(1);
            self.table.push((zone, m));
        }
    }

    /// `rng::below(rng, k)`.
    pub fn below(&mut self, rng: &mut ChaCha8Rng, k: u64) -> u64 {
        assert!(k > 0);
        let (zone, m) = self.entry(k);
        loop {
            let v = rng.next_u64();
            if v <= zone {
                return fastmod(v, m, k);
            }
        }
    }

    /// `rng::below(rng, k) == 0`, the reservoir's question, with the same draws: a remainder is
    /// 0 exactly when the low 128 bits of m·v are below m (Lemire, Kaser and Kurz,
    /// "Faster Remainder by Direct Computation", divisibility test), one multiplication
    /// instead of `fastmod`'s three.
    #[inline]
    pub fn draws_zero(&mut self, rng: &mut ChaCha8Rng, k: u64) -> bool {
        assert!(k > 0);
        let (zone, m) = self.entry(k);
        loop {
            let v = rng.next_u64();
            if v <= zone {
                return divisible(v, m);
            }
        }
    }

    /// `select_host` with these draws.
    pub fn select_host(&mut self, totals: &[i64], rng: &mut ChaCha8Rng) -> usize {
        let mut best: Option<(i64, usize)> = None;
        let mut ties = 0u64;
        for (j, &total) in totals.iter().enumerate() {
            match best {
                Some((b, _)) if total < b => {}
                Some((b, _)) if total == b => {
                    ties += 1;
                    if self.draws_zero(rng, ties) {
                        best = Some((total, j));
                    }
                }
                _ => {
                    best = Some((total, j));
                    ties = 1;
                }
            }
        }
        best.map_or(0, |b| b.1)
    }
}

/// `selectHost`'s reservoir run one node at a time (`Ties::select_host` as the nodes come):
/// the same draws in the same order as over the finished score vector.
#[derive(Default)]
pub struct Reservoir {
    /// The top total and the position of the node holding it.
    pub best: Option<(i64, usize)>,
    tied: u64,
}

impl Reservoir {
    // Always inlined: it runs once per feasible node in the walk and in `spread::select`
    // (out of line it cost ~1.4 % of the zp300 instructions).
    #[inline(always)]
    pub fn offer(&mut self, total: i64, idx: usize, ties: &mut Ties, rng: &mut ChaCha8Rng) {
        match self.best {
            Some((b, _)) if total < b => {}
            Some((b, _)) if total == b => {
                self.tied += 1;
                if ties.draws_zero(rng, self.tied) {
                    self.best = Some((total, idx));
                }
            }
            _ => {
                self.best = Some((total, idx));
                self.tied = 1;
            }
        }
    }
}

/// `a % d == 0` from `m` = ⌈2^128 / d⌉ (0 for d = 1, where m − 1 wraps to 2^128 − 1).
#[inline]
fn divisible(a: u64, m: u128) -> bool {
    m.wrapping_mul(u128::from(a)) <= m.wrapping_sub(1)
}

/// `a % d` from `m` = ⌈2^128 / d⌉: the high 64 bits of (m·a mod 2^128)·d.
fn fastmod(a: u64, m: u128, d: u64) -> u64 {
    let low = m.wrapping_mul(u128::from(a));
    let bottom = ((low & u128::from(u64::MAX)) * u128::from(d)) >> 64;
    let top = (low >> 64) * u128::from(d);
    ((bottom + top) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng;

    // The same values and the same stream position as `rng::below`, for every k a cycle can
    // see and some far beyond.
    #[test]
    fn below_equals_rng_below() {
        let mut ties = Ties::default();
        let mut a = rng::stream(5, "t");
        let mut b = rng::stream(5, "t");
        let ks = (1..=6000u64).chain([1 << 31, (1 << 32) + 7, u64::MAX / 3, u64::MAX]);
        for k in ks {
            if k > 100_000 {
                // Large k: check the arithmetic directly on raw draws.
                let v = a.next_u64();
                assert_eq!(v, b.next_u64());
                let m = (u128::MAX / u128::from(k)).wrapping_add(1);
                assert_eq!(fastmod(v, m, k), v % k, "k={k}");
                continue;
            }
            for _ in 0..3 {
                assert_eq!(ties.below(&mut a, k), rng::below(&mut b, k), "k={k}");
            }
        }
        assert_eq!(a.next_u64(), b.next_u64());
    }

    // The divisibility test agrees with `%` on remainders around every multiple, for small,
    // power-of-two, odd and huge divisors; `draws_zero` consumes the stream as `rng::below`.
    #[test]
    fn draws_zero_equals_below_is_zero() {
        let mut ks: Vec<u64> = (1..=3000).collect();
        ks.extend([
            1 << 20,
            1 << 32,
            (1 << 32) + 1,
            1 << 63,
            u64::MAX / 3,
            u64::MAX - 1,
        ]);
        ks.extend([u64::MAX]);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for &k in &ks {
            let m = (u128::MAX / u128::from(k)).wrapping_add(1);
            let mut vs = vec![0, 1, k - 1, k, u64::MAX, u64::MAX - 1];
            for q in [1u64, 2, 3, 1000, u64::MAX / k] {
                if let Some(p) = q.checked_mul(k) {
                    vs.extend([p - 1, p, p.saturating_add(1)]);
                }
            }
            for _ in 0..50 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                vs.push(x);
                vs.push(x - x % k);
            }
            for v in vs {
                assert_eq!(divisible(v, m), v % k == 0, "{v} % {k}");
            }
        }
        let mut ties = Ties::default();
        let mut a = rng::stream(11, "t");
        let mut b = rng::stream(11, "t");
        // (The table grows to k entries: the stream check stays with the k a cycle can see.)
        for k in 1..=6000u64 {
            for _ in 0..3 {
                assert_eq!(
                    ties.draws_zero(&mut a, k),
                    rng::below(&mut b, k) == 0,
                    "k={k}"
                );
            }
        }
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn select_host_equals_the_plain_one() {
        let totals: Vec<i64> = (0..2000).map(|i| [300, 299, 300, 250][i % 4]).collect();
        let mut ties = Ties::default();
        let mut a = rng::stream(9, "s");
        let mut b = rng::stream(9, "s");
        for _ in 0..50 {
            assert_eq!(
                ties.select_host(&totals, &mut a),
                crate::scheduler::select_host(&totals, &mut b)
            );
        }
    }
}
