//! AWS IAM: every `aws iam ...` operation as a [`Cmd`] (roles, inline and managed policies, the
//! OIDC providers), the typed answers of its reads, and the documents and tags IAM speaks.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::aws::{read_opt, AwsOpts};
use crate::error::Result;
use crate::exec::{Cmd, Runner};

/// The audience EKS service-account tokens carry: the client ID of every OIDC provider setup
/// creates.
pub(crate) const OIDC_CLIENT_ID: &str = "sts.amazonaws.com";

/// `aws iam <args>`.
fn iam(aws: &AwsOpts, purpose: impl Into<String>, args: &[&str]) -> Cmd {
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push("iam");
    argv.extend_from_slice(args);
    aws.cmd(purpose, &argv)
}

// ---- Roles -------------------------------------------------------------------------------

/// `aws iam get-role` (answer: [`GetRole`]).
pub(crate) fn get_role(aws: &AwsOpts, name: &str) -> Cmd {
    iam(
        aws,
        format!("read IAM role {name}"),
        &["get-role", "--role-name", name],
    )
}

/// `aws iam list-roles`, every page (answer: [`ListRoles`]).
pub(crate) fn list_roles(aws: &AwsOpts) -> Cmd {
    iam(aws, "list the IAM roles", &["list-roles"])
}

pub(crate) fn create_role(
    aws: &AwsOpts,
    name: &str,
    trust: &Value,
    description: &str,
    tags: &[(String, String)],
) -> Cmd {
    iam(
        aws,
        format!("create IAM role {name}"),
        &[
            "create-role",
            "--role-name",
            name,
            "--assume-role-policy-document",
            &trust.to_string(),
            "--description",
            description,
            "--tags",
            &tags_arg(tags),
        ],
    )
    .mutating()
}

/// `aws iam update-assume-role-policy`; `purpose` as the caller words it (setup's step, or
/// doctor's "fix").
pub(crate) fn update_assume_role_policy(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    role: &str,
    trust: &Value,
) -> Cmd {
    iam(
        aws,
        purpose,
        &[
            "update-assume-role-policy",
            "--role-name",
            role,
            "--policy-document",
            &trust.to_string(),
        ],
    )
    .mutating()
}

pub(crate) fn delete_role(aws: &AwsOpts, name: &str) -> Cmd {
    iam(
        aws,
        format!("delete IAM role {name}"),
        &["delete-role", "--role-name", name],
    )
    .mutating()
}

/// `aws iam list-instance-profiles-for-role` (answer: [`ListInstanceProfiles`]).
pub(crate) fn list_instance_profiles_for_role(aws: &AwsOpts, role: &str) -> Cmd {
    iam(
        aws,
        format!("list instance profiles of IAM role {role}"),
        &["list-instance-profiles-for-role", "--role-name", role],
    )
}

pub(crate) fn remove_role_from_instance_profile(aws: &AwsOpts, role: &str, profile: &str) -> Cmd {
    iam(
        aws,
        format!("remove IAM role {role} from instance profile {profile}"),
        &[
            "remove-role-from-instance-profile",
            "--instance-profile-name",
            profile,
            "--role-name",
            role,
        ],
    )
    .mutating()
}

// ---- A role's inline and attached policies ------------------------------------------------

/// `aws iam list-role-policies` (answer: [`ListRolePolicies`]).
pub(crate) fn list_role_policies(aws: &AwsOpts, purpose: impl Into<String>, role: &str) -> Cmd {
    iam(aws, purpose, &["list-role-policies", "--role-name", role])
}

/// `aws iam get-role-policy` (answer: [`RolePolicy`]).
pub(crate) fn get_role_policy(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    role: &str,
    policy: &str,
) -> Cmd {
    iam(
        aws,
        purpose,
        &[
            "get-role-policy",
            "--role-name",
            role,
            "--policy-name",
            policy,
        ],
    )
}

