//! The data plane's own HTTP/1.1 server loop for plain client connections.
//!
//! hyper's server keeps an 8 KiB read buffer and a write buffer per connection for its
//! whole life, arms a header-read timer for every request, and runs a general
//! dispatcher. Most requests a load balancer sees are simple: an HTTP/1.1 head without
//! a body. This loop serves exactly those and nothing else:
//!
//! - An idle connection holds no buffer: the loop waits for the socket to be readable,
//!   then reads into a per-thread scratch buffer; only a head split across reads keeps
//!   its first part.
//! - A head is parsed with `httparse`, and taken only when it is unambiguously simple:
//!   HTTP/1.1, no `Content-Length` or `Transfer-Encoding` (no body), no `Upgrade`,
//!   `Expect` or `TE`, not `CONNECT`, within 64 KiB. The request then goes through the
//!   same phases as every other ([`crate::phases::handle`]), and the response is
//!   written as hyper writes it.
//! - Header lines are parsed into a stack array of 100; a head with more (ALB takes any
//!   number within its 64 KiB) has its lines counted and is parsed again into an array
//!   of that size. A connection handed over with such a head gets a hyper connection
//!   sized for twice as many lines ([`Handover::max_headers`]); connections without
//!   one keep hyper's default array of 100 on the stack.
//! - Anything else — a body, an upgrade, HTTP/1.0, HTTP/2's preface, a head httparse
//!   rejects (obs-fold, bad names, ...) — hands the connection, with the bytes already
//!   read, to hyper for the rest of its life ([`Handover`]), so every edge case and the
//!   desync defences keep hyper's handling.
//!
//! The connection's idle timeout (`idle_timeout.timeout_seconds`) runs between
//! requests, from acceptance or the end of the last response until a whole head has
//! arrived, as hyper's header-read timeout does. A listener that stops closes idle
//! connections at once and others after the response in progress.

use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, DATE, TRAILER, TRANSFER_ENCODING};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{has_token, header_lines};
use crate::alb::Alb;
use crate::listeners::stopped;
use crate::phases::{self, Body, Connection};

/// Header lines parsed into the stack array (hyper's default limit); heads with more
/// are parsed again into an array sized for them.
const MAX_HEADERS: usize = 100;
/// The longest head this loop takes (ALB's limit on the whole request header); longer
/// ones go to hyper, whose request then gets ALB's 400 from the phases.
const MAX_HEAD: usize = 64 * 1024;
/// The most header lines a hyper connection is sized for: a line takes at least 3
/// bytes (`a:` and its LF), so a 64 KiB head holds fewer.
const MAX_HEADER_SLOTS: usize = MAX_HEAD / 3;
/// The longest request target this loop takes.
const MAX_URI: usize = 16 * 1024;
/// Free space in the scratch buffer before each read.
const READ_SPACE: usize = 16 * 1024;
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

