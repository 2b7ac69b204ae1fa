//! The compiled form of one configuration snapshot: everything a query needs, found by
//! hash lookups.
//!
//! [`ZoneIndex::build`] reads the hosted zones, record sets, CIDR collections and load
//! balancers of a [`Config`] once; record values are parsed here (presentation format
//! to hickory `RData`) so the query path never parses text. Every ancestor of a name
//! that owns records is present as a node too (possibly empty: an empty
//! non-terminal), so "does this name exist" is a single lookup.
//!
//! Names are looked up by their [`NameKey`]: the lowercase wire form of the labels, so
//! every ancestor of a query name is a suffix of one buffer and a lookup hashes a byte
//! slice. A zone's nodes live in a persistent hash map, so [`ZoneIndex::update`] can
//! derive the index of the next snapshot from this one by applying only the record
//! sets that changed (found by diffing the persistent maps of the two `Config`s), in
//! time proportional to the change, not to the zone.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fulmar_model::route53::{HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::{Config, ResourceMap};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use imbl::ordmap::DiffItem;
use ipnet::IpNet;

/// The SOA Route 53 creates for a new zone, used when a zone has none: its TTL.
const DEFAULT_SOA_TTL: u32 = 900;
/// Zones new to an index with at least this many record sets are parsed on several
/// threads ([`Zone::fill`]).
const PARALLEL_FILL: usize = 20_000;
/// The TTL of a load balancer's A record (as ELB answers).
pub const LOAD_BALANCER_TTL: u32 = 60;

/// A fast, unkeyed hash for names from the configuration (FxHash-style, a word at a
/// time). Only trusted keys are inserted; queries only look up.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHash;

/// The hasher of [`FastHash`].
#[derive(Debug, Default)]
pub struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // Spread the high bits down: hashbrown and imbl use different ends of the hash.
        let h = self.0;
        h ^ (h >> 29) ^ (h >> 47)
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher::default()
    }
}

type FastMap<K, V> = HashMap<K, V, FastHash>;
/// A zone's nodes by [`NameKey`]: persistent, so the next snapshot's index shares it.
/// Keys are `Arc`ed: copying a trie node on write then copies no key bytes.
type NodeMap = imbl::GenericHashMap<Arc<[u8]>, Arc<Node>, FastHash, imbl::shared_ptr::DefaultSharedPtr>;

/// A name as a lookup key: its labels lowercased in wire form (length byte, bytes),
/// leftmost first, without the root label. The key of an ancestor with `k` labels is a
/// suffix of this one ([`NameKey::suffix`]).
pub struct NameKey {
    buf: [u8; 256],
    len: usize,
    /// Where each label starts, leftmost first.
    starts: [u8; 128],
    labels: usize,
}

impl NameKey {
    pub fn new(name: &Name) -> NameKey {
        let mut k = NameKey {
            buf: [0; 256],
            len: 0,
            starts: [0; 128],
            labels: 0,
        };
        for label in name.iter() {
            // A valid name has at most 127 labels in at most 255 bytes.
            if k.labels == k.starts.len() || k.len + 1 + label.len() > k.buf.len() {
                break;
            }
            k.starts[k.labels] = k.len as u8;
            k.labels += 1;
            k.buf[k.len] = label.len() as u8;
            for (d, s) in k.buf[k.len + 1..].iter_mut().zip(label) {
                *d = s.to_ascii_lowercase();
            }
            k.len += 1 + label.len();
        }
        k
    }

    /// The number of labels (a leading `*` included).
    pub fn labels(&self) -> usize {
        self.labels
    }

    /// The whole key.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The key of the ancestor (or the name itself) with `k` labels.
    pub fn suffix(&self, k: usize) -> &[u8] {
        if k == 0 {
            return &[];
        }
        let k = k.min(self.labels);
        &self.buf[usize::from(self.starts[self.labels - k])..self.len]
    }

    /// The key of `*.` + the ancestor with `k` labels, written into `out`.
    pub fn wildcard<'b>(&self, k: usize, out: &'b mut [u8; 258]) -> &'b [u8] {
        let s = self.suffix(k);
        out[0] = 1;
        out[1] = b'*';
        out[2..2 + s.len()].copy_from_slice(s);
        &out[..2 + s.len()]
    }
}

/// The key of a name, boxed for a map.
pub fn key_of(name: &Name) -> Arc<[u8]> {
    NameKey::new(name).as_bytes().into()
}

