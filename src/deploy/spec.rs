//! What a user asks for with flags (`deploy jumpstart`, `deploy custom`), the rules each value
//! must follow (errors name the flag), and the rendering of the resource from its template.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::check::{env_name_rule, env_value_rule};
use crate::error::{Error, Result};
use crate::validate::{self, quote};

/// One environment variable, as the CRDs list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// Parses `KEY=VALUE` (`--env`).
pub fn parse_env(field: &str, kv: &str) -> Result<EnvVar> {
    let Some((name, value)) = kv.split_once('=') else {
        return Err(Error::invalid(
            field,
            format!("must be KEY=VALUE (got {})", quote(kv)),
        ));
    };
    env_name_rule(name).map_err(|r| Error::invalid(field, format!("variable name {r}")))?;
    env_value_rule(value).map_err(|r| Error::invalid(field, format!("value of {name} {r}")))?;
    Ok(EnvVar {
        name: name.to_string(),
        value: value.to_string(),
    })
}

fn check_env_list(field: &str, env: &[EnvVar]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for e in env {
        if !seen.insert(e.name.as_str()) {
            return Err(Error::invalid(
                field,
                format!("{} is given more than once", e.name),
            ));
        }
    }
    if env.len() > 100 {
        return Err(Error::invalid(field, "at most 100 variables"));
    }
    Ok(())
}

fn bad(field: &str, rule: &str, got: &str) -> Error {
    Error::invalid(field, format!("{rule} (got {})", quote(got)))
}

fn alnum_dash_63(v: &str) -> bool {
    (1..=63).contains(&v.len())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// JumpStart model ids and SageMaker endpoint names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`.
pub fn model_id(field: &str, v: &str) -> Result<()> {
    if alnum_dash_63(v) {
        Ok(())
    } else {
        Err(bad(
            field,
            "must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit",
            v,
        ))
    }
}

/// SageMaker instance types: `ml.<family>.<size>`.
pub fn instance_type(field: &str, v: &str) -> Result<()> {
    let parts: Vec<&str> = v.split('.').collect();
    let ok = v.len() <= 64
        && parts.len() == 3
        && parts[0] == "ml"
        && parts[1..].iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(
            field,
            "must be a SageMaker instance type such as ml.g5.8xlarge (ml.<family>.<size>)",
            v,
        ))
    }
}

/// JumpStart model versions: `^\d{1,4}\.\d{1,4}\.\d{1,4}$`.
pub fn jumpstart_version(field: &str, v: &str) -> Result<()> {
    let parts: Vec<&str> = v.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| (1..=4).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(bad(
            field,
            "must be a version such as 1.2.0 (three numbers of 1-4 digits)",
            v,
        ))
    }
}

/// `s3://bucket[/prefix]`.
pub fn s3_uri(field: &str, v: &str) -> Result<()> {
    let Some(rest) = v.strip_prefix("s3://") else {
        return Err(bad(
            field,
            "must be an S3 URI such as s3://my-bucket/prefix",
            v,
        ));
    };
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    validate::bucket_name(field, bucket).map_err(|_| {
        bad(
            field,
            "must be an S3 URI whose bucket is a valid bucket name",
            v,
        )
    })?;
    if key.chars().any(|c| c.is_control()) || key.contains(',') || key.contains('=') {
        return Err(bad(
            field,
            "must be an S3 URI whose path has no control characters, ',' or '='",
            v,
        ));
    }
    Ok(())
}

/// A duration flag's value in seconds, by the one rule of [`crate::time::parse_duration`]; the
/// error names the flag.
pub fn parse_duration(field: &str, v: &str) -> Result<u64> {
    crate::time::parse_duration(v).map_err(|rule| bad(field, rule, v))
}

fn replicas(field: &str, n: Option<i64>) -> Result<()> {
    match n {
        Some(r) if !(0..=i64::from(i32::MAX)).contains(&r) => Err(Error::invalid(
            field,
            format!("must be 0 or more (got {r})"),
        )),
        _ => Ok(()),
    }
}

fn plain_text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.is_empty() || v.chars().count() > max || v.chars().any(|c| c.is_control()) {
        return Err(bad(
            field,
            &format!("must be 1-{max} characters without control characters"),
            v,
        ));
    }
    Ok(())
}

