//! The world a decision reads: every security group with its compiled rules, every
//! endpoint (a network interface, a load balancer) with its addresses and groups, and
//! each group's current members.
//!
//! A [`World`] is compiled once per configuration snapshot; decisions only look things
//! up in it (a hash lookup per end, a scan of that end's rules, a binary search per
//! group reference), and never allocate.
//!
//! Membership is derived, never stored: a group's members are the addresses of the
//! endpoints that carry it, so a rule referencing a group follows its members as they
//! come and go with each snapshot (G3).

use std::collections::HashMap;
use std::net::IpAddr;

use fulmar_model::{Config, SecurityGroup};

use crate::rules::{Peer, Rule};

/// Index of a group in [`World::groups`].
pub(crate) type GroupIdx = u32;

/// A security group as the engine sees it.
#[derive(Debug, Clone)]
pub struct Group {
    id: String,
    /// `None` for a group some endpoint or rule names but the configuration lacks: it
    /// has no rules (it allows nothing) and its members are still its members.
    name: Option<String>,
    ingress: Vec<Rule>,
    egress: Vec<Rule>,
    /// Sorted, deduplicated.
    members: Vec<IpAddr>,
}

impl Group {
    /// `sg-...`
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The group's name; `None` when the configuration does not hold the group.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn ingress(&self) -> &[Rule] {
        &self.ingress
    }

    pub fn egress(&self) -> &[Rule] {
        &self.egress
    }

    /// The addresses of every endpoint that carries this group, sorted.
    pub fn members(&self) -> &[IpAddr] {
        &self.members
    }

    pub(crate) fn has_member(&self, address: IpAddr) -> bool {
        self.members.binary_search(&address).is_ok()
    }
}

/// An endpoint as a caller describes it to [`WorldBuilder::endpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// What identifies it in the configuration: a load balancer's ARN, an `eni-` id.
    pub id: String,
    /// How explanations name it: `load balancer web`, `instance i-0abc`.
    pub label: String,
    /// Its private addresses: flows to and from it carry them, and each is a member
    /// address of each of its groups.
    pub addresses: Vec<IpAddr>,
    /// Addresses that also reach it (a public or Elastic IP) but make it no member:
    /// traffic from an instance's public address does not match a rule referencing
    /// its group, as on AWS.
    pub public_addresses: Vec<IpAddr>,
    /// Its security groups, in attachment order. Empty: no filtering at this end.
    pub group_ids: Vec<String>,
}

/// One endpoint, compiled.
#[derive(Debug, Clone)]
pub struct Endpoint {
    id: String,
    label: String,
    addresses: Vec<IpAddr>,
    groups: Vec<GroupIdx>,
}

impl Endpoint {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }

    /// Whether any security group is attached (an endpoint without one is not filtered).
    pub fn is_filtered(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// Groups, endpoints and membership, compiled for fast decisions.
#[derive(Debug, Clone, Default)]
pub struct World {
    groups: Vec<Group>,
    by_id: HashMap<String, GroupIdx>,
    endpoints: Vec<Endpoint>,
    by_address: HashMap<IpAddr, usize>,
}

impl World {
    pub fn builder() -> WorldBuilder {
        WorldBuilder::default()
    }

    /// The world of a configuration snapshot: every security group; every network
    /// interface (an instance's among them) on its private address, reached also on
    /// its public one; and every load balancer on its address.
    ///
    /// Load-balancer targets on loopback belong to no VPC and carry no group, so no
    /// group applies on their side.
    pub fn from_config(config: &Config) -> World {
        let mut builder = World::builder();
        for group in config.security_groups.values() {
            builder.group(&resolve_prefix_lists(group, config));
        }
        for eni in config.network_interfaces.values() {
            let label = match &eni.attachment {
                Some(a) => format!("network interface {} of instance {}", eni.id, a.instance_id),
                None => format!("network interface {}", eni.id),
            };
            builder.endpoint(EndpointSpec {
                id: eni.id.clone(),
                label,
                addresses: vec![IpAddr::V4(eni.private_ip)],
                public_addresses: eni.public_ip.map(IpAddr::V4).into_iter().collect(),
                group_ids: eni.security_groups.clone(),
            });
        }
        for lb in config.load_balancers.values() {
            builder.endpoint(EndpointSpec {
                id: lb.arn.clone(),
                label: format!("load balancer {}", lb.name),
                addresses: vec![IpAddr::V4(lb.address)],
                public_addresses: vec![],
                group_ids: lb.security_groups.clone(),
            });
        }
        builder.build()
    }

    /// A group by id (including groups only named by endpoints or rules).
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.by_id.get(id).map(|&i| &self.groups[i as usize])
    }

    /// The endpoint a flow's address belongs to; `None` for addresses outside Fulmar's
    /// endpoints (outside clients, loopback targets). When two endpoints claim one
    /// address, the first one given to the builder owns it.
    pub fn endpoint_at(&self, address: IpAddr) -> Option<&Endpoint> {
        self.by_address.get(&address).map(|&i| &self.endpoints[i])
    }

    /// The groups attached to `endpoint`, in attachment order.
    pub fn groups_of<'w>(&'w self, endpoint: &'w Endpoint) -> impl Iterator<Item = &'w Group> + 'w {
        endpoint.groups.iter().map(|&g| &self.groups[g as usize])
    }

    pub(crate) fn group_at(&self, idx: GroupIdx) -> &Group {
        &self.groups[idx as usize]
    }
}

