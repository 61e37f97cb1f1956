//! Runs checks concurrently: one thread per check (std::thread::scope), each waiting only for the
//! checks it needs; a check whose prerequisite failed or was skipped is skipped with the root
//! cause; a check that errors or panics becomes a failed result. Nothing here aborts the run.
//!
//! Why not the plan engine's scheduler (`plan::execute`): a plan runs in dependency waves and
//! stops at the first failing wave, because a change must not follow a failed one; a diagnosis
//! must go on past every failure, report each check's own verdict, and start each check as
//! soon as its own prerequisites are done (doctor's slowest chain sets its wall time).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};

use super::facts::Facts;
use super::report::{CheckResult, Fix, Group, Outcome, Status};
use crate::error::Error;

/// Why a check could not finish: an error from a command or a parse, kept for its hint.
#[derive(Debug, Clone)]
pub(crate) struct Problem(pub Arc<Error>);

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem(Arc::new(e))
    }
}

impl From<Arc<Error>> for Problem {
    fn from(e: Arc<Error>) -> Self {
        Problem(e)
    }
}

pub(crate) type CheckFn<'a> =
    Box<dyn Fn(&Facts) -> Result<Vec<Outcome>, Problem> + Send + Sync + 'a>;

/// A check: stable id, group, title, prerequisites (ids of checks listed before it), and the
/// function that looks and judges.
pub(crate) struct CheckDef<'a> {
    pub id: &'static str,
    pub group: Group,
    pub title: String,
    /// Subject shown when the check is skipped (the subject of its outcomes otherwise).
    pub subject: Option<String>,
    pub needs: Vec<&'static str>,
    pub run: CheckFn<'a>,
}

