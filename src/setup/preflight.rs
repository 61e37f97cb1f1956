//! What the cluster already has that the install method cannot live with, found while planning
//! so that a real run refuses before its first change (the step is `blocked`, its notes say what
//! and the way out). The add-on method refuses only an operator that Helm installed (the way out
//! is the `migrate --to addon` command); the Helm method refuses:
//!
//! * the operator already installed as the EKS add-on (the HyperPod console's inference feature):
//!   a second operator from the chart would fight it;
//! * cluster-wide objects the chart always renders but Helm cannot adopt from another owner
//!   ("invalid ownership metadata"): metrics-server's APIService (the chart has no switch for its
//!   metrics-server), KEDA's APIService and CRDs, the load balancer controller's IngressClass and
//!   webhooks, the FSx CSIDriver when the chart's own FSx driver is on (no `--install-fsx-csi`);
//! * `--skip-s3-csi` on a cluster without the S3 CSI driver: the operator's init container
//!   (`check-csi-drivers`) requires CSIDriver `s3.csi.aws.com`, so the operator would never start.
//!   Setup refuses rather than turning the chart's S3 driver on (that one needs the S3 role and
//!   ServiceAccount that `--skip-s3-csi` leaves out).

use serde_json::Value;

use super::cluster::owner_of;
use super::steps::SetupInputs;
use crate::error::Result;
use crate::install::names::*;
use crate::plan::{Check, State, StepEnv};
use crate::tools::kube::str_at;
use crate::tools::kube::ObjectKey;

/// A cluster-wide object of the chart that another install may own, and the way out.
struct Collision {
    kind: &'static str,
    name: &'static str,
    /// What the chart installs it for.
    component: &'static str,
    /// Besides removing the other install: how to go on.
    way_out: &'static str,
}

const WAY_OUT_ADDON: &str = "or install the operator as the EKS add-on amazon-sagemaker-hyperpod-inference, which uses what the cluster has";

const COLLISIONS: &[Collision] = &[
    Collision {
        kind: "apiservice",
        name: "v1beta1.metrics.k8s.io",
        component: "metrics-server (the chart always installs its own, there is no switch)",
        way_out: "remove the other metrics-server (the EKS add-on: aws eks delete-addon --cluster-name <eks> --addon-name metrics-server), ",
    },
    Collision {
        kind: "clusterrole",
        name: "system:metrics-aggregated-reader",
        component: "metrics-server (the chart always installs its own, there is no switch)",
        way_out: "remove the other metrics-server (the EKS add-on: aws eks delete-addon --cluster-name <eks> --addon-name metrics-server), ",
    },
    Collision {
        kind: "apiservice",
        name: "v1beta1.external.metrics.k8s.io",
        component: "KEDA",
        way_out: "uninstall the other KEDA (its Helm release, or the add-on that brought it), ",
    },
    Collision {
        kind: "customresourcedefinition",
        name: "scaledobjects.keda.sh",
        component: "KEDA",
        way_out: "uninstall the other KEDA (its Helm release, or the add-on that brought it), ",
    },
    Collision {
        kind: "ingressclass",
        name: "alb",
        component: "the AWS Load Balancer Controller",
        way_out: "uninstall the other AWS Load Balancer Controller (helm uninstall aws-load-balancer-controller -n kube-system), ",
    },
    Collision {
        kind: "validatingwebhookconfiguration",
        name: "alb-webhook",
        component: "the AWS Load Balancer Controller",
        way_out: "uninstall the other AWS Load Balancer Controller, ",
    },
];

fn ours(obj: &Value) -> bool {
    in_setup_release(obj)
}

/// The operator installed by the EKS add-on: `Some(description)`.
fn operator_addon(env: &StepEnv, inp: &SetupInputs) -> Result<Option<String>> {
    if let Some(a) = env.describe_addon(&inp.target.eks_cluster, OPERATOR_ADDON)? {
        return Ok(Some(format!(
            "EKS add-on {OPERATOR_ADDON} {} ({})",
            a.addon_version.as_deref().unwrap_or(""),
            a.status.as_deref().unwrap_or("status unknown")
        )));
    }
    Ok(env
        .kget(
            "deployment",
            ADDON_OPERATOR_DEPLOYMENT,
            Some(OPERATOR_NAMESPACE),
        )?
        .map(|d| {
            format!(
                "Deployment {OPERATOR_NAMESPACE}/{ADDON_OPERATOR_DEPLOYMENT} ({})",
                owner_of(&d)
            )
        }))
}

/// The operator installed by Helm (the release's storage Secret, read with kubectl: the add-on
/// method does not need helm): `Some(description)`.
fn operator_release(env: &StepEnv) -> Result<Option<String>> {
    if let Some(r) = super::migrate::release_records(env.ctx, &env.kube)?.last() {
        return Ok(Some(format!(
            "Helm release {HELM_NAMESPACE}/{HELM_RELEASE} ({})",
            str_at(r, "/metadata/labels/status").unwrap_or("status unknown")
        )));
    }
    Ok(env
        .kget("deployment", OPERATOR_DEPLOYMENT, Some(OPERATOR_NAMESPACE))?
        .map(|d| {
            format!(
                "Deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT} ({})",
                owner_of(&d)
            )
        }))
}

