//! TLS termination on HTTPS listeners: certificates chosen by SNI, the listener's
//! security policy, ALPN, session resumption, and serving the decrypted connection.
//!
//! Each snapshot compiles an HTTPS listener into a [`ListenerTls`]: a rustls
//! `ServerConfig` whose certificate resolver is the listener's certificate list (the
//! default certificate first, then those AddListenerCertificates added), whose
//! versions and cipher suites come from its `SslPolicy` ([`Policy`]), and whose ALPN
//! list is `h2, http/1.1` unless the load balancer's `routing.http2.enabled` is false.
//! A connection takes the listener's config from the snapshot current when it is
//! accepted, so changing certificates or the policy applies to the next handshake
//! without touching the socket; resumption state (a session cache and a ticket key
//! rotator) lives per listener across snapshots.
//!
//! After the handshake the connection is served by hyper like a plain one: HTTP/2
//! (at most 128 concurrent streams, closed with GOAWAY on the idle timeout and the
//! client keep-alive duration) when ALPN chose `h2`, else HTTP/1.1 with upgrades
//! (WebSockets, logged `wss`), whose first request head is read before hyper takes the
//! connection, so that hyper's header array is sized for it when it has more than 100
//! lines. Every request carries the connection's [`Tls`] facts in
//! its extensions: X-Forwarded-Proto, the `x-amzn-tls-*` headers, redirects and the
//! access log read them there. A failed handshake closes the connection, counts in
//! the load balancer's ClientTLSNegotiationErrorCount and, with connection logs on,
//! is logged with `tls_verify_status` `Failed:UnmappedConnectionError`.
//!
//! Not offered, because rustls implements neither: TLS 1.0 and 1.1, CBC suites
//! (`ECDHE-*-AES*-SHA`, `-SHA256`, `-SHA384`) and RSA key exchange (`AES128-GCM-SHA256`
//! and the like). A policy that lists them is served with the rest of its list: its TLS
//! 1.2 ECDHE AES-GCM suites and, for `ELBSecurityPolicy-TLS13-*`, TLS 1.3.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fulmar_model::{Config, Listener, LoadBalancer};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::{CipherSuite, ProtocolVersion, ServerConfig, SignatureScheme, SupportedCipherSuite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::alb::Alb;
use crate::listeners::{serve_with_hyper, stopped, ClientLimits};
use crate::observe::ConnectionGuard;
use crate::phases::Connection;

/// The policy of an HTTPS listener created without one (what AWS applies when an API
/// call names none).
pub(crate) const DEFAULT_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// TLS 1.2 sessions (by id) and TLS 1.3 stateful tickets kept per listener.
const SESSION_CACHE: usize = 16_384;

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a request knows about the TLS connection it arrived on (in its extensions).
#[derive(Debug, Clone)]
pub(crate) struct Tls(pub Arc<Facts>);

#[derive(Debug)]
pub(crate) struct Facts {
    /// `TLSv1.2` or `TLSv1.3`.
    pub protocol: &'static str,
    /// The OpenSSL name of the suite: `ECDHE-RSA-AES128-GCM-SHA256`, `TLS_AES_128_GCM_SHA256`.
    pub cipher: &'static str,
    /// The client's SNI name (access log `domain_name`).
    pub sni: Option<String>,
    /// The certificate presented (access log `chosen_cert_arn`).
    pub cert_arn: Option<String>,
    /// The listener has mutual TLS in passthrough mode.
    pub mtls: bool,
    /// The certificate the client presented (mutual TLS).
    pub client_cert: Option<ClientCert>,
}

/// A client certificate, as the load balancer passes it on and logs it.
#[derive(Debug)]
pub(crate) struct ClientCert {
    /// `X-Amzn-Mtls-Clientcert`: the chain the client sent, leaf first, in PEM,
    /// URL-encoded with `+`, `=` and `/` left as they are.
    pub header: http::HeaderValue,
    /// The leaf's subject, RFC 4514 (`CN=client,O=Example,C=US`).
    pub subject: String,
    /// `NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-16T22:43:21Z`.
    pub validity: String,
    /// The leaf's serial number in upper-case hex.
    pub serial: String,
}

