//! Instances: RunInstances (primary interface, root and mapped volumes, tags), the
//! stop/start/terminate/reboot state machine as EC2 reports it, and
//! ModifyInstanceAttribute. Transitional states are stored with their start time and
//! settle when read (`Instance::state_at`); side effects (addresses released, volumes
//! deleted) happen when the call is made.

use std::net::Ipv4Addr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::ec2::{NetworkInterfaceAttachment, VolumeAttachment, TERMINATED_VISIBLE_MS};
use fulmar_model::{Instance, InstanceState, Kind, Subnet, Volume};

use super::instance_views::{render_instance, InstanceOut, StateOut};
use super::{check_id, check_tag_specs, invalid, missing, now, tags_for, ReturnOut, TagSpecificationIn, ValueIn, OK};
use crate::{ids, Txn};

/// Security groups per network interface (the default quota).
pub const MAX_GROUPS_PER_INTERFACE: usize = 5;

pub fn instance_not_found(id: &str) -> AwsError {
    AwsError::new(
        "InvalidInstanceID.NotFound",
        400,
        format!("The instance ID '{id}' does not exist"),
    )
}

/// An instance of the calling region that Describe calls still show.
pub fn instance(txn: &Txn, id: &str) -> Result<Arc<Instance>, AwsError> {
    check_id(id, "i", "InvalidInstanceID")?;
    txn.config
        .instances
        .get(id)
        .filter(|i| i.region == txn.region && visible(i, now()))
        .cloned()
        .ok_or_else(|| instance_not_found(id))
}

/// Terminated instances disappear from Describe calls an hour after termination.
pub fn visible(i: &Instance, now_ms: i64) -> bool {
    i.state_at(now_ms) != InstanceState::Terminated || now_ms - i.state_began_ms(now_ms) < TERMINATED_VISIBLE_MS
}

pub fn put(txn: &mut Txn, i: Instance) {
    txn.touch(Kind::Instance, &i.id);
    txn.config.instances.insert(i.id.clone(), Arc::new(i));
}

/// The instance with its reported state made the stored one.
fn settled(i: &Instance, now_ms: i64) -> Instance {
    let mut i = i.clone();
    let state = i.state_at(now_ms);
    if state != i.state {
        i.state_since_ms = i.state_began_ms(now_ms);
        i.state = state;
    }
    i
}

