//! Shell completion scripts, man pages, and the completion protocol kubectl uses for plugins
//! (`kubectl_complete-hyperpod` calls `kubectl-hyperpod __complete`): what makes the plugin fit in
//! with kubectl, krew, shells and `man`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Arg, Args, CommandFactory};
use clap_complete::Shell;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::Ctx;

pub const COMPLETION_EXAMPLES: &str = "Examples:
  # Try it in the current bash session (`kubectl-hyperpod <TAB>`)
  source <(kubectl hyperpod completion bash)

  # Install for zsh (the directory must be on $fpath)
  kubectl hyperpod completion zsh > ~/.local/share/zsh/site-functions/_kubectl-hyperpod

Completion of `kubectl hyperpod <TAB>` (through kubectl's own completion) needs the small
`kubectl_complete-hyperpod` executable on PATH, which install.sh installs.";

pub const MAN_EXAMPLES: &str = "Examples:
  # Read the manual page without installing it
  kubectl hyperpod man | man -l -

  # Install one page per command where man finds them
  kubectl hyperpod man --dir ~/.local/share/man/man1";

#[derive(Debug, Args)]
#[command(after_help = COMPLETION_EXAMPLES)]
pub struct CompletionArgs {
    /// The shell to print a completion script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Args)]
#[command(after_help = MAN_EXAMPLES)]
pub struct ManArgs {
    /// Write one page per command into DIR (created if missing) instead of printing the main page
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// The name completion scripts and man pages are generated for: the executable itself, so
/// `kubectl-hyperpod <TAB>` completes. `kubectl hyperpod <TAB>` goes through kubectl, which asks
/// `kubectl_complete-hyperpod` (see `plugin_complete`).
pub const BIN: &str = "kubectl-hyperpod";

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> String {
    let mut cmd = crate::cli::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut buf);
    let script = String::from_utf8_lossy(&buf).into_owned();
    if shell == Shell::Bash {
        // clap_complete 4.6 spells the per-subcommand states of a hyphenated binary two ways
        // (clap-rs/clap#6421): the dispatch loop says `kubectl__hyperpod__subcmd__x`, the case
        // arms `kubectl__subcmd__hyperpod__subcmd__x`, so no subcommand's flags would complete.
        let wrong = BIN.replace('-', "__subcmd__");
        let right = BIN.replace('-', "__");
        return script.replace(&wrong, &right);
    }
    script
}

#[derive(Serialize)]
struct CompletionDoc {
    shell: String,
    script: String,
}

pub fn completion(a: CompletionArgs, ctx: &Ctx) -> Result<i32> {
    let doc = CompletionDoc {
        shell: a.shell.to_string(),
        script: completion_script(a.shell),
    };
    ctx.ui.result(&doc, || doc.script.clone())?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// man

/// The built command tree the man pages are made from (names `kubectl-hyperpod-<sub>`).
fn man_tree() -> clap::Command {
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

fn render_page(cmd: clap::Command) -> Result<(String, Vec<u8>)> {
    let man = clap_mangen::Man::new(cmd);
    let mut buf = Vec::new();
    man.render(&mut buf)
        .map_err(|e| Error::io("render the manual page", e))?;
    Ok((man.get_filename(), buf))
}

/// Every page: the main one, then one per (non-hidden) subcommand, depth first.
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        out.push(render_page(cmd.clone())?);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(&man_tree(), &mut out)?;
    Ok(out)
}

#[derive(Serialize)]
struct ManPage {
    name: String,
    roff: String,
}

#[derive(Serialize)]
struct ManDir {
    dir: String,
    pages: Vec<String>,
}

pub fn man(a: ManArgs, ctx: &Ctx) -> Result<i32> {
    match a.dir {
        None => {
            let (name, roff) = render_page(man_tree())?;
            let page = ManPage {
                name,
                roff: String::from_utf8_lossy(&roff).into_owned(),
            };
            ctx.ui.result(&page, || page.roff.clone())?;
        }
        Some(dir) => {
            let written = write_pages(&dir)?;
            ctx.ui.progress(&format!(
                "wrote {} manual pages to {}",
                written.len(),
                dir.display()
            ));
            let doc = ManDir {
                dir: dir.display().to_string(),
                pages: written,
            };
            ctx.ui.result(&doc, || {
                doc.pages.iter().map(|p| format!("{p}\n")).collect()
            })?;
        }
    }
    Ok(0)
}

fn write_pages(dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let mut written = Vec::new();
    for (name, roff) in man_pages()? {
        let path = dir.join(&name);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&roff))
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

// ---------------------------------------------------------------------------------------------
// kubectl's plugin completion protocol

/// The first argument that switches the binary into kubectl's completion protocol. kubectl runs
/// `kubectl_complete-hyperpod <args...> <partial word>` for `kubectl hyperpod <args...> <TAB>`;
/// that executable (installed by install.sh) runs `kubectl-hyperpod __complete <args...>`.
pub const COMPLETE_ARG: &str = "__complete";

/// Cobra's shell completion directives, which kubectl relays to the shell.
pub mod directive {
    pub const DEFAULT: u32 = 0;
    pub const NO_FILE_COMP: u32 = 4;
    pub const FILTER_DIRS: u32 = 16;
}

/// Candidates (`value`, `description`) for the last word of `words`, and a Cobra directive.
pub fn complete_words(words: &[String]) -> (Vec<(String, String)>, u32) {
    let mut root = crate::cli::Cli::command().disable_help_subcommand(true);
    root.build();
    let (partial, done) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut cur = &root;
    let mut expecting: Option<&Arg> = None;
    let mut positional = 0usize;
    let mut only_positionals = false;
    for w in done {
        if expecting.take().is_some() {
            continue;
        }
        if only_positionals {
            positional += 1;
        } else if w == "--" {
            only_positionals = true;
        } else if let Some(long) = w.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            if let Some(arg) = find_long(cur, name) {
                if takes_value(arg) && !inline {
                    expecting = Some(arg);
                }
            }
        } else if w.len() > 1 && w.starts_with('-') {
            // A cluster of short flags; the first that takes a value ends it.
            let shorts: Vec<char> = w[1..].chars().collect();
            for (i, c) in shorts.iter().enumerate() {
                if let Some(arg) = cur.get_arguments().find(|a| a.get_short() == Some(*c)) {
                    if takes_value(arg) {
                        if i + 1 == shorts.len() {
                            expecting = Some(arg);
                        }
                        break;
                    }
                }
            }
        } else if let Some(sub) = cur.find_subcommand(w) {
            cur = sub;
            positional = 0;
        } else {
            positional += 1;
        }
    }

    if let Some(arg) = expecting {
        return values_of(arg, partial, "");
    }
    if !only_positionals {
        if let Some(long) = partial.strip_prefix("--") {
            if let Some((name, value)) = long.split_once('=') {
                return match find_long(cur, name) {
                    Some(arg) if takes_value(arg) => values_of(arg, value, &format!("--{name}=")),
                    _ => (Vec::new(), directive::NO_FILE_COMP),
                };
            }
        }
        if partial.starts_with('-') {
            let flags = cur
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(|l| (format!("--{l}"), help_of(a))))
                .filter(|(f, _)| f.starts_with(partial))
                .collect();
            return (flags, directive::NO_FILE_COMP);
        }
    }
    let mut out: Vec<(String, String)> = if only_positionals {
        Vec::new()
    } else {
        cur.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| {
                let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
                (s.get_name().to_string(), about)
            })
            .filter(|(n, _)| n.starts_with(partial))
            .collect()
    };
    let pos = cur
        .get_positionals()
        .filter(|a| !a.is_hide_set())
        .nth(positional)
        .or_else(|| cur.get_positionals().last().filter(|a| takes_many(a)));
    match pos {
        Some(arg) => {
            let (values, d) = values_of(arg, partial, "");
            out.extend(values);
            (out, d)
        }
        None => (out, directive::NO_FILE_COMP),
    }
}

