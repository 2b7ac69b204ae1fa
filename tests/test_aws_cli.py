"""The aws CLI, a client nobody here wrote, drives Fulmar end to end."""

import json
import re

import pytest

from support import curl, lb_address, poll, uniq, wait_listening


@pytest.fixture(scope="module")
def cli_network(fulmar):
    vpc = fulmar.aws("ec2", "create-vpc", "--cidr-block", "10.200.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        fulmar.aws(
            "ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", f"10.200.{i}.0/24", "--availability-zone", az
        )["Subnet"]["SubnetId"]
        for i, az in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]
    sg = fulmar.aws(
        "ec2", "create-security-group", "--group-name", uniq("cli-sg"), "--description", "cli", "--vpc-id", vpc
    )["GroupId"]
    fulmar.aws(
        "ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "80",
        "--cidr", "0.0.0.0/0",
    )
    # The listeners these tests create are on unprivileged ports, reached from loopback.
    fulmar.aws(
        "ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "1024-65535",
        "--cidr", "127.0.0.0/8",
    )
    return {"vpc": vpc, "subnets": subnets, "sg": sg}


@pytest.fixture(scope="module")
def cli_lb(fulmar, cli_network):
    name = uniq("cli")
    out = fulmar.aws(
        "elbv2", "create-load-balancer", "--name", name, "--subnets", *cli_network["subnets"],
        "--security-groups", cli_network["sg"], "--tags", "Key=made-by,Value=cli",
    )
    return out["LoadBalancers"][0]


def test_ec2_describe_through_cli(fulmar, cli_network):
    subnets = fulmar.aws("ec2", "describe-subnets", "--subnet-ids", *cli_network["subnets"])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == ["us-east-1a", "us-east-1b"]
    groups = fulmar.aws("ec2", "describe-security-groups", "--group-ids", cli_network["sg"])["SecurityGroups"]
    perms = groups[0]["IpPermissions"]
    assert any(p.get("FromPort") == 80 and p.get("ToPort") == 80 for p in perms), perms


def test_create_and_describe_load_balancer(fulmar, cli_lb, cli_network):
    name = cli_lb["LoadBalancerName"]
    assert cli_lb["Type"] == "application"
    assert re.fullmatch(rf"{name}-[0-9a-f]+\.us-east-1\.elb\.amazonaws\.com", cli_lb["DNSName"], re.I)
    fulmar.aws("elbv2", "wait", "load-balancer-available", "--load-balancer-arns", cli_lb["LoadBalancerArn"])
    lbs = fulmar.aws("elbv2", "describe-load-balancers", "--names", name)["LoadBalancers"]
    assert len(lbs) == 1
    lb = lbs[0]
    assert lb["LoadBalancerArn"] == cli_lb["LoadBalancerArn"]
    assert lb["State"]["Code"] == "active"
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == sorted(cli_network["subnets"])
    tags = fulmar.aws("elbv2", "describe-tags", "--resource-arns", lb["LoadBalancerArn"])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "made-by", "Value": "cli"}]


def test_target_group_listener_and_rule_through_cli(fulmar, cli_lb, cli_network):
    tg = fulmar.aws(
        "elbv2", "create-target-group", "--name", uniq("cli-tg"), "--protocol", "HTTP", "--port", "80",
        "--vpc-id", cli_network["vpc"], "--target-type", "ip", "--health-check-path", "/health",
    )["TargetGroups"][0]
    assert tg["TargetType"] == "ip"
    assert tg["HealthCheckPath"] == "/health"
    fulmar.aws("elbv2", "register-targets", "--target-group-arn", tg["TargetGroupArn"], "--targets", "Id=127.0.0.1,Port=9")
    health = fulmar.aws("elbv2", "describe-target-health", "--target-group-arn", tg["TargetGroupArn"])
    assert [d["Target"]["Port"] for d in health["TargetHealthDescriptions"]] == [9]

    lis = fulmar.aws(
        "elbv2", "create-listener", "--load-balancer-arn", cli_lb["LoadBalancerArn"], "--protocol", "HTTP",
        "--port", "8080", "--default-actions", f"Type=forward,TargetGroupArn={tg['TargetGroupArn']}",
    )["Listeners"][0]
    assert lis["Port"] == 8080
    listed = fulmar.aws("elbv2", "describe-listeners", "--load-balancer-arn", cli_lb["LoadBalancerArn"])["Listeners"]
    assert [l["ListenerArn"] for l in listed] == [lis["ListenerArn"]]

    actions = [
        {
            "Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "hello from cli"},
        }
    ]
    rule = fulmar.aws(
        "elbv2", "create-rule", "--listener-arn", lis["ListenerArn"], "--priority", "10",
        "--conditions", "Field=path-pattern,Values=/cli*", "--actions", json.dumps(actions),
    )["Rules"][0]
    assert rule["Priority"] == "10"
    rules = fulmar.aws("elbv2", "describe-rules", "--listener-arn", lis["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "default"]

    # The rule answers through the load balancer's address.
    addr = lb_address(fulmar.aws("elbv2", "describe-load-balancers", "--names", cli_lb["LoadBalancerName"])["LoadBalancers"][0])
    wait_listening(addr, 8080)
    r = poll(lambda: curl(f"http://{addr}:8080/cli/test"), 5, what="the cli rule to answer")
    assert r.status == 200
    assert r.body == "hello from cli"


def test_cli_pages_through_markers(fulmar, cli_network, cli_lb):
    names = [cli_lb["LoadBalancerName"]]
    for _ in range(2):
        names.append(
            fulmar.aws(
                "elbv2", "create-load-balancer", "--name", uniq("clipg"), "--subnets", *cli_network["subnets"],
                "--security-groups", cli_network["sg"],
            )["LoadBalancers"][0]["LoadBalancerName"]
        )
    # --page-size is the API's own PageSize here, so the CLI hands back NextMarker
    # and the caller follows it with --marker.
    got, marker = [], None
    for _ in range(50):
        args = ["elbv2", "describe-load-balancers", "--page-size", "1"]
        if marker:
            args += ["--marker", marker]
        out = fulmar.aws(*args)
        assert len(out["LoadBalancers"]) <= 1
        got += [lb["LoadBalancerName"] for lb in out["LoadBalancers"]]
        marker = out.get("NextMarker")
        if not marker:
            break
    assert set(names) <= set(got)
    assert len(got) == len(set(got))


def test_cli_reports_aws_error(fulmar):
    p = fulmar.aws_run("elbv2", "describe-load-balancers", "--names", "does-not-exist")
    assert p.returncode != 0
    assert "LoadBalancerNotFound" in p.stderr, p.stderr
