use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use fulmar_model::route53::{
    AliasTarget, CidrCollection, CidrRouting, FailoverRole, GeoLocation, HostedZone, RecordSet, ZoneVpc,
};
use fulmar_model::{Config, LoadBalancer};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::locate::{ClientLocation, StaticLocator};

/// An oracle whose unhealthy checks and load balancers the test names.
#[derive(Default)]
struct Oracle {
    down: Mutex<HashSet<String>>,
}

impl Oracle {
    fn down(ids: &[&str]) -> Oracle {
        Oracle {
            down: Mutex::new(ids.iter().map(|s| s.to_string()).collect()),
        }
    }
}

impl HealthOracle for Oracle {
    fn health_check(&self, id: &str) -> bool {
        !self.down.lock().unwrap().contains(id)
    }
    fn load_balancer(&self, dns_name: &str) -> bool {
        !self.down.lock().unwrap().contains(dns_name)
    }
}

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

fn private_zone(c: &mut Config, id: &str, name: &str, vpc: &str) {
    zone(c, id, name);
    let mut z = (*c.hosted_zones[id]).clone();
    z.private = true;
    z.vpcs = vec![ZoneVpc {
        vpc_id: vpc.into(),
        region: "us-east-1".into(),
    }];
    c.hosted_zones.insert(id.into(), Arc::new(z));
}

fn rs(zone_id: &str, name: &str, rtype: &str, values: &[&str]) -> RecordSet {
    RecordSet {
        zone_id: zone_id.into(),
        name: name.into(),
        rtype: rtype.into(),
        set_identifier: None,
        ttl: Some(300),
        records: values.iter().map(|v| v.to_string()).collect(),
        alias: None,
        health_check_id: None,
        policy: RoutingPolicy::Simple,
    }
}

fn put(c: &mut Config, r: RecordSet) {
    c.record_sets.insert(r.key(), Arc::new(r));
}

fn with(mut r: RecordSet, id: &str, policy: RoutingPolicy, hc: Option<&str>) -> RecordSet {
    r.set_identifier = Some(id.into());
    r.policy = policy;
    r.health_check_id = hc.map(Into::into);
    r
}

fn alias(mut r: RecordSet, zone: &str, target: &str, eth: bool) -> RecordSet {
    r.records.clear();
    r.ttl = None;
    r.alias = Some(AliasTarget {
        hosted_zone_id: zone.into(),
        dns_name: target.into(),
        evaluate_target_health: eth,
    });
    r
}

fn lb(c: &mut Config, dns_name: &str, address: &str) {
    let l = LoadBalancer {
        arn: format!("arn:{dns_name}"),
        name: "lb".into(),
        dns_name: dns_name.into(),
        canonical_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
        created_ms: 0,
        scheme: "internet-facing".into(),
        vpc_id: "vpc-1".into(),
        state: "active".into(),
        kind: "application".into(),
        subnets: Vec::new(),
        security_groups: Vec::new(),
        ip_address_type: "ipv4".into(),
        address: address.parse().unwrap(),
        attributes: BTreeMap::new(),
        tags: Vec::new(),
    };
    c.load_balancers.insert(l.arn.clone(), Arc::new(l));
}

/// example.com with a SOA (TTL 900, minimum 300), apex A, www, mail MX, a delegation.
fn example() -> Config {
    let mut c = Config::default();
    zone(&mut c, "Z1", "example.com.");
    let mut soa = rs(
        "Z1",
        "example.com.",
        "SOA",
        &["ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 300"],
    );
    soa.ttl = Some(900);
    put(&mut c, soa);
    put(&mut c, rs("Z1", "example.com.", "NS", &["ns-1.awsdns-00.com."]));
    put(&mut c, rs("Z1", "example.com.", "A", &["192.0.2.1"]));
    put(&mut c, rs("Z1", "www.example.com.", "A", &["192.0.2.10", "192.0.2.11"]));
    put(&mut c, rs("Z1", "mail.example.com.", "MX", &["10 mx.example.com."]));
    put(&mut c, rs("Z1", "a.deep.example.com.", "TXT", &["\"hello\""]));
    put(
        &mut c,
        rs(
            "Z1",
            "sub.example.com.",
            "NS",
            &["ns1.sub.example.com.", "ns.elsewhere.net."],
        ),
    );
    put(&mut c, rs("Z1", "ns1.sub.example.com.", "A", &["192.0.2.53"]));
    c
}

