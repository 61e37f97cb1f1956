//! HP6xx: what the operator needs around it: cert-manager's CRDs, the S3 and FSx CSI drivers,
//! the AWS Load Balancer Controller and KEDA; and how the operator is installed (the Helm chart,
//! the EKS add-on, both) with what a Helm install would collide with.

use serde_json::Value;

use super::iam::bindings;
use super::models;
use crate::doctor::facts::Facts;
use crate::doctor::fixes;
use crate::doctor::report::{Fix, Outcome};
use crate::doctor::runner::Problem;
use crate::doctor::workloads::{self, WorkloadMatch};
use crate::install::names::*;
use crate::install::{RoleId, ALB_WORKLOAD, KEDA_WORKLOAD, OPERATOR_WORKLOAD};
use crate::tools::kube::str_at;

/// The role ARN to hand to a CSI add-on, when that role exists.
fn csi_role_arn(f: &Facts, driver: &str) -> Option<String> {
    let role = if driver.starts_with("s3.") {
        bindings(f.cfg)
            .ok()?
            .into_iter()
            .find(|b| b.key == RoleId::S3Csi)?
            .role?
    } else {
        let c = f.cfg.hyperpod_cluster.as_deref()?;
        Names::derive(c, &f.cfg.overrides).ok()?.fsx_role.name
    };
    // Only a role that exists can be handed to the add-on.
    f.role(&role).ok()??;
    fixes::role_arn(f, &role)
}

/// Installs (or restores) a CSI driver through its EKS add-on.
pub(crate) fn csi_fix(f: &Facts, driver: &str) -> Fix {
    let role = csi_role_arn(f, driver);
    if driver.starts_with("s3.") {
        fixes::addon_fix(
            f,
            S3_CSI_ADDON,
            role.as_deref(),
            "the S3 CSI driver (CSIDriver s3.csi.aws.com)",
        )
    } else {
        fixes::addon_fix(
            f,
            FSX_CSI_ADDON,
            role.as_deref(),
            "the FSx CSI driver (CSIDriver fsx.csi.aws.com)",
        )
    }
}

pub(crate) fn cert_manager(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let missing = f.missing_crds(&CERT_MANAGER_CRDS)?;
    if missing.is_empty() {
        return Ok(vec![Outcome::pass(
            CERT_MANAGER_CRDS.join(", ") + " are installed",
        )]);
    }
    Ok(vec![Outcome::fail(format!(
        "missing {}: the operator's init container refuses to start without cert-manager",
        missing.join(", ")
    ))
    .fix(fixes::cert_manager_fix(f))])
}

pub(crate) fn s3_csi(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let objs = f.cluster()?;
    if objs.has_csidriver("s3.csi.aws.com") {
        return Ok(vec![Outcome::pass("CSIDriver s3.csi.aws.com is installed")]);
    }
    Ok(vec![Outcome::fail(
        "CSIDriver s3.csi.aws.com is missing: the operator's init container fails and models cannot mount S3",
    )
    .fix(csi_fix(f, "s3.csi.aws.com"))])
}

/// Why FSx is needed here, if it is.
fn fsx_needed_by(objs: &crate::doctor::facts::ClusterObjects, models: &[Value]) -> Option<String> {
    if let Some(op) = workloads::find(objs.deployments.iter(), &OPERATOR_WORKLOAD) {
        let inits = op["spec"]["template"]["spec"]["initContainers"].as_array();
        for c in inits.into_iter().flatten() {
            if str_at(c, "/name") != Some("check-csi-drivers") {
                continue;
            }
            let checks = c["env"]
                .as_array()
                .and_then(|env| env.iter().find(|e| str_at(e, "/name") == Some("CHECKS")))
                .and_then(|e| str_at(e, "/value"))
                .unwrap_or("drivers crds");
            if checks.split_whitespace().any(|c| c == "drivers") {
                return Some("the operator's init container requires it".into());
            }
        }
    }
    models
        .iter()
        .find(|m| uses_fsx(m))
        .map(|m| format!("model {} reads from FSx", workloads::ref_of(m)))
}

pub(crate) fn fsx_csi(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let objs = f.cluster()?;
    if objs.has_csidriver("fsx.csi.aws.com") {
        return Ok(vec![Outcome::pass(
            "CSIDriver fsx.csi.aws.com is installed",
        )]);
    }
    let models = f.models().map(|m| m.as_ref().clone()).unwrap_or_default();
    Ok(vec![match fsx_needed_by(&objs, &models) {
        Some(why) => Outcome::fail(format!("CSIDriver fsx.csi.aws.com is missing and {why}"))
            .fix(csi_fix(f, "fsx.csi.aws.com")),
        None => Outcome::pass("not installed; nothing here needs it"),
    }])
}

