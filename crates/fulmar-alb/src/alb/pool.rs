//! Keep-alive connections to targets: HTTP/1.1 client connections by target address,
//! and one shared HTTP/2 (h2c, prior knowledge) connection per target of `HTTP2` and
//! `GRPC` target groups.
//!
//! A connection goes back into its target's list as soon as its response head arrives;
//! while its body is still streaming it is busy and skipped, and it is taken again once
//! hyper says it is ready for the next request. A request that a pooled connection
//! could not start (the target closed it meanwhile) is retried on another connection,
//! so a keep-alive race never reaches the client. Connections idle for longer than
//! [`IDLE_TIMEOUT`] are dropped (and closed) when their target's list is next visited.
//!
//! This is what hyper-util's legacy client does for us, minus its per-request task
//! and its pool key hashing; the request path is the hot path of the data plane.
//!
//! Connections to the targets of `HTTPS` target groups run TLS over the TCP connection
//! (see [`crate::target_tls`]) and are pooled apart from plain ones: a pool key is the
//! target's address and whether the connection is encrypted.
//!
//! An HTTP/2 connection multiplexes: every request to the target shares it (its
//! `SendRequest` is a cheap clone) until the target closes it, then the next request
//! opens a new one. A WebSocket upgrade gets a fresh HTTP/1.1 connection of its own,
//! which the upgrade consumes.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::client::conn::http2;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::lock;
use crate::phases::{Body, BoxError, UpstreamFailure};
use crate::FastMap;

/// How long the ALB tries to open a connection to a target before answering 504.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle pooled connections to targets are closed after this long.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(55);
/// Idle connections kept per target at most.
pub(crate) const MAX_IDLE_PER_TARGET: usize = 256;

/// A pool key: the target's address, and whether the connection speaks TLS.
type Key = (SocketAddr, bool);

#[derive(Default)]
pub(crate) struct Pool {
    targets: Mutex<FastMap<Key, Vec<Pooled>>>,
    /// The HTTP/2 connection to each target of an HTTP2 or GRPC target group.
    h2: Mutex<FastMap<Key, http2::SendRequest<Body>>>,
}

struct Pooled {
    sender: SendRequest<Body>,
    /// When it last went back into the pool.
    since: Instant,
}

impl Pool {
    /// Send `req` (origin-form URI) to `target` over a pooled or a new connection
    /// (encrypted when `tls`).
    pub async fn send(
        &self,
        target: SocketAddr,
        tls: bool,
        mut req: Request<Body>,
    ) -> Result<Response<Incoming>, UpstreamFailure> {
        let key = (target, tls);
        while let Some(mut sender) = self.checkout(key) {
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    self.checkin(key, sender);
                    return Ok(resp);
                }
                Err(mut e) => match e.take_message() {
                    // Never started: the connection closed under us; try another.
                    Some(back) => req = back,
                    None => return Err(failed(&e.into_error())),
                },
            }
        }
        // Boxed: the rare path keeps the common one's future (moved on every request) small.
        Box::pin(self.send_fresh(key, req)).await
    }

    /// Send `req` over a new connection to `key`'s target, pooled after the response head.
    async fn send_fresh(&self, key: Key, req: Request<Body>) -> Result<Response<Incoming>, UpstreamFailure> {
        let mut sender = connect(key).await?;
        let resp = sender.send_request(req).await.map_err(|e| failed(&e))?;
        self.checkin(key, sender);
        Ok(resp)
    }

    /// Send `req` (absolute-form URI) to `target` over its shared HTTP/2 connection,
    /// opening one when there is none or the target closed it.
    pub async fn send_h2(
        &self,
        target: SocketAddr,
        tls: bool,
        req: Request<Body>,
    ) -> Result<Response<Incoming>, UpstreamFailure> {
        let key = (target, tls);
        let shared = lock(&self.h2).get(&key).filter(|s| !s.is_closed()).cloned();
        let req = match shared {
            Some(mut sender) => match sender.try_send_request(req).await {
                Ok(resp) => return Ok(resp),
                Err(mut e) => match e.take_message() {
                    // Never started (the connection went away meanwhile): open another.
                    Some(back) => back,
                    None => return Err(failed(&e.into_error())),
                },
            },
            None => req,
        };
        let mut sender = connect_h2(key).await?;
        lock(&self.h2).insert(key, sender.clone());
        sender.send_request(req).await.map_err(|e| failed(&e))
    }

    /// Send an upgrade request (WebSocket) over a new HTTP/1.1 connection of its own:
    /// after a `101` the upgrade takes the connection over, so it never returns here.
    pub async fn send_upgrade(
        &self,
        target: SocketAddr,
        tls: bool,
        req: Request<Body>,
    ) -> Result<Response<Incoming>, UpstreamFailure> {
        let mut sender = connect((target, tls)).await?;
        sender.send_request(req).await.map_err(|e| failed(&e))
    }

    /// A ready connection to `target`, dropping closed and expired ones on the way.
    fn checkout(&self, key: Key) -> Option<SendRequest<Body>> {
        let mut targets = lock(&self.targets);
        let list = targets.get_mut(&key)?;
        let now = Instant::now();
        let mut i = list.len();
        while i > 0 {
            i -= 1;
            let p = &list[i];
            if p.sender.is_closed() || now.duration_since(p.since) > IDLE_TIMEOUT {
                list.swap_remove(i);
            } else if p.sender.is_ready() {
                return Some(list.swap_remove(i).sender);
            }
        }
        None
    }

    fn checkin(&self, key: Key, sender: SendRequest<Body>) {
        let mut targets = lock(&self.targets);
        let list = targets.entry(key).or_default();
        if list.len() < MAX_IDLE_PER_TARGET {
            list.push(Pooled {
                sender,
                since: Instant::now(),
            });
        }
    }
}

