//! Where a client is: its AWS region (latency routing), its geographic location
//! (geolocation routing) and its VPC (private hosted zones).
//!
//! Nothing here is real geography: on one machine every client is on loopback, so the
//! binary configures which address blocks stand for which places ([`StaticLocator`]).
//! The instance model will supply its own [`ClientLocator`] whose `vpc_of` knows which
//! namespace an address belongs to.

use std::net::IpAddr;

use ipnet::IpNet;

/// A client's geographic location, as geolocation routing matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLocation {
    /// `AF`, `AN`, `AS`, `EU`, `OC`, `NA` or `SA`.
    pub continent: String,
    /// ISO 3166 alpha-2 (`US`, `DE`, ...).
    pub country: String,
    /// A subdivision of the country (`WA` for Washington in the US), if known.
    pub subdivision: Option<String>,
}

/// Places clients. Asked on the query path: implementations must be cheap.
pub trait ClientLocator: Send + Sync {
    /// The AWS region nearest the address, for latency routing.
    fn region_of(&self, client: IpAddr) -> Option<String>;
    /// The geographic location of the address, for geolocation routing.
    fn location_of(&self, client: IpAddr) -> Option<ClientLocation>;
    /// The VPC the address is inside, for private hosted zones (the querier's own
    /// source address, never a client subnet).
    fn vpc_of(&self, client: IpAddr) -> Option<String>;
}

/// A [`ClientLocator`] from fixed tables of address blocks; the longest matching block
/// wins.
#[derive(Debug, Clone, Default)]
pub struct StaticLocator {
    pub regions: Vec<(IpNet, String)>,
    pub locations: Vec<(IpNet, ClientLocation)>,
    pub vpcs: Vec<(IpNet, String)>,
}

fn longest<T>(table: &[(IpNet, T)], addr: IpAddr) -> Option<&T> {
    table
        .iter()
        .filter(|(net, _)| net.contains(&addr))
        .max_by_key(|(net, _)| net.prefix_len())
        .map(|(_, v)| v)
}

impl ClientLocator for StaticLocator {
    fn region_of(&self, client: IpAddr) -> Option<String> {
        longest(&self.regions, client).cloned()
    }
    fn location_of(&self, client: IpAddr) -> Option<ClientLocation> {
        longest(&self.locations, client).cloned()
    }
    fn vpc_of(&self, client: IpAddr) -> Option<String> {
        longest(&self.vpcs, client).cloned()
    }
}

/// Approximate coordinates (latitude, longitude) of AWS regions, for "nearest region".
const REGIONS: &[(&str, f64, f64)] = &[
    ("us-east-1", 38.9, -77.4),
    ("us-east-2", 40.0, -83.0),
    ("us-west-1", 37.4, -121.9),
    ("us-west-2", 45.8, -119.7),
    ("ca-central-1", 45.5, -73.6),
    ("ca-west-1", 51.0, -114.1),
    ("mx-central-1", 20.6, -100.4),
    ("sa-east-1", -23.5, -46.6),
    ("eu-west-1", 53.3, -6.3),
    ("eu-west-2", 51.5, -0.1),
    ("eu-west-3", 48.9, 2.4),
    ("eu-central-1", 50.1, 8.7),
    ("eu-central-2", 47.4, 8.5),
    ("eu-north-1", 59.3, 18.1),
    ("eu-south-1", 45.5, 9.2),
    ("eu-south-2", 41.6, -0.9),
    ("me-south-1", 26.1, 50.6),
    ("me-central-1", 25.2, 55.3),
    ("il-central-1", 32.1, 34.8),
    ("af-south-1", -33.9, 18.4),
    ("ap-east-1", 22.3, 114.2),
    ("ap-south-1", 19.1, 72.9),
    ("ap-south-2", 17.4, 78.5),
    ("ap-northeast-1", 35.7, 139.7),
    ("ap-northeast-2", 37.6, 127.0),
    ("ap-northeast-3", 34.7, 135.5),
    ("ap-southeast-1", 1.3, 103.8),
    ("ap-southeast-2", -33.9, 151.2),
    ("ap-southeast-3", -6.2, 106.8),
    ("ap-southeast-4", -37.8, 145.0),
    ("ap-southeast-5", 3.1, 101.7),
    ("ap-southeast-7", 13.8, 100.5),
];

/// The great-circle distance in kilometres between two regions, or `None` when either
/// is not a region this table knows.
pub fn region_distance(a: &str, b: &str) -> Option<f64> {
    if a == b {
        return Some(0.0);
    }
    let find = |r: &str| REGIONS.iter().find(|(n, _, _)| *n == r).map(|(_, la, lo)| (*la, *lo));
    let (la1, lo1) = find(a)?;
    let (la2, lo2) = find(b)?;
    let (p1, p2) = (la1.to_radians(), la2.to_radians());
    let dp = p2 - p1;
    let dl = (lo2 - lo1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    Some(2.0 * 6371.0 * h.sqrt().asin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_block_wins() {
        let l = StaticLocator {
            regions: vec![
                ("127.0.0.0/8".parse().unwrap(), "us-east-1".into()),
                ("127.0.2.0/24".parse().unwrap(), "eu-west-1".into()),
            ],
            ..Default::default()
        };
        assert_eq!(l.region_of("127.0.2.9".parse().unwrap()).as_deref(), Some("eu-west-1"));
        assert_eq!(l.region_of("127.0.3.9".parse().unwrap()).as_deref(), Some("us-east-1"));
        assert_eq!(l.region_of("10.0.0.1".parse().unwrap()), None);
        assert_eq!(l.vpc_of("127.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn distances_order_regions() {
        let near = region_distance("eu-west-1", "eu-west-2").unwrap();
        let far = region_distance("eu-west-1", "ap-southeast-2").unwrap();
        assert!(near < far);
        assert_eq!(region_distance("us-east-1", "us-east-1"), Some(0.0));
        assert_eq!(region_distance("us-east-1", "mars-1"), None);
    }
}
