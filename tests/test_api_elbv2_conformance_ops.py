"""ELBv2 operations and load balancer types added for conformance: Network and Gateway
Load Balancers (API only), SetSubnets, SetIpAddressType, DescribeSSLPolicies, listener
attributes and certificates, tags on listeners and rules, rule conditions as sent."""

import pytest
from botocore.exceptions import ClientError

from support import ACCOUNT_ID, REGION, create_alb, fixed, make_network, uniq

BOGUS_LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:listener/app/nope/0123456789abcdef/0123456789abcdef"


def error_of(fn, **kw):
    with pytest.raises(ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]


@pytest.fixture(scope="module")
def alb(fulmar, network):
    return create_alb(fulmar.elbv2, network)


@pytest.fixture(scope="module")
def http_listener(fulmar, alb):
    return fulmar.elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=8081, DefaultActions=fixed("200")
    )["Listeners"][0]


def test_network_load_balancer(fulmar, network):
    elbv2 = fulmar.elbv2
    name = uniq("nlb")
    lb = elbv2.create_load_balancer(Name=name, Subnets=network.subnet_ids[:1], Type="network", Scheme="internal")[
        "LoadBalancers"
    ][0]
    assert lb["Type"] == "network"
    assert f":loadbalancer/net/{name}/" in lb["LoadBalancerArn"]
    assert lb["DNSName"].startswith(f"{name}-") and lb["DNSName"].endswith(f".elb.{REGION}.amazonaws.com")
    assert lb.get("SecurityGroups", []) == []
    attrs = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert attrs["load_balancing.cross_zone.enabled"] == "false"
    assert attrs["secondary_ips.auto_assigned.per_subnet"] == "0"
    assert "idle_timeout.timeout_seconds" not in attrs
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[{"Key": "secondary_ips.auto_assigned.per_subnet", "Value": "3"}],
    )
    err = error_of(
        elbv2.modify_load_balancer_attributes,
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[{"Key": "routing.http2.enabled", "Value": "true"}],
    )
    assert err["Code"] == "ValidationError"
    # HTTP is an ALB protocol; an NLB listens with TCP, TLS, UDP or TCP_UDP.
    err = error_of(
        elbv2.create_listener, LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=fixed("200"),
    )
    assert err["Code"] == "ValidationError"
    assert err["Message"] == "Listener protocol 'HTTP' must be one of 'UDP, TCP, TLS, TCP_UDP'"
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_alb_listener_protocol_rules(fulmar, alb):
    elbv2 = fulmar.elbv2
    arn = alb["LoadBalancerArn"]
    err = error_of(elbv2.create_listener, LoadBalancerArn=arn, Protocol="TCP", Port=81, DefaultActions=fixed("200"))
    assert (err["Code"], err["Message"]) == ("ValidationError", "Listener protocol 'TCP' must be one of 'HTTP, HTTPS'")
    err = error_of(elbv2.create_listener, LoadBalancerArn=arn, Port=81, DefaultActions=fixed("200"))
    assert err["Message"] == "A listener protocol must be specified"
    err = error_of(elbv2.create_listener, LoadBalancerArn=arn, Protocol="HTTP", DefaultActions=fixed("200"))
    assert err["Message"] == "A listener port must be specified"
    err = error_of(elbv2.create_listener, LoadBalancerArn=arn, Protocol="HTTPS", Port=443, DefaultActions=fixed("200"))
    assert err["Code"] == "InvalidConfigurationRequest"


