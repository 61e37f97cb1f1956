//! The EKS add-on method (AWS's recommended one): the add-on `amazon-sagemaker-hyperpod-inference`
//! with its dependency add-ons; every workload runs in `hyperpod-inference-system` and the add-on
//! creates its own namespace and ServiceAccounts.

use super::names::*;
use super::*;

/// The add-on method as data ([`Method::def`]).
pub(super) const DEF: MethodDef = MethodDef {
    name: "addon",
    roles: ADDON_ROLES,
    policies: ADDON_POLICIES,
    // The add-on creates its ServiceAccounts, annotated from its configuration.
    service_accounts: &[],
    addons: ADDON_ADDONS,
    namespaces: &[],
    operator_deployment: ADDON_OPERATOR_DEPLOYMENT,
};

/// The roles of an add-on install (AWS's `helm_to_addon.sh` names and policies): every
/// workload's ServiceAccount is in `hyperpod-inference-system`; the S3 and FSx CSI drivers are
/// dependencies of the add-on, so always wanted. The roles that differ from the Helm method's
/// have steps of their own, so teardown can look for both methods' roles in one plan.
pub(super) const ADDON_ROLES: &[RoleDef] = &[
    RoleDef {
        step: "execution-role",
        what: "inference operator execution role",
        prefix: "SageMakerHyperPodInference-",
        description: "SageMaker HyperPod inference operator add-on (kubectl-hyperpod)",
        subject: Subject::ServiceAccount(ADDON_OPERATOR_SA),
        inline: Some(Inline {
            name: TLS_BUCKET_INLINE_POLICY,
            template: "iam/tls-bucket.json.j2",
        }),
        managed: &[Managed::Aws(HYPERPOD_INFERENCE_ACCESS)],
        ..OPERATOR_ROLE_HELM
    },
    RoleDef {
        step: "addon-alb-role",
        prefix: "SageMakerHP-ALB-",
        subject: Subject::ServiceAccount(ADDON_ALB_SA),
        ..ALB_ROLE_HELM
    },
    RoleDef {
        when: When::Always,
        ..S3_ROLE
    },
    RoleDef {
        step: "addon-keda-role",
        prefix: "SageMakerHP-KEDA-",
        subject: Subject::ServiceAccount(ADDON_KEDA_SA),
        trust_sagemaker: true,
        ..KEDA_ROLE_HELM
    },
    RoleDef {
        when: When::Always,
        ..FSX_ROLE
    },
    GATED_ROLE,
];

pub(super) const ADDON_POLICIES: &[PolicyDef] = &[
    ALB_POLICY,
    PolicyDef {
        when: When::Always,
        ..S3_POLICY
    },
    MODEL_BUCKETS_POLICY,
];

/// The dependency add-ons of the operator add-on, at or above the versions AWS names
/// (`helm_to_addon.sh`); EKS refuses the operator add-on without them.
pub(super) const ADDON_ADDONS: &[AddonDef] = &[
    AddonDef {
        step: "s3-csi-addon",
        name: S3_CSI_ADDON,
        role: Some(RoleId::S3Csi),
        when: When::Always,
        min_version: Some("v1.14.1-eksbuild.1"),
    },
    AddonDef {
        step: "fsx-csi-addon",
        name: FSX_CSI_ADDON,
        role: Some(RoleId::FsxCsi),
        when: When::Always,
        min_version: Some("v1.6.0-eksbuild.1"),
    },
    AddonDef {
        step: "cert-manager-addon",
        name: CERT_MANAGER_ADDON,
        role: None,
        when: When::Always,
        min_version: Some("v1.18.2-eksbuild.2"),
    },
    AddonDef {
        step: "metrics-server-addon",
        name: METRICS_SERVER_ADDON,
        role: None,
        when: When::Always,
        min_version: Some("v0.7.2-eksbuild.4"),
    },
];
