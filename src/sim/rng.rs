//! Named, seeded random streams.
//!
//! Invariant: every random draw in a run comes from a ChaCha8 stream derived from
//! (master seed, stable component name), so adding a component never shifts another one's draws.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::time::SimDuration;
use super::trace::{decimal, fnv1a64, fnv1a64_update};

/// The stream for component `name` under `master_seed`.
pub fn stream(master_seed: u64, name: &str) -> ChaCha8Rng {
    stream_from(master_seed, fnv1a64(name.as_bytes()), name.len())
}

fn stream_from(master_seed: u64, name_hash: u64, name_len: usize) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&master_seed.to_le_bytes());
    key[8..16].copy_from_slice(&name_hash.to_le_bytes());
    key[16..24].copy_from_slice(&(name_len as u64).to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// A stream name fed in pieces, for names built per object on a hot path:
/// `StreamName::new().push(a).push(b).stream(seed)` is `stream(seed, a ++ b)` without the string.
#[derive(Clone, Copy, Debug)]
pub struct StreamName {
    hash: u64,
    len: usize,
}

impl Default for StreamName {
    fn default() -> Self {
        StreamName::new()
    }
}

impl StreamName {
    pub fn new() -> StreamName {
        StreamName {
            hash: fnv1a64(b""),
            len: 0,
        }
    }
    pub fn push(self, piece: &str) -> StreamName {
        StreamName {
            hash: fnv1a64_update(self.hash, piece.as_bytes()),
            len: self.len + piece.len(),
        }
    }
    /// Appends `n` in decimal (as `format!("{n}")` writes it).
    pub fn push_u64(self, n: u64) -> StreamName {
        let mut buf = [0u8; 20];
        let d = decimal(n, &mut buf);
        StreamName {
            hash: fnv1a64_update(self.hash, d),
            len: self.len + d.len(),
        }
    }
    pub fn stream(self, master_seed: u64) -> ChaCha8Rng {
        stream_from(master_seed, self.hash, self.len)
    }
}

/// A uniform float in [0, 1) with 53 random bits; portable (no platform math involved).
pub fn unit_f64(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in [0, n) without modulo bias.
pub fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    assert!(n > 0);
    let zone = u64::MAX - (u64::MAX % n) - 1;
    loop {
        let v = rng.next_u64();
        if v <= zone {
            return v % n;
        }
    }
}

/// A uniform duration in [lo, hi] (inclusive), in whole nanoseconds.
pub fn duration_between(rng: &mut ChaCha8Rng, lo: SimDuration, hi: SimDuration) -> SimDuration {
    assert!(lo <= hi);
    let span = hi.0 - lo.0;
    if span == 0 {
        return lo;
    }
    SimDuration(lo.0 + below(rng, span.saturating_add(1)))
}

/// `wait.Jitter(d, factor)`: d + U[0,1) * factor * d, as Kubernetes' jittered loops use.
pub fn jitter(rng: &mut ChaCha8Rng, d: SimDuration, factor: f64) -> SimDuration {
    if factor <= 0.0 {
        return d;
    }
    d + d.mul_f64(factor * unit_f64(rng))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_of_each_other_and_stable() {
        let mut a1 = stream(1, "kubelet/node-a");
        let mut a2 = stream(1, "kubelet/node-a");
        let mut b = stream(1, "kubelet/node-b");
        let mut a_other_seed = stream(2, "kubelet/node-a");
        let x = a1.next_u64();
        assert_eq!(x, a2.next_u64());
        assert_ne!(x, b.next_u64());
        assert_ne!(x, a_other_seed.next_u64());
    }

    #[test]
    fn a_name_fed_in_pieces_names_the_same_stream() {
        for (uid, suffix) in [
            (0u64, ""),
            (7, "/resync"),
            (1234567890123, ""),
            (u64::MAX, "/x"),
        ] {
            let name = format!("kubelet/node-a/podworker/ns/pod-1/{uid}{suffix}");
            let pieces = StreamName::new()
                .push("kubelet/")
                .push("node-a")
                .push("/podworker/ns/pod-1/")
                .push_u64(uid)
                .push(suffix);
            assert_eq!(pieces.stream(9).next_u64(), stream(9, &name).next_u64());
        }
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut r = stream(3, "t");
        let d = SimDuration::from_secs(10);
        for _ in 0..1000 {
            let j = jitter(&mut r, d, 0.04);
            assert!(j >= d && j < SimDuration::from_millis(10_400));
        }
    }

    #[test]
    fn below_covers_range() {
        let mut r = stream(3, "u");
        let mut seen = [false; 5];
        for _ in 0..200 {
            seen[below(&mut r, 5) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
