"""Crash durability: every write the API acknowledged survives kill -9.

Several clients create target groups (each with a tag naming its writer and sequence
number) and register targets as fast as they can. Mid-stream the server is killed with
SIGKILL, then started again on the same data directory. Every acknowledged write must
be there, nothing half-applied may be (a target group exists with all its tags or not
at all), and the store must still take writes. The same for Route 53: concurrent
change batches, kill -9, and every acknowledged batch is there, every batch there is
whole, and the DNS server answers from the recovered zone.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ConnectionClosedError
from botocore.exceptions import ReadTimeoutError

from support import dig, poll, uniq

WRITERS = 4
RUN_SECONDS = 3.0
MIN_ACKED = 200  # the test proves nothing if too few writes were acknowledged


def _writer(fulmar, vpc_id: str, wid: int, acked: list, stop: threading.Event):
    elbv2 = fulmar.client("elbv2")  # one attempt per call: an error is never retried into an ack
    seq = 0
    while not stop.is_set():
        name = f"d{wid}-{seq}"
        try:
            tg = elbv2.create_target_group(
                Name=name,
                Protocol="HTTP",
                Port=80,
                VpcId=vpc_id,
                TargetType="ip",
                Tags=[{"Key": "writer", "Value": str(wid)}, {"Key": "seq", "Value": str(seq)}],
            )["TargetGroups"][0]
            acked.append(("tg", name, tg["TargetGroupArn"]))
            elbv2.register_targets(
                TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": 9000 + seq % 1000}]
            )
            acked.append(("target", name, 9000 + seq % 1000))
        except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectionError, OSError):
            return  # the server is gone: whatever was not acknowledged may or may not be there
        except ClientError as e:  # pragma: no cover - any API error here is a bug
            acked.append(("error", name, str(e)))
            return
        seq += 1


def _write_then_kill(fulmar, writer, args: tuple, writers: int) -> list:
    """Run `writers` threads of `writer(fulmar, *args, wid, acked, stop)` for
    RUN_SECONDS, kill -9 the server mid-stream, and return what they had acknowledged
    (no write may have failed with an API error)."""
    acked: list = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=writer, args=(fulmar, *args, w, acked, stop), daemon=True) for w in range(writers)
    ]
    for t in threads:
        t.start()
    time.sleep(RUN_SECONDS)
    fulmar.proc.send_signal(signal.SIGKILL)  # mid-stream, no chance to flush anything
    fulmar.proc.wait(5)
    stop.set()
    for t in threads:
        t.join(10)
    errors = [a for a in acked if a[0] == "error"]
    assert not errors, errors
    return acked


def test_acknowledged_writes_survive_kill_9(fulmar, network):
    acked = _write_then_kill(fulmar, _writer, (network.vpc_id,), WRITERS)
    groups = {name: arn for kind, name, arn in acked if kind == "tg"}
    targets = {name: port for kind, name, port in acked if kind == "target"}
    assert len(groups) >= MIN_ACKED, f"only {len(groups)} writes acknowledged before the kill"

    fulmar.start()
    elbv2 = fulmar.elbv2
    found = {}
    for page in elbv2.get_paginator("describe_target_groups").paginate(PageSize=400):
        for tg in page["TargetGroups"]:
            found[tg["TargetGroupName"]] = tg["TargetGroupArn"]

    missing = [n for n in groups if n not in found]
    assert not missing, f"{len(missing)} acknowledged target groups lost, e.g. {missing[:5]}"
    assert all(found[n] == arn for n, arn in groups.items())

    # Whatever is there is whole: every surviving group (acknowledged or not) has both tags.
    names = [n for n in found if n.startswith("d")]
    arns = [found[n] for n in names]
    for i in range(0, len(arns), 20):
        for desc in elbv2.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            keys = sorted(t["Key"] for t in desc["Tags"])
            assert keys == ["seq", "writer"], desc

    # Every acknowledged registration is there.
    for name, port in targets.items():
        health = elbv2.describe_target_health(TargetGroupArn=groups[name])["TargetHealthDescriptions"]
        assert [(h["Target"]["Id"], h["Target"]["Port"]) for h in health] == [("127.0.0.1", port)], name

    # And the store still takes writes after the crash.
    tg = elbv2.create_target_group(Name=uniq("after"), Protocol="HTTP", Port=80, VpcId=network.vpc_id)
    assert tg["TargetGroups"][0]["TargetGroupArn"]


# --------------------------------------------------------------------------- #
# Route 53: change batches are atomic and durable across kill -9
# --------------------------------------------------------------------------- #

R53_WRITERS = 3
R53_BATCH = 20  # records per ChangeResourceRecordSets call
R53_MIN_ACKED = 40  # batches


def _r53_name(zone: str, wid: int, seq: int, k: int) -> str:
    return f"w{wid}-b{seq}-r{k}.{zone}"


def _r53_writer(fulmar, zone_id: str, zone: str, wid: int, acked: list, stop: threading.Event):
    r53 = fulmar.client("route53")  # one attempt per call: an error is never retried into an ack
    seq = 0
    while not stop.is_set():
        changes = [
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": _r53_name(zone, wid, seq, k),
                    "Type": "A",
                    "TTL": 60,
                    "ResourceRecords": [{"Value": f"10.{wid}.{seq % 256}.{k}"}],
                },
            }
            for k in range(R53_BATCH)
        ]
        try:
            r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
            acked.append(("batch", wid, seq))
        except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectionError, OSError):
            return  # the server is gone: an unacknowledged batch may or may not be there, but whole
        except ClientError as e:  # pragma: no cover - any API error here is a bug
            acked.append(("error", wid, str(e)))
            return
        seq += 1


def test_acknowledged_record_changes_survive_kill_9_whole(fulmar):
    zone = f"{uniq('crash')}.example.com."
    zone_id = fulmar.client("route53").create_hosted_zone(Name=zone, CallerReference=uniq("ref"))["HostedZone"]["Id"]
    acked = _write_then_kill(fulmar, _r53_writer, (zone_id, zone), R53_WRITERS)
    batches = {(wid, seq) for kind, wid, seq in acked if kind == "batch"}
    assert len(batches) >= R53_MIN_ACKED, f"only {len(batches)} batches acknowledged before the kill"

    fulmar.start()
    r53 = fulmar.client("route53")
    found: dict = {}
    for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        for rrset in page["ResourceRecordSets"]:
            if rrset["Type"] != "A":
                continue
            wid, seq, k = (int(part[1:]) for part in rrset["Name"].split(".", 1)[0].split("-"))
            found.setdefault((wid, seq), {})[k] = rrset["ResourceRecords"][0]["Value"]

    missing = sorted(batches - found.keys())
    assert not missing, f"{len(missing)} acknowledged batches lost, e.g. {missing[:5]}"
    # Every batch that is there at all (acknowledged or not) is whole and as written.
    for (wid, seq), records in found.items():
        assert records == {k: f"10.{wid}.{seq % 256}.{k}" for k in range(R53_BATCH)}, (wid, seq)

    # The DNS server answers from the recovered zone: the last acknowledged batch of writer 0.
    last = max(seq for wid, seq in batches if wid == 0)
    name = _r53_name(zone, 0, last, R53_BATCH - 1)
    answer = poll(lambda: dig(fulmar.dns_port, name, "A").values("A") or None, timeout=5, what=f"{name} answered")
    assert answer == [f"10.0.{last % 256}.{R53_BATCH - 1}"]

    # And the zone still takes changes after the crash.
    after = {"Name": f"after.{zone}", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.9.9.9"}]}
    r53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": after}]}
    )
