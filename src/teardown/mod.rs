//! `teardown`: setup in reverse. The same machinery as setup (a plan of checked steps, shown
//! and confirmed, executed in dependency waves) removes only what setup created — IAM by its
//! tags, add-ons by their tags, Kubernetes objects by their labels and annotations — and
//! reports everything it leaves in place. Re-running is safe: what is gone stays gone.

mod cluster;
mod iam;
pub(crate) mod owned;
pub(crate) mod steps;

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{in_step, Error, Result};
use crate::exec::private::PrivateDir;
use crate::install::names::{NameOverrides, Names};
use crate::install::target::{self, Target};
use crate::install::Method;
use crate::plan::lock::ClusterLock;
use crate::plan::{self, Plan, RunReport, State, StepEnv};
use crate::tools::kube::KubeOpts;
use crate::tools::{self, Tool};
use crate::validate;
use crate::Ctx;
use steps::TeardownInputs;

/// What to do with model resources (JumpStartModel, InferenceEndpointConfig) users deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelPolicy {
    /// Refuse to run while any exist (the default).
    Refuse,
    /// Delete them first and wait until the operator has released them (`--delete-models`).
    Delete,
    /// Leave them, and the operator with everything it runs on (`--keep-models`).
    Keep,
}

/// What to tear down.
#[derive(Debug, Clone)]
pub struct TeardownConfig {
    pub hyperpod_cluster: String,
    pub region: String,
    /// The names setup was given (`--*-role-name`, `--*-policy-name`), if any.
    pub names: NameOverrides,
    pub models: ModelPolicy,
    /// Leave every IAM role, policy and the OIDC provider.
    pub keep_iam: bool,
    /// Also delete the cluster's IAM OIDC provider (only when setup created it).
    pub delete_oidc_provider: bool,
    /// Deadline of each wait (models released, helm uninstall, add-on deleted, namespace gone).
    pub wait_timeout: Duration,
    /// From the global flags: the kubeconfig file, and a context chosen by the user.
    pub kube: KubeOpts,
    /// Take the cluster's lock even when another run holds it (`--force-unlock`).
    pub force_unlock: bool,
}

impl TeardownConfig {
    pub fn new(hyperpod_cluster: &str, region: &str) -> Result<Self> {
        validate::hyperpod_cluster_name("--hyperpod-cluster", hyperpod_cluster)?;
        validate::region("--region", region)?;
        Ok(TeardownConfig {
            hyperpod_cluster: hyperpod_cluster.to_string(),
            region: region.to_string(),
            names: NameOverrides::default(),
            models: ModelPolicy::Refuse,
            keep_iam: false,
            delete_oidc_provider: false,
            wait_timeout: Duration::from_secs(600),
            kube: KubeOpts::default(),
            force_unlock: false,
        })
    }
}

/// A model resource whose finalizers the operator did not remove in time.
#[derive(Debug, Clone, Serialize)]
pub struct Stuck {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub finalizers: Vec<String>,
    /// Clears the finalizers by hand; teardown never runs it.
    pub clear_command: String,
}

/// What a teardown run did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct TeardownOutcome {
    pub hyperpod_cluster: String,
    pub facts: Target,
    pub names: Names,
    pub plan: Plan,
    /// What stays, and why (not created by setup, or kept by a flag).
    pub kept: Vec<String>,
    /// Why a real run refuses (only ever non-empty for `--dry-run`).
    pub blocked: Vec<String>,
    /// None for `--dry-run`.
    pub report: Option<RunReport>,
    /// The model resources found while planning (the `models` step acts on them).
    #[serde(skip)]
    models: Vec<Value>,
}

pub struct Teardown<'a> {
    ctx: &'a Ctx,
    config: TeardownConfig,
}

impl<'a> Teardown<'a> {
    pub fn new(ctx: &'a Ctx, mut config: TeardownConfig) -> Self {
        config.kube = config.kube.or(&ctx.kube);
        Teardown { ctx, config }
    }

    pub fn config(&self) -> &TeardownConfig {
        &self.config
    }

