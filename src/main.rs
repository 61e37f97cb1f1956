//! Entry point: parse arguments, run, and map errors to documented exit codes.
//! The only place anyhow would be allowed; the library's typed errors carry everything needed.

use std::process::ExitCode;

use clap::Parser;
use kubectl_hyperpod::cli::{self, Cli, OutputFormat};
use kubectl_hyperpod::ui::{to_json, ErrorDoc};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let json = cli.global.output == OutputFormat::Json;
    let no_color =
        cli.global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match cli::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            if json {
                if let Ok(doc) = to_json(&ErrorDoc::new(&e)) {
                    println!("{doc}");
                }
            } else {
                let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
                let label = if tty && !no_color {
                    "\x1b[31merror:\x1b[0m"
                } else {
                    "error:"
                };
                eprintln!("{label} {e}");
                if let Some(h) = e.hint() {
                    eprintln!("  hint: {h}");
                }
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
