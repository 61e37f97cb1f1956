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
pub fn csi_fix(f: &Facts, driver: &str) -> Fix {
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

pub fn cert_manager(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let have = f.crds()?;
    let missing: Vec<&str> = CERT_MANAGER_CRDS
        .iter()
        .copied()
        .filter(|c| !have.contains(*c))
        .collect();
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

pub fn s3_csi(f: &Facts) -> Result<Vec<Outcome>, Problem> {
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
        .find(|m| str_at(m, "/spec/modelSourceConfig/modelSourceType") == Some("fsx"))
        .map(|m| format!("model {} reads from FSx", workloads::ref_of(m)))
}

pub fn fsx_csi(f: &Facts) -> Result<Vec<Outcome>, Problem> {
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
    let (ready, want) = workloads::readiness(w);
    let shown = format!("{} {}", workloads::kind(w), workloads::ref_of(w));
    if workloads::is_ready(w) {
        return Ok(vec![Outcome::pass(format!(
            "{shown}: {ready}/{want} ready"
        ))]);
    }
    let (problems, details) = workloads::why_not_ready(f, w);
    let first = problems
        .first()
        .map(|p| format!("; {}", p.line()))
        .unwrap_or_default();
    Ok(vec![Outcome::fail(format!(
        "{shown}: {ready}/{want} ready{first}"
    ))
    .details(details)
    .fix(Fix::manual(
        "read its pods' events and logs for the cause",
        vec![f.ctx.kube.kubectl(
            "inspect",
            &[
                "describe",
                &workloads::kind(w).to_ascii_lowercase(),
                workloads::name(w),
                "-n",
                workloads::namespace(w),
            ],
        )],
    ))])
}

pub fn alb(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    running(f, &ALB_WORKLOAD, "AWS Load Balancer Controller")
}

pub fn keda(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    running(f, &KEDA_WORKLOAD, "KEDA operator")
}

/// Used by models: whether a model reads from FSx.
pub fn uses_fsx(m: &Value) -> bool {
    models::source_type(m) == Some("fsx")
}

/// HP606: which install method the cluster has. The EKS add-on (the HyperPod console's
/// inference feature) is named with how to manage it; the add-on next to setup's Helm release is
/// two operators; with neither, a metrics-server of someone else's is what setup's Helm method
/// would collide with (the chart always installs its own).
pub fn install_method(f: &Facts) -> Result<Vec<Outcome>, Problem> {
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
            "two inference operators: the EKS add-on {OPERATOR_ADDON} and the Helm release {HELM_RELEASE}"
        ))
        .fix(Fix::advice(format!(
            "keep one: kubectl hyperpod teardown removes setup's Helm release (models stay only with --keep-models), \
             or aws eks delete-addon --cluster-name {eks} --addon-name {OPERATOR_ADDON}"
        )))]),
        (false, true) => Ok(vec![Outcome::pass(format!(
            "the operator is installed by the EKS add-on {OPERATOR_ADDON}"
        ))
        .fix(manage)]),
        (true, false) => Ok(vec![Outcome::pass(format!(
            "the operator is installed by the Helm release {HELM_NAMESPACE}/{HELM_RELEASE}"
        ))]),
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
