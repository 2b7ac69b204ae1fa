"""Parses Fulmar's response documents with botocore's own response parsers.

Reads a JSON list of cases on stdin: {service, operation, status, body, expect},
where `expect` is a subset of the dict botocore should produce. Exits 1 with a
report on the first mismatch, 0 when every case matches. Run by
tests/botocore_parse.rs.
"""
import json
import sys

import botocore.session
from botocore.parsers import create_parser


def subset(expected, actual, path="$"):
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        for k, v in expected.items():
            if k not in actual:
                return f"{path}.{k}: missing (have {sorted(actual)})"
            err = subset(v, actual[k], f"{path}.{k}")
            if err:
                return err
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected {expected!r}, got {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            err = subset(e, a, f"{path}[{i}]")
            if err:
                return err
        return None
    if expected != actual:
        return f"{path}: expected {expected!r}, got {actual!r}"
    return None


def main():
    session = botocore.session.get_session()
    for case in json.load(sys.stdin):
        model = session.get_service_model(case["service"])
        op = model.operation_model(case["operation"])
        parser = create_parser(model.metadata["protocol"])
        response = {"status_code": case["status"], "headers": {}, "body": case["body"].encode()}
        parsed = parser.parse(response, op.output_shape)
        err = subset(case["expect"], parsed)
        if err:
            print(f"{case['service']} {case['operation']}: {err}\nparsed: {parsed!r}\nbody: {case['body']}")
            sys.exit(1)
    print("ok")


main()
