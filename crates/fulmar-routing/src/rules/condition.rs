//! Compiled listener-rule conditions, and the per-request facts they look at.
//!
//! Each [`Condition`] is compiled once into a [`Check`] (patterns pre-lowercased,
//! escapes resolved). A request is turned once per evaluation into a [`Prepared`]
//! view (Host without its port, canonical source address, query pairs decoded on
//! first use), so a table of many rules does the extraction only once.
//!
//! Decisions, per condition type (AWS ALB user guide, "Condition types"):
//! - host-header: ASCII case-insensitive, against the Host header (or `:authority`)
//!   with a trailing `:port` removed (`[v6]:port` keeps the brackets). No Host → no match.
//! - path-pattern: case-sensitive, against the path exactly as received (not
//!   percent-decoded, not normalised), never the query.
//! - http-header: name ASCII case-insensitive; each value case-insensitive with
//!   wildcards; every copy of a repeated header is tried. A copy is not split on commas.
//! - query-string: the query is split on `&`, each part on its first `=`; a part
//!   without `=` is a key with an empty value. Keys and values are percent-decoded
//!   (`%2A` → `*`; invalid UTF-8 becomes U+FFFD) before matching, because the API
//!   reference says any query character may be percent-encoded; `+` is *not* turned
//!   into a space (RFC 3986, not HTML forms). Patterns are case-insensitive with
//!   `\*` / `\?` escapes; a configured pair without a key matches any key's value.
//! - http-request-method: exact, case-sensitive.
//! - source-ip: the connection's address; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
//!   is treated as the IPv4 address, and an IPv4 address also matches a CIDR written
//!   over the mapped range (`::ffff:0:0/96`).

use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::IpAddr;

use fulmar_model::Condition;
use ipnet::IpNet;
use percent_encoding::percent_decode_str;

use super::RequestView;
use crate::wildcard::Pattern;

/// One compiled condition; values are OR'd.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Check {
    /// Standard methods as a bit set (see [`method_bit`]); others compared as strings.
    Method {
        known: u16,
        custom: Box<[Box<str>]>,
    },
    SourceIp(Box<[IpNet]>),
    Host(Box<[Pattern]>),
    Path(Box<[Pattern]>),
    Header {
        name: Box<str>,
        values: Box<[Pattern]>,
    },
    Query(Box<[(Option<Pattern>, Pattern)]>),
}

impl Check {
    pub(crate) fn new(condition: &Condition) -> Check {
        fn patterns(values: &[String], fold: bool) -> Box<[Pattern]> {
            values.iter().map(|v| Pattern::new(v, fold, false)).collect()
        }
        match condition {
            Condition::HostHeader(v) => Check::Host(patterns(v, true)),
            Condition::PathPattern(v) => Check::Path(patterns(v, false)),
            Condition::HttpHeader { name, values } => Check::Header {
                name: name.as_str().into(),
                values: patterns(values, true),
            },
            Condition::QueryString(pairs) => Check::Query(
                pairs
                    .iter()
                    .map(|p| {
                        let key = p.key.as_deref().map(|k| Pattern::new(k, true, true));
                        (key, Pattern::new(&p.value, true, true))
                    })
                    .collect(),
            ),
            Condition::HttpRequestMethod(v) => {
                let known = v.iter().fold(0, |acc, m| acc | method_bit(m));
                let custom = v.iter().filter(|m| method_bit(m) == 0).map(|m| m.as_str().into());
                Check::Method {
                    known,
                    custom: custom.collect(),
                }
            }
            Condition::SourceIp(nets) => Check::SourceIp(nets.as_slice().into()),
        }
    }

    /// A rough cost rank: cheap checks run first, since the conditions are AND'd.
    pub(crate) fn cost(&self) -> u8 {
        match self {
            Check::Method { .. } => 0,
            Check::SourceIp(_) => 1,
            Check::Host(_) => 2,
            Check::Path(_) => 3,
            Check::Header { .. } => 4,
            Check::Query(_) => 5,
        }
    }

    #[inline(always)]
    pub(crate) fn matches(&self, req: &Prepared<'_, '_>) -> bool {
        match self {
            Check::Method { known, custom } => {
                known & req.method_bit != 0 || (req.method_bit == 0 && custom.iter().any(|m| **m == *req.view.method))
            }
            Check::SourceIp(nets) => nets.iter().any(|n| ip_in(n, req.ip)),
            Check::Host(patterns) => match req.host {
                Some(host) => patterns.iter().any(|p| p.matches(host)),
                None => false,
            },
            Check::Path(patterns) => patterns.iter().any(|p| p.matches(req.view.path)),
            Check::Header { name, values } => header_matches(name, values, req),
            Check::Query(wanted) => query_matches(wanted, req),
        }
    }
}

// The two costlier checks live out of line so the common arms above stay small.
#[inline(never)]
fn header_matches(name: &str, values: &[Pattern], req: &Prepared<'_, '_>) -> bool {
    req.view
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .any(|(_, v)| values.iter().any(|p| p.matches(v)))
}

#[inline(never)]
fn query_matches(wanted: &[(Option<Pattern>, Pattern)], req: &Prepared<'_, '_>) -> bool {
    let pairs = req.query_pairs();
    wanted.iter().any(|(key, value)| {
        pairs.iter().any(|(k, v)| {
            let key_ok = match key {
                Some(key) => key.matches(k),
                None => true,
            };
            key_ok && value.matches(v)
        })
    })
}

fn ip_in(net: &IpNet, ip: IpAddr) -> bool {
    if net.contains(&ip) {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => net.contains(&IpAddr::V6(v4.to_ipv6_mapped())),
        IpAddr::V6(_) => false,
    }
}

/// The facts rule matching needs, extracted once per request.
pub(crate) struct Prepared<'r, 'a> {
    view: &'r RequestView<'a>,
    host: Option<&'a str>,
    method_bit: u16,
    ip: IpAddr,
    query: OnceCell<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
}

impl<'r, 'a> Prepared<'r, 'a> {
    pub(crate) fn new(view: &'r RequestView<'a>) -> Self {
        Prepared {
            view,
            host: view.host.map(strip_port),
            method_bit: method_bit(view.method),
            ip: view.source_ip.to_canonical(),
            query: OnceCell::new(),
        }
    }

    /// The request's host without its port, if it has one.
    pub(crate) fn host(&self) -> Option<&'a str> {
        self.host
    }

    fn query_pairs(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        self.query.get_or_init(|| match self.view.query {
            Some(q) if !q.is_empty() => q
                .split('&')
                .filter(|part| !part.is_empty())
                .map(|part| {
                    let (k, v) = part.split_once('=').unwrap_or((part, ""));
                    (decode(k), decode(v))
                })
                .collect(),
            _ => Vec::new(),
        })
    }
}

/// The bit for a standard method (exact, case-sensitive spelling); 0 for any other.
fn method_bit(method: &str) -> u16 {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.iter().position(|k| *k == method).map_or(0, |i| 1 << i)
}

fn decode(s: &str) -> Cow<'_, str> {
    percent_decode_str(s).decode_utf8_lossy()
}

/// `host:port` → `host`; `[v6]:port` → `[v6]`; a bare IPv6 literal is left alone.
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}
