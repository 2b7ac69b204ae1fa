"""Route 53 reusable delegation sets, query logging configurations and GetDNSSEC,
through boto3 against the real binary.

Expectations come from the Route 53 API reference and the botocore model
(rest-xml, 2013-04-01): creations answer 201 with a Location, a zone created with a
DelegationSetId gets that set's four name servers, zones of the same name (or
parent and child) cannot share them (ConflictingDomainExists), query logging needs
a CloudWatch Logs log group in us-east-1 (NoSuchCloudWatchLogsLogGroup otherwise).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import uniq


@pytest.fixture(scope="module")
def r53(fulmar):
    return fulmar.client("route53")


@pytest.fixture(scope="module")
def logs(fulmar):
    return fulmar.client("logs")


def error_of(excinfo) -> tuple[str, int, str]:
    r = excinfo.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def zone(r53, name: str, **kw) -> dict:
    return r53.create_hosted_zone(Name=name, CallerReference=uniq("ref"), **kw)


# ---------------------------------------------------------------- delegation sets


def test_delegation_set_lifecycle(r53):
    ref = uniq("ds")
    out = r53.create_reusable_delegation_set(CallerReference=ref)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    ds = out["DelegationSet"]
    assert ds["Id"].startswith("/delegationset/N")
    assert out["Location"].endswith("/delegationset/" + ds["Id"].split("/")[-1])
    assert ds["CallerReference"] == ref and len(ds["NameServers"]) == 4

    got = r53.get_reusable_delegation_set(Id=ds["Id"])["DelegationSet"]
    assert got == ds
    listed = r53.list_reusable_delegation_sets()
    assert ds in listed["DelegationSets"] and listed["IsTruncated"] is False

    with pytest.raises(ClientError) as e:
        r53.create_reusable_delegation_set(CallerReference=ref)
    assert error_of(e)[:2] == ("DelegationSetAlreadyCreated", 400)

    limit = r53.get_reusable_delegation_set_limit(DelegationSetId=ds["Id"], Type="MAX_ZONES_BY_REUSABLE_DELEGATION_SET")
    assert limit["Count"] == 0 and limit["Limit"]["Value"] == 100

    r53.delete_reusable_delegation_set(Id=ds["Id"])
    with pytest.raises(ClientError) as e:
        r53.get_reusable_delegation_set(Id=ds["Id"])
    assert error_of(e)[:2] == ("NoSuchDelegationSet", 400)


def test_zone_with_delegation_set_and_conflicts(r53):
    ds = r53.create_reusable_delegation_set(CallerReference=uniq("ds"))["DelegationSet"]
    ds_id = ds["Id"].split("/")[-1]
    base = f"{uniq('ds')}.example."
    out = zone(r53, base, DelegationSetId=ds_id)
    assert out["DelegationSet"]["Id"] == ds["Id"]
    assert out["DelegationSet"]["NameServers"] == ds["NameServers"]
    zid = out["HostedZone"]["Id"]
    ns = r53.list_resource_record_sets(HostedZoneId=zid, StartRecordType="NS", StartRecordName=base, MaxItems="1")
    assert sorted(r["Value"] for r in ns["ResourceRecordSets"][0]["ResourceRecords"]) == sorted(
        n + "." for n in ds["NameServers"]
    )
    assert r53.get_hosted_zone(Id=zid)["DelegationSet"]["Id"] == ds["Id"]
    listed = r53.list_hosted_zones(DelegationSetId=ds_id)["HostedZones"]
    assert [z["Id"] for z in listed] == [zid]

    # Same name, child and parent cannot share the set's name servers.
    for name in (base, "child." + base, base.split(".", 1)[1]):
        with pytest.raises(ClientError) as e:
            zone(r53, name, DelegationSetId=ds_id)
        code, status, message = error_of(e)
        assert (code, status) == ("ConflictingDomainExists", 400)
        assert ds_id in message
    # Without the set, or with another, they can.
    zone(r53, base)
    other = r53.create_reusable_delegation_set(CallerReference=uniq("ds"))["DelegationSet"]
    zone(r53, "child." + base, DelegationSetId=other["Id"])

    with pytest.raises(ClientError) as e:
        r53.delete_reusable_delegation_set(Id=ds_id)
    assert error_of(e)[:2] == ("DelegationSetInUse", 400)
    r53.delete_hosted_zone(Id=zid)
    r53.delete_reusable_delegation_set(Id=ds_id)


def test_delegation_set_from_zone(r53):
    out = zone(r53, f"{uniq('from')}.example.")
    servers = out["DelegationSet"]["NameServers"]
    ds = r53.create_reusable_delegation_set(CallerReference=uniq("ds"), HostedZoneId=out["HostedZone"]["Id"])
    assert ds["DelegationSet"]["NameServers"] == servers
    with pytest.raises(ClientError) as e:
        r53.create_reusable_delegation_set(CallerReference=uniq("ds"), HostedZoneId=out["HostedZone"]["Id"])
    assert error_of(e)[:2] == ("DelegationSetAlreadyReusable", 400)


def test_unknown_delegation_set(r53):
    with pytest.raises(ClientError) as e:
        zone(r53, f"{uniq('x')}.example.", DelegationSetId="NNOSUCHSET0000000000")
    assert error_of(e)[:2] == ("NoSuchDelegationSet", 400)
    with pytest.raises(ClientError) as e:
        r53.delete_reusable_delegation_set(Id="NNOSUCHSET0000000000")
    assert error_of(e)[:2] == ("NoSuchDelegationSet", 400)


# ---------------------------------------------------------------- query logging


def log_group(logs, zone_name: str) -> str:
    name = f"/aws/route53/{zone_name}"
    logs.create_log_group(logGroupName=name)
    return logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"]


def test_query_logging_lifecycle(r53, logs):
    name = f"{uniq('ql')}.example"
    zid = zone(r53, name)["HostedZone"]["Id"]
    arn = log_group(logs, name)
    out = r53.create_query_logging_config(HostedZoneId=zid, CloudWatchLogsLogGroupArn=arn)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    cfg = out["QueryLoggingConfig"]
    assert cfg["HostedZoneId"] == zid.split("/")[-1] and cfg["CloudWatchLogsLogGroupArn"] == arn
    assert out["Location"] == f"https://route53.amazonaws.com/2013-04-01/queryloggingconfig/{cfg['Id']}"
    assert r53.get_query_logging_config(Id=cfg["Id"])["QueryLoggingConfig"] == cfg
    assert r53.list_query_logging_configs(HostedZoneId=zid)["QueryLoggingConfigs"] == [cfg]

    with pytest.raises(ClientError) as e:
        r53.create_query_logging_config(HostedZoneId=zid, CloudWatchLogsLogGroupArn=arn)
    assert error_of(e)[:2] == ("QueryLoggingConfigAlreadyExists", 409)

    r53.delete_query_logging_config(Id=cfg["Id"])
    with pytest.raises(ClientError) as e:
        r53.get_query_logging_config(Id=cfg["Id"])
    assert error_of(e)[:2] == ("NoSuchQueryLoggingConfig", 404)


def test_query_logging_validation(r53, logs):
    name = f"{uniq('qv')}.example"
    zid = zone(r53, name)["HostedZone"]["Id"]
    arn = log_group(logs, name)
    bad = [
        ("arn:aws:logs:us-east-1:123456789012:not-a-log-group:x", "InvalidInput", 400),
        (arn.replace("us-east-1", "eu-west-1"), "InvalidInput", 400),
        (arn.replace(name, "missing.example"), "NoSuchCloudWatchLogsLogGroup", 404),
    ]
    for candidate, code, status in bad:
        with pytest.raises(ClientError) as e:
            r53.create_query_logging_config(HostedZoneId=zid, CloudWatchLogsLogGroupArn=candidate)
        assert error_of(e)[:2] == (code, status), candidate
    with pytest.raises(ClientError) as e:
        r53.create_query_logging_config(HostedZoneId="ZNOSUCHZONE", CloudWatchLogsLogGroupArn=arn)
    assert error_of(e)[:2] == ("NoSuchHostedZone", 404)
    with pytest.raises(ClientError) as e:
        r53.list_query_logging_configs(NextToken="garbage")
    assert error_of(e)[:2] == ("InvalidPaginationToken", 400)


def test_query_logging_paging_and_zone_delete(fulmar, r53, logs):
    made = []
    for _ in range(3):
        name = f"{uniq('qp')}.example"
        zid = zone(r53, name)["HostedZone"]["Id"]
        cfg = r53.create_query_logging_config(HostedZoneId=zid, CloudWatchLogsLogGroupArn=log_group(logs, name))
        made.append((zid, cfg["QueryLoggingConfig"]["Id"]))
    all_ids = [c["Id"] for c in r53.list_query_logging_configs()["QueryLoggingConfigs"]]
    assert [i for i in all_ids if i in {m[1] for m in made}] == [m[1] for m in made]
    first = r53.list_query_logging_configs(MaxResults="1")
    assert len(first["QueryLoggingConfigs"]) == 1 and first["NextToken"]
    rest = r53.list_query_logging_configs(NextToken=first["NextToken"])
    assert "NextToken" not in rest
    assert [c["Id"] for c in first["QueryLoggingConfigs"] + rest["QueryLoggingConfigs"]] == all_ids

    # Survives a restart; goes with its zone.
    fulmar.restart()
    r53 = fulmar.client("route53")
    assert r53.get_query_logging_config(Id=made[0][1])["QueryLoggingConfig"]["HostedZoneId"] == made[0][0].split("/")[-1]
    r53.delete_hosted_zone(Id=made[0][0])
    with pytest.raises(ClientError) as e:
        r53.get_query_logging_config(Id=made[0][1])
    assert error_of(e)[:2] == ("NoSuchQueryLoggingConfig", 404)


# ---------------------------------------------------------------- DNSSEC


def test_get_dnssec(r53):
    zid = zone(r53, f"{uniq('sec')}.example.")["HostedZone"]["Id"]
    out = r53.get_dnssec(HostedZoneId=zid)
    assert out["Status"] == {"ServeSignature": "NOT_SIGNING"}
    assert out["KeySigningKeys"] == []
    with pytest.raises(ClientError) as e:
        r53.get_dnssec(HostedZoneId="ZNOSUCHZONE")
    assert error_of(e)[:2] == ("NoSuchHostedZone", 404)
