//! EC2 resources: VPCs and their subnets, route tables and gateways, security groups,
//! Elastic IPs, key pairs, and instances with their volumes and network interfaces.
//! Transitional states (an instance `pending`, a NAT gateway `deleting`) are stored
//! with the moment they began; `state_at` says what EC2 reports at a given time.

use std::net::Ipv4Addr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Tag;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub region: String,
    pub cidr_block: ipnet::Ipv4Net,
    pub is_default: bool,
    pub instance_tenancy: String,
    pub owner_id: String,
    pub tags: Vec<Tag>,
    /// The Amazon-provided IPv6 block, when one was asked for.
    #[serde(default)]
    pub ipv6_cidr_block: Option<ipnet::Ipv6Net>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    pub cidr_block: ipnet::Ipv4Net,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub default_for_az: bool,
    pub map_public_ip_on_launch: bool,
    pub owner_id: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub region: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub owner_id: String,
    pub ingress: Vec<SecurityGroupRule>,
    pub egress: Vec<SecurityGroupRule>,
    pub tags: Vec<Tag>,
}

/// One rule of a security group: a protocol, a port range and one source or destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    /// `sgr-...`
    pub id: String,
    /// `tcp`, `udp`, `icmp`, `-1` (all) or a protocol number, as AWS echoes it.
    pub ip_protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub peer: RulePeer,
    pub description: Option<String>,
    /// The rule's own tags (`sgr-` ids are taggable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RulePeer {
    Cidr(IpNet),
    Group { group_id: String, user_id: String },
    PrefixList(String),
}

/// How long transitional states last before EC2 reports the next one.
pub const PENDING_MS: i64 = 2_000;
pub const STOPPING_MS: i64 = 2_000;
pub const SHUTTING_DOWN_MS: i64 = 2_000;
/// Terminated instances stay visible to Describe calls for about an hour.
pub const TERMINATED_VISIBLE_MS: i64 = 3_600_000;

/// An internet gateway, attached to at most one VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternetGateway {
    pub id: String,
    pub region: String,
    pub owner_id: String,
    pub vpc_id: Option<String>,
    pub tags: Vec<Tag>,
}

/// Where a route sends the traffic of its destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteTarget {
    /// The VPC's own CIDR: delivered inside the VPC.
    Local,
    /// An internet gateway (`igw-`).
    Gateway(String),
    NatGateway(String),
    Instance(String),
    NetworkInterface(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub destination: IpNet,
    pub target: RouteTarget,
    /// `CreateRouteTable` (the local route) or `CreateRoute`.
    pub origin: String,
}

/// The link of a route table to a subnet, or its role as the VPC's main table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTableAssociation {
    /// `rtbassoc-...`
    pub id: String,
    /// `None` for the main association.
    pub subnet_id: Option<String>,
    pub main: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub region: String,
    pub owner_id: String,
    pub vpc_id: String,
    pub routes: Vec<Route>,
    pub associations: Vec<RouteTableAssociation>,
    pub tags: Vec<Tag>,
}

impl RouteTable {
    pub fn is_main(&self) -> bool {
        self.associations.iter().any(|a| a.main)
    }

    /// The most specific route for an IPv4 destination.
    pub fn route_for(&self, ip: std::net::IpAddr) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|r| r.destination.contains(&ip))
            .max_by_key(|r| r.destination.prefix_len())
    }
}

/// The life of a NAT gateway as DescribeNatGateways reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatGatewayState {
    Pending,
    Available,
    Deleting,
    Deleted,
}

impl NatGatewayState {
    pub fn as_str(self) -> &'static str {
        match self {
            NatGatewayState::Pending => "pending",
            NatGatewayState::Available => "available",
            NatGatewayState::Deleting => "deleting",
            NatGatewayState::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatGateway {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    pub subnet_id: String,
    /// `public` (with an Elastic IP) or `private`.
    pub connectivity_type: String,
    pub allocation_id: Option<String>,
    pub network_interface_id: String,
    pub private_ip: Ipv4Addr,
    pub public_ip: Option<Ipv4Addr>,
    pub state: NatGatewayState,
    pub state_since_ms: i64,
    pub create_time_ms: i64,
    pub delete_time_ms: Option<i64>,
    pub tags: Vec<Tag>,
}

impl NatGateway {
    /// The state reported at `now`: pending becomes available, deleting becomes deleted.
    pub fn state_at(&self, now_ms: i64) -> NatGatewayState {
        let settled = now_ms - self.state_since_ms >= PENDING_MS;
        match self.state {
            NatGatewayState::Pending if settled => NatGatewayState::Available,
            NatGatewayState::Deleting if settled => NatGatewayState::Deleted,
            s => s,
        }
    }
}

/// Where an Elastic IP is associated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressAssociation {
    /// `eipassoc-...`
    pub id: String,
    pub instance_id: Option<String>,
    pub network_interface_id: String,
    pub private_ip: Ipv4Addr,
}

/// An Elastic IP address (domain `vpc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// `eipalloc-...`
    pub allocation_id: String,
    pub region: String,
    pub public_ip: Ipv4Addr,
    pub association: Option<AddressAssociation>,
    pub tags: Vec<Tag>,
}

