//! The engine against a brute-force reference evaluator, on random groups, rules,
//! endpoints and flows. The reference reads the model types directly, with no index:
//! it finds endpoints and members by scanning, and re-reads every rule's protocol and
//! ports from their strings and numbers each time.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fulmar_model::ec2::RulePeer;
use fulmar_model::{SecurityGroup, SecurityGroupRule};
use fulmar_secgroup::{
    allows_return, decide, ingress_sources, Direction, EndpointSpec, Ends, Flow, OtherProtocol, Traffic, Verdict, World,
};
use ipnet::IpNet;
use proptest::prelude::*;

/// The pool flows, endpoints and rules all draw from, small so that they meet.
const POOL: u8 = 6;

/// Four IPv4 and two IPv6 addresses.
fn address(i: u8) -> IpAddr {
    if i < 4 {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))
    } else {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(i - 4)))
    }
}

fn any_address() -> impl Strategy<Value = IpAddr> {
    (0..POOL).prop_map(address)
}

fn any_net() -> impl Strategy<Value = IpNet> {
    (0..POOL, 0usize..6).prop_map(|(i, p)| {
        let a = address(i);
        let len = match a {
            IpAddr::V4(_) => [0, 24, 30, 31, 32, 32][p],
            IpAddr::V6(_) => [0, 64, 125, 126, 127, 128][p],
        };
        IpNet::new(a, len).unwrap().trunc()
    })
}

fn any_peer() -> impl Strategy<Value = RulePeer> {
    prop_oneof![
        4 => any_net().prop_map(RulePeer::Cidr),
        3 => (0u8..6).prop_map(|g| RulePeer::Group { group_id: format!("sg-{g}"), user_id: "1".into() }),
        1 => Just(RulePeer::PrefixList("pl-1".into())),
    ]
}

const PROTOCOLS: [&str; 13] = [
    "-1", "all", "tcp", "udp", "icmp", "icmpv6", "6", "17", "1", "58", "47", "50", "gre",
];
const PORTS: [Option<i32>; 7] = [None, Some(-1), Some(0), Some(1), Some(2), Some(3), Some(65535)];

/// A protocol (tcp and icmp more likely than the others) and a port pair, mostly `from <= to`.
fn any_protocol_and_ports() -> impl Strategy<Value = (&'static str, Option<i32>, Option<i32>)> {
    let ports = prop_oneof![
        3 => (0usize..PORTS.len(), 0i32..2).prop_map(|(f, d)| (PORTS[f], PORTS[f].map(|f| if f == -1 { -1 } else { (f + d).min(65535) }))),
        1 => (0usize..PORTS.len(), 0usize..PORTS.len()).prop_map(|(f, t)| (PORTS[f], PORTS[t])),
    ];
    let protocol = prop_oneof![
        2 => Just("tcp"),
        2 => Just("icmp"),
        PROTOCOLS.len() as u32 => (0usize..PROTOCOLS.len()).prop_map(|p| PROTOCOLS[p]),
    ];
    (protocol, ports).prop_map(|(p, (f, t))| (p, f, t))
}

fn any_rule() -> impl Strategy<Value = SecurityGroupRule> {
    (any_protocol_and_ports(), any_peer()).prop_map(|((protocol, from_port, to_port), peer)| SecurityGroupRule {
        id: String::new(),
        ip_protocol: protocol.into(),
        from_port,
        to_port,
        peer,
        description: None,
        tags: Vec::new(),
    })
}

/// Groups `sg-0`..`sg-4` (endpoints and rules also name `sg-5`, which never exists).
fn any_groups() -> impl Strategy<Value = Vec<SecurityGroup>> {
    prop::collection::vec(
        (
            prop::collection::vec(any_rule(), 0..5),
            prop::collection::vec(any_rule(), 0..5),
        ),
        0..5,
    )
    .prop_map(|groups| {
        groups
            .into_iter()
            .enumerate()
            .map(|(i, (ingress, egress))| {
                let number = |dir: &str, rules: Vec<SecurityGroupRule>| {
                    rules
                        .into_iter()
                        .enumerate()
                        .map(|(j, r)| SecurityGroupRule {
                            id: format!("sgr-{i}-{dir}-{j}"),
                            ..r
                        })
                        .collect()
                };
                SecurityGroup {
                    id: format!("sg-{i}"),
                    region: "r".into(),
                    name: format!("g{i}"),
                    description: String::new(),
                    vpc_id: "vpc-1".into(),
                    owner_id: "1".into(),
                    ingress: number("in", ingress),
                    egress: number("out", egress),
                    tags: vec![],
                }
            })
            .collect()
    })
}