/// Autoscaling with a CloudWatch trigger (the CRDs' `autoScalingSpec`; KEDA does the scaling).
#[derive(Debug, Clone, Default)]
pub struct Autoscaling {
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
    pub metric_name: Option<String>,
    pub metric_namespace: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub target_value: Option<f64>,
    pub metric_stat: Option<String>,
    pub metric_type: Option<String>,
    pub cooldown_period: Option<i64>,
}

impl Autoscaling {
    pub fn is_empty(&self) -> bool {
        self.min_replicas.is_none()
            && self.max_replicas.is_none()
            && self.metric_name.is_none()
            && self.metric_namespace.is_none()
            && self.dimensions.is_empty()
            && self.target_value.is_none()
            && self.metric_stat.is_none()
            && self.metric_type.is_none()
            && self.cooldown_period.is_none()
    }

    /// The `autoScalingSpec`, or None when no autoscaling flag was given.
    pub fn to_spec(&self) -> Result<Option<Value>> {
        if self.is_empty() {
            return Ok(None);
        }
        let need = "is required for autoscaling (with --min-replicas/--max-replicas and the other --metric-* flags)";
        let metric = self
            .metric_name
            .as_deref()
            .ok_or_else(|| Error::invalid("--metric-name", need))?;
        let namespace = self
            .metric_namespace
            .as_deref()
            .ok_or_else(|| Error::invalid("--metric-namespace", need))?;
        let target = self
            .target_value
            .ok_or_else(|| Error::invalid("--target-value", need))?;
        cloudwatch_name("--metric-name", metric)?;
        cloudwatch_name("--metric-namespace", namespace)?;
        if !target.is_finite() || target <= 0.0 {
            return Err(Error::invalid(
                "--target-value",
                format!("must be a number greater than 0 (got {target})"),
            ));
        }
        replicas("--min-replicas", self.min_replicas)?;
        replicas("--max-replicas", self.max_replicas)?;
        let min = self.min_replicas.unwrap_or(1);
        let max = self.max_replicas.unwrap_or(5);
        if max < 1 {
            return Err(Error::invalid("--max-replicas", "must be at least 1"));
        }
        if min > max {
            return Err(Error::invalid(
                "--min-replicas",
                format!("must not be greater than --max-replicas ({min} > {max})"),
            ));
        }
        if let Some(c) = self.cooldown_period {
            if !(0..=i64::from(i32::MAX)).contains(&c) {
                return Err(Error::invalid(
                    "--cooldown-period",
                    format!("must be 0 or more seconds (got {c})"),
                ));
            }
        }
        let mut dims = Vec::new();
        for (n, v) in &self.dimensions {
            cloudwatch_name("--metric-dimension", n)?;
            plain_text("--metric-dimension", v, 1024)?;
            dims.push(json!({"name": n, "value": v}));
        }
        if let Some(s) = &self.metric_stat {
            let pct = s
                .strip_prefix('p')
                .is_some_and(|p| p.parse::<f64>().is_ok_and(|x| (0.0..=100.0).contains(&x)));
            if !(pct
                || ["Average", "Sum", "Minimum", "Maximum", "SampleCount"].contains(&s.as_str()))
            {
                return Err(bad(
                    "--metric-stat",
                    "must be Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99",
                    s,
                ));
            }
        }
        if let Some(t) = &self.metric_type {
            if !["Average", "Value"].contains(&t.as_str()) {
                return Err(bad("--metric-type", "must be Average or Value", t));
            }
        }
        let mut trigger = json!({
            "metricName": metric,
            "namespace": namespace,
            "targetValue": target,
        });
        if !dims.is_empty() {
            trigger["dimensions"] = Value::Array(dims);
        }
        if let Some(s) = &self.metric_stat {
            trigger["metricStat"] = json!(s);
        }
        if let Some(t) = &self.metric_type {
            trigger["metricType"] = json!(t);
        }
        let mut spec = json!({
            "minReplicaCount": min,
            "maxReplicaCount": max,
            "cloudWatchTrigger": trigger,
        });
        if let Some(c) = self.cooldown_period {
            spec["cooldownPeriod"] = json!(c);
        }
        Ok(Some(spec))
    }
}

/// CloudWatch metric names, namespaces and dimension names: 1-255 printable characters.
fn cloudwatch_name(field: &str, v: &str) -> Result<()> {
    let ok = (1..=255).contains(&v.chars().count())
        && !v.starts_with(':')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#: ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad(
            field,
            "must be 1-255 letters, digits and . _ - / # : (a CloudWatch name)",
            v,
        ))
    }
}

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
        super::check::model_name("--name", &self.name)?;
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

