//! AddTags, RemoveTags, DescribeTags over every taggable ELBv2 resource.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, Tag};

use super::load_balancers::Empty;
use super::{lb_not_found, tg_not_found};
use crate::shapes::{merge_tags, tags_out, TagIn, TagOut};
use crate::Txn;

/// The tags of the resource an ARN names, or the not-found error of its kind.
fn tags_of(txn: &Txn, arn: &str) -> Result<(Kind, Vec<Tag>), AwsError> {
    let c = &txn.config;
    if arn.contains(":loadbalancer/") {
        c.load_balancers
            .get(arn)
            .map(|x| (Kind::LoadBalancer, x.tags.clone()))
            .ok_or_else(lb_not_found)
    } else if arn.contains(":targetgroup/") {
        c.target_groups
            .get(arn)
            .map(|x| (Kind::TargetGroup, x.tags.clone()))
            .ok_or_else(tg_not_found)
    } else if arn.contains(":listener-rule/") {
        c.rules
            .get(arn)
            .map(|x| (Kind::Rule, x.tags.clone()))
            .ok_or_else(|| AwsError::new("RuleNotFound", 400, "The specified rule does not exist."))
    } else if arn.contains(":listener/") {
        c.listeners
            .get(arn)
            .map(|x| (Kind::Listener, x.tags.clone()))
            .ok_or_else(|| AwsError::new("ListenerNotFound", 400, "The specified listener does not exist."))
    } else {
        Err(AwsError::validation(format!(
            "The ARN '{arn}' is not a valid resource ARN"
        )))
    }
}

fn set_tags(txn: &mut Txn, kind: Kind, arn: &str, tags: Vec<Tag>) {
    let c = &mut txn.config;
    match kind {
        Kind::LoadBalancer => {
            if let Some(x) = c.load_balancers.get(arn) {
                let mut x = (**x).clone();
                x.tags = tags;
                c.load_balancers.insert(arn.to_string(), Arc::new(x));
            }
        }
        Kind::TargetGroup => {
            if let Some(x) = c.target_groups.get(arn) {
                let mut x = (**x).clone();
                x.tags = tags;
                c.target_groups.insert(arn.to_string(), Arc::new(x));
            }
        }
        Kind::Listener => {
            if let Some(x) = c.listeners.get(arn) {
                let mut x = (**x).clone();
                x.tags = tags;
                c.listeners.insert(arn.to_string(), Arc::new(x));
            }
        }
        Kind::Rule => {
            if let Some(x) = c.rules.get(arn) {
                let mut x = (**x).clone();
                x.tags = tags;
                c.rules.insert(arn.to_string(), Arc::new(x));
            }
        }
        _ => return,
    }
    txn.touch(kind, arn);
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddInput {
    #[serde(default)]
    resource_arns: Vec<String>,
    #[serde(default)]
    tags: Vec<TagIn>,
}

pub fn add(txn: &mut Txn, input: AddInput) -> Result<Empty, AwsError> {
    let mut updates = Vec::new();
    for arn in &input.resource_arns {
        let (kind, mut tags) = tags_of(txn, arn)?;
        let add = input
            .tags
            .iter()
            .map(|t| TagIn {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect();
        merge_tags(&mut tags, add)?;
        updates.push((kind, arn.clone(), tags));
    }
    for (kind, arn, tags) in updates {
        set_tags(txn, kind, &arn, tags);
    }
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveInput {
    #[serde(default)]
    resource_arns: Vec<String>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

pub fn remove(txn: &mut Txn, input: RemoveInput) -> Result<Empty, AwsError> {
    let mut updates = Vec::new();
    for arn in &input.resource_arns {
        let (kind, mut tags) = tags_of(txn, arn)?;
        tags.retain(|t| !input.tag_keys.contains(&t.key));
        updates.push((kind, arn.clone(), tags));
    }
    for (kind, arn, tags) in updates {
        set_tags(txn, kind, &arn, tags);
    }
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default)]
    resource_arns: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeOut {
    tag_descriptions: Vec<TagDescriptionOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TagDescriptionOut {
    resource_arn: String,
    tags: Vec<TagOut>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    if input.resource_arns.len() > 20 {
        return Err(AwsError::validation("At most 20 resource ARNs can be specified"));
    }
    let mut out = Vec::new();
    for arn in input.resource_arns {
        let (_, tags) = tags_of(txn, &arn)?;
        out.push(TagDescriptionOut {
            resource_arn: arn,
            tags: tags_out(&tags),
        });
    }
    Ok(DescribeOut { tag_descriptions: out })
}
