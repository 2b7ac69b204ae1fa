"""Helpers shared by Fulmar's integration tests.

Everything here talks to Fulmar the way a user does: a child process started
from the release binary, boto3 and the aws CLI over its API port, curl and
`requests` against the load balancers' loopback addresses. Nothing here knows
how Fulmar is built inside; the expectations come from AWS's documentation and
the botocore service models.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import requests
from botocore.config import Config

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Health checks as fast as AWS allows: interval 5 s (the minimum), two checks
# either way, 2 s timeout (the minimum).
FAST_HEALTH_CHECK = dict(
    HealthCheckIntervalSeconds=5,
    HealthyThresholdCount=2,
    UnhealthyThresholdCount=2,
    HealthCheckTimeoutSeconds=2,
    HealthCheckPath="/health",
)
# Long enough for: a first check, a second one 5 s later, and slack for a busy CI machine.
HEALTH_DEADLINE = 40.0


def uniq(prefix: str) -> str:
    """A resource name unique within the run (AWS names: <= 32 chars, alnum and '-')."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def publish_validation_records(fulmar, domain: str, certificate: dict) -> None:
    """Publish every DNS validation CNAME of a described ACM certificate in a new public
    hosted zone for `domain` (what issues the certificate)."""
    r53 = fulmar.client("route53")
    zone = r53.create_hosted_zone(Name=domain, CallerReference=uniq("ref"))["HostedZone"]["Id"]
    records = {(o["ResourceRecord"]["Name"], o["ResourceRecord"]["Value"]) for o in certificate["DomainValidationOptions"]}
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {"Name": name, "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": value}]},
        }
        for name, value in sorted(records)
    ]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_dns_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP (a DNS server binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP")


def poll(fn, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Call fn until it returns a truthy value; return it, or fail after timeout.

    fn may raise AssertionError to say 'not yet'; the last one is reported."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last = value
        except AssertionError as e:  # not yet
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


# --------------------------------------------------------------------------- #
# The Fulmar process
# --------------------------------------------------------------------------- #


def fulmar_binary() -> Path:
    p = Path(os.environ.get("FULMAR_BIN", REPO_ROOT / "target" / "release" / "fulmar"))
    if not p.is_file() or not os.access(p, os.X_OK):
        raise RuntimeError(f"Fulmar binary not found at {p} (build it: cargo build --release, or set FULMAR_BIN)")
    return p


def aws_cli_binary() -> str:
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    found = shutil.which("aws")
    if not found:
        raise RuntimeError("aws CLI not found (scripts/test installs it into .venv)")
    return found


def client_config(**kw) -> Config:
    # parameter_validation=False: out-of-range values reach the server, so the
    # tests see Fulmar's own validation, as a raw API caller would.
    return Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        parameter_validation=False,
        **kw,
    )


class FulmarServer:
    """One `fulmar serve` child process with its own data dir, API port and LB address pool."""

    def __init__(self, workdir: Path, pool: str):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "fulmar.log"
        self.pool = pool
        self.pool_net = ipaddress.ip_network(pool)
        self.api_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.api_port}"
        # Its own DNS port, so that no two servers (or a user's) fight over the default.
        self.dns_port = free_dns_port()
        self.proc: subprocess.Popen | None = None
        self.exit_codes: list[int] = []  # exit status of every stop()
        self._clients: dict = {}

    # -- process ------------------------------------------------------------
    def command(self) -> list[str]:
        return [
            str(fulmar_binary()),
            "serve",
            "--data-dir", str(self.data_dir),
            "--api-addr", f"127.0.0.1:{self.api_port}",
            "--dns-addr", f"127.0.0.1:{self.dns_port}",
            "--lb-address-pool", self.pool,
            "--account-id", ACCOUNT_ID,
        ]

    def start(self, timeout: float = 10.0):
        log = open(self.log_path, "ab")
        log.write(f"\n===== start {time.strftime('%H:%M:%S')}: {' '.join(self.command())}\n".encode())
        log.flush()
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env.setdefault("RUST_BACKTRACE", "1")
        env.setdefault("NO_COLOR", "1")
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"fulmar exited with {self.proc.returncode} before becoming ready\n{self.log_tail()}"
                )
            try:
                r = requests.get(self.endpoint + "/_fulmar/health", timeout=1)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except requests.RequestException as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(f"fulmar not ready on {self.endpoint} after {timeout}s ({last})\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            rc = "killed: no exit within %ss of SIGTERM" % timeout
        self.exit_codes.append(rc)
        return rc

    def restart(self) -> int:
        """SIGTERM, then start again on the same data dir, API port and pool."""
        rc = self.stop()
        self.start()
        return rc

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text[-lines:])

    # -- clients ------------------------------------------------------------
    def client(self, service: str, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, **cfg):
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=client_config(**cfg),
        )

    @property
    def elbv2(self):
        if "elbv2" not in self._clients:
            self._clients["elbv2"] = self.client("elbv2")
        return self._clients["elbv2"]

    @property
    def ec2(self):
        if "ec2" not in self._clients:
            self._clients["ec2"] = self.client("ec2")
        return self._clients["ec2"]

    def cli_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=REGION,
            AWS_DEFAULT_OUTPUT="json",
            AWS_PAGER="",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
        )
        return env

    def aws_run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run `aws --endpoint-url <fulmar> <args>`; return the completed process."""
        cmd = [aws_cli_binary(), "--endpoint-url", self.endpoint, "--output", "json", *args]
        return subprocess.run(cmd, env=self.cli_env(), capture_output=True, text=True, timeout=timeout)

    def aws(self, *args: str, timeout: float = 60):
        """Run the aws CLI, require success, return its parsed JSON output (None when empty)."""
        p = self.aws_run(*args, timeout=timeout)
        assert p.returncode == 0, f"aws {' '.join(args)} failed ({p.returncode}):\n{p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else None


# --------------------------------------------------------------------------- #
# Backends: tiny HTTP servers standing in for the user's instances
# --------------------------------------------------------------------------- #


class Backend:
    """A threaded HTTP/1.1 server on 127.0.0.1 (or `host`) that names itself and echoes the request.

    Any request answers 200 with JSON {"backend", "method", "path", "headers", "body"}
    and the header X-Backend: <name>. The health path (/health) answers
    `health_status` after `health_delay` seconds; ordinary requests answer
    `request_status`. A query parameter `fulmar_sleep=<seconds>` delays the answer to an
    ordinary request, `fulmar_set_cookie=<name>=<value>` adds that Set-Cookie.
    stop() closes the listening socket (connections are refused), start() reopens it."""

    health_path = "/health"

    def __init__(self, name: str, port: int | None = None, host: str = "127.0.0.1"):
        self.name = name
        self.host = host  # any loopback address (127.0.0.0/8) works on Linux
        self.port = port or free_port(host)
        self.health_status = 200
        self.health_delay = 0.0
        self.request_status = 200
        self.requests: list[dict] = []  # ordinary requests received
        self.health_checks: list[dict] = []  # health-check requests received
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def target(self) -> dict:
        return {"Id": self.host, "Port": self.port}

    @property
    def key(self) -> tuple:
        return (self.host, self.port)

    def start(self):
        if self._server is not None:
            return
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode(errors="replace") if length else ""
                parsed = urllib.parse.urlsplit(self.path)
                record = {
                    "backend": backend.name,
                    "method": self.command,
                    "path": self.path,
                    "headers": [[k, v] for k, v in self.headers.items()],
                    "body": body,
                    "client": self.client_address[0],
                }
                if parsed.path == backend.health_path:
                    with backend._lock:
                        backend.health_checks.append(record)
                    if backend.health_delay:
                        time.sleep(backend.health_delay)
                    status = backend.health_status
                else:
                    with backend._lock:
                        backend.requests.append(record)
                    q = urllib.parse.parse_qs(parsed.query)
                    if "fulmar_sleep" in q:
                        time.sleep(float(q["fulmar_sleep"][0]))
                    status = backend.request_status
                payload = json.dumps(record).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("X-Backend", backend.name)
                    for cookie in urllib.parse.parse_qs(parsed.query).get("fulmar_set_cookie", []):
                        self.send_header("Set-Cookie", cookie + "; Path=/")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((self.host, self.port), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def reset(self):
        self.health_status = 200
        self.health_delay = 0.0
        self.request_status = 200
        self.start()


# --------------------------------------------------------------------------- #
# HTTP clients: curl (a real client nobody here wrote) and requests
# --------------------------------------------------------------------------- #


@dataclass
class Response:
    status: int
    headers: list  # [(lower-case name, value)]
    body: str
    reason: str = ""

    def header(self, name: str):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def header_all(self, name: str) -> list:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def json(self):
        return json.loads(self.body)

    @property
    def backend(self):
        """The name of the backend that answered, or None when the LB answered itself."""
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        return data.get("backend") if isinstance(data, dict) else None

    def received_header(self, name: str):
        """A header as the backend received it (from the echoed request)."""
        values = [v for k, v in self.json()["headers"] if k.lower() == name.lower()]
        return values[0] if values else None


def curl(url: str, *, host=None, headers=(), method=None, interface=None, data=None, timeout=10.0) -> Response:
    """One request with the curl binary; returns status, headers and body."""
    cmd = ["curl", "-sS", "-i", "--http1.1", "--noproxy", "*", "--max-time", str(timeout)]
    if host:
        cmd += ["-H", f"Host: {host}"]
    for h in headers:
        cmd += ["-H", h]
    if method:
        cmd += ["-X", method]
    if interface:
        cmd += ["--interface", interface]
    if data is not None:
        cmd += ["--data-binary", data]
    cmd.append(url)
    p = subprocess.run(cmd, capture_output=True, timeout=timeout + 5)
    if p.returncode != 0:
        raise CurlError(p.returncode, p.stderr.decode(errors="replace").strip(), url)
    return parse_http_response(p.stdout)


class CurlError(Exception):
    def __init__(self, code, stderr, url):
        super().__init__(f"curl exit {code} for {url}: {stderr}")
        self.code = code


def parse_http_response(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    m = re.match(r"HTTP/\d(?:\.\d)?\s+(\d{3})\s*(.*)", lines[0])
    assert m, f"not an HTTP response: {raw[:200]!r}"
    headers = []
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.append((k.strip().lower(), v.strip()))
    return Response(int(m.group(1)), headers, body.decode(errors="replace"), m.group(2))


_session = requests.Session()
_session.trust_env = False  # never through a proxy from the environment


def http(url: str, *, method="GET", host=None, headers=None, cookies=None, timeout=10.0, fresh=False) -> Response:
    """One request with `requests` (keep-alive pool shared unless fresh=True); no redirects followed."""
    h = dict(headers or {})
    if host:
        h["Host"] = host
    s = _session
    if fresh:
        s = requests.Session()
        s.trust_env = False
    r = s.request(method, url, headers=h, cookies=cookies, timeout=timeout, allow_redirects=False)
    hdrs = [(k.lower(), v) for k, v in r.raw.headers.items()]
    return Response(r.status_code, hdrs, r.text, r.reason or "")


def backends_seen(url: str, n: int, **kw) -> list:
    """Send n requests; return the list of answering backends (None for LB answers)."""
    out = []
    for _ in range(n):
        r = http(url, **kw)
        assert r.status == 200, f"{url}: HTTP {r.status}: {r.body[:200]}"
        out.append(r.backend)
    return out


# --------------------------------------------------------------------------- #
# Building AWS resources
# --------------------------------------------------------------------------- #


@dataclass
class Network:
    vpc_id: str
    subnet_ids: list
    azs: list
    sg_id: str
    extra: dict = field(default_factory=dict)


_vpc_counter = iter(range(1, 250))


# The regular expression of AWS's Athena table for ALB connection logs (Athena user
# guide, "Create the table for ALB connection logs"): the standard parser of the format.
CONN_LOG_FIELDS = (
    "time", "client_ip", "client_port", "listener_port", "tls_protocol", "tls_cipher",
    "tls_handshake_latency", "leaf_client_cert_subject", "leaf_client_cert_validity",
    "leaf_client_cert_serial_number", "tls_verify_status", "conn_trace_id",
)
CONN_LOG_REGEX = re.compile(
    r'([^ ]*) ([^ ]*) ([0-9]*) ([0-9]*) ([A-Za-z0-9.-]*) ([^ ]*) ([-.0-9]*) "([^"]*)" ([^ ]*) ([^ ]*) ([^ ]*) ?([^ ]*)?( .*)?'
)


def connection_log_entries(root: Path) -> list:
    """Every connection-log entry delivered under `root` (a bucket's directory), as
    dicts of AWS's field names, parsed with AWS's own Athena expression; the files are
    checked to be named as ELB names them."""
    import gzip

    entries = []
    for f in root.rglob("conn_log_*.log.gz"):
        assert re.fullmatch(
            r"conn_log_\d{12}_elasticloadbalancing_[a-z0-9-]+_app\.[^.]+\.[0-9a-f]+_\d{8}T\d{4}Z_[0-9.]+_[0-9a-z]{8}\.log\.gz",
            f.name,
        ), f.name
        for line in gzip.decompress(f.read_bytes()).decode().splitlines():
            m = CONN_LOG_REGEX.fullmatch(line)
            assert m and m.group(13) is None, line
            entries.append(dict(zip(CONN_LOG_FIELDS, m.groups())))
    return entries


def make_network(ec2, azs=("us-east-1a", "us-east-1b")) -> Network:
    """A VPC with one subnet per AZ and a security group, as a user builds it first."""
    second = next(_vpc_counter)
    vpc = ec2.create_vpc(CidrBlock=f"10.{second}.0.0/16")["Vpc"]
    subnets = []
    for i, az in enumerate(azs):
        s = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=f"10.{second}.{i + 1}.0/24", AvailabilityZone=az)
        subnets.append(s["Subnet"]["SubnetId"])
    sg = ec2.create_security_group(GroupName=uniq("alb-sg"), Description="test ALB group", VpcId=vpc["VpcId"])
    # A new group allows nothing inbound; open it to loopback clients, as a user opens
    # their load balancer's group to the clients it serves.
    ec2.authorize_security_group_ingress(
        GroupId=sg["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "127.0.0.0/8"}]}],
    )
    return Network(vpc["VpcId"], subnets, list(azs), sg["GroupId"])


def wait_active(elbv2, lb_arn: str, timeout: float = 15.0) -> dict:
    def check():
        lb = elbv2.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"][0]
        return lb if lb["State"]["Code"] == "active" else None

    return poll(check, timeout, 0.1, f"load balancer {lb_arn} to become active")


def create_alb(elbv2, net: Network, name: str | None = None, **kw) -> dict:
    """CreateLoadBalancer with the network's subnets and group; waits for State active."""
    params = dict(Name=name or uniq("alb"), Subnets=net.subnet_ids, SecurityGroups=[net.sg_id])
    params.update(kw)
    lb = elbv2.create_load_balancer(**params)["LoadBalancers"][0]
    return wait_active(elbv2, lb["LoadBalancerArn"])


def lb_address(lb: dict) -> str:
    """The loopback address Fulmar gives the load balancer (the same in every AZ entry)."""
    addrs = {
        a["IpAddress"]
        for az in lb.get("AvailabilityZones", [])
        for a in az.get("LoadBalancerAddresses", [])
        if a.get("IpAddress")
    }
    assert len(addrs) == 1, f"expected one LoadBalancerAddresses IpAddress, got {addrs} in {lb.get('AvailabilityZones')}"
    return addrs.pop()


def wait_listening(addr: str, port: int, timeout: float = 5.0):
    def check():
        try:
            with socket.create_connection((addr, port), timeout=0.5):
                return True
        except OSError as e:
            raise AssertionError(str(e))

    poll(check, timeout, 0.05, f"a listener on {addr}:{port}")


def create_ip_target_group(elbv2, vpc_id: str, name: str | None = None, port: int = 80, **kw) -> dict:
    params = dict(
        Name=name or uniq("tg"), Protocol="HTTP", Port=port, VpcId=vpc_id, TargetType="ip", **FAST_HEALTH_CHECK
    )
    params.update(kw)
    return elbv2.create_target_group(**params)["TargetGroups"][0]


def forward(tg_arn: str) -> list:
    return [{"Type": "forward", "TargetGroupArn": tg_arn}]


def fixed(status: str, body: str = "", content_type: str = "text/plain") -> list:
    cfg = {"StatusCode": status, "ContentType": content_type}
    if body:
        cfg["MessageBody"] = body
    return [{"Type": "fixed-response", "FixedResponseConfig": cfg}]


def path_is(*values) -> list:
    return [{"Field": "path-pattern", "PathPatternConfig": {"Values": list(values)}}]


def host_is(*values) -> list:
    return [{"Field": "host-header", "HostHeaderConfig": {"Values": list(values)}}]


def create_listener(elbv2, lb: dict, port: int, actions: list) -> dict:
    lis = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port, DefaultActions=actions
    )["Listeners"][0]
    wait_listening(lb_address(lb), port)
    return lis


