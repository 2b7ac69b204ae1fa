"""The ELBv2 API lifecycle through boto3: shapes, defaults and round trips as AWS has them."""

import ipaddress
import re

import pytest
from botocore.exceptions import ClientError

from support import (
    ACCOUNT_ID,
    REGION,
    create_alb,
    create_ip_target_group,
    fixed,
    forward,
    host_is,
    lb_address,
    path_is,
    uniq,
)

HEX = "[0-9a-f]{16}"
ARN_PREFIX = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:"


def attrs(items):
    return {a["Key"]: a["Value"] for a in items}


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def ex_info(exc):
    """Wrap a caught exception so code_of() reads it like a pytest.raises result."""
    return type("ExcInfo", (), {"value": exc})()


@pytest.fixture(scope="module")
def alb(fulmar, network):
    return create_alb(fulmar.elbv2, network, name=uniq("life"))


@pytest.fixture(scope="module")
def tg(fulmar, network):
    return create_ip_target_group(fulmar.elbv2, network.vpc_id)


# --------------------------------------------------------------------------- EC2 prerequisites


def test_ec2_resources_are_described(fulmar, network):
    ec2 = fulmar.ec2
    vpcs = ec2.describe_vpcs(VpcIds=[network.vpc_id])["Vpcs"]
    assert [v["VpcId"] for v in vpcs] == [network.vpc_id]
    assert re.fullmatch(r"vpc-[0-9a-f]{8,17}", network.vpc_id)
    subnets = ec2.describe_subnets(SubnetIds=network.subnet_ids)["Subnets"]
    assert {s["SubnetId"]: s["AvailabilityZone"] for s in subnets} == dict(zip(network.subnet_ids, network.azs))
    assert all(s["VpcId"] == network.vpc_id for s in subnets)
    assert all(re.fullmatch(r"subnet-[0-9a-f]{8,17}", s) for s in network.subnet_ids)
    sgs = ec2.describe_security_groups(GroupIds=[network.sg_id])["SecurityGroups"]
    assert sgs[0]["VpcId"] == network.vpc_id
    assert re.fullmatch(r"sg-[0-9a-f]{8,17}", network.sg_id)


# --------------------------------------------------------------------------- load balancers


