//! Target-group attributes: which keys each kind of target group has (Application,
//! Network or Gateway Load Balancer protocols, Lambda functions), their defaults and
//! value ranges, and the stickiness types each protocol allows.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use fulmar_aws::AwsError;
use fulmar_model::{Kind, TargetGroup};

use super::attributes::{render, AttributeIn, AttributesOut};
use super::tg_not_found;
use crate::Txn;

/// The kind of load balancer a target group serves, decided by its protocol and target type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// HTTP and HTTPS: Application Load Balancers.
    Application,
    /// TCP, TLS, UDP, TCP_UDP, QUIC and TCP_QUIC: Network Load Balancers.
    Network,
    /// GENEVE: Gateway Load Balancers.
    Gateway,
    /// A Lambda function (no protocol).
    Lambda,
}

impl Family {
    pub fn of(protocol: Option<&str>, target_type: &str) -> Family {
        match (target_type, protocol) {
            ("lambda", _) | (_, None) => Family::Lambda,
            (_, Some("HTTP" | "HTTPS")) => Family::Application,
            (_, Some("GENEVE")) => Family::Gateway,
            _ => Family::Network,
        }
    }

    pub fn of_group(tg: &TargetGroup) -> Family {
        Family::of(tg.protocol.as_deref(), &tg.target_type)
    }
}

/// How an attribute's value is checked.
enum Check {
    Bool,
    Range(u64, u64),
    OneOf(&'static [&'static str]),
    /// `off` or a whole number in the range.
    OffOr(u64, u64),
    /// Checked with the other stickiness settings.
    StickinessType,
    Any,
}

const TARGET_GROUP_HEALTH: &[(&str, &str, Check)] = &[
    (
        "target_group_health.dns_failover.minimum_healthy_targets.count",
        "1",
        Check::OffOr(1, 1_000_000),
    ),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.percentage",
        "off",
        Check::OffOr(1, 100),
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
        "1",
        Check::Range(1, 1_000_000),
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
        "off",
        Check::OffOr(1, 100),
    ),
];

const CROSS_ZONE: (&str, &str, Check) = (
    "load_balancing.cross_zone.enabled",
    "use_load_balancer_configuration",
    Check::OneOf(&["true", "false", "use_load_balancer_configuration"]),
);

/// HTTP/HTTPS target groups of an Application Load Balancer.
const APPLICATION: &[(&str, &str, Check)] = &[
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
    CROSS_ZONE,
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
    ("stickiness.type", "lb_cookie", Check::StickinessType),
];

/// Target groups of a Network Load Balancer (defaults that depend on the protocol or
/// target type are fixed up in [`defaults`]).
const NETWORK: &[(&str, &str, Check)] = &[
    (
        "deregistration_delay.connection_termination.enabled",
        "false",
        Check::Bool,
    ),
    ("deregistration_delay.timeout_seconds", "300", Check::Range(0, 3600)),
    CROSS_ZONE,
    ("preserve_client_ip.enabled", "true", Check::Bool),
    ("proxy_protocol_v2.enabled", "false", Check::Bool),
    ("stickiness.enabled", "false", Check::Bool),
    ("stickiness.type", "source_ip", Check::StickinessType),
    (
        "target_health_state.unhealthy.connection_termination.enabled",
        "true",
        Check::Bool,
    ),
    (
        "target_health_state.unhealthy.draining_interval_seconds",
        "0",
        Check::Range(0, 360_000),
    ),
];

/// GENEVE target groups of a Gateway Load Balancer.
const GATEWAY: &[(&str, &str, Check)] = &[
    ("deregistration_delay.timeout_seconds", "300", Check::Range(0, 3600)),
    ("stickiness.enabled", "false", Check::Bool),
    ("stickiness.type", "source_ip_dest_ip_proto", Check::StickinessType),
    (
        "target_failover.on_deregistration",
        "no_rebalance",
        Check::OneOf(&["rebalance", "no_rebalance"]),
    ),
    (
        "target_failover.on_unhealthy",
        "no_rebalance",
        Check::OneOf(&["rebalance", "no_rebalance"]),
    ),
];

