//! Listener sockets: bind what a snapshot adds, stop accepting on what it removes, leave
//! the rest alone; and serve each accepted connection: with the data plane's own
//! HTTP/1.1 loop ([`crate::h1::server`]) while its requests are simple, and with hyper's
//! server (HTTP/1.1, or HTTP/2 for clients that open with its preface) from the first
//! request that is not. HTTPS listeners are served through [`crate::tls`].
//!
//! A listener that cannot bind (EACCES below 1024, EADDRINUSE, ...) is logged with its
//! ARN, address and reason and simply stays unbound; every later snapshot retries it.
//! A removed listener stops accepting at once; its open connections finish the request
//! they are serving and then close.
//!
//! A connection the load balancer's security groups do not let in is never served:
//! it is held silent (see [`crate::secgroups`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use socket2::{Domain, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::alb::Alb;
use crate::error::Error;
use crate::observe::{ConnectionGuard, Observers};
use crate::phases::{self, Connection};
use crate::snapshot::Snapshot;

/// Pending connections the kernel may queue per listener.
const BACKLOG: i32 = 1024;
/// Concurrent streams per HTTP/2 client connection (ALB's limit).
const MAX_CONCURRENT_STREAMS: u32 = 128;

/// The listener sockets currently accepting, by listener ARN.
#[derive(Default)]
pub(crate) struct Sockets {
    open: HashMap<String, Open>,
}

struct Open {
    address: SocketAddr,
    /// Set to `true` to stop accepting and close this listener's connections gracefully.
    stop: watch::Sender<bool>,
}

impl Sockets {
    pub fn reconcile(
        &mut self,
        snapshot: &Snapshot,
        alb: &Arc<Alb>,
        observers: &Arc<Observers>,
        alive: &mpsc::Sender<()>,
    ) {
        self.open.retain(|arn, open| {
            let keep = snapshot.listeners.get(arn).is_some_and(|l| l.address == open.address);
            if !keep {
                tracing::info!(listener = %arn, address = %open.address, "listener stops accepting");
                let _ = open.stop.send(true);
            }
            keep
        });
        for listener in snapshot.listeners.values() {
            if self.open.contains_key(&listener.arn) {
                continue;
            }
            match bind(&listener.arn, listener.address) {
                Ok(socket) => {
                    tracing::info!(listener = %listener.arn, address = %listener.address, "listener accepting");
                    let (stop, stopped) = watch::channel(false);
                    tokio::spawn(accept_loop(
                        socket,
                        listener.arn.clone(),
                        alb.clone(),
                        observers.clone(),
                        stopped,
                        alive.clone(),
                    ));
                    self.open.insert(
                        listener.arn.clone(),
                        Open {
                            address: listener.address,
                            stop,
                        },
                    );
                }
                Err(e) => tracing::error!(
                    listener = %listener.arn,
                    address = %listener.address,
                    error = %e,
                    "listener not serving; binding is retried on the next configuration change \
                     (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
                ),
            }
        }
    }

    pub fn close_all(&mut self) {
        for (_, open) in self.open.drain() {
            let _ = open.stop.send(true);
        }
    }
}

fn bind(arn: &str, address: SocketAddr) -> Result<TcpListener, Error> {
    let wrap = |source| Error::Bind {
        listener: arn.to_owned(),
        address,
        source,
    };
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None).map_err(wrap)?;
    socket.set_reuse_address(true).map_err(wrap)?;
    socket.set_nonblocking(true).map_err(wrap)?;
    socket.bind(&address.into()).map_err(wrap)?;
    socket.listen(BACKLOG).map_err(wrap)?;
    TcpListener::from_std(socket.into()).map_err(wrap)
}

