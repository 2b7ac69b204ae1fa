//! CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{HealthCheck, Kind, Matcher, TargetGroup};
use fulmar_routing::health::CodeMatcher;

use super::attributes::target_group_defaults;
use super::load_balancers::Empty;
use super::names::check_name;
use super::{lb_not_found, page, tg_not_found};
use crate::ids;
use crate::shapes::{merge_tags, TagIn};
use crate::Txn;

const MAX_TARGET_GROUPS: usize = 3000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MatcherIn {
    http_code: Option<String>,
    grpc_code: Option<String>,
}

/// The health-check fields CreateTargetGroup and ModifyTargetGroup share.
pub struct HealthCheckIn {
    health_check_protocol: Option<String>,
    health_check_port: Option<String>,
    health_check_enabled: Option<bool>,
    health_check_path: Option<String>,
    health_check_interval_seconds: Option<u32>,
    health_check_timeout_seconds: Option<u32>,
    healthy_threshold_count: Option<u32>,
    unhealthy_threshold_count: Option<u32>,
    matcher: Option<MatcherIn>,
}

/// Move the health-check fields of an input into a [`HealthCheckIn`].
macro_rules! health_fields {
    ($input:expr) => {
        HealthCheckIn {
            health_check_protocol: $input.health_check_protocol,
            health_check_port: $input.health_check_port,
            health_check_enabled: $input.health_check_enabled,
            health_check_path: $input.health_check_path,
            health_check_interval_seconds: $input.health_check_interval_seconds,
            health_check_timeout_seconds: $input.health_check_timeout_seconds,
            healthy_threshold_count: $input.healthy_threshold_count,
            unhealthy_threshold_count: $input.unhealthy_threshold_count,
            matcher: $input.matcher,
        }
    };
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    name: String,
    protocol: Option<String>,
    protocol_version: Option<String>,
    port: Option<u32>,
    vpc_id: Option<String>,
    target_type: Option<String>,
    ip_address_type: Option<String>,
    #[serde(default)]
    tags: Vec<TagIn>,
    health_check_protocol: Option<String>,
    health_check_port: Option<String>,
    health_check_enabled: Option<bool>,
    health_check_path: Option<String>,
    health_check_interval_seconds: Option<u32>,
    health_check_timeout_seconds: Option<u32>,
    healthy_threshold_count: Option<u32>,
    unhealthy_threshold_count: Option<u32>,
    matcher: Option<MatcherIn>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetGroupsOut {
    target_groups: Vec<TargetGroupOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct TargetGroupOut {
    target_group_arn: String,
    target_group_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_id: Option<String>,
    health_check_protocol: String,
    health_check_port: String,
    health_check_enabled: bool,
    health_check_interval_seconds: u32,
    health_check_timeout_seconds: u32,
    healthy_threshold_count: u32,
    unhealthy_threshold_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matcher: Option<MatcherOut>,
    load_balancer_arns: Vec<String>,
    target_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol_version: Option<String>,
    ip_address_type: String,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct MatcherOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    http_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grpc_code: Option<String>,
}

fn render(txn: &Txn, tg: &TargetGroup) -> TargetGroupOut {
    let hc = &tg.health_check;
    TargetGroupOut {
        target_group_arn: tg.arn.clone(),
        target_group_name: tg.name.clone(),
        protocol: tg.protocol.clone(),
        port: tg.port,
        vpc_id: tg.vpc_id.clone(),
        health_check_protocol: hc.protocol.clone(),
        health_check_port: hc.port.clone(),
        health_check_enabled: hc.enabled,
        health_check_interval_seconds: hc.interval_seconds,
        health_check_timeout_seconds: hc.timeout_seconds,
        healthy_threshold_count: hc.healthy_threshold,
        unhealthy_threshold_count: hc.unhealthy_threshold,
        health_check_path: hc.path.clone(),
        matcher: hc.matcher.as_ref().map(|m| MatcherOut {
            http_code: m.http_code.clone(),
            grpc_code: m.grpc_code.clone(),
        }),
        load_balancer_arns: txn.config.load_balancers_of_target_group(&tg.arn),
        target_type: tg.target_type.clone(),
        protocol_version: tg.protocol_version.clone(),
        ip_address_type: tg.ip_address_type.clone(),
    }
}

/// Fill and check a health check: ALB HTTP/HTTPS defaults and AWS's ranges.
fn apply_health(hc: &mut HealthCheck, input: HealthCheckIn, grpc: bool) -> Result<(), AwsError> {
    if let Some(p) = input.health_check_protocol {
        if !matches!(p.as_str(), "HTTP" | "HTTPS") {
            return Err(AwsError::validation(format!(
                "Health check protocol '{p}' is not supported for target groups with the HTTP or HTTPS protocol"
            )));
        }
        hc.protocol = p;
    }
    if let Some(port) = input.health_check_port {
        if port != "traffic-port" && !port.parse::<u16>().is_ok_and(|p| p >= 1) {
            return Err(AwsError::validation(format!(
                "Health check port '{port}' must be 'traffic-port' or a number between 1 and 65535"
            )));
        }
        hc.port = port;
    }
    if let Some(e) = input.health_check_enabled {
        hc.enabled = e;
    }
    if let Some(path) = input.health_check_path {
        if !path.starts_with('/') || path.len() > 1024 {
            return Err(AwsError::validation(
                "Health check path must begin with a '/' character and can be at most 1024 characters long",
            ));
        }
        hc.path = Some(path);
    }
    let ranged = |v: Option<u32>, lo: u32, hi: u32, name: &str| -> Result<Option<u32>, AwsError> {
        match v {
            Some(n) if !(lo..=hi).contains(&n) => Err(AwsError::validation(format!(
                "1 validation error detected: Value '{n}' at '{name}' failed to satisfy constraint: Member must have value {} {}",
                if n < lo { "greater than or equal to" } else { "less than or equal to" },
                if n < lo { lo } else { hi }
            ))),
            other => Ok(other),
        }
    };
    if let Some(n) = ranged(
        input.health_check_interval_seconds,
        5,
        300,
        "healthCheckIntervalSeconds",
    )? {
        hc.interval_seconds = n;
    }
    if let Some(n) = ranged(input.health_check_timeout_seconds, 2, 120, "healthCheckTimeoutSeconds")? {
        hc.timeout_seconds = n;
    }
    if let Some(n) = ranged(input.healthy_threshold_count, 2, 10, "healthyThresholdCount")? {
        hc.healthy_threshold = n;
    }
    if let Some(n) = ranged(input.unhealthy_threshold_count, 2, 10, "unhealthyThresholdCount")? {
        hc.unhealthy_threshold = n;
    }
    if let Some(m) = input.matcher {
        if let Some(code) = &m.http_code {
            CodeMatcher::parse(code, false).map_err(AwsError::validation)?;
        }
        if let Some(code) = &m.grpc_code {
            CodeMatcher::parse(code, true).map_err(AwsError::validation)?;
        }
        if m.http_code.is_some() && grpc || m.grpc_code.is_some() && !grpc {
            return Err(AwsError::validation(
                "The matcher must use GrpcCode for GRPC target groups and HttpCode otherwise",
            ));
        }
        hc.matcher = Some(Matcher {
            http_code: m.http_code,
            grpc_code: m.grpc_code,
        });
    }
    if hc.timeout_seconds >= hc.interval_seconds {
        return Err(AwsError::validation(
            "Health check interval must be greater than the timeout.",
        ));
    }
    Ok(())
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<TargetGroupsOut, AwsError> {
    check_name(&input.name, "Target group")?;
    let target_type = input.target_type.unwrap_or_else(|| "instance".into());
    if !matches!(target_type.as_str(), "instance" | "ip" | "lambda" | "alb") {
        return Err(AwsError::validation(format!(
            "Target type '{target_type}' is not valid"
        )));
    }
    let lambda = target_type == "lambda";
    let protocol = input.protocol;
    let port = match input.port {
        Some(p) if !(1..=65535).contains(&p) => {
            return Err(AwsError::validation("Port must be between 1 and 65535"));
        }
        p => p.map(|p| p as u16),
    };
    if !lambda {
        let Some(proto) = &protocol else {
            return Err(AwsError::validation("A protocol must be specified"));
        };
        if !matches!(proto.as_str(), "HTTP" | "HTTPS") {
            return Err(AwsError::validation(format!(
                "Target group protocol '{proto}' is not supported by this Fulmar version (HTTP and HTTPS are)"
            )));
        }
        if port.is_none() {
            return Err(AwsError::validation("A port must be specified"));
        }
        let Some(vpc) = &input.vpc_id else {
            return Err(AwsError::validation("A VPC ID must be specified"));
        };
        if !txn.config.vpcs.get(vpc).is_some_and(|v| v.region == txn.region) {
            return Err(AwsError::validation(format!("The VPC ID '{vpc}' is not found")));
        }
    } else if protocol.is_some() || port.is_some() || input.vpc_id.is_some() {
        return Err(AwsError::validation(
            "Protocol, port and VPC ID cannot be specified for target groups with target type 'lambda'",
        ));
    }
    let version = match (&protocol, input.protocol_version) {
        (Some(_), Some(v)) => {
            if !matches!(v.as_str(), "HTTP1" | "HTTP2" | "GRPC") {
                return Err(AwsError::validation(format!("Protocol version '{v}' is not valid")));
            }
            Some(v)
        }
        (Some(_), None) => Some("HTTP1".to_string()),
        (None, v) => v,
    };
    let grpc = version.as_deref() == Some("GRPC");
    let mut health_check = HealthCheck {
        enabled: !lambda,
        protocol: protocol.clone().unwrap_or_else(|| "HTTP".into()),
        port: "traffic-port".into(),
        path: Some(if grpc { "/AWS.ALB/healthcheck" } else { "/" }.into()),
        interval_seconds: if lambda { 35 } else { 30 },
        timeout_seconds: if lambda { 30 } else { 5 },
        healthy_threshold: 5,
        unhealthy_threshold: if lambda { 5 } else { 2 },
        matcher: Some(Matcher {
            http_code: (!grpc).then(|| "200".into()),
            grpc_code: grpc.then(|| "12".into()),
        }),
    };
    apply_health(&mut health_check, health_fields!(input), grpc)?;

    let new = TargetGroup {
        arn: String::new(),
        name: input.name,
        protocol,
        protocol_version: version,
        port,
        vpc_id: input.vpc_id,
        target_type,
        ip_address_type: input.ip_address_type.unwrap_or_else(|| "ipv4".into()),
        health_check,
        attributes: target_group_defaults(),
        targets: Vec::new(),
        tags: Vec::new(),
    };
    if let Some(existing) = txn
        .config
        .target_groups
        .values()
        .find(|t| t.name == new.name && txn.owns_arn(&t.arn))
    {
        let same = existing.protocol == new.protocol
            && existing.port == new.port
            && existing.vpc_id == new.vpc_id
            && existing.target_type == new.target_type
            && existing.health_check == new.health_check;
        if same {
            let out = render(txn, existing);
            return Ok(TargetGroupsOut {
                target_groups: vec![out],
                next_marker: None,
            });
        }
        return Err(AwsError::new(
            "DuplicateTargetGroupName",
            400,
            "A target group with the same name exists, but with different settings",
        ));
    }
    if txn
        .config
        .target_groups
        .values()
        .filter(|t| txn.owns_arn(&t.arn))
        .count()
        >= MAX_TARGET_GROUPS
    {
        return Err(AwsError::new(
            "TooManyTargetGroups",
            400,
            "You've reached the limit on the number of target groups for your AWS account",
        ));
    }
    let mut tg = new;
    merge_tags(&mut tg.tags, input.tags)?;
    tg.arn = format!(
        "{}targetgroup/{}/{}",
        txn.arn_prefix("elasticloadbalancing"),
        tg.name,
        ids::hex(16)
    );
    let out = render(txn, &tg);
    txn.touch(Kind::TargetGroup, &tg.arn);
    txn.config.target_groups.insert(tg.arn.clone(), Arc::new(tg));
    Ok(TargetGroupsOut {
        target_groups: vec![out],
        next_marker: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    load_balancer_arn: Option<String>,
    target_group_arns: Option<Vec<String>>,
    names: Option<Vec<String>>,
    marker: Option<String>,
    page_size: Option<u32>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<TargetGroupsOut, AwsError> {
    let given = [
        input.load_balancer_arn.is_some(),
        input.target_group_arns.as_ref().is_some_and(|v| !v.is_empty()),
        input.names.as_ref().is_some_and(|v| !v.is_empty()),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(AwsError::validation(
            "Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time",
        ));
    }
    let mut found: Vec<Arc<TargetGroup>> = Vec::new();
    if let Some(arns) = input.target_group_arns.filter(|v| !v.is_empty()) {
        for arn in arns {
            found.push(
                txn.config
                    .target_groups
                    .get(&arn)
                    .filter(|t| txn.owns_arn(&t.arn))
                    .cloned()
                    .ok_or_else(tg_not_found)?,
            );
        }
    } else if let Some(names) = input.names.filter(|v| !v.is_empty()) {
        for name in names {
            let tg = txn
                .config
                .target_groups
                .values()
                .find(|t| t.name == name && txn.owns_arn(&t.arn));
            found.push(tg.cloned().ok_or_else(tg_not_found)?);
        }
    } else {
        if let Some(lb) = &input.load_balancer_arn {
            if !txn.config.load_balancers.contains_key(lb) {
                return Err(lb_not_found());
            }
        }
        found = txn
            .config
            .target_groups
            .values()
            .filter(|t| txn.owns_arn(&t.arn))
            .filter(|t| {
                input
                    .load_balancer_arn
                    .as_ref()
                    .is_none_or(|lb| txn.config.load_balancers_of_target_group(&t.arn).contains(lb))
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name).then(a.arn.cmp(&b.arn)));
    }
    let rendered: Vec<TargetGroupOut> = found.iter().map(|t| render(txn, t)).collect();
    let (target_groups, next_marker) = page(rendered, input.marker.as_deref(), input.page_size)?;
    Ok(TargetGroupsOut {
        target_groups,
        next_marker,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyInput {
    target_group_arn: String,
    health_check_protocol: Option<String>,
    health_check_port: Option<String>,
    health_check_enabled: Option<bool>,
    health_check_path: Option<String>,
    health_check_interval_seconds: Option<u32>,
    health_check_timeout_seconds: Option<u32>,
    healthy_threshold_count: Option<u32>,
    unhealthy_threshold_count: Option<u32>,
    matcher: Option<MatcherIn>,
}

pub fn modify(txn: &mut Txn, input: ModifyInput) -> Result<TargetGroupsOut, AwsError> {
    let tg = txn
        .config
        .target_groups
        .get(&input.target_group_arn)
        .cloned()
        .ok_or_else(tg_not_found)?;
    let mut tg = (*tg).clone();
    let grpc = tg.protocol_version.as_deref() == Some("GRPC");
    apply_health(&mut tg.health_check, health_fields!(input), grpc)?;
    let out = render(txn, &tg);
    txn.touch(Kind::TargetGroup, &tg.arn);
    txn.config.target_groups.insert(tg.arn.clone(), Arc::new(tg));
    Ok(TargetGroupsOut {
        target_groups: vec![out],
        next_marker: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    target_group_arn: String,
}

pub fn delete(txn: &mut Txn, input: DeleteInput) -> Result<Empty, AwsError> {
    if !txn.config.target_groups.contains_key(&input.target_group_arn) {
        return Ok(Empty {});
    }
    if let Some(lb) = txn
        .config
        .load_balancers_of_target_group(&input.target_group_arn)
        .first()
    {
        return Err(AwsError::new(
            "ResourceInUse",
            400,
            format!(
                "Target group '{}' is currently in use by a listener or a rule of load balancer '{lb}'",
                input.target_group_arn
            ),
        ));
    }
    txn.config.target_groups.remove(&input.target_group_arn);
    txn.touch(Kind::TargetGroup, &input.target_group_arn);
    Ok(Empty {})
}