def test_create_load_balancer_shape(fulmar, network):
    name = uniq("Shape")
    created = fulmar.elbv2.create_load_balancer(
        Name=name, Subnets=network.subnet_ids, SecurityGroups=[network.sg_id]
    )["LoadBalancers"]
    assert len(created) == 1
    lb = created[0]
    assert lb["LoadBalancerName"] == name
    assert re.fullmatch(ARN_PREFIX + f"loadbalancer/app/{name}/{HEX}", lb["LoadBalancerArn"]), lb["LoadBalancerArn"]
    assert re.fullmatch(rf"{name}-[0-9a-f]{{1,32}}\.{REGION}\.elb\.amazonaws\.com", lb["DNSName"], re.I), lb["DNSName"]
    assert lb["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"
    assert lb["Type"] == "application"
    assert lb["Scheme"] == "internet-facing"
    assert lb["IpAddressType"] == "ipv4"
    assert lb["VpcId"] == network.vpc_id
    assert lb["SecurityGroups"] == [network.sg_id]
    assert lb["State"]["Code"] in ("provisioning", "active")
    assert {(az["ZoneName"], az["SubnetId"]) for az in lb["AvailabilityZones"]} == set(
        zip(network.azs, network.subnet_ids)
    )
    assert lb["CreatedTime"] is not None


def test_described_load_balancer_is_active_with_address_from_pool(fulmar, alb):
    lb = fulmar.elbv2.describe_load_balancers(Names=[alb["LoadBalancerName"]])["LoadBalancers"][0]
    assert lb["State"]["Code"] == "active"
    assert lb["LoadBalancerArn"] == alb["LoadBalancerArn"]
    addr = ipaddress.ip_address(lb_address(lb))
    assert addr in fulmar.pool_net, f"{addr} not in the pool {fulmar.pool}"


def test_each_load_balancer_gets_its_own_address(fulmar, network, alb):
    other = create_alb(fulmar.elbv2, network)
    assert lb_address(other) != lb_address(alb)
    assert other["DNSName"] != alb["DNSName"]
    fulmar.elbv2.delete_load_balancer(LoadBalancerArn=other["LoadBalancerArn"])


def test_internal_scheme_dns_name(fulmar, network):
    name = uniq("intl")
    lb = create_alb(fulmar.elbv2, network, name=name, Scheme="internal")
    assert lb["Scheme"] == "internal"
    assert re.fullmatch(rf"internal-{name}-[0-9a-f]{{1,32}}\.{REGION}\.elb\.amazonaws\.com", lb["DNSName"], re.I)
    fulmar.elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_describe_by_arn_and_name_agree(fulmar, alb):
    by_arn = fulmar.elbv2.describe_load_balancers(LoadBalancerArns=[alb["LoadBalancerArn"]])["LoadBalancers"]
    by_name = fulmar.elbv2.describe_load_balancers(Names=[alb["LoadBalancerName"]])["LoadBalancers"]
    assert by_arn == by_name
    everything = fulmar.elbv2.describe_load_balancers()["LoadBalancers"]
    assert alb["LoadBalancerArn"] in [lb["LoadBalancerArn"] for lb in everything]


def test_delete_load_balancer(fulmar, network):
    lb = create_alb(fulmar.elbv2, network)
    arn = lb["LoadBalancerArn"]
    fulmar.elbv2.delete_load_balancer(LoadBalancerArn=arn)
    with pytest.raises(ClientError) as e:
        fulmar.elbv2.describe_load_balancers(LoadBalancerArns=[arn])
    assert code_of(e) == "LoadBalancerNotFound"
    # AWS: "If the load balancer does not exist or has already been deleted, the call succeeds."
    fulmar.elbv2.delete_load_balancer(LoadBalancerArn=arn)


def test_deleting_a_load_balancer_deletes_its_listeners(fulmar, network, tg):
    lb = create_alb(fulmar.elbv2, network)
    lis = fulmar.elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8090, DefaultActions=fixed("200", "x")
    )["Listeners"][0]
    fulmar.elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    with pytest.raises(ClientError) as e:
        fulmar.elbv2.describe_listeners(ListenerArns=[lis["ListenerArn"]])
    assert code_of(e) == "ListenerNotFound"


# --------------------------------------------------------------------------- LB attributes

LB_DEFAULTS = {
    "idle_timeout.timeout_seconds": "60",
    "deletion_protection.enabled": "false",
    "routing.http2.enabled": "true",
    "access_logs.s3.enabled": "false",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.xff_header_processing.mode": "append",
}


def test_load_balancer_attribute_defaults(fulmar, alb):
    got = attrs(fulmar.elbv2.describe_load_balancer_attributes(LoadBalancerArn=alb["LoadBalancerArn"])["Attributes"])
    for k, v in LB_DEFAULTS.items():
        assert got.get(k) == v, f"{k}: {got.get(k)!r} (AWS default {v!r})"


def test_modify_load_balancer_attributes(fulmar, alb):
    arn = alb["LoadBalancerArn"]
    out = fulmar.elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}]
    )
    assert attrs(out["Attributes"])["idle_timeout.timeout_seconds"] == "120"
    got = attrs(fulmar.elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"])
    assert got["idle_timeout.timeout_seconds"] == "120"
    assert got["deletion_protection.enabled"] == "false"  # untouched keys keep their values
    fulmar.elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "60"}]
    )


@pytest.mark.parametrize(
    "key,value",
    [
        ("no.such.attribute", "1"),
        ("idle_timeout.timeout_seconds", "0"),
        ("idle_timeout.timeout_seconds", "4001"),
        ("idle_timeout.timeout_seconds", "soon"),
        ("deletion_protection.enabled", "maybe"),
    ],
)
def test_bad_load_balancer_attribute_is_validation_error(fulmar, alb, key, value):
    with pytest.raises(ClientError) as e:
        fulmar.elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=alb["LoadBalancerArn"], Attributes=[{"Key": key, "Value": value}]
        )
    assert code_of(e) == "ValidationError"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_deletion_protection_blocks_delete(fulmar, network):
    lb = create_alb(fulmar.elbv2, network)
    arn = lb["LoadBalancerArn"]
    fulmar.elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}]
    )
    with pytest.raises(ClientError) as e:
        fulmar.elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert code_of(e) == "OperationNotPermitted"
    assert fulmar.elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    fulmar.elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}]
    )
    fulmar.elbv2.delete_load_balancer(LoadBalancerArn=arn)


