//! One probe of an endpoint by one checker, with Route 53's time limits: the TCP
//! connection within 4 s (10 s for TCP checks); then, for HTTP kinds, the TLS handshake
//! if any and the response's status line within 2 s of connecting; then, for
//! `*_STR_MATCH`, the body within the next 2 s. Each probe uses a fresh connection
//! (`Connection: close`) and `GET <ResourcePath>`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

use crate::decide::{body_contains, is_passing_code, Kind, SEARCH_WINDOW_BYTES};
use crate::endpoint::Endpoint;
use crate::status::{alert_name, Outcome};

const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const BODY_TIMEOUT: Duration = Duration::from_secs(2);

/// What a probe found, and against which address.
#[derive(Debug, Clone)]
pub(crate) struct Probed {
    pub outcome: Outcome,
    /// The address the FQDN resolved to (None when `IPAddress` was given).
    pub resolved: Option<IpAddr>,
    /// The address of this checker as the endpoint sees it.
    pub checker_ip: IpAddr,
}

/// Probe `endpoint` once; `reference` (the health check's id) goes into the
/// User-Agent, as Route 53 sends it.
pub(crate) async fn probe(endpoint: &Endpoint, reference: &str) -> Probed {
    let (ip, resolved) = match endpoint.ip {
        Some(ip) => (ip, None),
        None => match resolve(endpoint).await {
            Some(ip) => (ip, Some(ip)),
            None => {
                return Probed {
                    outcome: Outcome::DnsFailed,
                    resolved: None,
                    checker_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                }
            }
        },
    };
    let addr = SocketAddr::new(ip, endpoint.port);
    let outcome = probe_addr(endpoint, addr, reference).await;
    Probed {
        outcome,
        resolved,
        checker_ip: checker_ip(addr),
    }
}

async fn probe_addr(endpoint: &Endpoint, addr: SocketAddr, reference: &str) -> Outcome {
    let limit = if endpoint.kind == Kind::Tcp {
        TCP_CONNECT_TIMEOUT
    } else {
        HTTP_CONNECT_TIMEOUT
    };
    let stream = match timeout(limit, TcpStream::connect(addr)).await {
        Err(_) => return Outcome::ConnectTimeout,
        Ok(Err(e)) => return connect_error(&e),
        Ok(Ok(stream)) => stream,
    };
    if endpoint.kind == Kind::Tcp {
        return Outcome::TcpConnected;
    }
    let deadline = Instant::now() + RESPONSE_TIMEOUT;
    if !endpoint.kind.tls() {
        return exchange(stream, endpoint, addr.ip(), deadline, reference).await;
    }
    let handshake = crate::tls::connector().connect(endpoint.server_name(addr.ip()), stream);
    match timeout_at(deadline, handshake).await {
        Err(_) => Outcome::ResponseTimeout,
        Ok(Err(e)) => tls_error(&e),
        Ok(Ok(tls)) => exchange(tls, endpoint, addr.ip(), deadline, reference).await,
    }
}

/// Send the GET over `io` and judge the response.
async fn exchange<IO>(io: IO, endpoint: &Endpoint, ip: IpAddr, deadline: Instant, reference: &str) -> Outcome
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = hyper::client::conn::http1::handshake(TokioIo::new(io));
    let (mut sender, conn) = match timeout_at(deadline, handshake).await {
        Err(_) => return Outcome::ResponseTimeout,
        Ok(Err(e)) => return http_error(&e),
        Ok(Ok(parts)) => parts,
    };
    let driver = tokio::spawn(conn);
    let outcome = send(&mut sender, endpoint, ip, deadline, reference).await;
    driver.abort();
    outcome
}

async fn send(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    endpoint: &Endpoint,
    ip: IpAddr,
    deadline: Instant,
    reference: &str,
) -> Outcome {
    let request = http::Request::get(endpoint.path.as_str())
        .header(http::header::HOST, endpoint.host_header(ip))
        .header(
            http::header::USER_AGENT,
            format!("Amazon-Route53-Health-Check-Service (ref {reference}; report http://amzn.to/1vsZADi)"),
        )
        .header(http::header::ACCEPT, "*/*")
        .header(http::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new());
    let Ok(request) = request else {
        return Outcome::InvalidResponse; // a ResourcePath that is no valid request target
    };
    let response = match timeout_at(deadline, sender.send_request(request)).await {
        Err(_) => return Outcome::ResponseTimeout,
        Ok(Err(e)) => return http_error(&e),
        Ok(Ok(response)) => response,
    };
    let code = response.status().as_u16();
    let reason = match response.extensions().get::<hyper::ext::ReasonPhrase>() {
        Some(phrase) => String::from_utf8_lossy(phrase.as_bytes()).into_owned(),
        None => response.status().canonical_reason().unwrap_or_default().to_owned(),
    };
    let search = match endpoint.search_string.as_deref() {
        Some(s) if endpoint.kind.string_match() && is_passing_code(code) => s,
        _ => return Outcome::HttpStatus { code, reason },
    };
    let mut body = response.into_body();
    let mut prefix: Vec<u8> = Vec::new();
    let read = timeout(BODY_TIMEOUT, async {
        while prefix.len() < SEARCH_WINDOW_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        prefix.extend_from_slice(data);
                    }
                }
                // The endpoint closed or broke the body: judge what arrived.
                Some(Err(_)) | None => break,
            }
        }
    })
    .await;
    if body_contains(&prefix, search) {
        Outcome::HttpStatus { code, reason }
    } else if read.is_err() {
        Outcome::BodyTimeout { code, reason }
    } else {
        Outcome::SearchStringNotFound { code, reason }
    }
}

/// Resolve the FQDN with the system resolver, preferring IPv4 as Route 53 does (it
/// uses only IPv4 for checks named by FQDN); an IPv6-only name still gets probed.
async fn resolve(endpoint: &Endpoint) -> Option<IpAddr> {
    let fqdn = endpoint.fqdn.as_deref()?;
    let lookup = tokio::net::lookup_host((fqdn, endpoint.port));
    let addrs: Vec<SocketAddr> = timeout(HTTP_CONNECT_TIMEOUT, lookup).await.ok()?.ok()?.collect();
    addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).map(SocketAddr::ip)
}

/// The source address the kernel picks towards `target` (a connected UDP socket sends
/// nothing): what the endpoint sees as this checker's address.
fn checker_ip(target: SocketAddr) -> IpAddr {
    let unspecified: SocketAddr = if target.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    UdpSocket::bind(unspecified)
        .and_then(|s| s.connect(target).and_then(|()| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(unspecified.ip())
}

fn connect_error(e: &io::Error) -> Outcome {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Outcome::ConnectionRefused,
        io::ErrorKind::TimedOut => Outcome::ConnectTimeout,
        _ => Outcome::ConnectFailed(e.to_string()),
    }
}

fn tls_error(e: &io::Error) -> Outcome {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::AlertReceived(alert) => Outcome::TlsAlert(alert_name(&format!("{alert:?}"))),
            other => Outcome::TlsFailed(other.to_string()),
        };
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => Outcome::ConnectionClosed,
        _ => Outcome::TlsFailed(e.to_string()),
    }
}

fn http_error(e: &hyper::Error) -> Outcome {
    if e.is_parse() {
        Outcome::InvalidResponse
    } else if e.is_timeout() {
        Outcome::ResponseTimeout
    } else {
        Outcome::ConnectionClosed
    }
}
