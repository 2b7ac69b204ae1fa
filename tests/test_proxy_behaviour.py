"""L6 and the ALB's own answers: forwarded headers, trace ids, lb_cookie stickiness,
502 / 503 / 504 / 400 as AWS gives them."""

import re
import socket
import time

import pytest

from support import (
    create_alb,
    create_ip_target_group,
    create_listener,
    curl,
    fixed,
    forward,
    free_port,
    lb_address,
    path_is,
    poll,
    wait_target_states,
)

PORT = 8080


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory):
    e = fulmar.elbv2
    p = backend_factory("backend-p")
    q = backend_factory("backend-q")

    plain = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=plain, Targets=[p.target])

    sticky = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=sticky, Targets=[p.target, q.target])
    e.modify_target_group_attributes(
        TargetGroupArn=sticky,
        Attributes=[{"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "lb_cookie"}],
    )

    # A second sticky group whose targets a test deregisters.
    r_, s_ = backend_factory("backend-r"), backend_factory("backend-s")
    sticky2 = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=sticky2, Targets=[r_.target, s_.target])
    e.modify_target_group_attributes(
        TargetGroupArn=sticky2,
        Attributes=[
            {"Key": "stickiness.enabled", "Value": "true"},
            {"Key": "deregistration_delay.timeout_seconds", "Value": "0"},
        ],
    )

    empty = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]

    dead_port = free_port()  # nothing listens here
    dead = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=dead, Targets=[{"Id": "127.0.0.1", "Port": dead_port}])

    lb = create_alb(e, network)
    lis = create_listener(e, lb, PORT, forward(plain))["ListenerArn"]
    for prio, path, tg in ((10, "/sticky*", sticky), (15, "/gone-sticky*", sticky2), (20, "/empty*", empty), (30, "/dead*", dead)):
        e.create_rule(ListenerArn=lis, Priority=prio, Conditions=path_is(path), Actions=forward(tg))

    # A second load balancer with a short idle timeout, for 504.
    slow_lb = create_alb(e, network)
    e.modify_load_balancer_attributes(
        LoadBalancerArn=slow_lb["LoadBalancerArn"], Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "2"}]
    )
    create_listener(e, slow_lb, PORT, forward(plain))

    wait_target_states(e, plain, {p.key: "healthy"})
    wait_target_states(e, sticky, {p.key: "healthy", q.key: "healthy"})
    wait_target_states(e, sticky2, {r_.key: "healthy", s_.key: "healthy"})
    return {
        "p": p, "q": q, "r": r_, "s": s_, "sticky2": sticky2, "dead": dead, "dead_port": dead_port,
        "url": f"http://{lb_address(lb)}:{PORT}", "addr": lb_address(lb),
        "slow_url": f"http://{lb_address(slow_lb)}:{PORT}",
    }


# --------------------------------------------------------------------------- forwarded headers


def test_x_forwarded_headers(env):
    r = curl(env["url"] + "/hdr", interface="127.0.0.9")
    assert r.status == 200 and r.backend == "backend-p"
    assert r.received_header("X-Forwarded-For") == "127.0.0.9"
    assert r.received_header("X-Forwarded-Proto") == "http"
    assert r.received_header("X-Forwarded-Port") == str(PORT)


def test_x_forwarded_for_appends(env):
    r = curl(env["url"] + "/hdr", interface="127.0.0.9", headers=["X-Forwarded-For: 203.0.113.7"])
    assert r.received_header("X-Forwarded-For") == "203.0.113.7, 127.0.0.9"


def test_target_sees_the_load_balancer_as_peer(env):
    # The LB terminates the client connection and opens its own to the target.
    r = curl(env["url"] + "/peer", interface="127.0.0.9")
    assert r.json()["client"] != "127.0.0.9"


def test_trace_id_is_added(env):
    before = int(time.time())
    r = curl(env["url"] + "/trace")
    trace = r.received_header("X-Amzn-Trace-Id")
    assert trace, "no X-Amzn-Trace-Id reached the target"
    m = re.fullmatch(r"Root=1-([0-9a-f]{8})-([0-9a-f]{24})", trace)
    assert m, trace
    assert abs(int(m.group(1), 16) - before) < 300  # the epoch seconds of the request
    other = curl(env["url"] + "/trace").received_header("X-Amzn-Trace-Id")
    assert other != trace


def test_trace_id_root_from_client_is_kept(env):
    root = "Root=1-5759e988-bd862e3fe1be46a994272793"
    trace = curl(env["url"] + "/trace", headers=[f"X-Amzn-Trace-Id: {root}"]).received_header("X-Amzn-Trace-Id")
    # AWS keeps the Root and adds a Self field: "Self=1-...;Root=1-..."
    fields = trace.split(";")
    assert root in fields, trace
    assert any(re.fullmatch(r"Self=1-[0-9a-f]{8}-[0-9a-f]{24}", f) for f in fields), trace


def test_method_body_and_query_reach_the_target(env):
    r = curl(env["url"] + "/submit?a=1&b=%20x", method="POST", data="payload=42", headers=["Content-Type: text/plain"])
    assert r.status == 200
    echo = r.json()
    assert echo["method"] == "POST"
    assert echo["path"] == "/submit?a=1&b=%20x"
    assert echo["body"] == "payload=42"


def test_response_headers_from_target_reach_client(env):
    r = curl(env["url"] + "/h")
    assert r.header("x-backend") == "backend-p"
    assert r.header("content-type") == "application/json"


# --------------------------------------------------------------------------- stickiness


def _cookies(resp):
    """name -> (value, attributes lower-cased) from the Set-Cookie headers."""
    out = {}
    for sc in resp.header_all("set-cookie"):
        first, _, attrs = sc.partition(";")
        name, _, value = first.partition("=")
        out[name.strip()] = (value.strip(), attrs.lower())
    return out


