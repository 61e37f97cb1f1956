//! The `migrate --to addon` command: flags into a `SetupConfig` for the library's
//! `Migration`; the plan, the confirmation and the outcome printed as setup prints them.

use std::time::Duration;

use clap::Args;

use super::plan_ui;
use super::setup::parse_duration;
use crate::error::{Error, Result};
use crate::migrate::Migration;
use crate::plan::Plan;
use crate::setup::SetupConfig;
use crate::Ctx;

pub(crate) const EXAMPLES: &str = "Examples:
  # What moving the Helm install onto the EKS add-on would do (read-only)
  kubectl hyperpod migrate --to addon --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket --dry-run

  # Do it (every model stays; on a failure the Helm install is restored; safe to re-run)
  kubectl hyperpod migrate --to addon --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket --yes";

/// `--to`: the install method to move onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ToFlag {
    // The EKS add-on amazon-sagemaker-hyperpod-inference.
    Addon,
    // The inference-operator Helm chart (not automated: refused).
    Helm,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The install method to move the operator onto (only addon: from the Helm chart to the EKS add-on)
    #[arg(long, value_enum, value_name = "METHOD")]
    pub to: ToFlag,
    /// Name of the SageMaker HyperPod cluster (EKS-orchestrated)
    #[arg(long, value_name = "NAME")]
    pub hyperpod_cluster: String,
    /// S3 bucket for the operator's TLS certificates (name or s3://name), as the Helm install has it
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: String,
    /// Create the role for JumpStart gated-model downloads and pass it to the add-on
    #[arg(long)]
    pub enable_jumpstart_gated: bool,
    /// Take the cluster's lock even if another run holds it (only when that run is dead)
    #[arg(long)]
    pub force_unlock: bool,
    /// With --dry-run: make no calls at all; unknown values appear as ${PLACEHOLDERS}
    #[arg(long, requires = "dry_run")]
    pub offline: bool,
    /// Deadline for each wait (add-on, Helm rollback on failure), e.g. 900s, 15m
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,
}

impl MigrateArgs {
    /// Validates every value and builds the library configuration. No command runs before this.
    pub fn to_config(&self, ctx: &Ctx) -> Result<SetupConfig> {
        if self.to == ToFlag::Helm {
            return Err(Error::invalid(
                "--to",
                "helm is not supported: moving an add-on install back onto the Helm chart is not automated \
                 (the chart would have to adopt what the add-on owns); only --to addon",
            ));
        }
        let region = ctx.aws.region.clone().ok_or_else(|| {
            Error::invalid(
                "--region",
                "is required (or set AWS_REGION / AWS_DEFAULT_REGION)",
            )
        })?;
        let mut c = SetupConfig::new(&self.hyperpod_cluster, &region, &self.s3_bucket)?;
        c.enable_jumpstart_gated = self.enable_jumpstart_gated;
        c.force_unlock = self.force_unlock;
        c.offline = self.offline;
        c.wait_timeout = self.timeout;
        Ok(c)
    }
}

pub(crate) const MIGRATE: plan_ui::Words = plan_ui::Words {
    plan_title: "Migration plan",
    operation: "Migration",
    verb: "change",
    verb_past: "changed",
    nothing: "Already migrated: the operator runs as the EKS add-on and no Helm install is left",
    changes: "change the account or cluster",
    question: "Apply these {n} change(s)?",
};

pub(crate) fn run(args: MigrateArgs, ctx: &Ctx) -> Result<i32> {
    let config = args.to_config(ctx)?;
    let migration = Migration::new(ctx, config);
    let o = migration.run(&|plan: &Plan| plan_ui::confirm(ctx, plan, &MIGRATE))?;
    super::setup::print_outcome_as(ctx, &o, &MIGRATE, "Roles of the add-on install:")?;
    Ok(0)
}
