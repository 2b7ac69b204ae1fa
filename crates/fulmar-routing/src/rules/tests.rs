//! Unit tests for condition matching and rule-table evaluation.

use std::net::IpAddr;

use fulmar_model::{Action, ActionKind, Condition, FixedResponseConfig, Listener, QueryStringPair, Rule};

use super::*;

const LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";

fn req<'a>(headers: &'a [(&'a str, &'a str)]) -> RequestView<'a> {
    RequestView {
        method: "GET",
        host: Some("www.example.com"),
        path: "/",
        query: None,
        headers,
        source_ip: "192.0.2.10".parse().expect("literal address"),
    }
}

fn host(values: &[&str]) -> Condition {
    Condition::HostHeader(values.iter().map(|s| s.to_string()).collect())
}

fn path(values: &[&str]) -> Condition {
    Condition::PathPattern(values.iter().map(|s| s.to_string()).collect())
}

fn query(pairs: &[(Option<&str>, &str)]) -> Condition {
    Condition::QueryString(
        pairs
            .iter()
            .map(|(k, v)| QueryStringPair {
                key: k.map(str::to_string),
                value: v.to_string(),
            })
            .collect(),
    )
}

#[test]
fn host_header_is_case_insensitive_and_ignores_port() {
    let c = host(&["*.example.com"]);
    let mut r = req(&[]);
    r.host = Some("API.Example.COM:8080");
    assert!(condition_matches(&c, &r));
    r.host = Some("example.com");
    assert!(!condition_matches(&c, &r), "*.example.com must not match example.com");
    r.host = None;
    assert!(!condition_matches(&c, &r));
    r.host = Some("a.example.co?");
    assert!(condition_matches(&host(&["?.example.co?"]), &r));
    r.host = Some("ab.example.com");
    assert!(!condition_matches(&host(&["?.example.com"]), &r));
}

#[test]
fn strip_port_handles_ipv6() {
    assert_eq!(strip_port("example.com:443"), "example.com");
    assert_eq!(strip_port("example.com"), "example.com");
    assert_eq!(strip_port("[2001:db8::1]:8080"), "[2001:db8::1]");
    assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
}

#[test]
fn path_pattern_is_case_sensitive_and_path_only() {
    let c = path(&["/img/*"]);
    let mut r = req(&[]);
    r.path = "/img/a.png";
    r.query = Some("x=/img/");
    assert!(condition_matches(&c, &r));
    r.path = "/IMG/a.png";
    assert!(!condition_matches(&c, &r));
    r.path = "/";
    assert!(!condition_matches(&c, &r), "the query is never part of the path");
}

#[test]
fn http_header_name_and_values_fold_and_repeats_are_tried() {
    let c = Condition::HttpHeader {
        name: "user-agent".into(),
        values: vec!["*chrome*".into()],
    };
    assert!(condition_matches(&c, &req(&[("User-Agent", "Mozilla CHROME/1")])));
    assert!(condition_matches(
        &c,
        &req(&[("User-Agent", "curl"), ("user-agent", "Chrome")])
    ));
    assert!(!condition_matches(&c, &req(&[("User-Agent", "curl")])));
    assert!(!condition_matches(&c, &req(&[("X-Agent", "chrome")])));
}

#[test]
fn query_string_key_optional_any_pair_and_escapes() {
    let mut r = req(&[]);
    r.query = Some("a=1&Version=V1&flag");
    assert!(condition_matches(&query(&[(Some("version"), "v1")]), &r));
    assert!(
        condition_matches(&query(&[(None, "v?")]), &r),
        "no key: any key's value"
    );
    assert!(condition_matches(&query(&[(Some("nope"), "x"), (Some("a"), "1")]), &r));
    assert!(
        condition_matches(&query(&[(Some("flag"), "")]), &r),
        "bare key, empty value"
    );
    assert!(!condition_matches(&query(&[(Some("a"), "2")]), &r));
    r.query = Some("q=what%3F&s=a%2Ab");
    assert!(
        condition_matches(&query(&[(Some("q"), r"what\?")]), &r),
        "decoded before match"
    );
    assert!(condition_matches(&query(&[(Some("s"), r"a\*b")]), &r));
    r.query = Some("s=axb");
    assert!(
        !condition_matches(&query(&[(Some("s"), r"a\*b")]), &r),
        "escaped * is literal"
    );
    r.query = None;
    assert!(!condition_matches(&query(&[(None, "*")]), &r));
}

