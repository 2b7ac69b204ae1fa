//! AWS Signature Version 4 verification.
//!
//! Every API call is signed by its client with a secret key; [`verify`] rebuilds
//! the canonical request from what arrived on the wire, derives the signing key
//! from the secret of the claimed access key and compares signatures in constant
//! time. Both forms are accepted: the `Authorization: AWS4-HMAC-SHA256 ...` header
//! (with `X-Amz-Date` or `Date`) and presigned URLs (`X-Amz-Algorithm`,
//! `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
//! `X-Amz-Signature`). [`scope`] reads only the credential scope, so the server
//! can pick the service (and protocol flavour) before verifying.
//!
//! Canonicalization follows the SigV4 rules for non-S3 services as botocore
//! applies them: the path as sent is normalized and URI-encoded once more, and
//! the query string is form-decoded and re-encoded with the unreserved set.
//! The caller passes headers as received; under HTTP/2 it must put `:authority`
//! into a `host` header first.

mod canonical;
mod parse;
#[cfg(test)]
mod tests;
mod time;

use crate::{AwsError, Flavour};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far a request's date may be from the server's clock.
const SKEW: Duration = Duration::from_secs(15 * 60);

type HmacSha256 = Hmac<Sha256>;

/// The credential scope a request was signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The access key id, e.g. `AKIDEXAMPLE`.
    pub access_key: String,
    /// The scope date, `YYYYMMDD`.
    pub date: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The signing name of the service, e.g. `elasticloadbalancing`, `ec2`.
    pub service: String,
}

/// Why a request failed authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Neither an `Authorization` header nor presigned-URL parameters.
    #[error("request is not signed")]
    Missing,
    /// The access key id is not known.
    #[error("unknown access key")]
    UnknownKey,
    /// The signature (or the payload hash, or the scope date) does not match.
    #[error("signature does not match")]
    BadSignature,
    /// The request date is more than 15 minutes from the server's clock, or a
    /// presigned URL has expired.
    #[error("signature expired or not yet current")]
    Expired,
    /// The signature inputs are incomplete or malformed; the message says how.
    #[error("malformed signature: {0}")]
    Malformed(String),
}

impl AuthError {
    /// The error AWS returns for this failure in the given protocol.
    ///
    /// Query services (elbv2, STS, IAM, SNS) answer `MissingAuthenticationToken`,
    /// `InvalidClientTokenId` and `SignatureDoesNotMatch` with 403, and report
    /// clock skew as `SignatureDoesNotMatch` ("Signature expired: ...", as seen
    /// from STS/SNS in SDK issue reports). Malformed inputs are
    /// `IncompleteSignature` (400, the status AWS's common-errors pages give).
    /// EC2 answers unknown keys and bad signatures with `AuthFailure` (401) and
    /// skew with `RequestExpired` (400, "Request has expired."); for an unsigned
    /// request we send `MissingAuthenticationToken` with 401, which is a choice,
    /// not observed behaviour. Route 53 (`rest-xml`) answers as the Query services do.
    pub fn to_aws(&self, flavour: Flavour) -> AwsError {
        const EC2_AUTH: &str = "AWS was not able to validate the provided access credentials";
        match (self, flavour) {
            (AuthError::Missing, Flavour::Query | Flavour::RestXml) => AwsError::new(
                "MissingAuthenticationToken",
                403,
                "Request is missing Authentication Token",
            ),
            (AuthError::Missing, Flavour::Ec2) => AwsError::new(
                "MissingAuthenticationToken",
                401,
                "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.",
            ),
            (AuthError::UnknownKey, Flavour::Query | Flavour::RestXml) => AwsError::new(
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            ),
            (AuthError::BadSignature, Flavour::Query | Flavour::RestXml) => AwsError::new(
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details.",
            ),
            (AuthError::UnknownKey | AuthError::BadSignature, Flavour::Ec2) => {
                AwsError::new("AuthFailure", 401, EC2_AUTH)
            }
            (AuthError::Expired, Flavour::Query | Flavour::RestXml) => AwsError::new(
                "SignatureDoesNotMatch",
                403,
                "Signature expired: the request date is more than 15 minutes from the server's \
                 time, or the presigned URL has expired.",
            ),
            (AuthError::Expired, Flavour::Ec2) => AwsError::new("RequestExpired", 400, "Request has expired."),
            (AuthError::Malformed(m), _) => AwsError::new("IncompleteSignature", 400, m.clone()),
        }
    }
}

/// The credential scope a request claims, without verifying anything.
pub fn scope(headers: &http::HeaderMap, query: Option<&str>) -> Result<Scope, AuthError> {
    parse::claim(headers, query).map(|c| c.scope)
}