# --------------------------------------------------------------------------- target groups


def test_target_group_defaults(fulmar, network):
    name = uniq("dflt")
    tg = fulmar.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=network.vpc_id)[
        "TargetGroups"
    ][0]
    assert tg["TargetGroupName"] == name
    assert re.fullmatch(ARN_PREFIX + f"targetgroup/{name}/{HEX}", tg["TargetGroupArn"]), tg["TargetGroupArn"]
    assert tg["TargetType"] == "instance"
    assert tg["Protocol"] == "HTTP"
    assert tg["Port"] == 80
    assert tg["VpcId"] == network.vpc_id
    assert tg["HealthCheckProtocol"] == "HTTP"
    assert tg["HealthCheckPort"] == "traffic-port"
    assert tg["HealthCheckEnabled"] is True
    assert tg["HealthCheckPath"] == "/"
    assert tg["HealthCheckIntervalSeconds"] == 30
    assert tg["HealthCheckTimeoutSeconds"] in (5, 6)  # the guide says 5, the current model 6
    assert tg["HealthyThresholdCount"] == 5
    assert tg["UnhealthyThresholdCount"] == 2
    assert tg["Matcher"] == {"HttpCode": "200"}
    assert tg.get("ProtocolVersion") == "HTTP1"
    assert "LoadBalancerArns" not in tg  # CreateTargetGroup omits it (AWS's example output)
    again = fulmar.elbv2.describe_target_groups(Names=[name])["TargetGroups"]
    assert again == [dict(tg, LoadBalancerArns=[])]
    fulmar.elbv2.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


TG_DEFAULTS = {
    "deregistration_delay.timeout_seconds": "300",
    "stickiness.enabled": "false",
    "stickiness.type": "lb_cookie",
    "stickiness.lb_cookie.duration_seconds": "86400",
    "load_balancing.algorithm.type": "round_robin",
    "slow_start.duration_seconds": "0",
}


def test_target_group_attribute_defaults_and_modify(fulmar, tg):
    arn = tg["TargetGroupArn"]
    got = attrs(fulmar.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"])
    for k, v in TG_DEFAULTS.items():
        assert got.get(k) == v, f"{k}: {got.get(k)!r} (AWS default {v!r})"
    out = fulmar.elbv2.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "10"},
            {"Key": "stickiness.enabled", "Value": "true"},
        ],
    )
    assert attrs(out["Attributes"])["deregistration_delay.timeout_seconds"] == "10"
    got = attrs(fulmar.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"])
    assert got["deregistration_delay.timeout_seconds"] == "10"
    assert got["stickiness.enabled"] == "true"
    assert got["stickiness.type"] == "lb_cookie"
    with pytest.raises(ClientError) as e:
        fulmar.elbv2.modify_target_group_attributes(
            TargetGroupArn=arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "3601"}]
        )
    assert code_of(e) == "ValidationError"
    with pytest.raises(ClientError) as e:
        fulmar.elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[{"Key": "bogus", "Value": "1"}])
    assert code_of(e) == "ValidationError"
    fulmar.elbv2.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "300"},
            {"Key": "stickiness.enabled", "Value": "false"},
        ],
    )


def test_modify_target_group_health_check(fulmar, network):
    tg = create_ip_target_group(fulmar.elbv2, network.vpc_id)
    out = fulmar.elbv2.modify_target_group(
        TargetGroupArn=tg["TargetGroupArn"],
        HealthCheckPath="/ping",
        HealthCheckIntervalSeconds=10,
        HealthyThresholdCount=3,
        Matcher={"HttpCode": "200-299"},
    )["TargetGroups"][0]
    assert out["HealthCheckPath"] == "/ping"
    assert out["HealthCheckIntervalSeconds"] == 10
    assert out["HealthyThresholdCount"] == 3
    assert out["Matcher"] == {"HttpCode": "200-299"}
    described = fulmar.elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert described == out
    fulmar.elbv2.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    with pytest.raises(ClientError) as e:
        fulmar.elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])
    assert code_of(e) == "TargetGroupNotFound"


