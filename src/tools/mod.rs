//! Typed wrappers of the external tools: each builds argv with the user's global options
//! forwarded, and owns the serde types of its tool's JSON (`pod_diagnosis`: what is wrong with a pod, from kubectl's pods and events).

pub(crate) mod aws;
#[cfg(test)]
mod boundary;
pub(crate) mod eks;
pub(crate) mod helm;
pub(crate) mod iam;
pub(crate) mod kube;
pub(crate) mod pod_diagnosis;
pub(crate) mod sagemaker;

use crate::error::{Error, MissingTool, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Tool {
    Aws,
    Kubectl,
    Helm,
    Eksctl,
    Git,
}

impl Tool {
    pub(crate) const ALL: [Tool; 5] = [
        Tool::Aws,
        Tool::Kubectl,
        Tool::Helm,
        Tool::Eksctl,
        Tool::Git,
    ];

    pub(crate) fn program(self) -> &'static str {
        match self {
            Tool::Aws => "aws",
            Tool::Kubectl => "kubectl",
            Tool::Helm => "helm",
            Tool::Eksctl => "eksctl",
            Tool::Git => "git",
        }
    }

    pub(crate) fn install_hint(self) -> &'static str {
        match self {
            Tool::Aws => "install the AWS CLI (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) and configure credentials",
            Tool::Kubectl => "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
            Tool::Helm => "install Helm 3 (https://helm.sh/docs/intro/install/)",
            Tool::Eksctl => "install eksctl (https://eksctl.io/installation/)",
            Tool::Git => "install git with your system's package manager",
        }
    }

    /// The argv that prints the tool's version.
    pub(crate) fn version_args(self) -> &'static [&'static str] {
        match self {
            Tool::Aws => &["--version"],
            Tool::Kubectl => &["version", "--client", "-o", "json"],
            Tool::Helm => &["version", "--short"],
            Tool::Eksctl => &["version"],
            Tool::Git => &["--version"],
        }
    }
}

/// Looks every tool up on PATH and reports all missing ones at once.
pub(crate) fn require(tools: &[(Tool, &str)]) -> Result<()> {
    let missing: Vec<MissingTool> = tools
        .iter()
        .filter(|(t, _)| which::which(t.program()).is_err())
        .map(|(t, why)| MissingTool {
            name: t.program().to_string(),
            needed_for: why.to_string(),
            install: t.install_hint().to_string(),
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::ToolsMissing(missing))
    }
}

/// The version a tool reports, in one short line, or None when it is missing or fails.
pub(crate) fn version(runner: &crate::exec::Runner, tool: Tool) -> Option<String> {
    let path = which::which(tool.program()).ok()?;
    let cmd = crate::exec::Cmd::new(
        tool.program(),
        format!("read the {} version", tool.program()),
    )
    .args(tool.version_args().iter().copied())
    .timeout(std::time::Duration::from_secs(20));
    let out = runner.run(&cmd).ok()?;
    let text = if out.stdout.trim().is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let line = if tool == Tool::Kubectl {
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v["clientVersion"]["gitVersion"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| text.lines().next().unwrap_or("").to_string())
    } else {
        text.lines().next().unwrap_or("").trim().to_string()
    };
    let _ = path;
    Some(line)
}
