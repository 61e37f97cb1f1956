//! `kubectl hyperpod teardown`: flags and their conversion into a `TeardownConfig`; printing the
//! plan, asking for confirmation, and reporting what was removed and what was left in place.

use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::plan_ui;
use crate::cli::setup::parse_duration;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::teardown::{ModelPolicy, Teardown, TeardownConfig, TeardownOutcome};
use crate::Ctx;

pub(crate) const EXAMPLES: &str = "Examples:
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
    /// Take the cluster's lock even if another run holds it (only when that run is dead)
    #[arg(long)]
    pub force_unlock: bool,
    /// Keep the IAM roles, policies and OIDC provider
    #[arg(long)]
    pub keep_iam: bool,
    /// Also delete the cluster's IAM OIDC provider (only if setup created it; other workloads may use it)
    #[arg(long, conflicts_with = "keep_iam")]
    pub delete_oidc_provider: bool,
    /// Deadline of each wait (models released, helm uninstall, add-on deleted, namespace gone), e.g. 600s, 10m
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub names: super::IamNameFlags,
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
        c.force_unlock = self.force_unlock;
        c.delete_oidc_provider = self.delete_oidc_provider;
        c.wait_timeout = self.timeout;
        c.names = self.names.overrides(&c.hyperpod_cluster)?;
        Ok(c)
    }
}

pub(crate) fn run(args: TeardownArgs, ctx: &Ctx) -> Result<i32> {
    let config = args.to_config(ctx)?;
    let teardown = Teardown::new(ctx, config);
    let outcome = teardown.run(&|plan: &Plan| plan_ui::confirm(ctx, plan, &plan_ui::TEARDOWN))?;
    print_outcome(ctx, &outcome)?;
    Ok(0)
}

fn print_outcome(ctx: &Ctx, o: &TeardownOutcome) -> Result<()> {
    let shared = plan_ui::PlanView {
        hyperpod_cluster: &o.hyperpod_cluster,
        facts: &o.facts,
        plan: &o.plan,
        report: o.report.as_ref(),
        blocked: &o.blocked,
    };
    let fields = vec![("kept", json!(o.kept)), ("blocked", json!(o.blocked))];
    plan_ui::print_outcome(&ctx.ui, &plan_ui::TEARDOWN, &shared, fields, || {
        let mut s = String::new();
        if !o.kept.is_empty() {
            s.push_str("Left in place:\n");
            for k in &o.kept {
                s.push_str(&format!("  - {k}\n"));
            }
        }
        s
    })
}
