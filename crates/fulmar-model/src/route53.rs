//! Route 53 resources: hosted zones, their record sets, health checks, CIDR
//! collections and change records, shaped like the Route 53 API's own types.
//!
//! Names are stored as Route 53 returns them: lowercase, fully qualified with the
//! trailing dot, with `*` at the start of a wildcard name kept as `*` (the API renders
//! it as `\052`).

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Tag;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostedZone {
    /// `Z` followed by uppercase letters and digits, e.g. `Z0123456789ABCDEFGHIJ`.
    pub id: String,
    /// Lowercase FQDN with the trailing dot.
    pub name: String,
    pub caller_reference: String,
    pub comment: Option<String>,
    pub private: bool,
    /// VPCs of a private zone.
    pub vpcs: Vec<ZoneVpc>,
    /// The four name servers of the delegation set (public zones).
    pub name_servers: Vec<String>,
    pub created_ms: i64,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneVpc {
    pub vpc_id: String,
    pub region: String,
}

/// One resource record set: (name, type, set identifier) is unique within a zone.
/// Absent members are left out of its stored document (a million-record zone is
/// stored as a million of these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordSet {
    pub zone_id: String,
    /// Lowercase FQDN with the trailing dot.
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, `MX`, `NS`, `SOA`, `TXT`, `SRV`, `PTR`, `SPF`, `NAPTR`, `CAA`, `DS`, ...
    pub rtype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// Values in presentation format (`192.0.2.1`, `10 mail.example.com.`, `"text"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<AliasTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
    pub policy: RoutingPolicy,
}

impl RecordSet {
    /// The document id of this record set: `<zone>/<name>/<type>/<set identifier>`.
    pub fn key(&self) -> String {
        record_key(&self.zone_id, &self.name, &self.rtype, self.set_identifier.as_deref())
    }
}

/// The document id of a record set.
pub fn record_key(zone_id: &str, name: &str, rtype: &str, set_identifier: Option<&str>) -> String {
    format!("{zone_id}/{name}/{rtype}/{}", set_identifier.unwrap_or(""))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    /// Lowercase FQDN with the trailing dot.
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

/// How Route 53 chooses among the record sets sharing a name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoutingPolicy {
    Simple,
    /// 0–255.
    Weighted(u32),
    Failover(FailoverRole),
    MultiValue,
    /// An AWS region name.
    Latency(String),
    Geolocation(GeoLocation),
    IpBased(CidrRouting),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailoverRole {
    Primary,
    Secondary,
}

/// A geolocation: a continent, a country (optionally with a subdivision), or `*` (default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoLocation {
    pub continent_code: Option<String>,
    /// ISO 3166 alpha-2, or `*` for the default record.
    pub country_code: Option<String>,
    pub subdivision_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CidrRouting {
    pub collection_id: String,
    /// A location of the collection, or `*` for the default.
    pub location_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// A UUID.
    pub id: String,
    pub caller_reference: String,
    pub config: HealthCheckConfig,
    /// Starts at 1, incremented by each UpdateHealthCheck.
    pub version: u64,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheckConfig {
    /// `HTTP`, `HTTPS`, `HTTP_STR_MATCH`, `HTTPS_STR_MATCH`, `TCP`, `CALCULATED`, ...
    pub kind: String,
    pub ip_address: Option<String>,
    pub port: Option<u16>,
    pub resource_path: Option<String>,
    pub fqdn: Option<String>,
    pub search_string: Option<String>,
    /// 10 or 30 seconds; fixed after creation.
    pub request_interval: u32,
    /// 1–10.
    pub failure_threshold: u32,
    pub measure_latency: bool,
    pub inverted: bool,
    pub disabled: bool,
    pub enable_sni: bool,
    /// CALCULATED: how many children must be healthy.
    pub health_threshold: Option<u32>,
    pub child_health_checks: Vec<String>,
    pub regions: Vec<String>,
    pub insufficient_data_health_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CidrCollection {
    /// A UUID.
    pub id: String,
    pub name: String,
    pub arn: String,
    pub version: u64,
    /// Location name → CIDR blocks.
    pub locations: BTreeMap<String, Vec<IpNet>>,
}

/// A submitted change batch, for GetChange: `PENDING` until it has propagated, then `INSYNC`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `C` followed by uppercase letters and digits.
    pub id: String,
    pub submitted_ms: i64,
    pub comment: Option<String>,
}

/// A reusable delegation set: four name servers that hosted zones created with its id
/// share. A zone uses the set when it has the set's name servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationSet {
    /// `N` followed by uppercase letters and digits.
    pub id: String,
    pub caller_reference: String,
    pub name_servers: Vec<String>,
    pub created_ms: i64,
}

/// A query logging configuration: the CloudWatch Logs log group a public hosted
/// zone's DNS queries are logged to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryLoggingConfig {
    /// A UUID.
    pub id: String,
    pub hosted_zone_id: String,
    /// As given: `arn:aws:logs:us-east-1:<account>:log-group:<name>[:*]`.
    pub log_group_arn: String,
    /// Creation order, for listing.
    pub seq: u64,
}
