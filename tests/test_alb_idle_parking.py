"""Idle keep-alive connections parked off the runtime (crates/fulmar-alb/src/parking.rs).

A plain HTTP/1.1 connection that has been idle for 250 ms after an answer leaves the
runtime and waits in the load balancer's own epoll set. To its client nothing
changes: its next request is served on the same connection, the idle timeout still
closes it, it still counts in ActiveConnectionCount, and a listener that stops still
closes it. Raw sockets, so that the connection is exactly the one the test opened.
"""

import socket
import time

import pytest

from support import create_alb, create_listener, fixed, lb_address, poll
from test_alb_https import metric

PORT = 8080
IDLE_TIMEOUT = 2
PARKED = 0.8  # long enough for a connection to be parked (250 ms idle)


@pytest.fixture(scope="module")
def env(fulmar, network):
    e = fulmar.elbv2
    lb = create_alb(e, network)
    e.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": str(IDLE_TIMEOUT)}],
    )
    lis = create_listener(e, lb, PORT, fixed("200", "parked or not"))["ListenerArn"]
    return {"e": e, "lb": lb, "addr": lb_address(lb), "listener": lis}


def connect(addr, port=PORT):
    s = socket.create_connection((addr, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def exchange(s, path="/", partial_wait=0.0):
    """One GET on `s` (keep-alive); the response's status and body."""
    request = f"GET {path} HTTP/1.1\r\nHost: parking.test\r\n\r\n".encode()
    if partial_wait:
        s.sendall(request[:10])
        time.sleep(partial_wait)
        s.sendall(request[10:])
    else:
        s.sendall(request)
    buf = b""
    while b"\r\n\r\n" not in buf:
        got = s.recv(65536)
        assert got, "the connection closed instead of answering"
        buf += got
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    length = int(next(line.split(":", 1)[1] for line in lines if line.lower().startswith("content-length")))
    while len(body) < length:
        got = s.recv(65536)
        assert got, "the connection closed in the middle of a body"
        body += got
    return int(lines[0].split(" ")[1]), body.decode()


def closed_after(s, limit):
    """Seconds until the server closes `s` (reading nothing else), at most `limit`."""
    start = time.monotonic()
    s.settimeout(limit)
    try:
        got = s.recv(1)
    except (TimeoutError, socket.timeout):
        pytest.fail(f"still open after {limit} s")
    except ConnectionResetError:
        got = b""
    assert got == b"", got
    return time.monotonic() - start


def test_a_parked_connection_serves_its_next_requests(env):
    with connect(env["addr"]) as s:
        for _ in range(3):
            assert exchange(s) == (200, "parked or not")
            time.sleep(PARKED)
        # A head that arrives in two parts across the parking delay.
        assert exchange(s, partial_wait=PARKED) == (200, "parked or not")
        # Quick requests right after coming back.
        for _ in range(5):
            assert exchange(s) == (200, "parked or not")


def test_a_parked_connection_closes_at_its_idle_timeout(env):
    with connect(env["addr"]) as s:
        assert exchange(s)[0] == 200
        took = closed_after(s, IDLE_TIMEOUT + 5)
    assert IDLE_TIMEOUT - 0.3 <= took <= IDLE_TIMEOUT + 1.5, took


def test_a_request_after_parking_moves_the_idle_timeout(env):
    with connect(env["addr"]) as s:
        assert exchange(s)[0] == 200
        time.sleep(IDLE_TIMEOUT - 0.7)  # parked, most of the timeout gone
        assert exchange(s)[0] == 200
        took = closed_after(s, IDLE_TIMEOUT + 5)
    assert IDLE_TIMEOUT - 0.3 <= took <= IDLE_TIMEOUT + 1.5, took


def test_parked_connections_count_as_active(fulmar, env):
    lb_arn = env["lb"]["LoadBalancerArn"]
    poll(lambda: metric(fulmar, "ActiveConnectionCount", lb_arn) == 0, 10, what="no active connection")
    socks = [connect(env["addr"]) for _ in range(20)]
    try:
        for s in socks:
            assert exchange(s)[0] == 200
        time.sleep(PARKED)
        assert metric(fulmar, "ActiveConnectionCount", lb_arn) == 20
        for s in socks[:5]:
            assert exchange(s)[0] == 200
    finally:
        for s in socks:
            s.close()
    poll(lambda: metric(fulmar, "ActiveConnectionCount", lb_arn) == 0, 10,
         what="closed parked connections to stop counting")


def test_a_stopped_listener_closes_its_parked_connections(fulmar, network):
    # The default idle timeout (60 s): only the listener's removal can close it.
    e = fulmar.elbv2
    lb = create_alb(e, network)
    lis = create_listener(e, lb, PORT + 1, fixed("200", "soon gone"))["ListenerArn"]
    with connect(lb_address(lb), PORT + 1) as s:
        assert exchange(s) == (200, "soon gone")
        time.sleep(PARKED)
        e.delete_listener(ListenerArn=lis)
        assert closed_after(s, 5) < 3


def test_shutting_down_closes_parked_connections_at_once(fulmar, network):
    # Last in this file: it restarts the server. A load balancer with the default idle
    # timeout (60 s), so that only the shutdown can close the parked connection.
    e = fulmar.elbv2
    lb = create_alb(e, network)
    create_listener(e, lb, PORT, fixed("200", "until shutdown"))
    with connect(lb_address(lb)) as s:
        assert exchange(s)[0] == 200
        time.sleep(PARKED)
        start = time.monotonic()
        rc = fulmar.stop()
        took = time.monotonic() - start
        assert rc == 0, rc  # not killed: the graceful shutdown did not wait on the parked connection
        assert took < 3, took
        assert closed_after(s, 1) < 1
    fulmar.start()
