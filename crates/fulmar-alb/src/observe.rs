//! What the data plane observes about each request and connection: CloudWatch
//! metrics ([`crate::metrics`]) and access-log records ([`crate::accesslog`]).
//!
//! [`Observers`] holds, per listener, what the request path needs to record a request
//! (the load balancer's counters, its log destination when access logs are on, the
//! action each rule runs), compiled from every configuration snapshot and swapped
//! atomically like the routing snapshot. [`Exchange`] follows one request through
//! [`crate::phases::handle`]: it notes when the request went to a target and when
//! the target answered, then counts the response and, when logging, wraps its body
//! so that the record (with the bytes really sent) leaves for the log writer when
//! the body is done.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use fulmar_model::{ActionKind, Config, Rule};
use http::{HeaderMap, Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Frame, SizeHint};

use crate::accesslog::{AccessLogs, ConnRecord, Destination, LogKind, Record};
use crate::metrics::{LbMetrics, Metrics, TgMetrics};
use crate::phases::{Body, Connection, RequestContext};

/// Per-listener observation state, swapped whole on each snapshot.
pub(crate) struct Observers {
    table: ArcSwap<crate::FastMap<String, Arc<ListenerObs>>>,
    logs: Option<Arc<AccessLogs>>,
    pub metrics: Arc<Metrics>,
    data_dir: Option<PathBuf>,
    account_id: String,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers").finish_non_exhaustive()
    }
}

/// What one listener's requests record into.
pub(crate) struct ListenerObs {
    pub lb: Arc<LbMetrics>,
    log: Option<Arc<Destination>>,
    /// Where connections are logged (`connection_logs.s3.enabled`).
    conn_log: Option<Arc<Destination>>,
    /// The listener's rule priorities, ascending (RuleEvaluations).
    priorities: Box<[u32]>,
    /// The terminal action of each rule by priority (`actions_executed`).
    actions: crate::FastMap<u32, &'static str>,
    default_action: &'static str,
    groups: crate::FastMap<String, Arc<TgMetrics>>,
}

impl ListenerObs {
    /// Rules processed before `matched` (its priority; `None` = the default rule).
    fn rules_evaluated(&self, matched: Option<u32>) -> u64 {
        match matched {
            Some(p) => self.priorities.partition_point(|&x| x <= p) as u64,
            None => self.priorities.len() as u64,
        }
    }

    fn action(&self, matched: Option<u32>) -> &'static str {
        matched
            .and_then(|p| self.actions.get(&p).copied())
            .unwrap_or(self.default_action)
    }
}

fn terminal(actions: &[fulmar_model::Action]) -> &'static str {
    match actions.iter().max_by_key(|a| a.order.unwrap_or(0)).map(|a| &a.kind) {
        Some(ActionKind::Redirect(_)) => "redirect",
        Some(ActionKind::FixedResponse(_)) => "fixed-response",
        _ => "forward",
    }
}

impl Observers {
    /// Access logs are written only when `options.data_dir` is set; must run inside
    /// a tokio runtime (it spawns the log writer).
    pub fn new(options: &crate::Options) -> Observers {
        Observers {
            table: ArcSwap::from_pointee(crate::FastMap::default()),
            logs: options
                .data_dir
                .as_ref()
                .map(|_| Arc::new(AccessLogs::start(options.access_log_interval))),
            metrics: Arc::new(Metrics::default()),
            data_dir: options.data_dir.clone(),
            account_id: options.account_id.clone(),
        }
    }

