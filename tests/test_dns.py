"""Fulmar's DNS server as a user meets it: zones built with boto3 and the aws CLI,
answers read with dig (Debian's dnsutils), health checks that really probe.

This is issue 5's "Done means": SC6 failover and back, weighted answers distributed
by weight, multivalue skipping an unhealthy address, an alias at the zone apex
answering the ALB's address (and EvaluateTargetHealth), a private zone invisible
from outside its VPC, NXDOMAIN/NODATA/REFUSED/FORMERR, AA, and TCP fallback for a
large answer. Expectations come from RFC 1034/1035/2308 and the Route 53 developer
guide, never from Fulmar's code.
"""

from __future__ import annotations

import json
import socket
import struct
import time

import pytest

from support import (
    FAST_HEALTH_CHECK,
    HEALTH_DEADLINE,
    create_alb,
    create_ip_target_group,
    dig,
    dig_run,
    forward,
    free_port,
    lb_address,
    parse_dig,
    poll,
    uniq,
)

# Route 53's fastest health check: RequestInterval 10 (the only other value is 30)
# and FailureThreshold 1 (the smallest allowed).
INTERVAL, THRESHOLD = 10, 1
# interval x threshold, plus one probe's worth of slack for a busy 2-core CI machine.
SWITCH_DEADLINE = INTERVAL * THRESHOLD + 8


@pytest.fixture(scope="module")
def r53(fulmar):
    return fulmar.client("route53")


@pytest.fixture(scope="module")
def port(fulmar):
    """The port of Fulmar's DNS server (UDP and TCP) on 127.0.0.1."""
    return fulmar.dns_port


def new_zone(r53, name: str, **kw) -> str:
    return r53.create_hosted_zone(Name=name, CallerReference=uniq("ref"), **kw)["HostedZone"]["Id"]


def change(r53, zone_id: str, *rrsets, action="CREATE"):
    batch = {"Changes": [{"Action": action, "ResourceRecordSet": r} for r in rrsets]}
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)


def rrset(name: str, rtype: str, *values: str, ttl: int = 60, **extra) -> dict:
    return {"Name": name, "Type": rtype, "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values], **extra}


def http_check(r53, ip: str, port: int, path: str = "/health") -> str:
    config = {
        "Type": "HTTP", "IPAddress": ip, "Port": port, "ResourcePath": path,
        "RequestInterval": INTERVAL, "FailureThreshold": THRESHOLD,
    }
    return r53.create_health_check(CallerReference=uniq("hc"), HealthCheckConfig=config)["HealthCheck"]["Id"]


def addresses(port: int, name: str) -> set:
    return set(dig(port, name, "A").values("A"))


# --------------------------------------------------------------------------- SC6


def test_sc6_failover_to_secondary_and_back(fulmar, r53, port, backend_factory):
    primary = backend_factory("primary", host="127.0.0.11")
    secondary = backend_factory("secondary", host="127.0.0.12")
    zone = new_zone(r53, "sc6.example")
    check = http_check(r53, primary.host, primary.port)
    batch = {"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": rrset(
            "app.sc6.example", "A", primary.host, ttl=10,
            SetIdentifier="primary", Failover="PRIMARY", HealthCheckId=check)},
        {"Action": "CREATE", "ResourceRecordSet": rrset(
            "app.sc6.example", "A", secondary.host, ttl=10, SetIdentifier="secondary", Failover="SECONDARY")},
    ]}
    fulmar.aws("route53", "change-resource-record-sets", "--hosted-zone-id", zone, "--change-batch", json.dumps(batch))

    def answers(want):
        got = addresses(port, "app.sc6.example")
        assert got == {want}, f"app.sc6.example answers {got}, want {want}"
        return True

    def observed(prefix):
        obs = fulmar.aws("route53", "get-health-check-status", "--health-check-id", check)["HealthCheckObservations"]
        assert obs and all(o["StatusReport"]["Status"].startswith(prefix) for o in obs), obs
        return obs

    # The primary answers while its check sees 200s from every checker region.
    poll(lambda: answers(primary.host), 5, 0.2, "the primary's address")
    obs = poll(lambda: observed("Success: HTTP Status Code 200"), SWITCH_DEADLINE, 0.5, "successful observations")
    assert len({o["Region"] for o in obs}) >= 3, obs
    assert all(o["IPAddress"] and o["StatusReport"]["CheckedTime"] for o in obs), obs
    # Resolve, then connect, as a client of the name would.
    got = fulmar.aws("route53", "test-dns-answer", "--hosted-zone-id", zone,
                     "--record-name", "app.sc6.example", "--record-type", "A")
    assert got["RecordData"] == [primary.host] and got["ResponseCode"] == "NOERROR", got

    # The primary dies: within interval x threshold the secondary answers.
    primary.stop()
    killed = time.monotonic()
    poll(lambda: answers(secondary.host), SWITCH_DEADLINE, 0.2, "failover to the secondary")
    took_down = time.monotonic() - killed
    obs = poll(lambda: observed("Failure"), 5, 0.5, "failure observations")
    assert any("Connection refused" in o["StatusReport"]["Status"] for o in obs), obs
    reasons = r53.get_health_check_last_failure_reason(HealthCheckId=check)["HealthCheckObservations"]
    assert reasons and all(o["StatusReport"]["Status"].startswith("Failure") for o in reasons), reasons

    # It comes back: the primary answers again.
    primary.start()
    restarted = time.monotonic()
    poll(lambda: answers(primary.host), SWITCH_DEADLINE, 0.2, "failback to the primary")
    took_up = time.monotonic() - restarted
    print(f"SC6: failover after {took_down:.1f}s, failback after {took_up:.1f}s (interval {INTERVAL}s x threshold {THRESHOLD})")
    assert primary.health_checks, "the primary was really probed"


