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
        // The largest answer an ALB call gives (a listener's rules): written straight
        // into the document, the same bytes the serializer writes for `RulesOut`.
        "DescribeRules" => {
            let input = req.decode()?;
            let output = rules::describe(txn, input)?;
            Ok(xmlw::query_document(
                &req.action,
                request_id,
                output.size_hint(),
                |out| output.write_xml(out),
            ))
        }
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

/// Writing a Query-protocol document directly (for answers too large to go through the
/// serializer's bookkeeping): the same elements `fulmar_aws::xml::response` writes.
pub(crate) mod xmlw {
    use std::fmt::Write as _;

    use fulmar_aws::xml::escape_into;

    use crate::Service;

    /// `<Action>Response` around the result `body` writes, with the request id.
    pub fn query_document(action: &str, request_id: &str, size: usize, body: impl FnOnce(&mut String)) -> String {
        let mut out = String::with_capacity(size + 320);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        out.push_str(action);
        out.push_str("Response xmlns=\"");
        escape_into(&mut out, Service::Elbv2.namespace());
        out.push_str("\">");
        let start = out.len();
        open(&mut out, action);
        out.push_str("Result>");
        let inner = out.len();
        body(&mut out);
        if out.len() == inner {
            out.truncate(start);
            out.push('<');
            out.push_str(action);
            out.push_str("Result/>");
        } else {
            out.push_str("</");
            out.push_str(action);
            out.push_str("Result>");
        }
        out.push_str("<ResponseMetadata><RequestId>");
        escape_into(&mut out, request_id);
        out.push_str("</RequestId></ResponseMetadata></");
        out.push_str(action);
        out.push_str("Response>");
        out
    }

    /// `<name` (the caller finishes the tag).
    fn open(out: &mut String, name: &str) {
        out.push('<');
        out.push_str(name);
    }

    /// `<name>text</name>`, the text escaped.
    pub fn text(out: &mut String, name: &str, text: &str) {
        start(out, name);
        escape_into(out, text);
        end(out, name);
    }

    /// `<name>value</name>` for a number or a boolean.
    pub fn value(out: &mut String, name: &str, value: impl std::fmt::Display) {
        start(out, name);
        let _ = write!(out, "{value}");
        end(out, name);
    }

    pub fn start(out: &mut String, name: &str) {
        out.push('<');
        out.push_str(name);
        out.push('>');
    }

    pub fn end(out: &mut String, name: &str) {
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }

    /// `<name><member>..</member>..</name>`, or `<name/>` when there are no items.
    pub fn list<T>(
        out: &mut String,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut item: impl FnMut(&mut String, T),
    ) {
        let at = out.len();
        start(out, name);
        let mut empty = true;
        for i in items {
            empty = false;
            out.push_str("<member>");
            item(out, i);
            out.push_str("</member>");
        }
        if empty {
            out.truncate(at);
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        } else {
            end(out, name);
        }
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

/// Page `items` with ELBv2's Marker/PageSize (PageSize 1–400): the page is cut out
/// of `items` itself, nothing is copied.
pub(crate) fn page<T>(
    mut items: Vec<T>,
    marker: Option<&str>,
    page_size: Option<u32>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let (slice, next) = fulmar_aws::paging::page(&items, marker, page_size, 400)?;
    let len = slice.len();
    let start = match slice.first() {
        Some(first) => items.iter().position(|i| std::ptr::eq(i, first)).unwrap_or(0),
        None => items.len(),
    };
    items.truncate(start + len);
    items.drain(..start);
    Ok((items, next))
}
