//! The data plane's own HTTP/1.1 code, for the common exchanges where hyper's general
//! machinery costs more than the exchange itself.
//!
//! - [`server`]: the client connections' loop, for simple requests without a body;
//!   everything else is handed to hyper with the bytes already read.
//! - [`upstream`]: the client towards `HTTP1` targets for requests without a body.

pub(crate) mod server;
pub(crate) mod upstream;

/// Whether a comma-separated header value (`Connection`, ...) holds `token`, in any case.
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}
