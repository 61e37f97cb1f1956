//! `deploy custom`: the InferenceEndpointConfig a user asks for (model source, worker), checked
//! and rendered.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::rules::{
    bad, check_env_list, image, instance_type, model_id, model_location, mount_path, obeys, port,
    quantity, replicas, s3_uri, url_path,
};
use super::{Autoscaling, EnvVar, Features, Overrides};
use crate::deploy::model::GPU;
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
    /// Downloaded from the Hugging Face Hub by the operator.
    HuggingFace {
        model_id: String,
        commit: Option<String>,
        /// The Secret (name, key) holding the Hub token, for gated or private models.
        token_secret: Option<(String, String)>,
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
    /// Worker and placement fields beyond the guide's example.
    pub extras: CustomExtras,
    pub features: Features,
    pub overrides: Overrides,
}

/// `deploy custom`'s fields beyond the guide's example.
#[derive(Debug, Clone, Default)]
pub struct CustomExtras {
    /// `worker.command` / `worker.args` / `worker.workingDir`.
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub working_dir: Option<String>,
    /// More resources per replica (requested and limited alike), e.g. vpc.amazonaws.com/efa=1.
    pub resources: Vec<(String, String)>,
    /// `instanceTypes`: the types to try, in order (instead of one `instanceType`).
    pub instance_types: Vec<String>,
    /// `worker.requestLimits`.
    pub max_concurrent_requests: Option<i64>,
    pub max_queue_size: Option<i64>,
}

