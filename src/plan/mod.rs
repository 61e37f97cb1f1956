//! A plan is data: steps with dependencies, each with the state its check found and the exact
//! commands (and documents) that would bring it in line. The same plan backs `--dry-run`, the
//! confirmation prompt, `-o json` and the real run; `execute` is a separate function.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

use crate::error::{in_step, Error, Result};
use crate::exec::Cmd;
use crate::tools::aws;
use crate::tools::iam;
use crate::tools::kube::{self, KubeOpts};
use crate::ui::Ui;
use crate::Ctx;

mod addon_wait;
pub(crate) mod lock;
pub(crate) use addon_wait::AddonWait;

/// What a wait action stands for: not one command whose exit decides, but a watch or a poll
/// with a verdict (a model's `DeploymentComplete`: setup's `ModelWait`; an EKS add-on's
/// `ACTIVE`: [`AddonWait`]). The plan knows no more of a wait than this, so it depends on no
/// command that defines one.
pub(crate) trait Waiter: std::fmt::Debug + Send + Sync {
    /// What the plan shows of the wait (`wait_for` in `--dry-run -o json`).
    fn describe(&self) -> Value;
    /// Waits; not the verdict that passes is an error that says why.
    fn run(&self, env: &StepEnv) -> Result<()>;
}

fn describe_wait<S: serde::Serializer>(
    wait: &Option<std::sync::Arc<dyn Waiter>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    wait.as_ref().map(|w| w.describe()).serialize(s)
}

/// What a step's check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Already as it should be: nothing to do.
    Satisfied,
    /// Does not exist yet: will be created.
    Missing,
    /// Exists but differs from what it should be (the notes say how): will be corrected.
    Drifted,
    /// Read-only information (e.g. the resolved cluster facts).
    Info,
    /// Not checked: offline, or it depends on something that does not exist yet.
    Unknown,
    /// Runs after the other steps (verification, test deployment).
    Deferred,
    /// Teardown: not there (nothing to remove).
    Absent,
    /// Teardown: exists and is left in place (not created by setup, or a flag keeps it).
    Kept,
    /// Teardown: exists and will be removed.
    Present,
    /// Teardown: exists but may not be removed as asked (the notes say why); a real run refuses.
    Blocked,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Satisfied => "ok",
            State::Missing => "missing",
            State::Drifted => "drifted",
            State::Info => "info",
            State::Unknown => "unknown",
            State::Deferred => "later",
            State::Absent => "absent",
            State::Kept => "keep",
            State::Present => "remove",
            State::Blocked => "blocked",
        }
    }
}

/// A document a command sends (policy, trust policy, helm values, manifest), parsed.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub name: String,
    pub content: Value,
}

/// One command of a step, with the documents it sends; or a wait for a model's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub summary: String,
    /// The command run; for a wait, the watch it streams.
    #[serde(flatten)]
    pub cmd: Cmd,
    /// Set for a wait: not one command whose exit decides, but deploy's watcher for a model
    /// (passes on DeploymentComplete, fails at once on DeploymentFailed, with a diagnosis), or
    /// a poll of an EKS add-on (passes on ACTIVE, fails at once with its health issues).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "describe_wait"
    )]
    pub(crate) wait_for: Option<std::sync::Arc<dyn Waiter>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
}

impl Action {
    pub fn new(summary: impl Into<String>, cmd: Cmd) -> Self {
        Action {
            summary: summary.into(),
            cmd,
            wait_for: None,
            documents: Vec::new(),
        }
    }

    /// A wait for a model's verdict, shown as the watch it streams through `kube`.
    /// A wait, shown as the command it repeats or streams (`shown`).
    pub(crate) fn wait(
        summary: impl Into<String>,
        shown: Cmd,
        wait: impl Waiter + 'static,
    ) -> Self {
        let mut a = Action::new(summary, shown);
        a.wait_for = Some(std::sync::Arc::new(wait));
        a
    }

    /// A wait for an EKS add-on, shown as the read it repeats.
    pub fn wait_addon(summary: impl Into<String>, aws: &aws::AwsOpts, wait: AddonWait) -> Self {
        Action::wait(summary, wait.read_cmd(aws), wait)
    }

    /// Runs the action with the step's context.
    pub fn run(&self, env: &StepEnv) -> Result<()> {
        match &self.wait_for {
            Some(w) => w.run(env),
            None => env.ctx.runner.run(&self.cmd).map(drop),
        }
    }

    pub fn doc(mut self, name: &str, content: &Value) -> Self {
        self.documents.push(Document {
            name: name.to_string(),
            content: content.clone(),
        });
        self
    }
}

