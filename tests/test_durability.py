"""Crash durability: every write the API acknowledged survives kill -9.

Several clients create target groups (each with a tag naming its writer and sequence
number) and register targets as fast as they can. Mid-stream the server is killed with
SIGKILL, then started again on the same data directory. Every acknowledged write must
be there, nothing half-applied may be (a target group exists with all its tags or not
at all), and the store must still take writes.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ConnectionClosedError
from botocore.exceptions import ReadTimeoutError

from support import uniq

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


def test_acknowledged_writes_survive_kill_9(fulmar, network):
    acked: list = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_writer, args=(fulmar, network.vpc_id, w, acked, stop), daemon=True)
        for w in range(WRITERS)
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
