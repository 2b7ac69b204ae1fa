//! Rule evaluation cost: 100 rules of 5 conditions each, none matching, so every
//! request falls through to the default rule (the worst case for a listener), once
//! with distinct hosts and once with a host pattern every rule shares.
//! Run with `cargo bench -p fulmar-routing`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use fulmar_model::{Action, ActionKind, Condition, FixedResponseConfig, Listener, QueryStringPair, Rule};
use fulmar_routing::rules::{RequestView, RuleTable};
use fulmar_routing::wildcard::Pattern;

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

/// `shared_host`: every rule has `*.example.com`, which matches, so the path decides.
fn table(shared_host: bool) -> RuleTable {
    let listener = Listener {
        arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/b/1/2".into(),
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
    };
    let rules: Vec<Rule> = (1..=100)
        .map(|i| Rule {
            arn: format!("rule-{i}"),
            listener_arn: listener.arn.clone(),
            priority: i,
            conditions: vec![
                Condition::HostHeader(vec![if shared_host {
                    "*.example.com".to_string()
                } else {
                    format!("svc{i}.*.example.com")
                }]),
                Condition::PathPattern(vec![format!("/api/v{i}/*")]),
                Condition::HttpHeader {
                    name: "X-Tenant".into(),
                    values: vec![format!("tenant-{i}-*")],
                },
                Condition::HttpRequestMethod(vec!["GET".into(), "POST".into()]),
                Condition::QueryString(vec![QueryStringPair {
                    key: Some("v".into()),
                    value: format!("{i}"),
                }]),
            ],
            actions: vec![fixed("200")],
            tags: vec![],
            legacy_values: vec![],
        })
        .collect();
    RuleTable::new(&listener, &rules)
}

fn bench(c: &mut Criterion) {
    let distinct = table(false);
    let headers = [
        ("Host", "www.example.com"),
        ("User-Agent", "curl/8"),
        ("X-Tenant", "other"),
    ];
    let req = RequestView {
        method: "GET",
        host: Some("www.example.com:8080"),
        path: "/static/app.js",
        query: Some("v=0"),
        headers: &headers,
        source_ip: "192.0.2.1".parse().expect("literal address"),
    };
    assert_eq!(distinct.evaluate(&req).priority, None);
    c.bench_function("100 rules x 5 conditions, default matches", |b| {
        b.iter(|| black_box(distinct.evaluate(black_box(&req))).priority)
    });
    let shared = table(true);
    assert_eq!(shared.evaluate(&req).priority, None);
    c.bench_function("100 rules x 5 conditions, hosts match, paths do not", |b| {
        b.iter(|| black_box(shared.evaluate(black_box(&req))).priority)
    });
    let p = Pattern::new("*.example.com", true, false);
    c.bench_function("host wildcard", |b| b.iter(|| p.matches(black_box("WWW.Example.com"))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
