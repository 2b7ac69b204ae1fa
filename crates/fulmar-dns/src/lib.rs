//! Fulmar's authoritative DNS server: the data plane of Route 53.
//!
//! Every [`fulmar_model::Config`] snapshot the control plane publishes is compiled into
//! a [`ZoneIndex`] ([`index`]): hosted zones by name, record sets by owner name and
//! type with their values already parsed, the load balancers' DNS names. Answering a
//! query is a pure function over that index ([`answer::answer`]): find the most
//! specific zone the client may see, walk down to the name (referrals at delegations,
//! wildcards, CNAME chains, aliases), and choose among the record sets of a name and
//! type as Route 53 does ([`policy`]), asking a [`HealthOracle`] about health checks
//! and load balancers. [`wire`] turns request bytes into response bytes (EDNS(0),
//! client subnet, truncation, FORMERR/NOTIMP) with hickory-proto's codec, and
//! [`DnsServer`] serves it on UDP and TCP, swapping the index atomically when a new
//! snapshot arrives.

pub mod answer;
mod error;
pub mod index;
pub mod locate;
pub mod policy;
mod server;
mod test_answer;
pub mod wire;

pub use answer::{answer, Client, Response};
pub use error::Error;
pub use index::ZoneIndex;
pub use locate::{ClientLocation, ClientLocator, StaticLocator};
pub use server::DnsServer;
pub use test_answer::{test_answer, TestAnswer};

use std::sync::Arc;

/// Health as Route 53 sees it, supplied by the Route 53 health checker (health checks)
/// and the ALB data plane (load balancers). Asked while answering, so it must be cheap:
/// a map lookup, never a probe.
pub trait HealthOracle: Send + Sync {
    /// Whether the health check with this id is healthy now. Unknown ids should answer
    /// `true` (Route 53 treats a record whose check it cannot find as healthy).
    fn health_check(&self, id: &str) -> bool;
    /// Whether the load balancer with this DNS name (as in `LoadBalancer::dns_name`) is
    /// healthy for EvaluateTargetHealth: every target group with targets has at least
    /// one healthy target.
    fn load_balancer(&self, dns_name: &str) -> bool;
}

/// An oracle for which everything is healthy: for tests and for running without a
/// health checker.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllHealthy;

impl HealthOracle for AllHealthy {
    fn health_check(&self, _id: &str) -> bool {
        true
    }
    fn load_balancer(&self, _dns_name: &str) -> bool {
        true
    }
}

/// Settings the binary supplies when it starts the server.
#[derive(Clone)]
pub struct Options {
    /// Where clients are: region (latency), geolocation, and VPC (private zones).
    pub locator: Arc<dyn ClientLocator>,
    /// The region of a client the locator cannot place (latency routing).
    pub default_region: String,
    /// The largest UDP response sent, whatever size a client advertises (also the size
    /// this server advertises in its own OPT record).
    pub max_udp_payload: u16,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            locator: Arc::new(StaticLocator::default()),
            default_region: default_region(),
            max_udp_payload: default_max_udp_payload(),
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("default_region", &self.default_region)
            .field("max_udp_payload", &self.max_udp_payload)
            .finish_non_exhaustive()
    }
}

/// `us-east-1`, where an unplaced client is assumed to be.
pub fn default_region() -> String {
    "us-east-1".to_string()
}

/// 4096 bytes: the largest UDP answer, and the payload size this server advertises.
pub fn default_max_udp_payload() -> u16 {
    4096
}
