"""HTTPS target groups: the load balancer speaks TLS to the targets of a target group
whose Protocol is HTTPS, as AWS ALB does — for requests (HTTP/1.1, HTTP/2 negotiated
with ALPN h2, WebSocket upgrades) and for health checks (HealthCheckProtocol HTTPS,
the default of an HTTPS group).

AWS does not validate the targets' certificates, so the targets here present a
self-signed, expired certificate for a name that is not theirs; targets are IP
addresses, so no SNI is sent. A plain-HTTP server registered in an HTTPS group fails
the TLS handshake: it is unhealthy and requests to it get 502.

Backends are real TLS servers in this process (Python's ssl module): http.server,
an HTTP/2 server on the `h2` library, and a `websockets` server.
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.sync.client import connect as ws_connect
from websockets.sync.server import serve as ws_serve

from test_alb_protocols import GrpcBackend, H2Backend

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
    target_states,
    uniq,
    wait_target_states,
)

PORT = 8080


def self_signed(tmp_path) -> tuple:
    """(certificate file, key file): self-signed for `target.invalid` and expired
    yesterday, nothing a validating client would accept."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "target.invalid")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now - datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("target.invalid")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    tag = uniq("cert")
    cert_file, key_file = tmp_path / f"{tag}.pem", tmp_path / f"{tag}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def self_signed_context(tmp_path, alpn: list[str]) -> ssl.SSLContext:
    """A server context with a certificate from `self_signed`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*self_signed(tmp_path))
    ctx.set_alpn_protocols(alpn)
    return ctx


class TlsObserver:
    """Records, per TLS connection a server accepted, the SNI the client sent (None when
    it sent none) and counts handshakes that failed."""

    def __init__(self, ctx: ssl.SSLContext):
        self.lock = threading.Lock()
        self.sni: list = []
        self.handshake_failures = 0
        ctx.sni_callback = self._sni

    def _sni(self, _sock, server_name, _ctx):
        with self.lock:
            self.sni.append(server_name)

    def failed(self):
        with self.lock:
            self.handshake_failures += 1


class TlsBackend:
    """http.server over TLS: every request answers 200 with JSON naming the backend and
    the connection's TLS version and ALPN protocol, and the request's method, path,
    headers and body. /health answers 200 too (and is counted apart)."""

    def __init__(self, name: str, tmp_path):
        self.name = name
        self.port = free_port()
        self.ctx = self_signed_context(tmp_path, ["http/1.1"])
        self.tls = TlsObserver(self.ctx)
        self.requests: list = []
        self.health_checks: list = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                record = {
                    "backend": backend.name,
                    "tls_version": self.connection.version(),
                    "alpn": self.connection.selected_alpn_protocol(),
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                with backend.tls.lock:
                    (backend.health_checks if self.path == "/health" else backend.requests).append(record)
                payload = json.dumps(record).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def finish_request(self, request, client_address):
                # The handshake runs in the connection's thread, not the accept loop.
                try:
                    request = backend.ctx.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    backend.tls.failed()
                    return
                super().finish_request(request, client_address)

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def target(self):
        return {"Id": "127.0.0.1", "Port": self.port}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TlsH2Backend(H2Backend):
    """The HTTP/2 test server of test_alb_protocols behind TLS with ALPN h2."""

    def __init__(self, name: str, tmp_path):
        self.ctx = self_signed_context(tmp_path, ["h2"])
        self.tls = TlsObserver(self.ctx)
        self.alpn: list = []
        super().__init__(name)

    def serve(self, sock):
        try:
            tls = self.ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            self.tls.failed()
            sock.close()
            return
        with self.tls.lock:
            self.alpn.append(tls.selected_alpn_protocol())
        super().serve(tls)


class TlsGrpcBackend(GrpcBackend):
    """The gRPC test server of test_alb_protocols (same methods), on a TLS port."""

    def __init__(self, name: str, tmp_path):
        self.name = name
        self.calls: list = []
        self.lock = threading.Lock()
        handler = grpc.method_handlers_generic_handler(
            "test.Echo",
            {
                "Say": grpc.unary_unary_rpc_method_handler(self.say),
                "Fail": grpc.unary_unary_rpc_method_handler(self.fail),
            },
        )
        cert_file, key_file = self_signed(tmp_path)
        creds = grpc.ssl_server_credentials([(key_file.read_bytes(), cert_file.read_bytes())])
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        self.server.start()


class TlsWsBackend:
    """A WebSocket echo server over TLS; /health answers 200 for the health checker."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.ctx = self_signed_context(tmp_path, ["http/1.1"])
        self.tls = TlsObserver(self.ctx)
        self.server = ws_serve(self.echo, "127.0.0.1", self.port, ssl=self.ctx, process_request=self.health)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def target(self):
        return {"Id": "127.0.0.1", "Port": self.port}

    def health(self, connection, request):
        if request.path == "/health":
            return connection.respond(200, "ok\n")
        return None

    def echo(self, ws):
        for message in ws:
            ws.send(f"{message} (over {ws.socket.version()})")

    def stop(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("certs")
    e = fulmar.elbv2
    tls = TlsBackend("tls-a", tmp)
    h2 = TlsH2Backend("tls-h2", tmp)
    ws = TlsWsBackend(tmp)
    rpc = TlsGrpcBackend("tls-grpc", tmp)
    plain = backend_factory("plain")

    lb = create_alb(e, network)
    lis = create_listener(e, lb, PORT, fixed("404", "no rule matched"))["ListenerArn"]

    def group(name, rule_path, priority, backend, **kw):
        if kw.pop("default_health_path", False):  # the protocol version's own default path
            tg = e.create_target_group(
                Name=uniq(name), Protocol="HTTPS", Port=443, VpcId=network.vpc_id, TargetType="ip",
                HealthCheckIntervalSeconds=5, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
                HealthCheckTimeoutSeconds=2, **kw,
            )["TargetGroups"][0]
        else:
            tg = create_ip_target_group(e, network.vpc_id, name=uniq(name), Protocol="HTTPS", port=443, **kw)
        e.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[backend.target])
        e.create_rule(ListenerArn=lis, Priority=priority, Conditions=path_is(rule_path),
                      Actions=forward(tg["TargetGroupArn"]))
        return tg

    tls_tg = group("tls", "/tls/*", 10, tls)
    plain_tg = group("plain", "/plain/*", 20, plain)
    h2_tg = group("tls-h2", "/h2/*", 30, h2, ProtocolVersion="HTTP2")
    ws_tg = group("tls-ws", "/ws/*", 40, ws)
    # GRPC defaults: /AWS.ALB/healthcheck answered UNIMPLEMENTED (12) is healthy.
    grpc_tg = group("tls-grpc", "/test.Echo/*", 50, rpc, ProtocolVersion="GRPC", default_health_path=True)

    addr = lb_address(lb)
    yield {
        "addr": addr, "listener": lis, "base": f"http://{addr}:{PORT}", "tls": tls, "h2": h2, "ws": ws, "plain": plain,
        "tls_tg": tls_tg, "plain_tg": plain_tg, "h2_tg": h2_tg, "ws_tg": ws_tg, "rpc": rpc, "grpc_tg": grpc_tg,
    }
    tls.stop()
    h2.stop()
    ws.stop()
    rpc.stop()


