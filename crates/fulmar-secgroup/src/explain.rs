//! A decision in plain words, the way AWS's Reachability Analyzer explains a path:
//! the verdict first, then, for each end, the groups checked and the rule that
//! allowed the flow or the fact that none did.
//!
//! ```text
//! blocked: no inbound rule of sg-0b2 (private) allows tcp/22 from 203.0.113.9
//!   outbound at 203.0.113.9: no security group, not filtered
//!   inbound at 10.0.2.10 (instance i-0a1): checked sg-0b2 (private); no rule allows it
//! ```

use std::fmt::Write;

use fulmar_model::ec2::RulePeer;

use crate::decide::{decide, Decision, Direction, Verdict};
use crate::flow::Flow;
use crate::rules::{Covers, Rule};
use crate::world::{Group, World};

/// Explain the decision about `flow` in a few lines of plain words.
pub fn explain(flow: &Flow, world: &World) -> String {
    let decision = decide(flow, world);
    let mut out = String::new();
    let traffic = flow.traffic;
    if decision.allowed() {
        let _ = writeln!(out, "allowed: {traffic} from {} to {}", flow.src, flow.dst);
    }
    if decision.egress.is_blocked() {
        let groups = group_list(decision.groups_evaluated(Direction::Egress));
        let _ = writeln!(
            out,
            "blocked: no outbound rule of {groups} allows {traffic} to {}",
            flow.dst
        );
    }
    if decision.ingress.is_blocked() {
        let groups = group_list(decision.groups_evaluated(Direction::Ingress));
        let _ = writeln!(
            out,
            "blocked: no inbound rule of {groups} allows {traffic} from {}",
            flow.src
        );
    }
    end(&mut out, world, &decision, Direction::Egress, flow);
    end(&mut out, world, &decision, Direction::Ingress, flow);
    if decision.allowed() {
        out.push_str("  return traffic is allowed: security groups are stateful\n");
    }
    out
}

fn end(out: &mut String, world: &World, decision: &Decision<'_>, direction: Direction, flow: &Flow) {
    let (word, at, verdict, asked) = match direction {
        Direction::Egress => ("outbound", flow.src, decision.egress, flow.ends.source()),
        Direction::Ingress => ("inbound", flow.dst, decision.ingress, flow.ends.destination()),
    };
    let groups = group_list(decision.groups_evaluated(direction));
    match verdict {
        Verdict::Unfiltered if !asked => {
            let _ = writeln!(out, "  {word} at {at}: not checked for this flow");
        }
        Verdict::Unfiltered => {
            let _ = writeln!(out, "  {word} at {at}: no security group, not filtered");
        }
        Verdict::Allowed { endpoint, group, rule } => {
            let _ = writeln!(
                out,
                "  {word} at {at} ({}): checked {groups}; rule {} of {} allows {}",
                endpoint.label(),
                rule.id(),
                group_name(group),
                describe(world, rule, direction)
            );
        }
        Verdict::Blocked { endpoint } => {
            let _ = writeln!(
                out,
                "  {word} at {at} ({}): checked {groups}; no rule allows it",
                endpoint.label()
            );
        }
    }
}

fn group_name(group: &Group) -> String {
    match group.name() {
        Some(name) => format!("{} ({name})", group.id()),
        None => format!("{} (not found)", group.id()),
    }
}

fn group_list<'w>(groups: impl Iterator<Item = &'w Group>) -> String {
    groups.map(group_name).collect::<Vec<_>>().join(", ")
}

/// `tcp/22 from 0.0.0.0/0`, `all traffic to members of sg-1 (web)`.
fn describe(world: &World, rule: &Rule, direction: Direction) -> String {
    let what = match rule.covers {
        Covers::All => "all traffic".to_owned(),
        Covers::Tcp { from, to } => ports("tcp", from, to),
        Covers::Udp { from, to } => ports("udp", from, to),
        Covers::Icmp { kind, code } => icmp("icmp", kind, code),
        Covers::Icmpv6 { kind, code } => icmp("icmpv6", kind, code),
        Covers::Protocol(n) => format!("protocol {n}"),
        Covers::Nothing => format!("nothing (protocol {:?})", rule.stored().ip_protocol),
    };
    let peer = match &rule.stored().peer {
        RulePeer::Cidr(net) => net.to_string(),
        RulePeer::Group { group_id, .. } => match world.group(group_id) {
            Some(g) => format!("members of {}", group_name(g)),
            None => format!("members of {group_id}"),
        },
        RulePeer::PrefixList(id) => {
            format!("prefix list {id} (which does not exist: matches nothing)")
        }
    };
    let preposition = match direction {
        Direction::Egress => "to",
        Direction::Ingress => "from",
    };
    format!("{what} {preposition} {peer}")
}

fn ports(protocol: &str, from: u16, to: u16) -> String {
    match (from, to) {
        (0, 65_535) => format!("{protocol}/all ports"),
        (f, t) if f == t => format!("{protocol}/{f}"),
        (f, t) => format!("{protocol}/{f}-{t}"),
    }
}

fn icmp(protocol: &str, kind: Option<u8>, code: Option<u8>) -> String {
    match (kind, code) {
        (None, _) => format!("{protocol}/all types"),
        (Some(k), None) => format!("{protocol}/{k}/all codes"),
        (Some(k), Some(c)) => format!("{protocol}/{k}/{c}"),
    }
}
