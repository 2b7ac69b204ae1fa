//! The security-group engine: pure decisions about flows, with AWS's semantics, and
//! their explanation in plain words. No I/O: data planes ask it, and enforce.
//!
//! A [`World`] is compiled from a configuration snapshot ([`World::from_config`]):
//! groups with their rules, endpoints (load balancers now, network interfaces later)
//! with their addresses and groups, and each group's members. [`decide`] answers for
//! one [`Flow`] without allocating; [`explain`] says why; [`ingress_sources`] lists
//! what an endpoint's inbound rules let in, for packet filters.
//!
//! Semantics (G1–G4, G7):
//! - Allow-only, separate inbound and outbound rule sets; a flow passes when the
//!   source's outbound rules allow it to the destination AND the destination's inbound
//!   rules allow it from the source. An end without groups is not filtered.
//! - Every rule of every group of an endpoint counts (union); no order, no deny.
//! - Protocol `-1` is everything; port ranges are inclusive; ICMP type/code `-1` is
//!   every type/code; other protocol numbers cover the whole protocol.
//! - A CIDR (IPv4 or IPv6) matches addresses inside it; a group reference matches the
//!   current members' addresses (a group may name itself); a managed prefix list
//!   matches its current entries' CIDRs (one that does not exist matches nothing).
//! - Stateful: the return traffic of an allowed flow is allowed ([`allows_return`]).

mod decide;
mod error;
mod explain;
mod flow;
mod rules;
mod sources;
mod world;

pub use decide::{allows_return, decide, Decision, Direction, Verdict};
pub use error::Error;
pub use explain::explain;
pub use flow::{Ends, Flow, OtherProtocol, Traffic};
pub use rules::Rule;
pub use sources::ingress_sources;
pub use world::{Endpoint, EndpointSpec, Group, World, WorldBuilder};

#[cfg(test)]
mod tests;