impl<'a> CheckDef<'a> {
    pub(crate) fn new(
        id: &'static str,
        group: Group,
        title: impl Into<String>,
        needs: &[&'static str],
        run: impl Fn(&Facts) -> Result<Vec<Outcome>, Problem> + Send + Sync + 'a,
    ) -> Self {
        CheckDef {
            id,
            group,
            title: title.into(),
            subject: None,
            needs: needs.to_vec(),
            run: Box::new(run),
        }
    }

    pub(crate) fn subject(mut self, s: impl Into<String>) -> Self {
        self.subject = Some(s.into());
        self
    }
}

/// How a finished check went, as its dependents see it.
#[derive(Clone)]
struct Done {
    /// None: passed (or warned). Some: the check (id, title) that failed at the root.
    blocked_by: Option<(&'static str, String, Status, String)>,
}

/// Runs all checks; results come back in check order. `on_done(finished, total)` is called after
/// each check (for a progress line).
pub(crate) fn run_all(
    checks: &[CheckDef<'_>],
    facts: &Facts,
    on_done: &(dyn Fn(usize, usize) + Sync),
) -> Vec<CheckResult> {
    let n = checks.len();
    let state: Mutex<Vec<Option<Done>>> = Mutex::new(vec![None; n]);
    let cv = Condvar::new();
    let results: Mutex<Vec<Vec<CheckResult>>> = Mutex::new(vec![Vec::new(); n]);
    std::thread::scope(|s| {
        for (i, check) in checks.iter().enumerate() {
            let (state, cv, results) = (&state, &cv, &results);
            s.spawn(move || {
                // Only checks listed before this one can be waited for: no cycles, no deadlock.
                let deps: Vec<usize> = (0..i)
                    .filter(|j| check.needs.contains(&checks[*j].id))
                    .collect();
                let blocker = {
                    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                    while deps.iter().any(|j| st[*j].is_none()) {
                        st = cv.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    deps.iter()
                        .find_map(|j| st[*j].as_ref().and_then(|d| d.blocked_by.clone()))
                };
                let outcomes = match &blocker {
                    Some((id, title, status, finding)) => {
                        let why = if *status == Status::Fail {
                            format!("skipped: {id} ({title}) failed")
                        } else {
                            format!("skipped: {finding} ({id})")
                        };
                        let mut o = Outcome::skip(why);
                        o.subject = check.subject.clone();
                        vec![o]
                    }
                    None => run_one(check, facts),
                };
                let mine: Vec<CheckResult> = outcomes
                    .into_iter()
                    .map(|o| CheckResult {
                        id: check.id,
                        group: check.group,
                        title: check.title.clone(),
                        subject: o.subject.or_else(|| check.subject.clone()),
                        status: o.status,
                        finding: o.finding,
                        details: o.details,
                        fix: o.fix,
                    })
                    .collect();
                let done = Done {
                    blocked_by: match blocker {
                        Some(b) => Some(b),
                        None => mine
                            .iter()
                            .find(|r| matches!(r.status, Status::Fail | Status::Skipped))
                            .map(|r| (check.id, check.title.clone(), r.status, r.finding.clone())),
                    },
                };
                if let Ok(mut r) = results.lock() {
                    r[i] = mine;
                }
                {
                    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                    st[i] = Some(done);
                    // Reported under the lock, so the count a progress line shows only grows.
                    on_done(st.iter().filter(|d| d.is_some()).count(), n);
                }
                cv.notify_all();
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Runs one check; an error or a panic is a failed result, never an abort.
fn run_one(check: &CheckDef<'_>, facts: &Facts) -> Vec<Outcome> {
    let ran = catch_unwind(AssertUnwindSafe(|| (check.run)(facts)));
    let outcomes = match ran {
        Ok(Ok(v)) => v,
        Ok(Err(Problem(e))) => {
            let mut o = Outcome::fail(first_line(&e.to_string()));
            let rest: Vec<String> = e.to_string().lines().skip(1).map(str::to_string).collect();
            o.details = rest;
            if let Some(h) = e.hint() {
                o.fix = Some(Fix::advice(h));
            }
            vec![o]
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            vec![Outcome::fail(format!(
                "internal error in this check: {msg} (please report it)"
            ))]
        }
    };
    if outcomes.is_empty() {
        // A check that found nothing to look at says so rather than vanishing from the report.
        return vec![Outcome::pass("nothing to check")];
    }
    outcomes
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::facts::Facts;
    use crate::doctor::DoctorConfig;
    use std::time::Duration;

    /// Runs `checks` on the facts of an empty configuration, with `on_done` as `run_all`'s.
    fn run(checks: &[CheckDef<'_>], on_done: &(dyn Fn(usize, usize) + Sync)) -> Vec<CheckResult> {
        let ctx = crate::Ctx::new(None, None);
        let cfg = DoctorConfig::default();
        run_all(checks, &Facts::new(&ctx, &cfg), on_done)
    }

    #[test]
    fn dependents_of_failures_are_skipped_with_the_root_cause() {
        let checks = vec![
            CheckDef::new("HP1", Group::Tools, "one", &[], |_| {
                Ok(vec![Outcome::fail("broken")])
            }),
            CheckDef::new("HP2", Group::Tools, "two", &["HP1"], |_| {
                Ok(vec![Outcome::pass("never runs")])
            }),
            CheckDef::new("HP3", Group::Tools, "three", &["HP2"], |_| {
                Ok(vec![Outcome::pass("never runs")])
            })
            .subject("s"),
            CheckDef::new("HP6", Group::Tools, "six", &[], |_| {
                Ok(vec![Outcome::skip("no input")])
            }),
            CheckDef::new("HP7", Group::Tools, "seven", &["HP6"], |_| {
                Ok(vec![Outcome::pass("never runs")])
            }),
            CheckDef::new("HP4", Group::Tools, "four", &[], |_| {
                Ok(vec![Outcome::warn("meh")])
            }),
            CheckDef::new("HP5", Group::Tools, "five", &["HP4"], |_| {
                Ok(vec![Outcome::pass("runs after a warning")])
            }),
        ];
        let r = run(&checks, &|_, _| {});
        let st: Vec<(&str, Status)> = r.iter().map(|c| (c.id, c.status)).collect();
        assert_eq!(
            st,
            [
                ("HP1", Status::Fail),
                ("HP2", Status::Skipped),
                ("HP3", Status::Skipped),
                ("HP6", Status::Skipped),
                ("HP7", Status::Skipped),
                ("HP4", Status::Warn),
                ("HP5", Status::Pass)
            ]
        );
        assert_eq!(r[1].finding, "skipped: HP1 (one) failed");
        assert_eq!(r[2].finding, "skipped: HP1 (one) failed");
        assert_eq!(r[2].subject.as_deref(), Some("s"));
        assert_eq!(r[4].finding, "skipped: no input (HP6)");
    }

    #[test]
    fn errors_and_panics_become_failed_results() {
        let checks = vec![
            CheckDef::new("HP1", Group::Tools, "err", &[], |_| {
                Err(Error::failed("no luck\nsecond line", Some("try again".into())).into())
            }),
            CheckDef::new("HP2", Group::Tools, "panic", &[], |_| panic!("boom")),
            CheckDef::new("HP3", Group::Tools, "after", &["HP2"], |_| {
                Ok(vec![Outcome::pass("x")])
            }),
        ];
        let r = run(&checks, &|_, _| {});
        assert_eq!(r[0].status, Status::Fail);
        assert_eq!(r[0].finding, "no luck");
        assert_eq!(r[0].details, ["second line"]);
        assert_eq!(r[0].fix.as_ref().unwrap().summary, "try again");
        assert_eq!(r[1].status, Status::Fail);
        assert!(r[1].finding.contains("boom"), "{}", r[1].finding);
        assert_eq!(r[2].status, Status::Skipped);
    }

    #[test]
    fn independent_checks_run_together_and_progress_only_counts_up() {
        // Each check waits until all five have started: run one after another, none would
        // see the others (the wait gives up after a minute rather than hang the suite).
        let started = (Mutex::new(0usize), Condvar::new());
        let meet = |_: &Facts| {
            let (n, cv) = &started;
            let mut n = n.lock().unwrap();
            *n += 1;
            cv.notify_all();
            let (n, _) = cv
                .wait_timeout_while(n, Duration::from_secs(60), |n| *n < 5)
                .unwrap();
            Ok(vec![if *n == 5 {
                Outcome::pass("met the others")
            } else {
                Outcome::fail("ran alone")
            }])
        };
        let checks: Vec<CheckDef> = ["HP1", "HP2", "HP3", "HP4", "HP5"]
            .into_iter()
            .map(|id| CheckDef::new(id, Group::Tools, id, &[], meet))
            .collect();
        let seen = Mutex::new(Vec::new());
        let r = run(&checks, &|done, total| {
            seen.lock().unwrap().push((done, total));
        });
        let findings: Vec<&str> = r.iter().map(|c| c.finding.as_str()).collect();
        assert_eq!(findings, ["met the others"; 5]);
        assert_eq!(
            seen.into_inner().unwrap(),
            [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
        );
    }
}