fn find_long<'a>(cmd: &'a clap::Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
    })
}

fn takes_many(arg: &Arg) -> bool {
    matches!(arg.get_action(), clap::ArgAction::Append)
        || arg.get_num_args().is_some_and(|r| r.max_values() > 1)
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn help_of(arg: &Arg) -> String {
    arg.get_help()
        .map(|h| h.to_string().lines().next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Candidates for a flag's or positional's value.
fn values_of(arg: &Arg, partial: &str, prefix: &str) -> (Vec<(String, String)>, u32) {
    let possible: Vec<_> = arg
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .collect();
    if !possible.is_empty() {
        let values = possible
            .iter()
            .filter(|v| v.get_name().starts_with(partial))
            .map(|v| {
                let help = v.get_help().map(|h| h.to_string()).unwrap_or_default();
                (format!("{prefix}{}", v.get_name()), help)
            })
            .collect();
        return (values, directive::NO_FILE_COMP);
    }
    use clap::ValueHint;
    let names: Vec<String> = arg
        .get_value_names()
        .map(|n| n.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    match arg.get_value_hint() {
        ValueHint::DirPath => (Vec::new(), directive::FILTER_DIRS),
        ValueHint::FilePath | ValueHint::AnyPath | ValueHint::ExecutablePath => {
            (Vec::new(), directive::DEFAULT)
        }
        _ if names
            .iter()
            .any(|n| matches!(n.as_str(), "FILE" | "PATH" | "DIR")) =>
        {
            (Vec::new(), directive::DEFAULT)
        }
        _ => (Vec::new(), directive::NO_FILE_COMP),
    }
}

/// Prints candidates the way kubectl (Cobra) reads them: `value<TAB>description` lines, then
/// `:<directive>`.
pub fn plugin_complete(words: &[String]) -> i32 {
    let (candidates, d) = complete_words(words);
    let mut out = String::new();
    for (value, help) in candidates {
        if help.is_empty() {
            out.push_str(&format!("{value}\n"));
        } else {
            out.push_str(&format!("{value}\t{help}\n"));
        }
    }
    out.push_str(&format!(":{d}\n"));
    let mut o = std::io::stdout().lock();
    match o.write_all(out.as_bytes()).and_then(|_| o.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(words: &[&str]) -> (Vec<String>, u32) {
        let w: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let (c, d) = complete_words(&w);
        (c.into_iter().map(|(v, _)| v).collect(), d)
    }

    #[test]
    fn completes_subcommands_by_prefix() {
        let (c, d) = complete(&[""]);
        for sub in ["setup", "deploy", "doctor", "version", "completion", "man"] {
            assert!(c.contains(&sub.to_string()), "{sub} missing from {c:?}");
        }
        assert!(!c.contains(&"help".to_string()), "{c:?}");
        assert_eq!(d, directive::NO_FILE_COMP);
        assert_eq!(complete(&["ver"]).0, vec!["version"]);
    }

    #[test]
    fn completes_flags_of_the_subcommand_including_globals() {
        let (c, _) = complete(&["version", "--"]);
        assert!(c.contains(&"--short".to_string()), "{c:?}");
        assert!(c.contains(&"--output".to_string()), "{c:?}");
        assert!(c.contains(&"--kubeconfig".to_string()), "{c:?}");
        let (c, _) = complete(&["version", "--sh"]);
        assert_eq!(c, vec!["--short"]);
    }

    #[test]
    fn completes_values_after_a_flag_and_inline() {
        assert_eq!(complete(&["-o", ""]).0, vec!["text", "json", "yaml"]);
        assert_eq!(complete(&["version", "--output", "j"]).0, vec!["json"]);
        assert_eq!(
            complete(&["version", "--output=y"]).0,
            vec!["--output=yaml"]
        );
        // A flag's value is not taken for a subcommand.
        let (c, _) = complete(&["--region", "version", ""]);
        assert!(c.contains(&"setup".to_string()), "{c:?}");
    }

    #[test]
    fn completes_positional_values_and_files_for_file_flags() {
        let (c, d) = complete(&["completion", ""]);
        assert!(c.contains(&"bash".to_string()) && c.contains(&"zsh".to_string()));
        assert_eq!(d, directive::NO_FILE_COMP);
        let (c, d) = complete(&["--kubeconfig", ""]);
        assert!(c.is_empty());
        assert_eq!(d, directive::DEFAULT);
        let (_, d) = complete(&["man", "--dir", ""]);
        assert_eq!(d, directive::FILTER_DIRS);
    }

    #[test]
    fn man_pages_cover_every_command() {
        let pages = man_pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "kubectl-hyperpod.1");
        for sub in ["setup", "doctor", "version", "completion", "man"] {
            let want = format!("kubectl-hyperpod-{sub}.1");
            assert!(names.contains(&want.as_str()), "{want} not in {names:?}");
        }
        let main = String::from_utf8_lossy(&pages[0].1);
        assert!(main.starts_with(".ie"), "{main}");
        assert!(main.contains(".TH kubectl-hyperpod 1"), "{main}");
    }
}