def test_register_deregister_and_describe_target_health(fulmar, network):
    tg = create_ip_target_group(fulmar.elbv2, network.vpc_id)
    arn = tg["TargetGroupArn"]
    targets = [{"Id": "127.0.0.1", "Port": 18001}, {"Id": "127.0.0.1", "Port": 18002}]
    fulmar.elbv2.register_targets(TargetGroupArn=arn, Targets=targets)
    desc = fulmar.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert sorted((d["Target"]["Id"], d["Target"]["Port"]) for d in desc) == [("127.0.0.1", 18001), ("127.0.0.1", 18002)]
    for d in desc:
        # The group is used by no load balancer: AWS reports unused / Target.NotInUse.
        assert d["TargetHealth"]["State"] == "unused", d
        assert d["TargetHealth"]["Reason"] == "Target.NotInUse", d
        assert d["HealthCheckPort"] == str(d["Target"]["Port"])
    # A target registered without Port gets the group's port.
    fulmar.elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.2"}])
    desc = fulmar.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert ("127.0.0.2", 80) in [(d["Target"]["Id"], d["Target"]["Port"]) for d in desc]
    # A target that is not registered: the API reference says the call succeeds; AWS has
    # also been seen answering InvalidTarget. Either way nothing else changes.
    try:
        fulmar.elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.3", "Port": 1}])
    except ClientError as ex:
        assert code_of(ex_info(ex)) == "InvalidTarget"
    assert len(fulmar.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]) == 3
    fulmar.elbv2.deregister_targets(TargetGroupArn=arn, Targets=targets + [{"Id": "127.0.0.2"}])
    desc = fulmar.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    # Gone, or on their way out.
    assert all(d["TargetHealth"]["State"] == "draining" for d in desc), desc
    fulmar.elbv2.delete_target_group(TargetGroupArn=arn)


# --------------------------------------------------------------------------- listeners


def test_listener_lifecycle(fulmar, alb, tg):
    e = fulmar.elbv2
    lis = e.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=8100, DefaultActions=forward(tg["TargetGroupArn"])
    )["Listeners"][0]
    lb_id = alb["LoadBalancerArn"].split("loadbalancer/")[1]
    assert re.fullmatch(ARN_PREFIX + f"listener/{re.escape(lb_id)}/{HEX}", lis["ListenerArn"]), lis["ListenerArn"]
    assert lis["LoadBalancerArn"] == alb["LoadBalancerArn"]
    assert lis["Port"] == 8100
    assert lis["Protocol"] == "HTTP"
    assert lis["DefaultActions"][0]["Type"] == "forward"
    assert lis["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]

    listed = e.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert lis["ListenerArn"] in [l["ListenerArn"] for l in listed]
    assert e.describe_listeners(ListenerArns=[lis["ListenerArn"]])["Listeners"][0] == lis

    # The target group now names its load balancer.
    tgd = e.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert tgd["LoadBalancerArns"] == [alb["LoadBalancerArn"]]
    by_lb = e.describe_target_groups(LoadBalancerArn=alb["LoadBalancerArn"])["TargetGroups"]
    assert tg["TargetGroupArn"] in [t["TargetGroupArn"] for t in by_lb]

    mod = e.modify_listener(ListenerArn=lis["ListenerArn"], Port=8101, DefaultActions=fixed("404", "nope"))[
        "Listeners"
    ][0]
    assert mod["Port"] == 8101
    assert mod["DefaultActions"][0]["Type"] == "fixed-response"
    assert mod["DefaultActions"][0]["FixedResponseConfig"] == {
        "StatusCode": "404",
        "ContentType": "text/plain",
        "MessageBody": "nope",
    }
    assert e.describe_listeners(ListenerArns=[lis["ListenerArn"]])["Listeners"][0]["Port"] == 8101

    e.delete_listener(ListenerArn=lis["ListenerArn"])
    with pytest.raises(ClientError) as ex:
        e.describe_listeners(ListenerArns=[lis["ListenerArn"]])
    assert code_of(ex) == "ListenerNotFound"


# --------------------------------------------------------------------------- rules


@pytest.fixture(scope="module")
def listener(fulmar, alb, tg):
    return fulmar.elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=8200, DefaultActions=forward(tg["TargetGroupArn"])
    )["Listeners"][0]


