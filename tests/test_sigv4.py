"""SigV4 on every API call: AWS's codes for unknown keys, bad signatures and unsigned requests."""

import re

import pytest
import requests
from botocore.exceptions import ClientError


def error_of(fn, *a, **kw):
    with pytest.raises(ClientError) as e:
        fn(*a, **kw)
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_valid_credentials_work(fulmar):
    assert fulmar.elbv2.describe_load_balancers()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert fulmar.ec2.describe_vpcs()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_elbv2_unknown_access_key(fulmar):
    c = fulmar.client("elbv2", access_key="AKIAUNKNOWNKEY000000", secret_key="test")
    assert error_of(c.describe_load_balancers) == ("InvalidClientTokenId", 403)


def test_elbv2_wrong_secret(fulmar):
    c = fulmar.client("elbv2", access_key="test", secret_key="not-the-secret")
    assert error_of(c.describe_load_balancers) == ("SignatureDoesNotMatch", 403)


def test_elbv2_wrong_secret_on_a_write_changes_nothing(fulmar, network):
    c = fulmar.client("elbv2", access_key="test", secret_key="not-the-secret")
    assert error_of(c.create_target_group, Name="unsigned-tg", Protocol="HTTP", Port=80, VpcId=network.vpc_id) == (
        "SignatureDoesNotMatch",
        403,
    )
    with pytest.raises(ClientError) as e:
        fulmar.elbv2.describe_target_groups(Names=["unsigned-tg"])
    assert e.value.response["Error"]["Code"] == "TargetGroupNotFound"


def test_ec2_unknown_access_key(fulmar):
    c = fulmar.client("ec2", access_key="AKIAUNKNOWNKEY000000", secret_key="test")
    assert error_of(c.describe_vpcs) == ("AuthFailure", 401)


def test_ec2_wrong_secret(fulmar):
    c = fulmar.client("ec2", access_key="test", secret_key="not-the-secret")
    assert error_of(c.describe_vpcs) == ("AuthFailure", 401)


def _raw(fulmar, body, headers=None):
    h = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    h.update(headers or {})
    s = requests.Session()
    s.trust_env = False
    return s.post(fulmar.endpoint + "/", data=body, headers=h, timeout=10)


def test_unsigned_elbv2_request_is_rejected(fulmar):
    r = _raw(fulmar, "Action=DescribeLoadBalancers&Version=2015-12-01")
    assert r.status_code == 403, r.text
    m = re.search(r"<Code>([^<]+)</Code>", r.text)
    assert m, r.text
    assert m.group(1) == "MissingAuthenticationToken", r.text


def test_garbage_authorization_header_is_rejected(fulmar):
    r = _raw(
        fulmar,
        "Action=DescribeLoadBalancers&Version=2015-12-01",
        {"Authorization": "AWS4-HMAC-SHA256 garbage", "X-Amz-Date": "20240101T000000Z"},
    )
    assert r.status_code in (400, 403), r.text
    assert re.search(r"<Code>(IncompleteSignature|InvalidClientTokenId|SignatureDoesNotMatch)</Code>", r.text), r.text


def test_unknown_action(fulmar):
    # Signed properly, but no such operation: AWS answers InvalidAction (400).
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=fulmar.endpoint + "/",
        data="Action=FlyToTheMoon&Version=2015-12-01",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "elasticloadbalancing", "us-east-1").add_auth(req)
    prepared = req.prepare()
    s = requests.Session()
    s.trust_env = False
    r = s.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=10)
    assert r.status_code == 400, r.text
    assert re.search(r"<Code>InvalidAction</Code>", r.text), r.text


def test_health_endpoint_needs_no_signature(fulmar):
    s = requests.Session()
    s.trust_env = False
    assert s.get(fulmar.endpoint + "/_fulmar/health", timeout=5).status_code == 200