struct Ask<'a> {
    oracle: &'a dyn HealthOracle,
    options: Options,
    client: Client,
}

impl Default for Ask<'_> {
    fn default() -> Self {
        Ask {
            oracle: &crate::AllHealthy,
            options: Options::default(),
            client: Client {
                addr: "127.0.0.1".parse().unwrap(),
                subnet: None,
            },
        }
    }
}

impl Ask<'_> {
    fn q(&self, c: &Config, name: &str, rtype: RecordType) -> Response {
        let ix = ZoneIndex::build(c);
        self.on(&ix, name, rtype, &mut StdRng::seed_from_u64(1))
    }
    fn on(&self, ix: &ZoneIndex, name: &str, rtype: RecordType, rng: &mut StdRng) -> Response {
        let q = Query::query(Name::from_ascii(name).unwrap(), rtype);
        answer(ix, &q, &self.client, self.oracle, &self.options, rng)
    }
}

fn q(c: &Config, name: &str, rtype: RecordType) -> Response {
    Ask::default().q(c, name, rtype)
}

fn data(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.data.to_string()).collect()
}

#[test]
fn authoritative_answer_with_all_values() {
    let r = q(&example(), "WWW.Example.com.", RecordType::A);
    assert_eq!(r.rcode, ResponseCode::NoError);
    assert!(r.authoritative);
    assert_eq!(data(&r.answers), ["192.0.2.10", "192.0.2.11"]);
    assert_eq!(r.answers[0].ttl, 300);
    assert!(r.authority.is_empty());
}

#[test]
fn nxdomain_carries_soa_with_negative_ttl() {
    let r = q(&example(), "nope.example.com.", RecordType::A);
    assert_eq!(r.rcode, ResponseCode::NXDomain);
    assert!(r.authoritative);
    assert!(r.answers.is_empty());
    assert_eq!(r.authority.len(), 1);
    assert_eq!(r.authority[0].record_type(), RecordType::SOA);
    assert_eq!(r.authority[0].ttl, 300, "min(SOA TTL 900, minimum 300)");
}

#[test]
fn nodata_for_other_type_and_empty_non_terminal() {
    for (name, t) in [
        ("mail.example.com.", RecordType::A),
        ("deep.example.com.", RecordType::A),
    ] {
        let r = q(&example(), name, t);
        assert_eq!(r.rcode, ResponseCode::NoError, "{name}");
        assert!(r.answers.is_empty());
        assert_eq!(r.authority[0].record_type(), RecordType::SOA);
    }
}

#[test]
fn zone_without_soa_gets_route53_default() {
    let mut c = Config::default();
    zone(&mut c, "Z9", "bare.test.");
    let r = q(&c, "x.bare.test.", RecordType::A);
    assert_eq!(r.rcode, ResponseCode::NXDomain);
    assert_eq!(r.authority[0].ttl, 900);
}

#[test]
fn delegation_gives_referral_with_glue() {
    for name in ["sub.example.com.", "www.sub.example.com.", "ns1.sub.example.com."] {
        let r = q(&example(), name, RecordType::A);
        assert_eq!(r.rcode, ResponseCode::NoError);
        assert!(!r.authoritative, "{name}");
        assert!(r.answers.is_empty());
        assert_eq!(data(&r.authority), ["ns1.sub.example.com.", "ns.elsewhere.net."]);
        assert_eq!(data(&r.additional), ["192.0.2.53"], "only in-zone glue");
    }
}

#[test]
fn ds_at_the_cut_is_answered_by_the_parent() {
    let r = q(&example(), "sub.example.com.", RecordType::DS);
    assert!(r.authoritative);
    assert_eq!(r.authority[0].record_type(), RecordType::SOA);
}

