"""Protocols through the ALB: WebSockets, HTTP/2 to targets (ProtocolVersion HTTP2),
gRPC target groups (ProtocolVersion GRPC) with gRPC health checks, and HTTP/2
clients with prior knowledge on an HTTP listener (a local convenience: AWS speaks
HTTP/2 and gRPC to clients only on HTTPS listeners, which Fulmar does not serve yet).

Backends are real servers in this process: a `websockets` server, an HTTP/2 server
built on the `h2` protocol library, and a `grpcio` server with a generic handler.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from concurrent import futures
from http import HTTPStatus

import grpc
import h2.config
import h2.connection
import h2.events
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.sync.server import serve as ws_serve

from support import (
    connection_log_entries,
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
    uniq,
    wait_target_states,
)

PORT = 8080


# --------------------------------------------------------------------------- #
# Backends
# --------------------------------------------------------------------------- #


class WsBackend:
    """A WebSocket server, by the path's last segment: .../chat broadcasts to every chat
    client, .../headers sends the upgrade request's headers as JSON, .../reject refuses
    with 403, .../health answers 200 (plain HTTP, for the health checker); any other
    path echoes."""

    def __init__(self):
        self.port = free_port()
        self.lock = threading.Lock()
        self.chat: set = set()
        self.closed: list = []  # request paths (with query) of connections that ended
        self.server = ws_serve(self.handle, "127.0.0.1", self.port, process_request=self.process_request)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def target(self):
        return {"Id": "127.0.0.1", "Port": self.port}

    def process_request(self, connection, request):
        path = request.path.split("?")[0]
        if path.endswith("/health"):
            return connection.respond(HTTPStatus.OK, "ok\n")
        if path.endswith("/reject"):
            return connection.respond(HTTPStatus.FORBIDDEN, "no websocket for you\n")
        return None

    def handle(self, ws):
        path = ws.request.path.split("?")[0]
        try:
            if path.endswith("/headers"):
                ws.send(json.dumps(dict(ws.request.headers.raw_items())))
                ws.recv()  # until the client closes
            elif path.endswith("/chat"):
                with self.lock:
                    self.chat.add(ws)
                for message in ws:
                    with self.lock:
                        peers = list(self.chat)
                    for peer in peers:
                        try:
                            peer.send(message)
                        except ConnectionClosed:
                            pass
            else:
                for message in ws:
                    ws.send(message)
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                self.chat.discard(ws)
                self.closed.append(ws.request.path)

    def stop(self):
        self.server.shutdown()


class H2Backend:
    """A plain-HTTP/2 server (h2c, prior knowledge) built on the `h2` library. Every
    request is answered 200 with JSON naming the protocol it arrived over; a client
    that does not open with the HTTP/2 preface is counted in `not_h2` and dropped."""

    def __init__(self, name: str):
        self.name = name
        self.port = free_port()
        self.requests: list = []
        self.not_h2 = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        self.running = True
        threading.Thread(target=self.accept_loop, daemon=True).start()

    @property
    def target(self):
        return {"Id": "127.0.0.1", "Port": self.port}

    def accept_loop(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, sock):
        h2conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        h2conn.initiate_connection()
        sock.sendall(h2conn.data_to_send())
        streams: dict = {}
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                try:
                    events = h2conn.receive_data(data)
                except Exception as e:  # not HTTP/2 (an HTTP/1.1 request, say)
                    print(f"{self.name}: not HTTP/2: {e!r}")
                    with self.lock:
                        self.not_h2 += 1
                    return
                for ev in events:
                    if isinstance(ev, h2.events.RequestReceived):
                        headers = [(k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                                   for k, v in ev.headers]
                        streams[ev.stream_id] = {"headers": headers, "body": b""}
                    elif isinstance(ev, h2.events.DataReceived):
                        streams[ev.stream_id]["body"] += ev.data
                        h2conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        self.respond(h2conn, ev.stream_id, streams.pop(ev.stream_id))
                sock.sendall(h2conn.data_to_send())
        except OSError:
            return
        finally:
            sock.close()

    def respond(self, h2conn, stream_id, req):
        pseudo = {k: v for k, v in req["headers"] if k.startswith(":")}
        record = {
            "backend": self.name,
            "http_version": "2",
            "method": pseudo.get(":method"),
            "path": pseudo.get(":path"),
            "scheme": pseudo.get(":scheme"),
            "authority": pseudo.get(":authority"),
            "headers": [[k, v] for k, v in req["headers"] if not k.startswith(":")],
            # The body's size and digest (the answer stays within one HTTP/2 frame).
            "body_len": len(req["body"]),
            "body_sha256": hashlib.sha256(req["body"]).hexdigest(),
        }
        with self.lock:
            self.requests.append(record)
        body = json.dumps(record).encode()
        h2conn.send_headers(
            stream_id,
            [(":status", "200"), ("content-type", "application/json"), ("content-length", str(len(body))),
             ("x-backend", self.name)],
        )
        h2conn.send_data(stream_id, body, end_stream=True)

    def stop(self):
        self.running = False
        self.sock.close()


class GrpcBackend:
    """A gRPC server without generated code: service test.Echo with Say (echoes the
    request bytes with the metadata it saw), Fail (aborts NOT_FOUND) and Health
    (answers OK); any other method is UNIMPLEMENTED (status 12)."""

    def __init__(self, name: str):
        self.name = name
        self.calls: list = []
        self.lock = threading.Lock()
        handler = grpc.method_handlers_generic_handler(
            "test.Echo",
            {
                "Say": grpc.unary_unary_rpc_method_handler(self.say),
                "Fail": grpc.unary_unary_rpc_method_handler(self.fail),
                "Health": grpc.unary_unary_rpc_method_handler(self.health),
            },
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def target(self):
        return {"Id": "127.0.0.1", "Port": self.port}

    def record(self, method, context):
        md = {k: v for k, v in context.invocation_metadata()}
        with self.lock:
            self.calls.append((method, md))
        return md

    def say(self, request: bytes, context) -> bytes:
        md = self.record("Say", context)
        return json.dumps({"backend": self.name, "echo": request.decode(), "metadata": md}).encode()

    def fail(self, request: bytes, context) -> bytes:
        self.record("Fail", context)
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    def health(self, request: bytes, context) -> bytes:
        self.record("Health", context)
        return b""

    def stop(self):
        self.server.stop(0)


# --------------------------------------------------------------------------- #
# The load balancer
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def env(fulmar, network):
    e = fulmar.elbv2
    ws = WsBackend()
    h2a, h2b = H2Backend("h2-a"), H2Backend("h2-b")
    rpc = GrpcBackend("grpc-a")

    lb = create_alb(e, network)
    e.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": "protocol-logs"},
            {"Key": "connection_logs.s3.enabled", "Value": "true"},
            {"Key": "connection_logs.s3.bucket", "Value": "protocol-logs"},
            {"Key": "connection_logs.s3.prefix", "Value": "connections"},
        ],
    )
    lis = create_listener(e, lb, PORT, fixed("404", "no rule matched"))["ListenerArn"]

    ws_tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=ws_tg, Targets=[ws.target])
    e.create_rule(ListenerArn=lis, Priority=10, Conditions=path_is("/ws/*"), Actions=forward(ws_tg))

    h2_tg = create_ip_target_group(e, network.vpc_id, ProtocolVersion="HTTP2")["TargetGroupArn"]
    e.register_targets(TargetGroupArn=h2_tg, Targets=[h2a.target, h2b.target])
    e.create_rule(ListenerArn=lis, Priority=20, Conditions=path_is("/h2/*"), Actions=forward(h2_tg))

    # gRPC: the defaults (path /AWS.ALB/healthcheck, GrpcCode 12) — healthy, since the
    # server answers UNIMPLEMENTED for a method it does not have.
    grpc_tg = e.create_target_group(
        Name=uniq("grpc"), Protocol="HTTP", ProtocolVersion="GRPC", Port=50051, VpcId=network.vpc_id,
        TargetType="ip", HealthCheckIntervalSeconds=5, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
        HealthCheckTimeoutSeconds=2,
    )["TargetGroups"][0]
    e.register_targets(TargetGroupArn=grpc_tg["TargetGroupArn"], Targets=[rpc.target])
    e.create_rule(ListenerArn=lis, Priority=30, Conditions=path_is("/test.Echo/*"),
                  Actions=forward(grpc_tg["TargetGroupArn"]))

    # gRPC, expecting OK (0) from the default path: UNIMPLEMENTED (12) does not match.
    grpc_bad = e.create_target_group(
        Name=uniq("grpc-bad"), Protocol="HTTP", ProtocolVersion="GRPC", Port=50051, VpcId=network.vpc_id,
        TargetType="ip", HealthCheckIntervalSeconds=5, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
        HealthCheckTimeoutSeconds=2, Matcher={"GrpcCode": "0"},
    )["TargetGroups"][0]["TargetGroupArn"]
    e.register_targets(TargetGroupArn=grpc_bad, Targets=[rpc.target])
    e.create_rule(ListenerArn=lis, Priority=40, Conditions=path_is("/bad.Echo/*"), Actions=forward(grpc_bad))

    # gRPC, a real health method answering OK, matched by a range.
    grpc_ok = e.create_target_group(
        Name=uniq("grpc-ok"), Protocol="HTTP", ProtocolVersion="GRPC", Port=50051, VpcId=network.vpc_id,
        TargetType="ip", HealthCheckIntervalSeconds=5, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
        HealthCheckTimeoutSeconds=2, HealthCheckPath="/test.Echo/Health", Matcher={"GrpcCode": "0-1"},
    )["TargetGroups"][0]["TargetGroupArn"]
    e.register_targets(TargetGroupArn=grpc_ok, Targets=[rpc.target])
    e.create_rule(ListenerArn=lis, Priority=50, Conditions=path_is("/ok.Echo/*"), Actions=forward(grpc_ok))

    addr = lb_address(lb)
    yield {
        "lb": lb, "addr": addr, "listener": lis, "ws": ws, "h2a": h2a, "h2b": h2b, "rpc": rpc,
        "ws_tg": ws_tg, "h2_tg": h2_tg, "grpc_tg": grpc_tg, "grpc_bad": grpc_bad, "grpc_ok": grpc_ok,
        "base": f"http://{addr}:{PORT}",
    }
    ws.stop()
    h2a.stop()
    h2b.stop()
    rpc.stop()


# --------------------------------------------------------------------------- #
# WebSockets
# --------------------------------------------------------------------------- #


def ws_url(env, path):
    return f"ws://{env['addr']}:{PORT}{path}"


def test_websocket_echo_text_binary_and_large(env):
    with ws_connect(ws_url(env, "/ws/echo"), open_timeout=5, close_timeout=2) as ws:
        ws.send("hello through the ALB")
        assert ws.recv(timeout=5) == "hello through the ALB"
        ws.send(b"\x00\x01binary\xff")
        assert ws.recv(timeout=5) == b"\x00\x01binary\xff"
        big = bytes(range(256)) * 4096  # 1 MiB
        ws.send(big)
        assert ws.recv(timeout=10) == big
        for i in range(50):
            ws.send(f"m{i}")
        assert [ws.recv(timeout=5) for _ in range(50)] == [f"m{i}" for i in range(50)]


def test_websocket_upgrade_reaches_target_with_forwarded_headers(env):
    with ws_connect(ws_url(env, "/ws/headers"), open_timeout=5, close_timeout=2) as ws:
        seen = {k.lower(): v for k, v in json.loads(ws.recv(timeout=5)).items()}
        assert seen["upgrade"].lower() == "websocket"
        assert "upgrade" in seen["connection"].lower()
        assert seen["sec-websocket-key"]
        assert seen["x-forwarded-for"] == "127.0.0.1"
        assert seen["x-forwarded-port"] == str(PORT)
        assert seen["x-forwarded-proto"] == "http"
        assert seen["x-amzn-trace-id"].startswith("Root=1-")


def test_websocket_chat_between_two_clients(env):
    with ws_connect(ws_url(env, "/ws/chat"), open_timeout=5) as alice, \
            ws_connect(ws_url(env, "/ws/chat"), open_timeout=5) as bob:
        poll(lambda: len(env["ws"].chat) >= 2, 5, what="both chat clients connected")
        alice.send("hi bob")
        assert bob.recv(timeout=5) == "hi bob"
        assert alice.recv(timeout=5) == "hi bob"
        bob.send("hi alice")
        assert alice.recv(timeout=5) == "hi alice"
        assert bob.recv(timeout=5) == "hi alice"


def test_websocket_close_reaches_target(env):
    path = f"/ws/echo?id={uniq('close')}"
    with ws_connect(ws_url(env, path), open_timeout=5, close_timeout=2) as ws:
        ws.send("bye")
        assert ws.recv(timeout=5) == "bye"
        assert path not in env["ws"].closed
    poll(lambda: path in env["ws"].closed, 5, what="the target to see the client close")


def test_websocket_refused_by_target_is_passed_on(env):
    with pytest.raises(InvalidStatus) as exc:
        ws_connect(ws_url(env, "/ws/reject"), open_timeout=5)
    assert exc.value.response.status_code == 403


def test_plain_http_still_works_on_the_websocket_group(env):
    r = curl(f"{env['base']}/ws/health")
    assert r.status == 200 and r.body == "ok\n"


def test_websocket_closed_after_idle_timeout(fulmar, network, env):
    e = fulmar.elbv2
    lb = create_alb(e, network)
    e.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "2"}]
    )
    create_listener(e, lb, PORT, forward(env["ws_tg"]))
    with ws_connect(f"ws://{lb_address(lb)}:{PORT}/ws/echo", open_timeout=5, ping_interval=None) as ws:
        ws.send("still here")
        assert ws.recv(timeout=5) == "still here"
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        waited = time.monotonic() - started
    assert 1.5 <= waited <= 6, f"closed after {waited:.1f}s of silence; idle timeout is 2s"


# --------------------------------------------------------------------------- #
# HTTP/2 to targets
# --------------------------------------------------------------------------- #


def test_http2_targets_receive_http2(env):
    h2a, h2b = env["h2a"], env["h2b"]
    seen = set()
    for i in range(6):
        r = curl(f"{env['base']}/h2/item?n={i}", host="shop.example.com")
        assert r.status == 200, r.body
        data = r.json()
        assert data["http_version"] == "2"
        assert data["method"] == "GET" and data["path"] == f"/h2/item?n={i}"
        assert data["scheme"] == "http"
        assert data["authority"] == f"shop.example.com:{PORT}"  # the listener port appended, as ALB does
        headers = {k: v for k, v in data["headers"]}
        assert headers["x-forwarded-for"] == "127.0.0.1"
        assert headers["x-forwarded-proto"] == "http"
        assert headers["x-amzn-trace-id"].startswith("Root=1-")
        assert "connection" not in headers and "host" not in headers
        seen.add(data["backend"])
    assert seen == {"h2-a", "h2-b"}, "round robin over both HTTP/2 targets"
    assert h2a.not_h2 == 0 and h2b.not_h2 == 0, "a target got something other than HTTP/2"


def test_http2_request_body_is_forwarded(env):
    payload = "x" * 100_000
    r = curl(f"{env['base']}/h2/upload", method="POST", data=payload, headers=["Content-Type: text/plain"])
    assert r.status == 200
    assert r.json()["body_len"] == len(payload)
    assert r.json()["body_sha256"] == hashlib.sha256(payload.encode()).hexdigest()
    assert r.json()["method"] == "POST"


def test_http2_health_checks_speak_http2(fulmar, env):
    wait_target_states(
        fulmar.elbv2, env["h2_tg"],
        {("127.0.0.1", env["h2a"].port): "healthy", ("127.0.0.1", env["h2b"].port): "healthy"},
    )
    checks = [r for r in env["h2a"].requests if r["path"] == "/health"]
    assert checks, "no health check reached the HTTP/2 target"
    assert dict(checks[0]["headers"])["user-agent"] == "ELB-HealthChecker/2.0"
    assert env["h2a"].not_h2 == 0


def test_http2_client_prior_knowledge(env):
    # A local convenience: the HTTP listener also accepts h2c with prior knowledge.
    p = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "--noproxy", "*", "--max-time", "10",
         "-o", "-", "-w", "\n%{http_version} %{http_code}", f"{env['base']}/h2/from-h2-client"],
        capture_output=True, text=True, timeout=15,
    )
    assert p.returncode == 0, p.stderr
    body, _, status = p.stdout.rpartition("\n")
    assert status == "2 200"
    data = json.loads(body)
    assert data["http_version"] == "2" and data["path"] == "/h2/from-h2-client"
    # ...also towards an HTTP/1.1 group, and for the LB's own answers. (One URL per
    # curl: curl 7.88 fails to reuse a prior-knowledge connection, whatever the server.)
    for path, want in (("/ws/health", "ok\n\n2 200"), ("/nothing-here", "no rule matched\n2 404")):
        p = subprocess.run(
            ["curl", "-sS", "--http2-prior-knowledge", "--noproxy", "*", "--max-time", "10",
             "-o", "-", "-w", "\n%{http_version} %{http_code}", f"{env['base']}{path}"],
            capture_output=True, text=True, timeout=15,
        )
        assert p.returncode == 0, p.stderr
        assert p.stdout == want


# --------------------------------------------------------------------------- #
# gRPC
# --------------------------------------------------------------------------- #


def test_grpc_target_group_defaults(fulmar, env):
    tg = env["grpc_tg"]
    assert tg["ProtocolVersion"] == "GRPC"
    assert tg["HealthCheckPath"] == "/AWS.ALB/healthcheck"
    assert tg["Matcher"] == {"GrpcCode": "12"}


def test_grpc_health_checks(fulmar, env):
    rpc = env["rpc"]
    key = ("127.0.0.1", rpc.port)
    # Default path and code: UNIMPLEMENTED (12) is what a live gRPC server answers.
    wait_target_states(fulmar.elbv2, env["grpc_tg"]["TargetGroupArn"], {key: ("healthy", None)})
    # A real health method answering OK, matched by 0-1.
    wait_target_states(fulmar.elbv2, env["grpc_ok"], {key: ("healthy", None)})
    health_calls = [md for method, md in rpc.calls if method == "Health"]
    assert health_calls and health_calls[0]["user-agent"].startswith("ELB-HealthChecker/2.0")
    # GrpcCode 0 against the unimplemented default path: code mismatch, unhealthy.
    wait_target_states(fulmar.elbv2, env["grpc_bad"], {key: ("unhealthy", "Target.ResponseCodeMismatch")})
    d = fulmar.elbv2.describe_target_health(TargetGroupArn=env["grpc_bad"])["TargetHealthDescriptions"][0]
    assert "12" in d["TargetHealth"]["Description"]


def test_grpc_call_through_the_alb(env):
    with grpc.insecure_channel(f"{env['addr']}:{PORT}") as channel:
        say = channel.unary_unary("/test.Echo/Say")
        for i in range(5):
            reply, call = say.with_call(f"hello {i}".encode(), timeout=10, metadata=[("x-caller", "pytest")])
            data = json.loads(reply)
            assert data["echo"] == f"hello {i}" and data["backend"] == "grpc-a"
            assert data["metadata"]["x-caller"] == "pytest"
            assert data["metadata"]["x-forwarded-for"] == "127.0.0.1"
            assert data["metadata"]["x-amzn-trace-id"].startswith("Root=1-")
            assert call.code() == grpc.StatusCode.OK


def test_grpc_status_and_details_pass_through(env):
    with grpc.insecure_channel(f"{env['addr']}:{PORT}") as channel:
        with pytest.raises(grpc.RpcError) as exc:
            channel.unary_unary("/test.Echo/Fail")(b"x", timeout=10)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
        assert exc.value.details() == "no such thing"
        with pytest.raises(grpc.RpcError) as exc:
            channel.unary_unary("/test.Echo/Nope")(b"x", timeout=10)
        assert exc.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_grpc_method_without_rule_gets_the_default_action(env):
    # No rule matches /other.Svc/*: the default action's fixed 404, which gRPC maps to
    # UNIMPLEMENTED; the target never sees the call.
    before = len(env["rpc"].calls)
    with grpc.insecure_channel(f"{env['addr']}:{PORT}") as channel:
        with pytest.raises(grpc.RpcError) as exc:
            channel.unary_unary("/other.Svc/Method")(b"x", timeout=10)
    assert exc.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert not [c for c in env["rpc"].calls[before:] if c[0] != "Health"]


# --------------------------------------------------------------------------- #
# Metrics and access logs (last: the access logs are read after a restart)
# --------------------------------------------------------------------------- #


def metric(fulmar, name, lb_arn):
    lb_dim = lb_arn.split(":loadbalancer/")[1]
    text = requests.get(f"{fulmar.endpoint}/metrics", timeout=5).text
    m = re.search(rf'^{name}\{{LoadBalancer="{re.escape(lb_dim)}"\}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


def test_websocket_counts_in_metrics_and_access_log(fulmar, env):
    lb_arn = env["lb"]["LoadBalancerArn"]
    requests_before = metric(fulmar, "RequestCount", lb_arn)
    bytes_before = metric(fulmar, "ProcessedBytes", lb_arn)
    payload = os.urandom(50_000)  # incompressible (permessage-deflate is on)
    with ws_connect(ws_url(env, "/ws/echo?logged=1"), open_timeout=5, close_timeout=2) as ws:
        ws.send(payload)
        assert ws.recv(timeout=5) == payload
    # The connection's bytes count when it closes.
    poll(lambda: metric(fulmar, "ProcessedBytes", lb_arn) - bytes_before >= 2 * len(payload), 5,
         what="ProcessedBytes to include the WebSocket's frames")
    assert metric(fulmar, "RequestCount", lb_arn) >= requests_before + 1

    fulmar.restart()  # delivers the open access-log files
    logs = [f for f in (fulmar.data_dir / "access-logs" / "protocol-logs").rglob("*.log.gz")
            if not f.name.startswith("conn_log_")]
    assert logs, "no access log delivered"
    lines = [line for f in logs for line in gzip.decompress(f.read_bytes()).decode().splitlines()]
    ws_lines = [line for line in lines if "/ws/echo?logged=1" in line]
    assert len(ws_lines) == 1, ws_lines
    fields = ws_lines[0].split(" ")
    assert fields[0] == "ws"
    assert fields[8] == "101" and fields[9] == "101"  # elb_status_code, target_status_code
    received, sent = int(fields[10]), int(fields[11])
    assert received > len(payload) and sent > len(payload), (received, sent)
    assert '"GET http://' in ws_lines[0] and ' HTTP/1.1"' in ws_lines[0]
    h2_lines = [line for line in lines if "/h2/from-h2-client" in line]
    assert h2_lines and h2_lines[0].startswith("h2 ") and "HTTP/2.0" in h2_lines[0]
    grpc_lines = [line for line in lines if "/test.Echo/Say" in line]
    assert grpc_lines and all(line.startswith("h2 ") for line in grpc_lines)

    # The connection log, under its own prefix of the same bucket: one entry per client
    # connection, sharing the access log's conn_trace_id; no TLS on an HTTP listener.
    bucket = fulmar.data_dir / "access-logs" / "protocol-logs"
    assert not list((bucket / "AWSLogs").rglob("conn_log_*")), "connection logs outside their prefix"
    entries = connection_log_entries(bucket / "connections" / "AWSLogs")
    trace_id = fields[-4]  # conn_trace_id, before the three transform fields
    assert trace_id.startswith("TID_"), ws_lines[0]
    mine = [entry for entry in entries if entry["conn_trace_id"] == trace_id]
    assert len(mine) == 1, (trace_id, entries)
    entry = mine[0]
    assert entry["client_ip"] == "127.0.0.1" and f"127.0.0.1:{entry['client_port']}" == fields[3], (entry, fields)
    assert entry["listener_port"] == str(PORT)
    assert (entry["tls_protocol"], entry["tls_cipher"], entry["tls_handshake_latency"]) == ("-", "-", "-")
    assert (entry["leaf_client_cert_subject"], entry["leaf_client_cert_validity"]) == ("-", "-")
    # Every TLS field is "-" on an HTTP listener, tls_verify_status included.
    assert (entry["leaf_client_cert_serial_number"], entry["tls_verify_status"]) == ("-", "-")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["time"]), entry
    # Every request's connection was logged.
    logged = {entry["conn_trace_id"] for entry in entries}
    assert {line.split(" ")[-4] for line in lines} <= logged, [line for line in lines if line.split(" ")[-4] not in logged]
