//! Reusable delegation sets: four name servers kept apart from any hosted zone, so
//! that zones created with the set's id all get the same name servers. A zone uses a
//! set when it has the set's name servers (created with its id, or the zone the set
//! was made from).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::{DelegationSet, HostedZone};
use fulmar_model::Kind;

use super::zones::{name_servers, zone, LimitOut, LimitOutput};
use super::{max_items, new_id, Empty, Located, ENDPOINT};
use crate::{ids, Txn};

/// AWS's default quota of reusable delegation sets per account.
pub(crate) const MAX_SETS: usize = 100;

/// A delegation-set id as given: `N123` or `/delegationset/N123`.
pub(crate) fn bare_id(id: &str) -> &str {
    id.trim_start_matches("/delegationset/")
}

pub(crate) fn no_such_set(id: &str) -> AwsError {
    AwsError::new(
        "NoSuchDelegationSet",
        400,
        format!("A reusable delegation set with the specified ID does not exist: {id}"),
    )
}

/// The reusable delegation set with this id, or NoSuchDelegationSet.
pub(crate) fn set(txn: &Txn, id: &str) -> Result<Arc<DelegationSet>, AwsError> {
    let id = bare_id(id);
    txn.config
        .delegation_sets
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_set(id))
}

/// The reusable delegation set a zone uses, if any.
pub(crate) fn set_of(txn: &Txn, z: &HostedZone) -> Option<Arc<DelegationSet>> {
    if z.private {
        return None;
    }
    txn.config
        .delegation_sets
        .values()
        .find(|s| s.name_servers == z.name_servers)
        .cloned()
}

#[derive(Serialize)]
#[serde(rename = "NameServer")]
pub(crate) struct NameServer(pub(crate) String);

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "DelegationSet")]
pub(crate) struct SetOut {
    pub(crate) id: Option<String>,
    pub(crate) caller_reference: Option<String>,
    pub(crate) name_servers: Vec<NameServer>,
}

pub(crate) fn set_out(s: &DelegationSet) -> SetOut {
    SetOut {
        id: Some(format!("/delegationset/{}", s.id)),
        caller_reference: Some(s.caller_reference.clone()),
        name_servers: s.name_servers.iter().map(|n| NameServer(n.clone())).collect(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    caller_reference: String,
    hosted_zone_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetOutput {
    delegation_set: SetOut,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<Located<SetOutput>, AwsError> {
    if input.caller_reference.is_empty() || input.caller_reference.len() > 128 {
        return Err(super::invalid(
            "CallerReference must be between 1 and 128 characters long",
        ));
    }
    if txn
        .config
        .delegation_sets
        .values()
        .any(|s| s.caller_reference == input.caller_reference)
    {
        return Err(AwsError::new(
            "DelegationSetAlreadyCreated",
            400,
            "A delegation set with the same owner and caller reference combination has already been created.",
        ));
    }
    if txn.config.delegation_sets.len() >= MAX_SETS {
        return Err(AwsError::new(
            "LimitsExceeded",
            400,
            format!("This account already has the maximum number of reusable delegation sets ({MAX_SETS})."),
        ));
    }
    let servers = match &input.hosted_zone_id {
        None => name_servers(false),
        Some(zone_id) => {
            let z = zone(txn, zone_id)?;
            if z.private {
                return Err(AwsError::new(
                    "HostedZoneNotSupported",
                    400,
                    "The specified hosted zone is a private hosted zone; only public hosted zones have delegation sets.",
                ));
            }
            if set_of(txn, &z).is_some() {
                return Err(AwsError::new(
                    "DelegationSetAlreadyReusable",
                    400,
                    "The specified delegation set has already been marked as reusable.",
                ));
            }
            z.name_servers.clone()
        }
    };
    let s = DelegationSet {
        id: new_id('N'),
        caller_reference: input.caller_reference,
        name_servers: servers,
        created_ms: ids::now_ms(),
    };
    txn.config.delegation_sets.insert(s.id.clone(), Arc::new(s.clone()));
    txn.touch(Kind::DelegationSet, &s.id);
    Ok(Located {
        location: format!("{ENDPOINT}/delegationset/{}", s.id),
        body: SetOutput {
            delegation_set: set_out(&s),
        },
    })
}

#[derive(Deserialize)]
pub struct IdInput {
    #[serde(rename = "Id")]
    id: String,
}

pub fn get(txn: &mut Txn, input: IdInput) -> Result<SetOutput, AwsError> {
    Ok(SetOutput {
        delegation_set: set_out(&*set(txn, &input.id)?),
    })
}

pub fn delete(txn: &mut Txn, input: IdInput) -> Result<Empty, AwsError> {
    let s = set(txn, &input.id)?;
    if txn
        .config
        .hosted_zones
        .values()
        .any(|z| !z.private && z.name_servers == s.name_servers)
    {
        return Err(AwsError::new(
            "DelegationSetInUse",
            400,
            "The specified delegation contains associated hosted zones which must be deleted before the reusable delegation set can be deleted.",
        ));
    }
    txn.config.delegation_sets.remove(&s.id);
    txn.touch(Kind::DelegationSet, &s.id);
    Ok(Empty {})
}

#[derive(Deserialize)]
pub struct ListInput {
    marker: Option<String>,
    maxitems: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOutput {
    delegation_sets: Vec<SetOut>,
    marker: String,
    is_truncated: bool,
    next_marker: Option<String>,
    max_items: String,
}

pub fn list(txn: &mut Txn, input: ListInput) -> Result<ListOutput, AwsError> {
    let max = max_items(input.maxitems.as_deref(), 100, 100)?;
    let mut sets: Vec<Arc<DelegationSet>> = txn.config.delegation_sets.values().cloned().collect();
    sets.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    let start = match input.marker.as_deref().filter(|m| !m.is_empty()) {
        None => 0,
        Some(m) => sets
            .iter()
            .position(|s| s.id == bare_id(m))
            .ok_or_else(|| super::invalid(format!("The marker {m} is not valid")))?,
    };
    let rest = &sets[start..];
    let page = &rest[..rest.len().min(max)];
    Ok(ListOutput {
        delegation_sets: page.iter().map(|s| set_out(s)).collect(),
        marker: input.marker.unwrap_or_default(),
        is_truncated: rest.len() > max,
        next_marker: rest.get(max).map(|s| s.id.clone()),
        max_items: max.to_string(),
    })
}

#[derive(Deserialize)]
pub struct LimitInput {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Type")]
    kind: String,
}

/// GetReusableDelegationSetLimit: how many zones may use the set (AWS's default
/// quota, 100) and how many do.
pub fn limit(txn: &mut Txn, input: LimitInput) -> Result<LimitOutput, AwsError> {
    if input.kind != "MAX_ZONES_BY_REUSABLE_DELEGATION_SET" {
        return Err(super::invalid(format!("Invalid value for limit type: {}", input.kind)));
    }
    let s = set(txn, &input.id)?;
    let count = txn
        .config
        .hosted_zones
        .values()
        .filter(|z| !z.private && z.name_servers == s.name_servers)
        .count();
    Ok(LimitOutput {
        limit: LimitOut {
            r#type: input.kind,
            value: 100,
        },
        count,
    })
}
