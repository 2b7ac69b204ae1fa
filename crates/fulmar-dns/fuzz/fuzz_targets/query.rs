//! The query path: arbitrary bytes as a UDP and a TCP request against a zone with
//! every routing policy. Must never panic; any answer must decode.

#![no_main]

use std::sync::{Arc, OnceLock};

use fulmar_dns::wire::{respond, Transport};
use fulmar_dns::{AllHealthy, Options, ZoneIndex};
use fulmar_model::route53::{FailoverRole, HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::Config;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

fn index() -> &'static ZoneIndex {
    static INDEX: OnceLock<ZoneIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut c = Config::default();
        c.hosted_zones.insert(
            "Z1".into(),
            Arc::new(HostedZone {
                id: "Z1".into(),
                name: "example.com.".into(),
                caller_reference: "r".into(),
                comment: None,
                private: false,
                vpcs: Vec::new(),
                name_servers: Vec::new(),
                created_ms: 0,
                tags: Vec::new(),
            }),
        );
        let sets = [
            ("www.example.com.", "A", None, RoutingPolicy::Simple, vec!["192.0.2.1"]),
            ("*.example.com.", "TXT", None, RoutingPolicy::Simple, vec!["\"hi\""]),
            (
                "c.example.com.",
                "CNAME",
                None,
                RoutingPolicy::Simple,
                vec!["www.example.com."],
            ),
            (
                "sub.example.com.",
                "NS",
                None,
                RoutingPolicy::Simple,
                vec!["ns.sub.example.com."],
            ),
            (
                "ns.sub.example.com.",
                "A",
                None,
                RoutingPolicy::Simple,
                vec!["192.0.2.53"],
            ),
            (
                "w.example.com.",
                "A",
                Some("a"),
                RoutingPolicy::Weighted(1),
                vec!["10.0.0.1"],
            ),
            (
                "w.example.com.",
                "A",
                Some("b"),
                RoutingPolicy::Weighted(2),
                vec!["10.0.0.2"],
            ),
            (
                "f.example.com.",
                "A",
                Some("p"),
                RoutingPolicy::Failover(FailoverRole::Primary),
                vec!["10.0.1.1"],
            ),
            (
                "l.example.com.",
                "A",
                Some("x"),
                RoutingPolicy::Latency("eu-west-1".into()),
                vec!["10.0.2.1"],
            ),
            (
                "m.example.com.",
                "A",
                Some("y"),
                RoutingPolicy::MultiValue,
                vec!["10.0.3.1"],
            ),
        ];
        for (name, rtype, set, policy, values) in sets {
            let r = RecordSet {
                zone_id: "Z1".into(),
                name: name.into(),
                rtype: rtype.into(),
                set_identifier: set.map(Into::into),
                ttl: Some(60),
                records: values.into_iter().map(Into::into).collect(),
                alias: None,
                health_check_id: None,
                policy,
            };
            c.record_sets.insert(r.key(), Arc::new(r));
        }
        ZoneIndex::build(&c)
    })
}

fuzz_target!(|data: &[u8]| {
    let opts = Options::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let src = "127.0.0.1".parse().unwrap();
    for transport in [Transport::Udp, Transport::Tcp] {
        if let Some(out) = respond(index(), data, src, transport, &AllHealthy, &opts, &mut rng) {
            assert!(out.len() >= 12, "a response has a header");
        }
    }
});