fn any_endpoints() -> impl Strategy<Value = Vec<EndpointSpec>> {
    prop::collection::vec(
        (
            prop::collection::vec(any_address(), 0..4),
            prop::collection::vec(any_address(), 0..2),
            prop_oneof![1 => Just(vec![]), 5 => prop::collection::vec(0u8..6, 1..4)],
        ),
        0..7,
    )
    .prop_map(|eps| {
        eps.into_iter()
            .enumerate()
            .map(|(i, (addresses, public_addresses, groups))| EndpointSpec {
                id: format!("eni-{i}"),
                label: format!("interface eni-{i}"),
                addresses,
                public_addresses,
                group_ids: groups.into_iter().map(|g| format!("sg-{g}")).collect(),
            })
            .collect()
    })
}

fn any_traffic() -> impl Strategy<Value = Traffic> {
    const PORTS: [u16; 5] = [0, 1, 2, 3, 65535];
    prop_oneof![
        3 => (0usize..5).prop_map(|p| Traffic::Tcp(PORTS[p])),
        1 => (0usize..5).prop_map(|p| Traffic::Udp(PORTS[p])),
        2 => (0u8..3, 0u8..3).prop_map(|(kind, code)| Traffic::Icmp { kind, code }),
        1 => (0u8..4, 0u8..3).prop_map(|(kind, code)| Traffic::Icmpv6 { kind, code }),
        1 => prop_oneof![Just(47u8), Just(50u8)].prop_map(|n| Traffic::Other(OtherProtocol::new(n).unwrap())),
    ]
}

fn any_flow() -> impl Strategy<Value = Flow> {
    (any_address(), any_address(), any_traffic(), 0usize..3).prop_map(|(src, dst, traffic, e)| {
        Flow::new(src, dst, traffic).at([Ends::Both, Ends::Source, Ends::Destination][e])
    })
}

// ---- the reference -------------------------------------------------------------

struct Reference<'a> {
    groups: &'a [SecurityGroup],
    endpoints: &'a [EndpointSpec],
}

impl Reference<'_> {
    fn endpoint(&self, a: IpAddr) -> Option<&EndpointSpec> {
        self.endpoints
            .iter()
            .find(|e| e.addresses.contains(&a) || e.public_addresses.contains(&a))
    }

    fn is_member(&self, group: &str, a: IpAddr) -> bool {
        self.endpoints
            .iter()
            .any(|e| e.group_ids.iter().any(|g| g == group) && e.addresses.contains(&a))
    }

    fn rule_allows(&self, rule: &SecurityGroupRule, traffic: Traffic, peer: IpAddr) -> bool {
        let proto = rule.ip_protocol.to_lowercase();
        let traffic_ok = if proto == "-1" || proto == "all" {
            true
        } else {
            let number: i32 = match proto.as_str() {
                "tcp" => 6,
                "udp" => 17,
                "icmp" => 1,
                "icmpv6" => 58,
                other => other.parse().unwrap_or(-100),
            };
            let open = |v: Option<i32>| v.is_none() || v == Some(-1);
            match traffic {
                Traffic::Tcp(p) | Traffic::Udp(p) => {
                    let wanted = if matches!(traffic, Traffic::Tcp(_)) { 6 } else { 17 };
                    let lo = if open(rule.from_port) {
                        0
                    } else {
                        rule.from_port.unwrap()
                    };
                    let hi = if open(rule.to_port) {
                        65535
                    } else {
                        rule.to_port.unwrap()
                    };
                    number == wanted && lo <= i32::from(p) && i32::from(p) <= hi
                }
                Traffic::Icmp { kind, code } | Traffic::Icmpv6 { kind, code } => {
                    let wanted = if matches!(traffic, Traffic::Icmp { .. }) { 1 } else { 58 };
                    let byte = |v: Option<i32>| !matches!(v, Some(v) if !(-1..=255).contains(&v));
                    number == wanted
                        && byte(rule.from_port)
                        && byte(rule.to_port)
                        && (open(rule.from_port)
                            || (rule.from_port == Some(i32::from(kind))
                                && (open(rule.to_port) || rule.to_port == Some(i32::from(code)))))
                }
                Traffic::Other(p) => number == i32::from(p.number()),
            }
        };
        traffic_ok
            && match &rule.peer {
                RulePeer::Cidr(net) => net.contains(&peer),
                RulePeer::Group { group_id, .. } => self.is_member(group_id, peer),
                RulePeer::PrefixList(_) => false,
            }
    }

    /// `None` when this end is not filtered, else the ids of every allowing rule.
    fn side(&self, at: IpAddr, peer: IpAddr, traffic: Traffic, egress: bool) -> Option<BTreeSet<String>> {
        let e = self.endpoint(at).filter(|e| !e.group_ids.is_empty())?;
        let mut allowing = BTreeSet::new();
        for g in self.groups.iter().filter(|g| e.group_ids.contains(&g.id)) {
            let rules = if egress { &g.egress } else { &g.ingress };
            for r in rules.iter().filter(|r| self.rule_allows(r, traffic, peer)) {
                allowing.insert(r.id.clone());
            }
        }
        Some(allowing)
    }
}

