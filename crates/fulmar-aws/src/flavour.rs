//! The protocol flavours Fulmar speaks.

/// Which AWS wire protocol a service speaks; it decides how requests are parsed,
/// how response documents are shaped and which codes authentication errors carry.
///
/// The two Query-family protocols and `rest-xml` (Route 53) exist today; `Json`
/// (ACM) is expected to join as a further variant, so code matching on this enum
/// should not assume the list is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// The `query` protocol (elbv2, IAM, STS): lists as `Name.member.N`, responses
    /// wrapped in `<{Action}Result>`, errors in `<ErrorResponse>`.
    Query,
    /// The `ec2` protocol: lists as `Name.N`, responses carry `<requestId>` and no
    /// result wrapper, lists of `<item>`, errors in `<Response><Errors>`.
    Ec2,
    /// The `rest-xml` protocol (Route 53): the operation is chosen by method and
    /// path, inputs come from the path, the query string and an XML body; responses
    /// are `<{Operation}Response>` with the output's members directly inside and
    /// lists of elements named after the member type; errors in `<ErrorResponse>`.
    RestXml,
}
