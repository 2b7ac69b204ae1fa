"""HTTPS listeners: TLS termination with ACM certificates, SNI, security policies,
ALPN (HTTP/2 and HTTP/1.1), the headers targets receive, access-log fields, and
certificate changes that apply to new handshakes without rebinding the socket.

Built as a user builds it: certificates signed by a test CA are imported through ACM
(boto3), an HTTPS listener is created with one as its default, others are added with
AddListenerCertificates; then curl (--cacert, --resolve for SNI, --http2) and Python's
ssl module talk to the load balancer's address.
"""

import datetime
import gzip
import http.client
import json
import re
import socket
import ssl
import subprocess
import threading
import urllib.parse
from http import HTTPStatus

import grpc
import pytest
import requests
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from websockets.sync.client import connect as ws_connect
from websockets.sync.server import serve as ws_serve

from test_alb_protocols import GrpcBackend

from support import (
    connection_log_entries,
    create_alb,
    free_port,
    create_ip_target_group,
    fixed,
    forward,
    lb_address,
    path_is,
    poll,
    uniq,
    wait_listening,
    wait_target_states,
)

PORT = 8443
STRICT_PORT = 8444  # ELBSecurityPolicy-TLS13-1-3-2021-06
NO_H2_PORT = 8445  # on a second load balancer with routing.http2.enabled=false
MTLS_PORT = 8446  # mutual TLS, passthrough


