//! Security groups: create, describe, delete, the default group of every VPC, and
//! the IpPermissions view of their rules (the rules themselves live in `rules`).

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

pub fn group_not_found(id: &str) -> AwsError {
    AwsError::new(
        "InvalidGroup.NotFound",
        400,
        format!("The security group '{id}' does not exist"),
    )
}

/// The egress rules of a new group: all traffic to 0.0.0.0/0, and to ::/0 in a VPC
/// with an IPv6 block.
fn allow_all_egress(txn: &Txn, vpc_id: &str) -> Vec<SecurityGroupRule> {
    let ipv6 = txn.config.vpcs.get(vpc_id).is_some_and(|v| v.ipv6_cidr_block.is_some());
    // Both literals are valid networks; they cannot fail to parse.
    let mut peers: Vec<IpNet> = vec!["0.0.0.0/0".parse().expect("literal CIDR")];
    if ipv6 {
        peers.push("::/0".parse().expect("literal CIDR"));
    }
    peers
        .into_iter()
        .map(|net| SecurityGroupRule {
            id: ids::ec2("sgr"),
            ip_protocol: "-1".into(),
            from_port: None,
            to_port: None,
            peer: RulePeer::Cidr(net),
            description: None,
            tags: Vec::new(),
        })
        .collect()
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
            peer: RulePeer::Group {
                group_id: id.clone(),
                user_id: txn.account().to_string(),
            },
            description: None,
            tags: Vec::new(),
        }],
        egress: allow_all_egress(txn, vpc_id),
        tags: Vec::new(),
    };
    txn.touch(Kind::SecurityGroup, &id);
    txn.config.security_groups.insert(id, Arc::new(group));
}

/// The id of a VPC's `default` group.
pub fn default_group_of(txn: &Txn, vpc_id: &str) -> Option<String> {
    txn.config
        .security_groups
        .values()
        .find(|g| g.vpc_id == vpc_id && g.name == "default")
        .map(|g| g.id.clone())
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
    #[serde(rename = "securityGroupArn")]
    arn: String,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<CreateOut, AwsError> {
    let name = input.group_name.ok_or_else(|| {
        AwsError::new(
            "MissingParameter",
            400,
            "The request must contain the parameter groupName",
        )
    })?;
    let description = input.group_description.filter(|d| !d.is_empty()).ok_or_else(|| {
        AwsError::new(
            "MissingParameter",
            400,
            "The request must contain the parameter groupDescription",
        )
    })?;
    if name.is_empty() || name.len() > 255 {
        return Err(AwsError::new(
            "InvalidParameterValue",
            400,
            "Group name must be between 1 and 255 characters",
        ));
    }
    if name.starts_with("sg-") {
        return Err(AwsError::new(
            "InvalidParameterValue",
            400,
            "Group names may not be in the format sg-*",
        ));
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
    if txn.config.vpcs.get(&vpc_id).is_none_or(|v| v.region != txn.region) {
        return Err(AwsError::new(
            "InvalidVpcID.NotFound",
            400,
            format!("The vpc ID '{vpc_id}' does not exist"),
        ));
    }
    if txn
        .config
        .security_groups
        .values()
        .any(|g| g.vpc_id == vpc_id && g.name == name)
    {
        return Err(AwsError::new(
            "InvalidGroup.Duplicate",
            400,
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    super::check_tag_specs(&input.tag_specifications, &["security-group"])?;
    let group = SecurityGroup {
        id: ids::ec2("sg"),
        region: txn.region.clone(),
        name,
        description,
        egress: allow_all_egress(txn, &vpc_id),
        vpc_id,
        owner_id: txn.account().to_string(),
        ingress: Vec::new(),
        tags: tags_for(&input.tag_specifications, "security-group"),
    };
    let out = CreateOut {
        ok: true,
        group_id: group.id.clone(),
        tags: tag_set(&group.tags),
        arn: group_arn(&group),
    };
    txn.touch(Kind::SecurityGroup, &group.id);
    txn.config.security_groups.insert(group.id.clone(), Arc::new(group));
    Ok(out)
}

fn group_arn(g: &SecurityGroup) -> String {
    format!("arn:aws:ec2:{}:{}:security-group/{}", g.region, g.owner_id, g.id)
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
        let idx = match out
            .iter()
            .position(|p| p.ip_protocol == r.ip_protocol && p.from_port == r.from_port && p.to_port == r.to_port)
        {
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
            RulePeer::Cidr(IpNet::V4(n)) => p.ip_ranges.push(RangeOut {
                cidr_ip: n.to_string(),
                description,
            }),
            RulePeer::Cidr(IpNet::V6(n)) => p.ipv6_ranges.push(Range6Out {
                cidr_ipv6: n.to_string(),
                description,
            }),
            RulePeer::Group { group_id, user_id } => p.groups.push(GroupPairOut {
                group_id: group_id.clone(),
                user_id: user_id.clone(),
                description,
            }),
            RulePeer::PrefixList(id) => p.prefix_list_ids.push(PrefixListOut {
                prefix_list_id: id.clone(),
                description,
            }),
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
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "securityGroupInfo")]
    groups: Vec<GroupOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
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
    let groups: Vec<GroupOut> = txn
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
                other => {
                    let (rules, key) = match other.strip_prefix("egress.") {
                        Some(rest) => (&g.egress, rest),
                        None => (&g.ingress, other),
                    };
                    permission_field(rules, key.strip_prefix("ip-permission.")?)
                }
            })
        })
        .map(|g| GroupOut {
            owner_id: g.owner_id.clone(),
            group_id: g.id.clone(),
            group_name: g.name.clone(),
            description: g.description.clone(),
            vpc_id: g.vpc_id.clone(),
            arn: group_arn(g),
            ingress: permissions(&g.ingress),
            egress: permissions(&g.egress),
            tags: tag_set(&g.tags),
        })
        .collect();
    let (groups, next_token) = super::paging::page(groups, input.max_results, input.next_token.as_deref(), 5)?;
    Ok(DescribeOut { groups, next_token })
}

