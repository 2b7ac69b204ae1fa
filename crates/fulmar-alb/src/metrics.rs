//! The ALB's CloudWatch metrics, kept as relaxed atomics and rendered in the
//! Prometheus text format (`GET /metrics` on the API port).
//!
//! One [`Metrics`] registry per data plane holds a [`LbMetrics`] per application load
//! balancer and, inside it, a [`TgMetrics`] per target group it forwards to. The
//! request path only increments counters it already holds an `Arc` to (no lock, no
//! lookup in the registry); the registry's lock is taken when a snapshot is applied
//! and when `/metrics` is scraped. Series are named as in CloudWatch's
//! `AWS/ApplicationELB` namespace, with CloudWatch's dimensions as labels
//! (`LoadBalancer="app/<name>/<id>"`, `TargetGroup="targetgroup/<name>/<id>"`).
//! HealthyHostCount and UnHealthyHostCount are read from the health board at scrape
//! time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fulmar_model::Config;
use fulmar_routing::health::State;

use crate::health::HealthBoard;

/// Counters one load balancer's requests and connections move.
#[derive(Default)]
pub(crate) struct LbMetrics {
    pub request_count: AtomicU64,
    pub processed_bytes: AtomicU64,
    pub new_connections: AtomicU64,
    pub active_connections: AtomicI64,
    pub rule_evaluations: AtomicU64,
    pub fixed_responses: AtomicU64,
    pub redirects: AtomicU64,
    /// HTTPCode_ELB_3XX/4XX/5XX_Count, by class (index 3, 4, 5).
    pub elb_class: [AtomicU64; 6],
    /// HTTPCode_ELB_500/502/503/504_Count.
    pub elb_500: AtomicU64,
    pub elb_502: AtomicU64,
    pub elb_503: AtomicU64,
    pub elb_504: AtomicU64,
    /// ClientTLSNegotiationErrorCount: client handshakes that failed.
    pub client_tls_negotiation_errors: AtomicU64,
    /// DesyncMitigationMode_NonCompliant_Request_Count: requests the desync classifier
    /// did not find compliant with RFC 7230 (acceptable, ambiguous or severe), whatever
    /// the mode did with them.
    pub desync_non_compliant: AtomicU64,
    pub target: TgMetrics,
    groups: Mutex<BTreeMap<String, Arc<TgMetrics>>>,
}

/// Counters of responses from targets (per load balancer, and per target group).
#[derive(Default)]
pub(crate) struct TgMetrics {
    pub request_count: AtomicU64,
    /// HTTPCode_Target_2XX..5XX_Count, by class (index 2..=5).
    pub target_class: [AtomicU64; 6],
    pub response_time_micros: AtomicU64,
    pub responses: AtomicU64,
}

impl TgMetrics {
    /// A target answered with `status` after `took`.
    pub fn target_response(&self, status: u16, took: Duration) {
        if let Some(c) = self.target_class.get(usize::from(status / 100)) {
            c.fetch_add(1, Relaxed);
        }
        self.response_time_micros.fetch_add(took.as_micros() as u64, Relaxed);
        self.responses.fetch_add(1, Relaxed);
    }
}

impl LbMetrics {
    /// The load balancer itself answered with `status`.
    pub fn elb_response(&self, status: u16) {
        let class = usize::from(status / 100);
        if (3..=5).contains(&class) {
            self.elb_class[class].fetch_add(1, Relaxed);
        }
        match status {
            500 => &self.elb_500,
            502 => &self.elb_502,
            503 => &self.elb_503,
            504 => &self.elb_504,
            _ => return,
        }
        .fetch_add(1, Relaxed);
    }

    /// The counters of `target_group_arn` under this load balancer.
    pub fn group(&self, target_group_arn: &str) -> Arc<TgMetrics> {
        crate::lock(&self.groups)
            .entry(target_group_arn.to_owned())
            .or_default()
            .clone()
    }
}

/// Every load balancer's counters, by load balancer ARN.
#[derive(Default)]
pub struct Metrics {
    lbs: Mutex<BTreeMap<String, Arc<LbMetrics>>>,
    config: Mutex<Arc<Config>>,
}

impl Metrics {
    /// The counters of `lb_arn` (created on first use; kept while it exists).
    pub(crate) fn load_balancer(&self, lb_arn: &str) -> Arc<LbMetrics> {
        crate::lock(&self.lbs).entry(lb_arn.to_owned()).or_default().clone()
    }