thread_local! {
    /// Where reads land: one buffer per worker thread, shared by its connections.
    static SCRATCH: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// What the loop gives hyper when it hands a connection over.
pub(crate) struct Handover {
    pub stream: Rewind,
    /// The client opened with HTTP/2's preface.
    pub h2: bool,
    /// Header lines hyper must be able to parse, when the head handed over has more
    /// than its default 100 (`http1::Builder::max_headers`).
    pub max_headers: Option<usize>,
}

/// How the loop ended with a connection.
pub(crate) enum Ending {
    /// Closed (by the client, the idle timeout, the listener stopping or an error).
    Closed,
    /// Hyper serves the rest.
    Handover(Handover),
    /// Idle for [`crate::parking::PARK_AFTER`] after an answer: to be parked, with the
    /// deadline its idle timeout sets.
    Park { stream: TcpStream, deadline: Instant },
}

/// Serve `stream` until it closes, goes to hyper or is to be parked. `resumed` is the
/// idle deadline of a connection coming back from the parking lot.
pub(crate) async fn serve(
    stream: TcpStream,
    conn: &Connection,
    alb: &Alb,
    stop: &mut watch::Receiver<bool>,
    idle_timeout: Duration,
    resumed: Option<Instant>,
) -> Ending {
    let mut state = State {
        stream,
        pending: None,
        first: resumed.is_none(),
    };
    let now = Instant::now();
    let mut deadline = resumed.unwrap_or(now + idle_timeout);
    // Parked when nothing has come for this long after an answer.
    let mut park_at = now + crate::parking::PARK_AFTER;
    // One timer per connection, moved only when it fires early (not per request).
    let sleep = tokio::time::sleep_until(deadline.min(park_at).into());
    tokio::pin!(sleep);
    // Whether the pending bytes are known to hold no whole head.
    let mut need_more = false;
    loop {
        let data = match state.pending.take() {
            // A whole head may already be buffered (pipelining).
            Some(p) if !need_more => p,
            pending => {
                state.pending = pending;
                let read = loop {
                    // `poll_read_ready` keeps the waker in the socket's own slot: the
                    // idle connection's future holds no waiter of its own.
                    let readable = tokio::select! {
                        biased;
                        ready = std::future::poll_fn(|cx| state.stream.poll_read_ready(cx)) => ready.is_ok(),
                        _ = &mut sleep => {
                            let now = Instant::now();
                            if now >= deadline {
                                return Ending::Closed; // idle timeout
                            }
                            if now >= park_at && !state.first && state.pending.is_none() {
                                return Ending::Park { stream: state.stream, deadline };
                            }
                            let next = if now >= park_at { deadline } else { deadline.min(park_at) };
                            sleep.as_mut().reset(next.into());
                            continue;
                        }
                        _ = stopped(stop) => return Ending::Closed,
                    };
                    if !readable {
                        return Ending::Closed;
                    }
                    match read_scratch(&mut state.stream) {
                        Ok(Some(data)) => break data,
                        Ok(None) => continue, // spurious readiness
                        Err(_) => return Ending::Closed,
                    }
                };
                if read.is_empty() {
                    return Ending::Closed; // the client closed
                }
                match state.pending.take() {
                    Some(mut p) => {
                        p.extend_from_slice(&read);
                        p
                    }
                    None => read,
                }
            }
        };
        need_more = false;
        if state.first {
            if PREFACE.starts_with(&data[..data.len().min(PREFACE.len())]) {
                if data.len() < PREFACE.len() {
                    state.pending = Some(data);
                    need_more = true;
                    continue;
                }
                return Ending::Handover(Handover {
                    stream: Rewind::new(state.stream, data.freeze()),
                    h2: true,
                    max_headers: None,
                });
            }
            state.first = false;
        }
        let (req, rest) = match parse_request(data) {
            Parsed::Partial(data) if data.len() <= MAX_HEAD => {
                state.pending = Some(data);
                need_more = true;
                continue;
            }
            Parsed::Partial(data) | Parsed::Other(data) => {
                return Ending::Handover(Handover {
                    max_headers: header_slots(&data),
                    stream: Rewind::new(state.stream, data.freeze()),
                    h2: false,
                })
            }
            Parsed::Simple(req, rest) => (req, rest),
        };
        let close_requested = connection_close(req.headers());
        let method = req.method().clone();
        // Not boxed: a box would cost an allocation of the whole request future (over
        // 4 KiB, past the allocator's per-thread cache) and a copy of it per request.
        // The connection's task grows by as much while it serves requests; an idle
        // connection is parked and holds no task.
        let resp = phases::handle(alb, req, conn).await;
        let stopping = *stop.borrow();
        let keep = Box::pin(write_response(
            &mut state.stream,
            resp,
            &method,
            close_requested || stopping,
        ))
        .await;
        if !keep.unwrap_or(false) {
            return Ending::Closed;
        }
        state.pending = (!rest.is_empty()).then_some(rest);
        let now = Instant::now();
        deadline = now + idle_timeout;
        park_at = now + crate::parking::PARK_AFTER;
    }
}

struct State {
    stream: TcpStream,
    /// The start of a head whose end has not arrived, or pipelined bytes.
    pending: Option<BytesMut>,
    first: bool,
}

/// One read into the thread's scratch buffer: the bytes read (empty at end of stream),
/// or `None` when there was nothing to read after all. Polled once with a no-op waker:
/// the caller waits for readiness itself, and a short read clears tokio's readiness
/// so that the next wait sleeps without another system call.
fn read_scratch(stream: &mut TcpStream) -> io::Result<Option<BytesMut>> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.reserve(READ_SPACE);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let fut = stream.read_buf(&mut *scratch);
        tokio::pin!(fut);
        match std::future::Future::poll(fut, &mut cx) {
            Poll::Pending => Ok(None),
            Poll::Ready(Ok(_)) => Ok(Some(scratch.split())),
            Poll::Ready(Err(e)) => Err(e),
        }
    })
}