def test_default_rule(fulmar, listener, tg):
    rules = fulmar.elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert len(rules) == 1
    d = rules[0]
    assert d["IsDefault"] is True
    assert d["Priority"] == "default"
    assert d["Conditions"] == []
    assert d["Actions"][0]["Type"] == "forward"
    assert d["Actions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    listener_id = listener["ListenerArn"].split(":listener/")[1]
    assert re.fullmatch(ARN_PREFIX + f"listener-rule/{re.escape(listener_id)}/{HEX}", d["RuleArn"]), d["RuleArn"]


def test_rule_lifecycle(fulmar, listener, tg):
    e = fulmar.elbv2
    la = listener["ListenerArn"]
    r1 = e.create_rule(ListenerArn=la, Priority=10, Conditions=path_is("/api/*"), Actions=forward(tg["TargetGroupArn"]))[
        "Rules"
    ][0]
    assert r1["Priority"] == "10"
    assert r1["IsDefault"] is False
    cond = r1["Conditions"][0]
    assert cond["Field"] == "path-pattern"
    assert cond["PathPatternConfig"]["Values"] == ["/api/*"]
    r2 = e.create_rule(ListenerArn=la, Priority=20, Conditions=host_is("api.example.com"), Actions=fixed("503", "busy"))[
        "Rules"
    ][0]

    rules = e.describe_rules(ListenerArn=la)["Rules"]
    # AWS lists rules by priority with the default rule last.
    assert [r["Priority"] for r in rules] == ["10", "20", "default"]
    assert e.describe_rules(RuleArns=[r1["RuleArn"]])["Rules"] == [r1]

    m = e.modify_rule(RuleArn=r1["RuleArn"], Conditions=path_is("/v2/*", "/v3/*"), Actions=fixed("200", "ok"))["Rules"][0]
    assert m["Priority"] == "10"
    assert m["Conditions"][0]["PathPatternConfig"]["Values"] == ["/v2/*", "/v3/*"]
    assert m["Actions"][0]["Type"] == "fixed-response"
    assert e.describe_rules(RuleArns=[r1["RuleArn"]])["Rules"][0] == m

    swapped = e.set_rule_priorities(
        RulePriorities=[{"RuleArn": r1["RuleArn"], "Priority": 30}, {"RuleArn": r2["RuleArn"], "Priority": 5}]
    )["Rules"]
    assert {r["RuleArn"]: r["Priority"] for r in swapped} == {r1["RuleArn"]: "30", r2["RuleArn"]: "5"}
    rules = e.describe_rules(ListenerArn=la)["Rules"]
    assert [(r["RuleArn"], r["Priority"]) for r in rules] == [
        (r2["RuleArn"], "5"),
        (r1["RuleArn"], "30"),
        (rules[-1]["RuleArn"], "default"),
    ]

    e.delete_rule(RuleArn=r1["RuleArn"])
    e.delete_rule(RuleArn=r2["RuleArn"])
    with pytest.raises(ClientError) as ex:
        e.describe_rules(RuleArns=[r1["RuleArn"]])
    assert code_of(ex) == "RuleNotFound"
    assert [r["Priority"] for r in e.describe_rules(ListenerArn=la)["Rules"]] == ["default"]


def test_modify_default_rule_actions(fulmar, listener, tg):
    e = fulmar.elbv2
    default = e.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"][-1]
    with pytest.raises(ClientError) as ex:
        e.delete_rule(RuleArn=default["RuleArn"])
    assert code_of(ex) == "OperationNotPermitted"
    e.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=fixed("418", "teapot"))
    d = e.describe_rules(RuleArns=[default["RuleArn"]])["Rules"][0]
    assert d["IsDefault"] is True
    assert d["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "418"
    e.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=forward(tg["TargetGroupArn"]))


