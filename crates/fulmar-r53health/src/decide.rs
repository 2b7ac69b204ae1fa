//! The pure decisions of Route 53 health checking, apart from any socket: what a
//! checker's run of results makes of its status, how the checkers' views add up, what
//! a calculated check makes of its children, and what `Inverted` and `Disabled` do.
//!
//! The rules, from "How Amazon Route 53 determines whether a health check is healthy":
//!
//! - Every checker (one per checker region) judges the endpoint on its own. A new
//!   health check starts **healthy** ("Route 53 considers a new health check to be
//!   healthy until there's enough data to determine the actual status"); a checker
//!   changes its status after `FailureThreshold` consecutive results that disagree with
//!   it — the same threshold in both directions, as the API reference defines it.
//! - The health check is healthy when **more than 18%** of its checkers see it healthy.
//!   With Fulmar's three default checker regions, one healthy checker is enough.
//! - A CALCULATED check is healthy when at least `HealthThreshold` of its children are
//!   healthy; 0 means always healthy, more than the number of children never healthy.
//! - `Disabled`: Route 53 stops probing and considers the status always healthy;
//!   `Inverted` then still applies ("if you want to stop routing traffic to a resource,
//!   change the value of Inverted"), so a disabled and inverted check is unhealthy.

/// How many leading bytes of the response body a `*_STR_MATCH` check searches.
pub const SEARCH_WINDOW_BYTES: usize = 5120;

/// The share of checkers, in percent, that must see an endpoint healthy — strictly more
/// than this — for the health check to be healthy.
pub const HEALTHY_CHECKER_PERCENT: usize = 18;

/// The `Type` of a health check, parsed from the model's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Http,
    Https,
    HttpStrMatch,
    HttpsStrMatch,
    Tcp,
    Calculated,
    /// `CLOUDWATCH_METRIC`, `RECOVERY_CONTROL` and anything newer: Fulmar has no
    /// alarms or routing controls to follow, so these report their
    /// `InsufficientDataHealthStatus` (healthy unless it is `Unhealthy`).
    Unprobed,
}

impl Kind {
    pub fn parse(kind: &str) -> Kind {
        match kind {
            "HTTP" => Kind::Http,
            "HTTPS" => Kind::Https,
            "HTTP_STR_MATCH" => Kind::HttpStrMatch,
            "HTTPS_STR_MATCH" => Kind::HttpsStrMatch,
            "TCP" => Kind::Tcp,
            "CALCULATED" => Kind::Calculated,
            _ => Kind::Unprobed,
        }
    }

    /// Whether health checkers probe an endpoint for this kind.
    pub fn probes_endpoint(self) -> bool {
        matches!(
            self,
            Kind::Http | Kind::Https | Kind::HttpStrMatch | Kind::HttpsStrMatch | Kind::Tcp
        )
    }

    /// Whether the request goes over TLS.
    pub fn tls(self) -> bool {
        matches!(self, Kind::Https | Kind::HttpsStrMatch)
    }

    /// Whether the response body is searched for the `SearchString`.
    pub fn string_match(self) -> bool {
        matches!(self, Kind::HttpStrMatch | Kind::HttpsStrMatch)
    }

    /// The port when the health check names none: 443 over TLS, else 80.
    pub fn default_port(self) -> u16 {
        if self.tls() {
            443
        } else {
            80
        }
    }
}

/// One checker's view of an endpoint: its current status and the run of results
/// that disagree with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckerVerdict {
    healthy: bool,
    disagreeing: u32,
}

impl Default for CheckerVerdict {
    /// A new checker sees the endpoint healthy until `FailureThreshold` failures.
    fn default() -> Self {
        CheckerVerdict {
            healthy: true,
            disagreeing: 0,
        }
    }
}

impl CheckerVerdict {
    pub fn is_healthy(&self) -> bool {
        self.healthy
    }

    /// Take in one probe result; returns whether the status changed. A
    /// `failure_threshold` of 0 is read as 1.
    pub fn observe(&mut self, success: bool, failure_threshold: u32) -> bool {
        if success == self.healthy {
            self.disagreeing = 0;
            return false;
        }
        self.disagreeing += 1;
        if self.disagreeing >= failure_threshold.max(1) {
            self.healthy = success;
            self.disagreeing = 0;
            return true;
        }
        false
    }
}

/// Whether an endpoint is healthy when `healthy` of `total` checkers see it healthy.
/// With no checkers at all (nothing observed yet) it is healthy.
pub fn aggregate(healthy: usize, total: usize) -> bool {
    total == 0 || healthy * 100 > total * HEALTHY_CHECKER_PERCENT
}

/// Whether a CALCULATED check with `healthy_children` healthy children is healthy. A
/// missing `HealthThreshold` is read as 0 (always healthy).
pub fn calculated(healthy_children: usize, health_threshold: Option<u32>) -> bool {
    let needed = health_threshold.unwrap_or(0) as usize;
    healthy_children >= needed
}

