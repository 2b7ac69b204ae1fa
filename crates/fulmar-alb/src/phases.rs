//! The path of one HTTP request through a listener, as a fixed sequence of phases.
//!
//! [`handle`] drives any [`ProxyPhases`] implementation: it creates the request's
//! [`RequestContext`], then runs `route`, `select_target`, `upstream_request`, the
//! exchange with the target (`send`), and `upstream_response` or `upstream_failure`.
//! Each phase may end the request early by answering itself ([`Next::Respond`]). The
//! ALB's implementation is [`crate::alb::Alb`].
//!
//! A WebSocket upgrade takes the same path; when the target answers `101`, the client's
//! connection and the target's are spliced together ([`websocket`]) until either closes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fulmar_model::Target;
use http::header::{HeaderValue, CONNECTION, HOST, SERVER};
use http::{Request, Response, StatusCode, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;

use crate::headers::{self, XffMode};
use crate::metrics::LbMetrics;
use crate::observe::{Exchange, Observers};
use crate::responses;
use crate::snapshot::{CompiledTargetGroup, HttpSettings, Snapshot, DEFAULT_HTTP};

pub(crate) mod websocket;

/// Every body the data plane sends, to clients and to targets.
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// A body's error: hyper's, or the direct target client's ([`crate::h1::upstream`]).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client request's body: hyper's `Incoming`, or empty.
pub(crate) trait RequestBody:
    hyper::body::Body<Data = Bytes, Error: Into<BoxError>> + Send + Sync + 'static
{
}

impl<B> RequestBody for B where B: hyper::body::Body<Data = Bytes, Error: Into<BoxError>> + Send + Sync + 'static {}

/// What a phase decided: carry on with a value, or answer the client now.
pub(crate) enum Next<T> {
    Continue(T),
    Respond(Response<Body>),
}

/// Facts about the client connection a request arrived on.
#[derive(Debug)]
pub(crate) struct Connection {
    pub listener_arn: Arc<str>,
    /// The client's address (source-ip conditions, X-Forwarded-For).
    pub client: SocketAddr,
    /// The listener address the client connected to.
    pub local: SocketAddr,
    /// Where requests are counted and logged.
    pub observers: Arc<Observers>,
    /// The access log's `conn_trace_id`, made on the first logged request.
    pub conn_trace_id: OnceLock<Arc<str>>,
    /// When the connection was accepted (`client_keep_alive.seconds`).
    pub accepted: Instant,
}

impl Connection {
    pub fn trace_id(&self) -> Arc<str> {
        self.conn_trace_id
            .get_or_init(crate::observe::new_conn_trace_id)
            .clone()
    }
}

/// Why the exchange with a target produced no response.
#[derive(Debug)]
pub(crate) enum UpstreamFailure {
    /// Refused, reset, closed early or answered with something that is not HTTP.
    Failed(String),
    /// No response head within the load balancer's idle timeout (or connect timeout).
    TimedOut,
    /// The client's own request body broke off or was malformed (bad chunking): the
    /// load balancer answers 400, not 502, and the target never gets a whole request.
    ClientBody(String),
}

/// One request's state, from its arrival to its response.
pub(crate) struct RequestContext {
    /// The configuration this request sees from start to end.
    pub snapshot: Arc<Snapshot>,
    pub listener_arn: Arc<str>,
    pub client: SocketAddr,
    /// The listener's port (X-Forwarded-Port, redirects).
    pub listener_port: u16,
    pub received: Instant,
    /// The matched rule's priority; `None` for the default rule (logging).
    pub rule_priority: Option<u32>,
    /// Set by `route` when the action forwards.
    pub target_group: Option<Arc<CompiledTargetGroup>>,
    /// Set by `select_target`.
    pub target: Option<Target>,
    /// The chosen target's socket address, set with `target`.
    pub target_addr: Option<SocketAddr>,
    /// How long the target may take to answer (the load balancer's idle timeout).
    pub upstream_timeout: Duration,
    /// The request counted as outstanding on its target until the response head
    /// (least outstanding requests), and where its outcome is recorded.
    pub in_flight: Option<fulmar_routing::balance::InFlight>,
    /// The sealed AWSALBTG value to set on the response (target-group stickiness).
    pub group_cookie: Option<String>,
    /// The desync classification of a request that is not compliant (access log).
    pub desync: Option<crate::desync::Verdict>,
    /// Close the client connection after the response, and do not reuse the target's
    /// (an Ambiguous request in defensive mode).
    pub close_after: bool,
    /// The request asks for a WebSocket upgrade (set by [`handle`]).
    pub websocket: bool,
    /// The listener's X-Forwarded-For processing mode and client-port switch.
    pub xff: (XffMode, bool),
}

/// The phases of one request through an ALB listener. Each runs at most once, in the
/// order declared here.
pub(crate) trait ProxyPhases: Send + Sync + 'static {
    /// Runs first, as soon as the request head is parsed: capture the current snapshot
    /// and the connection facts. Everything later reads the snapshot taken here.
    fn new_context(&self, conn: &Connection) -> RequestContext;

    /// Runs second: evaluate the listener's rules. `Respond` answers fixed-response and
    /// redirect actions (and requests on a listener that has just been removed);
    /// `Continue` means forward, with `ctx.target_group` set.
    fn route<B>(&self, req: &Request<B>, ctx: &mut RequestContext) -> Next<()>;

    /// Runs after `route` chose to forward: pick the target (stickiness, then round
    /// robin over routable targets) into `ctx.target`. `Respond` is the 503 an ALB
    /// sends when the target group has no target.
    fn select_target<B>(&self, req: &Request<B>, ctx: &mut RequestContext) -> Next<()>;

    /// Runs just before the request leaves for the target: rewrite the head (URI,
    /// hop-by-hop headers, X-Forwarded-*, X-Amzn-Trace-Id).
    fn upstream_request(&self, head: &mut http::request::Parts, ctx: &RequestContext);

    /// The exchange with the target: resolves to the response head (its body streams
    /// on) or to why there is none.
    fn send(
        &self,
        req: Request<Body>,
        ctx: &RequestContext,
    ) -> impl Future<Output = Result<Response<Body>, UpstreamFailure>> + Send;

    /// Runs when the target's response head arrived, before it goes to the client:
    /// strip hop-by-hop headers, set stickiness cookies.
    fn upstream_response(&self, resp: &mut Response<Body>, ctx: &RequestContext);

    /// Runs instead of `upstream_response` when the target gave no response: the load
    /// balancer's own answer (502 or 504).
    fn upstream_failure(&self, failure: UpstreamFailure, ctx: &RequestContext) -> Response<Body>;
}

