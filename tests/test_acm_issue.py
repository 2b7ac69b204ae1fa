"""ACM certificates Fulmar issues: requested, validated by DNS, signed by Fulmar's
certificate authority, served by an HTTPS listener.

As a user does it: RequestCertificate (boto3), the validation CNAMEs published in a
public Route 53 hosted zone, then DescribeCertificate / GetCertificate. The root that
signs everything is fetched from `GET /_fulmar/ca.pem`; the chain is checked with
python `cryptography`'s X.509 path validation and with `openssl verify`, and a TLS
client that trusts only that root talks to the load balancer by name.

Expectations from the acm 2015-12-08 model and the ACM user guide: Amazon-issued
certificates are valid 395 days, their key is of the requested KeyAlgorithm, the chain
is the intermediate then the root, no call returns the private key (ExportCertificate
answers ValidationException for a public certificate not requested as exportable).
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import subprocess

import pytest
import requests
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from support import create_alb, fixed, lb_address, publish_validation_records, uniq, wait_listening

DAY = 86400

KEY_TYPES = {
    "RSA_2048": ("RSA-2048", "SHA256WITHRSA"),
    "EC_prime256v1": ("EC-prime256v1", "SHA256WITHECDSA"),
    "EC_secp384r1": ("EC-secp384r1", "SHA384WITHECDSA"),
}


@pytest.fixture(scope="module")
def acm(fulmar):
    return fulmar.client("acm")


def root_pem(fulmar) -> bytes:
    r = requests.get(f"{fulmar.endpoint}/_fulmar/ca.pem", timeout=10)
    assert r.status_code == 200, r.text
    return r.content


def request_and_validate(fulmar, acm, domain, key_algorithm=None, sans=()):
    """RequestCertificate (DNS), then publish every validation CNAME in a public zone."""
    kw = {"KeyAlgorithm": key_algorithm} if key_algorithm else {}
    arn = acm.request_certificate(
        DomainName=domain, ValidationMethod="DNS", SubjectAlternativeNames=[domain, *sans], **kw
    )["CertificateArn"]
    pending = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert pending["Status"] == "PENDING_VALIDATION"
    publish_validation_records(fulmar, domain, pending)
    return arn


def pem_certs(text: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(text.encode())


def no_private_key(*answers):
    for a in answers:
        text = json.dumps(a, default=str)
        assert "PRIVATE KEY" not in text and "PrivateKey" not in text, text[:300]


@pytest.mark.parametrize("key_algorithm", [None, *KEY_TYPES])
def test_validated_certificate_is_signed_by_fulmars_root(fulmar, acm, tmp_path, key_algorithm):
    root = root_pem(fulmar)
    assert root_pem(fulmar) == root, "one root per store"
    root_cert = x509.load_pem_x509_certificate(root)
    assert root_cert.issuer == root_cert.subject
    assert root_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    domain = f"{uniq('site')}.example.com"
    sans = (f"www.{domain}", f"*.api.{domain}")
    arn = request_and_validate(fulmar, acm, domain, key_algorithm, sans)
    algorithm = key_algorithm or "RSA_2048"
    described = acm.describe_certificate(CertificateArn=arn)
    c = described["Certificate"]
    assert c["Status"] == "ISSUED" and c["Type"] == "AMAZON_ISSUED"
    assert all(o["ValidationStatus"] == "SUCCESS" for o in c["DomainValidationOptions"])
    assert (c["KeyAlgorithm"], c["SignatureAlgorithm"]) == KEY_TYPES[algorithm]
    assert c["Subject"] == f"CN={domain}" and c["Issuer"] == "Fulmar"
    assert c["InUseBy"] == [] and c["RenewalEligibility"] == "INELIGIBLE" and "RenewalSummary" not in c
    assert c["ExtendedKeyUsages"] == [{"Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.1"}]

    got = acm.get_certificate(CertificateArn=arn)
    leaf = x509.load_pem_x509_certificate(got["Certificate"].encode())
    chain = pem_certs(got["CertificateChain"])
    assert len(chain) == 2 and chain[-1] == root_cert, "the intermediate, then the root"

    # What DescribeCertificate reports is what the certificate says.
    assert c["Serial"] == ":".join(f"{b:02x}" for b in leaf.serial_number.to_bytes(16, "big").lstrip(b"\0"))
    assert c["NotBefore"].timestamp() == leaf.not_valid_before_utc.timestamp()
    assert c["NotAfter"].timestamp() == leaf.not_valid_after_utc.timestamp()
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == datetime.timedelta(days=395, seconds=-1)
    assert leaf.not_valid_before_utc <= datetime.datetime.now(datetime.timezone.utc) < leaf.not_valid_after_utc
    assert leaf.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [domain, *sans]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    key = leaf.public_key()
    if algorithm == "RSA_2048":
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
        assert leaf.signature_hash_algorithm.name == "sha256"
        assert isinstance(chain[0].public_key(), rsa.RSAPublicKey)
    else:
        curve = {"EC_prime256v1": ec.SECP256R1, "EC_secp384r1": ec.SECP384R1}[algorithm]
        assert isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, curve)
        assert leaf.signature_hash_algorithm.name == {"EC_prime256v1": "sha256", "EC_secp384r1": "sha384"}[algorithm]

    # Path validation as a TLS client does it, for each name, trusting only the root.
    verifier_store = Store([root_cert])
    for name in (domain, f"www.{domain}", f"x.api.{domain}"):
        verifier = PolicyBuilder().store(verifier_store).build_server_verifier(x509.DNSName(name))
        path = verifier.verify(leaf, chain[:1])
        assert path[-1] == root_cert
    with pytest.raises(Exception):
        PolicyBuilder().store(verifier_store).build_server_verifier(x509.DNSName(f"other.{domain}")).verify(
            leaf, chain[:1]
        )
    # ... and with openssl.
    (tmp_path / "root.pem").write_bytes(root)
    (tmp_path / "chain.pem").write_text(got["CertificateChain"])
    (tmp_path / "leaf.pem").write_text(got["Certificate"])
    p = subprocess.run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "-purpose", "sslserver", "leaf.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0 and "leaf.pem: OK" in p.stdout, p.stdout + p.stderr

    # No answer carries the private key; exporting it is refused as for any public certificate.
    listed = acm.list_certificates(Includes={"keyTypes": list(KEY_TYPES)})
    summary = next(s for s in listed["CertificateSummaryList"] if s["CertificateArn"] == arn)
    assert summary["Status"] == "ISSUED" and summary["KeyAlgorithm"] == algorithm
    no_private_key(described, got, listed)
    with pytest.raises(ClientError) as e:
        acm.export_certificate(CertificateArn=arn, Passphrase=b"correct horse")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "not a private certificate" in e.value.response["Error"]["Message"]


def test_exportable_public_certificates_are_refused(acm):
    with pytest.raises(ClientError) as e:
        acm.request_certificate(
            DomainName=f"{uniq('x')}.example.com", ValidationMethod="DNS", Options={"Export": "ENABLED"}
        )
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    arn = acm.request_certificate(
        DomainName=f"{uniq('x')}.example.com", ValidationMethod="DNS", Options={"Export": "DISABLED"}
    )["CertificateArn"]
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Options"]["Export"] == "DISABLED"


def test_issued_certificate_and_root_survive_restart(fulmar, acm):
    root = root_pem(fulmar)
    domain = f"{uniq('keep')}.example.com"
    arn = request_and_validate(fulmar, acm, domain, "EC_prime256v1")
    before = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    body = acm.get_certificate(CertificateArn=arn)
    fulmar.restart()
    assert root_pem(fulmar) == root
    after = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert (after["Status"], after["Serial"], after["NotAfter"]) == ("ISSUED", before["Serial"], before["NotAfter"])
    again = acm.get_certificate(CertificateArn=arn)
    assert (again["Certificate"], again["CertificateChain"]) == (body["Certificate"], body["CertificateChain"])


def test_imported_certificate_is_returned_as_given(acm):
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    domain = f"{uniq('imp')}.example.net"
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Import CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(7)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(0x0BADC0DE)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    chain = ca_cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    arn = acm.import_certificate(Certificate=pem, PrivateKey=key_pem, CertificateChain=chain)["CertificateArn"]
    c = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert c["Type"] == "IMPORTED" and c["Serial"] == "0b:ad:c0:de" and c["Issuer"] != "Fulmar"
    assert "RenewalSummary" not in c and c["RenewalEligibility"] == "INELIGIBLE"
    got = acm.get_certificate(CertificateArn=arn)
    assert got["Certificate"].strip() == pem.decode().strip()
    assert got["CertificateChain"].strip() == chain.decode().strip()
    no_private_key(c, got)


def test_https_listener_serves_the_issued_certificate(fulmar, acm, network, tmp_path):
    """SC7: request, validate by DNS, attach to an HTTPS listener; a client that trusts
    Fulmar's root (and nothing else) completes the handshake by name."""
    root = root_pem(fulmar)
    (tmp_path / "root.pem").write_bytes(root)
    domain = f"{uniq('tls')}.example.com"
    arn = request_and_validate(fulmar, acm, domain, sans=(f"www.{domain}",))
    lb = create_alb(fulmar.elbv2, network)
    port = 8443
    fulmar.elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=port,
        Certificates=[{"CertificateArn": arn}],
        DefaultActions=fixed("200", "over tls"),
    )
    addr = lb_address(lb)
    wait_listening(addr, port)
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["RenewalEligibility"] == "ELIGIBLE"
    ctx = ssl.create_default_context(cafile=str(tmp_path / "root.pem"))
    for name in (domain, f"www.{domain}"):
        with socket.create_connection((addr, port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                served = x509.load_der_x509_certificate(s.getpeercert(binary_form=True))
                s.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
                answer = b""
                while chunk := s.recv(4096):
                    answer += chunk
        assert served.serial_number == x509.load_pem_x509_certificate(
            acm.get_certificate(CertificateArn=arn)["Certificate"].encode()
        ).serial_number
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"over tls"), answer[:200]
    # A client that does not trust the root refuses the handshake.
    with socket.create_connection((addr, port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context(cafile=None).wrap_socket(raw, server_hostname=domain)


def test_reset_forgets_certificates_not_the_authority(fulmar, acm):
    """Last in the module: a reset forgets every resource, not the root users already trust."""
    root = root_pem(fulmar)
    arn = request_and_validate(fulmar, acm, f"{uniq('gone')}.example.com", "EC_prime256v1")
    requests.post(f"{fulmar.endpoint}/_fulmar/reset", timeout=10).raise_for_status()
    assert root_pem(fulmar) == root
    with pytest.raises(ClientError) as e:
        acm.describe_certificate(CertificateArn=arn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
