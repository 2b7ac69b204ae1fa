//! Shared helpers for the data-plane integration tests: configuration builders, tiny
//! hyper backends that report who they are and what they received, and an HTTP client
//! that talks to the load balancer over real sockets.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fulmar_alb::{DataPlane, Options};
use fulmar_model::*;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1";
pub const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/lb/1";
pub const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/lb/1/1";
pub const PORT: u16 = 8080;

pub fn load_balancer(address: Ipv4Addr) -> LoadBalancer {
    LoadBalancer {
        arn: LB.into(),
        name: "lb".into(),
        dns_name: "lb.example".into(),
        canonical_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
        created_ms: 0,
        scheme: "internet-facing".into(),
        vpc_id: "vpc-1".into(),
        state: "active".into(),
        kind: "application".into(),
        subnets: vec![],
        security_groups: vec![],
        ip_address_type: "ipv4".into(),
        address,
        attributes: BTreeMap::from([("idle_timeout.timeout_seconds".into(), "60".into())]),
        tags: vec![],
    }
}

pub fn listener(port: u16, default_action: Action) -> Listener {
    Listener {
        arn: LISTENER.into(),
        load_balancer_arn: LB.into(),
        port,
        protocol: "HTTP".into(),
        default_actions: vec![default_action],
        certificates: vec![],
        ssl_policy: None,
        alpn_policy: vec![],
        tags: vec![],
        attributes: Default::default(),
        mutual_authentication: None,
    }
}

/// A health check probing `/health` every second; healthy after 2, unhealthy after 2.
pub fn fast_check() -> HealthCheck {
    HealthCheck {
        enabled: true,
        protocol: "HTTP".into(),
        port: "traffic-port".into(),
        path: Some("/health".into()),
        interval_seconds: 1,
        timeout_seconds: 1,
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        matcher: Some(Matcher {
            http_code: Some("200".into()),
            grpc_code: None,
        }),
    }
}

pub fn target_group(arn: &str, targets: &[SocketAddr]) -> TargetGroup {
    TargetGroup {
        arn: arn.into(),
        name: "web".into(),
        protocol: Some("HTTP".into()),
        protocol_version: Some("HTTP1".into()),
        port: Some(80),
        vpc_id: Some("vpc-1".into()),
        target_type: "ip".into(),
        ip_address_type: "ipv4".into(),
        health_check: fast_check(),
        attributes: BTreeMap::from([
            ("deregistration_delay.timeout_seconds".into(), "300".into()),
            ("stickiness.enabled".into(), "false".into()),
            ("stickiness.type".into(), "lb_cookie".into()),
            ("stickiness.lb_cookie.duration_seconds".into(), "86400".into()),
        ]),
        targets: targets.iter().map(target).collect(),
        tags: vec![],
        deregistered: vec![],
    }
}

pub fn target(addr: &SocketAddr) -> Target {
    Target {
        id: addr.ip().to_string(),
        port: addr.port(),
        availability_zone: None,
    }
}

pub fn forward(tg: &str) -> Action {
    forward_weighted(&[(tg, 1)])
}

pub fn forward_weighted(groups: &[(&str, u32)]) -> Action {
    Action {
        order: Some(1),
        kind: ActionKind::Forward(ForwardConfig {
            single: groups.len() == 1,
            target_groups: groups
                .iter()
                .map(|(arn, weight)| WeightedTargetGroup {
                    arn: (*arn).into(),
                    weight: *weight,
                })
                .collect(),
            stickiness_seconds: None,
        }),
    }
}

pub fn fixed(status: &str, body: &str) -> Action {
    Action {
        order: Some(1),
        kind: ActionKind::FixedResponse(FixedResponseConfig {
            status_code: status.into(),
            content_type: Some("text/plain".into()),
            message_body: Some(body.into()),
        }),
    }
}

pub fn rule(n: u32, conditions: Vec<Condition>, action: Action) -> Rule {
    Rule {
        arn: format!("{LISTENER}/rule/{n}"),
        listener_arn: LISTENER.into(),
        priority: n,
        conditions,
        actions: vec![action],
        tags: vec![],
        legacy_values: vec![],
    }
}

