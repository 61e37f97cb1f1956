//! A Helm release left `pending-install`, `pending-upgrade` or `pending-rollback` (helm was
//! interrupted: Ctrl-C, a killed CI job, a lost connection) blocks every later upgrade with
//! "another operation (install/upgrade/rollback) is in progress". Setup's plan says so as drift
//! and repairs it before its `helm upgrade --install`:
//!
//! - `pending-upgrade` / `pending-rollback`: `helm rollback` to the last deployed revision,
//!   Helm's own way back to a consistent release; the upgrade then runs as usual.
//! - `pending-install`, or no revision to go back to: only the pending revision's record (its
//!   storage Secret `sh.helm.release.v1.<release>.v<N>`) is deleted. Never `helm uninstall`:
//!   the chart's CRDs are templates, and uninstalling would delete them and with them every
//!   model resource on the cluster. The objects stay, and the `upgrade --install` that follows
//!   adopts them (they carry the release's ownership annotations).

use serde_json::Value;

use crate::error::Result;
use crate::install::names::{HELM_NAMESPACE, HELM_RELEASE};
use crate::plan::{Action, StepEnv};
use crate::tools::helm;

/// The repair of a release in `phase` (its `helm status -o json` is `status`), when it is pending.
pub(super) fn repair(
    env: &StepEnv,
    status: &Value,
    phase: &str,
) -> Result<Option<(String, Action)>> {
    if !phase.starts_with("pending-") {
        return Ok(None);
    }
    let pending = status["version"].as_u64().unwrap_or(1);
    let back_to = if phase == "pending-install" {
        None
    } else {
        last_good_revision(env, pending)?
    };
    let (note, action) = match back_to {
        Some(rev) => (
            format!(
                "release {HELM_RELEASE} is {phase} (revision {pending}: an earlier helm was interrupted): rolled back to revision {rev} first"
            ),
            Action::new(
                format!("helm rollback the interrupted release to revision {rev}"),
                helm::rollback(
                    &env.kube,
                    format!("roll back the interrupted release {HELM_RELEASE} to revision {rev}"),
                    (HELM_RELEASE, &rev.to_string()),
                    HELM_NAMESPACE,
                    None,
                ),
            ),
        ),
        None => {
            let secret = helm::release_secret(HELM_RELEASE, pending);
            (
                format!(
                    "release {HELM_RELEASE} is {phase} (revision {pending}: an earlier helm was interrupted): its pending record is removed first, keeping every object (not helm uninstall, which would delete the CRDs and every model)"
                ),
                Action::new(
                    format!("remove the interrupted release's record (Secret {secret})"),
                    helm::delete_release_secret(
                        &env.kube,
                        format!("remove the record of the interrupted release {HELM_RELEASE}"),
                        &secret,
                        HELM_NAMESPACE,
                    ),
                ),
            )
        }
    };
    Ok(Some((note, action)))
}

/// The newest revision before `pending` that was deployed (else superseded): what to go back to.
fn last_good_revision(env: &StepEnv, pending: u64) -> Result<Option<u64>> {
    let cmd = helm::history(&env.kube, HELM_RELEASE, HELM_NAMESPACE, 20);
    let history: Vec<Value> = env.ctx.runner.json(&cmd)?;
    let newest = |status: &str| {
        history
            .iter()
            .filter(|h| h["status"] == status)
            .filter_map(|h| h["revision"].as_u64())
            .filter(|r| *r < pending)
            .max()
    };
    Ok(newest("deployed").or_else(|| newest("superseded")))
}
