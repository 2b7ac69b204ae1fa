//! AddListenerCertificates, RemoveListenerCertificates, DescribeListenerCertificates.
//!
//! A certificate must be an ISSUED ACM certificate of the listener's region (Fulmar
//! keeps no IAM server certificates): anything else answers `CertificateNotFound`.
//! The first certificate of a listener is its default; it cannot be removed.

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;

use super::listener_not_found;
use super::listeners::CertificateIn;
use super::load_balancers::Empty;
use crate::Txn;

/// Certificates per listener, the default one excluded (the default quota).
const MAX_CERTIFICATES: usize = 25;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeInput {
    listener_arn: String,
    #[serde(default)]
    certificates: Vec<CertificateIn>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CertificatesOut {
    certificates: Vec<CertificateOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateOut {
    certificate_arn: String,
    is_default: bool,
}

pub fn add(txn: &mut Txn, input: ChangeInput) -> Result<CertificatesOut, AwsError> {
    let listener = txn
        .config
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(listener_not_found)?;
    let arns: Vec<&String> = input
        .certificates
        .iter()
        .filter_map(|c| c.certificate_arn.as_ref())
        .collect();
    if arns.is_empty() {
        return Err(AwsError::validation("A certificate ARN must be specified"));
    }
    if listener.certificates.len().saturating_sub(1) + arns.len() > MAX_CERTIFICATES {
        return Err(AwsError::new(
            "TooManyCertificates",
            400,
            "You've reached the limit on the number of certificates per load balancer",
        ));
    }
    if listener.protocol != "HTTPS" && listener.protocol != "TLS" {
        return Err(AwsError::new(
            "InvalidConfigurationRequest",
            400,
            format!(
                "Certificates can only be added to HTTPS and TLS listeners, not to a {} listener",
                listener.protocol
            ),
        ));
    }
    let mut l = (**listener).clone();
    let arns: Vec<String> = arns.into_iter().cloned().collect();
    for arn in &arns {
        crate::acm::check_usable(txn, arn)?;
        if !l.certificates.contains(arn) {
            l.certificates.push(arn.clone());
        }
    }
    let out = CertificatesOut {
        certificates: arns
            .iter()
            .map(|a| CertificateOut {
                certificate_arn: a.clone(),
                is_default: l.certificates.first() == Some(a),
            })
            .collect(),
        next_marker: None,
    };
    txn.touch(fulmar_model::Kind::Listener, &l.arn);
    txn.config.listeners.insert(l.arn.clone(), std::sync::Arc::new(l));
    Ok(out)
}

pub fn remove(txn: &mut Txn, input: ChangeInput) -> Result<Empty, AwsError> {
    let listener = txn
        .config
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(listener_not_found)?;
    for c in input.certificates.iter().filter_map(|c| c.certificate_arn.as_ref()) {
        if listener.certificates.first() == Some(c) {
            return Err(AwsError::new(
                "OperationNotPermitted",
                400,
                "The default certificate of a listener cannot be removed",
            ));
        }
    }
    let mut l = (**listener).clone();
    let before = l.certificates.len();
    l.certificates
        .retain(|c| !input.certificates.iter().any(|r| r.certificate_arn.as_ref() == Some(c)));
    if l.certificates.len() != before {
        txn.touch(fulmar_model::Kind::Listener, &l.arn);
        txn.config.listeners.insert(l.arn.clone(), std::sync::Arc::new(l));
    }
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    listener_arn: String,
    marker: Option<String>,
    page_size: Option<u32>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<CertificatesOut, AwsError> {
    let listener = txn
        .config
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(listener_not_found)?;
    let all: Vec<CertificateOut> = listener
        .certificates
        .iter()
        .enumerate()
        .map(|(i, arn)| CertificateOut {
            certificate_arn: arn.clone(),
            is_default: i == 0,
        })
        .collect();
    let (certificates, next_marker) = super::page(all, input.marker.as_deref(), input.page_size)?;
    Ok(CertificatesOut {
        certificates,
        next_marker,
    })
}
