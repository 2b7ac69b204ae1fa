//! RegisterTargets, DeregisterTargets, DescribeTargetHealth.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, Target, TargetGroup};
use fulmar_routing::health::{State, TargetHealth};

use super::load_balancers::Empty;
use super::tg_not_found;
use crate::Txn;

/// Targets per target group (the default quota for ALBs).
const MAX_TARGETS: usize = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetIn {
    id: String,
    port: Option<u32>,
    availability_zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetsInput {
    target_group_arn: String,
    #[serde(default)]
    targets: Vec<TargetIn>,
}

/// Resolve a requested target to its registration key (id and effective port).
fn target_of(tg: &TargetGroup, t: TargetIn) -> Result<Target, AwsError> {
    let port = match t.port.or(tg.port.map(u32::from)) {
        Some(p) if (1..=65535).contains(&p) => p as u16,
        Some(p) => {
            return Err(AwsError::validation(format!(
                "Port '{p}' is not valid; it must be between 1 and 65535"
            )))
        }
        None => return Err(AwsError::validation("A port must be specified for each target")),
    };
    Ok(Target {
        id: t.id,
        port,
        availability_zone: t.availability_zone,
    })
}

/// An instance target must exist in the target group's VPC and be running; the data
/// plane reaches it at its private address.
fn check_instance(txn: &Txn, tg: &TargetGroup, id: &str) -> Result<(), AwsError> {
    let now = crate::ids::now_ms();
    let Some(inst) = txn.config.instances.get(id).filter(|i| i.region == txn.region) else {
        return Err(AwsError::new(
            "InvalidTarget",
            400,
            format!("The following targets are not valid instances: '{id}'"),
        ));
    };
    if tg.vpc_id.as_deref().is_some_and(|v| v != inst.vpc_id) {
        return Err(AwsError::new(
            "InvalidTarget",
            400,
            format!(
                "The following targets are not in the target group VPC '{}': '{id}'",
                tg.vpc_id.as_deref().unwrap_or_default()
            ),
        ));
    }
    if inst.state_at(now) != fulmar_model::InstanceState::Running {
        return Err(AwsError::new(
            "InvalidTarget",
            400,
            format!("The following targets are not in a running state and cannot be registered: '{id}'"),
        ));
    }
    Ok(())
}

pub fn register(txn: &mut Txn, input: TargetsInput) -> Result<Empty, AwsError> {
    let tg = txn
        .config
        .target_groups
        .get(&input.target_group_arn)
        .cloned()
        .ok_or_else(tg_not_found)?;
    if input.targets.is_empty() {
        return Err(AwsError::validation("Targets must contain at least one target"));
    }
    let mut tg = (*tg).clone();
    for t in input.targets {
        let target = target_of(&tg, t)?;
        match tg.target_type.as_str() {
            "ip" => {
                let v6 = tg.ip_address_type == "ipv6";
                let ok = match target.id.parse::<IpAddr>() {
                    Ok(IpAddr::V4(_)) => !v6,
                    Ok(IpAddr::V6(_)) => v6,
                    Err(_) => false,
                };
                if !ok {
                    return Err(AwsError::new(
                        "InvalidTarget",
                        400,
                        format!(
                            "The IP address '{}' is not a valid {} address",
                            target.id,
                            if v6 { "IPv6" } else { "IPv4" }
                        ),
                    ));
                }
            }
            "instance" => check_instance(txn, &tg, &target.id)?,
            "alb" => {
                // An Application Load Balancer in the target group's VPC, one per group.
                let lb = txn
                    .config
                    .load_balancers
                    .get(&target.id)
                    .filter(|lb| txn.owns_arn(&lb.arn) && lb.kind == "application");
                let Some(lb) = lb else {
                    return Err(AwsError::new(
                        "InvalidTarget",
                        400,
                        format!(
                            "The following targets are not valid Application Load Balancers: '{}'",
                            target.id
                        ),
                    ));
                };
                if tg.vpc_id.as_deref().is_some_and(|v| v != lb.vpc_id) {
                    return Err(AwsError::new(
                        "InvalidTarget",
                        400,
                        format!(
                            "The following targets are not in the target group VPC '{}': '{}'",
                            tg.vpc_id.as_deref().unwrap_or_default(),
                            target.id
                        ),
                    ));
                }
                if tg.targets.iter().any(|t| t.id != target.id) {
                    return Err(AwsError::new(
                        "TooManyTargets",
                        400,
                        "A target group with target type 'alb' can have only one registered target",
                    ));
                }
            }
            other => {
                return Err(AwsError::new(
                    "InvalidTarget",
                    400,
                    format!("Targets of type '{other}' are not supported by this Fulmar version"),
                ));
            }
        }
        tg.deregistered
            .retain(|(x, _)| !(x.id == target.id && x.port == target.port));
        if !tg.targets.iter().any(|x| x.id == target.id && x.port == target.port) {
            tg.targets.push(target);
        }
    }
    if tg.targets.len() > MAX_TARGETS {
        return Err(AwsError::new(
            "TooManyTargets",
            400,
            "You've reached the limit on the number of targets",
        ));
    }
    txn.touch(Kind::TargetGroup, &tg.arn);
    txn.config.target_groups.insert(tg.arn.clone(), Arc::new(tg));
    Ok(Empty {})
}

pub fn deregister(txn: &mut Txn, input: TargetsInput) -> Result<Empty, AwsError> {
    let tg = txn
        .config
        .target_groups
        .get(&input.target_group_arn)
        .cloned()
        .ok_or_else(tg_not_found)?;
    let mut tg = (*tg).clone();
    let now = crate::ids::now_ms();
    let delay_ms = deregistration_delay_ms(&tg);
    // Draining happens only where traffic may be in flight: a group some listener or
    // rule forwards to (as the data plane's health board decides it).
    let in_use = delay_ms > 0 && !txn.config.load_balancers_of_target_group(&tg.arn).is_empty();
    tg.deregistered.retain(|(_, at)| at + delay_ms > now);
    for t in input.targets {
        let target = target_of(&tg, t)?;
        let before = tg.targets.len();
        tg.targets.retain(|x| !(x.id == target.id && x.port == target.port));
        if tg.targets.len() == before {
            return Err(AwsError::new(
                "InvalidTarget",
                400,
                format!(
                    "The following targets are not registered in target group '{}': '{}'",
                    tg.arn, target.id
                ),
            ));
        }
        if in_use {
            tg.deregistered
                .retain(|(x, _)| !(x.id == target.id && x.port == target.port));
            tg.deregistered.push((target, now));
        }
    }
    txn.touch(Kind::TargetGroup, &tg.arn);
    txn.config.target_groups.insert(tg.arn.clone(), Arc::new(tg));
    Ok(Empty {})
}

/// The group's `deregistration_delay.timeout_seconds` in milliseconds (Lambda groups,
/// which have no such attribute, do not drain).
fn deregistration_delay_ms(tg: &TargetGroup) -> i64 {
    let default = if tg.target_type == "lambda" { 0 } else { 300 };
    tg.attribute("deregistration_delay.timeout_seconds")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(default)
        * 1000
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeHealthInput {
    target_group_arn: String,
    targets: Option<Vec<TargetIn>>,
    /// `AnomalyDetection` or `All`: add each target's anomaly detection.
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeHealthOut {
    target_health_descriptions: Vec<TargetHealthDescriptionOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TargetHealthDescriptionOut {
    target: TargetOut,
    health_check_port: String,
    target_health: TargetHealthOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    anomaly_detection: Option<AnomalyDetectionOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AnomalyDetectionOut {
    /// `normal` or `anomalous`.
    result: &'static str,
    /// `yes` or `no`.
    mitigation_in_effect: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TargetOut {
    id: String,
    port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    availability_zone: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TargetHealthOut {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

fn describe_one(tg: &TargetGroup, target: &Target, health: TargetHealth) -> TargetHealthDescriptionOut {
    let hc_port = if tg.health_check.port == "traffic-port" {
        target.port.to_string()
    } else {
        tg.health_check.port.clone()
    };
    TargetHealthDescriptionOut {
        target: TargetOut {
            id: target.id.clone(),
            port: target.port,
            availability_zone: target.availability_zone.clone(),
        },
        health_check_port: hc_port,
        target_health: TargetHealthOut {
            state: health.state.as_str(),
            reason: health.reason,
            description: health.description,
        },
        anomaly_detection: None,
    }
}

/// Anomaly detection as DescribeTargetHealth reports it for a target group whose
/// algorithm is `weighted_random` (the only one with anomaly detection): `anomalous`
/// when the target's recent failure rate stands out from the others', with
/// mitigation in effect when `load_balancing.algorithm.anomaly_mitigation` is `on` and
/// fewer than half the targets are anomalous.
fn anomaly_detection(tg: &TargetGroup, found: Option<(bool, bool)>) -> Option<AnomalyDetectionOut> {
    if tg.attribute("load_balancing.algorithm.type") != Some("weighted_random") {
        return None;
    }
    let (anomalous, mitigable) = found.unwrap_or((false, false));
    let mitigation =
        anomalous && mitigable && tg.attribute("load_balancing.algorithm.anomaly_mitigation") == Some("on");
    Some(AnomalyDetectionOut {
        result: if anomalous { "anomalous" } else { "normal" },
        mitigation_in_effect: if mitigation { "yes" } else { "no" },
    })
}

pub fn describe_health(txn: &mut Txn, input: DescribeHealthInput) -> Result<DescribeHealthOut, AwsError> {
    let tg = txn
        .config
        .target_groups
        .get(&input.target_group_arn)
        .cloned()
        .ok_or_else(tg_not_found)?;
    let health = |target: &Target| -> TargetHealth {
        match &txn.health {
            Some(view) => view.target_health(&tg.arn, target),
            None => TargetHealth {
                state: State::Initial,
                reason: Some("Elb.RegistrationInProgress"),
                description: Some("Target registration is in progress".into()),
            },
        }
    };
    for include in &input.include {
        if include != "AnomalyDetection" && include != "All" {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '[{include}]' at 'include' failed to satisfy constraint: \
                 Member must satisfy constraint: [Member must satisfy enum value set: [AnomalyDetection, All]]"
            )));
        }
    }
    let with_anomalies = !input.include.is_empty();
    let anomaly = |target: &Target| {
        with_anomalies
            .then(|| anomaly_detection(&tg, txn.health.as_ref().and_then(|v| v.anomaly(&tg.arn, target))))
            .flatten()
    };
    // Draining: what the data plane drains, and what was deregistered within the delay
    // (the data plane may not have taken the deregistration in yet).
    let mut draining: Vec<Target> = txn.health.as_ref().map(|v| v.draining(&tg.arn)).unwrap_or_default();
    let (now, delay_ms) = (crate::ids::now_ms(), deregistration_delay_ms(&tg));
    for (target, at) in &tg.deregistered {
        if at + delay_ms > now && !draining.iter().any(|d| d.id == target.id && d.port == target.port) {
            draining.push(target.clone());
        }
    }
    let mut out = Vec::new();
    match input.targets.filter(|t| !t.is_empty()) {
        Some(requested) => {
            for t in requested {
                let target = target_of(&tg, t)?;
                let registered = tg.targets.iter().find(|x| x.id == target.id && x.port == target.port);
                let h = match registered {
                    Some(r) => health(r),
                    None if draining.iter().any(|d| d.id == target.id && d.port == target.port) => {
                        TargetHealth::draining()
                    }
                    None => TargetHealth::not_registered(),
                };
                let mut one = describe_one(&tg, &target, h);
                if registered.is_some() {
                    one.anomaly_detection = anomaly(&target);
                }
                out.push(one);
            }
        }
        None => {
            for target in &tg.targets {
                let mut one = describe_one(&tg, target, health(target));
                one.anomaly_detection = anomaly(target);
                out.push(one);
            }
            for target in draining
                .iter()
                .filter(|d| !tg.targets.iter().any(|x| x.id == d.id && x.port == d.port))
            {
                out.push(describe_one(&tg, target, TargetHealth::draining()));
            }
        }
    }
    Ok(DescribeHealthOut {
        target_health_descriptions: out,
    })
}
