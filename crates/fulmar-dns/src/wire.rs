//! Request bytes to response bytes, with hickory-proto's codec: the part of the server
//! that is the same for UDP and TCP, and the surface the fuzz target drives.
//!
//! Rules: a message too short for a header, or that is itself a response, is dropped;
//! one that does not decode gets FORMERR under its ID; a non-QUERY opcode gets NOTIMP;
//! anything but exactly one question gets FORMERR; an EDNS version above 0 gets
//! BADVERS. EDNS(0) is answered with this server's payload size and the client-subnet
//! option echoed (scope = source prefix when the answer depended on the location).
//! Over UDP an answer larger than 512 bytes (or the EDNS size, capped by
//! `Options::max_udp_payload`) is sent empty with TC set, and the client retries on TCP.
//!
//! [`AnswerCache`] keeps the encoded responses that depend on nothing but the snapshot
//! and the request's bytes (simple records, NXDOMAIN, NODATA, referrals, errors): the
//! same request bytes under another ID get the stored response with the ID replaced.
//! Routing policies, health, client location and private zones are never cached.

use std::collections::HashMap;
use std::net::IpAddr;

use hickory_proto::op::{Edns, Header, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use ipnet::IpNet;
use rand::RngCore;

use crate::answer::{answer, Client};
use crate::index::ZoneIndex;
use crate::{HealthOracle, Options};

/// How the request arrived, which decides whether the answer must fit a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// The response to one request message, or `None` when nothing must be sent.
pub fn respond(
    index: &ZoneIndex,
    request: &[u8],
    source: IpAddr,
    transport: Transport,
    oracle: &dyn HealthOracle,
    options: &Options,
    rng: &mut dyn RngCore,
) -> Option<Vec<u8>> {
    respond_inner(index, request, source, transport, oracle, options, rng).map(|(bytes, _)| bytes)
}

/// The most bytes of responses one [`AnswerCache`] holds before it starts over.
const CACHE_MAX_BYTES: usize = 48 << 20;

/// Encoded UDP responses of one snapshot, by request bytes after the ID: one per
/// worker, so no lock. Emptied when the index changes.
#[derive(Debug, Default)]
pub struct AnswerCache {
    generation: u64,
    entries: HashMap<Box<[u8]>, Box<[u8]>>,
    bytes: usize,
    hits: u64,
}

impl AnswerCache {
    pub fn new() -> AnswerCache {
        AnswerCache::default()
    }

    /// How many responses it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many requests it has answered.
    pub fn hits(&self) -> u64 {
        self.hits
    }
}

/// [`respond`] for UDP through a cache: the response is written to `out`; `false`
/// when nothing must be sent.
#[allow(clippy::too_many_arguments)]
pub fn respond_cached(
    cache: &mut AnswerCache,
    index: &ZoneIndex,
    request: &[u8],
    source: IpAddr,
    oracle: &dyn HealthOracle,
    options: &Options,
    rng: &mut dyn RngCore,
    out: &mut Vec<u8>,
) -> bool {
    if cache.generation != index.generation() {
        cache.entries.clear();
        cache.bytes = 0;
        cache.generation = index.generation();
    }
    // Shorter than a header: dropped by `respond` anyway.
    if request.len() >= 12 {
        if let Some(hit) = cache.entries.get(&request[2..]) {
            out.clear();
            out.extend_from_slice(&request[..2]);
            out.extend_from_slice(&hit[2..]);
            cache.hits += 1;
            return true;
        }
    }
    let Some((bytes, cacheable)) = respond_inner(index, request, source, Transport::Udp, oracle, options, rng) else {
        return false;
    };
    if cacheable && bytes.len() >= 12 {
        let size = bytes.len() + request.len() + 64;
        if cache.bytes + size > CACHE_MAX_BYTES {
            cache.entries.clear();
            cache.bytes = 0;
        }
        cache.bytes += size;
        cache.entries.insert(request[2..].into(), bytes.as_slice().into());
    }
    *out = bytes;
    true
}

/// The response and whether it depends only on the snapshot and the request's bytes.
fn respond_inner(
    index: &ZoneIndex,
    request: &[u8],
    source: IpAddr,
    transport: Transport,
    oracle: &dyn HealthOracle,
    options: &Options,
    rng: &mut dyn RngCore,
) -> Option<(Vec<u8>, bool)> {
    let header = Header::read(&mut BinDecoder::new(request)).ok()?;
    if header.metadata.message_type == MessageType::Response {
        return None;
    }
    let request = match Message::from_vec(request) {
        Ok(m) => m,
        Err(e) => {
            tracing::debug!(id = header.metadata.id, error = %e, "undecodable query");
            let mut msg = Message::new(header.metadata.id, MessageType::Response, header.metadata.op_code);
            msg.metadata.recursion_desired = header.metadata.recursion_desired;
            msg.metadata.response_code = ResponseCode::FormErr;
            return encode(&msg, transport, 512).map(|b| (b, true));
        }
    };
    let mut msg = Message::new(request.metadata.id, MessageType::Response, request.metadata.op_code);
    msg.metadata = Metadata::response_from_request(&request.metadata);
    msg.queries = request.queries.clone();
    let limit = match &request.edns {
        Some(edns) => edns.max_payload().clamp(512, options.max_udp_payload.max(512)),
        None => 512,
    };
    let mut subnet = None;
    if let Some(req_edns) = &request.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(options.max_udp_payload);
        if req_edns.version() > 0 {
            msg.metadata.response_code = ResponseCode::BADVERS;
            msg.set_edns(edns);
            return encode(&msg, transport, limit).map(|b| (b, true));
        }
        if let Some(EdnsOption::Subnet(cs)) = req_edns.option(EdnsCode::Subnet) {
            subnet = IpNet::new(cs.addr(), cs.source_prefix()).ok().map(|n| n.trunc());
        }
        msg.set_edns(edns);
    }
    if request.metadata.op_code != OpCode::Query {
        msg.metadata.response_code = ResponseCode::NotImp;
        return encode(&msg, transport, limit).map(|b| (b, true));
    }
    if request.queries.len() != 1 {
        msg.metadata.response_code = ResponseCode::FormErr;
        return encode(&msg, transport, limit).map(|b| (b, true));
    }
    let client = Client { addr: source, subnet };
    let resp = answer(index, &request.queries[0], &client, oracle, options, rng);
    let cacheable = resp.cacheable;
    msg.metadata.response_code = resp.rcode;
    msg.metadata.authoritative = resp.authoritative;
    msg.answers = resp.answers;
    msg.authorities = resp.authority;
    msg.additionals = resp.additional;
    if let (Some(net), Some(edns)) = (subnet, msg.edns.as_mut()) {
        let scope = if resp.location_dependent { net.prefix_len() } else { 0 };
        edns.options_mut().insert(EdnsOption::Subnet(ClientSubnet::new(
            net.addr(),
            net.prefix_len(),
            scope,
        )));
    }
    encode(&msg, transport, limit).map(|b| (b, cacheable))
}

/// Encode; over UDP, an answer larger than `limit` is replaced by its truncated form.
fn encode(msg: &Message, transport: Transport, limit: u16) -> Option<Vec<u8>> {
    let bytes = match msg.to_vec() {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(id = msg.metadata.id, error = %e, "response does not encode; SERVFAIL");
            let mut fail = Message::new(msg.metadata.id, MessageType::Response, msg.metadata.op_code);
            fail.metadata.response_code = ResponseCode::ServFail;
            return fail.to_vec().ok();
        }
    };
    if transport == Transport::Udp && bytes.len() > usize::from(limit) {
        return msg.truncate().to_vec().ok();
    }
    Some(bytes)
}

#[cfg(test)]
mod tests;