# --------------------------------------------------------------------------- weighted


def test_weighted_answers_follow_the_weights_over_1000_queries(r53, port, tmp_path):
    zone = new_zone(r53, "weighted.example")
    change(r53, zone,
           rrset("w.weighted.example", "A", "192.0.2.1", SetIdentifier="one", Weight=1),
           rrset("w.weighted.example", "A", "192.0.2.3", SetIdentifier="three", Weight=3),
           rrset("w.weighted.example", "A", "192.0.2.9", SetIdentifier="zero", Weight=0))
    batch = tmp_path / "queries"
    batch.write_text("w.weighted.example A\n" * 1000)
    p = dig_run(port, "+noall", "+answer", "-f", str(batch), timeout=120)
    assert p.returncode == 0, p.stderr
    values = [line.split()[4] for line in p.stdout.splitlines() if line.strip() and not line.startswith(";")]
    assert len(values) == 1000, f"{len(values)} answers\n{p.stdout[-2000:]}"
    counts = {v: values.count(v) for v in set(values)}
    # Expected 250 / 750; the standard deviation is ~14, so +-80 never flakes.
    assert set(counts) <= {"192.0.2.1", "192.0.2.3"}, counts  # weight 0: never while others are healthy
    assert 170 <= counts.get("192.0.2.1", 0) <= 330, counts
    assert 670 <= counts.get("192.0.2.3", 0) <= 830, counts


# --------------------------------------------------------------------------- multivalue


def test_multivalue_skips_the_address_whose_check_fails(r53, port, backend_factory):
    up1 = backend_factory("mv-up-1")
    up2 = backend_factory("mv-up-2")
    dead_port = free_port()  # nothing listens here: connection refused
    zone = new_zone(r53, "multivalue.example")
    checks = [http_check(r53, "127.0.0.1", up1.port), http_check(r53, "127.0.0.1", up2.port),
              http_check(r53, "127.0.0.1", dead_port)]
    values = ["192.0.2.21", "192.0.2.22", "192.0.2.23"]
    change(r53, zone, *[
        rrset("mv.multivalue.example", "A", v, SetIdentifier=f"mv{i}", MultiValueAnswer=True, HealthCheckId=c)
        for i, (v, c) in enumerate(zip(values, checks))
    ])

    def healthy_only():
        for _ in range(5):
            got = addresses(port, "mv.multivalue.example")
            assert got == {"192.0.2.21", "192.0.2.22"}, got
        return True

    poll(healthy_only, SWITCH_DEADLINE, 0.2, "multivalue answers without the failing address")
    status = r53.get_health_check_status(HealthCheckId=checks[2])["HealthCheckObservations"]
    assert status and all("Connection refused" in o["StatusReport"]["Status"] for o in status), status


# --------------------------------------------------------------------------- alias to an ALB


