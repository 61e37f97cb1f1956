//! A plan action that waits for an EKS add-on by polling `describe-addon`: it passes on
//! `ACTIVE`, fails at once on `CREATE_FAILED`, `UPDATE_FAILED` or `DEGRADED` with EKS's health
//! issues and what to do, and times out with the last state seen.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::StepEnv;
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::tools::aws::AwsOpts;
use crate::tools::eks;

/// How often the add-on is read while it is CREATING or UPDATING.
const POLL: Duration = Duration::from_secs(5);

/// What an add-on wait waits for; serialised into the plan next to the read it repeats.
#[derive(Debug, Clone, Serialize)]
pub struct AddonWait {
    pub eks_cluster: String,
    pub addon: String,
    /// The status that passes.
    pub until: &'static str,
    /// The statuses that fail at once.
    pub fails_on: &'static [&'static str],
    pub timeout_seconds: u64,
    /// What to do when the add-on fails (said after its health issues).
    pub on_failure: String,
}

impl AddonWait {
    pub fn new(eks_cluster: &str, addon: &str, timeout: Duration, on_failure: String) -> Self {
        AddonWait {
            eks_cluster: eks_cluster.to_string(),
            addon: addon.to_string(),
            until: "ACTIVE",
            fails_on: &["CREATE_FAILED", "UPDATE_FAILED", "DEGRADED"],
            timeout_seconds: timeout.as_secs(),
            on_failure,
        }
    }

    /// The read this wait repeats, as the plan shows it.
    pub fn read_cmd(&self, aws: &AwsOpts) -> Cmd {
        eks::describe_addon(
            aws,
            format!("wait for the {} add-on to become active", self.addon),
            &self.eks_cluster,
            &self.addon,
        )
    }

    pub fn run(&self, env: &StepEnv) -> Result<()> {
        let (ctx, name) = (env.ctx, self.addon.as_str());
        ctx.ui.progress(&format!(
            "waiting for the {name} add-on to become ACTIVE (up to {})",
            crate::time::human(self.timeout_seconds as i64)
        ));
        let deadline = Instant::now() + Duration::from_secs(self.timeout_seconds);
        loop {
            let found = eks::addon(&ctx.runner, &ctx.aws, &self.eks_cluster, name)?;
            let Some(a) = found else {
                return Err(Error::failed(
                    format!("the {name} add-on disappeared while setup waited for it"),
                    Some(self.on_failure.clone()),
                ));
            };
            let status = a.status.clone().unwrap_or_else(|| "UNKNOWN".into());
            if status == self.until {
                return Ok(());
            }
            if self.fails_on.contains(&status.as_str()) {
                return Err(self.failure(&status, &a.health_issues()));
            }
            if Instant::now() >= deadline {
                return Err(Error::TimedOut {
                    what: format!("the {name} add-on to become ACTIVE"),
                    seconds: self.timeout_seconds,
                    last_state: status,
                });
            }
            std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    fn failure(&self, status: &str, issues: &[String]) -> Error {
        let shown = if issues.is_empty() {
            "EKS reports no health issue".to_string()
        } else {
            issues
                .iter()
                .map(|i| format!("  - {i}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        Error::failed(
            format!(
                "the {} add-on is {status}; its health issues:\n{shown}",
                self.addon
            ),
            Some(self.on_failure.clone()),
        )
    }
}

impl super::Waiter for AddonWait {
    fn describe(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn run(&self, env: &StepEnv) -> Result<()> {
        AddonWait::run(self, env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_lists_the_health_issues_and_what_to_do() {
        let w = AddonWait::new("eks", "a", Duration::from_secs(60), "fix it".into());
        let e = w.failure(
            "DEGRADED",
            &["AccessDenied: role r does not exist (resources: r)".into()],
        );
        assert_eq!(
            e.to_string(),
            "the a add-on is DEGRADED; its health issues:\n  - AccessDenied: role r does not exist (resources: r)"
        );
        assert_eq!(e.hint().as_deref(), Some("fix it"));
    }
}
