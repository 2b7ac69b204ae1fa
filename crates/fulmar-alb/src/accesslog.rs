//! Access logs in the Application Load Balancer's format, written off the request path.
//!
//! When a load balancer has `access_logs.s3.enabled=true`, every request on its
//! listeners becomes one [`Record`], sent over a bounded channel to one writer task
//! (a full channel drops the record and counts it: a request never waits for the
//! disk). The writer formats each record as AWS does (fields in AWS's order, quoting
//! and `-`/`-1` placeholders, see [`Record::line`]) and appends it to a gzip file named
//! as ELB names its objects, under `<data-dir>/access-logs/<bucket>/<prefix>/AWSLogs/...`
//! in place of S3. A file covers one interval (5 minutes, as on AWS): it is written
//! under a `.tmp` name and renamed to its final name when the interval ends or the
//! data plane shuts down, the moment ELB would deliver it to the bucket.
//!
//! Connection logs (`connection_logs.s3.enabled=true`) go the same way: one
//! [`ConnRecord`] per client connection established, in AWS's connection-log format
//! ([`ConnRecord::line`]), in files named `conn_log_<account>_elasticloadbalancing_...`
//! beside the access logs of their bucket.
//!
//! Health check logs (`health_check_logs.s3.enabled=true`): one [`HealthRecord`] per
//! health check of a target of the load balancer's target groups, passed or failed,
//! in AWS's health-check-log format ([`HealthRecord::line`]), in files named
//! `health_check_log_<account>_elasticloadbalancing_...`.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flate2::write::GzEncoder;
use flate2::Compression;
use tokio::sync::{mpsc, oneshot};

/// Records that may wait for the writer before new ones are dropped.
const QUEUE: usize = 65_536;

/// ELB's delivery interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// Where one load balancer's access logs go, and the names that appear in them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Destination {
    /// `<data-dir>/access-logs/<bucket>[/<prefix>]/AWSLogs/<account>/elasticloadbalancing/<region>`.
    pub dir: PathBuf,
    /// `[conn_log_|health_check_log_]<account>_elasticloadbalancing_<region>_app.<name>.<id>`.
    pub stem: String,
    /// The load balancer's address, part of every file name.
    pub ip: Ipv4Addr,
    /// The `elb` field: `app/<name>/<id>`.
    pub elb: String,
}

/// The logs a load balancer writes to S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogKind {
    /// `access_logs.s3.*`: a line per request.
    Access,
    /// `connection_logs.s3.*`: a line per client connection.
    Connection,
    /// `health_check_logs.s3.*`: a line per health check of a target.
    HealthCheck,
}

impl LogKind {
    fn attribute(self, name: &str) -> String {
        match self {
            LogKind::Access => format!("access_logs.s3.{name}"),
            LogKind::Connection => format!("connection_logs.s3.{name}"),
            LogKind::HealthCheck => format!("health_check_logs.s3.{name}"),
        }
    }

    /// What a file name starts with before the account id.
    fn file_prefix(self) -> &'static str {
        match self {
            LogKind::Access => "",
            // AWS's guide writes `conn_log.`; the objects ELB delivers are named `conn_log_`.
            LogKind::Connection => "conn_log_",
            LogKind::HealthCheck => "health_check_log_",
        }
    }
}

impl Destination {
    /// The destination of a load balancer's `kind` of log when its attributes enable
    /// it; `None` when they are off or name no bucket, or the ARN is not an ELB ARN.
    pub fn of(
        data_dir: &Path,
        account_id: &str,
        lb: &fulmar_model::LoadBalancer,
        kind: LogKind,
    ) -> Option<Destination> {
        let attr = |k: &str| lb.attributes.get(&kind.attribute(k)).map(|v| v.trim());
        if attr("enabled") != Some("true") {
            return None;
        }
        let bucket = attr("bucket").filter(|b| !b.is_empty())?;
        let prefix = attr("prefix").unwrap_or("");
        // arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>
        let mut parts = lb.arn.splitn(6, ':');
        let region = parts.nth(3)?;
        let arn_account = parts.next()?;
        let elb = parts.next()?.strip_prefix("loadbalancer/")?.to_owned();
        let account = if account_id.is_empty() { arn_account } else { account_id };
        let mut dir = data_dir.join("access-logs").join(bucket);
        for segment in prefix.split('/').filter(|s| !s.is_empty() && *s != "..") {
            dir.push(segment);
        }
        dir.push("AWSLogs");
        dir.push(account);
        dir.push("elasticloadbalancing");
        dir.push(region);
        let stem = format!(
            "{}{account}_elasticloadbalancing_{region}_{}",
            kind.file_prefix(),
            elb.replace('/', ".")
        );
        Some(Destination {
            dir,
            stem,
            ip: lb.address,
            elb,
        })
    }
}

