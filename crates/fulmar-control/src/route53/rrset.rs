//! The `ResourceRecordSet` shape in and out, and its checks that need no zone:
//! one routing policy with its SetIdentifier, alias or values (never both),
//! weights 0–255, TTLs, and the syntax of values per record type.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::{AliasTarget, CidrRouting, FailoverRole, GeoLocation, RecordSet, RoutingPolicy};

use super::{invalid, names};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceRecordIn {
    value: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", rename = "ResourceRecord")]
pub struct ResourceRecordOut {
    value: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasTargetShape {
    hosted_zone_id: String,
    #[serde(rename = "DNSName")]
    dns_name: String,
    evaluate_target_health: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GeoLocationShape {
    continent_code: Option<String>,
    country_code: Option<String>,
    subdivision_code: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CidrRoutingConfigShape {
    collection_id: String,
    location_name: String,
}

/// A ResourceRecordSet of a request. Numbers are taken wide so that out-of-range
/// values get AWS's constraint message rather than a parse error.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordSetIn {
    pub(crate) name: String,
    pub(crate) r#type: String,
    pub(crate) set_identifier: Option<String>,
    weight: Option<i64>,
    region: Option<String>,
    geo_location: Option<GeoLocationShape>,
    failover: Option<String>,
    multi_value_answer: Option<bool>,
    #[serde(rename = "TTL")]
    ttl: Option<i64>,
    resource_records: Option<Vec<ResourceRecordIn>>,
    alias_target: Option<AliasTargetShape>,
    health_check_id: Option<String>,
    traffic_policy_instance_id: Option<String>,
    cidr_routing_config: Option<CidrRoutingConfigShape>,
    geo_proximity_location: Option<serde::de::IgnoredAny>,
}

/// A ResourceRecordSet of a response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase", rename = "ResourceRecordSet")]
pub struct RecordSetOut {
    name: String,
    r#type: String,
    set_identifier: Option<String>,
    weight: Option<u32>,
    region: Option<String>,
    geo_location: Option<GeoLocationShape>,
    failover: Option<&'static str>,
    multi_value_answer: Option<bool>,
    #[serde(rename = "TTL")]
    ttl: Option<u32>,
    resource_records: Option<Vec<ResourceRecordOut>>,
    alias_target: Option<AliasTargetShape>,
    health_check_id: Option<String>,
    cidr_routing_config: Option<CidrRoutingConfigShape>,
}

impl From<&RecordSet> for RecordSetOut {
    fn from(r: &RecordSet) -> RecordSetOut {
        let mut out = RecordSetOut {
            name: names::display(&r.name),
            r#type: r.rtype.clone(),
            set_identifier: r.set_identifier.clone(),
            weight: None,
            region: None,
            geo_location: None,
            failover: None,
            multi_value_answer: None,
            ttl: r.ttl,
            resource_records: r.alias.is_none().then(|| {
                r.records
                    .iter()
                    .map(|v| ResourceRecordOut { value: v.clone() })
                    .collect()
            }),
            alias_target: r.alias.as_ref().map(|a| AliasTargetShape {
                hosted_zone_id: a.hosted_zone_id.clone(),
                dns_name: names::display(&a.dns_name),
                evaluate_target_health: a.evaluate_target_health,
            }),
            health_check_id: r.health_check_id.clone(),
            cidr_routing_config: None,
        };
        match &r.policy {
            RoutingPolicy::Simple => {}
            RoutingPolicy::Weighted(w) => out.weight = Some(*w),
            RoutingPolicy::Failover(FailoverRole::Primary) => out.failover = Some("PRIMARY"),
            RoutingPolicy::Failover(FailoverRole::Secondary) => out.failover = Some("SECONDARY"),
            RoutingPolicy::MultiValue => out.multi_value_answer = Some(true),
            RoutingPolicy::Latency(region) => out.region = Some(region.clone()),
            RoutingPolicy::Geolocation(g) => {
                out.geo_location = Some(GeoLocationShape {
                    continent_code: g.continent_code.clone(),
                    country_code: g.country_code.clone(),
                    subdivision_code: g.subdivision_code.clone(),
                })
            }
            RoutingPolicy::IpBased(c) => {
                out.cidr_routing_config = Some(CidrRoutingConfigShape {
                    collection_id: c.collection_id.clone(),
                    location_name: c.location_name.clone(),
                })
            }
        }
        out
    }
}

/// The AWS description of a change, used in InvalidInput messages.
fn change_ref(action: &str, r: &RecordSetIn, name: &str) -> String {
    format!(
        "Change with [Action={action}, Name={name}, Type={}, SetIdentifier={}]",
        r.r#type,
        r.set_identifier.as_deref().unwrap_or("null")
    )
}

const TYPES: &[&str] = &[
    "SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF", "AAAA", "CAA", "DS", "TLSA", "SSHFP", "SVCB",
    "HTTPS",
];

/// Check a request's record set and build the stored form (zone-independent checks).
/// `index` is the 1-based position of its change, for constraint messages.
pub(crate) fn build(zone_id: &str, action: &str, index: usize, r: RecordSetIn) -> Result<RecordSet, AwsError> {
    let at = |member: &str| format!("changeBatch.changes.{index}.member.resourceRecordSet.{member}");
    if let Some(c) = names::unsupported_char(&r.name) {
        return Err(AwsError::new("InvalidChangeBatch", 400, names::unsupported_message(c)));
    }
    let name = names::normalize(&r.name).ok_or_else(|| {
        AwsError::new(
            "InvalidChangeBatch",
            400,
            format!("[{} is not a valid domain name]", r.name),
        )
    })?;
    if !TYPES.contains(&r.r#type.as_str()) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            r.r#type,
            at("type"),
            TYPES.join(", ")
        )));
    }
    let what = || change_ref(action, &r, &r.name);
    if let Some(w) = r.weight {
        if !(0..=255).contains(&w) {
            let bound = if w < 0 {
                "greater than or equal to 0"
            } else {
                "less than or equal to 255"
            };
            return Err(invalid(format!(
                "1 validation error detected: Value '{w}' at '{}' failed to satisfy constraint: Member must have value {bound}",
                at("weight")
            )));
        }
    }
    if let Some(t) = r.ttl {
        if !(0..=2_147_483_647).contains(&t) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{t}' at '{}' failed to satisfy constraint: Member must have value between 0 and 2147483647",
                at("TTL")
            )));
        }
    }
    if r.traffic_policy_instance_id.is_some() || r.geo_proximity_location.is_some() {
        return Err(invalid(format!(
            "Fulmar does not support traffic policies or geoproximity routing: {}",
            what()
        )));
    }
    let policy = policy(&r, &what)?;
    match (&policy, &r.set_identifier) {
        (RoutingPolicy::Simple, Some(_)) => {
            return Err(invalid(format!(
                "Invalid request: Missing field 'Weight', 'Region', 'Failover', 'GeoLocation', 'MultiValueAnswer' or 'CidrRoutingConfig' in {}",
                what()
            )))
        }
        (RoutingPolicy::Simple, None) => {}
        (_, None) => {
            return Err(invalid(format!(
                "Invalid request: Missing field 'SetIdentifier' in {}",
                what()
            )))
        }
        (_, Some(id)) if id.is_empty() || id.len() > 128 => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{id}' at '{}' failed to satisfy constraint: Member must have length between 1 and 128",
                at("setIdentifier")
            )))
        }
        (_, Some(_)) => {}
    }
    let values = r.resource_records.as_ref();
    let alias = match (&r.alias_target, r.ttl, values) {
        (Some(a), None, None) => Some(AliasTarget {
            hosted_zone_id: a.hosted_zone_id.trim_start_matches("/hostedzone/").to_string(),
            dns_name: names::normalize(&a.dns_name).ok_or_else(|| {
                AwsError::new("InvalidChangeBatch", 400, format!("[{} is not a valid alias target name]", a.dns_name))
            })?,
            evaluate_target_health: a.evaluate_target_health,
        }),
        (None, Some(_), Some(v)) if !v.is_empty() => None,
        (Some(_), _, _) => {
            return Err(invalid(format!(
                "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in {}",
                what()
            )))
        }
        (None, _, _) => {
            return Err(invalid(format!(
                "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in {}",
                what()
            )))
        }
    };
    let count = values.map_or(0, Vec::len);
    for v in values.into_iter().flatten() {
        check_value(&r.r#type, &v.value)?;
    }
    if matches!(r.r#type.as_str(), "CNAME" | "SOA") && count > 1 {
        return Err(batch(format!(
            "RRSet of type {} with DNS name {name} has more than one value.",
            r.r#type
        )));
    }
    // Every check passed: the request's strings move into the stored form.
    let records = r
        .resource_records
        .map(|v| v.into_iter().map(|x| x.value).collect())
        .unwrap_or_default();
    Ok(RecordSet {
        zone_id: zone_id.to_string(),
        name,
        rtype: r.r#type,
        set_identifier: r.set_identifier,
        ttl: r.ttl.map(|t| t as u32),
        records,
        alias,
        health_check_id: r.health_check_id,
        policy,
    })
}

