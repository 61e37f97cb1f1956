//! HP4xx: IAM roles for service accounts: the OIDC provider, each role's trust (against the
//! ServiceAccount that really runs, read from the cluster), and each ServiceAccount's annotation.

use serde_json::Value;

use crate::doctor::facts::{ClusterObjects, Facts};
use crate::doctor::fixes;
use crate::doctor::report::{Fix, Outcome};
use crate::doctor::runner::Problem;
use crate::doctor::workloads;
use crate::error::Error;
use crate::install::names::*;
use crate::install::trust::{judge_trust, trusts_service, Oidc, TrustVerdict};
use crate::install::{role_def, role_defs, Method, RoleId, Subject, WorkloadMatch};
use crate::tools::iam::policy_document;
use crate::tools::kube::str_at;
use crate::tools::kube::ROLE_ANNOTATION;

/// A role and the ServiceAccount that should assume it.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    /// The role (its kebab-case name is the result subject: operator, alb, s3-csi, keda).
    pub key: RoleId,
    pub what: &'static str,
    pub default_sa: ServiceAccountRef,
    /// The role's name (None without --hyperpod-cluster or a --*-role-name flag).
    pub role: Option<String>,
    pub role_flag: &'static str,
    pub trust_sagemaker: bool,
    pub workload: WorkloadMatch,
}

/// The role/ServiceAccount pairs of the installation that a running workload uses (the
/// installation model's roles with a workload).
pub(crate) fn bindings(cfg: &crate::doctor::DoctorConfig) -> crate::error::Result<Vec<Binding>> {
    let names = match &cfg.hyperpod_cluster {
        Some(c) => Some(Names::derive(c, &cfg.overrides)?),
        None => None,
    };
    let o = &cfg.overrides;
    Ok(role_defs(Method::Helm)
        .iter()
        .filter_map(|r| {
            let (Subject::ServiceAccount(sa), Some(workload)) = (r.subject, r.workload) else {
                return None;
            };
            Some(Binding {
                key: r.id,
                what: r.component,
                default_sa: sa,
                role: o
                    .role(r.id)
                    .cloned()
                    .or_else(|| names.as_ref().map(|n| n.role(r.id).name.clone())),
                role_flag: r.flag,
                trust_sagemaker: r.trust_sagemaker,
                workload,
            })
        })
        .collect())
}

/// The binding as the cluster's install has it: on an add-on install, the role its configuration
/// names (unless a flag names one) and the add-on method's trust (doctor's catalog is built
/// before anything is read, with the Helm method's names).
pub(crate) fn as_installed(f: &Facts, b: &Binding) -> Binding {
    let mut b = b.clone();
    if f.cfg.overrides.role(b.key).is_some() {
        return b;
    }
    if let Ok(roles) = f.addon_roles() {
        if let Some((_, name)) = roles.iter().find(|(id, _)| *id == b.key) {
            b.role = Some(name.clone());
            b.trust_sagemaker = role_def(Method::Addon, b.key).trust_sagemaker;
        }
    }
    b
}

/// The ServiceAccount a component really runs as.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedSa<'a> {
    pub namespace: String,
    pub name: String,
    pub object: Option<&'a Value>,
    /// Workloads running as it (restarted after its annotation changes).
    pub workloads: Vec<&'a Value>,
    /// How doctor knows: "Deployment ns/x runs as it", ...
    pub how: String,
}

impl ResolvedSa<'_> {
    pub(crate) fn subject(&self) -> String {
        fixes::subject((&self.namespace, &self.name))
    }
    pub(crate) fn display(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

pub(crate) fn resolve_sa<'a>(objs: &'a ClusterObjects, b: &Binding) -> ResolvedSa<'a> {
    let default_name = b.default_sa.name;
    // Prefer a matching workload that runs as the expected name (a chart may ship helpers too).
    let w = workloads::find(
        objs.workloads()
            .filter(|w| workloads::service_account(w) == default_name),
        &b.workload,
    )
    .or_else(|| workloads::find(objs.workloads(), &b.workload));
    let (ns, name, how) = match w {
        Some(w) => (
            workloads::namespace(w).to_string(),
            workloads::service_account(w).to_string(),
            format!("{} {} runs as it", workloads::kind(w), workloads::ref_of(w)),
        ),
        None => {
            let mut sas: Vec<&Value> = objs
                .serviceaccounts
                .iter()
                .filter(|s| workloads::name(s) == default_name)
                .collect();
            sas.sort_by_key(|s| workloads::namespace(s) != b.default_sa.namespace);
            match sas.first() {
                Some(s) => (
                    workloads::namespace(s).to_string(),
                    default_name.to_string(),
                    format!("no {} workload found; ServiceAccount exists", b.what),
                ),
                None => (
                    b.default_sa.namespace.to_string(),
                    default_name.to_string(),
                    format!(
                        "no {} workload or ServiceAccount found; expected name",
                        b.what
                    ),
                ),
            }
        }
    };
    let using: Vec<&Value> = objs
        .workloads()
        .filter(|w| workloads::namespace(w) == ns && workloads::service_account(w) == name)
        .collect();
    ResolvedSa {
        object: objs.serviceaccount(&ns, &name),
        namespace: ns,
        name,
        workloads: using,
        how,
    }
}