#[test]
fn method_is_exact_and_case_sensitive() {
    let c = Condition::HttpRequestMethod(vec!["POST".into(), "CUSTOM-METHOD".into()]);
    let mut r = req(&[]);
    r.method = "POST";
    assert!(condition_matches(&c, &r));
    r.method = "post";
    assert!(!condition_matches(&c, &r));
    r.method = "GET";
    assert!(!condition_matches(&c, &r));
}

#[test]
fn source_ip_cidrs_v4_v6_and_mapped() {
    let nets = |s: &[&str]| Condition::SourceIp(s.iter().map(|n| n.parse().expect("cidr")).collect());
    let mut r = req(&[]);
    assert!(condition_matches(&nets(&["192.0.2.0/24"]), &r));
    assert!(!condition_matches(&nets(&["198.51.100.0/24"]), &r));
    r.source_ip = "::ffff:192.0.2.10".parse::<IpAddr>().expect("mapped");
    assert!(
        condition_matches(&nets(&["192.0.2.0/24"]), &r),
        "mapped v6 matches v4 CIDR"
    );
    r.source_ip = "2001:db8::5".parse::<IpAddr>().expect("v6");
    assert!(condition_matches(&nets(&["2001:db8::/32"]), &r));
    assert!(!condition_matches(&nets(&["192.0.2.0/24"]), &r));
    r.source_ip = "192.0.2.10".parse::<IpAddr>().expect("v4");
    assert!(condition_matches(&nets(&["::ffff:192.0.2.0/120"]), &r));
}

fn fixed(code: &str) -> Action {
    Action {
        order: None,
        kind: ActionKind::FixedResponse(FixedResponseConfig {
            status_code: code.into(),
            content_type: None,
            message_body: None,
        }),
    }
}

fn listener() -> Listener {
    Listener {
        arn: LISTENER.into(),
        load_balancer_arn: String::new(),
        port: 80,
        protocol: "HTTP".into(),
        default_actions: vec![fixed("404")],
        certificates: vec![],
        ssl_policy: None,
        alpn_policy: vec![],
        tags: vec![],
        attributes: Default::default(),
        mutual_authentication: None,
    }
}

fn rule(priority: u32, conditions: Vec<Condition>, code: &str) -> Rule {
    Rule {
        arn: format!("rule-{priority}"),
        listener_arn: LISTENER.into(),
        priority,
        conditions,
        actions: vec![fixed(code)],
        tags: vec![],
        legacy_values: vec![],
    }
}

fn status(m: &Matched<'_>) -> String {
    match &m.action.kind {
        ActionKind::FixedResponse(f) => f.status_code.clone(),
        other => panic!("unexpected action {other:?}"),
    }
}

#[test]
fn lowest_priority_wins_and_default_is_last() {
    let rules = [
        rule(20, vec![path(&["/*"])], "220"),
        rule(5, vec![path(&["/api/*"]), host(&["*.example.com"])], "205"),
        rule(10, vec![path(&["/api/*"])], "210"),
    ];
    let table = RuleTable::new(&listener(), &rules);
    let mut r = req(&[]);
    r.path = "/api/x";
    let m = table.evaluate(&r);
    assert_eq!(
        (m.priority, m.rule_arn, status(&m).as_str()),
        (Some(5), "rule-5", "205")
    );
    r.host = Some("other.org");
    assert_eq!(table.evaluate(&r).priority, Some(10));
    r.path = "/x";
    assert_eq!(table.evaluate(&r).priority, Some(20));
    r.path = "nothing";
    let m = table.evaluate(&r);
    assert_eq!(m.priority, None);
    assert_eq!(status(&m), "404");
    assert_eq!(m.rule_arn, default_rule_arn(LISTENER));
}

#[test]
fn all_conditions_must_match() {
    let rules = [rule(
        1,
        vec![path(&["/a"]), Condition::HttpRequestMethod(vec!["POST".into()])],
        "201",
    )];
    let table = RuleTable::new(&listener(), &rules);
    let mut r = req(&[]);
    r.path = "/a";
    assert_eq!(table.evaluate(&r).priority, None);
    r.method = "POST";
    assert_eq!(table.evaluate(&r).priority, Some(1));
}

