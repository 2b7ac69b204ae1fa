//! The `rest-xml` protocol (Route 53): operations bound to HTTP methods and URI
//! templates, inputs gathered from the path, the query string and an XML body.
//!
//! A service lists its operations as a table of [`Route`]s taken from its model's
//! `http` bindings (`GET /2013-04-01/hostedzone/{Id}/rrset`). [`RestRequest::parse`]
//! finds the route, and folds everything the request carries into one element
//! tree: the body's root element, plus one leaf per URI label (`Id`) and per
//! query parameter (`maxitems`). [`RestRequest::decode`] deserializes that tree
//! into any serde input type whose field names are the wire names: body members
//! by element name, URI labels by label, query parameters by their key. Lists are
//! wrapper elements whose children are the items, whatever their names.
//!
//! Responses are rendered by [`crate::xml::response`] with [`crate::Flavour::RestXml`].

mod de;
mod element;
#[cfg(test)]
mod tests;

use crate::AwsError;
use std::borrow::Cow;

use de::{DeError, ElementDe, Path};
use element::Tree;
use percent_encoding::percent_decode_str;

/// One operation's HTTP binding, as its service model states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`, `DELETE`, ...
    pub method: &'static str,
    /// The request-URI template: literal segments, `{Label}` for one segment,
    /// `{Label+}` for the rest of the path. A trailing `/` is insignificant.
    pub template: &'static str,
    /// The operation name, e.g. `ListResourceRecordSets`.
    pub operation: &'static str,
    /// The HTTP status of a successful response (200, or 201 for creations).
    pub status: u16,
}

impl Route {
    /// The URI labels of `path` when it matches this route's template.
    fn matches(&self, method: &str, path: &str) -> Option<Vec<(&'static str, String)>> {
        if !self.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let mut want = segments(self.template);
        let mut have = segments(path);
        let mut labels = Vec::new();
        loop {
            match (want.next(), have.next()) {
                (None, None) => return Some(labels),
                (Some(w), Some(h)) => {
                    if let Some(label) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                        if let Some(greedy) = label.strip_suffix('+') {
                            let rest: Vec<&str> = std::iter::once(h).chain(have).collect();
                            labels.push((greedy, decode(&rest.join("/"))));
                            return want.next().is_none().then_some(labels);
                        }
                        if h.is_empty() {
                            return None;
                        }
                        labels.push((label, decode(h)));
                    } else if w != h {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }
}

fn segments(path: &str) -> std::str::Split<'_, char> {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.strip_suffix('/').unwrap_or(path).split('/')
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// A routed rest-xml request: the operation and its inputs as one element tree, which
/// borrows names and text from the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRequest<'a> {
    /// The route that matched.
    pub route: Route,
    params: Tree<'a>,
}

impl<'a> RestRequest<'a> {
    /// Routes a request by method and path, and gathers its inputs.
    ///
    /// No matching route is `UnknownOperationException` (404); a body that is not
    /// well-formed XML is `InvalidInput` (400).
    pub fn parse(
        routes: &[Route],
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &'a [u8],
    ) -> Result<RestRequest<'a>, AwsError> {
        let (route, labels) = routes
            .iter()
            .find_map(|r| r.matches(method, path).map(|labels| (*r, labels)))
            .ok_or_else(|| {
                AwsError::new(
                    "UnknownOperationException",
                    404,
                    format!("No operation is bound to {method} {path}"),
                )
            })?;
        let text = std::str::from_utf8(body)
            .map_err(|_| AwsError::new("InvalidInput", 400, "The request body is not UTF-8"))?;
        let mut params = Tree::parse(text).map_err(|e| {
            AwsError::new(
                "InvalidInput",
                400,
                format!("Could not parse the request body as XML: {e}"),
            )
        })?;
        for (label, value) in labels {
            params.push_leaf(Cow::Borrowed(label), Cow::Owned(value));
        }
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if !key.is_empty() {
                params.push_leaf(Cow::Owned(key.into_owned()), Cow::Owned(value.into_owned()));
            }
        }
        Ok(RestRequest { route, params })
    }

    /// The operation name.
    pub fn operation(&self) -> &'static str {
        self.route.operation
    }

    /// Deserializes the inputs into `T`. Missing required members and values
    /// that fail a constraint are `InvalidInput` (400) naming the member's path.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, AwsError> {
        let de = ElementDe {
            el: self.params.root(),
            path: Path::Root,
        };
        T::deserialize(de).map_err(|err| {
            let message = match err {
                DeError::MissingField(p) => missing(p),
                DeError::MissingMember(p) => missing(&p),
                DeError::Invalid(m) | DeError::Custom(m) => m,
            };
            AwsError::new("InvalidInput", 400, format!("1 validation error detected: {message}"))
        })
    }

    /// The text of a URI label, query parameter or top-level body member.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.root().child(name).map(|e| e.text())
    }
}

fn missing(member: &str) -> String {
    format!("Value null at '{member}' failed to satisfy constraint: Member must not be null")
}
