use fulmar_model::route53::{CidrRouting, FailoverRole, GeoLocation, RoutingPolicy};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;

fn entry(policy: RoutingPolicy) -> Entry {
    Entry {
        set_identifier: None,
        ttl: 60,
        values: Vec::new(),
        alias: None,
        health_check_id: None,
        policy,
    }
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

fn pick(entries: &[Entry], healthy: &[bool], place: &Place<'_>) -> Vec<usize> {
    choose(entries, healthy, place, &mut rng())
}

#[test]
fn simple_answers_everything() {
    let e = [entry(RoutingPolicy::Simple)];
    assert_eq!(pick(&e, &[false], &Place::default()), vec![0]);
}

#[test]
fn weighted_follows_weights() {
    let e = [entry(RoutingPolicy::Weighted(3)), entry(RoutingPolicy::Weighted(1))];
    let mut r = rng();
    let mut counts = [0usize; 2];
    for _ in 0..4000 {
        counts[choose(&e, &[true, true], &Place::default(), &mut r)[0]] += 1;
    }
    assert!((2800..3200).contains(&counts[0]), "{counts:?}");
}

#[test]
fn weighted_zero_only_when_nonzero_unhealthy_or_all_zero() {
    let e = [entry(RoutingPolicy::Weighted(0)), entry(RoutingPolicy::Weighted(5))];
    for _ in 0..50 {
        assert_eq!(pick(&e, &[true, true], &Place::default()), vec![1]);
    }
    assert_eq!(pick(&e, &[true, false], &Place::default()), vec![0]);
    // Everything unhealthy: all count as healthy, so the non-zero one wins again.
    assert_eq!(pick(&e, &[false, false], &Place::default()), vec![1]);
    let zeros = [entry(RoutingPolicy::Weighted(0)), entry(RoutingPolicy::Weighted(0))];
    let mut seen = [false; 2];
    let mut r = rng();
    for _ in 0..100 {
        seen[choose(&zeros, &[true, true], &Place::default(), &mut r)[0]] = true;
    }
    assert_eq!(seen, [true, true]);
}

#[test]
fn weighted_skips_unhealthy() {
    let e = [entry(RoutingPolicy::Weighted(100)), entry(RoutingPolicy::Weighted(1))];
    for _ in 0..50 {
        assert_eq!(pick(&e, &[false, true], &Place::default()), vec![1]);
    }
}

#[test]
fn failover_roles() {
    let e = [
        entry(RoutingPolicy::Failover(FailoverRole::Secondary)),
        entry(RoutingPolicy::Failover(FailoverRole::Primary)),
    ];
    let p = Place::default();
    assert_eq!(pick(&e, &[true, true], &p), vec![1]);
    assert_eq!(pick(&e, &[true, false], &p), vec![0]);
    assert_eq!(pick(&e, &[false, false], &p), vec![1], "both unhealthy: primary");
    assert_eq!(pick(&e[..1], &[false], &p), vec![0], "secondary alone");
}

#[test]
fn multivalue_up_to_eight_healthy() {
    let e: Vec<Entry> = (0..10).map(|_| entry(RoutingPolicy::MultiValue)).collect();
    let mut healthy = vec![true; 10];
    healthy[3] = false;
    let got = pick(&e, &healthy, &Place::default());
    assert_eq!(got.len(), 8);
    assert!(!got.contains(&3));
    let none = vec![false; 10];
    assert_eq!(pick(&e, &none, &Place::default()).len(), 8);
    let few = pick(&e[..3], &[true, false, false], &Place::default());
    assert_eq!(few, vec![0]);
}

#[test]
fn latency_exact_then_nearest() {
    let e = [
        entry(RoutingPolicy::Latency("us-east-1".into())),
        entry(RoutingPolicy::Latency("eu-west-1".into())),
        entry(RoutingPolicy::Latency("ap-southeast-2".into())),
    ];
    let at = |r: &str| Place {
        region: Some(r.into()),
        ..Default::default()
    };
    assert_eq!(pick(&e, &[true; 3], &at("eu-west-1")), vec![1]);
    assert_eq!(pick(&e, &[true; 3], &at("eu-west-2")), vec![1]);
    assert_eq!(pick(&e, &[true; 3], &at("ap-southeast-4")), vec![2]);
    assert_eq!(
        pick(&e, &[true, false, true], &at("eu-west-2")),
        vec![0],
        "next nearest"
    );
    assert_eq!(pick(&e, &[true; 3], &Place::default()), vec![0], "unplaced: us-east-1");
}

fn geo(continent: Option<&str>, country: Option<&str>, sub: Option<&str>) -> Entry {
    entry(RoutingPolicy::Geolocation(GeoLocation {
        continent_code: continent.map(Into::into),
        country_code: country.map(Into::into),
        subdivision_code: sub.map(Into::into),
    }))
}

#[test]
fn geolocation_smallest_area_wins() {
    let e = [
        geo(None, Some("*"), None),
        geo(Some("NA"), None, None),
        geo(None, Some("US"), None),
        geo(None, Some("US"), Some("WA")),
    ];
    let at = |cont: &str, c: &str, s: Option<&str>| Place {
        location: Some(ClientLocation {
            continent: cont.into(),
            country: c.into(),
            subdivision: s.map(Into::into),
        }),
        ..Default::default()
    };
    assert_eq!(pick(&e, &[true; 4], &at("NA", "US", Some("WA"))), vec![3]);
    assert_eq!(pick(&e, &[true; 4], &at("NA", "US", Some("OR"))), vec![2]);
    assert_eq!(pick(&e, &[true; 4], &at("NA", "CA", None)), vec![1]);
    assert_eq!(pick(&e, &[true; 4], &at("EU", "DE", None)), vec![0]);
    assert_eq!(pick(&e, &[true; 4], &Place::default()), vec![0]);
    assert_eq!(
        pick(&e, &[true, true, true, false], &at("NA", "US", Some("WA"))),
        vec![2]
    );
    assert!(
        pick(&e[1..], &[true; 3], &at("EU", "DE", None)).is_empty(),
        "no default: no answer"
    );
}

#[test]
fn ip_based_longest_match_then_default() {
    let cidr = |loc: &str| {
        entry(RoutingPolicy::IpBased(CidrRouting {
            collection_id: "c".into(),
            location_name: loc.into(),
        }))
    };
    let e = [cidr("*"), cidr("wide"), cidr("narrow")];
    let blocks = vec![
        ("10.0.0.0/8".parse().unwrap(), "wide".to_string()),
        ("10.1.0.0/16".parse().unwrap(), "narrow".to_string()),
    ];
    let at = |a: &str| Place {
        addr: Some(a.parse().unwrap()),
        cidr_blocks: &blocks,
        ..Default::default()
    };
    assert_eq!(choose(&e, &[true; 3], &at("10.1.2.3"), &mut rng()), vec![2]);
    assert_eq!(choose(&e, &[true; 3], &at("10.2.2.3"), &mut rng()), vec![1]);
    assert_eq!(choose(&e, &[true; 3], &at("192.0.2.1"), &mut rng()), vec![0]);
    assert_eq!(choose(&e, &[true, true, false], &at("10.1.2.3"), &mut rng()), vec![1]);
    assert!(choose(&e[1..], &[true; 2], &at("192.0.2.1"), &mut rng()).is_empty());
}
