//! CreateListener, DescribeListeners, ModifyListener, DeleteListener.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::elbv2::MutualAuthentication;
use fulmar_model::{Kind, Listener};

use super::actions::{self, ActionIn, ActionOut};
use super::load_balancers::Empty;
use super::{lb_not_found, listener_not_found, page};
use crate::shapes::{merge_tags, TagIn};
use crate::Txn;

const MAX_LISTENERS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateIn {
    pub(crate) certificate_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    load_balancer_arn: String,
    protocol: Option<String>,
    port: Option<u32>,
    ssl_policy: Option<String>,
    #[serde(default)]
    certificates: Vec<CertificateIn>,
    #[serde(default)]
    default_actions: Vec<ActionIn>,
    alpn_policy: Option<Vec<String>>,
    #[serde(default)]
    tags: Vec<TagIn>,
    mutual_authentication: Option<MutualAuthenticationIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MutualAuthenticationIn {
    mode: Option<String>,
    trust_store_arn: Option<String>,
    ignore_client_certificate_expiry: Option<bool>,
    advertise_trust_store_ca_names: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct MutualAuthenticationOut {
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_store_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_client_certificate_expiry: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListenersOut<'a> {
    listeners: Vec<ListenerOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ListenerOut<'a> {
    listener_arn: String,
    load_balancer_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    certificates: Vec<CertificateOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssl_policy: Option<String>,
    default_actions: Vec<ActionOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alpn_policy: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mutual_authentication: Option<MutualAuthenticationOut>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct CertificateOut {
    certificate_arn: String,
}

/// The security policy of an HTTPS or TLS listener created without one (the API's and
/// CLI's default; the console picks a TLS 1.3 policy).
const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";
/// Gateway Load Balancer listeners have neither port nor protocol (GENEVE on 6081).
const GATEWAY_PROTOCOL: &str = "GENEVE";

fn render(l: &Listener) -> ListenerOut<'_> {
    let gateway = l.protocol == GATEWAY_PROTOCOL && l.port == 0;
    ListenerOut {
        listener_arn: l.arn.clone(),
        load_balancer_arn: l.load_balancer_arn.clone(),
        port: (!gateway).then_some(l.port),
        protocol: (!gateway).then(|| l.protocol.clone()),
        // Only the default certificate shows here; the others are listed by
        // DescribeListenerCertificates.
        certificates: l
            .certificates
            .first()
            .map(|c| CertificateOut {
                certificate_arn: c.clone(),
            })
            .into_iter()
            .collect(),
        ssl_policy: l.ssl_policy.clone(),
        default_actions: actions::render(&l.default_actions),
        alpn_policy: l.alpn_policy.clone(),
        // HTTPS listeners show their mode, `off` included.
        mutual_authentication: (l.protocol == "HTTPS").then(|| match &l.mutual_authentication {
            None => MutualAuthenticationOut {
                mode: "off",
                trust_store_arn: None,
                ignore_client_certificate_expiry: None,
            },
            Some(m) => MutualAuthenticationOut {
                mode: if m.mode == "verify" { "verify" } else { "passthrough" },
                trust_store_arn: m.trust_store_arn.clone(),
                ignore_client_certificate_expiry: (m.mode == "verify").then_some(m.ignore_client_certificate_expiry),
            },
        }),
    }
}

const MUTUAL_AUTHENTICATION_MODES: &[&str] = &["off", "passthrough", "verify"];

/// Check a listener's `MutualAuthentication`; gives what to store (`None` for `off`).
/// `verify` needs a trust store, and Fulmar has none (CreateTrustStore reads the CA
/// bundle from S3): a verify listener cannot be made here, as in an account without
/// trust stores (`TrustStoreNotFound`).
fn check_mutual_authentication(
    protocol: &str,
    input: MutualAuthenticationIn,
) -> Result<Option<MutualAuthentication>, AwsError> {
    let mode = input.mode.unwrap_or_else(|| "off".to_owned());
    if !MUTUAL_AUTHENTICATION_MODES.contains(&mode.as_str()) {
        return Err(AwsError::validation(format!(
            "Mutual authentication mode '{mode}' is not valid; it must be one of {}",
            MUTUAL_AUTHENTICATION_MODES.join(", ")
        )));
    }
    if protocol != "HTTPS" && mode != "off" {
        return Err(AwsError::new(
            "InvalidConfigurationRequest",
            400,
            "Mutual authentication is supported only on HTTPS listeners",
        ));
    }
    if let Some(v) = &input.advertise_trust_store_ca_names {
        if v != "on" && v != "off" {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{v}' at 'mutualAuthentication.advertiseTrustStoreCaNames' failed to satisfy constraint: Member must satisfy enum value set: [on, off]"
            )));
        }
    }
    match mode.as_str() {
        "verify" => match input.trust_store_arn {
            None => Err(AwsError::validation(
                "A trust store ARN must be specified when the mutual authentication mode is 'verify'",
            )),
            Some(_) => Err(AwsError::new(
                "TrustStoreNotFound",
                400,
                "One or more trust stores not found",
            )),
        },
        _ if input.trust_store_arn.is_some() => Err(AwsError::validation(format!(
            "A trust store can be specified only when the mutual authentication mode is 'verify', not '{mode}'"
        ))),
        "passthrough" => Ok(Some(MutualAuthentication {
            mode,
            trust_store_arn: None,
            ignore_client_certificate_expiry: input.ignore_client_certificate_expiry.unwrap_or(false),
        })),
        _ => Ok(None),
    }
}

