//! The Application Load Balancer's request phases: listener rules, target selection
//! with stickiness and fail-open round robin, the forwarded request's headers, and
//! ALB's own answers when a target fails.
//!
//! Towards targets the load balancer speaks what the target group's `ProtocolVersion`
//! says ([`TargetProtocol`]): HTTP/1.1 for `HTTP1`, HTTP/2 for `HTTP2` and `GRPC` —
//! with prior knowledge (h2c) to `HTTP` target groups, over TLS with ALPN `h2` to
//! `HTTPS` ones (whose targets' certificates are not validated, as on AWS: see
//! [`crate::target_tls`]). A WebSocket upgrade always goes to the target over
//! HTTP/1.1, as on AWS, and is spliced after its `101` (see [`crate::phases::websocket`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use fulmar_model::ActionKind;
use fulmar_routing::balance::{choose, pick_weighted};
use fulmar_routing::redirect::{location, OriginalRequest};
use fulmar_routing::rules::RequestView;
use fulmar_routing::sticky::CookieSealer;
use http::header::{HeaderValue, CONNECTION, HOST, TE, UPGRADE};
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Uri, Version};

use crate::headers;
use crate::phases::{Body, Connection, Next, ProxyPhases, RequestContext, UpstreamFailure};
use crate::responses;
use crate::snapshot::{Snapshot, Stickiness};

/// What target-group stickiness cookies are sealed for (in place of a target group ARN).
const GROUP_STICKINESS: &str = "AWSALBTG";
use crate::desync;
use crate::stickiness;

mod pool;

pub(crate) use pool::{open, IDLE_TIMEOUT, MAX_IDLE_PER_TARGET};

/// How the load balancer speaks to the targets of a target group: its `ProtocolVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum TargetProtocol {
    /// `HTTP1` (the default): HTTP/1.1.
    #[default]
    Http1,
    /// `HTTP2`: HTTP/2.
    Http2,
    /// `GRPC`: HTTP/2 carrying gRPC; health checks are gRPC calls judged by `GrpcCode`.
    Grpc,
}

impl TargetProtocol {
    /// The protocol of a target group's `ProtocolVersion` (absent: `HTTP1`).
    pub fn of(version: Option<&str>) -> TargetProtocol {
        match version {
            Some(v) if v.eq_ignore_ascii_case("HTTP2") => TargetProtocol::Http2,
            Some(v) if v.eq_ignore_ascii_case("GRPC") => TargetProtocol::Grpc,
            _ => TargetProtocol::Http1,
        }
    }

    /// Whether requests go to the targets over HTTP/2.
    pub fn is_http2(self) -> bool {
        self != TargetProtocol::Http1
    }
}

/// The ALB proxy: the current compiled snapshot, the pooled connections to targets, and
/// the stickiness cookie sealer.
pub(crate) struct Alb {
    snapshot: ArcSwap<Snapshot>,
    pool: pool::Pool,
    /// The direct HTTP/1.1 client for requests without a body to `HTTP1` targets.
    direct: crate::h1::upstream::Direct,
    sealer: CookieSealer,
    /// Connections blocked by security groups, held silent.
    pub held: crate::secgroups::Held,
    /// Idle keep-alive connections parked off the runtime.
    pub lot: Arc<crate::parking::Lot>,
}

impl Alb {
    pub fn new(options: &crate::Options) -> Alb {
        Alb {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            pool: pool::Pool::default(),
            direct: Default::default(),
            sealer: CookieSealer::new(options.cookie_key),
            held: Default::default(),
            lot: Default::default(),
        }
    }

    /// Whether the current snapshot's security groups let `client` into the listener
    /// at `local` (see [`crate::secgroups`]).
    pub fn admits(&self, client: SocketAddr, local: SocketAddr) -> bool {
        crate::secgroups::admits(&self.snapshot.load().world, client, local)
    }

    /// What `f` answers of the current snapshot (read without taking a reference).
    pub fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        f(&self.snapshot.load())
    }

    /// Make `snapshot` the one every new request reads.
    pub fn publish(&self, snapshot: Arc<Snapshot>) {
        self.snapshot.store(snapshot);
    }
}

