//! kubectl-hyperpod as a library: the setup guide, model deployment and diagnosis for SageMaker
//! HyperPod (EKS) clusters, driving the standard tools (aws, kubectl, helm) as subprocesses.
//!
//! ```no_run
//! use kubectl_hyperpod::{setup::{Setup, SetupConfig}, Ctx};
//!
//! let ctx = Ctx::new(Some("us-west-2".into()), None);
//! let config = SetupConfig::new("my-hyperpod-cluster", "us-west-2", "my-tls-cert-bucket").unwrap();
//! let setup = Setup::new(&ctx, config);
//! let roles = setup.configure_iam_only().unwrap();
//! println!("{}", roles.inference_operator);
//! ```

pub mod cli;
pub mod deploy;
pub mod doctor;
pub mod error;
pub mod exec;
pub(crate) mod input;
pub mod install;
pub mod migrate;
pub(crate) mod plan;
pub mod render;
pub mod setup;
pub mod teardown;
pub(crate) mod time;
pub(crate) mod tools;
pub mod ui;
pub(crate) mod validate;

pub use error::{Error, Result};

/// What every operation needs: the runner, the UI, and the options forwarded to the tools.
pub struct Ctx {
    pub runner: exec::Runner,
    pub ui: ui::Ui,
    pub aws: tools::aws::AwsOpts,
    pub kube: tools::kube::KubeOpts,
    /// Plan only: run read-only commands, change nothing.
    pub dry_run: bool,
    /// Apply without asking.
    pub yes: bool,
}

impl Ctx {
    /// A context for library use: no prompts (as if `--yes`), quiet output.
    pub fn new(region: Option<String>, profile: Option<String>) -> Self {
        Ctx {
            runner: exec::Runner::new(false, false),
            ui: ui::Ui::plain(),
            aws: tools::aws::AwsOpts { region, profile },
            kube: tools::kube::KubeOpts::default(),
            dry_run: false,
            yes: true,
        }
    }
}

/// Labels and tags that mark what this tool created (defined with the installation model).
pub use install::marks;
