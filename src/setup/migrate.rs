//! The steps that move a Helm install of the operator onto the EKS add-on (`migrate --to addon`),
//! added to the add-on method's plan, and the way back when the add-on fails.
//!
//! Never `helm uninstall`: the chart's three inference CRDs are templates without a keep policy,
//! so uninstalling deletes them and every model with them. Instead (as AWS's
//! `migration/helm_to_addon.sh`):
//!
//! * `preflight`: what is installed (the Helm release, the add-on, both); neither is refused;
//! * `helm-workloads`: the chart's Deployments (the operator, its ALB controller, KEDA, its
//!   metrics-server) scaled to 0 and deleted, after the new roles and the dependency add-ons are
//!   in place and before the metrics-server and operator add-ons are created with
//!   `--resolve-conflicts OVERWRITE` (they take over the CRDs, the namespace and metrics-server's
//!   APIService from Helm; the models stay, with their uid);
//! * `helm-leftovers`: once the add-on is verified, what the release still owns and the add-on did
//!   not take over (RBAC, Services, webhook configurations that would point at Services nothing
//!   serves, KEDA's APIService ...) is deleted, as an uninstall would, but never a CRD or a
//!   namespace;
//! * `helm-release-record`: then the release's storage Secrets are
//!   removed (the objects stay). Left in place, the record would still list the CRDs: a later
//!   `helm uninstall` would delete the add-on's CRDs and every model, and `helm upgrade` would
//!   bring the second operator back.
//!
//! On a failure after the Helm workloads were removed, [`restore`] brings them back: the add-on is
//! deleted with `--preserve` (never without: EKS would delete what it installed, the CRDs and
//! every model with them), its workloads are deleted, and `helm rollback` to the release's
//! deployed revision re-creates the chart's Deployments from the release's own manifest.

use serde_json::Value;

use super::steps::SetupInputs;
use crate::error::Result;
use crate::install::names::*;
use crate::plan::{Action, Check, State, StepEnv};
use crate::tools::helm;
use crate::tools::kube::{self, str_at, Deletion, KubeOpts};
use crate::Ctx;

/// The chart's Deployments that run something (namespace, name): the operator, its ALB
/// controller, KEDA's three and metrics-server. The add-on runs its own in
/// `hyperpod-inference-system` under other names.
pub(crate) const HELM_WORKLOADS: [(&str, &str); 6] = [
    (OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT),
    (HELM_NAMESPACE, ALB_DEPLOYMENT),
    (HELM_NAMESPACE, "keda-operator"),
    (HELM_NAMESPACE, "keda-operator-metrics-apiserver"),
    (HELM_NAMESPACE, "keda-admission-webhooks"),
    (HELM_NAMESPACE, "hyperpod-inference-operator-metrics"),
];

/// The add-on's Deployments (in `hyperpod-inference-system`), removed on the way back after the
/// add-on was deleted with `--preserve`.
pub(crate) const ADDON_WORKLOADS: [&str; 3] = [
    ADDON_OPERATOR_DEPLOYMENT,
    "hyperpod-inference-alb",
    "keda-operator",
];

