//! Elastic network interfaces: an address in a subnet with its security groups. Every
//! instance has a primary interface; NAT gateways have one too. The instance record
//! mirrors its primary interface's addresses and groups, and the helpers here keep
//! the two in step.

use std::net::Ipv4Addr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{InstanceState, Kind, NetworkInterface, Subnet};

use super::filters::{self, FilterIn};
use super::paging::page;
use super::{invalid, not_found, now, tag_set, TagOut};
use crate::{ids, Txn};

pub fn interface(txn: &Txn, id: &str) -> Result<Arc<NetworkInterface>, AwsError> {
    txn.config
        .network_interfaces
        .get(id)
        .filter(|n| n.region == txn.region)
        .cloned()
        .ok_or_else(|| not_found("InvalidNetworkInterfaceID", "networkInterface ID", id))
}

pub fn put(txn: &mut Txn, n: NetworkInterface) {
    txn.touch(Kind::NetworkInterface, &n.id);
    txn.config.network_interfaces.insert(n.id.clone(), Arc::new(n));
}

pub fn remove(txn: &mut Txn, id: &str) {
    if txn.config.network_interfaces.remove(id).is_some() {
        txn.touch(Kind::NetworkInterface, id);
    }
}

/// The usable addresses of a subnet: AWS reserves the first four and the last.
fn usable(subnet: &Subnet) -> impl Iterator<Item = Ipv4Addr> {
    let net = subnet.cidr_block;
    let first = u32::from(net.network()) + 4;
    let last = u32::from(net.broadcast()).saturating_sub(1);
    (first..=last).map(Ipv4Addr::from)
}

/// A private address for a new interface: `wanted` when it is free and usable, else a
/// free one.
pub fn private_ip(txn: &Txn, subnet: &Subnet, wanted: Option<Ipv4Addr>) -> Result<Ipv4Addr, AwsError> {
    let taken: std::collections::BTreeSet<Ipv4Addr> = txn
        .config
        .network_interfaces
        .values()
        .filter(|n| n.subnet_id == subnet.id)
        .map(|n| n.private_ip)
        .collect();
    if let Some(ip) = wanted {
        if !subnet.cidr_block.contains(&ip) {
            return Err(invalid(format!(
                "Address {ip} does not fall within the subnet's address range"
            )));
        }
        if !usable(subnet).any(|u| u == ip) {
            return Err(invalid(format!("Address {ip} is in subnet's reserved address range")));
        }
        if taken.contains(&ip) {
            return Err(AwsError::new(
                "InvalidIPAddress.InUse",
                400,
                format!("Address {ip} is in use."),
            ));
        }
        return Ok(ip);
    }
    let free: Vec<Ipv4Addr> = usable(subnet).filter(|ip| !taken.contains(ip)).collect();
    if free.is_empty() {
        return Err(AwsError::new(
            "InsufficientFreeAddressesInSubnet",
            400,
            format!(
                "There are not enough free addresses in subnet '{}' to satisfy the requested number of instances.",
                subnet.id
            ),
        ));
    }
    Ok(free[rand::random::<usize>() % free.len()])
}

fn mac_address() -> String {
    let bytes: [u8; 5] = rand::random();
    let mut mac = String::from("0e");
    for b in bytes {
        mac.push_str(&format!(":{b:02x}"));
    }
    mac
}

/// Create and store an unattached interface in `subnet`.
pub fn create(
    txn: &mut Txn,
    subnet: &Subnet,
    wanted_ip: Option<Ipv4Addr>,
    groups: Vec<String>,
    description: String,
    interface_type: &str,
) -> Result<NetworkInterface, AwsError> {
    let n = NetworkInterface {
        id: ids::ec2("eni"),
        region: txn.region.clone(),
        owner_id: txn.account().to_string(),
        subnet_id: subnet.id.clone(),
        vpc_id: subnet.vpc_id.clone(),
        availability_zone: subnet.availability_zone.clone(),
        private_ip: private_ip(txn, subnet, wanted_ip)?,
        mac_address: mac_address(),
        public_ip: None,
        security_groups: groups,
        description,
        interface_type: interface_type.to_string(),
        requester_managed: interface_type != "interface",
        source_dest_check: true,
        attachment: None,
        tags: Vec::new(),
    };
    put(txn, n.clone());
    Ok(n)
}