/// Lambda target groups.
const LAMBDA: &[(&str, &str, Check)] = &[("lambda.multi_value_headers.enabled", "false", Check::Bool)];

fn tables(family: Family) -> Vec<&'static [(&'static str, &'static str, Check)]> {
    match family {
        Family::Application => vec![APPLICATION, TARGET_GROUP_HEALTH],
        Family::Network => vec![NETWORK, TARGET_GROUP_HEALTH],
        Family::Gateway => vec![GATEWAY],
        Family::Lambda => vec![LAMBDA],
    }
}

fn find(family: Family, key: &str) -> Option<&'static Check> {
    tables(family)
        .into_iter()
        .flat_map(|t| t.iter())
        .find(|(k, _, _)| *k == key)
        .map(|(_, _, c)| c)
}

/// Every attribute of a new target group with its default value.
pub fn defaults(protocol: Option<&str>, target_type: &str) -> BTreeMap<String, String> {
    let family = Family::of(protocol, target_type);
    let mut map: BTreeMap<String, String> = tables(family)
        .into_iter()
        .flat_map(|t| t.iter())
        .map(|(k, v, _)| (k.to_string(), v.to_string()))
        .collect();
    if family == Family::Network {
        let udp = matches!(protocol, Some("UDP" | "TCP_UDP" | "QUIC" | "TCP_QUIC"));
        if udp {
            map.insert(
                "deregistration_delay.connection_termination.enabled".into(),
                "true".into(),
            );
        }
        if target_type == "ip" && matches!(protocol, Some("TCP" | "TLS")) {
            map.insert("preserve_client_ip.enabled".into(), "false".into());
        }
    }
    map
}

fn check_value(key: &str, value: &str, rule: &Check) -> Result<(), AwsError> {
    let number_in = |lo: &u64, hi: &u64| value.parse::<u64>().is_ok_and(|n| (*lo..=*hi).contains(&n));
    let ok = match rule {
        Check::Bool => value == "true" || value == "false",
        Check::Range(lo, hi) => number_in(lo, hi),
        Check::OffOr(lo, hi) => value == "off" || number_in(lo, hi),
        Check::OneOf(options) => options.contains(&value),
        Check::StickinessType | Check::Any => value.len() <= 1024,
    };
    if ok {
        Ok(())
    } else {
        Err(AwsError::validation(format!(
            "Target group attribute '{key}' cannot have value '{value}'"
        )))
    }
}

fn key_not_recognized(key: &str) -> AwsError {
    AwsError::validation(format!("Target group attribute key '{key}' is not recognized"))
}

/// The stickiness types an Application or Network Load Balancer's target group accepts
/// (each protocol supports only some of them), checked before the attribute keys.
fn check_stickiness(tg: &TargetGroup, family: Family, changes: &[AttributeIn]) -> Result<(), AwsError> {
    let given = |key: &str| changes.iter().rev().find(|c| c.key == key).map(|c| c.value());
    let protocol = tg.protocol.as_deref().unwrap_or_default();
    if let Some(kind) = given("stickiness.type") {
        match family {
            Family::Application | Family::Network => {
                if !matches!(kind, "app_cookie" | "lb_cookie" | "source_ip") {
                    return Err(AwsError::validation(
                        "'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
                    ));
                }
                let supported = match family {
                    Family::Application => kind != "source_ip",
                    _ => kind == "source_ip",
                };
                if !supported {
                    return Err(AwsError::validation(format!(
                        "Stickiness type '{kind}' is not supported for target groups with the {protocol} protocol"
                    )));
                }
            }
            Family::Gateway | Family::Lambda => {}
        }
    }
    let enabled = given("stickiness.enabled").unwrap_or(tg.attribute("stickiness.enabled").unwrap_or("false"));
    if family == Family::Network && protocol == "TLS" && enabled == "true" {
        return Err(AwsError::validation(
            "You cannot enable stickiness on target groups with the TLS protocol",
        ));
    }
    Ok(())
}

