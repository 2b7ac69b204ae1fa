//! Health checks: create (CallerReference-idempotent), get, list, count, update
//! (versioned), delete (not while in use), and status / last failure reason read
//! from the Route 53 health checker's observations.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::{HealthCheck, HealthCheckConfig};
use fulmar_model::Kind;

use super::{invalid, max_items, no_such_health_check, uuid, Empty, Located, Observation, Route53HealthView, ENDPOINT};
use crate::{ids, Txn};

#[derive(Serialize)]
#[serde(rename = "Region")]
struct RegionName(String);

#[derive(Serialize)]
#[serde(rename = "ChildHealthCheck")]
struct ChildId(String);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigIn {
    #[serde(rename = "IPAddress")]
    ip_address: Option<String>,
    port: Option<i64>,
    r#type: String,
    resource_path: Option<String>,
    fully_qualified_domain_name: Option<String>,
    search_string: Option<String>,
    request_interval: Option<i64>,
    failure_threshold: Option<i64>,
    measure_latency: Option<bool>,
    inverted: Option<bool>,
    disabled: Option<bool>,
    health_threshold: Option<i64>,
    child_health_checks: Option<Vec<String>>,
    #[serde(rename = "EnableSNI")]
    enable_sni: Option<bool>,
    regions: Option<Vec<String>>,
    alarm_identifier: Option<serde::de::IgnoredAny>,
    insufficient_data_health_status: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigOut {
    #[serde(rename = "IPAddress")]
    ip_address: Option<String>,
    port: Option<u16>,
    r#type: String,
    resource_path: Option<String>,
    fully_qualified_domain_name: Option<String>,
    search_string: Option<String>,
    request_interval: Option<u32>,
    failure_threshold: Option<u32>,
    measure_latency: Option<bool>,
    inverted: bool,
    disabled: bool,
    health_threshold: Option<u32>,
    child_health_checks: Option<Vec<ChildId>>,
    #[serde(rename = "EnableSNI")]
    enable_sni: bool,
    regions: Option<Vec<RegionName>>,
    insufficient_data_health_status: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "HealthCheck")]
pub struct HealthCheckOut {
    id: String,
    caller_reference: String,
    health_check_config: ConfigOut,
    health_check_version: u64,
}

fn out(h: &HealthCheck) -> HealthCheckOut {
    let c = &h.config;
    let calculated = c.kind == "CALCULATED";
    HealthCheckOut {
        id: h.id.clone(),
        caller_reference: h.caller_reference.clone(),
        health_check_config: ConfigOut {
            ip_address: c.ip_address.clone(),
            port: c.port,
            r#type: c.kind.clone(),
            resource_path: c.resource_path.clone(),
            fully_qualified_domain_name: c.fqdn.clone(),
            search_string: c.search_string.clone(),
            request_interval: (!calculated).then_some(c.request_interval),
            failure_threshold: (!calculated).then_some(c.failure_threshold),
            // Latency is measured by endpoint checks only.
            measure_latency: (!calculated).then_some(c.measure_latency),
            inverted: c.inverted,
            disabled: c.disabled,
            health_threshold: c.health_threshold,
            child_health_checks: calculated.then(|| c.child_health_checks.iter().cloned().map(ChildId).collect()),
            enable_sni: c.enable_sni,
            regions: (!c.regions.is_empty()).then(|| c.regions.iter().cloned().map(RegionName).collect()),
            insufficient_data_health_status: c.insufficient_data_health_status.clone(),
        },
        health_check_version: h.version,
    }
}

const TYPES: &[&str] = &[
    "HTTP",
    "HTTPS",
    "HTTP_STR_MATCH",
    "HTTPS_STR_MATCH",
    "TCP",
    "CALCULATED",
];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
];

fn range(name: &str, v: i64, lo: i64, hi: i64) -> Result<u32, AwsError> {
    if (lo..=hi).contains(&v) {
        Ok(v as u32)
    } else {
        Err(invalid(format!(
            "1 validation error detected: Value '{v}' at 'healthCheckConfig.{name}' failed to satisfy constraint: Member must have value between {lo} and {hi}"
        )))
    }
}

