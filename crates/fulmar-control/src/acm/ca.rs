//! Fulmar's certificate authority: what signs the certificates ACM issues.
//!
//! Like Amazon's, it is a root and, under it, intermediates that sign the leaves: one
//! family per leaf key algorithm, so an RSA leaf is signed with RSA (SHA256WITHRSA) and
//! an ECDSA leaf with ECDSA of its own size (SHA256WITHECDSA, SHA384WITHECDSA). The root
//! is ECDSA P-384. Certificates are built and signed by `rcgen` (on `ring`); RSA keys,
//! which `ring` cannot generate, come from the `rsa` crate.
//!
//! Everything here is pure: it takes the stored authority and answers the new one.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber, SignatureAlgorithm, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
    PKCS_RSA_SHA256,
};
use rsa::pkcs8::EncodePrivateKey;

use fulmar_model::acm::{CaCertificate, CertificateAuthority};

/// The id of the store's one authority.
pub const CA_ID: &str = "fulmar";
/// The organisation every certificate of the authority names.
pub const ORGANIZATION: &str = "Fulmar";
const ROOT_NAME: &str = "Fulmar Root CA 1";
const ROOT_FAMILY: &str = "ROOT";

const DAY_MS: i64 = 86_400_000;
const ROOT_DAYS: i64 = 25 * 365;
const INTERMEDIATE_DAYS: i64 = 8 * 365;
/// Amazon-issued certificates are valid for 395 days.
pub const LEAF_DAYS: i64 = 395;

/// A signed leaf and its key, PEM.
pub struct Leaf {
    pub certificate_pem: String,
    /// The intermediate, then the root.
    pub chain_pem: String,
    /// PKCS#8.
    pub private_key_pem: String,
}

/// The signature algorithm of a key of an ACM key algorithm, and the family's name in
/// an intermediate's common name.
fn family(key_algorithm: &str) -> Result<(&'static SignatureAlgorithm, &'static str), String> {
    match key_algorithm {
        "RSA_2048" => Ok((&PKCS_RSA_SHA256, "RSA 2048")),
        "EC_prime256v1" => Ok((&PKCS_ECDSA_P256_SHA256, "ECDSA 256")),
        "EC_secp384r1" => Ok((&PKCS_ECDSA_P384_SHA384, "ECDSA 384")),
        ROOT_FAMILY => Ok((&PKCS_ECDSA_P384_SHA384, "Root")),
        other => Err(format!("no keys of algorithm {other}")),
    }
}

/// A new key of an ACM key algorithm, and its PKCS#8 PEM.
fn new_key(key_algorithm: &str) -> Result<(KeyPair, String), String> {
    let (alg, _) = family(key_algorithm)?;
    if alg == &PKCS_RSA_SHA256 {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(|e| e.to_string())?;
        let pem = key
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|e| e.to_string())?
            .to_string();
        let pair = KeyPair::from_pkcs8_pem_and_sign_algo(&pem, alg).map_err(|e| e.to_string())?;
        Ok((pair, pem))
    } else {
        let pair = KeyPair::generate_for(alg).map_err(|e| e.to_string())?;
        let pem = pair.serialize_pem();
        Ok((pair, pem))
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, common_name);
    dn
}

fn time(ms: i64) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_err(|e| e.to_string())
}

/// 16 random bytes, a positive DER integer with no leading zero.
fn serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        bytes[0] = 1;
    }
    SerialNumber::from_slice(&bytes)
}

fn ca_key_usages() -> Vec<KeyUsagePurpose> {
    vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ]
}

/// Signs as `ca`: its name and key (the subject key identifier is derived from the
/// key the same way as when `ca` was made, so children name it in their authority key
/// identifier).
fn issuer(ca: &CaCertificate) -> Result<Issuer<'static, KeyPair>, String> {
    let (alg, _) = family(&ca.family)?;
    let key = KeyPair::from_pkcs8_pem_and_sign_algo(&ca.private_key_pem, alg).map_err(|e| e.to_string())?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(&ca.common_name);
    params.key_usages = ca_key_usages();
    Ok(Issuer::new(params, key))
}

