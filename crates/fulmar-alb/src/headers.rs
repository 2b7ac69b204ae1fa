//! The headers an ALB adds to requests it forwards (X-Forwarded-For, -Proto, -Port,
//! X-Amzn-Trace-Id), and the hop-by-hop headers no proxy passes on.

use std::cell::Cell;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};

pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(crate) const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub(crate) const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Remove the headers that describe one hop (RFC 9110 §7.6.1), including those the
/// `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(CONNECTION) {
        strip_connection_named(headers);
    }
    for name in [
        CONNECTION,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
        KEEP_ALIVE,
        PROXY_CONNECTION,
    ] {
        headers.remove(name);
    }
}

/// Whether the request's `TE` lists `trailers` (gRPC clients send `te: trailers`, the
/// one TE value HTTP/2 allows; it is passed on to HTTP/2 targets).
pub(crate) fn accepts_trailers(headers: &HeaderMap) -> bool {
    headers
        .get_all(TE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
}

/// Whether the request asks to become a WebSocket: an HTTP/1.1 `Upgrade: websocket`
/// with `upgrade` among its `Connection` options.
pub(crate) fn is_websocket_upgrade(version: http::Version, headers: &HeaderMap) -> bool {
    let Some(upgrade) = headers.get(UPGRADE) else {
        return false;
    };
    version == http::Version::HTTP_11
        && upgrade.as_bytes().eq_ignore_ascii_case(b"websocket")
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|o| o.trim().eq_ignore_ascii_case("upgrade"))
}

/// Remove the headers the `Connection` header names.
fn strip_connection_named(headers: &mut HeaderMap) {
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
}

/// X-Forwarded-For in `append` mode: `<existing>, <client>` (every copy of the header
/// joined in order), or just the client when the request had none.
pub(crate) fn forwarded_for(headers: &HeaderMap, client: IpAddr) -> String {
    let existing: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
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
    if !headers.contains_key(&X_FORWARDED_FOR) {
        // The common case: the client is the first hop.
        let mut buf = [0u8; 64];
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        // Invariant: an IP address is at most 45 bytes of visible ASCII.
        std::io::Write::write_fmt(&mut cursor, format_args!("{client}")).expect("fits in 64 bytes");
        let len = cursor.position() as usize;
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(&buf[..len]).expect("IP addresses are visible ASCII"),
        );
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        headers.insert(X_FORWARDED_PORT, HeaderValue::from(port));
        return;
    }
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

thread_local! {
    /// Per-thread SplitMix64 state for trace identifiers, seeded once from the OS RNG.
    /// Trace ids need to be unique, not unpredictable, so a cheap generator will do.
    static TRACE_RNG: Cell<u64> = Cell::new(rand::random());
}

/// 64 fresh pseudo-random bits (SplitMix64).
fn next_u64() -> u64 {
    TRACE_RNG.with(|state| {
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// Append the `digits` low hex digits of `value` to `out`.
fn push_hex(out: &mut String, value: u64, digits: u32) {
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((value >> (4 * i)) & 0xF) as usize]));
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append a fresh trace identifier to `out`.
fn push_trace_id(out: &mut String) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    out.push_str("1-");
    push_hex(out, secs & 0xFFFF_FFFF, 8);
    out.push('-');
    push_hex(out, next_u64() & 0xFFFF_FFFF, 8);
    push_hex(out, next_u64(), 16);
}

/// A fresh trace identifier: `1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>`.
pub(crate) fn new_trace_id() -> String {
    let mut id = String::with_capacity(35);
    push_trace_id(&mut id);
    id
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
    if !headers.contains_key(&X_AMZN_TRACE_ID) {
        let mut value = String::with_capacity(40);
        value.push_str("Root=");
        push_trace_id(&mut value);
        // Invariant: `Root=1-<hex>-<hex>` is plain ASCII, a valid header value.
        let value = HeaderValue::from_maybe_shared(Bytes::from(value)).expect("hex and ASCII");
        headers.insert(X_AMZN_TRACE_ID, value);
        return;
    }
    let existing = headers.get(&X_AMZN_TRACE_ID).and_then(|v| v.to_str().ok());
    let value = trace_header(existing);
    match HeaderValue::from_str(&value) {
        Ok(v) => {
            headers.insert(X_AMZN_TRACE_ID, v);
        }
        Err(_) => {
            // The client's fields held bytes a header cannot: start a clean trace.
            let clean = format!("Root={}", new_trace_id());
            // Invariant: `Root=1-<hex>-<hex>` is plain ASCII, a valid header value.
            headers.insert(X_AMZN_TRACE_ID, HeaderValue::from_str(&clean).expect("hex and ASCII"));
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
        assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()), "{id}");
        assert_ne!(new_trace_id(), new_trace_id());
    }

    #[test]
    fn forwarded_headers_added() {
        let mut h = HeaderMap::new();
        add_forwarded(&mut h, "2001:db8::1".parse().unwrap(), 8080);
        assert_eq!(h[&X_FORWARDED_FOR], "2001:db8::1");
        assert_eq!(h[&X_FORWARDED_PROTO], "http");
        assert_eq!(h[&X_FORWARDED_PORT], "8080");
        add_trace_id(&mut h);
        assert!(h[&X_AMZN_TRACE_ID].to_str().unwrap().starts_with("Root=1-"));
    }

    #[test]
    fn trace_header_keeps_root_and_adds_self() {
        let h = trace_header(Some("Root=1-5759e988-bd862e3fe1be46a994272793;Self=1-x;CalledFrom=app"));
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
    fn websocket_upgrades_and_trailers() {
        let mut h = HeaderMap::new();
        assert!(!is_websocket_upgrade(http::Version::HTTP_11, &h));
        h.insert(UPGRADE, HeaderValue::from_static("WebSocket"));
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        assert!(is_websocket_upgrade(http::Version::HTTP_11, &h));
        assert!(!is_websocket_upgrade(http::Version::HTTP_10, &h));
        h.insert(UPGRADE, HeaderValue::from_static("h2c"));
        assert!(!is_websocket_upgrade(http::Version::HTTP_11, &h));
        assert!(!accepts_trailers(&h));
        h.insert(TE, HeaderValue::from_static("gzip, trailers"));
        assert!(accepts_trailers(&h));
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