/// Check a whole configuration (after defaults and updates) against Route 53's rules.
fn validate(txn: &Txn, self_id: Option<&str>, c: &HealthCheckConfig) -> Result<(), AwsError> {
    if !TYPES.contains(&c.kind.as_str()) {
        return Err(invalid(format!(
            "Health check type {} is not supported by Fulmar; use one of {}",
            c.kind,
            TYPES.join(", ")
        )));
    }
    if c.kind == "CALCULATED" {
        if c.child_health_checks.len() > 256 {
            return Err(invalid(
                "A calculated health check can have at most 256 child health checks",
            ));
        }
        for child in &c.child_health_checks {
            if Some(child.as_str()) == self_id || !txn.config.health_checks.contains_key(child) {
                return Err(no_such_health_check(child));
            }
        }
        return Ok(());
    }
    if let Some(ip) = &c.ip_address {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(invalid(format!("Invalid IP address: {ip}")));
        }
    } else if c.fqdn.is_none() {
        return Err(invalid(
            "Invalid parameter: a health check of this type needs IPAddress or FullyQualifiedDomainName",
        ));
    }
    if c.kind == "TCP" && c.port.is_none() {
        return Err(invalid("Invalid parameter: a TCP health check needs a Port"));
    }
    if c.kind.ends_with("_STR_MATCH") && c.search_string.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            "Invalid parameter: a string-matching health check needs a SearchString",
        ));
    }
    if c.search_string.as_deref().map_or(0, str::len) > 255 {
        return Err(invalid("SearchString must be at most 255 characters long"));
    }
    if !c.regions.is_empty() && c.regions.len() < 3 {
        return Err(invalid("A health check must specify at least 3 regions"));
    }
    if let Some(bad) = c.regions.iter().find(|r| !REGIONS.contains(&r.as_str())) {
        return Err(invalid(format!("Invalid health check region: {bad}")));
    }
    Ok(())
}