/// Listener protocols per load balancer type, in the order AWS's messages list them.
fn listener_protocols(kind: &str) -> &'static [&'static str] {
    match kind {
        "network" => &["UDP", "TCP", "TLS", "TCP_UDP"],
        "gateway" => &[],
        _ => &["HTTP", "HTTPS"],
    }
}

const PROTOCOL_ENUM: &[&str] = &[
    "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC",
];

/// Check a listener's protocol and port against its load balancer's type; gives the
/// protocol and port to store.
fn check_protocol_port(kind: &str, protocol: Option<&str>, port: Option<u32>) -> Result<(String, u16), AwsError> {
    if let Some(p) = protocol {
        if !PROTOCOL_ENUM.contains(&p) {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{p}' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                PROTOCOL_ENUM.join(", ")
            )));
        }
    }
    if kind == "gateway" {
        if port.is_some() {
            return Err(AwsError::validation("A port cannot be specified for gateway listeners"));
        }
        if protocol.is_some() {
            return Err(AwsError::validation(
                "A protocol cannot be specified for gateway listeners",
            ));
        }
        return Ok((GATEWAY_PROTOCOL.to_string(), 0));
    }
    let port = port.ok_or_else(|| AwsError::validation("A listener port must be specified"))?;
    let protocol = protocol.ok_or_else(|| AwsError::validation("A listener protocol must be specified"))?;
    let allowed = listener_protocols(kind);
    if !allowed.contains(&protocol) {
        return Err(AwsError::validation(format!(
            "Listener protocol '{protocol}' must be one of '{}'",
            allowed.join(", ")
        )));
    }
    if !(1..=65535).contains(&port) {
        return Err(AwsError::validation(format!(
            "Port '{port}' must be between 1 and 65535"
        )));
    }
    Ok((protocol.to_string(), port as u16))
}

/// HTTPS and TLS listeners need exactly one (default) certificate, an ISSUED ACM
/// certificate of this region (`CertificateNotFound` otherwise); the answer is its ARN.
fn check_certificates(
    txn: &mut Txn,
    protocol: &str,
    certificates: &[CertificateIn],
) -> Result<Option<String>, AwsError> {
    if protocol != "HTTPS" && protocol != "TLS" {
        return Ok(None);
    }
    let arns: Vec<&String> = certificates.iter().filter_map(|c| c.certificate_arn.as_ref()).collect();
    match arns.as_slice() {
        [arn] => crate::acm::check_usable(txn, arn).map(|()| Some((*arn).clone())),
        _ => Err(AwsError::new(
            "InvalidConfigurationRequest",
            400,
            format!(
                "You must provide a list containing exactly one certificate if the listener protocol is {protocol}."
            ),
        )),
    }
}

const ALPN_POLICIES: &[&str] = &["HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None"];

fn check_alpn(protocol: &str, alpn: Option<Vec<String>>) -> Result<Vec<String>, AwsError> {
    let Some(alpn) = alpn.filter(|a| !a.is_empty()) else {
        return Ok(Vec::new());
    };
    if protocol != "TLS" {
        return Err(AwsError::validation(
            "An ALPN policy can only be specified for TLS listeners",
        ));
    }
    if alpn.len() > 1 || !ALPN_POLICIES.contains(&alpn[0].as_str()) {
        return Err(AwsError::validation(format!(
            "ALPN policy '{}' is not valid; it must be one of {}",
            alpn.join(", "),
            ALPN_POLICIES.join(", ")
        )));
    }
    Ok(alpn)
}