fn policy(r: &RecordSetIn, what: &dyn Fn() -> String) -> Result<RoutingPolicy, AwsError> {
    let mut found = Vec::new();
    if let Some(w) = r.weight {
        found.push(RoutingPolicy::Weighted(w as u32));
    }
    if let Some(region) = &r.region {
        found.push(RoutingPolicy::Latency(region.clone()));
    }
    if let Some(f) = &r.failover {
        let role = match f.as_str() {
            "PRIMARY" => FailoverRole::Primary,
            "SECONDARY" => FailoverRole::Secondary,
            other => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{other}' at 'failover' failed to satisfy constraint: Member must satisfy enum value set: [PRIMARY, SECONDARY]"
                )))
            }
        };
        found.push(RoutingPolicy::Failover(role));
    }
    if let Some(g) = &r.geo_location {
        if g.continent_code.is_some() && g.country_code.is_some() {
            return Err(invalid(format!(
                "Invalid request: GeoLocation cannot have both ContinentCode and CountryCode in {}",
                what()
            )));
        }
        if g.subdivision_code.is_some() && g.country_code.is_none() {
            return Err(invalid(format!(
                "Invalid request: GeoLocation SubdivisionCode requires CountryCode in {}",
                what()
            )));
        }
        if g.continent_code.is_none() && g.country_code.is_none() {
            return Err(invalid(format!(
                "Invalid request: GeoLocation needs ContinentCode or CountryCode in {}",
                what()
            )));
        }
        found.push(RoutingPolicy::Geolocation(GeoLocation {
            continent_code: g.continent_code.clone(),
            country_code: g.country_code.clone(),
            subdivision_code: g.subdivision_code.clone(),
        }));
    }
    if r.multi_value_answer == Some(true) {
        found.push(RoutingPolicy::MultiValue);
    }
    if let Some(c) = &r.cidr_routing_config {
        found.push(RoutingPolicy::IpBased(CidrRouting {
            collection_id: c.collection_id.clone(),
            location_name: c.location_name.clone(),
        }));
    }
    match found.len() {
        0 => Ok(RoutingPolicy::Simple),
        1 => Ok(found.remove(0)),
        _ => Err(invalid(format!(
            "Invalid request: Expected at most one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, CidrRoutingConfig] but found more than one in {}",
                what()
        ))),
    }
}

