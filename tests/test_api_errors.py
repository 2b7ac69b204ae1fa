"""Wrong input gets AWS's error code and HTTP status (codes and statuses from the botocore model)."""

import pytest
from botocore.exceptions import ClientError

from support import ACCOUNT_ID, REGION, create_alb, create_ip_target_group, fixed, forward, path_is, uniq

BOGUS_LB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:loadbalancer/app/nope/0123456789abcdef"
BOGUS_TG = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:targetgroup/nope/0123456789abcdef"
BOGUS_LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:listener/app/nope/0123456789abcdef/0123456789abcdef"
BOGUS_RULE = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:listener-rule/app/nope/0123456789abcdef/"
    "0123456789abcdef/0123456789abcdef"
)


def expect_error(codes, status, fn, *args, **kw):
    """Call fn; require a ClientError whose code is one of `codes` (str or tuple) and HTTP status `status`."""
    if isinstance(codes, str):
        codes = (codes,)
    with pytest.raises(ClientError) as e:
        fn(*args, **kw)
    err = e.value.response["Error"]
    assert err["Code"] in codes, f"got {err['Code']}: {err.get('Message')} (want {codes})"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert err.get("Message"), "AWS errors carry a message"
    return err


@pytest.fixture(scope="module")
def alb(fulmar, network):
    return create_alb(fulmar.elbv2, network)


@pytest.fixture(scope="module")
def tg(fulmar, network):
    return create_ip_target_group(fulmar.elbv2, network.vpc_id)


@pytest.fixture(scope="module")
def listener(fulmar, alb, tg):
    return fulmar.elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=8080, DefaultActions=forward(tg["TargetGroupArn"])
    )["Listeners"][0]


# --------------------------------------------------------------------------- not found


def test_load_balancer_not_found(fulmar):
    expect_error("LoadBalancerNotFound", 400, fulmar.elbv2.describe_load_balancers, Names=["no-such-lb"])
    expect_error("LoadBalancerNotFound", 400, fulmar.elbv2.describe_load_balancers, LoadBalancerArns=[BOGUS_LB])
    expect_error(
        "LoadBalancerNotFound", 400, fulmar.elbv2.describe_load_balancer_attributes, LoadBalancerArn=BOGUS_LB
    )


def test_target_group_not_found(fulmar):
    expect_error("TargetGroupNotFound", 400, fulmar.elbv2.describe_target_groups, Names=["no-such-tg"])
    expect_error("TargetGroupNotFound", 400, fulmar.elbv2.describe_target_health, TargetGroupArn=BOGUS_TG)
    expect_error(
        "TargetGroupNotFound", 400, fulmar.elbv2.register_targets, TargetGroupArn=BOGUS_TG,
        Targets=[{"Id": "127.0.0.1", "Port": 80}],
    )


def test_listener_not_found(fulmar):
    expect_error("ListenerNotFound", 400, fulmar.elbv2.describe_listeners, ListenerArns=[BOGUS_LISTENER])
    expect_error("ListenerNotFound", 400, fulmar.elbv2.describe_rules, ListenerArn=BOGUS_LISTENER)
    expect_error(
        "ListenerNotFound", 400, fulmar.elbv2.create_rule, ListenerArn=BOGUS_LISTENER, Priority=1,
        Conditions=path_is("/x"), Actions=fixed("200"),
    )


def test_rule_not_found(fulmar):
    expect_error("RuleNotFound", 400, fulmar.elbv2.describe_rules, RuleArns=[BOGUS_RULE])
    expect_error("RuleNotFound", 400, fulmar.elbv2.delete_rule, RuleArn=BOGUS_RULE)
    expect_error("RuleNotFound", 400, fulmar.elbv2.modify_rule, RuleArn=BOGUS_RULE, Actions=fixed("200"))


def test_listener_forwarding_to_missing_target_group(fulmar, alb):
    expect_error(
        "TargetGroupNotFound", 400, fulmar.elbv2.create_listener, LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP", Port=8181, DefaultActions=forward(BOGUS_TG),
    )


def test_listener_on_missing_load_balancer(fulmar, tg):
    expect_error(
        "LoadBalancerNotFound", 400, fulmar.elbv2.create_listener, LoadBalancerArn=BOGUS_LB, Protocol="HTTP",
        Port=80, DefaultActions=forward(tg["TargetGroupArn"]),
    )


# --------------------------------------------------------------------------- duplicates


def test_duplicate_load_balancer_name(fulmar, network, alb):
    # Same name with different settings (AWS is idempotent only for identical settings).
    expect_error(
        "DuplicateLoadBalancerName", 400, fulmar.elbv2.create_load_balancer, Name=alb["LoadBalancerName"],
        Subnets=network.subnet_ids, SecurityGroups=[network.sg_id], Scheme="internal",
    )


def test_duplicate_target_group_name(fulmar, network, tg):
    expect_error(
        "DuplicateTargetGroupName", 400, fulmar.elbv2.create_target_group, Name=tg["TargetGroupName"],
        Protocol="HTTP", Port=8080, VpcId=network.vpc_id, TargetType="ip",
    )


