//! Adapters between the planes: each consumer (the control plane's API, the DNS
//! server) defines the narrow view it needs as a trait; the binary implements those
//! traits over the producers (the ALB health board, the Route 53 prober, the DNS
//! server), so no library crate depends on another plane.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;
use tokio::sync::watch;

use fulmar_control::{DnsAnswerer, HealthView, Observation, Route53HealthView};
use fulmar_model::{Config, Target};
use fulmar_routing::health::{State, TargetHealth};

/// DescribeTargetHealth reads the ALB data plane's health board.
pub struct AlbHealth(pub Arc<fulmar_alb::HealthBoard>);

impl HealthView for AlbHealth {
    fn target_health(&self, target_group_arn: &str, target: &Target) -> TargetHealth {
        self.0.target_health(target_group_arn, target)
    }
    fn draining(&self, target_group_arn: &str) -> Vec<Target> {
        self.0.draining(target_group_arn)
    }
    fn anomaly(&self, target_group_arn: &str, target: &Target) -> Option<(bool, bool)> {
        self.0.anomaly(target_group_arn, target)
    }
}

/// GetHealthCheckStatus and GetHealthCheckLastFailureReason read the Route 53 prober.
pub struct Route53Health(pub Arc<fulmar_r53health::HealthBoard>);

fn observation(o: fulmar_r53health::Observation) -> Observation {
    Observation {
        region: o.region,
        ip_address: o.ip_address,
        checked_at_ms: o.checked_at_ms,
        status: o.status,
    }
}

impl Route53HealthView for Route53Health {
    fn observations(&self, health_check_id: &str) -> Vec<Observation> {
        self.0
            .observations(health_check_id)
            .into_iter()
            .map(observation)
            .collect()
    }
    fn last_failures(&self, health_check_id: &str) -> Vec<Observation> {
        self.0
            .last_failure(health_check_id)
            .into_iter()
            .map(observation)
            .collect()
    }
}

/// What the DNS server asks about health: Route 53 health checks from the prober,
/// load balancers (alias EvaluateTargetHealth) from the ALB health board.
pub struct DnsHealth {
    pub checks: Arc<fulmar_r53health::HealthBoard>,
    pub targets: Arc<fulmar_alb::HealthBoard>,
    pub config: watch::Receiver<Arc<Config>>,
}

impl fulmar_dns::HealthOracle for DnsHealth {
    fn health_check(&self, id: &str) -> bool {
        self.checks.is_healthy(id)
    }

    /// Route 53's rule for an ELB alias: healthy when every target group with
    /// registered targets has at least one healthy target.
    fn load_balancer(&self, dns_name: &str) -> bool {
        let config = self.config.borrow().clone();
        let wanted = dns_name.trim_end_matches('.').trim_start_matches("dualstack.");
        let Some(lb) = config
            .load_balancers
            .values()
            .find(|lb| lb.dns_name.eq_ignore_ascii_case(wanted))
        else {
            return false;
        };
        let groups: Vec<_> = config
            .target_groups
            .values()
            .filter(|tg| !tg.targets.is_empty())
            .filter(|tg| config.load_balancers_of_target_group(&tg.arn).contains(&lb.arn))
            .collect();
        groups.iter().all(|tg| {
            tg.targets
                .iter()
                .any(|t| self.targets.target_health(&tg.arn, t).state == State::Healthy)
        })
    }
}

/// TestDNSAnswer asks the running DNS server (set once it has started).
#[derive(Default)]
pub struct DnsAnswers(pub OnceLock<Arc<fulmar_dns::DnsServer>>);

impl DnsAnswerer for DnsAnswers {
    fn answer(
        &self,
        _zone_id: &str,
        name: &str,
        rtype: &str,
        resolver_ip: Option<IpAddr>,
        edns_client_subnet: Option<IpNet>,
    ) -> (String, Vec<String>) {
        let answer = self
            .0
            .get()
            .and_then(|dns| dns.test_answer(name, rtype, resolver_ip, edns_client_subnet));
        match answer {
            Some(a) => (a.response_code, a.record_data),
            None => ("FORMERR".to_string(), Vec::new()),
        }
    }
}
