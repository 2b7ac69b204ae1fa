//! The inbound side of a decision as a list of networks: every source address the
//! destination's groups let in for one kind of traffic. This is what a packet filter
//! installs (one set per listener), and it agrees with [`crate::decide`] for every
//! source address by construction (property-tested).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::flow::Traffic;
use crate::rules::Peer;
use crate::world::World;

/// The sources `dst`'s inbound rules allow for `traffic`, merged into the fewest
/// networks; `None` when `dst` is not filtered (no endpoint there, or no group).
///
/// Group references contribute their members' addresses as host networks; prefix
/// lists contribute nothing. `Some(vec![])` means nothing is allowed.
pub fn ingress_sources(world: &World, dst: IpAddr, traffic: Traffic) -> Option<Vec<IpNet>> {
    let endpoint = world.endpoint_at(dst).filter(|e| e.is_filtered())?;
    let mut nets: Vec<IpNet> = Vec::new();
    for group in world.groups_of(endpoint) {
        for rule in group.ingress() {
            if !rule.covers.covers(traffic) {
                continue;
            }
            match rule.peer {
                Peer::Cidr(net) => nets.push(net.trunc()),
                Peer::Group(g) => nets.extend(world.group_at(g).members().iter().map(|&a| IpNet::from(a))),
                Peer::PrefixList => {}
            }
        }
    }
    Some(IpNet::aggregate(&nets))
}