    /// Compile the per-listener state of `config` and publish it.
    pub fn apply(&self, config: &Config) {
        self.metrics.retain(&Arc::new(config.clone()));
        let mut table = crate::FastMap::default();
        for lb in config.load_balancers.values().filter(|lb| lb.kind == "application") {
            let metrics = self.metrics.load_balancer(&lb.arn);
            let destination = |kind| {
                self.data_dir
                    .as_deref()
                    .and_then(|dir| Destination::of(dir, &self.account_id, lb, kind))
                    .map(Arc::new)
            };
            let (log, conn_log) = (destination(LogKind::Access), destination(LogKind::Connection));
            for l in config.listeners_of(&lb.arn) {
                let rules: Vec<&Arc<Rule>> = config.rules_of(&l.arn).collect();
                let mut priorities: Vec<u32> = rules.iter().map(|r| r.priority).collect();
                priorities.sort_unstable();
                let groups = config
                    .target_groups
                    .keys()
                    .map(|arn| (arn.clone(), metrics.group(arn)))
                    .filter(|(arn, _)| config.load_balancers_of_target_group(arn).contains(&lb.arn))
                    .collect();
                table.insert(
                    l.arn.clone(),
                    Arc::new(ListenerObs {
                        lb: metrics.clone(),
                        log: log.clone(),
                        conn_log: conn_log.clone(),
                        priorities: priorities.into(),
                        actions: rules.iter().map(|r| (r.priority, terminal(&r.actions))).collect(),
                        default_action: terminal(&l.default_actions),
                        groups,
                    }),
                );
            }
        }
        self.table.store(Arc::new(table));
    }

    /// The health check logs of the load balancers `lbs` (ARNs) that have them on.
    pub fn health_check_logs(&self, config: &Config, lbs: &[String]) -> Vec<Arc<Destination>> {
        let Some(dir) = self.data_dir.as_deref() else {
            return Vec::new();
        };
        lbs.iter()
            .filter_map(|arn| config.load_balancers.get(arn))
            .filter(|lb| lb.kind == "application")
            .filter_map(|lb| Destination::of(dir, &self.account_id, lb, LogKind::HealthCheck))
            .map(Arc::new)
            .collect()
    }

    /// The log writer (`None` without a data directory).
    pub fn log_sink(&self) -> Option<Arc<AccessLogs>> {
        self.logs.clone()
    }

    pub fn listener(&self, arn: &str) -> Option<Arc<ListenerObs>> {
        self.table.load().get(arn).cloned()
    }

    /// Log a client connection just established, when its load balancer logs
    /// connections; `tls` is the HTTPS connection's and how long its handshake took.
    pub fn connection_established(
        &self,
        obs: Option<&ListenerObs>,
        conn: &Connection,
        tls: Option<(crate::tls::Tls, std::time::Duration)>,
    ) {
        // `tls_verify_status` is a TLS field: `-` on an HTTP listener.
        let status = if tls.is_some() { "Success" } else { "-" };
        self.log_connection(obs, conn, tls, status);
    }

    /// Log a client connection whose TLS handshake failed (ClientTLSNegotiationErrorCount).
    pub fn connection_failed(&self, obs: Option<&ListenerObs>, conn: &Connection) {
        self.log_connection(obs, conn, None, "Failed:UnmappedConnectionError");
    }

    fn log_connection(
        &self,
        obs: Option<&ListenerObs>,
        conn: &Connection,
        tls: Option<(crate::tls::Tls, std::time::Duration)>,
        verify_status: &'static str,
    ) {
        let (Some(destination), Some(sink)) = (obs.and_then(|o| o.conn_log.clone()), &self.logs) else {
            return;
        };
        sink.send_conn(ConnRecord {
            destination,
            time: SystemTime::now(),
            client: conn.client,
            listener_port: conn.local.port(),
            tls,
            conn_trace_id: conn.trace_id(),
            verify_status,
        });
    }

    /// Deliver the open access-log files (shutdown).
    pub async fn flush(&self) {
        if let Some(logs) = &self.logs {
            logs.flush().await;
        }
    }
}

/// Counts one client connection as new and active while alive.
pub(crate) struct ConnectionGuard(Option<Arc<LbMetrics>>);

impl ConnectionGuard {
    pub fn open(obs: Option<Arc<ListenerObs>>) -> ConnectionGuard {
        let lb = obs.map(|o| o.lb.clone());
        if let Some(lb) = &lb {
            lb.new_connections.fetch_add(1, Relaxed);
            lb.active_connections.fetch_add(1, Relaxed);
        }
        ConnectionGuard(lb)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(lb) = &self.0 {
            lb.active_connections.fetch_sub(1, Relaxed);
        }
    }
}

