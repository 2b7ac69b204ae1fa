//! Load-balancer attributes: AWS's keys, defaults and value ranges (target groups: `target_group_attributes.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::Kind;

use super::{lb_not_found, listener_not_found};
use crate::Txn;

/// How an attribute's value is checked.
enum Check {
    Bool,
    Range(u64, u64),
    OneOf(&'static [&'static str]),
    Any,
    /// A response header's value (`routing.http.response.*.header_value`): empty
    /// (no header), or visible ASCII, spaces and tabs.
    HeaderValue,
    /// `routing.http.response.x_frame_options.header_value`: `DENY`, `SAMEORIGIN` or
    /// `ALLOW-FROM <uri>` (or empty).
    FrameOptions,
    /// `routing.http.response.access_control_max_age.header_value`: seconds (or empty).
    Seconds,
}

/// Application Load Balancer attributes with their defaults.
const LB_ATTRIBUTES: &[(&str, &str, Check)] = &[
    ("access_logs.s3.enabled", "false", Check::Bool),
    ("access_logs.s3.bucket", "", Check::Any),
    ("access_logs.s3.prefix", "", Check::Any),
    ("client_keep_alive.seconds", "3600", Check::Range(60, 604_800)),
    ("connection_logs.s3.enabled", "false", Check::Bool),
    ("connection_logs.s3.bucket", "", Check::Any),
    ("connection_logs.s3.prefix", "", Check::Any),
    ("deletion_protection.enabled", "false", Check::Bool),
    ("health_check_logs.s3.enabled", "false", Check::Bool),
    ("health_check_logs.s3.bucket", "", Check::Any),
    ("health_check_logs.s3.prefix", "", Check::Any),
    ("idle_timeout.timeout_seconds", "60", Check::Range(1, 4000)),
    ("load_balancing.cross_zone.enabled", "true", Check::Bool),
    (
        "routing.http.desync_mitigation_mode",
        "defensive",
        Check::OneOf(&["monitor", "defensive", "strictest"]),
    ),
    ("routing.http.drop_invalid_header_fields.enabled", "false", Check::Bool),
    ("routing.http.preserve_host_header.enabled", "false", Check::Bool),
    (
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
        "false",
        Check::Bool,
    ),
    ("routing.http.xff_client_port.enabled", "false", Check::Bool),
    (
        "routing.http.xff_header_processing.mode",
        "append",
        Check::OneOf(&["append", "preserve", "remove"]),
    ),
    ("routing.http2.enabled", "true", Check::Bool),
    ("waf.fail_open.enabled", "false", Check::Bool),
    ("zonal_shift.config.enabled", "false", Check::Bool),
];

/// Network Load Balancer attributes with their defaults.
const NLB_ATTRIBUTES: &[(&str, &str, Check)] = &[
    ("access_logs.s3.enabled", "false", Check::Bool),
    ("access_logs.s3.bucket", "", Check::Any),
    ("access_logs.s3.prefix", "", Check::Any),
    ("deletion_protection.enabled", "false", Check::Bool),
    (
        "dns_record.client_routing_policy",
        "any_availability_zone",
        Check::OneOf(&[
            "availability_zone_affinity",
            "partial_availability_zone_affinity",
            "any_availability_zone",
        ]),
    ),
    ("ipv6.deny_all_igw_traffic", "false", Check::Bool),
    ("load_balancing.cross_zone.enabled", "false", Check::Bool),
    ("secondary_ips.auto_assigned.per_subnet", "0", Check::Range(0, 7)),
    ("zonal_shift.config.enabled", "false", Check::Bool),
];

/// Gateway Load Balancer attributes with their defaults.
const GWLB_ATTRIBUTES: &[(&str, &str, Check)] = &[
    ("deletion_protection.enabled", "false", Check::Bool),
    ("load_balancing.cross_zone.enabled", "false", Check::Bool),
];

/// The attribute table of a load balancer type.
fn lb_table(kind: &str) -> &'static [(&'static str, &'static str, Check)] {
    match kind {
        "network" => NLB_ATTRIBUTES,
        "gateway" => GWLB_ATTRIBUTES,
        _ => LB_ATTRIBUTES,
    }
}

/// Listener attributes of an ALB listener (response headers).
const HTTP_LISTENER_ATTRIBUTES: &[(&str, &str, Check)] = &[
    ("routing.http.response.server.enabled", "true", Check::Bool),
    (
        "routing.http.response.strict_transport_security.header_value",
        "",
        Check::HeaderValue,
    ),
    (
        "routing.http.response.access_control_allow_origin.header_value",
        "",
        Check::HeaderValue,
    ),
    (
        "routing.http.response.access_control_allow_methods.header_value",
        "",
        Check::HeaderValue,
    ),
    (
        "routing.http.response.access_control_allow_headers.header_value",
        "",
        Check::HeaderValue,
    ),
    (
        "routing.http.response.access_control_allow_credentials.header_value",
        "",
        Check::OneOf(&["", "true"]),
    ),
    (
        "routing.http.response.access_control_expose_headers.header_value",
        "",
        Check::HeaderValue,
    ),
    (
        "routing.http.response.access_control_max_age.header_value",
        "",
        Check::Seconds,
    ),
    (
        "routing.http.response.content_security_policy.header_value",
        "",
        Check::HeaderValue,
    ),
    (
        "routing.http.response.x_content_type_options.header_value",
        "",
        Check::OneOf(&["", "nosniff"]),
    ),
    (
        "routing.http.response.x_frame_options.header_value",
        "",
        Check::FrameOptions,
    ),
];

