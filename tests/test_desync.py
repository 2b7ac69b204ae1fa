"""L8: desync defence. Known request-smuggling shapes are sent over raw sockets to load
balancers in each `routing.http.desync_mitigation_mode`; the target parses what reaches
it with h11 (a strict HTTP/1.1 implementation nobody here wrote) and records every
request. Nothing may reach a target in a way that could desynchronise it: no smuggled
request, no framing h11 rejects, and each mode answers as AWS documents (defensive:
Severe → 400, Ambiguous → forwarded then the connection closed; strictest: only
compliant requests; monitor: everything the HTTP parser accepts)."""

import re
import socket
import threading
import time

import h11
import pytest
import requests

from support import create_alb, create_ip_target_group, create_listener, lb_address, poll, wait_target_states

PORT = 8080
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


class H11Target:
    """A target that parses each connection strictly with h11 and records what it saw."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests = []  # (method, target, body) of ordinary requests
        self.errors = []  # h11 protocol errors other than a client closing mid-message
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def target(self):
        return {"Id": "127.0.0.1", "Port": self.port}

    @property
    def key(self):
        return ("127.0.0.1", self.port)

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        h = h11.Connection(h11.SERVER)
        conn.settimeout(10)
        try:
            while True:
                event = h.next_event()
                if event is h11.NEED_DATA:
                    data = conn.recv(65536)
                    h.receive_data(data)
                    if not data and h.their_state is not h11.SEND_BODY:
                        return
                    continue
                if isinstance(event, h11.ConnectionClosed):
                    return
                if isinstance(event, h11.Request):
                    request, body = event, b""
                    while True:
                        e = h.next_event()
                        if e is h11.NEED_DATA:
                            data = conn.recv(65536)
                            if not data:
                                return  # closed mid-body: an aborted request, not a desync
                            h.receive_data(data)
                        elif isinstance(e, h11.Data):
                            body += e.data
                        elif isinstance(e, h11.EndOfMessage):
                            break
                    target = request.target.decode()
                    if not target.startswith("/health"):
                        with self.lock:
                            self.requests.append((request.method.decode(), target, body))
                    payload = b"ok"
                    conn.sendall(
                        h.send(h11.Response(status_code=200, headers=[("Content-Length", str(len(payload)))]))
                        + h.send(h11.Data(data=payload))
                        + h.send(h11.EndOfMessage())
                    )
                    if h.our_state is h11.MUST_CLOSE:
                        return
                    h.start_next_cycle()
        except h11.RemoteProtocolError as e:
            with self.lock:
                self.errors.append(str(e))
        except (OSError, h11.LocalProtocolError):
            pass
        finally:
            conn.close()

    def take(self):
        with self.lock:
            out, self.requests = self.requests, []
            return out

    def stop(self):
        self.closed = True
        self.sock.close()


def exchange(addr, raw: bytes, wait=1.5):
    """Send raw bytes; return (all bytes received, whether the server closed the connection)."""
    s = socket.create_connection(addr, timeout=5)
    s.sendall(raw)
    s.settimeout(wait)
    got, closed = b"", False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            closed = True
            break
        got += chunk
    s.close()
    return got, closed


def statuses(raw: bytes):
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3})", raw)]


@pytest.fixture(scope="module")
def env(fulmar, network):
    e = fulmar.elbv2
    target = H11Target()
    tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=tg, Targets=[target.target])
    addrs, lbs = {}, {}
    for mode in ("monitor", "defensive", "strictest"):
        lb = create_alb(e, network)
        lbs[mode] = lb["LoadBalancerArn"]
        if mode != "defensive":  # the default
            e.modify_load_balancer_attributes(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Attributes=[{"Key": "routing.http.desync_mitigation_mode", "Value": mode}],
            )
        create_listener(e, lb, PORT, [{"Type": "forward", "TargetGroupArn": tg}])
        addrs[mode] = (lb_address(lb), PORT)
    wait_target_states(e, tg, {target.key: "healthy"})
    yield {"target": target, "addrs": addrs, "lbs": lbs}
    target.stop()


def _settle(target):
    time.sleep(0.3)
    return target.take()


CL_TE = (
    b"POST /clte HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(5 + len(SMUGGLED)).encode() + b"\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED
)
chunk = b"GPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\nx=1"
TE_CL = (
    b"POST /tecl HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    + format(len(chunk), "x").encode() + b"\r\n" + chunk + b"\r\n0\r\n\r\n"
)


@pytest.mark.parametrize("mode", ["monitor", "defensive", "strictest"])
def test_cl_te(env, mode):
    got, closed = exchange(env["addrs"][mode], CL_TE)
    seen = _settle(env["target"])
    assert not any(t == "/smuggled" for _, t, _ in seen), seen
    # Forwarded as one chunked request with an empty body, then the connection is
    # closed, so the bytes after the body are never read as a request. (AWS's strictest
    # mode answers 400 instead; Fulmar's HTTP parser drops a Content-Length that comes
    # with Transfer-Encoding before the classifier sees it, so strictest treats CL.TE
    # like defensive does — see README, "Desync mitigation".)
    assert statuses(got) == [200] and seen == [("POST", "/clte", b"")], (got, seen)
    assert closed, got


@pytest.mark.parametrize("mode", ["monitor", "defensive", "strictest"])
def test_te_cl(env, mode):
    got, closed = exchange(env["addrs"][mode], TE_CL)
    seen = _settle(env["target"])
    assert not any(m == "GPOST" for m, _, _ in seen), seen
    # The chunked body is data, delivered whole inside one request, and the connection
    # closes after it (strictest: as for CL.TE above).
    assert statuses(got) == [200] and seen == [("POST", "/tecl", chunk)], (got, seen)
    assert closed, got


@pytest.mark.parametrize(
    "raw",
    [
        # Two different lengths.
        b"POST /dup HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n" + SMUGGLED,
        # Obsolete line folding of Transfer-Encoding.
        b"POST /fold HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        # A space before the colon.
        b"POST /space HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
        + SMUGGLED,
        # A bad Content-Length.
        b"POST /badcl HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\nx" + SMUGGLED,
    ],
    ids=["duplicate-cl", "obs-fold-te", "space-before-colon", "bad-cl"],
)
@pytest.mark.parametrize("mode", ["monitor", "defensive", "strictest"])
def test_malformed_framing_is_refused(env, mode, raw):
    got, closed = exchange(env["addrs"][mode], raw)
    seen = _settle(env["target"])
    assert statuses(got)[:1] == [400], got
    assert closed, "the connection must close after a 400 for bad framing"
    assert seen == [], seen


@pytest.mark.parametrize("mode", ["monitor", "defensive", "strictest"])
def test_chunked_twice_is_severe(env, mode):
    # The HTTP parser accepts it; the classifier calls it Severe
    # (MultipleTransferEncodingChunked): only monitor mode forwards it, as one request.
    raw = (
        b"POST /twice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n" + SMUGGLED
    )
    got, closed = exchange(env["addrs"][mode], raw)
    seen = _settle(env["target"])
    if mode == "monitor":
        # Forwarded; the bytes after its body are the client's next pipelined request,
        # which the load balancer answers too: one response per request the target saw.
        assert statuses(got)[0] == 200 and seen[0] == ("POST", "/twice", b""), (got, seen)
        assert len(statuses(got)) == len(seen), (got, seen)
    else:
        assert statuses(got) == [400] and closed and seen == [], (got, seen)


@pytest.mark.parametrize("mode", ["monitor", "defensive", "strictest"])
def test_bad_chunk_size_never_completes_at_the_target(env, mode):
    raw = b"POST /badchunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + SMUGGLED
    got, closed = exchange(env["addrs"][mode], raw)
    seen = _settle(env["target"])
    # Whatever the load balancer answers, no complete request (nor the smuggled one)
    # reached the target, and the client connection is not reused.
    assert seen == [], seen
    assert closed or not got, got


def test_strictest_blocks_acceptable_requests(env):
    # GET with Content-Length: 0 is Acceptable (GetHeadZeroContentLength).
    raw = b"GET /zero HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    got, _ = exchange(env["addrs"]["strictest"], raw)
    assert statuses(got)[:1] == [400]
    got, _ = exchange(env["addrs"]["defensive"], raw)
    assert statuses(got)[:1] == [200]
    assert [t for _, t, _ in _settle(env["target"])] == ["/zero"]


def test_compliant_keep_alive_is_untouched(env):
    raw = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    for mode in ("monitor", "defensive", "strictest"):
        got, closed = exchange(env["addrs"][mode], raw)
        assert statuses(got) == [200, 200] and not closed, (mode, got)
    assert [t for _, t, _ in _settle(env["target"])] == ["/a", "/b"] * 3


def test_target_never_saw_bad_framing(env):
    # Runs last in the module: across every shape above, h11 never had to reject
    # the framing of what the load balancer sent.
    poll(lambda: True, timeout=1)
    assert env["target"].errors == []


def non_compliant_count(fulmar, lb_arn):
    """DesyncMitigationMode_NonCompliant_Request_Count of one load balancer, from /metrics."""
    lb_dim = lb_arn.split(":loadbalancer/")[1]
    text = requests.get(f"{fulmar.endpoint}/metrics", timeout=5).text
    m = re.search(
        rf'^DesyncMitigationMode_NonCompliant_Request_Count\{{LoadBalancer="{re.escape(lb_dim)}"\}} (\d+)$', text, re.M
    )
    assert m, "the metric is missing from /metrics"
    return int(m.group(1))


@pytest.mark.parametrize("mode", ["monitor", "strictest"])
def test_non_compliant_requests_are_counted(fulmar, env, mode):
    lb = env["lbs"][mode]
    before = non_compliant_count(fulmar, lb)
    # Compliant: not counted.
    got, _ = exchange(env["addrs"][mode], b"GET /fine HTTP/1.1\r\nHost: x\r\n\r\n", wait=0.5)
    assert statuses(got)[:1] == [200], got
    # Acceptable (GET with Content-Length: 0): counted, whether forwarded (monitor) or
    # blocked (strictest).
    got, _ = exchange(env["addrs"][mode], b"GET /zero HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", wait=0.5)
    assert statuses(got)[:1] == ([200] if mode == "monitor" else [400]), got
    _settle(env["target"])
    poll(lambda: non_compliant_count(fulmar, lb) == before + 1, 5, what="the non-compliant request to be counted")
    time.sleep(0.2)
    assert non_compliant_count(fulmar, lb) == before + 1
