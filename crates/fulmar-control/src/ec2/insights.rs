//! The Reachability Analyzer API: network insights paths (Create, Describe, Delete)
//! and their analyses (Start, Describe, Delete). An analysis runs when it is started
//! (`reachability::analyze`); its Start answer says `running`, as AWS's asynchronous
//! analyzer does, and every Describe after says `succeeded` with the stored verdict.

use std::net::Ipv4Addr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::insights::{PathFilter, PortSpan};
use fulmar_model::{Kind, NetworkInsightsAnalysis, NetworkInsightsPath};

use super::filters::{self, FilterIn};
use super::insight_shapes::{analysis_out, path_out, started_out, AnalysisOut, PathOut};
use super::paging::page;
use super::reachability;
use super::{check_id, check_tag_specs, invalid, missing, now, tags_for, TagSpecificationIn};
use crate::{ids, Txn};

fn path_not_found(id: &str) -> AwsError {
    AwsError::new(
        "InvalidNetworkInsightsPathId.NotFound",
        400,
        format!("The NetworkInsightsPath ID '{id}' does not exist"),
    )
}

fn analysis_not_found(id: &str) -> AwsError {
    AwsError::new(
        "InvalidNetworkInsightsAnalysisId.NotFound",
        400,
        format!("The NetworkInsightsAnalysis ID '{id}' does not exist"),
    )
}

/// A path of the caller's region, or `InvalidNetworkInsightsPathId.NotFound`.
fn path(txn: &Txn, id: &str) -> Result<Arc<NetworkInsightsPath>, AwsError> {
    check_id(id, "nip", "InvalidNetworkInsightsPathId")?;
    txn.config
        .network_insights_paths
        .get(id)
        .filter(|p| p.region == txn.region)
        .cloned()
        .ok_or_else(|| path_not_found(id))
}

/// An analysis of the caller's region, or `InvalidNetworkInsightsAnalysisId.NotFound`.
fn analysis(txn: &Txn, id: &str) -> Result<Arc<NetworkInsightsAnalysis>, AwsError> {
    check_id(id, "nia", "InvalidNetworkInsightsAnalysisId")?;
    txn.config
        .network_insights_analyses
        .get(id)
        .filter(|a| a.region == txn.region)
        .cloned()
        .ok_or_else(|| analysis_not_found(id))
}

fn arn(txn: &Txn, kind: &str, id: &str) -> String {
    format!("arn:aws:ec2:{}:{}:{kind}/{id}", txn.region, txn.account())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortRangeIn {
    from_port: Option<i32>,
    to_port: Option<i32>,
}

/// `PathRequestFilter`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PathFilterIn {
    source_address: Option<String>,
    source_port_range: Option<PortRangeIn>,
    destination_address: Option<String>,
    destination_port_range: Option<PortRangeIn>,
}

fn address(v: Option<String>, what: &str) -> Result<Option<Ipv4Addr>, AwsError> {
    v.map(|a| {
        a.parse::<Ipv4Addr>()
            .map_err(|_| invalid(format!("The {what} '{a}' is not a valid IPv4 address.")))
    })
    .transpose()
}

fn port(v: i32, what: &str) -> Result<u16, AwsError> {
    u16::try_from(v).map_err(|_| {
        invalid(format!(
            "Invalid value '{v}' for {what}. It must be between 0 and 65535."
        ))
    })
}

fn span(v: Option<PortRangeIn>, what: &str) -> Result<Option<PortSpan>, AwsError> {
    let Some(r) = v else { return Ok(None) };
    let from = port(r.from_port.unwrap_or(0), what)?;
    let to = port(r.to_port.unwrap_or(65_535), what)?;
    if from > to {
        return Err(invalid(format!(
            "The {what} must have a FromPort no greater than its ToPort."
        )));
    }
    Ok(Some(PortSpan { from, to }))
}

fn path_filter(v: Option<PathFilterIn>) -> Result<Option<PathFilter>, AwsError> {
    let Some(f) = v else { return Ok(None) };
    Ok(Some(PathFilter {
        source_address: address(f.source_address, "source address")?,
        source_ports: span(f.source_port_range, "source port range")?,
        destination_address: address(f.destination_address, "destination address")?,
        destination_ports: span(f.destination_port_range, "destination port range")?,
    }))
}

