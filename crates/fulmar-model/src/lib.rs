//! Plain data for every resource Fulmar manages.
//!
//! These types are what the control plane validates and stores, and what the data
//! plane reads from an immutable [`Config`] snapshot. They hold already-validated
//! values: the API layer parses requests into them, so nothing downstream re-checks.
//! Everything here is `serde` so the store can persist it as JSON documents.

pub mod acm;
pub mod ec2;
pub mod elbv2;
pub mod insights;
pub mod logs;
pub mod route53;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use ec2::{
    Address, Instance, InstanceState, InternetGateway, KeyPair, NatGateway, NetworkInterface, RouteTable,
    SecurityGroup, SecurityGroupRule, Subnet, Volume, Vpc,
};
pub use elbv2::{
    Action, ActionKind, Condition, FixedResponseConfig, ForwardConfig, HealthCheck, Listener, LoadBalancer, Matcher,
    QueryStringPair, RedirectConfig, Rule, SubnetMapping, Target, TargetGroup, WeightedTargetGroup,
};
pub use insights::{NetworkInsightsAnalysis, NetworkInsightsPath};

/// A resource tag (`Key`, `Value`), as every AWS service shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One kind of resource, keyed by id or ARN, in key order: a persistent (immutable,
/// structurally shared) B-tree. Cloning it is O(1) whatever its size, and a change to
/// a clone copies only the nodes on the changed key's path, so a copy of the whole
/// configuration costs nothing and a change to it costs O(change · log n). Read it as
/// a `BTreeMap` (`get`, `contains_key`, `range`, `values`, `iter`, `len`); write it with
/// `insert` and `remove`.
pub type ResourceMap<T> = imbl::OrdMap<String, Arc<T>>;

/// The whole configuration of one Fulmar node: every resource, keyed by its id or ARN.
///
/// Cloning is O(1) (every map is a [`ResourceMap`]), which is how the control plane
/// works on a copy and publishes it whole: the data plane only ever sees complete
/// snapshots, and a snapshot that differs in one record set shares everything else
/// with the one before.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub vpcs: ResourceMap<Vpc>,
    pub subnets: ResourceMap<Subnet>,
    pub security_groups: ResourceMap<SecurityGroup>,
    pub load_balancers: ResourceMap<LoadBalancer>,
    pub target_groups: ResourceMap<TargetGroup>,
    pub listeners: ResourceMap<Listener>,
    pub rules: ResourceMap<Rule>,
    pub hosted_zones: ResourceMap<route53::HostedZone>,
    /// Keyed by [`route53::RecordSet::key`]: `<zone>/<name>/<type>/<set identifier>`.
    pub record_sets: ResourceMap<route53::RecordSet>,
    pub health_checks: ResourceMap<route53::HealthCheck>,
    pub cidr_collections: ResourceMap<route53::CidrCollection>,
    pub changes: ResourceMap<route53::Change>,
    pub internet_gateways: ResourceMap<InternetGateway>,
    pub route_tables: ResourceMap<RouteTable>,
    pub nat_gateways: ResourceMap<NatGateway>,
    /// Elastic IPs, keyed by allocation id.
    pub addresses: ResourceMap<Address>,
    /// Keyed by key pair id (`key-...`).
    pub key_pairs: ResourceMap<KeyPair>,
    pub instances: ResourceMap<Instance>,
    pub volumes: ResourceMap<Volume>,
    pub network_interfaces: ResourceMap<NetworkInterface>,
    /// Reachability Analyzer paths (`nip-...`).
    pub network_insights_paths: ResourceMap<NetworkInsightsPath>,
    /// Reachability Analyzer analyses (`nia-...`).
    pub network_insights_analyses: ResourceMap<NetworkInsightsAnalysis>,
    /// Route 53 reusable delegation sets (`N...`).
    pub delegation_sets: ResourceMap<route53::DelegationSet>,
    /// Route 53 query logging configurations (UUIDs).
    pub query_logging_configs: ResourceMap<route53::QueryLoggingConfig>,
    /// CloudWatch Logs log groups, keyed by ARN.
    pub log_groups: ResourceMap<logs::LogGroup>,
    /// ACM certificates, keyed by ARN.
    pub certificates: ResourceMap<acm::Certificate>,
    /// EC2 managed prefix lists (`pl-...`).
    pub prefix_lists: ResourceMap<acm::ManagedPrefixList>,
    /// Fulmar's certificate authority for ACM (at most one, id `fulmar`).
    pub certificate_authorities: ResourceMap<acm::CertificateAuthority>,
}