/// One request, as the access log records it. Durations are `None` where AWS logs
/// `-1`; strings are `None` where it logs `-`.
#[derive(Debug)]
pub(crate) struct Record {
    pub destination: Arc<Destination>,
    /// When the response was finished.
    pub time: SystemTime,
    pub client: SocketAddr,
    pub target: Option<SocketAddr>,
    pub request_processing: Option<Duration>,
    pub target_processing: Option<Duration>,
    pub response_processing: Option<Duration>,
    pub elb_status: u16,
    pub target_status: Option<u16>,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    pub method: String,
    /// `http://host:port/path?query`.
    pub url: String,
    /// `HTTP/1.1`, `HTTP/1.0`, ...
    pub version: &'static str,
    pub user_agent: Option<String>,
    pub target_group_arn: Option<String>,
    pub trace_id: Option<String>,
    /// `Some(0)` for the default rule, `None` (logged `-`) when no rule was evaluated.
    pub matched_rule_priority: Option<u32>,
    pub request_creation_time: SystemTime,
    /// `forward`, `redirect`, `fixed-response`; `None` when no action ran.
    pub actions_executed: Option<&'static str>,
    pub redirect_url: Option<String>,
    pub error_reason: Option<&'static str>,
    /// Desync classification and reason of a non-compliant request.
    pub classification: Option<(&'static str, &'static str)>,
    pub conn_trace_id: Arc<str>,
    /// The TLS connection the request arrived on (HTTPS listeners).
    pub tls: Option<crate::tls::Tls>,
    /// A gRPC request (`content-type: application/grpc...`): `grpcs` over TLS.
    pub grpc: bool,
}

impl Record {
    /// The log line, without its newline: AWS's fields in AWS's order.
    pub fn line(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(512);
        let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        let tls = self.tls.as_ref().map(|t| &*t.0);
        let target = self.target.map(|t| t.to_string());
        let status = self.target_status.map(|s| s.to_string());
        let _ = write!(
            out,
            "{} {} {} {} {} {} {} {} {} {} {} {} ",
            self.kind(),
            iso8601(self.time),
            self.elb(),
            self.client,
            dash(&target),
            seconds(self.request_processing),
            seconds(self.target_processing),
            seconds(self.response_processing),
            self.elb_status,
            dash(&status),
            self.received_bytes,
            self.sent_bytes,
        );
        let _ = write!(
            out,
            "{} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} \"-\" \"-\" \"-\"",
            quoted(&format!("{} {} {}", self.method, self.url, self.version)),
            quoted(self.user_agent.as_deref().unwrap_or("-")),
            tls.map_or("-", |t| t.cipher),
            tls.map_or("-", |t| t.protocol),
            self.target_group_arn.as_deref().unwrap_or("-"),
            quoted(self.trace_id.as_deref().unwrap_or("-")),
            quoted(tls.and_then(|t| t.sni.as_deref()).unwrap_or("-")),
            quoted(tls.and_then(|t| t.cert_arn.as_deref()).unwrap_or("-")),
            self.matched_rule_priority
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
            iso8601(self.request_creation_time),
            quoted(self.actions_executed.unwrap_or("-")),
            quoted(self.redirect_url.as_deref().unwrap_or("-")),
            quoted(self.error_reason.unwrap_or("-")),
            quoted(&dash(&target)),
            quoted(&dash(&status)),
            quoted(self.classification.map_or("-", |c| c.0)),
            quoted(self.classification.map_or("-", |c| c.1)),
            self.conn_trace_id,
        );
        out
    }

