//! Tests of response and error documents.

use super::*;
use serde::Serialize;

const NS: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: Option<String>,
}

#[derive(Serialize)]
enum Scheme {
    #[serde(rename = "internet-facing")]
    InternetFacing,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LoadBalancer {
    load_balancer_name: String,
    scheme: Scheme,
    port: u16,
    enabled: bool,
    security_groups: Vec<String>,
    tags: Vec<Tag>,
    dns_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeResult {
    load_balancers: Vec<LoadBalancer>,
    next_marker: Option<String>,
}

fn body(doc: &str) -> &str {
    doc.strip_prefix(PROLOGUE).map(str::trim_start).unwrap_or(doc)
}

#[test]
fn query_flavour_document() {
    let result = DescribeResult {
        load_balancers: vec![LoadBalancer {
            load_balancer_name: "a<b>&'c\"".into(),
            scheme: Scheme::InternetFacing,
            port: 443,
            enabled: true,
            security_groups: vec![],
            tags: vec![Tag {
                key: "k".into(),
                value: None,
            }],
            dns_name: None,
        }],
        next_marker: None,
    };
    let doc = response(Flavour::Query, "DescribeLoadBalancers", NS, "rid-1", &result);
    assert_eq!(
        body(&doc),
        format!(
            "<DescribeLoadBalancersResponse xmlns=\"{NS}\"><DescribeLoadBalancersResult>\
             <LoadBalancers><member><LoadBalancerName>a&lt;b&gt;&amp;&apos;c&quot;</LoadBalancerName>\
             <Scheme>internet-facing</Scheme><Port>443</Port><Enabled>true</Enabled>\
             <SecurityGroups/><Tags><member><Key>k</Key></member></Tags></member></LoadBalancers>\
             </DescribeLoadBalancersResult><ResponseMetadata><RequestId>rid-1</RequestId>\
             </ResponseMetadata></DescribeLoadBalancersResponse>"
        )
    );
}

#[derive(Serialize)]
struct Empty;

#[test]
fn empty_result() {
    for doc in [
        response(Flavour::Query, "DeleteListener", NS, "r", &Empty),
        response(Flavour::Query, "DeleteListener", NS, "r", &()),
    ] {
        assert!(body(&doc).starts_with(&format!(
            "<DeleteListenerResponse xmlns=\"{NS}\"><DeleteListenerResult/><ResponseMetadata>"
        )));
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Vpc {
    vpc_id: String,
    cidr_block: String,
    is_default: bool,
    tag_set: Vec<Ec2Tag>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ec2Tag {
    key: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeVpcs {
    vpc_set: Vec<Vpc>,
}

#[test]
fn ec2_flavour_document() {
    let result = DescribeVpcs {
        vpc_set: vec![Vpc {
            vpc_id: "vpc-1".into(),
            cidr_block: "10.0.0.0/16".into(),
            is_default: false,
            tag_set: vec![Ec2Tag {
                key: "Name".into(),
                value: "x".into(),
            }],
        }],
    };
    let ns = "http://ec2.amazonaws.com/doc/2016-11-15/";
    let doc = response(Flavour::Ec2, "DescribeVpcs", ns, "rid", &result);
    assert_eq!(
        body(&doc),
        format!(
            "<DescribeVpcsResponse xmlns=\"{ns}\"><requestId>rid</requestId><vpcSet><item>\
             <vpcId>vpc-1</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><isDefault>false</isDefault>\
             <tagSet><item><key>Name</key><value>x</value></item></tagSet></item></vpcSet>\
             </DescribeVpcsResponse>"
        )
    );
}

#[test]
fn maps_render_as_entries() {
    let mut m = std::collections::BTreeMap::new();
    m.insert("a", 1);
    #[derive(Serialize)]
    struct R {
        #[serde(rename = "Attrs")]
        attrs: std::collections::BTreeMap<&'static str, i32>,
    }
    let doc = response(Flavour::Query, "X", NS, "r", &R { attrs: m });
    assert!(
        doc.contains("<Attrs><entry><key>a</key><value>1</value></entry></Attrs>"),
        "{doc}"
    );
}

#[test]
fn error_documents() {
    let err = AwsError::new(
        "LoadBalancerNotFound",
        400,
        "One or more load balancers not found & <gone>",
    );
    let doc = error_response(Flavour::Query, NS, "rid", &err);
    assert_eq!(
        body(&doc),
        format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code>\
             <Message>One or more load balancers not found &amp; &lt;gone&gt;</Message></Error>\
             <RequestId>rid</RequestId></ErrorResponse>"
        )
    );
    let doc = error_response(Flavour::Query, NS, "rid", &AwsError::internal("x"));
    assert!(doc.contains("<Type>Receiver</Type>"));
    let err = AwsError::new("InvalidVpcID.NotFound", 400, "The vpc ID 'vpc-1' does not exist");
    assert_eq!(
        body(&error_response(Flavour::Ec2, "ignored", "rid", &err)),
        "<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code>\
         <Message>The vpc ID &apos;vpc-1&apos; does not exist</Message></Error></Errors>\
         <RequestID>rid</RequestID></Response>"
    );
}

#[test]
fn escaping_control_characters() {
    let mut out = String::new();
    escape_into(&mut out, "a\r\n\tb\u{1}");
    assert_eq!(out, "a&#13;\n\tb\u{fffd}");
}

#[test]
fn escaping_matches_the_character_rules() {
    // The byte-run escaper against the rules applied one character at a time.
    fn by_chars(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                '\r' => out.push_str("&#13;"),
                '\t' | '\n' => out.push(c),
                c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
                c => out.push(c),
            }
        }
        out
    }
    let samples = [
        "",
        "plain",
        "a&b<c>d\"e'f",
        "\r\n\t\u{0}\u{1f}x",
        "é\u{fffe}ü\u{ffff}\u{fffd}\u{efbf}😀&",
        "\u{ffff}",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/b/c",
    ];
    for text in samples {
        let mut out = String::new();
        escape_into(&mut out, text);
        assert_eq!(out, by_chars(text), "{text:?}");
        let mut formatted = String::new();
        std::fmt::Write::write_fmt(&mut super::Escaping(&mut formatted), format_args!("{text}")).unwrap();
        assert_eq!(formatted, out);
    }
}

#[test]
fn request_ids_are_uuid_v4_shaped() {
    let id = request_id();
    let parts: Vec<_> = id.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12]);
    assert_eq!(&id[14..15], "4");
    assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    assert_ne!(id, request_id());
}
