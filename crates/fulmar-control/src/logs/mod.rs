//! CloudWatch Logs (version 2014-03-28), as the awsJson1.1 protocol carries it: the
//! operation named by `X-Amz-Target: Logs_20140328.<Operation>`, a JSON body in and
//! out, errors as `{"__type": ..., "message": ...}`.
//!
//! Only log groups are kept, enough to be the destination of Route 53 query logging:
//! create, delete, describe (by prefix or pattern, paged), retention and tags. Log
//! groups are regional; the key is the ARN.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use fulmar_aws::AwsError;
use fulmar_model::logs::LogGroup;
use fulmar_model::Kind;

use crate::{awsjson, ids, Txn};

/// The `X-Amz-Target` prefix of every CloudWatch Logs operation.
pub(crate) const TARGET_PREFIX: &str = "Logs_20140328.";

/// Run one operation: its JSON output.
pub(crate) fn dispatch(txn: &mut Txn, operation: &str, body: &[u8]) -> Result<String, AwsError> {
    macro_rules! op {
        ($f:path) => {{
            let output = $f(txn, awsjson::input(body)?)?;
            Ok(awsjson::output(&output))
        }};
    }
    match operation {
        "CreateLogGroup" => op!(create),
        "DeleteLogGroup" => op!(delete),
        "DescribeLogGroups" => op!(describe),
        "PutRetentionPolicy" => op!(put_retention),
        "DeleteRetentionPolicy" => op!(delete_retention),
        "ListTagsLogGroup" => op!(list_tags_log_group),
        "TagLogGroup" => op!(tag_log_group),
        "UntagLogGroup" => op!(untag_log_group),
        "ListTagsForResource" => op!(list_tags_for_resource),
        "TagResource" => op!(tag_resource),
        "UntagResource" => op!(untag_resource),
        other => Err(awsjson::unknown_operation(other)),
    }
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", 400, message)
}

fn not_found() -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        400,
        "The specified log group does not exist.",
    )
}

fn constraint(value: impl std::fmt::Display, member: &str, rule: &str) -> AwsError {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
    ))
}

