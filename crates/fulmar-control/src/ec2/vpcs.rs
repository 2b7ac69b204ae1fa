//! VPCs, subnets, Availability Zones, and the default VPC of each region.

use std::sync::Arc;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, Subnet, Vpc};

use super::filters::{self, FilterIn};
use super::{tag_set, tags_for, ReturnOut, TagOut, TagSpecificationIn, ValueIn, OK};
use crate::ids;
use crate::Txn;

/// The Availability Zones of a region: six in us-east-1, three elsewhere.
pub fn zones(region: &str) -> Vec<String> {
    let letters: &[char] = if region == "us-east-1" {
        &['a', 'b', 'c', 'd', 'e', 'f']
    } else {
        &['a', 'b', 'c']
    };
    letters.iter().map(|l| format!("{region}{l}")).collect()
}

/// `use1-az1` style zone ids, derived from the region name and the zone's position.
fn zone_id(region: &str, zone: &str) -> String {
    let mut abbr = String::new();
    for (i, part) in region.split('-').enumerate() {
        match i {
            0 => abbr.push_str(part),
            _ => abbr.push_str(&part[..1.min(part.len())]),
        }
    }
    let n = zones(region).iter().position(|z| z == zone).map_or(1, |i| i + 1);
    format!("{}-az{n}", abbr.replace(|c: char| !c.is_ascii_alphanumeric(), ""))
}

fn vpc_not_found(id: &str) -> AwsError {
    AwsError::new(
        "InvalidVpcID.NotFound",
        400,
        format!("The vpc ID '{id}' does not exist"),
    )
}

fn subnet_not_found(id: &str) -> AwsError {
    AwsError::new(
        "InvalidSubnetID.NotFound",
        400,
        format!("The subnet ID '{id}' does not exist"),
    )
}

