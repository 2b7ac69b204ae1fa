//! The data plane's own HTTP/1.1 code, for the common exchanges where hyper's general
//! machinery costs more than the exchange itself.
//!
//! - [`upstream`]: the client towards `HTTP1` targets for requests without a body.

pub(crate) mod upstream;
