//! Route 53's routing policies: which of the record sets sharing a name and type
//! answer a query.
//!
//! [`choose`] is pure: the caller says which record sets are healthy and where the
//! client is, and supplies the randomness. The health rule common to every policy is
//! applied here: when every candidate is unhealthy, all count as healthy.

use std::net::IpAddr;

use fulmar_model::route53::{FailoverRole, RoutingPolicy};
use ipnet::IpNet;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};

use crate::index::Entry;
use crate::locate::{region_distance, ClientLocation};

/// The most record sets a multivalue answer carries.
pub const MULTIVALUE_MAX: usize = 8;

/// Where the client is, as far as the policy at hand needs to know.
#[derive(Debug, Clone, Default)]
pub struct Place<'a> {
    /// The client subnet's address when the query carried one, else the source address.
    pub addr: Option<IpAddr>,
    /// The client's region (latency), already defaulted.
    pub region: Option<String>,
    /// The client's location (geolocation).
    pub location: Option<ClientLocation>,
    /// The blocks of the CIDR collection the record sets refer to (IP-based).
    pub cidr_blocks: &'a [(IpNet, String)],
}

/// The indices of the record sets that answer, in answer order. Empty means no answer
/// (NODATA): geolocation or IP-based routing with no matching location and no default.
pub fn choose(entries: &[Entry], healthy: &[bool], place: &Place<'_>, rng: &mut dyn RngCore) -> Vec<usize> {
    let Some(first) = entries.first() else {
        return Vec::new();
    };
    match &first.policy {
        RoutingPolicy::Simple => (0..entries.len()).collect(),
        RoutingPolicy::Weighted(_) => weighted(entries, healthy, rng).into_iter().collect(),
        RoutingPolicy::Failover(_) => failover(entries, healthy).into_iter().collect(),
        RoutingPolicy::MultiValue => multivalue(healthy, rng),
        RoutingPolicy::Latency(_) => latency(entries, healthy, place).into_iter().collect(),
        RoutingPolicy::Geolocation(_) => geolocation(entries, healthy, place).into_iter().collect(),
        RoutingPolicy::IpBased(_) => ip_based(entries, healthy, place).into_iter().collect(),
    }
}

/// Candidates that are healthy, or all of them when none is.
fn usable(candidates: impl Iterator<Item = usize> + Clone, healthy: &[bool]) -> Vec<usize> {
    let ok: Vec<usize> = candidates.clone().filter(|&i| healthy[i]).collect();
    if ok.is_empty() {
        candidates.collect()
    } else {
        ok
    }
}

/// The first candidate (in preference order) that is healthy, else the first.
fn first_usable(ordered: &[usize], healthy: &[bool]) -> Option<usize> {
    ordered
        .iter()
        .copied()
        .find(|&i| healthy[i])
        .or(ordered.first().copied())
}

fn weight(e: &Entry) -> u64 {
    match e.policy {
        RoutingPolicy::Weighted(w) => u64::from(w),
        _ => 0,
    }
}

fn weighted(entries: &[Entry], healthy: &[bool], rng: &mut dyn RngCore) -> Option<usize> {
    let pool = usable(0..entries.len(), healthy);
    let nonzero: Vec<usize> = pool.iter().copied().filter(|&i| weight(&entries[i]) > 0).collect();
    if nonzero.is_empty() {
        // Every usable record set weighs 0: they share the traffic equally.
        return pool.choose(rng).copied();
    }
    let total: u64 = nonzero.iter().map(|&i| weight(&entries[i])).sum();
    let mut ticket = rng.gen_range(0..total);
    for &i in &nonzero {
        let w = weight(&entries[i]);
        if ticket < w {
            return Some(i);
        }
        ticket -= w;
    }
    nonzero.last().copied()
}

fn failover(entries: &[Entry], healthy: &[bool]) -> Option<usize> {
    let role = |r: FailoverRole| entries.iter().position(|e| e.policy == RoutingPolicy::Failover(r));
    let primary = role(FailoverRole::Primary);
    let secondary = role(FailoverRole::Secondary);
    match (primary, secondary) {
        (Some(p), _) if healthy[p] => Some(p),
        (_, Some(s)) if healthy[s] => Some(s),
        // Both unhealthy: Route 53 answers with the primary.
        (p, s) => p.or(s),
    }
}

fn multivalue(healthy: &[bool], rng: &mut dyn RngCore) -> Vec<usize> {
    let mut pool = usable(0..healthy.len(), healthy);
    pool.shuffle(rng);
    pool.truncate(MULTIVALUE_MAX);
    pool
}

fn latency(entries: &[Entry], healthy: &[bool], place: &Place<'_>) -> Option<usize> {
    let client = place.region.as_deref().unwrap_or("us-east-1");
    let region = |i: usize| match &entries[i].policy {
        RoutingPolicy::Latency(r) => r.as_str(),
        _ => "",
    };
    let mut order: Vec<(f64, usize)> = (0..entries.len())
        .map(|i| (region_distance(client, region(i)).unwrap_or(f64::INFINITY), i))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let ordered: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    first_usable(&ordered, healthy)
}

/// Geolocation: the smallest area containing the client first (subdivision, country,
/// continent), then the default `*`; an unhealthy area gives way to the next larger.
fn geolocation(entries: &[Entry], healthy: &[bool], place: &Place<'_>) -> Option<usize> {
    let mut ranked: Vec<(u8, usize)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let RoutingPolicy::Geolocation(g) = &e.policy else {
            continue;
        };
        let rank = match (&place.location, g.country_code.as_deref()) {
            (_, Some("*")) => Some(3),
            (Some(loc), Some(country)) if country.eq_ignore_ascii_case(&loc.country) => {
                match (&g.subdivision_code, &loc.subdivision) {
                    (None, _) => Some(1),
                    (Some(s), Some(cs)) if s.eq_ignore_ascii_case(cs) => Some(0),
                    _ => None,
                }
            }
            (Some(loc), None) => match &g.continent_code {
                Some(c) if c.eq_ignore_ascii_case(&loc.continent) => Some(2),
                _ => None,
            },
            _ => None,
        };
        if let Some(r) = rank {
            ranked.push((r, i));
        }
    }
    ranked.sort();
    let ordered: Vec<usize> = ranked.into_iter().map(|(_, i)| i).collect();
    first_usable(&ordered, healthy)
}

/// IP-based: the location whose block is the longest match for the client, then the
/// default `*`.
fn ip_based(entries: &[Entry], healthy: &[bool], place: &Place<'_>) -> Option<usize> {
    let mut ranked: Vec<(i32, usize)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let RoutingPolicy::IpBased(c) = &e.policy else {
            continue;
        };
        if c.location_name == "*" {
            ranked.push((-1, i));
            continue;
        }
        let Some(addr) = place.addr else { continue };
        let best = place
            .cidr_blocks
            .iter()
            .filter(|(net, loc)| *loc == c.location_name && net.contains(&addr))
            .map(|(net, _)| i32::from(net.prefix_len()))
            .max();
        if let Some(len) = best {
            ranked.push((len, i));
        }
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let ordered: Vec<usize> = ranked.into_iter().map(|(_, i)| i).collect();
    first_usable(&ordered, healthy)
}

#[cfg(test)]
mod tests;
