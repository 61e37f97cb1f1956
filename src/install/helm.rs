//! The Helm chart method (the setup guide's): `helm upgrade --install` of the inference-operator
//! chart, its tables of roles, policies, ServiceAccounts it creates before the chart, and the
//! add-ons it relies on.

use super::names::*;
use super::*;

/// The Helm method as data ([`Method::def`]).
pub(super) const DEF: MethodDef = MethodDef {
    name: "helm",
    roles: HELM_ROLES,
    policies: HELM_POLICIES,
    service_accounts: HELM_SERVICE_ACCOUNTS,
    addons: HELM_ADDONS,
    namespaces: &[OPERATOR_NAMESPACE],
    operator_deployment: OPERATOR_DEPLOYMENT,
};

pub(super) const HELM_ROLES: &[RoleDef] = &[
    OPERATOR_ROLE_HELM,
    ALB_ROLE_HELM,
    S3_ROLE,
    KEDA_ROLE_HELM,
    FSX_ROLE,
    GATED_ROLE,
];

pub(super) const HELM_POLICIES: &[PolicyDef] = &[ALB_POLICY, S3_POLICY, MODEL_BUCKETS_POLICY];

pub(super) const HELM_SERVICE_ACCOUNTS: &[ServiceAccountDef] = &[
    ServiceAccountDef {
        step: "alb-service-account",
        sa: ALB_SA,
        role: RoleId::Alb,
        extra_labels: &[],
        addon: None,
        when: When::Always,
    },
    ServiceAccountDef {
        step: "s3-service-account",
        sa: S3_CSI_SA,
        role: RoleId::S3Csi,
        extra_labels: &[
            ("app.kubernetes.io/component", "csi-driver"),
            ("app.kubernetes.io/instance", "aws-mountpoint-s3-csi-driver"),
            ("app.kubernetes.io/managed-by", "EKS"),
            ("app.kubernetes.io/name", "aws-mountpoint-s3-csi-driver"),
        ],
        addon: Some(S3_CSI_ADDON),
        when: When::S3Csi,
    },
];

pub(super) const HELM_ADDONS: &[AddonDef] = &[
    AddonDef {
        step: "s3-csi-addon",
        name: S3_CSI_ADDON,
        role: Some(RoleId::S3Csi),
        when: When::S3Csi,
        min_version: None,
    },
    AddonDef {
        step: "fsx-csi-addon",
        name: FSX_CSI_ADDON,
        role: Some(RoleId::FsxCsi),
        when: When::FsxCsi,
        min_version: None,
    },
    // cert-manager before the chart: the chart's own Certificate and Issuer need its CRDs when
    // Helm builds the release, and a new HyperPod cluster has none (its dependencies chart ships
    // cert-manager disabled). The chart's cert-manager subchart stays off. Skipped when
    // cert-manager is already installed (setup::cluster::cert_manager_check).
    AddonDef {
        step: "cert-manager-addon",
        name: CERT_MANAGER_ADDON,
        role: None,
        when: When::Always,
        min_version: None,
    },
];
