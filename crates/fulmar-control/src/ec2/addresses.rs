//! Elastic IPs: allocate, associate with an instance or an interface, disassociate,
//! release. Public addresses (Elastic or ephemeral) come from a fake public pool, the
//! documentation ranges, never from a real provider's space.

use std::net::Ipv4Addr;
use std::sync::Arc;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::ec2::AddressAssociation;
use fulmar_model::{Address, InstanceState, Kind};

use super::filters::{self, FilterIn};
use super::{
    check_tag_specs, invalid, missing, not_found, now, tag_set, tags_for, ReturnOut, TagOut, TagSpecificationIn, OK,
};
use crate::{ids, Txn};

/// The fake public space: TEST-NET-1, -2 and -3 (RFC 5737).
const PUBLIC_POOL: [&str; 3] = ["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"];

/// A free public address, different from `avoid` (so a restarted instance visibly
/// changes its address).
pub fn allocate_public_ip(txn: &Txn, avoid: Option<Ipv4Addr>) -> Result<Ipv4Addr, AwsError> {
    let used: std::collections::BTreeSet<Ipv4Addr> = txn
        .config
        .instances
        .values()
        .filter_map(|i| i.public_ip)
        .chain(txn.config.addresses.values().map(|a| a.public_ip))
        .chain(txn.config.nat_gateways.values().filter_map(|n| n.public_ip))
        .chain(avoid)
        .collect();
    let free: Vec<Ipv4Addr> = PUBLIC_POOL
        .iter()
        .filter_map(|c| c.parse::<Ipv4Net>().ok())
        .flat_map(|n| n.hosts())
        .filter(|ip| !used.contains(ip))
        .collect();
    if free.is_empty() {
        return Err(AwsError::new(
            "AddressLimitExceeded",
            400,
            "The maximum number of addresses has been reached.",
        ));
    }
    Ok(free[rand::random::<usize>() % free.len()])
}

pub fn address(txn: &Txn, allocation_id: &str) -> Result<Arc<Address>, AwsError> {
    txn.config
        .addresses
        .get(allocation_id)
        .filter(|a| a.region == txn.region)
        .cloned()
        .ok_or_else(|| not_found("InvalidAllocationID", "allocation ID", allocation_id))
}

fn put(txn: &mut Txn, a: Address) {
    txn.touch(Kind::Address, &a.allocation_id);
    txn.config.addresses.insert(a.allocation_id.clone(), Arc::new(a));
}

/// Record an association (NAT gateways use this too); returns its id.
pub fn bind(
    txn: &mut Txn,
    allocation_id: &str,
    instance_id: Option<String>,
    eni_id: &str,
    private_ip: Ipv4Addr,
) -> String {
    let id = ids::ec2("eipassoc");
    if let Some(a) = txn.config.addresses.get(allocation_id).cloned() {
        let mut a = (*a).clone();
        a.association = Some(AddressAssociation {
            id: id.clone(),
            instance_id,
            network_interface_id: eni_id.to_string(),
            private_ip,
        });
        put(txn, a);
    }
    id
}

/// Forget an address's association (the interface's side is the caller's business).
pub fn unbind(txn: &mut Txn, allocation_id: &str) {
    if let Some(a) = txn.config.addresses.get(allocation_id).cloned() {
        let mut a = (*a).clone();
        a.association = None;
        put(txn, a);
    }
}

/// The Elastic IP associated with an interface, if any.
pub fn of_interface(txn: &Txn, eni_id: &str) -> Option<Arc<Address>> {
    txn.config
        .addresses
        .values()
        .find(|a| a.association.as_ref().is_some_and(|x| x.network_interface_id == eni_id))
        .cloned()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllocateInput {
    domain: Option<String>,
    address: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct AllocateOut {
    #[serde(rename = "publicIp")]
    public_ip: String,
    #[serde(rename = "allocationId")]
    allocation_id: String,
    domain: &'static str,
    #[serde(rename = "publicIpv4Pool")]
    pool: &'static str,
    #[serde(rename = "networkBorderGroup")]
    network_border_group: String,
}

pub fn allocate(txn: &mut Txn, input: AllocateInput) -> Result<AllocateOut, AwsError> {
    check_tag_specs(&input.tag_specifications, &["elastic-ip"])?;
    if let Some(d) = input.domain.as_deref().filter(|d| *d != "vpc" && *d != "standard") {
        return Err(invalid(format!("Value ({d}) for parameter domain is invalid.")));
    }
    if input.address.is_some() {
        return Err(AwsError::new(
            "InvalidParameterValue",
            400,
            "Recovering an Elastic IP address by its address is not supported.",
        ));
    }
    let a = Address {
        allocation_id: ids::ec2("eipalloc"),
        region: txn.region.clone(),
        public_ip: allocate_public_ip(txn, None)?,
        association: None,
        tags: tags_for(&input.tag_specifications, "elastic-ip"),
    };
    let out = AllocateOut {
        public_ip: a.public_ip.to_string(),
        allocation_id: a.allocation_id.clone(),
        domain: "vpc",
        pool: "amazon",
        network_border_group: txn.region.clone(),
    };
    put(txn, a);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "PublicIp")]
    public_ips: Vec<String>,
    #[serde(default, rename = "AllocationId")]
    allocation_ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "addressesSet")]
    addresses: Vec<AddressOut>,
}