pub fn create<'t>(txn: &'t mut Txn, input: CreateInput) -> Result<ListenersOut<'t>, AwsError> {
    let lb = txn
        .config
        .load_balancers
        .get(&input.load_balancer_arn)
        .cloned()
        .ok_or_else(lb_not_found)?;
    let (protocol, port) = check_protocol_port(&lb.kind, input.protocol.as_deref(), input.port)?;
    let default_certificate = check_certificates(txn, &protocol, &input.certificates)?;
    let alpn_policy = check_alpn(&protocol, input.alpn_policy)?;
    if let Some(policy) = &input.ssl_policy {
        super::ssl_policies::check_exists(policy)?;
    }
    let mutual_authentication = match input.mutual_authentication {
        Some(m) => check_mutual_authentication(&protocol, m)?,
        None => None,
    };
    let default_actions = actions::parse(txn, input.default_actions, &protocol)?;
    if let Some(existing) = txn.config.listeners_of(&lb.arn).find(|l| l.port == port) {
        if existing.protocol == protocol && existing.default_actions == default_actions {
            let arn = existing.arn.clone();
            return Ok(ListenersOut {
                listeners: vec![render(stored(txn, &arn))],
                next_marker: None,
            });
        }
        return Err(AwsError::new(
            "DuplicateListener",
            400,
            "A listener already exists on this port for this load balancer",
        ));
    }
    if txn.config.listeners_of(&lb.arn).count() >= MAX_LISTENERS {
        return Err(AwsError::new(
            "TooManyListeners",
            400,
            "You've reached the limit on the number of listeners per load balancer",
        ));
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags)?;
    let attributes = super::attributes::listener_defaults(&protocol);
    // AWS's default for HTTPS and TLS listeners created through the API or CLI.
    let ssl_policy = input
        .ssl_policy
        .or_else(|| matches!(protocol.as_str(), "HTTPS" | "TLS").then(|| DEFAULT_SSL_POLICY.to_owned()));
    let listener = Listener {
        arn: txn.child_arn(&lb.arn, ":loadbalancer/", "listener"),
        load_balancer_arn: lb.arn.clone(),
        port,
        protocol,
        default_actions,
        certificates: default_certificate.into_iter().collect(),
        ssl_policy,
        alpn_policy,
        tags,
        attributes,
        mutual_authentication,
    };
    txn.touch(Kind::Listener, &listener.arn);
    let arn = listener.arn.clone();
    txn.config.listeners.insert(arn.clone(), Arc::new(listener));
    Ok(ListenersOut {
        listeners: vec![render(stored(txn, &arn))],
        next_marker: None,
    })
}

/// A listener in the operation's copy (what its answer shows, borrowed from it).
fn stored<'t>(txn: &'t Txn, arn: &str) -> &'t Listener {
    txn.config.listeners.get(arn).expect("the listener is stored")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    load_balancer_arn: Option<String>,
    listener_arns: Option<Vec<String>>,
    marker: Option<String>,
    page_size: Option<u32>,
}

pub fn describe<'t>(txn: &'t mut Txn, input: DescribeInput) -> Result<ListenersOut<'t>, AwsError> {
    let arns = input.listener_arns.filter(|v| !v.is_empty());
    let txn: &Txn = txn;
    let found: Vec<&Arc<Listener>> = match (&input.load_balancer_arn, arns) {
        (Some(_), Some(_)) => {
            return Err(AwsError::validation(
                "Listener ARNs and a load balancer ARN cannot be specified at the same time",
            ))
        }
        (None, None) => {
            return Err(AwsError::validation(
                "You must specify either listener ARNs or a load balancer ARN",
            ))
        }
        (Some(lb), None) => {
            if !txn.config.load_balancers.contains_key(lb) {
                return Err(lb_not_found());
            }
            let mut v: Vec<_> = txn
                .config
                .listeners
                .values()
                .filter(|l| l.load_balancer_arn == *lb)
                .collect();
            v.sort_by_key(|l| l.port);
            v
        }
        (None, Some(arns)) => {
            let mut v = Vec::new();
            for arn in arns {
                v.push(txn.config.listeners.get(&arn).ok_or_else(listener_not_found)?);
            }
            v
        }
    };
    let rendered: Vec<ListenerOut> = found.iter().map(|l| render(l)).collect();
    let (listeners, next_marker) = page(rendered, input.marker.as_deref(), input.page_size)?;
    Ok(ListenersOut { listeners, next_marker })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyInput {
    listener_arn: String,
    port: Option<u32>,
    protocol: Option<String>,
    ssl_policy: Option<String>,
    certificates: Option<Vec<CertificateIn>>,
    default_actions: Option<Vec<ActionIn>>,
    alpn_policy: Option<Vec<String>>,
    mutual_authentication: Option<MutualAuthenticationIn>,
}

