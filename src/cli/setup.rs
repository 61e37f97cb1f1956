//! `kubectl hyperpod setup`: flags and their conversion into a `SetupConfig`; printing the plan,
//! asking for confirmation, and reporting the outcome.

use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::plan_ui;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::setup::{roles_table, ChartSource, Setup, SetupConfig, SetupOutcome};
use crate::Ctx;

pub(crate) const EXAMPLES: &str = "Examples:
  # Review every policy and command before anyone has credentials
  kubectl hyperpod setup --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket --dry-run --offline

  # See what would change on the real account and cluster (read-only)
  kubectl hyperpod setup --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket --dry-run

  # Do it (safe to re-run after any failure)
  kubectl hyperpod setup --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket --yes

  # Install the operator as the EKS add-on (AWS's recommended method) instead of the Helm chart
  kubectl hyperpod setup --hyperpod-cluster my-hp --s3-bucket my-tls-bucket --method addon --yes

  # Only the IAM roles and policies; prints the role ARNs
  kubectl hyperpod setup --hyperpod-cluster my-hp --s3-bucket my-tls-bucket --iam-only -o json --yes";

/// `--method`: how the operator is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodFlag {
    // The inference-operator Helm chart (the setup guide's method).
    Helm,
    // The EKS add-on amazon-sagemaker-hyperpod-inference (AWS's recommended method).
    Addon,
}

impl MethodFlag {
    fn to_lib(self) -> crate::setup::OperatorMethod {
        match self {
            MethodFlag::Helm => crate::setup::OperatorMethod::Helm,
            MethodFlag::Addon => crate::setup::OperatorMethod::Addon,
        }
    }
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Name of the SageMaker HyperPod cluster (EKS-orchestrated)
    #[arg(long, value_name = "NAME")]
    pub hyperpod_cluster: String,
    /// S3 bucket for the operator's TLS certificates (name or s3://name)
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: String,
    /// How to install the operator: the Helm chart or the EKS add-on [default: the method already on the cluster, else helm]
    #[arg(long, value_enum, value_name = "METHOD")]
    pub method: Option<MethodFlag>,
    /// Take the cluster's lock even if another run holds it (only when that run is dead)
    #[arg(long)]
    pub force_unlock: bool,
    /// Create only the IAM OIDC provider, roles and policies; print the role ARNs
    #[arg(long)]
    pub iam_only: bool,
    /// Also install the FSx for Lustre CSI driver (IAM role + EKS add-on)
    #[arg(long)]
    pub install_fsx_csi: bool,
    /// Create the role for JumpStart gated-model downloads and pass it to the operator
    #[arg(long)]
    pub enable_jumpstart_gated: bool,
    /// Do not deploy (and remove) the test model at the end
    #[arg(long)]
    pub skip_test_deployment: bool,
    /// Instance type of the test model (one the HyperPod cluster has)
    #[arg(long, value_name = "TYPE", default_value = crate::install::names::TEST_INSTANCE_TYPE, conflicts_with = "skip_test_deployment")]
    pub test_instance_type: String,
    /// Do not install the NVIDIA device plugin
    #[arg(long)]
    pub skip_nvidia_plugin: bool,
    /// Do not set up the Mountpoint for S3 CSI driver (policy, role, ServiceAccount, add-on)
    #[arg(long)]
    pub skip_s3_csi: bool,
    /// Let the S3 CSI driver's role read models from this bucket (repeatable; name or s3://name);
    /// added to the buckets earlier runs granted
    #[arg(long, value_name = "BUCKET", conflicts_with = "skip_s3_csi")]
    pub model_bucket: Vec<String>,
    /// Local inference-operator chart directory [default: $HP_CHART_DIR, else the pinned public chart fetched with git]
    #[arg(long, value_name = "DIR")]
    pub chart: Option<String>,
    /// With --dry-run: make no calls at all; unknown values appear as ${PLACEHOLDERS}
    #[arg(long, requires = "dry_run")]
    pub offline: bool,
    /// Deadline for each wait (add-on, operator rollout, test model), e.g. 900s, 15m
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub names: super::IamNameFlags,
}