#[derive(Serialize)]
struct AddressOut {
    #[serde(rename = "publicIp")]
    public_ip: String,
    #[serde(rename = "allocationId")]
    allocation_id: String,
    domain: &'static str,
    #[serde(rename = "associationId", skip_serializing_if = "Option::is_none")]
    association_id: Option<String>,
    #[serde(rename = "instanceId", skip_serializing_if = "Option::is_none")]
    instance_id: Option<String>,
    #[serde(rename = "networkInterfaceId", skip_serializing_if = "Option::is_none")]
    network_interface_id: Option<String>,
    #[serde(rename = "networkInterfaceOwnerId", skip_serializing_if = "Option::is_none")]
    network_interface_owner_id: Option<String>,
    #[serde(rename = "privateIpAddress", skip_serializing_if = "Option::is_none")]
    private_ip: Option<String>,
    #[serde(rename = "publicIpv4Pool")]
    pool: &'static str,
    #[serde(rename = "networkBorderGroup")]
    network_border_group: String,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    let mine: Vec<&Arc<Address>> = txn
        .config
        .addresses
        .values()
        .filter(|a| a.region == txn.region)
        .collect();
    for id in &input.allocation_ids {
        address(txn, id)?;
    }
    for ip in &input.public_ips {
        if !mine.iter().any(|a| a.public_ip.to_string() == *ip) {
            return Err(AwsError::new(
                "InvalidAddress.NotFound",
                400,
                format!("Address '{ip}' not found."),
            ));
        }
    }
    let addresses = mine
        .into_iter()
        .filter(|a| input.allocation_ids.is_empty() || input.allocation_ids.contains(&a.allocation_id))
        .filter(|a| input.public_ips.is_empty() || input.public_ips.contains(&a.public_ip.to_string()))
        .filter(|a| {
            let assoc = a.association.as_ref();
            filters::matches(&input.filters, &a.tags, |name| match name {
                "allocation-id" => Some(vec![a.allocation_id.clone()]),
                "public-ip" => Some(vec![a.public_ip.to_string()]),
                "domain" => Some(vec!["vpc".into()]),
                "association-id" => Some(assoc.map(|x| x.id.clone()).into_iter().collect()),
                "instance-id" => Some(assoc.and_then(|x| x.instance_id.clone()).into_iter().collect()),
                "network-interface-id" => Some(assoc.map(|x| x.network_interface_id.clone()).into_iter().collect()),
                "private-ip-address" => Some(assoc.map(|x| x.private_ip.to_string()).into_iter().collect()),
                "network-border-group" => Some(vec![a.region.clone()]),
                _ => None,
            })
        })
        .map(|a| {
            let assoc = a.association.as_ref();
            AddressOut {
                public_ip: a.public_ip.to_string(),
                allocation_id: a.allocation_id.clone(),
                domain: "vpc",
                association_id: assoc.map(|x| x.id.clone()),
                instance_id: assoc.and_then(|x| x.instance_id.clone()),
                network_interface_id: assoc.map(|x| x.network_interface_id.clone()),
                network_interface_owner_id: assoc.map(|_| txn.account().to_string()),
                private_ip: assoc.map(|x| x.private_ip.to_string()),
                pool: "amazon",
                network_border_group: a.region.clone(),
                tags: tag_set(&a.tags),
            }
        })
        .collect();
    Ok(DescribeOut { addresses })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssociateInput {
    allocation_id: Option<String>,
    public_ip: Option<String>,
    instance_id: Option<String>,
    network_interface_id: Option<String>,
    private_ip_address: Option<String>,
    allow_reassociation: Option<bool>,
}

#[derive(Serialize)]
pub struct AssociateOut {
    #[serde(rename = "return")]
    ok: bool,
    #[serde(rename = "associationId")]
    association_id: String,
}

fn by_public_ip(txn: &Txn, ip: &str) -> Result<Arc<Address>, AwsError> {
    txn.config
        .addresses
        .values()
        .find(|a| a.region == txn.region && a.public_ip.to_string() == ip)
        .cloned()
        .ok_or_else(|| AwsError::new("InvalidAddress.NotFound", 400, format!("Address '{ip}' not found.")))
}

pub fn associate(txn: &mut Txn, input: AssociateInput) -> Result<AssociateOut, AwsError> {
    let addr = match (&input.allocation_id, &input.public_ip) {
        (Some(id), _) => address(txn, id)?,
        (None, Some(ip)) => by_public_ip(txn, ip)?,
        (None, None) => return Err(missing("allocationId")),
    };
    let (instance_id, eni) = match (&input.instance_id, &input.network_interface_id) {
        (Some(i), _) => {
            let inst = super::instances::instance(txn, i)?;
            match inst.state_at(now()) {
                InstanceState::Running | InstanceState::Stopped | InstanceState::Pending | InstanceState::Stopping => {}
                _ => {
                    return Err(AwsError::new(
                        "IncorrectInstanceState",
                        400,
                        format!("The instance '{i}' is not in a valid state for this operation."),
                    ))
                }
            }
            (
                Some(i.clone()),
                super::interfaces::interface(txn, &inst.network_interface_id)?,
            )
        }
        (None, Some(e)) => {
            let eni = super::interfaces::interface(txn, e)?;
            (eni.attachment.as_ref().map(|a| a.instance_id.clone()), eni)
        }
        (None, None) => return Err(missing("instanceId")),
    };
    if !txn
        .config
        .internet_gateways
        .values()
        .any(|g| g.vpc_id.as_deref() == Some(eni.vpc_id.as_str()))
    {
        return Err(AwsError::new(
            "Gateway.NotAttached",
            400,
            format!("Network {} is not attached to any internet gateway", eni.vpc_id),
        ));
    }
    let private_ip = match &input.private_ip_address {
        Some(p) if *p != eni.private_ip.to_string() => {
            return Err(invalid(format!(
                "Value ({p}) for parameter privateIpAddress is invalid. The address is not assigned to the interface."
            )))
        }
        _ => eni.private_ip,
    };
    if let Some(existing) = &addr.association {
        let same = existing.network_interface_id == eni.id;
        if !same && !input.allow_reassociation.unwrap_or(false) {
            return Err(AwsError::new(
                "Resource.AlreadyAssociated",
                400,
                format!(
                    "resource {} is already associated with associate-id {}",
                    addr.allocation_id, existing.id
                ),
            ));
        }
        super::interfaces::set_public_ip(txn, &existing.network_interface_id.clone(), None, true)?;
    }
    // An interface holds one public address: a previous Elastic IP lets go.
    if let Some(previous) = of_interface(txn, &eni.id) {
        unbind(txn, &previous.allocation_id);
    }
    let id = bind(txn, &addr.allocation_id, instance_id, &eni.id, private_ip);
    super::interfaces::set_public_ip(txn, &eni.id, Some(addr.public_ip), false)?;
    Ok(AssociateOut {
        ok: true,
        association_id: id,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisassociateInput {
    association_id: Option<String>,
    public_ip: Option<String>,
}

pub fn disassociate(txn: &mut Txn, input: DisassociateInput) -> Result<ReturnOut, AwsError> {
    let addr = match (&input.association_id, &input.public_ip) {
        (Some(id), _) => txn
            .config
            .addresses
            .values()
            .find(|a| a.region == txn.region && a.association.as_ref().is_some_and(|x| &x.id == id))
            .cloned()
            .ok_or_else(|| not_found("InvalidAssociationID", "association ID", id))?,
        (None, Some(ip)) => by_public_ip(txn, ip)?,
        (None, None) => return Err(missing("associationId")),
    };
    let Some(assoc) = addr.association.clone() else {
        return Err(not_found(
            "InvalidAssociationID",
            "association ID",
            input.public_ip.as_deref().unwrap_or(""),
        ));
    };
    if txn.config.nat_gateways.values().any(|n| {
        n.allocation_id.as_deref() == Some(addr.allocation_id.as_str())
            && n.network_interface_id == assoc.network_interface_id
    }) {
        return Err(AwsError::new(
            "AuthFailure",
            400,
            "You do not have permission to access the specified resource.",
        ));
    }
    unbind(txn, &addr.allocation_id);
    // Back to an ephemeral address when the interface had one from its launch.
    super::interfaces::set_public_ip(txn, &assoc.network_interface_id, None, true)?;
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReleaseInput {
    allocation_id: Option<String>,
    public_ip: Option<String>,
}

pub fn release(txn: &mut Txn, input: ReleaseInput) -> Result<ReturnOut, AwsError> {
    let addr = match (&input.allocation_id, &input.public_ip) {
        (Some(id), _) => address(txn, id)?,
        (None, Some(ip)) => by_public_ip(txn, ip)?,
        (None, None) => return Err(missing("allocationId")),
    };
    if addr.association.is_some() {
        return Err(AwsError::new(
            "InvalidIPAddress.InUse",
            400,
            format!(
                "The address with allocation id [{}] is associated and cannot be released",
                addr.allocation_id
            ),
        ));
    }
    txn.config.addresses.remove(&addr.allocation_id);
    txn.touch(Kind::Address, &addr.allocation_id);
    Ok(OK)
}
