//! The data plane's error type. Nothing here reaches an API client: the data plane
//! logs its failures and answers HTTP clients the way an ALB does.

use std::net::SocketAddr;

/// What can go wrong while the data plane applies a configuration snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A listener's socket could not be bound (EACCES below port 1024 when
    /// unprivileged, EADDRINUSE, EADDRNOTAVAIL); retried on the next snapshot.
    #[error("cannot bind listener {listener} on {address}: {source}")]
    Bind {
        listener: String,
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
