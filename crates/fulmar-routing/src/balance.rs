//! Target selection and the pick among weighted target groups of a forward action.
//!
//! Targets: the target group's `load_balancing.algorithm.type` decides —
//! `round_robin` (the default: each routable target in turn), `least_outstanding_requests`
//! (the target with the fewest requests in flight; ties go round the cursor) or
//! `weighted_random` (a random pick by weight). Weights come from two things, both
//! computed per pick by [`choose`]:
//! - slow start (`slow_start.duration_seconds`, 30–900, not with least outstanding
//!   requests): a target that just became healthy gets `max(elapsed, 1 s) / duration`
//!   of a full share, rising linearly to 1 when the ramp ends;
//! - anomaly mitigation (`load_balancing.algorithm.anomaly_mitigation`, weighted random
//!   only): a target whose recent failure rate (5XX answers and failed connections, an
//!   exponentially weighted average over its last ~32 requests) is at least 10 % and
//!   at least twice the others' average is *anomalous* and, while fewer than half the
//!   targets are anomalous, gets [`MITIGATED_SHARE`] of a share: it keeps a trickle of
//!   requests, so it leaves the state as soon as it answers well again.
//!
//! With round robin and a target in slow start, the pick is weighted random for as long
//! as any ramp lasts (the same expected shares as a weighted round robin, with no
//! shared schedule to keep).
//!
//! Weighted forwarding is proportional: a group of weight `w` out of a total `W`
//! receives `w / W` of the requests, and a weight-0 group receives none. When every
//! weight is 0 there is nowhere to send the request: [`pick_weighted`] returns
//! `None` and the data plane answers 503 Service Unavailable, as an ALB does when a
//! forward action has no target to route to.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// A target group's `load_balancing.algorithm.type` (with its anomaly-mitigation switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    RoundRobin,
    LeastOutstandingRequests,
    WeightedRandom {
        anomaly_mitigation: bool,
    },
}

impl Algorithm {
    /// From the attribute values (`None` when unset; unknown values, which the API
    /// rejects, fall back to the default).
    pub fn from_attributes(kind: Option<&str>, anomaly_mitigation: Option<&str>) -> Algorithm {
        match kind {
            Some("least_outstanding_requests") => Algorithm::LeastOutstandingRequests,
            Some("weighted_random") => Algorithm::WeightedRandom {
                anomaly_mitigation: anomaly_mitigation == Some("on"),
            },
            _ => Algorithm::RoundRobin,
        }
    }
}

/// The share a mitigated anomalous target keeps, relative to a normal one.
pub const MITIGATED_SHARE: f64 = 0.05;
/// Below this many observed requests a target is never judged anomalous.
const ANOMALY_MIN_SAMPLES: u32 = 20;
/// The failure rate below which a target is never anomalous.
const ANOMALY_MIN_RATE: f64 = 0.10;
const PPM: f64 = 1_000_000.0;

/// Live per-target counters shared by every worker: requests in flight, and the
/// recent failure rate anomaly detection reads.
#[derive(Debug, Default)]
pub struct TargetLoad {
    outstanding: AtomicU32,
    /// Exponentially weighted failure fraction (weight 1/32 per request), in ppm.
    failure_ppm: AtomicU32,
    /// Requests observed, saturating.
    samples: AtomicU32,
}

/// A request in flight to a target: counted until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<TargetLoad>);

impl InFlight {
    /// The target's counters (to record how the request ended).
    pub fn load(&self) -> &TargetLoad {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}

impl TargetLoad {
    /// Count a request to this target as outstanding until the guard drops.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.outstanding.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    pub fn outstanding(&self) -> u32 {
        self.outstanding.load(Ordering::Relaxed)
    }

    /// Record how a request ended: `failed` for a 5XX answer or a failed connection.
    pub fn record(&self, failed: bool) {
        let sample = if failed { PPM as u32 } else { 0 };
        let _ = self
            .failure_ppm
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                let old = i64::from(old);
                Some((old + (i64::from(sample) - old) / 32) as u32)
            });
        let _ = self
            .samples
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_add(1)));
    }

    /// The recent failure rate, 0.0–1.0.
    pub fn failure_rate(&self) -> f64 {
        f64::from(self.failure_ppm.load(Ordering::Relaxed)) / PPM
    }

    fn judged(&self) -> bool {
        self.samples.load(Ordering::Relaxed) >= ANOMALY_MIN_SAMPLES
    }
}

/// Which of `loads` are anomalous: a failure rate of at least 10 % and at least twice
/// the average of the other targets.
pub fn anomalous(loads: &[&TargetLoad]) -> Vec<bool> {
    let rates: Vec<f64> = loads.iter().map(|l| l.failure_rate()).collect();
    let total: f64 = rates.iter().sum();
    loads
        .iter()
        .zip(&rates)
        .map(|(load, &rate)| {
            if loads.len() < 2 || !load.judged() || rate < ANOMALY_MIN_RATE {
                return false;
            }
            let others = (total - rate) / (loads.len() - 1) as f64;
            rate >= 2.0 * others
        })
        .collect()
}

