//! What a health checker sends where, derived from a `HealthCheckConfig`: the
//! address or name to probe, the port, the request path, the `Host` header and the TLS
//! server name.
//!
//! As Route 53 does: `IPAddress` wins when set (the FQDN then only goes into the `Host`
//! header and SNI); otherwise the FQDN is resolved at every probe. Unlike Route 53,
//! loopback and private addresses are allowed, since a local user's endpoints live
//! there. The port defaults to 80, or 443 for HTTPS kinds; the path to `/`.

use std::net::IpAddr;

use fulmar_model::route53::HealthCheckConfig;

use crate::decide::Kind;

/// Where and how one health check probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub kind: Kind,
    /// `IPAddress`, when set and valid.
    pub ip: Option<IpAddr>,
    /// `FullyQualifiedDomainName` without a trailing dot.
    pub fqdn: Option<String>,
    pub port: u16,
    /// `ResourcePath`, `/` by default; always starts with `/`.
    pub path: String,
    pub search_string: Option<String>,
    pub enable_sni: bool,
}

impl Endpoint {
    pub fn from_config(config: &HealthCheckConfig) -> Endpoint {
        let kind = Kind::parse(&config.kind);
        let ip = config.ip_address.as_deref().and_then(|s| s.parse().ok());
        let fqdn = config
            .fqdn
            .as_deref()
            .map(|f| f.trim_end_matches('.').to_owned())
            .filter(|f| !f.is_empty());
        let path = match config.resource_path.as_deref() {
            None | Some("") => "/".to_owned(),
            Some(p) if p.starts_with('/') => p.to_owned(),
            Some(p) => format!("/{p}"),
        };
        Endpoint {
            kind,
            ip,
            fqdn,
            port: config.port.unwrap_or_else(|| kind.default_port()),
            path,
            search_string: config.search_string.clone(),
            enable_sni: config.enable_sni,
        }
    }

    /// The `Host` header for a probe of `ip`: the FQDN if there is one, else the
    /// address; followed by `:port` unless the port is the scheme's default (80 for
    /// HTTP, 443 for HTTPS).
    pub fn host_header(&self, ip: IpAddr) -> String {
        let name = match (&self.fqdn, ip) {
            (Some(fqdn), _) => fqdn.clone(),
            (None, IpAddr::V6(v6)) => format!("[{v6}]"),
            (None, IpAddr::V4(v4)) => v4.to_string(),
        };
        if self.port == self.kind.default_port() {
            name
        } else {
            format!("{name}:{}", self.port)
        }
    }

    /// The TLS server name: the FQDN when SNI is enabled and there is one (sent in the
    /// ClientHello), else the address (no SNI is sent for an address).
    pub fn server_name(&self, ip: IpAddr) -> rustls::pki_types::ServerName<'static> {
        if self.enable_sni {
            if let Some(name) = self
                .fqdn
                .as_deref()
                .and_then(|f| rustls::pki_types::ServerName::try_from(f.to_owned()).ok())
            {
                return name;
            }
        }
        rustls::pki_types::ServerName::IpAddress(ip.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: &str) -> HealthCheckConfig {
        HealthCheckConfig {
            kind: kind.into(),
            ip_address: None,
            port: None,
            resource_path: None,
            fqdn: None,
            search_string: None,
            request_interval: 30,
            failure_threshold: 3,
            measure_latency: false,
            inverted: false,
            disabled: false,
            enable_sni: false,
            health_threshold: None,
            child_health_checks: Vec::new(),
            regions: Vec::new(),
            insufficient_data_health_status: None,
        }
    }

    #[test]
    fn defaults() {
        let e = Endpoint::from_config(&config("HTTPS"));
        assert_eq!((e.port, e.path.as_str()), (443, "/"));
        let e = Endpoint::from_config(&config("HTTP"));
        assert_eq!(e.port, 80);
        let mut c = config("HTTP");
        c.resource_path = Some("health?full=1".into());
        assert_eq!(Endpoint::from_config(&c).path, "/health?full=1");
    }

    #[test]
    fn host_header_is_the_fqdn_or_the_address_with_a_non_default_port() {
        let mut c = config("HTTP");
        c.ip_address = Some("127.0.0.1".into());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(Endpoint::from_config(&c).host_header(ip), "127.0.0.1");
        c.fqdn = Some("www.example.com.".into());
        assert_eq!(Endpoint::from_config(&c).host_header(ip), "www.example.com");
        c.port = Some(8080);
        assert_eq!(Endpoint::from_config(&c).host_header(ip), "www.example.com:8080");
        c.fqdn = None;
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(Endpoint::from_config(&c).host_header(v6), "[::1]:8080");
        let mut s = config("HTTPS");
        s.port = Some(80);
        assert_eq!(Endpoint::from_config(&s).host_header(ip), "127.0.0.1:80");
    }

    #[test]
    fn sni_only_when_enabled_with_a_name() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut c = config("HTTPS");
        c.fqdn = Some("api.example.com".into());
        let no_sni = Endpoint::from_config(&c).server_name(ip);
        assert!(matches!(no_sni, rustls::pki_types::ServerName::IpAddress(_)));
        c.enable_sni = true;
        let sni = Endpoint::from_config(&c).server_name(ip);
        assert_eq!(sni.to_str(), "api.example.com");
    }
}
