//! One test per semantic of the engine, on small hand-built worlds.

use std::net::IpAddr;

use fulmar_model::ec2::RulePeer;
use fulmar_model::{SecurityGroup, SecurityGroupRule};

use crate::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rule(id: &str, protocol: &str, from: i32, to: i32, peer: &str) -> SecurityGroupRule {
    let peer = if let Some(group) = peer.strip_prefix("group:") {
        RulePeer::Group {
            group_id: group.into(),
            user_id: "000000000000".into(),
        }
    } else if peer.starts_with("pl-") {
        RulePeer::PrefixList(peer.into())
    } else {
        RulePeer::Cidr(peer.parse().unwrap())
    };
    SecurityGroupRule {
        id: id.into(),
        ip_protocol: protocol.into(),
        from_port: Some(from),
        to_port: Some(to),
        peer,
        description: None,
        tags: Vec::new(),
    }
}

fn all_out(id: &str) -> SecurityGroupRule {
    rule(id, "-1", -1, -1, "0.0.0.0/0")
}

/// A new group as CreateSecurityGroup makes it: no inbound rule, all outbound.
fn group(id: &str, name: &str, ingress: Vec<SecurityGroupRule>) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        region: "us-east-1".into(),
        name: name.into(),
        description: name.into(),
        vpc_id: "vpc-1".into(),
        owner_id: "000000000000".into(),
        ingress,
        egress: vec![all_out(&format!("sgr-out-{id}"))],
        tags: vec![],
    }
}

fn endpoint(id: &str, addresses: &[&str], groups: &[&str]) -> EndpointSpec {
    EndpointSpec {
        id: id.into(),
        label: format!("instance {id}"),
        addresses: addresses.iter().map(|a| ip(a)).collect(),
        public_addresses: vec![],
        group_ids: groups.iter().map(|g| g.to_string()).collect(),
    }
}

fn world(groups: &[SecurityGroup], endpoints: Vec<EndpointSpec>) -> World {
    let mut b = World::builder();
    for g in groups {
        b.group(g);
    }
    for e in endpoints {
        b.endpoint(e);
    }
    b.build()
}

fn tcp(src: &str, dst: &str, port: u16) -> Flow {
    Flow::new(ip(src), ip(dst), Traffic::Tcp(port))
}

#[test]
fn a_new_group_denies_all_inbound_and_allows_all_outbound() {
    let w = world(
        &[group("sg-new", "new", vec![])],
        vec![endpoint("i-1", &["10.0.0.1"], &["sg-new"])],
    );
    let inbound = decide(&tcp("203.0.113.9", "10.0.0.1", 80), &w);
    assert!(!inbound.allowed());
    assert_eq!(inbound.blocked_at(), Some(Direction::Ingress));
    let outbound = decide(&tcp("10.0.0.1", "203.0.113.9", 443), &w);
    assert!(outbound.allowed());
    assert_eq!(outbound.rule_ids().collect::<Vec<_>>(), ["sgr-out-sg-new"]);
}

#[test]
fn inbound_and_outbound_rule_sets_are_separate() {
    let mut g = group("sg-1", "web", vec![rule("sgr-in", "tcp", 80, 80, "0.0.0.0/0")]);
    g.egress.clear();
    let w = world(&[g], vec![endpoint("i-1", &["10.0.0.1"], &["sg-1"])]);
    assert!(decide(&tcp("203.0.113.9", "10.0.0.1", 80), &w).allowed());
    let out = decide(&tcp("10.0.0.1", "203.0.113.9", 80), &w);
    assert_eq!(out.blocked_at(), Some(Direction::Egress));
}

#[test]
fn every_group_of_an_interface_counts_in_no_order() {
    let groups = [
        group("sg-a", "a", vec![rule("sgr-a", "tcp", 22, 22, "10.9.0.0/16")]),
        group("sg-b", "b", vec![rule("sgr-b", "tcp", 80, 80, "0.0.0.0/0")]),
    ];
    for order in [["sg-a", "sg-b"], ["sg-b", "sg-a"]] {
        let w = world(&groups, vec![endpoint("i-1", &["10.0.0.1"], &order)]);
        let web = decide(&tcp("203.0.113.9", "10.0.0.1", 80), &w);
        assert_eq!(web.rule_ids().last(), Some("sgr-b"));
        let ssh = decide(&tcp("10.9.1.1", "10.0.0.1", 22), &w);
        assert_eq!(ssh.rule_ids().last(), Some("sgr-a"));
        assert!(!decide(&tcp("203.0.113.9", "10.0.0.1", 22), &w).allowed());
        let evaluated: Vec<_> = decide(&tcp("203.0.113.9", "10.0.0.1", 22), &w)
            .groups_evaluated(Direction::Ingress)
            .map(|g| g.id().to_owned())
            .collect();
        assert_eq!(evaluated, order);
    }
}