/// Every zone, name and load balancer of one snapshot.
#[derive(Debug, Default)]
pub struct ZoneIndex {
    zones: Vec<Arc<Zone>>,
    by_name: FastMap<Arc<[u8]>, Vec<usize>>,
    by_id: HashMap<String, usize>,
    load_balancers: FastMap<Arc<[u8]>, LoadBalancerName>,
    cidr_collections: HashMap<String, Vec<(IpNet, String)>>,
    any_private: bool,
    /// Unique to this index (answer caches are per index).
    generation: u64,
    /// What this index was built from, to diff the next snapshot against.
    source: Source,
}

/// The parts of the `Config` an index was built from.
#[derive(Debug, Default, Clone)]
struct Source {
    record_sets: ResourceMap<RecordSet>,
}

/// One hosted zone.
#[derive(Debug, Clone)]
pub struct Zone {
    pub id: String,
    pub name: Name,
    pub private: bool,
    pub vpcs: Vec<String>,
    /// The zone's SOA record (owner: the apex).
    pub soa: Record,
    /// The number of labels of the apex.
    apex: usize,
    /// The hosted zone this was compiled from.
    model: Arc<HostedZone>,
    nodes: NodeMap,
}

/// The record sets of one owner name; empty for an empty non-terminal.
#[derive(Debug, Default, Clone)]
pub struct Node {
    pub groups: Vec<Group>,
    /// How many names below this one own record sets (an empty non-terminal exists
    /// while this is above zero).
    below: u32,
}

/// The record sets sharing a name and type: one for simple routing, several (one per
/// set identifier) for the other policies.
#[derive(Debug, Clone)]
pub struct Group {
    pub rtype: RecordType,
    pub entries: Vec<Entry>,
}

/// One record set, compiled.
#[derive(Debug, Clone)]
pub struct Entry {
    pub set_identifier: Option<String>,
    pub ttl: u32,
    pub values: Vec<RData>,
    pub alias: Option<Box<Alias>>,
    pub health_check_id: Option<String>,
    pub policy: RoutingPolicy,
}

