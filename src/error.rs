//! The library's typed errors: each variant knows its exit code and a hint for the user.

use std::fmt;

/// Documented exit codes (README, "Exit codes").
pub mod exit {
    pub const OK: i32 = 0;
    /// A check failed (doctor), a deployment failed, or a step failed for a reason other than a command.
    pub const FAILURE: i32 = 1;
    /// Bad input: a flag or value broke a rule. No command was run.
    pub const USAGE: i32 = 2;
    /// Required external tools are missing.
    pub const TOOLS_MISSING: i32 = 3;
    /// An external command (aws, kubectl, helm, eksctl, git) failed.
    pub const COMMAND_FAILED: i32 = 4;
    /// Changes were needed but not confirmed (declined, or no terminal and no --yes).
    pub const NOT_CONFIRMED: i32 = 5;
    /// A wait ran past its deadline.
    pub const TIMED_OUT: i32 = 6;
    /// Another setup or teardown holds the cluster's lock (a Lease); nothing was changed.
    pub const LOCKED: i32 = 7;
    /// Stopped by SIGINT (128 + 2); see `exec::interrupt`.
    pub const INTERRUPTED_SIGINT: i32 = 130;
    /// Stopped by SIGTERM (128 + 15).
    pub const INTERRUPTED_SIGTERM: i32 = 143;
}

/// A tool that was looked for on PATH and not found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MissingTool {
    pub name: String,
    pub needed_for: String,
    pub install: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A user-supplied value broke a rule; `field` names the flag or field path.
    #[error("invalid {field}: {rule}")]
    Invalid { field: String, rule: String },

    #[error("{}", missing_tools_message(.0))]
    ToolsMissing(Vec<MissingTool>),

    /// An external command exited non-zero (or was killed by its time-out).
    #[error("failed to {purpose}: `{argv}` {}: {stderr_tail}", exit_text(*.code, *.timed_out))]
    Command {
        purpose: String,
        argv: String,
        code: Option<i32>,
        timed_out: bool,
        stderr_tail: String,
    },

    /// An external command could not be started at all.
    #[error("failed to {purpose}: could not run `{program}`: {source}")]
    Spawn {
        purpose: String,
        program: String,
        #[source]
        source: std::io::Error,
    },

    /// A tool printed something we could not understand.
    #[error("failed to {purpose}: could not parse the output of `{argv}`: {detail}")]
    Parse {
        purpose: String,
        argv: String,
        detail: String,
    },

    /// Another run holds the cluster's lock.
    #[error("another {command} holds the lock on this cluster: {holder}, since {since} (renewed {renewed} ago); nothing was changed")]
    Locked {
        holder: String,
        command: String,
        since: String,
        renewed: String,
        /// The lease's own `leaseDurationSeconds`: how long after its last renewal it lapses.
        lapses_after: i64,
    },

    #[error("template {name}: {detail}")]
    Template { name: String, detail: String },

    /// A setup/teardown step failed; wraps the cause.
    #[error("step {step} ({title}) failed: {source}")]
    Step {
        step: String,
        title: String,
        #[source]
        source: Box<Error>,
    },

    /// Several steps failed in the same wave; the first one decides the exit code.
    #[error("{} steps failed:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<Error>),

    #[error("{0}")]
    NotConfirmed(String),

    #[error("timed out after {seconds}s waiting for {what}; last state: {last_state}")]
    TimedOut {
        what: String,
        seconds: u64,
        last_state: String,
    },

    /// Something went wrong that is a failure but not a command error (e.g. a deployment reported failure).
    #[error("{message}")]
    Failed {
        message: String,
        hint: Option<String>,
    },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn exit_text(code: Option<i32>, timed_out: bool) -> String {
    match (timed_out, code) {
        (true, _) => "timed out".to_string(),
        (false, Some(c)) => format!("exited {c}"),
        (false, None) => "was killed by a signal".to_string(),
    }
}

fn missing_tools_message(tools: &[MissingTool]) -> String {
    let mut s = String::from("required tools are missing:");
    for t in tools {
        s.push_str(&format!(
            "\n  - {} (needed to {}): {}",
            t.name, t.needed_for, t.install
        ));
    }
    s
}

