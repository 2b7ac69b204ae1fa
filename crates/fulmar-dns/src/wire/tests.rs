use std::sync::Arc;

use fulmar_model::route53::{HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::Config;
use hickory_proto::op::Query;
use hickory_proto::rr::{Name, RecordType};
use proptest::prelude::*;
use rand::rngs::StdRng;

use super::*;

fn config() -> Config {
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
    let big: Vec<String> = (0..100).map(|i| format!("10.0.{}.{}", i / 256, i % 256)).collect();
    for (name, policy, records) in [
        ("www.example.com.", RoutingPolicy::Simple, vec!["192.0.2.1".to_string()]),
        ("big.example.com.", RoutingPolicy::Simple, big),
    ] {
        let r = RecordSet {
            zone_id: "Z1".into(),
            name: name.into(),
            rtype: "A".into(),
            set_identifier: None,
            ttl: Some(60),
            records,
            alias: None,
            health_check_id: None,
            policy,
        };
        c.record_sets.insert(r.key(), Arc::new(r));
    }
    let lat = RecordSet {
        zone_id: "Z1".into(),
        name: "lat.example.com.".into(),
        rtype: "A".into(),
        set_identifier: Some("x".into()),
        ttl: Some(60),
        records: vec!["192.0.2.9".into()],
        alias: None,
        health_check_id: None,
        policy: RoutingPolicy::Latency("us-east-1".into()),
    };
    c.record_sets.insert(lat.key(), Arc::new(lat));
    c
}

fn query(name: &str, edns: Option<Edns>) -> Message {
    let mut m = Message::query();
    m.metadata.id = 4242;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    if let Some(e) = edns {
        m.set_edns(e);
    }
    m
}

fn send(ix: &ZoneIndex, bytes: &[u8], transport: Transport) -> Option<Message> {
    let out = respond(
        ix,
        bytes,
        "127.0.0.1".parse().unwrap(),
        transport,
        &crate::AllHealthy,
        &Options::default(),
        &mut StdRng::seed_from_u64(0),
    )?;
    Some(Message::from_vec(&out).expect("responses decode"))
}

#[test]
fn garbage_with_an_id_gets_formerr() {
    let ix = ZoneIndex::build(&config());
    let mut bytes = query("www.example.com.", None).to_vec().unwrap();
    bytes.truncate(bytes.len() - 3);
    let r = send(&ix, &bytes, Transport::Udp).unwrap();
    assert_eq!((r.metadata.id, r.metadata.response_code), (4242, ResponseCode::FormErr));
    assert_eq!(r.metadata.message_type, MessageType::Response);
    assert!(send(&ix, &[1, 2, 3], Transport::Udp).is_none(), "no header: dropped");
}

#[test]
fn responses_are_not_answered() {
    let ix = ZoneIndex::build(&config());
    let mut m = query("www.example.com.", None);
    m.metadata.message_type = MessageType::Response;
    assert!(send(&ix, &m.to_vec().unwrap(), Transport::Udp).is_none());
}

#[test]
fn two_questions_get_formerr_and_other_opcodes_notimp() {
    let ix = ZoneIndex::build(&config());
    let mut m = query("www.example.com.", None);
    m.add_query(Query::query(Name::from_ascii("example.com.").unwrap(), RecordType::A));
    let r = send(&ix, &m.to_vec().unwrap(), Transport::Udp).unwrap();
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    let mut m = query("www.example.com.", None);
    m.metadata.op_code = OpCode::Status;
    let r = send(&ix, &m.to_vec().unwrap(), Transport::Udp).unwrap();
    assert_eq!(r.metadata.response_code, ResponseCode::NotImp);
}

#[test]
fn answers_are_authoritative_without_recursion() {
    let ix = ZoneIndex::build(&config());
    let mut m = query("www.example.com.", None);
    m.metadata.recursion_desired = true;
    let r = send(&ix, &m.to_vec().unwrap(), Transport::Udp).unwrap();
    assert!(r.metadata.authoritative && r.metadata.recursion_desired && !r.metadata.recursion_available);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.queries, m.queries);
    assert!(r.edns.is_none(), "no OPT unless asked");
}

#[test]
fn edns_version_above_zero_gets_badvers() {
    let ix = ZoneIndex::build(&config());
    let mut e = Edns::new();
    e.set_version(1);
    let r = send(
        &ix,
        &query("www.example.com.", Some(e)).to_vec().unwrap(),
        Transport::Udp,
    )
    .unwrap();
    // BADVERS and BADSIG share code 16; hickory decodes it as BADSIG.
    assert_eq!(u16::from(r.metadata.response_code), 16);
}

