//! WebSockets: after the target answers an upgrade with `101 Switching Protocols`, the
//! client's connection and the target's are spliced together, bytes copied both ways
//! until either side closes or nothing moves for the load balancer's idle timeout
//! (`idle_timeout.timeout_seconds`, as on ALB).
//!
//! The access log records a WebSocket when its connection closes, as AWS does: a `ws`
//! entry whose `received_bytes` and `sent_bytes` cover the upgrade request and response
//! and every byte carried after them. [`Tunnel`] holds that record from the moment the
//! `101` is answered (the observers hand it over, see `observe::Exchange::finish`) until
//! the splice ends; the bytes also count in the load balancer's ProcessedBytes.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use crate::accesslog::{AccessLogs, Record};
use crate::metrics::LbMetrics;

/// One spliced WebSocket connection, from its `101` until it closes. Cloned into the
/// `101` response's extensions, where the observers leave its access-log record.
#[derive(Clone)]
pub(crate) struct Tunnel(Arc<TunnelState>);

struct TunnelState {
    /// The load balancer's counters (ProcessedBytes), when it is observed.
    lb: Option<Arc<LbMetrics>>,
    /// The access-log record waiting for the connection to close.
    log: Mutex<Option<Deferred>>,
}

struct Deferred {
    record: Box<Record>,
    /// The size of the `101` response head sent to the client.
    head: u64,
    sink: Arc<AccessLogs>,
}

impl Tunnel {
    /// Keep `record` until the connection closes; then it is completed and logged.
    pub fn defer(&self, record: Box<Record>, head: u64, sink: Arc<AccessLogs>) {
        *crate::lock(&self.0.log) = Some(Deferred { record, head, sink });
    }

    /// The connection closed after carrying `from_client` and `to_client` bytes.
    fn closed(&self, from_client: u64, to_client: u64) {
        if let Some(lb) = &self.0.lb {
            lb.processed_bytes.fetch_add(from_client + to_client, Relaxed);
        }
        let Some(Deferred { mut record, head, sink }) = crate::lock(&self.0.log).take() else {
            return;
        };
        if let Some(lb) = &self.0.lb {
            // The upgrade request and response, which a logged response counts when its
            // body ends (here there is none: the connection is what follows).
            lb.processed_bytes.fetch_add(record.received_bytes + head, Relaxed);
        }
        record.time = SystemTime::now();
        record.received_bytes += from_client;
        record.sent_bytes = head + to_client;
        sink.send(*record);
    }
}

/// Splice the client's upgraded connection to the target's once both are ready (the
/// client's is, once hyper has sent it the `101`); returns the [`Tunnel`] that reports
/// the connection's end.
pub(crate) fn splice(client: OnUpgrade, target: OnUpgrade, idle: Duration, lb: Option<Arc<LbMetrics>>) -> Tunnel {
    let tunnel = Tunnel(Arc::new(TunnelState {
        lb,
        log: Mutex::new(None),
    }));
    let done = tunnel.clone();
    tokio::spawn(async move {
        let (client, target) = tokio::join!(client, target);
        let (client, target) = match (client, target) {
            (Ok(c), Ok(t)) => (c, t),
            (c, t) => {
                tracing::debug!(client = ?c.err(), target = ?t.err(), "websocket upgrade did not complete");
                done.closed(0, 0);
                return;
            }
        };
        tracing::debug!("websocket spliced");
        let counters = Arc::new(Counters::default());
        let mut client = Counted {
            io: TokioIo::new(client),
            counters: counters.clone(),
            start: Instant::now(),
        };
        let mut target = TokioIo::new(target);
        let start = client.start;
        let copy = tokio::io::copy_bidirectional(&mut client, &mut target);
        tokio::pin!(copy);
        loop {
            let last = start + Duration::from_millis(counters.last_ms.load(Relaxed));
            tokio::select! {
                result = &mut copy => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "websocket connection ended with an error");
                    }
                    break;
                }
                _ = tokio::time::sleep_until(last + idle) => {
                    let last = start + Duration::from_millis(counters.last_ms.load(Relaxed));
                    if Instant::now() >= last + idle {
                        tracing::debug!(idle_s = idle.as_secs(), "websocket idle timeout: closing");
                        break;
                    }
                }
            }
        }
        let (from_client, to_client) = (counters.from_client.load(Relaxed), counters.to_client.load(Relaxed));
        tracing::debug!(from_client, to_client, "websocket closed");
        done.closed(from_client, to_client);
    });
    tunnel
}

/// Bytes each way on the client's side of a tunnel, and when it last moved.
#[derive(Default)]
struct Counters {
    from_client: AtomicU64,
    to_client: AtomicU64,
    /// Milliseconds from the splice's start to the last byte moved.
    last_ms: AtomicU64,
}

/// The client's side of a tunnel, counting what it carries.
struct Counted<T> {
    io: T,
    counters: Arc<Counters>,
    start: Instant,
}

impl<T> Counted<T> {
    fn moved(&self, counter: &AtomicU64, n: usize) {
        if n > 0 {
            counter.fetch_add(n as u64, Relaxed);
            self.counters
                .last_ms
                .store(self.start.elapsed().as_millis() as u64, Relaxed);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let n = buf.filled().len() - before;
            self.moved(&self.counters.from_client, n);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.moved(&self.counters.to_client, n);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