/// Check the groups an interface is given: they exist, they belong to its VPC, at most five.
pub fn check_groups(txn: &Txn, groups: &[String], vpc_id: &str, subnet_id: &str) -> Result<(), AwsError> {
    if groups.len() > MAX_GROUPS_PER_INTERFACE {
        return Err(AwsError::new(
            "SecurityGroupsPerInterfaceLimitExceeded",
            400,
            "The maximum number of security groups per interface has been reached.",
        ));
    }
    for g in groups {
        match txn.config.security_groups.get(g).filter(|x| x.region == txn.region) {
            None => {
                return Err(AwsError::new(
                    "InvalidGroup.NotFound",
                    400,
                    format!("The security group '{g}' does not exist"),
                ))
            }
            Some(x) if x.vpc_id != vpc_id => {
                return Err(AwsError::new(
                    "InvalidParameter",
                    400,
                    format!("Security group {g} and subnet {subnet_id} belong to different networks."),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EbsIn {
    volume_size: Option<u32>,
    volume_type: Option<String>,
    delete_on_termination: Option<bool>,
    iops: Option<u32>,
    encrypted: Option<bool>,
    snapshot_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockDeviceMappingIn {
    device_name: Option<String>,
    ebs: Option<EbsIn>,
    no_device: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InterfaceSpecIn {
    subnet_id: Option<String>,
    associate_public_ip_address: Option<bool>,
    delete_on_termination: Option<bool>,
    device_index: Option<u32>,
    private_ip_address: Option<String>,
    description: Option<String>,
    #[serde(default, rename = "SecurityGroupId")]
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlacementIn {
    availability_zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunInput {
    image_id: Option<String>,
    instance_type: Option<String>,
    min_count: Option<u32>,
    max_count: Option<u32>,
    key_name: Option<String>,
    subnet_id: Option<String>,
    private_ip_address: Option<String>,
    user_data: Option<String>,
    client_token: Option<String>,
    disable_api_termination: Option<bool>,
    placement: Option<PlacementIn>,
    #[serde(default, rename = "SecurityGroupId")]
    security_group_ids: Vec<String>,
    #[serde(default, rename = "SecurityGroup")]
    security_groups: Vec<String>,
    #[serde(default, rename = "BlockDeviceMapping")]
    block_device_mappings: Vec<BlockDeviceMappingIn>,
    #[serde(default, rename = "NetworkInterface")]
    network_interfaces: Vec<InterfaceSpecIn>,
    #[serde(default, rename = "TagSpecification")]
    tag_specifications: Vec<TagSpecificationIn>,
}

#[derive(Serialize)]
pub struct RunOut {
    #[serde(rename = "reservationId")]
    reservation_id: String,
    #[serde(rename = "ownerId")]
    owner_id: String,
    #[serde(rename = "groupSet")]
    groups: Vec<()>,
    #[serde(rename = "instancesSet")]
    instances: Vec<InstanceOut>,
}

const ROOT_DEVICE: &str = "/dev/xvda";

/// One EBS volume an instance launches with.
struct VolumeSpec {
    device: String,
    size: u32,
    volume_type: String,
    delete_on_termination: bool,
    iops: Option<u32>,
    encrypted: bool,
    snapshot_id: Option<String>,
}

impl VolumeSpec {
    /// The root volume unless a mapping for its device says otherwise: 8 GiB gp2,
    /// deleted on termination.
    fn root() -> VolumeSpec {
        VolumeSpec {
            device: ROOT_DEVICE.into(),
            size: 8,
            volume_type: "gp2".into(),
            delete_on_termination: true,
            iops: None,
            encrypted: false,
            snapshot_id: None,
        }
    }
}

/// The subnet an instance launches into: the one named, else the default subnet of
/// the requested zone (or the first zone) in the default VPC.
fn launch_subnet(txn: &Txn, named: Option<&str>, zone: Option<&str>) -> Result<Arc<Subnet>, AwsError> {
    if let Some(id) = named {
        let s = super::vpcs::subnet(txn, id)?;
        if let Some(z) = zone.filter(|z| *z != s.availability_zone) {
            return Err(invalid(format!(
                "Value ({z}) for parameter availabilityZone is invalid. Subnet {id} is in Availability Zone {}",
                s.availability_zone
            )));
        }
        return Ok(s);
    }
    let mut defaults: Vec<&Arc<Subnet>> = txn
        .config
        .subnets
        .values()
        .filter(|s| s.region == txn.region && s.default_for_az)
        .collect();
    defaults.sort_by(|a, b| a.availability_zone.cmp(&b.availability_zone));
    defaults
        .into_iter()
        .find(|s| zone.is_none_or(|z| z == s.availability_zone))
        .cloned()
        .ok_or_else(|| {
            AwsError::new(
                "VPCIdNotSpecified",
                400,
                "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.",
            )
        })
}

pub fn run(txn: &mut Txn, input: RunInput) -> Result<RunOut, AwsError> {
    let now_ms = now();
    sweep_terminated(txn, now_ms);
    if let Some(token) = &input.client_token {
        let mut same: Vec<Arc<Instance>> = txn
            .config
            .instances
            .values()
            .filter(|i| i.client_token.as_ref() == Some(token) && i.region == txn.region)
            .cloned()
            .collect();
        if !same.is_empty() {
            same.sort_by_key(|i| i.ami_launch_index);
            return Ok(RunOut {
                reservation_id: same[0].reservation_id.clone(),
                owner_id: txn.account().to_string(),
                groups: Vec::new(),
                instances: same.iter().map(|i| render_instance(txn, i, now_ms)).collect(),
            });
        }
    }
    check_tag_specs(&input.tag_specifications, &["instance", "volume", "network-interface"])?;
    let image_id = input.image_id.ok_or_else(|| missing("ImageId"))?;
    check_id(&image_id, "ami", "InvalidAMIID")?;
    let min = input.min_count.ok_or_else(|| missing("MinCount"))?;
    let max = input.max_count.ok_or_else(|| missing("MaxCount"))?;
    if min == 0 || max == 0 {
        return Err(invalid(
            "Value (0) for parameter minCount/maxCount is invalid. Expected a positive value.",
        ));
    }
    if min > max {
        return Err(invalid(format!(
            "Value ({min}) for parameter minCount is invalid. Expected a value at most maxCount ({max})."
        )));
    }
    if let Some(k) = &input.key_name {
        super::key_pairs::by_name(txn, k)?;
    }
    let spec = input
        .network_interfaces
        .into_iter()
        .find(|n| n.device_index.unwrap_or(0) == 0);
    if spec.is_some() && (input.subnet_id.is_some() || !input.security_group_ids.is_empty()) {
        return Err(AwsError::new(
            "InvalidParameterCombination",
            400,
            "Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request",
        ));
    }
    let zone = input.placement.and_then(|p| p.availability_zone);
    let subnet_id = spec.as_ref().and_then(|s| s.subnet_id.clone()).or(input.subnet_id);
    let subnet = launch_subnet(txn, subnet_id.as_deref(), zone.as_deref())?;
    // Groups: by id, or by name in the subnet's VPC, else the VPC's default group.
    let mut groups: Vec<String> = spec.as_ref().map(|s| s.groups.clone()).unwrap_or_default();
    groups.extend(input.security_group_ids);
    for name in &input.security_groups {
        let g = txn
            .config
            .security_groups
            .values()
            .find(|g| g.vpc_id == subnet.vpc_id && &g.name == name)
            .ok_or_else(|| {
                AwsError::new(
                    "InvalidGroup.NotFound",
                    400,
                    format!("The security group '{name}' does not exist in VPC '{}'", subnet.vpc_id),
                )
            })?;
        groups.push(g.id.clone());
    }
    groups.dedup();
    if groups.is_empty() {
        groups.extend(super::security_groups::default_group_of(txn, &subnet.vpc_id));
    }
    check_groups(txn, &groups, &subnet.vpc_id, &subnet.id)?;
    let wanted_ip: Option<Ipv4Addr> = match spec
        .as_ref()
        .and_then(|s| s.private_ip_address.clone())
        .or(input.private_ip_address)
    {
        Some(raw) => {
            if max > 1 {
                return Err(AwsError::new(
                    "InvalidParameterCombination",
                    400,
                    "Cannot specify a private IP address when launching more than one instance",
                ));
            }
            Some(
                raw.parse()
                    .map_err(|_| invalid(format!("Value ({raw}) for parameter privateIpAddress is invalid.")))?,
            )
        }
        None => None,
    };
    let auto_public_ip = spec
        .as_ref()
        .and_then(|s| s.associate_public_ip_address)
        .unwrap_or(subnet.map_public_ip_on_launch);
    let eni_delete_on_termination = spec.as_ref().and_then(|s| s.delete_on_termination).unwrap_or(true);
    let eni_description = spec.as_ref().and_then(|s| s.description.clone()).unwrap_or_default();
    // Volumes: the root (8 GiB gp2 unless the mapping for /dev/xvda says otherwise) and
    // every other EBS mapping.
    let mut volumes: Vec<VolumeSpec> = vec![VolumeSpec::root()];
    for m in input.block_device_mappings {
        let device = m.device_name.ok_or_else(|| missing("BlockDeviceMapping.DeviceName"))?;
        if m.no_device.is_some() {
            volumes.retain(|v| v.device != device || device == ROOT_DEVICE);
            continue;
        }
        let Some(ebs) = m.ebs else { continue };
        let volume_type = ebs.volume_type.unwrap_or_else(|| "gp2".into());
        if !["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"].contains(&volume_type.as_str()) {
            return Err(invalid(format!(
                "Value ({volume_type}) for parameter volumeType is invalid. Valid values are standard, io1, io2, gp2, sc1, st1, gp3."
            )));
        }
        let size = ebs.volume_size.unwrap_or(8);
        if size == 0 || size > 16_384 {
            return Err(invalid(format!(
                "Volume of {size}GiB is outside the allowed range of 1-16384 GiB."
            )));
        }
        let entry = VolumeSpec {
            device: device.clone(),
            size,
            volume_type,
            delete_on_termination: ebs.delete_on_termination.unwrap_or(true),
            iops: ebs.iops,
            encrypted: ebs.encrypted.unwrap_or(false),
            snapshot_id: ebs.snapshot_id,
        };
        match volumes.iter_mut().find(|v| v.device == device) {
            Some(v) => *v = entry,
            None => volumes.push(entry),
        }
    }
    let instance_tags = tags_for(&input.tag_specifications, "instance");
    let volume_tags = tags_for(&input.tag_specifications, "volume");
    let eni_tags = tags_for(&input.tag_specifications, "network-interface");
    let reservation_id = ids::ec2("r");
    let mut launched = Vec::new();
    for index in 0..max {
        let eni = match super::interfaces::create(
            txn,
            &subnet,
            wanted_ip,
            groups.clone(),
            eni_description.clone(),
            "interface",
        ) {
            Ok(eni) => eni,
            Err(e) if index >= min && e.code == "InsufficientFreeAddressesInSubnet" => break,
            Err(e) => return Err(e),
        };
        let id = ids::ec2("i");
        let public_ip = if auto_public_ip {
            Some(super::addresses::allocate_public_ip(txn, None)?)
        } else {
            None
        };
        let mut eni = eni;
        eni.public_ip = public_ip;
        eni.tags = eni_tags.clone();
        eni.attachment = Some(NetworkInterfaceAttachment {
            id: ids::ec2("eni-attach"),
            instance_id: id.clone(),
            device_index: 0,
            delete_on_termination: eni_delete_on_termination,
            attach_time_ms: now_ms,
        });
        let inst = Instance {
            id: id.clone(),
            region: txn.region.clone(),
            owner_id: txn.account().to_string(),
            reservation_id: reservation_id.clone(),
            image_id: image_id.clone(),
            instance_type: input.instance_type.clone().unwrap_or_else(|| "m1.small".into()),
            key_name: input.key_name.clone(),
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            availability_zone: subnet.availability_zone.clone(),
            network_interface_id: eni.id.clone(),
            mac_address: eni.mac_address.clone(),
            private_ip: eni.private_ip,
            public_ip,
            auto_public_ip,
            previous_public_ip: None,
            disable_api_termination: input.disable_api_termination.unwrap_or(false),
            security_groups: groups.clone(),
            state: InstanceState::Pending,
            state_since_ms: now_ms,
            state_reason: String::new(),
            launch_time_ms: now_ms,
            ami_launch_index: index,
            root_device_name: ROOT_DEVICE.into(),
            user_data: input.user_data.clone(),
            client_token: input.client_token.clone(),
            tags: instance_tags.clone(),
        };
        super::interfaces::put(txn, eni);
        for VolumeSpec {
            device,
            size,
            volume_type,
            delete_on_termination: dot,
            iops,
            encrypted,
            snapshot_id,
        } in &volumes
        {
            let v = Volume {
                id: ids::ec2("vol"),
                region: txn.region.clone(),
                availability_zone: subnet.availability_zone.clone(),
                size_gib: *size,
                iops: iops.or(match volume_type.as_str() {
                    "gp2" => Some((size * 3).clamp(100, 16_000)),
                    "gp3" => Some(3000),
                    _ => None,
                }),
                volume_type: volume_type.clone(),
                encrypted: *encrypted,
                snapshot_id: snapshot_id.clone(),
                create_time_ms: now_ms,
                attachment: Some(VolumeAttachment {
                    instance_id: id.clone(),
                    device: device.clone(),
                    delete_on_termination: *dot,
                    attach_time_ms: now_ms,
                }),
                tags: volume_tags.clone(),
            };
            super::volumes::put(txn, v);
        }
        put(txn, inst);
        launched.push(id);
    }
    let instances = launched
        .iter()
        .map(|id| render_instance(txn, &txn.config.instances[id], now_ms))
        .collect();
    Ok(RunOut {
        reservation_id,
        owner_id: txn.account().to_string(),
        groups: Vec::new(),
        instances,
    })
}

/// Forget instances terminated more than an hour ago.
fn sweep_terminated(txn: &mut Txn, now_ms: i64) {
    let gone: Vec<String> = txn
        .config
        .instances
        .values()
        .filter(|i| !visible(i, now_ms))
        .map(|i| i.id.clone())
        .collect();
    for id in gone {
        txn.config.instances.remove(&id);
        txn.touch(Kind::Instance, &id);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceIdsInput {
    #[serde(default, rename = "InstanceId")]
    instance_ids: Vec<String>,
    force: Option<bool>,
}

#[derive(Serialize)]
pub struct StateChangeOut {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "currentState")]
    current: StateOut,
    #[serde(rename = "previousState")]
    previous: StateOut,
}

#[derive(Serialize)]
pub struct StopOut {
    #[serde(rename = "instancesSet")]
    instances: Vec<StateChangeOut>,
}

#[derive(Serialize)]
pub struct StartOut {
    #[serde(rename = "instancesSet")]
    instances: Vec<StateChangeOut>,
}

#[derive(Serialize)]
pub struct TerminateOut {
    #[serde(rename = "instancesSet")]
    instances: Vec<StateChangeOut>,
}

fn incorrect_state(id: &str, verb: &str) -> AwsError {
    AwsError::new(
        "IncorrectInstanceState",
        400,
        format!("The instance '{id}' is not in a state from which it can be {verb}."),
    )
}

/// Look every id up first: one unknown id fails the whole call, changing nothing.
fn all_instances(txn: &Txn, ids: &[String]) -> Result<Vec<Arc<Instance>>, AwsError> {
    if ids.is_empty() {
        return Err(missing("InstanceId"));
    }
    ids.iter().map(|id| instance(txn, id)).collect()
}

/// Apply `change` to each instance (settled first); it returns the new state or an error.
fn transition(
    txn: &mut Txn,
    ids: &[String],
    mut change: impl FnMut(&mut Txn, &mut Instance, i64) -> Result<(), AwsError>,
) -> Result<Vec<StateChangeOut>, AwsError> {
    let now_ms = now();
    let mut out = Vec::new();
    for inst in all_instances(txn, ids)? {
        let mut i = settled(&inst, now_ms);
        let previous = i.state;
        change(txn, &mut i, now_ms)?;
        out.push(StateChangeOut {
            instance_id: i.id.clone(),
            current: StateOut::of(i.state),
            previous: StateOut::of(previous),
        });
        if *inst != i {
            put(txn, i);
        }
    }
    Ok(out)
}

pub fn stop(txn: &mut Txn, input: InstanceIdsInput) -> Result<StopOut, AwsError> {
    let _ = input.force;
    let instances = transition(txn, &input.instance_ids, |txn, i, now_ms| match i.state {
        InstanceState::Running => {
            i.state = InstanceState::Stopping;
            i.state_since_ms = now_ms;
            i.state_reason = format!("User initiated ({})", super::instance_views::reason_time(now_ms));
            // The ephemeral public address goes back to the pool; an Elastic IP stays.
            if super::addresses::of_interface(txn, &i.network_interface_id).is_none() {
                i.previous_public_ip = i.public_ip.take().or(i.previous_public_ip);
                clear_interface_public_ip(txn, &i.network_interface_id);
            }
            Ok(())
        }
        InstanceState::Stopping | InstanceState::Stopped => Ok(()),
        _ => Err(incorrect_state(&i.id, "stopped")),
    })?;
    Ok(StopOut { instances })
}

fn clear_interface_public_ip(txn: &mut Txn, eni_id: &str) {
    if let Some(eni) = txn.config.network_interfaces.get(eni_id).cloned() {
        let mut eni = (*eni).clone();
        eni.public_ip = None;
        super::interfaces::put(txn, eni);
    }
}

pub fn start(txn: &mut Txn, input: InstanceIdsInput) -> Result<StartOut, AwsError> {
    let instances = transition(txn, &input.instance_ids, |txn, i, now_ms| match i.state {
        InstanceState::Stopped => {
            i.state = InstanceState::Pending;
            i.state_since_ms = now_ms;
            i.state_reason = String::new();
            if i.auto_public_ip && super::addresses::of_interface(txn, &i.network_interface_id).is_none() {
                let ip = super::addresses::allocate_public_ip(txn, i.previous_public_ip)?;
                i.public_ip = Some(ip);
                if let Some(eni) = txn.config.network_interfaces.get(&i.network_interface_id).cloned() {
                    let mut eni = (*eni).clone();
                    eni.public_ip = Some(ip);
                    super::interfaces::put(txn, eni);
                }
            }
            Ok(())
        }
        InstanceState::Pending | InstanceState::Running => Ok(()),
        _ => Err(incorrect_state(&i.id, "started")),
    })?;
    Ok(StartOut { instances })
}

pub fn terminate(txn: &mut Txn, input: InstanceIdsInput) -> Result<TerminateOut, AwsError> {
    for id in &input.instance_ids {
        if instance(txn, id)?.disable_api_termination {
            return Err(AwsError::new(
                "OperationNotPermitted",
                400,
                format!("The instance '{id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again."),
            ));
        }
    }
    let instances = transition(txn, &input.instance_ids, |txn, i, now_ms| match i.state {
        InstanceState::ShuttingDown | InstanceState::Terminated => Ok(()),
        _ => {
            i.state = InstanceState::ShuttingDown;
            i.state_since_ms = now_ms;
            i.state_reason = format!("User initiated ({})", super::instance_views::reason_time(now_ms));
            i.public_ip = None;
            release_resources(txn, i);
            Ok(())
        }
    })?;
    Ok(TerminateOut { instances })
}

/// What a terminated instance lets go of: its Elastic IP association, its primary
/// interface, the volumes marked DeleteOnTermination (others become available), and
/// its registrations in target groups.
fn release_resources(txn: &mut Txn, i: &Instance) {
    if let Some(eip) = super::addresses::of_interface(txn, &i.network_interface_id) {
        super::addresses::unbind(txn, &eip.allocation_id);
    }
    super::interfaces::remove(txn, &i.network_interface_id);
    let attached: Vec<Arc<Volume>> = txn
        .config
        .volumes
        .values()
        .filter(|v| v.attachment.as_ref().is_some_and(|a| a.instance_id == i.id))
        .cloned()
        .collect();
    for v in attached {
        if v.attachment.as_ref().is_some_and(|a| a.delete_on_termination) {
            txn.config.volumes.remove(&v.id);
            txn.touch(Kind::Volume, &v.id);
        } else {
            let mut v = (*v).clone();
            v.attachment = None;
            super::volumes::put(txn, v);
        }
    }
    let groups: Vec<Arc<fulmar_model::TargetGroup>> = txn
        .config
        .target_groups
        .values()
        .filter(|tg| tg.targets.iter().any(|t| t.id == i.id))
        .cloned()
        .collect();
    for tg in groups {
        let mut tg = (*tg).clone();
        tg.targets.retain(|t| t.id != i.id);
        txn.touch(Kind::TargetGroup, &tg.arn);
        txn.config.target_groups.insert(tg.arn.clone(), Arc::new(tg));
    }
}

pub fn reboot(txn: &mut Txn, input: InstanceIdsInput) -> Result<ReturnOut, AwsError> {
    let now_ms = now();
    for i in all_instances(txn, &input.instance_ids)? {
        if i.state_at(now_ms) != InstanceState::Running {
            return Err(incorrect_state(&i.id, "rebooted"));
        }
    }
    Ok(OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockDeviceChangeIn {
    device_name: Option<String>,
    ebs: Option<EbsChangeIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EbsChangeIn {
    delete_on_termination: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyAttributeInput {
    instance_id: String,
    attribute: Option<String>,
    value: Option<String>,
    #[serde(default, rename = "GroupId")]
    groups: Vec<String>,
    source_dest_check: Option<ValueIn<bool>>,
    disable_api_termination: Option<ValueIn<bool>>,
    instance_type: Option<ValueIn<String>>,
    #[serde(default, rename = "BlockDeviceMapping")]
    block_device_mappings: Vec<BlockDeviceChangeIn>,
}

pub fn modify_attribute(txn: &mut Txn, input: ModifyAttributeInput) -> Result<ReturnOut, AwsError> {
    let now_ms = now();
    let inst = instance(txn, &input.instance_id)?;
    let state = inst.state_at(now_ms);
    if matches!(state, InstanceState::ShuttingDown | InstanceState::Terminated) {
        return Err(AwsError::new(
            "IncorrectInstanceState",
            400,
            format!("The instance '{}' is not in a valid state for this operation.", inst.id),
        ));
    }
    let mut groups = input.groups;
    let mut instance_type = input.instance_type.map(|v| v.value);
    let mut disable_termination = input.disable_api_termination.map(|v| v.value);
    let mut source_dest = input.source_dest_check.map(|v| v.value);
    if let (Some(attr), Some(value)) = (input.attribute.as_deref(), input.value) {
        match attr {
            "instanceType" => instance_type = Some(value),
            "disableApiTermination" => disable_termination = Some(value.eq_ignore_ascii_case("true")),
            "sourceDestCheck" => source_dest = Some(value.eq_ignore_ascii_case("true")),
            "groupSet" => groups = vec![value],
            other => return Err(invalid(format!("Value ({other}) for parameter attribute is invalid."))),
        }
    }
    let mut i = settled(&inst, now_ms);
    if !groups.is_empty() {
        groups.dedup();
        check_groups(txn, &groups, &i.vpc_id, &i.subnet_id)?;
        super::interfaces::set_groups(txn, &i.network_interface_id, groups.clone());
        i.security_groups = groups;
    }
    if let Some(t) = instance_type {
        if state != InstanceState::Stopped {
            return Err(AwsError::new(
                "IncorrectInstanceState",
                400,
                format!("The instance '{}' is not in the 'stopped' state.", i.id),
            ));
        }
        i.instance_type = t;
    }
    if let Some(d) = disable_termination {
        i.disable_api_termination = d;
    }
    if let Some(check) = source_dest {
        if let Some(eni) = txn.config.network_interfaces.get(&i.network_interface_id).cloned() {
            let mut eni = (*eni).clone();
            eni.source_dest_check = check;
            super::interfaces::put(txn, eni);
        }
    }
    for m in input.block_device_mappings {
        let device = m.device_name.ok_or_else(|| missing("BlockDeviceMapping.DeviceName"))?;
        let Some(dot) = m.ebs.and_then(|e| e.delete_on_termination) else {
            continue;
        };
        let v = txn
            .config
            .volumes
            .values()
            .find(|v| {
                v.attachment
                    .as_ref()
                    .is_some_and(|a| a.instance_id == i.id && a.device == device)
            })
            .cloned()
            .ok_or_else(|| invalid(format!("The device '{device}' is not attached to instance '{}'", i.id)))?;
        let mut v = (*v).clone();
        if let Some(a) = v.attachment.as_mut() {
            a.delete_on_termination = dot;
        }
        super::volumes::put(txn, v);
    }
    put(txn, i);
    Ok(OK)
}
