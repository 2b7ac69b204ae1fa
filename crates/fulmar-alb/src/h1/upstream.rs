//! The direct HTTP/1.1 client towards `HTTP1` targets, for requests without a body.
//!
//! hyper's client runs every connection as a task of its own and hands each request and
//! response over a channel; on the data plane's hot path that was about a third of the
//! instructions of a request. Here the request owns its connection: it takes an idle
//! one from the target's list (or opens one), writes the whole request head in one
//! write, reads and parses the response head with `httparse`, and gives the connection
//! back as soon as the response body has been read from it — at once when the whole
//! body came with the head, the common case; else when the streaming body (length,
//! chunked) ends. A connection is kept only when the response allows it (HTTP/1.1
//! without `Connection: close`, or HTTP/1.0 with `keep-alive`), its body was
//! delimited, and nothing followed it.
//!
//! The response head is read as hyper's client reads it (the same limits, the same
//! framing rules: 1xx skipped, no body for HEAD, 204 and 304, chunked when the last
//! transfer coding is chunked, else read to close; conflicting Content-Length values
//! fail), so the load balancer answers the same 502s. Requests with a body, WebSocket
//! upgrades and HTTP/2 targets stay with hyper (`alb/pool.rs`).
//!
//! An idle connection the target has closed meanwhile is noticed before it is used
//! (its socket is readable: end of stream), without a system call while it is open.
//! If the target closes a reused connection without answering an idempotent request,
//! the request is sent again on a new connection, so a keep-alive race never reaches
//! the client.

use std::future::Future;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::has_token;
use crate::lock;
use crate::phases::{Body, BoxError, UpstreamFailure};
use crate::responses::full;
use crate::FastMap;

/// Response header lines at most (hyper's client default).
const MAX_HEADERS: usize = 100;
/// The longest response head read (hyper's client default buffer limit).
const MAX_HEAD: usize = 8192 + 4096 * 100;
/// Free space made in a connection's buffer before each read.
const READ_SPACE: usize = 8192;
/// The longest chunk-size line (with extensions) accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;
/// Trailer section bytes at most.
const MAX_TRAILERS: usize = 16 * 1024;

/// Idle connections to targets, by target address.
#[derive(Default, Clone)]
pub(crate) struct Direct {
    idle: Arc<Mutex<FastMap<SocketAddr, Vec<Idle>>>>,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// A connection to a target and what has been read from it but not yet used.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

/// Why an exchange on one connection produced no response head.
enum Fail {
    /// The target closed (or reset) the connection before sending a byte of response.
    Closed(String),
    Other(UpstreamFailure),
}

impl Direct {
    /// Whether the direct client carries `req`: a request without a body (hyper knows
    /// its body is empty) that is not `CONNECT`.
    pub fn carries(req: &Request<Body>) -> bool {
        hyper::body::Body::is_end_stream(req.body()) && req.method() != Method::CONNECT
    }

    /// Send `req` (origin-form URI, no body) to `target`; resolves to the response head
    /// with its body streaming from the connection.
    pub async fn send(&self, target: SocketAddr, req: Request<Body>) -> Result<Response<Body>, UpstreamFailure> {
        let (parts, _) = req.into_parts();
        let mut head = Vec::with_capacity(64 + parts.uri.path().len() + parts.headers.len() * 40);
        encode(&parts, &mut head);
        let reusable = !parts
            .headers
            .get_all(CONNECTION)
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let retry = parts.method.is_idempotent();
        let method_head = parts.method == Method::HEAD;
        loop {
            let (mut conn, reused) = match self.checkout(target) {
                Some(conn) => (conn, true),
                None => (Conn::open(target).await?, false),
            };
            match exchange(&mut conn, &head).await {
                Ok(parsed) => return Ok(self.respond(target, conn, parsed, method_head, reusable)),
                Err(Fail::Closed(_)) if reused && retry => continue,
                Err(Fail::Closed(reason)) => return Err(UpstreamFailure::Failed(reason)),
                Err(Fail::Other(failure)) => return Err(failure),
            }
        }
    }

