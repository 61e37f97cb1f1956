//! Deploying a checked model resource: create it, update it, or leave it alone when nothing
//! changed; then wait for the operator's verdict and, when it is not success, say why.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::check::Checked;
use super::diagnose::{self, Diagnostics};
use super::kind::ModelRef;
use super::model::Model;
use super::status::ModelStatus;
use super::watch::{self, WaitResult};
use crate::error::{Error, Result};
use crate::Ctx;

#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Wait for the verdict (the default); false returns right after applying.
    pub wait: bool,
    /// Deadline of the wait; default: the resource's `maxDeployTimeInSeconds`.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyAction {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployOutcome {
    /// Applied, not waited for (`--no-wait`).
    Applied,
    Complete,
    Failed,
    TimedOut,
    /// Deleted by someone else while we waited.
    Deleted,
}

/// What `deploy` did and saw.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// `kind`, `name`, `namespace`.
    #[serde(flatten)]
    pub resource: ModelRef,
    pub action: ApplyAction,
    pub outcome: DeployOutcome,
    pub waited_seconds: Option<f64>,
    pub timeout_seconds: Option<u64>,
    pub status: Option<ModelStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Diagnostics>,
}

impl DeployReport {
    /// The error this outcome means, if it is not a success.
    pub fn error(&self) -> Option<Error> {
        let what = format!(
            "{} {}/{}",
            self.resource.kind.singular(),
            self.resource.namespace,
            self.resource.name
        );
        let why = || {
            let d = self.diagnostics.as_ref();
            let reason = d.and_then(|d| d.reason.clone());
            let message = d.and_then(|d| d.message.clone());
            match (reason, message) {
                (Some(r), Some(m)) => format!("{r}: {m}"),
                (Some(r), None) => r,
                (None, Some(m)) => m,
                (None, None) => "no reason given by the operator".into(),
            }
        };
        let hint = self
            .diagnostics
            .as_ref()
            .and_then(|d| d.hints.first().cloned());
        match self.outcome {
            DeployOutcome::Applied | DeployOutcome::Complete => None,
            DeployOutcome::Failed => Some(Error::failed(
                format!(
                    "deployment of {what} failed: {}{}",
                    why(),
                    if self.action == ApplyAction::Unchanged {
                        " (the resource is unchanged since: change it, or delete it and deploy again to retry)"
                    } else {
                        ""
                    }
                ),
                hint,
            )),
            DeployOutcome::Deleted => Some(Error::failed(
                format!("{what} was deleted while waiting for it to deploy"),
                None,
            )),
            DeployOutcome::TimedOut => Some(Error::TimedOut {
                what: format!("{what} to deploy"),
                seconds: self.timeout_seconds.unwrap_or_default(),
                last_state: self
                    .status
                    .as_ref()
                    .map(|s| s.state_text())
                    .unwrap_or_else(|| "unknown".into()),
            }),
        }
    }
}

impl DeployReport {
    /// The result for people when it is a success (`error()` is None). `done` is the mark
    /// printed before a serving model.
    pub fn text(&self, done: &str) -> String {
        let what = format!(
            "{} {}/{}",
            self.resource.kind.singular(),
            self.resource.namespace,
            self.resource.name
        );
        match self.outcome {
            DeployOutcome::Complete => format!(
                "{done} {what} is serving ({}){} [{}]\n",
                self.status
                    .as_ref()
                    .map(ModelStatus::state_text)
                    .unwrap_or_default(),
                self.waited_seconds
                    .map(|w| format!(" after {w}s"))
                    .unwrap_or_default(),
                match self.action {
                    ApplyAction::Created => "created",
                    ApplyAction::Updated => "updated",
                    ApplyAction::Unchanged => "unchanged: nothing was applied",
                }
            ),
            _ => format!(
                "{what} {} (not waiting; follow it with `kubectl hyperpod describe {} -n {}`)\n",
                match self.action {
                    ApplyAction::Created => "created",
                    ApplyAction::Updated => "updated",
                    ApplyAction::Unchanged => "unchanged",
                },
                self.resource.name,
                self.resource.namespace
            ),
        }
    }

    /// The diagnosis for people of a failure, without the hint `err` already gives (the error
    /// is printed with its hint; the diagnosis would repeat it).
    pub fn diagnosis_text(&self, err: &Error) -> Option<String> {
        self.diagnostics.as_ref().map(|d| {
            let skip = usize::from(err.hint().is_some() && err.hint() == d.hints.first().cloned());
            diagnose::text(d, &self.resource.name, skip)
        })
    }
}

/// The parts of a resource that decide whether applying it would change anything.
fn same(existing: &Value, desired_defaulted: &Value) -> bool {
    if existing.get("spec") != desired_defaulted.get("spec") {
        return false;
    }
    let empty = serde_json::Map::new();
    for field in ["labels", "annotations"] {
        let want = desired_defaulted["metadata"][field]
            .as_object()
            .unwrap_or(&empty);
        let have = existing["metadata"][field].as_object().unwrap_or(&empty);
        if want.iter().any(|(k, v)| have.get(k) != Some(v)) {
            return false;
        }
    }
    true
}

