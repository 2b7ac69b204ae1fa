//! Redirect actions: the `Location` an ALB sends, built from the request and the
//! action's `#{protocol}`, `#{host}`, `#{port}`, `#{path}`, `#{query}` placeholders.
//!
//! As AWS documents it (RedirectActionConfig): the URI is
//! `protocol://host:port/path?query`; a part not given keeps its original value
//! (`#{protocol}`, `#{host}`, `#{port}`, `/#{path}`, `#{query}`); `#{path}` expands
//! to the original path *without* its leading `/`; nothing is percent-encoded again.
//! The port is always written out (`https://example.com:443/p`), the protocol is
//! lowercased, and `?query` is left off when the expanded query is empty.
//!
//! Expansion is one left-to-right pass, so placeholder text arriving in the request
//! (a path containing `#{host}`) is copied, never expanded. Every placeholder is
//! expanded wherever it appears; which placeholder may appear in which part is the
//! control plane's validation. An empty Protocol, Port, Host or Path (which AWS
//! never stores) means its default; an empty Query means "no query", so the control
//! plane must store `#{query}` when the request omits Query.

use fulmar_model::RedirectConfig;

/// The parts of the original request a redirect may reuse.
pub struct OriginalRequest<'a> {
    /// `http` or `https` (lowercase, as on the listener).
    pub protocol: &'a str,
    /// Host without port.
    pub host: &'a str,
    /// The listener port.
    pub port: u16,
    /// The path, with its leading `/`.
    pub path: &'a str,
    /// The query without `?`; empty when none.
    pub query: &'a str,
}

/// The status code (301 or 302) and the `Location` header value, built as AWS builds it.
///
/// `HTTP_301` gives 301; anything else (the API only allows `HTTP_302`) gives 302.
pub fn location(config: &RedirectConfig, req: &OriginalRequest<'_>) -> (u16, String) {
    let status = if config.status_code == "HTTP_301" { 301 } else { 302 };
    let part = |value: &str, default: &'static str| {
        if value.is_empty() {
            expand(default, req)
        } else {
            expand(value, req)
        }
    };
    let protocol = part(&config.protocol, "#{protocol}").to_ascii_lowercase();
    let host = part(&config.host, "#{host}");
    let port = part(&config.port, "#{port}");
    let path = part(&config.path, "/#{path}");
    let query = expand(&config.query, req);

    let mut url = String::with_capacity(protocol.len() + host.len() + port.len() + path.len() + query.len() + 6);
    url.push_str(&protocol);
    url.push_str("://");
    url.push_str(&host);
    url.push(':');
    url.push_str(&port);
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(&path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    (status, url)
}

/// Replace every `#{name}` placeholder in `template` in one pass; unknown names stay.
fn expand(template: &str, req: &OriginalRequest<'_>) -> String {
    let mut out = String::with_capacity(template.len() + req.path.len() + req.query.len());
    let mut rest = template;
    while let Some(start) = rest.find("#{") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(close) = after.find('}') else {
            break;
        };
        let name = &after[2..close];
        match name {
            "protocol" => out.push_str(req.protocol),
            "host" => out.push_str(req.host),
            "port" => out.push_str(&req.port.to_string()),
            "path" => out.push_str(req.path.strip_prefix('/').unwrap_or(req.path)),
            "query" => out.push_str(req.query),
            _ => out.push_str(&after[..=close]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(protocol: &str, port: &str, host: &str, path: &str, query: &str) -> RedirectConfig {
        RedirectConfig {
            protocol: protocol.into(),
            port: port.into(),
            host: host.into(),
            path: path.into(),
            query: query.into(),
            status_code: "HTTP_301".into(),
        }
    }

    fn original<'a>(path: &'a str, query: &'a str) -> OriginalRequest<'a> {
        OriginalRequest {
            protocol: "http",
            host: "example.com",
            port: 80,
            path,
            query,
        }
    }

    #[test]
    fn http_to_https_keeps_everything_else() {
        let c = config("HTTPS", "443", "#{host}", "/#{path}", "#{query}");
        let (code, url) = location(&c, &original("/a/b", "x=1&y=2"));
        assert_eq!(code, 301);
        assert_eq!(url, "https://example.com:443/a/b?x=1&y=2");
    }

    #[test]
    fn port_is_explicit_and_empty_query_is_omitted() {
        let c = config("#{protocol}", "#{port}", "#{host}", "/#{path}", "#{query}");
        assert_eq!(location(&c, &original("/", "")).1, "http://example.com:80/");
    }

    #[test]
    fn path_placeholder_has_no_leading_slash() {
        let c = config("#{protocol}", "#{port}", "#{host}", "/new/#{path}", "#{query}");
        assert_eq!(
            location(&c, &original("/old/x", "q")).1,
            "http://example.com:80/new/old/x?q"
        );
        let c = config("HTTPS", "8443", "#{host}", "/#{host}/#{port}/#{path}", "#{query}&v=xyz");
        assert_eq!(
            location(&c, &original("/p", "a=b")).1,
            "https://example.com:8443/example.com/80/p?a=b&v=xyz"
        );
    }

    #[test]
    fn custom_host_path_and_302() {
        let mut c = config("#{protocol}", "#{port}", "www.#{host}", "/landing", "");
        c.status_code = "HTTP_302".into();
        let (code, url) = location(&c, &original("/ignored", "dropped=1"));
        assert_eq!(code, 302);
        assert_eq!(url, "http://www.example.com:80/landing");
    }

    #[test]
    fn request_text_is_not_expanded_or_reencoded() {
        let c = config("#{protocol}", "#{port}", "#{host}", "/#{path}", "#{query}");
        let url = location(&c, &original("/%7Euser/#{host}", "q=%20a")).1;
        assert_eq!(url, "http://example.com:80/%7Euser/#{host}?q=%20a");
    }

    #[test]
    fn empty_parts_default_to_placeholders() {
        let c = config("", "", "", "", "#{query}");
        assert_eq!(location(&c, &original("/p", "q")).1, "http://example.com:80/p?q");
    }
}