/// A duration flag, by the one rule of [`crate::time::parse_duration`] (clap names the flag).
pub(crate) fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    crate::time::parse_duration(s)
        .map(Duration::from_secs)
        .map_err(|rule| format!("{rule} (got {})", crate::validate::quote(s)))
}

impl SetupArgs {
    /// Validates every value and builds the library configuration. No command runs before this.
    pub fn to_config(&self, ctx: &Ctx) -> Result<SetupConfig> {
        let region = ctx.aws.region.clone().ok_or_else(|| {
            Error::invalid(
                "--region",
                "is required (or set AWS_REGION / AWS_DEFAULT_REGION)",
            )
        })?;
        if self.method == Some(MethodFlag::Addon) {
            // Flags of the Helm method only: refused rather than ignored.
            if self.chart.is_some() {
                return Err(Error::invalid(
                    "--chart",
                    "is for --method helm only: the add-on method installs no chart",
                ));
            }
            if self.skip_s3_csi {
                return Err(Error::invalid(
                    "--skip-s3-csi",
                    "is for --method helm only: the S3 CSI driver is a dependency of the add-on",
                ));
            }
        }
        let mut c = SetupConfig::new(&self.hyperpod_cluster, &region, &self.s3_bucket)?;
        c.operator_method = self.method.map(MethodFlag::to_lib);
        c.iam_only = self.iam_only;
        c.force_unlock = self.force_unlock;
        c.install_fsx_csi = self.install_fsx_csi;
        c.enable_jumpstart_gated = self.enable_jumpstart_gated;
        c.skip_test_deployment = self.skip_test_deployment;
        crate::deploy::resource::instance_type("--test-instance-type", &self.test_instance_type)?;
        c.test_instance_type = self.test_instance_type.clone();
        c.install_nvidia_plugin = !self.skip_nvidia_plugin;
        c.install_s3_csi = !self.skip_s3_csi;
        for b in &self.model_bucket {
            let b = crate::validate::bucket_name("--model-bucket", b)?;
            if !c.model_buckets.contains(&b) {
                c.model_buckets.push(b);
            }
        }
        c.offline = self.offline;
        c.wait_timeout = self.timeout;
        let env_chart = std::env::var(crate::setup::CHART_DIR_ENV)
            .ok()
            .filter(|d| !d.is_empty());
        match (&self.chart, env_chart) {
            (Some(dir), _) => c.chart = ChartSource::local("--chart", dir)?,
            (None, Some(dir)) => c.chart = ChartSource::local(crate::setup::CHART_DIR_ENV, dir)?,
            (None, None) => {}
        }
        c.names = self.names.overrides(&c.hyperpod_cluster)?;
        Ok(c)
    }
}

pub(crate) fn run(args: SetupArgs, ctx: &Ctx) -> Result<i32> {
    let config = args.to_config(ctx)?;
    let setup = Setup::new(ctx, config);
    let outcome = setup.run(&|plan: &Plan| plan_ui::confirm(ctx, plan, &plan_ui::SETUP))?;
    print_outcome(ctx, &outcome)?;
    Ok(0)
}

fn print_outcome(ctx: &Ctx, o: &SetupOutcome) -> Result<()> {
    print_outcome_as(ctx, o, &plan_ui::SETUP, "Roles:")
}

/// Setup's outcome (and a migration's, which is a setup plan) with `w`'s words; `heading` over
/// the role ARNs in text.
pub(super) fn print_outcome_as(
    ctx: &Ctx,
    o: &SetupOutcome,
    w: &plan_ui::Words,
    heading: &str,
) -> Result<()> {
    let shared = plan_ui::PlanView {
        hyperpod_cluster: &o.hyperpod_cluster,
        facts: &o.facts,
        plan: &o.plan,
        report: o.report.as_ref(),
        blocked: &[],
    };
    let fields = vec![("roles", json!(o.roles))];
    plan_ui::print_outcome(&ctx.ui, w, &shared, fields, || {
        let mut s = format!("{heading}\n");
        for (k, v) in roles_table(&o.roles) {
            s.push_str(&format!("  {k:<26} {v}\n"));
        }
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("x").is_err());
    }
}