/// The CPU and memory quantities given (`[cpu, memory]`, with their flags), each checked, as
/// a `resources.requests` or `resources.limits` map.
fn quantities(given: [(&str, &Option<String>); 2]) -> Result<Map<String, Value>> {
    let mut map = Map::new();
    for (key, (flag, value)) in ["cpu", "memory"].into_iter().zip(given) {
        if let Some(v) = value {
            quantity(flag, v)?;
            map.insert(key.into(), json!(v));
        }
    }
    Ok(map)
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
            obeys(
                ok,
                "--model-version",
                "must be 1-64 letters, digits and . _ -",
                v,
            )?;
        }
        if let Some(e) = &self.endpoint_name {
            model_id("--endpoint-name", e)?;
        }
        if self.extras.instance_types.is_empty() || !self.instance_type.is_empty() {
            instance_type("--instance-type", &self.instance_type)?;
        }
        for t in &self.extras.instance_types {
            instance_type("--instance-types", t)?;
        }
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
                obeys(
                    id_ok,
                    "--fsx-file-system-id",
                    "must be an FSx file system id such as fs-0123456789abcdef0",
                    file_system_id,
                )?;
                let mut fsx = json!({"fileSystemId": file_system_id});
                if let Some(d) = dns_name {
                    let ok = (1..=253).contains(&d.len())
                        && d.split('.').all(|l| {
                            !l.is_empty()
                                && l.len() <= 63
                                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        });
                    obeys(ok, "--fsx-dns-name", "must be a DNS name", d)?;
                    fsx["dnsName"] = json!(d);
                }
                if let Some(m) = mount_name {
                    let ok =
                        (1..=16).contains(&m.len()) && m.chars().all(|c| c.is_ascii_alphanumeric());
                    obeys(
                        ok,
                        "--fsx-mount-name",
                        "must be 1-16 letters and digits (the file system's mount name)",
                        m,
                    )?;
                    fsx["mountName"] = json!(m);
                }
                ("fsx", None, Some(fsx))
            }
            ModelSource::HuggingFace { .. } => ("huggingface", None, None),
        };
        if let Some(l) = &self.model_location {
            model_location("--model-location", l)?;
        }
        image("--image", &self.image)?;
        let mut requests = quantities([("--cpu", &self.cpu), ("--memory", &self.memory)])?;
        let mut limits = quantities([
            ("--cpu-limit", &self.cpu_limit),
            ("--memory-limit", &self.memory_limit),
        ])?;
        if let Some(g) = self.gpus {
            if !(1..=64).contains(&g) {
                return Err(Error::invalid(
                    "--gpus",
                    format!("must be 1-64 GPUs per replica (got {g})"),
                ));
            }
            // GPUs are requested and limited alike: Kubernetes refuses anything else.
            requests.insert(GPU.into(), json!(g.to_string()));
            limits.insert(GPU.into(), json!(g.to_string()));
        }
        let mut resources = serde_json::Map::new();
        if !limits.is_empty() {
            resources.insert("limits".into(), Value::Object(limits));
        }
        if !requests.is_empty() {
            resources.insert("requests".into(), Value::Object(requests));
        }
        port("--container-port", self.container_port)?;
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
        let mut doc = crate::render::render_yaml("k8s/inference-endpoint-config.yaml.j2", &ctx)?;
        if self.instance_type.is_empty() {
            if let Some(spec) = doc["spec"].as_object_mut() {
                spec.remove("instanceType");
            }
        }
        let extra = self.extra_spec()?;
        self.overrides.apply_all(&mut doc, extra)?;
        Ok(doc)
    }

    /// The fields beyond the template's: Hugging Face source, worker command, more resources,
    /// instance types, request limits, and the shared features.
    fn extra_spec(&self) -> Result<Map<String, Value>> {
        let mut extra = self.features.to_spec(true)?;
        if let ModelSource::HuggingFace {
            model_id: id,
            commit,
            token_secret,
        } = &self.source
        {
            let ok = (3..=96).contains(&id.len())
                && id.split('/').count() <= 2
                && id.split('/').all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                });
            obeys(
                ok,
                "--hf-model-id",
                "must be a Hugging Face model id such as meta-llama/Llama-3.1-8B-Instruct",
                id,
            )?;
            let mut hf = json!({"modelId": id});
            if let Some(c) = commit {
                // The CRD takes the full SHA only.
                let ok = c.len() == 40
                    && c.chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
                obeys(
                    ok,
                    "--hf-commit",
                    "must be a full git commit SHA (40 lowercase hex digits)",
                    c,
                )?;
                hf["commitSHA"] = json!(c);
            }
            if let Some((name, key)) = token_secret {
                validate::k8s_label_name("--hf-token-secret", name)?;
                let ok = (1..=253).contains(&key.len())
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                obeys(
                    ok,
                    "--hf-token-secret",
                    "KEY must be a Secret data key",
                    key,
                )?;
                hf["tokenSecretRef"] = json!({"name": name, "key": key});
            }
            extra.insert("modelSourceConfig".into(), json!({"huggingFaceModel": hf}));
        }
        let mut worker = Map::new();
        for (flag, list, key) in [
            ("--worker-command", &self.extras.command, "command"),
            ("--worker-args", &self.extras.args, "args"),
        ] {
            if !list.is_empty() {
                for a in list {
                    if a.len() > 4096 || a.contains('\0') {
                        return Err(bad(
                            flag,
                            "each item must be at most 4096 bytes, without NUL",
                            a,
                        ));
                    }
                }
                worker.insert(key.into(), json!(list));
            }
        }
        if let Some(d) = &self.extras.working_dir {
            mount_path("--working-dir", d)?;
            worker.insert("workingDir".into(), json!(d));
        }
        if !self.extras.resources.is_empty() {
            let mut more = Map::new();
            for (name, qty) in &self.extras.resources {
                let ok = name.split_once('/').is_some_and(|(domain, n)| {
                    !domain.is_empty()
                        && domain.contains('.')
                        && !n.is_empty()
                        && validate::k8s_label_name("--resource", n).is_ok()
                }) && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
                if !ok || name == GPU {
                    return Err(bad(
                        "--resource",
                        "NAME must be an extended resource such as vpc.amazonaws.com/efa or aws.amazon.com/neuron (GPUs: --gpus; cpu, memory: their flags)",
                        name,
                    ));
                }
                quantity("--resource", qty)?;
                more.insert(name.clone(), json!(qty));
            }
            worker.insert(
                "resources".into(),
                json!({"requests": more.clone(), "limits": more}),
            );
        }
        if self.extras.max_concurrent_requests.is_some() || self.extras.max_queue_size.is_some() {
            let mut limits = Map::new();
            for (flag, v, key) in [
                (
                    "--max-concurrent-requests",
                    self.extras.max_concurrent_requests,
                    "maxConcurrentRequests",
                ),
                (
                    "--max-queue-size",
                    self.extras.max_queue_size,
                    "maxQueueSize",
                ),
            ] {
                if let Some(n) = v {
                    if !(1..=100_000).contains(&n) {
                        return Err(Error::invalid(flag, format!("must be 1-100000 (got {n})")));
                    }
                    limits.insert(key.into(), json!(n));
                }
            }
            worker.insert("requestLimits".into(), Value::Object(limits));
        }
        if !worker.is_empty() {
            extra.insert("worker".into(), Value::Object(worker));
        }
        if !self.extras.instance_types.is_empty() {
            extra.insert("instanceTypes".into(), json!(self.extras.instance_types));
        }
        Ok(extra)
    }
}
