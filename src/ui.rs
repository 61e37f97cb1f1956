//! The output layer every command uses: results on stdout, progress on stderr,
//! colour and live lines only on a terminal, `-q`, and `-o text|json|yaml`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Text,
    Json,
    Yaml,
}

/// How to talk to the user. Cheap to share (`Sync`).
pub struct Ui {
    pub format: Format,
    pub quiet: bool,
    pub verbose: bool,
    pub color: bool,
    /// stderr is a terminal: live status lines are allowed.
    pub live: bool,
    /// stdin is a terminal: questions can be asked.
    pub interactive: bool,
    lock: Mutex<()>,
    started: Instant,
}

impl Ui {
    pub fn new(format: Format, quiet: bool, verbose: bool, no_color: bool) -> Self {
        let stderr_tty = std::io::stderr().is_terminal();
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            format,
            quiet,
            verbose,
            color: stderr_tty && !no_color && !no_color_env,
            live: stderr_tty && !quiet,
            interactive: std::io::stdin().is_terminal() && stderr_tty,
            lock: Mutex::new(()),
            started: Instant::now(),
        }
    }

    /// A plain UI for library callers and tests: no colour, no live lines, nothing asked.
    pub fn plain() -> Self {
        Ui {
            format: Format::Text,
            quiet: true,
            verbose: false,
            color: false,
            live: false,
            interactive: false,
            lock: Mutex::new(()),
            started: Instant::now(),
        }
    }

    pub fn elapsed_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// A progress line on stderr (suppressed by -q).
    pub fn progress(&self, msg: &str) {
        if self.quiet {
            return;
        }
        let _g = self.lock.lock();
        let mut e = std::io::stderr().lock();
        if self.live {
            let _ = write!(e, "\r\x1b[2K");
        }
        let _ = writeln!(e, "{msg}");
    }

    /// A status line that replaces itself on a terminal; off a terminal it is printed only when
    /// `changed` is true, so logs get one line per transition and no spinner frames.
    pub fn status(&self, msg: &str, changed: bool) {
        if self.quiet {
            return;
        }
        let _g = self.lock.lock();
        let mut e = std::io::stderr().lock();
        if self.live {
            let _ = write!(e, "\r\x1b[2K{msg}");
            let _ = e.flush();
        } else if changed {
            let _ = writeln!(e, "{msg}");
        }
    }

    /// Ends a live status line.
    pub fn status_done(&self) {
        if self.live {
            let _g = self.lock.lock();
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }

    /// A warning on stderr, shown even with -q.
    pub fn warn(&self, msg: &str) {
        let _g = self.lock.lock();
        let _ = writeln!(std::io::stderr(), "{} {msg}", self.paint("warning:", "33"));
    }

    pub fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn green(&self, t: &str) -> String {
        self.paint(t, "32")
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint(t, "33")
    }
    pub fn red(&self, t: &str) -> String {
        self.paint(t, "31")
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint(t, "1")
    }

    /// Writes a result to stdout: `text` for humans, the data for json/yaml.
    pub fn result<T: Serialize>(&self, data: &T, text: impl FnOnce() -> String) -> Result<()> {
        let out = match self.format {
            Format::Text => text(),
            Format::Json => to_json(data)? + "\n",
            Format::Yaml => to_yaml(data)?,
        };
        let mut o = std::io::stdout().lock();
        o.write_all(out.as_bytes())
            .and_then(|_| o.flush())
            .map_err(|e| Error::io("write to stdout", e))
    }

    /// Asks a yes/no question on the terminal. Never called off a terminal.
    pub fn confirm(&self, question: &str) -> bool {
        let _g = self.lock.lock();
        let _ = write!(std::io::stderr(), "{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_err() {
            return false;
        }
        matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    }
}

pub fn to_json<T: Serialize>(data: &T) -> Result<String> {
    serde_json::to_string_pretty(data)
        .map_err(|e| Error::failed(format!("could not encode JSON: {e}"), None))
}

pub fn to_yaml<T: Serialize>(data: &T) -> Result<String> {
    serde_yaml::to_string(data)
        .map_err(|e| Error::failed(format!("could not encode YAML: {e}"), None))
}

/// The JSON shape of an error under `-o json`.
#[derive(Serialize)]
pub struct ErrorDoc<'a> {
    pub error: ErrorBody<'a>,
}

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub kind: &'a str,
    pub message: String,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_tools: Option<&'a [crate::error::MissingTool]>,
}

impl<'a> ErrorDoc<'a> {
    pub fn new(e: &'a Error) -> Self {
        let step = match e {
            Error::Step { step, .. } => Some(step.clone()),
            _ => None,
        };
        let missing_tools = match e.root() {
            Error::ToolsMissing(t) => Some(t.as_slice()),
            _ => None,
        };
        ErrorDoc {
            error: ErrorBody {
                kind: e.kind(),
                message: e.to_string(),
                exit_code: e.exit_code(),
                hint: e.hint(),
                step,
                missing_tools,
            },
        }
    }
}
