//! AWS Certificate Manager (version 2015-12-08), awsJson1.1
//! (`X-Amz-Target: CertificateManager.<Operation>`): request (DNS or email
//! validation), import (PEM certificate and key), describe, list, get, delete and tag
//! certificates.
//!
//! A requested certificate waits in `PENDING_VALIDATION` with one CNAME per name
//! (`_<hash>.<domain>.` → `_<hash>.<token>.acm-validations.aws.`). Fulmar is its own
//! DNS: when a public Route 53 hosted zone of the account holds that CNAME, the
//! certificate becomes `ISSUED` (checked on every ACM call, when a listener names it,
//! and hourly by [`Control::renew_certificates`]). Issuing signs a real certificate:
//! a new key of the requested algorithm and a leaf for every name, under Fulmar's
//! certificate authority (`ca.rs`, one per store, its root served at
//! `GET /_fulmar/ca.pem`). Within 60 days of its expiry an issued certificate that is
//! in use and whose validation records are still published is re-signed in place (new
//! key and serial, same ARN: managed renewal).
//!
//! An imported certificate is `ISSUED` (or `EXPIRED`) at once; its body and chain
//! are kept for GetCertificate. Private keys are kept only for the load balancer's TLS:
//! no call returns one. Certificates are regional;
//! an HTTPS or TLS listener accepts only an `ISSUED` certificate of its own region.

mod ca;
#[cfg(test)]
mod tests;
mod x509;

use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use fulmar_aws::AwsError;
use fulmar_model::acm::{Certificate, DomainValidation};
use fulmar_model::{Config, Kind, Tag};

use crate::awsjson::{self, epoch, validation};
use crate::{ids, Control, Txn};

/// The `X-Amz-Target` prefix of every ACM operation.
pub(crate) const TARGET_PREFIX: &str = "CertificateManager.";

/// Tags per certificate.
const MAX_TAGS: usize = 50;
/// Names per requested certificate (the domain name included).
const MAX_NAMES: usize = 100;
/// How long a repeated IdempotencyToken returns the same certificate.
const IDEMPOTENCY_MS: i64 = 3_600_000;

pub(crate) fn dispatch(txn: &mut Txn, operation: &str, body: &[u8]) -> Result<String, AwsError> {
    macro_rules! op {
        ($f:path) => {{
            let input = awsjson::input(body)?;
            let output = $f(txn, input)?;
            Ok(awsjson::output(&output))
        }};
    }
    match operation {
        "RequestCertificate" => op!(request),
        "ImportCertificate" => op!(import),
        "DescribeCertificate" => op!(describe),
        "ListCertificates" => op!(list),
        "GetCertificate" => op!(get),
        "ExportCertificate" => op!(export),
        "DeleteCertificate" => op!(delete),
        "AddTagsToCertificate" => op!(add_tags),
        "RemoveTagsFromCertificate" => op!(remove_tags),
        "ListTagsForCertificate" => op!(list_tags),
        other => Err(awsjson::unknown_operation(other)),
    }
}

fn validation_error(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", 400, message)
}

fn not_found(arn: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        400,
        format!("Could not find certificate {arn}."),
    )
}

/// A well-formed ACM certificate ARN (the model's `Arn` pattern, service `acm`).
fn check_arn(arn: &str, member: &str) -> Result<(), AwsError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = arn.len() >= 20
        && arn.len() <= 2048
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "acm"
        && !parts[4].is_empty()
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && !parts[5].is_empty();
    if ok {
        Ok(())
    } else {
        Err(validation_error(validation(
            arn,
            member,
            "Member must satisfy regular expression pattern: arn:[\\w+=/,.@-]+:acm:[\\w+=/,.@-]*:[0-9]+:[\\w+=,.@-]+(/[\\w+=,.@-]+)*",
        )))
    }
}

/// The certificate `arn` of this account and region, its validation brought up to date.
fn certificate(txn: &mut Txn, arn: &str) -> Result<Arc<Certificate>, AwsError> {
    check_arn(arn, "certificateArn")?;
    if !txn.owns_arn(arn) {
        return Err(not_found(arn));
    }
    refresh(txn, arn)?;
    txn.config.certificates.get(arn).cloned().ok_or_else(|| not_found(arn))
}

fn save(txn: &mut Txn, cert: Certificate) {
    txn.touch(Kind::Certificate, &cert.arn);
    txn.config.certificates.insert(cert.arn.clone(), Arc::new(cert));
}

/// Whether every validation record of a DNS-validated certificate is published in a
/// public hosted zone of the account.
fn dns_validated(config: &Config, cert: &Certificate) -> bool {
    let same = |a: &str, b: &str| a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'));
    cert.validation_method.as_deref() == Some("DNS")
        && !cert.validations.is_empty()
        && cert.validations.iter().all(|v| {
            config.record_sets.values().any(|r| {
                r.rtype == "CNAME"
                    && same(&r.name, &v.record_name)
                    && r.records.iter().any(|value| same(value, &v.record_value))
                    && config.hosted_zones.get(&r.zone_id).is_some_and(|z| !z.private)
            })
        })
}

/// How long before `NotAfter` managed renewal starts (ACM: 60 days).
const RENEWAL_WINDOW_MS: i64 = 60 * 86_400_000;

