//! How long a large zone takes to compile, and how fast it then answers: prints a
//! table. `cargo run --release -p fulmar-dns --example load_zone -- 1000000`

use std::sync::Arc;
use std::time::Instant;

use fulmar_dns::{answer, AllHealthy, Client, Options, ZoneIndex};
use fulmar_model::route53::{HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::Config;
use hickory_proto::op::Query;
use hickory_proto::rr::{Name, RecordType};
use rand::SeedableRng;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut c = Config::default();
    c.hosted_zones.insert(
        "Z1".into(),
        Arc::new(HostedZone {
            id: "Z1".into(),
            name: "big.test.".into(),
            caller_reference: "r".into(),
            comment: None,
            private: false,
            vpcs: Vec::new(),
            name_servers: Vec::new(),
            created_ms: 0,
            tags: Vec::new(),
        }),
    );
    for i in 0..n {
        let (set, policy) = if i % 10 == 0 {
            (Some("a".to_string()), RoutingPolicy::Weighted(1))
        } else {
            (None, RoutingPolicy::Simple)
        };
        let r = RecordSet {
            zone_id: "Z1".into(),
            name: format!("h{i}.s{}.big.test.", i % 1000),
            rtype: "A".into(),
            set_identifier: set,
            ttl: Some(300),
            records: vec![format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)],
            alias: None,
            health_check_id: None,
            policy,
        };
        c.record_sets.insert(r.key(), Arc::new(r));
    }
    let t = Instant::now();
    let ix = ZoneIndex::build(&c);
    let build = t.elapsed();
    let opts = Options::default();
    let client = Client {
        addr: "127.0.0.1".parse().unwrap(),
        subnet: None,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let queries: Vec<Query> = (0..100_000)
        .map(|i| {
            Query::query(
                Name::from_ascii(format!("h{}.s{}.big.test.", i * 7 % n, (i * 7 % n) % 1000)).unwrap(),
                RecordType::A,
            )
        })
        .collect();
    let t = Instant::now();
    for q in &queries {
        std::hint::black_box(answer(&ix, q, &client, &AllHealthy, &opts, &mut rng));
    }
    let per = t.elapsed() / queries.len() as u32;
    println!("| record sets | index build | answer (per query) |");
    println!("|---|---|---|");
    println!("| {n} | {build:.2?} | {per:.2?} |");
}
