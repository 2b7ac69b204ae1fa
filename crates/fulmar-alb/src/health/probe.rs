//! One health-check probe: `GET <path>` to a target on a fresh connection, judged by
//! the target group's success codes.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use fulmar_model::{HealthCheck, Target};
use fulmar_routing::health::{CodeMatcher, Probe};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The User-Agent AWS's health checker sends.
const USER_AGENT: &str = "ELB-HealthChecker/2.0";

/// What one probe needs, prepared once per health-check configuration.
pub(crate) struct ProbeSpec {
    pub check: HealthCheck,
    pub matcher: CodeMatcher,
    pub timeout: Duration,
}

impl ProbeSpec {
    pub fn new(check: &HealthCheck) -> ProbeSpec {
        let code = check
            .matcher
            .as_ref()
            .and_then(|m| m.http_code.as_deref())
            .unwrap_or("200");
        let matcher = CodeMatcher::parse(code, false).unwrap_or_else(|message| {
            tracing::warn!(matcher = code, %message, "invalid health-check matcher; using 200");
            // "200" is the documented default matcher and always parses.
            CodeMatcher::parse("200", false).expect("the default matcher 200 is valid")
        });
        if check.protocol != "HTTP" {
            tracing::warn!(protocol = %check.protocol, "health checks are probed over plain HTTP");
        }
        ProbeSpec {
            check: check.clone(),
            matcher,
            timeout: Duration::from_secs(u64::from(check.timeout_seconds.max(1))),
        }
    }
}

/// Probe `target` once.
pub(crate) async fn probe(target: &Target, spec: &ProbeSpec) -> Probe {
    let Ok(ip) = target.id.parse::<IpAddr>() else {
        return Probe::Failed;
    };
    let port = match spec.check.port.as_str() {
        "traffic-port" => target.port,
        p => p.parse().unwrap_or(target.port),
    };
    let addr = SocketAddr::new(ip, port);
    let path = spec.check.path.as_deref().unwrap_or("/");
    match tokio::time::timeout(spec.timeout, get(addr, path)).await {
        Err(_) => Probe::Timeout,
        Ok(Err(_)) => Probe::Failed,
        Ok(Ok(code)) if spec.matcher.accepts(code) => Probe::Success,
        Ok(Ok(code)) => Probe::CodeMismatch(code),
    }
}

/// Send one GET and return the response status.
async fn get(addr: SocketAddr, path: &str) -> Result<u16, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(conn);
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .header(http::header::USER_AGENT, USER_AGENT)
        .header(http::header::ACCEPT, "*/*")
        .header(http::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())?;
    let result = sender.send_request(request).await;
    driver.abort();
    Ok(result?.status().as_u16())
}
