//! The Reachability Analyzer's verdict on one path: a pure function of the
//! configuration, as AWS's analyzer models the network without sending a packet.
//!
//! A path goes from an instance, a network interface or an internet gateway to an
//! instance, a network interface, an internet gateway or an address. Along the way:
//! the source's security groups must let the packet out and the destination's let it
//! in (decided by `fulmar_secgroup`, stateful, so the return traffic needs no rule);
//! the source subnet's route table must carry it (the `local` route inside the VPC,
//! a route to an attached internet gateway towards the internet); an internet gateway
//! only delivers to an interface's public address and only sends out traffic from
//! one, and the destination subnet must route the return traffic back to it (a
//! public subnet). Every blocking component becomes an explanation with AWS's code
//! (`ENI_SG_RULES_MISMATCH`, `NO_ROUTE_TO_DESTINATION`,
//! `IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS`, ...); a path found lists its hops with
//! the rule and route each one used.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net};

use fulmar_model::ec2::{RouteTarget, RulePeer};
use fulmar_model::insights::{
    ComponentRef, Explanation, PacketHeader, PathHop, PortSpan, RouteRef, SecurityGroupRuleRef,
};
use fulmar_model::{Config, Instance, InternetGateway, NetworkInsightsPath, NetworkInterface, RouteTable};
use fulmar_secgroup::{decide, Direction, EndpointSpec, Flow, Rule, Traffic, Verdict, World};

/// The address that stands for "the internet" when a path names no address: any
/// public address is as good as another unless a rule singles one out.
const INTERNET: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);

/// The verdict on a path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub found: bool,
    pub forward: Vec<PathHop>,
    pub return_path: Vec<PathHop>,
    pub explanations: Vec<Explanation>,
}

/// One end of a path, resolved in the configuration.
#[derive(Debug, Clone)]
pub enum End {
    Interface {
        eni: Arc<NetworkInterface>,
        instance: Option<Arc<Instance>>,
    },
    Gateway(Arc<InternetGateway>),
    Address(Ipv4Addr),
}

/// What an id names: an instance (its primary interface), an interface, a gateway.
pub fn resolve(config: &Config, region: &str, id: &str) -> Option<End> {
    let prefix = id.rsplit_once('-').map(|(p, _)| p)?;
    match prefix {
        "i" => {
            let instance = config.instances.get(id).filter(|i| i.region == region)?;
            let eni = config.network_interfaces.get(&instance.network_interface_id)?;
            Some(End::Interface {
                eni: eni.clone(),
                instance: Some(instance.clone()),
            })
        }
        "eni" => {
            let eni = config.network_interfaces.get(id).filter(|n| n.region == region)?;
            let instance = eni
                .attachment
                .as_ref()
                .and_then(|a| config.instances.get(&a.instance_id))
                .cloned();
            Some(End::Interface {
                eni: eni.clone(),
                instance,
            })
        }
        "igw" => config
            .internet_gateways
            .get(id)
            .filter(|g| g.region == region)
            .cloned()
            .map(End::Gateway),
        _ => None,
    }
}

/// Analyse `path`: the first destination port (of the path's port, its
/// `FilterAtSource` range, or every port) that gets through, or the explanations of
/// the first one when none does.
pub fn analyze(config: &Config, path: &NetworkInsightsPath) -> Result<Outcome, String> {
    let source = resolve(config, &path.region, &path.source)
        .ok_or_else(|| format!("The source {} no longer exists.", path.source))?;
    let destination = match (&path.destination, path.destination_ip) {
        (Some(id), _) => {
            resolve(config, &path.region, id).ok_or_else(|| format!("The destination {id} no longer exists."))?
        }
        (None, Some(ip)) => interface_at(config, &source, ip).unwrap_or(End::Address(ip)),
        (None, None) => return Err("The path has no destination.".into()),
    };
    let ports = match (
        path.destination_port,
        path.filter_at_source.as_ref().and_then(|f| f.destination_ports),
    ) {
        (Some(p), _) => PortSpan { from: p, to: p },
        (None, Some(span)) => span,
        (None, None) => PortSpan { from: 0, to: 65_535 },
    };
    let analysis = Analysis::new(config, path, &source, &destination)?;
    let mut first = None;
    for port in ports.from..=ports.to {
        let outcome = analysis.run(port);
        if outcome.found {
            return Ok(outcome);
        }
        first.get_or_insert(outcome);
    }
    Ok(first.unwrap_or_default())
}

