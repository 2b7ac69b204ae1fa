//! The health of every Route 53 health check, as DNS answers and the API see it.
//!
//! The board holds, per health check of the latest configuration snapshot, its
//! configuration and its [`Live`] state: one [`CheckerVerdict`] and the latest
//! observations per checker region, and the aggregated endpoint status. The map is
//! swapped whole (`arc-swap`) when a snapshot arrives, so [`HealthBoard::is_healthy`] —
//! called for every DNS answer that involves a health check — takes no lock for
//! endpoint checks; calculated checks are evaluated from their children on each call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use fulmar_model::route53::HealthCheck;

use crate::decide::{self, CheckerVerdict, Kind};

/// How deep calculated checks may nest before the board stops counting (Route 53
/// forbids calculated children of calculated checks; this only guards against cycles).
const MAX_NESTING: usize = 4;

/// One checker region's latest report, shaped like a `HealthCheckObservation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The checker region, e.g. `us-east-1`.
    pub region: String,
    /// The address of the health checker as the endpoint saw it (`IPAddress`).
    pub ip_address: String,
    /// `StatusReport.CheckedTime`, milliseconds since the Unix epoch.
    pub checked_at_ms: i64,
    /// `StatusReport.Status`, e.g. `Success: HTTP Status Code 200, OK`.
    pub status: String,
}

/// The health of every health check of the latest configuration snapshot.
#[derive(Default)]
pub struct HealthBoard {
    checks: ArcSwap<HashMap<String, Tracked>>,
}

#[derive(Clone)]
pub(crate) struct Tracked {
    pub check: Arc<HealthCheck>,
    pub live: Arc<Live>,
}

impl HealthBoard {
    /// Whether Route 53 considers the health check healthy now, after `Disabled`,
    /// `Inverted` and, for CALCULATED checks, the children. An unknown id is healthy
    /// (Route 53 treats a record without a usable health check as healthy).
    pub fn is_healthy(&self, id: &str) -> bool {
        let checks = self.checks.load();
        status(&checks, id, 0)
    }

    /// The latest report of each checker region (GetHealthCheckStatus), in region
    /// order; empty for unknown ids and for checks that probe nothing (CALCULATED).
    pub fn observations(&self, id: &str) -> Vec<Observation> {
        match self.checks.load().get(id) {
            Some(t) => t.live.observations(),
            None => Vec::new(),
        }
    }

    /// The latest failure seen by each checker region that has seen one
    /// (GetHealthCheckLastFailureReason).
    pub fn last_failure(&self, id: &str) -> Vec<Observation> {
        match self.checks.load().get(id) {
            Some(t) => t.live.last_failures(),
            None => Vec::new(),
        }
    }

    pub(crate) fn tracked(&self, id: &str) -> Option<Tracked> {
        self.checks.load().get(id).cloned()
    }

    pub(crate) fn publish(&self, checks: HashMap<String, Tracked>) {
        self.checks.store(Arc::new(checks));
    }
}

fn status(checks: &HashMap<String, Tracked>, id: &str, depth: usize) -> bool {
    let Some(t) = checks.get(id) else {
        return true;
    };
    let config = &t.check.config;
    decide::reported(config.disabled, config.inverted, || match Kind::parse(&config.kind) {
        Kind::Calculated if depth >= MAX_NESTING => true,
        Kind::Calculated => {
            let healthy = config
                .child_health_checks
                .iter()
                .filter(|child| status(checks, child, depth + 1))
                .count();
            decide::calculated(healthy, config.health_threshold)
        }
        Kind::Unprobed => config.insufficient_data_health_status.as_deref() != Some("Unhealthy"),
        _ => t.live.is_healthy(),
    })
}

/// The live state of one endpoint health check, kept across snapshots while the check
/// exists.
pub(crate) struct Live {
    healthy: AtomicBool,
    regions: Mutex<Vec<Region>>,
}