impl ProxyPhases for Alb {
    fn new_context(&self, conn: &Connection) -> RequestContext {
        RequestContext {
            snapshot: self.snapshot.load_full(),
            listener_arn: conn.listener_arn.clone(),
            client: conn.client,
            listener_port: conn.local.port(),
            received: Instant::now(),
            rule_priority: None,
            target_group: None,
            target: None,
            target_addr: None,
            upstream_timeout: Duration::from_secs(60),
            in_flight: None,
            group_cookie: None,
            desync: None,
            close_after: false,
            websocket: false,
            xff: Default::default(),
        }
    }

    fn route<B>(&self, req: &Request<B>, ctx: &mut RequestContext) -> Next<()> {
        let snapshot = ctx.snapshot.clone();
        let Some(listener) = snapshot.listeners.get(&*ctx.listener_arn) else {
            // The listener was removed while this keep-alive connection was open.
            return Next::Respond(responses::page_and_close(StatusCode::SERVICE_UNAVAILABLE));
        };
        ctx.upstream_timeout = listener.idle_timeout;
        if req.version() < Version::HTTP_2 {
            let verdict = desync::classify(req);
            if !verdict.compliant() {
                ctx.desync = Some(verdict);
                match verdict.action(listener.desync_mode) {
                    desync::Action::Forward => {}
                    desync::Action::ForwardAndClose => ctx.close_after = true,
                    desync::Action::Block => {
                        return Next::Respond(responses::page_and_close(StatusCode::BAD_REQUEST));
                    }
                }
            }
        }
        // Only http-header conditions read the header list; most tables have none.
        let header_list: Vec<(&str, &str)> = if listener.rules.reads_headers() {
            req.headers()
                .iter()
                .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
                .collect()
        } else {
            Vec::new()
        };
        let host = req
            .headers()
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        let view = RequestView {
            method: req.method().as_str(),
            host,
            path: req.uri().path(),
            query: req.uri().query(),
            headers: &header_list,
            source_ip: ctx.client.ip(),
        };
        let matched = listener.rules.evaluate(&view);
        ctx.rule_priority = matched.priority;
        let forward = match &matched.action.kind {
            ActionKind::FixedResponse(config) => return Next::Respond(responses::fixed(config)),
            ActionKind::Redirect(config) => {
                let fallback = listener.address.ip().to_string();
                let original = OriginalRequest {
                    protocol: if req.extensions().get::<crate::tls::Tls>().is_some() {
                        "https"
                    } else {
                        "http"
                    },
                    host: host.map(host_without_port).unwrap_or(&fallback),
                    port: ctx.listener_port,
                    path: req.uri().path(),
                    query: req.uri().query().unwrap_or(""),
                };
                let (code, to) = location(config, &original);
                return Next::Respond(responses::redirect(code, &to));
            }
            ActionKind::Forward(forward) => forward,
        };
        let chosen = match forward.target_groups.as_slice() {
            [only] => Some(only),
            groups => {
                // Target-group stickiness: a valid AWSALBTG naming a group of this action
                // with a non-zero weight keeps the client on it.
                let now = stickiness::now_unix();
                let sticky = forward.stickiness_seconds.and_then(|_| {
                    stickiness::group_cookie_values(req.headers())
                        .into_iter()
                        .find_map(|value| {
                            let (arn, _) = self.sealer.open(value, GROUP_STICKINESS, now)?;
                            groups.iter().find(|g| g.arn == arn && g.weight > 0)
                        })
                });
                let chosen = sticky.or_else(|| {
                    let weights: Vec<u32> = groups.iter().map(|g| g.weight).collect();
                    pick_weighted(&weights, rand::random()).and_then(|i| groups.get(i))
                });
                if let (Some(seconds), Some(group)) = (forward.stickiness_seconds, chosen) {
                    let expires = now + u64::from(seconds);
                    ctx.group_cookie = Some(self.sealer.seal(GROUP_STICKINESS, &group.arn, 0, expires));
                }
                chosen
            }
        };
        match chosen.and_then(|g| snapshot.target_groups.get(&g.arn)) {
            Some(tg) => {
                ctx.target_group = Some(tg.clone());
                Next::Continue(())
            }
            None => Next::Respond(responses::page(StatusCode::SERVICE_UNAVAILABLE)),
        }
    }

