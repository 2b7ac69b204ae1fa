//! Tiny endpoints for the health checker to probe: an HTTP/1.1 server (optionally over
//! TLS with a self-signed certificate) whose answer can be changed while it runs and
//! which records what each probe sent, and helpers to build configurations.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fulmar_model::route53::{HealthCheck, HealthCheckConfig};
use fulmar_model::Config;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How the server answers.
#[derive(Debug, Clone)]
pub enum Answer {
    Respond {
        status: &'static str,
        body: String,
    },
    /// Accept, read the request, never answer.
    Silent,
}

/// What one probe sent.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub request_line: String,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub sni: Option<String>,
}

pub struct Server {
    pub addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn http(answer: Answer) -> Server {
        Server::start(answer, None).await
    }

    pub async fn https(answer: Answer) -> Server {
        Server::start(answer, Some(acceptor())).await
    }

    async fn start(answer: Answer, tls: Option<TlsAcceptor>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = Arc::new(Mutex::new(answer));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let (answer, seen) = (answer.clone(), seen.clone());
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (answer, seen, tls) = (answer.clone(), seen.clone(), tls.clone());
                    tokio::spawn(async move {
                        match tls {
                            None => serve(stream, None, &answer, &seen).await,
                            Some(acceptor) => {
                                let Ok(stream) = acceptor.accept(stream).await else {
                                    return;
                                };
                                let sni = stream.get_ref().1.server_name().map(str::to_owned);
                                serve(stream, sni, &answer, &seen).await
                            }
                        }
                    });
                }
            }
        });
        Server {
            addr,
            answer,
            seen,
            task,
        }
    }

    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub fn ok(body: &str) -> Answer {
    Answer::Respond {
        status: "200 OK",
        body: body.to_owned(),
    }
}

pub fn status(status: &'static str) -> Answer {
    Answer::Respond {
        status,
        body: String::new(),
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    sni: Option<String>,
    answer: &Mutex<Answer>,
    seen: &Mutex<Vec<Seen>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut s = Seen {
        request_line: lines.next().unwrap_or_default().to_owned(),
        sni,
        ..Seen::default()
    };
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "host" => s.host = Some(value.trim().to_owned()),
                "user-agent" => s.user_agent = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    seen.lock().unwrap().push(s);
    let answer = answer.lock().unwrap().clone();
    match answer {
        Answer::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
        Answer::Respond { status, body } => {
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    }
}

fn acceptor() -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(include_bytes!("../data/cert.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../data/key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// A health check of `kind` at `addr` with failure threshold `threshold`.
pub fn check(id: &str, kind: &str, addr: SocketAddr, threshold: u32) -> HealthCheck {
    HealthCheck {
        id: id.into(),
        caller_reference: id.into(),
        config: HealthCheckConfig {
            kind: kind.into(),
            ip_address: Some(addr.ip().to_string()),
            port: Some(addr.port()),
            resource_path: None,
            fqdn: None,
            search_string: None,
            request_interval: 10,
            failure_threshold: threshold,
            measure_latency: false,
            inverted: false,
            disabled: false,
            enable_sni: false,
            health_threshold: None,
            child_health_checks: Vec::new(),
            regions: Vec::new(),
            insufficient_data_health_status: None,
        },
        version: 1,
        tags: Vec::new(),
    }
}

pub fn config(checks: Vec<HealthCheck>) -> Arc<Config> {
    let health_checks: fulmar_model::ResourceMap<_> = checks.into_iter().map(|c| (c.id.clone(), Arc::new(c))).collect();
    Arc::new(Config {
        health_checks,
        ..Config::default()
    })
}

/// Poll `cond` every 20 ms until it holds; panics with `what` after `limit`.
pub async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
