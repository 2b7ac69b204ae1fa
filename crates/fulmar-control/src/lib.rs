//! Fulmar's control plane: the ELBv2, EC2 and Route 53 API operations.
//!
//! A call arrives as a verified Query-protocol request ([`Control::handle`]) or a
//! rest-xml request routed by method and path ([`Control::handle_rest`]). It runs
//! against a [`Txn`], a private copy of the configuration that records which
//! resources it touched. When the operation succeeds, the touched documents are
//! committed to the [`Store`] as one atomic, durable batch; only then does the copy
//! become the current configuration and get published, whole, to the data plane
//! through a `watch` channel. A failed operation leaves nothing behind. Copying the
//! configuration is O(1) and committing writes only the touched documents, so an API
//! write costs O(change), whatever the size of the configuration.

mod acm;
mod awsjson;
mod ec2;
mod elbv2;
mod ids;
mod logs;
mod route53;
mod shapes;
mod ssm;
mod sts;
mod txn;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use fulmar_aws::query::QueryRequest;
use fulmar_aws::{AwsError, Flavour};
use fulmar_model::{Config, Kind, Target};
use fulmar_routing::health::TargetHealth;
use fulmar_store::{Op, Store};
use tokio::sync::watch;

pub use route53::{DnsAnswerer, Observation, Route53HealthView};
pub use txn::Txn;

/// The AWS services the control plane answers, chosen by the SigV4 scope's service name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Elbv2,
    Ec2,
    Route53,
    /// STS: only GetCallerIdentity (Fulmar has one identity, the account's root).
    Sts,
}

impl Service {
    /// The service for a SigV4 credential-scope service name.
    pub fn from_signing_name(name: &str) -> Option<Service> {
        match name {
            "elasticloadbalancing" => Some(Service::Elbv2),
            "ec2" => Some(Service::Ec2),
            "route53" => Some(Service::Route53),
            "sts" => Some(Service::Sts),
            _ => None,
        }
    }

    pub fn flavour(self) -> Flavour {
        match self {
            Service::Elbv2 => Flavour::Query,
            Service::Ec2 => Flavour::Ec2,
            Service::Route53 => Flavour::RestXml,
            Service::Sts => Flavour::Query,
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            Service::Elbv2 => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
            Service::Ec2 => "http://ec2.amazonaws.com/doc/2016-11-15/",
            Service::Route53 => "https://route53.amazonaws.com/doc/2013-04-01/",
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        }
    }
}

/// Node-wide settings the operations need.
#[derive(Debug, Clone)]
pub struct Settings {
    pub account_id: String,
    /// Loopback addresses handed to load balancers, one each, kept across restarts.
    pub address_pool: ipnet::Ipv4Net,
    /// A deliberate deviation from AWS, off by default: accept a load balancer's security
    /// groups from another VPC than its subnets' (moto accepts them, and its elbv2 test
    /// fixture relies on it; AWS answers InvalidSecurityGroup).
    pub cross_vpc_security_groups: bool,
}

/// What DescribeTargetHealth needs from the data plane's health checker.
pub trait HealthView: Send + Sync {
    /// The current health of a registered target.
    fn target_health(&self, target_group_arn: &str, target: &Target) -> TargetHealth;
    /// Deregistered targets still draining.
    fn draining(&self, target_group_arn: &str) -> Vec<Target>;
    /// Anomaly detection of a target: `(anomalous, mitigable)`, mitigable while fewer
    /// than half the group's routable targets are anomalous; `None`: not known.
    fn anomaly(&self, _target_group_arn: &str, _target: &Target) -> Option<(bool, bool)> {
        None
    }
}

/// An API answer: HTTP status, extra headers (`Location`, `x-amzn-RequestId`) and XML body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    #[error("store: {0}")]
    Store(#[from] fulmar_store::StoreError),
    #[error("stored document {key} is unreadable: {source}")]
    Corrupt { key: String, source: serde_json::Error },
}

pub struct Control {
    current: Mutex<Config>,
    store: Arc<dyn Store>,
    publish: watch::Sender<Arc<Config>>,
    settings: Settings,
    health: OnceLock<Arc<dyn HealthView>>,
    route53: route53::Views,
    /// Live [`AnnouncementHold`]s: answers to writes not yet handed to the connection.
    holds: AtomicUsize,
    /// A configuration was published without waking the followers (a hold was live).
    unannounced: AtomicBool,
}

/// Keeps the followers of the configuration channel (the data plane's compilers) from
/// being woken by a write until this is dropped, when they are (see
/// [`Control::hold_announcements`]).
pub struct AnnouncementHold {
    control: Arc<Control>,
}

