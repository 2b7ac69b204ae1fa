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
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::{service_fn, Service};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use socket2::{Domain, Socket, Type};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
                alb.lot.listener_stopped();
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
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    // HTTPS listeners: TLS first (boxed, so the plain connection's task stays small).
    if let Some((tls, limits)) = crate::tls::of_connection(&alb, &conn) {
        return Box::pin(crate::tls::serve(stream, conn, alb, tls, limits, stop, alive)).await;
    }
    let _ = stream.set_nodelay(true);
    let obs = conn.observers.listener(&conn.listener_arn);
    conn.observers.connection_established(obs.as_deref(), &conn, None);
    let counted = ConnectionGuard::open(obs);
    let idle_timeout = phases::client_idle_timeout(&*alb, &conn);
    serve_plain(stream, conn, alb, stop, alive, counted, idle_timeout, None).await
}

/// Serve again a parked connection that its client has sent something on.
pub(crate) async fn serve_parked(parked: crate::parking::Parked, alb: Arc<Alb>) {
    let Ok(stream) = TcpStream::from_std(parked.stream) else {
        return;
    };
    let conn = parked.conn.into_arc();
    let idle_timeout = phases::client_idle_timeout(&*alb, &conn);
    serve_plain(
        stream,
        conn,
        alb,
        parked.stop,
        parked.alive,
        parked.guard,
        idle_timeout,
        Some(parked.deadline),
    )
    .await
}

/// Serve a plain connection with the data plane's own loop, then with hyper if it
/// hands the connection over; or park it when it goes idle.
#[allow(clippy::too_many_arguments)]
async fn serve_plain(
    stream: TcpStream,
    conn: Arc<Connection>,
    alb: Arc<Alb>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
    counted: ConnectionGuard,
    idle_timeout: Duration,
    resumed: Option<Instant>,
) {
    use crate::h1::server::Ending;
    match crate::h1::server::serve(stream, &conn, &alb, &mut stop, idle_timeout, resumed).await {
        Ending::Closed => {}
        // Boxed: only connections handed over pay for hyper's connection state.
        Ending::Handover(handover) => Box::pin(serve_hyper(handover, conn, alb, stop, idle_timeout)).await,
        Ending::Park { stream, deadline } => {
            let Ok(stream) = stream.into_std() else {
                return;
            };
            let parked = crate::parking::Parked {
                stream,
                conn: crate::parking::Held::new(conn),
                stop,
                alive,
                guard: counted,
                deadline,
            };
            alb.lot.clone().park(&alb, parked);
            return;
        }
    }
    drop(counted);
}

/// Serve the rest of a connection with hyper: HTTP/2 when the client opened with its
/// preface (h2c with prior knowledge, a local convenience: ALB speaks HTTP/2 to
/// clients only on HTTPS listeners), else HTTP/1.1 with upgrades (WebSockets).
async fn serve_hyper(
    handover: crate::h1::server::Handover,
    conn: Arc<Connection>,
    alb: Arc<Alb>,
    mut stop: watch::Receiver<bool>,
    idle_timeout: Duration,
) {
    let limits = ClientLimits {
        idle_timeout,
        // Only HTTP/2 reads it here (HTTP/1.1's is the phases' `Connection: close`).
        keep_alive: if handover.h2 {
            alb.with_snapshot(|s| s.listeners.get(&*conn.listener_arn).map(|l| l.http.client_keep_alive))
                .unwrap_or(Duration::MAX)
        } else {
            Duration::MAX
        },
        accepted: conn.accepted,
    };
    let service = hyper_service(alb, conn, None);
    let result = serve_with_hyper(
        handover.stream,
        handover.h2,
        handover.max_headers,
        service,
        limits,
        &mut stop,
    )
    .await;
    if let Err(e) = result {
        tracing::debug!(error = %e, "client connection ended with an error");
    }
}

/// What hyper runs for each request of a client connection: the phases, with the
/// connection's TLS facts (HTTPS listeners) in the request's extensions. The request's
/// future is boxed: it is large, and hyper moves what the service returns (for HTTP/2
/// into a task of its own per stream); a box moves as a pointer.
pub(crate) fn hyper_service(
    alb: Arc<Alb>,
    conn: Arc<Connection>,
    tls: Option<crate::tls::Tls>,
) -> impl Service<http::Request<Incoming>, Response = http::Response<phases::Body>, Error = Infallible, Future: Send + 'static>
{
    service_fn(move |mut req: http::Request<Incoming>| {
        let (alb, conn) = (alb.clone(), conn.clone());
        if let Some(tls) = &tls {
            req.extensions_mut().insert(tls.clone());
        }
        async move { Ok::<_, Infallible>(Box::pin(phases::handle(&*alb, req, &conn)).await) }
    })
}

