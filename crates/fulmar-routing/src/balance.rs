//! Target selection: round robin over routable targets with fail-open, and the pick
//! among weighted target groups of a forward action.

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
pub fn pick_weighted(weights: &[u32], roll: u64) -> Option<usize> {
    todo!()
}
