//! DescribeInstances, DescribeInstanceStatus and DescribeInstanceAttribute: instances
//! as EC2 shows them, grouped by reservation, with the state reported at the moment
//! of the call.

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Instance, InstanceState};

use super::filters::{self, FilterIn};
use super::instances::{instance, visible};
use super::interfaces::{self, group_set, GroupIdentifierOut, InterfaceOut};
use super::paging::page;
use super::{invalid, now, tag_set, TagOut, ValueIn};
use crate::{ids, Txn};

#[derive(Serialize)]
pub struct StateOut {
    code: i32,
    name: &'static str,
}

impl StateOut {
    pub fn of(s: InstanceState) -> StateOut {
        StateOut {
            code: s.code(),
            name: s.as_str(),
        }
    }
}

/// `2024-05-01 12:00:00 GMT`, as state transition reasons quote the time.
pub fn reason_time(ms: i64) -> String {
    let iso = ids::iso8601(ms);
    format!("{} {} GMT", &iso[..10], &iso[11..19])
}

#[derive(Serialize)]
pub struct InstanceOut {
    #[serde(rename = "instanceId")]
    id: String,
    #[serde(rename = "imageId")]
    image_id: String,
    #[serde(rename = "instanceState")]
    state: StateOut,
    #[serde(rename = "privateDnsName")]
    private_dns: String,
    #[serde(rename = "dnsName")]
    public_dns: String,
    reason: String,
    #[serde(rename = "keyName", skip_serializing_if = "Option::is_none")]
    key_name: Option<String>,
    #[serde(rename = "amiLaunchIndex")]
    ami_launch_index: u32,
    #[serde(rename = "productCodes")]
    product_codes: Vec<()>,
    #[serde(rename = "instanceType")]
    instance_type: String,
    #[serde(rename = "launchTime")]
    launch_time: String,
    placement: PlacementOut,
    monitoring: MonitoringOut,
    #[serde(rename = "subnetId", skip_serializing_if = "Option::is_none")]
    subnet_id: Option<String>,
    #[serde(rename = "vpcId", skip_serializing_if = "Option::is_none")]
    vpc_id: Option<String>,
    #[serde(rename = "privateIpAddress", skip_serializing_if = "Option::is_none")]
    private_ip: Option<String>,
    #[serde(rename = "ipAddress", skip_serializing_if = "Option::is_none")]
    public_ip: Option<String>,
    #[serde(rename = "sourceDestCheck", skip_serializing_if = "Option::is_none")]
    source_dest_check: Option<bool>,
    #[serde(rename = "groupSet")]
    groups: Vec<GroupIdentifierOut>,
    #[serde(rename = "stateReason", skip_serializing_if = "Option::is_none")]
    state_reason: Option<StateReasonOut>,
    architecture: &'static str,
    #[serde(rename = "rootDeviceType")]
    root_device_type: &'static str,
    #[serde(rename = "rootDeviceName")]
    root_device_name: String,
    #[serde(rename = "blockDeviceMapping")]
    block_devices: Vec<BlockDeviceOut>,
    #[serde(rename = "virtualizationType")]
    virtualization_type: &'static str,
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    client_token: Option<String>,
    #[serde(rename = "tagSet")]
    tags: Vec<TagOut>,
    hypervisor: &'static str,
    #[serde(rename = "networkInterfaceSet")]
    interfaces: Vec<InterfaceOut>,
    #[serde(rename = "ebsOptimized")]
    ebs_optimized: bool,
    #[serde(rename = "enaSupport")]
    ena_support: bool,
    #[serde(rename = "platformDetails")]
    platform_details: &'static str,
    #[serde(rename = "usageOperation")]
    usage_operation: &'static str,
}

#[derive(Serialize)]
struct PlacementOut {
    #[serde(rename = "availabilityZone")]
    availability_zone: String,
    #[serde(rename = "groupName")]
    group_name: &'static str,
    tenancy: &'static str,
}

#[derive(Serialize)]
struct MonitoringOut {
    state: &'static str,
}

#[derive(Serialize)]
struct StateReasonOut {
    code: &'static str,
    message: &'static str,
}

#[derive(Serialize)]
struct BlockDeviceOut {
    #[serde(rename = "deviceName")]
    device_name: String,
    ebs: EbsOut,
}

#[derive(Serialize)]
struct EbsOut {
    #[serde(rename = "volumeId")]
    volume_id: String,
    status: &'static str,
    #[serde(rename = "attachTime")]
    attach_time: String,
    #[serde(rename = "deleteOnTermination")]
    delete_on_termination: bool,
}

