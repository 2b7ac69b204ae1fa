//! ChangeTagsForResource, ListTagsForResource and ListTagsForResources for hosted
//! zones and health checks.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, Tag};

use super::{invalid, no_such_health_check, no_such_zone, Empty};
use crate::Txn;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagIn {
    key: String,
    value: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "Tag")]
struct TagOut {
    key: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "ResourceTagSet")]
pub struct TagSetOut {
    resource_type: String,
    resource_id: String,
    tags: Vec<TagOut>,
}

fn kind(resource_type: &str) -> Result<Kind, AwsError> {
    match resource_type {
        "hostedzone" => Ok(Kind::HostedZone),
        "healthcheck" => Ok(Kind::HealthCheck),
        other => Err(invalid(format!(
            "1 validation error detected: Value '{other}' at 'resourceType' failed to satisfy constraint: Member must satisfy enum value set: [healthcheck, hostedzone]"
        ))),
    }
}

fn tags_of(txn: &Txn, kind: Kind, id: &str) -> Result<Vec<Tag>, AwsError> {
    match kind {
        Kind::HostedZone => txn
            .config
            .hosted_zones
            .get(id)
            .map(|z| z.tags.clone())
            .ok_or_else(|| no_such_zone(id)),
        _ => txn
            .config
            .health_checks
            .get(id)
            .map(|h| h.tags.clone())
            .ok_or_else(|| no_such_health_check(id)),
    }
}

fn set_out(resource_type: &str, id: &str, tags: &[Tag]) -> TagSetOut {
    TagSetOut {
        resource_type: resource_type.to_string(),
        resource_id: id.to_string(),
        tags: tags
            .iter()
            .map(|t| TagOut {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect(),
    }
}

/// The id of the tagged resource, exactly as given: a hosted zone's bare id (Route 53
/// does not strip `/hostedzone/` here), at most 32 characters; a health check's UUID.
fn resource_id(kind: Kind, raw: &str) -> Result<&str, AwsError> {
    if kind == Kind::HostedZone && raw.chars().count() > 32 {
        return Err(invalid(format!(
            "1 validation error detected: Value '{raw}' at 'resourceId' failed to satisfy constraint: Member must have length less than or equal to 32"
        )));
    }
    Ok(raw)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeInput {
    resource_type: String,
    resource_id: String,
    add_tags: Option<Vec<TagIn>>,
    remove_tag_keys: Option<Vec<String>>,
}

pub fn change(txn: &mut Txn, input: ChangeInput) -> Result<Empty, AwsError> {
    let kind = kind(&input.resource_type)?;
    let id = resource_id(kind, &input.resource_id)?.to_string();
    let mut tags = tags_of(txn, kind, &id)?;
    let add = input.add_tags.unwrap_or_default();
    let remove = input.remove_tag_keys.unwrap_or_default();
    if add.len() > 10 || remove.len() > 10 {
        return Err(invalid("You can add or remove at most 10 tags in one request"));
    }
    tags.retain(|t| !remove.contains(&t.key));
    for t in add {
        if t.key.is_empty() || t.key.len() > 128 || t.value.as_deref().map_or(0, str::len) > 256 {
            return Err(invalid(format!("Invalid tag: {}", t.key)));
        }
        let value = t.value.unwrap_or_default();
        match tags.iter_mut().find(|x| x.key == t.key) {
            Some(existing) => existing.value = value,
            None => tags.push(Tag { key: t.key, value }),
        }
    }
    if tags.len() > 50 {
        return Err(invalid("A resource can have at most 50 tags"));
    }
    match kind {
        Kind::HostedZone => {
            if let Some(z) = txn.config.hosted_zones.get(&id) {
                let mut z = (**z).clone();
                z.tags = tags;
                txn.config.hosted_zones.insert(id.clone(), Arc::new(z));
            }
        }
        _ => {
            if let Some(h) = txn.config.health_checks.get(&id) {
                let mut h = (**h).clone();
                h.tags = tags;
                txn.config.health_checks.insert(id.clone(), Arc::new(h));
            }
        }
    }
    txn.touch(kind, &id);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    resource_type: String,
    resource_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOutput {
    resource_tag_set: TagSetOut,
}

pub fn list(txn: &mut Txn, input: ListInput) -> Result<ListOutput, AwsError> {
    let kind = kind(&input.resource_type)?;
    let id = resource_id(kind, &input.resource_id)?;
    let tags = tags_of(txn, kind, id)?;
    Ok(ListOutput {
        resource_tag_set: set_out(&input.resource_type, id, &tags),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListManyInput {
    resource_type: String,
    resource_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListManyOutput {
    resource_tag_sets: Vec<TagSetOut>,
}

pub fn list_many(txn: &mut Txn, input: ListManyInput) -> Result<ListManyOutput, AwsError> {
    let kind = kind(&input.resource_type)?;
    if input.resource_ids.is_empty() || input.resource_ids.len() > 10 {
        return Err(invalid("ResourceIds must list between 1 and 10 resources"));
    }
    let mut sets = Vec::with_capacity(input.resource_ids.len());
    for raw in &input.resource_ids {
        let id = resource_id(kind, raw)?;
        let tags = tags_of(txn, kind, id)?;
        sets.push(set_out(&input.resource_type, id, &tags));
    }
    Ok(ListManyOutput {
        resource_tag_sets: sets,
    })
}
