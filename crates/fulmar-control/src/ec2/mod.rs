//! Just enough of the EC2 API (version 2016-11-15) for load balancers: VPCs, subnets,
//! security groups and Availability Zones, with the default VPC every account
//! starts with in each region. EC2 speaks the `ec2` flavour of the Query protocol.

mod filters;
mod security_groups;
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
            Ok(fulmar_aws::xml::response(Flavour::Ec2, &req.action, Service::Ec2.namespace(), request_id, &output))
        }};
    }
    // Every EC2 call takes DryRun: check the call would be allowed, change nothing.
    if req.param("DryRun").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(AwsError::new("DryRunOperation", 412, "Request would have succeeded, but DryRun flag is set."));
    }
    match req.action.as_str() {
        "CreateVpc" => op!(vpcs::create_vpc),
        "DescribeVpcs" => op!(vpcs::describe_vpcs),
        "DeleteVpc" => op!(vpcs::delete_vpc),
        "CreateSubnet" => op!(vpcs::create_subnet),
        "DescribeSubnets" => op!(vpcs::describe_subnets),
        "DeleteSubnet" => op!(vpcs::delete_subnet),
        "DescribeAvailabilityZones" => op!(vpcs::describe_zones),
        "CreateSecurityGroup" => op!(security_groups::create),
        "DescribeSecurityGroups" => op!(security_groups::describe),
        "DeleteSecurityGroup" => op!(security_groups::delete),
        "AuthorizeSecurityGroupIngress" => op!(security_groups::authorize_ingress),
        other => Err(AwsError::new(
            "InvalidAction",
            400,
            format!("The action {other} is not valid for this web service."),
        )),
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
pub fn tags_for(specs: Vec<TagSpecificationIn>, resource_type: &str) -> Vec<fulmar_model::Tag> {
    specs
        .into_iter()
        .filter(|s| s.resource_type.as_deref().is_none_or(|r| r == resource_type))
        .flat_map(|s| s.tags)
        .map(|t| fulmar_model::Tag { key: t.key, value: t.value.unwrap_or_default() })
        .collect()
}

#[derive(serde::Serialize)]
pub struct TagOut {
    key: String,
    value: String,
}

pub fn tag_set(tags: &[fulmar_model::Tag]) -> Vec<TagOut> {
    tags.iter().map(|t| TagOut { key: t.key.clone(), value: t.value.clone() }).collect()
}

/// `{"return": true}`, the answer of EC2 calls that only succeed or fail.
#[derive(serde::Serialize)]
pub struct ReturnOut {
    #[serde(rename = "return")]
    value: bool,
}

pub const OK: ReturnOut = ReturnOut { value: true };
