//! The awsJson1.1 protocol as SSM and ACM speak it: the operation named by
//! `X-Amz-Target: <prefix>.<Operation>`, a JSON body in and out, errors as
//! `{"__type": ..., "message": ...}`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use fulmar_aws::AwsError;

/// The JSON body of an error.
pub(crate) fn error_body(err: &AwsError) -> String {
    serde_json::json!({ "__type": err.code, "message": err.message }).to_string()
}

/// Decode an operation's input (an empty body is `{}`).
pub(crate) fn input<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        AwsError::new(
            "SerializationException",
            400,
            format!("Could not parse the request: {e}"),
        )
    })
}

/// Render an operation's output.
pub(crate) fn output<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("outputs always serialise")
}

/// An operation the service has but Fulmar does not serve.
pub(crate) fn unknown_operation(operation: &str) -> AwsError {
    AwsError::new(
        "UnknownOperationException",
        400,
        format!("The operation {operation} is not supported by Fulmar"),
    )
}

/// AWS's "1 validation error detected" message for one member.
pub(crate) fn validation(value: impl std::fmt::Display, member: &str, rule: &str) -> String {
    format!("1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}")
}

/// Epoch seconds, as awsJson timestamps travel.
pub(crate) fn epoch(ms: i64) -> f64 {
    ms as f64 / 1000.0
}
