//! Desync mitigation as an ALB does it. Every HTTP/1 request head is classified with
//! AWS's own classifier (the `http_desync_guardian` crate) into a tier — Compliant,
//! Acceptable, Ambiguous or Severe — with a reason such as `BothTeClPresent`, and
//! handled by the load balancer's `routing.http.desync_mitigation_mode`:
//!
//! | tier       | monitor | defensive (default)             | strictest |
//! |------------|---------|---------------------------------|-----------|
//! | Compliant  | forward | forward                         | forward   |
//! | Acceptable | forward | forward                         | 400       |
//! | Ambiguous  | forward | forward, then close both sides  | 400       |
//! | Severe     | forward | 400                             | 400       |
//!
//! The classifier reads the head as hyper parsed it (method, version, URI, header
//! names and raw values). Shapes hyper cannot parse at all — obs-folded lines, a space
//! before a colon, two different Content-Length values — never get this far: hyper
//! answers 400 and closes, in every mode. Whatever is forwarded is re-framed by
//! hyper (one Content-Length or chunked, never both), so a target never sees the
//! client's ambiguous framing.
//!
//! Non-compliant requests carry their tier and reason into the access log's
//! `classification` and `classification_reason` fields.

use http_desync_guardian::request_analyzer::{HttpHeader, HttpRequestData};
use http_desync_guardian::{ClassificationReason, RequestSafetyTier};

/// `routing.http.desync_mitigation_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Mode {
    Monitor,
    #[default]
    Defensive,
    Strictest,
}

impl Mode {
    pub fn from_attribute(value: Option<&str>) -> Mode {
        match value {
            Some("monitor") => Mode::Monitor,
            Some("strictest") => Mode::Strictest,
            _ => Mode::Defensive,
        }
    }
}

/// A request's classification; `None` tier fields mean Compliant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub tier: RequestSafetyTier,
    pub reason: ClassificationReason,
}

/// What the load balancer does with a request, by its verdict and the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Forward,
    /// Forward, then close the client connection (and do not reuse the target's).
    ForwardAndClose,
    /// Answer 400 and close.
    Block,
}

impl Verdict {
    pub fn compliant(&self) -> bool {
        self.tier == RequestSafetyTier::Compliant
    }

    /// The access log's `classification` field: `-` for compliant requests.
    pub fn log_tier(&self) -> &'static str {
        match self.tier {
            RequestSafetyTier::Compliant => "-",
            RequestSafetyTier::Acceptable => "Acceptable",
            RequestSafetyTier::Ambiguous => "Ambiguous",
            RequestSafetyTier::Severe => "Severe",
        }
    }

    /// The access log's `classification_reason` field: `-` for compliant requests.
    pub fn log_reason(&self) -> &'static str {
        use ClassificationReason as R;
        match self.reason {
            R::Compliant => "-",
            R::EmptyHeader => "EmptyHeader",
            R::SuspiciousHeader => "SuspiciousHeader",
            R::NonCompliantHeader => "NonCompliantHeader",
            R::BadHeader => "BadHeader",
            R::AmbiguousUri => "AmbiguousUri",
            R::SpaceInUri => "SpaceInUri",
            R::BadUri => "BadUri",
            R::NonCompliantVersion => "NonCompliantVersion",
            R::BadVersion => "BadVersion",
            R::GetHeadZeroContentLength => "GetHeadZeroContentLength",
            R::UndefinedContentLengthSemantics => "UndefinedContentLengthSemantics",
            R::MultipleContentLength => "MultipleContentLength",
            R::DuplicateContentLength => "DuplicateContentLength",
            R::BadContentLength => "BadContentLength",
            R::UndefinedTransferEncodingSemantics => "UndefinedTransferEncodingSemantics",
            R::MultipleTransferEncodingChunked => "MultipleTransferEncodingChunked",
            R::BadTransferEncoding => "BadTransferEncoding",
            R::BothTeClPresent => "BothTeClPresent",
            R::BadMethod => "BadMethod",
            R::NonCrLfLineTermination => "NonCrLfLineTermination",
            R::MultilineHeader => "MultilineHeader",
            R::PartialHeaderLine => "PartialHeaderLine",
            R::MissingLastEmptyLine => "MissingLastEmptyLine",
            R::MissingHeaderColon => "MissingHeaderColon",
            R::MissingUri => "MissingUri",
        }
    }

    pub fn action(&self, mode: Mode) -> Action {
        use RequestSafetyTier as T;
        match (mode, self.tier) {
            (_, T::Compliant) | (Mode::Monitor, _) => Action::Forward,
            (Mode::Defensive, T::Acceptable) => Action::Forward,
            (Mode::Defensive, T::Ambiguous) => Action::ForwardAndClose,
            (Mode::Defensive, T::Severe) | (Mode::Strictest, _) => Action::Block,
        }
    }
}