fn running(f: &Facts, m: &WorkloadMatch, what: &str) -> Result<Vec<Outcome>, Problem> {
    let objs = f.cluster()?;
    let Some(w) = workloads::find(objs.workloads(), m) else {
        return Ok(vec![Outcome::fail(format!(
            "{what} is not installed (no Deployment {} found)",
            m.names[0]
        ))
        .fix(fixes::setup_fix(
            f,
            &format!("re-run setup, whose operator chart installs the {what}"),
        ))]);
    };
    let shown = format!("{} {}", workloads::kind(w), workloads::ref_of(w));
    let (ready, line) = workloads::ready_line(w, &shown, "ready");
    if ready {
        return Ok(vec![Outcome::pass(line)]);
    }
    let (problems, details) = workloads::why_not_ready(f, w);
    let first = problems
        .first()
        .map(|p| format!("; {}", p.line()))
        .unwrap_or_default();
    Ok(vec![Outcome::fail(format!("{line}{first}"))
        .details(details)
        .fix(Fix::manual(
            "read its pods' events and logs for the cause",
            vec![workloads::describe_cmd(
                &f.ctx.kube,
                &workloads::kind(w).to_ascii_lowercase(),
                w,
            )],
        ))])
}

pub(crate) fn alb(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    running(f, &ALB_WORKLOAD, "AWS Load Balancer Controller")
}

pub(crate) fn keda(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    running(f, &KEDA_WORKLOAD, "KEDA operator")
}

/// Whether a model reads from FSx.
fn uses_fsx(m: &Value) -> bool {
    models::spec(m).source.is_some_and(|s| s.kind == "fsx")
}

/// HP606: which install method the cluster has. The EKS add-on (the HyperPod console's
/// inference feature) is named with how to manage it; the add-on next to setup's Helm release is
/// two operators; with neither, a metrics-server of someone else's is what setup's Helm method
/// would collide with (the chart always installs its own).
pub(crate) fn install_method(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let objs = f.cluster()?;
    let has = |ns: &str, name: &str| {
        objs.deployments
            .iter()
            .any(|d| workloads::name(d) == name && workloads::namespace(d) == ns)
    };
    let helm = has(OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT);
    let addon = f
        .addons()
        .map(|a| a.iter().any(|n| n == OPERATOR_ADDON))
        .unwrap_or(false)
        || has(OPERATOR_NAMESPACE, ADDON_OPERATOR_DEPLOYMENT);
    let eks = f.eks_name().unwrap_or_else(|_| "<eks-cluster>".into());
    let manage = Fix::advice(format!(
        "manage the add-on install with aws eks describe-addon --cluster-name {eks} --addon-name {OPERATOR_ADDON} \
         (update-addon --configuration-values to change it); kubectl hyperpod setup (Helm method) refuses on this cluster"
    ));
    match (helm, addon) {
        (true, true) => Ok(vec![Outcome::fail(format!(
            "half-migrated: two inference operators, the EKS add-on {OPERATOR_ADDON} and the Helm release {HELM_RELEASE}'s Deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT}"
        ))
        .fix(migrate_fix(
            f,
            "finish the move onto the add-on: the migration removes the Helm install's Deployments (never helm uninstall: the CRDs and models stay) and its release record",
        ))]),
        (false, true) => Ok(vec![Outcome::pass(format!(
            "the operator is installed by the EKS add-on {OPERATOR_ADDON}"
        ))
        .fix(manage)]),
        (true, false) => Ok(vec![Outcome::pass(format!(
            "the operator is installed by the Helm release {HELM_NAMESPACE}/{HELM_RELEASE}"
        ))]),
        (false, false) if !inference_leftovers(f).is_empty() => {
            let what = inference_leftovers(f);
            // The Helm install's ServiceAccount outlives its Deployments: a migration stopped
            // between removing them and the add-on (the restore failed too).
            let helm_left = objs
                .serviceaccount(OPERATOR_SA.namespace, OPERATOR_SA.name)
                .is_some();
            let fix = if helm_left {
                migrate_fix(
                    f,
                    "the Helm install's Deployments are gone (a migration stopped half-way): the migration resumes and installs the add-on",
                )
            } else {
                addon_setup_fix(f, "install the operator as the EKS add-on: it takes the CRDs over and the models stay")
            };
            Ok(vec![Outcome::fail(format!(
                "no inference operator runs (neither the Helm release's Deployment nor the EKS add-on), but {}: nothing acts on the models",
                what.join(" and ")
            ))
            .fix(fix)])
        }
        (false, false) => {
            let other = objs.deployments.iter().find(|d| {
                d["metadata"]["labels"]["app.kubernetes.io/name"] == "metrics-server"
                    && !workloads::name(d).starts_with(HELM_RELEASE)
            });
            Ok(vec![match other {
                Some(d) => Outcome::warn(format!(
                    "no inference operator; setup's Helm method would collide with metrics-server {} (the chart always installs its own and Helm cannot adopt APIService v1beta1.metrics.k8s.io)",
                    workloads::ref_of(d)
                ))
                .fix(Fix::advice(format!(
                    "remove that metrics-server (the EKS add-on: aws eks delete-addon --cluster-name {eks} --addon-name metrics-server) before setup, \
                     or install the operator as the EKS add-on {OPERATOR_ADDON}"
                ))),
                None => Outcome::pass(
                    "no operator install yet, and nothing a Helm install of it would collide with",
                ),
            }])
        }
    }
}

