"""The Route 53 API through boto3 and the aws CLI: shapes, codes and statuses as AWS gives them.

Expectations come from the Route 53 API reference and the botocore model
(rest-xml, 2013-04-01): CreateHostedZone answers 201 with a Location, errors carry
AWS's codes and HTTP statuses, InvalidChangeBatch lists AWS's messages.
"""

from __future__ import annotations

import re
import time

import pytest
from botocore.exceptions import ClientError

from support import create_alb, make_network, poll, uniq

NS_RE = re.compile(r"ns-\d+\.awsdns-\d\d\.(com|net|org|co\.uk)")


@pytest.fixture(scope="module")
def r53(fulmar):
    return fulmar.client("route53")


def error_of(excinfo) -> tuple[str, int, str]:
    r = excinfo.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def new_zone(r53, name: str, **kw) -> str:
    out = r53.create_hosted_zone(Name=name, CallerReference=uniq("ref"), **kw)
    return out["HostedZone"]["Id"]


def change(r53, zone_id: str, *changes, comment=None):
    batch = {"Changes": [{"Action": a, "ResourceRecordSet": rrs} for a, rrs in changes]}
    if comment:
        batch["Comment"] = comment
    return r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)["ChangeInfo"]


def a_record(name: str, *values: str, ttl: int = 60, **extra) -> dict:
    return {"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values], **extra}


def records(r53, zone_id: str) -> list[dict]:
    return r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]


# --------------------------------------------------------------------------- hosted zones


def test_create_public_zone_as_aws_does(r53):
    ref = uniq("ref")
    out = r53.create_hosted_zone(Name="Public-Create.Example", CallerReference=ref, HostedZoneConfig={"Comment": "c"})
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    zone = out["HostedZone"]
    assert re.fullmatch(r"/hostedzone/Z[A-Z0-9]{10,32}", zone["Id"])
    assert out["Location"].endswith("/2013-04-01" + zone["Id"])
    assert zone["Name"] == "public-create.example."
    assert zone["Config"] == {"Comment": "c", "PrivateZone": False}
    assert zone["ResourceRecordSetCount"] == 2
    assert out["ChangeInfo"]["Status"] == "PENDING"
    assert out["ChangeInfo"]["Id"].startswith("/change/C")
    servers = out["DelegationSet"]["NameServers"]
    assert len(servers) == 4 and all(NS_RE.fullmatch(s) for s in servers), servers
    assert {s.split(".", 2)[2] for s in servers} == {"com", "net", "org", "co.uk"}

    ns, soa = records(r53, zone["Id"])
    assert ns["Type"] == "NS" and ns["TTL"] == 172800
    assert sorted(v["Value"] for v in ns["ResourceRecords"]) == sorted(s + "." for s in servers)
    assert soa["Type"] == "SOA" and soa["TTL"] == 900
    (soa_value,) = [v["Value"] for v in soa["ResourceRecords"]]
    assert re.fullmatch(r"ns-\d+\.awsdns-\d\d\.[a-z.]+\. awsdns-hostmaster\.amazon\.com\. 1 7200 900 1209600 86400", soa_value)

    got = r53.get_hosted_zone(Id=zone["Id"])
    assert got["HostedZone"] == zone
    assert got["DelegationSet"]["NameServers"] == servers
    assert "VPCs" not in got

    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="other.example", CallerReference=ref)
    assert error_of(e)[:2] == ("HostedZoneAlreadyExists", 409)


def test_zone_errors(r53):
    with pytest.raises(r53.exceptions.NoSuchHostedZone) as e:
        r53.get_hosted_zone(Id="ZNOSUCHZONE000")
    assert error_of(e) == ("NoSuchHostedZone", 404, "No hosted zone found with ID: ZNOSUCHZONE000")
    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="bad..name", CallerReference=uniq("ref"))
    assert error_of(e)[:2] == ("InvalidDomainName", 400)
    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="p.example", CallerReference=uniq("ref"), HostedZoneConfig={"PrivateZone": True})
    assert error_of(e)[:2] == ("InvalidInput", 400)