/// What bounds a client connection served by hyper.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientLimits {
    /// `idle_timeout.timeout_seconds`.
    pub idle_timeout: Duration,
    /// `client_keep_alive.seconds` (HTTP/2 only: HTTP/1.1 connections get it from the
    /// phases, per request).
    pub keep_alive: Duration,
    /// When the connection was accepted.
    pub accepted: Instant,
}

/// Serve a connection with hyper until it ends, or until the listener stops (then the
/// request in progress finishes and the connection closes): HTTP/2 (at most 128
/// concurrent streams, as ALB; see [`serve_h2`] for its limits) or HTTP/1.1 with
/// upgrades, whose connections close when no request head arrives within the idle
/// timeout, and whose heads may have `max_headers` lines (hyper's default 100 if
/// `None`: a larger array is allocated for every request).
pub(crate) async fn serve_with_hyper<I, S>(
    io: I,
    h2: bool,
    max_headers: Option<usize>,
    service: S,
    limits: ClientLimits,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<http::Request<Incoming>, Response = http::Response<phases::Body>, Error = Infallible>
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    if h2 {
        return serve_h2(io, service, limits, stop).await;
    }
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        .keep_alive(true);
    if let Some(n) = max_headers {
        builder.max_headers(n);
    }
    let mut connection = Box::pin(builder.serve_connection(TokioIo::new(io), service).with_upgrades());
    tokio::select! {
        result = connection.as_mut() => result,
        _ = stopped(stop) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    }
}

/// Serve an HTTP/2 client connection with ALB's limits on it:
///
/// - `idle_timeout.timeout_seconds`: when no stream is open and no frame other than
///   PING has arrived for that long (ALB does not count PINGs), the connection gets
///   GOAWAY and closes;
/// - `client_keep_alive.seconds`: once the connection is that old, it gets GOAWAY and
///   closes when its open streams have finished.
///
/// A connection sent GOAWAY (for these or because the listener stopped) that then
/// stays idle for another idle timeout (a client that never answers the GOAWAY's PING,
/// or a stream left open) is dropped.
async fn serve_h2<I, S>(
    io: I,
    service: S,
    limits: ClientLimits,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<http::Request<Incoming>, Response = http::Response<phases::Body>, Error = Infallible>
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = Watched {
        inner: io,
        activity: activity.clone(),
        frames: FrameScan::new(),
    };
    let counted = activity.clone();
    let service = service_fn(move |req| {
        let open = OpenStream::begin(&counted);
        let response = service.call(req);
        async move {
            let resp = response.await?;
            // The stream is open until hyper drops its body (sent, or reset).
            Ok::<_, Infallible>(resp.map(|body| {
                body.map_frame(move |frame| {
                    let _open = &open;
                    frame
                })
                .boxed()
            }))
        }
    });
    let mut connection = Box::pin(
        http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
            .serve_connection(TokioIo::new(io), service),
    );
    let mut life_end = limits.accepted.checked_add(limits.keep_alive);
    let mut closing = false;
    let first = match h2_check(Instant::now(), life_end, activity.last(), limits.idle_timeout, 0) {
        H2Check::Wait(at) => at,
        H2Check::Close => Instant::now(),
    };
    let sleep = tokio::time::sleep_until(first.into());
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            result = connection.as_mut() => return result,
            _ = stopped(stop), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
                life_end = None;
                activity.touch();
            }
            _ = &mut sleep => {
                let now = Instant::now();
                match h2_check(now, life_end, activity.last(), limits.idle_timeout, activity.open()) {
                    H2Check::Wait(at) => sleep.as_mut().reset(at.into()),
                    // GOAWAY was sent and nothing has happened since: drop the connection.
                    H2Check::Close if closing => return Ok(()),
                    H2Check::Close => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                        life_end = None;
                        activity.touch();
                        sleep.as_mut().reset((now + limits.idle_timeout).into());
                    }
                }
            }
        }
    }
}

/// What an HTTP/2 connection's timer does next.
#[derive(Debug, PartialEq, Eq)]
enum H2Check {
    /// Send GOAWAY (or, once sent, drop the connection).
    Close,
    /// Look again then.
    Wait(Instant),
}

/// The keep-alive and idle rules of [`serve_h2`] at `now`: `life_end` is when the
/// keep-alive duration ends (`None` once GOAWAY was sent), `last` the last activity
/// (a frame other than PING, or a stream ending), `open` the streams open.
fn h2_check(now: Instant, life_end: Option<Instant>, last: Instant, idle: Duration, open: usize) -> H2Check {
    if life_end.is_some_and(|end| now >= end) {
        return H2Check::Close;
    }
    let idle_end = if open == 0 {
        let end = last + idle;
        if now >= end {
            return H2Check::Close;
        }
        end
    } else {
        // Streams are open: the connection is not idle; look again later.
        now + idle
    };
    H2Check::Wait(life_end.map_or(idle_end, |end| end.min(idle_end)))
}