#[test]
fn terminal_action_is_last_by_order() {
    let mut a = fixed("201");
    let mut b = fixed("202");
    a.order = Some(2);
    b.order = Some(1);
    let actions = [a, b];
    assert_eq!(terminal_action(&actions), Some(&actions[0]));
    let unordered = [fixed("201"), fixed("202")];
    assert_eq!(terminal_action(&unordered), Some(&unordered[1]), "list order");
    assert_eq!(terminal_action(&[]), None);
}

#[test]
fn default_rule_arn_shape() {
    let arn = default_rule_arn(LISTENER);
    let prefix = LISTENER.replace(":listener/", ":listener-rule/");
    let suffix = arn.strip_prefix(&format!("{prefix}/")).expect("prefix kept");
    assert_eq!(suffix.len(), 16);
    assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(arn, default_rule_arn(LISTENER), "deterministic");
    assert_ne!(arn, default_rule_arn(&LISTENER.replace("f2f7", "f2f8")));
}

#[test]
fn listener_without_default_actions_answers_503() {
    let mut l = listener();
    l.default_actions.clear();
    let table = RuleTable::new(&l, []);
    assert_eq!(status(&table.evaluate(&req(&[]))), "503");
}

#[test]
fn table_says_whether_it_reads_headers() {
    let plain = RuleTable::new(&listener(), &[rule(1, vec![host(&["a.example.com"])], "200")]);
    assert!(!plain.reads_headers());
    let header = Condition::HttpHeader {
        name: "x-tenant".into(),
        values: vec!["a".into()],
    };
    let with = RuleTable::new(
        &listener(),
        &[rule(1, vec![path(&["/a"])], "200"), rule(2, vec![header], "201")],
    );
    assert!(with.reads_headers());
}

/// Many exact-host rules (indexed by host) interleaved with rules that every request
/// tries: the first match by priority wins either way, hosts compare ASCII
/// case-insensitively without their port, and a request without Host matches no
/// host-header rule. Checked against evaluating the rules one by one.
#[test]
fn exact_host_rules_keep_priority_order() {
    let mut rules = Vec::new();
    for i in 1..=12u32 {
        let conditions = match i % 4 {
            0 => vec![path(&["/any/*"])], // ungated
            1 => vec![host(&[&format!("svc{i}.example.com"), "shared.example.com"])],
            2 => vec![host(&["*.wild.example.com"]), path(&["/w"])], // a wildcard: ungated
            _ => vec![host(&[&format!("SVC{i}.Example.com")]), path(&["/p/*"])],
        };
        rules.push(rule(i * 10, conditions, &format!("{}", 200 + i)));
    }
    let table = RuleTable::new(&listener(), &rules);
    assert!(table.hosts.is_some(), "enough exact-host rules to index");
    let hosts = [
        Some("svc1.example.com"),
        Some("SVC1.EXAMPLE.COM:8080"),
        Some("shared.example.com"),
        Some("svc3.example.com"),
        Some("svc7.example.com"),
        Some("a.wild.example.com"),
        Some("nobody.example.com"),
        Some("svc11.example.com"),
        None,
    ];
    let paths = ["/", "/any/x", "/p/1", "/w"];
    for host in hosts {
        for path in paths {
            let mut r = req(&[]);
            r.host = host;
            r.path = path;
            let got = table.evaluate(&r).priority;
            let prepared = condition::Prepared::new(&r);
            let want = table
                .rules
                .iter()
                .find(|rule| rule.checks.iter().all(|c| c.check.matches(&prepared)))
                .map(|rule| rule.priority);
            assert_eq!(got, want, "host {host:?} path {path}");
        }
    }
    let mut r = req(&[]);
    r.host = Some("Shared.Example.com:80");
    assert_eq!(table.evaluate(&r).priority, Some(10));
    r.path = "/any/1";
    assert_eq!(table.evaluate(&r).priority, Some(10));
    r.host = Some("svc3.example.com");
    r.path = "/any/1";
    assert_eq!(table.evaluate(&r).priority, Some(40));
    r.path = "/p/1";
    assert_eq!(table.evaluate(&r).priority, Some(30));
    r.host = None;
    assert_eq!(table.evaluate(&r).priority, None);
}
