//! Command-line types (clap) and the conversion of arguments into library calls. Nothing below
//! this module parses arguments; each subcommand module turns its flags into library types,
//! calls the library, and prints the result through `Ui`.

pub mod completion;
pub(crate) mod deploy;
mod deploy_features;
mod deploy_kinds;
pub(crate) mod doctor;
pub(crate) mod migrate;
pub(crate) mod plan_ui;
pub(crate) mod setup;
pub(crate) mod teardown;
pub(crate) mod version;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::Result;
use crate::exec::Runner;
use crate::install::names::NameOverrides;
use crate::tools::aws::AwsOpts;
use crate::tools::kube::KubeOpts;
use crate::ui::{Format, Ui};
use crate::Ctx;

const ROOT_EXAMPLES: &str = "Examples:
  # Set up the inference operator on a HyperPod cluster (plan first, then apply)
  kubectl hyperpod setup --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket --yes

  # Deploy the guide's BERT JumpStart model and wait until it serves
  kubectl hyperpod deploy jumpstart --name my-bert --model-id huggingface-eqa-bert-base-cased --instance-type ml.c5.2xlarge

  # Find what is broken and how to fix it
  kubectl hyperpod doctor --hyperpod-cluster my-hp";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-hyperpod",
    bin_name = "kubectl hyperpod",
    version,
    about = "Take a SageMaker HyperPod (EKS) cluster from freshly created to serving models, and keep it healthy",
    long_about = None,
    propagate_version = true,
    after_help = ROOT_EXAMPLES,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts, forwarded to the aws, kubectl and helm calls that take them.
/// Listed under their own heading, after each command's own options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Path to the kubeconfig file (forwarded to kubectl and helm)
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<String>,
    /// Kubernetes context to use (forwarded to kubectl and helm)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// AWS region [default: $AWS_REGION, then $AWS_DEFAULT_REGION]
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS CLI profile [default: $AWS_PROFILE]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Output format of results
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Show each external command as it runs (secrets redacted)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Only print results and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Never colour output (also: NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Apply changes without asking for confirmation
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Show what would change; change nothing (read-only calls only)
    #[arg(long, global = true)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install the inference operator and everything it needs (the whole setup guide)
    #[command(after_help = setup::EXAMPLES)]
    Setup(Box<setup::SetupArgs>),
    /// Deploy a model endpoint (JumpStart or custom) and wait until it serves
    Deploy(deploy::DeployArgs),
    /// List model endpoints (JumpStartModel and InferenceEndpointConfig)
    #[command(visible_alias = "list")]
    Get(deploy::GetArgs),
    /// Show a model endpoint's status, conditions, events and pods
    Describe(deploy::DescribeArgs),
    /// Delete a model endpoint and wait until the operator has released it
    Delete(deploy::DeleteArgs),
    /// Print the logs of a model's pods (or the operator's)
    Logs(deploy::LogsArgs),
    /// Send a request to a model's SageMaker endpoint
    Invoke(deploy::InvokeArgs),
    /// Find what is broken and say exactly how to fix it
    Doctor(doctor::DoctorArgs),
    /// Undo setup: remove what setup created, in the right order
    Teardown(teardown::TeardownArgs),
    /// Move the inference operator from its Helm install onto the EKS add-on, keeping every model
    #[command(after_help = migrate::EXAMPLES)]
    Migrate(migrate::MigrateArgs),
    /// Print the version of the plugin and of the tools it found
    Version(version::VersionArgs),
    /// Print a shell completion script
    Completion(completion::CompletionArgs),
    /// Print the manual page, or write one page per command to a directory
    Man(completion::ManArgs),
}

impl Global {
    pub fn format(&self) -> Format {
        match self.output {
            OutputFormat::Text => Format::Text,
            OutputFormat::Json => Format::Json,
            OutputFormat::Yaml => Format::Yaml,
        }
    }