def test_without_cookie_requests_are_balanced(env):
    seen = {curl(env["url"] + "/sticky").backend for _ in range(10)}
    assert seen == {"backend-p", "backend-q"}


def test_lb_cookie_is_set(env):
    r = curl(env["url"] + "/sticky")
    cookies = _cookies(r)
    assert "AWSALB" in cookies and "AWSALBCORS" in cookies, r.header_all("set-cookie")
    assert cookies["AWSALB"][0], "empty AWSALB value"
    assert cookies["AWSALBCORS"][0] == cookies["AWSALB"][0]
    cors_attrs = cookies["AWSALBCORS"][1]
    assert "samesite=none" in cors_attrs and "secure" in cors_attrs, cors_attrs
    assert "expires=" in cookies["AWSALB"][1] and "path=/" in cookies["AWSALB"][1]


def test_cookie_holds_the_client(env):
    first = curl(env["url"] + "/sticky")
    cookie = _cookies(first)["AWSALB"][0]
    for _ in range(10):
        r = curl(env["url"] + "/sticky", headers=[f"Cookie: AWSALB={cookie}"])
        assert r.status == 200
        assert r.backend == first.backend
        assert "AWSALB" in _cookies(r)  # refreshed on every response


def test_cors_cookie_alone_holds_the_client(env):
    first = curl(env["url"] + "/sticky")
    cookie = _cookies(first)["AWSALBCORS"][0]
    seen = {curl(env["url"] + "/sticky", headers=[f"Cookie: AWSALBCORS={cookie}"]).backend for _ in range(6)}
    assert seen == {first.backend}


def test_tampered_cookie_is_rebalanced_with_a_new_cookie(env):
    cookie = _cookies(curl(env["url"] + "/sticky"))["AWSALB"][0]
    flip = "A" if cookie[len(cookie) // 2] != "A" else "B"
    bad = cookie[: len(cookie) // 2] + flip + cookie[len(cookie) // 2 + 1 :]
    seen = []
    for _ in range(10):
        r = curl(env["url"] + "/sticky", headers=[f"Cookie: AWSALB={bad}"])
        assert r.status == 200
        seen.append(r.backend)
        new = _cookies(r).get("AWSALB")
        assert new and new[0] != bad, "a bad cookie must be replaced"
    assert set(seen) == {"backend-p", "backend-q"}, seen


def test_cookie_for_a_deregistered_target_repicks(fulmar, env):
    first = curl(env["url"] + "/gone-sticky")
    cookie = _cookies(first)["AWSALB"][0]
    pinned = env["r"] if first.backend == "backend-r" else env["s"]
    other = "backend-s" if pinned is env["r"] else "backend-r"
    fulmar.elbv2.deregister_targets(TargetGroupArn=env["sticky2"], Targets=[pinned.target])
    try:
        def moved():
            r = curl(env["url"] + "/gone-sticky", headers=[f"Cookie: AWSALB={cookie}"])
            assert r.status == 200, r
            return r if r.backend == other else None

        r = poll(moved, 5, 0.05, "the cookie's gone target to be replaced")
        new = _cookies(r)["AWSALB"][0]
        assert new != cookie
        # The new cookie now holds the client on the remaining target.
        for _ in range(5):
            assert curl(env["url"] + "/gone-sticky", headers=[f"Cookie: AWSALB={new}"]).backend == other
    finally:
        fulmar.elbv2.register_targets(TargetGroupArn=env["sticky2"], Targets=[pinned.target])


def test_garbage_cookie_is_ignored(env):
    r = curl(env["url"] + "/sticky", headers=["Cookie: AWSALB=not-a-real-cookie; other=1"])
    assert r.status == 200
    assert r.backend in ("backend-p", "backend-q")
    assert _cookies(r)["AWSALB"][0] != "not-a-real-cookie"


def test_no_cookie_when_stickiness_is_off(env):
    r = curl(env["url"] + "/plain")
    assert r.status == 200
    assert "AWSALB" not in _cookies(r)


# --------------------------------------------------------------------------- the LB's own errors


def test_503_when_target_group_has_no_targets(env):
    r = curl(env["url"] + "/empty")
    assert r.status == 503
    assert r.backend is None


def test_502_when_target_refuses_connections(fulmar, env):
    # Wait until the dead target is reported unhealthy; fail-open still sends to it.
    wait_target_states(fulmar.elbv2, env["dead"], {("127.0.0.1", env["dead_port"]): "unhealthy"})
    r = curl(env["url"] + "/dead")
    assert r.status == 502
    assert r.backend is None


def test_504_when_target_is_slower_than_idle_timeout(env):
    start = time.monotonic()
    r = curl(env["slow_url"] + "/slow?fulmar_sleep=5", timeout=15)
    elapsed = time.monotonic() - start
    assert r.status == 504
    assert elapsed < 4.5, f"the LB should give up after its 2 s idle timeout, took {elapsed:.1f}s"


def test_fast_request_through_short_idle_timeout(env):
    r = curl(env["slow_url"] + "/fast?fulmar_sleep=0.2")
    assert r.status == 200 and r.backend == "backend-p"


def test_400_for_malformed_request(env):
    with socket.create_connection((env["addr"], PORT), timeout=5) as s:
        s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        data = b""
        s.settimeout(5)
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    assert re.match(rb"HTTP/1\.[01] 400", data), data[:200]


def test_load_balancer_answers_keep_its_server_header_shape(env):
    r = curl(env["url"] + "/empty")
    # AWS's own answers carry Server: awselb/2.0
    assert r.header("server") == "awselb/2.0"
