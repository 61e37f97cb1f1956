//! Setup's IAM checks: roles (trust, inline and managed policies), customer-managed policies and
//! the OIDC provider, each saying what differs and the `aws iam` commands that correct it.

use serde_json::Value;

use crate::install::trust::{same_policy, trust_subjects, Oidc};

use crate::error::Result;
use crate::exec::Cmd;
use crate::plan::{Action, Check, State, StepEnv};
use crate::tools::aws::{iam_tags_arg, AwsOpts};

/// A role as setup wants it.
pub struct RoleSpec {
    pub name: String,
    pub arn: String,
    pub description: String,
    pub trust: Value,
    pub inline: Option<(String, Value)>,
    pub managed: Vec<String>,
    pub tags: Vec<(String, String)>,
}

fn aws_cmd(aws: &AwsOpts, purpose: String, args: &[&str]) -> Cmd {
    aws.cmd(purpose, args)
}

fn is_ours(tags: &Value) -> bool {
    let (k, v) = crate::marks::TAG_MANAGED_BY;
    tags.as_array()
        .map(|a| a.iter().any(|t| t["Key"] == k && t["Value"] == v))
        .unwrap_or(false)
}

/// Checks a role: existence, trust, inline policy, attached managed policies.
pub fn role_check(env: &StepEnv, spec: &RoleSpec) -> Result<Check> {
    let aws = &env.ctx.aws;
    let n = spec.name.as_str();
    let trust_json = spec.trust.to_string();
    let Some(role) = env.get_role(n)? else {
        let mut actions = vec![Action::new(
            format!("create role {n}"),
            aws_cmd(
                aws,
                format!("create IAM role {n}"),
                &[
                    "iam",
                    "create-role",
                    "--role-name",
                    n,
                    "--assume-role-policy-document",
                    &trust_json,
                    "--description",
                    &spec.description,
                    "--tags",
                    &iam_tags_arg(&spec.tags),
                ],
            )
            .mutating(),
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
                aws_cmd(
                    aws,
                    format!("update the trust policy of IAM role {n}"),
                    &[
                        "iam",
                        "update-assume-role-policy",
                        "--role-name",
                        n,
                        "--policy-document",
                        &trust_json,
                    ],
                )
                .mutating(),
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
        let get = aws_cmd(
            aws,
            format!("read inline policy {pname} of role {n}"),
            &[
                "iam",
                "get-role-policy",
                "--role-name",
                n,
                "--policy-name",
                pname,
            ],
        );
        match env.aws_read(&get)? {
            None => parts.push(
                Check::new(State::Drifted, vec![put_inline(aws, n, pname, doc)])
                    .note(format!("inline policy {pname} is missing")),
            ),
            Some(v) if !same_policy(&v["PolicyDocument"], doc) => parts.push(
                Check::new(State::Drifted, vec![put_inline(aws, n, pname, doc)]).note(format!(
                    "inline policy {pname} differs from the expected document"
                )),
            ),
            Some(_) => {}
        }
    }
    if !spec.managed.is_empty() {
        let list = aws_cmd(
            aws,
            format!("list policies attached to role {n}"),
            &["iam", "list-attached-role-policies", "--role-name", n],
        );
        let attached = env.aws_read(&list)?.unwrap_or(Value::Null);
        let arns: Vec<&str> = attached["AttachedPolicies"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["PolicyArn"].as_str()).collect())
            .unwrap_or_default();
        for arn in &spec.managed {
            if !arns.contains(&arn.as_str()) {
                parts.push(
                    Check::new(State::Drifted, vec![attach(aws, n, arn)])
                        .note(format!("policy {arn} is not attached")),
                );
            }
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
        aws.cmd(
            format!("put inline policy {pname} on IAM role {role}"),
            &[
                "iam",
                "put-role-policy",
                "--role-name",
                role,
                "--policy-name",
                pname,
                "--policy-document",
                &doc.to_string(),
            ],
        )
        .mutating(),
    )
    .doc(pname, doc)
}

fn attach(aws: &AwsOpts, role: &str, arn: &str) -> Action {
    Action::new(
        format!("attach {}", arn.rsplit('/').next().unwrap_or(arn)),
        aws.cmd(
            format!("attach {arn} to IAM role {role}"),
            &[
                "iam",
                "attach-role-policy",
                "--role-name",
                role,
                "--policy-arn",
                arn,
            ],
        )
        .mutating(),
    )
}

/// A customer-managed policy's default document, or `None` when there is no such policy (or
/// offline). The reads are kept for the run: one `list-policies` for every policy setup checks,
/// not one `get-policy` each.
pub fn current_policy(env: &StepEnv, name: &str, arn: &str) -> Result<Option<Value>> {
    let aws = &env.ctx.aws;
    let list = aws.cmd(
        "list the account's customer-managed IAM policies",
        &["iam", "list-policies", "--scope", "Local"],
    );
    let listed = env.aws_read(&list)?.unwrap_or(Value::Null);
    let found = listed["Policies"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["Arn"] == arn));
    let Some(found) = found else {
        return Ok(None);
    };
    let version = found["DefaultVersionId"]
        .as_str()
        .unwrap_or("v1")
        .to_string();
    let getv = aws.cmd(
        format!("read the default version of IAM policy {name}"),
        &[
            "iam",
            "get-policy-version",
            "--policy-arn",
            arn,
            "--version-id",
            &version,
        ],
    );
    let current = env.aws_read(&getv)?.unwrap_or(Value::Null);
    Ok(Some(current["PolicyVersion"]["Document"].clone()))
}

/// Checks a customer-managed policy: existence and its default version's document.
pub fn policy_check(
    env: &StepEnv,
    name: &str,
    arn: &str,
    doc: &Value,
    description: &str,
    tags: &[(String, String)],
) -> Result<Check> {
    let aws = &env.ctx.aws;
    let Some(current) = current_policy(env, name, arn)? else {
        return Ok(Check::new(
            State::Missing,
            vec![Action::new(
                format!("create policy {name}"),
                aws.cmd(
                    format!("create IAM policy {name}"),
                    &[
                        "iam",
                        "create-policy",
                        "--policy-name",
                        name,
                        "--policy-document",
                        &doc.to_string(),
                        "--description",
                        description,
                        "--tags",
                        &iam_tags_arg(tags),
                    ],
                )
                .mutating(),
            )
            .doc(name, doc)],
        ));
    };
    if same_policy(&current, doc) {
        return Ok(Check::satisfied());
    }
    let mut actions = Vec::new();
    // IAM keeps at most five versions; make room by deleting the oldest non-default one.
    let listv = aws.cmd(
        format!("list versions of IAM policy {name}"),
        &["iam", "list-policy-versions", "--policy-arn", arn],
    );
    let versions = env.aws_read(&listv)?.unwrap_or(Value::Null);
    let mut old: Vec<&str> = versions["Versions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v["IsDefaultVersion"] != true)
                .filter_map(|v| v["VersionId"].as_str())
                .collect()
        })
        .unwrap_or_default();
    if versions["Versions"]
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0)
        >= 5
    {
        old.sort_by_key(|v| v.trim_start_matches('v').parse::<u32>().unwrap_or(0));
        if let Some(oldest) = old.first() {
            actions.push(Action::new(
                format!("delete old version {oldest} of {name}"),
                aws.cmd(
                    format!("delete version {oldest} of IAM policy {name}"),
                    &[
                        "iam",
                        "delete-policy-version",
                        "--policy-arn",
                        arn,
                        "--version-id",
                        oldest,
                    ],
                )
                .mutating(),
            ));
        }
    }
    actions.push(
        Action::new(
            format!("set a corrected default version of {name}"),
            aws.cmd(
                format!("create a new default version of IAM policy {name}"),
                &[
                    "iam",
                    "create-policy-version",
                    "--policy-arn",
                    arn,
                    "--policy-document",
                    &doc.to_string(),
                    "--set-as-default",
                ],
            )
            .mutating(),
        )
        .doc(name, doc),
    );
    Ok(Check::new(State::Drifted, actions)
        .note(format!("policy {name} differs from the expected document")))
}

/// Checks the cluster's IAM OIDC identity provider.
pub fn oidc_check(env: &StepEnv, oidc: &Oidc, tags: &[(String, String)]) -> Result<Check> {
    let aws = &env.ctx.aws;
    if !env.offline && env.oidc_provider_exists(&oidc.provider_arn)? {
        return Ok(Check::satisfied());
    }
    Ok(Check::new(
        State::Missing,
        vec![Action::new(
            "create the IAM OIDC provider".to_string(),
            aws.cmd(
                format!("create the IAM OIDC provider for {}", oidc.issuer),
                &[
                    "iam",
                    "create-open-id-connect-provider",
                    "--url",
                    &oidc.issuer,
                    "--client-id-list",
                    "sts.amazonaws.com",
                    "--tags",
                    &iam_tags_arg(tags),
                ],
            )
            .mutating(),
        )],
    ))
}