def test_private_zone_and_vpc_associations(fulmar, r53):
    vpc1 = fulmar.ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    vpc2 = fulmar.ec2.create_vpc(CidrBlock="10.62.0.0/16")["Vpc"]["VpcId"]
    out = r53.create_hosted_zone(
        Name="private.internal", CallerReference=uniq("ref"), VPC={"VPCRegion": "us-east-1", "VPCId": vpc1}
    )
    zid = out["HostedZone"]["Id"]
    assert out["HostedZone"]["Config"]["PrivateZone"] is True
    assert out["VPC"] == {"VPCRegion": "us-east-1", "VPCId": vpc1}
    assert "DelegationSet" not in out
    assert r53.get_hosted_zone(Id=zid)["VPCs"] == [{"VPCRegion": "us-east-1", "VPCId": vpc1}]

    with pytest.raises(ClientError) as e:
        r53.create_hosted_zone(Name="x.internal", CallerReference=uniq("ref"), VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-0000000000000dead"})
    assert error_of(e)[:2] == ("InvalidVPCId", 400)

    r53.associate_vpc_with_hosted_zone(HostedZoneId=zid, VPC={"VPCRegion": "us-east-1", "VPCId": vpc2})
    assert len(r53.get_hosted_zone(Id=zid)["VPCs"]) == 2
    summaries = r53.list_hosted_zones_by_vpc(VPCId=vpc2, VPCRegion="us-east-1")["HostedZoneSummaries"]
    assert [s["HostedZoneId"] for s in summaries] == [zid.split("/")[-1]]
    assert summaries[0]["Name"] == "private.internal."
    assert summaries[0]["Owner"]["OwningAccount"] == "123456789012"
    private_ids = [z["Id"] for z in r53.list_hosted_zones(HostedZoneType="PrivateHostedZone")["HostedZones"]]
    assert zid in private_ids

    r53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC={"VPCRegion": "us-east-1", "VPCId": vpc1})
    with pytest.raises(ClientError) as e:
        r53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC={"VPCRegion": "us-east-1", "VPCId": vpc1})
    assert error_of(e)[:2] == ("VPCAssociationNotFound", 404)
    with pytest.raises(ClientError) as e:
        r53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC={"VPCRegion": "us-east-1", "VPCId": vpc2})
    assert error_of(e)[:2] == ("LastVPCAssociation", 400)

    public = new_zone(r53, "public-assoc.example")
    with pytest.raises(ClientError) as e:
        r53.associate_vpc_with_hosted_zone(HostedZoneId=public, VPC={"VPCRegion": "us-east-1", "VPCId": vpc1})
    assert error_of(e)[:2] == ("PublicZoneVPCAssociation", 400)


def test_listing_paging_comment_and_count(r53):
    before = r53.get_hosted_zone_count()["HostedZoneCount"]
    ids = [new_zone(r53, name) for name in ("b.paging.test", "a.paging.test", "paging.test")]
    assert r53.get_hosted_zone_count()["HostedZoneCount"] == before + 3

    seen, marker = [], None
    while True:
        kw = {"MaxItems": "2"} | ({"Marker": marker} if marker else {})
        page = r53.list_hosted_zones(**kw)
        assert page["MaxItems"] == "2"
        seen += [z["Id"] for z in page["HostedZones"]]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert set(ids) <= set(seen) and len(seen) == len(set(seen)) == before + 3

    by_name = r53.list_hosted_zones_by_name(DNSName="paging.test", MaxItems="2")
    assert [z["Name"] for z in by_name["HostedZones"]] == ["paging.test.", "a.paging.test."]
    assert by_name["IsTruncated"] is True and by_name["NextDNSName"] == "b.paging.test."
    rest = r53.list_hosted_zones_by_name(DNSName=by_name["NextDNSName"], HostedZoneId=by_name["NextHostedZoneId"])
    assert rest["HostedZones"][0]["Name"] == "b.paging.test."

    updated = r53.update_hosted_zone_comment(Id=ids[0], Comment="new comment")["HostedZone"]
    assert updated["Config"]["Comment"] == "new comment"
    assert r53.get_hosted_zone(Id=ids[0])["HostedZone"]["Config"]["Comment"] == "new comment"


def test_delete_zone_only_when_empty(r53):
    zid = new_zone(r53, "delete-me.example")
    change(r53, zid, ("CREATE", a_record("www.delete-me.example", "192.0.2.1")))
    with pytest.raises(ClientError) as e:
        r53.delete_hosted_zone(Id=zid)
    assert error_of(e)[:2] == ("HostedZoneNotEmpty", 400)
    change(r53, zid, ("DELETE", a_record("www.delete-me.example", "192.0.2.1")))
    out = r53.delete_hosted_zone(Id=zid)
    assert out["ChangeInfo"]["Status"] in ("PENDING", "INSYNC")
    with pytest.raises(ClientError) as e:
        r53.get_hosted_zone(Id=zid)
    assert error_of(e)[:2] == ("NoSuchHostedZone", 404)