def test_duplicate_listener(fulmar, alb, tg, listener):
    expect_error(
        "DuplicateListener", 400, fulmar.elbv2.create_listener, LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP", Port=listener["Port"], DefaultActions=fixed("200"),
    )


def test_priority_in_use(fulmar, listener):
    r = fulmar.elbv2.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=5, Conditions=path_is("/a"), Actions=fixed("200")
    )["Rules"][0]
    try:
        expect_error(
            "PriorityInUse", 400, fulmar.elbv2.create_rule, ListenerArn=listener["ListenerArn"], Priority=5,
            Conditions=path_is("/b"), Actions=fixed("200"),
        )
        r2 = fulmar.elbv2.create_rule(
            ListenerArn=listener["ListenerArn"], Priority=6, Conditions=path_is("/b"), Actions=fixed("200")
        )["Rules"][0]
        expect_error(
            "PriorityInUse", 400, fulmar.elbv2.set_rule_priorities,
            RulePriorities=[{"RuleArn": r2["RuleArn"], "Priority": 5}],
        )
        fulmar.elbv2.delete_rule(RuleArn=r2["RuleArn"])
    finally:
        fulmar.elbv2.delete_rule(RuleArn=r["RuleArn"])


def test_duplicate_tag_keys(fulmar, alb):
    expect_error(
        "DuplicateTagKeys", 400, fulmar.elbv2.add_tags, ResourceArns=[alb["LoadBalancerArn"]],
        Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}],
    )


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "name",
    ["bad_name", "has space", "-leading", "trailing-", "a" * 33, "internal-thing"],
)
def test_bad_load_balancer_name(fulmar, network, name):
    expect_error(
        "ValidationError", 400, fulmar.elbv2.create_load_balancer, Name=name, Subnets=network.subnet_ids,
        SecurityGroups=[network.sg_id],
    )


@pytest.mark.parametrize("name", ["bad_name", "-leading", "trailing-", "b" * 33])
def test_bad_target_group_name(fulmar, network, name):
    expect_error(
        "ValidationError", 400, fulmar.elbv2.create_target_group, Name=name, Protocol="HTTP", Port=80,
        VpcId=network.vpc_id,
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("HealthCheckIntervalSeconds", 4),
        ("HealthCheckIntervalSeconds", 301),
        ("HealthCheckTimeoutSeconds", 1),
        ("HealthyThresholdCount", 1),
        ("HealthyThresholdCount", 11),
        ("UnhealthyThresholdCount", 1),
    ],
)
def test_health_check_out_of_range(fulmar, network, field, value):
    expect_error(
        "ValidationError", 400, fulmar.elbv2.create_target_group, Name=uniq("hc"), Protocol="HTTP", Port=80,
        VpcId=network.vpc_id, TargetType="ip", **{field: value},
    )


def test_health_check_timeout_must_be_below_interval(fulmar, network):
    expect_error(
        ("ValidationError", "InvalidConfigurationRequest"), 400, fulmar.elbv2.create_target_group, Name=uniq("hc"),
        Protocol="HTTP", Port=80, VpcId=network.vpc_id, TargetType="ip",
        HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=10,
    )


@pytest.mark.parametrize("priority", [0, 50001, -1])
def test_rule_priority_out_of_range(fulmar, listener, priority):
    expect_error(
        "ValidationError", 400, fulmar.elbv2.create_rule, ListenerArn=listener["ListenerArn"], Priority=priority,
        Conditions=path_is("/p"), Actions=fixed("200"),
    )


@pytest.mark.parametrize("status", ["302", "600", "abc", "99"])
def test_fixed_response_bad_status(fulmar, listener, status):
    expect_error(
        "ValidationError", 400, fulmar.elbv2.create_rule, ListenerArn=listener["ListenerArn"], Priority=300,
        Conditions=path_is("/f"), Actions=fixed(status, "x"),
    )


def test_fixed_response_bad_content_type(fulmar, listener):
    expect_error(
        ("ValidationError", "InvalidLoadBalancerAction"), 400, fulmar.elbv2.create_rule,
        ListenerArn=listener["ListenerArn"], Priority=301, Conditions=path_is("/f"),
        Actions=fixed("200", "x", content_type="image/png"),
    )


def test_fixed_response_body_too_long(fulmar, listener):
    expect_error(
        ("ValidationError", "InvalidLoadBalancerAction"), 400, fulmar.elbv2.create_rule,
        ListenerArn=listener["ListenerArn"], Priority=302, Conditions=path_is("/f"), Actions=fixed("200", "x" * 1025),
    )


def test_rule_without_conditions_is_rejected(fulmar, listener):
    expect_error(
        "ValidationError", 400, fulmar.elbv2.create_rule, ListenerArn=listener["ListenerArn"], Priority=303,
        Conditions=[], Actions=fixed("200"),
    )


