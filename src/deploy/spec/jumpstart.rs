//! `deploy jumpstart`: the JumpStartModel a user asks for, checked and rendered.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::rules::{check_env_list, instance_type, jumpstart_version, model_id, replicas, s3_uri};
use super::{Autoscaling, EnvVar};
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
        crate::render::render_yaml("k8s/jumpstart-model.yaml.j2", &ctx)
    }
}
