//! Listener and rule actions: parsing `Actions.member.N` into the model with AWS's
//! checks, and rendering them back as DescribeListeners/DescribeRules show them.

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Action, ActionKind, FixedResponseConfig, ForwardConfig, RedirectConfig, WeightedTargetGroup};

use super::xmlw;
use crate::Txn;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionIn {
    #[serde(rename = "Type")]
    kind: String,
    target_group_arn: Option<String>,
    order: Option<u32>,
    redirect_config: Option<RedirectIn>,
    fixed_response_config: Option<FixedIn>,
    forward_config: Option<ForwardIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RedirectIn {
    protocol: Option<String>,
    port: Option<String>,
    host: Option<String>,
    path: Option<String>,
    query: Option<String>,
    status_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FixedIn {
    message_body: Option<String>,
    status_code: Option<String>,
    content_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForwardIn {
    #[serde(default)]
    target_groups: Vec<TupleIn>,
    target_group_stickiness_config: Option<StickinessIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TupleIn {
    target_group_arn: Option<String>,
    weight: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StickinessIn {
    enabled: Option<bool>,
    duration_seconds: Option<u32>,
}

const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

/// Parse and check a list of actions for an ALB listener or rule.
pub fn parse(txn: &Txn, input: Vec<ActionIn>, listener_protocol: &str) -> Result<Vec<Action>, AwsError> {
    // botocore sends an empty list as `Actions=`; AWS requires at least one action
    // (`DefaultActions` and `Actions` are required members).
    if input.is_empty() {
        return Err(AwsError::validation("At least one action must be specified"));
    }
    if input.len() > 5 {
        return Err(AwsError::new(
            "TooManyActions",
            400,
            "You've reached the limit on the number of actions per rule",
        ));
    }
    let mut actions = Vec::new();
    for (i, a) in input.into_iter().enumerate() {
        let order = match a.order {
            Some(o) if !(1..=50000).contains(&o) => {
                return Err(AwsError::validation(format!(
                    "Action order '{o}' must be between 1 and 50000"
                )));
            }
            Some(o) => o,
            None => i as u32 + 1,
        };
        if !matches!(listener_protocol, "HTTP" | "HTTPS") && a.kind != "forward" {
            return Err(AwsError::new(
                "InvalidLoadBalancerAction",
                400,
                format!(
                    "Action type '{}' is not supported for listeners with the protocol '{listener_protocol}'",
                    a.kind
                ),
            ));
        }
        let kind = match a.kind.as_str() {
            "forward" => ActionKind::Forward(parse_forward(
                txn,
                a.target_group_arn,
                a.forward_config,
                listener_protocol,
            )?),
            "redirect" => {
                let cfg = a.redirect_config.ok_or_else(|| {
                    AwsError::validation("A redirect configuration must be specified for a redirect action")
                })?;
                ActionKind::Redirect(parse_redirect(cfg, listener_protocol)?)
            }
            "fixed-response" => {
                let cfg = a.fixed_response_config.ok_or_else(|| {
                    AwsError::validation("A fixed response configuration must be specified for a fixed-response action")
                })?;
                ActionKind::FixedResponse(parse_fixed(cfg)?)
            }
            "authenticate-oidc" | "authenticate-cognito" => {
                return Err(AwsError::new(
                    "InvalidLoadBalancerAction",
                    400,
                    format!("An '{}' action is only supported on HTTPS listeners", a.kind),
                ));
            }
            other => return Err(AwsError::validation(format!("Action type '{other}' is not valid"))),
        };
        actions.push(Action {
            order: Some(order),
            kind,
        });
    }
    actions.sort_by_key(|a| a.order);
    if actions.windows(2).any(|w| w[0].order == w[1].order) {
        return Err(AwsError::validation("Action orders must be unique"));
    }
    // Exactly one terminal action, and it comes last.
    let terminal = actions
        .iter()
        .filter(|a| {
            matches!(
                a.kind,
                ActionKind::Forward(_) | ActionKind::Redirect(_) | ActionKind::FixedResponse(_)
            )
        })
        .count();
    if terminal != 1 {
        return Err(AwsError::new(
            "InvalidLoadBalancerAction",
            400,
            "Exactly one of the following action types must be specified: forward, redirect, fixed-response",
        ));
    }
    Ok(actions)
}

/// Target-group protocols a listener of `listener_protocol` can forward to.
fn compatible_target_protocols(listener_protocol: &str) -> &'static [&'static str] {
    match listener_protocol {
        "HTTP" | "HTTPS" => &["HTTP", "HTTPS"],
        "TCP" => &["TCP", "TCP_UDP"],
        "TLS" => &["TCP", "TLS"],
        "UDP" => &["UDP", "TCP_UDP"],
        "TCP_UDP" => &["TCP_UDP"],
        "GENEVE" => &["GENEVE"],
        _ => &[],
    }
}

fn parse_forward(
    txn: &Txn,
    arn: Option<String>,
    cfg: Option<ForwardIn>,
    listener_protocol: &str,
) -> Result<ForwardConfig, AwsError> {
    let (single, groups, stickiness) = match (arn, cfg) {
        (None, None) => {
            return Err(AwsError::validation(
                "A target group ARN or a forward configuration must be specified for a forward action",
            ))
        }
        (Some(arn), None) => (true, vec![WeightedTargetGroup { arn, weight: 1 }], None),
        (arn, Some(cfg)) => {
            if cfg.target_groups.is_empty() {
                return Err(AwsError::validation(
                    "A forward configuration must contain at least one target group",
                ));
            }
            if cfg.target_groups.len() > 5 {
                return Err(AwsError::new(
                    "TooManyTargetGroups",
                    400,
                    "A forward action can have at most 5 target groups",
                ));
            }
            let mut groups = Vec::new();
            for t in cfg.target_groups {
                let tg = t
                    .target_group_arn
                    .ok_or_else(|| AwsError::validation("A target group ARN must be specified"))?;
                let weight = t.weight.unwrap_or(1);
                if weight > 999 {
                    return Err(AwsError::validation(format!(
                        "Target group weight '{weight}' must be between 0 and 999"
                    )));
                }
                if groups.iter().any(|g: &WeightedTargetGroup| g.arn == tg) {
                    return Err(AwsError::validation(format!(
                        "Target group '{tg}' is specified more than once"
                    )));
                }
                groups.push(WeightedTargetGroup { arn: tg, weight });
            }
            if let Some(single) = &arn {
                if groups.len() != 1 || &groups[0].arn != single {
                    return Err(AwsError::validation("You cannot specify a target group ARN both in the action and in the forward configuration unless they match"));
                }
            }
            let stickiness = match cfg.target_group_stickiness_config {
                Some(StickinessIn {
                    enabled: Some(true),
                    duration_seconds,
                }) => {
                    let d = duration_seconds.ok_or_else(|| {
                        AwsError::validation("A duration must be specified when target group stickiness is enabled")
                    })?;
                    if !(1..=604_800).contains(&d) {
                        return Err(AwsError::validation(
                            "Target group stickiness duration must be between 1 and 604800 seconds",
                        ));
                    }
                    Some(d)
                }
                _ => None,
            };
            (arn.is_some(), groups, stickiness)
        }
    };
    for g in &groups {
        let tg = txn.config.target_groups.get(&g.arn).ok_or_else(|| {
            AwsError::new(
                "TargetGroupNotFound",
                400,
                format!("Target group '{}' not found", g.arn),
            )
        })?;
        let ok = match tg.protocol.as_deref() {
            // Lambda target groups have no protocol; only an ALB can forward to them.
            None => matches!(listener_protocol, "HTTP" | "HTTPS"),
            Some(p) => compatible_target_protocols(listener_protocol).contains(&p),
        };
        if !ok {
            return Err(AwsError::new(
                "IncompatibleProtocols",
                400,
                format!(
                    "The protocol of target group '{}' is not compatible with the listener protocol '{listener_protocol}'",
                    g.arn
                ),
            ));
        }
    }
    Ok(ForwardConfig {
        single,
        target_groups: groups,
        stickiness_seconds: stickiness,
    })
}

fn parse_redirect(cfg: RedirectIn, listener_protocol: &str) -> Result<RedirectConfig, AwsError> {
    let status_code = cfg
        .status_code
        .ok_or_else(|| AwsError::validation("A status code must be specified for a redirect action"))?;
    if status_code != "HTTP_301" && status_code != "HTTP_302" {
        return Err(AwsError::validation(format!(
            "Redirect status code '{status_code}' is not valid; it must be HTTP_301 or HTTP_302"
        )));
    }
    let protocol = cfg.protocol.unwrap_or_else(|| "#{protocol}".into());
    if !matches!(protocol.as_str(), "HTTP" | "HTTPS" | "#{protocol}") {
        return Err(AwsError::validation(format!(
            "Redirect protocol '{protocol}' is not valid; it must be HTTP, HTTPS or #{{protocol}}"
        )));
    }
    if listener_protocol == "HTTPS" && protocol == "HTTP" {
        return Err(AwsError::new(
            "InvalidLoadBalancerAction",
            400,
            "You cannot redirect from HTTPS to HTTP",
        ));
    }
    let port = cfg.port.unwrap_or_else(|| "#{port}".into());
    if port != "#{port}" && !port.parse::<u16>().is_ok_and(|p| p >= 1) {
        return Err(AwsError::validation(format!("Redirect port '{port}' is not valid")));
    }
    let host = cfg.host.unwrap_or_else(|| "#{host}".into());
    if host.is_empty() || host.len() > 128 {
        return Err(AwsError::validation(
            "Redirect host must be between 1 and 128 characters",
        ));
    }
    let path = cfg.path.unwrap_or_else(|| "/#{path}".into());
    if !path.starts_with('/') || path.len() > 128 {
        return Err(AwsError::validation(
            "Redirect path must start with a '/' and be at most 128 characters",
        ));
    }
    let query = cfg.query.unwrap_or_else(|| "#{query}".into());
    if query.len() > 128 || query.starts_with('?') {
        return Err(AwsError::validation(
            "Redirect query must be at most 128 characters and must not start with '?'",
        ));
    }
    let unchanged = protocol == "#{protocol}"
        && port == "#{port}"
        && host == "#{host}"
        && path == "/#{path}"
        && query == "#{query}";
    if unchanged {
        return Err(AwsError::new(
            "InvalidLoadBalancerAction",
            400,
            "The redirect must change at least one of the following components: protocol, port, host, path, query",
        ));
    }
    Ok(RedirectConfig {
        protocol,
        port,
        host,
        path,
        query,
        status_code,
    })
}

fn parse_fixed(cfg: FixedIn) -> Result<FixedResponseConfig, AwsError> {
    let status_code = cfg
        .status_code
        .ok_or_else(|| AwsError::validation("A status code must be specified for a fixed-response action"))?;
    let b = status_code.as_bytes();
    if !(b.len() == 3 && matches!(b[0], b'2' | b'4' | b'5') && b[1].is_ascii_digit() && b[2].is_ascii_digit()) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{status_code}' at 'actions.1.member.fixedResponseConfig.statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$"
        )));
    }
    if let Some(ct) = &cfg.content_type {
        if !CONTENT_TYPES.contains(&ct.as_str()) {
            return Err(AwsError::new(
                "InvalidLoadBalancerAction",
                400,
                format!(
                    "Content type '{ct}' is not valid; it must be one of {}",
                    CONTENT_TYPES.join(", ")
                ),
            ));
        }
    }
    if cfg.message_body.as_ref().is_some_and(|b| b.chars().count() > 1024) {
        return Err(AwsError::validation(
            "The message body of a fixed-response action can be at most 1024 characters",
        ));
    }
    Ok(FixedResponseConfig {
        status_code,
        content_type: cfg.content_type,
        message_body: cfg.message_body,
    })
}