/// The result of a step's check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub state: State,
    /// What was found: differences, ownership, facts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub actions: Vec<Action>,
}

impl Check {
    pub fn satisfied() -> Self {
        Check {
            state: State::Satisfied,
            notes: Vec::new(),
            actions: Vec::new(),
        }
    }

    pub fn new(state: State, actions: Vec<Action>) -> Self {
        Check {
            state,
            notes: Vec::new(),
            actions,
        }
    }

    pub fn note(mut self, n: impl Into<String>) -> Self {
        self.notes.push(n.into());
        self
    }

    /// Merges the checks of parts of one step: the worst state wins (for teardown: blocked,
    /// remove, keep, absent), notes and actions add up.
    pub fn merge(parts: Vec<Check>) -> Self {
        let mut out = Check::satisfied();
        for p in parts {
            out.state = match (out.state, p.state) {
                (State::Blocked, _) | (_, State::Blocked) => State::Blocked,
                (State::Present, _) | (_, State::Present) => State::Present,
                (State::Missing, _) | (_, State::Missing) => State::Missing,
                (State::Drifted, _) | (_, State::Drifted) => State::Drifted,
                (State::Unknown, _) | (_, State::Unknown) => State::Unknown,
                (State::Kept, _) | (_, State::Kept) => State::Kept,
                (State::Satisfied, State::Absent) => State::Absent,
                (a, _) => a,
            };
            out.notes.extend(p.notes);
            out.actions.extend(p.actions);
        }
        if out.state == State::Satisfied && !out.actions.is_empty() {
            out.state = State::Drifted;
        }
        out
    }
}

/// What a step sees when it checks or acts.
pub struct StepEnv<'a> {
    pub ctx: &'a Ctx,
    pub kube: KubeOpts,
    /// No calls at all: checks report everything as missing, documents carry placeholders.
    pub offline: bool,
    /// Set during execution: true when any step has changed something so far.
    pub changed_so_far: bool,
    /// False while planning, true while executing (a few checks only make sense after earlier steps ran).
    pub executing: bool,
    /// The Kubernetes objects the steps read, fetched together ([`kube::Batch`]); `kget` of
    /// anything else reads it alone.
    pub(crate) batch: Option<Arc<kube::Batch>>,
}

impl StepEnv<'_> {
    /// Runs an AWS read whose "does not exist" is an answer: `None` then, and always offline.
    pub fn aws_read(&self, cmd: &Cmd) -> Result<Option<Value>> {
        self.read_as(cmd)
    }

    /// [`aws_read`](Self::aws_read) with the answer typed (a `tools` answer type).
    pub(crate) fn read_as<T: serde::de::DeserializeOwned>(&self, cmd: &Cmd) -> Result<Option<T>> {
        if self.offline {
            return Ok(None);
        }
        aws::read_opt(&self.ctx.runner, &cmd.clone().reusable())
    }

    /// An IAM role, read with the account's other roles and policies in one answer kept for
    /// the run ([`iam::role_detail`]); `None` offline.
    pub fn get_role(&self, name: &str) -> Result<Option<iam::Role>> {
        Ok(self.role(name)?.map(|d| d.role))
    }

    /// An IAM role with its inline and attached policies ([`iam::role_detail`]); `None` offline.
    pub(crate) fn role(&self, name: &str) -> Result<Option<iam::RoleDetail>> {
        if self.offline {
            return Ok(None);
        }
        iam::role_detail(&self.ctx.runner, &self.ctx.aws, name)
    }

    /// A customer-managed policy with its versions ([`iam::policy_detail`]); `None` offline.
    pub(crate) fn policy(&self, name: &str, arn: &str) -> Result<Option<iam::PolicyDetail>> {
        if self.offline {
            return Ok(None);
        }
        iam::policy_detail(&self.ctx.runner, &self.ctx.aws, name, arn)
    }

    /// `eks::addon`, kept for the run (a check's read; waits read afresh); `None` offline.
    pub fn describe_addon(
        &self,
        eks_cluster: &str,
        addon: &str,
    ) -> Result<Option<crate::tools::eks::Addon>> {
        if self.offline {
            return Ok(None);
        }
        crate::tools::eks::addon_read(&self.ctx.runner, &self.ctx.aws, eks_cluster, addon, true)
    }

    /// Whether the account has the IAM OIDC identity provider `arn`.
    pub fn oidc_provider_exists(&self, arn: &str) -> Result<bool> {
        Ok(iam::oidc_provider_arns(&self.ctx.runner, &self.ctx.aws)?
            .iter()
            .any(|p| p == arn))
    }

    /// A Kubernetes object through the step's kubeconfig; `None` when absent, and always offline.
    pub fn kget(&self, kind: &str, name: &str, ns: Option<&str>) -> Result<Option<Value>> {
        if self.offline {
            return Ok(None);
        }
        if let Some(b) = &self.batch {
            let key = kube::ObjectKey::new(kind, name, ns);
            if let Some(answer) = b.get(&self.kube, &self.ctx.runner, &key, !self.executing)? {
                return Ok(answer);
            }
        }
        self.kube.get_read(&self.ctx.runner, kind, name, ns, true)
    }
}

