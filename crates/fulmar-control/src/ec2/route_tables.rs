//! Route tables: the main table of every VPC (its local route first), custom tables
//! associated with subnets, and routes to internet gateways, NAT gateways, instances
//! and interfaces. A route whose target is gone (a detached gateway, a deleted NAT)
//! stays and reports `blackhole`, as on AWS.

use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::ec2::{NatGatewayState, Route, RouteTableAssociation, RouteTarget};
use fulmar_model::{Config, Kind, RouteTable};

use super::filters::{self, FilterIn};
use super::paging::page;
use super::{
    check_tag_specs, invalid, missing, not_found, now, tag_set, tags_for, ReturnOut, TagOut, TagSpecificationIn, OK,
};
use crate::{ids, Txn};

fn table(txn: &Txn, id: &str) -> Result<Arc<RouteTable>, AwsError> {
    txn.config
        .route_tables
        .get(id)
        .filter(|t| t.region == txn.region)
        .cloned()
        .ok_or_else(|| not_found("InvalidRouteTableID", "routeTable ID", id))
}

fn put(txn: &mut Txn, t: RouteTable) {
    txn.touch(Kind::RouteTable, &t.id);
    txn.config.route_tables.insert(t.id.clone(), Arc::new(t));
}

fn new_table(txn: &mut Txn, vpc_id: &str, main: bool, tags: Vec<fulmar_model::Tag>) -> RouteTable {
    let vpc = txn.config.vpcs.get(vpc_id).cloned();
    let mut routes = Vec::new();
    if let Some(v) = &vpc {
        routes.push(Route {
            destination: IpNet::V4(v.cidr_block),
            target: RouteTarget::Local,
            origin: "CreateRouteTable".into(),
        });
        if let Some(v6) = v.ipv6_cidr_block {
            routes.push(Route {
                destination: IpNet::V6(v6),
                target: RouteTarget::Local,
                origin: "CreateRouteTable".into(),
            });
        }
    }
    let associations = if main {
        vec![RouteTableAssociation {
            id: ids::ec2("rtbassoc"),
            subnet_id: None,
            main: true,
        }]
    } else {
        Vec::new()
    };
    RouteTable {
        id: ids::ec2("rtb"),
        region: txn.region.clone(),
        owner_id: txn.account().to_string(),
        vpc_id: vpc_id.to_string(),
        routes,
        associations,
        tags,
    }
}

/// Create the main route table of a new VPC; returns its id.
pub fn create_main(txn: &mut Txn, vpc_id: &str) -> String {
    let t = new_table(txn, vpc_id, true, Vec::new());
    let id = t.id.clone();
    put(txn, t);
    id
}

/// Add a route to a table (used for the default VPC's internet route).
pub fn add_route(txn: &mut Txn, table_id: &str, destination: IpNet, target: RouteTarget) {
    if let Some(t) = txn.config.route_tables.get(table_id).cloned() {
        let mut t = (*t).clone();
        t.routes.push(Route {
            destination,
            target,
            origin: "CreateRoute".into(),
        });
        put(txn, t);
    }
}

/// Drop the explicit association of a subnet being deleted.
pub fn forget_subnet(txn: &mut Txn, subnet_id: &str) {
    let tables: Vec<Arc<RouteTable>> = txn
        .config
        .route_tables
        .values()
        .filter(|t| t.associations.iter().any(|a| a.subnet_id.as_deref() == Some(subnet_id)))
        .cloned()
        .collect();
    for t in tables {
        let mut t = (*t).clone();
        t.associations.retain(|a| a.subnet_id.as_deref() != Some(subnet_id));
        put(txn, t);
    }
}

/// Whether a route's target still exists and can carry traffic.
fn route_state(config: &Config, table: &RouteTable, r: &Route) -> &'static str {
    let alive = match &r.target {
        RouteTarget::Local => true,
        RouteTarget::Gateway(id) => config
            .internet_gateways
            .get(id)
            .is_some_and(|g| g.vpc_id.as_deref() == Some(table.vpc_id.as_str())),
        RouteTarget::NatGateway(id) => config
            .nat_gateways
            .get(id)
            .is_some_and(|n| !matches!(n.state_at(now()), NatGatewayState::Deleting | NatGatewayState::Deleted)),
        RouteTarget::Instance(id) => config
            .instances
            .get(id)
            .is_some_and(|i| i.state_at(now()) == fulmar_model::InstanceState::Running),
        RouteTarget::NetworkInterface(id) => config.network_interfaces.contains_key(id),
    };
    if alive {
        "active"
    } else {
        "blackhole"
    }
}

