//! AWS Systems Manager Parameter Store (version 2014-11-06), awsJson1.1
//! (`X-Amz-Target: AmazonSSM.<Operation>`): GetParameter and GetParameters for AWS's
//! public AMI parameters, `/aws/service/ami-amazon-linux-latest/<name>` and
//! `/aws/service/ami-windows-latest/<name>`. Each known name resolves to a stable image
//! id of its region (`ami-` and 17 hex digits derived from the region and the name),
//! which RunInstances accepts. Fulmar keeps no parameters of its own: every other name
//! is unknown (ParameterNotFound, or listed in GetParameters' InvalidParameters).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use fulmar_aws::AwsError;

use crate::awsjson::{self, validation};
use crate::Txn;

/// The `X-Amz-Target` prefix of every SSM operation.
pub(crate) const TARGET_PREFIX: &str = "AmazonSSM.";

/// When Fulmar's public AMI parameters were last "published": a fixed instant
/// (2025-01-01T00:00:00Z), so answers are stable across restarts.
const PUBLISHED_MS: i64 = 1_735_689_600_000;

pub(crate) fn dispatch(txn: &mut Txn, operation: &str, body: &[u8]) -> Result<String, AwsError> {
    match operation {
        "GetParameter" => {
            let input: GetParameterInput = awsjson::input(body)?;
            Ok(awsjson::output(&get_parameter(txn, input)?))
        }
        "GetParameters" => {
            let input: GetParametersInput = awsjson::input(body)?;
            Ok(awsjson::output(&get_parameters(txn, input)?))
        }
        other => Err(awsjson::unknown_operation(other)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParameterInput {
    name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    with_decryption: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetParameterOutput {
    parameter: Parameter,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersInput {
    names: Option<Vec<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    with_decryption: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersOutput {
    parameters: Vec<Parameter>,
    invalid_parameters: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Parameter {
    name: String,
    #[serde(rename = "Type")]
    kind: &'static str,
    value: String,
    version: i64,
    last_modified_date: f64,
    #[serde(rename = "ARN")]
    arn: String,
    data_type: &'static str,
}

fn validation_error(message: String) -> AwsError {
    AwsError::new("ValidationException", 400, message)
}

fn check_name(name: &str, member: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.chars().count() > 2048 {
        return Err(validation_error(validation(
            name,
            member,
            "Member must have length less than or equal to 2048 and greater than or equal to 1",
        )));
    }
    Ok(())
}

fn get_parameter(txn: &Txn, input: GetParameterInput) -> Result<GetParameterOutput, AwsError> {
    let name = input.name.unwrap_or_default();
    check_name(&name, "name")?;
    let parameter = public_parameter(txn, &name).ok_or_else(|| AwsError::new("ParameterNotFound", 400, ""))?;
    Ok(GetParameterOutput { parameter })
}

fn get_parameters(txn: &Txn, input: GetParametersInput) -> Result<GetParametersOutput, AwsError> {
    let names = input.names.unwrap_or_default();
    if names.is_empty() || names.len() > 10 {
        return Err(validation_error(validation(
            format!("[{}]", names.join(", ")),
            "names",
            "Member must have length less than or equal to 10 and greater than or equal to 1",
        )));
    }
    let mut out = GetParametersOutput {
        parameters: Vec::new(),
        invalid_parameters: Vec::new(),
    };
    for name in names {
        check_name(&name, "names")?;
        match public_parameter(txn, &name) {
            Some(p) => {
                if !out.parameters.iter().any(|q| q.name == p.name) {
                    out.parameters.push(p);
                }
            }
            None => {
                if !out.invalid_parameters.contains(&name) {
                    out.invalid_parameters.push(name);
                }
            }
        }
    }
    Ok(out)
}

/// The public parameter `name` of this region, when it is one Fulmar publishes.
fn public_parameter(txn: &Txn, name: &str) -> Option<Parameter> {
    // A selector (`name:3`) asks for a version; only version 1 exists.
    let (base, version) = match name.rsplit_once(':') {
        Some((base, v)) if v.parse::<i64>().is_ok() => (base, v.parse::<i64>().ok()?),
        _ => (name, 1),
    };
    if version != 1 || !is_public_ami_name(base) {
        return None;
    }
    let digest = Sha256::digest(format!("{}\n{base}", txn.region).as_bytes());
    let image = format!("ami-{}", &hex::encode(digest)[..17]);
    Some(Parameter {
        name: base.to_string(),
        kind: "String",
        value: image,
        version: 1,
        last_modified_date: awsjson::epoch(PUBLISHED_MS),
        arn: format!("arn:aws:ssm:{}::parameter{base}", txn.region),
        data_type: "text",
    })
}

/// The names AWS publishes under `/aws/service/ami-amazon-linux-latest/` (Amazon Linux
/// 2023, Amazon Linux 2 and the Amazon Linux AMI) and `/aws/service/ami-windows-latest/`.
fn is_public_ami_name(name: &str) -> bool {
    if let Some(leaf) = name.strip_prefix("/aws/service/ami-amazon-linux-latest/") {
        return is_amazon_linux(leaf);
    }
    if let Some(leaf) = name.strip_prefix("/aws/service/ami-windows-latest/") {
        let body = leaf
            .strip_prefix("TPM-")
            .or_else(|| leaf.strip_prefix("EC2LaunchV2-"))
            .unwrap_or(leaf);
        return body.starts_with("Windows_Server-")
            && body.len() > "Windows_Server-".len()
            && body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    }
    false
}

fn is_amazon_linux(leaf: &str) -> bool {
    let arch = |s: &str| s == "x86_64" || s == "arm64";
    if let Some(rest) = leaf.strip_prefix("al2023-ami-") {
        // al2023-ami-[minimal-]kernel-{default,6.1,6.12}-{x86_64,arm64}
        let rest = rest.strip_prefix("minimal-").unwrap_or(rest);
        let Some(rest) = rest.strip_prefix("kernel-") else {
            return false;
        };
        return ["default-", "6.1-", "6.12-"]
            .iter()
            .any(|k| rest.strip_prefix(k).is_some_and(arch));
    }
    if let Some(rest) = leaf.strip_prefix("amzn2-ami-") {
        // amzn2-ami-{hvm,minimal-hvm,kernel-5.10-hvm}-{x86_64,arm64}-{gp2,ebs}
        let Some(rest) = ["hvm-", "minimal-hvm-", "kernel-5.10-hvm-"]
            .iter()
            .find_map(|k| rest.strip_prefix(k))
        else {
            return false;
        };
        return rest
            .rsplit_once('-')
            .is_some_and(|(a, disk)| arch(a) && (disk == "gp2" || disk == "ebs"));
    }
    if let Some(rest) = leaf.strip_prefix("amzn-ami-") {
        // amzn-ami-{hvm,minimal-hvm,pv,minimal-pv}-x86_64-{gp2,ebs,s3}
        let Some(rest) = ["hvm-", "minimal-hvm-", "pv-", "minimal-pv-"]
            .iter()
            .find_map(|k| rest.strip_prefix(k))
        else {
            return false;
        };
        return rest
            .strip_prefix("x86_64-")
            .is_some_and(|disk| matches!(disk, "gp2" | "ebs" | "s3"));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::is_public_ami_name;

    #[test]
    fn public_ami_names() {
        for ok in [
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.12-x86_64",
            "/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-arm64",
            "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2",
            "/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-arm64-gp2",
            "/aws/service/ami-amazon-linux-latest/amzn-ami-hvm-x86_64-s3",
            "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base",
        ] {
            assert!(is_public_ami_name(ok), "{ok}");
        }
        for bad in [
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.12-sparc",
            "/aws/service/ami-amazon-linux-latest/",
            "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64",
            "/aws/service/global-infrastructure/regions",
            "/my/param",
        ] {
            assert!(!is_public_ami_name(bad), "{bad}");
        }
    }
}
