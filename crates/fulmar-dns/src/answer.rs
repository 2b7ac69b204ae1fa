//! Answer selection: one question in, the sections of the response out. No I/O.
//!
//! The steps, in order: a load balancer's own DNS name answers with its address; else
//! the most specific zone the client may see is found (a private zone associated with
//! the client's VPC first, then public zones; none → REFUSED); the name is walked
//! down from the apex (an NS record set on the way → referral; a missing label → the
//! wildcard at the closest encloser, else NXDOMAIN); at the name, the record sets of
//! the type are chosen by routing policy ([`crate::policy`]), CNAMEs are followed
//! inside the served zones and aliases are resolved to their targets.

use std::net::IpAddr;

use hickory_proto::op::{Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use ipnet::IpNet;
use rand::RngCore;

use fulmar_model::route53::RoutingPolicy;

use crate::index::{Alias, Entry, Group, NameKey, Node, Zone, ZoneIndex, LOAD_BALANCER_TTL};
use crate::policy::{self, Place};
use crate::{HealthOracle, Options};

/// How many CNAMEs and aliases one answer follows before it stops (loops end here).
const MAX_CHAIN: usize = 8;

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The source address of the query.
    pub addr: IpAddr,
    /// The EDNS client subnet, when the query carried one: used instead of `addr` for
    /// latency, geolocation and IP-based routing.
    pub subnet: Option<IpNet>,
}

/// The sections of a response and its header bits.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub rcode: ResponseCode,
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
    /// The answer depended on where the client is (latency, geolocation, IP-based):
    /// a client-subnet option is echoed with scope = source prefix, else scope 0.
    pub location_dependent: bool,
    /// The answer is a function of the snapshot and the question alone: no routing
    /// choice, health, randomness, client location or VPC went into it, so the same
    /// question gets the same answer until the next snapshot.
    pub cacheable: bool,
}

impl Response {
    fn new(rcode: ResponseCode, authoritative: bool) -> Response {
        Response {
            rcode,
            authoritative,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            location_dependent: false,
            cacheable: false,
        }
    }
}

/// Answer one question.
pub fn answer(
    index: &ZoneIndex,
    query: &Query,
    client: &Client,
    oracle: &dyn HealthOracle,
    options: &Options,
    rng: &mut dyn RngCore,
) -> Response {
    let mut r = Resolver {
        index,
        oracle,
        options,
        client,
        vpc: None,
        rng,
        location_dependent: false,
        cacheable: true,
    };
    let mut resp = r.resolve(query);
    resp.location_dependent = r.location_dependent;
    resp.cacheable = r.cacheable && !r.location_dependent;
    resp
}

/// One query's state while it is answered.
struct Resolver<'a> {
    index: &'a ZoneIndex,
    oracle: &'a dyn HealthOracle,
    options: &'a Options,
    client: &'a Client,
    /// The client's VPC, asked of the locator only when a private zone could answer.
    vpc: Option<Option<String>>,
    rng: &'a mut dyn RngCore,
    location_dependent: bool,
    cacheable: bool,
}