#[derive(Serialize)]
pub struct TableOut {
    #[serde(rename = "routeTableId")]
    id: String,
    #[serde(rename = "vpcId")]
    vpc_id: String,
    #[serde(rename = "ownerId")]
    owner_id: String,
    #[serde(rename = "routeSet")]
    routes: Vec<RouteOut>,
    #[serde(rename = "associationSet")]
    associations: Vec<AssociationOut>,
    #[serde(rename = "propagatingVgwSet")]
    propagating: Vec<()>,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

#[derive(Serialize)]
struct RouteOut {
    #[serde(rename = "destinationCidrBlock", skip_serializing_if = "Option::is_none")]
    destination_cidr: Option<String>,
    #[serde(rename = "destinationIpv6CidrBlock", skip_serializing_if = "Option::is_none")]
    destination_ipv6: Option<String>,
    #[serde(rename = "gatewayId", skip_serializing_if = "Option::is_none")]
    gateway_id: Option<String>,
    #[serde(rename = "natGatewayId", skip_serializing_if = "Option::is_none")]
    nat_gateway_id: Option<String>,
    #[serde(rename = "instanceId", skip_serializing_if = "Option::is_none")]
    instance_id: Option<String>,
    #[serde(rename = "networkInterfaceId", skip_serializing_if = "Option::is_none")]
    network_interface_id: Option<String>,
    state: &'static str,
    origin: String,
}

#[derive(Serialize)]
struct AssociationOut {
    #[serde(rename = "routeTableAssociationId")]
    id: String,
    #[serde(rename = "routeTableId")]
    table_id: String,
    #[serde(rename = "subnetId", skip_serializing_if = "Option::is_none")]
    subnet_id: Option<String>,
    main: bool,
    #[serde(rename = "associationState")]
    state: AssociationStateOut,
}

#[derive(Serialize)]
pub struct AssociationStateOut {
    state: &'static str,
}

const ASSOCIATED: AssociationStateOut = AssociationStateOut { state: "associated" };

fn render(config: &Config, t: &RouteTable) -> TableOut {
    TableOut {
        id: t.id.clone(),
        vpc_id: t.vpc_id.clone(),
        owner_id: t.owner_id.clone(),
        routes: t
            .routes
            .iter()
            .map(|r| {
                let (v4, v6) = match r.destination {
                    IpNet::V4(n) => (Some(n.to_string()), None),
                    IpNet::V6(n) => (None, Some(n.to_string())),
                };
                let mut out = RouteOut {
                    destination_cidr: v4,
                    destination_ipv6: v6,
                    gateway_id: None,
                    nat_gateway_id: None,
                    instance_id: None,
                    network_interface_id: None,
                    state: route_state(config, t, r),
                    origin: r.origin.clone(),
                };
                match &r.target {
                    RouteTarget::Local => out.gateway_id = Some("local".into()),
                    RouteTarget::Gateway(id) => out.gateway_id = Some(id.clone()),
                    RouteTarget::NatGateway(id) => out.nat_gateway_id = Some(id.clone()),
                    RouteTarget::Instance(id) => {
                        out.instance_id = Some(id.clone());
                        out.network_interface_id = config.instances.get(id).map(|i| i.network_interface_id.clone());
                    }
                    RouteTarget::NetworkInterface(id) => out.network_interface_id = Some(id.clone()),
                }
                out
            })
            .collect(),
        associations: t
            .associations
            .iter()
            .map(|a| AssociationOut {
                id: a.id.clone(),
                table_id: t.id.clone(),
                subnet_id: a.subnet_id.clone(),
                main: a.main,
                state: ASSOCIATED,
            })
            .collect(),
        propagating: Vec::new(),
        tags: tag_set(&t.tags),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    vpc_id: Option<String>,
    client_token: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct CreateOut {
    #[serde(rename = "routeTable")]
    table: TableOut,
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    client_token: Option<String>,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<CreateOut, AwsError> {
    check_tag_specs(&input.tag_specifications, &["route-table"])?;
    let vpc_id = input.vpc_id.ok_or_else(|| missing("vpcId"))?;
    super::vpcs::vpc(txn, &vpc_id)?;
    let t = new_table(txn, &vpc_id, false, tags_for(&input.tag_specifications, "route-table"));
    let table = render(&txn.config, &t);
    put(txn, t);
    Ok(CreateOut {
        table,
        client_token: input.client_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "RouteTableId")]
    ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "routeTableSet")]
    tables: Vec<TableOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    for id in &input.ids {
        table(txn, id)?;
    }
    let config = &txn.config;
    let all: Vec<TableOut> = config
        .route_tables
        .values()
        .filter(|t| t.region == txn.region && (input.ids.is_empty() || input.ids.contains(&t.id)))
        .filter(|t| {
            filters::matches(&input.filters, &t.tags, |name| {
                let targets = |f: fn(&RouteTarget) -> Option<String>| {
                    t.routes.iter().filter_map(|r| f(&r.target)).collect::<Vec<_>>()
                };
                match name {
                    "route-table-id" => Some(vec![t.id.clone()]),
                    "vpc-id" => Some(vec![t.vpc_id.clone()]),
                    "owner-id" => Some(vec![t.owner_id.clone()]),
                    "association.main" => Some(vec![t.is_main().to_string()]),
                    "association.subnet-id" => {
                        Some(t.associations.iter().filter_map(|a| a.subnet_id.clone()).collect())
                    }
                    "association.route-table-association-id" => {
                        Some(t.associations.iter().map(|a| a.id.clone()).collect())
                    }
                    "association.route-table-id" => Some(vec![t.id.clone()]),
                    "route.destination-cidr-block" => Some(
                        t.routes
                            .iter()
                            .filter(|r| matches!(r.destination, IpNet::V4(_)))
                            .map(|r| r.destination.to_string())
                            .collect(),
                    ),
                    "route.gateway-id" => Some(targets(|r| match r {
                        RouteTarget::Local => Some("local".into()),
                        RouteTarget::Gateway(g) => Some(g.clone()),
                        _ => None,
                    })),
                    "route.nat-gateway-id" => Some(targets(|r| match r {
                        RouteTarget::NatGateway(g) => Some(g.clone()),
                        _ => None,
                    })),
                    "route.state" => Some(t.routes.iter().map(|r| route_state(config, t, r).to_string()).collect()),
                    _ => None,
                }
            })
        })
        .map(|t| render(config, t))
        .collect();
    let (tables, next_token) = page(all, input.max_results, input.next_token.as_deref(), 5)?;
    Ok(DescribeOut { tables, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableIdInput {
    route_table_id: String,
}

pub fn delete(txn: &mut Txn, input: TableIdInput) -> Result<ReturnOut, AwsError> {
    let t = table(txn, &input.route_table_id)?;
    if !t.associations.is_empty() {
        return Err(AwsError::new(
            "DependencyViolation",
            400,
            format!("The routeTable '{}' has dependencies and cannot be deleted.", t.id),
        ));
    }
    txn.config.route_tables.remove(&t.id);
    txn.touch(Kind::RouteTable, &t.id);
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteInput {
    route_table_id: String,
    destination_cidr_block: Option<String>,
    destination_ipv6_cidr_block: Option<String>,
    gateway_id: Option<String>,
    nat_gateway_id: Option<String>,
    instance_id: Option<String>,
    network_interface_id: Option<String>,
}

fn destination(input: &RouteInput) -> Result<IpNet, AwsError> {
    match (&input.destination_cidr_block, &input.destination_ipv6_cidr_block) {
        (Some(c), _) => c.parse::<ipnet::Ipv4Net>().map(|n| IpNet::V4(n.trunc())).map_err(|_| {
            invalid(format!(
                "Value ({c}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
            ))
        }),
        (None, Some(c)) => c.parse::<ipnet::Ipv6Net>().map(|n| IpNet::V6(n.trunc())).map_err(|_| {
            invalid(format!(
                "Value ({c}) for parameter destinationIpv6CidrBlock is invalid. This is not a valid CIDR block."
            ))
        }),
        (None, None) => Err(missing("destinationCidrBlock")),
    }
}

/// The target a CreateRoute/ReplaceRoute names, checked to exist and to belong to the
/// table's VPC.
fn target(txn: &Txn, t: &RouteTable, input: &RouteInput) -> Result<RouteTarget, AwsError> {
    let different = |id: &str| {
        invalid(format!(
            "route table {} and network gateway {id} belong to different networks",
            t.id
        ))
    };
    if let Some(g) = &input.gateway_id {
        if g == "local" {
            return Ok(RouteTarget::Local);
        }
        let igw = txn
            .config
            .internet_gateways
            .get(g)
            .filter(|x| x.region == txn.region)
            .ok_or_else(|| not_found("InvalidGatewayID", "gateway ID", g))?;
        if igw.vpc_id.as_deref() != Some(t.vpc_id.as_str()) {
            return Err(different(g));
        }
        return Ok(RouteTarget::Gateway(g.clone()));
    }
    if let Some(n) = &input.nat_gateway_id {
        let nat = txn
            .config
            .nat_gateways
            .get(n)
            .filter(|x| x.region == txn.region)
            .ok_or_else(|| {
                AwsError::new(
                    "InvalidNatGatewayID.NotFound",
                    400,
                    format!("The natGateway ID '{n}' does not exist"),
                )
            })?;
        if nat.vpc_id != t.vpc_id {
            return Err(different(n));
        }
        return Ok(RouteTarget::NatGateway(n.clone()));
    }
    if let Some(i) = &input.instance_id {
        let inst = super::instances::instance(txn, i)?;
        if inst.vpc_id != t.vpc_id {
            return Err(different(i));
        }
        return Ok(RouteTarget::Instance(i.clone()));
    }
    if let Some(e) = &input.network_interface_id {
        let eni = super::interfaces::interface(txn, e)?;
        if eni.vpc_id != t.vpc_id {
            return Err(different(e));
        }
        return Ok(RouteTarget::NetworkInterface(e.clone()));
    }
    Err(missing("gatewayId"))
}

pub fn create_route(txn: &mut Txn, input: RouteInput) -> Result<ReturnOut, AwsError> {
    let t = table(txn, &input.route_table_id)?;
    let dest = destination(&input)?;
    let target = target(txn, &t, &input)?;
    if t.routes.iter().any(|r| r.destination == dest) {
        return Err(AwsError::new(
            "RouteAlreadyExists",
            400,
            format!("The route identified by {dest} already exists."),
        ));
    }
    let mut t = (*t).clone();
    t.routes.push(Route {
        destination: dest,
        target,
        origin: "CreateRoute".into(),
    });
    put(txn, t);
    Ok(OK)
}

fn route_not_found(t: &RouteTable, dest: &IpNet) -> AwsError {
    let key = if matches!(dest, IpNet::V4(_)) {
        "destination-cidr-block"
    } else {
        "destination-ipv6-cidr-block"
    };
    AwsError::new(
        "InvalidRoute.NotFound",
        400,
        format!("no route with {key} {dest} in route table {}", t.id),
    )
}

pub fn replace_route(txn: &mut Txn, input: RouteInput) -> Result<ReturnOut, AwsError> {
    let t = table(txn, &input.route_table_id)?;
    let dest = destination(&input)?;
    let target = target(txn, &t, &input)?;
    let Some(pos) = t.routes.iter().position(|r| r.destination == dest) else {
        return Err(route_not_found(&t, &dest));
    };
    let mut t = (*t).clone();
    t.routes[pos].target = target;
    t.routes[pos].origin = "CreateRoute".into();
    put(txn, t);
    Ok(OK)
}

pub fn delete_route(txn: &mut Txn, input: RouteInput) -> Result<ReturnOut, AwsError> {
    let t = table(txn, &input.route_table_id)?;
    let dest = destination(&input)?;
    let Some(pos) = t.routes.iter().position(|r| r.destination == dest) else {
        return Err(route_not_found(&t, &dest));
    };
    if t.routes[pos].target == RouteTarget::Local {
        return Err(invalid(format!(
            "cannot remove local route {dest} in route table {}",
            t.id
        )));
    }
    let mut t = (*t).clone();
    t.routes.remove(pos);
    put(txn, t);
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssociateInput {
    route_table_id: String,
    subnet_id: Option<String>,
}

#[derive(Serialize)]
pub struct AssociateOut {
    #[serde(rename = "associationId")]
    association_id: String,
    #[serde(rename = "associationState")]
    state: AssociationStateOut,
}

pub fn associate(txn: &mut Txn, input: AssociateInput) -> Result<AssociateOut, AwsError> {
    let t = table(txn, &input.route_table_id)?;
    let subnet_id = input.subnet_id.ok_or_else(|| missing("subnetId"))?;
    let subnet = super::vpcs::subnet(txn, &subnet_id)?;
    if subnet.vpc_id != t.vpc_id {
        return Err(invalid(format!(
            "Route table {} and subnet {subnet_id} belong to different networks",
            t.id
        )));
    }
    if txn.config.route_tables.values().any(|o| {
        o.associations
            .iter()
            .any(|a| a.subnet_id.as_deref() == Some(subnet_id.as_str()))
    }) {
        return Err(AwsError::new(
            "Resource.AlreadyAssociated",
            400,
            format!(
                "the specified association for route table {} conflicts with an existing association",
                t.id
            ),
        ));
    }
    let mut t = (*t).clone();
    let id = ids::ec2("rtbassoc");
    t.associations.push(RouteTableAssociation {
        id: id.clone(),
        subnet_id: Some(subnet_id),
        main: false,
    });
    put(txn, t);
    Ok(AssociateOut {
        association_id: id,
        state: ASSOCIATED,
    })
}

fn association_owner(txn: &Txn, association_id: &str) -> Result<Arc<RouteTable>, AwsError> {
    txn.config
        .route_tables
        .values()
        .find(|t| t.region == txn.region && t.associations.iter().any(|a| a.id == association_id))
        .cloned()
        .ok_or_else(|| not_found("InvalidAssociationID", "association ID", association_id))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisassociateInput {
    association_id: String,
}

pub fn disassociate(txn: &mut Txn, input: DisassociateInput) -> Result<ReturnOut, AwsError> {
    let t = association_owner(txn, &input.association_id)?;
    if t.associations.iter().any(|a| a.id == input.association_id && a.main) {
        return Err(invalid(format!(
            "cannot disassociate the main route table association {}",
            input.association_id
        )));
    }
    let mut t = (*t).clone();
    t.associations.retain(|a| a.id != input.association_id);
    put(txn, t);
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplaceAssociationInput {
    association_id: String,
    route_table_id: String,
}

#[derive(Serialize)]
pub struct ReplaceAssociationOut {
    #[serde(rename = "newAssociationId")]
    association_id: String,
    #[serde(rename = "associationState")]
    state: AssociationStateOut,
}

/// ReplaceRouteTableAssociation: move a subnet's association, or make another table
/// the VPC's main one.
pub fn replace_association(txn: &mut Txn, input: ReplaceAssociationInput) -> Result<ReplaceAssociationOut, AwsError> {
    let old = association_owner(txn, &input.association_id)?;
    let new = table(txn, &input.route_table_id)?;
    if new.vpc_id != old.vpc_id {
        return Err(invalid(format!(
            "Route table {} and association {} belong to different networks",
            new.id, input.association_id
        )));
    }
    // association_owner found `old` by this very association.
    let assoc = old
        .associations
        .iter()
        .find(|a| a.id == input.association_id)
        .cloned()
        .expect("association of its owner");
    let mut old = (*old).clone();
    old.associations.retain(|a| a.id != assoc.id);
    put(txn, old);
    let mut new = (*txn.config.route_tables[&input.route_table_id]).clone();
    let id = ids::ec2("rtbassoc");
    new.associations.push(RouteTableAssociation {
        id: id.clone(),
        subnet_id: assoc.subnet_id,
        main: assoc.main,
    });
    put(txn, new);
    Ok(ReplaceAssociationOut {
        association_id: id,
        state: ASSOCIATED,
    })
}