fn world(groups: &[SecurityGroup], endpoints: &[EndpointSpec]) -> World {
    let mut b = World::builder();
    for g in groups {
        b.group(g);
    }
    for e in endpoints {
        b.endpoint(e.clone());
    }
    b.build()
}

fn check_side(verdict: Verdict<'_>, expected: Option<BTreeSet<String>>) -> Result<(), TestCaseError> {
    match (verdict, expected) {
        (Verdict::Unfiltered, None) => {}
        (Verdict::Allowed { rule, .. }, Some(set)) => {
            prop_assert!(set.contains(rule.id()), "{} not in {set:?}", rule.id())
        }
        (Verdict::Blocked { .. }, Some(set)) => {
            prop_assert!(set.is_empty(), "blocked but {set:?} allow")
        }
        (v, e) => prop_assert!(false, "engine {v:?}, reference {e:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn decide_agrees_with_the_reference(groups in any_groups(), endpoints in any_endpoints(), flows in prop::collection::vec(any_flow(), 1..8)) {
        let w = world(&groups, &endpoints);
        let r = Reference { groups: &groups, endpoints: &endpoints };
        for flow in flows {
            let d = decide(&flow, &w);
            let egress = flow.ends.ne(&Ends::Destination).then(|| r.side(flow.src, flow.dst, flow.traffic, true)).flatten();
            let ingress = flow.ends.ne(&Ends::Source).then(|| r.side(flow.dst, flow.src, flow.traffic, false)).flatten();
            let blocks = |side: &Option<BTreeSet<String>>| matches!(side, Some(s) if s.is_empty());
            let allowed = !blocks(&egress) && !blocks(&ingress);
            prop_assert_eq!(d.allowed(), allowed, "{:?}", flow);
            check_side(d.egress, egress)?;
            check_side(d.ingress, ingress)?;
            if let Some(e) = r.endpoint(flow.dst).filter(|_| flow.ends != Ends::Source) {
                let evaluated: BTreeSet<&str> = d.groups_evaluated(Direction::Ingress).map(|g| g.id()).collect();
                let attached: BTreeSet<&str> = e.group_ids.iter().map(String::as_str).collect();
                prop_assert_eq!(evaluated, attached);
            }
            prop_assert_eq!(allows_return(&flow.reply(), &w), allowed);
        }
    }

    #[test]
    fn ingress_sources_agree_with_decide(groups in any_groups(), endpoints in any_endpoints(), dst in any_address(), traffic in any_traffic()) {
        let w = world(&groups, &endpoints);
        let sources = ingress_sources(&w, dst, traffic);
        for i in 0..POOL + 2 {
            let src = address(i);
            let d = decide(&Flow::new(src, dst, traffic).at(Ends::Destination), &w);
            let listed = match &sources {
                None => true,
                Some(nets) => nets.iter().any(|n| n.contains(&src)),
            };
            prop_assert_eq!(listed, d.allowed(), "{} -> {}: {:?}", src, dst, sources);
        }
    }
}