/// Applies (unless unchanged) and waits (unless told not to). Failures and time-outs are in
/// the report (with a diagnosis), not errors: errors are for commands that could not run.
pub fn deploy(ctx: &Ctx, c: &Checked, opts: &DeployOptions) -> Result<DeployReport> {
    let (kind, ns, name) = (c.kind, c.namespace.as_str(), c.name.as_str());
    let existing = super::cluster::get_model(ctx, kind, ns, name)?;
    let action = match &existing {
        Some(e) if same(e, &c.defaulted) => ApplyAction::Unchanged,
        _ => {
            let cmd = ctx.kube.apply(
                format!("apply {} {ns}/{name}", kind.kind()),
                &format!("{} {ns}/{name}", kind.kind()),
                &c.resource,
            );
            let applied: Value = ctx.runner.json(&cmd)?;
            match &existing {
                None => ApplyAction::Created,
                Some(e)
                    if e["metadata"]["generation"] == applied["metadata"]["generation"]
                        && e.get("spec") == applied.get("spec") =>
                {
                    ApplyAction::Unchanged
                }
                Some(_) => ApplyAction::Updated,
            }
        }
    };
    ctx.ui.progress(&format!(
        "{} {ns}/{name} {}",
        kind.singular(),
        match action {
            ApplyAction::Created => "created",
            ApplyAction::Updated => "updated",
            ApplyAction::Unchanged => "unchanged (nothing to apply)",
        }
    ));
    let seconds = opts
        .timeout
        .map(|t| t.as_secs())
        .unwrap_or_else(|| Model::read_as(kind, &c.defaulted).deploy_deadline_seconds());
    let mut report = DeployReport {
        resource: ModelRef::new(kind, name, ns),
        action,
        outcome: DeployOutcome::Applied,
        waited_seconds: None,
        timeout_seconds: None,
        status: existing.as_ref().map(|e| ModelStatus::of(kind, e)),
        diagnostics: None,
    };
    if !opts.wait {
        return Ok(report);
    }
    await_verdict(ctx, &mut report, seconds)?;
    Ok(report)
}

/// Deploy's wait, for `deploy` and for setup's test deployment: watches the report's model
/// until the operator's verdict or `seconds`, and fills in the outcome, the last status seen,
/// the time waited and, for a failure or a time-out, the diagnosis.
pub(crate) fn await_verdict(ctx: &Ctx, report: &mut DeployReport, seconds: u64) -> Result<()> {
    let (kind, ns, name) = (
        report.resource.kind,
        report.resource.namespace.clone(),
        report.resource.name.clone(),
    );
    report.timeout_seconds = Some(seconds);
    ctx.ui.progress(&format!(
        "waiting for {name} to deploy (up to {})",
        crate::time::human(seconds as i64)
    ));
    let (res, took) = watch::wait_deployed(ctx, kind, &ns, &name, Duration::from_secs(seconds))?;
    report.waited_seconds = Some((took.as_secs_f64() * 10.0).round() / 10.0);
    let (outcome, last) = match res {
        WaitResult::Complete(o) => (DeployOutcome::Complete, Some(o)),
        WaitResult::Failed(o) => (DeployOutcome::Failed, Some(o)),
        WaitResult::TimedOut(o) => (DeployOutcome::TimedOut, o),
        WaitResult::Deleted(o) => (DeployOutcome::Deleted, Some(o).filter(|o| !o.is_null())),
    };
    report.outcome = outcome;
    if let Some(o) = &last {
        report.status = Some(ModelStatus::of(kind, o));
    }
    if matches!(outcome, DeployOutcome::Failed | DeployOutcome::TimedOut) {
        report.diagnostics = Some(diagnose::collect(ctx, kind, &ns, &name, last.as_ref()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::kind::ModelKind;
    use serde_json::json;

    fn report(action: ApplyAction, outcome: DeployOutcome) -> DeployReport {
        let obj = json!({"metadata": {"name": "m", "namespace": "ns"},
            "status": {"deploymentStatus": {"deploymentObjectOverallState": "DeploymentComplete"}}});
        DeployReport {
            resource: ModelRef::new(ModelKind::JumpStartModel, "m", "ns"),
            action,
            outcome,
            waited_seconds: Some(12.5),
            timeout_seconds: Some(60),
            status: Some(ModelStatus::of(ModelKind::JumpStartModel, &obj)),
            diagnostics: None,
        }
    }

    #[test]
    fn json_names_the_model_first_as_flat_fields() {
        let r = report(ApplyAction::Created, DeployOutcome::Complete);
        let v = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..4], ["kind", "name", "namespace", "action"]);
        let status: Vec<&str> = v["status"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(status[..4], ["kind", "name", "namespace", "model"]);
        assert_eq!(v["kind"], "JumpStartModel");
    }

    #[test]
    fn text_of_serving_and_of_not_waiting() {
        let r = report(ApplyAction::Unchanged, DeployOutcome::Complete);
        assert_eq!(
            r.text("✓"),
            "✓ jumpstartmodel ns/m is serving (DeploymentComplete) after 12.5s [unchanged: nothing was applied]\n"
        );
        let r = report(ApplyAction::Created, DeployOutcome::Applied);
        assert_eq!(
            r.text("✓"),
            "jumpstartmodel ns/m created (not waiting; follow it with `kubectl hyperpod describe m -n ns`)\n"
        );
    }

    #[test]
    fn diagnosis_leaves_out_the_hint_the_error_gives() {
        let mut r = report(ApplyAction::Created, DeployOutcome::Failed);
        assert!(r.diagnosis_text(&r.error().unwrap()).is_none());
        r.diagnostics = Some(Diagnostics {
            reason: Some("Boom".into()),
            hints: vec!["first".into(), "second".into()],
            ..Default::default()
        });
        let err = r.error().unwrap();
        assert_eq!(err.hint().as_deref(), Some("first"));
        let text = r.diagnosis_text(&err).unwrap();
        assert!(text.contains("  reason:   Boom\n"), "{text}");
        assert!(
            !text.contains("hint: first") && text.contains("  hint: second\n"),
            "{text}"
        );
    }
}
