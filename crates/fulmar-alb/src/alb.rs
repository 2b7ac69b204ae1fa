//! The Application Load Balancer's request phases: listener rules, target selection
//! with stickiness and fail-open round robin, the forwarded request's headers, and
//! ALB's own answers when a target fails.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use fulmar_model::ActionKind;
use fulmar_routing::balance::pick_weighted;
use fulmar_routing::redirect::{location, OriginalRequest};
use fulmar_routing::rules::RequestView;
use fulmar_routing::sticky::CookieSealer;
use http::header::{HeaderValue, HOST};
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;

use crate::headers;
use crate::phases::{Body, Connection, Next, ProxyPhases, RequestContext, UpstreamFailure};
use crate::responses;
use crate::snapshot::Snapshot;
use crate::stickiness;

mod pool;

/// The ALB proxy: the current compiled snapshot, the pooled connections to targets, and
/// the stickiness cookie sealer.
pub(crate) struct Alb {
    snapshot: ArcSwap<Snapshot>,
    pool: pool::Pool,
    sealer: CookieSealer,
    /// Connections blocked by security groups, held silent.
    pub held: crate::secgroups::Held,
}

impl Alb {
    pub fn new(options: &crate::Options) -> Alb {
        Alb {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            pool: pool::Pool::default(),
            sealer: CookieSealer::new(options.cookie_key),
            held: Default::default(),
        }
    }

    /// Whether the current snapshot's security groups let `client` into the listener
    /// at `local` (see [`crate::secgroups`]).
    pub fn admits(&self, client: SocketAddr, local: SocketAddr) -> bool {
        crate::secgroups::admits(&self.snapshot.load().world, client, local)
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
        }
    }

    fn route(&self, req: &Request<Incoming>, ctx: &mut RequestContext) -> Next<()> {
        let snapshot = ctx.snapshot.clone();
        let Some(listener) = snapshot.listeners.get(&*ctx.listener_arn) else {
            // The listener was removed while this keep-alive connection was open.
            return Next::Respond(responses::page_and_close(StatusCode::SERVICE_UNAVAILABLE));
        };
        ctx.upstream_timeout = listener.idle_timeout;
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
                    protocol: "http",
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
                let weights: Vec<u32> = groups.iter().map(|g| g.weight).collect();
                pick_weighted(&weights, rand::random()).and_then(|i| groups.get(i))
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

    fn select_target(&self, req: &Request<Incoming>, ctx: &mut RequestContext) -> Next<()> {
        let Some(tg) = ctx.target_group.clone() else {
            return Next::Respond(responses::page(StatusCode::SERVICE_UNAVAILABLE));
        };
        let routable = tg.health.routable();
        let sticky = tg.stickiness.and_then(|_| {
            let now = stickiness::now_unix();
            stickiness::cookie_values(req.headers()).into_iter().find_map(|value| {
                let (id, port) = self.sealer.open(value, &tg.arn, now)?;
                routable.iter().find(|t| t.id == id && t.port == port)
            })
        });
        let target = match sticky {
            Some(t) => t,
            None => match tg.health.round_robin.pick(routable.len()) {
                Some(i) => &routable[i],
                None => return Next::Respond(responses::page(StatusCode::SERVICE_UNAVAILABLE)),
            },
        };
        let Ok(ip) = target.id.parse::<IpAddr>() else {
            tracing::warn!(target_group = %tg.arn, target = %target.id, "target id is not an IP address");
            return Next::Respond(responses::page(StatusCode::BAD_GATEWAY));
        };
        ctx.target_addr = Some(SocketAddr::new(ip, target.port));
        ctx.target = Some(target.clone());
        Next::Continue(())
    }

    fn upstream_request(&self, head: &mut http::request::Parts, ctx: &RequestContext) {
        // Origin form (`/path?query`, as received) on the connection to the target; a
        // request without Host (HTTP/1.0) gets the target's address as its Host.
        let path = head.uri.path_and_query().cloned();
        head.uri = Uri::from(path.unwrap_or_else(|| PathAndQuery::from_static("/")));
        if let (Some(addr), false) = (ctx.target_addr, head.headers.contains_key(HOST)) {
            // Invariant: a formatted socket address is visible ASCII.
            let host = HeaderValue::from_str(&addr.to_string()).expect("an address is ASCII");
            head.headers.insert(HOST, host);
        }
        head.version = Version::HTTP_11;
        headers::strip_hop_by_hop(&mut head.headers);
        headers::add_forwarded(&mut head.headers, ctx.client.ip(), ctx.listener_port);
        headers::add_trace_id(&mut head.headers);
    }

    async fn send(&self, req: Request<Body>, ctx: &RequestContext) -> Result<Response<Incoming>, UpstreamFailure> {
        let Some(target) = ctx.target_addr else {
            return Err(UpstreamFailure::Failed("no target selected".into()));
        };
        match tokio::time::timeout(ctx.upstream_timeout, self.pool.send(target, req)).await {
            Err(_) => Err(UpstreamFailure::TimedOut),
            Ok(result) => result,
        }
    }

    fn upstream_response(&self, resp: &mut Response<Body>, ctx: &RequestContext) {
        headers::strip_hop_by_hop(resp.headers_mut());
        if let (Some(tg), Some(target)) = (&ctx.target_group, &ctx.target) {
            if let Some(duration) = tg.stickiness {
                let expires = stickiness::now_unix() + duration.as_secs();
                let sealed = self.sealer.seal(&tg.arn, &target.id, target.port, expires);
                stickiness::set_cookies(resp.headers_mut(), &sealed);
            }
        }
    }

    fn upstream_failure(&self, failure: UpstreamFailure, ctx: &RequestContext) -> Response<Body> {
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
        }
    }
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
