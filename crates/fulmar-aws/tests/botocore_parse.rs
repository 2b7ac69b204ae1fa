//! Compatibility: botocore's own response parsers read Fulmar's documents.
//!
//! Renders success and error documents of both flavours, hands them to
//! `botocore_parse.py` and lets botocore's `QueryParser` / `EC2QueryParser`
//! decide. Skipped (with a note) where python3 with botocore is not installed;
//! set `FULMAR_REQUIRE_BOTOCORE=1` to make that a failure.

use fulmar_aws::{error_response, response, AuthError, AwsError, Flavour};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

const ELB_NS: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AvailabilityZone {
    zone_name: String,
    subnet_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct State {
    code: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LoadBalancer {
    load_balancer_arn: String,
    #[serde(rename = "DNSName")]
    dns_name: String,
    scheme: &'static str,
    state: State,
    availability_zones: Vec<AvailabilityZone>,
    security_groups: Vec<String>,
    ip_address_type: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeLoadBalancersOutput {
    load_balancers: Vec<LoadBalancer>,
    next_marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Vpc {
    vpc_id: String,
    cidr_block: String,
    is_default: bool,
    tag_set: Vec<Tag>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeVpcsOutput {
    vpc_set: Vec<Vpc>,
    next_token: Option<String>,
}

fn error_case(service: &str, op: &str, flavour: Flavour, ns: &str, err: &AwsError) -> Value {
    json!({
        "service": service, "operation": op, "status": err.status,
        "body": error_response(flavour, ns, "rid-e", err),
        "expect": {
            "Error": {"Code": err.code, "Message": err.message},
            "ResponseMetadata": {"RequestId": "rid-e", "HTTPStatusCode": err.status},
        },
    })
}

fn cases() -> Vec<Value> {
    let lbs = DescribeLoadBalancersOutput {
        load_balancers: vec![LoadBalancer {
            load_balancer_arn:
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/a/1".into(),
            dns_name: "a-1.elb.localhost".into(),
            scheme: "internet-facing",
            state: State { code: "active" },
            availability_zones: vec![
                AvailabilityZone {
                    zone_name: "us-east-1a".into(),
                    subnet_id: "subnet-1".into(),
                },
                AvailabilityZone {
                    zone_name: "us-east-1b".into(),
                    subnet_id: "subnet-2".into(),
                },
            ],
            security_groups: vec![],
            ip_address_type: None,
        }],
        next_marker: Some("bWFya2Vy".into()),
    };
    let vpcs = DescribeVpcsOutput {
        vpc_set: vec![Vpc {
            vpc_id: "vpc-1".into(),
            cidr_block: "10.0.0.0/16".into(),
            is_default: true,
            tag_set: vec![Tag {
                key: "Name".into(),
                value: "<main> & 'co'".into(),
            }],
        }],
        next_token: None,
    };
    vec![
        json!({
            "service": "elbv2", "operation": "DescribeLoadBalancers", "status": 200,
            "body": response(Flavour::Query, "DescribeLoadBalancers", ELB_NS, "rid-1", &lbs),
            "expect": {
                "LoadBalancers": [{
                    "DNSName": "a-1.elb.localhost", "Scheme": "internet-facing",
                    "State": {"Code": "active"}, "SecurityGroups": [],
                    "AvailabilityZones": [{"ZoneName": "us-east-1a"}, {"ZoneName": "us-east-1b", "SubnetId": "subnet-2"}],
                }],
                "NextMarker": "bWFya2Vy",
                "ResponseMetadata": {"RequestId": "rid-1", "HTTPStatusCode": 200},
            },
        }),
        json!({
            "service": "elbv2", "operation": "DeleteLoadBalancer", "status": 200,
            "body": response(Flavour::Query, "DeleteLoadBalancer", ELB_NS, "rid-2", &()),
            "expect": {"ResponseMetadata": {"RequestId": "rid-2"}},
        }),
        json!({
            "service": "ec2", "operation": "DescribeVpcs", "status": 200,
            "body": response(Flavour::Ec2, "DescribeVpcs", EC2_NS, "rid-3", &vpcs),
            "expect": {
                "Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "IsDefault": true,
                          "Tags": [{"Key": "Name", "Value": "<main> & 'co'"}]}],
                "ResponseMetadata": {"RequestId": "rid-3", "HTTPStatusCode": 200},
            },
        }),
        error_case(
            "elbv2",
            "DescribeLoadBalancers",
            Flavour::Query,
            ELB_NS,
            &AwsError::new(
                "LoadBalancerNotFound",
                400,
                "Load balancers '[a & <b>]' not found",
            ),
        ),
        error_case(
            "elbv2",
            "DescribeLoadBalancers",
            Flavour::Query,
            ELB_NS,
            &AwsError::internal("boom"),
        ),
        error_case(
            "elbv2",
            "DescribeLoadBalancers",
            Flavour::Query,
            ELB_NS,
            &AuthError::BadSignature.to_aws(Flavour::Query),
        ),
        error_case(
            "elbv2",
            "DescribeLoadBalancers",
            Flavour::Query,
            ELB_NS,
            &AuthError::Missing.to_aws(Flavour::Query),
        ),
        error_case(
            "ec2",
            "DescribeVpcs",
            Flavour::Ec2,
            EC2_NS,
            &AwsError::new(
                "InvalidVpcID.NotFound",
                400,
                "The vpc ID 'vpc-9' does not exist",
            ),
        ),
        error_case(
            "ec2",
            "DescribeVpcs",
            Flavour::Ec2,
            EC2_NS,
            &AuthError::UnknownKey.to_aws(Flavour::Ec2),
        ),
    ]
}

#[test]
fn botocore_parses_our_documents() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/botocore_parse.py");
    let have_botocore = Command::new("python3")
        .args(["-c", "import botocore"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_botocore {
        assert!(
            std::env::var_os("FULMAR_REQUIRE_BOTOCORE").is_none(),
            "botocore is required"
        );
        eprintln!("skipping: python3 with botocore is not installed");
        return;
    }
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 ran a moment ago");
    let input = serde_json::to_vec(&cases()).expect("cases are plain JSON");
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(&input)
        .expect("the checker reads all of stdin");
    let out = child
        .wait_with_output()
        .expect("the checker runs to completion");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "botocore disagreed:\n{report}");
}
