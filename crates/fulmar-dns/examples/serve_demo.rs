//! Serve a small demo zone on 127.0.0.1:8053 for trying the server with dig:
//! `dig @127.0.0.1 -p 8053 www.demo.test`.

use std::sync::Arc;

use fulmar_dns::{AllHealthy, DnsServer, Options};
use fulmar_model::route53::{HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::Config;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut c = Config::default();
    c.hosted_zones.insert(
        "Z1".into(),
        Arc::new(HostedZone {
            id: "Z1".into(),
            name: "demo.test.".into(),
            caller_reference: "r".into(),
            comment: None,
            private: false,
            vpcs: Vec::new(),
            name_servers: Vec::new(),
            created_ms: 0,
            tags: Vec::new(),
        }),
    );
    let big: Vec<String> = (0..100).map(|i| format!("10.0.0.{i}")).collect();
    for (name, values) in [
        ("www.demo.test.", vec!["192.0.2.1".to_string()]),
        ("big.demo.test.", big),
    ] {
        let r = RecordSet {
            zone_id: "Z1".into(),
            name: name.into(),
            rtype: "A".into(),
            set_identifier: None,
            ttl: Some(60),
            records: values,
            alias: None,
            health_check_id: None,
            policy: RoutingPolicy::Simple,
        };
        c.record_sets.insert(r.key(), Arc::new(r));
    }
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(c));
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8053".into());
    let server = DnsServer::start(
        addr.parse().expect("an address"),
        rx,
        Arc::new(AllHealthy),
        Options::default(),
    )?;
    println!("serving demo.test on {}", server.local_addr());
    tokio::signal::ctrl_c().await
}
