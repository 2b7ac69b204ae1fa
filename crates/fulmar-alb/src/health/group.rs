//! One target group's live health: trackers, draining targets, and the routable list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use fulmar_model::{HealthCheck, Target, TargetGroup};
use fulmar_routing::balance::{Candidate, Ramp, RoundRobin, TargetLoad};
use fulmar_routing::health::{Probe, State, TargetHealth, Tracker};

use crate::snapshot::attribute;

/// The target group's `deregistration_delay.timeout_seconds` default.
const DEFAULT_DEREGISTRATION_DELAY_SECONDS: u64 = 300;

/// One target new requests may go to, with its live load and its slow-start ramp.
#[derive(Debug, Clone)]
pub(crate) struct Routable {
    pub target: Target,
    pub load: Arc<TargetLoad>,
    pub ramp: Option<Ramp>,
}

impl Candidate for Routable {
    fn load(&self) -> &TargetLoad {
        &self.load
    }
    fn ramp(&self) -> Option<Ramp> {
        self.ramp
    }
}

/// How a target group's targets are judged, decided per snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No listener or rule of a load balancer forwards to the group.
    NotInUse,
    /// Health checks run; trackers decide.
    Checking,
    /// Health checks are disabled: every target is `unavailable` and routable.
    Disabled,
    /// Target type not served yet (`instance`, `lambda`, `alb`).
    Unsupported,
}

/// Live health of one target group; shared by the snapshot, the checker and the board.
pub(crate) struct GroupHealth {
    arn: String,
    state: Mutex<GroupState>,
    /// Targets new requests may go to (see the module docs); read lock-free per request.
    routable: ArcSwap<Vec<Routable>>,
    /// The round-robin cursor over `routable`.
    pub round_robin: RoundRobin,
}

struct GroupState {
    mode: Mode,
    registered: Vec<Target>,
    trackers: HashMap<Target, Tracker>,
    /// Deregistered targets and when their draining ends.
    draining: Vec<(Target, Instant)>,
    warned_unsupported: bool,
    /// In-flight counts and failure rates, kept while a target stays registered.
    loads: HashMap<Target, Arc<TargetLoad>>,
    /// `slow_start.duration_seconds` (zero: off).
    slow_start: Duration,
    /// Targets ramping up after becoming healthy.
    ramps: HashMap<Target, Ramp>,
}

impl GroupHealth {
    pub fn new(arn: &str) -> GroupHealth {
        GroupHealth {
            arn: arn.to_owned(),
            state: Mutex::new(GroupState {
                mode: Mode::NotInUse,
                registered: Vec::new(),
                trackers: HashMap::new(),
                draining: Vec::new(),
                warned_unsupported: false,
                loads: HashMap::new(),
                slow_start: Duration::ZERO,
                ramps: HashMap::new(),
            }),
            routable: ArcSwap::from_pointee(Vec::new()),
            round_robin: RoundRobin::default(),
        }
    }

    /// Take in a new snapshot of the group; returns how its targets are now judged.
    /// Targets that left the group start draining; targets that (re)joined start
    /// `initial`; trackers of targets that stayed keep their history.
    pub fn reconcile(&self, tg: &TargetGroup, in_use: bool, now: Instant) -> Mode {
        let mode = if !in_use {
            Mode::NotInUse
        } else if tg.target_type != "ip" {
            Mode::Unsupported
        } else if !tg.health_check.enabled {
            Mode::Disabled
        } else {
            Mode::Checking
        };
        let delay = Duration::from_secs(
            attribute(&tg.attributes, "deregistration_delay.timeout_seconds")
                .unwrap_or(DEFAULT_DEREGISTRATION_DELAY_SECONDS),
        );
        let mut st = crate::lock(&self.state);
        if mode == Mode::Unsupported && !st.warned_unsupported {
            st.warned_unsupported = true;
            tracing::warn!(target_group = %self.arn, target_type = %tg.target_type,
                "only target type `ip` is served; requests to this target group get 503");
        }
        if mode != Mode::Checking || st.mode != Mode::Checking {
            st.trackers.clear();
        }
        let was_serving = st.mode != Mode::NotInUse;
        let old = std::mem::replace(&mut st.registered, tg.targets.clone());
        for gone in old.iter().filter(|t| !tg.targets.contains(t)) {
            if was_serving && !delay.is_zero() && !st.draining.iter().any(|(d, _)| d == gone) {
                st.draining.push((gone.clone(), now + delay));
            }
        }
        st.draining.retain(|(t, until)| *until > now && !tg.targets.contains(t));
        st.trackers.retain(|t, _| tg.targets.contains(t));
        st.loads.retain(|t, _| tg.targets.contains(t));
        st.slow_start = Duration::from_secs(attribute(&tg.attributes, "slow_start.duration_seconds").unwrap_or(0));
        if st.slow_start.is_zero() || mode != Mode::Checking {
            st.ramps.clear();
        }
        st.ramps.retain(|t, _| tg.targets.contains(t));
        for t in &tg.targets {
            st.loads.entry(t.clone()).or_default();
        }
        if mode == Mode::Checking {
            for t in &tg.targets {
                st.trackers.entry(t.clone()).or_default();
            }
        }
        st.mode = mode;
        self.publish_routable(&st);
        mode
    }

