//! A load balancer's security groups gate its listeners (G6): a client no inbound rule
//! allows gets no answer at all — not a refusal, not an HTTP error — and is served on
//! its next connection once its network is authorized. Clients bind their own
//! 127.x source address to stand inside or outside the allowed CIDR.
//!
//! Both enforcement layers are tested: in process (the connection is accepted and
//! held silent) and, when this runs as root with `nft`, at the packet level (the SYN
//! is dropped, so the connection never even completes).

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fulmar_alb::{DataPlane, Enforcement, Options};
use fulmar_model::ec2::RulePeer;
use fulmar_model::{Config, SecurityGroup, SecurityGroupRule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio::time::timeout;

const SG: &str = "sg-0lb";
const SILENCE: Duration = Duration::from_secs(1);

/// What a client saw within [`SILENCE`].
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Nothing: the handshake did not complete (packets dropped).
    NoHandshake,
    /// Nothing: connected, sent a request, no byte and no close came back.
    Silent,
    Refused,
    /// The server closed without a byte.
    Closed,
    /// An HTTP answer (its first line and body).
    Served(String),
}

async fn attempt(source: Ipv4Addr, lb: SocketAddr) -> Outcome {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind((source, 0).into()).expect("bind a loopback source address");
    let mut stream = match timeout(SILENCE, socket.connect(lb)).await {
        Err(_) => return Outcome::NoHandshake,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Outcome::Refused,
        Ok(Err(e)) => panic!("connect from {source} to {lb}: {e}"),
        Ok(Ok(stream)) => stream,
    };
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n")
        .await
        .expect("send request");
    let mut answer = Vec::new();
    match timeout(SILENCE, stream.read_to_end(&mut answer)).await {
        Err(_) if answer.is_empty() => Outcome::Silent,
        Ok(Ok(0)) => Outcome::Closed,
        _ => Outcome::Served(String::from_utf8_lossy(&answer).into_owned()),
    }
}

fn tcp_from(id: &str, cidr: &str) -> SecurityGroupRule {
    SecurityGroupRule {
        id: id.into(),
        ip_protocol: "tcp".into(),
        from_port: Some(i32::from(PORT)),
        to_port: Some(i32::from(PORT)),
        peer: RulePeer::Cidr(cidr.parse().expect("cidr")),
        description: None,
        tags: Vec::new(),
    }
}

fn group(ingress: Vec<SecurityGroupRule>) -> SecurityGroup {
    SecurityGroup {
        id: SG.into(),
        region: "us-east-1".into(),
        name: "alb".into(),
        description: "alb".into(),
        vpc_id: "vpc-1".into(),
        owner_id: "000000000000".into(),
        ingress,
        egress: vec![],
        tags: vec![],
    }
}

/// One load balancer on `ip` answering 200 `hello` itself, with `SG` as its group.
fn gated(ip: Ipv4Addr, ingress: Vec<SecurityGroupRule>) -> Config {
    let mut c = config(ip, fixed("200", "hello"), vec![]);
    let mut lb = (*c.load_balancers[LB]).clone();
    lb.security_groups = vec![SG.into()];
    c.load_balancers.insert(LB.into(), Arc::new(lb));
    c.security_groups.insert(SG.into(), Arc::new(group(ingress)));
    c
}

fn start_with(config: Config, enforcement: Enforcement) -> (watch::Sender<Arc<Config>>, Arc<DataPlane>) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("fulmar_alb=debug")
        .with_test_writer()
        .try_init();
    let (tx, rx) = watch::channel(Arc::new(config));
    let plane = DataPlane::start_with(rx, Options::new([7; 32]), enforcement);
    (tx, plane)
}

/// Served within a few attempts (the snapshot is applied by a task).
async fn served_soon(source: Ipv4Addr, lb: SocketAddr) -> Outcome {
    let mut last = Outcome::Closed;
    for _ in 0..5 {
        last = attempt(source, lb).await;
        if matches!(last, Outcome::Served(_)) {
            break;
        }
    }
    last
}

fn assert_served(outcome: Outcome) {
    match outcome {
        Outcome::Served(text) => {
            assert!(text.starts_with("HTTP/1.1 200"), "{text}");
            assert!(text.ends_with("hello"), "{text}");
        }
        other => panic!("expected to be served, got {other:?}"),
    }
}

#[tokio::test]
async fn in_process_blocked_client_sees_nothing_until_its_cidr_is_authorized() {
    let ip = Ipv4Addr::new(127, 77, 9, 1);
    let lb = lb_addr(ip);
    let (tx, _plane) = start_with(
        gated(ip, vec![tcp_from("sgr-1", "127.50.0.0/16")]),
        Enforcement::InProcess,
    );
    let outsider = Ipv4Addr::new(127, 60, 0, 1);
    assert_eq!(attempt(outsider, lb).await, Outcome::Silent);
    assert_served(attempt(Ipv4Addr::new(127, 50, 0, 1), lb).await);

    // AuthorizeSecurityGroupIngress 127.60.0.0/16: the next connection is served.
    let rules = vec![tcp_from("sgr-1", "127.50.0.0/16"), tcp_from("sgr-2", "127.60.0.0/16")];
    tx.send(Arc::new(gated(ip, rules))).expect("send config");
    assert_served(served_soon(outsider, lb).await);

    // Revoked again: silence again for new connections.
    tx.send(Arc::new(gated(ip, vec![tcp_from("sgr-1", "127.50.0.0/16")])))
        .expect("send config");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(attempt(outsider, lb).await, Outcome::Silent);
}

