//! Whether the S3 CSI driver can read an S3-sourced model's bucket, before the model is created:
//! the driver's role (its ServiceAccount `kube-system/s3-csi-driver-sa`'s annotation) must be
//! allowed `s3:ListBucket` on the bucket and `s3:GetObject` on the model's objects by its
//! attached and inline policies. moto has no `iam simulate-principal-policy`, so the policies
//! are read and evaluated here (`evaluate`: explicit Deny wins, `*`/`?` wildcards, `NotAction`,
//! `NotResource`; a statement with a Condition is not counted as an Allow, and is as a Deny).
//! When the role cannot read it, the error names the setup command that grants it.

use serde_json::Value;

use super::model::Model;
use crate::error::{Error, Result};
use crate::install::names::S3_CSI_SA;
use crate::tools::aws;
use crate::tools::iam::{self, policy_document, GetPolicy, GetPolicyVersion};
use crate::tools::kube::{str_at, KubeOpts};
use crate::Ctx;

/// An S3 model's bucket and the key prefix of its files (`modelLocation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelBucket {
    pub bucket: String,
    pub prefix: String,
}

impl ModelBucket {
    /// The two requests the driver makes: (action, resource ARN).
    pub(crate) fn requests(&self) -> [(&'static str, String); 2] {
        let prefix = self.prefix.trim_matches('/');
        let objects = if prefix.is_empty() {
            format!("arn:aws:s3:::{}/*", self.bucket)
        } else {
            format!("arn:aws:s3:::{}/{prefix}/*", self.bucket)
        };
        [
            ("s3:ListBucket", format!("arn:aws:s3:::{}", self.bucket)),
            ("s3:GetObject", objects),
        ]
    }
}

/// The bucket of a model whose source is S3.
pub(crate) fn model_bucket(model: &Model) -> Option<ModelBucket> {
    let src = model.s3_bucket()?;
    Some(ModelBucket {
        bucket: src.bucket.clone()?,
        prefix: src.location.clone().unwrap_or_default(),
    })
}

/// The S3 CSI driver's ServiceAccount, if there is one.
pub(crate) fn csi_service_account(ctx: &Ctx, kube: &KubeOpts) -> Result<Option<Value>> {
    kube.get(
        &ctx.runner,
        "serviceaccount",
        S3_CSI_SA.name,
        Some(S3_CSI_SA.namespace),
    )
}

/// What the driver's role may do with the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    Readable,
    /// Not known: no S3 CSI driver ServiceAccount, or one that names no IAM role (installed
    /// some other way, e.g. with EKS Pod Identity). Said, not refused.
    Unchecked(String),
    /// The ServiceAccount names a role that does not exist.
    NoRole(String),
    /// The role exists; these requests are not allowed.
    Denied {
        role: String,
        missing: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Allow,
    /// An explicit Deny.
    Deny,
    /// No statement allows it.
    Implicit,
}

fn as_list(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a statement's action and resource parts cover the request.
fn covers(st: &Value, action: &str, resource: &str) -> bool {
    let action_l = action.to_ascii_lowercase();
    let act = |list: Vec<&str>| {
        list.iter()
            .any(|p| glob(&p.to_ascii_lowercase(), &action_l))
    };
    let action_ok = match (st.get("Action"), st.get("NotAction")) {
        (Some(a), _) => act(as_list(a)),
        (None, Some(n)) => !act(as_list(n)),
        (None, None) => false,
    };
    let res = |list: Vec<&str>| list.iter().any(|p| glob(p, resource));
    let resource_ok = match (st.get("Resource"), st.get("NotResource")) {
        (Some(r), _) => res(as_list(r)),
        (None, Some(n)) => !res(as_list(n)),
        (None, None) => false,
    };
    action_ok && resource_ok
}

/// The decision of identity policies `docs` on one request.
pub(crate) fn evaluate(docs: &[Value], action: &str, resource: &str) -> Decision {
    let mut allowed = false;
    for doc in docs {
        let statements = match &doc["Statement"] {
            Value::Array(a) => a.clone(),
            s @ Value::Object(_) => vec![s.clone()],
            _ => Vec::new(),
        };
        for st in &statements {
            if !covers(st, action, resource) {
                continue;
            }
            let conditional = st.get("Condition").is_some_and(|c| !c.is_null());
            match st["Effect"].as_str() {
                Some("Deny") => return Decision::Deny,
                Some("Allow") if !conditional => allowed = true,
                _ => {}
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::Implicit
    }
}

/// What `docs` leave out of `b`'s requests: `action on resource (reason)`.
pub(crate) fn missing(docs: &[Value], b: &ModelBucket) -> Vec<String> {
    b.requests()
        .iter()
        .filter_map(|(a, r)| match evaluate(docs, a, r) {
            Decision::Allow => None,
            Decision::Deny => Some(format!("{a} on {r} (explicitly denied)")),
            Decision::Implicit => Some(format!("{a} on {r}")),
        })
        .collect()
}

fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn parallel<T: Send>(jobs: Vec<Box<dyn FnOnce() -> Result<T> + Send + '_>>) -> Result<Vec<T>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.into_iter().map(|j| s.spawn(j)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::failed("an IAM read panicked", None)))
            })
            .collect()
    })
}