pub(crate) fn put_role_policy(aws: &AwsOpts, role: &str, policy: &str, doc: &Value) -> Cmd {
    iam(
        aws,
        format!("put inline policy {policy} on IAM role {role}"),
        &[
            "put-role-policy",
            "--role-name",
            role,
            "--policy-name",
            policy,
            "--policy-document",
            &doc.to_string(),
        ],
    )
    .mutating()
}

pub(crate) fn delete_role_policy(aws: &AwsOpts, role: &str, policy: &str) -> Cmd {
    iam(
        aws,
        format!("delete inline policy {policy} of IAM role {role}"),
        &[
            "delete-role-policy",
            "--role-name",
            role,
            "--policy-name",
            policy,
        ],
    )
    .mutating()
}

/// `aws iam list-attached-role-policies` (answer: [`ListAttached`]).
pub(crate) fn list_attached_role_policies(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    role: &str,
) -> Cmd {
    iam(
        aws,
        purpose,
        &["list-attached-role-policies", "--role-name", role],
    )
}

pub(crate) fn attach_role_policy(aws: &AwsOpts, role: &str, arn: &str) -> Cmd {
    iam(
        aws,
        format!("attach {arn} to IAM role {role}"),
        &[
            "attach-role-policy",
            "--role-name",
            role,
            "--policy-arn",
            arn,
        ],
    )
    .mutating()
}

pub(crate) fn detach_role_policy(aws: &AwsOpts, role: &str, arn: &str) -> Cmd {
    iam(
        aws,
        format!("detach {arn} from IAM role {role}"),
        &[
            "detach-role-policy",
            "--role-name",
            role,
            "--policy-arn",
            arn,
        ],
    )
    .mutating()
}

// ---- Customer-managed policies ------------------------------------------------------------

/// `aws iam list-policies --scope Local` (answer: [`ListPolicies`]).
pub(crate) fn list_local_policies(aws: &AwsOpts) -> Cmd {
    iam(
        aws,
        "list the account's customer-managed IAM policies",
        &["list-policies", "--scope", "Local"],
    )
}

/// `aws iam get-policy` (answer: [`GetPolicy`]); `label` names the policy in the purpose.
pub(crate) fn get_policy(aws: &AwsOpts, label: &str, arn: &str) -> Cmd {
    iam(
        aws,
        format!("read IAM policy {label}"),
        &["get-policy", "--policy-arn", arn],
    )
}

/// `aws iam get-policy-version` (answer: [`GetPolicyVersion`]).
pub(crate) fn get_policy_version(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    arn: &str,
    version: &str,
) -> Cmd {
    iam(
        aws,
        purpose,
        &[
            "get-policy-version",
            "--policy-arn",
            arn,
            "--version-id",
            version,
        ],
    )
}

pub(crate) fn create_policy(
    aws: &AwsOpts,
    name: &str,
    doc: &Value,
    description: &str,
    tags: &[(String, String)],
) -> Cmd {
    iam(
        aws,
        format!("create IAM policy {name}"),
        &[
            "create-policy",
            "--policy-name",
            name,
            "--policy-document",
            &doc.to_string(),
            "--description",
            description,
            "--tags",
            &tags_arg(tags),
        ],
    )
    .mutating()
}

/// `aws iam list-policy-versions` (answer: [`ListPolicyVersions`]).
pub(crate) fn list_policy_versions(aws: &AwsOpts, name: &str, arn: &str) -> Cmd {
    iam(
        aws,
        format!("list versions of IAM policy {name}"),
        &["list-policy-versions", "--policy-arn", arn],
    )
}

/// `aws iam create-policy-version --set-as-default`.
pub(crate) fn create_policy_version(aws: &AwsOpts, name: &str, arn: &str, doc: &Value) -> Cmd {
    iam(
        aws,
        format!("create a new default version of IAM policy {name}"),
        &[
            "create-policy-version",
            "--policy-arn",
            arn,
            "--policy-document",
            &doc.to_string(),
            "--set-as-default",
        ],
    )
    .mutating()
}

