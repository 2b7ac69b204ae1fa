//! The headers an ALB adds to requests it forwards (X-Forwarded-For, -Proto, -Port,
//! X-Amzn-Trace-Id), the hop-by-hop headers no proxy passes on, and what the load
//! balancer's `routing.http.*` attributes do to a request's head: the X-Forwarded-For
//! processing mode and client port, the Host header, invalid header names, and ALB's
//! request-header size limits.

use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};

pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(crate) const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub(crate) const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// `routing.http.xff_header_processing.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum XffMode {
    /// Add the client's address to the end of the header (creating it if absent).
    #[default]
    Append,
    /// Send the client's header to the target unchanged (or none if it sent none).
    Preserve,
    /// Send no X-Forwarded-For at all.
    Remove,
}

impl XffMode {
    pub fn from_attribute(value: Option<&str>) -> XffMode {
        match value {
            Some("preserve") => XffMode::Preserve,
            Some("remove") => XffMode::Remove,
            _ => XffMode::Append,
        }
    }
}

/// The most addresses an X-Forwarded-For may carry; more is answered with 463.
pub(crate) const MAX_FORWARDED_FOR_ADDRESSES: usize = 30;

/// How many addresses the request's X-Forwarded-For copies list together.
pub(crate) fn forwarded_for_count(headers: &HeaderMap) -> usize {
    headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .map(|v| {
            v.as_bytes()
                .split(|b| *b == b',')
                .filter(|a| !a.trim_ascii().is_empty())
                .count()
        })
        .sum()
}

/// The X-Forwarded-For value the target gets in `append` mode with the client port
/// on: the existing list, then `ip:port` (`[ipv6]:port`).
pub(crate) fn forwarded_for_with_port(existing: &[HeaderValue], client: SocketAddr) -> HeaderValue {
    // `SocketAddr`'s own form: `1.2.3.4:5` and `[2001:db8::1]:5`.
    let xff = join_forwarded(existing.iter(), client);
    // Invariant: the copies passed `to_str` (visible ASCII) and an address is ASCII.
    HeaderValue::from_str(&xff).expect("visible ASCII")
}

/// Whether ALB accepts `name` as a header name: `^[-A-Za-z0-9]+$`.
fn is_valid_field_name(name: &HeaderName) -> bool {
    name.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `routing.http.drop_invalid_header_fields.enabled`: remove every header whose name
/// is not letters, digits and hyphens (`x_user`, `x.user`, ...).
pub(crate) fn drop_invalid_fields(headers: &mut HeaderMap) {
    if headers.keys().all(is_valid_field_name) {
        return;
    }
    let invalid: Vec<HeaderName> = headers.keys().filter(|n| !is_valid_field_name(n)).cloned().collect();
    for name in invalid {
        headers.remove(name);
    }
}

/// `host` and its port, if any: `example.com:8080` → (`example.com`, Some(8080)),
/// `[::1]:80` → (`[::1]`, Some(80)).
fn split_host_port(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(i) => match host[i + 1..].strip_prefix(':') {
                Some(port) => (&host[..=i], Some(port)),
                None => (host, None),
            },
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    }
}

/// The Host header an ALB sends when `routing.http.preserve_host_header.enabled` is
/// false (the default): the request's host (the request target's, for an absolute
/// URI), without a port on listener ports 80 and 443, with the listener's port
/// appended on any other listener port unless the client gave one. `None`: keep the
/// client's Host as it is.
pub(crate) fn rewritten_host(head: &http::request::Parts, listener_port: u16) -> Option<HeaderValue> {
    let from_uri = head.uri.authority().map(|a| a.as_str());
    let current = head.headers.get(HOST);
    let host = match (from_uri, current) {
        (Some(authority), _) => authority,
        (None, Some(value)) => value.to_str().ok()?,
        (None, None) => return None,
    };
    let (name, port) = split_host_port(host);
    let wanted = match (listener_port, port) {
        (80 | 443, Some(_)) => std::borrow::Cow::Borrowed(name),
        (80 | 443, None) | (_, Some(_)) => std::borrow::Cow::Borrowed(host),
        (_, None) => std::borrow::Cow::Owned(format!("{name}:{listener_port}")),
    };
    if current.is_some_and(|c| c.as_bytes() == wanted.as_bytes()) && head.headers.get_all(HOST).iter().count() == 1 {
        return None;
    }
    HeaderValue::from_str(&wanted).ok()
}

