//! IAM building blocks shared by setup's steps (and usable by doctor and teardown): trust
//! documents, policy comparison, and checks for roles, managed policies and the OIDC provider.

use serde_json::{json, Value};

use super::plan::{Action, Check, State, StepEnv};
use crate::error::Result;
use crate::exec::Cmd;
use crate::render;
use crate::tools::aws::{self, iam_tags_arg, policy_document, AwsOpts};

/// The cluster's OIDC identity, as IAM needs it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Oidc {
    /// `https://oidc.eks.<region>.amazonaws.com/id/<ID>`
    pub issuer: String,
    /// The issuer without `https://` (the condition key prefix).
    pub host: String,
    pub provider_arn: String,
}

impl Oidc {
    pub fn new(account: &str, issuer: &str) -> Self {
        let host = issuer
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string();
        Oidc {
            issuer: issuer.to_string(),
            provider_arn: format!("arn:aws:iam::{account}:oidc-provider/{host}"),
            host,
        }
    }
}

/// Renders the IRSA trust policy for exactly one subject (or a StringLike pattern).
pub fn trust_policy(
    oidc: &Oidc,
    subject: &str,
    like: bool,
    trust_sagemaker: bool,
) -> Result<Value> {
    render::render_json(
        "iam/irsa-trust.json.j2",
        &json!({
            "oidc_provider_arn": oidc.provider_arn,
            "oidc_host": oidc.host,
            "subject": subject,
            "sub_like": like,
            "trust_sagemaker": trust_sagemaker,
        }),
    )
}

/// The `:sub` values a trust policy allows (StringEquals and StringLike), for messages and checks.
pub fn trust_subjects(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for st in statements(doc) {
        let Some(cond) = st.get("Condition").and_then(Value::as_object) else {
            continue;
        };
        for (_op, kv) in cond {
            let Some(kv) = kv.as_object() else { continue };
            for (k, v) in kv {
                if k.ends_with(":sub") {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Array(a) => {
                            out.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// True when a subject pattern (IAM StringLike: `*` and `?`) matches the ServiceAccount subject.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    fn m(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], s) || (!s.is_empty() && m(p, &s[1..])),
            (Some(b'?'), Some(_)) => m(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), subject.as_bytes())
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Normalises a policy document so equal policies compare equal: one-element lists become
/// scalars, lists of scalars are sorted, object key order is ignored.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.len() == 1 => normalize(&a[0]),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(normalize).collect();
            items.sort_by_key(|x| x.to_string());
            Value::Array(items)
        }
        Value::Object(m) => {
            let mut sorted: Vec<(&String, &Value)> = m.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), normalize(v)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

pub fn same_policy(a: &Value, b: &Value) -> bool {
    normalize(&policy_document(a)) == normalize(&policy_document(b))
}

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

/// Runs a read; `Ok(None)` when the thing does not exist.
pub(crate) fn read_opt(env: &StepEnv, cmd: &Cmd) -> Result<Option<Value>> {
    if env.offline {
        return Ok(None);
    }
    let out = env.ctx.runner.run_unchecked(cmd)?;
    if out.success() {
        return crate::exec::parse_json(cmd, &out.stdout).map(Some);
    }
    if aws::is_not_found(&out) {
        return Ok(None);
    }
    Err(crate::exec::command_error(cmd, &out))
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
    let get = aws_cmd(
        aws,
        format!("read IAM role {n}"),
        &["iam", "get-role", "--role-name", n],
    );
    let Some(found) = read_opt(env, &get)? else {
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
    let role = &found["Role"];
    let mut parts = Vec::new();
    let mut c = Check::satisfied();
    if !is_ours(&role["Tags"]) {
        c = c.note(format!("role {n} was not created by kubectl-hyperpod: setup keeps it in line, teardown will leave it"));
    }
    let current_trust = policy_document(&role["AssumeRolePolicyDocument"]);
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
        match read_opt(env, &get)? {
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
        let attached = read_opt(env, &list)?.unwrap_or(Value::Null);
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
    let get = aws.cmd(
        format!("read IAM policy {name}"),
        &["iam", "get-policy", "--policy-arn", arn],
    );
    let Some(found) = read_opt(env, &get)? else {
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
    let version = found["Policy"]["DefaultVersionId"]
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
    let current = read_opt(env, &getv)?.unwrap_or(Value::Null);
    if same_policy(&current["PolicyVersion"]["Document"], doc) {
        return Ok(Check::satisfied());
    }
    let mut actions = Vec::new();
    // IAM keeps at most five versions; make room by deleting the oldest non-default one.
    let listv = aws.cmd(
        format!("list versions of IAM policy {name}"),
        &["iam", "list-policy-versions", "--policy-arn", arn],
    );
    let versions = read_opt(env, &listv)?.unwrap_or(Value::Null);
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

/// Whether the account has the IAM OIDC identity provider `arn`.
pub fn oidc_provider_exists(env: &StepEnv, arn: &str) -> Result<bool> {
    let list = env.ctx.aws.cmd(
        "list IAM OIDC identity providers",
        &["iam", "list-open-id-connect-providers"],
    );
    let v: Value = env.ctx.runner.json(&list)?;
    Ok(v["OpenIDConnectProviderList"]
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p["Arn"] == arn)))
}

/// Checks the cluster's IAM OIDC identity provider.
pub fn oidc_check(env: &StepEnv, oidc: &Oidc, tags: &[(String, String)]) -> Result<Check> {
    let aws = &env.ctx.aws;
    if !env.offline && oidc_provider_exists(env, &oidc.provider_arn)? {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_names_exactly_one_service_account() {
        let o = Oidc::new(
            "123456789012",
            "https://oidc.eks.us-west-2.amazonaws.com/id/ABC",
        );
        let t = trust_policy(&o, "system:serviceaccount:ns:sa", false, true).unwrap();
        assert_eq!(trust_subjects(&t), ["system:serviceaccount:ns:sa"]);
        assert_eq!(
            t["Statement"][0]["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC"
        );
        assert_eq!(
            t["Statement"][0]["Condition"]["StringEquals"]
                ["oidc.eks.us-west-2.amazonaws.com/id/ABC:aud"],
            "sts.amazonaws.com"
        );
        assert_eq!(
            t["Statement"][1]["Principal"]["Service"],
            "sagemaker.amazonaws.com"
        );
        let like = trust_policy(&o, "system:serviceaccount:*:x*", true, false).unwrap();
        assert!(like["Statement"][0]["Condition"]["StringLike"].is_object());
        assert_eq!(like["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn policies_compare_by_meaning() {
        let a = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:B", "s3:A"], "Resource": ["*"]}]});
        let b = json!({"Statement": {"Resource": "*", "Action": ["s3:A", "s3:B"], "Effect": "Allow"}, "Version": "2012-10-17"});
        assert!(same_policy(&a, &b));
        let c = json!({"Statement": {"Resource": "*", "Action": ["s3:A"], "Effect": "Allow"}, "Version": "2012-10-17"});
        assert!(!same_policy(&a, &c));
    }

    #[test]
    fn string_like_matching() {
        assert!(subject_matches(
            "system:serviceaccount:*:*",
            "system:serviceaccount:a:b"
        ));
        assert!(subject_matches(
            "system:serviceaccount:*:hyperpod-inference-service-account*",
            "system:serviceaccount:ns:hyperpod-inference-service-account-x"
        ));
        assert!(!subject_matches(
            "system:serviceaccount:kube-system:x",
            "system:serviceaccount:kube-system:y"
        ));
    }
}
