//! Tests of Query-protocol parsing and deserialization.

use super::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct TargetGroupTuple {
    target_group_arn: String,
    weight: Option<u32>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct ForwardConfig {
    target_groups: Vec<TargetGroupTuple>,
}

#[derive(Debug, Deserialize, PartialEq)]
enum ActionType {
    #[serde(rename = "forward")]
    Forward,
    #[serde(rename = "fixed-response")]
    FixedResponse,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Action {
    #[serde(rename = "Type")]
    kind: ActionType,
    order: Option<u16>,
    forward_config: Option<ForwardConfig>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct CreateListener {
    load_balancer_arn: String,
    port: Option<u16>,
    actions: Vec<Action>,
    #[serde(default)]
    tags: Vec<Tag>,
}

fn body(pairs: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into_bytes()
}

fn request(pairs: &[(&str, &str)]) -> QueryRequest {
    QueryRequest::parse(&body(pairs)).expect("test requests carry an Action")
}

#[test]
fn nested_lists_of_structs() {
    let req = request(&[
        ("Action", "CreateListener"),
        ("Version", "2015-12-01"),
        ("LoadBalancerArn", "arn:lb"),
        ("Port", "80"),
        ("Actions.member.1.Type", "forward"),
        (
            "Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn",
            "tg-b",
        ),
        ("Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight", "20"),
        (
            "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn",
            "tg-a",
        ),
        ("Actions.member.2.Type", "fixed-response"),
        ("Actions.member.2.Order", "2"),
        ("Tags.member.1.Key", "env"),
        ("Tags.member.1.Value", "a&b c"),
        ("Unknown.Param", "ignored"),
    ]);
    assert_eq!(req.action, "CreateListener");
    assert_eq!(req.version.as_deref(), Some("2015-12-01"));
    let input: CreateListener = req.decode().expect("valid input");
    assert_eq!(input.load_balancer_arn, "arn:lb");
    assert_eq!(input.port, Some(80));
    assert_eq!(input.actions.len(), 2);
    let groups = &input.actions[0].forward_config.as_ref().expect("given").target_groups;
    assert_eq!(
        groups[0],
        TargetGroupTuple {
            target_group_arn: "tg-a".into(),
            weight: None
        }
    );
    assert_eq!(groups[1].weight, Some(20));
    assert_eq!(input.actions[1].kind, ActionType::FixedResponse);
    assert_eq!(input.actions[1].order, Some(2));
    assert_eq!(input.tags[0].value.as_deref(), Some("a&b c"));
}

#[derive(Debug, Deserialize, PartialEq)]
struct Filter {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Value", default)]
    values: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct DescribeVpcs {
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "VpcId", default)]
    vpc_ids: Vec<String>,
    #[serde(rename = "DryRun")]
    dry_run: Option<bool>,
}

#[test]
fn ec2_flavour_lists() {
    let req = request(&[
        ("Action", "DescribeVpcs"),
        ("Filter.1.Name", "cidr"),
        ("Filter.1.Value.2", "10.1.0.0/16"),
        ("Filter.1.Value.1", "10.0.0.0/16"),
        ("Filter.3.Name", "state"),
        ("VpcId.10", "vpc-10"),
        ("VpcId.9", "vpc-9"),
        ("DryRun", "false"),
    ]);
    let input: DescribeVpcs = req.decode().expect("valid input");
    assert_eq!(input.filters.len(), 2);
    assert_eq!(input.filters[0].values, ["10.0.0.0/16", "10.1.0.0/16"]);
    assert_eq!(
        input.filters[1],
        Filter {
            name: "state".into(),
            values: vec![]
        }
    );
    assert_eq!(input.vpc_ids, ["vpc-9", "vpc-10"]);
    assert_eq!(input.dry_run, Some(false));
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct SetSubnets {
    load_balancer_arn: String,
    subnets: Option<Vec<String>>,
}

#[test]
fn empty_value_is_empty_list() {
    let req = request(&[("Action", "SetSubnets"), ("LoadBalancerArn", "a"), ("Subnets", "")]);
    let input: SetSubnets = req.decode().expect("valid input");
    assert_eq!(input.subnets, Some(vec![]));
    let req = request(&[("Action", "SetSubnets"), ("LoadBalancerArn", "a")]);
    assert_eq!(req.decode::<SetSubnets>().expect("valid").subnets, None);
}

#[test]
fn missing_action() {
    let err = QueryRequest::parse(b"Version=2015-12-01").expect_err("no action");
    assert_eq!((err.code.as_str(), err.status), ("MissingAction", 400));
    assert!(QueryRequest::parse(b"Action=").is_err());
}

#[test]
fn query_string_and_body_merge() {
    let req = QueryRequest::from_parts(Some("Action=DescribeVpcs&VpcId.1=q"), b"VpcId.1=b&VpcId.2=c")
        .expect("action in query");
    assert_eq!(req.action, "DescribeVpcs");
    let input: DescribeVpcs = req.decode().expect("valid");
    assert_eq!(input.vpc_ids, ["b", "c"]);
    assert_eq!(req.param("VpcId.2"), Some("c"));
}

#[test]
fn missing_required_field_names_the_parameter() {
    let req = request(&[("Action", "CreateListener"), ("Actions.member.1.Type", "forward")]);
    let err = req.decode::<CreateListener>().expect_err("no arn");
    assert_eq!(err.code, "ValidationError");
    assert!(err.message.contains("'LoadBalancerArn'"), "{}", err.message);

    let req = request(&[
        ("Action", "CreateListener"),
        ("LoadBalancerArn", "a"),
        ("Actions.member.1.Order", "1"),
    ]);
    let err = req.decode::<CreateListener>().expect_err("no type");
    assert!(err.message.contains("'Actions.member.1.Type'"), "{}", err.message);
}

#[test]
fn scalar_errors_are_validation_errors() {
    let req = request(&[("Action", "X"), ("LoadBalancerArn", "a"), ("Port", "eighty")]);
    let err = req.decode::<CreateListener>().expect_err("bad port");
    assert_eq!(err.status, 400);
    assert_eq!(
        err.message,
        "1 validation error detected: Value 'eighty' at 'Port' failed to satisfy constraint: \
         Member must be an integer"
    );
    let req = request(&[("Action", "X"), ("DryRun", "yes")]);
    let err = req.decode::<DescribeVpcs>().expect_err("bad bool");
    assert!(err.message.contains("boolean"), "{}", err.message);
    let req = request(&[
        ("Action", "X"),
        ("LoadBalancerArn", "a"),
        ("Actions.member.1.Type", "drop"),
    ]);
    let err = req.decode::<CreateListener>().expect_err("bad enum");
    assert!(
        err.message.contains("'Actions.member.1.Type'") && err.message.contains("[forward, fixed-response]"),
        "{}",
        err.message
    );
}

#[derive(Debug, Deserialize)]
struct Port(#[allow(dead_code)] u16);

#[derive(Debug)]
struct Priority(u32);

impl TryFrom<String> for Priority {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.parse() {
            Ok(n) if (1..=50000).contains(&n) => Ok(Priority(n)),
            _ => Err("Member must have value between 1 and 50000".into()),
        }
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Priority::try_from(s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateRule {
    priority: Priority,
    port: Option<Port>,
    attributes: Option<BTreeMap<String, String>>,
}

#[test]
fn custom_types_and_maps() {
    let req = request(&[
        ("Action", "CreateRule"),
        ("Priority", "7"),
        ("Port", "8080"),
        ("Attributes.entry.2.key", "b"),
        ("Attributes.entry.2.value", "2"),
        ("Attributes.entry.1.key", "a"),
        ("Attributes.entry.1.value", "1"),
    ]);
    let input: CreateRule = req.decode().expect("valid");
    assert_eq!(input.priority.0, 7);
    assert!(input.port.is_some());
    let attrs = input.attributes.expect("given");
    assert_eq!(attrs.get("a").map(String::as_str), Some("1"));
    assert_eq!(attrs.len(), 2);

    let req = request(&[("Action", "CreateRule"), ("Priority", "0")]);
    let err = req.decode::<CreateRule>().expect_err("out of range");
    assert_eq!(
        err.message,
        "1 validation error detected: Value '0' at 'Priority' failed to satisfy constraint: \
         Member must have value between 1 and 50000"
    );
}

#[test]
fn unknown_action_wording() {
    let req = request(&[("Action", "Frobnicate"), ("Version", "2015-12-01")]);
    let e = req.unknown_action(Flavour::Query);
    assert_eq!(e.code, "InvalidAction");
    assert!(e.message.contains("Frobnicate"));
    assert!(req.unknown_action(Flavour::Ec2).message.contains("not valid"));
}
