"""Reads (Describe*, List*, Get*) are answered from the published configuration, without
the writers' lock: each acknowledged write is visible to the next read, reads go on
while writes commit, and a read that must create something (a region's default VPC)
still writes it durably."""

import threading

import pytest
from botocore.exceptions import ClientError

from support import uniq


def test_the_first_read_in_a_new_region_creates_its_default_vpc_durably(fulmar):
    ec2 = fulmar.client("ec2", region="ap-south-1")
    default = [{"Name": "isDefault", "Values": ["true"]}]
    first = ec2.describe_vpcs(Filters=default)["Vpcs"]
    assert len(first) == 1 and first[0]["IsDefault"]
    assert ec2.describe_vpcs(Filters=default)["Vpcs"][0]["VpcId"] == first[0]["VpcId"]
    fulmar.restart()
    ec2 = fulmar.client("ec2", region="ap-south-1")
    assert [v["VpcId"] for v in ec2.describe_vpcs(Filters=default)["Vpcs"]] == [first[0]["VpcId"]]


def test_each_acknowledged_write_is_seen_by_the_next_read(fulmar):
    e = fulmar.elbv2
    vpc = fulmar.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    for _ in range(15):
        name = uniq("rd")
        arn = e.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
            "TargetGroups"][0]["TargetGroupArn"]
        assert e.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"] == arn
        e.add_tags(ResourceArns=[arn], Tags=[{"Key": "k", "Value": name}])
        assert e.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] == [{"Key": "k", "Value": name}]
        e.delete_target_group(TargetGroupArn=arn)
        with pytest.raises(ClientError) as err:
            e.describe_target_groups(TargetGroupArns=[arn])
        assert err.value.response["Error"]["Code"] == "TargetGroupNotFound"


def test_reads_go_on_while_writes_commit(fulmar):
    vpc = fulmar.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    writer_client = fulmar.client("elbv2")
    names = [uniq("rw") for _ in range(20)]
    failures = []

    def write():
        try:
            for name in names:
                writer_client.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
        except Exception as exc:  # reported by the main thread
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    reader = fulmar.client("elbv2")
    seen = 0
    while writer.is_alive():
        groups = reader.describe_target_groups()["TargetGroups"]
        ours = [g for g in groups if g["TargetGroupName"] in names]
        assert len(ours) >= seen, "a read went back in time"
        seen = len(ours)
    writer.join()
    assert not failures, failures
    final = {g["TargetGroupName"] for g in reader.describe_target_groups()["TargetGroups"]}
    assert set(names) <= final


def test_route53_and_json_reads_see_the_writes_before_them(fulmar):
    r53 = fulmar.client("route53")
    zone = r53.create_hosted_zone(Name=f"{uniq('z')}.example", CallerReference=uniq("c"))["HostedZone"]["Id"]
    assert r53.get_hosted_zone(Id=zone)["HostedZone"]["Id"] == zone
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "CREATE",
        "ResourceRecordSet": {"Name": f"www.{r53.get_hosted_zone(Id=zone)['HostedZone']['Name']}", "Type": "A",
                              "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.7"}]}}]})
    records = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    assert any(r["Type"] == "A" and r["ResourceRecords"] == [{"Value": "192.0.2.7"}] for r in records)

    logs = fulmar.client("logs")
    group = uniq("/fulmar/reads")
    logs.create_log_group(logGroupName=group)
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]] == [group]
