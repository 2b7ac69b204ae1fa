//! `lb_cookie` stickiness on the wire: reading AWSALB / AWSALBCORS from a request and
//! writing both cookies on the response. Sealing and opening the values is
//! `fulmar_routing::sticky`'s job.
//!
//! As on AWS, the cookies are passed on to targets unchanged in the `Cookie` header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

pub(crate) const AWSALB: &str = "AWSALB";
pub(crate) const AWSALBCORS: &str = "AWSALBCORS";

/// How long browsers keep the cookies (`Expires`); the sealed value carries the
/// target group's own stickiness duration.
const COOKIE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The values of the stickiness cookies a request carries, AWSALB first.
pub(crate) fn cookie_values(headers: &HeaderMap) -> Vec<&str> {
    let mut alb = Vec::new();
    let mut cors = Vec::new();
    for header in headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for pair in header.split(';') {
            let Some((name, value)) = pair.trim().split_once('=') else {
                continue;
            };
            match name.trim() {
                AWSALB => alb.push(value.trim()),
                AWSALBCORS => cors.push(value.trim()),
                _ => {}
            }
        }
    }
    alb.extend(cors);
    alb
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Append `Set-Cookie` for AWSALB and AWSALBCORS carrying `sealed`.
pub(crate) fn set_cookies(headers: &mut HeaderMap, sealed: &str) {
    let expires = httpdate::fmt_http_date(SystemTime::now() + COOKIE_LIFETIME);
    let cookies = [
        format!("{AWSALB}={sealed}; Expires={expires}; Path=/"),
        format!("{AWSALBCORS}={sealed}; Expires={expires}; Path=/; SameSite=None; Secure"),
    ];
    for cookie in cookies {
        match HeaderValue::from_str(&cookie) {
            Ok(v) => {
                headers.append(SET_COOKIE, v);
            }
            Err(_) => tracing::warn!("sealed stickiness cookie is not a valid header value"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_cookies_alb_first() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; AWSALBCORS=cors; AWSALB=main"));
        assert_eq!(cookie_values(&h), vec!["main", "cors"]);
    }

    #[test]
    fn writes_two_cookies() {
        let mut h = HeaderMap::new();
        set_cookies(&mut h, "v");
        let all: Vec<_> = h.get_all(SET_COOKIE).iter().collect();
        assert_eq!(all.len(), 2);
        assert!(all[1].to_str().unwrap().ends_with("; Path=/; SameSite=None; Secure"));
    }
}