/// Create the region's default VPC (172.31.0.0/16, a /20 default subnet per zone,
/// the default security group) the first time the region is used.
pub fn ensure_default_vpc(txn: &mut Txn) {
    if txn.config.vpcs.values().any(|v| v.is_default && v.region == txn.region) {
        return;
    }
    // 172.31.0.0/16 is a valid network; the literal cannot fail to parse.
    let cidr: Ipv4Net = "172.31.0.0/16".parse().expect("literal CIDR");
    let vpc = Vpc {
        id: ids::ec2("vpc"),
        region: txn.region.clone(),
        cidr_block: cidr,
        is_default: true,
        instance_tenancy: "default".into(),
        owner_id: txn.account().to_string(),
        tags: Vec::new(),
        ipv6_cidr_block: None,
    };
    let subnets: Vec<Ipv4Net> = cidr.subnets(20).map(|s| s.collect()).unwrap_or_default();
    for (zone, net) in zones(&txn.region).into_iter().zip(subnets) {
        let subnet = Subnet {
            id: ids::ec2("subnet"),
            region: txn.region.clone(),
            vpc_id: vpc.id.clone(),
            cidr_block: net,
            availability_zone_id: zone_id(&txn.region, &zone),
            availability_zone: zone,
            default_for_az: true,
            map_public_ip_on_launch: true,
            owner_id: txn.account().to_string(),
            tags: Vec::new(),
        };
        txn.touch(Kind::Subnet, &subnet.id);
        txn.config.subnets.insert(subnet.id.clone(), Arc::new(subnet));
    }
    let vpc_id = vpc.id.clone();
    txn.touch(Kind::Vpc, &vpc.id);
    txn.config.vpcs.insert(vpc.id.clone(), Arc::new(vpc));
    super::security_groups::create_default_group(txn, &vpc_id);
    // The default VPC is public: an attached internet gateway and a main route table
    // sending 0.0.0.0/0 to it.
    let igw = super::gateways::new_igw(txn, Some(vpc_id.clone()), Vec::new());
    let rtb = super::route_tables::create_main(txn, &vpc_id);
    super::route_tables::add_route(
        txn,
        &rtb,
        "0.0.0.0/0".parse().expect("literal CIDR"),
        fulmar_model::ec2::RouteTarget::Gateway(igw),
    );
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateVpcInput {
    cidr_block: Option<String>,
    instance_tenancy: Option<String>,
    amazon_provided_ipv6_cidr_block: Option<bool>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct VpcOut {
    #[serde(rename = "vpcId")]
    vpc_id: String,
    #[serde(rename = "ownerId")]
    owner_id: String,
    state: &'static str,
    #[serde(rename = "cidrBlock")]
    cidr_block: String,
    #[serde(rename = "cidrBlockAssociationSet")]
    associations: Vec<CidrAssociationOut>,
    #[serde(rename = "ipv6CidrBlockAssociationSet", skip_serializing_if = "Vec::is_empty")]
    ipv6_associations: Vec<Ipv6AssociationOut>,
    #[serde(rename = "dhcpOptionsId")]
    dhcp_options_id: &'static str,
    #[serde(rename = "instanceTenancy")]
    instance_tenancy: String,
    #[serde(rename = "isDefault")]
    is_default: bool,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

#[derive(Serialize)]
struct CidrAssociationOut {
    #[serde(rename = "associationId")]
    association_id: String,
    #[serde(rename = "cidrBlock")]
    cidr_block: String,
    #[serde(rename = "cidrBlockState")]
    state: StateOut,
}

#[derive(Serialize)]
struct Ipv6AssociationOut {
    #[serde(rename = "associationId")]
    association_id: String,
    #[serde(rename = "ipv6CidrBlock")]
    cidr_block: String,
    #[serde(rename = "ipv6CidrBlockState")]
    state: StateOut,
    #[serde(rename = "networkBorderGroup")]
    network_border_group: String,
    #[serde(rename = "ipv6Pool")]
    pool: &'static str,
}

#[derive(Serialize)]
struct StateOut {
    state: &'static str,
}

fn render_vpc(v: &Vpc) -> VpcOut {
    VpcOut {
        vpc_id: v.id.clone(),
        owner_id: v.owner_id.clone(),
        state: "available",
        cidr_block: v.cidr_block.to_string(),
        associations: vec![CidrAssociationOut {
            association_id: format!("vpc-cidr-assoc-{}", &v.id[4..]),
            cidr_block: v.cidr_block.to_string(),
            state: StateOut { state: "associated" },
        }],
        ipv6_associations: v
            .ipv6_cidr_block
            .iter()
            .map(|n| Ipv6AssociationOut {
                association_id: format!("vpc-cidr-assoc-6{}", &v.id[5..]),
                cidr_block: n.to_string(),
                state: StateOut { state: "associated" },
                network_border_group: v.region.clone(),
                pool: "Amazon",
            })
            .collect(),
        dhcp_options_id: "default",
        instance_tenancy: v.instance_tenancy.clone(),
        is_default: v.is_default,
        tags: tag_set(&v.tags),
    }
}

#[derive(Serialize)]
pub struct CreateVpcOut {
    vpc: VpcOut,
}

pub fn create_vpc(txn: &mut Txn, input: CreateVpcInput) -> Result<CreateVpcOut, AwsError> {
    let raw = input.cidr_block.ok_or_else(|| {
        AwsError::new(
            "MissingParameter",
            400,
            "The request must contain the parameter cidrBlock",
        )
    })?;
    let cidr: Ipv4Net = raw.parse().map_err(|_| {
        AwsError::new(
            "InvalidParameterValue",
            400,
            format!("Value ({raw}) for parameter cidrBlock is invalid. This is not a valid CIDR block."),
        )
    })?;
    if !(16..=28).contains(&cidr.prefix_len()) {
        return Err(AwsError::new(
            "InvalidVpc.Range",
            400,
            format!("The CIDR '{raw}' is invalid."),
        ));
    }
    let vpc = Vpc {
        id: ids::ec2("vpc"),
        region: txn.region.clone(),
        cidr_block: cidr.trunc(),
        is_default: false,
        instance_tenancy: input.instance_tenancy.unwrap_or_else(|| "default".into()),
        owner_id: txn.account().to_string(),
        tags: tags_for(&input.tag_specifications, "vpc"),
        ipv6_cidr_block: input
            .amazon_provided_ipv6_cidr_block
            .unwrap_or(false)
            .then(amazon_ipv6_block),
    };
    let out = render_vpc(&vpc);
    let id = vpc.id.clone();
    txn.touch(Kind::Vpc, &id);
    txn.config.vpcs.insert(id.clone(), Arc::new(vpc));
    super::security_groups::create_default_group(txn, &id);
    super::route_tables::create_main(txn, &id);
    Ok(CreateVpcOut { vpc: out })
}

/// A /56 from Amazon's pool (2600:1f18::/32 is the us-east-1 range; any /56 of it).
fn amazon_ipv6_block() -> ipnet::Ipv6Net {
    let n: u16 = rand::random();
    let text = format!("2600:1f18:{:x}:{:x}00::/56", n, rand::random::<u8>());
    // Built from hex digits in a fixed layout; always a valid /56.
    text.parse().expect("generated IPv6 CIDR")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeVpcsInput {
    #[serde(default, rename = "VpcId")]
    vpc_ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
}

#[derive(Serialize)]
pub struct DescribeVpcsOut {
    #[serde(rename = "vpcSet")]
    vpcs: Vec<VpcOut>,
}

pub fn describe_vpcs(txn: &mut Txn, input: DescribeVpcsInput) -> Result<DescribeVpcsOut, AwsError> {
    for id in &input.vpc_ids {
        if !txn.config.vpcs.get(id).is_some_and(|v| v.region == txn.region) {
            return Err(vpc_not_found(id));
        }
    }
    let vpcs = txn
        .config
        .vpcs
        .values()
        .filter(|v| v.region == txn.region)
        .filter(|v| input.vpc_ids.is_empty() || input.vpc_ids.contains(&v.id))
        .filter(|v| {
            filters::matches(&input.filters, &v.tags, |name| match name {
                "vpc-id" => Some(vec![v.id.clone()]),
                "cidr" | "cidr-block" | "cidr-block-association.cidr-block" => Some(vec![v.cidr_block.to_string()]),
                "is-default" | "isDefault" => Some(vec![v.is_default.to_string()]),
                "state" => Some(vec!["available".into()]),
                "owner-id" => Some(vec![v.owner_id.clone()]),
                _ => None,
            })
        })
        .map(|v| render_vpc(v))
        .collect();
    Ok(DescribeVpcsOut { vpcs })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteVpcInput {
    vpc_id: String,
}

pub fn delete_vpc(txn: &mut Txn, input: DeleteVpcInput) -> Result<ReturnOut, AwsError> {
    if !txn
        .config
        .vpcs
        .get(&input.vpc_id)
        .is_some_and(|v| v.region == txn.region)
    {
        return Err(vpc_not_found(&input.vpc_id));
    }
    let vpc_id = input.vpc_id.as_str();
    let in_use = txn.config.subnets.values().any(|s| s.vpc_id == vpc_id)
        || txn
            .config
            .security_groups
            .values()
            .any(|g| g.vpc_id == vpc_id && g.name != "default")
        || txn.config.load_balancers.values().any(|l| l.vpc_id == vpc_id)
        || txn
            .config
            .internet_gateways
            .values()
            .any(|g| g.vpc_id.as_deref() == Some(vpc_id))
        || txn
            .config
            .route_tables
            .values()
            .any(|t| t.vpc_id == vpc_id && !t.is_main())
        || txn.config.network_interfaces.values().any(|n| n.vpc_id == vpc_id);
    if in_use {
        return Err(AwsError::new(
            "DependencyViolation",
            400,
            format!("The vpc '{}' has dependencies and cannot be deleted.", input.vpc_id),
        ));
    }
    let groups: Vec<String> = txn
        .config
        .security_groups
        .values()
        .filter(|g| g.vpc_id == input.vpc_id)
        .map(|g| g.id.clone())
        .collect();
    for g in groups {
        txn.config.security_groups.remove(&g);
        txn.touch(Kind::SecurityGroup, &g);
    }
    let tables: Vec<String> = txn
        .config
        .route_tables
        .values()
        .filter(|t| t.vpc_id == input.vpc_id)
        .map(|t| t.id.clone())
        .collect();
    for t in tables {
        txn.config.route_tables.remove(&t);
        txn.touch(Kind::RouteTable, &t);
    }
    txn.config.vpcs.remove(&input.vpc_id);
    txn.touch(Kind::Vpc, &input.vpc_id);
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSubnetInput {
    vpc_id: Option<String>,
    cidr_block: Option<String>,
    availability_zone: Option<String>,
    availability_zone_id: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct SubnetOut {
    #[serde(rename = "subnetId")]
    subnet_id: String,
    #[serde(rename = "subnetArn")]
    subnet_arn: String,
    state: &'static str,
    #[serde(rename = "vpcId")]
    vpc_id: String,
    #[serde(rename = "cidrBlock")]
    cidr_block: String,
    #[serde(rename = "availableIpAddressCount")]
    available: u64,
    #[serde(rename = "availabilityZone")]
    availability_zone: String,
    #[serde(rename = "availabilityZoneId")]
    availability_zone_id: String,
    #[serde(rename = "defaultForAz")]
    default_for_az: bool,
    #[serde(rename = "mapPublicIpOnLaunch")]
    map_public_ip_on_launch: bool,
    #[serde(rename = "assignIpv6AddressOnCreation")]
    assign_ipv6: bool,
    #[serde(rename = "ownerId")]
    owner_id: String,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

fn render_subnet(txn: &Txn, s: &Subnet) -> SubnetOut {
    let used = txn
        .config
        .network_interfaces
        .values()
        .filter(|n| n.subnet_id == s.id)
        .count() as u64;
    SubnetOut {
        subnet_id: s.id.clone(),
        subnet_arn: format!("arn:aws:ec2:{}:{}:subnet/{}", s.region, s.owner_id, s.id),
        state: "available",
        vpc_id: s.vpc_id.clone(),
        cidr_block: s.cidr_block.to_string(),
        // AWS reserves five addresses of every subnet.
        available: (1u64 << (32 - s.cidr_block.prefix_len())).saturating_sub(5 + used),
        availability_zone: s.availability_zone.clone(),
        availability_zone_id: s.availability_zone_id.clone(),
        default_for_az: s.default_for_az,
        map_public_ip_on_launch: s.map_public_ip_on_launch,
        assign_ipv6: false,
        owner_id: s.owner_id.clone(),
        tags: tag_set(&s.tags),
    }
}

#[derive(Serialize)]
pub struct CreateSubnetOut {
    subnet: SubnetOut,
}

pub fn create_subnet(txn: &mut Txn, input: CreateSubnetInput) -> Result<CreateSubnetOut, AwsError> {
    let vpc_id = input
        .vpc_id
        .ok_or_else(|| AwsError::new("MissingParameter", 400, "The request must contain the parameter vpcId"))?;
    let vpc = txn
        .config
        .vpcs
        .get(&vpc_id)
        .filter(|v| v.region == txn.region)
        .cloned()
        .ok_or_else(|| vpc_not_found(&vpc_id))?;
    let raw = input.cidr_block.ok_or_else(|| {
        AwsError::new(
            "MissingParameter",
            400,
            "The request must contain the parameter cidrBlock",
        )
    })?;
    let cidr: Ipv4Net = raw.parse().map_err(|_| {
        AwsError::new(
            "InvalidParameterValue",
            400,
            format!("Value ({raw}) for parameter cidrBlock is invalid. This is not a valid CIDR block."),
        )
    })?;
    if !(16..=28).contains(&cidr.prefix_len()) || !vpc.cidr_block.contains(&cidr) {
        return Err(AwsError::new(
            "InvalidSubnet.Range",
            400,
            format!("The CIDR '{raw}' is invalid."),
        ));
    }
    let cidr = cidr.trunc();
    if txn
        .config
        .subnets
        .values()
        .any(|s| s.vpc_id == vpc_id && (s.cidr_block.contains(&cidr) || cidr.contains(&s.cidr_block)))
    {
        return Err(AwsError::new(
            "InvalidSubnet.Conflict",
            400,
            format!("The CIDR '{raw}' conflicts with another subnet"),
        ));
    }
    let all = zones(&txn.region);
    let zone = match (input.availability_zone, input.availability_zone_id) {
        (Some(z), _) => z,
        (None, Some(id)) => all
            .iter()
            .find(|z| zone_id(&txn.region, z) == id)
            .cloned()
            .unwrap_or(id),
        (None, None) => all[0].clone(),
    };
    if !all.contains(&zone) {
        return Err(AwsError::new(
            "InvalidParameterValue",
            400,
            format!("Value ({zone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.", all.join(", ")),
        ));
    }
    let subnet = Subnet {
        id: ids::ec2("subnet"),
        region: txn.region.clone(),
        vpc_id,
        cidr_block: cidr,
        availability_zone_id: zone_id(&txn.region, &zone),
        availability_zone: zone,
        default_for_az: false,
        map_public_ip_on_launch: false,
        owner_id: txn.account().to_string(),
        tags: tags_for(&input.tag_specifications, "subnet"),
    };
    let out = render_subnet(txn, &subnet);
    txn.touch(Kind::Subnet, &subnet.id);
    txn.config.subnets.insert(subnet.id.clone(), Arc::new(subnet));
    Ok(CreateSubnetOut { subnet: out })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSubnetsInput {
    #[serde(default, rename = "SubnetId")]
    subnet_ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
}

#[derive(Serialize)]
pub struct DescribeSubnetsOut {
    #[serde(rename = "subnetSet")]
    subnets: Vec<SubnetOut>,
}

pub fn describe_subnets(txn: &mut Txn, input: DescribeSubnetsInput) -> Result<DescribeSubnetsOut, AwsError> {
    for id in &input.subnet_ids {
        if !txn.config.subnets.get(id).is_some_and(|s| s.region == txn.region) {
            return Err(subnet_not_found(id));
        }
    }
    let subnets = txn
        .config
        .subnets
        .values()
        .filter(|s| s.region == txn.region)
        .filter(|s| input.subnet_ids.is_empty() || input.subnet_ids.contains(&s.id))
        .filter(|s| {
            filters::matches(&input.filters, &s.tags, |name| match name {
                "subnet-id" => Some(vec![s.id.clone()]),
                "vpc-id" => Some(vec![s.vpc_id.clone()]),
                "cidr" | "cidr-block" | "cidrBlock" => Some(vec![s.cidr_block.to_string()]),
                "availability-zone" | "availabilityZone" => Some(vec![s.availability_zone.clone()]),
                "availability-zone-id" => Some(vec![s.availability_zone_id.clone()]),
                "default-for-az" | "defaultForAz" => Some(vec![s.default_for_az.to_string()]),
                "map-public-ip-on-launch" => Some(vec![s.map_public_ip_on_launch.to_string()]),
                "state" => Some(vec!["available".into()]),
                "owner-id" => Some(vec![s.owner_id.clone()]),
                _ => None,
            })
        })
        .map(|s| render_subnet(txn, s))
        .collect();
    Ok(DescribeSubnetsOut { subnets })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSubnetInput {
    subnet_id: String,
}

pub fn delete_subnet(txn: &mut Txn, input: DeleteSubnetInput) -> Result<ReturnOut, AwsError> {
    if !txn
        .config
        .subnets
        .get(&input.subnet_id)
        .is_some_and(|s| s.region == txn.region)
    {
        return Err(subnet_not_found(&input.subnet_id));
    }
    let in_use = txn
        .config
        .load_balancers
        .values()
        .any(|lb| lb.subnets.iter().any(|m| m.subnet_id == input.subnet_id))
        || txn
            .config
            .network_interfaces
            .values()
            .any(|n| n.subnet_id == input.subnet_id)
        || txn.config.nat_gateways.values().any(|n| {
            n.subnet_id == input.subnet_id && n.state_at(super::now()) != fulmar_model::ec2::NatGatewayState::Deleted
        });
    if in_use {
        return Err(AwsError::new(
            "DependencyViolation",
            400,
            format!(
                "The subnet '{}' has dependencies and cannot be deleted.",
                input.subnet_id
            ),
        ));
    }
    super::route_tables::forget_subnet(txn, &input.subnet_id);
    txn.config.subnets.remove(&input.subnet_id);
    txn.touch(Kind::Subnet, &input.subnet_id);
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifySubnetAttributeInput {
    subnet_id: String,
    map_public_ip_on_launch: Option<ValueIn<bool>>,
}

pub fn modify_subnet_attribute(txn: &mut Txn, input: ModifySubnetAttributeInput) -> Result<ReturnOut, AwsError> {
    let subnet = txn
        .config
        .subnets
        .get(&input.subnet_id)
        .filter(|s| s.region == txn.region)
        .cloned()
        .ok_or_else(|| subnet_not_found(&input.subnet_id))?;
    let mut subnet = (*subnet).clone();
    if let Some(v) = input.map_public_ip_on_launch {
        subnet.map_public_ip_on_launch = v.value;
    }
    txn.touch(Kind::Subnet, &subnet.id);
    txn.config.subnets.insert(subnet.id.clone(), Arc::new(subnet));
    Ok(OK)
}

/// A subnet of the calling region, or `InvalidSubnetID.NotFound`.
pub fn subnet(txn: &Txn, id: &str) -> Result<Arc<Subnet>, AwsError> {
    txn.config
        .subnets
        .get(id)
        .filter(|s| s.region == txn.region)
        .cloned()
        .ok_or_else(|| subnet_not_found(id))
}

/// A VPC of the calling region, or `InvalidVpcID.NotFound`.
pub fn vpc(txn: &Txn, id: &str) -> Result<Arc<Vpc>, AwsError> {
    txn.config
        .vpcs
        .get(id)
        .filter(|v| v.region == txn.region)
        .cloned()
        .ok_or_else(|| vpc_not_found(id))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeZonesInput {
    #[serde(default, rename = "ZoneName")]
    zone_names: Vec<String>,
}

#[derive(Serialize)]
pub struct DescribeZonesOut {
    #[serde(rename = "availabilityZoneInfo")]
    zones: Vec<ZoneOut>,
}

#[derive(Serialize)]
struct ZoneOut {
    #[serde(rename = "zoneName")]
    zone_name: String,
    #[serde(rename = "zoneId")]
    zone_id: String,
    #[serde(rename = "zoneState")]
    state: &'static str,
    #[serde(rename = "regionName")]
    region_name: String,
    #[serde(rename = "zoneType")]
    zone_type: &'static str,
    #[serde(rename = "optInStatus")]
    opt_in_status: &'static str,
}

pub fn describe_zones(txn: &mut Txn, input: DescribeZonesInput) -> Result<DescribeZonesOut, AwsError> {
    let zones = zones(&txn.region)
        .into_iter()
        .filter(|z| input.zone_names.is_empty() || input.zone_names.contains(z))
        .map(|z| ZoneOut {
            zone_id: zone_id(&txn.region, &z),
            zone_name: z,
            state: "available",
            region_name: txn.region.clone(),
            zone_type: "availability-zone",
            opt_in_status: "opt-in-not-required",
        })
        .collect();
    Ok(DescribeZonesOut { zones })
}
