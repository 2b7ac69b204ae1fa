//! Fulmar's Application Load Balancer data plane: real sockets, a real HTTP proxy and a
//! real health checker, driven by the configuration the control plane commits.
//!
//! [`DataPlane::start`] follows a `watch` channel of [`fulmar_model::Config`]
//! snapshots. Each snapshot is compiled ([`snapshot`]) into per-listener rule tables and
//! per-target-group views, swapped atomically so every request reads one consistent
//! view without taking a lock; listener sockets are reconciled ([`listeners`]) and the
//! health checker ([`health`]) is told which targets to probe. A load balancer's
//! security groups gate its listeners (`secgroups`, `nftables`): blocked clients get
//! no answer at all. A request travels
//! through the phases of [`phases::ProxyPhases`], implemented for the ALB in [`alb`].
//!
//! Pure decisions (rule matching, redirects, round robin, health transitions, cookie
//! sealing) live in `fulmar-routing`; this crate is the I/O around them.
//!
//! Every request is counted in the ALB's CloudWatch metrics ([`metrics`], rendered by
//! [`DataPlane::metrics`]) and, when its load balancer's `access_logs.s3.enabled`
//! is on, written to an access log in ALB's format ([`accesslog`]); both are fed by
//! `observe`, off the request's critical path.

/// `AsyncWrite` for a wrapper that only watches or rewinds the read side of the stream
/// in its `inner` field: every write call goes straight to it.
macro_rules! delegate_async_write {
    ($wrapper:ident) => {
        impl<W: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for $wrapper<W> {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
            }
        }
    };
}

pub mod accesslog;
mod alb;
mod control;
mod desync;
mod error;
mod h1;
mod headers;
pub mod health;
mod listeners;
pub mod metrics;
mod nftables;
mod observe;
mod parking;
mod phases;
mod responses;
mod secgroups;
mod snapshot;
mod stickiness;
mod target_tls;
mod tls;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

pub use error::Error;
pub use health::HealthBoard;
pub use secgroups::Enforcement;

use control::Control;
use observe::Observers;

/// A map on the request path keyed by configuration (ARNs, target addresses), never
/// by client input: hashed with the Fx hash (`rustc-hash`), a few instructions per word
/// where SipHash spends hundreds on an ARN; it has no flooding resistance, which keys
/// an attacker cannot choose don't need.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// How long [`DataPlane::shutdown`] lets open connections finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Settings the binary supplies when it starts the data plane.
#[derive(Clone)]
pub struct Options {
    /// The HMAC key sealing AWSALB / AWSALBCORS stickiness cookies; persisted by the
    /// binary so cookies stay valid across restarts.
    pub cookie_key: [u8; 32],
    /// The data directory; access logs go under `<data_dir>/access-logs/`. `None`:
    /// no access logs are written.
    pub data_dir: Option<PathBuf>,
    /// The account in access-log paths and names (the load balancer ARN's when empty).
    pub account_id: String,
    /// How long one access-log file covers: 5 minutes, as on AWS (shorter in tests).
    pub access_log_interval: Duration,
}

impl Options {
    /// Options with `cookie_key`, no access logs, AWS's 5-minute log interval.
    pub fn new(cookie_key: [u8; 32]) -> Options {
        Options {
            cookie_key,
            data_dir: None,
            account_id: String::new(),
            access_log_interval: accesslog::DEFAULT_INTERVAL,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("cookie_key", &"<redacted>")
            .field("data_dir", &self.data_dir)
            .field("account_id", &self.account_id)
            .field("access_log_interval", &self.access_log_interval)
            .finish()
    }
}

/// The running ALB data plane: every listener of every application load balancer in
/// the latest configuration snapshot, and the health checker of their target groups.
pub struct DataPlane {
    board: Arc<HealthBoard>,
    observers: Arc<Observers>,
    control: Arc<Mutex<Control>>,
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl DataPlane {
    /// Start serving: follows configuration snapshots from `config` (published by the
    /// control plane after each durable commit). The current snapshot is applied before
    /// this returns, so its listeners are bound (or their bind failure logged) by then;
    /// later snapshots are applied by a task spawned on the current tokio runtime.
    ///
    /// Security groups are enforced as [`Enforcement::Auto`] chooses.
    pub fn start(config: watch::Receiver<Arc<fulmar_model::Config>>, options: Options) -> Arc<DataPlane> {
        DataPlane::start_with(config, options, Enforcement::Auto)
    }

    /// [`DataPlane::start`], enforcing security groups as `enforcement` says.
    pub fn start_with(
        mut config: watch::Receiver<Arc<fulmar_model::Config>>,
        options: Options,
        enforcement: Enforcement,
    ) -> Arc<DataPlane> {
        let board = Arc::new(HealthBoard::default());
        let observers = Arc::new(Observers::new(&options));
        let control = Arc::new(Mutex::new(Control::new(
            &options,
            observers.clone(),
            board.clone(),
            &enforcement,
        )));
        let first = config.borrow_and_update().clone();
        lock(&control).apply(&first);
        let follower = tokio::spawn({
            let control = control.clone();
            async move {
                while config.changed().await.is_ok() {
                    // The API wakes the followers only after its answer is handed over;
                    // the yield lets other writers' (tests', reset's) callers go first.
                    tokio::task::yield_now().await;
                    let snapshot = config.borrow_and_update().clone();
                    let mut control = lock(&control);
                    if control.is_shut_down() {
                        return;
                    }
                    control.apply(&snapshot);
                }
                tracing::debug!("configuration channel closed; data plane keeps its last snapshot");
            }
        });
        Arc::new(DataPlane {
            board,
            observers,
            control,
            follower: Mutex::new(Some(follower)),
        })
    }

    /// Target health as DescribeTargetHealth reports it.
    pub fn health(&self) -> Arc<HealthBoard> {
        self.board.clone()
    }

    /// The ALB's CloudWatch metrics of every load balancer, in the Prometheus text
    /// format (what `GET /metrics` on the API port answers).
    pub fn metrics(&self) -> String {
        self.observers.metrics.render(&self.board)
    }

    /// Stop accepting on every listener, stop health checks, remove the packet filter,
    /// and let requests in flight finish for a few seconds before returning.
    pub async fn shutdown(&self) {
        if let Some(follower) = lock(&self.follower).take() {
            follower.abort();
        }
        let drained = lock(&self.control).shut_down();
        if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
            tracing::warn!("connections still open after the shutdown grace period; closing them");
        }
        self.observers.flush().await;
    }
}

/// Give the memory freed since start back to the operating system (glibc keeps freed
/// chunks in its arenas; `malloc_trim` returns whole free pages, wherever they are):
/// after start-up, and once idle connections have been parked.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Lock a mutex, recovering the data if a panicking holder poisoned it: the guarded
/// state (health boards, connection pools) stays valid between any two of its updates,
/// so a poisoned value is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
