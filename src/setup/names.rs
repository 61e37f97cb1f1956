//! Names of everything setup creates: derived from the HyperPod cluster name as the guide does,
//! shortened deterministically to IAM's limits, or overridden by flags. Also the ServiceAccounts
//! each role is for (the chart's real names, not the guide's).

use serde::Serialize;

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

/// The operator's ServiceAccount as the chart creates it. The guide's Step 11 names
/// `hyperpod-inference-operator-controller`, which does not exist.
pub const OPERATOR_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: "hyperpod-inference-system",
    name: "hyperpod-inference-operator-controller-manager",
};
/// The name the guide (wrongly) uses in Step 11 and Troubleshooting 2.
pub const GUIDE_WRONG_OPERATOR_SA: &str = "hyperpod-inference-operator-controller";
pub const ALB_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: "kube-system",
    name: "aws-load-balancer-controller",
};
pub const S3_CSI_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: "kube-system",
    name: "s3-csi-driver-sa",
};
/// KEDA as the chart's `keda` subchart installs it: in the release namespace (its templates use
/// `.Release.Namespace`; the parent chart's `keda.namespace` reaches nothing). The guide's
/// `keda:keda-operator` (Step 8) matches no ServiceAccount of a Helm install.
pub const KEDA_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: HELM_NAMESPACE,
    name: "keda-operator",
};
pub const FSX_CSI_SA: ServiceAccountRef = ServiceAccountRef {
    namespace: "kube-system",
    name: "fsx-csi-controller-sa",
};
/// JumpStart gated-model downloads run as per-model ServiceAccounts (StringLike match).
pub const GATED_SUBJECT_PATTERN: &str =
    "system:serviceaccount:*:hyperpod-inference-service-account*";

pub const OPERATOR_NAMESPACE: &str = "hyperpod-inference-system";
pub const OPERATOR_DEPLOYMENT: &str = "hyperpod-inference-operator-controller-manager";
/// Label selector of the operator's pods (the guide's `app=hyperpod-inference-operator` matches nothing).
pub const OPERATOR_POD_SELECTOR: &str =
    "control-plane=hyperpod-inference-operator-controller-manager";
pub const HELM_RELEASE: &str = "hyperpod-inference-operator";
pub const HELM_NAMESPACE: &str = "kube-system";
/// The AWS Load Balancer Controller of the chart's `alb` subchart: `<release>-alb`.
pub const ALB_DEPLOYMENT: &str = "hyperpod-inference-operator-alb";
pub const S3_CSI_ADDON: &str = "aws-mountpoint-s3-csi-driver";
pub const FSX_CSI_ADDON: &str = "aws-fsx-csi-driver";
pub const NVIDIA_DAEMONSET: &str = "nvidia-device-plugin-daemonset";
pub const NVIDIA_PLUGIN_VERSION: &str = "v0.14.5";
pub const INFERENCE_CRDS: [&str; 3] = [
    "jumpstartmodels.inference.sagemaker.aws.amazon.com",
    "inferenceendpointconfigs.inference.sagemaker.aws.amazon.com",
    "sagemakerendpointregistrations.inference.sagemaker.aws.amazon.com",
];
pub const CERT_MANAGER_CRDS: [&str; 2] = [
    "certificaterequests.cert-manager.io",
    "certificates.cert-manager.io",
];
pub const OPERATOR_INLINE_POLICY: &str = "InferenceOperatorInlinePolicy";
pub const KEDA_INLINE_POLICY: &str = "KedaOperatorInlinePolicy";
pub const SAGEMAKER_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess";
pub const FSX_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonFSxFullAccess";
pub const GATED_MODEL_ACCESS: &str =
    "arn:aws:iam::aws:policy/AmazonSageMakerHyperPodGatedModelAccess";
pub const TEST_MODEL_NAME: &str = "testing-deployment-bert";
/// Whether Helm's ownership annotations put `obj` in setup's release of the operator chart.
pub fn in_setup_release(obj: &serde_json::Value) -> bool {
    let a = &obj["metadata"]["annotations"];
    a["meta.helm.sh/release-name"] == HELM_RELEASE
        && a["meta.helm.sh/release-namespace"] == HELM_NAMESPACE
}

/// The guide's instance type for the test model.
pub const TEST_INSTANCE_TYPE: &str = "ml.c5.2xlarge";

/// User overrides of derived names (flags `--*-role-name`, `--*-policy-name`).
#[derive(Debug, Clone, Default)]
pub struct NameOverrides {
    pub operator_role: Option<String>,
    pub alb_role: Option<String>,
    pub alb_policy: Option<String>,
    pub s3_role: Option<String>,
    pub s3_policy: Option<String>,
    pub keda_role: Option<String>,
    pub fsx_role: Option<String>,
    pub gated_role: Option<String>,
}

/// One IAM name and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct IamName {
    pub name: String,
    /// `derived`, `shortened` (derived, over IAM's limit) or `flag`.
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Names {
    pub operator_role: IamName,
    pub alb_role: IamName,
    pub alb_policy: IamName,
    pub s3_role: IamName,
    pub s3_policy: IamName,
    pub keda_role: IamName,
    pub fsx_role: IamName,
    pub gated_role: IamName,
}

impl Names {
    /// The guide's names (Step 1), shortened when over IAM's limits, unless overridden.
    pub fn derive(cluster: &str, o: &NameOverrides) -> Result<Self> {
        let role = |flag: &str, over: &Option<String>, derived: String| -> Result<IamName> {
            pick(flag, over, derived, 64, validate::iam_role_name)
        };
        let policy = |flag: &str, over: &Option<String>, derived: String| -> Result<IamName> {
            pick(flag, over, derived, 128, validate::iam_policy_name)
        };
        Ok(Names {
            operator_role: role(
                "--operator-role-name",
                &o.operator_role,
                format!("HyperpodInferenceRole-{cluster}"),
            )?,
            alb_role: role(
                "--alb-role-name",
                &o.alb_role,
                format!("aws-load-balancer-controller-{cluster}"),
            )?,
            alb_policy: policy(
                "--alb-policy-name",
                &o.alb_policy,
                format!("AWSLoadBalancerControllerIAMPolicy-{cluster}"),
            )?,
            s3_role: role(
                "--s3-csi-role-name",
                &o.s3_role,
                format!("SM_HP_S3_CSI_ROLE-{cluster}"),
            )?,
            s3_policy: policy(
                "--s3-policy-name",
                &o.s3_policy,
                format!("S3MountpointAccessPolicy-{cluster}"),
            )?,
            keda_role: role(
                "--keda-role-name",
                &o.keda_role,
                format!("keda-operator-role-{cluster}"),
            )?,
            fsx_role: role(
                "--fsx-csi-role-name",
                &o.fsx_role,
                format!("SM_HP_FSX_CSI_ROLE-{cluster}"),
            )?,
            gated_role: role(
                "--gated-model-role-name",
                &o.gated_role,
                format!("HyperpodGatedModelRole-{cluster}"),
            )?,
        })
    }
}

fn pick(
    flag: &str,
    over: &Option<String>,
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
