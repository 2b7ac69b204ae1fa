//! Query-protocol requests: `Action=...&Version=...&Param.member.1=...`.
//!
//! A request arrives as an `application/x-www-form-urlencoded` body (POST) or URL
//! query string (GET). [`QueryRequest`] folds its flat keys into a tree and
//! [`QueryRequest::decode`] deserializes that tree into any serde input type, so
//! every operation's input is a plain `#[derive(Deserialize)]` struct.

mod de;
mod tree;

use crate::{AwsError, Flavour};
use de::{DeError, NodeDe};
use tree::Node;

/// A parsed Query-protocol request: the operation, the API version and the
/// remaining parameters as a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    /// The `Action` parameter: the operation name, e.g. `CreateLoadBalancer`.
    pub action: String,
    /// The `Version` parameter, e.g. `2015-12-01`, when given.
    pub version: Option<String>,
    params: Node,
}

impl QueryRequest {
    /// Parses a form-encoded body.
    ///
    /// Fails with `MissingAction` (400) when there is no non-empty `Action`.
    pub fn parse(body: &[u8]) -> Result<QueryRequest, AwsError> {
        QueryRequest::from_parts(None, body)
    }

    /// Parses the URL query string and the form body together; a parameter given
    /// in both places takes the body's value.
    pub fn from_parts(query: Option<&str>, body: &[u8]) -> Result<QueryRequest, AwsError> {
        let mut params = Node::default();
        let query_pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes());
        for (key, value) in query_pairs.chain(form_urlencoded::parse(body)) {
            if !key.is_empty() {
                params.insert(&key, value.into_owned());
            }
        }
        let take = |params: &mut Node, name: &str| {
            params
                .children
                .remove(name)
                .and_then(|n| n.value)
                .filter(|v| !v.is_empty())
        };
        let action = take(&mut params, "Action")
            .ok_or_else(|| AwsError::new("MissingAction", 400, "The request must contain the parameter Action."))?;
        let version = take(&mut params, "Version");
        Ok(QueryRequest {
            action,
            version,
            params,
        })
    }

    /// Deserializes the parameters (everything but `Action` and `Version`) into
    /// `T`. Constraint failures and missing required parameters become
    /// `ValidationError`s naming the parameter.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, AwsError> {
        let de = NodeDe {
            node: &self.params,
            path: String::new(),
        };
        T::deserialize(de).map_err(|err| {
            let message = match err {
                DeError::MissingField(p) => missing(p),
                DeError::MissingParam(p) => missing(&p),
                DeError::Invalid(m) | DeError::Custom(m) => m,
            };
            AwsError::validation(format!("1 validation error detected: {message}"))
        })
    }

    /// The raw value of one parameter by its full dotted key, e.g.
    /// `Attributes.member.1.Key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).and_then(|n| n.value.as_deref())
    }

    /// The `InvalidAction` error for an operation this service does not know,
    /// worded as the flavour's service words it.
    pub fn unknown_action(&self, flavour: Flavour) -> AwsError {
        let message = match flavour {
            Flavour::Ec2 => format!("The action {} is not valid for this web service.", self.action),
            Flavour::Query | Flavour::RestXml => format!(
                "Could not find operation {} for version {}",
                self.action,
                self.version.as_deref().unwrap_or("NO_VERSION_SPECIFIED")
            ),
        };
        AwsError::new("InvalidAction", 400, message)
    }
}

fn missing(param: &str) -> String {
    format!("Value null at '{param}' failed to satisfy constraint: Member must not be null")
}

#[cfg(test)]
mod tests;
