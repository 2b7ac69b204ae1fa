//! Security groups: create, describe, delete, and ingress rules. (Their evaluation
//! and enforcement on the data path are a later step.)

use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::ec2::RulePeer;
use fulmar_model::{Kind, SecurityGroup, SecurityGroupRule};

use super::filters::{self, FilterIn};
use super::{tag_set, tags_for, TagOut, TagSpecificationIn};
use crate::ids;
use crate::Txn;

fn group_not_found(id: &str) -> AwsError {
    AwsError::new("InvalidGroup.NotFound", 400, format!("The security group '{id}' does not exist"))
}

fn allow_all_egress() -> SecurityGroupRule {
    SecurityGroupRule {
        id: ids::ec2("sgr"),
        ip_protocol: "-1".into(),
        from_port: None,
        to_port: None,
        // 0.0.0.0/0 is a valid network; the literal cannot fail to parse.
        peer: RulePeer::Cidr("0.0.0.0/0".parse().expect("literal CIDR")),
        description: None,
    }
}

/// The `default` group of a new VPC: all traffic from its own members, all egress.
pub fn create_default_group(txn: &mut Txn, vpc_id: &str) {
    let id = ids::ec2("sg");
    let group = SecurityGroup {
        id: id.clone(),
        region: txn.region.clone(),
        name: "default".into(),
        description: "default VPC security group".into(),
        vpc_id: vpc_id.to_string(),
        owner_id: txn.account().to_string(),
        ingress: vec![SecurityGroupRule {
            id: ids::ec2("sgr"),
            ip_protocol: "-1".into(),
            from_port: None,
            to_port: None,
            peer: RulePeer::Group { group_id: id.clone(), user_id: txn.account().to_string() },
            description: None,
        }],
        egress: vec![allow_all_egress()],
        tags: Vec::new(),
    };
    txn.touch(Kind::SecurityGroup, &id);
    txn.config.security_groups.insert(id, Arc::new(group));
}