    fn elb(&self) -> &str {
        &self.destination.elb
    }

    /// The entry's type, as AWS names it: `ws`/`wss` for a WebSocket (the only upgrade
    /// answered `101`); over TLS `grpcs` for gRPC, `h2` for other HTTP/2 and `https`
    /// for HTTP/1.x; in the clear `http`, or `h2` for a client speaking h2c with prior
    /// knowledge (a local convenience; AWS has no such entry).
    fn kind(&self) -> &'static str {
        let tls = self.tls.is_some();
        match (self.elb_status == 101, self.version == "HTTP/2.0", tls) {
            (true, _, false) => "ws",
            (true, _, true) => "wss",
            (false, true, true) if self.grpc => "grpcs",
            (false, true, _) => "h2",
            (false, false, true) => "https",
            (false, false, false) => "http",
        }
    }
}

/// One client connection, as the connection log records it.
#[derive(Debug)]
pub(crate) struct ConnRecord {
    pub destination: Arc<Destination>,
    /// When the connection was established (for HTTPS, its handshake completed).
    pub time: SystemTime,
    pub client: SocketAddr,
    pub listener_port: u16,
    /// The TLS connection (HTTPS listeners) and how long its handshake took.
    pub tls: Option<(crate::tls::Tls, Duration)>,
    /// The same id as the access-log entries of the connection's requests.
    pub conn_trace_id: Arc<str>,
    /// `Success`; `Failed:UnmappedConnectionError` for a TLS handshake that failed
    /// (what AWS logs when a negotiation fails without mutual TLS); `-` on HTTP.
    pub verify_status: &'static str,
}

impl ConnRecord {
    /// The log line, without its newline: `time client_ip client_port listener_port
    /// tls_protocol tls_cipher tls_handshake_latency "leaf_client_cert_subject"
    /// leaf_client_cert_validity leaf_client_cert_serial_number tls_verify_status
    /// conn_trace_id`. The TLS fields are `-` on plain HTTP and for a failed handshake;
    /// the client-certificate fields are `-` unless the client presented one (mutual TLS).
    pub fn line(&self) -> String {
        let tls = self.tls.as_ref().map(|(t, took)| (&*t.0, took));
        let cert = tls.and_then(|(t, _)| t.client_cert.as_ref());
        format!(
            "{} {} {} {} {} {} {} {} {} {} {} {}",
            iso8601(self.time),
            self.client.ip(),
            self.client.port(),
            self.listener_port,
            tls.map_or("-", |(t, _)| t.protocol),
            tls.map_or("-", |(t, _)| t.cipher),
            tls.map_or_else(|| "-".to_owned(), |(_, took)| format!("{:.3}", took.as_secs_f64())),
            quoted(cert.map_or("-", |c| &c.subject)),
            cert.map_or("-", |c| &c.validity),
            cert.map_or("-", |c| &c.serial),
            self.verify_status,
            self.conn_trace_id,
        )
    }
}

/// One health check of a target, as the health check log records it.
#[derive(Debug)]
pub(crate) struct HealthRecord {
    pub destination: Arc<Destination>,
    /// `http`, `https`, `h2` or `grpc`: how the target was checked.
    pub kind: &'static str,
    /// When the check started.
    pub time: SystemTime,
    /// How long it took, to its answer, failure or timeout.
    pub latency: Duration,
    pub target: SocketAddr,
    pub target_group_name: Arc<str>,
    pub passed: bool,
    /// The response's status code (gRPC checks: its `grpc-status`); `None` when no
    /// response arrived.
    pub status_code: Option<u16>,
    /// Why a check failed (`TimedOut`, `ConnectionReset`, `ResponseCodeMismatch`,
    /// `TargetError`, `GRPCUnexpectedStatus`); `None` when it passed.
    pub reason: Option<&'static str>,
}