/// A key pair: the public half only; the private key is returned once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPair {
    /// `key-...`
    pub id: String,
    pub region: String,
    pub name: String,
    /// `rsa` or `ed25519`.
    pub key_type: String,
    pub fingerprint: String,
    /// OpenSSH format: `ssh-ed25519 AAAA... name`.
    pub public_key: String,
    pub create_time_ms: i64,
    pub tags: Vec<Tag>,
}

/// An instance's state, with the codes EC2 reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl InstanceState {
    pub fn code(self) -> i32 {
        match self {
            InstanceState::Pending => 0,
            InstanceState::Running => 16,
            InstanceState::ShuttingDown => 32,
            InstanceState::Terminated => 48,
            InstanceState::Stopping => 64,
            InstanceState::Stopped => 80,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }
}

/// An EC2 instance with everything a runtime needs to make it real: its primary
/// network interface (id, MAC, private and public address, subnet, VPC) and the
/// security groups that filter its packets, its key pair and its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub region: String,
    pub owner_id: String,
    pub reservation_id: String,
    pub image_id: String,
    pub instance_type: String,
    pub key_name: Option<String>,
    pub subnet_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    /// The primary network interface (`eni-...`), whose groups and addresses follow.
    pub network_interface_id: String,
    pub mac_address: String,
    pub private_ip: Ipv4Addr,
    /// The current public address: an ephemeral one, or an associated Elastic IP.
    pub public_ip: Option<Ipv4Addr>,
    /// Whether the instance gets an ephemeral public address while running.
    pub auto_public_ip: bool,
    /// The ephemeral address given up at the last stop: the next start picks another.
    #[serde(default)]
    pub previous_public_ip: Option<Ipv4Addr>,
    #[serde(default)]
    pub disable_api_termination: bool,
    pub security_groups: Vec<String>,
    pub state: InstanceState,
    pub state_since_ms: i64,
    pub state_reason: String,
    pub launch_time_ms: i64,
    pub ami_launch_index: u32,
    pub root_device_name: String,
    pub user_data: Option<String>,
    pub client_token: Option<String>,
    pub tags: Vec<Tag>,
}

impl Instance {
    /// The state reported at `now`: pending, stopping and shutting-down settle into
    /// running, stopped and terminated after a short while.
    pub fn state_at(&self, now_ms: i64) -> InstanceState {
        let age = now_ms - self.state_since_ms;
        match self.state {
            InstanceState::Pending if age >= PENDING_MS => InstanceState::Running,
            InstanceState::Stopping if age >= STOPPING_MS => InstanceState::Stopped,
            InstanceState::ShuttingDown if age >= SHUTTING_DOWN_MS => InstanceState::Terminated,
            s => s,
        }
    }

    /// When the reported state began (the settling moment for settled transitions).
    pub fn state_began_ms(&self, now_ms: i64) -> i64 {
        let s = self.state_at(now_ms);
        if s == self.state {
            self.state_since_ms
        } else {
            self.state_since_ms
                + match self.state {
                    InstanceState::Pending => PENDING_MS,
                    InstanceState::Stopping => STOPPING_MS,
                    _ => SHUTTING_DOWN_MS,
                }
        }
    }
}

/// An EBS volume's attachment to an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeAttachment {
    pub instance_id: String,
    pub device: String,
    pub delete_on_termination: bool,
    pub attach_time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    pub region: String,
    pub availability_zone: String,
    pub size_gib: u32,
    pub volume_type: String,
    pub iops: Option<u32>,
    pub encrypted: bool,
    pub snapshot_id: Option<String>,
    pub create_time_ms: i64,
    pub attachment: Option<VolumeAttachment>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkInterfaceAttachment {
    /// `eni-attach-...`
    pub id: String,
    pub instance_id: String,
    pub device_index: u32,
    pub delete_on_termination: bool,
    pub attach_time_ms: i64,
}

/// An elastic network interface: an address in a subnet, filtered by its groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: String,
    pub region: String,
    pub owner_id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub private_ip: Ipv4Addr,
    pub mac_address: String,
    pub public_ip: Option<Ipv4Addr>,
    pub security_groups: Vec<String>,
    pub description: String,
    /// `interface` or `nat_gateway`.
    pub interface_type: String,
    pub requester_managed: bool,
    pub source_dest_check: bool,
    pub attachment: Option<NetworkInterfaceAttachment>,
    pub tags: Vec<Tag>,
}