#[tokio::test]
async fn a_group_that_allows_nothing_blocks_everyone_and_self_reference_admits_members() {
    let ip = Ipv4Addr::new(127, 77, 9, 3);
    let lb = lb_addr(ip);
    let (tx, _plane) = start_with(gated(ip, vec![]), Enforcement::InProcess);
    assert_eq!(attempt(Ipv4Addr::LOCALHOST, lb).await, Outcome::Silent);

    // Like a VPC's default group: all traffic from its own members only. The load
    // balancer's own address is a member; an outside client is not.
    let own = SecurityGroupRule {
        id: "sgr-self".into(),
        ip_protocol: "-1".into(),
        from_port: None,
        to_port: None,
        peer: RulePeer::Group {
            group_id: SG.into(),
            user_id: "000000000000".into(),
        },
        description: None,
        tags: Vec::new(),
    };
    tx.send(Arc::new(gated(ip, vec![own]))).expect("send config");
    assert_served(served_soon(ip, lb).await);
    assert_eq!(attempt(Ipv4Addr::LOCALHOST, lb).await, Outcome::Silent);
}

/// Deletes the test's nftables table however the test ends.
struct TableGuard(String);

impl Drop for TableGuard {
    fn drop(&mut self) {
        let _ = Command::new("nft").args(["delete", "table", "inet", &self.0]).output();
    }
}

fn nft_usable() -> bool {
    Command::new("nft")
        .args(["list", "tables"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn table_text(table: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", "inet", table])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn nftables_drops_blocked_clients_packets() {
    if !nft_usable() {
        eprintln!("skipped: nft is missing or this is not root");
        return;
    }
    let table = format!("fulmar_test_{}", std::process::id());
    let _guard = TableGuard(table.clone());
    let ip = Ipv4Addr::new(127, 77, 9, 2);
    let lb = lb_addr(ip);
    let (tx, plane) = start_with(
        gated(ip, vec![tcp_from("sgr-1", "127.50.0.0/16")]),
        Enforcement::Nftables { table: table.clone() },
    );
    let text = table_text(&table).expect("the table is installed");
    assert!(text.contains("127.50.0.0/16") && text.contains("drop"), "{text}");

    let outsider = Ipv4Addr::new(127, 60, 0, 1);
    assert_eq!(attempt(outsider, lb).await, Outcome::NoHandshake);
    assert_served(attempt(Ipv4Addr::new(127, 50, 0, 1), lb).await);

    let rules = vec![tcp_from("sgr-1", "127.50.0.0/16"), tcp_from("sgr-2", "127.60.0.0/16")];
    tx.send(Arc::new(gated(ip, rules))).expect("send config");
    assert_served(served_soon(outsider, lb).await);

    plane.shutdown().await;
    assert_eq!(table_text(&table), None, "shutdown removes the table");
}

#[tokio::test]
async fn auto_enforcement_uses_the_packet_filter_when_it_can_and_cleans_up() {
    let ip = Ipv4Addr::new(127, 77, 9, 4);
    let lb = lb_addr(ip);
    let (_tx, plane) = start_with(gated(ip, vec![tcp_from("sgr-1", "127.50.0.0/16")]), Enforcement::Auto);
    let ours = || {
        let out = Command::new("nft").args(["list", "tables", "inet"]).output();
        let listing = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let prefix = format!("table inet fulmar_{}_", std::process::id());
        listing
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let _guards: Vec<TableGuard> = ours()
        .iter()
        .filter_map(|l| l.strip_prefix("table inet ").map(|t| TableGuard(t.to_owned())))
        .collect();
    let expected = if nft_usable() {
        Outcome::NoHandshake
    } else {
        Outcome::Silent
    };
    assert_eq!(attempt(Ipv4Addr::new(127, 60, 0, 1), lb).await, expected);
    assert_served(attempt(Ipv4Addr::new(127, 50, 0, 1), lb).await);
    plane.shutdown().await;
    assert_eq!(ours(), Vec::<String>::new());
}

#[tokio::test]
async fn a_failing_packet_filter_falls_back_to_holding_connections_silent() {
    let ip = Ipv4Addr::new(127, 77, 9, 5);
    let lb = lb_addr(ip);
    // Not a valid table name: every nft transaction fails (or nft is missing).
    let enforcement = Enforcement::Nftables {
        table: "no such;table".into(),
    };
    let (_tx, _plane) = start_with(gated(ip, vec![tcp_from("sgr-1", "127.50.0.0/16")]), enforcement);
    assert_eq!(attempt(Ipv4Addr::new(127, 60, 0, 1), lb).await, Outcome::Silent);
    assert_served(attempt(Ipv4Addr::new(127, 50, 0, 1), lb).await);
}
