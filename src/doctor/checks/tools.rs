//! HP1xx: the tools doctor and the guide drive (aws, kubectl, helm), found on PATH, and their versions.

use crate::doctor::facts::Facts;
use crate::doctor::report::{Fix, Outcome};
use crate::doctor::runner::Problem;
use crate::tools::Tool;

/// The first `X.Y.Z` (optionally `vX.Y.Z`) in a version line.
pub(crate) fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    for word in s.split(|c: char| c.is_whitespace() || c == '/' || c == '+' || c == '-') {
        let w = word.trim_start_matches('v');
        let mut parts = w.split('.');
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            continue;
        };
        let c = parts.next().unwrap_or("0");
        if let (Ok(a), Ok(b), Ok(c)) = (a.parse(), b.parse(), c.parse()) {
            return Some((a, b, c));
        }
    }
    None
}

/// What is wrong with a tool's version, if anything: (fail?, why).
pub(crate) fn judge_version(tool: Tool, v: (u64, u64, u64)) -> Option<(bool, String)> {
    match tool {
        Tool::Kubectl if v.0 == 1 && v.1 < 24 => Some((
            false,
            "kubectl older than 1.24 may not run the `aws eks get-token` credential plugin the EKS kubeconfig uses".into(),
        )),
        Tool::Helm if v.0 < 3 => Some((true, "Helm 2 cannot install the operator chart; Helm 3.8 or newer is needed".into())),
        Tool::Helm if v.0 == 3 && v.1 < 8 => Some((false, "Helm older than 3.8 lacks OCI chart support some subcharts use".into())),
        _ => None,
    }
}

pub(crate) fn check(facts: &Facts, tool: Tool, why: &str) -> Result<Vec<Outcome>, Problem> {
    let program = tool.program();
    let path = match which::which(program) {
        Ok(p) => p,
        Err(_) => {
            return Ok(vec![Outcome::fail(format!(
                "{program} not found on PATH (needed to {why})"
            ))
            .fix(Fix::advice(tool.install_hint()))]);
        }
    };
    // The aws CLI's version carries no verdict of its own and costs a process (~0.5 s of CPU):
    // the AWS checks prove the CLI works, and read its version only when one of its calls fails
    // the way an old CLI does (`Invalid choice`).
    if tool == Tool::Aws {
        return Ok(vec![Outcome::pass(format!(
            "{} (its version is read only if an AWS call fails)",
            path.display()
        ))]);
    }
    let line = match facts.tool_version(tool) {
        Ok(l) => l,
        Err(e) => {
            return Ok(vec![Outcome::warn(format!(
                "{program} found at {} but `{program} {}` failed",
                path.display(),
                tool.version_args().join(" ")
            ))
            .details(e.0.to_string().lines().map(str::to_string))
            .fix(Fix::advice(tool.install_hint()))]);
        }
    };
    let shown = line.split_whitespace().next().unwrap_or(&line).to_string();
    Ok(vec![
        match parse_version(&line).and_then(|v| judge_version(tool, v)) {
            Some((true, why)) => {
                Outcome::fail(format!("{shown}: {why}")).fix(Fix::advice(tool.install_hint()))
            }
            Some((false, why)) => {
                Outcome::warn(format!("{shown}: {why}")).fix(Fix::advice(tool.install_hint()))
            }
            None => Outcome::pass(format!("{shown} ({})", path.display())),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_tools_own_lines() {
        assert_eq!(
            parse_version("aws-cli/1.46.1 Python/3.12.3 Linux/6.8"),
            Some((1, 46, 1))
        );
        assert_eq!(parse_version("v1.37.1"), Some((1, 37, 1)));
        assert_eq!(parse_version("v3.19.0+g3d8990f"), Some((3, 19, 0)));
        assert_eq!(parse_version("nothing here"), None);
    }

    #[test]
    fn old_versions_are_flagged() {
        assert!(judge_version(Tool::Helm, (2, 17, 0)).unwrap().0);
        assert!(!judge_version(Tool::Helm, (3, 7, 0)).unwrap().0);
        assert!(judge_version(Tool::Helm, (3, 19, 0)).is_none());
        assert!(judge_version(Tool::Helm, (4, 1, 0)).is_none());
        assert!(judge_version(Tool::Kubectl, (1, 23, 0)).is_some());
        assert!(judge_version(Tool::Kubectl, (1, 37, 1)).is_none());
    }
}
