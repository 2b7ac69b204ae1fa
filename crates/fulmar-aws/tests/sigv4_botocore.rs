//! Compatibility: requests signed by botocore itself (fixtures made by
//! `fixtures/gen_sigv4.py`) verify, and fail once any signed part is altered.

use fulmar_aws::sigv4::{verify, AuthError};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Deserialize)]
struct Case {
    name: String,
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: String,
    now: u64,
}

fn cases() -> Vec<Case> {
    serde_json::from_str(include_str!("fixtures/sigv4_botocore.json")).expect("fixture file is valid JSON")
}

fn secret(key: &str) -> Option<String> {
    (key == "AKIDEXAMPLE").then(|| "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned())
}

fn header_map(case: &Case) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in &case.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).expect("fixture header names are valid");
        map.append(name, HeaderValue::from_str(v).expect("fixture header values are valid"));
    }
    map
}

fn run(case: &Case, headers: &HeaderMap, path: &str, body: &str, now: SystemTime) -> Result<(), AuthError> {
    verify(
        &case.method,
        path,
        case.query.as_deref(),
        headers,
        body.as_bytes(),
        &secret,
        now,
    )
    .map(drop)
}

#[test]
fn botocore_signed_requests_verify() {
    for case in cases() {
        let now = UNIX_EPOCH + Duration::from_secs(case.now);
        let headers = header_map(&case);
        assert_eq!(
            run(&case, &headers, &case.path, &case.body, now),
            Ok(()),
            "{}",
            case.name
        );
        let later = now + Duration::from_secs(60);
        assert_eq!(
            run(&case, &headers, &case.path, &case.body, later),
            Ok(()),
            "{} a minute later",
            case.name
        );
    }
}

#[test]
fn altered_requests_fail() {
    for case in cases() {
        let now = UNIX_EPOCH + Duration::from_secs(case.now);
        let headers = header_map(&case);
        let other_path = format!("{}x", case.path);
        assert_eq!(
            run(&case, &headers, &other_path, &case.body, now),
            Err(AuthError::BadSignature),
            "{}: path",
            case.name
        );
        let unsigned_body = case.headers.iter().any(|(_, v)| v == "UNSIGNED-PAYLOAD");
        let presigned = case.query.as_deref().is_some_and(|q| q.contains("X-Amz-Signature"));
        if !unsigned_body && !presigned {
            let body = format!("{}&Extra=1", case.body);
            assert_eq!(
                run(&case, &headers, &case.path, &body, now),
                Err(AuthError::BadSignature),
                "{}: body",
                case.name
            );
        }
        let mut host_changed = headers.clone();
        host_changed.insert("host", HeaderValue::from_static("evil.example"));
        assert_eq!(
            run(&case, &host_changed, &case.path, &case.body, now),
            Err(AuthError::BadSignature),
            "{}: host",
            case.name
        );
        let late = now + Duration::from_secs(16 * 60);
        assert_eq!(
            run(&case, &headers, &case.path, &case.body, late),
            Err(AuthError::Expired),
            "{}: late",
            case.name
        );
    }
}
