//! One security-group rule, compiled: what traffic it covers and which peer it names.
//!
//! AWS semantics, as the EC2 API documents `IpPermission`:
//! - `-1` (or `all`) is every protocol on every port; the ports are ignored.
//! - `tcp`/`6` and `udp`/`17` cover the inclusive range `FromPort..=ToPort`
//!   (`-1` or absent at either end stands for the open end).
//! - `icmp`/`1` and `icmpv6`/`58` carry the ICMP type in `FromPort` and the code in
//!   `ToPort`; `-1` is every type (or every code of the type).
//! - Any other protocol number covers the whole protocol, whatever ports are given.
//! - Anything else never matches, nor does a port, type or code out of its range (the
//!   API refuses them; a stored oddity fails closed).

use std::net::IpAddr;

use fulmar_model::ec2::{RulePeer, SecurityGroupRule};
use ipnet::IpNet;

use crate::flow::Traffic;
use crate::world::GroupIdx;

/// The traffic a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Covers {
    All,
    Tcp { from: u16, to: u16 },
    Udp { from: u16, to: u16 },
    Icmp { kind: Option<u8>, code: Option<u8> },
    Icmpv6 { kind: Option<u8>, code: Option<u8> },
    Protocol(u8),
    Nothing,
}

impl Covers {
    pub fn parse(rule: &SecurityGroupRule) -> Covers {
        let protocol = rule.ip_protocol.trim().to_ascii_lowercase();
        let ports = || {
            let from = match rule.from_port {
                None | Some(-1) => 0,
                Some(p) => p,
            };
            let to = match rule.to_port {
                None | Some(-1) => 65_535,
                Some(p) => p,
            };
            match (u16::try_from(from), u16::try_from(to)) {
                (Ok(from), Ok(to)) if from <= to => Some((from, to)),
                _ => None,
            }
        };
        let icmp = || {
            let part = |v: Option<i32>| match v {
                None | Some(-1) => Ok(None),
                Some(n) => u8::try_from(n).map(Some),
            };
            match (part(rule.from_port), part(rule.to_port)) {
                (Ok(kind), Ok(code)) => Some((kind, code)),
                _ => None,
            }
        };
        let number = match protocol.as_str() {
            "-1" | "all" => return Covers::All,
            "tcp" => 6,
            "udp" => 17,
            "icmp" => 1,
            "icmpv6" => 58,
            n => match n.parse::<u8>() {
                Ok(n) => n,
                Err(_) => return Covers::Nothing,
            },
        };
        match number {
            6 => ports().map_or(Covers::Nothing, |(from, to)| Covers::Tcp { from, to }),
            17 => ports().map_or(Covers::Nothing, |(from, to)| Covers::Udp { from, to }),
            1 => icmp().map_or(Covers::Nothing, |(kind, code)| Covers::Icmp { kind, code }),
            58 => icmp().map_or(Covers::Nothing, |(kind, code)| Covers::Icmpv6 { kind, code }),
            n => Covers::Protocol(n),
        }
    }

    pub fn covers(self, traffic: Traffic) -> bool {
        let icmp = |kind: Option<u8>, code: Option<u8>, k: u8, c: u8| {
            kind.is_none() || (kind == Some(k) && (code.is_none() || code == Some(c)))
        };
        match (self, traffic) {
            (Covers::All, _) => true,
            (Covers::Tcp { from, to }, Traffic::Tcp(p)) => (from..=to).contains(&p),
            (Covers::Udp { from, to }, Traffic::Udp(p)) => (from..=to).contains(&p),
            (Covers::Icmp { kind, code }, Traffic::Icmp { kind: k, code: c }) => icmp(kind, code, k, c),
            (Covers::Icmpv6 { kind, code }, Traffic::Icmpv6 { kind: k, code: c }) => icmp(kind, code, k, c),
            (Covers::Protocol(n), Traffic::Other(p)) => n == p.number(),
            _ => false,
        }
    }
}

/// Who a rule lets in (ingress: the source) or out to (egress: the destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Cidr(IpNet),
    /// The current members of this group.
    Group(GroupIdx),
    /// A managed prefix list the configuration lacks: it matches no address. (Known
    /// lists are resolved to their CIDRs when the world is compiled.)
    PrefixList,
}

/// A rule of a group, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) covers: Covers,
    pub(crate) peer: Peer,
    /// The rule as stored (its `sgr-` id, protocol, ports, peer, description).
    pub(crate) source: SecurityGroupRule,
}

