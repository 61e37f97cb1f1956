//! The one runner for every subprocess: purpose, argv (never a shell string), env, stdin,
//! a deadline, captured output, and errors that say what failed and why.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

pub(crate) mod credential;
pub mod interrupt;
pub(crate) mod private;
pub(crate) mod reads;

pub use credential::KubeTarget;

/// Default deadline for a command that is not a wait.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// One external command, described before it runs.
#[derive(Debug, Clone, Serialize)]
pub struct Cmd {
    /// What the command is for, as the end of "failed to ...".
    pub purpose: String,
    /// Program and arguments; argv[0] is the program name as looked up on PATH.
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// Name of the document passed on stdin (the bytes themselves are in `stdin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin_document: Option<String>,
    #[serde(skip)]
    pub stdin: Option<Vec<u8>>,
    #[serde(skip)]
    pub timeout: Duration,
    /// Whether the command changes anything (cloud, cluster, or a user's file).
    pub mutating: bool,
    /// For kubectl and helm: the kubeconfig and context it talks through, so that the runner can
    /// give it the run's credential ([`credential`]).
    #[serde(skip)]
    pub kube: Option<KubeTarget>,
    /// It writes a kubeconfig (`aws eks update-kubeconfig`): credentials read before are forgotten.
    #[serde(skip)]
    pub rewrites_kubeconfig: bool,
    /// A read whose answer may be given again in this run until something changes ([`reads`]).
    #[serde(skip)]
    pub reusable: bool,
}

impl Cmd {
    pub fn new(program: &str, purpose: impl Into<String>) -> Self {
        Cmd {
            purpose: purpose.into(),
            argv: vec![program.to_string()],
            env: Vec::new(),
            stdin_document: None,
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
            mutating: false,
            kube: None,
            rewrites_kubeconfig: false,
            reusable: false,
        }
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.argv.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds `flag value` when the value is present.
    pub fn opt(self, flag: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.arg(flag).arg(v),
            None => self,
        }
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    pub fn stdin_doc(mut self, name: &str, bytes: Vec<u8>) -> Self {
        self.stdin_document = Some(name.to_string());
        self.stdin = Some(bytes);
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    pub fn mutating(mut self) -> Self {
        self.mutating = true;
        self
    }

    /// Marks a kubectl/helm command talking through `target` (see [`Cmd::kube`]).
    pub fn through(mut self, target: KubeTarget) -> Self {
        self.kube = Some(target);
        self
    }

    /// Marks a read whose answer may be reused in this run (see [`Cmd::reusable`]).
    pub fn reusable(mut self) -> Self {
        self.reusable = true;
        self
    }

    /// Marks a command that writes a kubeconfig (see [`Cmd::rewrites_kubeconfig`]).
    pub fn rewrites_kubeconfig(mut self) -> Self {
        self.rewrites_kubeconfig = true;
        self
    }

    pub fn program(&self) -> &str {
        &self.argv[0]
    }

    /// The command line for people: quoted where needed, secrets redacted.
    pub fn display(&self) -> String {
        display_argv(&self.argv)
    }
}

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// A record of one command run, kept for `-v` and for tests of the library.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub argv: Vec<String>,
    pub mutating: bool,
    pub code: Option<i32>,
}

/// Runs commands. Shared by all steps (it is `Sync`); `dry_run` makes it refuse mutating commands,
/// a last line of defence behind the planner.
pub struct Runner {
    pub verbose: bool,
    pub dry_run: bool,
    log: Mutex<Vec<Invocation>>,
    credentials: Arc<credential::Credentials>,
    reads: Arc<reads::Reads>,
}

impl Runner {
    pub fn new(verbose: bool, dry_run: bool) -> Self {
        Runner {
            verbose,
            dry_run,
            log: Mutex::new(Vec::new()),
            credentials: Arc::new(credential::Credentials::new()),
            reads: Arc::default(),
        }
    }