#[test]
fn protocol_all_ports_and_icmp() {
    let g = group(
        "sg-1",
        "g",
        vec![
            rule("sgr-all", "-1", -1, -1, "10.1.0.0/16"),
            rule("sgr-range", "tcp", 8000, 8080, "0.0.0.0/0"),
            rule("sgr-ping", "icmp", 8, -1, "0.0.0.0/0"),
        ],
    );
    let w = world(&[g], vec![endpoint("i-1", &["10.0.0.1"], &["sg-1"])]);
    let from = |src: &str, traffic| decide(&Flow::new(ip(src), ip("10.0.0.1"), traffic), &w);
    assert!(from("10.1.2.3", Traffic::Udp(5353)).allowed());
    assert!(from("10.1.2.3", "proto/47".parse().unwrap()).allowed());
    assert!(from("8.8.8.8", Traffic::Tcp(8000)).allowed());
    assert!(from("8.8.8.8", Traffic::Tcp(8080)).allowed());
    assert!(!from("8.8.8.8", Traffic::Tcp(8081)).allowed());
    assert!(!from("8.8.8.8", Traffic::Udp(8000)).allowed());
    assert!(from("8.8.8.8", Traffic::Icmp { kind: 8, code: 0 }).allowed());
    assert!(!from("8.8.8.8", Traffic::Icmp { kind: 13, code: 0 }).allowed());
}

#[test]
fn ipv4_and_ipv6_cidrs() {
    let g = group(
        "sg-1",
        "g",
        vec![
            rule("sgr-v4", "tcp", 443, 443, "192.0.2.0/24"),
            rule("sgr-v6", "tcp", 443, 443, "2001:db8::/32"),
        ],
    );
    let w = world(&[g], vec![endpoint("i-1", &["10.0.0.1", "2001:db8:ff::1"], &["sg-1"])]);
    assert!(decide(&tcp("192.0.2.200", "10.0.0.1", 443), &w).allowed());
    assert!(!decide(&tcp("192.0.3.1", "10.0.0.1", 443), &w).allowed());
    let v6 = decide(&tcp("2001:db8:1::5", "2001:db8:ff::1", 443), &w);
    assert_eq!(v6.rule_ids().last(), Some("sgr-v6"));
    assert!(!decide(&tcp("2001:db9::5", "2001:db8:ff::1", 443), &w).allowed());
}

#[test]
fn group_references_follow_current_members() {
    let groups = [
        group("sg-lb", "lb", vec![rule("sgr-web", "tcp", 80, 80, "0.0.0.0/0")]),
        group(
            "sg-app",
            "app",
            vec![rule("sgr-from-lb", "tcp", 8080, 8080, "group:sg-lb")],
        ),
    ];
    let before = world(
        &groups,
        vec![
            endpoint("lb", &["10.0.0.10"], &["sg-lb"]),
            endpoint("i-app", &["10.0.1.1"], &["sg-app"]),
            endpoint("i-other", &["10.0.0.11"], &[]),
        ],
    );
    assert!(decide(&tcp("10.0.0.10", "10.0.1.1", 8080), &before).allowed());
    assert!(!decide(&tcp("10.0.0.11", "10.0.1.1", 8080), &before).allowed());
    // The other instance joins sg-lb: the same rule now lets it in.
    let after = world(
        &groups,
        vec![
            endpoint("lb", &["10.0.0.10"], &["sg-lb"]),
            endpoint("i-app", &["10.0.1.1"], &["sg-app"]),
            endpoint("i-other", &["10.0.0.11"], &["sg-lb"]),
        ],
    );
    let d = decide(&tcp("10.0.0.11", "10.0.1.1", 8080), &after);
    assert!(d.allowed());
    assert_eq!(d.rule_ids().collect::<Vec<_>>(), ["sgr-out-sg-lb", "sgr-from-lb"]);
}

