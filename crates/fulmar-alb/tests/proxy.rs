//! Forwarding end to end: the headers targets receive, ALB's answers when a target
//! fails (502) or is too slow (504), and lb_cookie stickiness.

mod common;

use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::*;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn targets_receive_forwarded_headers_and_a_trace_id() {
    let a = backend("a").await;
    let ip = Ipv4Addr::new(127, 77, 2, 1);
    let (_tx, _plane) = start(config(ip, forward(TG), vec![target_group(TG, &[a.addr])]));
    let answer = get(lb_addr(ip), "/", &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(answer.echoed("x-forwarded-for"), Some("203.0.113.7, 127.0.0.1"));
    assert_eq!(answer.echoed("x-forwarded-proto"), Some("http"));
    assert_eq!(answer.echoed("x-forwarded-port"), Some("8080"));
    assert_eq!(answer.echoed("host"), Some("app.example.com:8080"));
    let trace = answer.echoed("x-amzn-trace-id").expect("trace id");
    assert!(
        trace.starts_with("Root=1-") && trace.len() == "Root=1-".len() + 8 + 1 + 24,
        "{trace}"
    );

    let root = "Root=1-5759e988-bd862e3fe1be46a994272793";
    let answer = get(lb_addr(ip), "/", &[("x-amzn-trace-id", root)]).await;
    let trace = answer.echoed("x-amzn-trace-id").expect("trace id");
    assert!(
        trace.starts_with("Self=1-") && trace.ends_with(&format!(";{root}")),
        "{trace}"
    );
    assert_eq!(
        get(lb_addr(ip), "/", &[]).await.echoed("x-forwarded-for"),
        Some("127.0.0.1")
    );
}

#[tokio::test]
async fn refused_connection_is_502() {
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ip = Ipv4Addr::new(127, 77, 2, 2);
    let (_tx, _plane) = start(config(ip, forward(TG), vec![target_group(TG, &[gone])]));
    let answer = get(lb_addr(ip), "/", &[]).await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.headers["server"], "awselb/2.0");
    assert!(answer.body.contains("<center><h1>502 Bad Gateway</h1></center>"));
}

#[tokio::test]
async fn garbage_response_is_502() {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = socket.accept().await {
            let _ = s.write_all(b"this is not http\r\n\r\n").await;
        }
    });
    let ip = Ipv4Addr::new(127, 77, 2, 3);
    let (_tx, _plane) = start(config(ip, forward(TG), vec![target_group(TG, &[addr])]));
    assert_eq!(get(lb_addr(ip), "/", &[]).await.status, 502);
}

#[tokio::test]
async fn slow_target_is_504_after_the_idle_timeout() {
    let a = backend("a").await;
    a.delay_ms.store(3000, Ordering::SeqCst);
    let ip = Ipv4Addr::new(127, 77, 2, 4);
    let mut c = config(ip, forward(TG), vec![target_group(TG, &[a.addr])]);
    let mut lb = load_balancer(ip);
    lb.attributes.insert("idle_timeout.timeout_seconds".into(), "1".into());
    c.load_balancers.insert(LB.into(), Arc::new(lb));
    let (_tx, _plane) = start(c);
    let started = std::time::Instant::now();
    let answer = get(lb_addr(ip), "/slow", &[]).await;
    assert_eq!(answer.status, 504);
    assert!(answer.body.contains("504 Gateway Time-out"), "{}", answer.body);
    assert!(started.elapsed() < std::time::Duration::from_millis(2500));
}

#[tokio::test]
async fn lb_cookie_stickiness_holds_a_client() {
    let (a, b) = (backend("a").await, backend("b").await);
    let ip = Ipv4Addr::new(127, 77, 2, 5);
    let mut tg = target_group(TG, &[a.addr, b.addr]);
    tg.attributes.insert("stickiness.enabled".into(), "true".into());
    let (_tx, _plane) = start(config(ip, forward(TG), vec![tg]));

    let first = get(lb_addr(ip), "/", &[]).await;
    let cookies: Vec<&str> = first
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies[0].starts_with("AWSALB=") && cookies[0].ends_with("; Path=/"),
        "{}",
        cookies[0]
    );
    assert!(cookies[0].contains("; Expires=") && cookies[0].ends_with(" GMT; Path=/"));
    assert!(cookies[1].starts_with("AWSALBCORS=") && cookies[1].ends_with("; Path=/; SameSite=None; Secure"));
    let value = cookies[0].split(';').next().unwrap().to_owned();
    for _ in 0..6 {
        let again = get(lb_addr(ip), "/", &[("cookie", &format!("session=1; {value}"))]).await;
        assert_eq!(again.who(), first.who());
        assert!(
            again.headers.get("set-cookie").is_some(),
            "the cookie is refreshed on each response"
        );
        // Targets see the cookie header as the client sent it.
        assert!(again.echoed("cookie").unwrap().contains("AWSALB="));
    }
    // A tampered cookie is ignored: the client is balanced again and gets a fresh cookie.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        let tampered = get(lb_addr(ip), "/", &[("cookie", "AWSALB=forged")]).await;
        assert!(tampered.headers.get("set-cookie").is_some());
        seen.insert(tampered.who().to_owned());
    }
    assert_eq!(seen.len(), 2, "a forged cookie must not pin the client");
}

#[tokio::test]
async fn weighted_target_groups_share_traffic() {
    let (a, b) = (backend("a").await, backend("b").await);
    let tg2 = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/other/2";
    let ip = Ipv4Addr::new(127, 77, 2, 6);
    let groups = vec![target_group(TG, &[a.addr]), target_group(tg2, &[b.addr])];
    let (tx, _plane) = start(config(ip, forward_weighted(&[(TG, 0), (tg2, 5)]), groups.clone()));
    for _ in 0..5 {
        assert_eq!(get(lb_addr(ip), "/", &[]).await.who(), "b");
    }
    tx.send(Arc::new(config(ip, forward_weighted(&[(TG, 1), (tg2, 1)]), groups)))
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        seen.insert(get(lb_addr(ip), "/", &[]).await.who().to_owned());
        if seen.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen.len(), 2, "both weighted groups get traffic");
}
