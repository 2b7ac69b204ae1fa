//! The AWS API endpoint: one HTTP server for every service. Each call is
//! authenticated with SigV4, routed by the service name in its credential scope,
//! and answered by the control plane. `GET /_fulmar/health` reports readiness;
//! `POST /_fulmar/reset` (alias `/moto-api/reset`) forgets every resource;
//! `GET /_fulmar/explain?from=IP&to=IP&traffic=tcp/22` explains a flow in plain words
//! (what `fulmar explain` prints); `GET /_fulmar/ca.pem` serves the root certificate of
//! Fulmar's certificate authority, which signs ACM's issued certificates;
//! `GET /metrics` serves the load balancers'
//! CloudWatch metrics in the Prometheus text format.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use fulmar_aws::sigv4;
use fulmar_control::{AnnouncementHold, Control, Service};

/// Largest request body the API accepts.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The content type of CloudWatch Logs' awsJson1.1 answers.
const LOGS_JSON: &str = "application/x-amz-json-1.1";

/// The credentials every call must be signed with.
const ACCESS_KEY: &str = "test";
const SECRET_KEY: &str = "test";

pub async fn serve(listener: TcpListener, control: Arc<Control>, data_plane: Arc<fulmar_alb::DataPlane>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "API accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let control = control.clone();
        let data_plane = data_plane.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let (control, data_plane) = (control.clone(), data_plane.clone());
                async move {
                    if req.method() == http::Method::GET && req.uri().path() == "/metrics" {
                        return Ok(reply(
                            200,
                            "text/plain; version=0.0.4; charset=utf-8",
                            data_plane.metrics(),
                        ));
                    }
                    handle(req, control).await
                }
            });
            let conn = hyper::server::conn::http1::Builder::new();
            if let Err(e) = conn.serve_connection(TokioIo::new(stream), svc).await {
                tracing::debug!(error = %e, "API connection ended");
            }
        });
    }
}

/// An answer's body. A write's answer carries the control plane's hold on waking the
/// data plane's compilers, released once hyper has taken the last bytes: the answer
/// is then written out in the same turn of the connection task, before any compiler
/// runs on this worker.
pub struct Answer {
    body: Full<Bytes>,
    hold: Option<AnnouncementHold>,
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if self.body.is_end_stream() {
            self.hold = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A call handed to the writer thread.
type Job = Box<dyn FnOnce() + Send>;

/// The thread that runs the calls that may write (started by the first one). Writes
/// are serialised by the control plane's lock anyway, so one thread loses nothing, and
/// handing a call to a thread that waits on a channel costs one wake-up each way (the
/// blocking pool adds its own lock and condition variable to each hand-over).
static WRITER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();

/// Run `call` on the writer thread, off the runtime's workers; `Err` if it panicked.
async fn write<R: Send + 'static>(call: impl FnOnce() -> R + Send + 'static) -> Result<R, ()> {
    let writer = WRITER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("api-writer".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("spawning the API writer thread");
        Mutex::new(tx)
    });
    let (done, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // A panic fails this call (its sender is dropped), not the thread.
        if let Ok(r) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
            let _ = done.send(r);
        }
    });
    writer
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(job)
        .map_err(|_| ())?;
    answer.await.map_err(|_| ())
}

fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Answer> {
    let mut resp = Response::new(Answer {
        body: Full::new(body.into()),
        hold: None,
    });
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp
}