impl Drop for AnnouncementHold {
    fn drop(&mut self) {
        self.control.holds.fetch_sub(1, Ordering::SeqCst);
        self.control.announce();
    }
}

impl Control {
    /// Load the configuration from `store`; the receiver follows every committed change.
    pub fn open(
        store: Arc<dyn Store>,
        settings: Settings,
    ) -> Result<(Control, watch::Receiver<Arc<Config>>), ControlError> {
        let mut config = Config::default();
        for kind in Kind::ALL {
            let mut corrupt = None;
            store.scan_each(kind.prefix(), &mut |key, value| {
                if corrupt.is_none() {
                    if let Err(source) = config.insert_document(kind, value) {
                        corrupt = Some(ControlError::Corrupt {
                            key: key.to_string(),
                            source,
                        });
                    }
                }
            })?;
            if let Some(e) = corrupt {
                return Err(e);
            }
        }
        let (publish, rx) = watch::channel(Arc::new(config.clone()));
        let control = Control {
            current: Mutex::new(config),
            store,
            publish,
            settings,
            health: OnceLock::new(),
            route53: route53::Views::default(),
            holds: AtomicUsize::new(0),
            unannounced: AtomicBool::new(false),
        };
        Ok((control, rx))
    }

    /// Connect the data plane's health checker (once, after the data plane starts).
    pub fn set_health_view(&self, view: Arc<dyn HealthView>) {
        let _ = self.health.set(view);
    }

    /// Connect the Route 53 health checker, which GetHealthCheckStatus and
    /// GetHealthCheckLastFailureReason read (once, after it starts).
    pub fn set_route53_health_view(&self, view: Arc<dyn Route53HealthView>) {
        let _ = self.route53.health.set(view);
    }

    /// Connect the DNS server that answers TestDNSAnswer (once, after it starts);
    /// until then TestDNSAnswer answers from the stored simple records.
    pub fn set_dns_answerer(&self, answerer: Arc<dyn DnsAnswerer>) {
        let _ = self.route53.dns.set(answerer);
    }

