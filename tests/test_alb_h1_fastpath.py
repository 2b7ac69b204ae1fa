"""The ALB's own HTTP/1.1 paths (crates/fulmar-alb/src/h1): the client connection loop for
simple requests, its handover to hyper for everything else on the same connection, and the
direct client towards HTTP1 targets — pipelining, heads and bodies split across reads,
targets that close pooled connections, HEAD, Connection: close, chunked and close-delimited
target bodies. Everything over raw sockets against the real binary."""

import json
import re
import socket
import threading
import time

import pytest

from support import create_alb, create_ip_target_group, create_listener, forward, lb_address, wait_listening

PORT = 8090


class ScriptedTarget:
    """A raw HTTP/1.1 target whose answer depends on the request path:

    /split     Content-Length body written in pieces, 50 ms apart
    /chunked   chunked body written in pieces (with a trailer), 50 ms apart
    /eof       no Content-Length: the body ends when the target closes
    /close     a normal answer, then the connection is closed (no Connection: close)
    anything   200 with the path as body, keep-alive
    """

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.paths = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
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
                path = head.split(b" ")[1].decode()
                self.paths.append(path)
                pieces, close = self._answer(path)
                for i, piece in enumerate(pieces):
                    if i:
                        time.sleep(0.05)
                    c.sendall(piece)
                if close:
                    return
        except OSError:
            pass
        finally:
            c.close()

    @staticmethod
    def _answer(path):
        if path.startswith("/split"):
            return [b"HTTP/1.1 200 OK\r\nContent-Le", b"ngth: 11\r\n\r\nhel", b"lo wor", b"ld"], False
        if path.startswith("/chunked"):
            return [
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                b"lo\r\n6;ext=1\r\n world\r\n",
                b"0\r\nX-Sum: 11\r\n\r\n",
            ], False
        if path.startswith("/eof"):
            return [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil ", b"the end"], True
        body = path.encode()
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Target: scripted\r\n\r\n" % len(body)
        return [head + body], path.startswith("/close")

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory):
    e = fulmar.elbv2
    echo = backend_factory("echo")
    scripted = ScriptedTarget()
    echo_tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=echo_tg, Targets=[echo.target])
    scripted_tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=scripted_tg, Targets=[{"Id": "127.0.0.1", "Port": scripted.port}])
    lb = create_alb(e, network)
    addr = lb_address(lb)
    create_listener(e, lb, PORT, forward(echo_tg))
    create_listener(e, lb, PORT + 1, forward(scripted_tg))
    wait_listening(addr, PORT)
    wait_listening(addr, PORT + 1)
    yield {"echo": (addr, PORT), "scripted": (addr, PORT + 1), "backend": echo, "target": scripted}
    scripted.close()


class Client:
    """One raw keep-alive connection that reads whole responses (Content-Length or chunked)."""

    def __init__(self, addr):
        self.s = socket.create_connection(addr, timeout=10)
        self.buf = b""

    def send(self, raw: bytes):
        self.s.sendall(raw)

    def _fill(self):
        got = self.s.recv(65536)
        if not got:
            raise EOFError
        self.buf += got

    def response(self, head_request=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers.setdefault(name.lower(), value.strip())
        body = b""
        if head_request or status in (204, 304):
            pass
        elif "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2 :] if size else self.buf
                if size == 0:
                    while not self.buf.startswith(b"\r\n") and b"\r\n\r\n" not in self.buf:
                        self._fill()
                    self.buf = self.buf[2:] if self.buf.startswith(b"\r\n") else self.buf.split(b"\r\n\r\n", 1)[1]
                    break
        else:
            while True:
                try:
                    self._fill()
                except EOFError:
                    break
            body, self.buf = self.buf, b""
        return status, headers, body

    def closed(self, wait=2.0) -> bool:
        self.s.settimeout(wait)
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def get(path, extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: fast.example\r\n" + extra + b"\r\n"


def test_pipelined_requests_are_answered_in_order(env):
    c = Client(env["echo"])
    c.send(get("/p1") + get("/p2") + get("/p3"))
    paths = [json.loads(c.response()[2])["path"] for _ in range(3)]
    assert paths == ["/p1", "/p2", "/p3"]
    c.send(get("/p4"))
    assert json.loads(c.response()[2])["path"] == "/p4"
    c.close()


def test_a_head_split_across_reads(env):
    c = Client(env["echo"])
    raw = get("/split-head", b"X-Long: " + b"v" * 3000 + b"\r\n")
    for i in range(0, len(raw), 700):
        c.send(raw[i : i + 700])
        time.sleep(0.05)
    status, _, body = c.response()
    record = json.loads(body)
    assert status == 200 and record["path"] == "/split-head"
    assert dict((k.lower(), v) for k, v in record["headers"])["x-long"] == "v" * 3000
    c.close()


def test_handover_to_hyper_mid_connection_keeps_serving(env):
    """Simple GETs, then a POST with a body (split across writes), an HTTP/1.0 request and
    a GET again, all on one connection: the body reaches the target whole."""
    c = Client(env["echo"])
    c.send(get("/before"))
    assert json.loads(c.response()[2])["path"] == "/before"
    c.send(b"POST /post HTTP/1.1\r\nHost: fast.example\r\nContent-Length: 11\r\n\r\nhello")
    time.sleep(0.1)
    c.send(b" world")
    status, _, body = c.response()
    assert status == 200 and json.loads(body)["body"] == "hello world"
    c.send(get("/after"))
    assert json.loads(c.response()[2])["path"] == "/after"
    c.send(b"GET /ten HTTP/1.0\r\nHost: fast.example\r\nConnection: keep-alive\r\n\r\n")
    status, headers, body = c.response()
    assert status == 200 and json.loads(body)["path"] == "/ten"
    c.close()


def test_head_and_connection_close(env):
    c = Client(env["echo"])
    c.send(b"HEAD /head HTTP/1.1\r\nHost: fast.example\r\n\r\n")
    status, headers, body = c.response(head_request=True)
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    c.send(get("/next", b"Connection: close\r\n"))
    status, headers, body = c.response()
    assert status == 200 and headers.get("connection") == "close"
    assert c.closed()


def test_response_head_is_what_hyper_wrote(env):
    c = Client(env["echo"])
    c.send(get("/shape"))
    c._fill()
    head = c.buf.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    assert re.search(r"\r\ndate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", head)
    assert re.search(r"\r\ncontent-length: \d+", head)
    c.close()


def test_target_bodies_split_across_reads(env):
    c = Client(env["scripted"])
    for _ in range(2):
        c.send(get("/split"))
        assert c.response()[2] == b"hello world"
        c.send(get("/chunked"))
        status, headers, body = c.response()
        assert status == 200 and body == b"hello world" and headers.get("transfer-encoding") == "chunked"
    c.send(get("/eof"))
    status, _, body = c.response()
    assert status == 200 and body == b"until the end"
    c.close()


def test_pooled_connections_the_target_closes(env):
    """The target closes every connection after its answer, without saying so: the next
    request, right after or a little later, never sees a 502."""
    target = env["target"]
    c = Client(env["scripted"])
    before = target.connections
    for i in range(20):
        c.send(get(f"/close-{i}"))
        status, _, body = c.response()
        assert status == 200 and body == f"/close-{i}".encode()
        if i % 2:
            time.sleep(0.05)
    assert target.connections - before >= 20  # one connection per answer
    c.close()
