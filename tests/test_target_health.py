"""DescribeTargetHealth states and reason codes as AWS reports them."""

import time

import pytest

from support import (
    create_alb,
    create_ip_target_group,
    create_listener,
    fixed,
    forward,
    free_port,
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
    return {"tgs": tgs, "ok": ok, "bad": bad, "slow": slow, "leaving": leaving, "quick": quick, "unhurried": unhurried, "gone_port": gone_port}


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