# --------------------------------------------------------------------------- record sets


@pytest.fixture(scope="module")
def zone(r53):
    return new_zone(r53, "records.example")


def test_create_upsert_delete_and_get_change(r53, zone):
    info = change(r53, zone, ("CREATE", a_record("www.records.example", "192.0.2.1", "192.0.2.2")), comment="first")
    assert info["Status"] == "PENDING" and info["Comment"] == "first"
    got = r53.get_change(Id=info["Id"])["ChangeInfo"]
    assert got["Id"] == info["Id"]
    poll(lambda: r53.get_change(Id=info["Id"])["ChangeInfo"]["Status"] == "INSYNC", 10, 0.2, "change INSYNC")
    with pytest.raises(ClientError) as e:
        r53.get_change(Id="CNOSUCHCHANGE")
    assert error_of(e)[:2] == ("NoSuchChange", 404)

    change(r53, zone, ("UPSERT", a_record("www.records.example", "192.0.2.9", ttl=300)))
    (www,) = [r for r in records(r53, zone) if r["Name"] == "www.records.example."]
    assert www == {"Name": "www.records.example.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.9"}]}

    with pytest.raises(ClientError) as e:
        change(r53, zone, ("DELETE", a_record("www.records.example", "192.0.2.1", ttl=300)))
    code, status, msg = error_of(e)
    assert (code, status) == ("InvalidChangeBatch", 400)
    assert "Tried to delete resource record set [name='www.records.example.', type='A'] but the values provided do not match the current values" in msg
    change(r53, zone, ("DELETE", a_record("www.records.example", "192.0.2.9", ttl=300)))
    assert not [r for r in records(r53, zone) if r["Name"] == "www.records.example."]