    /// Region from the flag, else the AWS environment variables.
    pub fn resolved_region(&self) -> Option<String> {
        self.region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty())
    }

    pub fn to_ctx(&self) -> Result<Ctx> {
        let region = self.resolved_region();
        if let Some(r) = &region {
            crate::validate::region("--region", r)?;
        }
        let profile = self
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok())
            .filter(|p| !p.is_empty());
        if let Some(c) = &self.context {
            if c.is_empty() || c.contains('\n') {
                return Err(crate::error::Error::invalid(
                    "--context",
                    "value must be a non-empty context name",
                ));
            }
        }
        Ok(Ctx {
            runner: Runner::new(self.verbose, self.dry_run),
            ui: Ui::new(self.format(), self.quiet, self.verbose, self.no_color),
            aws: AwsOpts { region, profile },
            kube: KubeOpts {
                kubeconfig: self.kubeconfig.clone(),
                context: self.context.clone(),
            },
            dry_run: self.dry_run,
            yes: self.yes,
        })
    }
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let ctx = cli.global.to_ctx()?;
    match cli.command {
        Command::Setup(args) => setup::run(*args, &ctx),
        Command::Deploy(a) => deploy::deploy(a, &ctx),
        Command::Get(a) => deploy::get(a, &ctx),
        Command::Describe(a) => deploy::describe(a, &ctx),
        Command::Delete(a) => deploy::delete(a, &ctx),
        Command::Logs(a) => deploy::logs(a, &ctx),
        Command::Invoke(a) => deploy::invoke(a, &ctx),
        Command::Doctor(a) => doctor::run(a, &ctx),
        Command::Teardown(a) => teardown::run(a, &ctx),
        Command::Migrate(a) => migrate::run(a, &ctx),
        Command::Version(a) => version::version(a, &ctx),
        Command::Completion(a) => completion::completion(a, &ctx),
        Command::Man(a) => completion::man(a, &ctx),
    }
}

/// The role names doctor, setup and teardown accept when they differ from setup's derived ones.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "IAM names (when not the derived ones)")]
pub struct RoleNameFlags {
    /// Name of the inference operator role [default: HyperpodInferenceRole-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub operator_role_name: Option<String>,
    /// Name of the load balancer controller role [default: aws-load-balancer-controller-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub alb_role_name: Option<String>,
    /// Name of the S3 CSI driver role [default: SM_HP_S3_CSI_ROLE-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub s3_csi_role_name: Option<String>,
    /// Name of the KEDA operator role [default: keda-operator-role-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub keda_role_name: Option<String>,
}

impl RoleNameFlags {
    pub fn overrides(&self) -> NameOverrides {
        NameOverrides {
            operator_role: self.operator_role_name.clone(),
            alb_role: self.alb_role_name.clone(),
            s3_role: self.s3_csi_role_name.clone(),
            keda_role: self.keda_role_name.clone(),
            ..Default::default()
        }
    }
}

/// Every IAM name setup creates (setup and teardown): the roles plus the policies and the
/// optional roles.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "IAM names (when not the derived ones)")]
pub struct IamNameFlags {
    #[command(flatten)]
    pub roles: RoleNameFlags,
    /// Name of the load balancer controller policy [default: AWSLoadBalancerControllerIAMPolicy-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub alb_policy_name: Option<String>,
    /// Name of the S3 mountpoint policy [default: S3MountpointAccessPolicy-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub s3_policy_name: Option<String>,
    /// Name of the FSx CSI driver role [default: SM_HP_FSX_CSI_ROLE-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub fsx_csi_role_name: Option<String>,
    /// Name of the JumpStart gated-model role [default: HyperpodGatedModelRole-<cluster>]
    #[arg(long, value_name = "NAME")]
    pub gated_model_role_name: Option<String>,
}

impl IamNameFlags {
    /// The overrides, each name derived (and so checked against IAM's rules) for `cluster` before
    /// any command runs.
    pub fn overrides(&self, cluster: &str) -> Result<NameOverrides> {
        let o = NameOverrides {
            alb_policy: self.alb_policy_name.clone(),
            s3_policy: self.s3_policy_name.clone(),
            fsx_role: self.fsx_csi_role_name.clone(),
            gated_role: self.gated_model_role_name.clone(),
            ..self.roles.overrides()
        };
        crate::install::names::Names::derive(cluster, &o)?;
        Ok(o)
    }
}