/// What of the operator's is on the cluster without an operator: its CRDs, models.
fn inference_leftovers(f: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(crds) = f.crds() {
        if INFERENCE_CRDS.iter().any(|c| crds.contains(*c)) {
            out.push("the inference CRDs exist".to_string());
        }
    }
    if let Ok(models) = f.models() {
        if !models.is_empty() {
            out.push(format!("{} model(s)", models.len()));
        }
    }
    out
}

/// `kubectl hyperpod migrate --to addon --hyperpod-cluster NAME --s3-bucket BUCKET`.
fn migrate_fix(f: &Facts, summary: &str) -> Fix {
    Fix::manual(
        summary,
        vec![fixes::hyperpod_cmd(
            f,
            "move the operator onto the EKS add-on",
            &["migrate", "--to", "addon"],
        )],
    )
}

/// `kubectl hyperpod setup --method addon --hyperpod-cluster NAME --s3-bucket BUCKET`.
fn addon_setup_fix(f: &Facts, summary: &str) -> Fix {
    Fix::manual(
        summary,
        vec![fixes::hyperpod_cmd(
            f,
            "set up the operator as the EKS add-on",
            &["setup", "--method", "addon"],
        )],
    )
}

/// What to do about one health issue of the operator add-on, by its code.
fn issue_advice(code: &str, helm_left: bool) -> &'static str {
    match code {
        "AccessDenied" | "InsufficientPermissions" => {
            "a role the configuration names does not exist, is misnamed or does not trust the add-on's ServiceAccount (HP402 checks each): setup --method addon corrects the roles and updates the add-on"
        }
        "ConfigurationConflict" if helm_left => {
            "objects the add-on installs belong to the Helm install: the migration removes its Deployments and re-creates the add-on with --resolve-conflicts OVERWRITE"
        }
        "ConfigurationConflict" => {
            "objects the add-on installs belong to another install: setup --method addon re-creates the add-on with --resolve-conflicts OVERWRITE"
        }
        _ => "setup --method addon checks the roles and the dependency add-ons and updates the add-on",
    }
}