def test_https_group_defaults_to_https_health_checks(env):
    tg = env["tls_tg"]
    assert tg["Protocol"] == "HTTPS"
    assert tg["HealthCheckProtocol"] == "HTTPS"


def test_https_health_checks_speak_tls(fulmar, env):
    tls = env["tls"]
    wait_target_states(fulmar.elbv2, env["tls_tg"]["TargetGroupArn"], {("127.0.0.1", tls.port): "healthy"})
    assert tls.health_checks, "no health check reached the TLS target"
    check = tls.health_checks[0]
    assert check["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert check["headers"]["user-agent"] == "ELB-HealthChecker/2.0"


def test_requests_reach_the_target_over_tls(env):
    tls = env["tls"]
    r = curl(f"{env['base']}/tls/item?n=1", host="shop.example.com")
    assert r.status == 200, r.body
    data = r.json()
    assert data["backend"] == "tls-a"
    assert data["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert data["alpn"] == "http/1.1"
    assert data["path"] == "/tls/item?n=1"
    assert data["headers"]["host"] == f"shop.example.com:{PORT}"  # ALB appends the listener port
    assert data["headers"]["x-forwarded-proto"] == "http"
    assert data["headers"]["x-forwarded-port"] == str(PORT)
    assert tls.tls.handshake_failures == 0


def test_request_bodies_reach_the_target_over_tls(env):
    payload = "payload-" + "x" * 50_000
    r = curl(f"{env['base']}/tls/upload", method="POST", data=payload, headers=["Content-Type: text/plain"])
    assert r.status == 200, r.body
    data = r.json()
    assert data["method"] == "POST" and data["body"] == payload
    assert data["tls_version"] in ("TLSv1.2", "TLSv1.3")


def test_connections_to_tls_targets_are_reused(env):
    tls = env["tls"]
    for i in range(5):
        assert curl(f"{env['base']}/tls/warm?n={i}").status == 200
    before = len(tls.tls.sni)
    for i in range(10):
        assert curl(f"{env['base']}/tls/again?n={i}").status == 200
    # Sequential requests ride pooled connections: at most a health check's handshake or two.
    assert len(tls.tls.sni) - before <= 2, f"{len(tls.tls.sni) - before} handshakes for 10 requests"


def test_no_sni_is_sent_to_ip_targets(env):
    assert curl(f"{env['base']}/tls/sni", host="shop.example.com").status == 200
    assert env["tls"].tls.sni, "no TLS connection was recorded"
    assert set(env["tls"].tls.sni) == {None}


def test_plain_http_target_in_https_group_is_unhealthy_and_gets_502(fulmar, env):
    plain = env["plain"]
    wait_target_states(fulmar.elbv2, env["plain_tg"]["TargetGroupArn"], {plain.key: "unhealthy"})
    before = len(plain.requests)
    r = curl(f"{env['base']}/plain/x")
    # The only target is unhealthy, so the ALB fails open to it, and the handshake fails.
    assert r.status == 502, r.body
    assert len(plain.requests) == before, "the plain target got a request it could parse"


def test_http2_https_group_negotiates_h2(fulmar, env):
    h2 = env["h2"]
    wait_target_states(fulmar.elbv2, env["h2_tg"]["TargetGroupArn"], {("127.0.0.1", h2.port): "healthy"})
    r = curl(f"{env['base']}/h2/item?n=7", host="shop.example.com")
    assert r.status == 200, r.body
    data = r.json()
    assert data["http_version"] == "2"
    assert data["scheme"] == "https"
    assert data["path"] == "/h2/item?n=7"
    assert data["authority"] == f"shop.example.com:{PORT}"
    assert h2.alpn and set(h2.alpn) == {"h2"}
    assert h2.not_h2 == 0 and h2.tls.handshake_failures == 0
    assert set(h2.tls.sni) == {None}


def test_websocket_to_https_group(fulmar, env):
    ws = env["ws"]
    wait_target_states(fulmar.elbv2, env["ws_tg"]["TargetGroupArn"], {("127.0.0.1", ws.port): "healthy"})
    with ws_connect(f"ws://{env['addr']}:{PORT}/ws/echo", open_timeout=5, close_timeout=2) as conn:
        conn.send("hello")
        answer = conn.recv(timeout=5)
    assert answer.startswith("hello (over TLSv1."), answer


def test_https_health_check_on_http_group_uses_tls(fulmar, network, env):
    """An HTTP group whose health checks are HTTPS: the TLS target is healthy, while
    traffic (plain HTTP) would not be; the plain target is unhealthy."""
    e = fulmar.elbv2
    tg = create_ip_target_group(e, network.vpc_id, HealthCheckProtocol="HTTPS")["TargetGroupArn"]
    e.register_targets(TargetGroupArn=tg, Targets=[env["tls"].target, env["plain"].target])
    # Health checks run for target groups a listener rule uses.
    e.create_rule(ListenerArn=env["listener"], Priority=60, Conditions=path_is("/mixed/*"), Actions=forward(tg))
    wait_target_states(
        e, tg, {("127.0.0.1", env["tls"].port): "healthy", env["plain"].key: "unhealthy"},
    )
    states = target_states(e, tg)
    assert states[env["plain"].key][1] == "Target.FailedHealthChecks"


def test_grpc_https_group(fulmar, env):
    rpc = env["rpc"]
    tg = env["grpc_tg"]
    assert tg["HealthCheckProtocol"] == "HTTPS" and tg["HealthCheckPath"] == "/AWS.ALB/healthcheck"
    wait_target_states(fulmar.elbv2, tg["TargetGroupArn"], {("127.0.0.1", rpc.port): ("healthy", None)})
    with grpc.insecure_channel(f"{env['addr']}:{PORT}") as channel:
        reply = channel.unary_unary("/test.Echo/Say")(b"hello", timeout=10, metadata=[("x-caller", "pytest")])
        data = json.loads(reply)
        assert data["echo"] == "hello" and data["backend"] == "tls-grpc"
        assert data["metadata"]["x-caller"] == "pytest"
        with pytest.raises(grpc.RpcError) as exc:
            channel.unary_unary("/test.Echo/Fail")(b"x", timeout=10)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