impl ClientCert {
    /// The chain a client presented; `None` when its leaf is not a parsable X.509
    /// certificate (the handshake checked only that the client holds its key).
    fn of(chain: &[CertificateDer<'_>]) -> Option<ClientCert> {
        use x509_cert::der::pem::{encode_string, LineEnding};
        use x509_cert::der::Decode as _;
        let leaf = x509_cert::Certificate::from_der(chain.first()?.as_ref()).ok()?;
        let tbs = &leaf.tbs_certificate;
        let mut pem = String::new();
        for cert in chain {
            pem.push_str(&encode_string("CERTIFICATE", LineEnding::LF, cert.as_ref()).ok()?);
        }
        Some(ClientCert {
            header: http::HeaderValue::from_str(&url_encode(&pem)).ok()?,
            subject: tbs.subject.to_string(),
            validity: format!(
                "NotBefore={};NotAfter={}",
                tbs.validity.not_before, tbs.validity.not_after
            ),
            serial: serial_hex(tbs.serial_number.as_bytes()),
        })
    }
}

/// A serial number's DER bytes in upper-case hex, without the sign byte DER adds.
fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..].iter().map(|b| format!("{b:02X}")).collect()
}

/// Percent-encoding that leaves letters, digits, `-._~` and `+=/` as they are.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~+=/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Mutual TLS in passthrough mode: a certificate is asked for but not required, and
/// any certificate is accepted (the target decides what to make of it); the handshake
/// still checks that the client holds the key of the certificate it sent.
#[derive(Debug)]
struct AnyClientCertificate(Arc<CryptoProvider>);

impl rustls::server::danger::ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One HTTPS listener's TLS, compiled from a snapshot.
pub(crate) struct ListenerTls {
    pub config: Arc<ServerConfig>,
    pub certs: Arc<CertList>,
    /// Mutual TLS in passthrough mode.
    pub mtls: bool,
}

/// An SslPolicy as rustls can serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub tls12: bool,
    pub tls13: bool,
}

impl Policy {
    /// The versions of a predefined policy: `ELBSecurityPolicy-TLS13-1-3-*` TLS 1.3
    /// only, the other `TLS13` policies TLS 1.2 and 1.3, every older policy TLS 1.2
    /// (its TLS 1.0/1.1 are not offered). An unknown name (the API rejects them) is
    /// the default policy.
    pub fn of(name: Option<&str>) -> Policy {
        let name = name.unwrap_or(DEFAULT_POLICY);
        match name.strip_prefix("ELBSecurityPolicy-") {
            Some(rest) if rest.starts_with("TLS13-1-3") => Policy {
                tls12: false,
                tls13: true,
            },
            Some(rest) if rest.starts_with("TLS13-") => Policy {
                tls12: true,
                tls13: true,
            },
            _ => Policy {
                tls12: true,
                tls13: false,
            },
        }
    }

    /// The suites offered, in the policy's order of preference (the server's order
    /// wins, as on ALB): TLS 1.3's AES-GCM and ChaCha20, then TLS 1.2's ECDHE AES-GCM.
    fn suites(self) -> Vec<SupportedCipherSuite> {
        use rustls::crypto::ring::cipher_suite as cs;
        let mut out = Vec::new();
        if self.tls13 {
            out.extend([
                cs::TLS13_AES_128_GCM_SHA256,
                cs::TLS13_AES_256_GCM_SHA384,
                cs::TLS13_CHACHA20_POLY1305_SHA256,
            ]);
        }
        if self.tls12 {
            out.extend([
                cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            ]);
        }
        out
    }

    fn versions(self) -> Vec<&'static rustls::SupportedProtocolVersion> {
        let mut out = Vec::new();
        if self.tls13 {
            out.push(&rustls::version::TLS13);
        }
        if self.tls12 {
            out.push(&rustls::version::TLS12);
        }
        out
    }
}

/// The OpenSSL name of a suite, as ALB logs it and sends it in `x-amzn-tls-cipher-suite`.
pub(crate) fn openssl_name(suite: CipherSuite) -> &'static str {
    match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        _ => "-",
    }
}

fn protocol_name(version: Option<ProtocolVersion>) -> &'static str {
    match version {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "-",
    }
}

/// A listener's certificates, the default first: the resolver rustls asks for the
/// certificate of each handshake.
#[derive(Debug)]
pub(crate) struct CertList {
    entries: Vec<Entry>,
}

struct Entry {
    arn: String,
    /// The names the certificate covers, lowercase (`*.example.com` for a wildcard).
    names: Vec<String>,
    /// ECDSA keys are preferred to RSA when both match.
    ecdsa: bool,
    /// Key size in bits (a larger key is preferred).
    bits: u32,
    not_after_ms: i64,
    key: Arc<CertifiedKey>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("arn", &self.arn)
            .field("names", &self.names)
            .finish()
    }
}

