//! The headers an ALB adds to requests it forwards (X-Forwarded-For, -Proto, -Port,
//! X-Amzn-Trace-Id), and the hop-by-hop headers no proxy passes on.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};

pub(crate) const X_FORWARDED_FOR: &str = "x-forwarded-for";
pub(crate) const X_FORWARDED_PROTO: &str = "x-forwarded-proto";
pub(crate) const X_FORWARDED_PORT: &str = "x-forwarded-port";
pub(crate) const X_AMZN_TRACE_ID: &str = "x-amzn-trace-id";

/// Remove the headers that describe one hop (RFC 9110 §7.6.1), including those the
/// `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [CONNECTION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// X-Forwarded-For in `append` mode: `<existing>, <client>` (every copy of the header
/// joined in order), or just the client when the request had none.
pub(crate) fn forwarded_for(headers: &HeaderMap, client: IpAddr) -> String {
    let existing: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if existing.is_empty() {
        client.to_string()
    } else {
        format!("{}, {client}", existing.join(", "))
    }
}

/// Add the X-Forwarded-* headers of an HTTP listener on `port`.
pub(crate) fn add_forwarded(headers: &mut HeaderMap, client: IpAddr, port: u16) {
    let xff = forwarded_for(headers, client);
    // Invariant: the existing copies passed `to_str` (visible ASCII) and an IP address
    // is ASCII, so the joined list is a valid header value.
    headers.insert(
        X_FORWARDED_FOR,
        HeaderValue::from_str(&xff).expect("IP addresses are visible ASCII"),
    );
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    headers.insert(X_FORWARDED_PORT, HeaderValue::from(port));
}

/// A fresh trace identifier: `1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>`.
pub(crate) fn new_trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let random: [u8; 12] = rand::random();
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("1-{:08x}-{hex}", secs as u32)
}

/// The X-Amzn-Trace-Id sent to the target, given the client's (if any), as AWS does
/// it: no header or no `Root` → `Root=<new>` (the client's other fields kept after
/// it); a `Root` present → `Self=<new>;` in front of the client's fields, replacing
/// any `Self` already there.
pub(crate) fn trace_header(existing: Option<&str>) -> String {
    let id = new_trace_id();
    let fields: Vec<&str> = existing
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    let has_root = fields.iter().any(|f| f.starts_with("Root="));
    let mut out = if has_root {
        format!("Self={id}")
    } else {
        format!("Root={id}")
    };
    for f in fields.iter().filter(|f| !f.starts_with("Self=")) {
        out.push(';');
        out.push_str(f);
    }
    out
}

/// Set X-Amzn-Trace-Id on a request head about to be forwarded.
pub(crate) fn add_trace_id(headers: &mut HeaderMap) {
    let existing = headers.get(X_AMZN_TRACE_ID).and_then(|v| v.to_str().ok());
    let value = trace_header(existing);
    match HeaderValue::from_str(&value) {
        Ok(v) => {
            headers.insert(X_AMZN_TRACE_ID, v);
        }
        Err(_) => {
            // The client's fields held bytes a header cannot: start a clean trace.
            let clean = format!("Root={}", new_trace_id());
            // Invariant: `Root=1-<hex>-<hex>` is plain ASCII, a valid header value.
            headers.insert(
                X_AMZN_TRACE_ID,
                HeaderValue::from_str(&clean).expect("hex and ASCII"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_shape() {
        let id = new_trace_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1].len(), 8);
        assert_eq!(parts[2].len(), 24);
    }

    #[test]
    fn trace_header_keeps_root_and_adds_self() {
        let h = trace_header(Some(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Self=1-x;CalledFrom=app",
        ));
        assert!(h.starts_with("Self=1-"), "{h}");
        assert!(
            h.ends_with(";Root=1-5759e988-bd862e3fe1be46a994272793;CalledFrom=app"),
            "{h}"
        );
        assert!(trace_header(None).starts_with("Root=1-"));
        assert!(trace_header(Some("Foo=bar")).ends_with(";Foo=bar"));
    }

    #[test]
    fn xff_appends() {
        let mut h = HeaderMap::new();
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        assert_eq!(forwarded_for(&h, ip), "127.0.0.9");
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.1"));
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.2"));
        assert_eq!(forwarded_for(&h, ip), "10.0.0.1, 10.0.0.2, 127.0.0.9");
    }

    #[test]
    fn hop_by_hop_removed() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, x-secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
    }
}
