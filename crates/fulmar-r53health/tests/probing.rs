//! The health checker against real endpoints on loopback: configurations go in through
//! the `watch` channel, endpoints are flipped between passing and failing, and the
//! board must follow within `interval × FailureThreshold` (plus slack for a loaded
//! machine) with Route 53's status texts.

mod common;

use std::time::Duration;

use common::{check, config, ok, status, wait_for, Answer, Server};
use fulmar_r53health::{HealthChecker, Options, DEFAULT_REGIONS};
use tokio::sync::watch;

/// The test-only probe interval.
const INTERVAL: Duration = Duration::from_millis(100);

fn options() -> Options {
    Options {
        interval_override: Some(INTERVAL),
    }
}

/// How long a flip may take: `threshold` rounds, plus slack for scheduling.
fn within(threshold: u32) -> Duration {
    INTERVAL * threshold + Duration::from_secs(3)
}

fn statuses(checker: &HealthChecker, id: &str) -> Vec<String> {
    checker.board().observations(id).into_iter().map(|o| o.status).collect()
}

#[tokio::test]
async fn http_check_fails_over_and_recovers() {
    let server = Server::http(ok("fine")).await;
    let (_tx, rx) = watch::channel(config(vec![check("web", "HTTP", server.addr, 2)]));
    let checker = HealthChecker::start(rx, options());
    let board = checker.board();
    assert!(board.is_healthy("web"), "a new check starts healthy");

    wait_for("three regions report", within(1), || {
        board.observations("web").len() == 3
    })
    .await;
    let observations = board.observations("web");
    let regions: Vec<&str> = observations.iter().map(|o| o.region.as_str()).collect();
    assert_eq!(regions, DEFAULT_REGIONS);
    for o in &observations {
        assert_eq!(o.status, "Success: HTTP Status Code 200, OK");
        assert_eq!(o.ip_address, "127.0.0.1");
        assert!(o.checked_at_ms > 1_600_000_000_000);
    }
    assert!(board.last_failure("web").is_empty());

    server.set(status("503 Service Unavailable"));
    wait_for("unhealthy", within(2), || !board.is_healthy("web")).await;
    assert!(statuses(&checker, "web")
        .iter()
        .all(|s| s == "Failure: HTTP Status Code 503, Service Unavailable"));
    let failures = board.last_failure("web");
    assert_eq!(failures.len(), 3);
    assert!(failures[0].status.starts_with("Failure: HTTP Status Code 503"));

    server.set(Answer::Respond {
        status: "302 Found",
        body: String::new(),
    });
    wait_for("healthy again on a 3xx", within(2), || board.is_healthy("web")).await;
    assert_eq!(board.last_failure("web").len(), 3, "last failures are kept");

    let seen = server.seen();
    let first = &seen[0];
    assert_eq!(first.request_line, "GET / HTTP/1.1");
    assert_eq!(
        first.host.as_deref(),
        Some(format!("127.0.0.1:{}", server.addr.port()).as_str())
    );
    assert!(first
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("Amazon-Route53-Health-Check-Service (ref web;")));
}

#[tokio::test]
async fn host_header_path_and_fqdn_resolution() {
    let server = Server::http(ok("fine")).await;
    let mut by_name = check("named", "HTTP", server.addr, 1);
    by_name.config.ip_address = None;
    by_name.config.fqdn = Some("localhost.".into());
    by_name.config.resource_path = Some("/health?deep=1".into());
    let (_tx, rx) = watch::channel(config(vec![by_name]));
    let checker = HealthChecker::start(rx, options());
    let board = checker.board();
    wait_for("observations", within(1), || !board.observations("named").is_empty()).await;
    assert_eq!(
        board.observations("named")[0].status,
        "Success: HTTP Status Code 200, OK. Resolved IP: 127.0.0.1"
    );
    let seen = server.seen();
    assert_eq!(seen[0].request_line, "GET /health?deep=1 HTTP/1.1");
    assert_eq!(
        seen[0].host.as_deref(),
        Some(format!("localhost:{}", server.addr.port()).as_str())
    );
}

#[tokio::test]
async fn string_match_searches_the_first_5120_bytes() {
    let server = Server::http(ok("<html>status: READY</html>")).await;
    let mut c = check("str", "HTTP_STR_MATCH", server.addr, 1);
    c.config.search_string = Some("READY".into());
    let (_tx, rx) = watch::channel(config(vec![c]));
    let checker = HealthChecker::start(rx, options());
    let board = checker.board();
    wait_for("observations", within(1), || board.observations("str").len() == 3).await;
    assert!(board.is_healthy("str"));

    server.set(ok(&format!("{}READY", ".".repeat(5200))));
    wait_for("unhealthy", within(1), || !board.is_healthy("str")).await;
    let status = &board.last_failure("str")[0].status;
    assert!(
        status.starts_with("Failure: HTTP Status Code 200, OK. The search string was not found"),
        "{status}"
    );

    server.set(ok("status: ready")); // case-sensitive
    tokio::time::sleep(INTERVAL * 4).await;
    assert!(!board.is_healthy("str"));
    server.set(ok(&format!("{}READY", ".".repeat(5115))));
    wait_for("healthy at the window's edge", within(1), || board.is_healthy("str")).await;
}

