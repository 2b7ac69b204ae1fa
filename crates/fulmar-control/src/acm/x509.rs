//! What ACM reads from an imported certificate: names, validity, serial, issuer and
//! key, parsed with the RustCrypto `x509-cert` crate; and the check that the private
//! key is a PEM key that belongs to the certificate.

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use x509_cert::der::{Decode, DecodePem};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// The facts DescribeCertificate reports about an imported certificate.
#[derive(Debug)]
pub struct Parsed {
    pub domain_name: String,
    pub subject_alternative_names: Vec<String>,
    pub subject: String,
    pub issuer: String,
    /// Colon-separated lowercase hex, as ACM shows it.
    pub serial: String,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    /// `RSA_2048`, `EC_prime256v1`, ...
    pub key_algorithm: String,
    /// `SHA256WITHRSA`, `SHA256WITHECDSA`, ...
    pub signature_algorithm: String,
    /// The RSA public key, to match the private key against.
    rsa: Option<rsa::RsaPublicKey>,
}

const SAN: &str = "2.5.29.17";
const RSA: &str = "1.2.840.113549.1.1.1";
const EC: &str = "1.2.840.10045.2.1";

/// The PEM blocks (`-----BEGIN <label>-----`) of a text, in order.
pub fn pem_labels(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .collect()
}

/// Parse one PEM certificate.
pub fn parse(pem: &str) -> Result<Parsed, String> {
    let cert = Certificate::from_pem(pem.trim().as_bytes()).map_err(|e| e.to_string())?;
    let tbs = &cert.tbs_certificate;
    let common_name = tbs
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid.to_string() == "2.5.4.3")
        .and_then(|atv| atv.to_string().strip_prefix("CN=").map(str::to_string));
    let mut sans = Vec::new();
    for ext in tbs.extensions.iter().flatten() {
        if ext.extn_id.to_string() == SAN {
            let names = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(|e| e.to_string())?;
            for n in names.0 {
                if let GeneralName::DnsName(d) = n {
                    sans.push(d.to_string());
                }
            }
        }
    }
    let domain_name = common_name
        .clone()
        .or_else(|| sans.first().cloned())
        .ok_or("the certificate names no domain")?;
    if sans.is_empty() {
        sans.push(domain_name.clone());
    }
    let serial = tbs
        .serial_number
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let spki = &tbs.subject_public_key_info;
    let (key_algorithm, rsa) = match spki.algorithm.oid.to_string().as_str() {
        RSA => {
            let key =
                rsa::RsaPublicKey::from_pkcs1_der(spki.subject_public_key.raw_bytes()).map_err(|e| e.to_string())?;
            (format!("RSA_{}", key.size() * 8), Some(key))
        }
        EC => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<x509_cert::der::oid::ObjectIdentifier>().ok())
                .map(|o| o.to_string());
            let name = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "EC_prime256v1",
                Some("1.3.132.0.34") => "EC_secp384r1",
                Some("1.3.132.0.35") => "EC_secp521r1",
                _ => return Err("the certificate's elliptic curve is not supported".into()),
            };
            (name.to_string(), None)
        }
        other => return Err(format!("the certificate's key algorithm {other} is not supported")),
    };
    let signature_algorithm = match cert.signature_algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.5" => "SHA1WITHRSA",
        "1.2.840.113549.1.1.11" => "SHA256WITHRSA",
        "1.2.840.113549.1.1.12" => "SHA384WITHRSA",
        "1.2.840.113549.1.1.13" => "SHA512WITHRSA",
        "1.2.840.10045.4.3.2" => "SHA256WITHECDSA",
        "1.2.840.10045.4.3.3" => "SHA384WITHECDSA",
        "1.2.840.10045.4.3.4" => "SHA512WITHECDSA",
        _ => "UNKNOWN",
    }
    .to_string();
    let ms = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX);
    Ok(Parsed {
        domain_name,
        subject_alternative_names: sans,
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial,
        not_before_ms: ms(tbs.validity.not_before),
        not_after_ms: ms(tbs.validity.not_after),
        key_algorithm,
        signature_algorithm,
        rsa,
    })
}

/// Whether `key_pem` is a private key (PKCS#8, PKCS#1 or SEC1) that, for an RSA
/// certificate, holds the certificate's public key. Encrypted keys are refused.
pub fn key_matches(cert: &Parsed, key_pem: &str) -> Result<(), String> {
    let labels = pem_labels(key_pem);
    match labels.as_slice() {
        ["PRIVATE KEY"] | ["RSA PRIVATE KEY"] | ["EC PRIVATE KEY"] => {}
        ["ENCRYPTED PRIVATE KEY"] => return Err("the private key is encrypted".into()),
        _ => return Err("the private key is not one PEM private key".into()),
    }
    let Some(public) = &cert.rsa else {
        return Ok(());
    };
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(key_pem.trim())
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(key_pem.trim()))
        .map_err(|_| "the private key is not an RSA key".to_string())?;
    if &key.to_public_key() != public {
        return Err("the private key does not match the certificate".into());
    }
    Ok(())
}
