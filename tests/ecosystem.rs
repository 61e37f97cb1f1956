//! Fitting into the ecosystem: install.sh into a temporary prefix (found by the real kubectl),
//! shell completion, man pages, the krew manifest, `-o json` of every subcommand (errors
//! included), clean output off a terminal and colour on one, `--help` examples, and the
//! documented exit codes.
//! Over 800 lines on purpose: every test binary starts its own emulated cloud (tests/common), so
//! one file per command keeps the suite to a few clouds; the tests are independent and run in parallel.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use clap::CommandFactory;
use kubectl_hyperpod::cli::Cli;
use kubectl_hyperpod::error::exit;
use kubectl_hyperpod::ui::SPINNER;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-hyperpod");
const DEADLINE: Duration = Duration::from_secs(180);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a finished process printed.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn describe(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success:\n{}", self.describe());
        self
    }
    /// Panics (naming the needle, showing the run) unless `stream` ("stdout" or "stderr") has
    /// every one of `needles`.
    #[track_caller]
    fn has(&self, stream: &str, needles: &[&str]) -> &Self {
        let text = if stream == "stdout" {
            &self.stdout
        } else {
            &self.stderr
        };
        if let Some(n) = needles.iter().find(|n| !text.contains(**n)) {
            panic!("{stream} misses {n:?}\n{}", self.describe());
        }
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.describe()))
    }
}

/// Runs with stdin closed and stdout/stderr captured (so neither is a terminal), and a deadline.
fn run(mut cmd: Command) -> Out {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(Ok(o)) => Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{what} did not finish within {}s", DEADLINE.as_secs());
        }
    }
}

/// An environment with nothing inherited: HOME and KUBECONFIG inside `dir`, PATH as given.
fn clean_env(cmd: &mut Command, dir: &Path, path: &str) {
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("KUBECONFIG", dir.join("no-kubeconfig"))
        .env("TERM", "xterm-256color")
        .env("LANG", "C.UTF-8");
}

/// The plugin with no tools on PATH at all.
fn hp_bare(dir: &Path, args: &[&str]) -> Out {
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    clean_env(&mut cmd, dir, empty.to_str().unwrap());
    run(cmd)
}

/// `target/e2e-env/bin` (real kubectl, helm, aws...), provisioned on first use.
fn e2e_bin() -> PathBuf {
    let env = match std::env::var_os("HP_E2E_ENV") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo().join("target/e2e-env"),
    };
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("tests/env/provision.sh"));
    run(cmd).ok();
    let bin = env.join("bin");
    assert!(
        bin.join("kubectl").exists(),
        "no kubectl in {}",
        bin.display()
    );
    bin
}

fn system_path() -> &'static str {
    "/usr/local/bin:/usr/bin:/bin"
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("ecosystem")
        .tempdir()
        .unwrap()
}

/// Every command path in the tree (`[]` is the root), as `--help` lists them.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(prefix.clone());
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            let mut p = prefix.clone();
            p.push(sub.get_name().to_string());
            walk(sub, p, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), Vec::new(), &mut out);
    out
}

fn assert_clean(out: &Out, what: &str) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains('\x1b'),
            "{what}: escape sequence on {stream} off a terminal:\n{}",
            out.describe()
        );
        assert!(
            !text.contains('\r'),
            "{what}: carriage return (live line) on {stream} off a terminal:\n{}",
            out.describe()
        );
        assert!(
            !text.contains(SPINNER),
            "{what}: spinner frame on {stream} off a terminal:\n{}",
            out.describe()
        );
    }
}

// ---- install.sh --------------------------------------------------------------------------

