//! The decision: is a flow allowed, and by which rules, or which end blocks it.
//!
//! A flow is allowed when the source's outbound rules allow it to the destination
//! address AND the destination's inbound rules allow it from the source address (G1).
//! At each end every rule of every attached group is evaluated; any one allowing rule
//! is enough (G4: union, no order, no deny). An end with no group is not filtered.
//! Once allowed, the flow's return traffic is allowed whatever the rules say (G2):
//! see [`allows_return`].

use std::net::IpAddr;

use crate::flow::{Flow, Traffic};
use crate::rules::Rule;
use crate::world::{Endpoint, Group, World};

/// Which rule set of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The source's outbound rules.
    Egress,
    /// The destination's inbound rules.
    Ingress,
}

/// What one end's rules say about a flow.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'w> {
    /// Nothing evaluated: the end has no security group (an outside client, a
    /// loopback target) or the flow does not ask for this end.
    Unfiltered,
    /// `rule` of `group` allows the flow (the first allowing rule found, in attachment
    /// order of the groups and stored order of the rules; others may allow it too).
    Allowed {
        endpoint: &'w Endpoint,
        group: &'w Group,
        rule: &'w Rule,
    },
    /// No rule of any of the endpoint's groups allows the flow.
    Blocked { endpoint: &'w Endpoint },
}

impl Verdict<'_> {
    pub fn is_blocked(&self) -> bool {
        matches!(self, Verdict::Blocked { .. })
    }
}

/// The decision about one flow; borrows the [`World`] it was made in.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'w> {
    world: &'w World,
    /// The source's outbound rules.
    pub egress: Verdict<'w>,
    /// The destination's inbound rules.
    pub ingress: Verdict<'w>,
}

impl<'w> Decision<'w> {
    pub fn allowed(&self) -> bool {
        !self.egress.is_blocked() && !self.ingress.is_blocked()
    }

    /// The first end that blocks the flow, along the path (the source's egress, then
    /// the destination's ingress); `None` when it is allowed.
    pub fn blocked_at(&self) -> Option<Direction> {
        if self.egress.is_blocked() {
            Some(Direction::Egress)
        } else if self.ingress.is_blocked() {
            Some(Direction::Ingress)
        } else {
            None
        }
    }

    /// The groups evaluated for one direction (none when that end is unfiltered).
    pub fn groups_evaluated(&self, direction: Direction) -> impl Iterator<Item = &'w Group> + 'w {
        let verdict = match direction {
            Direction::Egress => self.egress,
            Direction::Ingress => self.ingress,
        };
        let endpoint = match verdict {
            Verdict::Unfiltered => None,
            Verdict::Allowed { endpoint, .. } | Verdict::Blocked { endpoint } => Some(endpoint),
        };
        let world = self.world;
        endpoint.into_iter().flat_map(move |e| world.groups_of(e))
    }

    /// The `sgr-` ids of the rules that allowed the flow (egress first, then ingress).
    pub fn rule_ids(&self) -> impl Iterator<Item = &'w str> {
        [self.egress, self.ingress].into_iter().filter_map(|v| match v {
            Verdict::Allowed { rule, .. } => Some(rule.id()),
            _ => None,
        })
    }
}

/// Decide one flow against the groups of both ends (or the end `flow.ends` names).
pub fn decide<'w>(flow: &Flow, world: &'w World) -> Decision<'w> {
    let egress = if flow.ends.source() {
        verdict(world, flow.src, flow.dst, flow.traffic, Direction::Egress)
    } else {
        Verdict::Unfiltered
    };
    let ingress = if flow.ends.destination() {
        verdict(world, flow.dst, flow.src, flow.traffic, Direction::Ingress)
    } else {
        Verdict::Unfiltered
    };
    Decision { world, egress, ingress }
}

/// Whether `reply` may pass as the return traffic of the flow it answers
/// (`reply.reply()`, see [`Flow::reply`]): it may whenever that flow is allowed, whatever
/// the rules of the reply's own direction say (G2).
///
/// This is the rule without the memory: a data path that admits connections remembers
/// the admission (a connection-tracking table, or simply the open socket), so a
/// connection admitted before a rule is revoked keeps working, as on AWS.
pub fn allows_return(reply: &Flow, world: &World) -> bool {
    decide(&reply.reply(), world).allowed()
}

fn verdict<'w>(world: &'w World, at: IpAddr, peer: IpAddr, traffic: Traffic, direction: Direction) -> Verdict<'w> {
    let Some(endpoint) = world.endpoint_at(at).filter(|e| e.is_filtered()) else {
        return Verdict::Unfiltered;
    };
    let is_member = |g, address| world.group_at(g).has_member(address);
    for group in world.groups_of(endpoint) {
        let rules = match direction {
            Direction::Egress => group.egress(),
            Direction::Ingress => group.ingress(),
        };
        if let Some(rule) = rules.iter().find(|r| r.allows(traffic, peer, is_member)) {
            return Verdict::Allowed { endpoint, group, rule };
        }
    }
    Verdict::Blocked { endpoint }
}
