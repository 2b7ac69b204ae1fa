"""L5: how an ALB spreads requests over targets — least outstanding requests, weighted
random with anomaly mitigation, slow start — and the stickiness kinds beyond lb_cookie:
app_cookie (AWSALBAPP-n) and target-group stickiness of a weighted forward (AWSALBTG)."""

import collections
import http.cookiejar
import threading
import time

import pytest
import requests

from support import (
    create_alb,
    create_ip_target_group,
    create_listener,
    curl,
    fixed,
    lb_address,
    path_is,
    wait_target_states,
)

PORT = 8080


def _session():
    """A keep-alive client that never stores cookies (each test sends its own)."""
    s = requests.Session()
    s.trust_env = False
    s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return s


def _count(session, url, n, **kw):
    seen = collections.Counter()
    for _ in range(n):
        r = session.get(url, timeout=10, allow_redirects=False, **kw)
        seen[r.headers.get("X-Backend")] += 1
    return seen


def _set_cookies(resp):
    """Set-Cookie headers of a support.Response as {name: (value, attributes)}."""
    out = {}
    for line in resp.header_all("set-cookie"):
        first, _, attrs = line.partition(";")
        name, _, value = first.partition("=")
        out[name.strip()] = (value.strip(), attrs.strip().lower())
    return out


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory):
    e = fulmar.elbv2
    lb = create_alb(e, network)
    lis = create_listener(e, lb, PORT, fixed("404", "none"))["ListenerArn"]
    url = f"http://{lb_address(lb)}:{PORT}"
    prio = iter(range(1, 100))

    def group(path, backends, attributes=(), register=True):
        tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
        if attributes:
            e.modify_target_group_attributes(
                TargetGroupArn=tg, Attributes=[{"Key": k, "Value": v} for k, v in attributes]
            )
        if register:
            e.register_targets(TargetGroupArn=tg, Targets=[b.target for b in backends])
        e.create_rule(
            ListenerArn=lis,
            Priority=next(prio),
            Conditions=path_is(path),
            Actions=[{"Type": "forward", "TargetGroupArn": tg}],
        )
        return tg

    return {
        "e": e,
        "lis": lis,
        "url": url,
        "group": group,
        "prio": prio,
        "backend": backend_factory,
        "vpc_id": network.vpc_id,
    }


def test_least_outstanding_requests_avoids_the_busy_target(env):
    a, b = env["backend"]("lor-a"), env["backend"]("lor-b")
    tg = env["group"]("/lor*", [a, b], [("load_balancing.algorithm.type", "least_outstanding_requests")])
    wait_target_states(env["e"], tg, {a.key: "healthy", b.key: "healthy"})
    url = env["url"] + "/lor"
    # One slow request holds a target; while it is outstanding every new request goes
    # to the other one (round robin would alternate).
    slow = threading.Thread(target=lambda: _session().get(url + "?fulmar_sleep=3", timeout=10))
    slow.start()
    time.sleep(0.5)
    seen = _count(_session(), url, 8)
    slow.join()
    busy = {a.name, b.name} - set(seen)
    assert len(seen) == 1 and len(busy) == 1, seen
    # Once it is done, both targets serve again.
    seen = _count(_session(), url, 8)
    assert set(seen) == {a.name, b.name}, seen


def test_weighted_random_spreads_and_mitigates_an_anomalous_target(env):
    backends = [env["backend"](f"wr-{i}") for i in range(3)]
    on = env["group"](
        "/wr-on*",
        backends,
        [("load_balancing.algorithm.type", "weighted_random"), ("load_balancing.algorithm.anomaly_mitigation", "on")],
    )
    off = env["group"]("/wr-off*", backends, [("load_balancing.algorithm.type", "weighted_random")])
    states = {b.key: "healthy" for b in backends}
    wait_target_states(env["e"], on, states)
    wait_target_states(env["e"], off, states)
    s = _session()
    seen = _count(s, env["url"] + "/wr-on", 300)
    assert all(seen[b.name] >= 50 for b in backends), seen

    # One target answers 500 to every request (its health checks still pass): after
    # enough requests to judge it, mitigation sends it only a trickle.
    sick = backends[2]
    sick.request_status = 500
    try:
        _count(s, env["url"] + "/wr-on", 150)
        mitigated = _count(s, env["url"] + "/wr-on", 300)
        _count(s, env["url"] + "/wr-off", 150)
        unmitigated = _count(s, env["url"] + "/wr-off", 300)
    finally:
        sick.request_status = 200
    assert 0 < mitigated[sick.name] < 40, mitigated
    assert unmitigated[sick.name] >= 50, unmitigated