/// The status Route 53 reports for a check whose measured status is `measured`
/// (evaluated only when the check is enabled).
pub fn reported(disabled: bool, inverted: bool, measured: impl FnOnce() -> bool) -> bool {
    let raw = disabled || measured();
    raw != inverted
}

/// Whether a status code passes an HTTP(S) check: 2xx or 3xx.
pub fn is_passing_code(code: u16) -> bool {
    (200..400).contains(&code)
}

/// Whether `search` appears entirely within the first [`SEARCH_WINDOW_BYTES`] bytes of
/// `body`, compared byte for byte (case-sensitive). An empty search string matches.
pub fn body_contains(body: &[u8], search: &str) -> bool {
    let window = &body[..body.len().min(SEARCH_WINDOW_BYTES)];
    let needle = search.as_bytes();
    needle.is_empty() || window.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_checker_is_healthy_and_flips_after_the_threshold() {
        let mut v = CheckerVerdict::default();
        assert!(v.is_healthy());
        assert!(!v.observe(false, 3));
        assert!(!v.observe(false, 3));
        assert!(v.is_healthy());
        assert!(v.observe(false, 3));
        assert!(!v.is_healthy());
    }

    #[test]
    fn a_success_breaks_the_run_of_failures() {
        let mut v = CheckerVerdict::default();
        v.observe(false, 3);
        v.observe(false, 3);
        v.observe(true, 3);
        v.observe(false, 3);
        v.observe(false, 3);
        assert!(v.is_healthy());
        v.observe(false, 3);
        assert!(!v.is_healthy());
    }

    #[test]
    fn recovery_takes_the_same_threshold() {
        let mut v = CheckerVerdict::default();
        v.observe(false, 2);
        v.observe(false, 2);
        assert!(!v.is_healthy());
        v.observe(true, 2);
        assert!(!v.is_healthy());
        v.observe(true, 2);
        assert!(v.is_healthy());
    }

    #[test]
    fn threshold_one_flips_at_once_and_zero_reads_as_one() {
        let mut v = CheckerVerdict::default();
        assert!(v.observe(false, 1));
        assert!(v.observe(true, 0));
        assert!(v.is_healthy());
    }

    #[test]
    fn more_than_eighteen_percent_of_checkers_must_agree() {
        assert!(aggregate(0, 0));
        assert!(!aggregate(0, 3));
        assert!(aggregate(1, 3)); // 33%
        assert!(!aggregate(1, 8)); // 12.5%
        assert!(aggregate(2, 8)); // 25%
        assert!(!aggregate(9, 50)); // exactly 18%: not more
        assert!(aggregate(10, 50));
    }

    #[test]
    fn calculated_counts_healthy_children() {
        assert!(calculated(0, Some(0)));
        assert!(calculated(0, None));
        assert!(calculated(2, Some(2)));
        assert!(!calculated(1, Some(2)));
        assert!(!calculated(3, Some(4))); // more than there are children
    }

    #[test]
    fn inverted_and_disabled() {
        assert!(reported(false, false, || true));
        assert!(!reported(false, false, || false));
        assert!(!reported(false, true, || true));
        assert!(reported(false, true, || false));
        assert!(reported(true, false, || false));
        assert!(!reported(true, true, || true));
        assert!(reported(true, false, || unreachable!(
            "disabled checks are not measured"
        )));
    }

    #[test]
    fn passing_codes_are_2xx_and_3xx() {
        assert!(is_passing_code(200));
        assert!(is_passing_code(204));
        assert!(is_passing_code(302));
        assert!(is_passing_code(399));
        assert!(!is_passing_code(199));
        assert!(!is_passing_code(404));
        assert!(!is_passing_code(500));
    }

    #[test]
    fn search_string_must_lie_within_the_first_5120_bytes() {
        let mut body = vec![b'.'; 5120 - 2];
        body.extend_from_slice(b"OK");
        assert!(body_contains(&body, "OK"));
        let mut late = vec![b'.'; 5120 - 1];
        late.extend_from_slice(b"OK"); // straddles the window's end
        assert!(!body_contains(&late, "OK"));
        let mut after = vec![b'.'; 6000];
        after.extend_from_slice(b"OK");
        assert!(!body_contains(&after, "OK"));
    }

    #[test]
    fn search_is_case_sensitive_and_bytewise() {
        assert!(body_contains(b"status: healthy", "healthy"));
        assert!(!body_contains(b"status: HEALTHY", "healthy"));
        assert!(body_contains("café ok".as_bytes(), "é o"));
        assert!(body_contains(b"", ""));
        assert!(!body_contains(b"", "x"));
    }

    #[test]
    fn kinds() {
        assert_eq!(Kind::parse("HTTPS_STR_MATCH"), Kind::HttpsStrMatch);
        assert!(Kind::HttpsStrMatch.tls() && Kind::HttpsStrMatch.string_match());
        assert_eq!(Kind::Https.default_port(), 443);
        assert_eq!(Kind::Tcp.default_port(), 80);
        assert!(!Kind::parse("CALCULATED").probes_endpoint());
        assert_eq!(Kind::parse("CLOUDWATCH_METRIC"), Kind::Unprobed);
    }
}