// A value matched at once: boxing the request would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    /// A simple request without a body, and the bytes after its head.
    Simple(Request<http_body_util::Empty<Bytes>>, BytesMut),
    /// Not a whole head yet.
    Partial(BytesMut),
    /// Anything this loop leaves to hyper.
    Other(BytesMut),
}

fn parse_request(data: BytesMut) -> Parsed {
    let mut headers: [MaybeUninit<httparse::Header<'_>>; MAX_HEADERS] = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let scanned = scan(&data, &mut headers);
    finish(data, scanned)
}

/// [`parse_request`] for a head with more than [`MAX_HEADERS`] lines: parsed again into
/// an array of as many as it has once it is whole (and within 64 KiB).
fn parse_many(data: BytesMut) -> Parsed {
    let (lines, whole) = header_lines(&data);
    if !whole {
        return Parsed::Partial(data);
    }
    if lines > MAX_HEADER_SLOTS {
        return Parsed::Other(data); // over 64 KiB
    }
    let mut headers = Vec::new();
    headers.resize_with(lines, MaybeUninit::uninit);
    let scanned = match scan(&data, &mut headers) {
        // Counted differently from httparse: hyper's to judge.
        Scanned::TooManyHeaders => Scanned::Other,
        scanned => scanned,
    };
    finish(data, scanned)
}

/// What [`scan`] found in a head, as offsets into its buffer.
enum Scanned {
    Simple {
        len: usize,
        method: Method,
        path: std::ops::Range<usize>,
        headers: Vec<(HeaderName, usize, usize)>,
    },
    Partial,
    TooManyHeaders,
    Other,
}

/// Parse the head at the start of `data` into `headers`.
fn scan<'b>(data: &'b [u8], headers: &mut [MaybeUninit<httparse::Header<'b>>]) -> Scanned {
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut req, data, headers) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Scanned::Partial,
        Err(httparse::Error::TooManyHeaders) => return Scanned::TooManyHeaders,
        Err(_) => return Scanned::Other,
    };
    if req.version != Some(1) || len > MAX_HEAD {
        return Scanned::Other;
    }
    let Some(method) = req.method.and_then(|m| Method::from_bytes(m.as_bytes()).ok()) else {
        return Scanned::Other;
    };
    let path = req.path.unwrap_or("");
    if method == Method::CONNECT || path.is_empty() || path.len() > MAX_URI {
        return Scanned::Other;
    }
    let base = data.as_ptr() as usize;
    let path_at = path.as_ptr() as usize - base;
    let mut names = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(h.name.as_bytes()) else {
            return Scanned::Other;
        };
        // Anything about a body, an upgrade, expectations or trailers: hyper's.
        if name == CONTENT_LENGTH
            || name == TRANSFER_ENCODING
            || name == http::header::UPGRADE
            || name == http::header::EXPECT
            || name == http::header::TE
        {
            return Scanned::Other;
        }
        let at = h.value.as_ptr() as usize - base;
        names.push((name, at, at + h.value.len()));
    }
    Scanned::Simple {
        len,
        method,
        path: path_at..path_at + path.len(),
        headers: names,
    }
}

/// The request [`scan`] found in `data`, built on `data`'s bytes.
fn finish(mut data: BytesMut, scanned: Scanned) -> Parsed {
    let (len, method, path_range, names) = match scanned {
        Scanned::Simple {
            len,
            method,
            path,
            headers,
        } => (len, method, path, headers),
        Scanned::Partial => return Parsed::Partial(data),
        Scanned::TooManyHeaders => return parse_many(data),
        Scanned::Other => return Parsed::Other(data),
    };
    let rest = data.split_off(len);
    let head = data.freeze();
    let Ok(uri) = Uri::from_maybe_shared(head.slice(path_range)) else {
        return other(head, rest);
    };
    // Room for what the load balancer adds (X-Forwarded-*, X-Amzn-Trace-Id, ...)
    // without growing the map.
    let mut map = HeaderMap::with_capacity(names.len() + 8);
    for (name, v0, v1) in names {
        match HeaderValue::from_maybe_shared(head.slice(v0..v1)) {
            Ok(value) => map.append(name, value),
            Err(_) => return other(head, rest),
        };
    }
    let mut request = Request::new(http_body_util::Empty::new());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = map;
    Parsed::Simple(request, rest)
}

