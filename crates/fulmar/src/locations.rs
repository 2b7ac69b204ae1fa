//! `--client-locations FILE`: which loopback blocks stand for which region, place and
//! VPC, for the DNS server's latency, geolocation and private-zone answers.
//!
//! One block per line: a CIDR, then `key=value` pairs (`region`, `continent`,
//! `country`, `subdivision`, `vpc`); `#` starts a comment. See
//! `examples/client-locations.txt`.

use anyhow::{bail, Context};
use ipnet::IpNet;

use fulmar_dns::locate::{ClientLocation, StaticLocator};

pub fn parse(text: &str) -> anyhow::Result<StaticLocator> {
    let mut locator = StaticLocator::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let cidr = words.next().unwrap_or("");
        let net: IpNet = cidr
            .parse()
            .with_context(|| format!("line {}: {cidr:?} is not a CIDR block", n + 1))?;
        let (mut continent, mut country, mut subdivision) = (None, None, None);
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                bail!("line {}: expected key=value, got {word:?}", n + 1);
            };
            match key {
                "region" => locator.regions.push((net, value.to_string())),
                "vpc" => locator.vpcs.push((net, value.to_string())),
                "continent" => continent = Some(value.to_ascii_uppercase()),
                "country" => country = Some(value.to_ascii_uppercase()),
                "subdivision" => subdivision = Some(value.to_ascii_uppercase()),
                other => bail!(
                    "line {}: unknown key {other:?} (region, continent, country, subdivision, vpc)",
                    n + 1
                ),
            }
        }
        match (continent, country) {
            (Some(continent), Some(country)) => {
                locator.locations.push((
                    net,
                    ClientLocation {
                        continent,
                        country,
                        subdivision,
                    },
                ));
            }
            (None, None) if subdivision.is_none() => {}
            _ => bail!("line {}: a location needs both continent= and country=", n + 1),
        }
    }
    Ok(locator)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use fulmar_dns::locate::ClientLocator;

    #[test]
    fn parses_the_shipped_example() {
        let text = include_str!("../../../examples/client-locations.txt");
        let locator = super::parse(text).expect("the example parses");
        let de: IpAddr = "127.20.1.1".parse().unwrap();
        assert_eq!(locator.region_of(de).as_deref(), Some("eu-central-1"));
        assert_eq!(locator.location_of(de).unwrap().country, "DE");
        let other: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(locator.region_of(other).as_deref(), Some("us-east-1"));
        assert_eq!(locator.location_of(other).unwrap().subdivision.as_deref(), Some("VA"));
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(super::parse("not-a-cidr region=us-east-1").is_err());
        assert!(super::parse("127.0.0.0/8 planet=mars").is_err());
        assert!(super::parse("127.0.0.0/8 country=DE").is_err());
        assert!(super::parse("127.0.0.0/8 vpc=vpc-1 region=us-west-2").is_ok());
    }
}
