"""DescribeTargetHealth states and reason codes as AWS reports them, and the health
check logs (last: they are read after a restart delivers them)."""

import gzip
import re
import time

import pytest

from support import (
    create_alb,
    create_ip_target_group,
    create_listener,
    fixed,
    forward,
    free_port,
    lb_address,
    path_is,
    poll,
    target_states,
    wait_target_states,
)

# The "quick" group's deregistration delay: long enough that a busy machine's
# DescribeTargetHealth polls still see the target draining.
QUICK_DELAY = 4


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory):
    """One load balancer; every target group below is used by a rule, so its targets are checked."""
    e = fulmar.elbv2
    ok = backend_factory("backend-ok")
    bad = backend_factory("backend-500")
    bad.health_status = 500
    slow = backend_factory("backend-slow")
    slow.health_delay = 3.5  # longer than HealthCheckTimeoutSeconds=2
    leaving = backend_factory("backend-leaving")
    quick = backend_factory("backend-quick")
    unhurried = backend_factory("backend-unhurried")
    unhurried.health_delay = 1.5  # passes (timeout 2 s) but not at once: stays "initial" meanwhile
    gone_port = free_port()

    lb = create_alb(e, network)
    lis = create_listener(e, lb, 8080, fixed("404"))["ListenerArn"]
    tgs = {}
    for i, (name, targets) in enumerate(
        [
            ("ok", [ok.target]),
            ("bad", [bad.target]),
            ("slow", [slow.target]),
            ("gone", [{"Id": "127.0.0.1", "Port": gone_port}]),
            ("leaving", [leaving.target]),
            ("quick", [quick.target]),
        ]
    ):
        tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
        e.create_rule(ListenerArn=lis, Priority=10 + i, Conditions=path_is(f"/{name}"), Actions=forward(tg))
        e.register_targets(TargetGroupArn=tg, Targets=targets)
        tgs[name] = tg
    e.modify_target_group_attributes(
        TargetGroupArn=tgs["quick"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(QUICK_DELAY)}],
    )
    return {"lb": lb, "tgs": tgs, "ok": ok, "bad": bad, "slow": slow, "leaving": leaving, "quick": quick, "unhurried": unhurried, "gone_port": gone_port}


def test_initial_right_after_registration(fulmar, env):
    # The unhurried backend's first health check takes 1.5 s: until then it is "initial".
    e = fulmar.elbv2
    tg = env["tgs"]["ok"]
    target = env["unhurried"].target
    e.register_targets(TargetGroupArn=tg, Targets=[target])
    state, reason = target_states(e, tg)[env["unhurried"].key]
    assert state == "initial"
    assert reason in ("Elb.RegistrationInProgress", "Elb.InitialHealthChecking")
    th = e.describe_target_health(TargetGroupArn=tg, Targets=[target])["TargetHealthDescriptions"][0]["TargetHealth"]
    assert th["State"] == "initial" and th.get("Description")
    # ...and it turns healthy once its (slow but successful) checks pass.
    wait_target_states(e, tg, {env["unhurried"].key: "healthy"})
    e.deregister_targets(TargetGroupArn=tg, Targets=[target])


def test_healthy(fulmar, env):
    states = wait_target_states(fulmar.elbv2, env["tgs"]["ok"], {env["ok"].key: "healthy"})
    assert states[env["ok"].key] == ("healthy", None)
    d = fulmar.elbv2.describe_target_health(TargetGroupArn=env["tgs"]["ok"], Targets=[env["ok"].target])
    d = d["TargetHealthDescriptions"][0]
    assert d["HealthCheckPort"] == str(env["ok"].port)
    assert "Reason" not in d["TargetHealth"]


