//! ChangeResourceRecordSets (CREATE, DELETE, UPSERT; the whole batch or nothing)
//! and ListResourceRecordSets (Route 53's order and paging).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::mem::discriminant;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::{HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::{Kind, ResourceMap};

use super::changes::{self, ChangeInfo};
use super::rrset::{self, RecordSetIn, RecordSetOut};
use super::{bare_zone_id, invalid, max_items, names, no_such_health_check, no_such_zone};
use crate::Txn;

enum Action {
    Create,
    Delete,
    Upsert,
}

impl Action {
    /// An action as the request spells it; anything else fails Route 53's XML schema.
    fn parse(raw: &str) -> Result<Action, AwsError> {
        match raw {
            "CREATE" => Ok(Action::Create),
            "DELETE" => Ok(Action::Delete),
            "UPSERT" => Ok(Action::Upsert),
            other => Err(invalid(format!(
                "Invalid XML ; cvc-enumeration-valid: Value '{other}' is not facet-valid with respect to enumeration '[CREATE, DELETE, UPSERT]'. It must be a value from the enumeration."
            ))),
        }
    }
}

/// The most resource records one change batch may carry (UPSERTs count twice).
const MAX_BATCH_RECORDS: usize = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeIn {
    action: String,
    resource_record_set: RecordSetIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeBatch {
    comment: Option<String>,
    changes: Vec<ChangeIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeInput {
    id: String,
    change_batch: ChangeBatch,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeOutput {
    change_info: ChangeInfo,
}

/// The record sets of one zone, by store key.
pub(crate) fn zone_records(txn: &Txn, zone_id: &str) -> BTreeMap<String, RecordSet> {
    let prefix = format!("{zone_id}/");
    txn.config
        .record_sets
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| (k.clone(), (**v).clone()))
        .collect()
}

/// How many record sets a zone holds, counted without copying them.
pub(crate) fn zone_record_count(txn: &Txn, zone_id: &str) -> usize {
    let prefix = format!("{zone_id}/");
    txn.config
        .record_sets
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .count()
}

/// `[name='x.example.com.', type='A', set-identifier='id']` as Route 53's messages name a record set.
fn describe(r: &RecordSet) -> String {
    match &r.set_identifier {
        Some(id) => format!(
            "[name='{}', type='{}', set-identifier='{id}']",
            names::display(&r.name),
            r.rtype
        ),
        None => format!("[name='{}', type='{}']", names::display(&r.name), r.rtype),
    }
}

fn sorted(mut r: RecordSet) -> RecordSet {
    r.records.sort();
    r
}

pub fn change(txn: &mut Txn, input: ChangeInput) -> Result<ChangeOutput, AwsError> {
    let zone_id = bare_zone_id(&input.id).to_string();
    let zone = txn
        .config
        .hosted_zones
        .get(&zone_id)
        .cloned()
        .ok_or_else(|| no_such_zone(&zone_id))?;
    let changes = input.change_batch.changes;
    if changes.is_empty() {
        return Err(invalid(
            "1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let actions = changes
        .iter()
        .map(|c| Action::parse(&c.action))
        .collect::<Result<Vec<Action>, AwsError>>()?;
    let mut built = Vec::with_capacity(changes.len());
    let mut batch_records = 0;
    for (i, (c, act)) in changes.into_iter().zip(&actions).enumerate() {
        let action = match act {
            Action::Create => "CREATE",
            Action::Delete => "DELETE",
            Action::Upsert => "UPSERT",
        };
        let record = rrset::build(&zone_id, action, i + 1, c.resource_record_set)?;
        let weight = if matches!(act, Action::Upsert) { 2 } else { 1 };
        batch_records += weight * record.records.len().max(1);
        if batch_records > MAX_BATCH_RECORDS {
            return Err(AwsError::new(
                "InvalidChangeBatch",
                400,
                format!("Number of records limit of {MAX_BATCH_RECORDS} exceeded."),
            ));
        }
        if let Some(hc) = &record.health_check_id {
            if !txn.config.health_checks.contains_key(hc) {
                return Err(no_such_health_check(hc));
            }
        }
        built.push((act, record));
    }
    // Changes apply in order straight to the transaction's record sets (a persistent map:
    // no copy of the zone), each checked against the state the earlier ones left. The
    // value each key had before the batch is kept, so that only keys whose value
    // differs at the end are written. On any error the whole Txn is discarded by the
    // caller, so nothing of the batch applies.
    let mut before: HashMap<String, Option<Arc<RecordSet>>> = HashMap::new();
    let mut errors = Vec::new();
    for (action, record) in built {
        if let Err(message) = apply(txn, &zone, &mut before, action, record) {
            errors.push(message);
        }
    }
    if !errors.is_empty() {
        return Err(AwsError::new(
            "InvalidChangeBatch",
            400,
            format!("[{}]", errors.join(", ")),
        ));
    }
    for (key, was) in before {
        if was.as_deref() != txn.config.record_sets.get(&key).map(|r| &**r) {
            txn.touch(Kind::RecordSet, &key);
        }
    }
    let change_info = changes::record(txn, input.change_batch.comment);
    Ok(ChangeOutput { change_info })
}

/// Apply one change to the transaction's record sets, or say why it cannot be. The
/// first value a key had in this batch is kept in `before`.
fn apply(
    txn: &mut Txn,
    zone: &HostedZone,
    before: &mut HashMap<String, Option<Arc<RecordSet>>>,
    action: &Action,
    record: RecordSet,
) -> Result<(), String> {
    let working = &txn.config.record_sets;
    if !names::in_zone(&record.name, &zone.name) {
        return Err(format!(
            "RRSet with DNS name {} is not permitted in zone {}",
            names::display(&record.name),
            names::display(&zone.name)
        ));
    }
    let key = record.key();
    let apex = record.name == zone.name;
    match action {
        Action::Delete => {
            let Some(existing) = working.get(&key) else {
                return Err(format!(
                    "Tried to delete resource record set {} but it was not found",
                    describe(&record)
                ));
            };
            if sorted((**existing).clone()) != sorted(record.clone()) {
                return Err(format!(
                    "Tried to delete resource record set {} but the values provided do not match the current values",
                    describe(&record)
                ));
            }
            if apex && record.rtype == "SOA" {
                return Err("A HostedZone must contain exactly one SOA record.".to_string());
            }
            if apex && record.rtype == "NS" {
                return Err("A HostedZone must contain at least one NS record for the zone itself.".to_string());
            }
            let was = txn.config.record_sets.remove(&key);
            before.entry(key).or_insert(was);
            return Ok(());
        }
        Action::Create if working.contains_key(&key) => {
            return Err(format!(
                "Tried to create resource record set {} but it already exists",
                describe(&record)
            ));
        }
        Action::Create | Action::Upsert => {}
    }
    let shown = || names::display(&record.name);
    let zone_shown = || names::display(&zone.name);
    if record.rtype == "CNAME" && apex {
        return Err(format!(
            "RRSet of type CNAME with DNS name {} is not permitted at apex in zone {}",
            shown(),
            zone_shown()
        ));
    }
    if record.rtype == "SOA" && !apex {
        return Err(format!(
            "RRSet of type SOA with DNS name {} is not permitted because a SOA record may only exist at the apex",
            shown()
        ));
    }
    // The other record sets of this name (usually none): one range of the map.
    let mut cname_conflict = false;
    let mut other_policy = None;
    let prefix = &key[..record.zone_id.len() + record.name.len() + 2];
    for r in named_from(working, prefix, &record.name) {
        let same_id = r.set_identifier.as_deref().unwrap_or("") == record.set_identifier.as_deref().unwrap_or("");
        if r.rtype == record.rtype && same_id {
            continue;
        }
        cname_conflict |= (r.rtype == "CNAME") != (record.rtype == "CNAME");
        if other_policy.is_none() && r.rtype == record.rtype && discriminant(&r.policy) != discriminant(&record.policy)
        {
            other_policy = Some(r);
        }
    }
    if cname_conflict {
        return Err(format!(
            "RRSet of type CNAME with DNS name {} is not permitted as it conflicts with other records with the same DNS name in zone {}",
            shown(),
            zone_shown()
        ));
    }
    if let Some(other) = other_policy {
        return Err(format!(
            "RRSet {} cannot be created because a record set with a different routing policy exists with the same name and type: {}",
            describe(&record),
            describe(other)
        ));
    }
    if let RoutingPolicy::IpBased(c) = &record.policy {
        let Some(collection) = txn.config.cidr_collections.get(&c.collection_id) else {
            return Err(format!("CIDR collection {} does not exist", c.collection_id));
        };
        if c.location_name != "*" && !collection.locations.contains_key(&c.location_name) {
            return Err(format!(
                "CIDR location {} does not exist in collection {}",
                c.location_name, c.collection_id
            ));
        }
    }
    if record.alias.is_some() {
        check_alias(txn, zone, &record)?;
    }
    let was = txn.config.record_sets.insert(key.clone(), Arc::new(record));
    before.entry(key).or_insert(was);
    Ok(())
}

/// The record sets of zone `zone_id` named `name`: a range of the map, since keys start
/// `<zone>/<name>/`, never a scan of the whole zone (a batch of 1,000 changes would
/// otherwise cost 1,000 passes over a zone that may hold a million record sets).
fn named<'a>(
    working: &'a ResourceMap<RecordSet>,
    zone_id: &str,
    name: &'a str,
) -> impl Iterator<Item = &'a RecordSet> + 'a {
    named_from(working, format!("{zone_id}/{name}/"), name)
}

/// [`named`] with the key prefix `<zone>/<name>/` given (borrowed from a record set's key).
fn named_from<'a, P: AsRef<str> + 'a>(
    working: &'a ResourceMap<RecordSet>,
    prefix: P,
    name: &'a str,
) -> impl Iterator<Item = &'a RecordSet> + 'a {
    working
        .range::<_, str>((std::ops::Bound::Included(prefix.as_ref()), std::ops::Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(prefix.as_ref()))
        .map(|(_, r)| &**r)
        .filter(move |r| r.name == name)
}

/// An alias must name something that exists: a record set of a hosted zone here,
/// or a Fulmar load balancer under its canonical hosted zone.
fn check_alias(txn: &Txn, zone: &HostedZone, record: &RecordSet) -> Result<(), String> {
    let Some(alias) = &record.alias else {
        return Ok(());
    };
    let outside = || {
        format!(
            "Tried to create an alias that targets {}, type {} in zone {}, but the alias target name does not lie within the target zone",
            names::display(&alias.dns_name),
            record.rtype,
            alias.hosted_zone_id
        )
    };
    let not_found = || {
        format!(
            "Tried to create an alias that targets {}, type {} in zone {}, but that target was not found",
            names::display(&alias.dns_name),
            record.rtype,
            alias.hosted_zone_id
        )
    };
    let target_zone = if alias.hosted_zone_id == zone.id {
        Some(zone.clone())
    } else {
        txn.config
            .hosted_zones
            .get(&alias.hosted_zone_id)
            .map(|z| (**z).clone())
    };
    if let Some(target_zone) = target_zone {
        if !names::in_zone(&alias.dns_name, &target_zone.name) {
            return Err(outside());
        }
        if alias.dns_name == record.name && alias.hosted_zone_id == zone.id {
            return Err(format!("Alias target {} cannot point to itself", describe(record)));
        }
        let exists = |r: &RecordSet| r.name == alias.dns_name && r.rtype == record.rtype;
        let found = named(&txn.config.record_sets, &target_zone.id, &alias.dns_name).any(exists);
        return if found { Ok(()) } else { Err(not_found()) };
    }
    let wanted = alias.dns_name.trim_end_matches('.');
    let wanted = wanted.strip_prefix("dualstack.").unwrap_or(wanted);
    let lb = txn.config.load_balancers.values().find(|lb| {
        lb.canonical_hosted_zone_id == alias.hosted_zone_id
            && lb.dns_name.trim_end_matches('.').eq_ignore_ascii_case(wanted)
    });
    match lb {
        Some(_) if matches!(record.rtype.as_str(), "A" | "AAAA") => Ok(()),
        Some(_) => Err(format!(
            "Alias of type {} is not permitted for a load balancer target",
            record.rtype
        )),
        None => Err(outside()),
    }
}

#[derive(Deserialize)]
pub struct ListInput {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "name")]
    start_name: Option<String>,
    #[serde(rename = "type")]
    start_type: Option<String>,
    #[serde(rename = "identifier")]
    start_identifier: Option<String>,
    #[serde(rename = "maxitems")]
    max_items: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOutput {
    resource_record_sets: Vec<RecordSetOut>,
    is_truncated: bool,
    next_record_name: Option<String>,
    next_record_type: Option<String>,
    next_record_identifier: Option<String>,
    max_items: String,
}

/// Route 53's listing order: name by reversed labels, then type, then set identifier.
fn order(a: (&str, &str, &str), b: (&str, &str, &str)) -> Ordering {
    names::cmp(a.0, b.0)
        .then_with(|| a.1.cmp(b.1))
        .then_with(|| a.2.cmp(b.2))
}

/// The record sets of one zone in ListResourceRecordSets' order, kept while the
/// configuration's record sets stay the same map (paging through a million-record zone
/// sorts it once, not once per page).
#[derive(Default)]
pub(crate) struct Listing {
    cached: Mutex<Option<Sorted>>,
}

/// A zone's record sets in listing order, and the map they were read from.
type Sorted = (ResourceMap<RecordSet>, String, Arc<Vec<Arc<RecordSet>>>);

impl Listing {
    fn sorted(&self, sets: &ResourceMap<RecordSet>, zone_id: &str) -> Arc<Vec<Arc<RecordSet>>> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((source, zone, sorted)) = &*cached {
            if zone == zone_id && source.ptr_eq(sets) {
                return sorted.clone();
            }
        }
        let prefix = format!("{zone_id}/");
        let mut keyed: Vec<(Vec<u8>, Arc<RecordSet>)> = sets
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| (label_key(&r.name), r.clone()))
            .collect();
        keyed.sort_unstable_by(|(ka, a), (kb, b)| {
            ka.cmp(kb).then_with(|| a.rtype.cmp(&b.rtype)).then_with(|| {
                let ia = a.set_identifier.as_deref().unwrap_or("");
                ia.cmp(b.set_identifier.as_deref().unwrap_or(""))
            })
        });
        let sorted = Arc::new(keyed.into_iter().map(|(_, r)| r).collect::<Vec<_>>());
        *cached = Some((sets.clone(), zone_id.to_string(), sorted.clone()));
        sorted
    }
}

/// A byte string that sorts as [`names::cmp`] orders names: the labels from the root
/// down, each ended by 0 (bytes 0 and 1 escaped as 1,1 and 1,2 so that the order of
/// label bytes is kept and a shorter label sorts first).
fn label_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 2);
    for label in name.trim_end_matches('.').rsplit('.') {
        for &b in label.as_bytes() {
            match b {
                0 | 1 => key.extend_from_slice(&[1, b + 1]),
                _ => key.push(b),
            }
        }
        key.push(0);
    }
    key
}

