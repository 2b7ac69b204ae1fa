//! Listener rules end to end: round robin, fixed responses, redirects, 503 with no
//! targets, rule changes on open keep-alive connections, listener sockets coming and
//! going with snapshots.

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use common::*;
use fulmar_model::{ActionKind, Condition, RedirectConfig};

const ALB_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n";

#[tokio::test]
async fn round_robin_alternates_between_targets() {
    let (a, b) = (backend("a").await, backend("b").await);
    let ip = Ipv4Addr::new(127, 77, 1, 1);
    let (_tx, _plane) = start(config(ip, forward(TG), vec![target_group(TG, &[a.addr, b.addr])]));
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(get(lb_addr(ip), "/", &[]).await.who().to_owned());
    }
    assert_ne!(seen[0], seen[1], "{seen:?}");
    assert_eq!(seen[0], seen[2], "{seen:?}");
    assert_eq!(seen[1], seen[3], "{seen:?}");
}

#[tokio::test]
async fn fixed_response_rule_and_default_forward() {
    let a = backend("a").await;
    let ip = Ipv4Addr::new(127, 77, 1, 2);
    let mut c = config(ip, forward(TG), vec![target_group(TG, &[a.addr])]);
    let r = rule(
        10,
        vec![Condition::PathPattern(vec!["/maintenance*".into()])],
        fixed("503", "back soon"),
    );
    c.rules.insert(r.arn.clone(), Arc::new(r));
    let (_tx, _plane) = start(c);
    let fixed = get(lb_addr(ip), "/maintenance/x", &[]).await;
    assert_eq!(fixed.status, 503);
    assert_eq!(fixed.body, "back soon");
    assert_eq!(fixed.headers["server"], "awselb/2.0");
    assert_eq!(fixed.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(get(lb_addr(ip), "/other", &[]).await.who(), "a");
}

#[tokio::test]
async fn redirect_builds_location_like_aws() {
    let ip = Ipv4Addr::new(127, 77, 1, 3);
    let redirect = fulmar_model::Action {
        order: Some(1),
        kind: ActionKind::Redirect(RedirectConfig {
            protocol: "HTTPS".into(),
            port: "443".into(),
            host: "#{host}".into(),
            path: "/#{path}".into(),
            query: "#{query}".into(),
            status_code: "HTTP_301".into(),
        }),
    };
    let (_tx, _plane) = start(config(ip, redirect, vec![]));
    let answer = get(lb_addr(ip), "/p/q?x=1", &[]).await;
    assert_eq!(answer.status, 301);
    assert_eq!(answer.headers["location"], "https://app.example.com:443/p/q?x=1");
    assert_eq!(answer.headers["server"], "awselb/2.0");
    assert!(answer.body.contains("<title>301 Moved Permanently</title>"));
}

#[tokio::test]
async fn no_registered_target_is_503() {
    let ip = Ipv4Addr::new(127, 77, 1, 4);
    let (_tx, _plane) = start(config(ip, forward(TG), vec![target_group(TG, &[])]));
    let answer = get(lb_addr(ip), "/", &[]).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body, ALB_503);
    assert_eq!(answer.headers["server"], "awselb/2.0");
    assert_eq!(answer.headers["content-type"], "text/html");
}

#[tokio::test]
async fn rule_change_applies_on_an_open_keep_alive_connection() {
    let a = backend("a").await;
    let ip = Ipv4Addr::new(127, 77, 1, 5);
    let c = config(ip, forward(TG), vec![target_group(TG, &[a.addr])]);
    let (tx, _plane) = start(c.clone());
    let mut client = Client::connect(lb_addr(ip)).await;
    assert_eq!(client.get("/", &[]).await.who(), "a");
    let mut changed = c.clone();
    let r = rule(
        1,
        vec![Condition::HostHeader(vec!["app.example.*".into()])],
        fixed("200", "rule!"),
    );
    changed.rules.insert(r.arn.clone(), Arc::new(r));
    tx.send(Arc::new(changed)).unwrap();
    let mut saw_rule = false;
    for _ in 0..40 {
        if client.get("/", &[]).await.body == "rule!" {
            saw_rule = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(saw_rule, "the new rule never applied on the open connection");
}

#[tokio::test]
async fn listeners_follow_snapshots_and_bind_failures_are_retried() {
    let ip = Ipv4Addr::new(127, 77, 1, 6);
    // Occupy the listener's address first: the bind fails, is logged, nothing panics.
    let squatter = std::net::TcpListener::bind(lb_addr(ip)).unwrap();
    let c = config(ip, fixed("200", "up"), vec![]);
    let (tx, plane) = start(c.clone());
    drop(squatter);
    assert!(tokio::net::TcpStream::connect(lb_addr(ip)).await.is_err());
    // The next snapshot retries the bind.
    tx.send(Arc::new(c.clone())).unwrap();
    assert!(
        eventually(5, || async {
            tokio::net::TcpStream::connect(lb_addr(ip)).await.is_ok()
        })
        .await
    );
    assert_eq!(get(lb_addr(ip), "/", &[]).await.body, "up");
    // Removing the listener stops accepting.
    let mut without = c.clone();
    without.listeners.clear();
    tx.send(Arc::new(without)).unwrap();
    assert!(
        eventually(5, || async {
            tokio::net::TcpStream::connect(lb_addr(ip)).await.is_err()
        })
        .await
    );
    plane.shutdown().await;
}

#[tokio::test]
async fn malformed_request_is_400() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ip = Ipv4Addr::new(127, 77, 1, 7);
    let (_tx, _plane) = start(config(ip, fixed("200", "ok"), vec![]));
    let mut s = tokio::net::TcpStream::connect(lb_addr(ip)).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), s.read_to_end(&mut out)).await;
    assert!(out.starts_with(b"HTTP/1.1 400"), "{}", String::from_utf8_lossy(&out));
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let a = backend("a").await;
    a.delay_ms.store(500, std::sync::atomic::Ordering::SeqCst);
    let ip = Ipv4Addr::new(127, 77, 1, 8);
    let (_tx, plane) = start(config(ip, forward(TG), vec![target_group(TG, &[a.addr])]));
    let in_flight = tokio::spawn(get(lb_addr(ip), "/slow", &[]));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    plane.shutdown().await;
    assert_eq!(in_flight.await.unwrap().who(), "a");
    assert!(tokio::net::TcpStream::connect(lb_addr(ip)).await.is_err());
}
