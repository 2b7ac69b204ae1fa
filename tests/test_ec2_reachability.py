"""The Reachability Analyzer and security groups on the load balancer's path, as a new
user tries them with boto3, the aws CLI, `fulmar explain` and curl:

- the bastion pattern (SPEC E5): a public subnet routed to an internet gateway, a
  bastion group open on 22 to anywhere, a private group taking the bastion's group as
  the source of 22, one instance in each. The analyzer finds bastion -> private:22
  (naming the rule that let it in) and no path internet -> private:22, naming the
  private group (ENI_SG_RULES_MISMATCH) and the missing public address
  (IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS), as AWS's analyzer explains it.
- `fulmar explain` says the same in plain words.
- G6: a client outside the ALB group's CIDRs gets no answer at all (curl times out,
  exit 28, never "refused"); it is served as soon as its CIDR is authorized, and
  blocked again once revoked.

Expectations come from the EC2 API reference, the botocore model and the Reachability
Analyzer's documented explanation codes."""

from __future__ import annotations

import subprocess

import pytest
from botocore.exceptions import ClientError

from support import CurlError, Network, create_alb, curl, fixed, fulmar_binary, lb_address, make_network, poll, uniq

AMI = "ami-0abcdef1234567890"


@pytest.fixture(scope="module")
def ec2(fulmar):
    return fulmar.ec2