/// One load balancer on `address` with one HTTP listener on [`PORT`], plus `groups`.
pub fn config(address: Ipv4Addr, default_action: Action, groups: Vec<TargetGroup>) -> Config {
    let mut c = Config::default();
    c.load_balancers.insert(LB.into(), Arc::new(load_balancer(address)));
    c.listeners
        .insert(LISTENER.into(), Arc::new(listener(PORT, default_action)));
    for g in groups {
        c.target_groups.insert(g.arn.clone(), Arc::new(g));
    }
    c
}

pub fn start(config: Config) -> (watch::Sender<Arc<Config>>, Arc<DataPlane>) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("fulmar_alb=debug")
        .with_test_writer()
        .try_init();
    let (tx, rx) = watch::channel(Arc::new(config));
    let plane = DataPlane::start(rx, Options::new([7; 32]));
    (tx, plane)
}

/// A backend: answers `<name>` plus the request's headers, one per line; `/health`
/// answers `health_status`; `/slow` answers after `delay_ms`.
pub struct Backend {
    pub addr: SocketAddr,
    pub name: String,
    pub health_status: Arc<AtomicU16>,
    pub delay_ms: Arc<AtomicU64>,
    pub health_probes: Arc<AtomicUsize>,
    pub user_agent: Arc<std::sync::Mutex<String>>,
}

impl Backend {
    /// The User-Agent of the last health probe.
    pub fn last_user_agent(&self) -> String {
        self.user_agent.lock().unwrap().clone()
    }
}

pub async fn backend(name: &str) -> Backend {
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind backend");
    let b = Backend {
        addr: socket.local_addr().expect("local addr"),
        name: name.into(),
        health_status: Arc::new(AtomicU16::new(200)),
        delay_ms: Arc::new(AtomicU64::new(0)),
        health_probes: Arc::new(AtomicUsize::new(0)),
        user_agent: Arc::default(),
    };
    let shared = Arc::new(Backend {
        addr: b.addr,
        ..b.clone_handles()
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = socket.accept().await {
            let shared = shared.clone();
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::spawn(conn);
        }
    });
    b
}

impl Backend {
    fn clone_handles(&self) -> Backend {
        Backend {
            addr: self.addr,
            name: self.name.clone(),
            health_status: self.health_status.clone(),
            delay_ms: self.delay_ms.clone(),
            health_probes: self.health_probes.clone(),
            user_agent: self.user_agent.clone(),
        }
    }
}

async fn answer(b: &Backend, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let mut status = StatusCode::OK;
    match req.uri().path() {
        "/health" => {
            b.health_probes.fetch_add(1, Ordering::SeqCst);
            let agent = req.headers().get("user-agent").and_then(|v| v.to_str().ok());
            *b.user_agent.lock().unwrap() = agent.unwrap_or("").to_owned();
            status = StatusCode::from_u16(b.health_status.load(Ordering::SeqCst)).unwrap();
        }
        "/slow" => tokio::time::sleep(Duration::from_millis(b.delay_ms.load(Ordering::SeqCst))).await,
        _ => {}
    }
    let mut body = format!("{}\n", b.name);
    for (k, v) in req.headers() {
        body.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("?")));
    }
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp
}

/// A response as a test sees it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The backend name (first body line).
    pub fn who(&self) -> &str {
        self.body.lines().next().unwrap_or("")
    }
    /// A header the backend reported receiving.
    pub fn echoed(&self, name: &str) -> Option<&str> {
        self.body.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")))
    }
}

/// A keep-alive client connection to the load balancer.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect to the listener");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Client { sender }
    }

    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = Request::get(path).header("host", "app.example.com:8080");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .sender
            .send_request(req.body(Full::new(Bytes::new())).unwrap())
            .await
            .expect("response");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// One request on a fresh connection.
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    Client::connect(addr).await.get(path, headers).await
}

pub fn lb_addr(address: Ipv4Addr) -> SocketAddr {
    SocketAddr::from((address, PORT))
}

/// Poll `check` every 50 ms for up to `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