# --------------------------------------------------------------------------- #
# Certificates
# --------------------------------------------------------------------------- #


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class CA:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Fulmar test CA"))
            .issuer_name(_name("Fulmar test CA"))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, *names, rsa_key=True):
        """(certificate PEM, private key PEM, serial) for `names` (the first is the CN)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key else ec.generate_private_key(
            ec.SECP256R1()
        )
        now = datetime.datetime.now(datetime.timezone.utc)
        serial = x509.random_serial_number()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=10))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem, serial


def import_cert(acm, ca, *names, arn=None, rsa_key=True):
    pem, key, serial = ca.issue(*names, rsa_key=rsa_key)
    kw = dict(Certificate=pem.encode(), PrivateKey=key.encode(), CertificateChain=ca.pem.encode())
    if arn:
        kw["CertificateArn"] = arn
    return acm.import_certificate(**kw)["CertificateArn"], serial


# --------------------------------------------------------------------------- #
# Clients
# --------------------------------------------------------------------------- #


def handshake(addr, port, sni=None, cafile=None, alpn=None, max_version=None, min_version=None):
    """One TLS handshake: (leaf certificate, TLS version, cipher, ALPN protocol)."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED if cafile else ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if max_version:
        ctx.maximum_version = max_version
    if min_version:
        ctx.minimum_version = min_version
    with socket.create_connection((addr, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            der = s.getpeercert(binary_form=True)
            return x509.load_der_x509_certificate(der), s.version(), s.cipher()[0], s.selected_alpn_protocol()


def curl(url, *, resolve=None, cacert=None, http2=False, extra=()):
    """curl with the test CA: (status, http_version, body)."""
    cmd = ["curl", "-sS", "--noproxy", "*", "--max-time", "10", "-o", "-", "-w", "\n%{http_code} %{http_version}"]
    cmd += ["--http2"] if http2 else ["--http1.1"]
    if resolve:
        cmd += ["--resolve", resolve]
    if cacert:
        cmd += ["--cacert", cacert]
    cmd += list(extra)
    cmd.append(url)
    p = subprocess.run(cmd, capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr.decode()
    body, _, tail = p.stdout.decode().rpartition("\n")
    status, version = tail.split()
    return int(status), version, body


def received(body, name):
    values = [v for k, v in json.loads(body)["headers"] if k.lower() == name.lower()]
    return values[0] if values else None


def metric(fulmar, name, lb_arn):
    lb_dim = lb_arn.split(":loadbalancer/")[1]
    text = requests.get(f"{fulmar.endpoint}/metrics", timeout=5).text
    m = re.search(rf'^{name}\{{LoadBalancer="{re.escape(lb_dim)}"\}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


# --------------------------------------------------------------------------- #
# The load balancers
# --------------------------------------------------------------------------- #


def https_listener(e, lb, port, cert_arn, actions, policy=None):
    kw = dict(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=port,
        Certificates=[{"CertificateArn": cert_arn}],
        DefaultActions=actions,
    )
    if policy:
        kw["SslPolicy"] = policy
    lis = e.create_listener(**kw)["Listeners"][0]
    wait_listening(lb_address(lb), port)
    return lis["ListenerArn"]


@pytest.fixture(scope="module")
def env(fulmar, network, backend_factory, tmp_path_factory):
    e, acm = fulmar.elbv2, fulmar.client("acm")
    ca = CA()
    cafile = tmp_path_factory.mktemp("ca") / "ca.pem"
    cafile.write_text(ca.pem)
    default_arn, default_serial = import_cert(acm, ca, "a.example.test")
    wild_arn, wild_serial = import_cert(acm, ca, "*.b.example.test", rsa_key=False)

    b = backend_factory("https-echo")
    tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
    e.register_targets(TargetGroupArn=tg, Targets=[b.target])

    lb = create_alb(e, network)
    e.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": "https-logs"},
            {"Key": "connection_logs.s3.enabled", "Value": "true"},
            {"Key": "connection_logs.s3.bucket", "Value": "https-logs"},
        ],
    )
    lis = https_listener(e, lb, PORT, default_arn, forward(tg))
    e.create_rule(ListenerArn=lis, Priority=10, Conditions=path_is("/rule/*"), Actions=fixed("200", "by rule"))
    e.add_listener_certificates(ListenerArn=lis, Certificates=[{"CertificateArn": wild_arn}])
    strict = https_listener(e, lb, STRICT_PORT, default_arn, forward(tg), policy="ELBSecurityPolicy-TLS13-1-3-2021-06")

    lb2 = create_alb(e, network)
    e.modify_load_balancer_attributes(
        LoadBalancerArn=lb2["LoadBalancerArn"], Attributes=[{"Key": "routing.http2.enabled", "Value": "false"}]
    )
    https_listener(e, lb2, NO_H2_PORT, default_arn, forward(tg))
    wait_target_states(e, tg, {b.key: "healthy"})
    return {
        "e": e,
        "acm": acm,
        "ca": ca,
        "cafile": str(cafile),
        "lb": lb,
        "lb2": lb2,
        "addr": lb_address(lb),
        "addr2": lb_address(lb2),
        "listener": lis,
        "strict": strict,
        "default_arn": default_arn,
        "default_serial": default_serial,
        "wild_arn": wild_arn,
        "wild_serial": wild_serial,
        "backend": b,
        "tg": tg,
    }


# --------------------------------------------------------------------------- #
# Certificates by SNI
# --------------------------------------------------------------------------- #


def test_default_certificate_without_sni(env):
    cert, version, _, _ = handshake(env["addr"], PORT, sni=None, cafile=env["cafile"])
    assert cert.serial_number == env["default_serial"]
    # ELBSecurityPolicy-2016-08 (the default): TLS 1.2 only.
    assert version == "TLSv1.2"


def test_certificate_chosen_by_sni(env):
    cert, _, _, _ = handshake(env["addr"], PORT, sni="www.b.example.test", cafile=env["cafile"])
    assert cert.serial_number == env["wild_serial"]
    # A name no certificate covers, and a name one label too deep: the default.
    for sni in ("nothing.example.test", "x.y.b.example.test"):
        cert, _, _, _ = handshake(env["addr"], PORT, sni=sni, cafile=env["cafile"])
        assert cert.serial_number == env["default_serial"], sni


def test_curl_verifies_chain_for_each_name(env):
    for host in ("a.example.test", "api.b.example.test"):
        status, version, body = curl(
            f"https://{host}:{PORT}/hello", resolve=f"{host}:{PORT}:{env['addr']}", cacert=env["cafile"]
        )
        assert status == 200 and version == "1.1"
        assert json.loads(body)["path"] == "/hello"
        assert received(body, "X-Forwarded-Proto") == "https"
        assert received(body, "X-Forwarded-Port") == str(PORT)
        # Off by default.
        assert received(body, "x-amzn-tls-version") is None


# --------------------------------------------------------------------------- #
# Security policies
# --------------------------------------------------------------------------- #


def test_tls13_only_policy_refuses_tls12(fulmar, env):
    errors = metric(fulmar, "ClientTLSNegotiationErrorCount", env["lb"]["LoadBalancerArn"])
    with pytest.raises(ssl.SSLError):
        handshake(env["addr"], STRICT_PORT, max_version=ssl.TLSVersion.TLSv1_2)
    _, version, cipher, _ = handshake(env["addr"], STRICT_PORT, cafile=env["cafile"])
    assert version == "TLSv1.3" and cipher.startswith("TLS_")
    # The default policy has no TLS 1.3.
    with pytest.raises(ssl.SSLError):
        handshake(env["addr"], PORT, min_version=ssl.TLSVersion.TLSv1_3)
    # Not TLS at all.
    with socket.create_connection((env["addr"], PORT), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            s.recv(100)
        except OSError:
            pass
    poll(
        lambda: metric(fulmar, "ClientTLSNegotiationErrorCount", env["lb"]["LoadBalancerArn"]) >= errors + 3,
        5,
        what="ClientTLSNegotiationErrorCount to count the failed handshakes",
    )
    # The load balancer still serves.
    cert, _, _, _ = handshake(env["addr"], PORT, cafile=env["cafile"])
    assert cert.serial_number == env["default_serial"]


def test_session_resumption(env):
    ctx = ssl.create_default_context(cafile=env["cafile"])
    ctx.check_hostname = False
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    def connect(session=None):
        with socket.create_connection((env["addr"], PORT), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="a.example.test", session=session) as s:
                s.sendall(b"GET /resume HTTP/1.1\r\nHost: a.example.test\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
                return s.session, s.session_reused

    session, reused = connect()
    assert not reused
    _, reused = connect(session)
    assert reused


# --------------------------------------------------------------------------- #
# ALPN and HTTP/2
# --------------------------------------------------------------------------- #


def test_h2_negotiated_and_routed_by_rule(env):
    _, _, _, alpn = handshake(env["addr"], PORT, alpn=["h2", "http/1.1"])
    assert alpn == "h2"
    host = "a.example.test"
    resolve = f"{host}:{PORT}:{env['addr']}"
    status, version, body = curl(f"https://{host}:{PORT}/rule/x", resolve=resolve, cacert=env["cafile"], http2=True)
    assert (status, version, body) == (200, "2", "by rule")
    status, version, body = curl(f"https://{host}:{PORT}/h2-target", resolve=resolve, cacert=env["cafile"], http2=True)
    assert status == 200 and version == "2"
    assert json.loads(body)["path"] == "/h2-target"
    assert received(body, "X-Forwarded-Proto") == "https"


def test_http2_disabled_offers_only_http11(env):
    _, _, _, alpn = handshake(env["addr2"], NO_H2_PORT, alpn=["h2", "http/1.1"])
    assert alpn == "http/1.1"
    host = "a.example.test"
    status, version, _ = curl(
        f"https://{host}:{NO_H2_PORT}/x", resolve=f"{host}:{NO_H2_PORT}:{env['addr2']}", cacert=env["cafile"],
        http2=True,
    )
    assert status == 200 and version == "1.1"


def test_x_amzn_tls_headers_reach_target(env):
    e, lb = env["e"], env["lb"]
    e.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[{"Key": "routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "Value": "true"}],
    )
    host = "a.example.test"
    resolve = f"{host}:{PORT}:{env['addr']}"

    def headers_present():
        _, _, body = curl(f"https://{host}:{PORT}/tls-headers", resolve=resolve, cacert=env["cafile"])
        return body if received(body, "x-amzn-tls-version") else None

    body = poll(headers_present, 5, what="x-amzn-tls-* headers")
    assert received(body, "x-amzn-tls-version") == "TLSv1.2"
    assert received(body, "x-amzn-tls-cipher-suite") == "ECDHE-RSA-AES128-GCM-SHA256"
    # Over HTTP/2 too.
    _, version, body = curl(f"https://{host}:{PORT}/tls-headers-h2", resolve=resolve, cacert=env["cafile"], http2=True)
    assert version == "2" and received(body, "x-amzn-tls-version") == "TLSv1.2"


def test_redirect_keeps_https(env):
    e = env["e"]
    e.create_rule(
        ListenerArn=env["listener"],
        Priority=20,
        Conditions=path_is("/old"),
        Actions=[{"Type": "redirect", "RedirectConfig": {"Path": "/new", "StatusCode": "HTTP_301"}}],
    )
    host = "a.example.test"

    def location():
        p = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--noproxy", "*",
             "--resolve", f"{host}:{PORT}:{env['addr']}", "--cacert", env["cafile"], f"https://{host}:{PORT}/old"],
            capture_output=True, timeout=20,
        )
        out = p.stdout.decode()
        return out if out.startswith("301") else None

    assert poll(location, 5, what="the redirect").split()[1] == f"https://{host}:{PORT}/new"


# --------------------------------------------------------------------------- #
# Certificate changes, without rebinding
# --------------------------------------------------------------------------- #


def test_certificate_changes_apply_to_new_handshakes(env):
    e, acm, ca = env["e"], env["acm"], env["ca"]
    addr, lis = env["addr"], env["listener"]
    ctx = ssl.create_default_context(cafile=env["cafile"])
    ctx.check_hostname = False
    kept = http.client.HTTPSConnection(addr, PORT, context=ctx, timeout=5)
    kept.request("GET", "/before", headers={"Host": "a.example.test"})
    assert kept.getresponse().read() and True

    # AddListenerCertificates: a new name is served at once.
    c_arn, c_serial = import_cert(acm, ca, "c.example.test")
    e.add_listener_certificates(ListenerArn=lis, Certificates=[{"CertificateArn": c_arn}])
    poll(lambda: handshake(addr, PORT, sni="c.example.test")[0].serial_number == c_serial, 5,
         what="the added certificate")
    # RemoveListenerCertificates: back to the default.
    e.remove_listener_certificates(ListenerArn=lis, Certificates=[{"CertificateArn": c_arn}])
    poll(lambda: handshake(addr, PORT, sni="c.example.test")[0].serial_number == env["default_serial"], 5,
         what="the removed certificate to go")

    # Re-import of the default certificate (same ARN, new key and serial).
    _, new_serial = import_cert(acm, ca, "a.example.test", arn=env["default_arn"])
    poll(lambda: handshake(addr, PORT)[0].serial_number == new_serial, 5, what="the re-imported certificate")
    env["default_serial"] = new_serial

    # ModifyListener: a new default certificate.
    d_arn, d_serial = import_cert(acm, ca, "d.example.test")
    e.modify_listener(ListenerArn=lis, Certificates=[{"CertificateArn": d_arn}])
    poll(lambda: handshake(addr, PORT)[0].serial_number == d_serial, 5, what="the new default certificate")
    # The wildcard added earlier is still in the list.
    assert handshake(addr, PORT, sni="q.b.example.test")[0].serial_number == env["wild_serial"]

    # The connection opened before every change still works: the socket was never rebound.
    kept.request("GET", "/after", headers={"Host": "a.example.test"})
    resp = kept.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["path"] == "/after"
    kept.close()
    e.modify_listener(ListenerArn=lis, Certificates=[{"CertificateArn": env["default_arn"]}])
    poll(lambda: handshake(addr, PORT)[0].serial_number == env["default_serial"], 5, what="the default back")


# --------------------------------------------------------------------------- #
# WebSocket over TLS
# --------------------------------------------------------------------------- #


def test_websocket_over_tls(env, network):
    e = env["e"]
    port = free_port()

    def health(connection, request):
        if request.path.startswith("/health"):
            return connection.respond(HTTPStatus.OK, "ok\n")
        return None

    def echo(ws):
        for message in ws:
            ws.send(message)

    server = ws_serve(echo, "127.0.0.1", port, process_request=health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tg = create_ip_target_group(e, network.vpc_id)["TargetGroupArn"]
        e.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": port}])
        e.create_rule(ListenerArn=env["listener"], Priority=30, Conditions=path_is("/ws/*"), Actions=forward(tg))
        wait_target_states(e, tg, {("127.0.0.1", port): "healthy"})
        ctx = ssl.create_default_context(cafile=env["cafile"])
        with ws_connect(
            f"wss://{env['addr']}:{PORT}/ws/echo?logged=1", ssl=ctx, server_hostname="a.example.test", open_timeout=5
        ) as ws:
            ws.send("over tls")
            assert ws.recv(timeout=5) == "over tls"
    finally:
        server.shutdown()


def test_grpc_over_tls(env, network):
    e = env["e"]
    rpc = GrpcBackend("grpcs-a")
    try:
        tg = e.create_target_group(
            Name=uniq("grpcs"), Protocol="HTTP", ProtocolVersion="GRPC", Port=50051, VpcId=network.vpc_id,
            TargetType="ip", HealthCheckIntervalSeconds=5, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
            HealthCheckTimeoutSeconds=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        e.register_targets(TargetGroupArn=tg, Targets=[rpc.target])
        e.create_rule(ListenerArn=env["listener"], Priority=40, Conditions=path_is("/test.Echo/*"),
                      Actions=forward(tg))
        wait_target_states(e, tg, {("127.0.0.1", rpc.port): "healthy"})
        creds = grpc.ssl_channel_credentials(root_certificates=env["ca"].pem.encode())
        options = [("grpc.ssl_target_name_override", "a.example.test")]
        with grpc.secure_channel(f"{env['addr']}:{PORT}", creds, options=options) as channel:
            reply = channel.unary_unary("/test.Echo/Say")(b"logged-grpcs", timeout=10)
        data = json.loads(reply)
        assert data["echo"] == "logged-grpcs" and data["backend"] == "grpcs-a"
        assert data["metadata"]["x-forwarded-proto"] == "https"
    finally:
        rpc.server.stop(0)


# --------------------------------------------------------------------------- #
# Mutual TLS (passthrough)
# --------------------------------------------------------------------------- #


def test_mutual_tls_passthrough(env, tmp_path):
    e, host = env["e"], "a.example.test"
    resolve = f"{host}:{MTLS_PORT}:{env['addr']}"
    url = f"https://{host}:{MTLS_PORT}/mtls"
    lis = https_listener(e, env["lb"], MTLS_PORT, env["default_arn"], forward(env["tg"]))
    assert e.describe_listeners(ListenerArns=[lis])["Listeners"][0]["MutualAuthentication"] == {"Mode": "off"}
    # verify needs a trust store, and there are none to name.
    store = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/ts/0123456789abcdef"
    with pytest.raises(ClientError) as err:
        e.modify_listener(ListenerArn=lis, MutualAuthentication={"Mode": "verify", "TrustStoreArn": store})
    assert err.value.response["Error"]["Code"] == "TrustStoreNotFound"
    with pytest.raises(ClientError) as err:
        e.modify_listener(ListenerArn=lis, MutualAuthentication={"Mode": "sometimes"})
    assert err.value.response["Error"]["Code"] == "ValidationError"

    cert_pem, key_pem, serial = env["ca"].issue("client.example.test")
    cert_file, key_file, chain_file = tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "chain.pem"
    cert_file.write_text(cert_pem)
    key_file.write_text(key_pem)
    chain_file.write_text(cert_pem + env["ca"].pem)
    forged = ["-H", "X-Amzn-Mtls-Clientcert: forged", "-H", "X-Amzn-Mtls-Clientcert-Leaf: forged"]
    with_cert = ["--cert", str(cert_file), "--key", str(key_file)]

    # Off: no certificate is asked for, and what the client says passes as it is.
    _, _, body = curl(url, resolve=resolve, cacert=env["cafile"], extra=with_cert + forged)
    assert received(body, "X-Amzn-Mtls-Clientcert") == "forged"

    out = e.modify_listener(ListenerArn=lis, MutualAuthentication={"Mode": "passthrough"})["Listeners"][0]
    assert out["MutualAuthentication"]["Mode"] == "passthrough"
    assert e.describe_listeners(ListenerArns=[lis])["Listeners"][0]["MutualAuthentication"]["Mode"] == "passthrough"

    def passed_on():
        _, _, body = curl(url, resolve=resolve, cacert=env["cafile"], extra=with_cert + forged)
        return body if received(body, "X-Amzn-Mtls-Clientcert") != "forged" else None

    body = poll(passed_on, 10, what="the listener to ask for client certificates")
    # The chain the client sent, as URL-encoded PEM with +, = and / kept (curl's
    # OpenSSL adds the issuer it finds in --cacert to the leaf it was given).
    sent = (cert_pem, cert_pem + env["ca"].pem)
    assert received(body, "X-Amzn-Mtls-Clientcert") in [urllib.parse.quote(c, safe="+=/") for c in sent]
    assert received(body, "X-Amzn-Mtls-Clientcert-Leaf") is None
    _, _, body = curl(url, resolve=resolve, cacert=env["cafile"],
                      extra=["--cert", str(chain_file), "--key", str(key_file)])
    assert urllib.parse.unquote(received(body, "X-Amzn-Mtls-Clientcert")) == cert_pem + env["ca"].pem
    # Passthrough does not require a certificate: without one, no header reaches the target.
    status, _, body = curl(url, resolve=resolve, cacert=env["cafile"], extra=forged)
    assert status == 200 and received(body, "X-Amzn-Mtls-Clientcert") is None
    assert received(body, "X-Amzn-Mtls-Clientcert-Leaf") is None
    env["mtls"] = {"serial": serial}

    e.modify_listener(ListenerArn=lis, MutualAuthentication={"Mode": "off"})
    assert e.describe_listeners(ListenerArns=[lis])["Listeners"][0]["MutualAuthentication"] == {"Mode": "off"}


# --------------------------------------------------------------------------- #
# Access logs (last: read after a restart delivers them)
# --------------------------------------------------------------------------- #


def test_access_log_fields(fulmar, env):
    host = "www.b.example.test"
    resolve = f"{host}:{PORT}:{env['addr']}"
    curl(f"https://{host}:{PORT}/logged-https", resolve=resolve, cacert=env["cafile"])
    curl(f"https://{host}:{PORT}/logged-h2", resolve=resolve, cacert=env["cafile"], http2=True)
    # Plain HTTP to the HTTPS listener: the handshake fails, and the connection log says so.
    with socket.create_connection((env["addr"], PORT), timeout=5) as s:
        s.sendall(b"GET /plain-to-https HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        plain_port = s.getsockname()[1]
    fulmar.restart()  # delivers the open access-log files
    logs = [f for f in (fulmar.data_dir / "access-logs" / "https-logs").rglob("*.log.gz")
            if not f.name.startswith("conn_log_")]
    assert logs, "no access log delivered"
    lines = [line for f in logs for line in gzip.decompress(f.read_bytes()).decode().splitlines()]

    def one(path):
        found = [line for line in lines if path in line]
        assert len(found) == 1, (path, found)
        return found[0]

    https_line, h2_line = one("/logged-https"), one("/logged-h2")
    for line, kind, version in ((https_line, "https", "HTTP/1.1"), (h2_line, "h2", "HTTP/2.0")):
        fields = line.split(" ")
        assert fields[0] == kind, line
        assert f'"GET https://{host}:{PORT}/' in line and f' {version}"' in line, line
        # The ECDSA wildcard certificate: an ECDSA suite over TLS 1.2 (the default policy).
        m = re.search(r'" (\S+) (\S+) (arn:aws:elasticloadbalancing:\S+|-) "', line)
        assert m, line
        assert m.group(1) == "ECDHE-ECDSA-AES128-GCM-SHA256" and m.group(2) == "TLSv1.2", line
        assert f'"{host}" "{env["wild_arn"]}"' in line, line
    grpc_line = one("/test.Echo/Say")
    assert grpc_line.startswith("grpcs ") and " HTTP/2.0\"" in grpc_line, grpc_line
    ws_line = one("/ws/echo?logged=1")
    assert ws_line.startswith("wss ") and " 101 101 " in ws_line, ws_line
    assert f'"a.example.test" "{env["default_arn"]}"' in ws_line, ws_line

    # Connection logs, beside the access logs in the same bucket: one entry per TLS
    # connection, with the access log's protocol, cipher and conn_trace_id.
    entries = connection_log_entries(fulmar.data_dir / "access-logs" / "https-logs")
    by_trace = {entry["conn_trace_id"]: entry for entry in entries}
    assert len(by_trace) == len(entries), "a conn_trace_id logged twice"
    for line in (https_line, h2_line, ws_line):
        fields = line.split(" ")
        entry = by_trace.get(fields[-4])  # conn_trace_id, before the three transform fields
        assert entry, (fields[-4], line)
        assert f"{entry['client_ip']}:{entry['client_port']}" == fields[3], (entry, line)
        assert entry["listener_port"] == str(PORT)
        m = re.search(r'" (\S+) (\S+) (arn:aws:elasticloadbalancing:\S+|-) "', line)
        assert (entry["tls_cipher"], entry["tls_protocol"]) == (m.group(1), m.group(2)), (entry, line)
        assert 0 <= float(entry["tls_handshake_latency"]) < 10, entry
        assert re.fullmatch(r"\d+\.\d{3}", entry["tls_handshake_latency"]), entry
        assert entry["tls_verify_status"] == "Success" and entry["leaf_client_cert_subject"] == "-", entry
    failed = [entry for entry in entries if entry["client_port"] == str(plain_port)]
    assert len(failed) == 1, (plain_port, entries)
    assert failed[0]["tls_verify_status"] == "Failed:UnmappedConnectionError", failed
    assert (failed[0]["tls_protocol"], failed[0]["tls_cipher"], failed[0]["tls_handshake_latency"]) == ("-", "-", "-")
    assert failed[0]["conn_trace_id"].startswith("TID_") and failed[0]["listener_port"] == str(PORT), failed
    assert "/plain-to-https" not in "\n".join(lines), "a failed handshake reached the access log"
    # The mutual-TLS connections that sent a certificate log its subject, validity and serial.
    if "mtls" in env:
        with_cert = [entry for entry in entries if entry["leaf_client_cert_subject"] != "-"]
        assert with_cert, entries
        for entry in with_cert:
            assert entry["leaf_client_cert_subject"] == "CN=client.example.test", entry
            # The serial's bytes in hex, as AWS logs them ("02" for serial 2): an even
            # number of digits, so a leading zero when the first byte is below 0x10.
            serial = env["mtls"]["serial"]
            expected = serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big").hex().upper()
            assert entry["leaf_client_cert_serial_number"] == expected, entry
            assert re.fullmatch(r"NotBefore=\S+Z;NotAfter=\S+Z", entry["leaf_client_cert_validity"]), entry
            assert entry["listener_port"] == str(MTLS_PORT) and entry["tls_verify_status"] == "Success"
