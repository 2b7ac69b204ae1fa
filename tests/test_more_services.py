"""STS GetCallerIdentity, SSM public AMI parameters, EC2 managed prefix lists and ACM
certificates, through boto3 against the real binary.

Expectations come from the botocore models (sts 2011-06-15, ssm 2014-11-06, ec2
2016-11-15, acm 2015-12-08) and the AWS API references: STS answers the caller's
account and ARN; SSM's GetParameters lists unknown names in InvalidParameters while
GetParameter answers ParameterNotFound; a prefix list has a pl- id, a version that
grows with each change of its entries, and at most MaxEntries entries; a requested ACM
certificate waits in PENDING_VALIDATION with a CNAME per name, an imported one is
ISSUED, and an HTTPS listener takes only an issued certificate (CertificateNotFound).
"""

from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from support import ACCOUNT_ID, create_alb, create_ip_target_group, forward, publish_validation_records, uniq

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.12-x86_64"


def error_of(excinfo) -> tuple[str, str]:
    e = excinfo.value.response["Error"]
    return e["Code"], e.get("Message", "")


# --- STS -------------------------------------------------------------------------------


def test_get_caller_identity_is_the_account_root(fulmar):
    ident = fulmar.client("sts").get_caller_identity()
    assert ident["Account"] == ACCOUNT_ID
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert ident["UserId"] == ACCOUNT_ID


# --- SSM -------------------------------------------------------------------------------


def test_public_ami_parameter_resolves_to_an_image_run_instances_accepts(fulmar, network):
    ssm = fulmar.client("ssm")
    resp = ssm.get_parameters(Names=[AL2023, "/aws/service/ami-amazon-linux-latest/no-such-image", "/my/own"])
    assert [p["Name"] for p in resp["Parameters"]] == [AL2023]
    assert sorted(resp["InvalidParameters"]) == ["/aws/service/ami-amazon-linux-latest/no-such-image", "/my/own"]
    p = resp["Parameters"][0]
    assert p["Type"] == "String" and p["DataType"] == "text" and p["Version"] >= 1
    assert p["ARN"] == f"arn:aws:ssm:us-east-1::parameter{AL2023}"
    assert p["Value"].startswith("ami-") and len(p["Value"]) == 21
    # Stable: the same name answers the same image every time.
    assert ssm.get_parameter(Name=AL2023)["Parameter"]["Value"] == p["Value"]
    inst = fulmar.ec2.run_instances(
        ImageId=p["Value"], InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=network.subnet_ids[0]
    )["Instances"][0]
    assert inst["ImageId"] == p["Value"]
    fulmar.ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])


def test_unknown_parameter_and_bad_requests(fulmar):
    ssm = fulmar.client("ssm")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/aws/service/ami-amazon-linux-latest/nothing")
    assert error_of(e)[0] == "ParameterNotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        ssm.get_parameters(Names=[f"/p/{i}" for i in range(11)])
    assert error_of(e)[0] == "ValidationException"


# --- EC2 managed prefix lists -------------------------------------------------------------