/// An address given as the destination that belongs to an interface in the source's VPC.
fn interface_at(config: &Config, source: &End, ip: Ipv4Addr) -> Option<End> {
    let vpc = match source {
        End::Interface { eni, .. } => eni.vpc_id.clone(),
        End::Gateway(g) => g.vpc_id.clone()?,
        End::Address(_) => return None,
    };
    let eni = config
        .network_interfaces
        .values()
        .find(|n| n.vpc_id == vpc && n.private_ip == ip)?;
    let instance = eni
        .attachment
        .as_ref()
        .and_then(|a| config.instances.get(&a.instance_id))
        .cloned();
    Some(End::Interface {
        eni: eni.clone(),
        instance,
    })
}

struct Analysis<'a> {
    config: &'a Config,
    path: &'a NetworkInsightsPath,
    source: &'a End,
    destination: &'a End,
    world: World,
    udp: bool,
}

impl<'a> Analysis<'a> {
    fn new(
        config: &'a Config,
        path: &'a NetworkInsightsPath,
        source: &'a End,
        destination: &'a End,
    ) -> Result<Analysis<'a>, String> {
        if !matches!(source, End::Interface { .. }) && !matches!(destination, End::Interface { .. }) {
            return Err("A path from an internet gateway must end at an instance or a network interface.".into());
        }
        let vpc = match (source, destination) {
            (End::Interface { eni, .. }, _) | (_, End::Interface { eni, .. }) => eni.vpc_id.clone(),
            _ => String::new(),
        };
        Ok(Analysis {
            config,
            path,
            source,
            destination,
            world: vpc_world(config, &path.region, &vpc),
            udp: path.protocol == "udp",
        })
    }

    fn traffic(&self, port: u16) -> Traffic {
        if self.udp {
            Traffic::Udp(port)
        } else {
            Traffic::Tcp(port)
        }
    }

    fn run(&self, port: u16) -> Outcome {
        let mut out = Outcome::default();
        match (self.source, self.destination) {
            (
                End::Interface { eni, instance },
                End::Interface {
                    eni: dst,
                    instance: dst_instance,
                },
            ) => self.between_interfaces(&mut out, port, (eni, instance.as_ref()), (dst, dst_instance.as_ref())),
            (End::Interface { eni, instance }, _) => self.to_outside(&mut out, port, eni, instance.as_ref()),
            (End::Gateway(igw), End::Interface { eni, instance }) => {
                self.inbound_from_gateway(&mut out, port, igw, eni, instance.as_ref())
            }
            _ => {}
        }
        out.found = out.explanations.is_empty();
        if !out.found {
            out.forward.clear();
            out.return_path.clear();
        }
        for hops in [&mut out.forward, &mut out.return_path] {
            for (i, hop) in hops.iter_mut().enumerate() {
                hop.sequence = i as u32 + 1;
            }
        }
        out
    }

    fn source_address(&self, eni: &NetworkInterface) -> Ipv4Addr {
        self.path
            .source_ip
            .or_else(|| self.path.filter_at_source.as_ref().and_then(|f| f.source_address))
            .unwrap_or(eni.private_ip)
    }

    fn between_interfaces(
        &self,
        out: &mut Outcome,
        port: u16,
        (src, src_instance): (&NetworkInterface, Option<&Arc<Instance>>),
        (dst, dst_instance): (&NetworkInterface, Option<&Arc<Instance>>),
    ) {
        let from = self.source_address(src);
        let to = dst.private_ip;
        let header = self.header(from, to, port);
        self.leave(out, src, src_instance, &header);
        let decision = decide(
            &Flow::new(IpAddr::V4(from), IpAddr::V4(to), self.traffic(port)),
            &self.world,
        );
        self.security_groups(out, decision.egress, Direction::Egress, src, from, to, port);
        let table = self.config.route_table_of_subnet(&src.subnet_id);
        match table.and_then(|t| t.route_for(IpAddr::V4(to)).map(|r| (t, r))) {
            Some((t, r)) if r.target == RouteTarget::Local && src.vpc_id == dst.vpc_id => {
                out.forward.push(self.route_hop(t, r, src));
            }
            _ => out
                .explanations
                .push(self.no_route(table, src, self.interface_ref(dst))),
        }
        self.security_groups(out, decision.ingress, Direction::Ingress, dst, from, to, port);
        self.arrive(out, dst, dst_instance, &header);
        self.return_hops(out, dst, dst_instance, src, src_instance);
    }

    fn to_outside(&self, out: &mut Outcome, port: u16, src: &NetworkInterface, src_instance: Option<&Arc<Instance>>) {
        let from = self.source_address(src);
        let given = match self.destination {
            End::Address(a) => Some(*a),
            _ => self.path.destination_ip,
        };
        let wanted = given.or_else(|| self.path.filter_at_source.as_ref().and_then(|f| f.destination_address));
        let to = wanted.unwrap_or_else(|| self.internet_address(src, Direction::Egress, from, port));
        let header = self.header(from, to, port);
        self.leave(out, src, src_instance, &header);
        let decision = decide(
            &Flow::new(IpAddr::V4(from), IpAddr::V4(to), self.traffic(port)),
            &self.world,
        );
        self.security_groups(out, decision.egress, Direction::Egress, src, from, to, port);
        let table = self.config.route_table_of_subnet(&src.subnet_id);
        let wanted_igw = match self.destination {
            End::Gateway(g) => Some(g.id.as_str()),
            _ => None,
        };
        let route = table.and_then(|t| t.route_for(IpAddr::V4(to)).map(|r| (t, r)));
        let igw = match route {
            Some((t, r)) => match &r.target {
                RouteTarget::Local if wanted_igw.is_none() => {
                    out.forward.push(self.route_hop(t, r, src));
                    return;
                }
                RouteTarget::Gateway(g) if wanted_igw.is_none_or(|w| w == g) => {
                    match self
                        .config
                        .internet_gateways
                        .get(g)
                        .filter(|igw| igw.vpc_id.as_deref() == Some(src.vpc_id.as_str()))
                    {
                        Some(igw) => {
                            out.forward.push(self.route_hop(t, r, src));
                            Some(igw.clone())
                        }
                        None => None,
                    }
                }
                _ => None,
            },
            None => None,
        };
        let Some(igw) = igw else {
            let target = match self.destination {
                End::Gateway(g) => Some(self.gateway_ref(g)),
                _ => None,
            };
            let named = target.is_some();
            let mut e = self.no_route(table, src, target.unwrap_or_else(|| self.interface_ref(src)));
            if !named {
                e.destination = None;
                e.address = Some(to.to_string());
            }
            out.explanations.push(e);
            return;
        };
        if src.public_ip.is_none() {
            out.explanations.push(Explanation {
                code: "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS".into(),
                component: Some(self.gateway_ref(&igw)),
                internet_gateway: Some(self.gateway_ref(&igw)),
                network_interface: Some(self.interface_ref(src)),
                vpc: Some(self.vpc_ref(&src.vpc_id)),
                address: Some(from.to_string()),
                ..Explanation::default()
            });
            return;
        }
        let mut hop = self.hop(self.gateway_ref(&igw));
        hop.vpc = Some(self.vpc_ref(&src.vpc_id));
        hop.inbound_header = Some(header.clone());
        hop.outbound_header = Some(PacketHeader {
            source_addresses: vec![src.public_ip.map_or(from, |p| p).to_string()],
            ..header
        });
        out.forward.push(hop);
    }

    fn inbound_from_gateway(
        &self,
        out: &mut Outcome,
        port: u16,
        igw: &InternetGateway,
        dst: &NetworkInterface,
        dst_instance: Option<&Arc<Instance>>,
    ) {
        let given = self
            .path
            .source_ip
            .or_else(|| self.path.filter_at_source.as_ref().and_then(|f| f.source_address));
        let from = given.unwrap_or_else(|| self.internet_address(dst, Direction::Ingress, dst.private_ip, port));
        let to = dst.private_ip;
        let public = dst
            .public_ip
            .filter(|_| igw.vpc_id.as_deref() == Some(dst.vpc_id.as_str()));
        let mut hop = self.hop(self.gateway_ref(igw));
        hop.vpc = igw.vpc_id.as_deref().map(|v| self.vpc_ref(v));
        hop.inbound_header = Some(self.header(from, public.unwrap_or(to), port));
        hop.outbound_header = Some(self.header(from, to, port));
        out.forward.push(hop);
        if is_private(from) {
            out.explanations.push(Explanation {
                code: "IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS".into(),
                component: Some(self.gateway_ref(igw)),
                internet_gateway: Some(self.gateway_ref(igw)),
                address: Some(from.to_string()),
                ..Explanation::default()
            });
        }
        if public.is_none() {
            out.explanations.push(Explanation {
                code: "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS".into(),
                component: Some(self.gateway_ref(igw)),
                internet_gateway: Some(self.gateway_ref(igw)),
                destination: Some(self.interface_ref(dst)),
                network_interface: Some(self.interface_ref(dst)),
                vpc: igw.vpc_id.as_deref().map(|v| self.vpc_ref(v)),
                address: Some(to.to_string()),
                ..Explanation::default()
            });
        }
        // The destination subnet must send the replies back through this gateway.
        let table = self.config.route_table_of_subnet(&dst.subnet_id);
        let back = table.and_then(|t| t.route_for(IpAddr::V4(from)).map(|r| (t, r)));
        let return_route = match back {
            Some((t, r)) if r.target == RouteTarget::Gateway(igw.id.clone()) => Some(self.route_hop(t, r, dst)),
            _ => {
                out.explanations.push(self.no_route(table, dst, self.gateway_ref(igw)));
                None
            }
        };
        let decision = decide(
            &Flow::new(IpAddr::V4(from), IpAddr::V4(to), self.traffic(port)),
            &self.world,
        );
        self.security_groups(out, decision.ingress, Direction::Ingress, dst, from, to, port);
        let header = self.header(from, to, port);
        self.arrive(out, dst, dst_instance, &header);
        let start = dst_instance
            .map(|i| self.instance_ref(i))
            .unwrap_or_else(|| self.interface_ref(dst));
        let mut first = self.hop(start);
        first.vpc = Some(self.vpc_ref(&dst.vpc_id));
        first.subnet = Some(self.subnet_ref(&dst.subnet_id));
        out.return_path.push(first);
        out.return_path.extend(return_route);
        let mut last = self.hop(self.gateway_ref(igw));
        last.vpc = igw.vpc_id.as_deref().map(|v| self.vpc_ref(v));
        out.return_path.push(last);
    }

    /// An internet address the end's rules of `direction` let through, else [`INTERNET`].
    fn internet_address(&self, eni: &NetworkInterface, direction: Direction, own: Ipv4Addr, port: u16) -> Ipv4Addr {
        let mut candidates = vec![INTERNET];
        for id in &eni.security_groups {
            let Some(group) = self.world.group(id) else {
                continue;
            };
            let rules: &[Rule] = match direction {
                Direction::Egress => group.egress(),
                Direction::Ingress => group.ingress(),
            };
            for rule in rules {
                if let RulePeer::Cidr(IpNet::V4(net)) = &rule.stored().peer {
                    candidates.extend(public_address_in(*net));
                }
            }
        }
        let traffic = self.traffic(port);
        candidates
            .into_iter()
            .find(|&a| {
                let flow = match direction {
                    Direction::Egress => Flow::new(IpAddr::V4(own), IpAddr::V4(a), traffic),
                    Direction::Ingress => Flow::new(IpAddr::V4(a), IpAddr::V4(own), traffic),
                };
                decide(&flow, &self.world).allowed()
            })
            .unwrap_or(INTERNET)
    }

    /// The hops of the source instance and its interface.
    fn leave(
        &self,
        out: &mut Outcome,
        eni: &NetworkInterface,
        instance: Option<&Arc<Instance>>,
        header: &PacketHeader,
    ) {
        if let Some(i) = instance {
            let mut hop = self.hop(self.instance_ref(i));
            hop.vpc = Some(self.vpc_ref(&eni.vpc_id));
            hop.subnet = Some(self.subnet_ref(&eni.subnet_id));
            hop.outbound_header = Some(header.clone());
            out.forward.push(hop);
        }
        let mut hop = self.hop(self.interface_ref(eni));
        hop.attached_to = instance.map(|i| self.instance_ref(i));
        hop.vpc = Some(self.vpc_ref(&eni.vpc_id));
        hop.subnet = Some(self.subnet_ref(&eni.subnet_id));
        if instance.is_none() {
            hop.outbound_header = Some(header.clone());
        }
        out.forward.push(hop);
    }

    /// The hops of the destination interface and its instance.
    fn arrive(
        &self,
        out: &mut Outcome,
        eni: &NetworkInterface,
        instance: Option<&Arc<Instance>>,
        header: &PacketHeader,
    ) {
        let mut hop = self.hop(self.interface_ref(eni));
        hop.attached_to = instance.map(|i| self.instance_ref(i));
        hop.vpc = Some(self.vpc_ref(&eni.vpc_id));
        hop.subnet = Some(self.subnet_ref(&eni.subnet_id));
        hop.inbound_header = Some(header.clone());
        out.forward.push(hop);
        if let Some(i) = instance {
            let mut hop = self.hop(self.instance_ref(i));
            hop.vpc = Some(self.vpc_ref(&eni.vpc_id));
            hop.subnet = Some(self.subnet_ref(&eni.subnet_id));
            hop.inbound_header = Some(header.clone());
            out.forward.push(hop);
        }
    }

    /// The return path between two interfaces: security groups are stateful, so only
    /// the route back matters (the `local` route of their VPC).
    fn return_hops(
        &self,
        out: &mut Outcome,
        from: &NetworkInterface,
        from_instance: Option<&Arc<Instance>>,
        to: &NetworkInterface,
        to_instance: Option<&Arc<Instance>>,
    ) {
        let end = |eni: &NetworkInterface, instance: Option<&Arc<Instance>>| {
            let mut hop = self.hop(
                instance
                    .map(|i| self.instance_ref(i))
                    .unwrap_or_else(|| self.interface_ref(eni)),
            );
            hop.vpc = Some(self.vpc_ref(&eni.vpc_id));
            hop.subnet = Some(self.subnet_ref(&eni.subnet_id));
            hop
        };
        out.return_path.push(end(from, from_instance));
        let table = self.config.route_table_of_subnet(&from.subnet_id);
        if let Some((t, r)) = table.and_then(|t| t.route_for(IpAddr::V4(to.private_ip)).map(|r| (t, r))) {
            out.return_path.push(self.route_hop(t, r, from));
        }
        out.return_path.push(end(to, to_instance));
    }

    /// The security-group hop or explanation at one end.
    #[allow(clippy::too_many_arguments)]
    fn security_groups(
        &self,
        out: &mut Outcome,
        verdict: Verdict<'_>,
        direction: Direction,
        eni: &NetworkInterface,
        from: Ipv4Addr,
        to: Ipv4Addr,
        port: u16,
    ) {
        let word = match direction {
            Direction::Egress => "egress",
            Direction::Ingress => "ingress",
        };
        match verdict {
            Verdict::Unfiltered => {}
            Verdict::Allowed { group, rule, .. } => {
                let mut hop = self.hop(self.group_ref(group.id()));
                hop.vpc = Some(self.vpc_ref(&eni.vpc_id));
                hop.security_group_rule = Some(rule_ref(rule, word));
                out.forward.push(hop);
            }
            Verdict::Blocked { .. } => {
                let groups: Vec<ComponentRef> = eni.security_groups.iter().map(|g| self.group_ref(g)).collect();
                let other = match direction {
                    Direction::Egress => to,
                    Direction::Ingress => from,
                };
                out.explanations.push(Explanation {
                    code: "ENI_SG_RULES_MISMATCH".into(),
                    direction: Some(word.into()),
                    component: Some(self.interface_ref(eni)),
                    network_interface: Some(self.interface_ref(eni)),
                    security_group: groups.first().cloned(),
                    security_groups: groups,
                    subnet: Some(self.subnet_ref(&eni.subnet_id)),
                    vpc: Some(self.vpc_ref(&eni.vpc_id)),
                    addresses: vec![other.to_string()],
                    protocols: vec![self.path.protocol.clone()],
                    port_ranges: vec![PortSpan { from: port, to: port }],
                    ..Explanation::default()
                });
            }
        }
    }

    fn no_route(
        &self,
        table: Option<&Arc<RouteTable>>,
        eni: &NetworkInterface,
        destination: ComponentRef,
    ) -> Explanation {
        Explanation {
            code: "NO_ROUTE_TO_DESTINATION".into(),
            component: table.map(|t| self.table_ref(t)),
            route_table: table.map(|t| self.table_ref(t)),
            destination: Some(destination),
            subnet: Some(self.subnet_ref(&eni.subnet_id)),
            vpc: Some(self.vpc_ref(&eni.vpc_id)),
            ..Explanation::default()
        }
    }

    fn route_hop(&self, table: &RouteTable, route: &fulmar_model::ec2::Route, eni: &NetworkInterface) -> PathHop {
        let mut hop = self.hop(self.table_ref(table));
        hop.vpc = Some(self.vpc_ref(&eni.vpc_id));
        hop.subnet = Some(self.subnet_ref(&eni.subnet_id));
        let (gateway, nat, instance, interface) = match &route.target {
            RouteTarget::Local => (Some("local".to_string()), None, None, None),
            RouteTarget::Gateway(g) => (Some(g.clone()), None, None, None),
            RouteTarget::NatGateway(n) => (None, Some(n.clone()), None, None),
            RouteTarget::Instance(i) => (None, None, Some(i.clone()), None),
            RouteTarget::NetworkInterface(n) => (None, None, None, Some(n.clone())),
        };
        hop.route = Some(RouteRef {
            destination_cidr: route.destination.to_string(),
            gateway_id: gateway,
            nat_gateway_id: nat,
            instance_id: instance,
            network_interface_id: interface,
            origin: route.origin.clone(),
            state: "active".into(),
        });
        hop
    }

    fn header(&self, from: Ipv4Addr, to: Ipv4Addr, port: u16) -> PacketHeader {
        PacketHeader {
            source_addresses: vec![from.to_string()],
            destination_addresses: vec![to.to_string()],
            protocol: if self.udp { "17" } else { "6" }.into(),
            source_ports: vec![self
                .path
                .filter_at_source
                .as_ref()
                .and_then(|f| f.source_ports)
                .unwrap_or(PortSpan { from: 0, to: 65_535 })],
            destination_ports: vec![PortSpan { from: port, to: port }],
        }
    }

    fn hop(&self, component: ComponentRef) -> PathHop {
        PathHop {
            sequence: 0,
            component,
            attached_to: None,
            vpc: None,
            subnet: None,
            security_group_rule: None,
            route: None,
            outbound_header: None,
            inbound_header: None,
        }
    }

    fn arn(&self, kind: &str, id: &str) -> String {
        format!("arn:aws:ec2:{}:{}:{kind}/{id}", self.path.region, self.path.owner_id)
    }

    fn component(&self, kind: &str, id: &str, name: Option<String>) -> ComponentRef {
        ComponentRef {
            id: id.to_string(),
            arn: self.arn(kind, id),
            name,
        }
    }

    fn instance_ref(&self, i: &Instance) -> ComponentRef {
        self.component("instance", &i.id, name_tag(&i.tags))
    }

    fn interface_ref(&self, n: &NetworkInterface) -> ComponentRef {
        self.component("network-interface", &n.id, name_tag(&n.tags))
    }

    fn gateway_ref(&self, g: &InternetGateway) -> ComponentRef {
        self.component("internet-gateway", &g.id, name_tag(&g.tags))
    }

    fn table_ref(&self, t: &RouteTable) -> ComponentRef {
        self.component("route-table", &t.id, name_tag(&t.tags))
    }

    fn group_ref(&self, id: &str) -> ComponentRef {
        let name = self.config.security_groups.get(id).map(|g| g.name.clone());
        self.component("security-group", id, name)
    }

    fn subnet_ref(&self, id: &str) -> ComponentRef {
        let name = self.config.subnets.get(id).and_then(|s| name_tag(&s.tags));
        self.component("subnet", id, name)
    }

    fn vpc_ref(&self, id: &str) -> ComponentRef {
        let name = self.config.vpcs.get(id).and_then(|v| name_tag(&v.tags));
        self.component("vpc", id, name)
    }
}

