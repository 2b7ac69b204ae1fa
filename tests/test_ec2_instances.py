"""EC2 instances through boto3: the default VPC of a fresh account, key pairs, the
bastion pattern (SPEC E5), RunInstances tags and volumes (E2), stop/start address
semantics with and without an Elastic IP (E3), DeleteOnTermination, instance
targets of a target group, and the error codes AWS returns for each mistake.

Expectations come from the EC2 API reference and the botocore model."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import subprocess

import pytest
from botocore.exceptions import ClientError

from support import poll, uniq

AMI = "ami-0abcdef1234567890"


def error_of(fn, code: str, **kw) -> str:
    with pytest.raises(ClientError) as e:
        fn(**kw)
    got = e.value.response["Error"]
    assert got["Code"] == code, got
    return got["Message"]


def describe_one(ec2, instance_id: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def wait_state(ec2, instance_id: str, state: str, timeout: float = 15.0) -> dict:
    def check():
        i = describe_one(ec2, instance_id)
        return i if i["State"]["Name"] == state else None

    return poll(check, timeout, 0.2, f"{instance_id} to be {state}")


@pytest.fixture(scope="module")
def ec2(fulmar):
    return fulmar.ec2


@pytest.fixture(scope="module")
def public_net(ec2):
    """A VPC with a public subnet (route 0.0.0.0/0 to an IGW) and a private one."""
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.2.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=public)
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    return dict(vpc=vpc, public=public, private=private, igw=igw, rtb=rtb)


def test_fresh_account_has_default_vpc_group_and_internet_route(ec2):
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["CidrBlock"] == "172.31.0.0/16" and vpcs[0]["IsDefault"] is True
    vpc = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    assert len(subnets) == 6 and all(s["DefaultForAz"] and s["MapPublicIpOnLaunch"] for s in subnets)
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    g = groups[0]
    assert g["IpPermissions"][0]["IpProtocol"] == "-1"
    assert g["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == g["GroupId"]
    assert g["IpPermissionsEgress"] == [
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}
    ]
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])["InternetGateways"]
    assert len(igws) == 1
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}])
    routes = main["RouteTables"][0]["Routes"]
    assert {"DestinationCidrBlock": "172.31.0.0/16", "GatewayId": "local", "State": "active", "Origin": "CreateRouteTable"} in routes
    assert any(r.get("GatewayId") == igws[0]["InternetGatewayId"] and r["DestinationCidrBlock"] == "0.0.0.0/0" for r in routes)


def test_key_pairs_create_import_describe_delete(ec2, tmp_path):
    name = uniq("key")
    created = ec2.create_key_pair(KeyName=name)
    pem = created["KeyMaterial"]
    assert pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    path = tmp_path / "k.pem"
    path.write_text(pem)
    path.chmod(0o600)
    # AWS's recipe: SHA-1 of the PKCS#8 DER private key.
    der = subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", str(path), "-outform", "DER"], capture_output=True, check=True).stdout
    assert created["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())
    pub = subprocess.run(["ssh-keygen", "-y", "-f", str(path)], capture_output=True, check=True, text=True).stdout.strip()
    listed = ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"][0]
    assert listed["KeyPairId"] == created["KeyPairId"] and listed["KeyType"] == "rsa"
    assert listed["PublicKey"].split()[:2] == pub.split()[:2]
    assert "KeyMaterial" not in listed
    error_of(ec2.create_key_pair, "InvalidKeyPair.Duplicate", KeyName=name)

    ed = ec2.create_key_pair(KeyName=uniq("ed"), KeyType="ed25519")
    assert ed["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")

    # Import: an ed25519 key made by ssh-keygen; fingerprint = base64 SHA-256 of the blob.
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "imp")], check=True)
    line = (tmp_path / "imp.pub").read_text()
    imported = ec2.import_key_pair(KeyName=uniq("imp"), PublicKeyMaterial=line.encode())
    blob = base64.b64decode(line.split()[1])
    assert imported["KeyFingerprint"] == base64.b64encode(hashlib.sha256(blob).digest()).decode()
    # Import RSA: MD5 of the DER public key.
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", str(tmp_path / "rsa")], check=True)
    spki = subprocess.run(["openssl", "rsa", "-in", str(tmp_path / "rsa"), "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout
    rsa_imp = ec2.import_key_pair(KeyName=uniq("rsa"), PublicKeyMaterial=(tmp_path / "rsa.pub").read_bytes())
    assert rsa_imp["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.md5(spki).digest())
    error_of(ec2.import_key_pair, "InvalidKey.Format", KeyName=uniq("bad"), PublicKeyMaterial=b"not a key")

    ec2.delete_key_pair(KeyName=name)
    error_of(ec2.describe_key_pairs, "InvalidKeyPair.NotFound", KeyNames=[name])
    ec2.delete_key_pair(KeyName=name)  # deleting a missing key succeeds, as on AWS


def test_bastion_pattern(ec2, public_net):
    key = uniq("bastion-key")
    ec2.create_key_pair(KeyName=key, KeyType="ed25519")
    bastion_sg = ec2.create_security_group(GroupName=uniq("bastion"), Description="bastion", VpcId=public_net["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=bastion_sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    private_sg = ec2.create_security_group(GroupName=uniq("private"), Description="private", VpcId=public_net["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=private_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": bastion_sg}]}],
    )
    bastion = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro", KeyName=key,
        SubnetId=public_net["public"], SecurityGroupIds=[bastion_sg],
    )["Instances"][0]
    private = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro", KeyName=key,
        SubnetId=public_net["private"], SecurityGroupIds=[private_sg],
    )["Instances"][0]
    assert bastion["State"] == {"Code": 0, "Name": "pending"}
    b = wait_state(ec2, bastion["InstanceId"], "running")
    p = wait_state(ec2, private["InstanceId"], "running")
    assert b["State"]["Code"] == 16
    # Addresses: private from the subnet (never the first four or the last), public only in the public subnet.
    for inst, cidr in ((b, "10.20.1.0/24"), (p, "10.20.2.0/24")):
        ip = ipaddress.ip_address(inst["PrivateIpAddress"])
        net = ipaddress.ip_network(cidr)
        assert ip in net and int(ip) - int(net.network_address) >= 4 and ip != net.broadcast_address
        assert inst["KeyName"] == key
        assert inst["PrivateDnsName"] == f"ip-{str(ip).replace('.', '-')}.ec2.internal"
    assert "PublicIpAddress" in b and "PublicIpAddress" not in p
    assert [g["GroupId"] for g in b["SecurityGroups"]] == [bastion_sg]
    assert p["SecurityGroups"] == [{"GroupId": private_sg, "GroupName": ec2.describe_security_groups(GroupIds=[private_sg])["SecurityGroups"][0]["GroupName"]}]
    eni = p["NetworkInterfaces"][0]
    assert eni["PrivateIpAddress"] == p["PrivateIpAddress"] and eni["Groups"][0]["GroupId"] == private_sg
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [p["InstanceId"]]}])["NetworkInterfaces"]
    assert [e["NetworkInterfaceId"] for e in enis] == [eni["NetworkInterfaceId"]]
    assert enis[0]["Attachment"]["DeviceIndex"] == 0 and enis[0]["Status"] == "in-use"
    # The private group's rule names the bastion's group as the source of 22.
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [private_sg]}])["SecurityGroupRules"]
    ingress = [r for r in rules if not r["IsEgress"]]
    assert len(ingress) == 1 and ingress[0]["ReferencedGroupInfo"]["GroupId"] == bastion_sg and ingress[0]["FromPort"] == 22
    # The bastion group is in use: by an instance, and referenced by another group.
    assert "dependent object" in error_of(ec2.delete_security_group, "DependencyViolation", GroupId=bastion_sg)
    assert ec2.describe_instances(Filters=[{"Name": "instance.group-id", "Values": [private_sg]}])["Reservations"][0]["Instances"][0]["InstanceId"] == p["InstanceId"]


def test_stop_start_changes_public_ip_keeps_private(ec2, public_net):
    inst = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=public_net["public"])["Instances"][0]
    iid = inst["InstanceId"]
    first = wait_state(ec2, iid, "running")
    error_of(ec2.start_instances, "InvalidInstanceID.NotFound", InstanceIds=["i-0123456789abcdef0"])
    stopping = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert stopping["PreviousState"]["Name"] == "running" and stopping["CurrentState"]["Name"] == "stopping"
    error_of(ec2.start_instances, "IncorrectInstanceState", InstanceIds=[iid])
    stopped = wait_state(ec2, iid, "stopped")
    assert "PublicIpAddress" not in stopped and stopped["PrivateIpAddress"] == first["PrivateIpAddress"]
    assert stopped["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    error_of(ec2.reboot_instances, "IncorrectInstanceState", InstanceIds=[iid])
    started = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert started["PreviousState"]["Name"] == "stopped" and started["CurrentState"]["Name"] == "pending"
    again = wait_state(ec2, iid, "running")
    assert again["PrivateIpAddress"] == first["PrivateIpAddress"]
    assert again["PublicIpAddress"] != first["PublicIpAddress"]
    ec2.reboot_instances(InstanceIds=[iid])

    # With an Elastic IP the public address survives stop/start.
    alloc = ec2.allocate_address(Domain="vpc")
    assoc = ec2.associate_address(AllocationId=alloc["AllocationId"], InstanceId=iid)["AssociationId"]
    assert describe_one(ec2, iid)["PublicIpAddress"] == alloc["PublicIp"]
    ec2.stop_instances(InstanceIds=[iid])
    assert wait_state(ec2, iid, "stopped")["PublicIpAddress"] == alloc["PublicIp"]
    ec2.start_instances(InstanceIds=[iid])
    assert wait_state(ec2, iid, "running")["PublicIpAddress"] == alloc["PublicIp"]
    addr = ec2.describe_addresses(AllocationIds=[alloc["AllocationId"]])["Addresses"][0]
    assert addr["InstanceId"] == iid and addr["AssociationId"] == assoc and addr["PrivateIpAddress"] == first["PrivateIpAddress"]
    error_of(ec2.release_address, "InvalidIPAddress.InUse", AllocationId=alloc["AllocationId"])
    other = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=public_net["public"])["Instances"][0]["InstanceId"]
    error_of(ec2.associate_address, "Resource.AlreadyAssociated", AllocationId=alloc["AllocationId"], InstanceId=other)
    ec2.disassociate_address(AssociationId=assoc)
    after = describe_one(ec2, iid)
    assert after["PublicIpAddress"] != alloc["PublicIp"]  # back to an ephemeral address
    error_of(ec2.disassociate_address, "InvalidAssociationID.NotFound", AssociationId=assoc)
    ec2.release_address(AllocationId=alloc["AllocationId"])
    error_of(ec2.release_address, "InvalidAllocationID.NotFound", AllocationId=alloc["AllocationId"])
    error_of(ec2.associate_address, "InvalidAllocationID.NotFound", AllocationId="eipalloc-0123456789abcdef0", InstanceId=iid)


def test_run_instances_tags_volumes_and_delete_on_termination(ec2, public_net):
    res = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=public_net["private"],
        BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": True}},
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 5, "DeleteOnTermination": False}},
        ],
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]},
            {"ResourceType": "volume", "Tags": [{"Key": "team", "Value": "storage"}]},
        ],
    )
    inst = res["Instances"][0]
    iid = inst["InstanceId"]
    assert {"Key": "Name", "Value": "web"} in inst["Tags"]
    # The VPC's default group applies when none is named.
    default_sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [public_net["vpc"]]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [default_sg]
    mappings = {m["DeviceName"]: m["Ebs"] for m in inst["BlockDeviceMappings"]}
    assert mappings["/dev/xvda"]["DeleteOnTermination"] is True and mappings["/dev/sdf"]["DeleteOnTermination"] is False
    vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    by_dev = {v["Attachments"][0]["Device"]: v for v in vols}
    assert by_dev["/dev/xvda"]["Size"] == 20 and by_dev["/dev/xvda"]["VolumeType"] == "gp3"
    assert all({"Key": "team", "Value": "storage"} in v["Tags"] for v in vols)
    assert all(v["State"] == "in-use" for v in vols)
    assert ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web"]}, {"Name": "instance-id", "Values": [iid]}])["Reservations"]
    wait_state(ec2, iid, "running")
    error_of(ec2.delete_volume, "VolumeInUse", VolumeId=by_dev["/dev/sdf"]["VolumeId"])
    term = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert term["CurrentState"]["Name"] == "shutting-down"
    gone = wait_state(ec2, iid, "terminated")
    assert gone["State"]["Code"] == 48 and "PrivateIpAddress" not in gone
    root = by_dev["/dev/xvda"]["VolumeId"]
    error_of(ec2.describe_volumes, "InvalidVolume.NotFound", VolumeIds=[root])
    kept = ec2.describe_volumes(VolumeIds=[by_dev["/dev/sdf"]["VolumeId"]])["Volumes"][0]
    assert kept["State"] == "available" and kept["Attachments"] == []
    ec2.delete_volume(VolumeId=kept["VolumeId"])
    # A terminated instance stays visible; stopping it is an error, terminating again is not.
    error_of(ec2.stop_instances, "IncorrectInstanceState", InstanceIds=[iid])
    assert ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]["PreviousState"]["Name"] == "terminated"
    assert ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["NetworkInterfaces"] == []


def test_modify_instance_groups_and_limits(ec2, public_net):
    vpc = public_net["vpc"]
    groups = [ec2.create_security_group(GroupName=uniq("g"), Description="g", VpcId=vpc)["GroupId"] for _ in range(6)]
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=public_net["private"], SecurityGroupIds=groups[:2])["Instances"][0]["InstanceId"]
    ec2.modify_instance_attribute(InstanceId=iid, Groups=groups[2:5])
    inst = describe_one(ec2, iid)
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == groups[2:5]
    assert [g["GroupId"] for g in inst["NetworkInterfaces"][0]["Groups"]] == groups[2:5]
    attr = ec2.describe_instance_attribute(InstanceId=iid, Attribute="groupSet")
    assert [g["GroupId"] for g in attr["Groups"]] == groups[2:5]
    error_of(ec2.modify_instance_attribute, "SecurityGroupsPerInterfaceLimitExceeded", InstanceId=iid, Groups=groups)
    error_of(ec2.run_instances, "SecurityGroupsPerInterfaceLimitExceeded", ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=public_net["private"], SecurityGroupIds=groups)
    default_vpc_group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}, {"Name": "vpc-id", "Values": [ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]]}])["SecurityGroups"][0]["GroupId"]
    error_of(ec2.modify_instance_attribute, "InvalidParameter", InstanceId=iid, Groups=[default_vpc_group])
    error_of(ec2.modify_instance_attribute, "InvalidGroup.NotFound", InstanceId=iid, Groups=["sg-0123456789abcdef0"])
    error_of(ec2.modify_instance_attribute, "IncorrectInstanceState", InstanceId=iid, InstanceType={"Value": "t3.large"})


def test_run_instances_errors(ec2, public_net):
    sub = public_net["private"]
    error_of(ec2.run_instances, "InvalidKeyPair.NotFound", ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=sub, KeyName="no-such-key")
    error_of(ec2.run_instances, "InvalidSubnetID.NotFound", ImageId=AMI, MinCount=1, MaxCount=1, SubnetId="subnet-0123456789abcdef0")
    error_of(ec2.run_instances, "InvalidGroup.NotFound", ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=sub, SecurityGroupIds=["sg-0123456789abcdef0"])
    error_of(ec2.run_instances, "InvalidParameterValue", ImageId=AMI, MinCount=3, MaxCount=2, SubnetId=sub)
    error_of(ec2.run_instances, "InvalidParameterValue", ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=sub, PrivateIpAddress="10.20.2.1")
    error_of(ec2.run_instances, "InvalidParameterValue", ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=sub, PrivateIpAddress="10.99.0.10")
    error_of(ec2.describe_instances, "InvalidInstanceID.NotFound", InstanceIds=["i-0123456789abcdef0"])
    error_of(ec2.describe_instances, "InvalidInstanceID.Malformed", InstanceIds=["nope"])
    error_of(ec2.terminate_instances, "InvalidInstanceID.NotFound", InstanceIds=["i-0123456789abcdef0"])
    fixed = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=sub, PrivateIpAddress="10.20.2.200")["Instances"][0]
    assert fixed["PrivateIpAddress"] == "10.20.2.200"
    error_of(ec2.run_instances, "InvalidIPAddress.InUse", ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=sub, PrivateIpAddress="10.20.2.200")


def test_describe_instances_paging_and_status(ec2, public_net):
    res = ec2.run_instances(ImageId=AMI, MinCount=3, MaxCount=3, SubnetId=public_net["private"],
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "batch", "Value": "paging"}]}])
    assert len(res["Instances"]) == 3 and [i["AmiLaunchIndex"] for i in res["Instances"]] == [0, 1, 2]
    flt = [{"Name": "tag:batch", "Values": ["paging"]}]
    seen, token = [], None
    while True:
        kw = dict(Filters=flt, MaxResults=5)
        if token:
            kw["NextToken"] = token
        page = ec2.describe_instances(**kw)
        seen += [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(i["InstanceId"] for i in res["Instances"])
    error_of(ec2.describe_instances, "InvalidParameterValue", MaxResults=2)
    error_of(ec2.describe_instances, "InvalidParameterCombination", InstanceIds=seen[:1], MaxResults=5)
    for iid in seen:
        wait_state(ec2, iid, "running")
    st = ec2.describe_instance_status(InstanceIds=seen)["InstanceStatuses"]
    assert {s["InstanceId"] for s in st} == set(seen) and all(s["InstanceStatus"]["Status"] == "ok" for s in st)
    ec2.stop_instances(InstanceIds=seen[:1])
    wait_state(ec2, seen[0], "stopped")
    assert seen[0] not in {s["InstanceId"] for s in ec2.describe_instance_status(InstanceIds=seen)["InstanceStatuses"]}
    assert seen[0] in {s["InstanceId"] for s in ec2.describe_instance_status(InstanceIds=seen, IncludeAllInstances=True)["InstanceStatuses"]}


def test_instance_targets_register_when_running(fulmar, ec2, public_net):
    elbv2 = fulmar.elbv2
    tg = elbv2.create_target_group(Name=uniq("itg"), Protocol="HTTP", Port=80, VpcId=public_net["vpc"], TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=public_net["private"])["Instances"][0]["InstanceId"]
    err = error_of(elbv2.register_targets, "InvalidTarget", TargetGroupArn=tg, Targets=[{"Id": iid}])
    assert "not in a running state" in err
    wait_state(ec2, iid, "running")
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": iid}, {"Id": iid, "Port": 8080}])
    got = {(d["Target"]["Id"], d["Target"]["Port"]) for d in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}
    assert got == {(iid, 80), (iid, 8080)}
    error_of(elbv2.register_targets, "InvalidTarget", TargetGroupArn=tg, Targets=[{"Id": "i-0123456789abcdef0"}])
    # A terminated instance leaves its target groups.
    ec2.terminate_instances(InstanceIds=[iid])
    assert elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"] == []


def test_instances_survive_restart(fulmar, ec2, public_net):
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=public_net["public"])["Instances"][0]["InstanceId"]
    before = wait_state(ec2, iid, "running")
    fulmar.restart()
    after = describe_one(fulmar.ec2, iid)
    for k in ("PrivateIpAddress", "PublicIpAddress", "SubnetId", "VpcId"):
        assert after[k] == before[k]
    assert after["NetworkInterfaces"][0]["NetworkInterfaceId"] == before["NetworkInterfaces"][0]["NetworkInterfaceId"]