/// Kubernetes resource quantities (`30`, `0.5`, `500m`, `100Gi`), positive.
pub fn quantity(field: &str, v: &str) -> Result<()> {
    static RE: std::sync::OnceLock<Option<regex_lite::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex_lite::Regex::new(r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[mkMGTPE])?$").ok()
    });
    let nonzero = v.chars().any(|c| ('1'..='9').contains(&c));
    if re.as_ref().is_some_and(|r| r.is_match(v)) && nonzero {
        Ok(())
    } else {
        Err(bad(
            field,
            "must be a positive Kubernetes quantity such as 4, 500m, 100Gi",
            v,
        ))
    }
}

/// Container images: `registry/repository[:tag][@digest]`.
pub fn image(field: &str, v: &str) -> Result<()> {
    let ok = (1..=512).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !v.contains("//")
        && !v.ends_with([':', '/', '@']);
    if ok {
        Ok(())
    } else {
        Err(bad(
            field,
            "must be a container image reference such as 763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124",
            v,
        ))
    }
}

/// A relative URL path (`v1/chat/completions`, `invocations`).
fn url_path(field: &str, v: &str) -> Result<()> {
    let ok = (1..=256).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~/-".contains(c))
        && !v.split('/').any(|s| s == "..");
    if ok {
        Ok(())
    } else {
        Err(bad(
            field,
            "must be a URL path without a leading / such as v1/chat/completions",
            v,
        ))
    }
}

/// A path (in a bucket or a file system): no control characters, no `..` segment, no URI.
fn model_location(field: &str, v: &str) -> Result<()> {
    if v.starts_with("s3://") {
        return Err(bad(
            field,
            "must be the path inside the bucket (the bucket goes in --s3-bucket), not an s3:// URI",
            v,
        ));
    }
    plain_text(field, v, 1024)?;
    if v.split('/').any(|s| s == "..") {
        return Err(bad(field, "must not contain a .. segment", v));
    }
    Ok(())
}

fn mount_path(field: &str, v: &str) -> Result<()> {
    plain_text(field, v, 256)?;
    if !v.starts_with('/') || v.contains(':') || v.split('/').any(|s| s == "..") {
        return Err(bad(
            field,
            "must be an absolute path without ':' or .. segments",
            v,
        ));
    }
    Ok(())
}

impl CustomInput {
    /// Checks every value (errors name the flag), then renders the resource.
    pub fn render(&self) -> Result<Value> {
        super::check::model_name("--name", &self.name)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    pub fn guide_jumpstart_input() -> JumpStartInput {
        JumpStartInput {
            name: "my-bert-model".into(),
            namespace: "default".into(),
            model_id: "huggingface-eqa-bert-base-cased".into(),
            endpoint_name: Some("my-bert-endpoint".into()),
            instance_type: "ml.c5.2xlarge".into(),
            env: vec![parse_env("--env", "SAMPLE_ENV_VAR=sample_value").unwrap()],
            max_deploy_time: Some(1800),
            ..Default::default()
        }
    }

    pub fn guide_custom_input() -> CustomInput {
        CustomInput {
            name: "my-custom-model".into(),
            namespace: "default".into(),
            model_name: "llama-3-8b-instruct".into(),
            model_version: None,
            endpoint_name: Some("my-custom-endpoint".into()),
            instance_type: "ml.g5.24xlarge".into(),
            invocation_endpoint: Some("v1/chat/completions".into()),
            replicas: Some(1),
            source: ModelSource::S3 {
                bucket: "my-model-bucket".into(),
                region: "us-west-2".into(),
            },
            model_location: Some("models/llama-3-8b".into()),
            prefetch: true,
            image:
                "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124"
                    .into(),
            cpu: Some("30".into()),
            memory: Some("100Gi".into()),
            gpus: Some(4),
            cpu_limit: None,
            memory_limit: None,
            container_port: 8000,
            port_name: "http".into(),
            env: [
                "SAGEMAKER_ENV=1",
                "MODEL_CACHE_ROOT=/opt/ml/model",
                "OPTION_ROLLING_BATCH=vllm",
            ]
            .iter()
            .map(|e| parse_env("--env", e).unwrap())
            .collect(),
            volume_name: DEFAULT_VOLUME_NAME.into(),
            mount_path: DEFAULT_MOUNT_PATH.into(),
            tls_output_s3_uri: None,
            max_deploy_time: None,
            autoscaling: Autoscaling::default(),
        }
    }

    fn fixture(name: &str) -> Value {
        let text = match name {
            "jumpstart" => include_str!("../../tests/deploy_fixtures/guide-jumpstart-model.yaml"),
            _ => include_str!("../../tests/deploy_fixtures/guide-custom-model.yaml"),
        };
        crate::render::parse_yaml(text).unwrap()
    }

    #[test]
    fn jumpstart_flags_render_the_guide_example_with_env_where_the_crd_has_it() {
        let v = guide_jumpstart_input().render().unwrap();
        let mut want = fixture("jumpstart");
        let env = want["spec"]["server"]
            .as_object_mut()
            .unwrap()
            .remove("environmentVariables")
            .unwrap();
        want["spec"]["environmentVariables"] = env;
        assert_eq!(v, want);
        crate::deploy::check::check(v, "default").unwrap();
    }

    #[test]
    fn custom_flags_render_the_guide_example_plus_the_model_volume() {
        let v = guide_custom_input().render().unwrap();
        let mut want = fixture("custom");
        want["spec"]["worker"]["modelVolumeMount"] =
            json!({"name": "model-weights", "mountPath": "/opt/ml/model"});
        assert_eq!(v, want);
        crate::deploy::check::check(v, "default").unwrap();
        // The guide's own example is rejected, naming the missing field.
        let e = crate::deploy::check::check(fixture("custom"), "default").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid spec.worker.modelVolumeMount: is required"
        );
    }

