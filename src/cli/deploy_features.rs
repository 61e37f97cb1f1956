//! The flags both `deploy jumpstart` and `deploy custom` share beyond the seed's examples (routing,
//! KV cache, metrics, load balancer, TLS, DNS, data capture) and the overrides (`--set`,
//! `--values`), with their conversion into the library's `Features` and `Overrides`.

use clap::Args;

use crate::deploy::resource::{Features, Overrides, SetOverride};
use crate::error::{Error, Result};
use crate::validate;

#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Routing, KV cache and metrics")]
pub struct FeatureArgs {
    /// Intelligent routing strategy: prefixaware, kvaware, session or roundrobin
    #[arg(long, value_name = "STRATEGY")]
    pub routing_strategy: Option<String>,
    /// Enable the L1 (in-memory) KV cache
    #[arg(long)]
    pub l1_cache: bool,
    /// Enable the L2 KV cache on this backend, e.g. redis
    #[arg(long, value_name = "BACKEND")]
    pub l2_cache_backend: Option<String>,
    /// URL of the L2 cache backend, e.g. redis://cache:6379
    #[arg(long, value_name = "URL")]
    pub l2_cache_url: Option<String>,
    /// KV cache configuration file (path in the container)
    #[arg(long, value_name = "PATH")]
    pub cache_config_file: Option<String>,
    /// Collect the model's metrics (Prometheus scrape by the operator)
    #[arg(long)]
    pub metrics: bool,
    /// Seconds between metric scrapes (with --metrics)
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub metrics_scrape_interval: Option<i64>,
    /// HTTP path of the model server's metrics, e.g. /metrics (with --metrics)
    #[arg(long, value_name = "PATH")]
    pub model_metrics_path: Option<String>,
    /// Port of the model server's metrics (with --metrics)
    #[arg(long, value_name = "PORT", allow_negative_numbers = true)]
    pub model_metrics_port: Option<i64>,
    // Last: its heading carries on to later fields.
    #[command(flatten)]
    pub load_balancer: LoadBalancerArgs,
}

/// How the endpoint is reached and recorded: its load balancer, TLS, DNS and data capture.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Load balancer, TLS and DNS")]
pub struct LoadBalancerArgs {
    /// Health check path of the load balancer, e.g. /ping
    #[arg(long, value_name = "PATH")]
    pub health_check_path: Option<String>,
    /// Load balancer routing: least_outstanding_requests or round_robin
    #[arg(long, value_name = "ALGORITHM")]
    pub routing_algorithm: Option<String>,
    /// ACM certificate for the endpoint's own domain (ARN; with --domain-name)
    #[arg(long, value_name = "ARN")]
    pub acm_cert_arn: Option<String>,
    /// The endpoint's domain name (with --acm-cert-arn)
    #[arg(long, value_name = "DOMAIN")]
    pub domain_name: Option<String>,
    /// Route 53 hosted zone for the endpoint's DNS record
    #[arg(long, value_name = "ID")]
    pub hosted_zone_id: Option<String>,
    /// Capture requests and responses to this S3 prefix, s3://bucket/prefix
    #[arg(long, value_name = "S3_URI")]
    pub data_capture_s3_uri: Option<String>,
}

impl FeatureArgs {
    pub fn to_lib(&self, tags: Vec<(String, String)>) -> Features {
        Features {
            routing_strategy: self.routing_strategy.clone(),
            l1_cache: self.l1_cache,
            l2_cache_backend: self.l2_cache_backend.clone(),
            l2_cache_url: self.l2_cache_url.clone(),
            cache_config_file: self.cache_config_file.clone(),
            metrics: self.metrics,
            metrics_scrape_interval: self.metrics_scrape_interval,
            model_metrics_path: self.model_metrics_path.clone(),
            model_metrics_port: self.model_metrics_port,
            health_check_path: self.load_balancer.health_check_path.clone(),
            routing_algorithm: self.load_balancer.routing_algorithm.clone(),
            acm_cert_arn: self.load_balancer.acm_cert_arn.clone(),
            domain_name: self.load_balancer.domain_name.clone(),
            hosted_zone_id: self.load_balancer.hosted_zone_id.clone(),
            data_capture_s3_uri: self.load_balancer.data_capture_s3_uri.clone(),
            tags,
        }
    }
}

/// What no flag covers (probes, pdSpec, kubernetes overrides, ...): merged over the flags.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Overrides (checked against the CRD like the rest)")]
pub struct OverrideArgs {
    /// A partial resource (YAML: spec, metadata.labels/annotations) merged over the flags
    #[arg(long, value_name = "FILE")]
    pub values: Option<String>,
    /// Set one field, PATH=VALUE (repeatable, after --values), e.g. spec.worker.workingDir=/opt/app;
    /// VALUE is JSON when it parses as JSON, else a string
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

impl OverrideArgs {
    pub fn to_lib(&self) -> Result<Overrides> {
        let values = match &self.values {
            Some(path) => {
                let bytes = crate::input::read_limited(
                    path,
                    "--values",
                    "the values file",
                    crate::input::MAX_MANIFEST,
                )?;
                let text = crate::input::utf8(&bytes, path, "--values")?;
                crate::input::check_yaml_shape(text)
                    .map_err(|e| Error::invalid("--values", format!("{path}: {e}")))?;
                let doc = crate::render::parse_yaml(text).map_err(|e| {
                    Error::invalid("--values", format!("{path} is not valid YAML: {e}"))
                })?;
                Some(doc)
            }
            None => None,
        };
        let sets = self
            .set
            .iter()
            .map(|s| SetOverride::parse("--set", s))
            .collect::<Result<_>>()?;
        Ok(Overrides { values, sets })
    }
}

/// `KEY=VALUE` pairs of a repeatable flag.
pub(super) fn pairs(flag: &str, list: &[String]) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::invalid(
                flag,
                format!("must be KEY=VALUE (got {})", validate::quote(p)),
            )),
        })
        .collect()
}