    /// Plans the teardown, refuses when the plan is blocked (unless `ctx.dry_run`), asks
    /// `confirm` whether to go on, and executes it. With `ctx.dry_run` it stops after planning.
    pub fn run(&self, confirm: &dyn Fn(&Plan) -> Result<()>) -> Result<TeardownOutcome> {
        let planned = self.plan()?;
        if !planned.blocked.is_empty() && !self.ctx.dry_run {
            return Err(blocked_error(&planned.plan));
        }
        confirm(&planned.plan)?;
        if self.ctx.dry_run {
            return Ok(planned);
        }
        self.apply(&planned)
    }

    /// Plans the teardown (every check read-only) and hands the plan out as a value; nothing
    /// changes until [`Teardown::apply`] is given it.
    pub fn plan(&self) -> Result<TeardownOutcome> {
        let c = &self.config;
        let ctx = self.ctx;
        let names = Names::derive(&c.hyperpod_cluster, &c.names)?;
        tools::require(&[
            (
                Tool::Aws,
                "resolve the cluster and remove IAM resources and EKS add-ons",
            ),
            (
                Tool::Kubectl,
                "remove models, ServiceAccounts, the device plugin and namespaces",
            ),
            (Tool::Helm, "uninstall the inference operator chart"),
        ])?;
        let facts = target::resolve(ctx, &c.hyperpod_cluster, c.kube.context.as_deref())?;
        let (kube, _tmp) = self.kube_access(&facts)?;
        let env = StepEnv {
            ctx,
            kube,
            offline: false,
            changed_so_far: false,
            executing: false,
            batch: None,
        };
        ctx.ui.status("Checking what setup left in place...", true);
        let models = steps::list_models(&env)?;
        let addon_names = Names::derive_for(Method::Addon, &c.hyperpod_cluster, &c.names)?;
        let inputs = TeardownInputs {
            config: c,
            names: &names,
            addon_names: &addon_names,
            target: &facts,
            models: &models,
        };
        let defs = steps::all(&inputs);
        let context = json!({
            "hyperpod_cluster": c.hyperpod_cluster,
            "region": c.region,
            "facts": facts,
            "names": names,
            "models": c.models,
            "keep_iam": c.keep_iam,
            "delete_oidc_provider": c.delete_oidc_provider,
            "wait_timeout_seconds": c.wait_timeout.as_secs(),
        });
        let plan = plan::make_plan(&defs, &env, context)?;
        ctx.ui.status_done();
        let kept = plan
            .steps
            .iter()
            .flat_map(|s| s.check.notes.iter())
            .filter_map(|n| n.strip_prefix("kept: ").map(str::to_string))
            .collect();
        let blocked = blocked_reasons(&plan);
        Ok(TeardownOutcome {
            hyperpod_cluster: c.hyperpod_cluster.clone(),
            facts: facts.clone(),
            names: names.clone(),
            plan,
            kept,
            blocked,
            report: None,
            models: models.clone(),
        })
    }

    /// Executes a plan made by [`Teardown::plan`] (with the same configuration); refuses a
    /// blocked plan. Returns the outcome with its report.
    pub fn apply(&self, planned: &TeardownOutcome) -> Result<TeardownOutcome> {
        if !planned.blocked.is_empty() {
            return Err(blocked_error(&planned.plan));
        }
        let (kube, _tmp) = self.kube_access(&planned.facts)?;
        // One changing run per cluster; released (dropped) before the temporary kubeconfig.
        let _lock = if planned.plan.may_change() {
            Some(ClusterLock::acquire(
                self.ctx,
                kube.clone(),
                None,
                "teardown",
                self.config.force_unlock,
            )?)
        } else {
            None
        };
        let addon_names = Names::derive_for(
            Method::Addon,
            &self.config.hyperpod_cluster,
            &self.config.names,
        )?;
        let inputs = TeardownInputs {
            config: &self.config,
            names: &planned.names,
            addon_names: &addon_names,
            target: &planned.facts,
            models: &planned.models,
        };
        let defs = steps::all(&inputs);
        let exec_env = StepEnv {
            ctx: self.ctx,
            kube,
            offline: false,
            changed_so_far: false,
            executing: true,
            batch: None,
        };
        let (report, err) = plan::execute(&defs, &planned.plan, &exec_env);
        if let Some(e) = err {
            return Err(self.explain(&exec_env, e));
        }
        let mut outcome = planned.clone();
        outcome.report = Some(report);
        Ok(outcome)
    }

