//! `kubectl hyperpod teardown`: flags and their conversion into a `TeardownConfig`; printing the
//! plan, asking for confirmation, and reporting what was removed and what was left in place.

use std::time::Duration;

use clap::Args;
use serde_json::json;

use crate::cli::setup::parse_duration;
use crate::error::{Error, Result};
use crate::setup::names::NameOverrides;
use crate::setup::plan::Plan;
use crate::teardown::{ModelPolicy, Outcome, Teardown, TeardownConfig};
use crate::ui::Format;
use crate::Ctx;

pub const EXAMPLES: &str = "Examples:
  # See what would be removed and what would be left in place (read-only)
  kubectl hyperpod teardown --hyperpod-cluster my-hp --region us-west-2 --dry-run

  # Remove everything setup created, deleting any deployed models first
  kubectl hyperpod teardown --hyperpod-cluster my-hp --region us-west-2 --delete-models --yes

  # Remove the cluster side but keep the IAM roles and policies
  kubectl hyperpod teardown --hyperpod-cluster my-hp --keep-iam --yes

  # Everything, including the cluster's IAM OIDC provider (if setup created it)
  kubectl hyperpod teardown --hyperpod-cluster my-hp --delete-models --delete-oidc-provider --yes";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct TeardownArgs {
    /// Name of the SageMaker HyperPod cluster setup ran for
    #[arg(long, value_name = "NAME")]
    pub hyperpod_cluster: String,
    /// Delete model resources (JumpStartModel, InferenceEndpointConfig) in every namespace first,
    /// waiting until the operator has released their load balancers
    #[arg(long, conflicts_with = "keep_models")]
    pub delete_models: bool,
    /// Keep model resources; while any exist, the operator and what it runs on are kept too
    #[arg(long)]
    pub keep_models: bool,
    /// Keep the IAM roles, policies and OIDC provider
    #[arg(long)]
    pub keep_iam: bool,
    /// Also delete the cluster's IAM OIDC provider (only if setup created it; other workloads may use it)
    #[arg(long, conflicts_with = "keep_iam")]
    pub delete_oidc_provider: bool,
    /// Deadline of each wait (models released, helm uninstall, add-on deleted, namespace gone), e.g. 600s, 10m
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Name of the inference operator role, if setup was given one [default: HyperpodInferenceRole-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub operator_role_name: Option<String>,
    /// Name of the load balancer controller role [default: aws-load-balancer-controller-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub alb_role_name: Option<String>,
    /// Name of the load balancer controller policy [default: AWSLoadBalancerControllerIAMPolicy-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub alb_policy_name: Option<String>,
    /// Name of the S3 CSI driver role [default: SM_HP_S3_CSI_ROLE-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub s3_csi_role_name: Option<String>,
    /// Name of the S3 mountpoint policy [default: S3MountpointAccessPolicy-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub s3_policy_name: Option<String>,
    /// Name of the KEDA operator role [default: keda-operator-role-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub keda_role_name: Option<String>,
    /// Name of the FSx CSI driver role [default: SM_HP_FSX_CSI_ROLE-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub fsx_csi_role_name: Option<String>,
    /// Name of the JumpStart gated-model role [default: HyperpodGatedModelRole-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub gated_model_role_name: Option<String>,
}

impl TeardownArgs {
    /// Validates every value and builds the library configuration. No command runs before this.
    pub fn to_config(&self, ctx: &Ctx) -> Result<TeardownConfig> {
        let region = ctx.aws.region.clone().ok_or_else(|| {
            Error::invalid(
                "--region",
                "is required (or set AWS_REGION / AWS_DEFAULT_REGION)",
            )
        })?;
        let mut c = TeardownConfig::new(&self.hyperpod_cluster, &region)?;
        c.models = match (self.delete_models, self.keep_models) {
            (true, _) => ModelPolicy::Delete,
            (_, true) => ModelPolicy::Keep,
            _ => ModelPolicy::Refuse,
        };
        c.keep_iam = self.keep_iam;
        c.delete_oidc_provider = self.delete_oidc_provider;
        c.wait_timeout = self.timeout;
        c.names = NameOverrides {
            operator_role: self.operator_role_name.clone(),
            alb_role: self.alb_role_name.clone(),
            alb_policy: self.alb_policy_name.clone(),
            s3_role: self.s3_csi_role_name.clone(),
            s3_policy: self.s3_policy_name.clone(),
            keda_role: self.keda_role_name.clone(),
            fsx_role: self.fsx_csi_role_name.clone(),
            gated_role: self.gated_model_role_name.clone(),
        };
        crate::setup::names::Names::derive(&c.hyperpod_cluster, &c.names)?;
        Ok(c)
    }
}

pub fn run(args: TeardownArgs, ctx: &Ctx) -> Result<i32> {
    let config = args.to_config(ctx)?;
    let teardown = Teardown::new(ctx, config);
    let confirm = |plan: &Plan| {
        super::confirm_plan(
            ctx,
            plan,
            "remove things",
            "Remove what these {n} step(s) list?",
        )
    };
    let outcome = teardown.run(&confirm)?;
    print_outcome(ctx, &outcome)?;
    Ok(0)
}

fn print_outcome(ctx: &Ctx, o: &Outcome) -> Result<()> {
    let ui = &ctx.ui;
    let dry = o.report.is_none();
    let data = json!({
        "hyperpod_cluster": o.hyperpod_cluster,
        "dry_run": dry,
        "changed": o.report.as_ref().map(|r| r.changed),
        "kept": o.kept,
        "blocked": o.blocked,
        "plan": o.plan,
        "steps": o.report.as_ref().map(|r| &r.steps),
    });
    if ui.format != Format::Text {
        return ui.result(&data, String::new);
    }
    ui.result(&data, || {
        let mut s = String::new();
        let removed = |r: &crate::setup::plan::Report| {
            r.steps.iter().filter(|s| s.outcome == "changed").count()
        };
        match &o.report {
            None => {
                s.push_str(&format!(
                    "Teardown plan for HyperPod cluster {} (EKS {}, account {}, {}):\n",
                    o.hyperpod_cluster,
                    o.facts.eks_cluster,
                    o.facts.account,
                    o.plan.context["region"].as_str().unwrap_or("")
                ));
                s.push_str(&o.plan.render_text(ui));
                let n = o.plan.pending();
                if !o.blocked.is_empty() {
                    s.push_str(&format!(
                        "A real run would refuse: {}\n",
                        o.blocked.join("; ")
                    ));
                }
                s.push_str(&if n == 0 {
                    "Nothing to remove; nothing would change.\n".to_string()
                } else {
                    format!("{n} step(s) would remove things. Dry run: nothing was changed.\n")
                });
            }
            Some(r) if r.changed => s.push_str(&format!(
                "Teardown of {} is complete: {} step(s) removed things.\n",
                o.hyperpod_cluster,
                removed(r)
            )),
            Some(_) => s.push_str(&format!(
                "Nothing to remove for {}; nothing was changed.\n",
                o.hyperpod_cluster
            )),
        }
        if !o.kept.is_empty() {
            s.push_str("Left in place:\n");
            for k in &o.kept {
                s.push_str(&format!("  - {k}\n"));
            }
        }
        s
    })
}
