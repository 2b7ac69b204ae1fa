//! `lb_cookie` stickiness: the AWSALB / AWSALBCORS cookie value is opaque and
//! tamper-proof (an HMAC over the chosen target), so a forged or stale cookie is
//! detected and the client is re-balanced with a fresh cookie.
//!
//! Layout before encoding: version byte `1`, expiry (u64 big-endian Unix seconds),
//! port (u16 big-endian), the target id's UTF-8 bytes, then a 32-byte HMAC-SHA256
//! tag. The tag covers the same bytes preceded by the target group ARN (length
//! prefixed), so the ARN is bound without being carried. The whole is URL-safe
//! base64 without padding, which is a valid cookie value. A cookie is valid while
//! `now < expiry`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 8 + 2;
const TAG: usize = 32;

/// Seals and opens stickiness cookie values with a per-node secret key.
#[derive(Clone)]
pub struct CookieSealer {
    key: [u8; 32],
}

impl std::fmt::Debug for CookieSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSealer { key: <redacted> }")
    }
}

impl CookieSealer {
    pub fn new(key: [u8; 32]) -> CookieSealer {
        CookieSealer { key }
    }

    /// The cookie value naming this target of this target group, valid until `expires_unix`.
    pub fn seal(&self, target_group_arn: &str, target_id: &str, port: u16, expires_unix: u64) -> String {
        let mut body = Vec::with_capacity(HEADER + target_id.len() + TAG);
        body.push(VERSION);
        body.extend_from_slice(&expires_unix.to_be_bytes());
        body.extend_from_slice(&port.to_be_bytes());
        body.extend_from_slice(target_id.as_bytes());
        let tag = self.mac(target_group_arn, &body).finalize().into_bytes();
        body.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(body)
    }

    /// The (target id, port) a cookie names, if it is authentic, for this target group and unexpired at `now_unix`.
    pub fn open(&self, value: &str, target_group_arn: &str, now_unix: u64) -> Option<(String, u16)> {
        let raw = URL_SAFE_NO_PAD.decode(value.as_bytes()).ok()?;
        if raw.len() < HEADER + TAG || raw[0] != VERSION {
            return None;
        }
        let (body, tag) = raw.split_at(raw.len() - TAG);
        self.mac(target_group_arn, body).verify_slice(tag).ok()?;
        let expires = u64::from_be_bytes(body[1..9].try_into().ok()?);
        if now_unix >= expires {
            return None;
        }
        let port = u16::from_be_bytes(body[9..11].try_into().ok()?);
        let target_id = std::str::from_utf8(&body[HEADER..]).ok()?;
        Some((target_id.to_owned(), port))
    }

    fn mac(&self, target_group_arn: &str, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so a 32-byte key cannot be rejected.
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&(target_group_arn.len() as u64).to_be_bytes());
        mac.update(target_group_arn.as_bytes());
        mac.update(body);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067";

    fn sealer() -> CookieSealer {
        CookieSealer::new([7; 32])
    }

    #[test]
    fn round_trip() {
        let v = sealer().seal(TG, "i-0123456789abcdef0", 8080, 1_000);
        assert!(v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(sealer().open(&v, TG, 999), Some(("i-0123456789abcdef0".into(), 8080)));
    }

    #[test]
    fn expired_is_rejected() {
        let v = sealer().seal(TG, "10.0.0.1", 80, 1_000);
        assert_eq!(sealer().open(&v, TG, 1_000), None);
        assert_eq!(sealer().open(&v, TG, 5_000), None);
    }

    #[test]
    fn wrong_group_or_key_is_rejected() {
        let v = sealer().seal(TG, "10.0.0.1", 80, 1_000);
        assert_eq!(sealer().open(&v, &TG.replace("web", "api"), 0), None);
        assert_eq!(CookieSealer::new([8; 32]).open(&v, TG, 0), None);
    }

    #[test]
    fn tampering_is_rejected() {
        let v = sealer().seal(TG, "10.0.0.1", 80, 1_000);
        let mut raw = URL_SAFE_NO_PAD.decode(&v).expect("we just encoded it");
        for i in 0..raw.len() {
            raw[i] ^= 1;
            assert_eq!(sealer().open(&URL_SAFE_NO_PAD.encode(&raw), TG, 0), None, "byte {i}");
            raw[i] ^= 1;
        }
        assert_eq!(sealer().open("not base64!", TG, 0), None);
        assert_eq!(sealer().open("", TG, 0), None);
        assert_eq!(sealer().open(&v[..v.len() - 4], TG, 0), None);
    }

    #[test]
    fn debug_hides_the_key() {
        assert!(!format!("{:?}", sealer()).contains('7'));
    }
}
