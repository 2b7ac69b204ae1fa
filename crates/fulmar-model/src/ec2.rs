//! EC2 networking resources: just enough for load balancers to validate their subnets
//! and security groups (the full VPC model grows here).

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RulePeer {
    Cidr(IpNet),
    Group { group_id: String, user_id: String },
    PrefixList(String),
}
