//! The fixed names of an installation (the chart's real ones, not the guide's: ServiceAccounts,
//! Deployments, CRDs, the release) and the IAM names derived from the HyperPod cluster name as the
//! guide does (prefixes in the role and policy tables of `install`), shortened deterministically
//! to IAM's limits, or overridden by flags.

use serde::Serialize;

use super::{policy_defs, role_def, Method, PolicyId, RoleId};
use crate::error::Result;
use crate::validate;

/// A Kubernetes ServiceAccount that assumes an IAM role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServiceAccountRef {
    pub namespace: &'static str,
    pub name: &'static str,
}

impl ServiceAccountRef {
    /// The `sub` claim of this ServiceAccount's projected token.
    pub fn subject(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// The add-on's ServiceAccounts (everything runs in `hyperpod-inference-system`).
pub(crate) const ADDON_OPERATOR_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: OPERATOR_NAMESPACE,
    name: ADDON_OPERATOR_DEPLOYMENT,
};
pub(crate) const ADDON_ALB_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: OPERATOR_NAMESPACE,
    name: "aws-load-balancer-controller",
};
pub(crate) const ADDON_KEDA_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: OPERATOR_NAMESPACE,
    name: "keda-operator",
};
/// The operator's ServiceAccount as the chart creates it. The guide's Step 11 names
/// `hyperpod-inference-operator-controller`, which does not exist.
pub(crate) const OPERATOR_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: "hyperpod-inference-system",
    name: "hyperpod-inference-operator-controller-manager",
};
/// The name the guide (wrongly) uses in Step 11 and Troubleshooting 2.
#[cfg(test)]
pub(crate) const GUIDE_WRONG_OPERATOR_SA: &str = "hyperpod-inference-operator-controller";
pub(crate) const ALB_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: "kube-system",
    name: "aws-load-balancer-controller",
};
pub(crate) const S3_CSI_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: "kube-system",
    name: "s3-csi-driver-sa",
};
/// KEDA as the chart's `keda` subchart installs it: in the release namespace (its templates use
/// `.Release.Namespace`; the parent chart's `keda.namespace` reaches nothing). The guide's
/// `keda:keda-operator` (Step 8) matches no ServiceAccount of a Helm install.
pub(crate) const KEDA_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: HELM_NAMESPACE,
    name: "keda-operator",
};
pub(crate) const FSX_CSI_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: "kube-system",
    name: "fsx-csi-controller-sa",
};
/// JumpStart gated-model downloads run as per-model ServiceAccounts (StringLike match).
pub(crate) const GATED_SUBJECT_PATTERN: &str =
    "system:serviceaccount:*:hyperpod-inference-service-account*";

pub(crate) const OPERATOR_NAMESPACE: &str = "hyperpod-inference-system";
pub(crate) const OPERATOR_DEPLOYMENT: &str = "hyperpod-inference-operator-controller-manager";
/// Label selector of the operator's pods (the guide's `app=hyperpod-inference-operator` matches nothing).
pub(crate) const OPERATOR_POD_SELECTOR: &str =
    "control-plane=hyperpod-inference-operator-controller-manager";
pub(crate) const HELM_RELEASE: &str = "hyperpod-inference-operator";
pub(crate) const HELM_NAMESPACE: &str = "kube-system";
/// The AWS Load Balancer Controller of the chart's `alb` subchart: `<release>-alb`.
pub(crate) const ALB_DEPLOYMENT: &str = "hyperpod-inference-operator-alb";
pub(crate) const S3_CSI_ADDON: &str = "aws-mountpoint-s3-csi-driver";
pub(crate) const FSX_CSI_ADDON: &str = "aws-fsx-csi-driver";
pub(crate) const CERT_MANAGER_ADDON: &str = "cert-manager";
pub(crate) const METRICS_SERVER_ADDON: &str = "metrics-server";
/// The EKS add-on that installs the operator (AWS's recommended method, the HyperPod console's).
pub(crate) const OPERATOR_ADDON: &str = "amazon-sagemaker-hyperpod-inference";
/// The operator Deployment as the EKS add-on names it.
pub(crate) const ADDON_OPERATOR_DEPLOYMENT: &str = "hyperpod-inference-controller-manager";
pub(crate) const NVIDIA_DAEMONSET: &str = "nvidia-device-plugin-daemonset";
pub(crate) const NVIDIA_PLUGIN_VERSION: &str = "v0.14.5";
/// The model resources' CRDs (`deploy::kind::ModelKind::resource`).
pub(crate) const JUMPSTART_MODELS_CRD: &str = "jumpstartmodels.inference.sagemaker.aws.amazon.com";
pub(crate) const ENDPOINT_CONFIGS_CRD: &str =
    "inferenceendpointconfigs.inference.sagemaker.aws.amazon.com";