/// A group whose prefix-list rules are replaced by one rule per CIDR of the list (same
/// `sgr-` id and description), so a prefix list allows exactly its current entries; a
/// rule naming a list the configuration lacks is kept as it is and matches nothing.
pub(crate) fn resolve_prefix_lists<'a>(
    group: &'a SecurityGroup,
    config: &Config,
) -> std::borrow::Cow<'a, SecurityGroup> {
    use fulmar_model::ec2::RulePeer;
    use fulmar_model::SecurityGroupRule;
    let names_list = |r: &SecurityGroupRule| matches!(r.peer, RulePeer::PrefixList(_));
    if !group.ingress.iter().chain(&group.egress).any(names_list) {
        return std::borrow::Cow::Borrowed(group);
    }
    let expand = |rules: &[SecurityGroupRule]| -> Vec<SecurityGroupRule> {
        let mut out = Vec::with_capacity(rules.len());
        for r in rules {
            match &r.peer {
                RulePeer::PrefixList(id) if config.prefix_lists.contains_key(id) => {
                    let entries = &config.prefix_lists[id].entries;
                    out.extend(
                        entries
                            .iter()
                            .filter_map(|e| e.cidr.parse().ok())
                            .map(|net| SecurityGroupRule {
                                peer: RulePeer::Cidr(net),
                                ..r.clone()
                            }),
                    );
                }
                _ => out.push(r.clone()),
            }
        }
        out
    };
    let mut resolved = group.clone();
    resolved.ingress = expand(&group.ingress);
    resolved.egress = expand(&group.egress);
    std::borrow::Cow::Owned(resolved)
}

/// Collects groups and endpoints, then compiles them into a [`World`].
#[derive(Debug, Default)]
pub struct WorldBuilder {
    groups: Vec<SecurityGroup>,
    endpoints: Vec<EndpointSpec>,
}

impl WorldBuilder {
    /// Add a group (a later group with the same id replaces an earlier one).
    pub fn group(&mut self, group: &SecurityGroup) -> &mut WorldBuilder {
        self.groups.push(group.clone());
        self
    }

    pub fn endpoint(&mut self, endpoint: EndpointSpec) -> &mut WorldBuilder {
        self.endpoints.push(endpoint);
        self
    }

    pub fn build(self) -> World {
        let mut world = World::default();
        let mut defined: Vec<Option<&SecurityGroup>> = Vec::new();
        let intern = |world: &mut World, defined: &mut Vec<Option<&SecurityGroup>>, id: &str| -> GroupIdx {
            if let Some(&i) = world.by_id.get(id) {
                return i;
            }
            let i = GroupIdx::try_from(world.groups.len()).unwrap_or(GroupIdx::MAX);
            world.by_id.insert(id.to_owned(), i);
            world.groups.push(Group {
                id: id.to_owned(),
                name: None,
                ingress: Vec::new(),
                egress: Vec::new(),
                members: Vec::new(),
            });
            defined.push(None);
            i
        };
        for g in &self.groups {
            let i = intern(&mut world, &mut defined, &g.id);
            defined[i as usize] = Some(g);
        }
        for spec in &self.endpoints {
            let mut groups: Vec<GroupIdx> = Vec::with_capacity(spec.group_ids.len());
            for id in &spec.group_ids {
                let g = intern(&mut world, &mut defined, id);
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
            for &g in &groups {
                world.groups[g as usize].members.extend(&spec.addresses);
            }
            let index = world.endpoints.len();
            for &a in spec.addresses.iter().chain(&spec.public_addresses) {
                world.by_address.entry(a).or_insert(index);
            }
            world.endpoints.push(Endpoint {
                id: spec.id.clone(),
                label: spec.label.clone(),
                addresses: spec.addresses.clone(),
                groups,
            });
        }
        for i in 0..defined.len() {
            let Some(g) = defined[i] else { continue };
            let mut compile = |rules: &[fulmar_model::SecurityGroupRule]| -> Vec<Rule> {
                rules
                    .iter()
                    .map(|r| Rule::compile(r, |id| intern(&mut world, &mut defined, id)))
                    .collect()
            };
            let ingress = compile(&g.ingress);
            let egress = compile(&g.egress);
            let group = &mut world.groups[i];
            group.name = Some(g.name.clone());
            group.ingress = ingress;
            group.egress = egress;
        }
        for group in &mut world.groups {
            group.members.sort_unstable();
            group.members.dedup();
        }
        debug_assert!(world.groups.iter().all(|g| g
            .ingress
            .iter()
            .chain(&g.egress)
            .all(|r| !matches!(r.peer, Peer::Group(i) if i as usize >= world.groups.len()))));
        world
    }
}