def error_code(fn, **kw) -> str:
    with pytest.raises(ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def bastion(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.2.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=public)
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})

    bastion_sg = ec2.create_security_group(GroupName=uniq("bastion"), Description="bastion", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=bastion_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    private_sg = ec2.create_security_group(GroupName=uniq("private"), Description="private", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=private_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": bastion_sg}]}],
    )

    def launch(subnet, group, name):
        return ec2.run_instances(
            ImageId=AMI,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            SecurityGroupIds=[group],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
        )["Instances"][0]

    b = launch(public, bastion_sg, "bastion")
    p = launch(private, private_sg, "private")
    b = ec2.describe_instances(InstanceIds=[b["InstanceId"]])["Reservations"][0]["Instances"][0]
    p = ec2.describe_instances(InstanceIds=[p["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert b.get("PublicIpAddress"), "the bastion in the public subnet has a public address"
    assert not p.get("PublicIpAddress"), "the private instance has none"
    return dict(
        vpc=vpc, igw=igw, public=public, private=private, bastion_sg=bastion_sg, private_sg=private_sg,
        bastion=b, private_instance=p,
    )


def analyze(ec2, **path) -> dict:
    """Create a path, start an analysis, and return the analysis as Describe shows it."""
    p = ec2.create_network_insights_path(Protocol="tcp", **path)["NetworkInsightsPath"]
    started = ec2.start_network_insights_analysis(NetworkInsightsPathId=p["NetworkInsightsPathId"])["NetworkInsightsAnalysis"]
    # AWS analyses run asynchronously: Start answers "running", Describe later "succeeded".
    assert started["Status"] == "running"
    assert started["NetworkInsightsPathId"] == p["NetworkInsightsPathId"]

    def done():
        a = ec2.describe_network_insights_analyses(NetworkInsightsAnalysisIds=[started["NetworkInsightsAnalysisId"]])
        a = a["NetworkInsightsAnalyses"][0]
        return a if a["Status"] != "running" else None

    a = poll(done, 10, 0.2, "the analysis to finish")
    assert a["Status"] == "succeeded", a
    return a


def test_bastion_reaches_the_private_instance_on_22(ec2, bastion):
    a = analyze(
        ec2,
        Source=bastion["bastion"]["InstanceId"],
        Destination=bastion["private_instance"]["InstanceId"],
        DestinationPort=22,
    )
    assert a["NetworkPathFound"] is True
    assert "Explanations" not in a or a["Explanations"] == []
    hops = a["ForwardPathComponents"]
    assert [h["SequenceNumber"] for h in hops] == list(range(1, len(hops) + 1))
    assert hops[0]["Component"]["Id"] == bastion["bastion"]["InstanceId"]
    assert hops[-1]["Component"]["Id"] == bastion["private_instance"]["InstanceId"]
    rules = {h["Component"]["Id"]: h["SecurityGroupRule"] for h in hops if "SecurityGroupRule" in h}
    # The private group let it in by its rule naming the bastion's group, on 22/tcp.
    inbound = rules[bastion["private_sg"]]
    assert inbound["Direction"] == "ingress"
    assert inbound["SecurityGroupId"] == bastion["bastion_sg"]
    assert inbound["PortRange"] == {"From": 22, "To": 22}
    assert inbound["Protocol"] == "tcp"
    # The bastion's group let it out (a new group allows all egress).
    outbound = rules[bastion["bastion_sg"]]
    assert outbound["Direction"] == "egress" and outbound["Cidr"] == "0.0.0.0/0"
    routes = [h["RouteTableRoute"] for h in hops if "RouteTableRoute" in h]
    assert routes and routes[0]["GatewayId"] == "local" and routes[0]["DestinationCidr"] == "10.61.0.0/16"
    assert a["ReturnPathComponents"], "a path found shows the way back too"


def test_internet_does_not_reach_the_private_instance_and_the_private_group_is_named(ec2, bastion):
    a = analyze(ec2, Source=bastion["igw"], Destination=bastion["private_instance"]["InstanceId"], DestinationPort=22)
    assert a["NetworkPathFound"] is False
    assert "ForwardPathComponents" not in a or a["ForwardPathComponents"] == []
    by_code = {}
    for e in a["Explanations"]:
        by_code.setdefault(e["ExplanationCode"], []).append(e)
    sg = by_code["ENI_SG_RULES_MISMATCH"][0]
    assert sg["Direction"] == "ingress"
    assert [g["Id"] for g in sg["SecurityGroups"]] == [bastion["private_sg"]]
    assert sg["SecurityGroup"]["Id"] == bastion["private_sg"]
    assert sg["SecurityGroup"]["Arn"].endswith(f":security-group/{bastion['private_sg']}")
    eni = bastion["private_instance"]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    assert sg["NetworkInterface"]["Id"] == eni
    assert sg["Protocols"] == ["tcp"] and sg["PortRanges"] == [{"From": 22, "To": 22}]
    # No public address: the internet gateway has nothing to deliver to.
    igw = by_code["IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"][0]
    assert igw["InternetGateway"]["Id"] == bastion["igw"]
    # The private subnet has no route back to the internet gateway.
    assert "NO_ROUTE_TO_DESTINATION" in by_code


def test_internet_reaches_the_bastion_and_not_on_other_ports(ec2, bastion):
    a = analyze(ec2, Source=bastion["igw"], Destination=bastion["bastion"]["InstanceId"], DestinationPort=22)
    assert a["NetworkPathFound"] is True, a.get("Explanations")
    assert a["ForwardPathComponents"][0]["Component"]["Id"] == bastion["igw"]
    rule = next(h["SecurityGroupRule"] for h in a["ForwardPathComponents"] if "SecurityGroupRule" in h)
    assert rule == {"Cidr": "0.0.0.0/0", "Direction": "ingress", "PortRange": {"From": 22, "To": 22}, "Protocol": "tcp"}

    a = analyze(ec2, Source=bastion["igw"], Destination=bastion["bastion"]["InstanceId"], DestinationPort=3389)
    assert a["NetworkPathFound"] is False
    assert [e["ExplanationCode"] for e in a["Explanations"]] == ["ENI_SG_RULES_MISMATCH"]
    assert a["Explanations"][0]["SecurityGroups"][0]["Id"] == bastion["bastion_sg"]


def test_private_instance_cannot_reach_the_internet_without_a_route(ec2, bastion):
    a = analyze(ec2, Source=bastion["private_instance"]["InstanceId"], Destination=bastion["igw"], DestinationPort=443)
    assert a["NetworkPathFound"] is False
    assert [e["ExplanationCode"] for e in a["Explanations"]] == ["NO_ROUTE_TO_DESTINATION"]
    # The bastion, in the public subnet with a public address, can.
    a = analyze(ec2, Source=bastion["bastion"]["InstanceId"], Destination=bastion["igw"], DestinationPort=443)
    assert a["NetworkPathFound"] is True, a.get("Explanations")


def test_a_rule_change_changes_the_next_analysis(ec2, bastion):
    src, dst = bastion["bastion"]["InstanceId"], bastion["private_instance"]["InstanceId"]
    assert analyze(ec2, Source=src, Destination=dst, DestinationPort=5432)["NetworkPathFound"] is False
    perm = [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.61.1.0/24"}]}]
    ec2.authorize_security_group_ingress(GroupId=bastion["private_sg"], IpPermissions=perm)
    try:
        a = analyze(ec2, Source=src, Destination=dst, DestinationPort=5432)
        assert a["NetworkPathFound"] is True
        rule = next(
            h["SecurityGroupRule"] for h in a["ForwardPathComponents"] if h["Component"]["Id"] == bastion["private_sg"]
        )
        assert rule["Cidr"] == "10.61.1.0/24"
    finally:
        ec2.revoke_security_group_ingress(GroupId=bastion["private_sg"], IpPermissions=perm)


def test_paths_and_analyses_describe_delete_and_errors(fulmar, ec2, bastion):
    p = ec2.create_network_insights_path(
        Source=bastion["bastion"]["InstanceId"],
        Destination=bastion["private_instance"]["InstanceId"],
        Protocol="tcp",
        DestinationPort=22,
        TagSpecifications=[{"ResourceType": "network-insights-path", "Tags": [{"Key": "team", "Value": "net"}]}],
    )["NetworkInsightsPath"]
    pid = p["NetworkInsightsPathId"]
    assert pid.startswith("nip-") and p["NetworkInsightsPathArn"].endswith(f":network-insights-path/{pid}")
    assert p["Source"] == bastion["bastion"]["InstanceId"] and p["SourceArn"].endswith(f"instance/{p['Source']}")
    assert p["Protocol"] == "tcp" and p["DestinationPort"] == 22 and p["Tags"] == [{"Key": "team", "Value": "net"}]
    assert "CreatedDate" in p
    got = ec2.describe_network_insights_paths(Filters=[{"Name": "tag:team", "Values": ["net"]}])["NetworkInsightsPaths"]
    assert [x["NetworkInsightsPathId"] for x in got] == [pid]
    got = ec2.describe_network_insights_paths(Filters=[{"Name": "destination", "Values": [p["Destination"]]}])
    assert pid in [x["NetworkInsightsPathId"] for x in got["NetworkInsightsPaths"]]

    aid = ec2.start_network_insights_analysis(NetworkInsightsPathId=pid)["NetworkInsightsAnalysis"]["NetworkInsightsAnalysisId"]
    assert aid.startswith("nia-")
    found = ec2.describe_network_insights_analyses(
        NetworkInsightsPathId=pid, Filters=[{"Name": "path-found", "Values": ["true"]}]
    )["NetworkInsightsAnalyses"]
    assert [a["NetworkInsightsAnalysisId"] for a in found] == [aid]

    assert error_code(ec2.describe_network_insights_paths, NetworkInsightsPathIds=["nip-0123456789abcdef0"]) == (
        "InvalidNetworkInsightsPathId.NotFound"
    )
    assert error_code(ec2.describe_network_insights_analyses, NetworkInsightsAnalysisIds=["nia-0123456789abcdef0"]) == (
        "InvalidNetworkInsightsAnalysisId.NotFound"
    )
    assert error_code(
        ec2.create_network_insights_path, Source="i-0123456789abcdef0", Destination=bastion["igw"], Protocol="tcp"
    ) == "InvalidInstanceID.NotFound"
    assert error_code(
        ec2.create_network_insights_path, Source=bastion["igw"], Destination=bastion["bastion"]["InstanceId"], Protocol="icmp"
    ) == "InvalidParameterValue"
    assert error_code(ec2.start_network_insights_analysis, NetworkInsightsPathId="nip-0123456789abcdef0") == (
        "InvalidNetworkInsightsPathId.NotFound"
    )
    # A path with analyses is deleted after them.
    assert error_code(ec2.delete_network_insights_path, NetworkInsightsPathId=pid) == "DependencyViolation"
    assert ec2.delete_network_insights_analysis(NetworkInsightsAnalysisId=aid)["NetworkInsightsAnalysisId"] == aid
    assert ec2.delete_network_insights_path(NetworkInsightsPathId=pid)["NetworkInsightsPathId"] == pid
    assert error_code(ec2.delete_network_insights_path, NetworkInsightsPathId=pid) == "InvalidNetworkInsightsPathId.NotFound"

    # The same through the aws CLI, and across a restart (paths and analyses are stored).
    cli = fulmar.aws(
        "ec2", "create-network-insights-path", "--source", bastion["igw"],
        "--destination", bastion["private_instance"]["InstanceId"], "--protocol", "tcp", "--destination-port", "22",
    )["NetworkInsightsPath"]
    started = fulmar.aws("ec2", "start-network-insights-analysis", "--network-insights-path-id", cli["NetworkInsightsPathId"])
    aid = started["NetworkInsightsAnalysis"]["NetworkInsightsAnalysisId"]
    fulmar.restart()
    shown = fulmar.aws("ec2", "describe-network-insights-analyses", "--network-insights-analysis-ids", aid)
    a = shown["NetworkInsightsAnalyses"][0]
    assert a["Status"] == "succeeded" and a["NetworkPathFound"] is False
    assert bastion["private_sg"] in [g["Id"] for e in a["Explanations"] for g in e.get("SecurityGroups", [])]


def explain(fulmar, src: str, dst: str, traffic: str = "tcp/22") -> str:
    p = subprocess.run(
        [str(fulmar_binary()), "explain", "--from", src, "--to", dst, "--traffic", traffic, "--api-addr", f"127.0.0.1:{fulmar.api_port}"],
        capture_output=True, text=True, timeout=20,
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_fulmar_explain_says_it_in_plain_words(fulmar, ec2, bastion):
    private_ip = bastion["private_instance"]["PrivateIpAddress"]
    rule = [
        r for r in ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [bastion["private_sg"]]}])[
            "SecurityGroupRules"
        ]
        if not r["IsEgress"]
    ]
    assert len(rule) == 1
    out = explain(fulmar, bastion["bastion"]["PrivateIpAddress"], private_ip)
    assert out.startswith("allowed"), out
    assert rule[0]["SecurityGroupRuleId"] in out and bastion["private_sg"] in out
    out = explain(fulmar, "203.0.113.9", private_ip)
    assert out.startswith("blocked"), out
    assert bastion["private_sg"] in out


# --------------------------------------------------------------------------- G6 through a real ALB


def curl_code(url: str, interface: str) -> int | str:
    """The HTTP status, or the curl exit code when there is no HTTP answer."""
    try:
        return curl(url, interface=interface, timeout=2).status
    except CurlError as e:
        return e.code


def test_alb_group_gates_clients_by_cidr(fulmar, ec2):
    net = make_network(ec2)
    sg = ec2.create_security_group(GroupName=uniq("alb-g6"), Description="only 127.50/16", VpcId=net.vpc_id)["GroupId"]
    perm = lambda cidr: [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": cidr}]}]  # noqa: E731
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=perm("127.50.0.0/16"))
    lb = create_alb(fulmar.elbv2, Network(net.vpc_id, net.subnet_ids, net.azs, sg))
    fulmar.elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8080, DefaultActions=fixed("200", "served")
    )
    url = f"http://{lb_address(lb)}:8080/"
    poll(lambda: curl_code(url, "127.50.0.1") == 200, 10, 0.2, "the listener to serve an allowed client")

    # Outside the group's CIDRs: nothing at all, until curl gives up (28), never refused (7).
    assert curl_code(url, "127.60.0.1") == 28

    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=perm("127.60.0.0/16"))
    poll(lambda: curl_code(url, "127.60.0.1") == 200, 10, 0.2, "the newly authorized client to be served")

    ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=perm("127.60.0.0/16"))
    poll(lambda: curl_code(url, "127.60.0.1") == 28, 15, 0.2, "the revoked client to be blocked again")
    assert curl_code(url, "127.50.0.1") == 200