#[test]
fn client_subnet_is_echoed_with_scope() {
    let ix = ZoneIndex::build(&config());
    for (name, scope) in [("www.example.com.", 0), ("lat.example.com.", 24)] {
        let mut e = Edns::new();
        e.options_mut().insert(EdnsOption::Subnet(ClientSubnet::new(
            "198.51.100.77".parse().unwrap(),
            24,
            0,
        )));
        let r = send(&ix, &query(name, Some(e)).to_vec().unwrap(), Transport::Udp).unwrap();
        let Some(EdnsOption::Subnet(cs)) = r.edns.as_ref().unwrap().option(EdnsCode::Subnet) else {
            panic!("no client subnet echoed")
        };
        assert_eq!(
            (cs.addr().to_string().as_str(), cs.source_prefix(), cs.scope_prefix()),
            ("198.51.100.0", 24, scope)
        );
    }
}

#[test]
fn large_udp_answers_truncate_unless_edns_allows_them() {
    let ix = ZoneIndex::build(&config());
    let plain = query("big.example.com.", None).to_vec().unwrap();
    let r = send(&ix, &plain, Transport::Udp).unwrap();
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    let r = send(&ix, &plain, Transport::Tcp).unwrap();
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 100);
    let mut e = Edns::new();
    e.set_max_payload(4096);
    let r = send(
        &ix,
        &query("big.example.com.", Some(e)).to_vec().unwrap(),
        Transport::Udp,
    )
    .unwrap();
    assert_eq!((r.metadata.truncation, r.answers.len()), (false, 100));
    assert_eq!(r.edns.unwrap().max_payload(), 4096);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let ix = ZoneIndex::build(&config());
        let _ = send_raw(&ix, &bytes);
    }

    #[test]
    fn mutated_queries_never_panic(flips in proptest::collection::vec((0usize..64, any::<u8>()), 1..6)) {
        let ix = ZoneIndex::build(&config());
        let mut e = Edns::new();
        e.options_mut().insert(EdnsOption::Subnet(ClientSubnet::new("198.51.100.77".parse().unwrap(), 24, 0)));
        let mut bytes = query("lat.example.com.", Some(e)).to_vec().unwrap();
        for (at, b) in flips {
            let n = bytes.len();
            bytes[at % n] = b;
        }
        let _ = send_raw(&ix, &bytes);
    }
}

fn send_raw(ix: &ZoneIndex, bytes: &[u8]) -> Option<Vec<u8>> {
    let opts = Options::default();
    let src = "127.0.0.1".parse().unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    let out = respond(ix, bytes, src, Transport::Udp, &crate::AllHealthy, &opts, &mut rng);
    respond(ix, bytes, src, Transport::Tcp, &crate::AllHealthy, &opts, &mut rng);
    out
}

use rand::SeedableRng;

/// Through the cache: the response bytes, and whether it was a hit.
fn cached(cache: &mut AnswerCache, ix: &ZoneIndex, bytes: &[u8]) -> (Vec<u8>, bool) {
    let before = cache.hits();
    let mut out = Vec::new();
    let sent = respond_cached(
        cache,
        ix,
        bytes,
        "127.0.0.1".parse().unwrap(),
        &crate::AllHealthy,
        &Options::default(),
        &mut StdRng::seed_from_u64(0),
        &mut out,
    );
    assert!(sent);
    (out, cache.hits() > before)
}

#[test]
fn the_cache_answers_as_the_codec_does_under_the_new_id() {
    let ix = ZoneIndex::build(&config());
    let mut cache = AnswerCache::new();
    for name in [
        "www.example.com.",
        "nope.example.com.",
        "WwW.example.com.",
        "other.test.",
    ] {
        let mut m = query(name, Some(Edns::new()));
        let first = cached(&mut cache, &ix, &m.to_vec().unwrap());
        assert!(!first.1, "{name}: a miss first");
        m.metadata.id = 7;
        let bytes = m.to_vec().unwrap();
        let (hit, was_hit) = cached(&mut cache, &ix, &bytes);
        assert!(was_hit, "{name}: then a hit");
        let direct = respond(
            &ix,
            &bytes,
            "127.0.0.1".parse().unwrap(),
            Transport::Udp,
            &crate::AllHealthy,
            &Options::default(),
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap();
        assert_eq!(hit, direct, "{name}: the cached answer is the computed one");
        assert_eq!(Message::from_vec(&hit).unwrap().metadata.id, 7);
    }
    // A routing policy is chosen per query: never cached.
    let lat = query("lat.example.com.", None).to_vec().unwrap();
    assert!(!cached(&mut cache, &ix, &lat).1);
    assert!(!cached(&mut cache, &ix, &lat).1);
    // A new index starts the cache over.
    let next = ZoneIndex::update(&ix, &config());
    let www = query("www.example.com.", None).to_vec().unwrap();
    assert!(!cached(&mut cache, &next, &www).1);
    assert!(cached(&mut cache, &next, &www).1);
}
