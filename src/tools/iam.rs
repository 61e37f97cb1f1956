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

/// `aws iam get-account-authorization-details --filter Role LocalManagedPolicy`, every page
/// (answer: [`AccountDetails`]): every role with its trust, tags, inline and attached policies
/// and instance profiles, and every customer-managed policy with all its versions, in one
/// process where per-name reads take one or more per role and policy.
pub(crate) fn account_details(aws: &AwsOpts) -> Cmd {
    iam(
        aws,
        "read the account's IAM roles and customer-managed policies",
        &[
            "get-account-authorization-details",
            "--filter",
            "Role",
            "LocalManagedPolicy",
        ],
    )
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

/// Whether `arn` names a policy AWS manages (`arn:<partition>:iam::aws:policy/...`), which the
/// account's own answer ([`account_details`]) does not list.
pub(crate) fn is_aws_managed(arn: &str) -> bool {
    arn.contains(":iam::aws:policy/")
}

/// The account's roles and customer-managed policies in one read, kept for the run until
/// something changes (every check of a plan shares it); `None` when the caller may not read the
/// whole account (`AccessDenied`: [`role_detail`] and [`policy_detail`] then read each name).
pub(crate) fn read_account(runner: &Runner, aws: &AwsOpts) -> Result<Option<AccountDetails>> {
    let cmd = account_details(aws).reusable();
    let out = runner.run_unchecked(&cmd)?;
    if out.success() {
        return crate::exec::parse_json(&cmd, &out.stdout).map(Some);
    }
    if super::aws::is_access_denied(&out) {
        return Ok(None);
    }
    Err(crate::exec::command_error(&cmd, &out))
}

/// A role with its inline and attached policies: from [`read_account`], or where that is
/// denied from `get-role`, `list-role-policies`, `get-role-policy` each and
/// `list-attached-role-policies`. `None` when there is no such role.
pub(crate) fn role_detail(
    runner: &Runner,
    aws: &AwsOpts,
    name: &str,
) -> Result<Option<RoleDetail>> {
    if let Some(account) = read_account(runner, aws)? {
        return Ok(account.role(name).cloned());
    }
    let Some(role) = read_opt::<GetRole>(runner, &get_role(aws, name).reusable())?.map(|g| g.role)
    else {
        return Ok(None);
    };
    let names = read_opt::<ListRolePolicies>(
        runner,
        &list_role_policies(
            aws,
            format!("list inline policies of IAM role {name}"),
            name,
        )
        .reusable(),
    )?
    .map(|l| l.policy_names)
    .unwrap_or_default();
    let mut role_policy_list = Vec::new();
    for p in names {
        let get = get_role_policy(
            aws,
            format!("read inline policy {p} of role {name}"),
            name,
            &p,
        );
        if let Some(doc) = read_opt::<RolePolicy>(runner, &get.reusable())? {
            role_policy_list.push(InlinePolicy {
                policy_name: p,
                policy_document: doc.policy_document,
            });
        }
    }
    let attached = read_opt::<ListAttached>(
        runner,
        &list_attached_role_policies(aws, format!("list policies attached to role {name}"), name)
            .reusable(),
    )?
    .map(|l| l.attached_policies)
    .unwrap_or_default();
    Ok(Some(RoleDetail {
        role,
        role_policy_list,
        attached_managed_policies: attached,
        instance_profile_list: None,
    }))
}

/// A customer-managed policy with its versions: from [`read_account`], or where that is denied
/// from `list-policies --scope Local` (one for every policy), its default version's document
/// and `list-policy-versions`. `None` when there is no such policy.
pub(crate) fn policy_detail(
    runner: &Runner,
    aws: &AwsOpts,
    name: &str,
    arn: &str,
) -> Result<Option<PolicyDetail>> {
    if let Some(account) = read_account(runner, aws)? {
        return Ok(account.policy(arn).cloned());
    }
    let listed = read_opt::<ListPolicies>(runner, &list_local_policies(aws).reusable())?;
    let Some(found) = listed.and_then(|l| l.policies.into_iter().find(|p| p.arn == arn)) else {
        return Ok(None);
    };
    let getv = get_policy_version(
        aws,
        format!("read the default version of IAM policy {name}"),
        arn,
        &found.default_version_id,
    );
    let default = read_opt::<GetPolicyVersion>(runner, &getv.reusable())?;
    let mut versions =
        read_opt::<ListPolicyVersions>(runner, &list_policy_versions(aws, name, arn).reusable())?
            .map(|l| l.versions)
            .unwrap_or_default();
    if let Some(d) = default {
        versions.retain(|v| v.version_id != d.policy_version.version_id);
        versions.push(PolicyVersion {
            is_default_version: true,
            ..d.policy_version
        });
    }
    Ok(Some(PolicyDetail {
        arn: arn.to_string(),
        default_version_id: found.default_version_id,
        policy_version_list: versions,
    }))
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

/// The answer of [`account_details`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccountDetails {
    #[serde(default)]
    pub(crate) role_detail_list: Vec<RoleDetail>,
    #[serde(default)]
    pub(crate) policies: Vec<PolicyDetail>,
}

impl AccountDetails {
    pub(crate) fn role(&self, name: &str) -> Option<&RoleDetail> {
        self.role_detail_list
            .iter()
            .find(|r| r.role.role_name == name)
    }

    pub(crate) fn policy(&self, arn: &str) -> Option<&PolicyDetail> {
        self.policies.iter().find(|p| p.arn == arn)
    }
}

/// A role with what hangs on it: from [`account_details`] in one read, or put together from
/// per-name reads where the caller may not read the whole account.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RoleDetail {
    #[serde(flatten)]
    pub(crate) role: Role,
    #[serde(default)]
    pub(crate) role_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub(crate) attached_managed_policies: Vec<AttachedPolicy>,
    /// `None` when put together from per-name reads (no `list-instance-profiles-for-role`).
    #[serde(default)]
    pub(crate) instance_profile_list: Option<Vec<InstanceProfile>>,
}

impl RoleDetail {
    /// The inline policy `name`'s document, when the role has it.
    pub(crate) fn inline(&self, name: &str) -> Option<Value> {
        self.role_policy_list
            .iter()
            .find(|p| p.policy_name == name)
            .map(|p| policy_document(&p.policy_document))
    }

    pub(crate) fn inline_names(&self) -> Vec<&str> {
        self.role_policy_list
            .iter()
            .map(|p| p.policy_name.as_str())
            .collect()
    }

    pub(crate) fn attached_arns(&self) -> Vec<&str> {
        self.attached_managed_policies
            .iter()
            .map(|p| p.policy_arn.as_str())
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InlinePolicy {
    pub(crate) policy_name: String,
    #[serde(default)]
    pub(crate) policy_document: Value,
}

/// A customer-managed policy and its versions (documents included when read in one answer).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicyDetail {
    pub(crate) arn: String,
    #[serde(default = "first_version")]
    pub(crate) default_version_id: String,
    #[serde(default)]
    pub(crate) policy_version_list: Vec<PolicyVersion>,
}

impl PolicyDetail {
    /// The default version's document (`Null` when it was not read).
    pub(crate) fn default_document(&self) -> Value {
        self.policy_version_list
            .iter()
            .find(|v| v.is_default_version || v.version_id == self.default_version_id)
            .map(|v| policy_document(&v.document))
            .unwrap_or(Value::Null)
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
