//! The server started on loopback with hand-built configurations, queried over UDP
//! and TCP like any DNS client would.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use fulmar_dns::{DnsServer, HealthOracle, Options};
use fulmar_model::route53::{FailoverRole, HostedZone, RecordSet, RoutingPolicy};
use fulmar_model::{Config, LoadBalancer};
use hickory_proto::op::Query;
use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::watch;

#[derive(Default)]
struct Oracle {
    down: Mutex<HashSet<String>>,
}

impl HealthOracle for Oracle {
    fn health_check(&self, id: &str) -> bool {
        !self.down.lock().unwrap().contains(id)
    }
    fn load_balancer(&self, dns_name: &str) -> bool {
        !self.down.lock().unwrap().contains(dns_name)
    }
}

fn rs(name: &str, rtype: &str, values: &[String], set: Option<(&str, RoutingPolicy, Option<&str>)>) -> RecordSet {
    let (id, policy, hc) = match set {
        Some((id, p, hc)) => (Some(id.to_string()), p, hc.map(String::from)),
        None => (None, RoutingPolicy::Simple, None),
    };
    RecordSet {
        zone_id: "Z1".into(),
        name: name.into(),
        rtype: rtype.into(),
        set_identifier: id,
        ttl: Some(60),
        records: values.to_vec(),
        alias: None,
        health_check_id: hc,
        policy,
    }
}

fn config() -> Config {
    let mut c = Config::default();
    c.hosted_zones.insert(
        "Z1".into(),
        Arc::new(HostedZone {
            id: "Z1".into(),
            name: "example.com.".into(),
            caller_reference: "r".into(),
            comment: None,
            private: false,
            vpcs: Vec::new(),
            name_servers: Vec::new(),
            created_ms: 0,
            tags: Vec::new(),
        }),
    );
    let v = |s: &str| vec![s.to_string()];
    let big: Vec<String> = (0..120).map(|i| format!("10.0.{}.{}", i / 200, i % 200)).collect();
    let sets = [
        rs("www.example.com.", "A", &v("192.0.2.1"), None),
        rs("big.example.com.", "A", &big, None),
        rs(
            "w.example.com.",
            "A",
            &v("10.1.0.1"),
            Some(("light", RoutingPolicy::Weighted(1), None)),
        ),
        rs(
            "w.example.com.",
            "A",
            &v("10.1.0.3"),
            Some(("heavy", RoutingPolicy::Weighted(3), None)),
        ),
        rs(
            "f.example.com.",
            "A",
            &v("10.2.0.1"),
            Some(("p", RoutingPolicy::Failover(FailoverRole::Primary), Some("hc-p"))),
        ),
        rs(
            "f.example.com.",
            "A",
            &v("10.2.0.2"),
            Some(("s", RoutingPolicy::Failover(FailoverRole::Secondary), None)),
        ),
    ];
    for s in sets {
        c.record_sets.insert(s.key(), Arc::new(s));
    }
    let lb = LoadBalancer {
        arn: "arn:lb".into(),
        name: "web".into(),
        dns_name: "web-1.us-east-1.elb.amazonaws.com".into(),
        canonical_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
        created_ms: 0,
        scheme: "internet-facing".into(),
        vpc_id: "vpc-1".into(),
        state: "active".into(),
        kind: "application".into(),
        subnets: Vec::new(),
        security_groups: Vec::new(),
        ip_address_type: "ipv4".into(),
        address: "127.0.10.1".parse().unwrap(),
        attributes: BTreeMap::new(),
        tags: Vec::new(),
    };
    c.load_balancers.insert(lb.arn.clone(), Arc::new(lb));
    c
}

struct Harness {
    server: Arc<DnsServer>,
    oracle: Arc<Oracle>,
    config: watch::Sender<Arc<Config>>,
}

fn start() -> Result<Harness> {
    let (tx, rx) = watch::channel(Arc::new(config()));
    let oracle = Arc::new(Oracle::default());
    let server = DnsServer::start("127.0.0.1:0".parse()?, rx, oracle.clone(), Options::default())?;
    Ok(Harness {
        server,
        oracle,
        config: tx,
    })
}

fn query(name: &str, rtype: RecordType, edns: bool) -> Message {
    let mut m = Message::query();
    m.metadata.id = rand_id(name);
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m
}

fn rand_id(name: &str) -> u16 {
    name.bytes()
        .fold(7u16, |a, b| a.wrapping_mul(31).wrapping_add(u16::from(b)))
}

async fn udp_raw(addr: SocketAddr, bytes: &[u8]) -> Result<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").await?;
    sock.send_to(bytes, addr).await?;
    let mut buf = vec![0u8; 65535];
    let n = tokio::time::timeout(Duration::from_secs(2), sock.recv(&mut buf))
        .await
        .context("UDP timeout")??;
    buf.truncate(n);
    Ok(buf)
}

async fn udp(addr: SocketAddr, m: &Message) -> Result<Message> {
    let out = udp_raw(addr, &m.to_vec()?).await?;
    let r = Message::from_vec(&out)?;
    if r.metadata.id != m.metadata.id {
        bail!("id mismatch");
    }
    Ok(r)
}

