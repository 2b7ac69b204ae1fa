//! Unit tests of SigV4 verification, on the inputs of AWS's published test
//! suite (`get-vanilla`, `post-x-www-form-urlencoded`; the expected signatures
//! were recomputed by botocore and by a direct HMAC script, which agree).

use super::*;
use http::{HeaderMap, HeaderValue};
use std::time::UNIX_EPOCH;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_NOW: u64 = 1_440_938_160; // 20150830T123600Z
const GET_VANILLA: &str = "7ab4567ae243ee168f6bf18206b2b40b61ce08277323168138fa113ed23c538e";
const POST_FORM: &str = "41d2a27fc225294a117632c2c31dc9fc09d68ce5127fbbd5b7092515046b48bb";

fn secrets(key: &str) -> Option<String> {
    (key == "AKIDEXAMPLE").then(|| SECRET.to_owned())
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        let value = HeaderValue::from_str(v).expect("test header values are visible ASCII");
        map.append(*k, value);
    }
    map
}

fn authorization(signed: &str, signature: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders={signed}, Signature={signature}"
    )
}

fn vanilla(signature: &str, date: &str) -> HeaderMap {
    let auth = authorization("host;x-amz-date", signature);
    headers(&[
        ("host", "example.amazon.com"),
        ("x-amz-date", date),
        ("authorization", &auth),
    ])
}

fn check(h: &HeaderMap, now: u64) -> Result<Scope, AuthError> {
    verify("GET", "/", None, h, b"", &secrets, at(now))
}

#[test]
fn suite_get_vanilla() {
    let scope = check(&vanilla(GET_VANILLA, "20150830T123600Z"), SUITE_NOW).expect("valid signature");
    assert_eq!(
        scope,
        Scope {
            access_key: "AKIDEXAMPLE".into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "service".into(),
        }
    );
}

#[test]
fn suite_post_form() {
    let auth = authorization("content-type;host;x-amz-date", POST_FORM);
    let h = headers(&[
        ("content-type", "application/x-www-form-urlencoded"),
        ("host", "example.amazon.com"),
        ("x-amz-date", "20150830T123600Z"),
        ("authorization", &auth),
    ]);
    let ok = verify("POST", "/", None, &h, b"Param1=value1", &secrets, at(SUITE_NOW));
    assert!(ok.is_ok(), "{ok:?}");
    let tampered = verify("POST", "/", None, &h, b"Param1=value2", &secrets, at(SUITE_NOW));
    assert_eq!(tampered, Err(AuthError::BadSignature));
}

#[test]
fn date_header_instead_of_x_amz_date() {
    // Same instant as the vanilla request; the string to sign uses the ISO form.
    let auth = authorization("host", "0");
    let h = headers(&[
        ("host", "example.amazon.com"),
        ("date", "Sun, 30 Aug 2015 12:36:00 GMT"),
        ("authorization", &auth),
    ]);
    // The signature is wrong, but everything before the comparison passes.
    assert_eq!(check(&h, SUITE_NOW), Err(AuthError::BadSignature));
}

#[test]
fn failures_in_order() {
    assert_eq!(check(&HeaderMap::new(), SUITE_NOW), Err(AuthError::Missing));
    let wrong_key = vanilla(GET_VANILLA, "20150830T123600Z");
    let ok = |k: &str| (k == "OTHER").then(String::new);
    assert_eq!(
        verify("GET", "/", None, &wrong_key, b"", &ok, at(SUITE_NOW)),
        Err(AuthError::UnknownKey)
    );
    let h = vanilla(GET_VANILLA, "20150830T123600Z");
    assert_eq!(check(&h, SUITE_NOW + 15 * 60 + 1), Err(AuthError::Expired));
    assert_eq!(check(&h, SUITE_NOW - 15 * 60 - 1), Err(AuthError::Expired));
    assert!(check(&h, SUITE_NOW + 15 * 60).is_ok());
    let flipped = GET_VANILLA.replace('7', "8");
    assert_eq!(
        check(&vanilla(&flipped, "20150830T123600Z"), SUITE_NOW),
        Err(AuthError::BadSignature)
    );
    assert_eq!(
        check(&vanilla("zz", "20150830T123600Z"), SUITE_NOW),
        Err(AuthError::BadSignature)
    );
    assert!(matches!(
        check(&vanilla(GET_VANILLA, "yesterday"), SUITE_NOW),
        Err(AuthError::Malformed(_))
    ));
    assert_eq!(
        verify("GET", "/x", None, &h, b"", &secrets, at(SUITE_NOW)),
        Err(AuthError::BadSignature),
        "the path is signed"
    );
}

#[test]
fn malformed_authorization() {
    for auth in [
        "AWS AKIDEXAMPLE:abc",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=x-amz-date, Signature=00",
    ] {
        let h = headers(&[("host", "h"), ("x-amz-date", "20150830T123600Z"), ("authorization", auth)]);
        assert!(matches!(check(&h, SUITE_NOW), Err(AuthError::Malformed(_))), "{auth}");
    }
    let h = headers(&[("host", "h"), ("authorization", &authorization("host", "00"))]);
    assert!(matches!(check(&h, SUITE_NOW), Err(AuthError::Malformed(_))), "no date");
}

#[test]
fn scope_reads_both_forms() {
    let h = vanilla(GET_VANILLA, "20150830T123600Z");
    assert_eq!(scope(&h, None).map(|s| s.service), Ok("service".to_owned()));
    let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20150830%2Feu-west-1%2Fec2%2Faws4_request\
             &X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
    let s = scope(&HeaderMap::new(), Some(q)).expect("presigned scope");
    assert_eq!(
        (s.access_key.as_str(), s.region.as_str(), s.service.as_str()),
        ("AK", "eu-west-1", "ec2")
    );
    assert_eq!(scope(&HeaderMap::new(), Some("Action=X")), Err(AuthError::Missing));
    let no_expiry = q.replace("X-Amz-Expires=60", "X-Amz-Expires=0");
    assert!(matches!(
        scope(&HeaderMap::new(), Some(&no_expiry)),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn aws_error_mapping() {
    let cases = [
        (AuthError::Missing, Flavour::Query, "MissingAuthenticationToken", 403),
        (AuthError::UnknownKey, Flavour::Query, "InvalidClientTokenId", 403),
        (AuthError::BadSignature, Flavour::Query, "SignatureDoesNotMatch", 403),
        (AuthError::Expired, Flavour::Query, "SignatureDoesNotMatch", 403),
        (
            AuthError::Malformed("x".into()),
            Flavour::Query,
            "IncompleteSignature",
            400,
        ),
        (AuthError::Missing, Flavour::Ec2, "MissingAuthenticationToken", 401),
        (AuthError::UnknownKey, Flavour::Ec2, "AuthFailure", 401),
        (AuthError::BadSignature, Flavour::Ec2, "AuthFailure", 401),
        (AuthError::Expired, Flavour::Ec2, "RequestExpired", 400),
    ];
    for (err, flavour, code, status) in cases {
        let aws = err.to_aws(flavour);
        assert_eq!(
            (aws.code.as_str(), aws.status, aws.sender_fault),
            (code, status, true),
            "{err:?}"
        );
    }
}
