"""After a restart every resource is there, described identically, and traffic flows again."""

import pytest

from support import (
    create_alb,
    create_ip_target_group,
    create_listener,
    curl,
    CurlError,
    fixed,
    forward,
    lb_address,
    path_is,
    poll,
    wait_listening,
    wait_target_states,
)

PORT = 8080


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory):
    e = fulmar.elbv2
    a = backend_factory("backend-a")
    b = backend_factory("backend-b")
    tg = create_ip_target_group(e, network.vpc_id, Tags=[{"Key": "tier", "Value": "web"}])["TargetGroupArn"]
    e.register_targets(TargetGroupArn=tg, Targets=[a.target, b.target])
    e.modify_target_group_attributes(
        TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "17"}]
    )
    lb = create_alb(e, network, Tags=[{"Key": "env", "Value": "persist"}])
    e.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "33"}]
    )
    lis = create_listener(e, lb, PORT, forward(tg))["ListenerArn"]
    r1 = e.create_rule(
        ListenerArn=lis, Priority=5, Conditions=path_is("/down*"), Actions=fixed("503", "maintenance"),
        Tags=[{"Key": "rule", "Value": "down"}],
    )["Rules"][0]["RuleArn"]
    e.create_rule(
        ListenerArn=lis, Priority=9,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}],
        Actions=forward(tg),
    )
    e.add_tags(ResourceArns=[lis], Tags=[{"Key": "listener", "Value": "main"}])
    wait_target_states(e, tg, {a.key: "healthy", b.key: "healthy"})
    return {"lb": lb, "tg": tg, "listener": lis, "rule": r1, "a": a, "b": b, "network": network,
            "url": f"http://{lb_address(lb)}:{PORT}"}


def snapshot(fulmar, env):
    e = fulmar.elbv2
    lb_arn = env["lb"]["LoadBalancerArn"]
    lbs = e.describe_load_balancers()["LoadBalancers"]
    tgs = e.describe_target_groups()["TargetGroups"]
    listeners = e.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    rules = {l["ListenerArn"]: e.describe_rules(ListenerArn=l["ListenerArn"])["Rules"] for l in listeners}
    arns = [lb_arn, env["tg"], env["listener"], env["rule"]]
    tags = sorted(e.describe_tags(ResourceArns=arns)["TagDescriptions"], key=lambda d: d["ResourceArn"])
    targets = sorted(
        (d["Target"]["Id"], d["Target"]["Port"])
        for d in e.describe_target_health(TargetGroupArn=env["tg"])["TargetHealthDescriptions"]
    )
    return {
        "lbs": sorted(lbs, key=lambda x: x["LoadBalancerArn"]),
        "tgs": sorted(tgs, key=lambda x: x["TargetGroupArn"]),
        "listeners": listeners,
        "rules": rules,
        "tags": tags,
        "lb_attrs": sorted(
            (a["Key"], a["Value"]) for a in e.describe_load_balancer_attributes(LoadBalancerArn=lb_arn)["Attributes"]
        ),
        "tg_attrs": sorted(
            (a["Key"], a["Value"]) for a in e.describe_target_group_attributes(TargetGroupArn=env["tg"])["Attributes"]
        ),
        "targets": targets,
        "vpcs": fulmar.ec2.describe_vpcs(VpcIds=[env["network"].vpc_id])["Vpcs"],
        "subnets": sorted(
            fulmar.ec2.describe_subnets(SubnetIds=env["network"].subnet_ids)["Subnets"], key=lambda s: s["SubnetId"]
        ),
        "sgs": fulmar.ec2.describe_security_groups(GroupIds=[env["network"].sg_id])["SecurityGroups"],
    }


def _serves(url):
    def check():
        try:
            r = curl(url, timeout=3)
        except CurlError as e:
            raise AssertionError(str(e))
        assert r.status == 200, r
        return r

    return check


def test_restart_keeps_everything(fulmar, env):
    assert curl(env["url"] + "/").status == 200
    before = snapshot(fulmar, env)
    address = lb_address(env["lb"])

    rc = fulmar.restart()
    assert rc == 0, f"fulmar should exit 0 on SIGTERM, got {rc}"

    after = snapshot(fulmar, env)
    for key in before:
        assert after[key] == before[key], f"{key} changed across restart"
    lb = fulmar.elbv2.describe_load_balancers(LoadBalancerArns=[env["lb"]["LoadBalancerArn"]])["LoadBalancers"][0]
    assert lb_address(lb) == address

    # Traffic flows again: the listener is bound, the fixed-response rule answers at once,
    # and the targets serve once health checks pass again.
    wait_listening(address, PORT, timeout=10)
    down = curl(env["url"] + "/down")
    assert (down.status, down.body) == (503, "maintenance")
    poll(_serves(env["url"] + "/"), 40, 0.25, "traffic to flow after restart")
    wait_target_states(fulmar.elbv2, env["tg"], {env["a"].key: "healthy", env["b"].key: "healthy"})
    seen = {curl(env["url"] + "/").backend for _ in range(6)}
    assert seen == {"backend-a", "backend-b"}


def test_changes_after_restart_persist_too(fulmar, env):
    e = fulmar.elbv2
    e.remove_tags(ResourceArns=[env["lb"]["LoadBalancerArn"]], TagKeys=["env"])
    e.delete_rule(RuleArn=env["rule"])
    fulmar.restart()
    tags = e.describe_tags(ResourceArns=[env["lb"]["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == []
    rules = e.describe_rules(ListenerArn=env["listener"])["Rules"]
    assert [r["Priority"] for r in rules] == ["9", "default"]
    wait_listening(lb_address(env["lb"]), PORT, timeout=10)
    r = poll(_serves(env["url"] + "/down"), 40, 0.25, "traffic after second restart")
    assert r.backend in ("backend-a", "backend-b")  # the deleted rule no longer answers


def test_new_load_balancer_after_restart_gets_a_fresh_address(fulmar, env):
    lb = create_alb(fulmar.elbv2, env["network"])
    assert lb_address(lb) != lb_address(env["lb"])
    assert lb["LoadBalancerName"] != env["lb"]["LoadBalancerName"]


def test_deleted_load_balancer_stays_deleted_and_stops_listening(fulmar, env):
    e = fulmar.elbv2
    lb = create_alb(e, env["network"])
    create_listener(e, lb, 8181, fixed("200", "short-lived"))
    addr = lb_address(lb)
    assert curl(f"http://{addr}:8181/").body == "short-lived"
    e.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])

    def refused():
        try:
            curl(f"http://{addr}:8181/", timeout=1)
        except CurlError:
            return True
        return False

    poll(refused, 3, 0.05, "deleted load balancer to stop listening")
    fulmar.restart()
    names = [x["LoadBalancerName"] for x in e.describe_load_balancers()["LoadBalancers"]]
    assert lb["LoadBalancerName"] not in names
    poll(refused, 3, 0.05, "deleted load balancer to stay closed after restart")


def test_sigterm_exits_cleanly(fulmar):
    assert fulmar.exit_codes and all(rc == 0 for rc in fulmar.exit_codes), fulmar.exit_codes
