//! The Route 53 API (version 2013-04-01), as the rest-xml protocol carries it: a
//! route table from the service model's HTTP bindings, one function per operation
//! taking its typed input and returning its typed output.
//!
//! Route 53 is global: hosted zones, health checks and CIDR collections belong to
//! the account, whatever region the call was signed for. Health-check observations
//! and TestDNSAnswer come from the data plane through [`Route53HealthView`] and
//! [`DnsAnswerer`].

mod changes;
mod cidr;
mod delegation;
mod health_checks;
mod names;
mod query_logging;
mod records;
mod rrset;
mod tags;
mod test_dns;
mod zones;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use fulmar_aws::{AwsError, RestRequest, Route};
use ipnet::IpNet;
use serde::Serialize;

use crate::{Reply, Service, Txn};

/// One health checker's latest result for a health check, as GetHealthCheckStatus reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The checker's region, e.g. `us-east-1`.
    pub region: String,
    /// The checker's address.
    pub ip_address: String,
    /// When the check ran, in milliseconds since the Unix epoch.
    pub checked_at_ms: i64,
    /// AWS's status line, e.g. `Success: HTTP Status Code 200, OK` or
    /// `Failure: Connection timed out. ...`.
    pub status: String,
}

/// What GetHealthCheckStatus and GetHealthCheckLastFailureReason need from the
/// Route 53 health checker.
pub trait Route53HealthView: Send + Sync {
    /// The latest observation of each checker for a health check; empty when the
    /// health check has not been probed yet.
    fn observations(&self, health_check_id: &str) -> Vec<Observation>;

    /// The latest failed observation of each checker. By default, the current
    /// observations that are failures.
    fn last_failures(&self, health_check_id: &str) -> Vec<Observation> {
        self.observations(health_check_id)
            .into_iter()
            .filter(|o| o.status.starts_with("Failure"))
            .collect()
    }
}

/// What TestDNSAnswer needs from the DNS server: the answer it would give.
pub trait DnsAnswerer: Send + Sync {
    /// The response code (`NOERROR`, `NXDOMAIN`, ...) and the answer's record data
    /// in presentation format, for a query of `name`/`rtype` in the zone `zone_id`
    /// as a resolver at `resolver_ip` with an optional EDNS client subnet would see it.
    fn answer(
        &self,
        zone_id: &str,
        name: &str,
        rtype: &str,
        resolver_ip: Option<IpAddr>,
        edns_client_subnet: Option<IpNet>,
    ) -> (String, Vec<String>);
}

/// The data-plane views the Route 53 operations read, set once each.
#[derive(Default)]
pub(crate) struct Views {
    pub(crate) health: OnceLock<Arc<dyn Route53HealthView>>,
    pub(crate) dns: OnceLock<Arc<dyn DnsAnswerer>>,
    /// ListResourceRecordSets' sorted view of the zone listed last.
    pub(crate) listing: records::Listing,
}

const fn route(method: &'static str, template: &'static str, operation: &'static str) -> Route {
    Route {
        method,
        template,
        operation,
        status: 200,
    }
}

const fn created(template: &'static str, operation: &'static str) -> Route {
    Route {
        method: "POST",
        template,
        operation,
        status: 201,
    }
}

