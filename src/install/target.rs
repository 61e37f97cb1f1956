//! What an installation is made on: the HyperPod cluster resolved to its EKS cluster, account,
//! OIDC issuer and VPC (guide Step 1), and the kubeconfig entry that reaches it. Shared by setup
//! and teardown.

use serde::Serialize;

use super::trust::Oidc;
use crate::error::{Error, Result};
use crate::exec::private::PrivateDir;
use crate::exec::Cmd;
use crate::plan::{Check, State, StepDef};
use crate::tools::kube::KubeOpts;
use crate::tools::{eks, sagemaker};
use crate::validate;
use crate::Ctx;

/// What an installation is made on, learnt before planning (guide Step 1): the HyperPod and EKS
/// clusters, the account, the OIDC issuer, the VPC, and the kube context every call uses.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub account: String,
    pub hyperpod_arn: String,
    pub eks_cluster: String,
    pub eks_arn: String,
    pub endpoint: Option<String>,
    pub vpc_id: String,
    pub oidc: Oidc,
    /// The kube context every kubectl/helm call uses: `--context`, else the one setup writes.
    pub context: String,
    /// The HyperPod cluster as resolved (instance groups included), handed to what else needs
    /// it in the run (setup's test-model placement check); `None` offline.
    #[serde(skip)]
    pub(crate) hyperpod: Option<sagemaker::HyperPodCluster>,
}

impl Target {
    pub fn context_name(&self) -> String {
        self.context.clone()
    }

    /// The first step of setup's and teardown's plans, `resolve`: an information step saying
    /// what `hyperpod_cluster` resolved to, the EKS cluster and then `notes`.
    pub(crate) fn resolve_step<'a>(
        &'a self,
        title: &str,
        hyperpod_cluster: &'a str,
        notes: Vec<String>,
    ) -> StepDef<'a> {
        StepDef::new("resolve", title, &[], move |_| {
            let resolved = format!(
                "HyperPod cluster {hyperpod_cluster} -> EKS cluster {}",
                self.eks_cluster
            );
            let check = Check::new(State::Info, vec![]).note(resolved);
            Ok(notes.iter().fold(check, |check, n| check.note(n.as_str())))
        })
    }

    /// Placeholders for `--dry-run --offline`: what cannot be known without calls.
    pub fn offline(region: &str, user_context: Option<&str>) -> Self {
        let account = "${ACCOUNT_ID}".to_string();
        let issuer = format!("https://oidc.eks.{}.amazonaws.com/id/${{OIDC_ID}}", region);
        Target {
            hyperpod_arn: format!(
                "arn:aws:sagemaker:{}:{account}:cluster/${{HYPERPOD_CLUSTER_ID}}",
                region
            ),
            eks_cluster: "${EKS_CLUSTER_NAME}".into(),
            eks_arn: format!(
                "arn:aws:eks:{}:{account}:cluster/${{EKS_CLUSTER_NAME}}",
                region
            ),
            endpoint: None,
            vpc_id: "${VPC_ID}".into(),
            oidc: Oidc::new(&account, &issuer),
            context: user_context.map(str::to_string).unwrap_or_else(|| {
                format!(
                    "arn:aws:eks:{}:{account}:cluster/${{EKS_CLUSTER_NAME}}",
                    region
                )
            }),
            account,
            hyperpod: None,
        }
    }
}