/// An action as the API shows it, borrowing every string from the stored [`Action`]
/// (a listing of many rules copies nothing before it is written out).
#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ActionOut<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_group_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_config: Option<RedirectOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed_response_config: Option<FixedOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forward_config: Option<ForwardOut<'a>>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct RedirectOut<'a> {
    protocol: &'a str,
    port: &'a str,
    host: &'a str,
    path: &'a str,
    query: &'a str,
    status_code: &'a str,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct FixedOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    message_body: Option<&'a str>,
    status_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct ForwardOut<'a> {
    target_groups: TuplesOut<'a>,
    target_group_stickiness_config: StickinessOut,
}

/// The weighted target groups, serialized straight from the stored list.
#[derive(Clone)]
struct TuplesOut<'a>(&'a [WeightedTargetGroup]);

impl Serialize for TuplesOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|t| TupleOut {
            target_group_arn: &t.arn,
            weight: t.weight,
        }))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TupleOut<'a> {
    target_group_arn: &'a str,
    weight: u32,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct StickinessOut {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_seconds: Option<u32>,
}

impl ActionOut<'_> {
    /// What serializing this as the Query protocol writes, written directly.
    pub fn write_xml(&self, out: &mut String) {
        xmlw::text(out, "Type", self.kind);
        if let Some(arn) = self.target_group_arn {
            xmlw::text(out, "TargetGroupArn", arn);
        }
        if let Some(order) = self.order {
            xmlw::value(out, "Order", order);
        }
        if let Some(r) = &self.redirect_config {
            xmlw::start(out, "RedirectConfig");
            xmlw::text(out, "Protocol", r.protocol);
            xmlw::text(out, "Port", r.port);
            xmlw::text(out, "Host", r.host);
            xmlw::text(out, "Path", r.path);
            xmlw::text(out, "Query", r.query);
            xmlw::text(out, "StatusCode", r.status_code);
            xmlw::end(out, "RedirectConfig");
        }
        if let Some(f) = &self.fixed_response_config {
            xmlw::start(out, "FixedResponseConfig");
            if let Some(body) = f.message_body {
                xmlw::text(out, "MessageBody", body);
            }
            xmlw::text(out, "StatusCode", f.status_code);
            if let Some(t) = f.content_type {
                xmlw::text(out, "ContentType", t);
            }
            xmlw::end(out, "FixedResponseConfig");
        }
        if let Some(f) = &self.forward_config {
            xmlw::start(out, "ForwardConfig");
            xmlw::list(out, "TargetGroups", f.target_groups.0, |out, t| {
                xmlw::text(out, "TargetGroupArn", &t.arn);
                xmlw::value(out, "Weight", t.weight);
            });
            let s = &f.target_group_stickiness_config;
            xmlw::start(out, "TargetGroupStickinessConfig");
            xmlw::value(out, "Enabled", s.enabled);
            if let Some(d) = s.duration_seconds {
                xmlw::value(out, "DurationSeconds", d);
            }
            xmlw::end(out, "TargetGroupStickinessConfig");
            xmlw::end(out, "ForwardConfig");
        }
    }
}

