//! Access logs end to end: one request of every kind (forward, redirect,
//! fixed-response, 502, 503, 504) through a real listener, then the gzip files read
//! back from the data directory and every field of every line checked against ALB's
//! format.

mod common;

use std::io::Read;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fulmar_alb::{DataPlane, Options};
use fulmar_model::{ActionKind, Condition, RedirectConfig};

const BAD: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/bad/2";
const EMPTY: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/empty/3";

/// Split a log line into fields: spaces separate, `"..."` (with `\"`) is one field.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut field = String::new();
        if c == '"' {
            chars.next();
            field.push('"');
            while let Some(c) = chars.next() {
                match c {
                    '\\' => field.extend(chars.next()),
                    '"' => break,
                    c => field.push(c),
                }
            }
            field.push('"');
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                field.push(c);
                chars.next();
            }
        }
        out.push(field);
    }
    out
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn is_iso8601_micros(s: &str) -> bool {
    s.len() == 27 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

fn is_seconds(s: &str) -> bool {
    s.split_once('.')
        .is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.len() == 3)
}

#[tokio::test]
async fn every_request_kind_is_logged_in_alb_format() {
    let a = backend("a").await;
    a.delay_ms.store(2_500, Ordering::SeqCst);
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ip = Ipv4Addr::new(127, 77, 9, 1);
    let mut config = config(
        ip,
        forward(TG),
        vec![
            target_group(TG, &[a.addr]),
            target_group(BAD, &[gone]),
            target_group(EMPTY, &[]),
        ],
    );
    let mut lb = load_balancer(ip);
    for (k, v) in [
        ("access_logs.s3.enabled", "true"),
        ("access_logs.s3.bucket", "my-logs"),
        ("access_logs.s3.prefix", "team/web"),
        ("idle_timeout.timeout_seconds", "1"),
    ] {
        lb.attributes.insert(k.into(), v.into());
    }
    config.load_balancers.insert(LB.into(), Arc::new(lb));
    let path = |p: &str| vec![Condition::PathPattern(vec![p.into()])];
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
    for r in [
        rule(10, path("/moved*"), redirect),
        rule(20, path("/fixed"), fixed("418", "teapot")),
        rule(30, path("/bad"), forward(BAD)),
        rule(40, path("/none"), forward(EMPTY)),
    ] {
        config.rules.insert(r.arn.clone(), Arc::new(r));
    }

    let data_dir = std::env::temp_dir().join(format!("fulmar-accesslog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let options = Options {
        data_dir: Some(data_dir.clone()),
        account_id: "123456789012".into(),
        access_log_interval: Duration::from_secs(2),
        ..Options::new([7; 32])
    };
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(config));
    let plane = DataPlane::start(rx, options);

    let ua = [("user-agent", "curl/8.5.0")];
    assert_eq!(get(lb_addr(ip), "/hello?x=1", &ua).await.status, 200);
    assert_eq!(get(lb_addr(ip), "/moved/here?y=2", &ua).await.status, 301);
    assert_eq!(get(lb_addr(ip), "/fixed", &[]).await.status, 418);
    assert_eq!(get(lb_addr(ip), "/bad", &ua).await.status, 502);
    assert_eq!(get(lb_addr(ip), "/none", &ua).await.status, 503);
    assert_eq!(get(lb_addr(ip), "/slow", &ua).await.status, 504);
    // The first files are delivered at the interval boundary, without a shutdown.
    let base = data_dir.join("access-logs/my-logs/team/web/AWSLogs/123456789012/elasticloadbalancing/us-east-1");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut delivered = Vec::new();
    files(&base, &mut delivered);
    assert!(
        delivered.iter().any(|p| p.extension().is_some_and(|e| e == "gz")),
        "{delivered:?}"
    );
    plane.shutdown().await;

    let mut found = Vec::new();
    files(&base, &mut found);
    assert!(!found.is_empty());
    let mut lines = Vec::new();
    for file in &found {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(!name.ends_with(".tmp"), "undelivered file {name}");
        // <account>_elasticloadbalancing_<region>_app.<name>.<id>_<end>_<ip>_<random>.log.gz
        let rest = name
            .strip_prefix("123456789012_elasticloadbalancing_us-east-1_app.lb.1_")
            .unwrap_or_else(|| panic!("file name {name}"));
        let parts: Vec<&str> = rest.trim_end_matches(".log.gz").split('_').collect();
        assert_eq!(parts.len(), 3, "{name}");
        assert_eq!(parts[0].len(), "20261124T0605Z".len(), "{name}");
        assert_eq!(&parts[0][8..9], "T");
        assert_eq!(parts[1], "127.77.9.1");
        // .../<yyyy>/<mm>/<dd>/<file>
        let day = file.parent().unwrap();
        assert_eq!(day.file_name().unwrap().to_str().unwrap(), &parts[0][6..8]);
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        lines.extend(text.lines().map(str::to_owned));
    }
    assert_eq!(lines.len(), 6, "{lines:#?}");
    let by_status = |code: &str| -> Vec<String> {
        lines
            .iter()
            .map(|l| fields(l))
            .find(|f| f[8] == code)
            .unwrap_or_else(|| panic!("no {code} line in {lines:#?}"))
    };

    // Fields common to every line.
    for line in &lines {
        let f = fields(line);
        assert_eq!(f.len(), 33, "{line}");
        assert_eq!(f[0], "http");
        assert!(is_iso8601_micros(&f[1]), "{}", f[1]);
        assert_eq!(f[2], "app/lb/1");
        assert!(f[3].starts_with("127.0.0.1:"));
        assert!(f[10].parse::<u64>().unwrap() > 30, "received_bytes {line}");
        assert!(f[11].parse::<u64>().unwrap() > 30, "sent_bytes {line}");
        assert_eq!((f[14].as_str(), f[15].as_str()), ("-", "-"));
        assert!(
            f[17].starts_with("\"Root=1-") || f[17].starts_with("\"Self=1-"),
            "{line}"
        );
        assert_eq!((f[18].as_str(), f[19].as_str()), ("\"-\"", "\"-\""));
        assert!(is_iso8601_micros(&f[21]));
        assert!(f[21] <= f[1], "request_creation_time before time");
        assert_eq!((f[27].as_str(), f[28].as_str()), ("\"-\"", "\"-\""));
        assert!(f[29].starts_with("TID_") && f[29].len() == 36, "{line}");
        assert_eq!(&f[30..], ["\"-\"", "\"-\"", "\"-\""]);
    }

    let f = by_status("200");
    assert_eq!(f[4], a.addr.to_string());
    assert!(is_seconds(&f[5]) && is_seconds(&f[6]) && is_seconds(&f[7]), "{f:?}");
    assert_eq!(f[9], "200");
    assert_eq!(f[12], "\"GET http://app.example.com:8080/hello?x=1 HTTP/1.1\"");
    assert_eq!(f[13], "\"curl/8.5.0\"");
    assert_eq!(f[16], TG);
    assert_eq!(f[20], "0");
    assert_eq!(f[22], "\"forward\"");
    assert_eq!((f[23].as_str(), f[24].as_str()), ("\"-\"", "\"-\""));
    assert_eq!(f[25], format!("\"{}\"", a.addr));
    assert_eq!(f[26], "\"200\"");

    let f = by_status("301");
    assert_eq!(
        (f[4].as_str(), f[5].as_str(), f[6].as_str(), f[7].as_str()),
        ("-", "-1", "-1", "-1")
    );
    assert_eq!(f[9], "-");
    assert_eq!(f[12], "\"GET http://app.example.com:8080/moved/here?y=2 HTTP/1.1\"");
    assert_eq!(f[16], "-");
    assert_eq!(f[20], "10");
    assert_eq!(f[22], "\"redirect\"");
    assert_eq!(f[23], "\"https://app.example.com:443/moved/here?y=2\"");
    assert_eq!((f[25].as_str(), f[26].as_str()), ("\"-\"", "\"-\""));

    let f = by_status("418");
    assert_eq!((f[4].as_str(), f[5].as_str(), f[9].as_str()), ("-", "-1", "-"));
    assert_eq!(f[13], "\"-\"", "no User-Agent");
    assert_eq!(f[20], "20");
    assert_eq!(f[22], "\"fixed-response\"");
    assert_eq!(f[23], "\"-\"");

    let f = by_status("502");
    assert_eq!(f[4], gone.to_string());
    assert_eq!((f[5].as_str(), f[6].as_str(), f[7].as_str()), ("-1", "-1", "-1"));
    assert_eq!(f[9], "-");
    assert_eq!(f[16], BAD);
    assert_eq!(f[20], "30");
    assert_eq!(f[22], "\"forward\"");
    assert_eq!(
        (f[25].as_str(), f[26].as_str()),
        (format!("\"{gone}\"").as_str(), "\"-\"")
    );

    let f = by_status("503");
    assert_eq!((f[4].as_str(), f[5].as_str(), f[9].as_str()), ("-", "-1", "-"));
    assert_eq!(f[16], EMPTY);
    assert_eq!(f[20], "40");
    assert_eq!(f[22], "\"forward\"");
    assert_eq!(f[25], "\"-\"");

    let f = by_status("504");
    assert_eq!(f[4], a.addr.to_string());
    assert_eq!((f[5].as_str(), f[6].as_str(), f[7].as_str()), ("-1", "-1", "-1"));
    assert_eq!(f[9], "-");
    assert_eq!(f[16], TG);
    assert_eq!(f[20], "0");

    // Metrics saw the same requests.
    let text = plane.metrics();
    assert!(text.contains("RequestCount{LoadBalancer=\"app/lb/1\"} 6\n"), "{text}");
    for name in [
        "HTTPCode_ELB_502_Count",
        "HTTPCode_ELB_503_Count",
        "HTTPCode_ELB_504_Count",
        "HTTPCode_ELB_3XX_Count",
        "HTTPCode_Target_2XX_Count",
    ] {
        assert!(
            text.contains(&format!("{name}{{LoadBalancer=\"app/lb/1\"}} 1\n")),
            "{name}: {text}"
        );
    }
    assert!(
        text.contains("HTTPCode_Target_2XX_Count{LoadBalancer=\"app/lb/1\",TargetGroup=\"targetgroup/web/1\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("NewConnectionCount{LoadBalancer=\"app/lb/1\"} 6\n"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