/// The operations Fulmar serves, with their bindings from the Route 53 model.
pub(crate) const ROUTES: &[Route] = &[
    created("/2013-04-01/hostedzone", "CreateHostedZone"),
    route("GET", "/2013-04-01/hostedzone", "ListHostedZones"),
    route("GET", "/2013-04-01/hostedzonesbyname", "ListHostedZonesByName"),
    route("GET", "/2013-04-01/hostedzonesbyvpc", "ListHostedZonesByVPC"),
    route("GET", "/2013-04-01/hostedzonecount", "GetHostedZoneCount"),
    route("GET", "/2013-04-01/hostedzone/{Id}", "GetHostedZone"),
    route("DELETE", "/2013-04-01/hostedzone/{Id}", "DeleteHostedZone"),
    route("POST", "/2013-04-01/hostedzone/{Id}", "UpdateHostedZoneComment"),
    route(
        "POST",
        "/2013-04-01/hostedzone/{Id}/associatevpc",
        "AssociateVPCWithHostedZone",
    ),
    route(
        "POST",
        "/2013-04-01/hostedzone/{Id}/disassociatevpc",
        "DisassociateVPCFromHostedZone",
    ),
    route("POST", "/2013-04-01/hostedzone/{Id}/rrset/", "ChangeResourceRecordSets"),
    route("GET", "/2013-04-01/hostedzone/{Id}/rrset", "ListResourceRecordSets"),
    route("GET", "/2013-04-01/change/{Id}", "GetChange"),
    created("/2013-04-01/healthcheck", "CreateHealthCheck"),
    route("GET", "/2013-04-01/healthcheck", "ListHealthChecks"),
    route("GET", "/2013-04-01/healthcheckcount", "GetHealthCheckCount"),
    route("GET", "/2013-04-01/healthcheck/{HealthCheckId}", "GetHealthCheck"),
    route("POST", "/2013-04-01/healthcheck/{HealthCheckId}", "UpdateHealthCheck"),
    route("DELETE", "/2013-04-01/healthcheck/{HealthCheckId}", "DeleteHealthCheck"),
    route(
        "GET",
        "/2013-04-01/healthcheck/{HealthCheckId}/status",
        "GetHealthCheckStatus",
    ),
    route(
        "GET",
        "/2013-04-01/healthcheck/{HealthCheckId}/lastfailurereason",
        "GetHealthCheckLastFailureReason",
    ),
    created("/2013-04-01/cidrcollection", "CreateCidrCollection"),
    route("GET", "/2013-04-01/cidrcollection", "ListCidrCollections"),
    route(
        "POST",
        "/2013-04-01/cidrcollection/{CidrCollectionId}",
        "ChangeCidrCollection",
    ),
    route(
        "GET",
        "/2013-04-01/cidrcollection/{CidrCollectionId}",
        "ListCidrLocations",
    ),
    route(
        "DELETE",
        "/2013-04-01/cidrcollection/{CidrCollectionId}",
        "DeleteCidrCollection",
    ),
    route(
        "GET",
        "/2013-04-01/cidrcollection/{CidrCollectionId}/cidrblocks",
        "ListCidrBlocks",
    ),
    route("GET", "/2013-04-01/testdnsanswer", "TestDNSAnswer"),
    route(
        "POST",
        "/2013-04-01/tags/{ResourceType}/{ResourceId}",
        "ChangeTagsForResource",
    ),
    route(
        "GET",
        "/2013-04-01/tags/{ResourceType}/{ResourceId}",
        "ListTagsForResource",
    ),
    route("POST", "/2013-04-01/tags/{ResourceType}", "ListTagsForResources"),
    route("GET", "/2013-04-01/accountlimit/{Type}", "GetAccountLimit"),
    route("GET", "/2013-04-01/hostedzone/{Id}/dnssec", "GetDNSSEC"),
    created("/2013-04-01/delegationset", "CreateReusableDelegationSet"),
    route("GET", "/2013-04-01/delegationset", "ListReusableDelegationSets"),
    route("GET", "/2013-04-01/delegationset/{Id}", "GetReusableDelegationSet"),
    route(
        "DELETE",
        "/2013-04-01/delegationset/{Id}",
        "DeleteReusableDelegationSet",
    ),
    route(
        "GET",
        "/2013-04-01/reusabledelegationsetlimit/{Id}/{Type}",
        "GetReusableDelegationSetLimit",
    ),
    created("/2013-04-01/queryloggingconfig", "CreateQueryLoggingConfig"),
    route("GET", "/2013-04-01/queryloggingconfig", "ListQueryLoggingConfigs"),
    route("GET", "/2013-04-01/queryloggingconfig/{Id}", "GetQueryLoggingConfig"),
    route(
        "DELETE",
        "/2013-04-01/queryloggingconfig/{Id}",
        "DeleteQueryLoggingConfig",
    ),
];

/// The public endpoint Route 53 names in `Location` headers.
const ENDPOINT: &str = "https://route53.amazonaws.com/2013-04-01";

/// An output with the `Location` header of the resource it created.
pub(crate) struct Located<T> {
    pub(crate) location: String,
    pub(crate) body: T,
}

/// An output with no members.
#[derive(Serialize)]
pub(crate) struct Empty {}

