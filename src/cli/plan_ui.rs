//! The plan's user interface that setup and teardown share: the confirmation before applying, and
//! the one printer of the outcome (under `--dry-run` the plan and what a real run would do, else
//! what changed), as text or as one `-o json|yaml` document.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::install::target::Target;
use crate::plan::{Plan, RunReport};
use crate::ui::Ui;
use crate::Ctx;

/// The words that make setup's and teardown's texts differ.
pub(crate) struct Words {
    /// Heads the plan under `--dry-run`.
    pub plan_title: &'static str,
    pub operation: &'static str,
    /// Completes "N step(s) would ... things".
    pub verb: &'static str,
    pub verb_past: &'static str,
    /// Said when no step has anything to do.
    pub nothing: &'static str,
    /// Completes "N step(s) would ..." when there is no terminal to confirm on.
    pub changes: &'static str,
    /// Asked on a terminal; `{n}` is the number of steps with something to do.
    pub question: &'static str,
}

pub(crate) const SETUP: Words = Words {
    plan_title: "Plan",
    operation: "Setup",
    verb: "change",
    verb_past: "changed",
    nothing: "Everything is already in place",
    changes: "change the account or cluster",
    question: "Apply these {n} change(s)?",
};

pub(crate) const TEARDOWN: Words = Words {
    plan_title: "Teardown plan",
    operation: "Teardown",
    verb: "remove",
    verb_past: "removed",
    nothing: "Nothing to remove",
    changes: "remove things",
    question: "Remove what these {n} step(s) list?",
};

/// Shows a plan (on stderr) and asks whether to apply it. Nothing to ask under `--dry-run`,
/// `--yes`, or when no step has anything to do; off a terminal, refuses.
pub(crate) fn confirm(ctx: &Ctx, plan: &Plan, w: &Words) -> Result<()> {
    let ui = &ctx.ui;
    if ctx.dry_run {
        return Ok(());
    }
    // The plan goes to stderr in a real run: stdout carries only the final result.
    if !ui.quiet {
        ui.progress(&format!("{}\n{}", ui.bold("Plan:"), plan.render_text(ui)));
    }
    let pending = plan.pending();
    if pending == 0 || ctx.yes {
        return Ok(());
    }
    if !ui.interactive {
        return Err(Error::NotConfirmed(format!(
            "{pending} step(s) would {}, and there is no terminal to confirm on",
            w.changes
        )));
    }
    if ui.confirm(&w.question.replace("{n}", &pending.to_string())) {
        Ok(())
    } else {
        Err(Error::NotConfirmed(
            "not confirmed; nothing was changed".into(),
        ))
    }
}

/// What setup's and teardown's outcomes have in common.
pub(crate) struct PlanView<'a> {
    pub hyperpod_cluster: &'a str,
    pub facts: &'a Target,
    pub plan: &'a Plan,
    /// None for `--dry-run`.
    pub report: Option<&'a RunReport>,
    /// Why a real run would refuse (said under `--dry-run`).
    pub blocked: &'a [String],
}

/// Prints an outcome on stdout. The document has `hyperpod_cluster`, `dry_run` and `changed`,
/// then the command's own `fields`, then `plan` and `steps`; the text is the closing text
/// followed by `tail`.
pub(crate) fn print_outcome(
    ui: &Ui,
    w: &Words,
    o: &PlanView,
    fields: Vec<(&str, Value)>,
    tail: impl FnOnce() -> String,
) -> Result<()> {
    let mut data = json!({
        "hyperpod_cluster": o.hyperpod_cluster,
        "dry_run": o.report.is_none(),
        "changed": o.report.map(|r| r.changed),
    });
    let map = data.as_object_mut().expect("an object");
    for (k, v) in fields {
        map.insert(k.to_string(), v);
    }
    map.insert("plan".into(), json!(o.plan));
    map.insert("steps".into(), json!(o.report.map(|r| &r.steps)));
    ui.result(&data, || closing_text(ui, w, o) + &tail())
}

/// Under `--dry-run` the plan and what a real run would do (and why it would refuse), otherwise
/// how many steps changed things.
fn closing_text(ui: &Ui, w: &Words, o: &PlanView) -> String {
    let (cluster, plan) = (o.hyperpod_cluster, o.plan);
    let Some(r) = o.report else {
        let mut s = format!(
            "{} for HyperPod cluster {cluster} (EKS {}, account {}, {}):\n",
            w.plan_title,
            o.facts.eks_cluster,
            o.facts.account,
            plan.context["region"].as_str().unwrap_or("")
        );
        s.push_str(&plan.render_text(ui));
        if !o.blocked.is_empty() {
            s.push_str(&format!(
                "A real run would refuse: {}\n",
                o.blocked.join("; ")
            ));
        }
        s.push_str(&match plan.pending() {
            0 => format!("{}; nothing would change.\n", w.nothing),
            n => format!(
                "{n} step(s) would {} things. Dry run: nothing was changed.\n",
                w.verb
            ),
        });
        return s;
    };
    if r.changed {
        let n = r.steps.iter().filter(|s| s.outcome == "changed").count();
        format!(
            "{} of {cluster} is complete: {n} step(s) {} things.\n",
            w.operation, w.verb_past
        )
    } else {
        format!("{} for {cluster}; nothing was changed.\n", w.nothing)
    }
}
