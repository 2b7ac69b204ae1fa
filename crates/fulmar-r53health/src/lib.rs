//! Fulmar's Route 53 health checker: health checks that really probe.
//!
//! [`HealthChecker::start`] follows the `watch` channel of [`fulmar_model::Config`]
//! snapshots the control plane publishes after each commit, and runs a checker task
//! for every enabled endpoint check in `Config.health_checks` (HTTP, HTTPS,
//! HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP). Each task probes the endpoint once per
//! `RequestInterval` from every checker region in parallel — three simulated regions
//! by default, or the check's `Regions` — with Route 53's time limits (the `probe`
//! module); every region applies `FailureThreshold` on its own and the check is
//! healthy when more than 18% of the regions see it healthy ([`decide`]). CALCULATED
//! checks are evaluated from their children whenever asked.
//!
//! The results live on the [`HealthBoard`]: [`HealthBoard::is_healthy`] for DNS
//! answers, [`HealthBoard::observations`] for GetHealthCheckStatus and
//! [`HealthBoard::last_failure`] for GetHealthCheckLastFailureReason, with Route 53's
//! status texts ([`status`]).
//!
//! Unlike Route 53, checks may target loopback and private addresses: that is where a
//! local user's endpoints live.

mod board;
mod checker;
pub mod decide;
pub mod endpoint;
mod probe;
pub mod status;
mod tls;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use board::{HealthBoard, Observation};
pub use checker::{regions_of, DEFAULT_REGIONS};

use checker::Checkers;

/// Settings the binary (or a test) supplies when it starts the checker.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// **Test-only.** Probe every health check at this interval instead of its
    /// `RequestInterval` (10 or 30 s), so tests see transitions within a second. The
    /// binary leaves it `None`.
    pub interval_override: Option<Duration>,
}

/// The running Route 53 health checker; dropping it stops every probe.
pub struct HealthChecker {
    board: Arc<HealthBoard>,
    checkers: Arc<Mutex<Checkers>>,
    follower: JoinHandle<()>,
}

impl HealthChecker {
    /// Start checking: the current snapshot is applied before this returns (its checks'
    /// first probes start at once); later snapshots by a task spawned on the current
    /// tokio runtime. Must be called within a tokio runtime.
    pub fn start(mut config: watch::Receiver<Arc<fulmar_model::Config>>, options: Options) -> HealthChecker {
        let board = Arc::new(HealthBoard::default());
        let checkers = Arc::new(Mutex::new(Checkers::new(board.clone(), options)));
        let first = config.borrow_and_update().clone();
        lock(&checkers).apply(&first);
        let follower = tokio::spawn({
            let checkers = checkers.clone();
            async move {
                while config.changed().await.is_ok() {
                    // Let the API call that published this snapshot answer first.
                    tokio::task::yield_now().await;
                    let snapshot = config.borrow_and_update().clone();
                    lock(&checkers).apply(&snapshot);
                }
                tracing::debug!("configuration channel closed; health checks keep running");
            }
        });
        HealthChecker {
            board,
            checkers,
            follower,
        }
    }

    /// The health of every health check (shared; cheap to clone).
    pub fn board(&self) -> Arc<HealthBoard> {
        self.board.clone()
    }

    /// Apply a snapshot now, without waiting for the follower task (useful in tests).
    pub fn apply(&self, config: &fulmar_model::Config) {
        lock(&self.checkers).apply(config);
    }
}

impl Drop for HealthChecker {
    fn drop(&mut self) {
        self.follower.abort();
        // Dropping the tasks stops them; the follower no longer holds the lock.
        *lock(&self.checkers) = Checkers::new(self.board.clone(), Options::default());
    }
}

/// Lock a mutex, recovering the data if a panicking holder poisoned it: the guarded
/// state is rebuilt from the next snapshot or probe anyway.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
