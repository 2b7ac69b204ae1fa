//! Query logging configurations: which CloudWatch Logs log group a public hosted
//! zone's DNS queries go to. The log group must exist in CloudWatch Logs
//! (`crate::logs`) in us-east-1, as Route 53 requires; one configuration per zone.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::QueryLoggingConfig;
use fulmar_model::Kind;

use super::zones::zone;
use super::{bare_zone_id, invalid, uuid, Empty, Located, ENDPOINT};
use crate::Txn;

fn no_such_config() -> AwsError {
    AwsError::new(
        "NoSuchQueryLoggingConfig",
        404,
        "The query logging configuration does not exist",
    )
}

fn invalid_arn() -> AwsError {
    invalid("The ARN for the CloudWatch Logs log group is invalid")
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase", rename = "QueryLoggingConfig")]
pub struct ConfigOut {
    id: String,
    hosted_zone_id: String,
    cloud_watch_logs_log_group_arn: String,
}

fn config_out(c: &QueryLoggingConfig) -> ConfigOut {
    ConfigOut {
        id: c.id.clone(),
        hosted_zone_id: c.hosted_zone_id.clone(),
        cloud_watch_logs_log_group_arn: c.log_group_arn.clone(),
    }
}

/// The key of the log group an ARN names: `arn:aws:logs:us-east-1:<account>:log-group:<name>`,
/// with or without the trailing `:*`. Anything else, or another region, is invalid.
fn log_group_key(arn: &str) -> Result<String, AwsError> {
    let arn = arn.strip_suffix(":*").unwrap_or(arn);
    let mut parts = arn.splitn(7, ':');
    let fields: Vec<&str> = parts.by_ref().collect();
    if fields.len() != 7
        || fields[0] != "arn"
        || fields[2] != "logs"
        || fields[5] != "log-group"
        || fields[6].is_empty()
    {
        return Err(invalid_arn());
    }
    if fields[3] != "us-east-1" {
        return Err(invalid_arn());
    }
    Ok(arn.to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    hosted_zone_id: String,
    cloud_watch_logs_log_group_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigOutput {
    query_logging_config: ConfigOut,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<Located<ConfigOutput>, AwsError> {
    let z = zone(txn, &input.hosted_zone_id)?;
    let key = log_group_key(&input.cloud_watch_logs_log_group_arn)?;
    if z.private {
        return Err(invalid("Query logging is supported for public hosted zones only."));
    }
    let account = key.split(':').nth(4).unwrap_or("");
    if account != txn.account() || !txn.config.log_groups.contains_key(&key) {
        return Err(AwsError::new(
            "NoSuchCloudWatchLogsLogGroup",
            404,
            "The specified CloudWatch Logs log group doesn't exist.",
        ));
    }
    if txn
        .config
        .query_logging_configs
        .values()
        .any(|c| c.hosted_zone_id == z.id)
    {
        return Err(AwsError::new(
            "QueryLoggingConfigAlreadyExists",
            409,
            "A query logging configuration already exists for this hosted zone.",
        ));
    }
    let seq = txn
        .config
        .query_logging_configs
        .values()
        .map(|c| c.seq)
        .max()
        .map_or(0, |s| s + 1);
    let c = QueryLoggingConfig {
        id: uuid(),
        hosted_zone_id: z.id.clone(),
        log_group_arn: input.cloud_watch_logs_log_group_arn,
        seq,
    };
    txn.config
        .query_logging_configs
        .insert(c.id.clone(), Arc::new(c.clone()));
    txn.touch(Kind::QueryLoggingConfig, &c.id);
    Ok(Located {
        location: format!("{ENDPOINT}/queryloggingconfig/{}", c.id),
        body: ConfigOutput {
            query_logging_config: config_out(&c),
        },
    })
}

#[derive(Deserialize)]
pub struct IdInput {
    #[serde(rename = "Id")]
    id: String,
}

fn config(txn: &Txn, id: &str) -> Result<Arc<QueryLoggingConfig>, AwsError> {
    txn.config
        .query_logging_configs
        .get(id)
        .cloned()
        .ok_or_else(no_such_config)
}

pub fn get(txn: &mut Txn, input: IdInput) -> Result<ConfigOutput, AwsError> {
    Ok(ConfigOutput {
        query_logging_config: config_out(&*config(txn, &input.id)?),
    })
}

pub fn delete(txn: &mut Txn, input: IdInput) -> Result<Empty, AwsError> {
    let c = config(txn, &input.id)?;
    txn.config.query_logging_configs.remove(&c.id);
    txn.touch(Kind::QueryLoggingConfig, &c.id);
    Ok(Empty {})
}

/// Remove the query logging configurations of a deleted zone.
pub(crate) fn forget_zone(txn: &mut Txn, zone_id: &str) {
    let ids: Vec<String> = txn
        .config
        .query_logging_configs
        .values()
        .filter(|c| c.hosted_zone_id == zone_id)
        .map(|c| c.id.clone())
        .collect();
    for id in ids {
        txn.config.query_logging_configs.remove(&id);
        txn.touch(Kind::QueryLoggingConfig, &id);
    }
}

#[derive(Deserialize)]
pub struct ListInput {
    hostedzoneid: Option<String>,
    nexttoken: Option<String>,
    maxresults: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOutput {
    query_logging_configs: Vec<ConfigOut>,
    next_token: Option<String>,
}

pub fn list(txn: &mut Txn, input: ListInput) -> Result<ListOutput, AwsError> {
    let max = match input.maxresults.as_deref() {
        None => 100,
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n.min(100),
            _ => return Err(invalid(format!("Invalid value for MaxResults: {s}"))),
        },
    };
    let zone_id = match &input.hostedzoneid {
        Some(id) => Some(zone(txn, bare_zone_id(id))?.id.clone()),
        None => None,
    };
    let mut configs: Vec<Arc<QueryLoggingConfig>> = txn
        .config
        .query_logging_configs
        .values()
        .filter(|c| zone_id.as_deref().is_none_or(|z| c.hosted_zone_id == z))
        .cloned()
        .collect();
    configs.sort_by_key(|c| c.seq);
    let (page, next) = fulmar_aws::paging::page(&configs, input.nexttoken.as_deref(), Some(max as u32), 100)
        .map_err(|_| {
            AwsError::new(
                "InvalidPaginationToken",
                400,
                "Route 53 can't get the next page of query logging configurations because the specified value for NextToken is invalid.",
            )
        })?;
    Ok(ListOutput {
        query_logging_configs: page.iter().map(|c| config_out(c)).collect(),
        next_token: next,
    })
}