def test_prefix_list_lifecycle_versions_and_limits(fulmar):
    ec2 = fulmar.ec2
    name = uniq("pl")
    pl = ec2.create_managed_prefix_list(
        PrefixListName=name,
        AddressFamily="IPv4",
        MaxEntries=2,
        Entries=[{"Cidr": "10.1.0.5/24", "Description": "office"}],
        TagSpecifications=[{"ResourceType": "prefix-list", "Tags": [{"Key": "team", "Value": "net"}]}],
    )["PrefixList"]
    pl_id = pl["PrefixListId"]
    assert pl_id.startswith("pl-")
    assert pl["State"] == "create-complete" and pl["Version"] == 1 and pl["MaxEntries"] == 2
    assert pl["PrefixListArn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT_ID}:prefix-list/{pl_id}"
    assert pl["OwnerId"] == ACCOUNT_ID and pl["Tags"] == [{"Key": "team", "Value": "net"}]
    assert ec2.get_managed_prefix_list_entries(PrefixListId=pl_id)["Entries"] == [
        {"Cidr": "10.1.0.0/24", "Description": "office"}
    ]

    with pytest.raises(ClientError) as e:
        ec2.modify_managed_prefix_list(PrefixListId=pl_id, CurrentVersion=7, AddEntries=[{"Cidr": "10.2.0.0/24"}])
    assert error_of(e)[0] == "PrefixListVersionMismatch"
    with pytest.raises(ClientError) as e:
        ec2.modify_managed_prefix_list(
            PrefixListId=pl_id, CurrentVersion=1, AddEntries=[{"Cidr": "10.2.0.0/24"}, {"Cidr": "10.3.0.0/24"}]
        )
    assert error_of(e)[0] == "PrefixListMaxEntriesExceeded"
    with pytest.raises(ClientError) as e:
        ec2.modify_managed_prefix_list(PrefixListId=pl_id, AddEntries=[{"Cidr": "2001:db8::/32"}])
    assert error_of(e)[0] == "InvalidParameterValue"

    mod = ec2.modify_managed_prefix_list(
        PrefixListId=pl_id,
        CurrentVersion=1,
        AddEntries=[{"Cidr": "10.2.0.0/24"}],
        RemoveEntries=[{"Cidr": "10.1.0.0/24"}],
    )["PrefixList"]
    assert mod["Version"] == 2 and mod["State"] == "modify-complete"
    assert ec2.get_managed_prefix_list_entries(PrefixListId=pl_id)["Entries"] == [{"Cidr": "10.2.0.0/24"}]
    old = ec2.get_managed_prefix_list_entries(PrefixListId=pl_id, TargetVersion=1)["Entries"]
    assert old == [{"Cidr": "10.1.0.0/24", "Description": "office"}]
    # A rename alone keeps the version.
    assert ec2.modify_managed_prefix_list(PrefixListId=pl_id, PrefixListName=name + "x")["PrefixList"]["Version"] == 2

    found = ec2.describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [name + "x"]}])
    assert [p["PrefixListId"] for p in found["PrefixLists"]] == [pl_id]

    fulmar.restart()
    again = ec2.describe_managed_prefix_lists(PrefixListIds=[pl_id])["PrefixLists"][0]
    assert again["Version"] == 2 and again["PrefixListName"] == name + "x"

    deleted = ec2.delete_managed_prefix_list(PrefixListId=pl_id)["PrefixList"]
    assert deleted["State"] == "delete-complete"
    with pytest.raises(ClientError) as e:
        ec2.describe_managed_prefix_lists(PrefixListIds=[pl_id])
    assert error_of(e) == ("InvalidPrefixListID.NotFound", f"The prefix list ID '{pl_id}' does not exist")


def test_security_group_rules_reference_prefix_lists(fulmar, network):
    ec2 = fulmar.ec2
    pl_id = ec2.create_managed_prefix_list(
        PrefixListName=uniq("pl"), AddressFamily="IPv4", MaxEntries=1, Entries=[{"Cidr": "192.0.2.0/24"}]
    )["PrefixList"]["PrefixListId"]
    sg = ec2.create_security_group(GroupName=uniq("plgroup"), Description="pl", VpcId=network.vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": pl_id}]}
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])["SecurityGroupRules"]
    assert [r["PrefixListId"] for r in rules if not r["IsEgress"]] == [pl_id]
    perms = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]
    assert perms[0]["PrefixListIds"] == [{"PrefixListId": pl_id}]

    with pytest.raises(ClientError) as e:
        ec2.authorize_security_group_ingress(
            GroupId=sg,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "PrefixListIds": [{"PrefixListId": "pl-0abc1234"}]}
            ],
        )
    assert error_of(e)[0] == "InvalidPrefixListID.NotFound"
    # Deleting a list a rule still names is accepted, then fails: the list stays.
    assert ec2.delete_managed_prefix_list(PrefixListId=pl_id)["PrefixList"]["State"] == "delete-in-progress"
    failed = ec2.describe_managed_prefix_lists(PrefixListIds=[pl_id])["PrefixLists"][0]
    assert failed["State"] == "delete-failed" and sg in failed["StateMessage"]

    ec2.revoke_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": pl_id}]}
        ],
    )
    ec2.delete_managed_prefix_list(PrefixListId=pl_id)