fn need_oidc(f: &Facts) -> Result<Oidc, Problem> {
    fixes::oidc(f).ok_or_else(|| {
        Problem::from(Error::failed(
            "the account or the cluster's OIDC issuer is unknown (see HP201 and HP203)",
            None,
        ))
    })
}

pub(crate) fn oidc_provider(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let o = need_oidc(f)?;
    let providers = f.oidc_providers()?;
    if providers.contains(&o.provider_arn) {
        return Ok(vec![Outcome::pass(format!("{} exists", o.provider_arn))]);
    }
    Ok(vec![Outcome::fail(format!(
        "no IAM OIDC provider for {}: no ServiceAccount of this cluster can assume an IAM role",
        o.issuer
    ))
    .fix(fixes::oidc_fix(f, &o))])
}

pub(crate) fn role_trust(f: &Facts, b: &Binding) -> Result<Vec<Outcome>, Problem> {
    let b = &as_installed(f, b);
    let Some(role) = &b.role else {
        return Ok(vec![Outcome::skip(format!(
            "no role name: give --hyperpod-cluster (or {})",
            b.role_flag
        ))]);
    };
    let o = need_oidc(f)?;
    let Some(r) = f.role(role)? else {
        return Ok(vec![Outcome::fail(format!("role {role} does not exist"))
            .fix(fixes::setup_fix(
                f,
                &format!(
                    "re-run setup to create the {} role (or pass {} if it has another name)",
                    b.what, b.role_flag
                ),
            ))]);
    };
    let cluster = f.cluster();
    let fallback = ClusterObjects::default();
    let (objs, note) = match &cluster {
        Ok(c) => (c.as_ref(), None),
        Err(_) => (
            &fallback,
            Some(
                "the cluster could not be read; assumed the chart's ServiceAccount name"
                    .to_string(),
            ),
        ),
    };
    let sa = resolve_sa(objs, b);
    let subject = sa.subject();
    let doc = policy_document(&r.assume_role_policy_document);
    let detail = format!(
        "ServiceAccount {}: {}",
        sa.display(),
        note.unwrap_or(sa.how.clone())
    );
    let fix = |automatic| fixes::trust_fix(f, role, &o, &subject, b.trust_sagemaker, automatic);
    let out = match judge_trust(&doc, &o.provider_arn, &o.host, &subject) {
        TrustVerdict::Exact if b.trust_sagemaker && !trusts_service(&doc, "sagemaker.amazonaws.com") => {
            Outcome::warn(format!("{role} trusts {subject} but not sagemaker.amazonaws.com, which the operator's SageMaker endpoints need"))
                .maybe_fix(fix(false))
        }
        TrustVerdict::Exact => Outcome::pass(format!("{role} trusts {subject}")),
        TrustVerdict::Broad(p) => Outcome::warn(format!(
            "{role} trusts {p} of this cluster, not only {subject}"
        ))
        .maybe_fix(fix(false)),
        TrustVerdict::WrongSubject(s) => Outcome::fail(format!(
            "{role} trusts {}, but the {} runs as {subject}",
            s.join(", "),
            b.what
        ))
        .maybe_fix(fix(true)),
        TrustVerdict::WrongProvider(p) => Outcome::fail(format!(
            "{role} trusts OIDC provider {}, not this cluster's {}",
            p.join(", "),
            o.provider_arn
        ))
        .maybe_fix(fix(true)),
        TrustVerdict::BadAudience(a) => Outcome::fail(format!(
            "{role} requires token audience {a}; EKS tokens carry sts.amazonaws.com"
        ))
        .maybe_fix(fix(true)),
        TrustVerdict::NoWebIdentity => Outcome::fail(format!(
            "{role} does not allow sts:AssumeRoleWithWebIdentity for this cluster's ServiceAccounts"
        ))
        .maybe_fix(fix(true)),
    };
    Ok(vec![out.detail(detail)])
}

