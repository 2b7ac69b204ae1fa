"""SC1 and L5/L8: two backends behind one ALB answer alternately; health checks steer traffic."""

import pytest

from support import (
    backends_seen,
    create_alb,
    create_ip_target_group,
    create_listener,
    curl,
    forward,
    lb_address,
    poll,
    wait_target_states,
)

PORT = 8080


@pytest.fixture(scope="module")
def sc1(fulmar, network, backend_factory):
    a = backend_factory("backend-a")
    b = backend_factory("backend-b")
    tg = create_ip_target_group(fulmar.elbv2, network.vpc_id)
    fulmar.elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[a.target, b.target])
    lb = create_alb(fulmar.elbv2, network)
    create_listener(fulmar.elbv2, lb, PORT, forward(tg["TargetGroupArn"]))
    return {"a": a, "b": b, "tg": tg["TargetGroupArn"], "url": f"http://{lb_address(lb)}:{PORT}", "lb": lb}


@pytest.fixture
def healthy(fulmar, sc1):
    """Both backends up and reported healthy before the test; restored after."""
    for b in (sc1["a"], sc1["b"]):
        b.reset()
    wait_target_states(fulmar.elbv2, sc1["tg"], {sc1["a"].key: "healthy", sc1["b"].key: "healthy"})
    yield sc1
    for b in (sc1["a"], sc1["b"]):
        b.reset()


def test_two_backends_answer_alternately(healthy):
    # Through curl, as in the scenario.
    seen = []
    for _ in range(10):
        r = curl(healthy["url"] + "/")
        assert r.status == 200
        seen.append(r.backend)
    assert sorted(set(seen)) == ["backend-a", "backend-b"]
    assert seen.count("backend-a") == 5
    assert all(x != y for x, y in zip(seen, seen[1:])), f"round robin must alternate: {seen}"


def test_health_checks_use_the_configured_path(healthy):
    for b in (healthy["a"], healthy["b"]):
        assert b.health_checks, f"{b.name} never saw a health check"
        assert all(h["path"] == "/health" and h["method"] == "GET" for h in b.health_checks)
        agents = {dict((k.lower(), v) for k, v in h["headers"]).get("user-agent") for h in b.health_checks}
        assert agents == {"ELB-HealthChecker/2.0"}, agents


def test_unhealthy_target_gets_no_traffic_then_returns(fulmar, healthy):
    a, b = healthy["a"], healthy["b"]
    a.health_status = 500
    wait_target_states(
        fulmar.elbv2, healthy["tg"], {a.key: ("unhealthy", "Target.ResponseCodeMismatch"), b.key: "healthy"}
    )
    assert backends_seen(healthy["url"] + "/", 10) == ["backend-b"] * 10
    # It comes back once it passes HealthyThresholdCount checks again.
    a.health_status = 200
    wait_target_states(fulmar.elbv2, healthy["tg"], {a.key: "healthy", b.key: "healthy"})
    assert set(backends_seen(healthy["url"] + "/", 10)) == {"backend-a", "backend-b"}


def test_stopped_instance_only_the_other_answers(fulmar, healthy):
    a, b = healthy["a"], healthy["b"]
    b.stop()  # the instance is gone: connections are refused
    wait_target_states(fulmar.elbv2, healthy["tg"], {b.key: "unhealthy", a.key: "healthy"})
    seen = []
    for _ in range(10):
        r = curl(healthy["url"] + "/anything")
        assert r.status == 200, r
        seen.append(r.backend)
    assert seen == ["backend-a"] * 10


def test_fail_open_when_every_target_is_unhealthy(fulmar, healthy):
    a, b = healthy["a"], healthy["b"]
    a.health_status = 500
    b.health_status = 503
    wait_target_states(fulmar.elbv2, healthy["tg"], {a.key: "unhealthy", b.key: "unhealthy"})
    # AWS: with only unhealthy targets, the load balancer routes to all of them.
    seen = backends_seen(healthy["url"] + "/", 10)
    assert set(seen) == {"backend-a", "backend-b"}


def test_deregistered_target_gets_no_new_requests(fulmar, healthy):
    e = fulmar.elbv2
    a, b = healthy["a"], healthy["b"]
    e.modify_target_group_attributes(
        TargetGroupArn=healthy["tg"], Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "1"}]
    )
    try:
        e.deregister_targets(TargetGroupArn=healthy["tg"], Targets=[a.target])
        # Draining targets get no new requests; allow a moment for the change to reach the data plane.
        poll(lambda: backends_seen(healthy["url"] + "/", 4) == ["backend-b"] * 4, 2, 0.02, "a to stop receiving")
        assert backends_seen(healthy["url"] + "/", 10) == ["backend-b"] * 10
        wait_target_states(e, healthy["tg"], {a.key: ("unused", "Target.NotRegistered")}, timeout=15, targets=[a.target])
        # Registered again, it is checked and comes back.
        e.register_targets(TargetGroupArn=healthy["tg"], Targets=[a.target])
        wait_target_states(e, healthy["tg"], {a.key: "healthy", b.key: "healthy"})
        assert set(backends_seen(healthy["url"] + "/", 10)) == {"backend-a", "backend-b"}
    finally:
        e.register_targets(TargetGroupArn=healthy["tg"], Targets=[a.target])
        e.modify_target_group_attributes(
            TargetGroupArn=healthy["tg"], Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "300"}]
        )