/// An HTTP/2 connection's activity: its open streams and when it last did something.
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last: AtomicU64,
    open: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            open: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last.store(self.start.elapsed().as_millis() as u64, Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last.load(Relaxed))
    }

    fn open(&self) -> usize {
        self.open.load(Relaxed)
    }
}

/// One stream counted open, from its request to the end of its response.
struct OpenStream(Arc<Activity>);

impl OpenStream {
    fn begin(activity: &Arc<Activity>) -> OpenStream {
        activity.open.fetch_add(1, Relaxed);
        OpenStream(activity.clone())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Relaxed);
        self.0.touch();
    }
}

/// Finds the frames in what an HTTP/2 client sends (after its preface): only their
/// 9-byte headers are looked at, to tell PINGs from the rest.
struct FrameScan {
    /// Bytes still to pass over: the preface, then each frame's payload.
    skip: usize,
    head: [u8; 9],
    have: usize,
}

/// HTTP/2's PING frame type.
const PING: u8 = 0x6;

impl FrameScan {
    fn new() -> FrameScan {
        FrameScan {
            skip: 24, // PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n
            head: [0; 9],
            have: 0,
        }
    }

    /// Take bytes read; true when they hold the start of a frame other than PING.
    fn feed(&mut self, mut data: &[u8]) -> bool {
        let mut active = false;
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let n = (9 - self.have).min(data.len());
            self.head[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have == 9 {
                self.have = 0;
                self.skip = u32::from_be_bytes([0, self.head[0], self.head[1], self.head[2]]) as usize;
                active |= self.head[3] != PING;
            }
        }
        active
    }
}

/// An HTTP/2 connection's stream, telling [`Activity`] of the frames that arrive.
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
    frames: FrameScan,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if this.frames.feed(&buf.filled()[before..]) {
                this.activity.touch();
            }
        }
        polled
    }
}

delegate_async_write!(Watched);

/// Resolves once the listener is told to stop (or its controller is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here, inside this future.
    let _ = stop.wait_for(|stopped| *stopped).await.map(|_| ());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h2_idle_counts_from_the_last_activity_when_no_stream_is_open() {
        let t0 = Instant::now();
        let idle = Duration::from_secs(60);
        let life = Some(t0 + Duration::from_secs(3600));
        assert_eq!(h2_check(t0, life, t0, idle, 0), H2Check::Wait(t0 + idle));
        let later = t0 + Duration::from_secs(30);
        assert_eq!(h2_check(later, life, later, idle, 0), H2Check::Wait(later + idle));
        assert_eq!(h2_check(t0 + idle, life, t0, idle, 0), H2Check::Close);
        // An open stream keeps it, however long ago the last frame came.
        let t = t0 + Duration::from_secs(600);
        assert_eq!(h2_check(t, life, t0, idle, 1), H2Check::Wait(t + idle));
    }

    #[test]
    fn h2_keep_alive_ends_the_connection_even_with_streams_open() {
        let t0 = Instant::now();
        let idle = Duration::from_secs(60);
        let life = Some(t0 + Duration::from_secs(90));
        let t = t0 + Duration::from_secs(50);
        // The next look is at the earlier of the idle and the keep-alive ends.
        assert_eq!(
            h2_check(t, life, t, idle, 0),
            H2Check::Wait(t0 + Duration::from_secs(90))
        );
        assert_eq!(
            h2_check(t, life, t, idle, 3),
            H2Check::Wait(t0 + Duration::from_secs(90))
        );
        assert_eq!(h2_check(t0 + Duration::from_secs(90), life, t, idle, 3), H2Check::Close);
        // After GOAWAY (no keep-alive end), only idleness drops it.
        let t = t0 + Duration::from_secs(100);
        assert_eq!(h2_check(t, None, t, idle, 2), H2Check::Wait(t + idle));
        assert_eq!(h2_check(t + idle, None, t, idle, 0), H2Check::Close);
        // A keep-alive too long for an Instant never ends.
        assert_eq!(t0.checked_add(Duration::MAX), None);
    }

    #[test]
    fn frame_scan_tells_pings_from_other_frames() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        let settings = [0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100];
        let ping = [0, 0, 8, PING, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        let mut scan = FrameScan::new();
        assert!(!scan.feed(&preface[..10]));
        assert!(!scan.feed(&preface[10..]));
        assert!(scan.feed(&settings));
        assert!(!scan.feed(&ping));
        // Split anywhere, a PING is still a PING.
        for cut in 0..ping.len() {
            assert!(!scan.feed(&ping[..cut]), "cut {cut}");
            assert!(!scan.feed(&ping[cut..]), "cut {cut}");
        }
        // A frame header split across reads counts when it completes.
        assert!(!scan.feed(&settings[..5]));
        assert!(scan.feed(&settings[5..]));
        let mut all = ping.to_vec();
        all.extend_from_slice(&settings);
        assert!(scan.feed(&all));
    }
}