/// A Gateway Load Balancer's flow-stickiness types, checked after the attribute keys.
fn check_gateway_stickiness(changes: &[AttributeIn]) -> Result<(), AwsError> {
    for c in changes.iter().filter(|c| c.key == "stickiness.type") {
        let kind = c.value();
        if !matches!(kind, "source_ip_dest_ip_proto" | "source_ip_dest_ip") {
            return Err(AwsError::validation(format!(
                "'{kind}' must be one of [source_ip_dest_ip_proto, source_ip_dest_ip]"
            )));
        }
    }
    Ok(())
}

/// Check every change against the group's kind, then apply them all (all or nothing).
fn apply(tg: &mut TargetGroup, changes: Vec<AttributeIn>) -> Result<(), AwsError> {
    if changes.is_empty() {
        return Err(AwsError::validation("Attributes must contain at least one attribute"));
    }
    let family = Family::of_group(tg);
    check_stickiness(tg, family, &changes)?;
    for c in &changes {
        let rule = find(family, &c.key).ok_or_else(|| key_not_recognized(&c.key))?;
        check_value(&c.key, c.value(), rule)?;
    }
    if family == Family::Gateway {
        check_gateway_stickiness(&changes)?;
        let value = |key: &str| {
            changes
                .iter()
                .rev()
                .find(|c| c.key == key)
                .map(|c| c.value().to_string())
                .or_else(|| tg.attribute(key).map(str::to_string))
        };
        if value("target_failover.on_deregistration") != value("target_failover.on_unhealthy") {
            return Err(AwsError::validation(
                "The attributes 'target_failover.on_deregistration' and 'target_failover.on_unhealthy' must have the same value",
            ));
        }
    }
    for c in changes {
        let value = c.value.unwrap_or_default();
        tg.attributes.insert(c.key, value);
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TgArnInput {
    target_group_arn: String,
}

pub fn describe(txn: &mut Txn, input: TgArnInput) -> Result<AttributesOut, AwsError> {
    let tg = txn
        .config
        .target_groups
        .get(&input.target_group_arn)
        .filter(|t| txn.owns_arn(&t.arn))
        .ok_or_else(tg_not_found)?;
    Ok(render(&tg.attributes))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyInput {
    target_group_arn: String,
    #[serde(default)]
    attributes: Vec<AttributeIn>,
}

pub fn modify(txn: &mut Txn, input: ModifyInput) -> Result<AttributesOut, AwsError> {
    let tg = txn
        .config
        .target_groups
        .get(&input.target_group_arn)
        .filter(|t| txn.owns_arn(&t.arn))
        .ok_or_else(tg_not_found)?;
    let mut tg = (**tg).clone();
    apply(&mut tg, input.attributes)?;
    let out = render(&tg.attributes);
    txn.touch(Kind::TargetGroup, &tg.arn);
    txn.config.target_groups.insert(tg.arn.clone(), Arc::new(tg));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_protocol() {
        let alb = defaults(Some("HTTP"), "instance");
        assert_eq!(alb["stickiness.type"], "lb_cookie");
        assert_eq!(alb.len(), 14);
        let udp = defaults(Some("UDP"), "instance");
        assert_eq!(udp["stickiness.type"], "source_ip");
        assert_eq!(udp["deregistration_delay.connection_termination.enabled"], "true");
        assert_eq!(defaults(Some("TCP"), "ip")["preserve_client_ip.enabled"], "false");
        assert_eq!(
            defaults(Some("GENEVE"), "ip")["stickiness.type"],
            "source_ip_dest_ip_proto"
        );
        assert!(defaults(None, "lambda").contains_key("lambda.multi_value_headers.enabled"));
    }
}
