//! The compiled form of one configuration snapshot: everything a query needs, found by
//! hash lookups.
//!
//! [`ZoneIndex::build`] reads the hosted zones, record sets, CIDR collections and load
//! balancers of a [`Config`] once; record values are parsed here (presentation format
//! to hickory `RData`) so the query path never parses text. Every ancestor of a name
//! that owns records is present as a node too (possibly empty: an empty
//! non-terminal), so "does this name exist" is a single lookup.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::str::FromStr;

use fulmar_model::route53::{RecordSet, RoutingPolicy};
use fulmar_model::Config;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ipnet::IpNet;

/// The SOA Route 53 creates for a new zone, used when a zone has none: its TTL.
const DEFAULT_SOA_TTL: u32 = 900;
/// The TTL of a load balancer's A record (as ELB answers).
pub const LOAD_BALANCER_TTL: u32 = 60;

/// Every zone, name and load balancer of one snapshot.
#[derive(Debug, Default)]
pub struct ZoneIndex {
    zones: Vec<Zone>,
    by_name: HashMap<Name, Vec<usize>>,
    by_id: HashMap<String, usize>,
    load_balancers: HashMap<Name, LoadBalancerName>,
    cidr_collections: HashMap<String, Vec<(IpNet, String)>>,
}

/// One hosted zone.
#[derive(Debug)]
pub struct Zone {
    pub id: String,
    pub name: Name,
    pub private: bool,
    pub vpcs: Vec<String>,
    /// The zone's SOA record (owner: the apex).
    pub soa: Record,
    nodes: HashMap<Name, Node>,
}

/// The record sets of one owner name; empty for an empty non-terminal.
#[derive(Debug, Default)]
pub struct Node {
    pub groups: Vec<Group>,
}

/// The record sets sharing a name and type: one for simple routing, several (one per
/// set identifier) for the other policies.
#[derive(Debug)]
pub struct Group {
    pub rtype: RecordType,
    pub entries: Vec<Entry>,
}

/// One record set, compiled.
#[derive(Debug)]
pub struct Entry {
    pub set_identifier: Option<String>,
    pub ttl: u32,
    pub values: Vec<RData>,
    pub alias: Option<Box<Alias>>,
    pub health_check_id: Option<String>,
    pub policy: RoutingPolicy,
}

/// An alias record's target.
#[derive(Debug)]
pub struct Alias {
    pub hosted_zone_id: String,
    pub target: Name,
    pub evaluate_target_health: bool,
}

/// A load balancer, found by its DNS name (or `dualstack.` + its DNS name).
#[derive(Debug, Clone)]
pub struct LoadBalancerName {
    /// As in `LoadBalancer::dns_name`, for the health oracle.
    pub dns_name: String,
    pub address: Ipv4Addr,
}

impl Node {
    pub fn group(&self, rtype: RecordType) -> Option<&Group> {
        self.groups.iter().find(|g| g.rtype == rtype)
    }
}

impl Zone {
    pub fn node(&self, name: &Name) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// The number of owner names, empty non-terminals included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn insert(&mut self, name: Name, entry: Entry, rtype: RecordType) {
        if !self.nodes.contains_key(&name) {
            // Keep the invariant: every ancestor of a node down from the apex is a node.
            let apex = labels(&self.name);
            let mut up = name.base_name();
            while labels(&up) > apex && !self.nodes.contains_key(&up) {
                let next = up.base_name();
                self.nodes.insert(up, Node::default());
                up = next;
            }
        }
        let node = self.nodes.entry(name).or_default();
        match node.groups.iter_mut().find(|g| g.rtype == rtype) {
            Some(g) => g.entries.push(entry),
            None => node.groups.push(Group {
                rtype,
                entries: vec![entry],
            }),
        }
    }
}

