//! The protocol flavours Fulmar speaks.

/// Which AWS wire protocol a service speaks; it decides how requests are parsed,
/// how response documents are shaped and which codes authentication errors carry.
///
/// Only the two Query-family protocols exist today. `RestXml` (Route 53) and
/// `Json` (ACM) are expected to join as further variants; code matching on this
/// enum should not assume the list is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// The `query` protocol (elbv2, IAM, STS): lists as `Name.member.N`, responses
    /// wrapped in `<{Action}Result>`, errors in `<ErrorResponse>`.
    Query,
    /// The `ec2` protocol: lists as `Name.N`, responses carry `<requestId>` and no
    /// result wrapper, lists of `<item>`, errors in `<Response><Errors>`.
    Ec2,
}