def test_unhealthy_response_code_mismatch(fulmar, env):
    wait_target_states(fulmar.elbv2, env["tgs"]["bad"], {env["bad"].key: ("unhealthy", "Target.ResponseCodeMismatch")})
    d = fulmar.elbv2.describe_target_health(TargetGroupArn=env["tgs"]["bad"])["TargetHealthDescriptions"][0]
    assert "500" in d["TargetHealth"]["Description"], d  # "Health checks failed with these codes: [500]"


def test_matcher_can_accept_the_code(fulmar, env):
    # ALB matchers range over 200-499: widen it and answer 404, and the target turns healthy.
    env["bad"].health_status = 404
    fulmar.elbv2.modify_target_group(TargetGroupArn=env["tgs"]["bad"], Matcher={"HttpCode": "200-499"})
    wait_target_states(fulmar.elbv2, env["tgs"]["bad"], {env["bad"].key: "healthy"})


def test_unhealthy_timeout(fulmar, env):
    wait_target_states(fulmar.elbv2, env["tgs"]["slow"], {env["slow"].key: ("unhealthy", "Target.Timeout")})


def test_unhealthy_when_backend_is_gone(fulmar, env):
    key = ("127.0.0.1", env["gone_port"])
    states = wait_target_states(fulmar.elbv2, env["tgs"]["gone"], {key: "unhealthy"})
    assert states[key][1] in ("Target.FailedHealthChecks", "Target.Timeout"), states


def test_draining_after_deregistration(fulmar, env):
    tg = env["tgs"]["leaving"]
    wait_target_states(fulmar.elbv2, tg, {env["leaving"].key: "healthy"})
    fulmar.elbv2.deregister_targets(TargetGroupArn=tg, Targets=[env["leaving"].target])
    # Draining as soon as DeregisterTargets has answered (as on AWS), both in the list
    # and asked for by name, for the default delay of 300 s.
    draining = {env["leaving"].key: ("draining", "Target.DeregistrationInProgress")}
    assert target_states(fulmar.elbv2, tg) == draining
    assert target_states(fulmar.elbv2, tg, targets=[env["leaving"].target]) == draining


def test_deregistration_delay_ends_in_not_registered(fulmar, env):
    e, tg, quick = fulmar.elbv2, env["tgs"]["quick"], env["quick"]
    wait_target_states(e, tg, {quick.key: "healthy"})
    started = time.monotonic()
    e.deregister_targets(TargetGroupArn=tg, Targets=[quick.target])
    # Draining (deregistration_delay.timeout_seconds=QUICK_DELAY) from the moment the
    # call has answered.
    assert target_states(e, tg, targets=[quick.target]) == {quick.key: ("draining", "Target.DeregistrationInProgress")}

    def gone():
        named = target_states(e, tg, targets=[quick.target])
        listed = e.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        assert named == {quick.key: ("unused", "Target.NotRegistered")} and listed == [], (named, listed)
        return True

    # Then the delay runs out: not registered when asked for, and no longer listed.
    poll(gone, QUICK_DELAY + 20, 0.25, "the drained target to be gone")
    assert time.monotonic() - started >= QUICK_DELAY, "drained for the whole deregistration delay"


def test_unregistered_target_asked_explicitly(fulmar, env):
    states = target_states(fulmar.elbv2, env["tgs"]["ok"], targets=[{"Id": "127.0.0.1", "Port": 1}])
    assert states == {("127.0.0.1", 1): ("unused", "Target.NotRegistered")}


def test_target_group_without_load_balancer_is_not_in_use(fulmar, network, env):
    tg = create_ip_target_group(fulmar.elbv2, network.vpc_id)["TargetGroupArn"]
    fulmar.elbv2.register_targets(TargetGroupArn=tg, Targets=[env["ok"].target])
    assert target_states(fulmar.elbv2, tg) == {env["ok"].key: ("unused", "Target.NotInUse")}


# The fields of a health check log entry, in AWS's order.
HEALTH_LOG_FIELDS = ("type", "time", "latency", "target_addr", "target_group_id", "status",
                     "status_code", "reason_code", "elb", "ip_address")


