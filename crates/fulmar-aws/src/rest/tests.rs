//! Tests of rest-xml routing, input decoding and response rendering.

use super::*;
use crate::{error_response, response, Flavour};
use serde::{Deserialize, Serialize};

const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        template: "/2013-04-01/hostedzone",
        operation: "CreateHostedZone",
        status: 201,
    },
    Route {
        method: "GET",
        template: "/2013-04-01/hostedzone/{Id}",
        operation: "GetHostedZone",
        status: 200,
    },
    Route {
        method: "POST",
        template: "/2013-04-01/hostedzone/{Id}/rrset/",
        operation: "ChangeResourceRecordSets",
        status: 200,
    },
    Route {
        method: "GET",
        template: "/2013-04-01/hostedzone/{Id}/rrset",
        operation: "ListResourceRecordSets",
        status: 200,
    },
    Route {
        method: "GET",
        template: "/files/{Key+}",
        operation: "GetFile",
        status: 200,
    },
];

#[test]
fn routes_by_method_and_template() {
    let r = RestRequest::parse(ROUTES, "GET", "/2013-04-01/hostedzone/Z1%2FA", None, b"").expect("routed");
    assert_eq!(r.operation(), "GetHostedZone");
    assert_eq!(r.param("Id"), Some("Z1/A"));
    let r = RestRequest::parse(ROUTES, "POST", "/2013-04-01/hostedzone/Z1/rrset/", None, b"").expect("routed");
    assert_eq!(r.operation(), "ChangeResourceRecordSets");
    let r = RestRequest::parse(
        ROUTES,
        "GET",
        "/2013-04-01/hostedzone/Z1/rrset",
        Some("name=%5C052.example.com.&type=A&maxitems=2"),
        b"",
    )
    .expect("routed");
    assert_eq!(r.operation(), "ListResourceRecordSets");
    assert_eq!(r.param("name"), Some("\\052.example.com."));
    let r = RestRequest::parse(ROUTES, "GET", "/files/a/b/c", None, b"").expect("greedy");
    assert_eq!(r.param("Key"), Some("a/b/c"));
    for (method, path) in [
        ("DELETE", "/2013-04-01/hostedzone/Z1"),
        ("GET", "/2013-04-01/hostedzone/Z1/other"),
        ("GET", "/2013-04-01/hostedzone//rrset"),
        ("GET", "/2013-04-02/hostedzone"),
    ] {
        let err = RestRequest::parse(ROUTES, method, path, None, b"").expect_err(path);
        assert_eq!((err.code.as_str(), err.status), ("UnknownOperationException", 404));
    }
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct ResourceRecord {
    value: String,
}

#[derive(Debug, Deserialize, PartialEq)]
enum Action {
    #[serde(rename = "CREATE")]
    Create,
    #[serde(rename = "DELETE")]
    Delete,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct RecordSet {
    name: String,
    r#type: String,
    #[serde(rename = "TTL")]
    ttl: Option<u32>,
    weight: Option<u8>,
    #[serde(default)]
    resource_records: Vec<ResourceRecord>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Change {
    action: Action,
    resource_record_set: RecordSet,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct ChangeBatch {
    comment: Option<String>,
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct ChangeInput {
    id: String,
    change_batch: ChangeBatch,
}

fn change_request(body: &str) -> RestRequest<'_> {
    RestRequest::parse(
        ROUTES,
        "POST",
        "/2013-04-01/hostedzone/Z9/rrset/",
        None,
        body.as_bytes(),
    )
    .expect("routed")
}

#[test]
fn decodes_a_change_batch_as_botocore_writes_it() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Comment>a &amp; b</Comment><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>www.example.com</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord><ResourceRecord><Value>192.0.2.2</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change><Change><Action>DELETE</Action><ResourceRecordSet><Name>x.example.com</Name><Type>TXT</Type></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"#;
    let input: ChangeInput = change_request(body).decode().expect("decodes");
    assert_eq!(input.id, "Z9");
    assert_eq!(input.change_batch.comment.as_deref(), Some("a & b"));
    let c = &input.change_batch.changes;
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].action, Action::Create);
    assert_eq!(c[0].resource_record_set.ttl, Some(60));
    assert_eq!(
        c[0].resource_record_set.resource_records,
        vec![
            ResourceRecord {
                value: "192.0.2.1".into()
            },
            ResourceRecord {
                value: "192.0.2.2".into()
            }
        ]
    );
    assert_eq!(c[1].action, Action::Delete);
    assert!(c[1].resource_record_set.resource_records.is_empty());
}

#[test]
fn decode_errors_name_the_member() {
    let missing =
        change_request("<R><ChangeBatch><Changes><Change><Action>CREATE</Action></Change></Changes></ChangeBatch></R>");
    let err = missing.decode::<ChangeInput>().expect_err("missing");
    assert_eq!((err.code.as_str(), err.status), ("InvalidInput", 400));
    assert!(
        err.message
            .contains("Value null at 'changeBatch.changes.1.member.resourceRecordSet'"),
        "{}",
        err.message
    );
    let range = change_request(
        "<R><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>a</Name><Type>A</Type><Weight>300</Weight></ResourceRecordSet></Change></Changes></ChangeBatch></R>",
    );
    let err = range.decode::<ChangeInput>().expect_err("range");
    assert!(
        err.message.contains(
            "Value '300' at 'changeBatch.changes.1.member.resourceRecordSet.weight' failed to satisfy constraint"
        ),
        "{}",
        err.message
    );
    let action = change_request(
        "<R><ChangeBatch><Changes><Change><Action>MOVE</Action><ResourceRecordSet><Name>a</Name><Type>A</Type></ResourceRecordSet></Change></Changes></ChangeBatch></R>",
    );
    let err = action.decode::<ChangeInput>().expect_err("enum");
    assert!(
        err.message.contains("enum value set: [CREATE, DELETE]"),
        "{}",
        err.message
    );
    let bad = RestRequest::parse(ROUTES, "POST", "/2013-04-01/hostedzone", None, b"<a><b></a>").expect_err("malformed");
    assert_eq!(bad.code, "InvalidInput");
}

#[derive(Serialize)]
#[serde(rename = "NameServer")]
struct NameServer(String);

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DelegationSet {
    name_servers: Vec<NameServer>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "HostedZone")]