impl HealthRecord {
    /// The log line, without its newline: `type time latency target_addr
    /// target_group_id status status_code reason_code elb ip_address`, `-` where a
    /// field has no value (AWS's `target_group_id` field holds the group's name).
    pub fn line(&self) -> String {
        format!(
            "{} {} {:.9} {} {} {} {} {} {} {}",
            self.kind,
            iso8601(self.time),
            self.latency.as_secs_f64(),
            self.target,
            self.target_group_name,
            if self.passed { "PASS" } else { "FAIL" },
            self.status_code.map_or_else(|| "-".to_owned(), |c| c.to_string()),
            self.reason.unwrap_or("-"),
            self.destination.elb,
            self.destination.ip,
        )
    }
}

/// A quoted field: `"` and `\` escaped, control characters dropped as AWS does with
/// percent-less output (the field must stay on one line).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Seconds with millisecond precision, as AWS logs them; `-1` for `None`.
fn seconds(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.3}", d.as_secs_f64()),
        None => "-1".into(),
    }
}

/// Unix seconds to (year, month, day, hour, minute, second).
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a proleptic Gregorian date (era-based arithmetic).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `2026-11-24T06:00:31.123456Z`.
pub fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (y, mo, da, h, mi, s) = civil(d.as_secs());
    format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}.{:06}Z", d.subsec_micros())
}

/// A line for one of the logs, formatted by the writer.
enum Entry {
    Request(Box<Record>),
    Connection(Box<ConnRecord>),
    HealthCheck(Box<HealthRecord>),
}

impl Entry {
    fn destination(&self) -> &Destination {
        match self {
            Entry::Request(r) => &r.destination,
            Entry::Connection(r) => &r.destination,
            Entry::HealthCheck(r) => &r.destination,
        }
    }

    fn line(&self) -> String {
        match self {
            Entry::Request(r) => r.line(),
            Entry::Connection(r) => r.line(),
            Entry::HealthCheck(r) => r.line(),
        }
    }
}

/// The sending half: cloned into the request path; never blocks.
pub(crate) struct AccessLogs {
    tx: mpsc::Sender<Message>,
    dropped: AtomicU64,
}

enum Message {
    Entry(Entry),
    /// Close every open file (delivering it) and answer.
    Flush(oneshot::Sender<()>),
}

impl AccessLogs {
    /// Start the writer task on the current runtime; files rotate every `interval`.
    pub fn start(interval: Duration) -> AccessLogs {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(rx, interval.max(Duration::from_millis(100))));
        AccessLogs {
            tx,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queue a record; dropped (and counted) when the writer is this far behind.
    pub fn send(&self, record: Record) {
        self.queue(Message::Entry(Entry::Request(Box::new(record))));
    }

    /// Queue a connection-log record, as [`AccessLogs::send`].
    pub fn send_conn(&self, record: ConnRecord) {
        self.queue(Message::Entry(Entry::Connection(Box::new(record))));
    }

    /// Queue a health-check-log record, as [`AccessLogs::send`].
    pub fn send_health(&self, record: HealthRecord) {
        self.queue(Message::Entry(Entry::HealthCheck(Box::new(record))));
    }

    fn queue(&self, message: Message) {
        if self.tx.try_send(message).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "access log writer is behind; records dropped");
            }
        }
    }

    /// Deliver every open file now (shutdown).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// One file being written: the interval it covers and where it goes when done.
struct OpenFile {
    gz: GzEncoder<File>,
    partial: PathBuf,
    delivered: PathBuf,
}

async fn writer(mut rx: mpsc::Receiver<Message>, interval: Duration) {
    let mut open: HashMap<PathBuf, OpenFile> = HashMap::new();
    let mut boundary = next_boundary(SystemTime::now(), interval);
    loop {
        let wait = boundary.duration_since(SystemTime::now()).unwrap_or_default();
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Message::Entry(entry)) => {
                    if SystemTime::now() >= boundary {
                        deliver_all(&mut open);
                        boundary = next_boundary(SystemTime::now(), interval);
                    }
                    write(&mut open, entry.destination(), entry.line(), boundary);
                }
                Some(Message::Flush(done)) => {
                    deliver_all(&mut open);
                    let _ = done.send(());
                }
                None => {
                    deliver_all(&mut open);
                    return;
                }
            },
            _ = tokio::time::sleep(wait) => {
                deliver_all(&mut open);
                boundary = next_boundary(SystemTime::now(), interval);
            }
        }
    }
}