fn new_root(now_ms: i64) -> Result<CaCertificate, String> {
    let (key, key_pem) = new_key(ROOT_FAMILY)?;
    let not_after_ms = now_ms + ROOT_DAYS * DAY_MS;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(ROOT_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = ca_key_usages();
    params.serial_number = Some(serial());
    params.not_before = time(now_ms - DAY_MS)?;
    params.not_after = time(not_after_ms)?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok(CaCertificate {
        family: ROOT_FAMILY.into(),
        common_name: ROOT_NAME.into(),
        not_after_ms,
        certificate_pem: cert.pem(),
        private_key_pem: key_pem,
    })
}

fn new_intermediate(
    root: &CaCertificate,
    key_algorithm: &str,
    number: usize,
    now_ms: i64,
) -> Result<CaCertificate, String> {
    let (_, label) = family(key_algorithm)?;
    let common_name = format!("{ORGANIZATION} {label} M{number:02}");
    let (key, key_pem) = new_key(key_algorithm)?;
    let not_after_ms = (now_ms + INTERMEDIATE_DAYS * DAY_MS).min(root.not_after_ms);
    let mut params = CertificateParams::default();
    params.distinguished_name = name(&common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = ca_key_usages();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(serial());
    params.not_before = time(now_ms - DAY_MS)?;
    params.not_after = time(not_after_ms)?;
    let cert = params.signed_by(&key, &issuer(root)?).map_err(|e| e.to_string())?;
    Ok(CaCertificate {
        family: key_algorithm.into(),
        common_name,
        not_after_ms,
        certificate_pem: cert.pem(),
        private_key_pem: key_pem,
    })
}

/// The newest intermediate of a family.
fn intermediate<'a>(ca: &'a CertificateAuthority, key_algorithm: &str) -> Option<&'a CaCertificate> {
    ca.intermediates.iter().rev().find(|i| i.family == key_algorithm)
}

/// The span of a leaf issued at `now_ms`: from the start of its UTC day, 395 days less
/// a second (ACM's `NotBefore` 00:00:00 and `NotAfter` 23:59:59).
pub fn leaf_validity(now_ms: i64) -> (i64, i64) {
    let not_before = now_ms - now_ms.rem_euclid(DAY_MS);
    (not_before, not_before + LEAF_DAYS * DAY_MS - 1000)
}

/// The authority `ca` completed so that it can sign a leaf of `key_algorithm` now: a
/// root if there is none, an intermediate of that family whose validity covers the
/// leaf's. `None` when `ca` already can.
pub fn ensure(
    ca: Option<&CertificateAuthority>,
    key_algorithm: Option<&str>,
    now_ms: i64,
) -> Result<Option<CertificateAuthority>, String> {
    let mut out = match ca {
        Some(ca) => ca.clone(),
        None => CertificateAuthority {
            id: CA_ID.into(),
            root: new_root(now_ms)?,
            intermediates: Vec::new(),
        },
    };
    let mut changed = ca.is_none();
    if let Some(alg) = key_algorithm {
        let (_, leaf_end) = leaf_validity(now_ms);
        if intermediate(&out, alg).is_none_or(|i| i.not_after_ms < leaf_end) {
            let number = out.intermediates.iter().filter(|i| i.family == alg).count() + 1;
            let fresh = new_intermediate(&out.root, alg, number, now_ms)?;
            out.intermediates.push(fresh);
            changed = true;
        }
    }
    Ok(changed.then_some(out))
}

/// Sign a new leaf for `names` (the first is the subject's common name; all are DNS
/// subject alternative names) with a new key of `key_algorithm`, under the newest
/// intermediate of that family (which [`ensure`] made sure of).
pub fn issue(ca: &CertificateAuthority, names: &[String], key_algorithm: &str, now_ms: i64) -> Result<Leaf, String> {
    let signer = intermediate(ca, key_algorithm).ok_or_else(|| format!("no intermediate for {key_algorithm}"))?;
    let (key, key_pem) = new_key(key_algorithm)?;
    let (not_before, not_after) = leaf_validity(now_ms);
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names.first().ok_or("a certificate needs a name")?.as_str(),
    );
    params.distinguished_name = dn;
    params.subject_alt_names = names
        .iter()
        .map(|n| {
            Ok(SanType::DnsName(
                n.clone().try_into().map_err(|e: rcgen::Error| e.to_string())?,
            ))
        })
        .collect::<Result<_, String>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = if key_algorithm.starts_with("RSA") {
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    };
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(serial());
    params.not_before = time(not_before)?;
    params.not_after = time(not_after)?;
    let cert = params.signed_by(&key, &issuer(signer)?).map_err(|e| e.to_string())?;
    Ok(Leaf {
        certificate_pem: cert.pem(),
        chain_pem: format!("{}{}", signer.certificate_pem, ca.root.certificate_pem),
        private_key_pem: key_pem,
    })
}