pub fn render(actions: &[Action]) -> Vec<ActionOut<'_>> {
    actions.iter().map(render_one).collect()
}

fn render_one(a: &Action) -> ActionOut<'_> {
    let mut out = ActionOut {
        kind: "forward",
        target_group_arn: None,
        order: a.order,
        redirect_config: None,
        fixed_response_config: None,
        forward_config: None,
    };
    match &a.kind {
        ActionKind::Forward(f) => {
            // TargetGroupArn is echoed when the request named one; ForwardConfig always.
            if f.single && f.target_groups.len() == 1 {
                out.target_group_arn = Some(&f.target_groups[0].arn);
            }
            out.forward_config = Some(ForwardOut {
                target_groups: TuplesOut(&f.target_groups),
                target_group_stickiness_config: StickinessOut {
                    enabled: f.stickiness_seconds.is_some(),
                    duration_seconds: f.stickiness_seconds,
                },
            });
        }
        ActionKind::Redirect(r) => {
            out.kind = "redirect";
            out.redirect_config = Some(RedirectOut {
                protocol: &r.protocol,
                port: &r.port,
                host: &r.host,
                path: &r.path,
                query: &r.query,
                status_code: &r.status_code,
            });
        }
        ActionKind::FixedResponse(f) => {
            out.kind = "fixed-response";
            out.fixed_response_config = Some(FixedOut {
                message_body: f.message_body.as_deref(),
                status_code: &f.status_code,
                content_type: f.content_type.as_deref(),
            });
        }
    }
    out
}
