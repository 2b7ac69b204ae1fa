//! CreateListener, DescribeListeners, ModifyListener, DeleteListener.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
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
    certificate_arn: Option<String>,
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
    #[serde(default)]
    tags: Vec<TagIn>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListenersOut {
    listeners: Vec<ListenerOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ListenerOut {
    listener_arn: String,
    load_balancer_arn: String,
    port: u16,
    protocol: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    certificates: Vec<CertificateOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssl_policy: Option<String>,
    default_actions: Vec<ActionOut>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct CertificateOut {
    certificate_arn: String,
}

fn render(l: &Listener) -> ListenerOut {
    ListenerOut {
        listener_arn: l.arn.clone(),
        load_balancer_arn: l.load_balancer_arn.clone(),
        port: l.port,
        protocol: l.protocol.clone(),
        certificates: l
            .certificates
            .iter()
            .map(|c| CertificateOut {
                certificate_arn: c.clone(),
            })
            .collect(),
        ssl_policy: l.ssl_policy.clone(),
        default_actions: actions::render(&l.default_actions),
    }
}

fn check_protocol_port(protocol: &str, port: u32, certificates: &[CertificateIn]) -> Result<(), AwsError> {
    if !(1..=65535).contains(&port) {
        return Err(AwsError::validation(format!(
            "Port '{port}' must be between 1 and 65535"
        )));
    }
    match protocol {
        "HTTP" => Ok(()),
        "HTTPS" => {
            // Certificates come with ACM; until then no certificate ARN can be found.
            match certificates.iter().find_map(|c| c.certificate_arn.clone()) {
                None => Err(AwsError::validation(
                    "A certificate must be specified for HTTPS listeners",
                )),
                Some(arn) => Err(AwsError::new(
                    "CertificateNotFound",
                    400,
                    format!("Certificate '{arn}' not found"),
                )),
            }
        }
        "TCP" | "TLS" | "UDP" | "TCP_UDP" | "GENEVE" | "QUIC" | "TCP_QUIC" => Err(AwsError::new(
            "IncompatibleProtocols",
            400,
            format!("Listener protocol '{protocol}' must be one of 'HTTPS, HTTP'"),
        )),
        other => Err(AwsError::validation(format!(
            "Listener protocol '{other}' is not valid"
        ))),
    }
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<ListenersOut, AwsError> {
    let lb = txn
        .config
        .load_balancers
        .get(&input.load_balancer_arn)
        .cloned()
        .ok_or_else(lb_not_found)?;
    let protocol = input.protocol.unwrap_or_else(|| "HTTP".into());
    let port = input
        .port
        .ok_or_else(|| AwsError::validation("A listener port must be specified"))?;
    check_protocol_port(&protocol, port, &input.certificates)?;
    let port = port as u16;
    let default_actions = actions::parse(txn, input.default_actions, &protocol)?;
    if let Some(existing) = txn.config.listeners_of(&lb.arn).find(|l| l.port == port) {
        if existing.protocol == protocol && existing.default_actions == default_actions {
            return Ok(ListenersOut {
                listeners: vec![render(existing)],
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
    let listener = Listener {
        arn: txn.child_arn(&lb.arn, ":loadbalancer/", "listener"),
        load_balancer_arn: lb.arn.clone(),
        port,
        protocol,
        default_actions,
        certificates: Vec::new(),
        ssl_policy: input.ssl_policy,
        alpn_policy: Vec::new(),
        tags,
    };
    let out = render(&listener);
    txn.touch(Kind::Listener, &listener.arn);
    txn.config.listeners.insert(listener.arn.clone(), Arc::new(listener));
    Ok(ListenersOut {
        listeners: vec![out],
        next_marker: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    load_balancer_arn: Option<String>,
    listener_arns: Option<Vec<String>>,
    marker: Option<String>,
    page_size: Option<u32>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<ListenersOut, AwsError> {
    let arns = input.listener_arns.filter(|v| !v.is_empty());
    let found: Vec<Arc<Listener>> = match (&input.load_balancer_arn, arns) {
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
            let mut v: Vec<_> = txn.config.listeners_of(lb).cloned().collect();
            v.sort_by_key(|l| l.port);
            v
        }
        (None, Some(arns)) => {
            let mut v = Vec::new();
            for arn in arns {
                v.push(txn.config.listeners.get(&arn).cloned().ok_or_else(listener_not_found)?);
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
    #[serde(default)]
    certificates: Vec<CertificateIn>,
    default_actions: Option<Vec<ActionIn>>,
}

pub fn modify(txn: &mut Txn, input: ModifyInput) -> Result<ListenersOut, AwsError> {
    let listener = txn
        .config
        .listeners
        .get(&input.listener_arn)
        .cloned()
        .ok_or_else(listener_not_found)?;
    let mut l = (*listener).clone();
    let protocol = input.protocol.unwrap_or_else(|| l.protocol.clone());
    let port = input.port.unwrap_or(u32::from(l.port));
    check_protocol_port(&protocol, port, &input.certificates)?;
    let port = port as u16;
    if port != l.port && txn.config.listeners_of(&l.load_balancer_arn).any(|o| o.port == port) {
        return Err(AwsError::new(
            "DuplicateListener",
            400,
            "A listener already exists on this port for this load balancer",
        ));
    }
    l.port = port;
    l.protocol = protocol;
    if input.ssl_policy.is_some() {
        l.ssl_policy = input.ssl_policy;
    }
    if let Some(actions) = input.default_actions.filter(|a| !a.is_empty()) {
        l.default_actions = actions::parse(txn, actions, &l.protocol)?;
    }
    let out = render(&l);
    txn.touch(Kind::Listener, &l.arn);
    txn.config.listeners.insert(l.arn.clone(), Arc::new(l));
    Ok(ListenersOut {
        listeners: vec![out],
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
