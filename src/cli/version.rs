//! `kubectl hyperpod version`: the plugin's version and the external tools it finds.

use clap::Args;
use serde::{Serialize, Serializer};

use crate::error::Result;
use crate::exec::Runner;
use crate::tools::{self, Tool};
use crate::Ctx;

pub(crate) const VERSION_EXAMPLES: &str = "Examples:
  # The plugin's version and the aws, kubectl, helm, eksctl and git it finds on PATH
  kubectl hyperpod version

  # Only the plugin's version, for scripts
  kubectl hyperpod version --short -o json";

#[derive(Debug, Args)]
#[command(after_help = VERSION_EXAMPLES)]
pub struct VersionArgs {
    /// Print only the plugin's version; do not look for the external tools
    #[arg(long)]
    pub short: bool,
}

/// What `version` reports.
#[derive(Debug, Serialize)]
pub(crate) struct VersionInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub os: &'static str,
    pub arch: &'static str,
    /// The external tools, keyed by name, in the order of `Tool::ALL`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "tools_as_map"
    )]
    pub tools: Option<Vec<ToolInfo>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ToolInfo {
    #[serde(skip)]
    pub name: &'static str,
    /// `found`, `missing`, or `unknown` (found, but it did not say its version).
    pub status: ToolStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How to install it, when missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ToolStatus {
    Found,
    Missing,
    Unknown,
}

fn tools_as_map<S: Serializer>(tools: &Option<Vec<ToolInfo>>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let tools = tools.as_deref().unwrap_or_default();
    let mut map = s.serialize_map(Some(tools.len()))?;
    for t in tools {
        map.serialize_entry(t.name, t)?;
    }
    map.end()
}

/// The plugin's own version, and (unless `short`) every external tool's, probed in parallel.
/// A missing tool is reported as missing, never as an error.
pub(crate) fn version_info(runner: &Runner, short: bool) -> VersionInfo {
    let tools = (!short).then(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = Tool::ALL
                .iter()
                .map(|&t| s.spawn(move || probe(runner, t)))
                .collect();
            handles
                .into_iter()
                .zip(Tool::ALL)
                .map(|(h, t)| h.join().unwrap_or_else(|_| missing(t)))
                .collect()
        })
    });
    VersionInfo {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        tools,
    }
}

fn missing(t: Tool) -> ToolInfo {
    ToolInfo {
        name: t.program(),
        status: ToolStatus::Missing,
        version: None,
        path: None,
        install: Some(t.install_hint()),
    }
}

fn probe(runner: &Runner, t: Tool) -> ToolInfo {
    let Ok(path) = which::which(t.program()) else {
        return missing(t);
    };
    let version = tools::version(runner, t).filter(|v| !v.is_empty());
    ToolInfo {
        name: t.program(),
        status: if version.is_some() {
            ToolStatus::Found
        } else {
            ToolStatus::Unknown
        },
        version,
        path: Some(path.display().to_string()),
        install: None,
    }
}

pub(crate) fn version(a: VersionArgs, ctx: &Ctx) -> Result<i32> {
    let info = version_info(&ctx.runner, a.short);
    ctx.ui.result(&info, || {
        let mut s = format!(
            "{} {} ({}/{})\n",
            info.name, info.version, info.os, info.arch
        );
        for t in info.tools.as_deref().unwrap_or_default() {
            let detail = match t.status {
                ToolStatus::Found => format!(
                    "{} ({})",
                    t.version.as_deref().unwrap_or(""),
                    t.path.as_deref().unwrap_or("")
                ),
                ToolStatus::Unknown => format!(
                    "{} ({})",
                    ctx.ui.yellow("found, version unknown"),
                    t.path.as_deref().unwrap_or("")
                ),
                ToolStatus::Missing => {
                    format!("{}: {}", ctx.ui.yellow("missing"), t.install.unwrap_or(""))
                }
            };
            s.push_str(&format!("  {:<8} {}\n", t.name, detail));
        }
        s
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_json_reports_tools_as_a_map_in_order() {
        let info = VersionInfo {
            name: "kubectl-hyperpod",
            version: "1.2.3",
            os: "linux",
            arch: "x86_64",
            tools: Some(vec![
                ToolInfo {
                    name: "aws",
                    status: ToolStatus::Found,
                    version: Some("aws-cli/1".into()),
                    path: Some("/bin/aws".into()),
                    install: None,
                },
                missing(Tool::Eksctl),
            ]),
        };
        let v = serde_json::to_value(&info).unwrap();
        assert_eq!(v["tools"]["aws"]["status"], "found");
        assert_eq!(v["tools"]["eksctl"]["status"], "missing");
        assert!(v["tools"]["eksctl"]["install"]
            .as_str()
            .unwrap()
            .contains("eksctl"));
        let short = VersionInfo {
            tools: None,
            ..info
        };
        let v = serde_json::to_value(&short).unwrap();
        assert!(v.get("tools").is_none(), "{v}");
    }
}