    /// A runner with its own log (and `dry_run`) that shares this one's Kubernetes credentials
    /// and kept reads (a wait inside a run).
    pub fn sharing(&self, dry_run: bool) -> Self {
        Runner {
            reads: Arc::clone(&self.reads),
            ..self.sharing_credentials(dry_run)
        }
    }

    /// Shares only the credentials: for a side task whose changes no check reads (the cluster
    /// lock's renewal), so that they do not make the run's kept reads stale.
    pub fn sharing_credentials(&self, dry_run: bool) -> Self {
        Runner {
            verbose: self.verbose,
            dry_run,
            log: Mutex::new(Vec::new()),
            credentials: Arc::clone(&self.credentials),
            reads: Arc::default(),
        }
    }

    /// The argv the process gets (also for a command run outside the runner, such as an
    /// interrupt hook): a kubectl/helm command's `--kubeconfig` is the run's
    /// credential when there is one ([`credential`]), in the place the user's had (else at
    /// the end); everything else as built, so that logs and scripts see the argv they expect.
    pub fn argv_for(&self, cmd: &Cmd) -> Vec<String> {
        let Some(path) = self.credentials.kubeconfig_for(self, cmd) else {
            return cmd.argv.clone();
        };
        with_kubeconfig(&cmd.argv, &path)
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The answer kept for a reusable read of `cmd`, when one is kept (nothing has changed since
    /// it was made); runs nothing.
    pub fn kept(&self, cmd: &Cmd) -> Option<Output> {
        self.reads.kept(&cmd.argv)
    }

    /// Runs and returns the output whatever the exit code; errors only when it could not run or timed out.
    pub fn run_unchecked(&self, cmd: &Cmd) -> Result<Output> {
        if cmd.mutating {
            self.reads.change_starts();
            let out = self.run_once(cmd);
            self.reads.change_ends();
            return out;
        }
        if !cmd.reusable {
            return self.run_once(cmd);
        }
        match self.reads.begin(&cmd.argv) {
            reads::Lookup::Kept(kept) => Ok(kept),
            reads::Lookup::Run(generation) => {
                let out = self.run_once(cmd);
                self.reads.finish(&cmd.argv, generation, out.as_ref().ok());
                out
            }
        }
    }

    /// The duct expression of `cmd`, stderr captured, in a process group of its own; refuses a
    /// mutating command under `--dry-run` and echoes the command under `--verbose`.
    fn expression(&self, cmd: &Cmd) -> Result<duct::Expression> {
        if self.dry_run && cmd.mutating {
            return Err(Error::failed(
                format!(
                    "internal error: refused to {} during --dry-run: `{}`",
                    cmd.purpose,
                    cmd.display()
                ),
                None,
            ));
        }
        if self.verbose {
            let _ = writeln!(std::io::stderr(), "+ {}", cmd.display());
        }
        let argv = self.argv_for(cmd);
        let mut expr = duct::cmd(&argv[0], &argv[1..])
            .stderr_capture()
            .unchecked()
            .before_spawn(own_process_group);
        for (k, v) in &cmd.env {
            expr = expr.env(k, v);
        }
        expr = match &cmd.stdin {
            Some(bytes) => expr.stdin_bytes(bytes.clone()),
            None => expr.stdin_null(),
        };
        Ok(expr)
    }

    fn run_once(&self, cmd: &Cmd) -> Result<Output> {
        let expr = self.expression(cmd)?.stdout_capture();
        let (handle, pids) = start(cmd, || {
            expr.start().map(|h| {
                let pids = h.pids();
                (h, pids)
            })
        })?;
        let waited = handle.wait_timeout(cmd.timeout);
        interrupt::park_if_interrupted();
        let waited = waited.map_err(|e| Error::Spawn {
            purpose: cmd.purpose.clone(),
            program: cmd.argv[0].clone(),
            source: e,
        });
        if !matches!(waited, Ok(None)) {
            interrupt::ended(&pids);
        }
        let Some(out) = waited? else {
            let _ = handle.kill();
            interrupt::ended(&pids);
            self.record(cmd, None);
            return Err(Error::Command {
                purpose: cmd.purpose.clone(),
                argv: cmd.display(),
                code: None,
                timed_out: true,
                stderr_tail: format!("no answer within {}s", cmd.timeout.as_secs()),
            });
        };
        let code = out.status.code().unwrap_or(-1);
        self.record(cmd, Some(code));
        if cmd.rewrites_kubeconfig {
            self.credentials.forget();
        }
        Ok(Output {
            code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs and fails with a full `Error::Command` on a non-zero exit.
    pub fn run(&self, cmd: &Cmd) -> Result<Output> {
        let out = self.run_unchecked(cmd)?;
        if out.success() {
            Ok(out)
        } else {
            Err(command_error(cmd, &out))
        }
    }

    /// Runs and parses stdout as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self, cmd: &Cmd) -> Result<T> {
        let out = self.run(cmd)?;
        parse_json(cmd, &out.stdout)
    }

    fn record(&self, cmd: &Cmd, code: Option<i32>) {
        if let Ok(mut l) = self.log.lock() {
            l.push(Invocation {
                argv: cmd.argv.iter().map(|a| redact(a)).collect(),
                mutating: cmd.mutating,
                code,
            });
        }
    }
}

/// `argv` with `--kubeconfig=path`: in place of the one it has, else at the end (before a `--`).
fn with_kubeconfig(argv: &[String], path: &str) -> Vec<String> {
    let flag = format!("--kubeconfig={path}");
    let mut argv = argv.to_vec();
    if let Some(i) = argv.iter().position(|a| a == "--kubeconfig") {
        argv[i] = flag;
        if i + 1 < argv.len() {
            argv.remove(i + 1);
        }
    } else if let Some(i) = argv.iter().position(|a| a.starts_with("--kubeconfig=")) {
        argv[i] = flag;
    } else {
        // At the end, like the tool wrappers put the other flags; before a `--`, after which
        // everything belongs to another program.
        let end = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
        argv.insert(end, flag);
    }
    argv
}

pub fn parse_json<T: DeserializeOwned>(cmd: &Cmd, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Parse {
        purpose: cmd.purpose.clone(),
        argv: cmd.display(),
        detail: e.to_string(),
    })
}

/// The error for a command that exited non-zero.
pub fn command_error(cmd: &Cmd, out: &Output) -> Error {
    Error::Command {
        purpose: cmd.purpose.clone(),
        argv: cmd.display(),
        code: Some(out.code),
        timed_out: false,
        stderr_tail: stderr_tail(&out.stderr),
    }
}

/// The last meaningful lines of stderr, redacted: enough to act on, short enough to read.
pub fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(6);
    let tail = lines[start..].join("\n");
    if tail.is_empty() {
        "(no error output)".to_string()
    } else {
        redact(&tail)
    }
}

const SECRET_MARKERS: [&str; 4] = [
    "k8s-aws-v1.",
    "aws_secret_access_key",
    "AWS_SECRET_ACCESS_KEY=",
    "aws_session_token",
];

/// Hides anything that looks like a credential.
pub fn redact(s: &str) -> String {
    let mut out = s.to_string();
    for marker in SECRET_MARKERS {
        while let Some(i) = out.find(marker) {
            let start = i + marker.len();
            let end = out[start..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                .map(|j| start + j)
                .unwrap_or(out.len());
            if end == start {
                break;
            }
            out.replace_range(i..end, &format!("{}<redacted>", marker.replace('.', "-")));
        }
    }
    out
}

fn display_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let a = redact(a);
            let q = shell_quote(&a);
            if q != a && a.len() > 120 {
                // Inline documents (policies) are long; the plan shows them in full elsewhere.
                "'<document>'".to_string()
            } else {
                q
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word for a POSIX shell: safe words as they are, everything else single-quoted.
pub fn shell_quote(a: &str) -> String {
    let safe = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if safe {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// What a streamed command produced next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// One line of stdout, without its line ending.
    Line(String),
    /// Nothing within the time asked for; the command is still running.
    Idle,
    /// stdout is closed: the command has ended (call [`LineStream::finish`] for its exit code).
    Closed,
}

/// A running command whose stdout is read line by line as it comes (`kubectl get -w`,
/// `kubectl logs -f`). Killed when finished early or dropped.
pub struct LineStream<'a> {
    runner: &'a Runner,
    cmd: Cmd,
    handle: std::sync::Arc<duct::ReaderHandle>,
    pids: Vec<u32>,
    lines: std::sync::mpsc::Receiver<String>,
    closed: bool,
}

impl Runner {
    /// Starts a command and streams its stdout by lines; stderr is kept for the error message.
    /// Only for reading commands: a stream has no overall time-out, the caller keeps the deadline.
    pub fn stream(&self, cmd: &Cmd) -> Result<LineStream<'_>> {
        let expr = self.expression(cmd)?;
        let (handle, pids) = start(cmd, || {
            expr.reader().map(|h| {
                let pids = h.pids();
                (std::sync::Arc::new(h), pids)
            })
        })?;
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::sync::Arc::clone(&handle);
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut r = std::io::BufReader::new(&*reader);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                            buf.pop();
                        }
                        if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(LineStream {
            runner: self,
            cmd: cmd.clone(),
            handle,
            pids,
            lines: rx,
            closed: false,
        })
    }
}

impl LineStream<'_> {
    /// The next line, waiting at most `wait`.
    pub fn next(&mut self, wait: Duration) -> StreamEvent {
        if self.closed {
            return StreamEvent::Closed;
        }
        match self.lines.recv_timeout(wait) {
            Ok(line) => StreamEvent::Line(line),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => StreamEvent::Idle,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                self.closed = true;
                StreamEvent::Closed
            }
        }
    }

