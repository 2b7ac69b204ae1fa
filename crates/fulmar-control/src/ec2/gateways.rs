//! Internet gateways (attached to one VPC at a time) and NAT gateways (an address in
//! a public subnet through which private subnets reach out, SPEC E6).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::ec2::NatGatewayState;
use fulmar_model::{InternetGateway, Kind, NatGateway, Tag};

use super::filters::{self, FilterIn};
use super::paging::page;
use super::{
    check_tag_specs, invalid, missing, not_found, now, tag_set, tags_for, ReturnOut, TagOut, TagSpecificationIn, OK,
};
use crate::{ids, Txn};

fn igw_not_found(id: &str) -> AwsError {
    not_found("InvalidInternetGatewayID", "internetGateway ID", id)
}

fn igw(txn: &Txn, id: &str) -> Result<Arc<InternetGateway>, AwsError> {
    txn.config
        .internet_gateways
        .get(id)
        .filter(|g| g.region == txn.region)
        .cloned()
        .ok_or_else(|| igw_not_found(id))
}

/// Create an internet gateway, attached to `vpc_id` when given; returns its id.
pub fn new_igw(txn: &mut Txn, vpc_id: Option<String>, tags: Vec<Tag>) -> String {
    let g = InternetGateway {
        id: ids::ec2("igw"),
        region: txn.region.clone(),
        owner_id: txn.account().to_string(),
        vpc_id,
        tags,
    };
    let id = g.id.clone();
    txn.touch(Kind::InternetGateway, &id);
    txn.config.internet_gateways.insert(id.clone(), Arc::new(g));
    id
}