/// ALB's request-header limits: 16 K for the request line, 16 K for one header,
/// 64 K for the whole request header.
pub(crate) const MAX_REQUEST_LINE: usize = 16 * 1024;
pub(crate) const MAX_HEADER_LINE: usize = 16 * 1024;
pub(crate) const MAX_REQUEST_HEADER: usize = 64 * 1024;

/// Whether a request head is over one of ALB's limits. Sizes are counted as the
/// head's lines on the wire: `METHOD SP target SP HTTP/1.1`, `name: value`, each
/// with its CRLF.
pub(crate) fn over_header_limits(method: &http::Method, uri: &http::Uri, headers: &HeaderMap) -> bool {
    let path = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    let target = match uri.authority() {
        None => path,
        // Absolute form (or HTTP/2's :scheme and :authority): `scheme://authority/path`.
        Some(a) => uri.scheme_str().map_or(0, |s| s.len() + 3) + a.as_str().len() + path,
    };
    let line = method.as_str().len() + 1 + target + 1 + 8 + 2;
    if line > MAX_REQUEST_LINE {
        return true;
    }
    let mut total = line;
    for (name, value) in headers {
        let field = name.as_str().len() + 2 + value.len() + 2;
        if field > MAX_HEADER_LINE {
            return true;
        }
        total += field;
    }
    total + 2 > MAX_REQUEST_HEADER
}

/// Remove the headers that describe one hop (RFC 9110 §7.6.1), including those the
/// `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Fast path (most heads): no hop-by-hop header at all, or only a lone
    // `Connection: keep-alive` (which names nothing else present to remove).
    let (mut connection, mut other) = (false, false);
    for name in headers.keys() {
        if name == CONNECTION {
            connection = true;
        } else if [TE, TRAILER, TRANSFER_ENCODING, UPGRADE, KEEP_ALIVE, PROXY_CONNECTION].contains(name) {
            other = true;
            break;
        }
    }
    if !connection && !other {
        return;
    }
    if connection && !other {
        let mut values = headers.get_all(CONNECTION).iter();
        if let (Some(only), None) = (values.next(), values.next()) {
            if only.as_bytes().eq_ignore_ascii_case(b"keep-alive") {
                headers.remove(CONNECTION);
                return;
            }
        }
    }
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
    join_forwarded(headers.get_all(&X_FORWARDED_FOR).iter(), client)
}

/// The non-empty copies of X-Forwarded-For, in order, then `client`, joined by `, `.
fn join_forwarded<'a>(copies: impl Iterator<Item = &'a HeaderValue>, client: impl std::fmt::Display) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(64);
    for v in copies
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        out.push_str(v);
        out.push_str(", ");
    }
    let _ = write!(out, "{client}");
    out
}

/// `ip` as text in `buf` (IPv4 by hand: `Display` costs ten times as much).
pub(crate) fn ip_text(ip: IpAddr, buf: &mut [u8; 64]) -> &[u8] {
    let mut len = 0;
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                if octet >= 100 {
                    buf[len] = b'0' + octet / 100;
                    len += 1;
                }
                if octet >= 10 {
                    buf[len] = b'0' + octet / 10 % 10;
                    len += 1;
                }
                buf[len] = b'0' + octet % 10;
                len += 1;
            }
        }
        IpAddr::V6(_) => {
            let mut cursor = std::io::Cursor::new(&mut buf[..]);
            // Invariant: an IPv6 address is at most 45 bytes of visible ASCII.
            std::io::Write::write_fmt(&mut cursor, format_args!("{ip}")).expect("fits in 64 bytes");
            len = cursor.position() as usize;
        }
    }
    &buf[..len]
}

