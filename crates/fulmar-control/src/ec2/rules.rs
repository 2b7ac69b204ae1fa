//! Security group rules: Authorize/Revoke Ingress and Egress (by IpPermissions or by
//! rule id), DescribeSecurityGroupRules, ModifySecurityGroupRules and the description
//! updates. Each peer of an IpPermission is one rule with its own `sgr-` id; EC2
//! shows them merged back per (protocol, from, to) in DescribeSecurityGroups.

use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::ec2::RulePeer;
use fulmar_model::{Kind, SecurityGroup, SecurityGroupRule};

use super::filters::{self, FilterIn};
use super::paging::page;
use super::security_groups::{find_group, group_not_found};
use super::{check_tag_specs, invalid, missing, tag_set, tags_for, ReturnOut, TagOut, TagSpecificationIn, OK};
use crate::{ids, Txn};

/// Inbound (or outbound) rules per group and IP version (the default quota).
const MAX_RULES: usize = 60;

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
    group_name: Option<String>,
    user_id: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrefixListIn {
    prefix_list_id: String,
    description: Option<String>,
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
        _ => Err(invalid(format!(
            "Invalid value '{p}' for IP protocol. Unknown protocol."
        ))),
    }
}

/// The port range a protocol takes: tcp/udp need a valid range, `-1` none, icmp a
/// type and code (-1 for any).
fn ports(proto: &str, from: Option<i32>, to: Option<i32>) -> Result<(Option<i32>, Option<i32>), AwsError> {
    match proto {
        "tcp" | "udp" => {
            let (Some(f), Some(t)) = (from, to) else {
                return Err(invalid(
                    "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.",
                ));
            };
            if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) || f > t {
                return Err(invalid(format!("Invalid port range: from {f} to {t}")));
            }
            Ok((Some(f), Some(t)))
        }
        "-1" => Ok((None, None)),
        "icmp" | "icmpv6" => {
            let (f, t) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(-1..=255).contains(&f) || !(-1..=255).contains(&t) {
                return Err(invalid(format!("Invalid value for ICMP type {f} or code {t}")));
            }
            Ok((Some(f), Some(t)))
        }
        _ => Ok((from, to)),
    }
}

fn peer_text(peer: &RulePeer) -> String {
    match peer {
        RulePeer::Cidr(n) => n.to_string(),
        RulePeer::Group { group_id, .. } => group_id.clone(),
        RulePeer::PrefixList(id) => id.clone(),
    }
}

/// A group referenced as a rule's peer: it exists, in the group's VPC.
fn referenced_group(
    txn: &Txn,
    group: &SecurityGroup,
    id: Option<String>,
    name: Option<String>,
) -> Result<String, AwsError> {
    let found = match (id, name) {
        (Some(id), _) => txn
            .config
            .security_groups
            .get(&id)
            .filter(|g| g.region == txn.region)
            .cloned()
            .ok_or_else(|| group_not_found(&id))?,
        (None, Some(name)) => txn
            .config
            .security_groups
            .values()
            .find(|g| g.vpc_id == group.vpc_id && g.name == name)
            .cloned()
            .ok_or_else(|| group_not_found(&name))?,
        (None, None) => return Err(missing("groupId")),
    };
    if found.vpc_id != group.vpc_id {
        return Err(AwsError::new(
            "InvalidGroup.NotFound",
            400,
            format!(
                "You have specified two resources that belong to different networks: {}",
                found.id
            ),
        ));
    }
    Ok(found.id.clone())
}

