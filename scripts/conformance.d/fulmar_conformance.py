"""pytest plugin loaded into moto's test suite by scripts/conformance (`-p fulmar_conformance`).

It does two things and nothing else:

1. Credentials. In server mode moto's `mock_aws` still "mocks" the credentials by
   overwriting AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY with FOOBARKEY / FOOBARSECRET
   for the duration of each test. Fulmar verifies SigV4 against `test` / `test`, so we
   turn that off through moto's own documented switch,
   `default_user_config["core"]["mock_credentials"] = False` (the same setting as
   `mock_aws(config={"core": {"mock_credentials": False}})`); the environment set by
   scripts/conformance (test / test) then signs every request.

2. The skip list. Every test id in scripts/conformance-skips.txt is skipped with the
   reason written there, prefixed "skip-list:" so the report can count it apart from
   the suite's own skips. An id may name a file, a test function (all its parameters)
   or one parametrized case. An entry that matches nothing is reported, so the list
   cannot go stale silently.

It also writes one JSON line per test (node id, outcome, skip reason) to the file named
by FULMAR_CONFORMANCE_RESULTS, which scripts/conformance.d/report.py turns into the table.
"""

import json
import os

import pytest

SKIP_PREFIX = "skip-list: "


def _load_skips(path):
    skips = {}
    if not path:
        return skips
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            test_id, sep, reason = line.partition(" # ")
            test_id, reason = test_id.strip(), reason.strip()
            if not sep or not reason:
                raise pytest.UsageError(f"{path}:{lineno}: entry without ' # reason': {line}")
            skips[test_id] = reason
    return skips


def _matching_entry(nodeid, skips):
    if nodeid in skips:
        return nodeid
    base = nodeid.split("[", 1)[0]
    if base in skips:
        return base
    path = nodeid.split("::", 1)[0]
    if path in skips:
        return path
    return None


def pytest_configure(config):
    from moto.core.config import default_user_config

    default_user_config["core"]["mock_credentials"] = False
    config._fulmar_skips = _load_skips(os.environ.get("FULMAR_CONFORMANCE_SKIPS"))
    config._fulmar_skips_used = set()
    config._fulmar_outcomes = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seen = item.config._fulmar_outcomes
    if report.failed:
        seen[item.nodeid] = ("failed", "")
    elif report.skipped and item.nodeid not in seen:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        seen[item.nodeid] = ("skipped", reason)
    elif report.when == "call" and report.passed and item.nodeid not in seen:
        seen[item.nodeid] = ("passed", "")


def pytest_sessionfinish(session):
    path = os.environ.get("FULMAR_CONFORMANCE_RESULTS")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as f:
        for nodeid, (outcome, reason) in session.config._fulmar_outcomes.items():
            f.write(json.dumps({"nodeid": nodeid, "outcome": outcome, "reason": reason}) + "\n")


def pytest_collection_modifyitems(config, items):
    skips = config._fulmar_skips
    for item in items:
        entry = _matching_entry(item.nodeid, skips)
        if entry is not None:
            config._fulmar_skips_used.add(entry)
            item.add_marker(pytest.mark.skip(reason=SKIP_PREFIX + skips[entry]))


def pytest_terminal_summary(terminalreporter, config):
    unused = sorted(set(config._fulmar_skips) - config._fulmar_skips_used)
    selected_paths = {str(a).split("::", 1)[0].rstrip("/") for a in config.args}
    # Only complain about entries under the paths this run collected.
    stale = [u for u in unused if any(u.startswith(p) for p in selected_paths)]
    if stale:
        terminalreporter.write_line("conformance-skips.txt entries that matched no test:")
        for s in stale:
            terminalreporter.write_line(f"  {s}")
