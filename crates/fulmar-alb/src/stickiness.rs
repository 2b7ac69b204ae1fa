//! Stickiness cookies on the wire: reading them from a request and writing them on
//! the response. Sealing and opening the values is `fulmar_routing::sticky`'s job.
//!
//! - `lb_cookie`: AWSALB and AWSALBCORS, set on every response of the group.
//! - `app_cookie`: AWSALBAPP-0 (shards 1–3 are sent as `_remove_`: a sealed value
//!   never needs more than one), set when the target's response sets the
//!   application cookie the group names (`stickiness.app_cookie.cookie_name`).
//! - target-group stickiness of a weighted forward: AWSALBTG and AWSALBTGCORS.
//!
//! As on AWS, the cookies are passed on to targets unchanged in the `Cookie` header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

pub(crate) const AWSALB: &str = "AWSALB";
pub(crate) const AWSALBCORS: &str = "AWSALBCORS";
pub(crate) const AWSALBTG: &str = "AWSALBTG";
pub(crate) const AWSALBTGCORS: &str = "AWSALBTGCORS";
const AWSALBAPP: [&str; 4] = ["AWSALBAPP-0", "AWSALBAPP-1", "AWSALBAPP-2", "AWSALBAPP-3"];
/// The value of an unused AWSALBAPP shard.
const REMOVED: &str = "_remove_";

/// How long browsers keep the cookies (`Expires`); the sealed value carries the
/// target group's own stickiness duration.
const COOKIE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The values of the `lb_cookie` stickiness cookies a request carries, AWSALB first.
pub(crate) fn cookie_values(headers: &HeaderMap) -> Vec<&str> {
    pair_values(headers, AWSALB, AWSALBCORS)
}

/// The values of the target-group stickiness cookies, AWSALBTG first.
pub(crate) fn group_cookie_values(headers: &HeaderMap) -> Vec<&str> {
    pair_values(headers, AWSALBTG, AWSALBTGCORS)
}

/// The values of every AWSALBAPP-0 cookie a request carries.
pub(crate) fn app_cookie_values(headers: &HeaderMap) -> Vec<&str> {
    request_cookies(headers)
        .filter(|(name, value)| *name == AWSALBAPP[0] && *value != REMOVED)
        .map(|(_, value)| value)
        .collect()
}

fn pair_values<'h>(headers: &'h HeaderMap, first: &str, second: &str) -> Vec<&'h str> {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for (name, value) in request_cookies(headers) {
        if name == first {
            a.push(value);
        } else if name == second {
            b.push(value);
        }
    }
    a.extend(b);
    a
}

/// Every `name=value` pair of the request's `Cookie` headers.
fn request_cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(name, value)| (name.trim(), value.trim()))
}

/// Whether a response sets the cookie `name` (the application cookie of `app_cookie`).
pub(crate) fn response_sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.split_once('=').is_some_and(|(n, _)| n.trim() == name))
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
    set_pair(headers, AWSALB, AWSALBCORS, sealed);
}

/// Append `Set-Cookie` for AWSALBTG and AWSALBTGCORS carrying `sealed`.
pub(crate) fn set_group_cookies(headers: &mut HeaderMap, sealed: &str) {
    set_pair(headers, AWSALBTG, AWSALBTGCORS, sealed);
}

/// Append `Set-Cookie` for AWSALBAPP-0 carrying `sealed`, and AWSALBAPP-1..3 as `_remove_`.
pub(crate) fn set_app_cookies(headers: &mut HeaderMap, sealed: &str) {
    let expires = httpdate::fmt_http_date(SystemTime::now() + COOKIE_LIFETIME);
    let cookies = AWSALBAPP.iter().enumerate().map(|(i, name)| {
        let value = if i == 0 { sealed } else { REMOVED };
        format!("{name}={value}; Expires={expires}; Path=/")
    });
    append(headers, cookies);
}

fn set_pair(headers: &mut HeaderMap, first: &str, second: &str, sealed: &str) {
    let expires = httpdate::fmt_http_date(SystemTime::now() + COOKIE_LIFETIME);
    let cookies = [
        format!("{first}={sealed}; Expires={expires}; Path=/"),
        format!("{second}={sealed}; Expires={expires}; Path=/; SameSite=None; Secure"),
    ];
    append(headers, cookies);
}

fn append(headers: &mut HeaderMap, cookies: impl IntoIterator<Item = String>) {
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

    #[test]
    fn app_cookie_shards_and_detection() {
        let mut h = HeaderMap::new();
        set_app_cookies(&mut h, "sealed");
        let all: Vec<_> = h
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(all.len(), 4);
        assert!(all[0].starts_with("AWSALBAPP-0=sealed; Expires="));
        assert!(all[3].starts_with("AWSALBAPP-3=_remove_; Expires="));
        let mut req = HeaderMap::new();
        req.insert(
            COOKIE,
            HeaderValue::from_static("session=1; AWSALBAPP-0=v; AWSALBAPP-1=_remove_"),
        );
        assert_eq!(app_cookie_values(&req), vec!["v"]);
        let mut resp = HeaderMap::new();
        resp.append(SET_COOKIE, HeaderValue::from_static("other=1"));
        assert!(!response_sets_cookie(&resp, "session"));
        resp.append(SET_COOKIE, HeaderValue::from_static("session=abc; Path=/; HttpOnly"));
        assert!(response_sets_cookie(&resp, "session"));
    }

    #[test]
    fn group_cookies_round_trip() {
        let mut h = HeaderMap::new();
        set_group_cookies(&mut h, "tg");
        let names: Vec<_> = h
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["AWSALBTG", "AWSALBTGCORS"]);
        let mut req = HeaderMap::new();
        req.insert(COOKIE, HeaderValue::from_static("AWSALBTGCORS=b; AWSALBTG=a"));
        assert_eq!(group_cookie_values(&req), vec!["a", "b"]);
    }
}
