//! TLS towards the targets of `HTTPS` target groups (requests and health checks).
//!
//! As on AWS, the load balancer encrypts the connection but does not authenticate the
//! target: "the load balancer does not validate these certificates", so a target may
//! present a self-signed or expired certificate for any name. The handshake still
//! checks that the target holds the key of the certificate it presents. Targets are IP
//! addresses, and an IP address is never sent as a server name, so no SNI goes out.
//!
//! ALPN offers `h2` to targets of `HTTP2` and `GRPC` target groups, `http/1.1` to the
//! others. Each configuration is built once and shared (with its session cache, so
//! new connections to a target resume the previous TLS session).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Accepts whatever certificate a target presents (AWS ALB does not validate target
/// certificates), while still verifying the handshake signatures made with its key.
#[derive(Debug)]
struct AnyTargetCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyTargetCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn build(alpn: &[u8]) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyTargetCertificate(provider.clone()));
    // Invariant: the ring provider supports the default protocol versions.
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// The client configuration for HTTP/2 (`h2`) or HTTP/1.1 targets.
fn config(http2: bool) -> Arc<ClientConfig> {
    static H1: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    static H2: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if http2 {
        H2.get_or_init(|| build(b"h2")).clone()
    } else {
        H1.get_or_init(|| build(b"http/1.1")).clone()
    }
}

/// Run the TLS handshake with `target` over `stream`, offering `h2` when `http2`.
pub(crate) async fn connect(
    stream: TcpStream,
    target: SocketAddr,
    http2: bool,
) -> std::io::Result<TlsStream<TcpStream>> {
    let name = ServerName::IpAddress(target.ip().into());
    TlsConnector::from(config(http2)).connect(name, stream).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_offer_the_right_alpn() {
        assert_eq!(config(true).alpn_protocols, vec![b"h2".to_vec()]);
        assert_eq!(config(false).alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(Arc::ptr_eq(&config(true), &config(true)));
    }
}