type CheckFn<'p> = Box<dyn Fn(&StepEnv) -> Result<Check> + Send + Sync + 'p>;

/// A step's definition: id, title, dependencies, and its check.
pub(crate) struct StepDef<'p> {
    pub id: &'static str,
    pub title: String,
    pub deps: Vec<&'static str>,
    /// Runs only when an earlier step of this run changed something (the test deployment).
    pub only_if_changed: bool,
    pub check: CheckFn<'p>,
}

impl<'p> StepDef<'p> {
    pub(crate) fn new(
        id: &'static str,
        title: impl Into<String>,
        deps: &[&'static str],
        check: impl Fn(&StepEnv) -> Result<Check> + Send + Sync + 'p,
    ) -> Self {
        StepDef {
            id,
            title: title.into(),
            deps: deps.to_vec(),
            only_if_changed: false,
            check: Box::new(check),
        }
    }
}

/// A step with what its check found.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub id: &'static str,
    pub title: String,
    pub depends_on: Vec<&'static str>,
    #[serde(flatten)]
    pub check: Check,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub only_if_changed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Facts the plan is built on (cluster, account, names...).
    pub context: Value,
    pub steps: Vec<PlannedStep>,
}

impl Plan {
    /// Whether applying may change anything: some step is missing, drifted or not known yet
    /// (the cluster lock is taken only then; a run with nothing to do needs none).
    pub fn may_change(&self) -> bool {
        self.steps.iter().any(|s| {
            !s.check.actions.is_empty()
                && matches!(
                    s.check.state,
                    State::Missing | State::Drifted | State::Unknown
                )
        })
    }

    /// Steps that would change something.
    pub fn pending(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| {
                !s.check.actions.is_empty()
                    && !s.only_if_changed
                    && s.check.state != State::Deferred
            })
            .count()
    }

    pub fn render_text(&self, ui: &Ui) -> String {
        let width = self.steps.iter().map(|s| s.id.len()).max().unwrap_or(10);
        let mut out = String::new();
        for s in &self.steps {
            let state = s.check.state.label();
            let painted = match s.check.state {
                State::Satisfied | State::Info | State::Absent | State::Kept => {
                    ui.green(&format!("{state:<8}"))
                }
                State::Missing | State::Drifted | State::Present => {
                    ui.yellow(&format!("{state:<8}"))
                }
                State::Blocked => ui.red(&format!("{state:<8}")),
                _ => format!("{state:<8}"),
            };
            let after = if s.depends_on.is_empty() {
                String::new()
            } else {
                format!("  (after {})", s.depends_on.join(", "))
            };
            out.push_str(&format!(
                "  {:<width$}  {painted}  {}{after}\n",
                s.id, s.title
            ));
            for n in &s.check.notes {
                out.push_str(&format!("  {:<width$}            - {n}\n", ""));
            }
            for a in &s.check.actions {
                out.push_str(&format!(
                    "  {:<width$}            > {}: {}\n",
                    "",
                    a.summary,
                    a.cmd.display()
                ));
            }
        }
        out
    }
}

/// Runs every step's check at once, one thread each (checks only read, and a check of a step
/// whose prerequisite does not exist yet says so itself: they need no order), and returns the
/// plan in the steps' order. Execution ([`execute`]) is what follows the dependencies.
pub(crate) fn make_plan(defs: &[StepDef], env: &StepEnv, context: Value) -> Result<Plan> {
    let results: Mutex<BTreeMap<&'static str, Result<Check>>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for d in defs {
            let results = &results;
            scope.spawn(move || {
                let r = (d.check)(env).map_err(|e| in_step(d.id, &d.title, e));
                if let Ok(mut m) = results.lock() {
                    m.insert(d.id, r);
                }
            });
        }
    });
    let mut results = results
        .into_inner()
        .map_err(|_| Error::failed("a check panicked", None))?;
    let mut steps = Vec::new();
    for d in defs {
        let check = results.remove(d.id).unwrap_or_else(|| {
            Err(Error::failed(
                format!("check of {} did not run", d.id),
                None,
            ))
        })?;
        steps.push(PlannedStep {
            id: d.id,
            title: d.title.clone(),
            depends_on: d.deps.clone(),
            check,
            only_if_changed: d.only_if_changed,
        });
    }
    Ok(Plan { context, steps })
}

