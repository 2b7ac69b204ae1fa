//! Security groups on the load balancer's path: a load balancer's groups gate its
//! listeners (G6). A client no inbound rule allows gets no answer at all — no refusal,
//! no HTTP error — and its connection sees nothing until it gives up.
//!
//! Two layers, both fed by `fulmar-secgroup` from the same compiled snapshot:
//! - Packet level ([`crate::nftables`]), when Fulmar runs as root with `nft`: the
//!   kernel drops the blocked client's packets, so its SYN is never answered — exactly
//!   what AWS's security groups do.
//! - In process (always on, the fallback when packets cannot be filtered): every
//!   accepted connection is decided; a blocked one is held open, never read or
//!   written, until [`HOLD_CAP`] passes or the listener stops. Its TCP handshake did
//!   complete (the kernel does that before `accept`), but no byte ever comes back.
//!
//! The decision covers only the load balancer's own inbound rules: the client is
//! outside Fulmar's endpoints (or its outbound rules are its own host's business).
//! Decisions read the snapshot current at accept time, so rule changes apply to the
//! next connection; connections admitted earlier keep working, as tracked connections
//! do on AWS. A load balancer without groups is not filtered.
//!
//! Load balancer → target: targets on loopback belong to no VPC and carry no group, so
//! no group applies on their side; the instance model will add their interfaces to
//! the engine's world, and the same decision will then apply to that hop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fulmar_secgroup::{decide, Ends, Flow, Traffic, World};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// How long a blocked connection is held silent before it is closed.
pub(crate) const HOLD_CAP: Duration = Duration::from_secs(300);
/// At most this many blocked connections are held at once; beyond it new blocked
/// connections are closed at once (a flood must not exhaust file descriptors).
const MAX_HELD: usize = 4096;

/// How security groups are enforced on listeners.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Enforcement {
    /// Packet level through nftables when `nft` works here (root, or CAP_NET_ADMIN),
    /// in a table of this process's own (`fulmar_<pid>_<n>`); otherwise in process,
    /// with one warning.
    #[default]
    Auto,
    /// In process only: blocked connections are accepted and held silent.
    InProcess,
    /// Packet level in the nftables table `inet <table>` (replaced whole on every
    /// snapshot, deleted on shutdown); falls back to in process if `nft` fails.
    Nftables { table: String },
}

/// Whether the listener at `local` lets `client` in, by its load balancer's inbound
/// rules for TCP to the listener's port.
pub(crate) fn admits(world: &World, client: SocketAddr, local: SocketAddr) -> bool {
    let flow = Flow::new(client.ip(), local.ip(), Traffic::Tcp(local.port())).at(Ends::Destination);
    decide(&flow, world).allowed()
}

/// Blocked connections currently held.
#[derive(Default)]
pub(crate) struct Held(Arc<AtomicUsize>);

impl Held {
    /// Hold `stream` without reading or writing it until [`HOLD_CAP`] passes or
    /// `stop` fires, then close it.
    pub fn hold(&self, stream: TcpStream, client: SocketAddr, mut stop: watch::Receiver<bool>) {
        let count = self.0.clone();
        if count.fetch_add(1, Ordering::Relaxed) >= MAX_HELD {
            count.fetch_sub(1, Ordering::Relaxed);
            tracing::debug!(%client, "too many blocked connections held; closing this one");
            return;
        }
        tokio::spawn(async move {
            let _silent = stream;
            tokio::select! {
                _ = tokio::time::sleep(HOLD_CAP) => {}
                _ = crate::listeners::stopped(&mut stop) => {}
            }
            count.fetch_sub(1, Ordering::Relaxed);
        });
    }
}
