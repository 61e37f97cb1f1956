//! The flags of `deploy jumpstart` and `deploy custom` (with their help headings) and their
//! conversion into the library's inputs (`deploy::spec`).

use clap::{Args, ValueEnum};

use crate::deploy::spec::{self, Autoscaling, CustomInput, JumpStartInput, ModelSource};
use crate::error::{Error, Result};
use crate::validate;

#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Autoscaling (CloudWatch trigger)")]
pub struct AutoscalingArgs {
    /// Autoscaling: fewest replicas [default: 1 when autoscaling]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub min_replicas: Option<i64>,
    /// Autoscaling: most replicas [default: 5 when autoscaling]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_replicas: Option<i64>,
    /// CloudWatch metric to scale on, e.g. Invocations
    #[arg(long, value_name = "NAME")]
    pub metric_name: Option<String>,
    /// CloudWatch namespace of the metric, e.g. AWS/SageMaker
    #[arg(long, value_name = "NAMESPACE")]
    pub metric_namespace: Option<String>,
    /// Metric dimension NAME=VALUE (repeatable)
    #[arg(long, value_name = "NAME=VALUE")]
    pub metric_dimension: Vec<String>,
    /// Metric value per replica to aim for
    #[arg(long, value_name = "NUMBER", allow_negative_numbers = true)]
    pub target_value: Option<f64>,
    /// Statistic: Average, Sum, Minimum, Maximum, SampleCount, or pNN [default: Average]
    #[arg(long, value_name = "STAT")]
    pub metric_stat: Option<String>,
    /// Average (divide by replicas) or Value [default: Average]
    #[arg(long, value_name = "TYPE")]
    pub metric_type: Option<String>,
    /// Seconds to wait after the last trigger before scaling in [default: 300]
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub cooldown_period: Option<i64>,
}

impl AutoscalingArgs {
    fn to_lib(&self) -> Result<Autoscaling> {
        let mut dims = Vec::new();
        for d in &self.metric_dimension {
            let Some((n, v)) = d.split_once('=') else {
                return Err(Error::invalid(
                    "--metric-dimension",
                    format!("must be NAME=VALUE (got {})", validate::quote(d)),
                ));
            };
            dims.push((n.to_string(), v.to_string()));
        }
        Ok(Autoscaling {
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            metric_name: self.metric_name.clone(),
            metric_namespace: self.metric_namespace.clone(),
            dimensions: dims,
            target_value: self.target_value,
            metric_stat: self.metric_stat.clone(),
            metric_type: self.metric_type.clone(),
            cooldown_period: self.cooldown_period,
        })
    }
}

#[derive(Debug, Args, Clone)]
pub struct JumpstartArgs {
    /// Name of the JumpStartModel resource (its pods are labelled app=NAME)
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// JumpStart model id, e.g. huggingface-eqa-bert-base-cased
    #[arg(long, value_name = "ID")]
    pub model_id: String,
    /// JumpStart model version, e.g. 1.2.0 [default: the latest]
    #[arg(long, value_name = "VERSION")]
    pub model_version: Option<String>,
    /// Accept the model's end-user license agreement (gated models need it)
    #[arg(long)]
    pub accept_eula: bool,
    /// SageMaker instance type to run on, e.g. ml.g5.8xlarge
    #[arg(long, value_name = "TYPE")]
    pub instance_type: String,
    /// Also create a SageMaker endpoint of this name (needed by `invoke`)
    #[arg(long, value_name = "NAME")]
    pub endpoint_name: Option<String>,
    /// Environment variable for the model server, KEY=VALUE (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Number of model replicas [default: 1]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub replicas: Option<i64>,
    /// Deadline the operator gives the deployment: 1800, 30m, 1h [default: 3600 s]
    #[arg(long, value_name = "DURATION")]
    pub max_deploy_time: Option<String>,
    /// Where the operator writes the endpoint's TLS certificate, s3://bucket/prefix
    #[arg(long, value_name = "S3_URI")]
    pub tls_output_s3_uri: Option<String>,
    /// IAM role that downloads gated models (ARN)
    #[arg(long, value_name = "ROLE_ARN")]
    pub gated_model_role: Option<String>,
    #[command(flatten)]
    pub autoscaling: AutoscalingArgs,
}