/// Run one request through the phases of `p`, counting it in the listener's metrics
/// and logging it when its load balancer's access logs are on.
///
/// The request arrives from hyper's server (`Incoming`) or from the data plane's own
/// HTTP/1.1 server ([`crate::h1::server`], which carries only requests without a body).
pub(crate) async fn handle<P: ProxyPhases, B: RequestBody>(
    p: &P,
    req: Request<B>,
    conn: &Connection,
) -> Response<Body> {
    let mut ctx = p.new_context(conn);
    ctx.websocket = crate::headers::is_websocket_upgrade(req.version(), req.headers());
    match conn.observers.listener(&conn.listener_arn) {
        Some(obs) => {
            let lb = ctx.websocket.then(|| obs.lb.clone());
            let mut exchange = Exchange::begin(obs, &req, conn);
            let resp = run(p, req, &mut ctx, Some(&mut exchange), lb, conn.accepted).await;
            exchange.finish(resp, &ctx, conn, &conn.observers)
        }
        None => run(p, req, &mut ctx, None, None, conn.accepted).await,
    }
}

/// The request through the phases, with the listener's [`HttpSettings`] applied: the
/// request head's limits, invalid header names, X-Forwarded-For and Host on the way
/// in; the response headers and the keep-alive limit on the way out.
async fn run<P: ProxyPhases, B: RequestBody>(
    p: &P,
    req: Request<B>,
    ctx: &mut RequestContext,
    exchange: Option<&mut Exchange>,
    lb: Option<Arc<LbMetrics>>,
    accepted: Instant,
) -> Response<Body> {
    let http1 = req.version() < Version::HTTP_2;
    let age = ctx.received.saturating_duration_since(accepted);
    // Listeners at their defaults (the common case) need no second look-up.
    let settings: Option<Arc<HttpSettings>> = if ctx.snapshot.default_http && age < ctx.snapshot.min_client_keep_alive {
        None
    } else {
        ctx.snapshot.listeners.get(&*ctx.listener_arn).map(|l| l.http.clone())
    };
    let http = settings.as_deref().unwrap_or(&DEFAULT_HTTP);
    let (mut resp, from_target) = proxy(p, req, ctx, exchange, lb, http).await;
    let h = resp.headers_mut();
    if !from_target && !http.server_header {
        h.remove(SERVER);
    }
    for (name, value) in &http.response_headers {
        h.insert(name.clone(), value.clone());
    }
    // client_keep_alive.seconds: the first response after it closes the connection
    // (HTTP/1: `Connection: close`; a WebSocket that switched protocols is left alone).
    if http1 && age >= http.client_keep_alive && resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// The phases proper; the flag is true when the response is the target's.
async fn proxy<P: ProxyPhases, B: RequestBody>(
    p: &P,
    mut req: Request<B>,
    ctx: &mut RequestContext,
    mut exchange: Option<&mut Exchange>,
    lb: Option<Arc<LbMetrics>>,
    http: &HttpSettings,
) -> (Response<Body>, bool) {
    if headers::over_header_limits(req.method(), req.uri(), req.headers()) {
        return (responses::page_and_close(StatusCode::BAD_REQUEST), false);
    }
    if http.xff_mode == XffMode::Append
        && req.headers().contains_key(&headers::X_FORWARDED_FOR)
        && headers::forwarded_for_count(req.headers()) > headers::MAX_FORWARDED_FOR_ADDRESSES
    {
        return (responses::page(responses::too_many_forwarded_for()), false);
    }
    if http.drop_invalid_header_fields {
        headers::drop_invalid_fields(req.headers_mut());
    }
    if let Next::Respond(resp) = p.route(&req, ctx) {
        return (resp, false);
    }
    if let Next::Respond(resp) = p.select_target(&req, ctx) {
        return (resp, false);
    }
    let client_upgrade = ctx.websocket.then(|| hyper::upgrade::on(&mut req));
    let (mut head, body) = req.into_parts();
    if !http.preserve_host {
        if let Some(host) = headers::rewritten_host(&head, ctx.listener_port) {
            head.headers.insert(HOST, host);
        }
    }
    ctx.xff = (http.xff_mode, http.xff_client_port);
    p.upstream_request(&mut head, ctx);
    if let Some(tls) = head.extensions.get::<crate::tls::Tls>() {
        headers::add_tls(&mut head.headers, &tls.0, http.tls_headers);
    }
    if let Some(e) = exchange.as_deref_mut() {
        e.dispatched(&head);
    }
    let upstream = Request::from_parts(head, body.map_err(Into::into).boxed());
    match p.send(upstream, ctx).await {
        Ok(mut resp) => {
            if let Some(e) = exchange {
                e.answered(resp.status().as_u16());
            }
            let tunnel = match client_upgrade {
                Some(client) if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS => {
                    let target = hyper::upgrade::on(&mut resp);
                    Some(websocket::splice(client, target, ctx.upstream_timeout, lb))
                }
                _ => None,
            };
            if let Some(tunnel) = tunnel {
                // Observers find it here and leave the access-log record to the tunnel.
                resp.extensions_mut().insert(tunnel);
            }
            p.upstream_response(&mut resp, ctx);
            (resp, true)
        }
        Err(failure) => {
            tracing::debug!(listener = %ctx.listener_arn, target = ?ctx.target, ?failure,
                elapsed_ms = ctx.received.elapsed().as_millis() as u64, "target failed");
            (p.upstream_failure(failure, ctx), false)
        }
    }
}

/// The load balancer's idle timeout for a client connection on `conn`'s listener
/// (`idle_timeout.timeout_seconds`, read when the connection is accepted): how long
/// the connection may wait for a request head before it is closed.
pub(crate) fn client_idle_timeout<P: ProxyPhases>(p: &P, conn: &Connection) -> Duration {
    let ctx = p.new_context(conn);
    ctx.snapshot
        .listeners
        .get(&*conn.listener_arn)
        .map_or(Duration::from_secs(60), |l| l.idle_timeout)
}
