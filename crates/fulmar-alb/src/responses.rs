//! Responses the load balancer writes itself: its error pages (502, 503, 504), redirects
//! and fixed responses, each with `Server: awselb/2.0` as an ALB sends them.

use bytes::Bytes;
use fulmar_model::FixedResponseConfig;
use http::header::{HeaderValue, CONNECTION, CONTENT_TYPE, LOCATION, SERVER};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::ext::ReasonPhrase;

use crate::phases::Body;

const SERVER_NAME: &str = "awselb/2.0";

/// ALB's answer to an X-Forwarded-For of more than 30 addresses: 463.
pub(crate) fn too_many_forwarded_for() -> StatusCode {
    StatusCode::from_u16(463).unwrap_or(StatusCode::BAD_REQUEST)
}

/// A body the load balancer wrote.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// The reason phrase an ALB uses: nginx's spelling where it differs from the RFC's.
fn reason(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => "Service Temporarily Unavailable",
        StatusCode::GATEWAY_TIMEOUT => "Gateway Time-out",
        other => other.canonical_reason().unwrap_or(""),
    }
}

/// The HTML page an ALB answers with for its own status codes (and redirects); the
/// status line carries the same reason phrase as the page.
pub(crate) fn page(status: StatusCode) -> Response<Body> {
    let phrase = reason(status);
    let title = if phrase.is_empty() {
        status.as_u16().to_string()
    } else {
        format!("{} {phrase}", status.as_u16())
    };
    let html = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    let mut resp = Response::new(full(html));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    // An empty phrase (463) is written as such, not as hyper's `<none>`.
    if Some(phrase) != status.canonical_reason() {
        resp.extensions_mut()
            .insert(ReasonPhrase::from_static(phrase.as_bytes()));
    }
    resp
}

/// A load-balancer error page that also closes the connection (the listener is gone).
pub(crate) fn page_and_close(status: StatusCode) -> Response<Body> {
    let mut resp = page(status);
    resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// A redirect action's answer: 301/302 with the `Location` and ALB's HTML page.
pub(crate) fn redirect(code: u16, location: &str) -> Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::FOUND);
    let mut resp = page(status);
    match HeaderValue::from_str(location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
            resp
        }
        Err(_) => {
            tracing::warn!(location, "redirect target is not a valid header value");
            page(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// A fixed-response action's answer. The content type gets `; charset=utf-8` as on
/// ALB, and defaults to `text/plain` when the action names none.
pub(crate) fn fixed(config: &FixedResponseConfig) -> Response<Body> {
    let status = config
        .status_code
        .parse::<u16>()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::OK);
    let body = config.message_body.clone().unwrap_or_default();
    let content_type = format!(
        "{}; charset=utf-8",
        config.content_type.as_deref().unwrap_or("text/plain")
    );
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(CONTENT_TYPE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_is_shaped_like_albs() {
        let resp = page(StatusCode::BAD_GATEWAY);
        assert_eq!(resp.headers()[SERVER], "awselb/2.0");
        assert_eq!(resp.status(), 502);
    }

    #[test]
    fn status_463_has_an_empty_reason() {
        let resp = page(too_many_forwarded_for());
        assert_eq!(resp.status(), 463);
        let reason = resp.extensions().get::<ReasonPhrase>().expect("a reason phrase");
        assert_eq!(reason.as_bytes(), b"");
    }
}