/// What a certificate needs now.
#[derive(Debug, PartialEq)]
enum Due {
    /// Its validation records are published: sign it (also an `ISSUED` certificate
    /// from before Fulmar signed them, which has no body).
    Issue,
    /// In the renewal window, in use, its records still published: sign it again.
    Renew,
    /// In the renewal window but its records are gone: renewal waits for them.
    AwaitRenewal,
    /// Past `NotAfter` without renewal.
    Expire,
}

fn due(config: &Config, cert: &Certificate, now: i64) -> Option<Due> {
    if cert.cert_type != "AMAZON_ISSUED" {
        return None;
    }
    match cert.status.as_str() {
        "PENDING_VALIDATION" => dns_validated(config, cert).then_some(Due::Issue),
        "ISSUED" if cert.certificate_pem.is_none() => Some(Due::Issue),
        "ISSUED" => {
            let not_after = cert.not_after_ms?;
            if now >= not_after {
                Some(Due::Expire)
            } else if now >= not_after - RENEWAL_WINDOW_MS && !in_use_by(config, &cert.arn).is_empty() {
                if dns_validated(config, cert) {
                    Some(Due::Renew)
                } else {
                    (cert.renewal_status.as_deref() != Some("PENDING_AUTO_RENEWAL")).then_some(Due::AwaitRenewal)
                }
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Bring a certificate up to date: issue it once validated, renew it in its renewal
/// window, expire it after. Signing (an RSA key takes a while) is left to the write
/// that reruns a read which found something due.
fn refresh(txn: &mut Txn, arn: &str) -> Result<(), AwsError> {
    let Some(cert) = txn.config.certificates.get(arn).cloned() else {
        return Ok(());
    };
    let now = ids::now_ms();
    let Some(due) = due(&txn.config, &cert, now) else {
        return Ok(());
    };
    if txn.read_only {
        txn.touch(Kind::Certificate, arn);
        return Ok(());
    }
    let mut next = (*cert).clone();
    match due {
        Due::Issue | Due::Renew => {
            sign(txn, &mut next, now)?;
            next.status = "ISSUED".into();
            if due == Due::Renew {
                next.renewal_status = Some("SUCCESS".into());
                next.renewal_updated_ms = Some(now);
            }
        }
        Due::AwaitRenewal => {
            next.renewal_status = Some("PENDING_AUTO_RENEWAL".into());
            next.renewal_updated_ms = Some(now);
        }
        Due::Expire => {
            next.status = "EXPIRED".into();
            if next.renewal_status.is_some() {
                next.renewal_status = Some("FAILED".into());
                next.renewal_updated_ms = Some(now);
            }
        }
    }
    save(txn, next);
    Ok(())
}

/// Sign `cert` anew under Fulmar's certificate authority (created or completed as
/// needed): a new key of its key algorithm, a leaf naming all its names. What
/// DescribeCertificate reports is read back from the signed certificate.
fn sign(txn: &mut Txn, cert: &mut Certificate, now: i64) -> Result<(), AwsError> {
    let failed = |e: String| {
        tracing::error!(certificate = %cert.arn, error = %e, "signing an ACM certificate failed");
        AwsError::new(
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    };
    let authority = authority(txn, Some(&cert.key_algorithm), now).map_err(failed)?;
    let leaf = ca::issue(&authority, &cert.subject_alternative_names, &cert.key_algorithm, now).map_err(failed)?;
    let parsed = x509::parse(&leaf.certificate_pem).map_err(failed)?;
    if parsed.key_algorithm != cert.key_algorithm {
        return Err(failed(format!(
            "signed a {} key for a {} certificate",
            parsed.key_algorithm, cert.key_algorithm
        )));
    }
    cert.serial = Some(parsed.serial);
    cert.subject = Some(parsed.subject);
    cert.issuer = Some(ca::ORGANIZATION.into());
    cert.signature_algorithm = Some(parsed.signature_algorithm);
    cert.issued_ms = Some(now);
    cert.not_before_ms = Some(parsed.not_before_ms);
    cert.not_after_ms = Some(parsed.not_after_ms);
    cert.certificate_pem = Some(leaf.certificate_pem);
    cert.chain_pem = Some(leaf.chain_pem);
    cert.private_key_pem = Some(leaf.private_key_pem);
    Ok(())
}

/// The store's certificate authority, able to sign `key_algorithm` leaves now;
/// created or completed (and saved) when it is not.
fn authority(
    txn: &mut Txn,
    key_algorithm: Option<&str>,
    now: i64,
) -> Result<Arc<fulmar_model::acm::CertificateAuthority>, String> {
    let current = txn.config.certificate_authorities.get(ca::CA_ID).cloned();
    match ca::ensure(current.as_deref(), key_algorithm, now)? {
        Some(fresh) => {
            let fresh = Arc::new(fresh);
            txn.touch(Kind::CertificateAuthority, ca::CA_ID);
            txn.config
                .certificate_authorities
                .insert(ca::CA_ID.into(), fresh.clone());
            Ok(fresh)
        }
        None => current.ok_or_else(|| "no certificate authority".to_string()),
    }
}

impl Control {
    /// The PEM root certificate of Fulmar's certificate authority, which signs every
    /// certificate ACM issues (`GET /_fulmar/ca.pem`); created on first need.
    pub fn certificate_authority_pem(&self) -> Result<String, AwsError> {
        if let Some(ca) = self.publish.borrow().certificate_authorities.get(ca::CA_ID) {
            return Ok(ca.root.certificate_pem.clone());
        }
        // Not `run`: that would also create the default VPC of whatever region it is given.
        let mut current = self.lock();
        let mut txn = Txn::new(current.clone(), "us-east-1", &self.settings, None);
        let root = authority(&mut txn, None, ids::now_ms())
            .map_err(|e| AwsError::new("InternalFailure", 500, e))?
            .root
            .certificate_pem
            .clone();
        let (config, dirty) = txn.finish();
        if dirty.is_empty() {
            return Ok(root);
        }
        let ops: Vec<fulmar_store::Op> = dirty
            .into_iter()
            .filter_map(|(kind, id)| {
                Some(fulmar_store::Op::Put {
                    key: kind.key(&id),
                    value: config.document(kind, &id)?,
                })
            })
            .collect();
        self.store
            .commit(&ops)
            .map_err(|e| AwsError::new("InternalFailure", 500, e.to_string()))?;
        *current = config.clone();
        self.publish.send_replace(Arc::new(config));
        Ok(root)
    }

    /// Issue, renew and expire the ACM certificates that are due (what an ACM call on
    /// each would do), so that a certificate only a listener uses is renewed in time.
    /// The number of certificates changed.
    pub fn renew_certificates(&self) -> usize {
        let now = ids::now_ms();
        let config = Config::clone(&self.publish.borrow());
        let mut by_region: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for c in config.certificates.values() {
            if due(&config, c, now).is_some() {
                by_region.entry(c.region.clone()).or_default().push(c.arn.clone());
            }
        }
        let mut changed = 0;
        for (region, arns) in by_region {
            let result = self.run(&region, |txn| {
                for arn in &arns {
                    refresh(txn, arn)?;
                }
                Ok(())
            });
            match result {
                Ok(()) => changed += arns.len(),
                Err(e) => tracing::warn!(region, error = %e.message, "ACM renewal sweep failed"),
            }
        }
        changed
    }
}

/// What an HTTPS or TLS listener may use: an `ISSUED` ACM certificate of the calling
/// account and region. Anything else (unknown, another region, not yet validated, an
/// IAM server certificate, which Fulmar does not keep) answers ELBv2's
/// `CertificateNotFound`.
pub(crate) fn check_usable(txn: &mut Txn, arn: &str) -> Result<(), AwsError> {
    let not_found = || AwsError::new("CertificateNotFound", 400, format!("Certificate '{arn}' not found"));
    if !txn.owns_arn(arn) || !arn.starts_with("arn:aws:acm:") {
        return Err(not_found());
    }
    refresh(txn, arn)?;
    match txn.config.certificates.get(arn) {
        Some(c) if c.status == "ISSUED" => Ok(()),
        _ => Err(not_found()),
    }
}

/// The load balancers whose listeners use a certificate.
fn in_use_by(config: &Config, arn: &str) -> Vec<String> {
    let mut out: Vec<String> = config
        .listeners
        .values()
        .filter(|l| l.certificates.iter().any(|c| c == arn))
        .map(|l| l.load_balancer_arn.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

// --- names and tags ------------------------------------------------------------------

/// A domain name as the model's `DomainNameString` allows it: 1–253 characters,
/// labels of letters, digits and inner hyphens, at least two labels, an optional `*.`.
fn check_domain(name: &str, member: &str) -> Result<(), AwsError> {
    let body = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let labels: Vec<&str> = body.split('.').collect();
    if name.is_empty() || name.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        return Err(validation_error(validation(
            name,
            member,
            "Member must satisfy regular expression pattern: (\\*\\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])",
        )));
    }
    Ok(())
}

#[derive(Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct TagIo {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

fn check_tags(tags: &[TagIo]) -> Result<(), AwsError> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(validation_error(validation(
                &t.key,
                "tags.member.key",
                "Member must have length less than or equal to 128 and greater than or equal to 1",
            )));
        }
        if t.value.as_deref().is_some_and(|v| v.chars().count() > 256) {
            return Err(validation_error(validation(
                t.value.as_deref().unwrap_or(""),
                "tags.member.value",
                "Member must have length less than or equal to 256",
            )));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(AwsError::new(
                "InvalidTagException",
                400,
                format!("The tag key '{}' uses the reserved prefix aws:", t.key),
            ));
        }
    }
    Ok(())
}

/// Add or overwrite tags, within the per-certificate limit.
fn merge_tags(have: &mut Vec<Tag>, add: &[TagIo]) -> Result<(), AwsError> {
    check_tags(add)?;
    let mut merged = have.clone();
    for t in add {
        let value = t.value.clone().unwrap_or_default();
        match merged.iter_mut().find(|x| x.key == t.key) {
            Some(x) => x.value = value,
            None => merged.push(Tag {
                key: t.key.clone(),
                value,
            }),
        }
    }
    if merged.len() > MAX_TAGS {
        return Err(AwsError::new(
            "TooManyTagsException",
            400,
            format!("A certificate can have at most {MAX_TAGS} tags."),
        ));
    }
    *have = merged;
    Ok(())
}

fn tags_out(tags: &[Tag]) -> Vec<TagIo> {
    tags.iter()
        .map(|t| TagIo {
            key: t.key.clone(),
            value: Some(t.value.clone()),
        })
        .collect()
}

fn new_arn(txn: &Txn) -> String {
    let h = ids::hex(32);
    format!(
        "{}certificate/{}-{}-{}-{}-{}",
        txn.arn_prefix("acm"),
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

// --- RequestCertificate ---------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RequestInput {
    domain_name: Option<String>,
    validation_method: Option<String>,
    #[serde(default)]
    subject_alternative_names: Vec<String>,
    idempotency_token: Option<String>,
    options: Option<OptionsIo>,
    certificate_authority_arn: Option<String>,
    #[serde(default)]
    tags: Vec<TagIo>,
    key_algorithm: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct OptionsIo {
    certificate_transparency_logging_preference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    export: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ArnOut {
    certificate_arn: String,
}

fn request(txn: &mut Txn, input: RequestInput) -> Result<ArnOut, AwsError> {
    let domain = input.domain_name.unwrap_or_default();
    check_domain(&domain, "domainName")?;
    if domain.len() > 64 {
        return Err(validation_error(format!(
            "The domain name '{domain}' is longer than 64 characters; put it in SubjectAlternativeNames and use a shorter DomainName."
        )));
    }
    match input.options.as_ref().and_then(|o| o.export.as_deref()) {
        None | Some("DISABLED") => {}
        Some("ENABLED") => {
            return Err(AwsError::new(
                "InvalidParameterException",
                400,
                "Exportable public certificates (Options.Export ENABLED) are not supported by Fulmar: no call returns a certificate's private key.",
            ))
        }
        Some(e) => {
            return Err(validation_error(validation(
                e,
                "options.export",
                "Member must satisfy enum value set: [ENABLED, DISABLED]",
            )))
        }
    }
    if input.certificate_authority_arn.is_some() {
        return Err(AwsError::new(
            "InvalidParameterException",
            400,
            "Private certificates (CertificateAuthorityArn) are not supported by Fulmar.",
        ));
    }
    let method = input.validation_method.unwrap_or_else(|| "EMAIL".into());
    if method != "DNS" && method != "EMAIL" {
        return Err(validation_error(validation(
            &method,
            "validationMethod",
            "Member must satisfy enum value set: [EMAIL, DNS, HTTP]",
        )));
    }
    let key_algorithm = input.key_algorithm.unwrap_or_else(|| "RSA_2048".into());
    if !["RSA_2048", "EC_prime256v1", "EC_secp384r1"].contains(&key_algorithm.as_str()) {
        return Err(AwsError::new(
            "InvalidParameterException",
            400,
            format!("The key algorithm {key_algorithm} is not supported for requested certificates; use RSA_2048, EC_prime256v1 or EC_secp384r1."),
        ));
    }
    if let Some(token) = &input.idempotency_token {
        if token.is_empty() || token.len() > 32 || !token.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(validation_error(validation(
                token,
                "idempotencyToken",
                "Member must satisfy regular expression pattern: \\w+",
            )));
        }
    }
    let mut names = vec![domain.to_ascii_lowercase()];
    for san in &input.subject_alternative_names {
        check_domain(san, "subjectAlternativeNames.member")?;
        let san = san.to_ascii_lowercase();
        if !names.contains(&san) {
            names.push(san);
        }
    }
    if names.len() > MAX_NAMES {
        return Err(AwsError::new(
            "LimitExceededException",
            400,
            format!("A certificate can cover at most {MAX_NAMES} domain names."),
        ));
    }
    let now = ids::now_ms();
    if let Some(token) = &input.idempotency_token {
        let same = txn.config.certificates.values().find(|c| {
            c.region == txn.region
                && c.idempotency_token.as_deref() == Some(token.as_str())
                && c.subject_alternative_names == names
                && now - c.created_ms < IDEMPOTENCY_MS
        });
        if let Some(c) = same {
            return Ok(ArnOut {
                certificate_arn: c.arn.clone(),
            });
        }
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, &input.tags)?;
    let validations = if method == "DNS" {
        names
            .iter()
            .map(|n| {
                let base = n.strip_prefix("*.").unwrap_or(n).to_string();
                // The record name depends on the account and the name only (requests for
                // the same name share it); the value is new for each certificate.
                let digest = hex::encode(Sha256::digest(format!("{}\n{base}", txn.account()).as_bytes()));
                DomainValidation {
                    domain_name: n.clone(),
                    validation_domain: base.clone(),
                    record_name: format!("_{}.{base}.", &digest[..32]),
                    record_value: format!("_{}.{}.acm-validations.aws.", ids::hex(32), letters(10)),
                }
            })
            .collect()
    } else {
        names
            .iter()
            .map(|n| {
                let base = n.strip_prefix("*.").unwrap_or(n).to_string();
                DomainValidation {
                    domain_name: n.clone(),
                    validation_domain: base,
                    record_name: String::new(),
                    record_value: String::new(),
                }
            })
            .collect()
    };
    // What Fulmar's authority will sign it with (an intermediate of the key's family).
    let signature_algorithm = match key_algorithm.as_str() {
        "EC_prime256v1" => "SHA256WITHECDSA",
        "EC_secp384r1" => "SHA384WITHECDSA",
        _ => "SHA256WITHRSA",
    };
    let cert = Certificate {
        arn: new_arn(txn),
        region: txn.region.clone(),
        domain_name: names[0].clone(),
        subject_alternative_names: names,
        status: "PENDING_VALIDATION".into(),
        cert_type: "AMAZON_ISSUED".into(),
        validation_method: Some(method),
        validations,
        idempotency_token: input.idempotency_token,
        key_algorithm,
        signature_algorithm: Some(signature_algorithm.into()),
        serial: None,
        subject: Some(format!("CN={}", domain.to_ascii_lowercase())),
        issuer: None,
        created_ms: now,
        imported_ms: None,
        issued_ms: None,
        not_before_ms: None,
        not_after_ms: None,
        certificate_pem: None,
        chain_pem: None,
        private_key_pem: None,
        transparency_logging: transparency(input.options.as_ref())?,
        tags,
        renewal_status: None,
        renewal_updated_ms: None,
    };
    let arn = cert.arn.clone();
    save(txn, cert);
    Ok(ArnOut { certificate_arn: arn })
}

fn letters(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n).map(|_| char::from(b'a' + rng.gen_range(0..26u8))).collect()
}

fn transparency(options: Option<&OptionsIo>) -> Result<String, AwsError> {
    match options.and_then(|o| o.certificate_transparency_logging_preference.as_deref()) {
        None => Ok("ENABLED".into()),
        Some(p @ ("ENABLED" | "DISABLED")) => Ok(p.to_string()),
        Some(p) => Err(validation_error(validation(
            p,
            "options.certificateTransparencyLoggingPreference",
            "Member must satisfy enum value set: [ENABLED, DISABLED]",
        ))),
    }
}

// --- ImportCertificate ----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImportInput {
    certificate_arn: Option<String>,
    certificate: Option<String>,
    private_key: Option<String>,
    certificate_chain: Option<String>,
    #[serde(default)]
    tags: Vec<TagIo>,
}

/// A blob member: base64 of the PEM text.
fn blob(value: Option<String>, member: &str) -> Result<Option<String>, AwsError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| AwsError::new("SerializationException", 400, format!("{member} is not valid base64")))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| validation_error(format!("The {member} is not PEM text.")))
}

