//! `migrate --to addon`: moves a running Helm install of the inference operator onto the EKS
//! add-on `amazon-sagemaker-hyperpod-inference` without losing a model. The plan is the add-on
//! method's setup plan (new roles trusting the add-on's ServiceAccounts, the dependency add-ons,
//! the add-on created with `--resolve-conflicts OVERWRITE` and waited for, verification) with the
//! migration's own steps (`setup::migrate`): the Helm install's Deployments scaled to 0 and
//! deleted before the add-on is created (never `helm uninstall`: it would delete the inference
//! CRDs and every model), and the Helm release record removed once the add-on is verified.
//!
//! On a failure after the Helm Deployments were removed, the Helm install is restored (the add-on
//! deleted with `--preserve`, `helm rollback` to the deployed revision) while the cluster's lock
//! is still held, and the error says so. Re-running after a success makes no change; after a
//! failure it resumes.

use crate::error::{Error, Result};
use crate::plan::{Plan, State};
use crate::setup::{OperatorMethod, Setup, SetupConfig, SetupOutcome};
use crate::Ctx;

/// A migration of one cluster's Helm install onto the EKS add-on; `plan()` then `apply()`, or
/// `run()` with a confirmation in between.
pub struct Migration<'a> {
    ctx: &'a Ctx,
    setup: Setup<'a>,
}

impl<'a> Migration<'a> {
    /// `config` as for setup (cluster, region, TLS bucket, gated-model role, names, timeout);
    /// the method is the add-on's, and no test model is deployed (the models already on the
    /// cluster are the test).
    pub fn new(ctx: &'a Ctx, mut config: SetupConfig) -> Self {
        config.operator_method = Some(OperatorMethod::Addon);
        config.migrating = true;
        config.iam_only = false;
        config.skip_test_deployment = true;
        Migration {
            ctx,
            setup: Setup::new(ctx, config),
        }
    }

    /// Plans the migration (every check read-only). A cluster with no inference operator at all
    /// is bad input (`--hyperpod-cluster`): there is nothing to migrate.
    pub fn plan(&self) -> Result<SetupOutcome> {
        let planned = self.setup.plan()?;
        refuse_nothing_to_migrate(&planned.plan)?;
        Ok(planned)
    }

    /// Executes a plan made by [`Migration::plan`]. On a failure after the Helm install was
    /// stopped it is restored, and the error says what was done.
    pub fn apply(&self, planned: &SetupOutcome) -> Result<SetupOutcome> {
        let eks = planned.facts.eks_cluster.clone();
        let timeout = self.setup.config().wait_timeout;
        self.setup.apply_then(planned, &|kube, e| {
            if crate::exec::interrupt::interrupted() {
                // Nothing more may start; the next run resumes.
                return e;
            }
            match crate::setup::migrate::restore(self.ctx, kube, &eks, timeout) {
                Ok(None) => e,
                Ok(Some(done)) => Error::failed(
                    format!("{e}\nThe migration was undone: {done}."),
                    Some(
                        "fix what the error names (`kubectl hyperpod doctor` checks the roles and add-ons), then run \
                         `kubectl hyperpod migrate --to addon --hyperpod-cluster NAME --s3-bucket BUCKET` again: it resumes where it stopped"
                            .into(),
                    ),
                ),
                Err(r) => Error::failed(
                    format!("{e}\nRestoring the Helm install failed too: {r}"),
                    Some(format!(
                        "bring the Helm operator back by hand: aws eks delete-addon --cluster-name {eks} --addon-name {} --preserve; \
                         helm rollback {} -n {}",
                        crate::install::names::OPERATOR_ADDON,
                        crate::install::names::HELM_RELEASE,
                        crate::install::names::HELM_NAMESPACE
                    )),
                ),
            }
        })
    }

    /// Plans, asks `confirm` (given the plan), and applies; with `ctx.dry_run` stops after planning.
    pub fn run(&self, confirm: &dyn Fn(&Plan) -> Result<()>) -> Result<SetupOutcome> {
        let planned = self.plan()?;
        confirm(&planned.plan)?;
        if self.ctx.dry_run {
            return Ok(planned);
        }
        self.apply(&planned)
    }
}

fn refuse_nothing_to_migrate(plan: &Plan) -> Result<()> {
    let nothing = plan
        .steps
        .iter()
        .filter(|s| s.id == "preflight" && s.check.state == State::Blocked)
        .flat_map(|s| s.check.notes.iter())
        .find(|n| n.starts_with("nothing to migrate"));
    match nothing {
        Some(n) => Err(Error::invalid("--hyperpod-cluster", n.clone())),
        None => Ok(()),
    }
}