/// Where a name leads inside one zone.
enum Found<'z> {
    /// The node of the name (or of the wildcard that stands for it).
    Node(&'z Node),
    /// The name is at or under a delegation: the cut (its number of labels) and its node.
    Referral(usize, &'z Node),
    NxDomain,
}

impl<'a> Resolver<'a> {
    fn resolve(&mut self, query: &Query) -> Response {
        let qtype = query.query_type();
        if query.query_class() != DNSClass::IN || matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
            return Response::new(ResponseCode::Refused, false);
        }
        let key = NameKey::new(query.name());
        let owner = query.name().clone();
        if let Some(lb) = self.index.load_balancer(key.as_bytes()) {
            let mut resp = Response::new(ResponseCode::NoError, true);
            if matches!(qtype, RecordType::A | RecordType::ANY) {
                resp.answers
                    .push(Record::from_rdata(owner, LOAD_BALANCER_TTL, RData::A(A(lb.address))));
            } else {
                let mut soa = Record::from_rdata(
                    query.name().to_lowercase().base_name(),
                    LOAD_BALANCER_TTL,
                    RData::SOA(crate::index::default_soa()),
                );
                soa.ttl = LOAD_BALANCER_TTL;
                resp.authority.push(soa);
            }
            return resp;
        }
        let Some(zone) = self.zone_for(&key) else {
            return Response::new(ResponseCode::Refused, false);
        };
        let mut resp = Response::new(ResponseCode::NoError, true);
        self.answer_in(zone, &key, &owner, qtype, &mut resp, 0);
        resp
    }

    /// The zone that answers for the name: the most specific private zone associated
    /// with the client's VPC, else the most specific public zone.
    fn zone_for(&mut self, name: &NameKey) -> Option<&'a Zone> {
        let index = self.index;
        let n = name.labels();
        if index.any_private() {
            // Which zone answers depends on the client's VPC when a private zone is a
            // candidate.
            let candidates = (0..=n).any(|k| index.zones_named(name.suffix(k)).iter().any(|&z| index.zone(z).private));
            if candidates {
                self.cacheable = false;
                let vpc = self
                    .vpc
                    .get_or_insert_with(|| self.options.locator.vpc_of(self.client.addr))
                    .clone();
                if let Some(vpc) = vpc {
                    for k in (0..=n).rev() {
                        let found = index
                            .zones_named(name.suffix(k))
                            .iter()
                            .map(|&z| index.zone(z))
                            .find(|z| z.private && z.vpcs.contains(&vpc));
                        if found.is_some() {
                            return found;
                        }
                    }
                }
            }
        }
        for k in (0..=n).rev() {
            let found = index
                .zones_named(name.suffix(k))
                .iter()
                .map(|&z| index.zone(z))
                .find(|z| !z.private);
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// Walk from the apex down to the name.
    fn find(zone: &'a Zone, name: &NameKey, qtype: RecordType) -> Found<'a> {
        let apex = zone.labels();
        let total = name.labels();
        for k in apex + 1..=total {
            match zone.node(name.suffix(k)) {
                None => {
                    let mut buf = [0u8; 258];
                    let wildcard = name.wildcard(k - 1, &mut buf);
                    return match zone.node(wildcard) {
                        Some(node) => Found::Node(node),
                        None => Found::NxDomain,
                    };
                }
                Some(node) => {
                    // The parent side answers DS at a delegation point.
                    let ds_at_cut = k == total && qtype == RecordType::DS;
                    if !ds_at_cut && node.group(RecordType::NS).is_some() {
                        return Found::Referral(k, node);
                    }
                    if k == total {
                        return Found::Node(node);
                    }
                }
            }
        }
        match zone.node(name.as_bytes()) {
            Some(node) => Found::Node(node),
            None => Found::NxDomain,
        }
    }

    /// Answer `name` (written as `owner`) from `zone` into `resp`.
    fn answer_in(
        &mut self,
        zone: &'a Zone,
        name: &NameKey,
        owner: &Name,
        qtype: RecordType,
        resp: &mut Response,
        depth: usize,
    ) {
        match Self::find(zone, name, qtype) {
            Found::NxDomain => {
                resp.rcode = ResponseCode::NXDomain;
                resp.authority.push(negative_soa(zone));
            }
            Found::Referral(k, node) => {
                let cut = owner.to_lowercase().trim_to(k);
                self.referral(zone, &cut, node, resp)
            }
            Found::Node(node) => self.answer_node(zone, node, owner, qtype, resp, depth),
        }
    }

    fn answer_node(
        &mut self,
        zone: &'a Zone,
        node: &'a Node,
        owner: &Name,
        qtype: RecordType,
        resp: &mut Response,
        depth: usize,
    ) {
        let before = resp.answers.len();
        if qtype == RecordType::ANY {
            for g in &node.groups {
                let records = self.select(zone, g, owner, g.rtype, depth);
                resp.answers.extend(records);
            }
        } else if let Some(g) = node.group(qtype) {
            let records = self.select(zone, g, owner, qtype, depth);
            resp.answers.extend(records);
        } else if let Some(g) = node.group(RecordType::CNAME) {
            let records = self.select(zone, g, owner, RecordType::CNAME, depth);
            let target = records.iter().find_map(|r| match &r.data {
                RData::CNAME(c) => Some(c.0.to_lowercase()),
                _ => None,
            });
            resp.answers.extend(records);
            if let Some(target) = target {
                if depth < MAX_CHAIN {
                    let key = NameKey::new(&target);
                    if let Some(next) = self.zone_for(&key) {
                        self.answer_in(next, &key, &target, qtype, resp, depth + 1);
                    }
                }
            }
            return;
        }
        if resp.answers.len() == before {
            resp.authority.push(negative_soa(zone));
        }
    }

    fn referral(&mut self, zone: &'a Zone, cut: &Name, node: &'a Node, resp: &mut Response) {
        resp.authoritative = resp.authoritative && !resp.answers.is_empty();
        let Some(ns) = node.group(RecordType::NS) else {
            return;
        };
        for e in &ns.entries {
            for v in &e.values {
                resp.authority.push(Record::from_rdata(cut.clone(), e.ttl, v.clone()));
                let RData::NS(target) = v else { continue };
                let target = target.0.to_lowercase();
                if !zone.name.zone_of(&target) {
                    continue;
                }
                let Some(glue) = zone.node_of(&target) else {
                    continue;
                };
                for g in glue
                    .groups
                    .iter()
                    .filter(|g| matches!(g.rtype, RecordType::A | RecordType::AAAA))
                {
                    for e in g.entries.iter().filter(|e| e.alias.is_none()) {
                        resp.additional.extend(
                            e.values
                                .iter()
                                .map(|v| Record::from_rdata(target.clone(), e.ttl, v.clone())),
                        );
                    }
                }
            }
        }
    }

    /// The records of one name and type, chosen by routing policy; aliases resolved.
    fn select(
        &mut self,
        zone: &'a Zone,
        group: &'a Group,
        owner: &Name,
        rtype: RecordType,
        depth: usize,
    ) -> Vec<Record> {
        let healthy: Vec<bool> = group
            .entries
            .iter()
            .map(|e| self.healthy(zone, e, rtype, depth))
            .collect();
        if !matches!(
            group.entries.first().map(|e| &e.policy),
            None | Some(RoutingPolicy::Simple)
        ) {
            self.cacheable = false;
        }
        let place = self.place(group);
        let chosen = policy::choose(&group.entries, &healthy, &place, &mut *self.rng);
        let mut out = Vec::new();
        for i in chosen {
            let e = &group.entries[i];
            match &e.alias {
                Some(alias) => out.extend(self.alias_records(zone, alias, owner, rtype, depth)),
                None => out.extend(
                    e.values
                        .iter()
                        .map(|v| Record::from_rdata(owner.clone(), e.ttl, v.clone())),
                ),
            }
        }
        out
    }

    /// Where the client is, for the policy of this group.
    fn place(&mut self, group: &'a Group) -> Place<'a> {
        let addr = self.client.subnet.map(|n| n.addr()).unwrap_or(self.client.addr);
        let locator = &self.options.locator;
        let mut place = Place {
            addr: Some(addr),
            ..Default::default()
        };
        match group.entries.first().map(|e| &e.policy) {
            Some(RoutingPolicy::Latency(_)) => {
                self.location_dependent = true;
                place.region = Some(
                    locator
                        .region_of(addr)
                        .unwrap_or_else(|| self.options.default_region.clone()),
                );
            }
            Some(RoutingPolicy::Geolocation(_)) => {
                self.location_dependent = true;
                place.location = locator.location_of(addr);
            }
            Some(RoutingPolicy::IpBased(c)) => {
                self.location_dependent = true;
                place.cidr_blocks = self.index.cidr_collection(&c.collection_id);
            }
            _ => {}
        }
        place
    }

    /// A record set is healthy when its health check (if any) is, and, for an alias
    /// with EvaluateTargetHealth, when its target is.
    fn healthy(&mut self, zone: &'a Zone, e: &'a Entry, rtype: RecordType, depth: usize) -> bool {
        if let Some(id) = &e.health_check_id {
            self.cacheable = false;
            if !self.oracle.health_check(id) {
                return false;
            }
        }
        match &e.alias {
            Some(a) if a.evaluate_target_health => self.alias_healthy(zone, a, rtype, depth),
            _ => true,
        }
    }

    fn alias_healthy(&mut self, zone: &'a Zone, alias: &'a Alias, rtype: RecordType, depth: usize) -> bool {
        let target = NameKey::new(&alias.target);
        if let Some(lb) = self.index.load_balancer(target.as_bytes()) {
            self.cacheable = false;
            return self.oracle.load_balancer(&lb.dns_name);
        }
        let Some(target_zone) = self.alias_zone(zone, alias) else {
            // A target this server does not serve (S3, CloudFront, ...): nothing to evaluate.
            return true;
        };
        if depth >= MAX_CHAIN {
            return true;
        }
        match Self::find(target_zone, &target, rtype) {
            Found::Node(node) => match node.group(rtype) {
                Some(g) => g.entries.iter().any(|e| self.healthy(target_zone, e, rtype, depth + 1)),
                None => false,
            },
            _ => false,
        }
    }

    /// The zone an alias points into: its hosted zone id when that zone holds the
    /// target, else the alias's own zone when it does.
    fn alias_zone(&self, zone: &'a Zone, alias: &Alias) -> Option<&'a Zone> {
        let by_id = self.index.zone_by_id(&alias.hosted_zone_id).map(|z| self.index.zone(z));
        by_id.into_iter().chain([zone]).find(|z| z.name.zone_of(&alias.target))
    }

    fn alias_records(
        &mut self,
        zone: &'a Zone,
        alias: &'a Alias,
        owner: &Name,
        rtype: RecordType,
        depth: usize,
    ) -> Vec<Record> {
        let target = NameKey::new(&alias.target);
        if let Some(lb) = self.index.load_balancer(target.as_bytes()) {
            return match rtype {
                RecordType::A => vec![Record::from_rdata(
                    owner.clone(),
                    LOAD_BALANCER_TTL,
                    RData::A(A(lb.address)),
                )],
                _ => Vec::new(),
            };
        }
        let Some(target_zone) = self.alias_zone(zone, alias) else {
            return Vec::new();
        };
        if depth >= MAX_CHAIN {
            return Vec::new();
        }
        match Self::find(target_zone, &target, rtype) {
            Found::Node(node) => match node.group(rtype) {
                // Answered as the target record, with the target's TTL, under the alias's name.
                Some(g) => self.select(target_zone, g, owner, rtype, depth + 1),
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}

/// The zone's SOA for a negative answer: TTL = min(SOA TTL, SOA minimum).
fn negative_soa(zone: &Zone) -> Record {
    let mut soa = zone.soa.clone();
    if let RData::SOA(s) = &soa.data {
        let minimum = s.minimum;
        soa.ttl = soa.ttl.min(minimum);
    }
    soa
}

#[cfg(test)]
mod tests;
