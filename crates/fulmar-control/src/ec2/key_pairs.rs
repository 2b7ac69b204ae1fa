//! Key pairs: create (the private key is returned once and never stored), import an
//! OpenSSH public key, describe, delete.

use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{KeyPair, Kind};

use super::filters::{self, FilterIn};
use super::keys;
use super::{check_tag_specs, invalid, missing, tag_set, tags_for, TagOut, TagSpecificationIn};
use crate::{ids, Txn};

fn key_not_found(name: &str) -> AwsError {
    AwsError::new(
        "InvalidKeyPair.NotFound",
        400,
        format!("The key pair '{name}' does not exist"),
    )
}

/// A key pair of the calling region by name.
pub fn by_name(txn: &Txn, name: &str) -> Result<Arc<KeyPair>, AwsError> {
    txn.config
        .key_pairs
        .values()
        .find(|k| k.region == txn.region && k.name == name)
        .cloned()
        .ok_or_else(|| key_not_found(name))
}

fn check_name(txn: &Txn, name: Option<String>) -> Result<String, AwsError> {
    let name = name.ok_or_else(|| missing("keyName"))?;
    if name.is_empty() || name.len() > 255 || !name.is_ascii() {
        return Err(invalid(format!(
            "Value ({name}) for parameter keyName is invalid. Length exceeds maximum of 255 ASCII characters."
        )));
    }
    if txn
        .config
        .key_pairs
        .values()
        .any(|k| k.region == txn.region && k.name == name)
    {
        return Err(AwsError::new(
            "InvalidKeyPair.Duplicate",
            400,
            format!("The keypair '{name}' already exists."),
        ));
    }
    Ok(name)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    key_name: Option<String>,
    key_type: Option<String>,
    key_format: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct CreateOut {
    #[serde(rename = "keyName")]
    name: String,
    #[serde(rename = "keyFingerprint")]
    fingerprint: String,
    #[serde(rename = "keyMaterial")]
    material: String,
    #[serde(rename = "keyPairId")]
    id: String,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<CreateOut, AwsError> {
    check_tag_specs(&input.tag_specifications, &["key-pair"])?;
    let name = check_name(txn, input.key_name)?;
    let key_type = input.key_type.unwrap_or_else(|| "rsa".into());
    if key_type != "rsa" && key_type != "ed25519" {
        return Err(invalid(format!(
            "Value ({key_type}) for parameter keyType is invalid. Valid values are rsa, ed25519."
        )));
    }
    if let Some(f) = input.key_format.as_deref().filter(|f| *f != "pem") {
        return Err(invalid(format!(
            "Value ({f}) for parameter keyFormat is invalid. Only pem is supported."
        )));
    }
    let generated = keys::generate(&key_type, &name).map_err(|e| AwsError::internal(e.to_string()))?;
    let key = KeyPair {
        id: ids::ec2("key"),
        region: txn.region.clone(),
        name,
        key_type,
        fingerprint: generated.fingerprint,
        public_key: generated.public_openssh,
        create_time_ms: ids::now_ms(),
        tags: tags_for(&input.tag_specifications, "key-pair"),
    };
    let out = CreateOut {
        name: key.name.clone(),
        fingerprint: key.fingerprint.clone(),
        material: generated.private_key,
        id: key.id.clone(),
        tags: tag_set(&key.tags),
    };
    txn.touch(Kind::KeyPair, &key.id);
    txn.config.key_pairs.insert(key.id.clone(), Arc::new(key));
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportInput {
    key_name: Option<String>,
    public_key_material: Option<String>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct ImportOut {
    #[serde(rename = "keyFingerprint")]
    fingerprint: String,
    #[serde(rename = "keyName")]
    name: String,
    #[serde(rename = "keyPairId")]
    id: String,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

pub fn import(txn: &mut Txn, input: ImportInput) -> Result<ImportOut, AwsError> {
    check_tag_specs(&input.tag_specifications, &["key-pair"])?;
    let name = check_name(txn, input.key_name)?;
    let raw = input.public_key_material.ok_or_else(|| missing("publicKeyMaterial"))?;
    // A blob travels base64-encoded; accept the bare key text too.
    let material = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .unwrap_or_else(|_| raw.clone().into_bytes());
    let imported = keys::import(&material).map_err(|e| AwsError::new("InvalidKey.Format", 400, e.to_string()))?;
    let key = KeyPair {
        id: ids::ec2("key"),
        region: txn.region.clone(),
        name,
        key_type: imported.key_type.to_string(),
        fingerprint: imported.fingerprint,
        public_key: imported.public_openssh,
        create_time_ms: ids::now_ms(),
        tags: tags_for(&input.tag_specifications, "key-pair"),
    };
    let out = ImportOut {
        fingerprint: key.fingerprint.clone(),
        name: key.name.clone(),
        id: key.id.clone(),
        tags: tag_set(&key.tags),
    };
    txn.touch(Kind::KeyPair, &key.id);
    txn.config.key_pairs.insert(key.id.clone(), Arc::new(key));
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "KeyName")]
    names: Vec<String>,
    #[serde(default, rename = "KeyPairId")]
    ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    include_public_key: Option<bool>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "keySet")]
    keys: Vec<KeyOut>,
}

#[derive(Serialize)]
struct KeyOut {
    #[serde(rename = "keyPairId")]
    id: String,
    #[serde(rename = "keyName")]
    name: String,
    #[serde(rename = "keyFingerprint")]
    fingerprint: String,
    #[serde(rename = "keyType")]
    key_type: String,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
    #[serde(rename = "publicKey", skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(rename = "createTime")]
    create_time: String,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    let mine: Vec<&Arc<KeyPair>> = txn
        .config
        .key_pairs
        .values()
        .filter(|k| k.region == txn.region)
        .collect();
    for n in &input.names {
        if !mine.iter().any(|k| &k.name == n) {
            return Err(key_not_found(n));
        }
    }
    for id in &input.ids {
        if !mine.iter().any(|k| &k.id == id) {
            return Err(AwsError::new(
                "InvalidKeyPair.NotFound",
                400,
                format!("The key pair ID '{id}' does not exist"),
            ));
        }
    }
    let with_public = input.include_public_key.unwrap_or(false);
    let keys = mine
        .into_iter()
        .filter(|k| input.names.is_empty() || input.names.contains(&k.name))
        .filter(|k| input.ids.is_empty() || input.ids.contains(&k.id))
        .filter(|k| {
            filters::matches(&input.filters, &k.tags, |name| match name {
                "key-name" => Some(vec![k.name.clone()]),
                "key-pair-id" => Some(vec![k.id.clone()]),
                "fingerprint" => Some(vec![k.fingerprint.clone()]),
                "key-type" => Some(vec![k.key_type.clone()]),
                _ => None,
            })
        })
        .map(|k| KeyOut {
            id: k.id.clone(),
            name: k.name.clone(),
            fingerprint: k.fingerprint.clone(),
            key_type: k.key_type.clone(),
            tags: tag_set(&k.tags),
            public_key: with_public.then(|| k.public_key.clone()),
            create_time: ids::iso8601(k.create_time_ms),
        })
        .collect();
    Ok(DescribeOut { keys })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    key_name: Option<String>,
    key_pair_id: Option<String>,
}

#[derive(Serialize)]
pub struct DeleteOut {
    #[serde(rename = "return")]
    ok: bool,
    #[serde(rename = "keyPairId", skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

/// DeleteKeyPair succeeds whether or not the key exists, as on AWS.
pub fn delete(txn: &mut Txn, input: DeleteInput) -> Result<DeleteOut, AwsError> {
    if input.key_name.is_none() && input.key_pair_id.is_none() {
        return Err(missing("keyName"));
    }
    let found = txn
        .config
        .key_pairs
        .values()
        .find(|k| {
            k.region == txn.region
                && (Some(&k.name) == input.key_name.as_ref() || Some(&k.id) == input.key_pair_id.as_ref())
        })
        .map(|k| k.id.clone());
    if let Some(id) = &found {
        txn.config.key_pairs.remove(id);
        txn.touch(Kind::KeyPair, id);
    }
    Ok(DeleteOut { ok: true, id: found })
}