/// The id of a VPC's `default` group.
pub fn default_group_of(txn: &Txn, vpc_id: &str) -> Option<String> {
    txn.config.security_groups.values().find(|g| g.vpc_id == vpc_id && g.name == "default").map(|g| g.id.clone())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    group_name: Option<String>,
    group_description: Option<String>,
    vpc_id: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct CreateOut {
    #[serde(rename = "return")]
    ok: bool,
    #[serde(rename = "groupId")]
    group_id: String,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<CreateOut, AwsError> {
    let name = input.group_name.ok_or_else(|| AwsError::new("MissingParameter", 400, "The request must contain the parameter groupName"))?;
    let description = input
        .group_description
        .ok_or_else(|| AwsError::new("MissingParameter", 400, "The request must contain the parameter groupDescription"))?;
    if name.is_empty() || name.len() > 255 {
        return Err(AwsError::new("InvalidParameterValue", 400, "Group name must be between 1 and 255 characters"));
    }
    if name.starts_with("sg-") {
        return Err(AwsError::new("InvalidParameterValue", 400, "Group names may not be in the format sg-*"));
    }
    let vpc_id = match input.vpc_id {
        Some(v) => v,
        None => txn
            .config
            .vpcs
            .values()
            .find(|v| v.is_default && v.region == txn.region)
            .map(|v| v.id.clone())
            .ok_or_else(|| AwsError::new("VPCIdNotSpecified", 400, "No default VPC for this user"))?,
    };
    if !txn.config.vpcs.get(&vpc_id).is_some_and(|v| v.region == txn.region) {
        return Err(AwsError::new("InvalidVpcID.NotFound", 400, format!("The vpc ID '{vpc_id}' does not exist")));
    }
    if txn.config.security_groups.values().any(|g| g.vpc_id == vpc_id && g.name == name) {
        return Err(AwsError::new(
            "InvalidGroup.Duplicate",
            400,
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    let group = SecurityGroup {
        id: ids::ec2("sg"),
        region: txn.region.clone(),
        name,
        description,
        vpc_id,
        owner_id: txn.account().to_string(),
        ingress: Vec::new(),
        egress: vec![allow_all_egress()],
        tags: tags_for(input.tag_specifications, "security-group"),
    };
    let out = CreateOut { ok: true, group_id: group.id.clone(), tags: tag_set(&group.tags) };
    txn.touch(Kind::SecurityGroup, &group.id);
    txn.config.security_groups.insert(group.id.clone(), Arc::new(group));
    Ok(out)
}

#[derive(Serialize)]
struct PermissionOut {
    #[serde(rename = "ipProtocol")]
    ip_protocol: String,
    #[serde(rename = "fromPort", skip_serializing_if = "Option::is_none")]
    from_port: Option<i32>,
    #[serde(rename = "toPort", skip_serializing_if = "Option::is_none")]
    to_port: Option<i32>,
    groups: Vec<GroupPairOut>,
    #[serde(rename = "ipRanges")]
    ip_ranges: Vec<RangeOut>,
    #[serde(rename = "ipv6Ranges")]
    ipv6_ranges: Vec<Range6Out>,
    #[serde(rename = "prefixListIds")]
    prefix_list_ids: Vec<PrefixListOut>,
}

#[derive(Serialize)]
struct GroupPairOut {
    #[serde(rename = "groupId")]
    group_id: String,
    #[serde(rename = "userId")]
    user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Serialize)]
struct RangeOut {
    #[serde(rename = "cidrIp")]
    cidr_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Serialize)]
struct Range6Out {
    #[serde(rename = "cidrIpv6")]
    cidr_ipv6: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Serialize)]
struct PrefixListOut {
    #[serde(rename = "prefixListId")]
    prefix_list_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// Group rules into IpPermissions the way EC2 shows them: one permission per
/// (protocol, from, to), its peers listed inside.
fn permissions(rules: &[SecurityGroupRule]) -> Vec<PermissionOut> {
    let mut out: Vec<PermissionOut> = Vec::new();
    for r in rules {
        let idx = match out.iter().position(|p| p.ip_protocol == r.ip_protocol && p.from_port == r.from_port && p.to_port == r.to_port) {
            Some(i) => i,
            None => {
                out.push(PermissionOut {
                    ip_protocol: r.ip_protocol.clone(),
                    from_port: r.from_port,
                    to_port: r.to_port,
                    groups: Vec::new(),
                    ip_ranges: Vec::new(),
                    ipv6_ranges: Vec::new(),
                    prefix_list_ids: Vec::new(),
                });
                out.len() - 1
            }
        };
        let p = &mut out[idx];
        let description = r.description.clone();
        match &r.peer {
            RulePeer::Cidr(IpNet::V4(n)) => p.ip_ranges.push(RangeOut { cidr_ip: n.to_string(), description }),
            RulePeer::Cidr(IpNet::V6(n)) => p.ipv6_ranges.push(Range6Out { cidr_ipv6: n.to_string(), description }),
            RulePeer::Group { group_id, user_id } => p.groups.push(GroupPairOut { group_id: group_id.clone(), user_id: user_id.clone(), description }),
            RulePeer::PrefixList(id) => p.prefix_list_ids.push(PrefixListOut { prefix_list_id: id.clone(), description }),
        }
    }
    out
}

#[derive(Serialize)]
struct GroupOut {
    #[serde(rename = "ownerId")]
    owner_id: String,
    #[serde(rename = "groupId")]
    group_id: String,
    #[serde(rename = "groupName")]
    group_name: String,
    #[serde(rename = "groupDescription")]
    description: String,
    #[serde(rename = "vpcId")]
    vpc_id: String,
    #[serde(rename = "securityGroupArn")]
    arn: String,
    #[serde(rename = "ipPermissions")]
    ingress: Vec<PermissionOut>,
    #[serde(rename = "ipPermissionsEgress")]
    egress: Vec<PermissionOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "GroupId")]
    group_ids: Vec<String>,
    #[serde(default, rename = "GroupName")]
    group_names: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "securityGroupInfo")]
    groups: Vec<GroupOut>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    let mine = |g: &SecurityGroup| g.region == txn.region;
    for id in &input.group_ids {
        if !txn.config.security_groups.get(id).is_some_and(|g| mine(g)) {
            return Err(group_not_found(id));
        }
    }
    for name in &input.group_names {
        if !txn.config.security_groups.values().any(|g| mine(g) && &g.name == name) {
            return Err(group_not_found(name));
        }
    }
    let groups = txn
        .config
        .security_groups
        .values()
        .filter(|g| mine(g))
        .filter(|g| input.group_ids.is_empty() || input.group_ids.contains(&g.id))
        .filter(|g| input.group_names.is_empty() || input.group_names.contains(&g.name))
        .filter(|g| {
            filters::matches(&input.filters, &g.tags, |name| match name {
                "group-id" => Some(vec![g.id.clone()]),
                "group-name" => Some(vec![g.name.clone()]),
                "vpc-id" => Some(vec![g.vpc_id.clone()]),
                "description" => Some(vec![g.description.clone()]),
                "owner-id" => Some(vec![g.owner_id.clone()]),
                _ => None,
            })
        })
        .map(|g| GroupOut {
            owner_id: g.owner_id.clone(),
            group_id: g.id.clone(),
            group_name: g.name.clone(),
            description: g.description.clone(),
            vpc_id: g.vpc_id.clone(),
            arn: format!("arn:aws:ec2:{}:{}:security-group/{}", g.region, g.owner_id, g.id),
            ingress: permissions(&g.ingress),
            egress: permissions(&g.egress),
            tags: tag_set(&g.tags),
        })
        .collect();
    Ok(DescribeOut { groups })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    group_id: Option<String>,
    group_name: Option<String>,
}

