//! CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{HealthCheck, Kind, Matcher, TargetGroup};
use fulmar_routing::health::CodeMatcher;

use super::load_balancers::Empty;
use super::names::check_name;
use super::target_group_attributes::{self, Family};
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
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_port: Option<String>,
    health_check_enabled: bool,
    health_check_interval_seconds: u32,
    health_check_timeout_seconds: u32,
    healthy_threshold_count: u32,
    unhealthy_threshold_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matcher: Option<MatcherOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    load_balancer_arns: Option<Vec<String>>,
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

fn render(txn: &Txn, tg: &TargetGroup, with_load_balancers: bool) -> TargetGroupOut {
    let hc = &tg.health_check;
    let family = Family::of_group(tg);
    // A Lambda function's group reports no health-check protocol or port while its
    // health checks are off; Network and Gateway groups report no protocol version.
    let hc_addressed = family != Family::Lambda || hc.enabled;
    TargetGroupOut {
        target_group_arn: tg.arn.clone(),
        target_group_name: tg.name.clone(),
        protocol: tg.protocol.clone(),
        port: tg.port,
        vpc_id: tg.vpc_id.clone(),
        health_check_protocol: hc_addressed.then(|| hc.protocol.clone()),
        health_check_port: hc_addressed.then(|| hc.port.clone()),
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
        load_balancer_arns: with_load_balancers.then(|| txn.config.load_balancers_of_target_group(&tg.arn)),
        target_type: tg.target_type.clone(),
        protocol_version: (family == Family::Application)
            .then(|| tg.protocol_version.clone())
            .flatten(),
        ip_address_type: tg.ip_address_type.clone(),
    }
}

const PROTOCOLS: &[&str] = &[
    "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC",
];
const TARGET_TYPES: &[&str] = &["instance", "ip", "lambda", "alb"];
const IP_ADDRESS_TYPES: &[&str] = &["ipv4", "ipv6"];

/// AWS's model validation of an enumerated member.
fn check_enum(value: &str, member: &str, allowed: &[&str]) -> Result<(), AwsError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(AwsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    )))
}

/// Target-group names: the length and character rules shared with load balancers, but a
/// leading, trailing or doubled hyphen fails the model's name pattern.
fn check_target_group_name(name: &str) -> Result<(), AwsError> {
    let plain = !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if plain && (name.starts_with('-') || name.ends_with('-') || name.contains("--")) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'targetGroup.targetGroupArn.targetGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!.*--)(?!^-)(?!.*-$)^[A-Za-z0-9-]+$"
        )));
    }
    check_name(name, "Target group")
}

/// The health check a new target group starts with, by the kind of load balancer its
/// protocol belongs to.
fn default_health(family: Family, protocol: Option<&str>, grpc: bool) -> HealthCheck {
    let http_matcher = |code: &str| {
        Some(Matcher {
            http_code: Some(code.into()),
            grpc_code: None,
        })
    };
    match family {
        Family::Application => HealthCheck {
            enabled: true,
            protocol: protocol.unwrap_or("HTTP").into(),
            port: "traffic-port".into(),
            path: Some(if grpc { "/AWS.ALB/healthcheck" } else { "/" }.into()),
            interval_seconds: 30,
            timeout_seconds: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: if grpc {
                Some(Matcher {
                    http_code: None,
                    grpc_code: Some("12".into()),
                })
            } else {
                http_matcher("200")
            },
        },
        Family::Network | Family::Gateway => HealthCheck {
            enabled: true,
            protocol: "TCP".into(),
            port: if family == Family::Gateway {
                "80"
            } else {
                "traffic-port"
            }
            .into(),
            path: None,
            interval_seconds: if family == Family::Gateway { 10 } else { 30 },
            timeout_seconds: if family == Family::Gateway { 5 } else { 10 },
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: None,
        },
        Family::Lambda => HealthCheck {
            enabled: false,
            protocol: "HTTP".into(),
            port: "traffic-port".into(),
            path: Some("/".into()),
            interval_seconds: 35,
            timeout_seconds: 30,
            healthy_threshold: 5,
            unhealthy_threshold: 5,
            matcher: http_matcher("200"),
        },
    }
}