impl Error {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    pub fn failed(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Failed {
            message: message.into(),
            hint,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The innermost error (through `Step` wrappers).
    pub fn root(&self) -> &Error {
        match self {
            Error::Step { source, .. } => source.root(),
            Error::Many(errors) if !errors.is_empty() => errors[0].root(),
            other => other,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self.root() {
            Error::Invalid { .. } => exit::USAGE,
            Error::ToolsMissing(_) => exit::TOOLS_MISSING,
            Error::Command {
                timed_out: true, ..
            }
            | Error::TimedOut { .. } => exit::TIMED_OUT,
            Error::Command { .. } | Error::Spawn { .. } | Error::Parse { .. } => {
                exit::COMMAND_FAILED
            }
            Error::NotConfirmed(_) => exit::NOT_CONFIRMED,
            Error::Locked { .. } => exit::LOCKED,
            Error::Template { .. }
            | Error::Step { .. }
            | Error::Many(_)
            | Error::Failed { .. }
            | Error::Io { .. } => exit::FAILURE,
        }
    }

    /// A stable machine-readable name for `-o json` errors.
    pub fn kind(&self) -> &'static str {
        match self.root() {
            Error::Invalid { .. } => "invalid_input",
            Error::ToolsMissing(_) => "tools_missing",
            Error::Command {
                timed_out: true, ..
            } => "command_timed_out",
            Error::Command { .. } => "command_failed",
            Error::Spawn { .. } => "command_not_started",
            Error::Parse { .. } => "unexpected_output",
            Error::Template { .. } => "template",
            Error::Step { .. } => "step_failed",
            Error::Many(_) => "steps_failed",
            Error::NotConfirmed(_) => "not_confirmed",
            Error::Locked { .. } => "locked",
            Error::TimedOut { .. } => "timed_out",
            Error::Failed { .. } => "failed",
            Error::Io { .. } => "io",
        }
    }

    /// What the user can do about it, when we know.
    pub fn hint(&self) -> Option<String> {
        match self.root() {
            Error::Invalid { .. } => Some("run with --help to see what each flag accepts".into()),
            Error::ToolsMissing(_) => Some("install the tools above and re-run; `kubectl hyperpod doctor` checks them".into()),
            Error::Command { stderr_tail, argv, .. } => command_hint(argv, stderr_tail),
            Error::NotConfirmed(_) => Some("re-run with --yes to apply without asking, or --dry-run to only see the plan".into()),
            Error::TimedOut { .. } => Some("raise the deadline with --timeout, or check progress with `kubectl hyperpod doctor`".into()),
            Error::Failed { hint, .. } => hint.clone(),
            Error::Locked { lapses_after, .. } => Some(format!(
                "wait for it to finish (the lock expires {lapses_after}s after its holder stops renewing it), or, if that run is dead, re-run with --force-unlock"
            )),
            _ => None,
        }
    }
}

/// Hints for well-known failures of the AWS CLI, kubectl and helm.
fn command_hint(argv: &str, stderr: &str) -> Option<String> {
    let s = stderr;
    if s.contains("Unable to locate credentials")
        || s.contains("InvalidClientTokenId")
        || s.contains("ExpiredToken")
        || s.contains("UnrecognizedClientException")
    {
        return Some("AWS credentials are missing or rejected: check `aws sts get-caller-identity`, AWS_PROFILE or --profile".into());
    }
    if s.contains("AccessDenied") {
        return Some("your AWS identity lacks a permission named above; the guide assumes administrator access".into());
    }
    if s.contains("ResourceNotFoundException") && argv.contains("describe-cluster") {
        return Some("check the cluster name and --region (`aws sagemaker list-clusters`, `aws eks list-clusters`)".into());
    }
    if s.contains("Unauthorized") || s.contains("You must be logged in to the server") {
        return Some("your IAM principal has no access entry on the EKS cluster: add one with AmazonEKSClusterAdminPolicy (EKS console, Access tab)".into());
    }
    if s.contains("connection refused")
        || s.contains("no such host")
        || s.contains("Unable to connect to the server")
    {
        return Some("the Kubernetes API is unreachable: check --kubeconfig/--context, or let setup write the kubeconfig".into());
    }
    if s.contains("Unsupported AWS Region") {
        return Some("the inference operator chart supports a fixed list of regions; pick one of them with --region".into());
    }
    None
}

/// Wraps a step's error with its id and title.
pub fn in_step(step: &str, title: &str, e: Error) -> Error {
    Error::Step {
        step: step.to_string(),
        title: title.to_string(),
        source: Box::new(e),
    }
}

impl fmt::Display for MissingTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.install)
    }
}
