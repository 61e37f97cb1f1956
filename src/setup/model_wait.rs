//! Setup's test deployment waits for its model as `deploy` does (`deploy::apply::await_verdict`):
//! a plan wait that passes on DeploymentComplete, fails as soon as the operator reports
//! DeploymentFailed (with deploy's diagnosis in the error), and times out with the last state
//! seen.

use std::time::Duration;

use serde::Serialize;

use crate::deploy::apply::{self, DeployOutcome, DeployReport};
use crate::deploy::diagnose;
use crate::deploy::kind::{ModelKind, ModelRef};
use crate::deploy::status;
use crate::deploy::watch;
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::{Action, StepEnv, Waiter};
use crate::tools::kube::KubeOpts;
use crate::ui::Ui;
use crate::Ctx;

/// What a wait action waits for; serialised into the plan next to the watch it streams.
#[derive(Debug, Clone, Serialize)]
pub struct ModelWait {
    pub kind: ModelKind,
    pub namespace: String,
    pub name: String,
    /// The state that passes.
    pub until: &'static str,
    /// The state that fails at once.
    pub fails_on: &'static str,
    pub timeout_seconds: u64,
    /// What becomes of the model when the wait does not pass (said again in the error).
    pub on_failure: String,
}

impl ModelWait {
    pub fn new(
        kind: ModelKind,
        namespace: &str,
        name: &str,
        timeout: Duration,
        on_failure: impl Into<String>,
    ) -> Self {
        ModelWait {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            until: status::COMPLETE,
            fails_on: status::FAILED,
            timeout_seconds: timeout.as_secs(),
            on_failure: on_failure.into(),
        }
    }

    /// The plan's action for this wait, shown as the watch it streams through `kube`.
    pub(crate) fn action(self, summary: &str, kube: &KubeOpts) -> Action {
        let shown = self.watch_cmd(kube);
        Action::wait(summary, shown, self)
    }

    /// The watch this wait streams, as the plan shows it.
    pub fn watch_cmd(&self, kube: &KubeOpts) -> Cmd {
        watch::watch_cmd(kube, self.kind, &self.namespace, &self.name)
    }

    /// Waits through the step's kubeconfig and context. Not DeploymentComplete is an error:
    /// a failure (exit 1) or a time-out (exit 6), each with the diagnosis and `on_failure`.
    fn wait(&self, env: &StepEnv) -> Result<()> {
        let ctx = with_kube(env.ctx, &env.kube);
        let mut report = DeployReport {
            resource: ModelRef::new(self.kind, &self.name, &self.namespace),
            action: apply::ApplyAction::Created,
            outcome: DeployOutcome::Applied,
            waited_seconds: None,
            timeout_seconds: None,
            status: None,
            diagnostics: None,
        };
        apply::await_verdict(&ctx, &mut report, self.timeout_seconds)?;
        match report.error() {
            Some(err) => Err(self.explain(err, &report)),
            None => Ok(()),
        }
    }

    /// Adds the diagnosis (as `deploy` prints it) and what became of the model to the error.
    fn explain(&self, err: Error, report: &DeployReport) -> Error {
        let Some(d) = &report.diagnostics else {
            return err;
        };
        // The error's hint is printed on its own; do not repeat it in the diagnosis.
        let skip = usize::from(err.hint().is_some() && err.hint() == d.hints.first().cloned());
        let detail = format!(
            "\n{}{}",
            diagnose::text(d, &self.name, skip),
            self.on_failure
        );
        match err {
            Error::Failed { message, hint } => Error::Failed {
                message: message + &detail,
                hint,
            },
            Error::TimedOut {
                what,
                seconds,
                last_state,
            } => Error::TimedOut {
                what,
                seconds,
                last_state: last_state + &detail,
            },
            other => other,
        }
    }
}

