//! `doctor`: flags, the `[✓] [!] [✗]` report or `-o json`, and `--fix` (confirm, apply, re-check).

use clap::Args;

use crate::doctor::apply_fixes::{self, FixRun};
use crate::doctor::{Doctor, DoctorConfig, Report, Status};
use crate::error::{Error, Result};
use crate::ui::Format;
use crate::Ctx;

pub(crate) const EXAMPLES: &str = "Examples:
  # Check everything the setup guide sets up, and every model
  kubectl hyperpod doctor --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket

  # Only one model (and what it depends on)
  kubectl hyperpod doctor my-model -n default

  # Apply the safe fixes (OIDC provider, trust policies, ServiceAccount annotations), then check again
  kubectl hyperpod doctor --hyperpod-cluster my-hp --fix --yes

Exit status: 0 when no check failed (warnings allowed), 1 when one did, 5 when --fix was not confirmed.
Every check id, what it means and how it is fixed: docs/doctor.md.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DoctorArgs {
    /// Diagnose only this model resource (a JumpStartModel or InferenceEndpointConfig) and what it needs
    #[arg(value_name = "MODEL")]
    pub model: Option<String>,
    /// Namespace of MODEL [default: look in every namespace]
    #[arg(short = 'n', long, value_name = "NS", requires = "model")]
    pub namespace: Option<String>,
    /// The HyperPod cluster (without it, AWS checks that need it are skipped and kubectl's current context is used)
    #[arg(long, value_name = "NAME")]
    pub hyperpod_cluster: Option<String>,
    /// The S3 bucket for the operator's TLS certificates
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: Option<String>,
    /// Apply the safe fixes (create the OIDC provider, correct trust policies, annotate ServiceAccounts) after confirmation, then check again
    #[arg(long)]
    pub fix: bool,
    // Last: the names bring their own help heading, which would carry over to later fields.
    #[command(flatten)]
    pub names: super::RoleNameFlags,
}

impl DoctorArgs {
    pub fn to_config(&self) -> DoctorConfig {
        DoctorConfig {
            hyperpod_cluster: self.hyperpod_cluster.clone().filter(|s| !s.is_empty()),
            s3_bucket: self.s3_bucket.clone(),
            model: self.model.clone(),
            model_namespace: self.namespace.clone(),
            overrides: self.names.overrides(),
        }
    }
}

fn text(ctx: &Ctx, report: &Report) -> String {
    report.render_text(&|status, mark| match status {
        Status::Pass => ctx.ui.green(mark),
        Status::Warn => ctx.ui.yellow(mark),
        Status::Fail => ctx.ui.red(mark),
        Status::Skipped => mark.to_string(),
    })
}

fn diagnose(ctx: &Ctx, doctor: &Doctor) -> Result<Report> {
    let report = doctor.run(&|done, total| {
        ctx.ui
            .status(&format!("checking ({done}/{total} checks done)"), false)
    });
    ctx.ui.status_done();
    report
}

pub(crate) fn run(a: DoctorArgs, ctx: &Ctx) -> Result<i32> {
    let doctor = Doctor::new(ctx, a.to_config())?;
    let report = diagnose(ctx, &doctor)?;
    let to_fix = report.automatic_fixes().len();
    if !a.fix || to_fix == 0 {
        if a.fix {
            ctx.ui
                .progress("--fix: none of the problems found has an automatic fix");
        }
        ctx.ui.result(&report, || text(ctx, &report))?;
        return Ok(report.exit_code());
    }
    let what: Vec<String> = report
        .automatic_fixes()
        .iter()
        .map(|c| match &c.subject {
            Some(s) => format!("{} ({s})", c.id),
            None => c.id.to_string(),
        })
        .collect();
    let question = format!(
        "Apply {to_fix} fix{} ({})?",
        if to_fix > 1 { "es" } else { "" },
        what.join(", ")
    );
    if ctx.ui.format == Format::Text {
        ctx.ui.result(&report, || text(ctx, &report))?;
    }
    if ctx.dry_run {
        ctx.ui.progress(&format!(
            "--dry-run: would apply {to_fix} fix{} ({}); nothing changed",
            if to_fix > 1 { "es" } else { "" },
            what.join(", ")
        ));
        if ctx.ui.format != Format::Text {
            ctx.ui.result(&report, String::new)?;
        }
        return Ok(report.exit_code());
    }
    if !ctx.yes {
        if !ctx.ui.interactive {
            return Err(Error::NotConfirmed(format!(
                "--fix would change {to_fix} thing{} ({}) and there is no terminal to confirm on",
                if to_fix > 1 { "s" } else { "" },
                what.join(", ")
            )));
        }
        if !ctx.ui.confirm(&question) {
            return Err(Error::NotConfirmed("the fixes were not applied".into()));
        }
    }
    let applied = apply_fixes::apply(ctx, &report, &|ap| {
        let mark = if ap.ok {
            ctx.ui.green("fixed")
        } else {
            ctx.ui.red("failed")
        };
        let subject = ap
            .subject
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        ctx.ui
            .progress(&format!("{mark} {}{subject}: {}", ap.id, ap.summary));
        if let Some(e) = &ap.error {
            ctx.ui.warn(e);
        }
    });
    ctx.ui.progress("checking again");
    let again = diagnose(ctx, &doctor)?;
    let code = again.exit_code();
    let run = FixRun {
        before: report.summary.clone(),
        report: again,
        fixes_applied: applied,
    };
    ctx.ui.result(&run, || {
        let mut t = String::from("\nApplied fixes:\n");
        for ap in &run.fixes_applied {
            let subject = ap
                .subject
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let mark = if ap.ok {
                ctx.ui.green("[✓]")
            } else {
                ctx.ui.red("[✗]")
            };
            t.push_str(&format!("  {mark} {}{subject}: {}\n", ap.id, ap.summary));
            if let Some(e) = &ap.error {
                t.push_str(&format!("      {e}\n"));
            }
        }
        t.push_str("\nAfter the fixes:\n");
        t.push_str(&text(ctx, &run.report));
        t
    })?;
    Ok(code)
}