#[test]
fn install_sh_installs_into_a_prefix_kubectl_finds_it_and_uninstall_removes_it() {
    // Over 80 lines: install, use and uninstall in order on one prefix.
    let e2e = e2e_bin();
    let t = tmp();
    let prefix = t.path().join("prefix with space");
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let built = Path::new(BIN).parent().unwrap();
    let install = |path: &str, extra: &[&str]| {
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("install.sh"))
            .arg("--prefix")
            .arg(&prefix)
            .args(extra);
        clean_env(&mut cmd, &home, path);
        run(cmd)
    };

    // First install: the prefix's bin is not on PATH yet.
    let outside = format!("{}:{}", e2e.display(), system_path());
    let first = install(&outside, &["--from-target", built.to_str().unwrap()]);
    first.ok();
    first.has("stderr", &["is not on your PATH"]);
    first.has("stderr", &["kubectl plugin list finds"]);
    let bin = prefix.join("bin");
    let expected = [
        bin.join("kubectl-hyperpod"),
        bin.join("kubectl_complete-hyperpod"),
        prefix.join("share/bash-completion/completions/kubectl-hyperpod"),
        prefix.join("share/zsh/site-functions/_kubectl-hyperpod"),
        prefix.join("share/fish/vendor_completions.d/kubectl-hyperpod.fish"),
        prefix.join("share/man/man1/kubectl-hyperpod.1"),
        prefix.join("share/man/man1/kubectl-hyperpod-version.1"),
    ];
    let listed: BTreeSet<&str> = first.stdout.lines().collect();
    for f in &expected {
        assert!(
            f.exists(),
            "{} not installed:\n{}",
            f.display(),
            first.describe()
        );
        assert!(
            listed.contains(f.to_str().unwrap()),
            "{} not listed on stdout:\n{}",
            f.display(),
            first.describe()
        );
    }

    // Second install, now on PATH, through the environment variable: same files, no PATH warning.
    let inside = format!("{}:{}", bin.display(), outside);
    let second = {
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("install.sh"))
            .arg("--prefix")
            .arg(&prefix);
        clean_env(&mut cmd, &home, &inside);
        cmd.env("HP_INSTALL_FROM", built);
        run(cmd)
    };
    second.ok();
    assert!(
        !second.stderr.contains("not on your PATH"),
        "{}",
        second.describe()
    );
    assert_eq!(
        second.stdout.lines().collect::<BTreeSet<_>>(),
        listed,
        "a re-install writes the same files"
    );

    // The real kubectl lists the plugin and runs it.
    let kubectl = |args: &[&str]| {
        let mut cmd = Command::new(e2e.join("kubectl"));
        cmd.args(args);
        clean_env(&mut cmd, &home, &inside);
        run(cmd)
    };
    let list = kubectl(&["plugin", "list"]);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.trim() == bin.join("kubectl-hyperpod").to_str().unwrap()),
        "{}",
        list.describe()
    );
    let v = kubectl(&["hyperpod", "version", "-o", "json"]);
    let doc = v.ok().json();
    assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["tools"]["kubectl"]["status"], "found", "{doc:#}");
    assert!(
        doc["tools"]["kubectl"]["version"]
            .as_str()
            .is_some_and(|s| s.starts_with("v1.")),
        "{doc:#}"
    );
    let text = kubectl(&["hyperpod", "version"]);
    assert!(
        text.ok()
            .stdout
            .starts_with(&format!("kubectl-hyperpod {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        text.describe()
    );

    // `kubectl hyperpod <TAB>`: kubectl asks kubectl_complete-hyperpod.
    let comp = kubectl(&["__complete", "hyperpod", "vers"]);
    assert!(
        comp.stdout.lines().any(|l| l.starts_with("version\t")),
        "{}",
        comp.describe()
    );
    let comp = kubectl(&["__complete", "hyperpod", "version", "--output", ""]);
    let values: Vec<&str> = comp.stdout.lines().collect();
    assert!(values.contains(&"json"), "{}", comp.describe());

    // The installed bash completion loads.
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg("source \"$1\" && complete -p kubectl-hyperpod")
        .arg("bash")
        .arg(prefix.join("share/bash-completion/completions/kubectl-hyperpod"));
    clean_env(&mut cmd, &home, &inside);
    let loaded = run(cmd);
    assert!(
        loaded.ok().stdout.contains("kubectl-hyperpod"),
        "{}",
        loaded.describe()
    );

    // man finds the pages through PATH (man-db), where man is installed.
    if Path::new("/usr/bin/man").exists() {
        let mut cmd = Command::new("man");
        cmd.args(["-w", "kubectl-hyperpod-version"]);
        clean_env(&mut cmd, &home, &inside);
        let found = run(cmd);
        if found.code == 0 {
            assert_eq!(
                found.stdout.trim(),
                prefix
                    .join("share/man/man1/kubectl-hyperpod-version.1")
                    .to_str()
                    .unwrap(),
                "{}",
                found.describe()
            );
        } else {
            eprintln!("note: man -w did not find the page: {}", found.describe());
        }
    }

    // Uninstall removes every file, twice in a row without error.
    let gone = install(&inside, &["--uninstall"]);
    gone.ok();
    for f in &expected {
        assert!(
            !f.exists(),
            "{} still there:\n{}",
            f.display(),
            gone.describe()
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(prefix.join("share/man/man1"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let again = install(&inside, &["--uninstall"]);
    assert_eq!(again.ok().stdout, "", "{}", again.describe());
    let list = kubectl(&["plugin", "list"]);
    assert!(
        !list.stdout.contains("kubectl-hyperpod"),
        "{}",
        list.describe()
    );
}

#[test]
fn install_sh_refuses_clearly_without_cargo_or_without_a_binary() {
    let t = tmp();
    let prefix = t.path().join("prefix");
    if ["/usr/local/bin/cargo", "/usr/bin/cargo", "/bin/cargo"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        eprintln!("skipped the no-cargo case: cargo is installed system-wide");
    } else {
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("install.sh"))
            .arg("--prefix")
            .arg(&prefix);
        clean_env(&mut cmd, t.path(), system_path());
        let out = run(cmd);
        assert_eq!(out.code, 1, "{}", out.describe());
        assert!(
            out.stderr.contains("cargo is not on PATH") && out.stderr.contains("rustup.rs"),
            "{}",
            out.describe()
        );
        assert!(!prefix.join("bin").exists(), "nothing is installed");
    }

    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("install.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .arg("--from-target")
        .arg(t.path());
    clean_env(&mut cmd, t.path(), system_path());
    let out = run(cmd);
    assert_eq!(out.code, 1, "{}", out.describe());
    out.has("stderr", &["no executable kubectl-hyperpod in"]);

    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("install.sh")).arg("--bogus");
    clean_env(&mut cmd, t.path(), system_path());
    let out = run(cmd);
    assert_eq!(out.code, 1, "{}", out.describe());
    out.has("stderr", &["unknown argument: --bogus"]);
}

// ---- completion and man ------------------------------------------------------------------

#[test]
fn bash_completion_loads_and_completes_subcommands_flags_and_values() {
    let t = tmp();
    // `words...` then the index of the word being completed, as bash passes them.
    let script = r#"
        source <("$BIN" completion bash) || exit 10
        complete -p kubectl-hyperpod >/dev/null || exit 11
        comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ));
                 _kubectl__hyperpod kubectl-hyperpod "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}";
                 echo "${COMPREPLY[*]}"; }
        comp kubectl-hyperpod ver
        comp kubectl-hyperpod version --sh
        comp kubectl-hyperpod deploy j
        comp kubectl-hyperpod completion z
        comp kubectl-hyperpod version --output y
    "#;
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(script);
    clean_env(&mut cmd, t.path(), system_path());
    cmd.env("BIN", BIN);
    let out = run(cmd);
    out.ok();
    assert_eq!(
        out.stderr,
        "",
        "loading printed errors:\n{}",
        out.describe()
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        ["version", "--short", "jumpstart", "zsh", "yaml"],
        "{}",
        out.describe()
    );
}

#[test]
fn completion_scripts_for_zsh_and_fish_and_as_json() {
    let t = tmp();
    let zsh = hp_bare(t.path(), &["completion", "zsh"]);
    assert!(
        zsh.ok().stdout.starts_with("#compdef kubectl-hyperpod"),
        "{}",
        zsh.describe()
    );
    let fish = hp_bare(t.path(), &["completion", "fish"]);
    assert!(
        fish.ok().stdout.contains("complete -c kubectl-hyperpod"),
        "{}",
        fish.describe()
    );
    for (shell, exe) in [("zsh", "zsh"), ("fish", "fish")] {
        if let Ok(path) = which::which(exe) {
            let check = if shell == "zsh" {
                "autoload -U compinit && compinit -u && source <(\"$BIN\" completion zsh)"
            } else {
                "\"$BIN\" completion fish | source"
            };
            let mut cmd = Command::new(path);
            cmd.arg("-c").arg(check);
            clean_env(&mut cmd, t.path(), system_path());
            cmd.env("BIN", BIN);
            let out = run(cmd);
            assert_eq!(
                (out.code, out.stderr.as_str()),
                (0, ""),
                "{shell}: {}",
                out.describe()
            );
        }
    }
    let doc = hp_bare(t.path(), &["completion", "bash", "-o", "json"]).json();
    assert_eq!(doc["shell"], "bash");
    assert!(
        doc["script"].as_str().unwrap().contains("complete -F"),
        "{doc}"
    );
    let bad = hp_bare(t.path(), &["completion", "tcsh"]);
    assert_eq!(bad.code, exit::USAGE, "{}", bad.describe());
}

#[test]
fn man_prints_the_main_page_and_writes_one_page_per_command() {
    let t = tmp();
    let page = hp_bare(t.path(), &["man"]);
    assert!(
        page.ok().stdout.contains(".TH kubectl-hyperpod 1"),
        "{}",
        page.describe()
    );
    page.has("stdout", &["kubectl\\-hyperpod\\-setup(1)"]);

    let dir = t.path().join("man1");
    let out = hp_bare(
        t.path(),
        &["man", "--dir", dir.to_str().unwrap(), "-o", "json"],
    );
    let doc = out.ok().json();
    let pages: Vec<&str> = doc["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for path in command_paths() {
        let name = std::iter::once("kubectl-hyperpod".to_string())
            .chain(path)
            .collect::<Vec<_>>()
            .join("-");
        let file = dir.join(format!("{name}.1"));
        assert!(file.exists(), "{} missing", file.display());
        assert!(pages.contains(&file.to_str().unwrap()), "{doc:#}");
    }
    if let Ok(man) = which::which("man") {
        let mut cmd = Command::new(man);
        cmd.arg("-l").arg(dir.join("kubectl-hyperpod-version.1"));
        clean_env(&mut cmd, t.path(), system_path());
        cmd.env("MANPAGER", "cat").env("PAGER", "cat");
        let shown = run(cmd);
        assert!(
            shown.ok().stdout.contains("--short"),
            "{}",
            shown.describe()
        );
    }
}

// ---- -o json everywhere --------------------------------------------------------------------

/// The command at `path` in the tree.
fn find_command(path: &[String]) -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    for name in path {
        cmd = cmd
            .find_subcommand(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"))
            .clone();
    }
    cmd
}

/// Plausible values for a command's required flags and positionals, so the command gets past
/// argument parsing (and, with no tools on PATH, fails fast at its tool check).
fn required_args(path: &[String], dir: &Path) -> Vec<String> {
    let cmd = find_command(path);
    let mut out = Vec::new();
    for arg in cmd.get_arguments().filter(|a| a.is_required_set()) {
        let possible = arg.get_possible_values();
        let name = arg
            .get_value_names()
            .and_then(|n| n.first().map(|s| s.to_string()))
            .unwrap_or_default()
            .to_ascii_uppercase();
        let value = if let Some(v) = possible.first() {
            v.get_name().to_string()
        } else if name.contains("REGION") {
            "us-west-2".into()
        } else if name.contains("ARN") {
            "arn:aws:iam::123456789012:role/demo".into()
        } else if name.contains("BUCKET") {
            "demo-bucket".into()
        } else if name.contains("URI") || name.contains("URL") {
            "s3://demo-bucket/model/".into()
        } else if ["FILE", "PATH", "DIR"].iter().any(|k| name.contains(k)) {
            dir.join("input").display().to_string()
        } else if ["SECONDS", "COUNT", "N", "NUM", "PORT", "REPLICAS"].contains(&name.as_str()) {
            "1".into()
        } else {
            "demo".into()
        };
        match arg.get_long() {
            Some(long) if arg.get_action().takes_values() => {
                out.push(format!("--{long}"));
                out.push(value);
            }
            Some(long) => out.push(format!("--{long}")),
            None => out.push(value),
        }
    }
    out
}

const KINDS: [&str; 12] = [
    "invalid_input",
    "tools_missing",
    "command_timed_out",
    "command_failed",
    "command_not_started",
    "unexpected_output",
    "template",
    "step_failed",
    "not_confirmed",
    "timed_out",
    "failed",
    "io",
];

/// `{"error": {...}}` whose exit code is the process's.
fn assert_error_doc(out: &Out, what: &str) -> Value {
    let doc = out.json();
    let e = &doc["error"];
    assert!(
        e.is_object(),
        "{what}: no error object:\n{}",
        out.describe()
    );
    assert!(
        KINDS.contains(&e["kind"].as_str().unwrap_or("")),
        "{what}: unknown kind:\n{}",
        out.describe()
    );
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}:\n{}",
        out.describe()
    );
    assert_eq!(e["exit_code"], out.code, "{what}:\n{}", out.describe());
    if out.code == exit::TOOLS_MISSING {
        assert_eq!(e["kind"], "tools_missing", "{what}:\n{}", out.describe());
        assert!(
            e["missing_tools"].as_array().is_some_and(|t| !t.is_empty()),
            "{what}:\n{}",
            out.describe()
        );
    }
    doc
}