fn config_from(input: ConfigIn) -> Result<HealthCheckConfig, AwsError> {
    let https = input.r#type.starts_with("HTTPS");
    let port = match input.port {
        Some(p) => Some(range("port", p, 1, 65535)? as u16),
        None if input.r#type.starts_with("HTTP") => Some(if https { 443 } else { 80 }),
        None => None,
    };
    let request_interval = input.request_interval.unwrap_or(30);
    if request_interval != 10 && request_interval != 30 {
        return Err(invalid(format!(
            "1 validation error detected: Value '{request_interval}' at 'healthCheckConfig.requestInterval' failed to satisfy constraint: RequestInterval must be 10 or 30"
        )));
    }
    let _ = input.alarm_identifier;
    Ok(HealthCheckConfig {
        ip_address: input.ip_address,
        port,
        resource_path: input.resource_path,
        fqdn: input.fully_qualified_domain_name,
        search_string: input.search_string,
        request_interval: request_interval as u32,
        failure_threshold: range("failureThreshold", input.failure_threshold.unwrap_or(3), 1, 10)?,
        measure_latency: input.measure_latency.unwrap_or(false),
        inverted: input.inverted.unwrap_or(false),
        disabled: input.disabled.unwrap_or(false),
        enable_sni: input.enable_sni.unwrap_or(https),
        health_threshold: input
            .health_threshold
            .map(|t| range("healthThreshold", t, 0, 256))
            .transpose()?,
        child_health_checks: input.child_health_checks.unwrap_or_default(),
        regions: input.regions.unwrap_or_default(),
        insufficient_data_health_status: input.insufficient_data_health_status,
        kind: input.r#type,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    caller_reference: String,
    health_check_config: ConfigIn,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OneOutput {
    health_check: HealthCheckOut,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<Located<OneOutput>, AwsError> {
    if input.caller_reference.is_empty() || input.caller_reference.len() > 64 {
        return Err(invalid("CallerReference must be between 1 and 64 characters long"));
    }
    let config = config_from(input.health_check_config)?;
    validate(txn, None, &config)?;
    let existing = txn
        .config
        .health_checks
        .values()
        .find(|h| h.caller_reference == input.caller_reference);
    if let Some(h) = existing {
        if h.config == config {
            return Ok(Located {
                location: format!("{ENDPOINT}/healthcheck/{}", h.id),
                body: OneOutput { health_check: out(h) },
            });
        }
        return Err(AwsError::new(
            "HealthCheckAlreadyExists",
            409,
            "A health check with the specified CallerReference already exists and has a different configuration.",
        ));
    }
    let h = HealthCheck {
        id: uuid(),
        caller_reference: input.caller_reference,
        config,
        version: 1,
        tags: Vec::new(),
    };
    txn.touch(Kind::HealthCheck, &h.id);
    let body = OneOutput { health_check: out(&h) };
    let location = format!("{ENDPOINT}/healthcheck/{}", h.id);
    txn.config.health_checks.insert(h.id.clone(), Arc::new(h));
    Ok(Located { location, body })
}

#[derive(Deserialize)]
pub struct IdInput {
    #[serde(rename = "HealthCheckId")]
    id: String,
}

fn health_check(txn: &Txn, id: &str) -> Result<Arc<HealthCheck>, AwsError> {
    txn.config
        .health_checks
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_health_check(id))
}

pub fn get(txn: &mut Txn, input: IdInput) -> Result<OneOutput, AwsError> {
    let h = health_check(txn, &input.id)?;
    Ok(OneOutput { health_check: out(&h) })
}

#[derive(Deserialize)]
pub struct ListInput {
    marker: Option<String>,
    maxitems: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOutput {
    health_checks: Vec<HealthCheckOut>,
    marker: Option<String>,
    is_truncated: bool,
    next_marker: Option<String>,
    max_items: String,
}

pub fn list(txn: &mut Txn, input: ListInput) -> Result<ListOutput, AwsError> {
    let max = max_items(input.maxitems.as_deref(), 100, 1000)?;
    let all: Vec<&Arc<HealthCheck>> = txn.config.health_checks.values().collect();
    let start = match &input.marker {
        None => 0,
        Some(m) => all.iter().position(|h| h.id >= *m).unwrap_or(all.len()),
    };
    let rest = &all[start..];
    let page = &rest[..rest.len().min(max)];
    Ok(ListOutput {
        health_checks: page.iter().map(|h| out(h)).collect(),
        marker: input.marker,
        is_truncated: rest.len() > max,
        next_marker: rest.get(max).map(|h| h.id.clone()),
        max_items: max.to_string(),
    })
}

#[derive(Deserialize)]
pub struct NoInput {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CountOutput {
    health_check_count: usize,
}

pub fn count(txn: &mut Txn, _input: NoInput) -> Result<CountOutput, AwsError> {
    Ok(CountOutput {
        health_check_count: txn.config.health_checks.len(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    health_check_id: String,
    health_check_version: Option<u64>,
    #[serde(rename = "IPAddress")]
    ip_address: Option<String>,
    port: Option<i64>,
    resource_path: Option<String>,
    fully_qualified_domain_name: Option<String>,
    search_string: Option<String>,
    failure_threshold: Option<i64>,
    inverted: Option<bool>,
    disabled: Option<bool>,
    health_threshold: Option<i64>,
    child_health_checks: Option<Vec<String>>,
    #[serde(rename = "EnableSNI")]
    enable_sni: Option<bool>,
    regions: Option<Vec<String>>,
    insufficient_data_health_status: Option<String>,
    reset_elements: Option<Vec<String>>,
}

pub fn update(txn: &mut Txn, input: UpdateInput) -> Result<OneOutput, AwsError> {
    let current = health_check(txn, &input.health_check_id)?;
    if input.health_check_version.is_some_and(|v| v != current.version) {
        return Err(AwsError::new(
            "HealthCheckVersionMismatch",
            409,
            "The value of HealthCheckVersion in the request doesn't match the value of HealthCheckVersion in the health check.",
        ));
    }
    let mut h = (*current).clone();
    let c = &mut h.config;
    for element in input.reset_elements.unwrap_or_default() {
        match element.as_str() {
            "FullyQualifiedDomainName" => c.fqdn = None,
            "Regions" => c.regions.clear(),
            "ResourcePath" => c.resource_path = None,
            "ChildHealthChecks" => c.child_health_checks.clear(),
            other => return Err(invalid(format!("Invalid value for ResetElements: {other}"))),
        }
    }
    if input.ip_address.is_some() {
        c.ip_address = input.ip_address;
    }
    if let Some(p) = input.port {
        c.port = Some(range("port", p, 1, 65535)? as u16);
    }
    if input.resource_path.is_some() {
        c.resource_path = input.resource_path;
    }
    if input.fully_qualified_domain_name.is_some() {
        c.fqdn = input.fully_qualified_domain_name;
    }
    if input.search_string.is_some() {
        c.search_string = input.search_string;
    }
    if let Some(t) = input.failure_threshold {
        c.failure_threshold = range("failureThreshold", t, 1, 10)?;
    }
    if let Some(v) = input.inverted {
        c.inverted = v;
    }
    if let Some(v) = input.disabled {
        c.disabled = v;
    }
    if let Some(t) = input.health_threshold {
        c.health_threshold = Some(range("healthThreshold", t, 0, 256)?);
    }
    if let Some(children) = input.child_health_checks {
        c.child_health_checks = children;
    }
    if let Some(v) = input.enable_sni {
        c.enable_sni = v;
    }
    if let Some(r) = input.regions {
        c.regions = r;
    }
    if input.insufficient_data_health_status.is_some() {
        c.insufficient_data_health_status = input.insufficient_data_health_status;
    }
    validate(txn, Some(&h.id), &h.config)?;
    h.version += 1;
    txn.touch(Kind::HealthCheck, &h.id);
    let body = OneOutput { health_check: out(&h) };
    txn.config.health_checks.insert(h.id.clone(), Arc::new(h));
    Ok(body)
}

pub fn delete(txn: &mut Txn, input: IdInput) -> Result<Empty, AwsError> {
    let h = health_check(txn, &input.id)?;
    let by_record = txn
        .config
        .record_sets
        .values()
        .find(|r| r.health_check_id.as_deref() == Some(h.id.as_str()));
    if let Some(r) = by_record {
        return Err(AwsError::new(
            "HealthCheckInUse",
            400,
            format!(
                "Health check {} is still referenced from resource record set {} {}",
                h.id, r.name, r.rtype
            ),
        ));
    }
    let by_parent = txn
        .config
        .health_checks
        .values()
        .find(|p| p.config.child_health_checks.contains(&h.id));
    if let Some(p) = by_parent {
        return Err(AwsError::new(
            "HealthCheckInUse",
            400,
            format!(
                "Health check {} is still referenced from parent health check {}",
                h.id, p.id
            ),
        ));
    }
    txn.config.health_checks.remove(&h.id);
    txn.touch(Kind::HealthCheck, &h.id);
    Ok(Empty {})
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatusReport {
    status: String,
    checked_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "HealthCheckObservation")]
struct ObservationOut {
    region: String,
    #[serde(rename = "IPAddress")]
    ip_address: String,
    status_report: StatusReport,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObservationsOutput {
    health_check_observations: Vec<ObservationOut>,
}

fn observations(list: Vec<Observation>) -> ObservationsOutput {
    ObservationsOutput {
        health_check_observations: list
            .into_iter()
            .map(|o| ObservationOut {
                region: o.region,
                ip_address: o.ip_address,
                status_report: StatusReport {
                    status: o.status,
                    checked_time: ids::iso8601(o.checked_at_ms),
                },
            })
            .collect(),
    }
}

fn probed(txn: &Txn, id: &str) -> Result<Arc<HealthCheck>, AwsError> {
    let h = health_check(txn, id)?;
    if h.config.kind == "CALCULATED" {
        return Err(invalid(format!(
            "Health check {id} is a calculated health check; its status is not reported by health checkers"
        )));
    }
    Ok(h)
}

pub fn status(
    txn: &mut Txn,
    input: IdInput,
    view: Option<&Arc<dyn Route53HealthView>>,
) -> Result<ObservationsOutput, AwsError> {
    let h = probed(txn, &input.id)?;
    Ok(observations(view.map(|v| v.observations(&h.id)).unwrap_or_default()))
}

pub fn last_failure_reason(
    txn: &mut Txn,
    input: IdInput,
    view: Option<&Arc<dyn Route53HealthView>>,
) -> Result<ObservationsOutput, AwsError> {
    let h = probed(txn, &input.id)?;
    Ok(observations(view.map(|v| v.last_failures(&h.id)).unwrap_or_default()))
}