fn import(txn: &mut Txn, input: ImportInput) -> Result<ArnOut, AwsError> {
    let body = blob(input.certificate, "certificate")?
        .ok_or_else(|| validation_error("1 validation error detected: Value null at 'certificate' failed to satisfy constraint: Member must not be null"))?;
    let key = blob(input.private_key, "privateKey")?
        .ok_or_else(|| validation_error("1 validation error detected: Value null at 'privateKey' failed to satisfy constraint: Member must not be null"))?;
    let chain = blob(input.certificate_chain, "certificateChain")?;
    match x509::pem_labels(&body).as_slice() {
        ["CERTIFICATE"] => {}
        [] => return Err(validation_error("Unable to parse certificate. Please ensure the certificate is in PEM format.")),
        _ => {
            return Err(validation_error(
                "The certificate field contains more than one certificate. You can specify only one certificate in this field.",
            ))
        }
    }
    let parsed = x509::parse(&body).map_err(|e| {
        validation_error(format!(
            "Unable to parse certificate. Please ensure the certificate is in PEM format ({e})."
        ))
    })?;
    x509::key_matches(&parsed, &key)
        .map_err(|e| validation_error(format!("The private key is not supported: {e}.")))?;
    if let Some(chain) = &chain {
        let labels = x509::pem_labels(chain);
        if labels.is_empty() || labels.iter().any(|l| *l != "CERTIFICATE") {
            return Err(validation_error(
                "Unable to parse the certificate chain. Please ensure it is PEM-encoded certificates.",
            ));
        }
    }
    let now = ids::now_ms();
    let (arn, created_ms, mut tags) = match &input.certificate_arn {
        Some(arn) => {
            let old = certificate(txn, arn)?;
            if old.cert_type != "IMPORTED" {
                return Err(validation_error(format!(
                    "Certificate {arn} was not imported; only imported certificates can be reimported."
                )));
            }
            if !input.tags.is_empty() {
                return Err(validation_error(
                    "Tags cannot be specified when reimporting a certificate.",
                ));
            }
            (arn.clone(), old.created_ms, old.tags.clone())
        }
        None => (new_arn(txn), now, Vec::new()),
    };
    merge_tags(&mut tags, &input.tags)?;
    let status = if parsed.not_after_ms < now { "EXPIRED" } else { "ISSUED" };
    let cert = Certificate {
        arn: arn.clone(),
        region: txn.region.clone(),
        domain_name: parsed.domain_name.clone(),
        subject_alternative_names: parsed.subject_alternative_names.clone(),
        status: status.into(),
        cert_type: "IMPORTED".into(),
        validation_method: None,
        validations: Vec::new(),
        idempotency_token: None,
        key_algorithm: parsed.key_algorithm.clone(),
        signature_algorithm: Some(parsed.signature_algorithm.clone()),
        serial: Some(parsed.serial.clone()),
        subject: Some(parsed.subject.clone()),
        issuer: Some(parsed.issuer.clone()),
        created_ms,
        imported_ms: Some(now),
        issued_ms: None,
        not_before_ms: Some(parsed.not_before_ms),
        not_after_ms: Some(parsed.not_after_ms),
        certificate_pem: Some(body.trim().to_string() + "\n"),
        chain_pem: chain.map(|c| c.trim().to_string() + "\n"),
        private_key_pem: Some(key.trim().to_string() + "\n"),
        transparency_logging: "ENABLED".into(),
        tags,
        renewal_status: None,
        renewal_updated_ms: None,
    };
    save(txn, cert);
    Ok(ArnOut { certificate_arn: arn })
}

