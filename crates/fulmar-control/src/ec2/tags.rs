//! CreateTags, DeleteTags and DescribeTags across every EC2 resource Fulmar keeps;
//! the resource type is known from the id's prefix, as on EC2.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, Tag};

use super::filters::{self, FilterIn};
use super::paging::page;
use super::{invalid, missing, ReturnOut, OK};
use crate::Txn;

/// Tags per resource (EC2's limit).
const MAX_TAGS: usize = 50;

/// The resource type and the NotFound code of an id, from its prefix.
fn kind_of(id: &str) -> Option<(&'static str, &'static str)> {
    let prefix = id.rsplit_once('-').map(|(p, _)| p)?;
    Some(match prefix {
        "vpc" => ("vpc", "InvalidVpcID"),
        "subnet" => ("subnet", "InvalidSubnetID"),
        "sg" => ("security-group", "InvalidGroup"),
        "sgr" => ("security-group-rule", "InvalidSecurityGroupRuleId"),
        "igw" => ("internet-gateway", "InvalidInternetGatewayID"),
        "rtb" => ("route-table", "InvalidRouteTableID"),
        "nat" => ("natgateway", "InvalidNatGatewayID"),
        "eipalloc" => ("elastic-ip", "InvalidAllocationID"),
        "key" => ("key-pair", "InvalidKeyPairId"),
        "i" => ("instance", "InvalidInstanceID"),
        "vol" => ("volume", "InvalidVolume"),
        "eni" => ("network-interface", "InvalidNetworkInterfaceID"),
        "nip" => ("network-insights-path", "InvalidNetworkInsightsPathId"),
        "nia" => ("network-insights-analysis", "InvalidNetworkInsightsAnalysisId"),
        _ => return None,
    })
}

/// Apply `edit` to the tags of resource `id`.
fn edit_tags(txn: &mut Txn, id: &str, edit: &dyn Fn(&mut Vec<Tag>) -> Result<(), AwsError>) -> Result<(), AwsError> {
    let (_, code) =
        kind_of(id).ok_or_else(|| AwsError::new("InvalidID", 400, format!("The ID '{id}' is not valid")))?;
    let not_found = || AwsError::new(format!("{code}.NotFound"), 400, format!("The ID '{id}' does not exist"));
    macro_rules! edit {
        ($map:ident, $kind:expr) => {{
            let r = txn
                .config
                .$map
                .get(id)
                .filter(|r| r.region == txn.region)
                .cloned()
                .ok_or_else(not_found)?;
            let mut r = (*r).clone();
            edit(&mut r.tags)?;
            txn.touch($kind, id);
            txn.config.$map.insert(id.to_string(), Arc::new(r));
        }};
    }
    match kind_of(id).map(|k| k.0) {
        Some("security-group-rule") => {
            // A rule's tags live with the rule, inside its group.
            let group = txn
                .config
                .security_groups
                .values()
                .find(|g| g.region == txn.region && g.ingress.iter().chain(&g.egress).any(|r| r.id == id))
                .cloned()
                .ok_or_else(not_found)?;
            let mut group = (*group).clone();
            for rule in group.ingress.iter_mut().chain(group.egress.iter_mut()) {
                if rule.id == id {
                    edit(&mut rule.tags)?;
                }
            }
            txn.touch(Kind::SecurityGroup, &group.id);
            txn.config.security_groups.insert(group.id.clone(), Arc::new(group));
        }
        Some("vpc") => edit!(vpcs, Kind::Vpc),
        Some("subnet") => edit!(subnets, Kind::Subnet),
        Some("security-group") => edit!(security_groups, Kind::SecurityGroup),
        Some("internet-gateway") => edit!(internet_gateways, Kind::InternetGateway),
        Some("route-table") => edit!(route_tables, Kind::RouteTable),
        Some("natgateway") => edit!(nat_gateways, Kind::NatGateway),
        Some("elastic-ip") => edit!(addresses, Kind::Address),
        Some("key-pair") => edit!(key_pairs, Kind::KeyPair),
        Some("instance") => edit!(instances, Kind::Instance),
        Some("volume") => edit!(volumes, Kind::Volume),
        Some("network-insights-path") => edit!(network_insights_paths, Kind::NetworkInsightsPath),
        Some("network-insights-analysis") => edit!(network_insights_analyses, Kind::NetworkInsightsAnalysis),
        _ => edit!(network_interfaces, Kind::NetworkInterface),
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagIn {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsInput {
    #[serde(default, rename = "ResourceId")]
    resources: Vec<String>,
    #[serde(default, rename = "Tag")]
    tags: Vec<TagIn>,
}

pub fn create_tags(txn: &mut Txn, input: TagsInput) -> Result<ReturnOut, AwsError> {
    if input.resources.is_empty() {
        return Err(missing("resourceIdSet"));
    }
    let mut add = Vec::new();
    for t in input.tags {
        let key = t.key.ok_or_else(|| missing("Tag.Key"))?;
        if key.is_empty() || key.len() > 128 {
            return Err(invalid(format!("Tag key '{key}' must be between 1 and 128 characters")));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid("Tag keys starting with 'aws:' are reserved for internal use"));
        }
        let value = t.value.unwrap_or_default();
        if value.len() > 256 {
            return Err(invalid("Tag values must be at most 256 characters"));
        }
        add.push(Tag { key, value });
    }
    for id in &input.resources {
        edit_tags(txn, id, &|tags| {
            for t in &add {
                match tags.iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value = t.value.clone(),
                    None => tags.push(t.clone()),
                }
            }
            if tags.len() > MAX_TAGS {
                return Err(AwsError::new(
                    "TagLimitExceeded",
                    400,
                    format!("The maximum number of Tags for a resource has been reached. ({MAX_TAGS})"),
                ));
            }
            Ok(())
        })?;
    }
    Ok(OK)
}

/// DeleteTags: a tag with a value is removed only when the value matches; no tags at
/// all removes every tag.
pub fn delete_tags(txn: &mut Txn, input: TagsInput) -> Result<ReturnOut, AwsError> {
    if input.resources.is_empty() {
        return Err(missing("resourceIdSet"));
    }
    let remove: Vec<(String, Option<String>)> = input
        .tags
        .into_iter()
        .filter_map(|t| t.key.map(|k| (k, t.value)))
        .collect();
    for id in &input.resources {
        edit_tags(txn, id, &|tags| {
            if remove.is_empty() {
                tags.clear();
            } else {
                tags.retain(|t| {
                    !remove
                        .iter()
                        .any(|(k, v)| *k == t.key && v.as_ref().is_none_or(|v| *v == t.value))
                });
            }
            Ok(())
        })?;
    }
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "tagSet")]
    tags: Vec<TagDescriptionOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
