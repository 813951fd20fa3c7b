//! Determinism: one global seed, and an independent random stream per rule.
//!
//! A rule's stream is ChaCha12 seeded with `SHA-256("cogcheck-fault-stream/1" ‖ seed ‖ rule id)`.
//! A rule draws once each time it selects a request (whether or not it then fires), and never
//! for another rule's requests, so adding, removing or reordering rules leaves every other
//! rule's draws exactly as they were. With sequential clients the same seed gives the same
//! decisions, request by request; with concurrent clients the same sequence of draws per rule.
//!
//! A rule with `key = "Username"` does not use its stream to decide: its draw is
//! `SHA-256("cogcheck-fault-key/1" ‖ seed ‖ rule id ‖ value)` read as a number in [0, 1), so
//! one username always fails (or never does), whatever the order of requests.

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256};

/// The random stream of a rule.
pub fn stream(seed: u64, rule_id: &str) -> ChaCha12Rng {
    let mut h = Sha256::new();
    h.update(b"cogcheck-fault-stream/1");
    h.update(seed.to_le_bytes());
    h.update(rule_id.as_bytes());
    let digest: [u8; 32] = h.finalize().into();
    ChaCha12Rng::from_seed(digest)
}

/// The draw of a keyed rule for one key value, in [0, 1).
pub fn keyed(seed: u64, rule_id: &str, value: &str) -> f64 {
    let mut h = Sha256::new();
    h.update(b"cogcheck-fault-key/1");
    h.update(seed.to_le_bytes());
    h.update((rule_id.len() as u64).to_le_bytes());
    h.update(rule_id.as_bytes());
    h.update(value.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 53 bits: every value is an exact f64 in [0, 1).
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_depend_on_seed_and_rule_only() {
        let a: Vec<f64> = (0..5)
            .map(|_| 0.0)
            .scan(stream(1, "a"), |r, _| Some(r.gen()))
            .collect();
        let again: Vec<f64> = (0..5)
            .map(|_| 0.0)
            .scan(stream(1, "a"), |r, _| Some(r.gen()))
            .collect();
        let other_rule: Vec<f64> = (0..5)
            .map(|_| 0.0)
            .scan(stream(1, "b"), |r, _| Some(r.gen()))
            .collect();
        let other_seed: Vec<f64> = (0..5)
            .map(|_| 0.0)
            .scan(stream(2, "a"), |r, _| Some(r.gen()))
            .collect();
        assert_eq!(a, again);
        assert_ne!(a, other_rule);
        assert_ne!(a, other_seed);
    }

    #[test]
    fn keyed_draws_are_stable_and_spread() {
        assert_eq!(keyed(7, "r", "alice"), keyed(7, "r", "alice"));
        assert_ne!(keyed(7, "r", "alice"), keyed(7, "r", "bob"));
        let n = 10_000;
        let below = (0..n)
            .filter(|i| keyed(7, "r", &format!("user{i}")) < 0.25)
            .count();
        assert!((2300..2700).contains(&below), "{below}");
    }

    #[test]
    fn streams_are_unbiased_across_rules() {
        // 200 rules × 2,000 draws at p = 0.02: 8,000 expected, standard deviation about 89.
        let fired: usize = (0..200)
            .map(|i| {
                let mut r = stream(1, &format!("rule-{i}"));
                (0..2000).filter(|_| r.gen::<f64>() < 0.02).count()
            })
            .sum();
        assert!((7650..=8350).contains(&fired), "{fired}");
    }
}
