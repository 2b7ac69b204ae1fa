"""Target groups of every load-balancer kind through boto3: Network (TCP, UDP, TLS),
Gateway (GENEVE) and Lambda groups, their health-check defaults, attributes and
stickiness rules; and security-group rules that carry their own tags."""

import pytest
from botocore.exceptions import ClientError

from support import uniq


def error_of(fn, **kw):
    with pytest.raises(ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def attributes(elbv2, arn):
    return {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}


def test_network_target_group_defaults(fulmar, network):
    tg = fulmar.elbv2.create_target_group(
        Name=uniq("tcp"), Protocol="TCP", Port=443, VpcId=network.vpc_id, TargetType="ip"
    )["TargetGroups"][0]
    assert tg["HealthCheckProtocol"] == "TCP"
    assert tg["HealthCheckPort"] == "traffic-port"
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 10)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (5, 2)
    assert "HealthCheckPath" not in tg and "Matcher" not in tg and "ProtocolVersion" not in tg
    attrs = attributes(fulmar.elbv2, tg["TargetGroupArn"])
    assert attrs["stickiness.type"] == "source_ip"
    assert attrs["preserve_client_ip.enabled"] == "false"  # ip targets over TCP
    assert attrs["proxy_protocol_v2.enabled"] == "false"
    assert "slow_start.duration_seconds" not in attrs

    # An HTTP health check gets a path and a 200-399 matcher; back to TCP drops them.
    http = fulmar.elbv2.modify_target_group(TargetGroupArn=tg["TargetGroupArn"], HealthCheckProtocol="HTTP")
    assert http["TargetGroups"][0]["HealthCheckPath"] == "/"
    assert http["TargetGroups"][0]["Matcher"] == {"HttpCode": "200-399"}
    tcp = fulmar.elbv2.modify_target_group(TargetGroupArn=tg["TargetGroupArn"], HealthCheckProtocol="TCP")
    assert "HealthCheckPath" not in tcp["TargetGroups"][0]

    code, msg = error_of(
        fulmar.elbv2.modify_target_group_attributes,
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "stickiness.type", "Value": "lb_cookie"}],
    )
    assert code == "ValidationError"
    assert msg == "Stickiness type 'lb_cookie' is not supported for target groups with the TCP protocol"
    fulmar.elbv2.modify_target_group_attributes(
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "source_ip"}],
    )
    assert attributes(fulmar.elbv2, tg["TargetGroupArn"])["stickiness.enabled"] == "true"


def test_udp_tls_and_health_check_timeouts(fulmar, network):
    udp = fulmar.elbv2.create_target_group(Name=uniq("udp"), Protocol="UDP", Port=53, VpcId=network.vpc_id)
    arn = udp["TargetGroups"][0]["TargetGroupArn"]
    assert attributes(fulmar.elbv2, arn)["deregistration_delay.connection_termination.enabled"] == "true"

    # Network groups allow a timeout equal to the interval; HTTP groups need it smaller.
    ok = fulmar.elbv2.create_target_group(
        Name=uniq("tls"), Protocol="TLS", Port=443, VpcId=network.vpc_id, HealthCheckIntervalSeconds=10
    )["TargetGroups"][0]
    assert (ok["HealthCheckIntervalSeconds"], ok["HealthCheckTimeoutSeconds"]) == (10, 10)
    code, msg = error_of(
        fulmar.elbv2.create_target_group,
        Name=uniq("tcp"),
        Protocol="TCP",
        Port=80,
        VpcId=network.vpc_id,
        HealthCheckIntervalSeconds=5,
        HealthCheckTimeoutSeconds=6,
    )
    assert (code, msg) == ("ValidationError", "Health check timeout '6' must be smaller than or equal to the interval '5'")
    code, msg = error_of(
        fulmar.elbv2.create_target_group,
        Name=uniq("http"),
        Protocol="HTTP",
        Port=80,
        VpcId=network.vpc_id,
        HealthCheckIntervalSeconds=5,
        HealthCheckTimeoutSeconds=5,
    )
    assert (code, msg) == ("ValidationError", "Health check timeout '5' must be smaller than the interval '5'")
    code, msg = error_of(
        fulmar.elbv2.modify_target_group_attributes,
        TargetGroupArn=ok["TargetGroupArn"],
        Attributes=[{"Key": "stickiness.enabled", "Value": "true"}],
    )
    assert msg == "You cannot enable stickiness on target groups with the TLS protocol"


def test_gateway_and_lambda_target_groups(fulmar, network):
    gw = fulmar.elbv2.create_target_group(Name=uniq("gw"), Protocol="GENEVE", Port=6081, VpcId=network.vpc_id)
    tg = gw["TargetGroups"][0]
    assert (tg["HealthCheckProtocol"], tg["HealthCheckPort"]) == ("TCP", "80")
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (10, 5)
    attrs = attributes(fulmar.elbv2, tg["TargetGroupArn"])
    assert attrs["stickiness.type"] == "source_ip_dest_ip_proto"
    assert attrs["target_failover.on_unhealthy"] == "no_rebalance"
    code, msg = error_of(
        fulmar.elbv2.modify_target_group_attributes,
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "source_ip"}],
    )
    assert msg == "'source_ip' must be one of [source_ip_dest_ip_proto, source_ip_dest_ip]"

    lam = fulmar.elbv2.create_target_group(Name=uniq("fn"), TargetType="lambda")["TargetGroups"][0]
    assert lam["HealthCheckEnabled"] is False
    assert "HealthCheckPort" not in lam and "Protocol" not in lam and "VpcId" not in lam
    assert attributes(fulmar.elbv2, lam["TargetGroupArn"]) == {"lambda.multi_value_headers.enabled": "false"}
    code, msg = error_of(fulmar.elbv2.create_target_group, Name=uniq("fn"), TargetType="lambda", Port=80)
    assert msg == "Port cannot be specified for target groups with target type 'lambda'"


def test_security_group_rule_tags(fulmar, network):
    ec2 = fulmar.ec2
    sg = ec2.create_security_group(GroupName=uniq("rules"), Description="d", VpcId=network.vpc_id)
    assert sg["SecurityGroupArn"].endswith(f":security-group/{sg['GroupId']}")
    out = ec2.authorize_security_group_ingress(
        GroupId=sg["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}],
        TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": [{"Key": "team", "Value": "web"}]}],
    )
    rule = out["SecurityGroupRules"][0]
    assert rule["Tags"] == [{"Key": "team", "Value": "web"}]
    ec2.create_tags(Resources=[rule["SecurityGroupRuleId"]], Tags=[{"Key": "env", "Value": "prod"}])
    found = ec2.describe_security_group_rules(Filters=[{"Name": "tag:env", "Values": ["prod"]}])["SecurityGroupRules"]
    assert [r["SecurityGroupRuleId"] for r in found] == [rule["SecurityGroupRuleId"]]
    ec2.delete_tags(Resources=[rule["SecurityGroupRuleId"]], Tags=[{"Key": "team"}])
    again = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    assert again["SecurityGroupRules"][0]["Tags"] == [{"Key": "env", "Value": "prod"}]
    code, _ = error_of(ec2.describe_security_group_rules, Filters=[{"Name": "group-id", "Values": ["foobar"]}])
    assert code == "InvalidGroupId.Malformed"