/// The end of the interval containing `now`.
fn next_boundary(now: SystemTime, interval: Duration) -> SystemTime {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    let step = interval.as_millis().max(1);
    UNIX_EPOCH + Duration::from_millis(((since / step + 1) * step) as u64)
}

fn write(open: &mut HashMap<PathBuf, OpenFile>, dest: &Destination, mut line: String, end: SystemTime) {
    let key = dest.dir.join(&dest.stem);
    if !open.contains_key(&key) {
        match create(dest, end) {
            Ok(file) => {
                open.insert(key.clone(), file);
            }
            Err(e) => {
                tracing::warn!(dir = %dest.dir.display(), error = %e, "cannot create an access log file");
                return;
            }
        }
    }
    let Some(file) = open.get_mut(&key) else {
        return;
    };
    line.push('\n');
    if let Err(e) = file.gz.write_all(line.as_bytes()) {
        tracing::warn!(file = %file.partial.display(), error = %e, "cannot write an access log record");
    }
}

/// Open the file of `dest` for the interval ending at `end`:
/// `<dir>/<yyyy>/<mm>/<dd>/<stem>_<yyyymmddThhmmZ>_<ip>_<random>.log.gz`.
fn create(dest: &Destination, end: SystemTime) -> std::io::Result<OpenFile> {
    let secs = end.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (y, mo, d, h, mi, _) = civil(secs);
    let dir = dest
        .dir
        .join(format!("{y:04}"))
        .join(format!("{mo:02}"))
        .join(format!("{d:02}"));
    std::fs::create_dir_all(&dir)?;
    let random: String = (0..8)
        .map(|_| {
            let n = rand::random::<u8>() % 36;
            char::from_digit(u32::from(n), 36).unwrap_or('0')
        })
        .collect();
    let name = format!(
        "{}_{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z_{}_{random}.log.gz",
        dest.stem, dest.ip
    );
    let delivered = dir.join(&name);
    let partial = dir.join(format!(".{name}.tmp"));
    let file = File::create(&partial)?;
    Ok(OpenFile {
        gz: GzEncoder::new(file, Compression::default()),
        partial,
        delivered,
    })
}

