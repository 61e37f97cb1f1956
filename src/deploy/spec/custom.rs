//! `deploy custom`: the InferenceEndpointConfig a user asks for (model source, worker), checked
//! and rendered.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::rules::{
    bad, check_env_list, image, instance_type, model_id, model_location, mount_path, quantity,
    replicas, s3_uri, url_path,
};
use super::{Autoscaling, EnvVar};
use crate::error::{Error, Result};
use crate::validate;

/// Where a custom model's weights come from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    S3 {
        bucket: String,
        region: String,
    },
    Fsx {
        file_system_id: String,
        dns_name: Option<String>,
        mount_name: Option<String>,
    },
}

/// `deploy custom`: an InferenceEndpointConfig.
#[derive(Debug, Clone)]
pub struct CustomInput {
    pub name: String,
    pub namespace: String,
    pub model_name: String,
    pub model_version: Option<String>,
    pub endpoint_name: Option<String>,
    pub instance_type: String,
    pub invocation_endpoint: Option<String>,
    pub replicas: Option<i64>,
    pub source: ModelSource,
    pub model_location: Option<String>,
    pub prefetch: bool,
    pub image: String,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub gpus: Option<i64>,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
    pub container_port: i64,
    pub port_name: String,
    pub env: Vec<EnvVar>,
    pub volume_name: String,
    pub mount_path: String,
    pub tls_output_s3_uri: Option<String>,
    pub max_deploy_time: Option<u64>,
    pub autoscaling: Autoscaling,
}

/// The model volume the guide's example leaves out and the v1 CRD requires.
pub const DEFAULT_VOLUME_NAME: &str = "model-weights";
pub const DEFAULT_MOUNT_PATH: &str = "/opt/ml/model";

#[derive(Serialize)]
struct CustomCtx<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: BTreeMap<String, String>,
    model_name: &'a str,
    model_version: Option<&'a str>,
    endpoint_name: Option<&'a str>,
    instance_type: &'a str,
    invocation_endpoint: Option<&'a str>,
    replicas: Option<i64>,
    source_type: &'a str,
    s3: Option<Value>,
    fsx: Option<Value>,
    model_location: Option<&'a str>,
    prefetch: bool,
    image: &'a str,
    resources: Value,
    container_port: i64,
    port_name: &'a str,
    env: &'a [EnvVar],
    volume_name: &'a str,
    mount_path: &'a str,
    tls_output_s3_uri: Option<&'a str>,
    max_deploy_time: Option<u64>,
    autoscaling: Option<Value>,
}

