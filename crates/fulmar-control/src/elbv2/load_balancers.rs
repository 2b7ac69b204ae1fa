//! CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer, SetSecurityGroups,
//! DescribeAccountLimits.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, LoadBalancer, SubnetMapping};

use super::attributes::load_balancer_defaults;
use super::names::check_name;
use super::{lb_not_found, page};
use crate::ids;
use crate::shapes::{merge_tags, TagIn};
use crate::Txn;

/// Load balancers per region (the default quota).
const MAX_LOAD_BALANCERS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    name: String,
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    subnet_mappings: Vec<SubnetMappingIn>,
    security_groups: Option<Vec<String>>,
    scheme: Option<String>,
    #[serde(default)]
    tags: Vec<TagIn>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    ip_address_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubnetMappingIn {
    subnet_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancersOut {
    load_balancers: Vec<LoadBalancerOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancerOut {
    load_balancer_arn: String,
    #[serde(rename = "DNSName")]
    dns_name: String,
    canonical_hosted_zone_id: String,
    created_time: String,
    load_balancer_name: String,
    scheme: String,
    vpc_id: String,
    state: StateOut,
    #[serde(rename = "Type")]
    kind: String,
    availability_zones: Vec<AvailabilityZoneOut>,
    security_groups: Vec<String>,
    ip_address_type: String,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct StateOut {
    code: String,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct AvailabilityZoneOut {
    zone_name: String,
    subnet_id: String,
    load_balancer_addresses: Vec<AddressOut>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct AddressOut {
    ip_address: String,
}

pub fn render(lb: &LoadBalancer) -> LoadBalancerOut {
    LoadBalancerOut {
        load_balancer_arn: lb.arn.clone(),
        dns_name: lb.dns_name.clone(),
        canonical_hosted_zone_id: lb.canonical_hosted_zone_id.clone(),
        created_time: ids::iso8601(lb.created_ms),
        load_balancer_name: lb.name.clone(),
        scheme: lb.scheme.clone(),
        vpc_id: lb.vpc_id.clone(),
        state: StateOut { code: lb.state.clone() },
        kind: lb.kind.clone(),
        availability_zones: lb
            .subnets
            .iter()
            .map(|s| AvailabilityZoneOut {
                zone_name: s.zone_name.clone(),
                subnet_id: s.subnet_id.clone(),
                load_balancer_addresses: vec![AddressOut {
                    ip_address: lb.address.to_string(),
                }],
            })
            .collect(),
        security_groups: lb.security_groups.clone(),
        ip_address_type: lb.ip_address_type.clone(),
    }
}

/// The hosted zone of ALB DNS names per region (Route 53 alias targets).
fn canonical_hosted_zone(region: &str) -> &'static str {
    match region {
        "us-east-2" => "Z3AADJGX6KTTL2",
        "us-west-1" => "Z368ELLRRE2KJ0",
        "us-west-2" => "Z1H1FL5HABSF5",
        "ca-central-1" => "ZQSVJUPU6J1EY",
        "eu-west-1" => "Z32O12XQLNTSW2",
        "eu-west-2" => "ZHURV8PSTC4K8",
        "eu-west-3" => "Z3Q77PNBQS71R4",
        "eu-central-1" => "Z215JYRZR1TBD5",
        "eu-north-1" => "Z23TAZ7KQ1L8IV",
        "ap-northeast-1" => "Z14GRHDCWA56QT",
        "ap-northeast-2" => "ZWKZPGTI48KDX",
        "ap-southeast-1" => "Z1LMS91P8CMLE5",
        "ap-southeast-2" => "Z1GM3OXH4ZPM65",
        "ap-south-1" => "ZP97RAFLXTNZK",
        "sa-east-1" => "Z2P70J7HTTTPLU",
        _ => "Z35SXDOTRQ7X7K",
    }
}

/// The hosted zone of NLB (and GWLB) DNS names per region.
fn network_hosted_zone(region: &str) -> &'static str {
    match region {
        "us-east-2" => "ZLMOA37VPKANP",
        "us-west-1" => "Z24FKFUX50B4VW",
        "us-west-2" => "Z18D5FSROUN65G",
        "ca-central-1" => "Z2EPGBW3API2WT",
        "eu-west-1" => "Z2IFOLAFXWLO4F",
        "eu-west-2" => "ZD4D7Y8KGAS4G",
        "eu-west-3" => "Z1CMS0P5QUZ6D5",
        "eu-central-1" => "Z3F0SRJ5LGBH90",
        "eu-north-1" => "Z1UDT6IFJ4EJM",
        "ap-northeast-1" => "Z31USIVHYNEOWT",
        "ap-northeast-2" => "ZIBE1TIR4HY56",
        "ap-southeast-1" => "ZKVM4W9LS7TM",
        "ap-southeast-2" => "ZCT6FZBF4DROD",
        "ap-south-1" => "ZVDDRBQ08TROA",
        "sa-east-1" => "ZTK26PT1VY4CU",
        _ => "Z26RNL4JYFTOTI",
    }
}

const IP_ADDRESS_TYPES: &[&str] = &["ipv4", "dualstack", "dualstack-without-public-ipv4"];

fn check_ip_address_type(value: &str) -> Result<(), AwsError> {
    if IP_ADDRESS_TYPES.contains(&value) {
        return Ok(());
    }
    Err(AwsError::validation(format!(
        "1 validation error detected: Value '{value}' at 'ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        IP_ADDRESS_TYPES.join(", ")
    )))
}

/// The lowest pool address no load balancer holds.
fn allocate_address(txn: &Txn) -> Result<Ipv4Addr, AwsError> {
    let taken: BTreeSet<Ipv4Addr> = txn.config.load_balancers.values().map(|lb| lb.address).collect();
    txn.settings
        .address_pool
        .hosts()
        .find(|a| !taken.contains(a))
        .ok_or_else(|| {
            AwsError::new(
                "TooManyLoadBalancers",
                400,
                "The --lb-address-pool of this Fulmar node has no free address left",
            )
        })
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<LoadBalancersOut, AwsError> {
    check_name(&input.name, "Load balancer")?;
    if input.name.starts_with("internal-") {
        return Err(AwsError::validation("Load balancer name cannot begin with 'internal-'"));
    }
    let kind = input.kind.unwrap_or_else(|| "application".into());
    if !matches!(kind.as_str(), "application" | "network" | "gateway") {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{kind}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [application, network, gateway]"
        )));
    }
    let scheme = input.scheme.unwrap_or_else(|| "internet-facing".into());
    if scheme != "internet-facing" && scheme != "internal" {
        return Err(AwsError::validation(format!("Scheme '{scheme}' is not valid")));
    }
    let ip_address_type = input.ip_address_type.unwrap_or_else(|| "ipv4".into());
    check_ip_address_type(&ip_address_type)?;
    if !input.subnets.is_empty() && !input.subnet_mappings.is_empty() {
        return Err(AwsError::validation(
            "You can specify subnets or subnet mappings, but not both",
        ));
    }
    let mut subnet_ids: Vec<String> = input.subnets;
    subnet_ids.extend(input.subnet_mappings.into_iter().map(|m| m.subnet_id));
    let subnets = resolve_subnets(txn, &subnet_ids, &kind)?;
    let vpc_id = subnets[0].1.clone();
    let security_groups = match input.security_groups {
        Some(groups) if kind == "gateway" && !groups.is_empty() => {
            return Err(AwsError::validation(
                "Security groups are not supported for load balancers with type 'gateway'",
            ))
        }
        Some(groups) => {
            check_groups(txn, &groups, &vpc_id)?;
            groups
        }
        // An ALB without groups gets its VPC's default group; NLBs and GWLBs get none.
        None if kind == "application" => crate::ec2::default_group_of(txn, &vpc_id).into_iter().collect(),
        None => Vec::new(),
    };
    let mappings: Vec<SubnetMapping> = subnets.into_iter().map(|(m, _)| m).collect();

    if let Some(existing) = txn
        .config
        .load_balancers
        .values()
        .find(|lb| lb.name == input.name && txn.owns_arn(&lb.arn))
    {
        let same = existing.subnets == mappings && existing.scheme == scheme && existing.kind == kind;
        if same {
            return Ok(LoadBalancersOut {
                load_balancers: vec![render(existing)],
                next_marker: None,
            });
        }
        return Err(AwsError::new(
            "DuplicateLoadBalancerName",
            400,
            format!(
                "A load balancer with the same name '{}' exists, but with different settings",
                input.name
            ),
        ));
    }
    if txn
        .config
        .load_balancers
        .values()
        .filter(|lb| txn.owns_arn(&lb.arn))
        .count()
        >= MAX_LOAD_BALANCERS
    {
        return Err(AwsError::new(
            "TooManyLoadBalancers",
            400,
            "The quota for the number of load balancers has been reached",
        ));
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags)?;
    let id = ids::hex(16);
    let kind_attr = kind.clone();
    let (arn_kind, dns_name) = match kind.as_str() {
        "application" => {
            let prefix = if scheme == "internal" { "internal-" } else { "" };
            (
                "app",
                format!(
                    "{prefix}{}-{}.{}.elb.amazonaws.com",
                    input.name,
                    ids::digits(10),
                    txn.region
                ),
            )
        }
        other => (
            if other == "network" { "net" } else { "gwy" },
            format!("{}-{}.elb.{}.amazonaws.com", input.name, ids::hex(16), txn.region),
        ),
    };
    let lb = LoadBalancer {
        arn: format!(
            "{}loadbalancer/{arn_kind}/{}/{}",
            txn.arn_prefix("elasticloadbalancing"),
            input.name,
            id
        ),
        dns_name,
        canonical_hosted_zone_id: if kind == "application" {
            canonical_hosted_zone(&txn.region)
        } else {
            network_hosted_zone(&txn.region)
        }
        .to_string(),
        created_ms: ids::now_ms(),
        name: input.name,
        scheme,
        vpc_id,
        state: "active".into(),
        kind,
        subnets: mappings,
        security_groups,
        ip_address_type,
        address: allocate_address(txn)?,
        attributes: load_balancer_defaults(&kind_attr),
        tags,
    };
    let mut out = render(&lb);
    // AWS answers a new load balancer as provisioning; it is active once described.
    out.state = StateOut {
        code: "provisioning".into(),
    };
    txn.touch(Kind::LoadBalancer, &lb.arn);
    txn.config.load_balancers.insert(lb.arn.clone(), Arc::new(lb));
    Ok(LoadBalancersOut {
        load_balancers: vec![out],
        next_marker: None,
    })
}

/// Subnets by id with their VPC: one subnet per Availability Zone, one VPC; ALBs need
/// two Availability Zones, NLBs and GWLBs one.
fn resolve_subnets(txn: &Txn, ids: &[String], kind: &str) -> Result<Vec<(SubnetMapping, String)>, AwsError> {
    let mut out = Vec::new();
    for id in ids {
        let subnet = txn
            .config
            .subnets
            .get(id)
            .filter(|s| s.region == txn.region)
            .ok_or_else(|| AwsError::new("SubnetNotFound", 400, format!("The subnet ID '{id}' is not valid")))?;
        if out
            .iter()
            .any(|(m, _): &(SubnetMapping, String)| m.zone_name == subnet.availability_zone)
        {
            return Err(AwsError::new(
                "InvalidConfigurationRequest",
                400,
                "A load balancer cannot be attached to multiple subnets in the same Availability Zone",
            ));
        }
        if out
            .first()
            .is_some_and(|(_, vpc): &(SubnetMapping, String)| *vpc != subnet.vpc_id)
        {
            return Err(AwsError::new(
                "InvalidSubnet",
                400,
                "The subnets must belong to the same VPC",
            ));
        }
        out.push((
            SubnetMapping {
                subnet_id: id.clone(),
                zone_name: subnet.availability_zone.clone(),
            },
            subnet.vpc_id.clone(),
        ));
    }
    if kind == "application" && out.len() < 2 {
        return Err(AwsError::validation(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    if out.is_empty() {
        return Err(AwsError::validation("At least one subnet must be specified"));
    }
    Ok(out)
}

fn check_groups(txn: &Txn, groups: &[String], vpc_id: &str) -> Result<(), AwsError> {
    if groups.len() > 5 {
        return Err(AwsError::validation(
            "A load balancer can have at most 5 security groups",
        ));
    }
    for g in groups {
        match txn.config.security_groups.get(g) {
            Some(sg) if sg.vpc_id == vpc_id || txn.settings.cross_vpc_security_groups => {}
            _ => {
                return Err(AwsError::new(
                    "InvalidSecurityGroup",
                    400,
                    format!("One or more security groups are invalid: '{g}'"),
                ))
            }
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    load_balancer_arns: Option<Vec<String>>,
    names: Option<Vec<String>>,
    marker: Option<String>,
    page_size: Option<u32>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<LoadBalancersOut, AwsError> {
    let mine = |lb: &&Arc<LoadBalancer>| txn.owns_arn(&lb.arn);
    let mut found: Vec<Arc<LoadBalancer>> = match (&input.load_balancer_arns, &input.names) {
        (Some(a), Some(n)) if !a.is_empty() && !n.is_empty() => {
            return Err(AwsError::validation(
                "Load balancer names and load balancer ARNs cannot be specified at the same time",
            ))
        }
        (Some(arns), _) if !arns.is_empty() => {
            let mut v = Vec::new();
            for arn in arns {
                v.push(
                    txn.config
                        .load_balancers
                        .get(arn)
                        .filter(|lb| txn.owns_arn(&lb.arn))
                        .cloned()
                        .ok_or_else(lb_not_found)?,
                );
            }
            v
        }
        (_, Some(names)) if !names.is_empty() => {
            let mut v = Vec::new();
            for name in names {
                let lb = txn
                    .config
                    .load_balancers
                    .values()
                    .filter(mine)
                    .find(|lb| &lb.name == name);
                v.push(lb.cloned().ok_or_else(lb_not_found)?);
            }
            v
        }
        _ => {
            let mut all: Vec<_> = txn.config.load_balancers.values().filter(mine).cloned().collect();
            all.sort_by(|a, b| (a.created_ms, &a.arn).cmp(&(b.created_ms, &b.arn)));
            all
        }
    };
    found.dedup_by(|a, b| a.arn == b.arn);
    let rendered: Vec<LoadBalancerOut> = found.iter().map(|lb| render(lb)).collect();
    let (load_balancers, next_marker) = page(rendered, input.marker.as_deref(), input.page_size)?;
    Ok(LoadBalancersOut {
        load_balancers,
        next_marker,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    load_balancer_arn: String,
}

#[derive(Serialize)]
pub struct Empty {}

pub fn delete(txn: &mut Txn, input: DeleteInput) -> Result<Empty, AwsError> {
    // Deleting a load balancer that does not exist succeeds, as on AWS.
    let Some(lb) = txn.config.load_balancers.get(&input.load_balancer_arn).cloned() else {
        return Ok(Empty {});
    };
    if lb.attributes.get("deletion_protection.enabled").map(String::as_str) == Some("true") {
        return Err(AwsError::new(
            "OperationNotPermitted",
            400,
            format!(
                "Load balancer '{}' cannot be deleted because deletion protection is enabled",
                lb.arn
            ),
        ));
    }
    let listeners: Vec<String> = txn.config.listeners_of(&lb.arn).map(|l| l.arn.clone()).collect();
    for listener in listeners {
        super::listeners::remove(txn, &listener);
    }
    txn.config.load_balancers.remove(&lb.arn);
    txn.touch(Kind::LoadBalancer, &lb.arn);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSecurityGroupsInput {
    load_balancer_arn: String,
    security_groups: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSecurityGroupsOut {
    security_group_ids: Vec<String>,
}

pub fn set_security_groups(txn: &mut Txn, input: SetSecurityGroupsInput) -> Result<SetSecurityGroupsOut, AwsError> {
    let lb = txn
        .config
        .load_balancers
        .get(&input.load_balancer_arn)
        .cloned()
        .ok_or_else(lb_not_found)?;
    if lb.kind == "gateway" {
        return Err(AwsError::validation(
            "Security groups are not supported for load balancers with type 'gateway'",
        ));
    }
    check_groups(txn, &input.security_groups, &lb.vpc_id)?;
    let mut lb = (*lb).clone();
    lb.security_groups = input.security_groups.clone();
    txn.touch(Kind::LoadBalancer, &lb.arn);
    txn.config.load_balancers.insert(lb.arn.clone(), Arc::new(lb));
    Ok(SetSecurityGroupsOut {
        security_group_ids: input.security_groups,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountLimitsInput {
    marker: Option<String>,
    page_size: Option<u32>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct LimitOut {
    name: String,
    max: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountLimitsOut {
    limits: Vec<LimitOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

pub fn account_limits(_txn: &mut Txn, input: AccountLimitsInput) -> Result<AccountLimitsOut, AwsError> {
    let limits = [
        ("application-load-balancers", "50"),
        ("target-groups", "3000"),
        ("targets-per-application-load-balancer", "1000"),
        ("listeners-per-application-load-balancer", "50"),
        ("rules-per-application-load-balancer", "100"),
        ("condition-values-per-alb-rule", "5"),
        ("condition-wildcards-per-alb-rule", "5"),
        ("target-groups-per-action-on-application-load-balancer", "5"),
        ("certificates-per-application-load-balancer", "25"),
    ]
    .into_iter()
    .map(|(n, m)| LimitOut {
        name: n.into(),
        max: m.into(),
    })
    .collect();
    let (limits, next_marker) = page(limits, input.marker.as_deref(), input.page_size)?;
    Ok(AccountLimitsOut { limits, next_marker })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSubnetsInput {
    load_balancer_arn: String,
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    subnet_mappings: Vec<SubnetMappingIn>,
    ip_address_type: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSubnetsOut {
    availability_zones: Vec<AvailabilityZoneOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address_type: Option<String>,
}

pub fn set_subnets(txn: &mut Txn, input: SetSubnetsInput) -> Result<SetSubnetsOut, AwsError> {
    let lb = txn
        .config
        .load_balancers
        .get(&input.load_balancer_arn)
        .cloned()
        .ok_or_else(lb_not_found)?;
    if !input.subnets.is_empty() && !input.subnet_mappings.is_empty() {
        return Err(AwsError::validation(
            "You can specify subnets or subnet mappings, but not both",
        ));
    }
    if let Some(t) = &input.ip_address_type {
        check_ip_address_type(t)?;
    }
    let mut subnet_ids: Vec<String> = input.subnets;
    subnet_ids.extend(input.subnet_mappings.into_iter().map(|m| m.subnet_id));
    let subnets = resolve_subnets(txn, &subnet_ids, &lb.kind)?;
    if subnets.iter().any(|(_, vpc)| *vpc != lb.vpc_id) {
        return Err(AwsError::new(
            "InvalidSubnet",
            400,
            format!("The subnets must belong to the load balancer's VPC '{}'", lb.vpc_id),
        ));
    }
    let mut lb = (*lb).clone();
    lb.subnets = subnets.into_iter().map(|(m, _)| m).collect();
    if let Some(t) = input.ip_address_type.clone() {
        lb.ip_address_type = t;
    }
    let out = render(&lb);
    txn.touch(Kind::LoadBalancer, &lb.arn);
    txn.config.load_balancers.insert(lb.arn.clone(), Arc::new(lb));
    Ok(SetSubnetsOut {
        availability_zones: out.availability_zones,
        ip_address_type: input.ip_address_type,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetIpAddressTypeInput {
    load_balancer_arn: String,
    ip_address_type: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetIpAddressTypeOut {
    ip_address_type: String,
}

pub fn set_ip_address_type(txn: &mut Txn, input: SetIpAddressTypeInput) -> Result<SetIpAddressTypeOut, AwsError> {
    check_ip_address_type(&input.ip_address_type)?;
    let lb = txn
        .config
        .load_balancers
        .get(&input.load_balancer_arn)
        .cloned()
        .ok_or_else(lb_not_found)?;
    if input.ip_address_type == "dualstack-without-public-ipv4" && lb.kind != "application" {
        return Err(AwsError::validation(
            "IP address type 'dualstack-without-public-ipv4' is only supported by Application Load Balancers",
        ));
    }
    let mut lb = (*lb).clone();
    lb.ip_address_type = input.ip_address_type.clone();
    txn.touch(Kind::LoadBalancer, &lb.arn);
    txn.config.load_balancers.insert(lb.arn.clone(), Arc::new(lb));
    Ok(SetIpAddressTypeOut {
        ip_address_type: input.ip_address_type,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapacityInput {
    load_balancer_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapacityOut {
    /// Empty: no load balancer capacity unit reservation is ever set.
    capacity_reservation_state: Vec<CapacityStateOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapacityStateOut {
    availability_zone: String,
}

pub fn describe_capacity_reservation(txn: &mut Txn, input: CapacityInput) -> Result<CapacityOut, AwsError> {
    txn.config
        .load_balancers
        .get(&input.load_balancer_arn)
        .filter(|lb| txn.owns_arn(&lb.arn))
        .ok_or_else(lb_not_found)?;
    Ok(CapacityOut {
        capacity_reservation_state: Vec::new(),
    })
}