/// `InvalidChangeBatch` (400) with one message, bracketed as Route 53 lists them.
pub(crate) fn batch(message: String) -> AwsError {
    AwsError::new("InvalidChangeBatch", 400, format!("[{message}]"))
}

fn fatal(problem: &str, explanation: &str, value: &str) -> AwsError {
    batch(format!(
        "Invalid Resource Record: 'FATAL problem: {problem} ({explanation}) encountered with '{value}''"
    ))
}

/// The syntax checks Route 53 applies to a value of each type.
fn check_value(rtype: &str, value: &str) -> Result<(), AwsError> {
    match rtype {
        "A" if value.parse::<Ipv4Addr>().is_err() => Err(fatal(
            "ARRDATAIllegalIPv4Address",
            "Value is not a valid IPv4 address",
            value,
        )),
        "AAAA" if value.parse::<Ipv6Addr>().is_err() => Err(fatal(
            "AAAARRDATAIllegalIPv6Address",
            "Value is not a valid IPv6 address",
            value,
        )),
        "TXT" | "SPF" if !(value.starts_with('"') && value.ends_with('"') && value.len() >= 2) => Err(fatal(
            "InvalidCharacterString",
            "Value should be enclosed in quotation marks",
            value,
        )),
        "MX" => {
            let mut parts = value.split_whitespace();
            let pref_ok = parts.next().and_then(|p| p.parse::<u16>().ok()).is_some();
            let host_ok = parts.next().is_some_and(|h| names::normalize(h).is_some());
            if pref_ok && host_ok && parts.next().is_none() {
                Ok(())
            } else {
                Err(fatal(
                    "MXRRDATANotTwoFields",
                    "MX record must contain two fields",
                    value,
                ))
            }
        }
        "CNAME" | "NS" | "PTR" if names::normalize(value).is_none() => {
            Err(fatal("DomainLabelEmpty", "Domain label is empty", value))
        }
        _ if value.is_empty() || value.len() > 4000 => Err(fatal("InvalidRDATA", "Value is empty or too long", value)),
        _ => Ok(()),
    }
}