    /// The current configuration (a copy; cheap, values are shared).
    pub fn config(&self) -> Config {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Config> {
        // A panic while holding the lock cannot leave a half-applied change: operations
        // work on a copy and only a finished copy is ever stored back.
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forget every resource of every service (`POST /_fulmar/reset`): one atomic
    /// commit deleting every stored document, then an empty configuration is published.
    pub fn reset(&self) -> Result<(), ControlError> {
        let mut current = self.lock();
        let mut ops = Vec::new();
        // Fulmar's certificate authority is not a resource: its root stays trusted.
        for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::CertificateAuthority) {
            self.store.scan_each(kind.prefix(), &mut |key, _| {
                ops.push(Op::Delete { key: key.to_string() })
            })?;
        }
        if !ops.is_empty() {
            self.store.commit(&ops)?;
        }
        let kept = Config {
            certificate_authorities: current.certificate_authorities.clone(),
            ..Config::default()
        };
        *current = kept.clone();
        // Published before the lock is released: snapshots are published in commit order.
        self.publish.send_replace(Arc::new(kept));
        drop(current);
        Ok(())
    }

    /// Run one verified API call for `service` in `region` and render the answer.
    pub fn handle(&self, service: Service, region: &str, body: &[u8]) -> Reply {
        match QueryRequest::parse(body) {
            Ok(req) => self.handle_request(service, region, req),
            Err(err) => query_reply(service, &fulmar_aws::xml::request_id(), Err(err)),
        }
    }

    /// [`Control::handle`] for a call already parsed (by [`Control::handle_read`]).
    pub fn handle_request(&self, service: Service, region: &str, req: QueryRequest) -> Reply {
        let request_id = fulmar_aws::xml::request_id();
        let result = self.run_query(service, region, &req, &request_id);
        query_reply(service, &request_id, result)
    }

    /// Answer a call that only reads (`Describe*`, `List*`, `Get*`) from the last
    /// published configuration, without the writers' lock: it never waits for a write
    /// (or its fsync). `Err` gives back the parsed call when it is not a read, or would
    /// change something after all (the first call in a region creates the region's
    /// default VPC): answer it with [`Control::handle_request`].
    pub fn handle_read(&self, service: Service, region: &str, body: &[u8]) -> Result<Reply, QueryRequest> {
        let request_id = fulmar_aws::xml::request_id();
        let result = match QueryRequest::parse(body) {
            Ok(req) if !is_read(&req.action) => return Err(req),
            Ok(req) => match self.read(region, |txn| dispatch_query(service, txn, &req, &request_id)) {
                Some(result) => result,
                None => return Err(req),
            },
            Err(err) => Err(err),
        };
        Ok(query_reply(service, &request_id, result))
    }

    /// Run one verified rest-xml call (Route 53): routed by `method` and `path`,
    /// inputs from the path, the `query` string and the XML `body`.
    pub fn handle_rest(
        &self,
        service: Service,
        region: &str,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Reply {
        self.rest(service, region, method, path, query, body, false)
            .expect("a call that may write is always answered")
    }

    /// [`Control::handle_rest`] for a read (`Get*`, `List*`), answered like
    /// [`Control::handle_read`]; `None` for other operations, or when the call would
    /// change something after all.
    pub fn handle_rest_read(
        &self,
        service: Service,
        region: &str,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Option<Reply> {
        if method != "GET" {
            return None;
        }
        self.rest(service, region, method, path, query, body, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn rest(
        &self,
        service: Service,
        region: &str,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
        read_only: bool,
    ) -> Option<Reply> {
        let request_id = fulmar_aws::xml::request_id();
        let routes = match service {
            Service::Route53 => route53::ROUTES,
            Service::Elbv2 | Service::Ec2 | Service::Sts => &[],
        };
        let result = match fulmar_aws::RestRequest::parse(routes, method, path, query, body) {
            // By name, not by method: TestDNSAnswer (a GET) asks the DNS server, whose
            // view follows published changes asynchronously; it keeps the blocking path.
            Ok(req) if read_only && !is_read(req.route.operation) => return None,
            Ok(req) => {
                let op = |txn: &mut Txn| route53::dispatch(txn, &req, &request_id, &self.route53);
                if read_only {
                    self.read(region, op)?
                } else {
                    self.run(region, op)
                }
            }
            Err(err) => Err(err),
        };
        let mut reply = match result {
            Ok(reply) => reply,
            Err(err) => error_reply(service, &request_id, &err),
        };
        reply.headers.push(("x-amzn-RequestId".to_string(), request_id));
        Some(reply)
    }

    /// Run one verified awsJson1.1 call of a service named by its SigV4 signing name:
    /// CloudWatch Logs (`logs`), Systems Manager (`ssm`: `AmazonSSM.<Operation>`) or
    /// Certificate Manager (`acm`: `CertificateManager.<Operation>`).
    pub fn handle_json(&self, signing_name: &str, region: &str, target: Option<&str>, body: &[u8]) -> Reply {
        self.json(signing_name, region, target, body, false)
            .expect("a call that may write is always answered")
    }

    /// [`Control::handle_json`] for an operation that only reads, answered like
    /// [`Control::handle_read`]; `None` for other operations, or when the call would
    /// change something after all.
    pub fn handle_json_read(
        &self,
        signing_name: &str,
        region: &str,
        target: Option<&str>,
        body: &[u8],
    ) -> Option<Reply> {
        self.json(signing_name, region, target, body, true)
    }

    fn json(
        &self,
        signing_name: &str,
        region: &str,
        target: Option<&str>,
        body: &[u8],
        read_only: bool,
    ) -> Option<Reply> {
        type Dispatch = fn(&mut Txn, &str, &[u8]) -> Result<String, AwsError>;
        let (prefix, dispatch): (&str, Dispatch) = match signing_name {
            "ssm" => (ssm::TARGET_PREFIX, ssm::dispatch),
            "acm" => (acm::TARGET_PREFIX, acm::dispatch),
            _ => (logs::TARGET_PREFIX, logs::dispatch),
        };
        let request_id = fulmar_aws::xml::request_id();
        let result = match target.and_then(|t| t.strip_prefix(prefix)) {
            Some(operation) if read_only && !is_read(operation) => return None,
            Some(operation) if read_only => self.read(region, |txn| dispatch(txn, operation, body))?,
            Some(operation) => self.run(region, |txn| dispatch(txn, operation, body)),
            None => Err(AwsError::new(
                "UnknownOperationException",
                400,
                format!("Unknown X-Amz-Target: {}", target.unwrap_or("")),
            )),
        };
        let (status, body) = match result {
            Ok(body) => (200, body),
            Err(err) => (err.status, awsjson::error_body(&err)),
        };
        Some(Reply {
            status,
            headers: vec![("x-amzn-RequestId".to_string(), request_id)],
            body,
        })
    }

    /// The awsJson1.1 error document (CloudWatch Logs, SSM, ACM) for an error raised
    /// before dispatch (a signature that does not verify).
    pub fn json_error_body(err: &AwsError) -> String {
        awsjson::error_body(err)
    }

    fn run_query(
        &self,
        service: Service,
        region: &str,
        req: &QueryRequest,
        request_id: &str,
    ) -> Result<String, AwsError> {
        self.run(region, |txn| dispatch_query(service, txn, req, request_id))
    }

    /// Run `op`, which only reads, on the last published configuration (the same
    /// default VPC check as [`Control::run`] first). `None` when it changed something:
    /// then it must go through `run`, which commits.
    fn read<T>(&self, region: &str, op: impl FnOnce(&mut Txn) -> Result<T, AwsError>) -> Option<Result<T, AwsError>> {
        let config = Config::clone(&self.publish.borrow());
        let mut txn = Txn::new(config, region, &self.settings, self.health.get().cloned());
        txn.read_only = true;
        ec2::ensure_default_vpc(&mut txn);
        let result = op(&mut txn);
        let changed = !txn.finish().1.is_empty();
        // An error leaves nothing behind in `run` either; an answer is only final when
        // the call changed nothing.
        match result {
            Ok(_) if changed => None,
            result => Some(result),
        }
    }

    /// Run `op` on a transaction; commit what it touched, then publish.
    fn run<T>(&self, region: &str, op: impl FnOnce(&mut Txn) -> Result<T, AwsError>) -> Result<T, AwsError> {
        let mut current = self.lock();
        let mut txn = Txn::new(current.clone(), region, &self.settings, self.health.get().cloned());
        ec2::ensure_default_vpc(&mut txn);
        let body = op(&mut txn)?;
        let (config, dirty) = txn.finish();
        if dirty.is_empty() {
            return Ok(body);
        }
        let ops: Vec<Op> = dirty
            .into_iter()
            .map(|(kind, id)| match config.document(kind, &id) {
                Some(value) => Op::Put {
                    key: kind.key(&id),
                    value,
                },
                None => Op::Delete { key: kind.key(&id) },
            })
            .collect();
        if let Err(e) = self.store.commit(&ops) {
            tracing::error!(error = %e, "commit failed; the change was not applied");
            return Err(AwsError::new(
                "InternalFailure",
                500,
                "The request processing has failed because of an unknown error, exception or failure.",
            ));
        }
        *current = config.clone();
        // Published before the lock is released, so in commit order: the published
        // configuration, which reads answer from, is never older than an acknowledged write.
        // The followers are woken now, or when the API call that holds announcements has
        // handed its answer over (they then take the latest configuration).
        self.publish.send_if_modified(|published| {
            *published = Arc::new(config);
            false
        });
        self.unannounced.store(true, Ordering::SeqCst);
        drop(current);
        if self.holds.load(Ordering::SeqCst) == 0 {
            self.announce();
        }
        Ok(body)
    }

    /// Until the returned hold is dropped, a write publishes its configuration to reads
    /// at once but wakes the channel's followers (the ALB, DNS and health-check
    /// compilers) only when the hold is dropped. The API holds announcements while it
    /// answers a write and drops the hold once the answer is handed to the connection,
    /// so on a busy core compiling the new snapshot does not delay the answer; the data
    /// plane sees the change microseconds later.
    pub fn hold_announcements(self: &Arc<Self>) -> AnnouncementHold {
        self.holds.fetch_add(1, Ordering::SeqCst);
        AnnouncementHold { control: self.clone() }
    }

    /// Wake the followers if a configuration was published without waking them.
    fn announce(&self) {
        if self.unannounced.swap(false, Ordering::SeqCst) {
            self.publish.send_modify(|_| {});
        }
    }
}

fn dispatch_query(service: Service, txn: &mut Txn, req: &QueryRequest, request_id: &str) -> Result<String, AwsError> {
    match service {
        Service::Elbv2 => elbv2::dispatch(txn, req, request_id),
        Service::Ec2 => ec2::dispatch(txn, req, request_id),
        Service::Sts => sts::dispatch(txn, req, request_id),
        Service::Route53 => Err(AwsError::new(
            "InvalidAction",
            400,
            "Route 53 speaks rest-xml, not the Query protocol",
        )),
    }
}

/// Whether an operation, by its name, only reads (AWS's naming: Describe, List, Get).
fn is_read(operation: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|verb| operation.starts_with(verb))
}

fn query_reply(service: Service, request_id: &str, result: Result<String, AwsError>) -> Reply {
    match result {
        Ok(body) => Reply {
            status: 200,
            headers: Vec::new(),
            body,
        },
        Err(err) => error_reply(service, request_id, &err),
    }
}

fn error_reply(service: Service, request_id: &str, err: &AwsError) -> Reply {
    Reply {
        status: err.status,
        headers: Vec::new(),
        body: fulmar_aws::xml::error_response(service.flavour(), service.namespace(), request_id, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fulmar_store::MemoryStore;

    const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

    fn control() -> (Control, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new());
        let settings = Settings {
            account_id: "000000000000".into(),
            address_pool: "127.10.0.0/16".parse().unwrap(),
            cross_vpc_security_groups: false,
        };
        let (control, _rx) = Control::open(store.clone(), settings).unwrap();
        (control, store)
    }

    fn zone(control: &Control) -> String {
        let body = format!(
            "<CreateHostedZoneRequest xmlns=\"{NS}\"><Name>t.example</Name><CallerReference>1</CallerReference></CreateHostedZoneRequest>"
        );
        let reply = control.handle_rest(
            Service::Route53,
            "us-east-1",
            "POST",
            "/2013-04-01/hostedzone",
            None,
            body.as_bytes(),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply
            .body
            .split("<Id>/hostedzone/")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string()
    }

    fn change(control: &Control, zone: &str, changes: &[(&str, &str, &str)]) -> Reply {
        let mut body = format!("<ChangeResourceRecordSetsRequest xmlns=\"{NS}\"><ChangeBatch><Changes>");
        for (action, name, value) in changes {
            body.push_str(&format!(
                "<Change><Action>{action}</Action><ResourceRecordSet><Name>{name}</Name><Type>A</Type><TTL>60</TTL>\
                 <ResourceRecords><ResourceRecord><Value>{value}</Value></ResourceRecord></ResourceRecords>\
                 </ResourceRecordSet></Change>"
            ));
        }
        body.push_str("</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
        let path = format!("/2013-04-01/hostedzone/{zone}/rrset/");
        control.handle_rest(Service::Route53, "us-east-1", "POST", &path, None, body.as_bytes())
    }

    fn stored_records(store: &MemoryStore) -> Vec<String> {
        store
            .scan(Kind::RecordSet.prefix())
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn a_failed_batch_applies_nothing_and_published_snapshots_never_change() {
        let (control, store) = control();
        let zone = zone(&control);
        let snapshot = control.config();
        let rev = store.revision().unwrap();
        let reply = change(
            &control,
            &zone,
            &[
                ("CREATE", "a.t.example", "192.0.2.1"),
                ("DELETE", "gone.t.example", "192.0.2.1"),
            ],
        );
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains("<Code>InvalidChangeBatch</Code>"), "{}", reply.body);
        assert!(reply.body.contains("gone.t.example.") && reply.body.contains("but it was not found"));
        assert_eq!(store.revision().unwrap(), rev, "nothing committed");
        assert_eq!(control.config().record_sets.len(), snapshot.record_sets.len());

        let reply = change(&control, &zone, &[("CREATE", "a.t.example", "192.0.2.1")]);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(control.config().record_sets.len(), snapshot.record_sets.len() + 1);
        // The snapshot taken before shares structure with the new one but did not change.
        assert!(snapshot.record_sets.keys().all(|k| !k.contains("/a.t.example./")));
    }

    #[test]
    fn only_keys_whose_value_changed_are_written() {
        let (control, store) = control();
        let zone = zone(&control);
        let before = stored_records(&store);
        // Created then deleted in one batch: no record set document is written or removed.
        let reply = change(
            &control,
            &zone,
            &[
                ("CREATE", "x.t.example", "192.0.2.1"),
                ("DELETE", "x.t.example", "192.0.2.1"),
            ],
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(stored_records(&store), before);
        let reply = change(
            &control,
            &zone,
            &[
                ("CREATE", "y.t.example", "192.0.2.1"),
                ("UPSERT", "y.t.example", "192.0.2.2"),
            ],
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let stored = store.scan(Kind::RecordSet.prefix()).unwrap();
        let (_, doc) = stored.iter().find(|(k, _)| k.contains("/y.t.example./A/")).unwrap();
        assert!(String::from_utf8_lossy(doc).contains("192.0.2.2"));
        let live = control.config();
        let y = live.record_sets.values().find(|r| r.name == "y.t.example.").unwrap();
        assert_eq!(y.records, vec!["192.0.2.2".to_string()]);
    }
}