/// How many header lines hyper must parse for the head at the start of `data`: `None`
/// within its default 100, else twice the lines seen (the rest of the connection's
/// requests are parsed with that array too).
fn header_slots(data: &[u8]) -> Option<usize> {
    let (lines, _) = header_lines(data);
    (lines > MAX_HEADERS).then(|| (lines * 2).min(MAX_HEADER_SLOTS).max(lines))
}

/// Give the head back (with what followed it) for hyper.
fn other(head: Bytes, rest: BytesMut) -> Parsed {
    let mut all = BytesMut::with_capacity(head.len() + rest.len());
    all.extend_from_slice(&head);
    all.extend_from_slice(&rest);
    Parsed::Other(all)
}

fn connection_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| has_token(v.as_bytes(), b"close"))
}

/// How the response body is framed on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Framing {
    /// No body is written (HEAD, 204, 304, or an empty body).
    None,
    Length(u64),
    Chunked,
    /// Until the connection closes.
    Close,
}

/// Write `resp` as hyper's server writes it to an HTTP/1.1 client; `Ok(true)` when the
/// connection may carry another request.
async fn write_response(
    stream: &mut TcpStream,
    resp: Response<Body>,
    method: &Method,
    close_requested: bool,
) -> io::Result<bool> {
    let (parts, mut body) = resp.into_parts();
    let status = parts.status;
    if status.is_informational() {
        // hyper answers 500 for a 1xx it is given; the phases never make one.
        let mut out = Vec::new();
        out.extend_from_slice(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n");
        push_date(&mut out);
        out.extend_from_slice(b"\r\n");
        stream.write_all(&out).await?;
        return Ok(false);
    }
    let known = if body.is_end_stream() {
        None
    } else {
        Some(body.size_hint().exact())
    };
    let can_body = !(method == Method::HEAD || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED);
    let can_length = status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED;
    let mut out = Vec::with_capacity(256 + parts.headers.len() * 32);
    let reason = parts.extensions.get::<hyper::ext::ReasonPhrase>();
    let version: &[u8] = if parts.version == Version::HTTP_10 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    };
    if version == b"HTTP/1.1 " && status == StatusCode::OK && reason.is_none() {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(version);
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        match reason {
            Some(r) => out.extend_from_slice(r.as_bytes()),
            None => out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
    }
    let mut headers = parts.headers;
    let mut is_last = close_requested;
    if close_requested && !connection_close(&headers) {
        headers.append(CONNECTION, HeaderValue::from_static("close"));
    }
    let mut framing = None;
    let mut wrote_date = false;
    for name in headers.keys() {
        let mut values = headers.get_all(name).iter();
        if name == CONTENT_LENGTH {
            let first = values.next().map(|v| v.as_bytes()).unwrap_or(b"0");
            match known {
                Some(Some(n)) => framing = Some(Framing::Length(n)),
                Some(None) => {
                    let Some(n) = parse_length(first) else {
                        return Err(io::Error::other("illegal content-length in a response"));
                    };
                    if values.any(|v| parse_length(v.as_bytes()) != Some(n)) {
                        return Err(io::Error::other("multiple content-length values in a response"));
                    }
                    framing = Some(Framing::Length(n));
                }
                None if method == Method::HEAD => framing = Some(Framing::None),
                None => continue,
            }
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(first);
            out.extend_from_slice(b"\r\n");
            continue;
        }
        if name == TRANSFER_ENCODING || name == TRAILER {
            if !can_body {
                continue;
            }
            let joined = join(headers.get_all(name).iter());
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&joined);
            if name == TRANSFER_ENCODING {
                let chunked = joined
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
                if !chunked {
                    out.extend_from_slice(b", chunked");
                }
                framing = Some(Framing::Chunked);
            }
            out.extend_from_slice(b"\r\n");
            continue;
        }
        if name == CONNECTION {
            let joined = join(headers.get_all(name).iter());
            if has_token(&joined, b"close") {
                is_last = true;
            }
            out.extend_from_slice(b"connection: ");
            out.extend_from_slice(&joined);
            out.extend_from_slice(b"\r\n");
            continue;
        }
        if name == DATE {
            wrote_date = true;
        }
        for value in headers.get_all(name) {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    let framing = match framing {
        Some(f) => f,
        None => match known {
            Some(None) if can_body => {
                out.extend_from_slice(b"transfer-encoding: chunked\r\n");
                Framing::Chunked
            }
            Some(None) => Framing::Close,
            None | Some(Some(0)) => {
                if can_length && method != Method::HEAD {
                    out.extend_from_slice(b"content-length: 0\r\n");
                }
                Framing::None
            }
            Some(Some(n)) => {
                if can_length {
                    out.extend_from_slice(b"content-length: ");
                    out.extend_from_slice(n.to_string().as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                Framing::Length(n)
            }
        },
    };
    if !wrote_date {
        push_date(&mut out);
    }
    out.extend_from_slice(b"\r\n");
    if !can_body || framing == Framing::None || known.is_none() {
        stream.write_all(&out).await?;
        return Ok(!is_last);
    }
    // The body: the first frame goes out with the head (one write for most responses).
    let mut left = match framing {
        Framing::Length(n) => n,
        _ => u64::MAX,
    };
    let mut ended_cleanly = false;
    loop {
        let mut end = false;
        match body.frame().await {
            None => {
                ended_cleanly = true;
                end = true;
                if framing == Framing::Chunked {
                    out.extend_from_slice(b"0\r\n\r\n");
                }
            }
            Some(Err(e)) => {
                // The target's body broke off: the client sees the connection end.
                if !out.is_empty() {
                    stream.write_all(&out).await?;
                }
                return Err(io::Error::other(e));
            }
            // Trailers are dropped: the response declares none (hyper sends only
            // declared ones).
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if data.is_empty() => {}
                Ok(data) => match framing {
                    Framing::Chunked => {
                        out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
                        out.extend_from_slice(&data);
                        out.extend_from_slice(b"\r\n");
                    }
                    Framing::Length(_) => {
                        let take = (data.len() as u64).min(left) as usize;
                        out.extend_from_slice(&data[..take]);
                        left -= take as u64;
                    }
                    _ => out.extend_from_slice(&data),
                },
                Err(_trailers) => {}
            },
        }
        if matches!(framing, Framing::Length(_)) && left == 0 {
            end = true;
        }
        // Flush before waiting for a frame that may be slow to come.
        if end || out.len() >= 16 * 1024 || !body.is_end_stream() {
            if !out.is_empty() {
                stream.write_all(&out).await?;
            }
            out.clear();
        }
        if end {
            break;
        }
    }
    let complete = match framing {
        Framing::Length(_) => left == 0,
        Framing::Chunked => ended_cleanly,
        _ => false,
    };
    Ok(!is_last && complete && framing != Framing::Close)
}

fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn join<'a>(values: impl Iterator<Item = &'a HeaderValue>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(v.as_bytes());
    }
    out
}

thread_local! {
    /// The `date:` line, made at most once a second per thread.
    static DATE_LINE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((0, Vec::new())) };
}