def test_alias_at_the_apex_answers_the_albs_address(fulmar, r53, port, network, backend_factory):
    backend = backend_factory("alias-target")
    backend.health_status = 500  # unhealthy until the test says otherwise
    lb = create_alb(fulmar.elbv2, network)
    addr = lb_address(lb)
    tg = create_ip_target_group(fulmar.elbv2, network.vpc_id)
    fulmar.elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[backend.target])
    # A listener puts the target group in service (health-checked); open its port as on AWS.
    listener_port = free_port(addr)
    fulmar.ec2.authorize_security_group_ingress(GroupId=network.sg_id, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": listener_port, "ToPort": listener_port,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    fulmar.elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=listener_port,
                                 DefaultActions=forward(tg["TargetGroupArn"]))

    zone = new_zone(r53, "alias.example")
    alias = {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": lb["DNSName"], "EvaluateTargetHealth": True}
    change(r53, zone,
           {"Name": "alias.example", "Type": "A", "AliasTarget": alias},
           {"Name": "www.alias.example", "Type": "A", "AliasTarget": alias,
            "SetIdentifier": "alb", "Failover": "PRIMARY"},
           rrset("www.alias.example", "A", "192.0.2.99", SetIdentifier="sorry", Failover="SECONDARY"))

    # The apex answers the load balancer's address (a lone record is answered even when
    # unhealthy), and the load balancer's own DNS name resolves through the same server.
    apex = dig(port, "alias.example", "A")
    assert apex.status == "NOERROR" and "aa" in apex.flags, apex.text
    assert apex.values("A") == [addr], apex.text
    assert addresses(port, lb["DNSName"]) == {addr}

    # EvaluateTargetHealth: no healthy target -> the ALB alias is unhealthy -> SECONDARY.
    assert addresses(port, "www.alias.example") == {"192.0.2.99"}
    backend.health_status = 200
    poll(lambda: addresses(port, "www.alias.example") == {addr}, HEALTH_DEADLINE, 0.5,
         "the PRIMARY alias once the ALB has a healthy target")
    assert addresses(port, "alias.example") == {addr}


# --------------------------------------------------------------------------- private zones


def test_private_zone_is_invisible_from_outside_its_vpc(r53, port, network):
    vpc = {"VPCRegion": "us-east-1", "VPCId": network.vpc_id}
    private = new_zone(r53, "private.example", VPC=vpc, HostedZoneConfig={"PrivateZone": True})
    change(r53, private, rrset("db.private.example", "A", "10.0.0.5"))
    # Split view: a public zone of the same name as a second private one.
    split_private = new_zone(r53, "split.example", VPC=vpc, HostedZoneConfig={"PrivateZone": True})
    split_public = new_zone(r53, "split.example")
    change(r53, split_private, rrset("www.split.example", "A", "10.0.0.6"))
    change(r53, split_public, rrset("www.split.example", "A", "192.0.2.6"))

    # This test's client (127.0.0.1) is in no VPC.
    for name in ("db.private.example", "private.example"):
        got = dig(port, name, "A")
        assert got.status == "REFUSED" and not got.answer, got.text
    got = dig(port, "www.split.example", "A")
    assert got.status == "NOERROR" and got.values("A") == ["192.0.2.6"], got.text


# --------------------------------------------------------------------------- response codes


@pytest.fixture(scope="module")
def codes_zone(r53):
    zone = new_zone(r53, "codes.example")
    change(r53, zone,
           rrset("www.codes.example", "A", "192.0.2.80"),
           rrset("big.codes.example", "TXT", *[f'"{i:03d}-{"x" * 96}"' for i in range(60)]))
    return zone


def test_answer_is_authoritative(port, codes_zone):
    got = dig(port, "www.codes.example", "A")
    assert got.status == "NOERROR", got.text
    assert {"qr", "aa"} <= got.flags and "ra" not in got.flags, got.text
    assert got.answer == [("www.codes.example.", 60, "A", "192.0.2.80")], got.text


def test_nxdomain_with_soa_in_authority(port, codes_zone):
    got = dig(port, "nope.codes.example", "A")
    assert got.status == "NXDOMAIN" and "aa" in got.flags and not got.answer, got.text
    assert [r[:1] + r[2:3] for r in got.authority] == [("codes.example.", "SOA")], got.text


def test_nodata_with_soa_in_authority(port, codes_zone):
    got = dig(port, "www.codes.example", "AAAA")
    assert got.status == "NOERROR" and "aa" in got.flags and not got.answer, got.text
    assert [r[:1] + r[2:3] for r in got.authority] == [("codes.example.", "SOA")], got.text
    # RFC 2308: the negative TTL is min(SOA TTL, SOA MINIMUM).
    soa_ttl, soa = got.authority[0][1], got.authority[0][3].split()
    assert soa_ttl <= min(900, int(soa[-1])), got.text


def test_refused_outside_every_zone(port, codes_zone):
    for name in ("www.not-served.example", "example", "."):
        got = dig(port, name, "A")
        assert got.status == "REFUSED" and "aa" not in got.flags and not got.answer, got.text


def test_formerr_for_a_malformed_query(port):
    # A header announcing one question, followed by a name cut off mid-label.
    packet = struct.pack(">HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + b"\x03ww"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(packet, ("127.0.0.1", port))
        reply, _ = s.recvfrom(4096)
    ident, flags = struct.unpack(">HH", reply[:4])
    assert ident == 0xBEEF
    assert flags & 0x8000, "QR: it is a response"
    assert flags & 0x000F == 1, f"RCODE {flags & 0xF}, want 1 (FORMERR)"


def test_large_answer_falls_back_to_tcp(port, codes_zone):
    # Over UDP the ~6 KB answer does not fit (dig advertises 1232 bytes): TC, then TCP.
    p = dig_run(port, "big.codes.example", "TXT")
    assert p.returncode == 0 and "Truncated, retrying in TCP mode" in p.stdout, p.stdout
    (over_tcp,) = [m for m in parse_dig(p.stdout) if "tc" not in m.flags]
    assert len(over_tcp.values("TXT")) == 60, p.stdout
    # +ignore keeps the truncated UDP answer: TC set.
    truncated = dig(port, "big.codes.example", "TXT", "+ignore")
    assert "tc" in truncated.flags and len(truncated.values("TXT")) < 60, truncated.text
    # Without EDNS the limit is 512 bytes; same story.
    assert "tc" in dig(port, "big.codes.example", "TXT", "+ignore", "+noedns").flags
    # +tcp from the start: everything, no TC.
    got = dig(port, "big.codes.example", "TXT", "+tcp")
    assert "tc" not in got.flags and len(got.values("TXT")) == 60, got.text
    assert sorted(got.values("TXT"))[0].startswith('"000-x'), got.text