/// A target's slow-start ramp: when it began and how long it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ramp {
    pub since: Instant,
    pub duration: Duration,
}

impl Ramp {
    /// The fraction of a full share at `now`: `max(elapsed, 1 s) / duration`, capped at 1.
    pub fn share(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.since).max(Duration::from_secs(1));
        (elapsed.as_secs_f64() / self.duration.as_secs_f64().max(1.0)).min(1.0)
    }

    pub fn over(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.since) >= self.duration
    }
}

/// One routable target as [`choose`] sees it: its live load and its slow-start ramp.
/// The data plane implements it for its routable list, so a pick builds nothing.
pub trait Candidate {
    fn load(&self) -> &TargetLoad;
    /// The slow-start ramp it is on, if any.
    fn ramp(&self) -> Option<Ramp>;
}

/// Pick the index of a target among `candidates` by `algorithm`; `None` when empty.
/// `cursor` is the group's round-robin cursor, `roll` a uniform random number.
pub fn choose(
    algorithm: Algorithm,
    candidates: &[impl Candidate],
    cursor: &RoundRobin,
    roll: u64,
    now: Instant,
) -> Option<usize> {
    let n = candidates.len();
    if n <= 1 {
        return (n == 1).then_some(0);
    }
    match algorithm {
        Algorithm::LeastOutstandingRequests => {
            let start = cursor.pick(n)?;
            (0..n)
                .map(|k| (start + k) % n)
                .min_by_key(|&i| candidates[i].load().outstanding())
        }
        Algorithm::RoundRobin if candidates.iter().all(|c| c.ramp().is_none_or(|r| r.over(now))) => cursor.pick(n),
        Algorithm::RoundRobin => weighted_random(candidates.iter().map(|c| ramp_share(c, now)), roll),
        Algorithm::WeightedRandom { anomaly_mitigation } => {
            let flagged = if anomaly_mitigation {
                let loads: Vec<&TargetLoad> = candidates.iter().map(|c| c.load()).collect();
                let flagged = anomalous(&loads);
                // Mitigation holds back only while most targets answer normally.
                let count = flagged.iter().filter(|&&a| a).count();
                if count * 2 < n {
                    flagged
                } else {
                    vec![false; n]
                }
            } else {
                vec![false; n]
            };
            let weights = candidates.iter().zip(&flagged).map(|(c, &anomalous)| {
                let share = ramp_share(c, now);
                if anomalous {
                    share * MITIGATED_SHARE
                } else {
                    share
                }
            });
            weighted_random(weights, roll)
        }
    }
}

fn ramp_share(candidate: &impl Candidate, now: Instant) -> f64 {
    candidate.ramp().map_or(1.0, |r| r.share(now))
}