# --- ACM -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def acm(fulmar):
    return fulmar.client("acm")


def self_signed(domain: str, sans=(), key=None, days=30):
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(0x0A1B2C)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert, pem, key_pem


def test_request_dns_validated_certificate(acm):
    domain = f"{uniq('site')}.example.com"
    arn = acm.request_certificate(
        DomainName=domain,
        ValidationMethod="DNS",
        SubjectAlternativeNames=[f"*.{domain}"],
        IdempotencyToken="tok1",
        Tags=[{"Key": "env", "Value": "test"}],
    )["CertificateArn"]
    assert arn.startswith(f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/")
    # Same token, same names: the same certificate.
    again = acm.request_certificate(
        DomainName=domain, ValidationMethod="DNS", SubjectAlternativeNames=[f"*.{domain}"], IdempotencyToken="tok1"
    )
    assert again["CertificateArn"] == arn
    c = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert c["Status"] == "PENDING_VALIDATION" and c["Type"] == "AMAZON_ISSUED"
    assert c["DomainName"] == domain and c["SubjectAlternativeNames"] == [domain, f"*.{domain}"]
    assert c["InUseBy"] == [] and c["KeyAlgorithm"] == "RSA-2048"
    opts = c["DomainValidationOptions"]
    assert [o["DomainName"] for o in opts] == [domain, f"*.{domain}"]
    for o in opts:
        assert o["ValidationMethod"] == "DNS" and o["ValidationStatus"] == "PENDING_VALIDATION"
        rr = o["ResourceRecord"]
        assert rr["Type"] == "CNAME"
        assert rr["Name"].startswith("_") and rr["Name"].endswith(f".{domain}.")
        assert rr["Value"].startswith("_") and rr["Value"].endswith(".acm-validations.aws.")
    # The wildcard is validated with the base name's record.
    assert opts[0]["ResourceRecord"]["Name"] == opts[1]["ResourceRecord"]["Name"]
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "env", "Value": "test"}]
    with pytest.raises(ClientError) as e:
        acm.get_certificate(CertificateArn=arn)
    assert error_of(e)[0] == "RequestInProgressException"