pub(crate) const INFERENCE_CRDS: [&str; 3] = [
    JUMPSTART_MODELS_CRD,
    ENDPOINT_CONFIGS_CRD,
    "sagemakerendpointregistrations.inference.sagemaker.aws.amazon.com",
];
pub(crate) const CERT_MANAGER_CRDS: [&str; 2] = [
    "certificaterequests.cert-manager.io",
    "certificates.cert-manager.io",
];
pub(crate) const OPERATOR_INLINE_POLICY: &str = "InferenceOperatorInlinePolicy";
pub(crate) const KEDA_INLINE_POLICY: &str = "KedaOperatorInlinePolicy";
/// The add-on execution role's inline policy for the TLS bucket (AWS's name).
pub(crate) const TLS_BUCKET_INLINE_POLICY: &str = "TLSBucketsAccess";
pub(crate) const HYPERPOD_INFERENCE_ACCESS: &str =
    "arn:aws:iam::aws:policy/AmazonSageMakerHyperPodInferenceAccess";
pub(crate) const SAGEMAKER_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess";
pub(crate) const FSX_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonFSxFullAccess";
pub(crate) const GATED_MODEL_ACCESS: &str =
    "arn:aws:iam::aws:policy/AmazonSageMakerHyperPodGatedModelAccess";
pub(crate) const TEST_MODEL_NAME: &str = "testing-deployment-bert";
/// Whether Helm's ownership annotations put `obj` in setup's release of the operator chart.
pub(crate) fn in_setup_release(obj: &serde_json::Value) -> bool {
    let a = &obj["metadata"]["annotations"];
    a["meta.helm.sh/release-name"] == HELM_RELEASE
        && a["meta.helm.sh/release-namespace"] == HELM_NAMESPACE
}

/// The guide's instance type for the test model.
pub(crate) const TEST_INSTANCE_TYPE: &str = "ml.c5.2xlarge";

/// User overrides of derived names (flags `--*-role-name`, `--*-policy-name`).
#[derive(Debug, Clone, Default)]
pub struct NameOverrides {
    pub operator_role: Option<String>,
    pub alb_role: Option<String>,
    pub alb_policy: Option<String>,
    pub s3_role: Option<String>,
    pub s3_policy: Option<String>,
    pub model_buckets_policy: Option<String>,
    pub keda_role: Option<String>,
    pub fsx_role: Option<String>,
    pub gated_role: Option<String>,
}

impl NameOverrides {
    pub fn role(&self, id: RoleId) -> Option<&String> {
        match id {
            RoleId::Operator => self.operator_role.as_ref(),
            RoleId::Alb => self.alb_role.as_ref(),
            RoleId::S3Csi => self.s3_role.as_ref(),
            RoleId::Keda => self.keda_role.as_ref(),
            RoleId::FsxCsi => self.fsx_role.as_ref(),
            RoleId::GatedModel => self.gated_role.as_ref(),
        }
    }

    pub fn policy(&self, id: PolicyId) -> Option<&String> {
        match id {
            PolicyId::Alb => self.alb_policy.as_ref(),
            PolicyId::S3 => self.s3_policy.as_ref(),
            PolicyId::ModelBuckets => self.model_buckets_policy.as_ref(),
        }
    }
}

