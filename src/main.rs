//! Entry point: parse arguments, run, and map errors to documented exit codes.
//! The only place anyhow would be allowed; the library's typed errors carry everything needed.
//!
//! Errors always go to stderr in words; under `-o json|yaml` the same error is also printed on
//! stdout as `{"error": {...}}`, usage errors included, so a script reading stdout always gets a
//! document.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use kubectl_hyperpod::cli::{self, completion, Cli, OutputFormat};
use kubectl_hyperpod::error::exit;
use kubectl_hyperpod::ui::{self, to_json, to_yaml, ErrorBody, ErrorDoc};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // kubectl's plugin completion (`kubectl_complete-hyperpod`) calls us with `__complete`;
    // it is not part of the command tree, so it shows up in no help, completion or man page.
    if args.get(1).is_some_and(|a| a == completion::COMPLETE_ARG) {
        let words: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return exit_code(completion::plugin_complete(&words));
    }
    let no_color_flag = args.iter().any(|a| a == "--no-color");
    // clap colours help and usage errors on a terminal; --no-color and TERM=dumb must reach it
    // too (it honours NO_COLOR itself).
    let mut command = Cli::command();
    if !ui::color_allowed(no_color_flag) {
        command = command.color(clap::ColorChoice::Never);
    }
    let parsed = command
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            if code != exit::OK {
                print_doc(requested_format(&args[1..]), &usage_error_doc(&e, code));
            }
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return exit_code(code);
        }
    };
    let format = cli.global.output;
    let no_color = cli.global.no_color || no_color_flag;
    kubectl_hyperpod::exec::interrupt::install();
    let result = cli::run(cli);
    // After SIGINT/SIGTERM the handler reports and exits 130/143; nothing else may.
    kubectl_hyperpod::exec::interrupt::park_if_interrupted();
    match result {
        Ok(code) => exit_code(code),
        Err(e) => {
            print_doc(format, &ErrorDoc::new(&e));
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let label = if tty && ui::color_allowed(no_color) {
                "\x1b[31merror:\x1b[0m"
            } else {
                "error:"
            };
            eprintln!("{label} {e}");
            if let Some(h) = e.hint() {
                eprintln!("  hint: {h}");
            }
            exit_code(e.exit_code())
        }
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Prints an error document on stdout under `-o json|yaml`; nothing for text.
fn print_doc(format: OutputFormat, doc: &ErrorDoc) {
    let text = match format {
        OutputFormat::Text => return,
        OutputFormat::Json => to_json(doc).map(|s| s + "\n"),
        OutputFormat::Yaml => to_yaml(doc),
    };
    if let Ok(text) = text {
        print!("{text}");
    }
}

/// The error document of a command line clap rejected.
fn usage_error_doc(e: &clap::Error, code: i32) -> ErrorDoc<'static> {
    let message = match e.kind() {
        clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "a subcommand or argument is missing".to_string()
        }
        _ => {
            // The first paragraph: the error line and the items it lists (missing arguments...).
            let rendered = e.render().to_string();
            let paragraph: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty())
                .collect();
            let text = paragraph.join(" ");
            text.strip_prefix("error: ").unwrap_or(&text).to_string()
        }
    };
    ErrorDoc {
        error: ErrorBody {
            kind: "invalid_input",
            message,
            exit_code: code,
            hint: Some("run with --help to see the subcommands and what each flag accepts".into()),
            step: None,
            missing_tools: None,
        },
    }
}

/// The `-o`/`--output` the raw arguments ask for (the last one wins), for reporting errors of a
/// command line that did not parse.
fn requested_format(args: &[OsString]) -> OutputFormat {
    let mut format = OutputFormat::Text;
    let mut iter = args.iter().map(|a| a.to_string_lossy());
    while let Some(a) = iter.next() {
        if a == "--" {
            break;
        }
        let value = if a == "-o" || a == "--output" {
            iter.next().map(|v| v.into_owned())
        } else if let Some(v) = a.strip_prefix("--output=") {
            Some(v.to_string())
        } else {
            a.strip_prefix("-o")
                .map(|v| v.strip_prefix('=').unwrap_or(v).to_string())
        };
        match value.as_deref() {
            Some("json") => format = OutputFormat::Json,
            Some("yaml") => format = OutputFormat::Yaml,
            Some("text") => format = OutputFormat::Text,
            _ => {}
        }
    }
    format
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(args: &[&str]) -> OutputFormat {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        requested_format(&args)
    }

    #[test]
    fn requested_format_reads_every_spelling() {
        assert_eq!(fmt(&["get", "-o", "json"]), OutputFormat::Json);
        assert_eq!(fmt(&["get", "--output", "yaml"]), OutputFormat::Yaml);
        assert_eq!(fmt(&["--output=json", "get"]), OutputFormat::Json);
        assert_eq!(fmt(&["-ojson"]), OutputFormat::Json);
        assert_eq!(fmt(&["-o=yaml"]), OutputFormat::Yaml);
        assert_eq!(fmt(&["-o", "json", "-o", "text"]), OutputFormat::Text);
        assert_eq!(fmt(&["get", "--", "-o", "json"]), OutputFormat::Text);
        assert_eq!(fmt(&["get", "--bogus"]), OutputFormat::Text);
    }
}