/// The request facts only an access log needs (captured only when logging).
struct LogFacts {
    destination: Arc<Destination>,
    method: String,
    url: String,
    version: &'static str,
    user_agent: Option<String>,
    client_trace: Option<String>,
    tls: Option<crate::tls::Tls>,
    grpc: bool,
}

/// One request being observed, from its arrival to its response.
pub(crate) struct Exchange {
    obs: Arc<ListenerObs>,
    created: SystemTime,
    received_bytes: u64,
    log: Option<LogFacts>,
    dispatched: Option<Instant>,
    trace_id: Option<String>,
    /// The target's status and when its response head arrived.
    answered: Option<(u16, Instant)>,
}

impl Exchange {
    pub fn begin<B>(obs: Arc<ListenerObs>, req: &Request<B>, conn: &Connection) -> Exchange {
        let headers = req.headers();
        let content_length = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(0);
        let uri_len = req.uri().path_and_query().map_or(1, |p| p.as_str().len());
        let received_bytes =
            (req.method().as_str().len() + uri_len + 12) as u64 + headers_len(headers) + content_length;
        let log = obs.log.clone().map(|destination| {
            let text = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let host = text(http::header::HOST)
                .or_else(|| req.uri().authority().map(|a| a.to_string()))
                .map(|h| without_port(&h).to_owned())
                .unwrap_or_else(|| conn.local.ip().to_string());
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            let tls = req.extensions().get::<crate::tls::Tls>().cloned();
            let scheme = if tls.is_some() { "https" } else { "http" };
            LogFacts {
                tls,
                grpc: text(http::header::CONTENT_TYPE).is_some_and(|t| t.starts_with("application/grpc")),
                destination,
                method: req.method().to_string(),
                url: format!("{scheme}://{host}:{}{path}", conn.local.port()),
                version: version(req.version()),
                user_agent: text(http::header::USER_AGENT),
                client_trace: text(crate::headers::X_AMZN_TRACE_ID),
            }
        });
        Exchange {
            obs,
            created: SystemTime::now(),
            received_bytes,
            log,
            dispatched: None,
            trace_id: None,
            answered: None,
        }
    }