struct TagDescriptionOut {
    #[serde(rename = "resourceId")]
    resource_id: String,
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    key: String,
    value: String,
}

pub fn describe_tags(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    let c = &txn.config;
    let r = &txn.region;
    let mut all: Vec<(String, &Vec<Tag>)> = Vec::new();
    macro_rules! collect {
        ($map:ident) => {
            all.extend(
                c.$map
                    .iter()
                    .filter(|(_, v)| &v.region == r)
                    .map(|(id, v)| (id.clone(), &v.tags)),
            )
        };
    }
    collect!(vpcs);
    collect!(subnets);
    collect!(security_groups);
    collect!(internet_gateways);
    collect!(route_tables);
    collect!(nat_gateways);
    collect!(addresses);
    collect!(key_pairs);
    collect!(instances);
    collect!(volumes);
    collect!(network_interfaces);
    collect!(network_insights_paths);
    collect!(network_insights_analyses);
    all.extend(
        c.security_groups
            .values()
            .filter(|g| &g.region == r)
            .flat_map(|g| g.ingress.iter().chain(&g.egress))
            .filter(|rule| !rule.tags.is_empty())
            .map(|rule| (rule.id.clone(), &rule.tags)),
    );
    let mut out = Vec::new();
    for (id, tags) in all {
        let Some((resource_type, _)) = kind_of(&id) else {
            continue;
        };
        for t in tags {
            let keep = filters::matches(&input.filters, &[], |name| match name {
                "key" => Some(vec![t.key.clone()]),
                "value" => Some(vec![t.value.clone()]),
                "resource-id" => Some(vec![id.clone()]),
                "resource-type" => Some(vec![resource_type.to_string()]),
                _ => None,
            });
            if keep {
                out.push(TagDescriptionOut {
                    resource_id: id.clone(),
                    resource_type,
                    key: t.key.clone(),
                    value: t.value.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.resource_id, &a.key).cmp(&(&b.resource_id, &b.key)));
    let (tags, next_token) = page(out, input.max_results, input.next_token.as_deref(), 5)?;
    Ok(DescribeOut { tags, next_token })
}
