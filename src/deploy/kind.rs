//! The two model resource kinds: their API names, embedded CRDs, and where each keeps the
//! SageMaker endpoint name and environment (`model::Model` reads the rest); and `ModelRef`, which
//! model resource a report or a reading is about.

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::install::names::{ENDPOINT_CONFIGS_CRD, JUMPSTART_MODELS_CRD};

pub(crate) const API_VERSION: &str = "inference.sagemaker.aws.amazon.com/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ModelKind {
    JumpStartModel,
    InferenceEndpointConfig,
}

/// Which model resource: its kind, name and namespace. The reports and readings about one model
/// embed it with `#[serde(flatten)]`, so their JSON keeps `kind`, `name`, `namespace` first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelRef {
    pub kind: ModelKind,
    pub name: String,
    pub namespace: String,
}

impl ModelRef {
    pub(crate) fn new(kind: ModelKind, name: &str, namespace: &str) -> Self {
        ModelRef {
            kind,
            name: name.to_string(),
            namespace: namespace.to_string(),
        }
    }
}

impl ModelKind {
    pub const ALL: [ModelKind; 2] = [
        ModelKind::JumpStartModel,
        ModelKind::InferenceEndpointConfig,
    ];

    pub fn kind(self) -> &'static str {
        match self {
            ModelKind::JumpStartModel => "JumpStartModel",
            ModelKind::InferenceEndpointConfig => "InferenceEndpointConfig",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.kind() == kind)
    }

    /// The fully qualified resource name, unambiguous for kubectl (`jumpstartmodels.<group>`).
    pub const fn resource(self) -> &'static str {
        match self {
            ModelKind::JumpStartModel => JUMPSTART_MODELS_CRD,
            ModelKind::InferenceEndpointConfig => ENDPOINT_CONFIGS_CRD,
        }
    }

    /// Lowercase singular, as people type it after `kubectl get`.
    pub fn singular(self) -> &'static str {
        match self {
            ModelKind::JumpStartModel => "jumpstartmodel",
            ModelKind::InferenceEndpointConfig => "inferenceendpointconfig",
        }
    }

    /// The CRD as published (`crds/*.yaml`); only the tests read it, to prove the schema below
    /// is its `v1` `openAPIV3Schema`.
    #[cfg(test)]
    fn crd_text(self) -> &'static str {
        match self {
            ModelKind::JumpStartModel => include_str!("crds/jumpstartmodels.yaml"),
            ModelKind::InferenceEndpointConfig => {
                include_str!("crds/inferenceendpointconfigs.yaml")
            }
        }
    }

    /// The CRD's `v1` `openAPIV3Schema` as JSON, extracted from `crds/*.yaml` (a test checks they
    /// agree): parsing the 100-450 KB YAML at every start cost 5-13 ms, most of a
    /// `deploy --dry-run --offline`.
    fn schema_text(self) -> &'static str {
        match self {
            ModelKind::JumpStartModel => include_str!("crds/jumpstartmodels.v1-schema.json"),
            ModelKind::InferenceEndpointConfig => {
                include_str!("crds/inferenceendpointconfigs.v1-schema.json")
            }
        }
    }

    /// The CRD's `v1` `openAPIV3Schema`, parsed once.
    pub fn schema(self) -> Result<&'static Value> {
        static JS: OnceLock<std::result::Result<Value, String>> = OnceLock::new();
        static IEC: OnceLock<std::result::Result<Value, String>> = OnceLock::new();
        let cell = match self {
            ModelKind::JumpStartModel => &JS,
            ModelKind::InferenceEndpointConfig => &IEC,
        };
        cell.get_or_init(|| {
            serde_json::from_str::<Value>(self.schema_text())
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    v.is_object()
                        .then_some(v)
                        .ok_or_else(|| "not a schema object".to_string())
                })
        })
        .as_ref()
        .map_err(|e| {
            Error::failed(
                format!("embedded {} CRD is unreadable: {e}", self.kind()),
                None,
            )
        })
    }

    /// Where the SageMaker endpoint name lives in the spec.
    pub fn endpoint_pointer(self) -> &'static str {
        match self {
            ModelKind::JumpStartModel => "/spec/sageMakerEndpoint/name",
            ModelKind::InferenceEndpointConfig => "/spec/endpointName",
        }
    }

    /// What the operator needs under `spec` (the fields the CRD requires once spec is there).
    pub fn spec_needs(self) -> &'static str {
        match self {
            ModelKind::JumpStartModel => {
                "spec.model (modelId, acceptEula) and spec.server (instanceType)"
            }
            ModelKind::InferenceEndpointConfig => {
                "spec.modelName, spec.modelSourceConfig and spec.worker"
            }
        }
    }

    pub fn env_pointer(self) -> &'static str {
        match self {
            ModelKind::JumpStartModel => "/spec/environmentVariables",
            ModelKind::InferenceEndpointConfig => "/spec/worker/environmentVariables",
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_json_schemas_are_the_published_crds_v1_schemas() {
        for k in ModelKind::ALL {
            let crd = crate::render::parse_yaml(k.crd_text()).unwrap();
            let v1 = crd["spec"]["versions"]
                .as_array()
                .and_then(|vs| vs.iter().find(|v| v["name"] == "v1"))
                .map(|v| v["schema"]["openAPIV3Schema"].clone())
                .unwrap();
            assert!(
                &v1 == k.schema().unwrap(),
                "{k}: crds/*.v1-schema.json differs from the CRD's v1 schema; regenerate it"
            );
        }
    }

    #[test]
    fn embedded_schemas_parse_and_every_pattern_compiles() {
        for k in ModelKind::ALL {
            let s = k.schema().unwrap();
            assert_eq!(s["type"], "object");
            assert!(s["properties"]["spec"].is_object());
            let pats = crate::deploy::schema::patterns(s);
            assert!(pats.len() > 10, "{k}: {pats:?}");
            for p in pats {
                assert!(crate::deploy::schema::pattern_compiles(&p), "{k}: {p}");
            }
        }
    }
}