#[derive(Serialize)]
pub struct IgwOut {
    #[serde(rename = "internetGatewayId")]
    id: String,
    #[serde(rename = "ownerId")]
    owner_id: String,
    #[serde(rename = "attachmentSet")]
    attachments: Vec<IgwAttachmentOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

#[derive(Serialize)]
struct IgwAttachmentOut {
    #[serde(rename = "vpcId")]
    vpc_id: String,
    state: &'static str,
}

fn render_igw(g: &InternetGateway) -> IgwOut {
    IgwOut {
        id: g.id.clone(),
        owner_id: g.owner_id.clone(),
        attachments: g
            .vpc_id
            .iter()
            .map(|v| IgwAttachmentOut {
                vpc_id: v.clone(),
                state: "available",
            })
            .collect(),
        tags: tag_set(&g.tags),
    }
}

#[derive(Deserialize)]
pub struct CreateIgwInput {
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct CreateIgwOut {
    #[serde(rename = "internetGateway")]
    gateway: IgwOut,
}

pub fn create_igw(txn: &mut Txn, input: CreateIgwInput) -> Result<CreateIgwOut, AwsError> {
    check_tag_specs(&input.tag_specifications, &["internet-gateway"])?;
    let id = new_igw(txn, None, tags_for(&input.tag_specifications, "internet-gateway"));
    Ok(CreateIgwOut {
        gateway: render_igw(&txn.config.internet_gateways[&id]),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeIgwsInput {
    #[serde(default, rename = "InternetGatewayId")]
    ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeIgwsOut {
    #[serde(rename = "internetGatewaySet")]
    gateways: Vec<IgwOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe_igws(txn: &mut Txn, input: DescribeIgwsInput) -> Result<DescribeIgwsOut, AwsError> {
    for id in &input.ids {
        igw(txn, id)?;
    }
    let all: Vec<IgwOut> = txn
        .config
        .internet_gateways
        .values()
        .filter(|g| g.region == txn.region && (input.ids.is_empty() || input.ids.contains(&g.id)))
        .filter(|g| {
            filters::matches(&input.filters, &g.tags, |name| match name {
                "internet-gateway-id" => Some(vec![g.id.clone()]),
                "owner-id" => Some(vec![g.owner_id.clone()]),
                "attachment.vpc-id" => Some(g.vpc_id.iter().cloned().collect()),
                "attachment.state" => Some(g.vpc_id.iter().map(|_| "available".to_string()).collect()),
                _ => None,
            })
        })
        .map(|g| render_igw(g))
        .collect();
    let (gateways, next_token) = page(all, input.max_results, input.next_token.as_deref(), 5)?;
    Ok(DescribeIgwsOut { gateways, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IgwIdInput {
    internet_gateway_id: String,
}

pub fn delete_igw(txn: &mut Txn, input: IgwIdInput) -> Result<ReturnOut, AwsError> {
    let g = igw(txn, &input.internet_gateway_id)?;
    if g.vpc_id.is_some() {
        return Err(AwsError::new(
            "DependencyViolation",
            400,
            format!("The internetGateway '{}' has dependencies and cannot be deleted.", g.id),
        ));
    }
    txn.config.internet_gateways.remove(&g.id);
    txn.touch(Kind::InternetGateway, &g.id);
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachIgwInput {
    internet_gateway_id: String,
    vpc_id: String,
}

pub fn attach_igw(txn: &mut Txn, input: AttachIgwInput) -> Result<ReturnOut, AwsError> {
    let g = igw(txn, &input.internet_gateway_id)?;
    let vpc = super::vpcs::vpc(txn, &input.vpc_id)?;
    if let Some(attached) = &g.vpc_id {
        return Err(AwsError::new(
            "Resource.AlreadyAssociated",
            400,
            format!("resource {} is already attached to network {attached}", g.id),
        ));
    }
    if txn
        .config
        .internet_gateways
        .values()
        .any(|o| o.vpc_id.as_deref() == Some(vpc.id.as_str()))
    {
        return Err(invalid(format!(
            "Network {} already has an internet gateway attached",
            vpc.id
        )));
    }
    let mut g = (*g).clone();
    g.vpc_id = Some(vpc.id.clone());
    txn.touch(Kind::InternetGateway, &g.id);
    txn.config.internet_gateways.insert(g.id.clone(), Arc::new(g));
    Ok(OK)
}

pub fn detach_igw(txn: &mut Txn, input: AttachIgwInput) -> Result<ReturnOut, AwsError> {
    let g = igw(txn, &input.internet_gateway_id)?;
    super::vpcs::vpc(txn, &input.vpc_id)?;
    if g.vpc_id.as_deref() != Some(input.vpc_id.as_str()) {
        return Err(AwsError::new(
            "Gateway.NotAttached",
            400,
            format!("resource {} is not attached to network {}", g.id, input.vpc_id),
        ));
    }
    let mapped = txn
        .config
        .network_interfaces
        .values()
        .any(|n| n.vpc_id == input.vpc_id && n.public_ip.is_some());
    if mapped {
        return Err(AwsError::new(
            "DependencyViolation",
            400,
            format!(
                "Network {} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.",
                input.vpc_id
            ),
        ));
    }
    let mut g = (*g).clone();
    g.vpc_id = None;
    txn.touch(Kind::InternetGateway, &g.id);
    txn.config.internet_gateways.insert(g.id.clone(), Arc::new(g));
    Ok(OK)
}

// ---------------------------------------------------------------------------
// NAT gateways

fn nat_not_found(id: &str) -> AwsError {
    AwsError::new("NatGatewayNotFound", 400, format!("The Nat Gateway {id} was not found"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateNatInput {
    subnet_id: Option<String>,
    allocation_id: Option<String>,
    connectivity_type: Option<String>,
    private_ip_address: Option<String>,
    client_token: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct NatOut {
    #[serde(rename = "natGatewayId")]
    id: String,
    #[serde(rename = "subnetId")]
    subnet_id: String,
    #[serde(rename = "vpcId")]
    vpc_id: String,
    state: &'static str,
    #[serde(rename = "connectivityType")]
    connectivity_type: String,
    #[serde(rename = "createTime")]
    create_time: String,
    #[serde(rename = "deleteTime", skip_serializing_if = "Option::is_none")]
    delete_time: Option<String>,
    #[serde(rename = "natGatewayAddressSet")]
    addresses: Vec<NatAddressOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

#[derive(Serialize)]
struct NatAddressOut {
    #[serde(rename = "allocationId", skip_serializing_if = "Option::is_none")]
    allocation_id: Option<String>,
    #[serde(rename = "networkInterfaceId")]
    network_interface_id: String,
    #[serde(rename = "privateIp")]
    private_ip: String,
    #[serde(rename = "publicIp", skip_serializing_if = "Option::is_none")]
    public_ip: Option<String>,
    #[serde(rename = "isPrimary")]
    is_primary: bool,
    status: &'static str,
}

fn render_nat(n: &NatGateway, now_ms: i64) -> NatOut {
    let state = n.state_at(now_ms);
    NatOut {
        id: n.id.clone(),
        subnet_id: n.subnet_id.clone(),
        vpc_id: n.vpc_id.clone(),
        state: state.as_str(),
        connectivity_type: n.connectivity_type.clone(),
        create_time: ids::iso8601(n.create_time_ms),
        delete_time: n.delete_time_ms.map(ids::iso8601),
        addresses: vec![NatAddressOut {
            allocation_id: n.allocation_id.clone(),
            network_interface_id: n.network_interface_id.clone(),
            private_ip: n.private_ip.to_string(),
            public_ip: n.public_ip.map(|ip| ip.to_string()),
            is_primary: true,
            status: match state {
                NatGatewayState::Pending => "associating",
                NatGatewayState::Available => "succeeded",
                NatGatewayState::Deleting => "disassociating",
                NatGatewayState::Deleted => "succeeded",
            },
        }],
        tags: tag_set(&n.tags),
    }
}

#[derive(Serialize)]
pub struct CreateNatOut {
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    client_token: Option<String>,
    #[serde(rename = "natGateway")]
    gateway: NatOut,
}

pub fn create_nat(txn: &mut Txn, input: CreateNatInput) -> Result<CreateNatOut, AwsError> {
    check_tag_specs(&input.tag_specifications, &["natgateway"])?;
    let subnet_id = input.subnet_id.ok_or_else(|| missing("subnetId"))?;
    let subnet = super::vpcs::subnet(txn, &subnet_id)?;
    let connectivity = input.connectivity_type.unwrap_or_else(|| "public".into());
    let (allocation_id, public_ip) = match connectivity.as_str() {
        "public" => {
            let alloc = input.allocation_id.ok_or_else(|| missing("allocationId"))?;
            let addr = super::addresses::address(txn, &alloc)?;
            if addr.association.is_some() {
                return Err(AwsError::new(
                    "Resource.AlreadyAssociated",
                    400,
                    format!("Elastic IP address [{alloc}] is already associated"),
                ));
            }
            (Some(alloc), Some(addr.public_ip))
        }
        "private" => (None, None),
        other => {
            return Err(invalid(format!(
                "Value ({other}) for parameter connectivityType is invalid."
            )))
        }
    };
    let private_ip = match input.private_ip_address {
        Some(ip) => Some(
            ip.parse()
                .map_err(|_| invalid(format!("Value ({ip}) for parameter privateIpAddress is invalid.")))?,
        ),
        None => None,
    };
    let nat_id = ids::ec2("nat");
    let eni = super::interfaces::create(
        txn,
        &subnet,
        private_ip,
        Vec::new(),
        format!("Interface for NAT Gateway {nat_id}"),
        "nat_gateway",
    )?;
    let now_ms = now();
    let nat = NatGateway {
        id: nat_id,
        region: txn.region.clone(),
        vpc_id: subnet.vpc_id.clone(),
        subnet_id,
        connectivity_type: connectivity,
        allocation_id: allocation_id.clone(),
        network_interface_id: eni.id.clone(),
        private_ip: eni.private_ip,
        public_ip,
        state: NatGatewayState::Pending,
        state_since_ms: now_ms,
        create_time_ms: now_ms,
        delete_time_ms: None,
        tags: tags_for(&input.tag_specifications, "natgateway"),
    };
    if let Some(alloc) = allocation_id {
        super::addresses::bind(txn, &alloc, None, &eni.id, eni.private_ip);
    }
    let out = render_nat(&nat, now_ms);
    txn.touch(Kind::NatGateway, &nat.id);
    txn.config.nat_gateways.insert(nat.id.clone(), Arc::new(nat));
    Ok(CreateNatOut {
        client_token: input.client_token,
        gateway: out,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeNatsInput {
    #[serde(default, rename = "NatGatewayId")]
    ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeNatsOut {
    #[serde(rename = "natGatewaySet")]
    gateways: Vec<NatOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe_nats(txn: &mut Txn, input: DescribeNatsInput) -> Result<DescribeNatsOut, AwsError> {
    let now_ms = now();
    for id in &input.ids {
        if txn.config.nat_gateways.get(id).is_none_or(|n| n.region != txn.region) {
            return Err(nat_not_found(id));
        }
    }
    let all: Vec<NatOut> = txn
        .config
        .nat_gateways
        .values()
        .filter(|n| n.region == txn.region && (input.ids.is_empty() || input.ids.contains(&n.id)))
        .filter(|n| {
            filters::matches(&input.filters, &n.tags, |name| match name {
                "nat-gateway-id" => Some(vec![n.id.clone()]),
                "state" => Some(vec![n.state_at(now_ms).as_str().to_string()]),
                "subnet-id" => Some(vec![n.subnet_id.clone()]),
                "vpc-id" => Some(vec![n.vpc_id.clone()]),
                _ => None,
            })
        })
        .map(|n| render_nat(n, now_ms))
        .collect();
    let (gateways, next_token) = page(all, input.max_results, input.next_token.as_deref(), 5)?;
    Ok(DescribeNatsOut { gateways, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteNatInput {
    nat_gateway_id: String,
}

#[derive(Serialize)]
pub struct DeleteNatOut {
    #[serde(rename = "natGatewayId")]
    id: String,
}

/// DeleteNatGateway: the gateway turns `deleting`, then `deleted`; its interface and
/// Elastic IP are released at once, and routes through it become blackholes.
pub fn delete_nat(txn: &mut Txn, input: DeleteNatInput) -> Result<DeleteNatOut, AwsError> {
    let now_ms = now();
    let nat = txn
        .config
        .nat_gateways
        .get(&input.nat_gateway_id)
        .filter(|n| n.region == txn.region && n.state_at(now_ms) != NatGatewayState::Deleted)
        .cloned()
        .ok_or_else(|| nat_not_found(&input.nat_gateway_id))?;
    let mut nat = (*nat).clone();
    if nat.state_at(now_ms) != NatGatewayState::Deleting {
        nat.state = NatGatewayState::Deleting;
        nat.state_since_ms = now_ms;
        nat.delete_time_ms = Some(now_ms);
    }
    if let Some(alloc) = &nat.allocation_id {
        super::addresses::unbind(txn, alloc);
    }
    super::interfaces::remove(txn, &nat.network_interface_id);
    txn.touch(Kind::NatGateway, &nat.id);
    let id = nat.id.clone();
    txn.config.nat_gateways.insert(id.clone(), Arc::new(nat));
    Ok(DeleteNatOut { id })
}
