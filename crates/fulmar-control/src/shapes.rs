//! Wire shapes shared by several services: tags in, tags out.

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::Tag;

/// A `Tags.member.N` entry of a request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagIn {
    pub key: String,
    pub value: Option<String>,
}

/// A tag in an ELBv2 response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagOut {
    pub key: String,
    pub value: String,
}

impl From<&Tag> for TagOut {
    fn from(t: &Tag) -> TagOut {
        TagOut {
            key: t.key.clone(),
            value: t.value.clone(),
        }
    }
}

pub fn tags_out(tags: &[Tag]) -> Vec<TagOut> {
    tags.iter().map(TagOut::from).collect()
}

/// Merge `add` into `tags`, as AddTags does (an existing key gets the new value).
/// ELBv2 allows 50 tags per resource and rejects duplicate keys in one request.
pub fn merge_tags(tags: &mut Vec<Tag>, add: Vec<TagIn>) -> Result<(), AwsError> {
    let mut seen = std::collections::BTreeSet::new();
    for t in &add {
        if !seen.insert(t.key.as_str()) {
            return Err(AwsError::new(
                "DuplicateTagKeys",
                400,
                format!("Tag key '{}' specified more than once", t.key),
            ));
        }
        if t.key.is_empty() || t.key.len() > 128 {
            return Err(AwsError::validation("Tag keys must be between 1 and 128 characters"));
        }
        if t.value.as_deref().map_or(0, str::len) > 256 {
            return Err(AwsError::validation("Tag values must be at most 256 characters"));
        }
    }
    for t in add {
        let value = t.value.unwrap_or_default();
        match tags.iter_mut().find(|x| x.key == t.key) {
            Some(existing) => existing.value = value,
            None => tags.push(Tag { key: t.key, value }),
        }
    }
    if tags.len() > 50 {
        return Err(AwsError::new(
            "TooManyTags",
            400,
            "You've reached the limit on the number of tags per load balancer",
        ));
    }
    Ok(())
}
