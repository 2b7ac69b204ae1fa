//! TestDNSAnswer: what this server would answer, as the Route 53 API reports it.

use std::net::{IpAddr, Ipv4Addr};

use hickory_proto::op::{Query, ResponseCode};
use hickory_proto::rr::RecordType;
use ipnet::IpNet;

use crate::answer::{answer, Client};
use crate::index::{parse_name, ZoneIndex};
use crate::{HealthOracle, Options};

/// The answer to a TestDNSAnswer request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestAnswer {
    /// `NOERROR`, `NXDOMAIN`, `REFUSED`, ...
    pub response_code: String,
    /// The answer section's values in presentation format (`192.0.2.1`).
    pub record_data: Vec<String>,
    /// Always `UDP`.
    pub protocol: String,
}

/// Answer `record_name`/`record_type` as a query from `resolver_ip` (default 127.0.0.1)
/// with an optional EDNS client subnet would be answered. `None` when the name or type
/// does not parse (the API reports InvalidInput).
pub fn test_answer(
    index: &ZoneIndex,
    oracle: &dyn HealthOracle,
    options: &Options,
    record_name: &str,
    record_type: &str,
    resolver_ip: Option<IpAddr>,
    client_subnet: Option<IpNet>,
) -> Option<TestAnswer> {
    let name = parse_name(record_name)?;
    let rtype: RecordType = record_type.to_ascii_uppercase().parse().ok()?;
    let client = Client {
        addr: resolver_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        subnet: client_subnet.map(|n| n.trunc()),
    };
    let resp = answer(
        index,
        &Query::query(name, rtype),
        &client,
        oracle,
        options,
        &mut rand::thread_rng(),
    );
    Some(TestAnswer {
        response_code: rcode_name(resp.rcode).to_string(),
        record_data: resp.answers.iter().map(|r| r.data.to_string()).collect(),
        protocol: "UDP".to_string(),
    })
}

/// The mnemonic dig prints for a response code.
pub fn rcode_name(rcode: ResponseCode) -> &'static str {
    match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        _ => "SERVFAIL",
    }
}
