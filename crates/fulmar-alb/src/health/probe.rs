//! One health-check probe on a fresh connection, judged by the target group's success
//! codes: `GET <path>` over HTTP/1.1 (`HTTP1` target groups) or HTTP/2 (`HTTP2`), or
//! for `GRPC` target groups a gRPC call — `POST <path>` (default
//! `/AWS.ALB/healthcheck`) over HTTP/2 carrying an empty message — whose `grpc-status`
//! is judged by `Matcher.GrpcCode` (default `12`, UNIMPLEMENTED: a gRPC server that
//! answers at all is alive). With `HealthCheckProtocol` `HTTPS` the probe runs over TLS
//! without validating the target's certificate (as AWS does; see [`crate::target_tls`])
//! and HTTP/2 is negotiated with ALPN `h2`; with `HTTP`, HTTP/2 is spoken with prior
//! knowledge (h2c).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fulmar_model::{HealthCheck, Target};
use fulmar_routing::health::{CodeMatcher, Probe};
use http::header::{HeaderValue, ACCEPT, CONNECTION, CONTENT_TYPE, HOST, TE, USER_AGENT as USER_AGENT_HEADER};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::alb::TargetProtocol;

/// The User-Agent AWS's health checker sends.
const USER_AGENT: &str = "ELB-HealthChecker/2.0";
/// The gRPC health-check path when the target group names none.
const GRPC_DEFAULT_PATH: &str = "/AWS.ALB/healthcheck";
/// One gRPC message, uncompressed and empty: flag 0, length 0.
const EMPTY_GRPC_MESSAGE: &[u8] = &[0, 0, 0, 0, 0];

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What one probe needs, prepared once per health-check configuration.
pub(crate) struct ProbeSpec {
    pub check: HealthCheck,
    pub protocol: TargetProtocol,
    pub matcher: CodeMatcher,
    pub timeout: Duration,
    /// `HealthCheckProtocol` is `HTTPS`: probes speak TLS.
    pub tls: bool,
}

impl ProbeSpec {
    pub fn new(check: &HealthCheck, protocol: TargetProtocol) -> ProbeSpec {
        let grpc = protocol == TargetProtocol::Grpc;
        let (configured, default) = if grpc {
            (check.matcher.as_ref().and_then(|m| m.grpc_code.as_deref()), "12")
        } else {
            (check.matcher.as_ref().and_then(|m| m.http_code.as_deref()), "200")
        };
        let code = configured.unwrap_or(default);
        let matcher = CodeMatcher::parse(code, grpc).unwrap_or_else(|message| {
            tracing::warn!(matcher = code, %message, "invalid health-check matcher; using {default}");
            // "200" and "12" are the documented defaults and always parse.
            CodeMatcher::parse(default, grpc).expect("the default matcher is valid")
        });
        let tls = check.protocol == "HTTPS";
        if check.protocol != "HTTP" && !tls {
            tracing::warn!(protocol = %check.protocol, "health checks are probed over plain HTTP");
        }
        ProbeSpec {
            check: check.clone(),
            protocol,
            matcher,
            timeout: Duration::from_secs(u64::from(check.timeout_seconds.max(1))),
            tls,
        }
    }

    fn path(&self) -> &str {
        let default = if self.protocol == TargetProtocol::Grpc {
            GRPC_DEFAULT_PATH
        } else {
            "/"
        };
        self.check.path.as_deref().filter(|p| !p.is_empty()).unwrap_or(default)
    }
}

/// One probe's result, with what the health check log records of it.
#[derive(Debug)]
pub(crate) struct Checked {
    pub probe: Probe,
    /// Where the probe went (the health-check port of the target).
    pub addr: Option<SocketAddr>,
    pub started: SystemTime,
    pub latency: Duration,
    /// The response's status code (gRPC: its `grpc-status`) when one arrived.
    pub code: Option<u16>,
    /// The health check log's reason code of a failed probe.
    pub reason: Option<&'static str>,
}

