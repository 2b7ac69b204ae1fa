//! Target selection: round robin over routable targets with fail-open, and the pick
//! among weighted target groups of a forward action.
//!
//! Weighted forwarding is proportional: a group of weight `w` out of a total `W`
//! receives `w / W` of the requests, and a weight-0 group receives none. When every
//! weight is 0 there is nowhere to send the request: [`pick_weighted`] returns
//! `None` and the data plane answers 503 Service Unavailable, as an ALB does when a
//! forward action has no target to route to.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A round-robin cursor, shared by every worker thread of one target group.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    /// Pick among `n` candidates; `None` when `n == 0`.
    pub fn pick(&self, n: usize) -> Option<usize> {
        if n == 0 {
            return None;
        }
        Some(self.next.fetch_add(1, Ordering::Relaxed) % n)
    }
}

/// Pick the index of a target group by weight (0–999 each); `None` when all weights are 0.
/// `roll` is a uniformly random number supplied by the caller (kept pure for tests).
///
/// The pick is `roll mod total` walked over the cumulative weights; the modulo bias
/// is below 2⁻⁵⁰ for any total an ALB allows (5 groups × 999).
pub fn pick_weighted(weights: &[u32], roll: u64) -> Option<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut point = roll % total;
    for (i, &w) in weights.iter().enumerate() {
        let w = u64::from(w);
        if point < w {
            return Some(i);
        }
        point -= w;
    }
    // Unreachable: `point < total`, the sum of all weights.
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_and_zero_never_picked() {
        let weights = [1, 0, 3];
        let mut counts = [0u32; 3];
        for roll in 0..4000u64 {
            counts[pick_weighted(&weights, roll).expect("non-zero total")] += 1;
        }
        assert_eq!(counts, [1000, 0, 3000]);
    }

    #[test]
    fn all_zero_or_empty_is_none() {
        assert_eq!(pick_weighted(&[0, 0], 7), None);
        assert_eq!(pick_weighted(&[], 7), None);
    }

    #[test]
    fn single_group_always_wins() {
        assert_eq!(pick_weighted(&[999], u64::MAX), Some(0));
        assert_eq!(pick_weighted(&[0, 1], u64::MAX), Some(1));
    }

    #[test]
    fn round_robin_cycles() {
        let rr = RoundRobin::default();
        let picks: Vec<_> = (0..4).map(|_| rr.pick(3)).collect();
        assert_eq!(picks, [Some(0), Some(1), Some(2), Some(0)]);
        assert_eq!(rr.pick(0), None);
    }
}