/// The values a group's rules have for an `ip-permission.*` filter.
fn permission_field(rules: &[SecurityGroupRule], key: &str) -> Option<Vec<String>> {
    let each = |f: &dyn Fn(&SecurityGroupRule) -> Option<String>| Some(rules.iter().filter_map(f).collect());
    match key {
        "protocol" => each(&|r| Some(r.ip_protocol.clone())),
        "from-port" => each(&|r| Some(r.from_port.unwrap_or(-1).to_string())),
        "to-port" => each(&|r| Some(r.to_port.unwrap_or(-1).to_string())),
        "cidr" => each(&|r| match &r.peer {
            RulePeer::Cidr(IpNet::V4(n)) => Some(n.to_string()),
            _ => None,
        }),
        "ipv6-cidr" => each(&|r| match &r.peer {
            RulePeer::Cidr(IpNet::V6(n)) => Some(n.to_string()),
            _ => None,
        }),
        "group-id" => each(&|r| match &r.peer {
            RulePeer::Group { group_id, .. } => Some(group_id.clone()),
            _ => None,
        }),
        // A VPC group's rules reference other groups by id only: EC2 keeps no name to match.
        "group-name" => Some(Vec::new()),
        "user-id" => each(&|r| match &r.peer {
            RulePeer::Group { user_id, .. } => Some(user_id.clone()),
            _ => None,
        }),
        "prefix-list-id" => each(&|r| match &r.peer {
            RulePeer::PrefixList(id) => Some(id.clone()),
            _ => None,
        }),
        _ => None,
    }
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
        return Err(AwsError::new(
            "CannotDelete",
            400,
            format!(
                "the specified group: \"{}\" name: \"default\" cannot be deleted by a user",
                group.id
            ),
        ));
    }
    let used_by_lb = txn
        .config
        .load_balancers
        .values()
        .any(|lb| lb.security_groups.contains(&group.id))
        || txn.config.interfaces_in_group(&group.id).next().is_some();
    let referenced = txn.config.security_groups.values().any(|g| {
        g.id != group.id
            && g.ingress
                .iter()
                .chain(&g.egress)
                .any(|r| matches!(&r.peer, RulePeer::Group { group_id, .. } if *group_id == group.id))
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

pub fn find_group(txn: &Txn, id: Option<String>, name: Option<String>) -> Result<Arc<SecurityGroup>, AwsError> {
    match (id, name) {
        (Some(id), _) => txn
            .config
            .security_groups
            .get(&id)
            .filter(|g| g.region == txn.region)
            .cloned()
            .ok_or_else(|| group_not_found(&id)),
        (None, Some(name)) => {
            let default_vpc = txn
                .config
                .vpcs
                .values()
                .find(|v| v.is_default && v.region == txn.region)
                .map(|v| v.id.clone());
            txn.config
                .security_groups
                .values()
                .find(|g| g.region == txn.region && g.name == name && Some(&g.vpc_id) == default_vpc.as_ref())
                .cloned()
                .ok_or_else(|| group_not_found(&name))
        }
        (None, None) => Err(AwsError::new(
            "MissingParameter",
            400,
            "The request must contain the parameter groupId or groupName",
        )),
    }
}
