//! `doctor --fix`: applies the automatic fixes of a report (built by `fixes`), in check order
//! (the OIDC provider before the trust policies that name it, trust before annotations).

use serde::Serialize;

use super::report::{Report, Summary};
use crate::exec::Cmd;
use crate::Ctx;

/// What applying one fix did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Applied {
    pub id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub summary: String,
    /// The commands run (shell form), up to and including the one that failed.
    pub commands: Vec<String>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A `--fix` run: the fixes applied and the report of the re-check.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FixRun {
    #[serde(flatten)]
    pub report: Report,
    /// The summary before the fixes.
    pub before: Summary,
    pub fixes_applied: Vec<Applied>,
}

/// Runs each automatic fix's commands in order; a failing command ends that fix, not the others.
pub(crate) fn apply(ctx: &Ctx, report: &Report, on_each: &dyn Fn(&Applied)) -> Vec<Applied> {
    let mut out = Vec::new();
    for c in report.automatic_fixes() {
        let Some(fix) = &c.fix else { continue };
        let mut a = Applied {
            id: c.id,
            subject: c.subject.clone(),
            summary: fix.summary.clone(),
            commands: Vec::new(),
            ok: true,
            error: None,
        };
        for fc in &fix.commands {
            let Some((program, args)) = fc.argv.split_first() else {
                continue;
            };
            let mut cmd = Cmd::new(
                program,
                format!("apply the fix for {}: {}", c.id, fix.summary),
            )
            .args(args.iter().cloned())
            .mutating();
            if let Some(doc) = &fc.stdin {
                cmd = cmd.stdin_doc("fix document", doc.clone().into_bytes());
            }
            a.commands.push(fc.shell.clone());
            if let Err(e) = ctx.runner.run(&cmd) {
                a.ok = false;
                a.error = Some(e.to_string());
                break;
            }
        }
        on_each(&a);
        out.push(a);
    }
    out
}
