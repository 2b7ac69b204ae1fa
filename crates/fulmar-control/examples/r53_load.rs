//! The control plane alone under a Route 53 bulk load: no HTTP, no SigV4, no data plane
//! following the snapshots. Loads `--records N` record sets (default 1,000,000) into one
//! zone, 1,000 changes per ChangeResourceRecordSets call, into a redb store in a fresh
//! temporary directory, and prints the time, the rate and the slowest call; then reopens
//! the store and times reading the configuration back.
//!
//!     cargo run --release -p fulmar-control --example r53_load -- --records 100000
//!
//! `bench/r53-load` measures the whole server; this isolates `Control` from what follows
//! its snapshots (the DNS index, the ALB data plane).

use std::sync::Arc;
use std::time::Instant;

use fulmar_control::{Control, Service, Settings};
use fulmar_store::RedbStore;

fn main() {
    let mut records: usize = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--records" => records = args.next().and_then(|v| v.parse().ok()).expect("--records N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = std::env::temp_dir().join(format!("fulmar-r53-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join("fulmar.redb");
    let settings = Settings {
        account_id: "000000000000".into(),
        address_pool: "127.10.0.0/16".parse().expect("literal network"),
        cross_vpc_security_groups: false,
    };
    let (control, rx) =
        Control::open(Arc::new(RedbStore::open(&path).expect("store")), settings.clone()).expect("open");
    let reply = control.handle_rest(
        Service::Route53,
        "us-east-1",
        "POST",
        "/2013-04-01/hostedzone",
        None,
        b"<CreateHostedZoneRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Name>load.example</Name><CallerReference>r53-load</CallerReference></CreateHostedZoneRequest>",
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let zone = reply
        .body
        .split("<Id>/hostedzone/")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("zone id");
    let path_rrset = format!("/2013-04-01/hostedzone/{zone}/rrset/");

    let start = Instant::now();
    let (mut slowest, mut done, mut i) = (0f64, 0usize, 0usize);
    while done < records {
        let mut body = String::from("<ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ChangeBatch><Changes>");
        let mut n = 0;
        while n < 1000 && done + n < records {
            let name = format!("h{i}.load.example.");
            let v = i * 2;
            let addr = format!("10.{}.{}.{}", (v >> 16) & 255, (v >> 8) & 255, v & 255);
            let kinds: &[&str] = match i % 20 {
                18 if records - done - n >= 2 => &[
                    "<SetIdentifier>a</SetIdentifier><Weight>1</Weight>",
                    "<SetIdentifier>b</SetIdentifier><Weight>3</Weight>",
                ],
                19 if records - done - n >= 2 => &[
                    "<SetIdentifier>p</SetIdentifier><Failover>PRIMARY</Failover>",
                    "<SetIdentifier>s</SetIdentifier><Failover>SECONDARY</Failover>",
                ],
                _ => &[""],
            };
            for extra in kinds {
                body.push_str(&format!("<Change><Action>CREATE</Action><ResourceRecordSet><Name>{name}</Name><Type>A</Type>{extra}<TTL>300</TTL><ResourceRecords><ResourceRecord><Value>{addr}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>"));
                n += 1;
            }
            i += 1;
        }
        body.push_str("</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
        let t = Instant::now();
        let reply = control.handle_rest(
            Service::Route53,
            "us-east-1",
            "POST",
            &path_rrset,
            None,
            body.as_bytes(),
        );
        slowest = slowest.max(t.elapsed().as_secs_f64());
        assert_eq!(reply.status, 200, "{}", reply.body);
        done += n;
        if done % 100_000 < n {
            let el = start.elapsed().as_secs_f64();
            println!("{done:>9} sets {el:7.2} s {:9.0}/s", done as f64 / el);
        }
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "loaded {done} record sets in {el:.2} s ({:.0}/s), slowest call {:.0} ms; {}",
        done as f64 / el,
        slowest * 1000.0,
        memory()
    );
    drop(rx);
    drop(control);
    let t = Instant::now();
    let (control, _rx) = Control::open(Arc::new(RedbStore::open(&path).expect("store")), settings).expect("reopen");
    println!(
        "reopened: {} record sets read back in {:.2} s; {}",
        control.config().record_sets.len(),
        t.elapsed().as_secs_f64(),
        memory()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// This process's resident memory, current and peak (Linux; empty elsewhere).
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    };
    format!("RSS {} MiB (peak {} MiB)", field("VmRSS:"), field("VmHWM:"))
}