pub fn render_instance(txn: &Txn, i: &Instance, now_ms: i64) -> InstanceOut {
    let state = i.state_at(now_ms);
    let gone = matches!(state, InstanceState::Terminated);
    let state_reason = match state {
        InstanceState::Stopping | InstanceState::Stopped => Some(StateReasonOut {
            code: "Client.UserInitiatedShutdown",
            message: "Client.UserInitiatedShutdown: User initiated shutdown",
        }),
        InstanceState::ShuttingDown | InstanceState::Terminated => Some(StateReasonOut {
            code: "Client.UserInitiatedShutdown",
            message: "Client.UserInitiatedShutdown: User initiated shutdown",
        }),
        _ => None,
    };
    let mut block_devices: Vec<BlockDeviceOut> = txn
        .config
        .volumes
        .values()
        .filter_map(|v| v.attachment.as_ref().filter(|a| a.instance_id == i.id).map(|a| (v, a)))
        .map(|(v, a)| BlockDeviceOut {
            device_name: a.device.clone(),
            ebs: EbsOut {
                volume_id: v.id.clone(),
                status: "attached",
                attach_time: ids::iso8601(a.attach_time_ms),
                delete_on_termination: a.delete_on_termination,
            },
        })
        .collect();
    block_devices.sort_by(|a, b| a.device_name.cmp(&b.device_name));
    let eni = txn.config.network_interfaces.get(&i.network_interface_id);
    InstanceOut {
        id: i.id.clone(),
        image_id: i.image_id.clone(),
        state: StateOut::of(state),
        private_dns: if gone {
            String::new()
        } else {
            interfaces::private_dns(&i.region, i.private_ip)
        },
        public_dns: i
            .public_ip
            .map(|ip| interfaces::public_dns(&i.region, ip))
            .unwrap_or_default(),
        reason: i.state_reason.clone(),
        key_name: i.key_name.clone(),
        ami_launch_index: i.ami_launch_index,
        product_codes: Vec::new(),
        instance_type: i.instance_type.clone(),
        launch_time: ids::iso8601(i.launch_time_ms),
        placement: PlacementOut {
            availability_zone: i.availability_zone.clone(),
            group_name: "",
            tenancy: "default",
        },
        monitoring: MonitoringOut { state: "disabled" },
        subnet_id: (!gone).then(|| i.subnet_id.clone()),
        vpc_id: (!gone).then(|| i.vpc_id.clone()),
        private_ip: (!gone).then(|| i.private_ip.to_string()),
        public_ip: i.public_ip.map(|ip| ip.to_string()),
        source_dest_check: eni.map(|e| e.source_dest_check),
        groups: if gone {
            Vec::new()
        } else {
            group_set(txn, &i.security_groups)
        },
        state_reason,
        architecture: "x86_64",
        root_device_type: "ebs",
        root_device_name: i.root_device_name.clone(),
        block_devices,
        virtualization_type: "hvm",
        client_token: i.client_token.clone(),
        tags: tag_set(&i.tags),
        hypervisor: "xen",
        interfaces: eni.map(|e| interfaces::render(txn, e)).into_iter().collect(),
        ebs_optimized: false,
        ena_support: true,
        platform_details: "Linux/UNIX",
        usage_operation: "RunInstances",
    }
}

