//! Waiting by watching: `kubectl get <kind> <name> -o json --watch --output-watch-events`,
//! streamed line by line, each event judged as it arrives. Nothing sleeps on a cycle: the
//! deadline is the only timer, plus a one-second refresh of the live line on a terminal.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::kind::ModelKind;
use super::status::{ModelStatus, Phase};
use crate::error::{Error, Result};
use crate::exec::{command_error, Cmd, StreamEvent};
use crate::tools::kube::{KubeOpts, Obj};
use crate::Ctx;

/// Splits a stream of pretty-printed JSON documents (what kubectl prints with `-o json -w`)
/// into whole documents, tracking nesting outside strings.
#[derive(Default)]
pub(crate) struct JsonSplitter {
    buf: String,
    depth: i64,
    in_string: bool,
    escaped: bool,
}

impl JsonSplitter {
    /// Feeds one line; returns the documents it completed.
    pub(crate) fn push(&mut self, line: &str) -> Vec<String> {
        let mut done = Vec::new();
        for c in line.chars().chain(std::iter::once('\n')) {
            if self.depth == 0 && !self.in_string && c.is_whitespace() && self.buf.is_empty() {
                continue;
            }
            self.buf.push(c);
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' {
                    self.escaped = true;
                } else if c == '"' {
                    self.in_string = false;
                }
                continue;
            }
            match c {
                '"' => self.in_string = true,
                '{' | '[' => self.depth += 1,
                '}' | ']' => {
                    self.depth -= 1;
                    if self.depth <= 0 {
                        self.depth = 0;
                        done.push(std::mem::take(&mut self.buf));
                    }
                }
                _ => {}
            }
        }
        done
    }
}

/// What a judge decides about one event.
pub(crate) enum Verdict<T> {
    Continue,
    Stop(T),
}

/// How a watch ended.
pub(crate) enum WatchEnd<T> {
    /// The judge stopped it.
    Stopped(T),
    /// The deadline passed; the last object seen, if any.
    TimedOut(Option<Value>),
    /// The object does not exist (kubectl reported NotFound).
    NotFound,
}

/// How long a watch may stay silent before it is replaced by a fresh one.
const RESYNC_AFTER: Duration = Duration::from_secs(45);

/// The watch command `watch` streams (also what a plan shows for a wait it will run).
pub(crate) fn watch_cmd(kube: &KubeOpts, kind: ModelKind, ns: &str, name: &str) -> Cmd {
    crate::tools::kube::watch_json(
        kube,
        format!("watch {} {ns}/{name}", kind.kind()),
        Obj {
            resource: kind.resource(),
            name,
            ns,
        },
    )
}

/// Watches one model resource until `judge` stops, the deadline passes, or it is not found.
/// `judge` gets the event type (`ADDED`, `MODIFIED`, `DELETED`) and the object.
pub(crate) fn watch<T>(
    ctx: &Ctx,
    kind: ModelKind,
    ns: &str,
    name: &str,
    deadline: Instant,
    mut judge: impl FnMut(&str, &Value) -> Verdict<T>,
) -> Result<WatchEnd<T>> {
    let mut last: Option<Value> = None;
    let mut empty_runs = 0;
    loop {
        let mut quiet_since = Instant::now();
        let mut resync = false;
        let cmd = watch_cmd(&ctx.kube, kind, ns, name);
        let mut stream = ctx.runner.stream(&cmd)?;
        let mut splitter = JsonSplitter::default();
        let mut events = 0;
        let mut restart = false;
        loop {
            let now = Instant::now();
            if now >= deadline {
                let _ = stream.finish();
                return Ok(WatchEnd::TimedOut(last));
            }
            let left = deadline - now;
            // On a terminal the live line shows the elapsed time, so wake once a second for it.
            let wait = if ctx.ui.live {
                left.min(Duration::from_secs(1))
            } else {
                left.min(RESYNC_AFTER)
            };
            match stream.next(wait) {
                StreamEvent::Line(line) => {
                    quiet_since = Instant::now();
                    for doc in splitter.push(&line) {
                        let Ok(ev) = serde_json::from_str::<Value>(&doc) else {
                            continue;
                        };
                        let etype = ev["type"].as_str().unwrap_or("").to_string();
                        if etype == "ERROR" {
                            // e.g. 410 Gone: the watch is too old; start a fresh one.
                            restart = true;
                            break;
                        }
                        let obj = if ev.get("object").is_some() {
                            ev["object"].clone()
                        } else {
                            ev
                        };
                        events += 1;
                        if let Verdict::Stop(t) = judge(&etype, &obj) {
                            let _ = stream.finish();
                            return Ok(WatchEnd::Stopped(t));
                        }
                        last = Some(obj);
                    }
                    if restart {
                        break;
                    }
                }
                StreamEvent::Idle => {
                    if let Some(o) = &last {
                        live_line(ctx, kind, o);
                    }
                    // A watch connection can stall without closing; a new one starts with the
                    // current state, so a quiet minute costs one call and misses nothing.
                    if quiet_since.elapsed() >= RESYNC_AFTER {
                        resync = true;
                        break;
                    }
                }
                StreamEvent::Closed => break,
            }
        }
        let out = stream.finish()?;
        if resync {
            continue;
        }
        if !restart && out.code != 0 {
            if crate::tools::kube::is_not_found(&out) {
                return Ok(WatchEnd::NotFound);
            }
            return Err(command_error(&cmd, &out));
        }
        // The server ended the watch (its time-out) or it went stale: a new watch first shows
        // the current state, so nothing is missed.
        empty_runs = if events == 0 { empty_runs + 1 } else { 0 };
        if empty_runs >= 3 {
            return Err(Error::failed(
                format!(
                    "the watch of {} {ns}/{name} keeps ending without reporting anything",
                    kind.kind()
                ),
                Some("check the connection to the cluster (`kubectl hyperpod doctor`)".into()),
            ));
        }
    }
}

