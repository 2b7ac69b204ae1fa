//! The compiled form of one configuration snapshot: what the request path reads.
//!
//! A [`Snapshot`] is built once per committed configuration and published through an
//! `ArcSwap`; a request loads it once at its start and uses that one view throughout,
//! so a rule change applies to the very next request, even on an open keep-alive
//! connection, and no request ever waits for the control plane.
//!
//! It also holds the security-group engine's [`World`] of the configuration, which
//! gates new connections, and per listener the sources its load balancer's groups let
//! in (what the packet filter installs).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use fulmar_model::{Config, LoadBalancer, TargetGroup};
use fulmar_routing::balance::Algorithm;
use fulmar_routing::rules::RuleTable;
use fulmar_secgroup::{ingress_sources, Traffic, World};
use ipnet::IpNet;

use crate::health::GroupHealth;

/// The ALB's `idle_timeout.timeout_seconds` default.
const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 60;
/// The target group's `stickiness.lb_cookie.duration_seconds` default.
const DEFAULT_STICKINESS_SECONDS: u64 = 86_400;

/// Every HTTP listener and target group of one configuration, ready for requests.
#[derive(Default)]
pub(crate) struct Snapshot {
    /// HTTP listeners of application load balancers, by listener ARN.
    pub listeners: HashMap<String, CompiledListener>,
    /// Every target group, by ARN.
    pub target_groups: HashMap<String, Arc<CompiledTargetGroup>>,
    /// Security groups, load balancers as endpoints, and group membership.
    pub world: World,
}

/// One listener: where it binds and how it routes.
pub(crate) struct CompiledListener {
    pub arn: String,
    pub address: SocketAddr,
    pub rules: RuleTable,
    /// The load balancer's `idle_timeout.timeout_seconds`: how long a target may take
    /// to answer before the client gets a 504.
    pub idle_timeout: Duration,
    /// The sources the load balancer's groups let in on this listener's TCP port;
    /// `None` when the load balancer has no group (not filtered).
    pub allowed_sources: Option<Vec<IpNet>>,
    /// The load balancer's `routing.http.desync_mitigation_mode`.
    pub desync_mode: crate::desync::Mode,
}

/// One target group as the request path needs it; the live health (and the round-robin
/// cursor) is shared with the health checker and survives snapshots.
pub(crate) struct CompiledTargetGroup {
    pub arn: String,
    /// The stickiness in force, if enabled.
    pub stickiness: Option<Stickiness>,
    /// `load_balancing.algorithm.type` (and anomaly mitigation).
    pub algorithm: Algorithm,
    pub health: Arc<GroupHealth>,
    /// How requests reach the targets (`ProtocolVersion`).
    pub protocol: crate::alb::TargetProtocol,
}

/// A target group's stickiness, with how long a cookie keeps a client on its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stickiness {
    /// `lb_cookie`: AWSALB / AWSALBCORS on every response.
    LbCookie(Duration),
    /// `app_cookie`: AWSALBAPP-0 when the target sets the cookie `name`.
    AppCookie { name: String, duration: Duration },
}

impl Snapshot {
    /// Compile `config`; `groups` holds the live health of every target group in it.
    pub fn compile(config: &Config, groups: &HashMap<String, Arc<GroupHealth>>) -> Snapshot {
        let world = World::from_config(config);
        let mut listeners = HashMap::new();
        for lb in config.load_balancers.values() {
            if lb.kind != "application" {
                continue;
            }
            let idle_timeout = Duration::from_secs(
                attribute(&lb.attributes, "idle_timeout.timeout_seconds").unwrap_or(DEFAULT_IDLE_TIMEOUT_SECONDS),
            );
            for l in config.listeners_of(&lb.arn) {
                if l.protocol != "HTTP" {
                    tracing::debug!(listener = %l.arn, protocol = %l.protocol, "listener protocol not served yet");
                    continue;
                }
                let rules = RuleTable::new(l, config.rules_of(&l.arn).map(|r| &**r));
                listeners.insert(
                    l.arn.clone(),
                    CompiledListener {
                        arn: l.arn.clone(),
                        address: listener_address(lb, l.port),
                        rules,
                        idle_timeout,
                        allowed_sources: ingress_sources(&world, IpAddr::V4(lb.address), Traffic::Tcp(l.port)),
                        desync_mode: crate::desync::Mode::from_attribute(
                            lb.attributes
                                .get("routing.http.desync_mitigation_mode")
                                .map(String::as_str),
                        ),
                    },
                );
            }
        }
        let target_groups = config
            .target_groups
            .values()
            .filter_map(|tg| {
                let health = groups.get(&tg.arn)?.clone();
                Some((
                    tg.arn.clone(),
                    Arc::new(CompiledTargetGroup {
                        arn: tg.arn.clone(),
                        stickiness: stickiness(tg),
                        algorithm: Algorithm::from_attributes(
                            tg.attribute("load_balancing.algorithm.type"),
                            tg.attribute("load_balancing.algorithm.anomaly_mitigation"),
                        ),
                        health,
                        protocol: crate::alb::TargetProtocol::of(tg.protocol_version.as_deref()),
                    }),
                ))
            })
            .collect();
        Snapshot {
            listeners,
            target_groups,
            world,
        }
    }
}

fn listener_address(lb: &LoadBalancer, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(lb.address, port))
}

/// The group's stickiness when `stickiness.enabled` is true (`source_ip` is an NLB type).
fn stickiness(tg: &TargetGroup) -> Option<Stickiness> {
    if tg.attribute("stickiness.enabled") != Some("true") {
        return None;
    }
    let seconds = |key| Duration::from_secs(attribute(&tg.attributes, key).unwrap_or(DEFAULT_STICKINESS_SECONDS));
    match tg.attribute("stickiness.type").unwrap_or("lb_cookie") {
        "lb_cookie" => Some(Stickiness::LbCookie(seconds("stickiness.lb_cookie.duration_seconds"))),
        "app_cookie" => Some(Stickiness::AppCookie {
            name: tg.attribute("stickiness.app_cookie.cookie_name")?.to_owned(),
            duration: seconds("stickiness.app_cookie.duration_seconds"),
        }),
        _ => None,
    }
}

/// A numeric attribute; `None` when absent or not a number (the API validated it).
pub(crate) fn attribute(attributes: &std::collections::BTreeMap<String, String>, key: &str) -> Option<u64> {
    attributes.get(key)?.trim().parse().ok()
}
