use std::sync::Arc;

use fulmar_model::route53::{FailoverRole, HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::Config;
use proptest::prelude::*;

use super::*;

fn zone(c: &mut Config, id: &str, name: &str) {
    c.hosted_zones.insert(
        id.into(),
        Arc::new(HostedZone {
            id: id.into(),
            name: name.into(),
            caller_reference: "r".into(),
            comment: None,
            private: false,
            vpcs: Vec::new(),
            name_servers: Vec::new(),
            created_ms: 0,
            tags: Vec::new(),
        }),
    );
}

fn record(zone: &str, name: &str, rtype: &str, set: Option<&str>, policy: RoutingPolicy, value: &str) -> RecordSet {
    RecordSet {
        zone_id: zone.into(),
        name: name.into(),
        rtype: rtype.into(),
        set_identifier: set.map(str::to_string),
        ttl: Some(300),
        records: vec![value.into()],
        alias: None,
        health_check_id: None,
        policy,
    }
}

fn put(c: &mut Config, r: RecordSet) {
    c.record_sets.insert(r.key(), Arc::new(r));
}

/// Everything an index holds, in a comparable form.
fn dump(ix: &ZoneIndex) -> Vec<String> {
    let mut out = Vec::new();
    for z in ix.zones() {
        out.push(format!("zone {} {} {:?} soa {:?}", z.id, z.name, z.vpcs, z.soa));
        let mut nodes: Vec<String> = z
            .nodes
            .iter()
            .map(|(k, n)| format!("  {k:?} below={} {:?}", n.below, n.groups))
            .collect();
        nodes.sort();
        out.extend(nodes);
    }
    out
}

#[test]
fn name_keys_are_suffixes() {
    let n = Name::from_ascii("WWW.Example.COM.").unwrap();
    let k = NameKey::new(&n);
    assert_eq!(k.labels(), 3);
    assert_eq!(k.as_bytes(), b"\x03www\x07example\x03com");
    assert_eq!(k.suffix(1), b"\x03com");
    assert_eq!(k.suffix(2), b"\x07example\x03com");
    assert_eq!(k.suffix(0), b"");
    let mut buf = [0u8; 258];
    assert_eq!(k.wildcard(2, &mut buf), b"\x01*\x07example\x03com");
    assert_eq!(NameKey::new(&Name::root()).as_bytes(), b"");
}

#[test]
fn empty_non_terminals_come_and_go() {
    let mut c = Config::default();
    zone(&mut c, "Z1", "example.com.");
    let a = ZoneIndex::build(&c);
    let deep = record(
        "Z1",
        "a.b.c.example.com.",
        "A",
        None,
        RoutingPolicy::Simple,
        "192.0.2.1",
    );
    put(&mut c, deep.clone());
    let b = ZoneIndex::update(&a, &c);
    let z = b.zone(0);
    assert!(z.node_of(&Name::from_ascii("b.c.example.com.").unwrap()).is_some());
    assert!(z.node_of(&Name::from_ascii("c.example.com.").unwrap()).is_some());
    assert_eq!(z.node_count(), 4);
    c.record_sets.remove(&deep.key());
    let d = ZoneIndex::update(&b, &c);
    assert_eq!(d.zone(0).node_count(), 1);
    // The earlier index is untouched.
    assert_eq!(b.zone(0).node_count(), 4);
    assert_eq!(dump(&d), dump(&a));
}

#[derive(Debug, Clone)]
enum Change {
    Put(usize, usize, usize, u8),
    Delete(usize, usize, usize),
}

const NAMES: [&str; 6] = [
    "example.com.",
    "a.example.com.",
    "x.a.example.com.",
    "y.x.a.example.com.",
    "*.example.com.",
    "b.example.com.",
];
const TYPES: [&str; 3] = ["A", "TXT", "SOA"];

fn apply(c: &mut Config, ch: &Change) {
    let policy = |set: usize| match set {
        0 => (None, RoutingPolicy::Simple),
        1 => (Some("p"), RoutingPolicy::Failover(FailoverRole::Primary)),
        _ => (Some("s"), RoutingPolicy::Failover(FailoverRole::Secondary)),
    };
    match *ch {
        Change::Put(n, t, s, v) => {
            let (set, pol) = policy(s);
            let value = match TYPES[t] {
                "A" => format!("192.0.2.{v}"),
                "TXT" => format!("\"v{v}\""),
                _ => format!("ns-{v}.example.net. h.example.net. {v} 7200 900 1209600 86400"),
            };
            let zone_id = if n == 5 && v % 2 == 0 { "Z2" } else { "Z1" };
            put(c, record(zone_id, NAMES[n], TYPES[t], set, pol, &value));
        }
        Change::Delete(n, t, s) => {
            let (set, _) = policy(s);
            for z in ["Z1", "Z2"] {
                c.record_sets
                    .remove(&fulmar_model::route53::record_key(z, NAMES[n], TYPES[t], set));
            }
        }
    }
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..NAMES.len(), 0..TYPES.len(), 0..3usize, 0..4u8).prop_map(|(n, t, s, v)| Change::Put(n, t, s, v)),
        (0..NAMES.len(), 0..TYPES.len(), 0..3usize).prop_map(|(n, t, s)| Change::Delete(n, t, s)),
    ]
}

