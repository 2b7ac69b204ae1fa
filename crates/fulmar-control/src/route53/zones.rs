//! Hosted zones: create (public, or private with a VPC), get, the three listings,
//! count, comment, VPC associations, delete; and GetAccountLimit.

use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::{HostedZone, RecordSet, RoutingPolicy, ZoneVpc};
use fulmar_model::Kind;

use super::changes::{self, ChangeInfo};
use super::delegation::{self, NameServer};
use super::records::zone_records;
use super::{bare_zone_id, invalid, max_items, names, new_id, no_such_zone, Located, ENDPOINT};
use crate::{ids, Txn};

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename = "VPC")]
pub struct VpcShape {
    #[serde(rename = "VPCRegion")]
    region: Option<String>,
    #[serde(rename = "VPCId")]
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ZoneConfigIn {
    comment: Option<String>,
    private_zone: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneConfigOut {
    comment: Option<String>,
    private_zone: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "HostedZone")]
pub struct HostedZoneOut {
    id: String,
    name: String,
    caller_reference: String,
    config: ZoneConfigOut,
    resource_record_set_count: usize,
}

type DelegationSetOut = delegation::SetOut;

fn zone_out(txn: &Txn, z: &HostedZone) -> HostedZoneOut {
    HostedZoneOut {
        id: format!("/hostedzone/{}", z.id),
        name: names::display(&z.name),
        caller_reference: z.caller_reference.clone(),
        config: ZoneConfigOut {
            comment: z.comment.clone(),
            private_zone: z.private,
        },
        resource_record_set_count: super::records::zone_record_count(txn, &z.id),
    }
}

/// The delegation set of a public zone: its reusable set when it uses one, else its
/// own name servers.
fn delegation(txn: &Txn, z: &HostedZone) -> Option<DelegationSetOut> {
    if z.private {
        return None;
    }
    Some(match delegation::set_of(txn, z) {
        Some(s) => delegation::set_out(&s),
        None => DelegationSetOut {
            id: None,
            caller_reference: None,
            name_servers: z.name_servers.iter().map(|n| NameServer(n.clone())).collect(),
        },
    })
}

fn vpc_shape(v: &ZoneVpc) -> VpcShape {
    VpcShape {
        region: Some(v.region.clone()),
        id: Some(v.vpc_id.clone()),
    }
}

/// The zone with this id, or NoSuchHostedZone.
pub(crate) fn zone(txn: &Txn, id: &str) -> Result<Arc<HostedZone>, AwsError> {
    let id = bare_zone_id(id);
    txn.config.hosted_zones.get(id).cloned().ok_or_else(|| no_such_zone(id))
}

/// Four name servers as Route 53 assigns them: one each under `.com`, `.net`,
/// `.org` and `.co.uk`, numbered as AWS numbers its name servers.
pub(crate) fn name_servers(private: bool) -> Vec<String> {
    let mut rng = rand::thread_rng();
    ["com", "net", "org", "co.uk"]
        .iter()
        .enumerate()
        .map(|(i, tld)| {
            let within = if private { 0 } else { rng.gen_range(0..512) };
            let n = i * 512 + within;
            format!("ns-{n}.awsdns-{:02}.{tld}", within / 8)
        })
        .collect()
}

/// Resolve a VPC of a request against the EC2 VPCs Fulmar knows.
fn vpc(txn: &Txn, shape: &VpcShape) -> Result<ZoneVpc, AwsError> {
    let id = shape.id.clone().unwrap_or_default();
    let region = shape.region.clone().unwrap_or_else(|| txn.region.clone());
    match txn.config.vpcs.get(&id) {
        Some(v) if v.region == region => Ok(ZoneVpc { vpc_id: id, region }),
        _ => Err(AwsError::new(
            "InvalidVPCId",
            400,
            format!("The VPC ID '{id}' is not valid in region {region}, or the VPC does not exist."),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    name: String,
    caller_reference: String,
    #[serde(rename = "VPC")]
    vpc: Option<VpcShape>,
    hosted_zone_config: Option<ZoneConfigIn>,
    delegation_set_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOutput {
    hosted_zone: HostedZoneOut,
    change_info: ChangeInfo,
    delegation_set: Option<DelegationSetOut>,
    #[serde(rename = "VPC")]
    vpc: Option<VpcShape>,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<Located<CreateOutput>, AwsError> {
    if input.caller_reference.is_empty() || input.caller_reference.len() > 128 {
        return Err(invalid("CallerReference must be between 1 and 128 characters long"));
    }
    let name = names::domain(&input.name)?;
    let reusable = input
        .delegation_set_id
        .as_deref()
        .map(|id| delegation::set(txn, id))
        .transpose()?;
    if txn
        .config
        .hosted_zones
        .values()
        .any(|z| z.caller_reference == input.caller_reference)
    {
        return Err(AwsError::new(
            "HostedZoneAlreadyExists",
            409,
            format!(
                "A hosted zone has already been created with the specified caller reference: {}",
                input.caller_reference
            ),
        ));
    }
    let (comment, private_flag) = match &input.hosted_zone_config {
        Some(c) => (c.comment.clone(), c.private_zone),
        None => (None, None),
    };
    let private = input.vpc.is_some() || private_flag == Some(true);
    let vpcs = match &input.vpc {
        Some(v) if private_flag == Some(false) => {
            let _ = v;
            return Err(invalid("A public hosted zone cannot be associated with a VPC."));
        }
        Some(v) => vec![vpc(txn, v)?],
        None if private => {
            return Err(invalid(
                "When you're creating a private hosted zone (when you specify true for PrivateZone), you must also specify values for VPCId and VPCRegion.",
            ))
        }
        None => Vec::new(),
    };
    if let Some(set) = &reusable {
        if private {
            return Err(invalid(
                "A private hosted zone cannot use a reusable delegation set: DelegationSetId applies to public hosted zones only.",
            ));
        }
        // Zones of the same name, or parent and child, cannot share name servers.
        let related =
            |other: &str| other == name || other.ends_with(&format!(".{name}")) || name.ends_with(&format!(".{other}"));
        if let Some(other) = txn
            .config
            .hosted_zones
            .values()
            .find(|z| !z.private && related(&z.name) && z.name_servers == set.name_servers)
        {
            return Err(AwsError::new(
                "ConflictingDomainExists",
                400,
                format!(
                    "Cannot create the hosted zone {} with the delegation set {}: the hosted zone {} ({}) has the same name, or is its parent or child, and already uses that delegation set's name servers.",
                    names::display(&name),
                    set.id,
                    other.id,
                    names::display(&other.name)
                ),
            ));
        }
    }
    if let Some(v) = vpcs.first() {
        if let Some(other) = txn
            .config
            .hosted_zones
            .values()
            .find(|z| z.private && z.name == name && z.vpcs.contains(v))
        {
            return Err(AwsError::new(
                "ConflictingDomainExists",
                400,
                format!(
                    "The VPC {} in {} region has already been associated with the hosted zone {} with the same domain name.",
                    v.vpc_id, v.region, other.id
                ),
            ));
        }
    }
    let zone = HostedZone {
        id: new_id('Z'),
        name: name.clone(),
        caller_reference: input.caller_reference,
        comment,
        private,
        vpcs,
        name_servers: match &reusable {
            Some(set) => set.name_servers.clone(),
            None => name_servers(private),
        },
        created_ms: ids::now_ms(),
        tags: Vec::new(),
    };
    for record in default_records(&zone) {
        let key = record.key();
        txn.config.record_sets.insert(key.clone(), Arc::new(record));
        txn.touch(Kind::RecordSet, &key);
    }
    txn.config.hosted_zones.insert(zone.id.clone(), Arc::new(zone.clone()));
    txn.touch(Kind::HostedZone, &zone.id);
    let change_info = changes::record(txn, None);
    Ok(Located {
        location: format!("{ENDPOINT}/hostedzone/{}", zone.id),
        body: CreateOutput {
            hosted_zone: zone_out(txn, &zone),
            change_info,
            delegation_set: delegation(txn, &zone),
            vpc: input.vpc.filter(|_| private).map(|_| vpc_shape(&zone.vpcs[0])),
        },
    })
}

/// The SOA and NS record sets Route 53 creates with every zone.
fn default_records(zone: &HostedZone) -> [RecordSet; 2] {
    let ns: Vec<String> = zone.name_servers.iter().map(|n| format!("{n}.")).collect();
    let soa = format!("{} awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400", ns[0]);
    let record = |rtype: &str, ttl: u32, records: Vec<String>| RecordSet {
        zone_id: zone.id.clone(),
        name: zone.name.clone(),
        rtype: rtype.to_string(),
        set_identifier: None,
        ttl: Some(ttl),
        records,
        alias: None,
        health_check_id: None,
        policy: RoutingPolicy::Simple,
    };
    [record("NS", 172_800, ns), record("SOA", 900, vec![soa])]
}

#[derive(Deserialize)]
pub struct IdInput {
    #[serde(rename = "Id")]
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetOutput {
    hosted_zone: HostedZoneOut,
    delegation_set: Option<DelegationSetOut>,
    #[serde(rename = "VPCs")]
    vpcs: Option<Vec<VpcShape>>,
}

pub fn get(txn: &mut Txn, input: IdInput) -> Result<GetOutput, AwsError> {
    let z = zone(txn, &input.id)?;
    Ok(GetOutput {
        hosted_zone: zone_out(txn, &z),
        delegation_set: delegation(txn, &z),
        vpcs: z.private.then(|| z.vpcs.iter().map(vpc_shape).collect()),
    })
}

#[derive(Deserialize)]
pub struct ListInput {
    marker: Option<String>,
    maxitems: Option<String>,
    hostedzonetype: Option<String>,
    delegationsetid: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOutput {
    hosted_zones: Vec<HostedZoneOut>,
    marker: Option<String>,
    is_truncated: bool,
    next_marker: Option<String>,
    max_items: String,
}

/// Zones in creation order (then id), as ListHostedZones pages them.
fn by_creation(txn: &Txn) -> Vec<Arc<HostedZone>> {
    let mut zones: Vec<Arc<HostedZone>> = txn.config.hosted_zones.values().cloned().collect();
    zones.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    zones
}

pub fn list(txn: &mut Txn, input: ListInput) -> Result<ListOutput, AwsError> {
    let max = max_items(input.maxitems.as_deref(), 100, 100)?;
    let mut zones = by_creation(txn);
    if let Some(id) = &input.delegationsetid {
        let set = delegation::set(txn, id)?;
        zones.retain(|z| !z.private && z.name_servers == set.name_servers);
    }
    match input.hostedzonetype.as_deref() {
        None => {}
        Some("PrivateHostedZone") => zones.retain(|z| z.private),
        Some(other) => return Err(invalid(format!("Invalid value for HostedZoneType: {other}"))),
    }
    let start = match &input.marker {
        None => 0,
        Some(m) => zones
            .iter()
            .position(|z| z.id == bare_zone_id(m))
            .ok_or_else(|| invalid(format!("The marker {m} is not valid")))?,
    };
    let rest = &zones[start..];
    let page = &rest[..rest.len().min(max)];
    Ok(ListOutput {
        hosted_zones: page.iter().map(|z| zone_out(txn, z)).collect(),
        marker: input.marker,
        is_truncated: rest.len() > max,
        next_marker: rest.get(max).map(|z| z.id.clone()),
        max_items: max.to_string(),
    })
}

#[derive(Deserialize)]
pub struct ListByNameInput {
    dnsname: Option<String>,
    hostedzoneid: Option<String>,
    maxitems: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListByNameOutput {
    hosted_zones: Vec<HostedZoneOut>,
    #[serde(rename = "DNSName")]
    dns_name: Option<String>,
    hosted_zone_id: Option<String>,
    is_truncated: bool,
    #[serde(rename = "NextDNSName")]
    next_dns_name: Option<String>,
    next_hosted_zone_id: Option<String>,
    max_items: String,
}

pub fn list_by_name(txn: &mut Txn, input: ListByNameInput) -> Result<ListByNameOutput, AwsError> {
    let max = max_items(input.maxitems.as_deref(), 100, 100)?;
    if input.hostedzoneid.is_some() && input.dnsname.is_none() {
        return Err(invalid("The input is not valid: HostedZoneId requires DNSName"));
    }
    let start_name = input.dnsname.as_deref().map(names::domain).transpose()?;
    let mut zones: Vec<Arc<HostedZone>> = txn.config.hosted_zones.values().cloned().collect();
    zones.sort_by(|a, b| names::cmp(&a.name, &b.name).then_with(|| a.id.cmp(&b.id)));
    let start = match &start_name {
        None => 0,
        Some(name) => {
            let id = input.hostedzoneid.as_deref().map(bare_zone_id).unwrap_or("");
            zones
                .iter()
                .position(|z| names::cmp(&z.name, name).then_with(|| z.id.as_str().cmp(id)).is_ge())
                .unwrap_or(zones.len())
        }
    };
    let rest = &zones[start..];
    let page = &rest[..rest.len().min(max)];
    let next = rest.get(max);
    Ok(ListByNameOutput {
        hosted_zones: page.iter().map(|z| zone_out(txn, z)).collect(),
        dns_name: input.dnsname,
        hosted_zone_id: input.hostedzoneid,
        is_truncated: next.is_some(),
        next_dns_name: next.map(|z| names::display(&z.name)),
        next_hosted_zone_id: next.map(|z| z.id.clone()),
        max_items: max.to_string(),
    })
}

#[derive(Deserialize)]
pub struct ListByVpcInput {
    vpcid: String,
    vpcregion: String,
    maxitems: Option<String>,
    nexttoken: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OwnerOut {
    owning_account: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "HostedZoneSummary")]
struct SummaryOut {
    hosted_zone_id: String,
    name: String,
    owner: OwnerOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListByVpcOutput {
    hosted_zone_summaries: Vec<SummaryOut>,
    max_items: String,
    next_token: Option<String>,
}

pub fn list_by_vpc(txn: &mut Txn, input: ListByVpcInput) -> Result<ListByVpcOutput, AwsError> {
    let max = max_items(input.maxitems.as_deref(), 100, 100)?;
    let wanted = ZoneVpc {
        vpc_id: input.vpcid,
        region: input.vpcregion,
    };
    let zones: Vec<Arc<HostedZone>> = by_creation(txn)
        .into_iter()
        .filter(|z| z.vpcs.contains(&wanted))
        .collect();
    let (page, next) =
        fulmar_aws::paging::page(&zones, input.nexttoken.as_deref(), Some(max as u32), 100).map_err(|_| {
            AwsError::new(
                "InvalidPaginationToken",
                400,
                "The value that you specified for NextToken is not valid.",
            )
        })?;
    Ok(ListByVpcOutput {
        hosted_zone_summaries: page
            .iter()
            .map(|z| SummaryOut {
                hosted_zone_id: z.id.clone(),
                name: names::display(&z.name),
                owner: OwnerOut {
                    owning_account: txn.account().to_string(),
                },
            })
            .collect(),
        max_items: max.to_string(),
        next_token: next,
    })
}

#[derive(Deserialize)]
pub struct NoInput {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CountOutput {
    hosted_zone_count: usize,
}

pub fn count(txn: &mut Txn, _input: NoInput) -> Result<CountOutput, AwsError> {
    Ok(CountOutput {
        hosted_zone_count: txn.config.hosted_zones.len(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeOutput {
    change_info: ChangeInfo,
}

pub fn delete(txn: &mut Txn, input: IdInput) -> Result<ChangeOutput, AwsError> {
    let z = zone(txn, &input.id)?;
    let records = zone_records(txn, &z.id);
    let required =
        |r: &RecordSet| r.name == z.name && (r.rtype == "SOA" || r.rtype == "NS") && r.set_identifier.is_none();
    if !records.values().all(required) {
        return Err(AwsError::new(
            "HostedZoneNotEmpty",
            400,
            "The specified hosted zone contains non-required resource record sets and so cannot be deleted.",
        ));
    }
    for key in records.keys() {
        txn.config.record_sets.remove(key);
        txn.touch(Kind::RecordSet, key);
    }
    txn.config.hosted_zones.remove(&z.id);
    txn.touch(Kind::HostedZone, &z.id);
    super::query_logging::forget_zone(txn, &z.id);
    Ok(ChangeOutput {
        change_info: changes::record(txn, None),
    })
}

#[derive(Deserialize)]
pub struct CommentInput {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Comment")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommentOutput {
    hosted_zone: HostedZoneOut,
}

pub fn update_comment(txn: &mut Txn, input: CommentInput) -> Result<CommentOutput, AwsError> {
    let z = zone(txn, &input.id)?;
    if input.comment.as_deref().map_or(0, str::len) > 256 {
        return Err(invalid("Comment must be at most 256 characters long"));
    }
    let mut z = (*z).clone();
    z.comment = input.comment.filter(|c| !c.is_empty());
    txn.touch(Kind::HostedZone, &z.id);
    txn.config.hosted_zones.insert(z.id.clone(), Arc::new(z.clone()));
    Ok(CommentOutput {
        hosted_zone: zone_out(txn, &z),
    })
}

#[derive(Deserialize)]
pub struct VpcInput {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "VPC")]
    vpc: VpcShape,
    #[serde(rename = "Comment")]
    comment: Option<String>,
}

pub fn associate_vpc(txn: &mut Txn, input: VpcInput) -> Result<ChangeOutput, AwsError> {
    let z = zone(txn, &input.id)?;
    if !z.private {
        return Err(AwsError::new(
            "PublicZoneVPCAssociation",
            400,
            "You're trying to associate a VPC with a public hosted zone. Amazon Route 53 doesn't support associating a VPC with a public hosted zone.",
        ));
    }
    let v = vpc(txn, &input.vpc)?;
    let conflict = txn
        .config
        .hosted_zones
        .values()
        .find(|o| o.private && o.name == z.name && o.vpcs.contains(&v));
    if let Some(other) = conflict {
        return Err(AwsError::new(
            "ConflictingDomainExists",
            400,
            format!(
                "The VPC {} in {} region has already been associated with the hosted zone {} with the same domain name.",
                v.vpc_id, v.region, other.id
            ),
        ));
    }
    let mut z = (*z).clone();
    z.vpcs.push(v);
    txn.touch(Kind::HostedZone, &z.id);
    txn.config.hosted_zones.insert(z.id.clone(), Arc::new(z));
    Ok(ChangeOutput {
        change_info: changes::record(txn, input.comment),
    })
}

pub fn disassociate_vpc(txn: &mut Txn, input: VpcInput) -> Result<ChangeOutput, AwsError> {
    let z = zone(txn, &input.id)?;
    let id = input.vpc.id.clone().unwrap_or_default();
    let region = input.vpc.region.clone().unwrap_or_else(|| txn.region.clone());
    let wanted = ZoneVpc { vpc_id: id, region };
    if !z.vpcs.contains(&wanted) {
        return Err(AwsError::new(
            "VPCAssociationNotFound",
            404,
            format!(
                "The specified VPC {} and hosted zone {} are not currently associated.",
                wanted.vpc_id, z.id
            ),
        ));
    }
    if z.vpcs.len() == 1 {
        return Err(AwsError::new(
            "LastVPCAssociation",
            400,
            "The VPC that you're trying to disassociate from the private hosted zone is the last VPC that is associated with the hosted zone. Amazon Route 53 doesn't support disassociating the last VPC from a hosted zone.",
        ));
    }
    let mut z = (*z).clone();
    z.vpcs.retain(|v| v != &wanted);
    txn.touch(Kind::HostedZone, &z.id);
    txn.config.hosted_zones.insert(z.id.clone(), Arc::new(z));
    Ok(ChangeOutput {
        change_info: changes::record(txn, input.comment),
    })
}

#[derive(Deserialize)]
pub struct LimitInput {
    #[serde(rename = "Type")]
    kind: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct LimitOut {
    pub(super) r#type: String,
    pub(super) value: u64,
}

/// A Get*Limit answer: the limit and how much of it is used.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LimitOutput {
    pub(super) limit: LimitOut,
    pub(super) count: usize,
}

/// GetAccountLimit with AWS's default quotas and this account's usage.
pub fn account_limit(txn: &mut Txn, input: LimitInput) -> Result<LimitOutput, AwsError> {
    let (value, count) = match input.kind.as_str() {
        "MAX_HEALTH_CHECKS_BY_OWNER" => (200, txn.config.health_checks.len()),
        "MAX_HOSTED_ZONES_BY_OWNER" => (500, txn.config.hosted_zones.len()),
        "MAX_REUSABLE_DELEGATION_SETS_BY_OWNER" => (delegation::MAX_SETS as u64, txn.config.delegation_sets.len()),
        "MAX_TRAFFIC_POLICIES_BY_OWNER" => (50, 0),
        "MAX_TRAFFIC_POLICY_INSTANCES_BY_OWNER" => (5, 0),
        other => return Err(invalid(format!("Invalid value for limit type: {other}"))),
    };
    Ok(LimitOutput {
        limit: LimitOut {
            r#type: input.kind,
            value,
        },
        count,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DnssecStatus {
    serve_signature: String,
    status_message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename = "KeySigningKey")]
struct KeySigningKey {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DnssecOutput {
    status: DnssecStatus,
    key_signing_keys: Vec<KeySigningKey>,
}

#[derive(Deserialize)]
pub struct DnssecInput {
    #[serde(rename = "Id")]
    id: String,
}

/// GetDNSSEC: Fulmar does not sign zones, so every zone reports `NOT_SIGNING` and no
/// key-signing keys.
pub fn dnssec(txn: &mut Txn, input: DnssecInput) -> Result<DnssecOutput, AwsError> {
    let z = zone(txn, &input.id)?;
    if z.private {
        return Err(AwsError::new(
            "InvalidArgument",
            400,
            "DNSSEC signing is not supported for private hosted zones.",
        ));
    }
    Ok(DnssecOutput {
        status: DnssecStatus {
            serve_signature: "NOT_SIGNING".to_string(),
            status_message: None,
        },
        key_signing_keys: Vec::new(),
    })
}