    /// The response for a parsed head: its body, and the connection back in the pool
    /// when the body is already whole.
    fn respond(
        &self,
        target: SocketAddr,
        mut conn: Conn,
        parsed: Parsed,
        method_head: bool,
        reusable: bool,
    ) -> Response<Body> {
        let Parsed {
            mut response,
            keep_alive,
            framing,
        } = parsed;
        let keep = reusable && keep_alive;
        let framing = if method_head { Framing::Empty } else { framing };
        let body = match framing {
            Framing::Empty => {
                self.done(target, conn, keep);
                empty()
            }
            Framing::Length(n) if conn.buf.len() as u64 >= n => {
                let data = conn.buf.split_to(n as usize).freeze();
                self.done(target, conn, keep);
                full(data)
            }
            framing => Streaming {
                conn: Some(conn),
                framing: match framing {
                    Framing::Length(n) => State::Length(n),
                    Framing::Chunked => State::ChunkSize,
                    _ => State::Close,
                },
                keep: keep && !matches!(framing, Framing::Close),
                pool: self.clone(),
                target,
            }
            .boxed(),
        };
        *response.body_mut() = body;
        response
    }

    /// The response body has been read whole from `conn`: pool it if it can be reused.
    fn done(&self, target: SocketAddr, conn: Conn, keep: bool) {
        if !keep || !conn.buf.is_empty() {
            return;
        }
        let mut idle = lock(&self.idle);
        let list = idle.entry(target).or_default();
        if list.len() < crate::alb::MAX_IDLE_PER_TARGET {
            list.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    /// An idle connection to `target` that still looks open, dropping closed and
    /// expired ones on the way.
    fn checkout(&self, target: SocketAddr) -> Option<Conn> {
        let mut idle = lock(&self.idle);
        let list = idle.get_mut(&target)?;
        let now = Instant::now();
        while let Some(Idle { conn, since }) = list.pop() {
            if now.duration_since(since) <= crate::alb::IDLE_TIMEOUT && conn.looks_open() {
                return Some(conn);
            }
        }
        None
    }
}

impl Conn {
    async fn open(target: SocketAddr) -> Result<Conn, UpstreamFailure> {
        Ok(Conn {
            stream: crate::alb::open(target).await?,
            buf: BytesMut::new(),
        })
    }

    /// Whether an idle connection is still open: not readable (an idle connection
    /// has nothing to read until the target closes it), checked without a system call
    /// unless the socket was reported readable.
    fn looks_open(&self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            // Readiness can be stale: only an empty read says the connection is open.
            Poll::Ready(Ok(())) => {
                let mut byte = [0u8; 1];
                matches!(self.stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            }
        }
    }

    /// Read more into the buffer; `Ok(0)` at end of stream.
    async fn fill(&mut self) -> std::io::Result<usize> {
        self.buf.reserve(READ_SPACE);
        self.stream.read_buf(&mut self.buf).await
    }
}

/// Write the request head, then read the response head (skipping 1xx responses).
async fn exchange(conn: &mut Conn, head: &[u8]) -> Result<Parsed, Fail> {
    let closed = |e: std::io::Error| Fail::Closed(format!("connection closed before message completed: {e}"));
    conn.stream.write_all(head).await.map_err(closed)?;
    let mut received = false;
    loop {
        if !conn.buf.is_empty() {
            received = true;
            match parse(&mut conn.buf).map_err(|e| Fail::Other(UpstreamFailure::Failed(e)))? {
                Some(parsed) => return Ok(parsed),
                None if conn.buf.len() >= MAX_HEAD => {
                    return Err(Fail::Other(UpstreamFailure::Failed("message head is too large".into())));
                }
                None => {}
            }
        }
        match conn.fill().await {
            Ok(0) if !received => return Err(Fail::Closed("connection closed before message completed".into())),
            Ok(0) => {
                return Err(Fail::Other(UpstreamFailure::Failed(
                    "connection closed before message completed".into(),
                )))
            }
            Ok(_) => {}
            Err(e) if !received => return Err(closed(e)),
            Err(e) => {
                return Err(Fail::Other(UpstreamFailure::Failed(format!(
                    "reading the response: {e}"
                ))))
            }
        }
    }
}

/// `METHOD uri HTTP/1.1`, the header lines, the blank line — as hyper's client writes
/// a request without a body.
fn encode(parts: &http::request::Parts, out: &mut Vec<u8>) {
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    match parts.uri.path_and_query() {
        Some(pq) => out.extend_from_slice(pq.as_str().as_bytes()),
        None => out.push(b'/'),
    }
    out.extend_from_slice(if parts.version == Version::HTTP_10 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    for (name, value) in &parts.headers {
        if name == TRANSFER_ENCODING {
            continue; // a request without a body has no transfer coding
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    Close,
}

struct Parsed {
    response: Response<Body>,
    keep_alive: bool,
    framing: Framing,
}

/// One response head read from the start of a buffer, as offsets into it.
struct Head {
    len: usize,
    status: StatusCode,
    version: Version,
    /// The reason phrase when it is not the status code's canonical one.
    reason: Option<Bytes>,
    names: Vec<(HeaderName, usize, usize)>,
}

enum Scanned {
    Head(Head),
    Partial,
    TooManyHeaders,
}

/// Parse the response head at the start of `buf` into `headers`.
fn scan<'b>(buf: &'b [u8], headers: &mut [MaybeUninit<httparse::Header<'b>>]) -> Result<Scanned, String> {
    let mut res = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut res, buf, headers) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(Scanned::Partial),
        Err(httparse::Error::TooManyHeaders) => return Ok(Scanned::TooManyHeaders),
        Err(e) => return Err(format!("invalid HTTP response head: {e}")),
    };
    let code = res.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| format!("invalid HTTP status code {code}"))?;
    let version = if res.version == Some(1) {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    let reason = res.reason.unwrap_or("");
    let reason = (Some(reason) != status.canonical_reason()).then(|| Bytes::copy_from_slice(reason.as_bytes()));
    // Names now, values (as slices of the head, no copy) once the head is frozen.
    let base = buf.as_ptr() as usize;
    let mut names = Vec::with_capacity(res.headers.len());
    for h in res.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| "invalid response header name".to_owned())?;
        let value = h.value.as_ptr() as usize - base;
        names.push((name, value, value + h.value.len()));
    }
    Ok(Scanned::Head(Head {
        len,
        status,
        version,
        reason,
        names,
    }))
}

/// Parse one response head from the start of `buf` (removing it), skipping 1xx
/// responses other than 101; `None` while it is incomplete.
fn parse(buf: &mut BytesMut) -> Result<Option<Parsed>, String> {
    loop {
        // Uninitialised: zeroing 100 header slots cost more than parsing a short head.
        let mut headers: [MaybeUninit<httparse::Header<'_>>; MAX_HEADERS] =
            [const { MaybeUninit::uninit() }; MAX_HEADERS];
        let head = match scan(buf, &mut headers)? {
            Scanned::Head(head) => head,
            Scanned::Partial => return Ok(None),
            // More header lines than the array holds (ALB limits a response head by its
            // size, not by its lines): once the whole head is here, an array sized for it.
            Scanned::TooManyHeaders => {
                let (lines, ended) = super::header_lines(buf);
                if !ended {
                    return Ok(None);
                }
                let mut many = Vec::new();
                many.resize_with(lines, MaybeUninit::uninit);
                match scan(buf, &mut many)? {
                    Scanned::Head(head) => head,
                    _ => return Err("invalid HTTP response head: header lines miscounted".into()),
                }
            }
        };
        let Head {
            len,
            status,
            version,
            reason,
            names,
        } = head;
        let code = status.as_u16();
        let head = buf.split_to(len).freeze();
        if (100..200).contains(&code) && code != 101 {
            continue; // informational: the real response follows
        }
        // Room for what the load balancer adds (cookies, response headers).
        let mut map = HeaderMap::with_capacity(names.len() + 4);
        let mut keep_alive = version == Version::HTTP_11;
        let mut saw_close = false;
        for (name, v0, v1) in names {
            let value = HeaderValue::from_maybe_shared(head.slice(v0..v1))
                .map_err(|_| "invalid response header value".to_owned())?;
            if name == CONNECTION {
                if saw_close || has_token(value.as_bytes(), b"close") {
                    saw_close = true;
                    keep_alive = false;
                } else if !keep_alive {
                    keep_alive = has_token(value.as_bytes(), b"keep-alive");
                }
            }
            map.append(name, value);
        }
        let framing = framing(code, version, &map)?;
        let mut response = Response::new(empty());
        *response.status_mut() = status;
        *response.version_mut() = version;
        *response.headers_mut() = map;
        if let Some(reason) = reason {
            if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason) {
                response.extensions_mut().insert(reason);
            }
        }
        return Ok(Some(Parsed {
            response,
            keep_alive: keep_alive && code != 101,
            framing,
        }));
    }
}

/// The body's delimitation (RFC 9112 §6.3, as hyper's client decides it). A `101` to a
/// request that asked for no upgrade has no body and ends the connection's use.
fn framing(code: u16, version: Version, headers: &HeaderMap) -> Result<Framing, String> {
    if matches!(code, 101 | 204 | 304) {
        return Ok(Framing::Empty);
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        if version == Version::HTTP_10 {
            return Err("HTTP/1.0 response with Transfer-Encoding".into());
        }
        let chunked = headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        return Ok(if chunked { Framing::Chunked } else { Framing::Close });
    }
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.to_str().map_err(|_| "invalid content-length")?.split(',') {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err("invalid content-length".into());
            }
            let n: u64 = part.parse().map_err(|_| "invalid content-length")?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting content-length values".into());
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None => Framing::Close,
    })
}

