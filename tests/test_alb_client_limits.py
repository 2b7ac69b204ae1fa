"""Limits ALB puts on client connections, as the data plane applies them:

- request heads with more than 100 header lines (hyper's default limit) are taken
  within ALB's 64 KiB for the whole request header, and the target receives every
  header; a head over 64 KiB still gets ALB's 400;
- idle_timeout.timeout_seconds on HTTP/2 client connections (HTTPS listeners, ALPN
  h2): a connection with no open stream and no frame other than PING for that long
  gets GOAWAY and is closed. (client_keep_alive.seconds, at least 60 s, shares the
  same timer; its deadline logic is unit-tested in crates/fulmar-alb/src/listeners.rs.)

HTTP/1.1 goes over raw sockets to a raw target that reports every header line it
received (Python's http.server stops at 100); HTTP/2 uses the `h2` package over an
ssl socket, certificates as in test_alb_https (a test CA, imported through ACM).
"""

import json
import socket
import ssl
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest

from support import create_alb, create_ip_target_group, create_listener, forward, lb_address, wait_listening
from test_alb_https import CA, https_listener, import_cert

PORT = 8080
TLS_PORT = 8443


class HeaderTarget:
    """A raw HTTP/1.1 target: reads a head (and a Content-Length body) and answers 200
    with JSON {"path", "headers": [[name, value], ...], "body"}, keep-alive."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.paths = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    got = c.recv(65536)
                    if not got:
                        return
                    buf += got
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = [[k.strip(), v.strip()] for k, v in (line.split(":", 1) for line in lines[1:])]
                length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
                while len(buf) < length:
                    got = c.recv(65536)
                    if not got:
                        return
                    buf += got
                body, buf = buf[:length], buf[length:]
                self.paths.append(path)
                payload = json.dumps({"path": path, "headers": headers, "body": body.decode()}).encode()
                # /respond-with-headers/N: N more header lines in the response.
                extra = b""
                if path.startswith("/respond-with-headers/"):
                    n = int(path.rsplit("/", 1)[1])
                    extra = b"".join(b"X-Resp-%d: r%d\r\n" % (i, i) for i in range(n))
                c.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(payload)
                    + extra
                    + b"\r\n"
                    + payload
                )
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def env(fulmar, network, tmp_path_factory):
    e, acm = fulmar.elbv2, fulmar.client("acm")
    target = HeaderTarget()
    tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    ca = CA()
    cert_arn, _ = import_cert(acm, ca, "a.example.test")

    def lb_with(idle=None):
        lb = create_alb(e, network)
        if idle is not None:
            e.modify_load_balancer_attributes(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": str(idle)}],
            )
        create_listener(e, lb, PORT, forward(tg))
        https_listener(e, lb, TLS_PORT, cert_arn, forward(tg))
        wait_listening(lb_address(lb), PORT)
        return lb_address(lb)

    yield {"target": target, "default": lb_with(), "idle2": lb_with(idle=2)}
    target.close()


# --------------------------------------------------------------------------- #
# HTTP/1.1: more than 100 header lines
# --------------------------------------------------------------------------- #


class H1:
    """One raw keep-alive HTTP/1.1 connection reading Content-Length responses."""

    def __init__(self, addr, tls=False):
        self.s = socket.create_connection((addr, TLS_PORT if tls else PORT), timeout=10)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            self.s = ctx.wrap_socket(self.s, server_hostname="a.example.test")
        self.buf = b""

    def _fill(self):
        got = self.s.recv(65536)
        if not got:
            raise EOFError("connection closed")
        self.buf += got

    def request(self, raw: bytes):
        self.s.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.last_head = lines
        status = int(lines[0].split()[1])
        length = next((int(v) for k, _, v in (l.partition(":") for l in lines[1:]) if k.lower() == "content-length"), 0)
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, body

    def close(self):
        self.s.close()


def many(n, prefix="X-Many", width=0):
    """n header lines `X-Many-<i>: v<i>` (values padded to `width`)."""
    return [(f"{prefix}-{i}", f"v{i}".ljust(width, "p")) for i in range(n)]


def head(method, path, headers, body=b""):
    lines = [f"{method} {path} HTTP/1.1", "Host: limits.example"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def assert_all_received(body, sent):
    got = json.loads(body)["headers"]
    received = [(k.lower(), v) for k, v in got if k.lower().startswith("x-many")]
    expected = [(k.lower(), v) for k, v in sent]
    assert len(received) == len(expected), f"{len(received)} of {len(sent)} headers reached the target"
    assert received == expected


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("n", [150, 1000])
def test_more_than_100_headers_reach_the_target(env, n, tls):
    c = H1(env["default"], tls=tls)
    try:
        sent = many(n)
        status, body = c.request(head("GET", f"/many-{n}", sent))
        assert status == 200, body
        assert_all_received(body, sent)
        # The same connection serves the next one (and an ordinary one).
        status, body = c.request(head("GET", f"/again-{n}", sent))
        assert status == 200
        assert_all_received(body, sent)
        status, body = c.request(head("GET", "/plain", []))
        assert status == 200 and json.loads(body)["path"] == "/plain"
    finally:
        c.close()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_responses_with_more_than_100_headers_reach_the_client(env, tls):
    # ALB limits a response head by its size (32 KB), not by its number of lines.
    c = H1(env["default"], tls=tls)
    try:
        status, _ = c.request(head("GET", "/respond-with-headers/300", []))
        assert status == 200
        got = [line for line in c.last_head if line.lower().startswith("x-resp-")]
        assert [g.lower() for g in got] == [f"x-resp-{i}: r{i}" for i in range(300)], (len(got), got[:3])
        # The connection to the target and the client's connection both carry on.
        status, body = c.request(head("GET", "/plain", []))
        assert status == 200 and json.loads(body)["path"] == "/plain"
    finally:
        c.close()


def test_more_than_100_headers_with_a_body(env):
    # A request with a body is served by hyper, sized for the head's lines.
    c = H1(env["default"])
    try:
        sent = many(1000)
        status, body = c.request(head("POST", "/many-post", sent, b"hello"))
        assert status == 200, body
        assert_all_received(body, sent)
        assert json.loads(body)["body"] == "hello"
        sent = many(1500)
        status, body = c.request(head("POST", "/many-post-2", sent, b"again"))
        assert status == 200, body
        assert_all_received(body, sent)
        assert json.loads(body)["body"] == "again"
    finally:
        c.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_many_headers_over_64k_is_400(env, method):
    target = env["target"]
    # 1,000 lines of about 70 bytes: 70 KiB in all.
    sent = many(1000, width=56)
    assert len(head(method, "/", sent)) > 64 * 1024
    before = len(target.paths)
    c = H1(env["default"])
    try:
        status, _ = c.request(head(method, f"/over-64k-{method}", sent, b"x" if method == "POST" else b""))
        assert status == 400
    finally:
        c.close()
    assert not any(p.startswith("/over-64k") for p in target.paths[before:])
    # Just under 64 KiB: served.
    sent = many(850, width=56)
    assert len(head(method, "/", sent)) < 63 * 1024
    c = H1(env["default"])
    try:
        status, body = c.request(head(method, f"/under-64k-{method}", sent, b"x" if method == "POST" else b""))
        assert status == 200
        assert_all_received(body, sent)
    finally:
        c.close()


# --------------------------------------------------------------------------- #
# HTTP/2: idle timeout
# --------------------------------------------------------------------------- #


class H2:
    """One HTTP/2 client connection over TLS (ALPN h2)."""

    def __init__(self, addr):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection((addr, TLS_PORT), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname="a.example.test")
        assert self.s.selected_alpn_protocol() == "h2"
        self.c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
        self.c.initiate_connection()
        self.s.sendall(self.c.data_to_send())
        self.raw = b""  # every byte the server sent
        self.closed = False

    @property
    def goaway(self):
        """The error code of the first GOAWAY frame the server sent, or None."""
        at = 0
        while at + 9 <= len(self.raw):
            length = int.from_bytes(self.raw[at : at + 3], "big")
            if self.raw[at + 3] == 0x7 and at + 9 + 8 <= len(self.raw):
                return int.from_bytes(self.raw[at + 13 : at + 17], "big")
            at += 9 + length
        return None

    def _events(self, timeout):
        """Events from one read (empty on timeout); sets `closed` at end of stream."""
        self.s.settimeout(timeout)
        try:
            data = self.s.recv(65536)
        except socket.timeout:
            return []
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return []
        self.raw += data
        try:
            events = self.c.receive_data(data)
        except h2.exceptions.ProtocolError:
            # After GOAWAY, h2 refuses the frames that follow it (the server's PING).
            return []
        out = self.c.data_to_send()
        if out:
            try:
                self.s.sendall(out)  # SETTINGS and PING acks
            except OSError:
                pass
        return events

    def get(self, path):
        sid = self.c.get_next_available_stream_id()
        self.c.send_headers(
            sid,
            [(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "a.example.test")],
            end_stream=True,
        )
        self.s.sendall(self.c.data_to_send())
        status, deadline = None, time.monotonic() + 10
        while time.monotonic() < deadline and not self.closed:
            for ev in self._events(1.0):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers)[b":status"])
                if isinstance(ev, h2.events.DataReceived):
                    self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    return status
        raise AssertionError(f"no answer to {path} (closed={self.closed}, goaway={self.goaway})")

    def ping(self):
        self.c.ping(b"12345678")
        self.s.sendall(self.c.data_to_send())

    def wait_closed(self, within, ping_every=None):
        """Read until the server closes the connection or `within` seconds pass;
        the seconds it took, or None. Sends a PING every `ping_every` seconds."""
        start = time.monotonic()
        last_ping = start
        while time.monotonic() - start < within:
            if ping_every and time.monotonic() - last_ping >= ping_every:
                last_ping = time.monotonic()
                try:
                    self.ping()
                except (OSError, h2.exceptions.ProtocolError):
                    pass
            self._events(0.2)
            if self.closed:
                return time.monotonic() - start
        return None

    def close(self):
        self.s.close()


def test_h2_connection_idle_for_the_idle_timeout_is_closed(env):
    c = H2(env["idle2"])
    try:
        assert c.get("/h2-idle") == 200
        took = c.wait_closed(within=10)
        assert took is not None, "an idle HTTP/2 connection must be closed after idle_timeout.timeout_seconds (2)"
        assert c.goaway == 0, "the connection must get GOAWAY (NO_ERROR) before it closes"
        assert took >= 1.0, f"closed after {took:.2f}s, before the idle timeout"
    finally:
        c.close()


def test_h2_pings_do_not_keep_a_connection_open(env):
    # ALB does not count HTTP/2 PING frames as activity.
    c = H2(env["idle2"])
    try:
        assert c.get("/h2-ping") == 200
        took = c.wait_closed(within=10, ping_every=0.5)
        assert took is not None and c.goaway is not None
    finally:
        c.close()


def test_h2_requests_keep_a_connection_open(env):
    c = H2(env["idle2"])
    try:
        for i in range(5):  # about 5 s in all, more than twice the idle timeout
            assert c.get(f"/h2-busy-{i}") == 200
            assert c.wait_closed(within=1.0) is None, f"closed while in use (request {i})"
        assert c.goaway is None
        assert c.wait_closed(within=10) is not None
    finally:
        c.close()


def test_h2_connection_with_the_default_idle_timeout_stays_open(env):
    c = H2(env["default"])
    try:
        assert c.get("/h2-default") == 200
        assert c.wait_closed(within=4) is None
        assert c.goaway is None
        assert c.get("/h2-default-again") == 200
    finally:
        c.close()