/// Stdout is one JSON document: an error document, or a result. A result may come with exit
/// code 1 (a command that reports failure as data, like `doctor` with failing checks); any other
/// non-zero exit must be explained by an error document.
fn assert_result_or_error_doc(out: &Out, what: &str) {
    let doc = out.json();
    if doc.get("error").is_some() {
        assert_error_doc(out, what);
    } else {
        assert!(
            out.code == exit::OK || out.code == exit::FAILURE,
            "{what}: exit {} without an error document:\n{}",
            out.code,
            out.describe()
        );
    }
}

#[test]
fn every_subcommand_prints_json_on_stdout_under_o_json_errors_included() {
    let t = tmp();
    let paths = command_paths();
    let help = hp_bare(t.path(), &["--help"]);
    for p in paths.iter().filter(|p| p.len() == 1) {
        assert!(
            help.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&p[0])),
            "{} is not listed by --help:\n{}",
            p[0],
            help.describe()
        );
    }
    for path in paths.iter().filter(|p| !p.is_empty()) {
        let what = path.join(" ");
        let args: Vec<&str> = path.iter().map(String::as_str).collect();

        // No tools on PATH, no cluster, no flags: whatever happens, stdout is one JSON document.
        let out = hp_bare(t.path(), &[&args[..], &["-o", "json"]].concat());
        assert_result_or_error_doc(&out, &what);

        // Required flags filled in, still no tools: typically `tools_missing` (exit 3).
        let filled = required_args(path, t.path());
        let filled: Vec<&str> = filled.iter().map(String::as_str).collect();
        let out = hp_bare(
            t.path(),
            &[
                &args[..],
                &filled[..],
                &["--region", "us-west-2", "-o", "json"],
            ]
            .concat(),
        );
        assert_result_or_error_doc(&out, &format!("{what} {}", filled.join(" ")));

        // Bad input: an error document naming the flag, exit 2, before anything runs.
        let out = hp_bare(
            t.path(),
            &[&args[..], &["-o", "json", "--region", "not a region"]].concat(),
        );
        let doc = assert_error_doc(&out, &what);
        assert_eq!(out.code, exit::USAGE, "{what}:\n{}", out.describe());
        assert_eq!(doc["error"]["kind"], "invalid_input");

        // An unknown flag is a usage error, still as JSON.
        let out = hp_bare(
            t.path(),
            &[&args[..], &["--output=json", "--no-such-flag"]].concat(),
        );
        let doc = assert_error_doc(&out, &what);
        assert_eq!(out.code, exit::USAGE, "{what}:\n{}", out.describe());
        assert!(
            doc["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--no-such-flag"),
            "{what}: {doc:#}"
        );
    }

    // YAML errors are documents too.
    let out = hp_bare(t.path(), &["version", "-o", "yaml", "--region", "nope!"]);
    let doc: Value = serde_yaml::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not YAML ({e}):\n{}", out.describe()));
    assert_eq!(doc["error"]["kind"], "invalid_input");
    out.has("stderr", &["invalid --region"]);
}