    fn select_target<B>(&self, req: &Request<B>, ctx: &mut RequestContext) -> Next<()> {
        let Some(tg) = ctx.target_group.clone() else {
            return Next::Respond(responses::page(StatusCode::SERVICE_UNAVAILABLE));
        };
        let routable = tg.health.routable();
        let cookies = match &tg.stickiness {
            Some(Stickiness::LbCookie(_)) => stickiness::cookie_values(req.headers()),
            Some(Stickiness::AppCookie { .. }) => stickiness::app_cookie_values(req.headers()),
            None => Vec::new(),
        };
        let now = stickiness::now_unix();
        let sticky = cookies.into_iter().find_map(|value| {
            let (id, port) = self.sealer.open(value, &tg.arn, now)?;
            routable.iter().find(|r| r.target.id == id && r.target.port == port)
        });
        let entry = match sticky {
            Some(r) => r,
            None => {
                match choose(
                    tg.algorithm,
                    routable.as_slice(),
                    &tg.health.round_robin,
                    rand::random(),
                    Instant::now(),
                ) {
                    Some(i) => &routable[i],
                    None => return Next::Respond(responses::page(StatusCode::SERVICE_UNAVAILABLE)),
                }
            }
        };
        let target = &entry.target;
        ctx.in_flight = Some(entry.load.begin());
        let Ok(ip) = target.id.parse::<IpAddr>() else {
            tracing::warn!(target_group = %tg.arn, target = %target.id, "target id is not an IP address");
            return Next::Respond(responses::page(StatusCode::BAD_GATEWAY));
        };
        ctx.target_addr = Some(SocketAddr::new(ip, target.port));
        ctx.target = Some(target.clone());
        Next::Continue(())
    }

    fn upstream_request(&self, head: &mut http::request::Parts, ctx: &RequestContext) {
        let http2 = !ctx.websocket && ctx.target_group.as_ref().is_some_and(|tg| tg.protocol.is_http2());
        let tls = ctx.target_group.as_ref().is_some_and(|tg| tg.https);
        if !head.headers.contains_key(HOST) {
            // HTTP/1.0 without Host: the target's address; HTTP/2 clients: their :authority.
            let host = match head.uri.authority() {
                Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
                // Invariant: a formatted socket address is visible ASCII.
                None => ctx
                    .target_addr
                    .map(|a| HeaderValue::from_str(&a.to_string()).expect("an address is ASCII")),
            };
            if let Some(host) = host {
                head.headers.insert(HOST, host);
            }
        }
        let path = head.uri.path_and_query().cloned();
        let path = path.unwrap_or_else(|| PathAndQuery::from_static("/"));
        if http2 {
            // HTTP/2 carries the host in :authority (absolute form), not in Host.
            let trailers = headers::accepts_trailers(&head.headers);
            head.uri = http2_uri(tls, head.headers.remove(HOST), ctx.target_addr, path);
            head.version = Version::HTTP_2;
            headers::strip_hop_by_hop(&mut head.headers);
            if trailers {
                head.headers.insert(TE, HeaderValue::from_static("trailers"));
            }
        } else {
            // Origin form (`/path?query`, as received) on the connection to the target.
            head.uri = Uri::from(path);
            head.version = Version::HTTP_11;
            if ctx.websocket {
                let upgrade = head.headers.remove(UPGRADE);
                headers::strip_hop_by_hop(&mut head.headers);
                if let Some(upgrade) = upgrade {
                    head.headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
                    head.headers.insert(UPGRADE, upgrade);
                }
            } else {
                headers::strip_hop_by_hop(&mut head.headers);
            }
        }
        let (mode, with_port) = ctx.xff;
        headers::add_forwarded_as(&mut head.headers, ctx.client, ctx.listener_port, mode, with_port);
        headers::add_trace_id(&mut head.headers);
        if ctx.close_after && head.version == Version::HTTP_11 {
            // Never reuse the target connection that carried an ambiguous request.
            head.headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }

    async fn send(&self, req: Request<Body>, ctx: &RequestContext) -> Result<Response<Body>, UpstreamFailure> {
        let Some(target) = ctx.target_addr else {
            return Err(UpstreamFailure::Failed("no target selected".into()));
        };
        // The rarer exchanges are boxed so that the common one's future, moved into the
        // timeout and held by the connection's task, stays small.
        let exchange = async {
            let (http2, tls) = ctx
                .target_group
                .as_ref()
                .map_or((false, false), |tg| (tg.protocol.is_http2(), tg.https));
            if ctx.websocket {
                Box::pin(self.pool.send_upgrade(target, tls, req))
                    .await
                    .map(pool::boxed)
            } else if http2 {
                Box::pin(self.pool.send_h2(target, tls, req)).await.map(pool::boxed)
            } else if !tls && crate::h1::upstream::Direct::carries(&req) {
                self.direct.send(target, req).await
            } else {
                Box::pin(self.pool.send(target, tls, req)).await.map(pool::boxed)
            }
        };
        match tokio::time::timeout(ctx.upstream_timeout, exchange).await {
            Err(_) => Err(UpstreamFailure::TimedOut),
            Ok(result) => result,
        }
    }

    fn upstream_response(&self, resp: &mut Response<Body>, ctx: &RequestContext) {
        if let Some(in_flight) = &ctx.in_flight {
            in_flight.load().record(resp.status().is_server_error());
        }
        if let (Some(tg), Some(target)) = (&ctx.target_group, &ctx.target) {
            match &tg.stickiness {
                Some(Stickiness::LbCookie(duration)) => {
                    let expires = stickiness::now_unix() + duration.as_secs();
                    let sealed = self.sealer.seal(&tg.arn, &target.id, target.port, expires);
                    stickiness::set_cookies(resp.headers_mut(), &sealed);
                }
                // Only when the target set its application cookie (checked before the
                // hop-by-hop strip, which leaves Set-Cookie alone anyway).
                Some(Stickiness::AppCookie { name, duration })
                    if stickiness::response_sets_cookie(resp.headers(), name) =>
                {
                    let expires = stickiness::now_unix() + duration.as_secs();
                    let sealed = self.sealer.seal(&tg.arn, &target.id, target.port, expires);
                    stickiness::set_app_cookies(resp.headers_mut(), &sealed);
                }
                _ => {}
            }
        }
        if let Some(sealed) = &ctx.group_cookie {
            stickiness::set_group_cookies(resp.headers_mut(), sealed);
        }
        if ctx.websocket && resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            // The target accepted the upgrade: the client must see it too.
            let upgrade = resp.headers_mut().remove(UPGRADE);
            headers::strip_hop_by_hop(resp.headers_mut());
            if let Some(upgrade) = upgrade {
                resp.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("upgrade"));
                resp.headers_mut().insert(UPGRADE, upgrade);
            }
        } else {
            headers::strip_hop_by_hop(resp.headers_mut());
        }
        if ctx.close_after {
            resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }

    fn upstream_failure(&self, failure: UpstreamFailure, ctx: &RequestContext) -> Response<Body> {
        if let Some(in_flight) = &ctx.in_flight {
            // A client's broken body says nothing about the target.
            if !matches!(failure, UpstreamFailure::ClientBody(_)) {
                in_flight.load().record(true);
            }
        }
        let target = ctx.target_addr.map(|a| a.to_string()).unwrap_or_default();
        match failure {
            UpstreamFailure::TimedOut => {
                tracing::info!(%target, timeout_s = ctx.upstream_timeout.as_secs(), "target timed out: 504");
                responses::page(StatusCode::GATEWAY_TIMEOUT)
            }
            UpstreamFailure::Failed(reason) => {
                tracing::info!(%target, %reason, "target failed: 502");
                responses::page(StatusCode::BAD_GATEWAY)
            }
            UpstreamFailure::ClientBody(reason) => {
                tracing::debug!(%target, %reason, "client request body failed: 400");
                responses::page_and_close(StatusCode::BAD_REQUEST)
            }
        }
    }
}

/// The absolute-form URI of a request to an HTTP/2 target: `http://<host><path>`
/// (`https` over TLS), the host being the client's Host when it is a valid authority,
/// else the target's address.
fn http2_uri(tls: bool, host: Option<HeaderValue>, target: Option<SocketAddr>, path: PathAndQuery) -> Uri {
    let authority = host
        .and_then(|h| http::uri::Authority::try_from(h.as_bytes()).ok())
        .or_else(|| target.and_then(|a| http::uri::Authority::try_from(a.to_string()).ok()));
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(if tls {
        http::uri::Scheme::HTTPS
    } else {
        http::uri::Scheme::HTTP
    });
    parts.authority = authority;
    parts.path_and_query = Some(path.clone());
    Uri::from_parts(parts).unwrap_or_else(|_| Uri::from(path))
}

/// `example.com:8080` → `example.com`; `[::1]:80` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map(|i| &host[..=i]).unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        out.push_str(": ");
        out.push_str(&err.to_string());
        source = err.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::host_without_port;

    #[test]
    fn host_port_is_stripped() {
        assert_eq!(host_without_port("example.com:8080"), "example.com");
        assert_eq!(host_without_port("example.com"), "example.com");
        assert_eq!(host_without_port("[::1]:80"), "[::1]");
    }
}
