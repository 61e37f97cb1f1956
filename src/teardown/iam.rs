//! Teardown's IAM steps: roles (inline policies deleted, managed ones detached), customer-managed
//! policies, and the cluster's OIDC provider — each only when it carries setup's tags.

use super::owned;
use super::steps::{absent, kept, TeardownInputs, KEEP_MODELS};
use crate::error::Result;
use crate::plan::{Action, Check, State, StepEnv};
use crate::tools::iam::{
    self, GetPolicy, ListInstanceProfiles, ListPolicyVersions, OidcProvider, PolicyEntities,
};

fn iam_kept_reason(inp: &TeardownInputs) -> Option<&'static str> {
    if inp.config.keep_iam {
        Some("--keep-iam")
    } else if inp.keeps_operator() {
        Some(KEEP_MODELS)
    } else {
        None
    }
}

pub(super) fn role_check(env: &StepEnv, inp: &TeardownInputs, name: &str) -> Result<Check> {
    let aws = &env.ctx.aws;
    let what = format!("IAM role {name}");
    let Some(found) = env.role(name)? else {
        return Ok(absent());
    };
    let owner = owned::iam(&found.role.tags_json(), inp.cluster());
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
    let profiles = match found.instance_profile_list.clone() {
        Some(p) => p,
        None => env
            .read_as::<ListInstanceProfiles>(&iam::list_instance_profiles_for_role(aws, name))?
            .map(|l| l.instance_profiles)
            .unwrap_or_default(),
    };
    let mut actions = Vec::new();
    for p in found.inline_names() {
        actions.push(Action::new(
            format!("delete inline policy {p}"),
            iam::delete_role_policy(aws, name, p),
        ));
    }
    for arn in found.attached_arns() {
        actions.push(Action::new(
            format!("detach {}", arn.rsplit('/').next().unwrap_or(arn)),
            iam::detach_role_policy(aws, name, arn),
        ));
    }
    for p in &profiles {
        let p = &p.instance_profile_name;
        actions.push(Action::new(
            format!("remove the role from instance profile {p}"),
            iam::remove_role_from_instance_profile(aws, name, p),
        ));
    }
    actions.push(Action::new(
        format!("delete role {name}"),
        iam::delete_role(aws, name),
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
    let Some(found) = env.read_as::<GetPolicy>(&iam::get_policy(aws, name, &arn))? else {
        return Ok(absent());
    };
    let owner = owned::iam(&found.policy.tags_json(), inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if let Some(why) = iam_kept_reason(inp) {
        return Ok(kept(&what, why));
    }
    let entities = env
        .read_as::<PolicyEntities>(&iam::list_entities_for_policy(aws, name, &arn))?
        .unwrap_or_default();
    let mut users = Vec::new();
    for r in &entities.policy_roles {
        if !role_removed(env, inp, &r.role_name)? {
            users.push(format!("role {}", r.role_name));
        }
    }
    users.extend(
        entities
            .policy_users
            .iter()
            .map(|u| format!("user {}", u.user_name)),
    );
    users.extend(
        entities
            .policy_groups
            .iter()
            .map(|g| format!("group {}", g.group_name)),
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
        .read_as::<ListPolicyVersions>(&iam::list_policy_versions(aws, name, &arn))?
        .map(|l| l.versions)
        .unwrap_or_default();
    let mut actions = Vec::new();
    for v in versions.iter().filter(|v| !v.is_default_version) {
        let id = &v.version_id;
        actions.push(Action::new(
            format!("delete version {id} of {name}"),
            iam::delete_policy_version(aws, name, &arn, id),
        ));
    }
    actions.push(Action::new(
        format!("delete policy {name}"),
        iam::delete_policy(aws, name, &arn),
    ));
    Ok(Check::new(State::Present, actions))
}

pub(super) fn oidc_check(env: &StepEnv, inp: &TeardownInputs) -> Result<Check> {
    let aws = &env.ctx.aws;
    let arn = inp.target.oidc.provider_arn.as_str();
    let what = format!("IAM OIDC provider {}", inp.target.oidc.host);
    if !env.oidc_provider_exists(arn)? {
        return Ok(absent());
    }
    if !inp.config.delete_oidc_provider {
        return Ok(kept(
            &what,
            "other workloads on the cluster may use it (pass --delete-oidc-provider to remove it)",
        ));
    }
    let p = env
        .read_as::<OidcProvider>(&iam::get_open_id_connect_provider(aws, arn))?
        .unwrap_or_default();
    let owner = owned::iam(&p.tags_json(), inp.cluster());
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
        iam::delete_open_id_connect_provider(aws, arn),
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
