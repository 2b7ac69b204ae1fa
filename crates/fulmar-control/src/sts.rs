//! AWS STS (version 2011-06-15), Query protocol: GetCallerIdentity. Fulmar has a single
//! identity, the account's root user: every call signed with the node's credentials is
//! that identity, so the account is `--account-id`, the ARN `arn:aws:iam::<account>:root`
//! and the user id the account id (as AWS reports for root credentials).

use serde::Serialize;

use fulmar_aws::query::QueryRequest;
use fulmar_aws::{AwsError, Flavour};

use crate::{Service, Txn};

pub fn dispatch(txn: &mut Txn, req: &QueryRequest, request_id: &str) -> Result<String, AwsError> {
    match req.action.as_str() {
        "GetCallerIdentity" => {
            let account = txn.account().to_string();
            let out = CallerIdentity {
                arn: format!("arn:aws:iam::{account}:root"),
                user_id: account.clone(),
                account,
            };
            Ok(fulmar_aws::xml::response(
                Flavour::Query,
                &req.action,
                Service::Sts.namespace(),
                request_id,
                &out,
            ))
        }
        _ => Err(req.unknown_action(Flavour::Query)),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CallerIdentity {
    user_id: String,
    account: String,
    arn: String,
}
