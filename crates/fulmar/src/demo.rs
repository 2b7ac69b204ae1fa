//! `fulmar demo`: a first look without reading. Starts Fulmar in this process (the
//! same `serve` as `fulmar serve`, on a temporary data directory), two small sample
//! backends on loopback, and builds SC1 — a VPC's security group, an Application Load
//! Balancer, a target group with both backends, an HTTP listener, access logs on —
//! through the real API: every call is a SigV4-signed HTTP request to the API socket,
//! exactly as the aws CLI would send it. Then it prints what to try and serves until
//! Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Address of the AWS API endpoint the demo serves.
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub api_addr: SocketAddr,
    /// Address of the DNS server the demo serves.
    #[arg(long, default_value = "127.0.0.1:8053")]
    pub dns_addr: SocketAddr,
    /// Loopback range the demo's load balancer gets its address from.
    #[arg(long, default_value = "127.10.0.0/16")]
    pub lb_address_pool: ipnet::Ipv4Net,
    /// Data directory (default: a fresh temporary directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

const REGION: &str = "us-east-1";
const LISTENER_PORT: u16 = 8080;

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("fulmar-demo-{}", std::process::id())));
    let serve_args = crate::serve::ServeArgs {
        data_dir: data_dir.clone(),
        api_addr: args.api_addr,
        dns_addr: args.dns_addr,
        client_locations: None,
        lb_address_pool: args.lb_address_pool,
        account_id: "000000000000".into(),
        workers: None,
        allow_cross_vpc_security_groups: false,
    };
    let server = std::thread::spawn(move || crate::serve::run(serve_args));
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let built = runtime.block_on(async {
        let a = backend("hello from A").await?;
        let b = backend("hello from B").await?;
        wait_ready(args.api_addr, &server).await?;
        let api = Api { addr: args.api_addr };
        let address = build(&api, [a, b]).await?;
        // The data plane binds the listener right after the commit; wait for it.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect((address.as_str(), LISTENER_PORT))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok::<_, anyhow::Error>((address, a, b))
    });
    let (address, a, b) = match built {
        Ok(v) => v,
        Err(e) => {
            if server.is_finished() {
                if let Ok(Err(serve_error)) = server.join() {
                    return Err(serve_error.context("fulmar serve stopped"));
                }
            }
            return Err(e);
        }
    };
    let endpoint = format!("http://{}", args.api_addr);
    println!(
        "\nFulmar demo is running: an Application Load Balancer on {address}:{LISTENER_PORT} \
         forwarding to two backends ({a} and {b}).\n\nTry:\n\n  \
         curl -s http://{address}:{LISTENER_PORT}/\n  \
         for i in 1 2 3 4; do curl -s http://{address}:{LISTENER_PORT}/; done   # A, B, A, B\n  \
         curl -s {endpoint}/metrics | grep RequestCount\n\n\
         The AWS API (credentials test/test):\n\n  \
         export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION={REGION}\n  \
         aws --endpoint-url {endpoint} elbv2 describe-target-health --target-group-arn \"$(aws --endpoint-url {endpoint} elbv2 describe-target-groups --query 'TargetGroups[0].TargetGroupArn' --output text)\"\n\n\
         Access logs (ALB format, a gzip file every 5 minutes): {}/access-logs/\n\
         Press Ctrl-C to stop.\n",
        data_dir.display()
    );
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    // `serve` returns on Ctrl-C or SIGTERM; the backends die with this process.
    let result = server
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))?;
    drop(runtime);
    result
}

async fn wait_ready(api: SocketAddr, server: &std::thread::JoinHandle<anyhow::Result<()>>) -> anyhow::Result<()> {
    for _ in 0..200 {
        if server.is_finished() {
            bail!("fulmar serve stopped before it was ready");
        }
        if tokio::net::TcpStream::connect(api).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the API on {api} did not come up")
}

/// A sample backend on an ephemeral loopback port: answers `<greeting>` to everything.
async fn backend(greeting: &'static str) -> anyhow::Result<SocketAddr> {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = socket.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = socket.accept().await {
            let service = hyper::service::service_fn(move |_req| async move {
                Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(format!("{greeting}\n")))))
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    Ok(addr)
}