    #[test]
    fn every_option_renders_schema_valid_yaml() {
        let mut j = guide_jumpstart_input();
        j.model_version = Some("1.2.0".into());
        j.accept_eula = true;
        j.replicas = Some(3);
        j.tls_output_s3_uri = Some("s3://my-tls-bucket/certs".into());
        j.gated_model_role = Some("arn:aws:iam::123456789012:role/Gated".into());
        j.autoscaling = Autoscaling {
            min_replicas: Some(1),
            max_replicas: Some(4),
            metric_name: Some("Invocations".into()),
            metric_namespace: Some("AWS/SageMaker".into()),
            dimensions: vec![("EndpointName".into(), "my-bert-endpoint".into())],
            target_value: Some(10.5),
            metric_stat: Some("p99".into()),
            metric_type: Some("Value".into()),
            cooldown_period: Some(120),
        };
        let v = j.render().unwrap();
        assert_eq!(
            v["spec"]["autoScalingSpec"]["cloudWatchTrigger"]["targetValue"],
            10.5
        );
        assert_eq!(
            v["spec"]["model"]["gatedModelDownloadRole"],
            "arn:aws:iam::123456789012:role/Gated"
        );
        crate::deploy::check::check(v, "default").unwrap();

        let mut c = guide_custom_input();
        c.source = ModelSource::Fsx {
            file_system_id: "fs-0123456789abcdef0".into(),
            dns_name: Some("fs-0123456789abcdef0.fsx.us-west-2.amazonaws.com".into()),
            mount_name: Some("abcdefgh".into()),
        };
        c.cpu_limit = Some("32".into());
        c.memory_limit = Some("120Gi".into());
        c.port_name = "grpc".into();
        c.model_version = Some("1.0".into());
        c.tls_output_s3_uri = Some("s3://b-b-b".into());
        c.max_deploy_time = Some(7200);
        c.autoscaling = j.autoscaling.clone();
        let v = c.render().unwrap();
        assert_eq!(
            v["spec"]["modelSourceConfig"]["fsxStorage"]["mountName"],
            "abcdefgh"
        );
        crate::deploy::check::check(v, "default").unwrap();
    }

    #[test]
    fn quoting_cannot_break_out_of_the_document() {
        let mut j = guide_jumpstart_input();
        j.env = vec![EnvVar {
            name: "X".into(),
            value: "a\"}\nkind: Secret\n#".into(),
        }];
        let v = j.render().unwrap();
        assert_eq!(v["kind"], "JumpStartModel");
        assert_eq!(
            v["spec"]["environmentVariables"][0]["value"],
            "a\"}\nkind: Secret\n#"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("--timeout", "1800").unwrap(), 1800);
        assert_eq!(parse_duration("--timeout", "30m").unwrap(), 1800);
        assert_eq!(parse_duration("--timeout", "2h").unwrap(), 7200);
        for bad in ["", "0", "-1", "1d", "m", "1.5h", "99999999999"] {
            assert!(parse_duration("--timeout", bad).is_err(), "{bad}");
        }
    }
}
