//! Customer-managed prefix lists (`pl-...`): a named set of CIDRs of one address
//! family, at most `MaxEntries` long. Every change of the entries makes a new version
//! (the older ones stay readable through GetManagedPrefixListEntries' `TargetVersion`);
//! a change names the version it expects. Security-group rules may name a prefix list
//! as their source or destination; the security-group engine treats it as its CIDRs.
//! Changes apply at once: the state reads `create-complete` / `modify-complete`. A
//! deletion of a list a security-group rule still names is accepted and then fails,
//! as EC2's asynchronous delete does: the list stays, `delete-failed`, with a message.

use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::acm::{ManagedPrefixList, PrefixListEntry};
use fulmar_model::Kind;

use super::filters::{self, FilterIn};
use super::paging::page;
use super::{check_tag_specs, invalid, missing, tag_set, tags_for, TagOut, TagSpecificationIn};
use crate::{ids, Txn};

/// The largest `MaxEntries` of a customer-managed prefix list.
const MAX_ENTRIES_LIMIT: i32 = 1000;

pub fn not_found(id: &str) -> AwsError {
    AwsError::new(
        "InvalidPrefixListID.NotFound",
        400,
        format!("The prefix list ID '{id}' does not exist"),
    )
}

/// A prefix list of the calling region.
pub fn get(txn: &Txn, id: &str) -> Result<Arc<ManagedPrefixList>, AwsError> {
    txn.config
        .prefix_lists
        .get(id)
        .filter(|p| p.region == txn.region)
        .cloned()
        .ok_or_else(|| not_found(id))
}

fn save(txn: &mut Txn, pl: ManagedPrefixList) {
    txn.touch(Kind::PrefixList, &pl.id);
    txn.config.prefix_lists.insert(pl.id.clone(), Arc::new(pl));
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntryIn {
    cidr: Option<String>,
    description: Option<String>,
}

#[derive(Serialize)]
pub struct PrefixListOut {
    #[serde(rename = "prefixListId")]
    id: String,
    #[serde(rename = "addressFamily")]
    address_family: String,
    state: String,
    #[serde(rename = "stateMessage", skip_serializing_if = "Option::is_none")]
    state_message: Option<String>,
    #[serde(rename = "prefixListArn")]
    arn: String,
    #[serde(rename = "prefixListName")]
    name: String,
    #[serde(rename = "maxEntries")]
    max_entries: i32,
    version: i64,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
    #[serde(rename = "ownerId")]
    owner_id: String,
}

fn out(txn: &Txn, pl: &ManagedPrefixList) -> PrefixListOut {
    PrefixListOut {
        id: pl.id.clone(),
        address_family: pl.address_family.clone(),
        state: pl.state.clone(),
        state_message: pl.state_message.clone(),
        arn: format!("{}prefix-list/{}", txn.arn_prefix("ec2"), pl.id),
        name: pl.name.clone(),
        max_entries: pl.max_entries,
        version: pl.version,
        tags: tag_set(&pl.tags),
        owner_id: pl.owner_id.clone(),
    }
}

fn check_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 255 || name.to_ascii_lowercase().starts_with("com.amazonaws") {
        return Err(invalid(format!(
            "The prefix list name '{name}' is invalid. Names must be 1-255 characters and cannot start with com.amazonaws."
        )));
    }
    Ok(())
}

/// One entry, its CIDR canonical (host bits cleared) and of the list's family.
fn entry(family: &str, e: EntryIn) -> Result<PrefixListEntry, AwsError> {
    let cidr = e.cidr.ok_or_else(|| missing("Cidr"))?;
    let net: IpNet = cidr
        .parse()
        .map_err(|_| invalid(format!("The CIDR '{cidr}' is invalid.")))?;
    let fits = matches!((family, net), ("IPv4", IpNet::V4(_)) | ("IPv6", IpNet::V6(_)));
    if !fits {
        return Err(invalid(format!(
            "The CIDR '{cidr}' does not match the address family of the prefix list ({family})."
        )));
    }
    if let Some(d) = &e.description {
        if d.len() > 255 {
            return Err(invalid(
                "The description of a prefix list entry can be at most 255 characters.",
            ));
        }
    }
    Ok(PrefixListEntry {
        cidr: net.trunc().to_string(),
        description: e.description,
    })
}

