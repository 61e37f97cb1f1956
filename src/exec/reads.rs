//! No read made twice in one run: the answer to a read marked [`super::Cmd::reusable`] (a plan
//! check's `iam get-role`, `eks describe-addon`, `kubectl get`) is kept and given again to the
//! same argv (success or "not found"), until any mutating command starts. A read that
//! overlapped a change is not kept.
//! Two steps asking the same at once make one call: the second waits for the first's answer.
//! Polls (waiting for an add-on or a model) are never marked: they must see the change.

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex};

use super::Output;

#[derive(Default)]
pub(crate) struct Reads {
    state: Mutex<State>,
    done: Condvar,
}

/// What [`Reads::begin`] found.
pub(crate) enum Lookup {
    Kept(Output),
    /// Run it, then [`Reads::finish`] with this generation.
    Run(u64),
}

#[derive(Default)]
struct State {
    /// Bumped whenever a mutating command starts or ends.
    generation: u64,
    /// Mutating commands running now.
    changing: u32,
    answers: HashMap<Vec<String>, Output>,
    /// Reads being made now (others asking the same wait for them).
    running: HashSet<Vec<String>>,
}

impl Reads {
    /// The kept answer to `argv`; or, when none, waits for the same read running elsewhere, or
    /// says to run it (then [`Self::finish`] must follow, whatever happens).
    pub(crate) fn begin(&self, argv: &[String]) -> Lookup {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(o) = s.answers.get(argv) {
                return Lookup::Kept(o.clone());
            }
            if s.running.insert(argv.to_vec()) {
                return Lookup::Run(s.generation);
            }
            s = self.done.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The kept answer to `argv`, if any, without running anything.
    pub(crate) fn kept(&self, argv: &[String]) -> Option<Output> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.answers.get(argv).cloned()
    }

    /// The read begun in `generation` ended: a successful answer is kept unless something
    /// changed meanwhile.
    pub(crate) fn finish(&self, argv: &[String], generation: u64, out: Option<&Output>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.running.remove(argv);
        if let Some(out) = out {
            if (out.success() || absent(out)) && s.generation == generation && s.changing == 0 {
                s.answers.insert(argv.to_vec(), out.clone());
            }
        }
        drop(s);
        self.done.notify_all();
    }

    /// A mutating command starts: everything kept may be stale.
    pub(crate) fn change_starts(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.generation += 1;
        s.changing += 1;
        s.answers.clear();
    }

    pub(crate) fn change_ends(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.generation += 1;
        s.changing = s.changing.saturating_sub(1);
        s.answers.clear();
    }
}

/// AWS's "it does not exist" is an answer too (a role or add-on setup has not made yet: only a
/// call of ours makes one), and so is "you may not" (a caller's permissions do not change in a
/// run: the batched IAM read falls back to per-name reads once, not in every check).
/// Kubernetes' NotFound is not kept: controllers create objects on their own (an add-on's
/// ServiceAccounts). Other failures (throttling, time-outs) are not kept.
fn absent(out: &Output) -> bool {
    [
        "(NoSuchEntity)",
        "(ResourceNotFoundException)",
        "(AccessDenied)",
        "(AccessDeniedException)",
    ]
    .iter()
    .any(|m| out.stderr.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Output {
        Output {
            code: 0,
            stdout: s.into(),
            stderr: String::new(),
        }
    }

    fn run(r: &Reads, argv: &[String], out: Output) -> Option<String> {
        match r.begin(argv) {
            Lookup::Kept(o) => Some(o.stdout),
            Lookup::Run(g) => {
                r.finish(argv, g, Some(&out));
                None
            }
        }
    }

    #[test]
    fn kept_until_a_change_and_never_across_one() {
        let r = Reads::default();
        let argv = vec!["aws".to_string(), "iam".into(), "get-role".into()];
        assert_eq!(run(&r, &argv, ok("a")), None);
        assert_eq!(run(&r, &argv, ok("x")).as_deref(), Some("a"));
        r.change_starts();
        // Read while the change runs: not kept.
        assert_eq!(run(&r, &argv, ok("b")), None);
        let Lookup::Run(g) = r.begin(&argv) else {
            panic!("kept across a change")
        };
        r.change_ends();
        // Began before the change ended: not kept either.
        r.finish(&argv, g, Some(&ok("b")));
        assert_eq!(run(&r, &argv, ok("c")), None);
        assert_eq!(run(&r, &argv, ok("x")).as_deref(), Some("c"));
        // A failure is not an answer worth keeping.
        let other = vec!["x".to_string()];
        let failed = Output {
            code: 1,
            stdout: String::new(),
            stderr: "boom".into(),
        };
        assert_eq!(run(&r, &other, failed), None);
        assert_eq!(run(&r, &other, ok("d")), None);
        // "Not found" is an answer.
        let absent = Output {
            code: 254,
            stdout: String::new(),
            stderr: "An error occurred (ResourceNotFoundException) when calling DescribeAddon"
                .into(),
        };
        let third = vec!["y".to_string()];
        assert_eq!(run(&r, &third, absent), None);
        assert_eq!(run(&r, &third, ok("e")).as_deref(), Some(""));
    }

    #[test]
    fn a_second_asker_waits_for_the_first_read() {
        let r = std::sync::Arc::new(Reads::default());
        let argv = vec!["aws".to_string(), "iam".into(), "list-policies".into()];
        let Lookup::Run(g) = r.begin(&argv) else {
            panic!("nothing kept yet")
        };
        let waiter = {
            let (r, argv) = (std::sync::Arc::clone(&r), argv.clone());
            std::thread::spawn(move || match r.begin(&argv) {
                Lookup::Kept(o) => o.stdout,
                Lookup::Run(_) => "ran again".into(),
            })
        };
        r.finish(&argv, g, Some(&ok("once")));
        assert_eq!(waiter.join().unwrap(), "once");
    }
}