async fn tcp(addr: SocketAddr, m: &Message) -> Result<Message> {
    let mut s = TcpStream::connect(addr).await?;
    let bytes = m.to_vec()?;
    s.write_all(&(bytes.len() as u16).to_be_bytes()).await?;
    s.write_all(&bytes).await?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await?;
    let mut buf = vec![0u8; u16::from_be_bytes(len).into()];
    s.read_exact(&mut buf).await?;
    Ok(Message::from_vec(&buf)?)
}

fn a_values(m: &Message) -> Vec<String> {
    m.answers.iter().map(|r| r.data.to_string()).collect()
}

#[tokio::test]
async fn authoritative_negative_and_refused_answers() -> Result<()> {
    let h = start()?;
    let addr = h.server.local_addr();
    let r = udp(addr, &query("www.example.com.", RecordType::A, false)).await?;
    assert!(r.metadata.authoritative);
    assert!(!r.metadata.recursion_available);
    assert_eq!(a_values(&r), ["192.0.2.1"]);

    let r = udp(addr, &query("missing.example.com.", RecordType::A, true)).await?;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);

    let r = udp(addr, &query("www.example.com.", RecordType::MX, false)).await?;
    assert_eq!((r.metadata.response_code, r.answers.len()), (ResponseCode::NoError, 0));
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);

    let r = udp(addr, &query("example.org.", RecordType::A, false)).await?;
    assert_eq!(
        (r.metadata.response_code, r.metadata.authoritative),
        (ResponseCode::Refused, false)
    );

    let r = tcp(addr, &query("web-1.us-east-1.elb.amazonaws.com.", RecordType::A, false)).await?;
    assert_eq!(a_values(&r), ["127.0.10.1"]);
    Ok(())
}

#[tokio::test]
async fn garbage_gets_formerr() -> Result<()> {
    let h = start()?;
    let mut bytes = vec![0xBE, 0xEF, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
    bytes.extend_from_slice(&[0x3f, b'x', b'y']);
    let r = Message::from_vec(&udp_raw(h.server.local_addr(), &bytes).await?)?;
    assert_eq!(
        (r.metadata.id, r.metadata.response_code),
        (0xBEEF, ResponseCode::FormErr)
    );
    Ok(())
}

#[tokio::test]
async fn large_answers_truncate_over_udp_and_complete_over_tcp() -> Result<()> {
    let h = start()?;
    let addr = h.server.local_addr();
    let q = query("big.example.com.", RecordType::A, false);
    let r = udp(addr, &q).await?;
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    let r = tcp(addr, &q).await?;
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 120);
    // 120 A records (~1.9 KB) also exceed an advertised 1232 bytes.
    let r = udp(addr, &query("big.example.com.", RecordType::A, true)).await?;
    assert!(r.metadata.truncation);
    Ok(())
}

#[tokio::test]
async fn weighted_answers_follow_weights_over_1000_queries() -> Result<()> {
    let h = start()?;
    let addr = h.server.local_addr();
    let sock = UdpSocket::bind("127.0.0.1:0").await?;
    let mut heavy = 0;
    let mut buf = vec![0u8; 4096];
    for i in 0..1000u16 {
        let mut q = query("w.example.com.", RecordType::A, false);
        q.metadata.id = i;
        sock.send_to(&q.to_vec()?, addr).await?;
        let n = tokio::time::timeout(Duration::from_secs(2), sock.recv(&mut buf)).await??;
        let r = Message::from_vec(&buf[..n])?;
        assert_eq!(r.answers.len(), 1);
        if a_values(&r) == ["10.1.0.3"] {
            heavy += 1;
        }
    }
    // Expected 750; the binomial standard deviation is ~14, so ±70 is a 5-sigma band.
    assert!((680..=820).contains(&heavy), "heavy answered {heavy} of 1000");
    Ok(())
}

#[tokio::test]
async fn failover_follows_the_oracle() -> Result<()> {
    let h = start()?;
    let addr = h.server.local_addr();
    let q = query("f.example.com.", RecordType::A, false);
    let ask = || udp(addr, &q);
    assert_eq!(a_values(&ask().await?), ["10.2.0.1"]);
    h.oracle.down.lock().unwrap().insert("hc-p".into());
    assert_eq!(a_values(&ask().await?), ["10.2.0.2"]);
    h.oracle.down.lock().unwrap().clear();
    assert_eq!(a_values(&ask().await?), ["10.2.0.1"]);
    Ok(())
}

#[tokio::test]
async fn new_snapshots_are_served() -> Result<()> {
    let h = start()?;
    let addr = h.server.local_addr();
    let mut c = config();
    let s = rs("new.example.com.", "A", &["192.0.2.77".to_string()], None);
    c.record_sets.insert(s.key(), Arc::new(s));
    h.config.send(Arc::new(c))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = udp(addr, &query("new.example.com.", RecordType::A, false)).await?;
        if a_values(&r) == ["192.0.2.77"] {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("new record never served: {r}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = h.server.test_answer("new.example.com", "A", None, None).unwrap();
    assert_eq!(
        (t.response_code.as_str(), t.record_data),
        ("NOERROR", vec!["192.0.2.77".to_string()])
    );
    Ok(())
}