impl Waiter for ModelWait {
    fn describe(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn run(&self, env: &StepEnv) -> Result<()> {
        self.wait(env)
    }
}

/// A context like `parent` whose kubectl calls go through `kube`: the step's kubeconfig and
/// context, which differ from the global flags' when setup writes the context itself. The
/// flags (verbose, dry run, format, quiet, colour) are the parent's; the runner's log and the
/// UI's clock are its own.
fn with_kube(parent: &Ctx, kube: &KubeOpts) -> Ctx {
    let ui = &parent.ui;
    Ctx {
        runner: parent.runner.sharing(parent.runner.dry_run),
        ui: Ui::new(ui.format, ui.quiet, ui.verbose, !ui.color),
        aws: parent.aws.clone(),
        kube: kube.clone(),
        dry_run: parent.dry_run,
        yes: parent.yes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::status::ModelStatus;
    use serde_json::json;

    fn report(outcome: DeployOutcome, obj: serde_json::Value) -> DeployReport {
        let kind = ModelKind::JumpStartModel;
        let mut d = diagnose::Diagnostics {
            state: Some("DeploymentFailed".into()),
            reason: Some("ModelDeploymentFailed".into()),
            message: Some("Insufficient nvidia.com/gpu".into()),
            ..Default::default()
        };
        d.hints = diagnose::hints(&d, "m");
        DeployReport {
            resource: ModelRef::new(kind, "m", "default"),
            action: apply::ApplyAction::Created,
            outcome,
            waited_seconds: Some(1.0),
            timeout_seconds: Some(60),
            status: Some(ModelStatus::of(kind, &obj)),
            diagnostics: Some(d),
        }
    }

    fn wait() -> ModelWait {
        ModelWait::new(
            ModelKind::JumpStartModel,
            "default",
            "m",
            Duration::from_secs(60),
            "kept: remove it with X",
        )
    }

    #[test]
    fn a_failure_carries_the_diagnosis_and_what_became_of_the_model() {
        let r = report(DeployOutcome::Failed, json!({"metadata": {"name": "m"}}));
        let err = wait().explain(r.error().unwrap(), &r);
        assert_eq!(err.exit_code(), crate::error::exit::FAILURE);
        let text = err.to_string();
        assert!(
            text.starts_with("deployment of jumpstartmodel default/m failed: ModelDeploymentFailed: Insufficient nvidia.com/gpu\nwhat the cluster says:\n"),
            "{text}"
        );
        assert!(text.ends_with("kept: remove it with X"), "{text}");
        // The first hint is the error's own, not repeated in the text.
        let hint = err.hint().unwrap();
        assert!(hint.contains("enough free GPUs"), "{hint}");
        assert!(!text.contains(&hint), "{text}");
    }

    #[test]
    fn a_time_out_stays_a_time_out_with_the_diagnosis() {
        let r = report(DeployOutcome::TimedOut, json!({"metadata": {"name": "m"}}));
        let err = wait().explain(r.error().unwrap(), &r);
        assert_eq!(err.exit_code(), crate::error::exit::TIMED_OUT);
        assert_eq!(err.kind(), "timed_out");
        let text = err.to_string();
        assert!(
            text.starts_with("timed out after 60s waiting for jumpstartmodel default/m to deploy"),
            "{text}"
        );
        assert!(text.contains("what the cluster says:"), "{text}");
        assert!(text.ends_with("kept: remove it with X"), "{text}");
    }

    #[test]
    fn the_plan_shows_the_watch_and_what_it_waits_for() {
        let kube = KubeOpts {
            kubeconfig: None,
            context: Some("c".into()),
        };
        let a = wait().action("wait", &kube);
        assert!(!a.cmd.mutating);
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["argv"][3], "get");
        assert_eq!(
            v["argv"].as_array().unwrap().last().unwrap(),
            "--output-watch-events"
        );
        assert_eq!(v["wait_for"]["until"], "DeploymentComplete");
        assert_eq!(v["wait_for"]["fails_on"], "DeploymentFailed");
        assert_eq!(v["wait_for"]["timeout_seconds"], 60);
    }
}
