//! The checker tasks: one per enabled endpoint health check, probing from every checker
//! region in parallel once per `RequestInterval` and feeding the results into the
//! check's [`Live`] state on the board.
//!
//! [`Checkers::apply`] brings the tasks in line with a configuration snapshot: a new
//! check gets a task (its first round runs at once), a changed check gets a new task
//! that keeps the regions' verdicts, a removed or disabled check loses its task.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fulmar_model::route53::{HealthCheck, HealthCheckConfig};
use fulmar_model::Config;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

use crate::board::{HealthBoard, Live, Observation, Tracked};
use crate::decide::Kind;
use crate::endpoint::Endpoint;
use crate::probe::probe;
use crate::Options;

/// The checker regions used when a health check names none. Route 53 uses eight
/// regions by default; three local checkers exercise the same ">18%" rule.
pub const DEFAULT_REGIONS: [&str; 3] = ["us-east-1", "us-west-1", "eu-west-1"];

/// The checker regions of a health check: its `Regions`, else [`DEFAULT_REGIONS`].
pub fn regions_of(config: &HealthCheckConfig) -> Vec<String> {
    if config.regions.is_empty() {
        DEFAULT_REGIONS.iter().map(|r| (*r).to_owned()).collect()
    } else {
        config.regions.clone()
    }
}

/// Every running checker task, keyed by health check id.
pub(crate) struct Checkers {
    board: Arc<HealthBoard>,
    options: Options,
    running: HashMap<String, Running>,
}

/// A checker task; dropping it stops the task.
struct Running {
    check: Arc<HealthCheck>,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Checkers {
    pub fn new(board: Arc<HealthBoard>, options: Options) -> Checkers {
        Checkers {
            board,
            options,
            running: HashMap::new(),
        }
    }

    /// Bring the board and the checker tasks in line with `config`.
    pub fn apply(&mut self, config: &Config) {
        let mut tracked = HashMap::with_capacity(config.health_checks.len());
        for (id, check) in &config.health_checks {
            let regions = regions_of(&check.config);
            let live = match self.board.tracked(id) {
                Some(t) => {
                    t.live.set_regions(&regions);
                    t.live
                }
                None => Arc::new(Live::new(&regions)),
            };
            tracked.insert(
                id.clone(),
                Tracked {
                    check: check.clone(),
                    live: live.clone(),
                },
            );
            let probes = Kind::parse(&check.config.kind).probes_endpoint() && !check.config.disabled;
            if !probes {
                self.running.remove(id);
                continue;
            }
            if self.running.get(id).is_some_and(|r| r.check.config == check.config) {
                continue;
            }
            let interval = self
                .options
                .interval_override
                .unwrap_or_else(|| Duration::from_secs(u64::from(check.config.request_interval.max(1))));
            let task = tokio::spawn(run(id.clone(), check.clone(), live, interval));
            self.running.insert(
                id.clone(),
                Running {
                    check: check.clone(),
                    task,
                },
            );
        }
        self.running.retain(|id, _| config.health_checks.contains_key(id));
        self.board.publish(tracked);
    }
}

async fn run(id: String, check: Arc<HealthCheck>, live: Arc<Live>, interval: Duration) {
    let endpoint = Arc::new(Endpoint::from_config(&check.config));
    let regions = regions_of(&check.config);
    let threshold = check.config.failure_threshold;
    let reference: Arc<str> = Arc::from(id.as_str());
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut round = JoinSet::new();
        for region in &regions {
            let (endpoint, reference, region) = (endpoint.clone(), reference.clone(), region.clone());
            round.spawn(async move { (region, probe(&endpoint, &reference).await) });
        }
        while let Some(joined) = round.join_next().await {
            let Ok((region, probed)) = joined else {
                continue;
            };
            let success = probed.outcome.is_success();
            let observation = Observation {
                region: region.clone(),
                ip_address: probed.checker_ip.to_string(),
                checked_at_ms: now_ms(),
                status: probed.outcome.status_text(probed.resolved),
            };
            tracing::debug!(health_check = %id, %region, status = %observation.status, "route 53 health probe");
            if let Some(healthy) = live.record(&region, success, observation, threshold) {
                tracing::info!(health_check = %id, healthy, "route 53 health check status changed");
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
