//! One command's outcome (exit code, output) and the assertions on it; how commands are run.

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

pub(crate) fn run_command(mut cmd: Command, name: &str, args: &[&str]) -> Run {
    let cmdline = std::iter::once(name.to_string())
        .chain(args.iter().map(|a| shell_quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmdline}: {e}"));
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let limit = cmd_timeout();
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    let out =
                        String::from_utf8_lossy(&t_out.join().unwrap_or_default()).to_string();
                    let err =
                        String::from_utf8_lossy(&t_err.join().unwrap_or_default()).to_string();
                    panic!(
                        "command timed out after {limit:?}:\n$ {cmdline}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("waiting for {cmdline}: {e}"),
        }
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).to_string();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).to_string();
    Run {
        cmd: cmdline,
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
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