/// A resource id, or the id at the end of its ARN (`arn:aws:ec2:...:instance/i-...`).
fn resource_id(v: &str) -> &str {
    match v.strip_prefix("arn:") {
        Some(rest) => rest.rsplit_once('/').map_or(rest, |(_, id)| id),
        None => v,
    }
}

/// The id and ARN of a path's end, checked to exist.
fn end_of(txn: &Txn, given: &str) -> Result<(String, String), AwsError> {
    let id = resource_id(given);
    let (kind, code) = match id.rsplit_once('-').map(|(p, _)| p) {
        Some("i") => ("instance", "InvalidInstanceID"),
        Some("eni") => ("network-interface", "InvalidNetworkInterfaceID"),
        Some("igw") => ("internet-gateway", "InvalidInternetGatewayID"),
        _ => {
            return Err(invalid(format!(
                "The resource '{given}' is not a supported source or destination: use an instance, a network interface or an internet gateway."
            )))
        }
    };
    if reachability::resolve(&txn.config, &txn.region, id).is_none() {
        return Err(AwsError::new(
            format!("{code}.NotFound"),
            400,
            format!("The {kind} ID '{id}' does not exist"),
        ));
    }
    Ok((id.to_string(), arn(txn, kind, id)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePathInput {
    source: Option<String>,
    destination: Option<String>,
    source_ip: Option<String>,
    destination_ip: Option<String>,
    protocol: Option<String>,
    destination_port: Option<i32>,
    filter_at_source: Option<PathFilterIn>,
    filter_at_destination: Option<PathFilterIn>,
    client_token: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct CreatePathOut {
    #[serde(rename = "networkInsightsPath")]
    path: PathOut,
}

pub fn create_path(txn: &mut Txn, input: CreatePathInput) -> Result<CreatePathOut, AwsError> {
    let source = input.source.ok_or_else(|| missing("Source"))?;
    let protocol = input.protocol.ok_or_else(|| missing("Protocol"))?.to_ascii_lowercase();
    if protocol != "tcp" && protocol != "udp" {
        return Err(invalid(format!(
            "Value ({protocol}) for parameter protocol is invalid. Valid values: tcp, udp."
        )));
    }
    if let Some(token) = &input.client_token {
        let same = txn
            .config
            .network_insights_paths
            .values()
            .find(|p| p.region == txn.region && p.client_token.as_ref() == Some(token));
        if let Some(p) = same {
            return Ok(CreatePathOut { path: path_out(p) });
        }
    }
    let (source, source_arn) = end_of(txn, &source)?;
    let destination = input.destination.as_deref().map(|d| end_of(txn, d)).transpose()?;
    let destination_ip = address(input.destination_ip, "destination IP")?;
    if destination.is_none() && destination_ip.is_none() {
        return Err(invalid("You must specify a destination or a destination IP address."));
    }
    let gateway = |id: &str| id.starts_with("igw-");
    if gateway(&source) && destination.as_ref().is_none_or(|(d, _)| gateway(d)) {
        return Err(AwsError::new(
            "InvalidParameterCombination",
            400,
            "A path from an internet gateway must end at an instance or a network interface.",
        ));
    }
    check_tag_specs(&input.tag_specifications, &["network-insights-path"])?;
    let id = ids::ec2("nip");
    let path = NetworkInsightsPath {
        id: id.clone(),
        region: txn.region.clone(),
        owner_id: txn.account().to_string(),
        created_ms: now(),
        source,
        source_arn,
        destination_arn: destination.as_ref().map(|(_, a)| a.clone()),
        destination: destination.map(|(d, _)| d),
        source_ip: address(input.source_ip, "source IP")?,
        destination_ip,
        protocol,
        destination_port: input.destination_port.map(|p| port(p, "DestinationPort")).transpose()?,
        filter_at_source: path_filter(input.filter_at_source)?,
        filter_at_destination: path_filter(input.filter_at_destination)?,
        client_token: input.client_token,
        tags: tags_for(&input.tag_specifications, "network-insights-path"),
    };
    let out = CreatePathOut { path: path_out(&path) };
    txn.touch(Kind::NetworkInsightsPath, &id);
    txn.config.network_insights_paths.insert(id, Arc::new(path));
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribePathsInput {
    #[serde(default, rename = "NetworkInsightsPathId")]
    ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribePathsOut {
    #[serde(rename = "networkInsightsPathSet")]
    paths: Vec<PathOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn span_text(s: Option<PortSpan>) -> Option<String> {
    s.map(|s| {
        if s.from == s.to {
            s.from.to_string()
        } else {
            format!("{}-{}", s.from, s.to)
        }
    })
}

pub fn describe_paths(txn: &mut Txn, input: DescribePathsInput) -> Result<DescribePathsOut, AwsError> {
    for id in &input.ids {
        check_id(id, "nip", "InvalidNetworkInsightsPathId")?;
        path(txn, id)?;
    }
    let paths: Vec<PathOut> = txn
        .config
        .network_insights_paths
        .values()
        .filter(|p| p.region == txn.region && (input.ids.is_empty() || input.ids.contains(&p.id)))
        .filter(|p| {
            filters::matches(&input.filters, &p.tags, |name| {
                let at = |f: &Option<PathFilter>| f.clone().unwrap_or_default();
                let (filter, field) = match name.split_once('.') {
                    Some(("filter-at-source", field)) => (at(&p.filter_at_source), field),
                    Some(("filter-at-destination", field)) => (at(&p.filter_at_destination), field),
                    _ => {
                        return match name {
                            "source" => Some(vec![p.source.clone()]),
                            "destination" => Some(p.destination.iter().cloned().collect()),
                            "protocol" => Some(vec![p.protocol.clone()]),
                            "destination-port" => Some(p.destination_port.iter().map(|d| d.to_string()).collect()),
                            _ => None,
                        }
                    }
                };
                match field {
                    "source-address" => Some(filter.source_address.iter().map(|a| a.to_string()).collect()),
                    "destination-address" => Some(filter.destination_address.iter().map(|a| a.to_string()).collect()),
                    "source-port-range" => Some(span_text(filter.source_ports).into_iter().collect()),
                    "destination-port-range" => Some(span_text(filter.destination_ports).into_iter().collect()),
                    _ => None,
                }
            })
        })
        .map(|p| path_out(p))
        .collect();
    let (paths, next_token) = page(paths, input.max_results, input.next_token.as_deref(), 1)?;
    Ok(DescribePathsOut { paths, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletePathInput {
    network_insights_path_id: Option<String>,
}

#[derive(Serialize)]
pub struct DeletePathOut {
    #[serde(rename = "networkInsightsPathId")]
    id: String,
}

pub fn delete_path(txn: &mut Txn, input: DeletePathInput) -> Result<DeletePathOut, AwsError> {
    let id = input
        .network_insights_path_id
        .ok_or_else(|| missing("NetworkInsightsPathId"))?;
    check_id(&id, "nip", "InvalidNetworkInsightsPathId")?;
    path(txn, &id)?;
    if txn.config.network_insights_analyses.values().any(|a| a.path_id == id) {
        return Err(AwsError::new(
            "DependencyViolation",
            400,
            format!("The network insights path '{id}' has dependent network insights analyses. Delete them first."),
        ));
    }
    txn.config.network_insights_paths.remove(&id);
    txn.touch(Kind::NetworkInsightsPath, &id);
    Ok(DeletePathOut { id })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartInput {
    network_insights_path_id: Option<String>,
    #[serde(default, rename = "FilterInArn")]
    filter_in_arns: Vec<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct StartOut {
    #[serde(rename = "networkInsightsAnalysis")]
    analysis: AnalysisOut,
}

pub fn start_analysis(txn: &mut Txn, input: StartInput) -> Result<StartOut, AwsError> {
    let path_id = input
        .network_insights_path_id
        .ok_or_else(|| missing("NetworkInsightsPathId"))?;
    check_id(&path_id, "nip", "InvalidNetworkInsightsPathId")?;
    let path = txn
        .config
        .network_insights_paths
        .get(&path_id)
        .filter(|p| p.region == txn.region)
        .cloned()
        .ok_or_else(|| path_not_found(&path_id))?;
    check_tag_specs(&input.tag_specifications, &["network-insights-analysis"])?;
    let (status, message, outcome) = match reachability::analyze(&txn.config, &path) {
        Ok(outcome) => ("succeeded", None, outcome),
        Err(message) => ("failed", Some(message), reachability::Outcome::default()),
    };
    let id = ids::ec2("nia");
    let analysis = NetworkInsightsAnalysis {
        id: id.clone(),
        region: txn.region.clone(),
        owner_id: txn.account().to_string(),
        path_id,
        start_ms: now(),
        status: status.into(),
        status_message: message,
        path_found: outcome.found,
        forward_path: outcome.forward,
        return_path: outcome.return_path,
        explanations: outcome.explanations,
        filter_in_arns: input.filter_in_arns,
        tags: tags_for(&input.tag_specifications, "network-insights-analysis"),
    };
    // The answer to Start is the analysis as AWS shows it the moment it begins.
    let out = started_out(&analysis);
    txn.touch(Kind::NetworkInsightsAnalysis, &id);
    txn.config.network_insights_analyses.insert(id, Arc::new(analysis));
    Ok(StartOut { analysis: out })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAnalysesInput {
    #[serde(default, rename = "NetworkInsightsAnalysisId")]
    ids: Vec<String>,
    network_insights_path_id: Option<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeAnalysesOut {
    #[serde(rename = "networkInsightsAnalysisSet")]
    analyses: Vec<AnalysisOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe_analyses(txn: &mut Txn, input: DescribeAnalysesInput) -> Result<DescribeAnalysesOut, AwsError> {
    for id in &input.ids {
        check_id(id, "nia", "InvalidNetworkInsightsAnalysisId")?;
        analysis(txn, id)?;
    }
    if let Some(p) = &input.network_insights_path_id {
        check_id(p, "nip", "InvalidNetworkInsightsPathId")?;
        path(txn, p)?;
    }
    let mut found: Vec<&Arc<NetworkInsightsAnalysis>> = txn
        .config
        .network_insights_analyses
        .values()
        .filter(|a| a.region == txn.region && (input.ids.is_empty() || input.ids.contains(&a.id)))
        .filter(|a| input.network_insights_path_id.as_ref().is_none_or(|p| &a.path_id == p))
        .filter(|a| {
            filters::matches(&input.filters, &a.tags, |name| match name {
                "path-found" => Some(vec![a.path_found.to_string()]),
                "status" => Some(vec![a.status.clone()]),
                _ => None,
            })
        })
        .collect();
    found.sort_by_key(|a| a.start_ms);
    let analyses = found.into_iter().map(|a| analysis_out(a)).collect();
    let (analyses, next_token) = page(analyses, input.max_results, input.next_token.as_deref(), 1)?;
    Ok(DescribeAnalysesOut { analyses, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAnalysisInput {
    network_insights_analysis_id: Option<String>,
}

#[derive(Serialize)]
pub struct DeleteAnalysisOut {
    #[serde(rename = "networkInsightsAnalysisId")]
    id: String,
}

pub fn delete_analysis(txn: &mut Txn, input: DeleteAnalysisInput) -> Result<DeleteAnalysisOut, AwsError> {
    let id = input
        .network_insights_analysis_id
        .ok_or_else(|| missing("NetworkInsightsAnalysisId"))?;
    check_id(&id, "nia", "InvalidNetworkInsightsAnalysisId")?;
    if txn
        .config
        .network_insights_analyses
        .get(&id)
        .filter(|a| a.region == txn.region)
        .is_none()
    {
        return Err(analysis_not_found(&id));
    }
    txn.config.network_insights_analyses.remove(&id);
    txn.touch(Kind::NetworkInsightsAnalysis, &id);
    Ok(DeleteAnalysisOut { id })
}