/// The world of one VPC: the region's groups and the VPC's interfaces (addresses
/// repeat across VPCs, so the analysis looks at one).
fn vpc_world(config: &Config, region: &str, vpc: &str) -> World {
    let mut builder = World::builder();
    for g in config.security_groups.values().filter(|g| g.region == region) {
        builder.group(g);
    }
    for eni in config
        .network_interfaces
        .values()
        .filter(|n| n.region == region && n.vpc_id == vpc)
    {
        builder.endpoint(EndpointSpec {
            id: eni.id.clone(),
            label: format!("network interface {}", eni.id),
            addresses: vec![IpAddr::V4(eni.private_ip)],
            public_addresses: eni.public_ip.map(IpAddr::V4).into_iter().collect(),
            group_ids: eni.security_groups.clone(),
        });
    }
    builder.build()
}

fn rule_ref(rule: &Rule, direction: &str) -> SecurityGroupRuleRef {
    let stored = rule.stored();
    let protocol = match stored.ip_protocol.as_str() {
        "-1" => "all".to_string(),
        p => p.to_string(),
    };
    let ports = match protocol.as_str() {
        "tcp" | "udp" | "6" | "17" => Some(PortSpan {
            from: stored.from_port.and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
            to: stored.to_port.and_then(|p| u16::try_from(p).ok()).unwrap_or(65_535),
        }),
        _ => None,
    };
    let (cidr, group, prefix_list) = match &stored.peer {
        RulePeer::Cidr(net) => (Some(net.to_string()), None, None),
        RulePeer::Group { group_id, .. } => (None, Some(group_id.clone()), None),
        RulePeer::PrefixList(id) => (None, None, Some(id.clone())),
    };
    SecurityGroupRuleRef {
        cidr,
        security_group_id: group,
        prefix_list_id: prefix_list,
        direction: direction.into(),
        protocol,
        ports,
    }
}