/// The release's storage Secrets (`owner=helm,name=<release>`), newest revision last.
pub(crate) fn release_records(ctx: &Ctx, kube: &KubeOpts) -> Result<Vec<Value>> {
    let selector = format!("owner=helm,name={HELM_RELEASE}");
    let list = kube::list_json(
        kube,
        "list the operator chart's Helm release records",
        "secrets",
        Some(HELM_NAMESPACE),
        Some(&selector),
    );
    let v: Value = ctx.runner.json(&list)?;
    let mut items = v["items"].as_array().cloned().unwrap_or_default();
    let rev = |s: &Value| {
        str_at(s, "/metadata/labels/version")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    items.sort_by_key(rev);
    Ok(items)
}

/// The revision the release is deployed at (its record labelled `status=deployed`).
fn deployed_revision(records: &[Value]) -> Option<String> {
    records
        .iter()
        .rev()
        .find(|s| str_at(s, "/metadata/labels/status") == Some("deployed"))
        .and_then(|s| str_at(s, "/metadata/labels/version"))
        .map(str::to_string)
}

/// The Helm workloads still on the cluster.
fn helm_workloads_present(env: &StepEnv) -> Result<Vec<(&'static str, &'static str)>> {
    let mut out = Vec::new();
    for (ns, name) in HELM_WORKLOADS {
        if env.kget("deployment", name, Some(ns))?.is_some() {
            out.push((ns, name));
        }
    }
    Ok(out)
}

/// `preflight` of a migration: what is installed. Neither a Helm release nor the add-on: blocked
/// with a note starting `nothing to migrate` (the library turns it into bad input).
pub(super) fn preflight_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    if env.offline {
        return Ok(Check::new(State::Info, vec![]).note("not checked offline"));
    }
    let records = release_records(env.ctx, &env.kube)?;
    let operator = env.kget("deployment", OPERATOR_DEPLOYMENT, Some(OPERATOR_NAMESPACE))?;
    let addon = env.describe_addon(&inp.target.eks_cluster, OPERATOR_ADDON)?;
    let helm = match (records.last(), &operator) {
        (Some(r), _) => Some(format!(
            "Helm release {HELM_NAMESPACE}/{HELM_RELEASE} revision {} ({})",
            str_at(r, "/metadata/labels/version").unwrap_or("?"),
            str_at(r, "/metadata/labels/status").unwrap_or("status unknown")
        )),
        (None, Some(_)) => Some(format!(
            "Deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT} (no Helm release record)"
        )),
        (None, None) => None,
    };
    let addon_desc = addon.as_ref().map(|a| {
        format!(
            "EKS add-on {OPERATOR_ADDON} ({})",
            a.status.as_deref().unwrap_or("status unknown")
        )
    });
    Ok(match (helm, addon_desc) {
        (None, None) => Check::new(State::Blocked, vec![]).note(format!(
            "nothing to migrate: the cluster has no inference operator (no Helm release {HELM_NAMESPACE}/{HELM_RELEASE}, \
             no EKS add-on {OPERATOR_ADDON}); install it with `kubectl hyperpod setup --method addon --hyperpod-cluster NAME --s3-bucket BUCKET`"
        )),
        (Some(h), None) => Check::new(State::Info, vec![]).note(format!("moving {h} onto the EKS add-on")),
        (Some(h), Some(a)) => Check::new(State::Info, vec![])
            .note(format!("half-migrated: {h} and {a}; the migration goes on from here")),
        (None, Some(a)) => Check::satisfied().note(format!("already migrated: {a}, no Helm install left")),
    })
}

/// `helm-workloads`: the chart's Deployments scaled to 0 and deleted (not `helm uninstall`).
pub(super) fn helm_workloads_check(env: &StepEnv) -> Result<Check> {
    if env.offline {
        return Ok(
            Check::new(State::Missing, workload_actions(&env.kube, &HELM_WORKLOADS))
                .note("not checked offline: each that exists is removed"),
        );
    }
    let present = helm_workloads_present(env)?;
    if present.is_empty() {
        return Ok(Check::satisfied().note("no Deployment of the Helm install left"));
    }
    let names: Vec<String> = present.iter().map(|(ns, n)| format!("{ns}/{n}")).collect();
    Ok(
        Check::new(State::Present, workload_actions(&env.kube, &present)).note(format!(
            "the Helm install's Deployments {} stop and go (the CRDs and every model stay)",
            names.join(", ")
        )),
    )
}

fn workload_actions(kube: &KubeOpts, present: &[(&str, &str)]) -> Vec<Action> {
    let mut namespaces: Vec<&str> = present.iter().map(|(ns, _)| *ns).collect();
    namespaces.dedup();
    let mut scale = Vec::new();
    let mut delete = Vec::new();
    for ns in namespaces {
        let names: Vec<&str> = present
            .iter()
            .filter(|(n, _)| *n == ns)
            .map(|(_, d)| *d)
            .collect();
        scale.push(Action::new(
            format!("scale {} in {ns} to 0", names.join(", ")),
            kube::scale_deployments_to_zero(
                kube,
                format!("scale the Helm install's Deployments in {ns} to 0"),
                &names,
                ns,
            ),
        ));
        delete.push(Action::new(
            format!("delete {} in {ns}", names.join(", ")),
            kube::delete(
                kube,
                format!("delete the Helm install's Deployments in {ns}"),
                "deployment",
                &names,
                Some(ns),
                Deletion::IF_ANY,
            ),
        ));
    }
    scale.extend(delete);
    scale
}

/// Kinds of the release never deleted with its leftovers: the CRDs (every model goes with them)
/// and the namespaces (the add-on runs in `hyperpod-inference-system`).
const KEPT_KINDS: [&str; 2] = ["CustomResourceDefinition", "Namespace"];

/// `kind.group` as kubectl names a resource type (`Deployment.apps`, `Service`).
fn resource_type(api_version: &str, kind: &str) -> String {
    match api_version.split_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind.to_string(),
    }
}