    /// The user's kubeconfig when it has the cluster's context; otherwise a temporary one
    /// (teardown never writes the user's kubeconfig).
    fn kube_access(&self, facts: &Target) -> Result<(KubeOpts, Option<PrivateDir>)> {
        let c = &self.config;
        if c.kube.context.is_some() {
            let user = c.kube.in_context(facts.context.clone());
            return Ok((user, None));
        }
        target::kube_access(self.ctx, &c.kube, facts)
    }

    /// Turns a wait that ran out of time into a time-out error (exit 6) saying what is stuck;
    /// for model resources, with the finalizers still set and the command that would clear them.
    fn explain(&self, env: &StepEnv, e: Error) -> Error {
        let Error::Step {
            step,
            title,
            source,
        } = e
        else {
            return e;
        };
        let wait_ran_out = match source.as_ref() {
            Error::Command {
                stderr_tail,
                timed_out: false,
                ..
            } => {
                // kubectl says "timed out waiting for the condition" when the wait itself ran
                // out, and "context deadline exceeded" when its --timeout ran out before the
                // watch was even set up (a slow API server or credential plugin).
                stderr_tail.contains("timed out waiting")
                    || stderr_tail.contains("context deadline exceeded")
                    || stderr_tail.contains("Max attempts exceeded")
            }
            _ => false,
        };
        if !wait_ran_out {
            return Error::Step {
                step,
                title,
                source,
            };
        }
        let seconds = self.config.wait_timeout.as_secs();
        if step == "models" {
            let stuck = stuck_models(env);
            if !stuck.is_empty() {
                for s in &stuck {
                    self.ctx.ui.warn(&format!(
                        "{} {}/{} is still held by finalizer(s) {}; clear them by hand only if the operator cannot finish (see `kubectl hyperpod logs --operator`): {}",
                        s.kind,
                        s.namespace,
                        s.name,
                        s.finalizers.join(", "),
                        s.clear_command
                    ));
                }
                let last_state = stuck
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {}/{} still has finalizer(s) {} (to clear by hand: {})",
                            s.kind,
                            s.namespace,
                            s.name,
                            s.finalizers.join(", "),
                            s.clear_command
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                return in_step(
                    &step,
                    &title,
                    Error::TimedOut {
                        what: format!("the operator to release {} model resource(s)", stuck.len()),
                        seconds,
                        last_state,
                    },
                );
            }
        }
        in_step(
            &step,
            &title,
            Error::TimedOut {
                what: title.clone(),
                seconds,
                last_state: source.to_string(),
            },
        )
    }
}

/// Model resources being deleted whose finalizers are still set (best effort: a failed
/// listing gives none).
fn stuck_models(env: &StepEnv) -> Vec<Stuck> {
    let Ok(models) = steps::list_models(env) else {
        return Vec::new();
    };
    models
        .iter()
        .filter(|m| m["metadata"]["deletionTimestamp"].is_string())
        .map(|m| {
            let kind = m["kind"].as_str().unwrap_or("JumpStartModel").to_string();
            let resource = crate::deploy::kind::ModelKind::from_kind(&kind)
                .map(|k| k.resource())
                .unwrap_or(crate::install::names::JUMPSTART_MODELS_CRD);
            let ns = m["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string();
            let name = m["metadata"]["name"].as_str().unwrap_or("").to_string();
            Stuck {
                clear_command: steps::clear_finalizers_cmd(resource, Some(&ns), &name),
                finalizers: m["metadata"]["finalizers"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                kind,
                namespace: ns,
                name,
            }
        })
        .collect()
}

/// Each blocked step of the plan as `ID: REASON` (the reason is its first note).
fn blocked_reasons(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| s.check.state == State::Blocked)
        .map(|s| {
            let reason = s.check.notes.first().map(String::as_str).unwrap_or("");
            format!("{}: {reason}", s.id)
        })
        .collect()
}

/// The error of a blocked plan: the models step refuses with its own hint; anything else
/// names the step and its reason.
fn blocked_error(plan: &Plan) -> Error {
    let models = plan.steps.iter().find(|s| s.id == "models");
    if let Some(m) = models.filter(|s| s.check.state == State::Blocked) {
        return steps::refuse_models(m.check.notes.first().map(String::as_str).unwrap_or(""));
    }
    let why = blocked_reasons(plan);
    Error::failed(
        format!("teardown refuses to run: {}", why.join("; ")),
        Some("resolve the above and re-run; `--dry-run` shows the whole plan".into()),
    )
}