/// Reads the role's policies (the lists, then every document, each wave in parallel) and
/// evaluates the bucket's requests.
pub(crate) fn role_can_read(ctx: &Ctx, sa: Option<&Value>, b: &ModelBucket) -> Result<Access> {
    let Some(sa) = sa else {
        return Ok(Access::Unchecked(format!(
            "bucket {} was not checked: the cluster has no S3 CSI driver ServiceAccount {}/{} \
             (`kubectl hyperpod doctor` checks the driver)",
            b.bucket, S3_CSI_SA.namespace, S3_CSI_SA.name
        )));
    };
    let Some(arn) = str_at(sa, "/metadata/annotations/eks.amazonaws.com~1role-arn") else {
        return Ok(Access::Unchecked(format!(
            "bucket {} was not checked: ServiceAccount {}/{} names no IAM role",
            b.bucket, S3_CSI_SA.namespace, S3_CSI_SA.name
        )));
    };
    let role = role_name(arn).to_string();
    let (runner, opts) = (&ctx.runner, &ctx.aws);
    let Some(detail) = iam::role_detail(runner, opts, &role)? else {
        return Ok(Access::NoRole(format!(
            "the S3 CSI driver's role {role} does not exist"
        )));
    };
    let mut docs: Vec<Value> = detail
        .role_policy_list
        .iter()
        .map(|p| policy_document(&p.policy_document))
        .collect();
    let mut jobs: Vec<Box<dyn FnOnce() -> Result<Option<Value>> + Send + '_>> = Vec::new();
    for parn in detail.attached_arns() {
        let parn = parn.to_string();
        jobs.push(Box::new(move || {
            if !iam::is_aws_managed(&parn) {
                // The account's own policies came with the role, in one answer.
                return Ok(
                    iam::policy_detail(runner, opts, &parn, &parn)?.map(|p| p.default_document())
                );
            }
            let Some(pol) =
                aws::read_opt::<GetPolicy>(runner, &iam::get_policy(opts, &parn, &parn))?
            else {
                return Ok(None);
            };
            let getv = iam::get_policy_version(
                opts,
                format!("read IAM policy {parn}'s document"),
                &parn,
                &pol.policy.default_version_id,
            );
            Ok(aws::read_opt::<GetPolicyVersion>(runner, &getv)?
                .map(|v| policy_document(&v.policy_version.document)))
        }));
    }
    docs.extend(parallel(jobs)?.into_iter().flatten());
    let missing = missing(&docs, b);
    Ok(if missing.is_empty() {
        Access::Readable
    } else {
        Access::Denied { role, missing }
    })
}

/// The operator's TLS bucket, as setup gave it (for the setup command of the error): the Helm
/// release's values, else the EKS add-on's configuration. Read only when the check fails.
fn tls_bucket(ctx: &Ctx, kube: &KubeOpts, eks_cluster: Option<&str>) -> Option<String> {
    use crate::install::names::{HELM_NAMESPACE, HELM_RELEASE};
    let helm = crate::tools::helm::get_values(
        kube,
        "read the operator's Helm values (its TLS bucket)",
        HELM_RELEASE,
        HELM_NAMESPACE,
    );
    let from_helm = ctx
        .runner
        .run_unchecked(&helm)
        .ok()
        .filter(|o| o.success())
        .and_then(|o| serde_json::from_str::<Value>(&o.stdout).ok())
        .and_then(|v| v["tlsCertificateS3Bucket"].as_str().map(str::to_string));
    let bucket = from_helm.or_else(|| {
        let eks = eks_cluster?;
        let addon = crate::tools::eks::addon(
            &ctx.runner,
            &ctx.aws,
            eks,
            crate::install::names::OPERATOR_ADDON,
        )
        .ok()??;
        let cfg: Value = serde_json::from_str(addon.configuration_values.as_deref()?).ok()?;
        cfg["tlsCertificateS3Bucket"].as_str().map(str::to_string)
    })?;
    Some(bucket.trim_start_matches("s3://").to_string())
}

