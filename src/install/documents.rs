//! The typed context of every template setup renders (one `Serialize` struct per template; the
//! trust policy's lives with it in `trust`, the model resources' in `deploy::resource`), and the
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

/// `addon/operator-configuration.json.j2`: the `--configuration-values` of the EKS add-on
/// `amazon-sagemaker-hyperpod-inference`.
#[derive(Debug, Clone, Serialize)]
pub struct AddonConfiguration<'a> {
    pub execution_role_arn: String,
    /// The TLS bucket by name.
    pub bucket: &'a str,
    pub hyperpod_cluster_arn: &'a str,
    pub gated_role_arn: Option<String>,
    pub alb_role_arn: String,
    pub keda_role_arn: String,
}

impl AddonConfiguration<'_> {
    /// Renders the configuration and checks it against the add-on's schema, so that EKS never
    /// sees one it would refuse.
    pub fn render(&self) -> Result<Value> {
        let name = "addon/operator-configuration.json.j2";
        let v = render::render_json(name, self)?;
        let problems = addon_schema_problems(&v);
        if problems.is_empty() {
            return Ok(v);
        }
        Err(crate::error::Error::Template {
            name: name.into(),
            detail: format!(
                "the add-on's configuration schema refuses it: {}",
                problems.join("; ")
            ),
        })
    }
}

/// The configuration schema of `amazon-sagemaker-hyperpod-inference` (v1.x): every key it
/// knows, and which are required; nothing else is allowed.
enum Shape {
    Str,
    Bool,
    Object(&'static [(&'static str, bool, Shape)]),
}

const ADDON_SCHEMA: Shape = Shape::Object(&[
    ("executionRoleArn", true, Shape::Str),
    ("tlsCertificateS3Bucket", true, Shape::Str),
    ("hyperpodClusterArn", false, Shape::Str),
    ("jumpstartGatedModelDownloadRoleArn", false, Shape::Str),
    (
        "alb",
        false,
        Shape::Object(&[
            ("enabled", false, Shape::Bool),
            (
                "serviceAccount",
                false,
                Shape::Object(&[
                    ("create", false, Shape::Bool),
                    ("roleArn", false, Shape::Str),
                ]),
            ),
        ]),
    ),
    (
        "keda",
        false,
        Shape::Object(&[
            ("enabled", false, Shape::Bool),
            (
                "auth",
                false,
                Shape::Object(&[(
                    "aws",
                    false,
                    Shape::Object(&[(
                        "irsa",
                        false,
                        Shape::Object(&[
                            ("enabled", false, Shape::Bool),
                            ("roleArn", false, Shape::Str),
                        ]),
                    )]),
                )]),
            ),
        ]),
    ),
]);

/// What the add-on's schema refuses in `v`, as EKS words it (`$.path: ...`).
pub fn addon_schema_problems(v: &Value) -> Vec<String> {
    fn walk(path: &str, v: &Value, shape: &Shape, out: &mut Vec<String>) {
        match (shape, v) {
            (Shape::Str, Value::String(_)) | (Shape::Bool, Value::Bool(_)) => {}
            (Shape::Str, _) => out.push(format!("{path}: string expected")),
            (Shape::Bool, _) => out.push(format!("{path}: boolean expected")),
            (Shape::Object(fields), Value::Object(m)) => {
                for (k, required, _) in fields.iter() {
                    if *required && !m.contains_key(*k) {
                        out.push(format!("{path}.{k}: is missing but it is required"));
                    }
                }
                for (k, val) in m {
                    match fields.iter().find(|(name, _, _)| name == k) {
                        Some((_, _, s)) => walk(&format!("{path}.{k}"), val, s, out),
                        None => out.push(format!(
                            "{path}.{k}: is not defined in the schema and the schema does not allow additional properties"
                        )),
                    }
                }
            }
            (Shape::Object(_), _) => out.push(format!("{path}: object expected")),
        }
    }
    let mut out = Vec::new();
    walk("$", v, &ADDON_SCHEMA, &mut out);
    out
}

/// The model buckets' read policy (`iam/s3-model-buckets.json.j2`): every bucket granted.
#[derive(Debug, Serialize)]
pub struct ModelBucketsContext<'a> {
    pub buckets: &'a [String],
}

impl ModelBucketsContext<'_> {
    pub fn render(&self) -> Result<Value> {
        render::render_json("iam/s3-model-buckets.json.j2", self)
    }

    /// The buckets a policy document (as rendered from the template) grants, in order.
    pub fn granted(doc: &Value) -> Vec<String> {
        doc["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["Sid"] == "ModelBucketList")
            .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| {
                r.as_str()
                    .and_then(|r| r.strip_prefix("arn:aws:s3:::"))
                    .map(str::to_string)
            })
            .collect()
    }
}

/// The permission policies (`iam/operator-permissions.json.j2`, `iam/s3-mountpoint.json.j2`,
/// `iam/keda-permissions.json.j2`, `iam/alb-controller-v2.13.0.json`, `iam/tls-bucket.json.j2`):
/// all take the same input,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> AddonConfiguration<'static> {
        AddonConfiguration {
            execution_role_arn: "arn:aws:iam::1:role/SageMakerHyperPodInference-c".into(),
            bucket: "b",
            hyperpod_cluster_arn: "arn:aws:sagemaker:us-west-2:1:cluster/x",
            gated_role_arn: None,
            alb_role_arn: "arn:aws:iam::1:role/alb".into(),
            keda_role_arn: "arn:aws:iam::1:role/keda".into(),
        }
    }

    #[test]
    fn the_add_on_configuration_passes_its_schema_and_values_stay_strings() {
        let v = config().render().unwrap();
        assert_eq!(
            v["keda"]["auth"]["aws"]["irsa"]["roleArn"],
            "arn:aws:iam::1:role/keda"
        );
        assert!(v.get("jumpstartGatedModelDownloadRoleArn").is_none());
        let evil = AddonConfiguration {
            bucket: "b\",\"bogus\": \"x",
            gated_role_arn: Some("g".into()),
            ..config()
        };
        let v = evil.render().unwrap();
        assert_eq!(v["tlsCertificateS3Bucket"], "b\",\"bogus\": \"x");
        assert_eq!(v["jumpstartGatedModelDownloadRoleArn"], "g");
    }

    #[test]
    fn the_schema_refuses_what_eks_refuses() {
        let p = addon_schema_problems(
            &json!({"executionRoleArn": "r", "bogus": 1, "alb": {"enabled": "yes"}}),
        );
        assert_eq!(
            p,
            [
                "$.tlsCertificateS3Bucket: is missing but it is required",
                "$.bogus: is not defined in the schema and the schema does not allow additional properties",
                "$.alb.enabled: boolean expected",
            ]
        );
    }

    #[test]
    fn the_model_buckets_policy_reads_back_its_buckets() {
        let buckets = vec!["models-a".to_string(), "models.b".to_string()];
        let doc = ModelBucketsContext { buckets: &buckets }.render().unwrap();
        assert_eq!(ModelBucketsContext::granted(&doc), buckets);
        let reads = crate::deploy::bucket_access::ModelBucket {
            bucket: "models.b".into(),
            prefix: "llama".into(),
        };
        assert!(crate::deploy::bucket_access::missing(&[doc], &reads).is_empty());
        // Another policy (the guide's S3 one) grants no model bucket by this reading.
        let other = PolicyContext { bucket: "tls" }
            .render("iam/s3-mountpoint.json.j2")
            .unwrap();
        assert!(ModelBucketsContext::granted(&other).is_empty());
    }
}
