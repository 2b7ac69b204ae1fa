"""The load balancer's routing.http.* attributes, client_keep_alive.seconds, the idle
timeout on client connections, ALB's request-header limits and the listener's
routing.http.response.* header modification, as the data plane applies them.

Each load balancer here is built once per module and given its attributes through
the API (ModifyLoadBalancerAttributes / ModifyListenerAttributes); requests go over
raw sockets so that the exact bytes (Host, repeated headers, odd names, absolute
URIs) reach Fulmar as written, and the echoing backend reports what it received.
"""

import json
import socket
import time

import pytest
from botocore.exceptions import ClientError

from support import (
    create_alb,
    create_ip_target_group,
    create_listener,
    fixed,
    forward,
    lb_address,
    path_is,
    poll,
    wait_target_states,
)

PORT = 8080


def set_lb(e, lb, **attrs):
    e.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[{"Key": k, "Value": v} for k, v in attrs.items()]
    )


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory):
    e = fulmar.elbv2
    b = backend_factory("backend-h")
    tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=tg, Targets=[b.target])

    def lb_with(port=PORT, **attrs):
        lb = create_alb(e, network)
        if attrs:
            e.modify_load_balancer_attributes(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Attributes=[{"Key": k.replace("__", "."), "Value": v} for k, v in attrs.items()],
            )
        lis = create_listener(e, lb, port, forward(tg))["ListenerArn"]
        e.create_rule(ListenerArn=lis, Priority=10, Conditions=path_is("/fixed*"), Actions=fixed("200", "fixed"))
        return {"lb": lb, "addr": lb_address(lb), "port": port, "listener": lis}

    lbs = {
        "default": lb_with(),
        "preserve": lb_with(**{"routing.http.xff_header_processing.mode": "preserve"}),
        "remove": lb_with(**{"routing.http.xff_header_processing.mode": "remove"}),
        "client_port": lb_with(**{"routing.http.xff_client_port.enabled": "true"}),
        "preserve_host": lb_with(**{"routing.http.preserve_host_header.enabled": "true"}),
        "drop_invalid": lb_with(**{"routing.http.drop_invalid_header_fields.enabled": "true"}),
        "idle2": lb_with(**{"idle_timeout.timeout_seconds": "2"}),
        "port80": lb_with(port=80),
        "headers": lb_with(),
        "keepalive": lb_with(**{"client_keep_alive.seconds": "60"}),
    }
    e.modify_listener_attributes(
        ListenerArn=lbs["headers"]["listener"],
        Attributes=[
            {"Key": "routing.http.response.server.enabled", "Value": "false"},
            {
                "Key": "routing.http.response.strict_transport_security.header_value",
                "Value": "max-age=31536000; includeSubDomains",
            },
            {"Key": "routing.http.response.x_frame_options.header_value", "Value": "DENY"},
            {"Key": "routing.http.response.x_content_type_options.header_value", "Value": "nosniff"},
            {"Key": "routing.http.response.access_control_allow_origin.header_value", "Value": "https://example.com"},
        ],
    )
    wait_target_states(e, tg, {b.key: "healthy"})
    return {"e": e, "backend": b, "tg": tg, **lbs}


# --------------------------------------------------------------------------- #
# Raw HTTP/1.1 over a socket
# --------------------------------------------------------------------------- #