struct Region {
    name: String,
    verdict: CheckerVerdict,
    last: Option<Observation>,
    last_failure: Option<Observation>,
}

impl Live {
    pub fn new(regions: &[String]) -> Live {
        let live = Live {
            healthy: AtomicBool::new(true),
            regions: Mutex::new(Vec::new()),
        };
        live.set_regions(regions);
        live
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Follow a change of the checker regions: regions that stay keep their verdicts.
    pub fn set_regions(&self, names: &[String]) {
        let mut regions = crate::lock(&self.regions);
        let mut old = std::mem::take(&mut *regions);
        for name in names {
            match old.iter().position(|r| &r.name == name) {
                Some(i) => regions.push(old.swap_remove(i)),
                None => regions.push(Region {
                    name: name.clone(),
                    verdict: CheckerVerdict::default(),
                    last: None,
                    last_failure: None,
                }),
            }
        }
        self.reaggregate(&regions);
    }

    /// Record one probe of `region`; returns the aggregated status when it changed.
    pub fn record(
        &self,
        region: &str,
        success: bool,
        observation: Observation,
        failure_threshold: u32,
    ) -> Option<bool> {
        let mut regions = crate::lock(&self.regions);
        let r = regions.iter_mut().find(|r| r.name == region)?;
        r.verdict.observe(success, failure_threshold);
        if !success {
            r.last_failure = Some(observation.clone());
        }
        r.last = Some(observation);
        let before = self.is_healthy();
        let after = self.reaggregate(&regions);
        (before != after).then_some(after)
    }

    fn reaggregate(&self, regions: &[Region]) -> bool {
        let healthy = regions.iter().filter(|r| r.verdict.is_healthy()).count();
        let status = decide::aggregate(healthy, regions.len());
        self.healthy.store(status, Ordering::Relaxed);
        status
    }

    pub fn observations(&self) -> Vec<Observation> {
        let regions = crate::lock(&self.regions);
        regions.iter().filter_map(|r| r.last.clone()).collect()
    }

    pub fn last_failures(&self) -> Vec<Observation> {
        let regions = crate::lock(&self.regions);
        regions.iter().filter_map(|r| r.last_failure.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use fulmar_model::route53::HealthCheckConfig;

    use super::*;

    fn check(id: &str, kind: &str) -> HealthCheck {
        HealthCheck {
            id: id.into(),
            caller_reference: id.into(),
            config: HealthCheckConfig {
                kind: kind.into(),
                ip_address: Some("127.0.0.1".into()),
                port: Some(80),
                resource_path: None,
                fqdn: None,
                search_string: None,
                request_interval: 10,
                failure_threshold: 1,
                measure_latency: false,
                inverted: false,
                disabled: false,
                enable_sni: false,
                health_threshold: None,
                child_health_checks: Vec::new(),
                regions: Vec::new(),
                insufficient_data_health_status: None,
            },
            version: 1,
            tags: Vec::new(),
        }
    }

    fn regions() -> Vec<String> {
        crate::DEFAULT_REGIONS.iter().map(|r| r.to_string()).collect()
    }

    fn board(checks: Vec<HealthCheck>) -> (HealthBoard, HashMap<String, Arc<Live>>) {
        let mut map = HashMap::new();
        let mut lives = HashMap::new();
        for c in checks {
            let live = Arc::new(Live::new(&regions()));
            lives.insert(c.id.clone(), live.clone());
            map.insert(
                c.id.clone(),
                Tracked {
                    check: Arc::new(c),
                    live,
                },
            );
        }
        let board = HealthBoard::default();
        board.publish(map);
        (board, lives)
    }

    fn fail_everywhere(live: &Live) {
        for region in regions() {
            let obs = Observation {
                region: region.clone(),
                ip_address: "127.0.0.1".into(),
                checked_at_ms: 1,
                status: "Failure: Connection refused.".into(),
            };
            live.record(&region, false, obs, 1);
        }
    }

    #[test]
    fn unknown_ids_are_healthy_and_have_no_observations() {
        let (board, _) = board(vec![]);
        assert!(board.is_healthy("nope"));
        assert!(board.observations("nope").is_empty());
        assert!(board.last_failure("nope").is_empty());
    }

    #[test]
    fn one_healthy_region_of_three_keeps_the_check_healthy() {
        let (board, lives) = board(vec![check("a", "HTTP")]);
        let live = &lives["a"];
        for region in &regions()[..2] {
            let obs = Observation {
                region: region.clone(),
                ip_address: "127.0.0.1".into(),
                checked_at_ms: 1,
                status: "Failure".into(),
            };
            live.record(region, false, obs, 1);
        }
        assert!(board.is_healthy("a"));
        assert_eq!(board.last_failure("a").len(), 2);
        fail_everywhere(live);
        assert!(!board.is_healthy("a"));
        assert_eq!(board.observations("a").len(), 3);
    }

    #[test]
    fn inverted_and_disabled_checks() {
        let mut inverted = check("inv", "HTTP");
        inverted.config.inverted = true;
        let mut disabled = check("off", "HTTP");
        disabled.config.disabled = true;
        let mut both = check("both", "HTTP");
        both.config.disabled = true;
        both.config.inverted = true;
        let (board, lives) = board(vec![inverted, disabled, both]);
        assert!(!board.is_healthy("inv"));
        fail_everywhere(&lives["inv"]);
        assert!(board.is_healthy("inv"));
        fail_everywhere(&lives["off"]);
        assert!(board.is_healthy("off"));
        assert!(!board.is_healthy("both"));
    }

    #[test]
    fn calculated_checks_count_their_children() {
        let mut calc = check("calc", "CALCULATED");
        calc.config.child_health_checks = vec!["a".into(), "b".into(), "c".into()];
        calc.config.health_threshold = Some(2);
        let mut zero = calc.clone();
        zero.id = "zero".into();
        zero.config.health_threshold = Some(0);
        let (board, lives) = board(vec![
            check("a", "HTTP"),
            check("b", "TCP"),
            check("c", "HTTPS"),
            calc,
            zero,
        ]);
        assert!(board.is_healthy("calc"));
        fail_everywhere(&lives["a"]);
        assert!(board.is_healthy("calc"));
        fail_everywhere(&lives["b"]);
        assert!(!board.is_healthy("calc"));
        assert!(board.is_healthy("zero"));
        fail_everywhere(&lives["c"]);
        assert!(board.is_healthy("zero"));
    }

    #[test]
    fn calculated_cycles_do_not_recurse_forever() {
        let mut a = check("a", "CALCULATED");
        a.config.child_health_checks = vec!["b".into()];
        a.config.health_threshold = Some(1);
        let mut b = a.clone();
        b.id = "b".into();
        b.config.child_health_checks = vec!["a".into()];
        let (board, _) = board(vec![a, b]);
        assert!(board.is_healthy("a"));
    }

    #[test]
    fn unprobed_kinds_report_their_insufficient_data_status() {
        let mut alarm = check("alarm", "CLOUDWATCH_METRIC");
        alarm.config.insufficient_data_health_status = Some("Unhealthy".into());
        let (board, _) = board(vec![alarm, check("rc", "RECOVERY_CONTROL")]);
        assert!(!board.is_healthy("alarm"));
        assert!(board.is_healthy("rc"));
    }

    #[test]
    fn region_changes_keep_the_verdicts_of_regions_that_stay() {
        let live = Live::new(&regions());
        fail_everywhere(&live);
        live.set_regions(&["us-east-1".into(), "ap-southeast-1".into()]);
        assert_eq!(live.observations().len(), 1);
        assert!(live.is_healthy()); // the new region starts healthy: 1 of 2 > 18%
    }
}