#[test]
fn a_group_may_reference_itself() {
    let default = group("sg-d", "default", vec![rule("sgr-self", "-1", -1, -1, "group:sg-d")]);
    let w = world(
        &[default],
        vec![
            endpoint("i-1", &["10.0.0.1"], &["sg-d"]),
            endpoint("i-2", &["10.0.0.2"], &["sg-d"]),
        ],
    );
    assert!(decide(&tcp("10.0.0.2", "10.0.0.1", 5432), &w).allowed());
    assert!(!decide(&tcp("10.0.0.3", "10.0.0.1", 5432), &w).allowed());
}

#[test]
fn public_addresses_reach_an_endpoint_but_make_no_member() {
    let groups = [
        group("sg-a", "a", vec![]),
        group("sg-b", "b", vec![rule("sgr-from-a", "tcp", 22, 22, "group:sg-a")]),
    ];
    let mut a = endpoint("i-a", &["10.0.0.1"], &["sg-a"]);
    a.public_addresses = vec![ip("54.0.0.1")];
    let mut b = endpoint("i-b", &["10.0.0.2"], &["sg-b"]);
    b.public_addresses = vec![ip("54.0.0.2")];
    let w = world(&groups, vec![a, b]);
    assert!(decide(&tcp("10.0.0.1", "54.0.0.2", 22), &w).allowed());
    let via_public = decide(&tcp("54.0.0.1", "10.0.0.2", 22), &w);
    assert_eq!(via_public.blocked_at(), Some(Direction::Ingress));
}

#[test]
fn prefix_lists_and_unknown_groups_match_nothing() {
    let g = group(
        "sg-1",
        "g",
        vec![
            rule("sgr-pl", "-1", -1, -1, "pl-0123"),
            rule("sgr-ghost", "-1", -1, -1, "group:sg-ghost"),
        ],
    );
    let w = world(&[g], vec![endpoint("i-1", &["10.0.0.1"], &["sg-1"])]);
    assert!(!decide(&tcp("10.0.0.2", "10.0.0.1", 80), &w).allowed());
}

#[test]
fn return_traffic_of_an_allowed_flow_is_allowed() {
    let mut g = group("sg-1", "web", vec![rule("sgr-in", "tcp", 80, 80, "0.0.0.0/0")]);
    g.egress.clear(); // nothing outbound at all
    let w = world(&[g], vec![endpoint("i-1", &["10.0.0.1"], &["sg-1"])]);
    let request = tcp("203.0.113.9", "10.0.0.1", 80);
    let reply = request.reply();
    assert!(!decide(&reply, &w).allowed(), "as a new flow the reply is blocked");
    assert!(allows_return(&reply, &w), "as return traffic it passes");
    assert!(!allows_return(&tcp("203.0.113.9", "10.0.0.1", 22).reply(), &w));
    let ping = Flow::new(ip("10.0.0.1"), ip("10.0.0.2"), Traffic::Icmp { kind: 8, code: 0 });
    let w2 = world(
        &[group("sg-2", "new", vec![])],
        vec![endpoint("i-1", &["10.0.0.1"], &["sg-2"])],
    );
    assert!(allows_return(&ping.reply(), &w2), "echo reply to an allowed ping");
}

#[test]
fn endpoints_without_groups_are_not_filtered() {
    let w = world(&[], vec![endpoint("target", &["127.0.0.1"], &[])]);
    let d = decide(&tcp("127.0.0.9", "127.0.0.1", 22), &w);
    assert!(d.allowed());
    assert!(matches!(d.egress, Verdict::Unfiltered));
    assert!(matches!(d.ingress, Verdict::Unfiltered));
    assert_eq!(d.rule_ids().count(), 0);
}

#[test]
fn an_attached_group_missing_from_the_configuration_allows_nothing() {
    let w = world(&[], vec![endpoint("i-1", &["10.0.0.1"], &["sg-gone"])]);
    assert!(!decide(&tcp("10.0.0.2", "10.0.0.1", 80), &w).allowed());
}

#[test]
fn ends_limit_which_side_is_checked() {
    let mut quiet = group("sg-q", "quiet", vec![]);
    quiet.egress.clear();
    let open = group("sg-o", "open", vec![rule("sgr-o", "tcp", 80, 80, "0.0.0.0/0")]);
    let w = world(
        &[quiet, open],
        vec![
            endpoint("src", &["10.0.0.1"], &["sg-q"]),
            endpoint("dst", &["10.0.0.2"], &["sg-o"]),
        ],
    );
    let f = tcp("10.0.0.1", "10.0.0.2", 80);
    assert_eq!(decide(&f, &w).blocked_at(), Some(Direction::Egress));
    assert!(decide(&f.at(Ends::Destination), &w).allowed());
    assert!(!decide(&f.at(Ends::Source), &w).allowed());
}