#[test]
fn cname_chains_are_followed_inside_served_zones() {
    let mut c = example();
    zone(&mut c, "Z2", "other.test.");
    put(&mut c, rs("Z1", "a.example.com.", "CNAME", &["b.example.com"]));
    put(&mut c, rs("Z1", "b.example.com.", "CNAME", &["c.other.test."]));
    put(&mut c, rs("Z2", "c.other.test.", "A", &["198.51.100.7"]));
    put(&mut c, rs("Z1", "out.example.com.", "CNAME", &["www.elsewhere.net."]));
    put(
        &mut c,
        rs("Z1", "dangling.example.com.", "CNAME", &["gone.example.com."]),
    );
    put(&mut c, rs("Z1", "loop1.example.com.", "CNAME", &["loop2.example.com."]));
    put(&mut c, rs("Z1", "loop2.example.com.", "CNAME", &["loop1.example.com."]));

    let r = q(&c, "a.example.com.", RecordType::A);
    assert_eq!(data(&r.answers), ["b.example.com.", "c.other.test.", "198.51.100.7"]);
    assert!(r.authoritative);

    let r = q(&c, "a.example.com.", RecordType::CNAME);
    assert_eq!(data(&r.answers), ["b.example.com."]);

    let r = q(&c, "out.example.com.", RecordType::A);
    assert_eq!(
        (r.rcode, data(&r.answers)),
        (ResponseCode::NoError, vec!["www.elsewhere.net.".to_string()])
    );

    let r = q(&c, "dangling.example.com.", RecordType::A);
    assert_eq!(r.rcode, ResponseCode::NXDomain);
    assert_eq!(r.answers.len(), 1);

    let r = q(&c, "loop1.example.com.", RecordType::A);
    assert!(r.answers.len() <= MAX_CHAIN + 1);
}

#[test]
fn wildcards_match_only_names_that_do_not_exist() {
    let mut c = example();
    put(&mut c, rs("Z1", "*.example.com.", "A", &["203.0.113.9"]));
    let r = q(&c, "anything.example.com.", RecordType::A);
    assert_eq!(data(&r.answers), ["203.0.113.9"]);
    assert_eq!(r.answers[0].name.to_ascii(), "anything.example.com.");
    let r = q(&c, "x.y.example.com.", RecordType::A);
    assert_eq!(data(&r.answers), ["203.0.113.9"], "more than one label");
    let r = q(&c, "anything.example.com.", RecordType::MX);
    assert_eq!(
        (r.rcode, r.answers.len()),
        (ResponseCode::NoError, 0),
        "wildcard NODATA"
    );
    let r = q(&c, "mail.example.com.", RecordType::A);
    assert_eq!(
        (r.rcode, r.answers.len()),
        (ResponseCode::NoError, 0),
        "existing name blocks the wildcard"
    );
    let r = q(&c, "deep.example.com.", RecordType::A);
    assert!(r.answers.is_empty(), "empty non-terminal blocks the wildcard");
    let r = q(&c, "x.deep.example.com.", RecordType::A);
    assert_eq!(
        r.rcode,
        ResponseCode::NXDomain,
        "the closest encloser deep. has no wildcard"
    );
    let r = q(&c, "example.com.", RecordType::A);
    assert_eq!(data(&r.answers), ["192.0.2.1"]);
}

#[test]
fn refused_outside_every_zone_and_for_other_classes() {
    let r = q(&example(), "example.org.", RecordType::A);
    assert_eq!((r.rcode, r.authoritative), (ResponseCode::Refused, false));
    let ix = ZoneIndex::build(&example());
    let mut query = Query::query(Name::from_ascii("example.com.").unwrap(), RecordType::A);
    query.set_query_class(DNSClass::CH);
    let a = Ask::default();
    let r = answer(
        &ix,
        &query,
        &a.client,
        a.oracle,
        &a.options,
        &mut StdRng::seed_from_u64(1),
    );
    assert_eq!(r.rcode, ResponseCode::Refused);
}

#[test]
fn most_specific_zone_wins() {
    let mut c = example();
    zone(&mut c, "Z3", "dev.example.com.");
    put(&mut c, rs("Z3", "api.dev.example.com.", "A", &["10.9.9.9"]));
    put(&mut c, rs("Z1", "api.dev.example.com.", "A", &["10.1.1.1"]));
    assert_eq!(
        data(&q(&c, "api.dev.example.com.", RecordType::A).answers),
        ["10.9.9.9"]
    );
    let r = q(&c, "nothing.dev.example.com.", RecordType::A);
    assert_eq!(r.rcode, ResponseCode::NXDomain);
    assert_eq!(r.authority[0].name.to_ascii(), "dev.example.com.");
}

