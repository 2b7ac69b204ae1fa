//! The Reachability Analyzer's answers as EC2 shapes them (`NetworkInsightsPath`,
//! `NetworkInsightsAnalysis`, `PathComponent`, `Explanation`), rendered from the
//! stored path and analysis.

use serde::Serialize;

use fulmar_model::insights::{ComponentRef, Explanation, PacketHeader, PathFilter, PathHop, PortSpan};
use fulmar_model::{NetworkInsightsAnalysis, NetworkInsightsPath};

use super::{tag_set, TagOut};
use crate::ids;

#[derive(Serialize)]
pub struct PortRangeOut {
    from: u16,
    to: u16,
}

fn ranges(spans: &[PortSpan]) -> Vec<PortRangeOut> {
    spans.iter().map(|s| PortRangeOut { from: s.from, to: s.to }).collect()
}

#[derive(Serialize)]
pub struct FilterPortRangeOut {
    #[serde(rename = "fromPort")]
    from: u16,
    #[serde(rename = "toPort")]
    to: u16,
}

#[derive(Serialize)]
pub struct PathFilterOut {
    #[serde(rename = "sourceAddress", skip_serializing_if = "Option::is_none")]
    source_address: Option<String>,
    #[serde(rename = "sourcePortRange", skip_serializing_if = "Option::is_none")]
    source_ports: Option<FilterPortRangeOut>,
    #[serde(rename = "destinationAddress", skip_serializing_if = "Option::is_none")]
    destination_address: Option<String>,
    #[serde(rename = "destinationPortRange", skip_serializing_if = "Option::is_none")]
    destination_ports: Option<FilterPortRangeOut>,
}

fn filter_out(f: &Option<PathFilter>) -> Option<PathFilterOut> {
    let f = f.as_ref()?;
    let r = |s: Option<PortSpan>| s.map(|s| FilterPortRangeOut { from: s.from, to: s.to });
    Some(PathFilterOut {
        source_address: f.source_address.map(|a| a.to_string()),
        source_ports: r(f.source_ports),
        destination_address: f.destination_address.map(|a| a.to_string()),
        destination_ports: r(f.destination_ports),
    })
}

