//! Target health: the state machine driven by health-check probes, and the states and
//! reason codes DescribeTargetHealth reports.

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
        todo!()
    }
}

/// What DescribeTargetHealth shows for a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub state: State,
    /// e.g. `Elb.InitialHealthChecking`, `Target.ResponseCodeMismatch`.
    pub reason: Option<&'static str>,
    /// AWS's human description for the reason (e.g. "Health checks failed with these codes: [500]").
    pub description: Option<String>,
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
    // implementation-defined
}

impl Tracker {
    /// A newly registered target: `initial` / `Elb.InitialHealthChecking`.
    pub fn new() -> Tracker {
        todo!()
    }

    /// Apply one probe result with the target group's thresholds; returns the new health.
    pub fn observe(&mut self, probe: Probe, check: &HealthCheck) -> &TargetHealth {
        todo!()
    }

    pub fn health(&self) -> &TargetHealth {
        todo!()
    }

    /// Whether the load balancer should send new requests to this target (healthy, or
    /// initial only while no target of the group has finished its first checks — see impl docs).
    pub fn routable(&self) -> bool {
        todo!()
    }
}

/// A parsed success-code matcher: `200`, `200,202`, `200-299` (HTTP) or gRPC `0-99`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeMatcher {
    // implementation-defined
}

impl CodeMatcher {
    /// Parse a matcher; `Err` carries AWS's ValidationError message. `grpc` selects the 0–99 range,
    /// otherwise codes must lie in 200–499.
    pub fn parse(spec: &str, grpc: bool) -> Result<CodeMatcher, String> {
        todo!()
    }

    pub fn accepts(&self, code: u16) -> bool {
        todo!()
    }
}
