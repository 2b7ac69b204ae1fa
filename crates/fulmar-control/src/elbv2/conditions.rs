//! Rule conditions: parsing `Conditions.member.N` with AWS's limits and character
//! rules, and rendering them as DescribeRules shows them.

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Condition, QueryStringPair};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionIn {
    field: Option<String>,
    values: Option<Vec<String>>,
    host_header_config: Option<ValuesIn>,
    path_pattern_config: Option<ValuesIn>,
    http_header_config: Option<HttpHeaderIn>,
    query_string_config: Option<QueryStringIn>,
    http_request_method_config: Option<ValuesIn>,
    source_ip_config: Option<ValuesIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValuesIn {
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpHeaderIn {
    http_header_name: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStringIn {
    #[serde(default)]
    values: Vec<KeyValueIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyValueIn {
    key: Option<String>,
    value: Option<String>,
}

/// Condition values per rule, in total.
const MAX_VALUES: usize = 5;
/// Wildcards per rule, in total.
const MAX_WILDCARDS: usize = 5;

/// The values of a host-header or path-pattern condition, given either as the legacy
/// `Values` (one value) or as the `*Config` form; true when the legacy form was used.
fn values_of(
    field: &str,
    legacy: Option<Vec<String>>,
    config: Option<ValuesIn>,
) -> Result<(Vec<String>, bool), AwsError> {
    let (values, legacy) = match (legacy, config) {
        (Some(v), Some(_)) if !v.is_empty() => {
            return Err(AwsError::validation(format!(
                "You cannot specify both 'Values' and a configuration for condition field '{field}'"
            )))
        }
        (_, Some(c)) => (c.values, false),
        (Some(v), None) => (v, true),
        (None, None) => (Vec::new(), true),
    };
    if legacy && values.len() > 1 {
        return Err(AwsError::validation(format!(
            "The '{field}' field contains too many values; the limit is '1'"
        )));
    }
    if values.is_empty() {
        return Err(AwsError::validation("A condition value must be specified"));
    }
    Ok((values, legacy))
}

fn too_long(name: &str, value: &str, max: usize) -> Result<(), AwsError> {
    if value.chars().count() > max {
        return Err(AwsError::validation(format!(
            "The '{name}' value is too long; the limit is '{max}'"
        )));
    }
    Ok(())
}

fn check_chars(field: &str, value: &str, allowed: impl Fn(char) -> bool, max: usize) -> Result<(), AwsError> {
    too_long(field, value, max)?;
    if value.is_empty() || !value.chars().all(allowed) {
        return Err(AwsError::validation(format!(
            "Condition value '{value}' is not valid for field '{field}'"
        )));
    }
    Ok(())
}

fn config_missing(config: &str, field: &str) -> AwsError {
    AwsError::validation(format!("A '{config}' must be specified with '{field}'"))
}

fn wildcards(s: &str) -> usize {
    s.chars().filter(|c| *c == '*' || *c == '?').count()
}

/// Parse and check a rule's conditions; each comes with whether it used the legacy `Values`.
pub fn parse(input: Vec<ConditionIn>) -> Result<Vec<(Condition, bool)>, AwsError> {
    let mut out: Vec<(Condition, bool)> = Vec::new();
    let (mut total, mut wild) = (0usize, 0usize);
    for c in input {
        let field = c
            .field
            .ok_or_else(|| AwsError::validation("A condition field must be specified"))?;
        let mut legacy = false;
        let condition =
            match field.as_str() {
                "host-header" => {
                    let (v, l) = values_of(&field, c.values, c.host_header_config)?;
                    legacy = l;
                    for x in &v {
                        check_chars(&field, x, |ch| ch.is_ascii_alphanumeric() || "-.*?_".contains(ch), 128)?;
                    }
                    Condition::HostHeader(v)
                }
                "path-pattern" => {
                    let (v, l) = values_of(&field, c.values, c.path_pattern_config)?;
                    legacy = l;
                    for x in &v {
                        check_chars(
                            &field,
                            x,
                            |ch| ch.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?;%=,!()[]{}#".contains(ch),
                            128,
                        )?;
                    }
                    Condition::PathPattern(v)
                }
                "http-header" => {
                    let cfg = c
                        .http_header_config
                        .ok_or_else(|| config_missing("HttpHeaderConfig", &field))?;
                    let name = cfg.http_header_name.ok_or_else(|| {
                        AwsError::validation("A 'HttpHeaderName' must be specified in 'HttpHeaderConfig'")
                    })?;
                    too_long("HttpHeaderName", &name, 40)?;
                    if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_".contains(ch)) {
                        return Err(AwsError::validation(format!("HTTP header name '{name}' is not valid")));
                    }
                    if name.eq_ignore_ascii_case("host") {
                        return Err(AwsError::validation(
                            "Use a host-header condition to match the Host header",
                        ));
                    }
                    if cfg.values.is_empty() {
                        return Err(AwsError::validation("A condition value must be specified"));
                    }
                    for x in &cfg.values {
                        check_chars(&field, x, |ch| !ch.is_control(), 128)?;
                    }
                    Condition::HttpHeader {
                        name,
                        values: cfg.values,
                    }
                }
                "query-string" => {
                    let cfg = c
                        .query_string_config
                        .ok_or_else(|| config_missing("QueryStringConfig", &field))?;
                    if cfg.values.is_empty() {
                        return Err(AwsError::validation("A condition value must be specified"));
                    }
                    let mut pairs = Vec::new();
                    for kv in cfg.values {
                        let value = kv.value.ok_or_else(|| {
                            AwsError::validation("A 'Value' must be specified in 'QueryStringKeyValuePair'")
                        })?;
                        check_chars("Value", &value, |ch| !ch.is_control(), 128)?;
                        if let Some(k) = &kv.key {
                            check_chars("Key", k, |ch| !ch.is_control(), 128)?;
                        }
                        pairs.push(QueryStringPair { key: kv.key, value });
                    }
                    Condition::QueryString(pairs)
                }
                "http-request-method" => {
                    let cfg = c
                        .http_request_method_config
                        .ok_or_else(|| config_missing("HttpRequestMethodConfig", &field))?;
                    if cfg.values.is_empty() {
                        return Err(AwsError::validation("A condition value must be specified"));
                    }
                    for x in &cfg.values {
                        too_long(&field, x, 40)?;
                        if x.is_empty() || !x.chars().all(|ch| ch.is_ascii_uppercase() || ch == '-' || ch == '_') {
                            return Err(AwsError::validation(format!(
                                "The '{field}' value is invalid; the allowed characters are A-Z, hyphen and underscore"
                            )));
                        }
                    }
                    Condition::HttpRequestMethod(cfg.values)
                }
                "source-ip" => {
                    let cfg = c
                        .source_ip_config
                        .ok_or_else(|| config_missing("SourceIpConfig", &field))?;
                    if cfg.values.is_empty() {
                        return Err(AwsError::validation(format!("A '{field}' value must be specified")));
                    }
                    let mut nets = Vec::new();
                    for x in &cfg.values {
                        nets.push(x.parse().map_err(|_| {
                            AwsError::validation(format!("The source IP '{x}' is not a valid CIDR block"))
                        })?);
                    }
                    Condition::SourceIp(nets)
                }
                other => return Err(AwsError::validation(format!("Condition field '{other}' is not valid"))),
            };
        let (n, w) = count(&condition);
        total += n;
        wild += w;
        let unique = matches!(
            condition,
            Condition::HostHeader(_)
                | Condition::PathPattern(_)
                | Condition::HttpRequestMethod(_)
                | Condition::SourceIp(_)
        );
        if unique
            && out
                .iter()
                .any(|(o, _)| std::mem::discriminant(o) == std::mem::discriminant(&condition))
        {
            return Err(AwsError::validation(format!(
                "A rule can only have one '{field}' condition"
            )));
        }
        out.push((condition, legacy));
    }
    if total > MAX_VALUES {
        return Err(AwsError::validation(format!(
            "A rule can only have '{MAX_VALUES}' condition values"
        )));
    }
    if wild > MAX_WILDCARDS {
        return Err(AwsError::validation(format!(
            "A rule can only have '{MAX_WILDCARDS}' wildcards"
        )));
    }
    Ok(out)
}

/// (values, wildcards) of a condition, as the per-rule limits count them.
fn count(c: &Condition) -> (usize, usize) {
    match c {
        Condition::HostHeader(v) | Condition::PathPattern(v) => (v.len(), v.iter().map(|s| wildcards(s)).sum()),
        Condition::HttpHeader { values, .. } => (values.len(), values.iter().map(|s| wildcards(s)).sum()),
        Condition::QueryString(p) => (
            p.len(),
            p.iter()
                .map(|kv| wildcards(&kv.value) + kv.key.as_deref().map_or(0, wildcards))
                .sum(),
        ),
        Condition::HttpRequestMethod(v) => (v.len(), 0),
        Condition::SourceIp(v) => (v.len(), 0),
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionOut {
    field: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_header_config: Option<ValuesOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_pattern_config: Option<ValuesOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_header_config: Option<HttpHeaderOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_config: Option<QueryStringOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request_method_config: Option<ValuesOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ip_config: Option<ValuesOut>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct ValuesOut {
    values: Vec<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct HttpHeaderOut {
    http_header_name: String,
    values: Vec<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct QueryStringOut {
    values: Vec<KeyValueOut>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct KeyValueOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    value: String,
}

/// Render conditions; `legacy[i]` true echoes condition i in the legacy `Values` form.
pub fn render(conditions: &[Condition], legacy: &[bool]) -> Vec<ConditionOut> {
    conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let legacy = legacy.get(i).copied().unwrap_or(false);
            let mut out = ConditionOut {
                field: "",
                values: None,
                host_header_config: None,
                path_pattern_config: None,
                http_header_config: None,
                query_string_config: None,
                http_request_method_config: None,
                source_ip_config: None,
            };
            match c {
                Condition::HostHeader(v) => {
                    out.field = "host-header";
                    if legacy {
                        out.values = Some(v.clone());
                    } else {
                        out.host_header_config = Some(ValuesOut { values: v.clone() });
                    }
                }
                Condition::PathPattern(v) => {
                    out.field = "path-pattern";
                    if legacy {
                        out.values = Some(v.clone());
                    } else {
                        out.path_pattern_config = Some(ValuesOut { values: v.clone() });
                    }
                }
                Condition::HttpHeader { name, values } => {
                    out.field = "http-header";
                    out.http_header_config = Some(HttpHeaderOut {
                        http_header_name: name.clone(),
                        values: values.clone(),
                    });
                }
                Condition::QueryString(pairs) => {
                    out.field = "query-string";
                    out.query_string_config = Some(QueryStringOut {
                        values: pairs
                            .iter()
                            .map(|p| KeyValueOut {
                                key: p.key.clone(),
                                value: p.value.clone(),
                            })
                            .collect(),
                    });
                }
                Condition::HttpRequestMethod(v) => {
                    out.field = "http-request-method";
                    out.http_request_method_config = Some(ValuesOut { values: v.clone() });
                }
                Condition::SourceIp(v) => {
                    out.field = "source-ip";
                    out.source_ip_config = Some(ValuesOut {
                        values: v.iter().map(|n| n.to_string()).collect(),
                    });
                }
            }
            out
        })
        .collect()
}