/// Add the X-Forwarded-* headers of an HTTP listener on `port`, X-Forwarded-For as
/// the load balancer's `routing.http.xff_header_processing.mode` and
/// `xff_client_port.enabled` say: appended (with the client's port, if asked),
/// the client's copies passed on untouched, or removed.
pub(crate) fn add_forwarded_as(headers: &mut HeaderMap, client: SocketAddr, port: u16, mode: XffMode, with_port: bool) {
    match (mode, with_port) {
        (XffMode::Append, false) => return add_forwarded(headers, client.ip(), port),
        (XffMode::Append, true) => {
            let existing: Vec<HeaderValue> = headers.get_all(&X_FORWARDED_FOR).iter().cloned().collect();
            headers.insert(X_FORWARDED_FOR, forwarded_for_with_port(&existing, client));
        }
        (XffMode::Preserve, _) => {}
        (XffMode::Remove, _) => {
            headers.remove(&X_FORWARDED_FOR);
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    headers.insert(X_FORWARDED_PORT, HeaderValue::from(port));
}

/// Add the X-Forwarded-* headers of an HTTP listener on `port` (`append` mode).
pub(crate) fn add_forwarded(headers: &mut HeaderMap, client: IpAddr, port: u16) {
    if !headers.contains_key(&X_FORWARDED_FOR) {
        // The common case: the client is the first hop.
        let mut buf = [0u8; 64];
        let text = ip_text(client, &mut buf);
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(text).expect("IP addresses are visible ASCII"),
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

/// `x-amzn-tls-version` and `x-amzn-tls-cipher-suite`
/// (`routing.http.x_amzn_tls_version_and_cipher_suite.enabled`).
pub(crate) const X_AMZN_TLS_VERSION: HeaderName = HeaderName::from_static("x-amzn-tls-version");
pub(crate) const X_AMZN_TLS_CIPHER_SUITE: HeaderName = HeaderName::from_static("x-amzn-tls-cipher-suite");

/// A request that arrived on an HTTPS listener: X-Forwarded-Proto `https` in place of
/// the `http` the forwarded headers set, and, when `version_and_cipher` (the load
/// balancer's attribute), the TLS version and cipher suite (replacing any the client sent).
pub(crate) fn add_tls(headers: &mut HeaderMap, tls: &crate::tls::Facts, version_and_cipher: bool) {
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
    if version_and_cipher {
        headers.insert(X_AMZN_TLS_VERSION, HeaderValue::from_static(tls.protocol));
        headers.insert(X_AMZN_TLS_CIPHER_SUITE, HeaderValue::from_static(tls.cipher));
    }
    if tls.mtls {
        // Mutual TLS: the target sees only what the load balancer says of the client's
        // certificate, never `x-amzn-mtls-*` headers the client made up.
        let forged: Vec<HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("x-amzn-mtls-"))
            .cloned()
            .collect();
        for name in forged {
            headers.remove(name);
        }
        if let Some(cert) = &tls.client_cert {
            headers.insert(X_AMZN_MTLS_CLIENTCERT, cert.header.clone());
        }
    }
}

/// The client's certificate chain on a listener with mutual TLS in passthrough mode.
pub(crate) const X_AMZN_MTLS_CLIENTCERT: HeaderName = HeaderName::from_static("x-amzn-mtls-clientcert");

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
    fn ip_text_matches_display() {
        for ip in "0.0.0.0 127.0.0.1 10.20.30.40 255.255.255.255 192.168.1.9 2001:db8::1".split(' ') {
            let ip: IpAddr = ip.parse().unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(ip_text(ip, &mut buf), ip.to_string().as_bytes());
        }
    }

    #[test]
    fn hop_by_hop_fast_paths() {
        let mut h = HeaderMap::new();
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        h.insert(CONNECTION, HeaderValue::from_static("Keep-Alive"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        h.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        h.insert(TE, HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        h.insert(CONNECTION, HeaderValue::from_static("close"));
        h.insert("close", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        h.append(CONNECTION, HeaderValue::from_static("keep-alive"));
        h.append(CONNECTION, HeaderValue::from_static("x-kept"));
        strip_hop_by_hop(&mut h);
        assert!(h.is_empty());
    }

    fn head(uri: &str, host: Option<&str>) -> http::request::Parts {
        let mut b = http::Request::builder().uri(uri);
        if let Some(h) = host {
            b = b.header(HOST, h);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn host_rewritten_as_alb_does_without_preserve() {
        let rewritten =
            |uri, host, port| rewritten_host(&head(uri, host), port).map(|v| v.to_str().unwrap().to_owned());
        // Listener ports 80 and 443: no port.
        assert_eq!(rewritten("/", Some("example.com"), 80), None);
        assert_eq!(
            rewritten("/", Some("example.com:80"), 80).as_deref(),
            Some("example.com")
        );
        assert_eq!(
            rewritten("/", Some("example.com:8443"), 443).as_deref(),
            Some("example.com")
        );
        assert_eq!(rewritten("/", Some("[::1]:80"), 80).as_deref(), Some("[::1]"));
        // Other ports: the listener's port unless the client gave one.
        assert_eq!(
            rewritten("/", Some("example.com"), 8080).as_deref(),
            Some("example.com:8080")
        );
        assert_eq!(rewritten("/", Some("example.com:8080"), 8080), None);
        assert_eq!(rewritten("/", Some("example.com:9"), 8080), None);
        assert_eq!(rewritten("/", Some("[::1]"), 8080).as_deref(), Some("[::1]:8080"));
        // An absolute request target names the host.
        assert_eq!(
            rewritten("http://dns.example/x", Some("example.com"), 80).as_deref(),
            Some("dns.example")
        );
        assert_eq!(
            rewritten("http://dns.example/x", None, 8080).as_deref(),
            Some("dns.example:8080")
        );
        assert_eq!(rewritten("/", None, 8080), None);
    }

    #[test]
    fn xff_with_client_port_and_counting() {
        let existing = [
            HeaderValue::from_static("10.0.0.1, 10.0.0.2"),
            HeaderValue::from_static(" "),
        ];
        let v4: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        assert_eq!(
            forwarded_for_with_port(&existing, v4),
            "10.0.0.1, 10.0.0.2, 127.0.0.1:5555"
        );
        assert_eq!(forwarded_for_with_port(&[], v6), "[2001:db8::1]:80");
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_for_count(&h), 0);
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("1.1.1.1, 2.2.2.2,,"));
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("3.3.3.3"));
        assert_eq!(forwarded_for_count(&h), 3);
        assert_eq!(XffMode::from_attribute(Some("remove")), XffMode::Remove);
        assert_eq!(XffMode::from_attribute(None), XffMode::Append);
    }

    #[test]
    fn invalid_field_names_dropped() {
        let mut h = HeaderMap::new();
        h.insert("x-good-1", HeaderValue::from_static("1"));
        h.insert("x_under", HeaderValue::from_static("1"));
        h.insert("x.dot", HeaderValue::from_static("1"));
        h.append("x~tilde", HeaderValue::from_static("1"));
        drop_invalid_fields(&mut h);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-good-1"]);
    }

    #[test]
    fn header_limits() {
        let get = http::Method::GET;
        let uri = |len: usize| format!("/{}", "a".repeat(len)).parse::<http::Uri>().unwrap();
        let h = HeaderMap::new();
        // `GET /a… HTTP/1.1\r\n` is 16 bytes more than the path.
        assert!(!over_header_limits(&get, &uri(MAX_REQUEST_LINE - 16), &h));
        assert!(over_header_limits(&get, &uri(MAX_REQUEST_LINE - 15), &h));
        let mut one = HeaderMap::new();
        // `x: <value>\r\n`: 5 bytes more than the value.
        one.insert("x", HeaderValue::from_str(&"b".repeat(MAX_HEADER_LINE - 5)).unwrap());
        assert!(!over_header_limits(&get, &uri(1), &one));
        one.insert("x", HeaderValue::from_str(&"b".repeat(MAX_HEADER_LINE - 4)).unwrap());
        assert!(over_header_limits(&get, &uri(1), &one));
        let mut many = HeaderMap::new();
        for i in 0..5 {
            let name = HeaderName::from_bytes(format!("x-{i}").as_bytes()).unwrap();
            many.insert(name, HeaderValue::from_str(&"c".repeat(14_000)).unwrap());
        }
        assert!(over_header_limits(&get, &uri(1), &many));
        many.remove("x-4");
        assert!(!over_header_limits(&get, &uri(1), &many));
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
