//! Rule conditions: parsing `Conditions.member.N` with AWS's limits and character
//! rules, and rendering them as DescribeRules shows them.

use serde::{Deserialize, Serialize};

use std::fmt::Write as _;

use fulmar_aws::xml::{escape_into, Escaping};
use fulmar_aws::AwsError;
use fulmar_model::{Condition, QueryStringPair};
use ipnet::IpNet;

use super::xmlw;

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

/// A condition as the API shows it, borrowing its values from the stored [`Condition`]
/// (a listing of many rules copies nothing before it is written out).
#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionOut<'a> {
    field: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_header_config: Option<ValuesOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_pattern_config: Option<ValuesOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_header_config: Option<HttpHeaderOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_config: Option<QueryStringOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request_method_config: Option<ValuesOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ip_config: Option<SourceIpOut<'a>>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct ValuesOut<'a> {
    values: &'a [String],
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct HttpHeaderOut<'a> {
    http_header_name: &'a str,
    values: &'a [String],
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct QueryStringOut<'a> {
    values: PairsOut<'a>,
}

/// The key/value pairs, serialized straight from the stored list.
#[derive(Clone)]
struct PairsOut<'a>(&'a [QueryStringPair]);

impl Serialize for PairsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|p| KeyValueOut {
            key: p.key.as_deref(),
            value: &p.value,
        }))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyValueOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    value: &'a str,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct SourceIpOut<'a> {
    values: CidrsOut<'a>,
}

/// CIDR blocks, each written in its text form as it is serialized.
#[derive(Clone)]
struct CidrsOut<'a>(&'a [IpNet]);

impl Serialize for CidrsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|n| n.to_string()))
    }
}

impl ConditionOut<'_> {
    /// What serializing this as the Query protocol writes, written directly.
    pub fn write_xml(&self, out: &mut String) {
        let values = |out: &mut String, name: &str, values: &[String]| {
            xmlw::list(out, name, values, |out, v| escape_into(out, v));
        };
        let config = |out: &mut String, name: &str, v: &Option<ValuesOut>| {
            if let Some(v) = v {
                xmlw::start(out, name);
                values(out, "Values", v.values);
                xmlw::end(out, name);
            }
        };
        xmlw::text(out, "Field", self.field);
        if let Some(v) = self.values {
            values(out, "Values", v);
        }
        config(out, "HostHeaderConfig", &self.host_header_config);
        config(out, "PathPatternConfig", &self.path_pattern_config);
        if let Some(h) = &self.http_header_config {
            xmlw::start(out, "HttpHeaderConfig");
            xmlw::text(out, "HttpHeaderName", h.http_header_name);
            values(out, "Values", h.values);
            xmlw::end(out, "HttpHeaderConfig");
        }
        if let Some(q) = &self.query_string_config {
            xmlw::start(out, "QueryStringConfig");
            xmlw::list(out, "Values", q.values.0, |out, p| {
                if let Some(k) = &p.key {
                    xmlw::text(out, "Key", k);
                }
                xmlw::text(out, "Value", &p.value);
            });
            xmlw::end(out, "QueryStringConfig");
        }
        config(out, "HttpRequestMethodConfig", &self.http_request_method_config);
        if let Some(s) = &self.source_ip_config {
            xmlw::start(out, "SourceIpConfig");
            xmlw::list(out, "Values", s.values.0, |out, n| {
                let _ = write!(Escaping(out), "{n}");
            });
            xmlw::end(out, "SourceIpConfig");
        }
    }
}

/// Render conditions; `legacy[i]` true echoes condition i in the legacy `Values` form.
pub fn render<'a>(conditions: &'a [Condition], legacy: &[bool]) -> Vec<ConditionOut<'a>> {
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
                        out.values = Some(v);
                    } else {
                        out.host_header_config = Some(ValuesOut { values: v });
                    }
                }
                Condition::PathPattern(v) => {
                    out.field = "path-pattern";
                    if legacy {
                        out.values = Some(v);
                    } else {
                        out.path_pattern_config = Some(ValuesOut { values: v });
                    }
                }
                Condition::HttpHeader { name, values } => {
                    out.field = "http-header";
                    out.http_header_config = Some(HttpHeaderOut {
                        http_header_name: name,
                        values,
                    });
                }
                Condition::QueryString(pairs) => {
                    out.field = "query-string";
                    out.query_string_config = Some(QueryStringOut {
                        values: PairsOut(pairs),
                    });
                }
                Condition::HttpRequestMethod(v) => {
                    out.field = "http-request-method";
                    out.http_request_method_config = Some(ValuesOut { values: v });
                }
                Condition::SourceIp(v) => {
                    out.field = "source-ip";
                    out.source_ip_config = Some(SourceIpOut { values: CidrsOut(v) });
                }
            }
            out
        })
        .collect()
}
