"""pytest fixtures: a real `fulmar serve` per test module, backends, a VPC.

Each module gets its own Fulmar process (free API port, temporary data dir) and
its own /24 of load-balancer addresses inside 127.0.0.0/8, so modules never
share listeners. Run with FULMAR_BIN pointing at the binary (scripts/test does).
"""

from __future__ import annotations

import itertools
import os

import pytest

from support import Backend, FulmarServer, make_network

# Second octet from the pid so that two runs on one machine pick different
# pools; third octet counts modules. 127.77.0.0/24 (the README's) is never used.
_POOL_SECOND_OCTET = 100 + os.getpid() % 100
_module_counter = itertools.count(1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="module")
def fulmar(tmp_path_factory):
    """A running Fulmar: .endpoint, .elbv2, .ec2, .aws(...), .restart(), .log_tail()."""
    n = next(_module_counter) % 250 + 1
    pool = f"127.{_POOL_SECOND_OCTET}.{n}.0/24"
    server = FulmarServer(tmp_path_factory.mktemp("fulmar"), pool)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _show_fulmar_log_on_failure(request):
    """When a test that used Fulmar fails, print the end of the server's log."""
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed and "fulmar" in request.fixturenames:
        server = request.getfixturevalue("fulmar")
        print(f"\n----- fulmar log ({server.log_path}) -----\n{server.log_tail()}")


@pytest.fixture(scope="module")
def network(fulmar):
    """A VPC with subnets in us-east-1a and us-east-1b and a security group."""
    return make_network(fulmar.ec2)


@pytest.fixture(scope="module")
def backend_factory():
    """make(name, **Backend kwargs) -> a started Backend; all are stopped at module teardown."""
    made = []

    def make(name: str, **kw) -> Backend:
        b = Backend(name, **kw)
        b.start()
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()