fn empty() -> Body {
    http_body_util::Empty::new().map_err(|never| match never {}).boxed()
}

/// Where a streaming body is.
#[derive(Debug, Clone, Copy)]
enum State {
    /// This many bytes of a Content-Length body still to come.
    Length(u64),
    /// Before a chunk-size line.
    ChunkSize,
    /// Inside a chunk: this many data bytes still to come.
    ChunkData(u64),
    /// After a chunk's data: its CRLF.
    ChunkEnd,
    /// After the last chunk: the trailer section.
    Trailers,
    /// Until the target closes the connection.
    Close,
    Done,
}

/// A response body read from the target connection as the client takes it; the
/// connection goes back to the pool when the body ends.
struct Streaming {
    conn: Option<Conn>,
    framing: State,
    keep: bool,
    pool: Direct,
    target: SocketAddr,
}

impl Streaming {
    fn finish(&mut self) {
        self.framing = State::Done;
        if let Some(conn) = self.conn.take() {
            self.pool.done(self.target, conn, self.keep);
        }
    }

    /// One step over the buffered bytes: a frame, `None` for "need more bytes", or
    /// the end (`Some(None)`).
    #[allow(clippy::type_complexity)]
    fn step(&mut self) -> Result<Option<Option<Frame<Bytes>>>, BoxError> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(Some(None));
        };
        let buf = &mut conn.buf;
        loop {
            match self.framing {
                State::Done => return Ok(Some(None)),
                State::Length(n) | State::ChunkData(n) => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let take = (buf.len() as u64).min(n);
                    let data = buf.split_to(take as usize).freeze();
                    let left = n - take;
                    match self.framing {
                        State::Length(_) if left == 0 => self.finish(),
                        State::Length(_) => self.framing = State::Length(left),
                        _ if left == 0 => self.framing = State::ChunkEnd,
                        _ => self.framing = State::ChunkData(left),
                    }
                    return Ok(Some(Some(Frame::data(data))));
                }
                State::Close => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    return Ok(Some(Some(Frame::data(buf.split().freeze()))));
                }
                State::ChunkSize => {
                    let Some(end) = find_crlf(buf) else {
                        if buf.len() > MAX_CHUNK_LINE {
                            return Err("chunk size line too long".into());
                        }
                        return Ok(None);
                    };
                    let size = chunk_size(&buf[..end])?;
                    buf.advance(end + 2);
                    self.framing = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::ChunkEnd => {
                    if buf.len() < 2 {
                        return Ok(None);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err("invalid chunk: no CRLF after its data".into());
                    }
                    buf.advance(2);
                    self.framing = State::ChunkSize;
                }
                State::Trailers => {
                    if buf.len() >= 2 && &buf[..2] == b"\r\n" {
                        buf.advance(2);
                        self.finish();
                        return Ok(Some(None));
                    }
                    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                    match httparse::parse_headers(buf, &mut headers) {
                        Ok(httparse::Status::Complete((len, parsed))) => {
                            let mut trailers = HeaderMap::with_capacity(parsed.len());
                            for h in parsed.iter() {
                                if let (Ok(name), Ok(value)) = (
                                    HeaderName::from_bytes(h.name.as_bytes()),
                                    HeaderValue::from_bytes(h.value),
                                ) {
                                    trailers.append(name, value);
                                }
                            }
                            buf.advance(len);
                            self.finish();
                            return Ok(Some(Some(Frame::trailers(trailers))));
                        }
                        Ok(httparse::Status::Partial) if buf.len() <= MAX_TRAILERS => return Ok(None),
                        Ok(httparse::Status::Partial) => return Err("trailers too large".into()),
                        Err(e) => return Err(format!("invalid trailers: {e}").into()),
                    }
                }
            }
        }
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// A chunk-size line: hex digits, optional whitespace, optional `;extensions`.
fn chunk_size(line: &[u8]) -> Result<u64, BoxError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err("invalid chunk size".into());
    }
    let rest = &line[digits..];
    let rest = rest.trim_ascii_start();
    if !rest.is_empty() && rest[0] != b';' {
        return Err("invalid chunk size".into());
    }
    // Invariant: `digits` ASCII hex digits, at most 16 of them, fit a u64.
    let text = std::str::from_utf8(&line[..digits]).map_err(|_| "invalid chunk size")?;
    u64::from_str_radix(text, 16).map_err(|_| "invalid chunk size".into())
}

