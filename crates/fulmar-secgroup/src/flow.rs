//! What is being decided: one flow, from a source address to a destination address,
//! of one kind of traffic (a protocol and its port or ICMP type/code).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::Error;

/// The IP protocol of a flow and what a rule's port range is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Traffic {
    /// TCP to this destination port.
    Tcp(u16),
    /// UDP to this destination port.
    Udp(u16),
    /// ICMP (IPv4) of this type and code.
    Icmp { kind: u8, code: u8 },
    /// ICMPv6 of this type and code.
    Icmpv6 { kind: u8, code: u8 },
    /// Any other IP protocol; such rules have no ports.
    Other(OtherProtocol),
}

/// An IP protocol number other than TCP (6), UDP (17), ICMP (1) and ICMPv6 (58), which
/// have their own [`Traffic`] variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OtherProtocol(u8);

impl OtherProtocol {
    /// `None` for 1, 6, 17 and 58: use [`Traffic::Icmp`], `Tcp`, `Udp`, `Icmpv6`.
    pub fn new(number: u8) -> Option<OtherProtocol> {
        (!matches!(number, 1 | 6 | 17 | 58)).then_some(OtherProtocol(number))
    }

    pub fn number(self) -> u8 {
        self.0
    }
}

impl Traffic {
    /// The IANA protocol number.
    pub fn protocol_number(self) -> u8 {
        match self {
            Traffic::Tcp(_) => 6,
            Traffic::Udp(_) => 17,
            Traffic::Icmp { .. } => 1,
            Traffic::Icmpv6 { .. } => 58,
            Traffic::Other(p) => p.0,
        }
    }
}

/// `tcp/22`, `udp/53`, `icmp/8/0`, `icmpv6/128/0`, `proto/47`.
impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Traffic::Tcp(p) => write!(f, "tcp/{p}"),
            Traffic::Udp(p) => write!(f, "udp/{p}"),
            Traffic::Icmp { kind, code } => write!(f, "icmp/{kind}/{code}"),
            Traffic::Icmpv6 { kind, code } => write!(f, "icmpv6/{kind}/{code}"),
            Traffic::Other(p) => write!(f, "proto/{}", p.0),
        }
    }
}

/// Parses what [`Display`](fmt::Display) prints, plus protocol numbers in place of
/// names (`6/22`), `icmp` alone (echo request, 8/0) and `icmpv6` alone (128/0).
impl FromStr for Traffic {
    type Err = Error;

    fn from_str(s: &str) -> Result<Traffic, Error> {
        let bad = || Error::Traffic(s.to_owned());
        let mut parts = s.split('/');
        let protocol = parts.next().ok_or_else(bad)?.to_ascii_lowercase();
        let numbers: Vec<&str> = parts.collect();
        let port = |numbers: &[&str]| -> Result<u16, Error> {
            match numbers {
                [p] => p.parse().map_err(|_| bad()),
                _ => Err(bad()),
            }
        };
        let icmp = |numbers: &[&str], default: u8| -> Result<(u8, u8), Error> {
            match numbers {
                [] => Ok((default, 0)),
                [k] => Ok((k.parse().map_err(|_| bad())?, 0)),
                [k, c] => Ok((k.parse().map_err(|_| bad())?, c.parse().map_err(|_| bad())?)),
                _ => Err(bad()),
            }
        };
        let number = match protocol.as_str() {
            "tcp" => 6,
            "udp" => 17,
            "icmp" => 1,
            "icmpv6" => 58,
            "proto" => match numbers.as_slice() {
                [n] => n.parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            },
            n => n.parse().map_err(|_| bad())?,
        };
        let numbers = if protocol == "proto" { &[][..] } else { &numbers[..] };
        Ok(match number {
            6 => Traffic::Tcp(port(numbers)?),
            17 => Traffic::Udp(port(numbers)?),
            1 => {
                let (kind, code) = icmp(numbers, 8)?;
                Traffic::Icmp { kind, code }
            }
            58 => {
                let (kind, code) = icmp(numbers, 128)?;
                Traffic::Icmpv6 { kind, code }
            }
            n if numbers.is_empty() => Traffic::Other(OtherProtocol(n)),
            _ => return Err(bad()),
        })
    }
}

