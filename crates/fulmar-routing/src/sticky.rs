//! `lb_cookie` stickiness: the AWSALB / AWSALBCORS cookie value is opaque and
//! tamper-proof (an HMAC over the chosen target), so a forged or stale cookie is
//! detected and the client is re-balanced with a fresh cookie.

/// Seals and opens stickiness cookie values with a per-node secret key.
#[derive(Clone)]
pub struct CookieSealer {
    // implementation-defined
}

impl CookieSealer {
    pub fn new(key: [u8; 32]) -> CookieSealer {
        todo!()
    }

    /// The cookie value naming this target of this target group, valid until `expires_unix`.
    pub fn seal(&self, target_group_arn: &str, target_id: &str, port: u16, expires_unix: u64) -> String {
        todo!()
    }

    /// The (target id, port) a cookie names, if it is authentic, for this target group and unexpired at `now_unix`.
    pub fn open(&self, value: &str, target_group_arn: &str, now_unix: u64) -> Option<(String, u16)> {
        todo!()
    }
}