/// Listener attributes of an NLB TCP listener.
const TCP_LISTENER_ATTRIBUTES: &[(&str, &str, Check)] = &[("tcp.idle_timeout.seconds", "350", Check::Range(60, 6000))];

fn listener_table(protocol: &str) -> &'static [(&'static str, &'static str, Check)] {
    match protocol {
        "HTTP" | "HTTPS" => HTTP_LISTENER_ATTRIBUTES,
        "TCP" => TCP_LISTENER_ATTRIBUTES,
        _ => &[],
    }
}

/// A new listener's attributes.
pub fn listener_defaults(protocol: &str) -> BTreeMap<String, String> {
    defaults(listener_table(protocol))
}

fn defaults(table: &[(&str, &str, Check)]) -> BTreeMap<String, String> {
    table.iter().map(|(k, v, _)| (k.to_string(), v.to_string())).collect()
}

pub fn load_balancer_defaults(kind: &str) -> BTreeMap<String, String> {
    defaults(lb_table(kind))
}

fn check(table: &[(&str, &str, Check)], key: &str, value: &str, what: &str) -> Result<(), AwsError> {
    let Some((_, _, rule)) = table.iter().find(|(k, _, _)| *k == key) else {
        return Err(AwsError::validation(format!(
            "{what} attribute key '{key}' is not recognized"
        )));
    };
    let ok = match rule {
        Check::Bool => value == "true" || value == "false",
        Check::Range(lo, hi) => value.parse::<u64>().is_ok_and(|n| (*lo..=*hi).contains(&n)),
        Check::OneOf(options) => options.contains(&value),
        Check::Any => value.len() <= 1024,
        Check::HeaderValue => value.len() <= 1024 && value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)),
        Check::FrameOptions => {
            matches!(value, "" | "DENY" | "SAMEORIGIN")
                || value
                    .strip_prefix("ALLOW-FROM ")
                    .is_some_and(|uri| !uri.is_empty() && uri.bytes().all(|b| b.is_ascii_graphic()))
        }
        Check::Seconds => value.is_empty() || (value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit())),
    };
    if ok {
        Ok(())
    } else {
        Err(AwsError::validation(format!(
            "{what} attribute '{key}' cannot have value '{value}'"
        )))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeIn {
    pub(super) key: String,
    pub(super) value: Option<String>,
}

impl AttributeIn {
    /// The value, `""` when the request left it out.
    pub(super) fn value(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeOut {
    key: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOut {
    attributes: Vec<AttributeOut>,
}

pub(super) fn render(map: &BTreeMap<String, String>) -> AttributesOut {
    AttributesOut {
        attributes: map
            .iter()
            .map(|(k, v)| AttributeOut {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
    }
}

/// Apply `changes` to `map` after checking every one (all or nothing).
fn apply(
    table: &[(&str, &str, Check)],
    map: &mut BTreeMap<String, String>,
    changes: Vec<AttributeIn>,
    what: &str,
) -> Result<(), AwsError> {
    if changes.is_empty() {
        return Err(AwsError::validation("Attributes must contain at least one attribute"));
    }
    for c in &changes {
        check(table, &c.key, c.value.as_deref().unwrap_or(""), what)?;
    }
    for c in changes {
        map.insert(c.key, c.value.unwrap_or_default());
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LbArnInput {
    load_balancer_arn: String,
}

pub fn describe_load_balancer(txn: &mut Txn, input: LbArnInput) -> Result<AttributesOut, AwsError> {
    let lb = txn
        .config
        .load_balancers
        .get(&input.load_balancer_arn)
        .ok_or_else(lb_not_found)?;
    Ok(render(&lb.attributes))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyLbInput {
    load_balancer_arn: String,
    #[serde(default)]
    attributes: Vec<AttributeIn>,
}

pub fn modify_load_balancer(txn: &mut Txn, input: ModifyLbInput) -> Result<AttributesOut, AwsError> {
    let lb = txn
        .config
        .load_balancers
        .get(&input.load_balancer_arn)
        .ok_or_else(lb_not_found)?;
    let mut lb = (**lb).clone();
    apply(
        lb_table(&lb.kind),
        &mut lb.attributes,
        input.attributes,
        "Load balancer",
    )?;
    let out = render(&lb.attributes);
    txn.touch(Kind::LoadBalancer, &lb.arn);
    txn.config.load_balancers.insert(lb.arn.clone(), Arc::new(lb));
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListenerArnInput {
    listener_arn: String,
}

pub fn describe_listener(txn: &mut Txn, input: ListenerArnInput) -> Result<AttributesOut, AwsError> {
    let l = txn
        .config
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(listener_not_found)?;
    Ok(render(&listener_attributes(l)))
}

/// A listener's attributes over its protocol's defaults (listeners stored before
/// listener attributes existed have none recorded).
fn listener_attributes(l: &fulmar_model::Listener) -> BTreeMap<String, String> {
    let mut map = listener_defaults(&l.protocol);
    map.extend(l.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
    map
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyListenerInput {
    listener_arn: String,
    #[serde(default)]
    attributes: Vec<AttributeIn>,
}

pub fn modify_listener(txn: &mut Txn, input: ModifyListenerInput) -> Result<AttributesOut, AwsError> {
    let l = txn
        .config
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(listener_not_found)?;
    let mut l = (**l).clone();
    l.attributes = listener_attributes(&l);
    apply(
        listener_table(&l.protocol),
        &mut l.attributes,
        input.attributes,
        "Listener",
    )?;
    let out = render(&l.attributes);
    txn.touch(Kind::Listener, &l.arn);
    txn.config.listeners.insert(l.arn.clone(), Arc::new(l));
    Ok(out)
}