/// Guide Step 1: HyperPod cluster -> EKS cluster, account, OIDC issuer, VPC (shared with
/// teardown). The kube context is `user_context`, else the one setup writes (the EKS ARN).
pub(crate) fn resolve(
    ctx: &Ctx,
    hyperpod_cluster: &str,
    user_context: Option<&str>,
) -> Result<Target> {
    ctx.ui.status(
        &format!("Resolving HyperPod cluster {}...", hyperpod_cluster),
        true,
    );
    let hp_cmd = sagemaker::describe_cluster(
        &ctx.aws,
        format!("describe HyperPod cluster {}", hyperpod_cluster),
        hyperpod_cluster,
    )
    .reusable();
    // The account is the clusters' (their ARNs carry it): no `sts get-caller-identity`.
    let hp = sagemaker::cluster(&ctx.runner, &hp_cmd)?;
    let eks_arn = hp.eks_cluster_arn().ok_or_else(|| {
        Error::failed(
            format!(
                "HyperPod cluster {} is not orchestrated by EKS (no Orchestrator.Eks.ClusterArn)",
                hyperpod_cluster
            ),
            Some("this plugin supports EKS-orchestrated HyperPod clusters only".into()),
        )
    })?;
    let eks_name = eks_arn.rsplit('/').next().unwrap_or_default().to_string();
    validate::eks_cluster_name("Orchestrator.Eks.ClusterArn", &eks_name)?;
    let cluster = eks::cluster(&ctx.runner, &eks::describe_cluster(&ctx.aws, &eks_name))?;
    ctx.ui.status_done();
    let issuer = cluster
        .oidc_issuer()
        .map(str::to_string)
        .ok_or_else(|| Error::failed(format!("EKS cluster {eks_name} has no OIDC issuer"), Some("IAM roles for service accounts need the cluster's OIDC issuer; check the cluster in the EKS console".into())))?;
    let vpc_id = cluster.vpc_id().unwrap_or_default().to_string();
    if vpc_id.is_empty() || vpc_id == "None" {
        return Err(Error::failed(format!("EKS cluster {eks_name} reports no VPC id"), Some("the load balancer controller needs the cluster's VPC (cluster.resourcesVpcConfig.vpcId)".into())));
    }
    let account = cluster
        .arn
        .split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            Error::failed(
                format!(
                    "EKS cluster {eks_name} has an ARN without an account: {}",
                    cluster.arn
                ),
                None,
            )
        })?
        .to_string();
    Ok(Target {
        oidc: Oidc::new(&account, &issuer),
        account,
        hyperpod_arn: hp.cluster_arn.clone(),
        eks_cluster: eks_name,
        context: user_context
            .map(str::to_string)
            .unwrap_or_else(|| cluster.arn.clone()),
        eks_arn: cluster.arn,
        endpoint: cluster.endpoint,
        vpc_id,
        hyperpod: Some(hp),
    })
}

/// `aws eks update-kubeconfig` for the cluster, under the context name the facts carry (also
/// used by teardown for its temporary kubeconfig).
pub(crate) fn update_kubeconfig_cmd(ctx: &Ctx, f: &Target, kubeconfig: Option<&str>) -> Cmd {
    eks::update_kubeconfig(
        &ctx.aws,
        format!(
            "write the kubeconfig entry for EKS cluster {}",
            f.eks_cluster
        ),
        &f.eks_cluster,
        Some(&f.context_name()),
        kubeconfig,
    )
    .rewrites_kubeconfig()
}

/// Access to the cluster: `kube`'s kubeconfig file when it has the cluster's context; otherwise a
/// temporary one written by `aws eks update-kubeconfig` (kept while the `PrivateDir` lives), so
/// that nothing is written to the user's kubeconfig before the plan says so.
pub(crate) fn kube_access(
    ctx: &Ctx,
    kube: &KubeOpts,
    facts: &Target,
) -> Result<(KubeOpts, Option<PrivateDir>)> {
    let user = kube.in_context(facts.context.clone());
    // The context alone (the read the run's credential makes too): present when kubectl finds it.
    if let Some(v) = crate::tools::kube::context_view(&ctx.runner, &user) {
        if v["contexts"][0]["name"] == facts.context.as_str() {
            return Ok((user, None));
        }
    }
    let dir = PrivateDir::new("create a temporary kubeconfig")?;
    let path = dir.file("kubeconfig").display().to_string();
    let mut cmd = update_kubeconfig_cmd(ctx, facts, Some(&path));
    cmd.mutating = false; // writes only a temporary file
    cmd.purpose = format!(
        "write a temporary kubeconfig for EKS cluster {}",
        facts.eks_cluster
    );
    let ran = ctx.runner.run(&cmd);
    dir.seal("kubeconfig");
    ran?;
    Ok((
        KubeOpts {
            kubeconfig: Some(path),
            context: Some(facts.context.clone()),
        },
        Some(dir),
    ))
}
