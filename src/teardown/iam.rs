//! Teardown's IAM steps: roles (inline policies deleted, managed ones detached), customer-managed
//! policies, and the cluster's OIDC provider — each only when it carries setup's tags.

use serde_json::Value;

use super::owned;
use super::steps::{absent, kept, TeardownInputs, KEEP_MODELS};
use crate::error::Result;
use crate::plan::{Action, Check, State, StepEnv};

fn iam_kept_reason(inp: &TeardownInputs) -> Option<&'static str> {
    if inp.config.keep_iam {
        Some("--keep-iam")
    } else if inp.keeps_operator() {
        Some(KEEP_MODELS)
    } else {
        None
    }
}

fn names_of<'v>(v: &'v Value, list: &str, field: &str) -> Vec<&'v str> {
    v[list]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    if field.is_empty() {
                        x.as_str()
                    } else {
                        x[field].as_str()
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn role_check(env: &StepEnv, inp: &TeardownInputs, name: &str) -> Result<Check> {
    let aws = &env.ctx.aws;
    let what = format!("IAM role {name}");
    let Some(found) = env.get_role(name)? else {
        return Ok(absent());
    };
    let owner = owned::iam(&found.tags_json(), inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(
            &what,
            &format!(
                "{} (no tags managed-by=kubectl-hyperpod and {}={})",
                owner.reason(),
                crate::marks::TAG_CLUSTER,
                inp.cluster()
            ),
        ));
    }
    if let Some(why) = iam_kept_reason(inp) {
        return Ok(kept(&what, why));
    }
    let read = |purpose: String, args: &[&str]| -> Result<Value> {
        Ok(env
            .aws_read(&aws.cmd(purpose, args))?
            .unwrap_or(Value::Null))
    };
    let inline = read(
        format!("list inline policies of IAM role {name}"),
        &["iam", "list-role-policies", "--role-name", name],
    )?;
    let attached = read(
        format!("list policies attached to IAM role {name}"),
        &["iam", "list-attached-role-policies", "--role-name", name],
    )?;
    let profiles = read(
        format!("list instance profiles of IAM role {name}"),
        &[
            "iam",
            "list-instance-profiles-for-role",
            "--role-name",
            name,
        ],
    )?;
    let mut actions = Vec::new();
    for p in names_of(&inline, "PolicyNames", "") {
        actions.push(Action::new(
            format!("delete inline policy {p}"),
            aws.cmd(
                format!("delete inline policy {p} of IAM role {name}"),
                &[
                    "iam",
                    "delete-role-policy",
                    "--role-name",
                    name,
                    "--policy-name",
                    p,
                ],
            )
            .mutating(),
        ));
    }
    for arn in names_of(&attached, "AttachedPolicies", "PolicyArn") {
        actions.push(Action::new(
            format!("detach {}", arn.rsplit('/').next().unwrap_or(arn)),
            aws.cmd(
                format!("detach {arn} from IAM role {name}"),
                &[
                    "iam",
                    "detach-role-policy",
                    "--role-name",
                    name,
                    "--policy-arn",
                    arn,
                ],
            )
            .mutating(),
        ));
    }
    for p in names_of(&profiles, "InstanceProfiles", "InstanceProfileName") {
        actions.push(Action::new(
            format!("remove the role from instance profile {p}"),
            aws.cmd(
                format!("remove IAM role {name} from instance profile {p}"),
                &[
                    "iam",
                    "remove-role-from-instance-profile",
                    "--instance-profile-name",
                    p,
                    "--role-name",
                    name,
                ],
            )
            .mutating(),
        ));
    }
    actions.push(Action::new(
        format!("delete role {name}"),
        aws.cmd(
            format!("delete IAM role {name}"),
            &["iam", "delete-role", "--role-name", name],
        )
        .mutating(),
    ));
    Ok(Check::new(State::Present, actions))
}

/// Roles this teardown removes (setup's, by tag), to tell them from other users of a policy.
fn role_removed(env: &StepEnv, inp: &TeardownInputs, role: &str) -> Result<bool> {
    let ours_by_name = inp.all_roles().iter().any(|(_, name)| *name == role);
    if !ours_by_name || iam_kept_reason(inp).is_some() {
        return Ok(false);
    }
    Ok(env
        .get_role(role)?
        .map(|r| owned::iam(&r.tags_json(), inp.cluster()).is_ours())
        .unwrap_or(true))
}

