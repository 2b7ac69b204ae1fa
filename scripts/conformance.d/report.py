"""Turns the per-test results of a conformance run into the table and the failures file.

Usage: report.py RESULTS.jsonl FAILURES.txt SUITE... [--not-run SUITE...]

A suite is a path under moto's tests/ (a directory or a file). The table has one row
per test file and a total per suite: passed, failed (failures and errors), skipped by
the suite itself (e.g. "not supported in server mode"), and skipped by
scripts/conformance-skips.txt. Suites named after --not-run get a row saying so.
Prints a closing line "conformance: N passed, N failed, N skipped".
"""

import json
import sys
from collections import defaultdict

SKIP_PREFIX = "skip-list: "
COLUMNS = ("passed", "failed", "skipped", "skip-list")


def main(argv):
    results_path, failures_path, *rest = argv
    not_run = []
    if "--not-run" in rest:
        i = rest.index("--not-run")
        rest, not_run = rest[:i], rest[i + 1 :]
    suites = rest

    rows = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    failures = []
    try:
        with open(results_path, encoding="utf-8") as f:
            results = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        results = []
    for r in results:
        path = r["nodeid"].split("::", 1)[0]
        outcome = r["outcome"]
        if outcome == "skipped" and r["reason"].startswith(SKIP_PREFIX):
            outcome = "skip-list"
        rows[path][outcome] += 1
        if outcome == "failed":
            failures.append(r["nodeid"])

    with open(failures_path, "w", encoding="utf-8") as f:
        f.writelines(nodeid + "\n" for nodeid in failures)

    width = max([len(p) for p in rows] + [len(s) for s in suites + not_run] + [10]) + 2
    header = f"{'suite / file':<{width}}" + "".join(f"{c:>10}" for c in COLUMNS)
    print(header)
    print("-" * len(header))
    grand = dict.fromkeys(COLUMNS, 0)
    for suite in suites:
        prefix = suite.rstrip("/")
        files = sorted(p for p in rows if p == prefix or p.startswith(prefix + "/"))
        total = dict.fromkeys(COLUMNS, 0)
        for p in files:
            for c in COLUMNS:
                total[c] += rows[p][c]
                grand[c] += rows[p][c]
            if len(files) > 1:
                print(f"  {p:<{width - 2}}" + "".join(f"{rows[p][c]:>10}" for c in COLUMNS))
        print(f"{suite:<{width}}" + "".join(f"{total[c]:>10}" for c in COLUMNS))
    for suite in not_run:
        print(f"{suite:<{width}}" + f"{'not run':>40}")
    print("-" * len(header))
    print(f"{'total':<{width}}" + "".join(f"{grand[c]:>10}" for c in COLUMNS))
    print()
    skipped = grand["skipped"] + grand["skip-list"]
    print(f"conformance: {grand['passed']} passed, {grand['failed']} failed, {skipped} skipped")
    if failures:
        print(f"failing tests: {failures_path}")
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