#[test]
fn version_reports_every_tool_found_or_missing_and_never_fails_for_it() {
    let t = tmp();
    let out = hp_bare(t.path(), &["version", "-o", "json"]);
    let doc = out.ok().json();
    assert_eq!(doc["name"], "kubectl-hyperpod");
    assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));
    let tools: Vec<&str> = doc["tools"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(tools, ["aws", "kubectl", "helm", "eksctl", "git"]);
    for t in tools {
        assert_eq!(doc["tools"][t]["status"], "missing", "{doc:#}");
        assert!(doc["tools"][t]["install"].as_str().is_some(), "{doc:#}");
    }

    let e2e = e2e_bin();
    let mut cmd = Command::new(BIN);
    cmd.args(["version", "-o", "json", "-v"]);
    clean_env(&mut cmd, t.path(), e2e.to_str().unwrap());
    let out = run(cmd);
    let doc = out.ok().json();
    for tool in ["aws", "kubectl", "helm", "eksctl"] {
        assert_eq!(doc["tools"][tool]["status"], "found", "{tool}: {doc:#}");
        assert_eq!(
            doc["tools"][tool]["path"],
            e2e.join(tool).to_str().unwrap(),
            "{doc:#}"
        );
    }
    assert!(
        doc["tools"]["helm"]["version"]
            .as_str()
            .unwrap()
            .starts_with("v3."),
        "{doc:#}"
    );
    // -v shows each external command on stderr as it runs.
    out.has("stderr", &["+ kubectl version --client -o json"]);
    out.has("stderr", &["+ helm version --short"]);

    let short = hp_bare(t.path(), &["version", "--short", "-o", "json"]);
    let doc = short.ok().json();
    assert!(doc.get("tools").is_none(), "{doc:#}");
}

