//! Unit tests for the health state machine.

use super::*;

fn check(healthy: u32, unhealthy: u32) -> HealthCheck {
    HealthCheck {
        enabled: true,
        protocol: "HTTP".into(),
        port: "traffic-port".into(),
        path: Some("/".into()),
        interval_seconds: 30,
        timeout_seconds: 5,
        healthy_threshold: healthy,
        unhealthy_threshold: unhealthy,
        matcher: None,
    }
}

fn run(t: &mut Tracker, probes: &[Probe], c: &HealthCheck) -> Vec<State> {
    probes.iter().map(|p| t.observe(p.clone(), c).state).collect()
}

use Probe::*;
use State::*;

#[test]
fn spellings() {
    let all = [Initial, Healthy, Unhealthy, Unused, Draining, Unavailable];
    let names: Vec<_> = all.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        ["initial", "healthy", "unhealthy", "unused", "draining", "unavailable"]
    );
}

#[test]
fn new_target_is_initial_until_first_verdict() {
    let t = Tracker::new();
    assert_eq!(t.health().state, Initial);
    assert_eq!(t.health().reason, Some("Elb.InitialHealthChecking"));
    assert!(!t.routable());
}

#[test]
fn initial_one_success_is_healthy() {
    let c = check(5, 2);
    let mut t = Tracker::new();
    assert_eq!(run(&mut t, &[Success], &c), [Healthy]);
    assert_eq!(t.health(), &TargetHealth::healthy());
    assert!(t.routable());
}

#[test]
fn initial_failures_reach_unhealthy_at_threshold() {
    let c = check(2, 2);
    let mut t = Tracker::new();
    assert_eq!(run(&mut t, &[Timeout, Timeout], &c), [Initial, Unhealthy]);
    assert_eq!(t.health().reason, Some("Target.Timeout"));
    assert_eq!(t.health().description.as_deref(), Some("Request timed out"));
}

#[test]
fn thresholds_2_2() {
    let c = check(2, 2);
    let mut t = Tracker::new();
    let states = run(
        &mut t,
        &[
            Success,
            CodeMismatch(500),
            Success,
            CodeMismatch(500),
            CodeMismatch(503),
            Success,
            Success,
        ],
        &c,
    );
    assert_eq!(
        states,
        [Healthy, Healthy, Healthy, Healthy, Unhealthy, Unhealthy, Healthy]
    );
}

#[test]
fn thresholds_5_2() {
    let c = check(5, 2);
    let mut t = Tracker::new();
    run(&mut t, &[Success, Failed, Failed], &c);
    assert_eq!(t.health().state, Unhealthy);
    assert_eq!(t.health().reason, Some("Target.FailedHealthChecks"));
    assert_eq!(t.health().description.as_deref(), Some("Health checks failed"));
    // Four successes are not enough; a failure resets the count.
    assert_eq!(run(&mut t, &vec![Success; 4], &c), [Unhealthy; 4]);
    assert_eq!(run(&mut t, &[CodeMismatch(500)], &c), [Unhealthy]);
    assert_eq!(
        run(&mut t, &vec![Success; 5], &c),
        [Unhealthy, Unhealthy, Unhealthy, Unhealthy, Healthy]
    );
}

#[test]
fn unhealthy_reason_follows_latest_failure() {
    let c = check(2, 2);
    let mut t = Tracker::new();
    run(&mut t, &[CodeMismatch(500), CodeMismatch(500)], &c);
    assert_eq!(t.health().reason, Some("Target.ResponseCodeMismatch"));
    assert_eq!(
        t.health().description.as_deref(),
        Some("Health checks failed with these codes: [500]")
    );
    run(&mut t, &[Timeout], &c);
    assert_eq!(t.health().reason, Some("Target.Timeout"));
}

#[test]
fn disabled_checks_are_unavailable_and_routable() {
    let mut c = check(2, 2);
    c.enabled = false;
    let t = Tracker::for_check(&c);
    assert_eq!(t.health(), &TargetHealth::check_disabled());
    assert!(t.routable());
    let mut t = Tracker::new();
    assert_eq!(t.observe(Success, &c).reason, Some("Target.HealthCheckDisabled"));
    c.enabled = true;
    assert_eq!(t.observe(Timeout, &c).state, Initial, "re-enabled: initial again");
}

#[test]
fn draining_ignores_probes() {
    let c = check(2, 2);
    let mut t = Tracker::new();
    t.drain();
    assert_eq!(run(&mut t, &[Success, Failed, Failed], &c), [Draining; 3]);
    assert_eq!(t.health().reason, Some("Target.DeregistrationInProgress"));
    assert!(!t.routable());
    assert!(!Draining.fail_open_eligible() && Unhealthy.fail_open_eligible());
}