/// Run one Route 53 operation and render its response.
pub(crate) fn dispatch(txn: &mut Txn, req: &RestRequest, request_id: &str, views: &Views) -> Result<Reply, AwsError> {
    let render = |body: &dyn erased::Render, headers: Vec<(String, String)>| Reply {
        status: req.route.status,
        headers,
        body: body.render(req.operation(), request_id),
    };
    macro_rules! op {
        ($f:path) => {{
            let output = $f(txn, req.decode()?)?;
            Ok(render(&output, Vec::new()))
        }};
        ($f:path, $extra:expr) => {{
            let output = $f(txn, req.decode()?, $extra)?;
            Ok(render(&output, Vec::new()))
        }};
    }
    macro_rules! located {
        ($f:path) => {{
            let Located { location, body } = $f(txn, req.decode()?)?;
            Ok(render(&body, vec![("Location".to_string(), location)]))
        }};
    }
    match req.operation() {
        "CreateHostedZone" => located!(zones::create),
        "GetHostedZone" => op!(zones::get),
        "ListHostedZones" => op!(zones::list),
        "ListHostedZonesByName" => op!(zones::list_by_name),
        "ListHostedZonesByVPC" => op!(zones::list_by_vpc),
        "GetHostedZoneCount" => op!(zones::count),
        "DeleteHostedZone" => op!(zones::delete),
        "UpdateHostedZoneComment" => op!(zones::update_comment),
        "AssociateVPCWithHostedZone" => op!(zones::associate_vpc),
        "DisassociateVPCFromHostedZone" => op!(zones::disassociate_vpc),
        "ChangeResourceRecordSets" => op!(records::change),
        "ListResourceRecordSets" => op!(records::list, &views.listing),
        "GetChange" => op!(changes::get),
        "CreateHealthCheck" => located!(health_checks::create),
        "GetHealthCheck" => op!(health_checks::get),
        "ListHealthChecks" => op!(health_checks::list),
        "GetHealthCheckCount" => op!(health_checks::count),
        "UpdateHealthCheck" => op!(health_checks::update),
        "DeleteHealthCheck" => op!(health_checks::delete),
        "GetHealthCheckStatus" => op!(health_checks::status, views.health.get()),
        "GetHealthCheckLastFailureReason" => {
            op!(health_checks::last_failure_reason, views.health.get())
        }
        "CreateCidrCollection" => located!(cidr::create),
        "ChangeCidrCollection" => op!(cidr::change),
        "ListCidrCollections" => op!(cidr::list_collections),
        "ListCidrLocations" => op!(cidr::list_locations),
        "ListCidrBlocks" => op!(cidr::list_blocks),
        "DeleteCidrCollection" => op!(cidr::delete),
        "TestDNSAnswer" => op!(test_dns::answer, views.dns.get()),
        "ChangeTagsForResource" => op!(tags::change),
        "ListTagsForResource" => op!(tags::list),
        "ListTagsForResources" => op!(tags::list_many),
        "GetAccountLimit" => op!(zones::account_limit),
        "GetDNSSEC" => op!(zones::dnssec),
        "CreateReusableDelegationSet" => located!(delegation::create),
        "ListReusableDelegationSets" => op!(delegation::list),
        "GetReusableDelegationSet" => op!(delegation::get),
        "DeleteReusableDelegationSet" => op!(delegation::delete),
        "GetReusableDelegationSetLimit" => op!(delegation::limit),
        "CreateQueryLoggingConfig" => located!(query_logging::create),
        "ListQueryLoggingConfigs" => op!(query_logging::list),
        "GetQueryLoggingConfig" => op!(query_logging::get),
        "DeleteQueryLoggingConfig" => op!(query_logging::delete),
        other => Err(AwsError::new(
            "InvalidAction",
            400,
            format!("The operation {other} is not supported by Fulmar"),
        )),
    }
}

mod erased {
    //! Rendering any output type behind one `dyn` so `dispatch` needs one closure.
    use fulmar_aws::Flavour;

    pub(crate) trait Render {
        fn render(&self, operation: &str, request_id: &str) -> String;
    }

    impl<T: serde::Serialize> Render for T {
        fn render(&self, operation: &str, request_id: &str) -> String {
            fulmar_aws::xml::response(
                Flavour::RestXml,
                operation,
                super::Service::Route53.namespace(),
                request_id,
                self,
            )
        }
    }
}

/// `InvalidInput` (400) with a message.
pub(crate) fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidInput", 400, message)
}

pub(crate) fn no_such_zone(id: &str) -> AwsError {
    AwsError::new("NoSuchHostedZone", 404, format!("No hosted zone found with ID: {id}"))
}

pub(crate) fn no_such_health_check(id: &str) -> AwsError {
    AwsError::new(
        "NoSuchHealthCheck",
        404,
        format!("A health check with id {id} does not exist."),
    )
}

/// A hosted-zone id as given: `Z123` or `/hostedzone/Z123`.
pub(crate) fn bare_zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// The id Route 53 gives a hosted zone or change: the prefix and 20 uppercase
/// letters and digits.
pub(crate) fn new_id(prefix: char) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(21);
    id.push(prefix);
    for _ in 0..20 {
        id.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    id
}

/// A version-4 UUID (health checks, CIDR collections).
pub(crate) fn uuid() -> String {
    fulmar_aws::xml::request_id()
}

/// `MaxItems` as Route 53 takes it: a string holding a positive number; larger
/// than `max` means `max`.
pub(crate) fn max_items(raw: Option<&str>, default: usize, max: usize) -> Result<usize, AwsError> {
    match raw {
        None => Ok(default),
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(max)),
            _ => Err(invalid(format!("Invalid value for MaxItems: {s}"))),
        },
    }
}
