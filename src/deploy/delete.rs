//! `delete`: ask for a model resource's deletion and wait until the operator has released it,
//! as data (the report and its error) and as text.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::cluster;
use super::kind::{ModelKind, ModelRef};
use super::status::ModelStatus;
use super::watch::{self, DeleteResult};
use crate::error::{Error, Result};
use crate::time::human;
use crate::tools::kube::{self, Deletion};
use crate::Ctx;

/// How long `delete` waits when not told otherwise.
pub(crate) const DEFAULT_DELETE_SECONDS: u64 = 600;

/// What to delete and how.
#[derive(Debug, Clone)]
pub(crate) struct DeleteRequest {
    pub namespace: String,
    pub name: String,
    /// Which kind, when both kinds may have a resource of that name.
    pub kind: Option<ModelKind>,
    /// Wait until the resource is gone (false returns right after asking).
    pub wait: bool,
    pub timeout_seconds: u64,
}

/// How a deletion ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DeleteOutcome {
    /// `--dry-run`: nothing was asked for.
    DryRun,
    /// Asked for, not waited for.
    Requested,
    Gone,
    /// The operator reported `DeletionFailed`.
    Failed {
        /// `reason: message` of the status.
        why: String,
        /// The resource's finalizers, as JSON.
        finalizers: String,
    },
    /// Still there at the deadline; the last state seen.
    TimedOut {
        last_state: String,
    },
}

/// What `delete` did and saw.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeleteReport {
    /// `kind`, `name`, `namespace`.
    #[serde(flatten)]
    pub resource: ModelRef,
    /// True once the resource is gone; false with --no-wait (deletion asked for) or --dry-run.
    pub deleted: bool,
    pub dry_run: bool,
    pub waited_seconds: Option<f64>,
    pub status: Option<ModelStatus>,
    #[serde(skip)]
    pub outcome: DeleteOutcome,
    #[serde(skip)]
    pub timeout_seconds: u64,
}

/// The `kubectl delete` that asks for the deletion (the operator then releases the resource).
pub(crate) fn delete_cmd(ctx: &Ctx, kind: ModelKind, ns: &str, name: &str) -> crate::exec::Cmd {
    kube::delete(
        &ctx.kube,
        format!("delete {} {ns}/{name}", kind.singular()),
        kind.resource(),
        &[name],
        Some(ns),
        Deletion::ASK,
    )
}

/// Finds the resource, asks for its deletion (not under `ctx.dry_run`) and waits unless told
/// not to. A failed or timed-out deletion is in the report (`error()`), not an `Err`.
pub(crate) fn delete(ctx: &Ctx, req: &DeleteRequest) -> Result<DeleteReport> {
    let (ns, name) = (req.namespace.as_str(), req.name.as_str());
    let (kind, obj) = cluster::find(ctx, ns, name, req.kind)?;
    let mut report = DeleteReport {
        resource: ModelRef::new(kind, name, ns),
        deleted: false,
        dry_run: ctx.dry_run,
        waited_seconds: None,
        status: Some(ModelStatus::of(kind, &obj)),
        outcome: DeleteOutcome::DryRun,
        timeout_seconds: req.timeout_seconds,
    };
    if ctx.dry_run {
        return Ok(report);
    }
    let cmd = delete_cmd(ctx, kind, ns, name);
    let out = ctx.runner.run_unchecked(&cmd)?;
    if !out.success() && !crate::tools::kube::is_not_found(&out) {
        return Err(crate::exec::command_error(&cmd, &out));
    }
    report.outcome = DeleteOutcome::Requested;
    if !req.wait {
        return Ok(report);
    }
    ctx.ui.progress(&format!(
        "waiting for the operator to release {} (up to {})",
        report.what(),
        human(req.timeout_seconds as i64)
    ));
    let (res, took) = watch::wait_deleted(
        ctx,
        kind,
        ns,
        name,
        Duration::from_secs(req.timeout_seconds),
    )?;
    report.waited_seconds = Some((took.as_secs_f64() * 10.0).round() / 10.0);
    report.outcome = match res {
        DeleteResult::Gone => {
            report.deleted = true;
            report.status = None;
            DeleteOutcome::Gone
        }
        DeleteResult::Failed(o) | DeleteResult::TimedOut(Some(o)) if o.is_object() => {
            let s = ModelStatus::of(kind, &o);
            let outcome = if matches!(s.state.as_deref(), Some(st) if st != "DeletionFailed") {
                DeleteOutcome::TimedOut {
                    last_state: s.state_text(),
                }
            } else {
                DeleteOutcome::Failed {
                    why: [s.reason.clone(), s.message.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": "),
                    finalizers: finalizers(&o),
                }
            };
            report.status = Some(s);
            outcome
        }
        _ => DeleteOutcome::TimedOut {
            last_state: "unknown".into(),
        },
    };
    Ok(report)
}