/// A new HTTP/1.1 connection to `key`'s target (TLS when the key says so).
async fn connect((target, tls): Key) -> Result<SendRequest<Body>, UpstreamFailure> {
    let stream = open(target).await?;
    if tls {
        let stream = encrypt(stream, target, false).await?;
        handshake_h1(target, stream).await
    } else {
        handshake_h1(target, stream).await
    }
}

async fn handshake_h1<IO>(target: SocketAddr, io: IO) -> Result<SendRequest<Body>, UpstreamFailure>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = http1::Builder::new()
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| failed(&e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(%target, error = %e, "target connection ended with an error");
        }
    });
    Ok(sender)
}

/// An HTTP/2 connection: with prior knowledge (h2c) to plain targets, negotiated with
/// ALPN `h2` to TLS ones.
async fn connect_h2((target, tls): Key) -> Result<http2::SendRequest<Body>, UpstreamFailure> {
    let stream = open(target).await?;
    if tls {
        let stream = encrypt(stream, target, true).await?;
        handshake_h2(target, stream).await
    } else {
        handshake_h2(target, stream).await
    }
}

async fn handshake_h2<IO>(target: SocketAddr, io: IO) -> Result<http2::SendRequest<Body>, UpstreamFailure>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| failed(&e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(%target, error = %e, "target HTTP/2 connection ended with an error");
        }
    });
    Ok(sender)
}

/// A hyper response with its body in the data plane's body type.
pub(crate) fn boxed(resp: Response<Incoming>) -> Response<Body> {
    use http_body_util::BodyExt;
    resp.map(|b| b.map_err(BoxError::from).boxed())
}

/// The TLS handshake with a target, within [`CONNECT_TIMEOUT`]; a failed handshake
/// (a target that does not speak TLS, say) is a failed target: 502.
async fn encrypt(stream: TcpStream, target: SocketAddr, http2: bool) -> Result<TlsStream<TcpStream>, UpstreamFailure> {
    match tokio::time::timeout(CONNECT_TIMEOUT, crate::target_tls::connect(stream, target, http2)).await {
        Err(_) => Err(UpstreamFailure::TimedOut),
        Ok(Err(e)) => Err(UpstreamFailure::Failed(format!("TLS handshake with {target}: {e}"))),
        Ok(Ok(stream)) => Ok(stream),
    }
}

/// A TCP connection to `target`, within [`CONNECT_TIMEOUT`].
pub(crate) async fn open(target: SocketAddr) -> Result<TcpStream, UpstreamFailure> {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Err(_) => return Err(UpstreamFailure::TimedOut),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => return Err(UpstreamFailure::TimedOut),
        Ok(Err(e)) => return Err(UpstreamFailure::Failed(format!("connecting to {target}: {e}"))),
        Ok(Ok(stream)) => stream,
    };
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn failed(e: &hyper::Error) -> UpstreamFailure {
    // A user error whose cause is another hyper error: reading the client's body failed.
    let client_body = e.is_user()
        && std::error::Error::source(e).is_some_and(|source| source.downcast_ref::<hyper::Error>().is_some());
    if client_body {
        UpstreamFailure::ClientBody(super::error_chain(e))
    } else {
        UpstreamFailure::Failed(super::error_chain(e))
    }
}
