//! Health checking end to end: state transitions as DescribeTargetHealth shows them,
//! traffic only to healthy targets, fail open, draining, unused and disabled groups.

mod common;

use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::*;
use fulmar_routing::health::State;

fn state(plane: &fulmar_alb::DataPlane, addr: &std::net::SocketAddr) -> (State, Option<&'static str>) {
    let h = plane.health().target_health(TG, &target(addr));
    (h.state, h.reason)
}

#[tokio::test]
async fn unhealthy_target_stops_receiving_traffic_and_all_unhealthy_fails_open() {
    let (a, b) = (backend("a").await, backend("b").await);
    let ip = Ipv4Addr::new(127, 77, 3, 1);
    let (_tx, plane) = start(config(ip, forward(TG), vec![target_group(TG, &[a.addr, b.addr])]));
    assert_eq!(
        state(&plane, &a.addr),
        (State::Initial, Some("Elb.InitialHealthChecking"))
    );
    assert!(
        eventually(5, || async {
            state(&plane, &a.addr).0 == State::Healthy && state(&plane, &b.addr).0 == State::Healthy
        })
        .await
    );

    b.health_status.store(500, Ordering::SeqCst);
    assert!(eventually(6, || async { state(&plane, &b.addr).0 == State::Unhealthy }).await);
    assert_eq!(state(&plane, &b.addr).1, Some("Target.ResponseCodeMismatch"));
    let h = plane.health().target_health(TG, &target(&b.addr));
    assert_eq!(
        h.description.as_deref(),
        Some("Health checks failed with these codes: [500]")
    );
    for _ in 0..4 {
        assert_eq!(get(lb_addr(ip), "/", &[]).await.who(), "a");
    }

    // Every target unhealthy: the load balancer routes to all of them.
    a.health_status.store(404, Ordering::SeqCst);
    assert!(eventually(6, || async { state(&plane, &a.addr).0 == State::Unhealthy }).await);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        seen.insert(get(lb_addr(ip), "/", &[]).await.who().to_owned());
    }
    assert_eq!(seen.len(), 2, "fail open routes to every target");

    // Recovery after healthy_threshold successes.
    b.health_status.store(200, Ordering::SeqCst);
    assert!(eventually(6, || async { state(&plane, &b.addr).0 == State::Healthy }).await);
    for _ in 0..4 {
        assert_eq!(get(lb_addr(ip), "/", &[]).await.who(), "b");
    }
}

#[tokio::test]
async fn refused_probe_is_failed_health_checks() {
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ip = Ipv4Addr::new(127, 77, 3, 2);
    let (_tx, plane) = start(config(ip, forward(TG), vec![target_group(TG, &[gone])]));
    assert!(eventually(6, || async { state(&plane, &gone).0 == State::Unhealthy }).await);
    assert_eq!(state(&plane, &gone).1, Some("Target.FailedHealthChecks"));
}

#[tokio::test]
async fn target_group_without_load_balancer_is_unused_and_not_probed() {
    let a = backend("a").await;
    let ip = Ipv4Addr::new(127, 77, 3, 3);
    let (_tx, plane) = start(config(ip, fixed("200", "x"), vec![target_group(TG, &[a.addr])]));
    assert_eq!(state(&plane, &a.addr), (State::Unused, Some("Target.NotInUse")));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(a.health_probes.load(Ordering::SeqCst), 0);
    let stranger = "127.9.9.9:1".parse().unwrap();
    assert_eq!(state(&plane, &stranger), (State::Unused, Some("Target.NotRegistered")));
}

#[tokio::test]
async fn disabled_health_checks_are_unavailable_and_routable() {
    let a = backend("a").await;
    let ip = Ipv4Addr::new(127, 77, 3, 4);
    let mut tg = target_group(TG, &[a.addr]);
    tg.health_check.enabled = false;
    let (_tx, plane) = start(config(ip, forward(TG), vec![tg]));
    assert_eq!(
        state(&plane, &a.addr),
        (State::Unavailable, Some("Target.HealthCheckDisabled"))
    );
    assert_eq!(get(lb_addr(ip), "/", &[]).await.who(), "a");
}

#[tokio::test]
async fn deregistered_target_drains_and_gets_no_new_requests() {
    let (a, b) = (backend("a").await, backend("b").await);
    let ip = Ipv4Addr::new(127, 77, 3, 5);
    let c = config(ip, forward(TG), vec![target_group(TG, &[a.addr, b.addr])]);
    let (tx, plane) = start(c);
    assert!(eventually(5, || async { state(&plane, &b.addr).0 == State::Healthy }).await);
    let mut tg = target_group(TG, &[a.addr]);
    tg.attributes
        .insert("deregistration_delay.timeout_seconds".into(), "1".into());
    tx.send(Arc::new(config(ip, forward(TG), vec![tg]))).unwrap();
    assert!(eventually(2, || async { state(&plane, &b.addr).0 == State::Draining }).await);
    assert_eq!(state(&plane, &b.addr).1, Some("Target.DeregistrationInProgress"));
    assert_eq!(plane.health().draining(TG), vec![target(&b.addr)]);
    for _ in 0..4 {
        assert_eq!(get(lb_addr(ip), "/", &[]).await.who(), "a");
    }
    // After the deregistration delay the target is gone.
    assert!(eventually(3, || async { plane.health().draining(TG).is_empty() }).await);
    assert_eq!(state(&plane, &b.addr), (State::Unused, Some("Target.NotRegistered")));
}

#[tokio::test]
async fn probes_follow_the_health_check_path_and_say_who_they_are() {
    let a = backend("a").await;
    let ip = Ipv4Addr::new(127, 77, 3, 6);
    let (_tx, _plane) = start(config(ip, forward(TG), vec![target_group(TG, &[a.addr])]));
    assert!(eventually(3, || async { a.health_probes.load(Ordering::SeqCst) >= 2 }).await);
    assert_eq!(a.last_user_agent(), "ELB-HealthChecker/2.0");
}