def target_states(elbv2, tg_arn: str, targets=None) -> dict:
    """{(ip, port): (state, reason)} from DescribeTargetHealth."""
    kw = {"TargetGroupArn": tg_arn}
    if targets:
        kw["Targets"] = targets
    out = {}
    for d in elbv2.describe_target_health(**kw)["TargetHealthDescriptions"]:
        th = d["TargetHealth"]
        out[(d["Target"]["Id"], d["Target"].get("Port"))] = (th["State"], th.get("Reason"))
    return out


def wait_target_states(elbv2, tg_arn: str, expected: dict, timeout: float = HEALTH_DEADLINE, targets=None) -> dict:
    """Poll DescribeTargetHealth until every key of `expected` has that state.

    expected maps (ip, port) -> state or (state, reason); returns the final states."""

    def check():
        states = target_states(elbv2, tg_arn, targets)
        for key, want in expected.items():
            got = states.get(key)
            if got is None:
                raise AssertionError(f"{key} missing from {states}")
            if isinstance(want, tuple):
                if got != want:
                    raise AssertionError(f"{key}: {got} != {want}; all: {states}")
            elif got[0] != want:
                raise AssertionError(f"{key}: {got} (want {want}); all: {states}")
        return states

    return poll(check, timeout, 0.25, f"target states {expected} in {tg_arn}")