/// Set an interface's public address and mirror it on its instance. With `None` and
/// `ephemeral`, an instance launched with a public address that is running (or
/// pending) gets a fresh ephemeral one, as after an Elastic IP is disassociated.
pub fn set_public_ip(txn: &mut Txn, eni_id: &str, ip: Option<Ipv4Addr>, ephemeral: bool) -> Result<(), AwsError> {
    let Some(eni) = txn.config.network_interfaces.get(eni_id).cloned() else {
        return Ok(());
    };
    let instance = eni
        .attachment
        .as_ref()
        .and_then(|a| txn.config.instances.get(&a.instance_id).cloned());
    let ip = match (ip, &instance) {
        (Some(ip), _) => Some(ip),
        (None, Some(i))
            if ephemeral
                && i.auto_public_ip
                && matches!(i.state_at(now()), InstanceState::Running | InstanceState::Pending) =>
        {
            Some(super::addresses::allocate_public_ip(txn, eni.public_ip)?)
        }
        (None, _) => None,
    };
    let mut eni = (*eni).clone();
    eni.public_ip = ip;
    put(txn, eni);
    if let Some(i) = instance {
        let mut i = (*i).clone();
        i.public_ip = ip;
        super::instances::put(txn, i);
    }
    Ok(())
}

/// Set an interface's groups and mirror them on its instance.
pub fn set_groups(txn: &mut Txn, eni_id: &str, groups: Vec<String>) {
    let Some(eni) = txn.config.network_interfaces.get(eni_id).cloned() else {
        return;
    };
    if let Some(i) = eni
        .attachment
        .as_ref()
        .and_then(|a| txn.config.instances.get(&a.instance_id).cloned())
    {
        let mut i = (*i).clone();
        i.security_groups = groups.clone();
        super::instances::put(txn, i);
    }
    let mut eni = (*eni).clone();
    eni.security_groups = groups;
    put(txn, eni);
}

/// `ip-10-0-1-5.ec2.internal` (us-east-1) or `ip-10-0-1-5.<region>.compute.internal`.
pub fn private_dns(region: &str, ip: Ipv4Addr) -> String {
    let host = format!("ip-{}", ip.to_string().replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.ec2.internal")
    } else {
        format!("{host}.{region}.compute.internal")
    }
}

/// `ec2-203-0-113-5.compute-1.amazonaws.com` (us-east-1) or `...<region>.compute.amazonaws.com`.
pub fn public_dns(region: &str, ip: Ipv4Addr) -> String {
    let host = format!("ec2-{}", ip.to_string().replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.compute-1.amazonaws.com")
    } else {
        format!("{host}.{region}.compute.amazonaws.com")
    }
}

#[derive(Serialize)]
pub struct InterfaceOut {
    #[serde(rename = "networkInterfaceId")]
    id: String,
    #[serde(rename = "subnetId")]
    subnet_id: String,
    #[serde(rename = "vpcId")]
    vpc_id: String,
    #[serde(rename = "availabilityZone")]
    availability_zone: String,
    description: String,
    #[serde(rename = "ownerId")]
    owner_id: String,
    #[serde(rename = "requesterManaged")]
    requester_managed: bool,
    status: &'static str,
    #[serde(rename = "macAddress")]
    mac_address: String,
    #[serde(rename = "privateIpAddress")]
    private_ip: String,
    #[serde(rename = "privateDnsName")]
    private_dns: String,
    #[serde(rename = "sourceDestCheck")]
    source_dest_check: bool,
    #[serde(rename = "groupSet")]
    groups: Vec<GroupIdentifierOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<AttachmentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    association: Option<AssociationOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
    #[serde(rename = "privateIpAddressesSet")]
    private_ips: Vec<PrivateIpOut>,
    #[serde(rename = "ipv6AddressesSet")]
    ipv6: Vec<()>,
    #[serde(rename = "interfaceType")]
    interface_type: String,
}

#[derive(Serialize)]
pub struct GroupIdentifierOut {
    #[serde(rename = "groupId")]
    pub group_id: String,
    #[serde(rename = "groupName")]
    pub group_name: String,
}

#[derive(Serialize)]
struct AttachmentOut {
    #[serde(rename = "attachmentId")]
    id: String,
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "instanceOwnerId")]
    instance_owner_id: String,
    #[serde(rename = "deviceIndex")]
    device_index: u32,
    #[serde(rename = "networkCardIndex")]
    network_card_index: u32,
    status: &'static str,
    #[serde(rename = "attachTime")]
    attach_time: String,
    #[serde(rename = "deleteOnTermination")]
    delete_on_termination: bool,
}

#[derive(Serialize, Clone)]
struct AssociationOut {
    #[serde(rename = "publicIp")]
    public_ip: String,
    #[serde(rename = "publicDnsName")]
    public_dns: String,
    #[serde(rename = "ipOwnerId")]
    ip_owner_id: String,
    #[serde(rename = "allocationId", skip_serializing_if = "Option::is_none")]
    allocation_id: Option<String>,
    #[serde(rename = "associationId", skip_serializing_if = "Option::is_none")]
    association_id: Option<String>,
}

#[derive(Serialize)]
struct PrivateIpOut {
    #[serde(rename = "privateIpAddress")]
    private_ip: String,
    #[serde(rename = "privateDnsName")]
    private_dns: String,
    primary: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    association: Option<AssociationOut>,
}