async fn accept_loop(
    socket: TcpListener,
    arn: String,
    alb: Arc<Alb>,
    observers: Arc<Observers>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let arn: Arc<str> = arn.into();
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => return,
            accepted = socket.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(local) = stream.local_addr() else { continue };
                    if !alb.admits(peer, local) {
                        tracing::debug!(listener = %arn, client = %peer, "blocked by the load balancer's security groups; holding silent");
                        alb.held.hold(stream, peer, stop.clone());
                        continue;
                    }
                    let conn = Connection {
                        listener_arn: arn.clone(),
                        client: peer,
                        local,
                        observers: observers.clone(),
                        conn_trace_id: Default::default(),
                        accepted: std::time::Instant::now(),
                    };
                    tokio::spawn(serve(stream, Arc::new(conn), alb.clone(), stop.clone(), alive.clone()));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(listener = %arn, error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Serve one client connection until it closes, or until the listener stops (then the
/// request in progress finishes and the connection closes): with the data plane's own
/// HTTP/1.1 loop ([`crate::h1::server`]) while requests are simple, then with hyper.
async fn serve(
    stream: TcpStream,
    conn: Arc<Connection>,
    alb: Arc<Alb>,
    mut stop: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
) {
    // HTTPS listeners: TLS first (boxed, so the plain connection's task stays small).
    if let Some((tls, idle_timeout)) = crate::tls::of_connection(&alb, &conn) {
        return Box::pin(crate::tls::serve(stream, conn, alb, tls, idle_timeout, stop, _alive)).await;
    }
    let _ = stream.set_nodelay(true);
    let _counted = ConnectionGuard::open(conn.observers.listener(&conn.listener_arn));
    let idle_timeout = phases::client_idle_timeout(&*alb, &conn);
    let Some(handover) = crate::h1::server::serve(stream, &conn, &alb, &mut stop, idle_timeout).await else {
        return;
    };
    // Boxed: only connections handed over pay for hyper's connection state.
    Box::pin(serve_hyper(handover, conn, alb, stop, idle_timeout)).await
}

/// Serve the rest of a connection with hyper: HTTP/2 when the client opened with its
/// preface (h2c with prior knowledge, a local convenience: ALB speaks HTTP/2 to
/// clients only on HTTPS listeners), else HTTP/1.1 with upgrades (WebSockets).
async fn serve_hyper(
    handover: crate::h1::server::Handover,
    conn: Arc<Connection>,
    alb: Arc<Alb>,
    mut stop: watch::Receiver<bool>,
    idle_timeout: std::time::Duration,
) {
    let service = service_fn(move |req| {
        let (alb, conn) = (alb.clone(), conn.clone());
        async move { Ok::<_, Infallible>(phases::handle(&*alb, req, &conn).await) }
    });
    let result = serve_with_hyper(
        TokioIo::new(handover.stream),
        handover.h2,
        service,
        idle_timeout,
        &mut stop,
    )
    .await;
    if let Err(e) = result {
        tracing::debug!(error = %e, "client connection ended with an error");
    }
}

/// Serve a connection with hyper until it ends, or until the listener stops (then the
/// request in progress finishes and the connection closes): HTTP/2 (at most 128
/// concurrent streams, as ALB) or HTTP/1.1 with upgrades, whose connections close when
/// no request head arrives within `idle_timeout`.
pub(crate) async fn serve_with_hyper<I, S>(
    io: I,
    h2: bool,
    service: S,
    idle_timeout: std::time::Duration,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), hyper::Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = phases::Body, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    if h2 {
        let mut connection = Box::pin(
            http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
                .serve_connection(io, service),
        );
        tokio::select! {
            result = connection.as_mut() => result,
            _ = stopped(stop) => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        }
    } else {
        let mut connection = Box::pin(
            http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(idle_timeout)
                .keep_alive(true)
                .serve_connection(io, service)
                .with_upgrades(),
        );
        tokio::select! {
            result = connection.as_mut() => result,
            _ = stopped(stop) => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        }
    }
}

/// Resolves once the listener is told to stop (or its controller is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here, inside this future.
    let _ = stop.wait_for(|stopped| *stopped).await.map(|_| ());
}