pub(super) fn policy_check(env: &StepEnv, inp: &TeardownInputs, name: &str) -> Result<Check> {
    let aws = &env.ctx.aws;
    let arn = inp.policy_arn(name);
    let what = format!("IAM policy {name}");
    let get = aws.cmd(
        format!("read IAM policy {name}"),
        &["iam", "get-policy", "--policy-arn", &arn],
    );
    let Some(found) = env.aws_read(&get)? else {
        return Ok(absent());
    };
    let owner = owned::iam(&found["Policy"]["Tags"], inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if let Some(why) = iam_kept_reason(inp) {
        return Ok(kept(&what, why));
    }
    let entities = env
        .aws_read(&aws.cmd(
            format!("list what IAM policy {name} is attached to"),
            &["iam", "list-entities-for-policy", "--policy-arn", &arn],
        ))?
        .unwrap_or(Value::Null);
    let mut users = Vec::new();
    for r in names_of(&entities, "PolicyRoles", "RoleName") {
        if !role_removed(env, inp, r)? {
            users.push(format!("role {r}"));
        }
    }
    users.extend(
        names_of(&entities, "PolicyUsers", "UserName")
            .into_iter()
            .map(|u| format!("user {u}")),
    );
    users.extend(
        names_of(&entities, "PolicyGroups", "GroupName")
            .into_iter()
            .map(|g| format!("group {g}")),
    );
    if !users.is_empty() {
        return Ok(kept(
            &what,
            &format!(
                "still attached to {} (not removed by teardown); detach it and re-run to remove it",
                users.join(", ")
            ),
        ));
    }
    let versions = env
        .aws_read(&aws.cmd(
            format!("list versions of IAM policy {name}"),
            &["iam", "list-policy-versions", "--policy-arn", &arn],
        ))?
        .unwrap_or(Value::Null);
    let mut actions = Vec::new();
    for v in versions["Versions"].as_array().into_iter().flatten() {
        if v["IsDefaultVersion"] == true {
            continue;
        }
        let Some(id) = v["VersionId"].as_str() else {
            continue;
        };
        actions.push(Action::new(
            format!("delete version {id} of {name}"),
            aws.cmd(
                format!("delete version {id} of IAM policy {name}"),
                &[
                    "iam",
                    "delete-policy-version",
                    "--policy-arn",
                    &arn,
                    "--version-id",
                    id,
                ],
            )
            .mutating(),
        ));
    }
    actions.push(Action::new(
        format!("delete policy {name}"),
        aws.cmd(
            format!("delete IAM policy {name}"),
            &["iam", "delete-policy", "--policy-arn", &arn],
        )
        .mutating(),
    ));
    Ok(Check::new(State::Present, actions))
}

pub(super) fn oidc_check(env: &StepEnv, inp: &TeardownInputs) -> Result<Check> {
    let aws = &env.ctx.aws;
    let arn = inp.facts.oidc.provider_arn.as_str();
    let what = format!("IAM OIDC provider {}", inp.facts.oidc.host);
    if !env.oidc_provider_exists(arn)? {
        return Ok(absent());
    }
    if !inp.config.delete_oidc_provider {
        return Ok(kept(
            &what,
            "other workloads on the cluster may use it (pass --delete-oidc-provider to remove it)",
        ));
    }
    let get = aws.cmd(
        "read the cluster's IAM OIDC provider",
        &[
            "iam",
            "get-open-id-connect-provider",
            "--open-id-connect-provider-arn",
            arn,
        ],
    );
    let p = env.aws_read(&get)?.unwrap_or(Value::Null);
    let owner = owned::iam(&p["Tags"], inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if let Some(why) = iam_kept_reason(inp) {
        return Ok(kept(&what, why));
    }
    let mut c = Check::new(State::Present, vec![]);
    for role in kept_roles_trusting(env, inp, arn)? {
        c = c.note(format!(
            "IAM role {role} stays (not setup's) and trusts this provider: it stops working without it"
        ));
    }
    c.actions.push(Action::new(
        "delete the IAM OIDC provider",
        aws.cmd(
            format!("delete the IAM OIDC provider {arn}"),
            &[
                "iam",
                "delete-open-id-connect-provider",
                "--open-id-connect-provider-arn",
                arn,
            ],
        )
        .mutating(),
    ));
    Ok(c)
}

/// Roles with setup's names that teardown leaves (not setup's) whose trust names the provider.
fn kept_roles_trusting(
    env: &StepEnv,
    inp: &TeardownInputs,
    provider_arn: &str,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (_, name) in inp.all_roles() {
        let Some(role) = env.get_role(name)? else {
            continue;
        };
        if !owned::iam(&role.tags_json(), inp.cluster()).is_ours()
            && role.trust().to_string().contains(provider_arn)
        {
            out.push(name.to_string());
        }
    }
    Ok(out)
}