/// Fill and check a health check against the target group's kind and AWS's ranges.
/// `creating` lets the protocol-dependent defaults follow a health-check protocol chosen
/// at creation (a Network Load Balancer's HTTP check times out after 6 seconds, not 10).
fn apply_health(
    hc: &mut HealthCheck,
    input: HealthCheckIn,
    tg_protocol: Option<&str>,
    family: Family,
    grpc: bool,
    creating: bool,
) -> Result<(), AwsError> {
    let tg_protocol = tg_protocol.unwrap_or("HTTP");
    if let Some(p) = input.health_check_protocol {
        check_enum(&p, "healthCheckProtocol", PROTOCOLS)?;
        let supported = match family {
            Family::Application | Family::Lambda => matches!(p.as_str(), "HTTP" | "HTTPS"),
            Family::Network | Family::Gateway => matches!(p.as_str(), "TCP" | "HTTP" | "HTTPS"),
        };
        if !supported {
            return Err(AwsError::validation(format!(
                "Health check protocol '{p}' is not supported for target groups with the {tg_protocol} protocol"
            )));
        }
        let was_tcp = hc.protocol == "TCP";
        if p == "TCP" {
            hc.path = None;
            hc.matcher = None;
        } else if was_tcp {
            hc.path = Some("/".into());
            hc.matcher = Some(Matcher {
                http_code: Some("200-399".into()),
                grpc_code: None,
            });
            if creating && family == Family::Network && p == "HTTP" {
                hc.timeout_seconds = 6;
            }
        }
        hc.protocol = p;
    }
    let tcp = hc.protocol == "TCP";
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
        if tcp {
            return Err(AwsError::validation(
                "Health check path cannot be set when the health check protocol is TCP",
            ));
        }
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
        if tcp {
            return Err(AwsError::validation(
                "Health check matcher cannot be set when the health check protocol is TCP",
            ));
        }
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
    let (timeout, interval) = (hc.timeout_seconds, hc.interval_seconds);
    match family {
        Family::Application | Family::Lambda if timeout >= interval => Err(AwsError::validation(format!(
            "Health check timeout '{timeout}' must be smaller than the interval '{interval}'"
        ))),
        Family::Network | Family::Gateway if timeout > interval => Err(AwsError::validation(format!(
            "Health check timeout '{timeout}' must be smaller than or equal to the interval '{interval}'"
        ))),
        _ => Ok(()),
    }
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<TargetGroupsOut, AwsError> {
    check_target_group_name(&input.name)?;
    let target_type = input.target_type.unwrap_or_else(|| "instance".into());
    check_enum(&target_type, "targetType", TARGET_TYPES)?;
    if let Some(p) = &input.protocol {
        check_enum(p, "protocol", PROTOCOLS)?;
    }
    if let Some(p) = &input.health_check_protocol {
        check_enum(p, "healthCheckProtocol", PROTOCOLS)?;
    }
    let ip_address_type = input.ip_address_type.unwrap_or_else(|| "ipv4".into());
    check_enum(&ip_address_type, "ipAddressType", IP_ADDRESS_TYPES)?;
    let lambda = target_type == "lambda";
    let protocol = input.protocol;
    let port = match input.port {
        Some(p) if !(1..=65535).contains(&p) => {
            return Err(AwsError::validation("Port must be between 1 and 65535"));
        }
        p => p.map(|p| p as u16),
    };
    if lambda {
        for (given, what) in [
            (protocol.is_some(), "Protocol"),
            (port.is_some(), "Port"),
            (input.vpc_id.is_some(), "VPC ID"),
        ] {
            if given {
                return Err(AwsError::validation(format!(
                    "{what} cannot be specified for target groups with target type 'lambda'"
                )));
            }
        }
    } else {
        let Some(proto) = &protocol else {
            return Err(AwsError::validation("A protocol must be specified"));
        };
        let Some(port) = port else {
            return Err(AwsError::validation("A port must be specified"));
        };
        if proto == "GENEVE" && port != 6081 {
            return Err(AwsError::validation(
                "Port must be 6081 for target groups with the GENEVE protocol",
            ));
        }
        let Some(vpc) = &input.vpc_id else {
            return Err(AwsError::validation("A VPC ID must be specified"));
        };
        if txn.config.vpcs.get(vpc).is_none_or(|v| v.region != txn.region) {
            return Err(AwsError::validation(format!("The VPC ID '{vpc}' is not found")));
        }
    }
    let family = Family::of(protocol.as_deref(), &target_type);
    let version = match (family, input.protocol_version) {
        (Family::Application, Some(v)) => {
            if !matches!(v.as_str(), "HTTP1" | "HTTP2" | "GRPC") {
                return Err(AwsError::validation(format!("Protocol version '{v}' is not valid")));
            }
            Some(v)
        }
        (Family::Application, None) => Some("HTTP1".to_string()),
        (_, Some(_)) => {
            return Err(AwsError::validation(
                "A protocol version can only be specified for target groups with the HTTP or HTTPS protocol",
            ));
        }
        (_, None) => None,
    };
    let grpc = version.as_deref() == Some("GRPC");
    let mut health_check = default_health(family, protocol.as_deref(), grpc);
    apply_health(
        &mut health_check,
        health_fields!(input),
        protocol.as_deref(),
        family,
        grpc,
        true,
    )?;

    let new = TargetGroup {
        arn: String::new(),
        attributes: target_group_attributes::defaults(protocol.as_deref(), &target_type),
        name: input.name,
        protocol,
        protocol_version: version,
        port,
        vpc_id: input.vpc_id,
        target_type,
        ip_address_type,
        health_check,
        targets: Vec::new(),
        tags: Vec::new(),
        deregistered: Vec::new(),
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
            let out = render(txn, existing, false);
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
    let out = render(txn, &tg, false);
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
    let rendered: Vec<TargetGroupOut> = found.iter().map(|t| render(txn, t, true)).collect();
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
    let family = Family::of_group(&tg);
    apply_health(
        &mut tg.health_check,
        health_fields!(input),
        tg.protocol.as_deref(),
        family,
        grpc,
        false,
    )?;
    let out = render(txn, &tg, true);
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
    if !txn
        .config
        .load_balancers_of_target_group(&input.target_group_arn)
        .is_empty()
    {
        return Err(AwsError::new(
            "ResourceInUse",
            400,
            format!(
                "Target group '{}' is currently in use by a listener or a rule",
                input.target_group_arn
            ),
        ));
    }
    txn.config.target_groups.remove(&input.target_group_arn);
    txn.touch(Kind::TargetGroup, &input.target_group_arn);
    Ok(Empty {})
}