/// The kinds of stored document; the store key of a resource is `<kind>/<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Vpc,
    Subnet,
    SecurityGroup,
    LoadBalancer,
    TargetGroup,
    Listener,
    Rule,
    HostedZone,
    RecordSet,
    HealthCheck,
    CidrCollection,
    Change,
    InternetGateway,
    RouteTable,
    NatGateway,
    Address,
    KeyPair,
    Instance,
    Volume,
    NetworkInterface,
    NetworkInsightsPath,
    NetworkInsightsAnalysis,
    DelegationSet,
    QueryLoggingConfig,
    LogGroup,
    Certificate,
    PrefixList,
    CertificateAuthority,
}

impl Kind {
    pub const ALL: [Kind; 28] = [
        Kind::Vpc,
        Kind::Subnet,
        Kind::SecurityGroup,
        Kind::LoadBalancer,
        Kind::TargetGroup,
        Kind::Listener,
        Kind::Rule,
        Kind::HostedZone,
        Kind::RecordSet,
        Kind::HealthCheck,
        Kind::CidrCollection,
        Kind::Change,
        Kind::InternetGateway,
        Kind::RouteTable,
        Kind::NatGateway,
        Kind::Address,
        Kind::KeyPair,
        Kind::Instance,
        Kind::Volume,
        Kind::NetworkInterface,
        Kind::NetworkInsightsPath,
        Kind::NetworkInsightsAnalysis,
        Kind::DelegationSet,
        Kind::QueryLoggingConfig,
        Kind::LogGroup,
        Kind::Certificate,
        Kind::PrefixList,
        Kind::CertificateAuthority,
    ];

    /// The key prefix of this kind in the store.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Vpc => "ec2/vpc/",
            Kind::Subnet => "ec2/subnet/",
            Kind::SecurityGroup => "ec2/sg/",
            Kind::LoadBalancer => "elbv2/lb/",
            Kind::TargetGroup => "elbv2/tg/",
            Kind::Listener => "elbv2/listener/",
            Kind::Rule => "elbv2/rule/",
            Kind::HostedZone => "route53/zone/",
            Kind::RecordSet => "route53/rrset/",
            Kind::HealthCheck => "route53/healthcheck/",
            Kind::CidrCollection => "route53/cidr/",
            Kind::Change => "route53/change/",
            Kind::InternetGateway => "ec2/igw/",
            Kind::RouteTable => "ec2/rtb/",
            Kind::NatGateway => "ec2/nat/",
            Kind::Address => "ec2/eip/",
            Kind::KeyPair => "ec2/key/",
            Kind::Instance => "ec2/instance/",
            Kind::Volume => "ec2/volume/",
            Kind::NetworkInterface => "ec2/eni/",
            Kind::NetworkInsightsPath => "ec2/nip/",
            Kind::NetworkInsightsAnalysis => "ec2/nia/",
            Kind::DelegationSet => "route53/delegationset/",
            Kind::QueryLoggingConfig => "route53/querylogging/",
            Kind::LogGroup => "logs/group/",
            Kind::Certificate => "acm/certificate/",
            Kind::PrefixList => "ec2/pl/",
            Kind::CertificateAuthority => "acm/ca/",
        }
    }

    pub fn key(self, id: &str) -> String {
        format!("{}{}", self.prefix(), id)
    }
}

impl Config {
    /// The listeners of one load balancer.
    pub fn listeners_of<'a>(&'a self, lb_arn: &'a str) -> impl Iterator<Item = &'a Arc<Listener>> {
        self.listeners.values().filter(move |l| l.load_balancer_arn == lb_arn)
    }

    /// The non-default rules of one listener, in no particular order.
    pub fn rules_of<'a>(&'a self, listener_arn: &'a str) -> impl Iterator<Item = &'a Arc<Rule>> {
        self.rules.values().filter(move |r| r.listener_arn == listener_arn)
    }

    /// Load balancers whose listeners or rules forward to the target group.
    pub fn load_balancers_of_target_group(&self, tg_arn: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |listener_arn: &str| {
            if let Some(l) = self.listeners.get(listener_arn) {
                if !out.contains(&l.load_balancer_arn) {
                    out.push(l.load_balancer_arn.clone());
                }
            }
        };
        for l in self.listeners.values() {
            if l.default_actions
                .iter()
                .any(|a| a.target_group_arns().any(|t| t == tg_arn))
            {
                add(&l.arn);
            }
        }
        for r in self.rules.values() {
            if r.actions.iter().any(|a| a.target_group_arns().any(|t| t == tg_arn)) {
                add(&r.listener_arn);
            }
        }
        out.sort();
        out
    }

