//! The canonical request of SigV4: URI, query string and headers in the one form
//! signer and verifier both hash.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but SigV4's unreserved characters (`A-Z a-z 0-9 - _ . ~`).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// As [`QUERY`], keeping `/` as the path separator.
const PATH: &AsciiSet = &QUERY.remove(b'/');

/// The canonical URI for a non-S3 service: the path as sent (already
/// percent-encoded once), with dot segments and empty segments removed, encoded
/// once more. This matches botocore, which quotes its already-quoted URL path.
pub(crate) fn uri(raw_path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut path = String::from("/");
    path.push_str(&segments.join("/"));
    if raw_path.ends_with('/') && !segments.is_empty() {
        path.push('/');
    }
    utf8_percent_encode(&path, PATH).to_string()
}

/// The canonical query string: every parameter but `skip` decoded as a form
/// (so `+` is a space, as botocore's HTTP layer sends it), re-encoded with
/// SigV4's unreserved set, sorted by key and then value.
pub(crate) fn query(raw_query: Option<&str>, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
        .filter(|(k, _)| Some(k.as_ref()) != skip)
        .map(|(k, v)| (encode(&k), encode(&v)))
        .collect();
    pairs.sort();
    let parts: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join("&")
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

/// The canonical headers block (each `name:value\n`) for the signed header names:
/// repeated headers joined by `,`, values trimmed with inner runs of spaces
/// collapsed. A signed header that is absent contributes an empty value.
pub(crate) fn headers(map: &http::HeaderMap, signed: &[String]) -> String {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> = map
            .get_all(name.as_str())
            .iter()
            .map(|v| collapse(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_normalization() {
        assert_eq!(uri(""), "/");
        assert_eq!(uri("/"), "/");
        assert_eq!(uri("//a/./b/../c/"), "/a/c/");
        assert_eq!(uri("/a%20b/~x"), "/a%2520b/~x");
        assert_eq!(uri("/a=b"), "/a%3Db");
    }

    #[test]
    fn query_canonicalization() {
        assert_eq!(query(Some("b=x+y&a=~%2B&A=1&a=0"), None), "A=1&a=0&a=~%2B&b=x%20y");
        assert_eq!(query(Some("X-Amz-Signature=s&k"), Some("X-Amz-Signature")), "k=");
        assert_eq!(query(None, None), "");
    }

    #[test]
    fn header_canonicalization() {
        let mut map = http::HeaderMap::new();
        map.insert("host", http::HeaderValue::from_static("example.com"));
        map.append("x-multi", http::HeaderValue::from_static("  a   b "));
        map.append("x-multi", http::HeaderValue::from_static("c"));
        let signed = ["host".to_string(), "x-multi".to_string()];
        assert_eq!(headers(&map, &signed), "host:example.com\nx-multi:a b,c\n");
    }
}