/// One IAM name and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct IamName {
    pub name: String,
    /// `derived`, `shortened` (derived, over IAM's limit), `flag`, or `add-on` (read from the
    /// add-on install on the cluster).
    pub source: &'static str,
}

/// Every IAM name of an installation (serialised field by field in setup's and teardown's output).
#[derive(Debug, Clone, Serialize)]
pub struct Names {
    pub operator_role: IamName,
    pub alb_role: IamName,
    pub alb_policy: IamName,
    pub s3_role: IamName,
    pub s3_policy: IamName,
    pub model_buckets_policy: IamName,
    pub keda_role: IamName,
    pub fsx_role: IamName,
    pub gated_role: IamName,
}

impl Names {
    /// The guide's names (Step 1: the table's prefix + the cluster name), shortened when over
    /// IAM's limits, unless overridden; the Helm method's.
    pub fn derive(cluster: &str, o: &NameOverrides) -> Result<Self> {
        Self::derive_for(Method::Helm, cluster, o)
    }

    /// The names of `method`'s tables.
    pub fn derive_for(method: Method, cluster: &str, o: &NameOverrides) -> Result<Self> {
        let role = |id: RoleId| -> Result<IamName> {
            let d = role_def(method, id);
            pick(
                d.flag,
                o.role(id),
                format!("{}{cluster}", d.prefix),
                64,
                validate::iam_role_name,
            )
        };
        let policy = |id: PolicyId| -> Result<IamName> {
            let d = policy_defs(method)
                .iter()
                .find(|p| p.id == id)
                .expect("every PolicyId has a row");
            pick(
                d.flag,
                o.policy(id),
                format!("{}{cluster}", d.prefix),
                128,
                validate::iam_policy_name,
            )
        };
        Ok(Names {
            operator_role: role(RoleId::Operator)?,
            alb_role: role(RoleId::Alb)?,
            alb_policy: policy(PolicyId::Alb)?,
            s3_role: role(RoleId::S3Csi)?,
            s3_policy: policy(PolicyId::S3)?,
            model_buckets_policy: policy(PolicyId::ModelBuckets)?,
            keda_role: role(RoleId::Keda)?,
            fsx_role: role(RoleId::FsxCsi)?,
            gated_role: role(RoleId::GatedModel)?,
        })
    }

    pub fn role(&self, id: RoleId) -> &IamName {
        match id {
            RoleId::Operator => &self.operator_role,
            RoleId::Alb => &self.alb_role,
            RoleId::S3Csi => &self.s3_role,
            RoleId::Keda => &self.keda_role,
            RoleId::FsxCsi => &self.fsx_role,
            RoleId::GatedModel => &self.gated_role,
        }
    }

    pub fn policy(&self, id: PolicyId) -> &IamName {
        match id {
            PolicyId::Alb => &self.alb_policy,
            PolicyId::S3 => &self.s3_policy,
            PolicyId::ModelBuckets => &self.model_buckets_policy,
        }
    }

    /// Takes a role's name from the install already on the cluster (unless a flag gave one).
    pub fn adopt(&mut self, id: RoleId, name: &str) {
        let n = match id {
            RoleId::Operator => &mut self.operator_role,
            RoleId::Alb => &mut self.alb_role,
            RoleId::S3Csi => &mut self.s3_role,
            RoleId::Keda => &mut self.keda_role,
            RoleId::FsxCsi => &mut self.fsx_role,
            RoleId::GatedModel => &mut self.gated_role,
        };
        if n.source != "flag" {
            *n = IamName {
                name: name.to_string(),
                source: "add-on",
            };
        }
    }
}

fn pick(
    flag: &str,
    over: Option<&String>,
    derived: String,
    max: usize,
    check: fn(&str, &str) -> Result<()>,
) -> Result<IamName> {
    if let Some(v) = over {
        check(flag, v)?;
        return Ok(IamName {
            name: v.clone(),
            source: "flag",
        });
    }
    let short = validate::shorten(&derived, max);
    let source = if short == derived {
        "derived"
    } else {
        "shortened"
    };
    check(flag, &short)?;
    Ok(IamName {
        name: short,
        source,
    })
}
