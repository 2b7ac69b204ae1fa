//! What one probe found ([`Outcome`]) and the `StatusReport` text Route 53 shows for
//! it in GetHealthCheckStatus and GetHealthCheckLastFailureReason.
//!
//! The texts follow what Route 53 returns, as seen in its documentation and in
//! published command output:
//!
//! - `Success: HTTP Status Code 200, OK` — the endpoint's own reason phrase is shown
//!   (`Failure: HTTP Status Code 503, Service Temporarily Unavailable`);
//! - when the endpoint was found by resolving its FQDN, `. Resolved IP: <ip>` follows an
//!   HTTP status, and other failures read `Failure: Resolved IP: <ip>. <what happened>`
//!   (`Failure: Resolved IP: 192.0.2.1. The connection was closed by the endpoint.`);
//! - `Failure: Connection timed out. The endpoint or the internet connection is down,
//!   or requests are being blocked by your firewall. See <firewall guide>`;
//! - `Failure: SSL alert handshake_failure` for a TLS alert; `DNS resolution failed`.
//!
//! Texts not confirmed against AWS (TCP success, search string not found, response
//! timeout, connection refused) follow the same pattern.

use std::net::IpAddr;

use crate::decide::is_passing_code;

/// Route 53's advice page, quoted at the end of connection failures.
const FIREWALL_GUIDE: &str =
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-router-firewall-rules.html";

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP response head arrived in time; passes when 2xx or 3xx.
    HttpStatus {
        code: u16,
        reason: String,
    },
    /// A `*_STR_MATCH` response passed on status but its first 5,120 bytes of body
    /// lacked the search string.
    SearchStringNotFound {
        code: u16,
        reason: String,
    },
    /// The body of a `*_STR_MATCH` response did not arrive within two seconds.
    BodyTimeout {
        code: u16,
        reason: String,
    },
    /// A TCP check connected.
    TcpConnected,
    /// No TCP connection within 4 s (HTTP kinds) or 10 s (TCP).
    ConnectTimeout,
    ConnectionRefused,
    /// Any other connect error (no route, unreachable, ...).
    ConnectFailed(String),
    /// Connected, but no status line within two seconds.
    ResponseTimeout,
    /// The endpoint closed the connection before a complete response head.
    ConnectionClosed,
    /// The endpoint answered something that is not HTTP/1.x.
    InvalidResponse,
    /// The endpoint sent a TLS alert (named as in the TLS registry, e.g.
    /// `handshake_failure`).
    TlsAlert(String),
    /// TLS failed otherwise.
    TlsFailed(String),
    /// The FQDN did not resolve.
    DnsFailed,
}

impl Outcome {
    /// Whether the probe counts as a success for its checker.
    pub fn is_success(&self) -> bool {
        match self {
            Outcome::HttpStatus { code, .. } => is_passing_code(*code),
            Outcome::TcpConnected => true,
            _ => false,
        }
    }

    /// The `StatusReport.Status` text; `resolved` is the address the FQDN resolved to,
    /// when the endpoint was found by name.
    pub fn status_text(&self, resolved: Option<IpAddr>) -> String {
        let verdict = if self.is_success() { "Success" } else { "Failure" };
        let suffix = resolved.map(|ip| format!(". Resolved IP: {ip}")).unwrap_or_default();
        let prefix = resolved.map(|ip| format!("Resolved IP: {ip}. ")).unwrap_or_default();
        match self {
            Outcome::HttpStatus { code, reason } => {
                format!("{verdict}: HTTP Status Code {code}, {reason}{suffix}")
            }
            Outcome::SearchStringNotFound { code, reason } => format!(
                "Failure: HTTP Status Code {code}, {reason}{suffix}. \
                 The search string was not found in the first 5120 bytes of the response body."
            ),
            Outcome::BodyTimeout { code, reason } => format!(
                "Failure: HTTP Status Code {code}, {reason}{suffix}. \
                 The response body was not received within the timeout."
            ),
            Outcome::TcpConnected => format!("Success: TCP connection established{suffix}"),
            Outcome::ConnectTimeout => format!(
                "Failure: {prefix}Connection timed out. The endpoint or the internet connection \
                 is down, or requests are being blocked by your firewall. See {FIREWALL_GUIDE}"
            ),
            Outcome::ConnectionRefused => format!(
                "Failure: {prefix}Connection refused. The endpoint or the internet connection \
                 is down, or requests are being blocked by your firewall. See {FIREWALL_GUIDE}"
            ),
            Outcome::ConnectFailed(why) => format!(
                "Failure: {prefix}Connection failed ({why}). The endpoint or the internet \
                 connection is down, or requests are being blocked by your firewall. \
                 See {FIREWALL_GUIDE}"
            ),
            Outcome::ResponseTimeout => format!(
                "Failure: {prefix}The endpoint did not return a valid HTTP status code \
                 within the timeout."
            ),
            Outcome::ConnectionClosed => {
                format!("Failure: {prefix}The connection was closed by the endpoint.")
            }
            Outcome::InvalidResponse => {
                format!("Failure: {prefix}The endpoint did not return a valid HTTP response.")
            }
            Outcome::TlsAlert(alert) => format!("Failure: {prefix}SSL alert {alert}"),
            Outcome::TlsFailed(why) => format!("Failure: {prefix}SSL handshake failed: {why}"),
            Outcome::DnsFailed => "Failure: DNS resolution failed.".to_owned(),
        }
    }
}

/// `HandshakeFailure` → `handshake_failure`: a rustls alert name as the TLS registry
/// spells it.
pub fn alert_name(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(code: u16, reason: &str) -> Outcome {
        Outcome::HttpStatus {
            code,
            reason: reason.into(),
        }
    }

    #[test]
    fn http_status_texts() {
        assert_eq!(http(200, "OK").status_text(None), "Success: HTTP Status Code 200, OK");
        let ip: IpAddr = "35.175.67.127".parse().unwrap();
        assert_eq!(
            http(200, "OK").status_text(Some(ip)),
            "Success: HTTP Status Code 200, OK. Resolved IP: 35.175.67.127"
        );
        assert_eq!(
            http(503, "Service Temporarily Unavailable").status_text(None),
            "Failure: HTTP Status Code 503, Service Temporarily Unavailable"
        );
        assert!(http(301, "Moved Permanently").is_success());
        assert!(!http(404, "Not Found").is_success());
    }

    #[test]
    fn connection_failure_texts() {
        assert_eq!(
            Outcome::ConnectTimeout.status_text(None),
            "Failure: Connection timed out. The endpoint or the internet connection is down, \
             or requests are being blocked by your firewall. See https://docs.aws.amazon.com/\
             Route53/latest/DeveloperGuide/dns-failover-router-firewall-rules.html"
        );
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            Outcome::ConnectionClosed.status_text(Some(ip)),
            "Failure: Resolved IP: 192.0.2.1. The connection was closed by the endpoint."
        );
        assert!(Outcome::ConnectionRefused
            .status_text(None)
            .starts_with("Failure: Connection refused. "));
        assert_eq!(
            Outcome::TlsAlert("handshake_failure".into()).status_text(None),
            "Failure: SSL alert handshake_failure"
        );
        assert!(!Outcome::DnsFailed.is_success());
        assert!(Outcome::TcpConnected.is_success());
    }

    #[test]
    fn alert_names() {
        assert_eq!(alert_name("HandshakeFailure"), "handshake_failure");
        assert_eq!(alert_name("UnrecognisedName"), "unrecognised_name");
        assert_eq!(alert_name("BadCertificate"), "bad_certificate");
    }
}
