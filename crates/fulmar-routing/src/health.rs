//! Target health: the state machine driven by health-check probes, and the states and
//! reason codes DescribeTargetHealth reports.
//!
//! Transitions ([`Tracker::observe`]), with the target group's thresholds:
//! - `initial` (`Elb.InitialHealthChecking`) → `healthy` on the first success: the
//!   ALB guide says a registered target "must pass one health check to be considered
//!   healthy". `UnhealthyThresholdCount` consecutive failures → `unhealthy`.
//! - `healthy` → `unhealthy` after `UnhealthyThresholdCount` consecutive failures.
//! - `unhealthy` → `healthy` after `HealthyThresholdCount` consecutive successes;
//!   while unhealthy, reason and description follow the latest failure.
//! - Checks disabled → `unavailable` (`Target.HealthCheckDisabled`); re-enabled →
//!   back to `initial`. `draining` and `unused` are set by the control plane
//!   ([`Tracker::drain`], [`TargetHealth::not_registered`], [`TargetHealth::not_in_use`])
//!   and ignore probes.
//!
//! Routing: a target is [`Tracker::routable`] when healthy or unavailable (checks
//! disabled). When no target of a group is routable the data plane fails open over
//! every target whose [`State::fail_open_eligible`] holds (initial, unhealthy), as
//! AWS routes to all targets when none is healthy. Thresholds below 1 count as 1.

mod matcher;

pub use matcher::CodeMatcher;

use fulmar_model::HealthCheck;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Initial,
    Healthy,
    Unhealthy,
    Unused,
    Draining,
    Unavailable,
}

impl State {
    /// The API spelling: `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initial => "initial",
            State::Healthy => "healthy",
            State::Unhealthy => "unhealthy",
            State::Unused => "unused",
            State::Draining => "draining",
            State::Unavailable => "unavailable",
        }
    }

    /// Whether a target in this state takes traffic when its group fails open (no
    /// target routable): registered, in service and not draining.
    pub fn fail_open_eligible(self) -> bool {
        matches!(
            self,
            State::Initial | State::Healthy | State::Unhealthy | State::Unavailable
        )
    }
}

/// What DescribeTargetHealth shows for a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub state: State,
    /// e.g. `Elb.InitialHealthChecking`, `Target.ResponseCodeMismatch`.
    pub reason: Option<&'static str>,
    /// AWS's human description for the reason (e.g. `Health checks failed with these codes: [500]`).
    pub description: Option<String>,
}

impl TargetHealth {
    fn with(state: State, reason: &'static str, description: impl Into<String>) -> TargetHealth {
        TargetHealth {
            state,
            reason: Some(reason),
            description: Some(description.into()),
        }
    }

    /// `initial` / `Elb.InitialHealthChecking`.
    pub fn initial() -> TargetHealth {
        Self::with(
            State::Initial,
            "Elb.InitialHealthChecking",
            "Initial health checks in progress",
        )
    }

    /// `healthy`, with neither reason nor description.
    pub fn healthy() -> TargetHealth {
        TargetHealth {
            state: State::Healthy,
            reason: None,
            description: None,
        }
    }

    /// `unavailable` / `Target.HealthCheckDisabled`.
    pub fn check_disabled() -> TargetHealth {
        Self::with(
            State::Unavailable,
            "Target.HealthCheckDisabled",
            "Health checks are disabled",
        )
    }

    /// `draining` / `Target.DeregistrationInProgress`.
    pub fn draining() -> TargetHealth {
        Self::with(
            State::Draining,
            "Target.DeregistrationInProgress",
            "Target deregistration is in progress",
        )
    }

    /// `unused` / `Target.NotRegistered`: DescribeTargetHealth for a target id not registered.
    pub fn not_registered() -> TargetHealth {
        Self::with(
            State::Unused,
            "Target.NotRegistered",
            "Target is not registered to the target group",
        )
    }

    /// `unused` / `Target.NotInUse`: the target group is used by no load balancer.
    pub fn not_in_use() -> TargetHealth {
        Self::with(
            State::Unused,
            "Target.NotInUse",
            "Target group is not configured to receive traffic from the load balancer",
        )
    }

    /// `unhealthy`, with the reason and description of a failed probe.
    fn failed(probe: &Probe) -> TargetHealth {
        match probe {
            Probe::CodeMismatch(code) => Self::with(
                State::Unhealthy,
                "Target.ResponseCodeMismatch",
                format!("Health checks failed with these codes: [{code}]"),
            ),
            Probe::Timeout => Self::with(State::Unhealthy, "Target.Timeout", "Request timed out"),
            Probe::Failed | Probe::Success => {
                Self::with(State::Unhealthy, "Target.FailedHealthChecks", "Health checks failed")
            }
        }
    }
}

/// The result of one health-check probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The response code matched the matcher.
    Success,
    /// An HTTP response arrived with a code the matcher rejects.
    CodeMismatch(u16),
    /// No response within the timeout.
    Timeout,
    /// The connection failed (refused, reset, closed early).
    Failed,
}

/// One target's health tracking: consecutive successes and failures against the thresholds.
#[derive(Debug, Clone)]
pub struct Tracker {
    health: TargetHealth,
    successes: u32,
    failures: u32,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new()
    }
}

impl Tracker {
    /// A newly registered target: `initial` / `Elb.InitialHealthChecking`.
    pub fn new() -> Tracker {
        Tracker {
            health: TargetHealth::initial(),
            successes: 0,
            failures: 0,
        }
    }

    /// A newly registered target of a group with this health check: `initial`, or
    /// `unavailable` when checks are disabled (the checker sends no probes then).
    pub fn for_check(check: &HealthCheck) -> Tracker {
        let mut t = Tracker::new();
        if !check.enabled {
            t.health = TargetHealth::check_disabled();
        }
        t
    }

    /// Apply one probe result with the target group's thresholds; returns the new health.
    pub fn observe(&mut self, probe: Probe, check: &HealthCheck) -> &TargetHealth {
        if !check.enabled {
            self.reset(TargetHealth::check_disabled());
            return &self.health;
        }
        match self.health.state {
            State::Draining | State::Unused => return &self.health,
            State::Unavailable => self.reset(TargetHealth::initial()),
            _ => {}
        }
        if probe == Probe::Success {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            let promote = match self.health.state {
                State::Initial => true,
                State::Unhealthy => self.successes >= check.healthy_threshold.max(1),
                _ => false,
            };
            if promote {
                self.health = TargetHealth::healthy();
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.health.state == State::Unhealthy || self.failures >= check.unhealthy_threshold.max(1) {
                self.health = TargetHealth::failed(&probe);
            }
        }
        &self.health
    }

    pub fn health(&self) -> &TargetHealth {
        &self.health
    }

    /// Whether the load balancer should send new requests to this target (healthy, or
    /// initial only while no target of the group has finished its first checks — see impl docs).
    ///
    /// This is the per-target answer: `healthy`, or `unavailable` (checks disabled).
    /// The group-level fallback is the caller's: with no routable target in the group,
    /// route to the targets whose [`State::fail_open_eligible`] holds, which covers
    /// a group whose targets are all still `initial`.
    pub fn routable(&self) -> bool {
        matches!(self.health.state, State::Healthy | State::Unavailable)
    }

    /// Start deregistration: `draining`, probes ignored from now on.
    pub fn drain(&mut self) {
        self.reset(TargetHealth::draining());
    }

    fn reset(&mut self, health: TargetHealth) {
        self.health = health;
        self.successes = 0;
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests;