pub fn list(txn: &mut Txn, input: ListInput, listing: &Listing) -> Result<ListOutput, AwsError> {
    let zone_id = bare_zone_id(&input.id).to_string();
    if !txn.config.hosted_zones.contains_key(&zone_id) {
        return Err(no_such_zone(&zone_id));
    }
    let max = max_items(input.max_items.as_deref(), 300, 300)?;
    if input.start_type.is_some() && input.start_name.is_none() {
        return Err(invalid("The input is not valid"));
    }
    if input.start_identifier.is_some() && input.start_type.is_none() {
        return Err(invalid(
            "The input is not valid: StartRecordIdentifier requires StartRecordType",
        ));
    }
    let start_name = match &input.start_name {
        Some(n) => Some(names::start_name(n)?),
        None => None,
    };
    let records = listing.sorted(&txn.config.record_sets, &zone_id);
    let start = match &start_name {
        None => 0,
        Some(name) => {
            let t = input.start_type.as_deref().unwrap_or("");
            let id = input.start_identifier.as_deref().unwrap_or("");
            // The order is total, so the first record set at or after the start is
            // found by bisection.
            records.partition_point(|r| {
                let rid = r.set_identifier.as_deref().unwrap_or("");
                order((&r.name, &r.rtype, rid), (name, t, id)) == Ordering::Less
            })
        }
    };
    let rest = &records[start..];
    let page = &rest[..rest.len().min(max)];
    let next = rest.get(max);
    Ok(ListOutput {
        resource_record_sets: page.iter().map(|r| RecordSetOut::from(&**r)).collect(),
        is_truncated: next.is_some(),
        next_record_name: next.map(|r| names::display(&r.name)),
        next_record_type: next.map(|r| r.rtype.clone()),
        next_record_identifier: next.and_then(|r| r.set_identifier.clone()),
        max_items: max.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_sort_as_route53_orders_names() {
        let names = [
            "example.com.",
            "www.example.com.",
            "a.www.example.com.",
            "ab.example.com.",
            "a.example.com.",
            "b.example.com.",
            "\u{0}.example.com.",
            "\u{1}x.example.com.",
            "example.org.",
            "com.",
            "*.example.com.",
            "-.example.com.",
        ];
        for a in names {
            for b in names {
                assert_eq!(label_key(a).cmp(&label_key(b)), names::cmp(a, b), "{a:?} vs {b:?}");
            }
        }
    }
}
