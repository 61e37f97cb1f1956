//! One command's outcome (exit code, output) and the assertions on it; how commands are run, to
//! the end or in the background ([`Spawned`]: signal it, poll it, then finish it).

use super::*;

/// One command's outcome.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line, for messages.
    pub cmd: String,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics (with the command, code, stdout and stderr) unless the exit code is 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        if self.code != 0 {
            panic!("command failed (exit {}):\n{}", self.code, self.describe());
        }
        self
    }

    /// Panics unless the command failed (non-zero exit).
    #[track_caller]
    pub fn failure(&self) -> &Self {
        if self.code == 0 {
            panic!("command unexpectedly succeeded:\n{}", self.describe());
        }
        self
    }

    /// Panics (showing the run) unless the exit code is `code`.
    #[track_caller]
    pub fn exits(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{}", self.describe());
        self
    }

    /// Panics (naming the first missing one, showing the run) unless stdout has every needle.
    #[track_caller]
    pub fn stdout_has(&self, needles: &[&str]) -> &Self {
        self.has("stdout", &self.stdout, needles)
    }

    /// Panics (naming the first missing one, showing the run) unless stderr has every needle.
    #[track_caller]
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        self.has("stderr", &self.stderr, needles)
    }

    #[track_caller]
    fn has(&self, stream: &str, text: &str, needles: &[&str]) -> &Self {
        for n in needles {
            assert!(
                text.contains(n),
                "{stream} misses {n:?}\n{}",
                self.describe()
            );
        }
        self
    }

    /// stdout parsed as JSON (panics with the output when it is not JSON).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}):\n{}", self.describe());
        })
    }

    /// Human-readable summary of the run.
    pub fn describe(&self) -> String {
        format!(
            "$ {}\n[exit {}]\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }
}

pub(crate) fn run_command(cmd: Command, name: &str, args: &[&str]) -> Run {
    Spawned::start(cmd, name, args).finish().0
}

/// A command running in the background, its stdout and stderr read as they come (so it never
/// blocks on a full pipe) for the [`Run`] it ends with.
pub struct Spawned {
    child: Child,
    cmdline: String,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
}

impl Spawned {
    /// Starts `cmd` (`name args` for messages) with stdout and stderr piped.
    pub(crate) fn start(mut cmd: Command, name: &str, args: &[&str]) -> Spawned {
        let cmdline = std::iter::once(name.to_string())
            .chain(args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ");
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmdline}: {e}"));
        let read_all = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut b = Vec::new();
                let _ = r.read_to_end(&mut b);
                b
            })
        };
        let out = read_all(Box::new(child.stdout.take().expect("stdout")));
        let err = read_all(Box::new(child.stderr.take().expect("stderr")));
        Spawned {
            child,
            cmdline,
            out,
            err,
        }
    }

    /// Its process id (with [`Sandbox::spawn_hyperpod`], also its process group's).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited, without waiting.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// Waits for it (at most the commands' timeout); returns its run and when it ended.
    pub fn finish(self) -> (Run, Instant) {
        self.finish_within(cmd_timeout())
    }

    /// Waits at most `limit` for it to exit, else kills it and panics with its output; returns
    /// its run and when it ended (within 10 ms).
    #[track_caller]
    pub fn finish_within(mut self, limit: Duration) -> (Run, Instant) {
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let run = self.output(-1);
                    panic!("command still ran after {limit:?}:\n{}", run.describe());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("waiting for {}: {e}", self.cmdline),
            }
        };
        let ended = Instant::now();
        (self.output(status.code().unwrap_or(-1)), ended)
    }

    fn output(self, code: i32) -> Run {
        let text = |t: std::thread::JoinHandle<Vec<u8>>| {
            String::from_utf8_lossy(&t.join().unwrap_or_default()).to_string()
        };
        Run {
            cmd: self.cmdline,
            code,
            stdout: text(self.out),
            stderr: text(self.err),
        }
    }
}

pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Polls `f` until it returns Some, or panics after `timeout` with `what`.
#[track_caller]
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A JSON object's string at a dotted path (`"metadata.annotations.x"` does not work for
/// keys with dots: use `v["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]`).
pub fn jstr<'a>(v: &'a Value, path: &str) -> &'a str {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_str().unwrap_or("")
}

/// Map of a kube object's annotations.
pub fn annotations(obj: &Value) -> BTreeMap<String, String> {
    obj["metadata"]["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}