/// SC1 through the API; returns the load balancer's address.
async fn build(api: &Api, backends: [SocketAddr; 2]) -> anyhow::Result<String> {
    let ec2 = |action: &str, params: &[(&str, &str)]| api.call("ec2", "2016-11-15", action, owned(params));
    let vpcs = ec2(
        "DescribeVpcs",
        &[("Filter.1.Name", "is-default"), ("Filter.1.Value.1", "true")],
    )
    .await?;
    let vpc = tag(&vpcs, "vpcId").context("no default VPC")?;
    let subnets = ec2(
        "DescribeSubnets",
        &[("Filter.1.Name", "vpc-id"), ("Filter.1.Value.1", &vpc)],
    )
    .await?;
    let subnets = tags(&subnets, "subnetId");
    if subnets.len() < 2 {
        bail!("the default VPC has fewer than two subnets");
    }
    let name = format!("demo-{}", std::process::id() % 100_000);
    let sg = ec2(
        "CreateSecurityGroup",
        &[
            ("GroupName", &name),
            ("GroupDescription", "fulmar demo load balancer"),
            ("VpcId", &vpc),
        ],
    )
    .await?;
    let sg = tag(&sg, "groupId").context("CreateSecurityGroup returned no groupId")?;
    let port = LISTENER_PORT.to_string();
    ec2(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupId", &sg),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", &port),
            ("IpPermissions.1.ToPort", &port),
            ("IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"),
        ],
    )
    .await?;

    let elbv2 = |action: &str, params: Vec<(&str, &str)>| {
        api.call("elasticloadbalancing", "2015-12-01", action, owned(&params))
    };
    let lb = elbv2(
        "CreateLoadBalancer",
        vec![
            ("Name", &name),
            ("Subnets.member.1", &subnets[0]),
            ("Subnets.member.2", &subnets[1]),
            ("SecurityGroups.member.1", &sg),
        ],
    )
    .await?;
    let lb_arn = tag(&lb, "LoadBalancerArn").context("CreateLoadBalancer returned no ARN")?;
    let described = elbv2("DescribeLoadBalancers", vec![("LoadBalancerArns.member.1", &lb_arn)]).await?;
    let address = tag(&described, "IpAddress").context("the load balancer has no address")?;
    elbv2(
        "ModifyLoadBalancerAttributes",
        vec![
            ("LoadBalancerArn", &lb_arn),
            ("Attributes.member.1.Key", "access_logs.s3.enabled"),
            ("Attributes.member.1.Value", "true"),
            ("Attributes.member.2.Key", "access_logs.s3.bucket"),
            ("Attributes.member.2.Value", "demo-logs"),
        ],
    )
    .await?;
    let tg = elbv2(
        "CreateTargetGroup",
        vec![
            ("Name", &name),
            ("Protocol", "HTTP"),
            ("Port", "80"),
            ("VpcId", &vpc),
            ("TargetType", "ip"),
            ("HealthCheckIntervalSeconds", "5"),
            ("HealthCheckTimeoutSeconds", "2"),
            ("HealthyThresholdCount", "2"),
        ],
    )
    .await?;
    let tg_arn = tag(&tg, "TargetGroupArn").context("CreateTargetGroup returned no ARN")?;
    let ports = backends.map(|b| b.port().to_string());
    elbv2(
        "RegisterTargets",
        vec![
            ("TargetGroupArn", &tg_arn),
            ("Targets.member.1.Id", "127.0.0.1"),
            ("Targets.member.1.Port", &ports[0]),
            ("Targets.member.2.Id", "127.0.0.1"),
            ("Targets.member.2.Port", &ports[1]),
        ],
    )
    .await?;
    elbv2(
        "CreateListener",
        vec![
            ("LoadBalancerArn", &lb_arn),
            ("Protocol", "HTTP"),
            ("Port", &port),
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", &tg_arn),
        ],
    )
    .await?;
    Ok(address)
}

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The first `<name>value</name>` in an XML answer.
fn tag(xml: &str, name: &str) -> Option<String> {
    tags(xml, name).into_iter().next()
}

fn tags(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        out.push(rest[..j].to_owned());
        rest = &rest[j..];
    }
    out
}

/// A client of the AWS Query protocol, signing every call with SigV4 (`test`/`test`).
struct Api {
    addr: SocketAddr,
}

impl Api {
    fn call(
        &self,
        service: &'static str,
        version: &'static str,
        action: &str,
        params: Vec<(String, String)>,
    ) -> impl std::future::Future<Output = anyhow::Result<String>> + '_ {
        let action = action.to_owned();
        async move { self.send(service, version, &action, params).await }
    }

    async fn send(
        &self,
        service: &str,
        version: &str,
        action: &str,
        params: Vec<(String, String)>,
    ) -> anyhow::Result<String> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action).append_pair("Version", version);
        for (k, v) in params {
            form.append_pair(&k, &v);
        }
        // AWS's canonical form encoding: `%20`, never `+`.
        let body = form.finish().replace('+', "%20");
        let host = self.addr.to_string();
        let amz_date = amz_date(SystemTime::now());
        let date = &amz_date[..8];
        let payload_hash = hex::encode(Sha256::digest(body.as_bytes()));
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let canonical = format!(
            "POST\n/\n\ncontent-type:{content_type}\nhost:{host}\nx-amz-date:{amz_date}\n\ncontent-type;host;x-amz-date\n{payload_hash}"
        );
        let scope = format!("{date}/{REGION}/{service}/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut key = hmac(b"AWS4test", date.as_bytes());
        for part in [REGION, service, "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=test/{scope}, SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
        );
        let req = http::Request::post("/")
            .header("host", &host)
            .header("content-type", content_type)
            .header("x-amz-date", &amz_date)
            .header("authorization", authorization)
            .body(Full::new(Bytes::from(body)))?;
        let stream = tokio::net::TcpStream::connect(self.addr).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let text = String::from_utf8_lossy(&resp.into_body().collect().await?.to_bytes()).into_owned();
        if !status.is_success() {
            bail!("{action} failed ({status}): {text}");
        }
        Ok(text)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // Invariant: HMAC-SHA256 accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `20261124T060031Z`.
fn amz_date(t: SystemTime) -> String {
    let iso = fulmar_alb::accesslog::iso8601(t);
    // 2026-11-24T06:00:31.123456Z → 20261124T060031Z
    format!(
        "{}{}{}T{}{}{}Z",
        &iso[0..4],
        &iso[5..7],
        &iso[8..10],
        &iso[11..13],
        &iso[14..16],
        &iso[17..19]
    )
}