def test_health_check_logs(fulmar, env):
    """health_check_logs.s3.*: every check of every target of the load balancer's groups,
    passed or failed with AWS's reason code, in a file named as ELB names it."""
    e, lb = fulmar.elbv2, env["lb"]
    bucket = fulmar.data_dir / "access-logs" / "health-logs"
    assert not bucket.exists(), "health check logs before they were enabled"
    e.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
        {"Key": "health_check_logs.s3.enabled", "Value": "true"},
        {"Key": "health_check_logs.s3.bucket", "Value": "health-logs"},
        {"Key": "health_check_logs.s3.prefix", "Value": "checks"},
    ])
    # With the matcher at 200-499 (test_matcher_can_accept_the_code), a 503 fails as a target error.
    env["bad"].health_status = 503
    ok_seen, bad_seen = len(env["ok"].health_checks), len(env["bad"].health_checks)
    # Two checks of each target after the change (interval 5 s); the slow one takes its 2 s timeout.
    poll(lambda: len(env["ok"].health_checks) >= ok_seen + 2 and len(env["bad"].health_checks) >= bad_seen + 2,
         30, 0.25, "two more health checks")
    time.sleep(2.5)
    fulmar.restart()  # delivers the open log files

    files = list((bucket / "checks" / "AWSLogs").rglob("*.log.gz"))
    assert files, "no health check log delivered"
    lines = []
    for f in files:
        assert re.fullmatch(
            r"health_check_log_\d{12}_elasticloadbalancing_us-east-1_app\.[^.]+\.[0-9a-f]+_\d{8}T\d{4}Z_[0-9.]+_[0-9a-z]{8}\.log\.gz",
            f.name,
        ), f.name
        assert f.parent.relative_to(bucket / "checks").parts[:4] == ("AWSLogs", "123456789012", "elasticloadbalancing", "us-east-1")
        lines += gzip.decompress(f.read_bytes()).decode().splitlines()
    entries = [dict(zip(HEALTH_LOG_FIELDS, line.split(" "))) for line in lines]
    assert all(len(line.split(" ")) == len(HEALTH_LOG_FIELDS) for line in lines), lines
    names = {tg["TargetGroupArn"]: tg["TargetGroupName"]
             for tg in e.describe_target_groups(TargetGroupArns=list(env["tgs"].values()))["TargetGroups"]}
    elb = lb["LoadBalancerArn"].split(":loadbalancer/")[1]
    for entry in entries:
        assert entry["type"] == "http", entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["time"]), entry
        assert re.fullmatch(r"\d+\.\d{9}", entry["latency"]), entry
        assert entry["elb"] == elb and entry["ip_address"] == lb_address(lb), entry
        assert entry["target_group_id"] in names.values(), entry

    def of(name, addr):
        mine = [x for x in entries if x["target_group_id"] == names[env["tgs"][name]] and x["target_addr"] == addr]
        assert mine, (name, addr, lines)
        return mine

    for x in of("ok", f"127.0.0.1:{env['ok'].port}"):
        assert (x["status"], x["status_code"], x["reason_code"]) == ("PASS", "200", "-"), x
    assert {(x["status"], x["status_code"], x["reason_code"]) for x in of("bad", f"127.0.0.1:{env['bad'].port}")} \
        >= {("FAIL", "503", "TargetError")}
    for x in of("slow", f"127.0.0.1:{env['slow'].port}"):
        assert (x["status"], x["status_code"], x["reason_code"]) == ("FAIL", "-", "TimedOut"), x
        assert 1.9 <= float(x["latency"]) < 3.0, x  # HealthCheckTimeoutSeconds=2
    for x in of("gone", f"127.0.0.1:{env['gone_port']}"):
        assert (x["status"], x["status_code"], x["reason_code"]) == ("FAIL", "-", "ConnectionReset"), x
