//! Compatibility: botocore's own response parsers read Fulmar's documents.
//!
//! Renders success and error documents of every flavour, hands them to
//! `botocore_parse.py` and lets botocore's `QueryParser` / `EC2QueryParser` /
//! `RestXMLParser` decide. Skipped (with a note) where python3 with botocore is not installed;
//! set `FULMAR_REQUIRE_BOTOCORE=1` to make that a failure.

use fulmar_aws::{error_response, response, AuthError, AwsError, Flavour};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

const ELB_NS: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
const R53_NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneConfig {
    comment: Option<String>,
    private_zone: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "HostedZone")]
struct HostedZone {
    id: String,
    name: String,
    caller_reference: String,
    config: ZoneConfig,
    resource_record_set_count: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListHostedZonesOutput {
    hosted_zones: Vec<HostedZone>,
    is_truncated: bool,
    next_marker: Option<String>,
    max_items: String,
}

#[derive(Serialize)]
#[serde(rename = "ResourceRecord")]
struct ResourceRecord {
    #[serde(rename = "Value")]
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "ResourceRecordSet")]
struct RecordSet {
    name: String,
    r#type: String,
    #[serde(rename = "TTL")]
    ttl: u32,
    resource_records: Vec<ResourceRecord>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListRecordSetsOutput {
    resource_record_sets: Vec<RecordSet>,
    is_truncated: bool,
    max_items: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "member")]
struct CidrBlock {
    cidr_block: String,
    location_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListCidrBlocksOutput {
    cidr_blocks: Vec<CidrBlock>,
}

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
            load_balancer_arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/a/1".into(),
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
    let zones = ListHostedZonesOutput {
        hosted_zones: vec![HostedZone {
            id: "/hostedzone/Z1".into(),
            name: "example.com.".into(),
            caller_reference: "ref & co".into(),
            config: ZoneConfig {
                comment: None,
                private_zone: false,
            },
            resource_record_set_count: 2,
        }],
        is_truncated: true,
        next_marker: Some("Z2".into()),
        max_items: "1".into(),
    };
    let rrsets = ListRecordSetsOutput {
        resource_record_sets: vec![RecordSet {
            name: "\\052.example.com.".into(),
            r#type: "A".into(),
            ttl: 60,
            resource_records: vec![
                ResourceRecord {
                    value: "192.0.2.1".into(),
                },
                ResourceRecord {
                    value: "192.0.2.2".into(),
                },
            ],
        }],
        is_truncated: false,
        max_items: "300".into(),
    };
    let blocks = ListCidrBlocksOutput {
        cidr_blocks: vec![CidrBlock {
            cidr_block: "192.0.2.0/24".into(),
            location_name: "office".into(),
        }],
    };
    vec![
        json!({
            "service": "route53", "operation": "ListHostedZones", "status": 200,
            "body": response(Flavour::RestXml, "ListHostedZones", R53_NS, "rid-r1", &zones),
            "expect": {
                "HostedZones": [{"Id": "/hostedzone/Z1", "Name": "example.com.", "CallerReference": "ref & co",
                                 "Config": {"PrivateZone": false}, "ResourceRecordSetCount": 2}],
                "IsTruncated": true, "NextMarker": "Z2", "MaxItems": "1",
            },
        }),
        json!({
            "service": "route53", "operation": "ListResourceRecordSets", "status": 200,
            "body": response(Flavour::RestXml, "ListResourceRecordSets", R53_NS, "rid-r2", &rrsets),
            "expect": {
                "ResourceRecordSets": [{"Name": "\\052.example.com.", "Type": "A", "TTL": 60,
                    "ResourceRecords": [{"Value": "192.0.2.1"}, {"Value": "192.0.2.2"}]}],
                "IsTruncated": false, "MaxItems": "300",
            },
        }),
        json!({
            "service": "route53", "operation": "ListCidrBlocks", "status": 200,
            "body": response(Flavour::RestXml, "ListCidrBlocks", R53_NS, "rid-r3", &blocks),
            "expect": {"CidrBlocks": [{"CidrBlock": "192.0.2.0/24", "LocationName": "office"}]},
        }),
        json!({
            "service": "route53", "operation": "DeleteHealthCheck", "status": 200,
            "body": response(Flavour::RestXml, "DeleteHealthCheck", R53_NS, "rid-r4", &()),
            "expect": {"ResponseMetadata": {"HTTPStatusCode": 200}},
        }),
        error_case(
            "route53",
            "GetHostedZone",
            Flavour::RestXml,
            R53_NS,
            &AwsError::new("NoSuchHostedZone", 404, "No hosted zone found with ID: Z9"),
        ),
        error_case(
            "route53",
            "ChangeResourceRecordSets",
            Flavour::RestXml,
            R53_NS,
            &AwsError::new(
                "InvalidChangeBatch",
                400,
                "[Tried to create resource record set [name='a.example.com.', type='A'] but it already exists]",
            ),
        ),
        error_case(
            "route53",
            "ListHostedZones",
            Flavour::RestXml,
            R53_NS,
            &AuthError::BadSignature.to_aws(Flavour::RestXml),
        ),
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
            &AwsError::new("LoadBalancerNotFound", 400, "Load balancers '[a & <b>]' not found"),
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
            &AwsError::new("InvalidVpcID.NotFound", 400, "The vpc ID 'vpc-9' does not exist"),
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
    let out = child.wait_with_output().expect("the checker runs to completion");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "botocore disagreed:\n{report}");
}
