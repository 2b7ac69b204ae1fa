//! AWS Certificate Manager certificates and EC2 managed prefix lists: resources other
//! services refer to (an HTTPS listener's certificate, a security-group rule's prefix
//! list), shaped like their APIs' own types.

use serde::{Deserialize, Serialize};

use crate::Tag;

/// One ACM certificate. Certificates are regional: the key is the ARN
/// (`arn:aws:acm:<region>:<account>:certificate/<uuid>`), which names the region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub arn: String,
    pub region: String,
    pub domain_name: String,
    /// Every name the certificate covers, the domain name first.
    pub subject_alternative_names: Vec<String>,
    /// `PENDING_VALIDATION`, `ISSUED`, ...
    pub status: String,
    /// `AMAZON_ISSUED` or `IMPORTED`.
    pub cert_type: String,
    /// `DNS` or `EMAIL` (requested certificates only).
    pub validation_method: Option<String>,
    /// One DNS validation record per name of a requested certificate.
    pub validations: Vec<DomainValidation>,
    pub idempotency_token: Option<String>,
    pub key_algorithm: String,
    pub signature_algorithm: Option<String>,
    pub serial: Option<String>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub created_ms: i64,
    pub imported_ms: Option<i64>,
    pub issued_ms: Option<i64>,
    pub not_before_ms: Option<i64>,
    pub not_after_ms: Option<i64>,
    /// The PEM body of the certificate and its chain: an imported certificate's as given,
    /// an issued one's as Fulmar's certificate authority signed it.
    pub certificate_pem: Option<String>,
    pub chain_pem: Option<String>,
    /// The PEM private key (PKCS#8 or the form it was imported in). Kept only so that the
    /// load balancer can terminate TLS with the certificate; no API ever returns it.
    #[serde(default)]
    pub private_key_pem: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub transparency_logging: String,
    pub tags: Vec<Tag>,
    /// Managed renewal of an Amazon-issued certificate (`PENDING_AUTO_RENEWAL`,
    /// `SUCCESS`, `FAILED`); `None` until its renewal window opens.
    #[serde(default)]
    pub renewal_status: Option<String>,
    /// When the renewal status last changed.
    #[serde(default)]
    pub renewal_updated_ms: Option<i64>,
}

/// Fulmar's certificate authority, which signs the certificates ACM issues: a
/// self-signed root and, under it, one intermediate per leaf key algorithm (as Amazon
/// signs RSA leaves with an RSA intermediate and ECDSA leaves with an ECDSA one). One
/// per store, created on first need; users trust its root (`GET /_fulmar/ca.pem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateAuthority {
    /// `fulmar`: the one authority of the store.
    pub id: String,
    pub root: CaCertificate,
    /// The intermediates, oldest first; leaves are signed by the newest of their family.
    pub intermediates: Vec<CaCertificate>,
}

/// One certificate of the authority, with its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaCertificate {
    /// `ROOT`, or the key algorithm of the leaves an intermediate signs (`RSA_2048`,
    /// `EC_prime256v1`, `EC_secp384r1`).
    pub family: String,
    /// The subject's common name (`Fulmar RSA 2048 M01`).
    pub common_name: String,
    pub not_after_ms: i64,
    pub certificate_pem: String,
    /// PKCS#8 PEM. Never leaves the store.
    pub private_key_pem: String,
}

/// The DNS record that proves control of one name of a requested certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainValidation {
    pub domain_name: String,
    pub validation_domain: String,
    /// `_<hash>.<domain>.`
    pub record_name: String,
    /// `_<hash>.acm-validations.aws.`
    pub record_value: String,
}

/// An EC2 customer-managed prefix list (`pl-...`): a named, versioned set of CIDRs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPrefixList {
    pub id: String,
    pub region: String,
    pub owner_id: String,
    pub name: String,
    /// `IPv4` or `IPv6`.
    pub address_family: String,
    pub max_entries: i32,
    pub version: i64,
    /// `create-complete`, `modify-complete`, `delete-failed`, ...
    pub state: String,
    /// Why the last change failed (`delete-failed`).
    #[serde(default)]
    pub state_message: Option<String>,
    pub entries: Vec<PrefixListEntry>,
    /// The entries of every earlier version, oldest first (`GetManagedPrefixListEntries`
    /// with `TargetVersion`).
    #[serde(default)]
    pub history: Vec<Vec<PrefixListEntry>>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixListEntry {
    pub cidr: String,
    pub description: Option<String>,
}