struct HostedZone {
    id: String,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOutput {
    hosted_zones: Vec<HostedZone>,
    delegation_set: DelegationSet,
    is_truncated: bool,
    next_marker: Option<String>,
}

#[test]
fn responses_name_list_items_by_type() {
    let out = ListOutput {
        hosted_zones: vec![HostedZone {
            id: "/hostedzone/Z1".into(),
            name: "a&b.com.".into(),
        }],
        delegation_set: DelegationSet {
            name_servers: vec![NameServer("ns-1.awsdns-00.com".into())],
        },
        is_truncated: false,
        next_marker: None,
    };
    let doc = response(Flavour::RestXml, "ListHostedZones", NS, "rid", &out);
    assert!(
        doc.ends_with(
            "<ListHostedZonesResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\
         <HostedZones><HostedZone><Id>/hostedzone/Z1</Id><Name>a&amp;b.com.</Name></HostedZone></HostedZones>\
         <DelegationSet><NameServers><NameServer>ns-1.awsdns-00.com</NameServer></NameServers></DelegationSet>\
         <IsTruncated>false</IsTruncated></ListHostedZonesResponse>"
        ),
        "{doc}"
    );
    let unnamed = crate::xml::try_response(Flavour::RestXml, "X", NS, "rid", &serde_json::json!({"Names": ["a"]}));
    assert_eq!(unnamed.expect_err("plain strings have no element name").status, 500);
    let err = AwsError::new("NoSuchHostedZone", 404, "No hosted zone found with ID: Z1");
    let doc = error_response(Flavour::RestXml, NS, "rid", &err);
    assert!(
        doc.ends_with(
            "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type>\
         <Code>NoSuchHostedZone</Code><Message>No hosted zone found with ID: Z1</Message></Error>\
         <RequestId>rid</RequestId></ErrorResponse>"
        ),
        "{doc}"
    );
}
