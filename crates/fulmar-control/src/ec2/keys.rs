//! Key material for EC2 key pairs: generation (RSA 2048, Ed25519), import of OpenSSH
//! public keys, and fingerprints exactly as EC2 computes them:
//! - created RSA: SHA-1 of the DER PKCS#8 private key, colon-separated hex;
//! - imported RSA: MD5 of the DER SubjectPublicKeyInfo, colon-separated hex;
//! - Ed25519 (either way): base64 SHA-256 of the SSH public key blob, as OpenSSH.

use base64::Engine as _;
use md5::Digest as _;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, LineEnding, PrivateKey, PublicKey};

/// A freshly generated key pair: the private key (shown once) and the public half.
pub struct Generated {
    pub private_key: String,
    pub public_openssh: String,
    pub fingerprint: String,
}

/// A parsed imported public key.
pub struct Imported {
    pub key_type: &'static str,
    pub public_openssh: String,
    pub fingerprint: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("Key is not in valid OpenSSH public key format")]
    Format,
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn ed25519_fingerprint(key: &PublicKey) -> Result<String, KeyError> {
    let blob = key.to_bytes().map_err(|_| KeyError::Format)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&blob)))
}

/// Generate a key pair of `key_type` (`rsa` or `ed25519`), commented with `name`.
pub fn generate(key_type: &str, name: &str) -> Result<Generated, KeyError> {
    let mut rng = rand::thread_rng();
    match key_type {
        "ed25519" => {
            let mut key =
                PrivateKey::random(&mut rng, Algorithm::Ed25519).map_err(|e| KeyError::Generate(e.to_string()))?;
            key.set_comment(name);
            let private_key = key
                .to_openssh(LineEnding::LF)
                .map_err(|e| KeyError::Generate(e.to_string()))?
                .to_string();
            let public = key.public_key().clone();
            Ok(Generated {
                fingerprint: ed25519_fingerprint(&public)?,
                public_openssh: public.to_openssh().map_err(|e| KeyError::Generate(e.to_string()))?,
                private_key,
            })
        }
        _ => {
            let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| KeyError::Generate(e.to_string()))?;
            let private_key = key
                .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
                .map_err(|e| KeyError::Generate(e.to_string()))?
                .to_string();
            let pkcs8 = key.to_pkcs8_der().map_err(|e| KeyError::Generate(e.to_string()))?;
            let fingerprint = colon_hex(&sha1::Sha1::digest(pkcs8.as_bytes()));
            let public = ssh_key::public::RsaPublicKey::try_from(key.to_public_key())
                .map_err(|e| KeyError::Generate(e.to_string()))?;
            let mut public = PublicKey::from(KeyData::Rsa(public));
            public.set_comment(name);
            Ok(Generated {
                private_key,
                public_openssh: public.to_openssh().map_err(|e| KeyError::Generate(e.to_string()))?,
                fingerprint,
            })
        }
    }
}

/// Parse imported public key material: an OpenSSH public key line (`ssh-rsa AAAA...`
/// or `ssh-ed25519 AAAA...`).
pub fn import(material: &[u8]) -> Result<Imported, KeyError> {
    let text = std::str::from_utf8(material).map_err(|_| KeyError::Format)?.trim();
    let key = PublicKey::from_openssh(text).map_err(|_| KeyError::Format)?;
    match key.key_data() {
        KeyData::Ed25519(_) => Ok(Imported {
            key_type: "ed25519",
            fingerprint: ed25519_fingerprint(&key)?,
            public_openssh: key.to_openssh().map_err(|_| KeyError::Format)?,
        }),
        KeyData::Rsa(r) => {
            let public = rsa::RsaPublicKey::try_from(r).map_err(|_| KeyError::Format)?;
            let spki = public.to_public_key_der().map_err(|_| KeyError::Format)?;
            Ok(Imported {
                key_type: "rsa",
                fingerprint: colon_hex(&md5::Md5::digest(spki.as_bytes())),
                public_openssh: key.to_openssh().map_err(|_| KeyError::Format)?,
            })
        }
        _ => Err(KeyError::Format),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ed25519_round_trip() {
        let g = super::generate("ed25519", "k").expect("generate");
        assert!(g.private_key.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let i = super::import(g.public_openssh.as_bytes()).expect("import");
        assert_eq!(i.key_type, "ed25519");
        assert_eq!(i.fingerprint, g.fingerprint);
        assert!(super::import(b"not a key").is_err());
    }
}
