//! EBS volumes: the root and mapped volumes instances launch with. DescribeVolumes
//! and DeleteVolume (of a volume no instance holds).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, Volume};

use super::filters::{self, FilterIn};
use super::paging::page;
use super::{not_found, tag_set, ReturnOut, TagOut, OK};
use crate::{ids, Txn};

pub fn put(txn: &mut Txn, v: Volume) {
    txn.touch(Kind::Volume, &v.id);
    txn.config.volumes.insert(v.id.clone(), Arc::new(v));
}

fn volume(txn: &Txn, id: &str) -> Result<Arc<Volume>, AwsError> {
    txn.config
        .volumes
        .get(id)
        .filter(|v| v.region == txn.region)
        .cloned()
        .ok_or_else(|| not_found("InvalidVolume", "volume", id))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "VolumeId")]
    ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "volumeSet")]
    volumes: Vec<VolumeOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
struct VolumeOut {
    #[serde(rename = "volumeId")]
    id: String,
    size: u32,
    #[serde(rename = "snapshotId")]
    snapshot_id: String,
    #[serde(rename = "availabilityZone")]
    availability_zone: String,
    status: &'static str,
    #[serde(rename = "createTime")]
    create_time: String,
    #[serde(rename = "attachmentSet")]
    attachments: Vec<AttachmentOut>,
    #[serde(rename = "volumeType")]
    volume_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    iops: Option<u32>,
    encrypted: bool,
    #[serde(rename = "multiAttachEnabled")]
    multi_attach: bool,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
}

#[derive(Serialize)]
struct AttachmentOut {
    #[serde(rename = "volumeId")]
    volume_id: String,
    #[serde(rename = "instanceId")]
    instance_id: String,
    device: String,
    status: &'static str,
    #[serde(rename = "attachTime")]
    attach_time: String,
    #[serde(rename = "deleteOnTermination")]
    delete_on_termination: bool,
}

fn status(v: &Volume) -> &'static str {
    if v.attachment.is_some() {
        "in-use"
    } else {
        "available"
    }
}

pub fn describe_volumes(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    for id in &input.ids {
        volume(txn, id)?;
    }
    if !input.ids.is_empty() && input.max_results.is_some() {
        return Err(AwsError::new(
            "InvalidParameterCombination",
            400,
            "The parameter volumeSet cannot be used with the parameter maxResults",
        ));
    }
    let all: Vec<VolumeOut> = txn
        .config
        .volumes
        .values()
        .filter(|v| v.region == txn.region && (input.ids.is_empty() || input.ids.contains(&v.id)))
        .filter(|v| {
            let a = v.attachment.as_ref();
            filters::matches(&input.filters, &v.tags, |name| match name {
                "volume-id" => Some(vec![v.id.clone()]),
                "status" => Some(vec![status(v).into()]),
                "size" => Some(vec![v.size_gib.to_string()]),
                "volume-type" => Some(vec![v.volume_type.clone()]),
                "availability-zone" => Some(vec![v.availability_zone.clone()]),
                "encrypted" => Some(vec![v.encrypted.to_string()]),
                "attachment.instance-id" => Some(a.map(|a| a.instance_id.clone()).into_iter().collect()),
                "attachment.device" => Some(a.map(|a| a.device.clone()).into_iter().collect()),
                "attachment.status" => Some(a.map(|_| "attached".to_string()).into_iter().collect()),
                "attachment.delete-on-termination" => {
                    Some(a.map(|a| a.delete_on_termination.to_string()).into_iter().collect())
                }
                _ => None,
            })
        })
        .map(|v| VolumeOut {
            id: v.id.clone(),
            size: v.size_gib,
            snapshot_id: v.snapshot_id.clone().unwrap_or_default(),
            availability_zone: v.availability_zone.clone(),
            status: status(v),
            create_time: ids::iso8601(v.create_time_ms),
            attachments: v
                .attachment
                .iter()
                .map(|a| AttachmentOut {
                    volume_id: v.id.clone(),
                    instance_id: a.instance_id.clone(),
                    device: a.device.clone(),
                    status: "attached",
                    attach_time: ids::iso8601(a.attach_time_ms),
                    delete_on_termination: a.delete_on_termination,
                })
                .collect(),
            volume_type: v.volume_type.clone(),
            iops: v.iops,
            encrypted: v.encrypted,
            multi_attach: false,
            tags: tag_set(&v.tags),
        })
        .collect();
    let (volumes, next_token) = page(all, input.max_results, input.next_token.as_deref(), 5)?;
    Ok(DescribeOut { volumes, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    volume_id: String,
}

pub fn delete_volume(txn: &mut Txn, input: DeleteInput) -> Result<ReturnOut, AwsError> {
    let v = volume(txn, &input.volume_id)?;
    if let Some(a) = &v.attachment {
        return Err(AwsError::new(
            "VolumeInUse",
            400,
            format!("Volume {} is currently attached to {}", v.id, a.instance_id),
        ));
    }
    txn.config.volumes.remove(&v.id);
    txn.touch(Kind::Volume, &v.id);
    Ok(OK)
}