fn too_many(max: i32) -> AwsError {
    AwsError::new(
        "PrefixListMaxEntriesExceeded",
        400,
        format!("The prefix list has more entries than its maximum number of entries ({max})."),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    prefix_list_name: Option<String>,
    #[serde(default, rename = "Entry")]
    entries: Vec<EntryIn>,
    max_entries: Option<i32>,
    address_family: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
    #[allow(dead_code)]
    client_token: Option<String>,
}

#[derive(Serialize)]
pub struct OneOut {
    #[serde(rename = "prefixList")]
    prefix_list: PrefixListOut,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<OneOut, AwsError> {
    check_tag_specs(&input.tag_specifications, &["prefix-list"])?;
    let name = input.prefix_list_name.ok_or_else(|| missing("PrefixListName"))?;
    let max_entries = input.max_entries.ok_or_else(|| missing("MaxEntries"))?;
    let family = input.address_family.ok_or_else(|| missing("AddressFamily"))?;
    check_name(&name)?;
    if family != "IPv4" && family != "IPv6" {
        return Err(invalid(format!(
            "The address family '{family}' is invalid. Valid values are IPv4 and IPv6."
        )));
    }
    if !(1..=MAX_ENTRIES_LIMIT).contains(&max_entries) {
        return Err(invalid(format!(
            "The maximum number of entries '{max_entries}' is invalid. It must be between 1 and {MAX_ENTRIES_LIMIT}."
        )));
    }
    let mut entries: Vec<PrefixListEntry> = Vec::new();
    for e in input.entries {
        let e = entry(&family, e)?;
        if entries.iter().any(|x| x.cidr == e.cidr) {
            return Err(invalid(format!("The CIDR '{}' is duplicated.", e.cidr)));
        }
        entries.push(e);
    }
    if entries.len() > max_entries as usize {
        return Err(too_many(max_entries));
    }
    let pl = ManagedPrefixList {
        id: ids::ec2("pl"),
        region: txn.region.clone(),
        owner_id: txn.account().to_string(),
        name,
        address_family: family,
        max_entries,
        version: 1,
        state: "create-complete".into(),
        state_message: None,
        entries,
        history: Vec::new(),
        tags: tags_for(&input.tag_specifications, "prefix-list"),
    };
    let o = out(txn, &pl);
    save(txn, pl);
    Ok(OneOut { prefix_list: o })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "PrefixListId")]
    ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "prefixListSet")]
    lists: Vec<PrefixListOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    for id in &input.ids {
        get(txn, id)?;
    }
    let lists: Vec<Arc<ManagedPrefixList>> = txn
        .config
        .prefix_lists
        .values()
        .filter(|p| p.region == txn.region)
        .filter(|p| input.ids.is_empty() || input.ids.contains(&p.id))
        .filter(|p| {
            filters::matches(&input.filters, &p.tags, |name| match name {
                "prefix-list-id" => Some(vec![p.id.clone()]),
                "prefix-list-name" => Some(vec![p.name.clone()]),
                "owner-id" => Some(vec![p.owner_id.clone()]),
                _ => None,
            })
        })
        .cloned()
        .collect();
    let (lists, next_token) = page(lists, input.max_results, input.next_token.as_deref(), 1)?;
    Ok(DescribeOut {
        lists: lists.iter().map(|p| out(txn, p)).collect(),
        next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntriesInput {
    prefix_list_id: Option<String>,
    target_version: Option<i64>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct EntriesOut {
    #[serde(rename = "entrySet")]
    entries: Vec<EntryOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
struct EntryOut {
    cidr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

pub fn get_entries(txn: &mut Txn, input: EntriesInput) -> Result<EntriesOut, AwsError> {
    let id = input.prefix_list_id.ok_or_else(|| missing("PrefixListId"))?;
    let pl = get(txn, &id)?;
    let entries = match input.target_version {
        None => &pl.entries,
        Some(v) if v == pl.version => &pl.entries,
        Some(v) if v >= 1 && v < pl.version && (v as usize) <= pl.history.len() => &pl.history[v as usize - 1],
        Some(v) => {
            return Err(AwsError::new(
                "InvalidPrefixListVersion",
                400,
                format!("The version '{v}' of prefix list '{id}' does not exist."),
            ))
        }
    };
    let entries: Vec<EntryOut> = entries
        .iter()
        .map(|e| EntryOut {
            cidr: e.cidr.clone(),
            description: e.description.clone(),
        })
        .collect();
    let (entries, next_token) = page(entries, input.max_results, input.next_token.as_deref(), 1)?;
    Ok(EntriesOut { entries, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyInput {
    prefix_list_id: Option<String>,
    current_version: Option<i64>,
    prefix_list_name: Option<String>,
    #[serde(default, rename = "AddEntry")]
    add: Vec<EntryIn>,
    #[serde(default, rename = "RemoveEntry")]
    remove: Vec<EntryIn>,
    max_entries: Option<i32>,
}

pub fn modify(txn: &mut Txn, input: ModifyInput) -> Result<OneOut, AwsError> {
    let id = input.prefix_list_id.ok_or_else(|| missing("PrefixListId"))?;
    let mut pl = (*get(txn, &id)?).clone();
    let changes_entries = !input.add.is_empty() || !input.remove.is_empty();
    if changes_entries && input.max_entries.is_some() {
        return Err(invalid(
            "You cannot modify the entries of a prefix list and modify the size of a prefix list at the same time.",
        ));
    }
    if let Some(v) = input.current_version {
        if v != pl.version {
            return Err(AwsError::new(
                "PrefixListVersionMismatch",
                400,
                format!(
                    "The prefix list '{id}' has version {} and not the specified version {v}.",
                    pl.version
                ),
            ));
        }
    }
    if let Some(name) = input.prefix_list_name {
        check_name(&name)?;
        pl.name = name;
    }
    if let Some(max) = input.max_entries {
        if !(1..=MAX_ENTRIES_LIMIT).contains(&max) {
            return Err(invalid(format!(
                "The maximum number of entries '{max}' is invalid. It must be between 1 and {MAX_ENTRIES_LIMIT}."
            )));
        }
        if (max as usize) < pl.entries.len() {
            return Err(invalid(format!(
                "The maximum number of entries ({max}) is less than the number of entries in the prefix list ({}).",
                pl.entries.len()
            )));
        }
        pl.max_entries = max;
    }
    if changes_entries {
        let mut entries = pl.entries.clone();
        for r in input.remove {
            let e = entry(&pl.address_family, r)?;
            let before = entries.len();
            entries.retain(|x| x.cidr != e.cidr);
            if entries.len() == before {
                return Err(invalid(format!(
                    "The CIDR '{}' does not exist in the prefix list '{id}'.",
                    e.cidr
                )));
            }
        }
        for a in input.add {
            let e = entry(&pl.address_family, a)?;
            match entries.iter_mut().find(|x| x.cidr == e.cidr) {
                // Adding a CIDR again replaces its description.
                Some(x) => x.description = e.description,
                None => entries.push(e),
            }
        }
        if entries.len() > pl.max_entries as usize {
            return Err(too_many(pl.max_entries));
        }
        let old = std::mem::replace(&mut pl.entries, entries);
        pl.history.push(old);
        pl.version += 1;
    }
    pl.state = "modify-complete".into();
    pl.state_message = None;
    let o = out(txn, &pl);
    save(txn, pl);
    Ok(OneOut { prefix_list: o })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    prefix_list_id: Option<String>,
}

pub fn delete(txn: &mut Txn, input: DeleteInput) -> Result<OneOut, AwsError> {
    let id = input.prefix_list_id.ok_or_else(|| missing("PrefixListId"))?;
    let pl = get(txn, &id)?;
    let user = txn.config.security_groups.values().find(|g| {
        g.ingress
            .iter()
            .chain(g.egress.iter())
            .any(|r| matches!(&r.peer, fulmar_model::ec2::RulePeer::PrefixList(p) if *p == id))
    });
    if let Some(g) = user {
        // EC2 accepts the deletion (delete-in-progress) and then fails it: the list
        // stays, in delete-failed, until its references are gone.
        let message = format!("The prefix list '{id}' is referenced by security group '{}'.", g.id);
        let mut failed = (*pl).clone();
        failed.state = "delete-failed".into();
        failed.state_message = Some(message);
        let mut o = out(txn, &failed);
        o.state = "delete-in-progress".into();
        o.state_message = None;
        save(txn, failed);
        return Ok(OneOut { prefix_list: o });
    }
    let mut gone = (*pl).clone();
    gone.state = "delete-complete".into();
    let o = out(txn, &gone);
    txn.config.prefix_lists.remove(&id);
    txn.touch(Kind::PrefixList, &id);
    Ok(OneOut { prefix_list: o })
}