#[test]
fn ingress_sources_lists_cidrs_and_members() {
    let groups = [
        group(
            "sg-lb",
            "lb",
            vec![
                rule("sgr-1", "tcp", 80, 80, "127.50.0.0/16"),
                rule("sgr-2", "tcp", 80, 80, "127.50.1.0/24"),
                rule("sgr-3", "tcp", 0, 65535, "group:sg-lb"),
                rule("sgr-4", "tcp", 443, 443, "0.0.0.0/0"),
            ],
        ),
        group("sg-none", "none", vec![]),
    ];
    let w = world(
        &groups,
        vec![
            endpoint("lb", &["127.77.0.1"], &["sg-lb"]),
            endpoint("closed", &["127.77.0.2"], &["sg-none"]),
        ],
    );
    let nets = ingress_sources(&w, ip("127.77.0.1"), Traffic::Tcp(80)).unwrap();
    let nets: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
    assert_eq!(nets, ["127.50.0.0/16", "127.77.0.1/32"]);
    assert_eq!(ingress_sources(&w, ip("127.77.0.2"), Traffic::Tcp(80)), Some(vec![]));
    assert_eq!(ingress_sources(&w, ip("127.0.0.1"), Traffic::Tcp(80)), None);
}

#[test]
fn explain_names_the_blocking_group_and_the_allowing_rule() {
    let groups = [
        group(
            "sg-bastion",
            "bastion",
            vec![rule("sgr-ssh", "tcp", 22, 22, "0.0.0.0/0")],
        ),
        group(
            "sg-private",
            "private",
            vec![rule("sgr-from-bastion", "tcp", 22, 22, "group:sg-bastion")],
        ),
    ];
    let w = world(
        &groups,
        vec![
            endpoint("i-bastion", &["10.0.1.5"], &["sg-bastion"]),
            endpoint("i-private", &["10.0.2.10"], &["sg-private"]),
        ],
    );
    let blocked = explain(&tcp("203.0.113.9", "10.0.2.10", 22), &w);
    assert!(
        blocked.starts_with("blocked: no inbound rule of sg-private (private) allows tcp/22 from 203.0.113.9\n"),
        "{blocked}"
    );
    assert!(
        blocked.contains("outbound at 203.0.113.9: no security group, not filtered"),
        "{blocked}"
    );
    let allowed = explain(&tcp("10.0.1.5", "10.0.2.10", 22), &w);
    assert!(
        allowed.starts_with("allowed: tcp/22 from 10.0.1.5 to 10.0.2.10\n"),
        "{allowed}"
    );
    assert!(
        allowed.contains(
            "rule sgr-from-bastion of sg-private (private) allows tcp/22 from members of sg-bastion (bastion)"
        ),
        "{allowed}"
    );
    assert!(
        allowed.contains("rule sgr-out-sg-bastion of sg-bastion (bastion) allows all traffic to 0.0.0.0/0"),
        "{allowed}"
    );
    assert!(allowed.contains("return traffic is allowed"), "{allowed}");
}

#[test]
fn a_prefix_list_allows_its_current_entries() {
    use fulmar_model::acm::{ManagedPrefixList, PrefixListEntry};
    let mut config = fulmar_model::Config::default();
    config.prefix_lists.insert(
        "pl-0123".into(),
        std::sync::Arc::new(ManagedPrefixList {
            id: "pl-0123".into(),
            region: "us-east-1".into(),
            owner_id: "000000000000".into(),
            name: "office".into(),
            address_family: "IPv4".into(),
            max_entries: 5,
            version: 1,
            state: "create-complete".into(),
            state_message: None,
            entries: vec![PrefixListEntry {
                cidr: "10.0.9.0/24".into(),
                description: None,
            }],
            history: vec![],
            tags: vec![],
        }),
    );
    let g = group("sg-1", "g", vec![rule("sgr-pl", "tcp", 80, 80, "pl-0123")]);
    let resolved = crate::world::resolve_prefix_lists(&g, &config).into_owned();
    let w = world(&[resolved], vec![endpoint("i-1", &["10.0.0.1"], &["sg-1"])]);
    assert!(decide(&tcp("10.0.9.7", "10.0.0.1", 80), &w).allowed());
    assert!(!decide(&tcp("10.0.8.7", "10.0.0.1", 80), &w).allowed());
    assert!(!decide(&tcp("10.0.9.7", "10.0.0.1", 81), &w).allowed());
}
