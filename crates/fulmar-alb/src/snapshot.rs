//! The compiled form of one configuration snapshot: what the request path reads.
//!
//! A [`Snapshot`] is built once per committed configuration and published through an
//! `ArcSwap`; a request loads it once at its start and uses that one view throughout,
//! so a rule change applies to the very next request, even on an open keep-alive
//! connection, and no request ever waits for the control plane.
//!
//! It also holds the security-group engine's [`World`] of the configuration, which
//! gates new connections, and per listener the sources its load balancer's groups let
//! in (what the packet filter installs).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use fulmar_model::{Config, Listener, LoadBalancer, TargetGroup};
use fulmar_routing::balance::Algorithm;
use fulmar_routing::rules::RuleTable;
use fulmar_secgroup::{ingress_sources, Traffic, World};
use http::header::{HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::health::GroupHealth;

/// The ALB's `idle_timeout.timeout_seconds` default.
const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 60;
/// The target group's `stickiness.lb_cookie.duration_seconds` default.
const DEFAULT_STICKINESS_SECONDS: u64 = 86_400;
/// The ALB's `client_keep_alive.seconds` default.
const DEFAULT_CLIENT_KEEP_ALIVE_SECONDS: u64 = 3600;

/// The response headers an HTTP listener's `routing.http.response.*.header_value`
/// attributes add, by attribute key.
const RESPONSE_HEADER_ATTRIBUTES: &[(&str, &str)] = &[
    (
        "routing.http.response.strict_transport_security.header_value",
        "strict-transport-security",
    ),
    (
        "routing.http.response.access_control_allow_origin.header_value",
        "access-control-allow-origin",
    ),
    (
        "routing.http.response.access_control_allow_methods.header_value",
        "access-control-allow-methods",
    ),
    (
        "routing.http.response.access_control_allow_headers.header_value",
        "access-control-allow-headers",
    ),
    (
        "routing.http.response.access_control_allow_credentials.header_value",
        "access-control-allow-credentials",
    ),
    (
        "routing.http.response.access_control_expose_headers.header_value",
        "access-control-expose-headers",
    ),
    (
        "routing.http.response.access_control_max_age.header_value",
        "access-control-max-age",
    ),
    (
        "routing.http.response.content_security_policy.header_value",
        "content-security-policy",
    ),
    (
        "routing.http.response.x_content_type_options.header_value",
        "x-content-type-options",
    ),
    ("routing.http.response.x_frame_options.header_value", "x-frame-options"),
];

/// Every HTTP and HTTPS listener and target group of one configuration, ready for requests.
pub(crate) struct Snapshot {
    /// HTTP and HTTPS listeners of application load balancers, by listener ARN.
    pub listeners: crate::FastMap<String, CompiledListener>,
    /// Every target group, by ARN.
    pub target_groups: crate::FastMap<String, Arc<CompiledTargetGroup>>,
    /// Security groups, load balancers as endpoints, and group membership.
    pub world: World,
    /// True when every listener's [`HttpSettings`] other than the keep-alive
    /// duration are the defaults: the request path then needs no second look-up.
    pub default_http: bool,
    /// The shortest `client_keep_alive.seconds` of any listener: connections younger
    /// than this need no look-up to know they stay open.
    pub min_client_keep_alive: Duration,
}

/// One listener: where it binds and how it routes.
pub(crate) struct CompiledListener {
    pub arn: String,
    pub address: SocketAddr,
    pub rules: RuleTable,
    /// The load balancer's `idle_timeout.timeout_seconds`: how long a target may take
    /// to answer before the client gets a 504.
    pub idle_timeout: Duration,
    /// The sources the load balancer's groups let in on this listener's TCP port;
    /// `None` when the load balancer has no group (not filtered).
    pub allowed_sources: Option<Vec<IpNet>>,
    /// The load balancer's `routing.http.desync_mitigation_mode`.
    pub desync_mode: crate::desync::Mode,
    /// The `routing.http.*` and `client_keep_alive.seconds` attributes of the load
    /// balancer and the listener's `routing.http.response.*` attributes, compiled.
    pub http: Arc<HttpSettings>,
    /// An HTTPS listener (served over TLS).
    pub https: bool,
    /// An HTTPS listener's certificates, policy and ALPN; `None` when it has no usable
    /// default certificate (its handshakes fail) or is plain HTTP.
    pub tls: Option<Arc<crate::tls::ListenerTls>>,
}

/// How a listener rewrites requests and responses, compiled once per snapshot from
/// the load balancer's and the listener's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpSettings {
    /// `routing.http.xff_header_processing.mode`.
    pub xff_mode: crate::headers::XffMode,
    /// `routing.http.xff_client_port.enabled`: `ip:port` in X-Forwarded-For.
    pub xff_client_port: bool,
    /// `routing.http.preserve_host_header.enabled`.
    pub preserve_host: bool,
    /// `routing.http.drop_invalid_header_fields.enabled`.
    pub drop_invalid_header_fields: bool,
    /// `client_keep_alive.seconds`: the response to the first request after this
    /// long closes the client connection.
    pub client_keep_alive: Duration,
    /// `routing.http.response.server.enabled` (the listener's): `Server: awselb/2.0`
    /// on the load balancer's own responses.
    pub server_header: bool,
    /// The listener's `routing.http.response.*.header_value` headers, set on every
    /// response (replacing a target's header of the same name).
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    /// `routing.http.x_amzn_tls_version_and_cipher_suite.enabled`: `x-amzn-tls-version`
    /// and `x-amzn-tls-cipher-suite` on requests that arrived over TLS.
    pub tls_headers: bool,
}

