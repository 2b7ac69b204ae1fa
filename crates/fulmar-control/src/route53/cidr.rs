//! CIDR collections for IP-based routing: create, change (versioned PUT /
//! DELETE_IF_EXISTS of blocks per location), the three listings, delete.

use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::{CidrCollection, RoutingPolicy};
use fulmar_model::Kind;

use super::{invalid, uuid, Empty, Located, ENDPOINT};
use crate::Txn;

fn no_such_collection() -> AwsError {
    AwsError::new(
        "NoSuchCidrCollectionException",
        404,
        "The CIDR collection you specified, doesn't exist.",
    )
}

fn collection(txn: &Txn, id: &str) -> Result<Arc<CidrCollection>, AwsError> {
    txn.config
        .cidr_collections
        .get(id)
        .cloned()
        .ok_or_else(no_such_collection)
}

fn in_use(txn: &Txn, id: &str, location: Option<&str>) -> bool {
    txn.config.record_sets.values().any(|r| match &r.policy {
        RoutingPolicy::IpBased(c) => c.collection_id == id && location.is_none_or(|l| l == c.location_name),
        _ => false,
    })
}

fn name_ok(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CollectionOut {
    arn: String,
    id: String,
    name: String,
    version: u64,
}

/// A list item without a member name in the model is a `<member>`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "member")]
struct CollectionSummary {
    arn: String,
    id: String,
    name: String,
    version: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    name: String,
    caller_reference: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOutput {
    collection: CollectionOut,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<Located<CreateOutput>, AwsError> {
    if !name_ok(&input.name, 64) {
        return Err(invalid(format!("Invalid CIDR collection name: {}", input.name)));
    }
    if input.caller_reference.is_empty() || input.caller_reference.len() > 64 {
        return Err(invalid("CallerReference must be between 1 and 64 characters long"));
    }
    if txn.config.cidr_collections.values().any(|c| c.name == input.name) {
        return Err(AwsError::new(
            "CidrCollectionAlreadyExistsException",
            400,
            format!("A CIDR collection with the name {} already exists.", input.name),
        ));
    }
    let id = uuid();
    let c = CidrCollection {
        arn: format!("arn:aws:route53:::cidrcollection/{id}"),
        id: id.clone(),
        name: input.name,
        version: 1,
        locations: Default::default(),
    };
    txn.touch(Kind::CidrCollection, &id);
    let body = CreateOutput {
        collection: CollectionOut {
            arn: c.arn.clone(),
            id: id.clone(),
            name: c.name.clone(),
            version: 1,
        },
    };
    txn.config.cidr_collections.insert(id.clone(), Arc::new(c));
    Ok(Located {
        location: format!("{ENDPOINT}/cidrcollection/{id}"),
        body,
    })
}

#[derive(Deserialize)]
enum ChangeAction {
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "DELETE_IF_EXISTS")]
    DeleteIfExists,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CidrChange {
    location_name: String,
    action: ChangeAction,
    cidr_list: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeInput {
    cidr_collection_id: String,
    collection_version: Option<u64>,
    changes: Vec<CidrChange>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeOutput {
    id: String,
}

pub fn change(txn: &mut Txn, input: ChangeInput) -> Result<ChangeOutput, AwsError> {
    let current = collection(txn, &input.cidr_collection_id)?;
    if input.collection_version.is_some_and(|v| v != current.version) {
        return Err(AwsError::new(
            "CidrCollectionVersionMismatchException",
            409,
            "The CIDR collection version you provided, doesn't match the one in the ListCidrCollections operation.",
        ));
    }
    if input.changes.is_empty() || input.changes.len() > 1000 {
        return Err(invalid("Changes must contain between 1 and 1000 changes"));
    }
    let mut c = (*current).clone();
    for change in input.changes {
        if !name_ok(&change.location_name, 16) {
            return Err(invalid(format!("Invalid CIDR location name: {}", change.location_name)));
        }
        let mut blocks = Vec::with_capacity(change.cidr_list.len());
        for raw in &change.cidr_list {
            let net: IpNet = raw.parse().map_err(|_| invalid(format!("Invalid CIDR block: {raw}")))?;
            if net.trunc() != net {
                return Err(invalid(format!("Invalid CIDR block: {raw} has host bits set")));
            }
            blocks.push(net);
        }
        match change.action {
            ChangeAction::Put => {
                for net in blocks {
                    if let Some((other, _)) = c
                        .locations
                        .iter()
                        .find(|(l, b)| **l != change.location_name && b.contains(&net))
                    {
                        return Err(invalid(format!(
                            "The CIDR block {net} is already in location {other} of this collection"
                        )));
                    }
                    let entry = c.locations.entry(change.location_name.clone()).or_default();
                    if !entry.contains(&net) {
                        entry.push(net);
                    }
                }
            }
            ChangeAction::DeleteIfExists => {
                if let Some(entry) = c.locations.get_mut(&change.location_name) {
                    entry.retain(|b| !blocks.contains(b));
                    if entry.is_empty() {
                        if in_use(txn, &c.id, Some(&change.location_name)) {
                            return Err(AwsError::new(
                                "CidrBlockInUseException",
                                400,
                                format!(
                                    "The last CIDR block of location {} is in use by a record set.",
                                    change.location_name
                                ),
                            ));
                        }
                        c.locations.remove(&change.location_name);
                    }
                }
            }
        }
    }
    c.version += 1;
    txn.touch(Kind::CidrCollection, &c.id);
    let id = c.id.clone();
    txn.config.cidr_collections.insert(id.clone(), Arc::new(c));
    Ok(ChangeOutput { id })
}

/// NextToken / MaxResults paging of a listing (MaxResults as a string, at most 1000).
fn page<T: Clone>(items: Vec<T>, token: Option<&str>, max: Option<&str>) -> Result<(Vec<T>, Option<String>), AwsError> {
    let size = match max {
        None => None,
        Some(m) => Some(
            m.trim()
                .parse::<u32>()
                .map_err(|_| invalid(format!("Invalid MaxResults: {m}")))?
                .clamp(1, 1000),
        ),
    };
    let (slice, next) = fulmar_aws::paging::page(&items, token, size, 1000).map_err(|_| {
        AwsError::new(
            "InvalidInput",
            400,
            "The value that you specified for NextToken is not valid.",
        )
    })?;
    Ok((slice.to_vec(), next))
}

#[derive(Deserialize)]
pub struct ListCollectionsInput {
    nexttoken: Option<String>,
    maxresults: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListCollectionsOutput {
    next_token: Option<String>,
    cidr_collections: Vec<CollectionSummary>,
}

pub fn list_collections(txn: &mut Txn, input: ListCollectionsInput) -> Result<ListCollectionsOutput, AwsError> {
    let mut all: Vec<Arc<CidrCollection>> = txn.config.cidr_collections.values().cloned().collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let (items, next) = page(all, input.nexttoken.as_deref(), input.maxresults.as_deref())?;
    Ok(ListCollectionsOutput {
        next_token: next,
        cidr_collections: items
            .iter()
            .map(|c| CollectionSummary {
                arn: c.arn.clone(),
                id: c.id.clone(),
                name: c.name.clone(),
                version: c.version,
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct ListLocationsInput {
    #[serde(rename = "CidrCollectionId")]
    id: String,
    nexttoken: Option<String>,
    maxresults: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "member")]
struct LocationSummary {
    location_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListLocationsOutput {
    next_token: Option<String>,
    cidr_locations: Vec<LocationSummary>,
}

pub fn list_locations(txn: &mut Txn, input: ListLocationsInput) -> Result<ListLocationsOutput, AwsError> {
    let c = collection(txn, &input.id)?;
    let names: Vec<String> = c.locations.keys().cloned().collect();
    let (items, next) = page(names, input.nexttoken.as_deref(), input.maxresults.as_deref())?;
    Ok(ListLocationsOutput {
        next_token: next,
        cidr_locations: items
            .into_iter()
            .map(|location_name| LocationSummary { location_name })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct ListBlocksInput {
    #[serde(rename = "CidrCollectionId")]
    id: String,
    location: Option<String>,
    nexttoken: Option<String>,
    maxresults: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase", rename = "member")]
struct BlockSummary {
    cidr_block: String,
    location_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListBlocksOutput {
    next_token: Option<String>,
    cidr_blocks: Vec<BlockSummary>,
}

pub fn list_blocks(txn: &mut Txn, input: ListBlocksInput) -> Result<ListBlocksOutput, AwsError> {
    let c = collection(txn, &input.id)?;
    if let Some(l) = &input.location {
        if !c.locations.contains_key(l) {
            return Err(AwsError::new(
                "NoSuchCidrLocationException",
                404,
                "The CIDR collection location doesn't match any locations in your account.",
            ));
        }
    }
    let blocks: Vec<BlockSummary> = c
        .locations
        .iter()
        .filter(|(l, _)| input.location.as_ref().is_none_or(|want| want == *l))
        .flat_map(|(l, nets)| {
            nets.iter().map(move |n| BlockSummary {
                cidr_block: n.to_string(),
                location_name: l.clone(),
            })
        })
        .collect();
    let (items, next) = page(blocks, input.nexttoken.as_deref(), input.maxresults.as_deref())?;
    Ok(ListBlocksOutput {
        next_token: next,
        cidr_blocks: items,
    })
}

#[derive(Deserialize)]
pub struct DeleteInput {
    #[serde(rename = "CidrCollectionId")]
    id: String,
}

pub fn delete(txn: &mut Txn, input: DeleteInput) -> Result<Empty, AwsError> {
    let c = collection(txn, &input.id)?;
    if !c.locations.is_empty() || in_use(txn, &c.id, None) {
        return Err(AwsError::new(
            "CidrCollectionInUseException",
            400,
            "This CIDR collection is in use, and isn't empty.",
        ));
    }
    txn.config.cidr_collections.remove(&c.id);
    txn.touch(Kind::CidrCollection, &c.id);
    Ok(Empty {})
}