/// An alias record's target.
#[derive(Debug, Clone)]
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
    fn new(z: &Arc<HostedZone>, name: Name) -> Zone {
        let soa = Record::from_rdata(name.clone(), DEFAULT_SOA_TTL, RData::SOA(default_soa()));
        let apex = labels(&name);
        let mut nodes = NodeMap::with_hasher(FastHash);
        nodes.insert(key_of(&name), Arc::new(Node::default()));
        Zone {
            id: z.id.clone(),
            name,
            private: z.private,
            vpcs: z.vpcs.iter().map(|v| v.vpc_id.clone()).collect(),
            soa,
            apex,
            model: z.clone(),
            nodes,
        }
    }

    /// The number of labels of the apex.
    pub fn labels(&self) -> usize {
        self.apex
    }

    /// The node of a name, by its key ([`NameKey`]).
    pub fn node(&self, key: &[u8]) -> Option<&Node> {
        self.nodes.get(key).map(|n| &**n)
    }

    /// The node of a name.
    pub fn node_of(&self, name: &Name) -> Option<&Node> {
        self.node(NameKey::new(name).as_bytes())
    }

    /// The number of owner names, empty non-terminals included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Add one record set (its name already checked to be in the zone).
    fn add(&mut self, rs: &RecordSet, name: &Name, rtype: RecordType) {
        self.add_entry(compile(rs, rtype), name, rtype);
    }

    /// Add one compiled record set (its name already checked to be in the zone).
    fn add_entry(&mut self, entry: Entry, name: &Name, rtype: RecordType) {
        let key = NameKey::new(name);
        // One walk down the map for the common case, a name new to the zone.
        let (node, fresh) = match self.nodes.get_mut(key.as_bytes()) {
            Some(node) => {
                let fresh = node.groups.is_empty();
                (Arc::make_mut(node), fresh)
            }
            None => {
                let node = Node {
                    groups: vec![Group {
                        rtype,
                        entries: vec![entry],
                    }],
                    below: 0,
                };
                self.nodes.insert(key.as_bytes().into(), Arc::new(node));
                self.added(&key, rtype, true);
                return;
            }
        };
        // Same order as a build from the sorted configuration: groups by type name,
        // entries by set identifier.
        let at = match node.groups.iter().position(|g| g.rtype == rtype) {
            Some(i) => i,
            None => {
                let name = rtype.to_string();
                let i = node
                    .groups
                    .iter()
                    .position(|g| g.rtype.to_string() > name)
                    .unwrap_or(node.groups.len());
                node.groups.insert(
                    i,
                    Group {
                        rtype,
                        entries: Vec::new(),
                    },
                );
                i
            }
        };
        let entries = &mut node.groups[at].entries;
        let pos = entries.partition_point(|e| e.set_identifier <= entry.set_identifier);
        entries.insert(pos, entry);
        self.added(&key, rtype, fresh);
    }

    /// After a record set was added at `key`: the apex's SOA, and (when the name had no
    /// record sets before) the ancestors' count of names below them.
    fn added(&mut self, key: &NameKey, rtype: RecordType, fresh: bool) {
        let apex = self.apex;
        if rtype == RecordType::SOA && key.labels() == apex {
            self.refresh_soa();
        }
        if fresh && key.labels() > apex {
            // Keep the invariant: every ancestor of a node down from the apex is a node.
            for k in apex + 1..key.labels() {
                match self.nodes.get_mut(key.suffix(k)) {
                    Some(up) => Arc::make_mut(up).below += 1,
                    None => {
                        self.nodes.insert(
                            key.suffix(k).into(),
                            Arc::new(Node {
                                groups: Vec::new(),
                                below: 1,
                            }),
                        );
                    }
                }
            }
        }
    }

    /// Remove one record set (as it was added).
    fn remove(&mut self, rs: &RecordSet, name: &Name, rtype: RecordType) {
        let key = NameKey::new(name);
        let Some(node) = self.nodes.get_mut(key.as_bytes()) else {
            return;
        };
        let node = Arc::make_mut(node);
        let Some(gi) = node.groups.iter().position(|g| g.rtype == rtype) else {
            return;
        };
        let entries = &mut node.groups[gi].entries;
        let Some(ei) = entries.iter().position(|e| e.set_identifier == rs.set_identifier) else {
            return;
        };
        entries.remove(ei);
        if !entries.is_empty() {
            if rtype == RecordType::SOA && key.labels() == self.apex {
                self.refresh_soa();
            }
            return;
        }
        node.groups.remove(gi);
        let (empty, below) = (node.groups.is_empty(), node.below);
        let apex = self.apex;
        if key.labels() <= apex {
            if rtype == RecordType::SOA {
                self.refresh_soa();
            }
            return;
        }
        if !empty {
            return;
        }
        if below == 0 {
            self.nodes.remove(key.as_bytes());
        }
        for k in apex + 1..key.labels() {
            let Some(up) = self.nodes.get_mut(key.suffix(k)) else {
                continue;
            };
            let up = Arc::make_mut(up);
            up.below = up.below.saturating_sub(1);
            if up.below == 0 && up.groups.is_empty() {
                self.nodes.remove(key.suffix(k));
            }
        }
    }

    /// The SOA from the apex's SOA record set (the first with a value), else the default.
    fn refresh_soa(&mut self) {
        let apex = self.nodes.get(key_of(&self.name).as_ref());
        let found = apex
            .and_then(|n| n.group(RecordType::SOA))
            .and_then(|g| g.entries.iter().find_map(|e| Some((e.ttl, e.values.first()?.clone()))));
        self.soa = match found {
            Some((ttl, v)) => Record::from_rdata(self.name.clone(), ttl, v),
            None => Record::from_rdata(self.name.clone(), DEFAULT_SOA_TTL, RData::SOA(default_soa())),
        };
    }

    /// Add every record set of a zone new to the index, in key order. A large zone (a
    /// restart on a million records) has its names and values parsed on several threads
    /// first; the nodes are then inserted in order, as [`Zone::apply`] would.
    fn fill(&mut self, sets: &[&RecordSet]) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        if threads < 2 || sets.len() < PARALLEL_FILL {
            for rs in sets {
                self.apply(rs, true);
            }
            return;
        }
        let zone = &self.name;
        let prepare = |rs: &RecordSet| {
            let (Some(name), Ok(rtype)) = (parse_name(&rs.name), RecordType::from_str(&rs.rtype)) else {
                tracing::debug!(record = %rs.key(), "record set name or type does not parse; not served");
                return None;
            };
            zone.zone_of(&name).then(|| (compile(rs, rtype), name, rtype))
        };
        let per = sets.len().div_ceil(threads);
        let prepared: Vec<Vec<Option<(Entry, Name, RecordType)>>> = std::thread::scope(|scope| {
            let workers: Vec<_> = sets
                .chunks(per)
                .map(|chunk| scope.spawn(move || chunk.iter().map(|rs| prepare(rs)).collect::<Vec<_>>()))
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        for (entry, name, rtype) in prepared.into_iter().flatten().flatten() {
            self.add_entry(entry, &name, rtype);
        }
    }

    /// Apply a record set added to (`add`) or removed from the configuration.
    fn apply(&mut self, rs: &RecordSet, add: bool) {
        let (Some(name), Ok(rtype)) = (parse_name(&rs.name), RecordType::from_str(&rs.rtype)) else {
            tracing::debug!(record = %rs.key(), "record set name or type does not parse; not served");
            return;
        };
        if !self.name.zone_of(&name) {
            return;
        }
        if add {
            self.add(rs, &name, rtype);
        } else {
            self.remove(rs, &name, rtype);
        }
    }
}

