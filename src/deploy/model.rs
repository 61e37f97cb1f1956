//! A model resource read into one typed value: what `get`, `describe`, the placement check,
//! the S3 bucket check and doctor know of a model's spec (its status is `status::ModelStatus`),
//! and what they read of the nodes it runs on (instance type, GPUs).
//! Each field is read from the one place its kind keeps it; nothing else reads a model's spec
//! by JSON pointer. Resources are made from flags by `spec` (the write side).

use serde::Serialize;
use serde_json::Value;

use super::kind::{ModelKind, ModelRef};

/// The extended resource a replica's GPUs are requested under (NVIDIA device plugin).
pub(crate) const GPU: &str = "nvidia.com/gpu";
/// The node label that carries a node's instance type.
pub(crate) const INSTANCE_TYPE_LABEL: &str = "node.kubernetes.io/instance-type";

/// A Kubernetes quantity of whole devices ("4" or 4); 0 when it is neither.
pub(crate) fn quantity(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// The GPUs a node can give pods (`status.allocatable`).
pub(crate) fn node_gpus(node: &Value) -> i64 {
    quantity(&node["status"]["allocatable"][GPU])
}

/// A node's instance type (its label; the beta label on old nodes).
pub(crate) fn node_instance_type(node: &Value) -> Option<&str> {
    let l = &node["metadata"]["labels"];
    l[INSTANCE_TYPE_LABEL]
        .as_str()
        .or_else(|| l["beta.kubernetes.io/instance-type"].as_str())
}

/// Where a model's weights come from (`spec.modelSourceConfig` of an InferenceEndpointConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Source {
    /// `s3`, `fsx`, `huggingface` ...
    pub kind: String,
    /// The S3 bucket (without `s3://`), for `s3`.
    pub bucket: Option<String>,
    /// `modelLocation`: the prefix in the bucket or file system.
    pub location: Option<String>,
}

/// A model resource's spec, as the commands read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Model {
    /// `kind`, `name`, `namespace`.
    #[serde(flatten)]
    pub resource: ModelRef,
    /// The JumpStart model id, or the custom model's name.
    pub model: Option<String>,
    /// A JumpStart model's private hub (`model.modelHubName`); `None` = the public hub.
    pub hub: Option<String>,
    /// The instance types it may run on, in order (`instanceType` or `instanceTypes`).
    pub instance_types: Vec<String>,
    /// GPUs one replica asks for (the larger of requests and limits; 0 when none).
    pub gpus: i64,
    pub source: Option<Source>,
    /// The SageMaker endpoint asked for (an empty name means none).
    pub endpoint_name: Option<String>,
    /// `spec.replicas` as written (the CRDs default it to 1).
    pub replicas: Option<i64>,
    /// `spec.maxDeployTimeInSeconds` as written.
    pub max_deploy_seconds: Option<u64>,
}