/// Whether `pattern` (a certificate name, lowercase) covers `host` (lowercase): equal,
/// or a `*.` wildcard standing for exactly one leftmost label.
fn covers(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

impl CertList {
    /// The index of the certificate for a client that sent `sni` and accepts
    /// `ecdsa_ok` ECDSA signatures: among those covering the name, the best as ALB
    /// ranks them (a key the client can use, ECDSA over RSA, the longer key, the later
    /// expiry; the list's order breaks ties); the default when none covers it or the
    /// client sent no name. `None` only when the list is empty.
    pub fn choose(&self, sni: Option<&str>, ecdsa_ok: bool) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        let Some(host) = sni.map(|s| s.trim_end_matches('.').to_ascii_lowercase()) else {
            return Some(0);
        };
        let best = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.names.iter().any(|n| covers(n, &host)))
            .max_by_key(|(i, e)| {
                (
                    ecdsa_ok || !e.ecdsa,
                    e.ecdsa,
                    e.bits,
                    e.not_after_ms,
                    std::cmp::Reverse(*i),
                )
            });
        Some(best.map_or(0, |(i, _)| i))
    }

    pub fn arn(&self, index: usize) -> Option<&str> {
        self.entries.get(index).map(|e| e.arn.as_str())
    }
}

fn accepts_ecdsa(schemes: &[SignatureScheme]) -> bool {
    schemes.iter().any(|s| {
        matches!(
            s,
            SignatureScheme::ECDSA_NISTP256_SHA256 | SignatureScheme::ECDSA_NISTP384_SHA384
        )
    })
}

impl ResolvesServerCert for CertList {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let index = self.choose(hello.server_name(), accepts_ecdsa(hello.signature_schemes()))?;
        Some(self.entries[index].key.clone())
    }
}

/// Parsed keys by certificate ARN with a fingerprint of their PEM text, so that a
/// snapshot re-parses only certificates that changed (re-import).
type KeyCache = HashMap<String, (u64, Arc<CertifiedKey>)>;

fn key_cache() -> &'static Mutex<KeyCache> {
    static CACHE: OnceLock<Mutex<KeyCache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// A listener's resumption state, kept across snapshots.
#[derive(Clone)]
struct Resumption {
    cache: Arc<dyn StoresServerSessions>,
    ticketer: Arc<dyn rustls::server::ProducesTickets>,
}

fn resumption_state() -> &'static Mutex<HashMap<String, Resumption>> {
    static STATE: OnceLock<Mutex<HashMap<String, Resumption>>> = OnceLock::new();
    STATE.get_or_init(Default::default)
}

fn resumption_of(listener_arn: &str) -> Option<Resumption> {
    let mut state = crate::lock(resumption_state());
    if let Some(r) = state.get(listener_arn) {
        return Some(r.clone());
    }
    let ticketer = rustls::crypto::ring::Ticketer::new()
        .map_err(|e| tracing::warn!(error = %e, "no TLS session tickets"))
        .ok()?;
    let r = Resumption {
        cache: ServerSessionMemoryCache::new(SESSION_CACHE),
        ticketer,
    };
    state.insert(listener_arn.to_owned(), r.clone());
    Some(r)
}

