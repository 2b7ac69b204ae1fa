//! Fulmar's control plane: the ELBv2, EC2 and Route 53 API operations.
//!
//! A call arrives as a verified Query-protocol request ([`Control::handle`]) or a
//! rest-xml request routed by method and path ([`Control::handle_rest`]). It runs
//! against a [`Txn`], a private copy of the configuration that records which
//! resources it touched. When the operation succeeds, the touched documents are
//! committed to the [`Store`] as one atomic, durable batch; only then does the copy
//! become the current configuration and get published, whole, to the data plane
//! through a `watch` channel. A failed operation leaves nothing behind.

mod ec2;
mod elbv2;
mod ids;
mod route53;
mod shapes;
mod txn;

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
}

impl Service {
    /// The service for a SigV4 credential-scope service name.
    pub fn from_signing_name(name: &str) -> Option<Service> {
        match name {
            "elasticloadbalancing" => Some(Service::Elbv2),
            "ec2" => Some(Service::Ec2),
            "route53" => Some(Service::Route53),
            _ => None,
        }
    }

    pub fn flavour(self) -> Flavour {
        match self {
            Service::Elbv2 => Flavour::Query,
            Service::Ec2 => Flavour::Ec2,
            Service::Route53 => Flavour::RestXml,
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            Service::Elbv2 => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
            Service::Ec2 => "http://ec2.amazonaws.com/doc/2016-11-15/",
            Service::Route53 => "https://route53.amazonaws.com/doc/2013-04-01/",
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
}

impl Control {
    /// Load the configuration from `store`; the receiver follows every committed change.
    pub fn open(
        store: Arc<dyn Store>,
        settings: Settings,
    ) -> Result<(Control, watch::Receiver<Arc<Config>>), ControlError> {
        let mut config = Config::default();
        for kind in Kind::ALL {
            for (key, value) in store.scan(kind.prefix())? {
                config
                    .insert_document(kind, &value)
                    .map_err(|source| ControlError::Corrupt { key, source })?;
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
        for kind in Kind::ALL {
            for (key, _) in self.store.scan(kind.prefix())? {
                ops.push(Op::Delete { key });
            }
        }
        if !ops.is_empty() {
            self.store.commit(&ops)?;
        }
        *current = Config::default();
        drop(current);
        self.publish.send_replace(Arc::new(Config::default()));
        Ok(())
    }

    /// Run one verified API call for `service` in `region` and render the answer.
    pub fn handle(&self, service: Service, region: &str, body: &[u8]) -> Reply {
        let request_id = fulmar_aws::xml::request_id();
        let result = QueryRequest::parse(body).and_then(|req| self.run_query(service, region, &req, &request_id));
        match result {
            Ok(body) => Reply {
                status: 200,
                headers: Vec::new(),
                body,
            },
            Err(err) => error_reply(service, &request_id, &err),
        }
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
        let request_id = fulmar_aws::xml::request_id();
        let routes = match service {
            Service::Route53 => route53::ROUTES,
            Service::Elbv2 | Service::Ec2 => &[],
        };
        let result = fulmar_aws::RestRequest::parse(routes, method, path, query, body)
            .and_then(|req| self.run(region, |txn| route53::dispatch(txn, &req, &request_id, &self.route53)));
        let mut reply = match result {
            Ok(reply) => reply,
            Err(err) => error_reply(service, &request_id, &err),
        };
        reply.headers.push(("x-amzn-RequestId".to_string(), request_id));
        reply
    }

    fn run_query(
        &self,
        service: Service,
        region: &str,
        req: &QueryRequest,
        request_id: &str,
    ) -> Result<String, AwsError> {
        self.run(region, |txn| match service {
            Service::Elbv2 => elbv2::dispatch(txn, req, request_id),
            Service::Ec2 => ec2::dispatch(txn, req, request_id),
            Service::Route53 => Err(AwsError::new(
                "InvalidAction",
                400,
                "Route 53 speaks rest-xml, not the Query protocol",
            )),
        })
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
        drop(current);
        self.publish.send_replace(Arc::new(config));
        Ok(body)
    }
}

fn error_reply(service: Service, request_id: &str, err: &AwsError) -> Reply {
    Reply {
        status: err.status,
        headers: Vec::new(),
        body: fulmar_aws::xml::error_response(service.flavour(), service.namespace(), request_id, err),
    }
}