    /// The command as run.
    pub fn cmd(&self) -> &Cmd {
        &self.cmd
    }

    /// Stops the command if it still runs and returns how it ended (stdout is empty: it was
    /// streamed). A command stopped here reports code -1.
    pub fn finish(self) -> Result<Output> {
        let _ = self.handle.kill();
        // And whatever it started (a wrapper's child keeps stdout open): its whole group.
        interrupt::kill_groups(&self.pids);
        // The reader thread reaps the child when stdout closes, then hangs up the channel.
        let until = std::time::Instant::now() + Duration::from_secs(10);
        if !self.closed {
            loop {
                let left = until.saturating_duration_since(std::time::Instant::now());
                if self.lines.recv_timeout(left).is_err() {
                    break;
                }
            }
        }
        let (code, stderr) = match self.handle.try_wait() {
            Ok(Some(o)) => (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ),
            // Killed, but something still holds its stdout open: report it as stopped.
            _ => (-1, String::new()),
        };
        self.runner.record(&self.cmd, Some(code));
        Ok(Output {
            code,
            stdout: String::new(),
            stderr,
        })
    }
}

impl Drop for LineStream<'_> {
    fn drop(&mut self) {
        let _ = self.handle.kill();
        interrupt::kill_groups(&self.pids);
        interrupt::ended(&self.pids);
    }
}