/// The operator's deadline when the resource sets none (the CRDs' `maxDeployTimeInSeconds`).
pub const DEFAULT_DEPLOY_SECONDS: u64 = 3600;

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Model {
    /// Reads an object whose `kind` is one of the model kinds.
    pub(crate) fn read(obj: &Value) -> Option<Model> {
        let kind = ModelKind::from_kind(obj["kind"].as_str()?)?;
        Some(Model::read_as(kind, obj))
    }

    /// Reads `obj` as a resource of `kind` (a resource being made may not say its kind yet).
    pub(crate) fn read_as(kind: ModelKind, obj: &Value) -> Model {
        let spec = &obj["spec"];
        let (model, hub, instance_types) = match kind {
            ModelKind::JumpStartModel => (
                text(spec, "/model/modelId"),
                text(spec, "/model/modelHubName"),
                text(spec, "/server/instanceType").into_iter().collect(),
            ),
            ModelKind::InferenceEndpointConfig => {
                let listed: Vec<String> = spec["instanceTypes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| t.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let types = if listed.is_empty() {
                    text(spec, "/instanceType").into_iter().collect()
                } else {
                    listed
                };
                (text(spec, "/modelName"), None, types)
            }
        };
        let resources = &spec["worker"]["resources"];
        let gpus = ["requests", "limits"]
            .iter()
            .map(|k| quantity(&resources[k][GPU]))
            .max()
            .unwrap_or(0);
        let src = &spec["modelSourceConfig"];
        let source = text(src, "/modelSourceType").map(|kind| Source {
            bucket: (kind == "s3")
                .then(|| text(src, "/s3Storage/bucketName"))
                .flatten()
                .map(|b| b.trim_start_matches("s3://").to_string()),
            location: text(src, "/modelLocation"),
            kind,
        });
        Model {
            resource: ModelRef {
                kind,
                name: text(obj, "/metadata/name").unwrap_or_default(),
                namespace: text(obj, "/metadata/namespace").unwrap_or_default(),
            },
            model,
            hub,
            instance_types,
            gpus,
            source,
            endpoint_name: text(obj, kind.endpoint_pointer()),
            replicas: obj.pointer("/spec/replicas").and_then(Value::as_i64),
            max_deploy_seconds: spec["maxDeployTimeInSeconds"].as_u64(),
        }
    }

    /// The instance type to show: the one asked for, or the candidates joined with `|`.
    pub(crate) fn instance_type_text(&self) -> Option<String> {
        (!self.instance_types.is_empty()).then(|| self.instance_types.join("|"))
    }

    /// The first (preferred) instance type.
    pub(crate) fn instance_type(&self) -> Option<&str> {
        self.instance_types.first().map(String::as_str)
    }

    /// Where the source type is `s3`, its bucket.
    pub(crate) fn s3_bucket(&self) -> Option<&Source> {
        self.source
            .as_ref()
            .filter(|s| s.kind == "s3" && s.bucket.is_some())
    }

    /// The replicas the operator runs (the CRDs' default is 1).
    pub(crate) fn replica_count(&self) -> i64 {
        self.replicas.unwrap_or(1)
    }

    /// How long the operator gives the deployment.
    pub fn deploy_deadline_seconds(&self) -> u64 {
        self.max_deploy_seconds.unwrap_or(DEFAULT_DEPLOY_SECONDS)
    }

    /// The patch that moves the model to another instance type.
    pub(crate) fn instance_type_patch(&self, instance_type: &str) -> Value {
        match self.resource.kind {
            ModelKind::JumpStartModel => {
                serde_json::json!({"spec": {"server": {"instanceType": instance_type}}})
            }
            ModelKind::InferenceEndpointConfig => {
                serde_json::json!({"spec": {"instanceType": instance_type}})
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_is_read_from_where_it_keeps_its_fields() {
        let js = json!({"kind": "JumpStartModel", "metadata": {"name": "b", "namespace": "ns"},
            "spec": {"model": {"modelId": "bert", "modelHubName": "hub"},
                     "server": {"instanceType": "ml.c5.2xlarge"},
                     "sageMakerEndpoint": {"name": "ep"}}});
        let m = Model::read(&js).unwrap();
        assert_eq!(m.resource.kind, ModelKind::JumpStartModel);
        assert_eq!(
            (m.resource.name.as_str(), m.resource.namespace.as_str()),
            ("b", "ns")
        );
        assert_eq!(m.model.as_deref(), Some("bert"));
        assert_eq!(m.hub.as_deref(), Some("hub"));
        assert_eq!(m.instance_types, ["ml.c5.2xlarge"]);
        assert_eq!(m.endpoint_name.as_deref(), Some("ep"));
        assert_eq!((m.gpus, m.replica_count()), (0, 1));
        assert_eq!(m.deploy_deadline_seconds(), DEFAULT_DEPLOY_SECONDS);

        let iec = json!({"kind": "InferenceEndpointConfig", "metadata": {"name": "l"},
            "spec": {"modelName": "llama", "instanceTypes": ["ml.g5.12xlarge", "ml.g5.24xlarge"],
                     "instanceType": "ignored", "endpointName": "", "replicas": 2,
                     "maxDeployTimeInSeconds": 900,
                     "modelSourceConfig": {"modelSourceType": "s3", "modelLocation": "m/",
                                           "s3Storage": {"bucketName": "s3://b"}},
                     "worker": {"resources": {"requests": {"nvidia.com/gpu": "2"},
                                              "limits": {"nvidia.com/gpu": 4}}}}});
        let m = Model::read(&iec).unwrap();
        assert_eq!(m.instance_type(), Some("ml.g5.12xlarge"));
        assert_eq!(
            m.instance_type_text().as_deref(),
            Some("ml.g5.12xlarge|ml.g5.24xlarge")
        );
        assert_eq!(m.endpoint_name, None, "an empty name is no endpoint");
        assert_eq!((m.gpus, m.replica_count()), (4, 2));
        assert_eq!(m.deploy_deadline_seconds(), 900);
        let s = m.s3_bucket().unwrap();
        assert_eq!(
            (s.bucket.as_deref(), s.location.as_deref()),
            (Some("b"), Some("m/"))
        );
        assert_eq!(Model::read(&json!({"kind": "Pod"})), None);
    }
}