/// HP607: the operator add-on's status and health issues, each with what to do.
pub(crate) fn operator_addon(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let Some(a) = f.addon(OPERATOR_ADDON)?.as_ref().clone() else {
        return Ok(vec![Outcome::pass(format!(
            "the operator is not installed as the EKS add-on {OPERATOR_ADDON}"
        ))]);
    };
    let status = a.status.clone().unwrap_or_else(|| "UNKNOWN".into());
    let version = a.addon_version.clone().unwrap_or_default();
    let issues = a.health_issues();
    if status == "ACTIVE" && issues.is_empty() {
        return Ok(vec![Outcome::pass(format!(
            "EKS add-on {OPERATOR_ADDON} {version} is ACTIVE"
        ))]);
    }
    if matches!(status.as_str(), "CREATING" | "UPDATING" | "DELETING") {
        return Ok(vec![Outcome::warn(format!(
            "EKS add-on {OPERATOR_ADDON} {version} is {status}"
        ))
        .fix(Fix::advice("wait for EKS to finish, then run doctor again"))]);
    }
    let helm_left = f
        .cluster()
        .map(|o| {
            o.deployments.iter().any(|d| {
                workloads::name(d) == OPERATOR_DEPLOYMENT
                    && workloads::namespace(d) == OPERATOR_NAMESPACE
            })
        })
        .unwrap_or(false);
    let codes: Vec<String> = a
        .health
        .as_ref()
        .and_then(|h| h["issues"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|i| i["code"].as_str().unwrap_or("Unknown").to_string())
        .collect();
    let mut details: Vec<String> = issues.iter().map(|i| format!("health issue {i}")).collect();
    let mut seen = Vec::new();
    for c in &codes {
        let advice = issue_advice(c, helm_left);
        if !seen.contains(&advice) {
            seen.push(advice);
            details.push(format!("{c}: {advice}"));
        }
    }
    let finding = format!(
        "EKS add-on {OPERATOR_ADDON} {version} is {status}{}",
        match issues.first() {
            Some(i) => format!(": {i}"),
            None => String::new(),
        }
    );
    let fix = if helm_left && codes.iter().any(|c| c == "ConfigurationConflict") {
        migrate_fix(
            f,
            "move the Helm install out of the add-on's way and re-create the add-on",
        )
    } else {
        addon_setup_fix(f, "correct what the issues name and update the add-on")
    };
    Ok(vec![Outcome::fail(finding).details(details).fix(fix)])
}

/// HP608: the operator add-on's dependency add-ons: there, not failed, at or above the versions
/// AWS names. Only on an add-on install (no call otherwise).
pub(crate) fn dependency_addons(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    if f.addon(OPERATOR_ADDON)?.is_none() {
        return Ok(vec![Outcome::pass(
            "not an add-on install: the operator add-on's dependencies do not apply",
        )]);
    }
    let mut wrong = Vec::new();
    let mut fine = Vec::new();
    for (name, min) in crate::install::operator_addon_dependencies() {
        match f.addon(name)?.as_ref() {
            None => wrong.push(format!("{name} is not installed (needs {min} or later)")),
            Some(a) => {
                let status = a.status.as_deref().unwrap_or("UNKNOWN");
                let have = a.addon_version.as_deref().unwrap_or("");
                if matches!(
                    status,
                    "CREATE_FAILED" | "DEGRADED" | "UPDATE_FAILED" | "DELETING" | "DELETE_FAILED"
                ) {
                    let why = a
                        .health_issues()
                        .first()
                        .map(|i| format!(": {i}"))
                        .unwrap_or_default();
                    wrong.push(format!("{name} {have} is {status}{why}"));
                } else if crate::install::version_key(have) < crate::install::version_key(min) {
                    wrong.push(format!(
                        "{name} is at {have}; the operator add-on needs {min} or later"
                    ));
                } else {
                    fine.push(format!("{name} {have}"));
                }
            }
        }
    }
    if wrong.is_empty() {
        return Ok(vec![Outcome::pass(format!(
            "{} (at or above the versions AWS names)",
            fine.join(", ")
        ))]);
    }
    Ok(vec![Outcome::fail(wrong.join("; ")).fix(addon_setup_fix(
        f,
        "install or update the dependency add-ons (setup --method addon creates the missing ones and updates older ones)",
    ))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::facts::ClusterObjects;
    use serde_json::json;

    #[test]
    fn fsx_is_needed_when_the_init_container_checks_drivers_or_a_model_uses_it() {
        let op = |checks: &str| {
            json!({"kind": "Deployment", "metadata": {"name": OPERATOR_DEPLOYMENT, "namespace": OPERATOR_NAMESPACE},
                "spec": {"template": {"spec": {"initContainers": [{"name": "check-csi-drivers", "env": [{"name": "CHECKS", "value": checks}]}]}}}})
        };
        let objs = ClusterObjects::from_items(&[op("drivers crds")]);
        assert!(fsx_needed_by(&objs, &[]).is_some());
        let objs = ClusterObjects::from_items(&[op("crds")]);
        assert!(fsx_needed_by(&objs, &[]).is_none());
        let m = json!({"kind": "InferenceEndpointConfig", "metadata": {"name": "m", "namespace": "d"},
            "spec": {"modelSourceConfig": {"modelSourceType": "fsx"}}});
        assert!(fsx_needed_by(&objs, std::slice::from_ref(&m))
            .unwrap()
            .contains("d/m"));
        assert!(uses_fsx(&m));
        assert!(fsx_needed_by(&ClusterObjects::default(), &[]).is_none());
    }
}