impl hyper::body::Body for Streaming {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            match self.step() {
                Err(e) => {
                    self.conn = None;
                    self.framing = State::Done;
                    return Poll::Ready(Some(Err(e)));
                }
                Ok(Some(frame)) => return Poll::Ready(frame.map(Ok)),
                Ok(None) => {}
            }
            let close_delimited = matches!(self.framing, State::Close);
            let Some(conn) = self.conn.as_mut() else {
                return Poll::Ready(None);
            };
            conn.buf.reserve(READ_SPACE);
            let read = {
                let Conn { stream, buf } = conn;
                let fut = stream.read_buf(buf);
                tokio::pin!(fut);
                fut.poll(cx)
            };
            match read {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) if close_delimited => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(0)) => {
                    self.conn = None;
                    self.framing = State::Done;
                    return Poll::Ready(Some(Err("target closed the connection before the body ended".into())));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    self.conn = None;
                    self.framing = State::Done;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.framing, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            State::Length(n) => SizeHint::with_exact(n),
            State::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &[u8]) -> (Parsed, BytesMut) {
        let mut buf = BytesMut::from(raw);
        let p = parse(&mut buf).unwrap().expect("complete");
        (p, buf)
    }

    #[test]
    fn head_split_anywhere_is_partial_then_complete() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        for cut in 1..raw.len() - 5 {
            let mut buf = BytesMut::from(&raw[..cut]);
            assert!(parse(&mut buf).unwrap().is_none(), "cut at {cut}");
        }
        let (p, rest) = parsed(raw);
        assert_eq!(p.framing, Framing::Length(5));
        assert!(p.keep_alive);
        assert_eq!(&rest[..], b"hello");
        assert_eq!(p.response.headers()["x-a"], "b");
    }

    #[test]
    fn heads_with_more_header_lines_than_the_array_parse_whole() {
        let mut raw = String::from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
        for i in 0..300 {
            raw.push_str(&format!("X-H{i}: v{i}\r\n"));
        }
        raw.push_str("\r\nok");
        // Incomplete: more is needed, whatever the cut.
        for cut in [raw.len() / 2, raw.len() - 4] {
            let mut buf = BytesMut::from(&raw.as_bytes()[..cut]);
            assert!(parse(&mut buf).unwrap().is_none(), "cut at {cut}");
        }
        let (p, rest) = parsed(raw.as_bytes());
        assert_eq!(p.response.headers().len(), 301);
        assert_eq!(p.response.headers()["x-h299"], "v299");
        assert_eq!(p.framing, Framing::Length(2));
        assert_eq!(&rest[..], b"ok");
    }

    #[test]
    fn informational_responses_are_skipped() {
        let (p, rest) = parsed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(p.response.status(), 204);
        assert_eq!(p.framing, Framing::Empty);
        assert!(rest.is_empty());
    }

    #[test]
    fn framing_follows_hyper() {
        let (p, _) = parsed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(p.framing, Framing::Chunked);
        let (p, _) = parsed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert_eq!(p.framing, Framing::Close);
        let (p, _) = parsed(b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(p.framing, Framing::Close);
        let (p, _) = parsed(b"HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\n\r\n");
        assert_eq!(p.framing, Framing::Length(4));
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n"[..]);
        assert!(parse(&mut buf).is_err());
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n"[..]);
        assert!(parse(&mut buf).is_err());
        let mut buf = BytesMut::from(&b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
        assert!(parse(&mut buf).is_err());
    }

    #[test]
    fn keep_alive_follows_version_and_connection() {
        assert!(!parsed(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").0.keep_alive);
        assert!(
            parsed(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(!parsed(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").0.keep_alive);
        assert!(
            !parsed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n")
                .0
                .keep_alive
        );
    }

    #[test]
    fn unusual_reason_is_kept() {
        let (p, _) = parsed(b"HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n\r\n");
        let reason = p.response.extensions().get::<hyper::ext::ReasonPhrase>().unwrap();
        assert_eq!(reason.as_bytes(), b"Fine");
        let (p, _) = parsed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(p.response.extensions().get::<hyper::ext::ReasonPhrase>().is_none());
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1a").unwrap(), 26);
        assert_eq!(chunk_size(b"1a ;ext=1").unwrap(), 26);
        assert!(chunk_size(b"").is_err());
        assert!(chunk_size(b"x").is_err());
        assert!(chunk_size(b"1 2").is_err());
        assert!(chunk_size(b"11111111111111111").is_err());
    }

    /// A target that answers each connection's requests with the next script: pieces
    /// written with a pause between them, then the connection closed if `close`.
    async fn target(scripts: Vec<(Vec<&'static [u8]>, bool)>) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut scripts = scripts.into_iter();
            while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let Some((pieces, close)) = scripts.next() else { return };
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1024];
                    for piece in pieces {
                        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                            let n = s.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            got.extend_from_slice(&buf[..n]);
                        }
                        if piece.is_empty() {
                            // An empty piece ends a response: wait for the next request.
                            got.clear();
                            continue;
                        }
                        s.write_all(piece).await.unwrap();
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    if !close {
                        let _ = s.read(&mut buf).await;
                    }
                });
            }
        });
        (addr, accepted)
    }

    fn get(path: &str) -> Request<Body> {
        Request::builder().uri(path).header("host", "t").body(empty()).unwrap()
    }

    async fn body_of(resp: Response<Body>) -> (Vec<u8>, Option<HeaderMap>) {
        let collected = resp.into_body().collect().await.unwrap();
        let trailers = collected.trailers().cloned();
        (collected.to_bytes().to_vec(), trailers)
    }

    #[tokio::test]
    async fn body_split_across_reads_streams_then_pools() {
        use std::sync::atomic::Ordering;
        let (addr, accepted) = target(vec![(
            vec![
                b"HTTP/1.1 200 OK\r\nContent-Le",
                b"ngth: 11\r\n\r\nhel",
                b"lo wor",
                b"ld",
                b"",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
                b"c\r\n2;x=y\r\nde\r",
                b"\n0\r\nx-sum: 5\r",
                b"\n\r\n",
                b"",
                b"HTTP/1.1 204 No Content\r\n\r\n",
            ],
            false,
        )])
        .await;
        let direct = Direct::default();
        let resp = direct.send(addr, get("/a")).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(body_of(resp).await.0, b"hello world");
        let resp = direct.send(addr, get("/b")).await.unwrap();
        let (body, trailers) = body_of(resp).await;
        assert_eq!(body, b"abcde");
        assert_eq!(trailers.unwrap()["x-sum"], "5");
        let resp = direct.send(addr, get("/c")).await.unwrap();
        assert_eq!(resp.status(), 204);
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection carried all three");
    }

    #[tokio::test]
    async fn a_pooled_connection_the_target_closed_is_not_used() {
        use std::sync::atomic::Ordering;
        let ok: &'static [u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let (addr, accepted) = target(vec![(vec![ok], true), (vec![ok], false)]).await;
        let direct = Direct::default();
        let resp = direct.send(addr, get("/")).await.unwrap();
        assert_eq!(body_of(resp).await.0, b"ok");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await; // the target closes it
        let resp = direct.send(addr, get("/")).await.unwrap();
        assert_eq!(body_of(resp).await.0, b"ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_close_that_races_the_request_is_retried_when_idempotent() {
        use std::sync::atomic::Ordering;
        let ok: &'static [u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        // The first connection answers once, then closes as the second request arrives.
        let (addr, accepted) = target(vec![(vec![ok, b""], true), (vec![ok], false), (vec![ok], false)]).await;
        let direct = Direct::default();
        let resp = direct.send(addr, get("/")).await.unwrap();
        assert_eq!(body_of(resp).await.0, b"ok");
        let resp = direct.send(addr, get("/")).await.unwrap();
        assert_eq!(body_of(resp).await.0, b"ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "retried on a new connection");
        // Not idempotent: the race is the target's failure, as with hyper.
        let (addr, _) = target(vec![(vec![ok, b""], true), (vec![ok], false)]).await;
        let resp = direct.send(addr, get("/")).await.unwrap();
        assert_eq!(body_of(resp).await.0, b"ok");
        let post = Request::builder().method("POST").uri("/").body(empty()).unwrap();
        assert!(matches!(direct.send(addr, post).await, Err(UpstreamFailure::Failed(_))));
    }

    #[tokio::test]
    async fn extra_bytes_or_close_delimited_bodies_are_not_pooled() {
        use std::sync::atomic::Ordering;
        let (addr, accepted) = target(vec![
            (vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"], false),
            (vec![b"HTTP/1.1 200 OK\r\n\r\nuntil ", b"close"], true),
            (vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], false),
        ])
        .await;
        let direct = Direct::default();
        let resp = direct.send(addr, get("/")).await.unwrap();
        assert_eq!(body_of(resp).await.0, b"ok");
        let resp = direct.send(addr, get("/")).await.unwrap();
        assert_eq!(body_of(resp).await.0, b"until close");
        let resp = direct.send(addr, get("/")).await.unwrap();
        assert_eq!(body_of(resp).await.0, b"ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_body_cut_short_is_an_error() {
        let (addr, _) = target(vec![(
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"],
            true,
        )])
        .await;
        let resp = Direct::default().send(addr, get("/")).await.unwrap();
        assert!(resp.into_body().collect().await.is_err());
        let (addr, _) = target(vec![(
            vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
            true,
        )])
        .await;
        let resp = Direct::default().send(addr, get("/")).await.unwrap();
        assert!(resp.into_body().collect().await.is_err());
    }

    #[test]
    fn encodes_as_hyper_does() {
        let req = Request::builder()
            .method("GET")
            .uri("/a?b=c")
            .header("host", "example.com")
            .header("x-forwarded-for", "1.2.3.4")
            .body(())
            .unwrap();
        let (parts, _) = req.into_parts();
        let mut out = Vec::new();
        encode(&parts, &mut out);
        assert_eq!(
            out,
            b"GET /a?b=c HTTP/1.1\r\nhost: example.com\r\nx-forwarded-for: 1.2.3.4\r\n\r\n".to_vec()
        );
    }
}
