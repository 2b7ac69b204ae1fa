//! Load-balancer and target-group attributes: AWS's keys, defaults and value ranges.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::Kind;

use super::{lb_not_found, tg_not_found};
use crate::Txn;

/// How an attribute's value is checked.
enum Check {
    Bool,
    Range(u64, u64),
    OneOf(&'static [&'static str]),
    Any,
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

/// Target-group attributes (HTTP/HTTPS target groups of an ALB) with their defaults.
const TG_ATTRIBUTES: &[(&str, &str, Check)] = &[
    ("deregistration_delay.timeout_seconds", "300", Check::Range(0, 3600)),
    (
        "load_balancing.algorithm.anomaly_mitigation",
        "off",
        Check::OneOf(&["on", "off"]),
    ),
    (
        "load_balancing.algorithm.type",
        "round_robin",
        Check::OneOf(&["round_robin", "least_outstanding_requests", "weighted_random"]),
    ),
    (
        "load_balancing.cross_zone.enabled",
        "use_load_balancer_configuration",
        Check::OneOf(&["true", "false", "use_load_balancer_configuration"]),
    ),
    ("slow_start.duration_seconds", "0", Check::Range(0, 900)),
    ("stickiness.app_cookie.cookie_name", "", Check::Any),
    (
        "stickiness.app_cookie.duration_seconds",
        "86400",
        Check::Range(1, 604_800),
    ),
    ("stickiness.enabled", "false", Check::Bool),
    (
        "stickiness.lb_cookie.duration_seconds",
        "86400",
        Check::Range(1, 604_800),
    ),
    (
        "stickiness.type",
        "lb_cookie",
        Check::OneOf(&["lb_cookie", "app_cookie"]),
    ),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.count",
        "1",
        Check::Any,
    ),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.percentage",
        "off",
        Check::Any,
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
        "1",
        Check::Any,
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
        "off",
        Check::Any,
    ),
];

fn defaults(table: &[(&str, &str, Check)]) -> BTreeMap<String, String> {
    table.iter().map(|(k, v, _)| (k.to_string(), v.to_string())).collect()
}

pub fn load_balancer_defaults() -> BTreeMap<String, String> {
    defaults(LB_ATTRIBUTES)
}

pub fn target_group_defaults() -> BTreeMap<String, String> {
    defaults(TG_ATTRIBUTES)
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
    key: String,
    value: Option<String>,
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

fn render(map: &BTreeMap<String, String>) -> AttributesOut {
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
    apply(LB_ATTRIBUTES, &mut lb.attributes, input.attributes, "Load balancer")?;
    let out = render(&lb.attributes);
    txn.touch(Kind::LoadBalancer, &lb.arn);
    txn.config.load_balancers.insert(lb.arn.clone(), Arc::new(lb));
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TgArnInput {
    target_group_arn: String,
}

pub fn describe_target_group(txn: &mut Txn, input: TgArnInput) -> Result<AttributesOut, AwsError> {
    let tg = txn
        .config
        .target_groups
        .get(&input.target_group_arn)
        .ok_or_else(tg_not_found)?;
    Ok(render(&tg.attributes))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyTgInput {
    target_group_arn: String,
    #[serde(default)]
    attributes: Vec<AttributeIn>,
}

pub fn modify_target_group(txn: &mut Txn, input: ModifyTgInput) -> Result<AttributesOut, AwsError> {
    let tg = txn
        .config
        .target_groups
        .get(&input.target_group_arn)
        .ok_or_else(tg_not_found)?;
    let mut tg = (**tg).clone();
    apply(TG_ATTRIBUTES, &mut tg.attributes, input.attributes, "Target group")?;
    let out = render(&tg.attributes);
    txn.touch(Kind::TargetGroup, &tg.arn);
    txn.config.target_groups.insert(tg.arn.clone(), Arc::new(tg));
    Ok(out)
}