def test_list_certificates_filters_and_pages(acm):
    arns = [
        acm.request_certificate(DomainName=f"{uniq('p')}.example.org", ValidationMethod="DNS")["CertificateArn"]
        for _ in range(3)
    ]
    _, pem, key = self_signed(f"{uniq('imp')}.example.org")
    imported = acm.import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    pending = acm.list_certificates(CertificateStatuses=["PENDING_VALIDATION"])["CertificateSummaryList"]
    assert set(arns) <= {s["CertificateArn"] for s in pending}
    assert imported not in {s["CertificateArn"] for s in pending}
    issued = acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]
    assert imported in {s["CertificateArn"] for s in issued}
    seen, token = [], None
    while True:
        kw = {"MaxItems": 2} | ({"NextToken": token} if token else {})
        page = acm.list_certificates(**kw)
        assert len(page["CertificateSummaryList"]) <= 2
        seen += [s["CertificateArn"] for s in page["CertificateSummaryList"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) and set(arns + [imported]) <= set(seen)
    with pytest.raises(ClientError) as e:
        acm.list_certificates(CertificateStatuses=["BOGUS"])
    assert error_of(e)[0] == "ValidationException"


def test_import_get_and_tag_certificate(fulmar, acm):
    domain = f"{uniq('imp')}.example.net"
    cert, pem, key = self_signed(domain, sans=[domain, f"www.{domain}"])
    arn = acm.import_certificate(Certificate=pem, PrivateKey=key, Tags=[{"Key": "a", "Value": "1"}])["CertificateArn"]
    c = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert c["Status"] == "ISSUED" and c["Type"] == "IMPORTED"
    assert c["DomainName"] == domain and c["SubjectAlternativeNames"] == [domain, f"www.{domain}"]
    assert c["Subject"] == f"CN={domain}" and c["Serial"] == "0a:1b:2c"
    assert c["KeyAlgorithm"] == "RSA-2048" and c["SignatureAlgorithm"] == "SHA256WITHRSA"
    assert abs(c["NotAfter"].timestamp() - cert.not_valid_after_utc.timestamp()) < 1
    assert abs(c["NotBefore"].timestamp() - cert.not_valid_before_utc.timestamp()) < 1
    got = acm.get_certificate(CertificateArn=arn)
    assert got["Certificate"].strip() == pem.decode().strip()

    acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    tags = acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "3"), ("b", "2")]
    acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": "a"}])
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]

    # A key that is not the certificate's is refused; so is a body that is not a certificate.
    _, _, other_key = self_signed(domain)
    with pytest.raises(ClientError) as e:
        acm.import_certificate(Certificate=pem, PrivateKey=other_key)
    assert error_of(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        acm.import_certificate(Certificate=b"not a certificate", PrivateKey=key)
    assert error_of(e)[0] == "ValidationException"
    # An EC certificate is listed only when its key type is asked for.
    ec_cert = self_signed(f"ec.{domain}", key=ec.generate_private_key(ec.SECP256R1()))
    ec_arn = acm.import_certificate(Certificate=ec_cert[1], PrivateKey=ec_cert[2])["CertificateArn"]
    default_list = {s["CertificateArn"] for s in acm.list_certificates()["CertificateSummaryList"]}
    assert arn in default_list and ec_arn not in default_list
    ec_list = acm.list_certificates(Includes={"keyTypes": ["EC_prime256v1"]})["CertificateSummaryList"]
    assert [s["CertificateArn"] for s in ec_list] == [ec_arn]

    fulmar.restart()
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"
    acm.delete_certificate(CertificateArn=arn)
    with pytest.raises(ClientError) as e:
        acm.describe_certificate(CertificateArn=arn)
    assert error_of(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        acm.describe_certificate(CertificateArn="not-an-arn-but-long-enough")
    assert error_of(e)[0] == "ValidationException"


def test_https_listener_needs_an_issued_certificate(fulmar, acm, network):
    elbv2 = fulmar.elbv2
    lb = create_alb(elbv2, network)
    tg = create_ip_target_group(elbv2, network.vpc_id)
    domain = f"{uniq('tls')}.example.com"
    pending = acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]

    def https(cert_arn):
        return elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTPS",
            Port=8443,
            Certificates=[{"CertificateArn": cert_arn}],
            DefaultActions=forward(tg["TargetGroupArn"]),
        )

    for arn in (pending, pending.replace("us-east-1", "eu-west-1"), f"{pending[:-4]}ffff"):
        with pytest.raises(ClientError) as e:
            https(arn)
        assert error_of(e) == ("CertificateNotFound", f"Certificate '{arn}' not found")

    # Publishing the validation CNAME in a public hosted zone issues the certificate.
    publish_validation_records(fulmar, domain, acm.describe_certificate(CertificateArn=pending)["Certificate"])
    c = acm.describe_certificate(CertificateArn=pending)["Certificate"]
    assert c["Status"] == "ISSUED"
    assert c["DomainValidationOptions"][0]["ValidationStatus"] == "SUCCESS"

    listener = https(pending)["Listeners"][0]
    assert listener["Certificates"] == [{"CertificateArn": pending}]
    assert acm.describe_certificate(CertificateArn=pending)["Certificate"]["InUseBy"] == [lb["LoadBalancerArn"]]
    with pytest.raises(ClientError) as e:
        acm.delete_certificate(CertificateArn=pending)
    assert error_of(e)[0] == "ResourceInUseException"

    _, pem, key = self_signed(f"alt.{domain}")
    extra = acm.import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    elbv2.add_listener_certificates(ListenerArn=listener["ListenerArn"], Certificates=[{"CertificateArn": extra}])
    listed = elbv2.describe_listener_certificates(ListenerArn=listener["ListenerArn"])["Certificates"]
    assert {(c["CertificateArn"], c["IsDefault"]) for c in listed} == {(pending, True), (extra, False)}
    elbv2.remove_listener_certificates(ListenerArn=listener["ListenerArn"], Certificates=[{"CertificateArn": extra}])
    acm.delete_certificate(CertificateArn=extra)

    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    acm.delete_certificate(CertificateArn=pending)
