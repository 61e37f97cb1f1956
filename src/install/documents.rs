//! The typed context of every template setup renders (one `Serialize` struct per template; the
//! trust policy's lives with it in `trust`, the model resources' in `deploy::spec`), and the
//! labels, annotations and tags that mark what is ours.

use serde::Serialize;
use serde_json::{Map, Value};

use super::marks;
use crate::error::Result;
use crate::render;

/// Labels or annotations, in the order they were added (as they appear in the documents).
pub type Labels = Map<String, Value>;

/// `helm/operator-values.yaml.j2`: the chart values (the guide's Step 10 `--set` keys).
#[derive(Debug, Clone, Serialize)]
pub struct OperatorValues<'a> {
    pub region: &'a str,
    pub eks_cluster: &'a str,
    pub hyperpod_cluster_arn: &'a str,
    pub execution_role_arn: String,
    pub bucket: &'a str,
    pub gated_role_arn: Option<String>,
    pub s3_role_arn: String,
    /// False when the FSx CSI driver comes from the EKS add-on (`--install-fsx-csi`).
    pub fsx_chart_enabled: bool,
    /// False when cert-manager is already on the cluster from elsewhere.
    pub cert_manager_chart_enabled: bool,
    pub keda_role_arn: String,
    pub vpc_id: &'a str,
}

impl OperatorValues<'_> {
    pub fn render(&self) -> Result<Value> {
        render::render_yaml("helm/operator-values.yaml.j2", self)
    }
}

/// The permission policies (`iam/operator-permissions.json.j2`, `iam/s3-mountpoint.json.j2`,
/// `iam/keda-permissions.json.j2`, `iam/alb-controller-v2.13.0.json`): all take the same input,
/// the TLS bucket (the ones that do not use it ignore it).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyContext<'a> {
    pub bucket: &'a str,
}

impl PolicyContext<'_> {
    pub fn render(&self, template: &str) -> Result<Value> {
        render::render_json(template, self)
    }
}

/// `k8s/namespace.yaml.j2`.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceContext<'a> {
    pub name: &'a str,
    pub labels: Labels,
    pub annotations: Labels,
}

impl NamespaceContext<'_> {
    pub fn render(&self) -> Result<Value> {
        render::render_yaml("k8s/namespace.yaml.j2", self)
    }
}

/// `k8s/service-account.yaml.j2`.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceAccountContext<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub labels: Labels,
    pub annotations: Labels,
}

impl ServiceAccountContext<'_> {
    pub fn render(&self) -> Result<Value> {
        render::render_yaml("k8s/service-account.yaml.j2", self)
    }
}

/// `k8s/nvidia-device-plugin.yaml.j2`.
#[derive(Debug, Clone, Serialize)]
pub struct DevicePluginContext<'a> {
    pub version: &'a str,
    pub labels: Labels,
}

impl DevicePluginContext<'_> {
    pub fn render(&self) -> Result<Value> {
        render::render_yaml("k8s/nvidia-device-plugin.yaml.j2", self)
    }
}

/// The label on every Kubernetes object setup creates.
pub fn k8s_labels() -> Labels {
    let mut m = Labels::new();
    m.insert(marks::LABEL_MANAGED.0.into(), marks::LABEL_MANAGED.1.into());
    m
}

/// The annotation naming the HyperPod cluster a Kubernetes object was made for.
pub fn k8s_annotations(hyperpod_cluster: &str) -> Labels {
    let mut m = Labels::new();
    m.insert(marks::ANNOTATION_CLUSTER.into(), hyperpod_cluster.into());
    m
}

/// The tags on every IAM role, policy, OIDC provider and add-on setup creates.
pub fn iam_tags(hyperpod_cluster: &str) -> Vec<(String, String)> {
    vec![
        (
            marks::TAG_MANAGED_BY.0.to_string(),
            marks::TAG_MANAGED_BY.1.to_string(),
        ),
        (marks::TAG_CLUSTER.to_string(), hyperpod_cluster.to_string()),
    ]
}
