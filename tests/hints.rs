//! Every command the tool prints as a hint (diagnoses, doctor's fixes, errors, plan notes) is one
//! the CLI accepts: each backquoted `kubectl hyperpod ...` in the sources, with its placeholders
//! filled, is parsed by the CLI's own parser (a bare command name may leave its required flags
//! to the user).

use std::path::Path;

use clap::Parser;
use kubectl_hyperpod::cli::Cli;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
}

/// The hints of one file: the text between backquotes that starts with `kubectl hyperpod `.
fn hints(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("`kubectl hyperpod ") {
        let after = &rest[i + 1..];
        let Some(end) = after.find('`') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Placeholders (`{name}`, `{}`, `NAME`, ...) filled with sample values.
fn fill(hint: &str) -> Option<Vec<String>> {
    if hint.contains("<TAB>") || hint.contains("...") {
        return None; // shell completion and elided examples, not commands
    }
    let mut words = Vec::new();
    for (i, w) in hint.split_whitespace().enumerate() {
        if i == 2 && w.starts_with('{') {
            // A placeholder for the command itself (`kubectl hyperpod {command}`): setup's.
            words.push("setup".to_string());
            continue;
        }
        let placeholder = (w.starts_with('{') && w.ends_with('}'))
            || (w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        let w = if placeholder { "sample" } else { w }.to_string();
        words.push(w);
    }
    Some(words)
}

#[test]
fn every_printed_hint_is_a_command_the_cli_accepts() {
    let mut files = Vec::new();
    sources(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    let mut checked = 0;
    let mut bad = Vec::new();
    for (path, text) in &files {
        for hint in hints(text) {
            let Some(words) = fill(&hint) else { continue };
            // "kubectl hyperpod" is the plugin binary kubectl-hyperpod.
            let argv: Vec<String> = std::iter::once("kubectl-hyperpod".to_string())
                .chain(words.into_iter().skip(2))
                .collect();
            checked += 1;
            if let Err(e) = Cli::try_parse_from(&argv) {
                // A bare command name ("run `kubectl hyperpod setup`") names the command, not a
                // command line: its required flags are the user's to give.
                let reference =
                    argv.len() == 2 && e.kind() == clap::error::ErrorKind::MissingRequiredArgument;
                if !reference && e.kind() != clap::error::ErrorKind::DisplayHelp {
                    bad.push(format!("{path}: `{hint}`: {}", e.kind()));
                }
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} hints found: the scan is broken"
    );
    assert!(bad.is_empty(), "hints the CLI refuses:\n{}", bad.join("\n"));
}

#[test]
fn the_scan_finds_a_refused_hint() {
    // The rule itself can fail: a hint the CLI refuses is reported.
    let text = "see `kubectl hyperpod logs --operator {name}`";
    let words = fill(&hints(text)[0]).unwrap();
    let argv: Vec<String> = std::iter::once("kubectl-hyperpod".to_string())
        .chain(words.into_iter().skip(2))
        .collect();
    assert!(Cli::try_parse_from(&argv).is_err());
}