/// The add-on method: refused only on a cluster whose operator Helm installed (two operators
/// would fight over the same models); the add-on uses what else the cluster has.
/// The add-on method's preflight: no operator installed by Helm.
pub(super) fn addon_method_check(env: &StepEnv) -> Result<Check> {
    if env.offline {
        return Ok(Check::new(State::Info, vec![]).note("not checked offline"));
    }
    let Some(found) = operator_release(env)? else {
        return Ok(Check::satisfied().note("no operator installed by Helm"));
    };
    Ok(Check::new(State::Blocked, vec![]).note(format!(
        "the inference operator is already installed by Helm ({found}); the add-on would install a second operator. \
         Move the Helm install onto the add-on, keeping every model, with \
         `kubectl hyperpod migrate --to addon --hyperpod-cluster NAME --s3-bucket BUCKET`, or keep managing it with setup's `--method helm` \
         (the default on this cluster). Do not `helm uninstall` it: that deletes the inference CRDs and every model"
    )))
}

/// The objects preflight reads (for the plan's batched read).
pub(super) fn reads() -> Vec<ObjectKey> {
    let mut out: Vec<ObjectKey> = COLLISIONS
        .iter()
        .map(|c| ObjectKey::new(c.kind, c.name, None))
        .collect();
    for d in [OPERATOR_DEPLOYMENT, ADDON_OPERATOR_DEPLOYMENT] {
        out.push(ObjectKey::new("deployment", d, Some(OPERATOR_NAMESPACE)));
    }
    for driver in ["fsx.csi.aws.com", "s3.csi.aws.com"] {
        out.push(ObjectKey::new("csidriver", driver, None));
    }
    out
}

/// The Helm method's preflight: no operator add-on, and nothing the chart would collide with.
pub(super) fn check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    if env.offline {
        return Ok(Check::new(State::Info, vec![]).note("not checked offline"));
    }
    let eks = &inp.target.eks_cluster;
    let mut blocked = Vec::new();
    if let Some(found) = operator_addon(env, inp)? {
        blocked.push(format!(
            "the inference operator is already installed by the EKS add-on ({found}); setup's Helm method would install a second operator. \
             Manage that install with setup's `--method addon` (the default on this cluster); moving it onto Helm is \
             not automated yet. The add-on as EKS sees it: aws eks describe-addon --cluster-name {eks} --addon-name {OPERATOR_ADDON}; \
             `kubectl hyperpod doctor` checks it"
        ));
    }
    let mut seen = Vec::new();
    for c in COLLISIONS {
        let Some(obj) = env.kget(c.kind, c.name, None)? else {
            continue;
        };
        if ours(&obj) || seen.contains(&c.component) {
            continue;
        }
        seen.push(c.component);
        blocked.push(format!(
            "{} {} is already on the cluster ({}): the chart installs {} and Helm cannot adopt it (\"invalid ownership metadata\"). \
             Way out: {}{WAY_OUT_ADDON}",
            c.kind,
            c.name,
            owner_of(&obj),
            c.component,
            c.way_out.replace("<eks>", eks),
        ));
    }
    if !inp.config.install_fsx_csi {
        if let Some(obj) = env.kget("csidriver", "fsx.csi.aws.com", None)? {
            if !ours(&obj) {
                blocked.push(format!(
                    "CSIDriver fsx.csi.aws.com is already on the cluster ({}): without --install-fsx-csi the chart installs its own FSx CSI driver and Helm cannot adopt it. \
                     Way out: run setup with --install-fsx-csi (the FSx CSI driver then comes from the EKS add-on {FSX_CSI_ADDON})",
                    owner_of(&obj)
                ));
            }
        }
    }
    if !inp.config.install_s3_csi && env.kget("csidriver", "s3.csi.aws.com", None)?.is_none() {
        blocked.push(format!(
            "--skip-s3-csi, but the cluster has no S3 CSI driver (CSIDriver s3.csi.aws.com): the operator's init container check-csi-drivers \
             requires it, so the operator would never start. Way out: run setup without --skip-s3-csi, or install the driver first \
             (aws eks create-addon --cluster-name {eks} --addon-name {S3_CSI_ADDON} --service-account-role-arn <role>)"
        ));
    }
    if blocked.is_empty() {
        return Ok(
            Check::satisfied().note("no operator add-on, and nothing the chart would collide with")
        );
    }
    let mut c = Check::new(State::Blocked, vec![]);
    for b in blocked {
        c = c.note(b);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collision_names_its_way_out() {
        for c in COLLISIONS {
            assert!(
                !c.way_out.is_empty() && !c.component.is_empty(),
                "{}",
                c.name
            );
        }
    }
}