/// How one step ended in a run.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub id: &'static str,
    /// `unchanged`, `changed`, `skipped`, `failed`, `not_run`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of executing a plan.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub changed: bool,
    pub steps: Vec<StepOutcome>,
}

/// Executes a plan: steps in dependency waves, each wave in parallel. A step whose plan state was
/// absent or kept (teardown), or satisfied with no dependency changed, is left alone; any other
/// step checks again right before it acts (an earlier step may have done its work, e.g. the
/// chart annotating a ServiceAccount) and runs only what that check asks for. Stops after the
/// first failing wave.
pub(crate) fn execute(defs: &[StepDef], plan: &Plan, env: &StepEnv) -> (RunReport, Option<Error>) {
    let mut outcomes: BTreeMap<&'static str, StepOutcome> = BTreeMap::new();
    let mut changed_ids: HashSet<&'static str> = HashSet::new();
    let mut done: HashSet<&'static str> = HashSet::new();
    let mut first_error: Option<Error> = None;
    let planned: BTreeMap<&str, &PlannedStep> = plan.steps.iter().map(|s| (s.id, s)).collect();
    let known: HashSet<&str> = defs.iter().map(|d| d.id).collect();

    while first_error.is_none() && done.len() < defs.len() {
        let wave: Vec<&StepDef> = defs
            .iter()
            .filter(|d| !done.contains(d.id))
            .filter(|d| {
                d.deps
                    .iter()
                    .all(|dep| done.contains(dep) || !known.contains(dep))
            })
            .collect();
        if wave.is_empty() {
            first_error = Some(Error::failed(
                "internal error: the step graph has a cycle",
                None,
            ));
            break;
        }
        let changed_so_far = !changed_ids.is_empty();
        let wave_results: Mutex<Vec<(StepOutcome, Option<Error>)>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for d in &wave {
                let dep_changed = d.deps.iter().any(|dep| changed_ids.contains(dep));
                let planned = planned.get(d.id).copied();
                let wave_results = &wave_results;
                scope.spawn(move || {
                    let step_env = StepEnv {
                        ctx: env.ctx,
                        kube: env.kube.clone(),
                        offline: false,
                        changed_so_far,
                        executing: true,
                        batch: env.batch.clone(),
                    };
                    let r = crate::exec::interrupt::in_step(d.id, || {
                        run_step(d, planned, dep_changed, &step_env)
                    });
                    if let Ok(mut w) = wave_results.lock() {
                        w.push(r);
                    }
                });
            }
        });
        let mut results = wave_results.into_inner().unwrap_or_default();
        // Report failures in the order of the step list, every failed step of the wave.
        results.sort_by_key(|(o, _)| defs.iter().position(|d| d.id == o.id));
        let mut errors = Vec::new();
        for (outcome, err) in results {
            done.insert(outcome.id);
            if outcome.outcome == "changed" {
                changed_ids.insert(outcome.id);
            }
            errors.extend(err);
            outcomes.insert(outcome.id, outcome);
        }
        first_error = match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(Error::Many(errors)),
        };
    }
    let steps = defs
        .iter()
        .map(|d| {
            outcomes.remove(d.id).unwrap_or(StepOutcome {
                id: d.id,
                outcome: "not_run",
                commands: Vec::new(),
                error: None,
            })
        })
        .collect();
    (
        RunReport {
            changed: !changed_ids.is_empty(),
            steps,
        },
        first_error,
    )
}