def test_gateway_load_balancer(fulmar, network):
    elbv2 = fulmar.elbv2
    name = uniq("gwlb")
    lb = elbv2.create_load_balancer(Name=name, Subnets=network.subnet_ids[:1], Type="gateway")["LoadBalancers"][0]
    assert lb["Type"] == "gateway"
    assert f":loadbalancer/gwy/{name}/" in lb["LoadBalancerArn"]
    attrs = {a["Key"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert attrs == {"deletion_protection.enabled", "load_balancing.cross_zone.enabled"}
    for extra, message in (
        ({"Port": 6081}, "A port cannot be specified for gateway listeners"),
        ({"Protocol": "GENEVE"}, "A protocol cannot be specified for gateway listeners"),
    ):
        err = error_of(elbv2.create_listener, LoadBalancerArn=lb["LoadBalancerArn"], DefaultActions=fixed("200"), **extra)
        assert (err["Code"], err["Message"]) == ("ValidationError", message)
    err = error_of(
        elbv2.create_load_balancer, Name=uniq("gwlb"), Subnets=network.subnet_ids[:1], Type="gateway",
        SecurityGroups=[network.sg_id],
    )
    assert err["Code"] == "ValidationError"
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_set_subnets_and_ip_address_type(fulmar):
    elbv2 = fulmar.elbv2
    net = make_network(fulmar.ec2, azs=("us-east-1a", "us-east-1b", "us-east-1c"))
    lb = create_alb(elbv2, net, Subnets=net.subnet_ids[:2])
    arn = lb["LoadBalancerArn"]
    zones = elbv2.set_subnets(LoadBalancerArn=arn, Subnets=net.subnet_ids)["AvailabilityZones"]
    assert sorted(z["ZoneName"] for z in zones) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    described = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    assert len(described["AvailabilityZones"]) == 3
    err = error_of(elbv2.set_subnets, LoadBalancerArn=arn, Subnets=net.subnet_ids[:1])
    assert err["Code"] == "ValidationError"
    assert elbv2.set_ip_address_type(LoadBalancerArn=arn, IpAddressType="dualstack")["IpAddressType"] == "dualstack"
    assert elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["IpAddressType"] == "dualstack"
    err = error_of(elbv2.set_ip_address_type, LoadBalancerArn=arn, IpAddressType="ipv5")
    assert err["Code"] == "ValidationError"
    assert elbv2.describe_capacity_reservation(LoadBalancerArn=arn).get("CapacityReservationState", []) == []


def test_describe_ssl_policies(fulmar):
    elbv2 = fulmar.elbv2
    assert len(elbv2.describe_ssl_policies()["SslPolicies"]) > 5
    policies = elbv2.describe_ssl_policies(
        Names=["ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-2016-08"]
    )["SslPolicies"]
    assert [p["Name"] for p in policies] == ["ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-2016-08"]
    assert policies[0]["SslProtocols"] == ["TLSv1.2"]
    assert policies[0]["Ciphers"][0] == {"Name": "ECDHE-ECDSA-AES128-GCM-SHA256", "Priority": 1}
    err = error_of(elbv2.describe_ssl_policies, Names=["ELBSecurityPolicy-Nope"])
    assert err["Code"] == "SSLPolicyNotFound"


def test_listener_attributes(fulmar, http_listener):
    elbv2 = fulmar.elbv2
    arn = http_listener["ListenerArn"]
    attrs = {a["Key"]: a["Value"] for a in elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"]}
    assert attrs["routing.http.response.server.enabled"] == "true"
    key = "routing.http.response.x_frame_options.header_value"
    out = elbv2.modify_listener_attributes(ListenerArn=arn, Attributes=[{"Key": key, "Value": "DENY"}])["Attributes"]
    assert {"Key": key, "Value": "DENY"} in out
    attrs = {a["Key"]: a["Value"] for a in elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"]}
    assert attrs[key] == "DENY"
    err = error_of(
        elbv2.modify_listener_attributes, ListenerArn=arn, Attributes=[{"Key": "tcp.idle_timeout.seconds", "Value": "360"}]
    )
    assert err["Code"] == "ValidationError"
    assert error_of(elbv2.describe_listener_attributes, ListenerArn=BOGUS_LISTENER)["Code"] == "ListenerNotFound"


def test_listener_certificates(fulmar, http_listener):
    elbv2 = fulmar.elbv2
    assert elbv2.describe_listener_certificates(ListenerArn=http_listener["ListenerArn"])["Certificates"] == []
    for fn, kw in (
        (elbv2.describe_listener_certificates, {}),
        (elbv2.add_listener_certificates, {"Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}]}),
        (elbv2.remove_listener_certificates, {"Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}]}),
    ):
        assert error_of(fn, ListenerArn=BOGUS_LISTENER, **kw)["Code"] == "ListenerNotFound"


def test_tags_on_listeners_and_rules(fulmar, alb):
    elbv2 = fulmar.elbv2
    listener = elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=8082, DefaultActions=fixed("200"),
        Tags=[{"Key": "k1", "Value": "v1"}],
    )["Listeners"][0]
    arn = listener["ListenerArn"]
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "a", "Value": "b"}])
    tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "k1", "Value": "v1"}, {"Key": "a", "Value": "b"}]
    elbv2.remove_tags(ResourceArns=[arn], TagKeys=["k1"])
    assert elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] == [{"Key": "a", "Value": "b"}]
    err = error_of(elbv2.remove_tags, ResourceArns=[arn + "x"], TagKeys=["a"])
    assert (err["Code"], err["Message"]) == ("ListenerNotFound", "The specified listener does not exist.")

    rule = elbv2.create_rule(
        ListenerArn=arn, Priority=10, Conditions=[{"Field": "path-pattern", "Values": ["/t"]}],
        Actions=fixed("204"), Tags=[{"Key": "r", "Value": "1"}],
    )["Rules"][0]
    assert elbv2.describe_tags(ResourceArns=[rule["RuleArn"]])["TagDescriptions"][0]["Tags"] == [{"Key": "r", "Value": "1"}]
    err = error_of(elbv2.remove_tags, ResourceArns=[rule["RuleArn"] + "x"], TagKeys=["r"])
    assert (err["Code"], err["Message"]) == ("RuleNotFound", "The specified rule does not exist.")


def test_conditions_echoed_as_sent(fulmar, http_listener):
    elbv2 = fulmar.elbv2
    arn = http_listener["ListenerArn"]
    legacy = {"Field": "host-header", "Values": ["a.example.com"]}
    config = {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x", "/y"]}}
    rule = elbv2.create_rule(ListenerArn=arn, Priority=20, Conditions=[legacy, config], Actions=fixed("200"))["Rules"][0]
    assert rule["Conditions"] == [legacy, config]
    described = elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"][0]
    assert described["Conditions"] == [legacy, config]
    err = error_of(
        elbv2.create_rule, ListenerArn=arn, Priority=21, Conditions=[{"Field": "host-header", "Values": ["a", "b"]}],
        Actions=fixed("200"),
    )
    assert err["Message"] == "The 'host-header' field contains too many values; the limit is '1'"
    err = error_of(
        elbv2.create_rule, ListenerArn=arn, Priority=21, Conditions=[{"Field": "source-ip"}], Actions=fixed("200")
    )
    assert err["Message"] == "A 'SourceIpConfig' must be specified with 'source-ip'"