// --- DescribeCertificate --------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArnInput {
    certificate_arn: Option<String>,
}

fn arn_of(input: ArnInput) -> Result<String, AwsError> {
    input.certificate_arn.ok_or_else(|| {
        validation_error(
            "1 validation error detected: Value null at 'certificateArn' failed to satisfy constraint: Member must not be null",
        )
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeOut {
    certificate: Detail,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Detail {
    certificate_arn: String,
    domain_name: String,
    subject_alternative_names: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    domain_validation_options: Vec<ValidationOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    created_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    imported_at: Option<f64>,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_after: Option<f64>,
    key_algorithm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature_algorithm: Option<String>,
    in_use_by: Vec<String>,
    #[serde(rename = "Type")]
    cert_type: String,
    key_usages: Vec<NameOut>,
    extended_key_usages: Vec<EkuOut>,
    renewal_eligibility: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    renewal_summary: Option<RenewalOut>,
    options: OptionsIo,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EkuOut {
    name: String,
    #[serde(rename = "OID")]
    oid: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RenewalOut {
    renewal_status: String,
    domain_validation_options: Vec<ValidationOut>,
    updated_at: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NameOut {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ValidationOut {
    domain_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_emails: Option<Vec<String>>,
    validation_domain: String,
    validation_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_record: Option<RecordOut>,
    validation_method: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RecordOut {
    name: String,
    #[serde(rename = "Type")]
    kind: String,
    value: String,
}

fn validation_status(cert: &Certificate) -> &'static str {
    match cert.status.as_str() {
        "ISSUED" => "SUCCESS",
        "PENDING_VALIDATION" => "PENDING_VALIDATION",
        _ => "FAILED",
    }
}

fn validations_out(cert: &Certificate, status: &str) -> Vec<ValidationOut> {
    let method = cert.validation_method.clone().unwrap_or_default();
    cert.validations
        .iter()
        .map(|v| ValidationOut {
            domain_name: v.domain_name.clone(),
            validation_emails: (method == "EMAIL").then(|| {
                ["admin", "administrator", "hostmaster", "postmaster", "webmaster"]
                    .iter()
                    .map(|u| format!("{u}@{}", v.validation_domain))
                    .collect()
            }),
            validation_domain: v.validation_domain.clone(),
            validation_status: status.into(),
            resource_record: (method == "DNS").then(|| RecordOut {
                name: v.record_name.clone(),
                kind: "CNAME".into(),
                value: v.record_value.clone(),
            }),
            validation_method: method.clone(),
        })
        .collect()
}

/// The key usages of a certificate that has a body: what Fulmar signs into an issued
/// one (an ECDSA key does not encipher keys); imported ones report both.
fn key_usages(cert: &Certificate) -> Vec<&'static str> {
    if cert.status != "ISSUED" && cert.cert_type != "IMPORTED" {
        Vec::new()
    } else if cert.cert_type == "AMAZON_ISSUED" && cert.key_algorithm.starts_with("EC") {
        vec!["DIGITAL_SIGNATURE"]
    } else {
        vec!["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"]
    }
}

/// The extended key usages Fulmar signs into an issued certificate (server
/// authentication only, as public certificates now carry).
fn extended_key_usages(cert: &Certificate) -> Vec<EkuOut> {
    if cert.cert_type == "AMAZON_ISSUED" && cert.certificate_pem.is_some() {
        vec![EkuOut {
            name: "TLS_WEB_SERVER_AUTHENTICATION".into(),
            oid: "1.3.6.1.5.5.7.3.1".into(),
        }]
    } else {
        Vec::new()
    }
}

fn detail(config: &Config, cert: &Certificate) -> Detail {
    let validations = validations_out(cert, validation_status(cert));
    let renewal_summary = match (&cert.renewal_status, cert.renewal_updated_ms) {
        (Some(status), Some(updated)) => Some(RenewalOut {
            renewal_status: status.clone(),
            domain_validation_options: validations_out(
                cert,
                match status.as_str() {
                    "SUCCESS" => "SUCCESS",
                    "FAILED" => "FAILED",
                    _ => "PENDING_VALIDATION",
                },
            ),
            updated_at: epoch(updated),
        }),
        _ => None,
    };
    Detail {
        certificate_arn: cert.arn.clone(),
        domain_name: cert.domain_name.clone(),
        subject_alternative_names: cert.subject_alternative_names.clone(),
        domain_validation_options: validations,
        serial: cert.serial.clone(),
        subject: cert.subject.clone(),
        issuer: cert.issuer.clone(),
        created_at: epoch(cert.created_ms),
        issued_at: cert.issued_ms.map(epoch),
        imported_at: cert.imported_ms.map(epoch),
        status: cert.status.clone(),
        not_before: cert.not_before_ms.map(epoch),
        not_after: cert.not_after_ms.map(epoch),
        // DescribeCertificate spells the algorithm with a hyphen (RSA-2048, EC-prime256v1).
        key_algorithm: cert.key_algorithm.replacen('_', "-", 1),
        signature_algorithm: cert.signature_algorithm.clone(),
        in_use_by: in_use_by(config, &cert.arn),
        cert_type: cert.cert_type.clone(),
        key_usages: key_usages(cert)
            .into_iter()
            .map(|name| NameOut { name: name.into() })
            .collect(),
        extended_key_usages: extended_key_usages(cert),
        renewal_eligibility: if cert.cert_type == "AMAZON_ISSUED" && !in_use_by(config, &cert.arn).is_empty() {
            "ELIGIBLE".into()
        } else {
            "INELIGIBLE".into()
        },
        renewal_summary,
        options: OptionsIo {
            certificate_transparency_logging_preference: Some(cert.transparency_logging.clone()),
            export: (cert.cert_type == "AMAZON_ISSUED").then(|| "DISABLED".into()),
        },
    }
}

fn describe(txn: &mut Txn, input: ArnInput) -> Result<DescribeOut, AwsError> {
    let arn = arn_of(input)?;
    let cert = certificate(txn, &arn)?;
    Ok(DescribeOut {
        certificate: detail(&txn.config, &cert),
    })
}

// --- ListCertificates -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInput {
    certificate_statuses: Option<Vec<String>>,
    includes: Option<FiltersIn>,
    next_token: Option<String>,
    max_items: Option<i64>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FiltersIn {
    key_types: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
    certificate_summary_list: Vec<Summary>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    certificate_arn: String,
    domain_name: String,
    subject_alternative_name_summaries: Vec<String>,
    has_additional_subject_alternative_names: bool,
    status: String,
    #[serde(rename = "Type")]
    cert_type: String,
    key_algorithm: String,
    key_usages: Vec<String>,
    extended_key_usages: Vec<String>,
    in_use: bool,
    renewal_eligibility: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_after: Option<f64>,
    created_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    imported_at: Option<f64>,
}

const STATUSES: &[&str] = &[
    "PENDING_VALIDATION",
    "ISSUED",
    "INACTIVE",
    "EXPIRED",
    "VALIDATION_TIMED_OUT",
    "REVOKED",
    "FAILED",
];
const KEY_TYPES: &[&str] = &[
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
];

fn list(txn: &mut Txn, input: ListInput) -> Result<ListOut, AwsError> {
    let statuses = input.certificate_statuses.unwrap_or_default();
    for s in &statuses {
        if !STATUSES.contains(&s.as_str()) {
            return Err(validation_error(validation(
                s,
                "certificateStatuses.member",
                &format!("Member must satisfy enum value set: [{}]", STATUSES.join(", ")),
            )));
        }
    }
    // By default only RSA_1024 and RSA_2048 certificates are listed.
    let key_types = input
        .includes
        .and_then(|f| f.key_types)
        .unwrap_or_else(|| vec!["RSA_1024".into(), "RSA_2048".into()]);
    for k in &key_types {
        if !KEY_TYPES.contains(&k.as_str()) {
            return Err(AwsError::new(
                "InvalidArgsException",
                400,
                format!("The key type {k} is not valid."),
            ));
        }
    }
    if let Some(n) = input.max_items {
        if !(1..=1000).contains(&n) {
            return Err(validation_error(validation(
                n,
                "maxItems",
                "Member must have value less than or equal to 1000 and greater than or equal to 1",
            )));
        }
    }
    if let Some(s) = input.sort_by.as_deref().filter(|s| *s != "CREATED_AT") {
        return Err(validation_error(validation(
            s,
            "sortBy",
            "Member must satisfy enum value set: [CREATED_AT]",
        )));
    }
    let descending = match input.sort_order.as_deref() {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(o) => {
            return Err(validation_error(validation(
                o,
                "sortOrder",
                "Member must satisfy enum value set: [ASCENDING, DESCENDING]",
            )))
        }
    };
    let arns: Vec<String> = txn
        .config
        .certificates
        .values()
        .filter(|c| c.region == txn.region)
        .map(|c| c.arn.clone())
        .collect();
    for arn in &arns {
        refresh(txn, arn)?;
    }
    let mut certs: Vec<Arc<Certificate>> = arns
        .iter()
        .filter_map(|a| txn.config.certificates.get(a).cloned())
        .filter(|c| statuses.is_empty() || statuses.contains(&c.status))
        .filter(|c| key_types.contains(&c.key_algorithm))
        .collect();
    certs.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.arn.cmp(&b.arn)));
    if descending {
        certs.reverse();
    }
    let start = match input.next_token.as_deref() {
        None | Some("") => 0,
        Some(t) => decode_token(t).ok_or_else(|| {
            AwsError::new(
                "InvalidArgsException",
                400,
                format!("The NextToken '{t}' is not valid."),
            )
        })?,
    };
    let size = input.max_items.map_or(usize::MAX, |n| n as usize);
    let end = start.saturating_add(size).min(certs.len());
    let next_token = (end < certs.len()).then(|| encode_token(end));
    let summaries = certs
        .iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .map(|c| {
            let in_use = !in_use_by(&txn.config, &c.arn).is_empty();
            Summary {
                certificate_arn: c.arn.clone(),
                domain_name: c.domain_name.clone(),
                subject_alternative_name_summaries: c.subject_alternative_names.iter().take(100).cloned().collect(),
                has_additional_subject_alternative_names: c.subject_alternative_names.len() > 100,
                status: c.status.clone(),
                cert_type: c.cert_type.clone(),
                key_algorithm: c.key_algorithm.clone(),
                key_usages: key_usages(c).into_iter().map(String::from).collect(),
                extended_key_usages: extended_key_usages(c).into_iter().map(|e| e.name).collect(),
                in_use,
                renewal_eligibility: if c.cert_type == "AMAZON_ISSUED" && in_use {
                    "ELIGIBLE".into()
                } else {
                    "INELIGIBLE".into()
                },
                not_before: c.not_before_ms.map(epoch),
                not_after: c.not_after_ms.map(epoch),
                created_at: epoch(c.created_ms),
                issued_at: c.issued_ms.map(epoch),
                imported_at: c.imported_ms.map(epoch),
            }
        })
        .collect();
    Ok(ListOut {
        next_token,
        certificate_summary_list: summaries,
    })
}

fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("fulmar-acm:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("fulmar-acm:")?.parse().ok()
}

// --- GetCertificate, DeleteCertificate ------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_chain: Option<String>,
}

fn get(txn: &mut Txn, input: ArnInput) -> Result<GetOut, AwsError> {
    let arn = arn_of(input)?;
    let cert = certificate(txn, &arn)?;
    match cert.status.as_str() {
        "PENDING_VALIDATION" => Err(AwsError::new(
            "RequestInProgressException",
            400,
            format!("Certificate {arn} is in PENDING_VALIDATION status and has not been issued yet."),
        )),
        "ISSUED" | "EXPIRED" if cert.certificate_pem.is_some() => Ok(GetOut {
            certificate: cert.certificate_pem.clone(),
            certificate_chain: cert.chain_pem.clone(),
        }),
        // Not reached: issuing signs a body (kept for an unforeseen stored state).
        "ISSUED" => Ok(GetOut {
            certificate: None,
            certificate_chain: None,
        }),
        status => Err(AwsError::new(
            "RequestInProgressException",
            400,
            format!("Certificate {arn} is in {status} status."),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExportInput {
    certificate_arn: Option<String>,
    passphrase: Option<String>,
}

/// ExportCertificate is for private certificates and public ones requested with
/// `Export` enabled, which Fulmar does not issue: it never hands out a private key.
fn export(txn: &mut Txn, input: ExportInput) -> Result<Empty, AwsError> {
    let arn = arn_of(ArnInput {
        certificate_arn: input.certificate_arn,
    })?;
    let passphrase = blob(input.passphrase, "passphrase")?.ok_or_else(|| {
        validation_error(
            "1 validation error detected: Value null at 'passphrase' failed to satisfy constraint: Member must not be null",
        )
    })?;
    if !(4..=128).contains(&passphrase.len()) {
        return Err(validation_error(validation(
            "***",
            "passphrase",
            "Member must have length less than or equal to 128 and greater than or equal to 4",
        )));
    }
    certificate(txn, &arn)?;
    Err(validation_error(format!(
        "Certificate ARN: {arn} is not a private certificate"
    )))
}

#[derive(Serialize)]
struct Empty {}

fn delete(txn: &mut Txn, input: ArnInput) -> Result<Empty, AwsError> {
    let arn = arn_of(input)?;
    certificate(txn, &arn)?;
    if !in_use_by(&txn.config, &arn).is_empty() {
        return Err(AwsError::new(
            "ResourceInUseException",
            400,
            format!("Certificate {arn} is in use."),
        ));
    }
    txn.config.certificates.remove(&arn);
    txn.touch(Kind::Certificate, &arn);
    Ok(Empty {})
}

// --- tags -----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagsInput {
    certificate_arn: Option<String>,
    tags: Option<Vec<TagIo>>,
}

fn tag_list(tags: Option<Vec<TagIo>>) -> Result<Vec<TagIo>, AwsError> {
    match tags {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(validation_error(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
        )),
    }
}

fn add_tags(txn: &mut Txn, input: TagsInput) -> Result<Empty, AwsError> {
    let tags = tag_list(input.tags)?;
    let arn = arn_of(ArnInput {
        certificate_arn: input.certificate_arn,
    })?;
    let mut cert = (*certificate(txn, &arn)?).clone();
    merge_tags(&mut cert.tags, &tags)?;
    save(txn, cert);
    Ok(Empty {})
}

fn remove_tags(txn: &mut Txn, input: TagsInput) -> Result<Empty, AwsError> {
    let tags = tag_list(input.tags)?;
    let arn = arn_of(ArnInput {
        certificate_arn: input.certificate_arn,
    })?;
    check_tags(&tags)?;
    let mut cert = (*certificate(txn, &arn)?).clone();
    // A tag given with a value is removed only when the value matches too.
    cert.tags.retain(|t| {
        !tags
            .iter()
            .any(|r| r.key == t.key && r.value.as_ref().is_none_or(|v| *v == t.value))
    });
    save(txn, cert);
    Ok(Empty {})
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsOut {
    tags: Vec<TagIo>,
}

fn list_tags(txn: &mut Txn, input: ArnInput) -> Result<ListTagsOut, AwsError> {
    let arn = arn_of(input)?;
    let cert = certificate(txn, &arn)?;
    Ok(ListTagsOut {
        tags: tags_out(&cert.tags),
    })
}