#[test]
fn weighted_and_failover_follow_health() {
    let mut c = example();
    let w = |id: &str, v: &str, weight: u32, hc: &str| {
        with(
            rs("Z1", "w.example.com.", "A", &[v]),
            id,
            RoutingPolicy::Weighted(weight),
            Some(hc),
        )
    };
    put(&mut c, w("a", "10.0.0.1", 1, "hc-a"));
    put(&mut c, w("b", "10.0.0.2", 1, "hc-b"));
    let f = |id: &str, v: &str, role, hc: &str| {
        with(
            rs("Z1", "f.example.com.", "A", &[v]),
            id,
            RoutingPolicy::Failover(role),
            Some(hc),
        )
    };
    put(&mut c, f("p", "10.0.1.1", FailoverRole::Primary, "hc-p"));
    put(&mut c, f("s", "10.0.1.2", FailoverRole::Secondary, "hc-s"));
    let ix = ZoneIndex::build(&c);
    let mut rng = StdRng::seed_from_u64(3);

    let oracle = Oracle::down(&["hc-a"]);
    let a = Ask {
        oracle: &oracle,
        ..Default::default()
    };
    for _ in 0..20 {
        assert_eq!(
            data(&a.on(&ix, "w.example.com.", RecordType::A, &mut rng).answers),
            ["10.0.0.2"]
        );
    }
    assert_eq!(
        data(&a.on(&ix, "f.example.com.", RecordType::A, &mut rng).answers),
        ["10.0.1.1"]
    );
    oracle.down.lock().unwrap().insert("hc-p".into());
    assert_eq!(
        data(&a.on(&ix, "f.example.com.", RecordType::A, &mut rng).answers),
        ["10.0.1.2"]
    );
    oracle.down.lock().unwrap().insert("hc-s".into());
    assert_eq!(
        data(&a.on(&ix, "f.example.com.", RecordType::A, &mut rng).answers),
        ["10.0.1.1"]
    );
}

#[test]
fn multivalue_skips_unhealthy_values() {
    let mut c = example();
    for i in 0..3 {
        let r = rs("Z1", "m.example.com.", "A", &[&format!("10.0.2.{i}")]);
        put(
            &mut c,
            with(r, &format!("m{i}"), RoutingPolicy::MultiValue, Some(&format!("hc{i}"))),
        );
    }
    let oracle = Oracle::down(&["hc1"]);
    let a = Ask {
        oracle: &oracle,
        ..Default::default()
    };
    let mut got = data(&a.q(&c, "m.example.com.", RecordType::A).answers);
    got.sort();
    assert_eq!(got, ["10.0.2.0", "10.0.2.2"]);
}

#[test]
fn latency_uses_client_subnet_then_source() {
    let mut c = example();
    for (id, region, v) in [("use", "us-east-1", "10.1.0.1"), ("euw", "eu-west-1", "10.1.0.2")] {
        put(
            &mut c,
            with(
                rs("Z1", "l.example.com.", "A", &[v]),
                id,
                RoutingPolicy::Latency(region.into()),
                None,
            ),
        );
    }
    let mut a = Ask::default();
    a.options.locator = Arc::new(StaticLocator {
        regions: vec![("198.51.100.0/24".parse().unwrap(), "eu-west-2".into())],
        ..Default::default()
    });
    let r = a.q(&c, "l.example.com.", RecordType::A);
    assert_eq!(data(&r.answers), ["10.1.0.1"], "unplaced source: default region");
    assert!(r.location_dependent);
    a.client.subnet = Some("198.51.100.0/24".parse().unwrap());
    assert_eq!(
        data(&a.q(&c, "l.example.com.", RecordType::A).answers),
        ["10.1.0.2"],
        "nearest to eu-west-2"
    );
}

