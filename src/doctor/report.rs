//! What a doctor run produces: one result per check (and subject), each with a status, a one-line
//! finding and, for problems, a fix made of exact commands; plus the summary and the text form.

use serde::Serialize;

use crate::exec::{shell_quote, Cmd};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skipped,
}

impl Status {
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "[✓]",
            Status::Warn => "[!]",
            Status::Fail => "[✗]",
            Status::Skipped => "[-]",
        }
    }
}

/// The groups checks are shown in, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    Tools,
    Aws,
    ClusterAccess,
    Iam,
    Operator,
    AddOns,
    Gpus,
    Models,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Tools => "Tools",
            Group::Aws => "AWS",
            Group::ClusterAccess => "Cluster access",
            Group::Iam => "IAM",
            Group::Operator => "Inference operator",
            Group::AddOns => "Add-ons",
            Group::Gpus => "GPUs",
            Group::Models => "Models",
        }
    }
}

/// One command of a fix: the argv that is run (by `--fix`, or by a person), the document it reads
/// on stdin if any, and the same as one copy-pasteable shell line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixCommand {
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    pub shell: String,
}

impl FixCommand {
    pub fn new(argv: Vec<String>, stdin: Option<String>) -> Self {
        let shell = shell_line(&argv, stdin.as_deref());
        FixCommand { argv, stdin, shell }
    }

    /// From a command built by the tool wrappers (so `--region`, `--kubeconfig` ... are forwarded).
    pub fn from_cmd(cmd: &Cmd) -> Self {
        let stdin = cmd
            .stdin
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned());
        FixCommand::new(cmd.argv.clone(), stdin)
    }
}

/// How to repair a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What the commands do, or what to do when no command can (one line).
    pub summary: String,
    /// `doctor --fix` applies it (only safe, targeted changes are automatic).
    pub automatic: bool,
    pub commands: Vec<FixCommand>,
}

impl Fix {
    /// A fix that a person applies.
    pub fn manual(summary: impl Into<String>, cmds: Vec<Cmd>) -> Self {
        Fix {
            summary: summary.into(),
            automatic: false,
            commands: cmds.iter().map(FixCommand::from_cmd).collect(),
        }
    }

    /// A fix that `doctor --fix` may apply.
    pub fn automatic(summary: impl Into<String>, cmds: Vec<Cmd>) -> Self {
        Fix {
            automatic: true,
            ..Fix::manual(summary, cmds)
        }
    }

    /// Advice without a command (e.g. install a tool).
    pub fn advice(summary: impl Into<String>) -> Self {
        Fix::manual(summary, vec![])
    }
}

/// What one check says about one subject (a check may report several subjects, e.g. per model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub subject: Option<String>,
    pub status: Status,
    pub finding: String,
    pub details: Vec<String>,
    pub fix: Option<Fix>,
}