    /// Insert a decoded document under its kind.
    pub fn insert_document(&mut self, kind: Kind, json: &[u8]) -> Result<(), serde_json::Error> {
        match kind {
            Kind::Vpc => {
                let v: Vpc = serde_json::from_slice(json)?;
                self.vpcs.insert(v.id.clone(), Arc::new(v));
            }
            Kind::Subnet => {
                let v: Subnet = serde_json::from_slice(json)?;
                self.subnets.insert(v.id.clone(), Arc::new(v));
            }
            Kind::SecurityGroup => {
                let v: SecurityGroup = serde_json::from_slice(json)?;
                self.security_groups.insert(v.id.clone(), Arc::new(v));
            }
            Kind::LoadBalancer => {
                let v: LoadBalancer = serde_json::from_slice(json)?;
                self.load_balancers.insert(v.arn.clone(), Arc::new(v));
            }
            Kind::TargetGroup => {
                let v: TargetGroup = serde_json::from_slice(json)?;
                self.target_groups.insert(v.arn.clone(), Arc::new(v));
            }
            Kind::Listener => {
                let v: Listener = serde_json::from_slice(json)?;
                self.listeners.insert(v.arn.clone(), Arc::new(v));
            }
            Kind::Rule => {
                let v: Rule = serde_json::from_slice(json)?;
                self.rules.insert(v.arn.clone(), Arc::new(v));
            }
            Kind::HostedZone => {
                let v: route53::HostedZone = serde_json::from_slice(json)?;
                self.hosted_zones.insert(v.id.clone(), Arc::new(v));
            }
            Kind::RecordSet => {
                let v: route53::RecordSet = serde_json::from_slice(json)?;
                self.record_sets.insert(v.key(), Arc::new(v));
            }
            Kind::HealthCheck => {
                let v: route53::HealthCheck = serde_json::from_slice(json)?;
                self.health_checks.insert(v.id.clone(), Arc::new(v));
            }
            Kind::CidrCollection => {
                let v: route53::CidrCollection = serde_json::from_slice(json)?;
                self.cidr_collections.insert(v.id.clone(), Arc::new(v));
            }
            Kind::Change => {
                let v: route53::Change = serde_json::from_slice(json)?;
                self.changes.insert(v.id.clone(), Arc::new(v));
            }
            Kind::InternetGateway => {
                let v: InternetGateway = serde_json::from_slice(json)?;
                self.internet_gateways.insert(v.id.clone(), Arc::new(v));
            }
            Kind::RouteTable => {
                let v: RouteTable = serde_json::from_slice(json)?;
                self.route_tables.insert(v.id.clone(), Arc::new(v));
            }
            Kind::NatGateway => {
                let v: NatGateway = serde_json::from_slice(json)?;
                self.nat_gateways.insert(v.id.clone(), Arc::new(v));
            }
            Kind::Address => {
                let v: Address = serde_json::from_slice(json)?;
                self.addresses.insert(v.allocation_id.clone(), Arc::new(v));
            }
            Kind::KeyPair => {
                let v: KeyPair = serde_json::from_slice(json)?;
                self.key_pairs.insert(v.id.clone(), Arc::new(v));
            }
            Kind::Instance => {
                let v: Instance = serde_json::from_slice(json)?;
                self.instances.insert(v.id.clone(), Arc::new(v));
            }
            Kind::Volume => {
                let v: Volume = serde_json::from_slice(json)?;
                self.volumes.insert(v.id.clone(), Arc::new(v));
            }
            Kind::NetworkInterface => {
                let v: NetworkInterface = serde_json::from_slice(json)?;
                self.network_interfaces.insert(v.id.clone(), Arc::new(v));
            }
            Kind::NetworkInsightsPath => {
                let v: NetworkInsightsPath = serde_json::from_slice(json)?;
                self.network_insights_paths.insert(v.id.clone(), Arc::new(v));
            }
            Kind::NetworkInsightsAnalysis => {
                let v: NetworkInsightsAnalysis = serde_json::from_slice(json)?;
                self.network_insights_analyses.insert(v.id.clone(), Arc::new(v));
            }
            Kind::DelegationSet => {
                let v: route53::DelegationSet = serde_json::from_slice(json)?;
                self.delegation_sets.insert(v.id.clone(), Arc::new(v));
            }
            Kind::QueryLoggingConfig => {
                let v: route53::QueryLoggingConfig = serde_json::from_slice(json)?;
                self.query_logging_configs.insert(v.id.clone(), Arc::new(v));
            }
            Kind::LogGroup => {
                let v: logs::LogGroup = serde_json::from_slice(json)?;
                self.log_groups.insert(v.arn.clone(), Arc::new(v));
            }
            Kind::Certificate => {
                let v: acm::Certificate = serde_json::from_slice(json)?;
                self.certificates.insert(v.arn.clone(), Arc::new(v));
            }
            Kind::PrefixList => {
                let v: acm::ManagedPrefixList = serde_json::from_slice(json)?;
                self.prefix_lists.insert(v.id.clone(), Arc::new(v));
            }
            Kind::CertificateAuthority => {
                let v: acm::CertificateAuthority = serde_json::from_slice(json)?;
                self.certificate_authorities.insert(v.id.clone(), Arc::new(v));
            }
        }
        Ok(())
    }