impl ZoneIndex {
    /// Compile a snapshot. Values that do not parse are skipped (the API validated them,
    /// so this only happens for types hickory cannot represent).
    pub fn build(config: &Config) -> ZoneIndex {
        let mut ix = ZoneIndex::default();
        for z in config.hosted_zones.values() {
            let Some(name) = parse_name(&z.name) else {
                tracing::warn!(zone = %z.id, name = %z.name, "hosted zone name does not parse; not served");
                continue;
            };
            let soa = Record::from_rdata(name.clone(), DEFAULT_SOA_TTL, RData::SOA(default_soa()));
            let at = ix.zones.len();
            ix.zones.push(Zone {
                id: z.id.clone(),
                name: name.clone(),
                private: z.private,
                vpcs: z.vpcs.iter().map(|v| v.vpc_id.clone()).collect(),
                soa,
                nodes: HashMap::from([(name.clone(), Node::default())]),
            });
            ix.by_name.entry(name).or_default().push(at);
            ix.by_id.insert(z.id.clone(), at);
        }
        let mut sizes: HashMap<&str, usize> = HashMap::new();
        for rs in config.record_sets.values() {
            *sizes.entry(rs.zone_id.as_str()).or_default() += 1;
        }
        for (id, n) in sizes {
            if let Some(&at) = ix.by_id.get(id) {
                ix.zones[at].nodes.reserve(n + n / 4);
            }
        }
        for rs in config.record_sets.values() {
            let Some(&at) = ix.by_id.get(&rs.zone_id) else {
                continue;
            };
            let zone = &mut ix.zones[at];
            let (Some(name), Ok(rtype)) = (parse_name(&rs.name), RecordType::from_str(&rs.rtype)) else {
                tracing::debug!(record = %rs.key(), "record set name or type does not parse; not served");
                continue;
            };
            if !zone.name.zone_of(&name) {
                continue;
            }
            let entry = compile(rs, rtype);
            if rtype == RecordType::SOA && name == zone.name {
                if let Some(v) = entry.values.first() {
                    zone.soa = Record::from_rdata(name.clone(), entry.ttl, v.clone());
                }
            }
            zone.insert(name, entry, rtype);
        }
        for c in config.cidr_collections.values() {
            let blocks = c
                .locations
                .iter()
                .flat_map(|(loc, nets)| nets.iter().map(move |n| (n.trunc(), loc.clone())))
                .collect();
            ix.cidr_collections.insert(c.id.clone(), blocks);
        }
        for lb in config.load_balancers.values() {
            let Some(name) = parse_name(&lb.dns_name) else {
                continue;
            };
            let entry = LoadBalancerName {
                dns_name: lb.dns_name.clone(),
                address: lb.address,
            };
            if let Ok(dual) = name.prepend_label("dualstack") {
                ix.load_balancers.insert(dual, entry.clone());
            }
            ix.load_balancers.insert(name, entry);
        }
        ix
    }

    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    pub fn zone(&self, at: usize) -> &Zone {
        &self.zones[at]
    }

    /// The zones (public and private) whose apex is exactly this name.
    pub fn zones_named(&self, name: &Name) -> &[usize] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn zone_by_id(&self, id: &str) -> Option<usize> {
        self.by_id.get(id.trim_start_matches("/hostedzone/")).copied()
    }

    /// A load balancer by its DNS name, with or without `dualstack.`.
    pub fn load_balancer(&self, name: &Name) -> Option<&LoadBalancerName> {
        self.load_balancers.get(name)
    }

    /// The blocks of a CIDR collection with their location names.
    pub fn cidr_collection(&self, id: &str) -> &[(IpNet, String)] {
        self.cidr_collections.get(id).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The number of labels of a name, a leading `*` included (unlike `Name::num_labels`).
pub fn labels(name: &Name) -> usize {
    name.iter().count()
}

/// A domain name from the model (any case, trailing dot optional) as a lowercase FQDN.
pub fn parse_name(s: &str) -> Option<Name> {
    let mut n = Name::from_ascii(s).ok()?;
    n.set_fqdn(true);
    Some(n.to_lowercase())
}

/// The SOA Route 53 gives a new zone (and this server gives load balancer names).
pub fn default_soa() -> SOA {
    // These names are valid ASCII literals.
    let mname = Name::from_ascii("ns-1.awsdns-00.com.").expect("valid literal");
    let rname = Name::from_ascii("awsdns-hostmaster.amazon.com.").expect("valid literal");
    SOA::new(mname, rname, 1, 7200, 900, 1_209_600, 86_400)
}

fn compile(rs: &RecordSet, rtype: RecordType) -> Entry {
    let values = rs
        .records
        .iter()
        .filter_map(|v| {
            // Fast paths for the commonest types; hickory's lexer handles the rest.
            match rtype {
                RecordType::A => {
                    if let Ok(a) = v.trim().parse() {
                        return Some(RData::A(A(a)));
                    }
                }
                RecordType::AAAA => {
                    if let Ok(a) = v.trim().parse() {
                        return Some(RData::AAAA(AAAA(a)));
                    }
                }
                RecordType::CNAME => {
                    if let Some(n) = parse_name(v.trim()) {
                        return Some(RData::CNAME(CNAME(n)));
                    }
                }
                _ => {}
            }
            let text = fully_qualify(rtype, v);
            match RData::try_from_str(rtype, &text) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::debug!(record = %rs.key(), value = %v, error = %e, "value does not parse; skipped");
                    None
                }
            }
        })
        .collect();
    let alias = rs.alias.as_ref().and_then(|a| {
        Some(Box::new(Alias {
            hosted_zone_id: a.hosted_zone_id.trim_start_matches("/hostedzone/").to_string(),
            target: parse_name(&a.dns_name)?,
            evaluate_target_health: a.evaluate_target_health,
        }))
    });
    Entry {
        set_identifier: rs.set_identifier.clone(),
        ttl: rs.ttl.unwrap_or(300),
        values,
        alias,
        health_check_id: rs.health_check_id.clone(),
        policy: rs.policy.clone(),
    }
}

/// Route 53 treats domain names in values as fully qualified with or without the
/// trailing dot; hickory's parser (without an origin) does not, so add it.
fn fully_qualify(rtype: RecordType, value: &str) -> std::borrow::Cow<'_, str> {
    let last_is_name = matches!(
        rtype,
        RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::MX | RecordType::SRV
    );
    let v = value.trim();
    if last_is_name && !v.ends_with('.') {
        format!("{v}.").into()
    } else {
        v.into()
    }
}
