"""SC3, SC4 and L4: listener rules route by path, host, header, query, method and source;
fixed responses, redirects and weighted forwards; rule changes apply live."""

import http.client as httpclient
import socket
import time
from collections import Counter

import pytest

from support import (
    backends_seen,
    create_alb,
    create_ip_target_group,
    create_listener,
    curl,
    fixed,
    forward,
    host_is,
    http as request,
    lb_address,
    path_is,
    poll,
    wait_target_states,
)

PATHS = 8080  # path routing, SC3, redirects, other condition types
HOSTS = 8081  # host routing
WEIGHTS = 8082  # weighted forward
LIVE = 8083  # live rule changes
REDIRECT = 8084  # the whole listener redirects http -> https


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory):
    e = fulmar.elbv2
    backends = {n: backend_factory(f"backend-{n}") for n in ("api", "img", "web")}
    tgs = {}
    for n, b in backends.items():
        tg = create_ip_target_group(e, network.vpc_id)
        e.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[b.target])
        tgs[n] = tg["TargetGroupArn"]
    lb = create_alb(e, network)
    addr = lb_address(lb)

    paths = create_listener(e, lb, PATHS, forward(tgs["web"]))["ListenerArn"]

    def rule(listener, prio, conds, actions):
        return e.create_rule(ListenerArn=listener, Priority=prio, Conditions=conds, Actions=actions)["Rules"][0]

    rule(paths, 1, path_is("/first/*"), fixed("200", "first"))
    rule(paths, 2, path_is("/first/*"), fixed("200", "second"))
    rule(paths, 5, path_is("/maintenance*"), fixed("503", "Down for maintenance", "text/plain"))
    rule(paths, 6, path_is("/status.json"), fixed("200", '{"ok":true}', "application/json"))
    rule(
        paths, 7, path_is("/secure*"),
        [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
    )
    rule(
        paths, 8, path_is("/moved/*"),
        [{"Type": "redirect", "RedirectConfig": {
            "Protocol": "HTTP", "Port": "#{port}", "Host": "new.#{host}", "Path": "/new/#{path}",
            "Query": "#{query}&src=lb", "StatusCode": "HTTP_302"}}],
    )
    rule(paths, 10, path_is("/api*"), forward(tgs["api"]))
    rule(paths, 11, path_is("/api/special"), fixed("200", "never: priority 10 wins"))
    rule(paths, 20, path_is("/images/*"), forward(tgs["img"]))
    rule(paths, 25, path_is("/v?/status"), fixed("200", "v-status"))
    rule(
        paths, 30,
        path_is("/both/*") + [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["prod"]}}],
        fixed("200", "both"),
    )
    rule(
        paths, 40,
        [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Client", "Values": ["mobile*", "tablet"]}}],
        fixed("200", "header"),
    )
    rule(
        paths, 41,
        [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "version", "Value": "v2"}, {"Value": "beta"}]}}],
        fixed("200", "query"),
    )
    rule(paths, 42, [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["DELETE"]}}], fixed("200", "method"))
    rule(paths, 43, [{"Field": "source-ip", "SourceIpConfig": {"Values": ["127.0.0.9/32"]}}], fixed("200", "source"))

    hosts = create_listener(e, lb, HOSTS, fixed("404", "no such site"))["ListenerArn"]
    rule(hosts, 10, host_is("www.example.com"), forward(tgs["web"]))
    rule(hosts, 20, host_is("api.example.com"), forward(tgs["api"]))
    rule(hosts, 30, host_is("*.example.org"), forward(tgs["img"]))
    rule(hosts, 40, host_is("shop?.example.net"), fixed("200", "shop"))

    create_listener(
        e, lb, REDIRECT,
        [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
    )
    weights = create_listener(e, lb, WEIGHTS, fixed("500", "unset"))["ListenerArn"]
    live = create_listener(e, lb, LIVE, fixed("404", "default"))["ListenerArn"]

    wait_target_states(e, tgs["api"], {backends["api"].key: "healthy"})
    wait_target_states(e, tgs["img"], {backends["img"].key: "healthy"})
    wait_target_states(e, tgs["web"], {backends["web"].key: "healthy"})
    return {
        "addr": addr, "tgs": tgs, "backends": backends, "lb": lb,
        "paths": paths, "hosts": hosts, "weights": weights, "live": live,
        "url": lambda port, path="/": f"http://{addr}:{port}{path}",
    }


# --------------------------------------------------------------------------- SC3


def test_fixed_response_from_the_load_balancer(env):
    r = curl(env["url"](PATHS, "/maintenance/today"))
    assert r.status == 503
    assert r.body == "Down for maintenance"
    assert r.header("content-type").split(";")[0].strip() == "text/plain"
    assert r.backend is None
    assert all(not q["path"].startswith("/maintenance") for b in env["backends"].values() for q in b.requests)


def test_fixed_response_json(env):
    r = curl(env["url"](PATHS, "/status.json"))
    assert r.status == 200
    assert r.header("content-type").split(";")[0].strip() == "application/json"
    assert r.body == '{"ok":true}'


def test_default_action_fixed_response(env):
    r = curl(env["url"](HOSTS, "/"), host="nobody.example.com")
    assert r.status == 404
    assert r.body == "no such site"


# --------------------------------------------------------------------------- SC4: paths


@pytest.mark.parametrize(
    "path,who",
    [
        ("/api", "backend-api"),
        ("/api/users?id=7", "backend-api"),
        ("/apixyz", "backend-api"),  # '*' matches any characters, '/' included
        ("/api/special", "backend-api"),  # priority 10 beats priority 11
        ("/images/cat.png", "backend-img"),
        ("/images/a/b/c.jpg", "backend-img"),
        ("/images", "backend-web"),  # '/images/*' needs the slash
        ("/API/users", "backend-web"),  # path patterns are case-sensitive
        ("/index.html?next=/api", "backend-web"),  # the query is not part of the path
        ("/", "backend-web"),
    ],
)
def test_path_routing(env, path, who):
    r = curl(env["url"](PATHS, path))
    assert r.status == 200, r
    assert r.backend == who
    assert r.json()["path"] == path  # the target receives the path and query unchanged


def test_first_matching_rule_wins(env):
    assert curl(env["url"](PATHS, "/first/x")).body == "first"


def test_question_mark_matches_exactly_one_character(env):
    assert curl(env["url"](PATHS, "/v1/status")).body == "v-status"
    assert curl(env["url"](PATHS, "/v10/status")).backend == "backend-web"
    assert curl(env["url"](PATHS, "/v/status")).backend == "backend-web"


# --------------------------------------------------------------------------- SC4: hosts


@pytest.mark.parametrize(
    "host,who",
    [
        ("www.example.com", "backend-web"),
        ("api.example.com", "backend-api"),
        ("WWW.Example.COM", "backend-web"),  # host matching is case-insensitive
        ("img.example.org", "backend-img"),
        ("a.b.example.org", "backend-img"),
    ],
)
def test_host_routing(env, host, who):
    r = curl(env["url"](HOSTS, "/"), host=host)
    assert r.status == 200, r
    assert r.backend == who
    # preserve_host_header off (the default): ALB appends a non-default listener port.
    assert r.received_header("Host") == f"{host}:{HOSTS}"


@pytest.mark.parametrize("host", ["example.org", "wwwexample.com", "shop12.example.net"])
def test_host_not_matching(env, host):
    r = curl(env["url"](HOSTS, "/"), host=host)
    assert r.status == 404
    assert r.body == "no such site"


def test_host_question_mark(env):
    assert curl(env["url"](HOSTS, "/"), host="shop1.example.net").body == "shop"


# --------------------------------------------------------------------------- SC4: redirect


def test_redirect_http_to_https(env):
    r = curl(env["url"](PATHS, "/secure/page?x=1&y=two"), host="www.example.com")
    assert r.status == 301
    assert r.header("location") == "https://www.example.com:443/secure/page?x=1&y=two"
    assert r.backend is None


def test_redirect_without_query(env):
    r = curl(env["url"](PATHS, "/secure"), host="www.example.com")
    assert r.status == 301
    assert r.header("location") == "https://www.example.com:443/secure"


def test_listener_default_redirect(env):
    r = curl(env["url"](REDIRECT, "/any/where?a=b"), host="shop.example.com")
    assert r.status == 301
    assert r.header("location") == "https://shop.example.com:443/any/where?a=b"


def test_redirect_does_not_reencode(env):
    r = curl(env["url"](PATHS, "/secure/a%20b/%E2%9C%93?q=x%2Fy"), host="www.example.com")
    assert r.status == 301
    assert r.header("location") == "https://www.example.com:443/secure/a%20b/%E2%9C%93?q=x%2Fy"


def test_redirect_placeholders(env):
    r = curl(env["url"](PATHS, "/moved/a/b?q=1"), host="site.example.com")
    assert r.status == 302
    assert r.header("location") == f"http://new.site.example.com:{PATHS}/new/moved/a/b?q=1&src=lb"


# --------------------------------------------------------------------------- the other condition types


def test_http_header_condition(env):
    assert curl(env["url"](PATHS, "/"), headers=["X-Client: mobile-ios"]).body == "header"
    assert curl(env["url"](PATHS, "/"), headers=["x-client: tablet"]).body == "header"  # name is case-insensitive
    assert curl(env["url"](PATHS, "/"), headers=["X-Client: desktop"]).backend == "backend-web"


def test_conditions_are_anded(env):
    assert curl(env["url"](PATHS, "/both/x"), headers=["X-Env: prod"]).body == "both"
    assert curl(env["url"](PATHS, "/both/x"), headers=["X-Env: dev"]).backend == "backend-web"
    assert curl(env["url"](PATHS, "/both/x")).backend == "backend-web"


def test_query_string_condition(env):
    assert curl(env["url"](PATHS, "/?version=v2")).body == "query"
    assert curl(env["url"](PATHS, "/?a=1&VERSION=V2")).body == "query"  # case-insensitive
    assert curl(env["url"](PATHS, "/?x=beta")).body == "query"  # value-only pair: any key
    assert curl(env["url"](PATHS, "/?version=v3")).backend == "backend-web"


def test_method_condition(env):
    assert curl(env["url"](PATHS, "/"), method="DELETE").body == "method"
    assert curl(env["url"](PATHS, "/"), method="GET").backend == "backend-web"


def test_source_ip_condition(env):
    assert curl(env["url"](PATHS, "/"), interface="127.0.0.9").body == "source"
    assert curl(env["url"](PATHS, "/"), interface="127.0.0.10").backend == "backend-web"
    # X-Forwarded-For is not the source address.
    assert curl(env["url"](PATHS, "/"), interface="127.0.0.10", headers=["X-Forwarded-For: 127.0.0.9"]).backend == "backend-web"


# --------------------------------------------------------------------------- weighted forward


def _weighted(env, wa, wb):
    return [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": env["tgs"]["api"], "Weight": wa},
                    {"TargetGroupArn": env["tgs"]["img"], "Weight": wb},
                ]
            },
        }
    ]