#[test]
fn geolocation_and_ip_based_routing() {
    let mut c = example();
    let g = |id: &str, v: &str, cont: Option<&str>, country: Option<&str>| {
        let geo = GeoLocation {
            continent_code: cont.map(Into::into),
            country_code: country.map(Into::into),
            subdivision_code: None,
        };
        with(
            rs("Z1", "g.example.com.", "A", &[v]),
            id,
            RoutingPolicy::Geolocation(geo),
            None,
        )
    };
    put(&mut c, g("de", "10.2.0.1", None, Some("DE")));
    put(&mut c, g("eu", "10.2.0.2", Some("EU"), None));
    let mut a = Ask::default();
    a.options.locator = Arc::new(StaticLocator {
        locations: vec![
            (
                "127.0.0.1/32".parse().unwrap(),
                ClientLocation {
                    continent: "EU".into(),
                    country: "FR".into(),
                    subdivision: None,
                },
            ),
            (
                "127.0.0.2/32".parse().unwrap(),
                ClientLocation {
                    continent: "EU".into(),
                    country: "DE".into(),
                    subdivision: None,
                },
            ),
        ],
        ..Default::default()
    });
    assert_eq!(data(&a.q(&c, "g.example.com.", RecordType::A).answers), ["10.2.0.2"]);
    a.client.addr = "127.0.0.2".parse().unwrap();
    assert_eq!(data(&a.q(&c, "g.example.com.", RecordType::A).answers), ["10.2.0.1"]);
    a.client.addr = "127.0.0.3".parse().unwrap();
    let r = a.q(&c, "g.example.com.", RecordType::A);
    assert_eq!(
        (r.rcode, r.answers.len()),
        (ResponseCode::NoError, 0),
        "no match, no default: NODATA"
    );
    assert_eq!(r.authority[0].record_type(), RecordType::SOA);

    c.cidr_collections.insert(
        "col".into(),
        Arc::new(CidrCollection {
            id: "col".into(),
            name: "c".into(),
            arn: "arn".into(),
            version: 1,
            locations: BTreeMap::from([("office".to_string(), vec!["127.0.0.0/30".parse().unwrap()])]),
        }),
    );
    let ip = |id: &str, v: &str, loc: &str| {
        let routing = CidrRouting {
            collection_id: "col".into(),
            location_name: loc.into(),
        };
        with(
            rs("Z1", "i.example.com.", "A", &[v]),
            id,
            RoutingPolicy::IpBased(routing),
            None,
        )
    };
    put(&mut c, ip("office", "10.3.0.1", "office"));
    put(&mut c, ip("default", "10.3.0.2", "*"));
    a.client.addr = "127.0.0.2".parse().unwrap();
    assert_eq!(data(&a.q(&c, "i.example.com.", RecordType::A).answers), ["10.3.0.1"]);
    a.client.subnet = Some("192.0.2.0/24".parse().unwrap());
    assert_eq!(
        data(&a.q(&c, "i.example.com.", RecordType::A).answers),
        ["10.3.0.2"],
        "client subnet wins"
    );
}

#[test]
fn alias_to_a_record_of_the_zone_uses_the_target_ttl() {
    let mut c = example();
    let mut target = rs("Z1", "target.example.com.", "A", &["10.4.0.1"]);
    target.ttl = Some(42);
    put(&mut c, target);
    put(
        &mut c,
        alias(
            rs("Z1", "al.example.com.", "A", &[]),
            "Z1",
            "target.example.com.",
            false,
        ),
    );
    let r = q(&c, "al.example.com.", RecordType::A);
    assert_eq!(data(&r.answers), ["10.4.0.1"]);
    assert_eq!(
        (r.answers[0].ttl, r.answers[0].name.to_ascii()),
        (42, "al.example.com.".to_string())
    );
}

#[test]
fn alias_to_a_load_balancer_at_the_apex() {
    let mut c = Config::default();
    zone(&mut c, "Z1", "shop.test.");
    lb(&mut c, "web-123.us-east-1.elb.amazonaws.com", "127.0.10.1");
    for (name, target) in [
        ("shop.test.", "web-123.us-east-1.elb.amazonaws.com."),
        ("a.shop.test.", "dualstack.WEB-123.us-east-1.elb.amazonaws.com"),
    ] {
        put(&mut c, alias(rs("Z1", name, "A", &[]), "Z35SXDOTRQ7X7K", target, true));
        put(
            &mut c,
            alias(rs("Z1", name, "AAAA", &[]), "Z35SXDOTRQ7X7K", target, true),
        );
        let r = q(&c, name, RecordType::A);
        assert_eq!(data(&r.answers), ["127.0.10.1"], "{name}");
        assert_eq!(r.answers[0].ttl, 60);
        let r = q(&c, name, RecordType::AAAA);
        assert_eq!((r.rcode, r.answers.len()), (ResponseCode::NoError, 0));
    }
}