#[derive(Serialize)]
pub struct PathOut {
    #[serde(rename = "networkInsightsPathId")]
    id: String,
    #[serde(rename = "networkInsightsPathArn")]
    arn: String,
    #[serde(rename = "createdDate")]
    created: String,
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    #[serde(rename = "sourceArn")]
    source_arn: String,
    #[serde(rename = "destinationArn", skip_serializing_if = "Option::is_none")]
    destination_arn: Option<String>,
    #[serde(rename = "sourceIp", skip_serializing_if = "Option::is_none")]
    source_ip: Option<String>,
    #[serde(rename = "destinationIp", skip_serializing_if = "Option::is_none")]
    destination_ip: Option<String>,
    protocol: String,
    #[serde(rename = "destinationPort", skip_serializing_if = "Option::is_none")]
    destination_port: Option<u16>,
    #[serde(rename = "filterAtSource", skip_serializing_if = "Option::is_none")]
    filter_at_source: Option<PathFilterOut>,
    #[serde(rename = "filterAtDestination", skip_serializing_if = "Option::is_none")]
    filter_at_destination: Option<PathFilterOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

pub fn path_out(p: &NetworkInsightsPath) -> PathOut {
    PathOut {
        id: p.id.clone(),
        arn: format!("arn:aws:ec2:{}:{}:network-insights-path/{}", p.region, p.owner_id, p.id),
        created: ids::iso8601(p.created_ms),
        source: p.source.clone(),
        destination: p.destination.clone(),
        source_arn: p.source_arn.clone(),
        destination_arn: p.destination_arn.clone(),
        source_ip: p.source_ip.map(|a| a.to_string()),
        destination_ip: p.destination_ip.map(|a| a.to_string()),
        protocol: p.protocol.clone(),
        destination_port: p.destination_port,
        filter_at_source: filter_out(&p.filter_at_source),
        filter_at_destination: filter_out(&p.filter_at_destination),
        tags: tag_set(&p.tags),
    }
}

#[derive(Serialize, Clone)]
pub struct ComponentOut {
    id: String,
    arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

fn component(c: &ComponentRef) -> ComponentOut {
    ComponentOut {
        id: c.id.clone(),
        arn: c.arn.clone(),
        name: c.name.clone(),
    }
}

fn opt(c: &Option<ComponentRef>) -> Option<ComponentOut> {
    c.as_ref().map(component)
}

#[derive(Serialize)]
pub struct SecurityGroupRuleOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    cidr: Option<String>,
    direction: String,
    #[serde(rename = "securityGroupId", skip_serializing_if = "Option::is_none")]
    security_group_id: Option<String>,
    #[serde(rename = "portRange", skip_serializing_if = "Option::is_none")]
    port_range: Option<PortRangeOut>,
    #[serde(rename = "prefixListId", skip_serializing_if = "Option::is_none")]
    prefix_list_id: Option<String>,
    protocol: String,
}

#[derive(Serialize)]
pub struct RouteOut {
    #[serde(rename = "destinationCidr")]
    destination_cidr: String,
    #[serde(rename = "gatewayId", skip_serializing_if = "Option::is_none")]
    gateway_id: Option<String>,
    #[serde(rename = "natGatewayId", skip_serializing_if = "Option::is_none")]
    nat_gateway_id: Option<String>,
    #[serde(rename = "instanceId", skip_serializing_if = "Option::is_none")]
    instance_id: Option<String>,
    #[serde(rename = "networkInterfaceId", skip_serializing_if = "Option::is_none")]
    network_interface_id: Option<String>,
    origin: String,
    state: String,
}

#[derive(Serialize)]
pub struct HeaderOut {
    #[serde(rename = "destinationAddressSet")]
    destination_addresses: Vec<String>,
    #[serde(rename = "destinationPortRangeSet")]
    destination_ports: Vec<PortRangeOut>,
    protocol: String,
    #[serde(rename = "sourceAddressSet")]
    source_addresses: Vec<String>,
    #[serde(rename = "sourcePortRangeSet")]
    source_ports: Vec<PortRangeOut>,
}

fn header(h: &Option<PacketHeader>) -> Option<HeaderOut> {
    let h = h.as_ref()?;
    Some(HeaderOut {
        destination_addresses: h.destination_addresses.clone(),
        destination_ports: ranges(&h.destination_ports),
        protocol: h.protocol.clone(),
        source_addresses: h.source_addresses.clone(),
        source_ports: ranges(&h.source_ports),
    })
}

#[derive(Serialize)]
pub struct HopOut {
    #[serde(rename = "sequenceNumber")]
    sequence: u32,
    component: ComponentOut,
    #[serde(rename = "attachedTo", skip_serializing_if = "Option::is_none")]
    attached_to: Option<ComponentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc: Option<ComponentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet: Option<ComponentOut>,
    #[serde(rename = "securityGroupRule", skip_serializing_if = "Option::is_none")]
    security_group_rule: Option<SecurityGroupRuleOut>,
    #[serde(rename = "routeTableRoute", skip_serializing_if = "Option::is_none")]
    route: Option<RouteOut>,
    #[serde(rename = "outboundHeader", skip_serializing_if = "Option::is_none")]
    outbound_header: Option<HeaderOut>,
    #[serde(rename = "inboundHeader", skip_serializing_if = "Option::is_none")]
    inbound_header: Option<HeaderOut>,
}

fn hop(h: &PathHop) -> HopOut {
    HopOut {
        sequence: h.sequence,
        component: component(&h.component),
        attached_to: opt(&h.attached_to),
        vpc: opt(&h.vpc),
        subnet: opt(&h.subnet),
        security_group_rule: h.security_group_rule.as_ref().map(|r| SecurityGroupRuleOut {
            cidr: r.cidr.clone(),
            direction: r.direction.clone(),
            security_group_id: r.security_group_id.clone(),
            port_range: r.ports.map(|s| PortRangeOut { from: s.from, to: s.to }),
            prefix_list_id: r.prefix_list_id.clone(),
            protocol: r.protocol.clone(),
        }),
        route: h.route.as_ref().map(|r| RouteOut {
            destination_cidr: r.destination_cidr.clone(),
            gateway_id: r.gateway_id.clone(),
            nat_gateway_id: r.nat_gateway_id.clone(),
            instance_id: r.instance_id.clone(),
            network_interface_id: r.network_interface_id.clone(),
            origin: r.origin.clone(),
            state: r.state.clone(),
        }),
        outbound_header: header(&h.outbound_header),
        inbound_header: header(&h.inbound_header),
    }
}

#[derive(Serialize)]
pub struct ExplanationOut {
    #[serde(rename = "explanationCode")]
    code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<ComponentOut>,
    #[serde(rename = "networkInterface", skip_serializing_if = "Option::is_none")]
    network_interface: Option<ComponentOut>,
    #[serde(rename = "securityGroup", skip_serializing_if = "Option::is_none")]
    security_group: Option<ComponentOut>,
    #[serde(rename = "securityGroupSet", skip_serializing_if = "Vec::is_empty")]
    security_groups: Vec<ComponentOut>,
    #[serde(rename = "internetGateway", skip_serializing_if = "Option::is_none")]
    internet_gateway: Option<ComponentOut>,
    #[serde(rename = "routeTable", skip_serializing_if = "Option::is_none")]
    route_table: Option<ComponentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<ComponentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet: Option<ComponentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc: Option<ComponentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(rename = "addressSet", skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<String>,
    #[serde(rename = "protocolSet", skip_serializing_if = "Vec::is_empty")]
    protocols: Vec<String>,
    #[serde(rename = "portRangeSet", skip_serializing_if = "Vec::is_empty")]
    port_ranges: Vec<PortRangeOut>,
}

fn explanation(e: &Explanation) -> ExplanationOut {
    ExplanationOut {
        code: e.code.clone(),
        direction: e.direction.clone(),
        component: opt(&e.component),
        network_interface: opt(&e.network_interface),
        security_group: opt(&e.security_group),
        security_groups: e.security_groups.iter().map(component).collect(),
        internet_gateway: opt(&e.internet_gateway),
        route_table: opt(&e.route_table),
        destination: opt(&e.destination),
        subnet: opt(&e.subnet),
        vpc: opt(&e.vpc),
        address: e.address.clone(),
        addresses: e.addresses.clone(),
        protocols: e.protocols.clone(),
        port_ranges: ranges(&e.port_ranges),
    }
}

#[derive(Serialize)]
pub struct AnalysisOut {
    #[serde(rename = "networkInsightsAnalysisId")]
    id: String,
    #[serde(rename = "networkInsightsAnalysisArn")]
    arn: String,
    #[serde(rename = "networkInsightsPathId")]
    path_id: String,
    #[serde(rename = "filterInArnSet", skip_serializing_if = "Vec::is_empty")]
    filter_in_arns: Vec<String>,
    #[serde(rename = "startDate")]
    start: String,
    status: String,
    #[serde(rename = "statusMessage", skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    #[serde(rename = "networkPathFound", skip_serializing_if = "Option::is_none")]
    path_found: Option<bool>,
    #[serde(rename = "forwardPathComponentSet", skip_serializing_if = "Vec::is_empty")]
    forward: Vec<HopOut>,
    #[serde(rename = "returnPathComponentSet", skip_serializing_if = "Vec::is_empty")]
    return_path: Vec<HopOut>,
    #[serde(rename = "explanationSet", skip_serializing_if = "Vec::is_empty")]
    explanations: Vec<ExplanationOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

pub fn analysis_out(a: &NetworkInsightsAnalysis) -> AnalysisOut {
    AnalysisOut {
        id: a.id.clone(),
        arn: format!(
            "arn:aws:ec2:{}:{}:network-insights-analysis/{}",
            a.region, a.owner_id, a.id
        ),
        path_id: a.path_id.clone(),
        filter_in_arns: a.filter_in_arns.clone(),
        start: ids::iso8601(a.start_ms),
        status: a.status.clone(),
        status_message: a.status_message.clone(),
        path_found: (a.status == "succeeded").then_some(a.path_found),
        forward: a.forward_path.iter().map(hop).collect(),
        return_path: a.return_path.iter().map(hop).collect(),
        explanations: a.explanations.iter().map(explanation).collect(),
        tags: tag_set(&a.tags),
    }
}

/// The analysis as its Start answer shows it: `running`, no verdict yet.
pub fn started_out(a: &NetworkInsightsAnalysis) -> AnalysisOut {
    AnalysisOut {
        status: "running".into(),
        status_message: None,
        path_found: None,
        forward: Vec::new(),
        return_path: Vec::new(),
        explanations: Vec::new(),
        ..analysis_out(a)
    }
}