/// Refuses the model when the driver cannot read its bucket, with the command that grants it;
/// returns the note of a bucket it could not check.
pub(crate) fn judge(
    ctx: &Ctx,
    kube: &KubeOpts,
    b: &ModelBucket,
    access: Access,
    hyperpod_cluster: Option<&str>,
    eks_cluster: Option<&str>,
) -> Result<Option<String>> {
    let (why, iam_only) = match access {
        Access::Readable => return Ok(None),
        Access::Unchecked(note) => return Ok(Some(note)),
        Access::NoRole(why) => (why, ""),
        Access::Denied { role, missing } => (
            format!(
                "the S3 CSI driver's role {role} may not read it: no {}",
                missing.join(", no ")
            ),
            " --iam-only",
        ),
    };
    let cluster = hyperpod_cluster.unwrap_or("<hyperpod-cluster>");
    let tls = tls_bucket(ctx, kube, eks_cluster).unwrap_or_else(|| "<tls-bucket>".into());
    let bucket = &b.bucket;
    let region = ctx
        .aws
        .region
        .as_deref()
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default();
    Err(Error::invalid(
        "--s3-bucket",
        format!(
            "the model's files in bucket {bucket} cannot be mounted: {why}; grant it with \
             `kubectl hyperpod setup --hyperpod-cluster {cluster} --s3-bucket {tls} --model-bucket {bucket}{iam_only}{region}` \
             (or pass --skip-placement-check)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::kind::ModelKind;
    use serde_json::json;

    fn bucket() -> ModelBucket {
        ModelBucket {
            bucket: "models".into(),
            prefix: "llama/8b/".into(),
        }
    }

    fn allow(action: Value, resource: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    #[test]
    fn wildcards_match_as_iam_matches() {
        assert!(glob("s3:Get*", "s3:GetObject"));
        assert!(glob("arn:aws:s3:::mod?ls", "arn:aws:s3:::models"));
        assert!(glob("*", "anything"));
        assert!(glob(
            "arn:aws:s3:::models/*",
            "arn:aws:s3:::models/llama/8b/*"
        ));
        assert!(!glob(
            "arn:aws:s3:::models/other/*",
            "arn:aws:s3:::models/llama/8b/*"
        ));
        assert!(!glob("arn:aws:s3:::models", "arn:aws:s3:::models-2"));
        assert!(glob("arn:aws:s3:::models*", "arn:aws:s3:::models-2"));
    }

    #[test]
    fn both_requests_must_be_allowed() {
        let b = bucket();
        let full = allow(
            json!(["s3:ListBucket", "s3:GetObject"]),
            json!(["arn:aws:s3:::models", "arn:aws:s3:::models/*"]),
        );
        assert!(missing(std::slice::from_ref(&full), &b).is_empty());
        // Actions are case-insensitive, and s3:* covers both.
        let star = allow(json!("S3:*"), json!("*"));
        assert!(missing(&[star], &b).is_empty());
        // Only the objects: ListBucket is missing.
        let objects = allow(json!("s3:GetObject"), json!("arn:aws:s3:::models/*"));
        assert_eq!(
            missing(&[objects], &b),
            ["s3:ListBucket on arn:aws:s3:::models"]
        );
        // Another bucket grants nothing here.
        let other = allow(
            json!("s3:*"),
            json!(["arn:aws:s3:::other", "arn:aws:s3:::other/*"]),
        );
        assert_eq!(missing(&[other], &b).len(), 2);
        // A prefix that is not the model's.
        let prefix = allow(
            json!(["s3:ListBucket", "s3:GetObject"]),
            json!(["arn:aws:s3:::models", "arn:aws:s3:::models/mistral/*"]),
        );
        assert_eq!(
            missing(&[prefix], &b),
            ["s3:GetObject on arn:aws:s3:::models/llama/8b/*"]
        );
    }

    #[test]
    fn an_explicit_deny_wins_and_conditions_do_not_allow() {
        let b = bucket();
        let full = allow(json!("s3:*"), json!("*"));
        let deny = json!({"Statement": {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"}});
        assert_eq!(
            missing(&[full, deny], &b),
            ["s3:GetObject on arn:aws:s3:::models/llama/8b/* (explicitly denied)"]
        );
        let conditional = json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]});
        assert_eq!(missing(&[conditional], &b).len(), 2);
        assert_eq!(missing(&[], &b).len(), 2);
    }

    #[test]
    fn not_action_and_not_resource() {
        let b = bucket();
        let all_but_delete =
            json!({"Statement": [{"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}]});
        assert!(missing(&[all_but_delete], &b).is_empty());
        let all_but_reads = json!({"Statement": [{"Effect": "Allow", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "*"}]});
        assert_eq!(missing(&[all_but_reads], &b).len(), 2);
        let not_this_bucket = json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::models", "arn:aws:s3:::models/*"]}]});
        assert_eq!(missing(&[not_this_bucket], &b).len(), 2);
        let deny_elsewhere = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::models*"}]});
        let full = allow(json!("s3:*"), json!("*"));
        assert!(missing(&[full, deny_elsewhere], &b).is_empty());
    }

    #[test]
    fn the_bucket_comes_from_an_s3_source_only() {
        let r = json!({"spec": {"modelSourceConfig": {"modelSourceType": "s3", "modelLocation": "m/",
            "s3Storage": {"bucketName": "s3://models", "region": "us-west-2"}}}});
        assert_eq!(
            model_bucket(&Model::read_as(ModelKind::InferenceEndpointConfig, &r)),
            Some(ModelBucket {
                bucket: "models".into(),
                prefix: "m/".into()
            })
        );
        assert_eq!(bucket().requests()[1].1, "arn:aws:s3:::models/llama/8b/*");
        let fsx = json!({"spec": {"modelSourceConfig": {"modelSourceType": "fsx"}}});
        assert_eq!(
            model_bucket(&Model::read_as(ModelKind::InferenceEndpointConfig, &fsx)),
            None
        );
    }
}
