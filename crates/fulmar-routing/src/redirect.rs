//! Redirect actions: the `Location` an ALB sends, built from the request and the
//! action's `#{protocol}`, `#{host}`, `#{port}`, `#{path}`, `#{query}` placeholders.

use fulmar_model::RedirectConfig;

/// The parts of the original request a redirect may reuse.
pub struct OriginalRequest<'a> {
    /// `http` or `https` (lowercase, as on the listener).
    pub protocol: &'a str,
    /// Host without port.
    pub host: &'a str,
    /// The listener port.
    pub port: u16,
    /// The path, with its leading `/`.
    pub path: &'a str,
    /// The query without `?`; empty when none.
    pub query: &'a str,
}

/// The status code (301 or 302) and the `Location` header value, built as AWS builds it.
pub fn location(config: &RedirectConfig, req: &OriginalRequest<'_>) -> (u16, String) {
    todo!()
}
