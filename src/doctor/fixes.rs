//! The fixes several checks share (applied by `apply_fixes`), built as exact commands with the
//! user's options forwarded (`--region`/`--profile` to aws, `--kubeconfig`/`--context` to kubectl).

use serde_json::Value;

use super::facts::Facts;
use super::report::Fix;
use crate::exec::Cmd;
use crate::install::trust::{self, Oidc};
use crate::tools::eks::{put_addon, AddonPut};
use crate::tools::iam;
use crate::tools::kube;

use crate::tools::kube::ROLE_ANNOTATION;
pub(crate) const CERT_MANAGER_CRDS_URL: &str =
    "https://github.com/cert-manager/cert-manager/releases/download/v1.18.2/cert-manager.crds.yaml";
pub(crate) const NVIDIA_PLUGIN_URL: &str =
    "https://raw.githubusercontent.com/NVIDIA/k8s-device-plugin/v0.14.5/nvidia-device-plugin.yml";

/// `kubectl hyperpod setup ...` with what doctor knows: setup checks every step and redoes only
/// what is missing or drifted.
pub(crate) fn setup_cmd(f: &Facts) -> Cmd {
    hyperpod_cmd(f, "re-run setup", &["setup"])
}

/// kubectl-hyperpod `<words> --hyperpod-cluster C --s3-bucket B [global flags] --yes`: a
/// command of this plugin that needs the cluster and the TLS bucket (setup, migrate).
pub(crate) fn hyperpod_cmd(f: &Facts, purpose: &str, words: &[&str]) -> Cmd {
    let mut c = kube::plugin(purpose, words).args([
        "--hyperpod-cluster",
        f.cfg
            .hyperpod_cluster
            .as_deref()
            .unwrap_or("<hyperpod-cluster>"),
        "--s3-bucket",
        f.cfg.s3_bucket.as_deref().unwrap_or("<tls-bucket>"),
    ]);
    c = c
        .opt("--region", f.ctx.aws.region.as_deref())
        .opt("--profile", f.ctx.aws.profile.as_deref())
        .opt("--kubeconfig", f.ctx.kube.kubeconfig.as_deref())
        .opt("--context", f.ctx.kube.context.as_deref());
    c.arg("--yes").mutating()
}

pub(crate) fn setup_fix(f: &Facts, summary: &str) -> Fix {
    Fix::manual(summary, vec![setup_cmd(f)])
}

/// The OIDC issuer and provider ARN of the cluster, when the AWS side is known.
pub(crate) fn oidc(f: &Facts) -> Option<Oidc> {
    let account = f.account().ok()?;
    let eks = f.eks().ok()?;
    let mut o = Oidc::new(&account.id, eks.oidc_issuer()?);
    // Oidc::new writes the commercial partition; keep the account's (aws-cn, aws-us-gov).
    if account.partition != "aws" {
        let p = format!("arn:{}:", account.partition);
        o.provider_arn = o.provider_arn.replacen("arn:aws:", &p, 1);
    }
    Some(o)
}

pub(crate) fn role_arn(f: &Facts, role: &str) -> Option<String> {
    let a = f.account().ok()?;
    Some(format!("arn:{}:iam::{}:role/{role}", a.partition, a.id))
}

pub(crate) fn oidc_fix(f: &Facts, o: &Oidc) -> Fix {
    let mut also = String::new();
    if let Ok(eks) = f.eks_name() {
        also = format!(
            " (or: eksctl utils associate-iam-oidc-provider --cluster {eks}{} --approve)",
            f.ctx
                .aws
                .region
                .as_deref()
                .map(|r| format!(" --region {r}"))
                .unwrap_or_default()
        );
    }
    let (k, v) = crate::marks::TAG_MANAGED_BY;
    let mut tags = vec![(k.to_string(), v.to_string())];
    if let Some(c) = &f.cfg.hyperpod_cluster {
        tags.push((crate::marks::TAG_CLUSTER.to_string(), c.clone()));
    }
    Fix::automatic(
        format!("create the IAM OIDC provider for the cluster's issuer{also}"),
        vec![iam::create_open_id_connect_provider(
            &f.ctx.aws, "fix", &o.issuer, &tags,
        )],
    )
}

