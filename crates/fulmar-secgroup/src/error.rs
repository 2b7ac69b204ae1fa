//! The engine's error type: only parsing what a user typed can fail.

/// What can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not `tcp/22`, `udp/53`, `icmp/8/0`, `icmpv6/128/0`, `proto/47` or a protocol
    /// number in place of a name.
    #[error(
        "cannot read traffic {0:?}: expected tcp/PORT, udp/PORT, icmp/TYPE/CODE, icmpv6/TYPE/CODE or proto/NUMBER"
    )]
    Traffic(String),
}