fn deliver_all(open: &mut HashMap<PathBuf, OpenFile>) {
    for (_, file) in open.drain() {
        let result = file
            .gz
            .finish()
            .and_then(|mut f| f.flush().map(|_| f))
            .and_then(|_| std::fs::rename(&file.partial, &file.delivered));
        match result {
            Ok(()) => tracing::debug!(file = %file.delivered.display(), "access log delivered"),
            Err(e) => {
                tracing::warn!(file = %file.partial.display(), error = %e, "cannot deliver an access log file")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_530_570_180), (2018, 7, 2, 22, 23, 0));
        let t = UNIX_EPOCH + Duration::from_micros(1_530_570_180_186_641);
        assert_eq!(iso8601(t), "2018-07-02T22:23:00.186641Z");
    }

    #[test]
    fn seconds_and_quoting() {
        assert_eq!(seconds(None), "-1");
        assert_eq!(seconds(Some(Duration::from_micros(1_600))), "0.002");
        assert_eq!(quoted("a \"b\"\n"), "\"a \\\"b\\\" \"");
    }

    fn test_lb() -> fulmar_model::LoadBalancer {
        fulmar_model::LoadBalancer {
            arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188".into(),
            address: Ipv4Addr::new(127, 10, 0, 5),
            attributes: Default::default(),
            name: "web".into(),
            dns_name: String::new(),
            canonical_hosted_zone_id: String::new(),
            created_ms: 0,
            scheme: "internal".into(),
            vpc_id: String::new(),
            state: "active".into(),
            kind: "application".into(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            ip_address_type: "ipv4".into(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn connection_lines() {
        let mut lb = test_lb();
        for (k, v) in [
            ("connection_logs.s3.enabled", "true"),
            ("connection_logs.s3.bucket", "logs"),
            ("connection_logs.s3.prefix", "edge"),
        ] {
            lb.attributes.insert(k.to_owned(), v.to_owned());
        }
        let dir = Path::new("/d");
        assert!(Destination::of(dir, "", &lb, LogKind::Access).is_none());
        let dest = Destination::of(dir, "", &lb, LogKind::Connection).unwrap();
        assert_eq!(
            dest.dir,
            Path::new("/d/access-logs/logs/edge/AWSLogs/123456789012/elasticloadbalancing/us-east-1")
        );
        assert_eq!(
            dest.stem,
            "conn_log_123456789012_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188"
        );
        let mut record = ConnRecord {
            destination: Arc::new(dest),
            time: UNIX_EPOCH + Duration::from_micros(1_530_570_180_186_641),
            client: "192.0.2.1:45678".parse().unwrap(),
            listener_port: 80,
            tls: None,
            conn_trace_id: "TID_0123".into(),
            verify_status: "-",
        };
        assert_eq!(
            record.line(),
            "2018-07-02T22:23:00.186641Z 192.0.2.1 45678 80 - - - \"-\" - - - TID_0123"
        );
        record.verify_status = "Success";
        let facts = crate::tls::Facts {
            protocol: "TLSv1.2",
            cipher: "ECDHE-RSA-AES128-GCM-SHA256",
            sni: None,
            cert_arn: None,
            mtls: false,
            client_cert: None,
        };
        record.listener_port = 443;
        record.tls = Some((crate::tls::Tls(Arc::new(facts)), Duration::from_micros(4_036_400)));
        assert_eq!(
            record.line(),
            "2018-07-02T22:23:00.186641Z 192.0.2.1 45678 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 \"-\" - - Success TID_0123"
        );
        record.tls = None;
        record.verify_status = "Failed:UnmappedConnectionError";
        assert_eq!(
            record.line(),
            "2018-07-02T22:23:00.186641Z 192.0.2.1 45678 443 - - - \"-\" - - Failed:UnmappedConnectionError TID_0123"
        );
    }

    #[test]
    fn health_check_lines() {
        let mut lb = test_lb();
        for (k, v) in [
            ("health_check_logs.s3.enabled", "true"),
            ("health_check_logs.s3.bucket", "hc"),
        ] {
            lb.attributes.insert(k.to_owned(), v.to_owned());
        }
        let dest = Destination::of(Path::new("/d"), "", &lb, LogKind::HealthCheck).unwrap();
        assert_eq!(
            dest.dir,
            Path::new("/d/access-logs/hc/AWSLogs/123456789012/elasticloadbalancing/us-east-1")
        );
        assert_eq!(
            dest.stem,
            "health_check_log_123456789012_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188"
        );
        // AWS's examples, with the two fields its table adds after reason_code.
        let mut record = HealthRecord {
            destination: Arc::new(dest),
            kind: "http",
            time: UNIX_EPOCH + Duration::from_micros(1_761_914_699_875_678),
            latency: Duration::from_nanos(19_584_011),
            target: "172.31.20.97:80".parse().unwrap(),
            target_group_name: "HCLogsTestIPs".into(),
            passed: true,
            status_code: Some(200),
            reason: None,
        };
        assert_eq!(
            record.line(),
            "http 2025-10-31T12:44:59.875678Z 0.019584011 172.31.20.97:80 HCLogsTestIPs PASS 200 - app/web/50dc6c495c0c9188 127.10.0.5"
        );
        (record.passed, record.status_code, record.reason) = (false, None, Some("TimedOut"));
        record.latency = Duration::from_secs(5);
        assert!(record
            .line()
            .contains(" 5.000000000 172.31.20.97:80 HCLogsTestIPs FAIL - TimedOut app/"));
    }

    #[test]
    fn boundaries_are_aligned() {
        let t = UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            next_boundary(t, DEFAULT_INTERVAL),
            UNIX_EPOCH + Duration::from_secs(1_200)
        );
    }
}
