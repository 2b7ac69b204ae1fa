//! The health checker of one target group: a task that probes every registered target
//! every `HealthCheckIntervalSeconds` (a newly registered target at once) and feeds the
//! results into the group's trackers, and into the health check logs of the load
//! balancers using the group that have them on (`health_check_logs.s3.enabled`).
//!
//! The task follows a `watch` of its [`Plan`]: a new snapshot that changes the health
//! check or the targets takes effect at the next probe; dropping the sender ends it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fulmar_model::{HealthCheck, Target};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep_until, Instant};

use super::probe::{probe, Checked, ProbeSpec};
use super::GroupHealth;
use crate::accesslog::{AccessLogs, Destination, HealthRecord};
use crate::alb::TargetProtocol;

/// What the checker of one group probes, and how.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub check: HealthCheck,
    pub targets: Vec<Target>,
    /// The target group's protocol version: HTTP/1.1, HTTP/2 or gRPC probes.
    pub protocol: TargetProtocol,
    /// The target group's name (the health check log's `target_group_id` field).
    pub name: Arc<str>,
    /// The health check logs each probe goes to: one per load balancer using the
    /// group with them on.
    pub logs: Vec<Arc<Destination>>,
}

/// A running checker; dropping it stops the task.
pub(crate) struct Checker {
    plan: watch::Sender<Plan>,
    task: JoinHandle<()>,
}

impl Checker {
    /// `sink` writes the health check logs (`None`: no data directory, no logs).
    pub fn spawn(group: Arc<GroupHealth>, plan: Plan, sink: Option<Arc<AccessLogs>>) -> Checker {
        let (tx, rx) = watch::channel(plan);
        Checker {
            plan: tx,
            task: tokio::spawn(run(group, rx, sink)),
        }
    }

    /// Hand the checker the latest plan (no-op when unchanged).
    pub fn update(&self, plan: Plan) {
        self.plan.send_if_modified(|current| {
            let changed = *current != plan;
            *current = plan;
            changed
        });
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(group: Arc<GroupHealth>, mut plans: watch::Receiver<Plan>, sink: Option<Arc<AccessLogs>>) {
    let mut plan = plans.borrow_and_update().clone();
    let mut spec = Arc::new(ProbeSpec::new(&plan.check, plan.protocol));
    let mut due: HashMap<Target, Instant> = HashMap::new();
    let mut in_flight: HashMap<tokio::task::Id, Target> = HashMap::new();
    let mut probes: JoinSet<Checked> = JoinSet::new();
    loop {
        let now = Instant::now();
        due.retain(|t, _| plan.targets.contains(t));
        for t in &plan.targets {
            due.entry(t.clone()).or_insert(now);
        }
        let interval = Duration::from_secs(u64::from(plan.check.interval_seconds.max(1)));
        let next = due.values().min().copied().unwrap_or(now + interval);
        tokio::select! {
            _ = sleep_until(next) => {
                let now = Instant::now();
                for (target, when) in due.iter_mut() {
                    if *when > now || in_flight.values().any(|t| t == target) {
                        continue;
                    }
                    *when = now + interval;
                    let (probed, spec) = (target.clone(), spec.clone());
                    let handle = probes.spawn(async move { probe(&probed, &spec).await });
                    in_flight.insert(handle.id(), target.clone());
                }
            }
            Some(done) = probes.join_next_with_id() => {
                let (id, result) = match done {
                    Ok((id, result)) => (id, Some(result)),
                    Err(e) => (e.id(), None),
                };
                let target = in_flight.remove(&id);
                if let (Some(target), Some(result)) = (target, result) {
                    tracing::debug!(target = %target.id, port = target.port, result = ?result.probe, "health probe");
                    if let Some(sink) = &sink {
                        log(sink, &plan, &spec, &target, &result);
                    }
                    group.observe(&target, result.probe, &plan.check);
                }
            }
            changed = plans.changed() => {
                if changed.is_err() {
                    return;
                }
                plan = plans.borrow_and_update().clone();
                if plan.check != spec.check || plan.protocol != spec.protocol {
                    spec = Arc::new(ProbeSpec::new(&plan.check, plan.protocol));
                }
            }
        }
    }
}

/// Write one probe's entry to each health check log of the plan.
fn log(sink: &AccessLogs, plan: &Plan, spec: &ProbeSpec, target: &Target, result: &Checked) {
    let kind = match (spec.protocol, spec.tls) {
        (TargetProtocol::Grpc, _) => "grpc",
        (TargetProtocol::Http2, _) => "h2",
        (TargetProtocol::Http1, true) => "https",
        (TargetProtocol::Http1, false) => "http",
    };
    let addr = result
        .addr
        .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], target.port)));
    for destination in &plan.logs {
        sink.send_health(HealthRecord {
            destination: destination.clone(),
            kind,
            time: result.started,
            latency: result.latency,
            target: addr,
            target_group_name: plan.name.clone(),
            passed: result.reason.is_none(),
            status_code: result.code,
            reason: result.reason,
        });
    }
}