impl JumpstartArgs {
    pub fn to_lib(&self, namespace: &str) -> Result<JumpStartInput> {
        Ok(JumpStartInput {
            name: self.name.clone(),
            namespace: namespace.to_string(),
            model_id: self.model_id.clone(),
            model_version: self.model_version.clone(),
            accept_eula: self.accept_eula,
            endpoint_name: self.endpoint_name.clone(),
            instance_type: self.instance_type.clone(),
            env: parse_envs(&self.env)?,
            replicas: self.replicas,
            tls_output_s3_uri: self.tls_output_s3_uri.clone(),
            max_deploy_time: self
                .max_deploy_time
                .as_deref()
                .map(|d| spec::parse_duration("--max-deploy-time", d))
                .transpose()?,
            gated_model_role: self.gated_model_role.clone(),
            autoscaling: self.autoscaling.to_lib()?,
        })
    }
}

fn parse_envs(list: &[String]) -> Result<Vec<spec::EnvVar>> {
    list.iter().map(|e| spec::parse_env("--env", e)).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    S3,
    Fsx,
}

#[derive(Debug, Args, Clone)]
pub struct CustomArgs {
    /// Name of the InferenceEndpointConfig resource (its pods are labelled app=NAME)
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Name of the model (spec.modelName)
    #[arg(long, value_name = "NAME")]
    pub model_name: String,
    /// Version label of the model
    #[arg(long, value_name = "VERSION")]
    pub model_version: Option<String>,
    /// Also create a SageMaker endpoint of this name (needed by `invoke`)
    #[arg(long, value_name = "NAME")]
    pub endpoint_name: Option<String>,
    /// SageMaker instance type to run on, e.g. ml.g5.24xlarge
    #[arg(long, value_name = "TYPE")]
    pub instance_type: String,
    /// Path the model server answers on [default: invocations]
    #[arg(long, value_name = "PATH")]
    pub invocation_endpoint: Option<String>,
    /// Number of model replicas [default: 1]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub replicas: Option<i64>,
    #[command(flatten)]
    pub source: ModelSourceArgs,
    #[command(flatten)]
    pub worker: WorkerArgs,
    // Back to the first heading (a flattened struct's heading carries on to later fields).
    /// Deadline the operator gives the deployment: 1800, 30m, 1h [default: 3600 s]
    #[arg(long, value_name = "DURATION", help_heading = None::<&str>)]
    pub max_deploy_time: Option<String>,
    /// Where the operator writes the endpoint's TLS certificate, s3://bucket/prefix
    #[arg(long, value_name = "S3_URI", help_heading = None::<&str>)]
    pub tls_output_s3_uri: Option<String>,
    #[command(flatten)]
    pub autoscaling: AutoscalingArgs,
}

/// Where a custom model's weights are.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Model source")]
pub struct ModelSourceArgs {
    /// Where the model weights are
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub model_source: SourceArg,
    /// S3 bucket of the weights (name only)
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: Option<String>,
    /// Region of the S3 bucket [default: --region, $AWS_REGION]
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// FSx for Lustre file system id, fs-...
    #[arg(long, value_name = "ID")]
    pub fsx_file_system_id: Option<String>,
    /// FSx DNS name
    #[arg(long, value_name = "DNS")]
    pub fsx_dns_name: Option<String>,
    /// FSx mount name
    #[arg(long, value_name = "NAME")]
    pub fsx_mount_name: Option<String>,
    /// Path of the weights inside the bucket or file system, e.g. models/llama-3-8b
    #[arg(long, value_name = "PATH")]
    pub model_location: Option<String>,
    /// Download the weights before the server starts
    #[arg(long)]
    pub prefetch: bool,
}