fn name_tag(tags: &[fulmar_model::Tag]) -> Option<String> {
    tags.iter().find(|t| t.key == "Name").map(|t| t.value.clone())
}

/// RFC 1918, shared (RFC 6598), loopback, link-local and "this network" addresses:
/// none of them is an internet address.
fn is_private(a: Ipv4Addr) -> bool {
    let o = a.octets();
    a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || o[0] >= 224
}

/// A public address inside `net`, if it has one: its first address, or the first of
/// one of its /8 blocks for a very wide network.
fn public_address_in(net: Ipv4Net) -> Option<Ipv4Addr> {
    let net = net.trunc();
    if net.prefix_len() >= 8 {
        let first = net.network();
        return (!is_private(first)).then_some(first);
    }
    net.subnets(8)
        .ok()?
        .map(|block| block.network())
        .find(|&a| !is_private(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_of_networks() {
        assert_eq!(
            public_address_in("0.0.0.0/0".parse().unwrap()),
            Some(Ipv4Addr::new(1, 0, 0, 0))
        );
        assert_eq!(public_address_in("10.0.0.0/8".parse().unwrap()), None);
        assert_eq!(public_address_in("10.1.0.0/16".parse().unwrap()), None);
        assert_eq!(
            public_address_in("198.51.100.0/24".parse().unwrap()),
            Some(Ipv4Addr::new(198, 51, 100, 0))
        );
        assert!(is_private(Ipv4Addr::new(100, 64, 0, 1)));
        assert!(!is_private(INTERNET));
    }
}