def test_all_condition_types_round_trip(fulmar, listener):
    conds = [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}},
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x/*"]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["prod"]}},
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}},
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}},
    ]
    r = fulmar.elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=77, Conditions=conds, Actions=fixed("200"))[
        "Rules"
    ][0]
    got = {c["Field"]: c for c in r["Conditions"]}
    assert got["host-header"]["HostHeaderConfig"]["Values"] == ["*.example.com"]
    assert got["path-pattern"]["PathPatternConfig"]["Values"] == ["/x/*"]
    assert got["http-header"]["HttpHeaderConfig"] == {"HttpHeaderName": "X-Env", "Values": ["prod"]}
    assert got["query-string"]["QueryStringConfig"]["Values"] == [{"Key": "v", "Value": "2"}]
    assert got["http-request-method"]["HttpRequestMethodConfig"]["Values"] == ["GET"]
    r2 = fulmar.elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=78,
        Conditions=[{"Field": "source-ip", "SourceIpConfig": {"Values": ["127.0.0.0/8"]}}],
        Actions=fixed("200"),
    )["Rules"][0]
    assert r2["Conditions"][0]["SourceIpConfig"]["Values"] == ["127.0.0.0/8"]
    # The legacy Values form of path-pattern is accepted too.
    r3 = fulmar.elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=79,
        Conditions=[{"Field": "path-pattern", "Values": ["/legacy"]}],
        Actions=fixed("200"),
    )["Rules"][0]
    c3 = r3["Conditions"][0]
    assert c3.get("Values") == ["/legacy"] or c3.get("PathPatternConfig", {}).get("Values") == ["/legacy"]
    for r in (r, r2, r3):
        fulmar.elbv2.delete_rule(RuleArn=r["RuleArn"])


def test_weighted_forward_round_trip(fulmar, network, listener, tg):
    tg2 = create_ip_target_group(fulmar.elbv2, network.vpc_id)
    actions = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": tg["TargetGroupArn"], "Weight": 80},
                    {"TargetGroupArn": tg2["TargetGroupArn"], "Weight": 20},
                ]
            },
        }
    ]
    r = fulmar.elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=90, Conditions=path_is("/w"), Actions=actions)[
        "Rules"
    ][0]
    weights = {t["TargetGroupArn"]: t["Weight"] for t in r["Actions"][0]["ForwardConfig"]["TargetGroups"]}
    assert weights == {tg["TargetGroupArn"]: 80, tg2["TargetGroupArn"]: 20}
    fulmar.elbv2.delete_rule(RuleArn=r["RuleArn"])


def test_redirect_round_trip_defaults(fulmar, listener):
    r = fulmar.elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=91,
        Conditions=path_is("/old"),
        Actions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
    )["Rules"][0]
    cfg = r["Actions"][0]["RedirectConfig"]
    # Unset parts default to the original request's: #{host}, /#{path}, #{query}.
    assert cfg == {
        "Protocol": "HTTPS",
        "Port": "443",
        "Host": "#{host}",
        "Path": "/#{path}",
        "Query": "#{query}",
        "StatusCode": "HTTP_301",
    }
    fulmar.elbv2.delete_rule(RuleArn=r["RuleArn"])


# --------------------------------------------------------------------------- tags


def test_tags(fulmar, network, alb, tg):
    e = fulmar.elbv2
    e.add_tags(ResourceArns=[alb["LoadBalancerArn"], tg["TargetGroupArn"]], Tags=[{"Key": "env", "Value": "test"}])
    e.add_tags(ResourceArns=[alb["LoadBalancerArn"]], Tags=[{"Key": "team", "Value": "edge"}, {"Key": "env", "Value": "prod"}])
    desc = e.describe_tags(ResourceArns=[alb["LoadBalancerArn"], tg["TargetGroupArn"]])["TagDescriptions"]
    by = {d["ResourceArn"]: {t["Key"]: t["Value"] for t in d["Tags"]} for d in desc}
    assert by[alb["LoadBalancerArn"]] == {"env": "prod", "team": "edge"}  # AddTags overwrites a key
    assert by[tg["TargetGroupArn"]] == {"env": "test"}
    e.remove_tags(ResourceArns=[alb["LoadBalancerArn"]], TagKeys=["env"])
    desc = e.describe_tags(ResourceArns=[alb["LoadBalancerArn"]])["TagDescriptions"]
    assert {t["Key"]: t["Value"] for t in desc[0]["Tags"]} == {"team": "edge"}
    # Tags given at creation.
    lb2 = create_alb(e, network, Tags=[{"Key": "born", "Value": "tagged"}])
    desc = e.describe_tags(ResourceArns=[lb2["LoadBalancerArn"]])["TagDescriptions"]
    assert desc[0]["Tags"] == [{"Key": "born", "Value": "tagged"}]
    e.delete_load_balancer(LoadBalancerArn=lb2["LoadBalancerArn"])


def test_tags_on_listeners_and_rules(fulmar, listener):
    e = fulmar.elbv2
    rule = e.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=95, Conditions=path_is("/t"), Actions=fixed("200"),
        Tags=[{"Key": "r", "Value": "1"}],
    )["Rules"][0]
    e.add_tags(ResourceArns=[listener["ListenerArn"]], Tags=[{"Key": "l", "Value": "2"}])
    desc = e.describe_tags(ResourceArns=[listener["ListenerArn"], rule["RuleArn"]])["TagDescriptions"]
    by = {d["ResourceArn"]: d["Tags"] for d in desc}
    assert by[rule["RuleArn"]] == [{"Key": "r", "Value": "1"}]
    assert by[listener["ListenerArn"]] == [{"Key": "l", "Value": "2"}]
    e.delete_rule(RuleArn=rule["RuleArn"])


# --------------------------------------------------------------------------- paging


def _pages(call, key, **kw):
    pages, marker = [], None
    for _ in range(100):
        args = dict(kw)
        if marker:
            args["Marker"] = marker
        out = call(**args)
        pages.append(out[key])
        marker = out.get("NextMarker")
        if not marker:
            return pages
    raise AssertionError("paging never ended")


def test_paging_load_balancers(fulmar, network, alb):
    extra = [create_alb(fulmar.elbv2, network) for _ in range(2)]
    all_arns = [lb["LoadBalancerArn"] for lb in fulmar.elbv2.describe_load_balancers()["LoadBalancers"]]
    assert len(all_arns) >= 3
    pages = _pages(fulmar.elbv2.describe_load_balancers, "LoadBalancers", PageSize=1)
    assert all(len(p) <= 1 for p in pages)
    paged = [lb["LoadBalancerArn"] for p in pages for lb in p]
    assert sorted(paged) == sorted(all_arns) and len(set(paged)) == len(paged)
    # boto3's paginator speaks the same Marker protocol.
    pag = fulmar.elbv2.get_paginator("describe_load_balancers")
    via = [lb["LoadBalancerArn"] for page in pag.paginate(PaginationConfig={"PageSize": 2}) for lb in page["LoadBalancers"]]
    assert sorted(via) == sorted(all_arns)
    for lb in extra:
        fulmar.elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_paging_target_groups(fulmar, network, tg):
    extra = [create_ip_target_group(fulmar.elbv2, network.vpc_id) for _ in range(3)]
    all_arns = [t["TargetGroupArn"] for t in fulmar.elbv2.describe_target_groups()["TargetGroups"]]
    pages = _pages(fulmar.elbv2.describe_target_groups, "TargetGroups", PageSize=2)
    assert all(len(p) <= 2 for p in pages)
    paged = [t["TargetGroupArn"] for p in pages for t in p]
    assert sorted(paged) == sorted(all_arns) and len(set(paged)) == len(paged)
    for t in extra:
        fulmar.elbv2.delete_target_group(TargetGroupArn=t["TargetGroupArn"])


def test_paging_rules(fulmar, listener):
    made = [
        fulmar.elbv2.create_rule(
            ListenerArn=listener["ListenerArn"], Priority=200 + i, Conditions=path_is(f"/p{i}"), Actions=fixed("200")
        )["Rules"][0]
        for i in range(4)
    ]
    full = [r["RuleArn"] for r in fulmar.elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]]
    pages = _pages(fulmar.elbv2.describe_rules, "Rules", ListenerArn=listener["ListenerArn"], PageSize=2)
    assert all(len(p) <= 2 for p in pages)
    paged = [r["RuleArn"] for p in pages for r in p]
    assert paged == full  # same order: by priority, default last
    for r in made:
        fulmar.elbv2.delete_rule(RuleArn=r["RuleArn"])


def test_response_metadata_has_request_id(fulmar):
    meta = fulmar.elbv2.describe_load_balancers()["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", meta["RequestId"]), meta
    meta = fulmar.ec2.describe_vpcs()["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200 and meta["RequestId"]
