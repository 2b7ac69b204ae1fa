//! The errors of this crate.

/// Why the DNS server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding the UDP or TCP socket failed.
    #[error("cannot bind the DNS server to {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Bind { source, addr } => {
                std::io::Error::new(source.kind(), format!("cannot bind the DNS server to {addr}: {source}"))
            }
        }
    }
}
