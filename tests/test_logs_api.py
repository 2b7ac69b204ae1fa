"""CloudWatch Logs log groups through boto3 and the aws CLI (awsJson1.1, Logs_20140328).

Expectations come from the CloudWatch Logs API reference and the botocore model
(logs 2014-03-28): errors are JSON documents whose `__type` botocore reads as the
code (ResourceAlreadyExistsException, ResourceNotFoundException,
InvalidParameterException), log groups are regional, DescribeLogGroups lists them
by name and pages with nextToken.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import uniq


@pytest.fixture(scope="module")
def logs(fulmar):
    return fulmar.client("logs")


def code_of(excinfo) -> tuple[str, int]:
    r = excinfo.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_create_describe_delete(logs):
    name = f"/aws/route53/{uniq('zone')}.example"
    assert logs.create_log_group(logGroupName=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert len(groups) == 1
    g = groups[0]
    assert g["logGroupName"] == name
    assert g["arn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{name}:*"
    assert g["logGroupArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{name}"
    assert g["storedBytes"] == 0 and g["metricFilterCount"] == 0
    assert g["logGroupClass"] == "STANDARD"
    assert isinstance(g["creationTime"], int) and g["creationTime"] > 1_600_000_000_000
    assert "retentionInDays" not in g

    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=name)
    assert code_of(e) == ("ResourceAlreadyExistsException", 400)

    logs.delete_log_group(logGroupName=name)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    with pytest.raises(ClientError) as e:
        logs.delete_log_group(logGroupName=name)
    assert code_of(e) == ("ResourceNotFoundException", 400)


def test_invalid_names_and_limits(logs):
    for bad in ["has space", "a" * 513, "semi;colon"]:
        with pytest.raises(ClientError) as e:
            logs.create_log_group(logGroupName=bad)
        assert code_of(e) == ("InvalidParameterException", 400)
    for limit in (0, 51):
        with pytest.raises(ClientError) as e:
            logs.describe_log_groups(limit=limit)
        assert code_of(e) == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as e:
        logs.describe_log_groups(nextToken="not-a-token")
    assert code_of(e) == ("InvalidParameterException", 400)


def test_paging_in_name_order(logs):
    prefix = f"/paged/{uniq('p')}/"
    names = [f"{prefix}{c}" for c in "edcba"]
    for n in names:
        logs.create_log_group(logGroupName=n)
    seen, token = [], None
    while True:
        kw = {"logGroupNamePrefix": prefix, "limit": 2}
        if token:
            kw["nextToken"] = token
        page = logs.describe_log_groups(**kw)
        assert len(page["logGroups"]) <= 2
        seen += [g["logGroupName"] for g in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == sorted(names)
    # The paginator follows the same tokens.
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 3})
    assert [g["logGroupName"] for p in pages for g in p["logGroups"]] == sorted(names)


def test_regions_are_separate(fulmar, logs):
    name = f"/regional/{uniq('r')}"
    logs.create_log_group(logGroupName=name)
    west = fulmar.client("logs", region="us-west-2")
    assert west.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    west.create_log_group(logGroupName=name)
    g = west.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    assert g["arn"].startswith("arn:aws:logs:us-west-2:123456789012:log-group:")


def test_retention_and_tags(logs):
    name = f"/tagged/{uniq('t')}"
    logs.create_log_group(logGroupName=name, tags={"env": "dev"})
    logs.put_retention_policy(logGroupName=name, retentionInDays=14)
    g = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    assert g["retentionInDays"] == 14
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName=name, retentionInDays=13)
    assert code_of(e) == ("InvalidParameterException", 400)
    logs.delete_retention_policy(logGroupName=name)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]

    arn = g["logGroupArn"]
    logs.tag_resource(resourceArn=arn, tags={"team": "dns"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev", "team": "dns"}
    logs.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "dns"}


def test_log_groups_survive_restart(fulmar):
    name = f"/durable/{uniq('d')}"
    fulmar.client("logs").create_log_group(logGroupName=name)
    fulmar.restart()
    groups = fulmar.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [name]


def test_aws_cli(fulmar):
    name = f"/cli/{uniq('c')}"
    fulmar.aws("logs", "create-log-group", "--log-group-name", name)
    out = fulmar.aws("logs", "describe-log-groups", "--log-group-name-prefix", name)
    assert [g["logGroupName"] for g in out["logGroups"]] == [name]
    p = fulmar.aws_run("logs", "delete-log-group", "--log-group-name", name + "-missing")
    assert p.returncode != 0 and "ResourceNotFoundException" in p.stderr
