//! Elastic Load Balancing (v2) resources, shaped like the ELBv2 API's own types.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Tag;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    pub canonical_hosted_zone_id: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    pub vpc_id: String,
    /// `active`, `provisioning`, `active_impaired` or `failed`.
    pub state: String,
    /// `application`, `network` or `gateway`.
    pub kind: String,
    pub subnets: Vec<SubnetMapping>,
    pub security_groups: Vec<String>,
    /// `ipv4` or `dualstack`.
    pub ip_address_type: String,
    /// The loopback address from `--lb-address-pool` that this load balancer's listeners bind.
    pub address: Ipv4Addr,
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetMapping {
    pub subnet_id: String,
    pub zone_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    /// `HTTP`, `HTTPS`, `TCP`, ...; `None` for lambda target groups.
    pub protocol: Option<String>,
    /// `HTTP1`, `HTTP2` or `GRPC` for HTTP/HTTPS target groups.
    pub protocol_version: Option<String>,
    pub port: Option<u16>,
    pub vpc_id: Option<String>,
    /// `instance`, `ip`, `lambda` or `alb`.
    pub target_type: String,
    pub ip_address_type: String,
    pub health_check: HealthCheck,
    pub attributes: BTreeMap<String, String>,
    pub targets: Vec<Target>,
    pub tags: Vec<Tag>,
    /// Targets deregistered while the group was in use, with when (epoch ms), kept for
    /// the deregistration delay: DescribeTargetHealth answers them `draining` from the
    /// moment DeregisterTargets returns, before the data plane has taken the change in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deregistered: Vec<(Target, i64)>,
}

impl TargetGroup {
    /// An attribute's value (every attribute is present from creation on).
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub enabled: bool,
    pub protocol: String,
    /// A port number or `traffic-port`.
    pub port: String,
    pub path: Option<String>,
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub matcher: Option<Matcher>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matcher {
    pub http_code: Option<String>,
    pub grpc_code: Option<String>,
}

/// A registered target: an instance id or an IP address, and the port it serves on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    /// The port traffic goes to (the target group's port when not given at registration).
    pub port: u16,
    pub availability_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: String,
    pub port: u16,
    pub protocol: String,
    pub default_actions: Vec<Action>,
    pub certificates: Vec<String>,
    pub ssl_policy: Option<String>,
    pub alpn_policy: Vec<String>,
    pub tags: Vec<Tag>,
    /// Listener attributes (`tcp.idle_timeout.seconds`, `routing.http.response.*`, ...).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Mutual TLS (HTTPS listeners); `None` is mode `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutual_authentication: Option<MutualAuthentication>,
}

/// A listener's client-certificate handling (`MutualAuthentication`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutualAuthentication {
    /// `passthrough` or `verify` (`off` is stored as no mutual authentication).
    pub mode: String,
    pub trust_store_arn: Option<String>,
    pub ignore_client_certificate_expiry: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub arn: String,
    pub listener_arn: String,
    pub priority: u32,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
    pub tags: Vec<Tag>,
    /// Per condition: true when the request gave it as the legacy `Values` list
    /// (echoed back that way), false for the `*Config` form.
    #[serde(default)]
    pub legacy_values: Vec<bool>,
}

/// A listener-rule condition. Values are OR'd within a condition; conditions are AND'd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    /// Case-insensitive, `*` and `?` wildcards.
    HostHeader(Vec<String>),
    /// Case-sensitive, `*` and `?` wildcards, matched against the path only.
    PathPattern(Vec<String>),
    /// Header name case-insensitive; values case-insensitive with wildcards.
    HttpHeader { name: String, values: Vec<String> },
    /// Any pair matching is enough; key optional; case-insensitive; wildcards.
    QueryString(Vec<QueryStringPair>),
    /// Exact, case-sensitive.
    HttpRequestMethod(Vec<String>),
    /// CIDRs matched against the connection's source address.
    SourceIp(Vec<IpNet>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStringPair {
    pub key: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub order: Option<u32>,
    pub kind: ActionKind,
}

impl Action {
    /// Every target group this action may send traffic to.
    pub fn target_group_arns(&self) -> impl Iterator<Item = &str> {
        let list: &[WeightedTargetGroup] = match &self.kind {
            ActionKind::Forward(f) => &f.target_groups,
            _ => &[],
        };
        list.iter().map(|t| t.arn.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActionKind {
    Forward(ForwardConfig),
    Redirect(RedirectConfig),
    FixedResponse(FixedResponseConfig),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardConfig {
    /// True when the request named a single `TargetGroupArn` (echoed back that way).
    pub single: bool,
    pub target_groups: Vec<WeightedTargetGroup>,
    /// Target-group stickiness: `Some(duration_seconds)` when enabled.
    pub stickiness_seconds: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedTargetGroup {
    pub arn: String,
    /// 0–999.
    pub weight: u32,
}

/// A redirect; every part may hold `#{protocol}`, `#{host}`, `#{port}`, `#{path}`,
/// `#{query}` placeholders, and unchanged parts default to their placeholder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedirectConfig {
    pub protocol: String,
    pub port: String,
    pub host: String,
    pub path: String,
    pub query: String,
    /// `HTTP_301` or `HTTP_302`.
    pub status_code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedResponseConfig {
    pub status_code: String,
    pub content_type: Option<String>,
    pub message_body: Option<String>,
}