/// The model server container.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Worker")]
pub struct WorkerArgs {
    /// Model server container image
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// CPU request, e.g. 30 or 500m
    #[arg(long, value_name = "QUANTITY")]
    pub cpu: Option<String>,
    /// Memory request, e.g. 100Gi
    #[arg(long, value_name = "QUANTITY")]
    pub memory: Option<String>,
    /// GPUs per replica (requested and limited alike)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub gpus: Option<i64>,
    /// CPU limit
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_limit: Option<String>,
    /// Memory limit
    #[arg(long, value_name = "QUANTITY")]
    pub memory_limit: Option<String>,
    /// Port the model server listens on
    #[arg(long, value_name = "PORT", allow_negative_numbers = true)]
    pub container_port: i64,
    /// Protocol of that port: http or grpc
    #[arg(long, value_name = "NAME", default_value = "http")]
    pub port_name: String,
    /// Environment variable for the model server, KEY=VALUE (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Name of the volume the weights are mounted from
    #[arg(long, value_name = "NAME", default_value = spec::DEFAULT_VOLUME_NAME)]
    pub model_volume_name: String,
    /// Where the weights are mounted in the container
    #[arg(long, value_name = "PATH", default_value = spec::DEFAULT_MOUNT_PATH)]
    pub model_mount_path: String,
}

impl ModelSourceArgs {
    fn to_lib(&self, region: Option<&str>) -> Result<ModelSource> {
        Ok(match self.model_source {
            SourceArg::S3 => {
                for (flag, v) in [
                    ("--fsx-file-system-id", &self.fsx_file_system_id),
                    ("--fsx-dns-name", &self.fsx_dns_name),
                    ("--fsx-mount-name", &self.fsx_mount_name),
                ] {
                    if v.is_some() {
                        return Err(Error::invalid(flag, "only goes with --model-source fsx"));
                    }
                }
                ModelSource::S3 {
                    bucket: self.s3_bucket.clone().ok_or_else(|| {
                        Error::invalid("--s3-bucket", "is required with --model-source s3")
                    })?,
                    region: self
                        .s3_region
                        .clone()
                        .or_else(|| region.map(str::to_string))
                        .ok_or_else(|| {
                            Error::invalid(
                                "--s3-region",
                                "is required with --model-source s3 (or set --region / AWS_REGION)",
                            )
                        })?,
                }
            }
            SourceArg::Fsx => {
                for (flag, v) in [
                    ("--s3-bucket", &self.s3_bucket),
                    ("--s3-region", &self.s3_region),
                ] {
                    if v.is_some() {
                        return Err(Error::invalid(flag, "only goes with --model-source s3"));
                    }
                }
                ModelSource::Fsx {
                    file_system_id: self.fsx_file_system_id.clone().ok_or_else(|| {
                        Error::invalid(
                            "--fsx-file-system-id",
                            "is required with --model-source fsx",
                        )
                    })?,
                    dns_name: self.fsx_dns_name.clone(),
                    mount_name: self.fsx_mount_name.clone(),
                }
            }
        })
    }
}

impl CustomArgs {
    pub fn to_lib(&self, namespace: &str, region: Option<&str>) -> Result<CustomInput> {
        Ok(CustomInput {
            name: self.name.clone(),
            namespace: namespace.to_string(),
            model_name: self.model_name.clone(),
            model_version: self.model_version.clone(),
            endpoint_name: self.endpoint_name.clone(),
            instance_type: self.instance_type.clone(),
            invocation_endpoint: self.invocation_endpoint.clone(),
            replicas: self.replicas,
            source: self.source.to_lib(region)?,
            model_location: self.source.model_location.clone(),
            prefetch: self.source.prefetch,
            image: self.worker.image.clone(),
            cpu: self.worker.cpu.clone(),
            memory: self.worker.memory.clone(),
            gpus: self.worker.gpus,
            cpu_limit: self.worker.cpu_limit.clone(),
            memory_limit: self.worker.memory_limit.clone(),
            container_port: self.worker.container_port,
            port_name: self.worker.port_name.clone(),
            env: parse_envs(&self.worker.env)?,
            volume_name: self.worker.model_volume_name.clone(),
            mount_path: self.worker.model_mount_path.clone(),
            tls_output_s3_uri: self.tls_output_s3_uri.clone(),
            max_deploy_time: self
                .max_deploy_time
                .as_deref()
                .map(|d| spec::parse_duration("--max-deploy-time", d))
                .transpose()?,
            autoscaling: self.autoscaling.to_lib()?,
        })
    }
}