/// Probe `target` once.
pub(crate) async fn probe(target: &Target, spec: &ProbeSpec) -> Checked {
    let started = SystemTime::now();
    let clock = Instant::now();
    let failed = |addr, code, reason| Checked {
        probe: Probe::Failed,
        addr,
        started,
        latency: clock.elapsed(),
        code,
        reason: Some(reason),
    };
    let Ok(ip) = target.id.parse::<IpAddr>() else {
        return failed(None, None, "InternalError");
    };
    let port = match spec.check.port.as_str() {
        "traffic-port" => target.port,
        p => p.parse().unwrap_or(target.port),
    };
    let addr = SocketAddr::new(ip, port);
    let checked = async {
        match spec.protocol {
            TargetProtocol::Http1 => http1_status(addr, spec.tls, spec.path()).await,
            TargetProtocol::Http2 => http2_status(addr, spec.tls, spec.path()).await,
            TargetProtocol::Grpc => grpc_status(addr, spec.tls, spec.path()).await,
        }
    };
    let outcome = tokio::time::timeout(spec.timeout, checked).await;
    let (probe, code, reason) = match outcome {
        Err(_) => (Probe::Timeout, None, Some("TimedOut")),
        Ok(Err(e)) => {
            tracing::trace!(%addr, error = %e, "health probe failed");
            match e.downcast_ref::<GrpcAnswer>() {
                Some(GrpcAnswer::NoStatus) => return failed(Some(addr), Some(200), "GRPCStatusHeaderEmpty"),
                Some(&GrpcAnswer::Http(code)) => return failed(Some(addr), Some(code), mismatch_reason(code)),
                None => (Probe::Failed, None, Some("ConnectionReset")),
            }
        }
        Ok(Ok(code)) if spec.matcher.accepts(code) => (Probe::Success, Some(code), None),
        Ok(Ok(code)) if spec.protocol == TargetProtocol::Grpc => {
            (Probe::CodeMismatch(code), Some(code), Some("GRPCUnexpectedStatus"))
        }
        Ok(Ok(code)) => (Probe::CodeMismatch(code), Some(code), Some(mismatch_reason(code))),
    };
    Checked {
        probe,
        addr: Some(addr),
        started,
        latency: clock.elapsed(),
        code,
        reason,
    }
}

/// The health check log's reason for an HTTP answer the matcher rejects.
fn mismatch_reason(code: u16) -> &'static str {
    if code >= 500 {
        "TargetError"
    } else {
        "ResponseCodeMismatch"
    }
}

/// A gRPC health check that got an answer, but not a gRPC status.
#[derive(Debug)]
enum GrpcAnswer {
    /// An HTTP status other than 200.
    Http(u16),
    /// HTTP 200 without `grpc-status`.
    NoStatus,
}

impl std::fmt::Display for GrpcAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrpcAnswer::Http(code) => write!(f, "gRPC health check answered HTTP {code}"),
            GrpcAnswer::NoStatus => f.write_str("gRPC answer without grpc-status"),
        }
    }
}

impl std::error::Error for GrpcAnswer {}

/// Send one GET over HTTP/1.1 and return the response status.
async fn http1_status(addr: SocketAddr, tls: bool, path: &str) -> Result<u16, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, driver) = if tls {
        let stream = crate::target_tls::connect(stream, addr, false).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        (
            sender,
            tokio::spawn(async move {
                let _ = conn.await;
            }),
        )
    } else {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        (
            sender,
            tokio::spawn(async move {
                let _ = conn.await;
            }),
        )
    };
    let request = Request::get(path)
        .header(HOST, addr.to_string())
        .header(USER_AGENT_HEADER, USER_AGENT)
        .header(ACCEPT, "*/*")
        .header(CONNECTION, "close")
        .body(Full::new(Bytes::new()))?;
    let result = sender.send_request(request).await;
    driver.abort();
    Ok(result?.status().as_u16())
}

/// Send one GET over HTTP/2 and return the response status.
async fn http2_status(addr: SocketAddr, tls: bool, path: &str) -> Result<u16, BoxError> {
    let request = Request::get(format!("{}://{addr}{path}", scheme(tls)))
        .header(USER_AGENT_HEADER, USER_AGENT)
        .header(ACCEPT, "*/*")
        .body(Full::new(Bytes::new()))?;
    let (resp, driver) = http2_exchange(addr, tls, request).await?;
    driver.abort();
    Ok(resp.status().as_u16())
}