async fn handle(req: Request<Incoming>, control: Arc<Control>) -> Result<Response<Answer>, Infallible> {
    if req.uri().path() == "/_fulmar/health" {
        return Ok(reply(200, "application/json", r#"{"status":"ok"}"#));
    }
    // The root of Fulmar's certificate authority, which signs ACM's issued certificates.
    if req.method() == http::Method::GET && req.uri().path() == "/_fulmar/ca.pem" {
        let control2 = control.clone();
        let root = tokio::task::spawn_blocking(move || control2.certificate_authority_pem()).await;
        return Ok(match root {
            Ok(Ok(pem)) => reply(200, "application/x-pem-file", pem),
            Ok(Err(e)) => reply(500, "text/plain", e.message),
            Err(_) => reply(500, "text/plain", "internal error"),
        });
    }
    if req.method() == http::Method::POST && matches!(req.uri().path(), "/_fulmar/reset" | "/moto-api/reset") {
        let control2 = control.clone();
        return Ok(match tokio::task::spawn_blocking(move || control2.reset()).await {
            Ok(Ok(())) => reply(200, "application/json", r#"{"status":"reset"}"#),
            Ok(Err(e)) => reply(500, "text/plain", e.to_string()),
            Err(_) => reply(500, "text/plain", "internal error"),
        });
    }
    if req.uri().path() == "/_fulmar/explain" {
        let (status, text) = explain(req.uri().query().unwrap_or(""), &control);
        return Ok(reply(status, "text/plain; charset=utf-8", text));
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(reply(413, "text/plain", "request body too large")),
    };
    // Unsigned or unrecognised calls get the Query protocol's answer (ELBv2's shape)
    // unless the scope names a service we know.
    let scope = sigv4::scope(&parts.headers, parts.uri.query());
    let service = scope
        .as_ref()
        .ok()
        .and_then(|s| Service::from_signing_name(&s.service))
        .unwrap_or(Service::Elbv2);
    let secret_of = |key: &str| (key == ACCESS_KEY).then(|| SECRET_KEY.to_string());
    let verified = sigv4::verify(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        &body,
        &secret_of,
        SystemTime::now(),
    );
    let is_logs = scope
        .as_ref()
        .is_ok_and(|s| matches!(s.service.as_str(), "logs" | "ssm" | "acm"));
    let scope = match verified {
        Ok(scope) => scope,
        Err(e) if is_logs => {
            let err = e.to_aws(fulmar_aws::Flavour::RestXml);
            return Ok(reply(err.status, LOGS_JSON, Control::json_error_body(&err)));
        }
        Err(e) => {
            let err = e.to_aws(service.flavour());
            let id = fulmar_aws::xml::request_id();
            let xml = fulmar_aws::xml::error_response(service.flavour(), service.namespace(), &id, &err);
            return Ok(reply(err.status, "text/xml", xml));
        }
    };
    if matches!(scope.service.as_str(), "logs" | "ssm" | "acm") {
        // CloudWatch Logs, SSM and ACM speak awsJson1.1: the operation is in X-Amz-Target.
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (region, signing_name) = (scope.region.clone(), scope.service.clone());
        let mut hold = None;
        let answer = match control.handle_json_read(&signing_name, &region, target.as_deref(), &body) {
            Some(reply) => Ok(reply),
            None => {
                hold = Some(control.hold_announcements());
                write(move || control.handle_json(&signing_name, &region, target.as_deref(), &body)).await
            }
        };
        return Ok(match answer {
            Ok(r) => {
                let mut resp = reply(r.status, LOGS_JSON, r.body);
                for (name, value) in r.headers {
                    if let (Ok(n), Ok(v)) = (
                        http::HeaderName::from_bytes(name.as_bytes()),
                        http::HeaderValue::from_str(&value),
                    ) {
                        resp.headers_mut().append(n, v);
                    }
                }
                resp.body_mut().hold = hold;
                resp
            }
            Err(_) => reply(500, "text/plain", "internal error"),
        });
    }
    let Some(service) = Service::from_signing_name(&scope.service) else {
        let msg = format!("Service '{}' is not served by Fulmar", scope.service);
        let err = fulmar_aws::AwsError::new("UnknownService", 400, msg);
        let id = fulmar_aws::xml::request_id();
        let xml = fulmar_aws::xml::error_response(service.flavour(), service.namespace(), &id, &err);
        return Ok(reply(400, "text/xml", xml));
    };
    // Reads (Describe*, List*, Get*) are answered here, on the runtime's worker, from
    // the published configuration: no hop to another thread, and no wait for a write's
    // fsync. What may write runs on the writer thread, off the workers, and holds back
    // the data plane's compilers until its answer is handed to the connection.
    let region = scope.region.clone();
    let mut hold = None;
    let answer = if service.flavour() == fulmar_aws::Flavour::RestXml {
        let (method, path, query) = (parts.method.as_str(), parts.uri.path(), parts.uri.query());
        match control.handle_rest_read(service, &region, method, path, query, &body) {
            Some(reply) => Ok(reply),
            None => {
                let (method, path, query) = (method.to_string(), path.to_string(), query.map(str::to_string));
                hold = Some(control.hold_announcements());
                write(move || control.handle_rest(service, &region, &method, &path, query.as_deref(), &body)).await
            }
        }
    } else {
        // GET requests carry their parameters in the query string.
        let params: Bytes = if body.is_empty() {
            Bytes::from(parts.uri.query().unwrap_or("").to_string())
        } else {
            body
        };
        match control.handle_read(service, &region, &params) {
            Ok(reply) => Ok(reply),
            Err(req) => {
                hold = Some(control.hold_announcements());
                write(move || control.handle_request(service, &region, req)).await
            }
        }
    };
    Ok(match answer {
        Ok(r) => {
            let mut resp = reply(r.status, "text/xml", r.body);
            for (name, value) in r.headers {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(&value),
                ) {
                    resp.headers_mut().append(n, v);
                }
            }
            resp.body_mut().hold = hold;
            resp
        }
        Err(_) => reply(500, "text/plain", "internal error"),
    })
}

/// The security-group verdict on one flow, in plain words, against the current configuration.
fn explain(query: &str, control: &Control) -> (u16, String) {
    let mut from = None;
    let mut to = None;
    let mut traffic = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "from" => from = v.parse::<std::net::IpAddr>().ok(),
            "to" => to = v.parse::<std::net::IpAddr>().ok(),
            "traffic" => traffic = v.parse::<fulmar_secgroup::Traffic>().ok(),
            _ => {}
        }
    }
    let (Some(from), Some(to), Some(traffic)) = (from, to, traffic) else {
        return (
            400,
            "usage: /_fulmar/explain?from=IP&to=IP&traffic=tcp/22 (tcp/N, udp/N, icmp/TYPE/CODE, all)\n".into(),
        );
    };
    let world = fulmar_secgroup::World::from_config(&control.config());
    let mut text = fulmar_secgroup::explain(&fulmar_secgroup::Flow::new(from, to, traffic), &world);
    text.push('\n');
    (200, text)
}
