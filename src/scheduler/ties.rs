//! `selectHost`'s draws without 64-bit division: the reservoir draw among k equal top scores
//! is `rng::below(k)`, which divides twice (`u64::MAX % k` for its rejection zone and
//! `v % k`). x86-64's 64-bit `div` costs 40–90 cycles and a 5,000-node cycle may see hundreds of
//! ties, so the scheduler keeps, per k, the rejection zone and Lemire's 128-bit reciprocal
//! (`fastmod_u64`, "Faster Remainder by Direct Computation", 2019), computed once.
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
    fn entry(&mut self, k: u64) -> (u64, u128) {
        while (self.table.len() as u64) < k {
            let n = self.table.len() as u64 + 1;
            let zone = u64::MAX - (u64::MAX % n) - 1;
            let m = (u128::MAX / u128::from(n)).wrapping_add(1);
            self.table.push((zone, m));
        }
        self.table[(k - 1) as usize]
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

    /// `select_host` with these draws.
    pub fn select_host(&mut self, totals: &[i64], rng: &mut ChaCha8Rng) -> usize {
        let mut best: Option<(i64, usize)> = None;
        let mut ties = 0u64;
        for (j, &total) in totals.iter().enumerate() {
            match best {
                Some((b, _)) if total < b => {}
                Some((b, _)) if total == b => {
                    ties += 1;
                    if self.below(rng, ties) == 0 {
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