/// A log group name: 1–512 of `[.-_/#A-Za-z0-9]`.
fn check_name(name: &str, member: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 512 {
        return Err(constraint(
            name,
            member,
            "Member must have length less than or equal to 512 and greater than or equal to 1",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'))
    {
        return Err(constraint(
            name,
            member,
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
        ));
    }
    Ok(())
}

fn arn_of(txn: &Txn, name: &str) -> String {
    format!("{}log-group:{name}", txn.arn_prefix("logs"))
}

fn group(txn: &Txn, name: &str) -> Result<Arc<LogGroup>, AwsError> {
    txn.config
        .log_groups
        .get(&arn_of(txn, name))
        .cloned()
        .ok_or_else(not_found)
}

fn save(txn: &mut Txn, g: LogGroup) {
    let key = g.arn.clone();
    txn.config.log_groups.insert(key.clone(), Arc::new(g));
    txn.touch(Kind::LogGroup, &key);
}

/// Tags as CloudWatch Logs limits them: at most 50, keys 1–128 and values up to 256 characters.
fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(invalid("A log group can have at most 50 tags."));
    }
    for (k, v) in tags {
        if k.is_empty() || k.len() > 128 || k.starts_with("aws:") {
            return Err(invalid(format!("Invalid tag key: {k}")));
        }
        if v.len() > 256 {
            return Err(invalid(format!("Invalid tag value for key {k}")));
        }
    }
    Ok(())
}

#[derive(Serialize)]
pub struct Empty {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInput {
    log_group_name: Option<String>,
    kms_key_id: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    log_group_class: Option<String>,
}

fn required<T>(v: Option<T>, member: &str) -> Result<T, AwsError> {
    v.ok_or_else(|| {
        invalid(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<Empty, AwsError> {
    let name = required(input.log_group_name, "logGroupName")?;
    check_name(&name, "logGroupName")?;
    let class = input.log_group_class.unwrap_or_else(|| "STANDARD".to_string());
    if !matches!(class.as_str(), "STANDARD" | "INFREQUENT_ACCESS" | "DELIVERY") {
        return Err(constraint(
            &class,
            "logGroupClass",
            "Member must satisfy enum value set: [DELIVERY, INFREQUENT_ACCESS, STANDARD]",
        ));
    }
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let arn = arn_of(txn, &name);
    if txn.config.log_groups.contains_key(&arn) {
        return Err(AwsError::new(
            "ResourceAlreadyExistsException",
            400,
            "The specified log group already exists",
        ));
    }
    let g = LogGroup {
        arn,
        name,
        region: txn.region.clone(),
        created_ms: ids::now_ms(),
        retention_in_days: None,
        kms_key_id: input.kms_key_id,
        log_group_class: class,
        tags,
    };
    save(txn, g);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NameInput {
    log_group_name: Option<String>,
}

pub fn delete(txn: &mut Txn, input: NameInput) -> Result<Empty, AwsError> {
    let name = required(input.log_group_name, "logGroupName")?;
    let g = group(txn, &name)?;
    txn.config.log_groups.remove(&g.arn);
    txn.touch(Kind::LogGroup, &g.arn);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeInput {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    log_group_class: Option<String>,
    #[allow(dead_code)]
    include_linked_accounts: Option<bool>,
    #[allow(dead_code)]
    account_identifiers: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupOut {
    log_group_name: String,
    creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention_in_days: Option<u32>,
    metric_filter_count: u32,
    arn: String,
    stored_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    kms_key_id: Option<String>,
    log_group_class: String,
    log_group_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeOutput {
    log_groups: Vec<LogGroupOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn group_out(g: &LogGroup) -> LogGroupOut {
    LogGroupOut {
        log_group_name: g.name.clone(),
        creation_time: g.created_ms,
        retention_in_days: g.retention_in_days,
        metric_filter_count: 0,
        arn: format!("{}:*", g.arn),
        stored_bytes: 0,
        kms_key_id: g.kms_key_id.clone(),
        log_group_class: g.log_group_class.clone(),
        log_group_arn: g.arn.clone(),
    }
}

/// The next token of a page that ends with the log group `name`.
fn token_after(name: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("lg:{name}"))
}

fn name_from_token(token: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("lg:").map(str::to_string)
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOutput, AwsError> {
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(invalid(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    if let Some(p) = &input.log_group_name_prefix {
        check_name(p, "logGroupNamePrefix")?;
    }
    let limit = match input.limit {
        None => 50,
        Some(n) if (1..=50).contains(&n) => n as usize,
        Some(n) if n < 1 => {
            return Err(constraint(
                n,
                "limit",
                "Member must have value greater than or equal to 1",
            ));
        }
        Some(n) => {
            return Err(constraint(
                n,
                "limit",
                "Member must have value less than or equal to 50",
            ));
        }
    };
    let after = match &input.next_token {
        None => None,
        Some(t) => Some(name_from_token(t).ok_or_else(|| invalid("The specified nextToken is invalid."))?),
    };
    let prefix = txn.arn_prefix("logs");
    let pattern = input.log_group_name_pattern.as_deref().map(str::to_lowercase);
    let mut matching = txn
        .config
        .log_groups
        .values()
        .filter(|g| g.arn.starts_with(&prefix))
        .filter(|g| {
            input
                .log_group_name_prefix
                .as_deref()
                .is_none_or(|p| g.name.starts_with(p))
        })
        .filter(|g| pattern.as_deref().is_none_or(|p| g.name.to_lowercase().contains(p)))
        .filter(|g| input.log_group_class.as_deref().is_none_or(|c| g.log_group_class == c))
        .filter(|g| after.as_deref().is_none_or(|a| g.name.as_str() > a))
        .cloned()
        .collect::<Vec<_>>();
    matching.sort_by(|a, b| a.name.cmp(&b.name));
    let next_token = (matching.len() > limit).then(|| token_after(&matching[limit - 1].name));
    matching.truncate(limit);
    Ok(DescribeOutput {
        log_groups: matching.iter().map(|g| group_out(g)).collect(),
        next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionInput {
    log_group_name: Option<String>,
    retention_in_days: Option<i64>,
}

/// The retention periods CloudWatch Logs accepts, in days.
const RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

pub fn put_retention(txn: &mut Txn, input: RetentionInput) -> Result<Empty, AwsError> {
    let name = required(input.log_group_name, "logGroupName")?;
    let days = required(input.retention_in_days, "retentionInDays")?;
    if !RETENTION_DAYS.contains(&days) {
        return Err(constraint(
            days,
            "retentionInDays",
            "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
        ));
    }
    let mut g = (*group(txn, &name)?).clone();
    g.retention_in_days = Some(days as u32);
    save(txn, g);
    Ok(Empty {})
}

pub fn delete_retention(txn: &mut Txn, input: NameInput) -> Result<Empty, AwsError> {
    let name = required(input.log_group_name, "logGroupName")?;
    let mut g = (*group(txn, &name)?).clone();
    g.retention_in_days = None;
    save(txn, g);
    Ok(Empty {})
}

#[derive(Serialize)]
pub struct TagsOutput {
    tags: BTreeMap<String, String>,
}

pub fn list_tags_log_group(txn: &mut Txn, input: NameInput) -> Result<TagsOutput, AwsError> {
    let name = required(input.log_group_name, "logGroupName")?;
    Ok(TagsOutput {
        tags: group(txn, &name)?.tags.clone(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagLogGroupInput {
    log_group_name: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

pub fn tag_log_group(txn: &mut Txn, input: TagLogGroupInput) -> Result<Empty, AwsError> {
    let name = required(input.log_group_name, "logGroupName")?;
    let tags = required(input.tags, "tags")?;
    let g = group(txn, &name)?;
    add_tags(txn, &g, tags)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagLogGroupInput {
    log_group_name: Option<String>,
    tags: Option<Vec<String>>,
}

pub fn untag_log_group(txn: &mut Txn, input: UntagLogGroupInput) -> Result<Empty, AwsError> {
    let name = required(input.log_group_name, "logGroupName")?;
    let keys = required(input.tags, "tags")?;
    let g = group(txn, &name)?;
    remove_tags(txn, &g, &keys)
}

fn add_tags(txn: &mut Txn, g: &LogGroup, tags: BTreeMap<String, String>) -> Result<Empty, AwsError> {
    let mut g = g.clone();
    g.tags.extend(tags);
    check_tags(&g.tags)?;
    save(txn, g);
    Ok(Empty {})
}

fn remove_tags(txn: &mut Txn, g: &LogGroup, keys: &[String]) -> Result<Empty, AwsError> {
    let mut g = g.clone();
    for k in keys {
        g.tags.remove(k);
    }
    save(txn, g);
    Ok(Empty {})
}

/// The log group a resource ARN names (with or without the trailing `:*`).
fn group_by_arn(txn: &Txn, arn: &str) -> Result<Arc<LogGroup>, AwsError> {
    let arn = arn.strip_suffix(":*").unwrap_or(arn);
    if !arn.starts_with("arn:") || !arn.contains(":log-group:") {
        return Err(invalid(format!("Invalid resource ARN: {arn}")));
    }
    txn.config.log_groups.get(arn).cloned().ok_or_else(not_found)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInput {
    resource_arn: Option<String>,
}

pub fn list_tags_for_resource(txn: &mut Txn, input: ResourceInput) -> Result<TagsOutput, AwsError> {
    let arn = required(input.resource_arn, "resourceArn")?;
    Ok(TagsOutput {
        tags: group_by_arn(txn, &arn)?.tags.clone(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceInput {
    resource_arn: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

pub fn tag_resource(txn: &mut Txn, input: TagResourceInput) -> Result<Empty, AwsError> {
    let arn = required(input.resource_arn, "resourceArn")?;
    let tags = required(input.tags, "tags")?;
    let g = group_by_arn(txn, &arn)?;
    add_tags(txn, &g, tags)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceInput {
    resource_arn: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub fn untag_resource(txn: &mut Txn, input: UntagResourceInput) -> Result<Empty, AwsError> {
    let arn = required(input.resource_arn, "resourceArn")?;
    let keys = required(input.tag_keys, "tagKeys")?;
    let g = group_by_arn(txn, &arn)?;
    remove_tags(txn, &g, &keys)
}