proptest! {
    /// Updating an index snapshot by snapshot gives what building the last one does.
    #[test]
    fn update_equals_build(batches in proptest::collection::vec(proptest::collection::vec(change(), 1..6), 1..8),
                           zone_at in 0..8usize) {
        let mut c = Config::default();
        zone(&mut c, "Z1", "example.com.");
        let mut ix = ZoneIndex::build(&c);
        for (i, batch) in batches.iter().enumerate() {
            if i == zone_at {
                zone(&mut c, "Z2", "b.example.com.");
            }
            for ch in batch {
                apply(&mut c, ch);
            }
            ix = ZoneIndex::update(&ix, &c);
            prop_assert_eq!(dump(&ix), dump(&ZoneIndex::build(&c)));
        }
    }
}

/// A zone big enough to be parsed on several threads compiles to the same index as the
/// same record sets applied one by one.
#[test]
fn parallel_fill_equals_applying_one_by_one() {
    let mut c = Config::default();
    zone(&mut c, "Z1", "big.test.");
    let n = PARALLEL_FILL + 1_000;
    for i in 0..n {
        let name = format!("h{i}.s{}.big.test.", i % 97);
        let value = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        match i % 10 {
            0 => {
                put(
                    &mut c,
                    record("Z1", &name, "A", Some("a"), RoutingPolicy::Weighted(1), &value),
                );
                put(
                    &mut c,
                    record("Z1", &name, "A", Some("b"), RoutingPolicy::Weighted(3), "10.9.9.9"),
                );
            }
            1 => put(&mut c, record("Z1", &name, "TXT", None, RoutingPolicy::Simple, "\"t\"")),
            2 => put(
                &mut c,
                record("Z1", &name, "CNAME", None, RoutingPolicy::Simple, "target.example"),
            ),
            3 => put(
                &mut c,
                record("Z1", "elsewhere.example.", "A", None, RoutingPolicy::Simple, &value),
            ),
            _ => put(&mut c, record("Z1", &name, "A", None, RoutingPolicy::Simple, &value)),
        }
    }
    put(
        &mut c,
        record(
            "Z1",
            "big.test.",
            "SOA",
            None,
            RoutingPolicy::Simple,
            "ns.big.test. h.big.test. 7 1 1 1 1",
        ),
    );
    let parallel = ZoneIndex::build(&c);
    // The same zone, but present (empty) in the previous index: patched one by one.
    let mut empty = c.clone();
    empty.record_sets = Default::default();
    let one_by_one = ZoneIndex::update(&ZoneIndex::build(&empty), &c);
    assert!(parallel.zone(0).node_count() > n / 2);
    assert_eq!(dump(&parallel), dump(&one_by_one));
}