pub fn delete(txn: &mut Txn, input: DeleteInput) -> Result<super::ReturnOut, AwsError> {
    let group = find_group(txn, input.group_id, input.group_name)?;
    if group.name == "default" {
        return Err(AwsError::new("CannotDelete", 400, format!("the specified group: \"{}\" name: \"default\" cannot be deleted by a user", group.id)));
    }
    let used_by_lb = txn.config.load_balancers.values().any(|lb| lb.security_groups.contains(&group.id));
    let referenced = txn.config.security_groups.values().any(|g| {
        g.id != group.id
            && g.ingress.iter().chain(&g.egress).any(|r| matches!(&r.peer, RulePeer::Group { group_id, .. } if *group_id == group.id))
    });
    if used_by_lb || referenced {
        return Err(AwsError::new(
            "DependencyViolation",
            400,
            format!("resource {} has a dependent object", group.id),
        ));
    }
    txn.config.security_groups.remove(&group.id);
    txn.touch(Kind::SecurityGroup, &group.id);
    Ok(super::OK)
}

fn find_group(txn: &Txn, id: Option<String>, name: Option<String>) -> Result<Arc<SecurityGroup>, AwsError> {
    match (id, name) {
        (Some(id), _) => txn.config.security_groups.get(&id).filter(|g| g.region == txn.region).cloned().ok_or_else(|| group_not_found(&id)),
        (None, Some(name)) => {
            let default_vpc = txn.config.vpcs.values().find(|v| v.is_default && v.region == txn.region).map(|v| v.id.clone());
            txn.config
                .security_groups
                .values()
                .find(|g| g.region == txn.region && g.name == name && Some(&g.vpc_id) == default_vpc.as_ref())
                .cloned()
                .ok_or_else(|| group_not_found(&name))
        }
        (None, None) => Err(AwsError::new("MissingParameter", 400, "The request must contain the parameter groupId or groupName")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionIn {
    ip_protocol: Option<String>,
    from_port: Option<i32>,
    to_port: Option<i32>,
    #[serde(default)]
    ip_ranges: Vec<IpRangeIn>,
    #[serde(default)]
    ipv6_ranges: Vec<Ipv6RangeIn>,
    /// `UserIdGroupPairs`, whose wire name in the ec2 protocol is `Groups`.
    #[serde(default, rename = "Groups")]
    user_id_group_pairs: Vec<GroupPairIn>,
    #[serde(default)]
    prefix_list_ids: Vec<PrefixListIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpRangeIn {
    cidr_ip: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipv6RangeIn {
    cidr_ipv6: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupPairIn {
    group_id: Option<String>,
    user_id: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrefixListIn {
    prefix_list_id: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizeInput {
    group_id: Option<String>,
    group_name: Option<String>,
    #[serde(default)]
    ip_permissions: Vec<PermissionIn>,
    ip_protocol: Option<String>,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ip: Option<String>,
}

#[derive(Serialize)]
pub struct AuthorizeOut {
    #[serde(rename = "return")]
    ok: bool,
    #[serde(rename = "securityGroupRuleSet")]
    rules: Vec<RuleOut>,
}

#[derive(Serialize)]
struct RuleOut {
    #[serde(rename = "securityGroupRuleId")]
    id: String,
    #[serde(rename = "groupId")]
    group_id: String,
    #[serde(rename = "groupOwnerId")]
    owner_id: String,
    #[serde(rename = "isEgress")]
    is_egress: bool,
    #[serde(rename = "ipProtocol")]
    ip_protocol: String,
    #[serde(rename = "fromPort")]
    from_port: i32,
    #[serde(rename = "toPort")]
    to_port: i32,
    #[serde(rename = "cidrIpv4", skip_serializing_if = "Option::is_none")]
    cidr_ipv4: Option<String>,
    #[serde(rename = "cidrIpv6", skip_serializing_if = "Option::is_none")]
    cidr_ipv6: Option<String>,
    #[serde(rename = "referencedGroupInfo", skip_serializing_if = "Option::is_none")]
    referenced: Option<ReferencedOut>,
    #[serde(rename = "prefixListId", skip_serializing_if = "Option::is_none")]
    prefix_list_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Serialize)]
struct ReferencedOut {
    #[serde(rename = "groupId")]
    group_id: String,
    #[serde(rename = "userId")]
    user_id: String,
}

/// Normalise a protocol as EC2 echoes it: names lowercased, `all`/`-1` as `-1`, numbers for others.
fn protocol(p: &str) -> Result<String, AwsError> {
    let lower = p.to_ascii_lowercase();
    match lower.as_str() {
        "tcp" | "6" => Ok("tcp".into()),
        "udp" | "17" => Ok("udp".into()),
        "icmp" | "1" => Ok("icmp".into()),
        "icmpv6" | "58" => Ok("icmpv6".into()),
        "-1" | "all" => Ok("-1".into()),
        n if n.parse::<u8>().is_ok() => Ok(n.into()),
        _ => Err(AwsError::new("InvalidParameterValue", 400, format!("Invalid value '{p}' for IP protocol. Unknown protocol."))),
    }
}

pub fn authorize_ingress(txn: &mut Txn, input: AuthorizeInput) -> Result<AuthorizeOut, AwsError> {
    let group = find_group(txn, input.group_id, input.group_name)?;
    let mut perms = input.ip_permissions;
    if let Some(cidr) = input.cidr_ip {
        perms.push(PermissionIn {
            ip_protocol: input.ip_protocol,
            from_port: input.from_port,
            to_port: input.to_port,
            ip_ranges: vec![IpRangeIn { cidr_ip: cidr, description: None }],
            ipv6_ranges: Vec::new(),
            user_id_group_pairs: Vec::new(),
            prefix_list_ids: Vec::new(),
        });
    }
    if perms.is_empty() {
        return Err(AwsError::new("MissingParameter", 400, "No IP permissions specified"));
    }
    let mut new_rules = Vec::new();
    for p in perms {
        let proto = protocol(p.ip_protocol.as_deref().ok_or_else(|| AwsError::new("MissingParameter", 400, "The request must contain the parameter ipProtocol"))?)?;
        let (from, to) = match proto.as_str() {
            "tcp" | "udp" => {
                let (f, t) = (p.from_port.unwrap_or(-1), p.to_port.unwrap_or(-1));
                if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) || f > t {
                    return Err(AwsError::new("InvalidParameterValue", 400, format!("Invalid port range: from {f} to {t}")));
                }
                (Some(f), Some(t))
            }
            "-1" => (None, None),
            _ => (Some(p.from_port.unwrap_or(-1)), Some(p.to_port.unwrap_or(-1))),
        };
        let mut peers: Vec<(RulePeer, Option<String>)> = Vec::new();
        for r in p.ip_ranges {
            let net: ipnet::Ipv4Net = r.cidr_ip.parse().map_err(|_| AwsError::new("InvalidParameterValue", 400, format!("CIDR block {} is malformed", r.cidr_ip)))?;
            peers.push((RulePeer::Cidr(IpNet::V4(net.trunc())), r.description));
        }
        for r in p.ipv6_ranges {
            let net: ipnet::Ipv6Net = r.cidr_ipv6.parse().map_err(|_| AwsError::new("InvalidParameterValue", 400, format!("CIDR block {} is malformed", r.cidr_ipv6)))?;
            peers.push((RulePeer::Cidr(IpNet::V6(net.trunc())), r.description));
        }
        for g in p.user_id_group_pairs {
            let gid = g.group_id.ok_or_else(|| AwsError::new("MissingParameter", 400, "The request must contain the parameter groupId"))?;
            match txn.config.security_groups.get(&gid) {
                Some(other) if other.vpc_id == group.vpc_id => {}
                Some(_) => return Err(AwsError::new("InvalidGroup.NotFound", 400, format!("You have specified two resources that belong to different networks: {gid}"))),
                None => return Err(group_not_found(&gid)),
            }
            peers.push((RulePeer::Group { group_id: gid, user_id: g.user_id.unwrap_or_else(|| txn.account().to_string()) }, g.description));
        }
        for pl in p.prefix_list_ids {
            peers.push((RulePeer::PrefixList(pl.prefix_list_id), pl.description));
        }
        for (peer, description) in peers {
            let duplicate = group.ingress.iter().chain(new_rules.iter()).any(|r: &SecurityGroupRule| r.ip_protocol == proto && r.from_port == from && r.to_port == to && r.peer == peer);
            if duplicate {
                return Err(AwsError::new(
                    "InvalidPermission.Duplicate",
                    400,
                    format!("the specified rule \"peer: {}, {}, from port: {}, to port: {}, ALLOW\" already exists", peer_text(&peer), proto.to_uppercase(), from.unwrap_or(-1), to.unwrap_or(-1)),
                ));
            }
            new_rules.push(SecurityGroupRule { id: ids::ec2("sgr"), ip_protocol: proto.clone(), from_port: from, to_port: to, peer, description });
        }
    }
    let out: Vec<RuleOut> = new_rules
        .iter()
        .map(|r| RuleOut {
            id: r.id.clone(),
            group_id: group.id.clone(),
            owner_id: group.owner_id.clone(),
            is_egress: false,
            ip_protocol: r.ip_protocol.clone(),
            from_port: r.from_port.unwrap_or(-1),
            to_port: r.to_port.unwrap_or(-1),
            cidr_ipv4: match &r.peer {
                RulePeer::Cidr(IpNet::V4(n)) => Some(n.to_string()),
                _ => None,
            },
            cidr_ipv6: match &r.peer {
                RulePeer::Cidr(IpNet::V6(n)) => Some(n.to_string()),
                _ => None,
            },
            referenced: match &r.peer {
                RulePeer::Group { group_id, user_id } => Some(ReferencedOut { group_id: group_id.clone(), user_id: user_id.clone() }),
                _ => None,
            },
            prefix_list_id: match &r.peer {
                RulePeer::PrefixList(id) => Some(id.clone()),
                _ => None,
            },
            description: r.description.clone(),
        })
        .collect();
    let mut g = (*group).clone();
    g.ingress.extend(new_rules);
    txn.touch(Kind::SecurityGroup, &g.id);
    txn.config.security_groups.insert(g.id.clone(), Arc::new(g));
    Ok(AuthorizeOut { ok: true, rules: out })
}

fn peer_text(peer: &RulePeer) -> String {
    match peer {
        RulePeer::Cidr(n) => n.to_string(),
        RulePeer::Group { group_id, .. } => group_id.clone(),
        RulePeer::PrefixList(id) => id.clone(),
    }
}