    /// The request head is about to leave for the target (after the LB's headers).
    pub fn dispatched(&mut self, head: &http::request::Parts) {
        self.dispatched = Some(Instant::now());
        if self.log.is_some() {
            self.trace_id = head
                .headers
                .get(crate::headers::X_AMZN_TRACE_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
    }

    /// The target's response head arrived.
    pub fn answered(&mut self, status: u16) {
        self.answered = Some((status, Instant::now()));
    }

    /// Count the response and, when logging, arrange for its record.
    pub fn finish(
        self,
        resp: Response<Body>,
        ctx: &RequestContext,
        conn: &Connection,
        logs: &Observers,
    ) -> Response<Body> {
        let lb = &self.obs.lb;
        let status = resp.status().as_u16();
        let action = self.obs.action(ctx.rule_priority);
        lb.request_count.fetch_add(1, Relaxed);
        if ctx.desync.is_some() {
            // Set only for a request the classifier did not find compliant.
            lb.desync_non_compliant.fetch_add(1, Relaxed);
        }
        lb.rule_evaluations
            .fetch_add(self.obs.rules_evaluated(ctx.rule_priority), Relaxed);
        let group = ctx.target_group.as_ref().and_then(|tg| self.obs.groups.get(&tg.arn));
        if let Some(g) = group {
            g.request_count.fetch_add(1, Relaxed);
        }
        let target_time = match (self.dispatched, self.answered) {
            (Some(sent), Some((code, at))) => {
                let took = at.saturating_duration_since(sent);
                lb.target.target_response(code, took);
                if let Some(g) = group {
                    g.target_response(code, took);
                }
                Some(took)
            }
            _ => {
                lb.elb_response(status);
                match action {
                    "fixed-response" if ctx.target_group.is_none() => lb.fixed_responses.fetch_add(1, Relaxed),
                    "redirect" if ctx.target_group.is_none() => lb.redirects.fetch_add(1, Relaxed),
                    _ => 0,
                };
                None
            }
        };
        let head = response_head_len(&resp);
        let exact_body = resp.body().size_hint().exact();
        let (Some(facts), Some(sink)) = (self.log, logs.logs.clone()) else {
            lb.processed_bytes
                .fetch_add(self.received_bytes + head + exact_body.unwrap_or(0), Relaxed);
            return resp;
        };
        let redirect_url = (action == "redirect" && self.answered.is_none())
            .then(|| {
                resp.headers()
                    .get(http::header::LOCATION)?
                    .to_str()
                    .ok()
                    .map(str::to_owned)
            })
            .flatten();
        let forwarded = ctx.target_group.is_some();
        let now = Instant::now();
        let record = Record {
            destination: facts.destination,
            time: SystemTime::now(),
            client: conn.client,
            target: ctx.target_addr.filter(|_| self.dispatched.is_some()),
            request_processing: self
                .answered
                .and(self.dispatched.map(|d| d.saturating_duration_since(ctx.received))),
            target_processing: target_time,
            response_processing: self.answered.map(|(_, at)| now.saturating_duration_since(at)),
            elb_status: status,
            target_status: self.answered.map(|(code, _)| code),
            received_bytes: self.received_bytes,
            sent_bytes: 0,
            method: facts.method,
            url: facts.url,
            version: facts.version,
            user_agent: facts.user_agent,
            target_group_arn: ctx.target_group.as_ref().map(|tg| tg.arn.clone()),
            trace_id: self
                .trace_id
                .or_else(|| Some(crate::headers::trace_header(facts.client_trace.as_deref()))),
            matched_rule_priority: Some(ctx.rule_priority.unwrap_or(0)),
            request_creation_time: self.created,
            actions_executed: Some(if forwarded { "forward" } else { action }),
            redirect_url,
            error_reason: None,
            classification: ctx.desync.map(|v| (v.log_tier(), v.log_reason())),
            conn_trace_id: conn.trace_id(),
            tls: facts.tls,
            grpc: facts.grpc,
        };
        if let Some(tunnel) = resp.extensions().get::<crate::phases::websocket::Tunnel>() {
            // A WebSocket: logged when its connection closes, with its bytes.
            tunnel.defer(Box::new(record), head, sink);
            return resp;
        }
        let lb = lb.clone();
        resp.map(|body| {
            Counted {
                inner: body,
                sent: head,
                pending: Some((Box::new(record), sink, lb)),
            }
            .boxed()
        })
    }
}

/// A response body that counts what it sends and, when dropped (sent or abandoned),
/// completes and queues the access-log record.
struct Counted {
    inner: Body,
    sent: u64,
    pending: Option<(Box<Record>, Arc<AccessLogs>, Arc<LbMetrics>)>,
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = crate::phases::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, crate::phases::BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.sent += data.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some((mut record, sink, lb)) = self.pending.take() {
            record.time = SystemTime::now();
            record.sent_bytes = self.sent;
            lb.processed_bytes.fetch_add(record.received_bytes + self.sent, Relaxed);
            sink.send(*record);
        }
    }
}

fn headers_len(headers: &HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64)
        .sum::<u64>()
        + 2
}

/// The size of the response head as hyper writes it (status line, headers, and the
/// `date` and `content-length` it adds).
fn response_head_len(resp: &Response<Body>) -> u64 {
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| r.as_bytes().len())
        .or_else(|| resp.status().canonical_reason().map(str::len))
        .unwrap_or(0);
    let mut len = 15 + reason as u64 + headers_len(resp.headers());
    if !resp.headers().contains_key(http::header::DATE) {
        len += 37;
    }
    if let (false, Some(n)) = (
        resp.headers().contains_key(http::header::CONTENT_LENGTH),
        resp.body().size_hint().exact(),
    ) {
        len += 18 + n.to_string().len() as u64;
    }
    len
}

fn version(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    }
}

/// `example.com:8080` → `example.com`; `[::1]:80` → `[::1]`.
fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map(|i| &host[..=i]).unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A new connection trace id: `TID_` and 32 hex digits.
pub(crate) fn new_conn_trace_id() -> Arc<str> {
    let random: [u8; 16] = rand::random();
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("TID_{hex}").into()
}