/// The rules an IpPermissions list describes, one per peer (ids not yet assigned).
fn expand(txn: &Txn, group: &SecurityGroup, perms: Vec<PermissionIn>) -> Result<Vec<SecurityGroupRule>, AwsError> {
    let mut out = Vec::new();
    for p in perms {
        let proto = protocol(p.ip_protocol.as_deref().ok_or_else(|| missing("ipProtocol"))?)?;
        let (from, to) = ports(&proto, p.from_port, p.to_port)?;
        let mut peers: Vec<(RulePeer, Option<String>)> = Vec::new();
        for r in p.ip_ranges {
            let net: ipnet::Ipv4Net = r
                .cidr_ip
                .parse()
                .map_err(|_| invalid(format!("CIDR block {} is malformed", r.cidr_ip)))?;
            peers.push((RulePeer::Cidr(IpNet::V4(net.trunc())), r.description));
        }
        for r in p.ipv6_ranges {
            let net: ipnet::Ipv6Net = r
                .cidr_ipv6
                .parse()
                .map_err(|_| invalid(format!("CIDR block {} is malformed", r.cidr_ipv6)))?;
            peers.push((RulePeer::Cidr(IpNet::V6(net.trunc())), r.description));
        }
        for g in p.user_id_group_pairs {
            let gid = referenced_group(txn, group, g.group_id, g.group_name)?;
            peers.push((
                RulePeer::Group {
                    group_id: gid,
                    user_id: g.user_id.unwrap_or_else(|| txn.account().to_string()),
                },
                g.description,
            ));
        }
        for pl in p.prefix_list_ids {
            super::prefix_lists::get(txn, &pl.prefix_list_id)?;
            peers.push((RulePeer::PrefixList(pl.prefix_list_id), pl.description));
        }
        if peers.is_empty() {
            return Err(missing("ipRanges or groups"));
        }
        for (peer, description) in peers {
            out.push(SecurityGroupRule {
                id: String::new(),
                ip_protocol: proto.clone(),
                from_port: from,
                to_port: to,
                peer,
                description,
                tags: Vec::new(),
            });
        }
    }
    Ok(out)
}

/// Two rules allow the same traffic (descriptions and ids aside).
fn same_rule(a: &SecurityGroupRule, b: &SecurityGroupRule) -> bool {
    a.ip_protocol == b.ip_protocol
        && a.from_port == b.from_port
        && a.to_port == b.to_port
        && match (&a.peer, &b.peer) {
            (RulePeer::Group { group_id: x, .. }, RulePeer::Group { group_id: y, .. }) => x == y,
            (x, y) => x == y,
        }
}

fn duplicate(r: &SecurityGroupRule) -> AwsError {
    AwsError::new(
        "InvalidPermission.Duplicate",
        400,
        format!(
            "the specified rule \"peer: {}, {}, from port: {}, to port: {}, ALLOW\" already exists",
            peer_text(&r.peer),
            if r.ip_protocol == "-1" {
                "ALL".to_string()
            } else {
                r.ip_protocol.to_uppercase()
            },
            r.from_port.unwrap_or(-1),
            r.to_port.unwrap_or(-1)
        ),
    )
}

fn permission_not_found() -> AwsError {
    AwsError::new(
        "InvalidPermission.NotFound",
        400,
        "The specified rule does not exist in this security group.",
    )
}

fn rule_id_not_found(id: &str) -> AwsError {
    AwsError::new(
        "InvalidSecurityGroupRuleId.NotFound",
        400,
        format!("The security group rule ID '{id}' does not exist"),
    )
}

fn put(txn: &mut Txn, g: SecurityGroup) {
    txn.touch(Kind::SecurityGroup, &g.id);
    txn.config.security_groups.insert(g.id.clone(), Arc::new(g));
}