/// The release's objects (kind, name) from its manifest, as `helm get manifest` prints them.
fn manifest_objects(text: &str) -> Vec<(String, String, String)> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let Ok(v) = Value::deserialize(doc) else {
            continue;
        };
        let (Some(api), Some(kind), Some(name)) = (
            str_at(&v, "/apiVersion"),
            str_at(&v, "/kind"),
            str_at(&v, "/metadata/name"),
        ) else {
            continue;
        };
        out.push((api.to_string(), kind.to_string(), name.to_string()));
    }
    out
}

/// `helm-leftovers`: once the add-on runs, the objects the chart made that still belong to the
/// release (its ownership annotations, `app.kubernetes.io/managed-by` not taken over by EKS):
/// RBAC, Services, the operator's and the ALB controller's webhook configurations (which would
/// point at Services nothing serves any more), KEDA's APIService ... are deleted, as an uninstall
/// would, but never a CRD or a namespace.
pub(super) fn helm_leftovers_check(env: &StepEnv) -> Result<Check> {
    if env.offline {
        return Ok(Check::new(State::Info, vec![])
            .note("not checked offline: what the release still owns, but its CRDs and namespaces, is deleted"));
    }
    if release_records(env.ctx, &env.kube)?.is_empty() {
        return Ok(Check::satisfied().note("no Helm release left"));
    }
    let manifest =
        env.ctx
            .runner
            .run(&helm::get_manifest(&env.kube, HELM_RELEASE, HELM_NAMESPACE))?;
    let objects: Vec<(String, String, String)> = manifest_objects(&manifest.stdout)
        .into_iter()
        .filter(|(_, kind, _)| !KEPT_KINDS.contains(&kind.as_str()))
        .collect();
    let mut types: Vec<String> = objects
        .iter()
        .map(|(api, kind, _)| resource_type(api, kind))
        .collect();
    types.sort();
    types.dedup();
    if types.is_empty() {
        return Ok(Check::satisfied().note("the release has nothing but CRDs and namespaces"));
    }
    let joined = types.join(",");
    let live: Value = env.ctx.runner.json(&kube::if_any(kube::list_json(
        &env.kube,
        "list what the Helm release still owns",
        &joined,
        None,
        Some("app.kubernetes.io/managed-by=Helm"),
    )))?;
    // (namespace or "", "kind.group/name")
    let mut owned: Vec<(String, String)> = Vec::new();
    for item in live["items"].as_array().into_iter().flatten() {
        let release = str_at(item, "/metadata/annotations/meta.helm.sh~1release-name");
        let release_ns = str_at(
            item,
            "/metadata/annotations/meta.helm.sh~1release-namespace",
        );
        let (Some(api), Some(kind), Some(name)) = (
            str_at(item, "/apiVersion"),
            str_at(item, "/kind"),
            str_at(item, "/metadata/name"),
        ) else {
            continue;
        };
        let in_manifest = objects.iter().any(|(_, k, n)| k == kind && n == name);
        if release != Some(HELM_RELEASE) || release_ns != Some(HELM_NAMESPACE) || !in_manifest {
            continue;
        }
        let ns = str_at(item, "/metadata/namespace")
            .unwrap_or("")
            .to_string();
        owned.push((ns, format!("{}/{name}", resource_type(api, kind))));
    }
    if owned.is_empty() {
        return Ok(Check::satisfied()
            .note("nothing of the Helm release is left but its CRDs and namespaces"));
    }
    owned.sort();
    let mut namespaces: Vec<&str> = owned.iter().map(|(ns, _)| ns.as_str()).collect();
    namespaces.dedup();
    let mut actions = Vec::new();
    for ns in namespaces {
        let refs: Vec<&str> = owned
            .iter()
            .filter(|(n, _)| n == ns)
            .map(|(_, r)| r.as_str())
            .collect();
        let place = if ns.is_empty() {
            "cluster-wide".to_string()
        } else {
            format!("in {ns}")
        };
        actions.push(Action::new(
            format!(
                "delete {} object(s) of the Helm release {place}",
                refs.len()
            ),
            kube::delete_refs(
                &env.kube,
                format!("delete what the Helm release {HELM_RELEASE} still owns {place}"),
                &refs,
                Some(ns).filter(|ns| !ns.is_empty()),
            ),
        ));
    }
    Ok(Check::new(State::Present, actions).note(format!(
        "{} object(s) the Helm release still owns and the add-on did not take over (its CRDs and namespaces stay)",
        owned.len()
    )))
}