def test_invalid_change_batches_are_atomic(r53, zone):
    before = records(r53, zone)
    cases = [
        ([("CREATE", a_record("dup.records.example", "192.0.2.1")), ("CREATE", a_record("dup.records.example", "192.0.2.2"))],
         "Tried to create resource record set [name='dup.records.example.', type='A'] but it already exists"),
        ([("CREATE", a_record("ok.records.example", "192.0.2.1")), ("DELETE", a_record("gone.records.example", "192.0.2.1"))],
         "Tried to delete resource record set [name='gone.records.example.', type='A'] but it was not found"),
        ([("CREATE", {"Name": "records.example", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.example"}]})],
         "RRSet of type CNAME with DNS name records.example. is not permitted at apex in zone records.example."),
        ([("CREATE", a_record("c.records.example", "192.0.2.1")),
          ("CREATE", {"Name": "c.records.example", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.example"}]})],
         "RRSet of type CNAME with DNS name c.records.example. is not permitted as it conflicts with other records with the same DNS name in zone records.example."),
        ([("CREATE", a_record("www.elsewhere.example", "192.0.2.1"))],
         "RRSet with DNS name www.elsewhere.example. is not permitted in zone records.example."),
        ([("CREATE", a_record("bad.records.example", "300.1.1.1"))], "ARRDATAIllegalIPv4Address"),
    ]
    for batch, message in cases:
        with pytest.raises(ClientError) as e:
            change(r53, zone, *batch)
        code, status, msg = error_of(e)
        assert (code, status) == ("InvalidChangeBatch", 400), msg
        assert message in msg, msg
    assert records(r53, zone) == before

    soa = [r for r in before if r["Type"] == "SOA"][0]
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("DELETE", soa))
    assert error_of(e)[:2] == ("InvalidChangeBatch", 400)


def test_routing_policy_validation(r53, zone):
    invalid = [
        a_record("w.records.example", "192.0.2.1", Weight=10),  # no SetIdentifier
        a_record("w.records.example", "192.0.2.1", SetIdentifier="a", Weight=256),
        a_record("w.records.example", "192.0.2.1", SetIdentifier="a", Weight=1, Failover="PRIMARY"),
        a_record("w.records.example", "192.0.2.1", SetIdentifier="a"),  # no policy
        {"Name": "w.records.example", "Type": "A", "TTL": 60,
         "AliasTarget": {"HostedZoneId": zone.split("/")[-1], "DNSName": "records.example", "EvaluateTargetHealth": False}},
        {"Name": "w.records.example", "Type": "A"},
    ]
    for rrs in invalid:
        with pytest.raises(ClientError) as e:
            change(r53, zone, ("CREATE", rrs))
        assert error_of(e)[:2] == ("InvalidInput", 400), rrs
    _, _, msg = error_of(e)
    assert "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]" in msg

    change(
        r53, zone,
        ("CREATE", a_record("w.records.example", "192.0.2.1", SetIdentifier="one", Weight=0)),
        ("CREATE", a_record("w.records.example", "192.0.2.2", SetIdentifier="two", Weight=255)),
        ("CREATE", a_record("f.records.example", "192.0.2.3", SetIdentifier="p", Failover="PRIMARY")),
        ("CREATE", a_record("f.records.example", "192.0.2.4", SetIdentifier="s", Failover="SECONDARY")),
        ("CREATE", a_record("m.records.example", "192.0.2.5", SetIdentifier="m1", MultiValueAnswer=True)),
        ("CREATE", a_record("l.records.example", "192.0.2.6", SetIdentifier="l1", Region="eu-west-1")),
        ("CREATE", a_record("g.records.example", "192.0.2.7", SetIdentifier="g1", GeoLocation={"CountryCode": "*"})),
        ("CREATE", a_record("g.records.example", "192.0.2.8", SetIdentifier="g2", GeoLocation={"ContinentCode": "EU"})),
    )
    listed = {(r["Name"], r.get("SetIdentifier")): r for r in records(r53, zone)}
    assert listed[("w.records.example.", "two")]["Weight"] == 255
    assert listed[("f.records.example.", "p")]["Failover"] == "PRIMARY"
    assert listed[("m.records.example.", "m1")]["MultiValueAnswer"] is True
    assert listed[("l.records.example.", "l1")]["Region"] == "eu-west-1"
    assert listed[("g.records.example.", "g2")]["GeoLocation"] == {"ContinentCode": "EU"}
    with pytest.raises(ClientError) as e:
        change(r53, zone, ("CREATE", a_record("w.records.example", "192.0.2.1")))
    assert error_of(e)[:2] == ("InvalidChangeBatch", 400)


def test_list_order_paging_and_wildcards(r53):
    zid = new_zone(r53, "order.example")
    change(
        r53, zid,
        ("CREATE", a_record("*.order.example", "192.0.2.1")),
        ("CREATE", a_record("z.order.example", "192.0.2.2")),
        ("CREATE", a_record("a.b.order.example", "192.0.2.3")),
        ("CREATE", {"Name": "z.order.example", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"hello"'}]}),
        ("CREATE", {"Name": "order.example", "Type": "MX", "TTL": 60, "ResourceRecords": [{"Value": "10 mail.order.example"}]}),
    )
    order = [(r["Name"], r["Type"]) for r in records(r53, zid)]
    assert order == [
        ("order.example.", "MX"), ("order.example.", "NS"), ("order.example.", "SOA"),
        ("\\052.order.example.", "A"), ("a.b.order.example.", "A"), ("z.order.example.", "A"), ("z.order.example.", "TXT"),
    ]
    page = r53.list_resource_record_sets(HostedZoneId=zid, MaxItems="3")
    assert len(page["ResourceRecordSets"]) == 3 and page["IsTruncated"] is True and page["MaxItems"] == "3"
    assert (page["NextRecordName"], page["NextRecordType"]) == ("\\052.order.example.", "A")
    rest = r53.list_resource_record_sets(
        HostedZoneId=zid, StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"]
    )
    assert [(r["Name"], r["Type"]) for r in rest["ResourceRecordSets"]] == order[3:]
    assert rest["IsTruncated"] is False
    with pytest.raises(ClientError) as e:
        r53.list_resource_record_sets(HostedZoneId="ZNOSUCHZONE000")
    assert error_of(e)[:2] == ("NoSuchHostedZone", 404)


def test_alias_to_load_balancer_and_to_record(fulmar, r53):
    net = make_network(fulmar.ec2)
    lb = create_alb(fulmar.elbv2, net)
    zid = new_zone(r53, "alias.example")
    alias = {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": lb["DNSName"], "EvaluateTargetHealth": True}
    change(r53, zid, ("CREATE", {"Name": "alias.example", "Type": "A", "AliasTarget": alias}))
    change(r53, zid, ("CREATE", a_record("target.alias.example", "192.0.2.10")))
    own = {"HostedZoneId": zid.split("/")[-1], "DNSName": "target.alias.example", "EvaluateTargetHealth": False}
    change(r53, zid, ("CREATE", {"Name": "www.alias.example", "Type": "A", "AliasTarget": own}))
    (apex,) = [r for r in records(r53, zid) if r["Name"] == "alias.example." and r["Type"] == "A"]
    assert apex["AliasTarget"]["HostedZoneId"] == lb["CanonicalHostedZoneId"]
    assert apex["AliasTarget"]["DNSName"].rstrip(".") == lb["DNSName"].lower()
    assert apex["AliasTarget"]["EvaluateTargetHealth"] is True
    assert "TTL" not in apex and "ResourceRecords" not in apex

    bogus = dict(alias, DNSName="nope-123.us-east-1.elb.amazonaws.com")
    with pytest.raises(ClientError) as e:
        change(r53, zid, ("CREATE", {"Name": "x.alias.example", "Type": "A", "AliasTarget": bogus}))
    assert error_of(e)[:2] == ("InvalidChangeBatch", 400)

    answer = r53.test_dns_answer(HostedZoneId=zid, RecordName="www.alias.example", RecordType="A")
    assert answer["ResponseCode"] == "NOERROR" and answer["RecordData"] == ["192.0.2.10"]


def test_test_dns_answer(r53):
    zid = new_zone(r53, "answer.example")
    change(r53, zid, ("CREATE", a_record("www.answer.example", "192.0.2.1", "192.0.2.2")))
    out = r53.test_dns_answer(HostedZoneId=zid, RecordName="www.answer.example", RecordType="A")
    assert out["ResponseCode"] == "NOERROR"
    assert sorted(out["RecordData"]) == ["192.0.2.1", "192.0.2.2"]
    assert out["Protocol"] in ("UDP", "TCP") and NS_RE.fullmatch(out["Nameserver"])
    out = r53.test_dns_answer(HostedZoneId=zid, RecordName="nothing.answer.example", RecordType="A")
    assert out["ResponseCode"] == "NXDOMAIN" and out["RecordData"] == []


# --------------------------------------------------------------------------- health checks


def test_health_check_lifecycle(r53, zone):
    ref = uniq("hc")
    config = {"Type": "HTTP", "IPAddress": "127.0.0.1", "Port": 8080, "ResourcePath": "/health", "RequestInterval": 10}
    out = r53.create_health_check(CallerReference=ref, HealthCheckConfig=config)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    hc = out["HealthCheck"]
    assert out["Location"].endswith("/2013-04-01/healthcheck/" + hc["Id"])
    assert hc["HealthCheckVersion"] == 1
    c = hc["HealthCheckConfig"]
    assert (c["Type"], c["IPAddress"], c["Port"], c["RequestInterval"], c["FailureThreshold"]) == ("HTTP", "127.0.0.1", 8080, 10, 3)
    assert c["Inverted"] is False and c["Disabled"] is False

    again = r53.create_health_check(CallerReference=ref, HealthCheckConfig=config)
    assert again["HealthCheck"]["Id"] == hc["Id"]
    with pytest.raises(ClientError) as e:
        r53.create_health_check(CallerReference=ref, HealthCheckConfig=dict(config, Port=9090))
    assert error_of(e)[:2] == ("HealthCheckAlreadyExists", 409)

    assert r53.get_health_check(HealthCheckId=hc["Id"])["HealthCheck"] == hc
    assert hc["Id"] in [h["Id"] for h in r53.list_health_checks()["HealthChecks"]]
    assert r53.get_health_check_count()["HealthCheckCount"] >= 1

    updated = r53.update_health_check(HealthCheckId=hc["Id"], HealthCheckVersion=1, FailureThreshold=5, Inverted=True)["HealthCheck"]
    assert updated["HealthCheckVersion"] == 2
    assert updated["HealthCheckConfig"]["FailureThreshold"] == 5 and updated["HealthCheckConfig"]["Inverted"] is True
    with pytest.raises(ClientError) as e:
        r53.update_health_check(HealthCheckId=hc["Id"], HealthCheckVersion=1, Disabled=True)
    assert error_of(e)[:2] == ("HealthCheckVersionMismatch", 409)

    status = r53.get_health_check_status(HealthCheckId=hc["Id"])["HealthCheckObservations"]
    for o in status:
        assert o["StatusReport"]["Status"].startswith(("Success", "Failure")) and o["Region"] and o["IPAddress"]
    reasons = r53.get_health_check_last_failure_reason(HealthCheckId=hc["Id"])["HealthCheckObservations"]
    assert all(o["StatusReport"]["Status"].startswith("Failure") for o in reasons)

    change(r53, zone, ("CREATE", a_record("hc.records.example", "192.0.2.1", SetIdentifier="p", Failover="PRIMARY", HealthCheckId=hc["Id"])))
    with pytest.raises(ClientError) as e:
        r53.delete_health_check(HealthCheckId=hc["Id"])
    assert error_of(e)[:2] == ("HealthCheckInUse", 400)
    change(r53, zone, ("DELETE", a_record("hc.records.example", "192.0.2.1", SetIdentifier="p", Failover="PRIMARY", HealthCheckId=hc["Id"])))
    r53.delete_health_check(HealthCheckId=hc["Id"])
    with pytest.raises(ClientError) as e:
        r53.get_health_check(HealthCheckId=hc["Id"])
    assert error_of(e)[:2] == ("NoSuchHealthCheck", 404)


def test_health_check_validation_and_calculated(r53):
    bad = [
        {"Type": "TCP", "IPAddress": "127.0.0.1"},  # TCP needs a port
        {"Type": "HTTP_STR_MATCH", "IPAddress": "127.0.0.1"},  # needs SearchString
        {"Type": "HTTP", "IPAddress": "127.0.0.1", "RequestInterval": 20},
        {"Type": "HTTP", "IPAddress": "127.0.0.1", "FailureThreshold": 11},
        {"Type": "HTTP"},
    ]
    for config in bad:
        with pytest.raises(ClientError) as e:
            r53.create_health_check(CallerReference=uniq("bad"), HealthCheckConfig=config)
        assert error_of(e)[:2] == ("InvalidInput", 400), config
    child = r53.create_health_check(CallerReference=uniq("c"), HealthCheckConfig={"Type": "TCP", "IPAddress": "127.0.0.1", "Port": 1})["HealthCheck"]
    parent = r53.create_health_check(
        CallerReference=uniq("p"),
        HealthCheckConfig={"Type": "CALCULATED", "HealthThreshold": 1, "ChildHealthChecks": [child["Id"]]},
    )["HealthCheck"]
    assert parent["HealthCheckConfig"]["ChildHealthChecks"] == [child["Id"]]
    with pytest.raises(ClientError) as e:
        r53.delete_health_check(HealthCheckId=child["Id"])
    assert error_of(e)[:2] == ("HealthCheckInUse", 400)
    with pytest.raises(ClientError) as e:
        r53.get_health_check_status(HealthCheckId=parent["Id"])
    assert error_of(e)[:2] == ("InvalidInput", 400)


# --------------------------------------------------------------------------- CIDR collections, tags, limits


def test_cidr_collections(r53, zone):
    out = r53.create_cidr_collection(Name=uniq("coll"), CallerReference=uniq("ref"))
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    coll = out["Collection"]
    assert coll["Version"] == 1 and coll["Arn"].endswith("cidrcollection/" + coll["Id"])
    r53.change_cidr_collection(
        Id=coll["Id"], CollectionVersion=1,
        Changes=[{"LocationName": "office", "Action": "PUT", "CidrList": ["192.0.2.0/24", "2001:db8::/48"]},
                 {"LocationName": "lab", "Action": "PUT", "CidrList": ["198.51.100.0/24"]}],
    )
    with pytest.raises(ClientError) as e:
        r53.change_cidr_collection(Id=coll["Id"], CollectionVersion=1, Changes=[{"LocationName": "x", "Action": "PUT", "CidrList": ["10.0.0.0/8"]}])
    assert error_of(e)[:2] == ("CidrCollectionVersionMismatchException", 409)
    listed = [c for c in r53.list_cidr_collections()["CidrCollections"] if c["Id"] == coll["Id"]]
    assert listed[0]["Version"] == 2
    locations = [l["LocationName"] for l in r53.list_cidr_locations(CollectionId=coll["Id"])["CidrLocations"]]
    assert sorted(locations) == ["lab", "office"]
    blocks = r53.list_cidr_blocks(CollectionId=coll["Id"], LocationName="office")["CidrBlocks"]
    assert sorted(b["CidrBlock"] for b in blocks) == ["192.0.2.0/24", "2001:db8::/48"]

    cidr = {"CollectionId": coll["Id"], "LocationName": "office"}
    change(r53, zone, ("CREATE", a_record("ip.records.example", "192.0.2.1", SetIdentifier="office", CidrRoutingConfig=cidr)))
    (rec,) = [r for r in records(r53, zone) if r["Name"] == "ip.records.example."]
    assert rec["CidrRoutingConfig"] == cidr
    with pytest.raises(ClientError) as e:
        r53.delete_cidr_collection(Id=coll["Id"])
    assert error_of(e)[:2] == ("CidrCollectionInUseException", 400)
    change(r53, zone, ("DELETE", rec))
    r53.change_cidr_collection(
        Id=coll["Id"],
        Changes=[{"LocationName": "office", "Action": "DELETE_IF_EXISTS", "CidrList": ["192.0.2.0/24", "2001:db8::/48"]},
                 {"LocationName": "lab", "Action": "DELETE_IF_EXISTS", "CidrList": ["198.51.100.0/24"]}],
    )
    r53.delete_cidr_collection(Id=coll["Id"])
    with pytest.raises(ClientError) as e:
        r53.list_cidr_locations(CollectionId=coll["Id"])
    assert error_of(e)[:2] == ("NoSuchCidrCollectionException", 404)


def test_tags_for_zones_and_health_checks(r53, zone):
    zid = zone.split("/")[-1]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zid, AddTags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "dns"}])
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zid, RemoveTagKeys=["team"])
    tags = r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zid)["ResourceTagSet"]
    assert tags == {"ResourceType": "hostedzone", "ResourceId": zid, "Tags": [{"Key": "env", "Value": "dev"}]}
    hc = r53.create_health_check(CallerReference=uniq("t"), HealthCheckConfig={"Type": "TCP", "IPAddress": "127.0.0.1", "Port": 2})["HealthCheck"]
    r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hc["Id"], AddTags=[{"Key": "Name", "Value": "web"}])
    sets = r53.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=[hc["Id"]])["ResourceTagSets"]
    assert sets == [{"ResourceType": "healthcheck", "ResourceId": hc["Id"], "Tags": [{"Key": "Name", "Value": "web"}]}]
    with pytest.raises(ClientError) as e:
        r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId="ZNOSUCHZONE000")
    assert error_of(e)[:2] == ("NoSuchHostedZone", 404)