// ---- terminal or not -------------------------------------------------------------------------

#[test]
fn off_a_terminal_no_escape_codes_or_spinner_frames_appear() {
    let t = tmp();
    let e2e = e2e_bin();
    let man_dir = t.path().join("man");
    let cases: Vec<Vec<String>> = vec![
        vec!["version".into()],
        vec!["--region".into(), "bad!".into(), "version".into()],
        vec!["man".into(), "--dir".into(), man_dir.display().to_string()],
        vec!["completion".into(), "bash".into()],
        vec!["no-such-command".into()],
    ];
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = hp_bare(t.path(), &args);
        assert_clean(&out, &args.join(" "));
    }
    // Painted text (a missing tool, the error label) is printed, just without colour.
    let out = hp_bare(t.path(), &["version"]);
    out.has("stdout", &["eksctl   missing: install eksctl"]);
    let out = hp_bare(t.path(), &["version", "--region", "bad!"]);
    assert!(
        out.stderr.starts_with("error: invalid --region"),
        "{}",
        out.describe()
    );

    // -v with real tools, and every subcommand failing without tools.
    let mut cmd = Command::new(BIN);
    cmd.args(["version", "-v"]);
    clean_env(&mut cmd, t.path(), e2e.to_str().unwrap());
    assert_clean(&run(cmd), "version -v");
    for path in command_paths().iter().filter(|p| !p.is_empty()) {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        assert_clean(&hp_bare(t.path(), &args), &path.join(" "));
    }

    // -q: nothing on stderr but errors and warnings.
    let out = hp_bare(t.path(), &["man", "--dir", man_dir.to_str().unwrap(), "-q"]);
    assert_eq!(out.ok().stderr, "", "{}", out.describe());
}

