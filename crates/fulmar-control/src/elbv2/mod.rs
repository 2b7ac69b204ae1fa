//! The ELBv2 API (Elastic Load Balancing, version 2015-12-01), as the Query protocol
//! carries it: one function per operation, each taking its typed input and returning
//! its typed output.

mod actions;
mod attributes;
mod certificates;
mod conditions;
mod listeners;
mod load_balancers;
mod names;
mod rules;
mod ssl_policies;
mod tags;
mod target_group_attributes;
mod target_groups;
mod targets;

use fulmar_aws::query::QueryRequest;
use fulmar_aws::{AwsError, Flavour};

use crate::{Service, Txn};

/// Run one ELBv2 action and render its response document.
pub fn dispatch(txn: &mut Txn, req: &QueryRequest, request_id: &str) -> Result<String, AwsError> {
    macro_rules! op {
        ($f:path) => {{
            let input = req.decode()?;
            let output = $f(txn, input)?;
            Ok(fulmar_aws::xml::response(
                Flavour::Query,
                &req.action,
                Service::Elbv2.namespace(),
                request_id,
                &output,
            ))
        }};
    }
    match req.action.as_str() {
        "CreateLoadBalancer" => op!(load_balancers::create),
        "DescribeLoadBalancers" => op!(load_balancers::describe),
        "DeleteLoadBalancer" => op!(load_balancers::delete),
        "DescribeLoadBalancerAttributes" => op!(attributes::describe_load_balancer),
        "ModifyLoadBalancerAttributes" => op!(attributes::modify_load_balancer),
        "SetSecurityGroups" => op!(load_balancers::set_security_groups),
        "CreateTargetGroup" => op!(target_groups::create),
        "DescribeTargetGroups" => op!(target_groups::describe),
        "ModifyTargetGroup" => op!(target_groups::modify),
        "DeleteTargetGroup" => op!(target_groups::delete),
        "DescribeTargetGroupAttributes" => op!(target_group_attributes::describe),
        "ModifyTargetGroupAttributes" => op!(target_group_attributes::modify),
        "RegisterTargets" => op!(targets::register),
        "DeregisterTargets" => op!(targets::deregister),
        "DescribeTargetHealth" => op!(targets::describe_health),
        "CreateListener" => op!(listeners::create),
        "DescribeListeners" => op!(listeners::describe),
        "ModifyListener" => op!(listeners::modify),
        "DeleteListener" => op!(listeners::delete),
        "CreateRule" => op!(rules::create),
        "DescribeRules" => op!(rules::describe),
        "ModifyRule" => op!(rules::modify),
        "DeleteRule" => op!(rules::delete),
        "SetRulePriorities" => op!(rules::set_priorities),
        "AddTags" => op!(tags::add),
        "RemoveTags" => op!(tags::remove),
        "DescribeTags" => op!(tags::describe),
        "DescribeAccountLimits" => op!(load_balancers::account_limits),
        "SetSubnets" => op!(load_balancers::set_subnets),
        "SetIpAddressType" => op!(load_balancers::set_ip_address_type),
        "DescribeCapacityReservation" => op!(load_balancers::describe_capacity_reservation),
        "DescribeSSLPolicies" => op!(ssl_policies::describe),
        "AddListenerCertificates" => op!(certificates::add),
        "RemoveListenerCertificates" => op!(certificates::remove),
        "DescribeListenerCertificates" => op!(certificates::describe),
        "DescribeListenerAttributes" => op!(attributes::describe_listener),
        "ModifyListenerAttributes" => op!(attributes::modify_listener),
        other => Err(AwsError::new(
            "InvalidAction",
            400,
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

/// The `LoadBalancerNotFound` error.
pub(crate) fn lb_not_found() -> AwsError {
    AwsError::new("LoadBalancerNotFound", 400, "One or more load balancers not found")
}

pub(crate) fn tg_not_found() -> AwsError {
    AwsError::new("TargetGroupNotFound", 400, "One or more target groups not found")
}

pub(crate) fn listener_not_found() -> AwsError {
    AwsError::new("ListenerNotFound", 400, "One or more listeners not found")
}

pub(crate) fn rule_not_found() -> AwsError {
    AwsError::new("RuleNotFound", 400, "One or more rules not found")
}

/// Page `items` with ELBv2's Marker/PageSize (PageSize 1–400).
pub(crate) fn page<T: Clone>(
    items: Vec<T>,
    marker: Option<&str>,
    page_size: Option<u32>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let (slice, next) = fulmar_aws::paging::page(&items, marker, page_size, 400)?;
    Ok((slice.to_vec(), next))
}