fn certified_key(
    cert: &fulmar_model::acm::Certificate,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let (Some(pem), Some(key_pem)) = (&cert.certificate_pem, &cert.private_key_pem) else {
        return Err("the certificate has no PEM certificate and private key".into());
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (pem, key_pem, &cert.chain_pem).hash(&mut hasher);
    let fingerprint = hasher.finish();
    if let Some((f, key)) = crate::lock(key_cache()).get(&cert.arn) {
        if *f == fingerprint {
            return Ok(key.clone());
        }
    }
    let mut chain: Vec<CertificateDer<'static>> = Vec::new();
    for text in std::iter::once(pem).chain(cert.chain_pem.as_ref()) {
        for der in CertificateDer::pem_slice_iter(text.as_bytes()) {
            chain.push(der.map_err(|e| format!("certificate PEM: {e:?}"))?);
        }
    }
    if chain.is_empty() {
        return Err("no certificate in the PEM body".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("private key PEM: {e:?}"))?;
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("private key: {e}"))?;
    let key = Arc::new(CertifiedKey::new(chain, signer));
    crate::lock(key_cache()).insert(cert.arn.clone(), (fingerprint, key.clone()));
    Ok(key)
}

/// Key size in bits from ACM's `KeyAlgorithm` (`RSA_2048`, `EC_prime256v1`, ...).
fn key_bits(algorithm: &str) -> (bool, u32) {
    match algorithm {
        "EC_prime256v1" => (true, 256),
        "EC_secp384r1" => (true, 384),
        "EC_secp521r1" => (true, 521),
        other => (
            false,
            other
                .strip_prefix("RSA_")
                .or_else(|| other.strip_prefix("RSA-"))
                .and_then(|b| b.parse().ok())
                .unwrap_or(2048),
        ),
    }
}

/// Compile the TLS of an HTTPS listener of `lb`; `None` (logged) when its default
/// certificate cannot be used, in which case handshakes fail.
pub(crate) fn compile(config: &Config, lb: &LoadBalancer, listener: &Listener) -> Option<Arc<ListenerTls>> {
    let policy = Policy::of(listener.ssl_policy.as_deref());
    let provider = CryptoProvider {
        cipher_suites: policy.suites(),
        ..rustls::crypto::ring::default_provider()
    };
    let mut entries = Vec::new();
    for (i, arn) in listener.certificates.iter().enumerate() {
        let Some(cert) = config.certificates.get(arn) else {
            tracing::warn!(listener = %listener.arn, certificate = %arn, "listener certificate not found");
            if i == 0 {
                return None;
            }
            continue;
        };
        match certified_key(cert, &provider) {
            Ok(key) => {
                let mut names: Vec<String> = std::iter::once(&cert.domain_name)
                    .chain(&cert.subject_alternative_names)
                    .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                    .collect();
                names.dedup();
                let (ecdsa, bits) = key_bits(&cert.key_algorithm);
                entries.push(Entry {
                    arn: arn.clone(),
                    names,
                    ecdsa,
                    bits,
                    not_after_ms: cert.not_after_ms.unwrap_or(0),
                    key,
                })
            }
            Err(reason) => {
                tracing::warn!(listener = %listener.arn, certificate = %arn, %reason, "certificate not usable");
                if i == 0 {
                    return None;
                }
            }
        }
    }
    if entries.is_empty() {
        tracing::warn!(listener = %listener.arn, "HTTPS listener without a usable certificate");
        return None;
    }
    let certs = Arc::new(CertList { entries });
    let provider = Arc::new(provider);
    let builder = match ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&policy.versions())
    {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(listener = %listener.arn, error = %e, "TLS policy not servable");
            return None;
        }
    };
    // Only passthrough is ever stored (verify needs a trust store, which Fulmar has not).
    let mtls = listener
        .mutual_authentication
        .as_ref()
        .is_some_and(|m| m.mode == "passthrough");
    let builder = if mtls {
        builder.with_client_cert_verifier(Arc::new(AnyClientCertificate(provider)))
    } else {
        builder.with_no_client_auth()
    };
    let mut server = builder.with_cert_resolver(certs.clone());
    server.ignore_client_order = true;
    let http2 = lb.attributes.get("routing.http2.enabled").is_none_or(|v| v != "false");
    server.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    if let Some(r) = resumption_of(&listener.arn) {
        server.session_storage = r.cache;
        server.ticketer = r.ticketer;
    }
    Some(Arc::new(ListenerTls {
        config: Arc::new(server),
        certs,
        mtls,
    }))
}

/// Forget parsed keys and resumption state of certificates and listeners `config` no
/// longer has.
pub(crate) fn retain(config: &Config) {
    crate::lock(key_cache()).retain(|arn, _| config.certificates.contains_key(arn));
    crate::lock(resumption_state()).retain(|arn, _| config.listeners.contains_key(arn));
}

/// The TLS of the listener `conn` arrived on, from the current snapshot; `None` for
/// a plain HTTP listener.
pub(crate) fn of_connection(alb: &Alb, conn: &Connection) -> Option<(Option<Arc<ListenerTls>>, ClientLimits)> {
    alb.with_snapshot(|snapshot| {
        let listener = snapshot.listeners.get(&*conn.listener_arn)?;
        let limits = ClientLimits {
            idle_timeout: listener.idle_timeout,
            keep_alive: listener.http.client_keep_alive,
            accepted: conn.accepted,
        };
        listener.https.then(|| (listener.tls.clone(), limits))
    })
}