/// The index picked by `roll` over non-negative `weights`; `None` when they sum to 0.
fn weighted_random(weights: impl Iterator<Item = f64> + Clone, roll: u64) -> Option<usize> {
    let total: f64 = weights.clone().sum();
    if total <= 0.0 {
        return None;
    }
    // 53 random bits → a uniform point in [0, total).
    let mut point = (roll >> 11) as f64 / (1u64 << 53) as f64 * total;
    let mut last = None;
    for (i, w) in weights.enumerate() {
        if w <= 0.0 {
            continue;
        }
        if point < w {
            return Some(i);
        }
        point -= w;
        last = Some(i);
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loads(n: usize) -> Vec<Arc<TargetLoad>> {
        (0..n).map(|_| Arc::new(TargetLoad::default())).collect()
    }

    /// A target as the tests see it.
    #[derive(Clone, Copy)]
    struct Entry<'a> {
        load: &'a TargetLoad,
        ramp: Option<Ramp>,
    }

    impl Candidate for Entry<'_> {
        fn load(&self) -> &TargetLoad {
            self.load
        }
        fn ramp(&self) -> Option<Ramp> {
            self.ramp
        }
    }

    fn candidates(loads: &[Arc<TargetLoad>]) -> Vec<Entry<'_>> {
        loads.iter().map(|l| Entry { load: l, ramp: None }).collect()
    }

    #[test]
    fn algorithm_from_attributes() {
        assert_eq!(Algorithm::from_attributes(None, None), Algorithm::RoundRobin);
        assert_eq!(
            Algorithm::from_attributes(Some("least_outstanding_requests"), None),
            Algorithm::LeastOutstandingRequests
        );
        assert_eq!(
            Algorithm::from_attributes(Some("weighted_random"), Some("on")),
            Algorithm::WeightedRandom {
                anomaly_mitigation: true
            }
        );
        assert_eq!(
            Algorithm::from_attributes(Some("weighted_random"), Some("off")),
            Algorithm::WeightedRandom {
                anomaly_mitigation: false
            }
        );
    }

    #[test]
    fn least_outstanding_picks_the_idlest_and_counts_in_flight() {
        let l = loads(3);
        let _a = l[0].begin();
        let _b = l[0].begin();
        let c = l[2].begin();
        let cursor = RoundRobin::default();
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(
                choose(Algorithm::LeastOutstandingRequests, &candidates(&l), &cursor, 0, now),
                Some(1)
            );
        }
        let _d = l[1].begin();
        let _e = l[1].begin();
        assert_eq!(
            choose(Algorithm::LeastOutstandingRequests, &candidates(&l), &cursor, 0, now),
            Some(2)
        );
        drop(c);
        assert_eq!(l[2].outstanding(), 0);
    }

    #[test]
    fn least_outstanding_ties_rotate() {
        let l = loads(3);
        let cursor = RoundRobin::default();
        let now = Instant::now();
        let picks: Vec<_> = (0..3)
            .map(|_| choose(Algorithm::LeastOutstandingRequests, &candidates(&l), &cursor, 0, now))
            .collect();
        assert_eq!(picks, [Some(0), Some(1), Some(2)]);
    }

    #[test]
    fn slow_start_ramps_linearly() {
        let now = Instant::now();
        let ramp = Ramp {
            since: now,
            duration: Duration::from_secs(100),
        };
        assert!((ramp.share(now) - 0.01).abs() < 1e-9);
        assert!((ramp.share(now + Duration::from_secs(50)) - 0.5).abs() < 1e-9);
        assert_eq!(ramp.share(now + Duration::from_secs(500)), 1.0);
        assert!(!ramp.over(now + Duration::from_secs(99)));
        assert!(ramp.over(now + Duration::from_secs(100)));
    }

    #[test]
    fn round_robin_with_a_ramping_target_gives_it_its_share() {
        let l = loads(2);
        let now = Instant::now();
        let ramp = Ramp {
            since: now,
            duration: Duration::from_secs(100),
        };
        let mut c = candidates(&l);
        c[1].ramp = Some(ramp);
        let cursor = RoundRobin::default();
        let at = now + Duration::from_secs(25);
        let mut counts = [0u32; 2];
        for k in 0..10_000u64 {
            let roll = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            counts[choose(Algorithm::RoundRobin, &c, &cursor, roll, at).unwrap()] += 1;
        }
        // Shares 1 : 0.25 → 80 % : 20 %.
        assert!((1900..2100).contains(&counts[1]), "{counts:?}");
    }

    #[test]
    fn anomalous_target_is_mitigated_and_recovers() {
        let l = loads(4);
        for _ in 0..100 {
            l[0].record(true);
            for other in &l[1..] {
                other.record(false);
            }
        }
        let refs: Vec<&TargetLoad> = l.iter().map(|a| &**a).collect();
        assert_eq!(anomalous(&refs), [true, false, false, false]);
        let cursor = RoundRobin::default();
        let now = Instant::now();
        let algo = Algorithm::WeightedRandom {
            anomaly_mitigation: true,
        };
        let mut hits = 0;
        for k in 0..10_000u64 {
            let roll = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            if choose(algo, &candidates(&l), &cursor, roll, now) == Some(0) {
                hits += 1;
            }
        }
        // 0.05 / 3.05 of the picks ≈ 164.
        assert!((80..300).contains(&hits), "{hits}");
        // Without mitigation it keeps a full quarter.
        let plain = Algorithm::WeightedRandom {
            anomaly_mitigation: false,
        };
        let hits = (0..10_000u64)
            .filter(|k| {
                choose(
                    plain,
                    &candidates(&l),
                    &cursor,
                    k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    now,
                ) == Some(0)
            })
            .count();
        assert!((2300..2700).contains(&hits), "{hits}");
        for _ in 0..200 {
            l[0].record(false);
        }
        let refs: Vec<&TargetLoad> = l.iter().map(|a| &**a).collect();
        assert_eq!(anomalous(&refs), [false; 4]);
    }

    #[test]
    fn no_mitigation_when_half_the_targets_are_anomalous() {
        let l = loads(2);
        for _ in 0..100 {
            l[0].record(true);
            l[1].record(false);
        }
        let cursor = RoundRobin::default();
        let now = Instant::now();
        let algo = Algorithm::WeightedRandom {
            anomaly_mitigation: true,
        };
        let hits = (0..10_000u64)
            .filter(|k| {
                choose(
                    algo,
                    &candidates(&l),
                    &cursor,
                    k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    now,
                ) == Some(0)
            })
            .count();
        assert!((4500..5500).contains(&hits), "{hits}");
    }

    #[test]
    fn too_few_samples_are_never_anomalous() {
        let l = loads(3);
        for _ in 0..5 {
            l[0].record(true);
        }
        let refs: Vec<&TargetLoad> = l.iter().map(|a| &**a).collect();
        assert_eq!(anomalous(&refs), [false; 3]);
    }

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