#[derive(Serialize)]
pub struct RuleOut {
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
    #[serde(rename = "securityGroupRuleArn")]
    arn: String,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

#[derive(Serialize)]
struct ReferencedOut {
    #[serde(rename = "groupId")]
    group_id: String,
    #[serde(rename = "userId")]
    user_id: String,
}

fn render_rule(g: &SecurityGroup, r: &SecurityGroupRule, is_egress: bool) -> RuleOut {
    RuleOut {
        id: r.id.clone(),
        group_id: g.id.clone(),
        owner_id: g.owner_id.clone(),
        is_egress,
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
            RulePeer::Group { group_id, user_id } => Some(ReferencedOut {
                group_id: group_id.clone(),
                user_id: user_id.clone(),
            }),
            _ => None,
        },
        prefix_list_id: match &r.peer {
            RulePeer::PrefixList(id) => Some(id.clone()),
            _ => None,
        },
        description: r.description.clone(),
        arn: format!("arn:aws:ec2:{}:{}:security-group-rule/{}", g.region, g.owner_id, r.id),
        tags: tag_set(&r.tags),
    }
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
    source_security_group_name: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

impl AuthorizeInput {
    /// The permissions, with the flat legacy members (`CidrIp`, `IpProtocol`, ...) as one more.
    fn permissions(self) -> Vec<PermissionIn> {
        let mut perms = self.ip_permissions;
        if self.cidr_ip.is_some() || self.source_security_group_name.is_some() {
            perms.push(PermissionIn {
                ip_protocol: self.ip_protocol.or(Some("-1".into())),
                from_port: self.from_port,
                to_port: self.to_port,
                ip_ranges: self
                    .cidr_ip
                    .into_iter()
                    .map(|c| IpRangeIn {
                        cidr_ip: c,
                        description: None,
                    })
                    .collect(),
                ipv6_ranges: Vec::new(),
                user_id_group_pairs: self
                    .source_security_group_name
                    .into_iter()
                    .map(|n| GroupPairIn {
                        group_id: None,
                        group_name: Some(n),
                        user_id: None,
                        description: None,
                    })
                    .collect(),
                prefix_list_ids: Vec::new(),
            });
        }
        perms
    }
}

#[derive(Serialize)]
pub struct AuthorizeOut {
    #[serde(rename = "return")]
    ok: bool,
    #[serde(rename = "securityGroupRuleSet")]
    rules: Vec<RuleOut>,
}

fn authorize(txn: &mut Txn, input: AuthorizeInput, egress: bool) -> Result<AuthorizeOut, AwsError> {
    let group = find_group(txn, input.group_id.clone(), input.group_name.clone())?;
    check_tag_specs(&input.tag_specifications, &["security-group-rule"])?;
    let tags = tags_for(&input.tag_specifications, "security-group-rule");
    let perms = input.permissions();
    if perms.is_empty() {
        return Err(missing("ipPermissions"));
    }
    let wanted = expand(txn, &group, perms)?;
    let mut g = (*group).clone();
    let mut added = Vec::new();
    for mut r in wanted {
        let existing = if egress { &g.egress } else { &g.ingress };
        if existing.iter().chain(added.iter()).any(|x| same_rule(x, &r)) {
            return Err(duplicate(&r));
        }
        r.id = ids::ec2("sgr");
        r.tags = tags.clone();
        added.push(r);
    }
    let list = if egress { &mut g.egress } else { &mut g.ingress };
    list.extend(added.iter().cloned());
    for v6 in [false, true] {
        if list
            .iter()
            .filter(|r| matches!(r.peer, RulePeer::Cidr(IpNet::V6(_))) == v6)
            .count()
            > MAX_RULES
        {
            return Err(AwsError::new(
                "RulesPerSecurityGroupLimitExceeded",
                400,
                "The maximum number of rules per security group has been reached.",
            ));
        }
    }
    let rules = added.iter().map(|r| render_rule(&g, r, egress)).collect();
    put(txn, g);
    Ok(AuthorizeOut { ok: true, rules })
}

pub fn authorize_ingress(txn: &mut Txn, input: AuthorizeInput) -> Result<AuthorizeOut, AwsError> {
    authorize(txn, input, false)
}

pub fn authorize_egress(txn: &mut Txn, input: AuthorizeInput) -> Result<AuthorizeOut, AwsError> {
    authorize(txn, input, true)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeInput {
    group_id: Option<String>,
    group_name: Option<String>,
    #[serde(default)]
    ip_permissions: Vec<PermissionIn>,
    ip_protocol: Option<String>,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ip: Option<String>,
    source_security_group_name: Option<String>,
    #[serde(default, rename = "SecurityGroupRuleId")]
    rule_ids: Vec<String>,
}

#[derive(Serialize)]
pub struct RevokeOut {
    #[serde(rename = "return")]
    ok: bool,
    #[serde(rename = "revokedSecurityGroupRuleSet")]
    revoked: Vec<RevokedOut>,
}

#[derive(Serialize)]
struct RevokedOut {
    #[serde(rename = "securityGroupRuleId")]
    id: String,
    #[serde(rename = "groupId")]
    group_id: String,
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
    #[serde(rename = "referencedSecurityGroupId", skip_serializing_if = "Option::is_none")]
    referenced: Option<String>,
    #[serde(rename = "prefixListId", skip_serializing_if = "Option::is_none")]
    prefix_list_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

fn revoke(txn: &mut Txn, input: RevokeInput, egress: bool) -> Result<RevokeOut, AwsError> {
    let group = find_group(txn, input.group_id.clone(), input.group_name.clone())?;
    let rule_ids = input.rule_ids;
    let perms = AuthorizeInput {
        group_id: None,
        group_name: None,
        ip_permissions: input.ip_permissions,
        ip_protocol: input.ip_protocol,
        from_port: input.from_port,
        to_port: input.to_port,
        cidr_ip: input.cidr_ip,
        source_security_group_name: input.source_security_group_name,
        tag_specifications: Vec::new(),
    }
    .permissions();
    if perms.is_empty() && rule_ids.is_empty() {
        return Err(missing("ipPermissions"));
    }
    let mut g = (*group).clone();
    let list = if egress { &mut g.egress } else { &mut g.ingress };
    let mut gone: Vec<SecurityGroupRule> = Vec::new();
    for id in &rule_ids {
        let pos = list
            .iter()
            .position(|r| &r.id == id)
            .ok_or_else(|| rule_id_not_found(id))?;
        gone.push(list.remove(pos));
    }
    let wanted = expand(txn, &group, perms)?;
    let list = if egress { &mut g.egress } else { &mut g.ingress };
    for w in &wanted {
        match list.iter().position(|r| same_rule(r, w)) {
            Some(pos) => gone.push(list.remove(pos)),
            None => return Err(permission_not_found()),
        }
    }
    let revoked = gone
        .iter()
        .map(|r| {
            let o = render_rule(&g, r, egress);
            RevokedOut {
                id: o.id,
                group_id: o.group_id,
                is_egress: egress,
                ip_protocol: o.ip_protocol,
                from_port: o.from_port,
                to_port: o.to_port,
                cidr_ipv4: o.cidr_ipv4,
                cidr_ipv6: o.cidr_ipv6,
                referenced: o.referenced.map(|x| x.group_id),
                prefix_list_id: o.prefix_list_id,
                description: o.description,
            }
        })
        .collect();
    put(txn, g);
    Ok(RevokeOut { ok: true, revoked })
}

pub fn revoke_ingress(txn: &mut Txn, input: RevokeInput) -> Result<RevokeOut, AwsError> {
    revoke(txn, input, false)
}

pub fn revoke_egress(txn: &mut Txn, input: RevokeInput) -> Result<RevokeOut, AwsError> {
    revoke(txn, input, true)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRulesInput {
    #[serde(default, rename = "SecurityGroupRuleId")]
    rule_ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeRulesOut {
    #[serde(rename = "securityGroupRuleSet")]
    rules: Vec<RuleOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe_rules(txn: &mut Txn, input: DescribeRulesInput) -> Result<DescribeRulesOut, AwsError> {
    let groups: Vec<&Arc<SecurityGroup>> = txn
        .config
        .security_groups
        .values()
        .filter(|g| g.region == txn.region)
        .collect();
    let all_rules: Vec<(&SecurityGroup, &SecurityGroupRule, bool)> = groups
        .iter()
        .flat_map(|g| {
            g.egress
                .iter()
                .map(move |r| (&***g, r, true))
                .chain(g.ingress.iter().map(move |r| (&***g, r, false)))
        })
        .collect();
    if let Some(bad) = filters::values(&input.filters, "group-id").find(|v| !v.starts_with("sg-")) {
        return Err(AwsError::new(
            "InvalidGroupId.Malformed",
            400,
            format!("The security group ID '{bad}' is malformed"),
        ));
    }
    for id in &input.rule_ids {
        if !all_rules.iter().any(|(_, r, _)| &r.id == id) {
            return Err(rule_id_not_found(id));
        }
    }
    let selected: Vec<RuleOut> = all_rules
        .into_iter()
        .filter(|(_, r, _)| input.rule_ids.is_empty() || input.rule_ids.contains(&r.id))
        .filter(|(g, r, _)| {
            filters::matches(&input.filters, &r.tags, |name| match name {
                "group-id" => Some(vec![g.id.clone()]),
                "security-group-rule-id" => Some(vec![r.id.clone()]),
                _ => None,
            })
        })
        .map(|(g, r, egress)| render_rule(g, r, egress))
        .collect();
    let (rules, next_token) = page(selected, input.max_results, input.next_token.as_deref(), 5)?;
    Ok(DescribeRulesOut { rules, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleRequestIn {
    ip_protocol: Option<String>,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ipv4: Option<String>,
    cidr_ipv6: Option<String>,
    prefix_list_id: Option<String>,
    referenced_group_id: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleUpdateIn {
    security_group_rule_id: String,
    security_group_rule: Option<RuleRequestIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyRulesInput {
    group_id: String,
    #[serde(default, rename = "SecurityGroupRule")]
    rules: Vec<RuleUpdateIn>,
}

pub fn modify_rules(txn: &mut Txn, input: ModifyRulesInput) -> Result<ReturnOut, AwsError> {
    let group = find_group(txn, Some(input.group_id), None)?;
    let mut g = (*group).clone();
    for u in input.rules {
        let req = u.security_group_rule.ok_or_else(|| missing("SecurityGroupRule"))?;
        let egress = g.egress.iter().any(|r| r.id == u.security_group_rule_id);
        if !egress && !g.ingress.iter().any(|r| r.id == u.security_group_rule_id) {
            return Err(rule_id_not_found(&u.security_group_rule_id));
        }
        let proto = req.ip_protocol.as_deref().ok_or_else(|| {
            invalid("Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly.")
        })?;
        if matches!(protocol(proto)?.as_str(), "tcp" | "udp") && (req.from_port.is_none() || req.to_port.is_none()) {
            return Err(invalid(
                "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.",
            ));
        }
        let peers = [
            req.cidr_ipv4.is_some(),
            req.cidr_ipv6.is_some(),
            req.prefix_list_id.is_some(),
            req.referenced_group_id.is_some(),
        ]
        .into_iter()
        .filter(|given| *given)
        .count();
        if peers == 0 {
            return Err(AwsError::new(
                "MissingParameter",
                400,
                "The request must contain exactly one of: cidrIp, cidrIpv6, prefixListId, or referencedGroupId",
            ));
        }
        if peers > 1 {
            return Err(AwsError::new(
                "InvalidParameterCombination",
                400,
                "Only one of cidrIp, cidrIpv6, prefixListId, or referencedGroupId can be specified",
            ));
        }
        let perm = PermissionIn {
            ip_protocol: req.ip_protocol,
            from_port: req.from_port,
            to_port: req.to_port,
            ip_ranges: req
                .cidr_ipv4
                .into_iter()
                .map(|c| IpRangeIn {
                    cidr_ip: c,
                    description: req.description.clone(),
                })
                .collect(),
            ipv6_ranges: req
                .cidr_ipv6
                .into_iter()
                .map(|c| Ipv6RangeIn {
                    cidr_ipv6: c,
                    description: req.description.clone(),
                })
                .collect(),
            user_id_group_pairs: req
                .referenced_group_id
                .into_iter()
                .map(|id| GroupPairIn {
                    group_id: Some(id),
                    group_name: None,
                    user_id: None,
                    description: req.description.clone(),
                })
                .collect(),
            prefix_list_ids: req
                .prefix_list_id
                .into_iter()
                .map(|p| PrefixListIn {
                    prefix_list_id: p,
                    description: req.description.clone(),
                })
                .collect(),
        };
        let mut new = expand(txn, &g, vec![perm])?;
        if new.len() != 1 {
            return Err(invalid(
                "A security group rule must have exactly one source or destination.",
            ));
        }
        let mut rule = new.remove(0);
        rule.id = u.security_group_rule_id.clone();
        let list = if egress { &mut g.egress } else { &mut g.ingress };
        if let Some(old) = list.iter().find(|r| r.id == rule.id) {
            rule.tags = old.tags.clone();
        }
        if list.iter().any(|r| r.id != rule.id && same_rule(r, &rule)) {
            return Err(duplicate(&rule));
        }
        if let Some(slot) = list.iter_mut().find(|r| r.id == rule.id) {
            *slot = rule;
        }
    }
    put(txn, g);
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleDescriptionIn {
    security_group_rule_id: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateDescriptionsInput {
    group_id: Option<String>,
    group_name: Option<String>,
    #[serde(default)]
    ip_permissions: Vec<PermissionIn>,
    #[serde(default, rename = "SecurityGroupRuleDescription")]
    rule_descriptions: Vec<RuleDescriptionIn>,
}

fn update_descriptions(txn: &mut Txn, input: UpdateDescriptionsInput, egress: bool) -> Result<ReturnOut, AwsError> {
    let group = find_group(txn, input.group_id, input.group_name)?;
    let wanted = expand(txn, &group, input.ip_permissions)?;
    let mut g = (*group).clone();
    let list = if egress { &mut g.egress } else { &mut g.ingress };
    for d in input.rule_descriptions {
        let r = list
            .iter_mut()
            .find(|r| r.id == d.security_group_rule_id)
            .ok_or_else(|| rule_id_not_found(&d.security_group_rule_id))?;
        r.description = d.description;
    }
    for w in wanted {
        let r = list
            .iter_mut()
            .find(|r| same_rule(r, &w))
            .ok_or_else(permission_not_found)?;
        r.description = w.description;
    }
    put(txn, g);
    Ok(OK)
}

pub fn update_descriptions_ingress(txn: &mut Txn, input: UpdateDescriptionsInput) -> Result<ReturnOut, AwsError> {
    update_descriptions(txn, input, false)
}

pub fn update_descriptions_egress(txn: &mut Txn, input: UpdateDescriptionsInput) -> Result<ReturnOut, AwsError> {
    update_descriptions(txn, input, true)
}