def test_slow_start_ramps_a_new_target_up(env):
    a, b = env["backend"]("ss-a"), env["backend"]("ss-b")
    tg = env["group"]("/ss*", [a], [("slow_start.duration_seconds", "30")])
    wait_target_states(env["e"], tg, {a.key: "healthy"})
    env["e"].register_targets(TargetGroupArn=tg, Targets=[b.target])
    wait_target_states(env["e"], tg, {b.key: "healthy"})
    healthy_at = time.monotonic()
    s = _session()
    early = _count(s, env["url"] + "/ss", 200)
    early_done = time.monotonic() - healthy_at
    # Its share is elapsed/30 s: a few percent in the first seconds, never half.
    assert early_done < 10, f"the early sample took {early_done:.1f} s"
    assert early[b.name] < 60, early
    time.sleep(max(0.0, 31 - (time.monotonic() - healthy_at)))
    late = _count(s, env["url"] + "/ss", 200)
    assert 70 <= late[b.name] <= 130, late


def test_app_cookie_stickiness(env):
    a, b = env["backend"]("app-a"), env["backend"]("app-b")
    tg = env["group"](
        "/app*",
        [a, b],
        [
            ("stickiness.enabled", "true"),
            ("stickiness.type", "app_cookie"),
            ("stickiness.app_cookie.cookie_name", "SESSION"),
            ("stickiness.app_cookie.duration_seconds", "120"),
        ],
    )
    wait_target_states(env["e"], tg, {a.key: "healthy", b.key: "healthy"})
    url = env["url"] + "/app"
    # No application cookie in the response: no AWSALBAPP, no stickiness.
    plain = curl(url)
    assert not any(k.startswith("AWSALB") for k in _set_cookies(plain)), plain.header_all("set-cookie")
    # The target sets SESSION: the load balancer adds AWSALBAPP-0 (and clears shards 1-3).
    first = curl(url + "?fulmar_set_cookie=SESSION=abc")
    cookies = _set_cookies(first)
    assert cookies["SESSION"][0] == "abc"
    assert cookies["AWSALBAPP-0"][0] not in ("", "_remove_")
    assert [cookies[f"AWSALBAPP-{i}"][0] for i in (1, 2, 3)] == ["_remove_"] * 3
    sealed = cookies["AWSALBAPP-0"][0]
    pinned = first.backend
    for _ in range(8):
        r = curl(url, headers=[f"Cookie: SESSION=abc; AWSALBAPP-0={sealed}"])
        assert r.backend == pinned
    # A forged value is ignored: requests are balanced again.
    seen = {curl(url, headers=[f"Cookie: AWSALBAPP-0=x{sealed}"]).backend for _ in range(6)}
    assert seen == {a.name, b.name}


def test_target_group_stickiness_on_weighted_forward(env):
    a, b = env["backend"]("tg-a"), env["backend"]("tg-b")
    e = env["e"]
    tgs = []
    for backend in (a, b):
        tg = create_ip_target_group(e, env["vpc_id"])["TargetGroupArn"]
        e.register_targets(TargetGroupArn=tg, Targets=[backend.target])
        tgs.append(tg)
    e.create_rule(
        ListenerArn=env["lis"],
        Priority=next(env["prio"]),
        Conditions=path_is("/tgs*"),
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": t, "Weight": 50} for t in tgs],
                    "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
                },
            }
        ],
    )
    for tg, backend in zip(tgs, (a, b)):
        wait_target_states(e, tg, {backend.key: "healthy"})
    url = env["url"] + "/tgs"
    first = curl(url)
    cookies = _set_cookies(first)
    assert cookies["AWSALBTG"][0] and cookies["AWSALBTGCORS"][0] == cookies["AWSALBTG"][0]
    assert "samesite=none" in cookies["AWSALBTGCORS"][1] and "secure" in cookies["AWSALBTGCORS"][1]
    pinned = first.backend
    for _ in range(10):
        assert curl(url, headers=[f"Cookie: AWSALBTG={cookies['AWSALBTG'][0]}"]).backend == pinned
    # Without the cookie both groups serve.
    assert {curl(url).backend for _ in range(12)} == {a.name, b.name}

