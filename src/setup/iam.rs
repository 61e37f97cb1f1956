//! Setup's IAM checks: roles (trust, inline and managed policies), customer-managed policies and
//! the OIDC provider, each saying what differs and the `aws iam` commands that correct it.

use serde_json::Value;

use crate::install::trust::{same_policy, trust_subjects, Oidc};

use crate::error::Result;
use crate::plan::{Action, Check, State, StepEnv};
use crate::tools::aws::AwsOpts;
use crate::tools::iam;

/// A role as setup wants it.
pub(crate) struct RoleSpec {
    pub name: String,
    pub description: String,
    pub trust: Value,
    pub inline: Option<(String, Value)>,
    pub managed: Vec<String>,
    pub tags: Vec<(String, String)>,
}

fn is_ours(tags: &Value) -> bool {
    let (k, v) = crate::marks::TAG_MANAGED_BY;
    tags.as_array()
        .map(|a| a.iter().any(|t| t["Key"] == k && t["Value"] == v))
        .unwrap_or(false)
}

/// Checks a role: existence, trust, inline policy, attached managed policies.
pub(crate) fn role_check(env: &StepEnv, spec: &RoleSpec) -> Result<Check> {
    let aws = &env.ctx.aws;
    let n = spec.name.as_str();
    let Some(detail) = env.role(n)? else {
        let mut actions = vec![Action::new(
            format!("create role {n}"),
            iam::create_role(aws, n, &spec.trust, &spec.description, &spec.tags),
        )
        .doc(&format!("{n} trust policy"), &spec.trust)];
        if let Some((pname, doc)) = &spec.inline {
            actions.push(put_inline(aws, n, pname, doc));
        }
        for arn in &spec.managed {
            actions.push(attach(aws, n, arn));
        }
        return Ok(Check::new(State::Missing, actions));
    };
    let role = &detail.role;
    let mut parts = Vec::new();
    let mut c = Check::satisfied();
    if !is_ours(&role.tags_json()) {
        c = c.note(format!("role {n} was not created by kubectl-hyperpod: setup keeps it in line, teardown will leave it"));
    }
    let current_trust = role.trust();
    if !same_policy(&current_trust, &spec.trust) {
        let has = trust_subjects(&current_trust);
        let wants = trust_subjects(&spec.trust);
        let mut d = Check::new(
            State::Drifted,
            vec![Action::new(
                format!("correct the trust policy of {n}"),
                iam::update_assume_role_policy(
                    aws,
                    format!("update the trust policy of IAM role {n}"),
                    n,
                    &spec.trust,
                ),
            )
            .doc(&format!("{n} trust policy"), &spec.trust)],
        );
        d = d.note(if has != wants {
            format!(
                "trust policy of {n} allows {} but should allow only {}",
                show(&has),
                show(&wants)
            )
        } else {
            format!("trust policy of {n} differs from the expected document")
        });
        parts.push(d);
    }
    if let Some((pname, doc)) = &spec.inline {
        match detail.inline(pname) {
            None => parts.push(
                Check::new(State::Drifted, vec![put_inline(aws, n, pname, doc)])
                    .note(format!("inline policy {pname} is missing")),
            ),
            Some(v) if !same_policy(&v, doc) => parts.push(
                Check::new(State::Drifted, vec![put_inline(aws, n, pname, doc)]).note(format!(
                    "inline policy {pname} differs from the expected document"
                )),
            ),
            Some(_) => {}
        }
    }
    let arns = detail.attached_arns();
    for arn in &spec.managed {
        if !arns.contains(&arn.as_str()) {
            parts.push(
                Check::new(State::Drifted, vec![attach(aws, n, arn)])
                    .note(format!("policy {arn} is not attached")),
            );
        }
    }
    parts.push(c);
    Ok(Check::merge(parts))
}

fn show(v: &[String]) -> String {
    if v.is_empty() {
        "no ServiceAccount".to_string()
    } else {
        v.join(", ")
    }
}

fn put_inline(aws: &AwsOpts, role: &str, pname: &str, doc: &Value) -> Action {
    Action::new(
        format!("put inline policy {pname}"),
        iam::put_role_policy(aws, role, pname, doc),
    )
    .doc(pname, doc)
}

fn attach(aws: &AwsOpts, role: &str, arn: &str) -> Action {
    Action::new(
        format!("attach {}", arn.rsplit('/').next().unwrap_or(arn)),
        iam::attach_role_policy(aws, role, arn),
    )
}

/// Checks a customer-managed policy: existence and its default version's document.
pub(crate) fn policy_check(
    env: &StepEnv,
    name: &str,
    arn: &str,
    doc: &Value,
    description: &str,
    tags: &[(String, String)],
) -> Result<Check> {
    let aws = &env.ctx.aws;
    let Some(current) = env.policy(name, arn)? else {
        return Ok(Check::new(
            State::Missing,
            vec![Action::new(
                format!("create policy {name}"),
                iam::create_policy(aws, name, doc, description, tags),
            )
            .doc(name, doc)],
        ));
    };
    if same_policy(&current.default_document(), doc) {
        return Ok(Check::satisfied());
    }
    let mut actions = Vec::new();
    // IAM keeps at most five versions; make room by deleting the oldest non-default one.
    let versions = &current.policy_version_list;
    let mut old: Vec<&str> = versions
        .iter()
        .filter(|v| !v.is_default_version)
        .map(|v| v.version_id.as_str())
        .collect();
    if versions.len() >= 5 {
        old.sort_by_key(|v| v.trim_start_matches('v').parse::<u32>().unwrap_or(0));
        if let Some(oldest) = old.first() {
            actions.push(Action::new(
                format!("delete old version {oldest} of {name}"),
                iam::delete_policy_version(aws, name, arn, oldest),
            ));
        }
    }
    actions.push(
        Action::new(
            format!("set a corrected default version of {name}"),
            iam::create_policy_version(aws, name, arn, doc),
        )
        .doc(name, doc),
    );
    Ok(Check::new(State::Drifted, actions)
        .note(format!("policy {name} differs from the expected document")))
}

/// Checks the cluster's IAM OIDC identity provider.
pub(crate) fn oidc_check(env: &StepEnv, oidc: &Oidc, tags: &[(String, String)]) -> Result<Check> {
    let aws = &env.ctx.aws;
    if !env.offline && env.oidc_provider_exists(&oidc.provider_arn)? {
        return Ok(Check::satisfied());
    }
    Ok(Check::new(
        State::Missing,
        vec![Action::new(
            "create the IAM OIDC provider".to_string(),
            iam::create_open_id_connect_provider(
                aws,
                format!("create the IAM OIDC provider for {}", oidc.issuer),
                &oidc.issuer,
                tags,
            ),
        )],
    ))
}