impl Rule {
    /// The rule's `sgr-` id.
    pub fn id(&self) -> &str {
        &self.source.id
    }

    /// The rule as the API stores and describes it.
    pub fn stored(&self) -> &SecurityGroupRule {
        &self.source
    }

    pub(crate) fn compile(source: &SecurityGroupRule, group: impl FnOnce(&str) -> GroupIdx) -> Rule {
        let peer = match &source.peer {
            RulePeer::Cidr(net) => Peer::Cidr(*net),
            RulePeer::Group { group_id, .. } => Peer::Group(group(group_id)),
            RulePeer::PrefixList(_) => Peer::PrefixList,
        };
        Rule {
            covers: Covers::parse(source),
            peer,
            source: source.clone(),
        }
    }

    /// Whether this rule covers `traffic` with `peer` (the far end's address), given
    /// the members of each group.
    pub(crate) fn allows(&self, traffic: Traffic, peer: IpAddr, members: impl Fn(GroupIdx, IpAddr) -> bool) -> bool {
        self.covers.covers(traffic)
            && match self.peer {
                Peer::Cidr(net) => net.contains(&peer),
                Peer::Group(g) => members(g, peer),
                Peer::PrefixList => false,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::OtherProtocol;

    fn rule(protocol: &str, from: Option<i32>, to: Option<i32>) -> Covers {
        Covers::parse(&SecurityGroupRule {
            id: "sgr-1".into(),
            ip_protocol: protocol.into(),
            from_port: from,
            to_port: to,
            peer: RulePeer::Cidr("0.0.0.0/0".parse().unwrap()),
            description: None,
            tags: Vec::new(),
        })
    }

    #[test]
    fn all_protocols_ignore_ports() {
        for p in ["-1", "all"] {
            let c = rule(p, Some(22), Some(22));
            assert!(c.covers(Traffic::Tcp(80)));
            assert!(c.covers(Traffic::Udp(53)));
            assert!(c.covers(Traffic::Icmp { kind: 8, code: 0 }));
            assert!(c.covers(Traffic::Other(OtherProtocol::new(47).unwrap())));
        }
    }

    #[test]
    fn port_ranges_are_inclusive_and_per_protocol() {
        let c = rule("tcp", Some(8000), Some(8080));
        assert!(!c.covers(Traffic::Tcp(7999)));
        assert!(c.covers(Traffic::Tcp(8000)));
        assert!(c.covers(Traffic::Tcp(8080)));
        assert!(!c.covers(Traffic::Tcp(8081)));
        assert!(!c.covers(Traffic::Udp(8000)));
        assert!(rule("6", Some(22), Some(22)).covers(Traffic::Tcp(22)));
        assert!(rule("UDP", Some(53), Some(53)).covers(Traffic::Udp(53)));
        assert!(rule("tcp", Some(0), Some(65535)).covers(Traffic::Tcp(65535)));
        assert!(rule("tcp", None, None).covers(Traffic::Tcp(1)));
        assert_eq!(rule("tcp", Some(90), Some(80)), Covers::Nothing);
    }

    #[test]
    fn icmp_type_and_code_with_wildcards() {
        let echo = Traffic::Icmp { kind: 8, code: 0 };
        let unreachable = Traffic::Icmp { kind: 3, code: 4 };
        assert!(rule("icmp", Some(-1), Some(-1)).covers(echo));
        assert!(rule("icmp", Some(-1), Some(-1)).covers(unreachable));
        assert!(rule("icmp", Some(8), Some(-1)).covers(echo));
        assert!(!rule("icmp", Some(8), Some(-1)).covers(unreachable));
        assert!(rule("icmp", Some(3), Some(4)).covers(unreachable));
        assert!(!rule("icmp", Some(3), Some(1)).covers(unreachable));
        assert!(!rule("icmp", Some(-1), Some(-1)).covers(Traffic::Icmpv6 { kind: 128, code: 0 }));
        assert!(rule("58", Some(128), Some(-1)).covers(Traffic::Icmpv6 { kind: 128, code: 0 }));
    }

    #[test]
    fn other_protocols_cover_all_their_traffic_and_garbage_covers_nothing() {
        let gre = Traffic::Other(OtherProtocol::new(47).unwrap());
        assert!(rule("47", Some(1), Some(2)).covers(gre));
        assert!(!rule("50", None, None).covers(gre));
        assert!(!rule("47", None, None).covers(Traffic::Tcp(47)));
        assert_eq!(rule("gre", None, None), Covers::Nothing);
        assert_eq!(rule("256", None, None), Covers::Nothing);
    }
}