/// The role name in a role ARN (`arn:aws:iam::1:role/path/Name` -> `Name`).
pub(crate) fn role_name_of(arn: &str) -> Option<&str> {
    let rest = arn.split(':').nth(5)?;
    rest.strip_prefix("role/")?
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
}

pub(crate) fn service_account(f: &Facts, b: &Binding) -> Result<Vec<Outcome>, Problem> {
    let b = &as_installed(f, b);
    let objs = f.cluster()?;
    let sa = resolve_sa(&objs, b);
    let shown = sa.display();
    let expected = b
        .role
        .as_ref()
        .and_then(|r| fixes::role_arn(f, r).map(|a| (r.clone(), a)));
    let expected_exists = match &expected {
        Some((r, _)) => f.role(r)?.is_some(),
        None => false,
    };
    let annotate = |automatic: bool| {
        expected.as_ref().map(|(_, arn)| {
            fixes::annotate_fix(
                f,
                (&sa.namespace, &sa.name),
                arn,
                &sa.workloads,
                automatic && expected_exists,
            )
        })
    };
    let detail = sa.how.to_string();
    let Some(obj) = sa.object else {
        let fix = match &expected {
            Some((_, arn)) => Fix::manual(
                format!("create ServiceAccount {shown} annotated with {arn} (or re-run setup)"),
                vec![
                    crate::tools::kube::create_service_account(
                        &f.ctx.kube,
                        "fix",
                        &sa.namespace,
                        &sa.name,
                    ),
                    crate::tools::kube::annotate_service_account(
                        &f.ctx.kube,
                        "fix",
                        (&sa.namespace, &sa.name),
                        (ROLE_ANNOTATION, arn),
                    ),
                ],
            ),
            None => fixes::setup_fix(f, "re-run setup, which creates the ServiceAccounts"),
        };
        return Ok(vec![Outcome::fail(format!(
            "ServiceAccount {shown} does not exist"
        ))
        .detail(detail)
        .fix(fix)]);
    };
    let Some(annotated) = str_at(
        obj,
        &format!(
            "/metadata/annotations/{}",
            ROLE_ANNOTATION.replace('/', "~1")
        ),
    )
    .filter(|a| !a.is_empty()) else {
        let o = Outcome::fail(format!(
            "ServiceAccount {shown} has no {ROLE_ANNOTATION} annotation: the {} gets no AWS credentials",
            b.what
        ))
        .detail(detail);
        return Ok(vec![match annotate(true) {
            Some(fix) => o.fix(fix),
            None => o.fix(Fix::advice(format!(
                "annotate it with the {} role's ARN: kubectl annotate serviceaccount {} -n {} {ROLE_ANNOTATION}=<role-arn> --overwrite (doctor names the ARN when given --hyperpod-cluster)",
                b.what, sa.name, sa.namespace
            ))),
        }]);
    };
    let Some(name) = role_name_of(annotated) else {
        return Ok(vec![Outcome::fail(format!(
            "ServiceAccount {shown} is annotated with {annotated:?}, which is not an IAM role ARN"
        ))
        .detail(detail)
        .maybe_fix(annotate(true))]);
    };
    if let Some((_, arn)) = &expected {
        if annotated == arn {
            return Ok(vec![if expected_exists {
                Outcome::pass(format!("{shown} -> {annotated}"))
            } else {
                Outcome::fail(format!(
                    "{shown} is annotated with {annotated}, which does not exist"
                ))
                .fix(fixes::setup_fix(
                    f,
                    &format!("re-run setup to create the {} role", b.what),
                ))
            }
            .detail(detail)]);
        }
    }
    let exists = f.role(name)?.is_some();
    Ok(vec![match (&expected, exists) {
        (None, true) => Outcome::pass(format!("{shown} -> {annotated}")),
        (None, false) => Outcome::fail(format!("{shown} is annotated with {annotated}, which does not exist")),
        (Some((r, _)), true) => Outcome::warn(format!(
            "{shown} is annotated with {annotated}, not with role {r} that doctor checks (pass {} {name} if that is intended)",
            b.role_flag
        ))
        .maybe_fix(annotate(false)),
        (Some(_), false) => Outcome::fail(format!(
            "{shown} is annotated with {annotated}, which does not exist"
        ))
        .maybe_fix(annotate(true)),
    }
    .detail(detail)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::trust::trust_policy;
    use serde_json::json;

    const ISSUER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/ABC";

    fn oidc() -> Oidc {
        Oidc::new("123456789012", ISSUER)
    }

    #[test]
    fn setup_trust_is_exact() {
        let o = oidc();
        let doc = trust_policy(&o, &OPERATOR_SA.subject(), false, true).unwrap();
        assert_eq!(
            judge_trust(&doc, &o.provider_arn, &o.host, &OPERATOR_SA.subject()),
            TrustVerdict::Exact
        );
        assert!(trusts_service(&doc, "sagemaker.amazonaws.com"));
    }

    #[test]
    fn the_guides_wrong_service_account_is_a_wrong_subject() {
        let o = oidc();
        let wrong = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:{GUIDE_WRONG_OPERATOR_SA}");
        let doc = trust_policy(&o, &wrong, false, true).unwrap();
        assert_eq!(
            judge_trust(&doc, &o.provider_arn, &o.host, &OPERATOR_SA.subject()),
            TrustVerdict::WrongSubject(vec![wrong])
        );
    }

    #[test]
    fn the_guides_wildcard_trust_is_broad() {
        let o = oidc();
        let doc = trust_policy(&o, "system:serviceaccount:*:*", true, false).unwrap();
        assert_eq!(
            judge_trust(&doc, &o.provider_arn, &o.host, &OPERATOR_SA.subject()),
            TrustVerdict::Broad("system:serviceaccount:*:*".into())
        );
        assert!(!trusts_service(&doc, "sagemaker.amazonaws.com"));
    }

    #[test]
    fn another_clusters_provider_and_bad_audiences() {
        let o = oidc();
        let other = Oidc::new(
            "123456789012",
            "https://oidc.eks.us-west-2.amazonaws.com/id/OTHER",
        );
        let doc = trust_policy(&other, &OPERATOR_SA.subject(), false, false).unwrap();
        assert_eq!(
            judge_trust(&doc, &o.provider_arn, &o.host, &OPERATOR_SA.subject()),
            TrustVerdict::WrongProvider(vec![other.provider_arn.clone()])
        );
        let aud = json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": o.provider_arn},
            "Condition": {"StringEquals": {format!("{}:aud", o.host): "something-else"}}}});
        assert_eq!(
            judge_trust(&aud, &o.provider_arn, &o.host, "x"),
            TrustVerdict::BadAudience("something-else".into())
        );
        let none = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}]});
        assert_eq!(
            judge_trust(&none, &o.provider_arn, &o.host, "x"),
            TrustVerdict::NoWebIdentity
        );
    }

    #[test]
    fn the_service_account_that_runs_is_read_from_its_workload() {
        let objs = ClusterObjects::from_items(&[
            json!({"kind": "Deployment", "metadata": {"name": "hyperpod-inference-controller-manager", "namespace": "hyperpod-inference-system"},
                   "spec": {"template": {"spec": {"serviceAccountName": "hyperpod-inference-controller-manager"}}}}),
            json!({"kind": "ServiceAccount", "metadata": {"name": "hyperpod-inference-controller-manager", "namespace": "hyperpod-inference-system"}}),
            json!({"kind": "ServiceAccount", "metadata": {"name": "keda-operator", "namespace": "hyperpod-inference-system"}}),
        ]);
        let cfg = crate::doctor::DoctorConfig {
            hyperpod_cluster: Some("hp".into()),
            ..Default::default()
        };
        let b = bindings(&cfg).unwrap();
        let op = resolve_sa(&objs, &b[0]);
        assert_eq!(
            op.display(),
            "hyperpod-inference-system/hyperpod-inference-controller-manager"
        );
        assert!(op.object.is_some());
        assert_eq!(op.workloads.len(), 1);
        assert_eq!(b[0].role.as_deref(), Some("HyperpodInferenceRole-hp"));
        let keda = resolve_sa(&objs, &b[3]);
        assert_eq!(keda.display(), "hyperpod-inference-system/keda-operator");
        let alb = resolve_sa(&objs, &b[1]);
        assert_eq!(alb.display(), "kube-system/aws-load-balancer-controller");
        assert!(alb.object.is_none());
    }

    #[test]
    fn role_names_come_from_arns() {
        assert_eq!(
            role_name_of("arn:aws:iam::123456789012:role/a/b/Name"),
            Some("Name")
        );
        assert_eq!(role_name_of("arn:aws:iam::123456789012:role/R"), Some("R"));
        assert_eq!(role_name_of("arn:aws:iam::123456789012:user/R"), None);
        assert_eq!(role_name_of("nonsense"), None);
    }
}
