"""Security groups, rules, tags and VPC networking through boto3 (SPEC G1, G3, G5,
E1, E6): rule ids, authorize/revoke in both directions, rule descriptions and
modifications, IpPermissions round-trips, deletion dependencies, tags across
resources, internet and NAT gateways, route tables, and AWS's error codes."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def ec2(fulmar):
    return fulmar.ec2


@pytest.fixture(scope="module")
def vpc(ec2):
    return ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]


def new_group(ec2, vpc, **kw):
    return ec2.create_security_group(GroupName=uniq("grp"), Description="test", VpcId=vpc, **kw)["GroupId"]


def group(ec2, gid):
    return ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]


def test_new_group_denies_inbound_allows_all_outbound(ec2, vpc):
    gid = new_group(ec2, vpc, TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "tier", "Value": "web"}]}])
    g = group(ec2, gid)
    assert g["IpPermissions"] == [] and g["VpcId"] == vpc
    assert g["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert g["Tags"] == [{"Key": "tier", "Value": "web"}]
    v6 = ec2.create_vpc(CidrBlock="10.31.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]["VpcId"]
    g6 = group(ec2, new_group(ec2, v6))
    assert g6["IpPermissionsEgress"][0]["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}]
    error_of(ec2.create_security_group, "InvalidGroup.Duplicate", GroupName=g["GroupName"], Description="x", VpcId=vpc)
    error_of(ec2.create_security_group, "InvalidVpcID.NotFound", GroupName="x", Description="x", VpcId="vpc-0123456789abcdef0")


def test_bulk_authorize_round_trips_as_aws_shows_it(ec2, vpc):
    gid = new_group(ec2, vpc)
    peer = new_group(ec2, vpc)
    perms = [
        {
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "corp"}, {"CidrIp": "192.168.0.0/16"}],
            "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}],
            "UserIdGroupPairs": [{"GroupId": peer, "Description": "peer"}],
        },
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ]
    out = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
    assert out["Return"] is True and len(out["SecurityGroupRules"]) == 6
    assert all(r["SecurityGroupRuleId"].startswith("sgr-") and r["IsEgress"] is False for r in out["SecurityGroupRules"])
    got = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort")): p for p in group(ec2, gid)["IpPermissions"]}
    https = got[("tcp", 443, 443)]
    assert https["IpRanges"] == [{"CidrIp": "10.0.0.0/8", "Description": "corp"}, {"CidrIp": "192.168.0.0/16"}]
    assert https["Ipv6Ranges"] == [{"CidrIpv6": "2001:db8::/32"}]
    assert [(p["GroupId"], p["Description"]) for p in https["UserIdGroupPairs"]] == [(peer, "peer")]
    assert got[("udp", 53, 53)]["IpRanges"] == [{"CidrIp": "10.1.0.0/16"}]
    assert got[("icmp", 8, -1)]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    # Authorizing the same permission again is a duplicate; so is one peer of it.
    error_of(ec2.authorize_security_group_ingress, "InvalidPermission.Duplicate", GroupId=gid, IpPermissions=perms[1:2])
    error_of(ec2.authorize_security_group_ingress, "InvalidPermission.Duplicate", GroupId=gid,
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "192.168.0.0/16"}]}])
    # The legacy flat form still works.
    ec2.authorize_security_group_ingress(GroupId=gid, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="203.0.113.0/24")
    assert group(ec2, gid)["IpPermissions"][-1]["IpRanges"] == [{"CidrIp": "203.0.113.0/24"}]


def test_revoke_by_permission_and_by_rule_id(ec2, vpc):
    gid = new_group(ec2, vpc)
    rules = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}]},
    ])["SecurityGroupRules"]
    out = ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    assert out["Return"] is True and [r["CidrIpv4"] for r in out["RevokedSecurityGroupRules"]] == ["10.0.0.0/8"]
    assert group(ec2, gid)["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    error_of(ec2.revoke_security_group_ingress, "InvalidPermission.NotFound", GroupId=gid,
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    remaining = [r for r in rules if r["CidrIpv4"] == "0.0.0.0/0"][0]["SecurityGroupRuleId"]
    ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=[remaining])
    assert group(ec2, gid)["IpPermissions"] == []
    error_of(ec2.revoke_security_group_ingress, "InvalidSecurityGroupRuleId.NotFound", GroupId=gid, SecurityGroupRuleIds=[remaining])
    # Egress: revoke the default allow-all, then authorize and revoke a narrower rule.
    ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert group(ec2, gid)["IpPermissionsEgress"] == []
    out = ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert out["SecurityGroupRules"][0]["IsEgress"] is True
    error_of(ec2.authorize_security_group_egress, "InvalidPermission.Duplicate", GroupId=gid,
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    error_of(ec2.revoke_security_group_egress, "InvalidPermission.NotFound", GroupId=gid,
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def test_describe_modify_and_describe_rules(ec2, vpc):
    gid = new_group(ec2, vpc)
    rid = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
    assert len(rules) == 2 and {r["IsEgress"] for r in rules} == {True, False}
    one = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"]
    assert one[0]["CidrIpv4"] == "0.0.0.0/0" and one[0]["GroupId"] == gid
    assert ec2.describe_security_group_rules(Filters=[{"Name": "security-group-rule-id", "Values": [rid]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"] == rid
    ec2.modify_security_group_rules(GroupId=gid, SecurityGroupRules=[{"SecurityGroupRuleId": rid, "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "10.0.0.0/8", "Description": "vpn"}}])
    one = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"][0]
    assert (one["CidrIpv4"], one["Description"]) == ("10.0.0.0/8", "vpn")
    ec2.update_security_group_rule_descriptions_ingress(GroupId=gid, SecurityGroupRuleDescriptions=[{"SecurityGroupRuleId": rid, "Description": "office"}])
    assert group(ec2, gid)["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "10.0.0.0/8", "Description": "office"}]
    ec2.update_security_group_rule_descriptions_ingress(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}]}])
    assert group(ec2, gid)["IpPermissions"][0]["IpRanges"][0]["Description"] == "ssh"
    error_of(ec2.update_security_group_rule_descriptions_ingress, "InvalidPermission.NotFound", GroupId=gid,
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 23, "ToPort": 23, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "x"}]}])
    egress = [r for r in rules if r["IsEgress"]][0]["SecurityGroupRuleId"]
    ec2.update_security_group_rule_descriptions_egress(GroupId=gid, SecurityGroupRuleDescriptions=[{"SecurityGroupRuleId": egress, "Description": "out"}])
    assert group(ec2, gid)["IpPermissionsEgress"][0]["IpRanges"][0]["Description"] == "out"
    error_of(ec2.modify_security_group_rules, "InvalidSecurityGroupRuleId.NotFound", GroupId=gid,
             SecurityGroupRules=[{"SecurityGroupRuleId": "sgr-0123456789abcdef0", "SecurityGroupRule": {"IpProtocol": "-1", "CidrIpv4": "1.2.3.4/32"}}])
    # Paging through the rules of this VPC's groups.
    page = ec2.describe_security_group_rules(MaxResults=5)
    assert len(page["SecurityGroupRules"]) == 5 and "NextToken" in page


def test_ip_permission_filters(ec2, vpc):
    gid = new_group(ec2, vpc)
    src = new_group(ec2, vpc)
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": src}]},
    ])

    def ids(*filters):
        return {g["GroupId"] for g in ec2.describe_security_groups(Filters=[{"Name": n, "Values": v} for n, v in filters])["SecurityGroups"]}

    assert gid in ids(("ip-permission.from-port", ["22"]), ("ip-permission.cidr", ["0.0.0.0/0"]))
    assert gid in ids(("ip-permission.group-id", [src]))
    assert gid not in ids(("ip-permission.from-port", ["80"]))
    assert gid in ids(("egress.ip-permission.cidr", ["0.0.0.0/0"]), ("group-id", [gid]))
    assert ids(("ip-permission.protocol", ["udp"]), ("group-id", [gid])) == set()


def test_group_rules_and_deletion_errors(ec2, vpc):
    gid = new_group(ec2, vpc)
    other_vpc = ec2.create_vpc(CidrBlock="10.32.0.0/16")["Vpc"]["VpcId"]
    foreign = new_group(ec2, other_vpc)
    error_of(ec2.authorize_security_group_ingress, "InvalidGroup.NotFound", GroupId="sg-0123456789abcdef0",
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    error_of(ec2.authorize_security_group_ingress, "InvalidGroup.NotFound", GroupId=gid,
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "UserIdGroupPairs": [{"GroupId": foreign}]}])
    error_of(ec2.authorize_security_group_ingress, "InvalidParameterValue", GroupId=gid,
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 90, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    error_of(ec2.authorize_security_group_ingress, "InvalidParameterValue", GroupId=gid,
             IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/33"}]}])
    error_of(ec2.authorize_security_group_ingress, "InvalidParameterValue", GroupId=gid,
             IpPermissions=[{"IpProtocol": "bogus", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    # Referenced by another group: DependencyViolation until the reference goes.
    ref = new_group(ec2, vpc)
    perm = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": gid}]}]
    ec2.authorize_security_group_ingress(GroupId=ref, IpPermissions=perm)
    error_of(ec2.delete_security_group, "DependencyViolation", GroupId=gid)
    ec2.revoke_security_group_ingress(GroupId=ref, IpPermissions=perm)
    ec2.delete_security_group(GroupId=gid)
    error_of(ec2.delete_security_group, "InvalidGroup.NotFound", GroupId=gid)
    error_of(ec2.describe_security_groups, "InvalidGroup.NotFound", GroupIds=[gid])
    default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    error_of(ec2.delete_security_group, "CannotDelete", GroupId=default)


def test_tags_across_resources(ec2, vpc):
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.9.0/24")["Subnet"]["SubnetId"]
    gid = new_group(ec2, vpc)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=sub)["Instances"][0]["InstanceId"]
    resources = [vpc, sub, gid, igw, iid]
    ec2.create_tags(Resources=resources, Tags=[{"Key": "env", "Value": "test"}, {"Key": "owner", "Value": "me"}])
    tags = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}, {"Name": "resource-id", "Values": resources}])["Tags"]
    assert {(t["ResourceId"], t["ResourceType"], t["Value"]) for t in tags} == {
        (vpc, "vpc", "test"), (sub, "subnet", "test"), (gid, "security-group", "test"), (igw, "internet-gateway", "test"), (iid, "instance", "test"),
    }
    assert ec2.describe_subnets(Filters=[{"Name": "tag:env", "Values": ["test"]}, {"Name": "subnet-id", "Values": [sub]}])["Subnets"]
    ec2.delete_tags(Resources=[sub], Tags=[{"Key": "env", "Value": "other"}])  # value differs: kept
    ec2.delete_tags(Resources=[sub], Tags=[{"Key": "owner"}])
    assert ec2.describe_subnets(SubnetIds=[sub])["Subnets"][0]["Tags"] == [{"Key": "env", "Value": "test"}]
    error_of(ec2.create_tags, "InvalidInstanceID.NotFound", Resources=["i-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}])
    error_of(ec2.create_tags, "InvalidID", Resources=["bogus-thing"], Tags=[{"Key": "a", "Value": "b"}])
    error_of(ec2.create_tags, "InvalidParameterValue", Resources=[vpc], Tags=[{"Key": "aws:x", "Value": "b"}])
    page = ec2.describe_tags(MaxResults=5)
    assert len(page["Tags"]) == 5 and page.get("NextToken")


def test_internet_gateway_route_table_errors(ec2):
    v = ec2.create_vpc(CidrBlock="10.33.0.0/16")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=v, CidrBlock="10.33.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    error_of(ec2.detach_internet_gateway, "Gateway.NotAttached", InternetGatewayId=igw, VpcId=v)
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=v)
    error_of(ec2.attach_internet_gateway, "Resource.AlreadyAssociated", InternetGatewayId=igw, VpcId=v)
    error_of(ec2.delete_internet_gateway, "DependencyViolation", InternetGatewayId=igw)
    error_of(ec2.attach_internet_gateway, "InvalidInternetGatewayID.NotFound", InternetGatewayId="igw-0123456789abcdef0", VpcId=v)
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [v]}])["RouteTables"]
    assert len(main) == 1 and main[0]["Associations"][0]["Main"] is True
    assert main[0]["Routes"] == [{"DestinationCidrBlock": "10.33.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"}]
    rtb = ec2.create_route_table(VpcId=v)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    error_of(ec2.create_route, "RouteAlreadyExists", RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    error_of(ec2.create_route, "InvalidGatewayID.NotFound", RouteTableId=rtb, DestinationCidrBlock="1.0.0.0/8", GatewayId="igw-0123456789abcdef0")
    error_of(ec2.delete_route, "InvalidRoute.NotFound", RouteTableId=rtb, DestinationCidrBlock="1.0.0.0/8")
    error_of(ec2.delete_route, "InvalidParameterValue", RouteTableId=rtb, DestinationCidrBlock="10.33.0.0/16")
    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=sub)["AssociationId"]
    error_of(ec2.associate_route_table, "Resource.AlreadyAssociated", RouteTableId=main[0]["RouteTableId"], SubnetId=sub)
    error_of(ec2.delete_route_table, "DependencyViolation", RouteTableId=rtb)
    error_of(ec2.disassociate_route_table, "InvalidParameterValue", AssociationId=main[0]["Associations"][0]["RouteTableAssociationId"])
    # Public subnet: an instance with a public IP maps an address, so the gateway cannot leave.
    ec2.modify_subnet_attribute(SubnetId=sub, MapPublicIpOnLaunch={"Value": True})
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=sub)["Instances"][0]["InstanceId"]
    error_of(ec2.detach_internet_gateway, "DependencyViolation", InternetGatewayId=igw, VpcId=v)
    error_of(ec2.delete_subnet, "DependencyViolation", SubnetId=sub)
    error_of(ec2.delete_vpc, "DependencyViolation", VpcId=v)
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=v)
    routes = ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]["Routes"]
    assert [r["State"] for r in routes if r["DestinationCidrBlock"] == "0.0.0.0/0"] == ["blackhole"]
    ec2.disassociate_route_table(AssociationId=assoc)
    error_of(ec2.disassociate_route_table, "InvalidAssociationID.NotFound", AssociationId=assoc)
    ec2.delete_route_table(RouteTableId=rtb)
    error_of(ec2.describe_route_tables, "InvalidRouteTableID.NotFound", RouteTableIds=[rtb])
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_subnet(SubnetId=sub)
    ec2.delete_vpc(VpcId=v)
    assert ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [v]}])["RouteTables"] == []


def test_subnet_conflict_and_nat_gateway(ec2):
    v = ec2.create_vpc(CidrBlock="10.34.0.0/16")["Vpc"]["VpcId"]
    pub = ec2.create_subnet(VpcId=v, CidrBlock="10.34.1.0/24")["Subnet"]["SubnetId"]
    priv = ec2.create_subnet(VpcId=v, CidrBlock="10.34.2.0/24")["Subnet"]["SubnetId"]
    error_of(ec2.create_subnet, "InvalidSubnet.Conflict", VpcId=v, CidrBlock="10.34.1.128/25")
    error_of(ec2.create_subnet, "InvalidSubnet.Range", VpcId=v, CidrBlock="10.99.1.0/24")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=v)
    eip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=pub, AllocationId=eip["AllocationId"])["NatGateway"]
    assert nat["State"] == "pending" and nat["NatGatewayAddresses"][0]["PublicIp"] == eip["PublicIp"]
    poll(lambda: ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"] == "available", 15, 0.2, "NAT available")
    private_rtb = ec2.create_route_table(VpcId=v)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"])
    ec2.associate_route_table(RouteTableId=private_rtb, SubnetId=priv)
    routes = ec2.describe_route_tables(RouteTableIds=[private_rtb])["RouteTables"][0]["Routes"]
    assert any(r.get("NatGatewayId") == nat["NatGatewayId"] and r["State"] == "active" for r in routes)
    addr = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"][0]
    assert addr["NetworkInterfaceId"] == nat["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "interface-type", "Values": ["nat_gateway"]}, {"Name": "vpc-id", "Values": [v]}])["NetworkInterfaces"]
    assert len(enis) == 1 and enis[0]["RequesterManaged"] is True
    error_of(ec2.create_nat_gateway, "InvalidAllocationID.NotFound", SubnetId=pub, AllocationId="eipalloc-0123456789abcdef0")
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    poll(lambda: ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"] == "deleted", 15, 0.2, "NAT deleted")
    routes = ec2.describe_route_tables(RouteTableIds=[private_rtb])["RouteTables"][0]["Routes"]
    assert [r["State"] for r in routes if r.get("NatGatewayId")] == ["blackhole"]
    ec2.release_address(AllocationId=eip["AllocationId"])
    error_of(ec2.delete_nat_gateway, "NatGatewayNotFound", NatGatewayId=nat["NatGatewayId"])
