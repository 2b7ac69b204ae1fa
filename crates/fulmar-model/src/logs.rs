//! CloudWatch Logs resources: log groups (the destinations of Route 53 query logs),
//! shaped like the CloudWatch Logs API's own types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One log group. Log groups are regional: the key is the ARN, which names the region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroup {
    /// `arn:aws:logs:<region>:<account>:log-group:<name>` (the key; DescribeLogGroups
    /// reports `arn` with `:*` appended and `logGroupArn` without).
    pub arn: String,
    pub name: String,
    pub region: String,
    pub created_ms: i64,
    /// Days to keep events; `None` keeps them forever.
    pub retention_in_days: Option<u32>,
    pub kms_key_id: Option<String>,
    /// `STANDARD` or `INFREQUENT_ACCESS`.
    pub log_group_class: String,
    pub tags: BTreeMap<String, String>,
}
