//! The catalog: every check with its stable id, group, title and prerequisites, in report order.
//! Ids are stable across releases (docs/doctor.md lists them); never renumber, only add.

pub(crate) mod access;
pub(crate) mod addons;
pub(crate) mod aws;
pub(crate) mod gpus;
pub(crate) mod iam;
pub(crate) mod models;
pub(crate) mod operator;
pub(crate) mod tools;

use super::report::Group;
use super::runner::CheckDef;
use super::DoctorConfig;
use crate::error::Result;
use crate::tools::Tool;

/// The checks of a run. With a MODEL, only what that model depends on, and that model.
pub(crate) fn catalog(cfg: &DoctorConfig) -> Result<Vec<CheckDef<'static>>> {
    let bindings = iam::bindings(cfg)?;
    let focused = cfg.model.is_some();
    let mut c: Vec<CheckDef<'static>> = Vec::new();
    use Group::*;
    if !focused {
        c.push(CheckDef::new("HP101", Tools, "aws CLI", &[], |f| {
            tools::check(f, Tool::Aws, "talk to AWS")
        }));
    }
    c.push(CheckDef::new("HP102", Tools, "kubectl", &[], |f| {
        tools::check(f, Tool::Kubectl, "talk to the cluster")
    }));
    if !focused {
        c.push(CheckDef::new("HP103", Tools, "helm", &[], |f| {
            tools::check(f, Tool::Helm, "install the operator chart")
        }));
        c.push(CheckDef::new(
            "HP201",
            Aws,
            "AWS credentials",
            &["HP101"],
            aws::identity,
        ));
        c.push(CheckDef::new(
            "HP202",
            Aws,
            "HyperPod cluster",
            &["HP201"],
            aws::hyperpod,
        ));
        c.push(CheckDef::new(
            "HP203",
            Aws,
            "EKS cluster",
            &["HP202"],
            aws::eks,
        ));
        c.push(CheckDef::new(
            "HP204",
            Aws,
            "TLS certificate bucket",
            &["HP201"],
            aws::bucket,
        ));
    }
    c.push(CheckDef::new(
        "HP301",
        ClusterAccess,
        "Kubernetes API",
        &["HP102"],
        access::reach,
    ));
    if !focused {
        c.push(CheckDef::new(
            "HP302",
            ClusterAccess,
            "kube context",
            &["HP301", "HP203"],
            access::context,
        ));
        c.push(CheckDef::new(
            "HP401",
            Iam,
            "OIDC provider",
            &["HP203"],
            iam::oidc_provider,
        ));
        for b in &bindings {
            let b2 = b.clone();
            c.push(
                CheckDef::new("HP402", Iam, "role trust", &["HP203"], move |f| {
                    iam::role_trust(f, &b2)
                })
                .subject(b.key.as_str()),
            );
        }
        for b in &bindings {
            let b2 = b.clone();
            c.push(
                CheckDef::new(
                    "HP403",
                    Iam,
                    "ServiceAccount role",
                    &["HP301", "HP201"],
                    move |f| iam::service_account(f, &b2),
                )
                .subject(b.key.as_str()),
            );
        }
        let b2 = bindings.clone();
        c.push(CheckDef::new(
            "HP501",
            Operator,
            "namespaces",
            &["HP301"],
            move |f| operator::namespaces(f, &b2),
        ));
    }
    c.push(CheckDef::new(
        "HP502",
        Operator,
        "inference CRDs",
        &["HP301"],
        operator::inference_crds,
    ));
    c.push(CheckDef::new(
        "HP503",
        Operator,
        "operator Deployment",
        &["HP301"],
        operator::deployment,
    ));
    if !focused {
        c.push(CheckDef::new(
            "HP601",
            AddOns,
            "cert-manager CRDs",
            &["HP301"],
            addons::cert_manager,
        ));
        c.push(CheckDef::new(
            "HP602",
            AddOns,
            "S3 CSI driver",
            &["HP301"],
            addons::s3_csi,
        ));
        c.push(CheckDef::new(
            "HP603",
            AddOns,
            "FSx CSI driver",
            &["HP301"],
            addons::fsx_csi,
        ));
        c.push(CheckDef::new(
            "HP604",
            AddOns,
            "AWS Load Balancer Controller",
            &["HP301"],
            addons::alb,
        ));
        c.push(CheckDef::new(
            "HP605",
            AddOns,
            "KEDA operator",
            &["HP301"],
            addons::keda,
        ));
        c.push(CheckDef::new(
            "HP606",
            AddOns,
            "install method (Helm chart or EKS add-on)",
            &["HP301"],
            addons::install_method,
        ));
        c.push(CheckDef::new(
            "HP607",
            AddOns,
            "operator add-on status and health",
            &["HP203"],
            addons::operator_addon,
        ));
        c.push(CheckDef::new(
            "HP608",
            AddOns,
            "the operator add-on's dependency add-ons",
            &["HP203"],
            addons::dependency_addons,
        ));
    }
    c.push(CheckDef::new(
        "HP701",
        Gpus,
        "NVIDIA device plugin",
        &["HP301"],
        gpus::device_plugin,
    ));
    c.push(CheckDef::new(
        "HP702",
        Gpus,
        "GPUs allocatable",
        &["HP301"],
        gpus::allocatable,
    ));
    c.push(CheckDef::new(
        "HP801",
        Models,
        "model deployment",
        &["HP301", "HP502"],
        models::check,
    ));
    Ok(c)
}

/// Every check id with its group and title, for documentation and `--list`.
#[cfg(test)]
pub(crate) fn ids() -> Vec<(&'static str, Group, String)> {
    let cfg = DoctorConfig {
        hyperpod_cluster: Some("x".into()),
        ..Default::default()
    };
    let mut out: Vec<(&'static str, Group, String)> = Vec::new();
    for c in catalog(&cfg).unwrap_or_default() {
        if !out.iter().any(|(id, _, _)| *id == c.id) {
            out.push((c.id, c.group, c.title.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prerequisites_come_before_their_dependents_and_ids_are_unique_per_title() {
        let cfg = DoctorConfig {
            hyperpod_cluster: Some("hp".into()),
            ..Default::default()
        };
        let checks = catalog(&cfg).unwrap();
        for (i, c) in checks.iter().enumerate() {
            for need in &c.needs {
                assert!(
                    checks[..i].iter().any(|p| p.id == *need),
                    "{} needs {need}, which is not listed before it",
                    c.id
                );
            }
            assert!(c.id.starts_with("HP") && c.id.len() == 5, "{}", c.id);
        }
        let ids = ids();
        let mut seen: Vec<&str> = ids.iter().map(|(i, _, _)| *i).collect();
        let n = seen.len();
        seen.dedup();
        assert_eq!(n, seen.len());
    }

    #[test]
    fn a_model_run_keeps_only_what_models_need() {
        let cfg = DoctorConfig {
            model: Some("m".into()),
            ..Default::default()
        };
        let ids: Vec<&str> = catalog(&cfg).unwrap().iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            ["HP102", "HP301", "HP502", "HP503", "HP701", "HP702", "HP801"]
        );
    }
}