pub(crate) fn delete_policy_version(aws: &AwsOpts, name: &str, arn: &str, version: &str) -> Cmd {
    iam(
        aws,
        format!("delete version {version} of IAM policy {name}"),
        &[
            "delete-policy-version",
            "--policy-arn",
            arn,
            "--version-id",
            version,
        ],
    )
    .mutating()
}

/// `aws iam list-entities-for-policy` (answer: [`PolicyEntities`]).
pub(crate) fn list_entities_for_policy(aws: &AwsOpts, name: &str, arn: &str) -> Cmd {
    iam(
        aws,
        format!("list what IAM policy {name} is attached to"),
        &["list-entities-for-policy", "--policy-arn", arn],
    )
}

pub(crate) fn delete_policy(aws: &AwsOpts, name: &str, arn: &str) -> Cmd {
    iam(
        aws,
        format!("delete IAM policy {name}"),
        &["delete-policy", "--policy-arn", arn],
    )
    .mutating()
}

// ---- OIDC identity providers --------------------------------------------------------------

/// `aws iam list-open-id-connect-providers` (answer: [`ListOidcProviders`]).
pub(crate) fn list_open_id_connect_providers(aws: &AwsOpts) -> Cmd {
    iam(
        aws,
        "list the IAM OIDC providers",
        &["list-open-id-connect-providers"],
    )
}

/// `aws iam create-open-id-connect-provider` for `issuer`, client ID [`OIDC_CLIENT_ID`];
/// `purpose` as the caller words it (setup's step, or doctor's "fix").
pub(crate) fn create_open_id_connect_provider(
    aws: &AwsOpts,
    purpose: impl Into<String>,
    issuer: &str,
    tags: &[(String, String)],
) -> Cmd {
    iam(
        aws,
        purpose,
        &[
            "create-open-id-connect-provider",
            "--url",
            issuer,
            "--client-id-list",
            OIDC_CLIENT_ID,
            "--tags",
            &tags_arg(tags),
        ],
    )
    .mutating()
}

/// `aws iam get-open-id-connect-provider` (answer: [`OidcProvider`]).
pub(crate) fn get_open_id_connect_provider(aws: &AwsOpts, arn: &str) -> Cmd {
    iam(
        aws,
        "read the cluster's IAM OIDC provider",
        &[
            "get-open-id-connect-provider",
            "--open-id-connect-provider-arn",
            arn,
        ],
    )
}

pub(crate) fn delete_open_id_connect_provider(aws: &AwsOpts, arn: &str) -> Cmd {
    iam(
        aws,
        format!("delete the IAM OIDC provider {arn}"),
        &[
            "delete-open-id-connect-provider",
            "--open-id-connect-provider-arn",
            arn,
        ],
    )
    .mutating()
}

// ---- Reads run here -----------------------------------------------------------------------

/// The role, or `None` when there is none of that name; `reuse`: a plan check's read, kept for
/// the run until something changes (see `exec::reads`), never for a poll.
pub(crate) fn read_role(
    runner: &Runner,
    aws: &AwsOpts,
    name: &str,
    reuse: bool,
) -> Result<Option<Role>> {
    let mut cmd = get_role(aws, name);
    cmd.reusable = reuse;
    Ok(read_opt::<GetRole>(runner, &cmd)?.map(|g| g.role))
}

/// The ARNs of the account's OIDC providers.
pub(crate) fn oidc_provider_arns(runner: &Runner, aws: &AwsOpts) -> Result<Vec<String>> {
    let l: ListOidcProviders = runner.json(&list_open_id_connect_providers(aws))?;
    Ok(l.arns())
}

// ---- Documents and tags -------------------------------------------------------------------