def test_account_limit(r53):
    out = r53.get_account_limit(Type="MAX_HOSTED_ZONES_BY_OWNER")
    assert out["Limit"] == {"Type": "MAX_HOSTED_ZONES_BY_OWNER", "Value": 500}
    assert out["Count"] == r53.get_hosted_zone_count()["HostedZoneCount"]


# --------------------------------------------------------------------------- durability and the aws CLI


def test_zone_and_records_survive_restart(fulmar, r53):
    zid = new_zone(r53, "durable.example")
    change(r53, zid, ("CREATE", a_record("www.durable.example", "192.0.2.7")))
    before = records(r53, zid)
    fulmar.restart()
    r53 = fulmar.client("route53")
    assert records(r53, zid) == before
    assert r53.get_hosted_zone(Id=zid)["HostedZone"]["ResourceRecordSetCount"] == 3


def test_aws_cli_route53(fulmar):
    ref = uniq("cli")
    out = fulmar.aws("route53", "create-hosted-zone", "--name", "cli.example", "--caller-reference", ref)
    zid = out["HostedZone"]["Id"]
    batch = '{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"www.cli.example","Type":"A","TTL":60,"ResourceRecords":[{"Value":"192.0.2.44"}]}}]}'
    info = fulmar.aws("route53", "change-resource-record-sets", "--hosted-zone-id", zid, "--change-batch", batch)["ChangeInfo"]
    time.sleep(1.2)
    fulmar.aws("route53", "wait", "resource-record-sets-changed", "--id", info["Id"])
    listed = fulmar.aws("route53", "list-resource-record-sets", "--hosted-zone-id", zid, "--query", "ResourceRecordSets[?Type=='A']")
    assert listed == [{"Name": "www.cli.example.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.44"}]}]
    p = fulmar.aws_run("route53", "get-hosted-zone", "--id", "ZNOSUCHZONE000")
    assert p.returncode != 0 and "NoSuchHostedZone" in p.stderr