    /// Forget load balancers and target groups `config` no longer has.
    pub(crate) fn retain(&self, config: &Arc<Config>) {
        let mut lbs = crate::lock(&self.lbs);
        lbs.retain(|arn, _| config.load_balancers.contains_key(arn));
        for lb in lbs.values() {
            crate::lock(&lb.groups).retain(|arn, _| config.target_groups.contains_key(arn));
        }
        *crate::lock(&self.config) = config.clone();
    }

    /// The Prometheus text exposition (format 0.0.4) of every series.
    pub fn render(&self, board: &HealthBoard) -> String {
        let config = crate::lock(&self.config).clone();
        let lbs: Vec<(String, Arc<LbMetrics>)> = crate::lock(&self.lbs)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out = String::new();
        let lb_series = |f: &dyn Fn(&LbMetrics) -> String| -> Vec<(String, String)> {
            lbs.iter()
                .map(|(arn, m)| (format!("LoadBalancer=\"{}\"", lb_dimension(arn)), f(m)))
                .collect()
        };
        let load = |a: &AtomicU64| a.load(Relaxed).to_string();
        let counters: [Counter; 17] = [
            ("RequestCount", "Requests processed by the load balancer.", &|m| {
                load(&m.request_count)
            }),
            (
                "ProcessedBytes",
                "Bytes processed by the load balancer (requests and responses, headers included).",
                &|m| load(&m.processed_bytes),
            ),
            (
                "NewConnectionCount",
                "New TCP connections from clients to the load balancer.",
                &|m| load(&m.new_connections),
            ),
            (
                "ClientTLSNegotiationErrorCount",
                "TLS connections from clients that did not establish a session with the load balancer.",
                &|m| load(&m.client_tls_negotiation_errors),
            ),
            (
                "DesyncMitigationMode_NonCompliant_Request_Count",
                "Requests that do not comply with RFC 7230 (HTTP/1.x).",
                &|m| load(&m.desync_non_compliant),
            ),
            (
                "RuleEvaluations",
                "Listener rules processed (the default rule not counted).",
                &|m| load(&m.rule_evaluations),
            ),
            (
                "HTTP_Fixed_Response_Count",
                "Successful fixed-response actions.",
                &|m| load(&m.fixed_responses),
            ),
            ("HTTP_Redirect_Count", "Successful redirect actions.", &|m| {
                load(&m.redirects)
            }),
            (
                "HTTPCode_ELB_3XX_Count",
                "HTTP 3XX codes generated by the load balancer.",
                &|m| load(&m.elb_class[3]),
            ),
            (
                "HTTPCode_ELB_4XX_Count",
                "HTTP 4XX codes generated by the load balancer.",
                &|m| load(&m.elb_class[4]),
            ),
            (
                "HTTPCode_ELB_5XX_Count",
                "HTTP 5XX codes generated by the load balancer.",
                &|m| load(&m.elb_class[5]),
            ),
            (
                "HTTPCode_ELB_500_Count",
                "HTTP 500 codes generated by the load balancer.",
                &|m| load(&m.elb_500),
            ),
            (
                "HTTPCode_ELB_502_Count",
                "HTTP 502 codes generated by the load balancer.",
                &|m| load(&m.elb_502),
            ),
            (
                "HTTPCode_ELB_503_Count",
                "HTTP 503 codes generated by the load balancer.",
                &|m| load(&m.elb_503),
            ),
            (
                "HTTPCode_ELB_504_Count",
                "HTTP 504 codes generated by the load balancer.",
                &|m| load(&m.elb_504),
            ),
            (
                "HTTPCode_Target_2XX_Count",
                "HTTP 2XX codes generated by targets.",
                &|m| load(&m.target.target_class[2]),
            ),
            (
                "HTTPCode_Target_3XX_Count",
                "HTTP 3XX codes generated by targets.",
                &|m| load(&m.target.target_class[3]),
            ),
        ];
        for (name, help, f) in counters {
            family(&mut out, name, help, "counter", &lb_series(f));
            if let Some(class) = name
                .strip_prefix("HTTPCode_Target_")
                .and_then(|r| r[..1].parse::<usize>().ok())
            {
                group_series(&mut out, name, &lbs, |g| load(&g.target_class[class]));
            }
            if name == "RequestCount" {
                group_series(&mut out, name, &lbs, |g| load(&g.request_count));
            }
        }
        for class in [4usize, 5] {
            let name = format!("HTTPCode_Target_{class}XX_Count");
            let help = format!("HTTP {class}XX codes generated by targets.");
            family(
                &mut out,
                &name,
                &help,
                "counter",
                &lb_series(&|m| load(&m.target.target_class[class])),
            );
            group_series(&mut out, &name, &lbs, |g| load(&g.target_class[class]));
        }
        family(
            &mut out,
            "ActiveConnectionCount",
            "Client connections to the load balancer open now.",
            "gauge",
            &lb_series(&|m| m.active_connections.load(Relaxed).max(0).to_string()),
        );
        // TargetResponseTime: a summary of seconds (sum and count), like CloudWatch's average.
        let _ = writeln!(out, "# HELP TargetResponseTime Seconds from the request leaving the load balancer to the target's response head.");
        let _ = writeln!(out, "# TYPE TargetResponseTime summary");
        for (arn, m) in &lbs {
            let lb = format!("LoadBalancer=\"{}\"", lb_dimension(arn));
            response_time(&mut out, &lb, &m.target);
            for (tg, g) in crate::lock(&m.groups).iter() {
                response_time(&mut out, &format!("{lb},TargetGroup=\"{}\"", tg_dimension(tg)), g);
            }
        }
        host_counts(&mut out, &config, board);
        out
    }
}

