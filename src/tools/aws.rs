//! The AWS CLI: argv with --region/--profile forwarded, JSON output, typed responses, error codes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::exec::{Cmd, Output, Runner};

/// AWS options forwarded to every `aws` call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AwsOpts {
    pub region: Option<String>,
    pub profile: Option<String>,
}

impl AwsOpts {
    /// `aws <args> --output json [--region R] [--profile P]`.
    pub fn cmd<S: AsRef<str>>(&self, purpose: impl Into<String>, args: &[S]) -> Cmd {
        Cmd::new("aws", purpose)
            .args(args.iter().map(|a| a.as_ref().to_string()))
            .args(["--output", "json"])
            .opt("--region", self.region.as_deref())
            .opt("--profile", self.profile.as_deref())
    }
}

/// The error code in the AWS CLI's `An error occurred (Code) when calling ...` message.
pub fn error_code(stderr: &str) -> Option<&str> {
    let start = stderr.find("An error occurred (")? + "An error occurred (".len();
    let end = stderr[start..].find(')')? + start;
    Some(&stderr[start..end])
}

/// True when the call failed because the thing asked for does not exist.
pub fn is_not_found(out: &Output) -> bool {
    !out.success()
        && matches!(
            error_code(&out.stderr),
            Some(
                "NoSuchEntity"
                    | "ResourceNotFound"
                    | "ResourceNotFoundException"
                    | "NotFoundException"
                    | "NoSuchEntityException"
                    | "ValidationException"
            )
        )
        && !out.stderr.contains("AccessDenied")
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HyperPodCluster {
    pub cluster_arn: String,
    pub cluster_name: String,
    #[serde(default)]
    pub cluster_status: Option<String>,
    #[serde(default)]
    pub orchestrator: Option<Orchestrator>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Orchestrator {
    pub eks: Option<EksOrchestrator>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EksOrchestrator {
    pub cluster_arn: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DescribeHyperPod {
    #[serde(flatten)]
    pub cluster: HyperPodCluster,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksCluster {
    pub name: String,
    pub arn: String,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub identity: Option<EksIdentity>,
    #[serde(default)]
    pub resources_vpc_config: Option<VpcConfig>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EksIdentity {
    pub oidc: Option<EksOidc>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EksOidc {
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcConfig {
    #[serde(default)]
    pub vpc_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DescribeEks {
    pub cluster: EksCluster,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Addon {
    pub addon_name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub addon_version: Option<String>,
    #[serde(default)]
    pub service_account_role_arn: Option<String>,
    #[serde(default)]
    pub health: Option<Value>,
    /// The add-on's configuration (JSON or YAML text), when it has one.
    #[serde(default)]
    pub configuration_values: Option<String>,
    /// `{key: value}`, as the EKS API returns tags.
    #[serde(default)]
    pub tags: Value,
}

impl Addon {
    /// The health issues EKS reports, one line each: `code: message (resources)`.
    pub fn health_issues(&self) -> Vec<String> {
        let issues = self
            .health
            .as_ref()
            .and_then(|h| h["issues"].as_array().cloned())
            .unwrap_or_default();
        issues
            .iter()
            .map(|i| {
                let ids: Vec<&str> = i["resourceIds"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut line = format!(
                    "{}: {}",
                    i["code"].as_str().unwrap_or("Unknown"),
                    i["message"].as_str().unwrap_or("")
                );
                if !ids.is_empty() {
                    line.push_str(&format!(" (resources: {})", ids.join(", ")));
                }
                line
            })
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DescribeAddon {
    pub addon: Addon,
}

/// Runs a read whose "does not exist" is an answer: `Ok(None)`.
pub fn read_opt<T: DeserializeOwned>(runner: &Runner, cmd: &Cmd) -> Result<Option<T>> {
    let out = runner.run_unchecked(cmd)?;
    if out.success() {
        return crate::exec::parse_json(cmd, &out.stdout).map(Some);
    }
    if is_not_found(&out) {
        return Ok(None);
    }
    Err(crate::exec::command_error(cmd, &out))
}

/// `aws eks describe-addon`: the add-on, or `None` when the cluster does not have it. Always
/// read afresh (waits poll with it).
pub fn describe_addon(
    runner: &Runner,
    aws: &AwsOpts,
    eks_cluster: &str,
    addon: &str,
) -> Result<Option<Addon>> {
    describe_addon_read(runner, aws, eks_cluster, addon, false)
}

/// [`describe_addon`]; `reuse` as in [`get_role_read`].
pub fn describe_addon_read(
    runner: &Runner,
    aws: &AwsOpts,
    eks_cluster: &str,
    addon: &str,
    reuse: bool,
) -> Result<Option<Addon>> {
    let mut cmd = aws.cmd(
        format!("read the {addon} add-on"),
        &[
            "eks",
            "describe-addon",
            "--cluster-name",
            eks_cluster,
            "--addon-name",
            addon,
        ],
    );
    cmd.reusable = reuse;
    Ok(read_opt::<DescribeAddon>(runner, &cmd)?.map(|d| d.addon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_cli_messages() {
        let s = "\nAn error occurred (NoSuchEntity) when calling the GetRole operation: Role X not found\n";
        assert_eq!(error_code(s), Some("NoSuchEntity"));
        assert_eq!(error_code("boom"), None);
    }
}