class Conn:
    """One client connection; sends raw heads and reads whole responses."""

    def __init__(self, addr, port, timeout=10.0):
        self.sock = socket.create_connection((addr, port), timeout=timeout)
        self.buf = b""

    @property
    def client_port(self):
        return self.sock.getsockname()[1]

    def send(self, head: str, body: bytes = b""):
        self.sock.sendall(head.encode("latin-1") + body)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = [(k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:])]
        length = int(dict(headers).get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return Reply(status, lines[0], headers, body.decode(errors="replace"))

    def closed_by_peer(self, wait: float) -> bool:
        """True when the server closes the connection within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


class Reply:
    def __init__(self, status, line, headers, body):
        self.status, self.line, self.headers, self.body = status, line, headers, body

    def header(self, name):
        return next((v for k, v in self.headers if k == name), None)

    def header_all(self, name):
        return [v for k, v in self.headers if k == name]

    def received(self, name):
        """Every copy of a header as the backend received it."""
        return [v for k, v in json.loads(self.body)["headers"] if k.lower() == name.lower()]


def request(lb, path="/", headers=(), host=None, target=None):
    c = Conn(lb["addr"], lb["port"])
    try:
        host = host if host is not None else f"{lb['addr']}:{lb['port']}"
        lines = [f"GET {target or path} HTTP/1.1", f"Host: {host}", *headers, "Connection: close"]
        c.send("\r\n".join(lines) + "\r\n\r\n")
        r = c.response()
        r.client_port = c.client_port
        return r
    finally:
        c.close()


# --------------------------------------------------------------------------- #
# X-Forwarded-For: routing.http.xff_header_processing.mode and xff_client_port
# --------------------------------------------------------------------------- #


def test_xff_append_is_the_default(env):
    r = request(env["default"], headers=["X-Forwarded-For: 10.0.0.1"])
    assert r.status == 200
    assert r.received("X-Forwarded-For") == ["10.0.0.1, 127.0.0.1"]
    r = request(env["default"])
    assert r.received("X-Forwarded-For") == ["127.0.0.1"]
    # X-Forwarded-Proto and -Port do not depend on the mode.
    assert r.received("X-Forwarded-Proto") == ["http"]
    assert r.received("X-Forwarded-Port") == [str(PORT)]


def test_xff_preserve_sends_the_clients_header_unchanged(env):
    r = request(env["preserve"], headers=["X-Forwarded-For: 10.0.0.1", "X-Forwarded-For: 10.0.0.2"])
    assert r.status == 200
    assert r.received("X-Forwarded-For") == ["10.0.0.1", "10.0.0.2"]
    r = request(env["preserve"])
    assert r.received("X-Forwarded-For") == []
    assert r.received("X-Forwarded-Port") == [str(PORT)]


def test_xff_remove_sends_none(env):
    r = request(env["remove"], headers=["X-Forwarded-For: 10.0.0.1"])
    assert r.status == 200
    assert r.received("X-Forwarded-For") == []
    assert r.received("X-Forwarded-Proto") == ["http"]


def test_xff_client_port(env):
    r = request(env["client_port"], headers=["X-Forwarded-For: 10.0.0.1"])
    assert r.received("X-Forwarded-For") == [f"10.0.0.1, 127.0.0.1:{r.client_port}"]
    r = request(env["client_port"])
    assert r.received("X-Forwarded-For") == [f"127.0.0.1:{r.client_port}"]


def test_xff_of_more_than_30_addresses_is_answered_463(env):
    b = env["backend"]
    thirty = ", ".join(f"10.0.0.{i}" for i in range(1, 31))
    r = request(env["default"], headers=[f"X-Forwarded-For: {thirty}"])
    assert r.status == 200
    assert r.received("X-Forwarded-For") == [thirty + ", 127.0.0.1"]
    before = len(b.requests)
    r = request(env["default"], path="/too-many", headers=[f"X-Forwarded-For: {thirty}, 10.0.1.1"])
    assert r.status == 463, r.line
    assert r.line.rstrip() == "HTTP/1.1 463", r.line  # no reason phrase, as ALB answers it
    assert r.header("server") == "awselb/2.0"
    assert not any(q["path"] == "/too-many" for q in b.requests[before:])
    # In preserve mode the header is not the load balancer's business.
    r = request(env["preserve"], headers=[f"X-Forwarded-For: {thirty}, 10.0.1.1"])
    assert r.status == 200


# --------------------------------------------------------------------------- #
# Host: routing.http.preserve_host_header.enabled
# --------------------------------------------------------------------------- #


def test_host_gets_the_listener_port_by_default(env):
    r = request(env["default"], host="example.com")
    assert r.received("Host") == [f"example.com:{PORT}"]
    r = request(env["default"], host=f"example.com:{PORT}")
    assert r.received("Host") == [f"example.com:{PORT}"]
    # An absolute request target names the host.
    r = request(env["default"], host="example.com", target="http://other.example/abs")
    assert r.received("Host") == [f"other.example:{PORT}"]
    assert json.loads(r.body)["path"] == "/abs"


def test_host_loses_its_port_on_listener_port_80(env):
    r = request(env["port80"], host="example.com:80")
    assert r.received("Host") == ["example.com"]
    r = request(env["port80"], host="example.com")
    assert r.received("Host") == ["example.com"]


def test_preserve_host_header_sends_host_unchanged(env):
    r = request(env["preserve_host"], host="example.com")
    assert r.received("Host") == ["example.com"]
    r = request(env["preserve_host"], host="example.com", target="http://other.example/abs")
    assert r.received("Host") == ["example.com"]


# --------------------------------------------------------------------------- #
# routing.http.drop_invalid_header_fields.enabled
# --------------------------------------------------------------------------- #


def test_invalid_header_fields_pass_by_default(env):
    r = request(env["default"], headers=["X_Under: 1", "X.Dot: 2", "X-Good: 3"])
    assert r.received("X_Under") == ["1"]
    assert r.received("X.Dot") == ["2"]
    assert r.received("X-Good") == ["3"]


def test_invalid_header_fields_dropped_when_enabled(env):
    r = request(env["drop_invalid"], headers=["X_Under: 1", "X.Dot: 2", "X-Good: 3", "X~Tilde: 4"])
    assert r.status == 200
    assert r.received("X_Under") == []
    assert r.received("X.Dot") == []
    assert r.received("X~Tilde") == []
    assert r.received("X-Good") == ["3"]


# --------------------------------------------------------------------------- #
# Request-header limits: 16 K request line, 16 K one header, 64 K in all
# --------------------------------------------------------------------------- #


def limited(env, path, headers=()):
    b = env["backend"]
    before = len(b.requests)
    r = request(env["default"], path=path, headers=headers)
    reached = any(q["path"].startswith(path[:20]) for q in b.requests[before:])
    return r, reached


def test_request_line_over_16k_is_400(env):
    r, reached = limited(env, "/long-" + "a" * 16_400)
    assert r.status == 400
    assert r.header("server") == "awselb/2.0"
    assert not reached
    r, reached = limited(env, "/long-" + "a" * 15_000)
    assert r.status == 200 and reached


def test_one_header_over_16k_is_400(env):
    r, reached = limited(env, "/one-big", headers=["X-Big: " + "b" * 16_400])
    assert r.status == 400 and not reached
    r, reached = limited(env, "/one-ok", headers=["X-Big: " + "b" * 15_000])
    assert r.status == 200 and reached


def test_whole_header_over_64k_is_400(env):
    five = [f"X-Big-{i}: " + "c" * 14_000 for i in range(5)]  # 70 K in all
    r, reached = limited(env, "/all-big", headers=five)
    assert r.status == 400 and not reached
    r, reached = limited(env, "/all-ok", headers=five[:4])  # 56 K
    assert r.status == 200 and reached


# --------------------------------------------------------------------------- #
# Listener attributes: routing.http.response.*
# --------------------------------------------------------------------------- #


def test_response_headers_added_to_every_response(env):
    for path in ("/", "/fixed"):
        r = request(env["headers"], path=path)
        assert r.status == 200
        assert r.header("strict-transport-security") == "max-age=31536000; includeSubDomains"
        assert r.header("x-frame-options") == "DENY"
        assert r.header("x-content-type-options") == "nosniff"
        assert r.header("access-control-allow-origin") == "https://example.com"
    # Without the attributes, none of them.
    r = request(env["default"], path="/fixed")
    assert r.header("strict-transport-security") is None
    assert r.header("x-frame-options") is None


def test_server_header_disabled(env):
    r = request(env["headers"], path="/fixed")
    assert r.header("server") is None
    r = request(env["default"], path="/fixed")
    assert r.header("server") == "awselb/2.0"
    # The target's own Server header is the target's business.
    r = request(env["headers"], path="/")
    assert r.header("server") is not None and "awselb" not in r.header("server")


def test_listener_attribute_values_are_checked(env):
    e = env["e"]
    for key, value in (
        ("routing.http.response.server.enabled", "maybe"),
        ("routing.http.response.x_content_type_options.header_value", "sniff"),
        ("routing.http.response.x_frame_options.header_value", "NEVER"),
        ("routing.http.response.access_control_allow_credentials.header_value", "false"),
        ("routing.http.response.access_control_max_age.header_value", "soon"),
    ):
        with pytest.raises(ClientError) as err:
            e.modify_listener_attributes(ListenerArn=env["default"]["listener"], Attributes=[{"Key": key, "Value": value}])
        assert err.value.response["Error"]["Code"] == "ValidationError", (key, value)


def test_load_balancer_attribute_values_are_checked(env):
    e = env["e"]
    lb = env["default"]["lb"]
    for key, value in (
        ("client_keep_alive.seconds", "59"),
        ("client_keep_alive.seconds", "604801"),
        ("idle_timeout.timeout_seconds", "0"),
        ("idle_timeout.timeout_seconds", "4001"),
        ("routing.http.xff_header_processing.mode", "replace"),
        ("routing.http.xff_client_port.enabled", "yes"),
        ("routing.http.preserve_host_header.enabled", "1"),
        ("routing.http.drop_invalid_header_fields.enabled", "TRUE"),
    ):
        with pytest.raises(ClientError) as err:
            set_lb(e, lb, **{key: value})
        assert err.value.response["Error"]["Code"] == "ValidationError", (key, value)
    attrs = {a["Key"]: a["Value"] for a in e.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert attrs["client_keep_alive.seconds"] == "3600"
    assert attrs["routing.http.xff_header_processing.mode"] == "append"


# --------------------------------------------------------------------------- #
# Client connections: idle timeout and client_keep_alive.seconds
# --------------------------------------------------------------------------- #


def keepalive_request(c, lb, path="/"):
    c.send(f"GET {path} HTTP/1.1\r\nHost: {lb['addr']}:{lb['port']}\r\n\r\n")
    return c.response()


def test_idle_client_connection_closed_after_idle_timeout(env):
    lb = env["idle2"]
    c = Conn(lb["addr"], lb["port"])
    try:
        assert keepalive_request(c, lb).status == 200
        start = time.monotonic()
        assert c.closed_by_peer(6.0), "an idle connection outlived a 2 s idle timeout"
        assert 1.5 <= time.monotonic() - start <= 5.0
    finally:
        c.close()
    # With the default 60 s, the same pause leaves the connection usable.
    lb = env["default"]
    c = Conn(lb["addr"], lb["port"])
    try:
        assert keepalive_request(c, lb).status == 200
        assert not c.closed_by_peer(3.0)
        c.sock.settimeout(10)
        assert keepalive_request(c, lb).status == 200
    finally:
        c.close()


def test_client_keep_alive_closes_after_its_duration(env):
    """client_keep_alive.seconds=60 (its minimum): requests before 60 s keep the
    connection; the first one after is answered with Connection: close, then closed."""
    lb = env["keepalive"]
    c = Conn(lb["addr"], lb["port"], timeout=20)
    try:
        start = time.monotonic()
        # Requests every 20 s keep the connection busy (under the 60 s idle timeout).
        while time.monotonic() - start < 55:
            r = keepalive_request(c, lb)
            assert r.status == 200
            assert r.header("connection") != "close", f"closed early at {time.monotonic() - start:.0f} s"
            time.sleep(min(20, max(0.1, 55 - (time.monotonic() - start))))
        time.sleep(max(0, 61 - (time.monotonic() - start)))
        r = keepalive_request(c, lb)
        assert r.status == 200
        assert r.header("connection") == "close"
        assert c.closed_by_peer(5.0)
    finally:
        c.close()


# --------------------------------------------------------------------------- #
# DescribeTargetHealth Include=AnomalyDetection
# --------------------------------------------------------------------------- #


def test_describe_target_health_reports_anomaly_detection(env, fulmar, network, backend_factory):
    e = fulmar.elbv2
    good = [backend_factory(f"wr-good-{i}") for i in range(2)]
    bad = backend_factory("wr-bad")
    tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.modify_target_group_attributes(
        TargetGroupArn=tg,
        Attributes=[
            {"Key": "load_balancing.algorithm.type", "Value": "weighted_random"},
            {"Key": "load_balancing.algorithm.anomaly_mitigation", "Value": "on"},
        ],
    )
    e.register_targets(TargetGroupArn=tg, Targets=[b.target for b in (*good, bad)])
    lb = create_alb(e, network)
    create_listener(e, lb, PORT, forward(tg))
    wait_target_states(e, tg, {b.key: "healthy" for b in (*good, bad)})

    def detections(group=tg, **kw):
        out = e.describe_target_health(TargetGroupArn=group, **kw)["TargetHealthDescriptions"]
        return {(d["Target"]["Id"], d["Target"]["Port"]): d.get("AnomalyDetection") for d in out}

    normal = {"Result": "normal", "MitigationInEffect": "no"}
    for include in (["AnomalyDetection"], ["All"]):
        assert list(detections(Include=include).values()) == [normal] * 3
    # Without Include, no AnomalyDetection at all.
    assert list(detections().values()) == [None] * 3

    bad.request_status = 500  # ordinary requests fail; health checks still pass
    target = {"addr": lb_address(lb), "port": PORT}
    for _ in range(200):
        request(target, path="/wr")

    def flagged():
        d = detections(Include=["AnomalyDetection"])
        return d if d[bad.key] == {"Result": "anomalous", "MitigationInEffect": "yes"} else None

    d = poll(flagged, 10, 0.2, "the failing target to be anomalous")
    for b in good:
        assert d[b.key] == normal

    with pytest.raises(ClientError) as err:
        e.describe_target_health(TargetGroupArn=tg, Include=["Everything"])
    assert err.value.response["Error"]["Code"] == "ValidationError"

    # A round-robin group has no anomaly detection to report.
    assert list(detections(env["tg"], Include=["All"]).values()) == [None]