impl Outcome {
    fn new(status: Status, finding: impl Into<String>) -> Self {
        Outcome {
            subject: None,
            status,
            finding: finding.into(),
            details: Vec::new(),
            fix: None,
        }
    }
    pub(crate) fn pass(finding: impl Into<String>) -> Self {
        Outcome::new(Status::Pass, finding)
    }
    pub(crate) fn warn(finding: impl Into<String>) -> Self {
        Outcome::new(Status::Warn, finding)
    }
    pub(crate) fn fail(finding: impl Into<String>) -> Self {
        Outcome::new(Status::Fail, finding)
    }
    pub(crate) fn skip(reason: impl Into<String>) -> Self {
        Outcome::new(Status::Skipped, reason)
    }
    pub(crate) fn subject(mut self, s: impl Into<String>) -> Self {
        self.subject = Some(s.into());
        self
    }
    pub(crate) fn detail(mut self, d: impl Into<String>) -> Self {
        self.details.push(d.into());
        self
    }
    pub(crate) fn details(mut self, d: impl IntoIterator<Item = String>) -> Self {
        self.details.extend(d);
        self
    }
    pub(crate) fn fix(mut self, f: Fix) -> Self {
        self.fix = Some(f);
        self
    }
    pub(crate) fn maybe_fix(mut self, f: Option<Fix>) -> Self {
        self.fix = f;
        self
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub id: &'static str,
    pub group: Group,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub status: Status,
    pub finding: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl CheckResult {
    pub fn is_problem(&self) -> bool {
        matches!(self.status, Status::Warn | Status::Fail)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub warnings: usize,
    pub failed: usize,
    pub skipped: usize,
    /// warnings + failed
    pub problems: usize,
    /// problems whose fix `--fix` applies
    pub fixable: usize,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// No check failed (warnings allowed).
    pub ok: bool,
    pub summary: Summary,
    pub checks: Vec<CheckResult>,
}

impl Report {
    pub fn new(checks: Vec<CheckResult>) -> Self {
        let mut s = Summary::default();
        for c in &checks {
            match c.status {
                Status::Pass => s.passed += 1,
                Status::Warn => s.warnings += 1,
                Status::Fail => s.failed += 1,
                Status::Skipped => s.skipped += 1,
            }
            if c.is_problem() && c.fix.as_ref().is_some_and(|f| f.automatic) {
                s.fixable += 1;
            }
        }
        s.problems = s.warnings + s.failed;
        Report {
            ok: s.failed == 0,
            summary: s,
            checks,
        }
    }

    pub fn exit_code(&self) -> i32 {
        if self.ok {
            crate::error::exit::OK
        } else {
            crate::error::exit::FAILURE
        }
    }

    pub fn get(&self, id: &str) -> impl Iterator<Item = &CheckResult> {
        let id = id.to_string();
        self.checks.iter().filter(move |c| c.id == id)
    }

    /// The problems whose fixes `--fix` applies, in check order.
    pub fn automatic_fixes(&self) -> Vec<&CheckResult> {
        self.checks
            .iter()
            .filter(|c| c.is_problem() && c.fix.as_ref().is_some_and(|f| f.automatic))
            .collect()
    }

    /// "3 problems found (2 failed, 1 warning); 2 fixable with --fix; 4 checks skipped."
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let mut line = if s.problems == 0 {
            "No problems found".to_string()
        } else {
            let mut parts = Vec::new();
            if s.failed > 0 {
                parts.push(format!("{} failed", s.failed));
            }
            if s.warnings > 0 {
                parts.push(plural(s.warnings, "warning"));
            }
            format!(
                "{} found ({})",
                plural(s.problems, "problem"),
                parts.join(", ")
            )
        };
        if s.fixable > 0 {
            line.push_str(&format!("; {} fixable with --fix", s.fixable));
        }
        if s.skipped > 0 {
            line.push_str(&format!("; {} skipped", plural(s.skipped, "check")));
        }
        line.push('.');
        line
    }

    /// The report for people: groups, `[✓] [!] [✗] [-]` lines, details and fixes, the summary.
    pub fn render_text(&self, paint: &dyn Fn(Status, &str) -> String) -> String {
        let mut out = String::new();
        let mut group = None;
        for c in &self.checks {
            if group != Some(c.group) {
                if group.is_some() {
                    out.push('\n');
                }
                out.push_str(c.group.title());
                out.push('\n');
                group = Some(c.group);
            }
            let title = match &c.subject {
                Some(s) => format!("{} ({s})", c.title),
                None => c.title.clone(),
            };
            out.push_str(&format!(
                "  {} {} {title}: {}\n",
                paint(c.status, c.status.mark()),
                c.id,
                c.finding
            ));
            for d in &c.details {
                for (i, l) in d.lines().enumerate() {
                    let lead = if i == 0 { "      - " } else { "        " };
                    out.push_str(&format!("{lead}{l}\n"));
                }
            }
            if let (Some(f), true) = (&c.fix, c.is_problem()) {
                let how = if f.automatic {
                    "fix (applied by --fix)"
                } else {
                    "fix"
                };
                out.push_str(&format!("      {how}: {}\n", f.summary));
                for cmd in &f.commands {
                    for (i, l) in cmd.shell.lines().enumerate() {
                        let lead = if i == 0 { "        $ " } else { "          " };
                        out.push_str(&format!("{lead}{l}\n"));
                    }
                }
            }
        }
        out.push('\n');
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One shell line for an argv: safe words as they are, everything else single-quoted; a stdin
/// document becomes a here-document, so the line can be pasted into bash or zsh as it is.
pub(crate) fn shell_line(argv: &[String], stdin: Option<&str>) -> String {
    let mut line = argv
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(doc) = stdin {
        let mut tag = "EOF".to_string();
        while doc.lines().any(|l| l == tag) {
            tag.push('_');
        }
        line.push_str(&format!(" <<'{tag}'\n{}", doc));
        if !doc.ends_with('\n') {
            line.push('\n');
        }
        line.push_str(&tag);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &'static str, status: Status, fix: Option<Fix>) -> CheckResult {
        CheckResult {
            id,
            group: Group::Iam,
            title: "t".into(),
            subject: None,
            status,
            finding: "f".into(),
            details: vec![],
            fix,
        }
    }

    #[test]
    fn shell_lines_quote_what_needs_it() {
        let argv: Vec<String> = ["aws", "iam", "x", "--policy-document", r#"{"a": "it's"}"#]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_line(&argv, None),
            r#"aws iam x --policy-document '{"a": "it'\''s"}'"#
        );
        assert_eq!(shell_quote(""), "''");
        assert_eq!(
            shell_quote("eks.amazonaws.com/role-arn=arn:aws:iam::1:role/R"),
            "eks.amazonaws.com/role-arn=arn:aws:iam::1:role/R"
        );
    }

    #[test]
    fn stdin_documents_become_here_documents() {
        let argv = vec![
            "kubectl".to_string(),
            "apply".into(),
            "-f".into(),
            "-".into(),
        ];
        let l = shell_line(&argv, Some("a: 1\nEOF\n"));
        assert_eq!(l, "kubectl apply -f - <<'EOF_'\na: 1\nEOF\nEOF_");
    }

    #[test]
    fn summary_counts_problems_and_fixable() {
        let auto = Some(Fix::automatic("x", vec![]));
        let rep = Report::new(vec![
            r("HP1", Status::Pass, None),
            r("HP2", Status::Fail, auto.clone()),
            r("HP3", Status::Warn, Some(Fix::advice("y"))),
            r("HP4", Status::Fail, None),
            r("HP5", Status::Skipped, None),
            r("HP6", Status::Pass, auto),
        ]);
        assert!(!rep.ok);
        assert_eq!(rep.exit_code(), 1);
        assert_eq!(rep.summary.problems, 3);
        assert_eq!(rep.summary.fixable, 1);
        assert_eq!(
            rep.summary_line(),
            "3 problems found (2 failed, 1 warning); 1 fixable with --fix; 1 check skipped."
        );
        assert_eq!(rep.automatic_fixes().len(), 1);
        let ok = Report::new(vec![
            r("HP1", Status::Pass, None),
            r("HP2", Status::Warn, None),
        ]);
        assert!(ok.ok);
        assert_eq!(ok.summary_line(), "1 problem found (1 warning).");
    }

    #[test]
    fn text_shows_marks_fixes_and_summary() {
        let cmd = Cmd::new("aws", "p").args(["iam", "create-open-id-connect-provider"]);
        let rep = Report::new(vec![
            r(
                "HP401",
                Status::Fail,
                Some(Fix::automatic("create it", vec![cmd])),
            ),
            r("HP402", Status::Pass, None),
        ]);
        let text = rep.render_text(&|_, m| m.to_string());
        assert!(text.starts_with("IAM\n  [✗] HP401 t: f\n"), "{text}");
        assert!(text.contains("      fix (applied by --fix): create it\n        $ aws iam create-open-id-connect-provider\n"), "{text}");
        assert!(text.contains("  [✓] HP402 t: f\n"), "{text}");
        assert!(
            text.ends_with("\n1 problem found (1 failed); 1 fixable with --fix.\n"),
            "{text}"
        );
    }
}
