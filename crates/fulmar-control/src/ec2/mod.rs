//! The EC2 API (version 2016-11-15): VPCs, subnets, route tables, internet and NAT
//! gateways, security groups and their rules, Elastic IPs, key pairs, instances with
//! their volumes and network interfaces, the Reachability Analyzer (network insights
//! paths and analyses), and tags, with the default VPC every account
//! starts with in each region. EC2 speaks the `ec2` flavour of the Query protocol.

mod addresses;
mod filters;
mod gateways;
mod insight_shapes;
mod insights;
mod instance_views;
mod instances;
mod interfaces;
mod key_pairs;
mod keys;
mod paging;
mod prefix_lists;
mod reachability;
mod route_tables;
mod rules;
mod security_groups;
mod tags;
mod volumes;
mod vpcs;

use fulmar_aws::query::QueryRequest;
use fulmar_aws::{AwsError, Flavour};

use crate::{Service, Txn};

pub use security_groups::default_group_of;
pub use vpcs::ensure_default_vpc;

pub fn dispatch(txn: &mut Txn, req: &QueryRequest, request_id: &str) -> Result<String, AwsError> {
    macro_rules! op {
        ($f:path) => {{
            let input = req.decode()?;
            let output = $f(txn, input)?;
            Ok(fulmar_aws::xml::response(
                Flavour::Ec2,
                &req.action,
                Service::Ec2.namespace(),
                request_id,
                &output,
            ))
        }};
    }
    // Every EC2 call takes DryRun: check the call would be allowed, change nothing.
    if req.param("DryRun").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(AwsError::new(
            "DryRunOperation",
            412,
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    match req.action.as_str() {
        "CreateVpc" => op!(vpcs::create_vpc),
        "DescribeVpcs" => op!(vpcs::describe_vpcs),
        "DeleteVpc" => op!(vpcs::delete_vpc),
        "CreateSubnet" => op!(vpcs::create_subnet),
        "DescribeSubnets" => op!(vpcs::describe_subnets),
        "DeleteSubnet" => op!(vpcs::delete_subnet),
        "ModifySubnetAttribute" => op!(vpcs::modify_subnet_attribute),
        "DescribeAvailabilityZones" => op!(vpcs::describe_zones),
        "CreateInternetGateway" => op!(gateways::create_igw),
        "DescribeInternetGateways" => op!(gateways::describe_igws),
        "DeleteInternetGateway" => op!(gateways::delete_igw),
        "AttachInternetGateway" => op!(gateways::attach_igw),
        "DetachInternetGateway" => op!(gateways::detach_igw),
        "CreateNatGateway" => op!(gateways::create_nat),
        "DescribeNatGateways" => op!(gateways::describe_nats),
        "DeleteNatGateway" => op!(gateways::delete_nat),
        "CreateRouteTable" => op!(route_tables::create),
        "DescribeRouteTables" => op!(route_tables::describe),
        "DeleteRouteTable" => op!(route_tables::delete),
        "CreateRoute" => op!(route_tables::create_route),
        "ReplaceRoute" => op!(route_tables::replace_route),
        "DeleteRoute" => op!(route_tables::delete_route),
        "AssociateRouteTable" => op!(route_tables::associate),
        "DisassociateRouteTable" => op!(route_tables::disassociate),
        "ReplaceRouteTableAssociation" => op!(route_tables::replace_association),
        "AllocateAddress" => op!(addresses::allocate),
        "DescribeAddresses" => op!(addresses::describe),
        "AssociateAddress" => op!(addresses::associate),
        "DisassociateAddress" => op!(addresses::disassociate),
        "ReleaseAddress" => op!(addresses::release),
        "CreateKeyPair" => op!(key_pairs::create),
        "ImportKeyPair" => op!(key_pairs::import),
        "DescribeKeyPairs" => op!(key_pairs::describe),
        "DeleteKeyPair" => op!(key_pairs::delete),
        "RunInstances" => op!(instances::run),
        "DescribeInstances" => op!(instance_views::describe),
        "DescribeInstanceStatus" => op!(instance_views::describe_status),
        "DescribeInstanceAttribute" => op!(instance_views::describe_attribute),
        "StopInstances" => op!(instances::stop),
        "StartInstances" => op!(instances::start),
        "TerminateInstances" => op!(instances::terminate),
        "RebootInstances" => op!(instances::reboot),
        "ModifyInstanceAttribute" => op!(instances::modify_attribute),
        "DescribeVolumes" => op!(volumes::describe_volumes),
        "DeleteVolume" => op!(volumes::delete_volume),
        "DescribeNetworkInterfaces" => op!(interfaces::describe),
        "CreateSecurityGroup" => op!(security_groups::create),
        "DescribeSecurityGroups" => op!(security_groups::describe),
        "DeleteSecurityGroup" => op!(security_groups::delete),
        "AuthorizeSecurityGroupIngress" => op!(rules::authorize_ingress),
        "AuthorizeSecurityGroupEgress" => op!(rules::authorize_egress),
        "RevokeSecurityGroupIngress" => op!(rules::revoke_ingress),
        "RevokeSecurityGroupEgress" => op!(rules::revoke_egress),
        "DescribeSecurityGroupRules" => op!(rules::describe_rules),
        "ModifySecurityGroupRules" => op!(rules::modify_rules),
        "UpdateSecurityGroupRuleDescriptionsIngress" => op!(rules::update_descriptions_ingress),
        "UpdateSecurityGroupRuleDescriptionsEgress" => op!(rules::update_descriptions_egress),
        "CreateNetworkInsightsPath" => op!(insights::create_path),
        "DescribeNetworkInsightsPaths" => op!(insights::describe_paths),
        "DeleteNetworkInsightsPath" => op!(insights::delete_path),
        "StartNetworkInsightsAnalysis" => op!(insights::start_analysis),
        "DescribeNetworkInsightsAnalyses" => op!(insights::describe_analyses),
        "DeleteNetworkInsightsAnalysis" => op!(insights::delete_analysis),
        "CreateManagedPrefixList" => op!(prefix_lists::create),
        "DescribeManagedPrefixLists" => op!(prefix_lists::describe),
        "GetManagedPrefixListEntries" => op!(prefix_lists::get_entries),
        "ModifyManagedPrefixList" => op!(prefix_lists::modify),
        "DeleteManagedPrefixList" => op!(prefix_lists::delete),
        "CreateTags" => op!(tags::create_tags),
        "DeleteTags" => op!(tags::delete_tags),
        "DescribeTags" => op!(tags::describe_tags),
        _ => Err(req.unknown_action(Flavour::Ec2)),
    }
}

/// EC2's `TagSpecification.N` request member.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagSpecificationIn {
    resource_type: Option<String>,
    #[serde(default, rename = "Tag")]
    tags: Vec<crate::shapes::TagIn>,
}

/// The tags of `TagSpecification`s that apply to `resource_type`.
pub fn tags_for(specs: &[TagSpecificationIn], resource_type: &str) -> Vec<fulmar_model::Tag> {
    specs
        .iter()
        .filter(|s| s.resource_type.as_deref().is_none_or(|r| r == resource_type))
        .flat_map(|s| &s.tags)
        .map(|t| fulmar_model::Tag {
            key: t.key.clone(),
            value: t.value.clone().unwrap_or_default(),
        })
        .collect()
}

/// Reject TagSpecifications naming a resource type the call does not create.
pub fn check_tag_specs(specs: &[TagSpecificationIn], allowed: &[&str]) -> Result<(), AwsError> {
    for s in specs {
        match s.resource_type.as_deref() {
            None => {
                return Err(AwsError::new(
                    "InvalidParameterValue",
                    400,
                    "Tag specification resource type must have a value",
                ))
            }
            Some(r) if !allowed.contains(&r) => {
                return Err(AwsError::new(
                    "InvalidParameterValue",
                    400,
                    format!("'{r}' is not a valid taggable resource type for this operation."),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[derive(serde::Serialize)]
pub struct TagOut {
    key: String,
    value: String,
}

pub fn tag_set(tags: &[fulmar_model::Tag]) -> Vec<TagOut> {
    tags.iter()
        .map(|t| TagOut {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// `{"return": true}`, the answer of EC2 calls that only succeed or fail.
#[derive(serde::Serialize)]
pub struct ReturnOut {
    #[serde(rename = "return")]
    value: bool,
}

pub const OK: ReturnOut = ReturnOut { value: true };

/// EC2's `<value>` wrapper of attribute values (`AttributeBooleanValue` and friends).
#[derive(serde::Deserialize, serde::Serialize)]
pub struct ValueIn<T> {
    #[serde(rename(deserialize = "Value", serialize = "value"))]
    pub value: T,
}

pub fn missing(param: &str) -> AwsError {
    AwsError::new(
        "MissingParameter",
        400,
        format!("The request must contain the parameter {param}"),
    )
}

pub fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValue", 400, message)
}

/// `<Code>.NotFound` with AWS's wording: `The <what> '<id>' does not exist`.
pub fn not_found(code: &str, what: &str, id: &str) -> AwsError {
    AwsError::new(
        format!("{code}.NotFound"),
        400,
        format!("The {what} '{id}' does not exist"),
    )
}

/// A malformed id of a known kind: `InvalidInstanceID.Malformed` and friends.
pub fn check_id(id: &str, prefix: &str, code: &str) -> Result<(), AwsError> {
    let ok = id
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(AwsError::new(
            format!("{code}.Malformed"),
            400,
            format!("Invalid id: \"{id}\" (expecting \"{prefix}-...\")"),
        ))
    }
}

/// Milliseconds since the epoch, the clock every state transition is measured on.
pub fn now() -> i64 {
    crate::ids::now_ms()
}
