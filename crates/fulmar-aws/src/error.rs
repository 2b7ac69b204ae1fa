//! AWS-shaped errors: what reaches an API client.

use std::fmt;

/// An error as an AWS client sees it: a code, a message and the HTTP status.
///
/// `sender_fault` decides the `<Type>` of a Query-protocol error document
/// (`Sender` for client mistakes, `Receiver` for server faults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The error code clients match on, e.g. `ValidationError`, `LoadBalancerNotFound`.
    pub code: String,
    /// The human-readable message.
    pub message: String,
    /// The HTTP status of the response.
    pub status: u16,
    /// Whether the caller is at fault (`Sender`) rather than the service (`Receiver`).
    pub sender_fault: bool,
}

impl AwsError {
    /// An error with the given code, status and message; the sender is at fault
    /// when the status is below 500.
    pub fn new(code: impl Into<String>, status: u16, message: impl Into<String>) -> Self {
        AwsError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault: status < 500,
        }
    }

    /// elbv2's `ValidationError` (400): the input failed a constraint.
    pub fn validation(message: impl Into<String>) -> Self {
        AwsError::new("ValidationError", 400, message)
    }

    /// `InternalFailure` (500): the service failed in a way the caller cannot fix.
    pub fn internal(message: impl Into<String>) -> Self {
        AwsError::new("InternalFailure", 500, message)
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_follows_status() {
        let e = AwsError::new("Throttling", 400, "slow down");
        assert!(e.sender_fault);
        assert!(!AwsError::internal("boom").sender_fault);
        let v = AwsError::validation("bad");
        assert_eq!((v.code.as_str(), v.status), ("ValidationError", 400));
        assert_eq!(v.to_string(), "ValidationError (400): bad");
    }
}
