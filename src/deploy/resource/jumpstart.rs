//! `deploy jumpstart`: the JumpStartModel a user asks for, checked and rendered.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::rules::{
    check_env_list, instance_type, jumpstart_version, model_id, obeys, plain_text, replicas, s3_uri,
};
use super::{Autoscaling, EnvVar, Features, Overrides};
use crate::error::Result;
use crate::validate;

/// `deploy jumpstart`: a JumpStartModel.
#[derive(Debug, Clone, Default)]
pub struct JumpStartInput {
    pub name: String,
    pub namespace: String,
    pub model_id: String,
    pub model_version: Option<String>,
    pub accept_eula: bool,
    pub endpoint_name: Option<String>,
    pub instance_type: String,
    pub env: Vec<EnvVar>,
    pub replicas: Option<i64>,
    pub tls_output_s3_uri: Option<String>,
    pub max_deploy_time: Option<u64>,
    pub gated_model_role: Option<String>,
    pub autoscaling: Autoscaling,
    /// `model.modelHubName`: a private hub instead of the public one.
    pub model_hub: Option<String>,
    /// `server.acceleratorPartitionType` (MIG profile, e.g. mig-1g.10gb), validated by the operator.
    pub accelerator_partition: Option<String>,
    /// `server.executionRole` (ARN).
    pub execution_role: Option<String>,
    /// `model.additionalConfigs`.
    pub additional_configs: Vec<(String, String)>,
    pub features: Features,
    pub overrides: Overrides,
}

#[derive(Serialize)]
struct JumpStartCtx<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: BTreeMap<String, String>,
    model_id: &'a str,
    model_version: Option<&'a str>,
    accept_eula: bool,
    endpoint_name: Option<&'a str>,
    instance_type: &'a str,
    env: &'a [EnvVar],
    replicas: Option<i64>,
    tls_output_s3_uri: Option<&'a str>,
    max_deploy_time: Option<u64>,
    gated_model_role: Option<&'a str>,
    autoscaling: Option<Value>,
}

impl JumpStartInput {
    /// Checks every value (errors name the flag), then renders the resource.
    pub fn render(&self) -> Result<Value> {
        crate::deploy::check::model_name("--name", &self.name)?;
        validate::k8s_label_name("--namespace", &self.namespace)?;
        model_id("--model-id", &self.model_id)?;
        if let Some(v) = &self.model_version {
            jumpstart_version("--model-version", v)?;
        }
        instance_type("--instance-type", &self.instance_type)?;
        if let Some(e) = &self.endpoint_name {
            model_id("--endpoint-name", e)?;
        }
        check_env_list("--env", &self.env)?;
        replicas("--replicas", self.replicas)?;
        if let Some(u) = &self.tls_output_s3_uri {
            s3_uri("--tls-output-s3-uri", u)?;
        }
        if let Some(r) = &self.gated_model_role {
            validate::role_arn("--gated-model-role", r)?;
        }
        let autoscaling = self.autoscaling.to_spec()?;
        let ctx = JumpStartCtx {
            name: &self.name,
            namespace: &self.namespace,
            labels: BTreeMap::new(),
            model_id: &self.model_id,
            model_version: self.model_version.as_deref(),
            accept_eula: self.accept_eula,
            endpoint_name: self.endpoint_name.as_deref(),
            instance_type: &self.instance_type,
            env: &self.env,
            replicas: self.replicas,
            tls_output_s3_uri: self.tls_output_s3_uri.as_deref(),
            max_deploy_time: self.max_deploy_time,
            gated_model_role: self.gated_model_role.as_deref(),
            autoscaling,
        };
        let mut doc = crate::render::render_yaml("k8s/jumpstart-model.yaml.j2", &ctx)?;
        let mut extra = self.features.to_spec(false)?;
        let mut model = Map::new();
        if let Some(h) = &self.model_hub {
            model_id("--model-hub", h)?;
            model.insert("modelHubName".into(), json!(h));
        }
        if !self.additional_configs.is_empty() {
            let mut list = Vec::new();
            for (k, v) in &self.additional_configs {
                plain_text("--additional-config", k, 256)?;
                plain_text("--additional-config", v, 4096)?;
                list.push(json!({"name": k, "value": v}));
            }
            model.insert("additionalConfigs".into(), Value::Array(list));
        }
        let mut server = Map::new();
        if let Some(p) = &self.accelerator_partition {
            let ok = p.strip_prefix("mig-").is_some_and(|rest| {
                !rest.is_empty()
                    && rest.len() <= 32
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '+')
            });
            obeys(
                ok,
                "--accelerator-partition",
                "must be a MIG profile such as mig-1g.10gb or mig-7g.80gb",
                p,
            )?;
            server.insert("acceleratorPartitionType".into(), json!(p));
            server.insert(
                "validations".into(),
                json!({"acceleratorPartitionValidation": true}),
            );
        }
        if let Some(r) = &self.execution_role {
            validate::role_arn("--execution-role", r)?;
            server.insert("executionRole".into(), json!(r));
        }
        if !model.is_empty() {
            extra.insert("model".into(), Value::Object(model));
        }
        if !server.is_empty() {
            extra.insert("server".into(), Value::Object(server));
        }
        self.overrides.apply_all(&mut doc, extra)?;
        Ok(doc)
    }
}