def test_weighted_forward_one_zero(fulmar, env):
    fulmar.elbv2.modify_listener(ListenerArn=env["weights"], DefaultActions=_weighted(env, 1, 0))
    poll(lambda: request(env["url"](WEIGHTS)).status == 200, 2, 0.02, "weighted listener to apply")
    assert backends_seen(env["url"](WEIGHTS), 30) == ["backend-api"] * 30


def test_weighted_forward_eighty_twenty(fulmar, env):
    fulmar.elbv2.modify_listener(ListenerArn=env["weights"], DefaultActions=_weighted(env, 80, 20))
    poll(lambda: request(env["url"](WEIGHTS)).backend == "backend-img", 3, 0.01, "the 20% group to get a request")
    counts = Counter(backends_seen(env["url"](WEIGHTS), 200))
    assert set(counts) == {"backend-api", "backend-img"}, counts
    assert 130 <= counts["backend-api"] <= 190, counts  # 160 expected


# --------------------------------------------------------------------------- live changes


def test_rule_change_applies_to_next_request_and_keeps_connections(fulmar, env):
    e = fulmar.elbv2
    rule = e.create_rule(ListenerArn=env["live"], Priority=1, Conditions=path_is("/live"), Actions=forward(env["tgs"]["api"]))[
        "Rules"
    ][0]
    url = env["url"](LIVE, "/live")
    poll(lambda: request(url, fresh=True).backend == "backend-api", 2, 0.02, "new rule to apply")

    conn = httpclient.HTTPConnection(env["addr"], LIVE, timeout=10)
    try:
        conn.request("GET", "/live")
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200 and b"backend-api" in body
        sock_name = conn.sock.getsockname()

        e.modify_rule(RuleArn=rule["RuleArn"], Actions=forward(env["tgs"]["img"]))
        changed_at = time.monotonic()
        while True:
            conn.request("GET", "/live")
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, body
            assert conn.sock is not None and conn.sock.getsockname() == sock_name, "keep-alive connection was dropped"
            if b"backend-img" in body:
                break
            assert time.monotonic() - changed_at < 1.0, "rule change not applied within 1 s"
            time.sleep(0.01)

        # Deleting the rule falls back to the default action, on the same connection.
        e.delete_rule(RuleArn=rule["RuleArn"])
        deadline = time.monotonic() + 1.0
        while True:
            conn.request("GET", "/live")
            resp = conn.getresponse()
            body = resp.read()
            assert conn.sock is not None and conn.sock.getsockname() == sock_name, "keep-alive connection was dropped"
            if resp.status == 404:
                assert body == b"default"
                break
            assert time.monotonic() < deadline, "rule deletion not applied within 1 s"
            time.sleep(0.01)
    finally:
        conn.close()


def test_new_listener_serves_and_deleted_listener_stops(fulmar, env):
    e = fulmar.elbv2
    lis = create_listener(e, env["lb"], 8099, fixed("200", "fresh"))
    assert curl(env["url"](8099, "/")).body == "fresh"
    e.delete_listener(ListenerArn=lis["ListenerArn"])

    def closed():
        try:
            socket.create_connection((env["addr"], 8099), timeout=0.5).close()
        except OSError:
            return True
        return False

    poll(closed, 2, 0.02, "deleted listener to stop accepting connections")
