//! The AWS wire-protocol layer of Fulmar.
//!
//! Everything an API request goes through before and after the control plane sees
//! it, with no knowledge of any particular operation:
//!
//! - [`sigv4`] verifies AWS Signature Version 4 (header and presigned-URL forms)
//!   and extracts the credential scope used to dispatch by service name;
//! - [`query`] parses a Query-protocol request (form body or URL query string) into
//!   a parameter tree and deserializes it into any `serde::Deserialize` input type;
//! - [`rest`] routes a rest-xml request (Route 53) by method and URI template and
//!   deserializes its path labels, query parameters and XML body into any
//!   `serde::Deserialize` input type;
//! - [`xml`] serializes any `serde::Serialize` output type into the response
//!   document of the protocol flavour, and renders [`AwsError`]s;
//! - [`paging`] slices a listing into pages behind an opaque marker.
//!
//! All of it is sans-I/O: plain functions over bytes, headers and values.

pub mod error;
mod flavour;
pub mod paging;
pub mod query;
pub mod rest;
pub mod sigv4;
pub mod xml;

pub use error::AwsError;
pub use flavour::Flavour;
pub use paging::page;
pub use query::QueryRequest;
pub use rest::{RestRequest, Route};
pub use sigv4::{AuthError, Scope};
pub use xml::{error_response, request_id, response};
