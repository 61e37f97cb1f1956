//! The output layer every command uses: results on stdout, progress on stderr,
//! colour and live lines only on a terminal, `-q`, and `-o text|json|yaml`.
//!
//! Colour is decided per stream: text written to a stream that is not a terminal (or with
//! `NO_COLOR`, `--no-color`, `TERM=dumb`) has every escape sequence removed, so callers may paint
//! freely and logs and pipes stay clean.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Colour may reach stdout / stderr.
    out_color: bool,
    err_color: bool,
    /// The next spinner frame of a live status line.
    frame: AtomicUsize,
    lock: Mutex<()>,
    started: Instant,
}

/// Spinner frames of a live status line (terminal only).
pub const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Whether colour is allowed at all: not `--no-color`, no non-empty `NO_COLOR`, not `TERM=dumb`.
pub fn color_allowed(no_color_flag: bool) -> bool {
    !no_color_flag && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && !term_dumb()
}

fn term_dumb() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// Removes terminal escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ST`, and
/// two-byte `ESC x`) and carriage returns.
pub fn strip_ansi(s: &str) -> String {
    if !s.contains(['\x1b', '\r']) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {}
            '\x1b' => match chars.next() {
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' {
                            break;
                        }
                        if c == '\x1b' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                Some('(' | ')' | '*' | '+') => {
                    chars.next();
                }
                _ => {}
            },
            c => out.push(c),
        }
    }
    out
}

impl Ui {
    pub fn new(format: Format, quiet: bool, verbose: bool, no_color: bool) -> Self {
        let stderr_tty = std::io::stderr().is_terminal();
        let stdout_tty = std::io::stdout().is_terminal();
        let color = color_allowed(no_color);
        Ui {
            format,
            quiet,
            verbose,
            color: color && (stdout_tty || stderr_tty),
            // -v prints each command on its own line (the runner writes them to stderr); a
            // self-replacing status line would tangle with them.
            live: stderr_tty && !quiet && !verbose && !term_dumb(),
            interactive: std::io::stdin().is_terminal() && stderr_tty,
            out_color: color && stdout_tty,
            err_color: color && stderr_tty,
            frame: AtomicUsize::new(0),
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
            out_color: false,
            err_color: false,
            frame: AtomicUsize::new(0),
            lock: Mutex::new(()),
            started: Instant::now(),
        }
    }

    pub fn elapsed_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Text for stderr: escape sequences only when stderr shows colour.
    fn for_stderr<'a>(&self, msg: &'a str) -> std::borrow::Cow<'a, str> {
        if self.err_color {
            msg.into()
        } else {
            strip_ansi(msg).into()
        }
    }

    /// Writes `msg` as a line on stderr, over the live status line if there is one.
    fn stderr_line(&self, msg: &str) {
        let msg = self.for_stderr(msg);
        let _g = self.lock.lock();
        let mut e = std::io::stderr().lock();
        if self.live {
            let _ = write!(e, "\r\x1b[2K");
        }
        let _ = writeln!(e, "{msg}");
    }

    /// A progress line on stderr (suppressed by -q).
    pub fn progress(&self, msg: &str) {
        if !self.quiet {
            self.stderr_line(msg);
        }
    }

    /// A status line that replaces itself on a terminal, behind a spinner frame that advances
    /// with each call; off a terminal it is printed only when `changed` is true, so logs get one
    /// line per transition and no spinner frames.
    pub fn status(&self, msg: &str, changed: bool) {
        if self.quiet {
            return;
        }
        let msg = self.for_stderr(msg);
        let _g = self.lock.lock();
        let mut e = std::io::stderr().lock();
        if self.live {
            let n = self.frame.fetch_add(1, Ordering::Relaxed);
            let spin = SPINNER[n % SPINNER.len()];
            let _ = write!(e, "\r\x1b[2K{spin} {msg}");
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
        self.stderr_line(&format!("{} {msg}", self.paint("warning:", "33")));
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
            Format::Text if self.out_color => text(),
            Format::Text => strip_ansi(&text()),
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
        let question = self.for_stderr(question);
        let _g = self.lock.lock();
        if self.live {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_ansi_removes_colour_cursor_and_osc_sequences() {
        assert_eq!(strip_ansi("plain"), "plain");
        assert_eq!(strip_ansi("\x1b[31merror:\x1b[0m x"), "error: x");
        assert_eq!(strip_ansi("\r\x1b[2K⠋ waiting"), "⠋ waiting");
        assert_eq!(strip_ansi("\x1b]8;;http://x\x07link\x1b]8;;\x1b\\"), "link");
        assert_eq!(strip_ansi("a\x1b(Bb"), "ab");
        assert_eq!(strip_ansi("ünïcode ✓"), "ünïcode ✓");
    }

    #[test]
    fn plain_ui_paints_nothing() {
        let ui = Ui::plain();
        assert_eq!(ui.red("x"), "x");
        assert!(!ui.live);
    }
}