#[test]
fn evaluate_target_health_fails_over_away_from_an_unhealthy_load_balancer() {
    let mut c = Config::default();
    zone(&mut c, "Z1", "shop.test.");
    lb(&mut c, "web-1.us-east-1.elb.amazonaws.com", "127.0.10.1");
    let primary = alias(
        rs("Z1", "shop.test.", "A", &[]),
        "Z35SXDOTRQ7X7K",
        "web-1.us-east-1.elb.amazonaws.com",
        true,
    );
    put(
        &mut c,
        with(primary, "p", RoutingPolicy::Failover(FailoverRole::Primary), None),
    );
    let secondary = rs("Z1", "shop.test.", "A", &["10.5.0.1"]);
    put(
        &mut c,
        with(secondary, "s", RoutingPolicy::Failover(FailoverRole::Secondary), None),
    );
    let oracle = Oracle::default();
    let a = Ask {
        oracle: &oracle,
        ..Default::default()
    };
    assert_eq!(data(&a.q(&c, "shop.test.", RecordType::A).answers), ["127.0.10.1"]);
    oracle
        .down
        .lock()
        .unwrap()
        .insert("web-1.us-east-1.elb.amazonaws.com".into());
    assert_eq!(data(&a.q(&c, "shop.test.", RecordType::A).answers), ["10.5.0.1"]);
}

#[test]
fn load_balancer_names_resolve_without_a_zone() {
    let mut c = Config::default();
    lb(&mut c, "web-1.us-east-1.elb.amazonaws.com", "127.0.10.1");
    for name in [
        "web-1.us-east-1.elb.amazonaws.com.",
        "dualstack.Web-1.us-east-1.elb.amazonaws.com.",
    ] {
        let r = q(&c, name, RecordType::A);
        assert!(r.authoritative);
        assert_eq!(data(&r.answers), ["127.0.10.1"]);
    }
    let r = q(&c, "web-1.us-east-1.elb.amazonaws.com.", RecordType::AAAA);
    assert_eq!(
        (r.rcode, r.answers.len(), r.authority.len()),
        (ResponseCode::NoError, 0, 1)
    );
    assert_eq!(
        q(&c, "web-2.us-east-1.elb.amazonaws.com.", RecordType::A).rcode,
        ResponseCode::Refused
    );
}

#[test]
fn private_zones_answer_only_inside_their_vpc() {
    let mut c = Config::default();
    private_zone(&mut c, "ZP", "corp.test.", "vpc-1");
    put(&mut c, rs("ZP", "db.corp.test.", "A", &["10.6.0.1"]));
    let mut a = Ask::default();
    a.options.locator = Arc::new(StaticLocator {
        vpcs: vec![
            ("127.0.1.0/24".parse().unwrap(), "vpc-1".into()),
            ("127.0.2.0/24".parse().unwrap(), "vpc-2".into()),
        ],
        ..Default::default()
    });
    a.client.addr = "127.0.1.5".parse().unwrap();
    assert_eq!(data(&a.q(&c, "db.corp.test.", RecordType::A).answers), ["10.6.0.1"]);
    for outside in ["127.0.2.5", "127.0.0.1"] {
        a.client.addr = outside.parse().unwrap();
        assert_eq!(
            a.q(&c, "db.corp.test.", RecordType::A).rcode,
            ResponseCode::Refused,
            "{outside}"
        );
    }
    // Split view: a public zone of the same name answers everyone else.
    zone(&mut c, "ZPUB", "corp.test.");
    put(&mut c, rs("ZPUB", "db.corp.test.", "A", &["203.0.113.1"]));
    assert_eq!(data(&a.q(&c, "db.corp.test.", RecordType::A).answers), ["203.0.113.1"]);
    a.client.addr = "127.0.1.5".parse().unwrap();
    assert_eq!(data(&a.q(&c, "db.corp.test.", RecordType::A).answers), ["10.6.0.1"]);
}

#[test]
fn all_unhealthy_counts_as_all_healthy() {
    let mut c = example();
    for i in 0..2 {
        let r = rs("Z1", "w.example.com.", "A", &[&format!("10.7.0.{i}")]);
        put(
            &mut c,
            with(r, &format!("w{i}"), RoutingPolicy::Weighted(1), Some(&format!("hc{i}"))),
        );
    }
    let oracle = Oracle::down(&["hc0", "hc1"]);
    let a = Ask {
        oracle: &oracle,
        ..Default::default()
    };
    assert_eq!(a.q(&c, "w.example.com.", RecordType::A).answers.len(), 1);
}
