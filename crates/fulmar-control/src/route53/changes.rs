//! Change records: every change to zones and record sets gets one, `PENDING`
//! for a moment after submission and `INSYNC` once the DNS server has it. The
//! data plane applies a committed change at once; the short PENDING window is
//! there because clients (and `aws route53 wait resource-record-sets-changed`)
//! expect to see it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::Change;
use fulmar_model::Kind;

use super::new_id;
use crate::{ids, Txn};

/// How long a change reports PENDING.
const PENDING_MS: i64 = 1_000;

/// ChangeInfo as every mutating operation returns it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChangeInfo {
    id: String,
    status: &'static str,
    submitted_at: String,
    comment: Option<String>,
}

impl ChangeInfo {
    fn of(change: &Change, now_ms: i64) -> ChangeInfo {
        let pending = now_ms - change.submitted_ms < PENDING_MS;
        ChangeInfo {
            id: format!("/change/{}", change.id),
            status: if pending { "PENDING" } else { "INSYNC" },
            submitted_at: ids::iso8601(change.submitted_ms),
            comment: change.comment.clone(),
        }
    }
}

/// Record a new change and return its ChangeInfo (PENDING).
pub(crate) fn record(txn: &mut Txn, comment: Option<String>) -> ChangeInfo {
    let change = Change {
        id: new_id('C'),
        submitted_ms: ids::now_ms(),
        comment,
    };
    txn.touch(Kind::Change, &change.id);
    let info = ChangeInfo::of(&change, change.submitted_ms);
    txn.config.changes.insert(change.id.clone(), Arc::new(change));
    info
}

#[derive(Deserialize)]
pub struct GetInput {
    #[serde(rename = "Id")]
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetOutput {
    change_info: ChangeInfo,
}

pub fn get(txn: &mut Txn, input: GetInput) -> Result<GetOutput, AwsError> {
    let id = input.id.trim_start_matches("/change/");
    let change = txn.config.changes.get(id).ok_or_else(|| {
        AwsError::new(
            "NoSuchChange",
            404,
            format!("A change with the specified change ID {id} does not exist."),
        )
    })?;
    Ok(GetOutput {
        change_info: ChangeInfo::of(change, ids::now_ms()),
    })
}