/// `helm-release-record`: the release's storage Secrets removed once the add-on runs (every
/// object stays).
pub(super) fn release_record_check(env: &StepEnv) -> Result<Check> {
    let selector = format!("owner=helm,name={HELM_RELEASE}");
    let action = Action::new(
        format!("remove the Helm release record of {HELM_RELEASE} (objects kept)"),
        kube::delete_selected(
            &env.kube,
            format!("remove the record of the Helm release {HELM_RELEASE} (its storage Secrets)"),
            "secret",
            HELM_NAMESPACE,
            &selector,
        ),
    );
    if env.offline {
        return Ok(Check::new(State::Missing, vec![action]).note("not checked offline"));
    }
    let records = release_records(env.ctx, &env.kube)?;
    if records.is_empty() {
        return Ok(Check::satisfied().note("no Helm release record"));
    }
    Ok(Check::new(State::Present, vec![action]).note(format!(
        "{} record(s) of release {HELM_NAMESPACE}/{HELM_RELEASE}: left in place, `helm uninstall` would delete the CRDs the add-on now manages, and every model",
        records.len()
    )))
}

/// After a failed migration: when the Helm operator is gone but its release is recorded, brings
/// it back (the add-on deleted with `--preserve`, its Deployments removed, `helm rollback` to the
/// deployed revision, waited for). Returns what was done, or None when nothing needed restoring.
pub(crate) fn restore(
    ctx: &Ctx,
    kube: &KubeOpts,
    eks_cluster: &str,
    timeout: std::time::Duration,
) -> Result<Option<String>> {
    let records = release_records(ctx, kube)?;
    let Some(revision) = deployed_revision(&records) else {
        return Ok(None);
    };
    let operator = kube.get_read(
        &ctx.runner,
        "deployment",
        OPERATOR_DEPLOYMENT,
        Some(OPERATOR_NAMESPACE),
        false,
    )?;
    if operator.is_some() {
        return Ok(None);
    }
    ctx.ui
        .progress("Restoring the Helm install (the migration failed after it was stopped)...");
    let mut done = Vec::new();
    let aws = &ctx.aws;
    use crate::tools::eks;
    if eks::addon_read(&ctx.runner, aws, eks_cluster, OPERATOR_ADDON, false)?.is_some() {
        ctx.runner.run(&eks::delete_addon(
            aws,
            format!("delete the failed {OPERATOR_ADDON} add-on, keeping what it installed (the CRDs and models)"),
            eks_cluster,
            OPERATOR_ADDON,
            true,
        ))?;
        ctx.runner.run(
            &eks::wait_addon_deleted(
                aws,
                format!("wait for the {OPERATOR_ADDON} add-on to be deleted"),
                eks_cluster,
                OPERATOR_ADDON,
            )
            .timeout(timeout),
        )?;
        done.push(format!("add-on {OPERATOR_ADDON} deleted with --preserve"));
    }
    ctx.runner.run(&kube::delete(
        kube,
        "delete the add-on's Deployments (a second operator)",
        "deployment",
        &ADDON_WORKLOADS,
        Some(OPERATOR_NAMESPACE),
        Deletion::IF_ANY,
    ))?;
    ctx.runner.run(
        &helm::rollback(
            kube,
            format!("restore the Helm install: roll {HELM_RELEASE} back to its deployed revision {revision}"),
            (HELM_RELEASE, &revision),
            HELM_NAMESPACE,
            Some(timeout),
        )
        .timeout(timeout + std::time::Duration::from_secs(30)),
    )?;
    done.push(format!(
        "helm rollback {HELM_RELEASE} {revision} -n {HELM_NAMESPACE}: the Helm operator runs again"
    ));
    Ok(Some(done.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_deployed_revision_is_the_newest_record_marked_deployed() {
        let rec = |v: &str, s: &str| json!({"metadata": {"labels": {"version": v, "status": s}}});
        let records = vec![
            rec("1", "superseded"),
            rec("2", "deployed"),
            rec("3", "failed"),
        ];
        assert_eq!(deployed_revision(&records).as_deref(), Some("2"));
        assert_eq!(deployed_revision(&[rec("1", "failed")]), None);
    }

    #[test]
    fn the_manifest_names_kinds_as_kubectl_does() {
        let text = "---\n# Source: x\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\n";
        let objs = manifest_objects(text);
        assert_eq!(objs.len(), 2);
        assert_eq!(resource_type(&objs[0].0, &objs[0].1), "Deployment.apps");
        assert_eq!(resource_type(&objs[1].0, &objs[1].1), "Service");
    }

    #[test]
    fn workloads_are_scaled_down_before_any_is_deleted() {
        let kube = KubeOpts::default();
        let a = workload_actions(&kube, &HELM_WORKLOADS);
        let verbs: Vec<&str> = a.iter().map(|a| a.cmd.argv[1].as_str()).collect();
        assert_eq!(verbs, ["scale", "scale", "delete", "delete"]);
    }
}