fn push_date(out: &mut Vec<u8>) {
    let now = std::time::SystemTime::now();
    let secs = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE_LINE.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.0 != secs || cell.1.is_empty() {
            cell.0 = secs;
            cell.1 = format!("date: {}\r\n", httpdate::fmt_http_date(now)).into_bytes();
        }
        out.extend_from_slice(&cell.1);
    });
}

/// For connections hyper serves from their start (HTTPS listeners): read the first
/// request head (until its end, 64 KiB, the end of the stream or the idle timeout),
/// to size hyper's header array for it. The bytes read, to replay with [`Rewind`], and
/// what [`Handover::max_headers`] would be; `None` when the connection should close
/// (nothing arrived, the idle timeout passed, the listener stopped).
pub(crate) async fn read_first_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    idle_timeout: Duration,
    stop: &mut watch::Receiver<bool>,
) -> Option<(Bytes, Option<usize>)> {
    let mut data = BytesMut::new();
    let read = async {
        loop {
            data.reserve(READ_SPACE);
            match stream.read_buf(&mut data).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if data.len() > MAX_HEAD || header_lines(&data).1 {
                return;
            }
        }
    };
    tokio::select! {
        done = tokio::time::timeout(idle_timeout, read) => done.ok()?,
        _ = stopped(stop) => return None,
    }
    if data.is_empty() {
        return None;
    }
    let slots = header_slots(&data);
    Some((data.freeze(), slots))
}

