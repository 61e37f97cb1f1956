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

/// `aws sts get-caller-identity`.
pub(crate) fn get_caller_identity(aws: &AwsOpts, purpose: impl Into<String>) -> Cmd {
    aws.cmd(purpose, &["sts", "get-caller-identity"])
}

/// Runs a [`get_caller_identity`] command: who the credentials are.
pub(crate) fn caller_identity(runner: &Runner, cmd: &Cmd) -> Result<CallerIdentity> {
    runner.json(cmd)
}

/// What `aws s3api head-bucket` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketState {
    Exists,
    Missing,
    Forbidden,
}

/// `aws s3api head-bucket`.
pub(crate) fn head_bucket(aws: &AwsOpts, bucket: &str) -> Cmd {
    aws.cmd(
        format!("look up S3 bucket {bucket}"),
        &["s3api", "head-bucket", "--bucket", bucket],
    )
}

/// Runs a [`head_bucket`] command: whether the bucket exists and may be read.
pub(crate) fn bucket_state(runner: &Runner, cmd: &Cmd) -> Result<BucketState> {
    let out = runner.run_unchecked(cmd)?;
    if out.success() {
        return Ok(BucketState::Exists);
    }
    match error_code(&out.stderr) {
        Some("404" | "NoSuchBucket" | "NotFound") => Ok(BucketState::Missing),
        Some("403" | "AccessDenied" | "Forbidden") => Ok(BucketState::Forbidden),
        _ => Err(crate::exec::command_error(cmd, &out)),
    }
}

/// `aws s3api create-bucket`, in the region of the options (`us-east-1` takes no location).
pub(crate) fn create_bucket(aws: &AwsOpts, purpose: impl Into<String>, bucket: &str) -> Cmd {
    let mut args = vec!["s3api", "create-bucket", "--bucket", bucket];
    let loc;
    if let Some(r) = aws.region.as_deref().filter(|r| *r != "us-east-1") {
        loc = format!("LocationConstraint={r}");
        args.extend(["--create-bucket-configuration", loc.as_str()]);
    }
    aws.cmd(purpose, &args).mutating()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub role_name: String,
    pub arn: String,
    /// The CLI prints the URL-decoded document as a JSON object (sometimes a string).
    pub assume_role_policy_document: Value,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRole {
    pub role: Role,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RolePolicy {
    pub policy_document: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolePolicies {
    pub policy_names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    pub policy_arn: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAttached {
    pub attached_policies: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicy {
    pub arn: String,
    pub default_version_id: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicy {
    pub policy: ManagedPolicy,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersion {
    pub document: Value,
    #[serde(default)]
    pub version_id: String,
    #[serde(default)]
    pub is_default_version: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyVersion {
    pub policy_version: PolicyVersion,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyVersions {
    pub versions: Vec<PolicyVersion>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OidcProviderEntry {
    #[serde(rename = "Arn")]
    pub arn: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ListOidcProviders {
    #[serde(rename = "OpenIDConnectProviderList")]
    pub providers: Vec<OidcProviderEntry>,
}

/// Policy documents may come back as a JSON object or as an (URL-encoded) string.
pub fn policy_document(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let decoded = percent_decode(s);
            serde_json::from_str(&decoded).unwrap_or(Value::String(s.clone()))
        }
        other => other.clone(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The JSON form of `--tags` for IAM calls.
pub fn iam_tags_arg(tags: &[(String, String)]) -> String {
    let v: Vec<Value> = tags
        .iter()
        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
        .collect();
    Value::Array(v).to_string()
}

impl Role {
    /// The trust policy as a JSON object.
    pub fn trust(&self) -> Value {
        policy_document(&self.assume_role_policy_document)
    }

    /// The tags as IAM prints them (`[{"Key": .., "Value": ..}]`).
    pub fn tags_json(&self) -> Value {
        serde_json::to_value(&self.tags).unwrap_or(Value::Null)
    }
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

/// `aws iam get-role`: the role, or `None` when there is none of that name.
pub fn get_role(runner: &Runner, aws: &AwsOpts, name: &str) -> Result<Option<Role>> {
    get_role_read(runner, aws, name, false)
}

/// [`get_role`]; `reuse`: a plan check's read, kept for the run until something changes
/// (see `exec::reads`), never for a poll.
pub fn get_role_read(
    runner: &Runner,
    aws: &AwsOpts,
    name: &str,
    reuse: bool,
) -> Result<Option<Role>> {
    let mut cmd = aws.cmd(
        format!("read IAM role {name}"),
        &["iam", "get-role", "--role-name", name],
    );
    cmd.reusable = reuse;
    Ok(read_opt::<GetRole>(runner, &cmd)?.map(|g| g.role))
}

/// `aws iam list-open-id-connect-providers`: the ARNs of the account's OIDC providers.
pub fn oidc_provider_arns(runner: &Runner, aws: &AwsOpts) -> Result<Vec<String>> {
    let cmd = aws.cmd(
        "list the IAM OIDC providers",
        &["iam", "list-open-id-connect-providers"],
    );
    let l: ListOidcProviders = runner.json(&cmd)?;
    Ok(l.providers.into_iter().map(|p| p.arn).collect())
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

    #[test]
    fn url_encoded_documents_are_decoded() {
        let v = policy_document(&Value::String("%7B%22a%22%3A1%7D".into()));
        assert_eq!(v, serde_json::json!({"a": 1}));
    }
}
