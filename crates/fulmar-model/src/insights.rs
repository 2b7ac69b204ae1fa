//! Reachability Analyzer resources: a network insights path (a source, a destination,
//! a protocol and a port) and the analyses run on it, each with its stored verdict —
//! the hops of a path found, or the explanations of the components that block it,
//! in the shapes EC2's `DescribeNetworkInsightsAnalyses` reports.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::Tag;

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpan {
    pub from: u16,
    pub to: u16,
}

/// `FilterAtSource` / `FilterAtDestination` of a path: the packet header to analyse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PathFilter {
    pub source_address: Option<Ipv4Addr>,
    pub source_ports: Option<PortSpan>,
    pub destination_address: Option<Ipv4Addr>,
    pub destination_ports: Option<PortSpan>,
}

/// A path to analyse (`nip-...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkInsightsPath {
    pub id: String,
    pub region: String,
    pub owner_id: String,
    pub created_ms: i64,
    /// The id of the source resource: `i-`, `eni-` or `igw-`.
    pub source: String,
    pub source_arn: String,
    /// The id of the destination resource; `None` when only an address is given.
    pub destination: Option<String>,
    pub destination_arn: Option<String>,
    pub source_ip: Option<Ipv4Addr>,
    pub destination_ip: Option<Ipv4Addr>,
    /// `tcp` or `udp`.
    pub protocol: String,
    pub destination_port: Option<u16>,
    pub filter_at_source: Option<PathFilter>,
    pub filter_at_destination: Option<PathFilter>,
    pub client_token: Option<String>,
    pub tags: Vec<Tag>,
}

/// A resource named in an analysis: `Id`, `Arn` and, where it has one, `Name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRef {
    pub id: String,
    pub arn: String,
    pub name: Option<String>,
}

/// The security-group rule a hop passed by (`AnalysisSecurityGroupRule`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRuleRef {
    pub cidr: Option<String>,
    pub security_group_id: Option<String>,
    pub prefix_list_id: Option<String>,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `tcp`, `udp`, `icmp`, `all` or a protocol number.
    pub protocol: String,
    pub ports: Option<PortSpan>,
}

/// The route a hop took (`AnalysisRouteTableRoute`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRef {
    pub destination_cidr: String,
    /// `local` or an `igw-` id.
    pub gateway_id: Option<String>,
    pub nat_gateway_id: Option<String>,
    pub instance_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub origin: String,
    pub state: String,
}

/// A packet header as a hop sees it (`AnalysisPacketHeader`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketHeader {
    pub source_addresses: Vec<String>,
    pub destination_addresses: Vec<String>,
    /// The IANA protocol number, as text (`6`, `17`).
    pub protocol: String,
    pub source_ports: Vec<PortSpan>,
    pub destination_ports: Vec<PortSpan>,
}

/// One hop of a path found (`PathComponent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathHop {
    pub sequence: u32,
    pub component: ComponentRef,
    pub attached_to: Option<ComponentRef>,
    pub vpc: Option<ComponentRef>,
    pub subnet: Option<ComponentRef>,
    pub security_group_rule: Option<SecurityGroupRuleRef>,
    pub route: Option<RouteRef>,
    pub outbound_header: Option<PacketHeader>,
    pub inbound_header: Option<PacketHeader>,
}

/// Why a path is not found: one blocking component (`Explanation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// `ENI_SG_RULES_MISMATCH`, `NO_ROUTE_TO_DESTINATION`, ...
    pub code: String,
    /// `ingress` or `egress`, for security-group explanations.
    pub direction: Option<String>,
    pub component: Option<ComponentRef>,
    pub network_interface: Option<ComponentRef>,
    pub security_group: Option<ComponentRef>,
    pub security_groups: Vec<ComponentRef>,
    pub internet_gateway: Option<ComponentRef>,
    pub route_table: Option<ComponentRef>,
    pub destination: Option<ComponentRef>,
    pub subnet: Option<ComponentRef>,
    pub vpc: Option<ComponentRef>,
    pub address: Option<String>,
    pub addresses: Vec<String>,
    pub protocols: Vec<String>,
    pub port_ranges: Vec<PortSpan>,
}

/// An analysis of a path (`nia-...`). It runs when started; its result is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkInsightsAnalysis {
    pub id: String,
    pub region: String,
    pub owner_id: String,
    pub path_id: String,
    pub start_ms: i64,
    /// `succeeded` or `failed` (an analysis is `running` only in its Start answer).
    pub status: String,
    pub status_message: Option<String>,
    pub path_found: bool,
    pub forward_path: Vec<PathHop>,
    pub return_path: Vec<PathHop>,
    pub explanations: Vec<Explanation>,
    pub filter_in_arns: Vec<String>,
    pub tags: Vec<Tag>,
}