    /// Feed one probe result of `target` into its tracker (ignored if it left the group).
    pub fn observe(&self, target: &Target, probe: Probe, check: &HealthCheck) {
        let mut st = crate::lock(&self.state);
        let Some(tracker) = st.trackers.get_mut(target) else {
            return;
        };
        let before = tracker.health().state;
        let after = tracker.observe(probe, check).state;
        if before != after {
            self.ramp_on_change(&mut st, target, after);
            tracing::info!(target_group = %self.arn, target = %target.id, port = target.port,
                from = before.as_str(), to = after.as_str(), "target health changed");
            self.publish_routable(&st);
        }
    }

    /// Slow start: a target that turns healthy ramps up while another healthy target
    /// is at full share; one that turns unhealthy leaves its ramp.
    fn ramp_on_change(&self, st: &mut GroupState, target: &Target, now_state: State) {
        if now_state != State::Healthy {
            st.ramps.remove(target);
            return;
        }
        if st.slow_start.is_zero() {
            return;
        }
        let now = Instant::now();
        let full_share_peer = st.trackers.iter().any(|(t, tracker)| {
            t != target && tracker.health().state == State::Healthy && st.ramps.get(t).is_none_or(|r| r.over(now))
        });
        if full_share_peer {
            let ramp = Ramp {
                since: now,
                duration: st.slow_start,
            };
            tracing::info!(target_group = %self.arn, target = %target.id, port = target.port,
                seconds = st.slow_start.as_secs(), "target in slow start");
            st.ramps.insert(target.clone(), ramp);
        }
    }

    /// The targets new requests may go to, for the current instant.
    pub fn routable(&self) -> Arc<Vec<Routable>> {
        self.routable.load_full()
    }

    pub fn target_health(&self, target: &Target) -> TargetHealth {
        let st = crate::lock(&self.state);
        if st.registered.contains(target) {
            return match st.mode {
                Mode::NotInUse => TargetHealth::not_in_use(),
                Mode::Disabled => TargetHealth::check_disabled(),
                Mode::Unsupported => TargetHealth {
                    state: State::Unused,
                    reason: Some("Target.InvalidState"),
                    description: Some("Fulmar serves only targets of type ip".into()),
                },
                Mode::Checking => match st.trackers.get(target) {
                    Some(tracker) => tracker.health().clone(),
                    None => Tracker::new().health().clone(),
                },
            };
        }
        let now = Instant::now();
        if st.draining.iter().any(|(t, until)| t == target && *until > now) {
            return TargetHealth::draining();
        }
        TargetHealth::not_registered()
    }

    pub fn draining(&self) -> Vec<Target> {
        let now = Instant::now();
        let st = crate::lock(&self.state);
        st.draining
            .iter()
            .filter(|(_, until)| *until > now)
            .map(|(t, _)| t.clone())
            .collect()
    }

    fn publish_routable(&self, st: &GroupState) {
        let targets = match st.mode {
            Mode::Unsupported => Vec::new(),
            Mode::NotInUse | Mode::Disabled => st.registered.clone(),
            Mode::Checking => {
                let healthy: Vec<Target> = st
                    .registered
                    .iter()
                    .filter(|t| st.trackers.get(*t).is_some_and(Tracker::routable))
                    .cloned()
                    .collect();
                if healthy.is_empty() {
                    st.registered.clone() // fail open
                } else {
                    healthy
                }
            }
        };
        let list = targets
            .into_iter()
            .map(|target| Routable {
                load: st.loads.get(&target).cloned().unwrap_or_default(),
                ramp: st.ramps.get(&target).copied(),
                target,
            })
            .collect();
        self.routable.store(Arc::new(list));
    }
}