/// Verifies the request's SigV4 signature; on success, its credential scope.
///
/// `raw_path` and `raw_query` are exactly as sent on the wire (still
/// percent-encoded); `secret_of` maps an access key id to its secret; `now` is
/// the server's clock. Checks run in order: signature inputs present and well
/// formed, access key known, date within the window, signature correct.
pub fn verify(
    method: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &http::HeaderMap,
    body: &[u8],
    secret_of: &dyn Fn(&str) -> Option<String>,
    now: SystemTime,
) -> Result<Scope, AuthError> {
    let claim = parse::claim(headers, raw_query)?;
    let (timestamp, skip) = match &claim.presigned {
        Some((date, _)) => (date.clone(), Some("X-Amz-Signature")),
        None => (header_date(headers)?, None),
    };
    let signed_at = time::parse_amz_date(&timestamp)
        .ok_or_else(|| AuthError::Malformed(format!("Invalid date '{timestamp}': expected YYYYMMDD'T'HHMMSS'Z'.")))?;
    let secret = secret_of(&claim.scope.access_key).ok_or(AuthError::UnknownKey)?;
    check_window(signed_at, claim.presigned.as_ref().map(|(_, e)| *e), now)?;
    if !timestamp.starts_with(&claim.scope.date) {
        return Err(AuthError::BadSignature);
    }
    let provided = hex::decode(&claim.signature).map_err(|_| AuthError::BadSignature)?;

    let body_hash = hex::encode(Sha256::digest(body));
    let payload_hashes: Vec<&str> = match headers.get("x-amz-content-sha256").map(|v| v.to_str()) {
        Some(Ok(claimed)) => {
            let opaque = claimed == UNSIGNED_PAYLOAD || claimed.starts_with("STREAMING-");
            if !opaque && !claimed.eq_ignore_ascii_case(&body_hash) {
                return Err(AuthError::BadSignature);
            }
            vec![claimed]
        }
        Some(Err(_)) => return Err(AuthError::BadSignature),
        None if claim.presigned.is_some() => vec![&body_hash, UNSIGNED_PAYLOAD],
        None => vec![&body_hash],
    };

    let signed_headers = claim.signed_headers.join(";");
    let prefix = format!(
        "{method}\n{}\n{}\n{}\n{signed_headers}\n",
        canonical::uri(raw_path),
        canonical::query(raw_query, skip),
        canonical::headers(headers, &claim.signed_headers),
    );
    let scope = &claim.scope;
    let credential_scope = format!("{}/{}/{}/aws4_request", scope.date, scope.region, scope.service);
    let key = signing_key(&secret, scope);
    for payload_hash in payload_hashes {
        let canonical_request = format!("{prefix}{payload_hash}");
        let string_to_sign = format!(
            "{ALGORITHM}\n{timestamp}\n{credential_scope}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let mut mac = hmac(&key);
        mac.update(string_to_sign.as_bytes());
        // `verify_slice` compares in constant time.
        if mac.verify_slice(&provided).is_ok() {
            return Ok(claim.scope);
        }
    }
    Err(AuthError::BadSignature)
}

/// The request time of the header form: `X-Amz-Date`, else `Date` (HTTP date).
fn header_date(headers: &http::HeaderMap) -> Result<String, AuthError> {
    if let Some(v) = headers.get("x-amz-date") {
        return v
            .to_str()
            .map(str::to_owned)
            .map_err(|_| AuthError::Malformed("X-Amz-Date is not ASCII.".into()));
    }
    let date = headers.get(http::header::DATE).ok_or_else(|| {
        AuthError::Malformed(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into(),
        )
    })?;
    let parsed = date
        .to_str()
        .ok()
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .ok_or_else(|| AuthError::Malformed("Date header is not an HTTP date.".into()))?;
    Ok(time::format_amz_date(parsed))
}

fn check_window(signed_at: SystemTime, expires: Option<u64>, now: SystemTime) -> Result<(), AuthError> {
    let too_early = signed_at > now + SKEW;
    let too_late = match expires {
        Some(secs) => now > signed_at + Duration::from_secs(secs),
        None => now > signed_at + SKEW,
    };
    if too_early || too_late {
        return Err(AuthError::Expired);
    }
    Ok(())
}

fn hmac(key: &[u8]) -> HmacSha256 {
    // HMAC is defined for keys of any length, so `new_from_slice` cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn hmac_bytes(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = hmac(key);
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, scope: &Scope) -> Vec<u8> {
    let k_date = hmac_bytes(format!("AWS4{secret}").as_bytes(), &scope.date);
    let k_region = hmac_bytes(&k_date, &scope.region);
    let k_service = hmac_bytes(&k_region, &scope.service);
    hmac_bytes(&k_service, "aws4_request")
}