fn run_step(
    d: &StepDef,
    planned: Option<&PlannedStep>,
    dep_changed: bool,
    env: &StepEnv,
) -> (StepOutcome, Option<Error>) {
    let ui = &env.ctx.ui;
    let mut outcome = StepOutcome {
        id: d.id,
        outcome: "unchanged",
        commands: Vec::new(),
        error: None,
    };
    let planned_state = planned.map(|p| p.check.state);
    if d.only_if_changed && !env.changed_so_far && planned_state != Some(State::Drifted) {
        outcome.outcome = "skipped";
        ui.progress(&format!("  - {:<24} skipped: nothing changed", d.id));
        return (outcome, None);
    }
    let planned_quiet = matches!(planned_state, Some(State::Satisfied | State::Info));
    // Teardown only removes: what was absent stays absent and what is kept stays kept, whatever
    // the steps before did.
    let settled = matches!(planned_state, Some(State::Absent | State::Kept));
    if settled || (planned_quiet && !dep_changed) {
        let word = match planned_state {
            Some(State::Absent) => "nothing to remove",
            Some(State::Kept) => "kept",
            _ => "in place",
        };
        ui.progress(&format!("  {} {:<24} {word}", ui.green("✓"), d.id));
        return (outcome, None);
    }
    ui.status(&format!("  … {:<24} {}", d.id, d.title), true);
    let check = match (d.check)(env) {
        Ok(c) => c,
        Err(e) => {
            outcome.outcome = "failed";
            outcome.error = Some(e.to_string());
            ui.status_done();
            ui.progress(&format!("  {} {:<24} check failed", ui.red("✗"), d.id));
            return (outcome, Some(in_step(d.id, &d.title, e)));
        }
    };
    for a in &check.actions {
        outcome.commands.push(a.cmd.argv.clone());
        if let Err(e) = a.run(env) {
            outcome.outcome = "failed";
            outcome.error = Some(e.to_string());
            ui.status_done();
            ui.progress(&format!(
                "  {} {:<24} failed: {}",
                ui.red("✗"),
                d.id,
                a.summary
            ));
            return (outcome, Some(in_step(d.id, &d.title, e)));
        }
    }
    ui.status_done();
    if check.actions.is_empty() {
        let word = match check.state {
            State::Absent => "nothing to remove",
            State::Kept => "kept",
            _ => "in place",
        };
        ui.progress(&format!("  {} {:<24} {word}", ui.green("✓"), d.id));
    } else if check.actions.iter().all(|a| !a.cmd.mutating) {
        ui.progress(&format!(
            "  {} {:<24} {}",
            ui.green("✓"),
            d.id,
            check
                .actions
                .last()
                .map(|a| a.summary.as_str())
                .unwrap_or("done")
        ));
    } else {
        outcome.outcome = "changed";
        let what: Vec<&str> = check.actions.iter().map(|a| a.summary.as_str()).collect();
        ui.progress(&format!(
            "  {} {:<24} {}",
            ui.green("✓"),
            d.id,
            what.join("; ")
        ));
    }
    (outcome, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx::new(None, None)
    }

    /// Plans `defs` in a plain environment (no kubeconfig, nothing changed yet) and executes
    /// the plan: the plan, the report and the first error.
    fn plan_and_execute(defs: &[StepDef]) -> (Plan, RunReport, Option<Error>) {
        let ctx = ctx();
        let env = StepEnv {
            ctx: &ctx,
            kube: KubeOpts::default(),
            offline: false,
            changed_so_far: false,
            executing: false,
            batch: None,
        };
        let plan = make_plan(defs, &env, Value::Null).unwrap();
        let (report, err) = execute(defs, &plan, &env);
        (plan, report, err)
    }

    fn sh(purpose: &str, script: &str) -> Cmd {
        Cmd::new("sh", purpose).args(["-c", script]).mutating()
    }

    #[test]
    fn execute_runs_dependencies_first_and_stops_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let l = log.display().to_string();
        // A step that is missing and whose one action runs `script`.
        let step = |id: &'static str, title: &str, deps: &[&'static str], script: String| {
            StepDef::new(id, title, deps, move |_| {
                Ok(Check::new(
                    State::Missing,
                    vec![Action::new(id, sh(id, &script))],
                ))
            })
        };
        let defs = vec![
            step("a", "first", &[], format!("echo a >> {l}")),
            step("b", "second", &["a"], format!("echo b >> {l}; exit 7")),
            step("c", "third", &["b"], format!("echo c >> {l}")),
        ];
        let (plan, report, err) = plan_and_execute(&defs);
        assert_eq!(plan.pending(), 3);
        let err = err.unwrap();
        assert!(
            err.to_string()
                .starts_with("step b (second) failed: failed to b"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "a\nb\n");
        let outcomes: Vec<&str> = report.steps.iter().map(|s| s.outcome).collect();
        assert_eq!(outcomes, ["changed", "failed", "not_run"]);
    }

    #[test]
    fn satisfied_steps_do_nothing_and_only_if_changed_steps_are_skipped() {
        let mut t = StepDef::new("test", "test", &["a"], |_| {
            Ok(Check::new(
                State::Deferred,
                vec![Action::new("x", sh("x", "exit 1"))],
            ))
        });
        t.only_if_changed = true;
        let defs = vec![StepDef::new("a", "a", &[], |_| Ok(Check::satisfied())), t];
        let (plan, report, err) = plan_and_execute(&defs);
        assert_eq!(plan.pending(), 0);
        assert!(err.is_none());
        assert!(!report.changed);
        assert_eq!(report.steps[1].outcome, "skipped");
    }
}