impl HttpSettings {
    /// Every attribute at AWS's default.
    pub const DEFAULT: HttpSettings = HttpSettings {
        xff_mode: crate::headers::XffMode::Append,
        xff_client_port: false,
        preserve_host: false,
        drop_invalid_header_fields: false,
        client_keep_alive: Duration::from_secs(DEFAULT_CLIENT_KEEP_ALIVE_SECONDS),
        server_header: true,
        response_headers: Vec::new(),
        tls_headers: false,
    };

    fn compile(lb: &LoadBalancer, listener: &Listener) -> HttpSettings {
        let flag = |key: &str| lb.attributes.get(key).is_some_and(|v| v == "true");
        let response_headers = RESPONSE_HEADER_ATTRIBUTES
            .iter()
            .filter_map(|(key, name)| {
                let value = listener.attributes.get(*key).filter(|v| !v.is_empty())?;
                // The API checked the value; one that still is not a header value is skipped.
                Some((HeaderName::from_static(name), HeaderValue::from_str(value).ok()?))
            })
            .collect();
        HttpSettings {
            xff_mode: crate::headers::XffMode::from_attribute(
                lb.attributes
                    .get("routing.http.xff_header_processing.mode")
                    .map(String::as_str),
            ),
            xff_client_port: flag("routing.http.xff_client_port.enabled"),
            preserve_host: flag("routing.http.preserve_host_header.enabled"),
            drop_invalid_header_fields: flag("routing.http.drop_invalid_header_fields.enabled"),
            client_keep_alive: Duration::from_secs(
                attribute(&lb.attributes, "client_keep_alive.seconds").unwrap_or(DEFAULT_CLIENT_KEEP_ALIVE_SECONDS),
            ),
            server_header: listener
                .attributes
                .get("routing.http.response.server.enabled")
                .is_none_or(|v| v != "false"),
            response_headers,
            tls_headers: flag("routing.http.x_amzn_tls_version_and_cipher_suite.enabled"),
        }
    }

    /// Whether everything but the keep-alive duration is at its default.
    fn is_default_but_keep_alive(&self) -> bool {
        HttpSettings {
            client_keep_alive: self.client_keep_alive,
            ..HttpSettings::DEFAULT
        } == *self
    }
}

/// The settings of listeners whose attributes are all defaults (and of requests on a
/// listener that has just gone).
pub(crate) static DEFAULT_HTTP: HttpSettings = HttpSettings::DEFAULT;

/// One target group as the request path needs it; the live health (and the round-robin
/// cursor) is shared with the health checker and survives snapshots.
pub(crate) struct CompiledTargetGroup {
    pub arn: String,
    /// The stickiness in force, if enabled.
    pub stickiness: Option<Stickiness>,
    /// `load_balancing.algorithm.type` (and anomaly mitigation).
    pub algorithm: Algorithm,
    pub health: Arc<GroupHealth>,
    /// How requests reach the targets (`ProtocolVersion`).
    pub protocol: crate::alb::TargetProtocol,
    /// `Protocol` is `HTTPS`: connections to the targets speak TLS.
    pub https: bool,
}

/// A target group's stickiness, with how long a cookie keeps a client on its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stickiness {
    /// `lb_cookie`: AWSALB / AWSALBCORS on every response.
    LbCookie(Duration),
    /// `app_cookie`: AWSALBAPP-0 when the target sets the cookie `name`.
    AppCookie { name: String, duration: Duration },
}