fn finalizers(o: &Value) -> String {
    o.pointer("/metadata/finalizers")
        .map(|f| f.to_string())
        .unwrap_or_else(|| "[]".into())
}

impl DeleteReport {
    fn what(&self) -> String {
        format!(
            "{} {}/{}",
            self.resource.kind.singular(),
            self.resource.namespace,
            self.resource.name
        )
    }

    /// The error this outcome means, if it is not a success.
    pub(crate) fn error(&self) -> Option<Error> {
        let what = self.what();
        match &self.outcome {
            DeleteOutcome::DryRun | DeleteOutcome::Requested | DeleteOutcome::Gone => None,
            DeleteOutcome::TimedOut { last_state } => Some(Error::TimedOut {
                what: format!("{what} to be deleted"),
                seconds: self.timeout_seconds,
                last_state: last_state.clone(),
            }),
            DeleteOutcome::Failed { why, finalizers } => Some(Error::failed(
                format!("deletion of {what} failed: {why}"),
                Some(format!(
                    "read the operator's logs: `kubectl hyperpod logs --operator`; the finalizers are {finalizers}"
                )),
            )),
        }
    }

    /// The result for people (successes only; a failure is its `error()`). `done` is the mark
    /// printed before a completed deletion.
    pub(crate) fn text(&self, done: &str) -> String {
        let what = self.what();
        match self.outcome {
            DeleteOutcome::DryRun => format!("would delete {what}\n"),
            DeleteOutcome::Requested => format!(
                "deletion of {what} requested (not waiting for the operator to release it)\n"
            ),
            _ => format!(
                "{done} {what} deleted after {:.1}s\n",
                self.waited_seconds.unwrap_or_default()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: DeleteOutcome) -> DeleteReport {
        DeleteReport {
            resource: ModelRef::new(ModelKind::JumpStartModel, "m", "ns"),
            deleted: outcome == DeleteOutcome::Gone,
            dry_run: outcome == DeleteOutcome::DryRun,
            waited_seconds: Some(2.5),
            status: None,
            outcome,
            timeout_seconds: 60,
        }
    }

    #[test]
    fn text_and_errors_follow_the_outcome() {
        let r = report(DeleteOutcome::DryRun);
        assert_eq!(r.text("✓"), "would delete jumpstartmodel ns/m\n");
        assert!(r.error().is_none());
        let r = report(DeleteOutcome::Requested);
        assert!(r
            .text("✓")
            .starts_with("deletion of jumpstartmodel ns/m requested"));
        let r = report(DeleteOutcome::Gone);
        assert_eq!(r.text("✓"), "✓ jumpstartmodel ns/m deleted after 2.5s\n");
        assert!(r.error().is_none());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["deleted"], true);
        assert!(json.get("outcome").is_none() && json.get("timeout_seconds").is_none());

        let r = report(DeleteOutcome::Failed {
            why: "DeletionFailed: stuck".into(),
            finalizers: "[\"f\"]".into(),
        });
        let e = r.error().unwrap();
        assert_eq!(
            e.to_string(),
            "deletion of jumpstartmodel ns/m failed: DeletionFailed: stuck"
        );
        assert!(e.hint().unwrap().ends_with("the finalizers are [\"f\"]"));
        let r = report(DeleteOutcome::TimedOut {
            last_state: "DeploymentComplete".into(),
        });
        assert!(matches!(
            r.error(),
            Some(Error::TimedOut { seconds: 60, ref last_state, .. }) if last_state == "DeploymentComplete"
        ));
    }
}
