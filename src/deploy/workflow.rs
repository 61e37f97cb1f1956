//! The deploy workflow as one function: check the resource against the CRDs, check that the
//! cluster can place it, then (unless `--dry-run`) apply it and wait for the operator's verdict.
//! The CLI's `deploy` (jumpstart, custom, `-f`) is this function with its flags; setup's test
//! deployment runs the same checks and the same wait (`apply::await_verdict`) as steps of its plan.

use serde_json::Value;

use super::apply::{self, DeployOptions, DeployReport};
use super::check::{self, Checked};
use super::placement::{self, PlacementRequest};
use crate::error::{Error, Result};
use crate::tools::{require, Tool};
use crate::validate;
use crate::Ctx;

/// One deployment, as the deploy command takes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deployment {
    /// The model resource (rendered from flags, or read from a manifest).
    pub resource: Value,
    /// Where it goes when it names no namespace.
    pub namespace: String,
    /// `namespace` is only the fallback: the kubeconfig context's namespace, when it sets one,
    /// replaces it (no `-n`, and the resource names none of its own), as kubectl does.
    pub namespace_from_kubeconfig: bool,
    /// The manifest it was read from: its problems name the file as well as the field.
    pub file: Option<String>,
    /// `--offline`: no cluster at all (only with a dry run).
    pub offline: bool,
    /// The HyperPod cluster named on the command line, checked before any call.
    pub hyperpod_cluster: Option<String>,
    /// What the placement check needs; `None` skips it (`--skip-placement-check`).
    pub placement: Option<PlacementRequest>,
    pub options: DeployOptions,
}

/// What a deployment came to.
#[derive(Debug)]
pub(crate) enum Deployed {
    /// `--dry-run`: checked (and placed, unless offline), not applied.
    Checked(Checked),
    /// Applied, and waited for unless `--no-wait`.
    Applied(Box<DeployReport>),
}

/// Checks, places, applies and waits, in that order; every input error comes before the first
/// call. Placement notes (what could not be checked) are printed as warnings.
pub(crate) fn deploy(ctx: &Ctx, d: Deployment) -> Result<Deployed> {
    let checked = check::check(d.resource, &d.namespace).map_err(|e| match (e, &d.file) {
        (Error::Invalid { field, rule }, Some(f)) => Error::Invalid {
            field: format!("{field} in {f}"),
            rule,
        },
        (e, _) => e,
    })?;
    if d.offline && !ctx.dry_run {
        return Err(Error::invalid(
            "--offline",
            "only goes with --dry-run (a deploy needs the cluster)",
        ));
    }
    if let Some(c) = &d.hyperpod_cluster {
        validate::hyperpod_cluster_name("--hyperpod-cluster", c)?;
    }
    let mut checked = checked;
    if d.namespace_from_kubeconfig && !d.offline {
        if let Some(ns) = kubeconfig_namespace(ctx)? {
            checked.move_to(&ns);
        }
    }
    if let Some(req) = d.placement.as_ref().filter(|_| !d.offline) {
        require(&[
            (
                Tool::Kubectl,
                "read the cluster's nodes (--skip-placement-check skips it)",
            ),
            (
                Tool::Aws,
                "read the instance groups and the model's instance types (--skip-placement-check skips it)",
            ),
        ])?;
        for note in placement::check(ctx, &ctx.kube, checked.kind, &checked.resource, req)? {
            ctx.ui.warn(&note);
        }
    }
    if ctx.dry_run {
        return Ok(Deployed::Checked(checked));
    }
    require(&[(Tool::Kubectl, "apply and watch model resources")])?;
    apply::deploy(ctx, &checked, &d.options).map(|r| Deployed::Applied(Box::new(r)))
}

/// The namespace the kubeconfig's context sets (kubectl's default namespace), checked; `None`
/// when it sets none. Reads the kubeconfig: call it once the user's input is checked.
pub(crate) fn kubeconfig_namespace(ctx: &Ctx) -> Result<Option<String>> {
    let Some(ns) = crate::tools::kube::context_namespace(&ctx.runner, &ctx.kube) else {
        return Ok(None);
    };
    validate::k8s_label_name("the namespace of the kubeconfig's context", &ns)?;
    Ok(Some(ns))
}