/// Call the gRPC method at `path` with an empty message; return its `grpc-status`.
async fn grpc_status(addr: SocketAddr, tls: bool, path: &str) -> Result<u16, BoxError> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("{}://{addr}{path}", scheme(tls)))
        .header(CONTENT_TYPE, "application/grpc")
        .header(TE, "trailers")
        .header(USER_AGENT_HEADER, USER_AGENT)
        .body(Full::new(Bytes::from_static(EMPTY_GRPC_MESSAGE)))?;
    let (resp, driver) = http2_exchange(addr, tls, request).await?;
    let result = grpc_code(resp).await;
    driver.abort();
    result
}

/// The `grpc-status` of a gRPC response: in its headers (a trailers-only answer) or
/// in its trailers.
async fn grpc_code(resp: Response<Incoming>) -> Result<u16, BoxError> {
    if resp.status() != http::StatusCode::OK {
        return Err(GrpcAnswer::Http(resp.status().as_u16()).into());
    }
    if let Some(code) = parse_grpc_status(resp.headers().get("grpc-status")) {
        return Ok(code);
    }
    let collected = resp.into_body().collect().await?;
    parse_grpc_status(collected.trailers().and_then(|t| t.get("grpc-status")))
        .ok_or_else(|| GrpcAnswer::NoStatus.into())
}

fn parse_grpc_status(value: Option<&HeaderValue>) -> Option<u16> {
    value?.to_str().ok()?.trim().parse().ok()
}

fn scheme(tls: bool) -> &'static str {
    if tls {
        "https"
    } else {
        "http"
    }
}

/// Open an HTTP/2 connection to `addr` (h2c, or TLS with ALPN `h2` when `tls`) and send
/// `request` (absolute-form URI); returns the response and the connection's driver
/// task (abort it when done).
async fn http2_exchange(
    addr: SocketAddr,
    tls: bool,
    request: Request<Full<Bytes>>,
) -> Result<(Response<Incoming>, tokio::task::JoinHandle<()>), BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, driver) = if tls {
        let stream = crate::target_tls::connect(stream, addr, true).await?;
        let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
        (
            sender,
            tokio::spawn(async move {
                let _ = conn.await;
            }),
        )
    } else {
        let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
        (
            sender,
            tokio::spawn(async move {
                let _ = conn.await;
            }),
        )
    };
    match sender.send_request(request).await {
        Ok(resp) => Ok((resp, driver)),
        Err(e) => {
            driver.abort();
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: Option<&str>, http: Option<&str>, grpc: Option<&str>) -> HealthCheck {
        HealthCheck {
            enabled: true,
            protocol: "HTTP".into(),
            port: "traffic-port".into(),
            path: path.map(str::to_owned),
            interval_seconds: 5,
            timeout_seconds: 2,
            healthy_threshold: 2,
            unhealthy_threshold: 2,
            matcher: Some(fulmar_model::Matcher {
                http_code: http.map(str::to_owned),
                grpc_code: grpc.map(str::to_owned),
            }),
        }
    }

    #[test]
    fn grpc_defaults_to_code_12_and_the_alb_path() {
        let spec = ProbeSpec::new(&check(None, None, None), TargetProtocol::Grpc);
        assert!(spec.matcher.accepts(12) && !spec.matcher.accepts(0));
        assert_eq!(spec.path(), "/AWS.ALB/healthcheck");
        let spec = ProbeSpec::new(&check(Some("/pkg.Svc/Check"), None, Some("0,12")), TargetProtocol::Grpc);
        assert!(spec.matcher.accepts(0) && spec.matcher.accepts(12) && !spec.matcher.accepts(5));
        assert_eq!(spec.path(), "/pkg.Svc/Check");
    }

    #[test]
    fn http_matchers_ignore_grpc_codes() {
        let spec = ProbeSpec::new(&check(None, Some("200-299"), None), TargetProtocol::Http2);
        assert!(spec.matcher.accepts(204) && !spec.matcher.accepts(12));
        assert_eq!(spec.path(), "/");
        let spec = ProbeSpec::new(&check(Some("/health"), None, None), TargetProtocol::Http1);
        assert!(spec.matcher.accepts(200) && !spec.matcher.accepts(201));
    }

    #[test]
    fn grpc_status_values() {
        assert_eq!(parse_grpc_status(Some(&HeaderValue::from_static("12"))), Some(12));
        assert_eq!(parse_grpc_status(Some(&HeaderValue::from_static("x"))), None);
        assert_eq!(parse_grpc_status(None), None);
    }
}
