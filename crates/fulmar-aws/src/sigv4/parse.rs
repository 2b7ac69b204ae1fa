//! Reading the signature inputs from a request: the `Authorization` header form
//! or the presigned-URL (`X-Amz-*` query parameters) form.

use super::{AuthError, Scope, ALGORITHM};

/// What the client claims: who signed, over which headers, when, and the
/// signature itself.
#[derive(Debug)]
pub(crate) struct Claim {
    pub(crate) scope: Scope,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
    /// `X-Amz-Date` and `X-Amz-Expires` of a presigned URL.
    pub(crate) presigned: Option<(String, u64)>,
}

/// The longest validity a presigned URL may ask for: seven days.
const MAX_EXPIRES: u64 = 604_800;

pub(crate) fn claim(headers: &http::HeaderMap, query: Option<&str>) -> Result<Claim, AuthError> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| AuthError::Malformed("Authorization header is not ASCII.".into()))?;
        return from_header(auth);
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match param("X-Amz-Algorithm") {
        None => Err(AuthError::Missing),
        Some(alg) if alg != ALGORITHM => Err(AuthError::Malformed(format!("Unsupported AWS 'algorithm': '{alg}'."))),
        Some(_) => {
            let required = |name: &str| {
                param(name)
                    .ok_or_else(|| AuthError::Malformed(format!("AWS query-string parameters must include '{name}'.")))
            };
            let scope = credential(required("X-Amz-Credential")?)?;
            let signed_headers = signed_headers(required("X-Amz-SignedHeaders")?)?;
            let signature = required("X-Amz-Signature")?.to_owned();
            let date = required("X-Amz-Date")?.to_owned();
            let expires = required("X-Amz-Expires")?
                .parse::<u64>()
                .ok()
                .filter(|e| (1..=MAX_EXPIRES).contains(e))
                .ok_or_else(|| {
                    AuthError::Malformed(format!("X-Amz-Expires must be an integer between 1 and {MAX_EXPIRES}."))
                })?;
            Ok(Claim {
                scope,
                signed_headers,
                signature,
                presigned: Some((date, expires)),
            })
        }
    }
}

fn from_header(auth: &str) -> Result<Claim, AuthError> {
    let rest = match auth.split_once(' ') {
        Some((ALGORITHM, rest)) => rest,
        _ => {
            let alg = auth.split(' ').next().unwrap_or_default();
            return Err(AuthError::Malformed(format!("Unsupported AWS 'algorithm': '{alg}'.")));
        }
    };
    let mut credential_part = None;
    let mut signed_part = None;
    let mut signature_part = None;
    for part in rest.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "Credential" => credential_part = Some(value),
            "SignedHeaders" => signed_part = Some(value),
            "Signature" => signature_part = Some(value),
            _ => {}
        }
    }
    let missing = |name: &str| AuthError::Malformed(format!("Authorization header requires '{name}' parameter."));
    let scope = credential(credential_part.ok_or_else(|| missing("Credential"))?)?;
    let signed_headers = signed_headers(signed_part.ok_or_else(|| missing("SignedHeaders"))?)?;
    let signature = signature_part.ok_or_else(|| missing("Signature"))?.to_owned();
    Ok(Claim {
        scope,
        signed_headers,
        signature,
        presigned: None,
    })
}

/// `AKID/20150830/us-east-1/service/aws4_request`.
fn credential(value: &str) -> Result<Scope, AuthError> {
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [access_key, date, region, service, "aws4_request"]
            if !access_key.is_empty() && date.len() == 8 && !region.is_empty() && !service.is_empty() =>
        {
            Ok(Scope {
                access_key: (*access_key).to_owned(),
                date: (*date).to_owned(),
                region: (*region).to_owned(),
                service: (*service).to_owned(),
            })
        }
        _ => Err(AuthError::Malformed(format!(
            "Credential should be scoped as '<key>/<YYYYMMDD>/<region>/<service>/aws4_request', got '{value}'."
        ))),
    }
}

/// `content-type;host;x-amz-date`: lowercase names; `host` must be among them.
fn signed_headers(value: &str) -> Result<Vec<String>, AuthError> {
    let names: Vec<String> = value.split(';').map(str::to_ascii_lowercase).collect();
    if !names.iter().any(|n| n == "host") {
        return Err(AuthError::Malformed(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    Ok(names)
}