def test_redirect_bad_status_code(fulmar, listener):
    # A redirect's status code must be HTTP_301 or HTTP_302.
    expect_error(
        "ValidationError", 400, fulmar.elbv2.create_rule, ListenerArn=listener["ListenerArn"], Priority=304,
        Conditions=path_is("/r"),
        Actions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "StatusCode": "HTTP_307"}}],
    )


def test_bad_action_type(fulmar, listener):
    expect_error(
        "ValidationError", 400, fulmar.elbv2.create_rule, ListenerArn=listener["ListenerArn"], Priority=305,
        Conditions=path_is("/r"), Actions=[{"Type": "teleport"}],
    )


def test_bad_listener_port(fulmar, alb):
    for port in (0, 65536):
        expect_error(
            "ValidationError", 400, fulmar.elbv2.create_listener, LoadBalancerArn=alb["LoadBalancerArn"],
            Protocol="HTTP", Port=port, DefaultActions=fixed("200"),
        )


def test_missing_required_parameter(fulmar):
    expect_error("ValidationError", 400, fulmar.elbv2.create_target_group, Protocol="HTTP", Port=80)


def test_delete_target_group_in_use(fulmar, tg, listener):
    expect_error("ResourceInUse", 400, fulmar.elbv2.delete_target_group, TargetGroupArn=tg["TargetGroupArn"])


# --------------------------------------------------------------------------- subnets and groups


def test_subnet_not_found(fulmar, network):
    expect_error(
        ("SubnetNotFound", "InvalidSubnet"), 400, fulmar.elbv2.create_load_balancer, Name=uniq("nosub"),
        Subnets=[network.subnet_ids[0], "subnet-0123456789abcdef0"], SecurityGroups=[network.sg_id],
    )


def test_one_subnet_is_not_enough(fulmar, network):
    expect_error(
        ("ValidationError", "InvalidConfigurationRequest"), 400, fulmar.elbv2.create_load_balancer, Name=uniq("onesub"),
        Subnets=[network.subnet_ids[0]], SecurityGroups=[network.sg_id],
    )


def test_two_subnets_in_one_zone(fulmar, network):
    ec2 = fulmar.ec2
    vpc = ec2.describe_vpcs(VpcIds=[network.vpc_id])["Vpcs"][0]
    second = vpc["CidrBlock"].split(".")[1]
    extra = ec2.create_subnet(VpcId=network.vpc_id, CidrBlock=f"10.{second}.9.0/24", AvailabilityZone=network.azs[0])
    expect_error(
        ("ValidationError", "InvalidConfigurationRequest"), 400, fulmar.elbv2.create_load_balancer,
        Name=uniq("samez"), Subnets=[network.subnet_ids[0], extra["Subnet"]["SubnetId"]],
        SecurityGroups=[network.sg_id],
    )


def test_security_group_not_found(fulmar, network):
    expect_error(
        "InvalidSecurityGroup", 400, fulmar.elbv2.create_load_balancer, Name=uniq("nosg"),
        Subnets=network.subnet_ids, SecurityGroups=["sg-0123456789abcdef0"],
    )


def test_security_group_of_another_vpc(fulmar, network):
    other_vpc = fulmar.ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    sg = fulmar.ec2.create_security_group(GroupName=uniq("other"), Description="x", VpcId=other_vpc)["GroupId"]
    expect_error(
        "InvalidSecurityGroup", 400, fulmar.elbv2.create_load_balancer, Name=uniq("xvpc"),
        Subnets=network.subnet_ids, SecurityGroups=[sg],
    )


def test_ec2_subnet_outside_vpc_cidr(fulmar, network):
    with pytest.raises(ClientError) as e:
        fulmar.ec2.create_subnet(VpcId=network.vpc_id, CidrBlock="192.168.0.0/24", AvailabilityZone="us-east-1a")
    assert e.value.response["Error"]["Code"] == "InvalidSubnet.Range"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_ec2_unknown_vpc(fulmar):
    with pytest.raises(ClientError) as e:
        fulmar.ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    assert e.value.response["Error"]["Code"] == "InvalidVpcID.NotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# --------------------------------------------------------------------------- limits


def test_too_many_rules(fulmar, alb):
    """The default quota: 100 rules per Application Load Balancer, default rules excluded."""
    lis = fulmar.elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=8999, DefaultActions=fixed("200")
    )["Listeners"][0]
    try:
        existing = sum(
            1
            for l in fulmar.elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
            for r in fulmar.elbv2.describe_rules(ListenerArn=l["ListenerArn"])["Rules"]
            if not r["IsDefault"]
        )
        for i in range(100 - existing):
            fulmar.elbv2.create_rule(
                ListenerArn=lis["ListenerArn"], Priority=1000 + i, Conditions=path_is(f"/r{i}"), Actions=fixed("200")
            )
        expect_error(
            "TooManyRules", 400, fulmar.elbv2.create_rule, ListenerArn=lis["ListenerArn"], Priority=5000,
            Conditions=path_is("/one-too-many"), Actions=fixed("200"),
        )
    finally:
        fulmar.elbv2.delete_listener(ListenerArn=lis["ListenerArn"])