impl ZoneIndex {
    /// Compile a snapshot. Values that do not parse are skipped (the API validated them,
    /// so this only happens for types hickory cannot represent).
    pub fn build(config: &Config) -> ZoneIndex {
        Self::update(&ZoneIndex::default(), config)
    }

    /// Compile a snapshot, reusing `prev` (the index of an earlier snapshot): zones
    /// whose hosted zone and record sets did not change are shared as they are, and a
    /// zone whose record sets did is patched with just those record sets. The result is
    /// the same as [`ZoneIndex::build`] of `config`.
    pub fn update(prev: &ZoneIndex, config: &Config) -> ZoneIndex {
        let mut by_id: HashMap<String, usize> = HashMap::new();
        let mut zones: Vec<Zone> = Vec::new();
        // Zones the diff may patch: reused from `prev`; `fresh` ones are filled whole.
        let mut fresh: Vec<bool> = Vec::new();
        for z in config.hosted_zones.values() {
            let Some(name) = parse_name(&z.name) else {
                tracing::warn!(zone = %z.id, name = %z.name, "hosted zone name does not parse; not served");
                continue;
            };
            let old = prev.by_id.get(&z.id).map(|&i| &prev.zones[i]);
            let zone = match old {
                Some(o) if o.name == name => {
                    let mut zone = (**o).clone();
                    if !Arc::ptr_eq(&o.model, z) {
                        zone.private = z.private;
                        zone.vpcs = z.vpcs.iter().map(|v| v.vpc_id.clone()).collect();
                        zone.model = z.clone();
                    }
                    fresh.push(false);
                    zone
                }
                _ => {
                    fresh.push(true);
                    Zone::new(z, name)
                }
            };
            by_id.insert(z.id.clone(), zones.len());
            zones.push(zone);
        }
        // Record sets: only the difference to what `prev` was built from.
        let apply = |zones: &mut Vec<Zone>, rs: &RecordSet, add: bool| {
            if let Some(&at) = by_id.get(&rs.zone_id) {
                if !fresh[at] {
                    zones[at].apply(rs, add);
                }
            }
        };
        // (Nothing to patch when every zone is new, as on start.)
        let patching = fresh.iter().any(|f| !f);
        for d in prev
            .source
            .record_sets
            .diff(&config.record_sets)
            .take_while(|_| patching)
        {
            match d {
                DiffItem::Add(_, rs) => apply(&mut zones, rs, true),
                DiffItem::Remove(_, rs) => apply(&mut zones, rs, false),
                DiffItem::Update { old, new } => {
                    apply(&mut zones, old.1, false);
                    apply(&mut zones, new.1, true);
                }
            }
        }
        // Zones new to this index: all their record sets (a zone's keys share the
        // prefix `<zone id>/`).
        for (at, z) in zones.iter_mut().enumerate() {
            if !fresh[at] {
                continue;
            }
            let prefix = format!("{}/", z.id);
            let sets: Vec<&RecordSet> = config
                .record_sets
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(_, rs)| &**rs)
                .filter(|rs| rs.zone_id == z.id)
                .collect();
            z.fill(&sets);
        }
        static GENERATION: AtomicU64 = AtomicU64::new(1);
        let mut ix = ZoneIndex {
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            by_id,
            source: Source {
                record_sets: config.record_sets.clone(),
            },
            ..ZoneIndex::default()
        };
        for (at, z) in zones.into_iter().enumerate() {
            ix.any_private |= z.private;
            ix.by_name.entry(key_of(&z.name)).or_default().push(at);
            ix.zones.push(Arc::new(z));
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
                ix.load_balancers.insert(key_of(&dual), entry.clone());
            }
            ix.load_balancers.insert(key_of(&name), entry);
        }
        ix
    }

    pub fn zones(&self) -> impl Iterator<Item = &Zone> {
        self.zones.iter().map(|z| &**z)
    }

    pub fn zone(&self, at: usize) -> &Zone {
        &self.zones[at]
    }

    /// The zones (public and private) whose apex has this key.
    pub fn zones_named(&self, key: &[u8]) -> &[usize] {
        self.by_name.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Unique to this index.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether any zone is private (then which zone answers depends on the client).
    pub fn any_private(&self) -> bool {
        self.any_private
    }

    pub fn zone_by_id(&self, id: &str) -> Option<usize> {
        self.by_id.get(id.trim_start_matches("/hostedzone/")).copied()
    }

    /// A load balancer by the key of its DNS name, with or without `dualstack.`.
    pub fn load_balancer(&self, key: &[u8]) -> Option<&LoadBalancerName> {
        if self.load_balancers.is_empty() {
            return None;
        }
        self.load_balancers.get(key)
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

#[cfg(test)]
mod tests;