/// Each child leads its own process group: a terminal's Ctrl-C reaches only this process, whose
/// handler stops the children ([`interrupt`]), and stopping a group stops what the child started.
fn own_process_group(c: &mut std::process::Command) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt as _;
    c.process_group(0);
    Ok(())
}

/// Starts a child unless an interrupt has come; errors name the command.
fn start<H>(
    cmd: &Cmd,
    spawn: impl FnOnce() -> std::io::Result<(H, Vec<u32>)>,
) -> Result<(H, Vec<u32>)> {
    let spawn_error = |e| Error::Spawn {
        purpose: cmd.purpose.clone(),
        program: cmd.argv[0].clone(),
        source: e,
    };
    match interrupt::start(cmd, spawn) {
        Some(res) => res.map_err(spawn_error),
        None => {
            interrupt::park_if_interrupted();
            Err(spawn_error(std::io::Error::other("interrupted")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_and_redacts() {
        let c = Cmd::new("aws", "x").args(["a b", "plain", "Bearer k8s-aws-v1.SECRET"]);
        assert_eq!(
            c.display(),
            "aws 'a b' plain 'Bearer k8s-aws-v1-<redacted>'"
        );
    }

    #[test]
    fn failed_command_error_names_purpose_argv_code_and_stderr() {
        let r = Runner::new(false, false);
        let c = Cmd::new("sh", "prove errors carry stderr").args(["-c", "echo boom >&2; exit 3"]);
        let e = r.run(&c).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("failed to prove errors carry stderr: `sh -c"),
            "{msg}"
        );
        assert!(msg.contains("exited 3: boom"), "{msg}");
        assert_eq!(e.exit_code(), crate::error::exit::COMMAND_FAILED);
    }

    #[test]
    fn timeout_kills_and_reports() {
        let r = Runner::new(false, false);
        let c = Cmd::new("sleep", "wait forever")
            .arg("5")
            .timeout(Duration::from_millis(50));
        let e = r.run(&c).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::TIMED_OUT);
        assert!(e.to_string().contains("timed out"), "{e}");
    }

    #[test]
    fn the_runs_kubeconfig_takes_the_place_of_the_users() {
        let v = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        let k = "--kubeconfig=/t/k";
        for (from, to) in [
            (
                "kubectl --kubeconfig /u --context c get pods",
                format!("kubectl {k} --context c get pods"),
            ),
            (
                "helm status r --kubeconfig=/u",
                format!("helm status r {k}"),
            ),
            (
                "kubectl get pods -o json",
                format!("kubectl get pods -o json {k}"),
            ),
            (
                "kubectl exec p -- sh -c x",
                format!("kubectl exec p {k} -- sh -c x"),
            ),
        ] {
            assert_eq!(with_kubeconfig(&v(from), "/t/k"), v(&to), "{from}");
        }
    }

    #[test]
    fn dry_run_refuses_mutating_commands() {
        let r = Runner::new(false, true);
        let c = Cmd::new("true", "change something").mutating();
        assert!(r.run(&c).is_err());
        assert!(r.invocations().is_empty());
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let r = Runner::new(false, false);
        let e = r
            .run(&Cmd::new("definitely-not-a-tool-xyz", "run nothing"))
            .unwrap_err();
        assert!(matches!(e, Error::Spawn { .. }), "{e}");
    }
    #[test]
    fn stream_delivers_lines_as_they_come_and_reports_the_exit() {
        let r = Runner::new(false, false);
        let c =
            Cmd::new("sh", "print lines").args(["-c", "echo one; echo two; echo err >&2; exit 3"]);
        let mut s = r.stream(&c).unwrap();
        let mut lines = Vec::new();
        loop {
            match s.next(Duration::from_secs(10)) {
                StreamEvent::Line(l) => lines.push(l),
                StreamEvent::Idle => panic!("no output within 10 s"),
                StreamEvent::Closed => break,
            }
        }
        assert_eq!(lines, ["one", "two"]);
        let out = s.finish().unwrap();
        assert_eq!(out.code, 3);
        assert_eq!(out.stderr.trim(), "err");
        assert_eq!(r.invocations().len(), 1);
    }

    #[test]
    fn stream_can_be_stopped_early() {
        let r = Runner::new(false, false);
        let c = Cmd::new("sh", "run forever").args(["-c", "echo ready; exec sleep 30"]);
        let mut s = r.stream(&c).unwrap();
        assert_eq!(
            s.next(Duration::from_secs(10)),
            StreamEvent::Line("ready".into())
        );
        assert_eq!(s.next(Duration::from_millis(20)), StreamEvent::Idle);
        // Killed, not waited for: `sleep 30` left alone would exit 0.
        let out = s.finish().unwrap();
        assert_ne!(out.code, 0);
    }
}
