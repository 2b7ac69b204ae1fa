//! DescribeSSLPolicies: the predefined security policies of HTTPS and TLS listeners.

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;

use crate::Txn;

const TLS13: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// ECDHE suites with AES-GCM only.
const FS_RES_2020: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
];

/// ECDHE suites with AES-GCM or SHA-2 HMACs.
const FS_RES_2019: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
];

/// Every ECDHE suite, SHA-1 HMACs included.
const FS_ALL: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA",
    "ECDHE-ECDSA-AES256-SHA",
];

/// TLS 1.2 suites without forward secrecy, with SHA-2 HMACs or GCM.
const RSA_TLS12: &[&str] = &[
    "AES128-GCM-SHA256",
    "AES128-SHA256",
    "AES256-GCM-SHA384",
    "AES256-SHA256",
];

/// Every RSA key-exchange suite.
const RSA_ALL: &[&str] = &[
    "AES128-GCM-SHA256",
    "AES128-SHA256",
    "AES128-SHA",
    "AES256-GCM-SHA384",
    "AES256-SHA256",
    "AES256-SHA",
];

struct Policy {
    name: &'static str,
    protocols: &'static [&'static str],
    ciphers: &'static [&'static [&'static str]],
}

const POLICIES: &[Policy] = &[
    Policy {
        name: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        ciphers: &[TLS13, FS_RES_2019],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        ciphers: &[TLS13, FS_RES_2020],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        ciphers: &[TLS13, FS_RES_2019, RSA_TLS12],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS13-1-3-2021-06",
        protocols: &["TLSv1.3"],
        ciphers: &[TLS13],
    },
    Policy {
        name: "ELBSecurityPolicy-2016-08",
        protocols: &["TLSv1", "TLSv1.1", "TLSv1.2"],
        ciphers: &[FS_ALL, RSA_ALL],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS-1-0-2015-04",
        protocols: &["TLSv1", "TLSv1.1", "TLSv1.2"],
        ciphers: &[FS_ALL, RSA_ALL],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS-1-1-2017-01",
        protocols: &["TLSv1.1", "TLSv1.2"],
        ciphers: &[FS_ALL, RSA_ALL],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS-1-2-2017-01",
        protocols: &["TLSv1.2"],
        ciphers: &[FS_RES_2019, RSA_TLS12],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
        protocols: &["TLSv1.2"],
        ciphers: &[FS_ALL, RSA_ALL],
    },
    Policy {
        name: "ELBSecurityPolicy-FS-2018-06",
        protocols: &["TLSv1", "TLSv1.1", "TLSv1.2"],
        ciphers: &[FS_ALL],
    },
    Policy {
        name: "ELBSecurityPolicy-FS-1-1-2019-08",
        protocols: &["TLSv1.1", "TLSv1.2"],
        ciphers: &[FS_ALL],
    },
    Policy {
        name: "ELBSecurityPolicy-FS-1-2-2019-08",
        protocols: &["TLSv1.2"],
        ciphers: &[FS_ALL],
    },
    Policy {
        name: "ELBSecurityPolicy-FS-1-2-Res-2019-08",
        protocols: &["TLSv1.2"],
        ciphers: &[FS_RES_2019],
    },
    Policy {
        name: "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        protocols: &["TLSv1.2"],
        ciphers: &[FS_RES_2020],
    },
];

fn not_found() -> AwsError {
    AwsError::new("SSLPolicyNotFound", 400, "One or more SSL policies not found")
}

/// `SSLPolicyNotFound` unless `name` is a predefined policy.
pub fn check_exists(name: &str) -> Result<(), AwsError> {
    if POLICIES.iter().any(|p| p.name == name) {
        Ok(())
    } else {
        Err(not_found())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    names: Option<Vec<String>>,
    marker: Option<String>,
    page_size: Option<u32>,
    load_balancer_type: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeOut {
    ssl_policies: Vec<PolicyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOut {
    ssl_protocols: Vec<String>,
    ciphers: Vec<CipherOut>,
    name: String,
    supported_load_balancer_types: Vec<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct CipherOut {
    name: String,
    priority: u32,
}

fn render(p: &Policy) -> PolicyOut {
    PolicyOut {
        ssl_protocols: p.protocols.iter().map(|s| s.to_string()).collect(),
        ciphers: p
            .ciphers
            .iter()
            .flat_map(|group| group.iter())
            .enumerate()
            .map(|(i, c)| CipherOut {
                name: c.to_string(),
                priority: i as u32 + 1,
            })
            .collect(),
        name: p.name.to_string(),
        supported_load_balancer_types: vec!["application".into(), "network".into()],
    }
}

pub fn describe(_txn: &mut Txn, input: DescribeInput) -> Result<DescribeOut, AwsError> {
    if let Some(kind) = &input.load_balancer_type {
        if !matches!(kind.as_str(), "application" | "network" | "gateway") {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{kind}' at 'loadBalancerType' failed to satisfy constraint: Member must satisfy enum value set: [application, network, gateway]"
            )));
        }
    }
    let mut found: Vec<&Policy> = Vec::new();
    match input.names.filter(|n| !n.is_empty()) {
        Some(names) => {
            for name in &names {
                let p = POLICIES.iter().find(|p| p.name == name).ok_or_else(not_found)?;
                if !found.iter().any(|f| f.name == p.name) {
                    found.push(p);
                }
            }
        }
        None => found.extend(POLICIES.iter()),
    }
    // Gateway Load Balancers have no TLS listeners, hence no policies.
    if input.load_balancer_type.as_deref() == Some("gateway") {
        found.clear();
    }
    let rendered: Vec<PolicyOut> = found.into_iter().map(render).collect();
    let (ssl_policies, next_marker) = super::page(rendered, input.marker.as_deref(), input.page_size)?;
    Ok(DescribeOut {
        ssl_policies,
        next_marker,
    })
}