# --------------------------------------------------------------------------- #
# DNS: dig (Debian's dnsutils), a real client nobody here wrote
# --------------------------------------------------------------------------- #


@dataclass
class DigAnswer:
    """One dig run's message: RCODE, header flags, and each section's records."""

    status: str  # NOERROR, NXDOMAIN, REFUSED, ...
    flags: set  # {"qr", "aa", "tc", ...}
    answer: list  # [(name, ttl, type, rdata)]
    authority: list
    additional: list
    text: str  # dig's whole output, for failure messages

    def values(self, rtype: str | None = None) -> list:
        """The rdata of the answer section (of one type, if given)."""
        return [r[3] for r in self.answer if rtype is None or r[2] == rtype]


_DIG_SECTIONS = {"ANSWER": "answer", "AUTHORITY": "authority", "ADDITIONAL": "additional"}


def parse_dig(text: str) -> list:
    """Every message in dig's default output (one per query in batch mode)."""
    out = []
    cur = None
    section = None
    for line in text.splitlines():
        m = re.search(r"->>HEADER<<- opcode: \w+, status: (\w+), id:", line)
        if m:
            cur = DigAnswer(m.group(1), set(), [], [], [], "")
            out.append(cur)
            section = None
            continue
        if cur is None:
            continue
        m = re.match(r";; flags: ([a-z ]*);", line)
        if m:
            cur.flags = set(m.group(1).split())
            continue
        m = re.match(r";; (\w+) SECTION:", line)
        if m:
            section = _DIG_SECTIONS.get(m.group(1))
            continue
        if not line.strip() or line.startswith(";"):
            if not line.strip():
                section = None
            continue
        if section:
            name, ttl, _cls, rtype, rdata = (line.split(None, 4) + [""])[:5]
            getattr(cur, section).append((name, int(ttl), rtype, rdata.strip()))
    return out


def dig_run(port: int, *args: str, server: str = "127.0.0.1", timeout: float = 30) -> subprocess.CompletedProcess:
    """Run `dig @server -p port <args>` (no ~/.digrc, no retries beyond dig's own)."""
    dig_bin = shutil.which("dig")
    if not dig_bin:
        raise RuntimeError("dig not found (scripts/test installs dnsutils)")
    cmd = [dig_bin, "-r", f"@{server}", "-p", str(port), "+time=2", "+tries=2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def dig(port: int, *args: str, **kw) -> DigAnswer:
    """One query with dig; its answer parsed (fails when dig gets no answer)."""
    p = dig_run(port, *args, **kw)
    msgs = parse_dig(p.stdout)
    assert p.returncode == 0 and msgs, f"dig {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    msgs[-1].text = p.stdout
    return msgs[-1]