/// Classify an HTTP/1 request head (HTTP/2 requests are not classified: they have no
/// such framing ambiguity).
pub(crate) fn classify<B>(req: &http::Request<B>) -> Verdict {
    let version: &[u8] = match req.version() {
        http::Version::HTTP_09 => b"HTTP/0.9",
        http::Version::HTTP_10 => b"HTTP/1.0",
        http::Version::HTTP_11 => b"HTTP/1.1",
        _ => {
            return Verdict {
                tier: RequestSafetyTier::Compliant,
                reason: ClassificationReason::Compliant,
            }
        }
    };
    // Origin form (the usual case) is its path and query as received: no formatting.
    let formatted;
    let uri = match req.uri().path_and_query() {
        Some(pq) if req.uri().scheme().is_none() && req.uri().authority().is_none() => pq.as_str(),
        _ => {
            formatted = req.uri().to_string();
            formatted.as_str()
        }
    };
    let mut data = HttpRequestData {
        method: req.method().as_str().as_bytes(),
        version,
        uri: uri.as_bytes(),
        headers: req
            .headers()
            .iter()
            .map(|(name, value)| HttpHeader::new(name.as_str().as_bytes(), value.as_bytes()))
            .collect(),
    };
    let result = data.analyze_parsed_request();
    Verdict {
        tier: result.tier,
        reason: result.reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, version: http::Version, headers: &[(&str, &[u8])]) -> http::Request<()> {
        let mut b = http::Request::builder()
            .method(method)
            .uri("/path?q=1")
            .version(version);
        for (name, value) in headers {
            b = b.header(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        b.body(()).unwrap()
    }

    #[test]
    fn plain_request_is_compliant() {
        let v = classify(&head("GET", http::Version::HTTP_11, &[("host", b"example.com")]));
        assert!(v.compliant());
        assert_eq!((v.log_tier(), v.log_reason()), ("-", "-"));
        assert_eq!(v.action(Mode::Strictest), Action::Forward);
    }

    #[test]
    fn te_and_cl_together_is_ambiguous() {
        let v = classify(&head(
            "POST",
            http::Version::HTTP_11,
            &[
                ("host", b"h"),
                ("content-length", b"6"),
                ("transfer-encoding", b"chunked"),
            ],
        ));
        assert_eq!(v.tier, RequestSafetyTier::Ambiguous);
        assert_eq!(v.log_reason(), "BothTeClPresent");
        assert_eq!(v.action(Mode::Monitor), Action::Forward);
        assert_eq!(v.action(Mode::Defensive), Action::ForwardAndClose);
        assert_eq!(v.action(Mode::Strictest), Action::Block);
    }

    #[test]
    fn bad_transfer_encoding_is_severe_and_blocked_when_defensive() {
        let v = classify(&head(
            "POST",
            http::Version::HTTP_11,
            &[("host", b"h"), ("transfer-encoding", b"chunked, xchunked")],
        ));
        assert!(v.tier >= RequestSafetyTier::Ambiguous, "{v:?}");
        let v = classify(&head(
            "POST",
            http::Version::HTTP_11,
            &[("host", b"h"), ("content-length", b"1x")],
        ));
        assert_eq!(v.tier, RequestSafetyTier::Severe, "{v:?}");
        assert_eq!(v.action(Mode::Defensive), Action::Block);
        assert_eq!(v.action(Mode::Monitor), Action::Forward);
    }

    #[test]
    fn te_on_http_1_0_is_ambiguous() {
        let v = classify(&head(
            "POST",
            http::Version::HTTP_10,
            &[("transfer-encoding", b"chunked")],
        ));
        assert_eq!(v.tier, RequestSafetyTier::Ambiguous, "{v:?}");
    }

    #[test]
    fn modes_parse() {
        assert_eq!(Mode::from_attribute(None), Mode::Defensive);
        assert_eq!(Mode::from_attribute(Some("monitor")), Mode::Monitor);
        assert_eq!(Mode::from_attribute(Some("strictest")), Mode::Strictest);
    }
}
