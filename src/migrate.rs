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
//!
//! ```no_run
//! use kubectl_hyperpod::{migrate::Migration, setup::SetupConfig, Ctx};
//!
//! let ctx = Ctx::new(Some("us-west-2".into()), None);
//! let config = SetupConfig::new("my-hyperpod-cluster", "us-west-2", "my-tls-cert-bucket").unwrap();
//! let migration = Migration::new(&ctx, config);
//! let planned = migration.plan().unwrap(); // read-only: what would change
//! for step in &planned.plan.steps {
//!     println!("{} {}", step.id, step.check.state.label());
//! }
//! let done = migration.apply(&planned).unwrap();
//! println!("changed: {}", done.report.map(|r| r.changed).unwrap_or(false));
//! ```

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
            if let Error::Step { step, .. } = &e {
                if AFTER_VERIFY.contains(&step.as_str()) {
                    // The add-on runs and was verified: only the Helm leftovers are not cleaned
                    // up yet, which the next run does. Nothing to undo.
                    return Error::failed(
                        format!("{e}\nThe operator runs as the EKS add-on (verified); only the Helm install's leftovers remain."),
                        Some("run `kubectl hyperpod migrate --to addon --hyperpod-cluster NAME --s3-bucket BUCKET` again to finish".into()),
                    );
                }
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

/// The steps after the add-on was verified: a failure there undoes nothing.
const AFTER_VERIFY: [&str; 2] = ["helm-leftovers", "helm-release-record"];

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The offline plan (no call): the Helm Deployments go before the add-ons that take over
    /// what Helm holds, the record only after verification, and nothing uninstalls the chart.
    #[test]
    fn the_offline_plan_orders_the_migration_and_never_uninstalls() {
        let mut ctx = Ctx::new(Some("us-west-2".into()), None);
        ctx.dry_run = true;
        let mut c = SetupConfig::new("hp", "us-west-2", "bucket").unwrap();
        c.offline = true;
        let planned = Migration::new(&ctx, c).plan().unwrap();
        assert_eq!(planned.method, OperatorMethod::Addon);
        let step = |id: &str| {
            planned
                .plan
                .steps
                .iter()
                .find(|s| s.id == id)
                .unwrap_or_else(|| panic!("no step {id}"))
        };
        for after_workloads in ["metrics-server-addon", "inference-operator"] {
            assert!(
                step(after_workloads).depends_on.contains(&"helm-workloads"),
                "{after_workloads}"
            );
        }
        for before in [
            "execution-role",
            "s3-csi-addon",
            "fsx-csi-addon",
            "cert-manager-addon",
        ] {
            assert!(
                step("helm-workloads").depends_on.contains(&before),
                "{before}"
            );
        }
        assert_eq!(step("helm-leftovers").depends_on, ["verify"]);
        assert_eq!(step("helm-release-record").depends_on, ["helm-leftovers"]);
        assert!(planned.plan.steps.iter().all(|s| s.id != "test-deployment"));
        let text = serde_json::to_string(&planned.plan).unwrap();
        assert!(!text.contains("\"uninstall\""), "{text}");
        assert!(text.contains("\"OVERWRITE\""), "{text}");
    }
}