/// The values an instance has for a DescribeInstances/DescribeInstanceStatus filter.
fn field(txn: &Txn, i: &Instance, now_ms: i64, name: &str) -> Option<Vec<String>> {
    let state = i.state_at(now_ms);
    let group_names = || {
        i.security_groups
            .iter()
            .filter_map(|g| txn.config.security_groups.get(g).map(|x| x.name.clone()))
            .collect()
    };
    let volumes = || {
        txn.config
            .volumes
            .values()
            .filter_map(|v| {
                v.attachment
                    .as_ref()
                    .filter(|a| a.instance_id == i.id)
                    .map(|a| (v.id.clone(), a.delete_on_termination))
            })
            .collect::<Vec<_>>()
    };
    Some(match name {
        "instance-id" => vec![i.id.clone()],
        "instance-state-name" => vec![state.as_str().into()],
        "instance-state-code" => vec![state.code().to_string()],
        "instance-type" => vec![i.instance_type.clone()],
        "image-id" => vec![i.image_id.clone()],
        "key-name" => i.key_name.iter().cloned().collect(),
        "subnet-id" | "network-interface.subnet-id" => vec![i.subnet_id.clone()],
        "vpc-id" | "network-interface.vpc-id" => vec![i.vpc_id.clone()],
        "availability-zone" => vec![i.availability_zone.clone()],
        "private-ip-address" | "network-interface.addresses.private-ip-address" => vec![i.private_ip.to_string()],
        "ip-address" | "network-interface.association.public-ip" => {
            i.public_ip.iter().map(|ip| ip.to_string()).collect()
        }
        "private-dns-name" => vec![interfaces::private_dns(&i.region, i.private_ip)],
        "dns-name" => i
            .public_ip
            .iter()
            .map(|ip| interfaces::public_dns(&i.region, *ip))
            .collect(),
        "network-interface.network-interface-id" => vec![i.network_interface_id.clone()],
        "network-interface.mac-address" => vec![i.mac_address.clone()],
        "instance.group-id" | "group-id" | "network-interface.group-id" => i.security_groups.clone(),
        "instance.group-name" | "group-name" | "network-interface.group-name" => group_names(),
        "reservation-id" => vec![i.reservation_id.clone()],
        "owner-id" => vec![i.owner_id.clone()],
        "launch-index" => vec![i.ami_launch_index.to_string()],
        "root-device-name" => vec![i.root_device_name.clone()],
        "root-device-type" => vec!["ebs".into()],
        "architecture" => vec!["x86_64".into()],
        "block-device-mapping.volume-id" => volumes().into_iter().map(|v| v.0).collect(),
        "block-device-mapping.delete-on-termination" => volumes().into_iter().map(|v| v.1.to_string()).collect(),
        "client-token" => i.client_token.iter().cloned().collect(),
        _ => return None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(default, rename = "InstanceId")]
    instance_ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeOut {
    #[serde(rename = "reservationSet")]
    reservations: Vec<ReservationOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
struct ReservationOut {
    #[serde(rename = "reservationId")]
    reservation_id: String,
    #[serde(rename = "ownerId")]
    owner_id: String,
    #[serde(rename = "groupSet")]
    groups: Vec<()>,
    #[serde(rename = "instancesSet")]
    instances: Vec<InstanceOut>,
}

fn selected<'a>(
    txn: &'a Txn,
    ids: &[String],
    filters_in: &[FilterIn],
    now_ms: i64,
) -> Result<Vec<&'a Instance>, AwsError> {
    for id in ids {
        instance(txn, id)?;
    }
    let mut all: Vec<&Instance> = txn
        .config
        .instances
        .values()
        .map(|i| &**i)
        .filter(|i| i.region == txn.region && visible(i, now_ms))
        .filter(|i| ids.is_empty() || ids.contains(&i.id))
        .filter(|i| filters::matches(filters_in, &i.tags, |name| field(txn, i, now_ms, name)))
        .collect();
    all.sort_by(|a, b| {
        (a.launch_time_ms, &a.reservation_id, a.ami_launch_index).cmp(&(
            b.launch_time_ms,
            &b.reservation_id,
            b.ami_launch_index,
        ))
    });
    Ok(all)
}

fn no_max_with_ids(ids: &[String], max: Option<i32>) -> Result<(), AwsError> {
    if !ids.is_empty() && max.is_some() {
        return Err(AwsError::new(
            "InvalidParameterCombination",
            400,
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    Ok(())
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    let now_ms = now();
    no_max_with_ids(&input.instance_ids, input.max_results)?;
    let all = selected(txn, &input.instance_ids, &input.filters, now_ms)?;
    let (instances, next_token) = page(all, input.max_results, input.next_token.as_deref(), 5)?;
    let mut reservations: Vec<ReservationOut> = Vec::new();
    for i in instances {
        let out = render_instance(txn, i, now_ms);
        match reservations.iter_mut().find(|r| r.reservation_id == i.reservation_id) {
            Some(r) => r.instances.push(out),
            None => reservations.push(ReservationOut {
                reservation_id: i.reservation_id.clone(),
                owner_id: i.owner_id.clone(),
                groups: Vec::new(),
                instances: vec![out],
            }),
        }
    }
    Ok(DescribeOut {
        reservations,
        next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStatusInput {
    #[serde(default, rename = "InstanceId")]
    instance_ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    filters: Vec<FilterIn>,
    include_all_instances: Option<bool>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
pub struct DescribeStatusOut {
    #[serde(rename = "instanceStatusSet")]
    statuses: Vec<StatusOut>,
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
struct StatusOut {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "availabilityZone")]
    availability_zone: String,
    #[serde(rename = "instanceState")]
    state: StateOut,
    #[serde(rename = "systemStatus")]
    system: SummaryOut,
    #[serde(rename = "instanceStatus")]
    instance: SummaryOut,
}

#[derive(Serialize)]
struct SummaryOut {
    status: &'static str,
    details: Vec<DetailOut>,
}

#[derive(Serialize)]
struct DetailOut {
    name: &'static str,
    status: &'static str,
}

pub fn describe_status(txn: &mut Txn, input: DescribeStatusInput) -> Result<DescribeStatusOut, AwsError> {
    let now_ms = now();
    no_max_with_ids(&input.instance_ids, input.max_results)?;
    let include_all = input.include_all_instances.unwrap_or(false);
    let all: Vec<&Instance> = selected(txn, &input.instance_ids, &[], now_ms)?
        .into_iter()
        .filter(|i| include_all || i.state_at(now_ms) == InstanceState::Running)
        .filter(|i| {
            filters::matches(&input.filters, &[], |name| match name {
                "system-status.status" | "instance-status.status" => {
                    Some(vec![if i.state_at(now_ms) == InstanceState::Running {
                        "ok"
                    } else {
                        "not-applicable"
                    }
                    .into()])
                }
                other => field(txn, i, now_ms, other),
            })
        })
        .collect();
    let (page_items, next_token) = page(all, input.max_results, input.next_token.as_deref(), 5)?;
    let statuses = page_items
        .into_iter()
        .map(|i| {
            let running = i.state_at(now_ms) == InstanceState::Running;
            let summary = || SummaryOut {
                status: if running { "ok" } else { "not-applicable" },
                details: if running {
                    vec![DetailOut {
                        name: "reachability",
                        status: "passed",
                    }]
                } else {
                    Vec::new()
                },
            };
            StatusOut {
                instance_id: i.id.clone(),
                availability_zone: i.availability_zone.clone(),
                state: StateOut::of(i.state_at(now_ms)),
                system: summary(),
                instance: summary(),
            }
        })
        .collect();
    Ok(DescribeStatusOut { statuses, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAttributeInput {
    instance_id: String,
    attribute: String,
}

#[derive(Serialize)]
pub struct AttributeOut {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "instanceType", skip_serializing_if = "Option::is_none")]
    instance_type: Option<ValueIn<String>>,
    #[serde(rename = "disableApiTermination", skip_serializing_if = "Option::is_none")]
    disable_api_termination: Option<ValueIn<bool>>,
    #[serde(rename = "sourceDestCheck", skip_serializing_if = "Option::is_none")]
    source_dest_check: Option<ValueIn<bool>>,
    #[serde(rename = "rootDeviceName", skip_serializing_if = "Option::is_none")]
    root_device_name: Option<ValueIn<String>>,
    #[serde(rename = "userData", skip_serializing_if = "Option::is_none")]
    user_data: Option<ValueIn<String>>,
    #[serde(rename = "groupSet", skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<GroupIdentifierOut>>,
}

pub fn describe_attribute(txn: &mut Txn, input: DescribeAttributeInput) -> Result<AttributeOut, AwsError> {
    let i = instance(txn, &input.instance_id)?;
    let mut out = AttributeOut {
        instance_id: i.id.clone(),
        instance_type: None,
        disable_api_termination: None,
        source_dest_check: None,
        root_device_name: None,
        user_data: None,
        groups: None,
    };
    match input.attribute.as_str() {
        "instanceType" => {
            out.instance_type = Some(ValueIn {
                value: i.instance_type.clone(),
            })
        }
        "disableApiTermination" => {
            out.disable_api_termination = Some(ValueIn {
                value: i.disable_api_termination,
            })
        }
        "sourceDestCheck" => {
            let check = txn
                .config
                .network_interfaces
                .get(&i.network_interface_id)
                .is_none_or(|e| e.source_dest_check);
            out.source_dest_check = Some(ValueIn { value: check });
        }
        "rootDeviceName" => {
            out.root_device_name = Some(ValueIn {
                value: i.root_device_name.clone(),
            })
        }
        "userData" => out.user_data = i.user_data.clone().map(|value| ValueIn { value }),
        "groupSet" => out.groups = Some(group_set(txn, &i.security_groups)),
        other => {
            return Err(invalid(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            )))
        }
    }
    Ok(out)
}