#[tokio::test]
async fn tcp_check_sees_a_closed_port() {
    let server = Server::http(ok("")).await;
    let addr = server.addr;
    let (_tx, rx) = watch::channel(config(vec![check("tcp", "TCP", addr, 2)]));
    let checker = HealthChecker::start(rx, options());
    let board = checker.board();
    wait_for("observations", within(1), || board.observations("tcp").len() == 3).await;
    assert!(statuses(&checker, "tcp")
        .iter()
        .all(|s| s == "Success: TCP connection established"));

    drop(server);
    wait_for("unhealthy", within(2), || !board.is_healthy("tcp")).await;
    assert!(board.last_failure("tcp")[0]
        .status
        .starts_with("Failure: Connection refused. The endpoint or the internet connection is down"));
}

#[tokio::test]
async fn https_ignores_the_certificate_and_sends_sni_when_enabled() {
    let server = Server::https(ok("secure OK")).await;
    let mut plain = check("tls", "HTTPS", server.addr, 1);
    plain.config.fqdn = Some("localhost".into());
    let mut sni = check("sni", "HTTPS_STR_MATCH", server.addr, 1);
    sni.config.fqdn = Some("localhost".into());
    sni.config.enable_sni = true;
    sni.config.search_string = Some("secure".into());
    let (_tx, rx) = watch::channel(config(vec![plain, sni]));
    let checker = HealthChecker::start(rx, options());
    let board = checker.board();
    wait_for("observations", within(1), || {
        board.observations("tls").len() == 3 && board.observations("sni").len() == 3
    })
    .await;
    for id in ["tls", "sni"] {
        assert!(board.is_healthy(id));
        assert!(statuses(&checker, id)
            .iter()
            .all(|s| s == "Success: HTTP Status Code 200, OK"));
    }
    let seen = server.seen();
    let expected_host = format!("localhost:{}", server.addr.port());
    assert!(seen.iter().all(|s| s.host.as_deref() == Some(expected_host.as_str())));
    assert!(seen.iter().any(|s| s.sni.as_deref() == Some("localhost")));
    assert!(seen.iter().any(|s| s.sni.is_none()));
}

#[tokio::test]
async fn https_against_a_plain_http_port_fails() {
    let server = Server::http(ok("")).await;
    let (_tx, rx) = watch::channel(config(vec![check("mixed", "HTTPS", server.addr, 1)]));
    let checker = HealthChecker::start(rx, options());
    let board = checker.board();
    wait_for("unhealthy", within(1), || !board.is_healthy("mixed")).await;
    let status = &board.last_failure("mixed")[0].status;
    // The plain server waits for a request head and never completes the handshake.
    assert!(status.starts_with("Failure: "), "{status}");
}

#[tokio::test]
async fn a_silent_endpoint_times_out() {
    let server = Server::http(Answer::Silent).await;
    let (_tx, rx) = watch::channel(config(vec![check("slow", "HTTP", server.addr, 1)]));
    let checker = HealthChecker::start(rx, options());
    let board = checker.board();
    // The status line must arrive within 2 s of connecting.
    wait_for("unhealthy", Duration::from_secs(2) + within(1), || {
        !board.is_healthy("slow")
    })
    .await;
    assert_eq!(
        board.last_failure("slow")[0].status,
        "Failure: The endpoint did not return a valid HTTP status code within the timeout."
    );
}

#[tokio::test]
async fn calculated_inverted_disabled_and_updates() {
    let up = Server::http(ok("")).await;
    let down = Server::http(status("500 Internal Server Error")).await;
    let mut calc = check("calc", "CALCULATED", up.addr, 1);
    calc.config.ip_address = None;
    calc.config.child_health_checks = vec!["up".into(), "down".into()];
    calc.config.health_threshold = Some(2);
    let mut inverted = check("inv", "HTTP", down.addr, 1);
    inverted.config.inverted = true;
    let checks = vec![
        check("up", "HTTP", up.addr, 1),
        check("down", "HTTP", down.addr, 1),
        calc.clone(),
        inverted,
    ];
    let (tx, rx) = watch::channel(config(checks.clone()));
    let checker = HealthChecker::start(rx, options());
    let board = checker.board();
    assert!(
        !board.is_healthy("inv"),
        "inverted: a new healthy check reads unhealthy"
    );
    wait_for("down fails", within(1), || !board.is_healthy("down")).await;
    assert!(board.is_healthy("up"));
    assert!(!board.is_healthy("calc"), "2 of 2 children needed");
    assert!(board.is_healthy("inv"));
    assert!(board.observations("calc").is_empty());

    // Lower the threshold: the calculated check turns healthy at once.
    let mut next = checks.clone();
    next[2].config.health_threshold = Some(1);
    tx.send(config(next.clone())).unwrap();
    wait_for("calc healthy", within(1), || board.is_healthy("calc")).await;

    // Disable the failing child: probes stop and it reads healthy.
    next[1].config.disabled = true;
    tx.send(config(next.clone())).unwrap();
    wait_for("disabled is healthy", within(1), || board.is_healthy("down")).await;
    let frozen = board.observations("down");
    tokio::time::sleep(INTERVAL * 3).await;
    assert_eq!(board.observations("down"), frozen, "a disabled check is not probed");

    // Remove a check: unknown ids are healthy and have no observations.
    next.remove(0);
    tx.send(config(next)).unwrap();
    wait_for("removed", within(1), || board.observations("up").is_empty()).await;
    assert!(board.is_healthy("up"));
}