/// The live status line (terminal only; elsewhere `Ui::status` prints nothing unless changed).
pub(crate) fn live_line(ctx: &Ctx, kind: ModelKind, obj: &Value) {
    let s = ModelStatus::of(kind, obj);
    ctx.ui.status(
        &format!(
            "{}: {} [{}]",
            s.resource.name,
            s.state_text(),
            crate::time::human(ctx.ui.elapsed_secs() as i64)
        ),
        false,
    );
}

/// The last state a wait reported, so that it reports each state once.
#[derive(Default)]
struct States {
    last: String,
}

impl States {
    /// `[ELAPSED] NAME: STATE` when the state differs from the last one seen.
    fn changed(&mut self, s: &ModelStatus, started: Instant) -> Option<String> {
        let text = s.state_text();
        if text == self.last {
            return None;
        }
        let line = format!(
            "[{:>4}] {}: {text}",
            crate::time::human(started.elapsed().as_secs() as i64),
            s.resource.name
        );
        self.last = text;
        Some(line)
    }
}

/// Waits for a deployment's verdict; reports each state transition as it happens.
pub(crate) fn wait_deployed(
    ctx: &Ctx,
    kind: ModelKind,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<(WaitResult, Duration)> {
    let started = Instant::now();
    let mut states = States::default();
    let end = watch(ctx, kind, ns, name, started + timeout, |etype, obj| {
        if etype == "DELETED" {
            return Verdict::Stop(WaitResult::Deleted(obj.clone()));
        }
        let s = ModelStatus::of(kind, obj);
        if let Some(mut line) = states.changed(&s, started) {
            if let (Some(r), Some(m)) = (&s.reason, &s.message) {
                if !s.stale() && Some(r) != s.state.as_ref() {
                    line.push_str(&format!(" ({r}: {m})"));
                }
            }
            ctx.ui.progress(&line);
        }
        live_line(ctx, kind, obj);
        match s.phase() {
            Phase::Complete => Verdict::Stop(WaitResult::Complete(obj.clone())),
            Phase::Failed => Verdict::Stop(WaitResult::Failed(obj.clone())),
            Phase::Deleting => Verdict::Stop(WaitResult::Deleted(obj.clone())),
            Phase::Waiting => Verdict::Continue,
        }
    })?;
    ctx.ui.status_done();
    let res = match end {
        WatchEnd::Stopped(r) => r,
        WatchEnd::TimedOut(last) => WaitResult::TimedOut(last),
        WatchEnd::NotFound => WaitResult::Deleted(Value::Null),
    };
    Ok((res, started.elapsed()))
}

/// The outcome of waiting for a deployment.
#[derive(Debug, Clone)]
pub(crate) enum WaitResult {
    Complete(Value),
    Failed(Value),
    TimedOut(Option<Value>),
    /// Deleted (or being deleted) while we waited.
    Deleted(Value),
}

/// The outcome of waiting for a deletion.
#[derive(Debug, Clone)]
pub(crate) enum DeleteResult {
    Gone,
    /// The operator reported `DeletionFailed`; the object as it was then.
    Failed(Value),
    /// Still there at the deadline; the last object seen.
    TimedOut(Option<Value>),
}

/// Waits until the resource is gone (the operator has removed its finalizer).
pub(crate) fn wait_deleted(
    ctx: &Ctx,
    kind: ModelKind,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<(DeleteResult, Duration)> {
    let started = Instant::now();
    let mut states = States::default();
    let end = watch(ctx, kind, ns, name, started + timeout, |etype, obj| {
        if etype == "DELETED" {
            return Verdict::Stop(None);
        }
        let s = ModelStatus::of(kind, obj);
        if let Some(line) = states.changed(&s, started) {
            ctx.ui.progress(&line);
        }
        if s.state.as_deref() == Some("DeletionFailed") {
            return Verdict::Stop(Some(obj.clone()));
        }
        live_line(ctx, kind, obj);
        Verdict::Continue
    })?;
    ctx.ui.status_done();
    let res = match end {
        WatchEnd::Stopped(None) | WatchEnd::NotFound => DeleteResult::Gone,
        WatchEnd::Stopped(Some(o)) => DeleteResult::Failed(o),
        WatchEnd::TimedOut(last) => DeleteResult::TimedOut(last),
    };
    Ok((res, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_finds_whole_documents_across_lines() {
        let mut s = JsonSplitter::default();
        assert!(s.push("{").is_empty());
        assert!(s.push("    \"type\": \"ADDED\",").is_empty());
        assert!(s
            .push("    \"object\": {\"a\": \"}{\\\"\", \"b\": [1, {\"c\": 2}]}")
            .is_empty());
        let docs = s.push("}");
        assert_eq!(docs.len(), 1);
        let v: Value = serde_json::from_str(&docs[0]).unwrap();
        assert_eq!(v["object"]["a"], "}{\"");
        let docs = s.push("{\"type\": \"MODIFIED\"}{\"type\": \"DELETED\"}");
        assert_eq!(docs.len(), 2);
    }
}