    /// The stored document of a resource, or `None` when it no longer exists.
    pub fn document(&self, kind: Kind, id: &str) -> Option<Vec<u8>> {
        // Serialising plain data structs to JSON cannot fail (no maps with non-string keys).
        fn enc<T: Serialize>(v: &T) -> Vec<u8> {
            serde_json::to_vec(v).expect("model types always serialise")
        }
        match kind {
            Kind::Vpc => self.vpcs.get(id).map(|v| enc(&**v)),
            Kind::Subnet => self.subnets.get(id).map(|v| enc(&**v)),
            Kind::SecurityGroup => self.security_groups.get(id).map(|v| enc(&**v)),
            Kind::LoadBalancer => self.load_balancers.get(id).map(|v| enc(&**v)),
            Kind::TargetGroup => self.target_groups.get(id).map(|v| enc(&**v)),
            Kind::Listener => self.listeners.get(id).map(|v| enc(&**v)),
            Kind::Rule => self.rules.get(id).map(|v| enc(&**v)),
            Kind::HostedZone => self.hosted_zones.get(id).map(|v| enc(&**v)),
            Kind::RecordSet => self.record_sets.get(id).map(|v| enc(&**v)),
            Kind::HealthCheck => self.health_checks.get(id).map(|v| enc(&**v)),
            Kind::CidrCollection => self.cidr_collections.get(id).map(|v| enc(&**v)),
            Kind::Change => self.changes.get(id).map(|v| enc(&**v)),
            Kind::InternetGateway => self.internet_gateways.get(id).map(|v| enc(&**v)),
            Kind::RouteTable => self.route_tables.get(id).map(|v| enc(&**v)),
            Kind::NatGateway => self.nat_gateways.get(id).map(|v| enc(&**v)),
            Kind::Address => self.addresses.get(id).map(|v| enc(&**v)),
            Kind::KeyPair => self.key_pairs.get(id).map(|v| enc(&**v)),
            Kind::Instance => self.instances.get(id).map(|v| enc(&**v)),
            Kind::Volume => self.volumes.get(id).map(|v| enc(&**v)),
            Kind::NetworkInterface => self.network_interfaces.get(id).map(|v| enc(&**v)),
            Kind::NetworkInsightsPath => self.network_insights_paths.get(id).map(|v| enc(&**v)),
            Kind::NetworkInsightsAnalysis => self.network_insights_analyses.get(id).map(|v| enc(&**v)),
            Kind::DelegationSet => self.delegation_sets.get(id).map(|v| enc(&**v)),
            Kind::QueryLoggingConfig => self.query_logging_configs.get(id).map(|v| enc(&**v)),
            Kind::LogGroup => self.log_groups.get(id).map(|v| enc(&**v)),
            Kind::Certificate => self.certificates.get(id).map(|v| enc(&**v)),
            Kind::PrefixList => self.prefix_lists.get(id).map(|v| enc(&**v)),
            Kind::CertificateAuthority => self.certificate_authorities.get(id).map(|v| enc(&**v)),
        }
    }

    /// The route table that governs a subnet: its explicit association, else its
    /// VPC's main table.
    pub fn route_table_of_subnet(&self, subnet_id: &str) -> Option<&Arc<RouteTable>> {
        let vpc_id = &self.subnets.get(subnet_id)?.vpc_id;
        self.route_tables
            .values()
            .find(|t| t.associations.iter().any(|a| a.subnet_id.as_deref() == Some(subnet_id)))
            .or_else(|| self.route_tables.values().find(|t| &t.vpc_id == vpc_id && t.is_main()))
    }

    /// A subnet is public when its route table sends 0.0.0.0/0 to an internet
    /// gateway attached to its VPC.
    pub fn subnet_is_public(&self, subnet_id: &str) -> bool {
        let Some(table) = self.route_table_of_subnet(subnet_id) else {
            return false;
        };
        table.routes.iter().any(|r| {
            r.destination.prefix_len() == 0
                && matches!(r.destination, ipnet::IpNet::V4(_))
                && matches!(&r.target, ec2::RouteTarget::Gateway(g)
                    if self.internet_gateways.get(g).is_some_and(|igw| igw.vpc_id.as_deref() == Some(table.vpc_id.as_str())))
        })
    }

    /// The members of a security group: every network interface (of an instance or a
    /// NAT gateway) that carries `group_id`.
    pub fn interfaces_in_group<'a>(&'a self, group_id: &'a str) -> impl Iterator<Item = &'a Arc<NetworkInterface>> {
        self.network_interfaces
            .values()
            .filter(move |n| n.security_groups.iter().any(|g| g == group_id))
    }
}
