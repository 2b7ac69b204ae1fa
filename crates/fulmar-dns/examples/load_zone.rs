//! How long a large zone takes to compile, and how fast it then answers: prints a
//! table. `cargo run --release -p fulmar-dns --example load_zone -- 1000000`

use std::sync::Arc;
use std::time::{Duration, Instant};

use fulmar_dns::wire::{respond, respond_cached, AnswerCache, Transport};
use fulmar_dns::{answer, AllHealthy, Client, Options, ZoneIndex};
use fulmar_model::route53::{HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::Config;
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use rand::SeedableRng;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let zone = Arc::new(HostedZone {
        id: "Z1".into(),
        name: "big.test.".into(),
        caller_reference: "r".into(),
        comment: None,
        private: false,
        vpcs: Vec::new(),
        name_servers: Vec::new(),
        created_ms: 0,
        tags: Vec::new(),
    });
    let records: Vec<Arc<RecordSet>> = (0..n)
        .map(|i| {
            let (set, policy) = if i % 10 == 0 {
                (Some("a".to_string()), RoutingPolicy::Weighted(1))
            } else {
                (None, RoutingPolicy::Simple)
            };
            Arc::new(RecordSet {
                zone_id: "Z1".into(),
                name: format!("h{i}.s{}.big.test.", i % 1000),
                rtype: "A".into(),
                set_identifier: set,
                ttl: Some(300),
                records: vec![format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)],
                alias: None,
                health_check_id: None,
                policy,
            })
        })
        .collect();
    let mut c = Config::default();
    c.hosted_zones.insert("Z1".into(), zone.clone());
    for r in &records {
        c.record_sets.insert(r.key(), r.clone());
    }
    let t = Instant::now();
    let ix = ZoneIndex::build(&c);
    let build = t.elapsed();

    // As the API loads it: a snapshot per 1,000 record sets, each index derived from
    // the one before.
    let mut inc = Config::default();
    inc.hosted_zones.insert("Z1".into(), zone);
    let mut prev = ZoneIndex::build(&inc);
    let (mut total, mut last) = (Duration::ZERO, Duration::ZERO);
    for chunk in records.chunks(1000) {
        for r in chunk {
            inc.record_sets.insert(r.key(), r.clone());
        }
        let t = Instant::now();
        prev = ZoneIndex::update(&prev, &inc);
        last = t.elapsed();
        total += last;
    }
    assert_eq!(prev.zone(0).node_count(), ix.zone(0).node_count());

    let small = {
        let mut s = Config {
            hosted_zones: c.hosted_zones.clone(),
            ..Config::default()
        };
        for r in records.iter().take(1000) {
            s.record_sets.insert(r.key(), r.clone());
        }
        ZoneIndex::build(&s)
    };
    println!("| record sets | index build | 1,000-record snapshots: all updates | last update |");
    println!("|---|---|---|---|");
    println!("| {n} | {build:.2?} | {total:.2?} | {last:.2?} |");
    println!();
    println!("| zone | answer() | respond(): decode, answer, encode | respond through the cache (hit) |");
    println!("|---|---|---|---|");
    for (label, ix, m) in [("1,000 record sets", &small, 1000.min(n)), ("this zone", &ix, n)] {
        let (a, r, h) = per_query(ix, m);
        println!("| {label} | {a:.2?} | {r:.2?} | {h:.2?} |");
    }
}

/// Per-query times on `ix` for random names of the first `m` record sets.
fn per_query(ix: &ZoneIndex, m: usize) -> (Duration, Duration, Duration) {
    let opts = Options::default();
    let addr = "127.0.0.1".parse().unwrap();
    let client = Client { addr, subnet: None };
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let names: Vec<Name> = (0..100_000usize)
        .map(|i| {
            let j = i.wrapping_mul(7_919) % m;
            Name::from_ascii(format!("h{j}.s{}.big.test.", j % 1000)).unwrap()
        })
        .collect();
    let queries: Vec<Query> = names.iter().map(|n| Query::query(n.clone(), RecordType::A)).collect();
    let t = Instant::now();
    for q in &queries {
        std::hint::black_box(answer(ix, q, &client, &AllHealthy, &opts, &mut rng));
    }
    let a = t.elapsed() / queries.len() as u32;
    let wire: Vec<Vec<u8>> = queries
        .iter()
        .map(|q| {
            let mut m = Message::query();
            m.metadata.id = 1;
            m.add_query(q.clone());
            m.to_vec().unwrap()
        })
        .collect();
    let t = Instant::now();
    for w in &wire {
        std::hint::black_box(respond(ix, w, addr, Transport::Udp, &AllHealthy, &opts, &mut rng));
    }
    let r = t.elapsed() / wire.len() as u32;
    let mut cache = AnswerCache::new();
    let mut out = Vec::new();
    for w in &wire {
        respond_cached(&mut cache, ix, w, addr, &AllHealthy, &opts, &mut rng, &mut out);
    }
    let t = Instant::now();
    for w in &wire {
        respond_cached(&mut cache, ix, w, addr, &AllHealthy, &opts, &mut rng, &mut out);
        std::hint::black_box(&out);
    }
    let h = t.elapsed() / wire.len() as u32;
    (a, r, h)
}