/// A load-balancer counter: its name, help text, and how to read it.
type Counter<'a> = (&'a str, &'a str, &'a dyn Fn(&LbMetrics) -> String);

fn response_time(out: &mut String, labels: &str, m: &TgMetrics) {
    let secs = m.response_time_micros.load(Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "TargetResponseTime_sum{{{labels}}} {secs}");
    let _ = writeln!(
        out,
        "TargetResponseTime_count{{{labels}}} {}",
        m.responses.load(Relaxed)
    );
}

/// The LoadBalancer,TargetGroup series of a target metric (no HELP/TYPE: same family).
fn group_series(out: &mut String, name: &str, lbs: &[(String, Arc<LbMetrics>)], f: impl Fn(&TgMetrics) -> String) {
    for (arn, m) in lbs {
        for (tg, g) in crate::lock(&m.groups).iter() {
            let _ = writeln!(
                out,
                "{name}{{LoadBalancer=\"{}\",TargetGroup=\"{}\"}} {}",
                lb_dimension(arn),
                tg_dimension(tg),
                f(g)
            );
        }
    }
}

fn family(out: &mut String, name: &str, help: &str, kind: &str, series: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in series {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// HealthyHostCount / UnHealthyHostCount per load balancer and target group.
fn host_counts(out: &mut String, config: &Config, board: &HealthBoard) {
    let mut healthy = Vec::new();
    let mut unhealthy = Vec::new();
    for tg in config.target_groups.values() {
        let (mut h, mut u) = (0u64, 0u64);
        for t in &tg.targets {
            match board.target_health(&tg.arn, t).state {
                State::Healthy => h += 1,
                State::Unhealthy => u += 1,
                _ => {}
            }
        }
        for lb in config.load_balancers_of_target_group(&tg.arn) {
            let labels = format!(
                "LoadBalancer=\"{}\",TargetGroup=\"{}\"",
                lb_dimension(&lb),
                tg_dimension(&tg.arn)
            );
            healthy.push((labels.clone(), h.to_string()));
            unhealthy.push((labels, u.to_string()));
        }
    }
    family(
        out,
        "HealthyHostCount",
        "Targets considered healthy.",
        "gauge",
        &healthy,
    );
    family(
        out,
        "UnHealthyHostCount",
        "Targets considered unhealthy.",
        "gauge",
        &unhealthy,
    );
}

/// `arn:...:loadbalancer/app/web/abc` → `app/web/abc` (CloudWatch's LoadBalancer dimension).
pub(crate) fn lb_dimension(arn: &str) -> &str {
    arn.split_once(":loadbalancer/").map(|(_, d)| d).unwrap_or(arn)
}

/// `arn:...:targetgroup/web/abc` → `targetgroup/web/abc` (the TargetGroup dimension).
pub(crate) fn tg_dimension(arn: &str) -> &str {
    arn.find("targetgroup/").map(|i| &arn[i..]).unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions() {
        let lb = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/lb/1";
        let tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1";
        assert_eq!(lb_dimension(lb), "app/lb/1");
        assert_eq!(tg_dimension(tg), "targetgroup/web/1");
    }

    #[test]
    fn renders_counters_with_dimensions() {
        let m = Metrics::default();
        let lb = m.load_balancer("arn:x:loadbalancer/app/lb/1");
        lb.request_count.fetch_add(3, Relaxed);
        lb.elb_response(502);
        let text = m.render(&HealthBoard::default());
        assert!(text.contains("RequestCount{LoadBalancer=\"app/lb/1\"} 3\n"), "{text}");
        assert!(text.contains("HTTPCode_ELB_502_Count{LoadBalancer=\"app/lb/1\"} 1\n"));
        assert!(text.contains("HTTPCode_ELB_5XX_Count{LoadBalancer=\"app/lb/1\"} 1\n"));
    }
}