/// The `groupSet` of an interface or instance: ids with their names.
pub fn group_set(txn: &Txn, groups: &[String]) -> Vec<GroupIdentifierOut> {
    groups
        .iter()
        .map(|g| GroupIdentifierOut {
            group_id: g.clone(),
            group_name: txn
                .config
                .security_groups
                .get(g)
                .map(|x| x.name.clone())
                .unwrap_or_default(),
        })
        .collect()
}

pub fn render(txn: &Txn, n: &NetworkInterface) -> InterfaceOut {
    let association = n.public_ip.map(|ip| {
        let eip = super::addresses::of_interface(txn, &n.id);
        AssociationOut {
            public_ip: ip.to_string(),
            public_dns: public_dns(&txn.region, ip),
            ip_owner_id: if eip.is_some() {
                txn.account().to_string()
            } else {
                "amazon".into()
            },
            allocation_id: eip.as_ref().map(|a| a.allocation_id.clone()),
            association_id: eip.as_ref().and_then(|a| a.association.as_ref().map(|x| x.id.clone())),
        }
    });
    InterfaceOut {
        id: n.id.clone(),
        subnet_id: n.subnet_id.clone(),
        vpc_id: n.vpc_id.clone(),
        availability_zone: n.availability_zone.clone(),
        description: n.description.clone(),
        owner_id: n.owner_id.clone(),
        requester_managed: n.requester_managed,
        status: if n.attachment.is_some() || n.interface_type != "interface" {
            "in-use"
        } else {
            "available"
        },
        mac_address: n.mac_address.clone(),
        private_ip: n.private_ip.to_string(),
        private_dns: private_dns(&txn.region, n.private_ip),
        source_dest_check: n.source_dest_check,
        groups: group_set(txn, &n.security_groups),
        attachment: n.attachment.as_ref().map(|a| AttachmentOut {
            id: a.id.clone(),
            instance_id: a.instance_id.clone(),
            instance_owner_id: n.owner_id.clone(),
            device_index: a.device_index,
            network_card_index: 0,
            status: "attached",
            attach_time: ids::iso8601(a.attach_time_ms),
            delete_on_termination: a.delete_on_termination,
        }),
        association: association.clone(),
        tags: tag_set(&n.tags),
        private_ips: vec![PrivateIpOut {
            private_ip: n.private_ip.to_string(),
            private_dns: private_dns(&txn.region, n.private_ip),
            primary: true,
            association,
        }],
        ipv6: Vec::new(),
        interface_type: n.interface_type.clone(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "NetworkInterfaceId")]
    ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "networkInterfaceSet")]
    interfaces: Vec<InterfaceOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    for id in &input.ids {
        interface(txn, id)?;
    }
    let all: Vec<InterfaceOut> = txn
        .config
        .network_interfaces
        .values()
        .filter(|n| n.region == txn.region && (input.ids.is_empty() || input.ids.contains(&n.id)))
        .filter(|n| {
            filters::matches(&input.filters, &n.tags, |name| match name {
                "network-interface-id" => Some(vec![n.id.clone()]),
                "subnet-id" => Some(vec![n.subnet_id.clone()]),
                "vpc-id" => Some(vec![n.vpc_id.clone()]),
                "availability-zone" => Some(vec![n.availability_zone.clone()]),
                "group-id" => Some(n.security_groups.clone()),
                "group-name" => Some(
                    n.security_groups
                        .iter()
                        .filter_map(|g| txn.config.security_groups.get(g).map(|x| x.name.clone()))
                        .collect(),
                ),
                "attachment.instance-id" => Some(n.attachment.iter().map(|a| a.instance_id.clone()).collect()),
                "attachment.attachment-id" => Some(n.attachment.iter().map(|a| a.id.clone()).collect()),
                "attachment.device-index" => Some(n.attachment.iter().map(|a| a.device_index.to_string()).collect()),
                "private-ip-address" | "addresses.private-ip-address" => Some(vec![n.private_ip.to_string()]),
                "association.public-ip" => Some(n.public_ip.iter().map(|ip| ip.to_string()).collect()),
                "mac-address" => Some(vec![n.mac_address.clone()]),
                "description" => Some(vec![n.description.clone()]),
                "interface-type" => Some(vec![n.interface_type.clone()]),
                "requester-managed" => Some(vec![n.requester_managed.to_string()]),
                "owner-id" => Some(vec![n.owner_id.clone()]),
                "status" => Some(vec![if n.attachment.is_some() || n.interface_type != "interface" {
                    "in-use"
                } else {
                    "available"
                }
                .to_string()]),
                _ => None,
            })
        })
        .map(|n| render(txn, n))
        .collect();
    let (interfaces, next_token) = page(all, input.max_results, input.next_token.as_deref(), 5)?;
    Ok(DescribeOut { interfaces, next_token })
}