/// Replaces a role's trust policy with the one setup writes for this ServiceAccount.
pub(crate) fn trust_fix(
    f: &Facts,
    role: &str,
    o: &Oidc,
    sa_subject: &str,
    trust_sagemaker: bool,
    automatic: bool,
) -> Option<Fix> {
    let doc = trust::trust_policy(o, sa_subject, false, trust_sagemaker).ok()?;
    let cmd = iam::update_assume_role_policy(&f.ctx.aws, "fix", role, &doc);
    let summary = format!("make role {role} trust exactly {sa_subject} of this cluster");
    Some(if automatic {
        Fix::automatic(summary, vec![cmd])
    } else {
        Fix::manual(summary, vec![cmd])
    })
}

/// Annotates a ServiceAccount with its role and restarts the workloads that run as it (pods
/// only get credentials for the role they were started with).
pub(crate) fn annotate_fix(
    f: &Facts,
    sa: (&str, &str),
    arn: &str,
    workloads: &[&Value],
    automatic: bool,
) -> Fix {
    let (ns, name) = sa;
    let mut cmds = vec![kube::annotate_service_account(
        &f.ctx.kube,
        "fix",
        (ns, name),
        (ROLE_ANNOTATION, arn),
    )];
    for w in workloads {
        let kind = super::workloads::kind(w).to_ascii_lowercase();
        cmds.push(super::workloads::restart_cmd(&f.ctx.kube, &kind, w));
    }
    let restart = if workloads.is_empty() {
        String::new()
    } else {
        " and restart its pods so they pick the role up".to_string()
    };
    let summary = format!("annotate ServiceAccount {ns}/{name} with {arn}{restart}");
    if automatic {
        Fix::automatic(summary, cmds)
    } else {
        Fix::manual(summary, cmds)
    }
}

/// Creates an EKS add-on, or when it is installed, re-applies it (restoring what was removed).
pub(crate) fn addon_fix(f: &Facts, addon: &str, role_arn: Option<&str>, what: &str) -> Fix {
    let Ok(eks) = f.eks_name() else {
        return setup_fix(f, &format!("install {what} (re-run setup; give --hyperpod-cluster to doctor for the exact EKS add-on commands)"));
    };
    let installed = f
        .addons()
        .map(|a| a.iter().any(|n| n == addon))
        .unwrap_or(false);
    let with = crate::tools::eks::AddonArgs {
        role_arn,
        overwrite: installed,
        ..Default::default()
    };
    let put = if installed {
        AddonPut::Update
    } else {
        AddonPut::Create
    };
    let wait = crate::tools::eks::wait_addon_active(&f.ctx.aws, "fix", &eks, addon).mutating();
    let summary = if installed {
        format!("re-apply the {addon} EKS add-on, which restores {what}")
    } else {
        format!("install {what} as the {addon} EKS add-on")
    };
    Fix::manual(
        summary,
        vec![put_addon(&f.ctx.aws, "fix", put, &eks, addon, &with), wait],
    )
}

/// cert-manager and its CRDs: through the EKS add-on when that is how it was installed (or when
/// nothing is), else by applying the CRDs of the version the chart pins.
pub(crate) fn cert_manager_fix(f: &Facts) -> Fix {
    let addon = f
        .addons()
        .map(|a| a.iter().any(|n| n == "cert-manager"))
        .unwrap_or(false);
    let deployed = f.cluster().ok().is_some_and(|c| {
        c.deployments.iter().any(|d| {
            d["metadata"]["labels"]["app.kubernetes.io/instance"].as_str() == Some("cert-manager")
                || super::workloads::name(d) == "cert-manager"
                || super::workloads::name(d).ends_with("-cert-manager")
        })
    });
    if addon || (!deployed && f.eks_name().is_ok()) {
        return addon_fix(f, "cert-manager", None, "cert-manager and its CRDs");
    }
    Fix::manual(
        "apply the cert-manager v1.18.2 CRDs (the version the operator chart installs)",
        vec![kube::apply_url(&f.ctx.kube, "fix", CERT_MANAGER_CRDS_URL)],
    )
}

/// Points kubectl at the EKS cluster.
pub(crate) fn kubeconfig_fix(f: &Facts) -> Option<Fix> {
    let eks = f.eks_name().ok()?;
    Some(Fix::manual(
        format!("write a kubeconfig context for EKS cluster {eks} and make it current"),
        vec![crate::tools::eks::update_kubeconfig(
            &f.ctx.aws,
            "fix",
            &eks,
            None,
            f.ctx.kube.kubeconfig.as_deref(),
        )],
    ))
}

/// The ServiceAccount subject string.
pub(crate) fn subject(sa: (&str, &str)) -> String {
    format!("system:serviceaccount:{}:{}", sa.0, sa.1)
}