pub fn modify<'t>(txn: &'t mut Txn, input: ModifyInput) -> Result<ListenersOut<'t>, AwsError> {
    let listener = txn
        .config
        .listeners
        .get(&input.listener_arn)
        .cloned()
        .ok_or_else(listener_not_found)?;
    let kind = txn
        .config
        .load_balancers
        .get(&listener.load_balancer_arn)
        .map_or_else(|| "application".to_string(), |lb| lb.kind.clone());
    let mut l = (*listener).clone();
    let (protocol, port) = if kind == "gateway" {
        check_protocol_port(&kind, input.protocol.as_deref(), input.port)?
    } else {
        let protocol = input.protocol.unwrap_or_else(|| l.protocol.clone());
        let port = input.port.unwrap_or(u32::from(l.port));
        check_protocol_port(&kind, Some(&protocol), Some(port))?
    };
    let secure = |p: &str| p == "HTTPS" || p == "TLS";
    let mut new_default_certificate = None;
    if secure(&protocol) && (input.certificates.is_some() || !secure(&l.protocol) || l.certificates.is_empty()) {
        new_default_certificate = check_certificates(txn, &protocol, input.certificates.as_deref().unwrap_or(&[]))?;
    }
    if port != l.port && txn.config.listeners_of(&l.load_balancer_arn).any(|o| o.port == port) {
        return Err(AwsError::new(
            "DuplicateListener",
            400,
            "A listener already exists on this port for this load balancer",
        ));
    }
    if input.alpn_policy.is_some() {
        l.alpn_policy = check_alpn(&protocol, input.alpn_policy)?;
    }
    if let Some(m) = input.mutual_authentication {
        l.mutual_authentication = check_mutual_authentication(&protocol, m)?;
    } else if protocol != "HTTPS" {
        l.mutual_authentication = None;
    }
    if protocol != l.protocol {
        l.attributes = super::attributes::listener_defaults(&protocol);
        if !secure(&protocol) {
            l.certificates.clear();
            l.ssl_policy = None;
        }
    }
    l.port = port;
    l.protocol = protocol;
    if let Some(arn) = new_default_certificate {
        // The new default replaces the old one; the other certificates stay.
        if !l.certificates.is_empty() {
            l.certificates.remove(0);
        }
        l.certificates.retain(|c| *c != arn);
        l.certificates.insert(0, arn);
    }
    if let Some(policy) = input.ssl_policy {
        super::ssl_policies::check_exists(&policy)?;
        l.ssl_policy = Some(policy);
    } else if secure(&l.protocol) && l.ssl_policy.is_none() {
        l.ssl_policy = Some(DEFAULT_SSL_POLICY.to_owned());
    }
    if let Some(actions) = input.default_actions.filter(|a| !a.is_empty()) {
        l.default_actions = actions::parse(txn, actions, &l.protocol)?;
    }
    txn.touch(Kind::Listener, &l.arn);
    let arn = l.arn.clone();
    txn.config.listeners.insert(arn.clone(), Arc::new(l));
    Ok(ListenersOut {
        listeners: vec![render(stored(txn, &arn))],
        next_marker: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    listener_arn: String,
}

pub fn delete(txn: &mut Txn, input: DeleteInput) -> Result<Empty, AwsError> {
    if !txn.config.listeners.contains_key(&input.listener_arn) {
        return Err(listener_not_found());
    }
    remove(txn, &input.listener_arn);
    Ok(Empty {})
}

/// Remove a listener and its rules.
pub fn remove(txn: &mut Txn, listener_arn: &str) {
    let rules: Vec<String> = txn.config.rules_of(listener_arn).map(|r| r.arn.clone()).collect();
    for r in rules {
        txn.config.rules.remove(&r);
        txn.touch(Kind::Rule, &r);
    }
    txn.config.listeners.remove(listener_arn);
    txn.touch(Kind::Listener, listener_arn);
}