/// Serve one connection to an HTTPS listener: handshake, then HTTP/2 or HTTP/1.1
/// over TLS until it closes or the listener stops.
pub(crate) async fn serve(
    stream: TcpStream,
    conn: Arc<Connection>,
    alb: Arc<Alb>,
    tls: Option<Arc<ListenerTls>>,
    limits: ClientLimits,
    mut stop: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
) {
    let _ = stream.set_nodelay(true);
    let obs = conn.observers.listener(&conn.listener_arn);
    let lb = obs.as_ref().map(|o| o.lb.clone());
    let logged = obs.clone();
    let _counted = ConnectionGuard::open(obs);
    let started = std::time::Instant::now();
    let failed = |reason: &dyn std::fmt::Display| {
        tracing::debug!(listener = %conn.listener_arn, client = %conn.client, %reason, "TLS handshake failed");
        if let Some(lb) = &lb {
            lb.client_tls_negotiation_errors.fetch_add(1, Relaxed);
        }
        conn.observers.connection_failed(logged.as_deref(), &conn);
    };
    let Some(tls) = tls else {
        failed(&"the listener has no usable certificate");
        return;
    };
    // The ClientHello is read first so that the certificate chosen for it (the one the
    // resolver will present) is known for the access log.
    let handshake = async {
        let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
        let hello = start.client_hello();
        let chosen = tls
            .certs
            .choose(hello.server_name(), accepts_ecdsa(hello.signature_schemes()));
        let stream = start.into_stream(tls.config.clone()).await?;
        Ok::<_, std::io::Error>((stream, chosen))
    };
    let (stream, chosen) = tokio::select! {
        done = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake) => match done {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return failed(&e),
            Err(_) => return failed(&"timed out"),
        },
        _ = stopped(&mut stop) => return,
    };
    let session = stream.get_ref().1;
    let facts = Tls(Arc::new(Facts {
        protocol: protocol_name(session.protocol_version()),
        cipher: session
            .negotiated_cipher_suite()
            .map_or("-", |s| openssl_name(s.suite())),
        sni: session.server_name().map(str::to_owned),
        cert_arn: chosen.and_then(|i| tls.certs.arn(i)).map(str::to_owned),
        mtls: tls.mtls,
        client_cert: if tls.mtls {
            session.peer_certificates().and_then(ClientCert::of)
        } else {
            None
        },
    }));
    conn.observers
        .connection_established(logged.as_deref(), &conn, Some((facts.clone(), started.elapsed())));
    let h2 = session.alpn_protocol() == Some(b"h2");
    let service = crate::listeners::hyper_service(alb, conn, Some(facts));
    let result = if h2 {
        serve_with_hyper(stream, true, None, service, limits, &mut stop).await
    } else {
        // hyper's header array is sized for the first head's lines (when over 100).
        let mut stream = stream;
        let Some((first, max_headers)) =
            crate::h1::server::read_first_head(&mut stream, limits.idle_timeout, &mut stop).await
        else {
            return;
        };
        let stream = crate::h1::server::Rewind::new(stream, first);
        serve_with_hyper(stream, false, max_headers, service, limits, &mut stop).await
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "TLS client connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_certificate_encodings() {
        assert_eq!(
            url_encode("-----BEGIN X-----\nab+/=c d\n"),
            "-----BEGIN%20X-----%0Aab+/=c%20d%0A"
        );
        assert_eq!(serial_hex(&[0x00, 0xFE, 0x0A]), "FE0A");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("*.example.com", "www.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(covers("example.com", "example.com"));
        assert!(!covers("example.com", "www.example.com"));
    }

    #[test]
    fn policies_map_to_versions() {
        assert_eq!(
            Policy::of(None),
            Policy {
                tls12: true,
                tls13: false
            }
        );
        assert_eq!(
            Policy::of(Some("ELBSecurityPolicy-TLS13-1-3-2021-06")),
            Policy {
                tls12: false,
                tls13: true
            }
        );
        assert_eq!(
            Policy::of(Some("ELBSecurityPolicy-TLS13-1-2-2021-06")),
            Policy {
                tls12: true,
                tls13: true
            }
        );
        assert_eq!(
            Policy::of(Some("ELBSecurityPolicy-FS-1-2-Res-2020-10")),
            Policy {
                tls12: true,
                tls13: false
            }
        );
        assert!(Policy::of(Some("ELBSecurityPolicy-TLS13-1-3-2021-06"))
            .suites()
            .iter()
            .all(|s| s.version() == &rustls::version::TLS13));
    }

    #[test]
    fn suite_names_are_openssl_names() {
        assert_eq!(
            openssl_name(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
            "ECDHE-RSA-AES128-GCM-SHA256"
        );
        assert_eq!(
            openssl_name(CipherSuite::TLS13_AES_256_GCM_SHA384),
            "TLS_AES_256_GCM_SHA384"
        );
    }
}