/// Which ends' groups a decision evaluates.
///
/// A flow between two Fulmar endpoints is checked at both ends. Where Fulmar enforces
/// only one end (a load balancer's listener filters what arrives; the sender's egress
/// is its own host's business), the flow names that end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ends {
    /// The source's outbound rules and the destination's inbound rules.
    #[default]
    Both,
    /// Only the source's outbound rules.
    Source,
    /// Only the destination's inbound rules.
    Destination,
}

impl Ends {
    pub(crate) fn source(self) -> bool {
        matches!(self, Ends::Both | Ends::Source)
    }

    pub(crate) fn destination(self) -> bool {
        matches!(self, Ends::Both | Ends::Destination)
    }
}

/// One flow: the first packet of a connection (or of a UDP/ICMP exchange).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub traffic: Traffic,
    pub ends: Ends,
}

impl Flow {
    /// A flow checked at both ends.
    pub fn new(src: IpAddr, dst: IpAddr, traffic: Traffic) -> Flow {
        Flow {
            src,
            dst,
            traffic,
            ends: Ends::Both,
        }
    }

    /// The same flow, checked only at `ends`.
    pub fn at(self, ends: Ends) -> Flow {
        Flow { ends, ..self }
    }

    /// The return traffic of this flow: addresses swapped; an ICMP echo request's reply
    /// is an echo reply (8 → 0, and 128 → 129 for ICMPv6). For TCP and UDP the reply's
    /// [`Traffic`] keeps the original destination port: it names the connection, not
    /// the reply's own port, which is how [`crate::allows_return`] finds the original.
    pub fn reply(&self) -> Flow {
        let traffic = match self.traffic {
            Traffic::Icmp { kind: 8, code } => Traffic::Icmp { kind: 0, code },
            Traffic::Icmp { kind: 0, code } => Traffic::Icmp { kind: 8, code },
            Traffic::Icmpv6 { kind: 128, code } => Traffic::Icmpv6 { kind: 129, code },
            Traffic::Icmpv6 { kind: 129, code } => Traffic::Icmpv6 { kind: 128, code },
            other => other,
        };
        Flow {
            src: self.dst,
            dst: self.src,
            traffic,
            ends: match self.ends {
                Ends::Both => Ends::Both,
                Ends::Source => Ends::Destination,
                Ends::Destination => Ends::Source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_round_trips_and_accepts_numbers() {
        for s in ["tcp/22", "udp/53", "icmp/8/0", "icmpv6/128/0", "proto/47"] {
            assert_eq!(s.parse::<Traffic>().unwrap().to_string(), s);
        }
        assert_eq!("6/443".parse::<Traffic>().unwrap(), Traffic::Tcp(443));
        assert_eq!("TCP/80".parse::<Traffic>().unwrap(), Traffic::Tcp(80));
        assert_eq!("icmp".parse::<Traffic>().unwrap(), Traffic::Icmp { kind: 8, code: 0 });
        assert_eq!("47".parse::<Traffic>().unwrap().protocol_number(), 47);
        for bad in ["tcp", "tcp/70000", "udp/1/2", "icmp/1/2/3", "47/1", "gre", ""] {
            assert!(bad.parse::<Traffic>().is_err(), "{bad}");
        }
    }

    #[test]
    fn reply_swaps_ends_and_echo_types() {
        let f = Flow::new(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            Traffic::Icmp { kind: 8, code: 0 },
        )
        .at(Ends::Destination);
        let r = f.reply();
        assert_eq!((r.src, r.dst), (f.dst, f.src));
        assert_eq!(r.traffic, Traffic::Icmp { kind: 0, code: 0 });
        assert_eq!(r.ends, Ends::Source);
        assert_eq!(r.reply(), f);
    }
}
