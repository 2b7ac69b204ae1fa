//! TestDNSAnswer: what the DNS server would answer. With the DNS server connected
//! ([`DnsAnswerer`]) it is asked; until then the stored record sets answer, every
//! value of every policy (no health, no client location), aliases followed within
//! Fulmar.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::route53::RecordSet;

use super::records::zone_records;
use super::zones::zone;
use super::{invalid, names, DnsAnswerer};
use crate::Txn;

#[derive(Deserialize)]
pub struct AnswerInput {
    hostedzoneid: String,
    recordname: String,
    recordtype: String,
    resolverip: Option<String>,
    edns0clientsubnetip: Option<String>,
    edns0clientsubnetmask: Option<String>,
}

#[derive(Serialize)]
#[serde(rename = "RecordDataEntry")]
struct RecordDataEntry(String);

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AnswerOutput {
    nameserver: String,
    record_name: String,
    record_type: String,
    record_data: Vec<RecordDataEntry>,
    response_code: String,
    protocol: String,
}

fn ip(raw: &str) -> Result<IpAddr, AwsError> {
    raw.parse().map_err(|_| invalid(format!("Invalid IP address: {raw}")))
}

pub fn answer(
    txn: &mut Txn,
    input: AnswerInput,
    answerer: Option<&Arc<dyn DnsAnswerer>>,
) -> Result<AnswerOutput, AwsError> {
    let z = zone(txn, &input.hostedzoneid)?;
    let name = names::domain(&input.recordname)?;
    let resolver = input.resolverip.as_deref().map(ip).transpose()?;
    let subnet = match &input.edns0clientsubnetip {
        None => None,
        Some(raw) => {
            let addr = ip(raw)?;
            let full = if addr.is_ipv4() { 32 } else { 128 };
            let mask = match &input.edns0clientsubnetmask {
                None => full,
                Some(m) => m
                    .parse::<u8>()
                    .ok()
                    .filter(|m| *m <= full)
                    .ok_or_else(|| invalid(format!("Invalid EDNS0ClientSubnetMask: {m}")))?,
            };
            Some(
                IpNet::new(addr, mask)
                    .map_err(|_| invalid("Invalid EDNS0 client subnet"))?
                    .trunc(),
            )
        }
    };
    let (rcode, data) = match answerer {
        Some(a) => a.answer(&z.id, &name, &input.recordtype, resolver, subnet),
        None => from_records(txn, &z.id, &name, &input.recordtype),
    };
    Ok(AnswerOutput {
        nameserver: z.name_servers.first().cloned().unwrap_or_default(),
        record_name: input.recordname,
        record_type: input.recordtype,
        record_data: data.into_iter().map(RecordDataEntry).collect(),
        response_code: rcode,
        protocol: "UDP".to_string(),
    })
}

/// The answer the stored record sets give, without routing decisions.
fn from_records(txn: &Txn, zone_id: &str, name: &str, rtype: &str) -> (String, Vec<String>) {
    let records = zone_records(txn, zone_id);
    let mut at_name: Vec<&RecordSet> = records.values().filter(|r| r.name == name).collect();
    if at_name.is_empty() {
        let below = records.values().any(|r| r.name.ends_with(&format!(".{name}")));
        if below {
            return ("NOERROR".to_string(), Vec::new());
        }
        // The closest wildcard above the name answers for it.
        let wildcard = name
            .match_indices('.')
            .map(|(i, _)| format!("*{}", &name[i..]))
            .find(|w| records.values().any(|r| &r.name == w));
        at_name = match wildcard {
            Some(w) => records.values().filter(|r| r.name == w).collect(),
            None => return ("NXDOMAIN".to_string(), Vec::new()),
        };
    }
    let wanted: Vec<&&RecordSet> = match at_name.iter().any(|r| r.rtype == rtype) {
        true => at_name.iter().filter(|r| r.rtype == rtype).collect(),
        false => at_name.iter().filter(|r| r.rtype == "CNAME").collect(),
    };
    let mut data = Vec::new();
    for r in wanted {
        match &r.alias {
            None => data.extend(r.records.iter().cloned()),
            Some(a) => {
                let same_zone = records.values().filter(|t| t.name == a.dns_name && t.rtype == r.rtype);
                data.extend(same_zone.flat_map(|t| t.records.iter().cloned()));
                let wanted_lb = a.dns_name.trim_end_matches('.');
                let wanted_lb = wanted_lb.strip_prefix("dualstack.").unwrap_or(wanted_lb);
                let lbs = txn
                    .config
                    .load_balancers
                    .values()
                    .filter(|lb| lb.dns_name.eq_ignore_ascii_case(wanted_lb));
                if r.rtype == "A" {
                    data.extend(lbs.map(|lb| lb.address.to_string()));
                }
            }
        }
    }
    ("NOERROR".to_string(), data)
}