/// Policy documents may come back as a JSON object or as an (URL-encoded) string.
pub(crate) fn policy_document(v: &Value) -> Value {
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
fn tags_arg(tags: &[(String, String)]) -> String {
    let v: Vec<Value> = tags
        .iter()
        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
        .collect();
    Value::Array(v).to_string()
}

/// Tags as IAM prints them (`[{"Key": .., "Value": ..}]`).
fn tags_json(tags: &[Tag]) -> Value {
    serde_json::to_value(tags).unwrap_or(Value::Null)
}

// ---- Answers ------------------------------------------------------------------------------

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

impl Role {
    /// The trust policy as a JSON object.
    pub fn trust(&self) -> Value {
        policy_document(&self.assume_role_policy_document)
    }

    /// The tags as IAM prints them (`[{"Key": .., "Value": ..}]`).
    pub fn tags_json(&self) -> Value {
        tags_json(&self.tags)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetRole {
    pub role: Role,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ListRoles {
    #[serde(rename = "Roles")]
    pub(crate) roles: Vec<Role>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RolePolicy {
    pub policy_document: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListRolePolicies {
    #[serde(default)]
    pub policy_names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AttachedPolicy {
    pub policy_arn: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListAttached {
    #[serde(default)]
    pub attached_policies: Vec<AttachedPolicy>,
}

impl ListAttached {
    pub(crate) fn arns(&self) -> Vec<&str> {
        self.attached_policies
            .iter()
            .map(|p| p.policy_arn.as_str())
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InstanceProfile {
    pub(crate) instance_profile_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListInstanceProfiles {
    #[serde(default)]
    pub(crate) instance_profiles: Vec<InstanceProfile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ManagedPolicy {
    #[serde(default = "first_version")]
    pub default_version_id: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The version a policy is read at when IAM does not say which is the default.
fn first_version() -> String {
    "v1".to_string()
}

impl ManagedPolicy {
    /// The tags as IAM prints them (`[{"Key": .., "Value": ..}]`).
    pub(crate) fn tags_json(&self) -> Value {
        tags_json(&self.tags)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetPolicy {
    pub policy: ManagedPolicy,
}

/// One policy as `list-policies` lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListedPolicy {
    pub(crate) arn: String,
    #[serde(default = "first_version")]
    pub(crate) default_version_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListPolicies {
    #[serde(default)]
    pub(crate) policies: Vec<ListedPolicy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicyVersion {
    #[serde(default)]
    pub document: Value,
    #[serde(default)]
    pub version_id: String,
    #[serde(default)]
    pub is_default_version: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetPolicyVersion {
    pub policy_version: PolicyVersion,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListPolicyVersions {
    #[serde(default)]
    pub versions: Vec<PolicyVersion>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicyRole {
    pub(crate) role_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicyUser {
    pub(crate) user_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicyGroup {
    pub(crate) group_name: String,
}

/// What `list-entities-for-policy` says a policy is attached to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicyEntities {
    #[serde(default)]
    pub(crate) policy_roles: Vec<PolicyRole>,
    #[serde(default)]
    pub(crate) policy_users: Vec<PolicyUser>,
    #[serde(default)]
    pub(crate) policy_groups: Vec<PolicyGroup>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OidcProviderEntry {
    #[serde(rename = "Arn")]
    pub arn: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ListOidcProviders {
    #[serde(rename = "OpenIDConnectProviderList")]
    pub providers: Vec<OidcProviderEntry>,
}

impl ListOidcProviders {
    pub(crate) fn arns(self) -> Vec<String> {
        self.providers.into_iter().map(|p| p.arn).collect()
    }
}

/// `get-open-id-connect-provider`'s answer, as far as teardown reads it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OidcProvider {
    #[serde(default)]
    pub(crate) tags: Vec<Tag>,
}

impl OidcProvider {
    /// The tags as IAM prints them (`[{"Key": .., "Value": ..}]`).
    pub(crate) fn tags_json(&self) -> Value {
        tags_json(&self.tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_documents_are_decoded() {
        let v = policy_document(&Value::String("%7B%22a%22%3A1%7D".into()));
        assert_eq!(v, serde_json::json!({"a": 1}));
    }
}