/// A stream that first yields bytes already read from it.
pub(crate) struct Rewind<S = TcpStream> {
    prefix: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    pub(crate) fn new(inner: S, prefix: Bytes) -> Rewind<S> {
        Rewind { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let chunk = self.prefix.split_to(n);
            buf.put_slice(&chunk);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

delegate_async_write!(Rewind);

/// For tests: the connection state of one request through [`parse_request`].
#[cfg(test)]
mod tests {
    use super::*;

    fn simple(raw: &[u8]) -> (Request<http_body_util::Empty<Bytes>>, BytesMut) {
        match parse_request(BytesMut::from(raw)) {
            Parsed::Simple(r, rest) => (r, rest),
            Parsed::Partial(_) => panic!("partial"),
            Parsed::Other(_) => panic!("other"),
        }
    }

    fn other(raw: &[u8]) -> bool {
        matches!(parse_request(BytesMut::from(raw)), Parsed::Other(_))
    }

    #[test]
    fn a_simple_get_is_taken_and_pipelined_bytes_kept() {
        let (r, rest) = simple(b"GET /a?b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\n\r\nGET /next");
        assert_eq!(r.method(), Method::GET);
        assert_eq!(r.uri().path(), "/a");
        assert_eq!(r.uri().query(), Some("b"));
        assert_eq!(r.headers().get_all("x-a").iter().count(), 2);
        assert_eq!(&rest[..], b"GET /next");
    }

    #[test]
    fn a_head_split_anywhere_is_partial() {
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        for cut in 1..raw.len() {
            assert!(
                matches!(parse_request(BytesMut::from(&raw[..cut])), Parsed::Partial(_)),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn everything_unusual_goes_to_hyper() {
        assert!(other(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));
        assert!(other(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
        assert!(other(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
        assert!(other(
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
        ));
        assert!(other(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(other(b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), "obs-fold");
        assert!(other(b"GET / HTTP/1.1\r\nX : a\r\n\r\n"), "space before colon");
        assert!(other(b"CONNECT a:443 HTTP/1.1\r\n\r\n"));
        assert!(other(b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
        assert!(other(b"GET / HTTP/1.1\r\nTE: trailers\r\n\r\n"));
        let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
        assert!(other(
            format!("POST / HTTP/1.1\r\n{many}Content-Length: 1\r\n\r\na").as_bytes()
        ));
    }

    #[test]
    fn more_than_100_headers_are_taken_within_64k() {
        for n in [101, 150, 1000, 3000] {
            let many: String = (0..n).map(|i| format!("X-{i}: v{i}\r\n")).collect();
            let raw = format!("GET /m HTTP/1.1\r\nHost: x\r\n{many}\r\nGET /next");
            let (r, rest) = simple(raw.as_bytes());
            assert_eq!(r.headers().len(), n + 1, "{n}");
            assert_eq!(r.headers()["x-0"], "v0");
            assert_eq!(r.headers()[format!("x-{}", n - 1)], format!("v{}", n - 1));
            assert_eq!(&rest[..], b"GET /next");
        }
        // Bare LF line ends count the same.
        let many: String = (0..120).map(|i| format!("X-{i}: v\n")).collect();
        assert_eq!(
            simple(format!("GET / HTTP/1.1\n{many}\n").as_bytes()).0.headers().len(),
            120
        );
    }

    #[test]
    fn a_long_head_is_partial_until_its_end_then_hyper_is_sized_for_it() {
        let many: String = (0..300).map(|i| format!("X-{i}: v\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\n{many}\r\n");
        let cut = raw.len() - 3;
        assert!(matches!(
            parse_request(BytesMut::from(&raw.as_bytes()[..cut])),
            Parsed::Partial(_)
        ));
        assert_eq!(header_lines(raw.as_bytes()), (300, true));
        assert_eq!(header_lines(&raw.as_bytes()[..cut]), (299, false));
        assert_eq!(header_lines(b"\r\nGET / HTTP/1.1\r\nA: b\r\n\r\nX: y\r\n"), (1, true));
        assert_eq!(header_slots(raw.as_bytes()), Some(600));
        assert_eq!(header_slots(b"GET / HTTP/1.1\r\nA: b\r\n\r\n"), None);
        // Over 64 KiB: hyper's, whose request the phases answer with 400.
        let big: String = (0..1000).map(|i| format!("X-{i:04}: {}\r\n", "v".repeat(60))).collect();
        assert!(other(format!("GET / HTTP/1.1\r\n{big}\r\n").as_bytes()));
    }
}