impl CustomInput {
    /// Checks every value (errors name the flag), then renders the resource.
    pub fn render(&self) -> Result<Value> {
        crate::deploy::check::model_name("--name", &self.name)?;
        validate::k8s_label_name("--namespace", &self.namespace)?;
        model_id("--model-name", &self.model_name)?;
        if let Some(v) = &self.model_version {
            let ok = (1..=64).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok {
                return Err(bad(
                    "--model-version",
                    "must be 1-64 letters, digits and . _ -",
                    v,
                ));
            }
        }
        if let Some(e) = &self.endpoint_name {
            model_id("--endpoint-name", e)?;
        }
        instance_type("--instance-type", &self.instance_type)?;
        if let Some(p) = &self.invocation_endpoint {
            url_path("--invocation-endpoint", p)?;
        }
        replicas("--replicas", self.replicas)?;
        let (source_type, s3, fsx) = match &self.source {
            ModelSource::S3 { bucket, region } => {
                if bucket.starts_with("s3://") || bucket.contains('/') {
                    return Err(bad(
                        "--s3-bucket",
                        "must be a bucket name only (put the path in --model-location)",
                        bucket,
                    ));
                }
                validate::bucket_name("--s3-bucket", bucket)?;
                validate::region("--s3-region", region)?;
                (
                    "s3",
                    Some(json!({"bucketName": bucket, "region": region})),
                    None,
                )
            }
            ModelSource::Fsx {
                file_system_id,
                dns_name,
                mount_name,
            } => {
                let id_ok = file_system_id.strip_prefix("fs-").is_some_and(|h| {
                    (8..=17).contains(&h.len())
                        && h.chars()
                            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
                });
                if !id_ok {
                    return Err(bad(
                        "--fsx-file-system-id",
                        "must be an FSx file system id such as fs-0123456789abcdef0",
                        file_system_id,
                    ));
                }
                let mut fsx = json!({"fileSystemId": file_system_id});
                if let Some(d) = dns_name {
                    let ok = (1..=253).contains(&d.len())
                        && d.split('.').all(|l| {
                            !l.is_empty()
                                && l.len() <= 63
                                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        });
                    if !ok {
                        return Err(bad("--fsx-dns-name", "must be a DNS name", d));
                    }
                    fsx["dnsName"] = json!(d);
                }
                if let Some(m) = mount_name {
                    let ok =
                        (1..=16).contains(&m.len()) && m.chars().all(|c| c.is_ascii_alphanumeric());
                    if !ok {
                        return Err(bad(
                            "--fsx-mount-name",
                            "must be 1-16 letters and digits (the file system's mount name)",
                            m,
                        ));
                    }
                    fsx["mountName"] = json!(m);
                }
                ("fsx", None, Some(fsx))
            }
        };
        if let Some(l) = &self.model_location {
            model_location("--model-location", l)?;
        }
        image("--image", &self.image)?;
        let mut requests = serde_json::Map::new();
        let mut limits = serde_json::Map::new();
        if let Some(c) = &self.cpu {
            quantity("--cpu", c)?;
            requests.insert("cpu".into(), json!(c));
        }
        if let Some(m) = &self.memory {
            quantity("--memory", m)?;
            requests.insert("memory".into(), json!(m));
        }
        if let Some(c) = &self.cpu_limit {
            quantity("--cpu-limit", c)?;
            limits.insert("cpu".into(), json!(c));
        }
        if let Some(m) = &self.memory_limit {
            quantity("--memory-limit", m)?;
            limits.insert("memory".into(), json!(m));
        }
        if let Some(g) = self.gpus {
            if !(1..=64).contains(&g) {
                return Err(Error::invalid(
                    "--gpus",
                    format!("must be 1-64 GPUs per replica (got {g})"),
                ));
            }
            // GPUs are requested and limited alike: Kubernetes refuses anything else.
            requests.insert("nvidia.com/gpu".into(), json!(g.to_string()));
            limits.insert("nvidia.com/gpu".into(), json!(g.to_string()));
        }
        let mut resources = serde_json::Map::new();
        if !limits.is_empty() {
            resources.insert("limits".into(), Value::Object(limits));
        }
        if !requests.is_empty() {
            resources.insert("requests".into(), Value::Object(requests));
        }
        if !(1..=65535).contains(&self.container_port) {
            return Err(Error::invalid(
                "--container-port",
                format!(
                    "must be a port number 1-65535 (got {})",
                    self.container_port
                ),
            ));
        }
        if !["http", "grpc"].contains(&self.port_name.as_str()) {
            return Err(bad("--port-name", "must be http or grpc", &self.port_name));
        }
        check_env_list("--env", &self.env)?;
        validate::k8s_label_name("--model-volume-name", &self.volume_name)?;
        mount_path("--model-mount-path", &self.mount_path)?;
        if let Some(u) = &self.tls_output_s3_uri {
            s3_uri("--tls-output-s3-uri", u)?;
        }
        let autoscaling = self.autoscaling.to_spec()?;
        let ctx = CustomCtx {
            name: &self.name,
            namespace: &self.namespace,
            labels: BTreeMap::new(),
            model_name: &self.model_name,
            model_version: self.model_version.as_deref(),
            endpoint_name: self.endpoint_name.as_deref(),
            instance_type: &self.instance_type,
            invocation_endpoint: self.invocation_endpoint.as_deref(),
            replicas: self.replicas,
            source_type,
            s3,
            fsx,
            model_location: self.model_location.as_deref(),
            prefetch: self.prefetch,
            image: &self.image,
            resources: Value::Object(resources),
            container_port: self.container_port,
            port_name: &self.port_name,
            env: &self.env,
            volume_name: &self.volume_name,
            mount_path: &self.mount_path,
            tls_output_s3_uri: self.tls_output_s3_uri.as_deref(),
            max_deploy_time: self.max_deploy_time,
            autoscaling,
        };
        crate::render::render_yaml("k8s/inference-endpoint-config.yaml.j2", &ctx)
    }
}
