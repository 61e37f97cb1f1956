//! The EKS API (`aws eks ...`): the cluster, its kubeconfig entry, add-ons (and their waiters),
//! access entries, and the serde types of the answers. `eks get-token` is the run's credential's
//! (`exec::credential`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::aws::{read_opt, AwsOpts};
use crate::error::Result;
use crate::exec::{Cmd, Runner};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EksCluster {
    pub name: String,
    pub arn: String,
    /// The Kubernetes version (`1.31`).
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub identity: Option<EksIdentity>,
    #[serde(default)]
    pub resources_vpc_config: Option<VpcConfig>,
}

impl EksCluster {
    /// The OIDC issuer URL (`identity.oidc.issuer`).
    pub(crate) fn oidc_issuer(&self) -> Option<&str> {
        self.identity.as_ref()?.oidc.as_ref()?.issuer.as_deref()
    }

    /// The VPC id (`resourcesVpcConfig.vpcId`).
    pub(crate) fn vpc_id(&self) -> Option<&str> {
        self.resources_vpc_config.as_ref()?.vpc_id.as_deref()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct EksIdentity {
    pub oidc: Option<EksOidc>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct EksOidc {
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VpcConfig {
    #[serde(default)]
    pub vpc_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DescribeEks {
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
pub(crate) struct DescribeAddon {
    pub addon: Addon,
}

/// `aws eks describe-cluster`.
pub(crate) fn describe_cluster(aws: &AwsOpts, name: &str) -> Cmd {
    aws.cmd(
        format!("describe EKS cluster {name}"),
        &["eks", "describe-cluster", "--name", name],
    )
}

/// Runs a [`describe_cluster`] command: the cluster.
pub(crate) fn cluster(runner: &Runner, cmd: &Cmd) -> Result<EksCluster> {
    Ok(runner.json::<DescribeEks>(cmd)?.cluster)
}

/// `aws eks update-kubeconfig --name NAME [--alias ALIAS] [--kubeconfig FILE]`.
pub(crate) fn update_kubeconfig(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    name: &str,
    alias: Option<&str>,
    kubeconfig: Option<&str>,
) -> Cmd {
    let mut args = vec!["eks", "update-kubeconfig", "--name", name];
    if let Some(a) = alias {
        args.extend(["--alias", a]);
    }
    if let Some(k) = kubeconfig {
        args.extend(["--kubeconfig", k]);
    }
    aws.cmd(purpose, &args).mutating()
}

/// `aws eks list-addons`.
pub(crate) fn list_addons(aws: &AwsOpts, eks_cluster: &str) -> Cmd {
    aws.cmd(
        format!("list the add-ons of EKS cluster {eks_cluster}"),
        &["eks", "list-addons", "--cluster-name", eks_cluster],
    )
}

#[derive(Debug, Clone, Deserialize)]
struct ListAddons {
    #[serde(default)]
    addons: Vec<String>,
}

/// Runs a [`list_addons`] command: the add-ons' names.
pub(crate) fn addon_names(runner: &Runner, cmd: &Cmd) -> Result<Vec<String>> {
    Ok(runner.json::<ListAddons>(cmd)?.addons)
}

/// `aws eks <op> --cluster-name C --addon-name A <rest>`.
fn addon_cmd(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    op: &[&str],
    eks_cluster: &str,
    addon: &str,
    rest: &[&str],
) -> Cmd {
    let mut args = vec!["eks"];
    args.extend(op);
    args.extend(["--cluster-name", eks_cluster, "--addon-name", addon]);
    args.extend(rest);
    aws.cmd(purpose, &args)
}

/// `aws eks describe-addon`.
pub(crate) fn describe_addon(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    eks_cluster: &str,
    addon: &str,
) -> Cmd {
    addon_cmd(aws, purpose, &["describe-addon"], eks_cluster, addon, &[])
}

/// The add-on, or `None` when the cluster does not have it. Always read afresh (waits poll
/// with it).
pub(crate) fn addon(
    runner: &Runner,
    aws: &AwsOpts,
    eks_cluster: &str,
    addon: &str,
) -> Result<Option<Addon>> {
    addon_read(runner, aws, eks_cluster, addon, false)
}

/// [`addon`]; `reuse`: a plan check's read, kept for the run until something changes (see
/// `exec::reads`), never for a poll.
pub(crate) fn addon_read(
    runner: &Runner,
    aws: &AwsOpts,
    eks_cluster: &str,
    addon: &str,
    reuse: bool,
) -> Result<Option<Addon>> {
    let mut cmd = describe_addon(aws, format!("read the {addon} add-on"), eks_cluster, addon);
    cmd.reusable = reuse;
    Ok(read_opt::<DescribeAddon>(runner, &cmd)?.map(|d| d.addon))
}

/// What an add-on is created or updated with (each flag only when set, in this order).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AddonArgs<'a> {
    /// `--service-account-role-arn`.
    pub role_arn: Option<&'a str>,
    /// `--configuration-values` (JSON text).
    pub configuration: Option<&'a str>,
    /// `--resolve-conflicts OVERWRITE`.
    pub overwrite: bool,
    /// `--tags` (as the `{key: value}` object EKS takes).
    pub tags: Option<&'a [(String, String)]>,
    /// `--addon-version`.
    pub version: Option<&'a str>,
}

impl<'a> AddonArgs<'a> {
    /// The flags; `tags`: the `--tags` value ([`tags_arg`] of `self.tags`).
    fn argv(&self, tags: Option<&'a str>) -> Vec<&'a str> {
        let mut a = Vec::new();
        if let Some(r) = self.role_arn {
            a.extend(["--service-account-role-arn", r]);
        }
        if let Some(c) = self.configuration {
            a.extend(["--configuration-values", c]);
        }
        if self.overwrite {
            a.extend(["--resolve-conflicts", "OVERWRITE"]);
        }
        if let Some(t) = tags {
            a.extend(["--tags", t]);
        }
        if let Some(v) = self.version {
            a.extend(["--addon-version", v]);
        }
        a
    }
}

/// The JSON form of `--tags` for EKS calls (`{key: value}`).
fn tags_arg(tags: &[(String, String)]) -> String {
    let map: serde_json::Map<String, Value> = tags
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    Value::Object(map).to_string()
}

/// Which call [`put_addon`] makes: `create-addon` for an add-on the cluster lacks,
/// `update-addon` for one it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddonPut {
    Create,
    Update,
}

/// `aws eks create-addon` or `update-addon`.
pub(crate) fn put_addon(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    put: AddonPut,
    eks_cluster: &str,
    addon: &str,
    with: &AddonArgs,
) -> Cmd {
    let op = match put {
        AddonPut::Create => "create-addon",
        AddonPut::Update => "update-addon",
    };
    let tags = with.tags.map(tags_arg);
    let rest = with.argv(tags.as_deref());
    addon_cmd(aws, purpose, &[op], eks_cluster, addon, &rest).mutating()
}

/// `aws eks delete-addon`; `preserve`: `--preserve` (what the add-on installed stays).
pub(crate) fn delete_addon(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    eks_cluster: &str,
    addon: &str,
    preserve: bool,
) -> Cmd {
    let rest: &[&str] = if preserve { &["--preserve"] } else { &[] };
    addon_cmd(aws, purpose, &["delete-addon"], eks_cluster, addon, rest).mutating()
}

/// `aws eks wait WAITER`: until the add-on is in the waiter's state.
fn wait_addon(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    waiter: &str,
    eks: &str,
    addon: &str,
) -> Cmd {
    addon_cmd(aws, purpose, &["wait", waiter], eks, addon, &[])
}

/// `aws eks wait addon-active`.
pub(crate) fn wait_addon_active(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    eks_cluster: &str,
    addon: &str,
) -> Cmd {
    wait_addon(aws, purpose, "addon-active", eks_cluster, addon)
}

/// `aws eks wait addon-deleted`.
pub(crate) fn wait_addon_deleted(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    eks_cluster: &str,
    addon: &str,
) -> Cmd {
    wait_addon(aws, purpose, "addon-deleted", eks_cluster, addon)
}

/// `aws eks create-access-entry` for an IAM principal.
pub(crate) fn create_access_entry(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    eks_cluster: &str,
    principal_arn: &str,
) -> Cmd {
    aws.cmd(
        purpose,
        &[
            "eks",
            "create-access-entry",
            "--cluster-name",
            eks_cluster,
            "--principal-arn",
            principal_arn,
        ],
    )
    .mutating()
}

/// `aws eks associate-access-policy`, cluster-wide.
pub(crate) fn associate_access_policy(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    eks_cluster: &str,
    principal_arn: &str,
    policy_arn: &str,
) -> Cmd {
    aws.cmd(
        purpose,
        &[
            "eks",
            "associate-access-policy",
            "--cluster-name",
            eks_cluster,
            "--principal-arn",
            principal_arn,
            "--policy-arn",
            policy_arn,
            "--access-scope",
            "type=cluster",
        ],
    )
    .mutating()
}