impl Default for Snapshot {
    fn default() -> Snapshot {
        Snapshot {
            listeners: Default::default(),
            target_groups: Default::default(),
            world: World::default(),
            default_http: true,
            min_client_keep_alive: Duration::MAX,
        }
    }
}

impl Snapshot {
    /// Compile `config`; `groups` holds the live health of every target group in it.
    pub fn compile(config: &Config, groups: &HashMap<String, Arc<GroupHealth>>) -> Snapshot {
        let world = World::from_config(config);
        let mut listeners = crate::FastMap::default();
        let mut default_http = true;
        let mut min_client_keep_alive = Duration::MAX;
        for lb in config.load_balancers.values() {
            if lb.kind != "application" {
                continue;
            }
            let idle_timeout = Duration::from_secs(
                attribute(&lb.attributes, "idle_timeout.timeout_seconds").unwrap_or(DEFAULT_IDLE_TIMEOUT_SECONDS),
            );
            for l in config.listeners_of(&lb.arn) {
                let https = l.protocol == "HTTPS";
                if l.protocol != "HTTP" && !https {
                    tracing::debug!(listener = %l.arn, protocol = %l.protocol, "listener protocol not served yet");
                    continue;
                }
                let rules = RuleTable::new(l, config.rules_of(&l.arn).map(|r| &**r));
                let http = HttpSettings::compile(lb, l);
                default_http &= http.is_default_but_keep_alive();
                min_client_keep_alive = min_client_keep_alive.min(http.client_keep_alive);
                listeners.insert(
                    l.arn.clone(),
                    CompiledListener {
                        arn: l.arn.clone(),
                        address: listener_address(lb, l.port),
                        rules,
                        idle_timeout,
                        allowed_sources: ingress_sources(&world, IpAddr::V4(lb.address), Traffic::Tcp(l.port)),
                        desync_mode: crate::desync::Mode::from_attribute(
                            lb.attributes
                                .get("routing.http.desync_mitigation_mode")
                                .map(String::as_str),
                        ),
                        http: Arc::new(http),
                        https,
                        tls: if https {
                            crate::tls::compile(config, lb, l)
                        } else {
                            None
                        },
                    },
                );
            }
        }
        crate::tls::retain(config);
        let target_groups = config
            .target_groups
            .values()
            .filter_map(|tg| {
                let health = groups.get(&tg.arn)?.clone();
                Some((
                    tg.arn.clone(),
                    Arc::new(CompiledTargetGroup {
                        arn: tg.arn.clone(),
                        stickiness: stickiness(tg),
                        algorithm: Algorithm::from_attributes(
                            tg.attribute("load_balancing.algorithm.type"),
                            tg.attribute("load_balancing.algorithm.anomaly_mitigation"),
                        ),
                        health,
                        protocol: crate::alb::TargetProtocol::of(tg.protocol_version.as_deref()),
                        https: tg.protocol.as_deref() == Some("HTTPS"),
                    }),
                ))
            })
            .collect();
        Snapshot {
            listeners,
            target_groups,
            world,
            default_http,
            min_client_keep_alive,
        }
    }
}

fn listener_address(lb: &LoadBalancer, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(lb.address, port))
}

/// The group's stickiness when `stickiness.enabled` is true (`source_ip` is an NLB type).
fn stickiness(tg: &TargetGroup) -> Option<Stickiness> {
    if tg.attribute("stickiness.enabled") != Some("true") {
        return None;
    }
    let seconds = |key| Duration::from_secs(attribute(&tg.attributes, key).unwrap_or(DEFAULT_STICKINESS_SECONDS));
    match tg.attribute("stickiness.type").unwrap_or("lb_cookie") {
        "lb_cookie" => Some(Stickiness::LbCookie(seconds("stickiness.lb_cookie.duration_seconds"))),
        "app_cookie" => Some(Stickiness::AppCookie {
            name: tg.attribute("stickiness.app_cookie.cookie_name")?.to_owned(),
            duration: seconds("stickiness.app_cookie.duration_seconds"),
        }),
        _ => None,
    }
}

/// A numeric attribute; `None` when absent or not a number (the API validated it).
pub(crate) fn attribute(attributes: &std::collections::BTreeMap<String, String>, key: &str) -> Option<u64> {
    attributes.get(key)?.trim().parse().ok()
}