/// Runs the plugin on a pseudo-terminal (util-linux `script`), returning what the terminal showed.
fn on_terminal(dir: &Path, args: &str, env: &[(&str, &str)]) -> Option<String> {
    let script = which::which("script").ok()?;
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let mut cmd = Command::new(script);
    cmd.args(["-qec", &format!("'{BIN}' {args}"), "/dev/null"]);
    clean_env(
        &mut cmd,
        dir,
        &format!("{}:{}", empty.display(), system_path()),
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(cmd);
    if out.stdout.is_empty() && out.code != 0 {
        eprintln!(
            "note: `script` could not run a terminal here: {}",
            out.describe()
        );
        return None;
    }
    Some(out.stdout)
}

#[test]
fn on_a_terminal_colour_shows_unless_no_color_or_dumb() {
    let t = tmp();
    // The plugin must not find the machine's tools: run it with only system dirs, which may hold
    // some; only the error label and eksctl (never installed system-wide here) are relied on.
    let Some(shown) = on_terminal(t.path(), "version --region bad!", &[]) else {
        eprintln!("skipped: no usable `script` (util-linux)");
        return;
    };
    assert!(shown.contains("\x1b[31merror:\x1b[0m"), "{shown:?}");
    let region = "error: invalid --region";
    let usage = "error: unexpected argument '--bogus' found";
    for (args, env, want) in [
        ("version --region bad!", vec![("NO_COLOR", "1")], region),
        ("version --region bad! --no-color", vec![], region),
        ("version --region bad!", vec![("TERM", "dumb")], region),
        // clap's own usage errors and help follow the same switches.
        ("version --bogus --no-color", vec![], usage),
        ("version --bogus", vec![("TERM", "dumb")], usage),
        (
            "version --help --no-color",
            vec![],
            "Usage: kubectl hyperpod version",
        ),
    ] {
        let shown = on_terminal(t.path(), args, &env).unwrap();
        assert!(shown.contains(want), "{args} {env:?}: {shown:?}");
        assert!(!shown.contains('\x1b'), "{args} {env:?}: {shown:?}");
    }
    // Results on a terminal are painted too; piped they are not (see the test above).
    let shown = on_terminal(t.path(), "version", &[]).unwrap();
    if shown.contains("missing") {
        assert!(shown.contains("\x1b[33mmissing\x1b[0m"), "{shown:?}");
    }
}

// ---- help, krew, docs --------------------------------------------------------------------------

#[test]
fn every_command_help_has_a_description_and_an_example() {
    let t = tmp();
    let mut missing = Vec::new();
    for path in command_paths() {
        let args: Vec<&str> = path.iter().map(String::as_str).chain(["--help"]).collect();
        let out = hp_bare(t.path(), &args);
        out.ok();
        let name = std::iter::once("kubectl hyperpod".to_string())
            .chain(path.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let first = out.stdout.lines().next().unwrap_or("").trim();
        if first.is_empty() || first.starts_with("Usage:") {
            missing.push(format!("{name}: no description"));
        }
        if !out.stdout.contains("Example") {
            missing.push(format!("{name}: no example"));
        }
    }
    assert!(
        missing.is_empty(),
        "--help lacks a description or an example (after_help) for:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn krew_manifest_renders_to_a_valid_plugin_for_every_platform() {
    // Over 80 lines: every platform of the manifest checked field by field.
    let template = std::fs::read_to_string(repo().join("plugins/hyperpod.yaml")).unwrap();
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    // Render as krew-release-bot does: addURIAndSha -> uri + sha256, then the tag.
    let mut rendered = String::new();
    for line in template.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("{{addURIAndSha \"") {
            let url = rest
                .split('"')
                .next()
                .unwrap()
                .replace("{{ .TagName }}", &tag);
            let indent = &line[..line.len() - trimmed.len()];
            rendered.push_str(&format!(
                "{indent}uri: {url}\n{indent}sha256: {}\n",
                "a".repeat(64)
            ));
        } else {
            rendered.push_str(&line.replace("{{ .TagName }}", &tag));
            rendered.push('\n');
        }
    }
    assert!(
        !rendered.contains("{{"),
        "unrendered template left:\n{rendered}"
    );
    let m: Value = serde_yaml::from_str(&rendered).unwrap();
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(
        m["metadata"]["name"], "hyperpod",
        "the name is the file's name"
    );
    let spec = &m["spec"];
    assert_eq!(spec["version"], tag.as_str());
    let homepage = spec["homepage"].as_str().unwrap();
    assert!(homepage.starts_with("https://"), "{homepage}");
    let short = spec["shortDescription"].as_str().unwrap();
    assert!(!short.is_empty() && short.len() <= 50, "{short:?}");
    assert!(spec["description"]
        .as_str()
        .is_some_and(|d| d.len() > short.len()));

    let want = [
        ("linux", "amd64", "x86_64-unknown-linux-musl"),
        ("linux", "arm64", "aarch64-unknown-linux-musl"),
        ("darwin", "amd64", "x86_64-apple-darwin"),
        ("darwin", "arm64", "aarch64-apple-darwin"),
    ];
    let platforms = spec["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), want.len());
    for (os, arch, triple) in want {
        let p = platforms
            .iter()
            .find(|p| {
                p["selector"]["matchLabels"]["os"] == os
                    && p["selector"]["matchLabels"]["arch"] == arch
            })
            .unwrap_or_else(|| panic!("no platform {os}/{arch}"));
        assert_eq!(p["bin"], "kubectl-hyperpod");
        assert_eq!(
            p["uri"].as_str().unwrap(),
            format!("{homepage}/releases/download/{tag}/kubectl-hyperpod-{tag}-{triple}.tar.gz")
        );
        assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
        let from: Vec<&str> = p["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["from"].as_str().unwrap())
            .collect();
        assert_eq!(from, ["kubectl-hyperpod", "LICENSE"], "{os}/{arch}");
    }
    // The LICENSE the archives carry is the one Cargo.toml declares.
    let license = std::fs::read_to_string(repo().join("LICENSE")).unwrap();
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    assert!(cargo.contains("license = \"Apache-2.0\""));
    assert!(license.contains("Apache License") && license.contains("Version 2.0"));
}

#[test]
fn docs_list_every_exit_code_and_the_install_options() {
    let doc = std::fs::read_to_string(repo().join("docs/ecosystem.md")).unwrap();
    for (name, code) in [
        ("OK", exit::OK),
        ("FAILURE", exit::FAILURE),
        ("USAGE", exit::USAGE),
        ("TOOLS_MISSING", exit::TOOLS_MISSING),
        ("COMMAND_FAILED", exit::COMMAND_FAILED),
        ("NOT_CONFIRMED", exit::NOT_CONFIRMED),
        ("TIMED_OUT", exit::TIMED_OUT),
        ("LOCKED", exit::LOCKED),
        ("INTERRUPTED_SIGINT", exit::INTERRUPTED_SIGINT),
        ("INTERRUPTED_SIGTERM", exit::INTERRUPTED_SIGTERM),
    ] {
        let row = format!("| {code} | `{name}` |");
        assert!(
            doc.contains(&row),
            "docs/ecosystem.md lacks the row {row:?}"
        );
    }
    let script = std::fs::read_to_string(repo().join("install.sh")).unwrap();
    for opt in [
        "--prefix",
        "--from-target",
        "--uninstall",
        "HP_INSTALL_FROM",
    ] {
        assert!(
            script.contains(opt) && doc.contains(opt),
            "{opt} undocumented"
        );
    }
}
